#!/usr/bin/env bash
# make bench: crimesnap against plain PostGIS SQL doing the same job, in the same run, on
# data the benchmarks generate themselves.  Runs every test/bench/*.sql in name order on a
# throwaway cluster and writes the output to bench-results/latest.txt (see docs/benchmarks.md).
#
#   BENCH=name   run only test/bench/name.sql
set -euo pipefail
. "$(dirname "$0")/pgenv.sh"

"$CS_ROOT/test/tools/deps.sh"
WORK=$(mktemp -d /tmp/crimesnap-bench.XXXXXX)
trap 'cs_cluster_stop "$WORK"; rm -rf "$WORK"' EXIT

cs_install "$WORK"
CS_SERVER_OPTS="-c shared_buffers=2GB -c work_mem=256MB -c maintenance_work_mem=1GB -c max_parallel_workers_per_gather=0 -c jit=off" \
  cs_cluster_start "$WORK"
cs_createdb crimesnap_bench >/dev/null
export PGDATABASE=crimesnap_bench
# For the national bench: its CSVs and scripts go to the work directory, and it samples the
# peak memory of a backend with test/bench/national/peakmem.sh.
export CS_BENCH_TMP=$WORK CS_BENCH_DIR=$CS_ROOT/test/bench

mkdir -p "$CS_ROOT/bench-results"
out=$CS_ROOT/bench-results/latest.txt
{
  echo "crimesnap bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(psql -XAtc 'SELECT version()')"
  echo "one backend, max_parallel_workers_per_gather = 0: both sides run on one core"
  for f in "$CS_ROOT"/test/bench/${BENCH:-*}.sql; do
    echo
    echo "== $(basename "$f" .sql)"
    psql -X -q -v ON_ERROR_STOP=1 -P footer=off -f "$f"
  done
} 2>&1 | tee "$out"
cp "$out" "$CS_ROOT/bench-results/bench-$(date -u +%Y%m%dT%H%M%S).txt"
echo
echo "figures written to $out"
