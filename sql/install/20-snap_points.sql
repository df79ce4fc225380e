-- Section 20: snap points.  C: src/snappoint.c.  Tests: test/sql/snap_points.sql,
-- test/pgtap/snap_points.sql.  Reference: docs/snap-points.md.
--
-- A snap point set is built from the input tables, versioned, and audited.  Every point of
-- a set serves at least k postal addresses (its catchment) or is a public place that
-- serves none; crimesnap.audit_snap_points() proves it on the data.

-- ---- the snapping aggregate ----

CREATE FUNCTION crimesnap.snap_centre_transfn(internal, geometry)
RETURNS internal LANGUAGE C PARALLEL SAFE
AS 'MODULE_PATHNAME', 'snap_centre_transfn';
CREATE FUNCTION crimesnap.snap_centre_transfn(internal, geometry, integer, text)
RETURNS internal LANGUAGE C PARALLEL SAFE
AS 'MODULE_PATHNAME', 'snap_centre_transfn';
CREATE FUNCTION crimesnap.snap_centre_combinefn(internal, internal)
RETURNS internal LANGUAGE C PARALLEL SAFE
AS 'MODULE_PATHNAME', 'snap_centre_combinefn';
CREATE FUNCTION crimesnap.snap_centre_serialfn(internal)
RETURNS bytea LANGUAGE C STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'snap_centre_serialfn';
CREATE FUNCTION crimesnap.snap_centre_deserialfn(bytea, internal)
RETURNS internal LANGUAGE C STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'snap_centre_deserialfn';
CREATE FUNCTION crimesnap.snap_centre_finalfn(internal)
RETURNS geometry LANGUAGE C PARALLEL SAFE
AS 'MODULE_PATHNAME', 'snap_centre_finalfn';

COMMENT ON FUNCTION crimesnap.snap_centre_transfn(internal, geometry) IS 'Transition function of crimesnap.snap_centre(geometry).';
COMMENT ON FUNCTION crimesnap.snap_centre_transfn(internal, geometry, integer, text) IS 'Transition function of crimesnap.snap_centre(geometry, integer, text).';
COMMENT ON FUNCTION crimesnap.snap_centre_combinefn(internal, internal) IS 'Combine function of crimesnap.snap_centre: merges two partial states of a parallel plan.';
COMMENT ON FUNCTION crimesnap.snap_centre_serialfn(internal) IS 'Serialises a crimesnap.snap_centre state for a parallel worker.';
COMMENT ON FUNCTION crimesnap.snap_centre_deserialfn(bytea, internal) IS 'Deserialises a crimesnap.snap_centre state from a parallel worker.';
COMMENT ON FUNCTION crimesnap.snap_centre_finalfn(internal) IS 'Final function of crimesnap.snap_centre: the point on the centreline, or NULL below the threshold.';

