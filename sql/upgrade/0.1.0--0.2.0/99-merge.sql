-- Merge of security (97) with promise (96) and ccore (97): these functions are redefined by more
-- than one fragment; this carries each as it now stands in sql/install.

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

CREATE OR REPLACE FUNCTION crimesnap.audit_publication(of_force text DEFAULT NULL, of_month date DEFAULT NULL)
RETURNS TABLE (force_id text, month date, violation text, id bigint, detail text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f text := of_force;
  m date := pg_catalog.date_trunc('month', of_month)::date;
  n integer := crimesnap.setting('street_level_months')::integer;
  k bigint := crimesnap.setting('min_addresses')::bigint;
  id_key bytea;
BEGIN
  IF of_force IS NOT NULL THEN
    PERFORM crimesnap.assert_acts_for(of_force);
  END IF;
  SELECT s.value INTO id_key FROM crimesnap.secret s WHERE s.name = 'persistent_id_key';
  -- Published locations: a street name or a class of place, never a house number, a
  -- building's name or a postcode.  The LSOA published is the point's: the LSOA it lies in.
  -- Both are properties of the point, so each point used is checked once.
  RETURN QUERY
  WITH used AS (
    SELECT DISTINCT c.snap_version, c.point_id FROM crimesnap.published_crime c
     WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m) AND c.point_id IS NOT NULL
  ), bad AS (
    SELECT p.version, p.point_id, 'location label'::text AS violation,
           pg_catalog.format('snap point %s "%s": %s', p.point_id, p.label, crimesnap.location_label_problem(p.label)) AS detail
      FROM used u JOIN crimesnap.snap_point p ON p.version = u.snap_version AND p.point_id = u.point_id
     WHERE crimesnap.location_label_problem(p.label) IS NOT NULL
    UNION ALL
    SELECT p.version, p.point_id, 'lsoa is not the point''s',
           pg_catalog.format('snap point %s is published with LSOA %s, which does not contain it', p.point_id, coalesce(p.lsoa_code, 'NULL'))
      FROM used u JOIN crimesnap.snap_point p ON p.version = u.snap_version AND p.point_id = u.point_id
     WHERE NOT EXISTS (SELECT FROM crimesnap.lsoa l WHERE l.lsoa_code = p.lsoa_code AND ST_Intersects(l.geom, p.geom))
  )
  SELECT c.force_id, c.month, b.violation, c.id, b.detail
    FROM bad b JOIN crimesnap.published_crime c ON c.snap_version = b.version AND c.point_id = b.point_id
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m);

  -- A crime is snapped inside the neighbourhood its raw location lies in now, and so in
  -- its own force: checked against the boundaries, not the neighbourhood found at load.
  RETURN QUERY
  SELECT c.force_id, c.month, 'snapped across a neighbourhood boundary'::text, c.id,
         pg_catalog.format('record published at snap point %s of %s, which its location does not lie in%s',
                           p.point_id, p.neighbourhood_id,
                           coalesce(' (it lies in ' || crimesnap.neighbourhood_at(r.geom) || ')', ''))
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND (r.geom IS NULL
          OR NOT EXISTS (SELECT FROM crimesnap.neighbourhood n
                          WHERE n.neighbourhood_id = p.neighbourhood_id AND n.force_id = c.force_id
                            AND ST_Intersects(n.geom, r.geom)));

  -- A record never moves: one position per persistent id, ever, and every record on the
  -- map is at the position its history holds.
  RETURN QUERY
  SELECT h.force_id, min(h.month), 'published at two positions'::text, NULL::bigint,
         pg_catalog.format('persistent id %s has been published at %s positions: %s', h.persistent_id, count(*),
                           pg_catalog.string_agg(pg_catalog.format('street id %s at %s, %s', h.point_id, h.latitude, h.longitude),
                                                 '; ' ORDER BY h.first_published_at, h.point_id))
    FROM crimesnap.published_position h
   WHERE (f IS NULL OR h.force_id = f)
   GROUP BY h.force_id, h.persistent_id
  HAVING count(*) > 1 AND (m IS NULL OR bool_or(h.month = m));
  RETURN QUERY
  SELECT c.force_id, c.month, 'position not in the history'::text, c.id,
         pg_catalog.format('record published at street id %s (%s, %s), a position crimesnap.published_position does not hold for it',
                           p.point_id, p.latitude, p.longitude)
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND NOT EXISTS (SELECT FROM crimesnap.published_position h
                      WHERE h.persistent_id = r.persistent_id AND h.point_id = p.point_id
                        AND h.latitude = p.latitude AND h.longitude = p.longitude);

  -- Every published count covers at least k distinct addresses, or none: a record without
  -- a location counts in a neighbourhood (trend) or the force (every total).
  RETURN QUERY
  WITH na AS MATERIALIZED (SELECT * FROM crimesnap.area_addresses()),
  fa AS (SELECT na.force_id, sum(na.addresses) AS addresses FROM na GROUP BY na.force_id),
  cells AS (
    SELECT t.force_id, t.month, t.neighbourhood_id, count(*) AS crimes
      FROM crimesnap.trend_member t
     WHERE NOT t.mapped AND (f IS NULL OR t.force_id = f) AND (m IS NULL OR t.month = m)
     GROUP BY 1, 2, 3)
  SELECT x.force_id, x.month, 'count for an area under k'::text, NULL::bigint,
         pg_catalog.format('%s counts records in %s, which holds %s distinct addresses; crimesnap.min_addresses is %s',
                           x.what, x.area, x.addresses, k)
    FROM (SELECT c.force_id, c.month, 'a trend cell'::text AS what,
                 coalesce('neighbourhood ' || c.neighbourhood_id, 'force ' || c.force_id) AS area,
                 coalesce(na.addresses, fa.addresses, 0) AS addresses
            FROM cells c
            LEFT JOIN na ON na.neighbourhood_id = c.neighbourhood_id
            LEFT JOIN fa ON c.neighbourhood_id IS NULL AND fa.force_id = c.force_id
          UNION ALL
          SELECT p.force_id, p.month, 'the month''s totals', 'force ' || p.force_id, coalesce(fa.addresses, 0)
            FROM crimesnap.publication p
            LEFT JOIN fa ON fa.force_id = p.force_id
           WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)) x
   WHERE x.addresses BETWEEN 1 AND k - 1;

  -- Free text: an outcome is one of police.uk's categories, the one the record's outcome
  -- history says; a context is a text the force approved, while it publishes context.
  RETURN QUERY
  SELECT c.force_id, c.month, 'outcome outside the vocabulary'::text, c.id,
         pg_catalog.format('published outcome "%s" is not a police.uk outcome category', c.outcome)
    FROM crimesnap.published_crime c
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND c.outcome IS NOT NULL
     AND NOT EXISTS (SELECT FROM crimesnap.outcome_category o WHERE o.slug = c.outcome);
  RETURN QUERY
  SELECT x.force, pg_catalog.to_date(x.month, 'YYYY-MM'), 'outcome outside the vocabulary'::text, x.id,
         pg_catalog.format('outcome_status "%s" is not a police.uk outcome category name', x.outcome_status)
    FROM (SELECT s.force, s.month, s.id, s.outcome_status FROM crimesnap.published_street_crime s
          UNION ALL
          SELECT n.force, n.month, n.id, n.outcome_status FROM crimesnap.published_no_location_crime n) x
   WHERE (f IS NULL OR x.force = f) AND (m IS NULL OR x.month = pg_catalog.to_char(m, 'YYYY-MM'))
     AND x.outcome_status IS NOT NULL
     AND NOT EXISTS (SELECT FROM crimesnap.outcome_category o WHERE o.name = x.outcome_status);
  RETURN QUERY
  SELECT c.force_id, c.month, 'outcome not the recorded one'::text, c.id,
         pg_catalog.format('published outcome %s, but the outcome history says %s',
                           coalesce(c.outcome, 'none'), coalesce(h.slug, 'none'))
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    CROSS JOIN LATERAL (SELECT crimesnap.outcome_as_of(r.force_id, r.crime_ref, crimesnap.outcome_horizon(r.force_id)) AS slug) h
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND c.outcome IS DISTINCT FROM h.slug;
  RETURN QUERY
  SELECT c.force_id, c.month, 'unapproved context published'::text, c.id,
         CASE WHEN NOT coalesce(p.publish, false) THEN 'the force does not publish context'
              WHEN t.context_id IS NULL THEN 'the text was never approved by the force'
              ELSE pg_catalog.format('context text %s is %s', t.context_id, t.status) END
    FROM crimesnap.published_crime c
    LEFT JOIN crimesnap.context_policy p ON p.force_id = c.force_id
    LEFT JOIN crimesnap.context_text t ON t.force_id = c.force_id AND t.text = c.context
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND c.context IS NOT NULL
     AND (NOT coalesce(p.publish, false) OR t.status IS DISTINCT FROM 'approved');
  -- A published context the screen flags needs an approval that overrode the finding (a
  -- text approved before the screen learned to flag it must be reviewed again).
  RETURN QUERY
  SELECT c.force_id, c.month, 'personal data in context'::text, c.id,
         pg_catalog.format('the context holds a %s and its approval did not override that', crimesnap.screen_context(c.context))
    FROM crimesnap.published_crime c
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND crimesnap.screen_context(c.context) IS NOT NULL
     AND NOT EXISTS (SELECT FROM crimesnap.context_text t
                      WHERE t.force_id = c.force_id AND t.text = c.context
                        AND t.status = 'approved' AND t.override_reason IS NOT NULL);

  -- Persistent ids: the keyed hash of the record's own force and reference, none for ASB.
  RETURN QUERY
  SELECT c.force_id, c.month, 'persistent id'::text, c.id,
         CASE WHEN o.slug = 'anti-social-behaviour' AND c.persistent_id IS NOT NULL THEN 'ASB published with a persistent id'
              WHEN o.slug <> 'anti-social-behaviour' AND c.persistent_id IS NULL THEN 'crime published without a persistent id'
              ELSE 'published id is not the keyed hash of the record''s force, reference and correction number' END
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    CROSS JOIN LATERAL (
      SELECT x.slug FROM crimesnap.offence_code x
       WHERE x.offence_code = r.offence_code AND (x.force_id IS NULL OR x.force_id = r.force_id)
       ORDER BY x.force_id NULLS LAST LIMIT 1) o
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND CASE WHEN o.slug = 'anti-social-behaviour' THEN c.persistent_id IS NOT NULL
              ELSE c.persistent_id IS DISTINCT FROM crimesnap.persistent_id_with_key(id_key, r.force_id, r.crime_ref, r.correction) END;

  -- Withdrawn records stay out of every output.
  RETURN QUERY
  SELECT x.force_id, x.month, 'withdrawn record published'::text, x.crime_id,
         pg_catalog.format('withdrawal %s is in force', w.withdrawal_id)
    FROM (SELECT c.force_id, c.month, c.crime_id FROM crimesnap.published_crime c
          UNION ALL
          SELECT t.force_id, t.month, t.crime_id FROM crimesnap.trend_member t) x
    JOIN crimesnap.raw_crime r ON r.crime_id = x.crime_id
    JOIN crimesnap.withdrawal w ON w.reinstated_at IS NULL AND w.force_id = r.force_id
     AND (w.scope = 'force' OR (w.scope = 'month' AND w.month = x.month)
          OR (w.scope = 'record' AND w.persistent_id = r.persistent_id))
   WHERE (f IS NULL OR x.force_id = f) AND (m IS NULL OR x.month = m);

  -- Every live record of a published month is accounted for: published, in the trend, or
  -- withheld; and nothing superseded is.
  RETURN QUERY
  SELECT r.force_id, r.month, 'record unaccounted for'::text, r.crime_id,
         'a live record of a published month is neither published, counted in the trend, nor withdrawn'::text
    FROM crimesnap.raw_crime r
    JOIN crimesnap.publication p ON p.force_id = r.force_id AND p.month = r.month
   WHERE (f IS NULL OR r.force_id = f) AND (m IS NULL OR r.month = m)
     AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.published_crime c WHERE c.crime_id = r.crime_id)
     AND NOT EXISTS (SELECT FROM crimesnap.trend_member t WHERE t.crime_id = r.crime_id)
     AND NOT EXISTS (SELECT FROM crimesnap.withdrawal w WHERE w.reinstated_at IS NULL AND w.scope = 'record'
                        AND w.persistent_id = r.persistent_id);
  RETURN QUERY
  SELECT x.force_id, x.month, 'superseded record published'::text, x.crime_id,
         'a record replaced by a later batch is still in an output'::text
    FROM (SELECT c.force_id, c.month, c.crime_id FROM crimesnap.published_crime c
          UNION ALL
          SELECT t.force_id, t.month, t.crime_id FROM crimesnap.trend_member t) x
    JOIN crimesnap.raw_crime r ON r.crime_id = x.crime_id
   WHERE (f IS NULL OR x.force_id = f) AND (m IS NULL OR x.month = m)
     AND r.superseded_by_batch IS NOT NULL;

  -- Totals: no-location records count in every total.
  RETURN QUERY
  SELECT p.force_id, p.month, 'totals'::text, NULL::bigint,
         pg_catalog.format('publication says %s records (%s mapped, %s without a location); the outputs hold %s (%s mapped)',
                           p.crimes, p.mapped, p.no_location, coalesce(s.crimes, t.crimes, 0), coalesce(s.mapped, t.mapped, 0))
    FROM crimesnap.publication p
    LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS crimes, pg_catalog.count(c.point_id) AS mapped FROM crimesnap.published_crime c
                        WHERE c.force_id = p.force_id AND c.month = p.month) s ON p.status = 'street-level'
    LEFT JOIN LATERAL (SELECT pg_catalog.sum(x.crimes) AS crimes, pg_catalog.sum(x.crimes) FILTER (WHERE x.lsoa_code IS NOT NULL) AS mapped
                         FROM crimesnap.trend x
                        WHERE x.force_id = p.force_id AND x.month = p.month) t ON p.status = 'rolled-off'
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND (p.crimes, p.mapped) IS DISTINCT FROM (coalesce(s.crimes, t.crimes, 0), coalesce(s.mapped, t.mapped, 0));
  RETURN QUERY
  SELECT coalesce(a.force_id, b.force_id), coalesce(a.month, b.month), 'trend cell'::text, NULL::bigint,
         pg_catalog.format('cell %s / %s / %s says %s records; %s records are counted in it',
                           coalesce(a.neighbourhood_id, b.neighbourhood_id, 'no neighbourhood'),
                           coalesce(a.lsoa_code, b.lsoa_code, 'no LSOA'),
                           coalesce(a.category, b.category), coalesce(a.crimes, 0), coalesce(b.crimes, 0))
    FROM (SELECT * FROM crimesnap.trend t WHERE (f IS NULL OR t.force_id = f) AND (m IS NULL OR t.month = m)) a
    FULL JOIN (SELECT t.force_id, t.month, t.neighbourhood_id, t.lsoa_code, t.category, pg_catalog.count(*) AS crimes
                 FROM crimesnap.trend_member t
                WHERE (f IS NULL OR t.force_id = f) AND (m IS NULL OR t.month = m)
                GROUP BY 1, 2, 3, 4, 5) b
      ON a.force_id = b.force_id AND a.month = b.month AND a.category = b.category
     AND a.neighbourhood_id IS NOT DISTINCT FROM b.neighbourhood_id AND a.lsoa_code IS NOT DISTINCT FROM b.lsoa_code
   WHERE a.crimes IS DISTINCT FROM b.crimes;

  -- Timing: never before month end + min_age_days, and off the map once newer months are on.
  RETURN QUERY
  SELECT p.force_id, p.month, 'published too early'::text, NULL::bigint,
         pg_catalog.format('published as of %s; the month may be published from %s', pg_catalog.to_char(p.reference_date, 'YYYY-MM-DD'),
                           pg_catalog.to_char(crimesnap.publishable_from(p.month), 'YYYY-MM-DD'))
    FROM crimesnap.publication p
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND p.reference_date < crimesnap.publishable_from(p.month);
  -- The date claimed is not trusted: the real time of the publication is checked too.
  RETURN QUERY
  SELECT p.force_id, p.month, 'published too early'::text, NULL::bigint,
         pg_catalog.format('published on %s (claimed as of %s); the month may be published from %s',
                           pg_catalog.to_char(p.published_at, 'YYYY-MM-DD'), pg_catalog.to_char(p.reference_date, 'YYYY-MM-DD'),
                           pg_catalog.to_char(crimesnap.publishable_from(p.month), 'YYYY-MM-DD'))
    FROM crimesnap.publication p
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND (p.published_at::date < crimesnap.publishable_from(p.month)
          OR p.reference_date > p.published_at::date);
  RETURN QUERY
  SELECT p.force_id, p.month, 'street level too long'::text, NULL::bigint,
         pg_catalog.format('still street-level although %s is the newest month and crimesnap.street_level_months is %s',
                           pg_catalog.to_char(newest.month, 'YYYY-MM'), n)
    FROM crimesnap.publication p
    JOIN LATERAL (SELECT pg_catalog.max(q.month) AS month FROM crimesnap.publication q
                   WHERE q.force_id = p.force_id AND q.status = 'street-level') newest ON true
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND p.status = 'street-level' AND p.month < newest.month - pg_catalog.make_interval(months => n - 1);
END
$fn$;

