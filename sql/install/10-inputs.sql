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
    IF ST_XMin(g) < -100000::float8 OR ST_XMax(g) > 800000::float8
       OR ST_YMin(g) < -100000::float8 OR ST_YMax(g) > 1400000::float8
       OR (ST_XMax(g) BETWEEN -180::float8 AND 180::float8 AND ST_YMax(g) BETWEEN -90::float8 AND 90::float8) THEN
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
  force_id         text NOT NULL REFERENCES crimesnap.force,
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

CREATE TABLE crimesnap.street (
  street_id bigint PRIMARY KEY,
  name      text,
  highway   text,
  geom      geometry NOT NULL
    CHECK (ST_SRID(geom) = 27700
           AND GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')),
  ref       text CHECK (ref ~ '^[A-Z]+[0-9]+[A-Z]?(;\s*[A-Z]+[0-9]+[A-Z]?)*$')
);
CREATE INDEX ON crimesnap.street USING gist (geom);
CREATE TRIGGER normalise_geometry BEFORE INSERT OR UPDATE OF geom ON crimesnap.street
  FOR EACH ROW EXECUTE FUNCTION crimesnap.normalise_input_geometry('LINE');
COMMENT ON TABLE crimesnap.street IS
  'Street centrelines, one row per segment or way (for example OpenStreetMap highway ways). Segments with the same name in one neighbourhood form one street.';
COMMENT ON COLUMN crimesnap.street.street_id IS 'Source id of the segment, for example the OSM way id.';
COMMENT ON COLUMN crimesnap.street.name IS 'Street name as the source spells it; a segment with neither a name nor a ref never carries a point.';
COMMENT ON COLUMN crimesnap.street.highway IS 'Road class; see crimesnap.highway_class.';
COMMENT ON COLUMN crimesnap.street.geom IS 'Centreline, LineString or MultiLineString in EPSG:27700.';
COMMENT ON COLUMN crimesnap.street.ref IS 'Road number, as OSM''s ref (A1, B2045, M25): a segment with no name but a ref carries points and is published "On or near A1", as police.uk does.';
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
