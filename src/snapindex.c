/*
 * snapindex.c
 *	  The cached spatial index over the current snap point set, and snapping.
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
 * The rules are those of docs/snapping.md: the nearest point (by ST_Distance's own
 * arithmetic) inside the crime's own neighbourhood, ties to the lowest point id, none
 * beyond crimesnap.max_snap_distance.  A crime's neighbourhood, when not given, is the
 * lowest id (in byte order) of the neighbourhoods whose boundary intersects it, decided
 * with the same winding-number arithmetic PostGIS's ST_Intersects uses for a point.
 *
 * No raw crime coordinate is ever written into a message: errors name the crime's id.
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_snap);
PG_FUNCTION_INFO_V1(crimesnap_snap_many);
PG_FUNCTION_INFO_V1(crimesnap_snap_detail);
PG_FUNCTION_INFO_V1(crimesnap_neighbourhood_at);
PG_FUNCTION_INFO_V1(crimesnap_check_crime_location);
PG_FUNCTION_INFO_V1(crimesnap_snap_index_stats);
PG_FUNCTION_INFO_V1(crimesnap_snap_index_reset);
PG_FUNCTION_INFO_V1(crimesnap_snap_index_invalidate);

/* A partition is split until its nodes hold at most this many points. */
#define KD_LEAF 8
#define KD_MAX_STACK 128

/* The relations the index is built from, in this order. */
#define REL_SNAP_POINT		0
#define REL_SNAP_POINT_SET	1
#define REL_NEIGHBOURHOOD	2
#define REL_GENERATION		3
#define NRELS				4

static const char *const rel_names[NRELS] = {
	"snap_point", "snap_point_set", "neighbourhood", "snap_index_generation"
};

typedef struct SnapPt
{
	double		x;
	double		y;
	int64		id;
} SnapPt;

typedef struct KdBox
{
	double		xmin;
	double		ymin;
	double		xmax;
	double		ymax;
} KdBox;

/* One edge of a neighbourhood boundary, as listed in a horizontal band. */
typedef struct BandEdge
{
	int32		v;				/* index of its first vertex in NbPart.verts */
	int32		ring;			/* ring it belongs to, within the part */
} BandEdge;

/* One neighbourhood: its points' KD-tree and, once loaded, its boundary. */
typedef struct NbPart
{
	char	   *id;
	int			idlen;
	int			first;			/* first point in SnapIndex.pts */
	int			count;
	int			nodebase;		/* its heap-ordered nodes start at SnapIndex.nodes[nodebase] */

	/* boundary, loaded lazily; has_poly false when the neighbourhood has none */
	bool		has_poly;
	KdBox		bbox;
	int			nrings;
	int			npolys;
	int		   *ringstart;		/* nrings + 1 offsets into verts */
	int		   *polystart;		/* npolys + 1 offsets into rings */
	CsPoint    *verts;
	int			nbands;
	double		band_y0;
	double		band_h;
	int		   *bandstart;		/* nbands + 1 offsets into bandedges */
	BandEdge   *bandedges;
} NbPart;

typedef struct SnapFingerprint
{
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	bool		suboverflowed;
	CommandId	curcid;
	Oid			userid;
} SnapFingerprint;

typedef struct SnapIndex
{
	MemoryContext cxt;			/* "crimesnap snap index": everything below */
	MemoryContext polycxt;		/* "crimesnap neighbourhood boundaries", child of cxt */
	Oid			dbid;
	Oid			relids[NRELS];
	int64		generation;
	bool		valid;			/* cleared by the relcache callback */
	bool		has_current;
	int32		version;

	int			npoints;
	SnapPt	   *pts;
	int			nnodes;
	KdBox	   *nodes;
	int			nparts;
	NbPart	   *parts;			/* sorted by id in byte order */

	bool		polys_loaded;
	int64		nverts;
	int			grid_nx;
	int			grid_ny;
	double		grid_x0;
	double		grid_y0;
	double		grid_w;
	double		grid_h;
	int		   *cellstart;
	int32	   *cellparts;
	int			maxrings;
	int32	   *ring_wn;		/* scratch for the point-in-polygon test */
	bool	   *ring_onb;
	uint32	   *ring_stamp;
	uint32		stamp;

	double		build_ms;
	double		poly_build_ms;

	bool		validated;
	SnapFingerprint fp;
} SnapIndex;

/* Why a crime cannot be snapped; each has its own message. */
typedef enum LocProblem
{
	LOC_OK = 0,
	LOC_SRID,
	LOC_NOT_POINT,
	LOC_EMPTY,
	LOC_NONFINITE,
	LOC_OUTSIDE,
	LOC_UNKNOWN_NB
} LocProblem;

static SnapIndex *snap_index = NULL;
static bool callback_registered = false;
static bool building = false;
static bool inval_during_build = false;
static Oid	building_relids[NRELS];
static int64 stat_builds = 0;
static int64 stat_invalidations = 0;
static SPIPlanPtr generation_plan = NULL;

/* Per call site state of the SQL functions, in fn_extra. */
typedef struct SnapCallState
{
	CsGeomIO	io;
	bool		io_ready;
} SnapCallState;

