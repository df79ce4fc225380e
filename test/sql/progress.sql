-- Progress NOTICEs (issue 13): build_snap_points() and register_batch() report each stage
-- with its counts when the work has at least crimesnap.progress_rows rows (0: always, -1:
-- never), at NOTICE level, so client_min_messages = warning silences them.  The seconds
-- elapsed are in each NOTICE's DETAIL, which \set VERBOSITY terse leaves out, so what is
-- printed here does not depend on the machine.  The town has about 2,200 addresses and 300
-- upload rows a force and month: under the default 100,000, it reports nothing.  The
-- coverage NOTICE ("snap point set N: ...") is not progress: every build gives it.
-- Everything, the town included, runs in one transaction that is rolled back.
\i test/fixtures/regress_town.sql
\set VERBOSITY terse
SET client_min_messages = notice;

-- ---- crimesnap.progress_rows = 0: every stage of both, with its counts ----
SET crimesnap.progress_rows = 0;
SELECT crimesnap.build_snap_points() AS version;
SELECT pg_temp.load_month('northshire', '2026-09-01') AS loaded;

-- ---- -1: nothing ----
SET crimesnap.progress_rows = -1;
SELECT crimesnap.build_snap_points() AS version;
SELECT pg_temp.load_month('northshire', '2026-10-01') AS loaded;

-- ---- the default, 100,000: nothing for the town ----
RESET crimesnap.progress_rows;
SHOW crimesnap.progress_rows;
SELECT crimesnap.build_snap_points() AS version;
SELECT pg_temp.load_month('southshire', '2026-09-01') AS loaded;

-- ---- 0, but client_min_messages = warning: nothing ----
SET crimesnap.progress_rows = 0;
SET client_min_messages = warning;
SELECT crimesnap.build_snap_points() AS version;
SELECT pg_temp.load_month('southshire', '2026-10-01') AS loaded;

ROLLBACK;
