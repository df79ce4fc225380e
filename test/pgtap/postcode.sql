-- Postcode-centroid depersonalisation (CSP guidance, Appendix 1) against brute force.
--
-- On the demo town (test/fixtures/town_postcode.sql) and on the real Fitzrovia data
-- (Code-Point Open centroids from codepoint_bbox.csv; only 555 of the 2,495 addresses carry a
-- postcode, so most postcodes count fewer than 4 households, a hard test of the fallback),
-- every answer of crimesnap.postcode_points() must equal an exact scan in SQL: the public
-- place whose area holds the location (lowest place_id); else the record's own postcode (given,
-- or that of the nearest address with a known postcode, ORDER BY ST_Distance, address_id) when
-- it has at least crimesnap.min_postcode_households households; else the nearest such postcode
-- (ORDER BY ST_Distance, postcode key in byte order).  Then, independently of that rule, every
-- point must be the centroid of a postcode with at least 4 households, and no such centroid may
-- be nearer than the one chosen when the record's own postcode has fewer.
--
-- How the checks fail on broken data: setting a postcode's households to 3 after the answers
-- are taken breaks "at least 4"; swapping two centroids breaks the brute-force comparison;
-- ordering ties by postcode descending in the brute force breaks the tie check (each was
-- tried while writing this test).
\set ON_ERROR_STOP 1
BEGIN;
SET client_min_messages = warning;
\set fitz_dir `d="${CRIMESNAP_FITZROVIA:-}"; if [ -n "$d" ] && [ -f "$d/codepoint_bbox.csv" ]; then cd "$d" && pwd; fi`
SELECT :'fitz_dir' <> '' AS have_fitz \gset
\setenv CRIMESNAP_FITZROVIA :fitz_dir
\ir ../fixtures/town.sql
\ir ../fixtures/town_postcode.sql
\if :have_fitz
\ir ../fixtures/fitzrovia.sql
CREATE TABLE fitzrovia.codepoint_csv (postcode text, pqi text, e text, n text, country text, nhs_region text,
                                      nhs_ha text, county text, district text, ward text);
\copy fitzrovia.codepoint_csv FROM PROGRAM 'tr -d "\\r" < "${CRIMESNAP_FITZROVIA}/codepoint_bbox.csv"' WITH (FORMAT csv, HEADER)
INSERT INTO crimesnap.postcode (postcode, geom)
SELECT c.postcode, ST_SetSRID(ST_MakePoint(c.e::float8, c.n::float8), 27700) FROM fitzrovia.codepoint_csv c;
\endif
SET client_min_messages = warning;
SELECT plan(12);
SELECT setseed(0.1414);

-- ---- queries ----
CREATE TEMP TABLE q (i serial PRIMARY KEY, area text, kind text, geom geometry, postcode text);
-- Town: random points, points at addresses, NULL locations with postcodes, given postcodes
-- (good, too small, unknown), and points exactly halfway between two eligible centroids.
INSERT INTO q (area, kind, geom)
SELECT 'town', 'random', ST_SetSRID(ST_MakePoint(449800 + random() * 3400, 199800 + random() * 2400), 27700)
  FROM generate_series(1, 2000);
INSERT INTO q (area, kind, geom, postcode)
SELECT 'town', 'address', a.geom, CASE WHEN random() < 0.3 THEN a.postcode END
  FROM crimesnap.address a WHERE ST_X(a.geom) < 500000 AND random() < 0.3;
INSERT INTO q (area, kind, geom, postcode)
SELECT 'town', 'given', ST_SetSRID(ST_MakePoint(449800 + random() * 3400, 199800 + random() * 2400), 27700),
       (ARRAY['tn1 1ab', 'TN9 3DZ', 'XX1 1XX', 'TN2  2cd'])[1 + floor(random() * 4)::int]
  FROM generate_series(1, 300);
INSERT INTO q (area, kind, geom, postcode)
SELECT 'town', 'no location', NULL, p.postcode FROM crimesnap.postcode p WHERE p.postcode LIKE 'TN%' AND random() < 0.3;
INSERT INTO q (area, kind, geom)
SELECT 'town', 'tie', ST_SetSRID(ST_MakePoint((ST_X(a.geom) + ST_X(b.geom)) / 2, (ST_Y(a.geom) + ST_Y(b.geom)) / 2), 27700)
  FROM crimesnap.postcode_households a JOIN crimesnap.postcode_households b
    ON a.postcode < b.postcode AND ST_DWithin(a.geom, b.geom, 300::float8)
 WHERE a.households >= 4 AND b.households >= 4 AND a.postcode LIKE 'TN%' AND b.postcode LIKE 'TN%';
