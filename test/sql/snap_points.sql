-- Snap points: the C steps one by one on hand-made input, then whole builds on a small
-- made-up place.  Point ids depend on what earlier files built, so none is printed.
SET client_min_messages = warning;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- ---- street names ----
SELECT n AS name, crimesnap.normalise_street_name(n) AS street_key
  FROM (VALUES ('Gt Portland St.'), ('GREAT PORTLAND STREET'), ('St John''s Wood Rd'),
               ('78 Harley Street'), ('1-3 Gower St'), ('The Brunswick Centre'), ('The Mall'),
               ('10 Downing'), ('St'), (' .,; ')) v(n);

-- ---- the snapping aggregate ----
-- An L-shaped street in two pieces (0,0)-(100,0)-(100,50) plus a detached stub, with
-- addresses clustered at its east end: the three rules put the point in three places,
-- always on the longest connected piece.
CREATE TEMP TABLE agg_in (street text, geom geometry);
INSERT INTO agg_in VALUES
  ('a', 'SRID=27700;LINESTRING(0 0, 100 0)'),
  ('a', 'SRID=27700;LINESTRING(100 50, 100 0)'),
  ('a', 'SRID=27700;LINESTRING(300 300, 310 300)');
INSERT INTO agg_in SELECT 'a', ST_SetSRID(ST_MakePoint(90 + i, 15), 27700) FROM generate_series(1, 12) i;
SELECT r AS rule, ST_AsText(ST_SnapToGrid(crimesnap.snap_centre(geom, 12, r), 0.01)) AS point
  FROM agg_in, (VALUES ('midpoint'), ('address_centroid'), ('bbox_centre')) v(r)
 GROUP BY r ORDER BY r;
-- Below k there is no point; above the GUC's k it is the caller's choice.
SELECT crimesnap.snap_centre(geom, 13, 'midpoint') IS NULL AS below_k FROM agg_in;
SELECT ST_AsText(ST_SnapToGrid(crimesnap.snap_centre(geom), 0.01)) AS default_rule FROM agg_in;
SELECT crimesnap.snap_centre(geom, 3, 'midpoint') FROM agg_in;
SELECT crimesnap.snap_centre(geom, 12, 'centre') FROM agg_in;
-- The order rows arrive in does not matter, to the bit.
SELECT r AS rule, count(DISTINCT ST_AsEWKB(p)) AS distinct_results
  FROM (SELECT v.r, s, crimesnap.snap_centre(geom, 12, v.r ORDER BY md5(ST_AsText(geom) || s)) AS p
          FROM agg_in, generate_series(1, 5) s, (VALUES ('midpoint'), ('address_centroid'), ('bbox_centre')) v(r)
         GROUP BY v.r, s) y
 GROUP BY r ORDER BY r;
-- Parallel safe with a combine function: a parallel plan aggregates partially, and gets
-- the same points as a serial one.
CREATE TABLE snap_points_agg_big AS
SELECT 's' || (i % 50) AS street,
       CASE WHEN (i / 50) % 4 = 0 THEN ST_SetSRID(ST_MakeLine(ST_MakePoint(i, 0), ST_MakePoint(i + 50, 0)), 27700)
            ELSE ST_SetSRID(ST_MakePoint(i, 10 + i % 7), 27700) END AS geom
  FROM generate_series(1, 40000) i;
ANALYZE snap_points_agg_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT street, crimesnap.snap_centre(geom, 12, 'address_centroid') FROM snap_points_agg_big GROUP BY street;
CREATE TEMP TABLE agg_par AS
SELECT street, crimesnap.snap_centre(geom, 12, 'address_centroid') AS p FROM snap_points_agg_big GROUP BY street;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS streets, count(*) FILTER (WHERE ST_OrderingEquals(s.p, p.p)) AS same_as_parallel
  FROM (SELECT street, crimesnap.snap_centre(geom, 12, 'address_centroid') AS p FROM snap_points_agg_big GROUP BY street) s
  JOIN agg_par p USING (street);
