-- test/upgrade/0.1.0/town.sql: the generated town exactly as crimesnap 0.1.0's tests loaded
-- it (a frozen copy of test/fixtures/town.sql at the 0.1.0 freeze), so that the upgrade test
-- loads a 0.1.0 database through 0.1.0's own tables whatever later versions add to the
-- fixture.  Never edit it; test/upgrade/0.1.0/load.sql runs it.
--
-- Loads crimesnap's input tables the way a DBA would (forces, neighbourhoods, LSOAs,
-- streets, addresses, public places) and writes two months of a force upload, September
-- and October 2026, into town.upload, in the column layout of the documented CSV.  The
-- demo copies each force-month out to a CSV file and \copy-s it back in, as a DBA would.
--
-- The town: a 3 km x 2 km grid of named streets around BNG (450000, 200000), split into
-- a segment per block; cul-de-sacs with fewer than 12 addresses; footways and service
-- roads that must not carry points; two forces (northshire above y = 1000 m, southshire
-- below) with five neighbourhoods; 24 LSOA-like squares; a park, a car park, a station
-- and a supermarket.  Each month holds crimes at addresses, crimes in the street, ASB,
-- crimes with no location, and one bad row of every kind a batch rejects.
--
-- Every random draw is a hash of the seed and a key, so the town does not depend on the
-- order in which PostgreSQL evaluates rows.  The script opens no transaction of its own, so a
-- pgTAP test can \ir it inside its BEGIN ... ROLLBACK; run it with psql -1 otherwise.

\if :{?seed}
\else
\set seed 42
\endif

SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS town;
DROP TABLE IF EXISTS town.upload, town.street_run;

SELECT set_config('town.seed', :'seed', false) \g /dev/null
CREATE FUNCTION pg_temp.rnd(key text) RETURNS double precision
LANGUAGE sql STABLE AS $$
  SELECT ((hashtextextended(key, current_setting('town.seed')::bigint) & 9007199254740991)::double precision
          / 9007199254740992.0)
$$;
CREATE FUNCTION pg_temp.pick(key text, n integer) RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT 1 + floor(pg_temp.rnd(key) * n)::integer $$;

\set x0 450000
\set y0 200000

INSERT INTO crimesnap.force (force_id, name) VALUES
  ('northshire', 'Northshire Police'),
  ('southshire', 'Southshire Constabulary');

INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom)
SELECT id, force_id, name,
       ST_MakeEnvelope(:x0 + xmin, :y0 + ymin, :x0 + xmax, :y0 + ymax, 27700)
  FROM (VALUES
    ('NS-W', 'northshire', 'Northshire West',    0, 1000, 1500, 2000),
    ('NS-E', 'northshire', 'Northshire East', 1500, 1000, 3000, 2000),
    ('SS-W', 'southshire', 'Southshire West',    0,    0, 1000, 1000),
    ('SS-C', 'southshire', 'Southshire Centre', 1000,  0, 2000, 1000),
    ('SS-E', 'southshire', 'Southshire East', 2000,    0, 3000, 1000)) AS n(id, force_id, name, xmin, ymin, xmax, ymax);

INSERT INTO crimesnap.lsoa (lsoa_code, name, geom)
SELECT 'E0190' || lpad((j * 6 + i + 1)::text, 4, '0'), format('Crimesnap %s%s', lpad((j + 1)::text, 3, '0'), chr(65 + i)),
       ST_MakeEnvelope(:x0 + i * 500, :y0 + j * 500, :x0 + (i + 1) * 500, :y0 + (j + 1) * 500, 27700)
  FROM generate_series(0, 5) i, generate_series(0, 3) j;

-- Street runs: each row of the grid is cut into named streets of 2 to 5 blocks.
CREATE TABLE town.street_run (
  run_id serial PRIMARY KEY, name text, horizontal boolean, line integer,
  first_block integer, last_block integer, density integer);

DO $$
DECLARE
  first_names text[] := ARRAY['Acacia','Baker','Chapel','Dorset','Elm','Foundry','Granary','Hazel',
    'Iris','Juniper','Kestrel','Laurel','Mill','Nelson','Orchard','Priory','Queens','Rowan',
    'Station','Tanner','Union','Vicarage','Willow','Yew','Albion','Bridge','Castle','Dean',
    'Eastgate','Friars','George','Hope','Kings','Lime','Market','North','Oak','Park','Quarry',
    'Rope','Sheep','Tower','Victoria','Water','Abbey','Bell','Church','Duke','Exchange','Fern'];
  kinds text[] := ARRAY['Street','Road','Lane','Avenue','Place','Row','Terrace','Way'];
  seedkey text;
  b integer;
  len integer;
  n integer := 0;
  horiz boolean;
  lines integer;
  blocks integer;