/* ---------------------------------------------------------------------------
 * Distances and the KD-tree
 * ---------------------------------------------------------------------------
 */

/*
 * A lower bound of point_distance from (qx, qy) to any point in the box.  Rounding is
 * monotonic, so for a point p in the box |fl(p.x - qx)| >= the gap computed here, and
 * the bound never exceeds the computed distance of a point inside: pruning a box whose
 * bound is strictly greater than the best distance can never lose a nearer point or a
 * tie.
 */
static inline double
box_lower_bound(const KdBox *b, double qx, double qy)
{
	double		dx = 0.0;
	double		dy = 0.0;

	if (qx < b->xmin)
		dx = b->xmin - qx;
	else if (qx > b->xmax)
		dx = qx - b->xmax;
	if (qy < b->ymin)
		dy = b->ymin - qy;
	else if (qy > b->ymax)
		dy = qy - b->ymax;
	return sqrt(dx * dx + dy * dy);
}

/* Heap slots needed for a tree over n points: leaves sit at one depth. */
static int
kd_slots(int n)
{
	int			depth = 0;

	if (n <= 0)
		return 0;
	while (((n + (1 << depth) - 1) >> depth) > KD_LEAF)
		depth++;
	return 1 << (depth + 1);
}

static inline double
pt_coord(const SnapPt *p, int axis)
{
	return axis == 0 ? p->x : p->y;
}