DROP TABLE snap_points_agg_big;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- ---- association ----
-- Streets 1 and 2 are "High Street" 60 m apart; 3 is Mill Lane beside the addresses; 4 is
-- a High Street 400 m away.  Address 10 is nearest Mill Lane but names High Street: street
-- 2, the nearest of that name.  11 names a street too far away: nearest instead.  12 has no
-- name.  13 is exactly as near streets 5 and 6: the lower id wins.  14 has no location, 15
-- is in an area without streets.
SELECT a.address_id, a.street_id, a.matched_by, round(a.distance::numeric, 2) AS distance
  FROM crimesnap.associate_addresses(
         ARRAY[(10, 'SRID=27700;POINT(0 5)', 'High St.', 'n1'),
               (11, 'SRID=27700;POINT(0 5)', 'Low Road', 'n1'),
               (12, 'SRID=27700;POINT(0 5)', NULL, 'n1'),
               (13, 'SRID=27700;POINT(500 10)', 'x', 'n1'),
               (14, NULL, 'High Street', 'n1'),
               (15, 'SRID=27700;POINT(0 0)', 'High Street', 'n2')]::crimesnap.address_input[],
         ARRAY[(1, 'SRID=27700;LINESTRING(-50 60, 50 60)', 'HIGH STREET', 'n1'),
               (2, 'SRID=27700;LINESTRING(-50 40, 50 40)', 'High Street', 'n1'),
               (3, 'SRID=27700;LINESTRING(-50 0, 50 0)', 'Mill Lane', 'n1'),
               (4, 'SRID=27700;LINESTRING(-50 400, 50 400)', 'High Street', 'n1'),
               (6, 'SRID=27700;LINESTRING(490 0, 510 0)', 'A', 'n1'),
               (5, 'SRID=27700;LINESTRING(490 20, 510 20)', 'B', 'n1')]::crimesnap.street_input[]) a
 ORDER BY 1;
-- Without areas (NULL: one area of its own), every address may go to every street;
-- max_name_distance is a radius.
SELECT a.address_id, a.street_id, a.matched_by
  FROM crimesnap.associate_addresses(ARRAY[(1, 'SRID=27700;POINT(0 0)', 'Far Road', NULL)]::crimesnap.address_input[],
         ARRAY[(1, 'SRID=27700;LINESTRING(0 10, 5 10)', 'Near Road', NULL),
               (2, 'SRID=27700;LINESTRING(0 100, 5 100)', 'Far Road', NULL)]::crimesnap.street_input[],
         max_name_distance => 99) a;
SELECT * FROM crimesnap.associate_addresses(ARRAY[(1, 'SRID=27700;POINT(0 0)', 'x', NULL)]::crimesnap.address_input[], '{}');
SELECT * FROM crimesnap.associate_addresses(ARRAY[(NULL, 'SRID=27700;POINT(0 0)', 'x', NULL)]::crimesnap.address_input[], '{}');
SELECT * FROM crimesnap.associate_addresses(ARRAY[(1, 'SRID=27700;LINESTRING(0 0, 1 1)', 'x', NULL)]::crimesnap.address_input[],
                                            ARRAY[(1, 'SRID=27700;LINESTRING(0 0, 1 1)', 'x', NULL)]::crimesnap.street_input[]);
SELECT * FROM crimesnap.associate_addresses(ARRAY[(1, 'SRID=4326;POINT(0 0)', 'x', NULL)]::crimesnap.address_input[],
                                            ARRAY[(1, 'SRID=27700;LINESTRING(0 0, 1 1)', 'x', NULL)]::crimesnap.street_input[]);
SELECT * FROM crimesnap.associate_addresses(ARRAY[(1, 'SRID=27700;POINT(0 0)', 'x', NULL)]::crimesnap.address_input[],
                                            ARRAY[(1, 'SRID=27700;LINESTRING(0 0, 1 1)', 'x', NULL)]::crimesnap.street_input[],
                                            max_name_distance => -1);

-- ---- segments ----
-- A street of two ways that meet end to end is one segment; a side street meeting it in a
-- T cuts it in two there; a 90 m segment cut into parts of at most 40 m gives three.
SELECT s.area, s.street, s.segment, s.part, round(ST_Length(s.geom)::numeric, 2) AS length,
       ST_AsText(ST_SnapToGrid(s.centre, 0.01)) AS centre
  FROM crimesnap.street_segments(
         ARRAY['n', 'n', 'n', 'n', 'm'],
         ARRAY['main', 'main', 'side', 'loop', 'main'],
         ARRAY['SRID=27700;LINESTRING(0 0, 50 0)', 'SRID=27700;LINESTRING(50 0, 100 0, 140 0)',
               'SRID=27700;LINESTRING(100 0, 100 90)',
               'SRID=27700;LINESTRING(500 500, 510 500, 510 510, 500 510, 500 500)',
               'SRID=27700;LINESTRING(0 0, 10 0)']::geometry[], 40) s
 ORDER BY 1, 2, 3, 4;
