-- Section 65: data.police.uk's API, straight from SQL, and vector tiles.
-- Tests: test/pgtap/police_uk.sql.  Reference: docs/api.md ("police.uk-compatible JSON").
--
-- Each police_uk_* function returns json in the exact shape data.police.uk answers the
-- same request with, so that an HTTP layer passes it through without reshaping.  They
-- read only what crimesnap_api shows (the same rows as the map, the CSV and the GeoJSON):
-- the invoker functions read crimesnap_api views; the few that need a spatial index
-- (nearest location, the tiles) are SECURITY DEFINER and read the internal views behind
-- crimesnap_api.street_crime, with a fixed search_path and their arguments checked.
--
-- Errors are SQLSTATEs an HTTP layer maps without parsing messages:
--   P0002 (no_data_found)           unknown force, neighbourhood, location id, persistent id,
--                                   or a month that is not on the map          -> 404
--   22023 (invalid_parameter_value) unknown category, coordinates out of range,
--                                   bad polygon or tile address                 -> 400
--   22007 (invalid_datetime_format) date not YYYY-MM                            -> 400
--   22P02 (invalid_text_representation) poly or q not "lat,lng"                -> 400
--   54000 (program_limit_exceeded)  more than 10,000 crimes (police.uk: 503)   -> 503

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
COMMENT ON FUNCTION crimesnap_api.police_uk_month(text) IS
  'The month a police.uk request asks for: its YYYY-MM date when that month is on the map, the newest month on the map when NULL; raises P0002 for a month not on the map, 22007 for a malformed one.';

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
COMMENT ON FUNCTION crimesnap_api.police_uk_category(text, text) IS
  'A police.uk category argument checked against the month''s categories: NULL for all-crime (or NULL), the slug otherwise; raises 22023 for a category the month does not have.';

CREATE FUNCTION crimesnap_api.police_uk_coordinate(value double precision)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
  SELECT pg_catalog.round($1::pg_catalog.numeric, 6)::pg_catalog.text
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_coordinate(double precision) IS
  'A latitude or longitude as police.uk writes it: text with exactly six decimals, trailing zeros kept (-0.106220).';

-- ---- one crime, as police.uk shows it ----
-- police_uk_coordinate() (above) and police_uk_crime() run once per crime of every answer,
-- so they are written to be inlined into the query that calls them: one SELECT of one
-- expression, invoker's rights, no SET clause (a function with one is never inlined, and
-- costs a GUC save and restore a row), and no stronger volatility than its parts
-- (json_build_object is STABLE: an IMMUTABLE wrapper of it is not inlined).  Every name in
-- them is schema-qualified, types included, so they mean the same under any search_path; they are the only
-- SQL functions here without a pinned one (test/sql/00_install.sql lists them).

CREATE FUNCTION crimesnap_api.police_uk_crime(c crimesnap_api.street_crime)
RETURNS json
LANGUAGE sql STABLE
AS $fn$
  SELECT pg_catalog.json_build_object(
    'category', ($1).category,
    'location_type', 'Force',
    'location', pg_catalog.json_build_object(
       'latitude', crimesnap_api.police_uk_coordinate(($1).latitude),
       'street', pg_catalog.json_build_object('id', ($1).street_id, 'name', ($1).street_name),
       'longitude', crimesnap_api.police_uk_coordinate(($1).longitude)),
    'context', coalesce(($1).context, ''),
    -- ASB has no persistent id and no outcome on police.uk.
    'outcome_status', CASE WHEN ($1).outcome_status IS NOT NULL AND ($1).persistent_id IS NOT NULL
                           THEN pg_catalog.json_build_object('category', ($1).outcome_status, 'date', ($1).month) END,
    'persistent_id', coalesce(($1).persistent_id, ''),
    'id', ($1).id,
    'location_subtype', '',
    'month', ($1).month)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime(crimesnap_api.street_crime) IS
  'One street-level crime as a police.uk crimes-street element: category, location_type "Force", location (six-decimal strings, street id and name), context ("" when none), outcome_status (null or {category, date}), persistent_id ("" for ASB), id, location_subtype "", month.';

CREATE FUNCTION crimesnap_api.police_uk_crime(c crimesnap_api.no_location_crime)
RETURNS json
LANGUAGE sql STABLE
AS $fn$
  SELECT pg_catalog.json_build_object(
    'category', ($1).category,
    'location_type', NULL,
    'location', NULL,
    'context', coalesce(($1).context, ''),
    'outcome_status', CASE WHEN ($1).outcome_status IS NOT NULL AND ($1).persistent_id IS NOT NULL
                           THEN pg_catalog.json_build_object('category', ($1).outcome_status, 'date', ($1).month) END,
    'persistent_id', coalesce(($1).persistent_id, ''),
    'id', ($1).id,
    'location_subtype', '',
    'month', ($1).month)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime(crimesnap_api.no_location_crime) IS
  'One crime without a location as a police.uk crimes-no-location element: as a street crime, with location and location_type null.';

