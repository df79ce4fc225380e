-- Section 89: column comments the crimesnap_api views share with what they publish.
-- Reference: docs/api.md.
--
-- Most crimesnap_api views publish the columns of an internal relation (street_crime those of
-- crimesnap.published_street_crime, crime_outcome those of crimesnap.published_outcome, ...).
-- Where an API column's meaning is that column's, its comment is written once, on the internal
-- relation: a crimesnap_api column with no COMMENT of its own takes the comment of the
-- same-named column of the crimesnap relations its view reads, when they all say the same.
-- Columns the web sees differently keep their own COMMENT in their section.  Nothing of this
-- block stays in the catalogue but the comments; test/sql/00_install.sql checks that every
-- column has one.
DO $comments$
DECLARE
  c record;
BEGIN
  FOR c IN
    SELECT v.oid::pg_catalog.regclass AS view, a.attname, pg_catalog.min(x.comment) AS comment
      FROM pg_catalog.pg_class v
      JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) v.oid AND a.attnum OPERATOR(pg_catalog.>) 0
                                    AND NOT a.attisdropped
      JOIN pg_catalog.pg_rewrite w ON w.ev_class OPERATOR(pg_catalog.=) v.oid
      JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                                 AND d.objid OPERATOR(pg_catalog.=) w.oid
      JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) d.refobjid AND t.oid OPERATOR(pg_catalog.<>) v.oid
                                AND t.relnamespace OPERATOR(pg_catalog.=) 'crimesnap'::pg_catalog.regnamespace
      JOIN pg_catalog.pg_attribute b ON b.attrelid OPERATOR(pg_catalog.=) t.oid AND b.attname OPERATOR(pg_catalog.=) a.attname
      CROSS JOIN LATERAL (SELECT pg_catalog.col_description(t.oid, b.attnum::integer) AS comment) x
     WHERE v.relnamespace OPERATOR(pg_catalog.=) 'crimesnap_api'::pg_catalog.regnamespace AND v.relkind OPERATOR(pg_catalog.=) 'v'
       AND pg_catalog.col_description(v.oid, a.attnum::integer) IS NULL
       AND x.comment IS NOT NULL
     GROUP BY v.oid, a.attname
    HAVING pg_catalog.count(DISTINCT x.comment) OPERATOR(pg_catalog.=) 1
  LOOP
    EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', c.view, c.attname, c.comment);
  END LOOP;
END
$comments$;
