#!/usr/bin/env bash
# Install the Debian packages crimesnap needs to build and test, when any is missing.
# As root with apt available it installs them; otherwise it stops and names them.
set -euo pipefail

PACKAGES=(
  make gcc perl
  postgresql-15
  postgresql-15-postgis-3
  postgresql-server-dev-15
  postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl
  postgresql-15-plpgsql-check
  libipc-run-perl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "crimesnap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Do not let the postgresql-common package start or create a default cluster: the
  # tests and the demo start their own, throwaway ones.
  mkdir -p /etc/postgresql-common
  if [ ! -f /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
  fi
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/crimesnap-apt.log 2>&1; then
    apt-get update >>/tmp/crimesnap-apt.log 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/crimesnap-apt.log 2>&1 || {
      tail -20 /tmp/crimesnap-apt.log >&2
      echo "crimesnap: could not install ${missing[*]} (log: /tmp/crimesnap-apt.log)" >&2
      exit 1
    }
  fi
  exit 0
fi

echo "crimesnap: these Debian packages are missing: ${missing[*]}" >&2
echo "Install them as root:  apt-get install ${missing[*]}" >&2
exit 1
