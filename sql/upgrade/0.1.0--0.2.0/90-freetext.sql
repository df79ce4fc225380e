-- freetext (issue 12): outcomes from police.uk's vocabulary with each record's outcome
-- history; context published only once the force approved that exact text; a better screen
-- (src/screen.c).  Data: existing outcomes enter the history batch by batch, published
-- outcomes become police.uk codes, existing contexts wait for review, and every published
-- context is withdrawn (a force publishes none until it turns context on and approves texts).

-- Functions capture this search_path (SET search_path FROM CURRENT), as section 00 sets it.
SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

-- ---- the outcome vocabulary ----

CREATE TABLE crimesnap.outcome_category (
  slug text PRIMARY KEY CHECK (slug ~ '^[a-z]+(-[a-z]+)*$'),
  name text NOT NULL UNIQUE
);
COMMENT ON TABLE crimesnap.outcome_category IS
  'police.uk''s outcome categories: the code its JSON uses (outcomes-for-crime, outcome_status) and the name its CSVs use ("Last outcome category"). The only outcomes ever published.';
COMMENT ON COLUMN crimesnap.outcome_category.slug IS 'Code as police.uk''s JSON gives it, for example no-further-action.';
COMMENT ON COLUMN crimesnap.outcome_category.name IS 'Name as police.uk''s CSVs give it, for example Investigation complete; no suspect identified.';
-- data.police.uk, API method outcomes-for-crime and the "Last outcome category" column of
-- its street CSVs (see docs/loading.md, "Outcomes").
INSERT INTO crimesnap.outcome_category (slug, name) VALUES
  ('under-investigation', 'Under investigation'),
  ('status-update-unavailable', 'Status update unavailable'),
  ('no-further-action', 'Investigation complete; no suspect identified'),
  ('unable-to-prosecute', 'Unable to prosecute suspect'),
  ('formal-action-not-in-public-interest', 'Formal action is not in the public interest'),
  ('further-investigation-not-in-public-interest', 'Further investigation is not in the public interest'),
  ('further-action-not-in-public-interest', 'Further action is not in the public interest'),
  ('action-taken-by-another-organisation', 'Action to be taken by another organisation'),
  ('local-resolution', 'Local resolution'),
  ('cautioned', 'Offender given a caution'),
  ('drugs-possession-warning', 'Offender given a drugs possession warning'),
  ('penalty-notice-issued', 'Offender given penalty notice'),
  ('sentenced-in-another-case', 'Suspect charged as part of another case'),
  ('charged', 'Suspect charged'),
  ('awaiting-court-result', 'Awaiting court outcome'),
  ('court-result-unavailable', 'Court result unavailable'),
  ('unable-to-proceed', 'Court case unable to proceed'),
  ('sent-to-crown-court', 'Defendant sent to Crown Court'),
  ('not-guilty', 'Defendant found not guilty'),
  ('imprisoned', 'Offender sent to prison'),
  ('suspended-sentence', 'Offender given suspended prison sentence'),
  ('fined', 'Offender fined'),
  ('community-penalty', 'Offender given community sentence'),
  ('conditional-discharge', 'Offender given conditional discharge'),
  ('absolute-discharge', 'Offender given absolute discharge'),
  ('compensation', 'Offender ordered to pay compensation'),
  ('deprived-of-property', 'Offender deprived of property'),
  ('other-court-disposal', 'Offender otherwise dealt with');

