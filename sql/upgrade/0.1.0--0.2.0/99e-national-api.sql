-- Issue 13, the API and publication at national scale (sql/install/50-publish.sql,
-- 65-police_uk.sql): published_crime_point_counts, made by 95-web.sql, serves everything
-- the plain index on (snap_version, point_id) of 0.1.0 served, so that one goes: every
-- published row wrote one index entry more than it needs.  And the month moves from the
-- index's INCLUDE list into its key, so that a read of one month fetches only its rows
-- (test/bench/43_national_partitioning.sql).  The functions changed with it (police_uk_crime()
-- inlinable, publish_month() calling crimesnap.snap() a row, the snap point audit) come
-- from sql/install (reemit.pl).
DROP INDEX crimesnap.published_crime_snap_version_point_id_idx;
DROP INDEX crimesnap.published_crime_point_counts;
CREATE INDEX published_crime_point_counts ON crimesnap.published_crime (snap_version, point_id, month)
  INCLUDE (force_id, category);
