-- The role matrix of docs/security.md, cell by cell.  Relations and functions are found
-- from the catalog, so objects added later are held to the same rules.
BEGIN;
SELECT plan(48);
SET client_min_messages = warning;

-- Every privilege a role holds on an extension relation, as (role, relation, privilege).
CREATE TEMP VIEW rel_privs AS
SELECT r.rolname AS role, c.oid::regclass::text AS rel, p.priv
  FROM pg_class c
  CROSS JOIN (VALUES ('crimesnap_web'), ('crimesnap_analyst'), ('crimesnap_loader'), ('crimesnap_publisher'), ('crimesnap_admin')) r(rolname)
  CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv)
 WHERE c.relnamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
   AND c.relkind IN ('r', 'v', 'm', 'p')
   AND has_table_privilege(r.rolname, c.oid, p.priv);

-- Column privileges a role holds without the table privilege, as (role, relation, privilege).
CREATE TEMP VIEW col_privs AS
SELECT r.rolname AS role, c.oid::regclass::text AS rel, p.priv
  FROM pg_class c
  CROSS JOIN (VALUES ('crimesnap_web'), ('crimesnap_analyst'), ('crimesnap_loader'), ('crimesnap_publisher'), ('crimesnap_admin')) r(rolname)
  CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('REFERENCES')) p(priv)
 WHERE c.relnamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
   AND c.relkind IN ('r', 'v', 'm', 'p')
   AND has_any_column_privilege(r.rolname, c.oid, p.priv)
   AND NOT has_table_privilege(r.rolname, c.oid, p.priv);

CREATE TEMP VIEW fn_privs AS
SELECT r.rolname AS role, f.oid::regprocedure::text AS fn
  FROM pg_proc f
  CROSS JOIN (VALUES ('crimesnap_web'), ('crimesnap_analyst'), ('crimesnap_loader'), ('crimesnap_publisher'), ('crimesnap_admin')) r(rolname)
 WHERE f.pronamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
   AND has_function_privilege(r.rolname, f.oid, 'EXECUTE');

-- ---- PUBLIC ----
SELECT is((SELECT count(*) FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
            WHERE c.relnamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
              AND a.grantee = 0), 0::bigint, 'PUBLIC holds no privilege on any crimesnap relation');
SELECT is((SELECT count(*) FROM pg_proc f, aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) a
            WHERE f.pronamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
              AND a.grantee = 0), 0::bigint, 'PUBLIC may execute no crimesnap function');
SELECT is((SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a
            WHERE n.nspname IN ('crimesnap', 'crimesnap_api') AND a.grantee = 0), 0::bigint,
          'PUBLIC has no USAGE on the crimesnap schemas');
SELECT is((SELECT count(*) FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid,
                  aclexplode(coalesce(c.relacl, acldefault('s', c.relowner))) a
            WHERE c.relnamespace = 'crimesnap'::regnamespace AND a.grantee = 0), 0::bigint,
          'PUBLIC holds no privilege on any crimesnap sequence');

-- ---- crimesnap_web: crimesnap_api, and nothing else ----
SELECT ok(has_schema_privilege('crimesnap_web', 'crimesnap_api', 'USAGE'), 'web: USAGE on crimesnap_api');
SELECT ok(NOT has_schema_privilege('crimesnap_web', 'crimesnap', 'USAGE'), 'web: no USAGE on crimesnap');
SELECT is((SELECT count(*) FROM rel_privs WHERE role = 'crimesnap_web' AND rel NOT LIKE 'crimesnap_api.%'), 0::bigint,
          'web: no privilege on any relation of schema crimesnap');
SELECT is((SELECT count(*) FROM rel_privs WHERE role = 'crimesnap_web' AND priv <> 'SELECT'), 0::bigint,
          'web: read-only everywhere');
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'crimesnap_api'::regnamespace
              AND c.relkind IN ('r', 'v', 'm') AND NOT has_table_privilege('crimesnap_web', c.oid, 'SELECT')),
          0::bigint, 'web: reads every relation of crimesnap_api');
SELECT is((SELECT count(*) FROM fn_privs WHERE role = 'crimesnap_web' AND fn NOT LIKE 'crimesnap_api.%'), 0::bigint,
          'web: may execute no function of schema crimesnap');
SELECT is((SELECT count(*) FROM pg_proc f WHERE f.pronamespace = 'crimesnap_api'::regnamespace
              AND NOT has_function_privilege('crimesnap_web', f.oid, 'EXECUTE')),
          0::bigint, 'web: may execute every function of crimesnap_api');

