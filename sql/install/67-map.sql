-- Section 67: pictures of the month, drawn in SQL with ST_AsSVG.  Tests: test/pgtap/map.sql.
-- Guide: docs/web-developer-guide.md ("A picture of the month"); make demo writes both.
--
-- crimesnap_api.map_svg() is the public map: streets, neighbourhood boundaries and each snap
-- point with crimes, sized by its count; it reads only what crimesnap_api publishes, plus
-- the street centrelines (public map data) to draw under them.  crimesnap.raw_map_svg() is
-- the data controller's picture of the guarantee: each raw location joined to the snap point
-- it was published at, over the catchment polygons.  It reads raw locations, so it lives in
-- schema crimesnap, runs as its caller, and only roles that read raw_crime can draw it.
--
-- SVG user units are British National Grid metres; ST_AsSVG writes y as -northing, so the
-- viewBox starts at -ymax.  The documents are built with PostgreSQL's XML functions, which
-- escape every name and label.

CREATE FUNCTION crimesnap_api.svg_view_box(extent box2d)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.format('%s %s %s %s', ST_XMin($1)::numeric(12, 1), (-ST_YMax($1))::numeric(12, 1),
                           (ST_XMax($1) - ST_XMin($1))::numeric(12, 1), (ST_YMax($1) - ST_YMin($1))::numeric(12, 1))
$fn$;
COMMENT ON FUNCTION crimesnap_api.svg_view_box(box2d) IS
  'The SVG viewBox of an EPSG:27700 extent as ST_AsSVG draws it (y is minus the northing).';

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
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(s.geom, 0, 1) AS d))
                            ORDER BY s.street_id)
                FROM crimesnap.street s
                LEFT JOIN crimesnap.highway_class h ON h.highway = s.highway
               WHERE s.geom && ST_SetSRID(extent::geometry, 27700) AND coalesce(h.carries_points, true))),
           xmlelement(name g, xmlattributes('neighbourhoods' AS class, '#3b4a6b' AS stroke, 'none' AS fill,
                                            '5' AS "stroke-width", '24 12' AS "stroke-dasharray"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(n.geom, 0, 1) AS d, n.neighbourhood_id AS id),
                                       xmlelement(name title, n.name || ' (' || n.neighbourhood_id || ')'))
                            ORDER BY n.neighbourhood_id)
                FROM crimesnap.neighbourhood n WHERE f IS NULL OR n.force_id = f)),
           xmlelement(name g, xmlattributes('crimes' AS class, '#d7301f' AS fill, '0.55' AS "fill-opacity",
                                            '#7f0000' AS stroke, '2' AS "stroke-width"),
             (SELECT pg_catalog.xmlagg(xmlelement(name circle,
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
COMMENT ON FUNCTION crimesnap_api.map_svg(text, text, integer) IS
  'The published month as an SVG map (xml): streets, neighbourhood boundaries, and a circle per snap point with crimes (class "crime", data-street-id, data-crimes), its area proportional to the count, with a title. month NULL: the newest on the map; force NULL: every force. SECURITY DEFINER to draw the street centrelines; nothing else it reads is unpublished.';

CREATE FUNCTION crimesnap_api.map_radius(crimes bigint)
RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
  SELECT (8::float8 * pg_catalog.sqrt($1::float8))::numeric(8, 1)
$fn$;
COMMENT ON FUNCTION crimesnap_api.map_radius(bigint) IS
  'Radius in metres of a snap point''s circle on crimesnap_api.map_svg(): area proportional to its crimes (1 crime: 8 m, 25 crimes: 40 m).';

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
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(c.geom, 0, 1) AS d, c.point_id AS "data-street-id"))
                            ORDER BY c.point_id)
                FROM crimesnap.snap_point_catchment c JOIN crimesnap.snap_point sp ON sp.version = c.version AND sp.point_id = c.point_id
                JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = sp.neighbourhood_id
               WHERE c.version = v AND n.force_id = raw_map_svg.force AND NOT ST_IsEmpty(c.geom))),
           xmlelement(name g, xmlattributes('streets' AS class, '#d9d4c7' AS stroke, 'none' AS fill, '4' AS "stroke-width"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(s.geom, 0, 1) AS d)) ORDER BY s.street_id)
                FROM crimesnap.street s WHERE s.geom && ST_SetSRID(extent::geometry, 27700))),
           xmlelement(name g, xmlattributes('neighbourhoods' AS class, '#3b4a6b' AS stroke, 'none' AS fill,
                                            '5' AS "stroke-width", '24 12' AS "stroke-dasharray"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(n.geom, 0, 1) AS d, n.neighbourhood_id AS id))
                            ORDER BY n.neighbourhood_id)
                FROM crimesnap.neighbourhood n WHERE n.force_id = raw_map_svg.force)),
           xmlelement(name g, xmlattributes('moves' AS class, '#555555' AS stroke, '1.5' AS "stroke-width", '0.7' AS "stroke-opacity"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(ST_MakeLine(r.geom, sp.geom), 0, 1) AS d)) ORDER BY r.crime_id)
                FROM crimesnap.published_crime pc
                JOIN crimesnap.raw_crime r ON r.crime_id = pc.crime_id
                JOIN crimesnap.snap_point sp ON sp.version = pc.snap_version AND sp.point_id = pc.point_id
               WHERE pc.force_id = raw_map_svg.force AND pc.month = raw_map_svg.month AND r.geom IS NOT NULL)),
           xmlelement(name g, xmlattributes('raw' AS class, '#000000' AS fill),
             (SELECT pg_catalog.xmlagg(xmlelement(name circle, xmlattributes('raw' AS class, ST_X(r.geom)::numeric(12, 1) AS cx,
                                                                  (-ST_Y(r.geom))::numeric(12, 1) AS cy, 4 AS r)) ORDER BY r.crime_id)
                FROM crimesnap.raw_crime r
               WHERE r.force_id = raw_map_svg.force AND r.month = raw_map_svg.month AND r.geom IS NOT NULL
                 AND r.superseded_by_batch IS NULL)),
           xmlelement(name g, xmlattributes('published' AS class, '#d7301f' AS fill, '0.8' AS "fill-opacity", '#7f0000' AS stroke),
             (SELECT pg_catalog.xmlagg(xmlelement(name circle, xmlattributes('published' AS class, sp.point_id AS "data-street-id",
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
COMMENT ON FUNCTION crimesnap.raw_map_svg(text, date, integer) IS
  'Confidential: a force''s street-level month as an SVG picture of the guarantee, for its data controller: the catchment polygons, each raw location (black) joined by a line to the snap point it was published at (red, sized by its crimes). Runs as the caller, so only roles that read crimesnap.raw_crime can draw it; never in crimesnap_api.';

-- ---- privileges for this section (90-grants.sql repeats the crimesnap_api ones) ----
REVOKE ALL ON FUNCTION crimesnap.raw_map_svg(text, date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap.raw_map_svg(text, date, integer) TO crimesnap_publisher;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap_api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
