-- No function can be made to run someone else's code (issue 9, section 2).
--
-- crimesnap's SQL and PL/pgSQL functions resolve names at run time through the search_path
-- they pin: pg_catalog, then PostGIS's schema, then pg_temp.  A database owner who is not a
-- superuser can create objects in PostGIS's schema (public, in a default install): an
-- overload there that matches a call's argument types better than the real function would
-- run with the rights of whoever calls, a SECURITY DEFINER function's owner included.
--
-- This test, as such a database owner, creates an impostor in PostGIS's schema for every
-- overload of every PostGIS and pg_catalog function and operator whose name appears in a
-- crimesnap function body (found in the catalogue, so functions other helpers add are
-- covered), with each argument in turn replaced by numeric, integer, text, anyelement and
-- the other types crimesnap works with.  Each impostor records that it ran.  Then it runs the
-- whole pipeline and the API as every role, and shows that none ran.
--
-- How it fails: the control below is a function written the old way, with
-- ST_DWithin(geom, geom, 1609.344), and the test checks that an impostor catches it.  Put
-- such a call back into crimesnap (for example in crimesnap_api.street_crimes_near) and
-- "no impostor ran" fails, naming the impostor.
\set QUIET 1
SET client_min_messages = warning;
BEGIN;
\ir ../fixtures/town.sql
SET client_min_messages = warning;
\ir ../fixtures/town_load.sql

SELECT plan(17);
-- A capture can make a step loop over impostors for long: give up rather than hang.
SET LOCAL statement_timeout = '1800s';

-- ==== the roles ====
CREATE ROLE cs_i_owner NOLOGIN;                 -- will own the database, not a superuser
CREATE ROLE cs_i_admin NOLOGIN IN ROLE crimesnap_admin;
CREATE ROLE cs_i_dba NOLOGIN IN ROLE crimesnap_loader, crimesnap_publisher;
CREATE ROLE cs_i_analyst NOLOGIN IN ROLE crimesnap_analyst;
CREATE ROLE cs_i_web NOLOGIN IN ROLE crimesnap_web;
SELECT crimesnap.grant_force('cs_i_dba', f) FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
SELECT current_database() AS db \gset
ALTER DATABASE :"db" OWNER TO cs_i_owner;
SELECT n.nspname AS gis FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis' \gset
SELECT ok(has_schema_privilege('cs_i_owner', :'gis', 'CREATE') AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'cs_i_owner'),
          'the database owner is no superuser, and may create objects in PostGIS''s schema');

-- ==== the review's repro ====
-- A published month, so that street_crimes_near() has rows to test.
SELECT crimesnap.build_snap_points() \g /dev/null
SELECT pg_temp.load_month(f, '2026-09-01') FROM unnest(ARRAY['northshire', 'southshire']) f \g /dev/null
SELECT count(*) FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23') \g /dev/null
INSERT INTO crimesnap.partner (partner_id, name, contact, member_role) VALUES ('cs-i-csp', 'A partnership', 'x', 'cs_i_analyst');
INSERT INTO crimesnap.partner_agreement (partner_id, force_id, dsa_reference, supplier_name, supplier_contact)
VALUES ('cs-i-csp', 'northshire', 'DSA-1', 'x', 'x');
SELECT latitude AS lat, longitude AS lng,
       format('%s,%s:%s,%s:%s,%s', latitude - 0.05, longitude - 0.05, latitude + 0.05, longitude - 0.05, latitude, longitude + 0.05) AS poly,
       floor((longitude + 180) / 360 * 16384)::integer AS tile_x,
       floor((1 - ln(tan(radians(latitude)) + 1 / cos(radians(latitude))) / pi()) / 2 * 16384)::integer AS tile_y
  FROM crimesnap_api.street_crime LIMIT 1 \gset
-- The owner's st_dwithin(geometry, geometry, numeric) makes its caller superuser.
SET LOCAL ROLE cs_i_owner;
CREATE FUNCTION public.st_dwithin(geometry, geometry, numeric) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  ALTER ROLE cs_i_owner SUPERUSER;
  RETURN true;
