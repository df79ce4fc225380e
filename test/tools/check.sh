#!/usr/bin/env bash
# make check: Debian packages, build (with assertions), a throwaway cluster, every suite.
# Exits non-zero when anything fails.  KEEP=1 keeps the work directory for a post-mortem.
set -euo pipefail
. "$(dirname "$0")/pgenv.sh"

"$CS_ROOT/test/tools/deps.sh"

# The real Fitzrovia data, when it sits beside the checkout: the suites that use it skip,
# and say so, without it.
if [ -z "${CRIMESNAP_FITZROVIA:-}" ] && [ -f "$CS_ROOT/../shared/data/fitzrovia/streets_bng.csv" ]; then
  CRIMESNAP_FITZROVIA=$(cd "$CS_ROOT/../shared/data/fitzrovia" && pwd)
fi
export CRIMESNAP_FITZROVIA=${CRIMESNAP_FITZROVIA:-}
if [ -n "$CRIMESNAP_FITZROVIA" ]; then
  echo "== Fitzrovia data: $CRIMESNAP_FITZROVIA"
elif [ -n "${CI:-}" ]; then
  # CI must run every suite: a missing data directory would silently turn the tests on real
  # data into skips.
  echo "crimesnap: CI is set and the Fitzrovia data is missing (../shared/data/fitzrovia beside the checkout, or CRIMESNAP_FITZROVIA)" >&2
  exit 1
else
  echo "== Fitzrovia data: not found beside the checkout (../shared/data/fitzrovia); the tests on it will be skipped, and listed at the end"
fi


