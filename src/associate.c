/*
 * associate.c
 *	  Address-to-street association: crimesnap.associate_addresses().
 *
 * Every postal address is counted for exactly one street, so that a street split into many
 * segments or ways still counts each of its addresses once:
 *	  1. when the address carries a street name, the nearest centreline of its own area
 *		 (neighbourhood) whose normalised name matches, if one lies within max_name_distance;
 *	  2. otherwise the nearest centreline of its own area, whatever its name.
 * Ties go to the lowest street id, as `ORDER BY geom <-> address, street_id` would.
 *
 * This replaces a LATERAL join that asks PostGIS's KNN index once per address.  Here the
 * streets are cut into edges once, put into one uniform grid per area, and every address
 * searches the rings of cells around it; name matches look only at the few streets of that
 * name in the area.  Everything runs on plain doubles in one memory context that is freed
 * when the call ends.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_associate_addresses);

/* Streets' edges for the grid: one item per pair of consecutive vertices. */
typedef struct Edges
{
	int			n;
	CsPoint    *a;
	CsPoint    *b;
	int		   *street;
	CsBox	   *box;
} Edges;

/* A street's normalised name (as a key id) in its area, for the name lookup. */
typedef struct NameEntry
{
	int			area;
	int			key;
	int			street;
} NameEntry;

/*
 * Interning by hash: 400,000 addresses carry a few thousand distinct spellings, and a hash
 * table finds each one with a single string comparison where sorting them would take twenty.
 */
typedef struct StrHash
{
	int			cap;			/* a power of two */
	int			n;
	const char **str;			/* by id */
	uint32	   *slot_hash;
	int		   *slot_id;		/* -1 when empty */
} StrHash;

static void
strhash_init(StrHash *h, int expected)
{
	h->cap = 64;
	while (h->cap < 2 * expected)
		h->cap *= 2;
	h->n = 0;
	h->str = palloc(sizeof(char *) * h->cap / 2);
	h->slot_hash = palloc(sizeof(uint32) * h->cap);
	h->slot_id = palloc(sizeof(int) * h->cap);
	memset(h->slot_id, -1, sizeof(int) * h->cap);
}

/* The id of s, added when new; s must outlive the table. */
static int
strhash_intern(StrHash *h, const char *s)
{
	uint32		hv = hash_bytes((const unsigned char *) s, strlen(s));
	uint32		i = hv & (h->cap - 1);

	while (h->slot_id[i] >= 0)
	{
		if (h->slot_hash[i] == hv && strcmp(h->str[h->slot_id[i]], s) == 0)
			return h->slot_id[i];
		i = (i + 1) & (h->cap - 1);
	}
	if (h->n + 1 > h->cap / 2)
	{
		/* Grow: rehash every id into a table twice the size. */
		StrHash		bigger;

		strhash_init(&bigger, h->cap);
		for (int id = 0; id < h->n; id++)
		{
			uint32		bh = hash_bytes((const unsigned char *) h->str[id], strlen(h->str[id]));
			uint32		j = bh & (bigger.cap - 1);

			while (bigger.slot_id[j] >= 0)
				j = (j + 1) & (bigger.cap - 1);
			bigger.slot_hash[j] = bh;
			bigger.slot_id[j] = id;
			bigger.str[id] = h->str[id];
		}
		bigger.n = h->n;
		pfree(h->str);
		pfree(h->slot_hash);
		pfree(h->slot_id);
		*h = bigger;
		return strhash_intern(h, s);
	}
	h->slot_hash[i] = hv;
	h->slot_id[i] = h->n;
	h->str[h->n] = s;
	return h->n++;
}

static int
name_entry_cmp(const void *pa, const void *pb)
{
	const NameEntry *a = pa;
	const NameEntry *b = pb;

	if (a->area != b->area)
		return a->area < b->area ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return (a->street > b->street) - (a->street < b->street);
}

/* Distance from p to a box, 0 inside it. */
static double
box_dist(CsPoint p, const CsBox *b)
{
	double		dx = Max(Max(b->xmin - p.x, p.x - b->xmax), 0.0);
	double		dy = Max(Max(b->ymin - p.y, p.y - b->ymax), 0.0);

	return sqrt(dx * dx + dy * dy);
}

