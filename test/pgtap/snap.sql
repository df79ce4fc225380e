-- The snap index against brute force: every answer of crimesnap.snap, snap_many and
-- snap_detail must equal an exact scan in SQL (ST_Intersects for the neighbourhood,
-- lowest id in byte order; ORDER BY ST_Distance, point_id within it), on 100,000+
-- random crimes over the demo town and as many over the real Fitzrovia data, plus
-- crimes exactly on neighbourhood boundaries and vertices and crimes with exact ties.
\set ON_ERROR_STOP 1
BEGIN;
SET client_min_messages = warning;

-- The Fitzrovia data: $CRIMESNAP_FITZROVIA (make check sets it when ../shared/data/fitzrovia
-- exists beside the checkout).  Absent: its tests are skipped, and say so.
\set fitz_dir `d="${CRIMESNAP_FITZROVIA:-}"; if [ -n "$d" ] && [ -f "$d/streets_bng.csv" ]; then cd "$d" && pwd; fi`
SELECT :'fitz_dir' <> '' AS have_fitz \gset
\setenv CRIMESNAP_FITZROVIA :fitz_dir

\ir ../fixtures/town.sql
\if :have_fitz
\ir ../fixtures/fitzrovia.sql
\endif
SET client_min_messages = warning;
SELECT crimesnap.build_snap_points() AS v \gset

SELECT plan(18);
SELECT setseed(0.4242);

-- Crimes.  kind: random, boundary (on an edge or a vertex), tie (equidistant points).
CREATE TEMP TABLE q (id bigint PRIMARY KEY, area text, kind text, geom geometry);
CREATE TEMP SEQUENCE qid;
CREATE FUNCTION pg_temp.pt(x float8, y float8) RETURNS geometry
  LANGUAGE sql IMMUTABLE AS $$ SELECT ST_SetSRID(ST_MakePoint(x, y), 27700) $$;

-- The town: 3 km x 2 km at (450000, 200000), neighbourhood edges at x = 1000, 1500, 2000
-- and y = 1000 (and its outline).
INSERT INTO q SELECT nextval('qid'), 'town', 'random',
       pg_temp.pt(450000 + random() * 3000, 200000 + random() * 2000)
  FROM generate_series(1, 100000);
INSERT INTO q SELECT nextval('qid'), 'town', 'boundary', pg_temp.pt(450000 + x, 200000 + y)
  FROM (SELECT (ARRAY[0, 1000, 1500, 2000, 3000])[1 + floor(random() * 5)::int] AS x,
               CASE WHEN random() < 0.5 THEN floor(random() * 2001) ELSE random() * 2000 END AS y
          FROM generate_series(1, 3000)
        UNION ALL
        SELECT CASE WHEN random() < 0.5 THEN floor(random() * 3001) ELSE random() * 3000 END,
               (ARRAY[0, 1000, 2000])[1 + floor(random() * 3)::int]
          FROM generate_series(1, 3000)) b;

-- Fitzrovia: random crimes over the neighbourhoods' extent, their vertices, and points
-- along every boundary segment (on it, or a rounding error to either side).
\if :have_fitz
INSERT INTO q SELECT nextval('qid'), 'fitzrovia', 'random',
       pg_temp.pt(e.xmin + random() * (e.xmax - e.xmin), e.ymin + random() * (e.ymax - e.ymin))
  FROM (SELECT ST_XMin(x) AS xmin, ST_XMax(x) AS xmax, ST_YMin(x) AS ymin, ST_YMax(x) AS ymax
          FROM (SELECT ST_Extent(n.geom)::geometry AS x FROM crimesnap.neighbourhood n
                 WHERE n.force_id = 'metropolitan') t) e,
       generate_series(1, 100000);
INSERT INTO q SELECT nextval('qid'), 'fitzrovia', 'boundary', d.geom
  FROM (SELECT DISTINCT (ST_DumpPoints(n.geom)).geom FROM crimesnap.neighbourhood n
         WHERE n.force_id = 'metropolitan') d;
