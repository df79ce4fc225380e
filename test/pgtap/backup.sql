-- Backups and DROP EXTENSION (issue 8; docs/backups.md): what pg_dump keeps of crimesnap,
-- how seeded rows are told from a DBA's own, how a restore brings the id key back, and
-- DROP EXTENSION refusing to delete data without being told.  The dump and restore itself
-- is test/tools/dump.sh.  Everything runs in one transaction that is rolled back, the
-- DROPs included.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
SELECT plan(27);

-- ---- what pg_dump keeps ----

-- Every table and sequence in the crimesnap schema is marked for pg_dump, except the change
-- counter and the trend, which a restore rebuilds from its members (fails when a table is
-- added without a mark: drop one from the DO loop in sql/install/95-backup.sql and this
-- lists it; test/tools/dump.sh fails when the trend is dumped too, counting each record twice).
SELECT is(
  ARRAY(SELECT c.oid::regclass::text FROM pg_class c
         WHERE c.relnamespace = 'crimesnap'::regnamespace AND c.relkind IN ('r', 'p', 'S')
           AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'crimesnap')::oid[])
         ORDER BY 1),
  ARRAY['crimesnap.snap_index_generation', 'crimesnap.trend'],
  'every crimesnap table and sequence is marked for pg_dump but the snap index change counter and the trend');
SELECT is(
  ARRAY(SELECT c.cfg::regclass::text || ' ' || c.cond
          FROM pg_extension e, unnest(e.extconfig, e.extcondition) c(cfg, cond)
         WHERE e.extname = 'crimesnap' AND c.cond <> '' ORDER BY 1),
  ARRAY['crimesnap.category WHERE NOT seeded', 'crimesnap.category_fold WHERE NOT seeded',
        'crimesnap.highway_class WHERE NOT seeded', 'crimesnap.offence_code WHERE NOT seeded',
        'crimesnap.outcome_category WHERE NOT seeded', 'crimesnap.outcome_code WHERE NOT seeded',
        'crimesnap.place_class WHERE NOT seeded', 'crimesnap.reject_reason WHERE NOT seeded'],
  'the seeded tables are dumped without their seeded rows, every other table whole');
SELECT is((SELECT count(*) FROM crimesnap.dumped_rows() WHERE rows > 0 AND table_name <> 'crimesnap.secret'::regclass),
          0::bigint, 'a fresh install holds nothing pg_dump would keep but the key');

-- ---- seeded rows ----

SELECT is((SELECT count(*) FILTER (WHERE NOT seeded) FROM crimesnap.place_class), 0::bigint,
          'every row the install script wrote is seeded');
INSERT INTO crimesnap.place_class (class) VALUES ('Cathedral Close');
INSERT INTO crimesnap.place_class (class, seeded) VALUES ('Market Hall', true);
SELECT is(ARRAY(SELECT class || ' ' || seeded FROM crimesnap.place_class WHERE class IN ('Cathedral Close', 'Market Hall') ORDER BY 1),
          ARRAY['Cathedral Close false', 'Market Hall false'],
          'a row a DBA adds is not seeded, even when the insert says it is');
SELECT is((SELECT rows FROM crimesnap.dumped_rows() WHERE table_name = 'crimesnap.place_class'::regclass), 2::bigint,
          'pg_dump keeps the DBA''s rows of a seeded table');
SELECT throws_ok($$UPDATE crimesnap.place_class SET class = 'Parks' WHERE class = 'Park'$$, '55000',
                 'cannot change a row of crimesnap.place_class that crimesnap''s install script wrote',
                 'a seeded row cannot be changed (a restore would bring the old one back)');
SELECT throws_ok($$DELETE FROM crimesnap.highway_class WHERE highway = 'service'$$, '55000',
                 'cannot delete a row of crimesnap.highway_class that crimesnap''s install script wrote',
                 'a seeded row cannot be deleted');
SELECT throws_ok($$UPDATE crimesnap.offence_code SET seeded = false WHERE offence_code = 'ASB'$$, '55000', NULL,
                 'a seeded row cannot be turned into a DBA''s row');
SELECT lives_ok($$UPDATE crimesnap.place_class SET class = 'Cathedral Green' WHERE class = 'Cathedral Close'$$,
                'a DBA''s own row can be changed');
SELECT is((SELECT seeded FROM crimesnap.place_class WHERE class = 'Cathedral Green'), false,
          'and stays the DBA''s');