COMMENT ON FUNCTION crimesnap.audit_publication(text, date) IS
  'Proves the publication rules on the data as it is now, for a force and month (default: all): location labels, LSOAs, neighbourhoods (of the raw location, now), one position per persistent id ever (crimesnap.published_position), outcomes from the vocabulary and as recorded, context only as approved, persistent ids, withdrawals, every record accounted for, totals, trend cells, counts for areas of fewer than crimesnap.min_addresses distinct addresses, timing (claimed and real). One row per violation, none when clean.';

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
  PERFORM crimesnap.assert_admin('build snap points');
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
  -- NaN and infinities fail BETWEEN; a length under a metre would cut every street into
  -- more candidates than memory holds, and one over 10 km leaves one candidate per street.
  IF mode = 'dense' AND (segment_length IS NULL OR NOT (segment_length BETWEEN 1::float8 AND 10000::float8)) THEN
    RAISE EXCEPTION 'segment_length % is not a length between 1 and 10000 metres', coalesce(segment_length::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the longest stretch of street one dense candidate stands for, in metres; build_snap_points() uses 25.';
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
    FROM (SELECT p.neighbourhood_id, p.street_key, p.name, pg_catalog.sum(ST_Length(p.geom)) AS len
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
                   WHERE ST_DWithin(a.geom, s.lines, d + 1::float8)), d) AS geom) c
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
                   WHERE ST_DWithin(a.geom, seg.geom, d + 1::float8)), d) AS geom) c
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
            CROSS JOIN LATERAL (SELECT ST_ClosestPoint(ST_Buffer(nb.geom, -0.02::float8, ''::text), c2.geom) AS geom) x
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
                    AND ST_DWithin(c2.geom, c.geom, 0.01::float8));

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
                     AND o.kind = c2.kind AND o.label = c2.label AND ST_DWithin(o.geom, c2.geom, 0.01::float8)
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
       AND o.kind = c.kind AND o.label = c.label AND ST_DWithin(o.geom, c.geom, 50::float8)
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
  SELECT pg_catalog.count(*) INTO n_new FROM pg_temp.cs_cand c WHERE c.reject IS NULL AND c.old_point_id IS NULL;
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
    SELECT x.neighbourhood_id, (ST_Dump(ST_VoronoiPolygons(ST_Collect(x.geom), 0::float8, nb.geom))).geom AS cell
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
                          FROM (SELECT c.kind || ': ' || c.reject AS reject, pg_catalog.count(*) AS n
                                  FROM pg_temp.cs_cand c WHERE c.reject IS NOT NULL GROUP BY 1) r),
           'moved_off_properties', (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c
                                     WHERE c.kind = 'street' AND c.geom IS NOT NULL
                                       AND NOT ST_DWithin(c.geom, c.target, 0.01::float8)),
           'pruned', (SELECT pg_catalog.count(*) FROM pg_temp.cs_sel s WHERE NOT s.kept),
           'kept_ids', (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c JOIN pg_temp.cs_sel s ON s.rank = c.rank
                         WHERE s.kept AND c.old_point_id IS NOT NULL),
           'addresses', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr),
           'address_rows', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr_all),
           'addresses_outside_neighbourhoods', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr a WHERE a.neighbourhood_id IS NULL))
    INTO notes;
  UPDATE crimesnap.snap_point_set s
     SET point_count = (SELECT pg_catalog.count(*) FROM crimesnap.snap_point p WHERE p.version = v),
         build_notes = notes
   WHERE s.version = v;

  -- The audit recomputes every catchment with PostGIS, independently of the C code above; a
  -- set that fails it is never stored.
  SELECT pg_catalog.count(*) INTO n FROM crimesnap.audit_snap_points(v);
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
    -- An empty set would take every street-level crime off the map at the next publication.
    IF NOT EXISTS (SELECT FROM crimesnap.snap_point p WHERE p.version = v) THEN
      RAISE EXCEPTION 'snap point set % has no points, so it is not made current', v
        USING ERRCODE = 'no_data_found',
              DETAIL = pg_catalog.format('mode %s, min_addresses %s, segment_length %s: %s', mode, k,
                                         coalesce(segment_length::text, 'none'), notes::text),
              HINT = 'Nothing was stored. Check the input tables and the arguments, or build with make_current => false to look at the set.';
    END IF;
    PERFORM crimesnap.set_current_snap_points(v);
  END IF;
  DROP TABLE pg_temp.cs_piece, pg_temp.cs_addr, pg_temp.cs_addr_all, pg_temp.cs_assoc, pg_temp.cs_label, pg_temp.cs_cand, pg_temp.cs_sel;
  RETURN v;
