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

CREATE VIEW crimesnap.published_no_location_crime AS
SELECT c.id,
       c.persistent_id,
       pg_catalog.to_char(c.month, 'YYYY-MM') AS month,
       c.category,
       cat.name AS category_name,
       c.force_id AS force,
       f.name AS force_name,
       oc.name AS outcome_status,
       c.context
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.force f ON f.force_id = c.force_id
  JOIN crimesnap.category cat ON cat.scheme = pub.category_scheme AND cat.slug = c.category
  LEFT JOIN crimesnap.outcome_category oc ON oc.slug = c.outcome
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
COMMENT ON COLUMN crimesnap.published_no_location_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.context IS 'Context the force approved for publication, or NULL.';

-- ---- the views ----

CREATE VIEW crimesnap_api.street_crime WITH (security_barrier) AS
SELECT * FROM crimesnap.published_street_crime;
COMMENT ON VIEW crimesnap_api.street_crime IS
  'Street-level crimes and ASB of the months on the map (police.uk''s crimes-street), at their snap points. geom is the snap point in EPSG:27700.';
COMMENT ON COLUMN crimesnap_api.street_crime.persistent_id IS '64 hex characters, stable across months and re-publications; NULL for ASB.';
COMMENT ON COLUMN crimesnap_api.street_crime.category IS 'Category slug, for example violent-crime.';
COMMENT ON COLUMN crimesnap_api.street_crime.category_name IS 'Category name, for example Violence and sexual offences.';
COMMENT ON COLUMN crimesnap_api.street_crime.force IS 'force_id of the force that reported it.';
COMMENT ON COLUMN crimesnap_api.street_crime.force_name IS 'Name of that force.';
COMMENT ON COLUMN crimesnap_api.street_crime.neighbourhood_id IS 'Neighbourhood policing area of the snap point.';
COMMENT ON COLUMN crimesnap_api.street_crime.street_id IS 'Snap point id (police.uk''s street id); see crimesnap_api.street_crimes_at().';
COMMENT ON COLUMN crimesnap_api.street_crime.street_name IS '"On or near <street name>" or "On or near <class of place>".';
COMMENT ON COLUMN crimesnap_api.street_crime.lsoa_code IS 'LSOA the snap point lies in.';
COMMENT ON COLUMN crimesnap_api.street_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category (crimesnap_api.outcome_category), never the force''s own words.';
COMMENT ON COLUMN crimesnap_api.street_crime.geom_wgs84 IS 'The snap point in WGS84 (EPSG:4326), for ogr2ogr and QGIS.';

