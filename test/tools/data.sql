-- test/tools/data.sql: crimesnap's data as sorted text, one fact a line, so that two
-- databases (or one before and after an upgrade) compare with diff.
--
--   psql -X -At -f test/tools/data.sql DBNAME > data.txt
--
-- For every table in the extension's schemas: "rows" (the row count) and "content" (an md5
-- of every row's text, in sorted order); for every sequence, its position; for every column
-- named persistent_id, "ids" (an md5 of the table's primary key and the id, sorted);
-- "key", an md5 of each secret, so that the key itself never prints; and for every table
-- with a seeded column, "seed" (count and md5 of the seeded rows).  The upgrade test
-- compares rows, sequences, ids and key (an upgrade may add columns, which changes content);
-- the dump test compares everything.
\set ON_ERROR_STOP on
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset footer off
SET client_min_messages = warning;
SET search_path = pg_catalog;
SET extra_float_digits = 3;
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = postgres;
SET TimeZone = 'UTC';
SET bytea_output = hex;

CREATE TEMP TABLE cs_fact (section text, obj text, detail text);

WITH ext AS (
  SELECT e.oid, e.extnamespace FROM pg_extension e WHERE e.extname = 'crimesnap'
), ns AS (
  SELECT ext.extnamespace AS oid FROM ext
  UNION
  SELECT d.objid FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
     AND d.classid = 'pg_namespace'::regclass
), rel AS (
  SELECT c.oid, c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'S')
)
SELECT CASE r.relkind
         WHEN 'S' THEN format($q$INSERT INTO cs_fact SELECT 'sequence', %L, last_value || CASE WHEN is_called THEN ' called' ELSE ' not called' END FROM %s$q$, r.qname, r.qname)
         ELSE format($q$INSERT INTO cs_fact SELECT 'rows', %L, count(*)::text FROM %s;
                        INSERT INTO cs_fact SELECT 'content', %L, md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text COLLATE "C"), '')) FROM %s t$q$,
                     r.qname, r.qname, r.qname, r.qname)
       END
       || CASE WHEN r.relkind <> 'S' AND EXISTS (
                 SELECT FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attname = 'persistent_id' AND NOT a.attisdropped)
            THEN format($q$; INSERT INTO cs_fact SELECT 'ids', %L, count(persistent_id) || ' ' || md5(coalesce(string_agg(k, E'\n' ORDER BY k COLLATE "C"), '')) FROM (SELECT (%s)::text || '=' || coalesce(persistent_id, '-') AS k, persistent_id FROM %s) x$q$,
                        r.qname,
                        coalesce((SELECT 'ROW(' || string_agg(quote_ident(a.attname), ', ' ORDER BY k.n) || ')'
                                    FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, n), pg_attribute a
                                   WHERE i.indrelid = r.oid AND i.indisprimary AND a.attrelid = r.oid AND a.attnum = k.attnum),
                                 'ctid'),
                        r.qname)
            ELSE '' END
  FROM rel r
 ORDER BY r.qname \gexec

INSERT INTO cs_fact SELECT 'key', s.name, md5(s.value::text) FROM crimesnap.secret s;

-- Seeded rows (tables with a seeded column): a fresh install and an updated one must hold
-- the same, and a restore must not change them.
SELECT format($q$INSERT INTO cs_fact SELECT 'seed', %L, count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text COLLATE "C"), '')) FROM %s t WHERE t.seeded$q$,
              c.oid::regclass::text, c.oid::regclass)
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'seeded' AND NOT a.attisdropped
 WHERE c.relnamespace = 'crimesnap'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY 1 \gexec

SELECT section || E'\t' || obj || E'\t' || detail FROM cs_fact ORDER BY section COLLATE "C", obj COLLATE "C";
DROP TABLE cs_fact;
