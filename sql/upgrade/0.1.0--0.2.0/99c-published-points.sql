-- The audit of the points the map shows records at, in every snap point set a month on the
-- map uses (sql/install/50-publish.sql); its body comes from sql/install (reemit.pl).
CREATE FUNCTION crimesnap.audit_published_points()
RETURNS TABLE (snap_version integer, point_id bigint, records bigint, violation text, detail text)
LANGUAGE sql AS $fn$ SELECT NULL::integer, NULL::bigint, NULL::bigint, NULL::text, NULL::text $fn$;
REVOKE ALL ON FUNCTION crimesnap.audit_published_points() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap.audit_published_points() TO crimesnap_publisher, crimesnap_admin;
