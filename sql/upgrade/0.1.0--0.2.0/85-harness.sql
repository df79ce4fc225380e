

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
