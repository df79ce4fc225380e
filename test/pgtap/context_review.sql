-- Context is published only once approved: off by default, a text reaches the public only
-- after a person of the force approved that exact normalised text (once, reused later), a
-- flagged text needs an override reason, revocation withdraws it from everything published,
-- every decision is in the audit trail, and each role can do only its part.
-- Everything, the town included, runs in one transaction that is rolled back.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(47);

SELECT crimesnap.build_snap_points() AS version \gset
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month('northshire', '2026-09-01') > 0 AS loaded \gset
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', 'T/C1', '49', '2026-09-20', '450620', '201310', NULL, NULL, 'Victim lives at 14 Acacia Road'),
  ('northshire', 'T/C2', '49', '2026-09-20', '450620', '201310', NULL, NULL, E'  Part of a \t series of similar incidents in the area '),
  ('northshire', 'T/C3', '49', '2026-09-20', '', '', 'NS-E', NULL, 'Stolen from a garden shed'),
  ('northshire', 'T/C4', '49', '2026-09-20', '450620', '201310', NULL, NULL, 'Car AB12 CDE seen leaving');
SELECT crimesnap.register_batch('northshire', '2026-09-01', 4, 'Northshire Police', 'Data Team', 'data@police.example', 'Contexts') IS NOT NULL AS ok \gset

-- ---- loading ----
SELECT is((SELECT count(*) FROM crimesnap.raw_crime WHERE crime_ref IN ('T/C1', 'T/C4')), 2::bigint,
  'a row whose context the screen flags is loaded, not rejected');
SELECT is((SELECT count(*) FROM crimesnap.context_text WHERE force_id = 'northshire' AND text = 'Part of a series of similar incidents in the area'),
  1::bigint, 'a text is registered once per force, normalised (white space), however often it comes');
SELECT results_eq(
  $$SELECT text, finding, force_publishes_context FROM crimesnap.context_review
     WHERE text IN ('Victim lives at 14 Acacia Road', 'Stolen from a garden shed', 'Car AB12 CDE seen leaving') ORDER BY text$$,
  $$VALUES ('Car AB12 CDE seen leaving', 'vehicle registration', false), ('Stolen from a garden shed', NULL, false),
           ('Victim lives at 14 Acacia Road', 'house number and street', false)$$,
  'new texts wait in the review view with the screen''s findings beside them');
SELECT ok((SELECT records FROM crimesnap.context_review WHERE text = 'Part of a series of similar incidents in the area') > 1,
  'the review shows how many records carry each text');
SELECT context_id AS series FROM crimesnap.context_text WHERE text = 'Part of a series of similar incidents in the area' \gset
SELECT context_id AS house FROM crimesnap.context_text WHERE text = 'Victim lives at 14 Acacia Road' \gset
SELECT context_id AS shed FROM crimesnap.context_text WHERE text = 'Stolen from a garden shed' \gset
SELECT context_id AS car FROM crimesnap.context_text WHERE text = 'Car AB12 CDE seen leaving' \gset

-- ---- by default, no context is published ----
SELECT crimes > 0 AS published FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23') \gset
SELECT is((SELECT count(*) FROM crimesnap.published_crime WHERE context IS NOT NULL), 0::bigint,
  'by default a force publishes no context');
SELECT is((SELECT count(*) FROM crimesnap.published_crime c JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
            WHERE r.crime_ref IN ('T/C1', 'T/C2', 'T/C3', 'T/C4')), 4::bigint,
  'records with flagged or unreviewed contexts are published, without them');

-- ---- who may decide ----
-- A data controller's own role, bound to the force (docs/security.md, force binding).
CREATE ROLE cs_test_cr_publisher NOLOGIN IN ROLE crimesnap_publisher;
SELECT crimesnap.grant_force('cs_test_cr_publisher', f.force_id) FROM crimesnap.force f \g /dev/null
-- Another force's data controller decides nothing on Northshire's texts, nor reads them.
CREATE ROLE cs_test_cr_southshire NOLOGIN IN ROLE crimesnap_publisher;
SELECT crimesnap.grant_force('cs_test_cr_southshire', 'southshire') \g /dev/null
SET ROLE cs_test_cr_southshire;
SELECT throws_ok(format('SELECT crimesnap.approve_context(%s)', :series), '42501', NULL,
  'Southshire''s publisher: cannot approve Northshire''s text');
SELECT throws_ok($$SELECT crimesnap.set_context_publication('northshire', true, 'x')$$, '42501', NULL,
  'nor turn Northshire''s context on');
SELECT is((SELECT count(*) FROM crimesnap.context_review WHERE force_id = 'northshire'), 0::bigint,
  'nor read Northshire''s texts under review (they may hold personal data)');