INSERT INTO q SELECT nextval('qid'), 'fitzrovia', 'boundary',
       ST_LineInterpolatePoint(ST_MakeLine(s.a, s.b), f)
  FROM (SELECT ST_PointN(r.ring, i) AS a, ST_PointN(r.ring, i + 1) AS b
          FROM (SELECT ST_ExteriorRing((ST_Dump(n.geom)).geom) AS ring FROM crimesnap.neighbourhood n
                 WHERE n.force_id = 'metropolitan') r,
               generate_series(1, ST_NPoints(r.ring) - 1) i) s,
       (VALUES (0.25), (0.5), (0.75)) fr(f);
\endif

-- Ties: four points exactly 5 m from an integer location ((3, 4) rotated), with shuffled
-- ids, in the location's neighbourhood; and crimes placed exactly on those points.
CREATE TEMP TABLE tie_site AS
SELECT s AS site, x, y,
       (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
         WHERE ST_Intersects(n.geom, pg_temp.pt(x, y)) ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1) AS nb
  FROM (SELECT s, 450000 + floor(random() * 3000) AS x, 200000 + floor(random() * 2000) AS y
          FROM generate_series(1, 100) s) t;
\if :have_fitz
INSERT INTO tie_site
SELECT 1000 + s, x, y,
       (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
         WHERE ST_Intersects(n.geom, pg_temp.pt(x, y)) ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1)
  FROM (SELECT s, floor(ST_X(p)) AS x, floor(ST_Y(p)) AS y
          FROM generate_series(1, 100) s,
               LATERAL (SELECT (ST_Dump(ST_GeneratePoints(n.geom, 1, s))).geom AS p
                          FROM crimesnap.neighbourhood n WHERE n.force_id = 'metropolitan'
                         ORDER BY n.neighbourhood_id OFFSET s % 9 LIMIT 1) g) t;
\endif
DELETE FROM tie_site WHERE nb IS NULL;
INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count,
                                  longitude, latitude, geom)
SELECT :v, 900000000 + t.site * 10 + (ARRAY[3, 1, 4, 2])[o.k], t.nb, 'street', 'Tie Street', 12, 0, 0,
       pg_temp.pt(t.x + o.dx, t.y + o.dy)
  FROM tie_site t, (VALUES (1, 3, 4), (2, -4, 3), (3, -3, -4), (4, 4, -3)) o(k, dx, dy);
INSERT INTO q SELECT nextval('qid'), CASE WHEN t.site < 1000 THEN 'town' ELSE 'fitzrovia' END, 'tie',
       pg_temp.pt(t.x, t.y)
  FROM tie_site t;
INSERT INTO q SELECT nextval('qid'), CASE WHEN t.site < 1000 THEN 'town' ELSE 'fitzrovia' END, 'tie',
       pg_temp.pt(t.x + 3, t.y + 4)
  FROM tie_site t;

-- Brute force: the neighbourhood by ST_Intersects, then an exact scan of its points.
CREATE TEMP TABLE bf AS
SELECT q.id, q.area, q.kind, q.geom, b.nb, x.point_id, x.dist
  FROM q
  CROSS JOIN LATERAL (SELECT n.neighbourhood_id AS nb FROM crimesnap.neighbourhood n
                       WHERE ST_Intersects(n.geom, q.geom)
                       ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1) b
  LEFT JOIN LATERAL (SELECT p.point_id, ST_Distance(p.geom, q.geom) AS dist
                       FROM crimesnap.snap_point p
                      WHERE p.version = :v AND p.neighbourhood_id = b.nb
                        AND ST_Distance(p.geom, q.geom) <= crimesnap.setting('max_snap_distance')::float8
                      ORDER BY ST_Distance(p.geom, q.geom), p.point_id LIMIT 1) x ON true;
