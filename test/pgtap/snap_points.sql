-- Snap points: the builder's guarantees, and the audit that proves them.
--
-- The demo town (test/fixtures/town.sql) and the real Fitzrovia data (test/fixtures/
-- fitzrovia.sql, when $CRIMESNAP_FITZROVIA or ../shared/data/fitzrovia, relative to the
-- directory pg_prove runs in, holds it) are loaded inside this file's transaction, and
-- everything is rolled back at the end.
BEGIN;
SET client_min_messages = warning;
\ir ../fixtures/town.sql
\set fitzrovia_dir `echo "${CRIMESNAP_FITZROVIA:-../shared/data/fitzrovia}"`
\set have_fitzrovia `test -f "${CRIMESNAP_FITZROVIA:-../shared/data/fitzrovia}/streets_bng.csv" && echo true || echo false`
\if :have_fitzrovia
\ir ../fixtures/fitzrovia.sql
\endif
SET client_min_messages = warning;

SELECT plan(56);

-- ==== 0. Fitzrovia, when its data is there ====
\if :have_fitzrovia
SAVEPOINT fitzrovia;
DELETE FROM crimesnap.public_place;
DELETE FROM crimesnap.address WHERE ST_X(geom) < 500000;
DELETE FROM crimesnap.street WHERE ST_XMax(geom) < 500000;
DELETE FROM crimesnap.neighbourhood WHERE force_id <> 'metropolitan';
SELECT crimesnap.build_snap_points('street') AS fz_street \gset
SELECT crimesnap.build_snap_points('dense') AS fz_dense \gset
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:fz_street)), 0::bigint, 'Fitzrovia, street mode: the audit is clean');
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:fz_dense)), 0::bigint, 'Fitzrovia, dense mode: the audit is clean');
SELECT is((SELECT point_count FROM crimesnap.snap_point_set WHERE version = :fz_street), 63,
          'Fitzrovia, street mode: 63 points, as the seeds'' method gives');
CREATE TEMP TABLE fz_crime AS
SELECT u.crime_ref, ST_SetSRID(ST_MakePoint(u.easting::float8, u.northing::float8), 27700) AS geom FROM fitzrovia.upload u;
SELECT cmp_ok((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) FROM (
                 SELECT (SELECT ST_Distance(p.geom, c.geom) FROM crimesnap.snap_point p
                          WHERE p.version = :fz_dense AND p.neighbourhood_id = crimesnap.neighbourhood_at(c.geom)
                          ORDER BY p.geom <-> c.geom, p.point_id LIMIT 1) AS d FROM fz_crime c) x), '<',
              0.7 * (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) FROM (
                 SELECT (SELECT ST_Distance(p.geom, c.geom) FROM crimesnap.snap_point p
                          WHERE p.version = :fz_street AND p.neighbourhood_id = crimesnap.neighbourhood_at(c.geom)
                          ORDER BY p.geom <-> c.geom, p.point_id LIMIT 1) AS d FROM fz_crime c) x),
              'Fitzrovia: dense mode cuts the median distance crimes move by more than 30%');
ROLLBACK TO SAVEPOINT fitzrovia;
-- The rest of this file works on the town alone.
DELETE FROM crimesnap.address WHERE ST_X(geom) > 500000;
DELETE FROM crimesnap.street WHERE ST_XMin(geom) > 500000;
DELETE FROM crimesnap.lsoa WHERE ST_XMin(geom) > 500000;
DELETE FROM crimesnap.neighbourhood WHERE force_id = 'metropolitan';
\else
SELECT skip('no Fitzrovia data in ' || :'fitzrovia_dir' || ' (set CRIMESNAP_FITZROVIA to run these)', 4);
\endif

-- ==== 1. The demo town: both modes build clean sets ====
SELECT crimesnap.build_snap_points('street') AS town_street \gset
SELECT crimesnap.build_snap_points('dense') AS town_dense \gset

SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:town_street)), 0::bigint,
          'demo town, street mode: the audit finds no violation');
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:town_dense)), 0::bigint,
          'demo town, dense mode: the audit finds no violation');
SELECT cmp_ok((SELECT point_count FROM crimesnap.snap_point_set WHERE version = :town_dense), '>',
              (SELECT point_count FROM crimesnap.snap_point_set WHERE version = :town_street),
              'demo town: dense mode has more points than street mode');
