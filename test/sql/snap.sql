-- Snapping (section 30, src/snapindex.c): the rules on a hand-made force, the errors,
-- and that a change to the snap points is seen by the very next call in the same
-- transaction.  The brute-force comparison on 100,000+ points is test/pgtap/snap.sql.
BEGIN;
SET LOCAL client_min_messages = warning;

-- Two neighbourhoods side by side, A (x 0..1000) and B (x 1000..2000), at BNG 500000 300000.
INSERT INTO crimesnap.force VALUES ('testshire', 'Testshire Police');
INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom) VALUES
  ('A', 'testshire', 'Alpha', ST_MakeEnvelope(500000, 300000, 501000, 301000, 27700)),
  ('B', 'testshire', 'Beta',  ST_MakeEnvelope(501000, 300000, 502000, 301000, 27700)),
  ('C', 'testshire', 'Empty', ST_MakeEnvelope(500000, 301000, 502000, 302000, 27700));
INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule, is_current)
VALUES ('street', 12, 'midpoint', true) RETURNING version AS v1 \gset
CREATE FUNCTION pg_temp.pt(x float8, y float8) RETURNS geometry
  LANGUAGE sql IMMUTABLE AS $$ SELECT ST_SetSRID(ST_MakePoint(500000 + x, 300000 + y), 27700) $$;
INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count,
                                  longitude, latitude, geom)
SELECT :v1, id, nb, 'street', 'Test Street', 12, 0, 0, pg_temp.pt(x, y)
  FROM (VALUES (10, 'A', 900, 500),     -- A's point nearest the A|B boundary
               (11, 'A', 100, 100),
               (21, 'B', 1010, 500),    -- B's point, 10 m over the boundary
               (22, 'B', 1500, 500),
               (23, 'B', 1500, 500),    -- same place as 22: a tie
               (31, 'B', 1900, 500), (30, 'B', 1800, 600))  -- both 100 m from (1800, 500)
       AS t(id, nb, x, y);

-- The nearest point of the crime's own neighbourhood, even when a nearer one lies over
-- the boundary: (995, 500) is 15 m from B's point 21 but snaps to A's point 10, 95 m away.
SELECT crimesnap.snap(pg_temp.pt(995, 500)) AS in_a,
       crimesnap.snap(pg_temp.pt(1005, 500)) AS in_b,
       crimesnap.neighbourhood_at(pg_temp.pt(995, 500)) AS nb_a;
-- On the shared boundary the lowest neighbourhood id wins (A), so does a given one.
SELECT crimesnap.neighbourhood_at(pg_temp.pt(1000, 500)) AS on_boundary,
       crimesnap.snap(pg_temp.pt(1000, 500)) AS snapped,
       crimesnap.snap(pg_temp.pt(1000, 500), 'B') AS given_b,
       crimesnap.neighbourhood_at(pg_temp.pt(1000, 1000)) AS at_corner;
-- Exact ties go to the lowest point id: 22 and 23 share a place; 30 and 31 are as near.
SELECT crimesnap.snap(pg_temp.pt(1500, 700)) AS same_place,
       crimesnap.snap(pg_temp.pt(1800, 500)) AS equidistant;
-- No point in a neighbourhood, or none within crimesnap.max_snap_distance: not mapped.
SELECT crimesnap.snap(pg_temp.pt(500, 1500)) AS empty_neighbourhood,
       crimesnap.snap(NULL::geometry) AS no_location;
SET LOCAL crimesnap.max_snap_distance = 100;
SELECT crimesnap.snap(pg_temp.pt(900, 400)) AS exactly_100_m,
       crimesnap.snap(pg_temp.pt(900, 399.99)) AS over_100_m;
RESET crimesnap.max_snap_distance;

-- The set-based forms agree with the scalar one, one row per input in input order.
SELECT * FROM crimesnap.snap_many(ARRAY[1, 2, 3, 4, 5],
                                  ARRAY[pg_temp.pt(995, 500), pg_temp.pt(1005, 500), NULL,
                                        pg_temp.pt(500, 1500), pg_temp.pt(1000, 500)],
                                  ARRAY[NULL, NULL, NULL, NULL, 'B']);
SELECT * FROM crimesnap.snap_detail(ARRAY[1, 2, 3, 4, 5, 6, 7],
                                    ARRAY[pg_temp.pt(995, 500), NULL, pg_temp.pt(500, 1500),
                                          pg_temp.pt(-50, 500), ST_MakePoint(1, 2),
                                          pg_temp.pt(10, 10), 'SRID=27700;POINT EMPTY'],
                                    ARRAY[NULL, 'A', NULL, NULL, NULL, 'Z', NULL],
                                    reject_bad => true);
