-- police.uk-compatible JSON (section 65), as crimesnap_web calls it: every endpoint's answer
-- compared with data.police.uk's own shape key by key, with the JSON type of every value;
-- the SQLSTATEs an HTTP layer maps to 404 and 400; the CSV file; the vector tiles; the
-- WGS84 columns; street road numbers and place labels.
-- Everything, the town included, runs in one transaction that is rolled back.
--
-- The shapes below are data.police.uk's answers as its documentation shows them (values
-- shortened).  pg_temp.shape() reduces an answer to its keys and value types, so a check
-- fails when a key is missing, extra, renamed, or of another JSON type: a police_uk_crime()
-- that gives latitude as a number and drops location_subtype and outcome_status failed
-- six checks here (the five crime shapes and the six-decimal strings) when tried.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(79);
\o /dev/null
-- A trunk road with no name but a road number, with 14 addresses beside it, before the build.
INSERT INTO crimesnap.street (street_id, name, highway, geom, ref)
VALUES (900001, NULL, 'trunk', ST_SetSRID(ST_MakeLine(ST_MakePoint(450030, 201000), ST_MakePoint(450030, 201900)), 27700), 'A1');
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 900000 + g, NULL, ST_SetSRID(ST_MakePoint(450014, 201020 + g * 40), 27700) FROM generate_series(1, 14) g;
SELECT crimesnap.build_snap_points();
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
-- A crime on the A1, in October.
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing)
VALUES ('northshire', 'NO/A1/1', '49', '2026-10-11', '450031', '201450');
SELECT crimesnap.register_batch('northshire', '2026-10-01', 1, 'Northshire Police', 'Data Team', 'data@police.example', 'Extra');
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23');
SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23');
SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
\o

-- The JSON type skeleton of a document: objects as their sorted keys with the skeleton of
-- each value, arrays as the skeleton of their first element.
CREATE FUNCTION pg_temp.shape(j jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  CASE jsonb_typeof(j)
    WHEN 'object' THEN
      RETURN '{' || coalesce((SELECT string_agg(k || ':' || pg_temp.shape(j -> k), ',' ORDER BY k)
                                FROM jsonb_object_keys(j) k), '') || '}';
    WHEN 'array' THEN
      RETURN '[' || CASE WHEN jsonb_array_length(j) > 0 THEN pg_temp.shape(j -> 0) ELSE '' END || ']';
    ELSE
      RETURN coalesce(jsonb_typeof(j), 'absent');
  END CASE;
END
$$;

-- data.police.uk's answers (https://data.police.uk/docs/).
CREATE TEMP TABLE police_uk (endpoint text PRIMARY KEY, answer jsonb);
INSERT INTO police_uk VALUES
('crimes-street', '[{"category": "anti-social-behaviour", "location_type": "Force",
   "location": {"latitude": "52.640961", "street": {"id": 884343, "name": "On or near Wharf Street North"}, "longitude": "-1.126371"},
   "context": "", "outcome_status": {"category": "Under investigation", "date": "2017-01"},
   "persistent_id": "4d83433f3117b3a4d2c80510c69ea188a145bd7e94f3e98924109e70333ff735", "id": 54164419,
   "location_subtype": "", "month": "2017-01"}]'),
('crimes-street asb', '[{"category": "anti-social-behaviour", "location_type": "Force",
   "location": {"latitude": "52.640961", "street": {"id": 884343, "name": "On or near Wharf Street North"}, "longitude": "-1.126371"},
   "context": "", "outcome_status": null, "persistent_id": "", "id": 54164419, "location_subtype": "", "month": "2017-01"}]'),
('crimes-no-location', '[{"category": "burglary", "location_type": null, "location": null, "context": "",
   "outcome_status": {"category": "Under investigation", "date": "2017-03"},
   "persistent_id": "c5a5a9bd2e4b33e1e3fa4a5e0de7b1c5d2e0b7a0f3c1c7ef7c7f2a5f1c0c1a2b", "id": 56031577,
   "location_subtype": "", "month": "2017-03"}]'),
