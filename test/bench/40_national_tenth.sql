-- make bench: the national month at a tenth of England and Wales (test/bench/national/):
-- 43 forces, 477 neighbourhoods, 305,000 addresses, 40,000 street segments, 60,000
-- records a month.  41_national_full.sql runs the same job at full size and compares
-- the time per record.  Figures and where the time goes: docs/benchmarks.md.
\getenv tmpdir CS_BENCH_TMP
\if :{?tmpdir}
\else
\set tmpdir /tmp
\endif
\set scale 0.1
\set tag tenth
\ir national/run.sql
