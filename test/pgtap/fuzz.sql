-- Fuzz: no input crashes the server (issue 9, section 1).
--
-- Every C-backed SQL function of the extension, taken from the catalogue (so a new C
-- function is covered the day it is added), is called with a grid of hostile values, one
-- argument at a time, the others holding a good value: NULL, empty geometries and arrays,
-- NaN, +-Infinity and 1e300 coordinates, single-vertex and zero-length lines, collections,
-- curves, Z/M, SRIDs 0, 4326 and 3857, arrays of the wrong length or with NULL elements,
-- two-dimensional arrays, a polygon of 100,000 vertices and 1 MB of text.  Each call must
-- end in a result or in a clear error: an internal error (SQLSTATE class XX, which is
-- what elog() and a failed palloc() raise) fails the test.  A crash ends this session and
-- fails it too; test/tools/check.sh also fails make check when the server log shows a
-- backend terminated by a signal.
--
-- The known crashes come first, each with the answer it must give.
--   * associate_addresses() with a street of a single vertex wrote an edge past the end of
--     its array (a heap overflow): with the fix reverted (count Max(npoints - 1, 0) edges
--     in src/associate.c) the assertion-enabled build of make check aborts here.
--   * select_snap_points() with a point at Infinity made cs_grid_build() size its grid
--     from NaN and segfault: with the checks in src/geomio.c and src/spatialgrid.c removed,
--     this file loses its connection at that call.
BEGIN;
SET client_min_messages = warning;
\ir ../fixtures/town.sql
SET client_min_messages = warning;
SELECT crimesnap.build_snap_points() AS v \gset

SELECT plan(16);

SELECT pg_postmaster_start_time() AS started \gset

-- ==== 1. the two known crashes ====

SELECT results_eq(
  $$SELECT address_id, street_id, matched_by, distance
      FROM crimesnap.associate_addresses(
             ARRAY[ROW(1, 'SRID=27700;POINT(3 4)', NULL, NULL),
                   ROW(2, 'SRID=27700;POINT(100 0)', NULL, NULL)]::crimesnap.address_input[],
             ARRAY[ROW(10, ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(0, 0)]), 27700), 'One Vertex Street', NULL),
                   ROW(11, 'SRID=27700;LINESTRING(90 0, 110 0)', 'Long Road', NULL)]::crimesnap.street_input[])$$,
  $$VALUES (1::bigint, 10::bigint, 'nearest'::text, 5::float8), (2, 11, 'nearest', 0)$$,
  'associate_addresses: a street of a single vertex is found at its vertex, nothing is overwritten');

SELECT results_eq(
  $$SELECT count(*) FROM crimesnap.associate_addresses(
      (SELECT array_agg(ROW(i, ST_SetSRID(ST_MakePoint(i, i), 27700), NULL, NULL)::crimesnap.address_input)
         FROM generate_series(1, 50) i),
      (SELECT array_agg(ROW(i, ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(i * 3, -i)]), 27700), 's' || i, NULL)::crimesnap.street_input)
         FROM generate_series(1, 200) i))$$,
  $$VALUES (50::bigint)$$,
  'associate_addresses: two hundred single-vertex streets, one row per address');

SELECT throws_ok(
  $$SELECT * FROM crimesnap.select_snap_points(
      ARRAY[ROW(1, ST_SetSRID(ST_MakePoint('Infinity'::float8, 0), 27700), 'n', 'street'),
            ROW(2, 'SRID=27700;POINT(0 0)', 'n', 'street')]::crimesnap.snap_candidate[],
      ARRAY[ROW(1, 'SRID=27700;POINT(1 1)', NULL, 'n')]::crimesnap.address_input[], NULL)$$,
  '22023', 'geometry has a NaN, infinite or out-of-range coordinate',
  'select_snap_points: a candidate at Infinity is refused, not a segfault');

SELECT throws_ok(
  $$SELECT * FROM crimesnap.select_snap_points(
      ARRAY[ROW(1, 'SRID=27700;POINT(0 0)', 'n', 'street')]::crimesnap.snap_candidate[],
      ARRAY[ROW(1, ST_SetSRID(ST_MakePoint(0, '-Infinity'::float8), 27700), NULL, 'n')]::crimesnap.address_input[], NULL)$$,
  '22023', 'geometry has a NaN, infinite or out-of-range coordinate',
  'select_snap_points: an address at -Infinity is refused');

