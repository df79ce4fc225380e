#!/usr/bin/env bash
# test/tools/upgrade.sh: the upgrade test.  check.sh runs it against its throwaway cluster
# (libpq variables set, crimesnap installed); `ONLY=upgrade make check` runs it alone.
#
# One database gets a fresh install of the newest version.  Another gets
# CREATE EXTENSION crimesnap VERSION '0.1.0', the generated town loaded and published under
# 0.1.0 (test/upgrade/0.1.0/load.sql), and ALTER EXTENSION crimesnap UPDATE.  Then:
#   (a) the catalogue of the updated database equals the fresh install's
#       (test/tools/catalogue.sql; a diff is printed when it does not);
#   (b) every sequence, every persistent id and the id key are what they were before the
#       update, and every table's row count too, but for the seeded rows the update may add
#       (test/tools/data.sql); the seeded rows equal a fresh install's; the privacy audits
#       find nothing.
# Exits non-zero on any failure.  WORKDIR (first argument) receives the outputs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d /tmp/crimesnap-upgrade.XXXXXX)}
mkdir -p "$OUT"
FROM=0.1.0
TO=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ROOT/crimesnap.control")
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
fail=0

for db in cs_upgrade_fresh cs_upgrade_old; do dropdb --if-exists "$db" 2>/dev/null; createdb "$db"; done
"${PSQL[@]}" -d cs_upgrade_fresh -c 'CREATE EXTENSION postgis' -c 'CREATE EXTENSION crimesnap'
"${PSQL[@]}" -d cs_upgrade_old -c 'CREATE EXTENSION postgis' -c "CREATE EXTENSION crimesnap VERSION '$FROM'"
# What each version's script seeds: the update may add seeded rows, never lose a DBA's.
"${PSQL[@]}" -At -d cs_upgrade_old -f "$ROOT/test/tools/data.sql" >"$OUT/data-seed-$FROM.txt"
"${PSQL[@]}" -At -d cs_upgrade_fresh -f "$ROOT/test/tools/data.sql" >"$OUT/data-fresh.txt"

echo "   load and publish the generated town under $FROM"
t0=$(date +%s)
(cd "$ROOT" && "${PSQL[@]}" -d cs_upgrade_old -f test/upgrade/$FROM/load.sql)
echo "   loaded in $(( $(date +%s) - t0 )) s"
"${PSQL[@]}" -At -d cs_upgrade_old -f "$ROOT/test/tools/data.sql" >"$OUT/data-before.txt"

echo "   ALTER EXTENSION crimesnap UPDATE ($FROM -> $TO)"
t0=$(date +%s)
if ! "${PSQL[@]}" -d cs_upgrade_old -c 'ALTER EXTENSION crimesnap UPDATE' 2>&1 | tee "$OUT/update.log"; then
  echo "upgrade: ALTER EXTENSION crimesnap UPDATE failed"; exit 1
fi
grep -q ERROR "$OUT/update.log" && { echo "upgrade: ALTER EXTENSION crimesnap UPDATE failed"; exit 1; }
echo "   updated in $(( $(date +%s) - t0 )) s"
v=$(psql -X -At -d cs_upgrade_old -c "SELECT extversion FROM pg_extension WHERE extname = 'crimesnap'")
if [ "$v" != "$TO" ]; then echo "upgrade: version is $v after the update, not $TO"; fail=1; fi
path=$(psql -X -At -d cs_upgrade_old -c "SELECT path FROM pg_extension_update_paths('crimesnap') WHERE source = '$FROM' AND target = '$TO'")
if [ "$path" != "$FROM--$TO" ]; then echo "upgrade: pg_extension_update_paths gives '$path' from $FROM to $TO"; fail=1; fi

echo "   (a) catalogue: updated from $FROM against a fresh $TO"
psql -X -At -d cs_upgrade_fresh -f "$ROOT/test/tools/catalogue.sql" >"$OUT/catalogue-fresh.txt"
psql -X -At -d cs_upgrade_old -f "$ROOT/test/tools/catalogue.sql" >"$OUT/catalogue-updated.txt"
if diff -u --label "fresh $TO" --label "updated from $FROM" "$OUT/catalogue-fresh.txt" "$OUT/catalogue-updated.txt" >"$OUT/catalogue.diff"; then
  echo "   the same: $(wc -l <"$OUT/catalogue-fresh.txt") catalogue facts"
