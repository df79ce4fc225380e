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

CREATE TABLE crimesnap.offence_code (
  force_id     text REFERENCES crimesnap.force ON DELETE CASCADE,
  offence_code text NOT NULL CHECK (offence_code = upper(btrim(offence_code)) AND offence_code <> ''),
  slug         text NOT NULL,
  description  text NOT NULL,
  sensitive    boolean NOT NULL DEFAULT false,
  scheme       text NOT NULL DEFAULT 'police.uk' CHECK (scheme = 'police.uk'),
  FOREIGN KEY (scheme, slug) REFERENCES crimesnap.category,
  UNIQUE NULLS NOT DISTINCT (force_id, offence_code),
  -- A sensitive offence never gets a category of its own, whatever categories are added
  -- later: it folds into one of the two broadest, as the CrimeMapper categories did.
  CONSTRAINT sensitive_offences_fold_broad
    CHECK (NOT sensitive OR slug IN ('violent-crime', 'other-crime')),
  CONSTRAINT asb_is_asb
    CHECK ((offence_code = 'ASB') = (slug = 'anti-social-behaviour'))
);
COMMENT ON TABLE crimesnap.offence_code IS
  'Maps Home Office offence classification codes (force_id NULL) and forces'' own codes (force_id set) to police.uk categories. A force''s own code wins over a Home Office code of the same spelling. Sensitive offences fold into broad categories here; see docs/loading.md.';
