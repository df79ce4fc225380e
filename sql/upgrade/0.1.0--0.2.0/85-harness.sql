-- harness: plpgsql_check runs over every PL/pgSQL function in make check (issue 10).  The
-- functions that create temporary tables declare them with plpgsql_check pragmas
-- (PERFORM 'PRAGMA:TABLE: ...', a no-op without plpgsql_check); build_snap_point_set,
-- sanitise_address and partner_extract initialise their variables with the variable's type,
-- and sanitise_address loses an unused variable.  Each function is carried whole, as it now
-- stands in sql/install.

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
  -- The temporary tables declared for plpgsql_check, which cannot see them before they exist.
  PERFORM 'PRAGMA:TABLE: cs_piece (piece_id bigint, street_id bigint, neighbourhood_id text, street_key text, name text, geom geometry)';
  CREATE TEMP TABLE cs_addr ON COMMIT DROP AS
  SELECT a.address_id, a.street_name, a.geom,
         crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id
    FROM crimesnap.address a;
  PERFORM 'PRAGMA:TABLE: cs_addr (address_id bigint, street_name text, geom geometry, neighbourhood_id text)';
  CREATE INDEX ON pg_temp.cs_addr USING gist (geom);
  ANALYZE pg_temp.cs_addr;

  CREATE TEMP TABLE cs_assoc ON COMMIT DROP AS
  SELECT x.address_id, x.street_id AS piece_id
    FROM (SELECT pg_catalog.array_agg(a.address_id ORDER BY a.address_id) AS ids,
                 pg_catalog.array_agg(a.geom ORDER BY a.address_id) AS geoms,
                 pg_catalog.array_agg(a.street_name ORDER BY a.address_id) AS names,
                 pg_catalog.array_agg(a.neighbourhood_id ORDER BY a.address_id) AS areas
            FROM pg_temp.cs_addr a) ad,
         (SELECT pg_catalog.array_agg(p.piece_id ORDER BY p.piece_id) AS ids,
                 pg_catalog.array_agg(p.geom ORDER BY p.piece_id) AS geoms,
                 pg_catalog.array_agg(p.name ORDER BY p.piece_id) AS names,
                 pg_catalog.array_agg(p.neighbourhood_id ORDER BY p.piece_id) AS areas
            FROM pg_temp.cs_piece p) st,
         crimesnap.associate_addresses(coalesce(ad.ids, '{}'), coalesce(ad.geoms, '{}'), coalesce(ad.names, '{}'),
                                       coalesce(st.ids, '{}'), coalesce(st.geoms, '{}'), coalesce(st.names, '{}'),
                                       coalesce(ad.areas, '{}'), coalesce(st.areas, '{}')) x
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
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr a
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
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr a
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
                        OR EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, x.geom, d))
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
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, pl.geom, d))
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
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, f.geom, d))
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
                     AND NOT EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, o.geom, d))
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
    FROM (SELECT pg_catalog.array_agg(c.rank ORDER BY c.rank) AS ranks,
                 pg_catalog.array_agg(c.geom ORDER BY c.rank) AS geoms,
                 pg_catalog.array_agg(c.neighbourhood_id ORDER BY c.rank) AS areas,
                 pg_catalog.array_agg(c.kind ORDER BY c.rank) AS kinds
            FROM pg_temp.cs_cand c WHERE c.rank IS NOT NULL) cand,
         (SELECT pg_catalog.array_agg(a.geom ORDER BY a.address_id) AS geoms,
                 pg_catalog.array_agg(a.neighbourhood_id ORDER BY a.address_id) AS areas
            FROM pg_temp.cs_addr a) ad,
         crimesnap.select_snap_points(coalesce(cand.ranks, '{}'), coalesce(cand.geoms, '{}'),
                                      coalesce(cand.areas, '{}'), coalesce(cand.kinds, '{}'),
                                      coalesce(ad.geoms, '{}'), coalesce(ad.areas, '{}'), k) s;
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

  IF make_current THEN
    PERFORM crimesnap.set_current_snap_points(v);
  END IF;
  DROP TABLE pg_temp.cs_piece, pg_temp.cs_addr, pg_temp.cs_assoc, pg_temp.cs_label, pg_temp.cs_cand, pg_temp.cs_sel;
  RETURN v;
END
$fn$;

CREATE OR REPLACE FUNCTION crimesnap.rotate_persistent_id_key(reason text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f record;
  n bigint;
BEGIN
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'rotating the persistent id key needs a reason'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Every published id changes: say why, for example that the key was exposed.';
  END IF;
  -- Nothing may publish or withdraw while the ids change under it.
  FOR f IN SELECT x.force_id FROM crimesnap.force x ORDER BY x.force_id LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f.force_id));
  END LOOP;
  CREATE TEMP TABLE cs_old_id ON COMMIT DROP AS
  SELECT DISTINCT r.force_id, r.crime_ref, r.persistent_id AS old_id FROM crimesnap.raw_crime r;
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_old_id (force_id text, crime_ref text, old_id text)';
  UPDATE crimesnap.secret s SET value = crimesnap.random_key() WHERE s.name = 'persistent_id_key';
  UPDATE crimesnap.raw_crime r SET persistent_id = crimesnap.persistent_id(r.force_id, r.crime_ref);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE crimesnap.withdrawal w SET persistent_id = crimesnap.persistent_id(o.force_id, o.crime_ref)
    FROM pg_temp.cs_old_id o WHERE w.persistent_id = o.old_id;
  UPDATE crimesnap.published_crime c SET persistent_id = r.persistent_id
    FROM crimesnap.raw_crime r WHERE r.crime_id = c.crime_id AND c.persistent_id IS NOT NULL;
  INSERT INTO crimesnap.audit_log (action, detail)
  VALUES ('rotate-key', pg_catalog.jsonb_build_object('records', n, 'reason', reason));
  DROP TABLE pg_temp.cs_old_id;
  RETURN n;