SELECT throws_ok(
  $$SELECT * FROM crimesnap.select_snap_points(
      ARRAY[ROW(1, 'SRID=27700;POINT(1e300 0)', 'n', 'street')]::crimesnap.snap_candidate[],
      ARRAY[ROW(1, 'SRID=27700;POINT(0 0)', NULL, 'n')]::crimesnap.address_input[], NULL)$$,
  '22023', 'geometry has a NaN, infinite or out-of-range coordinate',
  'select_snap_points: a coordinate of 1e300 is refused');

-- ==== 2. the input tables refuse what the C code must never see ====

SELECT throws_ok($$INSERT INTO crimesnap.street VALUES (9001, 'One Vertex Street', 'residential',
                   ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(450000, 200000)]), 27700))$$,
  '22023', 'row with street_id ''9001'' of crimesnap.street has a line with a single vertex or of length zero',
  'a street of one vertex is refused, naming the row');
SELECT throws_ok($$INSERT INTO crimesnap.street VALUES (9002, 'Dot Lane', 'residential',
                   'SRID=27700;MULTILINESTRING((450000 200000, 450010 200000), (450020 200000, 450020 200000))')$$,
  '22023', 'row with street_id ''9002'' of crimesnap.street has a line with a single vertex or of length zero',
  'a street with a part of length zero is refused');
SELECT throws_ok($$INSERT INTO crimesnap.address VALUES (9003, NULL, NULL,
                   ST_SetSRID(ST_MakePoint('NaN'::float8, 200000), 27700))$$,
  '22023', 'row with address_id ''9003'' of crimesnap.address has a NaN, infinite or out-of-range coordinate',
  'an address at NaN is refused');
SELECT throws_ok($$INSERT INTO crimesnap.street VALUES (9004, 'Far Road', 'residential',
                   ST_MakeLine(ST_MakePoint(450000, 200000), ST_MakePoint('Infinity'::float8, 200000)))$$,
  '22023', 'row with street_id ''9004'' of crimesnap.street has a NaN, infinite or out-of-range coordinate',
  'a street with a vertex at Infinity is refused (SRID 0 included)');
SELECT throws_ok($$INSERT INTO crimesnap.public_place VALUES (9005, 'Park', 'SRID=27700;POINT(1e300 200000)')$$,
  '22023', 'row with place_id ''9005'' of crimesnap.public_place lies outside British National Grid',
  'a place at 1e300 is refused');
SELECT throws_ok($$INSERT INTO crimesnap.address VALUES (9006, NULL, NULL, 'SRID=27700;POINT(450000 90000000)')$$,
  '22023', 'row with address_id ''9006'' of crimesnap.address lies outside British National Grid',
  'an address far outside the grid is refused');

-- ==== 3. the grid: every C function, every hostile value ====

-- The C functions of the extension, and the aggregates whose transition function is C.
CREATE TEMP TABLE c_fn AS
SELECT p.oid AS fn, p.proname::text AS name, p.prokind, p.proretset,
       ARRAY(SELECT unnest(p.proargtypes::oid[])) AS argtypes,
       coalesce(p.proargnames[1:p.pronargs], array_fill(''::text, ARRAY[p.pronargs])) AS argnames
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'crimesnap'
 WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
    OR EXISTS (SELECT FROM pg_aggregate a JOIN pg_proc t ON t.oid = a.aggtransfn
                WHERE a.aggfnoid = p.oid AND t.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c'));

-- Not callable from SQL at all: trigger and event trigger functions, and an aggregate's support functions
-- (they take "internal"; the aggregates themselves are fuzzed).
CREATE TEMP TABLE c_skip AS
SELECT f.fn FROM c_fn f JOIN pg_proc p ON p.oid = f.fn
 WHERE p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype) OR 'internal'::regtype = ANY (f.argtypes::regtype[]);

SELECT is((SELECT count(*) FROM c_fn f WHERE f.fn NOT IN (SELECT fn FROM c_skip)) >= 16, true,
          'the catalogue lists the C-backed functions to fuzz');

