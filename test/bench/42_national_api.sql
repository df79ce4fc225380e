-- make bench: the web API under load on the national data made by 41_national_full.sql (or,
-- without it, 40_national_tenth.sql): pgbench with 4 and 20 clients doing police.uk's
-- crimes-street within a mile, the polygon search and crimes-at-location, alone and while a
-- force re-publishes its month; tps, p50/p95/p99 and errors (test/bench/national/api.sh;
-- API_SECONDS sets the length of each run, 30 s by default).
\! sh "$CS_BENCH_DIR/national/api.sh"
