-- make bench: the national month at full size (test/bench/national/): 43 forces, 4,800
-- neighbourhoods, 3.07 million addresses, 403,000 street segments, 600,000 records a
-- month; then the time per record against the tenth-size run (40_national_tenth.sql)
-- when it ran before in the same make bench.
\getenv tmpdir CS_BENCH_TMP
\if :{?tmpdir}
\else
\set tmpdir /tmp
\endif
\set scale 1
\set tag full
\ir national/run.sql

\echo
\echo '-- growth: time per record at full size against a tenth (target: within 1.25 times)'
CREATE TEMP TABLE national_result (scale numeric, step integer, part text, what text, seconds numeric,
                                   records bigint, floor_seconds numeric, note text);
\set script :tmpdir/import.sql
\pset tuples_only on
\pset format unaligned
\o :script
SELECT format('\copy national_result FROM %L CSV', :'tmpdir' || '/national-' || t || '.csv')
  FROM unnest(ARRAY['tenth', 'full']) t
 WHERE (pg_stat_file(:'tmpdir' || '/national-' || t || '.csv', true)).size IS NOT NULL;
\o
\pset tuples_only off
\pset format aligned
\i :script
SELECT f.part, f.what,
       round(1e6 * t.seconds / nullif(t.records, 0), 1) AS us_per_record_tenth,
       round(1e6 * f.seconds / nullif(f.records, 0), 1) AS us_per_record_full,
       round((f.seconds / nullif(f.records, 0)) / nullif(t.seconds / nullif(t.records, 0), 0), 2) AS growth
  FROM national_result f
  LEFT JOIN national_result t ON t.scale = 0.1 AND t.part = f.part AND t.what = f.what
 WHERE f.scale = 1
 ORDER BY f.step;