RESET ROLE;
SET ROLE crimesnap_loader;
SELECT throws_ok(format('SELECT crimesnap.approve_context(%s)', :series), '42501', NULL, 'loader: cannot approve');
SELECT throws_ok($$SELECT crimesnap.set_context_publication('northshire', true, 'x')$$, '42501', NULL, 'loader: cannot turn context on');
SELECT throws_ok('SELECT * FROM crimesnap.context_review', '42501', NULL, 'loader: cannot read the review');
RESET ROLE;
SET ROLE crimesnap_analyst;
SELECT throws_ok(format('SELECT crimesnap.approve_context(%s)', :series), '42501', NULL, 'analyst: cannot approve');
SELECT throws_ok('SELECT * FROM crimesnap.context_text', '42501', NULL, 'analyst: cannot read context texts');
RESET ROLE;
SET ROLE crimesnap_web;
SELECT throws_ok(format('SELECT crimesnap.revoke_context(%s, %L)', :series, 'x'), '42501', NULL, 'web: cannot revoke');
RESET ROLE;

-- ---- the publisher reviews ----
SET ROLE cs_test_cr_publisher;
SELECT is(crimesnap.approve_context(:series, 'standard wording'), 0,
  'publisher: approves a text; nothing shows while the force does not publish context');
SELECT ok(crimesnap.set_context_publication('northshire', true, 'the force publishes approved context') > 0,
  'publisher: turns context on, and the approved text appears at once on the months on the map');
SELECT throws_ok(format('SELECT crimesnap.approve_context(%s)', :house), '23514',
  format('context text %s looks like it holds a house number and street', :house),
  'a flagged text cannot be approved without an override reason');
SELECT throws_ok(format('SELECT crimesnap.approve_context(%s, NULL, %L)', :house, '  '), '23514', NULL,
  'nor with an empty one');
SELECT is(crimesnap.reject_context(:house, 'names where the victim lives'), 0, 'publisher: rejects it');
SELECT throws_ok(format('SELECT crimesnap.reject_context(%s, NULL)', :shed), '22004', NULL, 'a rejection needs a reason');
SELECT is(crimesnap.approve_context(:car, 'the car was the stolen vehicle, long since recovered', 'a stolen vehicle''s plate, not a person''s'), 1,
  'a flagged text is approved with an explicit override reason');
SELECT throws_ok(format('SELECT crimesnap.approve_context(%s)', :series), '42710', NULL, 'an approved text is not approved twice');
SELECT throws_ok(format('SELECT crimesnap.reject_context(%s, %L)', :series, 'x'), '55000', NULL, 'an approved text is revoked, not rejected');
SELECT throws_ok(format('SELECT crimesnap.revoke_context(%s, %L)', :shed, 'x'), '55000', NULL, 'a pending text cannot be revoked');
RESET ROLE;

SELECT results_eq(
  $$SELECT r.crime_ref, c.context FROM crimesnap.published_crime c JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
     WHERE r.crime_ref IN ('T/C1', 'T/C2', 'T/C3', 'T/C4') ORDER BY r.crime_ref$$,
  $$VALUES ('T/C1', NULL), ('T/C2', 'Part of a series of similar incidents in the area'), ('T/C3', NULL),
           ('T/C4', 'Car AB12 CDE seen leaving')$$,
  'published: approved texts exactly as normalised; rejected and pending ones not at all');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE context = 'Part of a series of similar incidents in the area'),
          (SELECT count(*) FROM crimesnap.raw_crime r JOIN crimesnap.published_crime c ON c.crime_id = r.crime_id
            WHERE crimesnap.normalise_context(r.context) = 'Part of a series of similar incidents in the area' AND c.point_id IS NOT NULL),
  'the API shows an approved text on every record that carries it');
SELECT set_eq($$SELECT text FROM crimesnap.context_review WHERE force_id = 'northshire'$$,
  $$VALUES ('Stolen from a garden shed'), ('Caller on 07700 900123 reported noise'), ('Suspect vehicle AB12 CDE seen nearby')$$,
  'only the undecided texts are left in the review');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication('northshire')), 0::bigint, 'the audit is clean');

-- ---- approved once, reused later ----
SELECT pg_temp.load_month('northshire', '2026-10-01') > 0 AS loaded \gset
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', 'T/C5', '49', '2026-10-20', '450620', '201310', NULL, NULL, 'Part of a series of similar incidents in the area');
SELECT crimesnap.register_batch('northshire', '2026-10-01', 1, 'Northshire Police', 'Data Team', 'data@police.example', 'More') IS NOT NULL AS ok \gset
SELECT is((SELECT count(*) FROM crimesnap.context_text WHERE force_id = 'northshire' AND text = 'Part of a series of similar incidents in the area'),
  1::bigint, 'a text seen again in a later month is not asked about again');
