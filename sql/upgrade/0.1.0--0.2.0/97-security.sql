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

CREATE FUNCTION crimesnap.acts_for(force text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce($1 OPERATOR(pg_catalog.=) ANY (crimesnap.acting_forces()), false)
$fn$;

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

CREATE TRIGGER check_offence_code_change BEFORE INSERT OR UPDATE OR DELETE ON crimesnap.offence_code
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_offence_code_change();
COMMENT ON TRIGGER check_offence_code_change ON crimesnap.offence_code IS
  'National codes are crimesnap_admin''s; a force''s own codes are its own.';

-- ---- publication (section 50) ----
ALTER TABLE crimesnap.audit_log DROP CONSTRAINT audit_log_action_check,
  ADD CONSTRAINT audit_log_action_check CHECK (action IN ('publish', 'roll-off', 'withdraw', 'reinstate', 'rotate-key',
                                                          'grant-force', 'revoke-force'));
COMMENT ON COLUMN crimesnap.audit_log.action IS 'publish, roll-off, withdraw, reinstate, rotate-key, grant-force or revoke-force.';

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
