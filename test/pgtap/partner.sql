-- Partner extracts (CSP guidance, sections 3.2.1 and 3.4) and grid counts (ICO guidance,
-- paragraph 35) on the demo town.
--
-- A force uploads a month with the optional section 3.2.1 fields; its data controller makes
-- extracts for two partners; the extract round-trips to CSV with its metadata; each partner's
-- role sees its own extracts and nothing else; grid blocks, internal and public, never hold
-- fewer than crimesnap.min_addresses addresses.
--
-- How the checks fail on broken data: replacing "z.s >= k" in crimesnap.grid_blocks() by
-- "true" fails the five block checks (tried while writing this test); granting csp_north to
-- csp_south fails the two checks of what csp_south sees; keying partner references with one
-- key for every partner fails "another partner gets other references".
\set ON_ERROR_STOP 1
BEGIN;
SET client_min_messages = warning;
\ir ../fixtures/town.sql
\ir ../fixtures/town_postcode.sql
SET client_min_messages = warning;
SELECT plan(45);

-- ---- the upload, with the optional fields ----
CREATE TEMP TABLE up AS
SELECT u.*, row_number() OVER (ORDER BY u.crime_ref) AS n,
       (SELECT a FROM crimesnap.address a WHERE u.easting ~ '^[0-9.]+$' AND u.northing ~ '^[0-9.]+$'
         ORDER BY a.geom <-> ST_SetSRID(ST_MakePoint(u.easting::float8, u.northing::float8), 27700), a.address_id LIMIT 1) AS a
  FROM town.upload u WHERE u.force = 'northshire' AND u.month = '2026-09-01';
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context,
                                    committed_to, committed_from_time, committed_to_time, address, postcode,
                                    method_of_entry, property_stolen, weapon, distraction_burglary, drugs_related,
                                    alcohol_related, racially_motivated, domestic)
SELECT u.force, u.crime_ref, u.offence_code,
       CASE WHEN u.n % 7 = 0 THEN u.committed_on || ' 22:15' ELSE u.committed_on END,
       u.easting, u.northing, u.neighbourhood, u.outcome, u.context,
       CASE WHEN u.n % 3 = 0 THEN u.committed_on WHEN u.n % 11 = 0 THEN '31/09/2026' END,
       CASE WHEN u.n % 3 = 0 THEN '18:30' END,
       CASE WHEN u.n % 3 = 0 THEN '23:05' END,
       CASE WHEN (u.a).street_name IS NOT NULL THEN
         pg_catalog.format('%s%s %s, Townham%s',
                           CASE WHEN u.n % 4 = 0 THEN pg_catalog.format('Flat %s, ', 1 + u.n % 6) ELSE '' END,
                           1 + u.n % 97, (u.a).street_name, ', ' || (u.a).postcode) END,
       CASE WHEN u.n % 5 = 0 THEN (u.a).postcode END,
       CASE WHEN u.offence_code LIKE '28%' THEN 'Rear window forced' END,
       CASE WHEN u.n % 13 = 0 THEN 'Phone; owner can be reached on 07700 900123'
            WHEN u.n % 2 = 0 THEN 'Laptop and bank cards' END,
       CASE WHEN u.offence_code IN ('8N', '105A') THEN 'Fist' END,
       CASE WHEN u.offence_code LIKE '28%' THEN 'N' END,
       CASE WHEN u.n % 9 = 0 THEN 'Y' WHEN u.n % 10 = 0 THEN 'maybe' END,
       CASE WHEN u.n % 8 = 0 THEN 'yes' END,
       NULL,
       CASE WHEN u.n % 6 = 0 THEN 'true' ELSE 'false' END
  FROM up u ORDER BY u.crime_ref;
SELECT lives_ok($$SELECT crimesnap.register_batch('northshire', '2026-09-01', (SELECT count(*)::integer FROM up),
                    'Northshire Police', 'Data Team', 'data@police.example', 'Crimes September 2026')$$,
                'a month with the optional section 3.2.1 fields registers unchanged');
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
SELECT u.force, u.crime_ref, u.offence_code, u.committed_on, u.easting, u.northing, u.neighbourhood, u.outcome, u.context
  FROM town.upload u WHERE u.force = 'southshire' AND u.month = '2026-09-01';
SELECT lives_ok($$SELECT crimesnap.register_batch('southshire', '2026-09-01', (SELECT count(*)::integer FROM town.upload WHERE force = 'southshire' AND month = '2026-09-01'),
                    'Southshire Constabulary', 'Data Team', 'data@police.example', 'Crimes September 2026')$$,
                'a month without them registers as before');
