# test/tools/pgenv.sh: a throwaway PostgreSQL 15 cluster with crimesnap installed into a
# private copy of the server's installation tree.  Sourced by check.sh, demo.sh, bench.sh
# and fitzrovia.sh.
#
# Why a private tree: PostgreSQL finds its share and lib directories relative to its own
# binary, so real copies of bin/ next to symbolic-link copies of lib/ and share/ make a
# server that sees this checkout's crimesnap and nothing else.  Tests never write to the
# system's directories, and two checkouts can test side by side.

CS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CS_PG_LIB=/usr/lib/postgresql/15
CS_PG_SHARE=/usr/share/postgresql/15
CS_SYS_PG_CONFIG=$CS_PG_LIB/bin/pg_config

# cs_install WORK [assert]: build this checkout in WORK/build and install it into WORK/inst.
cs_install() {
  local work=$1 assert=${2:-}
  local inst=$work/inst
  mkdir -p "$inst/usr/lib/postgresql/15" "$inst/usr/share/postgresql" "$work/build"
  cp -a "$CS_PG_LIB/bin" "$inst/usr/lib/postgresql/15/bin"
  cp -rs "$CS_PG_LIB/lib" "$inst/usr/lib/postgresql/15/lib"
  cp -rs "$CS_PG_SHARE" "$inst/usr/share/postgresql/15"
  rm -f "$inst/usr/lib/postgresql/15/lib/crimesnap.so" "$inst/usr/share/postgresql/15/extension/crimesnap"*

  (cd "$CS_ROOT" && cp -r Makefile crimesnap.control src sql test expected "$work/build/")
  rm -f "$work/build/sql/crimesnap--"*.sql.built 2>/dev/null || true
  local flags=(CRIMESNAP_WERROR=1)
  [ -n "$assert" ] && flags+=(CRIMESNAP_ASSERT=1)
  make -C "$work/build" -s clean PG_CONFIG="$CS_SYS_PG_CONFIG" >/dev/null
  make -C "$work/build" -s PG_CONFIG="$CS_SYS_PG_CONFIG" "${flags[@]}" >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2; echo "crimesnap: build failed" >&2; return 1; }
  make -C "$work/build" -s install PG_CONFIG="$CS_SYS_PG_CONFIG" DESTDIR="$inst" >>"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2; echo "crimesnap: install failed" >&2; return 1; }
  CS_BIN=$inst/usr/lib/postgresql/15/bin
}

cs_free_port() {
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1)
      or die "no free port: $!\n";
    print $s->sockport, "\n";'
}

# Run a server-side command as an unprivileged user: PostgreSQL refuses to run as root.
cs_as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# cs_cluster_start WORK: initdb into WORK/data and start on a free port (CS_PORT, when set,
# fixes it); exports libpq variables.
cs_cluster_start() {
  local work=$1
  CS_WORK=$work
  CS_BIN=$work/inst/usr/lib/postgresql/15/bin
  mkdir -p "$work/data" "$work/sock"
  chmod 755 "$work"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$work/data" "$work/sock"
    touch "$work/server.log"; chown postgres: "$work/server.log"
  fi
  cs_as_server "$CS_BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; return 1; }
  local try port
  for try in 1 2 3 4 5; do
    port=${CS_PORT:-$(cs_free_port)}
    if cs_as_server "$CS_BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
         -o "-p $port -k $work/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40 ${CS_SERVER_OPTS:-}" \
         start >"$work/pg_ctl.log" 2>&1; then
      export PGHOST=$work/sock PGPORT=$port PGUSER=postgres PGDATABASE=postgres
      export PATH=$CS_BIN:$PATH
      echo "$port" >"$work/port"
      return 0
    fi
  done
  cat "$work/pg_ctl.log" "$work/server.log" >&2
  echo "crimesnap: could not start a cluster" >&2
  return 1
}

# cs_server_cpu: CPU seconds the test cluster has used so far (the postmaster and every child
# it has reaped: backends, autovacuum workers), a measure of work that does not depend on how
# busy the machine is.  Needs cs_cluster_start first.
cs_server_cpu() {
  local pid
  pid=$(head -1 "$CS_WORK/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.1f\n", ($12 + $13 + $14 + $15) / hz }' "/proc/$pid/stat" 2>/dev/null || echo 0
}

cs_cluster_stop() {
  local work=${1:-${CS_WORK:-}}
  [ -n "$work" ] && [ -f "$work/data/postmaster.pid" ] || return 0
  cs_as_server "$work/inst/usr/lib/postgresql/15/bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
}

# cs_createdb NAME: a database with postgis and crimesnap (and pgtap when asked).
cs_createdb() {
  local db=$1; shift
  createdb "$db"
  local ext
  for ext in postgis "$@" crimesnap; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION $ext" || return 1
  done
}
