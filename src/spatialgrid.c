/*
 * spatialgrid.c
 *	  A uniform grid over boxes, for nearest-neighbour searches on plain doubles.
 *
 * Address association (associate.c) looks for the nearest street edge of every address,
 * and snap point selection (snapselect.c) for the nearest surviving point of every address.
 * Both build one grid per neighbourhood, because a search never crosses a neighbourhood
 * boundary, and search it ring by ring outwards from the query's cell until no unvisited
 * cell can hold anything nearer than the best found so far.
 *
 * The grid is immutable once built (cells in compressed rows: cellstart[] and items[]),
 * which keeps it small and its construction two linear passes.  Distances follow PostGIS's
 * own formulas (measures.c) operation for operation, so that a distance tie that PostGIS
 * sees as a tie is a tie here too: both sides of crimesnap break ties by id, and a snap
 * point's catchment must come out the same whichever side computes it.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "crimesnap.h"

/* Cells per item aimed at: a few items per cell keeps both the rings and the cells short. */
#define GRID_ITEMS_PER_CELL 2.0
/* Never more cells than this many per item, however the items are spread. */
#define GRID_MAX_CELLS_PER_ITEM 4

double
cs_dist_pt_seg(CsPoint p, CsPoint a, CsPoint b)
{
	double		dx = b.x - a.x;
	double		dy = b.y - a.y;
	double		r;
	CsPoint		c;

	if (a.x == b.x && a.y == b.y)
		return cs_dist_pt_pt(p, a);
	r = ((p.x - a.x) * dx + (p.y - a.y) * dy) / (dx * dx + dy * dy);
	if (r < 0)
		return cs_dist_pt_pt(p, a);
	if (r > 1)
		return cs_dist_pt_pt(p, b);
	c.x = a.x + r * dx;
	c.y = a.y + r * dy;
	return cs_dist_pt_pt(p, c);
}

/*
 * Group items 0 .. n-1 by key, a counting sort: the items of key k are order[start[k]] to
 * order[start[k + 1] - 1], in their original order.  Keys run from 0 to nkeys - 1; an item
 * with a negative key is left out.  start has room for nkeys + 1, order for n.
 */
void
cs_group_by_key(const int *key, int n, int nkeys, int *start, int *order)
{
	int		   *fill = palloc(sizeof(int) * Max(nkeys, 1));

	memset(start, 0, sizeof(int) * (nkeys + 1));
	for (int i = 0; i < n; i++)
		if (key[i] >= 0)
			start[key[i] + 1]++;
	for (int k = 0; k < nkeys; k++)
		start[k + 1] += start[k];
	memcpy(fill, start, sizeof(int) * nkeys);
	for (int i = 0; i < n; i++)
		if (key[i] >= 0)
			order[fill[key[i]]++] = i;
	pfree(fill);
}

/* The range of cells a box covers. */
static inline void
box_cells(const CsGrid *g, const CsBox *b, int *x0, int *x1, int *y0, int *y1)
{
	*x0 = cs_cell_index(b->xmin, g->x0, g->cell, g->nx);
	*x1 = cs_cell_index(b->xmax, g->x0, g->cell, g->nx);
	*y0 = cs_cell_index(b->ymin, g->y0, g->cell, g->ny);
	*y1 = cs_cell_index(b->ymax, g->y0, g->cell, g->ny);
}

/*
 * Build a grid over the boxes of the items listed in ids (n of them).  The cell size is
 * chosen from the items' extent and number, but never below min_cell, so that long items
 * (street edges) do not land in hundreds of cells each.
 */
