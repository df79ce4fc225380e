#!/usr/bin/env bash
# make fitzrovia: the real Fitzrovia data (../shared/data/fitzrovia), loaded through the input
# tables a force DBA uses, snap points built in both modes, June 2019 published with each,
# and the figures of docs/fitzrovia.md printed.
#
#   PGHOST / PGPORT / PGDATABASE   when any is set: use that server and database (it needs
#                                  PostGIS and crimesnap installed, and no force 'metropolitan'
#                                  yet); otherwise a throwaway cluster of its own
#   CRIMESNAP_FITZROVIA            the data directory (default ../shared/data/fitzrovia)
set -euo pipefail
. "$(dirname "$0")/pgenv.sh"

DATA=${CRIMESNAP_FITZROVIA:-$CS_ROOT/../shared/data/fitzrovia}
if [ ! -f "$DATA/streets_bng.csv" ]; then
  echo "crimesnap: no Fitzrovia data in $DATA" >&2
  echo "Set CRIMESNAP_FITZROVIA to the directory that holds streets_bng.csv." >&2
  exit 1
fi
DATA=$(cd "$DATA" && pwd)
export CRIMESNAP_FITZROVIA=$DATA

if [ -n "${PGHOST:-}${PGPORT:-}${PGDATABASE:-}" ]; then
  echo "== Using the server and database the libpq variables name: ${PGHOST:-(default host)}:${PGPORT:-(default port)}/${PGDATABASE:-(default database)}"
  psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS postgis" -c "CREATE EXTENSION IF NOT EXISTS crimesnap"
  if [ "$(psql -X -At -c "SELECT count(*) FROM crimesnap.force WHERE force_id = 'metropolitan'")" != "0" ]; then
    echo "crimesnap: this database already holds force 'metropolitan'." >&2
    echo "Use an empty database (createdb; PGDATABASE=...), or unset PGHOST, PGPORT and PGDATABASE for a throwaway cluster." >&2
    exit 1
  fi
else
  "$CS_ROOT/test/tools/deps.sh"
  WORK=$(mktemp -d /tmp/crimesnap-fitzrovia.XXXXXX)
  trap 'cs_cluster_stop "$WORK"; rm -rf "$WORK"' EXIT
  echo "== No PGHOST/PGPORT/PGDATABASE: building crimesnap into a throwaway cluster in $WORK"
  cs_install "$WORK"
  cs_cluster_start "$WORK"
  cs_createdb crimesnap_fitzrovia >/dev/null
  export PGDATABASE=crimesnap_fitzrovia
fi

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -P footer=off)

echo "== 1. Load $DATA through the input tables (test/fixtures/fitzrovia.sql)"
(cd "$CS_ROOT" && "${PSQL[@]}" -f test/fixtures/fitzrovia.sql)

"${PSQL[@]}" <<'SQL'
SELECT (SELECT count(*) FROM crimesnap.neighbourhood) AS neighbourhoods,
       (SELECT count(*) FROM crimesnap.lsoa) AS lsoas,
       (SELECT count(*) FROM crimesnap.street) AS street_ways,
       (SELECT count(*) FROM crimesnap.street s JOIN crimesnap.highway_class h USING (highway)
         WHERE h.carries_points AND s.name IS NOT NULL) AS ways_that_carry_points,
       (SELECT count(*) FROM crimesnap.address) AS address_rows,
       (SELECT count(*) FROM crimesnap.postal_address) AS postal_addresses,
       (SELECT count(*) FROM crimesnap.address_duplicate WHERE kind = 'duplicate') AS duplicate_rows,
       (SELECT count(*) FROM crimesnap.address_duplicate WHERE kind = 'near duplicate') AS near_duplicate_pairs,
       (SELECT count(*) FROM fitzrovia.upload) AS june_2019_records;

\echo '== 2. Register June 2019 as a force DBA would: the upload rows into crimesnap.crime_upload, then the batch'
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
SELECT force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context
  FROM fitzrovia.upload ORDER BY crime_ref;