END
$$;
RESET ROLE;
SET LOCAL ROLE cs_i_web;
SELECT ok((SELECT count(*) FROM crimesnap_api.street_crimes_near(:lat, :lng)) > 0,
          'the web role finds crimes near a published point');
RESET ROLE;
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'cs_i_owner'),
          'the review''s repro no longer works: street_crimes_near() never runs the owner''s st_dwithin(geometry, geometry, numeric)');
DROP FUNCTION public.st_dwithin(geometry, geometry, numeric);

-- ==== every impostor ====
CREATE SCHEMA cs_i;
GRANT USAGE ON SCHEMA cs_i TO PUBLIC;
-- Names crimesnap's SQL and PL/pgSQL bodies call, and operators they use.
CREATE TABLE cs_i.called AS
SELECT DISTINCT lower(m[1]) AS name
  FROM pg_proc p, regexp_matches(p.prosrc, '([A-Za-z_][A-Za-z0-9_]*)\s*\(', 'g') m
 WHERE p.pronamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
   AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql'));
CREATE TABLE cs_i.called_op AS
SELECT DISTINCT m[1] AS name
  FROM pg_proc p, regexp_matches(regexp_replace(p.prosrc, '--[^\n]*', '', 'g'), '([-+*/<>=~!@#%^&|`?]+)', 'g') m
 WHERE p.pronamespace IN ('crimesnap'::regnamespace, 'crimesnap_api'::regnamespace)
   AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql'));
-- The types an impostor argument may take: the four the review names, and the types whose
-- overloads caught calls before they were fixed (count(bigint), array_agg(geometry),
-- geometry[] || geometry, jsonb ->> jsonb, float8 > integer, a date where a timestamp is
-- expected).  More types make the test slower, not stronger: a capture needs a better match
-- than the real function, and these are the types crimesnap's calls pass.
CREATE TABLE cs_i.variant (t regtype);
INSERT INTO cs_i.variant VALUES ('numeric'), ('integer'), ('text'), ('anyelement'), ('bigint'), ('double precision'),
  ('boolean'), ('date'), ('jsonb'), ('geometry'), ('geometry[]');
GRANT SELECT ON ALL TABLES IN SCHEMA cs_i TO PUBLIC;

-- The impostors are created in a savepoint and rolled back with it: dropping thousands of
-- objects would need more locks than a transaction may hold.  While they exist pgTAP is not
-- called (its functions pin no search_path, and the impostors catch some of their calls):
-- results go to psql variables, and pgTAP reports them after the rollback.
SAVEPOINT impostors;
SET LOCAL ROLE cs_i_owner;
CREATE TABLE public.cs_impostor_ran (impostor text, stack text);
GRANT INSERT ON public.cs_impostor_ran TO PUBLIC;
CREATE TABLE public.cs_impostor_made (impostor text, kind text);
-- Everything below that runs while impostors exist is schema-qualified: they catch the
-- test's own unqualified calls just as well.  Each impostor records its call stack, so that
-- calls from pgTAP's own (unpinned) functions are told apart from calls from crimesnap.
CREATE FUNCTION public.cs_impostor_record(what text) RETURNS void LANGUAGE plpgsql AS $rec$
DECLARE
  stack text;
BEGIN
  GET DIAGNOSTICS stack = PG_CONTEXT;
  INSERT INTO public.cs_impostor_ran VALUES (what, stack);
END
$rec$;
DO $make$
DECLARE
  gis oid := (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'postgis');
  f record;
  v text;
  args text[];
  sig text;
  ret text;
  body text;
  n integer := 0;
  pseudo text[] := ARRAY['internal', '"any"', 'cstring', 'anyarray', 'anynonarray', 'anycompatible', 'anycompatiblearray',
                         'anyrange', 'anymultirange', 'anyenum', 'anycompatiblenonarray', 'anycompatiblerange', 'record', 'trigger'];
