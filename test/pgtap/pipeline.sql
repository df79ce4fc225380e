-- The monthly job end to end on the generated town, and the privacy properties it promises:
-- the 12-address threshold, no snapping across a neighbourhood boundary, nothing raw in
-- crimesnap_api, and an atomic roll-off.  Each property is checked by an independent query
-- (plain PostGIS, not crimesnap's own functions), and each check is shown to fail on data
-- that breaks the property, so that none of them can pass vacuously.
BEGIN;
SELECT plan(29);
SET client_min_messages = warning;

\ir ../fixtures/town.sql
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, '2026-09-01') FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null

-- ---------------------------------------------------------------------------------------
-- Independent checks.

-- Catchments by brute force: each address to its nearest point of the set inside the
-- neighbourhood that contains it (lowest id on a shared edge), exact ties to the lowest id.
CREATE FUNCTION pg_temp.catchment_violations(v integer, k integer) RETURNS bigint
LANGUAGE sql AS $$
  WITH addr_nb AS (
    SELECT a.address_id, a.geom,
           (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
             WHERE ST_Covers(n.geom, a.geom) ORDER BY n.neighbourhood_id LIMIT 1) AS nb
      FROM crimesnap.address a
  ), nearest AS (
    SELECT (SELECT p.point_id FROM crimesnap.snap_point p
             WHERE p.version = v AND p.neighbourhood_id = an.nb
             ORDER BY ST_Distance(p.geom, an.geom), p.point_id LIMIT 1) AS point_id
      FROM addr_nb an
  ), catch AS (
    SELECT p.point_id, p.kind, count(n.point_id) AS c
      FROM crimesnap.snap_point p LEFT JOIN nearest n ON n.point_id = p.point_id
     WHERE p.version = v GROUP BY 1, 2
  )
  SELECT count(*) FROM catch
   WHERE (kind = 'street' AND c < k) OR (kind <> 'street' AND c BETWEEN 1 AND k - 1)
$$;

-- Published crimes whose snap point is not in the neighbourhood (and force) of the raw location.
CREATE FUNCTION pg_temp.boundary_crossings() RETURNS bigint
LANGUAGE sql AS $$
  SELECT count(*)
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
    JOIN crimesnap.neighbourhood pn ON pn.neighbourhood_id = p.neighbourhood_id
   WHERE NOT ST_Covers(pn.geom, r.geom) OR pn.force_id <> r.force_id
$$;

-- Every point a JSON value carries: GeoJSON points and latitude/longitude pairs, in BNG.
CREATE FUNCTION pg_temp.json_points(j jsonb) RETURNS SETOF geometry
LANGUAGE sql AS $$
  SELECT CASE WHEN abs(ST_X(g)) <= 180 THEN ST_Transform(ST_SetSRID(g, 4326), 27700)
              ELSE ST_SetSRID(g, 27700) END
    FROM (SELECT ST_GeomFromGeoJSON(v) AS g
            FROM jsonb_path_query(j, 'strict $.**') v
           WHERE jsonb_typeof(v) = 'object' AND v->>'type' = 'Point' AND v ? 'coordinates') x
  UNION ALL
  SELECT ST_Transform(ST_SetSRID(ST_MakePoint((v->>'longitude')::float8, (v->>'latitude')::float8), 4326), 27700)
    FROM jsonb_path_query(j, 'strict $.**') v
   WHERE jsonb_typeof(v) = 'object' AND jsonb_typeof(v->'longitude') = 'number'
     AND jsonb_typeof(v->'latitude') = 'number'
$$;

-- Anything raw in a JSON document: a reference number; a point that is not a snap point
-- (of any version); or a raw location's easting and northing as two numbers.  The raw data
-- to look for is gathered once per check by pg_temp.api_leaks() into raw_needle and raw_xy
-- (the raw locations that are not snap points, indexed on the easting), so that a document
-- costs a lookup per number, not a scan of every raw record.
CREATE TEMP VIEW raw_ref AS
  SELECT crime_ref AS needle FROM crimesnap.raw_crime
  UNION SELECT r.row_data->>'crime_ref' FROM crimesnap.reject r WHERE r.row_data->>'crime_ref' <> '';
