-- Publication: timing, categories, persistent ids, location text, LSOAs, no-location
-- crimes, re-publication, roll-off into the trend table, withdrawal and reinstatement.
-- Everything, the town included, runs in one transaction that is rolled back.
\i test/fixtures/regress_town.sql

SELECT crimesnap.build_snap_points() > 0 AS snap_points_built;
SELECT pg_temp.load_month(f, m) > 0 AS loaded
  FROM unnest(ARRAY['northshire', 'southshire']) f, unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;

-- ---- timing: a month is publishable from its end plus crimesnap.min_age_days ----
SELECT crimesnap.setting('min_age_days') AS min_age_days,
       to_char(crimesnap.publishable_from('2026-09-01'), 'YYYY-MM-DD') AS september_from,
       to_char(crimesnap.publishable_from('2026-02-01'), 'YYYY-MM-DD') AS february_from,
       to_char(crimesnap.latest_publishable_month('2026-10-22'), 'YYYY-MM') AS latest_on_22_oct,
       to_char(crimesnap.latest_publishable_month('2026-10-23'), 'YYYY-MM') AS latest_on_23_oct;
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', reference_date => '2026-10-22');
SELECT * FROM crimesnap.publish_month('northshire', '2026-10-01', reference_date => '2026-10-23');

-- ---- publishing September ----
SELECT crimes + withheld = (SELECT count(*) FROM crimesnap.raw_crime WHERE force_id = 'northshire' AND month = '2026-09-01') AS every_record,
       crimes = mapped + no_location AS no_location_counted, no_location > 0 AS has_no_location, withheld, rolled_off
  FROM crimesnap.publish_month('northshire', '2026-09-01', reference_date => '2026-10-23');
SELECT count(*) AS audit_violations FROM crimesnap.audit_publication();

-- Every location says "On or near" a street or a class of place; none starts with a number.
SELECT count(*) AS rows, count(*) FILTER (WHERE street_name LIKE 'On or near %') AS on_or_near,
       count(*) FILTER (WHERE street_name ~ 'On or near [0-9]') AS house_numbers,
       count(*) FILTER (WHERE crimesnap.screen_context(street_name) IS NOT NULL) AS personal_data
  FROM crimesnap_api.street_crime;
SELECT street_name, count(*) AS crimes FROM crimesnap_api.street_crime
 WHERE street_name IN (SELECT 'On or near ' || class FROM crimesnap.place_class) GROUP BY 1 ORDER BY 1;
-- The LSOA published is the one the snap point lies in, whatever the raw location's was.
SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT FROM crimesnap.lsoa l
                                           WHERE l.lsoa_code = s.lsoa_code AND ST_Intersects(l.geom, s.geom))) AS lsoa_not_the_points,
       count(*) FILTER (WHERE (SELECT l.lsoa_code FROM crimesnap.lsoa l, crimesnap.raw_crime r, crimesnap.published_crime c
                                WHERE c.id = s.id AND r.crime_id = c.crime_id AND ST_Intersects(l.geom, r.geom)
                                ORDER BY 1 LIMIT 1) <> s.lsoa_code) > 0 AS some_raw_locations_in_another_lsoa
  FROM crimesnap_api.street_crime s;
-- Persistent ids: 64 hex characters for crimes, none for ASB, never a reference number.
SELECT category = 'anti-social-behaviour' AS asb, count(*) AS rows,
       count(persistent_id) AS with_id, count(*) FILTER (WHERE persistent_id ~ '^[0-9a-f]{64}$') AS hex64,
       count(DISTINCT persistent_id) AS distinct_ids
  FROM (SELECT category, persistent_id FROM crimesnap_api.street_crime
        UNION ALL SELECT category, persistent_id FROM crimesnap_api.no_location_crime) x
 GROUP BY 1 ORDER BY 1;
SELECT count(*) AS ids_equal_to_a_reference
  FROM crimesnap_api.street_crime s JOIN crimesnap.raw_crime r ON s.persistent_id IN (r.crime_ref, encode(sha256(r.crime_ref::bytea), 'hex'));
-- No-location crimes: published, counted, with why.
SELECT no_location_reason, count(*) FROM crimesnap.published_crime GROUP BY 1 ORDER BY 1;

-- ---- the 2010 scheme: southshire publishes under the six CrimeMapper categories ----
SELECT crimes > 0 AS published FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23', 'crimemapper-2010');
SELECT category, category_name, count(*) > 0 AS used
  FROM (SELECT category, category_name FROM crimesnap_api.street_crime WHERE force = 'southshire'
        UNION ALL SELECT category, category_name FROM crimesnap_api.no_location_crime WHERE force = 'southshire') x
 GROUP BY 1, 2 ORDER BY 1;
SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23', 'home-office');

-- ---- re-publishing replaces the month and keeps every persistent id ----
CREATE TEMP TABLE before_ids AS SELECT persistent_id FROM crimesnap_api.street_crime WHERE force = 'northshire' AND persistent_id IS NOT NULL;
SELECT crimes, mapped, no_location FROM crimesnap_api.published_month WHERE force = 'northshire' AND month = '2026-09';
SELECT crimes, mapped, no_location, withheld, rolled_off FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-30');
SELECT count(*) AS ids_kept FROM before_ids b JOIN crimesnap_api.street_crime s USING (persistent_id);
SELECT count(*) = (SELECT count(*) FROM before_ids) AS same_ids FROM crimesnap_api.street_crime WHERE force = 'northshire' AND persistent_id IS NOT NULL;

-- ---- a label that could be an address is refused at publication ----
SAVEPOINT label;
UPDATE crimesnap.snap_point SET label = '14 Acacia Road'
 WHERE version = crimesnap.current_snap_version() AND point_id = (SELECT min(street_id) FROM crimesnap_api.street_crime WHERE force = 'northshire');
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-30');
ROLLBACK TO SAVEPOINT label;
UPDATE crimesnap.snap_point SET label = 'Acacia House'
 WHERE version = crimesnap.current_snap_version() AND point_id = (SELECT min(street_id) FROM crimesnap_api.street_crime WHERE force = 'northshire');
SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-30');
ROLLBACK TO SAVEPOINT label;

-- ---- October: publishing it rolls September off the map into the trend table ----
SELECT crimes > 0 AS published, rolled_off FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
SELECT force, month, status, crimes = mapped + no_location AS totals_add_up FROM crimesnap_api.published_month ORDER BY 1, 2;
SELECT p.crimes = (SELECT sum(t.crimes) FROM crimesnap.trend t WHERE t.force_id = 'northshire' AND t.month = '2026-09-01') AS trend_holds_every_record,
       p.no_location = (SELECT sum(t.crimes) FROM crimesnap.trend t
                         WHERE t.force_id = 'northshire' AND t.month = '2026-09-01' AND t.lsoa_code IS NULL) AS no_location_in_trend,
       (SELECT count(*) FROM crimesnap_api.street_crime WHERE month = '2026-09' AND force = 'northshire') AS september_on_the_map
  FROM crimesnap.publication p WHERE p.force_id = 'northshire' AND p.month = '2026-09-01';
SELECT month, count(DISTINCT lsoa_code) > 1 AS by_lsoa, count(DISTINCT category) > 1 AS by_category, count(DISTINCT neighbourhood_id) AS neighbourhoods
  FROM crimesnap_api.trend GROUP BY 1;
SELECT count(*) AS audit_violations FROM crimesnap.audit_publication();

-- ---- crimesnap.street_level_months keeps more months on the map ----
SET crimesnap.street_level_months = 2;
SELECT rolled_off FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-11-23');
SELECT month, status FROM crimesnap_api.published_month WHERE force = 'northshire' ORDER BY 1;
-- roll_off() on demand, as of a date: with November publishable, September goes.
SELECT force_id, to_char(month, 'YYYY-MM') AS month, crimes > 0 AS moved FROM crimesnap.roll_off('2026-12-23');
SELECT force_id, month FROM crimesnap.roll_off('2026-12-23');
RESET crimesnap.street_level_months;
-- With one month on the map, every force's month older than the newest publishable goes.
SELECT force_id, to_char(month, 'YYYY-MM') AS month, crimes > 0 AS moved FROM crimesnap.roll_off('2026-11-23');
SELECT force, month, status FROM crimesnap_api.published_month ORDER BY 1, 2;
SELECT count(*) AS audit_violations FROM crimesnap.audit_publication();

-- ---- withdrawal ----
SELECT persistent_id AS october_crime FROM crimesnap_api.street_crime
 WHERE force = 'northshire' AND persistent_id IS NOT NULL ORDER BY id LIMIT 1 \gset
SELECT r.persistent_id AS september_crime, c.category AS cell_category, c.lsoa_code AS cell_lsoa, c.neighbourhood_id AS cell_nb
  FROM crimesnap.trend_member c JOIN crimesnap.raw_crime r USING (crime_id)
 WHERE c.force_id = 'northshire' AND c.month = '2026-09-01' AND c.lsoa_code IS NOT NULL
 ORDER BY c.crime_id LIMIT 1 \gset