END
$fn$;

COMMENT ON FUNCTION crimesnap.build_snap_point_set(text, integer, text, boolean, double precision) IS
  'build_snap_points() with every option: also segment_length, the longest stretch of street (metres) one dense-mode candidate stands for. Returns the new version.';

CREATE OR REPLACE FUNCTION crimesnap.catchments(version integer DEFAULT NULL)
RETURNS TABLE (point_id bigint, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Recomputed from the addresses as they are now, not read from the stored counts, and
  -- with PostGIS rather than the builder's C code, so that the audit checks the builder.
  WITH v AS (
    SELECT coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current)) AS version
  ), nearest AS (
    SELECT (SELECT p.point_id FROM crimesnap.snap_point p, v
             WHERE p.version = v.version AND p.neighbourhood_id = nb.neighbourhood_id
             ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) AS point_id
      FROM crimesnap.postal_address a
      CROSS JOIN LATERAL (SELECT crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id) nb
  )
  SELECT p.point_id, pg_catalog.count(n.point_id)
    FROM crimesnap.snap_point p
    JOIN v ON p.version = v.version
    LEFT JOIN nearest n ON n.point_id = p.point_id
   GROUP BY p.point_id
$fn$;

COMMENT ON FUNCTION crimesnap.catchments(integer) IS
  'Catchment size of every point of a set (default: the current set): the distinct postal addresses (crimesnap.postal_address) whose nearest point inside their own neighbourhood is that point, ties to the lowest point id. Computed with PostGIS, independently of the builder.';

CREATE OR REPLACE FUNCTION crimesnap.normalise_input_geometry()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  want text := TG_ARGV[0];      -- 'POINT', 'LINE' or 'POLYGON'
  g geometry := NEW.geom;
  kind text;
  problem text;                 -- what is wrong, raised once below with the row's key
  code text := 'invalid_parameter_value';
  detail text;
  hint text;
  key_column name;
  key_value text;
  reach double precision;
