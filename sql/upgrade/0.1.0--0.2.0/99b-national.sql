-- National scale (issue 13): the capped count of distinct postal addresses that publication
-- and its audit use instead of counting the whole country.  Its body, and those of the
-- functions it changed (register_batch, publish_month, roll_off_before, audit_publication,
-- build_snap_point_set, audit_snap_points: jit off, set-based checks), come from
-- sql/install through sql/upgrade/reemit.pl.
CREATE FUNCTION crimesnap.area_address_count(neighbourhoods text[], cap bigint)
RETURNS TABLE (neighbourhood_id text, addresses bigint)
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $fn$ SELECT NULL::text, NULL::bigint $fn$;
REVOKE ALL ON FUNCTION crimesnap.area_address_count(text[], bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap.area_address_count(text[], bigint) TO crimesnap_publisher;

-- A batch's records are read back by batch: without this, a scan of every month loaded.
CREATE INDEX ON crimesnap.raw_crime (batch_id);

-- Statistics for what a function has just bulk-written (publish_month's published rows).
CREATE FUNCTION crimesnap.analyse_if_grown(rel regclass, written bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path FROM CURRENT
SET client_min_messages = error
AS $fn$ BEGIN RETURN false; END $fn$;
REVOKE ALL ON FUNCTION crimesnap.analyse_if_grown(regclass, bigint) FROM PUBLIC;