/* Put the k-th smallest point (on axis) of pts[lo, hi) at k, smaller ones before it. */
static void
kd_select(SnapPt *pts, int lo, int hi, int k, int axis)
{
	hi--;
	while (hi > lo)
	{
		int			a = lo;
		int			b = lo + (hi - lo) / 2;
		int			c = hi;
		int			m;
		double		pivot;
		int			i;
		int			j;
		SnapPt		tmp;

		/* median of three, for sorted input and runs of equal coordinates */
		if (pt_coord(&pts[a], axis) > pt_coord(&pts[b], axis))
		{
			m = a;
			a = b;
			b = m;
		}
		if (pt_coord(&pts[b], axis) > pt_coord(&pts[c], axis))
			b = c;
		if (pt_coord(&pts[a], axis) > pt_coord(&pts[b], axis))
			b = a;
		pivot = pt_coord(&pts[b], axis);

		i = lo;
		j = hi;
		while (i <= j)
		{
			while (pt_coord(&pts[i], axis) < pivot)
				i++;
			while (pt_coord(&pts[j], axis) > pivot)
				j--;
			if (i <= j)
			{
				tmp = pts[i];
				pts[i] = pts[j];
				pts[j] = tmp;
				i++;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

static void
kd_build(SnapPt *pts, KdBox *nodes, int node, int lo, int hi)
{
	KdBox	   *b = &nodes[node];
	int			mid;

	b->xmin = b->ymin = get_float8_infinity();
	b->xmax = b->ymax = -get_float8_infinity();
	for (int i = lo; i < hi; i++)
	{
		b->xmin = Min(b->xmin, pts[i].x);
		b->xmax = Max(b->xmax, pts[i].x);
		b->ymin = Min(b->ymin, pts[i].y);
		b->ymax = Max(b->ymax, pts[i].y);
	}
	if (hi - lo <= KD_LEAF)
		return;
	mid = lo + (hi - lo) / 2;
	kd_select(pts, lo, hi, mid, (b->xmax - b->xmin >= b->ymax - b->ymin) ? 0 : 1);
	kd_build(pts, nodes, 2 * node, lo, mid);
	kd_build(pts, nodes, 2 * node + 1, mid, hi);
}

/*
 * The nearest point of a partition within maxdist (inclusive), ties to the lowest
 * id.  Returns its index in idx->pts, or -1; *dist gets its distance.
 */
static int
kd_nearest(const SnapIndex *idx, const NbPart *part, double qx, double qy,
		   double maxdist, double *dist)
{
	struct
	{
		int			node;
		int			lo;
		int			hi;
		double		lb;
	}			stack[KD_MAX_STACK];
	int			sp = 0;
	const KdBox *nodes;
	const SnapPt *pts;
	double		best = maxdist;
	int			bestidx = -1;
	int64		bestid = 0;

	if (part->count == 0)
		return -1;
	nodes = idx->nodes + part->nodebase;
	pts = idx->pts + part->first;

	stack[0].node = 1;
	stack[0].lo = 0;
	stack[0].hi = part->count;
	stack[0].lb = box_lower_bound(&nodes[1], qx, qy);
	sp = 1;

	while (sp > 0)
	{
		int			node;
		int			lo;
		int			hi;

		sp--;
		if (stack[sp].lb > best)
			continue;
		node = stack[sp].node;
		lo = stack[sp].lo;
		hi = stack[sp].hi;

		if (hi - lo <= KD_LEAF)
		{
			for (int i = lo; i < hi; i++)
			{
				double		d = cs_dist_xy(pts[i].x, pts[i].y, qx, qy);

				if (d < best || (d == best && (bestidx < 0 || pts[i].id < bestid)))
				{
					best = d;
					bestidx = i;
					bestid = pts[i].id;
				}
			}
		}
		else
		{
			int			mid = lo + (hi - lo) / 2;
			double		lbl = box_lower_bound(&nodes[2 * node], qx, qy);
			double		lbr = box_lower_bound(&nodes[2 * node + 1], qx, qy);

			Assert(sp + 2 <= KD_MAX_STACK);
			/* push the farther child first, so the nearer one is searched first */
			if (lbl <= lbr)
			{
				stack[sp].node = 2 * node + 1;
				stack[sp].lo = mid;
				stack[sp].hi = hi;
				stack[sp].lb = lbr;
				stack[sp + 1].node = 2 * node;
				stack[sp + 1].lo = lo;
				stack[sp + 1].hi = mid;
				stack[sp + 1].lb = lbl;
			}
			else
			{
				stack[sp].node = 2 * node;
				stack[sp].lo = lo;
				stack[sp].hi = mid;
				stack[sp].lb = lbl;
				stack[sp + 1].node = 2 * node + 1;
				stack[sp + 1].lo = mid;
				stack[sp + 1].hi = hi;
				stack[sp + 1].lb = lbr;
			}
			sp += 2;
		}
	}
	if (bestidx < 0)
		return -1;
	*dist = best;
	return part->first + bestidx;
}

/* ---------------------------------------------------------------------------
 * Neighbourhood boundaries
 * ---------------------------------------------------------------------------
 */

/* Cells of a neighbourhood's horizontal bands and of the index's grid of boundaries. */
#define band_of(p, y)		cs_cell_index((y), (p)->band_y0, (p)->band_h, (p)->nbands)
#define grid_col(idx, x)	cs_cell_index((x), (idx)->grid_x0, (idx)->grid_w, (idx)->grid_nx)
#define grid_row(idx, y)	cs_cell_index((y), (idx)->grid_y0, (idx)->grid_h, (idx)->grid_ny)

/*
 * Does the point intersect the neighbourhood's boundary or interior?  Dan Sunday's
 * winding number per ring, with the same predicates as PostGIS's point-in-polygon
 * short cut of ST_Intersects: the side of the point relative to an edge is
 * (x2 - x1) * (py - y1) - (px - x1) * (y2 - y1); exactly zero with the point inside the
 * edge's box puts it on the boundary; zero-length edges are skipped; an upward edge
 * with the point to its left adds one, a downward edge with it to its right removes
 * one.  A polygon then holds the point when its shell does and no hole does, and the
 * boundary of a shell or hole counts as intersecting.  Only the edges of the point's
 * horizontal band are walked: an edge outside it can neither cross nor touch the point.
 */
static bool
part_intersects(SnapIndex *idx, const NbPart *p, double px, double py)
{
	int			b;
	uint32		stamp;

	if (!p->has_poly ||
		px < p->bbox.xmin || px > p->bbox.xmax || py < p->bbox.ymin || py > p->bbox.ymax)
		return false;

	if (++idx->stamp == 0)
	{
		memset(idx->ring_stamp, 0, sizeof(uint32) * idx->maxrings);
		idx->stamp = 1;
	}
	stamp = idx->stamp;

	b = band_of(p, py);
	for (int e = p->bandstart[b]; e < p->bandstart[b + 1]; e++)
	{
		const BandEdge *be = &p->bandedges[e];
		const CsPoint *s1 = &p->verts[be->v];
		const CsPoint *s2 = &p->verts[be->v + 1];
		int			r = be->ring;
		double		side;

		if (s1->x == s2->x && s1->y == s2->y)
			continue;
		if (idx->ring_stamp[r] != stamp)
		{
			idx->ring_stamp[r] = stamp;
			idx->ring_wn[r] = 0;
			idx->ring_onb[r] = false;
		}
		side = (s2->x - s1->x) * (py - s1->y) - (px - s1->x) * (s2->y - s1->y);
		if (side == 0.0)
		{
			if (px >= Min(s1->x, s2->x) && px <= Max(s1->x, s2->x) &&
				py >= Min(s1->y, s2->y) && py <= Max(s1->y, s2->y))
				idx->ring_onb[r] = true;
		}
		else if (s1->y <= py && py < s2->y && side > 0)
			idx->ring_wn[r]++;
		else if (s2->y <= py && py < s1->y && side < 0)
			idx->ring_wn[r]--;
	}

	for (int pg = 0; pg < p->npolys; pg++)
	{
		int			shell = p->polystart[pg];
		bool		out = false;

		/* -1 outside, 0 on the boundary, 1 inside, as PostGIS counts */
#define RING_STATUS(r) \
		(idx->ring_stamp[(r)] != stamp ? -1 : \
		 idx->ring_onb[(r)] ? 0 : (idx->ring_wn[(r)] != 0 ? 1 : -1))

		if (RING_STATUS(shell) == -1)
			continue;
		if (RING_STATUS(shell) == 0)
			return true;
		for (int h = shell + 1; h < p->polystart[pg + 1]; h++)
		{
			int			st = RING_STATUS(h);

			if (st == 1)
			{
				out = true;
				break;
			}
			if (st == 0)
				return true;
		}
		if (!out)
			return true;
#undef RING_STATUS
	}
	return false;
}

/* The neighbourhood a point lies in: the lowest id of those it intersects, or -1. */
static int
locate_part(SnapIndex *idx, double px, double py)
{
	int			cell;

	if (idx->grid_nx == 0)
		return -1;
	cell = grid_row(idx, py) * idx->grid_nx + grid_col(idx, px);
	for (int i = idx->cellstart[cell]; i < idx->cellstart[cell + 1]; i++)
	{
		int			p = idx->cellparts[i];

		if (part_intersects(idx, &idx->parts[p], px, py))
			return p;
	}
	return -1;
}

/* Byte-order comparison, the order of COLLATE "C". */
static int
cmp_id(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static int
find_part(const SnapIndex *idx, const char *id, int len)
{
	int			lo = 0;
	int			hi = idx->nparts - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = cmp_id(idx->parts[mid].id, idx->parts[mid].idlen, id, len);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* ---------------------------------------------------------------------------
 * Building, validating and invalidating the index
 * ---------------------------------------------------------------------------
 */

static void
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
	stat_invalidations++;
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
	fp->lxid = MyProc->lxid;
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

static void *
alloc_huge(MemoryContext cxt, Size size)
{
	return MemoryContextAllocHuge(cxt, Max(size, 1));
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
	int			nparts;
	int			cap;
	int			n = 0;
	SnapPt	   *raw;
	int32	   *rawpart;
	int		   *fill;
	Portal		portal;
	char	   *query;
	Datum		arg;
	Oid			argtype = INT4OID;
	int			lastpart = -1;

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

	/* the current set */
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

	/* every neighbourhood, in byte order, so that "lowest id" is an index order */
	if (SPI_execute("SELECT n.neighbourhood_id FROM crimesnap.neighbourhood n "
					"ORDER BY n.neighbourhood_id COLLATE pg_catalog.\"C\"", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read crimesnap.neighbourhood");
	nparts = (int) SPI_processed;
	idx->nparts = nparts;
	idx->parts = MemoryContextAllocZero(cxt, sizeof(NbPart) * Max(nparts, 1));
	for (int i = 0; i < nparts; i++)
	{
		bool		isnull;
		text	   *t = DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		NbPart	   *p = &idx->parts[i];

		p->idlen = VARSIZE_ANY_EXHDR(t);
		p->id = MemoryContextAlloc(cxt, p->idlen + 1);
		memcpy(p->id, VARDATA_ANY(t), p->idlen);
		p->id[p->idlen] = '\0';
	}
	SPI_freetuptable(SPI_tuptable);

	/* the points, read through a cursor so that SPI never holds them all as tuples */
	cap = 1024;
	raw = MemoryContextAllocHuge(tmpcxt, sizeof(SnapPt) * cap);
	rawpart = MemoryContextAllocHuge(tmpcxt, sizeof(int32) * cap);
	if (idx->has_current)
	{
		const char *gis = quote_identifier(postgis_schema());

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
			{
				HeapTuple	tup = SPI_tuptable->vals[r];
				TupleDesc	desc = SPI_tuptable->tupdesc;
				bool		n1,
							n2,
							n3,
							n4;
				int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &n1));
				text	   *nb = DatumGetTextPP(SPI_getbinval(tup, desc, 2, &n2));
				double		x = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &n3));
				double		y = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &n4));
				int			part;

				if (n3 || n4 || !isfinite(x) || !isfinite(y))
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("snap point %lld of set %d has no usable coordinates",
									(long long) id, idx->version),
							 errhint("Rebuild the snap point set with crimesnap.build_snap_points().")));
				if (lastpart >= 0 &&
					cmp_id(idx->parts[lastpart].id, idx->parts[lastpart].idlen,
						   VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb)) == 0)
					part = lastpart;
				else
					part = find_part(idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
				if (part < 0)
					ereport(ERROR,
							(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
							 errmsg("snap point %lld belongs to neighbourhood \"%s\", which does not exist",
									(long long) id, text_to_cstring(nb))));
				lastpart = part;
				if (n >= cap)
				{
					cap *= 2;
					raw = repalloc_huge(raw, sizeof(SnapPt) * cap);
					rawpart = repalloc_huge(rawpart, sizeof(int32) * cap);
				}
				raw[n].x = x;
				raw[n].y = y;
				raw[n].id = id;
				rawpart[n] = part;
				n++;
			}
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}

	/* group the points by neighbourhood (a counting sort), then one tree per group */
	idx->npoints = n;
	idx->pts = alloc_huge(cxt, sizeof(SnapPt) * n);
	fill = MemoryContextAllocZero(tmpcxt, sizeof(int) * (nparts + 1));
	for (int i = 0; i < n; i++)
		idx->parts[rawpart[i]].count++;
	for (int p = 0, off = 0, nodes = 0; p < nparts; p++)
	{
		idx->parts[p].first = off;
		fill[p] = off;
		off += idx->parts[p].count;
		idx->parts[p].nodebase = nodes; /* slot 0 unused: node 1 is the root */
		nodes += kd_slots(idx->parts[p].count);
		idx->nnodes = nodes;
	}
	for (int i = 0; i < n; i++)
		idx->pts[fill[rawpart[i]]++] = raw[i];
	idx->nodes = alloc_huge(cxt, sizeof(KdBox) * idx->nnodes);
	for (int p = 0; p < nparts; p++)
	{
		NbPart	   *part = &idx->parts[p];

		if (part->count > 0)
			kd_build(idx->pts + part->first, idx->nodes + part->nodebase, 1, 0, part->count);
	}
	MemoryContextDelete(tmpcxt);

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	idx->build_ms = INSTR_TIME_GET_MILLISEC(elapsed);

	return idx;
}