/* Normalised street names, once per distinct spelling, as key ids. */
typedef struct NameKeys
{
	StrHash		raw;			/* spellings as given */
	StrHash		keys;			/* normalised keys */
	int		   *key_of_raw;
	int			cap;
} NameKeys;

/* Key ids for the names of one array: -1 for no name, or nothing usable left of it. */
static int *
name_keys(NameKeys *nk, char **names, int n)
{
	int		   *out = palloc(sizeof(int) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		int			r;

		if (names[i] == NULL)
		{
			out[i] = -1;
			continue;
		}
		r = strhash_intern(&nk->raw, names[i]);
		if (r >= nk->cap || nk->key_of_raw[r] == -2)
		{
			char	   *k = cs_normalise_street_name(names[i], strlen(names[i]));

			if (r >= nk->cap)
			{
				int			old = nk->cap;

				nk->cap = Max(2 * nk->cap, r + 1);
				nk->key_of_raw = repalloc(nk->key_of_raw, sizeof(int) * nk->cap);
				for (int j = old; j < nk->cap; j++)
					nk->key_of_raw[j] = -2; /* not yet normalised */
			}
			nk->key_of_raw[r] = k[0] == '\0' ? -1 : strhash_intern(&nk->keys, k);
		}
		out[i] = nk->key_of_raw[r];
	}
	return out;
}

static bool
better(double d, int64 id, double bestd, int64 bestid)
{
	return d < bestd || (d == bestd && id < bestid);
}

/* What the searches of one call share. */
typedef struct Search
{
	Edges	   *e;
	const int64 *street_id;
	const int  *street_key;
	const int  *edge_order;		/* edges by area ... */
	const int  *area_start;		/* ... from these offsets */
	CsGrid	   *grids;			/* one per area, built when first needed */
	bool	   *grid_built;
	int		   *stamp;			/* per edge: the last search that measured it */
	int			search;
	int		   *ring;
	int			ringcap;
} Search;

/*
 * The nearest edge of the area's grid to p, ring by ring, among edges of streets with key
 * want_key (any street when want_key is -1) no further than limit.  Updates *best (a street)
 * and *bestd, ties to the lowest street id.
 */
static void
grid_nearest(Search *sr, int area, CsPoint p, int want_key, double limit, int *best, double *bestd)
{
	CsGrid	   *grid = &sr->grids[area];
	int			cx,
				cy;
	int			maxring;

	if (sr->area_start[area + 1] == sr->area_start[area])
		return;
	if (!sr->grid_built[area])
	{
		cs_grid_build(grid, sr->e->box, sr->edge_order + sr->area_start[area],
					  sr->area_start[area + 1] - sr->area_start[area], 0.0);
		sr->grid_built[area] = true;
	}
	sr->search++;
	cs_grid_locate(grid, p.x, p.y, &cx, &cy);
	maxring = cs_grid_max_ring(grid);
	for (int r = 0; r <= maxring; r++)
	{
		double		bound = cs_grid_ring_bound(grid, p.x, p.y, cx, cy, r);
		int			ncells;

		/* Nothing in this ring or beyond can beat (or tie with) the best, or is near enough. */
		if (bound > *bestd || bound > limit || bound == DBL_MAX)
			break;
		if (8 * r + 1 > sr->ringcap)
		{
			sr->ringcap = 2 * (8 * r + 1);
			sr->ring = repalloc(sr->ring, sizeof(int) * sr->ringcap);
		}
		ncells = cs_grid_ring_cells(grid, cx, cy, r, sr->ring);
		for (int c = 0; c < ncells; c++)
			for (int k = grid->cellstart[sr->ring[c]]; k < grid->cellstart[sr->ring[c] + 1]; k++)
			{
				int			ed = grid->items[k];
				int			s = sr->e->street[ed];
				double		d;

				if (sr->stamp[ed] == sr->search)
					continue;
				sr->stamp[ed] = sr->search;
				if (want_key >= 0 && sr->street_key[s] != want_key)
					continue;
				d = cs_dist_pt_seg(p, sr->e->a[ed], sr->e->b[ed]);
				if (d <= limit && (*best < 0 || better(d, sr->street_id[s], *bestd, sr->street_id[*best])))
				{
					*best = s;
					*bestd = d;
				}
			}
	}
}

