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
CREATE OR REPLACE FUNCTION crimesnap.build_snap_point_set(
  mode text,
  min_addresses integer,
  rule text,
  make_current boolean,
  segment_length double precision)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  floor_k integer := crimesnap.setting('min_addresses')::integer;
  k integer := coalesce(min_addresses, floor_k);
  d double precision := crimesnap.setting('min_property_distance')::double precision;
  v integer;
  prev integer;
  base bigint;
  n_new integer;
  n integer;
  notes jsonb := '{}'::jsonb;
  pair record;
BEGIN
  PERFORM crimesnap.assert_admin('build snap points');
  IF k < floor_k THEN
    RAISE EXCEPTION 'min_addresses % is below crimesnap.min_addresses (%)', k, floor_k
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A snap point may serve more addresses than the privacy threshold, never fewer.';
  END IF;
  IF mode IS NULL OR mode NOT IN ('street', 'dense') THEN
    RAISE EXCEPTION 'unknown snap point mode "%"', mode
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use mode => ''street'' (one point per street) or mode => ''dense'' (a point per street segment).';
  END IF;
  IF rule IS NULL OR rule NOT IN ('midpoint', 'address_centroid', 'bbox_centre') THEN
    RAISE EXCEPTION 'unknown snap point rule "%"', rule
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use "midpoint", "address_centroid" or "bbox_centre".';
  END IF;
  -- NaN and infinities fail BETWEEN; a length under a metre would cut every street into
  -- more candidates than memory holds, and one over 10 km leaves one candidate per street.
  IF mode = 'dense' AND (segment_length IS NULL OR NOT (segment_length BETWEEN 1::float8 AND 10000::float8)) THEN
    RAISE EXCEPTION 'segment_length % is not a length between 1 and 10000 metres', coalesce(segment_length::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the longest stretch of street one dense candidate stands for, in metres; build_snap_points() uses 25.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.neighbourhood) THEN
    RAISE EXCEPTION 'no neighbourhoods are loaded'
      USING ERRCODE = 'no_data_found',
            HINT = 'Load crimesnap.force and crimesnap.neighbourhood before building snap points.';
  END IF;

  -- One build at a time: two concurrent builds would both claim ids and the current flag.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.build_snap_points'));
  SELECT s.version INTO prev FROM crimesnap.snap_point_set s WHERE s.is_current;

  INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule, previous_version,
                                        min_property_distance, segment_length)
  VALUES (mode, k, rule, prev, d, CASE WHEN mode = 'dense' THEN segment_length END)
  RETURNING version INTO v;

  -- ---- inputs: street pieces, addresses in their neighbourhood, the association ----
  CREATE TEMP TABLE cs_piece ON COMMIT DROP AS
  SELECT pg_catalog.row_number() OVER (ORDER BY p.neighbourhood_id, p.street_id, ST_AsBinary(p.geom)) AS piece_id, p.*
    FROM crimesnap.street_pieces() p;
  -- The temporary tables declared for plpgsql_check, which cannot see them before they exist.
  PERFORM 'PRAGMA:TABLE: cs_piece (piece_id bigint, street_id bigint, neighbourhood_id text, street_key text, name text, geom geometry)';
  CREATE TEMP TABLE cs_addr ON COMMIT DROP AS
  SELECT a.address_id, a.street_name, a.geom,
         crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id
    FROM crimesnap.address a;
  PERFORM 'PRAGMA:TABLE: cs_addr (address_id bigint, street_name text, geom geometry, neighbourhood_id text)';
  CREATE INDEX ON pg_temp.cs_addr USING gist (geom);
  ANALYZE pg_temp.cs_addr;

  CREATE TEMP TABLE cs_assoc ON COMMIT DROP AS
  SELECT x.address_id, x.street_id AS piece_id
    FROM (SELECT pg_catalog.array_agg(a.address_id ORDER BY a.address_id) AS ids,
                 pg_catalog.array_agg(a.geom ORDER BY a.address_id) AS geoms,
                 pg_catalog.array_agg(a.street_name ORDER BY a.address_id) AS names,
                 pg_catalog.array_agg(a.neighbourhood_id ORDER BY a.address_id) AS areas
            FROM pg_temp.cs_addr a) ad,
         (SELECT pg_catalog.array_agg(p.piece_id ORDER BY p.piece_id) AS ids,
                 pg_catalog.array_agg(p.geom ORDER BY p.piece_id) AS geoms,
                 pg_catalog.array_agg(p.name ORDER BY p.piece_id) AS names,
                 pg_catalog.array_agg(p.neighbourhood_id ORDER BY p.piece_id) AS areas
            FROM pg_temp.cs_piece p) st,
         crimesnap.associate_addresses(coalesce(ad.ids, '{}'), coalesce(ad.geoms, '{}'), coalesce(ad.names, '{}'),
                                       coalesce(st.ids, '{}'), coalesce(st.geoms, '{}'), coalesce(st.names, '{}'),
                                       coalesce(ad.areas, '{}'), coalesce(st.areas, '{}')) x
   WHERE x.street_id IS NOT NULL;
  PERFORM 'PRAGMA:TABLE: cs_assoc (address_id bigint, piece_id bigint)';

  -- A street's label: the spelling of its name that covers the greatest length of it.
  CREATE TEMP TABLE cs_label ON COMMIT DROP AS
  SELECT DISTINCT ON (x.neighbourhood_id, x.street_key) x.neighbourhood_id, x.street_key, x.name AS label
    FROM (SELECT p.neighbourhood_id, p.street_key, p.name, pg_catalog.sum(ST_Length(p.geom)) AS len
            FROM pg_temp.cs_piece p GROUP BY 1, 2, 3) x
   ORDER BY x.neighbourhood_id, x.street_key, x.len DESC, x.name;
  PERFORM 'PRAGMA:TABLE: cs_label (neighbourhood_id text, street_key text, label text)';

  CREATE TEMP TABLE cs_cand (
    cand_no          serial PRIMARY KEY,
    neighbourhood_id text,
    kind             text NOT NULL,
    label            text,
    source_id        bigint,
    explanation      text,
    geom             geometry,
    target           geometry,
    reject           text,
    old_point_id     bigint,
    rank             bigint
  ) ON COMMIT DROP;
  PERFORM 'PRAGMA:TABLE: cs_cand (cand_no integer, neighbourhood_id text, kind text, label text, source_id bigint, explanation text, geom geometry, target geometry, reject text, old_point_id bigint, rank bigint)';

  -- ---- street candidates ----
  IF mode = 'street' THEN
    -- One per street (neighbourhood and name) with at least k addresses, placed by the rule
    -- on its main piece, then moved along its centreline off any property.
    INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, geom, target, reject)
    SELECT s.neighbourhood_id, 'street', lbl.label, c.geom, s.centre,
           CASE WHEN c.geom IS NULL THEN 'no stretch of the street is clear of properties' END
      FROM (
        SELECT u.neighbourhood_id, u.street_key,
               crimesnap.snap_centre(u.geom, k, rule) AS centre,
               ST_Collect(u.geom ORDER BY u.piece_id) FILTER (WHERE u.name IS NOT NULL) AS lines
          FROM (SELECT p.neighbourhood_id, p.street_key, p.name, p.geom, p.piece_id FROM pg_temp.cs_piece p
                UNION ALL
                SELECT p.neighbourhood_id, p.street_key, NULL, a.geom, NULL
                  FROM pg_temp.cs_assoc x
                  JOIN pg_temp.cs_piece p ON p.piece_id = x.piece_id
                  JOIN pg_temp.cs_addr a ON a.address_id = x.address_id) u
         GROUP BY u.neighbourhood_id, u.street_key) s
      JOIN pg_temp.cs_label lbl ON lbl.neighbourhood_id = s.neighbourhood_id AND lbl.street_key = s.street_key
      CROSS JOIN LATERAL (
        SELECT crimesnap.clear_point(s.lines, s.centre,
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr a
                   WHERE ST_DWithin(a.geom, s.lines, d + 1::float8)), d) AS geom) c
     WHERE s.centre IS NOT NULL
     ORDER BY s.neighbourhood_id, s.street_key;
  ELSE
    -- One per segment part, at its centre, moved along the part off any property.
    INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, geom, target, reject)
    SELECT seg.area, 'street', lbl.label, c.geom, seg.centre,
           CASE WHEN c.geom IS NULL THEN 'no stretch of the segment is clear of properties' END
      FROM (SELECT pg_catalog.array_agg(p.neighbourhood_id ORDER BY p.piece_id) AS areas,
                   pg_catalog.array_agg(p.street_key ORDER BY p.piece_id) AS keys,
                   pg_catalog.array_agg(p.geom ORDER BY p.piece_id) AS geoms
              FROM pg_temp.cs_piece p) arg
      CROSS JOIN LATERAL crimesnap.street_segments(coalesce(arg.areas, '{}'), coalesce(arg.keys, '{}'),
                                                   coalesce(arg.geoms, '{}'), segment_length) seg
      JOIN pg_temp.cs_label lbl ON lbl.neighbourhood_id = seg.area AND lbl.street_key = seg.street
      CROSS JOIN LATERAL (
        SELECT crimesnap.clear_point(seg.geom, seg.centre,
                 (SELECT ST_Collect(a.geom ORDER BY a.address_id) FROM pg_temp.cs_addr a
                   WHERE ST_DWithin(a.geom, seg.geom, d + 1::float8)), d) AS geom) c
     ORDER BY seg.area, seg.street, seg.segment, seg.part;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  notes := notes || pg_catalog.jsonb_build_object('street_candidates', n);

  -- A point put on the very edge of its neighbourhood (the clipped end of a piece) can test
  -- as outside it by a rounding error: pull it 2 cm inside, or drop it if that is not clear.
  UPDATE pg_temp.cs_cand c
     SET geom = m.geom, reject = m.reject
    FROM (SELECT c2.cand_no, x.geom,
                 CASE WHEN x.geom IS NULL OR ST_IsEmpty(x.geom) OR NOT ST_Intersects(nb.geom, x.geom)
                        OR EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, x.geom, d))
                      THEN 'on the edge of its neighbourhood' END AS reject
            FROM pg_temp.cs_cand c2
            JOIN crimesnap.neighbourhood nb ON nb.neighbourhood_id = c2.neighbourhood_id
            CROSS JOIN LATERAL (SELECT ST_ClosestPoint(ST_Buffer(nb.geom, -0.02::float8, ''::text), c2.geom) AS geom) x
           WHERE c2.reject IS NULL AND NOT ST_Intersects(nb.geom, c2.geom)) m
   WHERE c.cand_no = m.cand_no;

  CREATE INDEX ON pg_temp.cs_cand USING gist (geom);
  ANALYZE pg_temp.cs_cand;

  -- Two parts moved off properties onto the same spot are one candidate.
  UPDATE pg_temp.cs_cand c SET reject = 'same place as another candidate of the street'
   WHERE c.reject IS NULL
     AND EXISTS (SELECT FROM pg_temp.cs_cand c2
                  WHERE c2.reject IS NULL AND c2.cand_no < c.cand_no
                    AND c2.neighbourhood_id = c.neighbourhood_id AND c2.label = c.label
                    AND ST_DWithin(c2.geom, c.geom, 0.01::float8));

  -- ---- public places and premises: points that serve no address ----
  INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, source_id, geom, reject)
  SELECT nb.neighbourhood_id, 'place', pl.class, pl.place_id, pl.geom,
         CASE WHEN nb.neighbourhood_id IS NULL THEN 'outside every neighbourhood'
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, pl.geom, d))
                THEN pg_catalog.format('within %s m of an address', d) END
    FROM crimesnap.public_place pl
    LEFT JOIN LATERAL (SELECT crimesnap.neighbourhood_at(pl.geom) AS neighbourhood_id) nb ON true
   ORDER BY pl.place_id;

  -- ---- force points: checked here, admitted by select_snap_points() ----
  INSERT INTO pg_temp.cs_cand (neighbourhood_id, kind, label, source_id, explanation, geom, reject)
  SELECT nb.neighbourhood_id, 'force', f.label, f.force_point_id, f.explanation, f.geom,
         CASE WHEN nb.neighbourhood_id IS NULL THEN 'outside every neighbourhood'
              WHEN nb.force_id <> f.force_id
                THEN pg_catalog.format('in neighbourhood %s of force %s, not in an area of force %s',
                                       nb.neighbourhood_id, nb.force_id, f.force_id)
              WHEN EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, f.geom, d))
                THEN pg_catalog.format('within %s m of an address (crimesnap.min_property_distance)', d) END
    FROM crimesnap.force_snap_point f
    LEFT JOIN LATERAL (SELECT n.neighbourhood_id, n.force_id FROM crimesnap.neighbourhood n
                        WHERE n.neighbourhood_id = crimesnap.neighbourhood_at(f.geom)) nb ON true
   ORDER BY f.force_point_id;

  -- ---- ids: a point that did not move keeps its id, and so does one that moved ----
  -- Not moved: same neighbourhood, kind and label within 1 cm.  It keeps the old location to
  -- the bit, so that nothing about it changes, unless that location is no longer clear.
  UPDATE pg_temp.cs_cand c
     SET old_point_id = m.point_id, geom = m.geom
    FROM (SELECT DISTINCT ON (x.cand_no) x.cand_no, x.point_id, x.geom
            FROM (SELECT DISTINCT ON (o.point_id) o.point_id, o.geom, c2.cand_no, ST_Distance(o.geom, c2.geom) AS dist
                    FROM pg_temp.cs_cand c2
                    JOIN crimesnap.snap_point o
                      ON o.version = prev AND o.neighbourhood_id = c2.neighbourhood_id
                     AND o.kind = c2.kind AND o.label = c2.label AND ST_DWithin(o.geom, c2.geom, 0.01::float8)
                   WHERE c2.reject IS NULL
                     AND NOT EXISTS (SELECT FROM pg_temp.cs_addr a WHERE ST_DWithin(a.geom, o.geom, d))
                     AND EXISTS (SELECT FROM crimesnap.neighbourhood nb
                                  WHERE nb.neighbourhood_id = o.neighbourhood_id AND ST_Intersects(nb.geom, o.geom))
                   ORDER BY o.point_id, dist, c2.cand_no) x
           ORDER BY x.cand_no, x.dist, x.point_id) m
   WHERE c.cand_no = m.cand_no;
  -- Moved: the nearest unclaimed old point of the same neighbourhood, kind and label within
  -- 50 m, nearest pairs first.
  CREATE INDEX ON pg_temp.cs_cand (old_point_id);
  FOR pair IN
    SELECT c.cand_no, o.point_id
      FROM pg_temp.cs_cand c
      JOIN crimesnap.snap_point o
        ON o.version = prev AND o.neighbourhood_id = c.neighbourhood_id
       AND o.kind = c.kind AND o.label = c.label AND ST_DWithin(o.geom, c.geom, 50::float8)
     WHERE c.reject IS NULL AND c.old_point_id IS NULL
       AND NOT EXISTS (SELECT FROM pg_temp.cs_cand c3 WHERE c3.old_point_id = o.point_id)
     ORDER BY ST_Distance(o.geom, c.geom), o.point_id, c.cand_no
  LOOP
    UPDATE pg_temp.cs_cand c SET old_point_id = pair.point_id
     WHERE c.cand_no = pair.cand_no AND c.old_point_id IS NULL
       AND NOT EXISTS (SELECT FROM pg_temp.cs_cand c3 WHERE c3.old_point_id = pair.point_id);
  END LOOP;

  -- Every other candidate gets a new id from one block of the sequence, in a canonical order.
  -- The id is the candidate's rank, the tie-break of select_snap_points(), so catchments come
  -- out the same there as in crimesnap.snap() and the audit.
  UPDATE pg_temp.cs_cand c SET rank = c.old_point_id WHERE c.old_point_id IS NOT NULL;
  SELECT pg_catalog.count(*) INTO n_new FROM pg_temp.cs_cand c WHERE c.reject IS NULL AND c.old_point_id IS NULL;
  IF n_new > 0 THEN
    base := pg_catalog.nextval('crimesnap.snap_point_id_seq');
    PERFORM pg_catalog.setval('crimesnap.snap_point_id_seq', base + n_new - 1);
    UPDATE pg_temp.cs_cand c SET rank = base + o.ord - 1
      FROM (SELECT c2.cand_no,
                   pg_catalog.row_number() OVER (ORDER BY c2.neighbourhood_id, c2.kind, c2.label,
                                                 ST_X(c2.geom), ST_Y(c2.geom), c2.cand_no) AS ord
              FROM pg_temp.cs_cand c2 WHERE c2.reject IS NULL AND c2.old_point_id IS NULL) o
     WHERE c.cand_no = o.cand_no;
  END IF;

  -- ---- selection ----
  CREATE TEMP TABLE cs_sel ON COMMIT DROP AS
  SELECT s.*
    FROM (SELECT pg_catalog.array_agg(c.rank ORDER BY c.rank) AS ranks,
                 pg_catalog.array_agg(c.geom ORDER BY c.rank) AS geoms,
                 pg_catalog.array_agg(c.neighbourhood_id ORDER BY c.rank) AS areas,
                 pg_catalog.array_agg(c.kind ORDER BY c.rank) AS kinds
            FROM pg_temp.cs_cand c WHERE c.rank IS NOT NULL) cand,
         (SELECT pg_catalog.array_agg(a.geom ORDER BY a.address_id) AS geoms,
                 pg_catalog.array_agg(a.neighbourhood_id ORDER BY a.address_id) AS areas
            FROM pg_temp.cs_addr a) ad,
         crimesnap.select_snap_points(coalesce(cand.ranks, '{}'), coalesce(cand.geoms, '{}'),
                                      coalesce(cand.areas, '{}'), coalesce(cand.kinds, '{}'),
                                      coalesce(ad.geoms, '{}'), coalesce(ad.areas, '{}'), k) s;
  PERFORM 'PRAGMA:TABLE: cs_sel (rank bigint, kept boolean, catchment integer, reason text)';

  INSERT INTO crimesnap.snap_point
         (version, point_id, neighbourhood_id, kind, label, address_count, lsoa_code, lsoa_name,
          longitude, latitude, explanation, geom, source_id)
  SELECT v, c.rank, c.neighbourhood_id, c.kind, c.label, s.catchment, l.lsoa_code, l.name,
         ST_X(ST_Transform(c.geom, 4326)), ST_Y(ST_Transform(c.geom, 4326)),
         c.explanation, c.geom, c.source_id
    FROM pg_temp.cs_cand c
    JOIN pg_temp.cs_sel s ON s.rank = c.rank AND s.kept
    LEFT JOIN LATERAL (
      SELECT x.lsoa_code, x.name FROM crimesnap.lsoa x WHERE ST_Intersects(x.geom, c.geom)
       ORDER BY x.lsoa_code LIMIT 1) l ON true
   ORDER BY c.rank;

  INSERT INTO crimesnap.force_snap_point_result (version, force_point_id, point_id, reason)
  SELECT v, c.source_id, CASE WHEN s.kept THEN c.rank END,
         CASE WHEN s.kept THEN NULL ELSE coalesce(c.reject, s.reason, 'not admitted') END
    FROM pg_temp.cs_cand c
    LEFT JOIN pg_temp.cs_sel s ON s.rank = c.rank
   WHERE c.kind = 'force';

  -- ---- the changelog against the previous current set ----
  INSERT INTO crimesnap.snap_point_change (version, point_id, change, old_geom, new_geom, label, distance)
  SELECT v, coalesce(n.point_id, o.point_id),
         CASE WHEN o.point_id IS NULL THEN 'added' WHEN n.point_id IS NULL THEN 'removed' ELSE 'moved' END,
         o.geom, n.geom, coalesce(n.label, o.label),
         CASE WHEN o.point_id IS NOT NULL AND n.point_id IS NOT NULL THEN ST_Distance(o.geom, n.geom) END
    FROM (SELECT * FROM crimesnap.snap_point p WHERE p.version = v) n
    FULL JOIN (SELECT * FROM crimesnap.snap_point p WHERE p.version = prev) o ON o.point_id = n.point_id
   WHERE o.point_id IS NULL OR n.point_id IS NULL OR NOT ST_OrderingEquals(o.geom, n.geom);

  -- ---- catchment areas: Voronoi cells within each neighbourhood ----
  INSERT INTO crimesnap.snap_point_catchment (version, point_id, geom)
  WITH pts AS (
    SELECT p.point_id, p.neighbourhood_id, p.geom,
           pg_catalog.count(*) OVER (PARTITION BY p.neighbourhood_id) AS n
      FROM crimesnap.snap_point p WHERE p.version = v
  ), cells AS (
    SELECT x.neighbourhood_id, (ST_Dump(ST_VoronoiPolygons(ST_Collect(x.geom), 0::float8, nb.geom))).geom AS cell
      FROM pts x JOIN crimesnap.neighbourhood nb USING (neighbourhood_id)
     WHERE x.n > 1
     GROUP BY x.neighbourhood_id, nb.geom
  ), owner AS (
    -- A cell holds one point, or several at one location: the lowest id wins those ties.
    SELECT DISTINCT ON (c.neighbourhood_id, ST_AsBinary(c.cell)) p.point_id, c.cell
      FROM cells c JOIN pts p ON p.neighbourhood_id = c.neighbourhood_id AND ST_Intersects(c.cell, p.geom)
     ORDER BY c.neighbourhood_id, ST_AsBinary(c.cell), p.point_id
  )
  SELECT v, p.point_id,
         ST_Multi(ST_CollectionExtract(
           CASE WHEN p.n = 1 THEN nb.geom
                WHEN o.cell IS NULL THEN 'POLYGON EMPTY'::geometry
                ELSE ST_Intersection(o.cell, nb.geom) END, 3))
    FROM pts p
    JOIN crimesnap.neighbourhood nb USING (neighbourhood_id)
    LEFT JOIN owner o ON o.point_id = p.point_id;

  -- ---- notes, audit, current ----
  SELECT notes || pg_catalog.jsonb_build_object(
           'rejected', (SELECT coalesce(pg_catalog.jsonb_object_agg(r.reject, r.n), '{}')
                          FROM (SELECT c.kind || ': ' || c.reject AS reject, pg_catalog.count(*) AS n
                                  FROM pg_temp.cs_cand c WHERE c.reject IS NOT NULL GROUP BY 1) r),
           'moved_off_properties', (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c
                                     WHERE c.kind = 'street' AND c.geom IS NOT NULL
                                       AND NOT ST_DWithin(c.geom, c.target, 0.01::float8)),
           'pruned', (SELECT pg_catalog.count(*) FROM pg_temp.cs_sel s WHERE NOT s.kept),
           'kept_ids', (SELECT pg_catalog.count(*) FROM pg_temp.cs_cand c JOIN pg_temp.cs_sel s ON s.rank = c.rank
                         WHERE s.kept AND c.old_point_id IS NOT NULL),
           'addresses', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr),
           'addresses_outside_neighbourhoods', (SELECT pg_catalog.count(*) FROM pg_temp.cs_addr a WHERE a.neighbourhood_id IS NULL))
    INTO notes;
  UPDATE crimesnap.snap_point_set s
     SET point_count = (SELECT pg_catalog.count(*) FROM crimesnap.snap_point p WHERE p.version = v),
         build_notes = notes
   WHERE s.version = v;

  -- The audit recomputes every catchment with PostGIS, independently of the C code above; a
  -- set that fails it is never stored.
  SELECT pg_catalog.count(*) INTO n FROM crimesnap.audit_snap_points(v);
  IF n > 0 THEN
    RAISE EXCEPTION 'snap point set % failed its own audit with % violations', v, n
      USING ERRCODE = 'internal_error',
            DETAIL = (SELECT pg_catalog.string_agg(pg_catalog.format('point %s: %s (%s)', a.point_id, a.violation, a.detail), '; ')
                        FROM (SELECT * FROM crimesnap.audit_snap_points(v) LIMIT 5) a),
            HINT = 'Nothing was stored. Report this as a bug in crimesnap, with the input tables.';
  END IF;

  IF make_current THEN
    -- An empty set would take every street-level crime off the map at the next publication.
    IF NOT EXISTS (SELECT FROM crimesnap.snap_point p WHERE p.version = v) THEN
      RAISE EXCEPTION 'snap point set % has no points, so it is not made current', v
        USING ERRCODE = 'no_data_found',
              DETAIL = pg_catalog.format('mode %s, min_addresses %s, segment_length %s: %s', mode, k,
                                         coalesce(segment_length::text, 'none'), notes::text),
              HINT = 'Nothing was stored. Check the input tables and the arguments, or build with make_current => false to look at the set.';
    END IF;
    PERFORM crimesnap.set_current_snap_points(v);
  END IF;
  DROP TABLE pg_temp.cs_piece, pg_temp.cs_addr, pg_temp.cs_assoc, pg_temp.cs_label, pg_temp.cs_cand, pg_temp.cs_sel;
  RETURN v;
