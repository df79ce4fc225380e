-- Force binding of the free-text and partner tables (issue 9, section 3), after freetext (90)
-- and csp (70) added them; sql/install/85-row_security.sql.

-- Free text (section 45): a force's context texts may hold personal data until a person of
-- the force rejects them, and its outcome history keeps its references and its own words.
ALTER TABLE crimesnap.context_text ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.context_text FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.context_text IS 'A role sees the context texts of the forces it acts for.';

ALTER TABLE crimesnap.context_decision ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.context_decision FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.context_decision IS 'A role sees the context decisions of the forces it acts for.';

ALTER TABLE crimesnap.outcome_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.outcome_history FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.outcome_history IS 'A role sees the outcome history of the forces it acts for.';

-- Partner extracts (section 70) hold sanitised addresses: a force's publishers see its own;
-- a partner reads its extracts through crimesnap.my_partner_extract and my_partner_extract_row.
ALTER TABLE crimesnap.partner_extract_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.partner_extract_log FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.partner_extract_log IS 'A role sees the partner extracts of the forces it acts for.';

ALTER TABLE crimesnap.partner_extract_row ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.partner_extract_row FOR SELECT
  USING (EXISTS (SELECT FROM crimesnap.partner_extract_log l WHERE l.extract_id OPERATOR(pg_catalog.=) partner_extract_row.extract_id));
COMMENT ON POLICY acting_forces ON crimesnap.partner_extract_row IS 'A role sees the rows of the partner extracts it may read (those of the forces it acts for).';

-- A force maps its own outcome codes (section 45); national ones are crimesnap_admin's.  A
-- trigger, as for offence codes, because \copy refuses a table with row-level security.
CREATE TRIGGER check_outcome_code_change BEFORE INSERT OR UPDATE OR DELETE ON crimesnap.outcome_code
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_offence_code_change();
COMMENT ON TRIGGER check_outcome_code_change ON crimesnap.outcome_code IS
  'National outcome codes are crimesnap_admin''s; a force''s own codes are its own.';

-- unmapped_outcome shows the forces the reader acts for.
CREATE OR REPLACE VIEW crimesnap.unmapped_outcome AS
SELECT h.force_id, h.as_supplied, pg_catalog.count(*) AS records,
       pg_catalog.to_char(pg_catalog.min(h.month), 'YYYY-MM') AS first_month,
       pg_catalog.to_char(pg_catalog.max(h.month), 'YYYY-MM') AS last_month
  FROM crimesnap.outcome_history h
 WHERE NOT h.mapped AND crimesnap.acts_for(h.force_id)
 GROUP BY h.force_id, h.as_supplied;
COMMENT ON VIEW crimesnap.unmapped_outcome IS
  'Outcomes a force uploaded that map to no police.uk outcome category, for the forces the reader acts for: published as Status update unavailable until the force maps them in crimesnap.outcome_code and calls crimesnap.remap_outcomes().';

-- partner_receipts shows the forces the reader acts for.
CREATE OR REPLACE VIEW crimesnap.partner_receipts AS
SELECT p.partner_id, p.name AS partner_name, l.force_id,
       pg_catalog.count(*) AS extracts,
       pg_catalog.sum(l.records)::bigint AS records,
       min(l.period_start) AS first_day,
       max(l.period_end) AS last_day,
       max(l.requested_at) AS last_supplied_at,
       pg_catalog.array_agg(DISTINCT l.dsa_reference) AS dsa_references
  FROM crimesnap.partner_extract_log l
  JOIN crimesnap.partner p ON p.partner_id = l.partner_id
 WHERE crimesnap.acts_for(l.force_id)
 GROUP BY p.partner_id, p.name, l.force_id;
COMMENT ON VIEW crimesnap.partner_receipts IS
  'For DBAs and data controllers: what each partner has received from each force the reader acts for. crimesnap.partner_extract_log lists every extract.';