/*
 * Streets of one name in one area beyond which a name search goes through the grid rather
 * than down the list: a common name ("High Street") can have hundreds of pieces.
 */
#define NAME_LIST_MAX 8

/* Everything one associate_addresses() call works on. */
typedef struct Assoc
{
	int			naddr;
	int64	   *addr_id;
	CsGeomArray addr_geom;
	char	  **addr_name;
	char	  **addr_area_s;	/* NULL when no areas are given */
	int			nstreet;
	int64	   *street_id;
	CsGeomArray street_geom;
	char	  **street_name;
	char	  **street_area_s;
	double		max_name_distance;
	bool		null_area_is_area;	/* a NULL area is an area (rows), or none (0.1.0) */
	int			nareas;
	int		   *addr_area;		/* area ids, -1 for none */
	int		   *street_area;
	int		   *addr_key;		/* normalised name ids, -1 for none */
	int		   *street_key;
	NameEntry  *byname;			/* streets by (area, name key, street) */
	int			nbyname;
	CsBox	   *street_box;
	Edges		e;
} Assoc;

static void assoc_check_srids(Assoc *as);

/* Addresses and streets as rows: (id, geom, name, area), the types of 0.2.0. */
static void
assoc_rows(FunctionCallInfo fcinfo, Assoc *as, MemoryContext work)
{
	static const char *const what[2] = {"addresses", "streets"};
	Oid			expect[4] = {INT8OID, InvalidOid, TEXTOID, TEXTOID};

	for (int k = 0; k < 2; k++)
	{
		Datum	   *col[4];
		bool	   *nul[4];
		Oid			types[4];
		int			n;

		cs_row_array_decode(PG_GETARG_DATUM(k), what[k], 4, expect, &n, col, nul, types);
		if (k == 0)
		{
			as->naddr = n;
			as->addr_id = cs_int8_datums(col[0], nul[0], n, "address_id of addresses");
			cs_geom_datums_decode(col[1], nul[1], n, types[1], &as->addr_geom, work);
			as->addr_name = cs_text_datums(col[2], nul[2], n);
			as->addr_area_s = cs_text_datums(col[3], nul[3], n);
		}
		else
		{
			as->nstreet = n;
			as->street_id = cs_int8_datums(col[0], nul[0], n, "street_id of streets");
			cs_geom_datums_decode(col[1], nul[1], n, types[1], &as->street_geom, work);
			as->street_name = cs_text_datums(col[2], nul[2], n);
			as->street_area_s = cs_text_datums(col[3], nul[3], n);
		}
	}
	as->null_area_is_area = true;
	assoc_check_srids(as);
}

/* The arguments of 0.1.0's nine-array form, decoded and checked: lengths, NULLs, SRIDs. */
static void
assoc_arguments(FunctionCallInfo fcinfo, Assoc *as, MemoryContext work)
{
	int			n;

	as->addr_id = cs_int8_array_decode(PG_GETARG_DATUM(0), &as->naddr, "address_ids");
	cs_geom_array_decode(PG_GETARG_DATUM(1), &as->addr_geom, work);
	as->addr_name = cs_text_array_decode(PG_GETARG_DATUM(2), &n);
	if (as->addr_geom.n != as->naddr || n != as->naddr)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("associate_addresses got %d address ids, %d geometries and %d street names",
						as->naddr, as->addr_geom.n, n),
				 errhint("The address arrays must have one element per address.")));
	as->street_id = cs_int8_array_decode(PG_GETARG_DATUM(3), &as->nstreet, "street_ids");
	cs_geom_array_decode(PG_GETARG_DATUM(4), &as->street_geom, work);
	as->street_name = cs_text_array_decode(PG_GETARG_DATUM(5), &n);
	if (as->street_geom.n != as->nstreet || n != as->nstreet)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("associate_addresses got %d street ids, %d geometries and %d names",
						as->nstreet, as->street_geom.n, n),
				 errhint("The street arrays must have one element per street.")));
	if (!PG_ARGISNULL(6))
	{
		as->addr_area_s = cs_text_array_decode(PG_GETARG_DATUM(6), &n);
		if (n != as->naddr)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("associate_addresses got %d address areas for %d addresses", n, as->naddr),
					 errhint("Pass one area per address, or NULL for none.")));
	}
	if (!PG_ARGISNULL(7))
	{
		as->street_area_s = cs_text_array_decode(PG_GETARG_DATUM(7), &n);
		if (n != as->nstreet)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("associate_addresses got %d street areas for %d streets", n, as->nstreet),
					 errhint("Pass one area per street, or NULL for none.")));
	}
	if ((as->addr_area_s == NULL) != (as->street_area_s == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("associate_addresses needs areas for both addresses and streets, or for neither"),
				 errhint("Pass each address's and each street's neighbourhood_id, or leave both NULL.")));
	assoc_check_srids(as);
}