BEGIN
  -- functions and aggregates: every overload, and every shorter form its defaults allow
  FOR f IN
    SELECT p.proname, p.prokind, p.proretset, p.prorettype::regtype::text AS rettype,
           (SELECT pg_catalog.array_agg(t::regtype::text ORDER BY o) FROM pg_catalog.unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, o)
             WHERE o OPERATOR(pg_catalog.<=) k) AS types
      FROM pg_catalog.pg_proc p
      JOIN cs_i.called c ON c.name OPERATOR(pg_catalog.=) p.proname
      CROSS JOIN LATERAL pg_catalog.generate_series((p.pronargs - p.pronargdefaults)::integer, p.pronargs::integer) k
     WHERE p.pronamespace IN ('pg_catalog'::regnamespace, gis) AND p.prokind IN ('f', 'a')
       AND k OPERATOR(pg_catalog.>=) 1 AND p.pronargs OPERATOR(pg_catalog.<=) 6
  LOOP
    FOR i IN 1..pg_catalog.cardinality(f.types) LOOP
      FOR v IN SELECT x.t::text FROM cs_i.variant x LOOP
        args := f.types;
        args[i] := v;
        CONTINUE WHEN args OPERATOR(pg_catalog.=) f.types;
        -- other positions must be real types; the one replaced may be anything
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.unnest(args) WITH ORDINALITY a(t, o)
                               WHERE a.t OPERATOR(pg_catalog.=) ANY (pseudo) AND a.o OPERATOR(pg_catalog.<>) i);
        sig := pg_catalog.array_to_string(args, ', ');
        CONTINUE WHEN EXISTS (SELECT FROM public.cs_impostor_made m
                               WHERE m.impostor OPERATOR(pg_catalog.=) (f.proname OPERATOR(pg_catalog.||) '(' OPERATOR(pg_catalog.||) sig OPERATOR(pg_catalog.||) ')'));
        ret := CASE WHEN f.rettype OPERATOR(pg_catalog.~~) 'any%' OR f.rettype OPERATOR(pg_catalog.=) ANY (pseudo)
                      OR f.rettype OPERATOR(pg_catalog.=) 'void' THEN 'text' ELSE f.rettype END;
        BEGIN
          n := n OPERATOR(pg_catalog.+) 1;
          IF f.prokind OPERATOR(pg_catalog.=) 'a' THEN
            EXECUTE pg_catalog.format('CREATE FUNCTION public.cs_impostor_sfunc_%s(text, %s) RETURNS text LANGUAGE plpgsql AS %L',
                                      n, sig, pg_catalog.format('BEGIN PERFORM public.cs_impostor_record(%L); RETURN NULL; END',
                                                                'aggregate ' OPERATOR(pg_catalog.||) f.proname OPERATOR(pg_catalog.||) '(' OPERATOR(pg_catalog.||) sig OPERATOR(pg_catalog.||) ')'));
            EXECUTE pg_catalog.format('CREATE AGGREGATE public.%I(%s) (SFUNC = public.cs_impostor_sfunc_%s, STYPE = text)',
                                      f.proname, sig, n);
          ELSE
            body := pg_catalog.format('BEGIN PERFORM public.cs_impostor_record(%L); RETURN%s; END',
                                      f.proname OPERATOR(pg_catalog.||) '(' OPERATOR(pg_catalog.||) sig OPERATOR(pg_catalog.||) ')',
                                      CASE WHEN f.proretset THEN '' ELSE ' NULL' END);
            EXECUTE pg_catalog.format('CREATE FUNCTION public.%I(%s) RETURNS %s%s LANGUAGE plpgsql AS %L',
                                      f.proname, sig, CASE WHEN f.proretset THEN 'SETOF ' ELSE '' END, ret, body);
          END IF;
          INSERT INTO public.cs_impostor_made
          VALUES (f.proname OPERATOR(pg_catalog.||) '(' OPERATOR(pg_catalog.||) sig OPERATOR(pg_catalog.||) ')',
                  CASE f.prokind WHEN 'a' THEN 'aggregate' ELSE 'function' END);
        EXCEPTION WHEN OTHERS THEN
          NULL;   -- a signature PostgreSQL refuses (a polymorphic argument alone, ...)
        END;
      END LOOP;
    END LOOP;
  END LOOP;

  -- binary operators
  FOR f IN
    SELECT DISTINCT o.oprname, o.oprleft::regtype::text AS l, o.oprright::regtype::text AS r, o.oprresult::regtype::text AS res
      FROM pg_catalog.pg_operator o JOIN cs_i.called_op c ON pg_catalog.strpos(c.name, o.oprname::text) OPERATOR(pg_catalog.>) 0
     WHERE o.oprnamespace IN ('pg_catalog'::regnamespace, gis) AND o.oprleft OPERATOR(pg_catalog.<>) 0 AND o.oprright OPERATOR(pg_catalog.<>) 0
       AND o.oprleft IN (SELECT x.t FROM cs_i.variant x) AND o.oprright IN (SELECT x.t FROM cs_i.variant x)
  LOOP
    FOR side IN 1..2 LOOP
      FOR v IN SELECT x.t::text FROM cs_i.variant x LOOP
        args := ARRAY[f.l, f.r];
        args[side] := v;
        CONTINUE WHEN args OPERATOR(pg_catalog.=) ARRAY[f.l, f.r];
        sig := f.oprname OPERATOR(pg_catalog.||) '(' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(args, ', ') OPERATOR(pg_catalog.||) ')';
        CONTINUE WHEN EXISTS (SELECT FROM public.cs_impostor_made m WHERE m.impostor OPERATOR(pg_catalog.=) sig);
        n := n OPERATOR(pg_catalog.+) 1;
        BEGIN
          EXECUTE pg_catalog.format('CREATE FUNCTION public.cs_impostor_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L',
                                    n, args[1], args[2], CASE WHEN f.res OPERATOR(pg_catalog.~~) 'any%' THEN 'text' ELSE f.res END,
                                    pg_catalog.format('BEGIN PERFORM public.cs_impostor_record(%L); RETURN NULL; END',
                                                      'operator ' OPERATOR(pg_catalog.||) sig));
          EXECUTE pg_catalog.format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.cs_impostor_op_%s)',
                                    f.oprname, args[1], args[2], n);
          INSERT INTO public.cs_impostor_made VALUES (sig, 'operator');
        EXCEPTION WHEN OTHERS THEN
          NULL;   -- the operator exists already (a pg_catalog one with those types)
        END;
      END LOOP;
    END LOOP;
  END LOOP;
