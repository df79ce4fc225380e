-- crimesnap upgrade 0.1.0 -> 0.2.0, built by make from sql/upgrade/0.1.0--0.2.0/*.sql in
-- file-name order.  Each change to sql/install/ that ships in 0.2.0 adds its fragment here,
-- so that ALTER EXTENSION crimesnap UPDATE gives the same catalogue as a fresh install.
-- Function bodies are not restated here: after the last fragment, make appends every function
-- that changed since 0.1.0 (or that a fragment creates) as sql/install defines it
-- (sql/upgrade/reemit.pl).  A fragment creates a function only where its own DDL or data
-- migration needs it before then (a trigger, a view, a policy, a changed signature).
\echo Use "ALTER EXTENSION crimesnap UPDATE TO '0.2.0'" to load this file. \quit

-- The same search_path as the install script (sql/install/00-schema.sql), so that every
-- function a fragment creates with SET search_path FROM CURRENT captures what a fresh
-- install captures; test/tools/upgrade.sh compares the two.
SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);