COMMENT ON COLUMN crimesnap.offence_code.force_id IS 'NULL for a Home Office code that holds for every force; a force for its own code.';
COMMENT ON COLUMN crimesnap.offence_code.offence_code IS 'The code in upper case without surrounding spaces; uploads are compared the same way. ASB is always anti-social behaviour.';
COMMENT ON COLUMN crimesnap.offence_code.slug IS 'police.uk category.';
COMMENT ON COLUMN crimesnap.offence_code.description IS 'What the code covers.';
COMMENT ON COLUMN crimesnap.offence_code.sensitive IS 'true for offences whose own category could point at a victim (sexual offences, offences against children, domestic abuse): they may only map to violent-crime or other-crime.';
COMMENT ON COLUMN crimesnap.offence_code.scheme IS 'Always police.uk: other schemes fold from it through crimesnap.category_fold.';
-- The Home Office codes as the Counting Rules number them.  Forces check this list against
-- the Counting Rules of the year they publish, and add their own codes with force_id set.
INSERT INTO crimesnap.offence_code (offence_code, slug, sensitive, description) VALUES
  ('ASB',  'anti-social-behaviour', false, 'Anti-social behaviour incident'),
  -- Violence against the person
  ('1',    'violent-crime', false, 'Murder'),
  ('2',    'violent-crime', false, 'Attempted murder'),
  ('3A',   'violent-crime', false, 'Conspiracy to murder'),
  ('3B',   'violent-crime', false, 'Threats to kill'),
  ('4.1',  'violent-crime', false, 'Manslaughter'),
  ('4.2',  'violent-crime', true,  'Infanticide'),
  ('4.3',  'violent-crime', true,  'Intentional destruction of a viable unborn child'),
  ('4.4',  'violent-crime', false, 'Causing death by dangerous driving'),
  ('4.6',  'violent-crime', false, 'Causing death by careless driving when under the influence of drink or drugs'),
  ('4.7',  'violent-crime', true,  'Causing or allowing the death of a child or vulnerable person'),
  ('4.8',  'violent-crime', false, 'Causing death by careless or inconsiderate driving'),
  ('4.9',  'violent-crime', false, 'Causing death by driving: unlicensed, disqualified or uninsured drivers'),
  ('4.10', 'violent-crime', false, 'Corporate manslaughter'),
  ('5A',   'violent-crime', false, 'Assault with intent to cause serious harm'),
  ('5E',   'violent-crime', false, 'Endangering life'),
  ('8L',   'violent-crime', true,  'Harassment'),
  ('8M',   'violent-crime', true,  'Racially or religiously aggravated harassment'),
  ('8N',   'violent-crime', false, 'Assault with injury'),
  ('8P',   'violent-crime', false, 'Racially or religiously aggravated assault with injury'),
  ('8Q',   'violent-crime', true,  'Stalking'),
  ('8R',   'violent-crime', true,  'Malicious communications'),
  ('8S',   'violent-crime', false, 'Assault with injury on a constable'),
  ('8T',   'violent-crime', false, 'Assault with injury on an emergency worker (other than a constable)'),
  ('8U',   'violent-crime', true,  'Controlling or coercive behaviour'),
  ('11A',  'violent-crime', true,  'Cruelty to children or young persons'),
  ('12',   'violent-crime', true,  'Abandoning a child under the age of two years'),
  ('13',   'violent-crime', true,  'Child abduction'),
  ('14',   'violent-crime', true,  'Procuring illegal abortion'),
  ('36',   'violent-crime', false, 'Kidnapping'),
  ('37.1', 'violent-crime', false, 'Causing death by aggravated vehicle taking'),
  ('104',  'violent-crime', false, 'Assault without injury on a constable'),
  ('105A', 'violent-crime', false, 'Assault without injury'),
  ('105B', 'violent-crime', false, 'Racially or religiously aggravated assault without injury'),
  ('106',  'violent-crime', true,  'Modern slavery'),
  -- Sexual offences: never a category of their own, so never published as such.
  ('17A',  'violent-crime', true,  'Sexual assault on a male aged 13 and over'),
  ('17B',  'violent-crime', true,  'Sexual assault on a male child under 13'),
  ('19C',  'violent-crime', true,  'Rape of a female aged 16 and over'),
  ('19D',  'violent-crime', true,  'Rape of a female child under 16'),
  ('19E',  'violent-crime', true,  'Rape of a female child under 13'),
  ('19F',  'violent-crime', true,  'Rape of a male aged 16 and over'),
  ('19G',  'violent-crime', true,  'Rape of a male child under 16'),
  ('19H',  'violent-crime', true,  'Rape of a male child under 13'),
  ('20A',  'violent-crime', true,  'Sexual assault on a female aged 13 and over'),
  ('20B',  'violent-crime', true,  'Sexual assault on a female child under 13'),
  ('21',   'violent-crime', true,  'Sexual activity involving a child under 13'),
  ('22A',  'violent-crime', true,  'Causing sexual activity without consent'),
  ('22B',  'violent-crime', true,  'Sexual activity involving a child under 16'),
  ('23',   'violent-crime', true,  'Incest or familial sexual offences'),
  ('24',   'violent-crime', true,  'Exploitation of prostitution'),
  ('25',   'violent-crime', true,  'Abuse of children through sexual exploitation'),
  ('27',   'violent-crime', true,  'Soliciting for the purpose of prostitution'),
  ('70',   'violent-crime', true,  'Sexual activity etc. with a person with a mental disorder'),
  ('71',   'violent-crime', true,  'Abuse of a position of trust of a sexual nature'),
  ('72',   'violent-crime', true,  'Trafficking for sexual exploitation'),
  ('73',   'violent-crime', true,  'Abuse of trust'),
  ('86',   'violent-crime', true,  'Obscene publications etc. and protected sexual material'),
  ('88A',  'violent-crime', true,  'Sexual grooming'),
  ('88C',  'violent-crime', true,  'Other miscellaneous sexual offences'),
  ('88E',  'violent-crime', true,  'Exposure and voyeurism'),
  -- Robbery
  ('34A',  'robbery', false, 'Robbery of business property'),
  ('34B',  'robbery', false, 'Robbery of personal property'),
  -- Burglary (28A-28D and 30A-30B are the codes before the 2017 residential/business split)
  ('28A',  'burglary', false, 'Burglary in a dwelling'),
  ('28B',  'burglary', false, 'Attempted burglary in a dwelling'),
  ('28C',  'burglary', false, 'Distraction burglary in a dwelling'),
  ('28D',  'burglary', false, 'Attempted distraction burglary in a dwelling'),
  ('28E',  'burglary', false, 'Burglary - residential'),
  ('28F',  'burglary', false, 'Attempted burglary - residential'),
  ('28G',  'burglary', false, 'Distraction burglary - residential'),
  ('28H',  'burglary', false, 'Attempted distraction burglary - residential'),
  ('29',   'burglary', false, 'Aggravated burglary in a dwelling'),
  ('30A',  'burglary', false, 'Burglary in a building other than a dwelling'),
  ('30B',  'burglary', false, 'Attempted burglary in a building other than a dwelling'),
  ('30C',  'burglary', false, 'Burglary - business and community'),
  ('30D',  'burglary', false, 'Attempted burglary - business and community'),
  ('31',   'burglary', false, 'Aggravated burglary in a building other than a dwelling'),
  -- Vehicle crime
  ('37.2', 'vehicle-crime', false, 'Aggravated vehicle taking'),
  ('45',   'vehicle-crime', false, 'Theft from a vehicle'),
  ('48',   'vehicle-crime', false, 'Theft or unauthorised taking of a motor vehicle'),
  ('126',  'vehicle-crime', false, 'Interfering with a motor vehicle'),
  -- Theft
  ('44',   'bicycle-theft', false, 'Theft or unauthorised taking of a pedal cycle'),
  ('46',   'shoplifting', false, 'Shoplifting'),
  ('39',   'theft-from-the-person', false, 'Theft from the person'),
  ('35',   'other-theft', false, 'Blackmail'),
  ('40',   'other-theft', false, 'Theft in a dwelling other than from an automatic machine or meter'),
  ('41',   'other-theft', false, 'Theft by an employee'),
  ('42',   'other-theft', false, 'Theft of mail'),
  ('43',   'other-theft', false, 'Dishonest use of electricity'),
  ('47',   'other-theft', false, 'Theft from an automatic machine or meter'),
  ('49',   'other-theft', false, 'Other theft'),
  -- Criminal damage and arson
  ('56A',  'criminal-damage-arson', false, 'Arson endangering life'),
  ('56B',  'criminal-damage-arson', false, 'Arson not endangering life'),
  ('58A',  'criminal-damage-arson', false, 'Criminal damage to a dwelling'),
  ('58B',  'criminal-damage-arson', false, 'Criminal damage to a building other than a dwelling'),
  ('58C',  'criminal-damage-arson', false, 'Criminal damage to a vehicle'),
  ('58D',  'criminal-damage-arson', false, 'Other criminal damage'),
  ('58E',  'criminal-damage-arson', false, 'Racially or religiously aggravated criminal damage to a dwelling'),
  ('58F',  'criminal-damage-arson', false, 'Racially or religiously aggravated criminal damage to a building other than a dwelling'),
  ('58G',  'criminal-damage-arson', false, 'Racially or religiously aggravated criminal damage to a vehicle'),
  ('58H',  'criminal-damage-arson', false, 'Racially or religiously aggravated other criminal damage'),
  -- Drugs
  ('92A',  'drugs', false, 'Trafficking in controlled drugs'),
  ('92C',  'drugs', false, 'Other drug offences'),
  ('92D',  'drugs', false, 'Possession of controlled drugs (excluding cannabis)'),
  ('92E',  'drugs', false, 'Possession of controlled drugs (cannabis)'),
  -- Possession of weapons
  ('10A',  'possession-of-weapons', false, 'Possession of firearms with intent'),
  ('10B',  'possession-of-weapons', false, 'Possession of firearms offences'),
  ('10C',  'possession-of-weapons', false, 'Possession of other weapons'),
  ('10D',  'possession-of-weapons', false, 'Possession of article with blade or point'),
  ('81',   'possession-of-weapons', false, 'Other firearms offences'),
  ('90',   'possession-of-weapons', false, 'Other knives offences'),
  -- Public order
  ('9A',   'public-order', false, 'Public fear, alarm or distress'),
  ('9B',   'public-order', false, 'Racially or religiously aggravated public fear, alarm or distress'),
  ('62A',  'public-order', false, 'Violent disorder'),
  ('66',   'public-order', false, 'Other offences against the state or public order'),
  -- Miscellaneous crimes against society
  ('26',   'other-crime', false, 'Bigamy'),
  ('33',   'other-crime', false, 'Going equipped for stealing'),
  ('38',   'other-crime', false, 'Profiting from or concealing knowledge of the proceeds of crime'),
  ('54',   'other-crime', false, 'Handling stolen goods'),
  ('59',   'other-crime', false, 'Threat or possession with intent to commit criminal damage'),
  ('60',   'other-crime', false, 'Forgery or use of false drug prescription'),
  ('61',   'other-crime', false, 'Other forgery'),
  ('61A',  'other-crime', false, 'Possession of false documents'),
  ('67',   'other-crime', false, 'Perjury'),
  ('79',   'other-crime', false, 'Perverting the course of justice'),
  ('80',   'other-crime', false, 'Absconding from lawful custody'),
  ('83',   'other-crime', false, 'Bail offences'),
  ('95',   'other-crime', false, 'Disclosure, obstruction, false or misleading statements etc.'),
  ('99',   'other-crime', false, 'Other notifiable offences'),
  ('802',  'other-crime', false, 'Dangerous driving');

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
COMMENT ON COLUMN crimesnap.crime_upload.outcome IS 'Latest outcome: a police.uk outcome category (name or code) or the force''s own code or text mapped in crimesnap.outcome_code. Published only as a police.uk category.';
COMMENT ON COLUMN crimesnap.crime_upload.context IS 'Free-text context. Published only once the force approved that exact text (crimesnap.context_review), and only if the force publishes context.';
COMMENT ON COLUMN crimesnap.crime_upload.loaded_by IS 'Who loaded the row.';
COMMENT ON COLUMN crimesnap.crime_upload.loaded_at IS 'When the row was loaded.';