BEGIN
  IF g IS NULL THEN
    RETURN NEW;                 -- the column's NOT NULL constraint speaks for itself
  END IF;
  IF NOT ST_IsEmpty(g) THEN
    -- A line through every vertex, plus its first vertex's coordinates, is finite only when
    -- every coordinate is (a bounding box skips NaN vertices).  Finite but absurd ones
    -- fail the extent checks below.
    reach := (SELECT ST_Length(l) + ST_X(ST_StartPoint(l)) + ST_Y(ST_StartPoint(l))
                FROM (SELECT ST_LineFromMultiPoint(ST_Points(g)) AS l) x);
  END IF;
  IF ST_IsEmpty(g) THEN
    problem := 'has an empty geometry';
    code := 'data_exception';
    hint := 'Leave out rows without a location; raw crimes without one go in with no easting and northing.';
  ELSIF NOT (reach - reach = 0::float8) THEN
    problem := 'has a NaN, infinite or out-of-range coordinate';
    hint := 'Every coordinate must be a finite number: check the source''s empty or missing values.';
  ELSIF ST_SRID(g) = 0 THEN
    IF ST_XMin(g) < -100000::float8 OR ST_XMax(g) > 800000::float8
       OR ST_YMin(g) < -100000::float8 OR ST_YMax(g) > 1400000::float8
       OR (ST_XMax(g) BETWEEN -180::float8 AND 180::float8 AND ST_YMax(g) BETWEEN -90::float8 AND 90::float8) THEN
      problem := 'has a geometry with no SRID that does not look like British National Grid';
      detail := pg_catalog.format('Its extent is %s.', ST_AsText(Box2D(g)));
      hint := 'Load EWKT with its SRID, for example ''SRID=4326;POINT(-0.13 51.52)'' for longitude and latitude.';
    END IF;
    g := ST_SetSRID(g, 27700);
  ELSIF ST_SRID(g) <> 27700 THEN
    g := ST_Transform(g, 27700);
  END IF;

  IF problem IS NULL THEN
    kind := GeometryType(g);
    IF ST_XMin(g) < -100000::float8 OR ST_XMax(g) > 800000::float8
       OR ST_YMin(g) < -100000::float8 OR ST_YMax(g) > 1400000::float8 THEN
      problem := 'lies outside British National Grid';
      detail := pg_catalog.format('Its extent is %s in EPSG:27700.', ST_AsText(Box2D(g)));
      hint := 'Check the source''s SRID and units: eastings run from 0 to 700000 and northings from 0 to 1300000 metres.';
    ELSIF want = 'POINT' AND kind <> 'POINT' THEN
      problem := pg_catalog.format('has a %s where a point is needed', pg_catalog.lower(kind));
      hint := 'Reduce buildings to a point first, for example with ST_PointOnSurface(geom).';
    ELSIF want = 'LINE' AND kind NOT IN ('LINESTRING', 'MULTILINESTRING') THEN
      problem := pg_catalog.format('has a %s where a linestring is needed', pg_catalog.lower(kind));
      hint := 'Load centrelines as LineStrings or MultiLineStrings.';
    ELSIF want = 'LINE' AND EXISTS (SELECT FROM ST_Dump(g) d
                                     WHERE ST_NPoints(d.geom) < 2 OR ST_Length(d.geom) = 0::float8) THEN
      problem := 'has a line with a single vertex or of length zero';
      hint := 'Every centreline needs two distinct vertices; leave out or repair degenerate ways.';
    ELSIF want = 'POLYGON' THEN
      IF kind NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
        problem := pg_catalog.format('has a %s where a polygon is needed', pg_catalog.lower(kind));
        hint := 'Load boundaries as Polygons or MultiPolygons.';
      ELSIF NOT ST_IsValid(g) THEN
        problem := pg_catalog.format('has an invalid polygon: %s', ST_IsValidReason(g));
        hint := 'Repair it before loading, for example with ST_MakeValid(geom).';
      END IF;
      g := ST_Multi(g);
    END IF;
  END IF;

  IF problem IS NOT NULL THEN
    -- Name the row by its first column, the key of every input table.
    SELECT a.attname INTO key_column
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) TG_RELID AND a.attnum OPERATOR(pg_catalog.=) 1::int2;
    EXECUTE pg_catalog.format('SELECT ($1).%I::text', key_column) INTO key_value USING NEW;
    problem := pg_catalog.format('row with %s %s of %I.%I %s', key_column,
                                 coalesce(pg_catalog.quote_literal(key_value), 'NULL'),
                                 TG_TABLE_SCHEMA, TG_TABLE_NAME, problem);
    IF detail IS NULL THEN
      RAISE EXCEPTION USING MESSAGE = problem, ERRCODE = code, HINT = hint;
    END IF;
    RAISE EXCEPTION USING MESSAGE = problem, ERRCODE = code, DETAIL = detail, HINT = hint;
  END IF;
  NEW.geom := g;
  RETURN NEW;
END
$fn$;

COMMENT ON FUNCTION crimesnap.normalise_input_geometry() IS
  'Trigger: puts every loaded geometry into British National Grid and the shape its table expects, or fails naming the row, with a hint: empty geometries, NaN, infinite or out-of-grid coordinates, single-vertex or zero-length lines and invalid polygons are refused.';

CREATE OR REPLACE FUNCTION crimesnap.persistent_id(force text, crime_ref text, correction integer)
RETURNS text
LANGUAGE plpgsql STABLE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  -- As persistent_id(force, crime_ref): only for a force the caller acts for.
  PERFORM crimesnap.assert_acts_for(force);
  RETURN (SELECT crimesnap.persistent_id_with_key(s.value, force, crime_ref, correction)
            FROM crimesnap.secret s WHERE s.name OPERATOR(pg_catalog.=) 'persistent_id_key');
END
$fn$;

CREATE OR REPLACE FUNCTION crimesnap.persistent_id(force text, crime_ref text)
RETURNS text
LANGUAGE plpgsql STABLE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  -- Only for a force the caller acts for: an id computed for another force's guessed
  -- reference would confirm the guess against the published ids.
  PERFORM crimesnap.assert_acts_for(force);
  RETURN (SELECT crimesnap.persistent_id_with_key(s.value, force, crime_ref)
            FROM crimesnap.secret s WHERE s.name OPERATOR(pg_catalog.=) 'persistent_id_key');
END
$fn$;

COMMENT ON FUNCTION crimesnap.persistent_id(text, text, integer) IS
  'Persistent id of a record whose location the force has corrected correction times after it was published: reproducible from the key, force, reference and correction number, and different for every correction.';

COMMENT ON FUNCTION crimesnap.persistent_id(text, text) IS
  'Persistent id of a crime of a force the caller acts for: keyed HMAC-SHA256 of force and reference number. Stable while the key is; not reversible without it.';

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
  horizon date;
