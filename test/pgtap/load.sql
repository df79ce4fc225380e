-- Loading: every reject reason, the record count check, batch metadata, corrected
-- resubmissions, the context screen (positives and negatives), sensitive offences and the
-- loader's privileges.
-- Everything, the town included, runs in one transaction that is rolled back.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(68);

-- ---- a batch with one row of every kind of fault ----
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
SELECT force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context
  FROM town.upload WHERE month = '2026-09-01' AND force = 'northshire' AND crime_ref NOT LIKE '%BAD%'
   AND crime_ref NOT LIKE '%/00007';
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('eastshire',  'T/FORCE',   '49',   '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', '',          '49',   '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/DUP',     '49',   '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/DUP',     '49',   '2026-09-11', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/LONG' || repeat('X', 100), '49', '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/CODE',    'ZZ9',  '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/DATE',    '49',   '10/09/2026', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/MONTH',   '49',   '2026-10-01', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/ONECOORD','49',   '2026-09-10', '450700', '',       NULL, NULL, NULL),
  ('northshire', 'T/FAR',     '49',   '2026-09-10', '9450700','201500', NULL, NULL, NULL),
  ('northshire', 'T/TEXT',    '49',   '2026-09-10', 'east',   'north',  NULL, NULL, NULL),
  ('northshire', 'T/AREA',    '49',   '2026-09-10', '450700', '200500', NULL, NULL, NULL),
  ('northshire', 'T/NBHD',    '49',   '2026-09-10', '',       '',       'SS-W', NULL, NULL),
  ('northshire', 'T/POSTCODE','49',   '2026-09-10', '450700', '201500', NULL, NULL, 'Reported from OX1 2JD'),
  ('northshire', 'T/HOUSE',   '49',   '2026-09-10', '450700', '201500', NULL, NULL, 'Victim lives at 14 Acacia Road'),
  ('northshire', 'T/PHONE',   '49',   '2026-09-10', '450700', '201500', NULL, NULL, 'Call 07700 900123'),
  ('northshire', 'T/EMAIL',   '49',   '2026-09-10', '450700', '201500', NULL, NULL, 'Mail jo@example.com'),
  ('northshire', 'T/VRM',     '49',   '2026-09-10', '450700', '201500', NULL, NULL, 'Car AB12 CDE seen'),
  ('northshire', 'T/OUTCOME', '49',   '2026-09-10', '450700', '201500', NULL, 'Letter sent to OX1 2JD', NULL),
  ('northshire', 'T/NOLOC',   '49',   '2026-09-10', '',       '',       'NS-E', NULL, 'Part of a series'),
  ('northshire', 'T/OK',      '58a ', '2026-09-30T23:59', ' 450700 ', '201500', NULL, 'Under investigation', 'Seen at 14:30 on 12/09/2026, A40');
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing)
VALUES ('southshire', 'S/UNTOUCHED', '49', '2026-09-10', '450700', '200500');
SELECT count(*) AS supplied FROM crimesnap.crime_upload WHERE force IS DISTINCT FROM 'southshire' \gset

-- The count check: loaded + rejected must equal what the supplier says was supplied.
SELECT throws_ok(
  format($$SELECT crimesnap.register_batch('northshire', '2026-09-01', %s, 'Northshire Police', 'Data Team',
                                           'data@northshire.example', 'Crimes 2026-09')$$, :supplied - 1),
  '22000', format('batch for force northshire month 2026-09 has %s records, but the supplier says %s were supplied', :supplied, :supplied - 1),
  'a batch whose record count is wrong fails, naming both counts');
SELECT is((SELECT count(*) FROM crimesnap.crime_upload), :supplied + 1::bigint, 'a failed batch keeps nothing and leaves the upload staged');
SELECT is((SELECT count(*) FROM crimesnap.batch), 0::bigint, 'a failed batch is not registered');
SELECT throws_ok($$SELECT crimesnap.register_batch('northshire', '2026-09-01', 10, 'Northshire Police', NULL, 'x', 'y')$$,
  '22004', 'batch metadata is missing: supplier_name', 'batch metadata is required');
