# The national read path: a primary that forces load and publish into, and a hot standby that
# serves crimesnap_api.  Shows that
#   1. a month published on the primary appears on the standby whole, never half;
#   2. after build_snap_points() on the primary, crimesnap.snap() in a standby session that
#      already holds a snap index answers from the new set at once (the index is dropped by
#      replay), and the API shows the month re-published on it;
#   3. kill -9 of the primary in the middle of publish_month(), then a restart: the month is
#      not published at all, the months before it are intact, the standby agrees, and the
#      month then publishes whole;
#   4. after the standby is promoted, publishing goes on there.
# "In the middle" is made deterministic with a test trigger on crimesnap.audit_log, the
# last table publish_month() writes: it waits for an advisory lock that the test holds, so
# the publishing transaction stops with every published row written but not committed.
#
# Each check fails on a broken property: a standby that showed uncommitted rows would count
# them in check 1 (the standby has replayed the WAL of those rows when it is asked); a snap
# index that replay did not drop would give the old set's answers in check 2, which differ
# from the new set's for most addresses (asserted); a publication that was not atomic would
# leave a publication row or published rows after the crash in check 3.
use strict;
use warnings;
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $fixtures = "$FindBin::RealBin/../fixtures";
my $db = 'crimesnap';

# ---- a primary and a hot standby ----
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "max_connections = 20\nwal_writer_delay = 10ms\n");
$primary->start;
$primary->safe_psql('postgres', "CREATE DATABASE $db");
$primary->safe_psql($db, 'CREATE EXTENSION postgis; CREATE EXTENSION crimesnap');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "max_connections = 20\nwal_retrieve_retry_interval = 200ms\n");
$standby->start;

# The generated town, its snap points and two months of both forces, loaded as a DBA would.
$primary->command_ok(
	[ 'psql', '-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-v', 'seed=42',
	  '-d', $primary->connstr($db), '-f', "$fixtures/town.sql" ],
	'the town loads on the primary');
my $v1 = $primary->safe_psql($db, 'SELECT crimesnap.build_snap_points()');
$primary->safe_psql($db, qq{
\\i $fixtures/town_load.sql
SELECT pg_temp.load_month(f, m) FROM unnest(ARRAY['northshire', 'southshire']) f,
       unnest(ARRAY['2026-09-01', '2026-10-01']::date[]) m;
});

# Test-only objects, replicated like everything else: the hold trigger, and a function that
# samples what a reader sees of one force's month, each sample in one statement (its own
# snapshot), until it has seen the month published or the time is up.
$primary->safe_psql($db, q{
CREATE SCHEMA tap;
CREATE FUNCTION tap.hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.action = 'publish' THEN PERFORM pg_advisory_xact_lock(4242); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER hold BEFORE INSERT ON crimesnap.audit_log FOR EACH ROW EXECUTE FUNCTION tap.hold();
CREATE FUNCTION tap.seen(f text, m date) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT format('%s rows, %s api rows, publication %s',
                (SELECT count(*) FROM crimesnap.published_crime c WHERE c.force_id = f AND c.month = m),
                (SELECT count(*) FROM crimesnap_api.street_crime s WHERE s.force = f AND s.month = to_char(m, 'YYYY-MM'))
                + (SELECT count(*) FROM crimesnap_api.no_location_crime s WHERE s.force = f AND s.month = to_char(m, 'YYYY-MM')),
                coalesce((SELECT p.crimes::text FROM crimesnap.publication p WHERE p.force_id = f AND p.month = m), 'none'))
$$;
CREATE FUNCTION tap.observe(f text, m date, seconds float8) RETURNS text[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  seen text[] := '{}';
  s text;
  t timestamptz := clock_timestamp();
BEGIN
  LOOP
    s := tap.seen(f, m);
    IF cardinality(seen) = 0 THEN RAISE NOTICE 'first sample taken'; END IF;
    IF NOT s = ANY (seen) THEN seen := seen || s; END IF;
    EXIT WHEN s NOT LIKE '0 rows%' OR clock_timestamp() > t + make_interval(secs => seconds);
    PERFORM pg_sleep(0.002);
  END LOOP;
  RETURN seen;
END $$;
-- The live records of a force's month, counted from the raw data, independently of publish_month().
CREATE FUNCTION tap.live(f text, m date) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT count(*) FROM crimesnap.raw_crime r
   WHERE r.force_id = f AND r.month = m AND r.superseded_by_batch IS NULL
$$;
});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# publish_month() in a background session, stopped by the hold trigger before its commit.
# Returns the session; the caller releases $lock to let it commit.
sub publish_held
{
	my ($node, $lock, $force, $month, $refdate) = @_;
	$lock->query_safe('SELECT pg_advisory_lock(4242)');
	my $pub = $node->background_psql($db, on_error_stop => 0);
	$pub->query_until(qr/started/,
		"\\echo started\nSELECT crimes FROM crimesnap.publish_month('$force', '$month', '$refdate');\n");
	$node->poll_query_until($db,
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'
		     AND query LIKE '%publish_month%'})
	  or die 'publish_month() never reached the hold trigger';
	return $pub;
}

