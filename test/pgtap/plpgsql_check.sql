-- Every PL/pgSQL function of crimesnap passes plpgsql_check: no errors (a missing relation
-- or column, a wrong number of arguments, a type that cannot be cast) and no warnings (an
-- implicit cast on assignment, dead code, an unused variable that hides a typo).  The
-- temporary tables the pipeline creates at run time are declared in the functions with
-- plpgsql_check's table pragma (PERFORM 'PRAGMA:TABLE: ...').  Trigger functions are
-- checked against the table of their trigger, with its transition tables (the trigger with
-- the most of them, when one function serves several: crimesnap.trend_from_members() reads
-- old_rows and new_rows, both of which only its UPDATE trigger declares).
--
-- The check is shown to fail: a planted function that reads a column that does not exist,
-- and one that assigns text to an integer, are each reported.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
CREATE EXTENSION plpgsql_check;
SELECT plan(5);

-- The findings for every PL/pgSQL function in crimesnap's schemas.
CREATE FUNCTION pg_temp.findings()
RETURNS TABLE (fn regprocedure, level text, lineno integer, message text, detail text)
LANGUAGE sql AS $$
  SELECT p.oid::regprocedure, c.level, c.lineno, c.message, c.detail
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_language l ON l.oid = p.prolang
    LEFT JOIN LATERAL (SELECT tg.tgrelid, tg.tgoldtable, tg.tgnewtable FROM pg_trigger tg
                        WHERE tg.tgfoid = p.oid
                        ORDER BY (tg.tgoldtable IS NOT NULL)::integer + (tg.tgnewtable IS NOT NULL)::integer DESC,
                                 tg.tgrelid, tg.tgname LIMIT 1) t ON true
   CROSS JOIN LATERAL plpgsql_check_function_tb(p.oid, coalesce(t.tgrelid, 0),
                                                 fatal_errors => false, other_warnings => true,
                                                 extra_warnings => false, performance_warnings => false,
                                                 oldtable => t.tgoldtable, newtable => t.tgnewtable) c
   WHERE n.nspname IN ('crimesnap', 'crimesnap_api') AND l.lanname = 'plpgsql'
     AND c.level IN ('error', 'warning')
$$;
CREATE TEMP TABLE found AS SELECT * FROM pg_temp.findings();

SELECT cmp_ok((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 JOIN pg_language l ON l.oid = p.prolang
                WHERE n.nspname IN ('crimesnap', 'crimesnap_api') AND l.lanname = 'plpgsql'),
              '>=', 15::bigint, 'crimesnap has PL/pgSQL functions to check');
SELECT is((SELECT count(*) FROM found WHERE level = 'error'), 0::bigint,
          'plpgsql_check finds no error in any PL/pgSQL function');
SELECT is((SELECT count(*) FROM found WHERE level = 'warning'), 0::bigint,
          'nor any warning');
SELECT diag(format('%s line %s: %s: %s%s', fn, lineno, level, message, coalesce(' (' || detail || ')', '')))
  FROM found ORDER BY fn::text, lineno;

-- Planted faults: the same check reports them.
CREATE FUNCTION crimesnap.zz_planted_error() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT count(no_such_column) FROM crimesnap.raw_crime);
END $$;
CREATE FUNCTION crimesnap.zz_planted_warning() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  n := (SELECT crime_ref FROM crimesnap.raw_crime LIMIT 1);
  RETURN n;
END $$;
SELECT is((SELECT count(*) FROM pg_temp.findings() WHERE fn = 'crimesnap.zz_planted_error()'::regprocedure AND level = 'error'),
          1::bigint, 'a planted function that reads a missing column is reported as an error');
SELECT ok(EXISTS (SELECT FROM pg_temp.findings() WHERE fn = 'crimesnap.zz_planted_warning()'::regprocedure AND level = 'warning'),
          'a planted function that assigns text to an integer is reported as a warning');

SELECT * FROM finish();
ROLLBACK;
