-- Input tables: geometry arrives in British National Grid, whatever the DBA loads.
-- Each statement gets its own savepoint, so an expected error does not end the test.
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
SET client_min_messages = warning;
INSERT INTO crimesnap.force VALUES ('testshire', 'Testshire Police');

-- A point without an SRID that fits the grid is taken as British National Grid.
INSERT INTO crimesnap.address (address_id, geom) VALUES (1, 'POINT(529500 181800)');
-- A point in WGS84 is transformed (it lands within a metre or two of the same place).
INSERT INTO crimesnap.address (address_id, geom) VALUES (2, 'SRID=4326;POINT(-0.134893 51.520282)');
SELECT address_id, ST_SRID(geom) AS srid,
       ST_DWithin(geom, 'SRID=27700;POINT(529500 181800)'::geometry, 5) AS near_the_bng_point
  FROM crimesnap.address ORDER BY 1;

-- Longitude and latitude without an SRID are refused with a hint.
INSERT INTO crimesnap.address (address_id, geom) VALUES (3, 'POINT(-0.135 51.521)');
-- A building outline is refused in the address table.
INSERT INTO crimesnap.address (address_id, geom) VALUES (4, 'POLYGON((529500 181800, 529510 181800, 529510 181810, 529500 181800))');
-- An empty geometry is refused.
INSERT INTO crimesnap.address (address_id, geom) VALUES (5, 'POINT EMPTY');

-- Coordinates crimesnap cannot compute with are refused, naming the row: NaN, infinite,
-- outside the grid; so are streets of one vertex or of length zero.
INSERT INTO crimesnap.address (address_id, geom) VALUES (6, ST_SetSRID(ST_MakePoint('NaN'::float8, 181800), 27700));
INSERT INTO crimesnap.address (address_id, geom) VALUES (7, ST_MakePoint(529500, 'Infinity'::float8));
INSERT INTO crimesnap.address (address_id, geom) VALUES (8, 'SRID=27700;POINT(529500 1e300)');
INSERT INTO crimesnap.street (street_id, geom) VALUES (1, ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(529500, 181800)]), 27700));
INSERT INTO crimesnap.street (street_id, geom) VALUES (2, 'SRID=27700;LINESTRING(529500 181800, 529500 181800)');
INSERT INTO crimesnap.street (street_id, geom) VALUES (3, 'SRID=27700;LINESTRING(529500 181800, 529600 181800)');
SELECT street_id, ST_AsText(geom) FROM crimesnap.street;

-- Polygons become multipolygons; an invalid one is refused with a hint.
INSERT INTO crimesnap.neighbourhood VALUES ('T1', 'testshire', 'One', 'POLYGON((0 0, 100 0, 100 100, 0 100, 0 0))');
SELECT neighbourhood_id, GeometryType(geom), ST_SRID(geom) FROM crimesnap.neighbourhood;
INSERT INTO crimesnap.neighbourhood VALUES ('T2', 'testshire', 'Bow tie', 'POLYGON((0 0, 100 100, 100 0, 0 100, 0 0))');

-- Street names from different sources meet on one key.
SELECT n, crimesnap.normalise_street_name(n) AS key
  FROM (VALUES ('Great Portland Street'), ('Gt Portland St.'), ('GREAT PORTLAND STREET'),
               ('St John''s Wood Road'), ('St Johns Wood Rd'), ('St. John’s Wood Rd'),
               ('Tottenham Court Road'), ('Bedford Sq'), ('Smith & Sons Yard'),
               ('  '), ('Church St')) v(n);
ROLLBACK;
