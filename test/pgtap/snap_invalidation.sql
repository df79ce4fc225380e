-- The snap index follows its tables through DDL in the same session: DROP EXTENSION and
-- CREATE EXTENSION (new tables, new OIDs), TRUNCATE, ALTER TABLE.  Data changes, in the
-- same transaction and from another session, are in test/sql/snap.sql and
-- test/specs/snap_invalidation.spec.  Everything, the DDL included, is rolled back.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

BEGIN;
SELECT plan(10);

CREATE FUNCTION pg_temp.load(point_id bigint, x float8) RETURNS void LANGUAGE sql AS $$
  INSERT INTO crimesnap.force VALUES ('ddlshire', 'DDL Police');
  INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom)
  VALUES ('D', 'ddlshire', 'D', ST_MakeEnvelope(500000, 300000, 501000, 301000, 27700));
  INSERT INTO crimesnap.snap_point_set (mode, min_addresses, rule, is_current)
  VALUES ('street', 12, 'midpoint', true);
  INSERT INTO crimesnap.snap_point (version, point_id, neighbourhood_id, kind, label, address_count,
                                    longitude, latitude, geom)
  SELECT s.version, point_id, 'D', 'street', 'A Street', 12, 0, 0, ST_SetSRID(ST_MakePoint(x, 300500), 27700)
    FROM crimesnap.snap_point_set s WHERE s.is_current;
$$;
CREATE FUNCTION pg_temp.q() RETURNS geometry LANGUAGE sql AS
  $$ SELECT 'SRID=27700;POINT(500500 300500)'::geometry $$;

SELECT pg_temp.load(1, 500100);
SELECT is(crimesnap.snap(pg_temp.q()), 1::bigint, 'snaps to the only point');
SELECT ok((SELECT built FROM crimesnap.snap_index_stats()), 'the index is built and kept');
SELECT builds AS builds_before, invalidations AS inval_before FROM crimesnap.snap_index_stats() \gset

-- DROP EXTENSION and CREATE EXTENSION in this session: new tables with new OIDs, other data.
SET LOCAL crimesnap.allow_drop_with_data = on;   -- the tables hold data (docs/backups.md)
DROP EXTENSION crimesnap CASCADE;
CREATE EXTENSION crimesnap;
SELECT pg_temp.load(2, 500900);
SELECT is(crimesnap.snap(pg_temp.q()), 2::bigint,
          'after DROP and CREATE EXTENSION the next call uses the new tables, not the old index');
SELECT cmp_ok((SELECT builds FROM crimesnap.snap_index_stats()), '>', :builds_before::bigint,
              'the index was rebuilt');
SELECT cmp_ok((SELECT invalidations FROM crimesnap.snap_index_stats()), '>', :inval_before::bigint,
              'the relcache callback saw the dropped tables');

-- DDL on the tables: the relcache callback marks the index invalid.
ALTER TABLE crimesnap.snap_point ADD COLUMN note text;
SELECT ok(NOT (SELECT built FROM crimesnap.snap_index_stats()), 'ALTER TABLE drops the index');
SELECT is(crimesnap.snap(pg_temp.q()), 2::bigint, 'and the next call rebuilds it');
TRUNCATE crimesnap.snap_point CASCADE;
SELECT is(crimesnap.snap(pg_temp.q()), NULL::bigint, 'after TRUNCATE there is no point to snap to');

-- A privilege the caller lacks is not bypassed by an index another role built.
CREATE ROLE crimesnap_test_nobody NOLOGIN;
GRANT USAGE ON SCHEMA crimesnap TO crimesnap_test_nobody;
GRANT EXECUTE ON FUNCTION crimesnap.snap(geometry, text) TO crimesnap_test_nobody;
-- it may read the generation, so only the check on crimesnap.snap_point can stop it
GRANT SELECT ON crimesnap.snap_index_generation TO crimesnap_test_nobody;
SET LOCAL ROLE crimesnap_test_nobody;
SELECT throws_ok($$SELECT crimesnap.snap('SRID=27700;POINT(500500 300500)'::geometry)$$,
                 '42501', NULL, 'a role that cannot read the snap points cannot snap with the cached index');
RESET ROLE;

-- The invalidation trigger runs as the extension owner: an administrator, who cannot touch
-- the generation table itself, can still change neighbourhoods.
SET LOCAL ROLE crimesnap_admin;
SELECT lives_ok($$INSERT INTO crimesnap.neighbourhood (neighbourhood_id, force_id, name, geom)
                  VALUES ('E', 'ddlshire', 'E', ST_MakeEnvelope(501000, 300000, 502000, 301000, 27700))$$,
                'an administrator changes neighbourhoods; the trigger bumps the generation as the owner');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