-- A loader inserts only the CSV's columns (loaded_by is always the role that loaded the
-- row), and only rows of the forces it acts for, or rows naming no known force (which its
-- own next batch rejects).  Row-level security would forbid \copy, so a statement trigger
-- checks the rows, and loaders read and delete their staged rows through
-- crimesnap.staged_upload.
CREATE FUNCTION crimesnap.check_upload_forces()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
DECLARE
  bad text;
BEGIN
  SELECT pg_catalog.string_agg(DISTINCT n.force, ', ') INTO bad
    FROM new_rows n
   WHERE EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id OPERATOR(pg_catalog.=) n.force)
     AND NOT n.force OPERATOR(pg_catalog.=) ANY (crimesnap.acting_forces());
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'role % does not act for force %, so it may not stage its records', crimesnap.calling_role(), bad
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Nothing of this statement was staged.',
            HINT = 'Load only the rows of the forces you act for (see crimesnap.acting_forces()); a member of crimesnap_admin binds roles to forces with crimesnap.grant_force().';
  END IF;
  RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_upload_forces() IS
  'Statement trigger on crimesnap.crime_upload: refuses the whole statement when a row names a force the calling role does not act for.';
CREATE TRIGGER check_upload_forces AFTER INSERT ON crimesnap.crime_upload
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crimesnap.check_upload_forces();
COMMENT ON TRIGGER check_upload_forces ON crimesnap.crime_upload IS
  'Refuses staged rows of forces the loading role does not act for.';

CREATE VIEW crimesnap.staged_upload WITH (security_barrier) AS
SELECT u.upload_row, u.force, u.crime_ref, u.offence_code, u.committed_on, u.easting, u.northing,
       u.neighbourhood, u.outcome, u.context, u.loaded_by, u.loaded_at
  FROM crimesnap.crime_upload u
 WHERE u.force OPERATOR(pg_catalog.=) ANY (crimesnap.acting_forces())
    OR u.loaded_by OPERATOR(pg_catalog.=) CURRENT_USER;
COMMENT ON VIEW crimesnap.staged_upload IS
  'The staged rows of crimesnap.crime_upload the calling role may see and delete: those of the forces it acts for, and those it loaded itself.';
COMMENT ON COLUMN crimesnap.staged_upload.upload_row IS 'Row number in load order, quoted in rejects.';
COMMENT ON COLUMN crimesnap.staged_upload.force IS 'force_id of the force the record belongs to.';
COMMENT ON COLUMN crimesnap.staged_upload.crime_ref IS 'The force''s crime or incident reference number.';
COMMENT ON COLUMN crimesnap.staged_upload.offence_code IS 'Offence code as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.committed_on IS 'Date committed, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.easting IS 'Easting, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.northing IS 'Northing, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.neighbourhood IS 'neighbourhood_id, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.outcome IS 'Outcome, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.context IS 'Context, as uploaded.';
COMMENT ON COLUMN crimesnap.staged_upload.loaded_by IS 'The role that loaded the row.';
COMMENT ON COLUMN crimesnap.staged_upload.loaded_at IS 'When the row was loaded.';