else
  echo "upgrade: the updated catalogue differs from a fresh install ('-' fresh, '+' updated):"
  head -200 "$OUT/catalogue.diff"
  echo "(fix: the fragments in sql/upgrade/$FROM--$TO/ must do what sql/install/ does)"
  fail=1
fi

echo "   (b) data: row counts, sequences, persistent ids and the id key before and after"
"${PSQL[@]}" -At -d cs_upgrade_old -f "$ROOT/test/tools/data.sql" >"$OUT/data-after.txt"
# Tables the update adds are not in "before"; for every other one, sequences, persistent ids
# and the key must be unchanged, and the row count must be what it was, less what 0.1.0's
# script seeded, plus what the new version's seeds (the update may seed new configuration
# rows; it may not lose or add a row of data).
grep -E '^(rows|sequence|ids|key)	' "$OUT/data-before.txt" >"$OUT/kept-before.txt"
awk -F'\t' -v OFS='\t' '
  FILENAME == ARGV[1] && $1 == "rows" { seed_old[$2] = $3; next }
  FILENAME == ARGV[2] && $1 == "rows" { seed_new[$2] = $3; next }
  FILENAME == ARGV[3] {
    if ($1 == "rows") $3 = $3 - seed_old[$2] + ($2 in seed_new ? seed_new[$2] : 0)
    print }' "$OUT/data-seed-$FROM.txt" "$OUT/data-fresh.txt" "$OUT/kept-before.txt" >"$OUT/kept-expected.txt"
awk -F'\t' 'NR == FNR { k[$1 FS $2] = 1; next } ($1 FS $2) in k' "$OUT/kept-before.txt" "$OUT/data-after.txt" >"$OUT/kept-after.txt"
if diff -u --label "expected after the update (before, less $FROM's seed, plus $TO's)" --label "after the update" \
     "$OUT/kept-expected.txt" "$OUT/kept-after.txt"; then
  echo "   as expected: $(grep -c '^rows' "$OUT/kept-before.txt") tables ($(awk -F'\t' '$1 == "rows" { n += $3 } END { print n }' "$OUT/kept-before.txt") rows before, $(awk -F'\t' '$1 == "rows" { n += $3 } END { print n }' "$OUT/kept-after.txt") after), $(grep -c '^sequence' "$OUT/kept-before.txt") sequences, $(grep -c '^ids' "$OUT/kept-before.txt") persistent id columns and the key unchanged"
else
  echo "upgrade: data changed in the update"; fail=1
fi
if [ "$(awk -F'\t' '$1 == "ids" { split($3, a, " "); n += a[1] } END { print n + 0 }' "$OUT/kept-before.txt")" -eq 0 ]; then
  echo "upgrade: the 0.1.0 database holds no persistent ids: the test would prove nothing"; fail=1
fi

# The seeded rows: the updated database must hold exactly what a fresh install seeds.
if diff -u --label "seeded rows, fresh $TO" --label "seeded rows, updated from $FROM" \
     <(grep '^seed	' "$OUT/data-fresh.txt") <(grep '^seed	' "$OUT/data-after.txt"); then
  echo "   seeded rows the same as a fresh install's: $(grep -c '^seed	' "$OUT/data-fresh.txt") tables ($(awk -F'\t' '$1 == "seed" { split($3, a, " "); n += a[1] } END { print n + 0 }' "$OUT/data-fresh.txt") rows)"
else
  echo "upgrade: the seeded rows differ from a fresh install's (a fragment seeds other rows than sql/install/, or marks others seeded)"; fail=1
fi

audit=$(psql -X -At -d cs_upgrade_old -c "SELECT (SELECT count(*) FROM crimesnap.audit_snap_points()) || ' ' || (SELECT count(*) FROM crimesnap.audit_publication())")
if [ "$audit" = "0 0" ]; then
  echo "   audits clean after the update: audit_snap_points() and audit_publication() find nothing"
else
  echo "upgrade: audits after the update find violations (snap points, publication): $audit"
  psql -X -d cs_upgrade_old -c 'SELECT * FROM crimesnap.audit_snap_points() LIMIT 10' -c 'SELECT * FROM crimesnap.audit_publication() LIMIT 10'
  fail=1
fi

if [ $fail -ne 0 ]; then echo "upgrade: FAILED (outputs in $OUT)"; exit 1; fi
for db in cs_upgrade_fresh cs_upgrade_old; do dropdb "$db"; done
echo "upgrade: passed"
