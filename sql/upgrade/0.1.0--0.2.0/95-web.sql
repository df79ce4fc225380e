-- 0.1.0 -> 0.2.0, the web helper (issue 15): police.uk-compatible JSON, the street CSV as
-- police.uk writes it, maps in SVG, RFC 7946 GeoJSON, WGS84 point columns, vector tiles, road numbers
-- (street.ref) and the Ferry Terminal place label.  Carries the full definitions as they
-- stand in sql/install (10-inputs, 20-snap_points, 50-publish, 60-api, 65-police_uk, 67-map, 68-analyst).

SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

-- ---- 10-inputs: road numbers ----
ALTER TABLE crimesnap.street ADD COLUMN ref text CHECK (ref ~ '^[A-Z]+[0-9]+[A-Z]?(;\s*[A-Z]+[0-9]+[A-Z]?)*$');
COMMENT ON COLUMN crimesnap.street.name IS 'Street name as the source spells it; a segment with neither a name nor a ref never carries a point.';
COMMENT ON COLUMN crimesnap.street.ref IS 'Road number, as OSM''s ref (A1, B2045, M25): a segment with no name but a ref carries points and is published "On or near A1", as police.uk does.';

-- ---- 50-publish: labels ----
INSERT INTO crimesnap.place_class VALUES ('Ferry Terminal');
CREATE INDEX street_ref_key ON crimesnap.street (crimesnap.normalise_street_name(pg_catalog.split_part(ref, ';', 1)))
  WHERE name IS NULL;
CREATE OR REPLACE FUNCTION crimesnap.location_label_problem(label text)
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
     AND NOT EXISTS (SELECT FROM crimesnap.street s
                      WHERE s.name IS NULL
                        AND crimesnap.normalise_street_name(pg_catalog.split_part(s.ref, ';', 1)) = crimesnap.normalise_street_name($1))
     AND NOT EXISTS (SELECT FROM crimesnap.place_class c WHERE lower(c.class) = lower(btrim($1)))
      THEN 'the label is neither a loaded street name nor a class in crimesnap.place_class, so it could be a building''s name'
  END
$fn$;

-- ---- 60-api: WGS84 columns, six decimals ----
CREATE OR REPLACE VIEW crimesnap.published_street_crime AS
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
       oc.name AS outcome_status,
       c.context,
       p.geom,
       ST_SetSRID(ST_MakePoint(p.longitude, p.latitude), 4326)::geometry(Point, 4326) AS geom_wgs84
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
  JOIN crimesnap.force f ON f.force_id = c.force_id
  JOIN crimesnap.category cat ON cat.scheme = pub.category_scheme AND cat.slug = c.category
  LEFT JOIN crimesnap.outcome_category oc ON oc.slug = c.outcome
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
COMMENT ON COLUMN crimesnap.published_street_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category.';
COMMENT ON COLUMN crimesnap.published_street_crime.context IS 'Context the force approved for publication, or NULL.';
COMMENT ON COLUMN crimesnap.published_street_crime.geom IS 'The snap point, EPSG:27700.';
COMMENT ON COLUMN crimesnap.published_street_crime.geom_wgs84 IS 'The snap point in WGS84 (EPSG:4326).';
CREATE OR REPLACE VIEW crimesnap_api.street_crime WITH (security_barrier) AS
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
COMMENT ON COLUMN crimesnap_api.street_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category (crimesnap_api.outcome_category), never the force''s own words.';
COMMENT ON COLUMN crimesnap_api.street_crime.context IS 'Context the force approved for publication, or NULL.';
COMMENT ON COLUMN crimesnap_api.street_crime.geom IS 'The snap point, EPSG:27700.';
COMMENT ON COLUMN crimesnap_api.street_crime.geom_wgs84 IS 'The snap point in WGS84 (EPSG:4326), for ogr2ogr and QGIS.';
CREATE OR REPLACE VIEW crimesnap_api.snap_point_crimes AS
SELECT s.street_id, s.street_name, s.latitude, s.longitude, s.lsoa_code, s.lsoa_name,
       s.force, s.month, pg_catalog.sum(s.n)::bigint AS crimes,
       pg_catalog.jsonb_object_agg(s.category, s.n) AS by_category,
       s.geom,
       ST_SetSRID(ST_MakePoint(s.longitude, s.latitude), 4326)::geometry(Point, 4326) AS geom_wgs84
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
COMMENT ON COLUMN crimesnap_api.snap_point_crimes.geom_wgs84 IS 'The snap point in WGS84 (EPSG:4326), for ogr2ogr and QGIS.';

-- ---- 65-police_uk: new in 0.2.0 ----
-- ---- reference data police.uk publishes ----

CREATE VIEW crimesnap_api.force AS
SELECT f.force_id AS force, f.name FROM crimesnap.force f;
COMMENT ON VIEW crimesnap_api.force IS
  'Every force (police.uk''s forces): its id and name. Public: police.uk lists them.';
COMMENT ON COLUMN crimesnap_api.force.force IS 'force_id, the police.uk slug.';
COMMENT ON COLUMN crimesnap_api.force.name IS 'Display name.';