-- ---- crimes ----

CREATE FUNCTION crimesnap_api.police_uk_crimes_street(lat double precision, lng double precision,
                                                      date text DEFAULT NULL, category text DEFAULT 'all-crime')
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    FROM (SELECT crimesnap_api.police_uk_month($3) AS m) mo,
         LATERAL crimesnap_api.street_crimes_near($1, $2, mo.m, crimesnap_api.police_uk_category($4, mo.m)) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_street(double precision, double precision, text, text) IS
  'police.uk''s crimes-street/<category>?lat=&lng=&date=: the crimes of a month within a mile of a point, as a json array. date NULL: the newest month on the map. At most 10,000 (54000 past that).';

CREATE FUNCTION crimesnap_api.police_uk_crimes_street_poly(poly text, date text DEFAULT NULL,
                                                           category text DEFAULT 'all-crime')
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    FROM (SELECT crimesnap_api.police_uk_month($2) AS m) mo,
         LATERAL crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text($1), mo.m,
                                                     crimesnap_api.police_uk_category($3, mo.m)) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_street_poly(text, text, text) IS
  'police.uk''s crimes-street/<category>?poly=lat,lng:lat,lng:...&date=: the crimes of a month inside a polygon, as a json array. At most 10,000 (54000 past that).';

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
  SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    INTO answer
    FROM crimesnap_api.street_crime c
   WHERE c.street_id = location_id AND c.month = m;
  RETURN answer;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_at_location(bigint, text) IS
  'police.uk''s crimes-at-location?location_id=&date=: the crimes of a month at one location (snap point), as a json array. SECURITY DEFINER: it checks the id against the snap points of the months on the map.';

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
  RETURN (SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
            FROM crimesnap_api.street_crime c
           WHERE c.street_id = nearest AND c.month = m);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_at_location(double precision, double precision, text) IS
  'police.uk''s crimes-at-location?lat=&lng=&date=: the crimes of a month at the location (snap point) nearest a WGS84 point, as a json array; [] when that location had none. SECURITY DEFINER for the snap points'' index.';

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
  RETURN (SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(n) ORDER BY n.id), '[]'::json)
            FROM crimesnap_api.no_location_crimes(force, m, cat) n);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_no_location(text, text, text) IS
  'police.uk''s crimes-no-location?category=&force=&date=: a force''s crimes of a month without a location, as a json array.';

-- ---- what is available ----

CREATE FUNCTION crimesnap_api.police_uk_crime_last_updated()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(NULL);
BEGIN
  RETURN pg_catalog.json_build_object('date', m || '-01');
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime_last_updated() IS
  'police.uk''s crime-last-updated: {"date": "YYYY-MM-01"}, the newest month on the map (police.uk gives the month of the latest data, not the day it was loaded).';

CREATE FUNCTION crimesnap_api.police_uk_crime_categories(date text DEFAULT NULL)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.json_agg(pg_catalog.json_build_object('url', c.url, 'name', c.name))
    FROM crimesnap_api.categories($1) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime_categories(text) IS
  'police.uk''s crime-categories?date=: [{"url", "name"}] of the month, all-crime first.';

CREATE FUNCTION crimesnap_api.police_uk_crimes_street_dates()
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('date', d.month, 'stop-and-search', '[]'::json) ORDER BY d.month DESC), '[]'::json)
    FROM (SELECT DISTINCT p.month FROM crimesnap_api.published_month p WHERE p.status = 'street-level') d
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_street_dates() IS
  'police.uk''s crimes-street-dates: [{"date": "YYYY-MM", "stop-and-search": []}], the months on the map, newest first (crimesnap has no stop and search data).';

-- ---- forces and neighbourhoods ----

CREATE FUNCTION crimesnap_api.police_uk_forces()
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('id', f.force, 'name', f.name) ORDER BY f.force), '[]'::json)
    FROM crimesnap_api.force f
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_forces() IS
  'police.uk''s forces: [{"id", "name"}].';

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
COMMENT ON FUNCTION crimesnap_api.police_uk_check_force(text) IS
  'A force id argument, checked: returns it, or raises P0002 (HTTP 404) for an unknown force.';