/* Load the neighbourhood boundaries into idx->polycxt, inside SPI. */
static void
snapindex_load_polygons(SnapIndex *idx)
{
	MemoryContext pcxt;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	instr_time	start;
	instr_time	elapsed;
	Portal		portal;
	CsGeomIO	io;
	bool		io_ready = false;
	int			npoly = 0;
	KdBox		all;
	int		   *cellcount;

	INSTR_TIME_SET_CURRENT(start);
	pcxt = AllocSetContextCreate(idx->cxt, "crimesnap neighbourhood boundaries",
								 ALLOCSET_DEFAULT_SIZES);
	idx->polycxt = pcxt;
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "crimesnap boundary row",
								   ALLOCSET_DEFAULT_SIZES);
	all.xmin = all.ymin = get_float8_infinity();
	all.xmax = all.ymax = -get_float8_infinity();

	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT n.neighbourhood_id, n.geom FROM crimesnap.neighbourhood n",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 100);
		if (SPI_processed == 0)
			break;
		if (!io_ready)
		{
			cs_geomio_init(&io, SPI_gettypeid(SPI_tuptable->tupdesc, 2), pcxt);
			io_ready = true;
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			bool		n1,
						n2;
			text	   *nb = DatumGetTextPP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &n1));
			Datum		gd = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &n2);
			int			pi = find_part(idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
			NbPart	   *p;
			CsGeom		g;
			int			nedges = 0;
			int		   *bandfill;

			/* a neighbourhood added since the build: the generation check prevents it */
			if (pi < 0 || n2)
				continue;
			p = &idx->parts[pi];
			oldcxt = MemoryContextSwitchTo(rowcxt);
			cs_geom_decode_polygonal(&io, gd, &g);
			MemoryContextSwitchTo(oldcxt);
			if (g.npolys == 0)
			{
				MemoryContextReset(rowcxt);
				continue;
			}

			p->has_poly = true;
			p->nrings = g.nparts;
			p->npolys = g.npolys;
			p->verts = alloc_huge(pcxt, sizeof(CsPoint) * g.npoints);
			memcpy(p->verts, g.points, sizeof(CsPoint) * g.npoints);
			p->ringstart = MemoryContextAlloc(pcxt, sizeof(int) * (g.nparts + 1));
			memcpy(p->ringstart, g.partstart, sizeof(int) * (g.nparts + 1));
			p->polystart = MemoryContextAlloc(pcxt, sizeof(int) * (g.npolys + 1));
			memcpy(p->polystart, g.polystart, sizeof(int) * (g.npolys + 1));
			idx->nverts += g.npoints;
			idx->maxrings = Max(idx->maxrings, g.nparts);

			p->bbox.xmin = p->bbox.ymin = get_float8_infinity();
			p->bbox.xmax = p->bbox.ymax = -get_float8_infinity();
			for (int v = 0; v < g.npoints; v++)
			{
				p->bbox.xmin = Min(p->bbox.xmin, g.points[v].x);
				p->bbox.xmax = Max(p->bbox.xmax, g.points[v].x);
				p->bbox.ymin = Min(p->bbox.ymin, g.points[v].y);
				p->bbox.ymax = Max(p->bbox.ymax, g.points[v].y);
			}
			all.xmin = Min(all.xmin, p->bbox.xmin);
			all.xmax = Max(all.xmax, p->bbox.xmax);
			all.ymin = Min(all.ymin, p->bbox.ymin);
			all.ymax = Max(all.ymax, p->bbox.ymax);

			/* horizontal bands of about four edges each */
			for (int k = 0; k < p->nrings; k++)
				nedges += Max(p->ringstart[k + 1] - p->ringstart[k] - 1, 0);
			p->nbands = Max(1, Min(nedges / 4, 1 << 16));
			p->band_y0 = p->bbox.ymin;
			p->band_h = (p->bbox.ymax - p->bbox.ymin) / p->nbands;
			if (!(p->band_h > 0))
			{
				p->nbands = 1;
				p->band_h = 1.0;
			}
			p->bandstart = MemoryContextAllocZero(pcxt, sizeof(int) * (p->nbands + 1));
			for (int pass = 0; pass < 2; pass++)
			{
				bandfill = pass == 0 ? NULL : MemoryContextAlloc(rowcxt, sizeof(int) * p->nbands);
				if (pass == 1)
				{
					for (int b = 0; b < p->nbands; b++)
						p->bandstart[b + 1] += p->bandstart[b];
					memcpy(bandfill, p->bandstart, sizeof(int) * p->nbands);
					p->bandedges = alloc_huge(pcxt, sizeof(BandEdge) * p->bandstart[p->nbands]);
				}
				for (int k = 0; k < p->nrings; k++)
				{
					for (int v = p->ringstart[k]; v < p->ringstart[k + 1] - 1; v++)
					{
						int			b0 = band_of(p, Min(p->verts[v].y, p->verts[v + 1].y));
						int			b1 = band_of(p, Max(p->verts[v].y, p->verts[v + 1].y));

						for (int b = b0; b <= b1; b++)
						{
							if (pass == 0)
								p->bandstart[b + 1]++;
							else
							{
								p->bandedges[bandfill[b]].v = v;
								p->bandedges[bandfill[b]].ring = k;
								bandfill[b]++;
							}
						}
					}
				}
			}
			npoly++;
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(rowcxt);

	/* a grid over all boundaries; each cell lists the parts whose box meets it, in order */
	if (npoly > 0)
	{
		int			side = (int) ceil(sqrt(4.0 * npoly));
		int			ncell;

		idx->grid_nx = side;
		idx->grid_ny = side;
		idx->grid_x0 = all.xmin;
		idx->grid_y0 = all.ymin;
		idx->grid_w = (all.xmax - all.xmin) / side;
		idx->grid_h = (all.ymax - all.ymin) / side;
		if (!(idx->grid_w > 0))
			idx->grid_w = 1.0;
		if (!(idx->grid_h > 0))
			idx->grid_h = 1.0;
		ncell = side * side;
		idx->cellstart = MemoryContextAllocZero(pcxt, sizeof(int) * (ncell + 1));
		cellcount = MemoryContextAllocZero(pcxt, sizeof(int) * ncell);
		for (int pass = 0; pass < 2; pass++)
		{
			if (pass == 1)
			{
				for (int c = 0; c < ncell; c++)
					idx->cellstart[c + 1] += idx->cellstart[c];
				memcpy(cellcount, idx->cellstart, sizeof(int) * ncell);
				idx->cellparts = alloc_huge(pcxt, sizeof(int32) * idx->cellstart[ncell]);
			}
			for (int pi = 0; pi < idx->nparts; pi++)
			{
				NbPart	   *p = &idx->parts[pi];

				if (!p->has_poly)
					continue;
				for (int row = grid_row(idx, p->bbox.ymin); row <= grid_row(idx, p->bbox.ymax); row++)
					for (int col = grid_col(idx, p->bbox.xmin); col <= grid_col(idx, p->bbox.xmax); col++)
					{
						int			c = row * side + col;

						if (pass == 0)
							idx->cellstart[c + 1]++;
						else
							idx->cellparts[cellcount[c]++] = pi;
					}
			}
		}
		pfree(cellcount);
	}
	idx->ring_wn = MemoryContextAllocZero(pcxt, sizeof(int32) * Max(idx->maxrings, 1));
	idx->ring_onb = MemoryContextAllocZero(pcxt, sizeof(bool) * Max(idx->maxrings, 1));
	idx->ring_stamp = MemoryContextAllocZero(pcxt, sizeof(uint32) * Max(idx->maxrings, 1));
	idx->stamp = 0;
	idx->polys_loaded = true;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	idx->poly_build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
}