SET ROLE crimesnap_web;
SELECT throws_ok('SELECT * FROM crimesnap.raw_crime', '42501', NULL, 'web: reading crimesnap.raw_crime is refused');
SELECT throws_ok('SELECT * FROM crimesnap.address', '42501', NULL, 'web: reading crimesnap.address is refused');
SELECT throws_ok('SELECT * FROM crimesnap.published_crime', '42501', NULL, 'web: reading crimesnap.published_crime is refused');
SELECT throws_ok('SELECT * FROM crimesnap.secret', '42501', NULL, 'web: reading crimesnap.secret is refused');
SELECT throws_ok($$SELECT crimesnap.persistent_id('x', 'y')$$, '42501', NULL, 'web: computing persistent ids is refused');
SELECT lives_ok('SELECT * FROM crimesnap_api.street_crime', 'web: reads crimesnap_api.street_crime');
RESET ROLE;

-- ---- crimesnap_analyst: published and aggregate data, never raw records ----
SELECT is((SELECT count(*) FROM rel_privs WHERE role = 'crimesnap_analyst' AND priv <> 'SELECT'), 0::bigint,
          'analyst: read-only everywhere');
SELECT is((SELECT array_agg(rel ORDER BY rel) FROM rel_privs
            WHERE role = 'crimesnap_analyst' AND rel LIKE 'crimesnap.%'),
          ARRAY['crimesnap.category', 'crimesnap.category_fold', 'crimesnap.force',
                'crimesnap.force_snap_point_result', 'crimesnap.lsoa', 'crimesnap.lsoa_cover', 'crimesnap.neighbourhood',
                'crimesnap.offence_code', 'crimesnap.outcome_category', 'crimesnap.place_class', 'crimesnap.publication',
                'crimesnap.snap_point', 'crimesnap.snap_point_catchment', 'crimesnap.snap_point_change',
                'crimesnap.snap_point_set', 'crimesnap.trend'],
          'analyst: reads exactly the published, aggregate and reference tables of schema crimesnap');

-- ---- crimesnap_loader: the upload and its force's offence codes ----
SELECT is((SELECT array_agg(rel || ' ' || priv ORDER BY rel, priv) FROM rel_privs
            WHERE role = 'crimesnap_loader' AND priv IN ('INSERT', 'UPDATE', 'DELETE')),
          ARRAY['crimesnap.offence_code DELETE', 'crimesnap.offence_code INSERT', 'crimesnap.offence_code UPDATE',
                'crimesnap.outcome_code DELETE', 'crimesnap.outcome_code INSERT', 'crimesnap.outcome_code UPDATE',
                'crimesnap.staged_upload DELETE'],
          'loader: writes exactly the offence codes (its force''s, by trigger), the outcome mappings and its staged rows');
SELECT is((SELECT array_agg(rel || ' ' || priv ORDER BY rel, priv) FROM col_privs WHERE role = 'crimesnap_loader'),
          ARRAY['crimesnap.crime_upload INSERT', 'crimesnap.force_snap_point INSERT'],
          'loader: inserts the upload''s and force points'' own columns only (never loaded_by or added_by)');
SELECT is((SELECT count(*) FROM rel_privs WHERE role = 'crimesnap_loader'
              AND rel IN ('crimesnap.raw_crime', 'crimesnap.published_crime', 'crimesnap.secret',
                          'crimesnap.withdrawal', 'crimesnap.audit_log', 'crimesnap.crime_upload',
                          'crimesnap.force_binding', 'crimesnap.outcome_history', 'crimesnap.context_text',
                          'crimesnap.context_review', 'crimesnap.context_decision')), 0::bigint,
          'loader: no access to raw records, published rows, the key, withdrawals, the audit log, other forces'' staged rows, the bindings, outcome history or context texts');
SELECT is((SELECT count(*) FROM rel_privs WHERE role = 'crimesnap_loader' AND priv IN ('TRUNCATE', 'TRIGGER', 'REFERENCES')),
          0::bigint, 'loader: no TRUNCATE, TRIGGER or REFERENCES');
SELECT ok((SELECT bool_and(has_function_privilege('crimesnap_loader', f, 'EXECUTE'))
             FROM unnest(ARRAY['crimesnap.register_batch(text,date,integer,text,text,text,text,text,date,text)']::regprocedure[]) f),
          'loader: registers batches');
SELECT ok(NOT has_function_privilege('crimesnap_loader', 'crimesnap.publish_month(text,date,date,text)', 'EXECUTE'),
          'loader: cannot publish');