END
$fn$;

CREATE OR REPLACE FUNCTION crimesnap.register_batch(
  force            text,
  month            date,
  records_supplied integer,
  supplying_agency text,
  supplier_name    text,
  supplier_contact text,
  dataset_name     text,
  file_format      text DEFAULT 'crimesnap upload CSV 1',
  date_supplied    date DEFAULT CURRENT_DATE,
  caveats          text DEFAULT NULL)
RETURNS crimesnap.batch
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', register_batch.month)::date;
  b crimesnap.batch;
  n_loaded integer;
  n_rejected integer;
  missing text;
  id_key bytea;
BEGIN
  IF register_batch.force IS NULL OR register_batch.month IS NULL THEN
    RAISE EXCEPTION 'force and month must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = register_batch.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', register_batch.force
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Add it to crimesnap.force first, or use its force_id.';
  END IF;
  IF records_supplied IS NULL OR records_supplied < 0 THEN
    RAISE EXCEPTION 'records_supplied is %, not the number of records the force supplied', coalesce(records_supplied::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the record count from the supplier''s metadata (CSP guidance 3.4), not counted from the file.';
  END IF;
  SELECT pg_catalog.string_agg(x.name, ', ') INTO missing
    FROM (VALUES ('supplying_agency', supplying_agency), ('supplier_name', supplier_name),
                 ('supplier_contact', supplier_contact), ('dataset_name', dataset_name),
                 ('file_format', file_format), ('date_supplied', date_supplied::text)) AS x(name, value)
   WHERE x.value IS NULL OR btrim(x.value) = '';
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'batch metadata is missing: %', missing
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Section 3.4 of the CSP information-sharing guidance asks for every one of them with each supply.';
  END IF;

  -- A batch and a publication of the same force never interleave, so that a publication
  -- sees either all of a batch or none of it.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(register_batch.force));

  INSERT INTO crimesnap.batch AS x
    (force_id, month, supplying_agency, supplier_name, supplier_contact, dataset_name,
     period_start, period_end, file_format, records_supplied, date_supplied, caveats,
     records_loaded, records_rejected)
  VALUES (register_batch.force, m, supplying_agency, supplier_name, supplier_contact, dataset_name,
          m, (m + interval '1 month - 1 day')::date, file_format, records_supplied, date_supplied, caveats,
          0, records_supplied)
  RETURNING x.* INTO b;

  -- Claim this force's rows, and rows that name no known force (they are rejected here
  -- rather than left behind).  A failure below rolls the claim back with everything else.
  CREATE TEMP TABLE cs_upload ON COMMIT DROP AS
  WITH claimed AS (
    DELETE FROM crimesnap.crime_upload u
     WHERE u.force IS NOT DISTINCT FROM register_batch.force
        OR NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = u.force)
    RETURNING u.*)
  SELECT c.*,
         nullif(btrim(c.crime_ref), '') AS ref,
         upper(btrim(c.offence_code)) AS code,
         CASE WHEN c.committed_on ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$' THEN
           CASE WHEN substr(btrim(c.committed_on), 6, 2)::int BETWEEN 1 AND 12
                 AND substr(btrim(c.committed_on), 9, 2)::int BETWEEN 1 AND
                     extract(day FROM make_date(substr(btrim(c.committed_on), 1, 4)::int,
                                                substr(btrim(c.committed_on), 6, 2)::int, 1)
                                      + interval '1 month - 1 day')::int
                 AND substr(btrim(c.committed_on), 1, 4)::int > 0
                THEN substr(btrim(c.committed_on), 1, 10)::date END
         END AS committed,
         CASE WHEN nullif(btrim(c.easting), '') IS NULL AND nullif(btrim(c.northing), '') IS NULL THEN 'none'
              WHEN c.easting ~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' AND c.northing ~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*$'
               AND btrim(c.easting)::float8 BETWEEN 0 AND 700000
               AND btrim(c.northing)::float8 BETWEEN 0 AND 1300000 THEN 'ok'
              ELSE 'bad' END AS loc_state,
         crimesnap.screen_context(c.context) AS context_finding,
         crimesnap.screen_context(c.outcome) AS outcome_finding
    FROM claimed c;
  -- The temporary tables declared for plpgsql_check, which cannot see them before they exist.
  PERFORM 'PRAGMA:TABLE: cs_upload (upload_row bigint, force text, crime_ref text, offence_code text, committed_on text, easting text, northing text, neighbourhood text, outcome text, context text, loaded_by name, loaded_at timestamp with time zone, ref text, code text, committed date, loc_state text, context_finding text, outcome_finding text)';
  ANALYZE pg_temp.cs_upload;

  CREATE TEMP TABLE cs_checked ON COMMIT DROP AS
  SELECT u.*, loc.geom, loc.neighbourhood_id,
         CASE
           WHEN u.force IS DISTINCT FROM register_batch.force THEN 'unknown_force'
           WHEN u.ref IS NULL THEN 'missing_reference'
           WHEN u.dup > 1 THEN 'duplicate_reference'
           WHEN u.code IS DISTINCT FROM 'ASB' AND NOT EXISTS (
                  SELECT FROM crimesnap.offence_code o
                   WHERE o.offence_code = u.code
                     AND (o.force_id IS NULL OR o.force_id = register_batch.force)) THEN 'unknown_offence_code'
           WHEN u.committed IS NULL THEN 'invalid_date'
           WHEN pg_catalog.date_trunc('month', u.committed) <> m THEN 'date_outside_month'
           WHEN u.loc_state = 'bad' THEN 'impossible_coordinates'
           WHEN u.loc_state = 'ok' AND loc.neighbourhood_id IS NULL THEN 'outside_force_area'
           WHEN u.loc_state = 'none' AND nullif(btrim(u.neighbourhood), '') IS NOT NULL
                AND NOT EXISTS (SELECT FROM crimesnap.neighbourhood n
                                 WHERE n.neighbourhood_id = btrim(u.neighbourhood)
                                   AND n.force_id = register_batch.force) THEN 'unknown_neighbourhood'
           WHEN u.context_finding IS NOT NULL THEN 'personal_data_in_context'
           WHEN u.outcome_finding IS NOT NULL THEN 'personal_data_in_outcome'
         END AS reason_code
    FROM (SELECT x.*, row_number() OVER (PARTITION BY x.force, x.ref ORDER BY x.upload_row) AS dup
            FROM pg_temp.cs_upload x) u
    LEFT JOIN LATERAL (
      SELECT g.geom,
             CASE WHEN u.loc_state = 'ok' THEN
               (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                 WHERE n.force_id = register_batch.force AND ST_Intersects(n.geom, g.geom)
                 ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1)
             ELSE nullif(btrim(u.neighbourhood), '') END AS neighbourhood_id
        FROM (SELECT CASE WHEN u.loc_state = 'ok'
                          THEN ST_SetSRID(ST_MakePoint(btrim(u.easting)::float8, btrim(u.northing)::float8), 27700)
                     END AS geom) g) loc ON true;
  PERFORM 'PRAGMA:TABLE: cs_checked (upload_row bigint, force text, crime_ref text, offence_code text, committed_on text, easting text, northing text, neighbourhood text, outcome text, context text, loaded_by name, loaded_at timestamp with time zone, ref text, code text, committed date, loc_state text, context_finding text, outcome_finding text, dup bigint, geom geometry, neighbourhood_id text, reason_code text)';
  -- Temporary tables have no statistics until analysed, and the plans below join them.
  ANALYZE pg_temp.cs_checked;

  -- A reference already live from an earlier batch is being resubmitted: the new row wins,
  -- and keeps the persistent id, which depends on force and reference only.
  UPDATE crimesnap.raw_crime r SET superseded_by_batch = b.batch_id
    FROM pg_temp.cs_checked c
   WHERE c.reason_code IS NULL AND r.superseded_by_batch IS NULL
     AND r.force_id = register_batch.force AND r.crime_ref = c.ref;

  SELECT s.value INTO id_key FROM crimesnap.secret s WHERE s.name = 'persistent_id_key';
  INSERT INTO crimesnap.raw_crime
    (batch_id, force_id, crime_ref, persistent_id, month, offence_code, committed_on, geom,
     neighbourhood_id, outcome, context)
  SELECT b.batch_id, register_batch.force, c.ref, crimesnap.persistent_id_with_key(id_key, register_batch.force, c.ref),
         m, c.code, c.committed, c.geom, c.neighbourhood_id,
         nullif(btrim(c.outcome), ''), nullif(btrim(c.context), '')
    FROM pg_temp.cs_checked c
   WHERE c.reason_code IS NULL
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_loaded = ROW_COUNT;

  -- The reason quotes the offending value, except for personal data, where it names only
  -- the kind found, so that lists of reasons can be shared without the data itself.
  INSERT INTO crimesnap.reject (batch_id, upload_row, force_id, crime_ref, reason_code, reason, row_data)
  SELECT b.batch_id, c.upload_row, register_batch.force, c.ref, c.reason_code,
         rr.description || CASE c.reason_code
           WHEN 'unknown_force' THEN pg_catalog.format(' (%s)', coalesce(c.force, 'empty'))
           WHEN 'duplicate_reference' THEN pg_catalog.format(' (%s rows of the batch have it)',
                                                             (SELECT count(*) FROM pg_temp.cs_checked d WHERE d.ref = c.ref AND d.force = c.force))
           WHEN 'unknown_offence_code' THEN pg_catalog.format(' (%s)', coalesce(nullif(c.code, ''), 'empty'))
           WHEN 'invalid_date' THEN pg_catalog.format(' (%s)', coalesce(c.committed_on, 'empty'))
           WHEN 'date_outside_month' THEN pg_catalog.format(' (%s is not in %s)', pg_catalog.to_char(c.committed, 'YYYY-MM-DD'), pg_catalog.to_char(m, 'YYYY-MM'))
           WHEN 'impossible_coordinates' THEN pg_catalog.format(' (easting %s, northing %s)',
                                                               coalesce(nullif(btrim(c.easting), ''), 'empty'),
                                                               coalesce(nullif(btrim(c.northing), ''), 'empty'))
           WHEN 'outside_force_area' THEN pg_catalog.format(' (%s, %s is not in any neighbourhood of %s)',
                                                           btrim(c.easting), btrim(c.northing), register_batch.force)
           WHEN 'unknown_neighbourhood' THEN pg_catalog.format(' (%s)', c.neighbourhood)
           WHEN 'personal_data_in_context' THEN pg_catalog.format(' (%s)', c.context_finding)
           WHEN 'personal_data_in_outcome' THEN pg_catalog.format(' (%s)', c.outcome_finding)
           ELSE '' END,
         pg_catalog.jsonb_build_object(
           'force', c.force, 'crime_ref', c.crime_ref, 'offence_code', c.offence_code,
           'committed_on', c.committed_on, 'easting', c.easting, 'northing', c.northing,
           'neighbourhood', c.neighbourhood, 'outcome', c.outcome, 'context', c.context)
    FROM pg_temp.cs_checked c
    JOIN crimesnap.reject_reason rr ON rr.reason_code = c.reason_code
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_rejected = ROW_COUNT;

  IF n_loaded + n_rejected <> records_supplied THEN
    RAISE EXCEPTION 'batch for force % month % has % records, but the supplier says % were supplied',
                    register_batch.force, pg_catalog.to_char(m, 'YYYY-MM'), n_loaded + n_rejected, records_supplied
      USING ERRCODE = 'data_exception',
            DETAIL = pg_catalog.format('%s rows would have loaded and %s been rejected from crimesnap.crime_upload; loaded + rejected must equal supplied.',
                                       n_loaded, n_rejected),
            HINT = 'Check that the whole file was copied into crimesnap.crime_upload and nothing else, then register the batch again with the supplier''s record count. Nothing was kept: the rows are still in crimesnap.crime_upload.';
  END IF;

  -- Corrected rows: an earlier reject of a reference this batch has now loaded is resolved.
  UPDATE crimesnap.reject r
     SET resolved_by_batch = b.batch_id, resolved_crime_id = rc.crime_id
    FROM crimesnap.raw_crime rc
   WHERE rc.batch_id = b.batch_id AND r.force_id = register_batch.force
     AND r.crime_ref = rc.crime_ref AND r.resolved_by_batch IS NULL;

  UPDATE crimesnap.batch x SET records_loaded = n_loaded, records_rejected = n_rejected
   WHERE x.batch_id = b.batch_id
  RETURNING x.* INTO b;
  DROP TABLE pg_temp.cs_upload, pg_temp.cs_checked;
  RETURN b;