CREATE FUNCTION crimesnap.outcome_key(outcome text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT nullif(pg_catalog.lower(pg_catalog.btrim(pg_catalog.regexp_replace($1, '\s+', ' ', 'g'))), '')
$fn$;

CREATE TABLE crimesnap.outcome_code (
  force_id     text REFERENCES crimesnap.force ON UPDATE CASCADE ON DELETE CASCADE,
  outcome_code text NOT NULL
    CHECK (outcome_code = pg_catalog.lower(pg_catalog.btrim(pg_catalog.regexp_replace(outcome_code, '\s+', ' ', 'g')))
           AND outcome_code <> ''),
  slug         text NOT NULL REFERENCES crimesnap.outcome_category,
  description  text,
  UNIQUE NULLS NOT DISTINCT (force_id, outcome_code)
);
COMMENT ON TABLE crimesnap.outcome_code IS
  'Maps the outcomes forces upload onto police.uk''s outcome categories: police.uk''s own names and codes for every force (force_id NULL), and each force''s own codes or texts (force_id set, filled once by its DBA). A force''s own entry wins. An outcome that maps to nothing is published as Status update unavailable; see crimesnap.unmapped_outcome.';
COMMENT ON COLUMN crimesnap.outcome_code.force_id IS 'NULL for an entry that holds for every force; a force for its own code or text.';
COMMENT ON COLUMN crimesnap.outcome_code.outcome_code IS 'The code or text as crimesnap.outcome_key() folds it (lower case, single spaces, trimmed); uploads are compared the same way.';
COMMENT ON COLUMN crimesnap.outcome_code.slug IS 'The police.uk outcome category it is published as.';
COMMENT ON COLUMN crimesnap.outcome_code.description IS 'What the force''s code means, in its own words.';
INSERT INTO crimesnap.outcome_code (outcome_code, slug, description)
SELECT crimesnap.outcome_key(c.name), c.slug, 'police.uk name' FROM crimesnap.outcome_category c
UNION ALL
SELECT c.slug, c.slug, 'police.uk code' FROM crimesnap.outcome_category c
UNION ALL
SELECT crimesnap.outcome_key(a.spelling), a.slug, 'another spelling police.uk has used'
  FROM (VALUES ('Offender given a penalty notice', 'penalty-notice-issued'),
               ('Offender given a community sentence', 'community-penalty'),
               ('Offender given a community resolution', 'local-resolution'),
               ('Offender given community resolution', 'local-resolution'),
               ('Awaiting court result', 'awaiting-court-result'),
               ('Offender given suspended sentence', 'suspended-sentence'),
               ('Defendant sent to the Crown Court', 'sent-to-crown-court')) a(spelling, slug);

CREATE FUNCTION crimesnap.map_outcome(force text, outcome text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT o.slug FROM crimesnap.outcome_code o
   WHERE o.outcome_code = crimesnap.outcome_key($2) AND (o.force_id IS NULL OR o.force_id = $1)
   ORDER BY o.force_id NULLS LAST LIMIT 1
$fn$;

-- ---- each record's outcome history ----

CREATE TABLE crimesnap.outcome_history (
  force_id    text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  crime_ref   text NOT NULL,
  month       date NOT NULL CHECK (month = pg_catalog.date_trunc('month', month)),
  slug        text NOT NULL REFERENCES crimesnap.outcome_category,
  as_supplied text NOT NULL,
  mapped      boolean NOT NULL,
  batch_id    integer NOT NULL REFERENCES crimesnap.batch,
  PRIMARY KEY (force_id, crime_ref, month)
);
CREATE INDEX ON crimesnap.outcome_history (force_id, mapped) WHERE NOT mapped;
COMMENT ON TABLE crimesnap.outcome_history IS
  'Each record''s outcomes, each with the month it took effect (the month of the batch that first carried it): a later batch that resends the record with another outcome adds a row. Keyed by force and reference, so it outlives resubmissions. Raw: as_supplied is the force''s own text.';
COMMENT ON COLUMN crimesnap.outcome_history.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.outcome_history.crime_ref IS 'The force''s reference. Never published.';
COMMENT ON COLUMN crimesnap.outcome_history.month IS 'Month the outcome took effect (first day): the month of the batch that carried it.';
COMMENT ON COLUMN crimesnap.outcome_history.slug IS 'police.uk outcome category: the mapped one, or status-update-unavailable when the outcome mapped to nothing.';
COMMENT ON COLUMN crimesnap.outcome_history.as_supplied IS 'The outcome as the force uploaded it, kept for the force. Never published.';
COMMENT ON COLUMN crimesnap.outcome_history.mapped IS 'false when the force''s outcome mapped to nothing and is published as Status update unavailable.';
COMMENT ON COLUMN crimesnap.outcome_history.batch_id IS 'The batch that carried it (the latest, when batches of one month repeat it).';

CREATE FUNCTION crimesnap.record_outcomes(batch integer, crime_refs text[], outcomes text[])
RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  b crimesnap.batch;
  n integer;
BEGIN
  SELECT x.* INTO b FROM crimesnap.batch x WHERE x.batch_id = record_outcomes.batch;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'batch % does not exist', coalesce(record_outcomes.batch::text, 'NULL')
      USING ERRCODE = 'foreign_key_violation', HINT = 'See crimesnap.batch.';
  END IF;
  IF pg_catalog.cardinality(crime_refs) IS DISTINCT FROM pg_catalog.cardinality(outcomes) THEN
    RAISE EXCEPTION 'crime_refs has % elements and outcomes %', pg_catalog.cardinality(crime_refs), pg_catalog.cardinality(outcomes)
      USING ERRCODE = 'array_subscript_error', HINT = 'Give one outcome per reference, NULL for none.';
  END IF;
  -- An empty outcome says nothing new; the newest earlier outcome still holds.  The batch's
  -- month gets a row only when the outcome differs from the one in force before it.
  WITH given AS (
    SELECT DISTINCT ON (u.ref) u.ref, u.outcome, crimesnap.map_outcome(b.force_id, u.outcome) AS slug
      FROM ROWS FROM (pg_catalog.unnest(crime_refs), pg_catalog.unnest(outcomes)) WITH ORDINALITY AS u(ref, outcome, ord)
     WHERE u.ref IS NOT NULL AND crimesnap.outcome_key(u.outcome) IS NOT NULL
     ORDER BY u.ref, u.ord DESC
  ), changed AS (
    SELECT g.* FROM given g
     WHERE NOT EXISTS (
       SELECT FROM (SELECT h.slug, h.as_supplied FROM crimesnap.outcome_history h
                     WHERE h.force_id = b.force_id AND h.crime_ref = g.ref AND h.month < b.month
                     ORDER BY h.month DESC LIMIT 1) prev
        WHERE prev.slug = coalesce(g.slug, 'status-update-unavailable')
          AND crimesnap.outcome_key(prev.as_supplied) = crimesnap.outcome_key(g.outcome))
        OR EXISTS (SELECT FROM crimesnap.outcome_history h
                    WHERE h.force_id = b.force_id AND h.crime_ref = g.ref AND h.month = b.month)
  )
  INSERT INTO crimesnap.outcome_history AS h (force_id, crime_ref, month, slug, as_supplied, mapped, batch_id)
  SELECT b.force_id, c.ref, b.month, coalesce(c.slug, 'status-update-unavailable'), pg_catalog.btrim(c.outcome),
         c.slug IS NOT NULL, b.batch_id
    FROM changed c
  ON CONFLICT (force_id, crime_ref, month) DO UPDATE
    SET slug = EXCLUDED.slug, as_supplied = EXCLUDED.as_supplied, mapped = EXCLUDED.mapped,
        batch_id = EXCLUDED.batch_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$fn$;

CREATE FUNCTION crimesnap.outcome_as_of(force text, crime_ref text, horizon date)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT h.slug FROM crimesnap.outcome_history h
   WHERE h.force_id = $1 AND h.crime_ref = $2 AND h.month <= $3
   ORDER BY h.month DESC LIMIT 1
$fn$;

CREATE FUNCTION crimesnap.outcome_horizon(force text)
RETURNS date
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  RETURN (SELECT max(p.month) FROM crimesnap.publication p WHERE p.force_id = outcome_horizon.force);
END
$fn$;

CREATE FUNCTION crimesnap.refresh_published_outcomes(force text)
RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  horizon date := crimesnap.outcome_horizon(force);
  n integer;
BEGIN
  UPDATE crimesnap.published_crime c
     SET outcome = x.slug
    FROM crimesnap.raw_crime r
    LEFT JOIN LATERAL (SELECT crimesnap.outcome_as_of(r.force_id, r.crime_ref, horizon) AS slug) x ON true
   WHERE c.force_id = refresh_published_outcomes.force AND r.crime_id = c.crime_id
     AND c.outcome IS DISTINCT FROM x.slug;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$fn$;

CREATE VIEW crimesnap.unmapped_outcome AS
SELECT h.force_id, h.as_supplied, pg_catalog.count(*) AS records,
       pg_catalog.to_char(pg_catalog.min(h.month), 'YYYY-MM') AS first_month,
       pg_catalog.to_char(pg_catalog.max(h.month), 'YYYY-MM') AS last_month
  FROM crimesnap.outcome_history h
 WHERE NOT h.mapped
 GROUP BY h.force_id, h.as_supplied;
COMMENT ON VIEW crimesnap.unmapped_outcome IS
  'Outcomes a force uploaded that map to no police.uk outcome category: published as Status update unavailable until the force maps them in crimesnap.outcome_code and calls crimesnap.remap_outcomes().';
COMMENT ON COLUMN crimesnap.unmapped_outcome.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.unmapped_outcome.as_supplied IS 'The outcome as uploaded.';
COMMENT ON COLUMN crimesnap.unmapped_outcome.records IS 'Outcome history rows carrying it.';
COMMENT ON COLUMN crimesnap.unmapped_outcome.first_month IS 'First month it took effect, YYYY-MM.';
COMMENT ON COLUMN crimesnap.unmapped_outcome.last_month IS 'Last month it took effect, YYYY-MM.';

-- ---- context: the force's policy, the texts seen, and the decisions on them ----

CREATE FUNCTION crimesnap.normalise_context(context text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT nullif(pg_catalog.btrim(pg_catalog.regexp_replace(
           CASE WHEN pg_catalog.getdatabaseencoding() = 'UTF8' THEN pg_catalog.normalize($1, 'NFC') ELSE $1 END,
           '[\s\u00a0]+', ' ', 'g')), '')
$fn$;

CREATE FUNCTION crimesnap.context_caller()
RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- SECURITY DEFINER changes CURRENT_USER to the owner, but not the role that SET ROLE chose.
  SELECT CASE WHEN pg_catalog.current_setting('role') = 'none' THEN SESSION_USER
              ELSE pg_catalog.current_setting('role')::name END
$fn$;

-- Published contexts are found by the normalised text of the raw record.
CREATE INDEX raw_crime_context ON crimesnap.raw_crime (force_id, crimesnap.normalise_context(context))
  WHERE context IS NOT NULL;

CREATE TABLE crimesnap.context_policy (
  force_id   text PRIMARY KEY REFERENCES crimesnap.force ON UPDATE CASCADE ON DELETE CASCADE,
  publish    boolean NOT NULL,
  changed_by name NOT NULL DEFAULT SESSION_USER,
  changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  reason     text NOT NULL CHECK (pg_catalog.btrim(reason) <> '')
);
COMMENT ON TABLE crimesnap.context_policy IS
  'Whether a force publishes context at all. A force with no row publishes none (the default). Set with crimesnap.set_context_publication().';
COMMENT ON COLUMN crimesnap.context_policy.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.context_policy.publish IS 'true: approved texts are published; false: no context is.';
COMMENT ON COLUMN crimesnap.context_policy.changed_by IS 'Who set it last (the session user).';
COMMENT ON COLUMN crimesnap.context_policy.changed_at IS 'When.';
COMMENT ON COLUMN crimesnap.context_policy.reason IS 'Why, as given.';

CREATE TABLE crimesnap.context_text (
  context_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  force_id    text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  text        text NOT NULL CHECK (text = crimesnap.normalise_context(text)),
  status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
  finding     text,
  first_batch integer REFERENCES crimesnap.batch,
  first_seen  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  decided_by  name,
  decided_at  timestamptz,
  override_reason text,
  UNIQUE (force_id, text),
  CHECK ((status = 'pending') = (decided_at IS NULL) AND (decided_at IS NULL) = (decided_by IS NULL))
);
COMMENT ON TABLE crimesnap.context_text IS
  'Every distinct context text (normalised) a force has uploaded, with the force''s decision on it: pending until a person of the force approves or rejects it; an approved text is reused in later months without asking again, until revoked. Raw: a pending or rejected text may hold personal data.';
COMMENT ON COLUMN crimesnap.context_text.context_id IS 'Id, quoted to approve, reject or revoke.';
COMMENT ON COLUMN crimesnap.context_text.force_id IS 'The force; only its own people decide on it.';
COMMENT ON COLUMN crimesnap.context_text.text IS 'The text as crimesnap.normalise_context() gives it: exactly what would be published.';
COMMENT ON COLUMN crimesnap.context_text.status IS 'pending, approved (published while the force publishes context), rejected, or revoked (was approved; withdrawn from everything published).';
COMMENT ON COLUMN crimesnap.context_text.finding IS 'What crimesnap.screen_context() found in it when first seen, or NULL.';
COMMENT ON COLUMN crimesnap.context_text.first_batch IS 'The batch that first carried it.';
COMMENT ON COLUMN crimesnap.context_text.first_seen IS 'When it was first seen.';
COMMENT ON COLUMN crimesnap.context_text.decided_by IS 'Who made the current decision (the session user).';
COMMENT ON COLUMN crimesnap.context_text.decided_at IS 'When.';
COMMENT ON COLUMN crimesnap.context_text.override_reason IS 'For a text the screen flags, why it was approved all the same. Required to approve one.';

CREATE TABLE crimesnap.context_decision (
  decision_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  context_id  bigint REFERENCES crimesnap.context_text,
  force_id    text NOT NULL,
  action      text NOT NULL CHECK (action IN ('approve', 'reject', 'revoke', 'publish-on', 'publish-off')),
  reason      text,
  override_reason text,
  finding     text,
  withdrawn   integer NOT NULL DEFAULT 0,
  decided_by  name NOT NULL DEFAULT SESSION_USER,
  acting_role name NOT NULL DEFAULT crimesnap.context_caller(),
  decided_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  CHECK ((context_id IS NULL) = (action IN ('publish-on', 'publish-off')))
);
CREATE INDEX ON crimesnap.context_decision (context_id);
CREATE INDEX ON crimesnap.context_decision (force_id, decided_at);
COMMENT ON TABLE crimesnap.context_decision IS
  'The audit trail of context review: every approval, rejection and revocation of a text, and every change of a force''s policy, with who, when and why.';
COMMENT ON COLUMN crimesnap.context_decision.decision_id IS 'Entry id.';
COMMENT ON COLUMN crimesnap.context_decision.context_id IS 'The text decided on; NULL for a policy change.';
COMMENT ON COLUMN crimesnap.context_decision.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.context_decision.action IS 'approve, reject, revoke, publish-on or publish-off.';
COMMENT ON COLUMN crimesnap.context_decision.reason IS 'Why, as given.';
COMMENT ON COLUMN crimesnap.context_decision.override_reason IS 'For an approval of a flagged text, why the screen''s finding was overridden.';
COMMENT ON COLUMN crimesnap.context_decision.finding IS 'What the screen found in the text at the time of the decision.';
COMMENT ON COLUMN crimesnap.context_decision.withdrawn IS 'Published records whose context the decision removed (revocation, policy off).';
COMMENT ON COLUMN crimesnap.context_decision.decided_by IS 'The session user.';
COMMENT ON COLUMN crimesnap.context_decision.acting_role IS 'The role that called, as SET ROLE chose it.';
COMMENT ON COLUMN crimesnap.context_decision.decided_at IS 'When.';

CREATE VIEW crimesnap.context_review AS
SELECT t.context_id, t.force_id, t.text, t.status,
       crimesnap.screen_context(t.text) AS finding,
       t.finding AS finding_when_seen,
       u.records, u.first_month, u.last_month,
       coalesce(p.publish, false) AS force_publishes_context
  FROM crimesnap.context_text t
  LEFT JOIN crimesnap.context_policy p ON p.force_id = t.force_id
  LEFT JOIN LATERAL (
    SELECT pg_catalog.count(*) AS records,
           pg_catalog.to_char(pg_catalog.min(r.month), 'YYYY-MM') AS first_month,
           pg_catalog.to_char(pg_catalog.max(r.month), 'YYYY-MM') AS last_month
      FROM crimesnap.raw_crime r
     WHERE r.force_id = t.force_id AND r.superseded_by_batch IS NULL
       AND crimesnap.normalise_context(r.context) = t.text) u ON true
 WHERE t.status = 'pending';
COMMENT ON VIEW crimesnap.context_review IS
  'Context texts waiting for the force''s decision, with what the screen finds in them now: approve with crimesnap.approve_context(), reject with crimesnap.reject_context(). Their records are published without context meanwhile.';
COMMENT ON COLUMN crimesnap.context_review.context_id IS 'Id to quote.';
COMMENT ON COLUMN crimesnap.context_review.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.context_review.text IS 'The text exactly as it would be published.';
COMMENT ON COLUMN crimesnap.context_review.status IS 'Always pending here.';
COMMENT ON COLUMN crimesnap.context_review.finding IS 'The kind of personal data crimesnap.screen_context() finds in it now, or NULL; a flagged text needs an override reason to be approved.';
COMMENT ON COLUMN crimesnap.context_review.finding_when_seen IS 'What the screen found when the text was first loaded.';
COMMENT ON COLUMN crimesnap.context_review.records IS 'Live records that carry it.';
COMMENT ON COLUMN crimesnap.context_review.first_month IS 'Month of the first of them, YYYY-MM.';
COMMENT ON COLUMN crimesnap.context_review.last_month IS 'Month of the last of them, YYYY-MM.';
COMMENT ON COLUMN crimesnap.context_review.force_publishes_context IS 'Whether the force publishes context at all (crimesnap.context_policy).';

CREATE FUNCTION crimesnap.note_contexts(batch integer)
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
  WITH added AS (
    INSERT INTO crimesnap.context_text (force_id, text, finding, first_batch)
    SELECT DISTINCT r.force_id, crimesnap.normalise_context(r.context),
           crimesnap.screen_context(crimesnap.normalise_context(r.context)), r.batch_id
      FROM crimesnap.raw_crime r
     WHERE r.batch_id = $1 AND crimesnap.normalise_context(r.context) IS NOT NULL
    ON CONFLICT (force_id, text) DO NOTHING
    RETURNING 1)
  SELECT count(*)::integer FROM added
$fn$;

-- The one check that a caller may decide on a force's texts.  It stands alone so that the
-- force binding of docs/security.md replaces its body, not its callers.
CREATE FUNCTION crimesnap.check_context_reviewer(force text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF force IS NULL OR NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = check_context_reviewer.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', coalesce(force, 'NULL')
      USING ERRCODE = 'foreign_key_violation', HINT = 'See crimesnap.force.';
  END IF;
  IF NOT pg_catalog.pg_has_role(crimesnap.context_caller(), 'crimesnap_publisher', 'MEMBER') THEN
    RAISE EXCEPTION 'role "%" may not decide on the context of force %', crimesnap.context_caller(), force
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Context is approved by the force''s data controllers, members of crimesnap_publisher.';
  END IF;
END
$fn$;

CREATE FUNCTION crimesnap.apply_contexts(force text)
RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  n integer;
BEGIN
  -- What a published record shows is the approved text, and only while the force
  -- publishes context: anything else is withdrawn here, at once, from every output.
  UPDATE crimesnap.published_crime c
     SET context = x.text
    FROM crimesnap.raw_crime r
    LEFT JOIN LATERAL (
      SELECT t.text FROM crimesnap.context_text t
        JOIN crimesnap.context_policy p ON p.force_id = t.force_id AND p.publish
       WHERE t.force_id = r.force_id AND t.status = 'approved'
         AND t.text = crimesnap.normalise_context(r.context)) x ON true
   WHERE c.force_id = apply_contexts.force AND r.crime_id = c.crime_id
     AND c.context IS DISTINCT FROM x.text;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$fn$;

CREATE FUNCTION crimesnap.set_context_publication(force text, publish boolean, reason text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  n integer;
BEGIN
  PERFORM crimesnap.check_context_reviewer(force);
  IF publish IS NULL OR reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'publish and reason must not be NULL or empty' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Say whether the force publishes context, and why; it goes to crimesnap.context_decision.';
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(force));
  INSERT INTO crimesnap.context_policy AS p (force_id, publish, reason)
  VALUES (set_context_publication.force, set_context_publication.publish, set_context_publication.reason)
  ON CONFLICT (force_id) DO UPDATE
    SET publish = EXCLUDED.publish, reason = EXCLUDED.reason, changed_by = SESSION_USER, changed_at = pg_catalog.now();
  n := crimesnap.apply_contexts(force);
  INSERT INTO crimesnap.context_decision (force_id, action, reason, withdrawn)
  VALUES (force, CASE WHEN publish THEN 'publish-on' ELSE 'publish-off' END, reason,
          CASE WHEN publish THEN 0 ELSE n END);
  RETURN n;
END
$fn$;

CREATE FUNCTION crimesnap.decide_context(context_id bigint, action text, reason text, override_reason text)
RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  t crimesnap.context_text;
  found_kind text;
  n integer;
BEGIN
  SELECT x.* INTO t FROM crimesnap.context_text x WHERE x.context_id = decide_context.context_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'context text % does not exist', coalesce(decide_context.context_id::text, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'See crimesnap.context_review for the texts waiting for a decision.';
  END IF;
  PERFORM crimesnap.check_context_reviewer(t.force_id);
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(t.force_id));
  SELECT x.* INTO t FROM crimesnap.context_text x WHERE x.context_id = decide_context.context_id FOR UPDATE;
  found_kind := crimesnap.screen_context(t.text);
  IF action = 'approve' THEN
    IF t.status = 'approved' THEN
      RAISE EXCEPTION 'context text % is already approved', t.context_id
        USING ERRCODE = 'duplicate_object', HINT = 'An approved text is reused every month; nothing to do.';
    END IF;
    IF found_kind IS NOT NULL AND (override_reason IS NULL OR btrim(override_reason) = '') THEN
      RAISE EXCEPTION 'context text % looks like it holds a %', t.context_id, found_kind
        USING ERRCODE = 'check_violation',
              DETAIL = 'The screen flags it, so it may only be approved with an explicit override reason.',
              HINT = 'Reject it with crimesnap.reject_context(), or, if it holds nothing personal, approve it with override_reason saying why.';
    END IF;
  ELSIF action = 'reject' THEN
    IF t.status = 'approved' THEN
      RAISE EXCEPTION 'context text % is approved; revoke it instead', t.context_id
        USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Use crimesnap.revoke_context(context_id, reason).';
    ELSIF t.status IN ('rejected', 'revoked') THEN
      RAISE EXCEPTION 'context text % is already %', t.context_id, t.status
        USING ERRCODE = 'duplicate_object', HINT = 'It is not published; nothing to do.';
    END IF;
  ELSIF action = 'revoke' THEN
    IF t.status <> 'approved' THEN
      RAISE EXCEPTION 'context text % is %, not approved', t.context_id, t.status
        USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only an approved text can be revoked; reject a pending one.';
    END IF;
  END IF;
  IF action <> 'approve' AND (reason IS NULL OR btrim(reason) = '') THEN
    RAISE EXCEPTION 'to % a context text needs a reason', action USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Say why; it goes to crimesnap.context_decision.';
  END IF;
  UPDATE crimesnap.context_text x
     SET status = CASE action WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected' ELSE 'revoked' END,
         decided_by = SESSION_USER, decided_at = pg_catalog.now(),
         override_reason = CASE WHEN action = 'approve' AND found_kind IS NOT NULL THEN decide_context.override_reason END
   WHERE x.context_id = t.context_id;
  n := crimesnap.apply_contexts(t.force_id);
  INSERT INTO crimesnap.context_decision (context_id, force_id, action, reason, override_reason, finding, withdrawn)
  VALUES (t.context_id, t.force_id, action, reason,
          CASE WHEN action = 'approve' AND found_kind IS NOT NULL THEN override_reason END, found_kind,
          CASE WHEN action = 'approve' THEN 0 ELSE n END);
  RETURN n;
END
$fn$;

CREATE FUNCTION crimesnap.approve_context(context_id bigint, reason text DEFAULT NULL, override_reason text DEFAULT NULL)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.decide_context($1, 'approve', $2, $3)
$fn$;

CREATE FUNCTION crimesnap.reject_context(context_id bigint, reason text)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.decide_context($1, 'reject', $2, NULL)
$fn$;

CREATE FUNCTION crimesnap.revoke_context(context_id bigint, reason text)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.decide_context($1, 'revoke', $2, NULL)
$fn$;

CREATE FUNCTION crimesnap.remap_outcomes(force text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  n integer;
BEGIN
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = remap_outcomes.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', coalesce(force, 'NULL')
      USING ERRCODE = 'foreign_key_violation', HINT = 'See crimesnap.force.';
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(force));
  UPDATE crimesnap.outcome_history h
     SET slug = m.slug, mapped = true
    FROM (SELECT x.crime_ref, x.month, crimesnap.map_outcome(x.force_id, x.as_supplied) AS slug
            FROM crimesnap.outcome_history x
           WHERE x.force_id = remap_outcomes.force AND NOT x.mapped) m
   WHERE h.force_id = remap_outcomes.force AND h.crime_ref = m.crime_ref AND h.month = m.month
     AND m.slug IS NOT NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM crimesnap.refresh_published_outcomes(force);
  RETURN n;
END
$fn$;

-- ---- section 40: loading ----
UPDATE crimesnap.reject_reason SET description = 'the context looked like it held personal data (crimesnap 0.1.0; since 0.2.0 such a row loads and its context waits for review)', fix = 'Remove postcodes, house numbers with street names, phone numbers, email addresses and vehicle registrations from the context.' WHERE reason_code = 'personal_data_in_context';
UPDATE crimesnap.reject_reason SET description = 'the outcome looked like it held personal data (crimesnap 0.1.0; since 0.2.0 an outcome is published only as a police.uk outcome category)', fix = 'Give the outcome as a police.uk outcome category, or map the force''s own outcome in crimesnap.outcome_code.' WHERE reason_code = 'personal_data_in_outcome';
COMMENT ON COLUMN crimesnap.crime_upload.outcome IS 'Latest outcome: a police.uk outcome category (name or code) or the force''s own code or text mapped in crimesnap.outcome_code. Published only as a police.uk category.';
COMMENT ON COLUMN crimesnap.crime_upload.context IS 'Free-text context. Published only once the force approved that exact text (crimesnap.context_review), and only if the force publishes context.';
COMMENT ON COLUMN crimesnap.raw_crime.outcome IS 'Outcome as uploaded with this version of the record; crimesnap.outcome_history holds what is published.';
COMMENT ON COLUMN crimesnap.raw_crime.context IS 'Context as uploaded (trimmed). Published only as an approved crimesnap.context_text.';

-- ---- section 50: publication ----
COMMENT ON COLUMN crimesnap.published_crime.outcome IS 'Last outcome: a police.uk outcome category (slug), the record''s outcome as of the newest month its force has published; NULL for none.';
COMMENT ON COLUMN crimesnap.published_crime.context IS 'Context: a text of crimesnap.context_text the force approved, while it publishes context; NULL otherwise.';
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

  -- A crime is snapped inside its own neighbourhood, and so its own force.
  RETURN QUERY
  SELECT c.force_id, c.month, 'snapped across a neighbourhood boundary'::text, c.id,
         pg_catalog.format('record in %s published at snap point %s of %s', r.neighbourhood_id, p.point_id, p.neighbourhood_id)
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND r.neighbourhood_id IS DISTINCT FROM p.neighbourhood_id;

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
              ELSE 'published id is not the keyed hash of the record''s force and reference' END
    FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    CROSS JOIN LATERAL (
      SELECT x.slug FROM crimesnap.offence_code x
       WHERE x.offence_code = r.offence_code AND (x.force_id IS NULL OR x.force_id = r.force_id)
       ORDER BY x.force_id NULLS LAST LIMIT 1) o
   WHERE (f IS NULL OR c.force_id = f) AND (m IS NULL OR c.month = m)
     AND CASE WHEN o.slug = 'anti-social-behaviour' THEN c.persistent_id IS NOT NULL
              ELSE c.persistent_id IS DISTINCT FROM crimesnap.persistent_id(r.force_id, r.crime_ref) END;

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

-- ---- section 60: the web contract ----
CREATE OR REPLACE VIEW crimesnap.published_street_crime AS
SELECT c.id,
       c.persistent_id,
       pg_catalog.to_char(c.month, 'YYYY-MM') AS month,
       c.category,
       cat.name AS category_name,
       c.force_id AS force,
       f.name AS force_name,
       p.neighbourhood_id,
       p.point_id AS street_id,
       'On or near ' || p.label AS street_name,
       p.latitude,
       p.longitude,
       p.lsoa_code,
       p.lsoa_name,
       oc.name AS outcome_status,
       c.context,
       p.geom,
       ST_SetSRID(ST_MakePoint(p.longitude, p.latitude), 4326)::geometry(Point, 4326) AS geom_wgs84
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
  JOIN crimesnap.force f ON f.force_id = c.force_id
  JOIN crimesnap.category cat ON cat.scheme = pub.category_scheme AND cat.slug = c.category
  LEFT JOIN crimesnap.outcome_category oc ON oc.slug = c.outcome
 WHERE pub.status = 'street-level';
COMMENT ON VIEW crimesnap.published_street_crime IS
  'Internal: the street-level crimes and ASB on the map, at their snap points. crimesnap_api.street_crime shows it to the web; SECURITY DEFINER API functions search it.';
COMMENT ON COLUMN crimesnap.published_street_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap.published_street_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_street_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap.published_street_crime.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap.published_street_crime.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap.published_street_crime.force IS 'force_id.';
COMMENT ON COLUMN crimesnap.published_street_crime.force_name IS 'Force name.';
COMMENT ON COLUMN crimesnap.published_street_crime.neighbourhood_id IS 'Neighbourhood of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.street_id IS 'Snap point id.';
COMMENT ON COLUMN crimesnap.published_street_crime.street_name IS '"On or near <street or place class>".';
COMMENT ON COLUMN crimesnap.published_street_crime.latitude IS 'WGS84 latitude of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.longitude IS 'WGS84 longitude of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.lsoa_code IS 'LSOA of the snap point.';
COMMENT ON COLUMN crimesnap.published_street_crime.lsoa_name IS 'Name of that LSOA.';
COMMENT ON COLUMN crimesnap.published_street_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category.';
COMMENT ON COLUMN crimesnap.published_street_crime.context IS 'Context the force approved for publication, or NULL.';
COMMENT ON COLUMN crimesnap.published_street_crime.geom IS 'The snap point, EPSG:27700.';
COMMENT ON COLUMN crimesnap.published_street_crime.geom_wgs84 IS 'The snap point in WGS84 (EPSG:4326).';

CREATE OR REPLACE VIEW crimesnap.published_no_location_crime AS
SELECT c.id,
       c.persistent_id,
       pg_catalog.to_char(c.month, 'YYYY-MM') AS month,
       c.category,
       cat.name AS category_name,
       c.force_id AS force,
       f.name AS force_name,
       oc.name AS outcome_status,
       c.context
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.force f ON f.force_id = c.force_id
  JOIN crimesnap.category cat ON cat.scheme = pub.category_scheme AND cat.slug = c.category
  LEFT JOIN crimesnap.outcome_category oc ON oc.slug = c.outcome
 WHERE pub.status = 'street-level' AND c.point_id IS NULL;
COMMENT ON VIEW crimesnap.published_no_location_crime IS
  'Internal: the crimes and ASB of the months on the map published without a location.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.persistent_id IS '64 hex characters; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.month IS 'YYYY-MM.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.category IS 'Category slug.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.category_name IS 'Category name.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.force IS 'force_id.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.force_name IS 'Force name.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category.';
COMMENT ON COLUMN crimesnap.published_no_location_crime.context IS 'Context the force approved for publication, or NULL.';

COMMENT ON COLUMN crimesnap_api.street_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category (crimesnap_api.outcome_category), never the force''s own words.';
COMMENT ON COLUMN crimesnap_api.street_crime.context IS 'Context the force approved for publication, or NULL.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.outcome_status IS 'Last outcome: the name of a police.uk outcome category (crimesnap_api.outcome_category), never the force''s own words.';
COMMENT ON COLUMN crimesnap_api.no_location_crime.context IS 'Context the force approved for publication, or NULL.';

-- ---- section 67 ----
CREATE VIEW crimesnap_api.outcome_category AS
SELECT o.slug AS code, o.name FROM crimesnap.outcome_category o;
COMMENT ON VIEW crimesnap_api.outcome_category IS 'police.uk''s outcome categories: every outcome published is one of these.';
COMMENT ON COLUMN crimesnap_api.outcome_category.code IS 'Code as police.uk''s JSON gives it, for example under-investigation.';
COMMENT ON COLUMN crimesnap_api.outcome_category.name IS 'Name as police.uk''s CSVs give it, for example Under investigation.';

CREATE VIEW crimesnap.published_outcome AS
SELECT c.id, c.persistent_id, c.force_id AS force, pg_catalog.to_char(h.month, 'YYYY-MM') AS date,
       h.slug AS code, o.name
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
  JOIN crimesnap.outcome_history h ON h.force_id = r.force_id AND h.crime_ref = r.crime_ref
  JOIN crimesnap.outcome_category o ON o.slug = h.slug
 WHERE pub.status = 'street-level'
   AND h.month <= (SELECT pg_catalog.max(p.month) FROM crimesnap.publication p WHERE p.force_id = c.force_id);
COMMENT ON VIEW crimesnap.published_outcome IS
  'Internal: the outcome history of every record on the map, as far as its force has published. crimesnap_api.crime_outcome shows it to the web.';
COMMENT ON COLUMN crimesnap.published_outcome.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap.published_outcome.persistent_id IS 'Persistent id; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_outcome.force IS 'force_id.';
COMMENT ON COLUMN crimesnap.published_outcome.date IS 'Month the outcome took effect, YYYY-MM.';
COMMENT ON COLUMN crimesnap.published_outcome.code IS 'Outcome category code.';
COMMENT ON COLUMN crimesnap.published_outcome.name IS 'Outcome category name.';

CREATE VIEW crimesnap_api.crime_outcome WITH (security_barrier) AS
SELECT * FROM crimesnap.published_outcome;
COMMENT ON VIEW crimesnap_api.crime_outcome IS
  'Each record on the map with its outcomes, oldest first by date, each a police.uk outcome category with the month it took effect (police.uk''s outcomes-for-crime). The newest is the record''s outcome_status.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.persistent_id IS 'Persistent id; NULL for ASB, which police.uk gives no outcomes for.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.force IS 'force_id.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.date IS 'Month the outcome took effect, YYYY-MM.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.code IS 'Outcome category code, for example under-investigation.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.name IS 'Outcome category name, for example Under investigation.';

GRANT SELECT ON crimesnap_api.outcome_category, crimesnap_api.crime_outcome
  TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;

-- ---- data: history, contexts, published outcomes and contexts ----
DO $migrate$
DECLARE
  b record;
  f record;
BEGIN
  FOR b IN SELECT x.batch_id FROM crimesnap.batch x ORDER BY x.month, x.batch_id LOOP
    PERFORM crimesnap.record_outcomes(b.batch_id,
              (SELECT pg_catalog.array_agg(r.crime_ref ORDER BY r.crime_id) FROM crimesnap.raw_crime r WHERE r.batch_id = b.batch_id),
              (SELECT pg_catalog.array_agg(r.outcome ORDER BY r.crime_id) FROM crimesnap.raw_crime r WHERE r.batch_id = b.batch_id));
    PERFORM crimesnap.note_contexts(b.batch_id);
  END LOOP;
  FOR f IN SELECT DISTINCT p.force_id FROM crimesnap.publication p ORDER BY 1 LOOP
    PERFORM crimesnap.refresh_published_outcomes(f.force_id);
    PERFORM crimesnap.apply_contexts(f.force_id);
  END LOOP;
  -- What no history explains (a record published with an outcome no batch carried) stands
  -- as police.uk's "Status update unavailable", never as the force's words.
  UPDATE crimesnap.published_crime c SET outcome = 'status-update-unavailable'
   WHERE c.outcome IS NOT NULL AND NOT EXISTS (SELECT FROM crimesnap.outcome_category o WHERE o.slug = c.outcome);
END
$migrate$;
ALTER TABLE crimesnap.published_crime
  ADD CONSTRAINT published_crime_outcome_fkey FOREIGN KEY (outcome) REFERENCES crimesnap.outcome_category;

-- ---- privileges ----
REVOKE ALL ON crimesnap.outcome_category, crimesnap.outcome_code, crimesnap.outcome_history,
              crimesnap.unmapped_outcome, crimesnap.context_policy, crimesnap.context_text,
              crimesnap.context_decision, crimesnap.context_review, crimesnap.published_outcome,
              crimesnap_api.outcome_category, crimesnap_api.crime_outcome FROM PUBLIC;
REVOKE ALL ON FUNCTION crimesnap.outcome_key, crimesnap.map_outcome, crimesnap.record_outcomes, crimesnap.outcome_as_of, crimesnap.outcome_horizon, crimesnap.refresh_published_outcomes, crimesnap.normalise_context, crimesnap.context_caller, crimesnap.note_contexts, crimesnap.check_context_reviewer, crimesnap.apply_contexts, crimesnap.set_context_publication, crimesnap.decide_context, crimesnap.approve_context, crimesnap.reject_context, crimesnap.revoke_context, crimesnap.remap_outcomes FROM PUBLIC;
GRANT SELECT ON crimesnap.outcome_category, crimesnap.outcome_code, crimesnap.outcome_history,
                crimesnap.unmapped_outcome, crimesnap.context_policy, crimesnap.context_text,
                crimesnap.context_decision, crimesnap.context_review, crimesnap.published_outcome
  TO crimesnap_publisher;
-- Free text (section 45): the vocabulary is public reference data; a force's DBA maps its
-- outcomes; its data controllers review its context texts.
GRANT SELECT ON crimesnap.outcome_category TO crimesnap_analyst, crimesnap_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.outcome_code TO crimesnap_loader;
GRANT SELECT ON crimesnap.unmapped_outcome TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.outcome_key(text),
                          crimesnap.map_outcome(text, text),
                          crimesnap.normalise_context(text),
                          crimesnap.remap_outcomes(text)
  TO crimesnap_loader, crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.set_context_publication(text, boolean, text),
                          crimesnap.approve_context(bigint, text, text),
                          crimesnap.reject_context(bigint, text),
                          crimesnap.revoke_context(bigint, text)
  TO crimesnap_publisher;

-- ---- backups (section 95, as 80-ops.sql does for the tables before this fragment) ----
-- outcome_category and outcome_code are seeded: pg_dump keeps only the rows that are not
-- (a force's own outcome mappings).  Every other new table and sequence is kept whole.
DO $seeded$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['outcome_category', 'outcome_code']
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE crimesnap.%I ADD COLUMN seeded boolean NOT NULL DEFAULT false', t);
    EXECUTE pg_catalog.format('UPDATE crimesnap.%I SET seeded = true', t);
    EXECUTE pg_catalog.format('COMMENT ON COLUMN crimesnap.%I.seeded IS %L', t,
      'Whether crimesnap''s install or upgrade script wrote the row. pg_dump keeps only rows that are not seeded; seeded rows cannot be changed or deleted.');
    EXECUTE pg_catalog.format('CREATE TRIGGER seed_guard BEFORE INSERT OR UPDATE OR DELETE ON crimesnap.%I FOR EACH ROW EXECUTE FUNCTION crimesnap.seed_guard()', t);
    EXECUTE pg_catalog.format('COMMENT ON TRIGGER seed_guard ON crimesnap.%I IS %L', t,
      'Tells seeded rows from the DBA''s own, and keeps seeded rows as the scripts wrote them.');
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('crimesnap.%I', t)::regclass, 'WHERE NOT seeded');
  END LOOP;
  FOREACH t IN ARRAY ARRAY['outcome_history', 'context_policy', 'context_text', 'context_decision',
                           'context_text_context_id_seq', 'context_decision_decision_id_seq']
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('crimesnap.%I', t)::regclass, '');
  END LOOP;
END
$seeded$;
