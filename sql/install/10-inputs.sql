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
    CHECK (ST_SRID(geom) = 27700 AND GeometryType(geom) = 'POINT'),
  uprn        bigint,
  house       text
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
COMMENT ON COLUMN crimesnap.address.uprn IS 'Unique Property Reference Number, when the source has one: rows with the same UPRN are one postal address.';
COMMENT ON COLUMN crimesnap.address.house IS 'House number or name, with any flat (''Flat 2, 14''), when known: with street_name and postcode it identifies a postal address that has no UPRN.';
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

-- ---- one postal address, however many rows hold it (docs/inputs.md) ----

CREATE FUNCTION crimesnap.normalise_address_part(part text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT nullif(pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.lower($1), '[[:space:][:punct:]]+', ' ', 'g')), '')
$fn$;
COMMENT ON FUNCTION crimesnap.normalise_address_part(text) IS
  'Matching form of a house, street name or postcode: trimmed, case-folded, every run of spaces and punctuation made one space. NULL when nothing is left.';

CREATE FUNCTION crimesnap.address_key(address_id bigint, uprn bigint, house text, street_name text, postcode text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- A UPRN identifies the address; without one, house, street and postcode do, all three
  -- present.  Anything less identifies only the row, so a NULL never matches, and the
  -- prefixes keep a row with a UPRN from ever matching one without.
  SELECT CASE
    WHEN $2 IS NOT NULL THEN 'uprn:' || $2::text
    WHEN crimesnap.normalise_address_part($3) IS NOT NULL
     AND crimesnap.normalise_address_part($4) IS NOT NULL
     AND crimesnap.normalise_address_part($5) IS NOT NULL
      THEN 'addr:' || crimesnap.normalise_address_part($3) || '|' || crimesnap.normalise_address_part($4)
                   || '|' || pg_catalog.replace(crimesnap.normalise_address_part($5), ' ', '')
    ELSE 'row:' || $1::text
  END
$fn$;
COMMENT ON FUNCTION crimesnap.address_key(bigint, bigint, text, text, text) IS
  'Identity of the postal address a crimesnap.address row holds (address_id, uprn, house, street_name, postcode): equal keys are one address. Same non-NULL UPRN; or, both without UPRN, the same normalised house, street name and postcode (spaces ignored); otherwise the row alone.';

CREATE INDEX address_key ON crimesnap.address
  (crimesnap.address_key(address_id, uprn, house, street_name, postcode));

CREATE VIEW crimesnap.postal_address AS
SELECT DISTINCT ON (k.address_key)
       a.address_id, k.address_key, a.uprn, a.house, a.street_name, a.postcode, a.geom,
       pg_catalog.count(*) OVER (PARTITION BY k.address_key) AS address_rows
  FROM crimesnap.address a
  CROSS JOIN LATERAL (SELECT crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode) AS address_key) k
 ORDER BY k.address_key, a.address_id;
COMMENT ON VIEW crimesnap.postal_address IS
  'One row per distinct postal address (crimesnap.address_key): the row with the lowest address_id stands for it. Catchments, thresholds, audits and reports count these, never crimesnap.address rows.';
COMMENT ON COLUMN crimesnap.postal_address.address_id IS 'The representative row.';
COMMENT ON COLUMN crimesnap.postal_address.address_key IS 'The postal address''s identity.';
COMMENT ON COLUMN crimesnap.postal_address.uprn IS 'UPRN of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.house IS 'House of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.street_name IS 'Street name of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.postcode IS 'Postcode of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.geom IS 'Location of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.address_rows IS 'How many crimesnap.address rows hold this address (more than 1: duplicates).';

CREATE VIEW crimesnap.address_duplicate AS
SELECT a.address_id, p.address_id AS same_as, 'duplicate'::text AS kind,
       ST_Distance(a.geom, p.geom) AS distance
  FROM crimesnap.address a
  JOIN crimesnap.postal_address p
    ON p.address_key = crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
   AND p.address_id <> a.address_id
UNION ALL
SELECT a.address_id, b.address_id, 'near duplicate', ST_Distance(a.geom, b.geom)
  FROM crimesnap.address a
  JOIN crimesnap.address b
    ON b.address_id < a.address_id AND ST_DWithin(a.geom, b.geom, 10::float8)
 WHERE crimesnap.normalise_address_part(a.house) = crimesnap.normalise_address_part(b.house)
   AND crimesnap.normalise_street_name(a.street_name) = crimesnap.normalise_street_name(b.street_name)
   AND crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
       <> crimesnap.address_key(b.address_id, b.uprn, b.house, b.street_name, b.postcode);
COMMENT ON VIEW crimesnap.address_duplicate IS
  'Address rows a DBA should look at: duplicates (the same postal address as a lower address_id, counted once) and near-duplicates (the same house and street within 10 m but not provably one address, for example one row with a UPRN and one without: counted twice until fixed).';
COMMENT ON COLUMN crimesnap.address_duplicate.address_id IS 'The row.';
COMMENT ON COLUMN crimesnap.address_duplicate.same_as IS 'The row it duplicates: the representative of its postal address, or for a near-duplicate the other row.';
COMMENT ON COLUMN crimesnap.address_duplicate.kind IS 'duplicate or near duplicate.';
COMMENT ON COLUMN crimesnap.address_duplicate.distance IS 'Metres between the two rows.';

CREATE FUNCTION crimesnap.report_address_duplicates()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  loaded bigint;
  dup bigint;
  near bigint;
BEGIN
  SELECT pg_catalog.count(*) INTO loaded FROM new_rows;
  SELECT pg_catalog.count(*) INTO dup FROM new_rows n
   WHERE EXISTS (SELECT FROM crimesnap.address a
                  WHERE crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
                        = crimesnap.address_key(n.address_id, n.uprn, n.house, n.street_name, n.postcode)
                    AND a.address_id <> n.address_id);
  SELECT pg_catalog.count(*) INTO near FROM new_rows n
   WHERE EXISTS (SELECT FROM crimesnap.address a
                  WHERE ST_DWithin(a.geom, n.geom, 10::float8) AND a.address_id <> n.address_id
                    AND crimesnap.normalise_address_part(a.house) = crimesnap.normalise_address_part(n.house)
                    AND crimesnap.normalise_street_name(a.street_name) = crimesnap.normalise_street_name(n.street_name)
                    AND crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
                        <> crimesnap.address_key(n.address_id, n.uprn, n.house, n.street_name, n.postcode));
  IF dup > 0 OR near > 0 THEN
    RAISE NOTICE '% of % address rows loaded duplicate another row: % hold a postal address already loaded (counted once), % are near-duplicates (same house and street within 10 m, counted twice)',
                 dup + near, loaded, dup, near
      USING HINT = 'See SELECT * FROM crimesnap.address_duplicate; give both rows the same uprn, or the same house, street_name and postcode, or delete one.';
  END IF;
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION crimesnap.report_address_duplicates() IS
  'Statement trigger on crimesnap.address: after a load, says how many loaded rows duplicate a postal address already there, and how many are near-duplicates.';

CREATE TRIGGER report_duplicates AFTER INSERT ON crimesnap.address
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.report_address_duplicates();
COMMENT ON TRIGGER report_duplicates ON crimesnap.address IS
  'Reports duplicate and near-duplicate address rows after every load (a NOTICE; see crimesnap.address_duplicate).';

GRANT SELECT ON crimesnap.postal_address, crimesnap.address_duplicate TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.normalise_address_part(text),
                          crimesnap.address_key(bigint, bigint, text, text, text)
  TO crimesnap_loader, crimesnap_publisher;