END
$fn$;
COMMENT ON FUNCTION crimesnap.build_snap_point_set(text, integer, text, boolean, double precision) IS
  'build_snap_points() with every option: also segment_length, the longest stretch of street (metres) one dense-mode candidate stands for. Returns the new version.';

CREATE OR REPLACE FUNCTION crimesnap.set_current_snap_points(version integer)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
BEGIN
  PERFORM crimesnap.assert_admin('choose the current snap point set');
  IF NOT EXISTS (SELECT FROM crimesnap.snap_point_set s WHERE s.version = $1) THEN
    RAISE EXCEPTION 'snap point set version % does not exist', $1
      USING ERRCODE = 'no_data_found',
            HINT = 'See crimesnap.snap_point_set for the versions built.';
  END IF;
  UPDATE crimesnap.snap_point_set s SET is_current = false WHERE s.is_current AND s.version <> $1;
  UPDATE crimesnap.snap_point_set s SET is_current = true WHERE s.version = $1;
END
$fn$;
COMMENT ON FUNCTION crimesnap.set_current_snap_points(integer) IS
  'Makes a built set the one that publication snaps to. Already published months keep their own version.';


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
CREATE OR REPLACE FUNCTION crimesnap.persistent_id(force text, crime_ref text)
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

CREATE OR REPLACE FUNCTION crimesnap.rotate_persistent_id_key(reason text)
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
  SELECT DISTINCT r.force_id, r.crime_ref, r.persistent_id AS old_id FROM crimesnap.raw_crime r;
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_old_id (force_id text, crime_ref text, old_id text)';
  UPDATE crimesnap.secret s SET value = crimesnap.random_key() WHERE s.name = 'persistent_id_key'
  RETURNING s.value INTO id_key;
  UPDATE crimesnap.raw_crime r SET persistent_id = crimesnap.persistent_id_with_key(id_key, r.force_id, r.crime_ref);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE crimesnap.withdrawal w SET persistent_id = crimesnap.persistent_id_with_key(id_key, o.force_id, o.crime_ref)
    FROM pg_temp.cs_old_id o WHERE w.persistent_id = o.old_id;
  UPDATE crimesnap.published_crime c SET persistent_id = r.persistent_id
    FROM crimesnap.raw_crime r WHERE r.crime_id = c.crime_id AND c.persistent_id IS NOT NULL;
  INSERT INTO crimesnap.audit_log (action, detail)
  VALUES ('rotate-key', pg_catalog.jsonb_build_object('records', n, 'reason', reason));
  DROP TABLE pg_temp.cs_old_id;
  RETURN n;
