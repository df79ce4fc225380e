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

-- ---- versioned snap point sets ----

CREATE TABLE crimesnap.snap_point_set (
  version       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mode          text NOT NULL CHECK (mode IN ('street', 'dense')),
  min_addresses integer NOT NULL CHECK (min_addresses >= 1),
  rule          text NOT NULL CHECK (rule IN ('midpoint', 'address_centroid', 'bbox_centre')),
  is_current    boolean NOT NULL DEFAULT false,
  built_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  built_by      name NOT NULL DEFAULT CURRENT_USER,
  point_count   integer
);
CREATE UNIQUE INDEX snap_point_set_one_current ON crimesnap.snap_point_set (is_current) WHERE is_current;
COMMENT ON TABLE crimesnap.snap_point_set IS
  'One row per build of the snap points. Exactly one set is current; published crimes keep the version they were snapped with.';
COMMENT ON COLUMN crimesnap.snap_point_set.version IS 'Set version, increasing with every build.';
COMMENT ON COLUMN crimesnap.snap_point_set.mode IS 'street: one point per street with at least k addresses; dense: many points, each with a catchment of at least k.';
COMMENT ON COLUMN crimesnap.snap_point_set.min_addresses IS 'k, the minimum catchment this set was built and is audited with.';
COMMENT ON COLUMN crimesnap.snap_point_set.rule IS 'Where a street''s point falls: midpoint, address_centroid or bbox_centre.';
COMMENT ON COLUMN crimesnap.snap_point_set.is_current IS 'The set that publication snaps to.';
COMMENT ON COLUMN crimesnap.snap_point_set.built_at IS 'When the set was built.';
COMMENT ON COLUMN crimesnap.snap_point_set.built_by IS 'Who built it.';
COMMENT ON COLUMN crimesnap.snap_point_set.point_count IS 'Number of points in the set.';

CREATE SEQUENCE crimesnap.snap_point_id_seq;
COMMENT ON SEQUENCE crimesnap.snap_point_id_seq IS 'Snap point ids; a point that does not move keeps its id across versions.';

CREATE TABLE crimesnap.snap_point (
  version          integer NOT NULL REFERENCES crimesnap.snap_point_set ON DELETE CASCADE,
  point_id         bigint NOT NULL,
  neighbourhood_id text NOT NULL REFERENCES crimesnap.neighbourhood ON UPDATE CASCADE,
  kind             text NOT NULL CHECK (kind IN ('street', 'place', 'force')),
  label            text NOT NULL,
  address_count    integer NOT NULL CHECK (address_count >= 0),
  lsoa_code        text,
  lsoa_name        text,
  longitude        double precision NOT NULL,
  latitude         double precision NOT NULL,
  explanation      text,
  geom             geometry(Point, 27700) NOT NULL,
  PRIMARY KEY (version, point_id)
);
CREATE INDEX ON crimesnap.snap_point USING gist (geom);
CREATE INDEX ON crimesnap.snap_point (version, neighbourhood_id);
COMMENT ON TABLE crimesnap.snap_point IS
  'The anonymous points crimes are published at, one row per point and set version.';
COMMENT ON COLUMN crimesnap.snap_point.version IS 'The set this point belongs to.';
COMMENT ON COLUMN crimesnap.snap_point.point_id IS 'Stable id: unchanged across versions while the point does not move. Published as the street id.';
COMMENT ON COLUMN crimesnap.snap_point.neighbourhood_id IS 'The neighbourhood the point lies in and serves.';
COMMENT ON COLUMN crimesnap.snap_point.kind IS 'street (a street centre), place (a public place or premise) or force (added by a force).';
COMMENT ON COLUMN crimesnap.snap_point.label IS 'Published as "On or near <label>": a street name or a place class.';
COMMENT ON COLUMN crimesnap.snap_point.address_count IS 'Catchment at build time: addresses whose nearest point in their neighbourhood is this one.';
COMMENT ON COLUMN crimesnap.snap_point.lsoa_code IS 'LSOA containing the point, published with every crime snapped to it.';
COMMENT ON COLUMN crimesnap.snap_point.lsoa_name IS 'Name of that LSOA when the set was built.';
COMMENT ON COLUMN crimesnap.snap_point.longitude IS 'WGS84 longitude of the point, as published.';
COMMENT ON COLUMN crimesnap.snap_point.latitude IS 'WGS84 latitude of the point, as published.';
COMMENT ON COLUMN crimesnap.snap_point.explanation IS 'For a force''s own point, the force''s explanation.';
COMMENT ON COLUMN crimesnap.snap_point.geom IS 'The point, EPSG:27700.';