SELECT count(*) AS rows, count(point_id) AS mapped
  FROM crimesnap.snap_many(NULL, NULL);

-- Bad locations fail with a clear error that never shows the coordinates.
\set VERBOSITY default
SAVEPOINT s;
SELECT crimesnap.snap(ST_MakePoint(512345, 212345));
ROLLBACK TO s;
SELECT crimesnap.snap(ST_Transform(pg_temp.pt(10, 10), 4326));
ROLLBACK TO s;
SELECT crimesnap.snap(ST_SetSRID('MULTIPOINT((500010 300010))'::geometry, 27700));
ROLLBACK TO s;
SELECT crimesnap.snap('SRID=27700;POINT EMPTY'::geometry);
ROLLBACK TO s;
SELECT crimesnap.snap(ST_SetSRID(ST_MakePoint('NaN', 300000), 27700));
ROLLBACK TO s;
SELECT crimesnap.snap(ST_SetSRID(ST_MakePoint('Infinity', 300000), 27700));
ROLLBACK TO s;
SELECT crimesnap.snap(pg_temp.pt(-1234.5, 678.9));
ROLLBACK TO s;
SELECT crimesnap.snap(pg_temp.pt(10, 10), 'Z');
ROLLBACK TO s;
SELECT * FROM crimesnap.snap_many(ARRAY[41, 42], ARRAY[pg_temp.pt(10, 10), pg_temp.pt(-7777, 10)]);
ROLLBACK TO s;
SELECT * FROM crimesnap.snap_many(ARRAY[1, 2], ARRAY[pg_temp.pt(10, 10)]);
ROLLBACK TO s;
SELECT crimesnap.check_crime_location(ST_SetSRID(ST_MakePoint(1, 2), 4326));
ROLLBACK TO s;
SELECT crimesnap.check_crime_location(pg_temp.pt(1, 2)) AS good_location_passes;

-- A change is seen by the very next call, in the same transaction.
SELECT crimesnap.snap(pg_temp.pt(150, 150)) AS before_insert;
INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count,
                                  longitude, latitude, geom)
VALUES (:v1, 12, 'A', 'street', 'New Street', 12, 0, 0, pg_temp.pt(160, 160));
SELECT crimesnap.snap(pg_temp.pt(150, 150)) AS after_insert;
UPDATE crimesnap.snap_point SET geom = pg_temp.pt(700, 700) WHERE version = :v1 AND point_id = 12;
SELECT crimesnap.snap(pg_temp.pt(150, 150)) AS after_move;
SAVEPOINT before_delete;
DELETE FROM crimesnap.snap_point WHERE version = :v1 AND point_id = 11;
SELECT crimesnap.snap(pg_temp.pt(150, 150)) AS after_delete;
ROLLBACK TO before_delete;
SELECT crimesnap.snap(pg_temp.pt(150, 150)) AS after_rollback_to_savepoint;
-- Switching the current set: the new set has one point in A.
INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule) VALUES ('street', 12, 'midpoint')
RETURNING version AS v2 \gset
INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count,
                                  longitude, latitude, geom)
VALUES (:v2, 99, 'A', 'street', 'Other Street', 12, 0, 0, pg_temp.pt(500, 500));
SELECT crimesnap.snap(pg_temp.pt(150, 150)) AS still_old_set;
SELECT crimesnap.set_current_snap_points(:v2);
SELECT crimesnap.snap(pg_temp.pt(150, 150)) AS new_set,
       (SELECT snap_version = :v2 FROM crimesnap.snap_index_stats()) AS index_has_new_set;
-- A neighbourhood's boundary moves: the crime at (995, 500) is now in B.
UPDATE crimesnap.neighbourhood SET geom = ST_MakeEnvelope(500000, 300000, 500990, 301000, 27700)
 WHERE neighbourhood_id = 'A';
UPDATE crimesnap.neighbourhood SET geom = ST_MakeEnvelope(500990, 300000, 502000, 301000, 27700)
 WHERE neighbourhood_id = 'B';
SELECT crimesnap.neighbourhood_at(pg_temp.pt(995, 500)) AS moved_boundary;
SELECT crimesnap.snap_index_reset();
SELECT built FROM crimesnap.snap_index_stats();
SELECT built, points, neighbourhoods, boundaries_loaded, index_bytes > 0 AS has_memory
  FROM crimesnap.snap_index_stats(build => true);
-- No current set at all.
UPDATE crimesnap.snap_point_set SET is_current = false;
SAVEPOINT s;
SELECT crimesnap.snap(pg_temp.pt(150, 150));
ROLLBACK TO s;
ROLLBACK;
