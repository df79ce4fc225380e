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
SELECT pg_catalog.pg_extension_config_dump('crimesnap.secret', '');

CREATE FUNCTION crimesnap.persistent_id(force text, crime_ref text)
RETURNS text
LANGUAGE sql STABLE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.hmac_sha256_hex(s.value, $1 || '|' || $2)
    FROM crimesnap.secret s WHERE s.name = 'persistent_id_key'
$fn$;
COMMENT ON FUNCTION crimesnap.persistent_id(text, text) IS
  'Persistent id of a crime: keyed HMAC-SHA256 of force and reference number. Stable while the key is; not reversible without it.';

-- ---- what has been published ----

CREATE TABLE crimesnap.publication (
  force_id        text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  month           date NOT NULL CHECK (month = pg_catalog.date_trunc('month', month)),
  status          text NOT NULL CHECK (status IN ('street-level', 'rolled-off')),
  snap_version    integer NOT NULL REFERENCES crimesnap.snap_point_set,
  category_scheme text NOT NULL,
  reference_date  date NOT NULL,
  published_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  published_by    name NOT NULL DEFAULT CURRENT_USER,
  crimes          integer NOT NULL,
  mapped          integer NOT NULL,
  no_location     integer NOT NULL,
  withheld        integer NOT NULL,
  rolled_off_at   timestamptz,
  PRIMARY KEY (force_id, month)
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
COMMENT ON COLUMN crimesnap.publication.published_by IS 'Who published it.';
COMMENT ON COLUMN crimesnap.publication.crimes IS 'Records published, mapped or not.';
COMMENT ON COLUMN crimesnap.publication.mapped IS 'Records published at a snap point.';
COMMENT ON COLUMN crimesnap.publication.no_location IS 'Records published without a location.';
COMMENT ON COLUMN crimesnap.publication.withheld IS 'Records withheld because they were withdrawn.';
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
  outcome            text,
  context            text,
  no_location_reason text,
  FOREIGN KEY (force_id, month) REFERENCES crimesnap.publication ON UPDATE CASCADE,
  FOREIGN KEY (snap_version, point_id) REFERENCES crimesnap.snap_point (version, point_id),
  CHECK ((point_id IS NULL) = (no_location_reason IS NOT NULL))
);
CREATE INDEX ON crimesnap.published_crime (force_id, month);
CREATE INDEX ON crimesnap.published_crime (snap_version, point_id);
CREATE INDEX ON crimesnap.published_crime (persistent_id);
COMMENT ON TABLE crimesnap.published_crime IS
  'Street-level months as published. No coordinates and no reference numbers: a row''s location is its snap point. Rows leave when their month rolls off.';
COMMENT ON COLUMN crimesnap.published_crime.id IS 'Public record id (police.uk''s "id"); ASB is withdrawn by it.';
COMMENT ON COLUMN crimesnap.published_crime.crime_id IS 'Internal link to the raw record; never in crimesnap_api.';
COMMENT ON COLUMN crimesnap.published_crime.force_id IS 'Reported by.';
COMMENT ON COLUMN crimesnap.published_crime.month IS 'Month (first day).';
COMMENT ON COLUMN crimesnap.published_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_crime.category IS 'Category slug under the publication''s scheme.';
COMMENT ON COLUMN crimesnap.published_crime.snap_version IS 'Snap point set version the row was snapped with.';
COMMENT ON COLUMN crimesnap.published_crime.point_id IS 'Snap point; NULL for a crime published without a location.';
COMMENT ON COLUMN crimesnap.published_crime.neighbourhood_id IS 'Neighbourhood of the record (of the snap point when mapped).';
COMMENT ON COLUMN crimesnap.published_crime.outcome IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap.published_crime.context IS 'Context, screened at load.';
COMMENT ON COLUMN crimesnap.published_crime.no_location_reason IS 'Why a record has no location: none supplied, or no snap point near enough.';

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
  'Counts of rolled-off months by force, neighbourhood, LSOA (of the snap point) and category. Records without a location count with a NULL LSOA.';
COMMENT ON COLUMN crimesnap.trend.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.trend.month IS 'The month (first day).';
COMMENT ON COLUMN crimesnap.trend.neighbourhood_id IS 'Neighbourhood; NULL when a record without a location had none.';
COMMENT ON COLUMN crimesnap.trend.lsoa_code IS 'LSOA of the snap point; NULL for records without a location.';
COMMENT ON COLUMN crimesnap.trend.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap.trend.crimes IS 'Number of records.';