SELECT is((SELECT count(*) FROM crimesnap.raw_crime_detail d JOIN crimesnap.raw_crime r USING (crime_id) WHERE r.force_id = 'northshire'),
          (SELECT count(*) FROM crimesnap.raw_crime r WHERE r.force_id = 'northshire'),
          'every loaded northshire record has its details filed');
SELECT is((SELECT count(*) FROM crimesnap.upload_detail_stage), 0::bigint, 'the stage is empty once the batches are filed');
SELECT is((SELECT count(*) FROM crimesnap.raw_crime_detail WHERE property_stolen ~ '07700'), 0::bigint,
          'free text with a phone number is not kept');
SELECT is((SELECT count(*) FROM crimesnap.raw_crime_detail WHERE 'property_stolen: phone number' = ANY (withheld)),
          (SELECT count(*) FROM crimesnap.raw_crime r JOIN up u ON u.crime_ref = r.crime_ref WHERE u.n % 13 = 0 AND r.force_id = 'northshire'),
          'and says why');
SELECT is((SELECT count(*) FROM crimesnap.raw_crime_detail d WHERE d.committed_from_time = '22:15'),
          (SELECT count(*) FROM crimesnap.raw_crime r JOIN up u ON u.crime_ref = r.crime_ref WHERE u.n % 7 = 0 AND u.n % 3 <> 0),
          'a time after committed_on''s date is the committed from time');
SELECT ok((SELECT bool_and('drugs_related: not a yes or no' = ANY (d.withheld) AND d.drugs_related IS NULL)
             FROM crimesnap.raw_crime_detail d JOIN crimesnap.raw_crime r USING (crime_id) JOIN up u ON u.crime_ref = r.crime_ref
            WHERE u.n % 10 = 0 AND u.n % 9 <> 0), 'a marker that is not a yes or no is left out, with its reason');

-- ---- partners, their roles and agreements ----
CREATE ROLE csp_pub NOLOGIN IN ROLE crimesnap_publisher;
SELECT crimesnap.grant_force('csp_pub', f) FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
CREATE ROLE csp_north NOLOGIN IN ROLE crimesnap_partner;
CREATE ROLE csp_south NOLOGIN IN ROLE crimesnap_partner;
CREATE ROLE csp_north_analyst NOLOGIN IN ROLE csp_north;
INSERT INTO crimesnap.partner (partner_id, name, contact, member_role) VALUES
  ('northshire-csp', 'Northshire Community Safety Partnership', 'analyst@northshire-csp.example', 'csp_north'),
  ('southshire-csp', 'Southshire Community Safety Partnership', 'analyst@southshire-csp.example', 'csp_south');
INSERT INTO crimesnap.partner_agreement (partner_id, force_id, dsa_reference, supplier_name, supplier_contact, caveats) VALUES
  ('northshire-csp', 'northshire', 'NS-ISP-2026-04', 'J. Smith, Designated Liaison Officer', 'dlo@northshire.police.example',
   'Method of entry is recorded for burglaries only.'),
  ('southshire-csp', 'southshire', 'SS-ISP-2026-01', 'A. Jones', 'dlo@southshire.police.example', NULL),
  ('southshire-csp', 'northshire', 'NS-ISP-2026-07', 'J. Smith, Designated Liaison Officer', 'dlo@northshire.police.example', NULL);

SET ROLE csp_pub;
CREATE TEMP TABLE ex1 AS SELECT * FROM crimesnap.partner_extract('northshire', '2026-09-01', '2026-09-30', 'northshire-csp');
CREATE TEMP TABLE ex2 AS SELECT * FROM crimesnap.partner_extract('northshire', '2026-09-01', '2026-09-30', 'southshire-csp');
CREATE TEMP TABLE ex3 AS SELECT * FROM crimesnap.partner_extract('northshire', '2026-09-10', '2026-09-20', 'northshire-csp');
CREATE TEMP TABLE ex4 AS SELECT * FROM crimesnap.partner_extract('southshire', '2026-09-01', '2026-09-30', 'southshire-csp');
SELECT throws_ok($$SELECT * FROM crimesnap.partner_extract('southshire', '2026-09-01', '2026-09-30', 'northshire-csp')$$,
                 '42501', NULL, 'no extract for a partner without an agreement with the force');
RESET ROLE;

