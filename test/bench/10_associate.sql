-- test/bench/10_associate.sql: address-to-street association, crimesnap's C against PostGIS.
--
-- A synthetic town, generated deterministically: 40,040 street segments (a 100 m grid of
-- three-vertex lines, runs of five blocks sharing a name, about 3,600 distinct names) and
-- 400,400 addresses beside them (10 per segment, 8 to 15 m from the centreline; 80% carry
-- their street's name as spelt, 10% an abbreviated or upper-case spelling, 5% no name, 5%
-- another street's name).
--
-- The same job three ways, in the same run:
--   postgis_knn    the LATERAL join of the issue: ORDER BY geom <-> address LIMIT 1, per address
--   c_nearest      crimesnap.associate_addresses() with no address names: the same answer
--   c_association  crimesnap.associate_addresses() as the builder calls it: name first
--                  (within 250 m), nearest otherwise
-- Each timing includes collecting the input arrays (one scan, no sort: the association of an
-- address does not depend on the order of the arrays) and writing the result to a temporary
-- table.
\set QUIET on
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench_assoc CASCADE;
CREATE SCHEMA bench_assoc;

CREATE FUNCTION bench_assoc.rnd(key text) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
  SELECT ((hashtextextended(key, 42) & 9007199254740991)::double precision / 9007199254740992.0)
$$;

-- Streets: row j / column i of a 100 m grid; a run of 5 blocks is one named street.
CREATE TABLE bench_assoc.street AS
WITH word AS (SELECT ARRAY['Acacia','Baker','Chapel','Dorset','Elm','Foundry','Granary','Hazel',
    'Iris','Juniper','Kestrel','Laurel','Mill','Nelson','Orchard','Priory','Queens','Rowan',
    'Station','Tanner','Union','Vicarage','Willow','Yew','Albion','Bridge','Castle','Dean',
    'Eastgate','Friars','George','Hope','Kings','Lime','Market','North','Oak','Park','Quarry',
    'Rope','Sheep','Tower','Victoria','Water','Abbey','Bell','Church','Duke','Exchange','Fern'] AS w,
    ARRAY['Street','Road','Lane','Avenue','Place','Row','Terrace','Way'] AS k,
    ARRAY['','North ','South ','East ','West ','Upper ','Lower ','Great ','Little '] AS p),
seg AS (
  SELECT h, j, i FROM generate_series(0, 1) h, generate_series(0, 139) j, generate_series(0, 142) i
)
SELECT row_number() OVER (ORDER BY h, j, i) AS street_id,
       (SELECT p[1 + floor(bench_assoc.rnd(format('p %s %s %s', h, j, i / 5)) * 9)::int]
               || w[1 + floor(bench_assoc.rnd(format('w %s %s %s', h, j, i / 5)) * 50)::int] || ' '
               || k[1 + floor(bench_assoc.rnd(format('k %s %s %s', h, j, i / 5)) * 8)::int] FROM word) AS name,
       CASE WHEN h = 0 THEN
         ST_SetSRID(ST_MakeLine(ARRAY[
           ST_MakePoint(500000 + i * 100, 200000 + j * 100),
           ST_MakePoint(500000 + i * 100 + 50, 200000 + j * 100 + 4 * (bench_assoc.rnd(format('kink %s %s %s', h, j, i)) - 0.5)),
           ST_MakePoint(500000 + (i + 1) * 100, 200000 + j * 100)]), 27700)
       ELSE
         ST_SetSRID(ST_MakeLine(ARRAY[
           ST_MakePoint(500000 + j * 100, 200000 + i * 100),
           ST_MakePoint(500000 + j * 100 + 4 * (bench_assoc.rnd(format('kink %s %s %s', h, j, i)) - 0.5), 200000 + i * 100 + 50),
           ST_MakePoint(500000 + j * 100, 200000 + (i + 1) * 100)]), 27700)
       END AS geom
  FROM seg;
ALTER TABLE bench_assoc.street ADD PRIMARY KEY (street_id);
CREATE INDEX ON bench_assoc.street USING gist (geom);

CREATE TABLE bench_assoc.address AS
SELECT row_number() OVER (ORDER BY s.street_id, n) AS address_id,
       CASE WHEN r < 0.80 THEN s.name
            WHEN r < 0.85 THEN upper(s.name)
            WHEN r < 0.90 THEN regexp_replace(regexp_replace(s.name, ' Street$', ' St'), ' Road$', ' Rd.')
            WHEN r < 0.95 THEN NULL
            ELSE (SELECT o.name FROM bench_assoc.street o
                   WHERE o.street_id = 1 + floor(bench_assoc.rnd('other ' || s.street_id || ' ' || n) * 40000)::int)
       END AS street_name,
       ST_SetSRID(ST_Translate(ST_LineInterpolatePoint(s.geom, (n + 0.5) / 10.0),
         CASE WHEN ST_X(ST_StartPoint(s.geom)) = ST_X(ST_EndPoint(s.geom)) THEN side * off ELSE 0 END,
         CASE WHEN ST_X(ST_StartPoint(s.geom)) = ST_X(ST_EndPoint(s.geom)) THEN 0 ELSE side * off END), 27700) AS geom
  FROM bench_assoc.street s
  CROSS JOIN generate_series(0, 9) n
  CROSS JOIN LATERAL (SELECT bench_assoc.rnd('r ' || s.street_id || ' ' || n) AS r,
                             CASE WHEN n % 2 = 0 THEN 1 ELSE -1 END AS side,
                             8 + 7 * bench_assoc.rnd('off ' || s.street_id || ' ' || n) AS off) x;
ALTER TABLE bench_assoc.address ADD PRIMARY KEY (address_id);
VACUUM ANALYZE bench_assoc.street;
VACUUM ANALYZE bench_assoc.address;

CREATE TABLE bench_assoc.timing (run text, ms double precision, rows bigint);

-- 1. PostGIS: one KNN index probe per address.
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE r_knn AS
SELECT a.address_id,
       (SELECT s.street_id FROM bench_assoc.street s ORDER BY s.geom <-> a.geom LIMIT 1) AS street_id
  FROM bench_assoc.address a;
INSERT INTO bench_assoc.timing
SELECT 'postgis_knn', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz), count(*) FROM r_knn;

