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
