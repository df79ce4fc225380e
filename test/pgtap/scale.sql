-- National scale (issue 13): what changed for speed keeps the answers.  The capped address
-- count equals the full one below its cap (duplicates counted once); a publication audits
-- the months it changed and still fails on a broken older month (the cheap invariant);
-- progress NOTICEs follow crimesnap.progress_rows; the build by force gives the set a
-- whole-country build gives.  Timings are in make bench, never here.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(12);

SELECT crimesnap.build_snap_points() AS version \gset
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;

-- ---- the capped count against the full one ----
CREATE TEMP TABLE full_count AS SELECT neighbourhood_id, addresses FROM crimesnap.area_addresses();
SELECT set_eq(
  $$SELECT neighbourhood_id, addresses FROM crimesnap.area_address_count(ARRAY(SELECT neighbourhood_id FROM crimesnap.neighbourhood), 1000000)$$,
  $$SELECT neighbourhood_id, addresses FROM full_count$$,
  'with a cap above every count, area_address_count() is area_addresses()');
SELECT set_eq(
  $$SELECT neighbourhood_id, addresses FROM crimesnap.area_address_count(ARRAY(SELECT neighbourhood_id FROM crimesnap.neighbourhood), 12)$$,
  $$SELECT neighbourhood_id, least(addresses, 12) FROM full_count$$,
  'with cap 12 it is the full count below 12, and 12 for at least 12');
SELECT is((SELECT count(*) FROM crimesnap.area_address_count(ARRAY['NS-E', 'no such'], 12)), 1::bigint,
  'only the neighbourhoods asked about, and only those that exist');
-- A second row for an address already loaded (the same UPRN) is one postal address.
SAVEPOINT dup;
UPDATE crimesnap.address SET uprn = address_id;
INSERT INTO crimesnap.address (address_id, street_name, postcode, geom, uprn)
SELECT 900000000 + address_id, street_name, postcode, geom, uprn
  FROM crimesnap.address WHERE crimesnap.neighbourhood_at(geom) = 'NS-E';
SELECT is((SELECT addresses FROM crimesnap.area_address_count(ARRAY['NS-E'], 1000000)),
          (SELECT addresses FROM full_count WHERE neighbourhood_id = 'NS-E'),
  'duplicated rows count once, as in crimesnap.postal_address');
SELECT isnt((SELECT count(*) FROM crimesnap.address WHERE crimesnap.neighbourhood_at(geom) = 'NS-E'),
            (SELECT addresses FROM full_count WHERE neighbourhood_id = 'NS-E'),
  '(where a count of rows would differ)');
ROLLBACK TO SAVEPOINT dup;

-- ---- the build, one force at a time, is the build of the whole country ----
-- The association and selection run per force; running them once over everything, as
-- before, must give the same choice of points.
CREATE TEMP TABLE whole AS
SELECT s.rank, s.kept, s.catchment
  FROM (SELECT array_agg(ROW(p.point_id, p.geom, p.neighbourhood_id, p.kind)::crimesnap.snap_candidate ORDER BY p.point_id) AS c
          FROM crimesnap.snap_point p WHERE p.version = :version) cand,
       (SELECT array_agg(ROW(a.address_id, a.geom, a.street_name, crimesnap.neighbourhood_at(a.geom))::crimesnap.address_input
                         ORDER BY a.address_id) AS a
          FROM crimesnap.postal_address a) ad,
       crimesnap.select_snap_points(cand.c, ad.a, 12) s;
SELECT is((SELECT count(*) FROM whole WHERE NOT kept), 0::bigint,
  'a whole-country selection over the stored points keeps every one of them');
SELECT set_eq($$SELECT point_id, address_count FROM crimesnap.snap_point WHERE version = $$ || :version,
              $$SELECT rank, catchment FROM whole$$,
  'and gives each the catchment the per-force build stored');

-- ---- publication audits what it changed, and a cheap invariant for the rest ----
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23')$$, 'September publishes');
SELECT is((SELECT rolled_off FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23')), 1,
  'October publishes and rolls September off');
-- Break the rolled-off September behind the publication's back: the trend loses a cell.
-- Re-publishing October does not touch September, yet must not pass over it.
DELETE FROM crimesnap.trend
 WHERE (force_id, month, category) = (SELECT force_id, month, category FROM crimesnap.trend
                                        WHERE force_id = 'northshire' AND month = '2026-09-01' ORDER BY category, crimes LIMIT 1)
   AND force_id = 'northshire' AND month = '2026-09-01';
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23')$$,
  '23514', 'publication of northshire 2026-09 fails its audit: totals',
  'a re-publication fails on an older month whose trend no longer holds its total');
SELECT ok((SELECT count(*) FROM crimesnap.audit_publication('northshire') WHERE violation = 'totals') > 0,
  'and the full audit, for a DBA, says the same');

-- ---- progress ----
-- Stages are NOTICEs from crimesnap.progress_rows rows: none for the town by default
-- (test/sql/progress.sql shows them at 0, -1, the default and client_min_messages = warning).
SELECT is(current_setting('crimesnap.progress_rows'), '100000', 'progress_rows defaults to 100000');

SELECT * FROM finish();
ROLLBACK;
