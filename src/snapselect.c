/*
 * snapselect.c
 *	  crimesnap.select_snap_points(): prunes candidate points until every catchment holds at
 *	  least k addresses (or, for public places and force points, none), then admits force
 *	  points that take no point below k.
 *
 * A catchment is the set of addresses whose nearest point inside their own neighbourhood is
 * that point, ties going to the lowest rank: the builder passes as rank the point id the
 * candidate will get, so that these catchments are exactly those crimesnap.snap() and
 * crimesnap.audit_snap_points() see once the set is stored.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/binaryheap.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_select_snap_points);

typedef enum CandKind
{
	KIND_STREET = 0,			/* needs a catchment of k or more */
	KIND_PLACE = 1,				/* a public place or premise: none, or k or more */
	KIND_FORCE = 2				/* a force's own point: as a place, and admitted last */
} CandKind;

typedef struct Selector
{
	int			ncand;
	CsPoint    *cpt;
	int		   *carea;
	int64	   *crank;
	CandKind   *ckind;
	bool	   *alive;
	bool	   *valid;			/* has a location and an area */
	int		   *count;
	const char **reason;
	int			naddr;
	CsPoint    *apt;
	int		   *aarea;
	int		   *owner;			/* candidate, or -1 */
	int		   *next;			/* next address of the same owner, or -1 */
	int		   *head;			/* first address of each candidate, or -1 */
	int		   *area_addr;		/* addresses by area ... */
	int		   *area_addr_start;	/* ... from these offsets (nareas + 1) */
	int		   *taken;			/* scratch for try_admit(), naddr */
	int		   *near;			/* scratch for area_addresses_near(), naddr */
	CsGrid	   *addr_grids;		/* per area, over its addresses, built when first needed */
	bool	   *addr_grid_built;
	double	   *area_reach;		/* per area: the furthest an address is from its point */
	int		   *lost;			/* scratch for try_admit(), ncand, kept zero */
	int			k;
	/* one grid per area over the candidates */
	int			nareas;
	CsGrid	   *grids;
	int		   *ring;
	int			ringcap;
} Selector;

static bool
violates(const Selector *s, int c)
{
	if (s->ckind[c] == KIND_STREET)
		return s->count[c] < s->k;
	return s->count[c] > 0 && s->count[c] < s->k;
}

/* The nearest live candidate of the address's area; ties to the lowest rank.  -1 if none. */
static int
nearest_alive(Selector *s, int a)
{
	CsGrid	   *grid = &s->grids[s->aarea[a]];
	CsPoint		p = s->apt[a];
	int			best = -1;
	double		bestd = DBL_MAX;
	int			cx,
				cy;
	int			maxring;

	if (grid->cellstart == NULL)
		return -1;
	cs_grid_locate(grid, p.x, p.y, &cx, &cy);
	maxring = cs_grid_max_ring(grid);
	for (int r = 0; r <= maxring; r++)
	{
		double		bound = cs_grid_ring_bound(grid, p.x, p.y, cx, cy, r);
		int			ncells;

		if (bound > bestd || bound == DBL_MAX)
			break;
		if (8 * r + 1 > s->ringcap)
		{
			s->ringcap = 2 * (8 * r + 1);
			s->ring = repalloc(s->ring, sizeof(int) * s->ringcap);
		}
		ncells = cs_grid_ring_cells(grid, cx, cy, r, s->ring);
		for (int c = 0; c < ncells; c++)
			for (int k = grid->cellstart[s->ring[c]]; k < grid->cellstart[s->ring[c] + 1]; k++)
			{
				int			cand = grid->items[k];
				double		d;

				if (!s->alive[cand])
					continue;
				d = cs_dist_pt_pt(p, s->cpt[cand]);
				if (best < 0 || d < bestd || (d == bestd && s->crank[cand] < s->crank[best]))
				{
					best = cand;
					bestd = d;
				}
			}
	}
	return best;
}

static void
give(Selector *s, int a, int c)
{
	s->owner[a] = c;
	if (c >= 0)
	{
		s->next[a] = s->head[c];
		s->head[c] = a;
		s->count[c]++;
	}
}

/* Heap entries: the smallest catchment first; on a tie the newest candidate (highest rank). */
typedef struct HeapEntry
{
	int			count;
	int			cand;
} HeapEntry;