BEGIN
  IF publish_month.force IS NULL OR publish_month.month IS NULL OR reference_date IS NULL OR category_scheme IS NULL THEN
    RAISE EXCEPTION 'force, month, reference_date and category_scheme must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the force_id and the first day of the month, for example ''2026-09-01''.';
  END IF;
  IF NOT pg_catalog.isfinite(publish_month.month) OR NOT pg_catalog.isfinite(reference_date) THEN
    RAISE EXCEPTION 'month % and reference_date % must be dates', publish_month.month, reference_date
      USING ERRCODE = 'datetime_field_overflow',
            HINT = 'Give the first day of the month, for example ''2026-09-01'', and leave reference_date out for today.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = publish_month.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', publish_month.force
      USING ERRCODE = 'foreign_key_violation', HINT = 'See crimesnap.force.';
  END IF;
  -- The date a publication is made as of may be earlier than today (to re-publish as of
  -- the original date), never later: that would publish a month before its time.
  IF reference_date > CURRENT_DATE THEN
    RAISE EXCEPTION 'reference_date % is later than today, %', pg_catalog.to_char(reference_date, 'YYYY-MM-DD'),
                    pg_catalog.to_char(CURRENT_DATE, 'YYYY-MM-DD')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Leave reference_date out: a publication is made as of today or an earlier date, never a later one.';
  END IF;
  PERFORM crimesnap.assert_acts_for(publish_month.force);
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
  SELECT r.*, NULL::integer AS pin_version, NULL::bigint AS pin_point, NULL::text AS pin_problem
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.withdrawal w
                      WHERE w.scope = 'record' AND w.reinstated_at IS NULL
                        AND w.persistent_id = r.persistent_id);
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_live (crime_id bigint, batch_id integer, force_id text, crime_ref text, persistent_id text, month date, offence_code text, committed_on date, geom geometry, neighbourhood_id text, outcome text, context text, superseded_by_batch integer, correction integer, pin_version integer, pin_point bigint, pin_problem text)';
  ANALYZE pg_temp.cs_live;
  -- Outcomes that took effect up to the newest month published are public.
  horizon := crimesnap.outcome_horizon(publish_month.force);
  SELECT pg_catalog.count(*) - (SELECT pg_catalog.count(*) FROM pg_temp.cs_live) INTO n_withheld
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL;

  -- The neighbourhood is decided now, from the location and today's boundaries, never
  -- taken from the load: a record whose location is in none of its force's neighbourhoods
  -- any more is published without a location.
  UPDATE pg_temp.cs_live l
     SET neighbourhood_id = (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                              WHERE n.force_id = publish_month.force AND ST_Intersects(n.geom, l.geom)
                              ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1)
   WHERE l.geom IS NOT NULL;

  -- A record published before keeps that position (street id, latitude and longitude)
  -- whatever the current set is, while its location still lies in the position's
  -- neighbourhood; otherwise it is published without a location.  Never elsewhere.
  UPDATE pg_temp.cs_live l
     SET pin_version = h.snap_version, pin_point = h.point_id,
         pin_problem = CASE WHEN l.geom IS NULL OR NOT EXISTS (
                               SELECT FROM crimesnap.snap_point sp JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = sp.neighbourhood_id
                                WHERE sp.version = h.snap_version AND sp.point_id = h.point_id
                                  AND n.force_id = publish_month.force AND ST_Intersects(n.geom, l.geom))
                            THEN 'its earlier published position is no longer in the neighbourhood its location lies in' END
    FROM (SELECT DISTINCT ON (pp.persistent_id) pp.persistent_id, pp.snap_version, pp.point_id
            FROM crimesnap.published_position pp
           ORDER BY pp.persistent_id, pp.first_published_at, pp.point_id) h
   WHERE h.persistent_id = l.persistent_id;

  SELECT pg_catalog.array_agg(l.crime_id ORDER BY l.crime_id), pg_catalog.array_agg(l.geom ORDER BY l.crime_id),
         pg_catalog.array_agg(l.neighbourhood_id ORDER BY l.crime_id)
    INTO ids, geoms, nbs
    FROM pg_temp.cs_live l WHERE l.geom IS NOT NULL AND l.neighbourhood_id IS NOT NULL AND l.pin_point IS NULL;

  INSERT INTO crimesnap.published_crime
    (crime_id, force_id, month, persistent_id, category, snap_version, point_id, neighbourhood_id,
     outcome, context, no_location_reason)
  SELECT l.crime_id, l.force_id, m,
         CASE WHEN cat.police_uk_slug = 'anti-social-behaviour' THEN NULL ELSE l.persistent_id END,
         cat.slug, x.version, x.point_id,
         coalesce(sp.neighbourhood_id, l.neighbourhood_id),
         crimesnap.outcome_as_of(l.force_id, l.crime_ref, horizon), ctx.text,
         CASE WHEN l.geom IS NULL THEN 'no location supplied'
              WHEN l.pin_problem IS NOT NULL THEN l.pin_problem
              WHEN l.pin_point IS NOT NULL THEN NULL
              WHEN l.neighbourhood_id IS NULL THEN 'its location is in none of the force''s neighbourhoods'
              WHEN s.point_id IS NULL THEN pg_catalog.format('no snap point within %s m in its neighbourhood',
                                                  crimesnap.setting('max_snap_distance'))
         END
    FROM pg_temp.cs_live l
    LEFT JOIN crimesnap.snap_many(coalesce(ids, '{}'), coalesce(geoms, '{}'), coalesce(nbs, '{}')) s ON s.id = l.crime_id
    CROSS JOIN LATERAL (
      SELECT CASE WHEN l.pin_point IS NOT NULL AND l.pin_problem IS NULL THEN l.pin_version ELSE v END AS version,
             CASE WHEN l.pin_point IS NOT NULL THEN CASE WHEN l.pin_problem IS NULL THEN l.pin_point END
                  ELSE s.point_id END AS point_id) x
    LEFT JOIN crimesnap.snap_point sp ON sp.version = x.version AND sp.point_id = x.point_id
    -- Context only as a text the force approved, and only while it publishes context.
    LEFT JOIN LATERAL (
      SELECT t.text FROM crimesnap.context_text t
        JOIN crimesnap.context_policy cp ON cp.force_id = t.force_id AND cp.publish
       WHERE t.force_id = l.force_id AND t.status = 'approved'
         AND t.text = crimesnap.normalise_context(l.context)) ctx ON true
    CROSS JOIN LATERAL (
      SELECT f.police_uk_slug, f.slug
        FROM crimesnap.offence_code o
        JOIN crimesnap.category_fold f ON f.scheme = category_scheme AND f.police_uk_slug = o.slug
       WHERE o.offence_code = l.offence_code AND (o.force_id IS NULL OR o.force_id = l.force_id)
       ORDER BY o.force_id NULLS LAST LIMIT 1) cat
   ORDER BY l.crime_id;

  -- The history of positions: from now on these records are shown here or nowhere.
  INSERT INTO crimesnap.published_position AS h
    (persistent_id, force_id, month, snap_version, point_id, latitude, longitude, crime_id)
  SELECT r.persistent_id, c.force_id, c.month, c.snap_version, c.point_id, p.latitude, p.longitude, c.crime_id
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
   WHERE c.force_id = publish_month.force AND c.month = m
  ON CONFLICT (persistent_id, point_id, latitude, longitude) DO UPDATE SET last_published_at = pg_catalog.now();

  -- What a published location says is enforced here, not trusted to the snap point build:
  -- "On or near" a street or a class of place, never a house number, a building or a postcode.
  SELECT p.point_id, p.label, crimesnap.location_label_problem(p.label) AS why INTO problem
    FROM crimesnap.snap_point p
   WHERE (p.version, p.point_id) IN (SELECT c.snap_version, c.point_id FROM crimesnap.published_crime c
                                      WHERE c.force_id = publish_month.force AND c.month = m)
     AND crimesnap.location_label_problem(p.label) IS NOT NULL
   ORDER BY p.point_id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'snap point % may not be published as "On or near %"', problem.point_id, problem.label
      USING ERRCODE = 'check_violation',
            DETAIL = problem.why || '.',
            HINT = 'Correct the street or place in the input tables and rebuild the snap points, or add the class to crimesnap.place_class. Nothing was published.';
  END IF;

  -- Records of the force's other months on the map show their outcome as of this month too.
  PERFORM crimesnap.refresh_published_outcomes(publish_month.force);

  UPDATE crimesnap.publication p
     SET crimes = x.crimes, mapped = x.mapped, no_location = x.crimes - x.mapped, withheld = n_withheld
    FROM (SELECT pg_catalog.count(*)::integer AS crimes, pg_catalog.count(c.point_id)::integer AS mapped
            FROM crimesnap.published_crime c
           WHERE c.force_id = publish_month.force AND c.month = m) x
   WHERE p.force_id = publish_month.force AND p.month = m
  RETURNING p.crimes, p.mapped, p.no_location, p.withheld INTO crimes, mapped, no_location, withheld;

  -- Roll-off in the same transaction: only the newest street_level_months months stay.
  SELECT (pg_catalog.max(p.month) - pg_catalog.make_interval(months => crimesnap.setting('street_level_months')::integer - 1))::date
    INTO keep_from
    FROM crimesnap.publication p
   WHERE p.force_id = publish_month.force AND p.status = 'street-level';
  SELECT pg_catalog.count(*) INTO rolled_off FROM crimesnap.roll_off_before(publish_month.force, keep_from);

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

