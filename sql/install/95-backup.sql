-- Section 95: backups and DROP EXTENSION.  C: src/backup.c.  Tests: test/tools/dump.sh
-- (make check dumps and restores the published town), test/pgtap/backup.sql.  Guide:
-- docs/backups.md.
--
-- pg_dump skips the data of a table that belongs to an extension unless the install script
-- marks it with pg_extension_config_dump, so this section marks every crimesnap table and
-- sequence.  Tables that the scripts seed get a seeded column, and the mark's filter leaves
-- the seeded rows out: CREATE EXTENSION writes them again on restore, so a restore never
-- collides with the seed (PostGIS marks spatial_ref_sys the same way).  The id key is dumped
-- whole, and the restore puts it in place of the one CREATE EXTENSION generated, so persistent
-- ids survive.  Two tables are left out: crimesnap.snap_index_generation, a change counter
-- whose value means nothing in another cluster, and crimesnap.trend, which the restore
-- rebuilds from crimesnap.trend_member (its rows are derived from them by a trigger).

-- ---- seeded configuration rows ----

CREATE FUNCTION crimesnap.seed_guard()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'crimesnap_seed_guard';
COMMENT ON FUNCTION crimesnap.seed_guard() IS
  'Row trigger on the tables crimesnap''s scripts seed: marks the rows the install or upgrade script writes as seeded and every other row as not, and refuses to change or delete a seeded row outside those scripts (a restore would bring the script''s version back).';

DO $seeded$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['highway_class', 'category', 'category_fold', 'offence_code', 'place_class', 'reject_reason',
                           'outcome_category', 'outcome_code']
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
END
$seeded$;

-- ---- the id key ----

-- The key CREATE EXTENSION generates is marked from_install.  A restore first runs CREATE
-- EXTENSION, which generates a key of its own, and then copies the dumped rows in: the
-- trigger lets the dumped key, itself marked from_install, take the generated one's place.
-- Any other insert of a secret that exists (partner_key()'s ON CONFLICT DO NOTHING, say)
-- behaves as usual.
ALTER TABLE crimesnap.secret ADD COLUMN from_install boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN crimesnap.secret.from_install IS
  'Whether CREATE EXTENSION generated this secret (the persistent id key). On restore, the dumped row of such a secret replaces the one the restore''s CREATE EXTENSION generated.';
UPDATE crimesnap.secret SET from_install = true WHERE name OPERATOR(pg_catalog.=) 'persistent_id_key';

CREATE FUNCTION crimesnap.secret_restore()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF NEW.from_install THEN
    UPDATE crimesnap.secret s SET value = NEW.value
     WHERE s.name OPERATOR(pg_catalog.=) NEW.name AND s.from_install;
    IF FOUND THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION crimesnap.secret_restore() IS
  'BEFORE INSERT trigger on crimesnap.secret: a secret CREATE EXTENSION generated, inserted again from_install (as a restore''s COPY does), takes the inserted value instead of failing. This is how a restore puts the dumped id key in place of the one CREATE EXTENSION generated.';
CREATE TRIGGER secret_restore BEFORE INSERT ON crimesnap.secret
  FOR EACH ROW EXECUTE FUNCTION crimesnap.secret_restore();
COMMENT ON TRIGGER secret_restore ON crimesnap.secret IS
  'A restore replaces the generated key with the dumped one, so persistent ids survive it.';

-- ---- every other table and every sequence, whole ----

DO $dump$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS rel
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'crimesnap'::regnamespace
       AND c.relkind IN ('r', 'p', 'S')
       -- The change counter means nothing in another cluster; the trend is rebuilt from its
       -- members (trigger trend_from_members) as a restore copies them in, so dumping it too
       -- would count every record twice.
       AND c.oid <> ALL (ARRAY['crimesnap.snap_index_generation'::regclass, 'crimesnap.trend'::regclass])
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attname = 'seeded' AND NOT a.attisdropped)
     ORDER BY c.relname
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(r.rel, '');
  END LOOP;
END
$dump$;

CREATE FUNCTION crimesnap.dumped_rows()
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

-- ---- DROP EXTENSION ----

CREATE FUNCTION crimesnap.drop_guard()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'crimesnap_drop_guard';
COMMENT ON FUNCTION crimesnap.drop_guard() IS
  'Event trigger: refuses DROP EXTENSION crimesnap, and a DROP ... CASCADE of an extension it requires or of a schema it or such an extension lives in, while crimesnap.dumped_rows() finds data, unless crimesnap.allow_drop_with_data is on.';
CREATE EVENT TRIGGER crimesnap_drop_guard ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
  EXECUTE FUNCTION crimesnap.drop_guard();
COMMENT ON EVENT TRIGGER crimesnap_drop_guard IS
  'Keeps DROP EXTENSION crimesnap from deleting a force''s data without a word: see crimesnap.drop_guard().';

REVOKE ALL ON FUNCTION crimesnap.seed_guard(), crimesnap.secret_restore(), crimesnap.dumped_rows(),
                       crimesnap.drop_guard()
  FROM PUBLIC;
