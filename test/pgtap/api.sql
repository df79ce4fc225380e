-- The web contract: what crimesnap_web can and cannot read, that no output carries a raw
-- coordinate or a reference number, that the views hold even against a caller's leaky
-- function, police.uk's 10,000-row cap, the CSV header and the GeoJSON.
-- Everything, the town included, runs in one transaction that is rolled back.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(51);
\o /dev/null
SELECT crimesnap.build_snap_points();
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23');
SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23');
SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
\o

-- ---- the contract's objects ----
SELECT set_eq($$SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'crimesnap_api'$$,
  ARRAY['street_crime', 'no_location_crime', 'category', 'published_month', 'last_updated', 'snap_point_crimes', 'trend',
        'month_totals', 'police_uk_street_csv', 'catchment', 'force', 'neighbourhood', 'lsoa_month_counts', 'lsoa_trend',
        'outcome_category', 'crime_outcome'],   -- the last two: test/pgtap/outcomes.sql
  'crimesnap_api holds exactly the views this file and outcomes.sql check');
SELECT set_eq($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'crimesnap_api'$$,
  ARRAY['crimesnap_api.parse_month(text)', 'crimesnap_api.poly_from_text(text)',
        'crimesnap_api.street_crimes_near(double precision,double precision,text,text)',
        'crimesnap_api.street_crimes_in_area(geometry,text,text)', 'crimesnap_api.street_crimes_at(bigint,text)',
        'crimesnap_api.no_location_crimes(text,text,text)', 'crimesnap_api.categories(text)',
        'crimesnap_api.police_uk_csv(text,text)', 'crimesnap_api.feature_collection(crimesnap_api.street_crime[])',
        'crimesnap_api.geojson(text,text)', 'crimesnap_api.geojson_area(geometry,text)',
        -- section 65, checked by test/pgtap/police_uk.sql
        'crimesnap_api.police_uk_month(text)', 'crimesnap_api.police_uk_category(text,text)',
        'crimesnap_api.police_uk_coordinate(double precision)', 'crimesnap_api.police_uk_crime(crimesnap_api.street_crime)',
        'crimesnap_api.police_uk_crime(crimesnap_api.no_location_crime)',
        'crimesnap_api.police_uk_crimes_street(double precision,double precision,text,text)',
        'crimesnap_api.police_uk_crimes_street_poly(text,text,text)',
        'crimesnap_api.police_uk_crimes_at_location(bigint,text)',
        'crimesnap_api.police_uk_crimes_at_location(double precision,double precision,text)',
        'crimesnap_api.police_uk_crimes_no_location(text,text,text)', 'crimesnap_api.police_uk_crime_last_updated()',
        'crimesnap_api.police_uk_crime_categories(text)', 'crimesnap_api.police_uk_crimes_street_dates()',
        'crimesnap_api.police_uk_forces()', 'crimesnap_api.police_uk_check_force(text)', 'crimesnap_api.police_uk_force(text)',
        'crimesnap_api.police_uk_neighbourhoods(text)', 'crimesnap_api.police_uk_neighbourhood_boundary(text,text)', 'crimesnap_api.police_uk_outcomes_for_crime(text)',
        'crimesnap_api.police_uk_locate_neighbourhood(text)', 'crimesnap_api.csv_field(text)',
        'crimesnap_api.police_uk_csv_file(text,text,boolean)', 'crimesnap_api.tile(integer,integer,integer,text)',
        -- section 67, checked by test/pgtap/map.sql
        'crimesnap_api.svg_view_box(box2d)', 'crimesnap_api.map_svg(text,text,integer)', 'crimesnap_api.map_radius(bigint)',
        -- section 70, checked by test/pgtap/partner.sql
        'crimesnap_api.grid_counts(text,text,integer,text)'],
  'and exactly the functions');

-- ---- what the web role may read ----
SELECT ok(NOT has_schema_privilege('crimesnap_web', 'crimesnap', 'USAGE'), 'crimesnap_web has no access to the crimesnap schema');
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('crimesnap_api', 'pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
              AND c.relkind IN ('r', 'v', 'm', 'p') AND n.nspname LIKE 'crimesnap%'
              AND has_table_privilege('crimesnap_web', c.oid, 'SELECT')), 0::bigint,
  'nor to any crimesnap table or view');