CREATE TABLE crimesnap.withdrawal (
  withdrawal_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  scope            text NOT NULL CHECK (scope IN ('record', 'month', 'force')),
  force_id         text NOT NULL,
  month            date,
  persistent_id    text,
  reason           text NOT NULL CHECK (btrim(reason) <> ''),
  withdrawn_by     name NOT NULL DEFAULT CURRENT_USER,
  withdrawn_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  reinstated_by    name,
  reinstated_at    timestamptz,
  reinstate_reason text,
  CHECK ((scope = 'record') = (persistent_id IS NOT NULL)),
  CHECK ((scope = 'month') = (month IS NOT NULL))
);
CREATE INDEX ON crimesnap.withdrawal (persistent_id) WHERE reinstated_at IS NULL;
COMMENT ON TABLE crimesnap.withdrawal IS
  'Withdrawals in force: a record, a force''s month, or all of a force''s data. A withdrawn record never comes back on a re-publish until it is reinstated.';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawal_id IS 'Withdrawal id, quoted to reinstate.';
COMMENT ON COLUMN crimesnap.withdrawal.scope IS 'record, month or force.';
COMMENT ON COLUMN crimesnap.withdrawal.force_id IS 'The force whose data is withdrawn.';
COMMENT ON COLUMN crimesnap.withdrawal.month IS 'The month, for a month withdrawal.';
COMMENT ON COLUMN crimesnap.withdrawal.persistent_id IS 'The record''s persistent id (kept for ASB too), for a record withdrawal.';
COMMENT ON COLUMN crimesnap.withdrawal.reason IS 'Why, for example the complaint it answers.';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawn_by IS 'Who withdrew it.';
COMMENT ON COLUMN crimesnap.withdrawal.withdrawn_at IS 'When.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstated_by IS 'Who reinstated it, if anyone.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstated_at IS 'When it was reinstated.';
COMMENT ON COLUMN crimesnap.withdrawal.reinstate_reason IS 'Why it was reinstated.';

