-- The extension installs, with its schemas, and everything it creates is documented.
SELECT extname, extversion FROM pg_extension WHERE extname = 'crimesnap';
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'crimesnap%' ORDER BY 1;

-- Every object the extension owns has a COMMENT.
SELECT pg_describe_object(d.classid, d.objid, 0) AS undocumented
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'crimesnap')
   AND d.deptype = 'e'
   AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
   AND d.classid <> 'pg_type'::regclass        -- row types of tables; the tables carry the comment
   AND NOT EXISTS (SELECT FROM pg_depend i      -- identity sequences belong to their column
                    WHERE i.classid = 'pg_class'::regclass AND i.objid = d.objid AND i.deptype = 'i')
 ORDER BY 1;

-- Every column of every extension table and view has a COMMENT.
SELECT c.oid::regclass AS relation, a.attname AS undocumented_column
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname IN ('crimesnap', 'crimesnap_api') AND c.relkind IN ('r', 'v')
   AND col_description(c.oid, a.attnum) IS NULL
 ORDER BY 1, 2;

-- Every SQL-language function pins its search_path: pg_catalog first, pg_temp last.  The
-- exceptions are the per-row JSON helpers of the police.uk API, written to be inlined (a
-- function with a SET clause never is): invoker's rights, no SET clause, every name qualified
-- (test/pgtap/security.sql checks their bodies with all the others).
SELECT p.oid::regprocedure AS function_without_safe_search_path
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('crimesnap', 'crimesnap_api')
   AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND p.prokind = 'f'
   AND NOT (p.oid::regprocedure::text IN ('crimesnap_api.police_uk_coordinate(double precision)',
                                         'crimesnap_api.police_uk_crime(crimesnap_api.street_crime)',
                                         'crimesnap_api.police_uk_crime(crimesnap_api.no_location_crime)')
            AND NOT p.prosecdef AND p.proconfig IS NULL)
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) cfg
                    WHERE cfg LIKE 'search_path=pg_catalog, %pg_temp')
 ORDER BY 1;

-- The GUCs, with their defaults.  crimesnap.setting() loads the library, and with it the
-- GUC definitions, in a session that has not called crimesnap's C code yet.
SELECT crimesnap.setting('min_addresses');
SELECT name, setting, context FROM pg_settings WHERE name LIKE 'crimesnap.%' ORDER BY 1;
