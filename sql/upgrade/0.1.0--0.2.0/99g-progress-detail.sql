-- The DETAIL of the progress NOTICEs written once (sql/install/20-snap_points.sql); its
-- body, and those of build_snap_point_set() and register_batch() that call it, come from
-- sql/install (reemit.pl).
CREATE FUNCTION crimesnap.progress_detail(started timestamptz)
RETURNS text
LANGUAGE sql AS $fn$ SELECT NULL::text $fn$;
REVOKE ALL ON FUNCTION crimesnap.progress_detail(timestamptz) FROM PUBLIC;
