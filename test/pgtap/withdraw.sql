-- Withdrawal and redress (ICO guidance, paragraph 46): a record leaves every output at
-- once, including the trend cell it counted in once its month rolled off; it never comes
-- back on a re-publication until reinstated; a force withdraws a month or everything; every
-- withdrawal and reinstatement is in the audit log with who, when and why.
-- Everything, the town included, runs in one transaction that is rolled back.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;

SELECT plan(68);

SELECT crimesnap.build_snap_points() AS version \gset
\ir ../fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
SELECT crimes FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23');
SELECT crimes FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23');

-- The trend rule (docs/publication.md#the-trend-rule): crimesnap.trend is the count of
-- crimesnap.trend_member per cell, whatever happened.  Checked with set_eq after every kind
-- of change below; pg_temp.rule_holds_after() shows the same comparison failing when a
-- trigger that keeps the rule is disabled.
\set trend_rows 'SELECT force_id, month, neighbourhood_id, lsoa_code, category, crimes FROM crimesnap.trend'
\set trend_rule 'SELECT force_id, month, neighbourhood_id, lsoa_code, category, count(*)::integer FROM crimesnap.trend_member GROUP BY 1, 2, 3, 4, 5'
-- Whether the rule holds after stmt, run with the trigger trig disabled (none when NULL); the
-- statement and the disabling are rolled back.
CREATE FUNCTION pg_temp.rule_holds_after(stmt text, trig text, trend_rows text, trend_rule text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  holds boolean;
BEGIN
  BEGIN
    IF trig IS NOT NULL THEN
      EXECUTE format('ALTER TABLE crimesnap.trend_member DISABLE TRIGGER %I', trig);
    END IF;
    EXECUTE stmt;
    EXECUTE format('SELECT NOT EXISTS ((%s) EXCEPT (%s)) AND NOT EXISTS ((%s) EXCEPT (%s))',
                   trend_rows, trend_rule, trend_rule, trend_rows) INTO holds;
    RAISE EXCEPTION 'undo' USING ERRCODE = 'T0001';
  EXCEPTION WHEN SQLSTATE 'T0001' THEN
    NULL;
  END;
  RETURN holds;
END
$$;

-- Every output a record can appear in, counted for one persistent id.
CREATE FUNCTION pg_temp.appearances(pid text) RETURNS bigint
LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM crimesnap_api.street_crime WHERE persistent_id = pid)
       + (SELECT count(*) FROM crimesnap_api.no_location_crime WHERE persistent_id = pid)
       + (SELECT count(*) FROM crimesnap_api.police_uk_street_csv WHERE "Crime ID" = pid)
       + (SELECT count(*) FROM json_array_elements(crimesnap_api.geojson('northshire', '2026-09')->'features') f
           WHERE f->'properties'->>'persistent_id' = pid)
       + (SELECT count(*) FROM json_array_elements(crimesnap_api.geojson('northshire', '2026-10')->'features') f
           WHERE f->'properties'->>'persistent_id' = pid)
       + (SELECT count(*) FROM crimesnap_api.street_crimes_near(51.7083, -1.2646) WHERE persistent_id = pid)
$$;

-- ---- one record, street-level ----
SELECT s.persistent_id AS pid, s.street_id AS point, s.category AS cat
  FROM crimesnap_api.street_crime s
 WHERE s.force = 'northshire' AND s.persistent_id IS NOT NULL
   AND EXISTS (SELECT FROM crimesnap_api.street_crimes_near(51.7083, -1.2646) n WHERE n.id = s.id)
 ORDER BY s.id LIMIT 1 \gset
SELECT crimes AS point_before FROM crimesnap_api.snap_point_crimes WHERE street_id = :point AND month = '2026-09' \gset
SELECT crimes AS month_before FROM crimesnap_api.published_month WHERE force = 'northshire' AND month = '2026-09' \gset
SELECT is(pg_temp.appearances(:'pid'), 4::bigint, 'a published crime is on the map, in the CSV, the GeoJSON and the search');
SELECT is(crimesnap.withdraw(:'pid', 'Complaint 1: the victim is identifiable'), 1, 'withdraw() removes one record');
SELECT is(pg_temp.appearances(:'pid'), 0::bigint, 'at once from every output');
SELECT is((SELECT crimes FROM crimesnap_api.snap_point_crimes WHERE street_id = :point AND month = '2026-09'), (:point_before - 1)::bigint,
  'and from its snap point''s count');
SELECT is((SELECT crimes FROM crimesnap_api.published_month WHERE force = 'northshire' AND month = '2026-09'), :month_before - 1::integer,
  'and from the month''s total');
SELECT is((SELECT withheld FROM crimesnap.publication WHERE force_id = 'northshire' AND month = '2026-09-01'), 1, 'which counts it as withheld');
SELECT throws_ok(format('SELECT crimesnap.withdraw(%L, %L)', :'pid', 'again'), '42710', NULL, 'a record cannot be withdrawn twice');
SELECT throws_ok(format('SELECT crimesnap.withdraw(%L, NULL)', :'pid'), '22004', 'a withdrawal needs a reason', 'a withdrawal needs a reason');
SELECT throws_ok($$SELECT crimesnap.withdraw(repeat('0', 64), 'no such record')$$, 'P0002', NULL, 'an unknown id is an error');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication()), 0::bigint, 'the audit is clean after a withdrawal');