-- The builder counts catchments in C; the audit recounts them with PostGIS.  They agree.
SELECT is((SELECT count(*) FROM crimesnap.catchments(:town_street) c
             JOIN crimesnap.snap_point p ON p.version = :town_street AND p.point_id = c.point_id
            WHERE c.addresses <> p.address_count), 0::bigint,
          'demo town, street mode: stored catchments equal the catchments PostGIS counts');
SELECT is((SELECT count(*) FROM crimesnap.catchments(:town_dense) c
             JOIN crimesnap.snap_point p ON p.version = :town_dense AND p.point_id = c.point_id
            WHERE c.addresses <> p.address_count), 0::bigint,
          'demo town, dense mode: stored catchments equal the catchments PostGIS counts');
SELECT cmp_ok((SELECT avg(d) FROM (SELECT (SELECT ST_Distance(p.geom, a.geom) FROM crimesnap.snap_point p
                                            WHERE p.version = :town_dense AND p.neighbourhood_id = n.neighbourhood_id
                                            ORDER BY p.geom <-> a.geom LIMIT 1) AS d
                                     FROM crimesnap.address a JOIN crimesnap.neighbourhood n ON ST_Intersects(n.geom, a.geom)) x), '<',
              (SELECT avg(d) FROM (SELECT (SELECT ST_Distance(p.geom, a.geom) FROM crimesnap.snap_point p
                                            WHERE p.version = :town_street AND p.neighbourhood_id = n.neighbourhood_id
                                            ORDER BY p.geom <-> a.geom LIMIT 1) AS d
                                     FROM crimesnap.address a JOIN crimesnap.neighbourhood n ON ST_Intersects(n.geom, a.geom)) x),
              'demo town: dense mode moves addresses less, on average, than street mode');
-- The C association against the same rules written in PostGIS SQL.
SELECT is((
  WITH piece AS (
    SELECT row_number() OVER (ORDER BY p.neighbourhood_id, p.street_id, ST_AsBinary(p.geom)) AS piece_id, p.*
      FROM crimesnap.street_pieces() p
  ), addr AS (
    SELECT a.*, (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                  WHERE ST_Intersects(n.geom, a.geom) ORDER BY 1 LIMIT 1) AS nb
      FROM crimesnap.address a
  ), ref AS (
    SELECT a.address_id, coalesce(
             (SELECT p.street_key FROM piece p
               WHERE p.neighbourhood_id = a.nb AND p.street_key = crimesnap.normalise_street_name(a.street_name)
                 AND ST_DWithin(p.geom, a.geom, 250)
               ORDER BY p.geom <-> a.geom, p.piece_id LIMIT 1),
             (SELECT p.street_key FROM piece p WHERE p.neighbourhood_id = a.nb
               ORDER BY p.geom <-> a.geom, p.piece_id LIMIT 1)) AS street_key
      FROM addr a)
  SELECT count(*) FROM ref r JOIN crimesnap.address_streets() s USING (address_id)
   WHERE r.street_key IS DISTINCT FROM s.street_key), 0::bigint,
  'demo town: the C association gives every address the street the PostGIS reference gives it');
SELECT is((SELECT count(*) FROM crimesnap.address_streets()), (SELECT count(*) FROM crimesnap.address),
          'demo town: every address is counted exactly once');

-- Clear the town for the small place below (the rollback brings it back; it is removed for
-- good after the rollback).
DELETE FROM crimesnap.snap_point_set;
DELETE FROM crimesnap.public_place;
DELETE FROM crimesnap.address;
DELETE FROM crimesnap.street;
DELETE FROM crimesnap.lsoa;
DELETE FROM crimesnap.neighbourhood;

-- ==== 2. A small place, to break each property on purpose ====
INSERT INTO crimesnap.force VALUES ('testshire', 'Testshire Police'), ('other1', 'Other Police');
INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom) VALUES
  ('T-W', 'testshire', 'Testshire West', ST_MakeEnvelope(530000, 180000, 530400, 180600, 27700)),
  ('T-E', 'testshire', 'Testshire East', ST_MakeEnvelope(530400, 180000, 530800, 180300, 27700)),
  ('O-1', 'other1', 'Other One', ST_MakeEnvelope(530800, 180000, 531200, 180300, 27700));
