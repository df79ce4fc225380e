# crimesnap: a PGXS build.
#
#   make / make install        build and install into the server that pg_config names
#                              (PG_CONFIG=/path/to/pg_config for another one)
#   make installcheck          pg_regress, isolation and pgTAP suites against a running server
#   make check                 everything: Debian packages, build, throwaway cluster, every suite,
#                              the upgrade and dump tests
#   make demo / make demo-stop generate a town, publish a month, leave a cluster to look around in
#   make bench                 crimesnap against plain PostGIS SQL, in the same run
#   make fitzrovia             the real Fitzrovia data from ../shared, through the DBA's input tables
#   make reference             regenerate docs/reference.md from the objects' COMMENTs
#
# The meta targets set up their own machine and cluster, so they must work before
# postgresql-server-dev-15 (and with it pg_config) exists: PGXS is only included when a
# build target is asked for.

EXTENSION  = crimesnap
EXTVERSION = 0.2.0

.DEFAULT_GOAL := all

META_GOALS = check demo demo-stop bench fitzrovia deps reference
.PHONY: $(META_GOALS)

# make demo DEMO_DIR=/tmp/other PORT=54329: a second demo beside the first.
demo:
	@CRIMESNAP_DEMO_DIR="$(or $(DEMO_DIR),$(CRIMESNAP_DEMO_DIR))" CRIMESNAP_DEMO_PORT="$(or $(PORT),$(CRIMESNAP_DEMO_PORT))" test/tools/demo.sh start
demo-stop:
	@CRIMESNAP_DEMO_DIR="$(or $(DEMO_DIR),$(CRIMESNAP_DEMO_DIR))" test/tools/demo.sh stop
bench:
	@test/tools/bench.sh
fitzrovia:
	@test/tools/fitzrovia.sh
deps:
	@test/tools/deps.sh
reference:
	@test/tools/reference.sh

ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(META_GOALS),$(MAKECMDGOALS)),)
META_ONLY = 1
endif
endif

ifdef META_ONLY
# PGXS defines a "check" that only says it is unsupported; ours runs everything.
check:
	@test/tools/check.sh
else

MODULE_big = $(EXTENSION)
OBJS = \
	src/crimesnap.o \
	src/geomio.o \
	src/snappoint.o \
	src/spatialgrid.o \
	src/associate.o \
	src/snapclear.o \
	src/snapsegments.o \
	src/snapselect.o \
	src/snapkdtree.o \
	src/snapboundary.o \
	src/snapcache.o \
	src/snapindex.o \
	src/sanitise.o \
	src/screen.o \
	src/screen_home.o \
	src/screen_person.o \
	src/persistid.o \
	src/postcode.o \
	src/backup.o \
	src/security.o

