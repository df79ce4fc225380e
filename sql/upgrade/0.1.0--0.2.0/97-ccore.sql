-- ccore: issues 9 (no input crashes the server) and 10 (the C's code health).
-- Function bodies below are copied from sql/install as they now stand.

-- As the install script does (sql/install/00-schema.sql): functions below capture this
-- search_path with SET search_path FROM CURRENT.
SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

-- Issue 9: the input tables refuse NaN, infinite and out-of-grid coordinates and
-- single-vertex or zero-length lines, naming the row.
CREATE OR REPLACE FUNCTION crimesnap.normalise_input_geometry()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  want text := TG_ARGV[0];      -- 'POINT', 'LINE' or 'POLYGON'
  g geometry := NEW.geom;
  kind text;
  problem text;                 -- what is wrong, raised once below with the row's key
  code text := 'invalid_parameter_value';
  detail text;
  hint text;
  key_column name;
  key_value text;
  reach double precision;
BEGIN
  IF g IS NULL THEN
    RETURN NEW;                 -- the column's NOT NULL constraint speaks for itself
  END IF;
  IF NOT ST_IsEmpty(g) THEN
    -- A line through every vertex, plus its first vertex's coordinates, is finite only when
    -- every coordinate is (a bounding box skips NaN vertices).  Finite but absurd ones
    -- fail the extent checks below.
    reach := (SELECT ST_Length(l) + ST_X(ST_StartPoint(l)) + ST_Y(ST_StartPoint(l))
                FROM (SELECT ST_LineFromMultiPoint(ST_Points(g)) AS l) x);
  END IF;
  IF ST_IsEmpty(g) THEN
    problem := 'has an empty geometry';
    code := 'data_exception';
    hint := 'Leave out rows without a location; raw crimes without one go in with no easting and northing.';
  ELSIF NOT (reach - reach = 0::float8) THEN
    problem := 'has a NaN, infinite or out-of-range coordinate';
    hint := 'Every coordinate must be a finite number: check the source''s empty or missing values.';
  ELSIF ST_SRID(g) = 0 THEN
    IF ST_XMin(g) < -100000::float8 OR ST_XMax(g) > 800000::float8
       OR ST_YMin(g) < -100000::float8 OR ST_YMax(g) > 1400000::float8
       OR (ST_XMax(g) BETWEEN -180::float8 AND 180::float8 AND ST_YMax(g) BETWEEN -90::float8 AND 90::float8) THEN
      problem := 'has a geometry with no SRID that does not look like British National Grid';
      detail := pg_catalog.format('Its extent is %s.', ST_AsText(Box2D(g)));
      hint := 'Load EWKT with its SRID, for example ''SRID=4326;POINT(-0.13 51.52)'' for longitude and latitude.';
    END IF;
    g := ST_SetSRID(g, 27700);
  ELSIF ST_SRID(g) <> 27700 THEN
    g := ST_Transform(g, 27700);
  END IF;

  IF problem IS NULL THEN
    kind := GeometryType(g);
    IF ST_XMin(g) < -100000::float8 OR ST_XMax(g) > 800000::float8
       OR ST_YMin(g) < -100000::float8 OR ST_YMax(g) > 1400000::float8 THEN
      problem := 'lies outside British National Grid';
      detail := pg_catalog.format('Its extent is %s in EPSG:27700.', ST_AsText(Box2D(g)));
      hint := 'Check the source''s SRID and units: eastings run from 0 to 700000 and northings from 0 to 1300000 metres.';
    ELSIF want = 'POINT' AND kind <> 'POINT' THEN
      problem := pg_catalog.format('has a %s where a point is needed', pg_catalog.lower(kind));
      hint := 'Reduce buildings to a point first, for example with ST_PointOnSurface(geom).';
    ELSIF want = 'LINE' AND kind NOT IN ('LINESTRING', 'MULTILINESTRING') THEN
      problem := pg_catalog.format('has a %s where a linestring is needed', pg_catalog.lower(kind));
      hint := 'Load centrelines as LineStrings or MultiLineStrings.';
    ELSIF want = 'LINE' AND EXISTS (SELECT FROM ST_Dump(g) d
                                     WHERE ST_NPoints(d.geom) < 2 OR ST_Length(d.geom) = 0::float8) THEN
      problem := 'has a line with a single vertex or of length zero';
      hint := 'Every centreline needs two distinct vertices; leave out or repair degenerate ways.';
    ELSIF want = 'POLYGON' THEN
      IF kind NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
        problem := pg_catalog.format('has a %s where a polygon is needed', pg_catalog.lower(kind));
        hint := 'Load boundaries as Polygons or MultiPolygons.';
      ELSIF NOT ST_IsValid(g) THEN
        problem := pg_catalog.format('has an invalid polygon: %s', ST_IsValidReason(g));
        hint := 'Repair it before loading, for example with ST_MakeValid(geom).';
      END IF;
      g := ST_Multi(g);
    END IF;
  END IF;

  IF problem IS NOT NULL THEN
    -- Name the row by its first column, the key of every input table.
    SELECT a.attname INTO key_column
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) TG_RELID AND a.attnum OPERATOR(pg_catalog.=) 1::int2;
    EXECUTE pg_catalog.format('SELECT ($1).%I::text', key_column) INTO key_value USING NEW;
    problem := pg_catalog.format('row with %s %s of %I.%I %s', key_column,
                                 coalesce(pg_catalog.quote_literal(key_value), 'NULL'),
                                 TG_TABLE_SCHEMA, TG_TABLE_NAME, problem);
    IF detail IS NULL THEN
      RAISE EXCEPTION USING MESSAGE = problem, ERRCODE = code, HINT = hint;
    END IF;
    RAISE EXCEPTION USING MESSAGE = problem, ERRCODE = code, DETAIL = detail, HINT = hint;
  END IF;
  NEW.geom := g;
  RETURN NEW;