END
$fn$;
COMMENT ON FUNCTION crimesnap.rotate_persistent_id_key(text) IS
  'Replaces the persistent id key with a fresh random one and re-keys every stored and published id and every withdrawal. Every public id changes: for a key that has leaked. crimesnap_admin only. Returns the raw records re-keyed.';

CREATE OR REPLACE FUNCTION crimesnap.roll_off_before(force text, keep_from date)
RETURNS TABLE (force_id text, month date, crimes bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  r record;
BEGIN
  PERFORM crimesnap.assert_acts_for(roll_off_before.force);
  FOR r IN SELECT p.month FROM crimesnap.publication p
            WHERE p.force_id = roll_off_before.force AND p.status = 'street-level' AND p.month < keep_from
            ORDER BY p.month
  LOOP
    DELETE FROM crimesnap.trend t WHERE t.force_id = roll_off_before.force AND t.month = r.month;
    DELETE FROM crimesnap.trend_member t WHERE t.force_id = roll_off_before.force AND t.month = r.month;
    INSERT INTO crimesnap.trend_member (crime_id, force_id, month, neighbourhood_id, lsoa_code, category, mapped)
    SELECT c.crime_id, c.force_id, c.month, c.neighbourhood_id, sp.lsoa_code, c.category, c.point_id IS NOT NULL
      FROM crimesnap.published_crime c
      LEFT JOIN crimesnap.snap_point sp ON sp.version = c.snap_version AND sp.point_id = c.point_id
     WHERE c.force_id = roll_off_before.force AND c.month = r.month;
    INSERT INTO crimesnap.trend (force_id, month, neighbourhood_id, lsoa_code, category, crimes)
    SELECT t.force_id, t.month, t.neighbourhood_id, t.lsoa_code, t.category, pg_catalog.count(*)
      FROM crimesnap.trend_member t
     WHERE t.force_id = roll_off_before.force AND t.month = r.month
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
  'Internal: moves a force''s street-level months before keep_from into the trend table, in the caller''s transaction and under the caller''s lock. Returns what moved.';

CREATE OR REPLACE FUNCTION crimesnap.roll_off(reference_date date DEFAULT CURRENT_DATE)
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

CREATE OR REPLACE FUNCTION crimesnap.publish_month(
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
  problem record;
  horizon date;
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
  DELETE FROM crimesnap.trend t WHERE t.force_id = publish_month.force AND t.month = m;
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
  SELECT r.*
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL
     AND NOT EXISTS (SELECT FROM crimesnap.withdrawal w
                      WHERE w.scope = 'record' AND w.reinstated_at IS NULL
                        AND w.persistent_id = r.persistent_id);
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_live (LIKE crimesnap.raw_crime)';
  ANALYZE pg_temp.cs_live;
  -- Outcomes that took effect up to the newest month published are public.
  horizon := crimesnap.outcome_horizon(publish_month.force);
  SELECT pg_catalog.count(*) - (SELECT pg_catalog.count(*) FROM pg_temp.cs_live) INTO n_withheld
    FROM crimesnap.raw_crime r
   WHERE r.force_id = publish_month.force AND r.month = m AND r.superseded_by_batch IS NULL;

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
         crimesnap.outcome_as_of(l.force_id, l.crime_ref, horizon), ctx.text,
         CASE WHEN l.geom IS NULL THEN 'no location supplied'
              WHEN s.point_id IS NULL THEN pg_catalog.format('no snap point within %s m in its neighbourhood',
                                                  crimesnap.setting('max_snap_distance'))
         END
    FROM pg_temp.cs_live l
    LEFT JOIN crimesnap.snap_many(coalesce(ids, '{}'), coalesce(geoms, '{}'), coalesce(nbs, '{}')) s ON s.id = l.crime_id
    LEFT JOIN crimesnap.snap_point sp ON sp.version = v AND sp.point_id = s.point_id
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

  -- What a published location says is enforced here, not trusted to the snap point build:
  -- "On or near" a street or a class of place, never a house number, a building or a postcode.
  SELECT p.point_id, p.label, crimesnap.location_label_problem(p.label) AS why INTO problem
    FROM crimesnap.snap_point p
   WHERE p.version = v
     AND p.point_id IN (SELECT c.point_id FROM crimesnap.published_crime c
                         WHERE c.force_id = publish_month.force AND c.month = m)
     AND crimesnap.location_label_problem(p.label) IS NOT NULL
   ORDER BY p.point_id LIMIT 1;
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
  SELECT pg_catalog.count(*) INTO rolled_off FROM crimesnap.roll_off_before(publish_month.force, keep_from);

  -- The audit proves the rules on what was just written; a violation undoes it all.
  SELECT a.* INTO problem FROM crimesnap.audit_publication(publish_month.force, NULL) a LIMIT 1;
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
  'Publishes (or re-publishes, replacing it) a force''s month in one transaction: snaps every live record, maps offence codes to the scheme''s categories, keeps withdrawn records out, checks every location label, rolls older months off into the trend table and audits the result. Fails before month end + crimesnap.min_age_days, saying when it becomes possible.';

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

CREATE OR REPLACE FUNCTION crimesnap.withdraw_force(force text, reason text, month date DEFAULT NULL)
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
  SELECT coalesce(pg_catalog.sum(t.crimes), 0) INTO counted FROM crimesnap.trend t
   WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
  DELETE FROM crimesnap.trend t WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
  DELETE FROM crimesnap.trend_member t WHERE t.force_id = withdraw_force.force AND (m IS NULL OR t.month = m);
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

CREATE OR REPLACE FUNCTION crimesnap.reinstate(withdrawal_id bigint, reason text)
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
COMMENT ON FUNCTION crimesnap.normalise_input_geometry() IS
  'Trigger: puts every loaded geometry into British National Grid and the shape its table expects, or fails with a hint.';

CREATE OR REPLACE FUNCTION crimesnap.street_pieces()
RETURNS TABLE (street_id bigint, neighbourhood_id text, street_key text, name text, geom geometry)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Centrelines that may carry points, clipped to each neighbourhood they cross, so that a
  -- street's point always lies inside the neighbourhood it serves.
  -- A road with no name but a road number (ref) goes by its number, as police.uk's "On or near A1".
  SELECT s.street_id, n.neighbourhood_id,
         crimesnap.normalise_street_name(coalesce(s.name, pg_catalog.split_part(s.ref, ';', 1))),
         coalesce(s.name, pg_catalog.split_part(s.ref, ';', 1)),
         (ST_Dump(ST_CollectionExtract(
            CASE WHEN ST_CoveredBy(s.geom, n.geom) THEN s.geom ELSE ST_Intersection(s.geom, n.geom) END, 2))).geom
    FROM crimesnap.street s
    JOIN crimesnap.neighbourhood n ON ST_Intersects(s.geom, n.geom)
    LEFT JOIN crimesnap.highway_class h ON h.highway = s.highway
   WHERE crimesnap.normalise_street_name(coalesce(s.name, pg_catalog.split_part(s.ref, ';', 1))) IS NOT NULL
     AND coalesce(h.carries_points, true)
$fn$;
COMMENT ON FUNCTION crimesnap.street_pieces() IS
  'Named (or numbered: a road with no name goes by its ref) centrelines of road classes that carry points, clipped to neighbourhoods, with their normalised street key.';

CREATE OR REPLACE FUNCTION crimesnap.catchments(version integer DEFAULT NULL)
RETURNS TABLE (point_id bigint, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- Recomputed from the addresses as they are now, not read from the stored counts, and
  -- with PostGIS rather than the builder's C code, so that the audit checks the builder.
  WITH v AS (
    SELECT coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current)) AS version
  ), nearest AS (
    SELECT (SELECT p.point_id FROM crimesnap.snap_point p, v
             WHERE p.version = v.version AND p.neighbourhood_id = nb.neighbourhood_id
             ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) AS point_id
      FROM crimesnap.address a
      CROSS JOIN LATERAL (SELECT crimesnap.neighbourhood_at(a.geom) AS neighbourhood_id) nb
  )
  SELECT p.point_id, pg_catalog.count(n.point_id)
    FROM crimesnap.snap_point p
    JOIN v ON p.version = v.version
    LEFT JOIN nearest n ON n.point_id = p.point_id
   GROUP BY p.point_id
$fn$;
COMMENT ON FUNCTION crimesnap.catchments(integer) IS
  'Catchment size of every point of a set (default: the current set): the postal addresses whose nearest point inside their own neighbourhood is that point, ties to the lowest point id. Computed with PostGIS, independently of the builder.';

CREATE OR REPLACE FUNCTION crimesnap.audit_snap_points(version integer DEFAULT NULL)
RETURNS TABLE (point_id bigint, violation text, detail text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  v integer := coalesce($1, (SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current));
  k integer;
  set_mode text;
  mindist double precision := crimesnap.setting('min_property_distance')::double precision;
BEGIN
  SELECT s.min_addresses, s.mode INTO k, set_mode FROM crimesnap.snap_point_set s WHERE s.version = v;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'snap point set version % does not exist', coalesce(v::text, '(none current)')
      USING ERRCODE = 'no_data_found',
            HINT = 'Build one with crimesnap.build_snap_points().';
  END IF;
  -- The set's own k, but never below the threshold in force now.
  k := greatest(k, crimesnap.setting('min_addresses')::integer);

  RETURN QUERY
  SELECT c.point_id, 'catchment under k'::text,
         pg_catalog.format('%s point "%s" has a catchment of %s addresses; k is %s%s', p.kind, p.label,
                           c.addresses, k, CASE WHEN p.kind <> 'street' THEN ' (or none, for a ' || p.kind || ' point)' ELSE '' END)
    FROM crimesnap.catchments(v) c
    JOIN crimesnap.snap_point p ON p.version = v AND p.point_id = c.point_id
   WHERE (p.kind = 'street' AND c.addresses < k)
      OR (p.kind <> 'street' AND c.addresses BETWEEN 1 AND k - 1)
   ORDER BY c.point_id;

  RETURN QUERY
  SELECT p.point_id, 'too close to an address'::text,
         pg_catalog.format('address %s is %s m away; crimesnap.min_property_distance is %s m',
                           a.address_id, pg_catalog.round(ST_Distance(a.geom, p.geom)::numeric, 2), mindist)
    FROM crimesnap.snap_point p
    CROSS JOIN LATERAL (SELECT a.address_id, a.geom FROM crimesnap.address a
                         WHERE ST_DWithin(a.geom, p.geom, mindist)
                         ORDER BY a.geom <-> p.geom, a.address_id LIMIT 1) a
   WHERE p.version = v
   ORDER BY p.point_id;

  RETURN QUERY
  SELECT p.point_id, 'outside its neighbourhood'::text,
         pg_catalog.format('point is %s m outside neighbourhood %s',
                           pg_catalog.round(ST_Distance(n.geom, p.geom)::numeric, 2), p.neighbourhood_id)
    FROM crimesnap.snap_point p
    JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = p.neighbourhood_id
   WHERE p.version = v AND NOT ST_Intersects(n.geom, p.geom)
   ORDER BY p.point_id;

  IF set_mode = 'street' THEN
    RETURN QUERY
    WITH counts AS (
      SELECT a.neighbourhood_id, a.street_key, pg_catalog.count(*) AS n
        FROM crimesnap.address_streets() a
       WHERE a.street_key IS NOT NULL
       GROUP BY 1, 2)
    SELECT p.point_id, 'street under k'::text,
           pg_catalog.format('street "%s" has %s addresses; k is %s', p.label, coalesce(c.n, 0), k)
      FROM crimesnap.snap_point p
      LEFT JOIN counts c ON c.neighbourhood_id = p.neighbourhood_id
                        AND c.street_key = crimesnap.normalise_street_name(p.label)
     WHERE p.version = v AND p.kind = 'street' AND coalesce(c.n, 0) < k
     ORDER BY p.point_id;
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap.audit_snap_points(integer) IS
  'Proves the privacy promise of a snap point set (default: current) on the data as it is now: one row per violation (catchment under k, too close to an address, outside its neighbourhood, and in street mode street under k), none when clean.';

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

CREATE OR REPLACE FUNCTION crimesnap.latest_publishable_month(reference_date date)
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

CREATE OR REPLACE FUNCTION crimesnap_api.poly_from_text(poly text)
RETURNS geometry
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path FROM CURRENT
AS $fn$
DECLARE
  pts geometry[];
  pair text;
  lat float8;
  lng float8;
BEGIN
  -- police.uk's poly parameter: lat,lng pairs separated by colons; the ring closes itself.
  FOREACH pair IN ARRAY pg_catalog.regexp_split_to_array(pg_catalog.btrim(poly), '\s*:\s*') LOOP
    IF pair !~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*,\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' THEN
      RAISE EXCEPTION 'poly point "%" is not "latitude,longitude"', pair
        USING ERRCODE = 'invalid_text_representation',
              HINT = 'Give the polygon as police.uk does: 52.268,0.543:52.794,0.238:52.130,0.478';
    END IF;
    lat := pg_catalog.split_part(pair, ',', 1)::float8;
    lng := pg_catalog.split_part(pair, ',', 2)::float8;
    IF lat NOT BETWEEN -90::float8 AND 90::float8 OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
      RAISE EXCEPTION 'poly point "%" is not a latitude and longitude', pair
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pts := pg_catalog.array_append(pts, ST_MakePoint(lng, lat));
  END LOOP;
  IF pg_catalog.cardinality(pts) < 3 THEN
    RAISE EXCEPTION 'a poly needs at least 3 points, not %', coalesce(pg_catalog.cardinality(pts), 0)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT ST_Equals(pts[1], pts[pg_catalog.cardinality(pts)]) THEN
    pts := pg_catalog.array_append(pts, pts[1]);
  END IF;
  RETURN ST_SetSRID(ST_MakePolygon(ST_MakeLine(pts)), 4326);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.poly_from_text(text) IS
  'A polygon (EPSG:4326) from police.uk''s poly parameter, "lat,lng:lat,lng:...": for crimesnap_api.street_crimes_in_area().';

CREATE OR REPLACE FUNCTION crimesnap_api.street_crimes_near(lat double precision, lng double precision,
                                                 month text DEFAULT NULL, category text DEFAULT NULL)
RETURNS SETOF crimesnap_api.street_crime
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := pg_catalog.to_char(crimesnap_api.parse_month(month), 'YYYY-MM');
  centre geometry;
  n bigint;
BEGIN
  IF lat IS NULL OR lng IS NULL OR lat NOT BETWEEN -90::float8 AND 90::float8 OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
    RAISE EXCEPTION 'lat % and lng % are not a WGS84 latitude and longitude', coalesce(lat::text, 'NULL'), coalesce(lng::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example lat => 51.5235, lng => -0.1337.';
  END IF;
  centre := ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 27700);
  -- police.uk's radius: one mile from the point, measured to the published snap points.
  RETURN QUERY
  SELECT c.* FROM crimesnap.published_street_crime c
   WHERE ST_DWithin(c.geom, centre, 1609.344::float8)
     AND (m IS NULL OR c.month = m)
     AND (street_crimes_near.category IS NULL OR street_crimes_near.category = 'all-crime'
          OR c.category = street_crimes_near.category)
   ORDER BY c.id
   LIMIT 10001;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 10000 THEN
    RAISE EXCEPTION 'more than 10000 crimes are within a mile of %, %', lat, lng
      USING ERRCODE = 'program_limit_exceeded',
            DETAIL = 'police.uk returns at most 10,000 crimes per request.',
            HINT = 'Ask for one month or one category, or use crimesnap_api.street_crimes_in_area() with a smaller area.';
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.street_crimes_near(double precision, double precision, text, text) IS
  'Street-level crimes within one mile of a WGS84 point (police.uk''s crimes-street by lat/lng), for a month (YYYY-MM, default every month on the map) and category (slug or all-crime). Fails past 10,000 rows.';

CREATE OR REPLACE FUNCTION crimesnap_api.street_crimes_in_area(area geometry, month text DEFAULT NULL, category text DEFAULT NULL)
RETURNS SETOF crimesnap_api.street_crime
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := pg_catalog.to_char(crimesnap_api.parse_month(month), 'YYYY-MM');
  g geometry := area;
  n bigint;
BEGIN
  IF g IS NULL OR GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
    RAISE EXCEPTION 'the area must be a polygon, not %', coalesce(pg_catalog.lower(GeometryType(g)), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Build one with crimesnap_api.poly_from_text(''52.268,0.543:52.794,0.238:52.130,0.478'') or ST_GeomFromGeoJSON().';
  END IF;
  IF ST_NPoints(g) > 10000 THEN
    RAISE EXCEPTION 'the area has % vertices, more than 10000', ST_NPoints(g)
      USING ERRCODE = 'program_limit_exceeded', HINT = 'Simplify it first, for example with ST_Simplify().';
  END IF;
  IF NOT ST_IsValid(g) THEN
    RAISE EXCEPTION 'the area is not a valid polygon: %', ST_IsValidReason(g)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Repair it, for example with ST_MakeValid().';
  END IF;
  -- An area without an SRID is longitude and latitude, as police.uk's poly is.
  IF ST_SRID(g) = 0 THEN
    g := ST_SetSRID(g, 4326);
  END IF;
  IF ST_SRID(g) <> 27700 THEN
    g := ST_Transform(g, 27700);
  END IF;
  RETURN QUERY
  SELECT c.* FROM crimesnap.published_street_crime c
   WHERE ST_Intersects(c.geom, g)
     AND (m IS NULL OR c.month = m)
     AND (street_crimes_in_area.category IS NULL OR street_crimes_in_area.category = 'all-crime'
          OR c.category = street_crimes_in_area.category)
   ORDER BY c.id
   LIMIT 10001;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 10000 THEN
    RAISE EXCEPTION 'more than 10000 crimes are in the area'
      USING ERRCODE = 'program_limit_exceeded',
            DETAIL = 'police.uk returns at most 10,000 crimes per request.',
            HINT = 'Ask for one month or one category, or a smaller area.';
  END IF;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.street_crimes_in_area(geometry, text, text) IS
  'Street-level crimes at snap points inside a polygon (any SRID; none means EPSG:4326), for a month and category as street_crimes_near(). Fails past 10,000 rows.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_csv(force text DEFAULT NULL, month text DEFAULT NULL)
RETURNS TABLE ("Crime ID" text, "Month" text, "Reported by" text, "Falls within" text,
               "Longitude" text, "Latitude" text, "Location" text, "LSOA code" text,
               "LSOA name" text, "Crime type" text, "Last outcome category" text, "Context" text)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  -- data.police.uk's street CSV: coordinates with exactly six decimals (-0.106220), ASB
  -- with an empty Crime ID, and crimes with no location as "No Location" with empty
  -- coordinates and LSOA, so that they count in the file's totals too.
  SELECT x.persistent_id, x.month, x.force_name, x.force_name,
         pg_catalog.round(x.longitude::numeric, 6)::text, pg_catalog.round(x.latitude::numeric, 6)::text,
         x.location, x.lsoa_code, x.lsoa_name, x.category_name, x.outcome_status, x.context
    FROM (SELECT s.id, s.persistent_id, s.month, s.force, s.force_name, s.longitude, s.latitude,
                 s.street_name AS location, s.lsoa_code, s.lsoa_name, s.category_name, s.outcome_status, s.context
            FROM crimesnap_api.street_crime s
           WHERE ($1 IS NULL OR s.force = $1)
             AND ($2 IS NULL OR s.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM'))
          UNION ALL
          SELECT n.id, n.persistent_id, n.month, n.force, n.force_name, NULL, NULL,
                 'No Location', NULL, NULL, n.category_name, n.outcome_status, n.context
            FROM crimesnap_api.no_location_crime n
           WHERE ($1 IS NULL OR n.force = $1)
             AND ($2 IS NULL OR n.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM'))) x
   ORDER BY x.month, x.force, x.id
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_csv(text, text) IS
  'data.police.uk''s street CSV, header and column order exactly, for a force and month (YYYY-MM) or everything on the map: \copy (SELECT * FROM crimesnap_api.police_uk_csv(''metropolitan'', ''2019-06'')) TO ''street.csv'' WITH (FORMAT csv, HEADER).';

CREATE OR REPLACE FUNCTION crimesnap_api.feature_collection(rows crimesnap_api.street_crime[])
RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.json_build_object(
           'type', 'FeatureCollection',
           'features', coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(
              'type', 'Feature',
              'id', c.id,
              'geometry', pg_catalog.json_build_object('type', 'Point',
                                            'coordinates', pg_catalog.json_build_array(pg_catalog.round(c.longitude::numeric, 6),
                                                                            pg_catalog.round(c.latitude::numeric, 6))),
              'properties', pg_catalog.json_build_object(
                 'id', c.id, 'persistent_id', c.persistent_id, 'month', c.month,
                 'category', c.category, 'force', c.force, 'street_id', c.street_id,
                 'street_name', c.street_name, 'lsoa_code', c.lsoa_code, 'lsoa_name', c.lsoa_name,
                 'outcome_status', c.outcome_status, 'context', c.context))
              ORDER BY c.id), '[]'::json))
    FROM pg_catalog.unnest($1) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.feature_collection(crimesnap_api.street_crime[]) IS
  'Street-level rows as a GeoJSON FeatureCollection as RFC 7946 says: WGS84 longitude and latitude rounded to six decimals, one Point feature per crime at its snap point.';

CREATE OR REPLACE FUNCTION crimesnap_api.geojson(force text, month text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT crimesnap_api.feature_collection(coalesce(pg_catalog.array_agg(c), '{}'))
    FROM crimesnap_api.street_crime c
   WHERE c.force = $1 AND c.month = pg_catalog.to_char(crimesnap_api.parse_month($2), 'YYYY-MM')
$fn$;
COMMENT ON FUNCTION crimesnap_api.geojson(text, text) IS
  'A force''s street-level month (YYYY-MM) as a GeoJSON FeatureCollection in WGS84.';

CREATE OR REPLACE FUNCTION crimesnap_api.geojson_area(area geometry, month text DEFAULT NULL)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT crimesnap_api.feature_collection(coalesce(pg_catalog.array_agg(c), '{}'))
    FROM crimesnap_api.street_crimes_in_area($1, $2) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.geojson_area(geometry, text) IS
  'The street-level crimes of a month inside an area, as a GeoJSON FeatureCollection in WGS84; the 10,000-row cap of street_crimes_in_area() applies.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crime(c crimesnap_api.street_crime)
RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.json_build_object(
    'category', ($1).category,
    'location_type', 'Force',
    'location', pg_catalog.json_build_object(
       'latitude', crimesnap_api.police_uk_coordinate(($1).latitude),
       'street', pg_catalog.json_build_object('id', ($1).street_id, 'name', ($1).street_name),
       'longitude', crimesnap_api.police_uk_coordinate(($1).longitude)),
    'context', coalesce(($1).context, ''),
    -- ASB has no persistent id and no outcome on police.uk.
    'outcome_status', CASE WHEN ($1).outcome_status IS NOT NULL AND ($1).persistent_id IS NOT NULL
                           THEN pg_catalog.json_build_object('category', ($1).outcome_status, 'date', ($1).month) END,
    'persistent_id', coalesce(($1).persistent_id, ''),
    'id', ($1).id,
    'location_subtype', '',
    'month', ($1).month)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime(crimesnap_api.street_crime) IS
  'One street-level crime as a police.uk crimes-street element: category, location_type "Force", location (six-decimal strings, street id and name), context ("" when none), outcome_status (null or {category, date}), persistent_id ("" for ASB), id, location_subtype "", month.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crime(c crimesnap_api.no_location_crime)
RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.json_build_object(
    'category', ($1).category,
    'location_type', NULL,
    'location', NULL,
    'context', coalesce(($1).context, ''),
    'outcome_status', CASE WHEN ($1).outcome_status IS NOT NULL AND ($1).persistent_id IS NOT NULL
                           THEN pg_catalog.json_build_object('category', ($1).outcome_status, 'date', ($1).month) END,
    'persistent_id', coalesce(($1).persistent_id, ''),
    'id', ($1).id,
    'location_subtype', '',
    'month', ($1).month)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime(crimesnap_api.no_location_crime) IS
  'One crime without a location as a police.uk crimes-no-location element: as a street crime, with location and location_type null.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crimes_street(lat double precision, lng double precision,
                                                      date text DEFAULT NULL, category text DEFAULT 'all-crime')
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    FROM (SELECT crimesnap_api.police_uk_month($3) AS m) mo,
         LATERAL crimesnap_api.street_crimes_near($1, $2, mo.m, crimesnap_api.police_uk_category($4, mo.m)) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_street(double precision, double precision, text, text) IS
  'police.uk''s crimes-street/<category>?lat=&lng=&date=: the crimes of a month within a mile of a point, as a json array. date NULL: the newest month on the map. At most 10,000 (54000 past that).';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crimes_street_poly(poly text, date text DEFAULT NULL,
                                                           category text DEFAULT 'all-crime')
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    FROM (SELECT crimesnap_api.police_uk_month($2) AS m) mo,
         LATERAL crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text($1), mo.m,
                                                     crimesnap_api.police_uk_category($3, mo.m)) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_street_poly(text, text, text) IS
  'police.uk''s crimes-street/<category>?poly=lat,lng:lat,lng:...&date=: the crimes of a month inside a polygon, as a json array. At most 10,000 (54000 past that).';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crimes_at_location(location_id bigint, date text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(date);
  answer json;
BEGIN
  -- A location is a snap point of a set some month on the map was published with.
  IF location_id IS NULL OR NOT EXISTS (
       SELECT FROM crimesnap.snap_point p
        WHERE p.point_id = location_id
          AND p.version IN (SELECT pub.snap_version FROM crimesnap.publication pub WHERE pub.status = 'street-level')) THEN
    RAISE EXCEPTION 'unknown location id %', coalesce(location_id::text, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'Location ids are the street ids of crimesnap_api.street_crime.';
  END IF;
  SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
    INTO answer
    FROM crimesnap_api.street_crime c
   WHERE c.street_id = location_id AND c.month = m;
  RETURN answer;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_at_location(bigint, text) IS
  'police.uk''s crimes-at-location?location_id=&date=: the crimes of a month at one location (snap point), as a json array. SECURITY DEFINER: it checks the id against the snap points of the months on the map.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crimes_at_location(lat double precision, lng double precision,
                                                           date text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(date);
  centre geometry;
  nearest bigint;
BEGIN
  IF lat IS NULL OR lng IS NULL OR lat NOT BETWEEN -90::float8 AND 90::float8
     OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
    RAISE EXCEPTION 'lat % and lng % are not a WGS84 latitude and longitude', coalesce(lat::text, 'NULL'), coalesce(lng::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example lat => 51.7083, lng => -1.2646.';
  END IF;
  centre := ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 27700);
  -- police.uk: the nearest pre-defined location, whether or not it has crimes that month.
  SELECT p.point_id INTO nearest
    FROM crimesnap.snap_point p
   WHERE p.version IN (SELECT pub.snap_version FROM crimesnap.publication pub
                        WHERE pub.status = 'street-level' AND pg_catalog.to_char(pub.month, 'YYYY-MM') = m)
   ORDER BY p.geom <-> centre, p.point_id
   LIMIT 1;
  IF nearest IS NULL THEN
    RETURN '[]'::json;
  END IF;
  RETURN (SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(c) ORDER BY c.id), '[]'::json)
            FROM crimesnap_api.street_crime c
           WHERE c.street_id = nearest AND c.month = m);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_at_location(double precision, double precision, text) IS
  'police.uk''s crimes-at-location?lat=&lng=&date=: the crimes of a month at the location (snap point) nearest a WGS84 point, as a json array; [] when that location had none. SECURITY DEFINER for the snap points'' index.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crimes_no_location(category text, force text, date text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(date);
  cat text := crimesnap_api.police_uk_category(category, m);
BEGIN
  IF force IS NULL OR NOT EXISTS (SELECT FROM crimesnap_api.force f WHERE f.force = police_uk_crimes_no_location.force) THEN
    RAISE EXCEPTION 'unknown force "%"', coalesce(force, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'Ask crimesnap_api.police_uk_forces() for the force ids.';
  END IF;
  RETURN (SELECT coalesce(pg_catalog.json_agg(crimesnap_api.police_uk_crime(n) ORDER BY n.id), '[]'::json)
            FROM crimesnap_api.no_location_crimes(force, m, cat) n);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_no_location(text, text, text) IS
  'police.uk''s crimes-no-location?category=&force=&date=: a force''s crimes of a month without a location, as a json array.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crime_last_updated()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(NULL);
BEGIN
  RETURN pg_catalog.json_build_object('date', m || '-01');
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime_last_updated() IS
  'police.uk''s crime-last-updated: {"date": "YYYY-MM-01"}, the newest month on the map (police.uk gives the month of the latest data, not the day it was loaded).';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crime_categories(date text DEFAULT NULL)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.json_agg(pg_catalog.json_build_object('url', c.url, 'name', c.name))
    FROM crimesnap_api.categories($1) c
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crime_categories(text) IS
  'police.uk''s crime-categories?date=: [{"url", "name"}] of the month, all-crime first.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_crimes_street_dates()
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('date', d.month, 'stop-and-search', '[]'::json) ORDER BY d.month DESC), '[]'::json)
    FROM (SELECT DISTINCT p.month FROM crimesnap_api.published_month p WHERE p.status = 'street-level') d
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_crimes_street_dates() IS
  'police.uk''s crimes-street-dates: [{"date": "YYYY-MM", "stop-and-search": []}], the months on the map, newest first (crimesnap has no stop and search data).';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_forces()
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('id', f.force, 'name', f.name) ORDER BY f.force), '[]'::json)
    FROM crimesnap_api.force f
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_forces() IS
  'police.uk''s forces: [{"id", "name"}].';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_force(id text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT pg_catalog.json_build_object('description', NULL, 'url', NULL, 'engagement_methods', '[]'::json,
                           'telephone', NULL, 'id', f.force, 'name', f.name)
    FROM crimesnap_api.force f
   WHERE f.force = crimesnap_api.police_uk_check_force($1)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_force(text) IS
  'police.uk''s forces/<id>: {"description", "url", "engagement_methods", "telephone", "id", "name"}; crimesnap keeps no contact details, so those are null and [].';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_neighbourhoods(force text)
RETURNS json
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$
  SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('id', n.neighbourhood_id, 'name', n.name) ORDER BY n.neighbourhood_id), '[]'::json)
    FROM crimesnap_api.neighbourhood n
   WHERE n.force = crimesnap_api.police_uk_check_force($1)
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_neighbourhoods(text) IS
  'police.uk''s <force>/neighbourhoods: [{"id", "name"}].';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_neighbourhood_boundary(force text, neighbourhood text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  g geometry;
BEGIN
  SELECT n.geom_wgs84 INTO g FROM crimesnap_api.neighbourhood n
   WHERE n.force = crimesnap_api.police_uk_check_force(police_uk_neighbourhood_boundary.force)
     AND n.neighbourhood_id = neighbourhood;
  IF g IS NULL THEN
    RAISE EXCEPTION 'force "%" has no neighbourhood "%"', force, coalesce(neighbourhood, 'NULL')
      USING ERRCODE = 'no_data_found', HINT = 'Ask crimesnap_api.police_uk_neighbourhoods(force) for its neighbourhoods.';
  END IF;
  -- police.uk's list of vertices: the outer ring of each polygon in turn.
  RETURN (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('latitude', crimesnap_api.police_uk_coordinate(ST_Y(v.geom)),
                                            'longitude', crimesnap_api.police_uk_coordinate(ST_X(v.geom)))
                          ORDER BY v.part, v.n)
            FROM (SELECT d.path[1] AS part, r.path[1] AS n, r.geom
                    FROM ST_Dump(g) d,
                         LATERAL ST_DumpPoints(ST_ExteriorRing(d.geom)) r) v);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_neighbourhood_boundary(text, text) IS
  'police.uk''s <force>/<neighbourhood>/boundary: [{"latitude", "longitude"}] (six-decimal strings), the outer ring of each part of the boundary.';