COMMENT ON FUNCTION crimesnap.publish_month(text, date, date, text) IS
  'Publishes (or re-publishes, replacing it) a force''s month in one transaction: shows every record published before at the position it was published at (or without a location when its location no longer lies in that neighbourhood), snaps every other live record within the neighbourhood its location lies in now, records the positions in crimesnap.published_position, maps offence codes to the scheme''s categories, keeps withdrawn records out, checks every location label, rolls older months off into the trend table and audits the result. Fails before month end + crimesnap.min_age_days, saying when it becomes possible, and for a reference_date later than today.';

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
  n_updated integer;
  corr record;
BEGIN
  IF register_batch.force IS NULL OR register_batch.month IS NULL THEN
    RAISE EXCEPTION 'force and month must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the force''s force_id and the first day of the month, for example ''2026-09-01''.';
  END IF;
  IF NOT pg_catalog.isfinite(register_batch.month) THEN
    RAISE EXCEPTION 'month % is not a month', register_batch.month
      USING ERRCODE = 'datetime_field_overflow',
            HINT = 'Give the first day of the month the records belong to, for example ''2026-09-01''.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = register_batch.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', register_batch.force
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Add it to crimesnap.force first, or use its force_id.';
  END IF;
  PERFORM crimesnap.assert_acts_for(register_batch.force);
  IF records_supplied IS NULL OR records_supplied < 0 THEN
    RAISE EXCEPTION 'records_supplied is %, not the number of records the force supplied', coalesce(records_supplied::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the record count from the supplier''s metadata (CSP guidance 3.4), not counted from the file.';
  END IF;
  SELECT pg_catalog.string_agg(x.name, ', ') INTO missing
    FROM (VALUES ('supplying_agency', supplying_agency), ('supplier_name', supplier_name),
                 ('supplier_contact', supplier_contact), ('dataset_name', dataset_name),
                 ('file_format', file_format), ('date_supplied', date_supplied::text)) AS x(name, value)
   WHERE x.value IS NULL OR pg_catalog.btrim(x.value) = '';
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

  -- Claim this force's rows, and the rows that name no known force which the calling role
  -- loaded itself (they are rejected here rather than left behind; a superuser claims them
  -- all).  A failure below rolls the claim back with everything else.
  CREATE TEMP TABLE cs_upload ON COMMIT DROP AS
  WITH claimed AS (
    DELETE FROM crimesnap.crime_upload u
     WHERE u.force IS NOT DISTINCT FROM register_batch.force
        OR (NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = u.force)
            AND (u.loaded_by = crimesnap.calling_role()::pg_catalog.text::pg_catalog.name
                 OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = crimesnap.calling_role()::pg_catalog.oid)))
    RETURNING u.*)
  SELECT c.*,
         nullif(pg_catalog.btrim(c.crime_ref), '') AS ref,
         pg_catalog.upper(pg_catalog.btrim(c.offence_code)) AS code,
         -- Nested CASEs, so that each cast only ever sees what the test before it let
         -- through: a bad row becomes a reject, never an error that sinks the batch (year
         -- 0000, month 13, a 400-digit easting).
         CASE WHEN c.committed_on ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$' THEN
           CASE WHEN pg_catalog.substr(pg_catalog.btrim(c.committed_on), 1, 4)::int >= 1
                 AND pg_catalog.substr(pg_catalog.btrim(c.committed_on), 6, 2)::int BETWEEN 1 AND 12 THEN
             CASE WHEN pg_catalog.substr(pg_catalog.btrim(c.committed_on), 9, 2)::int BETWEEN 1 AND
                       extract(day FROM pg_catalog.make_date(pg_catalog.substr(pg_catalog.btrim(c.committed_on), 1, 4)::int,
                                                  pg_catalog.substr(pg_catalog.btrim(c.committed_on), 6, 2)::int, 1)
                                        + interval '1 month - 1 day')::int
                  THEN pg_catalog.substr(pg_catalog.btrim(c.committed_on), 1, 10)::date END
           END
         END AS committed,
         CASE WHEN nullif(pg_catalog.btrim(c.easting), '') IS NULL AND nullif(pg_catalog.btrim(c.northing), '') IS NULL THEN 'none'
              WHEN c.easting ~ '^\s*[+-]?[0-9]{1,7}(\.[0-9]{1,9})?\s*$' AND c.northing ~ '^\s*[+-]?[0-9]{1,7}(\.[0-9]{1,9})?\s*$' THEN
                CASE WHEN pg_catalog.btrim(c.easting)::float8 BETWEEN 0::float8 AND 700000::float8
                      AND pg_catalog.btrim(c.northing)::float8 BETWEEN 0::float8 AND 1300000::float8 THEN 'ok'
                     ELSE 'bad' END
              ELSE 'bad' END AS loc_state
    FROM claimed c;
  -- The temporary tables declared for plpgsql_check, which cannot see them before they exist.
  PERFORM 'PRAGMA:TABLE: cs_upload (upload_row bigint, force text, crime_ref text, offence_code text, committed_on text, easting text, northing text, neighbourhood text, outcome text, context text, loaded_by name, loaded_at timestamp with time zone, ref text, code text, committed date, loc_state text, context_finding text, outcome_finding text)';
  ANALYZE pg_temp.cs_upload;

  CREATE TEMP TABLE cs_checked ON COMMIT DROP AS
  SELECT u.*, loc.geom, loc.neighbourhood_id, live.crime_id AS resent_crime_id,
         CASE
           WHEN u.force IS DISTINCT FROM register_batch.force THEN 'unknown_force'
           WHEN u.ref IS NULL THEN 'missing_reference'
           WHEN pg_catalog.length(u.ref) > 100 THEN 'reference_too_long'
           WHEN u.dup > 1 THEN 'duplicate_reference'
           -- A reference live in another month is a resend that updates its outcome only:
           -- its date, location and code are not taken.
           WHEN live.crime_id IS NOT NULL THEN NULL
           WHEN u.code IS DISTINCT FROM 'ASB' AND NOT EXISTS (
                  SELECT FROM crimesnap.offence_code o
                   WHERE o.offence_code = u.code
                     AND (o.force_id IS NULL OR o.force_id = register_batch.force)) THEN 'unknown_offence_code'
           WHEN u.committed IS NULL THEN 'invalid_date'
           WHEN pg_catalog.date_trunc('month', u.committed) <> m THEN 'date_outside_month'
           WHEN u.loc_state = 'bad' THEN 'impossible_coordinates'
           WHEN u.loc_state = 'ok' AND loc.neighbourhood_id IS NULL THEN 'outside_force_area'
           WHEN u.loc_state = 'none' AND nullif(pg_catalog.btrim(u.neighbourhood), '') IS NOT NULL
                AND NOT EXISTS (SELECT FROM crimesnap.neighbourhood n
                                 WHERE n.neighbourhood_id = pg_catalog.btrim(u.neighbourhood)
                                   AND n.force_id = register_batch.force) THEN 'unknown_neighbourhood'
         END AS reason_code
    FROM (SELECT x.*, pg_catalog.row_number() OVER (PARTITION BY x.force, x.ref ORDER BY x.upload_row) AS dup
            FROM pg_temp.cs_upload x) u
    LEFT JOIN LATERAL (
      SELECT g.geom,
             CASE WHEN u.loc_state = 'ok' THEN
               (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                 WHERE n.force_id = register_batch.force AND ST_Intersects(n.geom, g.geom)
                 ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1)
             ELSE nullif(pg_catalog.btrim(u.neighbourhood), '') END AS neighbourhood_id
        FROM (SELECT CASE WHEN u.loc_state = 'ok'
                          THEN ST_SetSRID(ST_MakePoint(pg_catalog.btrim(u.easting)::float8, pg_catalog.btrim(u.northing)::float8), 27700)
                     END AS geom) g) loc ON true
    LEFT JOIN LATERAL (
      SELECT r.crime_id FROM crimesnap.raw_crime r
       WHERE r.force_id = register_batch.force AND r.crime_ref = u.ref
         AND r.superseded_by_batch IS NULL AND r.month <> m) live ON u.force = register_batch.force;
  PERFORM 'PRAGMA:TABLE: cs_checked (upload_row bigint, force text, crime_ref text, offence_code text, committed_on text, easting text, northing text, neighbourhood text, outcome text, context text, loaded_by name, loaded_at timestamp with time zone, ref text, code text, committed date, loc_state text, context_finding text, outcome_finding text, dup bigint, geom geometry, neighbourhood_id text, resent_crime_id bigint, reason_code text)';
  -- Temporary tables have no statistics until analysed, and the plans below join them.
  ANALYZE pg_temp.cs_checked;

  -- A resend of a reference live in another month updates that record's outcome (through
  -- crimesnap.record_outcomes() below, into the outcome history), and nothing else: the
  -- record is not loaded again, so it never moves, changes month or is published elsewhere.
  SELECT count(*) INTO n_updated FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL AND c.resent_crime_id IS NOT NULL;
  IF n_updated > 0 THEN
    RAISE NOTICE '% rows repeat references live in another month: they updated those records'' outcomes and were not loaded again', n_updated;
  END IF;

  -- A reference already live in this month is being resubmitted: the new row wins and
  -- keeps the persistent id, unless it moves a record already published at a position.
  -- Then it is a correction: the record gets the next correction number, so a new id, and
  -- the old id is withdrawn (a published id never shows at two positions).
  CREATE TEMP TABLE cs_prev ON COMMIT DROP AS
  SELECT c.ref, r.crime_id, r.persistent_id, r.correction,
         (c.geom IS NOT NULL AND r.geom IS NOT NULL AND NOT ST_Equals(c.geom, r.geom)
          AND EXISTS (SELECT FROM crimesnap.published_position pp WHERE pp.persistent_id = r.persistent_id)) AS corrected
    FROM pg_temp.cs_checked c
    JOIN crimesnap.raw_crime r ON r.force_id = register_batch.force AND r.crime_ref = c.ref
                              AND r.superseded_by_batch IS NULL
   WHERE c.reason_code IS NULL AND c.resent_crime_id IS NULL;
  PERFORM 'PRAGMA:TABLE: cs_prev (ref text, crime_id bigint, persistent_id text, correction integer, corrected boolean)';
  UPDATE crimesnap.raw_crime r SET superseded_by_batch = b.batch_id
    FROM pg_temp.cs_prev x WHERE r.crime_id = x.crime_id;

  SELECT s.value INTO id_key FROM crimesnap.secret s WHERE s.name = 'persistent_id_key';
  INSERT INTO crimesnap.raw_crime
    (batch_id, force_id, crime_ref, persistent_id, month, offence_code, committed_on, geom,
     neighbourhood_id, outcome, context, correction)
  SELECT b.batch_id, register_batch.force, c.ref,
         crimesnap.persistent_id_with_key(id_key, register_batch.force, c.ref,
                                          coalesce(x.correction + x.corrected::integer, 0)),
         m, c.code, c.committed, c.geom, c.neighbourhood_id,
         nullif(pg_catalog.btrim(c.outcome), ''), nullif(pg_catalog.btrim(c.context), ''), coalesce(x.correction + x.corrected::integer, 0)
    FROM pg_temp.cs_checked c
    LEFT JOIN pg_temp.cs_prev x ON x.ref = c.ref
   WHERE c.reason_code IS NULL AND c.resent_crime_id IS NULL
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_loaded = ROW_COUNT;

  -- Free text is never published as written: the outcome goes into the record's outcome
  -- history as a police.uk category, and a context text waits for the force's review.
  PERFORM crimesnap.record_outcomes(b.batch_id,
            (SELECT pg_catalog.array_agg(c.ref ORDER BY c.upload_row) FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL),
            (SELECT pg_catalog.array_agg(c.outcome ORDER BY c.upload_row) FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL));
  PERFORM crimesnap.note_contexts(b.batch_id);
  FOR corr IN
    SELECT x.persistent_id AS old_id, r.persistent_id AS new_id, w.withdrawal_id
      FROM pg_temp.cs_prev x
      JOIN crimesnap.raw_crime r ON r.batch_id = b.batch_id AND r.crime_ref = x.ref
      LEFT JOIN crimesnap.withdrawal w ON w.scope = 'record' AND w.persistent_id = x.persistent_id
                                      AND w.reinstated_at IS NULL
     WHERE x.corrected
     ORDER BY r.crime_id
  LOOP
    IF corr.withdrawal_id IS NULL THEN
      PERFORM crimesnap.withdraw(corr.old_id, pg_catalog.format(
        'location corrected by batch %s: the record is published under a new persistent id', b.batch_id));
    ELSE
      -- A withdrawn record stays withdrawn under its new id.
      INSERT INTO crimesnap.withdrawal (scope, force_id, persistent_id, reason)
      VALUES ('record', register_batch.force, corr.new_id,
              pg_catalog.format('carried over from withdrawal %s when batch %s corrected the location', corr.withdrawal_id, b.batch_id));
    END IF;
  END LOOP;
  n_loaded := n_loaded + n_updated;

  -- The reason quotes the offending value, except for personal data, where it names only
  -- the kind found, so that lists of reasons can be shared without the data itself.
  INSERT INTO crimesnap.reject (batch_id, upload_row, force_id, crime_ref, reason_code, reason, row_data)
  SELECT b.batch_id, c.upload_row, register_batch.force,
         CASE WHEN c.reason_code = 'reference_too_long' THEN NULL ELSE c.ref END, c.reason_code,
         rr.description || CASE c.reason_code
           WHEN 'unknown_force' THEN pg_catalog.format(' (%s)', coalesce(pg_catalog.left(c.force, 100), 'empty'))
           WHEN 'reference_too_long' THEN pg_catalog.format(' (%s characters)', pg_catalog.length(c.ref))
           WHEN 'duplicate_reference' THEN pg_catalog.format(' (%s rows of the batch have it)',
                                                             (SELECT pg_catalog.count(*) FROM pg_temp.cs_checked d WHERE d.ref = c.ref AND d.force = c.force))
           WHEN 'unknown_offence_code' THEN pg_catalog.format(' (%s)', coalesce(nullif(pg_catalog.left(c.code, 100), ''), 'empty'))
           WHEN 'invalid_date' THEN pg_catalog.format(' (%s)', coalesce(pg_catalog.left(c.committed_on, 100), 'empty'))
           WHEN 'date_outside_month' THEN pg_catalog.format(' (%s is not in %s)', pg_catalog.to_char(c.committed, 'YYYY-MM-DD'), pg_catalog.to_char(m, 'YYYY-MM'))
           WHEN 'impossible_coordinates' THEN pg_catalog.format(' (easting %s, northing %s)',
                                                               coalesce(nullif(pg_catalog.left(pg_catalog.btrim(c.easting), 100), ''), 'empty'),
                                                               coalesce(nullif(pg_catalog.left(pg_catalog.btrim(c.northing), 100), ''), 'empty'))
           WHEN 'outside_force_area' THEN pg_catalog.format(' (%s, %s is not in any neighbourhood of %s)',
                                                           pg_catalog.btrim(c.easting), pg_catalog.btrim(c.northing), register_batch.force)
           WHEN 'unknown_neighbourhood' THEN pg_catalog.format(' (%s)', pg_catalog.left(c.neighbourhood, 100))
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
  DROP TABLE pg_temp.cs_upload, pg_temp.cs_checked, pg_temp.cs_prev;
  RETURN b;
