-- The national bench at one scale (test/bench/40_national_tenth.sql sets :scale 0.1 and
-- :tag tenth, 41_national_full.sql :scale 1 and :tag full).  It makes a database of its
-- own, national_<tag>, generates the country in it (generate.sql), and times the monthly
-- job as forces' DBAs would run it, each stage beside a plain-SQL floor measured in the
-- same run: an INSERT ... SELECT of the same rows into tables of the same shape (same
-- columns, constraints and indexes, no triggers).
--
-- Needs :tmpdir (CSV files, the load scripts, results) and, for the peak memory of the
-- build, the environment variable CS_BENCH_DIR (bench.sh sets both).
--
-- jit is on, as on a stock server (bench.sh starts the cluster with it off for the other
-- benches): what a force's DBA gets is what is measured.
\set ON_ERROR_STOP 1
SELECT 'national_' || :'tag' AS db \gset
DROP DATABASE IF EXISTS :"db";
CREATE DATABASE :"db";
ALTER DATABASE :"db" SET jit = on;
ALTER DATABASE :"db" SET client_min_messages = warning;
\c :db
CREATE EXTENSION crimesnap CASCADE;
\echo
\echo '-- the country, scale' :scale
\ir generate.sql

CREATE TABLE nat.tick (part text, force text, stage text, at timestamptz DEFAULT clock_timestamp());
CREATE PROCEDURE nat.tick(part text, force text, stage text) LANGUAGE sql AS
  $$ INSERT INTO nat.tick (part, force, stage) VALUES (part, force, stage) $$;