END
$fn$;

CREATE OR REPLACE FUNCTION crimesnap.publish_month(
  force text,
  month date,
  reference_date date DEFAULT CURRENT_DATE,
  category_scheme text DEFAULT 'police.uk')
RETURNS TABLE (crimes integer, mapped integer, no_location integer, withheld integer, rolled_off integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', publish_month.month)::date;
  opens date;
  v integer := crimesnap.current_snap_version();
  keep_from date;
  ids bigint[];
  geoms geometry[];
  nbs text[];
  n_withheld integer;
  bad text;
  problem record;
BEGIN
  IF publish_month.force IS NULL OR publish_month.month IS NULL OR reference_date IS NULL OR category_scheme IS NULL THEN
    RAISE EXCEPTION 'force, month, reference_date and category_scheme must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = publish_month.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', publish_month.force
      USING ERRCODE = 'foreign_key_violation', HINT = 'See crimesnap.force.';
  END IF;
  opens := crimesnap.publishable_from(m);
  IF reference_date < opens THEN
    RAISE EXCEPTION 'month % cannot be published before %', pg_catalog.to_char(m, 'YYYY-MM'), pg_catalog.to_char(opens, 'YYYY-MM-DD')
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('crimesnap.min_age_days is %s: a month is published no sooner than that many days after it ends, and %s is %s days too early.',
                                       crimesnap.setting('min_age_days'), pg_catalog.to_char(reference_date, 'YYYY-MM-DD'), opens - reference_date),
            HINT = pg_catalog.format('Publish it on or after %s.', pg_catalog.to_char(opens, 'YYYY-MM-DD'));
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.category c WHERE c.scheme = category_scheme) THEN
    RAISE EXCEPTION 'category scheme "%" does not exist', category_scheme
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''police.uk'' or ''crimemapper-2010'', or add a scheme to crimesnap.category and crimesnap.category_fold.';
  END IF;
  IF v IS NULL THEN
    RAISE EXCEPTION 'there is no current snap point set'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Build one with crimesnap.build_snap_points().';
  END IF;
  IF EXISTS (SELECT FROM crimesnap.withdrawal w
              WHERE w.force_id = publish_month.force AND w.reinstated_at IS NULL
                AND (w.scope = 'force' OR (w.scope = 'month' AND w.month = m))) THEN
    RAISE EXCEPTION 'force % has withdrawn its data for %', publish_month.force, pg_catalog.to_char(m, 'YYYY-MM')
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Reinstate it first with crimesnap.reinstate(withdrawal_id, reason); see crimesnap.withdrawal.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.batch b WHERE b.force_id = publish_month.force AND b.month = m) THEN
    RAISE EXCEPTION 'no batch has been registered for force % and month %', publish_month.force, pg_catalog.to_char(m, 'YYYY-MM')
      USING ERRCODE = 'no_data_found',
            HINT = 'Load the month into crimesnap.crime_upload and call crimesnap.register_batch() first.';
  END IF;

  -- One publication, batch, withdrawal or roll-off per force at a time; other forces go
  -- ahead in parallel.  Every statement below sees this force's data as it is now.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(publish_month.force));

  SELECT pg_catalog.string_agg(DISTINCT r.offence_code, ', ') INTO bad
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.offence_code o
                      JOIN crimesnap.category_fold cf ON cf.scheme = category_scheme AND cf.police_uk_slug = o.slug
                      WHERE o.offence_code = r.offence_code
                        AND (o.force_id IS NULL OR o.force_id = r.force_id));
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'offence codes % of force % do not map to a category of scheme %', bad, publish_month.force, category_scheme
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Restore them in crimesnap.offence_code, or complete crimesnap.category_fold for the scheme, before publishing.';
  END IF;

  -- A re-publish replaces the month, street-level rows and trend counts alike.  Readers
  -- see the old month until this transaction commits, then the new one.
  DELETE FROM crimesnap.published_crime c WHERE c.force_id = publish_month.force AND c.month = m;
  DELETE FROM crimesnap.trend t WHERE t.force_id = publish_month.force AND t.month = m;
  DELETE FROM crimesnap.trend_member t WHERE t.force_id = publish_month.force AND t.month = m;
  INSERT INTO crimesnap.publication AS p
    (force_id, month, status, snap_version, category_scheme, reference_date, crimes, mapped, no_location, withheld)
  VALUES (publish_month.force, m, 'street-level', v, category_scheme, reference_date, 0, 0, 0, 0)
  ON CONFLICT ON CONSTRAINT publication_pkey DO UPDATE
    SET status = 'street-level', snap_version = v, category_scheme = EXCLUDED.category_scheme,
        reference_date = EXCLUDED.reference_date, published_at = pg_catalog.now(),
        published_by = SESSION_USER, rolled_off_at = NULL,
        crimes = 0, mapped = 0, no_location = 0, withheld = 0;

  CREATE TEMP TABLE cs_live ON COMMIT DROP AS
  SELECT r.*
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.withdrawal w
                      WHERE w.scope = 'record' AND w.reinstated_at IS NULL
                        AND w.persistent_id = r.persistent_id);
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_live (LIKE crimesnap.raw_crime)';
  ANALYZE pg_temp.cs_live;
  SELECT count(*) - (SELECT count(*) FROM pg_temp.cs_live) INTO n_withheld
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL;

  SELECT pg_catalog.array_agg(l.crime_id ORDER BY l.crime_id), pg_catalog.array_agg(l.geom ORDER BY l.crime_id),
         pg_catalog.array_agg(l.neighbourhood_id ORDER BY l.crime_id)
    INTO ids, geoms, nbs
    FROM pg_temp.cs_live l WHERE l.geom IS NOT NULL;

  INSERT INTO crimesnap.published_crime
    (crime_id, force_id, month, persistent_id, category, snap_version, point_id, neighbourhood_id,
     outcome, context, no_location_reason)
  SELECT l.crime_id, l.force_id, m,
         CASE WHEN cat.police_uk_slug = 'anti-social-behaviour' THEN NULL ELSE l.persistent_id END,
         cat.slug, v, s.point_id,
         coalesce(sp.neighbourhood_id, l.neighbourhood_id),
         l.outcome, l.context,
         CASE WHEN l.geom IS NULL THEN 'no location supplied'
              WHEN s.point_id IS NULL THEN pg_catalog.format('no snap point within %s m in its neighbourhood',
                                                  crimesnap.setting('max_snap_distance'))
         END
    FROM pg_temp.cs_live l
    LEFT JOIN crimesnap.snap_many(coalesce(ids, '{}'), coalesce(geoms, '{}'), coalesce(nbs, '{}')) s ON s.id = l.crime_id
    LEFT JOIN crimesnap.snap_point sp ON sp.version = v AND sp.point_id = s.point_id
    CROSS JOIN LATERAL (
      SELECT f.police_uk_slug, f.slug
        FROM crimesnap.offence_code o
        JOIN crimesnap.category_fold f ON f.scheme = category_scheme AND f.police_uk_slug = o.slug
       WHERE o.offence_code = l.offence_code AND (o.force_id IS NULL OR o.force_id = l.force_id)
       ORDER BY o.force_id NULLS LAST LIMIT 1) cat
   ORDER BY l.crime_id;

  -- What a published location says is enforced here, not trusted to the snap point build:
  -- "On or near" a street or a class of place, never a house number, a building or a postcode.
  SELECT p.point_id, p.label, crimesnap.location_label_problem(p.label) AS why INTO problem
    FROM crimesnap.snap_point p
   WHERE p.version = v
     AND p.point_id IN (SELECT c.point_id FROM crimesnap.published_crime c
                         WHERE c.force_id = publish_month.force AND c.month = m)
     AND crimesnap.location_label_problem(p.label) IS NOT NULL
   ORDER BY p.point_id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'snap point % may not be published as "On or near %"', problem.point_id, problem.label
      USING ERRCODE = 'check_violation',
            DETAIL = problem.why || '.',
            HINT = 'Correct the street or place in the input tables and rebuild the snap points, or add the class to crimesnap.place_class. Nothing was published.';
  END IF;

  UPDATE crimesnap.publication p
     SET crimes = x.crimes, mapped = x.mapped, no_location = x.crimes - x.mapped, withheld = n_withheld
    FROM (SELECT count(*)::integer AS crimes, count(c.point_id)::integer AS mapped
            FROM crimesnap.published_crime c
           WHERE c.force_id = publish_month.force AND c.month = m) x
   WHERE p.force_id = publish_month.force AND p.month = m
  RETURNING p.crimes, p.mapped, p.no_location, p.withheld INTO crimes, mapped, no_location, withheld;

  -- Roll-off in the same transaction: only the newest street_level_months months stay.
  SELECT (max(p.month) - pg_catalog.make_interval(months => crimesnap.setting('street_level_months')::integer - 1))::date
    INTO keep_from
    FROM crimesnap.publication p
   WHERE p.force_id = publish_month.force AND p.status = 'street-level';
  SELECT count(*) INTO rolled_off FROM crimesnap.roll_off_before(publish_month.force, keep_from);

  -- The audit proves the rules on what was just written; a violation undoes it all.
  SELECT a.* INTO problem FROM crimesnap.audit_publication(publish_month.force, NULL) a LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'publication of % % fails its audit: %', publish_month.force, pg_catalog.to_char(problem.month, 'YYYY-MM'), problem.violation
      USING ERRCODE = 'check_violation',
            DETAIL = problem.detail,
            HINT = 'See SELECT * FROM crimesnap.audit_publication(force). Nothing was published.';
  END IF;

  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('publish', publish_month.force, m,
          pg_catalog.jsonb_build_object('crimes', crimes, 'mapped', mapped, 'no_location', no_location,
                                        'withheld', withheld, 'rolled_off_months', rolled_off,
                                        'snap_version', v, 'category_scheme', category_scheme,
                                        'reference_date', reference_date));
  DROP TABLE pg_temp.cs_live;
  RETURN NEXT;
