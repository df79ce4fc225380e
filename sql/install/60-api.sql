-- Section 60: the web contract.  Tests: test/sql/api.sql, test/pgtap/api.sql.
-- Guide: docs/web-developer-guide.md.
--
-- Everything here reads the same published rows under the same rules, so the map, the API
-- and every export get the same safeguards.  The views are security barriers and name no
-- raw column: no exact location, no address, no reference number.

CREATE VIEW crimesnap_api.street_crime WITH (security_barrier) AS
SELECT c.id,
       c.persistent_id,
       pg_catalog.to_char(c.month, 'YYYY-MM') AS month,
       c.category,
       cat.name AS category_name,
       c.force_id AS force,
       f.name AS force_name,
       c.neighbourhood_id,
       p.point_id AS street_id,
       'On or near ' || p.label AS location,
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
COMMENT ON VIEW crimesnap_api.street_crime IS
  'Street-level crimes and ASB of the months on the map, at their snap points. geom is the snap point in EPSG:27700.';
COMMENT ON COLUMN crimesnap_api.street_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap_api.street_crime.persistent_id IS '64 hex characters, stable across months; empty for ASB.';
COMMENT ON COLUMN crimesnap_api.street_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.street_crime.category IS 'Category slug, for example violent-crime.';
COMMENT ON COLUMN crimesnap_api.street_crime.category_name IS 'Category name, for example Violence and sexual offences.';
COMMENT ON COLUMN crimesnap_api.street_crime.force IS 'force_id of the force that reported it.';
COMMENT ON COLUMN crimesnap_api.street_crime.force_name IS 'Name of that force.';
COMMENT ON COLUMN crimesnap_api.street_crime.neighbourhood_id IS 'Neighbourhood policing area.';
COMMENT ON COLUMN crimesnap_api.street_crime.street_id IS 'Snap point id.';
COMMENT ON COLUMN crimesnap_api.street_crime.location IS '"On or near <street or place>".';
COMMENT ON COLUMN crimesnap_api.street_crime.latitude IS 'WGS84 latitude of the snap point.';
COMMENT ON COLUMN crimesnap_api.street_crime.longitude IS 'WGS84 longitude of the snap point.';
COMMENT ON COLUMN crimesnap_api.street_crime.lsoa_code IS 'LSOA of the snap point.';
COMMENT ON COLUMN crimesnap_api.street_crime.lsoa_name IS 'Name of that LSOA.';
COMMENT ON COLUMN crimesnap_api.street_crime.outcome_status IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap_api.street_crime.context IS 'Context supplied by the force.';
COMMENT ON COLUMN crimesnap_api.street_crime.geom IS 'The snap point, EPSG:27700.';

CREATE VIEW crimesnap_api.no_location_crime WITH (security_barrier) AS
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
COMMENT ON VIEW crimesnap_api.no_location_crime IS
  'Crimes and ASB of the months on the map published without a location, by force and month. They count in every total.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.persistent_id IS '64 hex characters; empty for ASB.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.force_name IS 'Name of the force.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.outcome_status IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.context IS 'Context supplied by the force.';

CREATE VIEW crimesnap_api.last_updated AS
SELECT pg_catalog.max(p.published_at)::date AS date
  FROM crimesnap.publication p;
COMMENT ON VIEW crimesnap_api.last_updated IS 'The date the data was last updated, as police.uk''s crime-last-updated.';
COMMENT ON COLUMN crimesnap_api.last_updated.date IS 'Date of the latest publication.';

CREATE FUNCTION crimesnap_api.geojson(force text, month text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT json_build_object(
           'type', 'FeatureCollection',
           'features', coalesce(json_agg(json_build_object(
              'type', 'Feature',
              'geometry', json_build_object('type', 'Point',
                                            'coordinates', json_build_array(c.longitude, c.latitude)),
              'properties', json_build_object(
                 'id', c.id, 'persistent_id', c.persistent_id, 'month', c.month,
                 'category', c.category, 'location', c.location, 'street_id', c.street_id,
                 'lsoa_code', c.lsoa_code, 'lsoa_name', c.lsoa_name,
                 'outcome_status', c.outcome_status, 'context', c.context))
              ORDER BY c.id), '[]'::json))
    FROM crimesnap_api.street_crime c
   WHERE c.force = $1 AND c.month = $2
$fn$;
COMMENT ON FUNCTION crimesnap_api.geojson(text, text) IS
  'A force''s street-level month (YYYY-MM) as a GeoJSON FeatureCollection in WGS84.';
