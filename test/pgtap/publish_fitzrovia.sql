-- The real-data round trip: the 607 June 2019 Fitzrovia crimes go through the documented
-- force upload (their published easting and northing standing in for raw locations), are
-- registered and published; every row is published or rejected with a reason, the CSV
-- export parses back as a data.police.uk street CSV, and no output carries a raw
-- coordinate or reference.  Skipped, saying so, when the data directory is absent
-- (CRIMESNAP_FITZROVIA, default ../shared/data/fitzrovia from where psql runs).
\set QUIET 1
SET client_min_messages = warning;
\set fitz_dir `echo "${CRIMESNAP_FITZROVIA:-../shared/data/fitzrovia}"`
\set have_fitz `test -f "${CRIMESNAP_FITZROVIA:-../shared/data/fitzrovia}/camden_crime_2019-06_bbox.csv" && echo 1 || echo 0`
BEGIN;
\if :have_fitz
\ir ../fixtures/fitzrovia.sql
SET client_min_messages = warning;
SELECT plan(25);

-- The Met's DBA writes the month out in the documented upload layout and \copy-s it in.
\set upload_csv `mktemp /tmp/crimesnap-fitzrovia-XXXXXX`
\o :upload_csv
COPY (SELECT force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context
        FROM fitzrovia.upload ORDER BY crime_ref) TO STDOUT WITH (FORMAT csv, HEADER);
\o
\set load_script `f=:'upload_csv'; printf '\\copy crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) FROM %s WITH (FORMAT csv, HEADER)\n' "'$f'" > "$f.sql"; echo "$f.sql"`
\i :load_script
SELECT is((SELECT count(*) FROM crimesnap.crime_upload), 607::bigint, 'the 607 crimes are staged from the upload CSV');
SELECT lives_ok($$SELECT crimesnap.register_batch('metropolitan', '2019-06-01', 607, 'Metropolitan Police Service',
                    'Camden open data team', 'opendata@camden.example', 'Fitzrovia street-level crimes and ASB, June 2019',
                    'crimesnap upload CSV 1', '2021-02-18',
                    'Locations are the points police.uk published, standing in for raw locations; 44 rows are British Transport Police''s')$$,
  'they register as one batch of 607 records');
SELECT is((SELECT records_loaded + records_rejected FROM crimesnap.batch), 607, 'every one is loaded or rejected');
SELECT is((SELECT count(*) FROM crimesnap.reject WHERE reason IS NULL OR reason = ''), 0::bigint, 'every reject has its reason');
SELECT diag(format('loaded %s, rejected %s%s', b.records_loaded, b.records_rejected,
                   coalesce(': ' || (SELECT string_agg(format('%s %s', n, reason_code), ', ' ORDER BY reason_code)
                                       FROM (SELECT reason_code, count(*) AS n FROM crimesnap.reject GROUP BY 1) r), '')))
  FROM crimesnap.batch b;

\o /dev/null
SELECT crimesnap.build_snap_points();
\o
SELECT throws_ok($$SELECT * FROM crimesnap.publish_month('metropolitan', '2019-06-01', '2019-07-22')$$, '55000',
  'month 2019-06 cannot be published before 2019-07-23', 'June 2019 was not publishable before 23 July 2019');
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('metropolitan', '2019-06-01', '2019-07-23')$$, 'it publishes on the day');
SELECT is((SELECT crimes + withheld FROM crimesnap.publication), (SELECT records_loaded FROM crimesnap.batch),
  'every loaded row is published');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime) + (SELECT count(*) FROM crimesnap_api.no_location_crime)
          + (SELECT count(*) FROM crimesnap.reject), 607::bigint, 'so every one of the 607 is published or rejected with a reason');
SELECT is((SELECT count(*) FROM crimesnap.audit_publication()), 0::bigint, 'the publication audit is clean');
SELECT is((SELECT string_agg(violation || ': ' || detail, '; ') FROM crimesnap.audit_published_points()), NULL,
  'every point the month is shown at serves at least k real addresses, its catchment area as drawn too');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime s JOIN crimesnap.published_crime c ON c.id = s.id
             JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id JOIN fitzrovia.crime_csv x ON x.id = r.crime_ref
            WHERE x.category <> s.category_name), 0::bigint,
  'every crime is published in police.uk''s own category for it');
SELECT is((SELECT count(*) FROM crimesnap_api.street_crime WHERE category = 'anti-social-behaviour' AND persistent_id IS NOT NULL), 0::bigint,
  'ASB carries no persistent id');