SELECT lives_ok($$UPDATE crimesnap.place_class SET seeded = true WHERE class = 'Cathedral Green'$$,
                'an update that marks a DBA''s row seeded goes through...');
SELECT is((SELECT seeded FROM crimesnap.place_class WHERE class = 'Cathedral Green'), false,
          '...but the row stays the DBA''s, so pg_dump still keeps it');
SELECT lives_ok($$DELETE FROM crimesnap.place_class WHERE class IN ('Cathedral Green', 'Market Hall')$$,
                'a DBA''s own rows can be deleted');
SELECT throws_ok($$SELECT crimesnap.seed_guard()$$, '39P01', NULL, 'seed_guard() runs only as a trigger');

-- ---- the key ----

CREATE TEMP TABLE key_before AS SELECT value FROM crimesnap.secret WHERE name = 'persistent_id_key';
SELECT is((SELECT from_install FROM crimesnap.secret WHERE name = 'persistent_id_key'), true,
          'the key CREATE EXTENSION generated is marked from_install');
-- What a restore's COPY does: insert the dumped key, marked from_install, over the generated one.
INSERT INTO crimesnap.secret VALUES ('persistent_id_key', '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', true);
SELECT is((SELECT value FROM crimesnap.secret WHERE name = 'persistent_id_key'),
          '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'::bytea,
          'inserting the install''s key again replaces it: a restore brings back the dumped key');
SELECT is((SELECT count(*) FROM crimesnap.secret WHERE name = 'persistent_id_key'), 1::bigint, 'and there is still one key');
-- Any other insert of a secret that exists behaves as usual (remove the from_install test
-- from crimesnap.secret_restore() and these two fail).
SELECT throws_ok($$INSERT INTO crimesnap.secret (name, value) VALUES ('persistent_id_key', '\x01'::bytea)$$, '23505', NULL,
                 'an ordinary insert of an existing secret still fails on its key');
INSERT INTO crimesnap.secret (name, value) VALUES ('persistent_id_key', '\x01'::bytea) ON CONFLICT (name) DO NOTHING;
SELECT is((SELECT value FROM crimesnap.secret WHERE name = 'persistent_id_key'),
          '\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'::bytea,
          'and ON CONFLICT DO NOTHING leaves the existing secret alone');
UPDATE crimesnap.secret s SET value = k.value FROM key_before k WHERE s.name = 'persistent_id_key';

-- ---- DROP EXTENSION ----

INSERT INTO crimesnap.force (force_id, name) VALUES ('testshire', 'Testshire Police');
SELECT throws_ok('DROP EXTENSION crimesnap', '2BP01',
                 'cannot drop extension crimesnap while its tables hold data',
                 'DROP EXTENSION crimesnap is refused while a table holds data');
SELECT throws_ok('DROP EXTENSION postgis CASCADE', '2BP01', NULL,
                 'so is a DROP ... CASCADE of the extension crimesnap requires');
SELECT throws_ok('DROP SCHEMA crimesnap_api CASCADE', '2BP01', NULL,
                 'and of a schema crimesnap lives in');
CREATE SCHEMA backup_test_scratch;
SELECT lives_ok('DROP SCHEMA backup_test_scratch CASCADE; DROP EXTENSION IF EXISTS no_such_extension',
                'other drops go ahead');
-- A drop that goes ahead is undone by the error raised after it.
SET LOCAL crimesnap.allow_drop_with_data = on;
SELECT throws_ok($q$DO $d$ BEGIN DROP EXTENSION crimesnap; RAISE EXCEPTION 'dropped'; END $d$$q$, 'P0001', 'dropped',
                 'with crimesnap.allow_drop_with_data on, the drop goes ahead');
SET LOCAL crimesnap.allow_drop_with_data = off;
DELETE FROM crimesnap.force WHERE force_id = 'testshire';
SELECT throws_ok($q$DO $d$ BEGIN DROP EXTENSION crimesnap; RAISE EXCEPTION 'dropped'; END $d$$q$, 'P0001', 'dropped',
                 'without data (seeded rows and the key aside) the drop goes ahead');
SELECT ok(EXISTS (SELECT FROM pg_extension WHERE extname = 'crimesnap'), 'and the test leaves crimesnap in place');

SELECT * FROM finish();
ROLLBACK;
