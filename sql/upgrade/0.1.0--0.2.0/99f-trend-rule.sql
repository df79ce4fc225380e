-- The trend follows its members by one rule (issue 13; sql/install/50-publish.sql): statement
-- triggers on crimesnap.trend_member keep crimesnap.trend equal to the count of members per
-- cell, and the functions write only trend_member.  The trigger function's body, and those of
-- the functions that no longer write the trend by hand (roll_off_before, publish_month,
-- withdraw, withdraw_force), come from sql/install through sql/upgrade/reemit.pl.
-- crimesnap.trend is left out of pg_dump (80-ops.sql): a restore rebuilds it from the members.
CREATE FUNCTION crimesnap.trend_from_members()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$ BEGIN RETURN NULL; END $fn$;
REVOKE ALL ON FUNCTION crimesnap.trend_from_members() FROM PUBLIC;

CREATE TRIGGER trend_from_members_insert AFTER INSERT ON crimesnap.trend_member
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
CREATE TRIGGER trend_from_members_delete AFTER DELETE ON crimesnap.trend_member
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
CREATE TRIGGER trend_from_members_update AFTER UPDATE ON crimesnap.trend_member
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
CREATE TRIGGER trend_from_members_truncate AFTER TRUNCATE ON crimesnap.trend_member
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.trend_from_members();
COMMENT ON TRIGGER trend_from_members_insert ON crimesnap.trend_member IS
  'Adds the inserted members to their trend cells (creating cells as needed).';
COMMENT ON TRIGGER trend_from_members_delete ON crimesnap.trend_member IS
  'Subtracts the deleted members from their trend cells, deleting cells that reach 0.';
COMMENT ON TRIGGER trend_from_members_update ON crimesnap.trend_member IS
  'Moves updated members from their old trend cells to their new ones.';
COMMENT ON TRIGGER trend_from_members_truncate ON crimesnap.trend_member IS
  'Empties crimesnap.trend when its members are truncated.';
COMMENT ON TABLE crimesnap.trend IS
  'Counts of rolled-off months by force, neighbourhood, LSOA (of the snap point) and category, under the scheme of the month''s publication. Records without a location count with a NULL LSOA. Derived from crimesnap.trend_member (the count of members per cell) by the triggers trend_from_members_*: never written by hand, and left out of pg_dump (a restore rebuilds it).';