WORK=$(mktemp -d "${TMPDIR:-/tmp}/crimesnap-check.XXXXXX")
cleanup() {
  cs_cluster_stop "$WORK"
  if [ -n "${KEEP:-}" ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "== build and install (with assertions) into $WORK/inst"
cs_install "$WORK" assert
echo "== start a throwaway cluster"
cs_cluster_start "$WORK"
export CS_WORK
echo "   PostgreSQL $(psql -XAtc 'SHOW server_version') on port $PGPORT"
started=$(psql -XAtc 'SELECT pg_postmaster_start_time()')

status=0
# ONLY="name ..." runs just the suites of those names (pg_regress, isolation, pgTAP and TAP),
# for a quick loop while working on one subsystem; make check with no ONLY runs everything.
# The operations suites (upgrade, dump) are named the same way: ONLY=upgrade runs the
# upgrade test alone.
pick() {  # pick DIR EXT: the files DIR/*.EXT named in ONLY, or all of them without ONLY
  local dir=$1 ext=$2 n out=()
  if [ -z "${ONLY:-}" ]; then
    for n in "$CS_ROOT/$dir"/*."$ext"; do [ -f "$n" ] && out+=("$(basename "$n" ."$ext")"); done
  else
    for n in $ONLY; do [ -f "$CS_ROOT/$dir/$n.$ext" ] && out+=("$n"); done
  fi
  echo "${out[*]}"
}
# wanted NAME: whether a suite outside pg_regress, isolation, pgTAP and TAP runs this time.
wanted() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
# Each layer's wall time, and the CPU time the test cluster spent on it (TAP suites run
# clusters of their own, so only their wall time counts): the second does not depend on how
# busy the machine is.
phase_start=$SECONDS
phase_cpu=$(cs_server_cpu)
phase() {
  local cpu; cpu=$(cs_server_cpu)
  echo "   ($1: $((SECONDS - phase_start)) s, server CPU $(awk -v a="$phase_cpu" -v b="$cpu" 'BEGIN { printf "%.1f", b - a }') s)"
  phase_start=$SECONDS; phase_cpu=$cpu
}

echo "== pg_regress and isolation suites"
# PGTAP_TESTS= and TAP_TESTS= : the pgTAP and TAP suites run below, in their own steps.
regress_args=(PGTAP_TESTS= TAP_TESTS=)
run_regress=1
if [ -n "${ONLY:-}" ]; then
  regress_args+=("REGRESS=$(pick test/sql sql)" "ISOLATION=$(pick test/specs spec)")
  [ -z "$(pick test/sql sql)$(pick test/specs spec)" ] && run_regress=0
fi
if [ $run_regress -eq 1 ] && ! make -C "$WORK/build" -s installcheck PG_CONFIG="$CS_SYS_PG_CONFIG" "${regress_args[@]}"; then
  status=1
  for f in "$WORK/build/regression.diffs" "$WORK/build/output_iso/regression.diffs"; do
    [ -f "$f" ] && cat "$f"
  done
fi
phase "pg_regress and isolation"

echo "== pgTAP suites, each in its own database cloned from crimesnap_template"
cs_createdb crimesnap_template pgtap
tap_files=()
for n in $(pick test/pgtap sql); do tap_files+=("test/pgtap/$n.sql"); done
if [ ${#tap_files[@]} -gt 0 ] && ! (cd "$WORK/build" && "$CS_ROOT/test/tools/pgtap.sh" crimesnap_template "$WORK/pgtap" "${tap_files[@]}"); then
  status=1
fi
phase "pgTAP"

# TAP suites (test/t/NAME.pl, PostgreSQL::Test::Cluster): they start clusters of their own
# from the private installation, through PGXS's installcheck with TAP_TESTS.  PostgreSQL
# refuses to run as root, so as root they run as the postgres user.
tap_tests=()
for n in $(pick test/t pl); do tap_tests+=("test/t/$n.pl"); done
if [ ${#tap_tests[@]} -gt 0 ]; then
  echo "== TAP suites: ${tap_tests[*]}"
  mkdir -p /tmp/crimesnap-tap-portlock && chmod 1777 /tmp/crimesnap-tap-portlock 2>/dev/null || true
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$WORK/build"
  if ! cs_as_server env PATH="$CS_BIN:$PATH" PG_TEST_PORT_DIR=/tmp/crimesnap-tap-portlock \
         make -C "$WORK/build" -s installcheck REGRESS= ISOLATION= PGTAP_TESTS= TAP_TESTS=1 \
         PG_CONFIG="$CS_BIN/pg_config" PROVE_TESTS="${tap_tests[*]}" PROVE_FLAGS="--timer --verbose"; then
    status=1
    for f in "$WORK/build/tmp_check/log/"regress_log_*; do
      [ -f "$f" ] && { echo "---- $f (last 60 lines)"; tail -60 "$f"; }
    done
  fi
  phase "TAP"
fi

if wanted upgrade; then
  echo "== upgrade: 0.1.0 loaded and published, ALTER EXTENSION crimesnap UPDATE, against a fresh install"
  if ! "$CS_ROOT/test/tools/upgrade.sh" "$WORK/upgrade"; then
    status=1
  fi
fi

if wanted dump; then
  echo "== dump: pg_dump and restore of the published town, custom and plain formats"
  if ! "$CS_ROOT/test/tools/dump.sh" "$WORK/dump"; then
    status=1
  fi
fi

echo "== documentation covers every SQL object"
if ! DOCS_DB=crimesnap_template "$CS_ROOT/test/tools/docs_check.sh" "$CS_ROOT/docs"; then
  status=1
fi
psql -X -q -d crimesnap_template -f "$CS_ROOT/test/tools/reference.sql" >"$WORK/reference.md"
if ! diff -u "$CS_ROOT/docs/reference.md" "$WORK/reference.md" >"$WORK/reference.diff" 2>&1; then
  head -40 "$WORK/reference.diff"
  echo "docs/reference.md is out of date with the COMMENTs: run make reference"
  status=1
else
  echo "docs/reference.md matches the catalog"
fi

# No input may crash the server (issue 9): a backend killed by a signal makes the postmaster
# restart every session, which a suite may survive unnoticed, so look for it directly.
echo "== no backend died"
if grep -E "terminated by signal|was terminated by exception" "$WORK/server.log"; then
  echo "a backend was terminated by a signal (server log: $WORK/server.log)"
  status=1
elif [ "$(psql -XAtc 'SELECT pg_postmaster_start_time()')" != "$started" ]; then
  echo "the server restarted during the suites"
  status=1
else
  echo "no backend was terminated by a signal"
fi

if [ $status -ne 0 ]; then
  echo "crimesnap: FAILED (server log: $WORK/server.log)"
  tail -30 "$WORK/server.log" || true
  KEEP=${KEEP:-1}
  exit 1
fi
echo "crimesnap: all suites passed in $SECONDS s (test cluster CPU $(cs_server_cpu) s; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