CREATE TEMP TABLE raw_needle (needle text);
CREATE TEMP TABLE raw_xy (x float8, y float8);
CREATE INDEX ON raw_xy (x);
CREATE FUNCTION pg_temp.json_leaks(j jsonb) RETURNS boolean
LANGUAGE sql AS $$
  WITH doc AS MATERIALIZED (SELECT j::text AS t),
  nums AS (
    SELECT array_agg(v::text::float8) AS n FROM jsonb_path_query(j, 'strict $.**') v
     WHERE jsonb_typeof(v) = 'number')
  SELECT EXISTS (SELECT FROM doc, pg_temp.raw_needle rt WHERE position(rt.needle IN doc.t) > 0)
      OR EXISTS (SELECT FROM pg_temp.json_points(j) g
                  WHERE NOT EXISTS (SELECT FROM crimesnap.snap_point p WHERE ST_DWithin(p.geom, g, 0.5)))
      OR EXISTS (SELECT FROM nums, unnest(nums.n) num(v)
                   JOIN pg_temp.raw_xy r ON r.x > num.v - 0.05 AND r.x < num.v + 0.05 AND abs(num.v - r.x) < 0.05
                  WHERE EXISTS (SELECT FROM unnest(nums.n) y WHERE abs(y - r.y) < 0.05))
$$;

-- Leaks in every relation of crimesnap_api (found from the catalog, so relations added later
-- are covered) and in the GeoJSON export of every published force and month.
CREATE FUNCTION pg_temp.api_leaks() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  rel regclass;
  leaks bigint := 0;
  n bigint;
BEGIN
  TRUNCATE pg_temp.raw_needle, pg_temp.raw_xy;
  INSERT INTO pg_temp.raw_needle SELECT needle FROM pg_temp.raw_ref;
  INSERT INTO pg_temp.raw_xy
  SELECT ST_X(r.geom), ST_Y(r.geom) FROM crimesnap.raw_crime r
   WHERE r.geom IS NOT NULL
     AND NOT EXISTS (SELECT FROM crimesnap.snap_point p WHERE ST_DWithin(p.geom, r.geom, 0.5));
  ANALYZE pg_temp.raw_needle, pg_temp.raw_xy;
  FOR rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'crimesnap_api'::regnamespace
                AND c.relkind IN ('r', 'v', 'm') LOOP
    EXECUTE format('SELECT count(*) FROM %s t WHERE pg_temp.json_leaks(to_jsonb(t))', rel) INTO n;
    leaks := leaks + n;
  END LOOP;
  SELECT count(*) INTO n
    FROM (SELECT DISTINCT force, month FROM crimesnap_api.street_crime) fm
   WHERE pg_temp.json_leaks(crimesnap_api.geojson(fm.force, fm.month)::jsonb);
  RETURN leaks + n;
END
$$;

-- ---------------------------------------------------------------------------------------
-- 1. The 12-address threshold.

CREATE TEMP TABLE lane AS
SELECT ST_SetSRID(ST_MakeLine(ST_MakePoint(500000, 300000), ST_MakePoint(500200, 300000)), 27700) AS geom;
SELECT is((SELECT crimesnap.snap_centre(g) IS NULL FROM (
             SELECT geom AS g FROM lane
             UNION ALL SELECT ST_SetSRID(ST_MakePoint(500000 + i * 15, 300012), 27700) FROM generate_series(1, 11) i) s),
          true, 'snap_centre: a street with 11 addresses has no snap point');
SELECT is((SELECT ST_Equals(crimesnap.snap_centre(g), ST_SetSRID(ST_MakePoint(500100, 300000), 27700)) FROM (
             SELECT geom AS g FROM lane
             UNION ALL SELECT ST_SetSRID(ST_MakePoint(500000 + i * 15, 300012), 27700) FROM generate_series(1, 12) i) s),
          true, 'snap_centre: with 12 addresses the point is the middle of the centreline');
SELECT throws_ok($$SELECT crimesnap.snap_centre(geom, 11, 'midpoint') FROM lane$$, '22023', NULL,
                 'snap_centre refuses a threshold below crimesnap.min_addresses');

SELECT crimesnap.build_snap_points() AS v12 \gset
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:v12)), 0::bigint,
          'the audit of the built set is clean');
SELECT is(pg_temp.catchment_violations(:v12, 12), 0::bigint,
          'every point serves at least 12 addresses, or a place none (brute-force catchments)');
SELECT ok((SELECT bool_and(c >= 12) FROM (
             SELECT p.point_id, count(*) AS c
               FROM crimesnap.snap_point p
               JOIN crimesnap.address_streets() a
                 ON a.neighbourhood_id = p.neighbourhood_id
                AND a.street_key = crimesnap.normalise_street_name(p.label)
              WHERE p.version = :v12 AND p.kind = 'street' GROUP BY 1) s),
          'every street point is on a street with at least 12 addresses');