INSERT INTO crimesnap.lsoa (lsoa_code, name, geom) VALUES
  ('E01999901', 'Testshire 001A', ST_MakeEnvelope(530000, 180000, 530400, 180600, 27700)),
  ('E01999902', 'Testshire 001B', ST_MakeEnvelope(530400, 180000, 531200, 180300, 27700));
INSERT INTO crimesnap.street (street_id, name, highway, geom) VALUES
  (1, 'Long Street', 'residential', 'SRID=27700;LINESTRING(530000 180150, 530150 180151, 530300 180150)'),
  (2, 'LONG ST.',    'residential', 'SRID=27700;LINESTRING(530300 180150, 530800 180150)'),
  (3, 'Short Lane',  'residential', 'SRID=27700;LINESTRING(530200 180150, 530200 180300)'),
  (4, 'Mill Road',   'tertiary',    'SRID=27700;LINESTRING(530600 180000, 530600 180150)'),
  (5, 'Mill Yard',   'service',     'SRID=27700;LINESTRING(530600 180100, 530700 180100)');
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 100 + i * 2 + side, CASE WHEN i % 3 = 0 THEN 'Long St' ELSE 'Long Street' END,
       ST_SetSRID(ST_MakePoint(530020 + 40 * i, 180150 + CASE side WHEN 0 THEN 15 ELSE -15 END), 27700)
  FROM generate_series(0, 19) i, generate_series(0, 1) side;
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 200 + i, 'Short Lane', ST_SetSRID(ST_MakePoint(530215, 180190 + 20 * i), 27700) FROM generate_series(0, 5) i;
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 300 + i * 2 + side, 'Mill Rd', ST_SetSRID(ST_MakePoint(530600 + CASE side WHEN 0 THEN 15 ELSE -15 END, 180010 + 20 * i), 27700)
  FROM generate_series(0, 6) i, generate_series(0, 1) side;
INSERT INTO crimesnap.public_place (place_id, class, geom) VALUES (1, 'Park', 'SRID=27700;POINT(530100 180580)');

SELECT crimesnap.build_snap_points('street') AS v \gset
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:v)), 0::bigint, 'the small place builds clean');
SELECT set_eq(format('SELECT kind || '' '' || label FROM crimesnap.snap_point WHERE version = %s', :v),
              ARRAY['street LONG ST.', 'street Long Street', 'street Mill Road', 'place Park'],
              'street mode: a point per street with 12 or more addresses, and the park');

-- The audit catches a catchment under k: a street point that takes four addresses.
SAVEPOINT s;
INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count, longitude, latitude, geom)
VALUES (:v, -1, 'T-W', 'street', 'Long Street', 12, 0, 0, 'SRID=27700;POINT(530050 180150)');
SELECT set_eq(format('SELECT point_id, violation FROM crimesnap.audit_snap_points(%s)', :v),
              $$VALUES (-1::bigint, 'catchment under k')$$,
              'the audit catches a street point whose catchment is under k');
ROLLBACK TO SAVEPOINT s;

-- ... and a public place that would serve a few addresses.
INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count, longitude, latitude, geom)
VALUES (:v, -1, 'T-E', 'place', 'Parking Area', 0, 0, 0, 'SRID=27700;POINT(530780 180100)');
SELECT set_eq(format('SELECT point_id, violation FROM crimesnap.audit_snap_points(%s)', :v),
              $$VALUES (-1::bigint, 'catchment under k')$$,
              'the audit catches a place whose catchment is between 1 and k - 1');
ROLLBACK TO SAVEPOINT s;

-- ... and every point, when the threshold in force rises above the set's own.
SET LOCAL crimesnap.min_addresses = 30;
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:v) WHERE violation = 'catchment under k'), 3::bigint,
          'the audit judges a set by the threshold in force now when that is higher');
RESET crimesnap.min_addresses;
ROLLBACK TO SAVEPOINT s;

-- ... and a point within crimesnap.min_property_distance of an address.
UPDATE crimesnap.snap_point SET geom = 'SRID=27700;POINT(530610 180030)' WHERE version = :v AND label = 'Mill Road';
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_snap_points(:v) a JOIN crimesnap.snap_point p ON p.version = :v AND p.point_id = a.point_id
                   WHERE p.label = 'Mill Road' AND a.violation = 'too close to an address'),
          'the audit catches a point above a property (within min_property_distance of an address)');
