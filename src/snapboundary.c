/*
 * snapboundary.c
 *	  Neighbourhood boundaries in the snap index: loading them, and finding the
 *	  neighbourhood a crime lies in.
 *
 * Each neighbourhood's rings are kept as PostGIS stores them, with an index of horizontal
 * bands (about four edges each) so that a point-in-polygon test walks only the edges of
 * the point's band; a CsGrid over the neighbourhoods' boxes finds the few candidates.
 * The answer is PostGIS's: ST_Intersects with the same winding-number arithmetic, the
 * boundary included, and the lowest neighbourhood id (in byte order) on a shared edge.
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "snapindex.h"

/* The band of a neighbourhood that holds ordinate y. */
#define band_of(p, y)		cs_cell_index((y), (p)->band_y0, (p)->band_h, (p)->nbands)

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
int
snapindex_locate(SnapIndex *idx, double px, double py)
{
	const CsGrid *g = &idx->nbgrid;
	int			cx,
				cy;
	int			cell;

	if (g->cellstart == NULL)
		return -1;
	cs_grid_locate(g, px, py, &cx, &cy);
	cell = cy * g->nx + cx;
	for (int i = g->cellstart[cell]; i < g->cellstart[cell + 1]; i++)
	{
		int			p = g->items[i];

		if (part_intersects(idx, &idx->parts[p], px, py))
			return p;
	}
	return -1;
}

/*
 * Keep one neighbourhood's decoded boundary in pcxt: its rings, its box, and the band
 * index over its edges (a counting pass, then a placing pass).  Scratch goes in rowcxt.
 */
static void
load_boundary(SnapIndex *idx, NbPart *p, const CsGeom *g, MemoryContext pcxt,
			  MemoryContext rowcxt)
{
	int			nedges = 0;
	int		   *bandfill;

	p->has_poly = true;
	p->nrings = g->nparts;
	p->npolys = g->npolys;
	p->verts = cs_alloc_huge(pcxt, sizeof(CsPoint) * g->npoints);
	memcpy(p->verts, g->points, sizeof(CsPoint) * g->npoints);
	p->ringstart = MemoryContextAlloc(pcxt, sizeof(int) * (g->nparts + 1));
	memcpy(p->ringstart, g->partstart, sizeof(int) * (g->nparts + 1));
	p->polystart = MemoryContextAlloc(pcxt, sizeof(int) * (g->npolys + 1));
	memcpy(p->polystart, g->polystart, sizeof(int) * (g->npolys + 1));
	idx->nverts += g->npoints;
	idx->maxrings = Max(idx->maxrings, g->nparts);

	p->bbox.xmin = p->bbox.ymin = get_float8_infinity();
	p->bbox.xmax = p->bbox.ymax = -get_float8_infinity();
	for (int v = 0; v < g->npoints; v++)
	{
		p->bbox.xmin = Min(p->bbox.xmin, g->points[v].x);
		p->bbox.xmax = Max(p->bbox.xmax, g->points[v].x);
		p->bbox.ymin = Min(p->bbox.ymin, g->points[v].y);
		p->bbox.ymax = Max(p->bbox.ymax, g->points[v].y);
	}

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
	bandfill = MemoryContextAlloc(rowcxt, sizeof(int) * p->nbands);
	for (int pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			for (int b = 0; b < p->nbands; b++)
				p->bandstart[b + 1] += p->bandstart[b];
			memcpy(bandfill, p->bandstart, sizeof(int) * p->nbands);
			p->bandedges = cs_alloc_huge(pcxt, sizeof(BandEdge) * p->bandstart[p->nbands]);
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
}

/* The grid over the loaded boundaries' boxes: each cell lists its parts in id order. */
static void
build_boundary_grid(SnapIndex *idx, MemoryContext pcxt)
{
	MemoryContext old = MemoryContextSwitchTo(pcxt);
	CsBox	   *boxes = palloc(sizeof(CsBox) * Max(idx->nparts, 1));
	int		   *ids = palloc(sizeof(int) * Max(idx->nparts, 1));
	int			n = 0;

	for (int pi = 0; pi < idx->nparts; pi++)
	{
		boxes[pi] = idx->parts[pi].bbox;
		if (idx->parts[pi].has_poly)
			ids[n++] = pi;
	}
	if (n > 0)
		cs_grid_build(&idx->nbgrid, boxes, ids, n, 0.0);
	pfree(boxes);
	pfree(ids);
	MemoryContextSwitchTo(old);
}

/* Load the neighbourhood boundaries into idx->polycxt, inside SPI. */
void
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

	INSTR_TIME_SET_CURRENT(start);
	pcxt = AllocSetContextCreate(idx->cxt, "crimesnap neighbourhood boundaries",
								 ALLOCSET_DEFAULT_SIZES);
	idx->polycxt = pcxt;
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "crimesnap boundary row",
								   ALLOCSET_DEFAULT_SIZES);

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
			int			pi = snapindex_find_part(idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
			CsGeom		g;

			/* a neighbourhood added since the build: the generation check prevents it */
			if (pi < 0 || n2)
				continue;
			oldcxt = MemoryContextSwitchTo(rowcxt);
			cs_geom_decode_polygonal(&io, gd, &g);
			MemoryContextSwitchTo(oldcxt);
			if (g.npolys > 0)
				load_boundary(idx, &idx->parts[pi], &g, pcxt, rowcxt);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(rowcxt);

	build_boundary_grid(idx, pcxt);
	idx->ring_wn = MemoryContextAllocZero(pcxt, sizeof(int32) * Max(idx->maxrings, 1));
	idx->ring_onb = MemoryContextAllocZero(pcxt, sizeof(bool) * Max(idx->maxrings, 1));
	idx->ring_stamp = MemoryContextAllocZero(pcxt, sizeof(uint32) * Max(idx->maxrings, 1));
	idx->stamp = 0;
	idx->polys_loaded = true;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	idx->poly_build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
}
