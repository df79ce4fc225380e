
-- ==== sql/install/00-schema.sql ====

-- crimesnap install script, built from sql/install/*.sql in file-name order.
-- Section 00: schemas and roles.  Security first: nothing is PUBLIC, and every role gets
-- only what docs/security.md lists for it.

\echo Use "CREATE EXTENSION crimesnap" to load this file. \quit

REVOKE ALL ON SCHEMA crimesnap FROM PUBLIC;
COMMENT ON SCHEMA crimesnap IS
  'crimesnap internals: raw force data, snap points, published months and the trend table. Never readable by the web role.';

CREATE SCHEMA crimesnap_api;
REVOKE ALL ON SCHEMA crimesnap_api FROM PUBLIC;
COMMENT ON SCHEMA crimesnap_api IS
  'Everything a web service may read: the same safeguards for the map, the API and every export.';

-- Roles are cluster-wide, so a second database that installs crimesnap reuses them.
DO $roles$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('crimesnap_web',       'Web services: reads crimesnap_api and nothing else.'),
      ('crimesnap_analyst',   'Analysts: read published street-level data and trends, never raw records.'),
      ('crimesnap_loader',    'Force DBAs: load input tables and raw uploads, register batches.'),
      ('crimesnap_publisher', 'Force data controllers: build snap points, publish, roll off, withdraw.'))
      AS t(name, about)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r.name);
    END IF;
    EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.name, r.about);
  END LOOP;
END
$roles$;

-- A web service connects as a login role that is a member of crimesnap_web; the analyst and
-- loader roles read the API too, so that one query works for everybody.
GRANT USAGE ON SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT USAGE ON SCHEMA crimesnap TO crimesnap_analyst, crimesnap_loader, crimesnap_publisher;

-- PostgreSQL 15 has no @extschema:postgis@ to qualify PostGIS names with, so every SQL and
-- PL/pgSQL function here captures this search_path with SET search_path FROM CURRENT:
-- pg_catalog first, then PostGIS's own schema, then pg_temp last, so that neither a
-- temporary object nor anything in a user's schema can stand in for a name we use.
-- crimesnap's own objects are always schema-qualified.
SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

CREATE FUNCTION crimesnap.setting(name text)
RETURNS text
LANGUAGE C STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_setting';
COMMENT ON FUNCTION crimesnap.setting(text) IS
  'Current value of the GUC crimesnap.<name>. Calling it loads the library, so it works in a session that has not used crimesnap yet, where SHOW would not.';

-- ==== sql/install/10-inputs.sql ====

-- Section 10: the input tables a force DBA loads with psql \copy.
-- Geometry is stored in British National Grid (EPSG:27700).  A geometry loaded without an
-- SRID is taken as British National Grid when its coordinates fit the grid; a geometry in
-- any other SRID (for example 4326 from GeoJSON) is transformed on the way in.

CREATE FUNCTION crimesnap.normalise_input_geometry()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  want text := TG_ARGV[0];      -- 'POINT', 'LINE' or 'POLYGON'
  g geometry := NEW.geom;
  kind text;
BEGIN
  IF g IS NULL THEN
    RETURN NEW;                 -- the column's NOT NULL constraint speaks for itself
  END IF;
  IF ST_IsEmpty(g) THEN
    RAISE EXCEPTION 'empty geometry in %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'data_exception',
            HINT = 'Leave out rows without a location; raw crimes without one go in with no easting and northing.';
  END IF;
  IF ST_SRID(g) = 0 THEN
    IF ST_XMin(g) < -100000 OR ST_XMax(g) > 800000
       OR ST_YMin(g) < -100000 OR ST_YMax(g) > 1400000
       OR (ST_XMax(g) BETWEEN -180 AND 180 AND ST_YMax(g) BETWEEN -90 AND 90) THEN
      RAISE EXCEPTION 'geometry in %.% has no SRID and does not look like British National Grid',
                      TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = pg_catalog.format('Its extent is %s.', ST_AsText(Box2D(g))),
              HINT = 'Load EWKT with its SRID, for example ''SRID=4326;POINT(-0.13 51.52)'' for longitude and latitude.';
    END IF;
    g := ST_SetSRID(g, 27700);
  ELSIF ST_SRID(g) <> 27700 THEN
    g := ST_Transform(g, 27700);
  END IF;

  kind := GeometryType(g);
  IF want = 'POINT' AND kind <> 'POINT' THEN
    RAISE EXCEPTION '%.% needs a point, not a %', TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.lower(kind)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Reduce buildings to a point first, for example with ST_PointOnSurface(geom).';
  ELSIF want = 'LINE' AND kind NOT IN ('LINESTRING', 'MULTILINESTRING') THEN
    RAISE EXCEPTION '%.% needs a linestring, not a %', TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.lower(kind)
      USING ERRCODE = 'invalid_parameter_value';
  ELSIF want = 'POLYGON' THEN
    IF kind NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
      RAISE EXCEPTION '%.% needs a polygon, not a %', TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.lower(kind)
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT ST_IsValid(g) THEN
      RAISE EXCEPTION 'invalid polygon in %.%: %', TG_TABLE_SCHEMA, TG_TABLE_NAME,
                      ST_IsValidReason(g)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Repair it before loading, for example with ST_MakeValid(geom).';
    END IF;
    g := ST_Multi(g);
  END IF;
  NEW.geom := g;
  RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION crimesnap.normalise_input_geometry() IS
  'Trigger: puts every loaded geometry into British National Grid and the shape its table expects, or fails with a hint.';

CREATE TABLE crimesnap.force (
  force_id text PRIMARY KEY CHECK (force_id ~ '^[a-z0-9][a-z0-9-]*$'),
  name     text NOT NULL
);
COMMENT ON TABLE crimesnap.force IS
  'Police forces, the data controllers. force_id is the police.uk slug, for example ''metropolitan''. A force''s area is the union of its neighbourhoods.';
COMMENT ON COLUMN crimesnap.force.force_id IS 'police.uk force slug: lower case letters, digits and hyphens.';
COMMENT ON COLUMN crimesnap.force.name IS 'Display name, published as "Reported by" and "Falls within".';

CREATE TABLE crimesnap.neighbourhood (
  neighbourhood_id text PRIMARY KEY,
  force_id         text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  name             text NOT NULL,
  geom             geometry NOT NULL
    CHECK (ST_SRID(geom) = 27700 AND GeometryType(geom) = 'MULTIPOLYGON')
);
CREATE INDEX ON crimesnap.neighbourhood USING gist (geom);
CREATE INDEX ON crimesnap.neighbourhood (force_id);
CREATE TRIGGER normalise_geometry BEFORE INSERT OR UPDATE OF geom ON crimesnap.neighbourhood
  FOR EACH ROW EXECUTE FUNCTION crimesnap.normalise_input_geometry('POLYGON');
COMMENT ON TABLE crimesnap.neighbourhood IS
  'Neighbourhood policing areas. A crime never snaps across one of these boundaries, nor across a force''s.';
COMMENT ON COLUMN crimesnap.neighbourhood.neighbourhood_id IS 'The force''s own neighbourhood code, unique across forces.';
COMMENT ON COLUMN crimesnap.neighbourhood.force_id IS 'The force that polices this neighbourhood.';
COMMENT ON COLUMN crimesnap.neighbourhood.name IS 'Display name.';
COMMENT ON COLUMN crimesnap.neighbourhood.geom IS 'Boundary, MultiPolygon in EPSG:27700 (polygons are made multi on load).';
COMMENT ON TRIGGER normalise_geometry ON crimesnap.neighbourhood IS 'Puts loaded boundaries into EPSG:27700 and checks they are valid.';

CREATE TABLE crimesnap.lsoa (
  lsoa_code text PRIMARY KEY,
  name      text NOT NULL,
  geom      geometry NOT NULL
    CHECK (ST_SRID(geom) = 27700 AND GeometryType(geom) = 'MULTIPOLYGON')
);
CREATE INDEX ON crimesnap.lsoa USING gist (geom);
CREATE TRIGGER normalise_geometry BEFORE INSERT OR UPDATE OF geom ON crimesnap.lsoa
  FOR EACH ROW EXECUTE FUNCTION crimesnap.normalise_input_geometry('POLYGON');
COMMENT ON TABLE crimesnap.lsoa IS
  'Lower Layer Super Output Areas (ONS). A published crime carries the LSOA of its snap point, never of its raw location.';
COMMENT ON COLUMN crimesnap.lsoa.lsoa_code IS 'ONS code, for example E01000850.';
COMMENT ON COLUMN crimesnap.lsoa.name IS 'ONS name, for example Camden 026A.';
COMMENT ON COLUMN crimesnap.lsoa.geom IS 'Boundary, MultiPolygon in EPSG:27700.';
COMMENT ON TRIGGER normalise_geometry ON crimesnap.lsoa IS 'Puts loaded boundaries into EPSG:27700 and checks they are valid.';

-- Road classes: which centrelines may carry a snap point.  Footways and service roads are
-- excluded because a point on them sits beside, or inside, a property's curtilage.
CREATE TABLE crimesnap.highway_class (
  highway        text PRIMARY KEY,
  carries_points boolean NOT NULL
);
COMMENT ON TABLE crimesnap.highway_class IS
  'Which road classes (OpenStreetMap highway=* values) may carry snap points. A class not listed carries points.';
COMMENT ON COLUMN crimesnap.highway_class.highway IS 'Road class as loaded in crimesnap.street.highway.';
COMMENT ON COLUMN crimesnap.highway_class.carries_points IS 'false for paths, footways, service roads and the like.';
INSERT INTO crimesnap.highway_class VALUES
  ('motorway', true), ('trunk', true), ('primary', true), ('secondary', true), ('tertiary', true),
  ('unclassified', true), ('residential', true), ('living_street', true), ('pedestrian', true),
  ('motorway_link', false), ('trunk_link', false), ('primary_link', false), ('secondary_link', false),
  ('tertiary_link', false), ('service', false), ('footway', false), ('path', false),
  ('cycleway', false), ('steps', false), ('track', false), ('bridleway', false), ('corridor', false),
  ('construction', false), ('proposed', false), ('platform', false), ('elevator', false);
SELECT pg_catalog.pg_extension_config_dump('crimesnap.highway_class', '');

CREATE TABLE crimesnap.street (
  street_id bigint PRIMARY KEY,
  name      text,
  highway   text,
  geom      geometry NOT NULL
    CHECK (ST_SRID(geom) = 27700
           AND GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING'))
);
CREATE INDEX ON crimesnap.street USING gist (geom);
CREATE TRIGGER normalise_geometry BEFORE INSERT OR UPDATE OF geom ON crimesnap.street
  FOR EACH ROW EXECUTE FUNCTION crimesnap.normalise_input_geometry('LINE');
COMMENT ON TABLE crimesnap.street IS
  'Street centrelines, one row per segment or way (for example OpenStreetMap highway ways). Segments with the same name in one neighbourhood form one street.';
COMMENT ON COLUMN crimesnap.street.street_id IS 'Source id of the segment, for example the OSM way id.';
COMMENT ON COLUMN crimesnap.street.name IS 'Street name as the source spells it; unnamed segments never carry a point.';
COMMENT ON COLUMN crimesnap.street.highway IS 'Road class; see crimesnap.highway_class.';
COMMENT ON COLUMN crimesnap.street.geom IS 'Centreline, LineString or MultiLineString in EPSG:27700.';
COMMENT ON TRIGGER normalise_geometry ON crimesnap.street IS 'Puts loaded centrelines into EPSG:27700.';

CREATE TABLE crimesnap.address (
  address_id  bigint PRIMARY KEY,
  street_name text,
  postcode    text,
  geom        geometry NOT NULL
    CHECK (ST_SRID(geom) = 27700 AND GeometryType(geom) = 'POINT')
);
CREATE INDEX ON crimesnap.address USING gist (geom);
CREATE TRIGGER normalise_geometry BEFORE INSERT OR UPDATE OF geom ON crimesnap.address
  FOR EACH ROW EXECUTE FUNCTION crimesnap.normalise_input_geometry('POINT');
COMMENT ON TABLE crimesnap.address IS
  'Postal address points. They decide where snap points may go and are never published.';
COMMENT ON COLUMN crimesnap.address.address_id IS 'Source id, for example a UPRN or an OSM id.';
COMMENT ON COLUMN crimesnap.address.street_name IS 'The street the address is on, when the source says; matched to centrelines by normalised name.';
COMMENT ON COLUMN crimesnap.address.postcode IS 'Postcode, when known. Never published.';
COMMENT ON COLUMN crimesnap.address.geom IS 'Point in EPSG:27700.';
COMMENT ON TRIGGER normalise_geometry ON crimesnap.address IS 'Puts loaded points into EPSG:27700.';

CREATE TABLE crimesnap.public_place (
  place_id bigint PRIMARY KEY,
  class    text NOT NULL,
  geom     geometry NOT NULL
    CHECK (ST_SRID(geom) = 27700 AND GeometryType(geom) = 'POINT')
);
CREATE INDEX ON crimesnap.public_place USING gist (geom);
CREATE TRIGGER normalise_geometry BEFORE INSERT OR UPDATE OF geom ON crimesnap.public_place
  FOR EACH ROW EXECUTE FUNCTION crimesnap.normalise_input_geometry('POINT');
COMMENT ON TABLE crimesnap.public_place IS
  'Public places and commercial premises (parks, car parks, stations, supermarkets) that may serve as snap points with no postal addresses.';
COMMENT ON COLUMN crimesnap.public_place.place_id IS 'Source id.';
COMMENT ON COLUMN crimesnap.public_place.class IS 'What the place is, published as "On or near <class>", for example ''Parking Area'' or ''Supermarket''. Never a name.';
COMMENT ON COLUMN crimesnap.public_place.geom IS 'Point in EPSG:27700 where the place''s snap point goes.';
COMMENT ON TRIGGER normalise_geometry ON crimesnap.public_place IS 'Puts loaded points into EPSG:27700.';

CREATE FUNCTION crimesnap.normalise_street_name(name text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_normalise_street_name';
COMMENT ON FUNCTION crimesnap.normalise_street_name(text) IS
  'Matching key for street names: lower case, no punctuation, abbreviations expanded ("Gt Portland St." = "great portland street"). NULL when nothing is left.';

-- ==== sql/install/20-snap_points.sql ====

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

CREATE FUNCTION crimesnap.associate_addresses(
  address_ids bigint[], address_geoms geometry[], address_streets text[],
  street_ids bigint[], street_geoms geometry[], street_names text[],
  address_areas text[] DEFAULT NULL, street_areas text[] DEFAULT NULL,
  max_name_distance double precision DEFAULT 250)
RETURNS TABLE (address_id bigint, street_id bigint, matched_by text, distance double precision)
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_associate_addresses';
COMMENT ON FUNCTION crimesnap.associate_addresses(bigint[], geometry[], text[], bigint[], geometry[], text[], text[], text[], double precision) IS
  'Associates each address with one street: the nearest street of its own (normalised) name within max_name_distance metres, else the nearest street; only streets of the address''s own area when areas are given. Ties go to the lowest street id. One row per address; street_id is NULL when its area has no street.';

CREATE FUNCTION crimesnap.street_segments(areas text[], streets text[], geoms geometry[],
                                          max_length double precision DEFAULT 0)
RETURNS TABLE (area text, street text, segment integer, part integer, geom geometry, centre geometry)
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_street_segments';
COMMENT ON FUNCTION crimesnap.street_segments(text[], text[], geometry[], double precision) IS
  'Cuts centreline pieces (one per element, with their area and street) into segments between junctions, and segments longer than max_length metres into equal parts; returns each part and the point half-way along it.';

CREATE FUNCTION crimesnap.clear_point(line geometry, target geometry, addresses geometry,
                                      min_distance double precision)
RETURNS geometry
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_clear_point';
COMMENT ON FUNCTION crimesnap.clear_point(geometry, geometry, geometry, double precision) IS
  'The point of line nearest target that lies more than min_distance metres (plus 1 cm) from every point of addresses; NULL when the whole line is that close to some address.';

CREATE FUNCTION crimesnap.select_snap_points(
  ranks bigint[], geoms geometry[], areas text[], kinds text[],
  address_geoms geometry[], address_areas text[], min_addresses integer DEFAULT NULL)
RETURNS TABLE (rank bigint, kept boolean, catchment integer, reason text)
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_select_snap_points';
COMMENT ON FUNCTION crimesnap.select_snap_points(bigint[], geometry[], text[], text[], geometry[], text[], integer) IS
  'Chooses snap points from candidates (ordered by rank, the tie-break): removes the smallest invalid catchment until every street point serves at least min_addresses addresses and every place none or that many, then admits force points that take no point below it. One row per candidate.';

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
  force_id       text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE ON DELETE CASCADE,
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
      FROM crimesnap.address a
  ), arg AS (
    SELECT (SELECT pg_catalog.array_agg(a.address_id ORDER BY a.address_id) FROM addr a) AS ids,
           (SELECT pg_catalog.array_agg(a.geom ORDER BY a.address_id) FROM addr a) AS geoms,
           (SELECT pg_catalog.array_agg(a.street_name ORDER BY a.address_id) FROM addr a) AS names,
           (SELECT pg_catalog.array_agg(a.neighbourhood_id ORDER BY a.address_id) FROM addr a) AS areas,
           (SELECT pg_catalog.array_agg(p.piece_id ORDER BY p.piece_id) FROM piece p) AS pids,
           (SELECT pg_catalog.array_agg(p.geom ORDER BY p.piece_id) FROM piece p) AS pgeoms,
           (SELECT pg_catalog.array_agg(p.name ORDER BY p.piece_id) FROM piece p) AS pnames,
           (SELECT pg_catalog.array_agg(p.neighbourhood_id ORDER BY p.piece_id) FROM piece p) AS pareas
  )
  SELECT x.address_id, a.neighbourhood_id, p.street_key, a.geom, x.matched_by, x.distance
    FROM arg,
         crimesnap.associate_addresses(coalesce(arg.ids, '{}'), coalesce(arg.geoms, '{}'), coalesce(arg.names, '{}'),
                                       coalesce(arg.pids, '{}'), coalesce(arg.pgeoms, '{}'), coalesce(arg.pnames, '{}'),
                                       coalesce(arg.areas, '{}'), coalesce(arg.pareas, '{}')) x
    JOIN addr a ON a.address_id = x.address_id
    LEFT JOIN piece p ON p.piece_id = x.street_id
$fn$;
COMMENT ON FUNCTION crimesnap.address_streets() IS
  'Associates every postal address with one street of its own neighbourhood: by normalised name within 250 m, else the nearest centreline (crimesnap.associate_addresses). street_key is NULL for an address outside every neighbourhood or in one without streets.';

-- ---- catchments ----

CREATE FUNCTION crimesnap.catchments(version integer DEFAULT NULL)
RETURNS TABLE (point_id bigint, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Recomputed from the addresses as they are now, not read from the stored counts, and
  -- with PostGIS rather than the builder's C code, so that the audit checks the builder.
  WITH v AS (
    SELECT coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current)) AS version
  ), nearest AS (
    SELECT (SELECT p.point_id FROM crimesnap.snap_point p, v
             WHERE p.version = v.version AND p.neighbourhood_id = nb.neighbourhood_id
             ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) AS point_id
      FROM crimesnap.address a
      CROSS JOIN LATERAL (SELECT crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id) nb
  )
  SELECT p.point_id, count(n.point_id)
    FROM crimesnap.snap_point p
    JOIN v ON p.version = v.version
    LEFT JOIN nearest n ON n.point_id = p.point_id
   GROUP BY p.point_id
$fn$;
COMMENT ON FUNCTION crimesnap.catchments(integer) IS
  'Catchment size of every point of a set (default: the current set): the postal addresses whose nearest point inside their own neighbourhood is that point, ties to the lowest point id. Computed with PostGIS, independently of the builder.';

-- ---- building ----

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
AS $fn$
DECLARE
  floor_k integer := crimesnap.setting('min_addresses')::integer;
  k integer := coalesce(min_addresses, floor_k);
  d double precision := crimesnap.setting('min_property_distance')::double precision;
  v integer;
  prev integer;
  base bigint;
  n_new integer;
  n integer;
  notes jsonb := '{}';
  pair record;
BEGIN
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
  IF mode = 'dense' AND NOT (segment_length > 0) THEN
    RAISE EXCEPTION 'segment_length % is not a length', segment_length
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the longest stretch of street one dense candidate stands for, in metres.';
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
  CREATE TEMP TABLE cs_addr ON COMMIT DROP AS
  SELECT a.address_id, a.street_name, a.geom,
         crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id
    FROM crimesnap.address a;
  CREATE INDEX ON pg_temp.cs_addr USING gist (geom);
  ANALYZE pg_temp.cs_addr;

  CREATE TEMP TABLE cs_assoc ON COMMIT DROP AS
  SELECT x.address_id, x.street_id AS piece_id
    FROM (SELECT pg_catalog.array_agg(a.address_id ORDER BY a.address_id) AS ids,
                 pg_catalog.array_agg(a.geom ORDER BY a.address_id) AS geoms,
                 pg_catalog.array_agg(a.street_name ORDER BY a.address_id) AS names,
                 pg_catalog.array_agg(a.neighbourhood_id ORDER BY a.address_id) AS areas
            FROM pg_temp.cs_addr a) ad,
         (SELECT pg_catalog.array_agg(p.piece_id ORDER BY p.piece_id) AS ids,
                 pg_catalog.array_agg(p.geom ORDER BY p.piece_id) AS geoms,
                 pg_catalog.array_agg(p.name ORDER BY p.piece_id) AS names,
                 pg_catalog.array_agg(p.neighbourhood_id ORDER BY p.piece_id) AS areas
            FROM pg_temp.cs_piece p) st,
         crimesnap.associate_addresses(coalesce(ad.ids, '{}'), coalesce(ad.geoms, '{}'), coalesce(ad.names, '{}'),
                                       coalesce(st.ids, '{}'), coalesce(st.geoms, '{}'), coalesce(st.names, '{}'),
                                       coalesce(ad.areas, '{}'), coalesce(st.areas, '{}')) x
   WHERE x.street_id IS NOT NULL;

  -- A street's label: the spelling of its name that covers the greatest length of it.
  CREATE TEMP TABLE cs_label ON COMMIT DROP AS
  SELECT DISTINCT ON (x.neighbourhood_id, x.street_key) x.neighbourhood_id, x.street_key, x.name AS label
    FROM (SELECT p.neighbourhood_id, p.street_key, p.name, sum(ST_Length(p.geom)) AS len
            FROM pg_temp.cs_piece p GROUP BY 1, 2, 3) x
   ORDER BY x.neighbourhood_id, x.street_key, x.len DESC, x.name;

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
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr a
                   WHERE ST_DWithin(a.geom, s.lines, d + 1)), d) AS geom) c
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
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr a
                   WHERE ST_DWithin(a.geom, seg.geom, d + 1)), d) AS geom) c
     ORDER BY seg.area, seg.street, seg.segment, seg.part;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  notes := notes || pg_catalog.jsonb_build_object('street_candidates', n);

  -- A point put on the very edge of its neighbourhood (the clipped end of a piece) can test
  -- as outside it by a rounding error: pull it 2 cm inside, or drop it if that is not clear.
  UPDATE pg_temp.cs_cand c
     SET geom = m.geom, reject = m.reject
    FROM (SELECT c2.cand_no, x.geom,
                 CASE WHEN x.geom IS NULL OR ST_IsEmpty(x.geom) OR NOT ST_Intersects(nb.geom, x.geom)
                        OR EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, x.geom, d))
                      THEN 'on the edge of its neighbourhood' END AS reject
            FROM pg_temp.cs_cand c2
            JOIN crimesnap.neighbourhood nb ON nb.neighbourhood_id = c2.neighbourhood_id
            CROSS JOIN LATERAL (SELECT ST_ClosestPoint(ST_Buffer(nb.geom, -0.02), c2.geom) AS geom) x
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
                    AND ST_DWithin(c2.geom, c.geom, 0.01));

  -- ---- public places and premises: points that serve no address ----
  INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, source_id, geom, reject)
  SELECT nb.neighbourhood_id, 'place', pl.class, pl.place_id, pl.geom,
         CASE WHEN nb.neighbourhood_id IS NULL THEN 'outside every neighbourhood'
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, pl.geom, d))
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
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, f.geom, d))
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
                     AND o.kind = c2.kind AND o.label = c2.label AND ST_DWithin(o.geom, c2.geom, 0.01)
                   WHERE c2.reject IS NULL
                     AND NOT EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, o.geom, d))
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
       AND o.kind = c.kind AND o.label = c.label AND ST_DWithin(o.geom, c.geom, 50)
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
  SELECT count(*) INTO n_new FROM pg_temp.cs_cand c WHERE c.reject IS NULL AND c.old_point_id IS NULL;
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

  -- ---- selection ----
  CREATE TEMP TABLE cs_sel ON COMMIT DROP AS
  SELECT s.*
    FROM (SELECT pg_catalog.array_agg(c.rank ORDER BY c.rank) AS ranks,
                 pg_catalog.array_agg(c.geom ORDER BY c.rank) AS geoms,
                 pg_catalog.array_agg(c.neighbourhood_id ORDER BY c.rank) AS areas,
                 pg_catalog.array_agg(c.kind ORDER BY c.rank) AS kinds
            FROM pg_temp.cs_cand c WHERE c.rank IS NOT NULL) cand,
         (SELECT pg_catalog.array_agg(a.geom ORDER BY a.address_id) AS geoms,
                 pg_catalog.array_agg(a.neighbourhood_id ORDER BY a.address_id) AS areas
            FROM pg_temp.cs_addr a) ad,
         crimesnap.select_snap_points(coalesce(cand.ranks, '{}'), coalesce(cand.geoms, '{}'),
                                      coalesce(cand.areas, '{}'), coalesce(cand.kinds, '{}'),
                                      coalesce(ad.geoms, '{}'), coalesce(ad.areas, '{}'), k) s;

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
    SELECT x.neighbourhood_id, (ST_Dump(ST_VoronoiPolygons(ST_Collect(x.geom), 0, nb.geom))).geom AS cell
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
                ELSE ST_Intersection(o.cell, nb.geom) END, 3))
    FROM pts p
    JOIN crimesnap.neighbourhood nb USING (neighbourhood_id)
    LEFT JOIN owner o ON o.point_id = p.point_id;

  -- ---- notes, audit, current ----
  SELECT notes || pg_catalog.jsonb_build_object(
           'rejected', (SELECT coalesce(pg_catalog.jsonb_object_agg(r.reject, r.n), '{}')
                          FROM (SELECT c.kind || ': ' || c.reject AS reject, count(*) AS n
                                  FROM pg_temp.cs_cand c WHERE c.reject IS NOT NULL GROUP BY 1) r),
           'moved_off_properties', (SELECT count(*) FROM pg_temp.cs_cand c
                                     WHERE c.kind = 'street' AND c.geom IS NOT NULL
                                       AND NOT ST_DWithin(c.geom, c.target, 0.01)),
           'pruned', (SELECT count(*) FROM pg_temp.cs_sel s WHERE NOT s.kept),
           'kept_ids', (SELECT count(*) FROM pg_temp.cs_cand c JOIN pg_temp.cs_sel s ON s.rank = c.rank
                         WHERE s.kept AND c.old_point_id IS NOT NULL),
           'addresses', (SELECT count(*) FROM pg_temp.cs_addr),
           'addresses_outside_neighbourhoods', (SELECT count(*) FROM pg_temp.cs_addr a WHERE a.neighbourhood_id IS NULL))
    INTO notes;
  UPDATE crimesnap.snap_point_set s
     SET point_count = (SELECT count(*) FROM crimesnap.snap_point p WHERE p.version = v),
         build_notes = notes
   WHERE s.version = v;

  -- The audit recomputes every catchment with PostGIS, independently of the C code above; a
  -- set that fails it is never stored.
  SELECT count(*) INTO n FROM crimesnap.audit_snap_points(v);
  IF n > 0 THEN
    RAISE EXCEPTION 'snap point set % failed its own audit with % violations', v, n
      USING ERRCODE = 'internal_error',
            DETAIL = (SELECT pg_catalog.string_agg(pg_catalog.format('point %s: %s (%s)', a.point_id, a.violation, a.detail), '; ')
                        FROM (SELECT * FROM crimesnap.audit_snap_points(v) LIMIT 5) a),
            HINT = 'Nothing was stored. Report this as a bug in crimesnap, with the input tables.';
  END IF;

  IF make_current THEN
    PERFORM crimesnap.set_current_snap_points(v);
  END IF;
  DROP TABLE pg_temp.cs_piece, pg_temp.cs_addr, pg_temp.cs_assoc, pg_temp.cs_label, pg_temp.cs_cand, pg_temp.cs_sel;
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
                           a.address_id, round(ST_Distance(a.geom, p.geom)::numeric, 2), mindist)
    FROM crimesnap.snap_point p
    CROSS JOIN LATERAL (SELECT a.address_id, a.geom FROM crimesnap.address a
                         WHERE ST_DWithin(a.geom, p.geom, mindist)
                         ORDER BY a.geom <-> p.geom, a.address_id LIMIT 1) a
   WHERE p.version = v
   ORDER BY p.point_id;

  RETURN QUERY
  SELECT p.point_id, 'outside its neighbourhood'::text,
         pg_catalog.format('point is %s m outside neighbourhood %s',
                           round(ST_Distance(n.geom, p.geom)::numeric, 2), p.neighbourhood_id)
    FROM crimesnap.snap_point p
    JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = p.neighbourhood_id
   WHERE p.version = v AND NOT ST_Intersects(n.geom, p.geom)
   ORDER BY p.point_id;

  IF set_mode = 'street' THEN
    RETURN QUERY
    WITH counts AS (
      SELECT a.neighbourhood_id, a.street_key, count(*) AS n
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
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.force_snap_point TO crimesnap_loader, crimesnap_publisher;
GRANT SELECT ON crimesnap.force_snap_point_result TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.build_snap_point_set(text, integer, text, boolean, double precision),
                          crimesnap.address_streets(),
                          crimesnap.street_pieces()
  TO crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.associate_addresses(bigint[], geometry[], text[], bigint[], geometry[], text[], text[], text[], double precision),
                          crimesnap.street_segments(text[], text[], geometry[], double precision),
                          crimesnap.clear_point(geometry, geometry, geometry, double precision),
                          crimesnap.select_snap_points(bigint[], geometry[], text[], text[], geometry[], text[], integer)
  TO crimesnap_analyst, crimesnap_publisher;

-- ==== sql/install/30-snap.sql ====

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
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'crimesnap_neighbourhood_at';
COMMENT ON FUNCTION crimesnap.neighbourhood_at(geometry) IS
  'The neighbourhood containing a crime location (boundary included); on a shared boundary, the lowest neighbourhood id in byte order (COLLATE "C"). NULL outside every neighbourhood. Errors as crimesnap.check_crime_location.';

-- ---- snapping ----

CREATE FUNCTION crimesnap.snap(geom geometry, neighbourhood text DEFAULT NULL)
RETURNS bigint
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'crimesnap_snap';
COMMENT ON FUNCTION crimesnap.snap(geometry, text) IS
  'Snap point id for one crime location: the nearest point of the current set inside its neighbourhood (given, or found from the location), ties to the lowest id. NULL for a NULL location, or when no point of the neighbourhood is within crimesnap.max_snap_distance.';

CREATE FUNCTION crimesnap.snap_many(ids bigint[], geoms geometry[], neighbourhoods text[] DEFAULT NULL)
RETURNS TABLE (id bigint, point_id bigint, distance double precision)
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000
AS 'MODULE_PATHNAME', 'crimesnap_snap_many';
COMMENT ON FUNCTION crimesnap.snap_many(bigint[], geometry[], text[]) IS
  'Set-based snapping, the same rules as crimesnap.snap: one (id, point_id, distance) row per input, in input order; point_id and distance are NULL for a crime without a location or beyond crimesnap.max_snap_distance. A NULL neighbourhood (or array) means: find it from the location. A bad location fails the batch, naming the crime id.';

CREATE FUNCTION crimesnap.snap_detail(ids bigint[], geoms geometry[], neighbourhoods text[] DEFAULT NULL,
                                      reject_bad boolean DEFAULT false)
RETURNS TABLE (id bigint, point_id bigint, neighbourhood_id text, distance double precision,
               outcome text, reason text)
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000
AS 'MODULE_PATHNAME', 'crimesnap_snap_detail';
COMMENT ON FUNCTION crimesnap.snap_detail(bigint[], geometry[], text[], boolean) IS
  'crimesnap.snap_many with the reasons: outcome is mapped, not mapped (published without a location; reason says why) or rejected (reject_bad => true only: a bad location comes back as a row with its reason instead of failing the batch). neighbourhood_id is the one snapped within.';

GRANT SELECT ON crimesnap.snap_index_generation TO crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.snap_detail(bigint[], geometry[], text[], boolean),
                          crimesnap.snap_index_stats(boolean),
                          crimesnap.snap_index_reset()
  TO crimesnap_publisher;

-- ==== sql/install/40-load.sql ====

-- Section 40: loading a force's monthly upload.  C: src/sanitise.c.  Tests:
-- test/sql/load.sql, test/pgtap/load.sql.  Guide: docs/force-dba-guide.md.
--
-- A DBA \copy-s the force's CSV into crimesnap.crime_upload (every column text, so that a
-- malformed value never stops the copy), then calls crimesnap.register_batch() with the
-- batch's metadata.  Every row ends up either in crimesnap.raw_crime or in crimesnap.reject
-- with its reason, and the batch fails unless loaded + rejected = supplied.

-- ---- categories ----

CREATE TABLE crimesnap.category (
  scheme text NOT NULL,
  slug   text NOT NULL,
  name   text NOT NULL,
  PRIMARY KEY (scheme, slug)
);
COMMENT ON TABLE crimesnap.category IS
  'Public crime categories by scheme: ''police.uk'' (the 14 of data.police.uk) and ''crimemapper-2010'' (the six the steering group approved).';
COMMENT ON COLUMN crimesnap.category.scheme IS 'Category scheme.';
COMMENT ON COLUMN crimesnap.category.slug IS 'Category id as the API publishes it, for example violent-crime.';
COMMENT ON COLUMN crimesnap.category.name IS 'Category name as the CSV export publishes it, for example Violence and sexual offences.';
INSERT INTO crimesnap.category VALUES
  ('police.uk', 'anti-social-behaviour', 'Anti-social behaviour'),
  ('police.uk', 'bicycle-theft', 'Bicycle theft'),
  ('police.uk', 'burglary', 'Burglary'),
  ('police.uk', 'criminal-damage-arson', 'Criminal damage and arson'),
  ('police.uk', 'drugs', 'Drugs'),
  ('police.uk', 'other-theft', 'Other theft'),
  ('police.uk', 'possession-of-weapons', 'Possession of weapons'),
  ('police.uk', 'public-order', 'Public order'),
  ('police.uk', 'robbery', 'Robbery'),
  ('police.uk', 'shoplifting', 'Shoplifting'),
  ('police.uk', 'theft-from-the-person', 'Theft from the person'),
  ('police.uk', 'vehicle-crime', 'Vehicle crime'),
  ('police.uk', 'violent-crime', 'Violence and sexual offences'),
  ('police.uk', 'other-crime', 'Other crime'),
  ('crimemapper-2010', 'anti-social-behaviour', 'Anti-social behaviour'),
  ('crimemapper-2010', 'burglary', 'Burglary'),
  ('crimemapper-2010', 'robbery', 'Robbery'),
  ('crimemapper-2010', 'vehicle-crime', 'Vehicle crime'),
  ('crimemapper-2010', 'violent-crime', 'Violent crime'),
  ('crimemapper-2010', 'other-crime', 'Other crime');
SELECT pg_catalog.pg_extension_config_dump('crimesnap.category', '');

CREATE TABLE crimesnap.category_fold (
  scheme         text NOT NULL,
  police_uk_slug text NOT NULL,
  slug           text NOT NULL,
  PRIMARY KEY (scheme, police_uk_slug),
  FOREIGN KEY (scheme, slug) REFERENCES crimesnap.category
);
COMMENT ON TABLE crimesnap.category_fold IS
  'How each police.uk category folds into another scheme''s category. police.uk itself folds onto itself.';
COMMENT ON COLUMN crimesnap.category_fold.scheme IS 'Target scheme.';
COMMENT ON COLUMN crimesnap.category_fold.police_uk_slug IS 'police.uk category of the offence.';
COMMENT ON COLUMN crimesnap.category_fold.slug IS 'Category published under the target scheme.';
INSERT INTO crimesnap.category_fold
SELECT 'police.uk', slug, slug FROM crimesnap.category WHERE scheme = 'police.uk';
INSERT INTO crimesnap.category_fold
SELECT 'crimemapper-2010', slug,
       CASE WHEN slug IN ('anti-social-behaviour', 'burglary', 'robbery', 'vehicle-crime', 'violent-crime')
            THEN slug ELSE 'other-crime' END
  FROM crimesnap.category WHERE scheme = 'police.uk';
SELECT pg_catalog.pg_extension_config_dump('crimesnap.category_fold', '');

CREATE TABLE crimesnap.offence_code (
  force_id     text REFERENCES crimesnap.force ON UPDATE CASCADE ON DELETE CASCADE,
  offence_code text NOT NULL CHECK (offence_code = upper(btrim(offence_code)) AND offence_code <> ''),
  slug         text NOT NULL,
  description  text NOT NULL,
  sensitive    boolean NOT NULL DEFAULT false,
  scheme       text NOT NULL DEFAULT 'police.uk' CHECK (scheme = 'police.uk'),
  FOREIGN KEY (scheme, slug) REFERENCES crimesnap.category,
  UNIQUE NULLS NOT DISTINCT (force_id, offence_code),
  -- A sensitive offence never gets a category of its own, whatever categories are added
  -- later: it folds into one of the two broadest, as the CrimeMapper categories did.
  CONSTRAINT sensitive_offences_fold_broad
    CHECK (NOT sensitive OR slug IN ('violent-crime', 'other-crime')),
  CONSTRAINT asb_is_asb
    CHECK ((offence_code = 'ASB') = (slug = 'anti-social-behaviour'))
);
COMMENT ON TABLE crimesnap.offence_code IS
  'Maps Home Office offence classification codes (force_id NULL) and forces'' own codes (force_id set) to police.uk categories. A force''s own code wins over a Home Office code of the same spelling. Sensitive offences fold into broad categories here; see docs/loading.md.';
COMMENT ON COLUMN crimesnap.offence_code.force_id IS 'NULL for a Home Office code that holds for every force; a force for its own code.';
COMMENT ON COLUMN crimesnap.offence_code.offence_code IS 'The code in upper case without surrounding spaces; uploads are compared the same way. ASB is always anti-social behaviour.';
COMMENT ON COLUMN crimesnap.offence_code.slug IS 'police.uk category.';
COMMENT ON COLUMN crimesnap.offence_code.description IS 'What the code covers.';
COMMENT ON COLUMN crimesnap.offence_code.sensitive IS 'true for offences whose own category could point at a victim (sexual offences, offences against children, domestic abuse): they may only map to violent-crime or other-crime.';
COMMENT ON COLUMN crimesnap.offence_code.scheme IS 'Always police.uk: other schemes fold from it through crimesnap.category_fold.';
-- The Home Office codes as the Counting Rules number them.  Forces check this list against
-- the Counting Rules of the year they publish, and add their own codes with force_id set.
INSERT INTO crimesnap.offence_code (offence_code, slug, sensitive, description) VALUES
  ('ASB',  'anti-social-behaviour', false, 'Anti-social behaviour incident'),
  -- Violence against the person
  ('1',    'violent-crime', false, 'Murder'),
  ('2',    'violent-crime', false, 'Attempted murder'),
  ('3A',   'violent-crime', false, 'Conspiracy to murder'),
  ('3B',   'violent-crime', false, 'Threats to kill'),
  ('4.1',  'violent-crime', false, 'Manslaughter'),
  ('4.2',  'violent-crime', true,  'Infanticide'),
  ('4.3',  'violent-crime', true,  'Intentional destruction of a viable unborn child'),
  ('4.4',  'violent-crime', false, 'Causing death by dangerous driving'),
  ('4.6',  'violent-crime', false, 'Causing death by careless driving when under the influence of drink or drugs'),
  ('4.7',  'violent-crime', true,  'Causing or allowing the death of a child or vulnerable person'),
  ('4.8',  'violent-crime', false, 'Causing death by careless or inconsiderate driving'),
  ('4.9',  'violent-crime', false, 'Causing death by driving: unlicensed, disqualified or uninsured drivers'),
  ('4.10', 'violent-crime', false, 'Corporate manslaughter'),
  ('5A',   'violent-crime', false, 'Assault with intent to cause serious harm'),
  ('5E',   'violent-crime', false, 'Endangering life'),
  ('8L',   'violent-crime', true,  'Harassment'),
  ('8M',   'violent-crime', true,  'Racially or religiously aggravated harassment'),
  ('8N',   'violent-crime', false, 'Assault with injury'),
  ('8P',   'violent-crime', false, 'Racially or religiously aggravated assault with injury'),
  ('8Q',   'violent-crime', true,  'Stalking'),
  ('8R',   'violent-crime', true,  'Malicious communications'),
  ('8S',   'violent-crime', false, 'Assault with injury on a constable'),
  ('8T',   'violent-crime', false, 'Assault with injury on an emergency worker (other than a constable)'),
  ('8U',   'violent-crime', true,  'Controlling or coercive behaviour'),
  ('11A',  'violent-crime', true,  'Cruelty to children or young persons'),
  ('12',   'violent-crime', true,  'Abandoning a child under the age of two years'),
  ('13',   'violent-crime', true,  'Child abduction'),
  ('14',   'violent-crime', true,  'Procuring illegal abortion'),
  ('36',   'violent-crime', false, 'Kidnapping'),
  ('37.1', 'violent-crime', false, 'Causing death by aggravated vehicle taking'),
  ('104',  'violent-crime', false, 'Assault without injury on a constable'),
  ('105A', 'violent-crime', false, 'Assault without injury'),
  ('105B', 'violent-crime', false, 'Racially or religiously aggravated assault without injury'),
  ('106',  'violent-crime', true,  'Modern slavery'),
  -- Sexual offences: never a category of their own, so never published as such.
  ('17A',  'violent-crime', true,  'Sexual assault on a male aged 13 and over'),
  ('17B',  'violent-crime', true,  'Sexual assault on a male child under 13'),
  ('19C',  'violent-crime', true,  'Rape of a female aged 16 and over'),
  ('19D',  'violent-crime', true,  'Rape of a female child under 16'),
  ('19E',  'violent-crime', true,  'Rape of a female child under 13'),
  ('19F',  'violent-crime', true,  'Rape of a male aged 16 and over'),
  ('19G',  'violent-crime', true,  'Rape of a male child under 16'),
  ('19H',  'violent-crime', true,  'Rape of a male child under 13'),
  ('20A',  'violent-crime', true,  'Sexual assault on a female aged 13 and over'),
  ('20B',  'violent-crime', true,  'Sexual assault on a female child under 13'),
  ('21',   'violent-crime', true,  'Sexual activity involving a child under 13'),
  ('22A',  'violent-crime', true,  'Causing sexual activity without consent'),
  ('22B',  'violent-crime', true,  'Sexual activity involving a child under 16'),
  ('23',   'violent-crime', true,  'Incest or familial sexual offences'),
  ('24',   'violent-crime', true,  'Exploitation of prostitution'),
  ('25',   'violent-crime', true,  'Abuse of children through sexual exploitation'),
  ('27',   'violent-crime', true,  'Soliciting for the purpose of prostitution'),
  ('70',   'violent-crime', true,  'Sexual activity etc. with a person with a mental disorder'),
  ('71',   'violent-crime', true,  'Abuse of a position of trust of a sexual nature'),
  ('72',   'violent-crime', true,  'Trafficking for sexual exploitation'),
  ('73',   'violent-crime', true,  'Abuse of trust'),
  ('86',   'violent-crime', true,  'Obscene publications etc. and protected sexual material'),
  ('88A',  'violent-crime', true,  'Sexual grooming'),
  ('88C',  'violent-crime', true,  'Other miscellaneous sexual offences'),
  ('88E',  'violent-crime', true,  'Exposure and voyeurism'),
  -- Robbery
  ('34A',  'robbery', false, 'Robbery of business property'),
  ('34B',  'robbery', false, 'Robbery of personal property'),
  -- Burglary (28A-28D and 30A-30B are the codes before the 2017 residential/business split)
  ('28A',  'burglary', false, 'Burglary in a dwelling'),
  ('28B',  'burglary', false, 'Attempted burglary in a dwelling'),
  ('28C',  'burglary', false, 'Distraction burglary in a dwelling'),
  ('28D',  'burglary', false, 'Attempted distraction burglary in a dwelling'),
  ('28E',  'burglary', false, 'Burglary - residential'),
  ('28F',  'burglary', false, 'Attempted burglary - residential'),
  ('28G',  'burglary', false, 'Distraction burglary - residential'),
  ('28H',  'burglary', false, 'Attempted distraction burglary - residential'),
  ('29',   'burglary', false, 'Aggravated burglary in a dwelling'),
  ('30A',  'burglary', false, 'Burglary in a building other than a dwelling'),
  ('30B',  'burglary', false, 'Attempted burglary in a building other than a dwelling'),
  ('30C',  'burglary', false, 'Burglary - business and community'),
  ('30D',  'burglary', false, 'Attempted burglary - business and community'),
  ('31',   'burglary', false, 'Aggravated burglary in a building other than a dwelling'),
  -- Vehicle crime
  ('37.2', 'vehicle-crime', false, 'Aggravated vehicle taking'),
  ('45',   'vehicle-crime', false, 'Theft from a vehicle'),
  ('48',   'vehicle-crime', false, 'Theft or unauthorised taking of a motor vehicle'),
  ('126',  'vehicle-crime', false, 'Interfering with a motor vehicle'),
  -- Theft
  ('44',   'bicycle-theft', false, 'Theft or unauthorised taking of a pedal cycle'),
  ('46',   'shoplifting', false, 'Shoplifting'),
  ('39',   'theft-from-the-person', false, 'Theft from the person'),
  ('35',   'other-theft', false, 'Blackmail'),
  ('40',   'other-theft', false, 'Theft in a dwelling other than from an automatic machine or meter'),
  ('41',   'other-theft', false, 'Theft by an employee'),
  ('42',   'other-theft', false, 'Theft of mail'),
  ('43',   'other-theft', false, 'Dishonest use of electricity'),
  ('47',   'other-theft', false, 'Theft from an automatic machine or meter'),
  ('49',   'other-theft', false, 'Other theft'),
  -- Criminal damage and arson
  ('56A',  'criminal-damage-arson', false, 'Arson endangering life'),
  ('56B',  'criminal-damage-arson', false, 'Arson not endangering life'),
  ('58A',  'criminal-damage-arson', false, 'Criminal damage to a dwelling'),
  ('58B',  'criminal-damage-arson', false, 'Criminal damage to a building other than a dwelling'),
  ('58C',  'criminal-damage-arson', false, 'Criminal damage to a vehicle'),
  ('58D',  'criminal-damage-arson', false, 'Other criminal damage'),
  ('58E',  'criminal-damage-arson', false, 'Racially or religiously aggravated criminal damage to a dwelling'),
  ('58F',  'criminal-damage-arson', false, 'Racially or religiously aggravated criminal damage to a building other than a dwelling'),
  ('58G',  'criminal-damage-arson', false, 'Racially or religiously aggravated criminal damage to a vehicle'),
  ('58H',  'criminal-damage-arson', false, 'Racially or religiously aggravated other criminal damage'),
  -- Drugs
  ('92A',  'drugs', false, 'Trafficking in controlled drugs'),
  ('92C',  'drugs', false, 'Other drug offences'),
  ('92D',  'drugs', false, 'Possession of controlled drugs (excluding cannabis)'),
  ('92E',  'drugs', false, 'Possession of controlled drugs (cannabis)'),
  -- Possession of weapons
  ('10A',  'possession-of-weapons', false, 'Possession of firearms with intent'),
  ('10B',  'possession-of-weapons', false, 'Possession of firearms offences'),
  ('10C',  'possession-of-weapons', false, 'Possession of other weapons'),
  ('10D',  'possession-of-weapons', false, 'Possession of article with blade or point'),
  ('81',   'possession-of-weapons', false, 'Other firearms offences'),
  ('90',   'possession-of-weapons', false, 'Other knives offences'),
  -- Public order
  ('9A',   'public-order', false, 'Public fear, alarm or distress'),
  ('9B',   'public-order', false, 'Racially or religiously aggravated public fear, alarm or distress'),
  ('62A',  'public-order', false, 'Violent disorder'),
  ('66',   'public-order', false, 'Other offences against the state or public order'),
  -- Miscellaneous crimes against society
  ('26',   'other-crime', false, 'Bigamy'),
  ('33',   'other-crime', false, 'Going equipped for stealing'),
  ('38',   'other-crime', false, 'Profiting from or concealing knowledge of the proceeds of crime'),
  ('54',   'other-crime', false, 'Handling stolen goods'),
  ('59',   'other-crime', false, 'Threat or possession with intent to commit criminal damage'),
  ('60',   'other-crime', false, 'Forgery or use of false drug prescription'),
  ('61',   'other-crime', false, 'Other forgery'),
  ('61A',  'other-crime', false, 'Possession of false documents'),
  ('67',   'other-crime', false, 'Perjury'),
  ('79',   'other-crime', false, 'Perverting the course of justice'),
  ('80',   'other-crime', false, 'Absconding from lawful custody'),
  ('83',   'other-crime', false, 'Bail offences'),
  ('95',   'other-crime', false, 'Disclosure, obstruction, false or misleading statements etc.'),
  ('99',   'other-crime', false, 'Other notifiable offences'),
  ('802',  'other-crime', false, 'Dangerous driving');
SELECT pg_catalog.pg_extension_config_dump('crimesnap.offence_code', '');

-- ---- the upload ----

CREATE TABLE crimesnap.crime_upload (
  upload_row   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  force        text,
  crime_ref    text,
  offence_code text,
  committed_on text,
  easting      text,
  northing     text,
  neighbourhood text,
  outcome      text,
  context      text,
  loaded_by    name NOT NULL DEFAULT CURRENT_USER,
  loaded_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE crimesnap.crime_upload IS
  'Staging for a force''s monthly CSV: \copy crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) FROM ''file.csv'' CSV HEADER. crimesnap.register_batch() empties it.';
COMMENT ON COLUMN crimesnap.crime_upload.upload_row IS 'Row number in load order, quoted in rejects.';
COMMENT ON COLUMN crimesnap.crime_upload.force IS 'force_id of the force the record belongs to.';
COMMENT ON COLUMN crimesnap.crime_upload.crime_ref IS 'The force''s crime or incident reference number. Never published.';
COMMENT ON COLUMN crimesnap.crime_upload.offence_code IS 'Home Office classification code, the force''s own code, or ASB.';
COMMENT ON COLUMN crimesnap.crime_upload.committed_on IS 'Date committed, ISO 8601 (YYYY-MM-DD; a time after it is ignored).';
COMMENT ON COLUMN crimesnap.crime_upload.easting IS 'British National Grid easting in metres; empty with northing for no location.';
COMMENT ON COLUMN crimesnap.crime_upload.northing IS 'British National Grid northing in metres; empty with easting for no location.';
COMMENT ON COLUMN crimesnap.crime_upload.neighbourhood IS 'neighbourhood_id, optional; found from the location when there is one.';
COMMENT ON COLUMN crimesnap.crime_upload.outcome IS 'Last outcome category, published as is.';
COMMENT ON COLUMN crimesnap.crime_upload.context IS 'Free-text context, published as is once it passes crimesnap.screen_context().';
COMMENT ON COLUMN crimesnap.crime_upload.loaded_by IS 'Who loaded the row.';
COMMENT ON COLUMN crimesnap.crime_upload.loaded_at IS 'When the row was loaded.';

CREATE TABLE crimesnap.batch (
  batch_id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  force_id         text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  month            date NOT NULL CHECK (month = pg_catalog.date_trunc('month', month)),
  supplying_agency text NOT NULL,
  supplier_name    text NOT NULL,
  supplier_contact text NOT NULL,
  dataset_name     text NOT NULL,
  period_start     date NOT NULL,
  period_end       date NOT NULL,
  file_format      text NOT NULL,
  records_supplied integer NOT NULL CHECK (records_supplied >= 0),
  date_supplied    date NOT NULL,
  caveats          text,
  records_loaded   integer NOT NULL DEFAULT 0,
  records_rejected integer NOT NULL DEFAULT 0,
  registered_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  registered_by    name NOT NULL DEFAULT SESSION_USER,
  CHECK (records_loaded + records_rejected = records_supplied)
);
COMMENT ON TABLE crimesnap.batch IS
  'One row per registered upload, with the metadata section 3.4 of the CSP information-sharing guidance asks for.';
COMMENT ON COLUMN crimesnap.batch.batch_id IS 'Batch id.';
COMMENT ON COLUMN crimesnap.batch.force_id IS 'The force that supplied it.';
COMMENT ON COLUMN crimesnap.batch.month IS 'The month the records belong to (first day).';
COMMENT ON COLUMN crimesnap.batch.supplying_agency IS 'Name of the agency supplying the information.';
COMMENT ON COLUMN crimesnap.batch.supplier_name IS 'Name of the supplier.';
COMMENT ON COLUMN crimesnap.batch.supplier_contact IS 'Contact details of the supplier.';
COMMENT ON COLUMN crimesnap.batch.dataset_name IS 'Dataset name.';
COMMENT ON COLUMN crimesnap.batch.period_start IS 'First day of the time period covered.';
COMMENT ON COLUMN crimesnap.batch.period_end IS 'Last day of the time period covered.';
COMMENT ON COLUMN crimesnap.batch.file_format IS 'File format, for example crimesnap upload CSV 1.';
COMMENT ON COLUMN crimesnap.batch.records_supplied IS 'Number of records supplied, as the supplier states it.';
COMMENT ON COLUMN crimesnap.batch.date_supplied IS 'Date supplied.';
COMMENT ON COLUMN crimesnap.batch.caveats IS 'Caveats and considerations on the use of the dataset.';
COMMENT ON COLUMN crimesnap.batch.records_loaded IS 'Records accepted into crimesnap.raw_crime.';
COMMENT ON COLUMN crimesnap.batch.records_rejected IS 'Records put in crimesnap.reject.';
COMMENT ON COLUMN crimesnap.batch.registered_at IS 'When the batch was registered.';
COMMENT ON COLUMN crimesnap.batch.registered_by IS 'Who registered it: the session user, not the definer crimesnap.register_batch() runs as.';

CREATE TABLE crimesnap.raw_crime (
  crime_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id         integer NOT NULL REFERENCES crimesnap.batch,
  force_id         text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  crime_ref        text NOT NULL,
  persistent_id    text NOT NULL,
  month            date NOT NULL,
  offence_code     text NOT NULL,
  committed_on     date NOT NULL,
  geom             geometry(Point, 27700),
  neighbourhood_id text REFERENCES crimesnap.neighbourhood ON UPDATE CASCADE,
  outcome          text,
  context          text,
  superseded_by_batch integer REFERENCES crimesnap.batch
);
CREATE UNIQUE INDEX raw_crime_live_ref ON crimesnap.raw_crime (force_id, crime_ref) WHERE superseded_by_batch IS NULL;
CREATE INDEX ON crimesnap.raw_crime (force_id, month) WHERE superseded_by_batch IS NULL;
CREATE INDEX ON crimesnap.raw_crime (persistent_id);
COMMENT ON TABLE crimesnap.raw_crime IS
  'Validated raw records: exact locations and reference numbers. Never readable outside the extension''s owner.';
COMMENT ON COLUMN crimesnap.raw_crime.crime_id IS 'Internal id.';
COMMENT ON COLUMN crimesnap.raw_crime.batch_id IS 'The batch that supplied this version of the record.';
COMMENT ON COLUMN crimesnap.raw_crime.force_id IS 'The force, data controller of the record.';
COMMENT ON COLUMN crimesnap.raw_crime.crime_ref IS 'The force''s reference number. Never leaves the raw tables.';
COMMENT ON COLUMN crimesnap.raw_crime.persistent_id IS 'Keyed HMAC-SHA256 of force and reference; published for crimes, not for ASB.';
COMMENT ON COLUMN crimesnap.raw_crime.month IS 'Month the record belongs to.';
COMMENT ON COLUMN crimesnap.raw_crime.offence_code IS 'Offence code as uploaded, upper case.';
COMMENT ON COLUMN crimesnap.raw_crime.committed_on IS 'Date committed.';
COMMENT ON COLUMN crimesnap.raw_crime.geom IS 'Exact location, EPSG:27700; NULL when the force gave none.';
COMMENT ON COLUMN crimesnap.raw_crime.neighbourhood_id IS 'Neighbourhood found from the location, or as uploaded when there is no location.';
COMMENT ON COLUMN crimesnap.raw_crime.outcome IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap.raw_crime.context IS 'Context that passed screening.';
COMMENT ON COLUMN crimesnap.raw_crime.superseded_by_batch IS 'Set when a later batch resubmitted the same reference: the later row is the live one.';

CREATE TABLE crimesnap.reject_reason (
  reason_code text PRIMARY KEY,
  description text NOT NULL,
  fix         text NOT NULL
);
COMMENT ON TABLE crimesnap.reject_reason IS 'Why a row of an upload can be rejected, and how to fix it. A row is rejected for the first reason, in check order, that applies.';
COMMENT ON COLUMN crimesnap.reject_reason.reason_code IS 'Reason code stored with each reject.';
COMMENT ON COLUMN crimesnap.reject_reason.description IS 'What is wrong.';
COMMENT ON COLUMN crimesnap.reject_reason.fix IS 'What the force should do before resubmitting the row.';
INSERT INTO crimesnap.reject_reason VALUES
  ('unknown_force', 'the force column is empty or names no force in crimesnap.force', 'Set force to the force''s force_id.'),
  ('missing_reference', 'the crime reference number is empty', 'Give every record its reference number.'),
  ('duplicate_reference', 'the reference number appears more than once in the batch', 'Keep one row per reference; the first one was considered and this one dropped.'),
  ('unknown_offence_code', 'the offence code is neither a Home Office code, a code of this force in crimesnap.offence_code, nor ASB', 'Correct the code, or add the force''s own code to crimesnap.offence_code.'),
  ('invalid_date', 'the committed date is missing or is not a calendar date in YYYY-MM-DD form', 'Give the date as YYYY-MM-DD.'),
  ('date_outside_month', 'the committed date falls outside the batch''s month', 'Upload the record with the batch for its own month.'),
  ('impossible_coordinates', 'the coordinates are missing or impossible: only one of easting and northing is given, or they are not numbers inside British National Grid', 'Give both in metres, or leave both empty for a crime with no location.'),
  ('outside_force_area', 'the location is outside every neighbourhood of the force', 'Check the coordinates, or the force column.'),
  ('unknown_neighbourhood', 'the neighbourhood is not one of this force''s neighbourhoods', 'Use a neighbourhood_id from crimesnap.neighbourhood, or leave it empty.'),
  ('personal_data_in_context', 'the context looks like it holds personal data', 'Remove postcodes, house numbers with street names, phone numbers, email addresses and vehicle registrations from the context.'),
  ('personal_data_in_outcome', 'the outcome looks like it holds personal data', 'Give the outcome as a police.uk outcome category, with nothing personal in it.');

CREATE TABLE crimesnap.reject (
  reject_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id    integer NOT NULL REFERENCES crimesnap.batch,
  upload_row  bigint NOT NULL,
  force_id    text NOT NULL,
  crime_ref   text,
  reason_code text NOT NULL REFERENCES crimesnap.reject_reason,
  reason      text NOT NULL,
  row_data    jsonb NOT NULL,
  resolved_by_batch integer REFERENCES crimesnap.batch,
  resolved_crime_id bigint REFERENCES crimesnap.raw_crime
);
CREATE INDEX ON crimesnap.reject (batch_id);
CREATE INDEX ON crimesnap.reject (force_id, crime_ref) WHERE resolved_by_batch IS NULL;
COMMENT ON TABLE crimesnap.reject IS
  'Every row a batch did not load, whole, with its reason. Nothing is dropped silently. A reject is resolved when a batch of the same force loads a record with its reference.';
COMMENT ON COLUMN crimesnap.reject.reject_id IS 'Reject id.';
COMMENT ON COLUMN crimesnap.reject.batch_id IS 'The batch the row came with.';
COMMENT ON COLUMN crimesnap.reject.upload_row IS 'The row''s crimesnap.crime_upload.upload_row.';
COMMENT ON COLUMN crimesnap.reject.force_id IS 'The force of the batch that claimed the row.';
COMMENT ON COLUMN crimesnap.reject.crime_ref IS 'The reference number as uploaded (trimmed), when there was one. A raw table: never published.';
COMMENT ON COLUMN crimesnap.reject.reason_code IS 'See crimesnap.reject_reason.';
COMMENT ON COLUMN crimesnap.reject.reason IS 'The reason, with the offending value (for personal data, only its kind).';
COMMENT ON COLUMN crimesnap.reject.row_data IS 'The row as uploaded.';
COMMENT ON COLUMN crimesnap.reject.resolved_by_batch IS 'The batch that loaded a record with this reference (for a duplicate, the batch that loaded the first copy); NULL while outstanding.';
COMMENT ON COLUMN crimesnap.reject.resolved_crime_id IS 'The raw record that resolved it.';

CREATE VIEW crimesnap.outstanding_reject AS
SELECT r.reject_id, r.batch_id, b.force_id, pg_catalog.to_char(b.month, 'YYYY-MM') AS month, r.upload_row,
       r.crime_ref, r.reason_code, r.reason, rr.fix, r.row_data
  FROM crimesnap.reject r
  JOIN crimesnap.batch b ON b.batch_id = r.batch_id
  JOIN crimesnap.reject_reason rr ON rr.reason_code = r.reason_code
 WHERE r.resolved_by_batch IS NULL;
COMMENT ON VIEW crimesnap.outstanding_reject IS
  'Rejected rows no batch has since loaded a record for: what the force still has to correct and resubmit.';
COMMENT ON COLUMN crimesnap.outstanding_reject.reject_id IS 'Reject id.';
COMMENT ON COLUMN crimesnap.outstanding_reject.batch_id IS 'The batch the row came with.';
COMMENT ON COLUMN crimesnap.outstanding_reject.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.outstanding_reject.month IS 'The batch''s month, YYYY-MM.';
COMMENT ON COLUMN crimesnap.outstanding_reject.upload_row IS 'Row number in the upload.';
COMMENT ON COLUMN crimesnap.outstanding_reject.crime_ref IS 'Reference number as uploaded.';
COMMENT ON COLUMN crimesnap.outstanding_reject.reason_code IS 'Reason code.';
COMMENT ON COLUMN crimesnap.outstanding_reject.reason IS 'The reason, with the offending value.';
COMMENT ON COLUMN crimesnap.outstanding_reject.fix IS 'How to fix it.';
COMMENT ON COLUMN crimesnap.outstanding_reject.row_data IS 'The row as uploaded.';

-- ---- screening free text ----

CREATE FUNCTION crimesnap.screen_context(context text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_screen_context';
COMMENT ON FUNCTION crimesnap.screen_context(text) IS
  'The kind of personal data a free text seems to hold (email address, postcode, phone number, vehicle registration, house number and street), or NULL. Context is published as-is, so this is the safeguard; see docs/loading.md for what it catches and what it lets through.';

-- ---- registering a batch ----

CREATE FUNCTION crimesnap.register_batch(
  force            text,
  month            date,
  records_supplied integer,
  supplying_agency text,
  supplier_name    text,
  supplier_contact text,
  dataset_name     text,
  file_format      text DEFAULT 'crimesnap upload CSV 1',
  date_supplied    date DEFAULT CURRENT_DATE,
  caveats          text DEFAULT NULL)
RETURNS crimesnap.batch
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', register_batch.month)::date;
  b crimesnap.batch;
  n_loaded integer;
  n_rejected integer;
  missing text;
  id_key bytea;
BEGIN
  IF register_batch.force IS NULL OR register_batch.month IS NULL THEN
    RAISE EXCEPTION 'force and month must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = register_batch.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', register_batch.force
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Add it to crimesnap.force first, or use its force_id.';
  END IF;
  IF records_supplied IS NULL OR records_supplied < 0 THEN
    RAISE EXCEPTION 'records_supplied is %, not the number of records the force supplied', coalesce(records_supplied::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the record count from the supplier''s metadata (CSP guidance 3.4), not counted from the file.';
  END IF;
  SELECT pg_catalog.string_agg(x.name, ', ') INTO missing
    FROM (VALUES ('supplying_agency', supplying_agency), ('supplier_name', supplier_name),
                 ('supplier_contact', supplier_contact), ('dataset_name', dataset_name),
                 ('file_format', file_format), ('date_supplied', date_supplied::text)) AS x(name, value)
   WHERE x.value IS NULL OR btrim(x.value) = '';
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'batch metadata is missing: %', missing
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Section 3.4 of the CSP information-sharing guidance asks for every one of them with each supply.';
  END IF;

  -- A batch and a publication of the same force never interleave, so that a publication
  -- sees either all of a batch or none of it.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(register_batch.force));

  INSERT INTO crimesnap.batch AS x
    (force_id, month, supplying_agency, supplier_name, supplier_contact, dataset_name,
     period_start, period_end, file_format, records_supplied, date_supplied, caveats,
     records_loaded, records_rejected)
  VALUES (register_batch.force, m, supplying_agency, supplier_name, supplier_contact, dataset_name,
          m, (m + interval '1 month - 1 day')::date, file_format, records_supplied, date_supplied, caveats,
          0, records_supplied)
  RETURNING x.* INTO b;

  -- Claim this force's rows, and rows that name no known force (they are rejected here
  -- rather than left behind).  A failure below rolls the claim back with everything else.
  CREATE TEMP TABLE cs_upload ON COMMIT DROP AS
  WITH claimed AS (
    DELETE FROM crimesnap.crime_upload u
     WHERE u.force IS NOT DISTINCT FROM register_batch.force
        OR NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = u.force)
    RETURNING u.*)
  SELECT c.*,
         nullif(btrim(c.crime_ref), '') AS ref,
         upper(btrim(c.offence_code)) AS code,
         CASE WHEN c.committed_on ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$' THEN
           CASE WHEN substr(btrim(c.committed_on), 6, 2)::int BETWEEN 1 AND 12
                 AND substr(btrim(c.committed_on), 9, 2)::int BETWEEN 1 AND
                     extract(day FROM make_date(substr(btrim(c.committed_on), 1, 4)::int,
                                                substr(btrim(c.committed_on), 6, 2)::int, 1)
                                      + interval '1 month - 1 day')::int
                 AND substr(btrim(c.committed_on), 1, 4)::int > 0
                THEN substr(btrim(c.committed_on), 1, 10)::date END
         END AS committed,
         CASE WHEN nullif(btrim(c.easting), '') IS NULL AND nullif(btrim(c.northing), '') IS NULL THEN 'none'
              WHEN c.easting ~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' AND c.northing ~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*$'
               AND btrim(c.easting)::float8 BETWEEN 0 AND 700000
               AND btrim(c.northing)::float8 BETWEEN 0 AND 1300000 THEN 'ok'
              ELSE 'bad' END AS loc_state,
         crimesnap.screen_context(c.context) AS context_finding,
         crimesnap.screen_context(c.outcome) AS outcome_finding
    FROM claimed c;
  ANALYZE pg_temp.cs_upload;

  CREATE TEMP TABLE cs_checked ON COMMIT DROP AS
  SELECT u.*, loc.geom, loc.neighbourhood_id,
         CASE
           WHEN u.force IS DISTINCT FROM register_batch.force THEN 'unknown_force'
           WHEN u.ref IS NULL THEN 'missing_reference'
           WHEN u.dup > 1 THEN 'duplicate_reference'
           WHEN u.code IS DISTINCT FROM 'ASB' AND NOT EXISTS (
                  SELECT FROM crimesnap.offence_code o
                   WHERE o.offence_code = u.code
                     AND (o.force_id IS NULL OR o.force_id = register_batch.force)) THEN 'unknown_offence_code'
           WHEN u.committed IS NULL THEN 'invalid_date'
           WHEN pg_catalog.date_trunc('month', u.committed) <> m THEN 'date_outside_month'
           WHEN u.loc_state = 'bad' THEN 'impossible_coordinates'
           WHEN u.loc_state = 'ok' AND loc.neighbourhood_id IS NULL THEN 'outside_force_area'
           WHEN u.loc_state = 'none' AND nullif(btrim(u.neighbourhood), '') IS NOT NULL
                AND NOT EXISTS (SELECT FROM crimesnap.neighbourhood n
                                 WHERE n.neighbourhood_id = btrim(u.neighbourhood)
                                   AND n.force_id = register_batch.force) THEN 'unknown_neighbourhood'
           WHEN u.context_finding IS NOT NULL THEN 'personal_data_in_context'
           WHEN u.outcome_finding IS NOT NULL THEN 'personal_data_in_outcome'
         END AS reason_code
    FROM (SELECT x.*, row_number() OVER (PARTITION BY x.force, x.ref ORDER BY x.upload_row) AS dup
            FROM pg_temp.cs_upload x) u
    LEFT JOIN LATERAL (
      SELECT g.geom,
             CASE WHEN u.loc_state = 'ok' THEN
               (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                 WHERE n.force_id = register_batch.force AND ST_Intersects(n.geom, g.geom)
                 ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1)
             ELSE nullif(btrim(u.neighbourhood), '') END AS neighbourhood_id
        FROM (SELECT CASE WHEN u.loc_state = 'ok'
                          THEN ST_SetSRID(ST_MakePoint(btrim(u.easting)::float8, btrim(u.northing)::float8), 27700)
                     END AS geom) g) loc ON true;
  -- Temporary tables have no statistics until analysed, and the plans below join them.
  ANALYZE pg_temp.cs_checked;

  -- A reference already live from an earlier batch is being resubmitted: the new row wins,
  -- and keeps the persistent id, which depends on force and reference only.
  UPDATE crimesnap.raw_crime r SET superseded_by_batch = b.batch_id
    FROM pg_temp.cs_checked c
   WHERE c.reason_code IS NULL AND r.superseded_by_batch IS NULL
     AND r.force_id = register_batch.force AND r.crime_ref = c.ref;

  SELECT s.value INTO id_key FROM crimesnap.secret s WHERE s.name = 'persistent_id_key';
  INSERT INTO crimesnap.raw_crime
    (batch_id, force_id, crime_ref, persistent_id, month, offence_code, committed_on, geom,
     neighbourhood_id, outcome, context)
  SELECT b.batch_id, register_batch.force, c.ref, crimesnap.persistent_id_with_key(id_key, register_batch.force, c.ref),
         m, c.code, c.committed, c.geom, c.neighbourhood_id,
         nullif(btrim(c.outcome), ''), nullif(btrim(c.context), '')
    FROM pg_temp.cs_checked c
   WHERE c.reason_code IS NULL
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_loaded = ROW_COUNT;

  -- The reason quotes the offending value, except for personal data, where it names only
  -- the kind found, so that lists of reasons can be shared without the data itself.
  INSERT INTO crimesnap.reject (batch_id, upload_row, force_id, crime_ref, reason_code, reason, row_data)
  SELECT b.batch_id, c.upload_row, register_batch.force, c.ref, c.reason_code,
         rr.description || CASE c.reason_code
           WHEN 'unknown_force' THEN pg_catalog.format(' (%s)', coalesce(c.force, 'empty'))
           WHEN 'duplicate_reference' THEN pg_catalog.format(' (%s rows of the batch have it)',
                                                             (SELECT count(*) FROM pg_temp.cs_checked d WHERE d.ref = c.ref AND d.force = c.force))
           WHEN 'unknown_offence_code' THEN pg_catalog.format(' (%s)', coalesce(nullif(c.code, ''), 'empty'))
           WHEN 'invalid_date' THEN pg_catalog.format(' (%s)', coalesce(c.committed_on, 'empty'))
           WHEN 'date_outside_month' THEN pg_catalog.format(' (%s is not in %s)', pg_catalog.to_char(c.committed, 'YYYY-MM-DD'), pg_catalog.to_char(m, 'YYYY-MM'))
           WHEN 'impossible_coordinates' THEN pg_catalog.format(' (easting %s, northing %s)',
                                                               coalesce(nullif(btrim(c.easting), ''), 'empty'),
                                                               coalesce(nullif(btrim(c.northing), ''), 'empty'))
           WHEN 'outside_force_area' THEN pg_catalog.format(' (%s, %s is not in any neighbourhood of %s)',
                                                           btrim(c.easting), btrim(c.northing), register_batch.force)
           WHEN 'unknown_neighbourhood' THEN pg_catalog.format(' (%s)', c.neighbourhood)
           WHEN 'personal_data_in_context' THEN pg_catalog.format(' (%s)', c.context_finding)
           WHEN 'personal_data_in_outcome' THEN pg_catalog.format(' (%s)', c.outcome_finding)
           ELSE '' END,
         pg_catalog.jsonb_build_object(
           'force', c.force, 'crime_ref', c.crime_ref, 'offence_code', c.offence_code,
           'committed_on', c.committed_on, 'easting', c.easting, 'northing', c.northing,
           'neighbourhood', c.neighbourhood, 'outcome', c.outcome, 'context', c.context)
    FROM pg_temp.cs_checked c
    JOIN crimesnap.reject_reason rr ON rr.reason_code = c.reason_code
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_rejected = ROW_COUNT;

  IF n_loaded + n_rejected <> records_supplied THEN
    RAISE EXCEPTION 'batch for force % month % has % records, but the supplier says % were supplied',
                    register_batch.force, pg_catalog.to_char(m, 'YYYY-MM'), n_loaded + n_rejected, records_supplied
      USING ERRCODE = 'data_exception',
            DETAIL = pg_catalog.format('%s rows would have loaded and %s been rejected from crimesnap.crime_upload; loaded + rejected must equal supplied.',
                                       n_loaded, n_rejected),
            HINT = 'Check that the whole file was copied into crimesnap.crime_upload and nothing else, then register the batch again with the supplier''s record count. Nothing was kept: the rows are still in crimesnap.crime_upload.';
  END IF;

  -- Corrected rows: an earlier reject of a reference this batch has now loaded is resolved.
  UPDATE crimesnap.reject r
     SET resolved_by_batch = b.batch_id, resolved_crime_id = rc.crime_id
    FROM crimesnap.raw_crime rc
   WHERE rc.batch_id = b.batch_id AND r.force_id = register_batch.force
     AND r.crime_ref = rc.crime_ref AND r.resolved_by_batch IS NULL;

  UPDATE crimesnap.batch x SET records_loaded = n_loaded, records_rejected = n_rejected
   WHERE x.batch_id = b.batch_id
  RETURNING x.* INTO b;
  DROP TABLE pg_temp.cs_upload, pg_temp.cs_checked;
  RETURN b;
END
$fn$;
COMMENT ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text) IS
  'Validates the force''s rows in crimesnap.crime_upload into crimesnap.raw_crime and crimesnap.reject, records the batch''s metadata (CSP guidance 3.4), resolves earlier rejects the batch corrects, and fails, keeping nothing, unless loaded + rejected = records_supplied.';

-- ---- privileges for this section (90-grants.sql adds the rest) ----
GRANT SELECT ON crimesnap.outstanding_reject TO crimesnap_loader, crimesnap_publisher;

-- ==== sql/install/50-publish.sql ====

-- Section 50: publication, roll-off and withdrawal.  C: src/persistid.c.  Tests:
-- test/sql/publish.sql, test/pgtap/publish.sql, test/specs/roll_off.spec.
-- Guide: docs/force-dba-guide.md.
--
-- A published row has no coordinate column and no reference column at all: its location
-- is the snap point it references, so a raw location cannot reach any output by mistake.

-- ---- persistent ids ----

CREATE FUNCTION crimesnap.hmac_sha256_hex(key bytea, message text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_hmac_sha256_hex';
COMMENT ON FUNCTION crimesnap.hmac_sha256_hex(bytea, text) IS
  'HMAC-SHA256 of message under key, as 64 lower-case hex characters.';

CREATE FUNCTION crimesnap.random_key()
RETURNS bytea
LANGUAGE C VOLATILE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_random_key';
COMMENT ON FUNCTION crimesnap.random_key() IS
  '32 bytes from the operating system''s strong random source, for the persistent id key.';

CREATE TABLE crimesnap.secret (
  name  text PRIMARY KEY,
  value bytea NOT NULL
);
COMMENT ON TABLE crimesnap.secret IS
  'Secrets readable by the extension''s owner only: the persistent id key. pg_dump keeps it, so ids survive a restore.';
COMMENT ON COLUMN crimesnap.secret.name IS 'Secret name.';
COMMENT ON COLUMN crimesnap.secret.value IS 'Secret value.';
INSERT INTO crimesnap.secret VALUES ('persistent_id_key', crimesnap.random_key());
SELECT pg_catalog.pg_extension_config_dump('crimesnap.secret', '');

-- The message is force and reference joined by '|', which no force_id contains, so that
-- no two (force, reference) pairs share a message.
CREATE FUNCTION crimesnap.persistent_id_with_key(key bytea, force text, crime_ref text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.hmac_sha256_hex($1, $2 || '|' || $3)
$fn$;
COMMENT ON FUNCTION crimesnap.persistent_id_with_key(bytea, text, text) IS
  'Persistent id of a crime under a given key. Internal: crimesnap.persistent_id() supplies the secret key; loading calls this with the key fetched once per batch.';

CREATE FUNCTION crimesnap.persistent_id(force text, crime_ref text)
RETURNS text
LANGUAGE sql STABLE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.persistent_id_with_key(s.value, $1, $2)
    FROM crimesnap.secret s WHERE s.name = 'persistent_id_key'
$fn$;
COMMENT ON FUNCTION crimesnap.persistent_id(text, text) IS
  'Persistent id of a crime: keyed HMAC-SHA256 of force and reference number. Stable while the key is; not reversible without it.';

CREATE FUNCTION crimesnap.rotate_persistent_id_key(reason text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f record;
  n bigint;
BEGIN
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'rotating the persistent id key needs a reason'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Every published id changes: say why, for example that the key was exposed.';
  END IF;
  -- Nothing may publish or withdraw while the ids change under it.
  FOR f IN SELECT x.force_id FROM crimesnap.force x ORDER BY x.force_id LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f.force_id));
  END LOOP;
  CREATE TEMP TABLE cs_old_id ON COMMIT DROP AS
  SELECT DISTINCT r.force_id, r.crime_ref, r.persistent_id AS old_id FROM crimesnap.raw_crime r;
  UPDATE crimesnap.secret s SET value = crimesnap.random_key() WHERE s.name = 'persistent_id_key';
  UPDATE crimesnap.raw_crime r SET persistent_id = crimesnap.persistent_id(r.force_id, r.crime_ref);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE crimesnap.withdrawal w SET persistent_id = crimesnap.persistent_id(o.force_id, o.crime_ref)
    FROM pg_temp.cs_old_id o WHERE w.persistent_id = o.old_id;
  UPDATE crimesnap.published_crime c SET persistent_id = r.persistent_id
    FROM crimesnap.raw_crime r WHERE r.crime_id = c.crime_id AND c.persistent_id IS NOT NULL;
  INSERT INTO crimesnap.audit_log (action, detail)
  VALUES ('rotate-key', pg_catalog.jsonb_build_object('records', n, 'reason', reason));
  DROP TABLE pg_temp.cs_old_id;
  RETURN n;
END
$fn$;
COMMENT ON FUNCTION crimesnap.rotate_persistent_id_key(text) IS
  'Replaces the persistent id key with a fresh random one and re-keys every stored and published id and every withdrawal. Every public id changes: for a key that has leaked. Owner only. Returns the raw records re-keyed.';

-- ---- what has been published ----

CREATE TABLE crimesnap.publication (
  force_id        text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  month           date NOT NULL CHECK (month = pg_catalog.date_trunc('month', month)),
  status          text NOT NULL CHECK (status IN ('street-level', 'rolled-off')),
  snap_version    integer NOT NULL REFERENCES crimesnap.snap_point_set,
  category_scheme text NOT NULL,
  reference_date  date NOT NULL,
  published_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  published_by    name NOT NULL DEFAULT SESSION_USER,
  crimes          integer NOT NULL CHECK (crimes >= 0),
  mapped          integer NOT NULL CHECK (mapped >= 0),
  no_location     integer NOT NULL CHECK (no_location >= 0),
  withheld        integer NOT NULL CHECK (withheld >= 0),
  rolled_off_at   timestamptz,
  PRIMARY KEY (force_id, month),
  CHECK (crimes = mapped + no_location),
  CHECK ((status = 'rolled-off') = (rolled_off_at IS NOT NULL))
);
COMMENT ON TABLE crimesnap.publication IS
  'One row per force and month published: street-level while on the map, rolled-off once it survives only as trend counts.';
COMMENT ON COLUMN crimesnap.publication.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.publication.month IS 'The month (first day).';
COMMENT ON COLUMN crimesnap.publication.status IS 'street-level or rolled-off.';
COMMENT ON COLUMN crimesnap.publication.snap_version IS 'The snap point set the month was snapped with.';
COMMENT ON COLUMN crimesnap.publication.category_scheme IS 'Category scheme the month was published under.';
COMMENT ON COLUMN crimesnap.publication.reference_date IS 'The date the publication was made as of.';
COMMENT ON COLUMN crimesnap.publication.published_at IS 'When it was (last) published.';
COMMENT ON COLUMN crimesnap.publication.published_by IS 'Who published it (the session user).';
COMMENT ON COLUMN crimesnap.publication.crimes IS 'Records published, mapped or not, less those withdrawn since.';
COMMENT ON COLUMN crimesnap.publication.mapped IS 'Records published at a snap point.';
COMMENT ON COLUMN crimesnap.publication.no_location IS 'Records published without a location.';
COMMENT ON COLUMN crimesnap.publication.withheld IS 'Records kept out because they are withdrawn.';
COMMENT ON COLUMN crimesnap.publication.rolled_off_at IS 'When the month left the street-level outputs.';

CREATE TABLE crimesnap.published_crime (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  crime_id           bigint NOT NULL UNIQUE REFERENCES crimesnap.raw_crime,
  force_id           text NOT NULL,
  month              date NOT NULL,
  persistent_id      text CHECK (persistent_id ~ '^[0-9a-f]{64}$'),
  category           text NOT NULL,
  snap_version       integer NOT NULL,
  point_id           bigint,
  neighbourhood_id   text,
  outcome            text,
  context            text,
  no_location_reason text,
  FOREIGN KEY (force_id, month) REFERENCES crimesnap.publication ON UPDATE CASCADE,
  FOREIGN KEY (snap_version, point_id) REFERENCES crimesnap.snap_point (version, point_id),
  CHECK ((point_id IS NULL) = (no_location_reason IS NOT NULL))
);
CREATE INDEX ON crimesnap.published_crime (force_id, month);
CREATE INDEX ON crimesnap.published_crime (snap_version, point_id);
CREATE INDEX ON crimesnap.published_crime (persistent_id);
COMMENT ON TABLE crimesnap.published_crime IS
  'Exactly what is public at street level now: no coordinates and no reference numbers, a row''s location is its snap point. Rows leave when their month rolls off (into crimesnap.trend_member) or when they are withdrawn.';
COMMENT ON COLUMN crimesnap.published_crime.id IS 'Public record id (police.uk''s "id"); ASB is withdrawn by it. A re-publish gives new ids.';
COMMENT ON COLUMN crimesnap.published_crime.crime_id IS 'Internal link to the raw record; never in crimesnap_api.';
COMMENT ON COLUMN crimesnap.published_crime.force_id IS 'Reported by.';
COMMENT ON COLUMN crimesnap.published_crime.month IS 'Month (first day).';
COMMENT ON COLUMN crimesnap.published_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_crime.category IS 'Category slug under the publication''s scheme.';
COMMENT ON COLUMN crimesnap.published_crime.snap_version IS 'Snap point set version the row was snapped with.';
COMMENT ON COLUMN crimesnap.published_crime.point_id IS 'Snap point; NULL for a crime published without a location.';
COMMENT ON COLUMN crimesnap.published_crime.neighbourhood_id IS 'Neighbourhood of the record (of the snap point when mapped).';
COMMENT ON COLUMN crimesnap.published_crime.outcome IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap.published_crime.context IS 'Context, screened at load.';
COMMENT ON COLUMN crimesnap.published_crime.no_location_reason IS 'Why a record has no location: none supplied, or no snap point near enough.';

CREATE TABLE crimesnap.trend (
  force_id         text NOT NULL,
  month            date NOT NULL,
  neighbourhood_id text,
  lsoa_code        text,
  category         text NOT NULL,
  crimes           integer NOT NULL CHECK (crimes > 0),
  UNIQUE NULLS NOT DISTINCT (force_id, month, neighbourhood_id, lsoa_code, category)
);
COMMENT ON TABLE crimesnap.trend IS
  'Counts of rolled-off months by force, neighbourhood, LSOA (of the snap point) and category, under the scheme of the month''s publication. Records without a location count with a NULL LSOA.';
COMMENT ON COLUMN crimesnap.trend.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.trend.month IS 'The month (first day).';
COMMENT ON COLUMN crimesnap.trend.neighbourhood_id IS 'Neighbourhood; NULL when a record without a location had none.';
COMMENT ON COLUMN crimesnap.trend.lsoa_code IS 'LSOA of the snap point; NULL for records without a location.';
COMMENT ON COLUMN crimesnap.trend.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap.trend.crimes IS 'Number of records.';

CREATE TABLE crimesnap.trend_member (
  crime_id         bigint PRIMARY KEY REFERENCES crimesnap.raw_crime,
  force_id         text NOT NULL,
  month            date NOT NULL,
  neighbourhood_id text,
  lsoa_code        text,
  category         text NOT NULL,
  mapped           boolean NOT NULL,
  FOREIGN KEY (force_id, month) REFERENCES crimesnap.publication ON UPDATE CASCADE
);
CREATE INDEX ON crimesnap.trend_member (force_id, month);
COMMENT ON TABLE crimesnap.trend_member IS
  'Which raw record counts in which trend cell, so that a record withdrawn after its month rolled off leaves exactly the cell it was counted in. Internal: never published.';
COMMENT ON COLUMN crimesnap.trend_member.crime_id IS 'The raw record.';
COMMENT ON COLUMN crimesnap.trend_member.force_id IS 'Trend cell: force.';
COMMENT ON COLUMN crimesnap.trend_member.month IS 'Trend cell: month.';
COMMENT ON COLUMN crimesnap.trend_member.neighbourhood_id IS 'Trend cell: neighbourhood.';
COMMENT ON COLUMN crimesnap.trend_member.lsoa_code IS 'Trend cell: LSOA of the snap point the record was published at.';
COMMENT ON COLUMN crimesnap.trend_member.category IS 'Trend cell: category.';
COMMENT ON COLUMN crimesnap.trend_member.mapped IS 'Whether the record was published at a snap point (its LSOA alone does not say: a point may lie outside every LSOA).';

CREATE TABLE crimesnap.withdrawal (
  withdrawal_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  scope            text NOT NULL CHECK (scope IN ('record', 'month', 'force')),
  force_id         text NOT NULL,
  month            date,
  persistent_id    text,
  reason           text NOT NULL CHECK (btrim(reason) <> ''),
  withdrawn_by     name NOT NULL DEFAULT SESSION_USER,
  withdrawn_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  reinstated_by    name,
  reinstated_at    timestamptz,
  reinstate_reason text,
  CHECK ((scope = 'record') = (persistent_id IS NOT NULL)),
  CHECK ((scope = 'month') = (month IS NOT NULL)),
  CHECK ((reinstated_at IS NULL) = (reinstated_by IS NULL) AND (reinstated_at IS NULL) = (reinstate_reason IS NULL))
);
CREATE INDEX ON crimesnap.withdrawal (persistent_id) WHERE reinstated_at IS NULL;
COMMENT ON TABLE crimesnap.withdrawal IS
  'Withdrawals: a record, a force''s month, or all of a force''s data. While in force (not reinstated), what it covers is kept out of every output and every re-publication.';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawal_id IS 'Withdrawal id, quoted to reinstate.';
COMMENT ON COLUMN crimesnap.withdrawal.scope IS 'record, month or force.';
COMMENT ON COLUMN crimesnap.withdrawal.force_id IS 'The force whose data is withdrawn.';
COMMENT ON COLUMN crimesnap.withdrawal.month IS 'The month, for a month withdrawal.';
COMMENT ON COLUMN crimesnap.withdrawal.persistent_id IS 'The record''s persistent id (the internal one for ASB, which publishes none), for a record withdrawal.';
COMMENT ON COLUMN crimesnap.withdrawal.reason IS 'Why, for example the complaint it answers.';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawn_by IS 'Who withdrew it (the session user).';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawn_at IS 'When.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstated_by IS 'Who reinstated it, if anyone.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstated_at IS 'When it was reinstated.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstate_reason IS 'Why it was reinstated.';

CREATE TABLE crimesnap.audit_log (
  log_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  who      name NOT NULL DEFAULT SESSION_USER,
  action   text NOT NULL CHECK (action IN ('publish', 'roll-off', 'withdraw', 'reinstate', 'rotate-key')),
  force_id text,
  month    date,
  detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON crimesnap.audit_log (force_id, at);
COMMENT ON TABLE crimesnap.audit_log IS
  'Who did what, when and why: publications, roll-offs, withdrawals, reinstatements and key rotations. Never holds a reference number or a raw location.';
COMMENT ON COLUMN crimesnap.audit_log.log_id IS 'Entry id.';
COMMENT ON COLUMN crimesnap.audit_log.at IS 'When.';
COMMENT ON COLUMN crimesnap.audit_log.who IS 'The session user (not the definer the function runs as).';
COMMENT ON COLUMN crimesnap.audit_log.action IS 'publish, roll-off, withdraw, reinstate or rotate-key.';
COMMENT ON COLUMN crimesnap.audit_log.force_id IS 'The force concerned.';
COMMENT ON COLUMN crimesnap.audit_log.month IS 'The month concerned, if one.';
COMMENT ON COLUMN crimesnap.audit_log.detail IS 'Counts, ids and reasons.';

-- ---- what a published location may say ----

CREATE TABLE crimesnap.place_class (
  class text PRIMARY KEY CHECK (btrim(class) <> '' AND class !~ '[0-9]')
);
CREATE UNIQUE INDEX place_class_lower ON crimesnap.place_class (lower(class));
COMMENT ON TABLE crimesnap.place_class IS
  'Classes of public place a snap point may be labelled with ("On or near Parking Area"). A label that is neither one of these nor a loaded street name is refused at publication: it could be a building''s name.';
COMMENT ON COLUMN crimesnap.place_class.class IS 'The class as published; matched without regard to case.';
INSERT INTO crimesnap.place_class VALUES
  ('Airport/Airfield'), ('Bus/Coach Station'), ('Conference/Exhibition Centre'),
  ('Further/Higher Educational Building'), ('Hospital'), ('Hotel/Motel'), ('Nightclub'),
  ('Park'), ('Park/Open Space'), ('Parking Area'), ('Pedestrian Subway'), ('Petrol Station'),
  ('Police Station'), ('Prison'), ('Railway Station'), ('Shopping Area'),
  ('Sports/Recreation Area'), ('Supermarket'), ('Theatre/Concert Hall'), ('Theme/Adventure Park');
SELECT pg_catalog.pg_extension_config_dump('crimesnap.place_class', '');

-- Street names are looked up by their matching key when a label is checked.
CREATE INDEX street_name_key ON crimesnap.street (crimesnap.normalise_street_name(name));

CREATE FUNCTION crimesnap.location_label_problem(label text)
RETURNS text
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT CASE
    WHEN $1 IS NULL OR btrim($1) = '' THEN 'the label is empty'
    WHEN $1 ~ '^\s*[0-9]' THEN 'the label starts with a number, like a house number'
    WHEN crimesnap.screen_context($1) IS NOT NULL
      THEN pg_catalog.format('the label holds a %s', crimesnap.screen_context($1))
    WHEN NOT EXISTS (SELECT FROM crimesnap.street s
                      WHERE crimesnap.normalise_street_name(s.name) = crimesnap.normalise_street_name($1))
     AND NOT EXISTS (SELECT FROM crimesnap.place_class c WHERE lower(c.class) = lower(btrim($1)))
      THEN 'the label is neither a loaded street name nor a class in crimesnap.place_class, so it could be a building''s name'
  END
$fn$;
COMMENT ON FUNCTION crimesnap.location_label_problem(text) IS
  'Why a snap point label may not be published as "On or near <label>" (a house number, a postcode, a building name), or NULL when it may.';

-- ---- timing ----

CREATE FUNCTION crimesnap.publishable_from(month date)
RETURNS date
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT (date_trunc('month', $1) + interval '1 month' - interval '1 day')::date
         + crimesnap.setting('min_age_days')::integer
$fn$;
COMMENT ON FUNCTION crimesnap.publishable_from(date) IS
  'First day a month may be published: its last day plus crimesnap.min_age_days.';

CREATE FUNCTION crimesnap.latest_publishable_month(reference_date date)
RETURNS date
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- A month is publishable when its last day is on or before reference_date - min_age_days.
  SELECT (date_trunc('month', $1 - crimesnap.setting('min_age_days')::integer + 1)
          - interval '1 month')::date
$fn$;
COMMENT ON FUNCTION crimesnap.latest_publishable_month(date) IS
  'The newest month that may be published as of reference_date.';

-- ---- roll-off ----

CREATE FUNCTION crimesnap.roll_off_before(force text, keep_from date)
RETURNS TABLE (force_id text, month date, crimes bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT p.month FROM crimesnap.publication p
            WHERE p.force_id = roll_off_before.force AND p.status = 'street-level' AND p.month < keep_from
            ORDER BY p.month
  LOOP
    DELETE FROM crimesnap.trend t WHERE t.force_id = roll_off_before.force AND t.month = r.month;
    DELETE FROM crimesnap.trend_member t WHERE t.force_id = roll_off_before.force AND t.month = r.month;
    INSERT INTO crimesnap.trend_member (crime_id, force_id, month, neighbourhood_id, lsoa_code, category, mapped)
    SELECT c.crime_id, c.force_id, c.month, c.neighbourhood_id, sp.lsoa_code, c.category, c.point_id IS NOT NULL
      FROM crimesnap.published_crime c
      LEFT JOIN crimesnap.snap_point sp ON sp.version = c.snap_version AND sp.point_id = c.point_id
     WHERE c.force_id = roll_off_before.force AND c.month = r.month;
    INSERT INTO crimesnap.trend (force_id, month, neighbourhood_id, lsoa_code, category, crimes)
    SELECT t.force_id, t.month, t.neighbourhood_id, t.lsoa_code, t.category, count(*)
      FROM crimesnap.trend_member t
     WHERE t.force_id = roll_off_before.force AND t.month = r.month
     GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM crimesnap.published_crime c WHERE c.force_id = roll_off_before.force AND c.month = r.month;
    GET DIAGNOSTICS crimes = ROW_COUNT;
    UPDATE crimesnap.publication p SET status = 'rolled-off', rolled_off_at = pg_catalog.now()
     WHERE p.force_id = roll_off_before.force AND p.month = r.month;
    INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
    VALUES ('roll-off', roll_off_before.force, r.month, pg_catalog.jsonb_build_object('crimes', crimes));
    force_id := roll_off_before.force;
    month := r.month;
    RETURN NEXT;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION crimesnap.roll_off_before(text, date) IS
  'Internal: moves a force''s street-level months before keep_from into the trend table, in the caller''s transaction and under the caller''s lock. Returns what moved.';

CREATE FUNCTION crimesnap.roll_off(reference_date date DEFAULT CURRENT_DATE)
RETURNS TABLE (force_id text, month date, crimes bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  keep_from date;
  f record;
BEGIN
  IF reference_date IS NULL THEN
    RAISE EXCEPTION 'reference_date must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  keep_from := (crimesnap.latest_publishable_month(reference_date)
                - pg_catalog.make_interval(months => crimesnap.setting('street_level_months')::integer - 1))::date;
  -- Forces are locked in one order, so two roll-offs never deadlock; a publication of
  -- one force waits only for that force.
  FOR f IN SELECT x.force_id FROM crimesnap.force x ORDER BY x.force_id LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f.force_id));
    RETURN QUERY SELECT * FROM crimesnap.roll_off_before(f.force_id, keep_from);
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION crimesnap.roll_off(date) IS
  'Moves every force''s months older than the newest crimesnap.street_level_months publishable months (as of reference_date) off the map into the trend table, in one transaction. Returns what moved.';

-- ---- the audit ----

CREATE FUNCTION crimesnap.audit_publication(of_force text DEFAULT NULL, of_month date DEFAULT NULL)
RETURNS TABLE (force_id text, month date, violation text, id bigint, detail text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f text := of_force;
  m date := pg_catalog.date_trunc('month', of_month)::date;
  n integer := crimesnap.setting('street_level_months')::integer;
BEGIN
  -- Published locations: a street name or a class of place, never a house number, a
  -- building's name or a postcode.  The LSOA published is the point's: the LSOA it lies in.
  -- Both are properties of the point, so each point used is checked once.
  RETURN QUERY
  WITH used AS (
    SELECT DISTINCT c.snap_version, c.point_id FROM crimesnap.published_crime c
     WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m) AND c.point_id IS NOT NULL
  ), bad AS (
    SELECT p.version, p.point_id, 'location label'::text AS violation,
           pg_catalog.format('snap point %s "%s": %s', p.point_id, p.label, crimesnap.location_label_problem(p.label)) AS detail
      FROM used u JOIN crimesnap.snap_point p ON p.version = u.snap_version AND p.point_id = u.point_id
     WHERE crimesnap.location_label_problem(p.label) IS NOT NULL
    UNION ALL
    SELECT p.version, p.point_id, 'lsoa is not the point''s',
           pg_catalog.format('snap point %s is published with LSOA %s, which does not contain it', p.point_id, coalesce(p.lsoa_code, 'NULL'))
      FROM used u JOIN crimesnap.snap_point p ON p.version = u.snap_version AND p.point_id = u.point_id
     WHERE NOT EXISTS (SELECT FROM crimesnap.lsoa l WHERE l.lsoa_code = p.lsoa_code AND ST_Intersects(l.geom, p.geom))
  )
  SELECT c.force_id, c.month, b.violation, c.id, b.detail
    FROM bad b JOIN crimesnap.published_crime c ON c.snap_version = b.version AND c.point_id = b.point_id
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m);

  -- A crime is snapped inside its own neighbourhood, and so its own force.
  RETURN QUERY
  SELECT c.force_id, c.month, 'snapped across a neighbourhood boundary'::text, c.id,
         pg_catalog.format('record in %s published at snap point %s of %s', r.neighbourhood_id, p.point_id, p.neighbourhood_id)
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND r.neighbourhood_id IS DISTINCT FROM p.neighbourhood_id;

  -- Context is published as-is: it must still pass the screen.
  RETURN QUERY
  SELECT c.force_id, c.month, 'personal data in context'::text, c.id,
         pg_catalog.format('the context holds a %s', crimesnap.screen_context(c.context))
    FROM crimesnap.published_crime c
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND (crimesnap.screen_context(c.context) IS NOT NULL OR crimesnap.screen_context(c.outcome) IS NOT NULL);

  -- Persistent ids: the keyed hash of the record's own force and reference, none for ASB.
  RETURN QUERY
  SELECT c.force_id, c.month, 'persistent id'::text, c.id,
         CASE WHEN o.slug = 'anti-social-behaviour' AND c.persistent_id IS NOT NULL THEN 'ASB published with a persistent id'
              WHEN o.slug <> 'anti-social-behaviour' AND c.persistent_id IS NULL THEN 'crime published without a persistent id'
              ELSE 'published id is not the keyed hash of the record''s force and reference' END
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    CROSS JOIN LATERAL (
      SELECT x.slug FROM crimesnap.offence_code x
       WHERE x.offence_code = r.offence_code AND (x.force_id IS NULL OR x.force_id = r.force_id)
       ORDER BY x.force_id NULLS LAST LIMIT 1) o
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND CASE WHEN o.slug = 'anti-social-behaviour' THEN c.persistent_id IS NOT NULL
              ELSE c.persistent_id IS DISTINCT FROM crimesnap.persistent_id(r.force_id, r.crime_ref) END;

  -- Withdrawn records stay out of every output.
  RETURN QUERY
  SELECT x.force_id, x.month, 'withdrawn record published'::text, x.crime_id,
         pg_catalog.format('withdrawal %s is in force', w.withdrawal_id)
    FROM (SELECT c.force_id, c.month, c.crime_id FROM crimesnap.published_crime c
          UNION ALL
          SELECT t.force_id, t.month, t.crime_id FROM crimesnap.trend_member t) x
    JOIN crimesnap.raw_crime r ON r.crime_id = x.crime_id
    JOIN crimesnap.withdrawal w ON w.reinstated_at IS NULL AND w.force_id = r.force_id
     AND (w.scope = 'force' OR (w.scope = 'month' AND w.month = x.month)
          OR (w.scope = 'record' AND w.persistent_id = r.persistent_id))
   WHERE (f IS NULL OR x.force_id = f) AND (m IS NULL OR x.month = m);

  -- Every live record of a published month is accounted for: published, in the trend, or
  -- withheld; and nothing superseded is.
  RETURN QUERY
  SELECT r.force_id, r.month, 'record unaccounted for'::text, r.crime_id,
         'a live record of a published month is neither published, counted in the trend, nor withdrawn'::text
    FROM crimesnap.raw_crime r
    JOIN crimesnap.publication p ON p.force_id = r.force_id AND p.month = r.month
   WHERE (f IS NULL OR r.force_id = f) AND (m IS NULL OR r.month = m)
     AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.published_crime c WHERE c.crime_id = r.crime_id)
     AND NOT EXISTS (SELECT FROM crimesnap.trend_member t WHERE t.crime_id = r.crime_id)
     AND NOT EXISTS (SELECT FROM crimesnap.withdrawal w WHERE w.reinstated_at IS NULL AND w.scope = 'record'
                        AND w.persistent_id = r.persistent_id);
  RETURN QUERY
  SELECT x.force_id, x.month, 'superseded record published'::text, x.crime_id,
         'a record replaced by a later batch is still in an output'::text
    FROM (SELECT c.force_id, c.month, c.crime_id FROM crimesnap.published_crime c
          UNION ALL
          SELECT t.force_id, t.month, t.crime_id FROM crimesnap.trend_member t) x
    JOIN crimesnap.raw_crime r ON r.crime_id = x.crime_id
   WHERE (f IS NULL OR x.force_id = f) AND (m IS NULL OR x.month = m)
     AND r.superseded_by_batch IS NOT NULL;

  -- Totals: no-location records count in every total.
  RETURN QUERY
  SELECT p.force_id, p.month, 'totals'::text, NULL::bigint,
         pg_catalog.format('publication says %s records (%s mapped, %s without a location); the outputs hold %s (%s mapped)',
                           p.crimes, p.mapped, p.no_location, coalesce(s.crimes, t.crimes, 0), coalesce(s.mapped, t.mapped, 0))
    FROM crimesnap.publication p
    LEFT JOIN LATERAL (SELECT count(*) AS crimes, count(c.point_id) AS mapped FROM crimesnap.published_crime c
                        WHERE c.force_id = p.force_id AND c.month = p.month) s ON p.status = 'street-level'
    LEFT JOIN LATERAL (SELECT sum(x.crimes) AS crimes, sum(x.crimes) FILTER (WHERE x.lsoa_code IS NOT NULL) AS mapped
                         FROM crimesnap.trend x
                        WHERE x.force_id = p.force_id AND x.month = p.month) t ON p.status = 'rolled-off'
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND (p.crimes, p.mapped) IS DISTINCT FROM (coalesce(s.crimes, t.crimes, 0), coalesce(s.mapped, t.mapped, 0));
  RETURN QUERY
  SELECT coalesce(a.force_id, b.force_id), coalesce(a.month, b.month), 'trend cell'::text, NULL::bigint,
         pg_catalog.format('cell %s / %s / %s says %s records; %s records are counted in it',
                           coalesce(a.neighbourhood_id, b.neighbourhood_id, 'no neighbourhood'),
                           coalesce(a.lsoa_code, b.lsoa_code, 'no LSOA'),
                           coalesce(a.category, b.category), coalesce(a.crimes, 0), coalesce(b.crimes, 0))
    FROM (SELECT * FROM crimesnap.trend t WHERE (f IS NULL OR t.force_id = f) AND (m IS NULL OR t.month = m)) a
    FULL JOIN (SELECT t.force_id, t.month, t.neighbourhood_id, t.lsoa_code, t.category, count(*) AS crimes
                 FROM crimesnap.trend_member t
                WHERE (f IS NULL OR t.force_id = f) AND (m IS NULL OR t.month = m)
                GROUP BY 1, 2, 3, 4, 5) b
      ON a.force_id = b.force_id AND a.month = b.month AND a.category = b.category
     AND a.neighbourhood_id IS NOT DISTINCT FROM b.neighbourhood_id AND a.lsoa_code IS NOT DISTINCT FROM b.lsoa_code
   WHERE a.crimes IS DISTINCT FROM b.crimes;

  -- Timing: never before month end + min_age_days, and off the map once newer months are on.
  RETURN QUERY
  SELECT p.force_id, p.month, 'published too early'::text, NULL::bigint,
         pg_catalog.format('published as of %s; the month may be published from %s', pg_catalog.to_char(p.reference_date, 'YYYY-MM-DD'),
                           pg_catalog.to_char(crimesnap.publishable_from(p.month), 'YYYY-MM-DD'))
    FROM crimesnap.publication p
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND p.reference_date < crimesnap.publishable_from(p.month);
  RETURN QUERY
  SELECT p.force_id, p.month, 'street level too long'::text, NULL::bigint,
         pg_catalog.format('still street-level although %s is the newest month and crimesnap.street_level_months is %s',
                           pg_catalog.to_char(newest.month, 'YYYY-MM'), n)
    FROM crimesnap.publication p
    JOIN LATERAL (SELECT max(q.month) AS month FROM crimesnap.publication q
                   WHERE q.force_id = p.force_id AND q.status = 'street-level') newest ON true
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND p.status = 'street-level' AND p.month < newest.month - pg_catalog.make_interval(months => n - 1);
END
$fn$;
COMMENT ON FUNCTION crimesnap.audit_publication(text, date) IS
  'Proves the publication rules on the data as it is now, for a force and month (default: all): location labels, LSOAs, neighbourhoods, screened context, persistent ids, withdrawals, every record accounted for, totals, trend cells, timing. One row per violation, none when clean.';

-- ---- publishing ----

CREATE FUNCTION crimesnap.publish_month(
  force text,
  month date,
  reference_date date DEFAULT CURRENT_DATE,
  category_scheme text DEFAULT 'police.uk')
RETURNS TABLE (crimes integer, mapped integer, no_location integer, withheld integer, rolled_off integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', publish_month.month)::date;
  opens date;
  v integer := crimesnap.current_snap_version();
  keep_from date;
  ids bigint[];
  geoms geometry[];
  nbs text[];
  n_withheld integer;
  bad text;
  problem record;
BEGIN
  IF publish_month.force IS NULL OR publish_month.month IS NULL OR reference_date IS NULL OR category_scheme IS NULL THEN
    RAISE EXCEPTION 'force, month, reference_date and category_scheme must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = publish_month.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', publish_month.force
      USING ERRCODE = 'foreign_key_violation', HINT = 'See crimesnap.force.';
  END IF;
  opens := crimesnap.publishable_from(m);
  IF reference_date < opens THEN
    RAISE EXCEPTION 'month % cannot be published before %', pg_catalog.to_char(m, 'YYYY-MM'), pg_catalog.to_char(opens, 'YYYY-MM-DD')
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('crimesnap.min_age_days is %s: a month is published no sooner than that many days after it ends, and %s is %s days too early.',
                                       crimesnap.setting('min_age_days'), pg_catalog.to_char(reference_date, 'YYYY-MM-DD'), opens - reference_date),
            HINT = pg_catalog.format('Publish it on or after %s.', pg_catalog.to_char(opens, 'YYYY-MM-DD'));
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.category c WHERE c.scheme = category_scheme) THEN
    RAISE EXCEPTION 'category scheme "%" does not exist', category_scheme
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''police.uk'' or ''crimemapper-2010'', or add a scheme to crimesnap.category and crimesnap.category_fold.';
  END IF;
  IF v IS NULL THEN
    RAISE EXCEPTION 'there is no current snap point set'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Build one with crimesnap.build_snap_points().';
  END IF;
  IF EXISTS (SELECT FROM crimesnap.withdrawal w
              WHERE w.force_id = publish_month.force AND w.reinstated_at IS NULL
                AND (w.scope = 'force' OR (w.scope = 'month' AND w.month = m))) THEN
    RAISE EXCEPTION 'force % has withdrawn its data for %', publish_month.force, pg_catalog.to_char(m, 'YYYY-MM')
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Reinstate it first with crimesnap.reinstate(withdrawal_id, reason); see crimesnap.withdrawal.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.batch b WHERE b.force_id = publish_month.force AND b.month = m) THEN
    RAISE EXCEPTION 'no batch has been registered for force % and month %', publish_month.force, pg_catalog.to_char(m, 'YYYY-MM')
      USING ERRCODE = 'no_data_found',
            HINT = 'Load the month into crimesnap.crime_upload and call crimesnap.register_batch() first.';
  END IF;

  -- One publication, batch, withdrawal or roll-off per force at a time; other forces go
  -- ahead in parallel.  Every statement below sees this force's data as it is now.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(publish_month.force));

  SELECT pg_catalog.string_agg(DISTINCT r.offence_code, ', ') INTO bad
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.offence_code o
                      JOIN crimesnap.category_fold cf ON cf.scheme = category_scheme AND cf.police_uk_slug = o.slug
                      WHERE o.offence_code = r.offence_code
                        AND (o.force_id IS NULL OR o.force_id = r.force_id));
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'offence codes % of force % do not map to a category of scheme %', bad, publish_month.force, category_scheme
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Restore them in crimesnap.offence_code, or complete crimesnap.category_fold for the scheme, before publishing.';
  END IF;

  -- A re-publish replaces the month, street-level rows and trend counts alike.  Readers
  -- see the old month until this transaction commits, then the new one.
  DELETE FROM crimesnap.published_crime c WHERE c.force_id = publish_month.force AND c.month = m;
  DELETE FROM crimesnap.trend t WHERE t.force_id = publish_month.force AND t.month = m;
  DELETE FROM crimesnap.trend_member t WHERE t.force_id = publish_month.force AND t.month = m;
  INSERT INTO crimesnap.publication AS p
    (force_id, month, status, snap_version, category_scheme, reference_date, crimes, mapped, no_location, withheld)
  VALUES (publish_month.force, m, 'street-level', v, category_scheme, reference_date, 0, 0, 0, 0)
  ON CONFLICT ON CONSTRAINT publication_pkey DO UPDATE
    SET status = 'street-level', snap_version = v, category_scheme = EXCLUDED.category_scheme,
        reference_date = EXCLUDED.reference_date, published_at = pg_catalog.now(),
        published_by = SESSION_USER, rolled_off_at = NULL,
        crimes = 0, mapped = 0, no_location = 0, withheld = 0;

  CREATE TEMP TABLE cs_live ON COMMIT DROP AS
  SELECT r.*
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.withdrawal w
                      WHERE w.scope = 'record' AND w.reinstated_at IS NULL
                        AND w.persistent_id = r.persistent_id);
  ANALYZE pg_temp.cs_live;
  SELECT count(*) - (SELECT count(*) FROM pg_temp.cs_live) INTO n_withheld
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL;

  SELECT pg_catalog.array_agg(l.crime_id ORDER BY l.crime_id), pg_catalog.array_agg(l.geom ORDER BY l.crime_id),
         pg_catalog.array_agg(l.neighbourhood_id ORDER BY l.crime_id)
    INTO ids, geoms, nbs
    FROM pg_temp.cs_live l WHERE l.geom IS NOT NULL;

  INSERT INTO crimesnap.published_crime
    (crime_id, force_id, month, persistent_id, category, snap_version, point_id, neighbourhood_id,
     outcome, context, no_location_reason)
  SELECT l.crime_id, l.force_id, m,
         CASE WHEN cat.police_uk_slug = 'anti-social-behaviour' THEN NULL ELSE l.persistent_id END,
         cat.slug, v, s.point_id,
         coalesce(sp.neighbourhood_id, l.neighbourhood_id),
         l.outcome, l.context,
         CASE WHEN l.geom IS NULL THEN 'no location supplied'
              WHEN s.point_id IS NULL THEN pg_catalog.format('no snap point within %s m in its neighbourhood',
                                                  crimesnap.setting('max_snap_distance'))
         END
    FROM pg_temp.cs_live l
    LEFT JOIN crimesnap.snap_many(coalesce(ids, '{}'), coalesce(geoms, '{}'), coalesce(nbs, '{}')) s ON s.id = l.crime_id
    LEFT JOIN crimesnap.snap_point sp ON sp.version = v AND sp.point_id = s.point_id
    CROSS JOIN LATERAL (
      SELECT f.police_uk_slug, f.slug
        FROM crimesnap.offence_code o
        JOIN crimesnap.category_fold f ON f.scheme = category_scheme AND f.police_uk_slug = o.slug
       WHERE o.offence_code = l.offence_code AND (o.force_id IS NULL OR o.force_id = l.force_id)
       ORDER BY o.force_id NULLS LAST LIMIT 1) cat
   ORDER BY l.crime_id;

  -- What a published location says is enforced here, not trusted to the snap point build:
  -- "On or near" a street or a class of place, never a house number, a building or a postcode.
  SELECT p.point_id, p.label, crimesnap.location_label_problem(p.label) AS why INTO problem
    FROM crimesnap.snap_point p
   WHERE p.version = v
     AND p.point_id IN (SELECT c.point_id FROM crimesnap.published_crime c
                         WHERE c.force_id = publish_month.force AND c.month = m)
     AND crimesnap.location_label_problem(p.label) IS NOT NULL
   ORDER BY p.point_id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'snap point % may not be published as "On or near %"', problem.point_id, problem.label
      USING ERRCODE = 'check_violation',
            DETAIL = problem.why || '.',
            HINT = 'Correct the street or place in the input tables and rebuild the snap points, or add the class to crimesnap.place_class. Nothing was published.';
  END IF;

  UPDATE crimesnap.publication p
     SET crimes = x.crimes, mapped = x.mapped, no_location = x.crimes - x.mapped, withheld = n_withheld
    FROM (SELECT count(*)::integer AS crimes, count(c.point_id)::integer AS mapped
            FROM crimesnap.published_crime c
           WHERE c.force_id = publish_month.force AND c.month = m) x
   WHERE p.force_id = publish_month.force AND p.month = m
  RETURNING p.crimes, p.mapped, p.no_location, p.withheld INTO crimes, mapped, no_location, withheld;

  -- Roll-off in the same transaction: only the newest street_level_months months stay.
  SELECT (max(p.month) - pg_catalog.make_interval(months => crimesnap.setting('street_level_months')::integer - 1))::date
    INTO keep_from
    FROM crimesnap.publication p
   WHERE p.force_id = publish_month.force AND p.status = 'street-level';
  SELECT count(*) INTO rolled_off FROM crimesnap.roll_off_before(publish_month.force, keep_from);

  -- The audit proves the rules on what was just written; a violation undoes it all.
  SELECT a.* INTO problem FROM crimesnap.audit_publication(publish_month.force, NULL) a LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'publication of % % fails its audit: %', publish_month.force, pg_catalog.to_char(problem.month, 'YYYY-MM'), problem.violation
      USING ERRCODE = 'check_violation',
            DETAIL = problem.detail,
            HINT = 'See SELECT * FROM crimesnap.audit_publication(force). Nothing was published.';
  END IF;

  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('publish', publish_month.force, m,
          pg_catalog.jsonb_build_object('crimes', crimes, 'mapped', mapped, 'no_location', no_location,
                                        'withheld', withheld, 'rolled_off_months', rolled_off,
                                        'snap_version', v, 'category_scheme', category_scheme,
                                        'reference_date', reference_date));
  DROP TABLE pg_temp.cs_live;
  RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION crimesnap.publish_month(text, date, date, text) IS
  'Publishes (or re-publishes, replacing it) a force''s month in one transaction: snaps every live record, maps offence codes to the scheme''s categories, keeps withdrawn records out, checks every location label, rolls older months off into the trend table and audits the result. Fails before month end + crimesnap.min_age_days, saying when it becomes possible.';

-- ---- withdrawal and redress (ICO guidance, paragraph 46) ----

CREATE FUNCTION crimesnap.count_withheld(force text, month date, mapped boolean)
RETURNS void
LANGUAGE sql
SET search_path FROM CURRENT
AS $fn$
  UPDATE crimesnap.publication p
     SET crimes = p.crimes - 1, withheld = p.withheld + 1,
         mapped = p.mapped - $3::integer,
         no_location = p.no_location - (NOT $3)::integer
   WHERE p.force_id = $1 AND p.month = $2
$fn$;
COMMENT ON FUNCTION crimesnap.count_withheld(text, date, boolean) IS
  'Internal: moves one withdrawn record of a publication from its published counts (mapped or not) to withheld.';

CREATE FUNCTION crimesnap.withdraw(persistent_id text, reason text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f text;
  removed integer := 0;
  wid bigint;
  g record;
BEGIN
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a withdrawal needs a reason' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the complaint or decision it answers; it goes to the audit log.';
  END IF;
  SELECT r.force_id INTO f FROM crimesnap.raw_crime r WHERE r.persistent_id = withdraw.persistent_id LIMIT 1;
  IF f IS NULL THEN
    RAISE EXCEPTION 'no record has persistent id %', coalesce(withdraw.persistent_id, 'NULL')
      USING ERRCODE = 'no_data_found',
            HINT = 'ASB has no public persistent id: withdraw it by its public id with crimesnap.withdraw_record(id, reason).';
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f));
  SELECT w.withdrawal_id INTO wid FROM crimesnap.withdrawal w
   WHERE w.scope = 'record' AND w.persistent_id = withdraw.persistent_id AND w.reinstated_at IS NULL;
  IF FOUND THEN
    RAISE EXCEPTION 'the record is already withdrawn, by withdrawal %', wid
      USING ERRCODE = 'duplicate_object',
            HINT = 'See crimesnap.withdrawal; reinstate it first to withdraw it again.';
  END IF;
  INSERT INTO crimesnap.withdrawal (scope, force_id, persistent_id, reason)
  VALUES ('record', f, withdraw.persistent_id, reason) RETURNING withdrawal_id INTO wid;

  -- From the street-level outputs...
  FOR g IN DELETE FROM crimesnap.published_crime c
             USING crimesnap.raw_crime r
            WHERE r.crime_id = c.crime_id AND r.persistent_id = withdraw.persistent_id
        RETURNING c.force_id, c.month, c.point_id IS NOT NULL AS mapped
  LOOP
    PERFORM crimesnap.count_withheld(g.force_id, g.month, g.mapped);
    removed := removed + 1;
  END LOOP;
  -- ...and from the trend, when its month has rolled off: exactly the cell it counted in.
  FOR g IN DELETE FROM crimesnap.trend_member t
             USING crimesnap.raw_crime r
            WHERE r.crime_id = t.crime_id AND r.persistent_id = withdraw.persistent_id
        RETURNING t.*
  LOOP
    DELETE FROM crimesnap.trend x
     WHERE x.force_id = g.force_id AND x.month = g.month AND x.category = g.category
       AND x.neighbourhood_id IS NOT DISTINCT FROM g.neighbourhood_id
       AND x.lsoa_code IS NOT DISTINCT FROM g.lsoa_code AND x.crimes = 1;
    UPDATE crimesnap.trend x SET crimes = x.crimes - 1
     WHERE x.force_id = g.force_id AND x.month = g.month AND x.category = g.category
       AND x.neighbourhood_id IS NOT DISTINCT FROM g.neighbourhood_id
       AND x.lsoa_code IS NOT DISTINCT FROM g.lsoa_code;
    PERFORM crimesnap.count_withheld(g.force_id, g.month, g.mapped);
    removed := removed + 1;
  END LOOP;
  INSERT INTO crimesnap.audit_log (action, force_id, detail)
  VALUES ('withdraw', f, pg_catalog.jsonb_build_object('withdrawal_id', wid, 'scope', 'record',
                                                       'persistent_id', withdraw.persistent_id,
                                                       'removed', removed, 'reason', reason));
  RETURN removed;
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw(text, text) IS
  'Withdraws one record by persistent id from every output at once (street level, API, exports, and the trend cell it counts in once rolled off), and keeps it out of later re-publications until reinstated. Returns the rows removed (0 when it was not published yet).';

CREATE FUNCTION crimesnap.withdraw_record(id bigint, reason text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  pid text;
BEGIN
  SELECT r.persistent_id INTO pid
    FROM crimesnap.published_crime c JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
   WHERE c.id = withdraw_record.id;
  IF pid IS NULL THEN
    RAISE EXCEPTION 'no published record has id %', coalesce(withdraw_record.id::text, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'See crimesnap_api.street_crime and crimesnap_api.no_location_crime.';
  END IF;
  RETURN crimesnap.withdraw(pid, reason);
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw_record(bigint, text) IS
  'Withdraws one published record by its public id; the way to withdraw ASB, which has no public persistent id.';

CREATE FUNCTION crimesnap.withdraw_force(force text, reason text, month date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', withdraw_force.month)::date;
  w_scope text := CASE WHEN withdraw_force.month IS NULL THEN 'force' ELSE 'month' END;
  removed integer;
  counted bigint;
  wid bigint;
BEGIN
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = withdraw_force.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', withdraw_force.force USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a withdrawal needs a reason' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the data controller''s decision it carries out; it goes to the audit log.';
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(withdraw_force.force));
  SELECT w.withdrawal_id INTO wid FROM crimesnap.withdrawal w
   WHERE w.force_id = withdraw_force.force AND w.reinstated_at IS NULL
     AND (w.scope = 'force' OR (w.scope = 'month' AND w.month = m AND w_scope = 'month'));
  IF FOUND THEN
    RAISE EXCEPTION 'the data of force % % is already withdrawn', withdraw_force.force,
                    coalesce('for ' || pg_catalog.to_char(m, 'YYYY-MM'), 'as a whole')
      USING ERRCODE = 'duplicate_object',
            HINT = pg_catalog.format('See withdrawal %s in crimesnap.withdrawal.', wid);
  END IF;
  INSERT INTO crimesnap.withdrawal (scope, force_id, month, reason)
  VALUES (w_scope, withdraw_force.force, m, reason)
  RETURNING withdrawal_id INTO wid;
  DELETE FROM crimesnap.published_crime c
   WHERE c.force_id = withdraw_force.force AND (m IS NULL OR c.month = m);
  GET DIAGNOSTICS removed = ROW_COUNT;
  SELECT coalesce(sum(t.crimes), 0) INTO counted FROM crimesnap.trend t
   WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
  DELETE FROM crimesnap.trend t WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
  DELETE FROM crimesnap.trend_member t WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
  DELETE FROM crimesnap.publication p WHERE p.force_id = withdraw_force.force AND (m IS NULL OR p.month = m);
  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('withdraw', withdraw_force.force, m,
          pg_catalog.jsonb_build_object('withdrawal_id', wid, 'scope', w_scope,
                                        'removed', removed, 'removed_from_trend', counted, 'reason', reason));
  RETURN removed + counted;
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw_force(text, text, date) IS
  'The data controller''s withdrawal: removes a force''s month (or, with no month, all its data) from every output including the trend table, and blocks its publication until reinstated. Returns the records removed, street-level and trend.';

CREATE FUNCTION crimesnap.reinstate(withdrawal_id bigint, reason text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  w crimesnap.withdrawal;
BEGIN
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a reinstatement needs a reason' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the decision it carries out; it goes to the audit log.';
  END IF;
  SELECT x.* INTO w FROM crimesnap.withdrawal x WHERE x.withdrawal_id = reinstate.withdrawal_id;
  IF FOUND THEN
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(w.force_id));
  END IF;
  UPDATE crimesnap.withdrawal x
     SET reinstated_by = SESSION_USER, reinstated_at = pg_catalog.now(), reinstate_reason = reinstate.reason
   WHERE x.withdrawal_id = reinstate.withdrawal_id AND x.reinstated_at IS NULL
  RETURNING x.* INTO w;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'withdrawal % does not exist or is already reinstated', coalesce(reinstate.withdrawal_id::text, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'See crimesnap.withdrawal.';
  END IF;
  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('reinstate', w.force_id, w.month,
          pg_catalog.jsonb_build_object('withdrawal_id', w.withdrawal_id, 'scope', w.scope,
                                        'persistent_id', w.persistent_id, 'reason', reason));
  RAISE NOTICE 'withdrawal % of force % is reinstated', w.withdrawal_id, w.force_id
    USING HINT = 'Nothing is published again until crimesnap.publish_month() re-publishes the month concerned.';
END
$fn$;
COMMENT ON FUNCTION crimesnap.reinstate(bigint, text) IS
  'Ends a withdrawal, with a reason for the audit log. The data comes back at the next crimesnap.publish_month() of its month, not before.';

-- ---- privileges for this section (90-grants.sql adds the rest) ----
GRANT SELECT ON crimesnap.place_class TO crimesnap_analyst, crimesnap_loader;
GRANT INSERT, DELETE ON crimesnap.place_class TO crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.audit_publication(text, date),
                          crimesnap.location_label_problem(text)
  TO crimesnap_publisher;

-- ==== sql/install/60-api.sql ====

-- Section 60: the web contract.  Tests: test/sql/api.sql, test/pgtap/api.sql.
-- Guide: docs/web-developer-guide.md.  Reference: docs/api.md.
--
-- One definition of what is public at street level, crimesnap.published_street_crime and
-- crimesnap.published_no_location_crime, read by everything here: the map, the API and
-- every export get the same rows under the same rules.  Neither names a raw column: no
-- exact location, no address, no reference number; a location is always a snap point.
--
-- The crimesnap_api views over them are security barriers, so that no function a caller
-- writes can see a row the view would not return.  A barrier also keeps spatial conditions
-- from reaching the snap points' index, so the spatial searches (near a point, in an area)
-- are SECURITY DEFINER functions that read the internal views directly: fixed search_path,
-- no dynamic SQL, arguments checked, and only the columns of crimesnap_api.street_crime out.

-- ---- what is public ----

CREATE VIEW crimesnap.published_street_crime AS
SELECT c.id,
       c.persistent_id,
       pg_catalog.to_char(c.month, 'YYYY-MM') AS month,
       c.category,
       cat.name AS category_name,
       c.force_id AS force,
       f.name AS force_name,
       p.neighbourhood_id,
       p.point_id AS street_id,
       'On or near ' || p.label AS street_name,
       p.latitude,
       p.longitude,
       p.lsoa_code,
       p.lsoa_name,
       c.outcome AS outcome_status,
       c.context,
       p.geom
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
  JOIN crimesnap.force f ON f.force_id = c.force_id
  JOIN crimesnap.category cat ON cat.scheme = pub.category_scheme AND cat.slug = c.category
 WHERE pub.status = 'street-level';
COMMENT ON VIEW crimesnap.published_street_crime IS
  'Internal: the street-level crimes and ASB on the map, at their snap points. crimesnap_api.street_crime shows it to the web; SECURITY DEFINER API functions search it.';
COMMENT ON COLUMN crimesnap.published_street_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap.published_street_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_street_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap.published_street_crime.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap.published_street_crime.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap.published_street_crime.force IS 'force_id.';
COMMENT ON COLUMN crimesnap.published_street_crime.force_name IS 'Force name.';
COMMENT ON COLUMN crimesnap.published_street_crime.neighbourhood_id IS 'Neighbourhood of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.street_id IS 'Snap point id.';
COMMENT ON COLUMN crimesnap.published_street_crime.street_name IS '"On or near <street or place class>".';
COMMENT ON COLUMN crimesnap.published_street_crime.latitude IS 'WGS84 latitude of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.longitude IS 'WGS84 longitude of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.lsoa_code IS 'LSOA of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.lsoa_name IS 'Name of that LSOA.';
COMMENT ON COLUMN crimesnap.published_street_crime.outcome_status IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap.published_street_crime.context IS 'Context supplied by the force, screened at load.';
COMMENT ON COLUMN crimesnap.published_street_crime.geom IS 'The snap point, EPSG:27700.';

CREATE VIEW crimesnap.published_no_location_crime AS
SELECT c.id,
       c.persistent_id,
       pg_catalog.to_char(c.month, 'YYYY-MM') AS month,
       c.category,
       cat.name AS category_name,
       c.force_id AS force,
       f.name AS force_name,
       c.outcome AS outcome_status,
       c.context
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.force f ON f.force_id = c.force_id
  JOIN crimesnap.category cat ON cat.scheme = pub.category_scheme AND cat.slug = c.category
 WHERE pub.status = 'street-level' AND c.point_id IS NULL;
COMMENT ON VIEW crimesnap.published_no_location_crime IS
  'Internal: the crimes and ASB of the months on the map published without a location.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.force IS 'force_id.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.force_name IS 'Force name.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.outcome_status IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.context IS 'Context supplied by the force.';

-- ---- the views ----

CREATE VIEW crimesnap_api.street_crime WITH (security_barrier) AS
SELECT * FROM crimesnap.published_street_crime;
COMMENT ON VIEW crimesnap_api.street_crime IS
  'Street-level crimes and ASB of the months on the map (police.uk''s crimes-street), at their snap points. geom is the snap point in EPSG:27700.';
COMMENT ON COLUMN crimesnap_api.street_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap_api.street_crime.persistent_id IS '64 hex characters, stable across months and re-publications; NULL for ASB.';
COMMENT ON COLUMN crimesnap_api.street_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.street_crime.category IS 'Category slug, for example violent-crime.';
COMMENT ON COLUMN crimesnap_api.street_crime.category_name IS 'Category name, for example Violence and sexual offences.';
COMMENT ON COLUMN crimesnap_api.street_crime.force IS 'force_id of the force that reported it.';
COMMENT ON COLUMN crimesnap_api.street_crime.force_name IS 'Name of that force.';
COMMENT ON COLUMN crimesnap_api.street_crime.neighbourhood_id IS 'Neighbourhood policing area of the snap point.';
COMMENT ON COLUMN crimesnap_api.street_crime.street_id IS 'Snap point id (police.uk''s street id); see crimesnap_api.street_crimes_at().';
COMMENT ON COLUMN crimesnap_api.street_crime.street_name IS '"On or near <street name>" or "On or near <class of place>".';
COMMENT ON COLUMN crimesnap_api.street_crime.latitude IS 'WGS84 latitude of the snap point.';
COMMENT ON COLUMN crimesnap_api.street_crime.longitude IS 'WGS84 longitude of the snap point.';
COMMENT ON COLUMN crimesnap_api.street_crime.lsoa_code IS 'LSOA the snap point lies in.';
COMMENT ON COLUMN crimesnap_api.street_crime.lsoa_name IS 'Name of that LSOA.';
COMMENT ON COLUMN crimesnap_api.street_crime.outcome_status IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap_api.street_crime.context IS 'Context supplied by the force.';
COMMENT ON COLUMN crimesnap_api.street_crime.geom IS 'The snap point, EPSG:27700.';

CREATE VIEW crimesnap_api.no_location_crime WITH (security_barrier) AS
SELECT * FROM crimesnap.published_no_location_crime;
COMMENT ON VIEW crimesnap_api.no_location_crime IS
  'Crimes and ASB of the months on the map published without a location (police.uk''s crimes-no-location), by force and month. They count in every total.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.force_name IS 'Name of the force.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.outcome_status IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.context IS 'Context supplied by the force.';

CREATE VIEW crimesnap_api.category AS
SELECT c.scheme, c.slug, c.name FROM crimesnap.category c;
COMMENT ON VIEW crimesnap_api.category IS 'Every category of every scheme; see crimesnap_api.categories(month) for those a month uses.';
COMMENT ON COLUMN crimesnap_api.category.scheme IS 'police.uk or crimemapper-2010.';
COMMENT ON COLUMN crimesnap_api.category.slug IS 'Category id, as in street_crime.category.';
COMMENT ON COLUMN crimesnap_api.category.name IS 'Category name, as in the CSV''s Crime type.';

CREATE VIEW crimesnap_api.published_month AS
SELECT p.force_id AS force, f.name AS force_name, pg_catalog.to_char(p.month, 'YYYY-MM') AS month,
       p.status, p.category_scheme, p.published_at::date AS published_on,
       p.crimes, p.mapped, p.no_location
  FROM crimesnap.publication p
  JOIN crimesnap.force f ON f.force_id = p.force_id;
COMMENT ON VIEW crimesnap_api.published_month IS
  'Every force and month published: street-level (on the map) or rolled-off (in the trend counts only).';
COMMENT ON COLUMN crimesnap_api.published_month.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.published_month.force_name IS 'Force name.';
COMMENT ON COLUMN crimesnap_api.published_month.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.published_month.status IS 'street-level or rolled-off.';
COMMENT ON COLUMN crimesnap_api.published_month.category_scheme IS 'Category scheme of the month.';
COMMENT ON COLUMN crimesnap_api.published_month.published_on IS 'Date of the latest publication of the month.';
COMMENT ON COLUMN crimesnap_api.published_month.crimes IS 'Records published, mapped or not.';
COMMENT ON COLUMN crimesnap_api.published_month.mapped IS 'Records at a snap point.';
COMMENT ON COLUMN crimesnap_api.published_month.no_location IS 'Records without a location.';

CREATE VIEW crimesnap_api.last_updated AS
SELECT pg_catalog.max(p.published_at)::date AS date,
       pg_catalog.to_char(pg_catalog.max(p.month) FILTER (WHERE p.status = 'street-level'), 'YYYY-MM') AS latest_month
  FROM crimesnap.publication p;
COMMENT ON VIEW crimesnap_api.last_updated IS 'When the data was last updated (police.uk''s crime-last-updated), and the newest month on the map.';
COMMENT ON COLUMN crimesnap_api.last_updated.date IS 'Date of the latest publication.';
COMMENT ON COLUMN crimesnap_api.last_updated.latest_month IS 'Newest street-level month, YYYY-MM.';

CREATE VIEW crimesnap_api.snap_point_crimes AS
SELECT s.street_id, s.street_name, s.latitude, s.longitude, s.lsoa_code, s.lsoa_name,
       s.force, s.month, pg_catalog.sum(s.n)::bigint AS crimes,
       pg_catalog.jsonb_object_agg(s.category, s.n) AS by_category,
       s.geom
  FROM (SELECT x.street_id, x.street_name, x.latitude, x.longitude, x.lsoa_code, x.lsoa_name, x.force,
               x.month, x.category, x.geom, pg_catalog.count(*) AS n
          FROM crimesnap_api.street_crime x
         GROUP BY x.street_id, x.street_name, x.latitude, x.longitude, x.lsoa_code, x.lsoa_name, x.force,
                  x.month, x.category, x.geom) s
 GROUP BY s.street_id, s.street_name, s.latitude, s.longitude, s.lsoa_code, s.lsoa_name, s.force, s.month, s.geom;
COMMENT ON VIEW crimesnap_api.snap_point_crimes IS
  'Each snap point with crimes on the map, by force and month, with its count per category: what the map sizes its icons by.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.street_id IS 'Snap point id.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.street_name IS '"On or near ...".';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.latitude IS 'WGS84 latitude.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.longitude IS 'WGS84 longitude.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.lsoa_code IS 'LSOA of the point.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.lsoa_name IS 'Name of that LSOA.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.crimes IS 'Crimes and ASB at the point.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.by_category IS 'Counts by category slug, for example {"burglary": 2, "violent-crime": 1}.';
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.geom IS 'The snap point, EPSG:27700.';

CREATE VIEW crimesnap_api.trend AS
SELECT t.force_id AS force, f.name AS force_name, pg_catalog.to_char(t.month, 'YYYY-MM') AS month,
       t.neighbourhood_id, n.name AS neighbourhood_name, t.lsoa_code, l.name AS lsoa_name,
       t.category, c.name AS category_name, t.crimes
  FROM crimesnap.trend t
  JOIN crimesnap.publication p ON p.force_id = t.force_id AND p.month = t.month
  JOIN crimesnap.force f ON f.force_id = t.force_id
  JOIN crimesnap.category c ON c.scheme = p.category_scheme AND c.slug = t.category
  LEFT JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = t.neighbourhood_id
  LEFT JOIN crimesnap.lsoa l ON l.lsoa_code = t.lsoa_code;
COMMENT ON VIEW crimesnap_api.trend IS
  'Counts of rolled-off months by force, neighbourhood, LSOA and category. Records without a location count with no LSOA.';
COMMENT ON COLUMN crimesnap_api.trend.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.trend.force_name IS 'Force name.';
COMMENT ON COLUMN crimesnap_api.trend.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.trend.neighbourhood_id IS 'Neighbourhood; NULL for records without a location or neighbourhood.';
COMMENT ON COLUMN crimesnap_api.trend.neighbourhood_name IS 'Neighbourhood name.';
COMMENT ON COLUMN crimesnap_api.trend.lsoa_code IS 'LSOA of the snap point; NULL for records without a location.';
COMMENT ON COLUMN crimesnap_api.trend.lsoa_name IS 'LSOA name.';
COMMENT ON COLUMN crimesnap_api.trend.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.trend.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap_api.trend.crimes IS 'Number of records.';

CREATE VIEW crimesnap_api.month_totals AS
SELECT x.force, x.month, x.status, x.category, c.name AS category_name,
       x.mapped, x.no_location, x.mapped + x.no_location AS crimes
  FROM (SELECT s.force, s.month, 'street-level'::text AS status, s.category,
               pg_catalog.count(*) FILTER (WHERE s.mapped) AS mapped,
               pg_catalog.count(*) FILTER (WHERE NOT s.mapped) AS no_location
          FROM (SELECT a.force, a.month, a.category, true AS mapped FROM crimesnap_api.street_crime a
                UNION ALL
                SELECT b.force, b.month, b.category, false FROM crimesnap_api.no_location_crime b) s
         GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT t.force_id, pg_catalog.to_char(t.month, 'YYYY-MM'), 'rolled-off', t.category,
               coalesce(pg_catalog.sum(t.crimes) FILTER (WHERE t.lsoa_code IS NOT NULL), 0),
               coalesce(pg_catalog.sum(t.crimes) FILTER (WHERE t.lsoa_code IS NULL), 0)
          FROM crimesnap.trend t
         GROUP BY 1, 2, 3, 4) x
  JOIN crimesnap.publication p ON p.force_id = x.force AND pg_catalog.to_char(p.month, 'YYYY-MM') = x.month
  JOIN crimesnap.category c ON c.scheme = p.category_scheme AND c.slug = x.category;
COMMENT ON VIEW crimesnap_api.month_totals IS
  'Counts of every published month by force and category, street-level or rolled-off; records without a location count in every total.';
COMMENT ON COLUMN crimesnap_api.month_totals.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.month_totals.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.month_totals.status IS 'street-level or rolled-off.';
COMMENT ON COLUMN crimesnap_api.month_totals.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.month_totals.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap_api.month_totals.mapped IS 'Records at a snap point.';
COMMENT ON COLUMN crimesnap_api.month_totals.no_location IS 'Records without a location.';
COMMENT ON COLUMN crimesnap_api.month_totals.crimes IS 'All records of the category.';

-- ---- arguments ----

CREATE FUNCTION crimesnap_api.parse_month(month text)
RETURNS date
LANGUAGE plpgsql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF month IS NULL THEN
    RETURN NULL;
  END IF;
  IF month !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
    RAISE EXCEPTION 'month "%" is not in YYYY-MM form', month
      USING ERRCODE = 'invalid_datetime_format', HINT = 'For example ''2019-06''.';
  END IF;
  RETURN (month || '-01')::date;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.parse_month(text) IS
  'Checks a month argument in police.uk''s YYYY-MM form and returns its first day; NULL stays NULL.';

CREATE FUNCTION crimesnap_api.poly_from_text(poly text)
RETURNS geometry
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path FROM CURRENT
AS $fn$
DECLARE
  pts geometry[];
  pair text;
  lat float8;
  lng float8;
BEGIN
  -- police.uk's poly parameter: lat,lng pairs separated by colons; the ring closes itself.
  FOREACH pair IN ARRAY regexp_split_to_array(btrim(poly), '\s*:\s*') LOOP
    IF pair !~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*,\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' THEN
      RAISE EXCEPTION 'poly point "%" is not "latitude,longitude"', pair
        USING ERRCODE = 'invalid_text_representation',
              HINT = 'Give the polygon as police.uk does: 52.268,0.543:52.794,0.238:52.130,0.478';
    END IF;
    lat := split_part(pair, ',', 1)::float8;
    lng := split_part(pair, ',', 2)::float8;
    IF lat NOT BETWEEN -90 AND 90 OR lng NOT BETWEEN -180 AND 180 THEN
      RAISE EXCEPTION 'poly point "%" is not a latitude and longitude', pair
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pts := pts || ST_MakePoint(lng, lat);
  END LOOP;
  IF cardinality(pts) < 3 THEN
    RAISE EXCEPTION 'a poly needs at least 3 points, not %', coalesce(cardinality(pts), 0)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT ST_Equals(pts[1], pts[cardinality(pts)]) THEN
    pts := pts || pts[1];
  END IF;
  RETURN ST_SetSRID(ST_MakePolygon(ST_MakeLine(pts)), 4326);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.poly_from_text(text) IS
  'A polygon (EPSG:4326) from police.uk''s poly parameter, "lat,lng:lat,lng:...": for crimesnap_api.street_crimes_in_area().';

-- ---- searches ----

CREATE FUNCTION crimesnap_api.street_crimes_near(lat double precision, lng double precision,
                                                 month text DEFAULT NULL, category text DEFAULT NULL)
RETURNS SETOF crimesnap_api.street_crime
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := pg_catalog.to_char(crimesnap_api.parse_month(month), 'YYYY-MM');
  centre geometry;
  n bigint;
BEGIN
  IF lat IS NULL OR lng IS NULL OR lat NOT BETWEEN -90 AND 90 OR lng NOT BETWEEN -180 AND 180 THEN
    RAISE EXCEPTION 'lat % and lng % are not a WGS84 latitude and longitude', coalesce(lat::text, 'NULL'), coalesce(lng::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example lat => 51.5235, lng => -0.1337.';
  END IF;
  centre := ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 27700);
  -- police.uk's radius: one mile from the point, measured to the published snap points.
  RETURN QUERY
  SELECT c.* FROM crimesnap.published_street_crime c
   WHERE ST_DWithin(c.geom, centre, 1609.344)
     AND (m IS NULL OR c.month = m)
     AND (street_crimes_near.category IS NULL OR street_crimes_near.category = 'all-crime'
          OR c.category = street_crimes_near.category)
   ORDER BY c.id
   LIMIT 10001;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 10000 THEN
    RAISE EXCEPTION 'more than 10000 crimes are within a mile of %, %', lat, lng
      USING ERRCODE = 'program_limit_exceeded',
            DETAIL = 'police.uk returns at most 10,000 crimes per request.',
            HINT = 'Ask for one month or one category, or use crimesnap_api.street_crimes_in_area() with a smaller area.';
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.street_crimes_near(double precision, double precision, text, text) IS
  'Street-level crimes within one mile of a WGS84 point (police.uk''s crimes-street by lat/lng), for a month (YYYY-MM, default every month on the map) and category (slug or all-crime). Fails past 10,000 rows.';

CREATE FUNCTION crimesnap_api.street_crimes_in_area(area geometry, month text DEFAULT NULL, category text DEFAULT NULL)
RETURNS SETOF crimesnap_api.street_crime
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := pg_catalog.to_char(crimesnap_api.parse_month(month), 'YYYY-MM');
  g geometry := area;
  n bigint;
BEGIN
  IF g IS NULL OR GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
    RAISE EXCEPTION 'the area must be a polygon, not %', coalesce(lower(GeometryType(g)), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Build one with crimesnap_api.poly_from_text(''52.268,0.543:52.794,0.238:52.130,0.478'') or ST_GeomFromGeoJSON().';
  END IF;
  IF ST_NPoints(g) > 10000 THEN
    RAISE EXCEPTION 'the area has % vertices, more than 10000', ST_NPoints(g)
      USING ERRCODE = 'program_limit_exceeded', HINT = 'Simplify it first, for example with ST_Simplify().';
  END IF;
  IF NOT ST_IsValid(g) THEN
    RAISE EXCEPTION 'the area is not a valid polygon: %', ST_IsValidReason(g)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Repair it, for example with ST_MakeValid().';
  END IF;
  -- An area without an SRID is longitude and latitude, as police.uk's poly is.
  IF ST_SRID(g) = 0 THEN
    g := ST_SetSRID(g, 4326);
  END IF;
  IF ST_SRID(g) <> 27700 THEN
    g := ST_Transform(g, 27700);
  END IF;
  RETURN QUERY
  SELECT c.* FROM crimesnap.published_street_crime c
   WHERE ST_Intersects(c.geom, g)
     AND (m IS NULL OR c.month = m)
     AND (street_crimes_in_area.category IS NULL OR street_crimes_in_area.category = 'all-crime'
          OR c.category = street_crimes_in_area.category)
   ORDER BY c.id
   LIMIT 10001;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 10000 THEN
    RAISE EXCEPTION 'more than 10000 crimes are in the area'
      USING ERRCODE = 'program_limit_exceeded',
            DETAIL = 'police.uk returns at most 10,000 crimes per request.',
            HINT = 'Ask for one month or one category, or a smaller area.';
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.street_crimes_in_area(geometry, text, text) IS
  'Street-level crimes at snap points inside a polygon (any SRID; none means EPSG:4326), for a month and category as street_crimes_near(). Fails past 10,000 rows.';

CREATE FUNCTION crimesnap_api.street_crimes_at(street_id bigint, month text DEFAULT NULL)
RETURNS SETOF crimesnap_api.street_crime
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT s.* FROM crimesnap_api.street_crime s
   WHERE s.street_id = $1
     AND ($2 IS NULL OR s.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM'))
   ORDER BY s.id
$fn$;
COMMENT ON FUNCTION crimesnap_api.street_crimes_at(bigint, text) IS
  'Crimes at one snap point (police.uk''s crimes-at-location by location id), for a month or every month on the map.';

CREATE FUNCTION crimesnap_api.no_location_crimes(force text, month text, category text DEFAULT NULL)
RETURNS SETOF crimesnap_api.no_location_crime
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT n.* FROM crimesnap_api.no_location_crime n
   WHERE n.force = $1
     AND n.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM')
     AND ($3 IS NULL OR $3 = 'all-crime' OR n.category = $3)
   ORDER BY n.id
$fn$;
COMMENT ON FUNCTION crimesnap_api.no_location_crimes(text, text, text) IS
  'A force''s crimes of a month with no location (police.uk''s crimes-no-location), optionally of one category.';

CREATE FUNCTION crimesnap_api.categories(month text DEFAULT NULL)
RETURNS TABLE (url text, name text)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- The schemes the month was published under; police.uk's when nothing is published yet.
  WITH schemes AS (
    SELECT DISTINCT p.category_scheme AS scheme FROM crimesnap_api.published_month p
     WHERE p.month = coalesce(pg_catalog.to_char(crimesnap_api.parse_month($1), 'YYYY-MM'),
                              (SELECT l.latest_month FROM crimesnap_api.last_updated l))
  ), chosen AS (
    SELECT s.scheme FROM schemes s
    UNION ALL
    SELECT 'police.uk' WHERE NOT EXISTS (SELECT FROM schemes)
  )
  SELECT u.url, u.name FROM (
    SELECT 'all-crime' AS url, 'All crime' AS name, 0 AS ord
    UNION
    SELECT c.slug, c.name, 1 FROM crimesnap_api.category c JOIN chosen ch ON ch.scheme = c.scheme) u
   ORDER BY u.ord, u.name
$fn$;
COMMENT ON FUNCTION crimesnap_api.categories(text) IS
  'The categories valid for a month (police.uk''s crime-categories?date=): all-crime, then those of the scheme(s) the month was published under. Default: the newest month on the map.';

-- ---- exports ----

CREATE FUNCTION crimesnap_api.police_uk_csv(force text DEFAULT NULL, month text DEFAULT NULL)
RETURNS TABLE ("Crime ID" text, "Month" text, "Reported by" text, "Falls within" text,
               "Longitude" text, "Latitude" text, "Location" text, "LSOA code" text,
               "LSOA name" text, "Crime type" text, "Last outcome category" text, "Context" text)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- data.police.uk's street CSV: coordinates to six decimals without trailing zeros, ASB
  -- with an empty Crime ID, and crimes with no location as "No Location" with empty
  -- coordinates and LSOA, so that they count in the file's totals too.
  SELECT x.persistent_id, x.month, x.force_name, x.force_name,
         round(x.longitude::numeric, 6)::float8::text, round(x.latitude::numeric, 6)::float8::text,
         x.location, x.lsoa_code, x.lsoa_name, x.category_name, x.outcome_status, x.context
    FROM (SELECT s.id, s.persistent_id, s.month, s.force, s.force_name, s.longitude, s.latitude,
                 s.street_name AS location, s.lsoa_code, s.lsoa_name, s.category_name, s.outcome_status, s.context
            FROM crimesnap_api.street_crime s
           WHERE ($1 IS NULL OR s.force = $1)
             AND ($2 IS NULL OR s.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM'))
          UNION ALL
          SELECT n.id, n.persistent_id, n.month, n.force, n.force_name, NULL, NULL,
                 'No Location', NULL, NULL, n.category_name, n.outcome_status, n.context
            FROM crimesnap_api.no_location_crime n
           WHERE ($1 IS NULL OR n.force = $1)
             AND ($2 IS NULL OR n.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM'))) x
   ORDER BY x.month, x.force, x.id
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_csv(text, text) IS
  'data.police.uk''s street CSV, header and column order exactly, for a force and month (YYYY-MM) or everything on the map: \copy (SELECT * FROM crimesnap_api.police_uk_csv(''metropolitan'', ''2019-06'')) TO ''street.csv'' WITH (FORMAT csv, HEADER).';

CREATE VIEW crimesnap_api.police_uk_street_csv AS
SELECT * FROM crimesnap_api.police_uk_csv(NULL, NULL);
COMMENT ON VIEW crimesnap_api.police_uk_street_csv IS
  'Every street-level month as data.police.uk''s street CSV, header and column order exactly.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Crime ID" IS 'Persistent id; empty for ASB.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Month" IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Reported by" IS 'The force that provided the data.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Falls within" IS 'The force whose area it is (the same force here).';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Longitude" IS 'Snap point longitude, six decimals; empty without a location.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Latitude" IS 'Snap point latitude, six decimals; empty without a location.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Location" IS '"On or near ..." or "No Location".';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."LSOA code" IS 'LSOA of the snap point.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."LSOA name" IS 'Name of that LSOA.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Crime type" IS 'Category name.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Last outcome category" IS 'Last outcome.';
COMMENT ON COLUMN crimesnap_api.police_uk_street_csv."Context" IS 'Context.';

CREATE FUNCTION crimesnap_api.feature_collection(rows crimesnap_api.street_crime[])
RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT json_build_object(
           'type', 'FeatureCollection',
           'features', coalesce(json_agg(json_build_object(
              'type', 'Feature',
              'id', c.id,
              'geometry', json_build_object('type', 'Point',
                                            'coordinates', json_build_array(c.longitude, c.latitude)),
              'properties', json_build_object(
                 'id', c.id, 'persistent_id', c.persistent_id, 'month', c.month,
                 'category', c.category, 'force', c.force, 'street_id', c.street_id,
                 'street_name', c.street_name, 'lsoa_code', c.lsoa_code, 'lsoa_name', c.lsoa_name,
                 'outcome_status', c.outcome_status, 'context', c.context))
              ORDER BY c.id), '[]'::json))
    FROM unnest($1) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.feature_collection(crimesnap_api.street_crime[]) IS
  'Street-level rows as a GeoJSON FeatureCollection in WGS84, one Point feature per crime at its snap point.';

CREATE FUNCTION crimesnap_api.geojson(force text, month text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT crimesnap_api.feature_collection(coalesce(array_agg(c), '{}'))
    FROM crimesnap_api.street_crime c
   WHERE c.force = $1 AND c.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM')
$fn$;
COMMENT ON FUNCTION crimesnap_api.geojson(text, text) IS
  'A force''s street-level month (YYYY-MM) as a GeoJSON FeatureCollection in WGS84.';

CREATE FUNCTION crimesnap_api.geojson_area(area geometry, month text DEFAULT NULL)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT crimesnap_api.feature_collection(coalesce(array_agg(c), '{}'))
    FROM crimesnap_api.street_crimes_in_area($1, $2) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.geojson_area(geometry, text) IS
  'The street-level crimes of a month inside an area, as a GeoJSON FeatureCollection in WGS84; the 10,000-row cap of street_crimes_in_area() applies.';

-- ---- privileges for this section (90-grants.sql repeats them for the whole schema) ----
GRANT SELECT ON ALL TABLES IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;

-- ==== sql/install/90-grants.sql ====

-- Section 90: privileges.  The role matrix is docs/security.md; test/pgtap/security.sql
-- checks every cell of it.

REVOKE ALL ON ALL TABLES IN SCHEMA crimesnap FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA crimesnap FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA crimesnap_api FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap_api FROM PUBLIC;

-- Web services, analysts and publishers read the API.
GRANT SELECT ON ALL TABLES IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;

-- Analysts: published and aggregate data, reference tables, never raw records or addresses.
GRANT SELECT ON crimesnap.trend, crimesnap.publication, crimesnap.snap_point_set,
                crimesnap.snap_point, crimesnap.snap_point_change, crimesnap.category,
                crimesnap.category_fold, crimesnap.offence_code, crimesnap.force,
                crimesnap.neighbourhood, crimesnap.lsoa
  TO crimesnap_analyst;
GRANT EXECUTE ON FUNCTION crimesnap.setting(text) TO crimesnap_analyst, crimesnap_loader, crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.normalise_street_name(text),
                          crimesnap.snap_centre(geometry),
                          crimesnap.snap_centre(geometry, integer, text),
                          crimesnap.snap_centre_transfn(internal, geometry),
                          crimesnap.snap_centre_transfn(internal, geometry, integer, text),
                          crimesnap.snap_centre_combinefn(internal, internal),
                          crimesnap.snap_centre_serialfn(internal),
                          crimesnap.snap_centre_deserialfn(bytea, internal),
                          crimesnap.snap_centre_finalfn(internal),
                          crimesnap.current_snap_version(),
                          crimesnap.publishable_from(date),
                          crimesnap.latest_publishable_month(date)
  TO crimesnap_analyst, crimesnap_publisher;

-- Loaders: the input tables and the upload; registering a batch.
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.force, crimesnap.neighbourhood, crimesnap.lsoa,
                crimesnap.street, crimesnap.address, crimesnap.public_place,
                crimesnap.highway_class, crimesnap.offence_code
  TO crimesnap_loader;
GRANT SELECT, INSERT, DELETE ON crimesnap.crime_upload TO crimesnap_loader;
GRANT SELECT ON crimesnap.batch, crimesnap.reject, crimesnap.reject_reason, crimesnap.category
  TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text),
                          crimesnap.normalise_street_name(text),
                          crimesnap.screen_context(text)
  TO crimesnap_loader;

-- Publishers: the data controllers' operations, and read access to what they control.
GRANT SELECT ON ALL TABLES IN SCHEMA crimesnap TO crimesnap_publisher;
REVOKE SELECT ON crimesnap.secret FROM crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.build_snap_points(text, integer, text, boolean),
                          crimesnap.set_current_snap_points(integer),
                          crimesnap.audit_snap_points(integer),
                          crimesnap.catchments(integer),
                          crimesnap.neighbourhood_at(geometry),
                          crimesnap.check_crime_location(geometry),
                          crimesnap.snap(geometry, text),
                          crimesnap.snap_many(bigint[], geometry[], text[]),
                          crimesnap.persistent_id(text, text),
                          crimesnap.publish_month(text, date, date, text),
                          crimesnap.roll_off(date),
                          crimesnap.withdraw(text, text),
                          crimesnap.withdraw_record(bigint, text),
                          crimesnap.withdraw_force(text, text, date),
                          crimesnap.reinstate(bigint, text),
                          crimesnap.screen_context(text)
  TO crimesnap_publisher;
