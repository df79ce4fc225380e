#!/usr/bin/env bash
# make check: Debian packages, build (with assertions), a throwaway cluster, every suite.
# Exits non-zero when anything fails.  KEEP=1 keeps the work directory for a post-mortem.
set -euo pipefail
. "$(dirname "$0")/pgenv.sh"

"$CS_ROOT/test/tools/deps.sh"

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
echo "   PostgreSQL $(psql -XAtc 'SHOW server_version') on port $PGPORT"

# The real Fitzrovia data, when it sits beside the checkout: the suites that use it skip,
# and say so, without it.
if [ -z "${CRIMESNAP_FITZROVIA:-}" ] && [ -f "$CS_ROOT/../shared/data/fitzrovia/streets_bng.csv" ]; then
  CRIMESNAP_FITZROVIA=$(cd "$CS_ROOT/../shared/data/fitzrovia" && pwd)
fi
export CRIMESNAP_FITZROVIA=${CRIMESNAP_FITZROVIA:-}
echo "   Fitzrovia data: ${CRIMESNAP_FITZROVIA:-not found; its tests will be skipped}"

status=0
echo "== pg_regress and isolation suites"
# ONLY="name ..." runs just the suites of those names (pg_regress, isolation and pgTAP),
# for a quick loop while working on one subsystem; make check with no ONLY runs everything.
# The operations suites (upgrade, dump) are named the same way: ONLY=upgrade runs the
# upgrade test alone.
only_args=()
run_regress=1
if [ -n "${ONLY:-}" ]; then
  pick() { local dir=$1 ext=$2 n out=(); for n in $ONLY; do [ -f "$CS_ROOT/$dir/$n.$ext" ] && out+=("$n"); done; echo "${out[*]}"; }
  only_args=("REGRESS=$(pick test/sql sql)" "ISOLATION=$(pick test/specs spec)")
  [ -z "$(pick test/sql sql)$(pick test/specs spec)" ] && run_regress=0
fi
# wanted NAME: whether a suite outside pg_regress, isolation and pgTAP runs this time.
wanted() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
# PGTAP_TESTS= : the pgTAP suites run below, in their own step.
if [ $run_regress -eq 1 ] && ! make -C "$WORK/build" -s installcheck PG_CONFIG="$CS_SYS_PG_CONFIG" PGTAP_TESTS= "${only_args[@]}"; then
  status=1
  for f in "$WORK/build/regression.diffs" "$WORK/build/output_iso/regression.diffs"; do
    [ -f "$f" ] && cat "$f"
  done
fi

echo "== pgTAP suites"
cs_createdb crimesnap_tap pgtap
tap_files=(test/pgtap/)
if [ -n "${ONLY:-}" ]; then
  tap_files=(); for n in $ONLY; do [ -f "$CS_ROOT/test/pgtap/$n.sql" ] && tap_files+=("test/pgtap/$n.sql"); done
fi
if [ ${#tap_files[@]} -gt 0 ] && ! (cd "$WORK/build" && pg_prove -d crimesnap_tap --ext .sql "${tap_files[@]}"); then
  status=1
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
if ! DOCS_DB=crimesnap_tap "$CS_ROOT/test/tools/docs_check.sh" "$CS_ROOT/docs"; then
  status=1
fi
psql -X -q -d crimesnap_tap -f "$CS_ROOT/test/tools/reference.sql" >"$WORK/reference.md"
if ! diff -u "$CS_ROOT/docs/reference.md" "$WORK/reference.md" >"$WORK/reference.diff" 2>&1; then
  head -40 "$WORK/reference.diff"
  echo "docs/reference.md is out of date with the COMMENTs: run make reference"
  status=1
else
  echo "docs/reference.md matches the catalog"
fi

if [ $status -ne 0 ]; then
  echo "crimesnap: FAILED (server log: $WORK/server.log)"
  tail -30 "$WORK/server.log" || true
  KEEP=${KEEP:-1}
  exit 1
fi
echo "crimesnap: all suites passed"
