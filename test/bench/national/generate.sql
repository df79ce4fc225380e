-- The synthetic England and Wales of the national bench (test/bench/national/run.sql).
-- Deterministic: a fixed seed, formulas for the place, random() after setseed() for the
-- records.  :scale is 1 for the full country, 0.1 for a tenth.
--
-- The place, at scale 1:
--   43 forces, sized like the real ones (a few large, many small: force i weighs 1/(i+1),
--     so the largest has 15 % of the neighbourhoods and records and the smallest 0.7 %);
--   4,800 neighbourhoods, 2 km squares on one grid, each force a run of consecutive cells;
--   19,200 LSOA-like areas, four 1 km squares a neighbourhood;
--   403,200 street segments: in each neighbourhood six east-west and six north-south
--     streets (a name each), cut at their crossings into seven segments;
--   3,072,000 addresses, 640 a neighbourhood, 12 m either side of its street's centreline
--     (crimesnap.min_property_distance is 10 m), each with a UPRN and its street's name;
--   4,800 public places (a car park in a block a neighbourhood).
-- Every table is written one force at a time (one INSERT per force), so no statement
-- builds a value anywhere near PostgreSQL's 1 GB limit: the generator reaches the real
-- country's 29 million addresses with :scale 9.5 (45,600 neighbourhoods) by the same
-- statements.  The input tables' row triggers (geometry normalisation, duplicate report)
-- are skipped while generating (session_replication_role = replica): the geometry is made
-- in EPSG:27700 and valid, and the generator is not what is measured.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA nat;
CREATE TABLE nat.param AS SELECT :scale::numeric AS scale;
CREATE TABLE nat.result (scale numeric, step integer, part text, what text, seconds numeric,
                         records bigint, floor_seconds numeric, note text);

-- The forces and their share of everything.
CREATE TABLE nat.force_plan AS
WITH w AS (
  SELECT i, 1.0 / (i + 1) AS w FROM generate_series(1, 43) i
), n AS (
  SELECT i, w / sum(w) OVER () AS share FROM w
)
SELECT i AS fno, 'force-' || lpad(i::text, 2, '0') AS force_id, share,
       greatest(1, round(4800 * :scale * share))::integer AS n_nb,
       greatest(10, round(600000 * :scale * share))::integer AS records
  FROM n;