-- Not a security barrier: every row is public (police.uk publishes neighbourhood
-- boundaries), so spatial conditions may reach the boundaries' index.
CREATE VIEW crimesnap_api.neighbourhood AS
SELECT n.neighbourhood_id, n.force_id AS force, n.name, n.geom,
       ST_Transform(n.geom, 4326)::geometry(MultiPolygon, 4326) AS geom_wgs84
  FROM crimesnap.neighbourhood n;
COMMENT ON VIEW crimesnap_api.neighbourhood IS
  'Neighbourhood policing areas (police.uk''s neighbourhoods and boundaries): the finest boundary crimesnap publishes.';
COMMENT ON COLUMN crimesnap_api.neighbourhood.neighbourhood_id IS 'The force''s neighbourhood code.';
COMMENT ON COLUMN crimesnap_api.neighbourhood.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.neighbourhood.name IS 'Display name.';
COMMENT ON COLUMN crimesnap_api.neighbourhood.geom IS 'Boundary, MultiPolygon in EPSG:27700.';
COMMENT ON COLUMN crimesnap_api.neighbourhood.geom_wgs84 IS 'Boundary, MultiPolygon in WGS84 (EPSG:4326), for ogr2ogr and QGIS.';

-- ---- arguments ----

CREATE FUNCTION crimesnap_api.police_uk_month(date text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := pg_catalog.to_char(crimesnap_api.parse_month(date), 'YYYY-MM');
  on_map text;
BEGIN
  SELECT pg_catalog.string_agg(DISTINCT p.month, ', ' ORDER BY p.month) INTO on_map
    FROM crimesnap_api.published_month p WHERE p.status = 'street-level';
  IF on_map IS NULL THEN
    RAISE EXCEPTION 'no month is on the map yet'
      USING ERRCODE = 'no_data_found', HINT = 'A force publishes a month with crimesnap.publish_month().';
  END IF;
  IF m IS NULL THEN
    RETURN (SELECT l.latest_month FROM crimesnap_api.last_updated l);
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap_api.published_month p WHERE p.status = 'street-level' AND p.month = m) THEN
    RAISE EXCEPTION 'month % is not on the map', m
      USING ERRCODE = 'no_data_found', DETAIL = pg_catalog.format('The months on the map are %s.', on_map),
            HINT = 'Ask crimesnap_api.police_uk_crimes_street_dates() for them.';
  END IF;
  RETURN m;
END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_category(category text, month text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF category IS NULL OR category = 'all-crime' THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap_api.categories(month) c WHERE c.url = category) THEN
    RAISE EXCEPTION 'unknown crime category "%" for %', category, month
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Ask crimesnap_api.police_uk_crime_categories(date) for the categories of a month.';
  END IF;
  RETURN category;
END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_coordinate(value double precision)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.round($1::numeric, 6)::text
$fn$;

-- ---- one crime, as police.uk shows it ----

CREATE FUNCTION crimesnap_api.police_uk_crime(c crimesnap_api.street_crime)
RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT json_build_object(
    'category', ($1).category,
    'location_type', 'Force',
    'location', json_build_object(
       'latitude', crimesnap_api.police_uk_coordinate(($1).latitude),
       'street', json_build_object('id', ($1).street_id, 'name', ($1).street_name),
       'longitude', crimesnap_api.police_uk_coordinate(($1).longitude)),
    'context', coalesce(($1).context, ''),
    -- ASB has no persistent id and no outcome on police.uk.
    'outcome_status', CASE WHEN ($1).outcome_status IS NOT NULL AND ($1).persistent_id IS NOT NULL
                           THEN json_build_object('category', ($1).outcome_status, 'date', ($1).month) END,
    'persistent_id', coalesce(($1).persistent_id, ''),
    'id', ($1).id,
    'location_subtype', '',
    'month', ($1).month)
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_crime(c crimesnap_api.no_location_crime)
RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT json_build_object(
    'category', ($1).category,
    'location_type', NULL,
    'location', NULL,
    'context', coalesce(($1).context, ''),
    'outcome_status', CASE WHEN ($1).outcome_status IS NOT NULL AND ($1).persistent_id IS NOT NULL
                           THEN json_build_object('category', ($1).outcome_status, 'date', ($1).month) END,
    'persistent_id', coalesce(($1).persistent_id, ''),
    'id', ($1).id,
    'location_subtype', '',
    'month', ($1).month)
$fn$;

-- ---- crimes ----