CREATE AGGREGATE crimesnap.snap_centre(geometry) (
  SFUNC = crimesnap.snap_centre_transfn,
  STYPE = internal,
  FINALFUNC = crimesnap.snap_centre_finalfn,
  COMBINEFUNC = crimesnap.snap_centre_combinefn,
  SERIALFUNC = crimesnap.snap_centre_serialfn,
  DESERIALFUNC = crimesnap.snap_centre_deserialfn,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE crimesnap.snap_centre(geometry) IS
  'Snap point of one street: feed it the street''s centreline lines and its address points; returns the midpoint of its main piece, or NULL when it has fewer than crimesnap.min_addresses addresses.';

CREATE AGGREGATE crimesnap.snap_centre(geometry, min_addresses integer, rule text) (
  SFUNC = crimesnap.snap_centre_transfn,
  STYPE = internal,
  FINALFUNC = crimesnap.snap_centre_finalfn,
  COMBINEFUNC = crimesnap.snap_centre_combinefn,
  SERIALFUNC = crimesnap.snap_centre_serialfn,
  DESERIALFUNC = crimesnap.snap_centre_deserialfn,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE crimesnap.snap_centre(geometry, integer, text) IS
  'Snap point of one street with an explicit threshold (never below crimesnap.min_addresses; NULL means the GUC) and rule: midpoint, address_centroid or bbox_centre.';

-- ---- the C steps of a build (src/associate.c, src/snapbuild.c) ----

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
COMMENT ON FUNCTION crimesnap.associate_addresses(crimesnap.address_input[], crimesnap.street_input[], double precision) IS
  'Associates each address with one street: the nearest street of its own (normalised) name within max_name_distance, else the nearest street; only streets of the address''s own area (rows without an area form one area). Ties go to the lowest street id. One row per address; street_id is NULL when its area has no street.';

CREATE FUNCTION crimesnap.street_segments(areas text[], streets text[], geoms geometry[],
                                          max_length double precision DEFAULT 0)
RETURNS TABLE (area text, street text, segment integer, part integer, geom geometry, centre geometry)
LANGUAGE C IMMUTABLE PARALLEL SAFE COST 10000
AS 'MODULE_PATHNAME', 'crimesnap_street_segments';
COMMENT ON FUNCTION crimesnap.street_segments(text[], text[], geometry[], double precision) IS
  'Cuts centreline pieces (one per element, with their area and street) into segments between junctions, and segments longer than max_length metres into equal parts; returns each part and the point half-way along it.';

CREATE FUNCTION crimesnap.clear_point(line geometry, target geometry, addresses geometry,
                                      min_distance double precision)
RETURNS geometry
LANGUAGE C IMMUTABLE PARALLEL SAFE COST 1000
AS 'MODULE_PATHNAME', 'crimesnap_clear_point';
COMMENT ON FUNCTION crimesnap.clear_point(geometry, geometry, geometry, double precision) IS
  'The point of line nearest target that lies more than min_distance metres (plus 1 cm) from every point of addresses; NULL when the whole line is that close to some address.';

CREATE FUNCTION crimesnap.select_snap_points(candidates crimesnap.snap_candidate[],
                                             addresses crimesnap.address_input[],
                                             min_addresses integer DEFAULT NULL)
RETURNS TABLE (rank bigint, kept boolean, catchment integer, reason text)
LANGUAGE C STABLE PARALLEL SAFE COST 100000
AS 'MODULE_PATHNAME', 'crimesnap_select_snap_points';
COMMENT ON FUNCTION crimesnap.select_snap_points(crimesnap.snap_candidate[], crimesnap.address_input[], integer) IS
  'Chooses snap points from candidates (ordered by rank, the tie-break): removes the smallest invalid catchment until every street point serves at least min_addresses addresses (NULL: crimesnap.min_addresses) and every place none or that many, then admits force points that take no point below it. Only the addresses'' points and areas count. One row per candidate.';

-- ---- versioned snap point sets ----

CREATE TABLE crimesnap.snap_point_set (
  version               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mode                  text NOT NULL CHECK (mode IN ('street', 'dense')),
  min_addresses         integer NOT NULL CHECK (min_addresses >= 1),
  rule                  text NOT NULL CHECK (rule IN ('midpoint', 'address_centroid', 'bbox_centre')),
  is_current            boolean NOT NULL DEFAULT false,
  built_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
  built_by              name NOT NULL DEFAULT CURRENT_USER,
  point_count           integer,
  previous_version      integer REFERENCES crimesnap.snap_point_set,
  min_property_distance double precision NOT NULL
    DEFAULT crimesnap.setting('min_property_distance')::double precision,
  segment_length        double precision,
  build_notes           jsonb NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX snap_point_set_one_current ON crimesnap.snap_point_set (is_current) WHERE is_current;
COMMENT ON TABLE crimesnap.snap_point_set IS
  'One row per build of the snap points. Exactly one set is current; published crimes keep the version they were snapped with.';
COMMENT ON COLUMN crimesnap.snap_point_set.version IS 'Set version, increasing with every build.';
COMMENT ON COLUMN crimesnap.snap_point_set.mode IS 'street: one point per street with at least k addresses; dense: a point per street segment, pruned until every catchment holds at least k.';
COMMENT ON COLUMN crimesnap.snap_point_set.min_addresses IS 'k, the minimum catchment this set was built and is audited with.';
COMMENT ON COLUMN crimesnap.snap_point_set.rule IS 'Where a street''s point falls in street mode: midpoint, address_centroid or bbox_centre.';
COMMENT ON COLUMN crimesnap.snap_point_set.is_current IS 'The set that publication snaps to.';
COMMENT ON COLUMN crimesnap.snap_point_set.built_at IS 'When the set was built.';
COMMENT ON COLUMN crimesnap.snap_point_set.built_by IS 'Who built it.';
COMMENT ON COLUMN crimesnap.snap_point_set.point_count IS 'Number of points in the set.';
COMMENT ON COLUMN crimesnap.snap_point_set.previous_version IS 'The set that was current when this one was built: ids are kept, and the changelog written, relative to it.';
COMMENT ON COLUMN crimesnap.snap_point_set.min_property_distance IS 'crimesnap.min_property_distance (metres) when the set was built.';
COMMENT ON COLUMN crimesnap.snap_point_set.segment_length IS 'In dense mode, the longest stretch of street one candidate stood for (metres).';
COMMENT ON COLUMN crimesnap.snap_point_set.build_notes IS 'What the build did: candidates, how many were moved off properties, pruned, or rejected, and why.';

CREATE SEQUENCE crimesnap.snap_point_id_seq;
COMMENT ON SEQUENCE crimesnap.snap_point_id_seq IS 'Snap point ids; a point that does not move keeps its id across versions.';

CREATE TABLE crimesnap.snap_point (
  version          integer NOT NULL REFERENCES crimesnap.snap_point_set ON DELETE CASCADE,
  point_id         bigint NOT NULL,
  neighbourhood_id text NOT NULL REFERENCES crimesnap.neighbourhood,
  kind             text NOT NULL CHECK (kind IN ('street', 'place', 'force')),
  label            text NOT NULL,
  address_count    integer NOT NULL CHECK (address_count >= 0),
  lsoa_code        text,
  lsoa_name        text,
  longitude        double precision NOT NULL,
  latitude         double precision NOT NULL,
  explanation      text,
  geom             geometry(Point, 27700) NOT NULL,
  source_id        bigint,
  PRIMARY KEY (version, point_id)
);
CREATE INDEX ON crimesnap.snap_point USING gist (geom);
CREATE INDEX ON crimesnap.snap_point (version, neighbourhood_id);
COMMENT ON TABLE crimesnap.snap_point IS
  'The anonymous points crimes are published at, one row per point and set version.';
COMMENT ON COLUMN crimesnap.snap_point.version IS 'The set this point belongs to.';
COMMENT ON COLUMN crimesnap.snap_point.point_id IS 'Stable id: unchanged across versions while the point does not move (and kept by a point that moved, see crimesnap.snap_point_change). Published as the street id.';
COMMENT ON COLUMN crimesnap.snap_point.neighbourhood_id IS 'The neighbourhood the point lies in and serves.';
COMMENT ON COLUMN crimesnap.snap_point.kind IS 'street (a street centre), place (a public place or premise) or force (added by a force).';
COMMENT ON COLUMN crimesnap.snap_point.label IS 'Published as "On or near <label>": a street name, a place class, or a force''s label.';
COMMENT ON COLUMN crimesnap.snap_point.address_count IS 'Catchment at build time: addresses whose nearest point in their neighbourhood is this one. Never published.';
COMMENT ON COLUMN crimesnap.snap_point.lsoa_code IS 'LSOA containing the point, published with every crime snapped to it.';
COMMENT ON COLUMN crimesnap.snap_point.lsoa_name IS 'Name of that LSOA when the set was built.';
COMMENT ON COLUMN crimesnap.snap_point.longitude IS 'WGS84 longitude of the point, as published.';
COMMENT ON COLUMN crimesnap.snap_point.latitude IS 'WGS84 latitude of the point, as published.';
COMMENT ON COLUMN crimesnap.snap_point.explanation IS 'For a force''s own point, the force''s explanation.';
COMMENT ON COLUMN crimesnap.snap_point.geom IS 'The point, EPSG:27700.';
COMMENT ON COLUMN crimesnap.snap_point.source_id IS 'place_id of a place point, force_point_id of a force point; NULL for street points.';

CREATE TABLE crimesnap.snap_point_change (
  version      integer NOT NULL REFERENCES crimesnap.snap_point_set ON DELETE CASCADE,
  point_id     bigint NOT NULL,
  change       text NOT NULL CHECK (change IN ('added', 'removed', 'moved')),
  old_geom     geometry(Point, 27700),
  new_geom     geometry(Point, 27700),
  label        text,
  distance     double precision,
  PRIMARY KEY (version, point_id)
);
COMMENT ON TABLE crimesnap.snap_point_change IS
  'Changelog between a set and its previous_version: points added, removed and moved. A point that did not move appears in neither.';
COMMENT ON COLUMN crimesnap.snap_point_change.version IS 'The new set.';
COMMENT ON COLUMN crimesnap.snap_point_change.point_id IS 'The point that changed.';
COMMENT ON COLUMN crimesnap.snap_point_change.change IS 'added, removed or moved (same neighbourhood, kind and label, moved by more than 1 cm and at most 50 m).';
COMMENT ON COLUMN crimesnap.snap_point_change.old_geom IS 'Where it was, for removed and moved points.';
COMMENT ON COLUMN crimesnap.snap_point_change.new_geom IS 'Where it is, for added and moved points.';
COMMENT ON COLUMN crimesnap.snap_point_change.label IS 'The point''s label (the new one for added and moved points).';
COMMENT ON COLUMN crimesnap.snap_point_change.distance IS 'For a moved point, how far it moved in metres.';

CREATE TABLE crimesnap.snap_point_catchment (
  version  integer NOT NULL,
  point_id bigint NOT NULL,
  geom     geometry(MultiPolygon, 27700) NOT NULL,
  PRIMARY KEY (version, point_id),
  FOREIGN KEY (version, point_id) REFERENCES crimesnap.snap_point ON DELETE CASCADE
);
CREATE INDEX ON crimesnap.snap_point_catchment USING gist (geom);
COMMENT ON TABLE crimesnap.snap_point_catchment IS
  'Each point''s catchment area: its Voronoi cell among the points of its neighbourhood, clipped to the neighbourhood. Computed when the set is built; published through crimesnap_api.catchment.';
COMMENT ON COLUMN crimesnap.snap_point_catchment.version IS 'The set.';
COMMENT ON COLUMN crimesnap.snap_point_catchment.point_id IS 'The point.';
COMMENT ON COLUMN crimesnap.snap_point_catchment.geom IS 'The area whose crimes and addresses snap to the point, EPSG:27700 (empty for a point that shares its location with a lower point id).';

-- ---- points forces add ----

CREATE TABLE crimesnap.force_snap_point (
  force_point_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  force_id       text NOT NULL REFERENCES crimesnap.force ON DELETE CASCADE,
  label          text NOT NULL CHECK (btrim(label) <> ''),
  explanation    text NOT NULL CHECK (btrim(explanation) <> ''),
  geom           geometry NOT NULL
    CHECK (ST_SRID(geom) = 27700 AND GeometryType(geom) = 'POINT'),
  added_by       name NOT NULL DEFAULT CURRENT_USER,
  added_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TRIGGER normalise_geometry BEFORE INSERT OR UPDATE OF geom ON crimesnap.force_snap_point
  FOR EACH ROW EXECUTE FUNCTION crimesnap.normalise_input_geometry('POINT');
COMMENT ON TABLE crimesnap.force_snap_point IS
  'Snap points a force adds (a park, a station concourse), each with an explanation for the public. They join the next build only where they take no other point below k; a force can add points, never remove one.';
COMMENT ON COLUMN crimesnap.force_snap_point.force_point_id IS 'Id of the request.';
COMMENT ON COLUMN crimesnap.force_snap_point.force_id IS 'The force asking; the point must lie in one of its neighbourhoods.';
COMMENT ON COLUMN crimesnap.force_snap_point.label IS 'Published as "On or near <label>", for example ''Regent''s Park''. Never a person''s or a home''s name.';
COMMENT ON COLUMN crimesnap.force_snap_point.explanation IS 'Why the force added the point, shown to the public with it.';
COMMENT ON COLUMN crimesnap.force_snap_point.geom IS 'Where the point goes, EPSG:27700 (other SRIDs are transformed on load).';
COMMENT ON COLUMN crimesnap.force_snap_point.added_by IS 'Who added it.';
COMMENT ON COLUMN crimesnap.force_snap_point.added_at IS 'When.';
COMMENT ON TRIGGER normalise_geometry ON crimesnap.force_snap_point IS 'Puts loaded points into EPSG:27700.';

CREATE FUNCTION crimesnap.check_force_snap_point()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF NOT crimesnap.is_admin() THEN
    PERFORM crimesnap.assert_acts_for(NEW.force_id);
  END IF;
  RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_force_snap_point() IS
  'Trigger on crimesnap.force_snap_point: a role adds points only for the forces it acts for (crimesnap_admin for any).';
CREATE TRIGGER check_force_snap_point BEFORE INSERT OR UPDATE ON crimesnap.force_snap_point
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_force_snap_point();
COMMENT ON TRIGGER check_force_snap_point ON crimesnap.force_snap_point IS
  'A force adds points only in its own name.';

CREATE TABLE crimesnap.force_snap_point_result (
  version        integer NOT NULL REFERENCES crimesnap.snap_point_set ON DELETE CASCADE,
  force_point_id bigint NOT NULL,
  point_id       bigint,
  reason         text,
  PRIMARY KEY (version, force_point_id),
  CHECK ((point_id IS NULL) = (reason IS NOT NULL))
);
COMMENT ON TABLE crimesnap.force_snap_point_result IS
  'What each build did with each force point: the snap point it became, or why it was left out.';
COMMENT ON COLUMN crimesnap.force_snap_point_result.version IS 'The build.';
COMMENT ON COLUMN crimesnap.force_snap_point_result.force_point_id IS 'The force''s point (crimesnap.force_snap_point).';
COMMENT ON COLUMN crimesnap.force_snap_point_result.point_id IS 'The snap point it became in that version, or NULL.';
COMMENT ON COLUMN crimesnap.force_snap_point_result.reason IS 'Why it was left out, or NULL.';

-- ---- address association ----

CREATE FUNCTION crimesnap.street_pieces()
RETURNS TABLE (street_id bigint, neighbourhood_id text, street_key text, name text, geom geometry)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Centrelines that may carry points, clipped to each neighbourhood they cross, so that a
  -- street's point always lies inside the neighbourhood it serves.
  -- A road with no name but a road number (ref) goes by its number, as police.uk's "On or near A1".
  SELECT s.street_id, n.neighbourhood_id,
         crimesnap.normalise_street_name(coalesce(s.name, pg_catalog.split_part(s.ref, ';', 1))),
         coalesce(s.name, pg_catalog.split_part(s.ref, ';', 1)),
         (ST_Dump(ST_CollectionExtract(
            CASE WHEN ST_CoveredBy(s.geom, n.geom) THEN s.geom ELSE ST_Intersection(s.geom, n.geom, -1.0::float8) END, 2))).geom
    FROM crimesnap.street s
    JOIN crimesnap.neighbourhood n ON ST_Intersects(s.geom, n.geom)
    LEFT JOIN crimesnap.highway_class h ON h.highway = s.highway
   WHERE crimesnap.normalise_street_name(coalesce(s.name, pg_catalog.split_part(s.ref, ';', 1))) IS NOT NULL
     AND coalesce(h.carries_points, true)
$fn$;
COMMENT ON FUNCTION crimesnap.street_pieces() IS
  'Named (or numbered: a road with no name goes by its ref) centrelines of road classes that carry points, clipped to neighbourhoods, with their normalised street key.';

CREATE FUNCTION crimesnap.address_streets()
RETURNS TABLE (address_id bigint, neighbourhood_id text, street_key text, geom geometry,
               matched_by text, distance double precision)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Each address counts once, for one street of its own neighbourhood (the lowest id that
  -- contains it): the street its name matches within 250 m, otherwise the nearest centreline.
  WITH piece AS MATERIALIZED (
    SELECT pg_catalog.row_number() OVER (ORDER BY p.neighbourhood_id, p.street_id, ST_AsBinary(p.geom)) AS piece_id, p.*
      FROM crimesnap.street_pieces() p
  ), addr AS MATERIALIZED (
    SELECT a.address_id, a.street_name, a.geom,
           crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id
      FROM crimesnap.postal_address a
  ), ad AS (
    -- One array per force, never one for the country (29 million addresses would be over
    -- PostgreSQL's 1 GB limit on a value): the association never crosses a neighbourhood.
    SELECT n.force_id,
           pg_catalog.array_agg(ROW(a.address_id, a.geom, a.street_name, a.neighbourhood_id)::crimesnap.address_input
                                ORDER BY a.address_id) AS addresses
      FROM addr a JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = a.neighbourhood_id
     GROUP BY n.force_id
  ), st AS (
    SELECT n.force_id,
           pg_catalog.array_agg(ROW(p.piece_id, p.geom, p.name, p.neighbourhood_id)::crimesnap.street_input
                                ORDER BY p.piece_id) AS streets
      FROM piece p JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = p.neighbourhood_id
     GROUP BY n.force_id
  ), assoc AS (
    SELECT x.address_id, x.street_id, x.matched_by, x.distance
      FROM ad JOIN st ON st.force_id = ad.force_id,
           crimesnap.associate_addresses(ad.addresses, st.streets) x
  )
  -- Every address, with no street (NULLs, as associate_addresses gives them) where its
  -- force has no street or it lies outside every neighbourhood.
  SELECT a.address_id, a.neighbourhood_id, p.street_key, a.geom, x.matched_by, x.distance
    FROM addr a
    LEFT JOIN assoc x ON x.address_id = a.address_id
    LEFT JOIN piece p ON p.piece_id = x.street_id
$fn$;
COMMENT ON FUNCTION crimesnap.address_streets() IS
  'Associates every distinct postal address (crimesnap.postal_address) with one street of its own neighbourhood: by normalised name within 250 m, else the nearest centreline (crimesnap.associate_addresses). street_key is NULL for an address outside every neighbourhood or in one without streets.';

-- ---- catchments ----

CREATE FUNCTION crimesnap.catchments(version integer DEFAULT NULL)
RETURNS TABLE (point_id bigint, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Recomputed from the addresses as they are now, not read from the stored counts, and
  -- with PostGIS rather than the builder's C code, so that the audit checks the builder.
  -- Each address's nearest point is searched once (a join, not a scalar subquery, which
  -- the planner would evaluate twice: as the join key and as the output), then counted.
  WITH v AS (
    SELECT coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current)) AS version
  ), served AS (
    SELECT x.point_id, pg_catalog.count(*) AS addresses
      FROM crimesnap.postal_address a
      CROSS JOIN LATERAL (SELECT crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id) nb
      CROSS JOIN LATERAL (SELECT p.point_id FROM crimesnap.snap_point p, v
                           WHERE p.version = v.version AND p.neighbourhood_id = nb.neighbourhood_id
                           ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) x
     GROUP BY x.point_id
  )
  SELECT p.point_id, coalesce(n.addresses, 0::bigint)
    FROM crimesnap.snap_point p
    JOIN v ON p.version = v.version
    LEFT JOIN served n ON n.point_id = p.point_id
$fn$;
COMMENT ON FUNCTION crimesnap.catchments(integer) IS
  'Catchment size of every point of a set (default: the current set): the distinct postal addresses (crimesnap.postal_address) whose nearest point inside their own neighbourhood is that point, ties to the lowest point id. Computed with PostGIS, independently of the builder.';

-- ---- coverage: what a build leaves without a point nearby ----

CREATE FUNCTION crimesnap.snap_point_coverage(version integer DEFAULT NULL, beyond double precision DEFAULT NULL)
RETURNS TABLE (neighbourhood_id text, force_id text, addresses bigint, points bigint, street_points bigint,
               farthest_address double precision, beyond_distance double precision, share_beyond double precision)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  WITH v AS (
    SELECT coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current)) AS version,
           coalesce($2, crimesnap.setting('max_snap_distance')::double precision) AS d
  ), addr AS (
    SELECT a.geom, crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id FROM crimesnap.postal_address a
  ), dist AS (
    SELECT a.neighbourhood_id,
           (SELECT ST_Distance(p.geom, a.geom) FROM crimesnap.snap_point p, v
             WHERE p.version = v.version AND p.neighbourhood_id = a.neighbourhood_id
             ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) AS distance
      FROM addr a WHERE a.neighbourhood_id IS NOT NULL
  ), per_nb AS (
    SELECT d.neighbourhood_id, pg_catalog.count(*) AS addresses, pg_catalog.max(d.distance) AS farthest
      FROM dist d GROUP BY d.neighbourhood_id
  ), pts AS (
    SELECT p.neighbourhood_id, pg_catalog.count(*) AS points, pg_catalog.count(*) FILTER (WHERE p.kind = 'street') AS street_points,
           ST_Buffer(ST_Collect(p.geom), v.d, ''::text) AS reach
      FROM crimesnap.snap_point p, v WHERE p.version = v.version
     GROUP BY p.neighbourhood_id, v.d
  )
  SELECT n.neighbourhood_id, n.force_id, coalesce(a.addresses, 0), coalesce(p.points, 0), coalesce(p.street_points, 0),
         a.farthest, v.d,
         CASE WHEN ST_Area(n.geom) = 0::float8 THEN 0::float8
              WHEN p.reach IS NULL THEN 1::float8
              ELSE greatest(0::float8, 1::float8 - ST_Area(ST_Intersection(n.geom, p.reach, -1.0::float8)) / ST_Area(n.geom)) END
    FROM crimesnap.neighbourhood n
    CROSS JOIN v
    LEFT JOIN per_nb a ON a.neighbourhood_id = n.neighbourhood_id
    LEFT JOIN pts p ON p.neighbourhood_id = n.neighbourhood_id
$fn$;
COMMENT ON FUNCTION crimesnap.snap_point_coverage(integer, double precision) IS
  'Coverage of a snap point set (default: current) per neighbourhood: distinct postal addresses, points (and street points), how far the farthest address is from its point (NULL when the neighbourhood has no point), and the share of the area further than beyond metres (default crimesnap.max_snap_distance) from every point of it. A crime there is published without a location.';

CREATE VIEW crimesnap.snap_coverage AS
SELECT c.*, CASE WHEN c.points = 0 AND c.addresses > 0 THEN 'no point'
                 WHEN c.street_points <= 1 AND c.addresses > 0 THEN 'few points'
                 WHEN c.share_beyond > 0::float8 THEN 'partly out of reach' END AS warning
  FROM crimesnap.snap_point_coverage(NULL, NULL) c;
COMMENT ON VIEW crimesnap.snap_coverage IS
  'crimesnap.snap_point_coverage() of the current set, with a warning per neighbourhood: no point (its located crimes are all published without a location), few points (at most one street point), or partly out of reach of crimesnap.max_snap_distance. docs/snap-points.md says what a force can do.';
COMMENT ON COLUMN crimesnap.snap_coverage.neighbourhood_id IS 'The neighbourhood.';
COMMENT ON COLUMN crimesnap.snap_coverage.force_id IS 'Its force.';
COMMENT ON COLUMN crimesnap.snap_coverage.addresses IS 'Distinct postal addresses in it.';
COMMENT ON COLUMN crimesnap.snap_coverage.points IS 'Snap points serving it.';
COMMENT ON COLUMN crimesnap.snap_coverage.street_points IS 'Of which street points.';
COMMENT ON COLUMN crimesnap.snap_coverage.farthest_address IS 'Metres from the address farthest from its point to that point; NULL without points.';
COMMENT ON COLUMN crimesnap.snap_coverage.beyond_distance IS 'The distance share_beyond is measured with: crimesnap.max_snap_distance.';
COMMENT ON COLUMN crimesnap.snap_coverage.share_beyond IS 'Share (0 to 1) of the neighbourhood''s area further than beyond_distance from every point of it.';
COMMENT ON COLUMN crimesnap.snap_coverage.warning IS 'no point, few points, partly out of reach, or NULL.';

-- ---- building ----

-- The DETAIL of a progress NOTICE (build_snap_point_set(), register_batch()): the seconds
-- since the call began, apart from the message so that the message itself is the same
-- from run to run (test/sql/progress.sql).
CREATE FUNCTION crimesnap.progress_detail(started timestamptz)
RETURNS text
LANGUAGE sql VOLATILE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.format('%s s since the call began',
                           pg_catalog.round(EXTRACT(epoch FROM pg_catalog.clock_timestamp() - $1), 1))
$fn$;
COMMENT ON FUNCTION crimesnap.progress_detail(timestamptz) IS
  'Internal: the DETAIL of a progress NOTICE, "12.3 s since the call began", for a call that began at started.';

CREATE FUNCTION crimesnap.build_snap_point_set(
  mode text,
  min_addresses integer,
  rule text,
  make_current boolean,
  segment_length double precision)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
SET jit = off
AS $fn$
DECLARE
  chunk record;
  -- Progress NOTICEs for a build over at least crimesnap.progress_rows address rows
  -- (docs/snap-points.md).
  t0 timestamptz := pg_catalog.clock_timestamp();
  progress boolean := false;
  floor_k integer := crimesnap.setting('min_addresses')::integer;
  k integer := coalesce(min_addresses, floor_k);
  d double precision := crimesnap.setting('min_property_distance')::double precision;
  v integer;
  prev integer;
  base bigint;
  n_new integer;
  n integer;
  notes jsonb := '{}'::jsonb;
  pair record;
BEGIN
  PERFORM crimesnap.assert_admin('build snap points');
  IF k < floor_k THEN
    RAISE EXCEPTION 'min_addresses % is below crimesnap.min_addresses (%)', k, floor_k
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A snap point may serve more addresses than the privacy threshold, never fewer.';
  END IF;
  IF mode IS NULL OR mode NOT IN ('street', 'dense') THEN
    RAISE EXCEPTION 'unknown snap point mode "%"', mode
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use mode => ''street'' (one point per street) or mode => ''dense'' (a point per street segment).';
  END IF;
  IF rule IS NULL OR rule NOT IN ('midpoint', 'address_centroid', 'bbox_centre') THEN
    RAISE EXCEPTION 'unknown snap point rule "%"', rule
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use "midpoint", "address_centroid" or "bbox_centre".';
  END IF;
  -- NaN and infinities fail BETWEEN; a length under a metre would cut every street into
  -- more candidates than memory holds, and one over 10 km leaves one candidate per street.
  IF mode = 'dense' AND (segment_length IS NULL OR NOT (segment_length BETWEEN 1::float8 AND 10000::float8)) THEN
    RAISE EXCEPTION 'segment_length % is not a length between 1 and 10000 metres', coalesce(segment_length::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the longest stretch of street one dense candidate stands for, in metres; build_snap_points() uses 25.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.neighbourhood) THEN
    RAISE EXCEPTION 'no neighbourhoods are loaded'
      USING ERRCODE = 'no_data_found',
            HINT = 'Load crimesnap.force and crimesnap.neighbourhood before building snap points.';
  END IF;

  -- One build at a time: two concurrent builds would both claim ids and the current flag.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.build_snap_points'));
  SELECT s.version INTO prev FROM crimesnap.snap_point_set s WHERE s.is_current;

  INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule, previous_version,
                                        min_property_distance, segment_length)
  VALUES (mode, k, rule, prev, d, CASE WHEN mode = 'dense' THEN segment_length END)
  RETURNING version INTO v;

  -- ---- inputs: street pieces, addresses in their neighbourhood, the association ----
  CREATE TEMP TABLE cs_piece ON COMMIT DROP AS
  SELECT pg_catalog.row_number() OVER (ORDER BY p.neighbourhood_id, p.street_id, ST_AsBinary(p.geom)) AS piece_id, p.*
    FROM crimesnap.street_pieces() p;
  -- Addresses count once each (crimesnap.postal_address: one row stands for its
  -- duplicates), so duplicated rows never lift a point over k.  Every row, duplicate or
  -- not, still keeps points min_property_distance away.
  CREATE TEMP TABLE cs_addr ON COMMIT DROP AS
  SELECT a.address_id, a.street_name, a.geom,
         crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id
    FROM crimesnap.postal_address a;
  PERFORM 'PRAGMA:TABLE: cs_piece (piece_id bigint, street_id bigint, neighbourhood_id text, street_key text, name text, geom geometry)';
  PERFORM 'PRAGMA:TABLE: cs_addr (address_id bigint, street_name text, geom geometry, neighbourhood_id text)';
  CREATE INDEX ON pg_temp.cs_addr USING gist (geom);
  CREATE INDEX ON pg_temp.cs_addr (neighbourhood_id);
  ANALYZE pg_temp.cs_addr;
  CREATE INDEX ON pg_temp.cs_piece (neighbourhood_id);
  ANALYZE pg_temp.cs_piece;
  CREATE TEMP TABLE cs_addr_all ON COMMIT DROP AS
  SELECT a.address_id, a.geom FROM crimesnap.address a;
  PERFORM 'PRAGMA:TABLE: cs_addr_all (address_id bigint, geom geometry)';
  CREATE INDEX ON pg_temp.cs_addr_all USING gist (geom);
  ANALYZE pg_temp.cs_addr_all;
  progress := crimesnap.setting('progress_rows')::integer >= 0
              AND (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr_all)
                  >= crimesnap.setting('progress_rows')::bigint;
  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('inputs: %s street pieces in neighbourhoods, %s postal addresses, %s address rows', (SELECT pg_catalog.count(*) FROM pg_temp.cs_piece), (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr), (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr_all))
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  -- The C steps take one force at a time, so that no array holds the whole country: 29
  -- million addresses would need about 2.4 GB, over PostgreSQL's 1 GB limit on a value.  Both
  -- work within each neighbourhood and never across one, so the result is the same.  An
  -- address outside every neighbourhood has no street and no candidate of its own area.
  CREATE TEMP TABLE cs_assoc (address_id bigint, piece_id bigint) ON COMMIT DROP;
  PERFORM 'PRAGMA:TABLE: cs_assoc (address_id bigint, piece_id bigint)';
  FOR chunk IN SELECT n.force_id, pg_catalog.array_agg(n.neighbourhood_id ORDER BY n.neighbourhood_id) AS nbs
                 FROM crimesnap.neighbourhood n GROUP BY n.force_id ORDER BY n.force_id LOOP
    INSERT INTO pg_temp.cs_assoc (address_id, piece_id)
    SELECT x.address_id, x.street_id
      FROM (SELECT pg_catalog.array_agg(ROW(a.address_id, a.geom, a.street_name, a.neighbourhood_id)::crimesnap.address_input
                                        ORDER BY a.address_id) AS addresses
              FROM pg_temp.cs_addr a WHERE a.neighbourhood_id = ANY (chunk.nbs)) ad,
           (SELECT pg_catalog.array_agg(ROW(p.piece_id, p.geom, p.name, p.neighbourhood_id)::crimesnap.street_input
                                        ORDER BY p.piece_id) AS streets
              FROM pg_temp.cs_piece p WHERE p.neighbourhood_id = ANY (chunk.nbs)) st,
           crimesnap.associate_addresses(coalesce(ad.addresses, '{}'), coalesce(st.streets, '{}')) x
     WHERE x.street_id IS NOT NULL;
  END LOOP;
  ANALYZE pg_temp.cs_assoc;
  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('association: %s addresses on a street', (SELECT pg_catalog.count(*) FROM pg_temp.cs_assoc))
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  -- A street's label: the spelling of its name that covers the greatest length of it.
  CREATE TEMP TABLE cs_label ON COMMIT DROP AS
  SELECT DISTINCT ON (x.neighbourhood_id, x.street_key) x.neighbourhood_id, x.street_key, x.name AS label
    FROM (SELECT p.neighbourhood_id, p.street_key, p.name, pg_catalog.sum(ST_Length(p.geom)) AS len
            FROM pg_temp.cs_piece p GROUP BY 1, 2, 3) x
   ORDER BY x.neighbourhood_id, x.street_key, x.len DESC, x.name;
  PERFORM 'PRAGMA:TABLE: cs_label (neighbourhood_id text, street_key text, label text)';

  CREATE TEMP TABLE cs_cand (
    cand_no          serial PRIMARY KEY,
    neighbourhood_id text,
    kind             text NOT NULL,
    label            text,
    source_id        bigint,
    explanation      text,
    geom             geometry,
    target           geometry,
    reject           text,
    old_point_id     bigint,
    rank             bigint
  ) ON COMMIT DROP;
  PERFORM 'PRAGMA:TABLE: cs_cand (cand_no integer, neighbourhood_id text, kind text, label text, source_id bigint, explanation text, geom geometry, target geometry, reject text, old_point_id bigint, rank bigint)';

  -- ---- street candidates ----
  IF mode = 'street' THEN
    -- One per street (neighbourhood and name) with at least k addresses, placed by the rule
    -- on its main piece, then moved along its centreline off any property.
    INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, geom, target, reject)
    SELECT s.neighbourhood_id, 'street', lbl.label, c.geom, s.centre,
           CASE WHEN c.geom IS NULL THEN 'no stretch of the street is clear of properties' END
      FROM (
        SELECT u.neighbourhood_id, u.street_key,
               crimesnap.snap_centre(u.geom, k, rule) AS centre,
               ST_Collect(u.geom ORDER BY u.piece_id) FILTER (WHERE u.name IS NOT NULL) AS lines
          FROM (SELECT p.neighbourhood_id, p.street_key, p.name, p.geom, p.piece_id FROM pg_temp.cs_piece p
                UNION ALL
                SELECT p.neighbourhood_id, p.street_key, NULL, a.geom, NULL
                  FROM pg_temp.cs_assoc x
                  JOIN pg_temp.cs_piece p ON p.piece_id = x.piece_id
                  JOIN pg_temp.cs_addr a ON a.address_id = x.address_id) u
         GROUP BY u.neighbourhood_id, u.street_key) s
      JOIN pg_temp.cs_label lbl ON lbl.neighbourhood_id = s.neighbourhood_id AND lbl.street_key = s.street_key
      CROSS JOIN LATERAL (
        SELECT crimesnap.clear_point(s.lines, s.centre,
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr_all a
                   WHERE ST_DWithin(a.geom, s.lines, d + 1::float8)), d) AS geom) c
     WHERE s.centre IS NOT NULL
     ORDER BY s.neighbourhood_id, s.street_key;
  ELSE
    -- One per segment part, at its centre, moved along the part off any property.
    INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, geom, target, reject)
    SELECT seg.area, 'street', lbl.label, c.geom, seg.centre,
           CASE WHEN c.geom IS NULL THEN 'no stretch of the segment is clear of properties' END
      FROM (SELECT pg_catalog.array_agg(p.neighbourhood_id ORDER BY p.piece_id) AS areas,
                   pg_catalog.array_agg(p.street_key ORDER BY p.piece_id) AS keys,
                   pg_catalog.array_agg(p.geom ORDER BY p.piece_id) AS geoms
              FROM pg_temp.cs_piece p) arg
      CROSS JOIN LATERAL crimesnap.street_segments(coalesce(arg.areas, '{}'), coalesce(arg.keys, '{}'),
                                                   coalesce(arg.geoms, '{}'), segment_length) seg
      JOIN pg_temp.cs_label lbl ON lbl.neighbourhood_id = seg.area AND lbl.street_key = seg.street
      CROSS JOIN LATERAL (
        SELECT crimesnap.clear_point(seg.geom, seg.centre,
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr_all a
                   WHERE ST_DWithin(a.geom, seg.geom, d + 1::float8)), d) AS geom) c
     ORDER BY seg.area, seg.street, seg.segment, seg.part;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  notes := notes || pg_catalog.jsonb_build_object('street_candidates', n);
  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('%s street candidates placed', n)
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  -- A point put on the very edge of its neighbourhood (the clipped end of a piece) can test
  -- as outside it by a rounding error: pull it 2 cm inside, or drop it if that is not clear.
  UPDATE pg_temp.cs_cand c
     SET geom = m.geom, reject = m.reject
    FROM (SELECT c2.cand_no, x.geom,
                 CASE WHEN x.geom IS NULL OR ST_IsEmpty(x.geom) OR NOT ST_Intersects(nb.geom, x.geom)
                        OR EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, x.geom, d))
                      THEN 'on the edge of its neighbourhood' END AS reject
            FROM pg_temp.cs_cand c2
            JOIN crimesnap.neighbourhood nb ON nb.neighbourhood_id = c2.neighbourhood_id
            CROSS JOIN LATERAL (SELECT ST_ClosestPoint(ST_Buffer(nb.geom, -0.02::float8, ''::text), c2.geom) AS geom) x
           WHERE c2.reject IS NULL AND NOT ST_Intersects(nb.geom, c2.geom)) m
   WHERE c.cand_no = m.cand_no;

  CREATE INDEX ON pg_temp.cs_cand USING gist (geom);
  ANALYZE pg_temp.cs_cand;

  -- Two parts moved off properties onto the same spot are one candidate.
  UPDATE pg_temp.cs_cand c SET reject = 'same place as another candidate of the street'
   WHERE c.reject IS NULL
     AND EXISTS (SELECT FROM pg_temp.cs_cand c2
                  WHERE c2.reject IS NULL AND c2.cand_no < c.cand_no
                    AND c2.neighbourhood_id = c.neighbourhood_id AND c2.label = c.label
                    AND ST_DWithin(c2.geom, c.geom, 0.01::float8));

  -- ---- public places and premises: points that serve no address ----
  INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, source_id, geom, reject)
  SELECT nb.neighbourhood_id, 'place', pl.class, pl.place_id, pl.geom,
         CASE WHEN nb.neighbourhood_id IS NULL THEN 'outside every neighbourhood'
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, pl.geom, d))
                THEN pg_catalog.format('within %s m of an address', d) END
    FROM crimesnap.public_place pl
    LEFT JOIN LATERAL (SELECT crimesnap.neighbourhood_at(pl.geom) AS neighbourhood_id) nb ON true
   ORDER BY pl.place_id;

  -- ---- force points: checked here, admitted by select_snap_points() ----
  INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, source_id, explanation, geom, reject)
  SELECT nb.neighbourhood_id, 'force', f.label, f.force_point_id, f.explanation, f.geom,
         CASE WHEN nb.neighbourhood_id IS NULL THEN 'outside every neighbourhood'
              WHEN nb.force_id <> f.force_id
                THEN pg_catalog.format('in neighbourhood %s of force %s, not in an area of force %s',
                                       nb.neighbourhood_id, nb.force_id, f.force_id)
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, f.geom, d))
                THEN pg_catalog.format('within %s m of an address (crimesnap.min_property_distance)', d) END
    FROM crimesnap.force_snap_point f
    LEFT JOIN LATERAL (SELECT n.neighbourhood_id, n.force_id FROM crimesnap.neighbourhood n
                        WHERE n.neighbourhood_id = crimesnap.neighbourhood_at(f.geom)) nb ON true
   ORDER BY f.force_point_id;

  -- ---- ids: a point that did not move keeps its id, and so does one that moved ----
  -- Not moved: same neighbourhood, kind and label within 1 cm.  It keeps the old location to
  -- the bit, so that nothing about it changes, unless that location is no longer clear.
  UPDATE pg_temp.cs_cand c
     SET old_point_id = m.point_id, geom = m.geom
    FROM (SELECT DISTINCT ON (x.cand_no) x.cand_no, x.point_id, x.geom
            FROM (SELECT DISTINCT ON (o.point_id) o.point_id, o.geom, c2.cand_no, ST_Distance(o.geom, c2.geom) AS dist
                    FROM pg_temp.cs_cand c2
                    JOIN crimesnap.snap_point o
                      ON o.version = prev AND o.neighbourhood_id = c2.neighbourhood_id
                     AND o.kind = c2.kind AND o.label = c2.label AND ST_DWithin(o.geom, c2.geom, 0.01::float8)
                   WHERE c2.reject IS NULL
                     AND NOT EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, o.geom, d))
                     AND EXISTS (SELECT FROM crimesnap.neighbourhood nb
                                  WHERE nb.neighbourhood_id = o.neighbourhood_id AND ST_Intersects(nb.geom, o.geom))
                   ORDER BY o.point_id, dist, c2.cand_no) x
           ORDER BY x.cand_no, x.dist, x.point_id) m
   WHERE c.cand_no = m.cand_no;
  -- Moved: the nearest unclaimed old point of the same neighbourhood, kind and label within
  -- 50 m, nearest pairs first.
  CREATE INDEX ON pg_temp.cs_cand (old_point_id);
  FOR pair IN
    SELECT c.cand_no, o.point_id
      FROM pg_temp.cs_cand c
      JOIN crimesnap.snap_point o
        ON o.version = prev AND o.neighbourhood_id = c.neighbourhood_id
       AND o.kind = c.kind AND o.label = c.label AND ST_DWithin(o.geom, c.geom, 50::float8)
     WHERE c.reject IS NULL AND c.old_point_id IS NULL
       AND NOT EXISTS (SELECT FROM pg_temp.cs_cand c3 WHERE c3.old_point_id = o.point_id)
     ORDER BY ST_Distance(o.geom, c.geom), o.point_id, c.cand_no
  LOOP
    UPDATE pg_temp.cs_cand c SET old_point_id = pair.point_id
     WHERE c.cand_no = pair.cand_no AND c.old_point_id IS NULL
       AND NOT EXISTS (SELECT FROM pg_temp.cs_cand c3 WHERE c3.old_point_id = pair.point_id);
  END LOOP;

  -- Every other candidate gets a new id from one block of the sequence, in a canonical order.
  -- The id is the candidate's rank, the tie-break of select_snap_points(), so catchments come
  -- out the same there as in crimesnap.snap() and the audit.
  UPDATE pg_temp.cs_cand c SET rank = c.old_point_id WHERE c.old_point_id IS NOT NULL;
  SELECT pg_catalog.count(*) INTO n_new FROM pg_temp.cs_cand c WHERE c.reject IS NULL AND c.old_point_id IS NULL;
  IF n_new > 0 THEN
    base := pg_catalog.nextval('crimesnap.snap_point_id_seq');
    PERFORM pg_catalog.setval('crimesnap.snap_point_id_seq', base + n_new - 1);
    UPDATE pg_temp.cs_cand c SET rank = base + o.ord - 1
      FROM (SELECT c2.cand_no,
                   pg_catalog.row_number() OVER (ORDER BY c2.neighbourhood_id, c2.kind, c2.label,
                                                 ST_X(c2.geom), ST_Y(c2.geom), c2.cand_no) AS ord
              FROM pg_temp.cs_cand c2 WHERE c2.reject IS NULL AND c2.old_point_id IS NULL) o
     WHERE c.cand_no = o.cand_no;
  END IF;

  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('candidates with ids: %s, %s rejected', (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c WHERE c.rank IS NOT NULL), (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c WHERE c.rank IS NULL))
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;
  -- ---- selection ----
  -- One force at a time, as the association: catchments never cross a neighbourhood.
  CREATE TEMP TABLE cs_sel (rank bigint, kept boolean, catchment integer, reason text) ON COMMIT DROP;
  PERFORM 'PRAGMA:TABLE: cs_sel (rank bigint, kept boolean, catchment integer, reason text)';
  FOR chunk IN SELECT n.force_id, pg_catalog.array_agg(n.neighbourhood_id ORDER BY n.neighbourhood_id) AS nbs
                 FROM crimesnap.neighbourhood n GROUP BY n.force_id ORDER BY n.force_id LOOP
    INSERT INTO pg_temp.cs_sel (rank, kept, catchment, reason)
    SELECT s.rank, s.kept, s.catchment, s.reason
      FROM (SELECT pg_catalog.array_agg(ROW(c.rank, c.geom, c.neighbourhood_id, c.kind)::crimesnap.snap_candidate
                                        ORDER BY c.rank) AS candidates
              FROM pg_temp.cs_cand c WHERE c.rank IS NOT NULL AND c.neighbourhood_id = ANY (chunk.nbs)) cand,
           (SELECT pg_catalog.array_agg(ROW(a.address_id, a.geom, a.street_name, a.neighbourhood_id)::crimesnap.address_input
                                        ORDER BY a.address_id) AS addresses
              FROM pg_temp.cs_addr a WHERE a.neighbourhood_id = ANY (chunk.nbs)) ad,
           crimesnap.select_snap_points(coalesce(cand.candidates, '{}'), coalesce(ad.addresses, '{}'), k) s;
  END LOOP;
  -- Candidates outside every neighbourhood (none, as the checks above reject them), judged
  -- as a whole build would, with the addresses outside every neighbourhood.
  INSERT INTO pg_temp.cs_sel (rank, kept, catchment, reason)
  SELECT s.rank, s.kept, s.catchment, s.reason
    FROM (SELECT pg_catalog.array_agg(ROW(c.rank, c.geom, c.neighbourhood_id, c.kind)::crimesnap.snap_candidate
                                      ORDER BY c.rank) AS candidates
            FROM pg_temp.cs_cand c WHERE c.rank IS NOT NULL AND c.neighbourhood_id IS NULL) cand,
         (SELECT pg_catalog.array_agg(ROW(a.address_id, a.geom, a.street_name, a.neighbourhood_id)::crimesnap.address_input
                                      ORDER BY a.address_id) AS addresses
            FROM pg_temp.cs_addr a WHERE a.neighbourhood_id IS NULL) ad,
         crimesnap.select_snap_points(coalesce(cand.candidates, '{}'), coalesce(ad.addresses, '{}'), k) s
   WHERE cand.candidates IS NOT NULL;
  ANALYZE pg_temp.cs_sel;
  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('selection: %s points kept, %s pruned', (SELECT pg_catalog.count(*) FROM pg_temp.cs_sel x WHERE x.kept), (SELECT pg_catalog.count(*) FROM pg_temp.cs_sel x WHERE NOT x.kept))
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  INSERT INTO crimesnap.snap_point
         (version, point_id, neighbourhood_id, kind, label, address_count, lsoa_code, lsoa_name,
          longitude, latitude, explanation, geom, source_id)
  SELECT v, c.rank, c.neighbourhood_id, c.kind, c.label, s.catchment, l.lsoa_code, l.name,
         ST_X(ST_Transform(c.geom, 4326)), ST_Y(ST_Transform(c.geom, 4326)),
         c.explanation, c.geom, c.source_id
    FROM pg_temp.cs_cand c
    JOIN pg_temp.cs_sel s ON s.rank = c.rank AND s.kept
    LEFT JOIN LATERAL (
      SELECT x.lsoa_code, x.name FROM crimesnap.lsoa x WHERE ST_Intersects(x.geom, c.geom)
       ORDER BY x.lsoa_code LIMIT 1) l ON true
   ORDER BY c.rank;

  INSERT INTO crimesnap.force_snap_point_result (version, force_point_id, point_id, reason)
  SELECT v, c.source_id, CASE WHEN s.kept THEN c.rank END,
         CASE WHEN s.kept THEN NULL ELSE coalesce(c.reject, s.reason, 'not admitted') END
    FROM pg_temp.cs_cand c
    LEFT JOIN pg_temp.cs_sel s ON s.rank = c.rank
   WHERE c.kind = 'force';

  -- ---- the changelog against the previous current set ----
  INSERT INTO crimesnap.snap_point_change (version, point_id, change, old_geom, new_geom, label, distance)
  SELECT v, coalesce(n.point_id, o.point_id),
         CASE WHEN o.point_id IS NULL THEN 'added' WHEN n.point_id IS NULL THEN 'removed' ELSE 'moved' END,
         o.geom, n.geom, coalesce(n.label, o.label),
         CASE WHEN o.point_id IS NOT NULL AND n.point_id IS NOT NULL THEN ST_Distance(o.geom, n.geom) END
    FROM (SELECT * FROM crimesnap.snap_point p WHERE p.version = v) n
    FULL JOIN (SELECT * FROM crimesnap.snap_point p WHERE p.version = prev) o ON o.point_id = n.point_id
   WHERE o.point_id IS NULL OR n.point_id IS NULL OR NOT ST_OrderingEquals(o.geom, n.geom);

  -- ---- catchment areas: Voronoi cells within each neighbourhood ----
  INSERT INTO crimesnap.snap_point_catchment (version, point_id, geom)
  WITH pts AS (
    SELECT p.point_id, p.neighbourhood_id, p.geom,
           pg_catalog.count(*) OVER (PARTITION BY p.neighbourhood_id) AS n
      FROM crimesnap.snap_point p WHERE p.version = v
  ), cells AS (
    SELECT x.neighbourhood_id, (ST_Dump(ST_VoronoiPolygons(ST_Collect(x.geom), 0::float8, nb.geom))).geom AS cell
      FROM pts x JOIN crimesnap.neighbourhood nb USING (neighbourhood_id)
     WHERE x.n > 1
     GROUP BY x.neighbourhood_id, nb.geom
  ), owner AS (
    -- A cell holds one point, or several at one location: the lowest id wins those ties.
    SELECT DISTINCT ON (c.neighbourhood_id, ST_AsBinary(c.cell)) p.point_id, c.cell
      FROM cells c JOIN pts p ON p.neighbourhood_id = c.neighbourhood_id AND ST_Intersects(c.cell, p.geom)
     ORDER BY c.neighbourhood_id, ST_AsBinary(c.cell), p.point_id
  )
  SELECT v, p.point_id,
         ST_Multi(ST_CollectionExtract(
           CASE WHEN p.n = 1 THEN nb.geom
                WHEN o.cell IS NULL THEN 'POLYGON EMPTY'::geometry
                ELSE ST_Intersection(o.cell, nb.geom, -1.0::float8) END, 3))
    FROM pts p
    JOIN crimesnap.neighbourhood nb USING (neighbourhood_id)
    LEFT JOIN owner o ON o.point_id = p.point_id;

  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('set %s stored: points, changelog and catchment areas', v)
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;
  -- ---- notes, audit, current ----
  SELECT notes || pg_catalog.jsonb_build_object(
           'rejected', (SELECT coalesce(pg_catalog.jsonb_object_agg(r.reject, r.n), '{}')
                          FROM (SELECT c.kind || ': ' || c.reject AS reject, pg_catalog.count(*) AS n
                                  FROM pg_temp.cs_cand c WHERE c.reject IS NOT NULL GROUP BY 1) r),
           'moved_off_properties', (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c
                                     WHERE c.kind = 'street' AND c.geom IS NOT NULL
                                       AND NOT ST_DWithin(c.geom, c.target, 0.01::float8)),
           'pruned', (SELECT pg_catalog.count(*) FROM pg_temp.cs_sel s WHERE NOT s.kept),
           'kept_ids', (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c JOIN pg_temp.cs_sel s ON s.rank = c.rank
                         WHERE s.kept AND c.old_point_id IS NOT NULL),
           'addresses', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr),
           'address_rows', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr_all),
           'addresses_outside_neighbourhoods', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr a WHERE a.neighbourhood_id IS NULL))
    INTO notes;
  UPDATE crimesnap.snap_point_set s
     SET point_count = (SELECT pg_catalog.count(*) FROM crimesnap.snap_point p WHERE p.version = v),
         build_notes = notes
   WHERE s.version = v;

  -- The audit recomputes every catchment with PostGIS, independently of the C code above; a
  -- set that fails it is never stored.  It reads the rows just written: plan it with their
  -- statistics, not with those of the empty tables of a first build.
  SELECT pg_catalog.count(*) INTO n FROM crimesnap.snap_point p WHERE p.version = v;
  PERFORM crimesnap.analyse_if_grown('crimesnap.snap_point'::pg_catalog.regclass, n::bigint);
  PERFORM crimesnap.analyse_if_grown('crimesnap.snap_point_catchment'::pg_catalog.regclass, n::bigint);
  SELECT pg_catalog.count(*) INTO n FROM crimesnap.audit_snap_points(v);
  IF n > 0 THEN
    RAISE EXCEPTION 'snap point set % failed its own audit with % violations', v, n
      USING ERRCODE = 'internal_error',
            DETAIL = (SELECT pg_catalog.string_agg(pg_catalog.format('point %s: %s (%s)', a.point_id, a.violation, a.detail), '; ')
                        FROM (SELECT * FROM crimesnap.audit_snap_points(v) LIMIT 5) a),
            HINT = 'Nothing was stored. Report this as a bug in crimesnap, with the input tables.';
  END IF;

  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('set %s passed its audit', v)
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;
  -- Coverage: say what the set leaves out of reach, so that a rural force sees it.
  SELECT pg_catalog.count(*) FILTER (WHERE c.points = 0 AND c.addresses > 0) AS no_point,
         coalesce(pg_catalog.sum(c.addresses) FILTER (WHERE c.points = 0), 0) AS no_point_addresses,
         pg_catalog.count(*) FILTER (WHERE c.street_points <= 1 AND c.points > 0 AND c.addresses > 0) AS one_point,
         pg_catalog.max(c.farthest_address) AS farthest,
         coalesce(pg_catalog.sum(c.share_beyond * ST_Area(nb.geom)) / nullif(pg_catalog.sum(ST_Area(nb.geom)), 0::float8), 0::float8) AS share,
         pg_catalog.max(c.beyond_distance) AS beyond
    INTO pair
    FROM crimesnap.snap_point_coverage(v, NULL) c
    JOIN crimesnap.neighbourhood nb ON nb.neighbourhood_id = c.neighbourhood_id;
  UPDATE crimesnap.snap_point_set s
     SET build_notes = s.build_notes || pg_catalog.jsonb_build_object(
           'coverage', pg_catalog.jsonb_build_object(
             'neighbourhoods_without_point', pair.no_point, 'addresses_without_point', pair.no_point_addresses,
             'neighbourhoods_with_one_street_point', pair.one_point,
             'farthest_address_m', pg_catalog.round(pair.farthest::numeric, 1),
             'share_of_area_beyond', pg_catalog.round(pair.share::numeric, 4),
             'beyond_m', pair.beyond))
   WHERE s.version = v;
  RAISE NOTICE 'snap point set %: % neighbourhoods with addresses have no point (% addresses), % have one street point or none; the farthest address is % m from its point; % %% of the area is more than % m from every point',
               v, pair.no_point, pair.no_point_addresses, pair.one_point, coalesce(pg_catalog.round(pair.farthest::numeric, 1)::text, 'n/a'),
               pg_catalog.round(100::numeric * pair.share::numeric, 1), pair.beyond
    USING HINT = 'See crimesnap.snap_coverage. A force can add public places (crimesnap.public_place) and its own points (crimesnap.force_snap_point); a smaller k is not an option.';

  IF make_current THEN
    -- An empty set would take every street-level crime off the map at the next publication.
    IF NOT EXISTS (SELECT FROM crimesnap.snap_point p WHERE p.version = v) THEN
      RAISE EXCEPTION 'snap point set % has no points, so it is not made current', v
        USING ERRCODE = 'no_data_found',
              DETAIL = pg_catalog.format('mode %s, min_addresses %s, segment_length %s: %s', mode, k,
                                         coalesce(segment_length::text, 'none'), notes::text),
              HINT = 'Nothing was stored. Check the input tables and the arguments, or build with make_current => false to look at the set.';
    END IF;
    PERFORM crimesnap.set_current_snap_points(v);
  END IF;
  IF progress THEN
    RAISE NOTICE 'build_snap_points: %', pg_catalog.format('set %s built, coverage measured', v)
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;
  DROP TABLE pg_temp.cs_piece, pg_temp.cs_addr, pg_temp.cs_addr_all, pg_temp.cs_assoc, pg_temp.cs_label, pg_temp.cs_cand, pg_temp.cs_sel;
  RETURN v;