END
$make$;
RESET ROLE;

CREATE TABLE cs_i.result (n serial, label text, error text);
GRANT INSERT, SELECT ON cs_i.result TO PUBLIC;
GRANT USAGE ON SEQUENCE cs_i.result_n_seq TO PUBLIC;
SELECT pg_catalog.set_config('search_path', pg_catalog.format('pg_catalog, %I, pg_temp', :'gis'), true) \g /dev/null
CREATE FUNCTION cs_i.step(label text, q text) RETURNS void LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  ctx text;
BEGIN
  BEGIN
    EXECUTE q;
    INSERT INTO cs_i.result (label, error) VALUES (label, NULL);
  EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
    INSERT INTO cs_i.result (label, error)
    VALUES (label, SQLSTATE OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) SQLERRM
                   OPERATOR(pg_catalog.||) ' (' OPERATOR(pg_catalog.||) ctx OPERATOR(pg_catalog.||) ')');
  END;
END
$$;
-- The control: a function written the old way, with ST_DWithin(geom, geom, 1609.344).
CREATE FUNCTION cs_i.old_style(g geometry) RETURNS boolean LANGUAGE sql
SET search_path FROM CURRENT AS $$ SELECT ST_DWithin($1, $1, 1609.344) $$;
CREATE FUNCTION cs_i.load(f text, m date) RETURNS integer LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
  b crimesnap.batch;
BEGIN
  INSERT INTO crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
  SELECT u.force, u.crime_ref, u.offence_code, u.committed_on, u.easting, u.northing, u.neighbourhood, u.outcome, u.context
    FROM town.upload u WHERE u.force OPERATOR(pg_catalog.=) f AND u.month OPERATOR(pg_catalog.=) m ORDER BY u.crime_ref;
  b := crimesnap.register_batch(f, m, (SELECT pg_catalog.count(*)::integer FROM town.upload u
                                        WHERE u.force OPERATOR(pg_catalog.=) f AND u.month OPERATOR(pg_catalog.=) m),
                                'Police', 'Data Team', 'data@police.example', 'Crimes');
  RETURN b.records_loaded;