\if :have_fitz
INSERT INTO q (area, kind, geom)
SELECT 'fitzrovia', 'address', a.geom FROM crimesnap.address a WHERE ST_X(a.geom) > 500000;
INSERT INTO q (area, kind, geom)
SELECT 'fitzrovia', 'crime', ST_SetSRID(ST_MakePoint(u.easting::float8, u.northing::float8), 27700)
  FROM fitzrovia.upload u WHERE u.easting <> '';
INSERT INTO q (area, kind, geom)
SELECT 'fitzrovia', 'random', ST_SetSRID(ST_MakePoint(528600 + random() * 1400, 181400 + random() * 1200), 27700)
  FROM generate_series(1, 1000);
INSERT INTO q (area, kind, geom)
SELECT 'fitzrovia', 'tie', ST_SetSRID(ST_MakePoint((ST_X(a.geom) + ST_X(b.geom)) / 2, (ST_Y(a.geom) + ST_Y(b.geom)) / 2), 27700)
  FROM crimesnap.postcode_households a JOIN crimesnap.postcode_households b
    ON a.postcode < b.postcode AND ST_DWithin(a.geom, b.geom, 60::float8)
 WHERE a.households >= 4 AND b.households >= 4 AND a.postcode NOT LIKE 'TN%' AND b.postcode NOT LIKE 'TN%';
\endif
ANALYZE q;

-- ---- crimesnap's answers, all in one call ----
CREATE TEMP TABLE got AS
SELECT q.i, p.postcode, p.geom, p.rule
  FROM crimesnap.postcode_points(ARRAY(SELECT geom FROM q ORDER BY i), ARRAY(SELECT postcode FROM q ORDER BY i)) p
  JOIN q ON q.i = p.ord;
SELECT diag(format('postcode_points: %s records (%s town, %s Fitzrovia)', count(*),
                   count(*) FILTER (WHERE area = 'town'), count(*) FILTER (WHERE area = 'fitzrovia')))
  FROM q;

-- ---- brute force ----
CREATE TEMP TABLE elig AS SELECT * FROM crimesnap.postcode_households WHERE households >= 4;
-- Addresses are distinct postal addresses (crimesnap.postal_address), as everywhere.
CREATE TEMP TABLE known_addr AS
SELECT a.address_id, crimesnap.postcode_key(a.postcode) AS key, a.geom
  FROM crimesnap.postal_address a
 WHERE crimesnap.postcode_key(a.postcode) IN (SELECT postcode_key FROM crimesnap.postcode_households);
CREATE TEMP TABLE want AS
SELECT q.i, pl.geom AS place_geom, own.postcode AS own_pc, own.geom AS own_geom, near.postcode AS near_pc, near.geom AS near_geom
  FROM q
  LEFT JOIN LATERAL (SELECT p.geom FROM crimesnap.public_place p
                      WHERE q.geom IS NOT NULL AND p.area IS NOT NULL AND ST_Intersects(p.area, q.geom)
                      ORDER BY p.place_id LIMIT 1) pl ON true
  LEFT JOIN LATERAL (SELECT coalesce(crimesnap.postcode_key(q.postcode),
                                     (SELECT k.key FROM known_addr k WHERE q.geom IS NOT NULL
                                       ORDER BY ST_Distance(k.geom, q.geom), k.address_id LIMIT 1)) AS key) ok ON true
  LEFT JOIN crimesnap.postcode_households ownall ON ownall.postcode_key = ok.key
  LEFT JOIN elig own ON own.postcode_key = ok.key
  LEFT JOIN LATERAL (SELECT e.postcode, e.geom FROM elig e
                      WHERE coalesce(q.geom, ownall.geom) IS NOT NULL
                      ORDER BY ST_Distance(e.geom, coalesce(q.geom, ownall.geom)), e.postcode_key COLLATE "C" LIMIT 1) near ON true;

SELECT is((SELECT count(*) FROM got), (SELECT count(*) FROM q), 'one answer per record');
SELECT is((SELECT count(*) FROM got g JOIN want w USING (i)
            WHERE NOT (g.postcode IS NOT DISTINCT FROM CASE WHEN w.place_geom IS NOT NULL THEN NULL ELSE coalesce(w.own_pc, w.near_pc) END
                       AND coalesce(ST_Equals(g.geom, coalesce(w.place_geom, w.own_geom, w.near_geom)), g.geom IS NULL AND coalesce(w.place_geom, w.own_geom, w.near_geom) IS NULL))),
          0::bigint, 'every answer equals the brute-force scan (place, own postcode, nearest with enough households, ties by postcode)');
