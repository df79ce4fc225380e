-- security (issue 9): force binding, crimesnap_admin, row-level security, force ids that
-- cannot change once used, exact argument types against impostor overloads, and bad rows
-- and arguments that get rejects and clear errors.  Every object below is as
-- sql/install/ now defines it.

SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

-- ---- crimesnap_admin (section 00) ----
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crimesnap_admin') THEN
    CREATE ROLE crimesnap_admin NOLOGIN;
  END IF;
END
$roles$;
COMMENT ON ROLE crimesnap_admin IS 'National administrators: forces, boundaries, streets, addresses, places, national offence codes and categories, snap point builds, the id key, and which roles act for which force.';
COMMENT ON ROLE crimesnap_loader IS 'Force DBAs: load the monthly upload, register batches and manage the offence codes of the forces they act for.';
COMMENT ON ROLE crimesnap_publisher IS 'Force data controllers: publish, roll off, withdraw and reinstate the data of the forces they act for.';
GRANT USAGE ON SCHEMA crimesnap TO crimesnap_admin;

-- ---- force binding (section 15) ----

CREATE FUNCTION crimesnap.calling_role()
RETURNS regrole
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'crimesnap_calling_role';
COMMENT ON FUNCTION crimesnap.calling_role() IS
  'The role that is calling, as SET ROLE (or SET SESSION AUTHORIZATION, or the login) set it: current_user outside every SECURITY DEFINER function, and still that role inside one, where current_user is the owner.';

CREATE TABLE crimesnap.force_binding (
  role       regrole NOT NULL,
  force_id   text NOT NULL REFERENCES crimesnap.force ON DELETE CASCADE,
  granted_by name NOT NULL DEFAULT SESSION_USER,
  granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (role, force_id)
);
CREATE INDEX ON crimesnap.force_binding (force_id);
SELECT pg_catalog.pg_extension_config_dump('crimesnap.force_binding', '');
COMMENT ON TABLE crimesnap.force_binding IS
  'Which roles act for which forces: a role acts for a force when it, or a role it is a member of, is bound here. Changed only through crimesnap.grant_force() and crimesnap.revoke_force(). A binding grants no privilege by itself: the role still needs crimesnap_loader or crimesnap_publisher.';
COMMENT ON COLUMN crimesnap.force_binding.role IS 'The role bound (pg_dump writes it by name).';
COMMENT ON COLUMN crimesnap.force_binding.force_id IS 'The force it acts for.';
COMMENT ON COLUMN crimesnap.force_binding.granted_by IS 'Who bound it (the session user).';
COMMENT ON COLUMN crimesnap.force_binding.granted_at IS 'When.';

CREATE FUNCTION crimesnap.is_admin()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.pg_has_role(crimesnap.calling_role()::pg_catalog.oid, 'crimesnap_admin'::pg_catalog.name, 'MEMBER'::pg_catalog.text)
$fn$;
COMMENT ON FUNCTION crimesnap.is_admin() IS
  'Whether the calling role (crimesnap.calling_role()) is a superuser or a member of crimesnap_admin, which alone changes national configuration.';

CREATE FUNCTION crimesnap.assert_admin(action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF NOT crimesnap.is_admin() THEN
    RAISE EXCEPTION 'only crimesnap_admin may %', action
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('The calling role is %s.', crimesnap.calling_role()),
            HINT = 'National configuration (forces, boundaries, streets, addresses, places, national offence codes, categories, snap point builds, the id key) is changed by a member of crimesnap_admin.';
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap.assert_admin(text) IS
  'Raises insufficient_privilege, naming the action, unless the calling role is a superuser or a member of crimesnap_admin.';

CREATE FUNCTION crimesnap.acting_forces()
RETURNS text[]
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.array_agg(f.force_id ORDER BY f.force_id), '{}')
    FROM crimesnap.force f
   WHERE (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) crimesnap.calling_role()::pg_catalog.oid)
      OR EXISTS (SELECT FROM crimesnap.force_binding b
                   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) b.role::pg_catalog.oid
                  WHERE b.force_id OPERATOR(pg_catalog.=) f.force_id
                    AND pg_catalog.pg_has_role(crimesnap.calling_role()::pg_catalog.oid, b.role::pg_catalog.oid, 'MEMBER'::pg_catalog.text))
$fn$;
COMMENT ON FUNCTION crimesnap.acting_forces() IS
  'The forces the calling role acts for: those bound to it or to a role it is a member of (every force for a superuser). Row-level security policies filter on it.';