CREATE TABLE crimesnap.batch (
  batch_id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  force_id         text NOT NULL REFERENCES crimesnap.force,
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
  registered_by    name NOT NULL DEFAULT SESSION_USER,
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
COMMENT ON COLUMN crimesnap.batch.records_loaded IS 'Records accepted: loaded into crimesnap.raw_crime, or (a reference live in another month) taken as an update of that record''s outcome.';
COMMENT ON COLUMN crimesnap.batch.records_rejected IS 'Records put in crimesnap.reject.';
COMMENT ON COLUMN crimesnap.batch.registered_at IS 'When the batch was registered.';
COMMENT ON COLUMN crimesnap.batch.registered_by IS 'Who registered it: the session user, not the definer crimesnap.register_batch() runs as.';

CREATE TABLE crimesnap.raw_crime (
  crime_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id         integer NOT NULL REFERENCES crimesnap.batch,
  force_id         text NOT NULL REFERENCES crimesnap.force,
  crime_ref        text NOT NULL,
  persistent_id    text NOT NULL,
  month            date NOT NULL,
  offence_code     text NOT NULL,
  committed_on     date NOT NULL,
  geom             geometry(Point, 27700),
  neighbourhood_id text REFERENCES crimesnap.neighbourhood,
  outcome          text,
  context          text,
  superseded_by_batch integer REFERENCES crimesnap.batch,
  correction       integer NOT NULL DEFAULT 0 CHECK (correction >= 0)
);
CREATE UNIQUE INDEX raw_crime_live_ref ON crimesnap.raw_crime (force_id, crime_ref) WHERE superseded_by_batch IS NULL;
CREATE INDEX ON crimesnap.raw_crime (force_id, month) WHERE superseded_by_batch IS NULL;
CREATE INDEX ON crimesnap.raw_crime (persistent_id);
-- A batch's records are read back by batch (contexts, rejects resolved): without this, a
-- scan of every month ever loaded.
CREATE INDEX ON crimesnap.raw_crime (batch_id);
COMMENT ON TABLE crimesnap.raw_crime IS
  'Validated raw records: exact locations and reference numbers. Never readable outside the extension''s owner.';
COMMENT ON COLUMN crimesnap.raw_crime.crime_id IS 'Internal id.';
COMMENT ON COLUMN crimesnap.raw_crime.batch_id IS 'The batch that supplied this version of the record.';
COMMENT ON COLUMN crimesnap.raw_crime.force_id IS 'The force, data controller of the record.';
COMMENT ON COLUMN crimesnap.raw_crime.crime_ref IS 'The force''s reference number. Never leaves the raw tables.';
COMMENT ON COLUMN crimesnap.raw_crime.persistent_id IS 'Keyed HMAC-SHA256 of force, reference and correction number; published for crimes, not for ASB.';
COMMENT ON COLUMN crimesnap.raw_crime.month IS 'Month the record belongs to.';
COMMENT ON COLUMN crimesnap.raw_crime.offence_code IS 'Offence code as uploaded, upper case.';
COMMENT ON COLUMN crimesnap.raw_crime.committed_on IS 'Date committed.';
COMMENT ON COLUMN crimesnap.raw_crime.geom IS 'Exact location, EPSG:27700; NULL when the force gave none.';
COMMENT ON COLUMN crimesnap.raw_crime.neighbourhood_id IS 'Neighbourhood found from the location, or as uploaded when there is no location.';
COMMENT ON COLUMN crimesnap.raw_crime.outcome IS 'Outcome as uploaded with this version of the record; crimesnap.outcome_history holds what is published.';
COMMENT ON COLUMN crimesnap.raw_crime.context IS 'Context as uploaded (trimmed). Published only as an approved crimesnap.context_text.';
COMMENT ON COLUMN crimesnap.raw_crime.superseded_by_batch IS 'Set when a later batch of the same month resubmitted the same reference: the later row is the live one.';
COMMENT ON COLUMN crimesnap.raw_crime.correction IS 'How many times the force has corrected the location of a record already published at a position: part of the persistent id, so that a corrected record never shares its id with the old position.';

CREATE TABLE crimesnap.reject_reason (
  reason_code text PRIMARY KEY,
  description text NOT NULL,
  fix         text NOT NULL
);
COMMENT ON TABLE crimesnap.reject_reason IS 'Why a row of an upload can be rejected, and how to fix it. A row is rejected for the first reason, in check order, that applies.';
COMMENT ON COLUMN crimesnap.reject_reason.reason_code IS 'Reason code stored with each reject.';
COMMENT ON COLUMN crimesnap.reject_reason.description IS 'What is wrong.';
COMMENT ON COLUMN crimesnap.reject_reason.fix IS 'What the force should do before resubmitting the row.';
INSERT INTO crimesnap.reject_reason VALUES
  ('unknown_force', 'the force column is empty or names no force in crimesnap.force', 'Set force to the force''s force_id.'),
  ('missing_reference', 'the crime reference number is empty', 'Give every record its reference number.'),
  ('reference_too_long', 'the reference number is longer than 100 characters', 'Give the force''s own reference number, as recorded on the crime record.'),
  ('duplicate_reference', 'the reference number appears more than once in the batch', 'Keep one row per reference; the first one was considered and this one dropped.'),
  ('unknown_offence_code', 'the offence code is neither a Home Office code, a code of this force in crimesnap.offence_code, nor ASB', 'Correct the code, or add the force''s own code to crimesnap.offence_code.'),
  ('invalid_date', 'the committed date is missing or is not a calendar date in YYYY-MM-DD form', 'Give the date as YYYY-MM-DD.'),
  ('date_outside_month', 'the committed date falls outside the batch''s month', 'Upload the record with the batch for its own month.'),
  ('impossible_coordinates', 'the coordinates are missing or impossible: only one of easting and northing is given, or they are not numbers inside British National Grid', 'Give both in metres, or leave both empty for a crime with no location.'),
  ('outside_force_area', 'the location is outside every neighbourhood of the force', 'Check the coordinates, or the force column.'),
  ('unknown_neighbourhood', 'the neighbourhood is not one of this force''s neighbourhoods', 'Use a neighbourhood_id from crimesnap.neighbourhood, or leave it empty.'),
  ('personal_data_in_context', 'the context looked like it held personal data (crimesnap 0.1.0; since 0.2.0 such a row loads and its context waits for review)', 'Remove postcodes, house numbers with street names, phone numbers, email addresses and vehicle registrations from the context.'),
  ('personal_data_in_outcome', 'the outcome looked like it held personal data (crimesnap 0.1.0; since 0.2.0 an outcome is published only as a police.uk outcome category)', 'Give the outcome as a police.uk outcome category, or map the force''s own outcome in crimesnap.outcome_code.');

CREATE TABLE crimesnap.reject (
  reject_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id    integer NOT NULL REFERENCES crimesnap.batch,
  upload_row  bigint NOT NULL,
  force_id    text NOT NULL,
  crime_ref   text,
  reason_code text NOT NULL REFERENCES crimesnap.reject_reason,
  reason      text NOT NULL,
  row_data    jsonb NOT NULL,
  resolved_by_batch integer REFERENCES crimesnap.batch,
  resolved_crime_id bigint REFERENCES crimesnap.raw_crime
);
CREATE INDEX ON crimesnap.reject (batch_id);
CREATE INDEX ON crimesnap.reject (force_id, crime_ref) WHERE resolved_by_batch IS NULL;
COMMENT ON TABLE crimesnap.reject IS
  'Every row a batch did not load, whole, with its reason. Nothing is dropped silently. A reject is resolved when a batch of the same force loads a record with its reference.';
COMMENT ON COLUMN crimesnap.reject.reject_id IS 'Reject id.';
COMMENT ON COLUMN crimesnap.reject.batch_id IS 'The batch the row came with.';
COMMENT ON COLUMN crimesnap.reject.upload_row IS 'The row''s crimesnap.crime_upload.upload_row.';
COMMENT ON COLUMN crimesnap.reject.force_id IS 'The force of the batch that claimed the row.';
COMMENT ON COLUMN crimesnap.reject.crime_ref IS 'The reference number as uploaded (trimmed), when there was one of at most 100 characters. A raw table: never published.';
COMMENT ON COLUMN crimesnap.reject.reason_code IS 'See crimesnap.reject_reason.';
COMMENT ON COLUMN crimesnap.reject.reason IS 'The reason, with the offending value (its first 100 characters; for personal data, only its kind).';
COMMENT ON COLUMN crimesnap.reject.row_data IS 'The row as uploaded.';
COMMENT ON COLUMN crimesnap.reject.resolved_by_batch IS 'The batch that loaded a record with this reference (for a duplicate, the batch that loaded the first copy); NULL while outstanding.';
COMMENT ON COLUMN crimesnap.reject.resolved_crime_id IS 'The raw record that resolved it.';

CREATE VIEW crimesnap.outstanding_reject WITH (security_invoker) AS
SELECT r.reject_id, r.batch_id, b.force_id, pg_catalog.to_char(b.month, 'YYYY-MM') AS month, r.upload_row,
       r.crime_ref, r.reason_code, r.reason, rr.fix, r.row_data
  FROM crimesnap.reject r
  JOIN crimesnap.batch b ON b.batch_id = r.batch_id
  JOIN crimesnap.reject_reason rr ON rr.reason_code = r.reason_code
 WHERE r.resolved_by_batch IS NULL;
COMMENT ON VIEW crimesnap.outstanding_reject IS
  'Rejected rows no batch has since loaded a record for: what the force still has to correct and resubmit.';
COMMENT ON COLUMN crimesnap.outstanding_reject.reject_id IS 'Reject id.';
COMMENT ON COLUMN crimesnap.outstanding_reject.batch_id IS 'The batch the row came with.';
COMMENT ON COLUMN crimesnap.outstanding_reject.force_id IS 'The force.';
COMMENT ON COLUMN crimesnap.outstanding_reject.month IS 'The batch''s month, YYYY-MM.';
COMMENT ON COLUMN crimesnap.outstanding_reject.upload_row IS 'Row number in the upload.';
COMMENT ON COLUMN crimesnap.outstanding_reject.crime_ref IS 'Reference number as uploaded.';
COMMENT ON COLUMN crimesnap.outstanding_reject.reason_code IS 'Reason code.';
COMMENT ON COLUMN crimesnap.outstanding_reject.reason IS 'The reason, with the offending value.';
COMMENT ON COLUMN crimesnap.outstanding_reject.fix IS 'How to fix it.';
COMMENT ON COLUMN crimesnap.outstanding_reject.row_data IS 'The row as uploaded.';

-- ---- screening free text ----

CREATE FUNCTION crimesnap.screen_context(context text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'crimesnap_screen_context';
COMMENT ON FUNCTION crimesnap.screen_context(text) IS
  'The kind of personal data a free text seems to hold (see docs/loading.md for the kinds, what it catches and its measured recall), or NULL. It helps the force''s reviewer: a flagged context needs an override reason to be approved.';

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
SET jit = off
AS $fn$
DECLARE
  m date := pg_catalog.date_trunc('month', register_batch.month)::date;
  b crimesnap.batch;
  n_loaded integer;
  n_rejected integer;
  missing text;
  id_key bytea;
  n_updated integer;
  corr record;
  -- Progress NOTICEs for a batch of at least crimesnap.progress_rows rows (docs/loading.md).
  t0 timestamptz := pg_catalog.clock_timestamp();
  progress boolean := false;
  n_rows bigint;
BEGIN
  IF register_batch.force IS NULL OR register_batch.month IS NULL THEN
    RAISE EXCEPTION 'force and month must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'Give the force''s force_id and the first day of the month, for example ''2026-09-01''.';
  END IF;
  IF NOT pg_catalog.isfinite(register_batch.month) THEN
    RAISE EXCEPTION 'month % is not a month', register_batch.month
      USING ERRCODE = 'datetime_field_overflow',
            HINT = 'Give the first day of the month the records belong to, for example ''2026-09-01''.';
  END IF;
  IF NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = register_batch.force) THEN
    RAISE EXCEPTION 'force "%" does not exist', register_batch.force
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Add it to crimesnap.force first, or use its force_id.';
  END IF;
  PERFORM crimesnap.assert_acts_for(register_batch.force);
  IF records_supplied IS NULL OR records_supplied < 0 THEN
    RAISE EXCEPTION 'records_supplied is %, not the number of records the force supplied', coalesce(records_supplied::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the record count from the supplier''s metadata (CSP guidance 3.4), not counted from the file.';
  END IF;
  SELECT pg_catalog.string_agg(x.name, ', ') INTO missing
    FROM (VALUES ('supplying_agency', supplying_agency), ('supplier_name', supplier_name),
                 ('supplier_contact', supplier_contact), ('dataset_name', dataset_name),
                 ('file_format', file_format), ('date_supplied', date_supplied::text)) AS x(name, value)
   WHERE x.value IS NULL OR pg_catalog.btrim(x.value) = '';
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'batch metadata is missing: %', missing
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Section 3.4 of the CSP information-sharing guidance asks for every one of them with each supply.';
  END IF;

  -- A batch and a publication of the same force never interleave, so that a publication
  -- sees either all of a batch or none of it.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('crimesnap.publish'), pg_catalog.hashtext(register_batch.force));

  INSERT INTO crimesnap.batch AS x
    (force_id, month, supplying_agency, supplier_name, supplier_contact, dataset_name,
     period_start, period_end, file_format, records_supplied, date_supplied, caveats,
     records_loaded, records_rejected)
  VALUES (register_batch.force, m, supplying_agency, supplier_name, supplier_contact, dataset_name,
          m, (m + interval '1 month - 1 day')::date, file_format, records_supplied, date_supplied, caveats,
          0, records_supplied)
  RETURNING x.* INTO b;

  -- Claim this force's rows, and the rows that name no known force which the calling role
  -- loaded itself (they are rejected here rather than left behind; a superuser claims them
  -- all).  A failure below rolls the claim back with everything else.
  CREATE TEMP TABLE cs_upload ON COMMIT DROP AS
  WITH claimed AS (
    DELETE FROM crimesnap.crime_upload u
     WHERE u.force IS NOT DISTINCT FROM register_batch.force
        OR (NOT EXISTS (SELECT FROM crimesnap.force f WHERE f.force_id = u.force)
            AND (u.loaded_by = crimesnap.calling_role()::pg_catalog.text::pg_catalog.name
                 OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = crimesnap.calling_role()::pg_catalog.oid)))
    RETURNING u.*)
  SELECT c.*,
         nullif(pg_catalog.btrim(c.crime_ref), '') AS ref,
         pg_catalog.upper(pg_catalog.btrim(c.offence_code)) AS code,
         -- Nested CASEs, so that each cast only ever sees what the test before it let
         -- through: a bad row becomes a reject, never an error that sinks the batch (year
         -- 0000, month 13, a 400-digit easting).
         CASE WHEN c.committed_on ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$' THEN
           CASE WHEN pg_catalog.substr(pg_catalog.btrim(c.committed_on), 1, 4)::int >= 1
                 AND pg_catalog.substr(pg_catalog.btrim(c.committed_on), 6, 2)::int BETWEEN 1 AND 12 THEN
             CASE WHEN pg_catalog.substr(pg_catalog.btrim(c.committed_on), 9, 2)::int BETWEEN 1 AND
                       extract(day FROM pg_catalog.make_date(pg_catalog.substr(pg_catalog.btrim(c.committed_on), 1, 4)::int,
                                                  pg_catalog.substr(pg_catalog.btrim(c.committed_on), 6, 2)::int, 1)
                                        + interval '1 month - 1 day')::int
                  THEN pg_catalog.substr(pg_catalog.btrim(c.committed_on), 1, 10)::date END
           END
         END AS committed,
         CASE WHEN nullif(pg_catalog.btrim(c.easting), '') IS NULL AND nullif(pg_catalog.btrim(c.northing), '') IS NULL THEN 'none'
              WHEN c.easting ~ '^\s*[+-]?[0-9]{1,7}(\.[0-9]{1,9})?\s*$' AND c.northing ~ '^\s*[+-]?[0-9]{1,7}(\.[0-9]{1,9})?\s*$' THEN
                CASE WHEN pg_catalog.btrim(c.easting)::float8 BETWEEN 0::float8 AND 700000::float8
                      AND pg_catalog.btrim(c.northing)::float8 BETWEEN 0::float8 AND 1300000::float8 THEN 'ok'
                     ELSE 'bad' END
              ELSE 'bad' END AS loc_state
    FROM claimed c;
  -- The temporary tables declared for plpgsql_check, which cannot see them before they exist.
  PERFORM 'PRAGMA:TABLE: cs_upload (upload_row bigint, force text, crime_ref text, offence_code text, committed_on text, easting text, northing text, neighbourhood text, outcome text, context text, loaded_by name, loaded_at timestamp with time zone, ref text, code text, committed date, loc_state text, context_finding text, outcome_finding text)';
  ANALYZE pg_temp.cs_upload;
  SELECT pg_catalog.count(*) INTO n_rows FROM pg_temp.cs_upload;
  progress := crimesnap.setting('progress_rows')::integer >= 0
              AND n_rows >= crimesnap.setting('progress_rows')::bigint;
  IF progress THEN
    RAISE NOTICE 'register_batch: %', pg_catalog.format('%s rows claimed from crimesnap.crime_upload for %s %s', n_rows, register_batch.force, pg_catalog.to_char(m, 'YYYY-MM'))
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  CREATE TEMP TABLE cs_checked ON COMMIT DROP AS
  SELECT u.*, loc.geom, loc.neighbourhood_id, live.crime_id AS resent_crime_id,
         CASE
           WHEN u.force IS DISTINCT FROM register_batch.force THEN 'unknown_force'
           WHEN u.ref IS NULL THEN 'missing_reference'
           WHEN pg_catalog.length(u.ref) > 100 THEN 'reference_too_long'
           WHEN u.dup > 1 THEN 'duplicate_reference'
           -- A reference live in another month is a resend that updates its outcome only:
           -- its date, location and code are not taken.
           WHEN live.crime_id IS NOT NULL THEN NULL
           WHEN u.code IS DISTINCT FROM 'ASB' AND NOT EXISTS (
                  SELECT FROM crimesnap.offence_code o
                   WHERE o.offence_code = u.code
                     AND (o.force_id IS NULL OR o.force_id = register_batch.force)) THEN 'unknown_offence_code'
           WHEN u.committed IS NULL THEN 'invalid_date'
           WHEN pg_catalog.date_trunc('month', u.committed) <> m THEN 'date_outside_month'
           WHEN u.loc_state = 'bad' THEN 'impossible_coordinates'
           WHEN u.loc_state = 'ok' AND loc.neighbourhood_id IS NULL THEN 'outside_force_area'
           WHEN u.loc_state = 'none' AND nullif(pg_catalog.btrim(u.neighbourhood), '') IS NOT NULL
                AND NOT EXISTS (SELECT FROM crimesnap.neighbourhood n
                                 WHERE n.neighbourhood_id = pg_catalog.btrim(u.neighbourhood)
                                   AND n.force_id = register_batch.force) THEN 'unknown_neighbourhood'
         END AS reason_code
    FROM (SELECT x.*, pg_catalog.row_number() OVER (PARTITION BY x.force, x.ref ORDER BY x.upload_row) AS dup,
                 pg_catalog.count(*) OVER (PARTITION BY x.force, x.ref) AS copies
            FROM pg_temp.cs_upload x) u
    LEFT JOIN LATERAL (
      SELECT g.geom,
             CASE WHEN u.loc_state = 'ok' THEN
               (SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n
                 WHERE n.force_id = register_batch.force AND ST_Intersects(n.geom, g.geom)
                 ORDER BY n.neighbourhood_id COLLATE "C" LIMIT 1)
             ELSE nullif(pg_catalog.btrim(u.neighbourhood), '') END AS neighbourhood_id
        FROM (SELECT CASE WHEN u.loc_state = 'ok'
                          THEN ST_SetSRID(ST_MakePoint(pg_catalog.btrim(u.easting)::float8, pg_catalog.btrim(u.northing)::float8), 27700)
                     END AS geom) g) loc ON true
    LEFT JOIN LATERAL (
      SELECT r.crime_id FROM crimesnap.raw_crime r
       WHERE r.force_id = register_batch.force AND r.crime_ref = u.ref
         AND r.superseded_by_batch IS NULL AND r.month <> m) live ON u.force = register_batch.force;
  PERFORM 'PRAGMA:TABLE: cs_checked (upload_row bigint, force text, crime_ref text, offence_code text, committed_on text, easting text, northing text, neighbourhood text, outcome text, context text, loaded_by name, loaded_at timestamp with time zone, ref text, code text, committed date, loc_state text, context_finding text, outcome_finding text, dup bigint, copies bigint, geom geometry, neighbourhood_id text, resent_crime_id bigint, reason_code text)';
  -- Temporary tables have no statistics until analysed, and the plans below join them.
  ANALYZE pg_temp.cs_checked;
  IF progress THEN
    RAISE NOTICE 'register_batch: %', pg_catalog.format('rows checked: %s to load, %s to reject', (SELECT pg_catalog.count(*) FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL), (SELECT pg_catalog.count(*) FROM pg_temp.cs_checked c WHERE c.reason_code IS NOT NULL))
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  -- A resend of a reference live in another month updates that record's outcome (through
  -- crimesnap.record_outcomes() below, into the outcome history), and nothing else: the
  -- record is not loaded again, so it never moves, changes month or is published elsewhere.
  SELECT pg_catalog.count(*) INTO n_updated FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL AND c.resent_crime_id IS NOT NULL;
  IF n_updated > 0 THEN
    RAISE NOTICE '% rows repeat references live in another month: they updated those records'' outcomes and were not loaded again', n_updated;
  END IF;

  -- A reference already live in this month is being resubmitted: the new row wins and
  -- keeps the persistent id, unless it moves a record already published at a position.
  -- Then it is a correction: the record gets the next correction number, so a new id, and
  -- the old id is withdrawn (a published id never shows at two positions).
  CREATE TEMP TABLE cs_prev ON COMMIT DROP AS
  SELECT c.ref, r.crime_id, r.persistent_id, r.correction,
         (c.geom IS NOT NULL AND r.geom IS NOT NULL AND NOT ST_Equals(c.geom, r.geom)
          AND EXISTS (SELECT FROM crimesnap.published_position pp WHERE pp.persistent_id = r.persistent_id)) AS corrected
    FROM pg_temp.cs_checked c
    JOIN crimesnap.raw_crime r ON r.force_id = register_batch.force AND r.crime_ref = c.ref
                              AND r.superseded_by_batch IS NULL
   WHERE c.reason_code IS NULL AND c.resent_crime_id IS NULL;
  PERFORM 'PRAGMA:TABLE: cs_prev (ref text, crime_id bigint, persistent_id text, correction integer, corrected boolean)';
  UPDATE crimesnap.raw_crime r SET superseded_by_batch = b.batch_id
    FROM pg_temp.cs_prev x WHERE r.crime_id = x.crime_id;

  SELECT s.value INTO id_key FROM crimesnap.secret s WHERE s.name = 'persistent_id_key';
  INSERT INTO crimesnap.raw_crime
    (batch_id, force_id, crime_ref, persistent_id, month, offence_code, committed_on, geom,
     neighbourhood_id, outcome, context, correction)
  SELECT b.batch_id, register_batch.force, c.ref,
         crimesnap.persistent_id_with_key(id_key, register_batch.force, c.ref,
                                          coalesce(x.correction + x.corrected::integer, 0)),
         m, c.code, c.committed, c.geom, c.neighbourhood_id,
         nullif(pg_catalog.btrim(c.outcome), ''), nullif(pg_catalog.btrim(c.context), ''), coalesce(x.correction + x.corrected::integer, 0)
    FROM pg_temp.cs_checked c
    LEFT JOIN pg_temp.cs_prev x ON x.ref = c.ref
   WHERE c.reason_code IS NULL AND c.resent_crime_id IS NULL
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_loaded = ROW_COUNT;
  -- Statistics for the records just written when they are a tenth of the table or more: the
  -- next batch's checks join raw_crime, and would be planned for a table without them.
  PERFORM crimesnap.analyse_if_grown('crimesnap.raw_crime'::pg_catalog.regclass, n_loaded::bigint);
  IF progress THEN
    RAISE NOTICE 'register_batch: %', pg_catalog.format('%s raw records written', n_loaded)
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  -- Free text is never published as written: the outcome goes into the record's outcome
  -- history as a police.uk category, and a context text waits for the force's review.
  PERFORM crimesnap.analyse_if_grown('crimesnap.outcome_history'::pg_catalog.regclass,
            crimesnap.record_outcomes(b.batch_id,
              (SELECT pg_catalog.array_agg(c.ref ORDER BY c.upload_row) FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL),
              (SELECT pg_catalog.array_agg(c.outcome ORDER BY c.upload_row) FROM pg_temp.cs_checked c WHERE c.reason_code IS NULL))::bigint);
  PERFORM crimesnap.note_contexts(b.batch_id);
  IF progress THEN
    RAISE NOTICE 'register_batch: %', pg_catalog.format('outcomes recorded and contexts noted')
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;
  FOR corr IN
    SELECT x.persistent_id AS old_id, r.persistent_id AS new_id, w.withdrawal_id
      FROM pg_temp.cs_prev x
      JOIN crimesnap.raw_crime r ON r.batch_id = b.batch_id AND r.crime_ref = x.ref
      LEFT JOIN crimesnap.withdrawal w ON w.scope = 'record' AND w.persistent_id = x.persistent_id
                                      AND w.reinstated_at IS NULL
     WHERE x.corrected
     ORDER BY r.crime_id
  LOOP
    IF corr.withdrawal_id IS NULL THEN
      PERFORM crimesnap.withdraw(corr.old_id, pg_catalog.format(
        'location corrected by batch %s: the record is published under a new persistent id', b.batch_id));
    ELSE
      -- A withdrawn record stays withdrawn under its new id.
      INSERT INTO crimesnap.withdrawal (scope, force_id, persistent_id, reason)
      VALUES ('record', register_batch.force, corr.new_id,
              pg_catalog.format('carried over from withdrawal %s when batch %s corrected the location', corr.withdrawal_id, b.batch_id));
    END IF;
  END LOOP;
  n_loaded := n_loaded + n_updated;

  -- The reason quotes the offending value, except for personal data, where it names only
  -- the kind found, so that lists of reasons can be shared without the data itself.
  INSERT INTO crimesnap.reject (batch_id, upload_row, force_id, crime_ref, reason_code, reason, row_data)
  SELECT b.batch_id, c.upload_row, register_batch.force,
         CASE WHEN c.reason_code = 'reference_too_long' THEN NULL ELSE c.ref END, c.reason_code,
         rr.description || CASE c.reason_code
           WHEN 'unknown_force' THEN pg_catalog.format(' (%s)', coalesce(pg_catalog.left(c.force, 100), 'empty'))
           WHEN 'reference_too_long' THEN pg_catalog.format(' (%s characters)', pg_catalog.length(c.ref))
           WHEN 'duplicate_reference' THEN pg_catalog.format(' (%s rows of the batch have it)', c.copies)
           WHEN 'unknown_offence_code' THEN pg_catalog.format(' (%s)', coalesce(nullif(pg_catalog.left(c.code, 100), ''), 'empty'))
           WHEN 'invalid_date' THEN pg_catalog.format(' (%s)', coalesce(pg_catalog.left(c.committed_on, 100), 'empty'))
           WHEN 'date_outside_month' THEN pg_catalog.format(' (%s is not in %s)', pg_catalog.to_char(c.committed, 'YYYY-MM-DD'), pg_catalog.to_char(m, 'YYYY-MM'))
           WHEN 'impossible_coordinates' THEN pg_catalog.format(' (easting %s, northing %s)',
                                                               coalesce(nullif(pg_catalog.left(pg_catalog.btrim(c.easting), 100), ''), 'empty'),
                                                               coalesce(nullif(pg_catalog.left(pg_catalog.btrim(c.northing), 100), ''), 'empty'))
           WHEN 'outside_force_area' THEN pg_catalog.format(' (%s, %s is not in any neighbourhood of %s)',
                                                           pg_catalog.btrim(c.easting), pg_catalog.btrim(c.northing), register_batch.force)
           WHEN 'unknown_neighbourhood' THEN pg_catalog.format(' (%s)', pg_catalog.left(c.neighbourhood, 100))
           ELSE '' END,
         pg_catalog.jsonb_build_object(
           'force', c.force, 'crime_ref', c.crime_ref, 'offence_code', c.offence_code,
           'committed_on', c.committed_on, 'easting', c.easting, 'northing', c.northing,
           'neighbourhood', c.neighbourhood, 'outcome', c.outcome, 'context', c.context)
    FROM pg_temp.cs_checked c
    JOIN crimesnap.reject_reason rr ON rr.reason_code = c.reason_code
   ORDER BY c.upload_row;
  GET DIAGNOSTICS n_rejected = ROW_COUNT;
  IF progress THEN
    RAISE NOTICE 'register_batch: %', pg_catalog.format('%s rejects written', n_rejected)
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;

  IF n_loaded + n_rejected <> records_supplied THEN
    RAISE EXCEPTION 'batch for force % month % has % records, but the supplier says % were supplied',
                    register_batch.force, pg_catalog.to_char(m, 'YYYY-MM'), n_loaded + n_rejected, records_supplied
      USING ERRCODE = 'data_exception',
            DETAIL = pg_catalog.format('%s rows would have loaded and %s been rejected from crimesnap.crime_upload; loaded + rejected must equal supplied.',
                                       n_loaded, n_rejected),
            HINT = 'Check that the whole file was copied into crimesnap.crime_upload and nothing else, then register the batch again with the supplier''s record count. Nothing was kept: the rows are still in crimesnap.crime_upload.';
  END IF;

  -- Corrected rows: an earlier reject of a reference this batch has now loaded is resolved.
  -- Driven from the force's outstanding rejects (few) into the live records by reference
  -- (an index), never by scanning raw_crime for the batch: the records this batch loaded
  -- are live, so the live record of a reference, if this batch's, is the one.
  UPDATE crimesnap.reject r
     SET resolved_by_batch = b.batch_id, resolved_crime_id = rc.crime_id
    FROM crimesnap.raw_crime rc
   WHERE r.force_id = register_batch.force AND r.resolved_by_batch IS NULL
     AND rc.force_id = register_batch.force AND rc.crime_ref = r.crime_ref
     AND rc.superseded_by_batch IS NULL AND rc.batch_id = b.batch_id;

  UPDATE crimesnap.batch x SET records_loaded = n_loaded, records_rejected = n_rejected
   WHERE x.batch_id = b.batch_id
  RETURNING x.* INTO b;
  IF progress THEN
    RAISE NOTICE 'register_batch: %', pg_catalog.format('batch %s registered: %s loaded, %s rejected', b.batch_id, n_loaded, n_rejected)
                 USING DETAIL = crimesnap.progress_detail(t0);
  END IF;
  DROP TABLE pg_temp.cs_upload, pg_temp.cs_checked, pg_temp.cs_prev;
  RETURN b;
