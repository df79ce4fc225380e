-- Issue 11 (the promise helper): the 12-address promise through real operations.
-- Postal addresses counted once (uprn, house), the publication-position history, corrected
-- records' new ids, neighbourhoods decided at publication, real publication dates, k for
-- every published count, and coverage reports.  See docs/security.md.

SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

-- ---- addresses: uprn and house, one postal address however many rows ----
ALTER TABLE crimesnap.address ADD COLUMN uprn bigint, ADD COLUMN house text;
COMMENT ON COLUMN crimesnap.address.uprn IS 'Unique Property Reference Number, when the source has one: rows with the same UPRN are one postal address.';
COMMENT ON COLUMN crimesnap.address.house IS 'House number or name, with any flat (''Flat 2, 14''), when known: with street_name and postcode it identifies a postal address that has no UPRN.';

-- ---- one postal address, however many rows hold it (docs/inputs.md) ----

CREATE FUNCTION crimesnap.normalise_address_part(part text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT nullif(btrim(regexp_replace(lower($1), '[[:space:][:punct:]]+', ' ', 'g')), '')
$fn$;
COMMENT ON FUNCTION crimesnap.normalise_address_part(text) IS
  'Matching form of a house, street name or postcode: trimmed, case-folded, every run of spaces and punctuation made one space. NULL when nothing is left.';

CREATE FUNCTION crimesnap.address_key(address_id bigint, uprn bigint, house text, street_name text, postcode text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- A UPRN identifies the address; without one, house, street and postcode do, all three
  -- present.  Anything less identifies only the row, so a NULL never matches, and the
  -- prefixes keep a row with a UPRN from ever matching one without.
  SELECT CASE
    WHEN $2 IS NOT NULL THEN 'uprn:' || $2::text
    WHEN crimesnap.normalise_address_part($3) IS NOT NULL
     AND crimesnap.normalise_address_part($4) IS NOT NULL
     AND crimesnap.normalise_address_part($5) IS NOT NULL
      THEN 'addr:' || crimesnap.normalise_address_part($3) || '|' || crimesnap.normalise_address_part($4)
                   || '|' || replace(crimesnap.normalise_address_part($5), ' ', '')
    ELSE 'row:' || $1::text
  END
$fn$;
COMMENT ON FUNCTION crimesnap.address_key(bigint, bigint, text, text, text) IS
  'Identity of the postal address a crimesnap.address row holds (address_id, uprn, house, street_name, postcode): equal keys are one address. Same non-NULL UPRN; or, both without UPRN, the same normalised house, street name and postcode (spaces ignored); otherwise the row alone.';

CREATE INDEX address_key ON crimesnap.address
  (crimesnap.address_key(address_id, uprn, house, street_name, postcode));

CREATE VIEW crimesnap.postal_address AS
SELECT DISTINCT ON (k.address_key)
       a.address_id, k.address_key, a.uprn, a.house, a.street_name, a.postcode, a.geom,
       pg_catalog.count(*) OVER (PARTITION BY k.address_key) AS address_rows
  FROM crimesnap.address a
  CROSS JOIN LATERAL (SELECT crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode) AS address_key) k
 ORDER BY k.address_key, a.address_id;
COMMENT ON VIEW crimesnap.postal_address IS
  'One row per distinct postal address (crimesnap.address_key): the row with the lowest address_id stands for it. Catchments, thresholds, audits and reports count these, never crimesnap.address rows.';
COMMENT ON COLUMN crimesnap.postal_address.address_id IS 'The representative row.';
COMMENT ON COLUMN crimesnap.postal_address.address_key IS 'The postal address''s identity.';
COMMENT ON COLUMN crimesnap.postal_address.uprn IS 'UPRN of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.house IS 'House of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.street_name IS 'Street name of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.postcode IS 'Postcode of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.geom IS 'Location of the representative row.';
COMMENT ON COLUMN crimesnap.postal_address.address_rows IS 'How many crimesnap.address rows hold this address (more than 1: duplicates).';

CREATE VIEW crimesnap.address_duplicate AS
SELECT a.address_id, p.address_id AS same_as, 'duplicate'::text AS kind,
       ST_Distance(a.geom, p.geom) AS distance
  FROM crimesnap.address a
  JOIN crimesnap.postal_address p
    ON p.address_key = crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
   AND p.address_id <> a.address_id
UNION ALL
SELECT a.address_id, b.address_id, 'near duplicate', ST_Distance(a.geom, b.geom)
  FROM crimesnap.address a
  JOIN crimesnap.address b
    ON b.address_id < a.address_id AND ST_DWithin(a.geom, b.geom, 10::float8)
 WHERE crimesnap.normalise_address_part(a.house) = crimesnap.normalise_address_part(b.house)
   AND crimesnap.normalise_street_name(a.street_name) = crimesnap.normalise_street_name(b.street_name)
   AND crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
       <> crimesnap.address_key(b.address_id, b.uprn, b.house, b.street_name, b.postcode);
COMMENT ON VIEW crimesnap.address_duplicate IS
  'Address rows a DBA should look at: duplicates (the same postal address as a lower address_id, counted once) and near-duplicates (the same house and street within 10 m but not provably one address, for example one row with a UPRN and one without: counted twice until fixed).';
COMMENT ON COLUMN crimesnap.address_duplicate.address_id IS 'The row.';
COMMENT ON COLUMN crimesnap.address_duplicate.same_as IS 'The row it duplicates: the representative of its postal address, or for a near-duplicate the other row.';
COMMENT ON COLUMN crimesnap.address_duplicate.kind IS 'duplicate or near duplicate.';
COMMENT ON COLUMN crimesnap.address_duplicate.distance IS 'Metres between the two rows.';

CREATE FUNCTION crimesnap.report_address_duplicates()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  loaded bigint;
  dup bigint;
  near bigint;
BEGIN
  SELECT count(*) INTO loaded FROM new_rows;
  SELECT count(*) INTO dup FROM new_rows n
   WHERE EXISTS (SELECT FROM crimesnap.address a
                  WHERE crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
                        = crimesnap.address_key(n.address_id, n.uprn, n.house, n.street_name, n.postcode)
                    AND a.address_id <> n.address_id);
  SELECT count(*) INTO near FROM new_rows n
   WHERE EXISTS (SELECT FROM crimesnap.address a
                  WHERE ST_DWithin(a.geom, n.geom, 10::float8) AND a.address_id <> n.address_id
                    AND crimesnap.normalise_address_part(a.house) = crimesnap.normalise_address_part(n.house)
                    AND crimesnap.normalise_street_name(a.street_name) = crimesnap.normalise_street_name(n.street_name)
                    AND crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
                        <> crimesnap.address_key(n.address_id, n.uprn, n.house, n.street_name, n.postcode));
  IF dup > 0 OR near > 0 THEN
    RAISE NOTICE '% of % address rows loaded duplicate another row: % hold a postal address already loaded (counted once), % are near-duplicates (same house and street within 10 m, counted twice)',
                 dup + near, loaded, dup, near
      USING HINT = 'See SELECT * FROM crimesnap.address_duplicate; give both rows the same uprn, or the same house, street_name and postcode, or delete one.';
  END IF;
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION crimesnap.report_address_duplicates() IS
  'Statement trigger on crimesnap.address: after a load, says how many loaded rows duplicate a postal address already there, and how many are near-duplicates.';

CREATE TRIGGER report_duplicates AFTER INSERT ON crimesnap.address
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.report_address_duplicates();
COMMENT ON TRIGGER report_duplicates ON crimesnap.address IS
  'Reports duplicate and near-duplicate address rows after every load (a NOTICE; see crimesnap.address_duplicate).';

GRANT SELECT ON crimesnap.postal_address, crimesnap.address_duplicate TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.normalise_address_part(text),
                          crimesnap.address_key(bigint, bigint, text, text, text)
  TO crimesnap_loader, crimesnap_publisher;
REVOKE ALL ON FUNCTION crimesnap.normalise_address_part(text),
                      crimesnap.address_key(bigint, bigint, text, text, text),
                      crimesnap.report_address_duplicates() FROM PUBLIC;
REVOKE ALL ON crimesnap.postal_address, crimesnap.address_duplicate FROM PUBLIC;
GRANT SELECT ON crimesnap.postal_address, crimesnap.address_duplicate TO crimesnap_publisher;

-- ---- coverage: what a build leaves without a point nearby ----

CREATE FUNCTION crimesnap.snap_point_coverage(version integer DEFAULT NULL, beyond double precision DEFAULT NULL)
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

CREATE VIEW crimesnap.snap_coverage AS
SELECT c.*, CASE WHEN c.points = 0 AND c.addresses > 0 THEN 'no point'
                 WHEN c.street_points <= 1 AND c.addresses > 0 THEN 'few points'
                 WHEN c.share_beyond > 0::float8 THEN 'partly out of reach' END AS warning
  FROM crimesnap.snap_point_coverage(NULL, NULL) c;
COMMENT ON VIEW crimesnap.snap_coverage IS
  'crimesnap.snap_point_coverage() of the current set, with a warning per neighbourhood: no point (its located crimes are all published without a location), few points (at most one street point), or partly out of reach of crimesnap.max_snap_distance. docs/snap-points.md says what a force can do.';
COMMENT ON COLUMN crimesnap.snap_coverage.neighbourhood_id IS 'The neighbourhood.';
COMMENT ON COLUMN crimesnap.snap_coverage.force_id IS 'Its force.';
COMMENT ON COLUMN crimesnap.snap_coverage.addresses IS 'Distinct postal addresses in it.';
COMMENT ON COLUMN crimesnap.snap_coverage.points IS 'Snap points serving it.';
COMMENT ON COLUMN crimesnap.snap_coverage.street_points IS 'Of which street points.';
COMMENT ON COLUMN crimesnap.snap_coverage.farthest_address IS 'Metres from the address farthest from its point to that point; NULL without points.';
COMMENT ON COLUMN crimesnap.snap_coverage.beyond_distance IS 'The distance share_beyond is measured with: crimesnap.max_snap_distance.';
COMMENT ON COLUMN crimesnap.snap_coverage.share_beyond IS 'Share (0 to 1) of the neighbourhood''s area further than beyond_distance from every point of it.';
COMMENT ON COLUMN crimesnap.snap_coverage.warning IS 'no point, few points, partly out of reach, or NULL.';
REVOKE ALL ON FUNCTION crimesnap.snap_point_coverage(integer, double precision) FROM PUBLIC;
REVOKE ALL ON crimesnap.snap_coverage FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap.snap_point_coverage(integer, double precision) TO crimesnap_publisher;
GRANT SELECT ON crimesnap.snap_coverage TO crimesnap_publisher;

-- ---- loading: corrections, resends of other months ----
ALTER TABLE crimesnap.raw_crime ADD COLUMN correction integer NOT NULL DEFAULT 0 CHECK (correction >= 0);
COMMENT ON COLUMN crimesnap.raw_crime.persistent_id IS 'Keyed HMAC-SHA256 of force, reference and correction number; published for crimes, not for ASB.';
COMMENT ON COLUMN crimesnap.raw_crime.superseded_by_batch IS 'Set when a later batch of the same month resubmitted the same reference: the later row is the live one.';
COMMENT ON COLUMN crimesnap.raw_crime.correction IS 'How many times the force has corrected the location of a record already published at a position: part of the persistent id, so that a corrected record never shares its id with the old position.';
COMMENT ON COLUMN crimesnap.batch.records_loaded IS 'Records accepted: loaded into crimesnap.raw_crime, or (a reference live in another month) taken as an update of that record''s outcome.';

-- A corrected record (correction > 0) hashes 'force#n|reference': the part before the first
-- '|' is then no force_id, so it never equals the message of another (force, reference).
CREATE FUNCTION crimesnap.persistent_id_with_key(key bytea, force text, crime_ref text, correction integer)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT CASE WHEN $4 = 0 THEN crimesnap.hmac_sha256_hex($1, $2 || '|' || $3)
              ELSE crimesnap.hmac_sha256_hex($1, $2 || '#' || $4::text || '|' || $3) END
$fn$;
COMMENT ON FUNCTION crimesnap.persistent_id_with_key(bytea, text, text, integer) IS
  'Persistent id of a crime and its correction number under a given key: for correction 0 the same as crimesnap.persistent_id_with_key(key, force, crime_ref). Internal.';

CREATE FUNCTION crimesnap.persistent_id(force text, crime_ref text, correction integer)
RETURNS text
LANGUAGE sql STABLE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.persistent_id_with_key(s.value, $1, $2, $3)
    FROM crimesnap.secret s WHERE s.name = 'persistent_id_key'
$fn$;

REVOKE ALL ON FUNCTION crimesnap.persistent_id_with_key(bytea, text, text, integer),
                      crimesnap.persistent_id(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap.persistent_id(text, text, integer) TO crimesnap_publisher;

-- ---- the publication-position history and the area sizes of counts ----
-- Every position a record has ever been published at, so that a record once on the map
-- is shown at that position, or without a location, by every later publication.
CREATE TABLE crimesnap.published_position (
  persistent_id      text NOT NULL,
  force_id           text NOT NULL,
  month              date NOT NULL,
  snap_version       integer NOT NULL,
  point_id           bigint NOT NULL,
  latitude           double precision NOT NULL,
  longitude          double precision NOT NULL,
  crime_id           bigint NOT NULL REFERENCES crimesnap.raw_crime,
  first_published_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_published_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (persistent_id, point_id, latitude, longitude),
  FOREIGN KEY (snap_version, point_id) REFERENCES crimesnap.snap_point (version, point_id)
);
CREATE INDEX ON crimesnap.published_position (force_id, month);
COMMENT ON TABLE crimesnap.published_position IS
  'Publication-position history: every position (street id, latitude and longitude) each record has been published at, kept through roll-off, withdrawal and re-publication. A later publication shows the record there or without a location, never elsewhere; crimesnap.audit_publication() fails if an id ever has two rows. Internal: never published.';
COMMENT ON COLUMN crimesnap.published_position.persistent_id IS 'The record''s persistent id (the internal one for ASB).';
COMMENT ON COLUMN crimesnap.published_position.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.published_position.month IS 'The month it was published in.';
COMMENT ON COLUMN crimesnap.published_position.snap_version IS 'The snap point set of the point when first published there.';
COMMENT ON COLUMN crimesnap.published_position.point_id IS 'Published street id (snap point id).';
COMMENT ON COLUMN crimesnap.published_position.latitude IS 'Published WGS84 latitude.';
COMMENT ON COLUMN crimesnap.published_position.longitude IS 'Published WGS84 longitude.';
COMMENT ON COLUMN crimesnap.published_position.crime_id IS 'The raw record version first published there.';
COMMENT ON COLUMN crimesnap.published_position.first_published_at IS 'When it was first published there.';
COMMENT ON COLUMN crimesnap.published_position.last_published_at IS 'When it was last published there.';

-- Distinct postal addresses per neighbourhood: the size of the area a count names.
CREATE FUNCTION crimesnap.area_addresses()
RETURNS TABLE (neighbourhood_id text, force_id text, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT n.neighbourhood_id, n.force_id, count(a.nb)
    FROM crimesnap.neighbourhood n
    LEFT JOIN (SELECT crimesnap.neighbourhood_at(p.geom) AS nb FROM crimesnap.postal_address p) a
      ON a.nb = n.neighbourhood_id
   GROUP BY n.neighbourhood_id, n.force_id
$fn$;

SELECT pg_catalog.pg_extension_config_dump('crimesnap.published_position', '');
REVOKE ALL ON crimesnap.published_position FROM PUBLIC;
REVOKE ALL ON FUNCTION crimesnap.area_addresses() FROM PUBLIC;
GRANT SELECT ON crimesnap.published_position TO crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.area_addresses() TO crimesnap_publisher;

-- Records already on the map keep the position they are shown at now.
INSERT INTO crimesnap.published_position
  (persistent_id, force_id, month, snap_version, point_id, latitude, longitude, crime_id, first_published_at, last_published_at)
SELECT r.persistent_id, c.force_id, c.month, c.snap_version, c.point_id, p.latitude, p.longitude, c.crime_id,
       pub.published_at, pub.published_at
  FROM crimesnap.published_crime c
  JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
  JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
ON CONFLICT DO NOTHING;

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
           WHEN u.loc_state = 'none' AND nullif(btrim(u.neighbourhood), '') IS NOT NULL
                AND NOT EXISTS (SELECT FROM crimesnap.neighbourhood n
                                 WHERE n.neighbourhood_id = btrim(u.neighbourhood)
                                   AND n.force_id = register_batch.force) THEN 'unknown_neighbourhood'
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
         nullif(btrim(c.outcome), ''), nullif(btrim(c.context), ''), coalesce(x.correction + x.corrected::integer, 0)
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
BEGIN
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
              ELSE c.persistent_id IS DISTINCT FROM crimesnap.persistent_id(r.force_id, r.crime_ref, r.correction) END;

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
    LEFT JOIN LATERAL (SELECT count(*) AS crimes, count(c.point_id) AS mapped FROM crimesnap.published_crime c
                        WHERE c.force_id = p.force_id AND c.month = p.month) s ON p.status = 'street-level'
    LEFT JOIN LATERAL (SELECT sum(x.crimes) AS crimes, sum(x.crimes) FILTER (WHERE x.lsoa_code IS NOT NULL) AS mapped
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
    FULL JOIN (SELECT t.force_id, t.month, t.neighbourhood_id, t.lsoa_code, t.category, count(*) AS crimes
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
    JOIN LATERAL (SELECT max(q.month) AS month FROM crimesnap.publication q
                   WHERE q.force_id = p.force_id AND q.status = 'street-level') newest ON true
   WHERE (f IS NULL OR p.force_id = f) AND (m IS NULL OR p.month = m)
     AND p.status = 'street-level' AND p.month < newest.month - pg_catalog.make_interval(months => n - 1);
END
$fn$;
COMMENT ON FUNCTION crimesnap.audit_publication(text, date) IS
  'Proves the publication rules on the data as it is now, for a force and month (default: all): location labels, LSOAs, neighbourhoods (of the raw location, now), one position per persistent id ever (crimesnap.published_position), outcomes from the vocabulary and as recorded, context only as approved, persistent ids, withdrawals, every record accounted for, totals, trend cells, counts for areas of fewer than crimesnap.min_addresses distinct addresses, timing (claimed and real). One row per violation, none when clean.';

-- ---- partner grid blocks and postcode households count postal addresses too ----
CREATE OR REPLACE FUNCTION crimesnap.postal_addresses()
RETURNS TABLE (address_id bigint, postcode_key text, geom geometry)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path FROM CURRENT
BEGIN ATOMIC
  SELECT a.address_id, crimesnap.postcode_key(a.postcode), a.geom FROM crimesnap.postal_address a;
END;
COMMENT ON FUNCTION crimesnap.postal_addresses() IS
  'The distinct postal addresses that postcode household counts and grid blocks count: one per postal address (crimesnap.postal_address, duplicate rows counted once), with its postcode key.';