-- A crime with no location leaves the no-location output.
SELECT persistent_id AS nl_pid FROM crimesnap_api.no_location_crime WHERE force = 'northshire' AND persistent_id IS NOT NULL ORDER BY id LIMIT 1 \gset
SELECT is(crimesnap.withdraw(:'nl_pid', 'Complaint 2'), 1, 'a crime with no location can be withdrawn');
SELECT is((SELECT count(*) FROM crimesnap_api.no_location_crime WHERE persistent_id = :'nl_pid'), 0::bigint, 'and leaves the no-location output');

-- ASB has no public persistent id: withdrawn by its public id.
SELECT id AS asb_id, street_id AS asb_point FROM crimesnap_api.street_crime WHERE force = 'northshire' AND category = 'anti-social-behaviour' ORDER BY id LIMIT 1 \gset
SELECT is(crimesnap.withdraw_record(:asb_id, 'Complaint 3: noise report identifies the caller'), 1, 'ASB is withdrawn by its public id');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE id = :asb_id), 0::bigint, 'and is gone');
SELECT throws_ok(format('SELECT crimesnap.withdraw_record(%s, %L)', :asb_id, 'again'), 'P0002', NULL, 'its public id no longer exists');

-- A record withdrawn before its month is first published is never published.
SELECT r.persistent_id AS early_pid FROM crimesnap.raw_crime r
 WHERE r.force_id = 'northshire' AND r.month = '2026-10-01' AND r.offence_code <> 'ASB' ORDER BY r.crime_id LIMIT 1 \gset
SELECT is(crimesnap.withdraw(:'early_pid', 'Complaint 4, before publication'), 0, 'a record not yet published can be withdrawn');