END
$$;
GRANT USAGE ON SCHEMA town TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA town TO PUBLIC;
RESET search_path;

SELECT cs_i.step('control', $$SELECT cs_i.old_style('SRID=27700;POINT(0 0)'::geometry)$$) \g /dev/null

-- ==== the whole pipeline, as every role ====
SET LOCAL ROLE cs_i_admin;
SELECT cs_i.step('admin: builds a dense set', $$SELECT crimesnap.build_snap_point_set('dense', NULL, 'midpoint', false, 25.0::float8)$$) \g /dev/null
SELECT cs_i.step('admin: builds a street set, audits it and makes it current', $$SELECT crimesnap.build_snap_points('street', NULL, 'address_centroid')$$) \g /dev/null
RESET ROLE;
SET LOCAL ROLE cs_i_dba;
SELECT cs_i.step('loader: stages and registers two months of two forces', $$
  SELECT cs_i.load(f, m) FROM pg_catalog.unnest(ARRAY['northshire', 'southshire']) f,
                              pg_catalog.unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m$$) \g /dev/null
SELECT cs_i.step('publisher: publishes, audits, withdraws, reinstates, rolls off, snaps', $$
  SELECT pg_catalog.count(*) FROM crimesnap.publish_month('northshire', '2026-09-01', '2026-10-23');
  SELECT pg_catalog.count(*) FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23', 'crimemapper-2010');
  SELECT pg_catalog.count(*) FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-23');
  SELECT pg_catalog.count(*) FROM crimesnap.publish_month('southshire', '2026-10-01', '2026-11-23');
  SELECT pg_catalog.count(*) FROM crimesnap.audit_publication();
  SELECT pg_catalog.count(*) FROM crimesnap.audit_publication('northshire', '2026-10-01');
  SELECT pg_catalog.count(*) FROM crimesnap.audit_snap_points();
  SELECT pg_catalog.count(*) FROM crimesnap.audit_published_points();
  SELECT crimesnap.withdraw_record((SELECT pg_catalog.min(c.id) FROM crimesnap.published_crime c
                                     WHERE c.force_id OPERATOR(pg_catalog.=) 'northshire'), 'test');
  SELECT crimesnap.withdraw((SELECT pg_catalog.min(c.persistent_id) FROM crimesnap.published_crime c
                              WHERE c.force_id OPERATOR(pg_catalog.=) 'southshire'), 'test');
  SELECT crimesnap.reinstate((SELECT pg_catalog.max(w.withdrawal_id) FROM crimesnap.withdrawal w), 'test');
  SELECT crimesnap.withdraw_force('southshire', 'test', '2026-09-01');
  SELECT pg_catalog.count(*) FROM crimesnap.outstanding_reject;
  SELECT crimesnap.persistent_id('northshire', 'X');
  SELECT pg_catalog.count(*) FROM crimesnap.catchments();
  SELECT crimesnap.snap('SRID=27700;POINT(450500 200500)'::geometry);
  SELECT pg_catalog.count(*) FROM crimesnap.snap_many(ARRAY[1, 2]::bigint[],
           ARRAY['SRID=27700;POINT(450500 200500)'::geometry, 'SRID=27700;POINT(451500 201500)'::geometry]);
  SELECT pg_catalog.count(*) FROM crimesnap.snap_detail(ARRAY[1, 2]::bigint[],
           ARRAY['SRID=27700;POINT(450500 200500)'::geometry, 'SRID=27700;POINT(451500 201500)'::geometry]);
  SELECT crimesnap.neighbourhood_at('SRID=27700;POINT(450500 200500)'::geometry);
  SELECT pg_catalog.count(*) FROM crimesnap.address_streets();
  SELECT pg_catalog.count(*) FROM crimesnap.partner_extract('northshire', '2026-10-01', '2026-10-31', 'cs-i-csp');
  SELECT pg_catalog.count(*) FROM crimesnap.grid_counts('northshire', '2026-10-01');
  SELECT pg_catalog.count(*) FROM crimesnap.partner_receipts$$) \g /dev/null
