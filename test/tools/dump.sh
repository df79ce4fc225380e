#!/usr/bin/env bash
# test/tools/dump.sh: the backup test.  check.sh runs it against its throwaway cluster
# (libpq variables set, crimesnap installed); `ONLY=dump make check` runs it alone.
#
# A database gets the generated town (test/fixtures/town.sql), its September and October
# 2026 loaded and published (October's publication rolls September off into the trend
# table), a withdrawal, a rotated id key, and rows a DBA adds to the seeded tables (a local
# offence code, a place class, a highway class).  pg_dump writes it in the custom and in
# the plain format; pg_restore and psql restore each into a new database, and both must:
#   - restore without an error;
#   - hold every row of every crimesnap table, every sequence position and the id key
#     (test/tools/data.sql: counts and md5s of every table; crimesnap.snap_index_generation,
#     a change counter that pg_dump leaves out on purpose, aside);
#   - have the same catalogue (test/tools/catalogue.sql);
#   - give every raw record the persistent id crimesnap.persistent_id() computes from the
#     restored key, and pass both privacy audits.
# Exits non-zero on any failure.  WORKDIR (first argument) receives the outputs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d /tmp/crimesnap-dump.XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
fail=0

for db in cs_dump_source cs_dump_custom cs_dump_plain; do dropdb --if-exists "$db" 2>/dev/null; done
createdb cs_dump_source
"${PSQL[@]}" -d cs_dump_source -c 'CREATE EXTENSION postgis' -c 'CREATE EXTENSION crimesnap'

echo "   the generated town, two months published, a withdrawal, a rotated key, a DBA's own rows"
(cd "$ROOT" && "${PSQL[@]}" -d cs_dump_source <<'SQL'
SET client_min_messages = warning;
\set seed 42
\i test/fixtures/town.sql
\i test/fixtures/town_load.sql
SELECT crimesnap.build_snap_points(mode => 'street') \g /dev/null
SELECT pg_temp.load_month(f, '2026-09-01') FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
SELECT crimesnap.publish_month(f, '2026-09-01', reference_date => '2026-10-24') FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
SELECT pg_temp.load_month(f, '2026-10-01') FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
SELECT crimesnap.publish_month(f, '2026-10-01', reference_date => '2026-11-24') FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
SELECT crimesnap.withdraw(c.persistent_id, 'Dump test: a complaint upheld')
  FROM crimesnap.published_crime c WHERE c.persistent_id IS NOT NULL
 ORDER BY c.persistent_id LIMIT 1 \g /dev/null
-- A key that no fresh install could have: restoring it is the only way to get these ids back.
SELECT crimesnap.rotate_persistent_id_key('Dump test: a key of its own') \g /dev/null
-- Rows a DBA adds beside the seeded ones.
INSERT INTO crimesnap.offence_code (force_id, offence_code, slug, description)
VALUES ('northshire', 'NS1', 'other-crime', 'Northshire local code');
INSERT INTO crimesnap.place_class (class) VALUES ('Cathedral Close');
INSERT INTO crimesnap.highway_class (highway, carries_points) VALUES ('busway', false);
SQL
)

"${PSQL[@]}" -At -d cs_dump_source -f "$ROOT/test/tools/data.sql" >"$OUT/data-source.txt"
psql -X -At -d cs_dump_source -f "$ROOT/test/tools/catalogue.sql" >"$OUT/catalogue-source.txt"
echo "   source: $(awk -F'\t' '$1 == "rows" { t++; n += $3 } END { print t " tables, " n " rows" }' "$OUT/data-source.txt"), $(grep -c '^sequence' "$OUT/data-source.txt") sequences"

restore_check() {
  local fmt=$1 db=$2
  local tag="$fmt dump"
  if grep -v -E 'pg_dump: (warning: there are circular foreign-key constraints on this table|detail: snap_point_set$|hint: )' \
       "$OUT/dump-$fmt.err" | grep -q .; then
    echo "dump: pg_dump ($fmt) said:"; cat "$OUT/dump-$fmt.err"; fail=1
  fi
  if grep -q . "$OUT/restore-$fmt.err"; then
    echo "dump: the $tag restored with errors:"; head -20 "$OUT/restore-$fmt.err"; fail=1; return
  fi
  "${PSQL[@]}" -At -d "$db" -f "$ROOT/test/tools/data.sql" >"$OUT/data-$fmt.txt"
  if diff -u --label source --label "restored from the $tag" \
       <(grep -v -P '^content\tcrimesnap\.snap_index_generation\t' "$OUT/data-source.txt") \
       <(grep -v -P '^content\tcrimesnap\.snap_index_generation\t' "$OUT/data-$fmt.txt"); then
    echo "   $tag: every table, sequence, persistent id and the key restored"
  else
    echo "dump: the data restored from the $tag differs"; fail=1
  fi
  psql -X -At -d "$db" -f "$ROOT/test/tools/catalogue.sql" >"$OUT/catalogue-$fmt.txt"
  if ! diff -u --label source --label "restored from the $tag" "$OUT/catalogue-source.txt" "$OUT/catalogue-$fmt.txt"; then
    echo "dump: the catalogue restored from the $tag differs"; fail=1
  fi
  local check
  check=$(psql -X -At -d "$db" -c "
    SELECT (SELECT count(*) FROM crimesnap.raw_crime r
             WHERE r.persistent_id IS DISTINCT FROM crimesnap.persistent_id(r.force_id, r.crime_ref))
           || ' ' || (SELECT count(*) FROM crimesnap.audit_snap_points())
           || ' ' || (SELECT count(*) FROM crimesnap.audit_publication())")
  if [ "$check" = "0 0 0" ]; then
    echo "   $tag: every persistent id is the restored key's; both audits clean"
  else
    echo "dump: $tag: ids not from the restored key, snap point and publication violations: $check"; fail=1
  fi
}

echo "   pg_dump -Fc, pg_restore into a new database"
t0=$(date +%s)
pg_dump -Fc -f "$OUT/town.dump" cs_dump_source 2>"$OUT/dump-custom.err"
createdb cs_dump_custom
pg_restore -d cs_dump_custom "$OUT/town.dump" 2>"$OUT/restore-custom.err" || true
echo "   dumped and restored in $(( $(date +%s) - t0 )) s ($(stat -c %s "$OUT/town.dump") bytes)"
restore_check custom cs_dump_custom

echo "   pg_dump (plain SQL), psql into a new database"
pg_dump -f "$OUT/town.sql" cs_dump_source 2>"$OUT/dump-plain.err"
createdb cs_dump_plain
psql -X -q -v ON_ERROR_STOP=1 -d cs_dump_plain -f "$OUT/town.sql" >/dev/null 2>"$OUT/restore-plain.err" || true
restore_check plain cs_dump_plain

if [ $fail -ne 0 ]; then echo "dump: FAILED (outputs in $OUT)"; exit 1; fi
for db in cs_dump_source cs_dump_custom cs_dump_plain; do
  dropdb "$db"
done
echo "dump: passed"
