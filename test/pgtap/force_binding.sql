-- Each force acts on its own data (issue 9, section 3): force binding, crimesnap_admin and
-- the cross-force attacks of the review, each refused.  Two forces of the generated town,
-- northshire and southshire, each with a DBA role bound to it.  Everything, the roles
-- included, runs in one transaction that is rolled back.
--
-- How these tests fail on broken code: drop the PERFORM crimesnap.assert_acts_for() line of
-- a function and its "refused" test fails (the call succeeds); give crimesnap.acting_forces()
-- current_user instead of crimesnap.calling_role() and the SET ROLE tests fail (inside the
-- SECURITY DEFINER function the caller is the owner, a superuser, who acts for every force).
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(76);

SELECT crimesnap.build_snap_points() AS version \gset
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, '2026-09-01') FROM unnest(ARRAY['northshire', 'southshire']) f;
SELECT count(*) FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23') \g /dev/null
SELECT count(*) FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23') \g /dev/null

CREATE ROLE cs_t_ns_dba NOLOGIN IN ROLE crimesnap_loader, crimesnap_publisher;
CREATE ROLE cs_t_ss_dba NOLOGIN IN ROLE crimesnap_loader, crimesnap_publisher;
CREATE ROLE cs_t_ns_clerk NOLOGIN IN ROLE cs_t_ns_dba;          -- acts for northshire through cs_t_ns_dba
CREATE ROLE cs_t_unbound NOLOGIN IN ROLE crimesnap_loader, crimesnap_publisher;
CREATE ROLE cs_t_admin NOLOGIN IN ROLE crimesnap_admin;
CREATE SCHEMA cs_t;
GRANT USAGE ON SCHEMA cs_t TO PUBLIC;
CREATE FUNCTION cs_t.who() RETURNS text LANGUAGE sql SECURITY DEFINER
  AS $$ SELECT current_user || ' ' || crimesnap.calling_role() $$;
-- The hint of the error a statement raises.
CREATE FUNCTION cs_t.hint_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  h text;
BEGIN
  EXECUTE q;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
  RETURN h;
END
$$;

-- ==== binding ====
SET LOCAL ROLE cs_t_ns_dba;
SELECT throws_ok($$SELECT crimesnap.grant_force('cs_t_ns_dba', 'southshire')$$, '42501', NULL,
                 'a force DBA cannot bind itself to another force');
RESET ROLE;
SET LOCAL ROLE cs_t_admin;
SELECT ok(crimesnap.grant_force('cs_t_ns_dba', 'northshire'), 'an administrator binds a role to a force');
SELECT ok(NOT crimesnap.grant_force('cs_t_ns_dba', 'northshire'), 'binding it again changes nothing');
SELECT ok(crimesnap.grant_force('cs_t_ss_dba', 'southshire'), 'and the other force''s role to it');
SELECT throws_ok($$SELECT crimesnap.grant_force('crimesnap_publisher', 'northshire')$$, '22023', NULL,
                 'crimesnap''s shared roles cannot be bound to one force');
SELECT throws_ok($$SELECT crimesnap.grant_force('cs_t_ns_dba', 'nowhere')$$, '23503', 'force "nowhere" does not exist',
                 'nor a role to a force that does not exist');
RESET ROLE;
SELECT is((SELECT array_agg(detail->>'role' ORDER BY log_id) FROM crimesnap.audit_log WHERE action = 'grant-force'),
          ARRAY['cs_t_ns_dba', 'cs_t_ss_dba'], 'every binding is in the audit log');

-- ==== who is calling ====
SET LOCAL ROLE cs_t_ns_dba;
SELECT is(crimesnap.acting_forces(), ARRAY['northshire'], 'a bound role acts for its force');
SELECT is(cs_t.who(), session_user || ' cs_t_ns_dba',
          'inside a SECURITY DEFINER function current_user is the owner; crimesnap.calling_role() is the role SET ROLE set');
RESET ROLE;
SET LOCAL ROLE cs_t_ns_clerk;
SELECT is(crimesnap.acting_forces(), ARRAY['northshire'], 'a member of a bound role acts for its force too');
RESET ROLE;
SET LOCAL ROLE cs_t_unbound;
SELECT is(crimesnap.acting_forces(), '{}'::text[], 'a loader and publisher bound to no force acts for none');
RESET ROLE;
SELECT is(crimesnap.acting_forces(), ARRAY['northshire', 'southshire'], 'a superuser acts for every force');

-- ==== loading ====
SET LOCAL ROLE cs_t_ns_dba;
SELECT throws_ok($$INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on)
                   VALUES ('southshire', 'X/1', '49', '2026-10-03')$$, '42501', NULL,
                 'a loader cannot stage another force''s records');
