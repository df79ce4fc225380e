/*
 * snapkdtree.c
 *	  A static KD-tree over one neighbourhood's snap points, for snap()'s nearest-point
 *	  search on plain doubles.
 *
 * The tree is stored as a heap of bounding boxes (node i has children 2i and 2i + 1) over
 * the points themselves, which kd_build() reorders in place: a node covers a contiguous
 * range, halved at every level, so only the boxes are stored.  Distances are
 * ST_Distance's own (cs_dist_xy), and ties go to the lowest point id, so the answer is
 * exactly "ORDER BY ST_Distance(...), point_id LIMIT 1".
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "snapindex.h"

/* A partition is split until its nodes hold at most this many points. */
#define KD_LEAF 8
#define KD_MAX_STACK 128

/*
 * A lower bound of point_distance from (qx, qy) to any point in the box.  Rounding is
 * monotonic, so for a point p in the box |fl(p.x - qx)| >= the gap computed here, and
 * the bound never exceeds the computed distance of a point inside: pruning a box whose
 * bound is strictly greater than the best distance can never lose a nearer point or a
 * tie.
 */
static inline double
box_lower_bound(const CsBox *b, double qx, double qy)
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
int
cs_kd_slots(int n)
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
kd_build(SnapPt *pts, CsBox *nodes, int node, int lo, int hi)
{
	CsBox	   *b = &nodes[node];
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

/* Build the tree over pts[0, n) into nodes (cs_kd_slots(n) of them; slot 0 unused). */
void
cs_kd_build(SnapPt *pts, CsBox *nodes, int n)
{
	if (n > 0)
		kd_build(pts, nodes, 1, 0, n);
}

/*
 * The nearest of the n points within maxdist (inclusive), ties to the lowest id.
 * Returns its index in pts, or -1; *dist gets its distance.
 */
int
cs_kd_nearest(const SnapPt *pts, const CsBox *nodes, int n, double qx, double qy,
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
	double		best = maxdist;
	int			bestidx = -1;
	int64		bestid = 0;

	if (n == 0)
		return -1;

	stack[0].node = 1;
	stack[0].lo = 0;
	stack[0].hi = n;
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
	return bestidx;
}