BEGIN
  FOR h IN 0..1 LOOP
    horiz := (h = 0);
    lines := CASE WHEN horiz THEN 10 ELSE 12 END;      -- y = 100..1900 every 200; x = 125..2875 every 250
    blocks := CASE WHEN horiz THEN 12 ELSE 10 END;
    FOR l IN 0..lines - 1 LOOP
      b := 0;
      WHILE b < blocks LOOP
        seedkey := format('run %s %s %s', h, l, b);
        len := least(blocks - b, 2 + floor(pg_temp.rnd(seedkey || ' len') * 4)::integer);
        n := n + 1;
        INSERT INTO town.street_run (name, horizontal, line, first_block, last_block, density)
        VALUES (first_names[1 + (n * 7 + h) % array_length(first_names, 1)] || ' '
                || kinds[pg_temp.pick(seedkey || ' kind', array_length(kinds, 1))],
                horiz, l, b, b + len - 1,
                -- addresses per side per block: a third sparse, a third medium, a third dense
                (ARRAY[1, 4, 9])[pg_temp.pick(seedkey || ' density', 3)]);
        b := b + len;
      END LOOP;
    END LOOP;
  END LOOP;
END
$$;

-- Segments: one per block, with a kink in the middle so that lines have three vertices.
INSERT INTO crimesnap.street (street_id, name, highway, geom)
SELECT 100000 + r.run_id * 100 + k,
       r.name,
       CASE WHEN r.density = 9 THEN 'tertiary' ELSE 'residential' END,
       CASE WHEN r.horizontal THEN
         ST_SetSRID(ST_MakeLine(ARRAY[
           ST_MakePoint(:x0 + k * 250,       :y0 + 100 + r.line * 200),
           ST_MakePoint(:x0 + k * 250 + 125, :y0 + 100 + r.line * 200 + 2 * (pg_temp.rnd('kink ' || r.run_id || ' ' || k) - 0.5)),
           ST_MakePoint(:x0 + (k + 1) * 250, :y0 + 100 + r.line * 200)]), 27700)
       ELSE
         ST_SetSRID(ST_MakeLine(ARRAY[
           ST_MakePoint(:x0 + 125 + r.line * 250, :y0 + k * 200),
           ST_MakePoint(:x0 + 125 + r.line * 250 + 2 * (pg_temp.rnd('kink ' || r.run_id || ' ' || k) - 0.5), :y0 + k * 200 + 100),
           ST_MakePoint(:x0 + 125 + r.line * 250, :y0 + (k + 1) * 200)]), 27700)
       END
  FROM town.street_run r, generate_series(r.first_block, r.last_block) k;

-- Cul-de-sacs: short dead ends off every fourth horizontal run, with 3 to 10 addresses.
INSERT INTO crimesnap.street (street_id, name, highway, geom)
SELECT 300000 + r.run_id, split_part(r.name, ' ', 1) || ' Close', 'residential',
       ST_SetSRID(ST_MakeLine(
         ST_MakePoint(:x0 + r.first_block * 250 + 60, :y0 + 100 + r.line * 200),
         ST_MakePoint(:x0 + r.first_block * 250 + 60, :y0 + 100 + r.line * 200 + 70)), 27700)
  FROM town.street_run r
 WHERE r.horizontal AND r.run_id % 4 = 0 AND r.line < 9;

-- Footways and service roads: never carry a snap point.
INSERT INTO crimesnap.street (street_id, name, highway, geom)
SELECT 400000 + r.run_id, CASE WHEN r.run_id % 2 = 0 THEN NULL ELSE 'Rear of ' || r.name END,
       CASE WHEN r.run_id % 2 = 0 THEN 'footway' ELSE 'service' END,
       ST_SetSRID(ST_MakeLine(
         ST_MakePoint(:x0 + r.first_block * 250 + 190, :y0 + 100 + r.line * 200 + 20),
         ST_MakePoint(:x0 + r.first_block * 250 + 190, :y0 + 100 + r.line * 200 + 90)), 27700)
  FROM town.street_run r
 WHERE r.horizontal AND r.run_id % 3 = 1 AND r.line < 9;