END
$fn$;

-- Issue 10: the costly C functions carry a COST, as PostGIS's do.
ALTER FUNCTION crimesnap.street_segments(text[], text[], geometry[], double precision) COST 10000;
ALTER FUNCTION crimesnap.clear_point(geometry, geometry, geometry, double precision) COST 1000;
ALTER FUNCTION crimesnap.neighbourhood_at(geometry) COST 100;
ALTER FUNCTION crimesnap.snap(geometry, text) COST 100;
ALTER FUNCTION crimesnap.snap_many(bigint[], geometry[], text[]) COST 10000;
ALTER FUNCTION crimesnap.snap_detail(bigint[], geometry[], text[], boolean) COST 10000;

-- Issue 10: associate_addresses and select_snap_points take arrays of rows
-- (crimesnap.address_input, crimesnap.street_input, crimesnap.snap_candidate) instead of six
-- to nine parallel arrays, and select_snap_points, which reads crimesnap.min_addresses, is
-- STABLE; their callers follow.  The C symbols keep 0.1.0's forms working.
DROP FUNCTION crimesnap.associate_addresses(bigint[], geometry[], text[], bigint[], geometry[], text[], text[], text[], double precision);
DROP FUNCTION crimesnap.select_snap_points(bigint[], geometry[], text[], text[], geometry[], text[], integer);

-- The rows the C steps take, one array of each: one input shape instead of parallel arrays.
CREATE TYPE crimesnap.address_input AS (address_id bigint, geom geometry, street_name text, area text);
COMMENT ON TYPE crimesnap.address_input IS
  'An address as crimesnap.associate_addresses and crimesnap.select_snap_points take it: id, point, street name as the source spells it, and area (neighbourhood id; NULL: the area of every row without one).';
CREATE TYPE crimesnap.street_input AS (street_id bigint, geom geometry, name text, area text);
COMMENT ON TYPE crimesnap.street_input IS
  'A street centreline piece as crimesnap.associate_addresses takes it: id, LineString or MultiLineString, name, and area (neighbourhood id; NULL: the area of every row without one).';
CREATE TYPE crimesnap.snap_candidate AS (rank bigint, geom geometry, area text, kind text);
COMMENT ON TYPE crimesnap.snap_candidate IS
  'A candidate snap point as crimesnap.select_snap_points takes it: rank (the point id it will get, the tie-break; increasing), point, area (NULL: outside every neighbourhood) and kind (street, place or force).';

CREATE FUNCTION crimesnap.associate_addresses(addresses crimesnap.address_input[],
                                              streets crimesnap.street_input[],
                                              max_name_distance double precision DEFAULT 250)
RETURNS TABLE (address_id bigint, street_id bigint, matched_by text, distance double precision)
LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000
AS 'MODULE_PATHNAME', 'crimesnap_associate_addresses';

CREATE FUNCTION crimesnap.select_snap_points(candidates crimesnap.snap_candidate[],
                                             addresses crimesnap.address_input[],
                                             min_addresses integer DEFAULT NULL)
RETURNS TABLE (rank bigint, kept boolean, catchment integer, reason text)
LANGUAGE C STABLE PARALLEL SAFE COST 100000
AS 'MODULE_PATHNAME', 'crimesnap_select_snap_points';

REVOKE ALL ON FUNCTION crimesnap.associate_addresses(crimesnap.address_input[], crimesnap.street_input[], double precision),
                       crimesnap.select_snap_points(crimesnap.snap_candidate[], crimesnap.address_input[], integer)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap.associate_addresses(crimesnap.address_input[], crimesnap.street_input[], double precision),
                          crimesnap.select_snap_points(crimesnap.snap_candidate[], crimesnap.address_input[], integer)
  TO crimesnap_analyst, crimesnap_publisher;