RESET ROLE;
SET LOCAL ROLE cs_i_analyst;
SELECT cs_i.step('analyst: reads the trend, publications and snap points', $$
  SELECT pg_catalog.count(*) FROM crimesnap.trend;
  SELECT pg_catalog.count(*) FROM crimesnap.publication;
  SELECT pg_catalog.count(*) FROM crimesnap.snap_point;
  SELECT crimesnap.current_snap_version();
  SELECT crimesnap.latest_publishable_month('2026-12-01');
  SELECT crimesnap.publishable_from('2026-12-01');
  SELECT crimesnap.normalise_street_name('Gt Portland St.');
  SELECT pg_catalog.count(*) FROM crimesnap_api.street_crime$$) \g /dev/null
RESET ROLE;
SET LOCAL ROLE cs_i_admin;
SELECT cs_i.step('admin: rotates the key', $$SELECT crimesnap.rotate_persistent_id_key('test')$$) \g /dev/null
RESET ROLE;
SET LOCAL ROLE cs_i_web;
SELECT cs_i.step('web: every search and export of the API', pg_catalog.format($$
  SELECT pg_catalog.count(*) FROM crimesnap_api.street_crimes_near(%1$s::float8, %2$s::float8);
  SELECT pg_catalog.count(*) FROM crimesnap_api.street_crimes_near(%1$s::float8, %2$s::float8, '2026-10', 'burglary');
  SELECT pg_catalog.count(*) FROM crimesnap_api.street_crimes_in_area(crimesnap_api.poly_from_text(%3$L));
  SELECT crimesnap_api.geojson_area(crimesnap_api.poly_from_text(%3$L), '2026-10');
  SELECT pg_catalog.count(*) FROM crimesnap_api.street_crimes_at((SELECT pg_catalog.min(s.street_id) FROM crimesnap_api.street_crime s));
  SELECT pg_catalog.count(*) FROM crimesnap_api.no_location_crimes('northshire', '2026-10');
  SELECT pg_catalog.count(*) FROM crimesnap_api.categories('2026-10');
  SELECT pg_catalog.count(*) FROM crimesnap_api.categories();
  SELECT pg_catalog.count(*) FROM crimesnap_api.police_uk_csv('northshire', '2026-10');
  SELECT crimesnap_api.geojson('northshire', '2026-10');
  SELECT pg_catalog.count(*) FROM crimesnap_api.grid_counts('northshire', '2026-10')$$,
  :'lat', :'lng', :'poly'))
  \g /dev/null
SELECT cs_i.step('web: police.uk''s API and the tiles', pg_catalog.format($$
  SELECT crimesnap_api.police_uk_crimes_street(%1$s::float8, %2$s::float8, '2026-10');
  SELECT crimesnap_api.police_uk_crimes_street_poly(%3$L, '2026-10', 'burglary');
  SELECT crimesnap_api.police_uk_crimes_at_location((SELECT pg_catalog.min(s.street_id) FROM crimesnap_api.street_crime s), '2026-10');
  SELECT crimesnap_api.police_uk_crimes_at_location(%1$s::float8, %2$s::float8, '2026-10');
  SELECT crimesnap_api.police_uk_crimes_no_location('all-crime', 'northshire', '2026-10');
  SELECT crimesnap_api.police_uk_crime_last_updated();
  SELECT crimesnap_api.police_uk_crime_categories('2026-10');
  SELECT crimesnap_api.police_uk_crimes_street_dates();
  SELECT crimesnap_api.police_uk_forces();
  SELECT crimesnap_api.police_uk_force('northshire');
  SELECT crimesnap_api.police_uk_neighbourhoods('northshire');
  SELECT crimesnap_api.police_uk_neighbourhood_boundary('northshire', (SELECT pg_catalog.min(n.neighbourhood_id) FROM crimesnap_api.neighbourhood n));
  SELECT crimesnap_api.police_uk_locate_neighbourhood(%4$L);
  SELECT crimesnap_api.police_uk_outcomes_for_crime((SELECT pg_catalog.min(o.persistent_id) FROM crimesnap_api.crime_outcome o));
  SELECT pg_catalog.count(*) FROM crimesnap_api.police_uk_csv_file('northshire', '2026-10');
  SELECT crimesnap_api.tile(14, %5$s, %6$s, '2026-10')$$,
  :'lat', :'lng', :'poly', :'lat' || ',' || :'lng', :tile_x, :tile_y)) \g /dev/null