END
$fn$;

CREATE OR REPLACE FUNCTION crimesnap.sanitise_address(address text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  pc text := crimesnap.address_postcode(address);
  rest text := address;
  parts text[];
  part text;
  before text;
  kept text[] := '{}'::text[];
  found_street boolean := false;
  street_at integer;
  -- A house or flat number: 12, 12a, 12 a, 12-14, 12/14, 12a-12c, 3.1.
  num constant text := '[0-9]+[a-z]?(\s*[-/.&]\s*[0-9]+[a-z]?)*';
  -- Numbers written as words, as house numbers sometimes are.
  numword constant text := '(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)';
  -- What names a part of a building rather than a street.
  unit constant text := '(flat|flats|apartment|apt|unit|units|suite|room|studio|maisonette|bedsit|block|plot|shop|house|no|number|floor|level|annexe|annex|penthouse)';
  -- Street and locality words: a part holding one is a street, not a house name.
  streetword constant text := '(street|st|road|rd|lane|ln|avenue|ave|av|close|cl|place|pl|square|sq|gardens|gdns|terrace|terr|way|drive|dr|crescent|cres|grove|gr|hill|row|walk|mews|parade|pde|green|rise|vale|view|yard|passage|alley|broadway|embankment|circus|gate|wharf|quay|parkway|boulevard|esplanade|market|estate|park|court|ct|end|approach|bank|causeway|chase|croft|dale|fields|highway|hollow|lawn|link|mead|meadow|mount|orchard|path|promenade|ride|side|spur|strand|wood|wynd|village|town|city|centre|center|precinct|arcade|bridge|cottages|buildings|mansions)';
BEGIN
  rest := pg_catalog.btrim(rest);
  IF rest = '' THEN
    RETURN NULL;
  END IF;
  IF pc IS NOT NULL THEN
    rest := pg_catalog.regexp_replace(rest, '[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}[^A-Za-z0-9]*$', '');
  END IF;
  parts := pg_catalog.regexp_split_to_array(rest, '\s*[,;()\n]\s*');

  -- The street part: the first part that begins with a house number once the flat or unit is
  -- taken off, or else the first part that holds a street word.  Parts before it name
  -- flats, units and buildings: they go.  Parts after it are localities: they stay.
  FOR i IN 1 .. coalesce(pg_catalog.array_length(parts, 1), 0) LOOP
    part := pg_catalog.btrim(parts[i]);
    -- Flats, units, floors and positions at the front: "Flat 3", "Basement Flat", "Rear of".
    LOOP
      before := part;
      part := pg_catalog.regexp_replace(part, '^(the\s+)?(basement|garden\s+(flat|maisonette|apartment))(\s+(flat|maisonette|apartment))?\M\s*', '', 'i');
      part := pg_catalog.regexp_replace(part, '^(the\s+)?(lower ground|upper ground|ground|first|second|third|fourth|fifth|top|upper|lower|1st|2nd|3rd|[4-9]th)(\s+floor(\s+(flat|maisonette|apartment|room|studio))?|\s+(flat|maisonette|apartment|room|studio))\M\s*', '', 'i');
      part := pg_catalog.regexp_replace(part, '^' || unit || '\M\.?\s*(' || num || '|[a-z]\M)?\s*[:,]?\s*', '', 'i');
      part := pg_catalog.regexp_replace(part, '^(rear of|rear|front|r/o|land at|land adjacent to|land adj to|land to the rear of|outside|o/s|opposite|opp|adjacent to|adj to|adj|near|nr|next to|behind|above|below|at)\s+', '', 'i');
      EXIT WHEN part = before;
    END LOOP;
    -- House numbers, as digits or words, at the front.
    IF part ~* ('^' || num || '(\s|,|$)') OR part ~* ('^' || numword || '([- ]' || numword || ')*\s+\S') THEN
      part := pg_catalog.regexp_replace(part, '^(' || num || ')(\s+[a-z](?=\s))?\s*,?\s*', '', 'i');
      part := pg_catalog.regexp_replace(part, '^' || numword || '([- ](and\s+)?' || numword || ')*\s+', '', 'i');
      IF part <> '' AND street_at IS NULL THEN
        street_at := i;
      END IF;
    END IF;
    -- Any flat or unit number and any bare number left inside the part.
    part := pg_catalog.regexp_replace(part, '\m' || unit || '\.?\s*(' || num || '|[a-z])\M', '', 'gi');
    part := pg_catalog.regexp_replace(part, '(^|\s)' || num || '(?=\s|$)', ' ', 'gi');
    part := pg_catalog.btrim(pg_catalog.regexp_replace(part, '\s+', ' ', 'g'), ' .-/&');
    parts[i] := part;
  END LOOP;
  IF street_at IS NULL THEN
    FOR i IN 1 .. coalesce(pg_catalog.array_length(parts, 1), 0) LOOP
      IF parts[i] ~* ('\m' || streetword || '\M') THEN
        street_at := i;
        EXIT;
      END IF;
    END LOOP;
  END IF;
  IF street_at IS NULL THEN
    -- No street: keep only what follows the first part, which may be a house name.
    street_at := CASE WHEN pg_catalog.array_length(parts, 1) > 1 THEN 2 ELSE NULL END;
  END IF;
  IF street_at IS NOT NULL THEN
    FOR i IN street_at .. pg_catalog.array_length(parts, 1) LOOP
      IF parts[i] <> '' THEN
        kept := kept || parts[i];
      END IF;
    END LOOP;
  END IF;
  IF pc IS NOT NULL THEN
    kept := kept || pc;
  END IF;
  RETURN nullif(pg_catalog.array_to_string(kept, ', '), '');
END
$fn$;

CREATE OR REPLACE FUNCTION crimesnap.partner_extract(force text, period_start date, period_end date, partner text)
RETURNS SETOF crimesnap.partner_extract_row
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  a crimesnap.partner_agreement;
  p crimesnap.partner;
  f crimesnap.force;
  k integer := crimesnap.setting('min_postcode_households')::integer;
  key bytea;
  log_id integer;
  n integer;
  geoms geometry[];
  pcs text[];
  notes text[] := '{}'::text[];
BEGIN
  PERFORM crimesnap.check_partner_force(partner_extract.force);
  IF partner_extract.period_start IS NULL OR partner_extract.period_end IS NULL
     OR partner_extract.period_end < partner_extract.period_start THEN
    RAISE EXCEPTION 'period % to % is not a period', partner_extract.period_start, partner_extract.period_end
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the first and last committed dates to cover, first <= last.';
  END IF;
  SELECT * INTO f FROM crimesnap.force x WHERE x.force_id = partner_extract.force;
  SELECT * INTO p FROM crimesnap.partner x WHERE x.partner_id = partner_extract.partner;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'partner "%" does not exist', partner_extract.partner
      USING ERRCODE = 'foreign_key_violation', HINT = 'Add it to crimesnap.partner first.';
  END IF;
  SELECT * INTO a FROM crimesnap.partner_agreement x
   WHERE x.partner_id = partner_extract.partner AND x.force_id = partner_extract.force;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'partner "%" has no data sharing agreement with force "%"', partner_extract.partner, partner_extract.force
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Record the agreement in crimesnap.partner_agreement before supplying any data.';
  END IF;
  key := crimesnap.partner_key(partner_extract.partner);

  -- Recorded crime (ASB is an incident, section 3.2.2, and is left out), live records only,
  -- in committed order and then in partner-reference order, which says nothing.
  CREATE TEMP TABLE cs_extract ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY x.committed_on, x.partner_ref)::integer AS row_no, x.*
    FROM (SELECT crimesnap.hmac_sha256_hex(key, r.force_id || '|' || r.crime_ref) AS partner_ref,
                 r.offence_code, r.committed_on, r.geom,
                 (SELECT o.description FROM crimesnap.offence_code o
                   WHERE o.offence_code = r.offence_code AND (o.force_id IS NULL OR o.force_id = r.force_id)
                   ORDER BY o.force_id NULLS LAST LIMIT 1) AS offence_description,
                 d.committed_from_time, d.committed_to, d.committed_to_time, d.address, d.postcode,
                 d.method_of_entry, d.property_stolen, d.weapon, d.distraction_burglary, d.drugs_related,
                 d.alcohol_related, d.racially_motivated, d.domestic, coalesce(d.withheld, '{}') AS withheld
            FROM crimesnap.raw_crime r
            LEFT JOIN crimesnap.raw_crime_detail d ON d.crime_id = r.crime_id
           WHERE r.force_id = partner_extract.force AND r.superseded_by_batch IS NULL
             AND r.committed_on BETWEEN partner_extract.period_start AND partner_extract.period_end
             AND r.offence_code <> 'ASB') x;
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_extract (row_no integer, partner_ref text, offence_code text, committed_on date, geom geometry, offence_description text, committed_from_time time, committed_to date, committed_to_time time, address text, postcode text, method_of_entry text, property_stolen text, weapon text, distraction_burglary boolean, drugs_related boolean, alcohol_related boolean, racially_motivated boolean, domestic boolean, withheld text[])';
  SELECT array_agg(e.geom ORDER BY e.row_no), array_agg(e.postcode ORDER BY e.row_no) INTO geoms, pcs
    FROM pg_temp.cs_extract e;
  n := coalesce(pg_catalog.cardinality(geoms), 0);

  SELECT pg_catalog.array_agg(t.note ORDER BY t.o) INTO notes FROM (
    SELECT 1 AS o, pg_catalog.format('%s records have no location and no usable postcode: no easting or northing.', c) AS note
      FROM (SELECT pg_catalog.count(*) AS c FROM pg_temp.cs_extract e
             WHERE e.geom IS NULL AND NOT EXISTS (SELECT FROM crimesnap.postcode_households h
                                                   WHERE h.postcode_key = crimesnap.postcode_key(e.postcode))) z WHERE c > 0
    UNION ALL
    SELECT 2, pg_catalog.format('%s values were left out: %s.', pg_catalog.count(*),
                                pg_catalog.string_agg(DISTINCT w, '; '))
      FROM pg_temp.cs_extract e, unnest(e.withheld) w HAVING pg_catalog.count(*) > 0) t;

  INSERT INTO crimesnap.partner_extract_log AS l
    (partner_id, force_id, period_start, period_end, supplying_agency, supplier_name, supplier_contact,
     dataset_name, file_format, records, date_supplied, datafields, caveats, dsa_reference, min_postcode_households)
  VALUES (p.partner_id, f.force_id, partner_extract.period_start, partner_extract.period_end, f.name,
          a.supplier_name, a.supplier_contact,
          'Police recorded crime, offences (depersonalised), CSP information-sharing guidance section 3.2.1',
          'CSV, one row per offence, with this metadata', n, CURRENT_DATE,
          (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('field', v.field, 'explanation', v.explanation) ORDER BY v.o)
             FROM (VALUES
               (1, 'partner_ref', 'Partner reference in place of the crime reference number: the same for one offence in every extract to this partner, so the offence, offender and victim files link; it cannot be turned back into the reference number.'),
               (2, 'offence_code', 'Home Office offence classification code (or the force''s own code where it has no Home Office code).'),
               (3, 'offence_description', 'What the offence code covers.'),
               (4, 'committed_from', 'Committed from date.'),
               (5, 'committed_from_time', 'Committed from time, where recorded.'),
               (6, 'committed_to', 'Committed to date, where recorded.'),
               (7, 'committed_to_time', 'Committed to time, where recorded.'),
               (8, 'address', 'Address or location of the offence without house number, house name or flat; its postcode is the one the record was moved to.'),
               (9, 'postcode', 'Postcode whose centroid the record was moved to.'),
               (10, 'easting', 'British National Grid easting of that postcode centroid, or of the public place (park, car park) the offence happened in.'),
               (11, 'northing', 'British National Grid northing, likewise.'),
               (12, 'location_rule', '"own postcode", "nearest postcode with enough households" or "public place".'),
               (13, 'method_of_entry', 'Method of entry, where recorded and free of personal data.'),
               (14, 'property_stolen', 'Property stolen, likewise.'),
               (15, 'weapon', 'Weapon or part of body used, likewise.'),
               (16, 'distraction_burglary', 'Marker: distraction burglary (true, false or empty).'),
               (17, 'drugs_related', 'Marker: drugs-related incident.'),
               (18, 'alcohol_related', 'Marker: alcohol-related incident.'),
               (19, 'racially_motivated', 'Marker: racially motivated incident.'),
               (20, 'domestic', 'Marker: domestic incident.')) AS v(o, field, explanation)),
          pg_catalog.concat_ws(' ',
            pg_catalog.format('Coordinates are postcode centroids (CSP guidance, Appendix 1): a record is moved to the centroid of its postcode when that postcode has at least %s households, otherwise to the nearest postcode centroid that has; records in a public place''s area keep the place''s point.', k),
            'Addresses are sanitised by rule and may keep a house name written without commas; report any to the supplier.',
            'Anti-social behaviour incidents are not included.',
            'Depersonalised data remain restricted: intelligence products made from them must be marked RESTRICTED and used under the data sharing agreement.',
            pg_catalog.array_to_string(notes, ' '),
            a.caveats),
          a.dsa_reference, k)
  RETURNING l.extract_id INTO log_id;

  INSERT INTO crimesnap.partner_extract_row
  SELECT log_id, e.row_no, e.partner_ref, e.offence_code, e.offence_description, e.committed_on,
         e.committed_from_time, e.committed_to, e.committed_to_time,
         CASE WHEN e.address IS NOT NULL THEN crimesnap.replace_postcode(crimesnap.sanitise_address(e.address), pp.postcode) END,
         pp.postcode, ST_X(pp.geom), ST_Y(pp.geom), pp.rule,
         e.method_of_entry, e.property_stolen, e.weapon, e.distraction_burglary, e.drugs_related,
         e.alcohol_related, e.racially_motivated, e.domestic
    FROM pg_temp.cs_extract e
    LEFT JOIN crimesnap.postcode_points(coalesce(geoms, '{}'), coalesce(pcs, '{}')) pp ON pp.ord = e.row_no
   ORDER BY e.row_no;
  DROP TABLE pg_temp.cs_extract;

  RETURN QUERY SELECT r.* FROM crimesnap.partner_extract_row r WHERE r.extract_id = log_id ORDER BY r.row_no;
END
$fn$;