END
$fn$;
COMMENT ON FUNCTION crimesnap.build_snap_point_set(text, integer, text, boolean, double precision) IS
  'build_snap_points() with every option: also segment_length, the longest stretch of street (metres) one dense-mode candidate stands for. Returns the new version.';

CREATE FUNCTION crimesnap.build_snap_points(
  mode text DEFAULT 'street',
  min_addresses integer DEFAULT NULL,
  rule text DEFAULT 'midpoint',
  make_current boolean DEFAULT true)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
  SELECT crimesnap.build_snap_point_set($1, $2, $3, $4, 25.0)
$fn$;
COMMENT ON FUNCTION crimesnap.build_snap_points(text, integer, text, boolean) IS
  'Builds a new snap point set version from the input tables (mode street or dense, k = min_addresses, never below crimesnap.min_addresses), audits it, and (by default) makes it current. Returns the version.';

CREATE FUNCTION crimesnap.set_current_snap_points(version integer)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
BEGIN
  PERFORM crimesnap.assert_admin('choose the current snap point set');
  IF NOT EXISTS (SELECT FROM crimesnap.snap_point_set s WHERE s.version = $1) THEN
    RAISE EXCEPTION 'snap point set version % does not exist', $1
      USING ERRCODE = 'no_data_found',
            HINT = 'See crimesnap.snap_point_set for the versions built.';
  END IF;
  UPDATE crimesnap.snap_point_set s SET is_current = false WHERE s.is_current AND s.version <> $1;
  UPDATE crimesnap.snap_point_set s SET is_current = true WHERE s.version = $1;
