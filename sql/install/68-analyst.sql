-- Section 68: views for analysts, by LSOA.  Tests: test/pgtap/analyst.sql.
-- Guide: docs/web-developer-guide.md ("Counts by area").
--
-- A published crime's LSOA is its snap point's, so a count by LSOA is a sum of counts at snap
-- points, each of which serves at least k postal addresses (a public place serves none): an
-- LSOA's count covers the addresses of all its points.  The views publish an LSOA's counts
-- only while that holds for the snap point sets they come from: the points of the set in the
-- LSOA serve k or more addresses between them, or none at all (public places only), where k
-- is the set's min_addresses.  Records without a location have no LSOA and are not here; they
-- count in crimesnap_api.month_totals.

CREATE VIEW crimesnap.lsoa_cover AS
SELECT p.version, p.lsoa_code, pg_catalog.sum(p.address_count)::bigint AS addresses,
       s.min_addresses AS k,
       pg_catalog.sum(p.address_count) = 0 OR pg_catalog.sum(p.address_count) >= s.min_addresses AS publishable
  FROM crimesnap.snap_point p
  JOIN crimesnap.snap_point_set s ON s.version = p.version
 WHERE p.lsoa_code IS NOT NULL
 GROUP BY p.version, p.lsoa_code, s.min_addresses;
COMMENT ON VIEW crimesnap.lsoa_cover IS
  'Internal: for each snap point set and LSOA, the addresses its points serve between them, and whether counts by that LSOA may be published (k or more, or none).';
COMMENT ON COLUMN crimesnap.lsoa_cover.version IS 'Snap point set.';
COMMENT ON COLUMN crimesnap.lsoa_cover.lsoa_code IS 'LSOA.';
COMMENT ON COLUMN crimesnap.lsoa_cover.addresses IS 'Addresses served by the set''s points in the LSOA (never published).';
COMMENT ON COLUMN crimesnap.lsoa_cover.k IS 'The set''s min_addresses.';
COMMENT ON COLUMN crimesnap.lsoa_cover.publishable IS 'true when addresses is 0 or at least k.';

CREATE VIEW crimesnap_api.lsoa_month_counts WITH (security_barrier) AS
SELECT x.lsoa_code, l.name AS lsoa_name, x.force, x.month, x.status, x.category, c.name AS category_name,
       x.crimes, l.geom,
       ST_Transform(l.geom, 4326)::geometry(MultiPolygon, 4326) AS geom_wgs84
  FROM (SELECT pc.force_id AS force, pg_catalog.to_char(pc.month, 'YYYY-MM') AS month, 'street-level'::text AS status,
               sp.lsoa_code, pc.category, pg_catalog.count(*)::bigint AS crimes
          FROM crimesnap.published_crime pc
          JOIN crimesnap.publication pub ON pub.force_id = pc.force_id AND pub.month = pc.month AND pub.status = 'street-level'
          JOIN crimesnap.snap_point sp ON sp.version = pc.snap_version AND sp.point_id = pc.point_id
          JOIN crimesnap.lsoa_cover lc ON lc.version = pc.snap_version AND lc.lsoa_code = sp.lsoa_code
         WHERE lc.publishable
         GROUP BY 1, 2, 3, 4, 5
        UNION ALL
        SELECT t.force_id, pg_catalog.to_char(t.month, 'YYYY-MM'), 'rolled-off', t.lsoa_code, t.category,
               pg_catalog.sum(t.crimes)::bigint
          FROM crimesnap.trend t
          JOIN crimesnap.publication pub ON pub.force_id = t.force_id AND pub.month = t.month AND pub.status = 'rolled-off'
          JOIN crimesnap.lsoa_cover lc ON lc.version = pub.snap_version AND lc.lsoa_code = t.lsoa_code
         WHERE t.lsoa_code IS NOT NULL AND lc.publishable
         GROUP BY 1, 2, 3, 4, 5) x
  JOIN crimesnap.lsoa l ON l.lsoa_code = x.lsoa_code
  JOIN crimesnap.publication p ON p.force_id = x.force AND pg_catalog.to_char(p.month, 'YYYY-MM') = x.month
  JOIN crimesnap.category c ON c.scheme = p.category_scheme AND c.slug = x.category;
COMMENT ON VIEW crimesnap_api.lsoa_month_counts IS
  'Crimes and ASB by LSOA (of the snap point), force, month and category, for every published month, on the map or rolled off, with the LSOA''s boundary: for choropleth maps. Only LSOAs whose snap points serve k or more addresses between them, or none.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.lsoa_code IS 'LSOA code.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.lsoa_name IS 'LSOA name.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.category_name IS 'Category name under the month''s scheme.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.crimes IS 'Records at snap points in the LSOA.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.geom IS 'LSOA boundary, MultiPolygon in EPSG:27700.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.geom_wgs84 IS 'LSOA boundary in WGS84 (EPSG:4326), for ogr2ogr and QGIS.';

CREATE VIEW crimesnap_api.lsoa_trend WITH (security_barrier) AS
WITH cells AS (
  -- every LSOA, force and category with a count, crossed with every month the force published:
  -- a month without crimes there counts 0.
  SELECT DISTINCT c.lsoa_code, c.force, c.category FROM crimesnap_api.lsoa_month_counts c
), months AS (
  SELECT p.force_id AS force, p.month FROM crimesnap.publication p
), grid AS (
  SELECT g.lsoa_code, g.force, g.category, m.month,
         coalesce((SELECT c.crimes FROM crimesnap_api.lsoa_month_counts c
                    WHERE c.lsoa_code = g.lsoa_code AND c.force = g.force AND c.category = g.category
                      AND c.month = pg_catalog.to_char(m.month, 'YYYY-MM')), 0) AS crimes
    FROM cells g JOIN months m ON m.force = g.force
)
SELECT g.lsoa_code, g.force, pg_catalog.to_char(g.month, 'YYYY-MM') AS month, g.category, g.crimes,
       y.crimes AS crimes_a_year_earlier,
       (SELECT pg_catalog.round(pg_catalog.avg(h.crimes), 2) FROM grid h
         WHERE h.lsoa_code = g.lsoa_code AND h.force = g.force AND h.category = g.category
           AND h.month >= (g.month - interval '12 months') AND h.month < g.month) AS average_12_months,
       (SELECT pg_catalog.count(*) FROM grid h
         WHERE h.lsoa_code = g.lsoa_code AND h.force = g.force AND h.category = g.category
           AND h.month >= (g.month - interval '12 months') AND h.month < g.month) AS months_in_average
  FROM grid g
  LEFT JOIN grid y ON y.lsoa_code = g.lsoa_code AND y.force = g.force AND y.category = g.category
                  AND y.month = (g.month - interval '12 months')::date;
COMMENT ON VIEW crimesnap_api.lsoa_trend IS
  'Each LSOA, force, category and published month against the same month a year earlier and the average of the 12 months before it (months published with no crimes there count 0; NULL and 0 months when none was published). Same LSOAs as lsoa_month_counts.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.lsoa_code IS 'LSOA code.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.crimes IS 'Crimes that month (0 when the month was published with none there).';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.crimes_a_year_earlier IS 'Crimes in the same month a year earlier; NULL when that month was not published.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.average_12_months IS 'Average per month over the published months among the 12 before; NULL when none.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.months_in_average IS 'How many of those 12 months were published (12 for a full year).';

GRANT SELECT ON crimesnap_api.lsoa_month_counts, crimesnap_api.lsoa_trend TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT SELECT ON crimesnap.lsoa_cover TO crimesnap_analyst, crimesnap_publisher;