-- ---- October: September rolls off into the trend table ----
SELECT is((SELECT rolled_off FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23')), 1, 'October is published, September rolls off');
SELECT is((SELECT withheld FROM crimesnap.publication WHERE force_id = 'northshire' AND month = '2026-10-01'), 1,
  'the record withdrawn before publication is withheld');
SELECT is(pg_temp.appearances(:'early_pid'), 0::bigint, 'and never appears');
SELECT is((SELECT sum(crimes) FROM crimesnap.trend WHERE force_id = 'northshire' AND month = '2026-09-01'), :month_before - 3::bigint,
  'September''s trend counts leave out the three records withdrawn before the roll-off');
SELECT set_eq(:'trend_rows', :'trend_rule', 'after the roll-off the trend is the count of its members per cell');

-- The rule holds whoever writes the members, and each trigger is what keeps it: with it
-- disabled, the comparison the set_eq checks make fails.
SELECT results_eq(
  format($$SELECT op, pg_temp.rule_holds_after(stmt, NULL, %L, %L), pg_temp.rule_holds_after(stmt, trig, %L, %L)
             FROM (VALUES (1, 'INSERT', 'trend_from_members_insert',
                           'INSERT INTO crimesnap.trend_member (crime_id, force_id, month, neighbourhood_id, lsoa_code, category, mapped)
                            SELECT min(r.crime_id), ''northshire'', ''2026-09-01'', NULL, NULL, ''burglary'', false FROM crimesnap.raw_crime r
                             WHERE NOT EXISTS (SELECT FROM crimesnap.trend_member t WHERE t.crime_id = r.crime_id)'),
                          (2, 'DELETE', 'trend_from_members_delete',
                           'DELETE FROM crimesnap.trend_member WHERE crime_id = (SELECT min(crime_id) FROM crimesnap.trend_member)'),
                          (3, 'UPDATE', 'trend_from_members_update',
                           'UPDATE crimesnap.trend_member SET neighbourhood_id = NULL
                             WHERE crime_id = (SELECT min(crime_id) FROM crimesnap.trend_member WHERE neighbourhood_id IS NOT NULL)'),
                          (4, 'TRUNCATE', 'trend_from_members_truncate', 'TRUNCATE crimesnap.trend_member')) v(n, op, trig, stmt)
            ORDER BY n$$, :'trend_rows', :'trend_rule', :'trend_rows', :'trend_rule'),
  $$VALUES ('INSERT', true, false), ('DELETE', true, false), ('UPDATE', true, false), ('TRUNCATE', true, false)$$,
  'an INSERT, DELETE, UPDATE or TRUNCATE of members by hand keeps the rule, and breaks it with its trigger disabled');
-- A member deleted by hand (as a superuser) leaves its cell, and comes back to it.
SAVEPOINT by_hand;
CREATE TEMP TABLE hand_member AS
SELECT t.* FROM crimesnap.trend_member t
  JOIN crimesnap.trend x ON x.force_id = t.force_id AND x.month = t.month AND x.category = t.category
   AND x.neighbourhood_id IS NOT DISTINCT FROM t.neighbourhood_id AND x.lsoa_code IS NOT DISTINCT FROM t.lsoa_code
 WHERE x.crimes > 1 ORDER BY t.crime_id LIMIT 1;
CREATE FUNCTION pg_temp.hand_cell() RETURNS integer LANGUAGE sql AS $$
  SELECT x.crimes FROM crimesnap.trend x JOIN hand_member t
    ON x.force_id = t.force_id AND x.month = t.month AND x.category = t.category
   AND x.neighbourhood_id IS NOT DISTINCT FROM t.neighbourhood_id AND x.lsoa_code IS NOT DISTINCT FROM t.lsoa_code
$$;
SELECT pg_temp.hand_cell() AS hand_before \gset
DELETE FROM crimesnap.trend_member WHERE crime_id = (SELECT crime_id FROM hand_member);
SELECT is(pg_temp.hand_cell(), :hand_before - 1, 'a member deleted by hand takes one from its cell');
INSERT INTO crimesnap.trend_member SELECT * FROM hand_member;
SELECT is(pg_temp.hand_cell(), :hand_before, 'and inserted again puts it back');
TRUNCATE crimesnap.trend_member;
SELECT is((SELECT count(*) FROM crimesnap.trend), 0::bigint, 'a TRUNCATE of the members empties the trend');
ROLLBACK TO SAVEPOINT by_hand;

-- A record withdrawn after its month rolled off leaves exactly its trend cell.
SELECT r.persistent_id AS old_pid, t.neighbourhood_id AS cell_nb, t.lsoa_code AS cell_lsoa, t.category AS cell_cat
  FROM crimesnap.trend_member t JOIN crimesnap.raw_crime r USING (crime_id)
 WHERE t.force_id = 'northshire' AND t.lsoa_code IS NOT NULL AND r.offence_code <> 'ASB'
 ORDER BY (SELECT x.crimes FROM crimesnap.trend x WHERE x.force_id = t.force_id AND x.month = t.month AND x.category = t.category
            AND x.neighbourhood_id IS NOT DISTINCT FROM t.neighbourhood_id AND x.lsoa_code IS NOT DISTINCT FROM t.lsoa_code) DESC, t.crime_id
 LIMIT 1 \gset
CREATE TEMP TABLE trend_before AS SELECT * FROM crimesnap_api.trend;
SELECT is(crimesnap.withdraw(:'old_pid', 'Complaint 5, after roll-off'), 1, 'a rolled-off record can be withdrawn');
SELECT results_eq(
  $$SELECT b.neighbourhood_id, b.lsoa_code, b.category, b.crimes - a.crimes
      FROM trend_before b JOIN crimesnap_api.trend a USING (force, month, neighbourhood_id, lsoa_code, category)
     WHERE a.crimes <> b.crimes$$,
  format($$VALUES (%L, %L, %L, 1)$$, :'cell_nb', :'cell_lsoa', :'cell_cat'),
  'its trend cell, and only that one, goes down by one');
SELECT is((SELECT count(*) FROM crimesnap_api.trend), (SELECT count(*) FROM trend_before), 'no other cell changed or vanished');
SELECT set_eq(:'trend_rows', :'trend_rule', 'after a withdrawal from the trend it is still the count of its members');
-- A cell of one record disappears with it (the trend never holds a zero).
SELECT r.persistent_id AS single_pid FROM crimesnap.trend_member t JOIN crimesnap.raw_crime r USING (crime_id)
  JOIN crimesnap.trend x ON x.force_id = t.force_id AND x.month = t.month AND x.category = t.category
   AND x.neighbourhood_id IS NOT DISTINCT FROM t.neighbourhood_id AND x.lsoa_code IS NOT DISTINCT FROM t.lsoa_code
 WHERE x.crimes = 1 ORDER BY t.crime_id LIMIT 1 \gset
SELECT is(crimesnap.withdraw(:'single_pid', 'Complaint 6'), 1, 'the only record of a cell can be withdrawn');
SELECT is((SELECT count(*) FROM crimesnap_api.trend), (SELECT count(*) - 1 FROM trend_before), 'and its cell is gone');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication()), 0::bigint, 'the audit is clean after withdrawals from the trend');
-- A mapped record whose snap point lies in no LSOA still counts as mapped when withdrawn:
-- move one mapped record into a cell of its own with a NULL LSOA, as a point outside every
-- LSOA would have been counted.
SELECT t.crime_id AS nolsoa_id, r.persistent_id AS nolsoa_pid
  FROM crimesnap.trend_member t JOIN crimesnap.raw_crime r USING (crime_id)
 WHERE t.mapped AND t.force_id = 'northshire' AND t.month = '2026-09-01'
   AND NOT EXISTS (SELECT FROM crimesnap.trend y WHERE y.force_id = t.force_id AND y.month = t.month
                      AND y.category = t.category AND y.neighbourhood_id IS NOT DISTINCT FROM t.neighbourhood_id
                      AND y.lsoa_code IS NULL)
 ORDER BY t.crime_id LIMIT 1 \gset
-- The trend follows the member (trigger trend_from_members_update).
UPDATE crimesnap.trend_member SET lsoa_code = NULL WHERE crime_id = :nolsoa_id;
SELECT is((SELECT x.crimes FROM crimesnap.trend x JOIN crimesnap.trend_member t
             ON x.force_id = t.force_id AND x.month = t.month AND x.category = t.category
            AND x.neighbourhood_id IS NOT DISTINCT FROM t.neighbourhood_id AND x.lsoa_code IS NULL
          WHERE t.crime_id = :nolsoa_id), 1, 'a member updated by hand moves to a cell of its own');
SELECT set_eq(:'trend_rows', :'trend_rule', 'and the trend is still the count of its members');
SELECT mapped AS mapped_before, no_location AS no_location_before FROM crimesnap.publication
 WHERE force_id = 'northshire' AND month = '2026-09-01' \gset
SELECT is(crimesnap.withdraw(:'nolsoa_pid', 'Complaint 7'), 1, 'a rolled-off mapped record outside every LSOA is withdrawn');
SELECT results_eq($$SELECT mapped, no_location FROM crimesnap.publication WHERE force_id = 'northshire' AND month = '2026-09-01'$$,
                  format('VALUES (%s, %s)', :mapped_before - 1, :no_location_before),
                  'it leaves the mapped count, not the no-location count');

-- ---- re-publication never brings a withdrawn record back ----
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-11-23')$$, 'September is re-published');
SELECT is((SELECT count(*) FROM crimesnap.trend_member t JOIN crimesnap.raw_crime r USING (crime_id)
            WHERE r.persistent_id IN (:'pid', :'nl_pid', :'old_pid', :'single_pid', :'nolsoa_pid')), 0::bigint,
  'the records withdrawn from it stay out of its trend counts');
SELECT set_eq(:'trend_rows', :'trend_rule', 'after a re-publication of a rolled-off month the trend is the count of its members');
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-24')$$, 'October is re-published');
SELECT is(pg_temp.appearances(:'early_pid'), 0::bigint, 'the record withdrawn from it stays out');

-- ---- until reinstated ----
SELECT withdrawal_id AS early_wid FROM crimesnap.withdrawal WHERE persistent_id = :'early_pid' \gset
SELECT lives_ok(format('SELECT crimesnap.reinstate(%s, %L)', :early_wid, 'Complaint 4 withdrawn by the complainant'), 'a withdrawal is reinstated');
SELECT is(pg_temp.appearances(:'early_pid'), 0::bigint, 'the record comes back only at the next publication');
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-24')$$, 'October is re-published');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE persistent_id = :'early_pid')
        + (SELECT count(*) FROM crimesnap_api.no_location_crime WHERE persistent_id = :'early_pid'), 1::bigint,
  'and the reinstated record is back, with the same persistent id');
SELECT throws_ok(format('SELECT crimesnap.reinstate(%s, %L)', :early_wid, 'again'), 'P0002', NULL, 'a reinstatement happens once');

-- ---- the data controller: a month, then everything ----
SELECT ok(crimesnap.withdraw_force('southshire', 'Data controller: extract under review', '2026-09-01') > 0, 'a force withdraws a month');
SELECT set_eq(:'trend_rows', :'trend_rule', 'after a month withdrawal the trend is the count of its members');
SELECT is((SELECT count(*) FROM crimesnap_api.police_uk_csv('southshire', '2026-09')), 0::bigint, 'it leaves every output');
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-11-23')$$, '55000',
  'force southshire has withdrawn its data for 2026-09', 'it cannot be re-published while withdrawn');
