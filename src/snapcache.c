/*
 * snapcache.c
 *	  The per-backend cache of the snap index: building it, keeping it fresh, dropping it.
 *
 * Every backend keeps one SnapIndex: the points of the current set, partitioned by
 * neighbourhood, each partition a static KD-tree; and, loaded on first need, the
 * neighbourhood boundaries with a band index per neighbourhood and a grid over all of
 * them, to find a crime's neighbourhood from its location.  It lives in its own memory
 * context under CacheMemoryContext, so later statements and transactions reuse it.
 *
 * Staleness would publish crimes at withdrawn points, so two mechanisms guard it:
 *
 *	1. Statement triggers on crimesnap.snap_point, crimesnap.snap_point_set and
 *	   crimesnap.neighbourhood send a relcache invalidation for their table; a relcache
 *	   callback here marks the index invalid, and the next call drops and rebuilds it.
 *	   This also catches DDL, DROP EXTENSION and an invalidation-queue overflow.
 *
 *	2. The same triggers bump crimesnap.snap_index_generation, a one-row table, in the
 *	   modifying transaction.  The index remembers the generation it was built from, and
 *	   every new snapshot re-reads it (one SPI query per snapshot, not per row).  Being
 *	   ordinary MVCC data, the generation is exactly as visible as the changes it counts,
 *	   which closes the races that invalidation messages alone leave open: a commit that
 *	   a statement's snapshot sees before its message has arrived, or a message consumed
 *	   while building from a snapshot that does not yet see its change.
 *
 * The index's parts are built by snapkdtree.c and snapboundary.c; snapindex.c uses it.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "snapindex.h"

PG_FUNCTION_INFO_V1(crimesnap_snap_index_stats);
PG_FUNCTION_INFO_V1(crimesnap_snap_index_reset);
PG_FUNCTION_INFO_V1(crimesnap_snap_index_invalidate);

static const char *const rel_names[NRELS] = {
	"snap_point", "snap_point_set", "neighbourhood", "snap_index_generation"
};

static SnapIndex *snap_index = NULL;
static bool callback_registered = false;
static bool building = false;
static bool inval_during_build = false;
static Oid	building_relids[NRELS];
static SPIPlanPtr generation_plan = NULL;
static int64 snapindex_stat_builds = 0;
static int64 snapindex_stat_invalidations = 0;

/* Byte-order comparison, the order of COLLATE "C". */
int
cs_cmp_id(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

int
snapindex_find_part(const SnapIndex *idx, const char *id, int len)
{
	int			lo = 0;
	int			hi = idx->nparts - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = cs_cmp_id(idx->parts[mid].id, idx->parts[mid].idlen, id, len);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

void
snapindex_drop(void)
{
	if (snap_index != NULL)
	{
		MemoryContext cxt = snap_index->cxt;

		snap_index = NULL;
		MemoryContextDelete(cxt);
	}
}

/*
 * Relcache callback.  It only marks the index invalid: a call in progress may be
 * walking it (an invalidation can arrive whenever a lock is taken, for example while
 * detoasting an argument), and the next call drops it.
 */
static void
snapindex_relcache_callback(Datum arg, Oid relid)
{
	bool		hit = false;

	for (int i = 0; i < NRELS; i++)
	{
		if ((snap_index != NULL && relid == snap_index->relids[i]) ||
			(building && relid == building_relids[i]))
			hit = true;
	}
	if (!OidIsValid(relid))
		hit = true;				/* every relation: a reset of the invalidation queue */
	if (!hit)
		return;
	snapindex_stat_invalidations++;
	if (building)
		inval_during_build = true;
	if (snap_index != NULL)
		snap_index->valid = false;
}

static void
lookup_relids(Oid *relids)
{
	Oid			nsp = get_namespace_oid("crimesnap", true);

	for (int i = 0; i < NRELS; i++)
	{
		relids[i] = OidIsValid(nsp) ? get_relname_relid(rel_names[i], nsp) : InvalidOid;
		if (!OidIsValid(relids[i]))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation \"crimesnap.%s\" does not exist", rel_names[i]),
					 errhint("Snapping needs the crimesnap extension installed in this database.")));
	}
}

static void
check_privileges(const Oid *relids)
{
	Oid			user = GetUserId();

	for (int i = 0; i < NRELS; i++)
	{
		AclResult	acl = pg_class_aclcheck(relids[i], user, ACL_SELECT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relids[i]));
	}
}

static void
take_fingerprint(SnapFingerprint *fp)
{
	Snapshot	s;

	memset(fp, 0, sizeof(*fp));
	if (!ActiveSnapshotSet())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("crimesnap snapping needs an active snapshot"),
				 errhint("Call it from a query.")));
	s = GetActiveSnapshot();