# ---- 1. a month appears on the standby whole, never half ----
my $lock = $primary->background_psql($db);
my $pub = publish_held($primary, $lock, 'northshire', '2026-09-01', '2026-10-23');
# Every row of the month is now in the WAL, uncommitted; let the standby replay all of it.
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql($db, q{SELECT tap.seen('northshire', '2026-09-01')}),
	'0 rows, 0 api rows, publication none',
	'the standby has replayed the month\'s uncommitted rows and shows none of them');
my $live = $primary->safe_psql($db, q{SELECT tap.live('northshire', '2026-09-01')});
cmp_ok($live, '>', 100, "northshire has $live live records for September");

# A reader on the standby samples the month while the primary commits.
my $reader = $standby->background_psql($db);
$reader->query_until(qr/sampling/,
	"\\echo sampling\nSELECT array_to_string(tap.observe('northshire', '2026-09-01', 60), '|');\n");
# Let go only once the reader has seen the month absent at least once.
pump_until($reader->{run}, $reader->{timeout}, \$reader->{stderr}, qr/first sample taken/)
  or die 'the reader on the standby never sampled the month';
$reader->{stderr} = '';
$lock->query_safe('SELECT pg_advisory_unlock(4242)');
my $crimes = $pub->query_safe('');    # the publish_month() result, once it returns
$crimes =~ s/\s+//g;
is($crimes, $live, 'publish_month() published every live record');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
my $seen = $reader->query_safe('');
$seen =~ s/^\s+|\s+$//g;
my @seen = split /\|/, $seen;
my $whole = "$live rows, $live api rows, publication $live";
ok((grep { $_ ne '0 rows, 0 api rows, publication none' && $_ ne $whole } @seen) == 0,
	"a reader on the standby saw the month absent or whole, nothing between (saw: $seen)");
is($seen[-1], $whole, 'and then whole');
is($standby->safe_psql($db, q{SELECT tap.seen('northshire', '2026-09-01')}), $whole,
	'the standby shows the whole month');
$pub->quit;

# ---- 2. a new snap point set, seen at once by a standby session that has an index ----
my $addr_snap = q{SELECT string_agg(coalesce(crimesnap.snap(a.geom)::text, '-'), ',' ORDER BY a.address_id) FROM crimesnap.address a};
my $api = $standby->background_psql($db);
my $before = $api->query_safe($addr_snap);
is($api->query_safe('SELECT built, snap_version FROM crimesnap.snap_index_stats()'), "t|$v1",
	"a standby session holds a snap index of set $v1");
is($before, $primary->safe_psql($db, $addr_snap), 'and snaps every address as the primary does');
my $builds = $api->query_safe('SELECT builds FROM crimesnap.snap_index_stats()');

my $v2 = $primary->safe_psql($db, q{SELECT crimesnap.build_snap_points(mode => 'dense')});
my $after_primary = $primary->safe_psql($db, $addr_snap);
my @b = split /,/, $before;
my @a = split /,/, $after_primary;
my $differ = grep { $b[$_] ne $a[$_] } 0 .. $#b;
cmp_ok($differ, '>', 100, "set $v2 (dense) snaps $differ addresses to other points than set $v1");
# Re-publish September on the new set, with the hold trigger out of the way.
$primary->safe_psql($db, q{ALTER TABLE crimesnap.audit_log DISABLE TRIGGER hold});
$primary->safe_psql($db, q{SELECT crimesnap.publish_month('northshire', '2026-09-01', '2026-10-30')});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

is($api->query_safe($addr_snap), $after_primary,
	'the same standby session snaps every address to the new set at once');
