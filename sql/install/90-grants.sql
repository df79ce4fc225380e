-- Section 90: privileges.  The role matrix is docs/security.md; test/pgtap/security.sql
-- checks every cell of it.

REVOKE ALL ON ALL TABLES IN SCHEMA crimesnap FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA crimesnap FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA crimesnap_api FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA crimesnap_api FROM PUBLIC;

-- Web services, analysts and publishers read the API.
GRANT SELECT ON ALL TABLES IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA crimesnap_api TO crimesnap_web, crimesnap_analyst, crimesnap_publisher;

-- Analysts: published and aggregate data, reference tables, never raw records or addresses.
GRANT SELECT ON crimesnap.trend, crimesnap.publication, crimesnap.snap_point_set,
                crimesnap.snap_point, crimesnap.snap_point_change, crimesnap.category,
                crimesnap.category_fold, crimesnap.offence_code, crimesnap.force,
                crimesnap.neighbourhood, crimesnap.lsoa
  TO crimesnap_analyst;
GRANT EXECUTE ON FUNCTION crimesnap.setting(text) TO crimesnap_analyst, crimesnap_loader, crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.normalise_street_name(text),
                          crimesnap.snap_centre(geometry),
                          crimesnap.snap_centre(geometry, integer, text),
                          crimesnap.snap_centre_transfn(internal, geometry),
                          crimesnap.snap_centre_transfn(internal, geometry, integer, text),
                          crimesnap.snap_centre_combinefn(internal, internal),
                          crimesnap.snap_centre_serialfn(internal),
                          crimesnap.snap_centre_deserialfn(bytea, internal),
                          crimesnap.snap_centre_finalfn(internal),
                          crimesnap.current_snap_version(),
                          crimesnap.publishable_from(date),
                          crimesnap.latest_publishable_month(date)
  TO crimesnap_analyst, crimesnap_publisher;

-- Loaders: the input tables and the upload; registering a batch.
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.force, crimesnap.neighbourhood, crimesnap.lsoa,
                crimesnap.street, crimesnap.address, crimesnap.public_place,
                crimesnap.highway_class, crimesnap.offence_code
  TO crimesnap_loader;
GRANT SELECT, INSERT, DELETE ON crimesnap.crime_upload TO crimesnap_loader;
GRANT SELECT ON crimesnap.batch, crimesnap.reject, crimesnap.reject_reason, crimesnap.category
  TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text),
                          crimesnap.normalise_street_name(text),
                          crimesnap.screen_context(text)
  TO crimesnap_loader;

-- Publishers: the data controllers' operations, and read access to what they control.
GRANT SELECT ON ALL TABLES IN SCHEMA crimesnap TO crimesnap_publisher;
REVOKE SELECT ON crimesnap.secret FROM crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.build_snap_points(text, integer, text, boolean),
                          crimesnap.set_current_snap_points(integer),
                          crimesnap.audit_snap_points(integer),
                          crimesnap.catchments(integer),
                          crimesnap.neighbourhood_at(geometry),
                          crimesnap.check_crime_location(geometry),
                          crimesnap.snap(geometry, text),
                          crimesnap.snap_many(bigint[], geometry[], text[]),
                          crimesnap.persistent_id(text, text),
                          crimesnap.publish_month(text, date, date, text),
                          crimesnap.roll_off(date),
                          crimesnap.withdraw(text, text),
                          crimesnap.withdraw_record(bigint, text),
                          crimesnap.withdraw_force(text, text, date),
                          crimesnap.reinstate(bigint, text),
                          crimesnap.screen_context(text)
  TO crimesnap_publisher;

-- Free text (section 45): the vocabulary is public reference data; a force's DBA maps its
-- outcomes; its data controllers review its context texts.
GRANT SELECT ON crimesnap.outcome_category TO crimesnap_analyst, crimesnap_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.outcome_code TO crimesnap_loader;
GRANT SELECT ON crimesnap.unmapped_outcome TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.outcome_key(text),
                          crimesnap.map_outcome(text, text),
                          crimesnap.normalise_context(text),
                          crimesnap.remap_outcomes(text)
  TO crimesnap_loader, crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.set_context_publication(text, boolean, text),
                          crimesnap.approve_context(bigint, text, text),
                          crimesnap.reject_context(bigint, text),
                          crimesnap.revoke_context(bigint, text)
  TO crimesnap_publisher;