CREATE TABLE crimesnap.audit_log (
  log_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  who      name NOT NULL DEFAULT SESSION_USER,
  action   text NOT NULL,
  force_id text,
  month    date,
  detail   jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE crimesnap.audit_log IS
  'Who did what and when: publications, roll-offs, withdrawals and reinstatements.';
COMMENT ON COLUMN crimesnap.audit_log.log_id IS 'Entry id.';
COMMENT ON COLUMN crimesnap.audit_log.at IS 'When.';
COMMENT ON COLUMN crimesnap.audit_log.who IS 'The session user (not the definer the function runs as).';
COMMENT ON COLUMN crimesnap.audit_log.action IS 'publish, roll-off, withdraw or reinstate.';
COMMENT ON COLUMN crimesnap.audit_log.force_id IS 'The force concerned.';
COMMENT ON COLUMN crimesnap.audit_log.month IS 'The month concerned, if one.';
COMMENT ON COLUMN crimesnap.audit_log.detail IS 'Counts, ids and reasons.';

-- ---- timing ----

CREATE FUNCTION crimesnap.publishable_from(month date)
RETURNS date
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT (date_trunc('month', $1) + interval '1 month' - interval '1 day')::date
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
  SELECT (date_trunc('month', $1 - crimesnap.setting('min_age_days')::integer + 1)
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
AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT p.month FROM crimesnap.publication p
            WHERE p.force_id = roll_off_before.force AND p.status = 'street-level' AND p.month < keep_from
            ORDER BY p.month
  LOOP
    DELETE FROM crimesnap.trend t WHERE t.force_id = roll_off_before.force AND t.month = r.month;
    INSERT INTO crimesnap.trend (force_id, month, neighbourhood_id, lsoa_code, category, crimes)
    SELECT c.force_id, c.month, c.neighbourhood_id, sp.lsoa_code, c.category, count(*)
      FROM crimesnap.published_crime c
      LEFT JOIN crimesnap.snap_point sp ON sp.version = c.snap_version AND sp.point_id = c.point_id
     WHERE c.force_id = roll_off_before.force AND c.month = r.month
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
  'Moves a force''s street-level months before keep_from into the trend table, in the caller''s transaction. Returns what moved.';

CREATE FUNCTION crimesnap.roll_off(reference_date date DEFAULT CURRENT_DATE)
RETURNS TABLE (force_id text, month date, crimes bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  keep_from date := (crimesnap.latest_publishable_month(reference_date)
                     - pg_catalog.make_interval(months => crimesnap.setting('street_level_months')::integer - 1))::date;
  f record;
BEGIN
  IF reference_date IS NULL THEN
    RAISE EXCEPTION 'reference_date must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  FOR f IN SELECT x.force_id FROM crimesnap.force x ORDER BY x.force_id LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f.force_id));
    RETURN QUERY SELECT * FROM crimesnap.roll_off_before(f.force_id, keep_from);
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION crimesnap.roll_off(date) IS
  'Moves every force''s months older than the newest crimesnap.street_level_months publishable months (as of reference_date) off the map into the trend table, atomically. Returns what moved.';

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
BEGIN
  IF publish_month.force IS NULL OR publish_month.month IS NULL OR reference_date IS NULL THEN
    RAISE EXCEPTION 'force, month and reference_date must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = publish_month.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', publish_month.force
      USING ERRCODE = 'foreign_key_violation', HINT = 'See crimesnap.force.';
  END IF;
  opens := crimesnap.publishable_from(m);
  IF reference_date < opens THEN
    RAISE EXCEPTION 'month % cannot be published before %', pg_catalog.to_char(m, 'YYYY-MM'), opens
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('crimesnap.min_age_days is %s: a month is published no sooner than that many days after it ends.',
                                       crimesnap.setting('min_age_days')),
            HINT = pg_catalog.format('Publish it on or after %s.', opens);
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.category c WHERE c.scheme = category_scheme) THEN
    RAISE EXCEPTION 'category scheme "%" does not exist', category_scheme
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''police.uk'' or ''crimemapper-2010''.';
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

  -- One publication or roll-off per force at a time; other forces go ahead in parallel.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(publish_month.force));

  SELECT pg_catalog.string_agg(DISTINCT r.offence_code, ', ') INTO bad
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.offence_code o
                      WHERE o.offence_code = r.offence_code
                        AND (o.force_id IS NULL OR o.force_id = r.force_id));
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'offence codes % of force % no longer map to a category', bad, publish_month.force
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Restore them in crimesnap.offence_code before publishing.';
  END IF;

  -- A re-publish replaces the month; the trend counts of a rolled-off month are redone below.
  DELETE FROM crimesnap.published_crime c WHERE c.force_id = publish_month.force AND c.month = m;
  INSERT INTO crimesnap.publication AS p
    (force_id, month, status, snap_version, category_scheme, reference_date, crimes, mapped, no_location, withheld)
  VALUES (publish_month.force, m, 'street-level', v, category_scheme, reference_date, 0, 0, 0, 0)
  ON CONFLICT ON CONSTRAINT publication_pkey DO UPDATE
    SET status = 'street-level', snap_version = v, category_scheme = EXCLUDED.category_scheme,
        reference_date = EXCLUDED.reference_date, published_at = pg_catalog.now(),
        published_by = CURRENT_USER, rolled_off_at = NULL;

  CREATE TEMP TABLE cs_live ON COMMIT DROP AS
  SELECT r.*
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.withdrawal w
                      WHERE w.scope = 'record' AND w.reinstated_at IS NULL
                        AND w.persistent_id = r.persistent_id);
  SELECT count(*) INTO n_withheld
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM pg_temp.cs_live l WHERE l.crime_id = r.crime_id);

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

  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('publish', publish_month.force, m,
          pg_catalog.jsonb_build_object('crimes', crimes, 'mapped', mapped, 'no_location', no_location,
                                        'withheld', withheld, 'rolled_off_months', rolled_off,
                                        'snap_version', v, 'reference_date', reference_date));
  DROP TABLE pg_temp.cs_live;
  RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION crimesnap.publish_month(text, date, date, text) IS
  'Publishes (or re-publishes) a force''s month in one transaction: snaps every live record, keeps withdrawn ones out, and rolls older months off into the trend table. Fails before month end + crimesnap.min_age_days.';

-- ---- withdrawal ----

