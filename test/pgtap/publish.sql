-- Publication: the lag, persistent ids (stable, keyed, never the reference), categories,
-- location text, LSOAs, no-location crimes, atomic re-publication and roll-off, the audit
-- that proves the rules (and catches each broken one), and who may publish.
-- Everything, the town included, runs in one transaction that is rolled back.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(72);

SELECT crimesnap.build_snap_points() AS version \gset
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
-- Rows the tests below follow: a sexual offence, a crime with no location, an ASB incident.
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) VALUES
  ('northshire', 'T/RAPE',  '19C', '2026-09-20', '450620', '201310', NULL, 'Under investigation', NULL),
  ('northshire', 'T/NOLOC', '49',  '2026-09-20', '',       '',       'NS-E', 'Under investigation', 'Theft on a train; place unknown'),
  ('northshire', 'T/ASB',   'ASB', '2026-09-20', '450620', '201310', NULL, NULL, NULL);
SELECT crimesnap.register_batch('northshire', '2026-09-01', 3, 'Northshire Police', 'Data Team', 'data@police.example', 'Extra') IS NOT NULL;

-- ---- the lag ----
SELECT is(crimesnap.publishable_from('2026-09-01'), '2026-10-23'::date, 'September is publishable from 23 October');
SELECT is(crimesnap.publishable_from('2028-02-01'), '2028-03-23'::date, 'a leap February is publishable 23 days after the 29th');
SELECT is(crimesnap.latest_publishable_month('2026-10-22'), '2026-08-01'::date, 'on 22 October August is the newest publishable month');
SELECT is(crimesnap.latest_publishable_month('2026-10-23'), '2026-09-01'::date, 'on 23 October September is');
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-22')$$,
  '55000', 'month 2026-09 cannot be published before 2026-10-23', 'one day early fails, saying when it becomes possible');
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-15', '2026-09-30')$$,
  '55000', 'month 2026-09 cannot be published before 2026-10-23', 'a month is never published before it ends');
SET LOCAL crimesnap.min_age_days = 30;
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23')$$,
  '55000', 'month 2026-09 cannot be published before 2026-10-30', 'crimesnap.min_age_days sets the lag');
RESET crimesnap.min_age_days;
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23')$$, 'on the day it publishes');
SELECT is((SELECT reference_date FROM crimesnap.publication WHERE force_id = 'northshire'), '2026-10-23'::date,
  'the publication records the date it was made as of');
SELECT is((SELECT published_by FROM crimesnap.publication WHERE force_id = 'northshire'), session_user, 'and who made it');

-- ---- what was published ----
SELECT is((SELECT count(*) FROM crimesnap.audit_publication()), 0::bigint, 'the audit finds nothing wrong');
SELECT is((SELECT crimes FROM crimesnap.publication WHERE force_id = 'northshire'),
          (SELECT count(*)::integer FROM crimesnap.raw_crime WHERE force_id = 'northshire' AND month = '2026-09-01'),
          'every live record is published');
SELECT ok(NOT EXISTS (SELECT FROM crimesnap_api.street_crime WHERE street_name NOT LIKE 'On or near %'), 'every location reads "On or near ..."');
SELECT ok(NOT EXISTS (SELECT FROM crimesnap_api.street_crime s
                       WHERE crimesnap.location_label_problem(substr(s.street_name, 12)) IS NOT NULL),
  'every location is a loaded street name or a class of place');
SELECT ok(NOT EXISTS (SELECT FROM crimesnap_api.street_crime s
                       WHERE NOT EXISTS (SELECT FROM crimesnap.lsoa l WHERE l.lsoa_code = s.lsoa_code AND ST_Intersects(l.geom, s.geom))),
  'every LSOA published is the LSOA of the published point');
SELECT ok(EXISTS (SELECT FROM crimesnap_api.street_crime s JOIN crimesnap.published_crime c ON c.id = s.id
                    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id JOIN crimesnap.lsoa l ON ST_Intersects(l.geom, r.geom)
                   WHERE l.lsoa_code <> s.lsoa_code),
  'even where the raw location lies in another LSOA');
SELECT results_eq(
  $$SELECT s.category, s.category_name, s.persistent_id IS NOT NULL FROM crimesnap_api.street_crime s
     JOIN crimesnap.published_crime c ON c.id = s.id JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    WHERE r.crime_ref = 'T/RAPE'$$,
  $$VALUES ('violent-crime', 'Violence and sexual offences', true)$$,
  'a sexual offence is published in the broad violence and sexual offences category');