CREATE OR REPLACE FUNCTION crimesnap_api.police_uk_locate_neighbourhood(q text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  lat float8;
  lng float8;
  found crimesnap_api.neighbourhood;
BEGIN
  IF q IS NULL OR q !~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*,\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' THEN
    RAISE EXCEPTION 'q "%" is not "latitude,longitude"', coalesce(q, 'NULL')
      USING ERRCODE = 'invalid_text_representation', HINT = 'For example q => ''51.7083,-1.2646''.';
  END IF;
  lat := pg_catalog.split_part(q, ',', 1)::float8;
  lng := pg_catalog.split_part(q, ',', 2)::float8;
  IF lat NOT BETWEEN -90::float8 AND 90::float8 OR lng NOT BETWEEN -180::float8 AND 180::float8 THEN
    RAISE EXCEPTION 'q "%" is not a WGS84 latitude and longitude', q USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT n.* INTO found FROM crimesnap_api.neighbourhood n
   WHERE ST_Intersects(n.geom, ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), 27700))
   ORDER BY n.neighbourhood_id LIMIT 1;
  IF found.neighbourhood_id IS NULL THEN
    RAISE EXCEPTION 'no neighbourhood covers %', q
      USING ERRCODE = 'no_data_found', HINT = 'The point is outside every force''s area.';
  END IF;
  RETURN pg_catalog.json_build_object('force', found.force, 'neighbourhood', found.neighbourhood_id);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.police_uk_locate_neighbourhood(text) IS
  'police.uk''s locate-neighbourhood?q=lat,lng: {"force", "neighbourhood"} of the neighbourhood containing the point; P0002 outside every force.';

