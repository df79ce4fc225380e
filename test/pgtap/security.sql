-- The role matrix of docs/security.md.
BEGIN;
SELECT plan(2);
SELECT has_schema('crimesnap_api');
SELECT ok(NOT has_schema_privilege('crimesnap_web', 'crimesnap', 'USAGE'),
          'crimesnap_web cannot use the crimesnap schema');
SELECT * FROM finish();
ROLLBACK;