END
$fn$;
COMMENT ON FUNCTION crimesnap.register_batch(text, date, integer, text, text, text, text, text, date, text) IS
  'Validates the force''s rows in crimesnap.crime_upload into crimesnap.raw_crime and crimesnap.reject, records the batch''s metadata (CSP guidance 3.4), resolves earlier rejects the batch corrects, and fails, keeping nothing, unless loaded + rejected = records_supplied. A reference live in another month only updates that record''s outcome; a resubmitted record that moves from a published position gets a new persistent id and its old id is withdrawn.';

-- ---- a force manages its own offence codes; national codes are crimesnap_admin's ----

CREATE FUNCTION crimesnap.check_offence_code_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $fn$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF OLD.force_id IS NULL THEN
      PERFORM crimesnap.assert_admin(pg_catalog.format('change national %s', pg_catalog.replace(TG_TABLE_NAME, '_code', ' codes')));
    ELSIF NOT crimesnap.is_admin() THEN
      PERFORM crimesnap.assert_acts_for(OLD.force_id);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF NEW.force_id IS NULL THEN
      PERFORM crimesnap.assert_admin(pg_catalog.format('change national %s', pg_catalog.replace(TG_TABLE_NAME, '_code', ' codes')));
    ELSIF NOT crimesnap.is_admin() THEN
      PERFORM crimesnap.assert_acts_for(NEW.force_id);
    END IF;
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$fn$;
COMMENT ON FUNCTION crimesnap.check_offence_code_change() IS
  'Trigger on crimesnap.offence_code and crimesnap.outcome_code: national codes (force_id NULL) change only by crimesnap_admin; a force''s own codes by the roles that act for it (or crimesnap_admin).';
CREATE TRIGGER check_offence_code_change BEFORE INSERT OR UPDATE OR DELETE ON crimesnap.offence_code
  FOR EACH ROW EXECUTE FUNCTION crimesnap.check_offence_code_change();
COMMENT ON TRIGGER check_offence_code_change ON crimesnap.offence_code IS
  'National codes are crimesnap_admin''s; a force''s own codes are its own.';

-- ---- privileges for this section (90-grants.sql adds the rest) ----
GRANT SELECT ON crimesnap.outstanding_reject TO crimesnap_loader, crimesnap_publisher;
GRANT SELECT, DELETE ON crimesnap.staged_upload TO crimesnap_loader;
GRANT SELECT ON crimesnap.staged_upload TO crimesnap_publisher;
