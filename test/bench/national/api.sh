#!/bin/sh
# The web API under load on the national data (test/bench/42_national_api.sql runs it).
#
# pgbench, as a login role in crimesnap_web, runs the web's typical calls, one
# transaction each, mixed in equal shares:
#   1. police.uk's crimes-street within a mile of a random point of the second largest force
#      (its largest force's month was withdrawn by the bench);
#   2. the same inside a random polygon of about 1 km by 1 km there;
#   3. police.uk's crimes-at-location for a random snap point of that force.
# With 4 and with 20 clients, API_SECONDS (default 30) each, first alone, then while the
# force re-publishes its month in a loop (each re-publication replaces the month in one
# transaction).  Prints tps, per-call p50/p95/p99 from pgbench's per-transaction log, and
# the errors: failed transactions and aborted clients.
#
# Needs PGHOST/PGPORT/PGUSER of a superuser and the database national_full or
# national_tenth made by 40/41 (the newest of them).  Writes only under $CS_BENCH_TMP.
set -eu
secs=${API_SECONDS:-30}
tmp=${CS_BENCH_TMP:-/tmp}/api
rm -rf "$tmp"; mkdir -p "$tmp"
db=$(psql -XAtc "SELECT datname FROM pg_database WHERE datname IN ('national_full', 'national_tenth')
                  ORDER BY datname = 'national_full' DESC LIMIT 1" -d postgres)
if [ -z "$db" ]; then echo "no national database: run 40_national_tenth or 41_national_full first"; exit 0; fi
force=force-02
month=2026-10
psql -XAq -d "$db" -v ON_ERROR_STOP=1 <<'EOF'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_web') THEN
    CREATE ROLE bench_web LOGIN IN ROLE crimesnap_web;
  END IF;
END $$;
EOF
# The force's extent in WGS84 and its snap point ids, for the random arguments.
set -- $(psql -XAt -F ' ' -d "$db" -c "
  SELECT round(min(p.latitude)::numeric * 1e6), round(max(p.latitude)::numeric * 1e6),
         round(min(p.longitude)::numeric * 1e6), round(max(p.longitude)::numeric * 1e6),
         min(p.point_id), max(p.point_id)
    FROM crimesnap.snap_point p JOIN crimesnap.neighbourhood n USING (neighbourhood_id)
   WHERE p.version = crimesnap.current_snap_version() AND n.force_id = '$force'")
lat0=$1 lat1=$2 lng0=$3 lng1=$4 id0=$5 id1=$6
cat >"$tmp/near.sql" <<EOF
\set lat random($lat0, $lat1)
\set lng random($lng0, $lng1)
SELECT pg_catalog.length(crimesnap_api.police_uk_crimes_street(:lat / 1e6::float8, :lng / 1e6::float8, '$month')::text);
EOF
# About 1 km by 1 km: 0.009 degrees of latitude, 0.014 of longitude at 52 degrees north.
cat >"$tmp/poly.sql" <<EOF
\set lat random($lat0, $lat1)
\set lng random($lng0, $lng1)
SELECT pg_catalog.length(crimesnap_api.police_uk_crimes_street_poly(
         pg_catalog.format('%s,%s:%s,%s:%s,%s:%s,%s', :lat / 1e6, :lng / 1e6, :lat / 1e6 + 0.009, :lng / 1e6,
                           :lat / 1e6 + 0.009, :lng / 1e6 + 0.014, :lat / 1e6, :lng / 1e6 + 0.014), '$month')::text);
EOF
cat >"$tmp/at.sql" <<EOF
\set id random($id0, $id1)
SELECT pg_catalog.length(crimesnap_api.police_uk_crimes_at_location(:id::bigint, '$month')::text);
EOF

publish_loop() {
  while [ ! -e "$tmp/stop" ]; do
    psql -XAtq -d "$db" -c "SET client_min_messages = warning; SELECT crimes FROM crimesnap.publish_month('$force', '$month-01', '2026-11-24')" \
      >>"$tmp/publish.log" 2>&1 || echo "publish failed" >>"$tmp/publish.log"
  done
}

echo "database $db, force $force, month $month, $secs s a run; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %7s %-14s %8s %7s %7s %8s %8s %8s\n' run clients call tps txns errors p50_ms p95_ms p99_ms
for mode in alone publishing; do
  for clients in 4 20; do
    rm -f "$tmp/stop" "$tmp"/log.* "$tmp/publish.log"
    if [ "$mode" = publishing ]; then publish_loop & loop=$!; sleep 1; fi
    (cd "$tmp" && pgbench -n -U bench_web -c "$clients" -j 2 -T "$secs" -l --log-prefix=log \
       -f near.sql -f poly.sql -f at.sql "$db" >"$tmp/out" 2>"$tmp/err") || true
    if [ "$mode" = publishing ]; then touch "$tmp/stop"; wait "$loop" || true; fi
    tps=$(awk '/^tps = / { printf "%.0f", $3 }' "$tmp/out")
    failed=$(awk '/^number of failed transactions/ { print $5; exit }' "$tmp/out")
    aborted=$(grep -c "aborted" "$tmp/err" || true)
    touch "$tmp/publish.log"
    pubs=$(grep -c '^[0-9]' "$tmp/publish.log" || true)
    pubfail=$(grep -c 'failed\|ERROR' "$tmp/publish.log" || true)
    for script in 0 1 2; do
      call=$(echo "near-1-mile polygon at-location" | cut -d' ' -f$((script + 1)))
      cat "$tmp"/log.* | awk -v s=$script '$4 == s { print $3 }' | sort -n >"$tmp/lat"
      n=$(wc -l <"$tmp/lat")
      pct() { [ "$n" -gt 0 ] && awk -v n="$n" -v p="$1" 'NR == int((n - 1) * p) + 1 { printf "%.1f", $1 / 1000; exit }' "$tmp/lat" || echo -; }
      printf '%-12s %7s %-14s %8s %7s %7s %8s %8s %8s\n' "$mode" "$clients" "$call" "${tps:-?}" "$n" \
        "$(( ${failed:-0} + aborted ))" "$(pct 0.50)" "$(pct 0.95)" "$(pct 0.99)"
    done
    if [ "$mode" = publishing ]; then echo "             (the force re-published its month $pubs times during the run, $pubfail failed)"; fi
    if [ -s "$tmp/err" ]; then sed -n '1,3p' "$tmp/err"; fi
  done
done
