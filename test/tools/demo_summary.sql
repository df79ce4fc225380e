-- test/tools/demo_summary.sql: what the demo's monthly job did.
\set ON_ERROR_STOP on
\set QUIET on
\pset footer off

\echo '== 5. Rows rejected, with their reasons (both months)'
SELECT r.reason_code, count(*) AS rows, min(r.reason) AS example
  FROM crimesnap.reject r GROUP BY 1 ORDER BY 1;

\echo '== 6. What was rolled off, and what is on the map now'
SELECT p.force_id AS force, to_char(p.month, 'YYYY-MM') AS month, p.status, p.crimes,
       coalesce((SELECT sum(t.crimes) FROM crimesnap.trend t
                  WHERE t.force_id = p.force_id AND t.month = p.month), 0) AS trend_count
  FROM crimesnap.publication p ORDER BY 2, 1;
SELECT force, month, count(*) AS on_the_map,
       (SELECT count(*) FROM crimesnap_api.no_location_crime n WHERE n.force = s.force AND n.month = s.month) AS no_location
  FROM crimesnap_api.street_crime s GROUP BY 1, 2 ORDER BY 1, 2;

\echo '== 7. The privacy audits: the snap point set publication used, and the publications themselves'
SELECT CASE WHEN count(*) = 0 THEN 'clean' ELSE count(*) || ' violations' END AS audit
  FROM crimesnap.audit_snap_points();
SELECT CASE WHEN count(*) = 0 THEN 'clean: labels, LSOAs, contexts, ids, withdrawals, totals, trend, timing'
            ELSE count(*) || ' violations' END AS publication_audit
  FROM crimesnap.audit_publication();

\echo '== 8. A few published rows, as the web role sees them'
SET ROLE crimesnap_web;
SELECT month, category, street_name, round(latitude::numeric, 5) AS latitude,
       round(longitude::numeric, 5) AS longitude, lsoa_code, left(coalesce(persistent_id, ''), 12) AS persistent_id
  FROM crimesnap_api.street_crime ORDER BY id LIMIT 5;
RESET ROLE;

\echo '== 9. The police.uk street CSV a DBA \\copy-s out (header and two ASB rows)'
\copy (SELECT * FROM crimesnap_api.police_uk_csv('northshire', '2026-10') WHERE "Crime ID" IS NULL LIMIT 2) TO STDOUT WITH (FORMAT csv, HEADER)