-- The checks have teeth: a set built with the threshold lowered (a superuser can) breaks them.
SET crimesnap.min_addresses = 3;
SELECT crimesnap.build_snap_points(make_current => false) AS v3 \gset
RESET crimesnap.min_addresses;
SELECT ok(pg_temp.catchment_violations(:v3, 12) > 0,
          'the brute-force check finds the points of a set built with k = 3');
SELECT ok((SELECT count(*) FROM crimesnap.audit_snap_points(:v3) WHERE violation = 'catchment under k') > 0,
          'the audit holds a k = 3 set to the threshold in force now');

-- The audit catches a point planted over a property, in a neighbourhood of 3 addresses.
INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom)
VALUES ('TEST', 'northshire', 'Test', ST_MakeEnvelope(460000, 200000, 460100, 200100, 27700));
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 900000 + i, 'Planted Street', ST_SetSRID(ST_MakePoint(460010 + 20 * i, 200050), 27700)
  FROM generate_series(1, 3) i;
INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count,
                                  longitude, latitude, geom)
VALUES (:v12, -1, 'TEST', 'street', 'Planted Street', 3, 0, 0, ST_SetSRID(ST_MakePoint(460031, 200050), 27700));
SELECT set_eq($$SELECT DISTINCT violation FROM crimesnap.audit_snap_points() WHERE point_id = -1$$,
              ARRAY['catchment under k', 'too close to an address', 'street under k'],
              'the audit reports a planted point: catchment of 3, over a property, street of 3');
DELETE FROM crimesnap.snap_point WHERE point_id = -1;
DELETE FROM crimesnap.address WHERE address_id > 900000;
DELETE FROM crimesnap.neighbourhood WHERE neighbourhood_id = 'TEST';

-- ---------------------------------------------------------------------------------------
-- 2. Publication, and snapping never crosses a neighbourhood boundary.

SELECT results_eq($$SELECT crimes > 0 AND mapped > 0 AND no_location > 0
                     FROM crimesnap.publish_month('northshire', '2026-09-01', reference_date => '2026-10-24')$$,
                  ARRAY[true], 'northshire publishes September with mapped and no-location crimes');
SELECT lives_ok($$SELECT crimesnap.publish_month('southshire', '2026-09-01', reference_date => '2026-10-24')$$,
                'southshire publishes September');
SELECT is(pg_temp.boundary_crossings(), 0::bigint,
          'no published crime is snapped outside the neighbourhood and force of its raw location');
SELECT ok((SELECT count(*) FROM crimesnap.published_crime c
             JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
            WHERE c.point_id IS NOT NULL
              AND (SELECT p.neighbourhood_id FROM crimesnap.snap_point p WHERE p.version = c.snap_version
                    ORDER BY p.geom <-> r.geom, p.point_id LIMIT 1) <> r.neighbourhood_id) > 0,
          'the check has teeth: some crimes have their nearest point across a boundary');
-- Break the property: move one published crime to a point of another neighbourhood.
UPDATE crimesnap.published_crime c SET point_id = (
         SELECT p.point_id FROM crimesnap.snap_point p
          WHERE p.version = c.snap_version AND p.neighbourhood_id <> c.neighbourhood_id LIMIT 1)
 WHERE c.id = (SELECT min(id) FROM crimesnap.published_crime WHERE point_id IS NOT NULL);
SELECT is(pg_temp.boundary_crossings(), 1::bigint, 'the check catches a crime moved across a boundary');
-- Put it back by publishing again: a re-publish replaces the month.
SELECT lives_ok($$SELECT crimesnap.publish_month('northshire', '2026-09-01', reference_date => '2026-10-24')$$,
                're-publishing the month replaces it');
SELECT is(pg_temp.boundary_crossings(), 0::bigint, 'after the re-publish no crime crosses a boundary');
SELECT is((SELECT crimesnap.snap(ST_SetSRID(ST_MakePoint(451499, 201100), 27700))
             IN (SELECT point_id FROM crimesnap.snap_point WHERE version = :v12 AND neighbourhood_id = 'NS-W')),
          true, 'snap() keeps a point 1 m inside NS-W in NS-W');

-- ---------------------------------------------------------------------------------------
-- 3. No raw coordinate, address or reference number reaches crimesnap_api.

SELECT is(pg_temp.api_leaks(), 0::bigint, 'nothing in crimesnap_api carries a reference number or a raw location');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime s
            WHERE NOT EXISTS (SELECT FROM crimesnap.snap_point p
                               WHERE p.latitude = s.latitude AND p.longitude = s.longitude)),
          0::bigint, 'every published latitude and longitude is a snap point''s');