SELECT is((SELECT count(*) FROM ex1),
          (SELECT count(*) FROM crimesnap.raw_crime WHERE force_id = 'northshire' AND superseded_by_batch IS NULL
              AND offence_code <> 'ASB' AND committed_on BETWEEN '2026-09-01' AND '2026-09-30'),
          'the extract holds every recorded crime of the period, and no ASB');
SELECT is((SELECT records FROM crimesnap.partner_extract_log WHERE extract_id = (SELECT min(extract_id) FROM ex1)),
          (SELECT count(*)::integer FROM ex1), 'the log counts its records');
SELECT ok((SELECT bool_and(l.supplying_agency = 'Northshire Police' AND l.supplier_name LIKE 'J. Smith%' AND l.dsa_reference = 'NS-ISP-2026-04'
                           AND l.requested_by = session_user AND l.period_start = '2026-09-01' AND l.period_end = '2026-09-30'
                           AND jsonb_array_length(l.datafields) = 20 AND l.caveats LIKE '%at least 4 households%'
                           AND l.caveats LIKE '%Method of entry is recorded for burglaries only.%'
                           AND l.caveats LIKE '%values were left out%')
             FROM crimesnap.partner_extract_log l WHERE l.extract_id = (SELECT min(extract_id) FROM ex1)),
          'the log holds the section 3.4 metadata: agency, supplier, agreement, period, fields, caveats');
SELECT is((SELECT count(*) FROM ex1 e JOIN crimesnap.raw_crime r
             ON e.partner_ref IN (r.crime_ref, r.persistent_id) OR e.address LIKE '%' || r.crime_ref || '%'), 0::bigint,
          'no reference number or persistent id in the extract');
SELECT ok((SELECT bool_and(partner_ref ~ '^[0-9a-f]{64}$') FROM ex1), 'partner references are 64 hex characters');
SELECT is((SELECT count(*) FROM ex1 a JOIN ex3 b ON a.partner_ref = b.partner_ref), (SELECT count(*) FROM ex3),
          'one partner gets the same reference for an offence in every extract, so its files link');
SELECT is((SELECT count(*) FROM ex1 a JOIN ex2 b ON a.partner_ref = b.partner_ref), 0::bigint,
          'another partner gets other references for the same offences');
SELECT is((SELECT count(*) FROM ex1 e WHERE e.easting IS NOT NULL AND NOT EXISTS (
             SELECT FROM crimesnap.postcode_households h WHERE h.households >= 4 AND h.postcode = e.postcode
                AND ST_X(h.geom) = e.easting AND ST_Y(h.geom) = e.northing)
             AND NOT EXISTS (SELECT FROM crimesnap.public_place p WHERE e.postcode IS NULL
                AND ST_X(p.geom) = e.easting AND ST_Y(p.geom) = e.northing)), 0::bigint,
          'every easting and northing is a postcode centroid with at least 4 households, or a public place');
SELECT is((SELECT count(*) FROM ex1 e WHERE e.address ~ '(^|[\s,])[0-9]+[a-z]?(\s|,|$)' OR e.address ~* '\mflat\M'), 0::bigint,
          'no house or flat number in any address');
SELECT is((SELECT count(*) FROM ex1 e WHERE e.address IS NOT NULL
             AND crimesnap.address_postcode(e.address) IS DISTINCT FROM e.postcode), 0::bigint,
          'an address carries exactly the postcode the record was moved to, or none');
SELECT cmp_ok((SELECT count(*) FROM ex1 WHERE address IS NOT NULL AND committed_to_time = '23:05' AND method_of_entry IS NOT NULL), '>', 0::bigint,
              'the optional fields reach the extract');

