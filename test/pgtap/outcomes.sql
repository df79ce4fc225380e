-- Outcomes: police.uk's vocabulary, a force's own codes mapped onto it, an outcome that maps
-- to nothing, each record's outcome history as batches resend it, what is published of it
-- and when, the audit that catches an outcome outside the vocabulary, and who may do what.
-- Everything, the town included, runs in one transaction that is rolled back.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(39);

-- ---- the vocabulary ----
SELECT is((SELECT count(*) FROM crimesnap.outcome_category), 28::bigint, 'police.uk has 28 outcome categories');
SELECT set_eq($$SELECT name FROM crimesnap.outcome_category$$,
  $$VALUES ('Under investigation'), ('Investigation complete; no suspect identified'), ('Unable to prosecute suspect'),
           ('Offender given a caution'), ('Awaiting court outcome'), ('Status update unavailable'), ('Court result unavailable'),
           ('Local resolution'), ('Offender given a drugs possession warning'), ('Offender given penalty notice'),
           ('Formal action is not in the public interest'), ('Further investigation is not in the public interest'),
           ('Further action is not in the public interest'), ('Suspect charged as part of another case'), ('Suspect charged'),
           ('Action to be taken by another organisation'), ('Offender sent to prison'), ('Offender given suspended prison sentence'),
           ('Offender fined'), ('Offender given community sentence'), ('Offender given conditional discharge'),
           ('Offender given absolute discharge'), ('Offender ordered to pay compensation'), ('Defendant found not guilty'),
           ('Offender otherwise dealt with'), ('Offender deprived of property'), ('Defendant sent to Crown Court'),
           ('Court case unable to proceed')$$,
  'the names are police.uk''s, as its CSVs spell them');
SELECT results_eq($$SELECT slug FROM crimesnap.outcome_category WHERE name IN ('Under investigation', 'Investigation complete; no suspect identified',
                                                                              'Awaiting court outcome', 'Offender given a caution') ORDER BY name$$,
  $$VALUES ('awaiting-court-result'), ('no-further-action'), ('cautioned'), ('under-investigation')$$,
  'each with the code police.uk''s JSON uses');
SELECT is((SELECT count(*) FROM crimesnap.outcome_category c
            WHERE crimesnap.map_outcome('northshire', c.name) = c.slug AND crimesnap.map_outcome('northshire', c.slug) = c.slug
              AND crimesnap.map_outcome('northshire', '  ' || upper(replace(c.name, ' ', '   ')) || ' ') = c.slug), 28::bigint,
  'every police.uk name and code maps onto itself for every force, whatever the case and spacing');
SELECT is(crimesnap.map_outcome('northshire', 'Offender given a community resolution'), 'local-resolution',
  'police.uk''s other spellings map too');
SELECT is(crimesnap.map_outcome('northshire', 'Letter sent to OX1 2JD'), NULL, 'a text that is no outcome maps to nothing');

-- A force maps its own codes once; its own entry wins, and holds for it alone.
INSERT INTO crimesnap.outcome_code (force_id, outcome_code, slug, description) VALUES
  ('northshire', 'nfa-1', 'no-further-action', 'No further action, no suspect'),
  ('northshire', 'under investigation', 'awaiting-court-result', 'Northshire''s odd use of the words');
SELECT is(crimesnap.map_outcome('northshire', 'NFA-1'), 'no-further-action', 'a force''s own code maps');
SELECT is(crimesnap.map_outcome('southshire', 'NFA-1'), NULL, 'but only for that force');
SELECT is(crimesnap.map_outcome('northshire', 'Under investigation'), 'awaiting-court-result', 'a force''s own entry wins');
DELETE FROM crimesnap.outcome_code WHERE force_id = 'northshire' AND outcome_code = 'under investigation';
SELECT throws_ok($$INSERT INTO crimesnap.outcome_code (force_id, outcome_code, slug) VALUES ('northshire', 'CAU', 'cautioned')$$,
  '23514', NULL, 'a mapping is stored as its matching key, lower case');
SELECT throws_ok($$INSERT INTO crimesnap.outcome_code (force_id, outcome_code, slug) VALUES ('northshire', 'cau', 'Offender given a caution')$$,
  '23503', NULL, 'a mapping points at a police.uk code, never at free text');

-- ---- loading: the history ----
SELECT crimesnap.build_snap_points() AS version \gset
\ir ../fixtures/town_load.sql
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', 'T/O1', '49', '2026-09-20', '450620', '201310', NULL, 'Under investigation', NULL),
  ('northshire', 'T/O2', '49', '2026-09-20', '450620', '201310', NULL, 'NFA-1', NULL),
  ('northshire', 'T/O3', '49', '2026-09-20', '', '', 'NS-E', 'Letter sent to OX1 2JD', NULL),
  ('northshire', 'T/O4', '49', '2026-09-20', '450620', '201310', NULL, NULL, NULL),
  ('northshire', 'T/O5', '49', '2026-09-20', '450620', '201310', NULL, 'Words of advice', NULL);
