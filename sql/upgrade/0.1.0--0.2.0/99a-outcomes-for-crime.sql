-- police.uk's outcomes-for-crime (issue 15): sql/install/67-outcomes-api.sql.  Its body
-- follows from sql/install (sql/upgrade/reemit.pl).

CREATE FUNCTION crimesnap_api.police_uk_outcomes_for_crime(persistent_id text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $fn$
DECLARE
  crime json;
BEGIN
  -- The record as the newest month on the map shows it (a street crime, or one without a
  -- location), less its outcome_status: police.uk lists the outcomes beside it instead.
  SELECT x.j INTO crime
    FROM (SELECT crimesnap_api.police_uk_crime(s) AS j, s.month, s.id
            FROM crimesnap_api.street_crime s WHERE s.persistent_id OPERATOR(pg_catalog.=) $1
          UNION ALL
          SELECT crimesnap_api.police_uk_crime(n), n.month, n.id
            FROM crimesnap_api.no_location_crime n WHERE n.persistent_id OPERATOR(pg_catalog.=) $1) x
   ORDER BY x.month DESC, x.id DESC
   LIMIT 1;
  IF crime IS NULL THEN
    RAISE EXCEPTION 'no crime on the map has persistent id "%"', coalesce(pg_catalog.left($1, 100), 'NULL')
      USING ERRCODE = 'no_data_found',
            HINT = 'Persistent ids are the persistent_id of crimesnap_api.street_crime and crimesnap_api.no_location_crime; anti-social behaviour has none.';
  END IF;
  RETURN pg_catalog.json_build_object(
    'outcomes', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(
                                   'category', pg_catalog.json_build_object('code', o.code, 'name', o.name),
                                   'date', o.date,
                                   'person_id', NULL) ORDER BY o.date, o.code), '[]'::json)
                   FROM (SELECT DISTINCT o.code, o.name, o.date FROM crimesnap_api.crime_outcome o
                          WHERE o.persistent_id OPERATOR(pg_catalog.=) $1) o),
    'crime', (crime::jsonb OPERATOR(pg_catalog.-) 'outcome_status'::text)::json);
END
$fn$;

REVOKE ALL ON FUNCTION crimesnap_api.police_uk_outcomes_for_crime(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crimesnap_api.police_uk_outcomes_for_crime(text) TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
