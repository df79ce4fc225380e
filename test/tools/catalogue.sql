-- test/tools/catalogue.sql: crimesnap's catalogue as sorted text, one fact a line, so that
-- two databases compare with diff.  The upgrade test (test/tools/upgrade.sh) diffs a fresh
-- install against one updated from 0.1.0; the dump test (test/tools/dump.sh) diffs a
-- database against its restored copy.
--
--   psql -X -At -f test/tools/catalogue.sql DBNAME > catalogue.txt
--
-- It covers the extension's own schemas (its schema and every schema it created) and its
-- members wherever they live: the extension row and its dump configuration, the member list,
-- schemas, tables and their columns (type, default, not-null, identity, generated,
-- collation), constraints, indexes, triggers, rules, row-level security and policies, views
-- and their definitions, sequences, types, domains, functions and aggregates (signature,
-- result, language, body, settings, volatility, strictness, parallel safety, security
-- definer, cost, rows, leakproofness), event triggers, privileges and comments.
--
-- Deliberate choices: columns compare by name, not position (ALTER TABLE ... ADD COLUMN in
-- an upgrade can only append, and pg_dump names every column it copies); privileges compare
-- as the set of (grantee, privilege, grantable) after expanding NULL to the default, so an
-- explicit grant that equals the default is not a difference but a missing REVOKE is; no
-- OID, no sequence position and no statistic appears.  A multi-line body (function source, view
-- definition) prints a line per source line, each prefixed with its object, so a diff shows
-- the changed lines.
\set ON_ERROR_STOP on
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset footer off
SET client_min_messages = warning;
SET search_path = pg_catalog;

