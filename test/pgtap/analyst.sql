-- Analysts' views by LSOA (section 68): counts by LSOA, month and category with the LSOA's
-- boundary, the trend comparison (same month a year earlier, 12-month average), and the
-- k-address rule for areas.  Everything, the town included, runs in one transaction that is
-- rolled back.
--
-- The rule is shown failing: with the addresses its points serve cut to 5 (under k = 12, not
-- none), an LSOA disappears from both views.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(12);
\o /dev/null
SELECT crimesnap.build_snap_points();
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23');
SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
\o

SET LOCAL ROLE crimesnap_web;
SELECT is((SELECT sum(crimes) FROM crimesnap_api.lsoa_month_counts WHERE force = 'northshire' AND month = '2026-10'),
          (SELECT count(*) FROM crimesnap_api.street_crime WHERE force = 'northshire' AND month = '2026-10' AND lsoa_code IS NOT NULL)::numeric,
  'a month on the map: the LSOA counts add up to its crimes with an LSOA');
SELECT set_eq($$SELECT lsoa_code, category, crimes FROM crimesnap_api.lsoa_month_counts WHERE force = 'northshire' AND month = '2026-10'$$,
              $$SELECT lsoa_code, category, count(*) FROM crimesnap_api.street_crime WHERE force = 'northshire' AND month = '2026-10'
                 AND lsoa_code IS NOT NULL GROUP BY 1, 2$$,
  'cell by cell');
SELECT is((SELECT sum(crimes) FROM crimesnap_api.lsoa_month_counts WHERE force = 'northshire' AND month = '2026-09' AND status = 'rolled-off'),
          (SELECT sum(crimes) FROM crimesnap_api.trend WHERE force = 'northshire' AND month = '2026-09' AND lsoa_code IS NOT NULL)::numeric,
  'a rolled-off month: they add up to its trend counts with an LSOA');
SELECT ok((SELECT bool_and(ST_Equals(c.geom_wgs84, ST_Transform(c.geom, 4326)) AND ST_SRID(c.geom_wgs84) = 4326)
             FROM crimesnap_api.lsoa_month_counts c), 'each row has its LSOA''s boundary, also in WGS84');
RESET ROLE;
SELECT ok((SELECT bool_and(ST_Equals(c.geom, l.geom)) FROM crimesnap_api.lsoa_month_counts c JOIN crimesnap.lsoa l USING (lsoa_code)),
  'the boundary is the LSOA''s');

-- ---- trend comparison: a published month a year before, September, and October ----
\o /dev/null
INSERT INTO crimesnap.publication (force_id, month, status, snap_version, category_scheme, reference_date, published_at,
                                   crimes, mapped, no_location, withheld, rolled_off_at)
SELECT 'northshire', '2025-10-01', 'rolled-off', p.snap_version, 'police.uk', '2025-11-24', '2025-11-24', 7, 7, 0, 0, '2025-12-24'
  FROM crimesnap.publication p WHERE p.force_id = 'northshire' AND p.month = '2026-10-01';
INSERT INTO crimesnap.trend (force_id, month, neighbourhood_id, lsoa_code, category, crimes)
SELECT 'northshire', '2025-10-01', sp.neighbourhood_id, sp.lsoa_code, 'burglary', 7
  FROM crimesnap.snap_point sp WHERE sp.lsoa_code = (SELECT min(lsoa_code) FROM crimesnap_api.lsoa_month_counts WHERE force = 'northshire')
 LIMIT 1;
\o
SELECT min(lsoa_code) AS lsoa FROM crimesnap_api.lsoa_month_counts WHERE force = 'northshire' \gset
SET LOCAL ROLE crimesnap_web;
SELECT is((SELECT crimes_a_year_earlier FROM crimesnap_api.lsoa_trend
            WHERE lsoa_code = :'lsoa' AND force = 'northshire' AND category = 'burglary' AND month = '2026-10'), 7::bigint,
  'this month against the same month a year earlier');
SELECT is((SELECT crimes_a_year_earlier FROM crimesnap_api.lsoa_trend
            WHERE lsoa_code = :'lsoa' AND force = 'northshire' AND category = 'burglary' AND month = '2026-09'), NULL,
  'NULL when that month was not published');
SELECT is((SELECT (average_12_months, months_in_average)::text FROM crimesnap_api.lsoa_trend
            WHERE lsoa_code = :'lsoa' AND force = 'northshire' AND category = 'burglary' AND month = '2026-10'),
          (SELECT (round((7 + coalesce(sum(crimes), 0)) / 2.0, 2), 2)::text FROM crimesnap_api.lsoa_month_counts
            WHERE lsoa_code = :'lsoa' AND force = 'northshire' AND category = 'burglary' AND month = '2026-09'),
  'the 12-month average is over the published months before it (here October 2025 and September 2026)');
SELECT is((SELECT crimes FROM crimesnap_api.lsoa_trend
            WHERE lsoa_code = :'lsoa' AND force = 'northshire' AND category = 'burglary' AND month = '2025-10'), 7::bigint,
  'the older month is in the trend too');
SELECT ok(NOT EXISTS (SELECT FROM crimesnap_api.lsoa_trend t WHERE t.crimes IS NULL), 'a published month without crimes in a cell counts 0');
RESET ROLE;

-- ---- the k-address rule for areas ----
UPDATE crimesnap.snap_point sp SET address_count = CASE WHEN sp.point_id = (SELECT min(x.point_id) FROM crimesnap.snap_point x
                                                                              WHERE x.version = sp.version AND x.lsoa_code = :'lsoa') THEN 5 ELSE 0 END
 WHERE sp.lsoa_code = :'lsoa';
SET LOCAL ROLE crimesnap_web;
SELECT is((SELECT count(*) FROM crimesnap_api.lsoa_month_counts WHERE lsoa_code = :'lsoa'), 0::bigint,
  'an LSOA whose points serve 5 addresses (fewer than k, more than none) has no counts');
SELECT is((SELECT count(*) FROM crimesnap_api.lsoa_trend WHERE lsoa_code = :'lsoa'), 0::bigint, 'and no trend');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
