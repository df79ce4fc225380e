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
# are independent, so any N is correct).  Prints one line per file with its time, the
# output of every file that failed, and what was skipped.  Exits non-zero when a file
# failed, or, when CI is set, when a file skipped a test on the Fitzrovia data.
set -uo pipefail
template=${1:?usage: pgtap.sh TEMPLATE LOGDIR FILE...}
logdir=${2:?usage: pgtap.sh TEMPLATE LOGDIR FILE...}
shift 2
mkdir -p "$logdir"

run_one() {
  local file=$1 name db start rc
  name=$(basename "$file" .sql)
  db="tap_${name}"
  start=$(date +%s%N)
  dropdb --if-exists "$db" 2>/dev/null
  if ! createdb -T "$template" "$db" 2>"$logdir/$name.log"; then
    echo "1 $file 0" >"$logdir/$name.status"
    return 1
  fi
  pg_prove -v -d "$db" --ext .sql "$file" >"$logdir/$name.log" 2>&1
  rc=$?
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '%s %s %d.%01d\n' "$rc" "$file" $((ms / 1000)) $((ms % 1000 / 100)) >"$logdir/$name.status"
  [ $rc -eq 0 ] && dropdb "$db"
  return $rc
}
export -f run_one
export template logdir

jobs=${PGTAP_JOBS:-1}
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} || true

status=0
skipped=()
for file in "$@"; do
  name=$(basename "$file" .sql)
  read -r rc f secs <"$logdir/$name.status" 2>/dev/null || { rc=1; secs='?'; }
  if [ "$rc" = 0 ]; then
    printf '%-40s ok     %7ss\n' "$file" "$secs"
  else
    printf '%-40s FAILED %7ss (database tap_%s kept)\n' "$file" "$secs" "$name"
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