SELECT results_eq(
  $$SELECT n.category, n.context FROM crimesnap_api.no_location_crime n
     JOIN crimesnap.published_crime c ON c.id = n.id JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    WHERE r.crime_ref = 'T/NOLOC'$$,
  $$VALUES ('other-theft', NULL::text)$$,
  'a crime with no location is published in the no-location output (without its context: nobody approved it)');
SELECT is((SELECT no_location FROM crimesnap.publication WHERE force_id = 'northshire'),
          (SELECT count(*)::integer FROM crimesnap_api.no_location_crime WHERE force = 'northshire'),
          'crimes with no location count in the month''s total');
SELECT is((SELECT count(*) FROM crimesnap_api.police_uk_csv('northshire', '2026-09') WHERE "Location" = 'No Location'),
          (SELECT count(*) FROM crimesnap_api.no_location_crime WHERE force = 'northshire'),
          'and in the CSV export');
SELECT is((SELECT sum(crimes) FROM crimesnap_api.month_totals WHERE force = 'northshire'),
          (SELECT crimes::numeric FROM crimesnap.publication WHERE force_id = 'northshire'),
          'and in the totals by category');

-- ---- persistent ids ----
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE category = 'anti-social-behaviour' AND persistent_id IS NOT NULL), 0::bigint,
  'ASB has no persistent id');
SELECT ok((SELECT bool_and(persistent_id ~ '^[0-9a-f]{64}$') FROM crimesnap_api.street_crime WHERE category <> 'anti-social-behaviour'),
  'every crime has 64 hex characters');
SELECT is((SELECT count(*) FROM crimesnap.published_crime c JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
            WHERE c.persistent_id IN (r.crime_ref, encode(sha256(convert_to(r.crime_ref, 'UTF8')), 'hex'),
                                      encode(sha256(convert_to(r.force_id || '|' || r.crime_ref, 'UTF8')), 'hex')
                                      )), 0::bigint,
  'an id is neither the reference nor a plain hash of it');
-- Every published id recomputed from the raw record with pgcrypto's HMAC, independently of
-- crimesnap's own: an id that did not come from its force and reference under the key (a
-- planted one, below) is counted.
CREATE EXTENSION pgcrypto;
CREATE FUNCTION pg_temp.ids_not_from_raw() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM crimesnap.published_crime c
    JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
    JOIN crimesnap.secret s ON s.name = 'persistent_id_key'
   WHERE c.persistent_id IS NOT NULL
     AND c.persistent_id IS DISTINCT FROM encode(hmac(convert_to(r.force_id || '|' || r.crime_ref, 'UTF8'), s.value, 'sha256'), 'hex')
$$;
SELECT cmp_ok((SELECT count(*) FROM crimesnap.published_crime WHERE persistent_id IS NOT NULL), '>', 100::bigint,
  'the month publishes hundreds of persistent ids');
SELECT is(pg_temp.ids_not_from_raw(), 0::bigint,
  'every published id is the keyed HMAC-SHA256 of its raw force and reference (recomputed with pgcrypto)');
SAVEPOINT planted;
UPDATE crimesnap.published_crime SET persistent_id = encode(sha256('planted'), 'hex')
 WHERE id = (SELECT min(id) FROM crimesnap.published_crime WHERE persistent_id IS NOT NULL);
SELECT is(pg_temp.ids_not_from_raw(), 1::bigint, 'and the recomputation catches one planted id');
ROLLBACK TO SAVEPOINT planted;
SELECT isnt(crimesnap.persistent_id('northshire', 'NO/2609/00001'), crimesnap.persistent_id('southshire', 'NO/2609/00001'),
  'the same reference in another force gets another id');
SELECT is(crimesnap.hmac_sha256_hex('\x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'::bytea, 'Hi There'),
  'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7', 'the HMAC is HMAC-SHA256 (RFC 4231 test case 1)');
SELECT throws_ok($$SELECT crimesnap.hmac_sha256_hex('\x0102'::bytea, 'x')$$, '22023', NULL, 'a short key is refused');
SELECT persistent_id AS sample_id, crimesnap.persistent_id(force_id, crime_ref) AS sample_before FROM crimesnap.raw_crime
 WHERE crime_ref = 'T/RAPE' \gset