-- Addresses: beside each segment, 12 to 16 m from the centreline, on both sides.
INSERT INTO crimesnap.address (address_id, street_name, postcode, geom)
SELECT row_number() OVER (ORDER BY s.street_id, side, i),
       CASE
         WHEN pg_temp.rnd(key || ' noname') < 0.05 THEN NULL
         WHEN pg_temp.rnd(key || ' abbrev') < 0.15 THEN
           regexp_replace(regexp_replace(s.name, ' Street$', ' St'), ' Road$', ' Rd')
         WHEN pg_temp.rnd(key || ' upper') < 0.05 THEN upper(s.name)
         ELSE s.name END,
       CASE WHEN pg_temp.rnd(key || ' pc') < 0.3
            THEN format('TN%s %s%s', 1 + s.street_id % 9, 1 + i % 9, (ARRAY['AB','CD','EF','GH'])[1 + side + (i % 2) * 2]) END,
       ST_SetSRID(ST_Translate(
         ST_LineInterpolatePoint(s.geom, (i + 0.5) / n::double precision),
         CASE WHEN ST_X(ST_StartPoint(s.geom)) = ST_X(ST_EndPoint(s.geom))
              THEN (2 * side - 1) * (12 + 4 * pg_temp.rnd(key || ' off')) ELSE 0 END,
         CASE WHEN ST_X(ST_StartPoint(s.geom)) = ST_X(ST_EndPoint(s.geom))
              THEN 0 ELSE (2 * side - 1) * (12 + 4 * pg_temp.rnd(key || ' off')) END), 27700)
  FROM (
    SELECT st.*, coalesce(r.density, 2 + (st.street_id % 4)) AS n
      FROM crimesnap.street st
      LEFT JOIN town.street_run r ON r.run_id = (st.street_id - 100000) / 100 AND st.street_id < 300000
     WHERE st.highway IN ('residential', 'tertiary')
  ) s,
  generate_series(0, 1) side,
  generate_series(0, s.n - 1) i,
  LATERAL (SELECT format('addr %s %s %s', s.street_id, side, i) AS key) k
 WHERE NOT (s.street_id >= 300000 AND side = 1 AND i >= s.n / 2);

-- Public places and premises, away from the streets' centres.
INSERT INTO crimesnap.public_place (place_id, class, geom) VALUES
  (1, 'Park',            ST_SetSRID(ST_MakePoint(450500, 200600), 27700)),
  (2, 'Parking Area',    ST_SetSRID(ST_MakePoint(452250, 201400), 27700)),
  (3, 'Railway Station', ST_SetSRID(ST_MakePoint(451500, 200200), 27700)),
  (4, 'Supermarket',     ST_SetSRID(ST_MakePoint(452750, 201800), 27700));

-- ---- two months of uploads ----

CREATE TEMP TABLE addr AS
SELECT row_number() OVER (ORDER BY a.address_id) AS rn, a.geom FROM crimesnap.address a;
CREATE UNIQUE INDEX ON addr (rn);
SELECT count(*) AS addr_count FROM addr \gset

CREATE TABLE town.upload (
  month date, force text, crime_ref text, offence_code text, committed_on text,
  easting text, northing text, neighbourhood text, outcome text, context text);