SELECT crimesnap.withdraw(:'october_crime', 'Victim''s complaint: the crime identifies her house') AS removed;
SELECT count(*) AS still_published FROM crimesnap_api.street_crime WHERE persistent_id = :'october_crime';
SELECT crimesnap.withdraw(:'october_crime', 'again');
SELECT crimesnap.withdraw(:'october_crime', '  ');
SELECT crimesnap.withdraw('0000000000000000000000000000000000000000000000000000000000000000', 'no such record');
-- A rolled-off record leaves exactly the trend cell it was counted in.
CREATE TEMP TABLE trend_before AS SELECT * FROM crimesnap.trend;
SELECT crimesnap.withdraw(:'september_crime', 'Complaint upheld') AS removed;
SELECT b.category = :'cell_category' AND b.lsoa_code = :'cell_lsoa' AND b.neighbourhood_id = :'cell_nb' AS the_right_cell,
       b.crimes - coalesce(a.crimes, 0) AS decrement
  FROM trend_before b
  LEFT JOIN crimesnap.trend a ON (a.force_id, a.month, a.neighbourhood_id, a.lsoa_code, a.category)
                                 IS NOT DISTINCT FROM (b.force_id, b.month, b.neighbourhood_id, b.lsoa_code, b.category)
 WHERE a.crimes IS DISTINCT FROM b.crimes;
SELECT count(*) AS audit_violations FROM crimesnap.audit_publication();
-- Re-publishing either month does not bring them back.
SELECT withheld FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
SELECT withheld FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-11-23');
SELECT (SELECT count(*) FROM crimesnap_api.street_crime WHERE persistent_id IN (:'october_crime', :'september_crime'))
     + (SELECT count(*) FROM crimesnap.trend_member t JOIN crimesnap.raw_crime r USING (crime_id)
         WHERE r.persistent_id IN (:'october_crime', :'september_crime')) AS back_after_republish;
-- Until reinstated: then the next publication brings the record back.
SELECT withdrawal_id AS october_withdrawal FROM crimesnap.withdrawal WHERE persistent_id = :'october_crime' \gset
SELECT crimesnap.reinstate(:october_withdrawal, 'Complaint withdrawn');
SELECT count(*) AS back_before_republish FROM crimesnap_api.street_crime WHERE persistent_id = :'october_crime';
SELECT withheld FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
SELECT count(*) AS back_after_republish FROM crimesnap_api.street_crime WHERE persistent_id = :'october_crime';
SELECT crimesnap.reinstate(:october_withdrawal, 'twice');

-- ASB has no public persistent id: it is withdrawn by its public id.
SELECT id AS asb_id FROM crimesnap_api.street_crime WHERE force = 'northshire' AND category = 'anti-social-behaviour' ORDER BY id LIMIT 1 \gset
SELECT crimesnap.withdraw_record(:asb_id, 'Complaint from a neighbour') AS removed;
SELECT count(*) AS asb_still_published FROM crimesnap_api.street_crime WHERE id = :asb_id;

-- The data controller withdraws a month, then everything.
SELECT crimesnap.withdraw_force('southshire', 'Data quality problem in the extract', '2026-09-01') > 0 AS removed;
SELECT * FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-11-23');
SELECT crimesnap.withdraw_force('southshire', 'again', '2026-09-01');
SELECT crimesnap.withdraw_force('northshire', 'Force withdraws from the scheme') > 0 AS removed;
SELECT force, count(*) FROM (SELECT force FROM crimesnap_api.street_crime UNION ALL SELECT force FROM crimesnap_api.trend) x GROUP BY 1;
SELECT count(*) AS northshire_publications FROM crimesnap.publication WHERE force_id = 'northshire';

-- Every withdrawal and reinstatement is in the audit log: who, when and why.
SELECT action, force_id, to_char(month, 'YYYY-MM') AS month, detail->>'scope' AS scope, detail->>'reason' AS reason,
       who = session_user AS who_is_me, at IS NOT NULL AS has_time
  FROM crimesnap.audit_log WHERE action IN ('withdraw', 'reinstate') ORDER BY log_id;
SELECT scope, force_id, reason, withdrawn_by = session_user AS by_me, reinstated_at IS NOT NULL AS reinstated, reinstate_reason
  FROM crimesnap.withdrawal ORDER BY withdrawal_id;
-- The audit log never holds a reference number.
SELECT count(*) AS refs_in_audit_log FROM crimesnap.audit_log a, crimesnap.raw_crime r WHERE a.detail::text LIKE '%' || r.crime_ref || '%';

-- ---- errors ----
SELECT * FROM crimesnap.publish_month('eastshire', '2026-09-01', '2026-11-23');
SELECT * FROM crimesnap.publish_month('southshire', '2026-08-01', '2026-11-23');
SELECT * FROM crimesnap.publish_month('southshire', NULL, '2026-11-23');
SELECT * FROM crimesnap.roll_off(NULL);
ROLLBACK;

-- Leave a clean extension for the next file.