END
$fn$;
COMMENT ON FUNCTION crimesnap.set_current_snap_points(integer) IS
  'Makes a built set the one that publication snaps to. Already published months keep their own version.';

-- ---- the audit ----

CREATE FUNCTION crimesnap.audit_snap_points(version integer DEFAULT NULL)
RETURNS TABLE (point_id bigint, violation text, detail text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
SET jit = off
AS $fn$
DECLARE
  v integer := coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current));
  k integer;
  set_mode text;
  mindist double precision := crimesnap.setting('min_property_distance')::double precision;
BEGIN
  SELECT s.min_addresses, s.mode INTO k, set_mode FROM crimesnap.snap_point_set s WHERE s.version = v;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'snap point set version % does not exist', coalesce(v::text, '(none current)')
      USING ERRCODE = 'no_data_found',
            HINT = 'Build one with crimesnap.build_snap_points().';
  END IF;
  -- The set's own k, but never below the threshold in force now.
  k := greatest(k, crimesnap.setting('min_addresses')::integer);

  RETURN QUERY
  SELECT c.point_id, 'catchment under k'::text,
         pg_catalog.format('%s point "%s" has a catchment of %s addresses; k is %s%s', p.kind, p.label,
                           c.addresses, k, CASE WHEN p.kind <> 'street' THEN ' (or none, for a ' || p.kind || ' point)' ELSE '' END)
    FROM crimesnap.catchments(v) c
    JOIN crimesnap.snap_point p ON p.version = v AND p.point_id = c.point_id
   WHERE (p.kind = 'street' AND c.addresses < k)
      OR (p.kind <> 'street' AND c.addresses BETWEEN 1 AND k - 1)
   ORDER BY c.point_id;

  RETURN QUERY
  SELECT p.point_id, 'too close to an address'::text,
         pg_catalog.format('address %s is %s m away; crimesnap.min_property_distance is %s m',
                           a.address_id, pg_catalog.round(ST_Distance(a.geom, p.geom)::numeric, 2), mindist)
    FROM crimesnap.snap_point p
    CROSS JOIN LATERAL (SELECT a.address_id, a.geom FROM crimesnap.address a
                         WHERE ST_DWithin(a.geom, p.geom, mindist)
                         ORDER BY a.geom <-> p.geom, a.address_id LIMIT 1) a
   WHERE p.version = v
   ORDER BY p.point_id;

  RETURN QUERY
  SELECT p.point_id, 'outside its neighbourhood'::text,
         pg_catalog.format('point is %s m outside neighbourhood %s',
                           pg_catalog.round(ST_Distance(n.geom, p.geom)::numeric, 2), p.neighbourhood_id)
    FROM crimesnap.snap_point p
    JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = p.neighbourhood_id
   WHERE p.version = v AND NOT ST_Intersects(n.geom, p.geom)
   ORDER BY p.point_id;

  IF set_mode = 'street' THEN
    RETURN QUERY
    WITH counts AS (
      SELECT a.neighbourhood_id, a.street_key, pg_catalog.count(*) AS n
        FROM crimesnap.address_streets() a
       WHERE a.street_key IS NOT NULL
       GROUP BY 1, 2)
    SELECT p.point_id, 'street under k'::text,
           pg_catalog.format('street "%s" has %s addresses; k is %s', p.label, coalesce(c.n, 0), k)
      FROM crimesnap.snap_point p
      LEFT JOIN counts c ON c.neighbourhood_id = p.neighbourhood_id
                        AND c.street_key = crimesnap.normalise_street_name(p.label)
     WHERE p.version = v AND p.kind = 'street' AND coalesce(c.n, 0) < k
     ORDER BY p.point_id;
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap.audit_snap_points(integer) IS
  'Proves the privacy promise of a snap point set (default: current) on the data as it is now: one row per violation (catchment under k, too close to an address, outside its neighbourhood, and in street mode street under k), none when clean.';