#if PG_VERSION_NUM >= 170000
	fp->lxid = MyProc->vxid.lxid;	/* PostgreSQL 17 moved it */
#else
	fp->lxid = MyProc->lxid;
#endif
	fp->xmin = s->xmin;
	fp->xmax = s->xmax;
	fp->xcnt = s->xcnt;
	fp->subxcnt = s->subxcnt;
	fp->suboverflowed = s->suboverflowed;
	fp->curcid = s->curcid;
	fp->userid = GetUserId();
}

/*
 * Two snapshots of one transaction with the same xmax and the same number of running
 * transactions see the same committed transactions (a later snapshot's running set is
 * a subset of an earlier one's below the earlier xmax), and with the same command id the
 * same changes of our own.
 */
static bool
fingerprint_equal(const SnapFingerprint *a, const SnapFingerprint *b)
{
	return a->lxid == b->lxid && a->xmin == b->xmin && a->xmax == b->xmax &&
		a->xcnt == b->xcnt && a->subxcnt == b->subxcnt &&
		a->suboverflowed == b->suboverflowed && a->curcid == b->curcid &&
		a->userid == b->userid;
}

/* Must be called inside SPI. */
static int64
read_generation(void)
{
	bool		isnull;
	Datum		d;

	if (generation_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare("SELECT g.generation FROM crimesnap.snap_index_generation g",
									   0, NULL);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		generation_plan = plan;
	}
	if (SPI_execute_plan(generation_plan, NULL, NULL, true, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read crimesnap.snap_index_generation");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("crimesnap.snap_index_generation has %llu rows, not one",
						(unsigned long long) SPI_processed),
				 errhint("Reinstall the extension, or insert one row (0).")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

static char *
postgis_schema(void)
{
	/* PostGIS need not be on the caller's search_path: find it through pg_extension. */
	if (SPI_execute("SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
					"WHERE e.extname OPERATOR(pg_catalog.=) 'postgis'", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("PostGIS is not installed in this database"),
			 errhint("CREATE EXTENSION postgis first.")));
	return NULL;				/* keep the compiler quiet */
}

void *
cs_alloc_huge(MemoryContext cxt, Size size)
{
	return MemoryContextAllocHuge(cxt, Max(size, 1));
}

/* The current set's version, inside SPI; has_current false when there is none. */
static void
read_current_set(SnapIndex *idx)
{
	if (SPI_execute("SELECT s.version FROM crimesnap.snap_point_set s WHERE s.is_current",
					true, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read crimesnap.snap_point_set");
	if (SPI_processed == 1)
	{
		bool		isnull;

		idx->version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
		idx->has_current = !isnull;
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Every neighbourhood, in byte order, so that "lowest id" is an index order; inside SPI. */
static void
read_neighbourhoods(SnapIndex *idx)
{
	if (SPI_execute("SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n "
					"ORDER BY n.neighbourhood_id COLLATE pg_catalog.\"C\"", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read crimesnap.neighbourhood");
	idx->nparts = (int) SPI_processed;
	idx->parts = MemoryContextAllocZero(idx->cxt, sizeof(NbPart) * Max(idx->nparts, 1));
	for (int i = 0; i < idx->nparts; i++)
	{
		bool		isnull;
		text	   *t = DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		NbPart	   *p = &idx->parts[i];

		p->idlen = VARSIZE_ANY_EXHDR(t);
		p->id = MemoryContextAlloc(idx->cxt, p->idlen + 1);
		memcpy(p->id, VARDATA_ANY(t), p->idlen);
		p->id[p->idlen] = '\0';
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Points read so far, with the neighbourhood (part) of each. */
typedef struct RawPoints
{
	int			n;
	int			cap;
	SnapPt	   *pts;
	int		   *part;
} RawPoints;

/* One fetched row of the points query: checked, and appended to raw. */
static void
add_point_row(SnapIndex *idx, RawPoints *raw, HeapTuple tup, TupleDesc desc, int *lastpart)
{
	bool		n1,
				n2,
				n3,
				n4;
	int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &n1));
	text	   *nb = DatumGetTextPP(SPI_getbinval(tup, desc, 2, &n2));
	double		x = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &n3));
	double		y = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &n4));
	int			part;

	if (n3 || n4 || !cs_coord_ok(x, y))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("snap point %lld of set %d has no usable coordinates",
						(long long) id, idx->version),
				 errhint("Rebuild the snap point set with crimesnap.build_snap_points().")));
	if (*lastpart >= 0 &&
		cs_cmp_id(idx->parts[*lastpart].id, idx->parts[*lastpart].idlen,
				  VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb)) == 0)
		part = *lastpart;
	else
		part = snapindex_find_part(idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
	if (part < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("snap point %lld belongs to neighbourhood \"%s\", which does not exist",
						(long long) id, text_to_cstring(nb))));
	*lastpart = part;
	if (raw->n >= raw->cap)
	{
		raw->cap *= 2;
		raw->pts = repalloc_huge(raw->pts, sizeof(SnapPt) * raw->cap);
		raw->part = repalloc_huge(raw->part, sizeof(int) * raw->cap);
	}
	raw->pts[raw->n].x = x;
	raw->pts[raw->n].y = y;
	raw->pts[raw->n].id = id;
	raw->part[raw->n] = part;
	raw->n++;
}

/* The current set's points, through a cursor so that SPI never holds them all as tuples. */
static void
read_points(SnapIndex *idx, RawPoints *raw, MemoryContext tmpcxt)
{
	const char *gis;
	char	   *query;
	Datum		arg;
	Oid			argtype = INT4OID;
	Portal		portal;
	int			lastpart = -1;

	raw->n = 0;
	raw->cap = 1024;
	raw->pts = MemoryContextAllocHuge(tmpcxt, sizeof(SnapPt) * raw->cap);
	raw->part = MemoryContextAllocHuge(tmpcxt, sizeof(int) * raw->cap);
	if (!idx->has_current)
		return;
	gis = quote_identifier(postgis_schema());
	query = psprintf("SELECT p.point_id, p.neighbourhood_id, %s.st_x(p.geom), %s.st_y(p.geom) "
					 "FROM crimesnap.snap_point p WHERE p.version OPERATOR(pg_catalog.=) $1",
					 gis, gis);
	arg = Int32GetDatum(idx->version);
	portal = SPI_cursor_open_with_args(NULL, query, 1, &argtype, &arg, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
			add_point_row(idx, raw, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, &lastpart);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

/* Group the points by neighbourhood, then one KD-tree per group. */
static void
build_trees(SnapIndex *idx, const RawPoints *raw, MemoryContext tmpcxt)
{
	MemoryContext old = MemoryContextSwitchTo(tmpcxt);
	int		   *start = palloc(sizeof(int) * (idx->nparts + 1));
	int		   *order = palloc(sizeof(int) * Max(raw->n, 1));

	cs_group_by_key(raw->part, raw->n, idx->nparts, start, order);
	MemoryContextSwitchTo(old);

	idx->npoints = raw->n;
	idx->pts = cs_alloc_huge(idx->cxt, sizeof(SnapPt) * raw->n);
	for (int i = 0; i < raw->n; i++)
		idx->pts[i] = raw->pts[order[i]];
	idx->nnodes = 0;
	for (int p = 0; p < idx->nparts; p++)
	{
		idx->parts[p].first = start[p];
		idx->parts[p].count = start[p + 1] - start[p];
		idx->parts[p].nodebase = idx->nnodes;	/* slot 0 unused: node 1 is the root */
		idx->nnodes += cs_kd_slots(idx->parts[p].count);
	}
	idx->nodes = cs_alloc_huge(idx->cxt, sizeof(CsBox) * idx->nnodes);
	for (int p = 0; p < idx->nparts; p++)
	{
		NbPart	   *part = &idx->parts[p];

		cs_kd_build(idx->pts + part->first, idx->nodes + part->nodebase, part->count);
	}
}

/*
 * Build the point index from the active snapshot, inside SPI.  The context starts
 * under the caller's memory context, so an error frees it, and moves under
 * CacheMemoryContext only once complete.
 */
static SnapIndex *
snapindex_build(const Oid *relids, int64 generation)
{
	MemoryContext cxt;
	MemoryContext tmpcxt;
	SnapIndex  *idx;
	instr_time	start;
	instr_time	elapsed;
	RawPoints	raw;

	INSTR_TIME_SET_CURRENT(start);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "crimesnap snap index",
								ALLOCSET_DEFAULT_SIZES);
	tmpcxt = AllocSetContextCreate(cxt, "crimesnap snap index build", ALLOCSET_DEFAULT_SIZES);
	idx = MemoryContextAllocZero(cxt, sizeof(SnapIndex));
	idx->cxt = cxt;
	idx->dbid = MyDatabaseId;
	memcpy(idx->relids, relids, sizeof(idx->relids));
	idx->generation = generation;
	idx->valid = true;

	read_current_set(idx);
	read_neighbourhoods(idx);
	read_points(idx, &raw, tmpcxt);
	build_trees(idx, &raw, tmpcxt);
	MemoryContextDelete(tmpcxt);

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	idx->build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	return idx;
}

/*
 * The index, valid for the active snapshot, with the boundaries loaded when asked.
 * Cheap when this snapshot has already been validated (the scalar snap() per row).
 */
SnapIndex *
snapindex_get(bool need_polygons)
{
	SnapFingerprint fp;
	Oid			relids[NRELS];
	int64		generation;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(snapindex_relcache_callback, (Datum) 0);
		callback_registered = true;
	}
	if (snap_index != NULL && (!snap_index->valid || snap_index->dbid != MyDatabaseId))
		snapindex_drop();

	take_fingerprint(&fp);
	if (snap_index != NULL && snap_index->validated &&
		fingerprint_equal(&snap_index->fp, &fp) &&
		(!need_polygons || snap_index->polys_loaded))
		return snap_index;

	lookup_relids(relids);
	check_privileges(relids);
	if (snap_index != NULL && memcmp(relids, snap_index->relids, sizeof(relids)) != 0)
		snapindex_drop();

	/*
	 * Lock the tables before reading anything, so that no DDL can change them while
	 * the index is validated or built.  The first lock of a transaction also takes in
	 * pending invalidation messages; correctness does not depend on it (the
	 * generation does), but it saves validating an index that is already known stale.
	 */
	for (int i = 0; i < NRELS; i++)
		LockRelationOid(relids[i], AccessShareLock);
	if (snap_index != NULL && !snap_index->valid)
		snapindex_drop();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	generation = read_generation();
	if (snap_index != NULL && snap_index->generation != generation)
		snapindex_drop();

	if (snap_index == NULL)
	{
		SnapIndex  *idx = NULL;

		memcpy(building_relids, relids, sizeof(relids));
		building = true;
		inval_during_build = false;
		PG_TRY();
		{
			idx = snapindex_build(relids, generation);
		}
		PG_FINALLY();
		{
			building = false;
		}
		PG_END_TRY();
		MemoryContextSetParent(idx->cxt, CacheMemoryContext);
		/* consistent with this snapshot (same generation), but not to be kept */
		if (inval_during_build)
			idx->valid = false;
		snap_index = idx;
		snapindex_stat_builds++;
	}
	if (need_polygons && !snap_index->polys_loaded)
	{
		PG_TRY();
		{
			snapindex_load_polygons(snap_index);
		}
		PG_CATCH();
		{
			/* a half-loaded boundary set must not survive */
			snapindex_drop();
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	SPI_finish();

	snap_index->fp = fp;
	snap_index->validated = true;
	return snap_index;
}

/* snap_index_stats(build boolean DEFAULT false) RETURNS TABLE (...) */
Datum
crimesnap_snap_index_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[14];
	bool		nulls[14];
	SnapIndex  *idx;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	if (!PG_ARGISNULL(0) && PG_GETARG_BOOL(0))
		(void) snapindex_get(true);
	if (snap_index != NULL && (!snap_index->valid || snap_index->dbid != MyDatabaseId))
		snapindex_drop();
	idx = snap_index;

	memset(nulls, 0, sizeof(nulls));
	values[0] = BoolGetDatum(idx != NULL);
	if (idx == NULL)
	{
		for (int i = 1; i < 12; i++)
			nulls[i] = true;
	}
	else
	{
		Size		total = MemoryContextMemAllocated(idx->cxt, true);
		Size		poly = idx->polycxt ? MemoryContextMemAllocated(idx->polycxt, true) : 0;

		values[1] = Int32GetDatum(idx->version);
		nulls[1] = !idx->has_current;
		values[2] = Int64GetDatum(idx->generation);
		values[3] = Int64GetDatum(idx->npoints);
		values[4] = Int32GetDatum(idx->nparts);
		values[5] = Int64GetDatum((int64) (total - poly));
		values[6] = Float8GetDatum(idx->build_ms);
		values[7] = BoolGetDatum(idx->polys_loaded);
		values[8] = Int64GetDatum(idx->nverts);
		values[9] = Int64GetDatum((int64) poly);
		values[10] = Float8GetDatum(idx->poly_build_ms);
		nulls[10] = !idx->polys_loaded;
		values[11] = Int64GetDatum((int64) total);
	}
	values[12] = Int64GetDatum(snapindex_stat_builds);
	values[13] = Int64GetDatum(snapindex_stat_invalidations);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* snap_index_reset() RETURNS void */
Datum
crimesnap_snap_index_reset(PG_FUNCTION_ARGS)
{
	snapindex_drop();
	PG_RETURN_VOID();
}

/*
 * Statement trigger on the tables the index is built from: counts the change in
 * crimesnap.snap_index_generation and tells every backend through a relcache
 * invalidation of the table.
 */
Datum
crimesnap_snap_index_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crimesnap.snap_index_invalidate() must be called as a trigger")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("UPDATE crimesnap.snap_index_generation "
					"SET generation = generation OPERATOR(pg_catalog.+) 1",
					false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update crimesnap.snap_index_generation");
	SPI_finish();
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