static int
heap_cmp(Datum a, Datum b, void *arg)
{
	const Selector *s = arg;
	const HeapEntry *x = (const HeapEntry *) DatumGetPointer(a);
	const HeapEntry *y = (const HeapEntry *) DatumGetPointer(b);

	/* binaryheap keeps the largest on top: "larger" means "to be removed sooner". */
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (s->crank[x->cand] != s->crank[y->cand])
		return s->crank[x->cand] > s->crank[y->cand] ? 1 : -1;
	return 0;
}

static void
push(binaryheap **heap, Selector *s, int c)
{
	HeapEntry  *e = palloc(sizeof(HeapEntry));

	e->count = s->count[c];
	e->cand = c;
	if ((*heap)->bh_size >= (*heap)->bh_space)
	{
		binaryheap *bigger = binaryheap_allocate((*heap)->bh_space * 2, heap_cmp, s);

		for (int i = 0; i < (*heap)->bh_size; i++)
			binaryheap_add_unordered(bigger, (*heap)->bh_nodes[i]);
		binaryheap_build(bigger);
		binaryheap_free(*heap);
		*heap = bigger;
	}
	binaryheap_add(*heap, PointerGetDatum(e));
}

/*
 * Phase 1: streets and places.  Every address goes to its nearest candidate; then, while
 * some candidate's catchment is invalid, the one with the smallest catchment (the newest on
 * a tie) is removed and its addresses go to their next nearest.  Removing a point only ever
 * adds addresses to the others, so a valid street point stays valid and the loop ends
 * after at most one removal per candidate.
 */