SELECT ok(bool_and(has_table_privilege('crimesnap_web', c.oid, 'SELECT')), 'it reads every crimesnap_api view')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'crimesnap_api';
SELECT ok(bool_and(has_function_privilege('crimesnap_web', p.oid, 'EXECUTE')), 'and calls every crimesnap_api function')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'crimesnap_api';
SELECT ok(bool_and(NOT has_table_privilege('crimesnap_web', c.oid, 'INSERT') AND NOT has_table_privilege('crimesnap_web', c.oid, 'UPDATE')
                   AND NOT has_table_privilege('crimesnap_web', c.oid, 'DELETE')), 'but writes to none')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'crimesnap_api';
SELECT ok(bool_and(p.prosecdef = (p.proname IN ('street_crimes_near', 'street_crimes_in_area', 'police_uk_crimes_at_location', 'tile',
                                                'map_svg', 'grid_counts'))),
  'only the spatial searches (near a point, in an area, the nearest location, a tile), the map (street centrelines) and the grid counts (which count addresses) run as the definer')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'crimesnap_api';

SET LOCAL ROLE crimesnap_web;
SELECT lives_ok(format('SELECT count(*) FROM crimesnap_api.%I', c), format('the web role reads crimesnap_api.%s', c))
  FROM unnest(ARRAY['street_crime', 'no_location_crime', 'category', 'published_month', 'last_updated', 'snap_point_crimes',
                    'trend', 'month_totals', 'police_uk_street_csv']) c;
SELECT lives_ok(q, format('the web role calls %s', split_part(q, '(', 1)))
  FROM unnest(ARRAY[
    $$SELECT count(*) FROM crimesnap_api.street_crimes_near(51.7083, -1.2646, '2026-10', 'all-crime')$$,
    $$SELECT count(*) FROM crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text('51.70,-1.27:51.715,-1.27:51.715,-1.25'))$$,
    $$SELECT count(*) FROM crimesnap_api.street_crimes_at(1)$$,
    $$SELECT count(*) FROM crimesnap_api.no_location_crimes('northshire', '2026-10')$$,
    $$SELECT count(*) FROM crimesnap_api.categories('2026-10')$$,
    $$SELECT count(*) FROM crimesnap_api.police_uk_csv('northshire', '2026-10')$$,
    $$SELECT crimesnap_api.geojson('northshire', '2026-10')$$,
    $$SELECT crimesnap_api.geojson_area(crimesnap_api.poly_from_text('51.70,-1.27:51.715,-1.27:51.715,-1.25'), '2026-10')$$]) q;
SELECT throws_ok($$SELECT count(*) FROM crimesnap.published_crime$$, '42501', NULL, 'the web role cannot read published rows directly');
SELECT throws_ok($$SELECT count(*) FROM crimesnap.raw_crime$$, '42501', NULL, 'nor raw records');
SELECT throws_ok($$SELECT crimesnap.withdraw_record(1, 'x')$$, '42501', NULL, 'nor withdraw anything');

-- A security barrier: a function the caller writes sees only the rows the view returns,
-- never the no-location rows or rolled-off months underneath.
CREATE TEMP TABLE seen (v text);
CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
  INSERT INTO pg_temp.seen VALUES ($1);
  RETURN true;
END
$$;
SELECT count(*) FROM crimesnap_api.street_crime WHERE pg_temp.leak(persistent_id) \g /dev/null
SELECT count(*) FROM crimesnap_api.no_location_crime WHERE pg_temp.leak(persistent_id) AND month = '2026-10' \g /dev/null
RESET ROLE;
SELECT is((SELECT count(*) FROM seen s WHERE s.v IN (SELECT persistent_id FROM crimesnap.published_crime WHERE point_id IS NULL)
                                           AND s.v NOT IN (SELECT persistent_id FROM crimesnap_api.no_location_crime WHERE month = '2026-10' AND persistent_id IS NOT NULL)),
  0::bigint, 'a leaky function on street_crime never sees a no-location row');
