-- Section 70: sharing with Community Safety Partnerships.  C: src/postcode.c.  Tests:
-- test/sql/partner.sql (the address sanitiser's table of real forms), test/pgtap/postcode.sql
-- (postcode centroids against brute force), test/pgtap/partner.sql (extracts, roles, grid
-- blocks).  Guide: docs/csp-guide.md.
--
-- The CSP information-sharing guidance (../shared/seeds/csp-information-sharing-guidance.txt)
-- asks forces to supply the police recorded crime data set of its section 3.2.1 to the local
-- Community Safety Partnership, depersonalised as its Appendix 1 says: the address without
-- house number, name or flat, and the coordinates moved to the centroid of a postcode with at
-- least four households.  The ICO's crime-mapping guidance (paragraph 35) adds counts in
-- blocks of grid references.  This section does both, in the database, in transactions.
--
-- The same file is the 0.1.0 -> 0.2.0 upgrade fragment sql/upgrade/0.1.0--0.2.0/NN-csp.sql,
-- so it carries its own search_path, revokes and grants.

SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crimesnap_partner') THEN
    CREATE ROLE crimesnap_partner NOLOGIN;
  END IF;
  COMMENT ON ROLE crimesnap_partner IS
    'Community Safety Partnership analysts: read their own partner extracts (crimesnap.my_partner_extract) and nothing else.';
END
$roles$;

-- ---- postcodes (CSP guidance, Appendix 1) ----

CREATE FUNCTION crimesnap.postcode_key(postcode text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_postcode_key';

CREATE TABLE crimesnap.postcode (
  postcode   text PRIMARY KEY CHECK (crimesnap.postcode_key(postcode) IS NOT NULL),
  households integer CHECK (households >= 0),
  geom       geometry(Point, 27700) NOT NULL
);
CREATE UNIQUE INDEX postcode_key_unique ON crimesnap.postcode (crimesnap.postcode_key(postcode));
CREATE INDEX ON crimesnap.postcode USING gist (geom);
SELECT pg_catalog.pg_extension_config_dump('crimesnap.postcode', '');
COMMENT ON TABLE crimesnap.postcode IS
  'Postcode centroids (for example from Code-Point Open) with their number of households: where crimesnap.postcode_point() moves a record. Never published as such.';
COMMENT ON COLUMN crimesnap.postcode.postcode IS 'The postcode, for example ''W1T 4AB''; two spellings of one postcode (''W1T4AB'') may not both be loaded.';
COMMENT ON COLUMN crimesnap.postcode.households IS 'Households in the postcode; NULL to count the distinct postal addresses with that postcode in crimesnap.address (Code-Point Open has no household counts).';
COMMENT ON COLUMN crimesnap.postcode.geom IS 'The postcode''s centroid, a point in EPSG:27700.';

-- Non-addressable places (parks, car parks, waste ground) may have an area: a record inside it
-- keeps the place's own point (Appendix 1: such locations do not refer to persons).
ALTER TABLE crimesnap.public_place ADD COLUMN area geometry
  CONSTRAINT public_place_area_is_polygonal
  CHECK (area IS NULL OR (ST_SRID(area) = 27700 AND GeometryType(area) IN ('POLYGON', 'MULTIPOLYGON')));
CREATE INDEX public_place_area ON crimesnap.public_place USING gist (area);
COMMENT ON COLUMN crimesnap.public_place.area IS
  'The place''s extent, Polygon or MultiPolygon in EPSG:27700, when it is a non-addressable area (park, car park, waste ground): a partner extract leaves a record inside it at the place''s point, with no postcode. NULL for none.';

-- The one definition of "distinct postal addresses" for this section: postcode household
-- counts and grid blocks both count these rows.
CREATE FUNCTION crimesnap.postal_addresses()
RETURNS TABLE (address_id bigint, postcode_key text, geom geometry)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path FROM CURRENT
BEGIN ATOMIC
  SELECT a.address_id, crimesnap.postcode_key(a.postcode), a.geom FROM crimesnap.address a;
END;

CREATE VIEW crimesnap.postcode_households AS
SELECT p.postcode,
       crimesnap.postcode_key(p.postcode) AS postcode_key,
       pg_catalog.int4(coalesce(p.households, a.n, 0)) AS households,
       p.households IS NULL AS counted,
       p.geom
  FROM crimesnap.postcode p
  LEFT JOIN (SELECT x.postcode_key, pg_catalog.count(*) AS n
               FROM crimesnap.postal_addresses() x
              WHERE x.postcode_key IS NOT NULL
              GROUP BY x.postcode_key) a ON a.postcode_key = crimesnap.postcode_key(p.postcode);
COMMENT ON VIEW crimesnap.postcode_households IS
  'Each postcode with the households it counts for: as loaded, or else the distinct postal addresses that carry it.';
COMMENT ON COLUMN crimesnap.postcode_households.postcode IS 'The postcode as loaded.';
COMMENT ON COLUMN crimesnap.postcode_households.postcode_key IS 'Its matching key, crimesnap.postcode_key().';
COMMENT ON COLUMN crimesnap.postcode_households.households IS 'Households: crimesnap.postcode.households, or the count of addresses.';
COMMENT ON COLUMN crimesnap.postcode_households.counted IS 'true when households was counted from crimesnap.address.';
COMMENT ON COLUMN crimesnap.postcode_households.geom IS 'The centroid.';

CREATE FUNCTION crimesnap.nearest_site(queries geometry[], sites geometry[])
RETURNS integer[]
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_nearest_site';

CREATE FUNCTION crimesnap.postcode_points(locations geometry[], postcodes text[] DEFAULT NULL)
RETURNS TABLE (ord integer, postcode text, geom geometry, rule text)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  k integer := crimesnap.setting('min_postcode_households')::integer;
  bad integer;
  e_geoms geometry[];
  e_codes text[];
  a_geoms geometry[];
  a_keys text[];
  own_keys text[];
  search_at geometry[];
BEGIN
  IF locations IS NULL THEN
    RAISE EXCEPTION 'locations must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Pass an array, with NULL for a record without a location.';
  END IF;
  IF postcodes IS NOT NULL AND pg_catalog.cardinality(postcodes) <> pg_catalog.cardinality(locations) THEN
    RAISE EXCEPTION 'got % locations and % postcodes', pg_catalog.cardinality(locations), pg_catalog.cardinality(postcodes)
      USING ERRCODE = 'array_subscript_error', HINT = 'Pass one postcode (or NULL) per location.';
  END IF;
  IF pg_catalog.cardinality(locations) = 0 THEN
    RETURN;
  END IF;
  SELECT min(u.i) INTO bad
    FROM unnest(locations) WITH ORDINALITY u(g, i)
   WHERE u.g IS NOT NULL AND (ST_SRID(u.g) <> 27700 OR GeometryType(u.g) <> 'POINT');
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'location % is not a point in British National Grid', bad
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass points in EPSG:27700, for example ST_Transform(geom, 27700).';
  END IF;

  -- Tie orders: postcodes by key in byte order, addresses by id.
  SELECT array_agg(h.geom ORDER BY h.postcode_key COLLATE "C"), array_agg(h.postcode ORDER BY h.postcode_key COLLATE "C")
    INTO e_geoms, e_codes
    FROM crimesnap.postcode_households h WHERE h.households >= k;
  SELECT array_agg(a.geom ORDER BY a.address_id), array_agg(a.postcode_key ORDER BY a.address_id)
    INTO a_geoms, a_keys
    FROM crimesnap.postal_addresses() a
   WHERE a.postcode_key IS NOT NULL
     AND EXISTS (SELECT FROM crimesnap.postcode p WHERE crimesnap.postcode_key(p.postcode) = a.postcode_key);

  -- The record's own postcode: given, or else that of the nearest address with a known
  -- postcode.  A record without a location is looked for from its postcode's centroid.
  SELECT array_agg(x.own_key ORDER BY x.i), array_agg(coalesce(x.g, own.geom) ORDER BY x.i)
    INTO own_keys, search_at
    FROM (SELECT u.i, u.g, coalesce(crimesnap.postcode_key(u.pc), ak.key) AS own_key
            FROM unnest(locations, postcodes, crimesnap.nearest_site(locations, coalesce(a_geoms, '{}')))
                 WITH ORDINALITY u(g, pc, ai, i)
            -- joined, not subscripted: a subscript walks a text array from its start
            LEFT JOIN unnest(a_keys) WITH ORDINALITY ak(key, n) ON ak.n = u.ai) x
    LEFT JOIN crimesnap.postcode own ON crimesnap.postcode_key(own.postcode) = x.own_key;

  RETURN QUERY
  WITH q AS (
    SELECT u.i::integer AS i, u.g, u.own_key, u.ei
      FROM unnest(locations, own_keys, crimesnap.nearest_site(search_at, coalesce(e_geoms, '{}')))
           WITH ORDINALITY u(g, own_key, ei, i)
  )
  SELECT q.i,
         CASE WHEN pl.geom IS NOT NULL THEN NULL WHEN own.postcode IS NOT NULL THEN own.postcode ELSE e.code END,
         CASE WHEN pl.geom IS NOT NULL THEN pl.geom WHEN own.postcode IS NOT NULL THEN own.geom ELSE e.geom END,
         CASE WHEN pl.geom IS NOT NULL THEN 'public place'
              WHEN own.postcode IS NOT NULL THEN 'own postcode'
              WHEN q.ei IS NOT NULL THEN 'nearest postcode with enough households' END
    FROM q
    LEFT JOIN LATERAL (SELECT p.geom FROM crimesnap.public_place p
                        WHERE q.g IS NOT NULL AND p.area IS NOT NULL AND ST_Intersects(p.area, q.g)
                        ORDER BY p.place_id LIMIT 1) pl ON true
    LEFT JOIN crimesnap.postcode_households own ON own.postcode_key = q.own_key AND own.households >= k
    LEFT JOIN unnest(e_codes, e_geoms) WITH ORDINALITY e(code, geom, n) ON e.n = q.ei
   ORDER BY q.i;
END
$fn$;

CREATE FUNCTION crimesnap.postcode_point(location geometry, postcode text DEFAULT NULL)
RETURNS TABLE (postcode text, geom geometry)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
BEGIN ATOMIC
  SELECT p.postcode, p.geom FROM crimesnap.postcode_points(ARRAY[$1], ARRAY[$2]) p;
END;

-- ---- address strings (CSP guidance, Appendix 1 and section 3.2) ----

CREATE FUNCTION crimesnap.address_postcode(address text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
RETURN (SELECT pg_catalog.upper(m[1]) || ' ' || pg_catalog.upper(m[2])
          FROM pg_catalog.regexp_match(address,
                 '(?:^|[^A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]?) ?([0-9][A-Za-z]{2})[^A-Za-z0-9]*$') m);

CREATE FUNCTION crimesnap.sanitise_address(address text)
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
  kept text[] := '{}';
  found_street boolean := false;
  street_at integer;
  i integer;
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

CREATE FUNCTION crimesnap.replace_postcode(address text, postcode text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path FROM CURRENT
RETURN CASE
  WHEN address IS NULL THEN postcode
  WHEN crimesnap.address_postcode(address) IS NULL THEN
    nullif(pg_catalog.concat_ws(', ', nullif(address, ''), postcode), '')
  ELSE nullif(pg_catalog.concat_ws(', ',
         nullif(pg_catalog.regexp_replace(address,
           '\s*,?\s*[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}[^A-Za-z0-9]*$', ''), ''),
         postcode), '')
END;

-- ---- the optional fields of section 3.2.1 in the upload ----
--
-- crimesnap.register_batch() is not changed: it claims a force's rows by deleting them from
-- crimesnap.crime_upload and ends by updating its crimesnap.batch row.  A statement trigger
-- keeps the optional fields of the deleted rows for the rest of the transaction, and a trigger
-- on the batch's update files them beside the raw records the batch loaded.

ALTER TABLE crimesnap.crime_upload
  ADD COLUMN committed_to       text,
  ADD COLUMN committed_from_time text,
  ADD COLUMN committed_to_time  text,
  ADD COLUMN address            text,
  ADD COLUMN postcode           text,
  ADD COLUMN method_of_entry    text,
  ADD COLUMN property_stolen    text,
  ADD COLUMN weapon             text,
  ADD COLUMN distraction_burglary text,
  ADD COLUMN drugs_related      text,
  ADD COLUMN alcohol_related    text,
  ADD COLUMN racially_motivated text,
  ADD COLUMN domestic           text;
COMMENT ON COLUMN crimesnap.crime_upload.committed_to IS 'Optional (CSP guidance 3.2.1): committed to date, YYYY-MM-DD.';
COMMENT ON COLUMN crimesnap.crime_upload.committed_from_time IS 'Optional: committed from time, HH:MM or HH:MM:SS (else taken from a time after committed_on''s date).';
COMMENT ON COLUMN crimesnap.crime_upload.committed_to_time IS 'Optional: committed to time, HH:MM or HH:MM:SS.';
COMMENT ON COLUMN crimesnap.crime_upload.address IS 'Optional: address or location of the offence as recorded. Never published; partner extracts carry it sanitised.';
COMMENT ON COLUMN crimesnap.crime_upload.postcode IS 'Optional: postcode of the address; else read from the end of address.';
COMMENT ON COLUMN crimesnap.crime_upload.method_of_entry IS 'Optional free text: method of entry. Screened like context.';
COMMENT ON COLUMN crimesnap.crime_upload.property_stolen IS 'Optional free text: property stolen. Screened like context.';
COMMENT ON COLUMN crimesnap.crime_upload.weapon IS 'Optional free text: weapon or part of body used. Screened like context.';
COMMENT ON COLUMN crimesnap.crime_upload.distraction_burglary IS 'Optional marker: distraction burglary (Y/N, yes/no, true/false, 1/0).';
COMMENT ON COLUMN crimesnap.crime_upload.drugs_related IS 'Optional marker: drugs-related incident.';
COMMENT ON COLUMN crimesnap.crime_upload.alcohol_related IS 'Optional marker: alcohol-related incident.';
COMMENT ON COLUMN crimesnap.crime_upload.racially_motivated IS 'Optional marker: racially motivated incident.';
COMMENT ON COLUMN crimesnap.crime_upload.domestic IS 'Optional marker: domestic incident.';

CREATE TABLE crimesnap.upload_detail_stage (
  xact         xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
  upload_row   bigint NOT NULL,
  force        text,
  crime_ref    text,
  committed_on text,
  detail       jsonb NOT NULL
);
COMMENT ON TABLE crimesnap.upload_detail_stage IS
  'Internal: the optional section 3.2.1 fields of upload rows being claimed by crimesnap.register_batch(), kept for the rest of its transaction and emptied when the batch is filed.';
COMMENT ON COLUMN crimesnap.upload_detail_stage.xact IS 'Transaction that claimed the row.';
COMMENT ON COLUMN crimesnap.upload_detail_stage.upload_row IS 'The row''s upload_row.';
COMMENT ON COLUMN crimesnap.upload_detail_stage.force IS 'force as uploaded.';
COMMENT ON COLUMN crimesnap.upload_detail_stage.crime_ref IS 'Reference number, trimmed.';
COMMENT ON COLUMN crimesnap.upload_detail_stage.committed_on IS 'committed_on as uploaded, for a time after the date.';
COMMENT ON COLUMN crimesnap.upload_detail_stage.detail IS 'The optional fields as uploaded.';

CREATE TABLE crimesnap.raw_crime_detail (
  crime_id             bigint PRIMARY KEY REFERENCES crimesnap.raw_crime ON DELETE CASCADE,
  committed_from_time  time,
  committed_to         date,
  committed_to_time    time,
  address              text,
  postcode             text,
  method_of_entry      text,
  property_stolen      text,
  weapon               text,
  distraction_burglary boolean,
  drugs_related        boolean,
  alcohol_related      boolean,
  racially_motivated   boolean,
  domestic             boolean,
  withheld             text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE crimesnap.raw_crime_detail IS
  'The optional section 3.2.1 fields of a raw record, as the force supplied them, parsed and screened. Raw data: never readable outside the extension''s owner and publishers; partner extracts carry it depersonalised.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.crime_id IS 'The raw record.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.committed_from_time IS 'Committed from time.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.committed_to IS 'Committed to date.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.committed_to_time IS 'Committed to time.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.address IS 'Address or location as recorded: personal data.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.postcode IS 'Postcode as supplied, or read from the address.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.method_of_entry IS 'Method of entry, when it passed crimesnap.screen_context().';
COMMENT ON COLUMN crimesnap.raw_crime_detail.property_stolen IS 'Property stolen, when it passed screening.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.weapon IS 'Weapon used, when it passed screening.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.distraction_burglary IS 'Marker: distraction burglary.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.drugs_related IS 'Marker: drugs-related.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.alcohol_related IS 'Marker: alcohol-related.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.racially_motivated IS 'Marker: racially motivated.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.domestic IS 'Marker: domestic.';
COMMENT ON COLUMN crimesnap.raw_crime_detail.withheld IS 'Fields left out, each as "field: why" (personal data found by screening, or a value that could not be read).';

CREATE FUNCTION crimesnap.stage_upload_detail()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
BEGIN
  INSERT INTO crimesnap.upload_detail_stage (upload_row, force, crime_ref, committed_on, detail)
  SELECT g.upload_row, g.force, nullif(btrim(g.crime_ref), ''), g.committed_on,
         pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
           'committed_to', nullif(btrim(g.committed_to), ''),
           'committed_from_time', nullif(btrim(g.committed_from_time), ''),
           'committed_to_time', nullif(btrim(g.committed_to_time), ''),
           'address', nullif(btrim(g.address), ''),
           'postcode', nullif(btrim(g.postcode), ''),
           'method_of_entry', nullif(btrim(g.method_of_entry), ''),
           'property_stolen', nullif(btrim(g.property_stolen), ''),
           'weapon', nullif(btrim(g.weapon), ''),
           'distraction_burglary', nullif(btrim(g.distraction_burglary), ''),
           'drugs_related', nullif(btrim(g.drugs_related), ''),
           'alcohol_related', nullif(btrim(g.alcohol_related), ''),
           'racially_motivated', nullif(btrim(g.racially_motivated), ''),
           'domestic', nullif(btrim(g.domestic), '')))
    FROM claimed g
   WHERE nullif(btrim(g.crime_ref), '') IS NOT NULL
     AND (g.committed_on ~ '[T ][0-9]'
          OR pg_catalog.concat(g.committed_to, g.committed_from_time, g.committed_to_time, g.address, g.postcode,
                               g.method_of_entry, g.property_stolen, g.weapon, g.distraction_burglary,
                               g.drugs_related, g.alcohol_related, g.racially_motivated, g.domestic) ~ '\S');
  RETURN NULL;
END
$fn$;
CREATE TRIGGER stage_upload_detail AFTER DELETE ON crimesnap.crime_upload
  REFERENCING OLD TABLE AS claimed
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.stage_upload_detail();
COMMENT ON TRIGGER stage_upload_detail ON crimesnap.crime_upload IS
  'Keeps the optional section 3.2.1 fields of claimed rows for the rest of the transaction.';

CREATE FUNCTION crimesnap.parse_flag(value text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
RETURN CASE WHEN pg_catalog.lower(btrim(value)) IN ('y', 'yes', 't', 'true', '1') THEN true
            WHEN pg_catalog.lower(btrim(value)) IN ('n', 'no', 'f', 'false', '0') THEN false END;

CREATE FUNCTION crimesnap.parse_time(value text)
RETURNS time
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
RETURN CASE WHEN value ~ '^\s*([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?\s*$' THEN btrim(value)::time END;

CREATE FUNCTION crimesnap.parse_date(value text)
RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF value !~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$' THEN
    RETURN NULL;
  END IF;
  RETURN btrim(value)::date;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
  RETURN NULL;
END
$fn$;

CREATE FUNCTION crimesnap.file_upload_detail()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
BEGIN
  INSERT INTO crimesnap.raw_crime_detail AS d
    (crime_id, committed_from_time, committed_to, committed_to_time, address, postcode,
     method_of_entry, property_stolen, weapon, distraction_burglary, drugs_related,
     alcohol_related, racially_motivated, domestic, withheld)
  SELECT x.crime_id, x.from_time, crimesnap.parse_date(x.detail->>'committed_to'),
         crimesnap.parse_time(x.detail->>'committed_to_time'),
         x.detail->>'address',
         coalesce(x.detail->>'postcode', crimesnap.address_postcode(x.detail->>'address')),
         CASE WHEN crimesnap.screen_context(x.detail->>'method_of_entry') IS NULL THEN x.detail->>'method_of_entry' END,
         CASE WHEN crimesnap.screen_context(x.detail->>'property_stolen') IS NULL THEN x.detail->>'property_stolen' END,
         CASE WHEN crimesnap.screen_context(x.detail->>'weapon') IS NULL THEN x.detail->>'weapon' END,
         crimesnap.parse_flag(x.detail->>'distraction_burglary'),
         crimesnap.parse_flag(x.detail->>'drugs_related'),
         crimesnap.parse_flag(x.detail->>'alcohol_related'),
         crimesnap.parse_flag(x.detail->>'racially_motivated'),
         crimesnap.parse_flag(x.detail->>'domestic'),
         ARRAY(SELECT f.name || ': ' || f.why FROM (
           SELECT v.name, CASE
                    WHEN v.kind = 'text' THEN crimesnap.screen_context(x.detail->>v.name)
                    WHEN v.kind = 'flag' AND crimesnap.parse_flag(x.detail->>v.name) IS NULL THEN 'not a yes or no'
                    WHEN v.kind = 'date' AND crimesnap.parse_date(x.detail->>v.name) IS NULL THEN 'not a YYYY-MM-DD date'
                    WHEN v.kind = 'time' AND crimesnap.parse_time(x.detail->>v.name) IS NULL THEN 'not an HH:MM time'
                  END AS why, v.ord
             FROM (VALUES (1, 'committed_to', 'date'), (2, 'committed_from_time', 'time'),
                          (3, 'committed_to_time', 'time'), (4, 'method_of_entry', 'text'),
                          (5, 'property_stolen', 'text'), (6, 'weapon', 'text'),
                          (7, 'distraction_burglary', 'flag'), (8, 'drugs_related', 'flag'),
                          (9, 'alcohol_related', 'flag'), (10, 'racially_motivated', 'flag'),
                          (11, 'domestic', 'flag')) AS v(ord, name, kind)
            WHERE x.detail ? v.name) f
           WHERE f.why IS NOT NULL ORDER BY f.ord)
    FROM (SELECT DISTINCT ON (s.crime_ref) rc.crime_id, s.detail,
                 coalesce(crimesnap.parse_time(s.detail->>'committed_from_time'),
                          crimesnap.parse_time(substring(s.committed_on FROM '[T ]([0-9:]+)'))) AS from_time
            FROM crimesnap.upload_detail_stage s
            JOIN crimesnap.raw_crime rc ON rc.batch_id = NEW.batch_id AND rc.crime_ref = s.crime_ref
           WHERE s.xact = pg_catalog.pg_current_xact_id() AND s.force = NEW.force_id
           ORDER BY s.crime_ref, s.upload_row) x;
  -- This batch's rows are filed; rows other transactions left behind (a DBA's own DELETE from
  -- the upload) go too, once those transactions have ended.
  DELETE FROM crimesnap.upload_detail_stage s
   WHERE (s.xact = pg_catalog.pg_current_xact_id() AND s.force IS NOT DISTINCT FROM NEW.force_id)
      OR (s.xact <> pg_catalog.pg_current_xact_id()
          AND pg_catalog.pg_xact_status(s.xact) IS DISTINCT FROM 'in progress');
  RETURN NULL;
END
$fn$;
CREATE TRIGGER file_upload_detail AFTER UPDATE OF records_loaded ON crimesnap.batch
  FOR EACH ROW EXECUTE FUNCTION crimesnap.file_upload_detail();
COMMENT ON TRIGGER file_upload_detail ON crimesnap.batch IS
  'Files the optional section 3.2.1 fields of the records a batch loaded.';

-- ---- partners and their extracts (CSP guidance, sections 3.2.1 and 3.4) ----

CREATE TABLE crimesnap.partner (
  partner_id  text PRIMARY KEY CHECK (partner_id ~ '^[a-z0-9][a-z0-9-]*$'),
  name        text NOT NULL,
  contact     text,
  member_role name
);
SELECT pg_catalog.pg_extension_config_dump('crimesnap.partner', '');
COMMENT ON TABLE crimesnap.partner IS
  'Community Safety Partnerships (and other partner agencies) that receive depersonalised extracts.';
COMMENT ON COLUMN crimesnap.partner.partner_id IS 'Partner slug: lower case letters, digits and hyphens, for example ''northshire-csp''.';
COMMENT ON COLUMN crimesnap.partner.name IS 'The partnership''s name, as the extract metadata gives it.';
COMMENT ON COLUMN crimesnap.partner.contact IS 'The partnership''s analyst or information officer.';
COMMENT ON COLUMN crimesnap.partner.member_role IS 'Database role (a member of crimesnap_partner) whose members read this partner''s extracts; NULL while nobody may.';

CREATE TABLE crimesnap.partner_agreement (
  partner_id       text NOT NULL REFERENCES crimesnap.partner ON UPDATE CASCADE ON DELETE CASCADE,
  force_id         text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE ON DELETE CASCADE,
  dsa_reference    text NOT NULL CHECK (btrim(dsa_reference) <> ''),
  supplier_name    text NOT NULL,
  supplier_contact text NOT NULL,
  caveats          text,
  PRIMARY KEY (partner_id, force_id)
);
SELECT pg_catalog.pg_extension_config_dump('crimesnap.partner_agreement', '');
COMMENT ON TABLE crimesnap.partner_agreement IS
  'Which force supplies which partner, under which data sharing agreement: a partner receives, and its role reads, only the extracts of the forces it has an agreement with.';
COMMENT ON COLUMN crimesnap.partner_agreement.partner_id IS 'The partner.';
COMMENT ON COLUMN crimesnap.partner_agreement.force_id IS 'The force that supplies it.';
COMMENT ON COLUMN crimesnap.partner_agreement.dsa_reference IS 'Reference of the data sharing agreement (information sharing protocol) the supply is made under.';
COMMENT ON COLUMN crimesnap.partner_agreement.supplier_name IS 'Name of the supplier at the force (section 3.4), for example the designated liaison officer.';
COMMENT ON COLUMN crimesnap.partner_agreement.supplier_contact IS 'Contact details of the supplier.';
COMMENT ON COLUMN crimesnap.partner_agreement.caveats IS 'Standing caveats and conditions of use, repeated in every extract''s metadata.';

CREATE TABLE crimesnap.partner_extract_log (
  extract_id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  partner_id       text NOT NULL REFERENCES crimesnap.partner ON UPDATE CASCADE,
  force_id         text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  period_start     date NOT NULL,
  period_end       date NOT NULL CHECK (period_end >= period_start),
  requested_by     name NOT NULL DEFAULT SESSION_USER,
  requested_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  supplying_agency text NOT NULL,
  supplier_name    text NOT NULL,
  supplier_contact text NOT NULL,
  dataset_name     text NOT NULL,
  file_format      text NOT NULL,
  records          integer NOT NULL CHECK (records >= 0),
  date_supplied    date NOT NULL,
  datafields       jsonb NOT NULL,
  caveats          text NOT NULL,
  dsa_reference    text NOT NULL,
  min_postcode_households integer NOT NULL
);
CREATE INDEX ON crimesnap.partner_extract_log (partner_id, force_id);
SELECT pg_catalog.pg_extension_config_dump('crimesnap.partner_extract_log', '');
COMMENT ON TABLE crimesnap.partner_extract_log IS
  'Every partner extract, with the metadata section 3.4 of the CSP guidance asks for: what each partner has received, from whom, when and under which agreement.';
COMMENT ON COLUMN crimesnap.partner_extract_log.extract_id IS 'Extract id.';
COMMENT ON COLUMN crimesnap.partner_extract_log.partner_id IS 'The partner it was made for.';
COMMENT ON COLUMN crimesnap.partner_extract_log.force_id IS 'The force whose records it holds.';
COMMENT ON COLUMN crimesnap.partner_extract_log.period_start IS 'First committed-from date covered.';
COMMENT ON COLUMN crimesnap.partner_extract_log.period_end IS 'Last committed-from date covered.';
COMMENT ON COLUMN crimesnap.partner_extract_log.requested_by IS 'Who asked for it: the session user.';
COMMENT ON COLUMN crimesnap.partner_extract_log.requested_at IS 'When.';
COMMENT ON COLUMN crimesnap.partner_extract_log.supplying_agency IS 'Name of the agency supplying the information: the force.';
COMMENT ON COLUMN crimesnap.partner_extract_log.supplier_name IS 'Name of the supplier.';
COMMENT ON COLUMN crimesnap.partner_extract_log.supplier_contact IS 'Contact details of the supplier.';
COMMENT ON COLUMN crimesnap.partner_extract_log.dataset_name IS 'Dataset name.';
COMMENT ON COLUMN crimesnap.partner_extract_log.file_format IS 'File format.';
COMMENT ON COLUMN crimesnap.partner_extract_log.records IS 'Number of records supplied.';
COMMENT ON COLUMN crimesnap.partner_extract_log.date_supplied IS 'Date supplied.';
COMMENT ON COLUMN crimesnap.partner_extract_log.datafields IS 'The data fields, in order, each with its explanation: [{"field": ..., "explanation": ...}].';
COMMENT ON COLUMN crimesnap.partner_extract_log.caveats IS 'Caveats and considerations on the use of the dataset, including how coordinates were depersonalised and what was left out.';
COMMENT ON COLUMN crimesnap.partner_extract_log.dsa_reference IS 'The data sharing agreement it was supplied under.';
COMMENT ON COLUMN crimesnap.partner_extract_log.min_postcode_households IS 'crimesnap.min_postcode_households when it was made.';

CREATE TABLE crimesnap.partner_extract_row (
  extract_id           integer NOT NULL REFERENCES crimesnap.partner_extract_log ON DELETE CASCADE,
  row_no               integer NOT NULL,
  partner_ref          text NOT NULL,
  offence_code         text NOT NULL,
  offence_description  text,
  committed_from       date NOT NULL,
  committed_from_time  time,
  committed_to         date,
  committed_to_time    time,
  address              text,
  postcode             text,
  easting              double precision,
  northing             double precision,
  location_rule        text,
  method_of_entry      text,
  property_stolen      text,
  weapon               text,
  distraction_burglary boolean,
  drugs_related        boolean,
  alcohol_related      boolean,
  racially_motivated   boolean,
  domestic             boolean,
  PRIMARY KEY (extract_id, row_no)
);
SELECT pg_catalog.pg_extension_config_dump('crimesnap.partner_extract_row', '');
COMMENT ON TABLE crimesnap.partner_extract_row IS
  'The records of each partner extract: the police recorded crime offence data set of CSP guidance section 3.2.1, depersonalised as its Appendix 1 says.';
COMMENT ON COLUMN crimesnap.partner_extract_row.extract_id IS 'The extract.';
COMMENT ON COLUMN crimesnap.partner_extract_row.row_no IS 'Row number in the extract.';
COMMENT ON COLUMN crimesnap.partner_extract_row.partner_ref IS 'Partner reference in place of the crime reference number: keyed HMAC-SHA256 under the partner''s own key, the same in every extract to that partner (so its offence, offender and victim files link), different for every other partner, not reversible.';
COMMENT ON COLUMN crimesnap.partner_extract_row.offence_code IS 'Home Office offence classification code (or the force''s own code) as uploaded.';
COMMENT ON COLUMN crimesnap.partner_extract_row.offence_description IS 'What the code covers, from crimesnap.offence_code.';
COMMENT ON COLUMN crimesnap.partner_extract_row.committed_from IS 'Committed from date.';
COMMENT ON COLUMN crimesnap.partner_extract_row.committed_from_time IS 'Committed from time, when supplied.';
COMMENT ON COLUMN crimesnap.partner_extract_row.committed_to IS 'Committed to date, when supplied.';
COMMENT ON COLUMN crimesnap.partner_extract_row.committed_to_time IS 'Committed to time, when supplied.';
COMMENT ON COLUMN crimesnap.partner_extract_row.address IS 'Sanitised address (crimesnap.sanitise_address()) with the postcode the record was moved to; NULL when none was supplied.';
COMMENT ON COLUMN crimesnap.partner_extract_row.postcode IS 'Postcode whose centroid the record was moved to (at least crimesnap.min_postcode_households households); NULL for a public place or no location.';
COMMENT ON COLUMN crimesnap.partner_extract_row.easting IS 'Depersonalised easting: the postcode centroid''s, or the public place''s.';
COMMENT ON COLUMN crimesnap.partner_extract_row.northing IS 'Depersonalised northing.';
COMMENT ON COLUMN crimesnap.partner_extract_row.location_rule IS 'How the point was chosen: own postcode, nearest postcode with enough households, or public place; NULL with no location.';
COMMENT ON COLUMN crimesnap.partner_extract_row.method_of_entry IS 'Method of entry, screened.';
COMMENT ON COLUMN crimesnap.partner_extract_row.property_stolen IS 'Property stolen, screened.';
COMMENT ON COLUMN crimesnap.partner_extract_row.weapon IS 'Weapon used, screened.';
COMMENT ON COLUMN crimesnap.partner_extract_row.distraction_burglary IS 'Marker: distraction burglary.';
COMMENT ON COLUMN crimesnap.partner_extract_row.drugs_related IS 'Marker: drugs-related.';
COMMENT ON COLUMN crimesnap.partner_extract_row.alcohol_related IS 'Marker: alcohol-related.';
COMMENT ON COLUMN crimesnap.partner_extract_row.racially_motivated IS 'Marker: racially motivated.';
COMMENT ON COLUMN crimesnap.partner_extract_row.domestic IS 'Marker: domestic.';

-- Force binding of the caller: the one place partner_extract() and grid_counts() ask whether
-- the session may act on a force's data.
CREATE FUNCTION crimesnap.check_partner_force(force text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF force IS NULL OR NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = check_partner_force.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', force
      USING ERRCODE = 'foreign_key_violation', HINT = 'Use a force_id from crimesnap.force.';
  END IF;
END
$fn$;

-- Whether a role reads a partner's extracts of a force: it is a member of the partner's
-- role, and the partner has an agreement with the force.
CREATE FUNCTION crimesnap.partner_may_read(who name, partner text, force text)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
BEGIN ATOMIC
  SELECT EXISTS (
    SELECT FROM crimesnap.partner p
      JOIN crimesnap.partner_agreement a ON a.partner_id = p.partner_id
     WHERE p.partner_id = $2 AND a.force_id = $3
       AND CASE WHEN p.member_role IN (SELECT r.rolname FROM pg_catalog.pg_roles r)
                THEN pg_catalog.pg_has_role($1, p.member_role, 'MEMBER') ELSE false END);
END;

CREATE VIEW crimesnap.my_partner_extract WITH (security_barrier) AS
SELECT l.*
  FROM crimesnap.partner_extract_log l
 WHERE crimesnap.partner_may_read(CURRENT_USER, l.partner_id, l.force_id);
COMMENT ON VIEW crimesnap.my_partner_extract IS
  'For a partner''s role: its own extracts and their section 3.4 metadata, of the forces it has agreements with. Nothing else.';
COMMENT ON COLUMN crimesnap.my_partner_extract.extract_id IS 'Extract id.';
COMMENT ON COLUMN crimesnap.my_partner_extract.partner_id IS 'The partner.';
COMMENT ON COLUMN crimesnap.my_partner_extract.force_id IS 'The supplying force.';
COMMENT ON COLUMN crimesnap.my_partner_extract.period_start IS 'First day covered.';
COMMENT ON COLUMN crimesnap.my_partner_extract.period_end IS 'Last day covered.';
COMMENT ON COLUMN crimesnap.my_partner_extract.requested_by IS 'Who made it.';
COMMENT ON COLUMN crimesnap.my_partner_extract.requested_at IS 'When.';
COMMENT ON COLUMN crimesnap.my_partner_extract.supplying_agency IS 'Supplying agency.';
COMMENT ON COLUMN crimesnap.my_partner_extract.supplier_name IS 'Supplier.';
COMMENT ON COLUMN crimesnap.my_partner_extract.supplier_contact IS 'Supplier''s contact details.';
COMMENT ON COLUMN crimesnap.my_partner_extract.dataset_name IS 'Dataset name.';
COMMENT ON COLUMN crimesnap.my_partner_extract.file_format IS 'File format.';
COMMENT ON COLUMN crimesnap.my_partner_extract.records IS 'Number of records.';
COMMENT ON COLUMN crimesnap.my_partner_extract.date_supplied IS 'Date supplied.';
COMMENT ON COLUMN crimesnap.my_partner_extract.datafields IS 'Fields and their explanations.';
COMMENT ON COLUMN crimesnap.my_partner_extract.caveats IS 'Caveats and conditions of use.';
COMMENT ON COLUMN crimesnap.my_partner_extract.dsa_reference IS 'Data sharing agreement.';
COMMENT ON COLUMN crimesnap.my_partner_extract.min_postcode_households IS 'Household threshold used.';

CREATE VIEW crimesnap.my_partner_extract_row WITH (security_barrier) AS
SELECT r.*
  FROM crimesnap.partner_extract_row r
  JOIN crimesnap.partner_extract_log l ON l.extract_id = r.extract_id
 WHERE crimesnap.partner_may_read(CURRENT_USER, l.partner_id, l.force_id);
COMMENT ON VIEW crimesnap.my_partner_extract_row IS
  'For a partner''s role: the records of its own extracts. Nothing else.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.extract_id IS 'Extract id.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.row_no IS 'Row number.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.partner_ref IS 'Partner reference (keyed per partner).';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.offence_code IS 'Home Office offence code.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.offence_description IS 'Offence description.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.committed_from IS 'Committed from date.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.committed_from_time IS 'Committed from time.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.committed_to IS 'Committed to date.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.committed_to_time IS 'Committed to time.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.address IS 'Sanitised address.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.postcode IS 'Postcode the record was moved to.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.easting IS 'Depersonalised easting.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.northing IS 'Depersonalised northing.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.location_rule IS 'How the point was chosen.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.method_of_entry IS 'Method of entry.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.property_stolen IS 'Property stolen.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.weapon IS 'Weapon used.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.distraction_burglary IS 'Marker: distraction burglary.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.drugs_related IS 'Marker: drugs-related.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.alcohol_related IS 'Marker: alcohol-related.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.racially_motivated IS 'Marker: racially motivated.';
COMMENT ON COLUMN crimesnap.my_partner_extract_row.domestic IS 'Marker: domestic.';

CREATE VIEW crimesnap.partner_receipts AS
SELECT p.partner_id, p.name AS partner_name, l.force_id,
       pg_catalog.count(*) AS extracts,
       pg_catalog.sum(l.records)::bigint AS records,
       min(l.period_start) AS first_day,
       max(l.period_end) AS last_day,
       max(l.requested_at) AS last_supplied_at,
       pg_catalog.array_agg(DISTINCT l.dsa_reference) AS dsa_references
  FROM crimesnap.partner_extract_log l
  JOIN crimesnap.partner p ON p.partner_id = l.partner_id
 GROUP BY p.partner_id, p.name, l.force_id;
COMMENT ON VIEW crimesnap.partner_receipts IS
  'For DBAs and data controllers: what each partner has received from each force. crimesnap.partner_extract_log lists every extract.';
COMMENT ON COLUMN crimesnap.partner_receipts.partner_id IS 'The partner.';
COMMENT ON COLUMN crimesnap.partner_receipts.partner_name IS 'Its name.';
COMMENT ON COLUMN crimesnap.partner_receipts.force_id IS 'The supplying force.';
COMMENT ON COLUMN crimesnap.partner_receipts.extracts IS 'Extracts supplied.';
COMMENT ON COLUMN crimesnap.partner_receipts.records IS 'Records supplied, over all extracts.';
COMMENT ON COLUMN crimesnap.partner_receipts.first_day IS 'Earliest day covered.';
COMMENT ON COLUMN crimesnap.partner_receipts.last_day IS 'Latest day covered.';
COMMENT ON COLUMN crimesnap.partner_receipts.last_supplied_at IS 'When the latest extract was made.';
COMMENT ON COLUMN crimesnap.partner_receipts.dsa_references IS 'Data sharing agreements they were supplied under.';

CREATE FUNCTION crimesnap.partner_key(partner text)
RETURNS bytea
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  k bytea;
BEGIN
  INSERT INTO crimesnap.secret AS s (name, value) VALUES ('partner_key:' || partner, crimesnap.random_key())
  ON CONFLICT (name) DO NOTHING;
  SELECT s.value INTO k FROM crimesnap.secret s WHERE s.name = 'partner_key:' || partner;
  RETURN k;
END
$fn$;

CREATE FUNCTION crimesnap.partner_extract(force text, period_start date, period_end date, partner text)
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
  notes text[] := '{}';
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

-- ---- counts in grid blocks (ICO crime-mapping guidance, paragraph 35) ----

CREATE FUNCTION crimesnap.grid_blocks(points geometry[], cell_size_m integer)
RETURNS TABLE (block text, block_size_m integer, block_easting integer, block_northing integer,
               cells integer, addresses bigint, crimes bigint, geom geometry)
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  k bigint := crimesnap.setting('min_addresses')::bigint;
  levels constant integer := 4;     -- blocks grow to 16 cells a side, then the rest is withheld
  cx integer[];
  cy integer[];
  ad integer[];
  cr integer[];
  lv integer[];
BEGIN
  IF cell_size_m IS NULL OR cell_size_m < 50 OR cell_size_m > 10000 THEN
    RAISE EXCEPTION 'cell size % m is outside 50 to 10000 m', coalesce(cell_size_m::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use 250 m, the default, or another size in whole metres.';
  END IF;
  IF EXISTS (SELECT FROM unnest(points) g WHERE g IS NOT NULL AND (ST_SRID(g) <> 27700 OR GeometryType(g) <> 'POINT')) THEN
    RAISE EXCEPTION 'grid blocks need points in British National Grid'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass points in EPSG:27700.';
  END IF;

  -- Level-0 cells that hold a point, or an address inside a top-level block that holds a point.
  WITH p AS (
    SELECT pg_catalog.int4(floor(ST_X(g) / cell_size_m)) AS x, pg_catalog.int4(floor(ST_Y(g) / cell_size_m)) AS y
      FROM unnest(points) g WHERE g IS NOT NULL
  ), top AS (
    SELECT DISTINCT p.x >> levels AS tx, p.y >> levels AS ty FROM p
  ), a AS (
    SELECT z.x, z.y FROM (
      SELECT pg_catalog.int4(floor(ST_X(pa.geom) / cell_size_m)) AS x, pg_catalog.int4(floor(ST_Y(pa.geom) / cell_size_m)) AS y
        FROM crimesnap.postal_addresses() pa) z
     WHERE (z.x >> levels, z.y >> levels) IN (SELECT top.tx, top.ty FROM top)
  ), c AS (
    SELECT coalesce(pc.x, ac.x) AS x, coalesce(pc.y, ac.y) AS y,
           pg_catalog.int4(coalesce(ac.n, 0)) AS n_addr, pg_catalog.int4(coalesce(pc.n, 0)) AS n_crime
      FROM (SELECT p.x, p.y, pg_catalog.count(*) AS n FROM p GROUP BY p.x, p.y) pc
      FULL JOIN (SELECT a.x, a.y, pg_catalog.count(*) AS n FROM a GROUP BY a.x, a.y) ac
        ON ac.x = pc.x AND ac.y = pc.y
  )
  SELECT array_agg(c.x ORDER BY c.x, c.y), array_agg(c.y ORDER BY c.x, c.y),
         array_agg(c.n_addr ORDER BY c.x, c.y), array_agg(c.n_crime ORDER BY c.x, c.y)
    INTO cx, cy, ad, cr
    FROM c;
  IF cx IS NULL THEN
    RETURN;
  END IF;
  lv := pg_catalog.array_fill(NULL::integer, ARRAY[pg_catalog.cardinality(cx)]);

  -- Level by level, the cells of a block not yet published form one region; it is published
  -- when it holds at least k addresses.  Regions never overlap, so no count can be had by
  -- subtracting one published count from another.
  FOR l IN 0 .. levels LOOP
    SELECT array_agg(CASE WHEN z.lv IS NULL AND z.s >= k THEN l ELSE z.lv END ORDER BY z.i) INTO lv
      FROM (SELECT u.i, u.lv,
                   pg_catalog.sum(u.a) FILTER (WHERE u.lv IS NULL) OVER (PARTITION BY u.x >> l, u.y >> l) AS s
              FROM unnest(cx, cy, ad, lv) WITH ORDINALITY u(x, y, a, lv, i)) z;
  END LOOP;

  RETURN QUERY
  SELECT CASE WHEN r.l IS NULL THEN 'withheld'
              ELSE pg_catalog.format('%sm:%s:%s', cell_size_m << r.l, (r.bx * cell_size_m) << r.l, (r.by * cell_size_m) << r.l) END,
         CASE WHEN r.l IS NOT NULL THEN cell_size_m << r.l END,
         CASE WHEN r.l IS NOT NULL THEN (r.bx * cell_size_m) << r.l END,
         CASE WHEN r.l IS NOT NULL THEN (r.by * cell_size_m) << r.l END,
         r.cells, r.addresses, r.crimes,
         CASE WHEN r.l IS NOT NULL THEN r.geom END
    FROM (SELECT u.lv AS l,
                 CASE WHEN u.lv IS NOT NULL THEN u.x >> u.lv END AS bx,
                 CASE WHEN u.lv IS NOT NULL THEN u.y >> u.lv END AS by,
                 pg_catalog.int4(pg_catalog.count(*)) AS cells,
                 pg_catalog.sum(u.a) AS addresses, pg_catalog.sum(u.c) AS crimes,
                 ST_Multi(ST_Union(ST_MakeEnvelope((u.x * cell_size_m)::float8, (u.y * cell_size_m)::float8,
                                                   ((u.x + 1) * cell_size_m)::float8, ((u.y + 1) * cell_size_m)::float8,
                                                   27700))) AS geom
            FROM unnest(cx, cy, ad, cr, lv) u(x, y, a, c, lv)
           GROUP BY 1, 2, 3) r
   WHERE r.crimes > 0
   ORDER BY r.l NULLS LAST, r.bx, r.by;
END
$fn$;

CREATE FUNCTION crimesnap.grid_counts(force text, month date, cell_size_m integer DEFAULT 250, category text DEFAULT NULL)
RETURNS TABLE (block text, block_size_m integer, block_easting integer, block_northing integer,
               cells integer, addresses bigint, crimes bigint, geom geometry)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', grid_counts.month)::date;
  g geometry[];
  pcs text[];
BEGIN
  PERFORM crimesnap.check_partner_force(grid_counts.force);
  SELECT array_agg(r.geom ORDER BY r.crime_id), array_agg(d.postcode ORDER BY r.crime_id) INTO g, pcs
    FROM crimesnap.raw_crime r
    LEFT JOIN crimesnap.raw_crime_detail d ON d.crime_id = r.crime_id
   WHERE r.force_id = grid_counts.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND (grid_counts.category IS NULL OR grid_counts.category = (
            SELECT o.slug FROM crimesnap.offence_code o
             WHERE o.offence_code = r.offence_code AND (o.force_id IS NULL OR o.force_id = r.force_id)
             ORDER BY o.force_id NULLS LAST LIMIT 1));
  RETURN QUERY
  SELECT b.* FROM crimesnap.grid_blocks(
    ARRAY(SELECT pp.geom FROM crimesnap.postcode_points(coalesce(g, '{}'), coalesce(pcs, '{}')) pp), cell_size_m) b;
END
$fn$;

CREATE FUNCTION crimesnap_api.grid_counts(force text, month text, cell_size_m integer DEFAULT 250, category text DEFAULT NULL)
RETURNS TABLE (block text, block_size_m integer, block_easting integer, block_northing integer,
               cells integer, addresses bigint, crimes bigint, geom geometry)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
BEGIN ATOMIC
  SELECT b.*
    FROM crimesnap.grid_blocks(
           ARRAY(SELECT c.geom FROM crimesnap.published_street_crime c
                  WHERE c.force = $1 AND c.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM')
                    AND ($4 IS NULL OR c.category = $4)
                  ORDER BY c.id),
           $3) b
   WHERE b.block <> 'withheld';
END;

-- ---- privileges ----

REVOKE ALL ON crimesnap.postcode, crimesnap.postcode_households, crimesnap.upload_detail_stage,
              crimesnap.raw_crime_detail, crimesnap.partner, crimesnap.partner_agreement,
              crimesnap.partner_extract_log, crimesnap.partner_extract_row, crimesnap.my_partner_extract,
              crimesnap.my_partner_extract_row, crimesnap.partner_receipts
  FROM PUBLIC;
REVOKE ALL ON SEQUENCE crimesnap.partner_extract_log_extract_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION crimesnap.postcode_key(text), crimesnap.postal_addresses(),
              crimesnap.nearest_site(geometry[], geometry[]), crimesnap.postcode_points(geometry[], text[]),
              crimesnap.postcode_point(geometry, text), crimesnap.address_postcode(text),
              crimesnap.sanitise_address(text), crimesnap.replace_postcode(text, text),
              crimesnap.stage_upload_detail(), crimesnap.parse_flag(text), crimesnap.parse_time(text),
              crimesnap.parse_date(text), crimesnap.file_upload_detail(), crimesnap.check_partner_force(text),
              crimesnap.partner_may_read(name, text, text), crimesnap.partner_key(text),
              crimesnap.partner_extract(text, date, date, text), crimesnap.grid_blocks(geometry[], integer),
              crimesnap.grid_counts(text, date, integer, text), crimesnap_api.grid_counts(text, text, integer, text)
  FROM PUBLIC;

-- Loaders load postcodes and public places' areas; publishers (the data controllers) read
-- everything here but the partner keys, make extracts and list what partners received.
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.postcode TO crimesnap_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.partner, crimesnap.partner_agreement TO crimesnap_publisher;
GRANT SELECT ON crimesnap.postcode, crimesnap.postcode_households, crimesnap.upload_detail_stage,
                crimesnap.raw_crime_detail, crimesnap.partner_extract_log, crimesnap.partner_extract_row,
                crimesnap.partner_receipts, crimesnap.my_partner_extract, crimesnap.my_partner_extract_row
  TO crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.postcode_key(text), crimesnap.sanitise_address(text),
                          crimesnap.address_postcode(text), crimesnap.replace_postcode(text, text)
  TO crimesnap_loader, crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.postal_addresses(), crimesnap.nearest_site(geometry[], geometry[]),
                          crimesnap.postcode_points(geometry[], text[]), crimesnap.postcode_point(geometry, text),
                          crimesnap.partner_extract(text, date, date, text),
                          crimesnap.grid_blocks(geometry[], integer),
                          crimesnap.grid_counts(text, date, integer, text)
  TO crimesnap_publisher;
-- Partners: their own extracts, through the two views, and nothing else.
GRANT USAGE ON SCHEMA crimesnap TO crimesnap_partner;
GRANT SELECT ON crimesnap.my_partner_extract, crimesnap.my_partner_extract_row TO crimesnap_partner;
GRANT EXECUTE ON FUNCTION crimesnap.partner_may_read(name, text, text) TO crimesnap_partner;
-- The web contract: the public grid counts.
GRANT EXECUTE ON FUNCTION crimesnap_api.grid_counts(text, text, integer, text)
  TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