/*
 * The index, valid for the active snapshot, with the boundaries loaded when asked.
 * Cheap when this snapshot has already been validated (the scalar snap() per row).
 */
static SnapIndex *
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
		stat_builds++;
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

/* ---------------------------------------------------------------------------
 * Crime locations
 * ---------------------------------------------------------------------------
 */

static const char *
wkb_type_name(int type)
{
	switch (type)
	{
		case CS_WKB_POINT:
			return "point";
		case CS_WKB_LINESTRING:
			return "linestring";
		case CS_WKB_POLYGON:
			return "polygon";
		case CS_WKB_MULTIPOINT:
			return "multipoint";
		case CS_WKB_MULTILINESTRING:
			return "multilinestring";
		case CS_WKB_MULTIPOLYGON:
			return "multipolygon";
		case 7:
			return "geometrycollection";
		default:
			return "non-point geometry";
	}
}

static LocProblem
check_location(CsGeomIO *io, Datum geom, CsPoint *pt, int32 *srid, int *type)
{
	bool		empty;

	*type = cs_point_decode(io, geom, pt, srid, &empty);
	if (*srid != CRIMESNAP_SRID)
		return LOC_SRID;
	if (*type != CS_WKB_POINT)
		return LOC_NOT_POINT;
	if (empty)
		return LOC_EMPTY;
	if (!isfinite(pt->x) || !isfinite(pt->y))
		return LOC_NONFINITE;
	return LOC_OK;
}