static void
prune(Selector *s)
{
	binaryheap *heap = binaryheap_allocate(Max(s->ncand, 16), heap_cmp, s);

	for (int a = 0; a < s->naddr; a++)
	{
		if ((a & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		give(s, a, s->aarea[a] >= 0 ? nearest_alive(s, a) : -1);
	}
	for (int c = 0; c < s->ncand; c++)
		if (s->alive[c] && violates(s, c))
			push(&heap, s, c);

	while (!binaryheap_empty(heap))
	{
		HeapEntry  *e = (HeapEntry *) DatumGetPointer(binaryheap_remove_first(heap));
		int			c = e->cand;
		int			a;

		CHECK_FOR_INTERRUPTS();
		if (!s->alive[c] || e->count != s->count[c] || !violates(s, c))
		{
			pfree(e);
			continue;			/* stale: the candidate grew or went since */
		}
		pfree(e);
		s->alive[c] = false;
		s->reason[c] = s->ckind[c] == KIND_STREET
			? psprintf("catchment of %d addresses is under k (%d)", s->count[c], s->k)
			: psprintf("catchment of %d addresses is between 1 and k - 1 (k is %d)", s->count[c], s->k);
		a = s->head[c];
		s->head[c] = -1;
		while (a >= 0)
		{
			int			nexta = s->next[a];
			int			to = nearest_alive(s, a);

			give(s, a, to);
			if (to >= 0 && violates(s, to))
				push(&heap, s, to);
			a = nexta;
		}
	}
	binaryheap_free(heap);
}

static int
int_cmp(const void *pa, const void *pb)
{
	int			a = *(const int *) pa;
	int			b = *(const int *) pb;

	return (a > b) - (a < b);
}

static int
rank_order_cmp(const void *pa, const void *pb, void *arg)
{
	const Selector *s = arg;
	int64		a = s->crank[*(const int *) pa];
	int64		b = s->crank[*(const int *) pb];

	return (a > b) - (a < b);
}

/*
 * The addresses of c's area that c could take: those no further from c than the furthest any
 * address of the area lies from its point (admissions only ever bring addresses nearer, so
 * that bound, taken once after pruning, stays safe).  Through a grid of the area's addresses,
 * so that admitting a point costs what lies around it, not the whole neighbourhood.  Returns
 * the addresses in s->near (valid until the next call) and their number in *n.
 */
static const int *
area_addresses_near(Selector *s, int c, int *n)
{
	int			area = s->carea[c];
	int			first = s->area_addr_start[area];
	int			count = s->area_addr_start[area + 1] - first;
	CsGrid	   *g = &s->addr_grids[area];
	double		reach;
	int			x0,
				x1,
				y0,
				y1;

	if (!s->addr_grid_built[area])
	{
		CsBox	   *boxes = palloc(sizeof(CsBox) * Max(count, 1));
		int		   *ids = palloc(sizeof(int) * Max(count, 1));

		/* Boxes indexed by position in the area's list, so grid items are those positions. */
		s->area_reach[area] = 0;
		for (int i = 0; i < count; i++)
		{
			int			a = s->area_addr[first + i];

			boxes[i].xmin = boxes[i].xmax = s->apt[a].x;
			boxes[i].ymin = boxes[i].ymax = s->apt[a].y;
			ids[i] = i;
			s->area_reach[area] = (s->owner[a] < 0) ? DBL_MAX
				: Max(s->area_reach[area], cs_dist_pt_pt(s->apt[a], s->cpt[s->owner[a]]));
		}
		cs_grid_build(g, boxes, ids, count, 0.0);
		pfree(boxes);
		pfree(ids);
		s->addr_grid_built[area] = true;
	}
	reach = s->area_reach[area];
	if (reach == DBL_MAX || count == 0)
	{
		*n = count;
		return s->area_addr + first;
	}
	cs_grid_locate(g, s->cpt[c].x - reach, s->cpt[c].y - reach, &x0, &y0);
	cs_grid_locate(g, s->cpt[c].x + reach, s->cpt[c].y + reach, &x1, &y1);
	*n = 0;
	for (int cy = y0; cy <= y1; cy++)
		for (int cx = x0; cx <= x1; cx++)
			for (int k = g->cellstart[cy * g->nx + cx]; k < g->cellstart[cy * g->nx + cx + 1]; k++)
				s->near[(*n)++] = s->area_addr[first + g->items[k]];
	/* The same addresses in the same order as a walk of the whole area would give. */
	qsort(s->near, *n, sizeof(int), int_cmp);
	return s->near;
}

/*
 * Try to add candidate c to the set.  The addresses it would take are those of its area
 * nearer to it than to their current point (or as near, when c ranks lower).  It goes in
 * only when its own catchment would be valid (k or more; for a place or force point, none
 * also does) and every point it takes addresses from keeps a valid catchment, so adding a
 * point never pushes another one out.  Returns NULL when c went in, else why not.
 */
static const char *
try_admit(Selector *s, int c)
{
	int			ntaken = 0;
	const char *why = NULL;

	int			n;
	const int  *addrs = area_addresses_near(s, c, &n);

	for (int i = 0; i < n; i++)
	{
		int			a = addrs[i];
		int			o = s->owner[a];
		double		dc = cs_dist_pt_pt(s->apt[a], s->cpt[c]);

		if (o >= 0)
		{
			double		dold = cs_dist_pt_pt(s->apt[a], s->cpt[o]);

			if (dc > dold || (dc == dold && s->crank[c] > s->crank[o]))
				continue;
		}
		s->taken[ntaken++] = a;
		if (o >= 0)
			s->lost[o]++;
	}
	if (s->ckind[c] == KIND_STREET && ntaken < s->k)
		why = psprintf("its catchment would be %d addresses, under k (%d)", ntaken, s->k);
	else if (ntaken > 0 && ntaken < s->k)
		why = psprintf("its catchment would be %d addresses, between 1 and k - 1 (k is %d)", ntaken, s->k);
	for (int t = 0; t < ntaken && why == NULL; t++)
	{
		int			o = s->owner[s->taken[t]];
		int			left;

		if (o < 0)
			continue;
		left = s->count[o] - s->lost[o];
		if ((s->ckind[o] == KIND_STREET && left < s->k) ||
			(s->ckind[o] != KIND_STREET && left > 0 && left < s->k))
			why = psprintf("it would leave the point of rank " INT64_FORMAT " with %d addresses, under k (%d)",
						   s->crank[o], left, s->k);
	}
	for (int t = 0; t < ntaken; t++)
	{
		int			o = s->owner[s->taken[t]];

		if (o < 0)
			continue;
		s->lost[o] = 0;
		if (why == NULL)
			s->count[o]--;
	}
	if (why != NULL)
		return why;
	for (int t = 0; t < ntaken; t++)
		s->owner[s->taken[t]] = c;
	s->count[c] = ntaken;
	s->alive[c] = true;
	return NULL;
}

/*
 * Phase 2: pruning removes the smallest catchment first, so a candidate removed early may fit
 * again once its neighbours have gone and their addresses moved on.  Offer every removed
 * street and place candidate again, in rank order, until a whole pass admits none.
 */
static void
readmit(Selector *s)
{
	int		   *order = palloc(sizeof(int) * Max(s->ncand, 1));
	int			norder = 0;
	bool		admitted = true;

	for (int c = 0; c < s->ncand; c++)
		if (s->valid[c] && !s->alive[c] && s->ckind[c] != KIND_FORCE)
			order[norder++] = c;
	qsort_arg(order, norder, sizeof(int), rank_order_cmp, s);
	while (admitted)
	{
		admitted = false;
		for (int i = 0; i < norder; i++)
		{
			int			c = order[i];

			CHECK_FOR_INTERRUPTS();
			if (s->alive[c])
				continue;
			if (try_admit(s, c) == NULL)
			{
				s->reason[c] = NULL;
				admitted = true;
			}
		}
	}
	pfree(order);
}

/*
 * Phase 3: force points, in rank order, each admitted only as try_admit() allows: a force
 * can add points, never remove one.
 */
static void
admit_force_points(Selector *s)
{
	int		   *order = palloc(sizeof(int) * Max(s->ncand, 1));
	int			norder = 0;

	for (int c = 0; c < s->ncand; c++)
		if (s->valid[c] && s->ckind[c] == KIND_FORCE)
			order[norder++] = c;
	qsort_arg(order, norder, sizeof(int), rank_order_cmp, s);
	for (int i = 0; i < norder; i++)
	{
		CHECK_FOR_INTERRUPTS();
		s->reason[order[i]] = try_admit(s, order[i]);
	}
	pfree(order);
}

/* The kind of a candidate from its name; NULL is a street. */
static CandKind
parse_kind(const char *kind)
{
	if (kind == NULL || strcmp(kind, "street") == 0)
		return KIND_STREET;
	if (strcmp(kind, "place") == 0)
		return KIND_PLACE;
	if (strcmp(kind, "force") == 0)
		return KIND_FORCE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown snap point kind \"%s\"", kind),
			 errhint("Use \"street\", \"place\" or \"force\".")));
	return KIND_STREET;			/* keep the compiler quiet */
}

