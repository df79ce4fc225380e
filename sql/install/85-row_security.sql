-- Section 85: row-level security.  A role reads the raw and per-force tables only for the
-- forces it acts for (section 15).  SECURITY DEFINER functions run as the tables' owner,
-- which row-level security does not restrict: they call crimesnap.assert_acts_for()
-- instead.  crimesnap.crime_upload, crimesnap.offence_code and crimesnap.force_snap_point
-- are checked by triggers, because \copy refuses a table with row-level security.
-- Tests: test/pgtap/force_binding.sql.

ALTER TABLE crimesnap.batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.batch FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.batch IS 'A role sees the batches of the forces it acts for.';

ALTER TABLE crimesnap.reject ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.reject FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.reject IS 'A role sees the rejects of the forces it acts for.';

ALTER TABLE crimesnap.raw_crime ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.raw_crime FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.raw_crime IS 'A role sees the raw records of the forces it acts for.';

ALTER TABLE crimesnap.withdrawal ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.withdrawal FOR SELECT
  USING (force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.withdrawal IS 'A role sees the withdrawals of the forces it acts for.';

ALTER TABLE crimesnap.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.audit_log FOR SELECT
  USING (force_id IS NULL OR force_id OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.audit_log IS 'A role sees the audit entries of the forces it acts for, and those of no force.';

-- The optional section 3.2.1 fields of raw records (section 70): readable for the raw records
-- a role may read, and staged rows of the forces it acts for.
ALTER TABLE crimesnap.raw_crime_detail ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.raw_crime_detail FOR SELECT
  USING (EXISTS (SELECT FROM crimesnap.raw_crime r WHERE r.crime_id OPERATOR(pg_catalog.=) raw_crime_detail.crime_id));
COMMENT ON POLICY acting_forces ON crimesnap.raw_crime_detail IS 'A role sees the details of the raw records it may read (those of the forces it acts for).';

ALTER TABLE crimesnap.upload_detail_stage ENABLE ROW LEVEL SECURITY;
CREATE POLICY acting_forces ON crimesnap.upload_detail_stage FOR SELECT
  USING (force OPERATOR(pg_catalog.=) ANY ((SELECT crimesnap.acting_forces())::text[]));
COMMENT ON POLICY acting_forces ON crimesnap.upload_detail_stage IS 'A role sees the staged details of the forces it acts for.';

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

-- A force records its own data sharing agreements (section 70); crimesnap_admin any.
CREATE FUNCTION crimesnap.check_partner_agreement_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF NOT crimesnap.is_admin() THEN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      PERFORM crimesnap.assert_acts_for(OLD.force_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      PERFORM crimesnap.assert_acts_for(NEW.force_id);
    END IF;
  END IF;
  RETURN CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN OLD ELSE NEW END;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_partner_agreement_change() IS
  'Trigger on crimesnap.partner_agreement: a role records, changes and ends agreements only for the forces it acts for (crimesnap_admin for any).';
CREATE TRIGGER check_partner_agreement_change BEFORE INSERT OR UPDATE OR DELETE ON crimesnap.partner_agreement
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_partner_agreement_change();
COMMENT ON TRIGGER check_partner_agreement_change ON crimesnap.partner_agreement IS
  'A force records its own data sharing agreements only.';
