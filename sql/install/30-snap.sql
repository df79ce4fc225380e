-- Section 30: snapping a crime to its snap point.  C: src/snapindex.c.  Tests:
-- test/sql/snap.sql, test/pgtap/snap.sql, test/pgtap/snap_invalidation.sql.
-- Reference: docs/snapping.md.
--
-- The rules: the chosen point belongs to the current set, lies in the crime's own
-- neighbourhood (found from the location when not given) and so in its force; the
-- nearest by ST_Distance wins and exact ties go to the lowest point id; a crime further
-- than crimesnap.max_snap_distance from every point of its neighbourhood is not mapped
-- (NULL) and is published without a location.  The C functions keep a per-backend
-- spatial index over the current set, dropped whenever the tables below change.

CREATE FUNCTION crimesnap.current_snap_version()
RETURNS integer
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current
$fn$;
COMMENT ON FUNCTION crimesnap.current_snap_version() IS
  'Version of the current snap point set, or NULL before the first build.';

-- ---- keeping the per-backend index fresh ----

CREATE TABLE crimesnap.snap_index_generation (
  generation bigint NOT NULL
);
INSERT INTO crimesnap.snap_index_generation VALUES (0);
COMMENT ON TABLE crimesnap.snap_index_generation IS
  'One row: a counter bumped, in the modifying transaction, by every statement that changes crimesnap.snap_point, crimesnap.snap_point_set or crimesnap.neighbourhood. A backend''s snap index is reused only by a snapshot that sees the generation it was built from.';
COMMENT ON COLUMN crimesnap.snap_index_generation.generation IS
  'Number of changing statements so far; only equality matters.';

CREATE FUNCTION crimesnap.snap_index_invalidate()
RETURNS trigger
LANGUAGE C
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'crimesnap_snap_index_invalidate';
COMMENT ON FUNCTION crimesnap.snap_index_invalidate() IS
  'Statement trigger: bumps crimesnap.snap_index_generation and sends a relcache invalidation of the changed table, so that every backend drops its snap index.';

CREATE TRIGGER snap_index_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crimesnap.snap_point
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.snap_index_invalidate();
CREATE TRIGGER snap_index_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crimesnap.snap_point_set
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.snap_index_invalidate();
CREATE TRIGGER snap_index_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crimesnap.neighbourhood
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.snap_index_invalidate();
COMMENT ON TRIGGER snap_index_invalidate ON crimesnap.snap_point IS
  'Drops every backend''s snap index when snap points change.';
COMMENT ON TRIGGER snap_index_invalidate ON crimesnap.snap_point_set IS
  'Drops every backend''s snap index when the current set changes.';
COMMENT ON TRIGGER snap_index_invalidate ON crimesnap.neighbourhood IS
  'Drops every backend''s snap index (and its cached boundaries) when neighbourhoods change.';

CREATE FUNCTION crimesnap.snap_index_stats(build boolean DEFAULT false)
RETURNS TABLE (built boolean, snap_version integer, generation bigint, points bigint,
               neighbourhoods integer, index_bytes bigint, build_ms double precision,
               boundaries_loaded boolean, boundary_vertices bigint, boundary_bytes bigint,
               boundary_build_ms double precision, total_bytes bigint, builds bigint,
               invalidations bigint)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'crimesnap_snap_index_stats';
COMMENT ON FUNCTION crimesnap.snap_index_stats(boolean) IS
  'This backend''s snap index: set version, points, memory (bytes allocated by its memory contexts), build times, and how often it was built and invalidated. build => true builds it (with the boundaries) first.';

CREATE FUNCTION crimesnap.snap_index_reset()
RETURNS void
LANGUAGE C VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'crimesnap_snap_index_reset';
COMMENT ON FUNCTION crimesnap.snap_index_reset() IS
  'Drops this backend''s snap index now; the next snapping call rebuilds it. Never needed for correctness.';

-- ---- locations ----

CREATE FUNCTION crimesnap.check_crime_location(geom geometry)
RETURNS void
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_check_crime_location';
COMMENT ON FUNCTION crimesnap.check_crime_location(geometry) IS
  'Raises a clear error for a crime location crimesnap cannot snap: SRID other than 27700, not a point, empty, NaN or infinite. The message never shows the coordinates.';

CREATE FUNCTION crimesnap.neighbourhood_at(geom geometry)
RETURNS text
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED COST 100
AS 'MODULE_PATHNAME', 'crimesnap_neighbourhood_at';
COMMENT ON FUNCTION crimesnap.neighbourhood_at(geometry) IS
  'The neighbourhood containing a crime location (boundary included); on a shared boundary, the lowest neighbourhood id in byte order (COLLATE "C"). NULL outside every neighbourhood. Errors as crimesnap.check_crime_location.';

-- ---- snapping ----

CREATE FUNCTION crimesnap.snap(geom geometry, neighbourhood text DEFAULT NULL)
RETURNS bigint
LANGUAGE C STABLE PARALLEL RESTRICTED COST 100
AS 'MODULE_PATHNAME', 'crimesnap_snap';
COMMENT ON FUNCTION crimesnap.snap(geometry, text) IS
  'Snap point id for one crime location: the nearest point of the current set inside its neighbourhood (given, or found from the location), ties to the lowest id. NULL for a NULL location, or when no point of the neighbourhood is within crimesnap.max_snap_distance.';

CREATE FUNCTION crimesnap.snap_many(ids bigint[], geoms geometry[], neighbourhoods text[] DEFAULT NULL)
RETURNS TABLE (id bigint, point_id bigint, distance double precision)
LANGUAGE C STABLE PARALLEL RESTRICTED COST 10000 ROWS 1000
AS 'MODULE_PATHNAME', 'crimesnap_snap_many';
COMMENT ON FUNCTION crimesnap.snap_many(bigint[], geometry[], text[]) IS
  'Set-based snapping, the same rules as crimesnap.snap: one (id, point_id, distance) row per input, in input order; point_id and distance are NULL for a crime without a location or beyond crimesnap.max_snap_distance. A NULL neighbourhood (or array) means: find it from the location. A bad location fails the batch, naming the crime id.';

CREATE FUNCTION crimesnap.snap_detail(ids bigint[], geoms geometry[], neighbourhoods text[] DEFAULT NULL,
                                      reject_bad boolean DEFAULT false)
RETURNS TABLE (id bigint, point_id bigint, neighbourhood_id text, distance double precision,
               outcome text, reason text)
LANGUAGE C STABLE PARALLEL RESTRICTED COST 10000 ROWS 1000
AS 'MODULE_PATHNAME', 'crimesnap_snap_detail';
COMMENT ON FUNCTION crimesnap.snap_detail(bigint[], geometry[], text[], boolean) IS
  'crimesnap.snap_many with the reasons: outcome is mapped, not mapped (published without a location; reason says why) or rejected (reject_bad => true only: a bad location comes back as a row with its reason instead of failing the batch). neighbourhood_id is the one snapped within.';

GRANT SELECT ON crimesnap.snap_index_generation TO crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.snap_detail(bigint[], geometry[], text[], boolean),
                          crimesnap.snap_index_stats(boolean),
                          crimesnap.snap_index_reset()
  TO crimesnap_publisher;