/* The reason text of a problem; never contains a coordinate. */
static char *
problem_text(LocProblem problem, int32 srid, int type, const char *nb)
{
	switch (problem)
	{
		case LOC_SRID:
			return psprintf("crime location has SRID %d, not %d", srid, CRIMESNAP_SRID);
		case LOC_NOT_POINT:
			return psprintf("crime location is a %s, not a point", wkb_type_name(type));
		case LOC_EMPTY:
			return pstrdup("crime location is an empty point");
		case LOC_NONFINITE:
			return pstrdup("crime location has a NaN or infinite coordinate");
		case LOC_OUTSIDE:
			return pstrdup("crime location is outside every neighbourhood");
		case LOC_UNKNOWN_NB:
			return psprintf("neighbourhood \"%s\" does not exist", nb);
		case LOC_OK:
			break;
	}
	return NULL;
}

static const char *
problem_hint(LocProblem problem)
{
	switch (problem)
	{
		case LOC_SRID:
			return "Transform it first: ST_Transform(geom, 27700).";
		case LOC_NOT_POINT:
			return "Pass one point per crime.";
		case LOC_EMPTY:
		case LOC_NONFINITE:
			return "A crime without a location is published as such: pass NULL, not an empty, NaN or infinite point.";
		case LOC_OUTSIDE:
			return "Check that the coordinates are British National Grid eastings and northings inside a loaded force's area, or pass the crime's neighbourhood.";
		case LOC_UNKNOWN_NB:
			return "See crimesnap.neighbourhood for the loaded neighbourhoods.";
		case LOC_OK:
			break;
	}
	return NULL;
}

