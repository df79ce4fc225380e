-- Merge of security (97) with promise (96): the audit of snap-point coverage, which promise
-- added, is the admin's to run once security has revoked EXECUTE from PUBLIC.
GRANT EXECUTE ON FUNCTION crimesnap.snap_point_coverage(integer, double precision) TO crimesnap_admin;