-- 2. crimesnap, nearest street only: exactly the job above.
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE r_c_nearest AS
SELECT x.address_id, x.street_id
  FROM (SELECT array_agg(ROW(a.address_id, a.geom, NULL, NULL)::crimesnap.address_input) AS addresses
          FROM bench_assoc.address a) ad,
       (SELECT array_agg(ROW(s.street_id, s.geom, s.name, NULL)::crimesnap.street_input) AS streets
          FROM bench_assoc.street s) st,
       crimesnap.associate_addresses(ad.addresses, st.streets) x;
INSERT INTO bench_assoc.timing
SELECT 'c_nearest', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz), count(*) FROM r_c_nearest;

-- 3. crimesnap, the builder's association: names first.
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE r_c_assoc AS
SELECT x.address_id, x.street_id, x.matched_by
  FROM (SELECT array_agg(ROW(a.address_id, a.geom, a.street_name, NULL)::crimesnap.address_input) AS addresses
          FROM bench_assoc.address a) ad,
       (SELECT array_agg(ROW(s.street_id, s.geom, s.name, NULL)::crimesnap.street_input) AS streets
          FROM bench_assoc.street s) st,
       crimesnap.associate_addresses(ad.addresses, st.streets) x;
INSERT INTO bench_assoc.timing
SELECT 'c_association', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz), count(*) FROM r_c_assoc;

\pset footer off
\echo 'data: streets, addresses'
SELECT (SELECT count(*) FROM bench_assoc.street) AS streets, (SELECT count(*) FROM bench_assoc.address) AS addresses,
       (SELECT count(DISTINCT name) FROM bench_assoc.street) AS street_names;
\echo 'timings (ms) and speed-up over the PostGIS KNN join'
SELECT t.run, round(t.ms::numeric, 0) AS ms, t.rows,
       round((k.ms / t.ms)::numeric, 1) AS speedup_vs_postgis_knn
  FROM bench_assoc.timing t CROSS JOIN (SELECT ms FROM bench_assoc.timing WHERE run = 'postgis_knn') k
 ORDER BY t.ms DESC;
\echo 'c_nearest agrees with postgis_knn (same nearest street, or a street exactly as near):'
SELECT count(*) AS addresses,
       count(*) FILTER (WHERE c.street_id = k.street_id) AS same_street,
       count(*) FILTER (WHERE c.street_id <> k.street_id
                          AND ST_Distance(sc.geom, a.geom) = ST_Distance(sk.geom, a.geom)) AS equally_near,
       count(*) FILTER (WHERE c.street_id <> k.street_id
                          AND ST_Distance(sc.geom, a.geom) <> ST_Distance(sk.geom, a.geom)) AS different
  FROM r_knn k
  JOIN r_c_nearest c USING (address_id)
  JOIN bench_assoc.address a USING (address_id)
  JOIN bench_assoc.street sk ON sk.street_id = k.street_id
  JOIN bench_assoc.street sc ON sc.street_id = c.street_id;
\echo 'c_association: how each address was matched'
SELECT matched_by, count(*) FROM r_c_assoc GROUP BY 1 ORDER BY 1;
DROP SCHEMA bench_assoc CASCADE;
