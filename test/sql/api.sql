-- The web contract, crimesnap_api: the police.uk street CSV, searches near a point, in an
-- area and at a snap point, no-location crimes, categories, snap point counts, trend counts,
-- GeoJSON, and what the web role can and cannot read.
-- Everything, the town included, runs in one transaction that is rolled back.
\i test/fixtures/regress_town.sql

SELECT crimesnap.build_snap_points() > 0 AS snap_points_built;
SELECT pg_temp.load_month(f, m) > 0 AS loaded
  FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
-- September for both forces (southshire under the 2010 categories), then northshire's
-- October, which rolls its September into the trend table.
SELECT crimes > 0 AS published FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23');
SELECT crimes > 0 AS published FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23', 'crimemapper-2010');
SELECT crimes > 0 AS published FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
SELECT force, month, status, category_scheme FROM crimesnap_api.published_month ORDER BY 1, 2;

-- ---- the police.uk street CSV ----
-- The header, byte for byte, as COPY writes it.
\copy (SELECT * FROM crimesnap_api.police_uk_csv('northshire', '2026-10') LIMIT 0) TO STDOUT WITH (FORMAT csv, HEADER)
-- ASB rows (no Crime ID) and rows with no location, as police.uk writes them.
\copy (SELECT * FROM crimesnap_api.police_uk_csv('northshire', '2026-10') WHERE "Crime ID" IS NULL LIMIT 3) TO STDOUT WITH (FORMAT csv, HEADER)
\copy (SELECT * FROM crimesnap_api.police_uk_csv('northshire', '2026-10') WHERE "Crime ID" IS NULL AND "Location" = 'No Location' LIMIT 2) TO STDOUT WITH (FORMAT csv)
-- Every record of every month on the map is in the file, mapped or not.
SELECT p.force, p.month, p.crimes, (SELECT count(*) FROM crimesnap_api.police_uk_csv(p.force, p.month)) AS csv_rows,
       (SELECT count(*) FROM crimesnap_api.police_uk_csv(p.force, p.month) c WHERE c."Location" = 'No Location') AS csv_no_location,
       p.no_location
  FROM crimesnap_api.published_month p WHERE p.status = 'street-level' ORDER BY 1, 2;
SELECT count(*) AS rows_in_view FROM crimesnap_api.police_uk_street_csv;
SELECT "Crime type", count(*) FROM crimesnap_api.police_uk_csv('southshire', '2026-09') GROUP BY 1 ORDER BY 1;

-- ---- last updated, and the categories valid for a month ----
SELECT date IS NOT NULL AS has_date, latest_month FROM crimesnap_api.last_updated;
SELECT * FROM crimesnap_api.categories('2026-10');
SELECT * FROM crimesnap_api.categories('2026-09');
SELECT count(*) AS categories_of_the_latest_month FROM crimesnap_api.categories();
SELECT count(*) AS categories_of_an_unpublished_month FROM crimesnap_api.categories('2030-01');

-- ---- searches ----
-- Within one mile of a point: the same rows as a plain PostGIS query on the view.
SELECT count(*) AS near, count(*) = (SELECT count(*) FROM crimesnap_api.street_crime s
                                      WHERE ST_DWithin(s.geom, ST_Transform(ST_SetSRID(ST_MakePoint(-1.2646, 51.7083), 4326), 27700), 1609.344))
       AS same_as_postgis
  FROM crimesnap_api.street_crimes_near(51.7083, -1.2646);
SELECT count(*) AS near_in_october, count(DISTINCT month) AS months
  FROM crimesnap_api.street_crimes_near(51.7083, -1.2646, '2026-10');
SELECT count(*) AS burglaries_near, count(DISTINCT category) AS categories,
       count(*) = (SELECT count(*) FROM crimesnap_api.street_crime s
                    WHERE s.category = 'burglary'
                      AND ST_DWithin(s.geom, ST_Transform(ST_SetSRID(ST_MakePoint(-1.2646, 51.7083), 4326), 27700), 1609.344))
       AS same_as_postgis
  FROM crimesnap_api.street_crimes_near(51.7083, -1.2646, category => 'burglary');
SELECT count(*) FROM crimesnap_api.street_crimes_near(151.7, -1.26);
SELECT count(*) FROM crimesnap_api.street_crimes_near(51.7, -1.26, 'October');
-- Inside a polygon: police.uk's poly format, or any polygon geometry.
SELECT ST_AsText(crimesnap_api.poly_from_text('51.70,-1.27:51.71,-1.27:51.71,-1.26')) AS poly;
SELECT count(*) AS in_area,
       count(*) = (SELECT count(*) FROM crimesnap_api.street_crime s
                    WHERE ST_Intersects(s.geom, ST_Transform(crimesnap_api.poly_from_text('51.70,-1.27:51.715,-1.27:51.715,-1.25:51.70,-1.25'), 27700)))
       AS same_as_postgis
  FROM crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text('51.70,-1.27:51.715,-1.27:51.715,-1.25:51.70,-1.25'));
SELECT count(*) = (SELECT count(*) FROM crimesnap_api.street_crime WHERE force = 'southshire') AS southshire_by_its_area
  FROM crimesnap_api.street_crimes_in_area((SELECT ST_Union(geom) FROM crimesnap.neighbourhood WHERE force_id = 'southshire'));