SELECT withdrawal_id AS month_wid FROM crimesnap.withdrawal WHERE scope = 'month' \gset
SELECT lives_ok(format('SELECT crimesnap.reinstate(%s, %L)', :month_wid, 'Review complete'), 'the month is reinstated');
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-11-23')$$, 'and can be published again');
SELECT sum(crimes) AS ns_trend FROM crimesnap.trend WHERE force_id = 'northshire' \gset
SELECT ok(crimesnap.withdraw_force('northshire', 'Data controller: force leaves the scheme') > 0, 'a force withdraws all its data');
SELECT is((SELECT (detail->>'removed_from_trend')::bigint FROM crimesnap.audit_log WHERE action = 'withdraw' AND detail->>'scope' = 'force'),
          :ns_trend::bigint, 'reporting every record its trend counted as removed from the trend');
SELECT set_eq(:'trend_rows', :'trend_rule', 'after a force withdrawal the trend is the count of its members');
SELECT is((SELECT count(*) FROM (SELECT force FROM crimesnap_api.street_crime UNION ALL SELECT force FROM crimesnap_api.no_location_crime
                                 UNION ALL SELECT force FROM crimesnap_api.trend UNION ALL SELECT force FROM crimesnap_api.published_month) x
            WHERE force = 'northshire'), 0::bigint, 'nothing of it is left in any output, trend included');
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23')$$, '55000', NULL,
  'none of it can be published while withdrawn');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE force = 'southshire'),
          (SELECT mapped::bigint FROM crimesnap.publication WHERE force_id = 'southshire'), 'the other force is untouched');