CREATE FUNCTION crimesnap_api.police_uk_crimes_street(lat double precision, lng double precision,
                                                      date text DEFAULT NULL, category text DEFAULT 'all-crime')
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    FROM (SELECT crimesnap_api.police_uk_month($3) AS m) mo,
         LATERAL crimesnap_api.street_crimes_near($1, $2, mo.m, crimesnap_api.police_uk_category($4, mo.m)) c
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_crimes_street_poly(poly text, date text DEFAULT NULL,
                                                           category text DEFAULT 'all-crime')
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    FROM (SELECT crimesnap_api.police_uk_month($2) AS m) mo,
         LATERAL crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text($1), mo.m,
                                                     crimesnap_api.police_uk_category($3, mo.m)) c
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_crimes_at_location(location_id bigint, date text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(date);
  answer json;
BEGIN
  -- A location is a snap point of a set some month on the map was published with.
  IF location_id IS NULL OR NOT EXISTS (
       SELECT FROM crimesnap.snap_point p
        WHERE p.point_id = location_id
          AND p.version IN (SELECT pub.snap_version FROM crimesnap.publication pub WHERE pub.status = 'street-level')) THEN
    RAISE EXCEPTION 'unknown location id %', coalesce(location_id::text, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'Location ids are the street ids of crimesnap_api.street_crime.';
  END IF;
  SELECT coalesce(json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    INTO answer
    FROM crimesnap_api.street_crime c
   WHERE c.street_id = location_id AND c.month = m;
  RETURN answer;
END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_crimes_at_location(lat double precision, lng double precision,
                                                           date text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(date);
  centre geometry;
  nearest bigint;
BEGIN
  IF lat IS NULL OR lng IS NULL OR lat NOT BETWEEN -90::float8 AND 90::float8
     OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
    RAISE EXCEPTION 'lat % and lng % are not a WGS84 latitude and longitude', coalesce(lat::text, 'NULL'), coalesce(lng::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example lat => 51.7083, lng => -1.2646.';
  END IF;
  centre := ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 27700);
  -- police.uk: the nearest pre-defined location, whether or not it has crimes that month.
  SELECT p.point_id INTO nearest
    FROM crimesnap.snap_point p
   WHERE p.version IN (SELECT pub.snap_version FROM crimesnap.publication pub
                        WHERE pub.status = 'street-level' AND pg_catalog.to_char(pub.month, 'YYYY-MM') = m)
   ORDER BY p.geom <-> centre, p.point_id
   LIMIT 1;
  IF nearest IS NULL THEN
    RETURN '[]'::json;
  END IF;
  RETURN (SELECT coalesce(json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
            FROM crimesnap_api.street_crime c
           WHERE c.street_id = nearest AND c.month = m);
END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_crimes_no_location(category text, force text, date text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(date);
  cat text := crimesnap_api.police_uk_category(category, m);
BEGIN
  IF force IS NULL OR NOT EXISTS (SELECT FROM crimesnap_api.force f WHERE f.force = police_uk_crimes_no_location.force) THEN
    RAISE EXCEPTION 'unknown force "%"', coalesce(force, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'Ask crimesnap_api.police_uk_forces() for the force ids.';
  END IF;
  RETURN (SELECT coalesce(json_agg(crimesnap_api.police_uk_crime(n) ORDER BY n.id), '[]'::json)
            FROM crimesnap_api.no_location_crimes(force, m, cat) n);
END
$fn$;

-- ---- what is available ----

CREATE FUNCTION crimesnap_api.police_uk_crime_last_updated()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(NULL);
BEGIN
  RETURN json_build_object('date', m || '-01');
END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_crime_categories(date text DEFAULT NULL)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT json_agg(json_build_object('url', c.url, 'name', c.name))
    FROM crimesnap_api.categories($1) c
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_crimes_street_dates()
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(json_agg(json_build_object('date', d.month, 'stop-and-search', '[]'::json) ORDER BY d.month DESC), '[]'::json)
    FROM (SELECT DISTINCT p.month FROM crimesnap_api.published_month p WHERE p.status = 'street-level') d
$fn$;

-- ---- forces and neighbourhoods ----

CREATE FUNCTION crimesnap_api.police_uk_forces()
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(json_agg(json_build_object('id', f.force, 'name', f.name) ORDER BY f.force), '[]'::json)
    FROM crimesnap_api.force f
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_check_force(force text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF force IS NULL OR NOT EXISTS (SELECT FROM crimesnap_api.force f WHERE f.force = police_uk_check_force.force) THEN
    RAISE EXCEPTION 'unknown force "%"', coalesce(force, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'Ask crimesnap_api.police_uk_forces() for the force ids.';
  END IF;
  RETURN force;
END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_force(id text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT json_build_object('description', NULL, 'url', NULL, 'engagement_methods', '[]'::json,
                           'telephone', NULL, 'id', f.force, 'name', f.name)
    FROM crimesnap_api.force f
   WHERE f.force = crimesnap_api.police_uk_check_force($1)
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_neighbourhoods(force text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(json_agg(json_build_object('id', n.neighbourhood_id, 'name', n.name) ORDER BY n.neighbourhood_id), '[]'::json)
    FROM crimesnap_api.neighbourhood n
   WHERE n.force = crimesnap_api.police_uk_check_force($1)
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_neighbourhood_boundary(force text, neighbourhood text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  g geometry;
BEGIN
  SELECT n.geom_wgs84 INTO g FROM crimesnap_api.neighbourhood n
   WHERE n.force = crimesnap_api.police_uk_check_force(police_uk_neighbourhood_boundary.force)
     AND n.neighbourhood_id = neighbourhood;
  IF g IS NULL THEN
    RAISE EXCEPTION 'force "%" has no neighbourhood "%"', force, coalesce(neighbourhood, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'Ask crimesnap_api.police_uk_neighbourhoods(force) for its neighbourhoods.';
  END IF;
  -- police.uk's list of vertices: the outer ring of each polygon in turn.
  RETURN (SELECT json_agg(json_build_object('latitude', crimesnap_api.police_uk_coordinate(ST_Y(v.geom)),
                                            'longitude', crimesnap_api.police_uk_coordinate(ST_X(v.geom)))
                          ORDER BY v.part, v.n)
            FROM (SELECT d.path[1] AS part, r.path[1] AS n, r.geom
                    FROM ST_Dump(g) d,
                         LATERAL ST_DumpPoints(ST_ExteriorRing(d.geom)) r) v);
END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_locate_neighbourhood(q text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  lat float8;
  lng float8;
  found crimesnap_api.neighbourhood;
BEGIN
  IF q IS NULL OR q !~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*,\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' THEN
    RAISE EXCEPTION 'q "%" is not "latitude,longitude"', coalesce(q, 'NULL')
      USING ERRCODE = 'invalid_text_representation', HINT = 'For example q => ''51.7083,-1.2646''.';
  END IF;
  lat := pg_catalog.split_part(q, ',', 1)::float8;
  lng := pg_catalog.split_part(q, ',', 2)::float8;
  IF lat NOT BETWEEN -90::float8 AND 90::float8 OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
    RAISE EXCEPTION 'q "%" is not a WGS84 latitude and longitude', q USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT n.* INTO found FROM crimesnap_api.neighbourhood n
   WHERE ST_Intersects(n.geom, ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 27700))
   ORDER BY n.neighbourhood_id LIMIT 1;
  IF found.neighbourhood_id IS NULL THEN
    RAISE EXCEPTION 'no neighbourhood covers %', q
      USING ERRCODE = 'no_data_found', HINT = 'The point is outside every force''s area.';
  END IF;
  RETURN json_build_object('force', found.force, 'neighbourhood', found.neighbourhood_id);
END
$fn$;

-- ---- the street CSV as a file ----

CREATE FUNCTION crimesnap_api.csv_field(value text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
  SELECT CASE WHEN $1 IS NULL THEN ''
              WHEN $1 ~ '[",\r\n]' THEN '"' || pg_catalog.replace($1, '"', '""') || '"'
              ELSE $1 END
$fn$;

CREATE FUNCTION crimesnap_api.police_uk_csv_file(force text DEFAULT NULL, month text DEFAULT NULL,
                                                 crlf boolean DEFAULT true)
RETURNS text
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- police.uk's files end every line, the last one too, with CRLF.
  SELECT 'Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context'
         || e.eol
         || coalesce(pg_catalog.string_agg(
              pg_catalog.concat_ws(',', crimesnap_api.csv_field(c."Crime ID"), crimesnap_api.csv_field(c."Month"),
                crimesnap_api.csv_field(c."Reported by"), crimesnap_api.csv_field(c."Falls within"),
                crimesnap_api.csv_field(c."Longitude"), crimesnap_api.csv_field(c."Latitude"),
                crimesnap_api.csv_field(c."Location"), crimesnap_api.csv_field(c."LSOA code"),
                crimesnap_api.csv_field(c."LSOA name"), crimesnap_api.csv_field(c."Crime type"),
                crimesnap_api.csv_field(c."Last outcome category"), crimesnap_api.csv_field(c."Context")) || e.eol,
              '' ORDER BY c.ordinality), '')
    FROM (SELECT CASE WHEN coalesce($3, true) THEN E'\r\n' ELSE E'\n' END AS eol) e
    LEFT JOIN LATERAL crimesnap_api.police_uk_csv($1, $2) WITH ORDINALITY AS c ON true
   GROUP BY e.eol
$fn$;

-- ---- vector tiles ----

-- A tile counts the crimes of its snap points by category: this index answers that from the
-- index alone (once autovacuum has marked the pages all-visible after a publication).
CREATE INDEX published_crime_point_counts ON crimesnap.published_crime (snap_version, point_id)
  INCLUDE (month, force_id, category);

CREATE FUNCTION crimesnap.tile_features(z integer, x integer, y integer, month date)
RETURNS TABLE (street_id bigint, street_name text, crimes integer, by_category jsonb, geom geometry)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  -- The tile's box with a 64/4096 margin, in British National Grid, computed once so that
  -- the planner sees a value and takes the snap points' GiST index.
  area geometry := ST_Transform(ST_TileEnvelope(z, x, y, margin => 0.015625::float8), 27700);
BEGIN
  -- The rows of crimesnap.published_street_crime (street-level publications, their snap
  -- point sets and category schemes), counted per snap point and category for the points
  -- in the tile only: published_crime's (snap_version, point_id) index finds their crimes.
  -- Web Mercator straight from the published longitude and latitude.
  RETURN QUERY
  WITH pts AS MATERIALIZED (
    SELECT p.version, p.point_id, p.label, p.longitude, p.latitude, pub.force_id, pub.category_scheme
      FROM crimesnap.publication pub
      JOIN crimesnap.snap_point p ON p.version = pub.snap_version
     WHERE pub.month = tile_features.month AND pub.status = 'street-level'
       AND p.geom && area
  ), counts AS (
    SELECT pts.point_id, pc.category, pg_catalog.count(*)::integer AS n
      FROM pts
      JOIN crimesnap.published_crime pc
        ON pc.snap_version = pts.version AND pc.point_id = pts.point_id
       AND pc.force_id = pts.force_id AND pc.month = tile_features.month
      JOIN crimesnap.category cat ON cat.scheme = pts.category_scheme AND cat.slug = pc.category
     GROUP BY pts.point_id, pc.category
  )
  SELECT q.point_id, 'On or near ' || q.label, pg_catalog.sum(c.n)::integer,
         pg_catalog.jsonb_object_agg(c.category, c.n),
         ST_SetSRID(ST_MakePoint(q.longitude * 20037508.342789244::float8 / 180::float8,
                                 pg_catalog.ln(pg_catalog.tan((90::float8 + q.latitude) * pg_catalog.pi() / 360::float8))
                                   * 20037508.342789244::float8 / pg_catalog.pi()), 3857)
    FROM counts c JOIN (SELECT DISTINCT ON (d.point_id) d.* FROM pts d ORDER BY d.point_id, d.version) q
      ON q.point_id = c.point_id
   GROUP BY q.point_id, q.label, q.longitude, q.latitude;
END
$fn$;

CREATE FUNCTION crimesnap_api.tile(z integer, x integer, y integer, month text DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date;
  mvt bytea;
BEGIN
  IF z IS NULL OR x IS NULL OR y IS NULL OR z NOT BETWEEN 0 AND 24
     OR x NOT BETWEEN 0 AND (1 << z) - 1 OR y NOT BETWEEN 0 AND (1 << z) - 1 THEN
    RAISE EXCEPTION 'tile %/%/% does not exist', coalesce(z::text, 'NULL'), coalesce(x::text, 'NULL'), coalesce(y::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'z is 0 to 24; x and y are 0 to 2^z - 1.';
  END IF;
  m := coalesce(crimesnap_api.parse_month(month),
                (SELECT pg_catalog.max(p.month) FROM crimesnap.publication p WHERE p.status = 'street-level'));
  SELECT ST_AsMVT(t, 'crimes'::text, 4096, 'geom'::text, 'street_id'::text) INTO mvt
    FROM (SELECT ST_AsMVTGeom(f.geom, ST_TileEnvelope(z, x, y)::box2d, 4096, 64, true) AS geom,
                 f.street_id, f.street_name, pg_catalog.to_char(m, 'YYYY-MM') AS month, f.crimes, f.by_category
            FROM crimesnap.tile_features(z, x, y, m) f) t
   WHERE t.geom IS NOT NULL;
  RETURN coalesce(mvt, ''::bytea);
END
$fn$;

-- ---- privileges for this section (90-grants.sql repeats them for the whole schema) ----
REVOKE ALL ON FUNCTION crimesnap.tile_features(integer, integer, integer, date) FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap_api FROM PUBLIC;
GRANT SELECT ON crimesnap_api.force, crimesnap_api.neighbourhood TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;

-- ---- 67-map: new in 0.2.0 ----
CREATE FUNCTION crimesnap_api.svg_view_box(extent box2d)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.format('%s %s %s %s', ST_XMin($1)::numeric(12, 1), (-ST_YMax($1))::numeric(12, 1),
                           (ST_XMax($1) - ST_XMin($1))::numeric(12, 1), (ST_YMax($1) - ST_YMin($1))::numeric(12, 1))
$fn$;

CREATE FUNCTION crimesnap_api.map_svg(month text DEFAULT NULL, force text DEFAULT NULL, width integer DEFAULT 1000)
RETURNS xml
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(month);
  f text := CASE WHEN force IS NULL THEN NULL ELSE crimesnap_api.police_uk_check_force(force) END;
  extent box2d;
  doc xml;
BEGIN
  IF width IS NULL OR width NOT BETWEEN 100 AND 10000 THEN
    RAISE EXCEPTION 'width % is not between 100 and 10000 pixels', coalesce(width::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT ST_Expand(ST_Extent(n.geom), 50::float8) INTO extent
    FROM crimesnap.neighbourhood n WHERE f IS NULL OR n.force_id = f;
  IF extent IS NULL THEN
    RAISE EXCEPTION 'no neighbourhood is loaded' USING ERRCODE = 'no_data_found';
  END IF;
  SELECT xmlelement(name svg,
           xmlattributes('http://www.w3.org/2000/svg' AS xmlns,
                         crimesnap_api.svg_view_box(extent) AS "viewBox",
                         width AS width,
                         pg_catalog.round(width * (ST_YMax(extent) - ST_YMin(extent)) / (ST_XMax(extent) - ST_XMin(extent)))::integer AS height,
                         'crimesnap-map' AS class),
           xmlelement(name title, 'Crimes and ASB on the map, ' || m),
           xmlelement(name rect, xmlattributes(ST_XMin(extent) AS x, -ST_YMax(extent) AS y,
                                               ST_XMax(extent) - ST_XMin(extent) AS width,
                                               ST_YMax(extent) - ST_YMin(extent) AS height, '#f7f5ef' AS fill)),
           xmlelement(name g, xmlattributes('streets' AS class, '#c8c2b4' AS stroke, 'none' AS fill,
                                            '6' AS "stroke-width", 'round' AS "stroke-linecap"),
             (SELECT xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(s.geom, 0, 1) AS d))
                            ORDER BY s.street_id)
                FROM crimesnap.street s
                LEFT JOIN crimesnap.highway_class h ON h.highway = s.highway
               WHERE s.geom && ST_SetSRID(extent::geometry, 27700) AND coalesce(h.carries_points, true))),
           xmlelement(name g, xmlattributes('neighbourhoods' AS class, '#3b4a6b' AS stroke, 'none' AS fill,
                                            '5' AS "stroke-width", '24 12' AS "stroke-dasharray"),
             (SELECT xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(n.geom, 0, 1) AS d, n.neighbourhood_id AS id),
                                       xmlelement(name title, n.name || ' (' || n.neighbourhood_id || ')'))
                            ORDER BY n.neighbourhood_id)
                FROM crimesnap.neighbourhood n WHERE f IS NULL OR n.force_id = f)),
           xmlelement(name g, xmlattributes('crimes' AS class, '#d7301f' AS fill, '0.55' AS "fill-opacity",
                                            '#7f0000' AS stroke, '2' AS "stroke-width"),
             (SELECT xmlagg(xmlelement(name circle,
                              xmlattributes('crime' AS class, p.street_id AS "data-street-id", p.crimes AS "data-crimes",
                                            ST_X(p.geom)::numeric(12, 1) AS cx, (-ST_Y(p.geom))::numeric(12, 1) AS cy,
                                            crimesnap_api.map_radius(p.crimes) AS r),
                              xmlelement(name title, p.street_name || ': ' || p.crimes ||
                                         CASE WHEN p.crimes = 1 THEN ' crime or ASB' ELSE ' crimes and ASB' END))
                            ORDER BY p.crimes DESC, p.street_id)
                FROM crimesnap_api.snap_point_crimes p
               WHERE p.month = m AND (f IS NULL OR p.force = f))))
    INTO doc;
  RETURN doc;
END
$fn$;

CREATE FUNCTION crimesnap_api.map_radius(crimes bigint)
RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
  SELECT (8::float8 * pg_catalog.sqrt($1::float8))::numeric(8, 1)
$fn$;

CREATE FUNCTION crimesnap.raw_map_svg(force text, month date, width integer DEFAULT 1000)
RETURNS xml
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  extent box2d;
  v integer;
  doc xml;
BEGIN
  IF width IS NULL OR width NOT BETWEEN 100 AND 10000 THEN
    RAISE EXCEPTION 'width % is not between 100 and 10000 pixels', coalesce(width::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT p.snap_version INTO v FROM crimesnap.publication p
   WHERE p.force_id = raw_map_svg.force AND p.month = raw_map_svg.month AND p.status = 'street-level';
  IF v IS NULL THEN
    RAISE EXCEPTION 'force % has no street-level publication for %', force, pg_catalog.to_char(month, 'YYYY-MM')
      USING ERRCODE = 'no_data_found',
            HINT = 'Draw a month on the map: after roll-off a record survives only as counts.';
  END IF;
  SELECT ST_Expand(ST_Extent(n.geom), 50::float8) INTO extent
    FROM crimesnap.neighbourhood n WHERE n.force_id = raw_map_svg.force;
  SELECT xmlelement(name svg,
           xmlattributes('http://www.w3.org/2000/svg' AS xmlns,
                         crimesnap_api.svg_view_box(extent) AS "viewBox",
                         width AS width,
                         pg_catalog.round(width * (ST_YMax(extent) - ST_YMin(extent)) / (ST_XMax(extent) - ST_XMin(extent)))::integer AS height,
                         'crimesnap-raw-map' AS class),
           xmlelement(name title, 'Raw locations and where they were published: ' || force || ', ' || pg_catalog.to_char(month, 'YYYY-MM')
                                  || ' (confidential: raw locations)'),
           xmlelement(name rect, xmlattributes(ST_XMin(extent) AS x, -ST_YMax(extent) AS y,
                                               ST_XMax(extent) - ST_XMin(extent) AS width,
                                               ST_YMax(extent) - ST_YMin(extent) AS height, '#ffffff' AS fill)),
           xmlelement(name g, xmlattributes('catchments' AS class, '#9fb8d6' AS stroke, '#eef3f9' AS fill, '2' AS "stroke-width"),
             (SELECT xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(c.geom, 0, 1) AS d, c.point_id AS "data-street-id"))
                            ORDER BY c.point_id)
                FROM crimesnap.snap_point_catchment c JOIN crimesnap.snap_point sp ON sp.version = c.version AND sp.point_id = c.point_id
                JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = sp.neighbourhood_id
               WHERE c.version = v AND n.force_id = raw_map_svg.force AND NOT ST_IsEmpty(c.geom))),
           xmlelement(name g, xmlattributes('streets' AS class, '#d9d4c7' AS stroke, 'none' AS fill, '4' AS "stroke-width"),
             (SELECT xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(s.geom, 0, 1) AS d)) ORDER BY s.street_id)
                FROM crimesnap.street s WHERE s.geom && ST_SetSRID(extent::geometry, 27700))),
           xmlelement(name g, xmlattributes('neighbourhoods' AS class, '#3b4a6b' AS stroke, 'none' AS fill,
                                            '5' AS "stroke-width", '24 12' AS "stroke-dasharray"),
             (SELECT xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(n.geom, 0, 1) AS d, n.neighbourhood_id AS id))
                            ORDER BY n.neighbourhood_id)
                FROM crimesnap.neighbourhood n WHERE n.force_id = raw_map_svg.force)),
           xmlelement(name g, xmlattributes('moves' AS class, '#555555' AS stroke, '1.5' AS "stroke-width", '0.7' AS "stroke-opacity"),
             (SELECT xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(ST_MakeLine(r.geom, sp.geom), 0, 1) AS d)) ORDER BY r.crime_id)
                FROM crimesnap.published_crime pc
                JOIN crimesnap.raw_crime r ON r.crime_id = pc.crime_id
                JOIN crimesnap.snap_point sp ON sp.version = pc.snap_version AND sp.point_id = pc.point_id
               WHERE pc.force_id = raw_map_svg.force AND pc.month = raw_map_svg.month AND r.geom IS NOT NULL)),
           xmlelement(name g, xmlattributes('raw' AS class, '#000000' AS fill),
             (SELECT xmlagg(xmlelement(name circle, xmlattributes('raw' AS class, ST_X(r.geom)::numeric(12, 1) AS cx,
                                                                  (-ST_Y(r.geom))::numeric(12, 1) AS cy, 4 AS r)) ORDER BY r.crime_id)
                FROM crimesnap.raw_crime r
               WHERE r.force_id = raw_map_svg.force AND r.month = raw_map_svg.month AND r.geom IS NOT NULL
                 AND r.superseded_by_batch IS NULL)),
           xmlelement(name g, xmlattributes('published' AS class, '#d7301f' AS fill, '0.8' AS "fill-opacity", '#7f0000' AS stroke),
             (SELECT xmlagg(xmlelement(name circle, xmlattributes('published' AS class, sp.point_id AS "data-street-id",
                                                                  ST_X(sp.geom)::numeric(12, 1) AS cx, (-ST_Y(sp.geom))::numeric(12, 1) AS cy,
                                                                  crimesnap_api.map_radius(x.n) AS r),
                                       xmlelement(name title, 'On or near ' || sp.label || ': ' || x.n))
                            ORDER BY sp.point_id)
                FROM (SELECT pc.point_id, pg_catalog.count(*) AS n FROM crimesnap.published_crime pc
                       WHERE pc.force_id = raw_map_svg.force AND pc.month = raw_map_svg.month AND pc.point_id IS NOT NULL
                       GROUP BY pc.point_id) x
                JOIN crimesnap.snap_point sp ON sp.version = v AND sp.point_id = x.point_id)))
    INTO doc;
  RETURN doc;