/* Addresses and streets in one SRID. */
static void
assoc_check_srids(Assoc *as)
{
	cs_geom_arrays_same_srid(&as->addr_geom, "addresses", &as->street_geom, "streets");
}

/* Areas as ids (all in area 0 when none are given), and names as normalised key ids. */
static void
assoc_keys(Assoc *as)
{
	NameKeys	nk;

	as->addr_area = palloc0(sizeof(int) * Max(as->naddr, 1));
	as->street_area = palloc0(sizeof(int) * Max(as->nstreet, 1));
	as->nareas = 1;
	if (as->addr_area_s != NULL)
	{
		StrHash		ah;

		int			nullarea;

		strhash_init(&ah, 256);
		for (int i = 0; i < as->nstreet; i++)
			as->street_area[i] = as->street_area_s[i] == NULL ? -1 : strhash_intern(&ah, as->street_area_s[i]);
		for (int i = 0; i < as->naddr; i++)
			as->addr_area[i] = as->addr_area_s[i] == NULL ? -1 : strhash_intern(&ah, as->addr_area_s[i]);
		/* Rows without an area form one more area of their own, after the named ones. */
		nullarea = as->null_area_is_area ? ah.n : -1;
		for (int i = 0; i < as->nstreet; i++)
			if (as->street_area_s[i] == NULL)
				as->street_area[i] = nullarea;
		for (int i = 0; i < as->naddr; i++)
			if (as->addr_area_s[i] == NULL)
				as->addr_area[i] = nullarea;
		as->nareas = Max(ah.n + (as->null_area_is_area ? 1 : 0), 1);
	}
	strhash_init(&nk.raw, 1024);
	strhash_init(&nk.keys, 1024);
	nk.cap = 1024;
	nk.key_of_raw = palloc(sizeof(int) * nk.cap);
	for (int j = 0; j < nk.cap; j++)
		nk.key_of_raw[j] = -2;
	as->street_key = name_keys(&nk, as->street_name, as->nstreet);
	as->addr_key = name_keys(&nk, as->addr_name, as->naddr);
}

/* Append the edge v-w of street s. */
static inline void
add_edge(Edges *e, CsPoint v, CsPoint w, int s)
{
	e->a[e->n] = v;
	e->b[e->n] = w;
	e->street[e->n] = s;
	e->box[e->n].xmin = Min(v.x, w.x);
	e->box[e->n].ymin = Min(v.y, w.y);
	e->box[e->n].xmax = Max(v.x, w.x);
	e->box[e->n].ymax = Max(v.y, w.y);
	e->n++;
}