static void
report_problem(LocProblem problem, int32 srid, int type, const char *nb,
			   bool has_id, int64 id, int element)
{
	char	   *msg = problem_text(problem, srid, type, nb);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", msg),
			 has_id ? errdetail("Crime %lld, element %d of the batch.", (long long) id, element) :
			 (element > 0 ? errdetail("Element %d of the batch.", element) : 0),
			 errhint("%s", problem_hint(problem))));
}

static void
require_current_set(const SnapIndex *idx)
{
	if (!idx->has_current)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("there is no current snap point set"),
				 errhint("Build one with crimesnap.build_snap_points().")));
}

static SnapCallState *
call_state(FunctionCallInfo fcinfo, int geom_arg)
{
	SnapCallState *st = (SnapCallState *) fcinfo->flinfo->fn_extra;

	if (st == NULL)
	{
		st = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(SnapCallState));
		fcinfo->flinfo->fn_extra = st;
	}
	if (!st->io_ready)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, geom_arg);

		/* an array argument: its element type is geometry */
		if (OidIsValid(t) && OidIsValid(get_element_type(t)))
			t = get_element_type(t);
		cs_geomio_init(&st->io, t, fcinfo->flinfo->fn_mcxt);
		st->io_ready = true;
	}
	return st;
}

/* ---------------------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------------------
 */

