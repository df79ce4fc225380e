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

-- Loaders: the upload and the offence codes of the forces they act for (checked by
-- triggers and row-level security, section 85); registering a batch.  The national tables
-- are crimesnap_admin's: a loader reads them.
GRANT SELECT ON crimesnap.force, crimesnap.neighbourhood, crimesnap.lsoa,
                crimesnap.street, crimesnap.address, crimesnap.public_place,
                crimesnap.highway_class
  TO crimesnap_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.offence_code TO crimesnap_loader;
GRANT INSERT (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context)
  ON crimesnap.crime_upload TO crimesnap_loader;
GRANT SELECT ON crimesnap.batch, crimesnap.reject, crimesnap.reject_reason, crimesnap.category
  TO crimesnap_loader;
GRANT EXECUTE ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text),
                          crimesnap.normalise_street_name(text),
                          crimesnap.screen_context(text)
  TO crimesnap_loader;

-- Publishers: the data controllers' operations, and read access to what they control
-- (row-level security, section 85, limits the raw tables to the forces they act for).
GRANT SELECT ON ALL TABLES IN SCHEMA crimesnap TO crimesnap_publisher;
REVOKE SELECT ON crimesnap.secret, crimesnap.crime_upload, crimesnap.force_binding FROM crimesnap_publisher;
GRANT EXECUTE ON FUNCTION crimesnap.audit_snap_points(integer),
                          crimesnap.audit_published_points(),
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

GRANT USAGE ON SCHEMA crimesnap TO crimesnap_admin;
-- National administrators: forces, boundaries, streets, addresses, places, categories,
-- national offence codes (section 40's trigger), snap point builds, the id key and the
-- force bindings.  They read no raw record and publish nothing.
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.force, crimesnap.neighbourhood, crimesnap.lsoa,
                crimesnap.street, crimesnap.address, crimesnap.public_place,
                crimesnap.highway_class, crimesnap.offence_code, crimesnap.category,
                crimesnap.category_fold, crimesnap.postcode, crimesnap.partner, crimesnap.partner_agreement
  TO crimesnap_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON crimesnap.place_class TO crimesnap_admin;
GRANT SELECT ON crimesnap.snap_point_set, crimesnap.snap_point, crimesnap.snap_point_change,
                crimesnap.snap_point_catchment, crimesnap.force_snap_point_result,
                crimesnap.force_binding, crimesnap.reject_reason
  TO crimesnap_admin;
GRANT EXECUTE ON FUNCTION crimesnap.build_snap_points(text, integer, text, boolean),
                          crimesnap.set_current_snap_points(integer),
                          crimesnap.audit_snap_points(integer),
                          crimesnap.audit_published_points(),
                          crimesnap.catchments(integer),
                          crimesnap.neighbourhood_at(geometry),
                          crimesnap.normalise_street_name(text),
                          crimesnap.setting(text),
                          crimesnap.grant_force(regrole, text),
                          crimesnap.revoke_force(regrole, text)
  TO crimesnap_admin;

-- Everybody who works in schema crimesnap may ask which forces it acts for.
GRANT EXECUTE ON FUNCTION crimesnap.calling_role(),
                          crimesnap.is_admin(),
                          crimesnap.acting_forces(),
                          crimesnap.acts_for(text),
                          crimesnap.assert_acts_for(text),
                          crimesnap.assert_admin(text)
  TO crimesnap_analyst, crimesnap_loader, crimesnap_publisher, crimesnap_admin;
