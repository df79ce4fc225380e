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