SELECT lives_ok($$INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing)
                  VALUES ('northshire', 'N/OCT/1', '49', '2026-10-03', '', ''),
                         ('nowhereshire', 'N/OCT/2', '49', '2026-10-03', '', '')$$,
                'it stages its own force''s rows, and rows naming no force (its next batch rejects them)');
SELECT throws_ok($$INSERT INTO crimesnap.crime_upload (force, crime_ref, loaded_by) VALUES ('northshire', 'N/OCT/3', 'cs_t_ss_dba')$$,
                 '42501', NULL, 'it cannot sign its rows with another role''s name');
RESET ROLE;
SET LOCAL ROLE cs_t_ss_dba;
SELECT lives_ok($$INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing)
                  VALUES ('southshire', 'S/OCT/1', '49', '2026-10-03', '', ''),
                         ('nowhereshire', 'S/OCT/2', '49', '2026-10-03', '', '')$$,
                'the other force stages its rows');
SELECT is((SELECT array_agg(crime_ref ORDER BY crime_ref) FROM crimesnap.staged_upload), ARRAY['S/OCT/1', 'S/OCT/2'],
          'a loader sees only its force''s staged rows and those it loaded');
SELECT throws_ok($$SELECT count(*) FROM crimesnap.crime_upload$$, '42501', NULL,
                 'and cannot read the staging table itself');
SELECT throws_ok($$DELETE FROM crimesnap.crime_upload WHERE force = 'northshire'$$, '42501', NULL,
                 'nor delete another force''s staged rows from it');
DELETE FROM crimesnap.staged_upload WHERE force = 'northshire';
RESET ROLE;
SELECT is((SELECT count(*) FROM crimesnap.crime_upload WHERE crime_ref LIKE 'N/%'), 2::bigint,
          'deleting through staged_upload leaves the other force''s rows alone');
SET LOCAL ROLE cs_t_ns_dba;
SELECT throws_ok($$SELECT crimesnap.register_batch('southshire', '2026-10-01', 1, 'Southshire Police', 'x', 'x', 'x')$$,
                 '42501', 'role cs_t_ns_dba does not act for force "southshire"', 'a loader cannot register another force''s batch');
SELECT is(cs_t.hint_of($$SELECT crimesnap.register_batch('southshire', '2026-10-01', 1, 'Southshire Police', 'x', 'x', 'x')$$),
          'A member of crimesnap_admin binds it with SELECT crimesnap.grant_force(''cs_t_ns_dba'', ''southshire'').',
          'and the error''s hint names the fix');
SELECT lives_ok($$SELECT crimesnap.register_batch('northshire', '2026-10-01', 2, 'Northshire Police', 'x', 'x', 'x')$$,
                'it registers its own force''s batch');
RESET ROLE;
SELECT is((SELECT array_agg(crime_ref ORDER BY crime_ref) FROM crimesnap.crime_upload), ARRAY['S/OCT/1', 'S/OCT/2'],
          'the batch claimed its force''s rows and its own unknown-force row, not the other force''s');
SELECT is((SELECT array_agg(reason_code || ' ' || crime_ref ORDER BY crime_ref) FROM crimesnap.reject r
             JOIN crimesnap.batch b USING (batch_id) WHERE b.month = '2026-10-01'),
          ARRAY['unknown_force N/OCT/2'], 'its unknown-force row became its reject');

-- ==== reading ====
-- A partnership with agreements with both forces, and an extract of each.
INSERT INTO crimesnap.partner (partner_id, name, contact, member_role) VALUES ('cs-t-csp', 'A partnership', 'x', 'cs_t_unbound');
INSERT INTO crimesnap.partner_agreement (partner_id, force_id, dsa_reference, supplier_name, supplier_contact)
VALUES ('cs-t-csp', 'northshire', 'DSA-N', 'x', 'x'), ('cs-t-csp', 'southshire', 'DSA-S', 'x', 'x');
SELECT count(*) FROM unnest(ARRAY['northshire', 'southshire']) f, crimesnap.partner_extract(f, '2026-09-01', '2026-09-30', 'cs-t-csp') \g /dev/null
SELECT max(extract_id) AS ss_extract FROM crimesnap.partner_extract_log WHERE force_id = 'southshire' \gset
SELECT ok((SELECT count(*) FROM crimesnap.context_text WHERE force_id = 'southshire') > 0
          AND (SELECT count(*) FROM crimesnap.outcome_history WHERE force_id = 'southshire') > 0
          AND (SELECT count(*) FROM crimesnap.partner_extract_row WHERE extract_id = :ss_extract) > 0,
          'Southshire has context texts, outcome history and a partner extract with rows');