('crime-last-updated', '{"date": "2017-03-01"}'),
('crime-categories', '[{"url": "all-crime", "name": "All crime"}]'),
('crimes-street-dates', '[{"date": "2017-03", "stop-and-search": ["avon-and-somerset"]}]'),
('forces', '[{"id": "avon-and-somerset", "name": "Avon and Somerset Constabulary"}]'),
('force', '{"description": null, "url": null, "engagement_methods": [], "telephone": null,
   "id": "leicestershire", "name": "Leicestershire Police"}'),
('neighbourhoods', '[{"id": "NC04", "name": "City Centre"}]'),
('neighbourhood-boundary', '[{"latitude": "52.6394052587", "longitude": "-1.1458618876"}]'),
('locate-neighbourhood', '{"force": "metropolitan", "neighbourhood": "00BK17N"}'),
('outcomes-for-crime', '{"outcomes": [{"category": {"code": "under-investigation", "name": "Under investigation"},
   "date": "2013-01", "person_id": null}],
   "crime": {"category": "violent-crime", "persistent_id": "590d68b69228a9ff95b675bb4af591b38de561aa03129dc09a03ef34f537588c",
   "location_subtype": "", "location_type": "Force",
   "location": {"latitude": "52.639814", "street": {"id": 883235, "name": "On or near Sanvey Gate"}, "longitude": "-1.136378"},
   "context": "", "month": "2013-01", "id": 20599642}}');
-- police.uk's force answer has strings where crimesnap keeps no contact details (null and
-- []), and its crimes-street-dates lists forces where crimesnap has no stop and search.
-- Those differences are the documented ones; every key and every other type is police.uk's.

SET LOCAL ROLE crimesnap_web;
CREATE TEMP TABLE answer AS
SELECT 'crimes-street' AS endpoint,
       (SELECT jsonb_agg(e) FROM jsonb_array_elements(crimesnap_api.police_uk_crimes_street(51.7083, -1.2646)::jsonb) e
         WHERE e->>'persistent_id' <> '') AS answer
UNION ALL SELECT 'crimes-street asb',
       (SELECT jsonb_agg(e) FROM jsonb_array_elements(crimesnap_api.police_uk_crimes_street(51.7083, -1.2646)::jsonb) e
         WHERE e->>'persistent_id' = '')
UNION ALL SELECT 'crimes-street poly',
       crimesnap_api.police_uk_crimes_street_poly('51.70,-1.27:51.715,-1.27:51.715,-1.25')::jsonb
UNION ALL SELECT 'crimes-at-location id',
       crimesnap_api.police_uk_crimes_at_location((SELECT street_id FROM crimesnap_api.street_crime WHERE month = '2026-10'
                                                    AND persistent_id IS NOT NULL ORDER BY id LIMIT 1))::jsonb
UNION ALL SELECT 'crimes-at-location lat/lng', crimesnap_api.police_uk_crimes_at_location(51.7083, -1.2646)::jsonb
UNION ALL SELECT 'crimes-no-location',
       (SELECT jsonb_agg(e) FROM jsonb_array_elements(crimesnap_api.police_uk_crimes_no_location('all-crime', 'northshire')::jsonb) e
         WHERE e->>'persistent_id' <> '')
UNION ALL SELECT 'crime-last-updated', crimesnap_api.police_uk_crime_last_updated()::jsonb
UNION ALL SELECT 'crime-categories', crimesnap_api.police_uk_crime_categories('2026-10')::jsonb
UNION ALL SELECT 'crimes-street-dates', crimesnap_api.police_uk_crimes_street_dates()::jsonb
UNION ALL SELECT 'forces', crimesnap_api.police_uk_forces()::jsonb
UNION ALL SELECT 'force', crimesnap_api.police_uk_force('northshire')::jsonb
UNION ALL SELECT 'neighbourhoods', crimesnap_api.police_uk_neighbourhoods('northshire')::jsonb
UNION ALL SELECT 'neighbourhood-boundary', crimesnap_api.police_uk_neighbourhood_boundary('northshire', 'NS-W')::jsonb
UNION ALL SELECT 'locate-neighbourhood', crimesnap_api.police_uk_locate_neighbourhood('51.7083,-1.2646')::jsonb
UNION ALL SELECT 'outcomes-for-crime',
       crimesnap_api.police_uk_outcomes_for_crime((SELECT s.persistent_id FROM crimesnap_api.street_crime s
                                                    WHERE EXISTS (SELECT FROM crimesnap_api.crime_outcome o WHERE o.persistent_id = s.persistent_id)
                                                    ORDER BY s.id LIMIT 1))::jsonb;