SELECT is((SELECT count(*) FROM seen s WHERE s.v IN (SELECT persistent_id FROM crimesnap_api.no_location_crime WHERE month = '2026-09')), 0::bigint,
  'a leaky function on one month of no_location_crime never sees another month''s rows');

-- ---- no output carries a raw coordinate or a reference number ----
-- Every coordinate pair any output publishes, with where it came from.
CREATE TEMP TABLE published_point AS
SELECT 'street_crime' AS source, longitude AS lon, latitude AS lat, geom FROM crimesnap_api.street_crime
UNION ALL SELECT 'snap_point_crimes', longitude, latitude, geom FROM crimesnap_api.snap_point_crimes
UNION ALL SELECT 'catchment', longitude, latitude, NULL FROM crimesnap_api.catchment
UNION ALL SELECT 'police_uk_street_csv', "Longitude"::float8, "Latitude"::float8, NULL FROM crimesnap_api.police_uk_street_csv WHERE "Longitude" IS NOT NULL
UNION ALL SELECT 'street_crimes_near', longitude, latitude, geom FROM crimesnap_api.street_crimes_near(51.7083, -1.2646)
UNION ALL SELECT 'street_crimes_in_area', longitude, latitude, geom
            FROM crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text('51.69,-1.29:51.73,-1.29:51.73,-1.22:51.69,-1.22'))
UNION ALL SELECT 'street_crimes_at', s.longitude, s.latitude, s.geom
            FROM (SELECT DISTINCT street_id FROM crimesnap_api.street_crime) p, crimesnap_api.street_crimes_at(p.street_id) s
UNION ALL SELECT 'geojson', (f->'geometry'->'coordinates'->>0)::float8, (f->'geometry'->'coordinates'->>1)::float8, NULL
            FROM unnest(ARRAY['northshire', 'southshire']) fo, unnest(ARRAY['2026-09', '2026-10']) mo,
                 json_array_elements(crimesnap_api.geojson(fo, mo)->'features') f
UNION ALL SELECT 'geojson_area', (f->'geometry'->'coordinates'->>0)::float8, (f->'geometry'->'coordinates'->>1)::float8, NULL
            FROM json_array_elements(crimesnap_api.geojson_area(crimesnap_api.poly_from_text('51.69,-1.29:51.73,-1.29:51.73,-1.22:51.69,-1.22'))->'features') f;
CREATE TEMP TABLE raw_point AS
SELECT geom, ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat FROM crimesnap.raw_crime WHERE geom IS NOT NULL;
SELECT set_eq($$SELECT DISTINCT source FROM published_point$$,
  ARRAY['street_crime', 'snap_point_crimes', 'catchment', 'police_uk_street_csv', 'street_crimes_near',
        'street_crimes_in_area', 'street_crimes_at', 'geojson', 'geojson_area'],
  'every output with coordinates is checked, and each has some');
SELECT is((SELECT count(*) FROM crimesnap_api.catchment WHERE GeometryType(geom) NOT IN ('POLYGON', 'MULTIPOLYGON')), 0::bigint,
  'the catchment view''s geometry is an area, never a point');
SELECT is((SELECT count(*) FROM (
             SELECT c.oid::regclass::text, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'crimesnap_api' AND a.attnum > 0
                AND (a.attname ~* '(^|_)(lat|latitude|lon|lng|longitude|geom|geometry|easting|northing|x|y|coordinates?)($|_)'
                     OR a.atttypid = 'geometry'::regtype)
             EXCEPT VALUES ('crimesnap_api.street_crime', 'latitude'), ('crimesnap_api.street_crime', 'longitude'),
                           ('crimesnap_api.street_crime', 'geom'), ('crimesnap_api.snap_point_crimes', 'latitude'),
                           ('crimesnap_api.snap_point_crimes', 'longitude'), ('crimesnap_api.snap_point_crimes', 'geom'),
                           ('crimesnap_api.police_uk_street_csv', 'Longitude'), ('crimesnap_api.police_uk_street_csv', 'Latitude'),
                           ('crimesnap_api.catchment', 'latitude'), ('crimesnap_api.catchment', 'longitude'),
                           ('crimesnap_api.catchment', 'geom'),
                           ('crimesnap_api.street_crime', 'geom_wgs84'), ('crimesnap_api.snap_point_crimes', 'geom_wgs84'),
                           ('crimesnap_api.neighbourhood', 'geom'), ('crimesnap_api.neighbourhood', 'geom_wgs84'),
                           ('crimesnap_api.lsoa_month_counts', 'geom'), ('crimesnap_api.lsoa_month_counts', 'geom_wgs84')) x), 0::bigint,
  'no view has a coordinate column this file does not check');
