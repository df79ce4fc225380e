-- Merge of promise (96) and ccore (97): both redefine these two functions; this carries
-- them as they now stand in sql/install/20-snap_points.sql (distinct postal addresses, rows input).

CREATE OR REPLACE FUNCTION crimesnap.address_streets()
RETURNS TABLE (address_id bigint, neighbourhood_id text, street_key text, geom geometry,
               matched_by text, distance double precision)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Each address counts once, for one street of its own neighbourhood (the lowest id that
  -- contains it): the street its name matches within 250 m, otherwise the nearest centreline.
  WITH piece AS MATERIALIZED (
    SELECT pg_catalog.row_number() OVER (ORDER BY p.neighbourhood_id, p.street_id, ST_AsBinary(p.geom)) AS piece_id, p.*
      FROM crimesnap.street_pieces() p
  ), addr AS MATERIALIZED (
    SELECT a.address_id, a.street_name, a.geom,
           crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id
      FROM crimesnap.postal_address a
  ), arg AS (
    SELECT (SELECT pg_catalog.array_agg(ROW(a.address_id, a.geom, a.street_name, a.neighbourhood_id)::crimesnap.address_input
                                        ORDER BY a.address_id) FROM addr a) AS addresses,
           (SELECT pg_catalog.array_agg(ROW(p.piece_id, p.geom, p.name, p.neighbourhood_id)::crimesnap.street_input
                                        ORDER BY p.piece_id) FROM piece p) AS streets
  )
  SELECT x.address_id, a.neighbourhood_id, p.street_key, a.geom, x.matched_by, x.distance
    FROM arg,
         crimesnap.associate_addresses(coalesce(arg.addresses, '{}'), coalesce(arg.streets, '{}')) x
    JOIN addr a ON a.address_id = x.address_id
    LEFT JOIN piece p ON p.piece_id = x.street_id
$fn$;
COMMENT ON FUNCTION crimesnap.address_streets() IS
  'Associates every distinct postal address (crimesnap.postal_address) with one street of its own neighbourhood: by normalised name within 250 m, else the nearest centreline (crimesnap.associate_addresses). street_key is NULL for an address outside every neighbourhood or in one without streets.';

CREATE OR REPLACE FUNCTION crimesnap.build_snap_point_set(
  mode text,
  min_addresses integer,
  rule text,
  make_current boolean,
  segment_length double precision)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  floor_k integer := crimesnap.setting('min_addresses')::integer;
  k integer := coalesce(min_addresses, floor_k);
  d double precision := crimesnap.setting('min_property_distance')::double precision;
  v integer;
  prev integer;
  base bigint;
  n_new integer;
  n integer;
  notes jsonb := '{}'::jsonb;
  pair record;
