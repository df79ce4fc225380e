-- Section 40: loading a force's monthly upload.  C: src/sanitise.c.  Tests:
-- test/sql/load.sql, test/pgtap/load.sql.  Guide: docs/force-dba-guide.md.
--
-- A DBA \copy-s the force's CSV into crimesnap.crime_upload (every column text, so that a
-- malformed value never stops the copy), then calls crimesnap.register_batch() with the
-- batch's metadata.  Every row ends up either in crimesnap.raw_crime or in crimesnap.reject
-- with its reason, and the batch fails unless loaded + rejected = supplied.

-- ---- categories ----

CREATE TABLE crimesnap.category (
  scheme text NOT NULL,
  slug   text NOT NULL,
  name   text NOT NULL,
  PRIMARY KEY (scheme, slug)
);
COMMENT ON TABLE crimesnap.category IS
  'Public crime categories by scheme: ''police.uk'' (the 14 of data.police.uk) and ''crimemapper-2010'' (the six the steering group approved).';
COMMENT ON COLUMN crimesnap.category.scheme IS 'Category scheme.';
COMMENT ON COLUMN crimesnap.category.slug IS 'Category id as the API publishes it, for example violent-crime.';
COMMENT ON COLUMN crimesnap.category.name IS 'Category name as the CSV export publishes it, for example Violence and sexual offences.';
INSERT INTO crimesnap.category VALUES
  ('police.uk', 'anti-social-behaviour', 'Anti-social behaviour'),
  ('police.uk', 'bicycle-theft', 'Bicycle theft'),
  ('police.uk', 'burglary', 'Burglary'),
  ('police.uk', 'criminal-damage-arson', 'Criminal damage and arson'),
  ('police.uk', 'drugs', 'Drugs'),
  ('police.uk', 'other-theft', 'Other theft'),
  ('police.uk', 'possession-of-weapons', 'Possession of weapons'),
  ('police.uk', 'public-order', 'Public order'),
  ('police.uk', 'robbery', 'Robbery'),
  ('police.uk', 'shoplifting', 'Shoplifting'),
  ('police.uk', 'theft-from-the-person', 'Theft from the person'),
  ('police.uk', 'vehicle-crime', 'Vehicle crime'),
  ('police.uk', 'violent-crime', 'Violence and sexual offences'),
  ('police.uk', 'other-crime', 'Other crime'),
  ('crimemapper-2010', 'anti-social-behaviour', 'Anti-social behaviour'),
  ('crimemapper-2010', 'burglary', 'Burglary'),
  ('crimemapper-2010', 'robbery', 'Robbery'),
  ('crimemapper-2010', 'vehicle-crime', 'Vehicle crime'),
  ('crimemapper-2010', 'violent-crime', 'Violent crime'),
  ('crimemapper-2010', 'other-crime', 'Other crime');
SELECT pg_catalog.pg_extension_config_dump('crimesnap.category', '');

CREATE TABLE crimesnap.category_fold (
  scheme         text NOT NULL,
  police_uk_slug text NOT NULL,
  slug           text NOT NULL,
  PRIMARY KEY (scheme, police_uk_slug),
  FOREIGN KEY (scheme, slug) REFERENCES crimesnap.category
);
COMMENT ON TABLE crimesnap.category_fold IS
  'How each police.uk category folds into another scheme''s category. police.uk itself folds onto itself.';
COMMENT ON COLUMN crimesnap.category_fold.scheme IS 'Target scheme.';
COMMENT ON COLUMN crimesnap.category_fold.police_uk_slug IS 'police.uk category of the offence.';
COMMENT ON COLUMN crimesnap.category_fold.slug IS 'Category published under the target scheme.';
INSERT INTO crimesnap.category_fold
SELECT 'police.uk', slug, slug FROM crimesnap.category WHERE scheme = 'police.uk';
INSERT INTO crimesnap.category_fold
SELECT 'crimemapper-2010', slug,
       CASE WHEN slug IN ('anti-social-behaviour', 'burglary', 'robbery', 'vehicle-crime', 'violent-crime')
            THEN slug ELSE 'other-crime' END
  FROM crimesnap.category WHERE scheme = 'police.uk';