SELECT is((SELECT count(*) FROM information_schema.columns
            WHERE table_schema = 'crimesnap_api'
              AND column_name ~ '(crime_ref|easting|northing|address|postcode|raw)'),
          0::bigint, 'no crimesnap_api column is named after raw data');
CREATE VIEW crimesnap_api.leak_ref AS SELECT crime_id, crime_ref FROM crimesnap.raw_crime;
SELECT ok(pg_temp.api_leaks() > 0, 'the leak check catches a view exposing reference numbers');
DROP VIEW crimesnap_api.leak_ref;
CREATE VIEW crimesnap_api.leak_geom AS SELECT crime_id, geom FROM crimesnap.raw_crime WHERE geom IS NOT NULL;
SELECT ok(pg_temp.api_leaks() > 0, 'the leak check catches a view exposing raw points');
DROP VIEW crimesnap_api.leak_geom;
CREATE VIEW crimesnap_api.leak_xy AS SELECT crime_id, ST_X(geom) AS e, ST_Y(geom) AS n FROM crimesnap.raw_crime WHERE geom IS NOT NULL;
SELECT ok(pg_temp.api_leaks() > 0, 'the leak check catches a view exposing raw eastings and northings');
DROP VIEW crimesnap_api.leak_xy;
CREATE VIEW crimesnap_api.leak_latlon AS
  SELECT crime_id, ST_Y(ST_Transform(geom, 4326)) AS latitude, ST_X(ST_Transform(geom, 4326)) AS longitude
    FROM crimesnap.raw_crime WHERE geom IS NOT NULL;
SELECT ok(pg_temp.api_leaks() > 0, 'the leak check catches a view exposing raw latitudes and longitudes');
DROP VIEW crimesnap_api.leak_latlon;

-- ---------------------------------------------------------------------------------------
-- 4. Roll-off is atomic: October's publication moves September to the trend table, or
-- nothing moves at all.

SELECT pg_temp.load_month(f, '2026-10-01') FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM crimesnap.published_crime WHERE month = '2026-09-01') AS sept_rows,
       (SELECT count(*) FROM crimesnap.trend) AS trend_rows,
       (SELECT count(*) FROM crimesnap_api.street_crime) AS api_rows;

CREATE FUNCTION pg_temp.fail_trend() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'injected failure during roll-off'; END $$;
CREATE TRIGGER fail_trend BEFORE INSERT ON crimesnap.trend FOR EACH ROW EXECUTE FUNCTION pg_temp.fail_trend();
SELECT throws_ok($$SELECT crimesnap.publish_month('northshire', '2026-10-01', reference_date => '2026-11-24')$$,
                 'P0001', 'injected failure during roll-off', 'a failure during roll-off fails the publication');
SELECT results_eq($$SELECT (SELECT count(*) FROM crimesnap.published_crime WHERE month = '2026-09-01'),
                           (SELECT count(*) FROM crimesnap.trend),
                           (SELECT count(*) FROM crimesnap_api.street_crime),
                           (SELECT count(*) FROM crimesnap.publication WHERE month = '2026-10-01')$$,
                  $$SELECT sept_rows, trend_rows, api_rows, 0::bigint FROM before$$,
                  'after the failure nothing moved: September is still on the map and October is not published');
DROP TRIGGER fail_trend ON crimesnap.trend;

SELECT lives_ok($$SELECT crimesnap.publish_month('northshire', '2026-10-01', reference_date => '2026-11-24')$$,
                'northshire publishes October');
SELECT results_eq($$SELECT p.status, p.crimes::bigint,
                           (SELECT sum(t.crimes) FROM crimesnap.trend t WHERE t.force_id = 'northshire' AND t.month = '2026-09-01'),
                           (SELECT count(*) FROM crimesnap.published_crime c WHERE c.force_id = 'northshire' AND c.month = '2026-09-01')
                      FROM crimesnap.publication p WHERE p.force_id = 'northshire' AND p.month = '2026-09-01'$$,
                  $$SELECT 'rolled-off'::text, n, n, 0::bigint
                      FROM (SELECT count(*) AS n FROM crimesnap.raw_crime r
                             WHERE r.force_id = 'northshire' AND r.month = '2026-09-01'
                               AND r.superseded_by_batch IS NULL) raw$$,
                  'September left the map and every one of its raw records is counted in the trend table');
SELECT is((SELECT array_agg(DISTINCT month) FROM crimesnap_api.street_crime WHERE force = 'northshire'),
          ARRAY['2026-10'], 'the API shows northshire''s October only');

SELECT * FROM finish();
ROLLBACK;