CREATE FUNCTION crimesnap.acts_for(force text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce($1 OPERATOR(pg_catalog.=) ANY (crimesnap.acting_forces()), false)
$fn$;
COMMENT ON FUNCTION crimesnap.acts_for(text) IS
  'Whether the calling role acts for a force: the boolean form of crimesnap.assert_acts_for(), for policies and conditions.';

CREATE FUNCTION crimesnap.assert_acts_for(force text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF force IS NULL THEN
    RAISE EXCEPTION 'force must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Name the force by its force_id; see crimesnap.force.';
  END IF;
  IF NOT crimesnap.acts_for(force) THEN
    RAISE EXCEPTION 'role % does not act for force "%"', crimesnap.calling_role(), force
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'A role acts for a force when it, or a role it is a member of, is bound to the force in crimesnap.force_binding; the role checked is the current role as SET ROLE sets it.',
            HINT = pg_catalog.format('A member of crimesnap_admin binds it with SELECT crimesnap.grant_force(%L, %L).',
                                     crimesnap.calling_role()::pg_catalog.text, force);
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap.assert_acts_for(text) IS
  'The one check every SECURITY DEFINER function acting on a force''s data makes first: raises insufficient_privilege, with a hint naming crimesnap.grant_force(), unless the calling role acts for the force.';

CREATE FUNCTION crimesnap.grant_force(role regrole, force text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  added boolean;
BEGIN
  PERFORM crimesnap.assert_admin('bind roles to forces');
  IF grant_force.role IS NULL OR grant_force.force IS NULL THEN
    RAISE EXCEPTION 'role and force must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF grant_force.role::pg_catalog.text IN ('crimesnap_web', 'crimesnap_analyst', 'crimesnap_loader',
                                          'crimesnap_publisher', 'crimesnap_admin') THEN
    RAISE EXCEPTION 'role % is one of crimesnap''s own roles, shared by every force', grant_force.role
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Bind the force''s own role, for example CREATE ROLE northshire_dba IN ROLE crimesnap_loader, crimesnap_publisher; then grant_force(''northshire_dba'', ''northshire'').';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = grant_force.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', grant_force.force
      USING ERRCODE = 'foreign_key_violation', HINT = 'Add it to crimesnap.force first, or use its force_id.';
  END IF;
  INSERT INTO crimesnap.force_binding (role, force_id) VALUES (grant_force.role, grant_force.force)
  ON CONFLICT DO NOTHING;
  added := FOUND;
  IF added THEN
    INSERT INTO crimesnap.audit_log (action, force_id, detail)
    VALUES ('grant-force', grant_force.force,
            pg_catalog.jsonb_build_object('role', grant_force.role::pg_catalog.text,
                                          'by', crimesnap.calling_role()::pg_catalog.text));
  END IF;
  RETURN added;
END
$fn$;
COMMENT ON FUNCTION crimesnap.grant_force(regrole, text) IS
  'Binds a role to a force, so that it and its members act for that force (crimesnap_admin or a superuser only). Grants no membership: the role still needs crimesnap_loader or crimesnap_publisher. Returns false when it was already bound.';

CREATE FUNCTION crimesnap.revoke_force(role regrole, force text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  removed boolean;
BEGIN
  PERFORM crimesnap.assert_admin('unbind roles from forces');
  DELETE FROM crimesnap.force_binding b
   WHERE b.role = revoke_force.role AND b.force_id = revoke_force.force;
  removed := FOUND;
  IF removed THEN
    INSERT INTO crimesnap.audit_log (action, force_id, detail)
    VALUES ('revoke-force', revoke_force.force,
            pg_catalog.jsonb_build_object('role', revoke_force.role::pg_catalog.text,
                                          'by', crimesnap.calling_role()::pg_catalog.text));
  END IF;
  RETURN removed;
END
$fn$;
COMMENT ON FUNCTION crimesnap.revoke_force(regrole, text) IS
  'Removes a role''s binding to a force (crimesnap_admin or a superuser only). Members that act for the force only through it stop at once. Returns false when there was none.';

-- ---- a force's id cannot change once records refer to it ----
ALTER TABLE crimesnap.neighbourhood DROP CONSTRAINT neighbourhood_force_id_fkey,
  ADD CONSTRAINT neighbourhood_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force;
ALTER TABLE crimesnap.snap_point DROP CONSTRAINT snap_point_neighbourhood_id_fkey,
  ADD CONSTRAINT snap_point_neighbourhood_id_fkey FOREIGN KEY (neighbourhood_id) REFERENCES crimesnap.neighbourhood;
ALTER TABLE crimesnap.force_snap_point DROP CONSTRAINT force_snap_point_force_id_fkey,
  ADD CONSTRAINT force_snap_point_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force ON DELETE CASCADE;
ALTER TABLE crimesnap.offence_code DROP CONSTRAINT offence_code_force_id_fkey,
  ADD CONSTRAINT offence_code_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force ON DELETE CASCADE;
ALTER TABLE crimesnap.batch DROP CONSTRAINT batch_force_id_fkey,
  ADD CONSTRAINT batch_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force;
ALTER TABLE crimesnap.raw_crime DROP CONSTRAINT raw_crime_force_id_fkey,
  ADD CONSTRAINT raw_crime_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force,
  DROP CONSTRAINT raw_crime_neighbourhood_id_fkey,
  ADD CONSTRAINT raw_crime_neighbourhood_id_fkey FOREIGN KEY (neighbourhood_id) REFERENCES crimesnap.neighbourhood;
ALTER TABLE crimesnap.publication DROP CONSTRAINT publication_force_id_fkey,
  ADD CONSTRAINT publication_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force;
ALTER TABLE crimesnap.published_crime DROP CONSTRAINT published_crime_force_id_month_fkey,
  ADD CONSTRAINT published_crime_force_id_month_fkey FOREIGN KEY (force_id, month) REFERENCES crimesnap.publication;
ALTER TABLE crimesnap.trend_member DROP CONSTRAINT trend_member_force_id_month_fkey,
  ADD CONSTRAINT trend_member_force_id_month_fkey FOREIGN KEY (force_id, month) REFERENCES crimesnap.publication;
ALTER TABLE crimesnap.outcome_code DROP CONSTRAINT outcome_code_force_id_fkey,
  ADD CONSTRAINT outcome_code_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force ON DELETE CASCADE;
ALTER TABLE crimesnap.outcome_history DROP CONSTRAINT outcome_history_force_id_fkey,
  ADD CONSTRAINT outcome_history_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force;
ALTER TABLE crimesnap.context_policy DROP CONSTRAINT context_policy_force_id_fkey,
  ADD CONSTRAINT context_policy_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force ON DELETE CASCADE;
ALTER TABLE crimesnap.context_text DROP CONSTRAINT context_text_force_id_fkey,
  ADD CONSTRAINT context_text_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force;
ALTER TABLE crimesnap.partner_extract_log DROP CONSTRAINT partner_extract_log_force_id_fkey,
  ADD CONSTRAINT partner_extract_log_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force;
ALTER TABLE crimesnap.partner_agreement DROP CONSTRAINT partner_agreement_force_id_fkey,
  ADD CONSTRAINT partner_agreement_force_id_fkey FOREIGN KEY (force_id) REFERENCES crimesnap.force ON DELETE CASCADE;

-- ---- force snap points (section 20) ----
CREATE OR REPLACE FUNCTION crimesnap.check_force_snap_point()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF NOT crimesnap.is_admin() THEN
    PERFORM crimesnap.assert_acts_for(NEW.force_id);
  END IF;
  RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_force_snap_point() IS
  'Trigger on crimesnap.force_snap_point: a role adds points only for the forces it acts for (crimesnap_admin for any).';

CREATE TRIGGER check_force_snap_point BEFORE INSERT OR UPDATE ON crimesnap.force_snap_point
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_force_snap_point();
COMMENT ON TRIGGER check_force_snap_point ON crimesnap.force_snap_point IS
  'A force adds points only in its own name.';

-- ---- loading (section 40) ----
CREATE OR REPLACE FUNCTION crimesnap.check_upload_forces()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  bad text;
BEGIN
  SELECT pg_catalog.string_agg(DISTINCT n.force, ', ') INTO bad
    FROM new_rows n
   WHERE EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id OPERATOR(pg_catalog.=) n.force)
     AND NOT n.force OPERATOR(pg_catalog.=) ANY (crimesnap.acting_forces());
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'role % does not act for force %, so it may not stage its records', crimesnap.calling_role(), bad
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Nothing of this statement was staged.',
            HINT = 'Load only the rows of the forces you act for (see crimesnap.acting_forces()); a member of crimesnap_admin binds roles to forces with crimesnap.grant_force().';
  END IF;
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_upload_forces() IS
  'Statement trigger on crimesnap.crime_upload: refuses the whole statement when a row names a force the calling role does not act for.';

CREATE TRIGGER check_upload_forces AFTER INSERT ON crimesnap.crime_upload
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.check_upload_forces();
COMMENT ON TRIGGER check_upload_forces ON crimesnap.crime_upload IS
  'Refuses staged rows of forces the loading role does not act for.';
CREATE VIEW crimesnap.staged_upload WITH (security_barrier) AS
SELECT u.upload_row, u.force, u.crime_ref, u.offence_code, u.committed_on, u.easting, u.northing,
       u.neighbourhood, u.outcome, u.context, u.loaded_by, u.loaded_at
  FROM crimesnap.crime_upload u
 WHERE u.force OPERATOR(pg_catalog.=) ANY (crimesnap.acting_forces())
    OR u.loaded_by OPERATOR(pg_catalog.=) CURRENT_USER;
COMMENT ON VIEW crimesnap.staged_upload IS
  'The staged rows of crimesnap.crime_upload the calling role may see and delete: those of the forces it acts for, and those it loaded itself.';
COMMENT ON COLUMN crimesnap.staged_upload.upload_row IS 'Row number in load order, quoted in rejects.';
COMMENT ON COLUMN crimesnap.staged_upload.force IS 'force_id of the force the record belongs to.';
COMMENT ON COLUMN crimesnap.staged_upload.crime_ref IS 'The force''s crime or incident reference number.';
COMMENT ON COLUMN crimesnap.staged_upload.offence_code IS 'Offence code as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.committed_on IS 'Date committed, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.easting IS 'Easting, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.northing IS 'Northing, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.neighbourhood IS 'neighbourhood_id, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.outcome IS 'Outcome, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.context IS 'Context, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.loaded_by IS 'The role that loaded the row.';
COMMENT ON COLUMN crimesnap.staged_upload.loaded_at IS 'When the row was loaded.';

ALTER VIEW crimesnap.outstanding_reject SET (security_invoker);
ALTER VIEW crimesnap.context_review SET (security_invoker);
INSERT INTO crimesnap.reject_reason VALUES
  ('reference_too_long', 'the reference number is longer than 100 characters', 'Give the force''s own reference number, as recorded on the crime record.');
COMMENT ON COLUMN crimesnap.reject.crime_ref IS 'The reference number as uploaded (trimmed), when there was one of at most 100 characters. A raw table: never published.';
COMMENT ON COLUMN crimesnap.reject.reason IS 'The reason, with the offending value (its first 100 characters; for personal data, only its kind).';
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
  SELECT u.*, loc.geom, loc.neighbourhood_id,
         CASE
           WHEN u.force IS DISTINCT FROM register_batch.force THEN 'unknown_force'
           WHEN u.ref IS NULL THEN 'missing_reference'
           WHEN pg_catalog.length(u.ref) > 100 THEN 'reference_too_long'
           WHEN u.dup > 1 THEN 'duplicate_reference'
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
         nullif(pg_catalog.btrim(c.outcome), ''), nullif(pg_catalog.btrim(c.context), '')
    FROM pg_temp.cs_checked c
   WHERE c.reason_code IS NULL
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_loaded = ROW_COUNT;

  -- Free text is never published as written: the outcome goes into the record's outcome
  -- history as a police.uk category, and a context text waits for the force's review.
  PERFORM crimesnap.record_outcomes(b.batch_id,
            (SELECT pg_catalog.array_agg(c.ref ORDER BY c.upload_row) FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL),
            (SELECT pg_catalog.array_agg(c.outcome ORDER BY c.upload_row) FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL));
  PERFORM crimesnap.note_contexts(b.batch_id);

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
  DROP TABLE pg_temp.cs_upload, pg_temp.cs_checked;
  RETURN b;
END
$fn$;
COMMENT ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text) IS
  'Validates the force''s rows in crimesnap.crime_upload into crimesnap.raw_crime and crimesnap.reject, records the batch''s metadata (CSP guidance 3.4), resolves earlier rejects the batch corrects, and fails, keeping nothing, unless loaded + rejected = records_supplied.';

CREATE OR REPLACE FUNCTION crimesnap.check_offence_code_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.force_id IS NULL THEN
      PERFORM crimesnap.assert_admin('change national offence codes');
    ELSIF NOT crimesnap.is_admin() THEN
      PERFORM crimesnap.assert_acts_for(OLD.force_id);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.force_id IS NULL THEN
      PERFORM crimesnap.assert_admin('change national offence codes');
    ELSIF NOT crimesnap.is_admin() THEN
      PERFORM crimesnap.assert_acts_for(NEW.force_id);
    END IF;
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_offence_code_change() IS
  'Trigger on crimesnap.offence_code: national codes (force_id NULL) change only by crimesnap_admin; a force''s own codes by the roles that act for it (or crimesnap_admin).';

CREATE TRIGGER check_offence_code_change BEFORE INSERT OR UPDATE OR DELETE ON crimesnap.offence_code
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_offence_code_change();
COMMENT ON TRIGGER check_offence_code_change ON crimesnap.offence_code IS
  'National codes are crimesnap_admin''s; a force''s own codes are its own.';

-- ---- publication (section 50) ----
ALTER TABLE crimesnap.audit_log DROP CONSTRAINT audit_log_action_check,
  ADD CONSTRAINT audit_log_action_check CHECK (action IN ('publish', 'roll-off', 'withdraw', 'reinstate', 'rotate-key',
                                                          'grant-force', 'revoke-force'));
COMMENT ON COLUMN crimesnap.audit_log.action IS 'publish, roll-off, withdraw, reinstate, rotate-key, grant-force or revoke-force.';

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
              ELSE c.persistent_id IS DISTINCT FROM crimesnap.persistent_id_with_key(id_key, r.force_id, r.crime_ref) END;

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
  'Proves the publication rules on the data as it is now, for a force and month (default: all): location labels, LSOAs, neighbourhoods, outcomes from the vocabulary and as recorded, context only as approved, persistent ids, withdrawals, every record accounted for, totals, trend cells, timing. One row per violation, none when clean.';

CREATE OR REPLACE FUNCTION crimesnap.withdraw(persistent_id text, reason text)
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
  -- ...and from the trend, when its month has rolled off: exactly the cell it counted in.
  FOR g IN DELETE FROM crimesnap.trend_member t
             USING crimesnap.raw_crime r
            WHERE r.crime_id = t.crime_id AND r.persistent_id = withdraw.persistent_id
        RETURNING t.*
  LOOP
    DELETE FROM crimesnap.trend x
     WHERE x.force_id = g.force_id AND x.month = g.month AND x.category = g.category
       AND x.neighbourhood_id IS NOT DISTINCT FROM g.neighbourhood_id
       AND x.lsoa_code IS NOT DISTINCT FROM g.lsoa_code AND x.crimes = 1;
    UPDATE crimesnap.trend x SET crimes = x.crimes - 1
     WHERE x.force_id = g.force_id AND x.month = g.month AND x.category = g.category
       AND x.neighbourhood_id IS NOT DISTINCT FROM g.neighbourhood_id
       AND x.lsoa_code IS NOT DISTINCT FROM g.lsoa_code;
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

-- ---- exact argument types and pg_catalog-qualified calls (every section) ----
-- Every function whose body changed for docs/security.md's rule on calls, as it now stands.
CREATE OR REPLACE FUNCTION crimesnap.normalise_input_geometry()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  want text := TG_ARGV[0];      -- 'POINT', 'LINE' or 'POLYGON'
  g geometry := NEW.geom;
  kind text;
BEGIN
  IF g IS NULL THEN
    RETURN NEW;                 -- the column's NOT NULL constraint speaks for itself
  END IF;
  IF ST_IsEmpty(g) THEN
    RAISE EXCEPTION 'empty geometry in %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'data_exception',
            HINT = 'Leave out rows without a location; raw crimes without one go in with no easting and northing.';
  END IF;
  IF ST_SRID(g) = 0 THEN
    IF ST_XMin(g) < -100000::float8 OR ST_XMax(g) > 800000::float8
       OR ST_YMin(g) < -100000::float8 OR ST_YMax(g) > 1400000::float8
       OR (ST_XMax(g) BETWEEN -180::float8 AND 180::float8 AND ST_YMax(g) BETWEEN -90::float8 AND 90::float8) THEN
      RAISE EXCEPTION 'geometry in %.% has no SRID and does not look like British National Grid',
                      TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = pg_catalog.format('Its extent is %s.', ST_AsText(Box2D(g))),
              HINT = 'Load EWKT with its SRID, for example ''SRID=4326;POINT(-0.13 51.52)'' for longitude and latitude.';
    END IF;
    g := ST_SetSRID(g, 27700);
  ELSIF ST_SRID(g) <> 27700 THEN
    g := ST_Transform(g, 27700);
  END IF;

  kind := GeometryType(g);
  IF want = 'POINT' AND kind <> 'POINT' THEN
    RAISE EXCEPTION '%.% needs a point, not a %', TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.lower(kind)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Reduce buildings to a point first, for example with ST_PointOnSurface(geom).';
  ELSIF want = 'LINE' AND kind NOT IN ('LINESTRING', 'MULTILINESTRING') THEN
    RAISE EXCEPTION '%.% needs a linestring, not a %', TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.lower(kind)
      USING ERRCODE = 'invalid_parameter_value';
  ELSIF want = 'POLYGON' THEN
    IF kind NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
      RAISE EXCEPTION '%.% needs a polygon, not a %', TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.lower(kind)
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT ST_IsValid(g) THEN
      RAISE EXCEPTION 'invalid polygon in %.%: %', TG_TABLE_SCHEMA, TG_TABLE_NAME,
                      ST_IsValidReason(g)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Repair it before loading, for example with ST_MakeValid(geom).';
    END IF;
    g := ST_Multi(g);
  END IF;
  NEW.geom := g;
  RETURN NEW;
END
$fn$;

CREATE OR REPLACE FUNCTION crimesnap.outcome_horizon(force text)
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

CREATE OR REPLACE FUNCTION crimesnap.note_contexts(batch integer)
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

CREATE OR REPLACE FUNCTION crimesnap.check_context_reviewer(force text)
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

CREATE OR REPLACE FUNCTION crimesnap.set_context_publication(force text, publish boolean, reason text)
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

CREATE OR REPLACE FUNCTION crimesnap.decide_context(context_id bigint, action text, reason text, override_reason text)
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

CREATE OR REPLACE FUNCTION crimesnap.location_label_problem(label text)
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

CREATE OR REPLACE FUNCTION crimesnap.publishable_from(month date)
RETURNS date
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT (pg_catalog.date_trunc('month', $1) + interval '1 month' - interval '1 day')::date
         + crimesnap.setting('min_age_days')::integer
$fn$;
COMMENT ON FUNCTION crimesnap.publishable_from(date) IS
  'First day a month may be published: its last day plus crimesnap.min_age_days.';

CREATE OR REPLACE FUNCTION crimesnap_api.parse_month(month text)
RETURNS date
LANGUAGE plpgsql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF month IS NULL THEN
    RETURN NULL;
  END IF;
  IF month !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
    RAISE EXCEPTION 'month "%" is not in YYYY-MM form', pg_catalog.left(month, 100)
      USING ERRCODE = 'invalid_datetime_format', HINT = 'For example ''2019-06''.';
  END IF;
  IF pg_catalog.left(month, 4) = '0000' THEN
    RAISE EXCEPTION 'month "%" is not a month: there is no year 0000', month
      USING ERRCODE = 'datetime_field_overflow', HINT = 'Years start at 0001; police.uk''s data starts in 2010-12, for example ''2019-06''.';
  END IF;
  RETURN (month || '-01')::date;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.parse_month(text) IS
  'Checks a month argument in police.uk''s YYYY-MM form and returns its first day; NULL stays NULL.';

CREATE OR REPLACE FUNCTION crimesnap.postcode_points(locations geometry[], postcodes text[] DEFAULT NULL)
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
  SELECT pg_catalog.min(u.i) INTO bad
    FROM pg_catalog.unnest(locations) WITH ORDINALITY u(g, i)
   WHERE u.g IS NOT NULL AND (ST_SRID(u.g) <> 27700 OR GeometryType(u.g) <> 'POINT');
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'location % is not a point in British National Grid', bad
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass points in EPSG:27700, for example ST_Transform(geom, 27700).';
  END IF;

  -- Tie orders: postcodes by key in byte order, addresses by id.
  SELECT pg_catalog.array_agg(h.geom ORDER BY h.postcode_key COLLATE "C"), pg_catalog.array_agg(h.postcode ORDER BY h.postcode_key COLLATE "C")
    INTO e_geoms, e_codes
    FROM crimesnap.postcode_households h WHERE h.households >= k;
  SELECT pg_catalog.array_agg(a.geom ORDER BY a.address_id), pg_catalog.array_agg(a.postcode_key ORDER BY a.address_id)
    INTO a_geoms, a_keys
    FROM crimesnap.postal_addresses() a
   WHERE a.postcode_key IS NOT NULL
     AND EXISTS (SELECT FROM crimesnap.postcode p WHERE crimesnap.postcode_key(p.postcode) = a.postcode_key);

  -- The record's own postcode: given, or else that of the nearest address with a known
  -- postcode.  A record without a location is looked for from its postcode's centroid.
  SELECT pg_catalog.array_agg(x.own_key ORDER BY x.i), pg_catalog.array_agg(coalesce(x.g, own.geom) ORDER BY x.i)
    INTO own_keys, search_at
    FROM (SELECT u.i, u.g, coalesce(crimesnap.postcode_key(u.pc), ak.key) AS own_key
            FROM ROWS FROM (pg_catalog.unnest(locations), pg_catalog.unnest(postcodes), pg_catalog.unnest(crimesnap.nearest_site(locations, coalesce(a_geoms, '{}'))))
                 WITH ORDINALITY u(g, pc, ai, i)
            -- joined, not subscripted: a subscript walks a text array from its start
            LEFT JOIN pg_catalog.unnest(a_keys) WITH ORDINALITY ak(key, n) ON ak.n = u.ai) x
    LEFT JOIN crimesnap.postcode own ON crimesnap.postcode_key(own.postcode) = x.own_key;

  RETURN QUERY
  WITH q AS (
    SELECT u.i::integer AS i, u.g, u.own_key, u.ei
      FROM ROWS FROM (pg_catalog.unnest(locations), pg_catalog.unnest(own_keys), pg_catalog.unnest(crimesnap.nearest_site(search_at, coalesce(e_geoms, '{}'))))
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
    LEFT JOIN ROWS FROM (pg_catalog.unnest(e_codes), pg_catalog.unnest(e_geoms)) WITH ORDINALITY e(code, geom, n) ON e.n = q.ei
   ORDER BY q.i;
END
$fn$;
COMMENT ON FUNCTION crimesnap.postcode_points(geometry[], text[]) IS
  'Postcode-centroid depersonalisation of many records at once (CSP guidance, Appendix 1): per location, the centroid of its postcode (given, or else that of the nearest address with a known postcode) when it has at least crimesnap.min_postcode_households households, else the nearest such centroid (ties by postcode); inside a public place''s area, the place''s point and no postcode. rule says which.';

CREATE OR REPLACE FUNCTION crimesnap.stage_upload_detail()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
BEGIN
  INSERT INTO crimesnap.upload_detail_stage (upload_row, force, crime_ref, committed_on, detail)
  SELECT g.upload_row, g.force, nullif(pg_catalog.btrim(g.crime_ref), ''), g.committed_on,
         pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
           'committed_to', nullif(pg_catalog.btrim(g.committed_to), ''),
           'committed_from_time', nullif(pg_catalog.btrim(g.committed_from_time), ''),
           'committed_to_time', nullif(pg_catalog.btrim(g.committed_to_time), ''),
           'address', nullif(pg_catalog.btrim(g.address), ''),
           'postcode', nullif(pg_catalog.btrim(g.postcode), ''),
           'method_of_entry', nullif(pg_catalog.btrim(g.method_of_entry), ''),
           'property_stolen', nullif(pg_catalog.btrim(g.property_stolen), ''),
           'weapon', nullif(pg_catalog.btrim(g.weapon), ''),
           'distraction_burglary', nullif(pg_catalog.btrim(g.distraction_burglary), ''),
           'drugs_related', nullif(pg_catalog.btrim(g.drugs_related), ''),
           'alcohol_related', nullif(pg_catalog.btrim(g.alcohol_related), ''),
           'racially_motivated', nullif(pg_catalog.btrim(g.racially_motivated), ''),
           'domestic', nullif(pg_catalog.btrim(g.domestic), '')))
    FROM claimed g
   WHERE nullif(pg_catalog.btrim(g.crime_ref), '') IS NOT NULL
     AND (g.committed_on ~ '[T ][0-9]'
          OR pg_catalog.concat(g.committed_to, g.committed_from_time, g.committed_to_time, g.address, g.postcode,
                               g.method_of_entry, g.property_stolen, g.weapon, g.distraction_burglary,
                               g.drugs_related, g.alcohol_related, g.racially_motivated, g.domestic) ~ '\S');
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION crimesnap.stage_upload_detail() IS
  'Trigger: keeps the optional section 3.2.1 fields of upload rows as crimesnap.register_batch() claims them, for crimesnap.file_upload_detail().';