CREATE OR REPLACE FUNCTION crimesnap_api.tile(z integer, x integer, y integer, month text DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date;
  mvt bytea;
BEGIN
  IF z IS NULL OR x IS NULL OR y IS NULL OR z NOT BETWEEN 0 AND 24
     OR x NOT BETWEEN 0 AND (1 << z) - 1 OR y NOT BETWEEN 0 AND (1 << z) - 1 THEN
    RAISE EXCEPTION 'tile %/%/% does not exist', coalesce(z::text, 'NULL'), coalesce(x::text, 'NULL'), coalesce(y::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'z is 0 to 24; x and y are 0 to 2^z - 1.';
  END IF;
  m := coalesce(crimesnap_api.parse_month(month),
                (SELECT pg_catalog.max(p.month) FROM crimesnap.publication p WHERE p.status = 'street-level'));
  SELECT ST_AsMVT(t, 'crimes'::text, 4096, 'geom'::text, 'street_id'::text) INTO mvt
    FROM (SELECT ST_AsMVTGeom(f.geom, ST_TileEnvelope(z, x, y)::box2d, 4096, 64, true) AS geom,
                 f.street_id, f.street_name, pg_catalog.to_char(m, 'YYYY-MM') AS month, f.crimes, f.by_category
            FROM crimesnap.tile_features(z, x, y, m) f) t
   WHERE t.geom IS NOT NULL;
  RETURN coalesce(mvt, ''::bytea);
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.tile(integer, integer, integer, text) IS
  'A Mapbox vector tile (z/x/y, Web Mercator) of the month''s published snap points, layer "crimes": feature id street_id, street_name, month, crimes and one count per category. month NULL: the newest on the map. pg_tileserv serves it as a function layer. SECURITY DEFINER so that the snap points'' index finds the tile''s points (crimesnap.tile_features); a month is never aggregated as a whole.';

CREATE OR REPLACE FUNCTION crimesnap_api.map_svg(month text DEFAULT NULL, force text DEFAULT NULL, width integer DEFAULT 1000)
RETURNS xml
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m text := crimesnap_api.police_uk_month(month);
  f text := CASE WHEN force IS NULL THEN NULL ELSE crimesnap_api.police_uk_check_force(force) END;
  extent box2d;
  doc xml;
BEGIN
  IF width IS NULL OR width NOT BETWEEN 100 AND 10000 THEN
    RAISE EXCEPTION 'width % is not between 100 and 10000 pixels', coalesce(width::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT ST_Expand(ST_Extent(n.geom), 50::float8) INTO extent
    FROM crimesnap.neighbourhood n WHERE f IS NULL OR n.force_id = f;
  IF extent IS NULL THEN
    RAISE EXCEPTION 'no neighbourhood is loaded' USING ERRCODE = 'no_data_found';
  END IF;
  SELECT xmlelement(name svg,
           xmlattributes('http://www.w3.org/2000/svg' AS xmlns,
                         crimesnap_api.svg_view_box(extent) AS "viewBox",
                         width AS width,
                         pg_catalog.round(width * (ST_YMax(extent) - ST_YMin(extent)) / (ST_XMax(extent) - ST_XMin(extent)))::integer AS height,
                         'crimesnap-map' AS class),
           xmlelement(name title, 'Crimes and ASB on the map, ' || m),
           xmlelement(name rect, xmlattributes(ST_XMin(extent) AS x, -ST_YMax(extent) AS y,
                                               ST_XMax(extent) - ST_XMin(extent) AS width,
                                               ST_YMax(extent) - ST_YMin(extent) AS height, '#f7f5ef' AS fill)),
           xmlelement(name g, xmlattributes('streets' AS class, '#c8c2b4' AS stroke, 'none' AS fill,
                                            '6' AS "stroke-width", 'round' AS "stroke-linecap"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(s.geom, 0, 1) AS d))
                            ORDER BY s.street_id)
                FROM crimesnap.street s
                LEFT JOIN crimesnap.highway_class h ON h.highway = s.highway
               WHERE s.geom && ST_SetSRID(extent::geometry, 27700) AND coalesce(h.carries_points, true))),
           xmlelement(name g, xmlattributes('neighbourhoods' AS class, '#3b4a6b' AS stroke, 'none' AS fill,
                                            '5' AS "stroke-width", '24 12' AS "stroke-dasharray"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(n.geom, 0, 1) AS d, n.neighbourhood_id AS id),
                                       xmlelement(name title, n.name || ' (' || n.neighbourhood_id || ')'))
                            ORDER BY n.neighbourhood_id)
                FROM crimesnap.neighbourhood n WHERE f IS NULL OR n.force_id = f)),
           xmlelement(name g, xmlattributes('crimes' AS class, '#d7301f' AS fill, '0.55' AS "fill-opacity",
                                            '#7f0000' AS stroke, '2' AS "stroke-width"),
             (SELECT pg_catalog.xmlagg(xmlelement(name circle,
                              xmlattributes('crime' AS class, p.street_id AS "data-street-id", p.crimes AS "data-crimes",
                                            ST_X(p.geom)::numeric(12, 1) AS cx, (-ST_Y(p.geom))::numeric(12, 1) AS cy,
                                            crimesnap_api.map_radius(p.crimes) AS r),
                              xmlelement(name title, p.street_name || ': ' || p.crimes ||
                                         CASE WHEN p.crimes = 1 THEN ' crime or ASB' ELSE ' crimes and ASB' END))
                            ORDER BY p.crimes DESC, p.street_id)
                FROM crimesnap_api.snap_point_crimes p
               WHERE p.month = m AND (f IS NULL OR p.force = f))))
    INTO doc;
  RETURN doc;