RESET ROLE;

-- ---- shapes, key by key with their types ----
SELECT is(pg_temp.shape(a.answer), pg_temp.shape(p.answer), format('%s: police.uk''s shape', a.endpoint))
  FROM answer a JOIN police_uk p ON p.endpoint = a.endpoint
 WHERE a.endpoint NOT IN ('crimes-street-dates')
 ORDER BY a.endpoint;
SELECT is(pg_temp.shape(a.answer), pg_temp.shape(p.answer), format('%s: police.uk''s shape', a.endpoint))
  FROM answer a JOIN police_uk p ON p.endpoint = 'crimes-street'
 WHERE a.endpoint IN ('crimes-street poly', 'crimes-at-location id', 'crimes-at-location lat/lng')
 ORDER BY a.endpoint;
SELECT is(pg_temp.shape(a.answer), '[{date:string,stop-and-search:[]}]', 'crimes-street-dates: police.uk''s keys; stop-and-search empty')
  FROM answer a WHERE a.endpoint = 'crimes-street-dates';
SELECT ok(jsonb_array_length(a.answer) > 0, format('%s: not empty', a.endpoint))
  FROM answer a WHERE jsonb_typeof(a.answer) = 'array' ORDER BY a.endpoint;

-- ---- values as police.uk writes them ----
SELECT is((SELECT count(*) FROM answer a, jsonb_array_elements(a.answer) e
            WHERE a.endpoint LIKE 'crimes-street%'
              AND NOT (e->'location'->>'latitude' ~ '^-?[0-9]+\.[0-9]{6}$' AND e->'location'->>'longitude' ~ '^-?[0-9]+\.[0-9]{6}$')),
  0::bigint, 'latitude and longitude are strings with exactly six decimals');
SELECT is((SELECT count(*) FROM answer a, jsonb_array_elements(a.answer) e
            WHERE a.endpoint LIKE 'crimes-street%' AND (e->>'location_type' <> 'Force' OR e->>'location_subtype' <> '')),
  0::bigint, 'location_type is "Force", location_subtype ""');
SELECT is((SELECT count(*) FROM answer a, jsonb_array_elements(a.answer) e
            WHERE a.endpoint = 'crimes-street asb' AND (e->>'category' <> 'anti-social-behaviour' OR e->'outcome_status' <> 'null')),
  0::bigint, 'ASB has "" for persistent_id and a null outcome_status');
SELECT is((SELECT count(*) FROM answer a, jsonb_array_elements(a.answer) e
            WHERE a.endpoint LIKE 'crimes-street%' AND e->>'month' <> '2026-10'),
  0::bigint, 'a NULL date is the newest month on the map');
SELECT is((SELECT e->'location'->'street'->>'name' FROM answer a, jsonb_array_elements(a.answer) e
            WHERE a.endpoint = 'crimes-street' LIMIT 1) LIKE 'On or near %', true, 'the street is "On or near ..."');
SELECT is((SELECT (a.answer->>'date') FROM answer a WHERE a.endpoint = 'crime-last-updated'), '2026-10-01',
  'crime-last-updated gives the newest month''s first day');
SELECT is((SELECT array_agg(e->>'date' ORDER BY o) FROM answer a, jsonb_array_elements(a.answer) WITH ORDINALITY x(e, o)
            WHERE a.endpoint = 'crimes-street-dates'), ARRAY['2026-10', '2026-09'], 'crimes-street-dates lists the months on the map, newest first');
SELECT is((SELECT a.answer->0 FROM answer a WHERE a.endpoint = 'crime-categories'), '{"url": "all-crime", "name": "All crime"}'::jsonb,
  'crime-categories starts with all-crime');
SELECT is((SELECT a.answer FROM answer a WHERE a.endpoint = 'locate-neighbourhood'), '{"force": "northshire", "neighbourhood": "NS-W"}'::jsonb,
  'locate-neighbourhood finds the neighbourhood containing the point');
SELECT is((SELECT count(*) FROM answer a, jsonb_array_elements(a.answer) e WHERE a.endpoint = 'neighbourhood-boundary'), 5::bigint,
  'the boundary is the neighbourhood''s ring, no finer');
