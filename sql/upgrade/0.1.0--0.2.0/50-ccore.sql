-- ccore (issue 9, section 1): the input tables refuse NaN, infinite and out-of-grid
-- coordinates and single-vertex or zero-length lines, naming the row.

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
COMMENT ON FUNCTION crimesnap.normalise_input_geometry() IS
  'Trigger: puts every loaded geometry into British National Grid and the shape its table expects, or fails naming the row, with a hint: empty geometries, NaN, infinite or out-of-grid coordinates, single-vertex or zero-length lines and invalid polygons are refused.';

-- ccore (issue 10): select_snap_points reads crimesnap.min_addresses, so it is STABLE, not
-- IMMUTABLE; the costly C functions carry a COST, as PostGIS's do, so that the planner
-- calls them once rather than per row where it can choose.
ALTER FUNCTION crimesnap.associate_addresses(bigint[], geometry[], text[], bigint[], geometry[], text[], text[], text[], double precision) COST 100000;
ALTER FUNCTION crimesnap.street_segments(text[], text[], geometry[], double precision) COST 10000;
ALTER FUNCTION crimesnap.clear_point(geometry, geometry, geometry, double precision) COST 1000;
ALTER FUNCTION crimesnap.select_snap_points(bigint[], geometry[], text[], text[], geometry[], text[], integer) STABLE COST 100000;
ALTER FUNCTION crimesnap.neighbourhood_at(geometry) COST 100;
ALTER FUNCTION crimesnap.snap(geometry, text) COST 100;
ALTER FUNCTION crimesnap.snap_many(bigint[], geometry[], text[]) COST 10000;
ALTER FUNCTION crimesnap.snap_detail(bigint[], geometry[], text[], boolean) COST 10000;
