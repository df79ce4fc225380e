-- Section 67: outcomes in the web contract.  Tests: test/pgtap/outcomes.sql.
-- Reference: docs/api.md.
--
-- police.uk's outcomes-for-crime lists a crime's outcomes, each with the month it took
-- effect.  A record's outcome history is public for the records on the map, up to the
-- newest month its force has published: a later outcome waits for its month.

CREATE VIEW crimesnap_api.outcome_category AS
SELECT o.slug AS code, o.name FROM crimesnap.outcome_category o;
COMMENT ON VIEW crimesnap_api.outcome_category IS 'police.uk''s outcome categories: every outcome published is one of these.';
COMMENT ON COLUMN crimesnap_api.outcome_category.code IS 'Code as police.uk''s JSON gives it, for example under-investigation.';
COMMENT ON COLUMN crimesnap_api.outcome_category.name IS 'Name as police.uk''s CSVs give it, for example Under investigation.';

CREATE VIEW crimesnap.published_outcome AS
SELECT c.id, c.persistent_id, c.force_id AS force, pg_catalog.to_char(h.month, 'YYYY-MM') AS date,
       h.slug AS code, o.name
  FROM crimesnap.published_crime c
  JOIN crimesnap.publication pub ON pub.force_id = c.force_id AND pub.month = c.month
  JOIN crimesnap.raw_crime r ON r.crime_id = c.crime_id
  JOIN crimesnap.outcome_history h ON h.force_id = r.force_id AND h.crime_ref = r.crime_ref
  JOIN crimesnap.outcome_category o ON o.slug = h.slug
 WHERE pub.status = 'street-level'
   AND h.month <= (SELECT pg_catalog.max(p.month) FROM crimesnap.publication p WHERE p.force_id = c.force_id);
COMMENT ON VIEW crimesnap.published_outcome IS
  'Internal: the outcome history of every record on the map, as far as its force has published. crimesnap_api.crime_outcome shows it to the web.';
COMMENT ON COLUMN crimesnap.published_outcome.id IS 'Public record id.';
COMMENT ON COLUMN crimesnap.published_outcome.persistent_id IS 'Persistent id; NULL for ASB.';
COMMENT ON COLUMN crimesnap.published_outcome.force IS 'force_id.';
COMMENT ON COLUMN crimesnap.published_outcome.date IS 'Month the outcome took effect, YYYY-MM.';
COMMENT ON COLUMN crimesnap.published_outcome.code IS 'Outcome category code.';
COMMENT ON COLUMN crimesnap.published_outcome.name IS 'Outcome category name.';

CREATE VIEW crimesnap_api.crime_outcome WITH (security_barrier) AS
SELECT * FROM crimesnap.published_outcome;
COMMENT ON VIEW crimesnap_api.crime_outcome IS
  'Each record on the map with its outcomes, oldest first by date, each a police.uk outcome category with the month it took effect (police.uk''s outcomes-for-crime). The newest is the record''s outcome_status.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.persistent_id IS 'Persistent id; NULL for ASB, which police.uk gives no outcomes for.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.code IS 'Outcome category code, for example under-investigation.';
COMMENT ON COLUMN crimesnap_api.crime_outcome.name IS 'Outcome category name, for example Under investigation.';

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
COMMENT ON FUNCTION crimesnap_api.police_uk_outcomes_for_crime(text) IS
  'police.uk''s outcomes-for-crime/<persistent_id>: {outcomes: [{category: {code, name}, date, person_id: null}], crime: the record as crimes-street shows it, without outcome_status}. Outcomes oldest first, as far as the force has published. An id on no record on the map: no_data_found (HTTP 404).';

GRANT SELECT ON crimesnap_api.outcome_category, crimesnap_api.crime_outcome
  TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