SELECT pg_catalog.pg_extension_config_dump('crimesnap.category_fold', '');

CREATE TABLE crimesnap.offence_code (
  force_id     text REFERENCES crimesnap.force ON UPDATE CASCADE ON DELETE CASCADE,
  offence_code text NOT NULL,
  slug         text NOT NULL,
  description  text NOT NULL,
  scheme       text NOT NULL DEFAULT 'police.uk' CHECK (scheme = 'police.uk'),
  FOREIGN KEY (scheme, slug) REFERENCES crimesnap.category,
  UNIQUE NULLS NOT DISTINCT (force_id, offence_code)
);
COMMENT ON TABLE crimesnap.offence_code IS
  'Maps Home Office offence classification codes (force_id NULL) and forces'' own codes (force_id set) to police.uk categories. Sensitive offences fold into broad categories here.';
COMMENT ON COLUMN crimesnap.offence_code.force_id IS 'NULL for a Home Office code that holds for every force; a force for its own code.';
COMMENT ON COLUMN crimesnap.offence_code.offence_code IS 'The code as uploaded (compared in upper case, spaces trimmed). ASB is always anti-social behaviour.';
COMMENT ON COLUMN crimesnap.offence_code.slug IS 'police.uk category.';
COMMENT ON COLUMN crimesnap.offence_code.description IS 'What the code covers.';
COMMENT ON COLUMN crimesnap.offence_code.scheme IS 'Always police.uk: other schemes fold from it through crimesnap.category_fold.';
INSERT INTO crimesnap.offence_code (offence_code, slug, description) VALUES
  ('ASB', 'anti-social-behaviour', 'Anti-social behaviour incident'),
  -- Violence and sexual offences: homicide, violence with and without injury, all sexual
  -- offences.  Sexual offences are never published under a category of their own.
  ('1',   'violent-crime', 'Murder'),
  ('2',   'violent-crime', 'Attempted murder'),
  ('4.1', 'violent-crime', 'Manslaughter'),
  ('5A',  'violent-crime', 'Wounding with intent to do grievous bodily harm'),
  ('8N',  'violent-crime', 'Assault with injury'),
  ('8L',  'violent-crime', 'Harassment'),
  ('8M',  'violent-crime', 'Stalking'),
  ('105A','violent-crime', 'Assault without injury'),
  ('19C', 'violent-crime', 'Rape of a female aged 16 and over'),
  ('17A', 'violent-crime', 'Sexual assault on a male aged 13 and over'),
  ('20A', 'violent-crime', 'Sexual assault on a female aged 13 and over'),
  ('22B', 'violent-crime', 'Sexual activity involving a child under 16'),
  ('28A', 'burglary', 'Burglary in a dwelling'),
  ('28B', 'burglary', 'Attempted burglary in a dwelling'),
  ('29',  'burglary', 'Aggravated burglary in a dwelling'),
  ('30A', 'burglary', 'Burglary in a building other than a dwelling'),
  ('31',  'burglary', 'Aggravated burglary in a building other than a dwelling'),
  ('34A', 'robbery', 'Robbery of business property'),
  ('34B', 'robbery', 'Robbery of personal property'),
  ('37.2','vehicle-crime', 'Aggravated vehicle taking'),
  ('45',  'vehicle-crime', 'Theft from a vehicle'),
  ('48',  'vehicle-crime', 'Theft or unauthorised taking of a motor vehicle'),
  ('126', 'vehicle-crime', 'Interfering with a motor vehicle'),
  ('44',  'bicycle-theft', 'Theft or unauthorised taking of a pedal cycle'),
  ('46',  'shoplifting', 'Shoplifting'),
  ('39',  'theft-from-the-person', 'Theft from the person'),
  ('40',  'other-theft', 'Theft in a dwelling other than from an automatic machine or meter'),
  ('41',  'other-theft', 'Theft by an employee'),
  ('43',  'other-theft', 'Theft from an automatic machine or meter'),
  ('49',  'other-theft', 'Other theft'),
  ('54',  'other-theft', 'Handling stolen goods'),
  ('56A', 'criminal-damage-arson', 'Arson endangering life'),
  ('56B', 'criminal-damage-arson', 'Arson not endangering life'),
  ('58A', 'criminal-damage-arson', 'Criminal damage to a dwelling'),
  ('58B', 'criminal-damage-arson', 'Criminal damage to a building other than a dwelling'),
  ('58C', 'criminal-damage-arson', 'Criminal damage to a vehicle'),
  ('58D', 'criminal-damage-arson', 'Other criminal damage'),
  ('92A', 'drugs', 'Trafficking in controlled drugs'),
  ('92D', 'drugs', 'Possession of controlled drugs (excluding cannabis)'),
  ('92E', 'drugs', 'Possession of controlled drugs (cannabis)'),
  ('10A', 'possession-of-weapons', 'Possession of firearms with intent'),
  ('10C', 'possession-of-weapons', 'Possession of an article with a blade or point'),
  ('10D', 'possession-of-weapons', 'Possession of other weapons'),
  ('9A',  'public-order', 'Public fear, alarm or distress'),
  ('62A', 'public-order', 'Violent disorder'),
  ('66',  'public-order', 'Other offences against the state or public order'),
  ('99',  'other-crime', 'Other notifiable offences'),
  ('38',  'other-crime', 'Profiting from or concealing knowledge of the proceeds of crime'),
  ('81',  'other-crime', 'Other firearms offences');
