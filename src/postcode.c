/*
 * postcode.c
 *	  Nearest-site search for postcode-centroid depersonalisation (CSP guidance, Appendix 1).
 *
 * crimesnap.postcode_points() (sql/install/70-partner.sql) moves each record to the centroid
 * of its postcode, or, when that postcode has fewer than crimesnap.min_postcode_households
 * households, to the nearest centroid of a postcode that has enough.  The record's own
 * postcode, when the force gives none, is that of the nearest address that has one.  Both
 * are nearest-point searches over thousands of sites for thousands of records, done here in
 * one call on plain doubles: a uniform grid (spatialgrid.c) searched ring by ring.
 *
 * The caller passes the sites in its tie order: on equal distances (ST_Distance's own
 * arithmetic, cs_dist_xy) the site with the lowest array position wins, so that the answer
 * is the one "ORDER BY ST_Distance(q, s), tie key LIMIT 1" gives, every time.
 *
 * No query coordinate is ever written into a message: errors name the array position.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_nearest_site);
PG_FUNCTION_INFO_V1(crimesnap_postcode_key);

/* Each element must be a finite point, or NULL; empty points count as NULL. */
static void
check_points(const CsGeomArray *a, const char *argname)
{
	for (int i = 0; i < a->n; i++)
	{
		const CsGeom *g = &a->geoms[i];

		if (a->nulls[i] || g->npoints == 0)
			continue;
		if (g->type != CS_WKB_POINT || g->npoints != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %d of %s is not a point", i + 1, argname),
					 errhint("Pass points, for example ST_PointOnSurface(geom) of an area.")));
		if (!isfinite(g->points[0].x) || !isfinite(g->points[0].y))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %d of %s has a coordinate that is not finite", i + 1, argname),
					 errhint("Leave out rows without a real location.")));
	}
}

static inline bool
present(const CsGeomArray *a, int i)
{
	return !a->nulls[i] && a->geoms[i].npoints == 1;
}

/*
 * The nearest site to p, ties to the lowest site index; -1 when the grid is empty.  ring is
 * scratch space for the cells of one ring, grown as needed.
 */
static int
nearest(const CsGrid *grid, const CsPoint *sites, CsPoint p, int **ring, int *ringcap)
{
	int			best = -1;
	double		bestd = DBL_MAX;
	int			cx,
				cy;
	int			maxring = cs_grid_max_ring(grid);

	cs_grid_locate(grid, p.x, p.y, &cx, &cy);
	for (int r = 0; r <= maxring; r++)
	{
		double		bound = cs_grid_ring_bound(grid, p.x, p.y, cx, cy, r);
		int			ncells;

		if (bound > bestd || bound == DBL_MAX)
			break;
		if (8 * r + 1 > *ringcap)
		{
			*ringcap = 2 * (8 * r + 1);
			*ring = repalloc(*ring, sizeof(int) * *ringcap);
		}
		ncells = cs_grid_ring_cells(grid, cx, cy, r, *ring);
		for (int c = 0; c < ncells; c++)
			for (int k = grid->cellstart[(*ring)[c]]; k < grid->cellstart[(*ring)[c] + 1]; k++)
			{
				int			s = grid->items[k];
				double		d = cs_dist_pt_pt(p, sites[s]);

				if (best < 0 || d < bestd || (d == bestd && s < best))
				{
					best = s;
					bestd = d;
				}
			}
	}
	return best;
}

/*
 * nearest_site(queries geometry[], sites geometry[]) returns integer[]: for each query point,
 * the 1-based position in sites of the nearest site (ties to the lowest position), or NULL
 * for a NULL or empty query or when there is no site.
 */
Datum
crimesnap_nearest_site(PG_FUNCTION_ARGS)
{
	MemoryContext work;
	MemoryContext old;
	CsGeomArray q;
	CsGeomArray s;
	CsPoint    *spt;
	CsBox	   *boxes;
	int		   *ids;
	int			nsites = 0;
	CsGrid		grid;
	Datum	   *out;
	bool	   *outnull;
	int		   *ring;
	int			ringcap = 64;
	ArrayType  *result;
	int32		qsrid;
	int32		ssrid;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("nearest_site needs queries and sites"),
				 errhint("Pass empty arrays, not NULL.")));

	work = AllocSetContextCreate(CurrentMemoryContext, "crimesnap nearest site",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	cs_geom_array_decode(PG_GETARG_DATUM(0), &q, work);
	cs_geom_array_decode(PG_GETARG_DATUM(1), &s, work);
	check_points(&q, "queries");
	check_points(&s, "sites");
	qsrid = cs_geom_array_srid(&q, "queries");
	ssrid = cs_geom_array_srid(&s, "sites");
	if (qsrid > 0 && ssrid > 0 && qsrid != ssrid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("queries have SRID %d and sites SRID %d", qsrid, ssrid),
				 errhint("Transform both to one SRID (crimesnap stores %d).", CRIMESNAP_SRID)));

	spt = palloc(sizeof(CsPoint) * Max(s.n, 1));
	boxes = palloc(sizeof(CsBox) * Max(s.n, 1));
	ids = palloc(sizeof(int) * Max(s.n, 1));
	for (int i = 0; i < s.n; i++)
	{
		if (!present(&s, i))
			continue;
		spt[i] = s.geoms[i].points[0];
		boxes[i].xmin = boxes[i].xmax = spt[i].x;
		boxes[i].ymin = boxes[i].ymax = spt[i].y;
		ids[nsites++] = i;
	}
	cs_grid_build(&grid, boxes, ids, nsites, 0.0);

	ring = palloc(sizeof(int) * ringcap);
	out = palloc(sizeof(Datum) * Max(q.n, 1));
	outnull = palloc(sizeof(bool) * Max(q.n, 1));
	for (int i = 0; i < q.n; i++)
	{
		int			best = -1;

		CHECK_FOR_INTERRUPTS();
		if (present(&q, i) && nsites > 0)
			best = nearest(&grid, spt, q.geoms[i].points[0], &ring, &ringcap);
		outnull[i] = best < 0;
		out[i] = Int32GetDatum(best + 1);
	}

	MemoryContextSwitchTo(old);
	if (q.n == 0)
		result = construct_empty_array(INT4OID);
	else
	{
		int			dims[1] = {q.n};
		int			lbs[1] = {1};

		result = construct_md_array(out, outnull, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT);
	}
	MemoryContextDelete(work);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * postcode_key(postcode text) returns text: the postcode's ASCII letters and digits, upper
 * case ("w1t 4ab" and "W1T4AB" give "W1T4AB"), or NULL when none is left.  In C because
 * every join between records, addresses and postcodes goes through it.
 */
Datum
crimesnap_postcode_key(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(in);
	int			len = VARSIZE_ANY_EXHDR(in);
	char	   *out = palloc(len + 1);
	int			n = 0;

	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c >= 'a' && c <= 'z')
			out[n++] = c - 'a' + 'A';
		else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			out[n++] = c;
	}
	if (n == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, n));
}