SELECT is((SELECT count(*) FROM got g JOIN q USING (i) WHERE q.kind = 'tie' AND g.rule <> 'public place'
            AND g.postcode IS DISTINCT FROM (SELECT w.near_pc FROM want w WHERE w.i = g.i) AND g.rule <> 'own postcode'),
          0::bigint, 'on exact ties between two centroids, the lower postcode wins every time');

-- The property, independently of the rule's wording.
SELECT is((SELECT count(*) FROM got g WHERE g.postcode IS NOT NULL AND NOT EXISTS (
             SELECT FROM crimesnap.postcode_households h
              WHERE h.postcode = g.postcode AND h.households >= 4 AND ST_Equals(h.geom, g.geom))),
          0::bigint, 'every depersonalised point is the centroid of a postcode with at least 4 households');
SELECT is((SELECT count(*) FROM got g JOIN q USING (i)
            WHERE g.rule = 'nearest postcode with enough households' AND q.geom IS NOT NULL
              AND EXISTS (SELECT FROM elig e WHERE ST_Distance(e.geom, q.geom) < ST_Distance(g.geom, q.geom))),
          0::bigint, 'when the record''s own postcode has fewer, no postcode with enough households is nearer than the one chosen');
SELECT is((SELECT count(*) FROM got g JOIN want w USING (i)
            WHERE g.rule = 'own postcode' AND g.postcode IS DISTINCT FROM w.own_pc), 0::bigint,
          'a record whose own postcode has enough households goes to its own centroid');
SELECT is((SELECT count(*) FROM got g JOIN q USING (i)
            WHERE (g.rule = 'public place') IS DISTINCT FROM (q.geom IS NOT NULL AND EXISTS (
                    SELECT FROM crimesnap.public_place p WHERE ST_Intersects(p.area, q.geom)))
               OR (g.rule = 'public place' AND (g.postcode IS NOT NULL OR NOT EXISTS (
                    SELECT FROM crimesnap.public_place p WHERE ST_Equals(p.geom, g.geom))))),
          0::bigint, 'a record in a public place''s area keeps the place''s point and has no postcode');
SELECT cmp_ok((SELECT count(*) FROM got g JOIN q USING (i) WHERE q.area = 'town' AND g.rule = 'nearest postcode with enough households'), '>', 100::bigint,
              'the town exercises the fallback');
SELECT diag(format('%s exact ties between two eligible centroids', count(*))) FROM q WHERE kind = 'tie';
SELECT diag(format('%s: %s', area, string_agg(format('%s %s', n, rule), ', ' ORDER BY rule)))
  FROM (SELECT q.area, coalesce(g.rule, 'none') AS rule, count(*) AS n FROM got g JOIN q USING (i) GROUP BY 1, 2) x GROUP BY area;
\if :have_fitz
SELECT cmp_ok((SELECT count(*) FROM got g JOIN q USING (i) WHERE q.area = 'fitzrovia' AND g.rule = 'nearest postcode with enough households'), '>', 1000::bigint,
              'Fitzrovia: most records fall back to the nearest postcode with 4 households');
SELECT diag(format('Fitzrovia: %s postcodes, %s with at least 4 addresses', count(*), count(*) FILTER (WHERE households >= 4)))
  FROM crimesnap.postcode_households WHERE postcode NOT LIKE 'TN%';
\else
SELECT skip('Fitzrovia data not found (CRIMESNAP_FITZROVIA)', 1);
\endif

-- The one-record form agrees with the batch.
SELECT is((SELECT count(*) FROM (SELECT * FROM got ORDER BY i LIMIT 200) g JOIN q USING (i),
                  LATERAL crimesnap.postcode_point(q.geom, q.postcode) p
            WHERE p.postcode IS DISTINCT FROM g.postcode OR NOT coalesce(ST_Equals(p.geom, g.geom), p.geom IS NULL AND g.geom IS NULL)),
          0::bigint, 'postcode_point() gives what postcode_points() gives');

-- The threshold is the setting.
SET crimesnap.min_postcode_households = 6;
SELECT is((SELECT count(*) FROM crimesnap.postcode_points(ARRAY(SELECT geom FROM q WHERE area = 'town' ORDER BY i)) p
            WHERE p.postcode IS NOT NULL AND NOT EXISTS (
              SELECT FROM crimesnap.postcode_households h WHERE h.postcode = p.postcode AND h.households >= 6)),
          0::bigint, 'with crimesnap.min_postcode_households = 6, every point has at least 6');
RESET crimesnap.min_postcode_households;
SELECT throws_ok($$SELECT * FROM crimesnap.postcode_points(ARRAY['SRID=4326;POINT(-0.13 51.52)'::geometry])$$,
                 '22023', NULL, 'a location outside British National Grid is refused');

SELECT * FROM finish();
ROLLBACK;