ROLLBACK TO SAVEPOINT s;
SET LOCAL crimesnap.min_property_distance = 30;
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_snap_points(:v) WHERE violation = 'too close to an address'),
          'the audit applies the min_property_distance in force now');
RESET crimesnap.min_property_distance;
ROLLBACK TO SAVEPOINT s;

-- ... and a point outside its neighbourhood.
UPDATE crimesnap.snap_point SET neighbourhood_id = 'T-E' WHERE version = :v AND label = 'Long Street';
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_snap_points(:v) a JOIN crimesnap.snap_point p ON p.version = :v AND p.point_id = a.point_id
                   WHERE p.label = 'Long Street' AND a.violation = 'outside its neighbourhood'),
          'the audit catches a point outside its neighbourhood');
ROLLBACK TO SAVEPOINT s;

-- ... and, in street mode, a street with fewer than k addresses.
UPDATE crimesnap.snap_point SET label = 'Short Lane' WHERE version = :v AND label = 'Long Street';
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_snap_points(:v) WHERE violation = 'street under k'),
          'the audit catches a street-mode point on a street with fewer than k addresses');
ROLLBACK TO SAVEPOINT s;
DELETE FROM crimesnap.address WHERE address_id BETWEEN 300 AND 303;
SELECT set_eq(format('SELECT p.label, a.violation FROM crimesnap.audit_snap_points(%s) a JOIN crimesnap.snap_point p ON p.version = %s AND p.point_id = a.point_id', :v, :v),
              $$VALUES ('Mill Road', 'catchment under k'), ('Mill Road', 'street under k')$$,
              'the audit checks the addresses as they are now: a street that lost addresses is under k');
ROLLBACK TO SAVEPOINT s;

-- ==== 3. The builder keeps every guarantee by construction ====
SELECT throws_ok($$SELECT crimesnap.build_snap_points('street', 11)$$, '22023', NULL,
                 'the builder refuses a k below crimesnap.min_addresses');
SELECT throws_ok($$SELECT crimesnap.select_snap_points('{}', '{}', 5)$$, '22023', NULL,
                 'so does the C selection');

-- A point the rule would put over a property moves along the street, off it.
INSERT INTO crimesnap.address (address_id, street_name, geom) VALUES (999, 'Mill Road', 'SRID=27700;POINT(530603 180080)');
SELECT crimesnap.build_snap_points('street') AS v2 \gset
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:v2)), 0::bigint, 'with an address on Mill Road''s centre, the set is still clean');
SELECT cmp_ok((SELECT ST_Distance(p.geom, 'SRID=27700;POINT(530603 180080)'::geometry) FROM crimesnap.snap_point p
                WHERE p.version = :v2 AND p.label = 'Mill Road'), '>', 10.0::float8,
              'Mill Road''s point moved more than min_property_distance away from it');
SELECT is((SELECT ST_X(p.geom) FROM crimesnap.snap_point p WHERE p.version = :v2 AND p.label = 'Mill Road'), 530600::float8,
          '... along the street''s centreline');
SELECT is((SELECT build_notes->>'moved_off_properties' FROM crimesnap.snap_point_set WHERE version = :v2), '1',
          'the build notes count it');
ROLLBACK TO SAVEPOINT s;

-- A place with 1 to k - 1 addresses never survives: it would narrow a crime down to those.
INSERT INTO crimesnap.public_place (place_id, class, geom) VALUES (2, 'Parking Area', 'SRID=27700;POINT(530780 180100)');
SELECT crimesnap.build_snap_points('street') AS v2 \gset
SELECT ok(NOT EXISTS (SELECT FROM crimesnap.snap_point WHERE version = :v2 AND label = 'Parking Area'),
          'a place that would serve between 1 and k - 1 addresses is left out');
SELECT ok(EXISTS (SELECT FROM crimesnap.snap_point WHERE version = :v2 AND label = 'Park' AND address_count = 0),
          'a place that serves no address stays');
ROLLBACK TO SAVEPOINT s;

-- Dense mode: more points, less displacement, the same guarantee.
SELECT crimesnap.build_snap_points('dense') AS vd \gset
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:vd)), 0::bigint, 'dense mode builds clean');
SELECT ok((SELECT bool_and(address_count >= 12 OR kind <> 'street') FROM crimesnap.snap_point WHERE version = :vd),
          'dense mode: every street point serves 12 or more addresses');