CREATE TABLE crimesnap.snap_point_change (
  version      integer NOT NULL REFERENCES crimesnap.snap_point_set ON DELETE CASCADE,
  point_id     bigint NOT NULL,
  change       text NOT NULL CHECK (change IN ('added', 'removed', 'moved')),
  old_geom     geometry(Point, 27700),
  new_geom     geometry(Point, 27700),
  PRIMARY KEY (version, point_id)
);
COMMENT ON TABLE crimesnap.snap_point_change IS
  'Changelog between a set and the set that was current before it: points added, removed and moved.';
COMMENT ON COLUMN crimesnap.snap_point_change.version IS 'The new set.';
COMMENT ON COLUMN crimesnap.snap_point_change.point_id IS 'The point that changed.';
COMMENT ON COLUMN crimesnap.snap_point_change.change IS 'added, removed or moved.';
COMMENT ON COLUMN crimesnap.snap_point_change.old_geom IS 'Where it was, for removed and moved points.';
COMMENT ON COLUMN crimesnap.snap_point_change.new_geom IS 'Where it is, for added and moved points.';

-- ---- address association ----

CREATE FUNCTION crimesnap.street_pieces()
RETURNS TABLE (street_id bigint, neighbourhood_id text, street_key text, name text, geom geometry)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Centrelines that may carry points, clipped to each neighbourhood they cross, so that a
  -- street's point always lies inside the neighbourhood it serves.
  SELECT s.street_id, n.neighbourhood_id, crimesnap.normalise_street_name(s.name), s.name,
         (ST_Dump(ST_CollectionExtract(
            CASE WHEN ST_CoveredBy(s.geom, n.geom) THEN s.geom ELSE ST_Intersection(s.geom, n.geom) END, 2))).geom
    FROM crimesnap.street s
    JOIN crimesnap.neighbourhood n ON ST_Intersects(s.geom, n.geom)
    LEFT JOIN crimesnap.highway_class h ON h.highway = s.highway
   WHERE crimesnap.normalise_street_name(s.name) IS NOT NULL
     AND coalesce(h.carries_points, true)
$fn$;
COMMENT ON FUNCTION crimesnap.street_pieces() IS
  'Named centrelines of road classes that carry points, clipped to neighbourhoods, with their normalised street key.';

CREATE FUNCTION crimesnap.address_streets()
RETURNS TABLE (address_id bigint, neighbourhood_id text, street_key text, geom geometry)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Each address counts once, for one street of its own neighbourhood: the street its
  -- name matches within 250 m, otherwise the nearest centreline.
  WITH piece AS MATERIALIZED (SELECT * FROM crimesnap.street_pieces())
  SELECT a.address_id, nb.neighbourhood_id,
         coalesce(
           (SELECT p.street_key FROM piece p
             WHERE p.neighbourhood_id = nb.neighbourhood_id
               AND p.street_key = crimesnap.normalise_street_name(a.street_name)
               AND ST_DWithin(p.geom, a.geom, 250)
             ORDER BY p.geom <-> a.geom, p.street_id LIMIT 1),
           (SELECT p.street_key FROM piece p
             WHERE p.neighbourhood_id = nb.neighbourhood_id
             ORDER BY p.geom <-> a.geom, p.street_id LIMIT 1)),
         a.geom
    FROM crimesnap.address a
    CROSS JOIN LATERAL (
      SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
       WHERE ST_Intersects(n.geom, a.geom)
       ORDER BY n.neighbourhood_id LIMIT 1) nb
$fn$;
COMMENT ON FUNCTION crimesnap.address_streets() IS
  'Associates every postal address with one street of its own neighbourhood: by normalised name within 250 m, else the nearest centreline.';

-- ---- catchments ----

CREATE FUNCTION crimesnap.catchments(version integer DEFAULT NULL)
RETURNS TABLE (point_id bigint, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Recomputed from the addresses as they are now, not read from the stored counts.
  WITH v AS (
    SELECT coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current)) AS version
  ), nearest AS (
    SELECT (SELECT p.point_id FROM crimesnap.snap_point p, v
             WHERE p.version = v.version AND p.neighbourhood_id = nb.neighbourhood_id
             ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) AS point_id
      FROM crimesnap.address a
      CROSS JOIN LATERAL (
        SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
         WHERE ST_Intersects(n.geom, a.geom)
         ORDER BY n.neighbourhood_id LIMIT 1) nb
  )
  SELECT p.point_id, count(n.point_id)
    FROM crimesnap.snap_point p
    JOIN v ON p.version = v.version
    LEFT JOIN nearest n ON n.point_id = p.point_id
   GROUP BY p.point_id
$fn$;
COMMENT ON FUNCTION crimesnap.catchments(integer) IS
  'Catchment size of every point of a set (default: the current set): the postal addresses whose nearest point inside their own neighbourhood is that point.';