END
$fn$;
COMMENT ON FUNCTION crimesnap_api.map_svg(text, text, integer) IS
  'The published month as an SVG map (xml): streets, neighbourhood boundaries, and a circle per snap point with crimes (class "crime", data-street-id, data-crimes), its area proportional to the count, with a title. month NULL: the newest on the map; force NULL: every force. SECURITY DEFINER to draw the street centrelines; nothing else it reads is unpublished.';

CREATE OR REPLACE FUNCTION crimesnap.raw_map_svg(force text, month date, width integer DEFAULT 1000)
RETURNS xml
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  extent box2d;
  v integer;
  doc xml;
BEGIN
  IF width IS NULL OR width NOT BETWEEN 100 AND 10000 THEN
    RAISE EXCEPTION 'width % is not between 100 and 10000 pixels', coalesce(width::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT p.snap_version INTO v FROM crimesnap.publication p
   WHERE p.force_id = raw_map_svg.force AND p.month = raw_map_svg.month AND p.status = 'street-level';
  IF v IS NULL THEN
    RAISE EXCEPTION 'force % has no street-level publication for %', force, pg_catalog.to_char(month, 'YYYY-MM')
      USING ERRCODE = 'no_data_found',
            HINT = 'Draw a month on the map: after roll-off a record survives only as counts.';
  END IF;
  SELECT ST_Expand(ST_Extent(n.geom), 50::float8) INTO extent
    FROM crimesnap.neighbourhood n WHERE n.force_id = raw_map_svg.force;
  SELECT xmlelement(name svg,
           xmlattributes('http://www.w3.org/2000/svg' AS xmlns,
                         crimesnap_api.svg_view_box(extent) AS "viewBox",
                         width AS width,
                         pg_catalog.round(width * (ST_YMax(extent) - ST_YMin(extent)) / (ST_XMax(extent) - ST_XMin(extent)))::integer AS height,
                         'crimesnap-raw-map' AS class),
           xmlelement(name title, 'Raw locations and where they were published: ' || force || ', ' || pg_catalog.to_char(month, 'YYYY-MM')
                                  || ' (confidential: raw locations)'),
           xmlelement(name rect, xmlattributes(ST_XMin(extent) AS x, -ST_YMax(extent) AS y,
                                               ST_XMax(extent) - ST_XMin(extent) AS width,
                                               ST_YMax(extent) - ST_YMin(extent) AS height, '#ffffff' AS fill)),
           xmlelement(name g, xmlattributes('catchments' AS class, '#9fb8d6' AS stroke, '#eef3f9' AS fill, '2' AS "stroke-width"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(c.geom, 0, 1) AS d, c.point_id AS "data-street-id"))
                            ORDER BY c.point_id)
                FROM crimesnap.snap_point_catchment c JOIN crimesnap.snap_point sp ON sp.version = c.version AND sp.point_id = c.point_id
                JOIN crimesnap.neighbourhood n ON n.neighbourhood_id = sp.neighbourhood_id
               WHERE c.version = v AND n.force_id = raw_map_svg.force AND NOT ST_IsEmpty(c.geom))),
           xmlelement(name g, xmlattributes('streets' AS class, '#d9d4c7' AS stroke, 'none' AS fill, '4' AS "stroke-width"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(s.geom, 0, 1) AS d)) ORDER BY s.street_id)
                FROM crimesnap.street s WHERE s.geom && ST_SetSRID(extent::geometry, 27700))),
           xmlelement(name g, xmlattributes('neighbourhoods' AS class, '#3b4a6b' AS stroke, 'none' AS fill,
                                            '5' AS "stroke-width", '24 12' AS "stroke-dasharray"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(n.geom, 0, 1) AS d, n.neighbourhood_id AS id))
                            ORDER BY n.neighbourhood_id)
                FROM crimesnap.neighbourhood n WHERE n.force_id = raw_map_svg.force)),
           xmlelement(name g, xmlattributes('moves' AS class, '#555555' AS stroke, '1.5' AS "stroke-width", '0.7' AS "stroke-opacity"),
             (SELECT pg_catalog.xmlagg(xmlelement(name path, xmlattributes(ST_AsSVG(ST_MakeLine(r.geom, sp.geom), 0, 1) AS d)) ORDER BY r.crime_id)
                FROM crimesnap.published_crime pc
                JOIN crimesnap.raw_crime r ON r.crime_id = pc.crime_id
                JOIN crimesnap.snap_point sp ON sp.version = pc.snap_version AND sp.point_id = pc.point_id
               WHERE pc.force_id = raw_map_svg.force AND pc.month = raw_map_svg.month AND r.geom IS NOT NULL)),
           xmlelement(name g, xmlattributes('raw' AS class, '#000000' AS fill),
             (SELECT pg_catalog.xmlagg(xmlelement(name circle, xmlattributes('raw' AS class, ST_X(r.geom)::numeric(12, 1) AS cx,
                                                                  (-ST_Y(r.geom))::numeric(12, 1) AS cy, 4 AS r)) ORDER BY r.crime_id)
                FROM crimesnap.raw_crime r
               WHERE r.force_id = raw_map_svg.force AND r.month = raw_map_svg.month AND r.geom IS NOT NULL
                 AND r.superseded_by_batch IS NULL)),
           xmlelement(name g, xmlattributes('published' AS class, '#d7301f' AS fill, '0.8' AS "fill-opacity", '#7f0000' AS stroke),
             (SELECT pg_catalog.xmlagg(xmlelement(name circle, xmlattributes('published' AS class, sp.point_id AS "data-street-id",
                                                                  ST_X(sp.geom)::numeric(12, 1) AS cx, (-ST_Y(sp.geom))::numeric(12, 1) AS cy,
                                                                  crimesnap_api.map_radius(x.n) AS r),
                                       xmlelement(name title, 'On or near ' || sp.label || ': ' || x.n))
                            ORDER BY sp.point_id)
                FROM (SELECT pc.point_id, pg_catalog.count(*) AS n FROM crimesnap.published_crime pc
                       WHERE pc.force_id = raw_map_svg.force AND pc.month = raw_map_svg.month AND pc.point_id IS NOT NULL
                       GROUP BY pc.point_id) x
                JOIN crimesnap.snap_point sp ON sp.version = v AND sp.point_id = x.point_id)))
    INTO doc;
  RETURN doc;
