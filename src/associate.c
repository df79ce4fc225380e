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

/* A street's normalised name in its area, for the name lookup. */
typedef struct NameEntry
{
	int			area;
	const char *key;
	int			street;
} NameEntry;

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
	int			c;

	if (a->area != b->area)
		return a->area < b->area ? -1 : 1;
	c = strcmp(a->key, b->key);
	if (c != 0)
		return c;
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

/*
 * Normalised street names, computed once per distinct spelling: 400,000 addresses carry a
 * few thousand distinct names.
 */
typedef struct NameCache
{
	char	  **raw;			/* sorted distinct spellings */
	char	  **key;			/* their keys, NULL when nothing usable is left */
	int			n;
} NameCache;

static void
name_cache_build(NameCache *c, char **a, int na, char **b, int nb)
{
	c->raw = cs_intern_strings(a, na, b, nb, &c->n);
	c->key = palloc(sizeof(char *) * Max(c->n, 1));
	for (int i = 0; i < c->n; i++)
	{
		char	   *k = cs_normalise_street_name(c->raw[i], strlen(c->raw[i]));

		c->key[i] = k[0] == '\0' ? NULL : k;
	}
}

static const char *
name_cache_key(const NameCache *c, const char *raw)
{
	int			i = cs_intern_lookup(c->raw, c->n, raw);

	return i < 0 ? NULL : c->key[i];
}

static bool
better(double d, int64 id, double bestd, int64 bestid)
{
	return d < bestd || (d == bestd && id < bestid);
}

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
	char	  **areas;
	int			nareas;
	int		   *addr_area;
	int		   *street_area;
	NameCache	names;
	NameEntry  *byname;
	int			nbyname = 0;
	CsBox	   *street_box;
	Edges		e;
	int		   *edge_order;
	int		   *area_start;
	CsGrid	   *grids;
	bool	   *grid_built;
	int		   *stamp;
	int		   *ring;
	int			ringcap = 64;

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
		areas = cs_intern_strings(addr_area_s, naddr, street_area_s, nstreet, &nareas);
		for (int i = 0; i < naddr; i++)
			addr_area[i] = cs_intern_lookup(areas, nareas, addr_area_s[i]);
		for (int i = 0; i < nstreet; i++)
			street_area[i] = cs_intern_lookup(areas, nareas, street_area_s[i]);
	}

	/* ---- streets: name entries, boxes and edges ---- */
	name_cache_build(&names, addr_name, naddr, street_name, nstreet);
	byname = palloc(sizeof(NameEntry) * Max(nstreet, 1));
	street_box = palloc(sizeof(CsBox) * Max(nstreet, 1));
	e.n = 0;
	for (int s = 0; s < nstreet; s++)
		if (!street_geom.nulls[s])
			e.n += Max(street_geom.geoms[s].npoints - 1, 0);
	e.a = palloc(sizeof(CsPoint) * Max(e.n, 1));
	e.b = palloc(sizeof(CsPoint) * Max(e.n, 1));
	e.street = palloc(sizeof(int) * Max(e.n, 1));
	e.box = palloc(sizeof(CsBox) * Max(e.n, 1));
	e.n = 0;
	for (int s = 0; s < nstreet; s++)
	{
		CsGeom	   *g = &street_geom.geoms[s];
		CsBox	   *sb = &street_box[s];
		const char *key;

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
		key = name_cache_key(&names, street_name[s]);
		if (key != NULL)
		{
			byname[nbyname].area = street_area[s];
			byname[nbyname].key = key;
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
	grids = palloc0(sizeof(CsGrid) * nareas);
	grid_built = palloc0(sizeof(bool) * nareas);
	stamp = palloc(sizeof(int) * Max(e.n, 1));
	for (int i = 0; i < e.n; i++)
		stamp[i] = -1;
	ring = palloc(sizeof(int) * ringcap);

	/* ---- every address ---- */
	for (int i = 0; i < naddr; i++)
	{
		CsGeom	   *g = &addr_geom.geoms[i];
		CsPoint		p;
		int			area = addr_area[i];
		int			best = -1;
		double		bestd = DBL_MAX;
		const char *matched = NULL;
		const char *key;
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
		key = name_cache_key(&names, addr_name[i]);
		if (key != NULL && nbyname > 0)
		{
			NameEntry	probe = {area, key, -1};
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
			for (int k = lo; k < nbyname && byname[k].area == area && strcmp(byname[k].key, key) == 0; k++)
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
				matched = "name";
		}

		/* 2. Otherwise the nearest centreline of the area. */
		if (best < 0 && area_start[area + 1] > area_start[area])
		{
			CsGrid	   *grid = &grids[area];
			int			cx,
						cy;
			int			maxring;

			if (!grid_built[area])
			{
				cs_grid_build(grid, e.box, edge_order + area_start[area],
							  area_start[area + 1] - area_start[area], 0.0);
				grid_built[area] = true;
			}
			cs_grid_locate(grid, p.x, p.y, &cx, &cy);
			maxring = cs_grid_max_ring(grid);
			for (int r = 0; r <= maxring; r++)
			{
				double		bound = cs_grid_ring_bound(grid, p.x, p.y, cx, cy, r);
				int			ncells;

				/* Nothing in this ring or beyond can beat (or tie with) the best. */
				if (bound > bestd || bound == DBL_MAX)
					break;
				if (8 * r + 1 > ringcap)
				{
					ringcap = 2 * (8 * r + 1);
					ring = repalloc(ring, sizeof(int) * ringcap);
				}
				ncells = cs_grid_ring_cells(grid, cx, cy, r, ring);
				for (int c = 0; c < ncells; c++)
					for (int k = grid->cellstart[ring[c]]; k < grid->cellstart[ring[c] + 1]; k++)
					{
						int			ed = grid->items[k];
						int			s = e.street[ed];
						double		d;

						if (stamp[ed] == i)
							continue;
						stamp[ed] = i;
						d = cs_dist_pt_seg(p, e.a[ed], e.b[ed]);
						if (best < 0 || better(d, street_id[s], bestd, street_id[best]))
						{
							best = s;
							bestd = d;
						}
					}
			}
			if (best >= 0)
				matched = "nearest";
		}

emit:
		values[0] = Int64GetDatum(addr_id[i]);
		if (best >= 0)
		{
			values[1] = Int64GetDatum(street_id[best]);
			values[2] = CStringGetTextDatum(matched);
			values[3] = Float8GetDatum(bestd);
			nulls[2] = false;
		}
		else
		{
			nulls[1] = nulls[3] = true;
			values[1] = values[2] = values[3] = (Datum) 0;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if (matched != NULL)
			pfree(DatumGetPointer(values[2]));
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