SET LOCAL ROLE cs_t_ns_dba;
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.context_text), ARRAY['northshire'],
          'a publisher reads only its force''s context texts (they may hold personal data until rejected)');
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.outcome_history), ARRAY['northshire'],
          'and outcome history (references and the force''s own words)');
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.partner_extract_log), ARRAY['northshire'],
          'and partner extracts');
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.partner_receipts), ARRAY['northshire'],
          'and what partners received');
SELECT is((SELECT count(*) FROM crimesnap.partner_extract_row WHERE extract_id = :ss_extract), 0::bigint,
          'and no row of another force''s partner extract (sanitised addresses)');
SELECT throws_ok($$INSERT INTO crimesnap.outcome_code (force_id, outcome_code, slug) VALUES ('southshire', 'attack', 'no-further-action')$$,
                 '42501', NULL, 'a loader cannot map another force''s outcome codes');
SELECT throws_ok($$UPDATE crimesnap.outcome_code SET slug = 'charged' WHERE force_id IS NULL$$,
                 '42501', 'only crimesnap_admin may change national outcome codes', 'nor change national outcome codes');
SELECT lives_ok($$INSERT INTO crimesnap.outcome_code (force_id, outcome_code, slug) VALUES ('northshire', 'words of advice', 'local-resolution')$$,
                'it maps its own');
RESET ROLE;
SET LOCAL ROLE cs_t_ns_dba;
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.raw_crime), ARRAY['northshire'], 'a publisher reads only its force''s raw records');
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.reject), ARRAY['northshire'], 'and rejects');
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.outstanding_reject), ARRAY['northshire'], 'and outstanding rejects');
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.batch), ARRAY['northshire'], 'and batches');
SELECT is((SELECT count(*) FROM crimesnap.audit_log WHERE force_id = 'southshire'), 0::bigint, 'and audit entries');
SELECT throws_ok($$SELECT crimesnap.persistent_id('southshire', 'SS/1')$$, '42501', NULL,
                 'it cannot compute another force''s persistent ids (to confirm a guessed reference)');
SELECT lives_ok($$SELECT crimesnap.persistent_id('northshire', 'NS/1')$$, 'but computes its own');
SELECT throws_ok($$SELECT * FROM crimesnap.audit_publication('southshire')$$, '42501', NULL,
                 'it cannot audit another force''s publication');
RESET ROLE;
SET LOCAL ROLE cs_t_unbound;
SELECT is((SELECT count(*) FROM crimesnap.raw_crime), 0::bigint, 'a publisher bound to no force reads no raw record');
RESET ROLE;

-- ==== publishing, rolling off, withdrawing ====
SET LOCAL ROLE cs_t_ns_dba;
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23')$$, '42501', NULL,
                 'Northshire''s publisher cannot re-publish Southshire''s month');
SELECT throws_ok($$SELECT * FROM crimesnap.withdraw_force('southshire', 'attack')$$, '42501', NULL,
                 'nor withdraw Southshire''s data');
SELECT throws_ok(format($$SELECT crimesnap.withdraw(%L, 'attack')$$,
                        (SELECT persistent_id FROM crimesnap.published_crime WHERE force_id = 'southshire' AND persistent_id IS NOT NULL LIMIT 1)),
                 '42501', NULL, 'nor one of its records by persistent id');
SELECT throws_ok(format($$SELECT crimesnap.withdraw_record(%s, 'attack')$$,
                        (SELECT min(id) FROM crimesnap.published_crime WHERE force_id = 'southshire')),
                 '42501', NULL, 'nor by public id');
SELECT lives_ok($$SELECT * FROM crimesnap.roll_off('2030-01-01')$$, 'roll_off() with a date far ahead');
RESET ROLE;
SELECT is((SELECT array_agg(force_id || ' ' || status ORDER BY force_id) FROM crimesnap.publication),
          ARRAY['northshire rolled-off', 'southshire street-level'],
          'rolls off only the caller''s forces: Southshire''s map is untouched');
SET LOCAL ROLE cs_t_ss_dba;
SELECT lives_ok($$SELECT * FROM crimesnap.withdraw_force('southshire', 'test', '2026-09-01')$$, 'Southshire withdraws its month');
RESET ROLE;
SELECT max(withdrawal_id) AS ss_withdrawal FROM crimesnap.withdrawal \gset
SET LOCAL ROLE cs_t_ns_dba;
SELECT throws_ok(format($$SELECT crimesnap.reinstate(%s, 'attack')$$, :ss_withdrawal),
                 '42501', NULL, 'Northshire cannot reinstate Southshire''s withdrawal');
SELECT is((SELECT count(*) FROM crimesnap.withdrawal), 0::bigint, 'nor read it');
RESET ROLE;
SET LOCAL ROLE cs_t_ns_clerk;
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23')$$,
                'a member of a bound role publishes its force''s month');
