#!/usr/bin/env bash
# make reference: regenerate docs/reference.md from a freshly installed crimesnap's catalog.
set -euo pipefail
. "$(dirname "$0")/pgenv.sh"
"$CS_ROOT/test/tools/deps.sh"
WORK=$(mktemp -d /tmp/crimesnap-ref.XXXXXX)
trap 'cs_cluster_stop "$WORK"; rm -rf "$WORK"' EXIT
cs_install "$WORK"
cs_cluster_start "$WORK"
cs_createdb crimesnap_ref >/dev/null
psql -X -q -d crimesnap_ref -f "$CS_ROOT/test/tools/reference.sql" >"$CS_ROOT/docs/reference.md"
echo "docs/reference.md regenerated"