CREATE VIEW crimesnap_api.no_location_crime WITH (security_barrier) AS
SELECT * FROM crimesnap.published_no_location_crime;
COMMENT ON VIEW crimesnap_api.no_location_crime IS
  'Crimes and ASB of the months on the map published without a location (police.uk''s crimes-no-location), by force and month. They count in every total.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.force_name IS 'Name of the force.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category (crimesnap_api.outcome_category), never the force''s own words.';

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
    RAISE EXCEPTION 'month "%" is not in YYYY-MM form', pg_catalog.left(month, 100)
      USING ERRCODE = 'invalid_datetime_format', HINT = 'For example ''2019-06''.';
  END IF;
  IF pg_catalog.left(month, 4) = '0000' THEN
    RAISE EXCEPTION 'month "%" is not a month: there is no year 0000', month
      USING ERRCODE = 'datetime_field_overflow', HINT = 'Years start at 0001; police.uk''s data starts in 2010-12, for example ''2019-06''.';
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
  FOREACH pair IN ARRAY pg_catalog.regexp_split_to_array(pg_catalog.btrim(poly), '\s*:\s*') LOOP
    IF pair !~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*,\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' THEN
      RAISE EXCEPTION 'poly point "%" is not "latitude,longitude"', pair
        USING ERRCODE = 'invalid_text_representation',
              HINT = 'Give the polygon as police.uk does: 52.268,0.543:52.794,0.238:52.130,0.478';
    END IF;
    lat := pg_catalog.split_part(pair, ',', 1)::float8;
    lng := pg_catalog.split_part(pair, ',', 2)::float8;
    IF lat NOT BETWEEN -90::float8 AND 90::float8 OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
      RAISE EXCEPTION 'poly point "%" is not a latitude and longitude', pair
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pts := pg_catalog.array_append(pts, ST_MakePoint(lng, lat));
  END LOOP;
  IF pg_catalog.cardinality(pts) < 3 THEN
    RAISE EXCEPTION 'a poly needs at least 3 points, not %', coalesce(pg_catalog.cardinality(pts), 0)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT ST_Equals(pts[1], pts[pg_catalog.cardinality(pts)]) THEN
    pts := pg_catalog.array_append(pts, pts[1]);
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
  IF lat IS NULL OR lng IS NULL OR lat NOT BETWEEN -90::float8 AND 90::float8 OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
    RAISE EXCEPTION 'lat % and lng % are not a WGS84 latitude and longitude', coalesce(lat::text, 'NULL'), coalesce(lng::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example lat => 51.5235, lng => -0.1337.';
  END IF;
  centre := ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 27700);
  -- police.uk's radius: one mile from the point, measured to the published snap points.
  RETURN QUERY
  SELECT c.* FROM crimesnap.published_street_crime c
   WHERE ST_DWithin(c.geom, centre, 1609.344::float8)
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
    RAISE EXCEPTION 'the area must be a polygon, not %', coalesce(pg_catalog.lower(GeometryType(g)), 'NULL')
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
  -- data.police.uk's street CSV: coordinates with exactly six decimals (-0.106220), ASB
  -- with an empty Crime ID, and crimes with no location as "No Location" with empty
  -- coordinates and LSOA, so that they count in the file's totals too.
  SELECT x.persistent_id, x.month, x.force_name, x.force_name,
         pg_catalog.round(x.longitude::numeric, 6)::text, pg_catalog.round(x.latitude::numeric, 6)::text,
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
  SELECT pg_catalog.json_build_object(
           'type', 'FeatureCollection',
           'features', coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(
              'type', 'Feature',
              'id', c.id,
              'geometry', pg_catalog.json_build_object('type', 'Point',
                                            'coordinates', pg_catalog.json_build_array(pg_catalog.round(c.longitude::numeric, 6),
                                                                            pg_catalog.round(c.latitude::numeric, 6))),
              'properties', pg_catalog.json_build_object(
                 'id', c.id, 'persistent_id', c.persistent_id, 'month', c.month,
                 'category', c.category, 'force', c.force, 'street_id', c.street_id,
                 'street_name', c.street_name, 'lsoa_code', c.lsoa_code, 'lsoa_name', c.lsoa_name,
                 'outcome_status', c.outcome_status, 'context', c.context))
              ORDER BY c.id), '[]'::json))
    FROM pg_catalog.unnest($1) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.feature_collection(crimesnap_api.street_crime[]) IS
  'Street-level rows as a GeoJSON FeatureCollection as RFC 7946 says: WGS84 longitude and latitude rounded to six decimals, one Point feature per crime at its snap point.';

CREATE FUNCTION crimesnap_api.geojson(force text, month text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT crimesnap_api.feature_collection(coalesce(pg_catalog.array_agg(c), '{}'))
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
  SELECT crimesnap_api.feature_collection(coalesce(pg_catalog.array_agg(c), '{}'))
    FROM crimesnap_api.street_crimes_in_area($1, $2) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.geojson_area(geometry, text) IS
  'The street-level crimes of a month inside an area, as a GeoJSON FeatureCollection in WGS84; the 10,000-row cap of street_crimes_in_area() applies.';

-- ---- privileges for this section (90-grants.sql repeats them for the whole schema) ----
GRANT SELECT ON ALL TABLES IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