RESET ROLE;

-- ==== national configuration ====
SET LOCAL ROLE cs_t_ns_dba;
SELECT throws_ok($$UPDATE crimesnap.offence_code SET sensitive = false, slug = 'violent-crime' WHERE offence_code = '19C' AND force_id IS NULL$$,
                 '42501', 'only crimesnap_admin may change national offence codes',
                 'a loader cannot change how rape is published nationally');
SELECT lives_ok($$INSERT INTO crimesnap.offence_code (force_id, offence_code, slug, description) VALUES ('northshire', 'NS1', 'other-theft', 'local')$$,
                'it adds its own force''s offence code');
SELECT lives_ok($$UPDATE crimesnap.offence_code SET description = 'local code' WHERE force_id = 'northshire' AND offence_code = 'NS1'$$,
                'and changes it');
SELECT throws_ok($$INSERT INTO crimesnap.offence_code (force_id, offence_code, slug, description) VALUES ('southshire', 'SS1', 'other-theft', 'x')$$,
                 '42501', NULL, 'but not another force''s');
SELECT throws_ok($$UPDATE crimesnap.offence_code SET force_id = 'southshire' WHERE force_id = 'northshire' AND offence_code = 'NS1'$$,
                 '42501', NULL, 'nor moves its code to another force');
SELECT throws_ok($$UPDATE crimesnap.force SET force_id = 'renamed' WHERE force_id = 'southshire'$$, '42501', NULL,
                 'a loader cannot rename a force');
SELECT throws_ok($$INSERT INTO crimesnap.street (street_id, name, highway, geom) VALUES (-1, 'Attack Street', 'residential', 'SRID=27700;LINESTRING(450000 200000, 450100 200000)')$$,
                 '42501', NULL, 'nor add streets (which could lift another force''s points over the threshold)');
SELECT throws_ok($$DELETE FROM crimesnap.address WHERE address_id IN (SELECT address_id FROM crimesnap.address LIMIT 1)$$,
                 '42501', NULL, 'nor remove addresses');
SELECT throws_ok($$INSERT INTO crimesnap.place_class VALUES ('Attack Place')$$, '42501', NULL, 'nor allow place classes');
SELECT throws_ok($$SELECT crimesnap.build_snap_points()$$, '42501', NULL, 'nor build snap points');
SELECT throws_ok($$SELECT crimesnap.set_current_snap_points(1)$$, '42501', NULL, 'nor choose the current set');
SELECT throws_ok($$INSERT INTO crimesnap.force_snap_point (force_id, label, explanation, geom) VALUES ('southshire', 'Park', 'x', 'SRID=27700;POINT(450500 201500)')$$,
                 '42501', NULL, 'a force cannot add snap points in another force''s name');
SELECT lives_ok($$INSERT INTO crimesnap.force_snap_point (force_id, label, explanation, geom) VALUES ('northshire', 'Park', 'x', 'SRID=27700;POINT(450500 200500)')$$,
                'it adds its own');
SELECT throws_ok($$DELETE FROM crimesnap.force_snap_point$$, '42501', NULL, 'and never removes one');
RESET ROLE;

SET LOCAL ROLE cs_t_admin;
SELECT lives_ok($$INSERT INTO crimesnap.offence_code (offence_code, slug, description) VALUES ('99X', 'other-crime', 'A national code')$$,
                'an administrator adds national offence codes');
SELECT lives_ok($$INSERT INTO crimesnap.place_class VALUES ('Attack Place')$$, 'and place classes');
SELECT lives_ok($$DELETE FROM crimesnap.force_snap_point$$, 'and removes force points');
SELECT throws_ok($$UPDATE crimesnap.force SET force_id = 'renamed' WHERE force_id = 'southshire'$$, '23503', NULL,
                 'but even an administrator cannot rename a force that records refer to');
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23')$$, '42501', NULL,
                 'and publishes no force''s data');
SELECT throws_ok($$SELECT count(*) FROM crimesnap.raw_crime$$, '42501', NULL, 'nor reads it');
RESET ROLE;

-- ==== unbinding ====
SET LOCAL ROLE cs_t_admin;
SELECT ok(crimesnap.revoke_force('cs_t_ns_dba', 'northshire'), 'an administrator unbinds a role');
RESET ROLE;
SET LOCAL ROLE cs_t_ns_clerk;
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23')$$, '42501', NULL,
                 'its members stop acting for the force at once');
RESET ROLE;
SET LOCAL ROLE cs_t_ns_dba;
SELECT throws_ok($$SELECT crimesnap.revoke_force('cs_t_ss_dba', 'southshire')$$, '42501', NULL, 'a force DBA unbinds nobody');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