/*
 * The candidates: kinds, areas and locations, checked; then one grid per area over its
 * candidates, force points included (they start dead).
 */
static void
init_candidates(Selector *s, const CsGeomArray *cg, char **carea_s, char **ckind_s, char **areas)
{
	CsBox	   *boxes = palloc(sizeof(CsBox) * Max(s->ncand, 1));
	int		   *key = palloc(sizeof(int) * Max(s->ncand, 1));
	int		   *byarea = palloc(sizeof(int) * Max(s->ncand, 1));
	int		   *area_start = palloc(sizeof(int) * (s->nareas + 1));

	s->cpt = palloc(sizeof(CsPoint) * Max(s->ncand, 1));
	s->carea = palloc(sizeof(int) * Max(s->ncand, 1));
	s->ckind = palloc(sizeof(CandKind) * Max(s->ncand, 1));
	s->alive = palloc0(sizeof(bool) * Max(s->ncand, 1));
	s->valid = palloc0(sizeof(bool) * Max(s->ncand, 1));
	s->count = palloc0(sizeof(int) * Max(s->ncand, 1));
	s->reason = palloc0(sizeof(char *) * Max(s->ncand, 1));
	s->head = palloc(sizeof(int) * Max(s->ncand, 1));
	for (int c = 0; c < s->ncand; c++)
	{
		const CsGeom *g = &cg->geoms[c];

		s->head[c] = -1;
		key[c] = -1;
		s->ckind[c] = parse_kind(ckind_s[c]);
		s->carea[c] = cs_intern_lookup(areas, s->nareas, carea_s[c]);
		if (c > 0 && s->crank[c] <= s->crank[c - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("candidate ranks must be unique and increasing; rank " INT64_FORMAT " follows " INT64_FORMAT,
							s->crank[c], s->crank[c - 1]),
					 errhint("Pass the candidates ordered by the point id each would get.")));
		if (cg->nulls[c] || g->npoints == 0)
		{
			s->reason[c] = "no location";
			continue;
		}
		if (g->type != CS_WKB_POINT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("candidate of rank " INT64_FORMAT " is a %s, not a point", s->crank[c],
							cs_wkb_type_name(g->type)),
					 errhint("Pass candidate snap points as points.")));
		if (s->carea[c] < 0)
		{
			s->reason[c] = "outside every neighbourhood";
			continue;
		}
		s->cpt[c] = g->points[0];
		s->valid[c] = true;
		s->alive[c] = (s->ckind[c] != KIND_FORCE);
		boxes[c].xmin = boxes[c].xmax = s->cpt[c].x;
		boxes[c].ymin = boxes[c].ymax = s->cpt[c].y;
		key[c] = s->carea[c];
	}

	cs_group_by_key(key, s->ncand, s->nareas, area_start, byarea);
	s->grids = palloc0(sizeof(CsGrid) * Max(s->nareas, 1));
	for (int a = 0; a < s->nareas; a++)
		if (area_start[a + 1] > area_start[a])
			cs_grid_build(&s->grids[a], boxes, byarea + area_start[a], area_start[a + 1] - area_start[a], 0.0);
	s->ringcap = 64;
	s->ring = palloc(sizeof(int) * s->ringcap);
}

