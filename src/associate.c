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

#include "common/hashfn.h"
#include "fmgr.h"
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
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * Intern the non-NULL strings of up to two arrays: a sorted array of the distinct values,
 * whose positions are the ids cs_intern_lookup() returns.
 */
char	  **
cs_intern_strings(char **a, int na, char **b, int nb, int *ndistinct)
{
	char	  **all = palloc(sizeof(char *) * Max(na + nb, 1));
	int			n = 0;
	int			d = 0;

	for (int i = 0; i < na; i++)
		if (a[i] != NULL)
			all[n++] = a[i];
	for (int i = 0; i < nb; i++)
		if (b[i] != NULL)
			all[n++] = b[i];
	qsort(all, n, sizeof(char *), cstring_cmp);
	for (int i = 0; i < n; i++)
		if (d == 0 || strcmp(all[d - 1], all[i]) != 0)
			all[d++] = all[i];
	*ndistinct = d;
	return all;
}

/* The id of s among the interned strings, or -1 for NULL (or a string not interned). */
int
cs_intern_lookup(char **interned, int n, const char *s)
{
	char	  **hit;

	if (s == NULL)
		return -1;
	hit = bsearch(&s, interned, n, sizeof(char *), cstring_cmp);
	return hit == NULL ? -1 : (int) (hit - interned);
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

/*
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
	int			naddr,
				n;
	int64	   *addr_id;
	CsGeomArray addr_geom;
	char	  **addr_name;
	char	  **addr_area_s = NULL;
	int			nstreet;
	int64	   *street_id;
	CsGeomArray street_geom;
	char	  **street_name;
	char	  **street_area_s = NULL;
	double		max_name_distance;
	int			nareas;
	int		   *addr_area;
	int		   *street_area;
	NameKeys	nk;
	int		   *addr_key;
	int		   *street_key;
	NameEntry  *byname;
	int			nbyname = 0;
	CsBox	   *street_box;
	Edges		e;
	int		   *edge_order;
	int		   *area_start;
	Search		sr;
	Datum		name_text;
	Datum		nearest_text;

	for (int i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("associate_addresses needs its first six arguments; argument %d is NULL", i + 1),
					 errhint("Pass empty arrays, not NULL, when there are no addresses or streets.")));
	max_name_distance = PG_ARGISNULL(8) ? 250.0 : PG_GETARG_FLOAT8(8);
	if (!(max_name_distance >= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_name_distance %g is not a distance", max_name_distance),
				 errhint("Give the search radius for a street of the address's own name in metres, for example 250.")));

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "crimesnap association",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	/* ---- the arguments ---- */
	addr_id = cs_int8_array_decode(PG_GETARG_DATUM(0), &naddr, "address_ids");
	cs_geom_array_decode(PG_GETARG_DATUM(1), &addr_geom, work);
	addr_name = cs_text_array_decode(PG_GETARG_DATUM(2), &n);
	if (addr_geom.n != naddr || n != naddr)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("associate_addresses got %d address ids, %d geometries and %d street names",
						naddr, addr_geom.n, n),
				 errhint("The address arrays must have one element per address.")));
	street_id = cs_int8_array_decode(PG_GETARG_DATUM(3), &nstreet, "street_ids");
	cs_geom_array_decode(PG_GETARG_DATUM(4), &street_geom, work);
	street_name = cs_text_array_decode(PG_GETARG_DATUM(5), &n);
	if (street_geom.n != nstreet || n != nstreet)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("associate_addresses got %d street ids, %d geometries and %d names",
						nstreet, street_geom.n, n),
				 errhint("The street arrays must have one element per street.")));
	if (!PG_ARGISNULL(6))
	{
		addr_area_s = cs_text_array_decode(PG_GETARG_DATUM(6), &n);
		if (n != naddr)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("associate_addresses got %d address areas for %d addresses", n, naddr)));
	}
	if (!PG_ARGISNULL(7))
	{
		street_area_s = cs_text_array_decode(PG_GETARG_DATUM(7), &n);
		if (n != nstreet)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("associate_addresses got %d street areas for %d streets", n, nstreet)));
	}
	if ((addr_area_s == NULL) != (street_area_s == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("associate_addresses needs areas for both addresses and streets, or for neither"),
				 errhint("Pass each address's and each street's neighbourhood_id, or leave both NULL.")));
	if (cs_geom_array_srid(&addr_geom, "address_geoms") != cs_geom_array_srid(&street_geom, "street_geoms") &&
		naddr > 0 && nstreet > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("addresses and streets have different SRIDs (%d and %d)",
						cs_geom_array_srid(&addr_geom, "address_geoms"),
						cs_geom_array_srid(&street_geom, "street_geoms")),
				 errhint("Transform both to one SRID (crimesnap stores %d).", CRIMESNAP_SRID)));

	/* ---- areas: all in area 0 when none are given ---- */
	addr_area = palloc0(sizeof(int) * Max(naddr, 1));
	street_area = palloc0(sizeof(int) * Max(nstreet, 1));
	nareas = 1;
	if (addr_area_s != NULL)
	{
		StrHash		ah;

		strhash_init(&ah, 256);
		for (int i = 0; i < nstreet; i++)
			street_area[i] = street_area_s[i] == NULL ? -1 : strhash_intern(&ah, street_area_s[i]);
		for (int i = 0; i < naddr; i++)
			addr_area[i] = addr_area_s[i] == NULL ? -1 : strhash_intern(&ah, addr_area_s[i]);
		nareas = Max(ah.n, 1);
	}

	/* ---- streets: name entries, boxes and edges ---- */
	strhash_init(&nk.raw, 1024);
	strhash_init(&nk.keys, 1024);
	nk.cap = 1024;
	nk.key_of_raw = palloc(sizeof(int) * nk.cap);
	for (int j = 0; j < nk.cap; j++)
		nk.key_of_raw[j] = -2;
	street_key = name_keys(&nk, street_name, nstreet);
	addr_key = name_keys(&nk, addr_name, naddr);
	byname = palloc(sizeof(NameEntry) * Max(nstreet, 1));
	street_box = palloc(sizeof(CsBox) * Max(nstreet, 1));
	/*
	 * Room for every edge the loop below writes: at most npoints - 1 between consecutive
	 * vertices, and one edge of length zero for a street of a single vertex.
	 */
	e.n = 0;
	for (int s = 0; s < nstreet; s++)
		if (!street_geom.nulls[s] && street_geom.geoms[s].npoints > 0)
			e.n += Max(street_geom.geoms[s].npoints - 1, 1);
	e.a = palloc(sizeof(CsPoint) * Max(e.n, 1));
	e.b = palloc(sizeof(CsPoint) * Max(e.n, 1));
	e.street = palloc(sizeof(int) * Max(e.n, 1));
	e.box = palloc(sizeof(CsBox) * Max(e.n, 1));
	e.n = 0;
	for (int s = 0; s < nstreet; s++)
	{
		CsGeom	   *g = &street_geom.geoms[s];
		CsBox	   *sb = &street_box[s];

		sb->xmin = sb->ymin = DBL_MAX;
		sb->xmax = sb->ymax = -DBL_MAX;
		if (street_geom.nulls[s] || g->npoints == 0 || street_area[s] < 0)
			continue;
		if (g->type != CS_WKB_LINESTRING && g->type != CS_WKB_MULTILINESTRING)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("street %lld is not a linestring", (long long) street_id[s]),
					 errhint("Pass street centrelines as LineStrings or MultiLineStrings.")));
		for (int p = 0; p < g->nparts; p++)
			for (int j = g->partstart[p]; j < g->partstart[p + 1]; j++)
			{
				CsPoint		v = g->points[j];

				sb->xmin = Min(sb->xmin, v.x);
				sb->ymin = Min(sb->ymin, v.y);
				sb->xmax = Max(sb->xmax, v.x);
				sb->ymax = Max(sb->ymax, v.y);
				if (j + 1 < g->partstart[p + 1])
				{
					CsPoint		w = g->points[j + 1];

					e.a[e.n] = v;
					e.b[e.n] = w;
					e.street[e.n] = s;
					e.box[e.n].xmin = Min(v.x, w.x);
					e.box[e.n].ymin = Min(v.y, w.y);
					e.box[e.n].xmax = Max(v.x, w.x);
					e.box[e.n].ymax = Max(v.y, w.y);
					e.n++;
				}
			}
		/* A street of a single vertex is an edge of length zero, so it can still be found. */
		if (g->npoints == 1)
		{
			e.a[e.n] = e.b[e.n] = g->points[0];
			e.street[e.n] = s;
			e.box[e.n].xmin = e.box[e.n].xmax = g->points[0].x;
			e.box[e.n].ymin = e.box[e.n].ymax = g->points[0].y;
			e.n++;
		}
		if (street_key[s] >= 0)
		{
			byname[nbyname].area = street_area[s];
			byname[nbyname].key = street_key[s];
			byname[nbyname].street = s;
			nbyname++;
		}
	}
	qsort(byname, nbyname, sizeof(NameEntry), name_entry_cmp);

	/* Edges ordered by area, so that each area's grid is built over a contiguous range. */
	edge_order = palloc(sizeof(int) * Max(e.n, 1));
	area_start = palloc0(sizeof(int) * (nareas + 1));
	for (int i = 0; i < e.n; i++)
		area_start[street_area[e.street[i]] + 1]++;
	for (int a = 0; a < nareas; a++)
		area_start[a + 1] += area_start[a];
	{
		int		   *fill = palloc(sizeof(int) * nareas);

		memcpy(fill, area_start, sizeof(int) * nareas);
		for (int i = 0; i < e.n; i++)
			edge_order[fill[street_area[e.street[i]]]++] = i;
		pfree(fill);
	}
	sr.e = &e;
	sr.street_id = street_id;
	sr.street_key = street_key;
	sr.edge_order = edge_order;
	sr.area_start = area_start;
	sr.grids = palloc0(sizeof(CsGrid) * nareas);
	sr.grid_built = palloc0(sizeof(bool) * nareas);
	sr.stamp = palloc(sizeof(int) * Max(e.n, 1));
	for (int i = 0; i < e.n; i++)
		sr.stamp[i] = -1;
	sr.search = 0;
	sr.ringcap = 64;
	sr.ring = palloc(sizeof(int) * sr.ringcap);
	name_text = CStringGetTextDatum("name");
	nearest_text = CStringGetTextDatum("nearest");

	/* ---- every address ---- */
	for (int i = 0; i < naddr; i++)
	{
		CsGeom	   *g = &addr_geom.geoms[i];
		CsPoint		p;
		int			area = addr_area[i];
		int			best = -1;
		double		bestd = DBL_MAX;
		Datum		matched = (Datum) 0;
		Datum		values[4];
		bool		nulls[4] = {false, false, true, false};

		if (addr_geom.nulls[i] || g->npoints == 0 || area < 0)
			goto emit;
		if (g->type != CS_WKB_POINT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("address %lld is not a point", (long long) addr_id[i]),
					 errhint("Reduce buildings to a point first, for example with ST_PointOnSurface(geom).")));
		p = g->points[0];

		/* 1. A street of the address's own name nearby. */
		if (addr_key[i] >= 0 && nbyname > 0)
		{
			NameEntry	probe = {area, addr_key[i], -1};
			int			lo = 0,
						hi = nbyname;

			/* The first entry of (area, key): entries sort by street after it. */
			while (lo < hi)
			{
				int			mid = (lo + hi) / 2;

				if (name_entry_cmp(&byname[mid], &probe) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			hi = lo;
			while (hi < nbyname && byname[hi].area == area && byname[hi].key == addr_key[i])
				hi++;
			if (hi - lo > NAME_LIST_MAX)
				grid_nearest(&sr, area, p, addr_key[i], max_name_distance, &best, &bestd);
			else
				for (int k = lo; k < hi; k++)
				{
					int			s = byname[k].street;
					CsGeom	   *sg = &street_geom.geoms[s];

					if (box_dist(p, &street_box[s]) > Min(bestd, max_name_distance))
						continue;
					for (int pt = 0; pt < sg->nparts; pt++)
					{
						int			j0 = sg->partstart[pt];
						int			j1 = sg->partstart[pt + 1];

						for (int j = j0; j < j1; j++)
						{
							double		d = (j + 1 < j1) ? cs_dist_pt_seg(p, sg->points[j], sg->points[j + 1])
								: (j1 - j0 == 1 ? cs_dist_pt_pt(p, sg->points[j]) : DBL_MAX);

							if (d <= max_name_distance && (best < 0 || better(d, street_id[s], bestd, street_id[best])))
							{
								best = s;
								bestd = d;
							}
						}
					}
				}
			if (best >= 0)
				matched = name_text;
		}

		/* 2. Otherwise the nearest centreline of the area. */
		if (best < 0)
		{
			grid_nearest(&sr, area, p, -1, DBL_MAX, &best, &bestd);
			if (best >= 0)
				matched = nearest_text;
		}

emit:
		values[0] = Int64GetDatum(addr_id[i]);
		if (best >= 0)
		{
			values[1] = Int64GetDatum(street_id[best]);
			values[2] = matched;
			values[3] = Float8GetDatum(bestd);
			nulls[2] = false;
		}
		else
		{
			nulls[1] = nulls[3] = true;
			values[1] = values[2] = values[3] = (Datum) 0;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
