-- test/upgrade/0.1.0/load.sql: a 0.1.0 database in use, for the upgrade test.  Runs against
-- a database where CREATE EXTENSION crimesnap VERSION '0.1.0' was run, through 0.1.0's
-- own functions only: the generated town (seed 42), street snap points, each force's
-- September and October 2026 loaded and published (October's publication rolls September
-- off into the trend table), one record withdrawn.  Frozen with 0.1.0: never edit it.
\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;
\set seed 42
\ir town.sql

CREATE FUNCTION pg_temp.load_month(f text, m date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  b crimesnap.batch;
BEGIN
  INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
  SELECT u.force, u.crime_ref, u.offence_code, u.committed_on, u.easting, u.northing, u.neighbourhood, u.outcome, u.context
    FROM town.upload u WHERE u.force = f AND u.month = m ORDER BY u.crime_ref;
  b := crimesnap.register_batch(f, m, (SELECT count(*)::integer FROM town.upload u WHERE u.force = f AND u.month = m),
                                initcap(f) || ' Police', 'Data Team', 'data@police.example', 'Crimes ' || m);
  RETURN b.records_loaded;
END
$$;

SELECT crimesnap.build_snap_points(mode => 'street') \g /dev/null
SELECT pg_temp.load_month('northshire', '2026-09-01'), pg_temp.load_month('southshire', '2026-09-01') \g /dev/null
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', reference_date => '2026-10-24') \g /dev/null
SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', reference_date => '2026-10-24') \g /dev/null
SELECT pg_temp.load_month('northshire', '2026-10-01'), pg_temp.load_month('southshire', '2026-10-01') \g /dev/null
SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', reference_date => '2026-11-24') \g /dev/null
SELECT * FROM crimesnap.publish_month('southshire', '2026-10-01', reference_date => '2026-11-24') \g /dev/null
SELECT crimesnap.withdraw(c.persistent_id, 'Upgrade test: a complaint upheld')
  FROM crimesnap.published_crime c WHERE c.persistent_id IS NOT NULL
 ORDER BY c.persistent_id LIMIT 1 \g /dev/null
-- Rows a DBA added beside the seeded ones: the update must keep them the DBA's (not seeded).
INSERT INTO crimesnap.offence_code (force_id, offence_code, slug, description)
VALUES ('northshire', 'NS1', 'other-crime', 'Northshire local code');
INSERT INTO crimesnap.place_class (class) VALUES ('Cathedral Close');