SELECT diag(format('published %s: %s at %s snap points, %s without a location; raw to published point: median %s m, max %s m; '
                   'the published point''s LSOA is the raw location''s for %s of %s',
                   p.crimes, p.mapped, (SELECT count(DISTINCT street_id) FROM crimesnap_api.street_crime), p.no_location,
                   (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ST_Distance(r.geom, s.geom))::numeric, 1)
                      FROM crimesnap_api.street_crime s JOIN crimesnap.published_crime c ON c.id = s.id JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id),
                   (SELECT round(max(ST_Distance(r.geom, s.geom))::numeric, 1)
                      FROM crimesnap_api.street_crime s JOIN crimesnap.published_crime c ON c.id = s.id JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id),
                   (SELECT count(*) FROM crimesnap_api.street_crime s JOIN crimesnap.published_crime c ON c.id = s.id
                      JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
                      JOIN crimesnap.lsoa l ON ST_Intersects(l.geom, r.geom) AND l.lsoa_code = s.lsoa_code),
                   p.mapped))
  FROM crimesnap.publication p;

-- ---- the CSV export parses back as a data.police.uk street CSV ----
\set export_csv `mktemp /tmp/crimesnap-fitzrovia-XXXXXX`
\o :export_csv
COPY (SELECT * FROM crimesnap_api.police_uk_csv('metropolitan', '2019-06')) TO STDOUT WITH (FORMAT csv, HEADER);
\o
-- One table for data.police.uk's street CSV: the sample file from data.police.uk (which adds
-- Street ID) and our export both load into it.
CREATE TEMP TABLE police_uk_street (
  "Crime ID" text CHECK ("Crime ID" ~ '^[0-9a-f]{64}$'), "Month" text NOT NULL CHECK ("Month" ~ '^[0-9]{4}-[0-9]{2}$'),
  "Reported by" text NOT NULL, "Falls within" text NOT NULL, "Longitude" double precision, "Latitude" double precision,
  "Location" text NOT NULL,
  "LSOA code" text CHECK ("LSOA code" ~ '^[EW]0[0-9]{7}$'), "LSOA name" text, "Crime type" text NOT NULL,
  "Last outcome category" text, "Context" text, "Street ID" text, source text);
\set parse_script `f=:'export_csv'; p=:'fitz_dir'/camden_2019-06_bbox_policeuk_format.csv; { printf '\\copy police_uk_street ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context") FROM %s WITH (FORMAT csv, HEADER)\n' "'$f'"; echo "UPDATE police_uk_street SET source = 'crimesnap';"; printf '\\copy police_uk_street ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context", "Street ID") FROM %s WITH (FORMAT csv, HEADER)\n' "'$p'"; echo "UPDATE police_uk_street SET source = coalesce(source, 'data.police.uk');"; } > "$f.sql"; echo "$f.sql"`
\i :parse_script
SELECT is((SELECT count(*) FROM police_uk_street WHERE source = 'crimesnap'),
          (SELECT crimes::bigint FROM crimesnap.publication), 'the export parses back, one row per published record');
SELECT is((SELECT count(*) FROM police_uk_street WHERE source = 'data.police.uk'), 607::bigint, 'as does data.police.uk''s file');
\set export_header `sed -n 1p :'export_csv'`
\set police_uk_header `sed -n 1p :'fitz_dir'/camden_2019-06_bbox_policeuk_format.csv`
SELECT is(:'export_header' || ',Street ID', :'police_uk_header'::text, 'the export''s header is data.police.uk''s, byte for byte (less the Street ID it adds)');
SELECT results_eq(
  $$SELECT "Crime type", count(*) FROM police_uk_street WHERE source = 'crimesnap' GROUP BY 1 ORDER BY 1$$,
  $$SELECT "Crime type", count(*) FROM police_uk_street WHERE source = 'data.police.uk'
     AND "Crime type" IS NOT NULL GROUP BY 1 ORDER BY 1$$,
  'the export has the same crimes by type as data.police.uk''s file');
SELECT is((SELECT count(*) FROM police_uk_street WHERE source = 'crimesnap' AND "Location" NOT LIKE 'On or near %' AND "Location" <> 'No Location'), 0::bigint,
  'every location of the export reads "On or near ..." or "No Location"');