-- Geometries, as SQL expressions.
CREATE TEMP TABLE hostile_geom (label text, expr text);
INSERT INTO hostile_geom VALUES
  ('NULL', 'NULL::geometry'),
  ('POINT EMPTY', $$'POINT EMPTY'::geometry$$),
  ('POINT EMPTY 27700', $$'SRID=27700;POINT EMPTY'::geometry$$),
  ('LINESTRING EMPTY', $$'SRID=27700;LINESTRING EMPTY'::geometry$$),
  ('MULTIPOINT EMPTY', $$'SRID=27700;MULTIPOINT EMPTY'::geometry$$),
  ('POLYGON EMPTY', $$'SRID=27700;POLYGON EMPTY'::geometry$$),
  ('GEOMETRYCOLLECTION EMPTY', $$'SRID=27700;GEOMETRYCOLLECTION EMPTY'::geometry$$),
  ('NaN x', $$ST_SetSRID(ST_MakePoint('NaN'::float8, 200000), 27700)$$),
  ('NaN NaN', $$ST_SetSRID(ST_MakePoint('NaN'::float8, 'NaN'::float8), 27700)$$),
  ('Infinity', $$ST_SetSRID(ST_MakePoint('Infinity'::float8, 200000), 27700)$$),
  ('-Infinity', $$ST_SetSRID(ST_MakePoint(450000, '-Infinity'::float8), 27700)$$),
  ('1e300', $$ST_SetSRID(ST_MakePoint(1e300, 1e300), 27700)$$),
  ('-1e300', $$ST_SetSRID(ST_MakePoint(-1e300, 200000), 27700)$$),
  ('1e15', $$ST_SetSRID(ST_MakePoint(1e15, 200000), 27700)$$),
  ('one-vertex line', $$ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(450000, 200000)]), 27700)$$),
  ('zero-length line', $$'SRID=27700;LINESTRING(450000 200000, 450000 200000)'::geometry$$),
  ('line with a NaN vertex', $$ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(450000, 200000), ST_MakePoint('NaN'::float8, 1), ST_MakePoint(450100, 200000)]), 27700)$$),
  ('line to Infinity', $$ST_SetSRID(ST_MakeLine(ST_MakePoint(450000, 200000), ST_MakePoint('Infinity'::float8, 200000)), 27700)$$),
  ('multiline with a one-vertex part', $$ST_Collect(ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(450000, 200000)]), 27700), 'SRID=27700;LINESTRING(450000 200000, 450100 200000)'::geometry)$$),
  ('GEOMETRYCOLLECTION', $$'SRID=27700;GEOMETRYCOLLECTION(POINT(450000 200000), LINESTRING(450000 200000, 450100 200000))'::geometry$$),
  ('CIRCULARSTRING', $$'SRID=27700;CIRCULARSTRING(450000 200000, 450050 200050, 450100 200000)'::geometry$$),
  ('COMPOUNDCURVE', $$'SRID=27700;COMPOUNDCURVE(CIRCULARSTRING(450000 200000, 450050 200050, 450100 200000), (450100 200000, 450200 200000))'::geometry$$),
  ('CURVEPOLYGON', $$'SRID=27700;CURVEPOLYGON(CIRCULARSTRING(450000 200000, 450100 200000, 450000 200000))'::geometry$$),
  ('TRIANGLE', $$'SRID=27700;TRIANGLE((450000 200000, 450000 200100, 450100 200000, 450000 200000))'::geometry$$),
  ('TIN', $$'SRID=27700;TIN(((450000 200000, 450000 200100, 450100 200000, 450000 200000)))'::geometry$$),
  ('POINT Z', $$'SRID=27700;POINT Z (450500 200500 7)'::geometry$$),
  ('POINT M', $$'SRID=27700;POINT M (450500 200500 7)'::geometry$$),
  ('POINT ZM', $$'SRID=27700;POINT ZM (450500 200500 7 8)'::geometry$$),
  ('LINESTRING ZM', $$'SRID=27700;LINESTRING ZM (450400 200500 1 2, 450600 200500 3 4)'::geometry$$),
  ('SRID 0', $$'POINT(450500 200500)'::geometry$$),
  ('SRID 4326', $$'SRID=4326;POINT(-1.27 51.7)'::geometry$$),
  ('SRID 3857', $$'SRID=3857;POINT(-141000 6740000)'::geometry$$),
  ('MULTIPOINT', $$'SRID=27700;MULTIPOINT(450500 200500, 450510 200500)'::geometry$$),
  ('POLYGON', $$'SRID=27700;POLYGON((450000 200000, 450100 200000, 450100 200100, 450000 200000))'::geometry$$),
  ('polygon of 100,000 vertices', $$ST_Buffer('SRID=27700;POINT(450500 200500)'::geometry, 300, 25000)$$),
  ('line of 100,000 vertices', $$ST_ExteriorRing(ST_Buffer('SRID=27700;POINT(450500 200500)'::geometry, 300, 25000))$$),
  ('multipoint of 100,000 points', $$ST_Points(ST_Buffer('SRID=27700;POINT(450500 200500)'::geometry, 300, 25000))$$);