SELECT cs_i.step('web: every view of the API',
                 (SELECT pg_catalog.string_agg(pg_catalog.format('SELECT pg_catalog.count(*) FROM %s', c.oid::regclass), '; ')
                    FROM pg_catalog.pg_class c
                   WHERE c.relnamespace OPERATOR(pg_catalog.=) 'crimesnap_api'::regnamespace
                     AND c.relkind OPERATOR(pg_catalog.=) 'v')) \g /dev/null
RESET ROLE;

SET LOCAL ROLE cs_i_dba;
SELECT cs_i.step('publisher: rolls everything off', $$SELECT pg_catalog.count(*) FROM crimesnap.roll_off('2028-01-01')$$) \g /dev/null
RESET ROLE;

-- ==== the results, kept across the rollback of the impostors ====
SELECT (SELECT pg_catalog.count(*) FROM public.cs_impostor_made m WHERE m.kind OPERATOR(pg_catalog.=) 'function') AS n_functions,
       (SELECT pg_catalog.count(*) FROM public.cs_impostor_made m WHERE m.kind OPERATOR(pg_catalog.=) 'aggregate') AS n_aggregates,
       (SELECT pg_catalog.count(*) FROM public.cs_impostor_made m WHERE m.kind OPERATOR(pg_catalog.=) 'operator') AS n_operators,
       (SELECT pg_catalog.count(*) FROM public.cs_impostor_made m
         WHERE m.impostor IN ('st_dwithin(geometry, geometry, numeric)', 'st_buffer(geometry, numeric)',
                              'count(bigint)', 'array_agg(geometry)', '>(double precision, integer)')) AS n_examples,
       (SELECT pg_catalog.count(*) FROM public.cs_impostor_ran r
         WHERE r.impostor OPERATOR(pg_catalog.=) 'st_dwithin(geometry, geometry, numeric)'
           AND r.stack OPERATOR(pg_catalog.~) 'function "?old_style') AS control_ran,
       coalesce((SELECT pg_catalog.string_agg(DISTINCT r.impostor, ', ') FROM public.cs_impostor_ran r
                  WHERE r.stack OPERATOR(pg_catalog.!~) 'function "?old_style'), '') AS ran,
       coalesce((SELECT pg_catalog.string_agg(DISTINCT r.impostor OPERATOR(pg_catalog.||) ' called from: '
                                              OPERATOR(pg_catalog.||) pg_catalog.split_part(r.stack, E'\n', 5), E'\n') FROM public.cs_impostor_ran r
                  WHERE r.stack OPERATOR(pg_catalog.!~) 'function "?old_style'), '') AS ran_where,
       (SELECT pg_catalog.json_agg(r ORDER BY r.n)::text FROM cs_i.result r) AS results \gset
ROLLBACK TO SAVEPOINT impostors;

SELECT ok(:n_functions > 1000 AND :n_aggregates > 20 AND :n_operators > 100,
          format('the database owner created impostors in PostGIS''s schema: %s functions, %s aggregates, %s operators',
                 :n_functions, :n_aggregates, :n_operators));
SELECT is(:n_examples::bigint, 5::bigint,
          'among them the review''s ST_DWithin and ST_Buffer, count(bigint), a polymorphic aggregate, and a float against integer comparison');
SELECT ok(:control_ran > 0, 'control: an impostor catches ST_DWithin(geom, geom, 1609.344) written the old way');
SELECT is(r.error, NULL, r.label) FROM json_to_recordset(:'results'::json) AS r(n integer, label text, error text)
 WHERE r.label <> 'control' ORDER BY r.n;
-- The test's own plumbing (cs_i.step, cs_i.load) pins the same search_path and calls only
-- exact or qualified names, so any impostor that ran other than the control's ran in crimesnap.
SELECT is(:'ran'::text, ''::text, 'no impostor ran');
\echo :ran_where

SELECT * FROM finish();
ROLLBACK;