SET LOCAL crimesnap.street_level_months = 2;
SELECT crimes > 0 AS published FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23') \gset
SELECT is((SELECT c.context FROM crimesnap.published_crime c JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id WHERE r.crime_ref = 'T/C5'),
  'Part of a series of similar incidents in the area', 'and it is published in the later month on the strength of the one approval');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication('northshire')), 0::bigint, 'the audit is clean');

-- ---- revocation withdraws the text from everything published ----
SET ROLE cs_test_cr_publisher;
SELECT ok(crimesnap.revoke_context(:series, 'the series turned out to be one offender''s') > 1, 'publisher: revokes an approval');
RESET ROLE;
SELECT is((SELECT count(*) FROM crimesnap.published_crime WHERE context = 'Part of a series of similar incidents in the area'), 0::bigint,
  'the revoked text is gone from every published record, of every month');
SELECT is((SELECT count(*) FROM crimesnap_api.police_uk_csv('northshire', NULL) WHERE "Context" = 'Part of a series of similar incidents in the area')
        + (SELECT count(*) FROM crimesnap_api.no_location_crime WHERE context = 'Part of a series of similar incidents in the area'), 0::bigint,
  'from the API views and the CSV alike');
SELECT crimes > 0 AS published FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23') \gset
SELECT is((SELECT count(*) FROM crimesnap.published_crime WHERE context = 'Part of a series of similar incidents in the area'), 0::bigint,
  'and a re-publication leaves it out');
SET ROLE cs_test_cr_publisher;
SELECT is(crimesnap.set_context_publication('northshire', false, 'the force stops publishing context'), 1,
  'turning context off withdraws what was left');
RESET ROLE;
SELECT is((SELECT count(*) FROM crimesnap.published_crime WHERE context IS NOT NULL), 0::bigint, 'no context is published any more');

-- ---- the audit trail ----
SELECT results_eq(
  $$SELECT action, context_id IS NULL, reason IS NOT NULL, override_reason IS NOT NULL, finding, decided_by = session_user,
           acting_role FROM crimesnap.context_decision ORDER BY decision_id$$,
  $$VALUES ('approve', false, true, false, NULL, true, 'cs_test_cr_publisher'::name),
           ('publish-on', true, true, false, NULL, true, 'cs_test_cr_publisher'),
           ('reject', false, true, false, 'house number and street', true, 'cs_test_cr_publisher'),
           ('approve', false, true, true, 'vehicle registration', true, 'cs_test_cr_publisher'),
           ('revoke', false, true, false, NULL, true, 'cs_test_cr_publisher'),
           ('publish-off', true, true, false, NULL, true, 'cs_test_cr_publisher')$$,
  'every decision is in the audit trail: what, why, the override, the finding, who and as which role');
SELECT is((SELECT status FROM crimesnap.context_text WHERE context_id = :series), 'revoked', 'the text stands revoked');
SELECT ok((SELECT withdrawn FROM crimesnap.context_decision WHERE action = 'revoke') > 1, 'and the trail says from how many records it was withdrawn');

-- ---- the audit catches a context that was not approved ----
SET ROLE cs_test_cr_publisher;
SELECT ok(crimesnap.set_context_publication('northshire', true, 'on again') = 1, 'context on again: the approved car text is back');
RESET ROLE;
SAVEPOINT planted;
UPDATE crimesnap.published_crime SET context = 'Stolen from a garden shed'
 WHERE id = (SELECT min(id) FROM crimesnap.published_crime WHERE force_id = 'northshire');
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'unapproved context published'),
  'the audit catches a pending text published');
ROLLBACK TO SAVEPOINT planted;
UPDATE crimesnap.context_policy SET publish = false WHERE force_id = 'northshire';
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'unapproved context published'),
  'the audit catches context published by a force that does not publish it');
ROLLBACK TO SAVEPOINT planted;
UPDATE crimesnap.context_text SET status = 'revoked' WHERE context_id = :car;
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'unapproved context published'),
  'the audit catches a revoked text still published');
ROLLBACK TO SAVEPOINT planted;
UPDATE crimesnap.context_text SET override_reason = NULL WHERE context_id = :car;
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'personal data in context'),
  'the audit catches a flagged text approved without an override');
ROLLBACK TO SAVEPOINT planted;
SELECT is((SELECT count(*) FROM crimesnap.audit_publication()), 0::bigint, 'and is clean again once the plant is gone');

SELECT * FROM finish();
ROLLBACK;