SELECT b.batch_id AS batch, b.records_supplied AS supplied, b.records_loaded AS loaded, b.records_rejected AS rejected
  FROM crimesnap.register_batch('metropolitan', '2019-06-01', (SELECT count(*)::integer FROM fitzrovia.upload),
         supplying_agency => 'Metropolitan Police Service', supplier_name => 'data.police.uk via London Borough of Camden',
         supplier_contact => 'https://opendata.camden.gov.uk', dataset_name => 'Street-level crime, June 2019 (Fitzrovia extract)',
         date_supplied => '2019-07-31', caveats => 'Published police.uk points stand in for raw locations') b;

-- Figures for one snap point set: points, catchments (recounted with PostGIS), how far the
-- published crimes and every address move, and the audit.
CREATE TEMP TABLE figures (run text, version integer, points bigint, street_points bigint, place_points bigint,
                           min_catchment bigint, median_catchment bigint, crimes_mapped bigint,
                           crime_median_m numeric, crime_p90_m numeric, address_median_m numeric,
                           address_p90_m numeric, audit text, build_s numeric);
CREATE FUNCTION pg_temp.measure(run text, v integer, build_s numeric, published boolean) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO figures
  WITH cat AS (SELECT * FROM crimesnap.catchments(v)),
  crime AS (
    -- Published crimes at their snap point, or (for a set nothing was published with) the
    -- raw records snapped by the same rule: nearest point of the set in the record's own
    -- neighbourhood, ties to the lowest point id.
    SELECT ST_Distance(r.geom, p.geom) AS d
      FROM crimesnap.published_crime c
      JOIN crimesnap.raw_crime r USING (crime_id)
      JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
     WHERE published AND c.snap_version = v
    UNION ALL
    SELECT (SELECT ST_Distance(r.geom, p.geom) FROM crimesnap.snap_point p
             WHERE p.version = v AND p.neighbourhood_id = r.neighbourhood_id
             ORDER BY p.geom <-> r.geom, p.point_id LIMIT 1)
      FROM crimesnap.raw_crime r
     WHERE NOT published AND r.geom IS NOT NULL
  ), addr AS (
    SELECT (SELECT ST_Distance(a.geom, p.geom) FROM crimesnap.snap_point p
             WHERE p.version = v AND p.neighbourhood_id = crimesnap.neighbourhood_at(a.geom)
             ORDER BY p.geom <-> a.geom, p.point_id LIMIT 1) AS d
      FROM crimesnap.postal_address a
  )
  SELECT run, v,
         (SELECT count(*) FROM crimesnap.snap_point p WHERE p.version = v),
         (SELECT count(*) FROM crimesnap.snap_point p WHERE p.version = v AND p.kind = 'street'),
         (SELECT count(*) FROM crimesnap.snap_point p WHERE p.version = v AND p.kind <> 'street'),
         (SELECT min(c.addresses) FROM cat c),
         (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY c.addresses) FROM cat c),
         (SELECT count(d) FROM crime),
         (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)::numeric, 1) FROM crime),
         (SELECT round(percentile_cont(0.9) WITHIN GROUP (ORDER BY d)::numeric, 1) FROM crime),
         (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)::numeric, 1) FROM addr),
         (SELECT round(percentile_cont(0.9) WITHIN GROUP (ORDER BY d)::numeric, 1) FROM addr),
         (SELECT CASE WHEN count(*) = 0 THEN 'clean' ELSE count(*) || ' violations' END
            FROM crimesnap.audit_snap_points(v)),
         build_s;
END
$fn$;

\echo '== 3. Street mode (the seeds'' method: a point per street with 12 or more addresses); publish June 2019'
SELECT clock_timestamp() AS t0 \gset
SELECT crimesnap.build_snap_points(mode => 'street') AS v_street \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS build_s \gset
SELECT crimes, mapped, no_location FROM crimesnap.publish_month('metropolitan', '2019-06-01', reference_date => '2019-08-01');
SELECT pg_temp.measure('street', :v_street, :build_s, true) \g /dev/null

\echo '== 4. Dense mode (a candidate per 25 m of street, pruned until every catchment holds 12); publish June 2019 again'
\echo '   (a published crime never moves: the re-publication shows every crime where the street set put it;'
\echo '   the dense figures are the crimes snapped by the same rule in SQL, as a first publication would)'
CREATE TEMP TABLE street_pub AS
SELECT c.crime_id, p.point_id, p.latitude, p.longitude FROM crimesnap.published_crime c
  JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id;