SELECT is((SELECT count(DISTINCT e->'location'->'street'->>'id') FROM answer a, jsonb_array_elements(a.answer) e
            WHERE a.endpoint = 'crimes-at-location lat/lng'), 1::bigint, 'crimes-at-location by lat/lng answers for one location');
SELECT is((SELECT (e->'location'->'street'->>'id')::bigint FROM answer a, jsonb_array_elements(a.answer) e
            WHERE a.endpoint = 'crimes-at-location lat/lng' LIMIT 1),
          (SELECT c.street_id FROM crimesnap_api.catchment c
            WHERE ST_Intersects(c.geom, ST_Transform(ST_SetSRID(ST_MakePoint(-1.2646, 51.7083), 4326), 27700))),
  'the nearest location, whose catchment holds the point');
SELECT is(jsonb_array_length(crimesnap_api.police_uk_crimes_street(51.7083, -1.2646, '2026-10', 'burglary')::jsonb),
          (SELECT count(*)::integer FROM crimesnap_api.street_crimes_near(51.7083, -1.2646, '2026-10', 'burglary')),
  'a category filters as street_crimes_near does');
SELECT is(jsonb_array_length(crimesnap_api.police_uk_crimes_no_location('all-crime', 'northshire', '2026-10')::jsonb),
          (SELECT count(*)::integer FROM crimesnap_api.no_location_crime WHERE force = 'northshire' AND month = '2026-10'),
  'crimes-no-location answers every record of the month without a location');

-- ---- errors an HTTP layer maps to 404 and 400 ----
SET LOCAL ROLE crimesnap_web;
SELECT throws_ok($$SELECT crimesnap_api.police_uk_force('no-such-force')$$, 'P0002', NULL, 'unknown force: P0002 (404)');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_neighbourhoods('no-such-force')$$, 'P0002', NULL, 'neighbourhoods of an unknown force: P0002');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_neighbourhood_boundary('northshire', 'SS-W')$$, 'P0002', NULL,
  'another force''s neighbourhood: P0002');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_crimes_no_location('all-crime', 'no-such-force')$$, 'P0002', NULL, 'no-location crimes of an unknown force: P0002');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_crimes_street(51.7083, -1.2646, '2019-06')$$, 'P0002', NULL, 'a month not on the map: P0002');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_crimes_at_location(999999999)$$, 'P0002', NULL, 'an unknown location id: P0002');
SET LOCAL ROLE crimesnap_web;
SELECT throws_ok($$SELECT crimesnap_api.police_uk_outcomes_for_crime('no-such-id')$$, 'P0002', NULL,
                 'outcomes-for-crime of an id on no record on the map: P0002');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_outcomes_for_crime('')$$, 'P0002', NULL,
                 'nor of anti-social behaviour, which has no persistent id ("" in the JSON)');
RESET ROLE;
SELECT is((SELECT jsonb_agg(jsonb_build_object('code', e->'category'->>'code', 'name', e->'category'->>'name', 'date', e->>'date'))
             FROM answer a, jsonb_array_elements(a.answer->'outcomes') e WHERE a.endpoint = 'outcomes-for-crime'),
          (SELECT jsonb_agg(jsonb_build_object('code', o.code, 'name', o.name, 'date', o.date) ORDER BY o.date, o.code)
             FROM crimesnap_api.crime_outcome o, answer a
            WHERE a.endpoint = 'outcomes-for-crime' AND o.persistent_id = a.answer->'crime'->>'persistent_id'),
          'outcomes-for-crime lists the record''s published outcomes, oldest first');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_locate_neighbourhood('55.0,-3.0')$$, 'P0002', NULL, 'a point outside every force: P0002');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_crimes_street(51.7083, -1.2646, 'June')$$, '22007', NULL, 'a malformed date: 22007 (400)');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_crimes_street(51.7083, -1.2646, NULL, 'jaywalking')$$, '22023', NULL, 'an unknown category: 22023 (400)');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_crimes_street(151.7, -1.2646)$$, '22023', NULL, 'a latitude out of range: 22023');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_crimes_street_poly('51.70;-1.27')$$, '22P02', NULL, 'a malformed poly: 22P02 (400)');
