-- The pictures (section 67): crimesnap_api.map_svg() is a well-formed SVG document with a
-- circle for every snap point with crimes in the month, and nothing else; the data
-- controller's crimesnap.raw_map_svg() draws every raw location and is out of the web
-- role's reach.  Everything, the town included, runs in one transaction that is rolled back.
--
-- Checked to fail: a map_svg() that leaves out the point with the most crimes fails three
-- checks (a circle for every point, one each, the counts add up); a street name written
-- unescaped would fail "well-formed" (xml_is_well_formed_document() is false for a bare "&").
-- "Bell & <Bell> Lane" is a label to escape.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(14);
\o /dev/null
-- A street whose name needs escaping in XML.
UPDATE crimesnap.street SET name = 'Bell & <Bell> Lane' WHERE name = (SELECT min(name) FROM crimesnap.street WHERE highway = 'tertiary');
SELECT crimesnap.build_snap_points();
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23');
SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23');
SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
SELECT * FROM crimesnap.publish_month('southshire', '2026-10-01', '2026-11-23');
\o

SET LOCAL ROLE crimesnap_web;
CREATE TEMP TABLE svg AS SELECT crimesnap_api.map_svg('2026-10') AS doc, crimesnap_api.map_svg('2026-10', 'southshire') AS south;
RESET ROLE;
SELECT ok(xml_is_well_formed_document((SELECT doc::text FROM svg)), 'the map is a well-formed XML document');
SELECT is((xpath('name(/*)', (SELECT doc FROM svg)))[1]::text, 'svg', 'whose root is an svg element');
SELECT is((xpath('namespace-uri(/*)', (SELECT doc FROM svg)))[1]::text, 'http://www.w3.org/2000/svg', 'in the SVG namespace');
SELECT set_eq(
  $$SELECT (unnest(xpath('//s:circle[@class="crime"]/@data-street-id', doc, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])))::text::bigint FROM svg$$,
  $$SELECT street_id FROM crimesnap_api.snap_point_crimes WHERE month = '2026-10'$$,
  'a circle for every snap point with crimes in the month, and for no other point');
SELECT is((SELECT count(*) FROM svg, unnest(xpath('//s:circle[@class="crime"]', doc, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) c),
          (SELECT count(*) FROM crimesnap_api.snap_point_crimes WHERE month = '2026-10'),
  'one circle each');
SELECT is((SELECT sum((x::text)::integer) FROM svg, unnest(xpath('//s:circle[@class="crime"]/@data-crimes', doc, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) x),
          (SELECT sum(mapped)::bigint FROM crimesnap_api.month_totals WHERE month = '2026-10' AND status = 'street-level'),
  'their counts add up to the crimes on the map');
SELECT is((SELECT count(*) FROM svg, unnest(xpath('//s:circle[@class="crime"]', doc, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) c
            WHERE NOT EXISTS (SELECT FROM crimesnap_api.snap_point_crimes p
                               WHERE p.month = '2026-10'
                                 AND p.street_id = (xpath('/*/@data-street-id', c))[1]::text::bigint
                                 AND round(ST_X(p.geom)::numeric, 1) = (xpath('/*/@cx', c))[1]::text::numeric
                                 AND round(-ST_Y(p.geom)::numeric, 1) = (xpath('/*/@cy', c))[1]::text::numeric)), 0::bigint,
  'each circle is at its snap point');
SELECT is((SELECT count(*) FROM svg, unnest(xpath('//s:g[@class="neighbourhoods"]/s:path', doc, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) c),
          (SELECT count(*) FROM crimesnap_api.neighbourhood), 'a path for every neighbourhood boundary');
SELECT ok((SELECT count(*) FROM svg, unnest(xpath('//s:g[@class="streets"]/s:path', doc, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) c) > 100,
  'and the streets');
SELECT ok(position('Bell &amp; &lt;Bell&gt; Lane' IN (SELECT doc::text FROM svg)) > 0, 'a label is escaped');
SELECT is((SELECT count(*) FROM svg, unnest(xpath('//s:circle[@class="crime"]', south, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])) c),
          (SELECT count(*) FROM crimesnap_api.snap_point_crimes WHERE month = '2026-10' AND force = 'southshire'),
  'one force''s map has that force''s points');

-- The data controller's picture: every raw location of the month, and no access for the web.
SELECT is((SELECT count(*) FROM unnest(xpath('//s:circle[@class="raw"]', crimesnap.raw_map_svg('northshire', '2026-10-01'),
                                             ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))),
          (SELECT count(*) FROM crimesnap.raw_crime WHERE force_id = 'northshire' AND month = '2026-10-01'
              AND geom IS NOT NULL AND superseded_by_batch IS NULL),
  'the raw picture draws every raw location of the month');
SET LOCAL ROLE crimesnap_web;
SELECT throws_ok($$SELECT crimesnap.raw_map_svg('northshire', '2026-10-01')$$, '42501', NULL, 'the web role cannot draw it');
RESET ROLE;
SELECT ok(NOT has_function_privilege('crimesnap_analyst', 'crimesnap.raw_map_svg(text, date, integer)', 'EXECUTE'),
  'nor can an analyst');

SELECT * FROM finish();
ROLLBACK;