-- Good values: a point in the town, and lines where an argument wants lines.
CREATE TEMP TABLE good_geom (fname text, argname text, expr text);
INSERT INTO good_geom VALUES
  (NULL, NULL, $$'SRID=27700;POINT(450500 200500)'::geometry$$),
  (NULL, 'street_input.geom', $$'SRID=27700;LINESTRING(450400 200500, 450600 200500)'::geometry$$),
  ('associate_addresses', 'street_geoms', $$'SRID=27700;LINESTRING(450400 200500, 450600 200500)'::geometry$$),
  ('street_segments', 'geoms', $$'SRID=27700;LINESTRING(450400 200500, 450600 200500)'::geometry$$),
  ('clear_point', 'line', $$'SRID=27700;LINESTRING(450400 200500, 450600 200500)'::geometry$$),
  ('clear_point', 'addresses', $$'SRID=27700;MULTIPOINT(450500 200505, 450550 200495)'::geometry$$),
  ('snap_centre', NULL, $$'SRID=27700;LINESTRING(450400 200500, 450600 200500)'::geometry$$);

CREATE TEMP TABLE scalar_values (typ regtype, label text, expr text, good boolean);
INSERT INTO scalar_values VALUES
  ('text', 'a name', $$'n'::text$$, true),
  ('text', 'NULL', 'NULL::text', false),
  ('text', 'empty', $$''::text$$, false),
  ('text', '1 MB', $$repeat('Gt Portland St ', 70000)$$, false),
  ('text', 'format characters', $$'%s%n%d\\'::text$$, false),
  ('text', 'non-ASCII', $$'Ÿ ß 漢 ​'::text$$, false),
  ('bytea', 'a key', $$'\x0123456789abcdef'::bytea$$, true),
  ('bytea', 'NULL', 'NULL::bytea', false),
  ('bytea', 'empty', $$''::bytea$$, false),
  ('bytea', '1 MB', $$decode(repeat('ab', 1048576), 'hex')$$, false),
  ('double precision', 'ten', '10::float8', true),
  ('double precision', 'NULL', 'NULL::float8', false),
  ('double precision', 'NaN', $$'NaN'::float8$$, false),
  ('double precision', 'Infinity', $$'Infinity'::float8$$, false),
  ('double precision', '-Infinity', $$'-Infinity'::float8$$, false),
  ('double precision', '1e300', '1e300::float8', false),
  ('double precision', '-1', '-1::float8', false),
  ('double precision', '0', '0::float8', false),
  ('double precision', '1e-300', '1e-300::float8', false),
  ('integer', 'twelve', '12', true),
  ('integer', 'NULL', 'NULL::integer', false),
  ('integer', 'min', '(-2147483648)::integer', false),
  ('integer', '-1', '(-1)::integer', false),
  ('integer', '0', '0', false),
  ('integer', 'max', '2147483647', false),
  ('bigint', 'one', '1::bigint', true),
  ('bigint', 'NULL', 'NULL::bigint', false),
  ('bigint', 'min', '(-9223372036854775808)::bigint', false),
  ('bigint', 'max', '9223372036854775807::bigint', false),
  ('boolean', 'true', 'true', true),
  ('boolean', 'NULL', 'NULL::boolean', false),
  ('boolean', 'false', 'false', false);