-- ---- published catchments ----

CREATE VIEW crimesnap_api.catchment WITH (security_barrier) AS
SELECT p.version,
       p.point_id AS street_id,
       'On or near ' || p.label AS location,
       p.neighbourhood_id,
       p.latitude,
       p.longitude,
       c.geom
  FROM crimesnap.snap_point_catchment c
  JOIN crimesnap.snap_point p ON p.version = c.version AND p.point_id = c.point_id
  JOIN crimesnap.snap_point_set s ON s.version = c.version
 WHERE s.is_current;
COMMENT ON VIEW crimesnap_api.catchment IS
  'The catchment area of every point of the current snap point set: its Voronoi cell among the points of its neighbourhood, clipped to the neighbourhood. Every crime and address inside it snaps to the point. Polygons only: never an address or an address count.';
COMMENT ON COLUMN crimesnap_api.catchment.version IS 'Snap point set version.';
COMMENT ON COLUMN crimesnap_api.catchment.street_id IS 'Snap point id, as crimesnap_api.street_crime.street_id.';
COMMENT ON COLUMN crimesnap_api.catchment.location IS '"On or near <street or place>".';
COMMENT ON COLUMN crimesnap_api.catchment.neighbourhood_id IS 'The neighbourhood the area lies in.';
COMMENT ON COLUMN crimesnap_api.catchment.latitude IS 'WGS84 latitude of the snap point.';
COMMENT ON COLUMN crimesnap_api.catchment.longitude IS 'WGS84 longitude of the snap point.';
COMMENT ON COLUMN crimesnap_api.catchment.geom IS 'The catchment area, MultiPolygon in EPSG:27700.';

-- ---- privileges for what this section adds (90-grants.sql has the rest) ----

GRANT SELECT ON crimesnap_api.catchment TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT SELECT ON crimesnap.snap_point_catchment, crimesnap.force_snap_point_result TO crimesnap_analyst;
-- A force adds points in its own name and never removes one; crimesnap_admin may.
GRANT SELECT, INSERT (force_id, label, explanation, geom) ON crimesnap.force_snap_point TO crimesnap_loader, crimesnap_publisher;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.force_snap_point TO crimesnap_admin;
GRANT SELECT ON crimesnap.force_snap_point_result TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.build_snap_point_set(text, integer, text, boolean, double precision)
  TO crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.snap_point_coverage(integer, double precision),
                          crimesnap.address_streets(),
                          crimesnap.street_pieces()
  TO crimesnap_publisher, crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.associate_addresses(crimesnap.address_input[], crimesnap.street_input[], double precision),
                          crimesnap.street_segments(text[], text[], geometry[], double precision),
                          crimesnap.clear_point(geometry, geometry, geometry, double precision),
                          crimesnap.select_snap_points(crimesnap.snap_candidate[], crimesnap.address_input[], integer)
  TO crimesnap_analyst, crimesnap_publisher;
