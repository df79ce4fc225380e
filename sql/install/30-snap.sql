-- Section 30: snapping a crime to its snap point.  Tests: test/sql/snap.sql,
-- test/pgtap/snap.sql.  Reference: docs/snapping.md.
--
-- The rules: the chosen point belongs to the current set, lies in the crime's own
-- neighbourhood (found from the location when not given) and so in its force; ties go to
-- the lowest point id; a crime further than crimesnap.max_snap_distance from every point of
-- its neighbourhood is not mapped (NULL) and is published without a location.

CREATE FUNCTION crimesnap.current_snap_version()
RETURNS integer
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current
$fn$;
COMMENT ON FUNCTION crimesnap.current_snap_version() IS
  'Version of the current snap point set, or NULL before the first build.';

CREATE FUNCTION crimesnap.neighbourhood_at(geom geometry)
RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path FROM CURRENT
AS $fn$
  SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
   WHERE ST_Intersects(n.geom, $1)
   ORDER BY n.neighbourhood_id LIMIT 1
$fn$;
COMMENT ON FUNCTION crimesnap.neighbourhood_at(geometry) IS
  'The neighbourhood containing a point; on a shared boundary, the lowest neighbourhood id.';

CREATE FUNCTION crimesnap.check_crime_location(geom geometry)
RETURNS void
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF ST_SRID(geom) <> 27700 THEN
    RAISE EXCEPTION 'crime location has SRID %, not 27700', ST_SRID(geom)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Transform it first: ST_Transform(geom, 27700).';
  END IF;
  IF GeometryType(geom) <> 'POINT' THEN
    RAISE EXCEPTION 'crime location is a %, not a point', lower(GeometryType(geom))
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF ST_IsEmpty(geom) OR NOT (ST_X(geom) BETWEEN -1e7 AND 1e7) OR NOT (ST_Y(geom) BETWEEN -1e7 AND 1e7)
     OR ST_X(geom) = 'NaN'::float8 OR ST_Y(geom) = 'NaN'::float8 THEN
    RAISE EXCEPTION 'crime location % has no usable coordinates', ST_AsText(geom)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A crime without a location is published as such: pass NULL, not an empty or infinite point.';
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_crime_location(geometry) IS
  'Raises a clear error for a crime location crimesnap cannot snap: wrong SRID, not a point, empty, NaN or infinite.';

CREATE FUNCTION crimesnap.snap(geom geometry, neighbourhood text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  nb text := neighbourhood;
  v integer := crimesnap.current_snap_version();
  pid bigint;
BEGIN
  IF geom IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM crimesnap.check_crime_location(geom);
  IF v IS NULL THEN
    RAISE EXCEPTION 'there is no current snap point set'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Build one with crimesnap.build_snap_points().';
  END IF;
  IF nb IS NULL THEN
    nb := crimesnap.neighbourhood_at(geom);
    IF nb IS NULL THEN
      RAISE EXCEPTION 'crime location % is outside every neighbourhood', ST_AsText(geom)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Check the coordinates are British National Grid eastings and northings of this force''s area.';
    END IF;
  ELSIF NOT EXISTS (SELECT FROM crimesnap.neighbourhood n WHERE n.neighbourhood_id = nb) THEN
    RAISE EXCEPTION 'neighbourhood "%" does not exist', nb
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'See crimesnap.neighbourhood for the loaded neighbourhoods.';
  END IF;
  SELECT p.point_id INTO pid
    FROM crimesnap.snap_point p
   WHERE p.version = v AND p.neighbourhood_id = nb
     AND ST_DWithin(p.geom, snap.geom, crimesnap.setting('max_snap_distance')::float8)
   ORDER BY p.geom <-> snap.geom, p.point_id
   LIMIT 1;
  RETURN pid;
END
$fn$;
COMMENT ON FUNCTION crimesnap.snap(geometry, text) IS
  'Snap point id for one crime location: the nearest point of the current set inside its neighbourhood (given, or found from the location). NULL when none is within crimesnap.max_snap_distance.';

CREATE FUNCTION crimesnap.snap_many(ids bigint[], geoms geometry[], neighbourhoods text[] DEFAULT NULL)
RETURNS TABLE (id bigint, point_id bigint, distance double precision)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF pg_catalog.cardinality(ids) <> pg_catalog.cardinality(geoms)
     OR (neighbourhoods IS NOT NULL AND pg_catalog.cardinality(neighbourhoods) <> pg_catalog.cardinality(ids)) THEN
    RAISE EXCEPTION 'snap_many needs arrays of one length'
      USING ERRCODE = 'array_subscript_error',
            DETAIL = pg_catalog.format('%s ids, %s geometries, %s neighbourhoods.',
                     pg_catalog.cardinality(ids), pg_catalog.cardinality(geoms), pg_catalog.cardinality(neighbourhoods));
  END IF;
  RETURN QUERY
  SELECT u.id, p.point_id, ST_Distance(p.geom, u.geom)
    FROM unnest(ids, geoms, coalesce(neighbourhoods, pg_catalog.array_fill(NULL::text, ARRAY[pg_catalog.cardinality(ids)])))
         AS u(id, geom, nb)
    LEFT JOIN crimesnap.snap_point p
      ON p.version = crimesnap.current_snap_version()
     AND p.point_id = crimesnap.snap(u.geom, u.nb);
END
$fn$;
COMMENT ON FUNCTION crimesnap.snap_many(bigint[], geometry[], text[]) IS
  'Set-based snapping: one (id, point_id, distance) row per input; point_id is NULL for a crime without a location or beyond crimesnap.max_snap_distance.';