/* The streets' boxes, edges and name entries. */
static void
assoc_streets(Assoc *as)
{
	Edges	   *e = &as->e;
	int			cap = 0;

	as->byname = palloc(sizeof(NameEntry) * Max(as->nstreet, 1));
	as->street_box = palloc(sizeof(CsBox) * Max(as->nstreet, 1));

	/*
	 * Room for every edge the loop below writes: at most npoints - 1 between consecutive
	 * vertices, and one edge of length zero for a street of a single vertex.
	 */
	for (int s = 0; s < as->nstreet; s++)
		if (!as->street_geom.nulls[s] && as->street_geom.geoms[s].npoints > 0)
			cap += Max(as->street_geom.geoms[s].npoints - 1, 1);
	e->a = palloc(sizeof(CsPoint) * Max(cap, 1));
	e->b = palloc(sizeof(CsPoint) * Max(cap, 1));
	e->street = palloc(sizeof(int) * Max(cap, 1));
	e->box = palloc(sizeof(CsBox) * Max(cap, 1));
	e->n = 0;
	for (int s = 0; s < as->nstreet; s++)
	{
		CsGeom	   *g = &as->street_geom.geoms[s];
		CsBox	   *sb = &as->street_box[s];

		sb->xmin = sb->ymin = DBL_MAX;
		sb->xmax = sb->ymax = -DBL_MAX;
		if (as->street_geom.nulls[s] || g->npoints == 0 || as->street_area[s] < 0)
			continue;
		if (g->type != CS_WKB_LINESTRING && g->type != CS_WKB_MULTILINESTRING)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("street %lld is a %s, not a linestring", (long long) as->street_id[s],
							cs_wkb_type_name(g->type)),
					 errhint("Pass street centrelines as LineStrings or MultiLineStrings.")));
		for (int p = 0; p < g->nparts; p++)
			for (int j = g->partstart[p]; j < g->partstart[p + 1]; j++)
			{
				sb->xmin = Min(sb->xmin, g->points[j].x);
				sb->ymin = Min(sb->ymin, g->points[j].y);
				sb->xmax = Max(sb->xmax, g->points[j].x);
				sb->ymax = Max(sb->ymax, g->points[j].y);
				if (j + 1 < g->partstart[p + 1])
					add_edge(e, g->points[j], g->points[j + 1], s);
			}
		/* A street of a single vertex is an edge of length zero, so it can still be found. */
		if (g->npoints == 1)
			add_edge(e, g->points[0], g->points[0], s);
		Assert(e->n <= cap);
		if (as->street_key[s] >= 0)
		{
			NameEntry  *ne = &as->byname[as->nbyname++];

			ne->area = as->street_area[s];
			ne->key = as->street_key[s];
			ne->street = s;
		}
	}
	qsort(as->byname, as->nbyname, sizeof(NameEntry), name_entry_cmp);
}

/* The search state: edges grouped by area, so each area's grid covers a contiguous range. */
static void
assoc_search_init(Assoc *as, Search *sr)
{
	int		   *key = palloc(sizeof(int) * Max(as->e.n, 1));
	int		   *edge_order = palloc(sizeof(int) * Max(as->e.n, 1));
	int		   *area_start = palloc(sizeof(int) * (as->nareas + 1));

	for (int i = 0; i < as->e.n; i++)
		key[i] = as->street_area[as->e.street[i]];
	cs_group_by_key(key, as->e.n, as->nareas, area_start, edge_order);
	pfree(key);
	sr->e = &as->e;
	sr->street_id = as->street_id;
	sr->street_key = as->street_key;
	sr->edge_order = edge_order;
	sr->area_start = area_start;
	sr->grids = palloc0(sizeof(CsGrid) * as->nareas);
	sr->grid_built = palloc0(sizeof(bool) * as->nareas);
	sr->stamp = palloc(sizeof(int) * Max(as->e.n, 1));
	for (int i = 0; i < as->e.n; i++)
		sr->stamp[i] = -1;
	sr->search = 0;
	sr->ringcap = 64;
	sr->ring = palloc(sizeof(int) * sr->ringcap);
}

/*
 * The nearest street of the address's own name key within max_name_distance: down the
 * short list of that name's streets in the area, or through the grid when it is long.
 */
