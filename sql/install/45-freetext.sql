-- Section 45: free text.  Outcomes come from police.uk's vocabulary; context is published
-- only once a person of the force approved that exact text.  C: src/screen.c.  Tests:
-- test/pgtap/outcomes.sql, test/pgtap/context_review.sql, test/pgtap/screen.sql.
-- Reference: docs/loading.md.  Guide: docs/force-dba-guide.md.
--
-- Neither field is ever published as the force wrote it.  An outcome is published as one of
-- police.uk's outcome categories, found through a mapping; a context is published only as a
-- text the force approved, and the screen (crimesnap.screen_context) only helps the reviewer.

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
COMMENT ON FUNCTION crimesnap.outcome_key(text) IS
  'Matching key of an outcome as a force writes it: lower case, runs of white space as one space, trimmed; NULL when nothing is left.';

CREATE TABLE crimesnap.outcome_code (
  force_id     text REFERENCES crimesnap.force ON DELETE CASCADE,
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
COMMENT ON FUNCTION crimesnap.map_outcome(text, text) IS
  'The police.uk outcome category a force''s outcome maps to (its own entry first, then police.uk''s names and codes), or NULL when it maps to nothing.';

-- ---- each record's outcome history ----

CREATE TABLE crimesnap.outcome_history (
  force_id    text NOT NULL REFERENCES crimesnap.force,
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
COMMENT ON FUNCTION crimesnap.record_outcomes(integer, text[], text[]) IS
  'Internal: adds to crimesnap.outcome_history the outcomes a batch carries for the given references (pairwise arrays; the last one given for a reference wins), in the batch''s month, where they differ from the outcome in force. Called by register_batch() for the rows it loads and for rows that resend a record. Returns the rows written.';

CREATE FUNCTION crimesnap.outcome_as_of(force text, crime_ref text, horizon date)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT h.slug FROM crimesnap.outcome_history h
   WHERE h.force_id = $1 AND h.crime_ref = $2 AND h.month <= $3
   ORDER BY h.month DESC LIMIT 1
$fn$;
COMMENT ON FUNCTION crimesnap.outcome_as_of(text, text, date) IS
  'A record''s outcome (police.uk slug) in force at the end of a month: the newest of its outcome history up to that month, or NULL.';

CREATE FUNCTION crimesnap.outcome_horizon(force text)
RETURNS date
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  RETURN (SELECT pg_catalog.max(p.month) FROM crimesnap.publication p WHERE p.force_id = outcome_horizon.force);
END
$fn$;
COMMENT ON FUNCTION crimesnap.outcome_horizon(text) IS
  'The newest month a force has published: outcomes that took effect up to it are public, later ones wait for their month''s publication.';

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
COMMENT ON FUNCTION crimesnap.refresh_published_outcomes(text) IS
  'Internal: sets every street-level record of a force to its outcome as of the newest month the force has published, so that a resent record shows its new outcome once the month that carried it is published. In the caller''s transaction and under its lock. Returns the rows changed.';

CREATE VIEW crimesnap.unmapped_outcome AS
SELECT h.force_id, h.as_supplied, pg_catalog.count(*) AS records,
       pg_catalog.to_char(pg_catalog.min(h.month), 'YYYY-MM') AS first_month,
       pg_catalog.to_char(pg_catalog.max(h.month), 'YYYY-MM') AS last_month
  FROM crimesnap.outcome_history h
 WHERE NOT h.mapped AND crimesnap.acts_for(h.force_id)
 GROUP BY h.force_id, h.as_supplied;
COMMENT ON VIEW crimesnap.unmapped_outcome IS
  'Outcomes a force uploaded that map to no police.uk outcome category, for the forces the reader acts for: published as Status update unavailable until the force maps them in crimesnap.outcome_code and calls crimesnap.remap_outcomes().';
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
COMMENT ON FUNCTION crimesnap.normalise_context(text) IS
  'The form a context is reviewed and published in: Unicode NFC, every run of white space as one space, trimmed; NULL when nothing is left. Case and punctuation are kept: an approval is for that exact text.';

CREATE FUNCTION crimesnap.context_caller()
RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- SECURITY DEFINER changes CURRENT_USER to the owner, but not the role that SET ROLE chose.
  SELECT CASE WHEN pg_catalog.current_setting('role') = 'none' THEN SESSION_USER
              ELSE pg_catalog.current_setting('role')::name END
$fn$;
COMMENT ON FUNCTION crimesnap.context_caller() IS
  'Internal: the role that called, as SET ROLE chose it (the session user when none), also inside a SECURITY DEFINER function.';

-- Published contexts are found by the normalised text of the raw record.
CREATE INDEX raw_crime_context ON crimesnap.raw_crime (force_id, crimesnap.normalise_context(context))
  WHERE context IS NOT NULL;

CREATE TABLE crimesnap.context_policy (
  force_id   text PRIMARY KEY REFERENCES crimesnap.force ON DELETE CASCADE,
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
  force_id    text NOT NULL REFERENCES crimesnap.force,
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

CREATE VIEW crimesnap.context_review WITH (security_invoker) AS
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
  SELECT pg_catalog.count(*)::integer FROM added
$fn$;
COMMENT ON FUNCTION crimesnap.note_contexts(integer) IS
  'Internal: registers for review every context text of a batch''s records not seen before (pending, with the screen''s finding). Returns the new texts.';

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
  PERFORM crimesnap.assert_acts_for(force);
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_context_reviewer(text) IS
  'Internal: fails unless the caller may decide on the force''s context texts and policy. Every context review function calls it first.';

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
COMMENT ON FUNCTION crimesnap.apply_contexts(text) IS
  'Internal: brings the context of every published record of a force in line with the decisions: the approved text while the force publishes context, none otherwise. Returns the records changed.';

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
  IF publish IS NULL OR reason IS NULL OR pg_catalog.btrim(reason) = '' THEN
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
COMMENT ON FUNCTION crimesnap.set_context_publication(text, boolean, text) IS
  'Turns publication of context on or off for a force (off by default), with a reason for the audit trail. On: approved texts appear at once on the months on the map. Off: every context is withdrawn from everything published. Returns the records changed.';

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
    IF found_kind IS NOT NULL AND (override_reason IS NULL OR pg_catalog.btrim(override_reason) = '') THEN
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
  IF action <> 'approve' AND (reason IS NULL OR pg_catalog.btrim(reason) = '') THEN
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
COMMENT ON FUNCTION crimesnap.decide_context(bigint, text, text, text) IS
  'Internal: the one path of approve_context(), reject_context() and revoke_context(): checks the caller and the text''s state, records the decision and its audit entry, and applies it to everything published. Returns the published records changed.';

CREATE FUNCTION crimesnap.approve_context(context_id bigint, reason text DEFAULT NULL, override_reason text DEFAULT NULL)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.decide_context($1, 'approve', $2, $3)
$fn$;
COMMENT ON FUNCTION crimesnap.approve_context(bigint, text, text) IS
  'Approves a context text of the caller''s force for publication, once: it is reused in every later month. A text the screen flags needs override_reason. While the force publishes context, the text appears at once on the months on the map. Returns the records it now shows on.';

CREATE FUNCTION crimesnap.reject_context(context_id bigint, reason text)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.decide_context($1, 'reject', $2, NULL)
$fn$;
COMMENT ON FUNCTION crimesnap.reject_context(bigint, text) IS
  'Rejects a pending context text, with a reason: it is never published, and its records stay published without context.';

CREATE FUNCTION crimesnap.revoke_context(context_id bigint, reason text)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT crimesnap.decide_context($1, 'revoke', $2, NULL)
$fn$;
COMMENT ON FUNCTION crimesnap.revoke_context(bigint, text) IS
  'Revokes an approval, with a reason: the text is withdrawn at once from everything published and from later publications. Returns the records it was withdrawn from.';

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
COMMENT ON FUNCTION crimesnap.remap_outcomes(text) IS
  'After a force has added mappings to crimesnap.outcome_code: maps its outcome history rows that mapped to nothing before, and updates what is published. Returns the history rows now mapped.';