END
$fn$;

COMMENT ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text) IS
  'Validates the force''s rows in crimesnap.crime_upload into crimesnap.raw_crime and crimesnap.reject, records the batch''s metadata (CSP guidance 3.4), resolves earlier rejects the batch corrects, and fails, keeping nothing, unless loaded + rejected = records_supplied. A reference live in another month only updates that record''s outcome; a resubmitted record that moves from a published position gets a new persistent id and its old id is withdrawn.';

CREATE OR REPLACE FUNCTION crimesnap.roll_off_before(force text, keep_from date)
RETURNS TABLE (force_id text, month date, crimes bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  r record;
  k bigint := crimesnap.setting('min_addresses')::bigint;
BEGIN
  PERFORM crimesnap.assert_acts_for(roll_off_before.force);
  FOR r IN SELECT p.month FROM crimesnap.publication p
            WHERE p.force_id = roll_off_before.force AND p.status = 'street-level' AND p.month < keep_from
            ORDER BY p.month
  LOOP
    DELETE FROM crimesnap.trend t WHERE t.force_id = roll_off_before.force AND t.month = r.month;
    DELETE FROM crimesnap.trend_member t WHERE t.force_id = roll_off_before.force AND t.month = r.month;
    -- A record without a location counts in its neighbourhood only when that holds at
    -- least k distinct addresses (or none); otherwise it folds into the force.  A mapped
    -- record counts where its point is: the point's catchment already holds k.
    INSERT INTO crimesnap.trend_member (crime_id, force_id, month, neighbourhood_id, lsoa_code, category, mapped)
    SELECT c.crime_id, c.force_id, c.month,
           CASE WHEN c.point_id IS NULL AND coalesce(na.addresses, 0) BETWEEN 1 AND k - 1 THEN NULL
                ELSE c.neighbourhood_id END,
           sp.lsoa_code, c.category, c.point_id IS NOT NULL
      FROM crimesnap.published_crime c
      LEFT JOIN crimesnap.snap_point sp ON sp.version = c.snap_version AND sp.point_id = c.point_id
      LEFT JOIN crimesnap.area_addresses() na ON na.neighbourhood_id = c.neighbourhood_id
     WHERE c.force_id = roll_off_before.force AND c.month = r.month;
    INSERT INTO crimesnap.trend (force_id, month, neighbourhood_id, lsoa_code, category, crimes)
    SELECT t.force_id, t.month, t.neighbourhood_id, t.lsoa_code, t.category, pg_catalog.count(*)
      FROM crimesnap.trend_member t
     WHERE t.force_id = roll_off_before.force AND t.month = r.month
     GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM crimesnap.published_crime c WHERE c.force_id = roll_off_before.force AND c.month = r.month;
    GET DIAGNOSTICS crimes = ROW_COUNT;
    UPDATE crimesnap.publication p SET status = 'rolled-off', rolled_off_at = pg_catalog.now()
     WHERE p.force_id = roll_off_before.force AND p.month = r.month;
    INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
    VALUES ('roll-off', roll_off_before.force, r.month, pg_catalog.jsonb_build_object('crimes', crimes));
    force_id := roll_off_before.force;
    month := r.month;
    RETURN NEXT;
  END LOOP;
END
$fn$;

COMMENT ON FUNCTION crimesnap.roll_off_before(text, date) IS
  'Internal: moves a force''s street-level months before keep_from into the trend table, in the caller''s transaction and under the caller''s lock; a record without a location in a neighbourhood of fewer than crimesnap.min_addresses distinct addresses counts for the force instead. Returns what moved.';

CREATE OR REPLACE FUNCTION crimesnap.rotate_persistent_id_key(reason text)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f record;
  n bigint;
  id_key bytea;
BEGIN
  PERFORM crimesnap.assert_admin('rotate the persistent id key');
  IF reason IS NULL OR pg_catalog.btrim(reason) = '' THEN
    RAISE EXCEPTION 'rotating the persistent id key needs a reason'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Every published id changes: say why, for example that the key was exposed.';
  END IF;
  -- Nothing may publish or withdraw while the ids change under it.
  FOR f IN SELECT x.force_id FROM crimesnap.force x ORDER BY x.force_id LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f.force_id));
  END LOOP;
  CREATE TEMP TABLE cs_old_id ON COMMIT DROP AS
  SELECT DISTINCT r.force_id, r.crime_ref, r.correction, r.persistent_id AS old_id FROM crimesnap.raw_crime r;
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_old_id (force_id text, crime_ref text, correction integer, old_id text)';
  UPDATE crimesnap.secret s SET value = crimesnap.random_key() WHERE s.name = 'persistent_id_key'
  RETURNING s.value INTO id_key;
  UPDATE crimesnap.raw_crime r SET persistent_id = crimesnap.persistent_id_with_key(id_key, r.force_id, r.crime_ref, r.correction);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE crimesnap.withdrawal w SET persistent_id = crimesnap.persistent_id_with_key(id_key, o.force_id, o.crime_ref, o.correction)
    FROM pg_temp.cs_old_id o WHERE w.persistent_id = o.old_id;
  UPDATE crimesnap.published_position h SET persistent_id = crimesnap.persistent_id_with_key(id_key, o.force_id, o.crime_ref, o.correction)
    FROM pg_temp.cs_old_id o WHERE h.persistent_id = o.old_id;
  UPDATE crimesnap.published_crime c SET persistent_id = r.persistent_id
    FROM crimesnap.raw_crime r WHERE r.crime_id = c.crime_id AND c.persistent_id IS NOT NULL;
  INSERT INTO crimesnap.audit_log (action, detail)
  VALUES ('rotate-key', pg_catalog.jsonb_build_object('records', n, 'reason', reason));
  DROP TABLE pg_temp.cs_old_id;
  RETURN n;