END
$fn$;
COMMENT ON FUNCTION crimesnap.raw_map_svg(text, date, integer) IS
  'Confidential: a force''s street-level month as an SVG picture of the guarantee, for its data controller: the catchment polygons, each raw location (black) joined by a line to the snap point it was published at (red, sized by its crimes). Runs as the caller, so only roles that read crimesnap.raw_crime can draw it; never in crimesnap_api.';

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

CREATE OR REPLACE FUNCTION crimesnap.check_partner_force(force text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF force IS NULL OR NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = check_partner_force.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', force
      USING ERRCODE = 'foreign_key_violation', HINT = 'Use a force_id from crimesnap.force.';
  END IF;
  PERFORM crimesnap.assert_acts_for(force);
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_partner_force(text) IS
  'Fails unless the session may act on the force''s data for a partner extract or grid counts: the force exists, and the calling role acts for it (crimesnap.assert_acts_for).';

CREATE OR REPLACE FUNCTION crimesnap.partner_extract(force text, period_start date, period_end date, partner text)
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
  notes text[] := '{}'::text[];
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
  SELECT pg_catalog.row_number() OVER (ORDER BY x.committed_on, x.partner_ref)::integer AS row_no, x.*
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
  -- Declared for plpgsql_check, which cannot see a temporary table before it exists.
  PERFORM 'PRAGMA:TABLE: cs_extract (row_no integer, partner_ref text, offence_code text, committed_on date, geom geometry, offence_description text, committed_from_time time, committed_to date, committed_to_time time, address text, postcode text, method_of_entry text, property_stolen text, weapon text, distraction_burglary boolean, drugs_related boolean, alcohol_related boolean, racially_motivated boolean, domestic boolean, withheld text[])';
  SELECT pg_catalog.array_agg(e.geom ORDER BY e.row_no), pg_catalog.array_agg(e.postcode ORDER BY e.row_no) INTO geoms, pcs
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
      FROM pg_temp.cs_extract e, pg_catalog.unnest(e.withheld) w HAVING pg_catalog.count(*) > 0) t;

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
COMMENT ON FUNCTION crimesnap.partner_extract(text, date, date, text) IS
  'The police recorded crime offence data set of CSP guidance section 3.2.1 for one force, period and partner, depersonalised (Appendix 1): partner reference, offence code, dates and times, sanitised address, postcode-centroid easting and northing, screened details and markers. Logs the extract with its section 3.4 metadata in crimesnap.partner_extract_log and returns its rows.';

