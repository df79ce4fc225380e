-- Loading a force's monthly upload: the context screen, the offence code mapping, a batch
-- with every kind of bad row, the record count check, and a corrected resubmission.
-- Everything, the town included, runs in one transaction that is rolled back.
\i test/fixtures/regress_town.sql

-- ---- the context screen: what it catches, and ordinary police wording it lets through ----
SELECT example, crimesnap.screen_context(example) AS finding
  FROM (VALUES
    ('Part of a series of similar incidents in the area'),
    ('Stolen between 12/06/2019 and 14/06/2019 at 14:30'),
    ('Between 01 06 2019 and 02 06 2019, around 11pm'),
    ('Value £1,500 taken, £250.00 recovered'),
    ('Incident on the A40 at 5pm'),
    ('Junction of A40 AND M25 JCT 3'),
    ('Suspect seen on the A40 1st June'),
    ('PC12 and PC34 attended'),
    ('2 males seen on Oxford Street'),
    ('2 YOUTHS RAN DOWN HIGH ST'),
    ('3 minutes walk from Euston Station'),
    ('Operation Trident, ref 1234/19'),
    ('Victim lives at 14 Acacia Road'),
    ('Flat 2, 10-12 Downing Street'),
    ('At 12 St John''s Road'),
    ('14 The Avenue'),
    ('VICTIM AT 23 HIGH ST'),
    ('Near W1T 4JE'),
    ('postcode w1t4je'),
    ('GIR 0AA'),
    ('Caller on 07700 900123 reported noise'),
    ('Ring (020) 7946 0000'),
    ('Ring +44 (0)20 7946 0000'),
    ('Contact jo.bloggs@example.co.uk'),
    ('Suspect vehicle AB12 CDE seen nearby'),
    ('Suspect vehicle ab12cde'),
    ('Old car A123 BCD'),
    ('Older car ABC 123D')) AS e(example);

-- ---- offence codes ----
-- Every Home Office code maps to one police.uk category; sensitive offences only to the
-- two broadest, and to "other crime" or "violent crime" in the 2010 scheme too.
SELECT o.slug, count(*) AS codes, count(*) FILTER (WHERE o.sensitive) AS sensitive
  FROM crimesnap.offence_code o WHERE o.force_id IS NULL GROUP BY 1 ORDER BY 1;
SELECT f.slug AS crimemapper_2010, count(*) AS codes
  FROM crimesnap.offence_code o
  JOIN crimesnap.category_fold f ON f.scheme = 'crimemapper-2010' AND f.police_uk_slug = o.slug
 WHERE o.force_id IS NULL GROUP BY 1 ORDER BY 1;
-- A sensitive offence cannot be given a narrow category.
INSERT INTO crimesnap.offence_code (offence_code, slug, sensitive, description)
VALUES ('88F', 'public-order', true, 'an invented sensitive code');
-- A force's own code wins over a Home Office code spelt the same.
INSERT INTO crimesnap.offence_code (force_id, offence_code, slug, description)
VALUES ('northshire', 'BURG1', 'burglary', 'Northshire''s own burglary code');

-- ---- a batch with every kind of bad row ----
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
SELECT force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context
  FROM town.upload WHERE month = '2026-09-01' AND force = 'northshire' ORDER BY crime_ref;