-- ---- building ----

CREATE FUNCTION crimesnap.build_snap_points(
  mode text DEFAULT 'street',
  min_addresses integer DEFAULT NULL,
  rule text DEFAULT 'midpoint',
  make_current boolean DEFAULT true)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  k integer := coalesce(min_addresses, crimesnap.setting('min_addresses')::integer);
  floor_k integer := crimesnap.setting('min_addresses')::integer;
  v integer;
  prev integer;
  removed integer;
BEGIN
  IF k < floor_k THEN
    RAISE EXCEPTION 'min_addresses % is below crimesnap.min_addresses (%)', k, floor_k
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A snap point may serve more addresses than the privacy threshold, never fewer.';
  END IF;
  IF mode IS DISTINCT FROM 'street' THEN
    RAISE EXCEPTION 'snap point mode "%" is not available', mode
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Use mode => ''street''.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.neighbourhood) THEN
    RAISE EXCEPTION 'no neighbourhoods are loaded'
      USING ERRCODE = 'no_data_found',
            HINT = 'Load crimesnap.force and crimesnap.neighbourhood before building snap points.';
  END IF;

  -- One build at a time: two concurrent builds would both claim to be current.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.build_snap_points'));
  SELECT s.version INTO prev FROM crimesnap.snap_point_set s WHERE s.is_current;

  INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule)
  VALUES (mode, k, rule) RETURNING version INTO v;

  CREATE TEMP TABLE cs_piece ON COMMIT DROP AS SELECT * FROM crimesnap.street_pieces();
  CREATE TEMP TABLE cs_assoc ON COMMIT DROP AS SELECT * FROM crimesnap.address_streets();

  -- Candidates: one per street (neighbourhood, key) with at least k associated addresses,
  -- and every public place.
  CREATE TEMP TABLE cs_cand ON COMMIT DROP AS
  SELECT u.neighbourhood_id, 'street'::text AS kind,
         pg_catalog.mode() WITHIN GROUP (ORDER BY u.name) AS label,
         crimesnap.snap_centre(u.geom, k, rule) AS geom
    FROM (SELECT p.neighbourhood_id, p.street_key, p.name, p.geom FROM pg_temp.cs_piece p
          UNION ALL
          SELECT a.neighbourhood_id, a.street_key, NULL, a.geom FROM pg_temp.cs_assoc a) u
   GROUP BY u.neighbourhood_id, u.street_key;
  DELETE FROM pg_temp.cs_cand WHERE geom IS NULL;
  INSERT INTO pg_temp.cs_cand
  SELECT nb.neighbourhood_id, 'place', pl.class, pl.geom
    FROM crimesnap.public_place pl
    CROSS JOIN LATERAL (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                         WHERE ST_Intersects(n.geom, pl.geom)
                         ORDER BY n.neighbourhood_id LIMIT 1) nb;
  ALTER TABLE pg_temp.cs_cand ADD COLUMN cand_id serial, ADD COLUMN catchment bigint;
  CREATE INDEX ON pg_temp.cs_cand USING gist (geom);
  ANALYZE pg_temp.cs_cand;

  -- Prune until every candidate's catchment is at least k, or zero for a place: removing
  -- a point hands its addresses to its neighbours, which may then reach k.
  LOOP
    WITH n AS (
      SELECT nearest.cand_id, count(*) AS cnt
        FROM pg_temp.cs_assoc a
        CROSS JOIN LATERAL (SELECT c3.cand_id FROM pg_temp.cs_cand c3
                             WHERE c3.neighbourhood_id = a.neighbourhood_id
                             ORDER BY c3.geom <-> a.geom, c3.cand_id LIMIT 1) nearest
       GROUP BY nearest.cand_id)
    UPDATE pg_temp.cs_cand c
       SET catchment = coalesce((SELECT n.cnt FROM n WHERE n.cand_id = c.cand_id), 0);
    DELETE FROM pg_temp.cs_cand c
     WHERE (c.kind = 'street' AND c.catchment < k)
        OR (c.kind <> 'street' AND c.catchment BETWEEN 1 AND k - 1);
    GET DIAGNOSTICS removed = ROW_COUNT;
    EXIT WHEN removed = 0;
  END LOOP;

  -- A point that has not moved keeps its id.
  INSERT INTO crimesnap.snap_point
         (version, point_id, neighbourhood_id, kind, label, address_count, lsoa_code, lsoa_name,
          longitude, latitude, geom)
  SELECT v,
         coalesce(old.point_id, pg_catalog.nextval('crimesnap.snap_point_id_seq')),
         c.neighbourhood_id, c.kind, c.label, c.catchment, l.lsoa_code, l.name,
         ST_X(ST_Transform(c.geom, 4326)), ST_Y(ST_Transform(c.geom, 4326)),
         c.geom
    FROM pg_temp.cs_cand c
    LEFT JOIN LATERAL (
      SELECT p.point_id FROM crimesnap.snap_point p
       WHERE p.version = prev AND p.neighbourhood_id = c.neighbourhood_id
         AND p.kind = c.kind AND p.label = c.label AND ST_DWithin(p.geom, c.geom, 0.01)
       ORDER BY p.point_id LIMIT 1) old ON true
    LEFT JOIN LATERAL (
      SELECT x.lsoa_code, x.name FROM crimesnap.lsoa x WHERE ST_Intersects(x.geom, c.geom)
       ORDER BY x.lsoa_code LIMIT 1) l ON true
   ORDER BY c.neighbourhood_id, c.kind, c.label, ST_X(c.geom), ST_Y(c.geom);

  INSERT INTO crimesnap.snap_point_change (version, point_id, change, old_geom, new_geom)
  SELECT v, coalesce(n.point_id, o.point_id),
         CASE WHEN o.point_id IS NULL THEN 'added' WHEN n.point_id IS NULL THEN 'removed' ELSE 'moved' END,
         o.geom, n.geom
    FROM (SELECT * FROM crimesnap.snap_point WHERE version = v) n
    FULL JOIN (SELECT * FROM crimesnap.snap_point WHERE version = prev) o ON o.point_id = n.point_id
   WHERE o.point_id IS NULL OR n.point_id IS NULL OR NOT ST_Equals(o.geom, n.geom);

  UPDATE crimesnap.snap_point_set s
     SET point_count = (SELECT count(*) FROM crimesnap.snap_point p WHERE p.version = v)
   WHERE s.version = v;
  IF make_current THEN
    PERFORM crimesnap.set_current_snap_points(v);
  END IF;
  DROP TABLE pg_temp.cs_piece, pg_temp.cs_assoc, pg_temp.cs_cand;
  RETURN v;