CREATE OR REPLACE FUNCTION crimesnap.grid_blocks(points geometry[], cell_size_m integer)
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
  IF EXISTS (SELECT FROM pg_catalog.unnest(points) g WHERE g IS NOT NULL AND (ST_SRID(g) <> 27700 OR GeometryType(g) <> 'POINT')) THEN
    RAISE EXCEPTION 'grid blocks need points in British National Grid'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass points in EPSG:27700.';
  END IF;

  -- Level-0 cells that hold a point, or an address inside a top-level block that holds a point.
  WITH p AS (
    SELECT pg_catalog.int4(pg_catalog.floor(ST_X(g) / cell_size_m::float8)) AS x, pg_catalog.int4(pg_catalog.floor(ST_Y(g) / cell_size_m::float8)) AS y
      FROM pg_catalog.unnest(points) g WHERE g IS NOT NULL
  ), top AS (
    SELECT DISTINCT p.x >> levels AS tx, p.y >> levels AS ty FROM p
  ), a AS (
    SELECT z.x, z.y FROM (
      SELECT pg_catalog.int4(pg_catalog.floor(ST_X(pa.geom) / cell_size_m::float8)) AS x, pg_catalog.int4(pg_catalog.floor(ST_Y(pa.geom) / cell_size_m::float8)) AS y
        FROM crimesnap.postal_addresses() pa) z
     WHERE (z.x >> levels, z.y >> levels) IN (SELECT top.tx, top.ty FROM top)
  ), c AS (
    SELECT coalesce(pc.x, ac.x) AS x, coalesce(pc.y, ac.y) AS y,
           pg_catalog.int4(coalesce(ac.n, 0)) AS n_addr, pg_catalog.int4(coalesce(pc.n, 0)) AS n_crime
      FROM (SELECT p.x, p.y, pg_catalog.count(*) AS n FROM p GROUP BY p.x, p.y) pc
      FULL JOIN (SELECT a.x, a.y, pg_catalog.count(*) AS n FROM a GROUP BY a.x, a.y) ac
        ON ac.x = pc.x AND ac.y = pc.y
  )
  SELECT pg_catalog.array_agg(c.x ORDER BY c.x, c.y), pg_catalog.array_agg(c.y ORDER BY c.x, c.y),
         pg_catalog.array_agg(c.n_addr ORDER BY c.x, c.y), pg_catalog.array_agg(c.n_crime ORDER BY c.x, c.y)
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
    SELECT pg_catalog.array_agg(CASE WHEN z.lv IS NULL AND z.s >= k THEN l ELSE z.lv END ORDER BY z.i) INTO lv
      FROM (SELECT u.i, u.lv,
                   pg_catalog.sum(u.a) FILTER (WHERE u.lv IS NULL) OVER (PARTITION BY u.x >> l, u.y >> l) AS s
              FROM ROWS FROM (pg_catalog.unnest(cx), pg_catalog.unnest(cy), pg_catalog.unnest(ad), pg_catalog.unnest(lv)) WITH ORDINALITY u(x, y, a, lv, i)) z;
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
            FROM ROWS FROM (pg_catalog.unnest(cx), pg_catalog.unnest(cy), pg_catalog.unnest(ad), pg_catalog.unnest(cr), pg_catalog.unnest(lv)) u(x, y, a, c, lv)
           GROUP BY 1, 2, 3) r
   WHERE r.crimes > 0
   ORDER BY r.l NULLS LAST, r.bx, r.by;
END
$fn$;
COMMENT ON FUNCTION crimesnap.grid_blocks(geometry[], integer) IS
  'Counts points in blocks of the British National Grid (ICO guidance, paragraph 35): a cell_size_m cell with fewer than crimesnap.min_addresses distinct postal addresses is merged with the unpublished cells of its 2x2, 4x4, 8x8 and 16x16 block until the region holds enough, or withheld (block ''withheld'', no geometry). Regions never overlap.';

CREATE OR REPLACE FUNCTION crimesnap.grid_counts(force text, month date, cell_size_m integer DEFAULT 250, category text DEFAULT NULL)
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
  SELECT pg_catalog.array_agg(r.geom ORDER BY r.crime_id), pg_catalog.array_agg(d.postcode ORDER BY r.crime_id) INTO g, pcs
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
COMMENT ON FUNCTION crimesnap.grid_counts(text, date, integer, text) IS
  'A partner''s grid counts: a force''s records of a month (police.uk category, optional) counted at their depersonalised postcode-centroid points in blocks of the British National Grid, merged until each holds crimesnap.min_addresses addresses (ICO guidance, paragraph 35). The last row, ''withheld'', counts what no block could hold.';

CREATE OR REPLACE FUNCTION crimesnap.dumped_rows()
RETURNS TABLE (table_name regclass, rows bigint)
LANGUAGE plpgsql
STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.cfg::regclass AS rel, coalesce(c.cond, '') AS cond
      FROM pg_catalog.pg_extension e,
           ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS c(cfg, cond)
     WHERE e.extname = 'crimesnap'
       AND (SELECT k.relkind FROM pg_catalog.pg_class k WHERE k.oid = c.cfg) IN ('r', 'p')
     ORDER BY c.cfg::regclass::text
  LOOP
    table_name := r.rel;
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s %s', r.rel, r.cond) INTO rows;
    RETURN NEXT;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION crimesnap.dumped_rows() IS
  'The rows of each crimesnap table that pg_dump keeps (the extension''s dump configuration: all rows, or those not seeded). DROP EXTENSION crimesnap is refused while any of them, the id key aside, exists.';


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