SELECT throws_ok($$SELECT crimesnap.register_batch('northshire', '2026-09-01', NULL, 'a', 'b', 'c', 'd')$$,
  '22023', NULL, 'the supplier''s record count is required');
SELECT throws_ok($$SELECT crimesnap.register_batch('westshire', '2026-09-01', 1, 'a', 'b', 'c', 'd')$$,
  '23503', 'force "westshire" does not exist', 'an unknown force is refused');

SELECT lives_ok(
  format($$SELECT crimesnap.register_batch('northshire', '2026-09-17', %s, 'Northshire Police', 'Data Team',
                                           'data@northshire.example', 'Crimes 2026-09', 'crimesnap upload CSV 1',
                                           '2026-10-05', 'Test caveat')$$, :supplied),
  'a batch with the right count registers');
SELECT results_eq(
  $$SELECT month, period_start, period_end, records_supplied, records_loaded + records_rejected, supplying_agency,
           supplier_name, supplier_contact, dataset_name, file_format, date_supplied, caveats, registered_by
      FROM crimesnap.batch$$,
  format($$VALUES ('2026-09-01'::date, '2026-09-01'::date, '2026-09-30'::date, %s, %s, 'Northshire Police', 'Data Team',
                   'data@northshire.example', 'Crimes 2026-09', 'crimesnap upload CSV 1', '2026-10-05'::date,
                   'Test caveat', session_user)$$, :supplied, :supplied),
  'the batch keeps the CSP 3.4 metadata: agency, supplier and contact, dataset, period, format, count, date, caveats');
SELECT throws_ok($$UPDATE crimesnap.batch SET records_rejected = records_rejected + 1$$, '23514', NULL,
  'the batch table itself refuses counts that do not add up');
SELECT is((SELECT count(*) FROM crimesnap.crime_upload), 1::bigint, 'the batch took its own rows and rows of no known force, nothing else');
SELECT is((SELECT force FROM crimesnap.crime_upload), 'southshire', 'another force''s staged rows are left for its own batch');

-- Every reason, each on the row made to have it.
CREATE TEMP TABLE expect (crime_ref text, reason_code text);
INSERT INTO expect VALUES
  ('T/FORCE', 'unknown_force'), ('', 'missing_reference'), ('T/DUP', 'duplicate_reference'),
  ('T/LONG' || repeat('X', 100), 'reference_too_long'),
  ('T/CODE', 'unknown_offence_code'), ('T/DATE', 'invalid_date'), ('T/MONTH', 'date_outside_month'),
  ('T/ONECOORD', 'impossible_coordinates'), ('T/FAR', 'impossible_coordinates'), ('T/TEXT', 'impossible_coordinates'),
  ('T/AREA', 'outside_force_area'), ('T/NBHD', 'unknown_neighbourhood');
SELECT is((SELECT r.reason_code FROM crimesnap.reject r WHERE r.row_data->>'crime_ref' = e.crime_ref),
          e.reason_code, format('row %s is rejected as %s', coalesce(nullif(e.crime_ref, ''), '(no reference)'), e.reason_code))
  FROM expect e ORDER BY e.crime_ref;
SELECT set_eq($$SELECT DISTINCT reason_code FROM crimesnap.reject$$,
  $$SELECT reason_code FROM crimesnap.reject_reason WHERE reason_code NOT LIKE 'personal_data_in_%'$$,
  'every reject reason in use is exercised');