CREATE FUNCTION crimesnap.withdraw(persistent_id text, reason text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  f text;
  removed integer;
  wid bigint;
BEGIN
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a withdrawal needs a reason' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the complaint or decision it answers; it goes to the audit log.';
  END IF;
  SELECT r.force_id INTO f FROM crimesnap.raw_crime r WHERE r.persistent_id = withdraw.persistent_id LIMIT 1;
  IF f IS NULL THEN
    RAISE EXCEPTION 'no record has persistent id %', withdraw.persistent_id
      USING ERRCODE = 'no_data_found',
            HINT = 'ASB has no persistent id: withdraw it by its public id with crimesnap.withdraw_record(id, reason).';
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(f));
  INSERT INTO crimesnap.withdrawal (scope, force_id, persistent_id, reason)
  VALUES ('record', f, withdraw.persistent_id, reason) RETURNING withdrawal_id INTO wid;
  DELETE FROM crimesnap.published_crime c
   USING crimesnap.raw_crime r
   WHERE r.crime_id = c.crime_id AND r.persistent_id = withdraw.persistent_id;
  GET DIAGNOSTICS removed = ROW_COUNT;
  INSERT INTO crimesnap.audit_log (action, force_id, detail)
  VALUES ('withdraw', f, pg_catalog.jsonb_build_object('withdrawal_id', wid, 'scope', 'record',
                                                       'persistent_id', withdraw.persistent_id,
                                                       'removed', removed, 'reason', reason));
  RETURN removed;
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw(text, text) IS
  'Withdraws one record by persistent id from every output at once, and keeps it out of later re-publications until reinstated. Returns the rows removed.';

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
    RAISE EXCEPTION 'no published record has id %', withdraw_record.id
      USING ERRCODE = 'no_data_found', HINT = 'See crimesnap_api.street_crime and crimesnap_api.no_location_crime.';
  END IF;
  RETURN crimesnap.withdraw(pid, reason);
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw_record(bigint, text) IS
  'Withdraws one published record by its public id; the way to withdraw ASB, which has no persistent id.';

CREATE FUNCTION crimesnap.withdraw_force(force text, reason text, month date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', withdraw_force.month)::date;
  removed integer;
  wid bigint;
BEGIN
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = withdraw_force.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', withdraw_force.force USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a withdrawal needs a reason' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(withdraw_force.force));
  INSERT INTO crimesnap.withdrawal (scope, force_id, month, reason)
  VALUES (CASE WHEN m IS NULL THEN 'force' ELSE 'month' END, withdraw_force.force, m, reason)
  RETURNING withdrawal_id INTO wid;
  DELETE FROM crimesnap.published_crime c
   WHERE c.force_id = withdraw_force.force AND (m IS NULL OR c.month = m);
  GET DIAGNOSTICS removed = ROW_COUNT;
  DELETE FROM crimesnap.trend t WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
  DELETE FROM crimesnap.publication p WHERE p.force_id = withdraw_force.force AND (m IS NULL OR p.month = m);
  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('withdraw', withdraw_force.force, m,
          pg_catalog.jsonb_build_object('withdrawal_id', wid, 'scope', CASE WHEN m IS NULL THEN 'force' ELSE 'month' END,
                                        'removed', removed, 'reason', reason));
  RETURN removed;
END
$fn$;
COMMENT ON FUNCTION crimesnap.withdraw_force(text, text, date) IS
  'The data controller''s withdrawal: removes a force''s month (or, with no month, all its data) from every output including the trend table. Returns the street-level rows removed.';

CREATE FUNCTION crimesnap.reinstate(withdrawal_id bigint, reason text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  w crimesnap.withdrawal;
BEGIN
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a reinstatement needs a reason' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  UPDATE crimesnap.withdrawal x
     SET reinstated_by = SESSION_USER, reinstated_at = pg_catalog.now(), reinstate_reason = reason
   WHERE x.withdrawal_id = reinstate.withdrawal_id AND x.reinstated_at IS NULL
  RETURNING x.* INTO w;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'withdrawal % does not exist or is already reinstated', reinstate.withdrawal_id
      USING ERRCODE = 'no_data_found', HINT = 'See crimesnap.withdrawal.';
  END IF;
  INSERT INTO crimesnap.audit_log (action, force_id, month, detail)
  VALUES ('reinstate', w.force_id, w.month,
          pg_catalog.jsonb_build_object('withdrawal_id', w.withdrawal_id, 'scope', w.scope, 'reason', reason));
END
$fn$;
COMMENT ON FUNCTION crimesnap.reinstate(bigint, text) IS
  'Ends a withdrawal. The data comes back at the next publish_month() of its month.';