SAVEPOINT key;
UPDATE crimesnap.secret SET value = crimesnap.random_key();
SELECT isnt(crimesnap.persistent_id('northshire', 'T/RAPE'), :'sample_before', 'the id is keyed: another key, another id');
ROLLBACK TO SAVEPOINT key;
SELECT is(crimesnap.persistent_id('northshire', 'T/RAPE'), :'sample_before', 'and the same key gives the same id back');
SELECT ok(NOT has_table_privilege(r, 'crimesnap.secret', 'SELECT'), format('%s cannot read the key', r))
  FROM unnest(ARRAY['crimesnap_web', 'crimesnap_analyst', 'crimesnap_loader', 'crimesnap_publisher']) r;
CREATE TEMP TABLE ids_before AS SELECT persistent_id FROM crimesnap_api.street_crime WHERE persistent_id IS NOT NULL;
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-30')$$, 're-publishing the month works');
SELECT set_eq($$SELECT persistent_id FROM crimesnap_api.street_crime WHERE persistent_id IS NOT NULL$$,
              $$SELECT persistent_id FROM ids_before$$, 'and every persistent id survives it');
SAVEPOINT rotate;
SELECT ok(crimesnap.rotate_persistent_id_key('test: key exposed') > 0, 'the key can be rotated');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime s JOIN ids_before b USING (persistent_id)), 0::bigint,
  'after a rotation every published id is new');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication()), 0::bigint, 'and consistent');
ROLLBACK TO SAVEPOINT rotate;

-- ---- categories under the 2010 scheme ----
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23', 'crimemapper-2010')$$,
  'a force can publish under the six CrimeMapper categories');
SELECT ok((SELECT bool_and(category IN ('anti-social-behaviour', 'burglary', 'robbery', 'vehicle-crime', 'violent-crime', 'other-crime'))
             FROM crimesnap_api.street_crime WHERE force = 'southshire'), 'and uses nothing else');
SELECT is((SELECT count(DISTINCT category) FROM crimesnap_api.street_crime WHERE force = 'northshire') > 6, true,
  'while police.uk''s scheme uses its own');

-- ---- atomic re-publication and roll-off ----
-- Poison one October record after loading: its context now holds a phone number, and an
-- approval that never overrode the screen is planted for it, so the audit at the end of
-- publish_month fails after the roll-off of September has run.
SELECT crimesnap.set_context_publication('northshire', true, 'test') IS NOT NULL;
UPDATE crimesnap.raw_crime SET context = 'call 07700 900123'
 WHERE crime_id = (SELECT min(crime_id) FROM crimesnap.raw_crime WHERE force_id = 'northshire' AND month = '2026-10-01');
INSERT INTO crimesnap.context_text (force_id, text, status, decided_by, decided_at)
VALUES ('northshire', 'call 07700 900123', 'approved', session_user, now());
CREATE TEMP TABLE september AS SELECT id, persistent_id FROM crimesnap_api.street_crime WHERE force = 'northshire';
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23')$$,
  '23514', 'publication of northshire 2026-10 fails its audit: personal data in context', 'a publication that fails its audit fails');
SELECT set_eq($$SELECT id, persistent_id FROM crimesnap_api.street_crime WHERE force = 'northshire'$$, $$SELECT * FROM september$$,
  'and nothing moved: September is still on the map, every row of it');
SELECT is((SELECT count(*) FROM crimesnap.trend), 0::bigint, 'and nothing reached the trend table');
UPDATE crimesnap.raw_crime SET context = NULL WHERE context = 'call 07700 900123';
DELETE FROM crimesnap.context_text WHERE text = 'call 07700 900123';
SELECT is((SELECT rolled_off FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23')), 1,
  'publishing October rolls September off');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE force = 'northshire' AND month = '2026-09'), 0::bigint,
  'September has left the map');
SELECT is((SELECT sum(crimes)::integer FROM crimesnap.trend WHERE force_id = 'northshire' AND month = '2026-09-01'),
          (SELECT crimes FROM crimesnap.publication WHERE force_id = 'northshire' AND month = '2026-09-01'),
          'and every record of it, mapped or not, is in the trend table');
SELECT is((SELECT sum(crimes)::integer FROM crimesnap.trend WHERE force_id = 'northshire' AND month = '2026-09-01' AND lsoa_code IS NULL),
          (SELECT no_location FROM crimesnap.publication WHERE force_id = 'northshire' AND month = '2026-09-01'),
          'records without a location count in the trend with no LSOA');