/*
 * The addresses: an address outside the candidates' areas belongs to no catchment.  They
 * are grouped by area for admissions, which look at one area's addresses only.
 */
static void
init_addresses(Selector *s, const CsGeomArray *ag, char **aarea_s, char **areas)
{
	s->naddr = ag->n;
	s->apt = palloc(sizeof(CsPoint) * Max(s->naddr, 1));
	s->aarea = palloc(sizeof(int) * Max(s->naddr, 1));
	s->owner = palloc(sizeof(int) * Max(s->naddr, 1));
	s->next = palloc(sizeof(int) * Max(s->naddr, 1));
	for (int a = 0; a < s->naddr; a++)
	{
		const CsGeom *g = &ag->geoms[a];

		s->owner[a] = -1;
		s->next[a] = -1;
		s->aarea[a] = -1;
		if (ag->nulls[a] || g->npoints == 0)
			continue;
		if (g->type != CS_WKB_POINT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("address %d is a %s, not a point", a + 1, cs_wkb_type_name(g->type)),
					 errhint("Reduce buildings to a point first, for example with ST_PointOnSurface(geom).")));
		s->apt[a] = g->points[0];
		s->aarea[a] = cs_intern_lookup(areas, s->nareas, aarea_s[a]);
	}

	s->area_addr = palloc(sizeof(int) * Max(s->naddr, 1));
	s->area_addr_start = palloc(sizeof(int) * (s->nareas + 1));
	cs_group_by_key(s->aarea, s->naddr, s->nareas, s->area_addr_start, s->area_addr);
	s->taken = palloc(sizeof(int) * Max(s->naddr, 1));
	s->near = palloc(sizeof(int) * Max(s->naddr, 1));
	s->addr_grids = palloc0(sizeof(CsGrid) * Max(s->nareas, 1));
	s->addr_grid_built = palloc0(sizeof(bool) * Max(s->nareas, 1));
	s->area_reach = palloc0(sizeof(double) * Max(s->nareas, 1));
	s->lost = palloc0(sizeof(int) * Max(s->ncand, 1));
}