SELECT count(*) AS parts FROM crimesnap.street_segments(ARRAY['n'], ARRAY['main'],
         ARRAY['SRID=27700;LINESTRING(0 0, 100 0)']::geometry[], 0);
SELECT * FROM crimesnap.street_segments(ARRAY['n'], ARRAY['main'], ARRAY['SRID=27700;POINT(0 0)']::geometry[], 10);
SELECT * FROM crimesnap.street_segments(ARRAY['n'], ARRAY['main'], ARRAY['SRID=27700;LINESTRING(0 0, 1 0)']::geometry[], -1);

-- ---- keeping clear of properties ----
-- An address 5 m from the centreline keeps the point sqrt(10.01^2 - 5^2) m along the line;
-- one on each side of the target pushes it to the nearer clear stretch; a line wholly
-- within reach of an address has no clear point.
SELECT ST_AsText(ST_SnapToGrid(crimesnap.clear_point('SRID=27700;LINESTRING(0 0, 100 0)', 'SRID=27700;POINT(50 3)',
                                                     'SRID=27700;MULTIPOINT((50 5))', 10), 0.0001)) AS one_address,
       ST_AsText(ST_SnapToGrid(crimesnap.clear_point('SRID=27700;LINESTRING(0 0, 100 0)', 'SRID=27700;POINT(50 0)',
                                                     'SRID=27700;MULTIPOINT((45 5), (56 -5))', 10), 0.0001)) AS two_addresses,
       crimesnap.clear_point('SRID=27700;LINESTRING(0 0, 10 0)', 'SRID=27700;POINT(5 0)',
                             'SRID=27700;POINT(5 1)', 10) IS NULL AS nowhere_clear,
       ST_AsText(crimesnap.clear_point('SRID=27700;LINESTRING(0 0, 10 0)', 'SRID=27700;POINT(5 7)', NULL, 10)) AS no_addresses,
       ST_AsText(crimesnap.clear_point('SRID=27700;MULTILINESTRING((0 0, 10 0), (0 50, 10 50))', 'SRID=27700;POINT(5 1)',
                                       'SRID=27700;POINT(5 0)', 10)) AS other_line;
SELECT crimesnap.clear_point('SRID=27700;POINT(0 0)', 'SRID=27700;POINT(5 0)', NULL, 10);
SELECT crimesnap.clear_point('SRID=27700;LINESTRING(0 0, 10 0)', 'SRID=27700;POINT(5 0)', NULL, -1);

-- ---- choosing points ----
SET crimesnap.min_addresses = 2;
-- Four street candidates in a row, addresses bunched at the west end; a place with none
-- nearer to it than to a street point; a place that would serve one address; a force point
-- that would take a street point below k, and one that would not.
SELECT s.rank, s.kept, s.catchment, s.reason
  FROM crimesnap.select_snap_points(
         ARRAY[(1, 'SRID=27700;POINT(0 0)', 'n', 'street'), (2, 'SRID=27700;POINT(10 0)', 'n', 'street'),
               (3, 'SRID=27700;POINT(20 0)', 'n', 'street'), (4, 'SRID=27700;POINT(100 0)', 'n', 'street'),
               (5, 'SRID=27700;POINT(0 500)', 'n', 'place'), (6, 'SRID=27700;POINT(100 30)', 'n', 'place'),
               (7, 'SRID=27700;POINT(0 1.2)', 'n', 'force'), (8, 'SRID=27700;POINT(200 0)', 'n', 'force')]::crimesnap.snap_candidate[],
         ARRAY[(1, 'SRID=27700;POINT(0 1)', NULL, 'n'), (2, 'SRID=27700;POINT(1 1)', NULL, 'n'),
               (3, 'SRID=27700;POINT(9 1)', NULL, 'n'), (4, 'SRID=27700;POINT(11 1)', NULL, 'n'),
               (5, 'SRID=27700;POINT(19 1)', NULL, 'n'), (6, 'SRID=27700;POINT(100 20)', NULL, 'n'),
               (7, 'SRID=27700;POINT(500 500)', NULL, 'elsewhere')]::crimesnap.address_input[], 2) s
 ORDER BY 1;