-- crimes outside every neighbourhood (Fitzrovia's extent has gaps) are rejected
INSERT INTO bf SELECT q.id, q.area, q.kind, q.geom, NULL, NULL, NULL
  FROM q WHERE NOT EXISTS (SELECT FROM bf WHERE bf.id = q.id);

CREATE TEMP TABLE cs AS
SELECT d.*, CASE WHEN d.outcome <> 'rejected' THEN crimesnap.snap(q.geom, d.neighbourhood_id) END AS scalar_given
  FROM crimesnap.snap_detail((SELECT array_agg(id ORDER BY id) FROM q),
                             (SELECT array_agg(geom ORDER BY id) FROM q), NULL, true) d
  JOIN q USING (id);
CREATE TEMP TABLE cs_many AS
SELECT * FROM crimesnap.snap_many((SELECT array_agg(id ORDER BY id) FROM bf WHERE nb IS NOT NULL),
                                  (SELECT array_agg(geom ORDER BY id) FROM bf WHERE nb IS NOT NULL));
CREATE TEMP TABLE cs_scalar AS
SELECT bf.id, crimesnap.snap(bf.geom) AS point_id FROM bf WHERE bf.nb IS NOT NULL;

-- The test data really has what it claims.
SELECT cmp_ok((SELECT count(*) FROM q WHERE area = 'town'), '>=', 100000::bigint,
              'at least 100,000 crimes over the town');
SELECT cmp_ok((SELECT count(*) FROM bf WHERE area = 'town' AND kind = 'boundary'
                  AND (SELECT count(*) FROM crimesnap.neighbourhood n WHERE ST_Intersects(n.geom, bf.geom)) >= 2),
              '>=', 1500::bigint, 'the town''s boundary crimes lie on shared boundaries');
SELECT cmp_ok((SELECT count(*) FROM bf WHERE kind = 'tie'
                  AND (SELECT count(*) FROM crimesnap.snap_point p
                        WHERE p.version = :v AND p.neighbourhood_id = bf.nb
                          AND ST_Distance(p.geom, bf.geom) = bf.dist) >= 2),
              '>=', (SELECT count(*) * 3 / 4 FROM tie_site),
              'most tie sites put two or more points at exactly the nearest distance (the rest have a nearer point)');

-- Every answer agrees.
SELECT is((SELECT count(*) FROM bf JOIN cs USING (id) WHERE bf.area = 'town'
            AND (cs.point_id IS DISTINCT FROM bf.point_id OR cs.neighbourhood_id IS DISTINCT FROM bf.nb
                 OR (bf.nb IS NULL) <> (cs.outcome = 'rejected'))),
          0::bigint, 'town: snap_detail agrees with brute force on point and neighbourhood');
SELECT is((SELECT count(*) FROM bf JOIN cs USING (id) WHERE bf.area = 'town' AND cs.distance IS DISTINCT FROM bf.dist),
          0::bigint, 'town: distances are ST_Distance to the last bit');
SELECT is((SELECT count(*) FROM bf JOIN cs_many m USING (id) WHERE bf.area = 'town' AND m.point_id IS DISTINCT FROM bf.point_id)
          + (SELECT count(*) FROM bf JOIN cs_scalar s USING (id) WHERE bf.area = 'town' AND s.point_id IS DISTINCT FROM bf.point_id),
          0::bigint, 'town: snap_many and scalar snap agree with brute force');
SELECT is((SELECT count(*) FROM cs WHERE outcome <> 'rejected' AND scalar_given IS DISTINCT FROM point_id),
          0::bigint, 'snap with the neighbourhood given agrees with snap finding it');

-- A given neighbourhood other than the crime's own is respected: snap within it.
CREATE TEMP TABLE other AS
SELECT bf.id, bf.geom,
       (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
         WHERE n.neighbourhood_id COLLATE "C" > bf.nb COLLATE "C"
         ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1) AS nb
  FROM bf WHERE bf.nb IS NOT NULL AND bf.id % 20 = 0;
DELETE FROM other WHERE nb IS NULL;
SELECT is((SELECT count(*)
             FROM crimesnap.snap_many((SELECT array_agg(id ORDER BY id) FROM other),
                                      (SELECT array_agg(geom ORDER BY id) FROM other),
                                      (SELECT array_agg(nb ORDER BY id) FROM other)) m
             JOIN other o USING (id)
            WHERE m.point_id IS DISTINCT FROM
                  (SELECT p.point_id FROM crimesnap.snap_point p
                    WHERE p.version = :v AND p.neighbourhood_id = o.nb
                      AND ST_Distance(p.geom, o.geom) <= 20000
                    ORDER BY ST_Distance(p.geom, o.geom), p.point_id LIMIT 1)),
          0::bigint, 'a given neighbourhood is snapped within, never across');

-- A short crimesnap.max_snap_distance: the same crimes beyond it are not mapped.
SET LOCAL crimesnap.max_snap_distance = 60;
SELECT is((SELECT count(*)
             FROM crimesnap.snap_many((SELECT array_agg(id ORDER BY id) FROM bf WHERE nb IS NOT NULL AND id % 5 = 0),
                                      (SELECT array_agg(geom ORDER BY id) FROM bf WHERE nb IS NOT NULL AND id % 5 = 0)) m
             JOIN bf USING (id)
            WHERE m.point_id IS DISTINCT FROM CASE WHEN bf.dist <= 60 THEN bf.point_id END),
          0::bigint, 'beyond crimesnap.max_snap_distance a crime is not mapped, at exactly it it is');
SELECT cmp_ok((SELECT count(*) FROM bf WHERE nb IS NOT NULL AND id % 5 = 0 AND dist > 60), '>', 0::bigint,
              'some crimes are further than 60 m from every point of their neighbourhood');
RESET crimesnap.max_snap_distance;

-- Fitzrovia.
\if :have_fitz
SELECT cmp_ok((SELECT count(*) FROM q WHERE area = 'fitzrovia'), '>=', 100000::bigint,
              'at least 100,000 crimes over Fitzrovia');
SELECT cmp_ok((SELECT count(*) FROM bf WHERE area = 'fitzrovia' AND kind = 'boundary'
                  AND (SELECT count(*) FROM crimesnap.neighbourhood n WHERE ST_Intersects(n.geom, bf.geom)) >= 2),
              '>=', 100::bigint, 'Fitzrovia''s boundary crimes include crimes on shared boundaries');
SELECT is((SELECT count(*) FROM bf JOIN cs USING (id) WHERE bf.area = 'fitzrovia'
            AND (cs.point_id IS DISTINCT FROM bf.point_id OR cs.neighbourhood_id IS DISTINCT FROM bf.nb
                 OR (bf.nb IS NULL) <> (cs.outcome = 'rejected'))),
          0::bigint, 'Fitzrovia: snap_detail agrees with brute force on point and neighbourhood');
SELECT is((SELECT count(*) FROM bf JOIN cs USING (id) WHERE bf.area = 'fitzrovia' AND cs.distance IS DISTINCT FROM bf.dist),
          0::bigint, 'Fitzrovia: distances are ST_Distance to the last bit');
SELECT is((SELECT count(*) FROM bf JOIN cs_many m USING (id) WHERE bf.area = 'fitzrovia' AND m.point_id IS DISTINCT FROM bf.point_id)
          + (SELECT count(*) FROM bf JOIN cs_scalar s USING (id) WHERE bf.area = 'fitzrovia' AND s.point_id IS DISTINCT FROM bf.point_id),
          0::bigint, 'Fitzrovia: snap_many and scalar snap agree with brute force');
SELECT cmp_ok((SELECT count(*) FROM bf WHERE area = 'fitzrovia' AND nb IS NULL), '>', 0::bigint,
              'Fitzrovia: crimes outside every neighbourhood are among them, and rejected');
\else
SELECT skip('the Fitzrovia data is not in ../shared/data/fitzrovia nor $CRIMESNAP_FITZROVIA', 6);
\endif

-- Boundaries and ties of both areas together, as a count, so a regression shows its size.
SELECT is((SELECT count(*) FROM bf JOIN cs USING (id) WHERE bf.kind <> 'random'
            AND (cs.point_id IS DISTINCT FROM bf.point_id OR cs.neighbourhood_id IS DISTINCT FROM bf.nb)),
          0::bigint, 'boundary and tie crimes: no disagreement');
SELECT cmp_ok((SELECT count(*) FROM cs), '=', (SELECT count(*) FROM q), 'one snap_detail row per crime');

SELECT * FROM finish();
ROLLBACK;
