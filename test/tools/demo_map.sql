-- test/tools/demo_map.sql: the published month as a self-contained HTML page (no network,
-- no script): the SVG map of crimesnap_api.map_svg(), a legend, and the month's counts by
-- force and category.  make demo runs it as the web role:
--
--   psql -At -v month=2026-10 -f test/tools/demo_map.sql -o map-2026-10.html
\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
SET ROLE crimesnap_web;
WITH m AS (
  SELECT crimesnap_api.police_uk_month(:'month') AS month
), counts AS (
  SELECT t.force, f.name AS force_name, t.category_name, t.mapped, t.no_location, t.crimes
    FROM crimesnap_api.month_totals t JOIN crimesnap_api.force f ON f.force = t.force, m
   WHERE t.month = m.month AND t.status = 'street-level'
), legend AS (
  -- Circles drawn at the map's scale: the map is 1000 px across its width in metres.
  SELECT xmlelement(name svg, xmlattributes('http://www.w3.org/2000/svg' AS xmlns, 260 AS width, 70 AS height,
                                            '0 0 260 70' AS "viewBox"),
           xmlagg(xmlelement(name g,
             xmlelement(name circle, xmlattributes(25 + 80 * i AS cx, 30 AS cy,
                                                   crimesnap_api.map_radius(n) * 1000 / w.width AS r,
                                                   '#d7301f' AS fill, '0.55' AS "fill-opacity", '#7f0000' AS stroke)),
             xmlelement(name text, xmlattributes(25 + 80 * i AS x, 64 AS y, 'middle' AS "text-anchor", '12' AS "font-size"),
                        n || CASE WHEN n = 1 THEN ' crime' ELSE ' crimes' END)) ORDER BY i)) AS svg
    FROM (VALUES (0, 1::bigint), (1, 5), (2, 20)) v(i, n),
         (SELECT (regexp_match((crimesnap_api.map_svg(:'month'))::text, 'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+)'))[1]::numeric AS width) w
)
SELECT '<!DOCTYPE html>' || E'\n' ||
  xmlelement(name html, xmlattributes('en' AS lang),
    xmlelement(name head,
      xmlelement(name meta, xmlattributes('utf-8' AS charset)),
      xmlelement(name title, 'crimesnap: the published month ' || m.month),
      xmlelement(name style, 'body{font-family:sans-serif;margin:2em;color:#222}'
                             '.map svg{max-width:100%;height:auto;border:1px solid #ccc}'
                             'table{border-collapse:collapse;margin-top:1em}td,th{padding:2px 10px;text-align:right}'
                             'td:first-child,th:first-child{text-align:left}tr.total{font-weight:bold}'
                             '.key{display:flex;gap:2em;align-items:center;margin:1em 0}.key span{display:inline-block;vertical-align:middle}'
                             '.street{width:40px;height:6px;background:#c8c2b4}.nb{width:40px;border-top:3px dashed #3b4a6b}')),
    xmlelement(name body,
      xmlelement(name h1, 'Crimes and anti-social behaviour, ' || m.month),
      xmlelement(name p, 'Every crime is shown at an anonymous snap point in the middle of a street that serves at least '
                         'twelve postal addresses, or at a public place; a circle''s area is proportional to the crimes at its point. '
                         'Crimes without a location count in the totals below but are not on the map.'),
      xmlelement(name div, xmlattributes('map' AS class), crimesnap_api.map_svg(:'month')),
      xmlelement(name div, xmlattributes('key' AS class),
        (SELECT l.svg FROM legend l),
        xmlelement(name div, xmlelement(name span, xmlattributes('street' AS class), ''), ' street'),
        xmlelement(name div, xmlelement(name span, xmlattributes('nb' AS class), ''), ' neighbourhood boundary')),
      xmlelement(name h2, 'Counts for ' || m.month),
      xmlelement(name table,
        xmlelement(name tr, xmlelement(name th, 'force'), xmlelement(name th, 'category'), xmlelement(name th, 'on the map'),
                            xmlelement(name th, 'no location'), xmlelement(name th, 'all')),
        (SELECT xmlagg(xmlelement(name tr, xmlelement(name td, c.force_name), xmlelement(name td, c.category_name),
                                  xmlelement(name td, c.mapped), xmlelement(name td, c.no_location), xmlelement(name td, c.crimes))
                       ORDER BY c.force_name, c.crimes DESC, c.category_name) FROM counts c),
        (SELECT xmlelement(name tr, xmlattributes('total' AS class), xmlelement(name td, 'all forces'), xmlelement(name td, 'all categories'),
                           xmlelement(name td, sum(c.mapped)), xmlelement(name td, sum(c.no_location)), xmlelement(name td, sum(c.crimes)))
           FROM counts c)),
      xmlelement(name p, 'Made by make demo from crimesnap_api, the only schema a web service can read.')))::text
  FROM m;
RESET ROLE;