SELECT is((SELECT count(*) FROM published_point p
            WHERE NOT EXISTS (SELECT FROM crimesnap.snap_point s
                               WHERE abs(s.longitude - p.lon) < 1e-6 AND abs(s.latitude - p.lat) < 1e-6
                                 AND (p.geom IS NULL OR ST_Equals(s.geom, p.geom)))), 0::bigint,
  'every coordinate published is a snap point''s');
SELECT is((SELECT count(*) FROM published_point p JOIN raw_point r
             ON abs(r.lon - p.lon) < 1e-6 AND abs(r.lat - p.lat) < 1e-6), 0::bigint,
  'no published longitude and latitude is a raw location''s');
SELECT is((SELECT count(*) FROM published_point p JOIN raw_point r ON p.geom IS NOT NULL AND ST_DWithin(r.geom, p.geom, 0.05)), 0::bigint,
  'no published geometry is a raw location');
-- Every value of every view, as text: no reference number, no raw easting or northing as uploaded.
CREATE FUNCTION pg_temp.api_text() RETURNS TABLE (relation text, doc text) LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'crimesnap_api' LOOP
    RETURN QUERY EXECUTE format('SELECT %L, to_jsonb(x)::text FROM crimesnap_api.%I x', r.relname, r.relname);
  END LOOP;
  RETURN QUERY SELECT 'geojson', crimesnap_api.geojson(f, m)::text
                 FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09', '2026-10']) m;
  RETURN QUERY SELECT 'categories', to_jsonb(c)::text FROM crimesnap_api.categories('2026-10') c;
END
$$;
CREATE TEMP TABLE api_doc AS SELECT * FROM pg_temp.api_text();
SELECT ok((SELECT count(DISTINCT relation) FROM api_doc) >= 9, 'the text of every view is checked');
SELECT is((SELECT count(*) FROM api_doc d JOIN crimesnap.raw_crime r ON strpos(d.doc, r.crime_ref) > 0), 0::bigint,
  'no output holds a reference number');
SELECT is((SELECT count(*) FROM api_doc d JOIN crimesnap.raw_crime r ON r.geom IS NOT NULL
             AND strpos(d.doc, round(ST_X(r.geom)::numeric, 1)::text) > 0 AND strpos(d.doc, round(ST_Y(r.geom)::numeric, 1)::text) > 0), 0::bigint,
  'no output holds a raw easting and northing');

-- ---- police.uk's cap: 10,000 rows, and a clear error past it ----
\o /dev/null
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing)
SELECT 'southshire', 'SO/BULK/' || g, CASE WHEN g % 10 = 0 THEN '28A' ELSE '49' END, '2026-08-15',
       (451000 + (g % 900))::text, (200200 + (g % 600) * 0.5)::text
  FROM generate_series(1, 10001) g;
SELECT crimesnap.register_batch('southshire', '2026-08-01', 10001, 'Southshire Constabulary', 'Data Team', 'data@police.example', 'Bulk');
-- A month already over (a reference date later than today is refused), kept on the map
-- beside September.
SET LOCAL crimesnap.street_level_months = 3;
SELECT * FROM crimesnap.publish_month('southshire', '2026-08-01', '2026-09-23');
\o
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE force = 'southshire' AND month = '2026-08'),
  10001::bigint, 'a month with 10,001 crimes in a small area is published');