RESET crimesnap.min_addresses;
SELECT * FROM crimesnap.select_snap_points(ARRAY[(1, 'SRID=27700;POINT(0 0)', 'n', 'street')]::crimesnap.snap_candidate[],
                                           '{}', 2);
SELECT * FROM crimesnap.select_snap_points(ARRAY[(2, 'SRID=27700;POINT(0 0)', 'n', 'street'),
                                                 (1, 'SRID=27700;POINT(1 0)', 'n', 'street')]::crimesnap.snap_candidate[], '{}');
SELECT * FROM crimesnap.select_snap_points(ARRAY[(1, 'SRID=27700;POINT(0 0)', 'n', 'kiosk')]::crimesnap.snap_candidate[], '{}');

-- ---- whole builds on a small made-up place ----
BEGIN;
INSERT INTO crimesnap.force VALUES ('testshire', 'Testshire Police');
INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom) VALUES
  ('T-W', 'testshire', 'Testshire West', ST_MakeEnvelope(530000, 180000, 530400, 180600, 27700)),
  ('T-E', 'testshire', 'Testshire East', ST_MakeEnvelope(530400, 180000, 530800, 180300, 27700));
INSERT INTO crimesnap.lsoa (lsoa_code, name, geom) VALUES
  ('E01999901', 'Testshire 001A', ST_MakeEnvelope(530000, 180000, 530400, 180600, 27700)),
  ('E01999902', 'Testshire 001B', ST_MakeEnvelope(530400, 180000, 530800, 180300, 27700));
INSERT INTO crimesnap.street (street_id, name, highway, geom) VALUES
  (1, 'Long Street', 'residential', 'SRID=27700;LINESTRING(530000 180150, 530150 180151, 530300 180150)'),
  (2, 'LONG ST.',    'residential', 'SRID=27700;LINESTRING(530300 180150, 530800 180150)'),
  (3, 'Short Lane',  'residential', 'SRID=27700;LINESTRING(530200 180150, 530200 180300)'),
  (4, 'Mill Road',   'tertiary',    'SRID=27700;LINESTRING(530600 180000, 530600 180150)'),
  (5, 'Mill Yard',   'service',     'SRID=27700;LINESTRING(530600 180100, 530700 180100)'),
  (6, NULL,          'footway',     'SRID=27700;LINESTRING(530100 180150, 530100 180300)');
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 100 + i * 2 + side, CASE WHEN i % 3 = 0 THEN 'Long St' ELSE 'Long Street' END,
       ST_SetSRID(ST_MakePoint(530020 + 40 * i, 180150 + CASE side WHEN 0 THEN 15 ELSE -15 END), 27700)
  FROM generate_series(0, 19) i, generate_series(0, 1) side;
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 200 + i, 'Short Lane', ST_SetSRID(ST_MakePoint(530215 - CASE WHEN i = 5 THEN 30 ELSE 0 END, 180190 + 20 * i), 27700)
  FROM generate_series(0, 5) i;
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 300 + i * 2 + side, CASE WHEN i = 0 THEN NULL ELSE 'Mill Rd' END,
       ST_SetSRID(ST_MakePoint(530600 + CASE side WHEN 0 THEN 15 ELSE -15 END, 180010 + 20 * i), 27700)
  FROM generate_series(0, 6) i, generate_series(0, 1) side;
INSERT INTO crimesnap.public_place (place_id, class, geom) VALUES
  (1, 'Park', 'SRID=27700;POINT(530100 180580)'),
  (2, 'Parking Area', 'SRID=27700;POINT(530760 180020)');

-- Every address counts once: 40 on Long Street (20 in each neighbourhood), 6 on Short Lane,
-- 14 on Mill Road (two of them without a name, placed by the nearest centreline).
SELECT neighbourhood_id, street_key, count(*) AS addresses, count(*) FILTER (WHERE matched_by = 'nearest') AS by_nearest
  FROM crimesnap.address_streets() GROUP BY 1, 2 ORDER BY 1, 2;

-- Street mode: Long Street in each neighbourhood and Mill Road (Short Lane has 6 < 12), the
-- park (no address is nearer to it than to a street point), but not the car park (which
-- would serve a few addresses: between 1 and k - 1).
SELECT crimesnap.build_snap_points('street') AS v1 \gset
SELECT p.neighbourhood_id, p.kind, p.label, p.address_count, p.lsoa_code,
       ST_AsText(ST_SnapToGrid(p.geom, 0.01)) AS point
  FROM crimesnap.snap_point p WHERE p.version = :v1 ORDER BY 1, 2, 3;
