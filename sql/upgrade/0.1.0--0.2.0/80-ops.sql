-- Fragment of the ops helper (issue 8): backups and DROP EXTENSION, as sql/install/95-backup.sql
-- does on a fresh install.  The difference: a 0.1.0 database may hold rows a DBA added to the
-- seeded tables, so only the rows 0.1.0's install script wrote (listed here by key) are
-- marked seeded; every other row is the DBA's, and pg_dump keeps it.

-- ---- seeded configuration rows ----

CREATE FUNCTION crimesnap.seed_guard()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'crimesnap_seed_guard';

DO $seeded$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['highway_class', 'category', 'category_fold', 'offence_code', 'place_class', 'reject_reason']
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE crimesnap.%I ADD COLUMN seeded boolean NOT NULL DEFAULT false', t);
    EXECUTE pg_catalog.format('COMMENT ON COLUMN crimesnap.%I.seeded IS %L', t,
      'Whether crimesnap''s install or upgrade script wrote the row. pg_dump keeps only rows that are not seeded; seeded rows cannot be changed or deleted.');
  END LOOP;
END
$seeded$;

-- The rows crimesnap 0.1.0's install script wrote.
UPDATE crimesnap.highway_class SET seeded = true
 WHERE highway OPERATOR(pg_catalog.=) ANY ('{bridleway,construction,corridor,cycleway,elevator,footway,living_street,motorway,motorway_link,path,pedestrian,platform,primary,primary_link,proposed,residential,secondary,secondary_link,service,steps,tertiary,tertiary_link,track,trunk,trunk_link,unclassified}'::text[]);
UPDATE crimesnap.category SET seeded = true
 WHERE (scheme OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) slug) OPERATOR(pg_catalog.=) ANY ('{police.uk/anti-social-behaviour,police.uk/bicycle-theft,police.uk/burglary,police.uk/criminal-damage-arson,police.uk/drugs,police.uk/other-theft,police.uk/possession-of-weapons,police.uk/public-order,police.uk/robbery,police.uk/shoplifting,police.uk/theft-from-the-person,police.uk/vehicle-crime,police.uk/violent-crime,police.uk/other-crime,crimemapper-2010/anti-social-behaviour,crimemapper-2010/burglary,crimemapper-2010/robbery,crimemapper-2010/vehicle-crime,crimemapper-2010/violent-crime,crimemapper-2010/other-crime}'::text[]);
UPDATE crimesnap.category_fold SET seeded = true
 WHERE (scheme OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) police_uk_slug) OPERATOR(pg_catalog.=) ANY ('{police.uk/anti-social-behaviour,police.uk/bicycle-theft,police.uk/burglary,police.uk/criminal-damage-arson,police.uk/drugs,police.uk/other-theft,police.uk/possession-of-weapons,police.uk/public-order,police.uk/robbery,police.uk/shoplifting,police.uk/theft-from-the-person,police.uk/vehicle-crime,police.uk/violent-crime,police.uk/other-crime,crimemapper-2010/anti-social-behaviour,crimemapper-2010/bicycle-theft,crimemapper-2010/burglary,crimemapper-2010/criminal-damage-arson,crimemapper-2010/drugs,crimemapper-2010/other-theft,crimemapper-2010/possession-of-weapons,crimemapper-2010/public-order,crimemapper-2010/robbery,crimemapper-2010/shoplifting,crimemapper-2010/theft-from-the-person,crimemapper-2010/vehicle-crime,crimemapper-2010/violent-crime,crimemapper-2010/other-crime}'::text[]);
UPDATE crimesnap.offence_code SET seeded = true
 WHERE force_id IS NULL
   AND offence_code OPERATOR(pg_catalog.=) ANY ('{1,104,105A,105B,106,10A,10B,10C,10D,11A,12,126,13,14,17A,17B,19C,19D,19E,19F,19G,19H,2,20A,20B,21,22A,22B,23,24,25,26,27,28A,28B,28C,28D,28E,28F,28G,28H,29,30A,30B,30C,30D,31,33,34A,34B,35,36,37.1,37.2,38,39,3A,3B,4.1,4.10,4.2,4.3,4.4,4.6,4.7,4.8,4.9,40,41,42,43,44,45,46,47,48,49,54,56A,56B,58A,58B,58C,58D,58E,58F,58G,58H,59,5A,5E,60,61,61A,62A,66,67,70,71,72,73,79,80,802,81,83,86,88A,88C,88E,8L,8M,8N,8P,8Q,8R,8S,8T,8U,90,92A,92C,92D,92E,95,99,9A,9B,ASB}'::text[]);
UPDATE crimesnap.place_class SET seeded = true
 WHERE class OPERATOR(pg_catalog.=) ANY ('{Airport/Airfield,"Bus/Coach Station","Conference/Exhibition Centre","Further/Higher Educational Building",Hospital,Hotel/Motel,Nightclub,Park,"Park/Open Space","Parking Area","Pedestrian Subway","Petrol Station","Police Station",Prison,"Railway Station","Shopping Area","Sports/Recreation Area",Supermarket,"Theatre/Concert Hall","Theme/Adventure Park"}'::text[]);
-- The rows earlier fragments of this upgrade seeded (65-web.sql).  The upgrade test compares
-- the seeded rows with a fresh install's, so a fragment that seeds a row before this one
-- and is not listed here fails it.
UPDATE crimesnap.place_class SET seeded = true WHERE class OPERATOR(pg_catalog.=) 'Ferry Terminal';
UPDATE crimesnap.reject_reason SET seeded = true
 WHERE reason_code OPERATOR(pg_catalog.=) ANY ('{date_outside_month,duplicate_reference,impossible_coordinates,invalid_date,missing_reference,outside_force_area,personal_data_in_context,personal_data_in_outcome,unknown_force,unknown_neighbourhood,unknown_offence_code}'::text[]);

-- From here on the trigger marks what a later fragment seeds.
DO $seeded$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['highway_class', 'category', 'category_fold', 'offence_code', 'place_class', 'reject_reason']
  LOOP
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
           unnest(e.extconfig, e.extcondition) AS c(cfg, cond)
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

-- ---- DROP EXTENSION ----

CREATE FUNCTION crimesnap.drop_guard()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'crimesnap_drop_guard';
CREATE EVENT TRIGGER crimesnap_drop_guard ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
  EXECUTE FUNCTION crimesnap.drop_guard();
COMMENT ON EVENT TRIGGER crimesnap_drop_guard IS
  'Keeps DROP EXTENSION crimesnap from deleting a force''s data without a word: see crimesnap.drop_guard().';

REVOKE ALL ON FUNCTION crimesnap.seed_guard(), crimesnap.secret_restore(), crimesnap.dumped_rows(),
                       crimesnap.drop_guard()
  FROM PUBLIC;