SELECT cmp_ok((SELECT point_count FROM crimesnap.snap_point_set WHERE version = :vd), '>',
              (SELECT point_count FROM crimesnap.snap_point_set WHERE version = :v), 'dense mode has more points');

-- ==== 4. Force points: added, never removing one ====
INSERT INTO crimesnap.force_snap_point (force_id, label, explanation, geom) VALUES
  ('testshire', 'Testshire Common', 'Open space: ASB on the common is mapped here.', 'SRID=27700;POINT(530300 180550)'),
  ('testshire', 'Mill Road North', 'Would take a few Mill Road homes.', 'SRID=27700;POINT(530600 180120)'),
  ('testshire', 'Over the border', 'Not in our area.', 'SRID=27700;POINT(531000 180250)'),
  ('testshire', 'On a doorstep', 'Too close to a home.', 'SRID=27700;POINT(530021 180170)');
SELECT crimesnap.build_snap_points('street') AS vf \gset
SELECT is((SELECT count(*) FROM crimesnap.audit_snap_points(:vf)), 0::bigint, 'with force points the set is clean');
SELECT is((SELECT explanation FROM crimesnap.snap_point WHERE version = :vf AND kind = 'force'),
          'Open space: ASB on the common is mapped here.', 'a force point that takes nothing from anyone is added, with its explanation');
SELECT set_eq(format('SELECT kind || '' '' || label FROM crimesnap.snap_point WHERE version = %s AND kind <> ''force''', :vf),
              format('SELECT kind || '' '' || label FROM crimesnap.snap_point WHERE version = %s', :v),
              'force points remove no point');
SELECT alike((SELECT r.reason FROM crimesnap.force_snap_point_result r JOIN crimesnap.force_snap_point f USING (force_point_id)
              WHERE r.version = :vf AND f.label = 'Mill Road North'), '%between 1 and k - 1%',
            'a force point that would serve between 1 and k - 1 addresses is refused, with the reason');
SELECT alike((SELECT r.reason FROM crimesnap.force_snap_point_result r JOIN crimesnap.force_snap_point f USING (force_point_id)
              WHERE r.version = :vf AND f.label = 'Over the border'), '%not in an area of force testshire%',
            'a force point in another force''s area is refused');
SELECT alike((SELECT r.reason FROM crimesnap.force_snap_point_result r JOIN crimesnap.force_snap_point f USING (force_point_id)
              WHERE r.version = :vf AND f.label = 'On a doorstep'), '%of an address%',
            'a force point on a property is refused');
SELECT throws_ok($$INSERT INTO crimesnap.force_snap_point (force_id, label, explanation, geom) VALUES ('testshire', 'x', ' ', 'SRID=27700;POINT(530300 180550)')$$,
                 '23514', NULL, 'a force point needs an explanation');
DELETE FROM crimesnap.force_snap_point;

-- ==== 5. Versions: what was published stays as it was ====
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing)
SELECT 'testshire', 'T/' || i, '46', '2026-09-0' || (1 + i % 9), (530020 + 37 * i)::text, '180160'
  FROM generate_series(1, 20) i;
SELECT lives_ok($$SELECT crimesnap.register_batch('testshire', '2026-09-01', 20, 'Testshire Police', 'Test',
                                                   'test@example.org', 'September')$$, 'a month of crimes is loaded');
SELECT crimesnap.set_current_snap_points(:v) \g /dev/null
SELECT * FROM crimesnap.publish_month('testshire', '2026-09-01', reference_date => '2026-10-24') \gset pub_
CREATE TEMP TABLE published_before AS SELECT * FROM crimesnap_api.street_crime;
SELECT is((SELECT count(*) FROM published_before), 20::bigint, 'twenty crimes published with the street-mode set');

UPDATE crimesnap.street SET geom = 'SRID=27700;LINESTRING(530600 180000, 530600 180200)' WHERE street_id = 4;
SELECT crimesnap.build_snap_points('dense') AS vn \gset
SELECT set_eq('SELECT * FROM crimesnap_api.street_crime', 'SELECT * FROM published_before',
              'a new build changes nothing that was published');
SELECT is((SELECT array_agg(DISTINCT snap_version) FROM crimesnap.published_crime), ARRAY[:v],
          'published crimes keep the version they were snapped with');