SELECT throws_ok($$SELECT crimesnap_api.police_uk_locate_neighbourhood('here')$$, '22P02', NULL, 'a malformed q: 22P02');
SELECT throws_ok($$SELECT crimesnap_api.tile(14, 16384, 0)$$, '22023', NULL, 'a tile that does not exist: 22023');
RESET ROLE;

-- ---- the CSV file: six decimals with their zeros, CRLF ----
SELECT ok((SELECT bool_and("Longitude" ~ '^-?[0-9]+\.[0-9]{6}$' AND "Latitude" ~ '^-?[0-9]+\.[0-9]{6}$')
             FROM crimesnap_api.police_uk_csv('northshire', '2026-10') WHERE "Longitude" IS NOT NULL),
  'the CSV''s coordinates have six decimals, trailing zeros kept');
SELECT is((SELECT count(*) FROM regexp_matches(crimesnap_api.police_uk_csv_file('northshire', '2026-10'), E'\r\n', 'g')),
          (SELECT count(*) + 1 FROM crimesnap_api.police_uk_csv('northshire', '2026-10')),
  'the CSV file ends every line, header included, with CRLF');
SELECT is((SELECT count(*) FROM regexp_matches(crimesnap_api.police_uk_csv_file('northshire', '2026-10', crlf => false), E'\r', 'g')),
  0::bigint, 'and with LF only when asked');
SELECT is(split_part(crimesnap_api.police_uk_csv_file('northshire', '2026-10'), E'\r\n', 1),
  'Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context',
  'the file starts with police.uk''s header');
SELECT is(crimesnap_api.csv_field('Part of a "series", near'), '"Part of a ""series"", near"', 'a field with a comma and quotes is quoted as COPY does');

-- ---- GeoJSON and WGS84 columns ----
SELECT is((SELECT count(*) FROM json_array_elements(crimesnap_api.geojson('northshire', '2026-10')->'features') f
            WHERE (f->'geometry'->'coordinates'->>0) !~ '^-?[0-9]+\.[0-9]{6}$'), 0::bigint,
  'GeoJSON coordinates are rounded to six decimals (RFC 7946)');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime
            WHERE ST_SRID(geom_wgs84) <> 4326 OR ST_X(geom_wgs84) <> longitude OR ST_Y(geom_wgs84) <> latitude), 0::bigint,
  'street_crime.geom_wgs84 is the published longitude and latitude in EPSG:4326');
SELECT is((SELECT srid FROM geometry_columns WHERE f_table_schema = 'crimesnap_api' AND f_table_name = 'street_crime'
              AND f_geometry_column = 'geom_wgs84'), 4326, 'and geometry_columns says so, for ogr2ogr and QGIS');
SELECT is((SELECT count(*) FROM crimesnap_api.snap_point_crimes WHERE ST_SRID(geom_wgs84) <> 4326 OR ST_X(geom_wgs84) <> longitude), 0::bigint,
  'so does snap_point_crimes.geom_wgs84');

-- ---- road numbers and place labels ----
SELECT ok((SELECT count(*) FROM crimesnap_api.street_crime c JOIN crimesnap.raw_crime r ON r.persistent_id = c.persistent_id
            WHERE c.street_name = 'On or near A1' AND r.crime_ref = 'NO/A1/1') = 1,
  'a road with no name but a ref carries a point, published "On or near A1"');
SELECT is(crimesnap.location_label_problem('Ferry Terminal'), NULL, 'Ferry Terminal is a police.uk place label');
SELECT is(crimesnap.location_label_problem('A1'), NULL, 'a loaded road number is a label that may be published');
SELECT isnt(crimesnap.location_label_problem('B9999'), NULL, 'one not loaded is not');

-- ---- vector tiles ----
SELECT 14 AS z, floor((ST_X(c) + 20037508.342789244) / (40075016.68557849 / 16384))::integer AS x,
       floor((20037508.342789244 - ST_Y(c)) / (40075016.68557849 / 16384))::integer AS y
  FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(-1.2646, 51.7083), 4326), 3857) AS c) p \gset tile_
SET LOCAL ROLE crimesnap_web;
SELECT ok(length(t) > 0 AND position('crimes'::bytea IN t) > 0 AND position('street_name'::bytea IN t) > 0,
          'a z14 tile over the town is an MVT layer "crimes" with street names')
  FROM crimesnap_api.tile(:tile_z, :tile_x, :tile_y) t;