END
$fn$;

-- ---- privileges for this section (90-grants.sql repeats the crimesnap_api ones) ----
REVOKE ALL ON FUNCTION crimesnap.raw_map_svg(text, date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap.raw_map_svg(text, date, integer) TO crimesnap_publisher;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap_api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;

-- ---- 68-analyst: new in 0.2.0 ----
CREATE VIEW crimesnap.lsoa_cover AS
SELECT p.version, p.lsoa_code, pg_catalog.sum(p.address_count)::bigint AS addresses,
       s.min_addresses AS k,
       pg_catalog.sum(p.address_count) = 0 OR pg_catalog.sum(p.address_count) >= s.min_addresses AS publishable
  FROM crimesnap.snap_point p
  JOIN crimesnap.snap_point_set s ON s.version = p.version
 WHERE p.lsoa_code IS NOT NULL
 GROUP BY p.version, p.lsoa_code, s.min_addresses;
COMMENT ON VIEW crimesnap.lsoa_cover IS
  'Internal: for each snap point set and LSOA, the addresses its points serve between them, and whether counts by that LSOA may be published (k or more, or none).';
COMMENT ON COLUMN crimesnap.lsoa_cover.version IS 'Snap point set.';
COMMENT ON COLUMN crimesnap.lsoa_cover.lsoa_code IS 'LSOA.';
COMMENT ON COLUMN crimesnap.lsoa_cover.addresses IS 'Addresses served by the set''s points in the LSOA (never published).';
COMMENT ON COLUMN crimesnap.lsoa_cover.k IS 'The set''s min_addresses.';
COMMENT ON COLUMN crimesnap.lsoa_cover.publishable IS 'true when addresses is 0 or at least k.';

CREATE VIEW crimesnap_api.lsoa_month_counts WITH (security_barrier) AS
SELECT x.lsoa_code, l.name AS lsoa_name, x.force, x.month, x.status, x.category, c.name AS category_name,
       x.crimes, l.geom,
       ST_Transform(l.geom, 4326)::geometry(MultiPolygon, 4326) AS geom_wgs84
  FROM (SELECT pc.force_id AS force, pg_catalog.to_char(pc.month, 'YYYY-MM') AS month, 'street-level'::text AS status,
               sp.lsoa_code, pc.category, pg_catalog.count(*)::bigint AS crimes
          FROM crimesnap.published_crime pc
          JOIN crimesnap.publication pub ON pub.force_id = pc.force_id AND pub.month = pc.month AND pub.status = 'street-level'
          JOIN crimesnap.snap_point sp ON sp.version = pc.snap_version AND sp.point_id = pc.point_id
          JOIN crimesnap.lsoa_cover lc ON lc.version = pc.snap_version AND lc.lsoa_code = sp.lsoa_code
         WHERE lc.publishable
         GROUP BY 1, 2, 3, 4, 5
        UNION ALL
        SELECT t.force_id, pg_catalog.to_char(t.month, 'YYYY-MM'), 'rolled-off', t.lsoa_code, t.category,
               pg_catalog.sum(t.crimes)::bigint
          FROM crimesnap.trend t
          JOIN crimesnap.publication pub ON pub.force_id = t.force_id AND pub.month = t.month AND pub.status = 'rolled-off'
          JOIN crimesnap.lsoa_cover lc ON lc.version = pub.snap_version AND lc.lsoa_code = t.lsoa_code
         WHERE t.lsoa_code IS NOT NULL AND lc.publishable
         GROUP BY 1, 2, 3, 4, 5) x
  JOIN crimesnap.lsoa l ON l.lsoa_code = x.lsoa_code
  JOIN crimesnap.publication p ON p.force_id = x.force AND pg_catalog.to_char(p.month, 'YYYY-MM') = x.month
  JOIN crimesnap.category c ON c.scheme = p.category_scheme AND c.slug = x.category;
COMMENT ON VIEW crimesnap_api.lsoa_month_counts IS
  'Crimes and ASB by LSOA (of the snap point), force, month and category, for every published month, on the map or rolled off, with the LSOA''s boundary: for choropleth maps. Only LSOAs whose snap points serve k or more addresses between them, or none.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.lsoa_code IS 'LSOA code.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.lsoa_name IS 'LSOA name.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.status IS 'street-level or rolled-off.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.category_name IS 'Category name under the month''s scheme.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.crimes IS 'Records at snap points in the LSOA.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.geom IS 'LSOA boundary, MultiPolygon in EPSG:27700.';
COMMENT ON COLUMN crimesnap_api.lsoa_month_counts.geom_wgs84 IS 'LSOA boundary in WGS84 (EPSG:4326), for ogr2ogr and QGIS.';

CREATE VIEW crimesnap_api.lsoa_trend WITH (security_barrier) AS
WITH cells AS (
  -- every LSOA, force and category with a count, crossed with every month the force published:
  -- a month without crimes there counts 0.
  SELECT DISTINCT c.lsoa_code, c.force, c.category FROM crimesnap_api.lsoa_month_counts c
), months AS (
  SELECT p.force_id AS force, p.month FROM crimesnap.publication p
), grid AS (
  SELECT g.lsoa_code, g.force, g.category, m.month,
         coalesce((SELECT c.crimes FROM crimesnap_api.lsoa_month_counts c
                    WHERE c.lsoa_code = g.lsoa_code AND c.force = g.force AND c.category = g.category
                      AND c.month = pg_catalog.to_char(m.month, 'YYYY-MM')), 0) AS crimes
    FROM cells g JOIN months m ON m.force = g.force
)
SELECT g.lsoa_code, g.force, pg_catalog.to_char(g.month, 'YYYY-MM') AS month, g.category, g.crimes,
       y.crimes AS crimes_a_year_earlier,
       (SELECT pg_catalog.round(pg_catalog.avg(h.crimes), 2) FROM grid h
         WHERE h.lsoa_code = g.lsoa_code AND h.force = g.force AND h.category = g.category
           AND h.month >= (g.month - interval '12 months') AND h.month < g.month) AS average_12_months,
       (SELECT pg_catalog.count(*) FROM grid h
         WHERE h.lsoa_code = g.lsoa_code AND h.force = g.force AND h.category = g.category
           AND h.month >= (g.month - interval '12 months') AND h.month < g.month) AS months_in_average
  FROM grid g
  LEFT JOIN grid y ON y.lsoa_code = g.lsoa_code AND y.force = g.force AND y.category = g.category
                  AND y.month = (g.month - interval '12 months')::date;
COMMENT ON VIEW crimesnap_api.lsoa_trend IS
  'Each LSOA, force, category and published month against the same month a year earlier and the average of the 12 months before it (months published with no crimes there count 0; NULL and 0 months when none was published). Same LSOAs as lsoa_month_counts.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.lsoa_code IS 'LSOA code.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.crimes IS 'Crimes that month (0 when the month was published with none there).';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.crimes_a_year_earlier IS 'Crimes in the same month a year earlier; NULL when that month was not published.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.average_12_months IS 'Average per month over the published months among the 12 before; NULL when none.';
COMMENT ON COLUMN crimesnap_api.lsoa_trend.months_in_average IS 'How many of those 12 months were published (12 for a full year).';

GRANT SELECT ON crimesnap_api.lsoa_month_counts, crimesnap_api.lsoa_trend TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT SELECT ON crimesnap.lsoa_cover TO crimesnap_analyst, crimesnap_publisher;