SELECT mode, min_addresses, rule, is_current, point_count, previous_version IS NULL AS first_set,
       min_property_distance, build_notes - 'kept_ids' AS notes
  FROM crimesnap.snap_point_set WHERE version = :v1;
SELECT count(*) AS violations FROM crimesnap.audit_snap_points(:v1);
SELECT count(*) FILTER (WHERE change = 'added') AS added, count(*) AS changes
  FROM crimesnap.snap_point_change WHERE version = :v1;
-- Every point's catchment area, clipped to its neighbourhood: the areas of a neighbourhood
-- tile it.
SELECT p.neighbourhood_id, count(*) AS areas, round(sum(ST_Area(c.geom))::numeric) AS area,
       round(ST_Area(n.geom)::numeric) AS neighbourhood_area, bool_and(ST_Intersects(c.geom, p.geom)) AS holds_its_point
  FROM crimesnap.snap_point_catchment c
  JOIN crimesnap.snap_point p USING (version, point_id)
  JOIN crimesnap.neighbourhood n USING (neighbourhood_id)
 WHERE c.version = :v1 GROUP BY 1, n.geom ORDER BY 1;

-- The same input again: nothing moves, so every id is kept and the changelog is empty.
SELECT crimesnap.build_snap_points('street') AS v2 \gset
SELECT (SELECT count(*) FROM crimesnap.snap_point_change WHERE version = :v2) AS changes,
       (SELECT array_agg(point_id ORDER BY point_id) FROM crimesnap.snap_point WHERE version = :v1)
     = (SELECT array_agg(point_id ORDER BY point_id) FROM crimesnap.snap_point WHERE version = :v2) AS same_ids,
       (SELECT previous_version FROM crimesnap.snap_point_set WHERE version = :v2) = :v1 AS relative_to_v1;

-- Short Lane gains 8 addresses and gets a point; Mill Road's point moves when the road is
-- extended (it keeps its id); the park goes.
INSERT INTO crimesnap.address (address_id, street_name, geom)
SELECT 400 + i, 'Short Lane', ST_SetSRID(ST_MakePoint(530185, 180190 + 10 * i), 27700) FROM generate_series(0, 7) i;
UPDATE crimesnap.street SET geom = 'SRID=27700;LINESTRING(530600 180000, 530600 180180)' WHERE street_id = 4;
DELETE FROM crimesnap.public_place WHERE place_id = 1;
SELECT crimesnap.build_snap_points('street') AS v3 \gset
SELECT c.change, c.label, round(c.distance::numeric, 2) AS distance
  FROM crimesnap.snap_point_change c WHERE c.version = :v3 ORDER BY 1, 2;
SELECT count(*) AS violations FROM crimesnap.audit_snap_points(:v3);

-- Dense mode: more points, each still serving at least k addresses.
SELECT crimesnap.build_snap_points('dense') AS v4 \gset
SELECT mode, point_count, segment_length, build_notes->'street_candidates' AS candidates
  FROM crimesnap.snap_point_set WHERE version = :v4;
SELECT p.neighbourhood_id, p.kind, p.label, p.address_count, ST_AsText(ST_SnapToGrid(p.geom, 0.01)) AS point
  FROM crimesnap.snap_point p WHERE p.version = :v4 ORDER BY 1, 2, 3, 5;
SELECT count(*) AS violations FROM crimesnap.audit_snap_points(:v4);
SELECT (SELECT sum(address_count) FROM crimesnap.snap_point WHERE version = :v4) AS addresses_in_catchments,
       (SELECT count(*) FROM crimesnap.address) AS addresses;

-- Only the current set is published as catchment areas, without any address count.
SELECT count(*) AS areas, count(DISTINCT version) AS versions, min(version) = :v4 AS current_only
  FROM crimesnap_api.catchment;
SELECT attname FROM pg_attribute WHERE attrelid = 'crimesnap_api.catchment'::regclass AND attnum > 0 ORDER BY attnum;

ROLLBACK;

-- Bad arguments.
SELECT crimesnap.build_snap_points('sparse');
SELECT crimesnap.build_snap_points('street', 11);
SELECT crimesnap.build_snap_points('street', NULL, 'centre');
SELECT crimesnap.build_snap_point_set('dense', NULL, 'midpoint', true, 0);
SELECT crimesnap.build_snap_points('street');
SELECT * FROM crimesnap.audit_snap_points(-1);