SELECT is(crimesnap_api.tile(14, 0, 0), ''::bytea, 'a tile far away is empty');
SELECT is(crimesnap_api.tile(:tile_z, :tile_x, :tile_y, '2019-06'), ''::bytea, 'and so is a month with nothing on the map');
RESET ROLE;
-- The tile's points are the month's snap points with crimes inside it: compare the
-- street ids the tile carries (MVT feature ids) with those the API view places in it.
SELECT is((SELECT count(*) FROM crimesnap_api.snap_point_crimes s
            WHERE s.month = '2026-10' AND ST_Intersects(ST_Transform(s.geom_wgs84, 3857), ST_TileEnvelope(:tile_z, :tile_x, :tile_y))) > 0,
  true, 'the town''s tile has snap points with crimes');
-- What the tile carries is what the API view counts: every snap point with crimes in the
-- tile's box, its total and its counts by category.
CREATE TEMP TABLE tile_box AS
SELECT ST_Transform(ST_TileEnvelope(:tile_z, :tile_x, :tile_y, margin => 0.015625::float8), 27700) AS area;
SELECT is((SELECT count(*) FROM (
             SELECT street_id, crimes::bigint, by_category FROM crimesnap.tile_features(:tile_z, :tile_x, :tile_y, '2026-10-01')
             EXCEPT
             SELECT s.street_id, s.crimes, s.by_category FROM crimesnap_api.snap_point_crimes s, tile_box b
              WHERE s.month = '2026-10' AND s.geom && b.area) x), 0::bigint,
  'every feature of the tile is a snap point of the API view with the same counts');
SELECT is((SELECT count(*) FROM (
             SELECT s.street_id, s.crimes, s.by_category FROM crimesnap_api.snap_point_crimes s, tile_box b
              WHERE s.month = '2026-10' AND s.geom && b.area
             EXCEPT
             SELECT street_id, crimes::bigint, by_category FROM crimesnap.tile_features(:tile_z, :tile_x, :tile_y, '2026-10-01')) x), 0::bigint,
  'and every such point is in the tile');
SELECT ok((SELECT count(*) FROM crimesnap.tile_features(:tile_z, :tile_x, :tile_y, '2026-10-01')) > 3, 'which has several');

-- ---- the per-crime JSON is inlined, not called per row ----
-- A call per crime of a SQL function with a SET clause cost half of a 1-mile search on the
-- national bench (docs/benchmarks.md).  The plan of a crimes-street query shows
-- json_build_object in place of the call; with `SET search_path` put back on
-- police_uk_crime() (as it was), both checks failed: the plan names the function.
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
    plan := plan || line || E'\n';
  END LOOP;
  RETURN plan;
END
$$;
SELECT ok(pg_temp.plan_of($$SELECT pg_catalog.json_agg(crimesnap_api.police_uk_crime(c)) FROM crimesnap_api.street_crime c$$)
          !~ 'police_uk_(crime|coordinate)\(',
  'police_uk_crime() and police_uk_coordinate() of a street crime are inlined into the query');
SELECT ok(pg_temp.plan_of($$SELECT pg_catalog.json_agg(crimesnap_api.police_uk_crime(c)) FROM crimesnap_api.no_location_crime c$$)
          !~ 'police_uk_crime\(',
  'and police_uk_crime() of a crime without a location');
-- Without a pinned search_path, they must mean the same under any: a caller's schema with
-- a type named text, searched before pg_catalog, changes nothing.  (numeric is a keyword of
-- the grammar, always pg_catalog's; text is not.)  With the cast written ::text, as it was,
-- this failed: the value went through the impostor domain.
CREATE SCHEMA evil;
CREATE DOMAIN evil.text AS varchar(2);
SET LOCAL search_path = evil, pg_catalog, public;
CREATE TEMP TABLE under_evil AS SELECT crimesnap_api.police_uk_coordinate(51.1234567::float8)::varchar AS v;
RESET search_path;
SELECT is((SELECT v FROM under_evil), '51.123457',
  'police_uk_coordinate() is the same under a search_path with an impostor text type first');

SELECT * FROM finish();
ROLLBACK;
