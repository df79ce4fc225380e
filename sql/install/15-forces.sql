-- Section 15: which forces a role acts for.  C: src/security.c.  Tests:
-- test/pgtap/security.sql, test/pgtap/force_binding.sql.  Guide: docs/security.md.
--
-- crimesnap_admin (or a superuser) binds roles to forces with crimesnap.grant_force().  A
-- role acts for a force when it, or a role it is a member of, is bound to it; superusers act
-- for every force.  The role checked is the calling role as SET ROLE sets it, which a
-- SECURITY DEFINER function cannot read as current_user (that is its owner there): it reads
-- it with crimesnap.calling_role().  Every SECURITY DEFINER function that acts on one
-- force's data calls crimesnap.assert_acts_for(force) first; row-level security policies
-- use crimesnap.acting_forces().

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