SELECT is((SELECT count(*) FROM police_uk_street WHERE source = 'crimesnap' AND "Crime type" = 'Anti-social behaviour' AND "Crime ID" IS NOT NULL), 0::bigint,
  'ASB has an empty Crime ID, as on data.police.uk');
SELECT is((SELECT count(*) FROM police_uk_street WHERE source = 'crimesnap' AND "Crime type" <> 'Anti-social behaviour' AND "Crime ID" IS NULL), 0::bigint,
  'every crime has one');

-- ---- no output carries a raw coordinate or reference ----
CREATE TEMP TABLE raw_point AS
SELECT x.id AS ref, x.easting, x.northing, x.longitude::float8 AS lon, x.latitude::float8 AS lat,
       ST_SetSRID(ST_MakePoint(x.easting::float8, x.northing::float8), 27700) AS geom
  FROM fitzrovia.crime_csv x;
CREATE TEMP TABLE published_point AS
SELECT 'street_crime' AS source, longitude AS lon, latitude AS lat, geom FROM crimesnap_api.street_crime
UNION ALL SELECT 'snap_point_crimes', longitude, latitude, geom FROM crimesnap_api.snap_point_crimes
UNION ALL SELECT 'csv', "Longitude", "Latitude", NULL FROM police_uk_street WHERE source = 'crimesnap' AND "Longitude" IS NOT NULL
UNION ALL SELECT 'near', longitude, latitude, geom FROM crimesnap_api.street_crimes_near(51.5225, -0.1360)
UNION ALL SELECT 'area', longitude, latitude, geom
            FROM crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text('51.518,-0.152:51.528,-0.152:51.528,-0.120:51.518,-0.120'))
UNION ALL SELECT 'geojson', (f->'geometry'->'coordinates'->>0)::float8, (f->'geometry'->'coordinates'->>1)::float8, NULL
            FROM json_array_elements(crimesnap_api.geojson('metropolitan', '2019-06')->'features') f;
SELECT ok((SELECT count(DISTINCT source) FROM published_point) = 6 AND (SELECT count(*) FROM published_point WHERE source = 'csv') > 500,
  'every output with coordinates is checked');
SELECT is((SELECT count(*) FROM published_point p JOIN raw_point r ON abs(r.lon - p.lon) < 1e-6 AND abs(r.lat - p.lat) < 1e-6), 0::bigint,
  'no published longitude and latitude is a raw one');
SELECT is((SELECT count(*) FROM published_point p JOIN raw_point r ON p.geom IS NOT NULL AND ST_DWithin(r.geom, p.geom, 0.05)), 0::bigint,
  'no published point is a raw location');
SELECT is((SELECT count(*) FROM published_point p
            WHERE NOT EXISTS (SELECT FROM crimesnap.snap_point s WHERE abs(s.longitude - p.lon) < 1e-6 AND abs(s.latitude - p.lat) < 1e-6)), 0::bigint,
  'every published point is a snap point');
CREATE TEMP TABLE api_doc AS
SELECT 'street_crime' AS relation, to_jsonb(x)::text AS doc FROM crimesnap_api.street_crime x
UNION ALL SELECT 'no_location_crime', to_jsonb(x)::text FROM crimesnap_api.no_location_crime x
UNION ALL SELECT 'snap_point_crimes', to_jsonb(x)::text FROM crimesnap_api.snap_point_crimes x
UNION ALL SELECT 'month_totals', to_jsonb(x)::text FROM crimesnap_api.month_totals x
UNION ALL SELECT 'csv', to_jsonb(x)::text FROM police_uk_street x WHERE source = 'crimesnap'
UNION ALL SELECT 'geojson', crimesnap_api.geojson('metropolitan', '2019-06')::text;
SELECT is((SELECT count(*) FROM api_doc d JOIN raw_point r ON strpos(d.doc, r.easting) > 0 OR strpos(d.doc, r.northing) > 0), 0::bigint,
  'no output holds a raw easting or northing as uploaded');
SELECT is((SELECT count(*) FROM api_doc d JOIN raw_point r ON strpos(d.doc, '"' || r.ref || '"') > 0), 0::bigint,
  'nor a reference number');

\set cleanup `rm -f :'upload_csv' :'upload_csv'.sql :'export_csv' :'export_csv'.sql`
\else
SELECT plan(1);
SELECT skip(format('the Fitzrovia data is not in %s: set CRIMESNAP_FITZROVIA to the directory (for example ../shared/data/fitzrovia)', :'fitz_dir'), 1);
\endif

SELECT * FROM finish();
ROLLBACK;
