#!/usr/bin/env bash
# test/tools/pgtap.sh TEMPLATE LOGDIR FILE...: runs each pgTAP file with pg_prove in a
# database of its own, cloned from TEMPLATE (CREATE DATABASE ... TEMPLATE), and drops it
# afterwards (a failing file's database is kept for a post-mortem).  Called by check.sh with
# the libpq variables of the test cluster set.
#
# Why a database per file: every file rolls its work back, and a rolled-back file leaves
# behind table statistics (reltuples is updated in place, autovacuum then counts the aborted
# rows as dead) that tell the planner of the next file that the tables are empty: it picks
# nested loops, and a file that takes 5 s alone took 365 s after the others.  A clone of the
# template starts every file from the same catalogue, statistics included.
#
# PGTAP_JOBS=N runs N files at once (default 1: the machine is usually shared; the files
# are independent, so any N is correct).  Prints one line per file as it ends, with its wall
# time and the CPU time the server spent (CS_WORK names the cluster), then the output of every
# file that failed, and what was skipped.  Exits non-zero when a file
# failed, or, when CI is set, when a file skipped a test on the Fitzrovia data.
set -uo pipefail
. "$(dirname "$0")/pgenv.sh"
template=${1:?usage: pgtap.sh TEMPLATE LOGDIR FILE...}
logdir=${2:?usage: pgtap.sh TEMPLATE LOGDIR FILE...}
shift 2
mkdir -p "$logdir"

run_one() {
  local file=$1 name db start rc cpu0 cpu1 ms
  name=$(basename "$file" .sql)
  db="tap_${name}"
  start=$(date +%s%N)
  cpu0=$(cs_server_cpu)
  dropdb --if-exists "$db" 2>/dev/null
  if ! createdb -T "$template" "$db" 2>"$logdir/$name.log"; then
    rc=1
  else
    pg_prove -v -d "$db" --ext .sql "$file" >"$logdir/$name.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && dropdb "$db"
  fi
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  cpu1=$(cs_server_cpu)
  echo "$rc" >"$logdir/$name.status"
  # One line per file as it ends.  The server CPU is the whole cluster's, so it is this
  # file's alone only when the files run one at a time.
  printf '%-40s %-6s %6d.%01d s   server CPU %s s\n' "$file" "$([ $rc -eq 0 ] && echo ok || echo FAILED)" \
    $((ms / 1000)) $((ms % 1000 / 100)) "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.1f", b - a }')"
  return $rc
}
export -f run_one cs_server_cpu
export template logdir CS_WORK

jobs=${PGTAP_JOBS:-1}
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} || true

status=0
skipped=()
for file in "$@"; do
  name=$(basename "$file" .sql)
  rc=$(cat "$logdir/$name.status" 2>/dev/null || echo 1)
  if [ "$rc" != 0 ]; then
    echo "---- $file FAILED (its database tap_$name is kept):"
    grep -v '^ok ' "$logdir/$name.log" | head -60
    status=1
  fi
  while IFS= read -r line; do
    skipped+=("$file: ${line#*# [Ss][Kk][Ii][Pp] }")
  done < <(grep -E '^ok [0-9]+ .*# (SKIP|skip)' "$logdir/$name.log" | sed 's/^ok [0-9]* *-* *//' | sort | uniq -c |
           sed -E 's/^ *([0-9]+) (.*)$/\2 (\1 tests)/')
done

if [ ${#skipped[@]} -gt 0 ]; then
  echo "skipped:"
  printf '  %s\n' "${skipped[@]}"
  if [ -n "${CI:-}" ] && printf '%s\n' "${skipped[@]}" | grep -qi fitzrovia; then
    echo "CI is set: a test on the Fitzrovia data skipped, which CI counts as a failure"
    status=1
  fi
fi
exit $status