SELECT throws_ok($$SELECT count(*) FROM crimesnap_api.street_crimes_in_area(ST_MakeEnvelope(450900, 200100, 452000, 200600, 27700), '2026-08')$$,
  '54000', 'more than 10000 crimes are in the area', 'an area with more than 10,000 crimes is an error');
SELECT throws_ok($$SELECT count(*) FROM crimesnap_api.street_crimes_near(51.7050, -1.2640, '2026-08')$$,
  '54000', NULL, 'so is a point with more than 10,000 crimes within a mile');
SELECT throws_ok($$SELECT crimesnap_api.geojson_area(ST_MakeEnvelope(450900, 200100, 452000, 200600, 27700), '2026-08')$$,
  '54000', NULL, 'and the GeoJSON of that area');
SELECT crimesnap.withdraw(persistent_id, 'Bulk test: bring the area to exactly 10,000') FROM crimesnap.raw_crime WHERE crime_ref = 'SO/BULK/1' \g /dev/null
SELECT is((SELECT count(*) FROM crimesnap_api.street_crimes_in_area(ST_MakeEnvelope(450900, 200100, 452000, 200600, 27700), '2026-08')),
  10000::bigint, 'exactly 10,000 is returned');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crimes_in_area(ST_MakeEnvelope(450900, 200100, 452000, 200600, 27700), '2026-08', 'burglary')), 1000::bigint,
  'and one category of the crowded area is fine');

-- ---- the CSV header, byte for byte ----
SELECT results_eq(
  $$SELECT a COLLATE "default" FROM pg_proc, unnest(proargnames[3:]) a WHERE pg_proc.oid = 'crimesnap_api.police_uk_csv(text, text)'::regprocedure$$,
  $$VALUES ('Crime ID'), ('Month'), ('Reported by'), ('Falls within'), ('Longitude'), ('Latitude'), ('Location'),
           ('LSOA code'), ('LSOA name'), ('Crime type'), ('Last outcome category'), ('Context')$$,
  'the export''s columns are police.uk''s, in police.uk''s order');
\set csv_file `mktemp`
\o :csv_file
COPY (SELECT * FROM crimesnap_api.police_uk_csv('northshire', '2026-10')) TO STDOUT WITH (FORMAT csv, HEADER);
\o
\set csv_header `sed -n 1p :'csv_file'`
\set csv_lines `wc -l < :'csv_file'`
SELECT is(:'csv_header'::text, 'Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context',
  'the CSV a DBA copies out starts with police.uk''s header, byte for byte');
SELECT is(:csv_lines - 1, (SELECT crimes::integer FROM crimesnap.publication WHERE force_id = 'northshire' AND month = '2026-10-01'),
  'and holds one line per record of the month');
\set police_uk_file `f="${CRIMESNAP_FITZROVIA:-../shared/data/fitzrovia}/camden_2019-06_bbox_policeuk_format.csv"; if [ -f "$f" ]; then sed -n 1p "$f"; fi`
SELECT CASE WHEN :'police_uk_file' = '' THEN skip('data.police.uk sample not found: set CRIMESNAP_FITZROVIA to ../shared/data/fitzrovia', 1)
            ELSE is(:'csv_header' || ',Street ID', :'police_uk_file'::text, 'the header matches data.police.uk''s file (which adds Street ID at the end)') END;
\set csv_cleanup `rm -f :'csv_file'`

-- ---- GeoJSON ----
SELECT is((SELECT g->>'type' FROM crimesnap_api.geojson('northshire', '2026-10') g), 'FeatureCollection', 'geojson() gives a FeatureCollection');
SELECT is((SELECT count(*) FROM json_array_elements(crimesnap_api.geojson('northshire', '2026-10')->'features') f
            WHERE ST_SRID(ST_GeomFromGeoJSON(f->>'geometry')) = 4326 AND f->>'type' = 'Feature'),
          (SELECT count(*) FROM crimesnap_api.street_crime WHERE force = 'northshire' AND month = '2026-10'),
  'of valid WGS84 point features, one per crime on the map');

SELECT * FROM finish();
ROLLBACK;