-- ---- the audit log: who, when, why ----
SELECT results_eq(
  $$SELECT action, detail->>'scope', detail->>'reason', who = session_user, at <= clock_timestamp()
      FROM crimesnap.audit_log WHERE action IN ('withdraw', 'reinstate') ORDER BY log_id$$,
  $$VALUES ('withdraw', 'record', 'Complaint 1: the victim is identifiable', true, true),
           ('withdraw', 'record', 'Complaint 2', true, true),
           ('withdraw', 'record', 'Complaint 3: noise report identifies the caller', true, true),
           ('withdraw', 'record', 'Complaint 4, before publication', true, true),
           ('withdraw', 'record', 'Complaint 5, after roll-off', true, true),
           ('withdraw', 'record', 'Complaint 6', true, true),
           ('withdraw', 'record', 'Complaint 7', true, true),
           ('reinstate', 'record', 'Complaint 4 withdrawn by the complainant', true, true),
           ('withdraw', 'month', 'Data controller: extract under review', true, true),
           ('reinstate', 'month', 'Review complete', true, true),
           ('withdraw', 'force', 'Data controller: force leaves the scheme', true, true)$$,
  'every withdrawal and reinstatement is logged with who, when and why');
SELECT is((SELECT count(*) FROM crimesnap.withdrawal WHERE withdrawn_by <> session_user OR withdrawn_at IS NULL), 0::bigint,
  'the withdrawal records who and when too');

-- ---- who may withdraw ----
SELECT ok(has_function_privilege('crimesnap_publisher', 'crimesnap.withdraw(text, text)', 'EXECUTE'), 'the publisher may withdraw');
SELECT ok(NOT has_function_privilege(r, f, 'EXECUTE'), format('%s may not call %s', r, f))
  FROM unnest(ARRAY['crimesnap_web', 'crimesnap_analyst', 'crimesnap_loader']) r,
       unnest(ARRAY['crimesnap.withdraw(text, text)', 'crimesnap.withdraw_force(text, text, date)', 'crimesnap.reinstate(bigint, text)']) f
 WHERE r <> 'crimesnap_analyst' OR f = 'crimesnap.withdraw(text, text)';

SELECT * FROM finish();
ROLLBACK;