void
cs_grid_build(CsGrid *g, const CsBox *boxes, const int *ids, int n, double min_cell)
{
	CsBox		ext = {DBL_MAX, DBL_MAX, -DBL_MAX, -DBL_MAX};
	double		w;
	double		h;
	double		cell;
	int64		ncells;
	int		   *fill;

	memset(g, 0, sizeof(*g));
	for (int i = 0; i < n; i++)
	{
		const CsBox *b = &boxes[ids[i]];

		ext.xmin = Min(ext.xmin, b->xmin);
		ext.ymin = Min(ext.ymin, b->ymin);
		ext.xmax = Max(ext.xmax, b->xmax);
		ext.ymax = Max(ext.ymax, b->ymax);
	}
	if (n == 0)
	{
		ext.xmin = ext.ymin = 0;
		ext.xmax = ext.ymax = 1;
	}
	w = ext.xmax - ext.xmin;
	h = ext.ymax - ext.ymin;

	/*
	 * The decoders refuse non-finite and absurd coordinates; this guard keeps a NaN or
	 * infinite cell count from ever reaching the int casts below, whatever the caller.
	 */
	if (!(w >= 0 && w <= 2 * CS_MAX_COORD && h >= 0 && h <= 2 * CS_MAX_COORD))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cannot index geometries with a NaN, infinite or out-of-range coordinate"),
				 errhint("crimesnap accepts finite coordinates no further than %g from the origin.",
						 CS_MAX_COORD)));
	cell = sqrt(Max(w * h, 1.0) * GRID_ITEMS_PER_CELL / Max(n, 1));
	cell = Max(cell, min_cell);
	cell = Max(cell, 1e-3);
	/* Keep the cell count bounded when the items lie along a thin strip. */
	while ((ncells = (int64) (floor(w / cell) + 1) * (int64) (floor(h / cell) + 1)) >
		   (int64) GRID_MAX_CELLS_PER_ITEM * Max(n, 1) + 16)
		cell *= 1.5;

	g->x0 = ext.xmin;
	g->y0 = ext.ymin;
	g->cell = cell;
	g->nx = (int) floor(w / cell) + 1;
	g->ny = (int) floor(h / cell) + 1;
	g->cellstart = palloc0(sizeof(int) * (ncells + 1));

	/* Pass 1: count the items of every cell; pass 2: place them. */
	for (int i = 0; i < n; i++)
	{
		int			x0,
					x1,
					y0,
					y1;

		box_cells(g, &boxes[ids[i]], &x0, &x1, &y0, &y1);
		for (int cy = y0; cy <= y1; cy++)
			for (int cx = x0; cx <= x1; cx++)
				g->cellstart[cy * g->nx + cx + 1]++;
	}
	for (int64 c = 0; c < ncells; c++)
		g->cellstart[c + 1] += g->cellstart[c];
	g->items = palloc(sizeof(int) * Max(g->cellstart[ncells], 1));
	fill = palloc(sizeof(int) * ncells);
	memcpy(fill, g->cellstart, sizeof(int) * ncells);
	for (int i = 0; i < n; i++)
	{
		int			x0,
					x1,
					y0,
					y1;

		box_cells(g, &boxes[ids[i]], &x0, &x1, &y0, &y1);
		for (int cy = y0; cy <= y1; cy++)
			for (int cx = x0; cx <= x1; cx++)
				g->items[fill[cy * g->nx + cx]++] = ids[i];
	}
	pfree(fill);
}

void
cs_grid_locate(const CsGrid *g, double x, double y, int *cx, int *cy)
{
	*cx = cs_cell_index(x, g->x0, g->cell, g->nx);
	*cy = cs_cell_index(y, g->y0, g->cell, g->ny);
}

/*
 * A lower bound on the distance from (x, y) to anything that ring r (the cells at
 * Chebyshev distance r from the query's cell cx, cy) or a later ring can hold: the distance
 * to the nearest side of the square of rings 0 .. r-1, counting only sides beyond which the
 * grid still has cells.  DBL_MAX when ring r lies wholly outside the grid: the search is over.
 */
double
cs_grid_ring_bound(const CsGrid *g, double x, double y, int cx, int cy, int r)
{
	double		bound = DBL_MAX;

	if (r == 0)
		return 0.0;
	if (cx - r >= 0)
		bound = Min(bound, x - (g->x0 + (cx - r + 1) * g->cell));
	if (cx + r <= g->nx - 1)
		bound = Min(bound, (g->x0 + (cx + r) * g->cell) - x);
	if (cy - r >= 0)
		bound = Min(bound, y - (g->y0 + (cy - r + 1) * g->cell));
	if (cy + r <= g->ny - 1)
		bound = Min(bound, (g->y0 + (cy + r) * g->cell) - y);
	return Max(bound, 0.0);
}

/*
 * The cells of ring r around (cx, cy) that lie inside the grid, as cell numbers in out[]
 * (room for 8 r cells, or 1 when r is 0).  Returns how many.
 */
int
cs_grid_ring_cells(const CsGrid *g, int cx, int cy, int r, int *out)
{
	int			n = 0;

	if (r == 0)
	{
		out[0] = cy * g->nx + cx;
		return 1;
	}
	for (int x = cx - r; x <= cx + r; x++)
	{
		if (x < 0 || x >= g->nx)
			continue;
		if (cy - r >= 0)
			out[n++] = (cy - r) * g->nx + x;
		if (cy + r < g->ny)
			out[n++] = (cy + r) * g->nx + x;
	}
	for (int y = cy - r + 1; y <= cy + r - 1; y++)
	{
		if (y < 0 || y >= g->ny)
			continue;
		if (cx - r >= 0)
			out[n++] = y * g->nx + (cx - r);
		if (cx + r < g->nx)
			out[n++] = y * g->nx + (cx + r);
	}
	return n;
}

/* The most rings a search may need: enough to cover the whole grid from any cell. */
int
cs_grid_max_ring(const CsGrid *g)
{
	return Max(g->nx, g->ny);
}