/* snap(geom geometry, neighbourhood text DEFAULT NULL) RETURNS bigint */
Datum
crimesnap_snap(PG_FUNCTION_ARGS)
{
	SnapCallState *st;
	SnapIndex  *idx;
	CsPoint		pt;
	int32		srid;
	int			type;
	LocProblem	problem;
	int			part;
	int			found;
	double		dist;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = call_state(fcinfo, 0);
	problem = check_location(&st->io, PG_GETARG_DATUM(0), &pt, &srid, &type);
	if (problem != LOC_OK)
		report_problem(problem, srid, type, NULL, false, 0, 0);

	idx = snapindex_get(PG_ARGISNULL(1));
	require_current_set(idx);
	if (PG_ARGISNULL(1))
	{
		part = locate_part(idx, pt.x, pt.y);
		if (part < 0)
			report_problem(LOC_OUTSIDE, srid, type, NULL, false, 0, 0);
	}
	else
	{
		text	   *nb = PG_GETARG_TEXT_PP(1);

		part = find_part(idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
		if (part < 0)
			report_problem(LOC_UNKNOWN_NB, srid, type, text_to_cstring(nb), false, 0, 0);
	}
	found = kd_nearest(idx, &idx->parts[part], pt.x, pt.y, crimesnap_max_snap_distance, &dist);
	if (found < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(idx->pts[found].id);
}

/*
 * The set-based forms.  snap_many returns (id, point_id, distance); snap_detail adds
 * the neighbourhood, an outcome and a reason, and with reject_bad = true reports a bad
 * location as a 'rejected' row instead of failing the whole batch.
 */
static Datum
snap_batch(FunctionCallInfo fcinfo, bool detail)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SnapCallState *st;
	bool		reject_bad = detail && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	Datum	   *ids = NULL;
	bool	   *idnulls = NULL;
	Datum	   *geoms = NULL;
	bool	   *geomnulls = NULL;
	Datum	   *nbs = NULL;
	bool	   *nbnulls = NULL;
	int			nids = 0;
	int			ngeoms = 0;
	int			nnbs = -1;
	bool		need_polygons = false;
	SnapIndex  *idx = NULL;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	double		maxdist = crimesnap_max_snap_distance;
	char	   *beyond;

	InitMaterializedSRF(fcinfo, 0);
	st = call_state(fcinfo, 1);

	if (!PG_ARGISNULL(0))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &ids, &idnulls, &nids);
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
		int16		typlen;
		bool		typbyval;
		char		typalign;

		get_typlenbyvalalign(ARR_ELEMTYPE(a), &typlen, &typbyval, &typalign);
		deconstruct_array(a, ARR_ELEMTYPE(a), typlen, typbyval, typalign,
						  &geoms, &geomnulls, &ngeoms);
	}
	if (!PG_ARGISNULL(2))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
						  &nbs, &nbnulls, &nnbs);
	if (nids != ngeoms || (nnbs >= 0 && nnbs != nids))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("snapping needs arrays of one length"),
				 errdetail("%d ids, %d geometries, %d neighbourhoods.", nids, ngeoms, Max(nnbs, 0)),
				 errhint("Pass one id, one location and (optionally) one neighbourhood per crime.")));
	if (nids == 0)
		return (Datum) 0;

	for (int i = 0; i < nids; i++)
		if (!geomnulls[i] && (nnbs < 0 || nbnulls[i]))
			need_polygons = true;

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "crimesnap snap row",
								   ALLOCSET_SMALL_SIZES);
	beyond = psprintf("no snap point within %g m in its neighbourhood", maxdist);

	for (int i = 0; i < nids; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		CsPoint		pt;
		int32		srid = 0;
		int			type = 0;
		LocProblem	problem = LOC_OK;
		int			part = -1;
		int			found = -1;
		double		dist = 0;
		const char *outcome;
		char	   *reason = NULL;
		char	   *nbname = NULL;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(rowcxt);

		if (geomnulls[i])
		{
			outcome = "not mapped";
			reason = "no location supplied";
			if (nnbs >= 0 && !nbnulls[i])
				nbname = TextDatumGetCString(nbs[i]);
		}
		else
		{
			problem = check_location(&st->io, geoms[i], &pt, &srid, &type);
			if (problem == LOC_OK)
			{
				if (idx == NULL)
				{
					MemoryContextSwitchTo(oldcxt);
					idx = snapindex_get(need_polygons);
					require_current_set(idx);
					MemoryContextSwitchTo(rowcxt);
				}
				if (nnbs < 0 || nbnulls[i])
				{
					part = locate_part(idx, pt.x, pt.y);
					if (part < 0)
						problem = LOC_OUTSIDE;
				}
				else
				{
					text	   *nb = DatumGetTextPP(nbs[i]);

					part = find_part(idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
					if (part < 0)
					{
						problem = LOC_UNKNOWN_NB;
						nbname = text_to_cstring(nb);
					}
				}
			}
			if (problem != LOC_OK)
			{
				if (!reject_bad)
					report_problem(problem, srid, type, nbname, !idnulls[i],
								   idnulls[i] ? 0 : DatumGetInt64(ids[i]), i + 1);
				outcome = "rejected";
				reason = problem_text(problem, srid, type, nbname);
			}
			else
			{
				found = kd_nearest(idx, &idx->parts[part], pt.x, pt.y, maxdist, &dist);
				nbname = idx->parts[part].id;
				if (found >= 0)
					outcome = "mapped";
				else
				{
					outcome = "not mapped";
					reason = idx->parts[part].count == 0 ?
						"no snap point in its neighbourhood" : beyond;
				}
			}
		}

		values[0] = ids[i];
		nulls[0] = idnulls[i];
		if (found >= 0)
			values[1] = Int64GetDatum(idx->pts[found].id);
		else
			nulls[1] = true;
		if (!detail)
		{
			if (found >= 0)
				values[2] = Float8GetDatum(dist);
			else
				nulls[2] = true;
		}
		else
		{
			if (nbname != NULL)
				values[2] = CStringGetTextDatum(nbname);
			else
				nulls[2] = true;
			if (found >= 0)
				values[3] = Float8GetDatum(dist);
			else
				nulls[3] = true;
			values[4] = CStringGetTextDatum(outcome);
			if (reason != NULL)
				values[5] = CStringGetTextDatum(reason);
			else
				nulls[5] = true;
		}
		MemoryContextSwitchTo(oldcxt);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	return (Datum) 0;
}

Datum
crimesnap_snap_many(PG_FUNCTION_ARGS)
{
	return snap_batch(fcinfo, false);
}

Datum
crimesnap_snap_detail(PG_FUNCTION_ARGS)
{
	return snap_batch(fcinfo, true);
}

/* The crime location in argument 0, or a clear error saying what is wrong with it. */
static CsPoint
checked_location(FunctionCallInfo fcinfo)
{
	SnapCallState *st = call_state(fcinfo, 0);
	CsPoint		pt;
	int32		srid;
	int			type;
	LocProblem	problem;

	problem = check_location(&st->io, PG_GETARG_DATUM(0), &pt, &srid, &type);
	if (problem != LOC_OK)
		report_problem(problem, srid, type, NULL, false, 0, 0);
	return pt;
}

/* neighbourhood_at(geom geometry) RETURNS text */
Datum
crimesnap_neighbourhood_at(PG_FUNCTION_ARGS)
{
	CsPoint		pt = checked_location(fcinfo);
	SnapIndex  *idx;
	int			part;

	idx = snapindex_get(true);
	part = locate_part(idx, pt.x, pt.y);
	if (part < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(idx->parts[part].id, idx->parts[part].idlen));
}

/* check_crime_location(geom geometry) RETURNS void */
Datum
crimesnap_check_crime_location(PG_FUNCTION_ARGS)
{
	(void) checked_location(fcinfo);
	PG_RETURN_VOID();
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
	values[12] = Int64GetDatum(stat_builds);
	values[13] = Int64GetDatum(stat_invalidations);
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