WITH months AS (
  SELECT m::date AS month FROM generate_series('2026-09-01'::date, '2026-10-01'::date, interval '1 month') m
), codes AS (
  SELECT array_agg(offence_code ORDER BY offence_code) AS codes
    FROM crimesnap.offence_code WHERE force_id IS NULL AND offence_code <> 'ASB'
), outcomes AS (
  SELECT ARRAY['Under investigation', 'Investigation complete; no suspect identified',
               'Unable to prosecute suspect', 'Offender given a caution',
               'Local resolution', 'Awaiting court outcome', 'Status update unavailable'] AS o
), crime AS (
  SELECT mo.month, g AS i, format('%s #%s', to_char(mo.month, 'YYYY-MM-DD'), g) AS key
    FROM months mo, generate_series(1, 600) g
)
INSERT INTO town.upload
SELECT c.month,
       f.force_id,
       format('%s/%s/%s', upper(left(f.force_id, 2)), to_char(c.month, 'YYMM'), lpad(c.i::text, 5, '0')),
       CASE WHEN pg_temp.rnd(c.key || ' asb') < 0.22 THEN 'ASB'
            ELSE (SELECT codes[pg_temp.pick(c.key || ' code', array_length(codes, 1))] FROM codes) END,
       to_char(c.month + floor(pg_temp.rnd(c.key || ' day') * 28)::integer, 'YYYY-MM-DD'),
       CASE WHEN loc.kind = 'none' THEN '' ELSE round(ST_X(loc.geom)::numeric, 1)::text END,
       CASE WHEN loc.kind = 'none' THEN '' ELSE round(ST_Y(loc.geom)::numeric, 1)::text END,
       CASE WHEN loc.kind = 'none' AND pg_temp.rnd(c.key || ' nb') < 0.5
            THEN (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                   WHERE n.force_id = f.force_id ORDER BY n.neighbourhood_id LIMIT 1) END,
       (SELECT o[pg_temp.pick(c.key || ' outcome', array_length(o, 1))] FROM outcomes),
       CASE WHEN pg_temp.rnd(c.key || ' ctx') < 0.05 THEN 'Part of a series of similar incidents in the area' END
  FROM crime c
  CROSS JOIN LATERAL (
    SELECT CASE WHEN r < 0.04 THEN 'none' WHEN r < 0.12 THEN 'street' ELSE 'address' END AS kind
      FROM (SELECT pg_temp.rnd(c.key || ' where') AS r) x) k
  CROSS JOIN LATERAL (
    SELECT k.kind,
           CASE k.kind
             WHEN 'address' THEN
               (SELECT ST_Translate(a.geom, 5 * (pg_temp.rnd(c.key || ' jx') - 0.5), 5 * (pg_temp.rnd(c.key || ' jy') - 0.5))
                  FROM pg_temp.addr a WHERE a.rn = 1 + floor(pg_temp.rnd(c.key || ' addr') * :addr_count)::bigint)
             WHEN 'street' THEN
               (SELECT ST_LineInterpolatePoint(s.geom, pg_temp.rnd(c.key || ' along'))
                  FROM crimesnap.street s
                 ORDER BY hashtextextended(c.key || s.street_id, :seed) LIMIT 1)
           END AS geom) loc
  CROSS JOIN LATERAL (
    SELECT coalesce((SELECT n.force_id FROM crimesnap.neighbourhood n
                      WHERE loc.geom IS NOT NULL AND ST_Intersects(n.geom, loc.geom)
                      ORDER BY n.neighbourhood_id LIMIT 1),
                    CASE WHEN pg_temp.rnd(c.key || ' force') < 0.5 THEN 'northshire' ELSE 'southshire' END) AS force_id) f;

-- One bad row of every kind, per force and month.
INSERT INTO town.upload
SELECT m.month, f.force_id, format('%s/%s/BAD%s', upper(left(f.force_id, 2)), to_char(m.month, 'YYMM'), b.n),
       b.code, coalesce(b.committed, to_char(m.month + 9, 'YYYY-MM-DD')), b.e, b.n2, NULL, NULL, b.ctx
  FROM (VALUES ('2026-09-01'::date), ('2026-10-01'::date)) m(month)
  CROSS JOIN (VALUES ('northshire', '450700', '201500'), ('southshire', '450700', '200500')) f(force_id, e, n)
  CROSS JOIN LATERAL (VALUES
    (1, 'ZZ9',  NULL::text, f.e, f.n, NULL::text),                        -- unknown offence code
    (2, '46',   to_char(m.month - 3, 'YYYY-MM-DD'), f.e, f.n, NULL),       -- date outside the month
    (3, '58A',  NULL, 'north-ish', f.n, NULL),                             -- impossible coordinates
    (4, '45',   NULL, f.e, '', NULL),                                      -- only one coordinate
    (5, '28A',  NULL, '450700', CASE f.force_id WHEN 'northshire' THEN '200500' ELSE '201500' END, NULL), -- other force's area
    (6, '105A', NULL, f.e, f.n, 'Victim lives at 14 Acacia Road'),         -- house number and street
    (7, 'ASB',  NULL, f.e, f.n, 'Caller on 07700 900123 reported noise'),   -- phone number
    (8, '49',   NULL, f.e, f.n, 'Suspect vehicle AB12 CDE seen nearby')     -- vehicle registration
  ) AS b(n, code, committed, e, n2, ctx);

-- A duplicated reference: the first copy loads, the second is rejected.
INSERT INTO town.upload
SELECT u.month, u.force, u.crime_ref, u.offence_code, u.committed_on, u.easting, u.northing,
       u.neighbourhood, u.outcome, u.context
  FROM town.upload u
 WHERE u.crime_ref LIKE '%/00007';

