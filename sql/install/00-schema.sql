-- crimesnap install script, built from sql/install/*.sql in file-name order.
-- Section 00: schemas and roles.  Security first: nothing is PUBLIC, and every role gets
-- only what docs/security.md lists for it.

\echo Use "CREATE EXTENSION crimesnap" to load this file. \quit

REVOKE ALL ON SCHEMA crimesnap FROM PUBLIC;
COMMENT ON SCHEMA crimesnap IS
  'crimesnap internals: raw force data, snap points, published months and the trend table. Never readable by the web role.';

CREATE SCHEMA crimesnap_api;
REVOKE ALL ON SCHEMA crimesnap_api FROM PUBLIC;
COMMENT ON SCHEMA crimesnap_api IS
  'Everything a web service may read: the same safeguards for the map, the API and every export.';

-- Roles are cluster-wide, so a second database that installs crimesnap reuses them.
DO $roles$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('crimesnap_web',       'Web services: reads crimesnap_api and nothing else.'),
      ('crimesnap_analyst',   'Analysts: read published street-level data and trends, never raw records.'),
      ('crimesnap_loader',    'Force DBAs: load the monthly upload, register batches and manage the offence codes of the forces they act for.'),
      ('crimesnap_publisher', 'Force data controllers: publish, roll off, withdraw and reinstate the data of the forces they act for.'),
      ('crimesnap_admin',     'National administrators: forces, boundaries, streets, addresses, places, national offence codes and categories, snap point builds, the id key, and which roles act for which force.'))
      AS t(name, about)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r.name);
    END IF;
    EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.name, r.about);
  END LOOP;
END
$roles$;

-- A web service connects as a login role that is a member of crimesnap_web; the analyst and
-- loader roles read the API too, so that one query works for everybody.
GRANT USAGE ON SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT USAGE ON SCHEMA crimesnap TO crimesnap_analyst, crimesnap_loader, crimesnap_publisher;

-- PostgreSQL 15 has no @extschema:postgis@ to qualify PostGIS names with, so every SQL and
-- PL/pgSQL function here captures this search_path with SET search_path FROM CURRENT:
-- pg_catalog first, then PostGIS's own schema, then pg_temp last, so that neither a
-- temporary object nor anything in a user's schema can stand in for a name we use.
-- crimesnap's own objects are always schema-qualified.
SELECT pg_catalog.set_config('search_path',
  pg_catalog.format('pg_catalog, %I, pg_temp',
    (SELECT n.nspname
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'postgis')),
  true);

CREATE FUNCTION crimesnap.setting(name text)
RETURNS text
LANGUAGE C STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_setting';
COMMENT ON FUNCTION crimesnap.setting(text) IS
  'Current value of the GUC crimesnap.<name>. Calling it loads the library, so it works in a session that has not used crimesnap yet, where SHOW would not.';
