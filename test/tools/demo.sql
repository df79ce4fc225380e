-- test/tools/demo.sql: the monthly job on the generated town, as a force DBA runs it.
-- Run by `make demo` (test/tools/demo.sh) in three parts: the town and the snap points
-- (this file), the monthly loads and publications (demo.sh, one CSV per force and month,
-- as a force DBA would), and the summary (demo_summary.sql).
\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
SET client_min_messages = warning;

\echo '== 1. Generate the town (seed' :seed ') and load the input tables'
\ir ../fixtures/town.sql
SELECT (SELECT count(*) FROM crimesnap.force) AS forces,
       (SELECT count(*) FROM crimesnap.neighbourhood) AS neighbourhoods,
       (SELECT count(*) FROM crimesnap.lsoa) AS lsoas,
       (SELECT count(*) FROM crimesnap.street) AS street_segments,
       (SELECT count(*) FROM crimesnap.address) AS addresses,
       (SELECT count(*) FROM crimesnap.public_place) AS public_places;

\echo '== 2. Build the snap points and audit them'
SELECT crimesnap.build_snap_points(mode => 'street') AS version \gset
SELECT s.version, s.mode, s.min_addresses AS k, s.rule, s.point_count AS points,
       count(*) FILTER (WHERE p.kind = 'street') AS street_points,
       count(*) FILTER (WHERE p.kind = 'place') AS place_points,
       min(p.address_count) FILTER (WHERE p.kind = 'street') AS min_catchment
  FROM crimesnap.snap_point_set s JOIN crimesnap.snap_point p USING (version)
 WHERE s.version = :version GROUP BY 1, 2, 3, 4, 5;
SELECT CASE WHEN count(*) = 0 THEN 'clean: every point serves at least k addresses or none'
            ELSE count(*) || ' violations' END AS privacy_audit
  FROM crimesnap.audit_snap_points(:version);