SELECT throws_ok(format('DELETE FROM crimesnap.snap_point_set WHERE version = %s', :v), '23503', NULL,
                 'a version that published crimes use cannot be deleted');
SELECT is((SELECT previous_version FROM crimesnap.snap_point_set WHERE version = :vn), :v,
          'ids and the changelog of the new set are relative to the set that was current');
SELECT ok((SELECT count(*) FROM crimesnap.snap_point_change WHERE version = :vn) > 0
          AND NOT EXISTS (SELECT FROM crimesnap.snap_point_change c
                           WHERE c.version = :vn
                             AND NOT ((c.change = 'added' AND c.old_geom IS NULL AND c.new_geom IS NOT NULL)
                                   OR (c.change = 'removed' AND c.new_geom IS NULL AND c.old_geom IS NOT NULL)
                                   OR (c.change = 'moved' AND ST_Distance(c.old_geom, c.new_geom) > 0.01))),
          'the changelog lists points added, removed and moved');
SELECT is((SELECT count(*) FROM crimesnap.snap_point o JOIN crimesnap.snap_point n USING (point_id)
            WHERE o.version = :v AND n.version = :vn AND NOT ST_OrderingEquals(o.geom, n.geom)
              AND NOT EXISTS (SELECT FROM crimesnap.snap_point_change c
                               WHERE c.version = :vn AND c.point_id = o.point_id AND c.change = 'moved')), 0::bigint,
          'a point keeps its id only where it did not move, or where the changelog says it moved');

-- ==== 6. Published catchments ====
-- Every address lies in the catchment area of the point a crime at that address snaps to.
SELECT is((SELECT count(*) FROM crimesnap.address a
             CROSS JOIN LATERAL (SELECT crimesnap.snap(a.geom) AS point_id) s
            WHERE NOT EXISTS (SELECT FROM crimesnap_api.catchment c WHERE c.street_id = s.point_id AND ST_Intersects(c.geom, a.geom))),
          0::bigint, 'a crime at any address snaps to the point whose published catchment area holds it');
SELECT is((SELECT count(*) FROM crimesnap_api.catchment), (SELECT point_count::bigint FROM crimesnap.snap_point_set WHERE is_current),
          'the API publishes one catchment area per point of the current set');
SELECT hasnt_column('crimesnap_api', 'catchment', 'address_count', 'the API never publishes address counts');
SET LOCAL ROLE crimesnap_web;
SELECT count(*) AS web_areas FROM crimesnap_api.catchment \gset
RESET ROLE;
SELECT is(:web_areas::bigint, (SELECT count(*) FROM crimesnap_api.catchment), 'the web role reads the catchment areas');
SELECT ok(NOT has_table_privilege('crimesnap_web', 'crimesnap.snap_point_catchment', 'SELECT')
          AND NOT has_table_privilege('crimesnap_web', 'crimesnap.snap_point', 'SELECT'),
          'the web role cannot read the tables behind them');
SET LOCAL ROLE crimesnap_admin;
SELECT crimesnap.build_snap_points('street') AS pub_v \gset
RESET ROLE;
SET LOCAL ROLE crimesnap_publisher;
SELECT count(*) AS pub_violations FROM crimesnap.audit_snap_points(:pub_v) \gset
RESET ROLE;
SELECT is(:pub_violations::bigint, 0::bigint, 'an administrator (crimesnap_admin) builds a set; a data controller (crimesnap_publisher) audits it');
SELECT ok(NOT has_function_privilege('crimesnap_analyst', 'crimesnap.build_snap_points(text, integer, text, boolean)', 'EXECUTE')
          AND NOT has_function_privilege('crimesnap_web', 'crimesnap.audit_snap_points(integer)', 'EXECUTE')
          AND NOT has_function_privilege('crimesnap_analyst', 'crimesnap.address_streets()', 'EXECUTE'),
          'analysts and the web role cannot build sets, run the audit or see the address association');
SELECT ok(has_any_column_privilege('crimesnap_loader', 'crimesnap.force_snap_point', 'INSERT')
          AND has_any_column_privilege('crimesnap_publisher', 'crimesnap.force_snap_point', 'INSERT')
          AND NOT has_table_privilege('crimesnap_web', 'crimesnap.force_snap_point', 'SELECT'),
          'force DBAs and data controllers add force points; the web role cannot see the requests');

SELECT * FROM finish();
ROLLBACK;