-- ---- crimesnap_publisher: reads what it controls, changes it only through the pipeline ----
SELECT is((SELECT array_agg(rel || ' ' || priv ORDER BY rel, priv) FROM rel_privs
            WHERE role = 'crimesnap_publisher' AND priv <> 'SELECT'),
          ARRAY['crimesnap.partner_agreement DELETE', 'crimesnap.partner_agreement INSERT', 'crimesnap.partner_agreement UPDATE'],
          'publisher: changes data only through the pipeline functions, and its forces'' agreements with partners (by trigger)');
SELECT is((SELECT array_agg(rel || ' ' || priv ORDER BY rel, priv) FROM col_privs WHERE role = 'crimesnap_publisher'),
          ARRAY['crimesnap.force_snap_point INSERT'],
          'publisher: and adds force points (its force''s, by trigger), never removes one');
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'crimesnap'::regnamespace AND c.relkind IN ('r', 'v')
              AND NOT has_table_privilege('crimesnap_publisher', c.oid, 'SELECT')),
          ARRAY['crime_upload', 'force_binding', 'secret'],
          'publisher: reads every table but the secret, the bindings and the raw staging table (its staged rows through staged_upload)');
SELECT ok(NOT has_function_privilege('crimesnap_publisher', 'crimesnap.build_snap_points(text,integer,text,boolean)', 'EXECUTE')
          AND NOT has_function_privilege('crimesnap_publisher', 'crimesnap.set_current_snap_points(integer)', 'EXECUTE')
          AND NOT has_function_privilege('crimesnap_publisher', 'crimesnap.build_snap_point_set(text,integer,text,boolean,double precision)', 'EXECUTE'),
          'publisher: builds no snap points and chooses no current set (national configuration)');
SELECT ok((SELECT bool_and(has_function_privilege('crimesnap_publisher', f, 'EXECUTE'))
             FROM unnest(ARRAY['crimesnap.audit_snap_points(integer)',
                               'crimesnap.publish_month(text,date,date,text)',
                               'crimesnap.roll_off(date)',
                               'crimesnap.withdraw(text,text)',
                               'crimesnap.withdraw_force(text,text,date)',
                               'crimesnap.reinstate(bigint,text)',
                               'crimesnap.set_context_publication(text,boolean,text)',
                               'crimesnap.approve_context(bigint,text,text)',
                               'crimesnap.reject_context(bigint,text)',
                               'crimesnap.revoke_context(bigint,text)']::regprocedure[]) f),
          'publisher: audits, publishes, rolls off, withdraws, reinstates and reviews context');
SELECT is((SELECT array_agg(DISTINCT role ORDER BY role) FROM fn_privs
            WHERE fn IN ('crimesnap.set_context_publication(text,boolean,text)', 'crimesnap.approve_context(bigint,text,text)',
                         'crimesnap.reject_context(bigint,text)', 'crimesnap.revoke_context(bigint,text)')),
          ARRAY['crimesnap_publisher'], 'only publishers decide on context');

-- ---- crimesnap_admin: national configuration, no force's data ----
SELECT is((SELECT array_agg(DISTINCT rel ORDER BY rel) FROM rel_privs
            WHERE role = 'crimesnap_admin' AND priv IN ('INSERT', 'UPDATE', 'DELETE')),
          ARRAY['crimesnap.address', 'crimesnap.category', 'crimesnap.category_fold', 'crimesnap.force',
                'crimesnap.force_snap_point', 'crimesnap.highway_class', 'crimesnap.lsoa',
                'crimesnap.neighbourhood', 'crimesnap.offence_code', 'crimesnap.partner', 'crimesnap.partner_agreement',
                'crimesnap.place_class', 'crimesnap.postcode', 'crimesnap.public_place', 'crimesnap.street'],
          'admin: writes exactly the national configuration tables (and removes force points)');
SELECT is((SELECT count(*) FROM rel_privs WHERE role = 'crimesnap_admin'
              AND rel IN ('crimesnap.raw_crime', 'crimesnap.reject', 'crimesnap.batch', 'crimesnap.crime_upload',
                          'crimesnap.staged_upload', 'crimesnap.published_crime', 'crimesnap.trend_member',
                          'crimesnap.withdrawal', 'crimesnap.audit_log', 'crimesnap.secret',
                          'crimesnap.raw_crime_detail', 'crimesnap.upload_detail_stage',
                          'crimesnap.partner_extract_row')), 0::bigint,
          'admin: reads no raw record, reject, batch, staged row, withdrawal, audit entry or the key');