-- ...plus rows the town does not have: no reference, a bad date, an unknown force, an
-- unknown neighbourhood, an email in the context and a postcode in the outcome (both load now:
-- free text never rejects a row), the force's
-- own code, NaN, and a reference given twice.
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', '  ',       '49',    '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'NO/X/1',   '49',    '2026-09-31', '450700', '201500', NULL, NULL, NULL),
  ('westshire',  'WE/X/1',   '49',    '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'NO/X/2',   '49',    '2026-09-10', '',       '',       'SS-C', NULL, NULL),
  ('northshire', 'NO/X/3',   '49',    '2026-09-10', '450700', '201500', NULL, NULL, 'Tell sam@example.org'),
  ('northshire', 'NO/X/4',   '49',    '2026-09-10', '450700', '201500', NULL, 'Sent to NW1 2AB', NULL),
  ('northshire', 'NO/X/5',   'burg1', '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'NO/X/6',   '49',    '2026-09-10', 'NaN',    '201500', NULL, NULL, NULL),
  ('northshire', 'NO/X/7',   '49',    '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', ' NO/X/7 ', '49',    '2026-09-12', '450700', '201500', NULL, NULL, NULL);
SELECT count(*) AS supplied, count(*) + 1 AS one_too_many FROM crimesnap.crime_upload \gset
SELECT :supplied > 300 AS a_month_of_rows;

-- The supplier says one more record than the file holds: the batch fails, keeps nothing,
-- and leaves the upload where it was.
SAVEPOINT before_count;
SELECT batch_id FROM crimesnap.register_batch('northshire', '2026-09-01', :one_too_many, 'Northshire Police',
       'Data Team', 'data@northshire.police.example', 'Crimes and ASB 2026-09');
ROLLBACK TO SAVEPOINT before_count;
SELECT count(*) = :supplied AS all_rows_still_staged FROM crimesnap.crime_upload;
SELECT count(*) AS batches, (SELECT count(*) FROM crimesnap.raw_crime) AS raw, (SELECT count(*) FROM crimesnap.reject) AS rejects
  FROM crimesnap.batch;

-- Metadata is required (CSP guidance 3.4), and so is a sensible count.
SAVEPOINT before_meta;
SELECT batch_id FROM crimesnap.register_batch('northshire', '2026-09-01', :supplied, 'Northshire Police', '', NULL, 'Crimes');
ROLLBACK TO SAVEPOINT before_meta;
SELECT batch_id FROM crimesnap.register_batch('northshire', '2026-09-01', -1, 'a', 'b', 'c', 'd');
ROLLBACK TO SAVEPOINT before_meta;
SELECT batch_id FROM crimesnap.register_batch('westshire', '2026-09-01', 1, 'a', 'b', 'c', 'd');
ROLLBACK TO SAVEPOINT before_meta;

-- The right count: every row supplied is loaded or rejected.
SELECT b.force_id, b.month, b.period_start, b.period_end, b.records_supplied = :supplied AS supplied_as_stated,
       b.records_loaded + b.records_rejected = :supplied AS all_accounted_for, b.records_rejected, b.supplying_agency, b.supplier_name, b.supplier_contact, b.dataset_name,
       b.file_format, b.date_supplied, b.caveats, b.registered_by = session_user AS registered_by_me
  FROM crimesnap.register_batch('northshire', '2026-09-01', :supplied, 'Northshire Police', 'Data Team',
         'data@northshire.police.example', 'Crimes and ASB 2026-09', 'crimesnap upload CSV 1',
         '2026-10-05', 'Locations of crimes in parks are approximate') b;
SELECT count(*) AS left_in_upload FROM crimesnap.crime_upload;

-- Every reason, with the row it rejected.
SELECT r.reason_code, r.row_data->>'crime_ref' AS crime_ref, r.reason
  FROM crimesnap.reject r ORDER BY r.reason_code, r.upload_row;
-- The personal data itself is kept only in the rejected row, never in the reason.
SELECT count(*) AS reasons_quoting_personal_data FROM crimesnap.reject r
 WHERE r.reason ~ '07700|AB12|Acacia|sam@|NW1';
-- Loaded rows: references kept raw, ids keyed, the force's own code, no location kept empty.
SELECT count(*) = :supplied - (SELECT count(*) FROM crimesnap.reject) AS loaded, count(DISTINCT crime_ref) = count(*) AS refs_unique, count(*) FILTER (WHERE geom IS NULL) AS no_location,
       count(*) FILTER (WHERE persistent_id ~ '^[0-9a-f]{64}$') AS with_id,
       count(*) FILTER (WHERE offence_code = 'BURG1') AS own_code
  FROM crimesnap.raw_crime;

-- ---- a corrected resubmission ----
-- The force corrects four rejected rows and sends them as a second batch for the month.
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', 'NO/2609/BAD1', '49',   '2026-09-10', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'NO/2609/BAD2', '46',   '2026-09-02', '450700', '201500', NULL, NULL, NULL),
  ('northshire', 'NO/2609/BAD6', '105A', '2026-09-10', '450700', '201500', NULL, NULL, 'Victim known to suspect'),
  ('northshire', 'NO/X/1',       '49',   '2026-09-30', '450700', '201500', NULL, NULL, NULL);
-- ...and corrects a record that had loaded: the new version replaces it.
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
SELECT 'northshire', min(crime_ref), '58A', '2026-09-11', '450800', '201600', NULL, 'Under investigation', NULL
  FROM crimesnap.raw_crime WHERE crime_ref LIKE 'NO/2609/0%';
SELECT b.records_supplied, b.records_loaded, b.records_rejected
  FROM crimesnap.register_batch('northshire', '2026-09-01', 5, 'Northshire Police', 'Data Team',
         'data@northshire.police.example', 'Corrections to crimes and ASB 2026-09') b;
SELECT r.reason_code, r.crime_ref, r.resolved_by_batch, r.resolved_crime_id IS NOT NULL AS resolved
  FROM crimesnap.reject r WHERE r.resolved_by_batch IS NOT NULL ORDER BY r.crime_ref, r.reject_id;
SELECT reason_code, count(*) AS outstanding FROM crimesnap.outstanding_reject GROUP BY 1 ORDER BY 1;
-- The replaced record is superseded and keeps its persistent id.
SELECT r.batch_id, r.offence_code, r.superseded_by_batch, count(*) OVER (PARTITION BY r.persistent_id) AS versions
  FROM crimesnap.raw_crime r
 WHERE r.crime_ref = (SELECT min(crime_ref) FROM crimesnap.raw_crime WHERE crime_ref LIKE 'NO/2609/0%')
 ORDER BY r.batch_id;
SELECT count(*) AS live FROM crimesnap.raw_crime WHERE superseded_by_batch IS NULL;
ROLLBACK;

-- Leave a clean extension for the next file.