/* One row per candidate: rank, kept, catchment and why not kept. */
static void
emit_selection(const Selector *s, ReturnSetInfo *rsinfo)
{
	for (int c = 0; c < s->ncand; c++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int64GetDatum(s->crank[c]);
		values[1] = BoolGetDatum(s->alive[c]);
		values[2] = Int32GetDatum(s->count[c]);
		if (s->reason[c] != NULL && !s->alive[c])
			values[3] = CStringGetTextDatum(s->reason[c]);
		else
			nulls[3] = true;
		if (!s->valid[c])
			nulls[2] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * The 0.2.0 arguments: candidates as (rank, geom, area, kind) rows, addresses as
 * crimesnap.address_input rows (id, geom, street_name, area), of which geom and area count.
 */
static void
select_rows(FunctionCallInfo fcinfo, Selector *s, CsGeomArray *cg, char ***carea_s,
			char ***ckind_s, CsGeomArray *ag, char ***aarea_s, MemoryContext work)
{
	Oid			cexpect[4] = {INT8OID, InvalidOid, TEXTOID, TEXTOID};
	Oid			aexpect[4] = {INT8OID, InvalidOid, TEXTOID, TEXTOID};
	Datum	   *col[4];
	bool	   *nul[4];
	Oid			types[4];
	int			n;

	cs_row_array_decode(PG_GETARG_DATUM(0), "candidates", 4, cexpect, &n, col, nul, types);
	s->ncand = n;
	s->crank = cs_int8_datums(col[0], nul[0], n, "rank of candidates");
	cs_geom_datums_decode(col[1], nul[1], n, types[1], cg, work);
	*carea_s = cs_text_datums(col[2], nul[2], n);
	*ckind_s = cs_text_datums(col[3], nul[3], n);

	cs_row_array_decode(PG_GETARG_DATUM(1), "addresses", 4, aexpect, &n, col, nul, types);
	cs_geom_datums_decode(col[1], nul[1], n, types[1], ag, work);
	*aarea_s = cs_text_datums(col[3], nul[3], n);
}

/*
 * select_snap_points(candidates snap_candidate[], addresses address_input[], min_addresses int)
 * or, as 0.1.0 declared it,
 * select_snap_points(ranks bigint[], geoms geometry[], areas text[], kinds text[],
 *					  address_geoms geometry[], address_areas text[], min_addresses integer)
 * RETURNS TABLE (rank bigint, kept boolean, catchment integer, reason text)
 */
Datum
crimesnap_select_snap_points(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext old;
	Selector	s;
	CsGeomArray cg;
	CsGeomArray ag;
	char	  **carea_s;
	char	  **ckind_s;
	char	  **aarea_s;
	char	  **areas;
	int			n1,
				n2,
				n3;

	/* 0.1.0 declared six parallel arrays; 0.2.0 candidates and addresses as rows. */
	bool		rows = (PG_NARGS() == 3);
	int			nrequired = rows ? 2 : 6;

	cs_require_args(fcinfo, nrequired, "select_snap_points", "Pass empty arrays, not NULL.");
	memset(&s, 0, sizeof(s));
	s.k = PG_ARGISNULL(PG_NARGS() - 1) ? crimesnap_min_addresses : PG_GETARG_INT32(PG_NARGS() - 1);
	if (s.k < crimesnap_min_addresses)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_addresses %d is below crimesnap.min_addresses (%d)", s.k, crimesnap_min_addresses),
				 errhint("A snap point may serve more addresses than the privacy threshold, never fewer; "
						 "only a superuser can change crimesnap.min_addresses.")));

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "crimesnap snap point selection",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	if (rows)
		select_rows(fcinfo, &s, &cg, &carea_s, &ckind_s, &ag, &aarea_s, work);
	else
	{
		s.crank = cs_int8_array_decode(PG_GETARG_DATUM(0), &s.ncand, "ranks");
		cs_geom_array_decode(PG_GETARG_DATUM(1), &cg, work);
		carea_s = cs_text_array_decode(PG_GETARG_DATUM(2), &n1);
		ckind_s = cs_text_array_decode(PG_GETARG_DATUM(3), &n2);
		if (cg.n != s.ncand || n1 != s.ncand || n2 != s.ncand)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("select_snap_points got %d ranks, %d geometries, %d areas and %d kinds",
							s.ncand, cg.n, n1, n2),
					 errhint("The candidate arrays must have one element per candidate.")));
		cs_geom_array_decode(PG_GETARG_DATUM(4), &ag, work);
		aarea_s = cs_text_array_decode(PG_GETARG_DATUM(5), &n3);
		if (n3 != ag.n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("select_snap_points got %d address geometries and %d address areas", ag.n, n3),
					 errhint("The address arrays must have one element per address.")));
	}
	cs_geom_arrays_same_srid(&cg, "candidates", &ag, "addresses");

	areas = cs_intern_strings(carea_s, s.ncand, NULL, 0, &s.nareas);
	init_candidates(&s, &cg, carea_s, ckind_s, areas);
	init_addresses(&s, &ag, aarea_s, areas);

	prune(&s);
	readmit(&s);
	admit_force_points(&s);
	emit_selection(&s, rsinfo);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