END
$fn$;
COMMENT ON FUNCTION crimesnap.build_snap_points(text, integer, text, boolean) IS
  'Builds a new snap point set version from the input tables and (by default) makes it current. Returns the version.';

CREATE FUNCTION crimesnap.set_current_snap_points(version integer)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
BEGIN
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
         pg_catalog.format('catchment of %s addresses; k is %s', c.addresses, k)
    FROM crimesnap.catchments(v) c
    JOIN crimesnap.snap_point p ON p.version = v AND p.point_id = c.point_id
   WHERE (p.kind = 'street' AND c.addresses < k)
      OR (p.kind <> 'street' AND c.addresses BETWEEN 1 AND k - 1);

  RETURN QUERY
  SELECT p.point_id, 'too close to an address'::text,
         pg_catalog.format('address %s is %s m away; crimesnap.min_property_distance is %s m',
                           a.address_id, round(ST_Distance(a.geom, p.geom)::numeric, 2), mindist)
    FROM crimesnap.snap_point p
    CROSS JOIN LATERAL (SELECT a.address_id, a.geom FROM crimesnap.address a
                         WHERE ST_DWithin(a.geom, p.geom, mindist)
                         ORDER BY a.geom <-> p.geom, a.address_id LIMIT 1) a
   WHERE p.version = v;

  RETURN QUERY
  SELECT p.point_id, 'outside its neighbourhood'::text,
         pg_catalog.format('point is %s m outside neighbourhood %s',
                           round(ST_Distance(n.geom, p.geom)::numeric, 2), p.neighbourhood_id)
    FROM crimesnap.snap_point p
    JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = p.neighbourhood_id
   WHERE p.version = v AND NOT ST_Intersects(n.geom, p.geom);

  IF set_mode = 'street' THEN
    RETURN QUERY
    WITH counts AS (
      SELECT a.neighbourhood_id, a.street_key, count(*) AS n
        FROM crimesnap.address_streets() a GROUP BY 1, 2)
    SELECT p.point_id, 'street under k'::text,
           pg_catalog.format('street "%s" has %s addresses; k is %s', p.label, coalesce(c.n, 0), k)
      FROM crimesnap.snap_point p
      LEFT JOIN counts c ON c.neighbourhood_id = p.neighbourhood_id
                        AND c.street_key = crimesnap.normalise_street_name(p.label)
     WHERE p.version = v AND p.kind = 'street' AND coalesce(c.n, 0) < k;
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap.audit_snap_points(integer) IS
  'Proves the privacy promise of a snap point set (default: current) on the data as it is now: one row per violation, none when clean.';