is($api->query_safe('SELECT snap_version, builds > ' . $builds . ' FROM crimesnap.snap_index_stats()'),
	"$v2|t", 'its index was dropped by replay and rebuilt from the new set');
is($api->query_safe(q{SELECT count(*) FROM crimesnap_api.street_crime s WHERE s.force = 'northshire' AND s.month = '2026-09'
                        AND NOT EXISTS (SELECT FROM crimesnap.snap_point p WHERE p.version = } . $v1
	  . q{ AND p.point_id = s.street_id AND ST_Equals(p.geom, s.geom))}),
	'0', 'the API on the standby shows the re-published month where it was first published (set ' . $v1
	. '): a published crime never moves to the new set (docs/security.md)');
$api->quit;

# ---- 3. kill -9 of the primary in the middle of publish_month() ----
my $fingerprint = q{SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (
  SELECT format('%s %s %s %s %s %s', force_id, month, status, crimes, mapped, snap_version) AS x FROM crimesnap.publication
  UNION ALL SELECT format('%s %s %s', force_id, month, count(*)) FROM crimesnap.published_crime GROUP BY force_id, month
  UNION ALL SELECT format('trend %s', count(*)) FROM crimesnap.trend
  UNION ALL SELECT format('audit %s', count(*)) FROM crimesnap.audit_log) f};
my $fp_before = $primary->safe_psql($db, $fingerprint);
$primary->safe_psql($db, q{ALTER TABLE crimesnap.audit_log ENABLE TRIGGER hold});
$pub = publish_held($primary, $lock, 'southshire', '2026-09-01', '2026-10-23');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
my $postmaster = $primary->{_pid};
$primary->kill9;
{
	# Both sessions lost their server; psql has exited, so writing \q to it may raise SIGPIPE.
	local $SIG{PIPE} = 'IGNORE';
	eval { $pub->quit };
	eval { $lock->quit };
}
# The killed postmaster's children exit when they notice; until then the old shared memory
# is in use and a new postmaster refuses to start.
for (1 .. 100)
{
	last unless kill 0, $postmaster;
	select undef, undef, undef, 0.1;
}
my $restarted = 0;
for (1 .. 60)
{
	$primary->{_pid} = undef;    # a failed start may have read the stale postmaster.pid
	last if ($restarted = $primary->start(fail_ok => 1));
	sleep 1;
}
ok($restarted, 'the primary restarts after kill -9');
is($primary->safe_psql($db, q{SELECT tap.seen('southshire', '2026-09-01')}), '0 rows, 0 api rows, publication none',
	'after kill -9 and restart the month is not published at all');
is($primary->safe_psql($db, $fingerprint), $fp_before, 'and everything published before is as it was');
is($primary->safe_psql($db, 'SELECT count(*) FROM crimesnap.audit_publication()'), '0', 'the audit is clean');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql($db, $fingerprint), $fp_before, 'the standby agrees');

$primary->safe_psql($db, q{DROP TRIGGER hold ON crimesnap.audit_log});
$live = $primary->safe_psql($db, q{SELECT tap.live('southshire', '2026-09-01')});
is($primary->safe_psql($db, q{SELECT crimes FROM crimesnap.publish_month('southshire', '2026-09-01', '2026-10-23')}),
	$live, 'publishing the month again publishes it whole');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql($db, q{SELECT tap.seen('southshire', '2026-09-01')}),
	"$live rows, $live api rows, publication $live", 'and the standby shows it whole');

# ---- 4. promotion: publishing goes on on the new primary ----
$primary->stop('immediate');
$standby->promote;
$standby->poll_query_until($db, 'SELECT NOT pg_is_in_recovery()') or die 'the standby was not promoted';
$live = $standby->safe_psql($db, q{SELECT tap.live('northshire', '2026-10-01')});
is($standby->safe_psql($db, q{SELECT crimes FROM crimesnap.publish_month('northshire', '2026-10-01', '2026-11-24')}),
	$live, 'after promotion the new primary publishes October whole');
is($standby->safe_psql($db, 'SELECT count(*) FROM crimesnap.audit_publication()'), '0', 'and its audit is clean');
is($standby->safe_psql($db, q{SELECT count(*) FROM crimesnap.audit_log WHERE action = 'publish' AND force_id = 'northshire' AND month = '2026-10-01'}),
	'1', 'and its audit log records it');

done_testing();