SELECT clock_timestamp() AS t0 \gset
SELECT crimesnap.build_snap_points(mode => 'dense') AS v_dense \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS build_s \gset
SELECT crimes, mapped, no_location FROM crimesnap.publish_month('metropolitan', '2019-06-01', reference_date => '2019-08-01');
SELECT count(*) AS republished_crimes_moved FROM street_pub s JOIN crimesnap.published_crime c USING (crime_id)
  JOIN crimesnap.snap_point p ON p.version = c.snap_version AND p.point_id = c.point_id
 WHERE (p.point_id, p.latitude, p.longitude) IS DISTINCT FROM (s.point_id, s.latitude, s.longitude);
SELECT pg_temp.measure('dense', :v_dense, :build_s, false) \g /dev/null

\echo '== 5. For comparison only, not published: both modes with police.uk''s own 40 place points as public places'
\echo '   (those points are where some of the 607 crimes were published, so they pull those crimes'' displacement to 0)'
INSERT INTO crimesnap.public_place (place_id, class, geom) SELECT place_id, class, geom FROM fitzrovia.policeuk_place;
SELECT clock_timestamp() AS t0 \gset
SELECT crimesnap.build_snap_points(mode => 'street', make_current => false) AS v_sp \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS build_s \gset
SELECT pg_temp.measure('street + police.uk places', :v_sp, :build_s, false) \g /dev/null
SELECT clock_timestamp() AS t0 \gset
SELECT crimesnap.build_snap_points(mode => 'dense', make_current => false) AS v_dp \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS build_s \gset
SELECT pg_temp.measure('dense + police.uk places', :v_dp, :build_s, false) \g /dev/null
DELETE FROM crimesnap.public_place;

\echo
\echo '== Figures (catchments recounted with PostGIS; distances in metres; crimes: raw location to published snap point;'
\echo '   addresses: every address to the point a crime there would snap to)'
\pset border 2
SELECT run, points, street_points, place_points AS places, min_catchment AS min_c, median_catchment AS median_c,
       crimes_mapped AS crimes, crime_median_m AS crime_med, crime_p90_m AS crime_p90,
       address_median_m AS addr_med, address_p90_m AS addr_p90, audit, build_s
  FROM figures ORDER BY version;
\pset border 1
SELECT mode, version, build_notes FROM crimesnap.snap_point_set ORDER BY version;
\echo 'Coverage of the current (dense) set, per neighbourhood (crimesnap.snap_coverage):'
SELECT neighbourhood_id, addresses, points, street_points, round(farthest_address::numeric, 1) AS farthest_m,
       round(share_beyond::numeric, 4) AS share_beyond, warning
  FROM crimesnap.snap_coverage ORDER BY neighbourhood_id;
\echo 'Points whose catchment holds duplicate address rows: distinct postal addresses (what counts) against rows:'
SELECT p.version, p.kind, p.label, p.address_count AS postal_addresses, count(*) AS address_rows
  FROM crimesnap.snap_point p
  JOIN crimesnap.address a ON (SELECT q.point_id FROM crimesnap.snap_point q
                                WHERE q.version = p.version AND q.neighbourhood_id = crimesnap.neighbourhood_at(a.geom)
                                ORDER BY q.geom <-> a.geom, q.point_id LIMIT 1) = p.point_id
 WHERE p.version IN (:v_street, :v_dense)
 GROUP BY p.version, p.point_id, p.kind, p.label, p.address_count
HAVING p.address_count < count(*)
 ORDER BY p.version, p.address_count, p.label LIMIT 20;
\echo 'June 2019 was published twice, with the street-mode set and then the dense one: the second publication'
\echo 'replaced the first (a re-publish), and every set built stays as it was.'
SELECT s.version, s.mode, s.is_current, s.point_count, (SELECT count(*) FROM crimesnap.published_crime c WHERE c.snap_version = s.version) AS published_crimes
  FROM crimesnap.snap_point_set s ORDER BY 1;
SQL