SELECT crimesnap.register_batch('northshire', '2026-09-01', 5, 'Northshire Police', 'Data Team', 'data@police.example', 'Outcomes') AS b1 \gset
SELECT pg_temp.load_month('northshire', '2026-09-01') > 0 AS loaded \gset
SELECT results_eq(
  $$SELECT crime_ref, slug, mapped, as_supplied, month FROM crimesnap.outcome_history WHERE crime_ref LIKE 'T/O%' ORDER BY crime_ref$$,
  $$VALUES ('T/O1', 'under-investigation', true, 'Under investigation', '2026-09-01'::date),
           ('T/O2', 'no-further-action', true, 'NFA-1', '2026-09-01'::date),
           ('T/O3', 'status-update-unavailable', false, 'Letter sent to OX1 2JD', '2026-09-01'::date),
           ('T/O5', 'status-update-unavailable', false, 'Words of advice', '2026-09-01'::date)$$,
  'each loaded outcome enters the history in its batch''s month: mapped, or as Status update unavailable with the original kept');
SELECT is((SELECT count(*) FROM crimesnap.outcome_history h
            WHERE NOT EXISTS (SELECT FROM crimesnap.raw_crime r WHERE r.force_id = h.force_id AND r.crime_ref = h.crime_ref)),
  0::bigint, 'the history holds loaded records only');
SELECT is((SELECT count(*) FROM crimesnap.raw_crime r
            WHERE r.outcome IS NOT NULL
              AND NOT EXISTS (SELECT FROM crimesnap.outcome_history h WHERE h.force_id = r.force_id AND h.crime_ref = r.crime_ref)),
  0::bigint, 'every loaded record with an outcome has its history');
SELECT set_eq($$SELECT as_supplied, records FROM crimesnap.unmapped_outcome WHERE force_id = 'northshire'$$,
  $$VALUES ('Letter sent to OX1 2JD', 1::bigint), ('Words of advice', 1::bigint)$$,
  'the outcomes that map to nothing are listed for the force to map');

-- A correction of the same month: the same outcome adds nothing; another replaces the month's.
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', 'T/O2', '49', '2026-09-21', '450620', '201310', NULL, 'nfa-1', NULL),
  ('northshire', 'T/O4', '49', '2026-09-21', '450620', '201310', NULL, 'Awaiting court outcome', NULL);
SELECT crimesnap.register_batch('northshire', '2026-09-01', 2, 'Northshire Police', 'Data Team', 'data@police.example', 'Corrections') IS NOT NULL AS ok \gset
SELECT results_eq(
  $$SELECT crime_ref, slug, month FROM crimesnap.outcome_history WHERE crime_ref IN ('T/O2', 'T/O4') ORDER BY crime_ref, month$$,
  $$VALUES ('T/O2', 'no-further-action', '2026-09-01'::date), ('T/O4', 'awaiting-court-result', '2026-09-01'::date)$$,
  'a correction in the same month keeps one row per month');

-- October: a resend of T/O1 with a new outcome (as register_batch records a resent record).
SELECT pg_temp.load_month('northshire', '2026-10-01') > 0 AS loaded \gset
SELECT batch_id AS b_oct FROM crimesnap.batch WHERE force_id = 'northshire' AND month = '2026-10-01' \gset
SELECT is(crimesnap.record_outcomes(:b_oct, ARRAY['T/O1', 'T/O2', 'T/O4'], ARRAY['Offender given a caution', 'NFA-1', NULL]), 1,
  'a resend adds a row only where the outcome changed (the same one, or none, adds nothing)');
SELECT results_eq(
  $$SELECT slug, month FROM crimesnap.outcome_history WHERE crime_ref = 'T/O1' ORDER BY month$$,
  $$VALUES ('under-investigation', '2026-09-01'::date), ('cautioned', '2026-10-01'::date)$$,
  'the history keeps each outcome with the month it took effect');
SELECT throws_ok(format($$SELECT crimesnap.record_outcomes(%s, ARRAY['a', 'b'], ARRAY['x'])$$, :b_oct), '2202E', NULL,
  'references and outcomes pair up');

-- ---- publication ----
SET LOCAL crimesnap.street_level_months = 2;
SELECT crimes > 0 AS published FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23') \gset
SELECT results_eq(
  $$SELECT r.crime_ref, c.outcome FROM crimesnap.published_crime c JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
     WHERE r.crime_ref LIKE 'T/O%' ORDER BY r.crime_ref$$,
  $$VALUES ('T/O1', 'under-investigation'), ('T/O2', 'no-further-action'), ('T/O3', 'status-update-unavailable'),
           ('T/O4', 'awaiting-court-result'), ('T/O5', 'status-update-unavailable')$$,
  'September is published with each record''s outcome as of September: October''s waits for October');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime s
            WHERE s.outcome_status IS NOT NULL AND NOT EXISTS (SELECT FROM crimesnap_api.outcome_category o WHERE o.name = s.outcome_status)),
  0::bigint, 'every outcome_status on the map is a police.uk name');
