#!/usr/bin/env bash
# Every SQL object the extension creates (tables, views, functions, aggregates, schemas) must
# be named in docs/, so that a user who reads the docs finds it.  Run by check.sh against the
# test cluster (libpq variables set); DOCS is the docs directory to search.
set -euo pipefail
DOCS=${1:?usage: docs_check.sh DOCS_DIR}
missing=0
while IFS= read -r name; do
  if ! grep -rqwF -- "$name" "$DOCS"; then
    echo "not documented in docs/: $name"
    missing=$((missing + 1))
  fi
done < <(psql -X -At -d "${DOCS_DB:-crimesnap_tap}" <<'SQL'
SELECT DISTINCT n.nspname || '.' || c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('crimesnap', 'crimesnap_api') AND c.relkind IN ('r', 'v', 'm', 'p')
UNION
SELECT DISTINCT n.nspname || '.' || p.proname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('crimesnap', 'crimesnap_api')
UNION
SELECT nspname FROM pg_namespace WHERE nspname IN ('crimesnap', 'crimesnap_api')
ORDER BY 1;
SQL
)
if [ $missing -gt 0 ]; then
  echo "$missing SQL objects are not documented"
  exit 1
fi
echo "every SQL object is named in docs/"