CREATE OR REPLACE FUNCTION crimesnap.parse_date(value text)
RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF value !~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$' THEN
    RETURN NULL;
  END IF;
  RETURN pg_catalog.btrim(value)::date;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION crimesnap.parse_date(text) IS
  'A calendar date in YYYY-MM-DD form, or NULL when it is not one.';

CREATE OR REPLACE FUNCTION crimesnap.file_upload_detail()
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
  SELECT x.crime_id, x.from_time, crimesnap.parse_date(x.detail->> 'committed_to'::text),
         crimesnap.parse_time(x.detail->> 'committed_to_time'::text),
         x.detail->> 'address'::text,
         coalesce(x.detail->> 'postcode'::text, crimesnap.address_postcode(x.detail->> 'address'::text)),
         CASE WHEN crimesnap.screen_context(x.detail->> 'method_of_entry'::text) IS NULL THEN x.detail->> 'method_of_entry'::text END,
         CASE WHEN crimesnap.screen_context(x.detail->> 'property_stolen'::text) IS NULL THEN x.detail->> 'property_stolen'::text END,
         CASE WHEN crimesnap.screen_context(x.detail->> 'weapon'::text) IS NULL THEN x.detail->> 'weapon'::text END,
         crimesnap.parse_flag(x.detail->> 'distraction_burglary'::text),
         crimesnap.parse_flag(x.detail->> 'drugs_related'::text),
         crimesnap.parse_flag(x.detail->> 'alcohol_related'::text),
         crimesnap.parse_flag(x.detail->> 'racially_motivated'::text),
         crimesnap.parse_flag(x.detail->> 'domestic'::text),
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
                 coalesce(crimesnap.parse_time(s.detail->> 'committed_from_time'::text),
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
COMMENT ON FUNCTION crimesnap.file_upload_detail() IS
  'Trigger: when crimesnap.register_batch() completes a batch, files the optional section 3.2.1 fields of its loaded records in crimesnap.raw_crime_detail, screening free text with crimesnap.screen_context(), and empties the stage.';

-- ---- row-level security (section 85) ----

ALTER TABLE crimesnap.batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.batch FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.batch IS 'A role sees the batches of the forces it acts for.';

ALTER TABLE crimesnap.reject ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.reject FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.reject IS 'A role sees the rejects of the forces it acts for.';

ALTER TABLE crimesnap.raw_crime ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.raw_crime FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.raw_crime IS 'A role sees the raw records of the forces it acts for.';

ALTER TABLE crimesnap.withdrawal ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.withdrawal FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.withdrawal IS 'A role sees the withdrawals of the forces it acts for.';

ALTER TABLE crimesnap.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.audit_log FOR SELECT
  USING (force_id IS NULL OR force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.audit_log IS 'A role sees the audit entries of the forces it acts for, and those of no force.';

-- The optional section 3.2.1 fields of raw records (section 70): readable for the raw records
-- a role may read, and staged rows of the forces it acts for.
ALTER TABLE crimesnap.raw_crime_detail ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.raw_crime_detail FOR SELECT
  USING (EXISTS (SELECT FROM crimesnap.raw_crime r WHERE r.crime_id OPERATOR(pg_catalog.=) raw_crime_detail.crime_id));
COMMENT ON POLICY acting_forces ON crimesnap.raw_crime_detail IS 'A role sees the details of the raw records it may read (those of the forces it acts for).';

ALTER TABLE crimesnap.upload_detail_stage ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.upload_detail_stage FOR SELECT
  USING (force OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.upload_detail_stage IS 'A role sees the staged details of the forces it acts for.';

-- A force records its own data sharing agreements (section 70); crimesnap_admin any.
CREATE FUNCTION crimesnap.check_partner_agreement_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF NOT crimesnap.is_admin() THEN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      PERFORM crimesnap.assert_acts_for(OLD.force_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      PERFORM crimesnap.assert_acts_for(NEW.force_id);
    END IF;
  END IF;
  RETURN CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN OLD ELSE NEW END;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_partner_agreement_change() IS
  'Trigger on crimesnap.partner_agreement: a role records, changes and ends agreements only for the forces it acts for (crimesnap_admin for any).';
CREATE TRIGGER check_partner_agreement_change BEFORE INSERT OR UPDATE OR DELETE ON crimesnap.partner_agreement
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_partner_agreement_change();
COMMENT ON TRIGGER check_partner_agreement_change ON crimesnap.partner_agreement IS
  'A force records its own data sharing agreements only.';

-- ---- privileges (sections 20, 40, 50 and 90) ----
REVOKE ALL ON crimesnap.force_binding, crimesnap.staged_upload FROM PUBLIC;
REVOKE ALL ON FUNCTION crimesnap.calling_role(), crimesnap.is_admin(), crimesnap.assert_admin(text),
                       crimesnap.acting_forces(), crimesnap.acts_for(text), crimesnap.assert_acts_for(text),
                       crimesnap.grant_force(regrole, text), crimesnap.revoke_force(regrole, text),
                       crimesnap.check_force_snap_point(), crimesnap.check_upload_forces(),
                       crimesnap.check_offence_code_change(), crimesnap.check_partner_agreement_change()
  FROM PUBLIC;
REVOKE INSERT, UPDATE, DELETE ON crimesnap.force, crimesnap.neighbourhood, crimesnap.lsoa,
                crimesnap.street, crimesnap.address, crimesnap.public_place, crimesnap.highway_class
  FROM crimesnap_loader;
REVOKE ALL ON crimesnap.crime_upload FROM crimesnap_loader, crimesnap_publisher;
REVOKE INSERT, UPDATE, DELETE ON crimesnap.postcode FROM crimesnap_loader;
REVOKE INSERT, UPDATE, DELETE ON crimesnap.partner FROM crimesnap_publisher;
GRANT INSERT (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
  ON crimesnap.crime_upload TO crimesnap_loader;
GRANT SELECT, DELETE ON crimesnap.staged_upload TO crimesnap_loader;
GRANT SELECT ON crimesnap.staged_upload TO crimesnap_publisher;
REVOKE ALL ON crimesnap.force_snap_point FROM crimesnap_loader, crimesnap_publisher;
GRANT SELECT, INSERT (force_id, label, explanation, geom) ON crimesnap.force_snap_point TO crimesnap_loader, crimesnap_publisher;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.force_snap_point TO crimesnap_admin;
REVOKE INSERT, DELETE ON crimesnap.place_class FROM crimesnap_publisher;
REVOKE EXECUTE ON FUNCTION crimesnap.build_snap_points(text, integer, text, boolean),
                           crimesnap.build_snap_point_set(text, integer, text, boolean, double precision),
                           crimesnap.set_current_snap_points(integer)
  FROM crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.build_snap_point_set(text, integer, text, boolean, double precision)
  TO crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.address_streets(),
                          crimesnap.street_pieces()
  TO crimesnap_publisher, crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.rotate_persistent_id_key(text) TO crimesnap_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.force, crimesnap.neighbourhood, crimesnap.lsoa,
                crimesnap.street, crimesnap.address, crimesnap.public_place,
                crimesnap.highway_class, crimesnap.offence_code, crimesnap.category,
                crimesnap.category_fold, crimesnap.postcode, crimesnap.partner, crimesnap.partner_agreement
  TO crimesnap_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.place_class TO crimesnap_admin;
GRANT SELECT ON crimesnap.snap_point_set, crimesnap.snap_point, crimesnap.snap_point_change,
                crimesnap.snap_point_catchment, crimesnap.force_snap_point_result,
                crimesnap.force_binding, crimesnap.reject_reason
  TO crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.build_snap_points(text, integer, text, boolean),
                          crimesnap.set_current_snap_points(integer),
                          crimesnap.audit_snap_points(integer),
                          crimesnap.catchments(integer),
                          crimesnap.neighbourhood_at(geometry),
                          crimesnap.normalise_street_name(text),
                          crimesnap.setting(text),
                          crimesnap.grant_force(regrole, text),
                          crimesnap.revoke_force(regrole, text)
  TO crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.calling_role(),
                          crimesnap.is_admin(),
                          crimesnap.acting_forces(),
                          crimesnap.acts_for(text),
                          crimesnap.assert_acts_for(text),
                          crimesnap.assert_admin(text)
  TO crimesnap_analyst, crimesnap_loader, crimesnap_publisher, crimesnap_admin;