SELECT count(*) FROM crimesnap_api.street_crimes_in_area(ST_MakePoint(-1.26, 51.70));
SELECT count(*) FROM crimesnap_api.street_crimes_in_area('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))');
SELECT crimesnap_api.poly_from_text('51.70,-1.27:51.71');
SELECT crimesnap_api.poly_from_text('51.70,-1.27:north');
-- At one snap point: every crime there, the count the map sizes its icon by.
SELECT street_id AS busiest, crimes AS busiest_crimes FROM crimesnap_api.snap_point_crimes
 WHERE month = '2026-10' ORDER BY crimes DESC, street_id LIMIT 1 \gset
SELECT count(*) = :busiest_crimes AS all_there, count(DISTINCT street_name) AS one_name
  FROM crimesnap_api.street_crimes_at(:busiest, '2026-10');
SELECT (SELECT sum(value::integer) FROM jsonb_each_text(by_category)) = crimes AS categories_add_up
  FROM crimesnap_api.snap_point_crimes WHERE street_id = :busiest AND month = '2026-10';
SELECT sum(crimes) = (SELECT count(*) FROM crimesnap_api.street_crime) AS points_hold_every_mapped_crime
  FROM crimesnap_api.snap_point_crimes;
-- No location, by force and month.
SELECT n.force, n.month, count(*) AS no_location,
       count(*) = (SELECT p.no_location FROM crimesnap_api.published_month p WHERE p.force = n.force AND p.month = n.month) AS as_published
  FROM crimesnap_api.no_location_crime n GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) = (SELECT count(*) FROM crimesnap_api.no_location_crime WHERE force = 'northshire' AND month = '2026-10')
       AS all_of_them FROM crimesnap_api.no_location_crimes('northshire', '2026-10');
SELECT count(*) FROM crimesnap_api.no_location_crimes('northshire', '2026-10', 'no-such-category');

-- ---- totals and trend: records without a location count everywhere ----
SELECT force, month, status, sum(mapped) AS mapped, sum(no_location) AS no_location, sum(crimes) AS crimes,
       sum(crimes) = (SELECT p.crimes FROM crimesnap_api.published_month p WHERE p.force = t.force AND p.month = t.month) AS as_published
  FROM crimesnap_api.month_totals t GROUP BY 1, 2, 3 ORDER BY 1, 2;
SELECT month, count(*) > 0 AS cells, sum(crimes) = (SELECT crimes FROM crimesnap_api.published_month WHERE force = 'northshire' AND month = '2026-09') AS every_record,
       count(*) FILTER (WHERE lsoa_code IS NULL) > 0 AS has_no_location_cells
  FROM crimesnap_api.trend GROUP BY 1;

-- ---- GeoJSON ----
SELECT g->>'type' AS type, json_array_length(g->'features') = (SELECT count(*) FROM crimesnap_api.street_crime WHERE force = 'northshire' AND month = '2026-10') AS every_crime,
       g->'features'->0->'geometry'->>'type' AS geometry,
       (SELECT string_agg(k, ', ' ORDER BY k) FROM json_object_keys(g->'features'->0->'properties') k) AS properties
  FROM crimesnap_api.geojson('northshire', '2026-10') g;
SELECT (SELECT count(*) FROM crimesnap_api.street_crime s
         WHERE s.id = (f->>'id')::bigint AND round(s.longitude::numeric, 6) = (f->'geometry'->'coordinates'->>0)::numeric
           AND round(s.latitude::numeric, 6) = (f->'geometry'->'coordinates'->>1)::numeric) AS at_its_snap_point
  FROM json_array_elements(crimesnap_api.geojson('northshire', '2026-10')->'features') f LIMIT 1;
SELECT json_array_length(crimesnap_api.geojson_area(crimesnap_api.poly_from_text('51.70,-1.27:51.715,-1.27:51.715,-1.25:51.70,-1.25'), '2026-10')->'features')
     = (SELECT count(*) FROM crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text('51.70,-1.27:51.715,-1.27:51.715,-1.25:51.70,-1.25'), '2026-10'))
       AS area_features;
SELECT crimesnap_api.geojson('northshire', '2030-01');

-- ---- the web role: crimesnap_api and nothing else ----
SET ROLE crimesnap_web;
SELECT (SELECT count(*) > 0 FROM crimesnap_api.street_crime) AS street_crime,
       (SELECT count(*) > 0 FROM crimesnap_api.no_location_crime) AS no_location_crime,
       (SELECT count(*) > 0 FROM crimesnap_api.snap_point_crimes) AS snap_point_crimes,
       (SELECT count(*) > 0 FROM crimesnap_api.trend) AS trend,
       (SELECT count(*) > 0 FROM crimesnap_api.police_uk_street_csv) AS csv,
       (SELECT count(*) > 0 FROM crimesnap_api.street_crimes_near(51.7083, -1.2646)) AS near,
       (SELECT count(*) > 0 FROM crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text('51.70,-1.27:51.715,-1.27:51.715,-1.25:51.70,-1.25'))) AS in_area,
       (SELECT json_array_length(crimesnap_api.geojson('northshire', '2026-10')->'features') > 0) AS geojson;
SELECT count(*) FROM crimesnap.published_crime;
SELECT count(*) FROM crimesnap.published_street_crime;
SELECT crimesnap.withdraw_record(1, 'not mine to withdraw');
RESET ROLE;
ROLLBACK;

-- Leave a clean extension for the next file.