ALTER TABLE nat.force_plan ADD COLUMN nb_first integer;
UPDATE nat.force_plan f SET nb_first = x.first
  FROM (SELECT fno, coalesce(sum(n_nb) OVER (ORDER BY fno ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::integer AS first
          FROM nat.force_plan) x
 WHERE x.fno = f.fno;
SELECT sum(n_nb) AS n_nb_total, round(sqrt(sum(n_nb) * 1.2))::integer AS grid_w FROM nat.force_plan \gset

-- Geometry of the grid: cell gi at column gi % grid_w, row gi / grid_w, 2 km a side.
SELECT format('CREATE FUNCTION nat.x0(gi integer) RETURNS float8 LANGUAGE sql IMMUTABLE AS
  $$ SELECT 100000::float8 + (gi %% %s) * 2000::float8 $$', :grid_w) \gexec
SELECT format('CREATE FUNCTION nat.y0(gi integer) RETURNS float8 LANGUAGE sql IMMUTABLE AS
  $$ SELECT 100000::float8 + (gi / %s) * 2000::float8 $$', :grid_w) \gexec
-- Street i (0..5) of a cell lies 2000 * (i + 1) / 7 m from the cell's west (or south) edge.
CREATE FUNCTION nat.p(i integer) RETURNS float8 LANGUAGE sql IMMUTABLE AS
  $$ SELECT 2000::float8 * (i + 1) / 7 $$;
-- Segment k (0..6) of a street runs between these offsets along it.
CREATE FUNCTION nat.seg_a(k integer) RETURNS float8 LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN k = 0 THEN 20::float8 ELSE nat.p(k - 1) END $$;
CREATE FUNCTION nat.seg_b(k integer) RETURNS float8 LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN k = 6 THEN 1980::float8 ELSE nat.p(k) END $$;
CREATE FUNCTION nat.street_name(dir integer, i integer) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT (ARRAY['Acacia','Beech','Cedar','Damson','Elder','Hazel','Larch','Maple','Rowan','Willow','Alder','Poplar'])[dir * 6 + i + 1]
            || CASE WHEN dir = 0 THEN ' Avenue' ELSE ' Road' END $$;

CREATE TABLE nat.cell AS
SELECT f.fno, f.force_id, f.nb_first + j AS gi,
       f.force_id || '-n' || lpad(j::text, 4, '0') AS neighbourhood_id
  FROM nat.force_plan f, generate_series(0, f.n_nb - 1) j;
CREATE INDEX ON nat.cell (gi);
ANALYZE nat.cell;

SET session_replication_role = replica;
INSERT INTO crimesnap.force (force_id, name)
SELECT force_id, 'Synthetic Police ' || fno FROM nat.force_plan ORDER BY fno;

-- One statement per force for every table below.
CREATE PROCEDURE nat.generate_force(f integer) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom)
  SELECT c.neighbourhood_id, c.force_id, 'Neighbourhood ' || c.gi,
         ST_Multi(ST_MakeEnvelope(nat.x0(c.gi), nat.y0(c.gi), nat.x0(c.gi) + 2000, nat.y0(c.gi) + 2000, 27700))
    FROM nat.cell c WHERE c.fno = f;
  INSERT INTO crimesnap.lsoa (lsoa_code, name, geom)
  SELECT 'E0' || lpad((c.gi * 4 + q)::text, 7, '0'), 'Synthetic ' || (c.gi * 4 + q),
         ST_Multi(ST_MakeEnvelope(nat.x0(c.gi) + (q % 2) * 1000, nat.y0(c.gi) + (q / 2) * 1000,
                                  nat.x0(c.gi) + (q % 2) * 1000 + 1000, nat.y0(c.gi) + (q / 2) * 1000 + 1000, 27700))
    FROM nat.cell c, generate_series(0, 3) q WHERE c.fno = f;
  -- dir 0: east-west at y = p(i); dir 1: north-south at x = p(i).
  INSERT INTO crimesnap.street (street_id, name, highway, geom)
  SELECT c.gi::bigint * 1000 + d * 100 + i * 10 + k, nat.street_name(d, i), 'residential',
         CASE WHEN d = 0
              THEN ST_SetSRID(ST_MakeLine(ST_MakePoint(nat.x0(c.gi) + nat.seg_a(k), nat.y0(c.gi) + nat.p(i)),
                                          ST_MakePoint(nat.x0(c.gi) + nat.seg_b(k), nat.y0(c.gi) + nat.p(i))), 27700)
              ELSE ST_SetSRID(ST_MakeLine(ST_MakePoint(nat.x0(c.gi) + nat.p(i), nat.y0(c.gi) + nat.seg_a(k)),
                                          ST_MakePoint(nat.x0(c.gi) + nat.p(i), nat.y0(c.gi) + nat.seg_b(k))), 27700) END
    FROM nat.cell c, generate_series(0, 1) d, generate_series(0, 5) i, generate_series(0, 6) k
   WHERE c.fno = f;
  -- Address a (0..639) of a cell: segment a % 84, slot a / 84 along it (8 slots), sides alternating.
  INSERT INTO crimesnap.address (address_id, street_name, postcode, geom, uprn)
  SELECT c.gi::bigint * 1000 + a, nat.street_name(s.d, s.i), NULL,
         CASE WHEN s.d = 0
              THEN ST_SetSRID(ST_MakePoint(nat.x0(c.gi) + s.along, nat.y0(c.gi) + nat.p(s.i) + s.side), 27700)
              ELSE ST_SetSRID(ST_MakePoint(nat.x0(c.gi) + nat.p(s.i) + s.side, nat.y0(c.gi) + s.along), 27700) END,
         c.gi::bigint * 1000 + a
    FROM nat.cell c, generate_series(0, 639) a,
         LATERAL (SELECT (a % 84) / 42 AS d, ((a % 84) / 7) % 6 AS i,
                         nat.seg_a(a % 7) + 20 + ((a / 84) + 0.5) * (nat.seg_b(a % 7) - nat.seg_a(a % 7) - 40) / 8 AS along,
                         CASE WHEN (a / 84) % 2 = 0 THEN 12::float8 ELSE -12::float8 END AS side) s
   WHERE c.fno = f;
  INSERT INTO crimesnap.public_place (place_id, class, geom)
  SELECT c.gi, 'Parking Area',
         ST_SetSRID(ST_MakePoint(nat.x0(c.gi) + (nat.p(1) + nat.p(2)) / 2, nat.y0(c.gi) + (nat.p(1) + nat.p(2)) / 2), 27700)
    FROM nat.cell c WHERE c.fno = f;
END $$;
SELECT format('CALL nat.generate_force(%s)', fno) FROM nat.force_plan ORDER BY fno \gexec
RESET session_replication_role;
VACUUM ANALYZE crimesnap.neighbourhood, crimesnap.lsoa, crimesnap.street, crimesnap.address, crimesnap.public_place;

-- Two months of uploads, September and October 2026, as each force's CSV would hold them:
-- a location near one of the force's addresses (5 m either way), 5 % without one (the
-- neighbourhood given instead), 35 % ASB, the rest Home Office codes, 0.1 % with an unknown
-- code (rejected).  References are fresh each month.
SELECT setseed(0.2026);
CREATE TABLE nat.upload AS
WITH codes AS (
  SELECT array_agg(o.offence_code ORDER BY o.offence_code) AS c
    FROM crimesnap.offence_code o WHERE o.force_id IS NULL
)
SELECT f.force_id AS force, m.month, r.n,
       f.force_id || '/' || to_char(m.month, 'YYMM') || '/' || lpad(r.n::text, 7, '0') AS crime_ref,
       CASE WHEN x.u_code < 0.001 THEN 'XX9'
            WHEN x.u_code < 0.35 THEN 'ASB'
            ELSE codes.c[1 + floor(x.u_pick * cardinality(codes.c))::integer] END AS offence_code,
       to_char(m.month + floor(x.u_day * 28)::integer, 'YYYY-MM-DD') AS committed_on,
       CASE WHEN x.u_loc >= 0.05 THEN round((ST_X(a.geom) + x.jx)::numeric, 1)::text END AS easting,
       CASE WHEN x.u_loc >= 0.05 THEN round((ST_Y(a.geom) + x.jy)::numeric, 1)::text END AS northing,
       CASE WHEN x.u_loc < 0.05 THEN cl.neighbourhood_id END AS neighbourhood,
       CASE WHEN x.u_code >= 0.35 AND x.u_pick < 0.3 THEN 'Investigation complete; no suspect identified' END AS outcome,
       NULL::text AS context
  FROM nat.force_plan f
  CROSS JOIN (VALUES (date '2026-09-01'), (date '2026-10-01')) m(month)
  CROSS JOIN codes
  CROSS JOIN LATERAL generate_series(1, f.records) r(n)
  CROSS JOIN LATERAL (SELECT random() AS u_code, random() AS u_pick, random() AS u_day, random() AS u_loc,
                             f.nb_first + floor(random() * f.n_nb)::integer AS gi, floor(random() * 640)::integer AS a,
                             random() * 10 - 5 AS jx, random() * 10 - 5 AS jy, r.n AS dummy) x
  JOIN nat.cell cl ON cl.gi = x.gi
  JOIN crimesnap.address a ON a.address_id = x.gi::bigint * 1000 + x.a;
CREATE INDEX ON nat.upload (force, month);
ANALYZE nat.upload;

SELECT (SELECT count(*) FROM crimesnap.force) AS forces,
       (SELECT count(*) FROM crimesnap.neighbourhood) AS neighbourhoods,
       (SELECT count(*) FROM crimesnap.lsoa) AS lsoas,
       (SELECT count(*) FROM crimesnap.street) AS street_segments,
       (SELECT count(*) FROM crimesnap.address) AS addresses,
       (SELECT count(*) FROM crimesnap.public_place) AS public_places,
       (SELECT count(*) FROM nat.upload WHERE month = '2026-09-01') AS records_a_month,
       (SELECT max(records) FROM nat.force_plan) AS largest_force_records,
       (SELECT min(records) FROM nat.force_plan) AS smallest_force_records;