-- ---- the audit catches each broken rule ----
SAVEPOINT audit;
UPDATE crimesnap.snap_point SET label = '12 Acacia Road' WHERE version = :version
   AND point_id = (SELECT min(street_id) FROM crimesnap_api.street_crime WHERE force = 'northshire');
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'location label'), 'the audit catches a house number in a location');
ROLLBACK TO SAVEPOINT audit;
UPDATE crimesnap.snap_point SET lsoa_code = 'E01909999' WHERE version = :version
   AND point_id = (SELECT min(street_id) FROM crimesnap_api.street_crime WHERE force = 'northshire');
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'lsoa is not the point''s'), 'the audit catches a wrong LSOA');
ROLLBACK TO SAVEPOINT audit;
UPDATE crimesnap.published_crime SET context = 'jo@example.com' WHERE id = (SELECT min(id) FROM crimesnap.published_crime);
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'personal data in context'), 'the audit catches personal data in a context');
ROLLBACK TO SAVEPOINT audit;
UPDATE crimesnap.published_crime SET persistent_id = encode(sha256('x'), 'hex') WHERE id = (SELECT min(id) FROM crimesnap.published_crime WHERE persistent_id IS NOT NULL);
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'persistent id'), 'the audit catches an id that is not the keyed hash');
ROLLBACK TO SAVEPOINT audit;
INSERT INTO crimesnap.withdrawal (scope, force_id, persistent_id, reason)
SELECT 'record', force_id, persistent_id, 'test' FROM crimesnap.published_crime WHERE persistent_id IS NOT NULL LIMIT 1;
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'withdrawn record published'), 'the audit catches a withdrawn record still published');
ROLLBACK TO SAVEPOINT audit;
DELETE FROM crimesnap.published_crime WHERE id = (SELECT min(id) FROM crimesnap.published_crime);
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'record unaccounted for'), 'the audit catches a record that went missing');
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'totals'), 'and the totals that no longer add up');
ROLLBACK TO SAVEPOINT audit;
UPDATE crimesnap.trend SET crimes = crimes + 1 WHERE ctid = (SELECT min(ctid) FROM crimesnap.trend);
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'trend cell'), 'the audit catches a trend cell that is off');
ROLLBACK TO SAVEPOINT audit;
UPDATE crimesnap.publication SET reference_date = '2026-11-01' WHERE force_id = 'northshire' AND month = '2026-10-01';
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'published too early'), 'the audit catches a month published too early');
ROLLBACK TO SAVEPOINT audit;
UPDATE crimesnap.publication SET status = 'street-level', rolled_off_at = NULL WHERE force_id = 'northshire' AND month = '2026-09-01';
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'street level too long'), 'the audit catches a month kept on the map too long');
ROLLBACK TO SAVEPOINT audit;
-- The raw location checked, not the neighbourhood stored at load: move one into NS-W.
UPDATE crimesnap.raw_crime SET geom = (SELECT ST_PointOnSurface(n.geom) FROM crimesnap.neighbourhood n WHERE n.neighbourhood_id = 'NS-W')
 WHERE crime_id = (SELECT c.crime_id FROM crimesnap.published_crime c WHERE c.neighbourhood_id = 'NS-E' AND c.point_id IS NOT NULL LIMIT 1);
SELECT ok(EXISTS (SELECT FROM crimesnap.audit_publication() WHERE violation = 'snapped across a neighbourhood boundary'), 'the audit catches a crime snapped into another neighbourhood');
ROLLBACK TO SAVEPOINT audit;
SELECT is((SELECT count(*) FROM crimesnap.audit_publication()), 0::bigint, 'and with every rule restored it is clean');

-- ---- who may publish ----
SELECT ok(has_function_privilege('crimesnap_publisher', 'crimesnap.publish_month(text, date, date, text)', 'EXECUTE'), 'the publisher may publish');
SELECT ok(NOT has_function_privilege(r, 'crimesnap.publish_month(text, date, date, text)', 'EXECUTE'), format('%s may not', r))
  FROM unnest(ARRAY['crimesnap_web', 'crimesnap_analyst', 'crimesnap_loader']) r;
SELECT ok(NOT has_function_privilege(r, 'crimesnap.rotate_persistent_id_key(text)', 'EXECUTE'), format('%s may not rotate the key', r))
  FROM unnest(ARRAY['crimesnap_web', 'crimesnap_analyst', 'crimesnap_loader', 'crimesnap_publisher']) r;
CREATE ROLE cs_test_ss_publisher NOLOGIN IN ROLE crimesnap_publisher;
SELECT crimesnap.grant_force('cs_test_ss_publisher', 'southshire') \g /dev/null
SET LOCAL ROLE cs_test_ss_publisher;
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('southshire', '2026-10-01', '2026-11-23')$$, 'a publisher of the force publishes');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;