SELECT is((SELECT n.outcome_status FROM crimesnap_api.no_location_crime n JOIN crimesnap.published_crime c ON c.id = n.id
             JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id WHERE r.crime_ref = 'T/O3'),
  'Status update unavailable', 'an outcome that maps to nothing is published as Status update unavailable, never as written');
SELECT is((SELECT count(*) FROM crimesnap_api.police_uk_csv('northshire', '2026-09') x
            WHERE x."Last outcome category" ~ 'OX1|Words'), 0::bigint, 'and the CSV never carries the force''s words');
SELECT persistent_id AS o1 FROM crimesnap.raw_crime WHERE crime_ref = 'T/O1' AND superseded_by_batch IS NULL \gset
SELECT results_eq(format($$SELECT date, code, name FROM crimesnap_api.crime_outcome WHERE persistent_id = %L ORDER BY date$$, :'o1'),
  $$VALUES ('2026-09', 'under-investigation', 'Under investigation')$$,
  'outcomes-for-crime shows the history up to the month published');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication('northshire')), 0::bigint, 'the audit is clean');

SELECT crimes > 0 AS published FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23') \gset
SELECT results_eq(format($$SELECT date, code, name FROM crimesnap_api.crime_outcome WHERE persistent_id = %L ORDER BY date$$, :'o1'),
  $$VALUES ('2026-09', 'under-investigation', 'Under investigation'), ('2026-10', 'cautioned', 'Offender given a caution')$$,
  'once October is published, its outcome joins the history');
SELECT is((SELECT s.outcome_status FROM crimesnap_api.street_crime s WHERE s.persistent_id = :'o1'), 'Offender given a caution',
  'and the September record, still on the map where it was, shows it as its last outcome');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication('northshire')), 0::bigint, 'the audit is still clean');

-- The force maps the outcome it left unmapped, and what is published follows.
INSERT INTO crimesnap.outcome_code (force_id, outcome_code, slug) VALUES ('northshire', 'words of advice', 'local-resolution');
SELECT is(crimesnap.remap_outcomes('northshire'), 1, 'remapping maps the history rows that now map');
SELECT is((SELECT s.outcome_status FROM crimesnap_api.street_crime s JOIN crimesnap.published_crime c ON c.id = s.id
             JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id WHERE r.crime_ref = 'T/O5'),
  'Local resolution', 'and the published record shows it at once');
SELECT set_eq($$SELECT as_supplied FROM crimesnap.unmapped_outcome$$, $$VALUES ('Letter sent to OX1 2JD')$$,
  'what is left unmapped stays listed');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication('northshire')), 0::bigint, 'the audit is clean after remapping');

-- ---- the audit catches an outcome outside the vocabulary ----
SELECT throws_ok($$UPDATE crimesnap.published_crime SET outcome = 'Letter sent to OX1 2JD' WHERE id = (SELECT min(id) FROM crimesnap.published_crime)$$,
  '23503', NULL, 'the published table refuses an outcome outside the vocabulary');
SAVEPOINT planted;
-- Planted past the foreign key (as a restore without constraints, or a dropped one, could).
SET LOCAL session_replication_role = replica;
UPDATE crimesnap.published_crime SET outcome = 'Letter sent to OX1 2JD' WHERE id = (SELECT min(id) FROM crimesnap.published_crime);
SET LOCAL session_replication_role = origin;
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'outcome outside the vocabulary'),
  'the audit catches an outcome outside the vocabulary');
ROLLBACK TO SAVEPOINT planted;
UPDATE crimesnap.published_crime SET outcome = 'charged' WHERE id = (SELECT min(id) FROM crimesnap.published_crime WHERE outcome <> 'charged');
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'outcome not the recorded one'),
  'the audit catches an outcome the history does not say');
ROLLBACK TO SAVEPOINT planted;

-- ---- who may do what ----
-- A loader bound to its force (test/pgtap/force_binding.sql shows it cannot map another's).
CREATE ROLE cs_o_loader NOLOGIN IN ROLE crimesnap_loader;
SELECT crimesnap.grant_force('cs_o_loader', 'northshire') \g /dev/null
SET ROLE cs_o_loader;
SELECT lives_ok($$INSERT INTO crimesnap.outcome_code (force_id, outcome_code, slug) VALUES ('northshire', 'cau', 'cautioned')$$,
  'loader: maps the force''s outcomes');
SELECT lives_ok($$SELECT * FROM crimesnap.unmapped_outcome$$, 'loader: sees what is left unmapped');
SELECT throws_ok($$SELECT * FROM crimesnap.outcome_history$$, '42501', NULL, 'loader: cannot read the raw history');
RESET ROLE;
SET ROLE crimesnap_web;
SELECT lives_ok($$SELECT * FROM crimesnap_api.crime_outcome$$, 'web: reads the published outcome history');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
