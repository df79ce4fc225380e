-- make bench: snapping.  crimesnap's cached C index against the plain PostGIS LATERAL
-- KNN join of issue 4, on data generated here (deterministic: fixed seeds), in one run.
--
--   1. 300,000 crimes against 14,016 points in 48 neighbourhoods (the issue's figures):
--      the KNN SQL with a GiST index, then crimesnap's set-based and scalar forms, the
--      index build, its memory, and PostGIS's own neighbourhood lookup for comparison.
--   2. A national month: 600,000 crimes against 750,000 points in 4,800 neighbourhoods.
--
-- Times are clock_timestamp() differences around each statement, in one backend with
-- parallel workers off.  The figures are explained in docs/snapping.md.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE TABLE bench.result (step integer, part text, what text, seconds numeric, rows bigint,
                           worst numeric, reps integer);

-- Time one statement, reps times (after an untimed "before" statement each time), and
-- record the fastest and the slowest run: the machine is shared, the minimum is the
-- figure least disturbed by other work.
CREATE PROCEDURE bench.timed(part text, what text, sql text, reps integer DEFAULT 3,
                             before text DEFAULT NULL) LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  t numeric;
  best numeric;
  worst numeric;
  n bigint;
BEGIN
  FOR i IN 1..reps LOOP
    IF before IS NOT NULL THEN
      EXECUTE before;
    END IF;
    t0 := clock_timestamp();
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    t := extract(epoch FROM clock_timestamp() - t0);
    best := least(best, t);
    worst := greatest(worst, t);
  END LOOP;
  INSERT INTO bench.result VALUES ((SELECT count(*) + 1 FROM bench.result), part, what, best, n, worst, reps);
END $$;

CREATE FUNCTION bench.seed(key text) RETURNS integer LANGUAGE sql IMMUTABLE AS
  $$ SELECT ((hashtext(key)::bigint & 1073741823) + 1)::integer $$;

-- An area split into neighbourhoods (Voronoi cells of seeds, edges densified so the
-- boundaries have real vertices), points and crimes generated inside each cell.
CREATE FUNCTION bench.make_area(force text, x0 float8, y0 float8, w float8, h float8,
                                n_nb integer, pts_per_nb integer, crimes_per_nb integer,
                                segment float8) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v integer;
BEGIN
  PERFORM setseed(0.2026);
  INSERT INTO crimesnap.force VALUES (force, force);
  INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom)
  SELECT force || '-' || lpad(row_number() OVER (ORDER BY ST_XMin(c.geom), ST_YMin(c.geom))::text, 5, '0'),
         force, 'cell', ST_Multi(ST_Segmentize(c.geom, segment))
    FROM (SELECT ST_SetSRID(ST_Intersection(d.geom, ST_MakeEnvelope(x0, y0, x0 + w, y0 + h)), 27700) AS geom
            FROM ST_Dump((SELECT ST_VoronoiPolygons(ST_Collect(ST_MakePoint(x0 + random() * w, y0 + random() * h)),
                                                    0, ST_MakeEnvelope(x0, y0, x0 + w, y0 + h))
                            FROM generate_series(1, n_nb))) d) c;
  INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule) VALUES ('dense', 12, 'midpoint')
  RETURNING version INTO v;
  INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count,
                                    longitude, latitude, geom)
  SELECT v, row_number() OVER (), n.neighbourhood_id, 'street', 'Bench Street', 12, 0, 0,
         ST_SetSRID(p.geom, 27700)
    FROM crimesnap.neighbourhood n,
         LATERAL ST_Dump(ST_GeneratePoints(n.geom, pts_per_nb, bench.seed(n.neighbourhood_id))) p
   WHERE n.force_id = force;
  PERFORM crimesnap.set_current_snap_points(v);
  EXECUTE format('CREATE TABLE bench.crime_%s AS
    SELECT row_number() OVER ()::bigint AS id, ST_SetSRID(p.geom, 27700) AS geom, n.neighbourhood_id AS nb
      FROM crimesnap.neighbourhood n,
           LATERAL ST_Dump(ST_GeneratePoints(n.geom, %s, 7 + bench.seed(n.neighbourhood_id))) p
     WHERE n.force_id = %L', force, crimes_per_nb, force);
END $$;

\echo
\echo '-- 1. 300,000 crimes, 14,016 points, 48 neighbourhoods'
SELECT bench.make_area('benchshire', 600000, 600000, 20000, 15000, 48, 292, 6250, 50) \g /dev/null
CREATE TABLE bench.snap_point AS
SELECT p.point_id AS id, p.geom FROM crimesnap.snap_point p
 WHERE p.version = crimesnap.current_snap_version();
CREATE INDEX ON bench.snap_point USING gist (geom);
CREATE TABLE bench.crime AS SELECT id, geom FROM bench.crime_benchshire;
VACUUM ANALYZE bench.snap_point;
VACUUM ANALYZE bench.crime;
VACUUM ANALYZE crimesnap.snap_point;
SELECT (SELECT count(*) FROM bench.crime) AS crimes, (SELECT count(*) FROM bench.snap_point) AS points,
       (SELECT count(*) FROM crimesnap.neighbourhood) AS neighbourhoods,
       (SELECT sum(ST_NPoints(geom)) FROM crimesnap.neighbourhood) AS boundary_vertices;

-- The issue's SQL, verbatim, with a GiST index on snap_point.geom.
SET search_path = bench, public;
CALL bench.timed('300k', 'PostGIS LATERAL KNN (GiST)', $$
  CREATE TEMP TABLE r_knn AS
  SELECT c.id, p.id AS point_id FROM crime c
  CROSS JOIN LATERAL (SELECT id FROM snap_point p ORDER BY p.geom <-> c.geom LIMIT 1) p $$, before => 'DROP TABLE IF EXISTS r_knn');
RESET search_path;

CALL bench.timed('300k', 'building snap_many''s input arrays alone (array_agg)', $$
  SELECT cardinality((SELECT array_agg(id ORDER BY id) FROM bench.crime))
         + cardinality((SELECT array_agg(geom ORDER BY id) FROM bench.crime)) $$);
CALL bench.timed('300k', 'crimesnap cold: build index + snap_many', $$
  CREATE TEMP TABLE r_cold AS SELECT * FROM crimesnap.snap_many(
    (SELECT array_agg(id ORDER BY id) FROM bench.crime), (SELECT array_agg(geom ORDER BY id) FROM bench.crime)) $$, before => 'DROP TABLE IF EXISTS r_cold; SELECT crimesnap.snap_index_reset()');
CALL bench.timed('300k', 'crimesnap snap_many (neighbourhood from location)', $$
  CREATE TEMP TABLE r_many AS SELECT * FROM crimesnap.snap_many(
    (SELECT array_agg(id ORDER BY id) FROM bench.crime), (SELECT array_agg(geom ORDER BY id) FROM bench.crime)) $$, before => 'DROP TABLE IF EXISTS r_many');
CALL bench.timed('300k', 'crimesnap snap_many (neighbourhood given)', $$
  CREATE TEMP TABLE r_given AS SELECT * FROM crimesnap.snap_many(
    (SELECT array_agg(id ORDER BY id) FROM bench.crime_benchshire),
    (SELECT array_agg(geom ORDER BY id) FROM bench.crime_benchshire),
    (SELECT array_agg(nb ORDER BY id) FROM bench.crime_benchshire)) $$, before => 'DROP TABLE IF EXISTS r_given');
CALL bench.timed('300k', 'crimesnap scalar snap(geom)', $$
  CREATE TEMP TABLE r_scalar AS SELECT c.id, crimesnap.snap(c.geom) AS point_id FROM bench.crime c $$, before => 'DROP TABLE IF EXISTS r_scalar');
CALL bench.timed('300k', 'crimesnap neighbourhood_at(geom)', $$
  CREATE TEMP TABLE r_nb_c AS SELECT c.id, crimesnap.neighbourhood_at(c.geom) AS nb FROM bench.crime c $$, before => 'DROP TABLE IF EXISTS r_nb_c');
CALL bench.timed('300k', 'PostGIS ST_Intersects neighbourhood lookup (GiST)', $$
  CREATE TEMP TABLE r_nb_sql AS SELECT c.id,
    (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n WHERE ST_Intersects(n.geom, c.geom)
      ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1) AS nb FROM bench.crime c $$, before => 'DROP TABLE IF EXISTS r_nb_sql');
SELECT built, points, neighbourhoods, round(build_ms::numeric, 1) AS build_ms,
       pg_size_pretty(index_bytes) AS index_memory, boundary_vertices,
       round(boundary_build_ms::numeric, 1) AS boundary_build_ms, pg_size_pretty(boundary_bytes) AS boundary_memory
  FROM crimesnap.snap_index_stats() \gset s300_
SELECT (SELECT count(*) FROM r_many m JOIN r_scalar s USING (id) WHERE m.point_id IS DISTINCT FROM s.point_id)
       + (SELECT count(*) FROM r_many m JOIN r_given g USING (id) WHERE m.point_id IS DISTINCT FROM g.point_id)
       + (SELECT count(*) FROM r_many m JOIN r_cold g USING (id) WHERE m.point_id IS DISTINCT FROM g.point_id)
       AS forms_disagreeing,
       (SELECT count(*) FROM r_nb_c c JOIN r_nb_sql s USING (id) WHERE c.nb IS DISTINCT FROM s.nb) AS neighbourhood_lookups_disagreeing,
       (SELECT round(100.0 * count(*) FILTER (WHERE m.point_id = k.point_id) / count(*), 2)
          FROM r_many m JOIN r_knn k USING (id)) AS pct_same_as_unrestricted_knn;
\echo '   (the KNN baseline ignores neighbourhoods; crimesnap never crosses one, so a few answers differ by design)'

\echo
\echo '-- 2. a national month: 600,000 crimes, 750,000 points, 4,800 neighbourhoods'
UPDATE crimesnap.snap_point_set SET is_current = false;
SELECT bench.make_area('nationshire', 150000, 50000, 400000, 500000, 4800, 157, 125, 400) \g /dev/null
DELETE FROM bench.crime_nationshire WHERE id > 600000;
-- 4,800 x 157 = 753,600 points: drop 3,600 spread over all neighbourhoods (multiplying
-- by a prime coprime to 753,600 permutes the ids) to leave exactly 750,000.
DELETE FROM crimesnap.snap_point p USING crimesnap.snap_point_set s
 WHERE p.version = s.version AND s.is_current
   AND (p.point_id * 7919) % 753600 >= 750000;
VACUUM ANALYZE crimesnap.snap_point;
SELECT (SELECT count(*) FROM bench.crime_nationshire) AS crimes,
       (SELECT count(*) FROM crimesnap.snap_point p WHERE p.version = crimesnap.current_snap_version()) AS points,
       (SELECT count(*) FROM crimesnap.neighbourhood WHERE force_id = 'nationshire') AS neighbourhoods,
       (SELECT sum(ST_NPoints(geom)) FROM crimesnap.neighbourhood WHERE force_id = 'nationshire') AS boundary_vertices;
CALL bench.timed('national', 'building snap_many''s input arrays alone (array_agg)', $$
  SELECT cardinality((SELECT array_agg(id ORDER BY id) FROM bench.crime_nationshire))
         + cardinality((SELECT array_agg(geom ORDER BY id) FROM bench.crime_nationshire)) $$);
CALL bench.timed('national', 'crimesnap index build (points only)', $$
  SELECT crimesnap.snap(geom, nb) FROM bench.crime_nationshire LIMIT 1 $$,
  before => 'SELECT crimesnap.snap_index_reset()');
CALL bench.timed('national', 'crimesnap boundary load (after the points)', $$
  SELECT crimesnap.neighbourhood_at(geom) FROM bench.crime_nationshire LIMIT 1 $$, reps => 1);
CALL bench.timed('national', 'crimesnap snap_many (neighbourhood from location)', $$
  CREATE TEMP TABLE n_many AS SELECT * FROM crimesnap.snap_many(
    (SELECT array_agg(id ORDER BY id) FROM bench.crime_nationshire),
    (SELECT array_agg(geom ORDER BY id) FROM bench.crime_nationshire)) $$, before => 'DROP TABLE IF EXISTS n_many');
CALL bench.timed('national', 'crimesnap snap_many (neighbourhood given)', $$
  CREATE TEMP TABLE n_given AS SELECT * FROM crimesnap.snap_many(
    (SELECT array_agg(id ORDER BY id) FROM bench.crime_nationshire),
    (SELECT array_agg(geom ORDER BY id) FROM bench.crime_nationshire),
    (SELECT array_agg(nb ORDER BY id) FROM bench.crime_nationshire)) $$, before => 'DROP TABLE IF EXISTS n_given');
CALL bench.timed('national', 'crimesnap scalar snap(geom)', $$
  CREATE TEMP TABLE n_scalar AS SELECT c.id, crimesnap.snap(c.geom) AS point_id FROM bench.crime_nationshire c $$, before => 'DROP TABLE IF EXISTS n_scalar');
CALL bench.timed('national', 'crimesnap cold: build everything + snap_many', $$
  CREATE TEMP TABLE n_cold AS SELECT * FROM crimesnap.snap_many(
    (SELECT array_agg(id ORDER BY id) FROM bench.crime_nationshire),
    (SELECT array_agg(geom ORDER BY id) FROM bench.crime_nationshire)) $$, before => 'DROP TABLE IF EXISTS n_cold; SELECT crimesnap.snap_index_reset()');
SELECT points, neighbourhoods, round(build_ms::numeric, 1) AS build_ms,
       pg_size_pretty(index_bytes) AS index_memory, index_bytes < 64 * 1024 * 1024 AS index_under_64_mb,
       boundary_vertices, round(boundary_build_ms::numeric, 1) AS boundary_build_ms,
       pg_size_pretty(boundary_bytes) AS boundary_memory
  FROM crimesnap.snap_index_stats();
SELECT (SELECT count(*) FROM n_many m JOIN n_given g USING (id) WHERE m.point_id IS DISTINCT FROM g.point_id)
       + (SELECT count(*) FROM n_many m JOIN n_scalar g USING (id) WHERE m.point_id IS DISTINCT FROM g.point_id)
       + (SELECT count(*) FROM n_many m JOIN n_cold g USING (id) WHERE m.point_id IS DISTINCT FROM g.point_id)
       AS forms_disagreeing,
       (SELECT count(point_id) FROM n_many) AS mapped;

\echo
\echo '-- results'
SELECT r.part, r.what, round(r.seconds, 3) AS seconds, round(r.worst, 3) AS slowest, r.reps, r.rows,
       CASE WHEN r.rows > 1 THEN round(r.rows / nullif(r.seconds, 0)) END AS crimes_per_s,
       CASE WHEN r.part = '300k' AND r.what LIKE 'crimesnap%' THEN
         round((SELECT k.seconds FROM bench.result k WHERE k.what LIKE 'PostGIS LATERAL KNN%') / nullif(r.seconds, 0), 1)
       END AS x_faster_than_knn
  FROM bench.result r ORDER BY r.step;
\echo
SELECT round((SELECT seconds FROM bench.result WHERE what LIKE 'PostGIS LATERAL KNN%')
             / (SELECT seconds FROM bench.result WHERE part = '300k' AND what = 'crimesnap snap_many (neighbourhood from location)'), 1)
         AS ratio_knn_over_snap_many,
       round((SELECT seconds FROM bench.result WHERE what LIKE 'PostGIS LATERAL KNN%')
             / (SELECT seconds FROM bench.result WHERE part = '300k' AND what LIKE 'crimesnap cold%'), 1)
         AS ratio_knn_over_cold_snap_many,
       :'s300_build_ms' AS index_build_ms_14k, :'s300_index_memory' AS index_memory_14k,
       (SELECT seconds FROM bench.result WHERE part = 'national' AND what = 'crimesnap snap_many (neighbourhood from location)') < 5
         AS national_month_under_5_s;