SELECT is((SELECT count(*) FROM rel_privs WHERE role = 'crimesnap_admin' AND priv IN ('TRUNCATE', 'TRIGGER', 'REFERENCES')),
          0::bigint, 'admin: no TRUNCATE, TRIGGER or REFERENCES');
SELECT ok((SELECT bool_and(has_function_privilege('crimesnap_admin', f, 'EXECUTE'))
             FROM unnest(ARRAY['crimesnap.build_snap_points(text,integer,text,boolean)',
                               'crimesnap.set_current_snap_points(integer)',
                               'crimesnap.rotate_persistent_id_key(text)',
                               'crimesnap.grant_force(regrole,text)',
                               'crimesnap.revoke_force(regrole,text)']::regprocedure[]) f),
          'admin: builds snap points, chooses the current set, rotates the key, binds roles to forces');
SELECT is((SELECT array_agg(f ORDER BY f) FROM unnest(ARRAY['crimesnap.register_batch(text,date,integer,text,text,text,text,text,date,text)',
                               'crimesnap.publish_month(text,date,date,text)', 'crimesnap.roll_off(date)',
                               'crimesnap.withdraw(text,text)', 'crimesnap.withdraw_force(text,text,date)',
                               'crimesnap.reinstate(bigint,text)', 'crimesnap.persistent_id(text,text)']::regprocedure[]) f
            WHERE has_function_privilege('crimesnap_admin', f, 'EXECUTE')), NULL,
          'admin: registers, publishes, rolls off, withdraws and reinstates nothing, and computes no persistent id');
SELECT is((SELECT array_agg(r ORDER BY r) FROM unnest(ARRAY['crimesnap_web', 'crimesnap_analyst', 'crimesnap_loader', 'crimesnap_publisher']) r,
                  unnest(ARRAY['crimesnap.build_snap_points(text,integer,text,boolean)', 'crimesnap.set_current_snap_points(integer)',
                               'crimesnap.rotate_persistent_id_key(text)', 'crimesnap.grant_force(regrole,text)',
                               'crimesnap.revoke_force(regrole,text)']::regprocedure[]) f
            WHERE has_function_privilege(r, f, 'EXECUTE')), NULL,
          'no other role builds snap points, chooses the current set, rotates the key or binds roles');

-- ---- the key ----
SELECT is((SELECT count(*) FROM rel_privs WHERE rel = 'crimesnap.secret'), 0::bigint,
          'no crimesnap role can read the persistent id key');

-- ---- definer functions cannot be hijacked through search_path ----
SELECT is((SELECT count(*) FROM pg_proc f
            WHERE f.pronamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
              AND f.prosecdef
              AND NOT EXISTS (SELECT FROM unnest(f.proconfig) c WHERE c LIKE 'search_path=pg_catalog, %pg_temp')),
          0::bigint, 'every SECURITY DEFINER function pins search_path to pg_catalog first and pg_temp last');
-- ---- calls into pg_catalog are schema-qualified (docs/security.md, "Calls that cannot be captured") ----
-- An unqualified call of a pg_catalog function whose arguments do not match a signature
-- exactly (count(x), array_agg(x), format(...), date_trunc on a date) can resolve to an
-- overload a database owner creates in PostGIS's schema.  Strings and comments are left out;
-- names that are types, SQL syntax (EXTRACT, POSITION, ...) or PostGIS functions are not
-- pg_catalog calls.  test/pgtap/impostors.sql tries the calls themselves.
CREATE TEMP VIEW unqualified_calls AS
WITH body AS (
  SELECT p.oid::regprocedure::text AS fn,
         regexp_replace(regexp_replace(p.prosrc, '--[^\n]*', '', 'g'), '''([^'']|'''')*''', '''''', 'g') AS src
    FROM pg_proc p
   WHERE p.pronamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
     AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql'))
), calls AS (
  SELECT b.fn, lower(m[1]) AS name FROM body b, regexp_matches(b.src, '(?<![.\w"])([A-Za-z_]\w*)\s*(?=\()', 'g') m
)
SELECT c.fn, string_agg(DISTINCT c.name, ', ') AS names
  FROM calls c
 WHERE EXISTS (SELECT FROM pg_proc f WHERE f.proname = c.name AND f.pronamespace = 'pg_catalog'::regnamespace)
   AND NOT EXISTS (SELECT FROM pg_type t WHERE t.typname = c.name)
   AND NOT EXISTS (SELECT FROM pg_proc f JOIN pg_extension e ON e.extnamespace = f.pronamespace AND e.extname = 'postgis'
                    WHERE f.proname = c.name)
   AND c.name NOT IN ('extract', 'overlay', 'position', 'substring', 'normalize', 'overlaps', 'like', 'xmlexists', 'left', 'right')
 GROUP BY 1;
