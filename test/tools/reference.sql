-- Generates docs/reference.md from the catalog: every object crimesnap creates, with its
-- signature and its COMMENT.  check.sh fails when the committed file differs; `make reference`
-- rewrites it.
\pset format unaligned
\pset tuples_only on
\pset footer off
WITH ext AS (
  SELECT oid FROM pg_extension WHERE extname = 'crimesnap'
), members AS (
  SELECT d.classid, d.objid FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
  SELECT CASE c.relkind WHEN 'v' THEN 2 ELSE 1 END AS section,
         CASE c.relkind WHEN 'v' THEN 'Views' ELSE 'Tables' END AS heading,
         n.nspname, c.relname AS name, c.oid::regclass::text AS signature,
         obj_description(c.oid, 'pg_class') AS about,
         E'| column | type | meaning |\n|---|---|---|\n'
         || (SELECT string_agg(format('| `%s` | %s | %s |', a.attname, format_type(a.atttypid, a.atttypmod),
                                      replace(coalesce(col_description(c.oid, a.attnum), ''), '|', '\|')),
                               E'\n' ORDER BY a.attnum)
               FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS detail
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'v', 'm', 'p')
), procs AS (
  SELECT CASE p.prokind WHEN 'a' THEN 4 ELSE 3 END,
         CASE p.prokind WHEN 'a' THEN 'Aggregates' ELSE 'Functions' END,
         n.nspname, p.proname,
         format('%s.%s(%s) → %s', n.nspname, p.proname, pg_get_function_arguments(p.oid),
                pg_get_function_result(p.oid)),
         obj_description(p.oid, 'pg_proc'),
         concat_ws(', ',
           CASE WHEN p.prosecdef THEN 'security definer' END,
           CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' END,
           CASE WHEN p.proparallel = 's' THEN 'parallel safe' END,
           CASE WHEN l.lanname = 'c' THEN 'written in C' END)
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_language l ON l.oid = p.prolang
), everything AS (
  SELECT * FROM rels UNION ALL SELECT * FROM procs
)
SELECT '# Reference' || E'\n\n'
    || 'Every SQL object crimesnap ' || (SELECT extversion FROM pg_extension WHERE extname = 'crimesnap')
    || ' creates, generated from the catalog and the objects'' '
    || '`COMMENT`s by `test/tools/reference.sql` (`make reference`); `make check` fails when this '
    || 'file is out of date. The guides explain how the pieces fit together: '
    || '[inputs](inputs.md), [snap points](snap-points.md), [snapping](snapping.md), '
    || '[force DBA guide](force-dba-guide.md), [web developer guide](web-developer-guide.md), '
    || '[configuration](configuration.md), [security](security.md), [backups](backups.md), '
    || '[upgrading](upgrading.md). What each version added is in the [CHANGELOG](../CHANGELOG.md).'
    || E'\n\n'
    || '## Schemas' || E'\n\n'
    || (SELECT string_agg(format('- `%s`: %s', nspname, obj_description(oid, 'pg_namespace')), E'\n' ORDER BY nspname)
          FROM pg_namespace WHERE nspname IN ('crimesnap', 'crimesnap_api'))
    || E'\n\n'
    || (SELECT string_agg(sect, E'\n') FROM (
          SELECT format(E'## %s\n\n%s\n', heading,
                        string_agg(format(E'### `%s`\n\n%s%s\n', signature, coalesce(about, '(undocumented)'),
                                          CASE WHEN detail <> '' AND section IN (1, 2) THEN E'\n\n' || detail
                                               WHEN detail <> '' THEN E'\n\n(' || detail || ')' ELSE '' END),
                                   E'\n' ORDER BY nspname, name, signature)) AS sect
            FROM everything GROUP BY section, heading ORDER BY section) s);