-- Free text no longer rejects a row (the two personal_data_in_* reasons are 0.1.0's): a
-- flagged context loads and waits for the force's review with the kind found, and an
-- outcome is kept for the force and published only as a police.uk category.
SELECT is((SELECT count(*) FROM crimesnap.raw_crime WHERE crime_ref IN ('T/POSTCODE', 'T/HOUSE', 'T/PHONE', 'T/EMAIL', 'T/VRM', 'T/OUTCOME')),
  6::bigint, 'rows with personal data in their free text load');
SELECT results_eq(
  $$SELECT t.status, t.finding FROM crimesnap.context_text t
      JOIN crimesnap.raw_crime r ON r.force_id = t.force_id AND crimesnap.normalise_context(r.context) = t.text
     WHERE r.crime_ref IN ('T/POSTCODE', 'T/HOUSE', 'T/PHONE', 'T/EMAIL', 'T/VRM') ORDER BY r.crime_ref$$,
  $$VALUES ('pending', 'email address'), ('pending', 'house number and street'), ('pending', 'phone number'),
           ('pending', 'postcode'), ('pending', 'vehicle registration')$$,
  'their contexts wait for review, with the kind of personal data the screen found');
SELECT results_eq(
  $$SELECT h.slug, h.mapped, h.as_supplied, h.month FROM crimesnap.outcome_history h WHERE h.crime_ref = 'T/OUTCOME'$$,
  $$VALUES ('status-update-unavailable', false, 'Letter sent to OX1 2JD', '2026-09-01'::date)$$,
  'an outcome that maps to nothing is kept for the force and stands as Status update unavailable');
SELECT is((SELECT count(*) FROM crimesnap.reject r WHERE r.reason ~ 'Acacia|07700|jo@|AB12|OX1'), 0::bigint,
  'a reason never repeats the personal data itself');
SELECT is((SELECT count(*) FROM crimesnap.reject WHERE row_data->>'crime_ref' = 'T/DUP'), 1::bigint,
  'of a duplicated reference only the second copy is rejected');
SELECT is((SELECT committed_on FROM crimesnap.raw_crime WHERE crime_ref = 'T/DUP'), '2026-09-10'::date,
  'the first copy of a duplicated reference is the one loaded');
SELECT ok((SELECT bool_and(r.row_data ?& ARRAY['force', 'crime_ref', 'offence_code', 'committed_on', 'easting', 'northing',
                                                 'neighbourhood', 'outcome', 'context']) FROM crimesnap.reject r),
  'every reject keeps the whole row');
SELECT is((SELECT records_loaded + records_rejected FROM crimesnap.batch), :supplied::integer,
  'nothing is lost: every row supplied is loaded or rejected');
SELECT is((SELECT count(*)::integer FROM crimesnap.raw_crime) + (SELECT count(*)::integer FROM crimesnap.reject), :supplied::integer,
  'the raw and reject tables hold every row');

-- Loaded rows, normalised.
SELECT results_eq(
  $$SELECT offence_code, committed_on, ST_AsText(geom), outcome, context FROM crimesnap.raw_crime WHERE crime_ref = 'T/OK'$$,
  $$VALUES ('58A', '2026-09-30'::date, 'POINT(450700 201500)', 'Under investigation', 'Seen at 14:30 on 12/09/2026, A40')$$,
  'a valid row is loaded with its code in upper case, its date, its location and its context');
SELECT results_eq(
  $$SELECT geom IS NULL, neighbourhood_id, context FROM crimesnap.raw_crime WHERE crime_ref = 'T/NOLOC'$$,
  $$VALUES (true, 'NS-E', 'Part of a series')$$,
  'a crime with no location loads, with the neighbourhood the force gave');
SELECT ok((SELECT bool_and(persistent_id ~ '^[0-9a-f]{64}$' AND persistent_id = crimesnap.persistent_id(force_id, crime_ref))
             FROM crimesnap.raw_crime), 'every loaded row has its keyed persistent id');
SELECT is((SELECT count(*) FROM crimesnap.raw_crime WHERE geom IS NOT NULL AND neighbourhood_id IS NULL), 0::bigint,
  'every loaded row with a location knows its neighbourhood');

-- ---- a corrected resubmission ----
SELECT persistent_id AS ok_id FROM crimesnap.raw_crime WHERE crime_ref = 'T/OK' \gset
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', 'T/CODE',  '49',  '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/HOUSE', '49',  '2026-09-10', '450700', '201500', NULL, NULL, 'Victim lives nearby'),
  ('northshire', 'T/MONTH', '49',  '2026-09-01', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'T/OK',    '58B', '2026-09-29', '450710', '201510', NULL, 'Local resolution', NULL);
SELECT lives_ok($$SELECT crimesnap.register_batch('northshire', '2026-09-01', 4, 'Northshire Police', 'Data Team',
                                                 'data@northshire.example', 'Corrections 2026-09')$$,
  'a batch of corrected rows registers');
SELECT results_eq(
  $$SELECT r.row_data->>'crime_ref', r.resolved_by_batch = (SELECT max(batch_id) FROM crimesnap.batch),
           rc.crime_ref = r.row_data->>'crime_ref'
      FROM crimesnap.reject r JOIN crimesnap.raw_crime rc ON rc.crime_id = r.resolved_crime_id
     WHERE r.batch_id = (SELECT min(batch_id) FROM crimesnap.batch)
       AND r.reason_code <> 'duplicate_reference'
     ORDER BY 1$$,
  $$VALUES ('T/CODE', true, true), ('T/MONTH', true, true)$$,
  'the earlier rejects of the corrected rows are resolved, pointing at the record that replaced them');
SELECT is((SELECT count(*) FROM crimesnap.outstanding_reject WHERE crime_ref IN ('T/CODE', 'T/HOUSE', 'T/MONTH')), 0::bigint,
  'corrected rows are no longer outstanding');
SELECT is((SELECT count(*) FROM crimesnap.outstanding_reject), 9::bigint, 'the rows not corrected still are');
SELECT results_eq(
  $$SELECT offence_code, superseded_by_batch IS NULL, persistent_id FROM crimesnap.raw_crime WHERE crime_ref = 'T/OK' ORDER BY crime_id$$,
  format($$VALUES ('58A', false, %L), ('58B', true, %L)$$, :'ok_id', :'ok_id'),
  'a resubmitted record replaces the earlier version and keeps its persistent id');

-- ---- the context screen ----
SELECT is(crimesnap.screen_context(t), NULL, format('passes: %s', t))
  FROM (VALUES ('Part of a series of similar incidents in the area'), ('Stolen between 12/06/2019 and 14/06/2019'),
               ('At 14:30, around 11pm'), ('Value £1,500, £250.00 recovered'), ('Incident on the A40 at 5pm'),
               ('Junction of A40 AND M25 JCT 3'), ('On the A40 1st June'), ('PC12 and PC34 attended'),
               ('2 males seen on Oxford Street'), ('3 minutes walk from Euston Road'), ('Between 01 06 2019 and 02 06 2019')) v(t);
SELECT is(crimesnap.screen_context(t), k, format('%s: %s', k, t))
  FROM (VALUES ('Lives at 14 Acacia Road', 'house number and street'), ('Flat 2, 10-12 Downing Street', 'house number and street'),
               ('near W1T 4JE', 'postcode'), ('postcode w1t4je', 'postcode'), ('ring 020 7946 0000', 'phone number'),
               ('ring +44 (0)20 7946 0000', 'phone number'), ('jo.bloggs@example.co.uk', 'email address'),
               ('car ab12cde', 'vehicle registration'), ('old car A123 BCD', 'vehicle registration')) v(t, k);

-- ---- offence codes ----
SELECT throws_ok($$INSERT INTO crimesnap.offence_code (offence_code, slug, sensitive, description)
                   VALUES ('88X', 'public-order', true, 'invented')$$,
  '23514', NULL, 'a sensitive offence cannot map to a narrow category');
SELECT is((SELECT count(*) FROM crimesnap.offence_code WHERE sensitive AND slug NOT IN ('violent-crime', 'other-crime')), 0::bigint,
  'every sensitive offence folds into a broad category');
SELECT ok((SELECT count(*) FROM crimesnap.offence_code WHERE sensitive AND description ~* 'rape|sexual') >= 10,
  'sexual offences are marked sensitive');

-- ---- the loader's privileges ----
-- A force DBA's own role, bound to its force (test/pgtap/force_binding.sql tests the binding).
CREATE ROLE cs_test_ns_loader NOLOGIN IN ROLE crimesnap_loader;
SELECT crimesnap.grant_force('cs_test_ns_loader', 'northshire') \g /dev/null
SET LOCAL ROLE cs_test_ns_loader;
SELECT lives_ok($$INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on) VALUES ('northshire', 'L/1', '49', '2026-09-03')$$,
  'the loader stages rows');
SELECT throws_ok($$SELECT count(*) FROM crimesnap.raw_crime$$, '42501', NULL, 'the loader cannot read raw records');
SELECT throws_ok($$SELECT crimesnap.publish_month('northshire', '2026-09-01', '2026-10-24')$$, '42501', NULL, 'the loader cannot publish');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;