-- The values of one argument: its good value first, then every hostile one.
CREATE FUNCTION pg_temp.arg_values(fname text, argname text, typ regtype)
RETURNS TABLE (label text, expr text, good boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
DECLARE
  elem regtype := (SELECT t.typelem FROM pg_type t WHERE t.oid = typ AND t.typelem <> 0 AND t.typlen = -1);
  g text;
BEGIN
  -- Arguments that need a particular good value.
  IF argname = 'kinds' THEN
    RETURN QUERY VALUES ('good', $$ARRAY['street']$$, true), ('unknown kind', $$ARRAY['castle']$$, false);
  ELSIF argname = 'rule' THEN
    RETURN QUERY VALUES ('good', $$'midpoint'::text$$, true), ('unknown rule', $$'castle'::text$$, false);
  ELSIF argname = 'neighbourhood' THEN
    RETURN QUERY VALUES ('good', $$(SELECT min(neighbourhood_id) FROM crimesnap.neighbourhood)$$, true),
                        ('unknown neighbourhood', $$'Atlantis'::text$$, false);
  ELSIF argname = 'neighbourhoods' THEN
    RETURN QUERY VALUES ('good', $$ARRAY[(SELECT min(neighbourhood_id) FROM crimesnap.neighbourhood)]$$, true);
  ELSIF argname = 'name' AND fname = 'setting' THEN
    RETURN QUERY VALUES ('good', $$'min_addresses'::text$$, true);
  ELSIF argname = 'snap_candidate.kind' THEN
    RETURN QUERY VALUES ('good', $$'street'::text$$, true), ('unknown kind', $$'castle'::text$$, false);
  ELSIF argname LIKE '%.area' THEN
    RETURN QUERY VALUES ('good', $$'n'::text$$, true);
  END IF;
  -- An array of rows: one good row; then NULL, empty, two dimensions, a NULL row, and each
  -- field in turn with every hostile value of its type.
  IF elem IS NOT NULL AND (SELECT t.typtype FROM pg_type t WHERE t.oid = elem) = 'c' THEN
    RETURN QUERY
    WITH f AS (
      SELECT a.attnum, a.attname, a.atttypid::regtype AS atttype,
             (SELECT v.expr FROM pg_temp.arg_values(fname, format('%s.%s', t.typname, a.attname), a.atttypid::regtype) v
               WHERE v.good LIMIT 1) AS good
        FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE t.oid = elem),
    goodrow AS (SELECT format('ROW(%s)::%s', string_agg(f.good, ', ' ORDER BY f.attnum), elem) AS r FROM f)
    SELECT 'good', format('ARRAY[%s]', g.r), true FROM goodrow g
    UNION ALL SELECT 'NULL array', format('NULL::%s', typ), false
    UNION ALL SELECT 'empty array', format('''{}''::%s', typ), false
    UNION ALL SELECT 'two rows', format('ARRAY[%s, %s]', g.r, g.r), false FROM goodrow g
    UNION ALL SELECT 'two dimensions', format('ARRAY[[%s], [%s]]', g.r, g.r), false FROM goodrow g
    UNION ALL SELECT 'a NULL row', format('ARRAY[NULL::%s]', elem), false
    UNION ALL SELECT format('%s: %s', f.attname, v.label),
                     format('ARRAY[ROW(%s)::%s]',
                            (SELECT string_agg(CASE WHEN f2.attnum = f.attnum THEN v.expr ELSE f2.good END, ', ' ORDER BY f2.attnum) FROM f f2),
                            elem), false
      FROM f, pg_temp.arg_values(fname, format('%s.%s', (SELECT t.typname FROM pg_type t WHERE t.oid = elem), f.attname), f.atttype) v
     WHERE NOT v.good;
    RETURN;
  END IF;
  IF typ = 'geometry'::regtype OR elem = 'geometry'::regtype THEN
    SELECT x.expr INTO g FROM good_geom x
     WHERE (x.fname IS NULL OR x.fname = arg_values.fname) AND (x.argname IS NULL OR x.argname = arg_values.argname)
     ORDER BY x.fname IS NULL, x.argname IS NULL LIMIT 1;
  END IF;
  IF typ = 'geometry'::regtype THEN
    RETURN QUERY SELECT 'good', g, true UNION ALL SELECT h.label, h.expr, false FROM hostile_geom h;
  ELSIF elem = 'geometry'::regtype THEN
    RETURN QUERY
      SELECT 'good', format('ARRAY[%s]', g), true
      UNION ALL VALUES ('NULL array', 'NULL::geometry[]', false), ('empty array', $$'{}'::geometry[]$$, false),
                       ('two elements', format('ARRAY[%s, %s]', g, g), false),
                       ('two dimensions', format('ARRAY[[%s], [%s]]', g, g), false)
      UNION ALL SELECT 'element ' || h.label, format('ARRAY[%s]::geometry[]', h.expr), false FROM hostile_geom h
      UNION ALL SELECT 'good and ' || h.label, format('ARRAY[%s, %s]::geometry[]', g, h.expr), false FROM hostile_geom h;
  ELSIF elem IS NOT NULL THEN
    RETURN QUERY
      SELECT 'good', format('ARRAY[%s]', s.expr), true FROM scalar_values s WHERE s.typ = elem AND s.good
      UNION ALL SELECT 'NULL array', format('NULL::%s', typ), false
      UNION ALL SELECT 'empty array', format('''{}''::%s', typ), false
      UNION ALL SELECT 'two elements', format('ARRAY[%s, %s + 1]', s.expr, s.expr), false
                  FROM scalar_values s WHERE s.typ = elem AND s.good AND elem IN ('bigint'::regtype, 'integer'::regtype)
      UNION ALL SELECT 'two elements', format('ARRAY[%s, %s]', s.expr, s.expr), false
                  FROM scalar_values s WHERE s.typ = elem AND s.good AND elem NOT IN ('bigint'::regtype, 'integer'::regtype)
      UNION ALL SELECT 'two dimensions', format('ARRAY[[%s], [%s]]', s.expr, s.expr), false
                  FROM scalar_values s WHERE s.typ = elem AND s.good
      UNION ALL SELECT 'element ' || s.label, format('ARRAY[%s]::%s', s.expr, typ), false
                  FROM scalar_values s WHERE s.typ = elem AND NOT s.good;
  ELSE
    RETURN QUERY SELECT s.label, s.expr, s.good FROM scalar_values s WHERE s.typ = arg_values.typ;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'the fuzz suite has no values for type %', typ
        USING HINT = 'Add good and hostile values for it to test/pgtap/fuzz.sql.';
    END IF;
  END IF;
END
$fn$;

-- The calls: for each function and argument, every value of that argument with the
-- others good.  Set-returning functions are read to the end.
CREATE TEMP TABLE fuzz_call (fname text, sig text, arg int, label text, sql text, sqlstate text, message text);
DO $do$
DECLARE
  f record;
  v record;
  args text[];
  call text;
BEGIN
  FOR f IN SELECT * FROM c_fn WHERE fn NOT IN (SELECT fn FROM c_skip) ORDER BY name, fn LOOP
    args := ARRAY(SELECT (SELECT a.expr FROM pg_temp.arg_values(f.name, f.argnames[i], f.argtypes[i]::regtype) a
                           WHERE a.good LIMIT 1)
                    FROM generate_subscripts(f.argtypes, 1) i ORDER BY i);
    INSERT INTO fuzz_call VALUES (f.name, f.fn::regprocedure::text, 0, 'all good',
      format(CASE WHEN f.proretset THEN 'SELECT count(*) FROM %s(%s)' ELSE 'SELECT count(*) FROM (SELECT %s(%s)) x' END,
             f.fn::regproc, array_to_string(args, ', ')));
    FOR i IN 1 .. coalesce(array_length(f.argtypes, 1), 0) LOOP
      FOR v IN SELECT * FROM pg_temp.arg_values(f.name, f.argnames[i], f.argtypes[i]::regtype) a WHERE NOT a.good LOOP
        call := array_to_string(args[:i - 1] || v.expr || args[i + 1:], ', ');
        INSERT INTO fuzz_call VALUES (f.name, f.fn::regprocedure::text, i, v.label,
          format(CASE WHEN f.proretset THEN 'SELECT count(*) FROM %s(%s)' ELSE 'SELECT count(*) FROM (SELECT %s(%s)) x' END,
                 f.fn::regproc, call));
      END LOOP;
    END LOOP;
  END LOOP;
END
$do$;

SELECT cmp_ok((SELECT count(*) FROM fuzz_call), '>', 800::bigint, 'the grid holds over 800 calls');

DO $do$
DECLARE
  c record;
  st text;
  msg text;
BEGIN
  FOR c IN SELECT ctid, * FROM fuzz_call LOOP
    BEGIN
      EXECUTE c.sql;
      st := '00000';
      msg := NULL;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    UPDATE fuzz_call SET sqlstate = st, message = msg WHERE ctid = c.ctid;
  END LOOP;
END
$do$;

SELECT is_empty($$SELECT sig, label, sqlstate, message FROM fuzz_call WHERE sqlstate LIKE 'XX%' ORDER BY 1, 2$$,
                'no call ends in an internal error');
SELECT is_empty($$SELECT f.fn::regprocedure FROM c_fn f WHERE f.fn NOT IN (SELECT fn FROM c_skip)
                  AND f.fn::regprocedure::text NOT IN (SELECT sig FROM fuzz_call WHERE arg = 0 AND sqlstate = '00000')$$,
                'every C function answers its good arguments');
SELECT is(pg_postmaster_start_time(), :'started'::timestamptz, 'the server was not restarted by a crash');

SELECT * FROM finish();
ROLLBACK;