WITH ext AS (
  SELECT e.oid, e.extnamespace FROM pg_extension e WHERE e.extname = 'crimesnap'
), member AS (
  SELECT d.classid, d.objid, d.objsubid
    FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), ns AS (
  SELECT ext.extnamespace AS oid FROM ext
  UNION
  SELECT m.objid FROM member m WHERE m.classid = 'pg_namespace'::regclass
), rel AS (
  SELECT c.oid, c.relkind, c.relname, n.nspname,
         quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relnamespace IN (SELECT oid FROM ns)
), fn AS (
  SELECT p.*, quote_ident(n.nspname) || '.' || quote_ident(p.proname)
              || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS sig
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE p.pronamespace IN (SELECT oid FROM ns)
), acl(kind, obj, acl) AS (
  SELECT 'schema', quote_ident(n.nspname), coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))
    FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM ns)
  UNION ALL
  SELECT 'relation', r.qname, coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))
    FROM rel r JOIN pg_class c ON c.oid = r.oid WHERE r.relkind NOT IN ('i', 'I', 'c')
  UNION ALL
  SELECT 'column', r.qname || '.' || quote_ident(a.attname), a.attacl
    FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
   WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
  UNION ALL
  SELECT 'function', f.sig, coalesce(f.proacl, acldefault('f'::"char", f.proowner)) FROM fn f
  UNION ALL
  SELECT 'type', format_type(t.oid, NULL), coalesce(t.typacl, acldefault('T'::"char", t.typowner))
    FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns) AND t.typtype IN ('d', 'e', 'r', 'm')
), fact(section, obj, ord, detail) AS (
  -- the extension row and what pg_dump dumps of its tables
  SELECT 'extension', e.extname::text, 0::bigint,
         format('version %s, schema %s, relocatable %s', e.extversion, e.extnamespace::regnamespace, e.extrelocatable)
    FROM pg_extension e, ext WHERE e.oid = ext.oid
  UNION ALL
  SELECT 'dump config', c.cfg::regclass::text, 0,
         coalesce('filter ' || nullif(c.cond, ''), 'all rows')
    FROM pg_extension e, ext, unnest(e.extconfig, e.extcondition) AS c(cfg, cond)
   WHERE e.oid = ext.oid
  UNION ALL
  -- the member list, as pg_describe_object words it
  SELECT 'member', pg_describe_object(m.classid, m.objid, m.objsubid), 0, '' FROM member m
  UNION ALL
  SELECT 'schema', quote_ident(n.nspname), 0, format('owner %s', n.nspowner::regrole)
    FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM ns)
  UNION ALL
  -- relations (tables, views, sequences, composite types; indexes below)
  SELECT 'relation', r.qname, 0,
         format('kind %s, persistence %s, owner %s, options %s, rls %s, force rls %s, replica identity %s',
                c.relkind, c.relpersistence, c.relowner::regrole, coalesce(array_to_string(c.reloptions, ','), '-'),
                c.relrowsecurity, c.relforcerowsecurity, c.relreplident)
    FROM rel r JOIN pg_class c ON c.oid = r.oid WHERE r.relkind NOT IN ('i', 'I')
  UNION ALL
  SELECT 'column', r.qname || '.' || quote_ident(a.attname), 0,
         format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
         || coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '')
         || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                               WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
         || CASE a.attgenerated WHEN 's' THEN ' STORED' ELSE '' END
         || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                 THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
    FROM rel r
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
   WHERE r.relkind IN ('r', 'p', 'v', 'm', 'c', 'f')
  UNION ALL
  -- constraints of tables and domains
  SELECT 'constraint', coalesce(r.qname, format_type(co.contypid, NULL)) || ' ' || quote_ident(co.conname), 0,
         pg_get_constraintdef(co.oid)
         || CASE WHEN co.condeferrable THEN ' DEFERRABLE' ELSE '' END
         || CASE WHEN co.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END
         || CASE WHEN NOT co.convalidated THEN ' NOT VALID' ELSE '' END
    FROM pg_constraint co
    LEFT JOIN rel r ON r.oid = co.conrelid
   WHERE r.oid IS NOT NULL
      OR co.contypid IN (SELECT t.oid FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns))
  UNION ALL
  SELECT 'index', r.qname, 0, pg_get_indexdef(r.oid) FROM rel r WHERE r.relkind IN ('i', 'I')
  UNION ALL
  SELECT 'trigger', r.qname || ' ' || quote_ident(tg.tgname), 0,
         pg_get_triggerdef(tg.oid) || ' [enabled ' || tg.tgenabled::text || ']'
    FROM pg_trigger tg JOIN rel r ON r.oid = tg.tgrelid WHERE NOT tg.tgisinternal
  UNION ALL
  SELECT 'rule', r.qname || ' ' || quote_ident(ru.rulename), 0, pg_get_ruledef(ru.oid)
    FROM pg_rewrite ru JOIN rel r ON r.oid = ru.ev_class WHERE ru.rulename <> '_RETURN'
  UNION ALL
  SELECT 'policy', r.qname || ' ' || quote_ident(po.polname), 0,
         format('%s for %s to %s using (%s) with check (%s)',
                CASE WHEN po.polpermissive THEN 'permissive' ELSE 'restrictive' END, po.polcmd,
                (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END, ',' ORDER BY 1)
                   FROM unnest(po.polroles) x),
                pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid))
    FROM pg_policy po JOIN rel r ON r.oid = po.polrelid
  UNION ALL
  SELECT 'view', r.qname, l.n, l.line
    FROM rel r, regexp_split_to_table(pg_get_viewdef(r.oid, true), E'\n') WITH ORDINALITY AS l(line, n)
   WHERE r.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'sequence', r.qname, 0,
         format('%s start %s increment %s min %s max %s cache %s cycle %s owned by %s',
                format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                coalesce((SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname)
                            FROM pg_depend d
                            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                           WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')), '-'))
    FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
  UNION ALL
  -- types that are not a table's row type: enums, domains, ranges, composites
  SELECT 'type', format_type(t.oid, NULL), 0,
         format('type %s', t.typtype)
         || CASE WHEN t.typtype = 'd' THEN ' over ' || format_type(t.typbasetype, t.typtypmod)
                   || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                   || coalesce(' DEFAULT ' || t.typdefault, '') ELSE '' END
         || CASE WHEN t.typtype = 'e' THEN ' labels ' ||
                   (SELECT string_agg(quote_literal(el.enumlabel), ', ' ORDER BY el.enumsortorder)
                      FROM pg_enum el WHERE el.enumtypid = t.oid) ELSE '' END
    FROM pg_type t
   WHERE t.typnamespace IN (SELECT oid FROM ns) AND t.typtype IN ('d', 'e', 'r', 'm')
  UNION ALL
  SELECT 'function', f.sig, 0,
         format('%s %s(%s) returns %s, language %s, %s, %s, parallel %s, %s, leakproof %s, cost %s, rows %s, config %s, owner %s%s',
                CASE f.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'window' END,
                f.proname, pg_get_function_arguments(f.oid), coalesce(pg_get_function_result(f.oid), '-'),
                l.lanname,
                CASE f.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
                CASE WHEN f.proisstrict THEN 'strict' ELSE 'called on null input' END,
                CASE f.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
                CASE WHEN f.prosecdef THEN 'security definer' ELSE 'security invoker' END,
                f.proleakproof, f.procost, f.prorows,
                coalesce(array_to_string(f.proconfig, ' '), '-'), f.proowner::regrole,
                CASE WHEN f.probin IS NOT NULL THEN ', library ' || f.probin ELSE '' END)
    FROM fn f JOIN pg_language l ON l.oid = f.prolang
  UNION ALL
  SELECT 'function body', f.sig, b.n, b.line
    FROM fn f, regexp_split_to_table(f.prosrc, E'\n') WITH ORDINALITY AS b(line, n)
   WHERE f.prokind <> 'a'
  UNION ALL
  SELECT 'aggregate', f.sig, 0,
         format('kind %s transfn %s finalfn %s combinefn %s serialfn %s deserialfn %s stype %s sspace %s initval %s finalmodify %s moving %s/%s/%s',
                ag.aggkind, ag.aggtransfn::regprocedure,
                nullif(ag.aggfinalfn, 0)::regprocedure, nullif(ag.aggcombinefn, 0)::regprocedure,
                nullif(ag.aggserialfn, 0)::regprocedure, nullif(ag.aggdeserialfn, 0)::regprocedure,
                format_type(ag.aggtranstype, NULL), ag.aggtransspace, coalesce(ag.agginitval, '-'),
                ag.aggfinalmodify, nullif(ag.aggmtransfn, 0)::regprocedure,
                nullif(ag.aggminvtransfn, 0)::regprocedure, nullif(ag.aggmfinalfn, 0)::regprocedure)
    FROM fn f JOIN pg_aggregate ag ON ag.aggfnoid = f.oid
  UNION ALL
  SELECT 'event trigger', quote_ident(et.evtname), 0,
         format('on %s execute %s tags %s enabled %s owner %s', et.evtevent, et.evtfoid::regprocedure,
                coalesce(array_to_string(et.evttags, ','), '-'), et.evtenabled, et.evtowner::regrole)
    FROM pg_event_trigger et
   WHERE et.oid IN (SELECT m.objid FROM member m WHERE m.classid = 'pg_event_trigger'::regclass)
  UNION ALL
  -- privileges as (grantee, privilege, grantable) sets; grantor left out on purpose
  SELECT 'privilege ' || a.kind, a.obj, 0,
         coalesce((SELECT string_agg(DISTINCT
                            CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END
                            || ':' || x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END, ' ')
                     FROM aclexplode(a.acl) x), 'none')
    FROM acl a
  UNION ALL
  -- comments on everything in the schemas, the schemas, and every member wherever it lives
  SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), c.n, c.line
    FROM pg_description d
    CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) io
    CROSS JOIN LATERAL regexp_split_to_table(d.description, E'\n') WITH ORDINALITY AS c(line, n)
   WHERE io.schema IN (SELECT nspname FROM pg_namespace WHERE oid IN (SELECT oid FROM ns))
      OR (d.classoid = 'pg_namespace'::regclass AND d.objoid IN (SELECT oid FROM ns))
      OR EXISTS (SELECT FROM member m WHERE m.classid = d.classoid AND m.objid = d.objoid)
      OR (d.classoid = 'pg_extension'::regclass AND d.objoid IN (SELECT oid FROM ext))
)
SELECT section || E'\t' || obj || CASE WHEN detail <> '' THEN E'\t' || detail ELSE '' END
  FROM fact
 ORDER BY section COLLATE "C", obj COLLATE "C", ord, detail COLLATE "C";