END
$fn$;

COMMENT ON FUNCTION crimesnap.rotate_persistent_id_key(text) IS
  'Replaces the persistent id key with a fresh random one and re-keys every stored and published id, every withdrawal and the publication-position history. Every public id changes: for a key that has leaked. crimesnap_admin only. Returns the raw records re-keyed.';

CREATE OR REPLACE FUNCTION crimesnap.snap_point_coverage(version integer DEFAULT NULL, beyond double precision DEFAULT NULL)
RETURNS TABLE (neighbourhood_id text, force_id text, addresses bigint, points bigint, street_points bigint,
               farthest_address double precision, beyond_distance double precision, share_beyond double precision)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  WITH v AS (
    SELECT coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current)) AS version,
           coalesce($2, crimesnap.setting('max_snap_distance')::double precision) AS d
  ), addr AS (
    SELECT a.geom, crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id FROM crimesnap.postal_address a
  ), dist AS (
    SELECT a.neighbourhood_id,
           (SELECT ST_Distance(p.geom, a.geom) FROM crimesnap.snap_point p, v
             WHERE p.version = v.version AND p.neighbourhood_id = a.neighbourhood_id
             ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) AS distance
      FROM addr a WHERE a.neighbourhood_id IS NOT NULL
  ), per_nb AS (
    SELECT d.neighbourhood_id, count(*) AS addresses, max(d.distance) AS farthest
      FROM dist d GROUP BY d.neighbourhood_id
  ), pts AS (
    SELECT p.neighbourhood_id, count(*) AS points, count(*) FILTER (WHERE p.kind = 'street') AS street_points,
           ST_Buffer(ST_Collect(p.geom), v.d) AS reach
      FROM crimesnap.snap_point p, v WHERE p.version = v.version
     GROUP BY p.neighbourhood_id, v.d
  )
  SELECT n.neighbourhood_id, n.force_id, coalesce(a.addresses, 0), coalesce(p.points, 0), coalesce(p.street_points, 0),
         a.farthest, v.d,
         CASE WHEN ST_Area(n.geom) = 0::float8 THEN 0::float8
              WHEN p.reach IS NULL THEN 1::float8
              ELSE greatest(0::float8, 1::float8 - ST_Area(ST_Intersection(n.geom, p.reach)) / ST_Area(n.geom)) END
    FROM crimesnap.neighbourhood n
    CROSS JOIN v
    LEFT JOIN per_nb a ON a.neighbourhood_id = n.neighbourhood_id
    LEFT JOIN pts p ON p.neighbourhood_id = n.neighbourhood_id
$fn$;

COMMENT ON FUNCTION crimesnap.snap_point_coverage(integer, double precision) IS
  'Coverage of a snap point set (default: current) per neighbourhood: distinct postal addresses, points (and street points), how far the farthest address is from its point (NULL when the neighbourhood has no point), and the share of the area further than beyond metres (default crimesnap.max_snap_distance) from every point of it. A crime there is published without a location.';

-- snap_point_coverage (promise) is granted to crimesnap_admin (security) as well.
GRANT EXECUTE ON FUNCTION crimesnap.snap_point_coverage(integer, double precision) TO crimesnap_admin;
