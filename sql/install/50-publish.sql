-- Section 50: publication, roll-off and withdrawal.  C: src/persistid.c.  Tests:
-- test/sql/publish.sql, test/pgtap/publish.sql, test/specs/roll_off.spec.
-- Guide: docs/force-dba-guide.md.
--
-- A published row has no coordinate column and no reference column at all: its location
-- is the snap point it references, so a raw location cannot reach any output by mistake.

-- ---- persistent ids ----

CREATE FUNCTION crimesnap.hmac_sha256_hex(key bytea, message text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_hmac_sha256_hex';
COMMENT ON FUNCTION crimesnap.hmac_sha256_hex(bytea, text) IS
  'HMAC-SHA256 of message under key, as 64 lower-case hex characters.';

CREATE FUNCTION crimesnap.random_key()
RETURNS bytea
LANGUAGE C VOLATILE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_random_key';
COMMENT ON FUNCTION crimesnap.random_key() IS
  '32 bytes from the operating system''s strong random source, for the persistent id key.';

CREATE TABLE crimesnap.secret (
  name  text PRIMARY KEY,
  value bytea NOT NULL
);
COMMENT ON TABLE crimesnap.secret IS
  'Secrets readable by the extension''s owner only: the persistent id key. pg_dump keeps it, so ids survive a restore.';
COMMENT ON COLUMN crimesnap.secret.name IS 'Secret name.';
COMMENT ON COLUMN crimesnap.secret.value IS 'Secret value.';
INSERT INTO crimesnap.secret VALUES ('persistent_id_key', crimesnap.random_key());

-- The message is force and reference joined by '|', which no force_id contains, so that
-- no two (force, reference) pairs share a message.
CREATE FUNCTION crimesnap.persistent_id_with_key(key bytea, force text, crime_ref text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.hmac_sha256_hex($1, $2 || '|' || $3)
$fn$;
COMMENT ON FUNCTION crimesnap.persistent_id_with_key(bytea, text, text) IS
  'Persistent id of a crime under a given key. Internal: crimesnap.persistent_id() supplies the secret key; loading calls this with the key fetched once per batch.';

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
COMMENT ON FUNCTION crimesnap.persistent_id(text, text, integer) IS
  'Persistent id of a record whose location the force has corrected correction times after it was published: reproducible from the key, force, reference and correction number, and different for every correction.';

CREATE FUNCTION crimesnap.persistent_id(force text, crime_ref text)
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
COMMENT ON FUNCTION crimesnap.persistent_id(text, text) IS
  'Persistent id of a crime of a force the caller acts for: keyed HMAC-SHA256 of force and reference number. Stable while the key is; not reversible without it.';

CREATE FUNCTION crimesnap.rotate_persistent_id_key(reason text)
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

-- ---- what has been published ----

CREATE TABLE crimesnap.publication (
  force_id        text NOT NULL REFERENCES crimesnap.force,
  month           date NOT NULL CHECK (month = pg_catalog.date_trunc('month', month)),
  status          text NOT NULL CHECK (status IN ('street-level', 'rolled-off')),
  snap_version    integer NOT NULL REFERENCES crimesnap.snap_point_set,
  category_scheme text NOT NULL,
  reference_date  date NOT NULL,
  published_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  published_by    name NOT NULL DEFAULT SESSION_USER,
  crimes          integer NOT NULL CHECK (crimes >= 0),
  mapped          integer NOT NULL CHECK (mapped >= 0),
  no_location     integer NOT NULL CHECK (no_location >= 0),
  withheld        integer NOT NULL CHECK (withheld >= 0),
  rolled_off_at   timestamptz,
  PRIMARY KEY (force_id, month),
  CHECK (crimes = mapped + no_location),
  CHECK ((status = 'rolled-off') = (rolled_off_at IS NOT NULL))
);
COMMENT ON TABLE crimesnap.publication IS
  'One row per force and month published: street-level while on the map, rolled-off once it survives only as trend counts.';
COMMENT ON COLUMN crimesnap.publication.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.publication.month IS 'The month (first day).';
COMMENT ON COLUMN crimesnap.publication.status IS 'street-level or rolled-off.';
COMMENT ON COLUMN crimesnap.publication.snap_version IS 'The snap point set the month was snapped with.';
COMMENT ON COLUMN crimesnap.publication.category_scheme IS 'Category scheme the month was published under.';
COMMENT ON COLUMN crimesnap.publication.reference_date IS 'The date the publication was made as of.';
COMMENT ON COLUMN crimesnap.publication.published_at IS 'When it was (last) published.';
COMMENT ON COLUMN crimesnap.publication.published_by IS 'Who published it (the session user).';
COMMENT ON COLUMN crimesnap.publication.crimes IS 'Records published, mapped or not, less those withdrawn since.';
COMMENT ON COLUMN crimesnap.publication.mapped IS 'Records published at a snap point.';
COMMENT ON COLUMN crimesnap.publication.no_location IS 'Records published without a location.';
COMMENT ON COLUMN crimesnap.publication.withheld IS 'Records kept out because they are withdrawn.';
COMMENT ON COLUMN crimesnap.publication.rolled_off_at IS 'When the month left the street-level outputs.';

CREATE TABLE crimesnap.published_crime (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  crime_id           bigint NOT NULL UNIQUE REFERENCES crimesnap.raw_crime,
  force_id           text NOT NULL,
  month              date NOT NULL,
  persistent_id      text CHECK (persistent_id ~ '^[0-9a-f]{64}$'),
  category           text NOT NULL,
  snap_version       integer NOT NULL,
  point_id           bigint,
  neighbourhood_id   text,
  outcome            text REFERENCES crimesnap.outcome_category,
  context            text,
  no_location_reason text,
  FOREIGN KEY (force_id, month) REFERENCES crimesnap.publication,
  FOREIGN KEY (snap_version, point_id) REFERENCES crimesnap.snap_point (version, point_id),
  CHECK ((point_id IS NULL) = (no_location_reason IS NOT NULL))
);
CREATE INDEX ON crimesnap.published_crime (force_id, month);
-- By snap point and month: the foreign key's index, the API's spatial searches (points
-- first, then their crimes of the month), and a tile's counts by category from the index
-- alone (once autovacuum has marked the pages all-visible after a publication).  One index
-- serves all three: a second, plain one on (snap_version, point_id) cost every published
-- row one more index entry.  The month is in the key, not only included, so that a read of
-- one month fetches that month's rows and no others: test/bench/43_national_partitioning.sql
-- measured 300 one-mile reads 2.2 times faster so, faster than partitioning by month.
CREATE INDEX published_crime_point_counts ON crimesnap.published_crime (snap_version, point_id, month)
  INCLUDE (force_id, category);
CREATE INDEX ON crimesnap.published_crime (persistent_id);
COMMENT ON TABLE crimesnap.published_crime IS
  'Exactly what is public at street level now: no coordinates and no reference numbers, a row''s location is its snap point. Rows leave when their month rolls off (into crimesnap.trend_member) or when they are withdrawn.';
COMMENT ON COLUMN crimesnap.published_crime.id IS 'Public record id (police.uk''s "id"); ASB is withdrawn by it. A re-publish gives new ids.';
COMMENT ON COLUMN crimesnap.published_crime.crime_id IS 'Internal link to the raw record; never in crimesnap_api.';
COMMENT ON COLUMN crimesnap.published_crime.force_id IS 'Reported by.';
COMMENT ON COLUMN crimesnap.published_crime.month IS 'Month (first day).';
COMMENT ON COLUMN crimesnap.published_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_crime.category IS 'Category slug under the publication''s scheme.';
COMMENT ON COLUMN crimesnap.published_crime.snap_version IS 'Snap point set version the row was snapped with.';
COMMENT ON COLUMN crimesnap.published_crime.point_id IS 'Snap point; NULL for a crime published without a location.';
COMMENT ON COLUMN crimesnap.published_crime.neighbourhood_id IS 'Neighbourhood of the record (of the snap point when mapped).';
COMMENT ON COLUMN crimesnap.published_crime.outcome IS 'Last outcome: a police.uk outcome category (slug), the record''s outcome as of the newest month its force has published; NULL for none.';
COMMENT ON COLUMN crimesnap.published_crime.context IS 'Context: a text of crimesnap.context_text the force approved, while it publishes context; NULL otherwise.';
COMMENT ON COLUMN crimesnap.published_crime.no_location_reason IS 'Why a record has no location: none supplied, or no snap point near enough.';

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
  SELECT n.neighbourhood_id, n.force_id, pg_catalog.count(a.nb)
    FROM crimesnap.neighbourhood n
    LEFT JOIN (SELECT crimesnap.neighbourhood_at(p.geom) AS nb FROM crimesnap.postal_address p) a
      ON a.nb = n.neighbourhood_id
   GROUP BY n.neighbourhood_id, n.force_id
$fn$;
COMMENT ON FUNCTION crimesnap.area_addresses() IS
  'Distinct postal addresses (crimesnap.postal_address) in each neighbourhood, with its force: a count published for a neighbourhood or force needs at least crimesnap.min_addresses of them, or none (docs/security.md).';

-- Statistics for what a function has just bulk-written, before it reads it back.
CREATE FUNCTION crimesnap.analyse_if_grown(rel regclass, written bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path FROM CURRENT
SET client_min_messages = error
AS $fn$
BEGIN
  -- Only when the rows written are a tenth of the table or more (or it was never analysed):
  -- then the plans that read them back would be made for a table without them.  SKIP_LOCKED,
  -- because ANALYZE holds its lock to the end of the transaction: a second force publishing
  -- at the same time skips it rather than wait for the first to commit.
  IF written IS NULL OR written <= 0::bigint
     OR (SELECT c.reltuples FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel)
        >= 10::float4 * written::float4 THEN
    RETURN false;
  END IF;
  EXECUTE pg_catalog.format('ANALYZE (SKIP_LOCKED) %s', rel);
  RETURN true;
END
$fn$;
COMMENT ON FUNCTION crimesnap.analyse_if_grown(regclass, bigint) IS
  'Internal: ANALYZE (SKIP_LOCKED) of a table a function has just written rows to, when they are a tenth of it or more, so that the statements reading them back are planned for them; true when it analysed. Never waits for another session''s ANALYZE.';

-- The same count for a few neighbourhoods, stopping at cap: what a check "at least k, or
-- none" needs, at a cost that grows with the neighbourhoods asked about, not the country.
CREATE FUNCTION crimesnap.area_address_count(neighbourhoods text[], cap bigint)
RETURNS TABLE (neighbourhood_id text, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- A postal address counts where its representative row (the lowest address_id of its
  -- address_key, as in crimesnap.postal_address) lies, by crimesnap.neighbourhood_at().
  SELECT n.neighbourhood_id,
         (SELECT pg_catalog.count(*) FROM (
            SELECT FROM crimesnap.address a
             WHERE a.geom && n.geom
               AND crimesnap.neighbourhood_at(a.geom) = n.neighbourhood_id
               AND NOT EXISTS (SELECT FROM crimesnap.address b
                                WHERE crimesnap.address_key(b.address_id, b.uprn, b.house, b.street_name, b.postcode)
                                      = crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)
                                  AND b.address_id < a.address_id)
             LIMIT $2) x)
    FROM crimesnap.neighbourhood n
   WHERE n.neighbourhood_id = ANY ($1)
$fn$;
COMMENT ON FUNCTION crimesnap.area_address_count(text[], bigint) IS
  'crimesnap.area_addresses() for the given neighbourhoods only, each count stopping at cap: exact below cap, cap meaning at least that many. What publication and its audit use to test "at least crimesnap.min_addresses, or none" without counting the whole country.';

CREATE TABLE crimesnap.trend (
  force_id         text NOT NULL,
  month            date NOT NULL,
  neighbourhood_id text,
  lsoa_code        text,
  category         text NOT NULL,
  crimes           integer NOT NULL CHECK (crimes > 0),
  UNIQUE NULLS NOT DISTINCT (force_id, month, neighbourhood_id, lsoa_code, category)
);
COMMENT ON TABLE crimesnap.trend IS
  'Counts of rolled-off months by force, neighbourhood, LSOA (of the snap point) and category, under the scheme of the month''s publication. Records without a location count with a NULL LSOA. Derived from crimesnap.trend_member (the count of members per cell) by the triggers trend_from_members_*: never written by hand, and left out of pg_dump (a restore rebuilds it).';
COMMENT ON COLUMN crimesnap.trend.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.trend.month IS 'The month (first day).';
COMMENT ON COLUMN crimesnap.trend.neighbourhood_id IS 'Neighbourhood; NULL when a record without a location had none.';
COMMENT ON COLUMN crimesnap.trend.lsoa_code IS 'LSOA of the snap point; NULL for records without a location.';
COMMENT ON COLUMN crimesnap.trend.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap.trend.crimes IS 'Number of records.';

CREATE TABLE crimesnap.trend_member (
  crime_id         bigint PRIMARY KEY REFERENCES crimesnap.raw_crime,
  force_id         text NOT NULL,
  month            date NOT NULL,
  neighbourhood_id text,
  lsoa_code        text,
  category         text NOT NULL,
  mapped           boolean NOT NULL,
  FOREIGN KEY (force_id, month) REFERENCES crimesnap.publication
);
CREATE INDEX ON crimesnap.trend_member (force_id, month);
COMMENT ON TABLE crimesnap.trend_member IS
  'Which raw record counts in which trend cell, so that a record withdrawn after its month rolled off leaves exactly the cell it was counted in. Internal: never published.';
COMMENT ON COLUMN crimesnap.trend_member.crime_id IS 'The raw record.';
COMMENT ON COLUMN crimesnap.trend_member.force_id IS 'Trend cell: force.';
COMMENT ON COLUMN crimesnap.trend_member.month IS 'Trend cell: month.';
COMMENT ON COLUMN crimesnap.trend_member.neighbourhood_id IS 'Trend cell: neighbourhood.';
COMMENT ON COLUMN crimesnap.trend_member.lsoa_code IS 'Trend cell: LSOA of the snap point the record was published at.';
COMMENT ON COLUMN crimesnap.trend_member.category IS 'Trend cell: category.';
COMMENT ON COLUMN crimesnap.trend_member.mapped IS 'Whether the record was published at a snap point (its LSOA alone does not say: a point may lie outside every LSOA).';

-- The trend is derived from its members by one rule: crimesnap.trend always equals
--   SELECT force_id, month, neighbourhood_id, lsoa_code, category, count(*)
--     FROM crimesnap.trend_member GROUP BY 1, 2, 3, 4, 5
-- Functions write only trend_member; these statement triggers apply each statement's rows,
-- aggregated per cell, to the trend (O(rows changed), not a recount).  An UPDATE of a member
-- moves it: its old cell loses it, its new cell gains it.  A TRUNCATE of trend_member (by its
-- owner, or cascading from raw_crime or publication) empties the trend too: refusing it
-- would break those cascades, and an empty trend is what the rule says.
CREATE FUNCTION crimesnap.trend_from_members()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE crimesnap.trend;
    RETURN NULL;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    -- Cells that reach 0 go (the trend never holds a zero), the others go down, in one
    -- statement.  A cell holding fewer than the members leaving it (the trend written by
    -- hand) goes too: a withdrawal never fails on it, and audit_publication() reports
    -- what is left wrong.
    WITH gone AS (
      SELECT o.force_id, o.month, o.neighbourhood_id, o.lsoa_code, o.category, pg_catalog.count(*)::integer AS n
        FROM old_rows o GROUP BY 1, 2, 3, 4, 5
    ), emptied AS (
      DELETE FROM crimesnap.trend t USING gone g
       WHERE t.force_id = g.force_id AND t.month = g.month AND t.category = g.category
         AND t.neighbourhood_id IS NOT DISTINCT FROM g.neighbourhood_id
         AND t.lsoa_code IS NOT DISTINCT FROM g.lsoa_code
         AND t.crimes <= g.n
    )
    UPDATE crimesnap.trend t SET crimes = t.crimes - g.n
      FROM gone g
     WHERE t.force_id = g.force_id AND t.month = g.month AND t.category = g.category
       AND t.neighbourhood_id IS NOT DISTINCT FROM g.neighbourhood_id
       AND t.lsoa_code IS NOT DISTINCT FROM g.lsoa_code
       AND t.crimes > g.n;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO crimesnap.trend AS t (force_id, month, neighbourhood_id, lsoa_code, category, crimes)
    SELECT n.force_id, n.month, n.neighbourhood_id, n.lsoa_code, n.category, pg_catalog.count(*)::integer
      FROM new_rows n GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (force_id, month, neighbourhood_id, lsoa_code, category)
      DO UPDATE SET crimes = t.crimes + EXCLUDED.crimes;
  END IF;
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION crimesnap.trend_from_members() IS
  'Statement trigger on crimesnap.trend_member: keeps crimesnap.trend equal to the count of members per cell (force, month, neighbourhood, LSOA, category). Inserted members are added to their cells, deleted ones subtracted (a cell that reaches 0 is deleted), updated ones moved; a TRUNCATE empties the trend.';
CREATE TRIGGER trend_from_members_insert AFTER INSERT ON crimesnap.trend_member
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
CREATE TRIGGER trend_from_members_delete AFTER DELETE ON crimesnap.trend_member
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
CREATE TRIGGER trend_from_members_update AFTER UPDATE ON crimesnap.trend_member
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
CREATE TRIGGER trend_from_members_truncate AFTER TRUNCATE ON crimesnap.trend_member
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
COMMENT ON TRIGGER trend_from_members_insert ON crimesnap.trend_member IS
  'Adds the inserted members to their trend cells (creating cells as needed).';
COMMENT ON TRIGGER trend_from_members_delete ON crimesnap.trend_member IS
  'Subtracts the deleted members from their trend cells, deleting cells that reach 0.';
COMMENT ON TRIGGER trend_from_members_update ON crimesnap.trend_member IS
  'Moves updated members from their old trend cells to their new ones.';
COMMENT ON TRIGGER trend_from_members_truncate ON crimesnap.trend_member IS
  'Empties crimesnap.trend when its members are truncated.';

CREATE TABLE crimesnap.withdrawal (
  withdrawal_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  scope            text NOT NULL CHECK (scope IN ('record', 'month', 'force')),
  force_id         text NOT NULL,
  month            date,
  persistent_id    text,
  reason           text NOT NULL CHECK (btrim(reason) <> ''),
  withdrawn_by     name NOT NULL DEFAULT SESSION_USER,
  withdrawn_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  reinstated_by    name,
  reinstated_at    timestamptz,
  reinstate_reason text,
  CHECK ((scope = 'record') = (persistent_id IS NOT NULL)),
  CHECK ((scope = 'month') = (month IS NOT NULL)),
  CHECK ((reinstated_at IS NULL) = (reinstated_by IS NULL) AND (reinstated_at IS NULL) = (reinstate_reason IS NULL))
);
CREATE INDEX ON crimesnap.withdrawal (persistent_id) WHERE reinstated_at IS NULL;
COMMENT ON TABLE crimesnap.withdrawal IS
  'Withdrawals: a record, a force''s month, or all of a force''s data. While in force (not reinstated), what it covers is kept out of every output and every re-publication.';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawal_id IS 'Withdrawal id, quoted to reinstate.';
COMMENT ON COLUMN crimesnap.withdrawal.scope IS 'record, month or force.';
COMMENT ON COLUMN crimesnap.withdrawal.force_id IS 'The force whose data is withdrawn.';
COMMENT ON COLUMN crimesnap.withdrawal.month IS 'The month, for a month withdrawal.';
COMMENT ON COLUMN crimesnap.withdrawal.persistent_id IS 'The record''s persistent id (the internal one for ASB, which publishes none), for a record withdrawal.';
COMMENT ON COLUMN crimesnap.withdrawal.reason IS 'Why, for example the complaint it answers.';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawn_by IS 'Who withdrew it (the session user).';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawn_at IS 'When.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstated_by IS 'Who reinstated it, if anyone.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstated_at IS 'When it was reinstated.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstate_reason IS 'Why it was reinstated.';

CREATE TABLE crimesnap.audit_log (
  log_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  who      name NOT NULL DEFAULT SESSION_USER,
  action   text NOT NULL CHECK (action IN ('publish', 'roll-off', 'withdraw', 'reinstate', 'rotate-key',
                                         'grant-force', 'revoke-force')),
  force_id text,
  month    date,
  detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON crimesnap.audit_log (force_id, at);
COMMENT ON TABLE crimesnap.audit_log IS
  'Who did what, when and why: publications, roll-offs, withdrawals, reinstatements and key rotations. Never holds a reference number or a raw location.';
COMMENT ON COLUMN crimesnap.audit_log.log_id IS 'Entry id.';
COMMENT ON COLUMN crimesnap.audit_log.at IS 'When.';
COMMENT ON COLUMN crimesnap.audit_log.who IS 'The session user (not the definer the function runs as).';
COMMENT ON COLUMN crimesnap.audit_log.action IS 'publish, roll-off, withdraw, reinstate, rotate-key, grant-force or revoke-force.';
COMMENT ON COLUMN crimesnap.audit_log.force_id IS 'The force concerned.';
COMMENT ON COLUMN crimesnap.audit_log.month IS 'The month concerned, if one.';
COMMENT ON COLUMN crimesnap.audit_log.detail IS 'Counts, ids and reasons.';

-- ---- what a published location may say ----

CREATE TABLE crimesnap.place_class (
  class text PRIMARY KEY CHECK (btrim(class) <> '' AND class !~ '[0-9]')
);
CREATE UNIQUE INDEX place_class_lower ON crimesnap.place_class (lower(class));
COMMENT ON TABLE crimesnap.place_class IS
  'Classes of public place a snap point may be labelled with ("On or near Parking Area"). A label that is neither one of these nor a loaded street name is refused at publication: it could be a building''s name.';
COMMENT ON COLUMN crimesnap.place_class.class IS 'The class as published; matched without regard to case.';
INSERT INTO crimesnap.place_class VALUES
  ('Airport/Airfield'), ('Bus/Coach Station'), ('Conference/Exhibition Centre'),
  ('Further/Higher Educational Building'), ('Hospital'), ('Hotel/Motel'), ('Nightclub'),
  ('Park'), ('Park/Open Space'), ('Parking Area'), ('Pedestrian Subway'), ('Petrol Station'),
  ('Police Station'), ('Prison'), ('Railway Station'), ('Shopping Area'),
  ('Sports/Recreation Area'), ('Supermarket'), ('Theatre/Concert Hall'), ('Theme/Adventure Park'),
  ('Ferry Terminal');

-- Street names are looked up by their matching key when a label is checked.
CREATE INDEX street_name_key ON crimesnap.street (crimesnap.normalise_street_name(name));
CREATE INDEX street_ref_key ON crimesnap.street (crimesnap.normalise_street_name(pg_catalog.split_part(ref, ';', 1)))
  WHERE name IS NULL;

CREATE FUNCTION crimesnap.location_label_problem(label text)
RETURNS text
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT CASE
    WHEN $1 IS NULL OR pg_catalog.btrim($1) = '' THEN 'the label is empty'
    WHEN $1 ~ '^\s*[0-9]' THEN 'the label starts with a number, like a house number'
    WHEN crimesnap.screen_context($1) IS NOT NULL
      THEN pg_catalog.format('the label holds a %s', crimesnap.screen_context($1))
    WHEN NOT EXISTS (SELECT FROM crimesnap.street s
                      WHERE crimesnap.normalise_street_name(s.name) = crimesnap.normalise_street_name($1))
     AND NOT EXISTS (SELECT FROM crimesnap.street s
                      WHERE s.name IS NULL
                        AND crimesnap.normalise_street_name(pg_catalog.split_part(s.ref, ';', 1)) = crimesnap.normalise_street_name($1))
     AND NOT EXISTS (SELECT FROM crimesnap.place_class c WHERE pg_catalog.lower(c.class) = pg_catalog.lower(pg_catalog.btrim($1)))
      THEN 'the label is neither a loaded street name nor a class in crimesnap.place_class, so it could be a building''s name'
  END
$fn$;
COMMENT ON FUNCTION crimesnap.location_label_problem(text) IS
  'Why a snap point label may not be published as "On or near <label>" (a house number, a postcode, a building name), or NULL when it may.';

-- ---- timing ----

CREATE FUNCTION crimesnap.publishable_from(month date)
RETURNS date
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT (pg_catalog.date_trunc('month', $1) + interval '1 month' - interval '1 day')::date
         + crimesnap.setting('min_age_days')::integer
$fn$;
COMMENT ON FUNCTION crimesnap.publishable_from(date) IS
  'First day a month may be published: its last day plus crimesnap.min_age_days.';

CREATE FUNCTION crimesnap.latest_publishable_month(reference_date date)
RETURNS date
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- A month is publishable when its last day is on or before reference_date - min_age_days.
  SELECT (pg_catalog.date_trunc('month', $1 - crimesnap.setting('min_age_days')::integer + 1)
          - interval '1 month')::date
$fn$;
COMMENT ON FUNCTION crimesnap.latest_publishable_month(date) IS
  'The newest month that may be published as of reference_date.';

-- ---- roll-off ----

CREATE FUNCTION crimesnap.roll_off_before(force text, keep_from date)
RETURNS TABLE (force_id text, month date, crimes bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
SET jit = off
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
    -- crimesnap.trend follows its members (trigger trend_from_members).
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
      LEFT JOIN crimesnap.area_address_count(
                  ARRAY(SELECT DISTINCT x.neighbourhood_id FROM crimesnap.published_crime x
                         WHERE x.force_id = roll_off_before.force AND x.month = r.month
                           AND x.point_id IS NULL AND x.neighbourhood_id IS NOT NULL), k) na
        ON na.neighbourhood_id = c.neighbourhood_id
     WHERE c.force_id = roll_off_before.force AND c.month = r.month;
    GET DIAGNOSTICS crimes = ROW_COUNT;
    PERFORM crimesnap.analyse_if_grown('crimesnap.trend_member'::pg_catalog.regclass, crimes);
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

CREATE FUNCTION crimesnap.roll_off(reference_date date DEFAULT CURRENT_DATE)
RETURNS TABLE (force_id text, month date, crimes bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  keep_from date;
  f record;
BEGIN
  IF reference_date IS NULL THEN
    RAISE EXCEPTION 'reference_date must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Leave it out for today, or give a date, for example ''2026-11-23''.';
  END IF;
  IF NOT pg_catalog.isfinite(reference_date) THEN
    RAISE EXCEPTION 'reference_date % is not a date', reference_date
      USING ERRCODE = 'datetime_field_overflow',
            HINT = 'Leave it out for today, or give a date, for example ''2026-11-23''.';
  END IF;
  keep_from := (crimesnap.latest_publishable_month(reference_date)
                - pg_catalog.make_interval(months => crimesnap.setting('street_level_months')::integer - 1))::date;
  -- Forces are locked in one order, so two roll-offs never deadlock; a publication of
  -- one force waits only for that force.
  -- Only the forces the caller acts for (every force for a superuser).
  FOR f IN SELECT x.force_id FROM crimesnap.force x
            WHERE x.force_id = ANY (crimesnap.acting_forces()) ORDER BY x.force_id LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f.force_id));
    RETURN QUERY SELECT * FROM crimesnap.roll_off_before(f.force_id, keep_from);
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION crimesnap.roll_off(date) IS
  'Moves the months older than the newest crimesnap.street_level_months publishable months (as of reference_date) off the map into the trend table, in one transaction, for every force the caller acts for. Returns what moved.';

-- ---- the audit ----

CREATE FUNCTION crimesnap.audit_publication(of_force text DEFAULT NULL, of_month date DEFAULT NULL)
RETURNS TABLE (force_id text, month date, violation text, id bigint, detail text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
SET jit = off
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
  WITH used AS MATERIALIZED (
    SELECT DISTINCT c.snap_version, c.point_id FROM crimesnap.published_crime c
     WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m) AND c.point_id IS NOT NULL
  ), labels AS MATERIALIZED (
    -- Each distinct label of the points used is checked once.
    SELECT l.label, crimesnap.location_label_problem(l.label) AS problem
      FROM (SELECT DISTINCT p.label FROM used u
              JOIN crimesnap.snap_point p ON p.version = u.snap_version AND p.point_id = u.point_id) l
  ), bad AS MATERIALIZED (
    SELECT p.version, p.point_id, 'location label'::text AS violation,
           pg_catalog.format('snap point %s "%s": %s', p.point_id, p.label, l.problem) AS detail
      FROM used u JOIN crimesnap.snap_point p ON p.version = u.snap_version AND p.point_id = u.point_id
      JOIN labels l ON l.label = p.label
     WHERE l.problem IS NOT NULL
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
  SELECT h.force_id, pg_catalog.min(h.month), 'published at two positions'::text, NULL::bigint,
         pg_catalog.format('persistent id %s has been published at %s positions: %s', h.persistent_id, pg_catalog.count(*),
                           pg_catalog.string_agg(pg_catalog.format('street id %s at %s, %s', h.point_id, h.latitude, h.longitude),
                                                 '; ' ORDER BY h.first_published_at, h.point_id))
    FROM crimesnap.published_position h
   WHERE (f IS NULL OR h.force_id = f)
     -- For a month, only the ids published in it: not the force's whole history.
     AND (m IS NULL OR h.persistent_id IN (SELECT h2.persistent_id FROM crimesnap.published_position h2
                                            WHERE h2.month = m AND (f IS NULL OR h2.force_id = f)))
   GROUP BY h.force_id, h.persistent_id
  HAVING pg_catalog.count(*) > 1 AND (m IS NULL OR pg_catalog.bool_or(h.month = m));
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
  -- Counts stop at k (crimesnap.area_address_count): exact below k, which is all the test
  -- and its message need; a force's total is at least k once its capped parts add up to k.
  WITH na AS MATERIALIZED (
    SELECT n.neighbourhood_id, n.force_id, a.addresses
      FROM crimesnap.area_address_count(ARRAY(SELECT n2.neighbourhood_id FROM crimesnap.neighbourhood n2
                                               WHERE f IS NULL OR n2.force_id = f), k) a
      JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = a.neighbourhood_id),
  fa AS (SELECT na.force_id, pg_catalog.sum(na.addresses)::bigint AS addresses FROM na GROUP BY na.force_id),
  cells AS (
    SELECT t.force_id, t.month, t.neighbourhood_id, pg_catalog.count(*) AS crimes
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
   WHERE (f IS NULL OR x.force_id = f) AND (m IS NULL OR x.month = m)
     -- The same force and month on the raw side (a published row's record is of its month):
     -- otherwise, once any withdrawal exists, the plan read every raw record ever loaded
     -- (108 ms against 0.9 ms a force at a tenth of the country, and growing every month).
     AND (f IS NULL OR r.force_id = f) AND (m IS NULL OR r.month = m);

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

-- ---- publishing ----

CREATE FUNCTION crimesnap.publish_month(
  force text,
  month date,
  reference_date date DEFAULT CURRENT_DATE,
  category_scheme text DEFAULT 'police.uk')
RETURNS TABLE (crimes integer, mapped integer, no_location integer, withheld integer, rolled_off integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
SET jit = off
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', publish_month.month)::date;
  opens date;
  v integer := crimesnap.current_snap_version();
  keep_from date;
  n_withheld integer;
  bad text;
  problem record;
  horizon date;
  rolled_months date[];
  n_written bigint;
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
            -- Only this month's ids: the history holds every record ever published.
           WHERE pp.persistent_id IN (SELECT l2.persistent_id FROM pg_temp.cs_live l2)
           ORDER BY pp.persistent_id, pp.first_published_at, pp.point_id) h
   WHERE h.persistent_id = l.persistent_id;

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
    -- A record not pinned to an earlier position snaps inside the neighbourhood its
    -- location lies in, one call a row (no arrays: a month of any size streams through).
    CROSS JOIN LATERAL (
      SELECT CASE WHEN l.geom IS NOT NULL AND l.neighbourhood_id IS NOT NULL AND l.pin_point IS NULL
                  THEN crimesnap.snap(l.geom, l.neighbourhood_id) END AS point_id) s
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
  -- Analyse what was written before reading it back, when it is a tenth of the table or
  -- more: the statements below, and the audit, would otherwise be planned for a table
  -- without this month (autovacuum comes later, or never inside a test's transaction).
  GET DIAGNOSTICS n_written = ROW_COUNT;
  PERFORM crimesnap.analyse_if_grown('crimesnap.published_crime'::pg_catalog.regclass, n_written);

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
  -- Each distinct label is checked once: a month uses thousands of points but few labels.
  WITH used AS MATERIALIZED (
    SELECT p.point_id, p.label FROM crimesnap.snap_point p
     WHERE (p.version, p.point_id) IN (SELECT c.snap_version, c.point_id FROM crimesnap.published_crime c
                                        WHERE c.force_id = publish_month.force AND c.month = m)
  ), checked AS MATERIALIZED (
    SELECT l.label, crimesnap.location_label_problem(l.label) AS why
      FROM (SELECT DISTINCT u.label FROM used u) l
  )
  SELECT u.point_id, u.label, k.why INTO problem
    FROM used u JOIN checked k ON k.label = u.label
   WHERE k.why IS NOT NULL
   ORDER BY u.point_id LIMIT 1;
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
  SELECT pg_catalog.count(*), pg_catalog.array_agg(x.month) INTO rolled_off, rolled_months
    FROM crimesnap.roll_off_before(publish_month.force, keep_from) x;

  -- The audit proves the rules on what this call wrote, and a violation undoes it all: the
  -- month published, the months it rolled off, and the force's other street-level months
  -- (their outcomes were refreshed), newest first.  Older months, which this call did not
  -- touch, get the cheap invariant below; crimesnap.audit_publication(force) proves the
  -- whole history, for a DBA.
  SELECT a.* INTO problem
    FROM (SELECT p.month FROM crimesnap.publication p
           WHERE p.force_id = publish_month.force
             AND (p.status = 'street-level' OR p.month = ANY (rolled_months))
           ORDER BY p.month DESC) mm
    CROSS JOIN LATERAL crimesnap.audit_publication(publish_month.force, mm.month) a
   LIMIT 1;
  IF NOT FOUND THEN
    -- Every other month of the force still holds in the trend what its publication says.
    SELECT p.force_id, p.month, 'totals'::text AS violation,
           pg_catalog.format('publication says %s records; the trend holds %s', p.crimes, t.crimes) AS detail
      INTO problem
      FROM crimesnap.publication p
      CROSS JOIN LATERAL (SELECT coalesce(pg_catalog.sum(x.crimes), 0::bigint)::bigint AS crimes FROM crimesnap.trend x
                           WHERE x.force_id = p.force_id AND x.month = p.month) t
     WHERE p.force_id = publish_month.force AND p.status = 'rolled-off'
       AND p.crimes::bigint <> t.crimes
     ORDER BY p.month DESC LIMIT 1;
  END IF;
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

-- ---- withdrawal and redress (ICO guidance, paragraph 46) ----

CREATE FUNCTION crimesnap.count_withheld(force text, month date, mapped boolean)
RETURNS void
LANGUAGE sql
SET search_path FROM CURRENT
AS $fn$
  UPDATE crimesnap.publication p
     SET crimes = p.crimes - 1, withheld = p.withheld + 1,
         mapped = p.mapped - $3::integer,
         no_location = p.no_location - (NOT $3)::integer
   WHERE p.force_id = $1 AND p.month = $2
$fn$;
COMMENT ON FUNCTION crimesnap.count_withheld(text, date, boolean) IS
  'Internal: moves one withdrawn record of a publication from its published counts (mapped or not) to withheld.';

CREATE FUNCTION crimesnap.withdraw(persistent_id text, reason text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f text;
  removed integer := 0;
  wid bigint;
  g record;
BEGIN
  IF reason IS NULL OR pg_catalog.btrim(reason) = '' THEN
    RAISE EXCEPTION 'a withdrawal needs a reason' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the complaint or decision it answers; it goes to the audit log.';
  END IF;
  SELECT r.force_id INTO f FROM crimesnap.raw_crime r WHERE r.persistent_id = withdraw.persistent_id LIMIT 1;
  IF f IS NULL THEN
    RAISE EXCEPTION 'no record has persistent id %', coalesce(withdraw.persistent_id, 'NULL')
      USING ERRCODE = 'no_data_found',
            HINT = 'ASB has no public persistent id: withdraw it by its public id with crimesnap.withdraw_record(id, reason).';
  END IF;
  PERFORM crimesnap.assert_acts_for(f);
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f));
  SELECT w.withdrawal_id INTO wid FROM crimesnap.withdrawal w
   WHERE w.scope = 'record' AND w.persistent_id = withdraw.persistent_id AND w.reinstated_at IS NULL;
  IF FOUND THEN
    RAISE EXCEPTION 'the record is already withdrawn, by withdrawal %', wid
      USING ERRCODE = 'duplicate_object',
            HINT = 'See crimesnap.withdrawal; reinstate it first to withdraw it again.';
  END IF;
  INSERT INTO crimesnap.withdrawal (scope, force_id, persistent_id, reason)
  VALUES ('record', f, withdraw.persistent_id, reason) RETURNING withdrawal_id INTO wid;

  -- From the street-level outputs...
  FOR g IN DELETE FROM crimesnap.published_crime c
             USING crimesnap.raw_crime r
            WHERE r.crime_id = c.crime_id AND r.persistent_id = withdraw.persistent_id
        RETURNING c.force_id, c.month, c.point_id IS NOT NULL AS mapped
  LOOP
    PERFORM crimesnap.count_withheld(g.force_id, g.month, g.mapped);
    removed := removed + 1;
  END LOOP;
  -- ...and from the trend, when its month has rolled off: exactly the cell it counted in
  -- (crimesnap.trend follows its members, trigger trend_from_members).
  FOR g IN DELETE FROM crimesnap.trend_member t
             USING crimesnap.raw_crime r
            WHERE r.crime_id = t.crime_id AND r.persistent_id = withdraw.persistent_id
        RETURNING t.*
  LOOP
    PERFORM crimesnap.count_withheld(g.force_id, g.month, g.mapped);
    removed := removed + 1;
  END LOOP;
  INSERT INTO crimesnap.audit_log (action, force_id, detail)
  VALUES ('withdraw', f, pg_catalog.jsonb_build_object('withdrawal_id', wid, 'scope', 'record',
                                                       'persistent_id', withdraw.persistent_id,
                                                       'removed', removed, 'reason', reason));
  RETURN removed;
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw(text, text) IS
  'Withdraws one record by persistent id from every output at once (street level, API, exports, and the trend cell it counts in once rolled off), and keeps it out of later re-publications until reinstated. Returns the rows removed (0 when it was not published yet).';

CREATE FUNCTION crimesnap.withdraw_record(id bigint, reason text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  pid text;
BEGIN
  SELECT r.persistent_id INTO pid
    FROM crimesnap.published_crime c JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
   WHERE c.id = withdraw_record.id;
  IF pid IS NULL THEN
    RAISE EXCEPTION 'no published record has id %', coalesce(withdraw_record.id::text, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'See crimesnap_api.street_crime and crimesnap_api.no_location_crime.';
  END IF;
  RETURN crimesnap.withdraw(pid, reason);
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw_record(bigint, text) IS
  'Withdraws one published record by its public id; the way to withdraw ASB, which has no public persistent id.';

CREATE FUNCTION crimesnap.withdraw_force(force text, reason text, month date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', withdraw_force.month)::date;
  w_scope text := CASE WHEN withdraw_force.month IS NULL THEN 'force' ELSE 'month' END;
  removed integer;
  counted bigint;
  wid bigint;
BEGIN
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = withdraw_force.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', withdraw_force.force USING ERRCODE = 'foreign_key_violation',
      HINT = 'See crimesnap.force.';
  END IF;
  PERFORM crimesnap.assert_acts_for(withdraw_force.force);
  IF NOT pg_catalog.isfinite(withdraw_force.month) THEN
    RAISE EXCEPTION 'month % is not a month', withdraw_force.month
      USING ERRCODE = 'datetime_field_overflow',
            HINT = 'Give the first day of the month to withdraw, for example ''2026-09-01'', or leave month out to withdraw all of the force''s data.';
  END IF;
  IF reason IS NULL OR pg_catalog.btrim(reason) = '' THEN
    RAISE EXCEPTION 'a withdrawal needs a reason' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the data controller''s decision it carries out; it goes to the audit log.';
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(withdraw_force.force));
  SELECT w.withdrawal_id INTO wid FROM crimesnap.withdrawal w
   WHERE w.force_id = withdraw_force.force AND w.reinstated_at IS NULL
     AND (w.scope = 'force' OR (w.scope = 'month' AND w.month = m AND w_scope = 'month'));
  IF FOUND THEN
    RAISE EXCEPTION 'the data of force % % is already withdrawn', withdraw_force.force,
                    coalesce('for ' || pg_catalog.to_char(m, 'YYYY-MM'), 'as a whole')
      USING ERRCODE = 'duplicate_object',
            HINT = pg_catalog.format('See withdrawal %s in crimesnap.withdrawal.', wid);
  END IF;
  INSERT INTO crimesnap.withdrawal (scope, force_id, month, reason)
  VALUES (w_scope, withdraw_force.force, m, reason)
  RETURNING withdrawal_id INTO wid;
  DELETE FROM crimesnap.published_crime c
   WHERE c.force_id = withdraw_force.force AND (m IS NULL OR c.month = m);
  GET DIAGNOSTICS removed = ROW_COUNT;
  -- Each member is one record counted in the trend, which follows its members.
  DELETE FROM crimesnap.trend_member t WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
  GET DIAGNOSTICS counted = ROW_COUNT;
  DELETE FROM crimesnap.publication p WHERE p.force_id = withdraw_force.force AND (m IS NULL OR p.month = m);
  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('withdraw', withdraw_force.force, m,
          pg_catalog.jsonb_build_object('withdrawal_id', wid, 'scope', w_scope,
                                        'removed', removed, 'removed_from_trend', counted, 'reason', reason));
  RETURN removed + counted;
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw_force(text, text, date) IS
  'The data controller''s withdrawal: removes a force''s month (or, with no month, all its data) from every output including the trend table, and blocks its publication until reinstated. Returns the records removed, street-level and trend.';

CREATE FUNCTION crimesnap.reinstate(withdrawal_id bigint, reason text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  w crimesnap.withdrawal;
BEGIN
  IF reason IS NULL OR pg_catalog.btrim(reason) = '' THEN
    RAISE EXCEPTION 'a reinstatement needs a reason' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the decision it carries out; it goes to the audit log.';
  END IF;
  SELECT x.* INTO w FROM crimesnap.withdrawal x WHERE x.withdrawal_id = reinstate.withdrawal_id;
  IF FOUND THEN
    PERFORM crimesnap.assert_acts_for(w.force_id);
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(w.force_id));
  END IF;
  UPDATE crimesnap.withdrawal x
     SET reinstated_by = SESSION_USER, reinstated_at = pg_catalog.now(), reinstate_reason = reinstate.reason
   WHERE x.withdrawal_id = reinstate.withdrawal_id AND x.reinstated_at IS NULL
  RETURNING x.* INTO w;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'withdrawal % does not exist or is already reinstated', coalesce(reinstate.withdrawal_id::text, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'See crimesnap.withdrawal.';
  END IF;
  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('reinstate', w.force_id, w.month,
          pg_catalog.jsonb_build_object('withdrawal_id', w.withdrawal_id, 'scope', w.scope,
                                        'persistent_id', w.persistent_id, 'reason', reason));
  RAISE NOTICE 'withdrawal % of force % is reinstated', w.withdrawal_id, w.force_id
    USING HINT = 'Nothing is published again until crimesnap.publish_month() re-publishes the month concerned.';
END
$fn$;
COMMENT ON FUNCTION crimesnap.reinstate(bigint, text) IS
  'Ends a withdrawal, with a reason for the audit log. The data comes back at the next crimesnap.publish_month() of its month, not before.';

-- ---- the points records are shown at, in every set a month on the map uses ----

CREATE FUNCTION crimesnap.audit_published_points()
RETURNS TABLE (snap_version integer, point_id bigint, records bigint, violation text, detail text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
SET jit = off
AS $fn$
  -- A record re-published after a rebuild stays at the position it was first published at
  -- (crimesnap.published_position), which can be a point of an older set than the current
  -- one.  Each set the map shows records at is audited on the addresses as they are now
  -- (crimesnap.audit_snap_points), for the points records are shown at.
  WITH used AS (
    SELECT c.snap_version, c.point_id, pg_catalog.count(*) AS records
      FROM crimesnap.published_crime c
      JOIN crimesnap.publication p ON p.force_id = c.force_id AND p.month = c.month
     WHERE p.status = 'street-level' AND c.point_id IS NOT NULL
     GROUP BY c.snap_version, c.point_id
  )
  SELECT x.* FROM (
    SELECT v.snap_version, a.point_id, u.records, a.violation, a.detail
      FROM (SELECT DISTINCT w.snap_version FROM used w) v
     CROSS JOIN LATERAL crimesnap.audit_snap_points(v.snap_version) a
      JOIN used u ON u.snap_version = v.snap_version AND u.point_id = a.point_id
    UNION ALL
    -- The catchment area crimesnap_api.catchment publishes for a point says "every address
    -- in here snaps to it": counted as drawn, so that a stale or wrong polygon is caught too.
    SELECT u.snap_version, u.point_id, u.records, 'catchment area under k'::text,
           pg_catalog.format('the catchment area of %s point "%s" holds %s distinct addresses; k is %s',
                             p.kind, p.label, n.addresses, kk.k)
      FROM used u
      JOIN crimesnap.snap_point p ON p.version = u.snap_version AND p.point_id = u.point_id
      JOIN crimesnap.snap_point_set s ON s.version = u.snap_version
      JOIN crimesnap.snap_point_catchment c ON c.version = u.snap_version AND c.point_id = u.point_id
     CROSS JOIN LATERAL (SELECT pg_catalog.max(t.k) AS k
                           FROM (VALUES (s.min_addresses::bigint), (crimesnap.setting('min_addresses')::bigint)) t(k)) kk
     CROSS JOIN LATERAL (SELECT pg_catalog.count(DISTINCT crimesnap.address_key(a.address_id, a.uprn, a.house, a.street_name, a.postcode)) AS addresses
                           FROM crimesnap.address a WHERE ST_Covers(c.geom, a.geom)) n
     WHERE (p.kind = 'street' AND n.addresses < kk.k)
        OR (p.kind <> 'street' AND n.addresses BETWEEN 1::bigint AND kk.k - 1::bigint)) x
   ORDER BY x.snap_version, x.point_id, x.violation
$fn$;
COMMENT ON FUNCTION crimesnap.audit_published_points() IS
  'Proves the snap point promise for what the map shows now: crimesnap.audit_snap_points() of every snap point set a street-level month shows records at (the current set, and older sets whose points re-published records stay at), and the distinct addresses inside each point''s catchment area as drawn (catchment area under k), on the addresses as they are now, for the points records are shown at, with how many records each shows. One row per violation, none when clean. A DBA runs it after changing addresses or boundaries, and withdraws (or re-publishes without a location) what it finds.';

-- ---- privileges for this section (90-grants.sql adds the rest) ----
GRANT SELECT ON crimesnap.place_class TO crimesnap_analyst, crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.rotate_persistent_id_key(text) TO crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.audit_publication(text, date),
                          crimesnap.location_label_problem(text),
                          crimesnap.area_addresses(),
                          crimesnap.area_address_count(text[], bigint),
                          crimesnap.persistent_id(text, text, integer)
  TO crimesnap_publisher;