SELECT pg_catalog.pg_extension_config_dump('crimesnap.offence_code', '');

-- ---- the upload ----

CREATE TABLE crimesnap.crime_upload (
  upload_row   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  force        text,
  crime_ref    text,
  offence_code text,
  committed_on text,
  easting      text,
  northing     text,
  neighbourhood text,
  outcome      text,
  context      text,
  loaded_by    name NOT NULL DEFAULT CURRENT_USER,
  loaded_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE crimesnap.crime_upload IS
  'Staging for a force''s monthly CSV: \copy crimesnap.crime_upload (force, crime_ref, offence_code, committed_on, easting, northing, neighbourhood, outcome, context) FROM ''file.csv'' CSV HEADER. crimesnap.register_batch() empties it.';
COMMENT ON COLUMN crimesnap.crime_upload.upload_row IS 'Row number in load order, quoted in rejects.';
COMMENT ON COLUMN crimesnap.crime_upload.force IS 'force_id of the force the record belongs to.';
COMMENT ON COLUMN crimesnap.crime_upload.crime_ref IS 'The force''s crime or incident reference number. Never published.';
COMMENT ON COLUMN crimesnap.crime_upload.offence_code IS 'Home Office classification code, the force''s own code, or ASB.';
COMMENT ON COLUMN crimesnap.crime_upload.committed_on IS 'Date committed, ISO 8601 (YYYY-MM-DD; a time after it is ignored).';
COMMENT ON COLUMN crimesnap.crime_upload.easting IS 'British National Grid easting in metres; empty with northing for no location.';
COMMENT ON COLUMN crimesnap.crime_upload.northing IS 'British National Grid northing in metres; empty with easting for no location.';
COMMENT ON COLUMN crimesnap.crime_upload.neighbourhood IS 'neighbourhood_id, optional; found from the location when there is one.';
COMMENT ON COLUMN crimesnap.crime_upload.outcome IS 'Last outcome category, published as is.';
COMMENT ON COLUMN crimesnap.crime_upload.context IS 'Free-text context, published as is once it passes crimesnap.screen_context().';
COMMENT ON COLUMN crimesnap.crime_upload.loaded_by IS 'Who loaded the row.';
COMMENT ON COLUMN crimesnap.crime_upload.loaded_at IS 'When the row was loaded.';

CREATE TABLE crimesnap.batch (
  batch_id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  force_id         text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  month            date NOT NULL CHECK (month = pg_catalog.date_trunc('month', month)),
  supplying_agency text NOT NULL,
  supplier_name    text NOT NULL,
  supplier_contact text NOT NULL,
  dataset_name     text NOT NULL,
  period_start     date NOT NULL,
  period_end       date NOT NULL,
  file_format      text NOT NULL,
  records_supplied integer NOT NULL CHECK (records_supplied >= 0),
  date_supplied    date NOT NULL,
  caveats          text,
  records_loaded   integer NOT NULL DEFAULT 0,
  records_rejected integer NOT NULL DEFAULT 0,
  registered_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  registered_by    name NOT NULL DEFAULT CURRENT_USER,
  CHECK (records_loaded + records_rejected = records_supplied)
);
COMMENT ON TABLE crimesnap.batch IS
  'One row per registered upload, with the metadata section 3.4 of the CSP information-sharing guidance asks for.';
COMMENT ON COLUMN crimesnap.batch.batch_id IS 'Batch id.';
COMMENT ON COLUMN crimesnap.batch.force_id IS 'The force that supplied it.';
COMMENT ON COLUMN crimesnap.batch.month IS 'The month the records belong to (first day).';
COMMENT ON COLUMN crimesnap.batch.supplying_agency IS 'Name of the agency supplying the information.';
COMMENT ON COLUMN crimesnap.batch.supplier_name IS 'Name of the supplier.';
COMMENT ON COLUMN crimesnap.batch.supplier_contact IS 'Contact details of the supplier.';
COMMENT ON COLUMN crimesnap.batch.dataset_name IS 'Dataset name.';
COMMENT ON COLUMN crimesnap.batch.period_start IS 'First day of the time period covered.';
COMMENT ON COLUMN crimesnap.batch.period_end IS 'Last day of the time period covered.';
COMMENT ON COLUMN crimesnap.batch.file_format IS 'File format, for example crimesnap upload CSV 1.';
COMMENT ON COLUMN crimesnap.batch.records_supplied IS 'Number of records supplied, as the supplier states it.';
COMMENT ON COLUMN crimesnap.batch.date_supplied IS 'Date supplied.';
COMMENT ON COLUMN crimesnap.batch.caveats IS 'Caveats and considerations on the use of the dataset.';
COMMENT ON COLUMN crimesnap.batch.records_loaded IS 'Records accepted into crimesnap.raw_crime.';
COMMENT ON COLUMN crimesnap.batch.records_rejected IS 'Records put in crimesnap.reject.';
COMMENT ON COLUMN crimesnap.batch.registered_at IS 'When the batch was registered.';
COMMENT ON COLUMN crimesnap.batch.registered_by IS 'Who registered it.';

CREATE TABLE crimesnap.raw_crime (
  crime_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id         integer NOT NULL REFERENCES crimesnap.batch,
  force_id         text NOT NULL REFERENCES crimesnap.force ON UPDATE CASCADE,
  crime_ref        text NOT NULL,
  persistent_id    text NOT NULL,
  month            date NOT NULL,
  offence_code     text NOT NULL,
  committed_on     date NOT NULL,
  geom             geometry(Point, 27700),
  neighbourhood_id text REFERENCES crimesnap.neighbourhood ON UPDATE CASCADE,
  outcome          text,
  context          text,
  superseded_by_batch integer REFERENCES crimesnap.batch
);
CREATE UNIQUE INDEX raw_crime_live_ref ON crimesnap.raw_crime (force_id, crime_ref) WHERE superseded_by_batch IS NULL;
CREATE INDEX ON crimesnap.raw_crime (force_id, month) WHERE superseded_by_batch IS NULL;
CREATE INDEX ON crimesnap.raw_crime (persistent_id);
COMMENT ON TABLE crimesnap.raw_crime IS
  'Validated raw records: exact locations and reference numbers. Never readable outside the extension''s owner.';
COMMENT ON COLUMN crimesnap.raw_crime.crime_id IS 'Internal id.';
COMMENT ON COLUMN crimesnap.raw_crime.batch_id IS 'The batch that supplied this version of the record.';
COMMENT ON COLUMN crimesnap.raw_crime.force_id IS 'The force, data controller of the record.';
COMMENT ON COLUMN crimesnap.raw_crime.crime_ref IS 'The force''s reference number. Never leaves the raw tables.';
COMMENT ON COLUMN crimesnap.raw_crime.persistent_id IS 'Keyed HMAC-SHA256 of force and reference; published for crimes, not for ASB.';
COMMENT ON COLUMN crimesnap.raw_crime.month IS 'Month the record belongs to.';
COMMENT ON COLUMN crimesnap.raw_crime.offence_code IS 'Offence code as uploaded, upper case.';
COMMENT ON COLUMN crimesnap.raw_crime.committed_on IS 'Date committed.';
COMMENT ON COLUMN crimesnap.raw_crime.geom IS 'Exact location, EPSG:27700; NULL when the force gave none.';
COMMENT ON COLUMN crimesnap.raw_crime.neighbourhood_id IS 'Neighbourhood found from the location, or as uploaded when there is no location.';
COMMENT ON COLUMN crimesnap.raw_crime.outcome IS 'Last outcome category.';
COMMENT ON COLUMN crimesnap.raw_crime.context IS 'Context that passed screening.';
COMMENT ON COLUMN crimesnap.raw_crime.superseded_by_batch IS 'Set when a later batch resubmitted the same reference: the later row is the live one.';

CREATE TABLE crimesnap.reject_reason (
  reason_code text PRIMARY KEY,
  description text NOT NULL,
  fix         text NOT NULL
);
COMMENT ON TABLE crimesnap.reject_reason IS 'Why a row of an upload can be rejected, and how to fix it.';
COMMENT ON COLUMN crimesnap.reject_reason.reason_code IS 'Reason code stored with each reject.';
COMMENT ON COLUMN crimesnap.reject_reason.description IS 'What is wrong.';
COMMENT ON COLUMN crimesnap.reject_reason.fix IS 'What the force should do before resubmitting the row.';
INSERT INTO crimesnap.reject_reason VALUES
  ('unknown_force', 'the force column is empty or names no force in crimesnap.force', 'Set force to the force''s force_id.'),
  ('missing_reference', 'the crime reference number is empty', 'Give every record its reference number.'),
  ('duplicate_reference', 'the reference number appears more than once in the batch', 'Keep one row per reference; the first one was loaded.'),
  ('unknown_offence_code', 'the offence code is neither a Home Office code, a code of this force in crimesnap.offence_code, nor ASB', 'Correct the code, or add the force''s own code to crimesnap.offence_code.'),
  ('invalid_date', 'the committed date is missing or is not a calendar date in YYYY-MM-DD form', 'Give the date as YYYY-MM-DD.'),
  ('date_outside_month', 'the committed date falls outside the batch''s month', 'Upload the record with the batch for its own month.'),
  ('impossible_coordinates', 'easting and northing are not both numbers inside British National Grid, or only one of them is given', 'Give both in metres, or leave both empty for no location.'),
  ('outside_force_area', 'the location is outside every neighbourhood of the force', 'Check the coordinates, or the force column.'),
  ('unknown_neighbourhood', 'the neighbourhood is not one of this force''s neighbourhoods', 'Use a neighbourhood_id from crimesnap.neighbourhood, or leave it empty.'),
  ('personal_data_in_context', 'the context looks like it holds personal data', 'Remove postcodes, house numbers, phone numbers, email addresses and vehicle registrations from the context.');

CREATE TABLE crimesnap.reject (
  reject_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id    integer NOT NULL REFERENCES crimesnap.batch,
  upload_row  bigint NOT NULL,
  reason_code text NOT NULL REFERENCES crimesnap.reject_reason,
  reason      text NOT NULL,
  row_data    jsonb NOT NULL
);
CREATE INDEX ON crimesnap.reject (batch_id);
COMMENT ON TABLE crimesnap.reject IS
  'Every row a batch did not load, whole, with its reason. Nothing is dropped silently.';
COMMENT ON COLUMN crimesnap.reject.reject_id IS 'Reject id.';
COMMENT ON COLUMN crimesnap.reject.batch_id IS 'The batch the row came with.';
COMMENT ON COLUMN crimesnap.reject.upload_row IS 'The row''s crimesnap.crime_upload.upload_row.';
COMMENT ON COLUMN crimesnap.reject.reason_code IS 'See crimesnap.reject_reason.';
COMMENT ON COLUMN crimesnap.reject.reason IS 'The reason, with the offending value.';
COMMENT ON COLUMN crimesnap.reject.row_data IS 'The row as uploaded.';

-- ---- screening the context ----

CREATE FUNCTION crimesnap.screen_context(context text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- The guidance publishes context as-is, so this screen is the only safeguard: the first
  -- kind of personal data it finds, or NULL when it finds none.
  SELECT CASE
    WHEN $1 ~* '[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}' THEN 'email address'
    WHEN $1 ~* '\m[a-z]{1,2}[0-9][a-z0-9]?\s*[0-9][a-z]{2}\M' THEN 'postcode'
    WHEN $1 ~ '(\+44\s?|\m0)([0-9][\s-]?){9,10}' THEN 'phone number'
    WHEN $1 ~* '\m[a-z]{2}[0-9]{2}\s?[a-z]{3}\M' THEN 'vehicle registration'
    WHEN $1 ~* '\m[0-9]+[a-z]?,?\s+([a-z''-]+\s+){1,3}(street|st|road|rd|avenue|ave|lane|ln|close|way|drive|place|square|gardens|crescent|terrace|court|grove|hill|row|mews|walk)\M'
      THEN 'house number and street'
  END
$fn$;
COMMENT ON FUNCTION crimesnap.screen_context(text) IS
  'The kind of personal data a context text seems to hold (email address, postcode, phone number, vehicle registration, house number and street), or NULL.';

-- ---- registering a batch ----

CREATE FUNCTION crimesnap.register_batch(
  force            text,
  month            date,
  records_supplied integer,
  supplying_agency text,
  supplier_name    text,
  supplier_contact text,
  dataset_name     text,
  file_format      text DEFAULT 'crimesnap upload CSV 1',
  date_supplied    date DEFAULT CURRENT_DATE,
  caveats          text DEFAULT NULL)
RETURNS crimesnap.batch
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', register_batch.month)::date;
  b crimesnap.batch;
  n_loaded integer;
  n_rejected integer;
BEGIN
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = register_batch.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', register_batch.force
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Add it to crimesnap.force first, or use its force_id.';
  END IF;
  IF records_supplied IS NULL OR records_supplied < 0 THEN
    RAISE EXCEPTION 'records_supplied must be the number of records the force supplied'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  INSERT INTO crimesnap.batch AS x
    (force_id, month, supplying_agency, supplier_name, supplier_contact, dataset_name,
     period_start, period_end, file_format, records_supplied, date_supplied, caveats,
     records_loaded, records_rejected)
  VALUES (register_batch.force, m, supplying_agency, supplier_name, supplier_contact, dataset_name,
          m, (m + interval '1 month - 1 day')::date, file_format, records_supplied, date_supplied, caveats,
          0, records_supplied)
  RETURNING x.* INTO b;

  -- Claim this force's rows, and rows that name no known force (they are rejected here
  -- rather than left behind).  A failure below rolls the claim back with everything else.
  CREATE TEMP TABLE cs_upload ON COMMIT DROP AS
  WITH claimed AS (
    DELETE FROM crimesnap.crime_upload u
     WHERE u.force IS NOT DISTINCT FROM register_batch.force
        OR NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = u.force)
    RETURNING u.*)
  SELECT c.*,
         nullif(btrim(c.crime_ref), '') AS ref,
         upper(btrim(c.offence_code)) AS code,
         CASE WHEN c.committed_on ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$' THEN
           CASE WHEN substr(btrim(c.committed_on), 6, 2)::int BETWEEN 1 AND 12
                 AND substr(btrim(c.committed_on), 9, 2)::int BETWEEN 1 AND
                     extract(day FROM make_date(substr(btrim(c.committed_on), 1, 4)::int,
                                                substr(btrim(c.committed_on), 6, 2)::int, 1)
                                      + interval '1 month - 1 day')::int
                 AND substr(btrim(c.committed_on), 1, 4)::int > 0
                THEN substr(btrim(c.committed_on), 1, 10)::date END
         END AS committed,
         CASE WHEN nullif(btrim(c.easting), '') IS NULL AND nullif(btrim(c.northing), '') IS NULL THEN 'none'
              WHEN c.easting ~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*$' AND c.northing ~ '^\s*[+-]?[0-9]+(\.[0-9]+)?\s*$'
               AND btrim(c.easting)::float8 BETWEEN 0 AND 700000
               AND btrim(c.northing)::float8 BETWEEN 0 AND 1300000 THEN 'ok'
              ELSE 'bad' END AS loc_state
    FROM claimed c;

  CREATE TEMP TABLE cs_checked ON COMMIT DROP AS
  SELECT u.*, loc.geom, loc.neighbourhood_id,
         CASE
           WHEN u.force IS DISTINCT FROM register_batch.force THEN 'unknown_force'
           WHEN u.ref IS NULL THEN 'missing_reference'
           WHEN u.dup > 1 THEN 'duplicate_reference'
           WHEN u.code IS DISTINCT FROM 'ASB' AND NOT EXISTS (
                  SELECT FROM crimesnap.offence_code o
                   WHERE o.offence_code = u.code
                     AND (o.force_id IS NULL OR o.force_id = register_batch.force)) THEN 'unknown_offence_code'
           WHEN u.committed IS NULL THEN 'invalid_date'
           WHEN pg_catalog.date_trunc('month', u.committed) <> m THEN 'date_outside_month'
           WHEN u.loc_state = 'bad' THEN 'impossible_coordinates'
           WHEN u.loc_state = 'ok' AND loc.neighbourhood_id IS NULL THEN 'outside_force_area'
           WHEN u.loc_state = 'none' AND nullif(btrim(u.neighbourhood), '') IS NOT NULL
                AND NOT EXISTS (SELECT FROM crimesnap.neighbourhood n
                                 WHERE n.neighbourhood_id = btrim(u.neighbourhood)
                                   AND n.force_id = register_batch.force) THEN 'unknown_neighbourhood'
           WHEN crimesnap.screen_context(u.context) IS NOT NULL THEN 'personal_data_in_context'
         END AS reason_code
    FROM (SELECT x.*, row_number() OVER (PARTITION BY x.force, x.ref ORDER BY x.upload_row) AS dup
            FROM pg_temp.cs_upload x) u
    LEFT JOIN LATERAL (
      SELECT g.geom,
             CASE WHEN u.loc_state = 'ok' THEN
               (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                 WHERE n.force_id = register_batch.force AND ST_Intersects(n.geom, g.geom)
                 ORDER BY n.neighbourhood_id LIMIT 1)
             ELSE nullif(btrim(u.neighbourhood), '') END AS neighbourhood_id
        FROM (SELECT CASE WHEN u.loc_state = 'ok'
                          THEN ST_SetSRID(ST_MakePoint(btrim(u.easting)::float8, btrim(u.northing)::float8), 27700)
                     END AS geom) g) loc ON true;

  -- A reference already live from an earlier batch is being resubmitted: the new row wins.
  UPDATE crimesnap.raw_crime r SET superseded_by_batch = b.batch_id
    FROM pg_temp.cs_checked c
   WHERE c.reason_code IS NULL AND r.superseded_by_batch IS NULL
     AND r.force_id = register_batch.force AND r.crime_ref = c.ref;

  INSERT INTO crimesnap.raw_crime
    (batch_id, force_id, crime_ref, persistent_id, month, offence_code, committed_on, geom,
     neighbourhood_id, outcome, context)
  SELECT b.batch_id, register_batch.force, c.ref, crimesnap.persistent_id(register_batch.force, c.ref),
         m, c.code, c.committed, c.geom, c.neighbourhood_id,
         nullif(btrim(c.outcome), ''), nullif(btrim(c.context), '')
    FROM pg_temp.cs_checked c
   WHERE c.reason_code IS NULL
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_loaded = ROW_COUNT;

  INSERT INTO crimesnap.reject (batch_id, upload_row, reason_code, reason, row_data)
  SELECT b.batch_id, c.upload_row, c.reason_code,
         rr.description || CASE c.reason_code
           WHEN 'unknown_force' THEN pg_catalog.format(' (%s)', coalesce(c.force, 'empty'))
           WHEN 'unknown_offence_code' THEN pg_catalog.format(' (%s)', coalesce(c.code, 'empty'))
           WHEN 'invalid_date' THEN pg_catalog.format(' (%s)', coalesce(c.committed_on, 'empty'))
           WHEN 'date_outside_month' THEN pg_catalog.format(' (%s is not in %s)', c.committed, pg_catalog.to_char(m, 'YYYY-MM'))
           WHEN 'impossible_coordinates' THEN pg_catalog.format(' (%s, %s)', coalesce(c.easting, 'empty'), coalesce(c.northing, 'empty'))
           WHEN 'unknown_neighbourhood' THEN pg_catalog.format(' (%s)', c.neighbourhood)
           WHEN 'personal_data_in_context' THEN pg_catalog.format(' (%s)', crimesnap.screen_context(c.context))
           ELSE '' END,
         pg_catalog.jsonb_build_object(
           'force', c.force, 'crime_ref', c.crime_ref, 'offence_code', c.offence_code,
           'committed_on', c.committed_on, 'easting', c.easting, 'northing', c.northing,
           'neighbourhood', c.neighbourhood, 'outcome', c.outcome, 'context', c.context)
    FROM pg_temp.cs_checked c
    JOIN crimesnap.reject_reason rr ON rr.reason_code = c.reason_code
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_rejected = ROW_COUNT;

  IF n_loaded + n_rejected <> records_supplied THEN
    RAISE EXCEPTION 'batch for force % month % has % records, but % were supplied',
                    register_batch.force, pg_catalog.to_char(m, 'YYYY-MM'), n_loaded + n_rejected, records_supplied
      USING ERRCODE = 'data_exception',
            DETAIL = pg_catalog.format('%s rows loaded and %s rejected from crimesnap.crime_upload.', n_loaded, n_rejected),
            HINT = 'Check that the whole file was copied into crimesnap.crime_upload, then register the batch again with the supplier''s record count. Nothing was kept.';
  END IF;

  UPDATE crimesnap.batch x SET records_loaded = n_loaded, records_rejected = n_rejected
   WHERE x.batch_id = b.batch_id
  RETURNING x.* INTO b;
  DROP TABLE pg_temp.cs_upload, pg_temp.cs_checked;
  RETURN b;
END
$fn$;
COMMENT ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text) IS
  'Validates the force''s rows in crimesnap.crime_upload into crimesnap.raw_crime and crimesnap.reject, records the batch''s metadata, and fails unless loaded + rejected = records_supplied.';