-- The check catches a planted unqualified count(x)...
CREATE FUNCTION crimesnap.cs_test_unqualified(x bigint) RETURNS bigint LANGUAGE sql
  AS $$ SELECT count(abs(x)) FROM (SELECT $1) s(x) -- format(not this) $$;
SELECT is((SELECT names FROM unqualified_calls WHERE fn LIKE 'crimesnap.cs_test_unqualified%'), 'abs, count',
          'the check of unqualified pg_catalog calls finds a planted count(abs(x)), the inner call too');
DROP FUNCTION crimesnap.cs_test_unqualified(bigint);
-- ...and there is none in crimesnap.
SELECT is((SELECT string_agg(fn || ': ' || names, '; ') FROM unqualified_calls), NULL,
          'every call of a pg_catalog function in crimesnap''s SQL and PL/pgSQL is schema-qualified');

SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'crimesnap'::regnamespace AND c.relrowsecurity),
          ARRAY['audit_log', 'batch', 'context_decision', 'context_text', 'outcome_history', 'partner_extract_log', 'partner_extract_row',
                'raw_crime', 'raw_crime_detail', 'reject', 'upload_detail_stage', 'withdrawal'],
          'row-level security limits the raw and per-force tables to the forces a role acts for');
SELECT is((SELECT count(*) FROM pg_class c
            WHERE c.relnamespace = 'crimesnap'::regnamespace AND c.relkind = 'v'
              AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
              AND EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
                           WHERE w.ev_class = c.oid AND d.refobjid IN (SELECT x.oid FROM pg_class x WHERE x.relrowsecurity))
              -- a view may filter by the reader's forces itself (crimesnap.acts_for), or serve a
              -- partner, who acts for no force, its own extracts (crimesnap.partner_may_read)
              AND pg_catalog.pg_get_viewdef(c.oid) !~ 'crimesnap\.(acts_for|partner_may_read)\('
              -- what a crimesnap_api view publishes is public anyway (published_outcome)
              AND NOT EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class a ON a.oid = w.ev_class
                               WHERE d.refobjid = c.oid AND a.relnamespace = 'crimesnap_api'::regnamespace)),
          0::bigint, 'every view over those tables that crimesnap_api does not publish applies the reader''s row-level security (security_invoker)');
INSERT INTO crimesnap.force VALUES ('testforce', 'Test');
INSERT INTO crimesnap.neighbourhood VALUES ('T1', 'testforce', 'T1', ST_MakeEnvelope(0, 0, 100, 100, 27700));
CREATE SCHEMA evil;
CREATE FUNCTION evil.st_intersects(geometry, geometry) RETURNS boolean LANGUAGE sql AS 'SELECT false';
SET LOCAL search_path = evil, public;
SELECT is((SELECT count(*) FROM crimesnap.neighbourhood n
            WHERE st_intersects(n.geom, ST_SetSRID(ST_MakePoint(50, 50), 27700))), 0::bigint,
          'an impostor ST_Intersects first in the caller''s search_path wins unqualified calls of the caller');
SELECT is(crimesnap.neighbourhood_at(ST_SetSRID(ST_MakePoint(50, 50), 27700)), 'T1',
          'but crimesnap''s functions keep using PostGIS''s own');
RESET search_path;

-- ---- crimesnap_partner: its own extracts, through two views ----
SELECT is((SELECT array_agg(c.oid::regclass::text || ' ' || p.priv ORDER BY 1)
             FROM pg_class c
             CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv)
            WHERE c.relnamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
              AND c.relkind IN ('r', 'v', 'm', 'p') AND has_table_privilege('crimesnap_partner', c.oid, p.priv)),
          ARRAY['crimesnap.my_partner_extract SELECT', 'crimesnap.my_partner_extract_row SELECT'],
          'partner: reads its two views and nothing else');
SELECT is((SELECT array_agg(f.oid::regprocedure::text ORDER BY 1) FROM pg_proc f
            WHERE f.pronamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
              AND has_function_privilege('crimesnap_partner', f.oid, 'EXECUTE')),
          ARRAY['crimesnap.partner_may_read(name,text,text)'], 'partner: executes only the check its views make');
SELECT ok(NOT has_schema_privilege('crimesnap_partner', 'crimesnap_api', 'USAGE'), 'partner: no USAGE on crimesnap_api');

SELECT * FROM finish();
ROLLBACK;