-- ---- CSV round trip, as the partner ----
SELECT min(extract_id) AS ex1_id, count(*) AS ex1_n FROM ex1 \gset
SELECT count(*) AS ex3_n FROM ex3 \gset
SET ROLE csp_north_analyst;
CREATE TEMP TABLE back (LIKE crimesnap.my_partner_extract_row);
CREATE TEMP TABLE back_meta (field text, value text);
-- psql does not expand variables in \copy, so the partner's commands go through a script.
\set copy_script `f=$(mktemp /tmp/crimesnap-partner-XXXXXX); echo "$f"`
\set copy_cmds `f=:'copy_script'; id=:ex1_id; printf '%s\n' "\\copy (SELECT * FROM crimesnap.my_partner_extract_row WHERE extract_id = $id ORDER BY row_no) TO '$f.csv' WITH (FORMAT csv, HEADER)" "\\copy (SELECT m.field, m.value FROM crimesnap.my_partner_extract x, LATERAL jsonb_each_text(to_jsonb(x)) m(field, value) WHERE x.extract_id = $id) TO '$f.meta.csv' WITH (FORMAT csv, HEADER)" "\\copy back FROM '$f.csv' WITH (FORMAT csv, HEADER)" "\\copy back_meta FROM '$f.meta.csv' WITH (FORMAT csv, HEADER)" > "$f.sql"; echo "$f.sql"`
\i :copy_cmds
\! rm -f /tmp/crimesnap-partner-*
SELECT is((SELECT count(*) FROM (SELECT * FROM back EXCEPT SELECT * FROM crimesnap.my_partner_extract_row WHERE extract_id = :ex1_id
                                UNION ALL
                                SELECT * FROM crimesnap.my_partner_extract_row WHERE extract_id = :ex1_id EXCEPT SELECT * FROM back) d),
          0::bigint, 'the extract round-trips through CSV unchanged');
SELECT is((SELECT value::bigint FROM back_meta WHERE field = 'records'), (SELECT count(*) FROM back),
          'its metadata, read back from CSV, counts the rows of the CSV');
SELECT is((SELECT count(*) FROM back_meta WHERE field IN ('supplying_agency', 'supplier_name', 'supplier_contact', 'dataset_name',
                                                          'period_start', 'period_end', 'file_format', 'records', 'date_supplied',
                                                          'datafields', 'caveats', 'dsa_reference', 'requested_by', 'requested_at')
             AND value <> ''), 14::bigint, 'and holds every section 3.4 item');

-- ---- what each partner's role sees ----
SELECT is((SELECT array_agg(DISTINCT partner_id) FROM crimesnap.my_partner_extract), ARRAY['northshire-csp'],
          'a partner''s role sees its own extracts only');
SELECT is((SELECT count(*) FROM crimesnap.my_partner_extract_row), :ex1_n::bigint + :ex3_n::bigint,
          'and their rows, no others');
SELECT throws_ok('SELECT * FROM crimesnap.partner_extract_row', '42501', NULL, 'the extract table itself is closed to it');
SELECT throws_ok('SELECT * FROM crimesnap.raw_crime', '42501', NULL, 'raw records are closed to it');
SELECT throws_ok('SELECT * FROM crimesnap.postcode', '42501', NULL, 'postcodes are closed to it');
SELECT throws_ok($$SELECT * FROM crimesnap.partner_extract('northshire', '2026-09-01', '2026-09-30', 'northshire-csp')$$, '42501', NULL,
                 'it cannot make extracts');
RESET ROLE;
SET ROLE csp_south;
SELECT is((SELECT array_agg(DISTINCT partner_id || ' from ' || force_id) FROM crimesnap.my_partner_extract),
          ARRAY['southshire-csp from northshire', 'southshire-csp from southshire'],
          'a partner with agreements with two forces sees its own extracts of both, and no other partner''s');
RESET ROLE;
DELETE FROM crimesnap.partner_agreement WHERE partner_id = 'southshire-csp' AND force_id = 'northshire';
SET ROLE csp_south;
SELECT is((SELECT array_agg(DISTINCT force_id) FROM crimesnap.my_partner_extract), ARRAY['southshire'],
          'when an agreement ends, the partner no longer sees that force''s extracts');
RESET ROLE;

-- ---- grid blocks ----
SELECT crimesnap.setting('min_addresses')::int AS k \gset
CREATE TEMP TABLE blk AS SELECT * FROM crimesnap.grid_counts('northshire', '2026-09-01');
-- An address counts in the block whose region holds the centre of its 250 m cell.
CREATE FUNCTION pg_temp.addr_in(region geometry, s integer) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM crimesnap.address a
   WHERE ST_Intersects(region, ST_SetSRID(ST_MakePoint((floor(ST_X(a.geom) / s) + 0.5) * s, (floor(ST_Y(a.geom) / s) + 0.5) * s), 27700))
$$;
SELECT is((SELECT count(*) FROM blk WHERE block <> 'withheld' AND pg_temp.addr_in(geom, 250) < :k), 0::bigint,
          'no partner grid block holds fewer than crimesnap.min_addresses addresses (recounted)');
