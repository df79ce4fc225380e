-- make bench: should crimesnap.published_crime be partitioned?  (issue 13: "partitioning, if
-- measurement shows it pays: ... so that roll-off and retention are partition operations.
-- Measure before deciding, and record why.")  Runs on the national data made by
-- 41_national_full.sql (or, without it, 40_national_tenth.sql); the decision and the figures
-- are in docs/benchmarks.md.
--
-- Four tables with published_crime's columns and indexes, each holding the same three
-- street-level months (the bench's October, and two copies of it as November and
-- December, with fresh ids):
--   flat        one table, with the indexes of crimesnap 0.2.0 before this measurement:
--               (snap_version, point_id) INCLUDE (month, force_id, category);
--   keyed       one table, the month in that index's key: (snap_version, point_id, month)
--               INCLUDE (force_id, category), as crimesnap has it since;
--   by_month    partitioned by month (3 partitions);
--   by_force    partitioned by force and then by month (43 x 3 partitions), the only layout
--               in which one force's roll-off is a partition operation: forces publish and
--               roll off on their own days, so a month's partition empties force by force.
-- Timed on each, as crimesnap does them:
--   1. writing a month (600,000 rows at full size), as publication writes it;
--   2. the roll-off of the oldest month, force by force;
--   3. the web's read: the crimes of a month within a mile of 300 points in cities
--      (the snap points' index, then each point's crimes of the month).
-- A unique key across partitions must hold the partition key, so by_month and by_force
-- cannot keep id and crime_id unique on their own: a cost in correctness, not in time.
\set ON_ERROR_STOP 1
SELECT datname AS db FROM pg_database WHERE datname IN ('national_full', 'national_tenth')
 ORDER BY datname = 'national_full' DESC LIMIT 1 \gset
\if :{?db}
\c :db
\else
\echo 'no national database: run 40_national_tenth or 41_national_full first'
\quit
\endif
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS part CASCADE;
CREATE SCHEMA part;
SELECT max(month) AS m0 FROM crimesnap.published_crime \gset
SELECT (:'m0'::date + interval '1 month')::date AS m1, (:'m0'::date + interval '2 months')::date AS m2,
       (:'m0'::date + interval '3 months')::date AS m3 \gset
-- The rows of the three months, written once; each month's ids and crime ids apart.
CREATE UNLOGGED TABLE part.src AS
SELECT c.id + k * 100000000 AS id, c.crime_id + k * 100000000 AS crime_id, c.force_id,
       (c.month + pg_catalog.make_interval(months => k))::date AS month, c.persistent_id, c.category,
       c.snap_version, c.point_id, c.neighbourhood_id, c.outcome, c.context, c.no_location_reason
  FROM crimesnap.published_crime c, generate_series(0, 3) k
 WHERE c.month = :'m0';
ANALYZE part.src;
SELECT count(*) FILTER (WHERE month = :'m0') AS month_rows, count(DISTINCT force_id) AS forces FROM part.src \gset

-- ---- the three layouts ----
CREATE TABLE part.flat (LIKE crimesnap.published_crime INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE part.keyed (LIKE crimesnap.published_crime INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
-- Whichever form published_crime_point_counts has in this install, flat gets the month
-- included and keyed gets it in the key.
DO $$
DECLARE
  i record;
BEGIN
  FOR i IN SELECT x.indexrelid::regclass AS idx, t.relname
             FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
             JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'part' AND t.relname IN ('flat', 'keyed')
              AND pg_catalog.pg_get_indexdef(x.indexrelid) ~ '\(snap_version, point_id' LOOP
    EXECUTE pg_catalog.format('DROP INDEX %s', i.idx);
  END LOOP;
END $$;
CREATE INDEX ON part.flat (snap_version, point_id) INCLUDE (month, force_id, category);
CREATE INDEX ON part.keyed (snap_version, point_id, month) INCLUDE (force_id, category);
CREATE TABLE part.by_month (LIKE crimesnap.published_crime INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (month);
CREATE TABLE part.by_force (LIKE crimesnap.published_crime INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY LIST (force_id);
-- The same indexes, where a partitioned table allows them (a unique one needs the key).
DO $$
DECLARE
  t text;
  i record;
BEGIN
  FOREACH t IN ARRAY ARRAY['by_month', 'by_force'] LOOP
    FOR i IN SELECT pg_catalog.pg_get_indexdef(x.indexrelid) AS def, x.indisunique
               FROM pg_catalog.pg_index x WHERE x.indrelid = 'crimesnap.published_crime'::regclass LOOP
      IF i.indisunique THEN
        CONTINUE;
      END IF;
      EXECUTE pg_catalog.regexp_replace(i.def, '^CREATE INDEX \S+ ON crimesnap\.published_crime', 'CREATE INDEX ON part.' || t);
    END LOOP;
  END LOOP;
END $$;
CREATE INDEX ON part.by_month (id);
CREATE INDEX ON part.by_month (crime_id);
CREATE INDEX ON part.by_force (id);
CREATE INDEX ON part.by_force (crime_id);
DO $$
DECLARE
  m date;
  f text;
BEGIN
  FOR m IN SELECT DISTINCT s.month FROM part.src s LOOP
    EXECUTE pg_catalog.format('CREATE TABLE part.%I PARTITION OF part.by_month FOR VALUES FROM (%L) TO (%L)',
                              'm_' || pg_catalog.to_char(m, 'YYYYMM'), m, (m + interval '1 month')::date);
  END LOOP;
  FOR f IN SELECT DISTINCT s.force_id FROM part.src s LOOP
    EXECUTE pg_catalog.format('CREATE TABLE part.%I PARTITION OF part.by_force FOR VALUES IN (%L) PARTITION BY RANGE (month)',
                              'f_' || pg_catalog.replace(f, '-', '_'), f);
    FOR m IN SELECT DISTINCT s.month FROM part.src s LOOP
      EXECUTE pg_catalog.format('CREATE TABLE part.%I PARTITION OF part.%I FOR VALUES FROM (%L) TO (%L)',
                                'f_' || pg_catalog.replace(f, '-', '_') || '_' || pg_catalog.to_char(m, 'YYYYMM'),
                                'f_' || pg_catalog.replace(f, '-', '_'), m, (m + interval '1 month')::date);
    END LOOP;
  END LOOP;
END $$;

CREATE TEMP TABLE result (step integer, what text, layout text, seconds numeric);

-- ---- 1. three months written, the last one timed ----
-- One INSERT per force and month, in crime id order, as publish_month() writes.
CREATE PROCEDURE pg_temp.fill(t text, m date) LANGUAGE plpgsql AS $$
DECLARE
  f text;
BEGIN
  FOR f IN SELECT DISTINCT s.force_id FROM part.src s ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('INSERT INTO part.%I SELECT * FROM part.src s WHERE s.force_id = $1 AND s.month = $2 ORDER BY s.crime_id', t)
      USING f, m;
  END LOOP;
END $$;
DO $$
DECLARE
  t text;
  m date;
BEGIN
  FOREACH t IN ARRAY ARRAY['flat', 'keyed', 'by_month', 'by_force'] LOOP
    FOR m IN SELECT DISTINCT s.month FROM part.src s WHERE s.month < (SELECT max(x.month) FROM part.src x) ORDER BY 1 LOOP
      CALL pg_temp.fill(t, m);
    END LOOP;
    EXECUTE pg_catalog.format('ANALYZE part.%I', t);
  END LOOP;
END $$;
-- Each step runs on every layout in turn, in its own transaction, timed.
CREATE PROCEDURE pg_temp.timed(step integer, what text, stmt text) LANGUAGE plpgsql AS $$
DECLARE
  t text;
  t0 timestamptz;
BEGIN
  FOREACH t IN ARRAY ARRAY['flat', 'keyed', 'by_month', 'by_force'] LOOP
    t0 := pg_catalog.clock_timestamp();
    EXECUTE pg_catalog.format(stmt, t);
    INSERT INTO result VALUES (step, what, t, extract(epoch FROM pg_catalog.clock_timestamp() - t0));
    COMMIT;
  END LOOP;
END $$;
CHECKPOINT;
SELECT format('CALL pg_temp.fill(%%L, %L)', :'m3') AS stmt \gset
CALL pg_temp.timed(1, 'a month written (one INSERT per force)', :'stmt');
ANALYZE part.flat, part.keyed, part.by_month, part.by_force;

-- ---- 2. the oldest month rolled off, force by force ----
-- One table: each force's rows deleted.  By month: the same, from the month's partition,
-- which the last force drops.  By force and month: each force drops its month's partition.
CREATE PROCEDURE pg_temp.roll_off(t text) LANGUAGE plpgsql AS $$
DECLARE
  f text;
  m date := (SELECT min(s.month) FROM part.src s);
BEGIN
  FOR f IN SELECT DISTINCT s.force_id FROM part.src s ORDER BY 1 LOOP
    IF t = 'by_force' THEN
      EXECUTE pg_catalog.format('DROP TABLE part.%I', 'f_' || pg_catalog.replace(f, '-', '_') || '_' || pg_catalog.to_char(m, 'YYYYMM'));
    ELSE
      EXECUTE pg_catalog.format('DELETE FROM part.%I c WHERE c.force_id = $1 AND c.month = $2', t) USING f, m;
    END IF;
  END LOOP;
  IF t = 'by_month' THEN
    EXECUTE pg_catalog.format('DROP TABLE part.%I', 'm_' || pg_catalog.to_char(m, 'YYYYMM'));
  END IF;
END $$;
CHECKPOINT;
CALL pg_temp.timed(2, 'the oldest month rolled off, force by force', 'CALL pg_temp.roll_off(%L)');

-- ---- 3. the web's read ----
-- 300 centres: snap points of the second largest force, every 20th.
CREATE TEMP TABLE centre AS
SELECT p.version, p.geom FROM crimesnap.snap_point p JOIN crimesnap.neighbourhood n USING (neighbourhood_id)
 WHERE p.version = crimesnap.current_snap_version() AND n.force_id = 'force-02'
 ORDER BY p.point_id LIMIT 300;
CREATE TEMP TABLE crimes_read (layout text, crimes bigint);
CREATE PROCEDURE pg_temp.read(t text, m date) LANGUAGE plpgsql AS $$
DECLARE
  c record;
  n bigint := 0;
  k bigint;
BEGIN
  FOR c IN SELECT * FROM centre LOOP
    EXECUTE pg_catalog.format(
      -- Every crime's row is read, as the API reads them (not only its index entry).
      'SELECT count(x.persistent_id) + count(*) FROM crimesnap.snap_point p JOIN part.%I x ON x.snap_version = p.version AND x.point_id = p.point_id
        WHERE ST_DWithin(p.geom, $1, 1609.344::float8) AND p.version = $2 AND x.month = $3', t)
      INTO k USING c.geom, c.version, m;
    n := n + k;
  END LOOP;
  DELETE FROM crimes_read r WHERE r.layout = t;
  INSERT INTO crimes_read VALUES (t, n);
END $$;
SELECT format('CALL pg_temp.read(%%L, %L)', :'m2') AS stmt \gset
-- Once to warm the caches, then timed.
CALL pg_temp.timed(0, 'warm', :'stmt');
CALL pg_temp.timed(3, '300 one-mile reads of a month', :'stmt');
-- The same crimes on every layout.
SELECT layout, crimes FROM crimes_read ORDER BY array_position(ARRAY['flat', 'keyed', 'by_month', 'by_force'], layout);

\echo
\echo '-- partitioning published_crime:' :month_rows 'records a month,' :forces 'forces, three months on the map'
SELECT r.what, r.layout, round(r.seconds, 3) AS seconds,
       round(r.seconds / nullif(f.seconds, 0), 2) AS x_flat
  FROM result r JOIN result f ON f.step = r.step AND f.layout = 'flat'
 WHERE r.step > 0
 ORDER BY r.step, array_position(ARRAY['flat', 'keyed', 'by_month', 'by_force'], r.layout);
DROP SCHEMA part CASCADE;
\c crimesnap_bench