static void
by_name(Assoc *as, Search *sr, int area, int key, CsPoint p, int *best, double *bestd)
{
	NameEntry	probe = {area, key, -1};
	int			lo = 0,
				hi = as->nbyname;

	/* The first entry of (area, key): entries sort by street after it. */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (name_entry_cmp(&as->byname[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	hi = lo;
	while (hi < as->nbyname && as->byname[hi].area == area && as->byname[hi].key == key)
		hi++;
	if (hi - lo > NAME_LIST_MAX)
	{
		grid_nearest(sr, area, p, key, as->max_name_distance, best, bestd);
		return;
	}
	for (int k = lo; k < hi; k++)
	{
		int			s = as->byname[k].street;
		CsGeom	   *sg = &as->street_geom.geoms[s];

		if (box_dist(p, &as->street_box[s]) > Min(*bestd, as->max_name_distance))
			continue;
		for (int pt = 0; pt < sg->nparts; pt++)
		{
			int			j0 = sg->partstart[pt];
			int			j1 = sg->partstart[pt + 1];

			for (int j = j0; j < j1; j++)
			{
				double		d = (j + 1 < j1) ? cs_dist_pt_seg(p, sg->points[j], sg->points[j + 1])
					: (j1 - j0 == 1 ? cs_dist_pt_pt(p, sg->points[j]) : DBL_MAX);

				if (d <= as->max_name_distance &&
					(*best < 0 || better(d, as->street_id[s], *bestd, as->street_id[*best])))
				{
					*best = s;
					*bestd = d;
				}
			}
		}
	}
}

/*
 * associate_addresses(addresses address_input[], streets street_input[], max_name_distance float8)
 * or, as 0.1.0 declared it,
 * associate_addresses(address_ids bigint[], address_geoms geometry[], address_streets text[],
 *					   street_ids bigint[], street_geoms geometry[], street_names text[],
 *					   address_areas text[], street_areas text[], max_name_distance float8)
 * RETURNS TABLE (address_id bigint, street_id bigint, matched_by text, distance float8)
 */
Datum
crimesnap_associate_addresses(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext old;
	Assoc		as;
	Search		sr;
	Datum		name_text;
	Datum		nearest_text;

	/* 0.1.0 declared nine parallel arrays; 0.2.0 two arrays of rows and the distance. */
	bool		rows = (PG_NARGS() == 3);
	int			nrequired = rows ? 2 : 6;

	cs_require_args(fcinfo, nrequired, "associate_addresses",
					"Pass empty arrays, not NULL, when there are no addresses or streets.");
	memset(&as, 0, sizeof(as));
	as.max_name_distance = PG_ARGISNULL(PG_NARGS() - 1) ? 250.0 : PG_GETARG_FLOAT8(PG_NARGS() - 1);
	if (!(as.max_name_distance >= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_name_distance %g is not a distance", as.max_name_distance),
				 errhint("Give the search radius for a street of the address's own name in metres, for example 250.")));

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "crimesnap association",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	if (rows)
		assoc_rows(fcinfo, &as, work);
	else
		assoc_arguments(fcinfo, &as, work);
	assoc_keys(&as);
	assoc_streets(&as);
	assoc_search_init(&as, &sr);
	name_text = CStringGetTextDatum("name");
	nearest_text = CStringGetTextDatum("nearest");

	for (int i = 0; i < as.naddr; i++)
	{
		CsGeom	   *g = &as.addr_geom.geoms[i];
		int			area = as.addr_area[i];
		int			best = -1;
		double		bestd = DBL_MAX;
		Datum		values[4] = {Int64GetDatum(as.addr_id[i]), (Datum) 0, (Datum) 0, (Datum) 0};
		bool		nulls[4] = {false, true, true, true};

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!as.addr_geom.nulls[i] && g->npoints > 0 && area >= 0)
		{
			if (g->type != CS_WKB_POINT)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("address %lld is a %s, not a point", (long long) as.addr_id[i],
								cs_wkb_type_name(g->type)),
						 errhint("Reduce buildings to a point first, for example with ST_PointOnSurface(geom).")));
			/* 1. A street of the address's own name nearby; 2. else the nearest of the area. */
			if (as.addr_key[i] >= 0 && as.nbyname > 0)
				by_name(&as, &sr, area, as.addr_key[i], g->points[0], &best, &bestd);
			if (best >= 0)
				values[2] = name_text;
			else
			{
				grid_nearest(&sr, area, g->points[0], -1, DBL_MAX, &best, &bestd);
				values[2] = nearest_text;
			}
		}
		if (best >= 0)
		{
			values[1] = Int64GetDatum(as.street_id[best]);
			values[3] = Float8GetDatum(bestd);
			nulls[1] = nulls[2] = nulls[3] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