CREATE FUNCTION crimesnap_api.police_uk_force(id text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.json_build_object('description', NULL, 'url', NULL, 'engagement_methods', '[]'::json,
                           'telephone', NULL, 'id', f.force, 'name', f.name)
    FROM crimesnap_api.force f
   WHERE f.force = crimesnap_api.police_uk_check_force($1)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_force(text) IS
  'police.uk''s forces/<id>: {"description", "url", "engagement_methods", "telephone", "id", "name"}; crimesnap keeps no contact details, so those are null and [].';

CREATE FUNCTION crimesnap_api.police_uk_neighbourhoods(force text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('id', n.neighbourhood_id, 'name', n.name) ORDER BY n.neighbourhood_id), '[]'::json)
    FROM crimesnap_api.neighbourhood n
   WHERE n.force = crimesnap_api.police_uk_check_force($1)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_neighbourhoods(text) IS
  'police.uk''s <force>/neighbourhoods: [{"id", "name"}].';

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
  RETURN (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('latitude', crimesnap_api.police_uk_coordinate(ST_Y(v.geom)),
                                            'longitude', crimesnap_api.police_uk_coordinate(ST_X(v.geom)))
                          ORDER BY v.part, v.n)
            FROM (SELECT d.path[1] AS part, r.path[1] AS n, r.geom
                    FROM ST_Dump(g) d,
                         LATERAL ST_DumpPoints(ST_ExteriorRing(d.geom)) r) v);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_neighbourhood_boundary(text, text) IS
  'police.uk''s <force>/<neighbourhood>/boundary: [{"latitude", "longitude"}] (six-decimal strings), the outer ring of each part of the boundary.';

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
  RETURN pg_catalog.json_build_object('force', found.force, 'neighbourhood', found.neighbourhood_id);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_locate_neighbourhood(text) IS
  'police.uk''s locate-neighbourhood?q=lat,lng: {"force", "neighbourhood"} of the neighbourhood containing the point; P0002 outside every force.';

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
COMMENT ON FUNCTION crimesnap_api.csv_field(text) IS
  'One CSV field as RFC 4180 and COPY write it: empty for NULL, quoted (quotes doubled) when it holds a comma, a quote or a line break.';

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
COMMENT ON FUNCTION crimesnap_api.police_uk_csv_file(text, text, boolean) IS
  'data.police.uk''s street CSV as one file, header included, with CRLF line endings as police.uk''s files have (crlf => false for LF): what an HTTP layer serves as street.csv. From psql: psql -XAt -c "SELECT encode(convert_to(crimesnap_api.police_uk_csv_file(''northshire'', ''2026-10''), ''UTF8''), ''base64'')" | base64 -d > street.csv';

-- ---- vector tiles ----

-- A tile counts the crimes of its snap points by category from the index alone:
-- published_crime_point_counts (section 50) covers it.

CREATE FUNCTION crimesnap.tile_features(z integer, x integer, y integer, month date)
RETURNS TABLE (street_id bigint, street_name text, crimes integer, by_category jsonb, geom geometry)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path FROM CURRENT
-- Each tile is planned for its own box: after five calls PL/pgSQL's plan cache would settle on
-- a generic plan that cannot see the box, and make bench measured it at 50 ms a tile against
-- 16 ms planned per call.
SET plan_cache_mode = force_custom_plan
AS $fn$
DECLARE
  -- The tile's box with a 64/4096 margin, in British National Grid, computed once so that
  -- the planner sees a value and takes the snap points' GiST index.
  area geometry := ST_Transform(ST_TileEnvelope(z, x, y, margin => 0.015625::float8), 27700);
BEGIN
  -- The rows of crimesnap.published_street_crime (street-level publications, their snap
  -- point sets and category schemes), counted per snap point and category for the points
  -- in the tile only: published_crime's (snap_version, point_id, month) index finds their crimes.
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
COMMENT ON FUNCTION crimesnap.tile_features(integer, integer, integer, date) IS
  'Internal to crimesnap_api.tile(): the snap points of a month''s street-level publications inside tile z/x/y (with its margin), each with its crimes, its count per category and its Web Mercator point.';

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
    FROM (SELECT ST_AsMVTGeom(f.geom, ST_TileEnvelope(z, x, y, margin => 0.0::float8)::box2d, 4096, 64, true) AS geom,
                 f.street_id, f.street_name, pg_catalog.to_char(m, 'YYYY-MM') AS month, f.crimes, f.by_category
            FROM crimesnap.tile_features(z, x, y, m) f) t
   WHERE t.geom IS NOT NULL;
  RETURN coalesce(mvt, ''::bytea);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.tile(integer, integer, integer, text) IS
  'A Mapbox vector tile (z/x/y, Web Mercator) of the month''s published snap points, layer "crimes": feature id street_id, street_name, month, crimes and one count per category. month NULL: the newest on the map. pg_tileserv serves it as a function layer. SECURITY DEFINER so that the snap points'' index finds the tile''s points (crimesnap.tile_features); a month is never aggregated as a whole.';

-- ---- privileges for this section (90-grants.sql repeats them for the whole schema) ----
REVOKE ALL ON FUNCTION crimesnap.tile_features(integer, integer, integer, date) FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap_api FROM PUBLIC;
GRANT SELECT ON crimesnap_api.force, crimesnap_api.neighbourhood TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