-- A result: seconds of crimesnap, records, and the floor's seconds.
CREATE FUNCTION nat.result(part text, what text, seconds numeric, records bigint, floor_seconds numeric, note text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO nat.result VALUES ((SELECT p.scale FROM nat.param p), (SELECT count(*) + 1 FROM nat.result), part, what,
                                 round(seconds, 3), records, round(floor_seconds, 3), note)
$$;
CREATE FUNCTION nat.span(p text, s0 text, s1 text) RETURNS numeric LANGUAGE sql AS $$
  SELECT coalesce(sum(extract(epoch FROM b.at - a.at)), 0)::numeric
    FROM nat.tick a JOIN nat.tick b ON b.part = a.part AND b.force IS NOT DISTINCT FROM a.force AND b.stage = s1
   WHERE a.part = p AND a.stage = s0
$$;

-- The floors' tables: the same columns, defaults, constraints and indexes.
CREATE TABLE nat.f_snap_point (LIKE crimesnap.snap_point INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE nat.f_catchment (LIKE crimesnap.snap_point_catchment INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE nat.f_upload (LIKE crimesnap.crime_upload INCLUDING ALL);
CREATE TABLE nat.f_raw (LIKE crimesnap.raw_crime INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE nat.f_reject (LIKE crimesnap.reject INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE nat.f_published (LIKE crimesnap.published_crime INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE nat.f_position (LIKE crimesnap.published_position INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE nat.f_trend_member (LIKE crimesnap.trend_member INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE nat.f_address (LIKE crimesnap.address INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);

-- ---------------------------------------------------------------------------------------
\echo
\echo '-- 1. build_snap_points() for the whole country (fresh backend; peak memory sampled)'
\c :db
SELECT pg_backend_pid() AS pid \gset
\setenv PEAK_PID :pid
\setenv PEAK_FILE :tmpdir/peakmem
\! sh "$CS_BENCH_DIR/national/peakmem.sh" start "$PEAK_PID" "$PEAK_FILE"
-- Its progress NOTICEs (crimesnap.progress_rows) say where the time goes.
SET client_min_messages = notice;
SET crimesnap.progress_rows = 0;
SELECT clock_timestamp() AS t0 \gset
SELECT crimesnap.build_snap_points() AS version \gset
RESET client_min_messages;
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS build_s \gset
\! sh "$CS_BENCH_DIR/national/peakmem.sh" stop "$PEAK_FILE" > "$PEAK_FILE.out"
\set peakout :tmpdir/peakmem.out
CREATE TEMP TABLE peak AS SELECT btrim(pg_read_file(:'peakout'), E'\n') AS line;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO nat.f_snap_point SELECT * FROM crimesnap.snap_point WHERE version = :version;
INSERT INTO nat.f_catchment SELECT * FROM crimesnap.snap_point_catchment WHERE version = :version;
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS floor_s \gset
SELECT nat.result('build', 'build_snap_points()', :build_s, (SELECT count(*) FROM crimesnap.address), :floor_s,
                (SELECT line FROM peak) || ', ' || (SELECT point_count FROM crimesnap.snap_point_set WHERE version = :version) || ' points') \g /dev/null
-- The C steps take every address in one array: its size, and what 29 million would need.
SELECT pg_size_pretty(avg(pg_column_size(ROW(a.address_id, a.geom, a.street_name, 'force-01-n0001')::crimesnap.address_input))::bigint
                      * (SELECT count(*) FROM crimesnap.address)) AS address_array_now,
       pg_size_pretty((avg(pg_column_size(ROW(a.address_id, a.geom, a.street_name, 'force-01-n0001')::crimesnap.address_input))
                      * 29000000)::bigint) AS address_array_at_29_million
  FROM (SELECT * FROM crimesnap.address LIMIT 10000) a;
SELECT version, point_count, build_notes - 'coverage' AS notes FROM crimesnap.snap_point_set;

-- ---------------------------------------------------------------------------------------
-- Loading and publishing one month: \copy of each force's CSV into crime_upload and
-- register_batch(), then publish_month() for each force, each in its own transaction.
CREATE PROCEDURE nat.publish_all(m date, ref date) LANGUAGE plpgsql AS $$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT p.force_id FROM nat.force_plan p ORDER BY p.fno LOOP
    CALL nat.tick('publish ' || m, f.force_id, 'start');
    PERFORM crimesnap.publish_month(f.force_id, m, reference_date => ref);
    CALL nat.tick('publish ' || m, f.force_id, 'end');
    COMMIT;
  END LOOP;
END $$;
-- The floor of a publication: the month's published rows and positions, and of a roll-off
-- the rolled month's trend members, written into tables of the same shape, and the rolled
-- month deleted from the floor's published rows.
CREATE PROCEDURE nat.publish_floor(m date) LANGUAGE plpgsql AS $$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT p.force_id FROM nat.force_plan p ORDER BY p.fno LOOP
    CALL nat.tick('floor publish ' || m, f.force_id, 'start');
    INSERT INTO nat.f_published SELECT * FROM crimesnap.published_crime c WHERE c.force_id = f.force_id AND c.month = m;
    INSERT INTO nat.f_position SELECT * FROM crimesnap.published_position c WHERE c.force_id = f.force_id AND c.month = m;
    INSERT INTO nat.f_trend_member SELECT * FROM crimesnap.trend_member t WHERE t.force_id = f.force_id AND t.month < m;
    DELETE FROM nat.f_published c WHERE c.force_id = f.force_id AND c.month < m;
    CALL nat.tick('floor publish ' || m, f.force_id, 'end');
    COMMIT;
  END LOOP;
END $$;

-- The load script of a month: for each force, its CSV written, then loaded and registered.
CREATE FUNCTION nat.load_script(m date, dir text) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT x.line FROM (
    SELECT p.fno, 1 AS k, format('\copy (SELECT force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context FROM nat.upload WHERE force = %L AND month = %L ORDER BY n) TO %L CSV HEADER',
                                 p.force_id, m, dir || '/' || p.force_id || '-' || m || '.csv') AS line
      FROM nat.force_plan p
    UNION ALL
    SELECT p.fno, 2, format(E'CALL nat.tick(%1$L, %2$L, \'start\');\n'
                            '\\copy crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) FROM %3$L CSV HEADER\n'
                            'CALL nat.tick(%1$L, %2$L, \'copied\');\n'
                            'SELECT crimesnap.register_batch(%2$L, %4$L, %5$s, %6$L, \'Bench\', \'bench@example.org\', \'Crimes and ASB\', date_supplied => %7$L) \\g /dev/null\n'
                            'CALL nat.tick(%1$L, %2$L, \'registered\');',
                            'load ' || m, p.force_id, dir || '/' || p.force_id || '-' || m || '.csv', m,
                            (SELECT count(*) FROM nat.upload u WHERE u.force = p.force_id AND u.month = m),
                            'Synthetic Police ' || p.fno, (m + interval '1 month 5 days')::date)
      FROM nat.force_plan p
    UNION ALL
    SELECT p.fno, 3, format(E'CALL nat.tick(%1$L, %2$L, \'start\');\n'
                            '\\copy nat.f_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) FROM %3$L CSV HEADER\n'
                            'INSERT INTO nat.f_raw SELECT * FROM crimesnap.raw_crime r WHERE r.force_id = %2$L AND r.month = %4$L AND r.superseded_by_batch IS NULL;\n'
                            'INSERT INTO nat.f_reject SELECT r.* FROM crimesnap.reject r JOIN crimesnap.batch b USING (batch_id) WHERE b.force_id = %2$L AND b.month = %4$L;\n'
                            'CALL nat.tick(%1$L, %2$L, \'end\');',
                            'floor load ' || m, p.force_id, dir || '/' || p.force_id || '-' || m || '.csv', m)
      FROM nat.force_plan p) x
  ORDER BY x.k, x.fno
$$;

\pset tuples_only on
\pset format unaligned
\o :tmpdir/load-2026-09.sql
SELECT nat.load_script('2026-09-01', :'tmpdir');
\o :tmpdir/load-2026-10.sql
SELECT nat.load_script('2026-10-01', :'tmpdir');
\o
\pset tuples_only off
\pset format aligned

\echo
\echo '-- 2. September 2026: load and register every force, then publish every force'
\i :tmpdir/load-2026-09.sql
CALL nat.publish_all('2026-09-01', '2026-10-24');
CALL nat.publish_floor('2026-09-01');
SELECT count(*) AS records FROM nat.upload WHERE month = '2026-09-01' \gset
SELECT nat.result('load', '\copy of 43 CSVs', nat.span('load 2026-09-01', 'start', 'copied'), :records, NULL) \g /dev/null
SELECT nat.result('load', 'register_batch() x 43', nat.span('load 2026-09-01', 'copied', 'registered'), :records, NULL) \g /dev/null
SELECT nat.result('load', 'load: \copy + register_batch()', nat.span('load 2026-09-01', 'start', 'registered'), :records,
                nat.span('floor load 2026-09-01', 'start', 'end')) \g /dev/null
SELECT nat.result('publish', 'publish_month() x 43', nat.span('publish 2026-09-01', 'start', 'end'), :records,
                nat.span('floor publish 2026-09-01', 'start', 'end')) \g /dev/null

\echo
\echo '-- 3. October 2026: load, register and publish every force; September rolls off'
\i :tmpdir/load-2026-10.sql
CALL nat.publish_all('2026-10-01', '2026-11-24');
CALL nat.publish_floor('2026-10-01');
SELECT count(*) AS records FROM nat.upload WHERE month = '2026-10-01' \gset
SELECT nat.result('next month', 'load: \copy + register_batch()', nat.span('load 2026-10-01', 'start', 'registered'), :records,
                nat.span('floor load 2026-10-01', 'start', 'end')) \g /dev/null
SELECT nat.result('next month', 'publish_month() x 43 with roll-off', nat.span('publish 2026-10-01', 'start', 'end'), :records,
                nat.span('floor publish 2026-10-01', 'start', 'end')) \g /dev/null
SELECT (SELECT sum(seconds) FROM nat.result WHERE scale = :scale AND what IN ('load: \copy + register_batch()', 'publish_month() x 43 with roll-off')
          AND part = 'next month') AS national_month_s \gset
SELECT nat.result('next month', 'the national month: every force loaded, registered, published, rolled off', :national_month_s, :records,
                (SELECT sum(floor_seconds) FROM nat.result WHERE scale = :scale AND part = 'next month')) \g /dev/null
SELECT status, count(*) AS publications, sum(crimes) AS crimes, sum(mapped) AS mapped FROM crimesnap.publication GROUP BY 1 ORDER BY 1;
SELECT count(*) AS trend_rows, sum(crimes) AS trend_crimes FROM crimesnap.trend;

\echo
\echo '-- 4. withdrawal: one record, then the largest force''s month'
SELECT c.persistent_id AS pid FROM crimesnap.published_crime c WHERE c.persistent_id IS NOT NULL ORDER BY c.id LIMIT 1 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT crimesnap.withdraw(:'pid', 'bench: complaint') \g /dev/null
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS s \gset
SELECT clock_timestamp() AS t0 \gset
DELETE FROM nat.f_published WHERE persistent_id = :'pid';
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS f \gset
SELECT nat.result('withdraw', 'withdraw() one record', :s, 1, :f) \g /dev/null
SELECT count(*) AS n FROM crimesnap.published_crime WHERE force_id = 'force-01' AND month = '2026-10-01' \gset
SELECT clock_timestamp() AS t0 \gset
SELECT crimesnap.withdraw_force('force-01', 'bench: a force''s month', '2026-10-01') \g /dev/null
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS s \gset
SELECT clock_timestamp() AS t0 \gset
DELETE FROM nat.f_published WHERE force_id = 'force-01' AND month = '2026-10-01';
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS f \gset
SELECT nat.result('withdraw', 'withdraw_force() of the largest force''s month', :s, :n, :f) \g /dev/null

\echo
\echo '-- 5. the audits (the floor: the rows they prove, copied once)'
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS violations FROM crimesnap.audit_snap_points() \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS s \gset
SELECT clock_timestamp() AS t0 \gset
INSERT INTO nat.f_address SELECT * FROM crimesnap.address;
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS f \gset
SELECT nat.result('audit', 'audit_snap_points()', :s, (SELECT count(*) FROM crimesnap.address), :f, :violations || ' violations') \g /dev/null
TRUNCATE nat.f_published, nat.f_trend_member;
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS violations FROM crimesnap.audit_publication() \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS s \gset
SELECT clock_timestamp() AS t0 \gset
INSERT INTO nat.f_published SELECT * FROM crimesnap.published_crime;
INSERT INTO nat.f_trend_member SELECT * FROM crimesnap.trend_member;
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS f \gset
SELECT nat.result('audit', 'audit_publication()', :s,
                (SELECT count(*) FROM crimesnap.published_crime) + (SELECT count(*) FROM crimesnap.trend_member), :f,
                :violations || ' violations') \g /dev/null

\echo
\echo '-- where the time went: the slowest forces'
SELECT a.part, a.force, p.records, round(extract(epoch FROM b.at - a.at)::numeric, 3) AS seconds
  FROM nat.tick a
  JOIN nat.tick b ON b.part = a.part AND b.force = a.force AND b.stage IN ('end', 'registered')
  JOIN nat.force_plan p ON p.force_id = a.force
 WHERE a.stage = 'start' AND a.part NOT LIKE 'floor%' AND p.fno IN (1, 2, 43)
 ORDER BY a.part, p.fno;

\echo
\echo '-- results at scale' :scale
SELECT part, what, seconds, records,
       round(1e6 * seconds / nullif(records, 0), 1) AS us_per_record,
       floor_seconds AS floor_s,
       round(seconds / nullif(floor_seconds, 0), 1) AS x_floor,
       note
  FROM nat.result ORDER BY step;
-- (\copy takes no variables: the command is written to a script first)
\set resout :tmpdir/national-:tag.csv
\set script :tmpdir/export.sql
\pset tuples_only on
\pset format unaligned
\o :script
SELECT format('\copy nat.result TO %L CSV', :'resout');
\o
\pset tuples_only off
\pset format aligned
\i :script
\c crimesnap_bench