# The newest version's install script is built from one section per subsystem
# (sql/install/NN-topic.sql), concatenated in file-name order, as h3-pg does.  Released
# versions are frozen: sql/crimesnap--0.1.0.sql is committed exactly as make built it, and
# never edited again.  The upgrade to the newest version is built the same way from its
# fragments, sql/upgrade/FROM--TO/NN-topic.sql; once released it is frozen too.
SQL_SECTIONS = $(sort $(wildcard sql/install/*.sql))
UPGRADE_FROM = 0.1.0
UPGRADE_FRAGMENTS = $(sort $(wildcard sql/upgrade/$(UPGRADE_FROM)--$(EXTVERSION)/*.sql))
UPGRADE_built = sql/$(EXTENSION)--$(UPGRADE_FROM)--$(EXTVERSION).sql
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql $(UPGRADE_built)
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

# pg_regress reads test/sql/NAME.sql and test/expected/NAME.out; test/expected is a
# link to the top-level expected/ directory.
REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=postgis --load-extension=$(EXTENSION)
ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=postgis --load-extension=$(EXTENSION)
# TAP suites (PostgreSQL::Test::Cluster, from postgresql-server-dev-15; needs
# libipc-run-perl): test/t/NAME.pl start clusters of their own, for example a primary and a
# hot standby.  make installcheck runs them with the binaries of the pg_config given (as a
# user other than root, as initdb requires); TAP_TESTS= leaves them out.
TAP_TESTS = 1
PROVE_TESTS ?= $(sort $(wildcard test/t/*.pl))

# -Wno-unused-parameter: PostgreSQL 15's own headers (bufpage.h) have unused parameters.
# -Werror only where the compiler is ours: make check, make demo, make bench and CI build with
# CRIMESNAP_WERROR=1 (test/tools/pgenv.sh).  A packager's plain make, on a compiler that
# warns about something new, still builds.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter
ifdef CRIMESNAP_WERROR
PG_CFLAGS += -Werror
endif
# Snapping, catchments and association decide ties on ST_Distance's exact arithmetic
# (cs_dist_xy in crimesnap.h): no fused multiply-add anywhere.
PG_CFLAGS += -ffp-contract=off
ifdef CRIMESNAP_ASSERT
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
# make check's build also traps undefined behaviour (a NaN cast to int, an overflowing int,
# an index out of a fixed array's bounds) with an illegal instruction, so the backend dies
# by a signal that check.sh reports: no sanitizer runtime is needed in the server.
PG_CFLAGS += -fsanitize=float-cast-overflow,bounds,shift,integer-divide-by-zero,null,signed-integer-overflow,vla-bound,return
PG_CFLAGS += -fsanitize-undefined-trap-on-error
endif

EXTRA_CLEAN = $(DATA_built) output_iso

# As every PGXS extension: the pg_config on the path, or PG_CONFIG=/path/to/pg_config.
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# make installcheck, as packagers and PGXN testers run it against a running server (the
# libpq variables PGHOST, PGPORT, PGUSER say which): PGXS's pg_regress and isolation suites,
# and the pgTAP suites in a database of their own.  It needs pg_prove and the pgtap
# extension (Debian: libtap-parser-sourcehandler-pgtap-perl, postgresql-15-pgtap);
# PGTAP_TESTS= leaves the pgTAP suites out.  make check runs all of it and more.
PGTAP_TESTS = $(sort $(wildcard test/pgtap/*.sql))
PGTAP_DB = contrib_regression_pgtap
.PHONY: installcheck-pgtap
installcheck: installcheck-pgtap
installcheck-pgtap:
ifneq ($(strip $(PGTAP_TESTS)),)
	@command -v pg_prove >/dev/null 2>&1 || { \
	  echo "make installcheck: pg_prove not found; install libtap-parser-sourcehandler-pgtap-perl, or PGTAP_TESTS= to leave the pgTAP suites out" >&2; exit 1; }
	$(bindir)/dropdb --if-exists $(PGTAP_DB)
	$(bindir)/createdb $(PGTAP_DB)
	$(bindir)/psql -X -q -v ON_ERROR_STOP=1 -d $(PGTAP_DB) \
	  -c 'CREATE EXTENSION postgis' -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION $(EXTENSION)'
	pg_prove --psql-bin $(bindir)/psql -d $(PGTAP_DB) --ext .sql $(PGTAP_TESTS)
endif

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SECTIONS)
	@for f in $^; do printf -- '\n-- ==== %s ====\n\n' "$$f"; cat "$$f"; done > $@

# After the fragments, sql/upgrade/reemit.pl restates every function they create or replace
# as sql/install now defines it: a fix to a function is made once, in sql/install.
$(UPGRADE_built): $(UPGRADE_FRAGMENTS) $(SQL_SECTIONS) sql/upgrade/reemit.pl sql/$(EXTENSION)--$(UPGRADE_FROM).sql
	@{ for f in $(UPGRADE_FRAGMENTS); do printf -- '\n-- ==== %s ====\n\n' "$$f"; cat "$$f"; done; \
	   printf '\n'; perl sql/upgrade/reemit.pl sql/$(EXTENSION)--$(UPGRADE_FROM).sql $(UPGRADE_FRAGMENTS); } > $@.tmp && mv $@.tmp $@

$(OBJS): src/crimesnap.h
src/screen.o src/screen_home.o src/screen_person.o: src/screen.h
src/snapkdtree.o src/snapboundary.o src/snapcache.o src/snapindex.o: src/snapindex.h

endif