BEGIN
  IF k < floor_k THEN
    RAISE EXCEPTION 'min_addresses % is below crimesnap.min_addresses (%)', k, floor_k
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A snap point may serve more addresses than the privacy threshold, never fewer.';
  END IF;
  IF mode IS NULL OR mode NOT IN ('street', 'dense') THEN
    RAISE EXCEPTION 'unknown snap point mode "%"', mode
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use mode => ''street'' (one point per street) or mode => ''dense'' (a point per street segment).';
  END IF;
  IF rule IS NULL OR rule NOT IN ('midpoint', 'address_centroid', 'bbox_centre') THEN
    RAISE EXCEPTION 'unknown snap point rule "%"', rule
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use "midpoint", "address_centroid" or "bbox_centre".';
  END IF;
  IF mode = 'dense' AND NOT (segment_length > 0) THEN
    RAISE EXCEPTION 'segment_length % is not a length', segment_length
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the longest stretch of street one dense candidate stands for, in metres.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.neighbourhood) THEN
    RAISE EXCEPTION 'no neighbourhoods are loaded'
      USING ERRCODE = 'no_data_found',
            HINT = 'Load crimesnap.force and crimesnap.neighbourhood before building snap points.';
  END IF;

  -- One build at a time: two concurrent builds would both claim ids and the current flag.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.build_snap_points'));
  SELECT s.version INTO prev FROM crimesnap.snap_point_set s WHERE s.is_current;

  INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule, previous_version,
                                        min_property_distance, segment_length)
  VALUES (mode, k, rule, prev, d, CASE WHEN mode = 'dense' THEN segment_length END)
  RETURNING version INTO v;

  -- ---- inputs: street pieces, addresses in their neighbourhood, the association ----
  CREATE TEMP TABLE cs_piece ON COMMIT DROP AS
  SELECT pg_catalog.row_number() OVER (ORDER BY p.neighbourhood_id, p.street_id, ST_AsBinary(p.geom)) AS piece_id, p.*
    FROM crimesnap.street_pieces() p;
  -- Addresses count once each (crimesnap.postal_address: one row stands for its
  -- duplicates), so duplicated rows never lift a point over k.  Every row, duplicate or
  -- not, still keeps points min_property_distance away.
  CREATE TEMP TABLE cs_addr ON COMMIT DROP AS
  SELECT a.address_id, a.street_name, a.geom,
         crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id
    FROM crimesnap.postal_address a;
  PERFORM 'PRAGMA:TABLE: cs_piece (piece_id bigint, street_id bigint, neighbourhood_id text, street_key text, name text, geom geometry)';
  PERFORM 'PRAGMA:TABLE: cs_addr (address_id bigint, street_name text, geom geometry, neighbourhood_id text)';
  CREATE INDEX ON pg_temp.cs_addr USING gist (geom);
  ANALYZE pg_temp.cs_addr;
  CREATE TEMP TABLE cs_addr_all ON COMMIT DROP AS
  SELECT a.address_id, a.geom FROM crimesnap.address a;
  PERFORM 'PRAGMA:TABLE: cs_addr_all (address_id bigint, geom geometry)';
  CREATE INDEX ON pg_temp.cs_addr_all USING gist (geom);
  ANALYZE pg_temp.cs_addr_all;

  CREATE TEMP TABLE cs_assoc ON COMMIT DROP AS
  SELECT x.address_id, x.street_id AS piece_id
    FROM (SELECT pg_catalog.array_agg(ROW(a.address_id, a.geom, a.street_name, a.neighbourhood_id)::crimesnap.address_input
                                      ORDER BY a.address_id) AS addresses
            FROM pg_temp.cs_addr a) ad,
         (SELECT pg_catalog.array_agg(ROW(p.piece_id, p.geom, p.name, p.neighbourhood_id)::crimesnap.street_input
                                      ORDER BY p.piece_id) AS streets
            FROM pg_temp.cs_piece p) st,
         crimesnap.associate_addresses(coalesce(ad.addresses, '{}'), coalesce(st.streets, '{}')) x
   WHERE x.street_id IS NOT NULL;
  PERFORM 'PRAGMA:TABLE: cs_assoc (address_id bigint, piece_id bigint)';

  -- A street's label: the spelling of its name that covers the greatest length of it.
  CREATE TEMP TABLE cs_label ON COMMIT DROP AS
  SELECT DISTINCT ON (x.neighbourhood_id, x.street_key) x.neighbourhood_id, x.street_key, x.name AS label
    FROM (SELECT p.neighbourhood_id, p.street_key, p.name, sum(ST_Length(p.geom)) AS len
            FROM pg_temp.cs_piece p GROUP BY 1, 2, 3) x
   ORDER BY x.neighbourhood_id, x.street_key, x.len DESC, x.name;
  PERFORM 'PRAGMA:TABLE: cs_label (neighbourhood_id text, street_key text, label text)';

  CREATE TEMP TABLE cs_cand (
    cand_no          serial PRIMARY KEY,
    neighbourhood_id text,
    kind             text NOT NULL,
    label            text,
    source_id        bigint,
    explanation      text,
    geom             geometry,
    target           geometry,
    reject           text,
    old_point_id     bigint,
    rank             bigint
  ) ON COMMIT DROP;
  PERFORM 'PRAGMA:TABLE: cs_cand (cand_no integer, neighbourhood_id text, kind text, label text, source_id bigint, explanation text, geom geometry, target geometry, reject text, old_point_id bigint, rank bigint)';

  -- ---- street candidates ----
  IF mode = 'street' THEN
    -- One per street (neighbourhood and name) with at least k addresses, placed by the rule
    -- on its main piece, then moved along its centreline off any property.
    INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, geom, target, reject)
    SELECT s.neighbourhood_id, 'street', lbl.label, c.geom, s.centre,
           CASE WHEN c.geom IS NULL THEN 'no stretch of the street is clear of properties' END
      FROM (
        SELECT u.neighbourhood_id, u.street_key,
               crimesnap.snap_centre(u.geom, k, rule) AS centre,
               ST_Collect(u.geom ORDER BY u.piece_id) FILTER (WHERE u.name IS NOT NULL) AS lines
          FROM (SELECT p.neighbourhood_id, p.street_key, p.name, p.geom, p.piece_id FROM pg_temp.cs_piece p
                UNION ALL
                SELECT p.neighbourhood_id, p.street_key, NULL, a.geom, NULL
                  FROM pg_temp.cs_assoc x
                  JOIN pg_temp.cs_piece p ON p.piece_id = x.piece_id
                  JOIN pg_temp.cs_addr a ON a.address_id = x.address_id) u
         GROUP BY u.neighbourhood_id, u.street_key) s
      JOIN pg_temp.cs_label lbl ON lbl.neighbourhood_id = s.neighbourhood_id AND lbl.street_key = s.street_key
      CROSS JOIN LATERAL (
        SELECT crimesnap.clear_point(s.lines, s.centre,
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr_all a
                   WHERE ST_DWithin(a.geom, s.lines, d + 1)), d) AS geom) c
     WHERE s.centre IS NOT NULL
     ORDER BY s.neighbourhood_id, s.street_key;
  ELSE
    -- One per segment part, at its centre, moved along the part off any property.
    INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, geom, target, reject)
    SELECT seg.area, 'street', lbl.label, c.geom, seg.centre,
           CASE WHEN c.geom IS NULL THEN 'no stretch of the segment is clear of properties' END
      FROM (SELECT pg_catalog.array_agg(p.neighbourhood_id ORDER BY p.piece_id) AS areas,
                   pg_catalog.array_agg(p.street_key ORDER BY p.piece_id) AS keys,
                   pg_catalog.array_agg(p.geom ORDER BY p.piece_id) AS geoms
              FROM pg_temp.cs_piece p) arg
      CROSS JOIN LATERAL crimesnap.street_segments(coalesce(arg.areas, '{}'), coalesce(arg.keys, '{}'),
                                                   coalesce(arg.geoms, '{}'), segment_length) seg
      JOIN pg_temp.cs_label lbl ON lbl.neighbourhood_id = seg.area AND lbl.street_key = seg.street
      CROSS JOIN LATERAL (
        SELECT crimesnap.clear_point(seg.geom, seg.centre,
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr_all a
                   WHERE ST_DWithin(a.geom, seg.geom, d + 1)), d) AS geom) c
     ORDER BY seg.area, seg.street, seg.segment, seg.part;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  notes := notes || pg_catalog.jsonb_build_object('street_candidates', n);

  -- A point put on the very edge of its neighbourhood (the clipped end of a piece) can test
  -- as outside it by a rounding error: pull it 2 cm inside, or drop it if that is not clear.
  UPDATE pg_temp.cs_cand c
     SET geom = m.geom, reject = m.reject
    FROM (SELECT c2.cand_no, x.geom,
                 CASE WHEN x.geom IS NULL OR ST_IsEmpty(x.geom) OR NOT ST_Intersects(nb.geom, x.geom)
                        OR EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, x.geom, d))
                      THEN 'on the edge of its neighbourhood' END AS reject
            FROM pg_temp.cs_cand c2
            JOIN crimesnap.neighbourhood nb ON nb.neighbourhood_id = c2.neighbourhood_id
            CROSS JOIN LATERAL (SELECT ST_ClosestPoint(ST_Buffer(nb.geom, -0.02), c2.geom) AS geom) x
           WHERE c2.reject IS NULL AND NOT ST_Intersects(nb.geom, c2.geom)) m
   WHERE c.cand_no = m.cand_no;

  CREATE INDEX ON pg_temp.cs_cand USING gist (geom);
  ANALYZE pg_temp.cs_cand;

  -- Two parts moved off properties onto the same spot are one candidate.
  UPDATE pg_temp.cs_cand c SET reject = 'same place as another candidate of the street'
   WHERE c.reject IS NULL
     AND EXISTS (SELECT FROM pg_temp.cs_cand c2
                  WHERE c2.reject IS NULL AND c2.cand_no < c.cand_no
                    AND c2.neighbourhood_id = c.neighbourhood_id AND c2.label = c.label
                    AND ST_DWithin(c2.geom, c.geom, 0.01));

  -- ---- public places and premises: points that serve no address ----
  INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, source_id, geom, reject)
  SELECT nb.neighbourhood_id, 'place', pl.class, pl.place_id, pl.geom,
         CASE WHEN nb.neighbourhood_id IS NULL THEN 'outside every neighbourhood'
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, pl.geom, d))
                THEN pg_catalog.format('within %s m of an address', d) END
    FROM crimesnap.public_place pl
    LEFT JOIN LATERAL (SELECT crimesnap.neighbourhood_at(pl.geom) AS neighbourhood_id) nb ON true
   ORDER BY pl.place_id;

  -- ---- force points: checked here, admitted by select_snap_points() ----
  INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, source_id, explanation, geom, reject)
  SELECT nb.neighbourhood_id, 'force', f.label, f.force_point_id, f.explanation, f.geom,
         CASE WHEN nb.neighbourhood_id IS NULL THEN 'outside every neighbourhood'
              WHEN nb.force_id <> f.force_id
                THEN pg_catalog.format('in neighbourhood %s of force %s, not in an area of force %s',
                                       nb.neighbourhood_id, nb.force_id, f.force_id)
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, f.geom, d))
                THEN pg_catalog.format('within %s m of an address (crimesnap.min_property_distance)', d) END
    FROM crimesnap.force_snap_point f
    LEFT JOIN LATERAL (SELECT n.neighbourhood_id, n.force_id FROM crimesnap.neighbourhood n
                        WHERE n.neighbourhood_id = crimesnap.neighbourhood_at(f.geom)) nb ON true
   ORDER BY f.force_point_id;

  -- ---- ids: a point that did not move keeps its id, and so does one that moved ----
  -- Not moved: same neighbourhood, kind and label within 1 cm.  It keeps the old location to
  -- the bit, so that nothing about it changes, unless that location is no longer clear.
  UPDATE pg_temp.cs_cand c
     SET old_point_id = m.point_id, geom = m.geom
    FROM (SELECT DISTINCT ON (x.cand_no) x.cand_no, x.point_id, x.geom
            FROM (SELECT DISTINCT ON (o.point_id) o.point_id, o.geom, c2.cand_no, ST_Distance(o.geom, c2.geom) AS dist
                    FROM pg_temp.cs_cand c2
                    JOIN crimesnap.snap_point o
                      ON o.version = prev AND o.neighbourhood_id = c2.neighbourhood_id
                     AND o.kind = c2.kind AND o.label = c2.label AND ST_DWithin(o.geom, c2.geom, 0.01)
                   WHERE c2.reject IS NULL
                     AND NOT EXISTS (SELECT FROM pg_temp.cs_addr_all a WHERE ST_DWithin(a.geom, o.geom, d))
                     AND EXISTS (SELECT FROM crimesnap.neighbourhood nb
                                  WHERE nb.neighbourhood_id = o.neighbourhood_id AND ST_Intersects(nb.geom, o.geom))
                   ORDER BY o.point_id, dist, c2.cand_no) x
           ORDER BY x.cand_no, x.dist, x.point_id) m
   WHERE c.cand_no = m.cand_no;
  -- Moved: the nearest unclaimed old point of the same neighbourhood, kind and label within
  -- 50 m, nearest pairs first.
  CREATE INDEX ON pg_temp.cs_cand (old_point_id);
  FOR pair IN
    SELECT c.cand_no, o.point_id
      FROM pg_temp.cs_cand c
      JOIN crimesnap.snap_point o
        ON o.version = prev AND o.neighbourhood_id = c.neighbourhood_id
       AND o.kind = c.kind AND o.label = c.label AND ST_DWithin(o.geom, c.geom, 50)
     WHERE c.reject IS NULL AND c.old_point_id IS NULL
       AND NOT EXISTS (SELECT FROM pg_temp.cs_cand c3 WHERE c3.old_point_id = o.point_id)
     ORDER BY ST_Distance(o.geom, c.geom), o.point_id, c.cand_no
  LOOP
    UPDATE pg_temp.cs_cand c SET old_point_id = pair.point_id
     WHERE c.cand_no = pair.cand_no AND c.old_point_id IS NULL
       AND NOT EXISTS (SELECT FROM pg_temp.cs_cand c3 WHERE c3.old_point_id = pair.point_id);
  END LOOP;

  -- Every other candidate gets a new id from one block of the sequence, in a canonical order.
  -- The id is the candidate's rank, the tie-break of select_snap_points(), so catchments come
  -- out the same there as in crimesnap.snap() and the audit.
  UPDATE pg_temp.cs_cand c SET rank = c.old_point_id WHERE c.old_point_id IS NOT NULL;
  SELECT count(*) INTO n_new FROM pg_temp.cs_cand c WHERE c.reject IS NULL AND c.old_point_id IS NULL;
  IF n_new > 0 THEN
    base := pg_catalog.nextval('crimesnap.snap_point_id_seq');
    PERFORM pg_catalog.setval('crimesnap.snap_point_id_seq', base + n_new - 1);
    UPDATE pg_temp.cs_cand c SET rank = base + o.ord - 1
      FROM (SELECT c2.cand_no,
                   pg_catalog.row_number() OVER (ORDER BY c2.neighbourhood_id, c2.kind, c2.label,
                                                 ST_X(c2.geom), ST_Y(c2.geom), c2.cand_no) AS ord
              FROM pg_temp.cs_cand c2 WHERE c2.reject IS NULL AND c2.old_point_id IS NULL) o
     WHERE c.cand_no = o.cand_no;
  END IF;

  -- ---- selection ----
  CREATE TEMP TABLE cs_sel ON COMMIT DROP AS
  SELECT s.*
    FROM (SELECT pg_catalog.array_agg(ROW(c.rank, c.geom, c.neighbourhood_id, c.kind)::crimesnap.snap_candidate
                                      ORDER BY c.rank) AS candidates
            FROM pg_temp.cs_cand c WHERE c.rank IS NOT NULL) cand,
         (SELECT pg_catalog.array_agg(ROW(a.address_id, a.geom, a.street_name, a.neighbourhood_id)::crimesnap.address_input
                                      ORDER BY a.address_id) AS addresses
            FROM pg_temp.cs_addr a) ad,
         crimesnap.select_snap_points(coalesce(cand.candidates, '{}'), coalesce(ad.addresses, '{}'), k) s;
  PERFORM 'PRAGMA:TABLE: cs_sel (rank bigint, kept boolean, catchment integer, reason text)';

  INSERT INTO crimesnap.snap_point
         (version, point_id, neighbourhood_id, kind, label, address_count, lsoa_code, lsoa_name,
          longitude, latitude, explanation, geom, source_id)
  SELECT v, c.rank, c.neighbourhood_id, c.kind, c.label, s.catchment, l.lsoa_code, l.name,
         ST_X(ST_Transform(c.geom, 4326)), ST_Y(ST_Transform(c.geom, 4326)),
         c.explanation, c.geom, c.source_id
    FROM pg_temp.cs_cand c
    JOIN pg_temp.cs_sel s ON s.rank = c.rank AND s.kept
    LEFT JOIN LATERAL (
      SELECT x.lsoa_code, x.name FROM crimesnap.lsoa x WHERE ST_Intersects(x.geom, c.geom)
       ORDER BY x.lsoa_code LIMIT 1) l ON true
   ORDER BY c.rank;

  INSERT INTO crimesnap.force_snap_point_result (version, force_point_id, point_id, reason)
  SELECT v, c.source_id, CASE WHEN s.kept THEN c.rank END,
         CASE WHEN s.kept THEN NULL ELSE coalesce(c.reject, s.reason, 'not admitted') END
    FROM pg_temp.cs_cand c
    LEFT JOIN pg_temp.cs_sel s ON s.rank = c.rank
   WHERE c.kind = 'force';

  -- ---- the changelog against the previous current set ----
  INSERT INTO crimesnap.snap_point_change (version, point_id, change, old_geom, new_geom, label, distance)
  SELECT v, coalesce(n.point_id, o.point_id),
         CASE WHEN o.point_id IS NULL THEN 'added' WHEN n.point_id IS NULL THEN 'removed' ELSE 'moved' END,
         o.geom, n.geom, coalesce(n.label, o.label),
         CASE WHEN o.point_id IS NOT NULL AND n.point_id IS NOT NULL THEN ST_Distance(o.geom, n.geom) END
    FROM (SELECT * FROM crimesnap.snap_point p WHERE p.version = v) n
    FULL JOIN (SELECT * FROM crimesnap.snap_point p WHERE p.version = prev) o ON o.point_id = n.point_id
   WHERE o.point_id IS NULL OR n.point_id IS NULL OR NOT ST_OrderingEquals(o.geom, n.geom);

  -- ---- catchment areas: Voronoi cells within each neighbourhood ----
  INSERT INTO crimesnap.snap_point_catchment (version, point_id, geom)
  WITH pts AS (
    SELECT p.point_id, p.neighbourhood_id, p.geom,
           pg_catalog.count(*) OVER (PARTITION BY p.neighbourhood_id) AS n
      FROM crimesnap.snap_point p WHERE p.version = v
  ), cells AS (
    SELECT x.neighbourhood_id, (ST_Dump(ST_VoronoiPolygons(ST_Collect(x.geom), 0, nb.geom))).geom AS cell
      FROM pts x JOIN crimesnap.neighbourhood nb USING (neighbourhood_id)
     WHERE x.n > 1
     GROUP BY x.neighbourhood_id, nb.geom
  ), owner AS (
    -- A cell holds one point, or several at one location: the lowest id wins those ties.
    SELECT DISTINCT ON (c.neighbourhood_id, ST_AsBinary(c.cell)) p.point_id, c.cell
      FROM cells c JOIN pts p ON p.neighbourhood_id = c.neighbourhood_id AND ST_Intersects(c.cell, p.geom)
     ORDER BY c.neighbourhood_id, ST_AsBinary(c.cell), p.point_id
  )
  SELECT v, p.point_id,
         ST_Multi(ST_CollectionExtract(
           CASE WHEN p.n = 1 THEN nb.geom
                WHEN o.cell IS NULL THEN 'POLYGON EMPTY'::geometry
                ELSE ST_Intersection(o.cell, nb.geom) END, 3))
    FROM pts p
    JOIN crimesnap.neighbourhood nb USING (neighbourhood_id)
    LEFT JOIN owner o ON o.point_id = p.point_id;

  -- ---- notes, audit, current ----
  SELECT notes || pg_catalog.jsonb_build_object(
           'rejected', (SELECT coalesce(pg_catalog.jsonb_object_agg(r.reject, r.n), '{}')
                          FROM (SELECT c.kind || ': ' || c.reject AS reject, count(*) AS n
                                  FROM pg_temp.cs_cand c WHERE c.reject IS NOT NULL GROUP BY 1) r),
           'moved_off_properties', (SELECT count(*) FROM pg_temp.cs_cand c
                                     WHERE c.kind = 'street' AND c.geom IS NOT NULL
                                       AND NOT ST_DWithin(c.geom, c.target, 0.01)),
           'pruned', (SELECT count(*) FROM pg_temp.cs_sel s WHERE NOT s.kept),
           'kept_ids', (SELECT count(*) FROM pg_temp.cs_cand c JOIN pg_temp.cs_sel s ON s.rank = c.rank
                         WHERE s.kept AND c.old_point_id IS NOT NULL),
           'addresses', (SELECT count(*) FROM pg_temp.cs_addr),
           'address_rows', (SELECT count(*) FROM pg_temp.cs_addr_all),
           'addresses_outside_neighbourhoods', (SELECT count(*) FROM pg_temp.cs_addr a WHERE a.neighbourhood_id IS NULL))
    INTO notes;
  UPDATE crimesnap.snap_point_set s
     SET point_count = (SELECT count(*) FROM crimesnap.snap_point p WHERE p.version = v),
         build_notes = notes
   WHERE s.version = v;

  -- The audit recomputes every catchment with PostGIS, independently of the C code above; a
  -- set that fails it is never stored.
  SELECT count(*) INTO n FROM crimesnap.audit_snap_points(v);
  IF n > 0 THEN
    RAISE EXCEPTION 'snap point set % failed its own audit with % violations', v, n
      USING ERRCODE = 'internal_error',
            DETAIL = (SELECT pg_catalog.string_agg(pg_catalog.format('point %s: %s (%s)', a.point_id, a.violation, a.detail), '; ')
                        FROM (SELECT * FROM crimesnap.audit_snap_points(v) LIMIT 5) a),
            HINT = 'Nothing was stored. Report this as a bug in crimesnap, with the input tables.';
  END IF;

  -- Coverage: say what the set leaves out of reach, so that a rural force sees it.
  SELECT count(*) FILTER (WHERE c.points = 0 AND c.addresses > 0) AS no_point,
         coalesce(sum(c.addresses) FILTER (WHERE c.points = 0), 0) AS no_point_addresses,
         count(*) FILTER (WHERE c.street_points <= 1 AND c.points > 0 AND c.addresses > 0) AS one_point,
         max(c.farthest_address) AS farthest,
         coalesce(sum(c.share_beyond * ST_Area(nb.geom)) / nullif(sum(ST_Area(nb.geom)), 0::float8), 0::float8) AS share,
         max(c.beyond_distance) AS beyond
    INTO pair
    FROM crimesnap.snap_point_coverage(v, NULL) c
    JOIN crimesnap.neighbourhood nb ON nb.neighbourhood_id = c.neighbourhood_id;
  UPDATE crimesnap.snap_point_set s
     SET build_notes = s.build_notes || pg_catalog.jsonb_build_object(
           'coverage', pg_catalog.jsonb_build_object(
             'neighbourhoods_without_point', pair.no_point, 'addresses_without_point', pair.no_point_addresses,
             'neighbourhoods_with_one_street_point', pair.one_point,
             'farthest_address_m', round(pair.farthest::numeric, 1),
             'share_of_area_beyond', round(pair.share::numeric, 4),
             'beyond_m', pair.beyond))
   WHERE s.version = v;
  RAISE NOTICE 'snap point set %: % neighbourhoods with addresses have no point (% addresses), % have one street point or none; the farthest address is % m from its point; % %% of the area is more than % m from every point',
               v, pair.no_point, pair.no_point_addresses, pair.one_point, coalesce(round(pair.farthest::numeric, 1)::text, 'n/a'),
               round(100 * pair.share::numeric, 1), pair.beyond
    USING HINT = 'See crimesnap.snap_coverage. A force can add public places (crimesnap.public_place) and its own points (crimesnap.force_snap_point); a smaller k is not an option.';

  IF make_current THEN
    PERFORM crimesnap.set_current_snap_points(v);
  END IF;
  DROP TABLE pg_temp.cs_piece, pg_temp.cs_addr, pg_temp.cs_addr_all, pg_temp.cs_assoc, pg_temp.cs_label, pg_temp.cs_cand, pg_temp.cs_sel;
  RETURN v;
END
$fn$;
COMMENT ON FUNCTION crimesnap.build_snap_point_set(text, integer, text, boolean, double precision) IS
  'build_snap_points() with every option: also segment_length, the longest stretch of street (metres) one dense-mode candidate stands for. Returns the new version.';