SELECT is((SELECT sum(crimes) FROM blk)::bigint,
          (SELECT count(*) FROM crimesnap.raw_crime r WHERE r.force_id = 'northshire' AND r.month = '2026-09-01'
              AND r.superseded_by_batch IS NULL AND r.geom IS NOT NULL),
          'blocks and the withheld row count every located record once');
SELECT is((SELECT count(*) FROM blk a JOIN blk b ON a.block < b.block AND ST_Area(ST_Intersection(a.geom, b.geom)) > 0::float8),
          0::bigint, 'no two blocks overlap');

SELECT lives_ok($$SELECT crimesnap.build_snap_points()$$, 'snap points build');
SELECT lives_ok($$SELECT * FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23')$$, 'the month is published');
SET ROLE crimesnap_web;
CREATE TEMP TABLE pub AS SELECT * FROM crimesnap_api.grid_counts('northshire', '2026-09');
CREATE TEMP TABLE pub100 AS SELECT * FROM crimesnap_api.grid_counts('northshire', '2026-09', 100);
RESET ROLE;
CREATE TEMP TABLE blk100 AS SELECT * FROM crimesnap.grid_counts('northshire', '2026-09-01', 100);
SELECT diag(format('public grid: %s blocks (%s merged), %s crimes in blocks of the %s on the map; partner grid: %s blocks, %s withheld',
                   (SELECT count(*) FROM pub), (SELECT count(*) FROM pub WHERE block_size_m > 250), (SELECT sum(crimes) FROM pub),
                   (SELECT count(*) FROM crimesnap.published_street_crime WHERE force = 'northshire'),
                   (SELECT count(*) FROM blk WHERE block <> 'withheld'), coalesce((SELECT crimes FROM blk WHERE block = 'withheld'), 0)));
SELECT is((SELECT count(*) FROM pub WHERE pg_temp.addr_in(geom, 250) < :k OR addresses < :k), 0::bigint,
          'no public grid block holds fewer than crimesnap.min_addresses addresses');
SELECT is((SELECT count(*) FROM pub p WHERE p.crimes <> (
             SELECT count(*) FROM crimesnap.published_street_crime c
              WHERE c.force = 'northshire' AND c.month = '2026-09'
                AND ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint((floor(ST_X(c.geom) / 250) + 0.5) * 250,
                                                                  (floor(ST_Y(c.geom) / 250) + 0.5) * 250), 27700)))),
          0::bigint, 'the public form counts each crime in the block of its published snap point');

-- 100 m cells: many hold fewer than k addresses, so blocks merge.
SELECT cmp_ok((SELECT count(*) FROM pub100 WHERE block_size_m > 100), '>', 0::bigint, '100 m public cells merge into larger blocks');
SELECT is((SELECT count(*) FROM pub100 WHERE pg_temp.addr_in(geom, 100) < :k OR addresses < :k), 0::bigint,
          'still no public block with fewer than crimesnap.min_addresses addresses');
SELECT is((SELECT count(*) FROM pub100 a JOIN pub100 b ON a.block < b.block AND ST_Area(ST_Intersection(a.geom, b.geom)) > 0::float8),
          0::bigint, 'and no two overlap');
SELECT is((SELECT count(*) FROM blk100 WHERE block <> 'withheld' AND pg_temp.addr_in(geom, 100) < :k), 0::bigint,
          'no partner block of 100 m cells with fewer than crimesnap.min_addresses addresses');
SELECT is((SELECT sum(crimes) FROM blk100)::bigint, (SELECT sum(crimes) FROM blk)::bigint,
          'merging loses no record: blocks and withheld add up to the same total');
SELECT diag(format('100 m cells: public %s blocks (%s merged, largest %s m), partner %s blocks, %s withheld',
                   (SELECT count(*) FROM pub100), (SELECT count(*) FROM pub100 WHERE block_size_m > 100),
                   (SELECT max(block_size_m) FROM pub100), (SELECT count(*) FROM blk100 WHERE block <> 'withheld'),
                   coalesce((SELECT crimes FROM blk100 WHERE block = 'withheld'), 0)));
SET crimesnap.min_addresses = 100000;
SELECT is((SELECT count(*) FROM crimesnap_api.grid_counts('northshire', '2026-09')), 0::bigint,
          'when no block can hold enough addresses, nothing is published');
RESET crimesnap.min_addresses;
SELECT throws_ok($$SELECT * FROM crimesnap_api.grid_counts('northshire', '2026-09', 10)$$, '22023', NULL,
                 'a cell size below 50 m is refused');

SELECT * FROM finish();
ROLLBACK;
