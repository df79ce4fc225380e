-- Bad rows never sink a batch; bad arguments get clear errors (issue 9, section 4).
-- Everything, the town included, runs in one transaction that is rolled back.
--
-- How these fail on the old code (tried): the batch died on the first bad row it met
-- ("22008: date field value out of range: 0-11-01"), so nothing loaded;
-- withdraw_force(month => 'infinity') withdrew; publish_month(month => 'infinity') raised
-- "cannot subtract infinite dates" with no hint; roll_off('infinity') rolled off every month;
-- parse_month('0000-01') raised "date/time field value out of range" with no hint; and a dense
-- build with segment_length 0.001 ran for 11 minutes before it was cancelled.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;
\ir ../fixtures/town_load.sql

SELECT plan(27);

SELECT crimesnap.build_snap_points() AS version \gset

-- The error a statement raises, as 'SQLSTATE: message | hint'.
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; h text;
BEGIN
  EXECUTE q;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
  RETURN st || ': ' || msg || ' | ' || coalesce(nullif(h, ''), '(no hint)');
END
$$;

-- ==== bad rows ====
-- What the month loads without them.
SAVEPOINT control;
SELECT pg_temp.load_month('northshire', '2026-09-01') AS control_loaded \gset
ROLLBACK TO SAVEPOINT control;

INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
SELECT u.force, u.crime_ref, u.offence_code, u.committed_on, u.easting, u.northing, u.neighbourhood, u.outcome, u.context
  FROM town.upload u WHERE u.force = 'northshire' AND u.month = '2026-09-01' ORDER BY u.crime_ref;
INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing) VALUES
  ('northshire', 'BAD/DATE', '49', '0000-11-05', '', ''),
  ('northshire', 'BAD/EASTING', '49', '2026-09-05', repeat('9', 400), '200500'),
  ('northshire', 'BAD/' || repeat('R', 1048576), '49', '2026-09-05', '', ''),
  ('northshire', 'BAD/MONTH13', '49', '2026-13-05', '', ''),
  ('northshire', 'BAD/DECIMALS', '49', '2026-09-05', '450500.' || repeat('5', 400), '200500');
SELECT lives_ok($$SELECT crimesnap.register_batch('northshire', '2026-09-01',
                    (SELECT count(*)::integer + 5 FROM town.upload u WHERE u.force = 'northshire' AND u.month = '2026-09-01'),
                    'Northshire Police', 'Data Team', 'data@police.example', 'With bad rows')$$,
                'a batch with a year-0000 date, a 400-digit easting and a 1 MB reference registers');
SELECT is((SELECT records_loaded FROM crimesnap.batch WHERE force_id = 'northshire'), :control_loaded,
          'the rest of the batch loads, exactly as without them');
SELECT is((SELECT array_agg(reason_code || ' ' || left(row_data->>'crime_ref', 12) ORDER BY upload_row)
             FROM crimesnap.reject WHERE row_data->>'crime_ref' LIKE 'BAD/%'),
          ARRAY['invalid_date BAD/DATE', 'impossible_coordinates BAD/EASTING', 'reference_too_long BAD/RRRRRRRR',
                'invalid_date BAD/MONTH13', 'impossible_coordinates BAD/DECIMALS'],
          'each becomes a reject with its reason');
SELECT is((SELECT reason FROM crimesnap.reject WHERE reason_code = 'reference_too_long'),
          'the reference number is longer than 100 characters (1048580 characters)',
          'the reason says how long the reference was, without quoting it');
SELECT ok((SELECT crime_ref IS NULL AND length(row_data->>'crime_ref') = 1048580 FROM crimesnap.reject WHERE reason_code = 'reference_too_long'),
          'the reject keeps the row whole in row_data, and no over-long reference in crime_ref');
SELECT ok((SELECT length(reason) < 300 FROM crimesnap.reject WHERE row_data->>'crime_ref' = 'BAD/EASTING'),
          'a reason quotes at most 100 characters of the value');
SELECT is((SELECT count(*) FROM crimesnap.reject_reason WHERE reason_code = 'reference_too_long'), 1::bigint,
          'reference_too_long is a reject reason, with its fix');

-- ==== bad arguments ====
SELECT is(pg_temp.error_of($$SELECT crimesnap.register_batch('northshire', 'infinity', 0, 'a', 'b', 'c', 'd')$$),
          '22008: month infinity is not a month | Give the first day of the month the records belong to, for example ''2026-09-01''.',
          'register_batch(month => ''infinity'') is refused, with a hint');
SELECT is(pg_temp.error_of($$SELECT crimesnap.register_batch('northshire', '-infinity', 0, 'a', 'b', 'c', 'd')$$),
          '22008: month -infinity is not a month | Give the first day of the month the records belong to, for example ''2026-09-01''.',
          'and so is -infinity');
SELECT matches(pg_temp.error_of($$SELECT crimesnap.withdraw_force('northshire', 'test', 'infinity')$$),
               '^22008: month infinity is not a month \| Give the first day of the month to withdraw',
               'withdraw_force(month => ''infinity'') is refused, with a hint');
SELECT is((SELECT count(*) FROM crimesnap.withdrawal), 0::bigint, 'and withdraws nothing');
SELECT matches(pg_temp.error_of($$SELECT * FROM crimesnap.publish_month('northshire', 'infinity')$$),
               '^22008: month infinity and reference_date .* must be dates \| Give the first day',
               'publish_month(month => ''infinity'') is refused, with a hint');
SELECT matches(pg_temp.error_of($$SELECT * FROM crimesnap.roll_off('infinity')$$),
               '^22008: reference_date infinity is not a date \| Leave it out',
               'roll_off(''infinity''), which would roll off every month, is refused, with a hint');
SELECT is(pg_temp.error_of($$SELECT crimesnap_api.parse_month('0000-01')$$),
          '22008: month "0000-01" is not a month: there is no year 0000 | Years start at 0001; police.uk''s data starts in 2010-12, for example ''2019-06''.',
          'parse_month(''0000-01'') gives a clear error, with a hint');
SELECT is(pg_temp.error_of($$SELECT crimesnap_api.parse_month('0001-01')$$), NULL, 'while 0001-01 is a month');
SELECT matches(pg_temp.error_of($$SELECT crimesnap_api.parse_month(repeat('x', 1048576))$$),
               '^22007: month "x{100}" is not in YYYY-MM form \| ', 'a 1 MB month is quoted by its first 100 characters');
SELECT matches(pg_temp.error_of(format($$SELECT crimesnap.build_snap_point_set('dense', NULL, 'midpoint', true, %s)$$, v)),
               '^22023: segment_length .* is not a length between 1 and 10000 metres \| Give the longest stretch',
               format('build_snap_point_set(segment_length => %s) is refused, with a hint', v))
  FROM unnest(ARRAY['1e300', '''NaN''', '''Infinity''', '''-Infinity''', '0.001', '0', '-25', 'NULL']) v;
SELECT is(crimesnap.current_snap_version(), :version, 'and no set was made current');
SELECT matches(pg_temp.error_of($$SELECT crimesnap.build_snap_point_set('street', 1000000, 'midpoint', true, NULL)$$),
               '^P0002: snap point set [0-9]+ has no points, so it is not made current \| Nothing was stored',
               'a build that would make an empty set current is refused, with a hint');
SELECT is(crimesnap.current_snap_version(), :version, 'and the current set stays');

SELECT * FROM finish();
ROLLBACK;
