/*
 * snappoint.c
 *	  The snapping aggregate, crimesnap.snap_centre(geometry [, min_addresses, rule]).
 *
 * Fed one street's centreline pieces (lines) and the postal addresses associated with it
 * (points), it returns the street's snap point, on the centreline, or NULL when the street
 * serves fewer than min_addresses addresses.  Mixing lines and points in one input column
 * lets a caller write
 *
 *	   SELECT name, crimesnap.snap_centre(geom)
 *	   FROM (SELECT name, geom FROM street UNION ALL SELECT street_name, geom FROM address) s
 *	   GROUP BY name;
 *
 * and count each address exactly once however many segments the street has.
 *
 * Where the point falls follows one of the three rules the steering group tested
 * ("where exactly a pinpoint may fall"), always on the longest connected piece of the
 * street, so that a street in several pieces gets a point on its main piece:
 *	  midpoint          half-way along the longest through-route of that piece
 *	  address_centroid  the point of the piece nearest the centroid of the addresses
 *	  bbox_centre       the point of the piece nearest the centre of its bounding box
 *
 * The result does not depend on the order in which rows arrive: lines are put in a
 * canonical order and direction before any choice is made, and address coordinates are
 * summed in integer millimetres, so a parallel plan and a serial one give the same point to
 * the bit.  The state is "internal", with combine, serialise and deserialise functions, so
 * the aggregate is parallel safe.
 *
 * The aggregate only places the point.  Keeping it off properties (clear_point()), and
 * checking its catchment against the other points, are the builder's later steps
 * (snapclear.c, snapselect.c), because they need every address, not just the street's own.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(snap_centre_transfn);
PG_FUNCTION_INFO_V1(snap_centre_combinefn);
PG_FUNCTION_INFO_V1(snap_centre_serialfn);
PG_FUNCTION_INFO_V1(snap_centre_deserialfn);
PG_FUNCTION_INFO_V1(snap_centre_finalfn);

typedef enum SnapRule
{
	RULE_MIDPOINT = 0,
	RULE_ADDRESS_CENTROID = 1,
	RULE_BBOX_CENTRE = 2
} SnapRule;

/*
 * Address coordinates are summed as whole millimetres in integers: integer addition does
 * not depend on order, so the address centroid, like everything else here, comes out the
 * same to the bit from any plan, serial or parallel.
 */
#define CENTROID_UNITS_PER_METRE 1000.0

typedef struct SnapCentreState
{
	int64		naddresses;
	int64		sumx;			/* in millimetres */
	int64		sumy;
	int32		srid;			/* -1 until the first geometry arrives */
	int32		min_addresses;
	int32		rule;
	int32		nlines;
	int32		npoints;
	int32		linecap;
	int32		pointcap;
	int32	   *linestart;		/* nlines + 1 offsets into points */
	CsPoint    *points;
} SnapCentreState;

/* Per-call-site cache for the transition and final functions, in fn_extra. */
typedef struct SnapCentreCache
{
	CsGeomIO	io;
} SnapCentreCache;

static SnapRule
parse_rule(const char *rule)
{
	if (strcmp(rule, "midpoint") == 0)
		return RULE_MIDPOINT;
	if (strcmp(rule, "address_centroid") == 0)
		return RULE_ADDRESS_CENTROID;
	if (strcmp(rule, "bbox_centre") == 0)
		return RULE_BBOX_CENTRE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown snap point rule \"%s\"", rule),
			 errhint("Use \"midpoint\", \"address_centroid\" or \"bbox_centre\".")));
	return RULE_MIDPOINT;		/* keep the compiler quiet */
}

static SnapCentreState *
state_new(MemoryContext cxt, int32 min_addresses, int32 rule, int32 linecap, int32 pointcap)
{
	SnapCentreState *st = MemoryContextAllocZero(cxt, sizeof(SnapCentreState));

	st->srid = -1;
	st->min_addresses = min_addresses;
	st->rule = rule;
	st->linecap = Max(linecap, 4);
	st->pointcap = Max(pointcap, 16);
	st->linestart = MemoryContextAlloc(cxt, sizeof(int32) * (st->linecap + 1));
	st->points = MemoryContextAlloc(cxt, sizeof(CsPoint) * st->pointcap);
	st->linestart[0] = 0;
	return st;
}

static void
state_check_srid(SnapCentreState *st, int32 srid)
{
	if (st->srid == -1)
		st->srid = srid;
	else if (st->srid != srid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("snap_centre got geometries with SRIDs %d and %d", st->srid, srid),
				 errhint("Transform every street and address to one SRID (crimesnap stores %d).",
						 CRIMESNAP_SRID)));
}

/* Append a line; the arrays live in the state's context, so repalloc keeps them there. */
static void
state_add_line(SnapCentreState *st, const CsPoint *pts, int n)
{
	if (n < 2)
		return;
	if (st->nlines + 1 >= st->linecap)
	{
		st->linecap *= 2;
		st->linestart = repalloc(st->linestart, sizeof(int32) * (st->linecap + 1));
	}
	if (st->npoints + n > st->pointcap)
	{
		while (st->npoints + n > st->pointcap)
			st->pointcap *= 2;
		st->points = repalloc(st->points, sizeof(CsPoint) * st->pointcap);
	}
	memcpy(st->points + st->npoints, pts, sizeof(CsPoint) * n);
	st->npoints += n;
	st->nlines++;
	st->linestart[st->nlines] = st->npoints;
}

Datum
snap_centre_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SnapCentreState *st;
	SnapCentreCache *cache;
	CsGeom		g;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "snap_centre_transfn called in non-aggregate context");

	st = PG_ARGISNULL(0) ? NULL : (SnapCentreState *) PG_GETARG_POINTER(0);
	if (st == NULL)
	{
		int32		k = crimesnap_min_addresses;
		SnapRule	rule = RULE_MIDPOINT;

		if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		{
			k = PG_GETARG_INT32(2);
			if (k < crimesnap_min_addresses)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("min_addresses %d is below crimesnap.min_addresses (%d)",
								k, crimesnap_min_addresses),
						 errhint("A snap point may serve more addresses than the privacy threshold, "
								 "never fewer; only a superuser can change crimesnap.min_addresses.")));
		}
		if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
			rule = parse_rule(text_to_cstring(PG_GETARG_TEXT_PP(3)));
		st = state_new(aggcxt, k, rule, 4, 16);
	}

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);

	cache = (SnapCentreCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(SnapCentreCache));
		cs_geomio_init(&cache->io, get_fn_expr_argtype(fcinfo->flinfo, 1),
					   fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = cache;
	}

	/* Decoding allocates in the per-row context, which the executor resets. */
	cs_geom_decode(&cache->io, PG_GETARG_DATUM(1), &g);
	if (g.npoints == 0)
		PG_RETURN_POINTER(st);
	state_check_srid(st, g.srid);

	switch (g.type)
	{
		case CS_WKB_POINT:
		case CS_WKB_MULTIPOINT:
			for (int i = 0; i < g.npoints; i++)
			{
				st->sumx += (int64) llround(g.points[i].x * CENTROID_UNITS_PER_METRE);
				st->sumy += (int64) llround(g.points[i].y * CENTROID_UNITS_PER_METRE);
			}
			st->naddresses += g.npoints;
			break;
		case CS_WKB_LINESTRING:
		case CS_WKB_MULTILINESTRING:
			for (int p = 0; p < g.nparts; p++)
				state_add_line(st, g.points + g.partstart[p],
							   g.partstart[p + 1] - g.partstart[p]);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("snap_centre accepts street lines and address points only")));
	}
	PG_RETURN_POINTER(st);
}

Datum
snap_centre_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SnapCentreState *s1;
	SnapCentreState *s2;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "snap_centre_combinefn called in non-aggregate context");

	s1 = PG_ARGISNULL(0) ? NULL : (SnapCentreState *) PG_GETARG_POINTER(0);
	s2 = PG_ARGISNULL(1) ? NULL : (SnapCentreState *) PG_GETARG_POINTER(1);
	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
		s1 = state_new(aggcxt, s2->min_addresses, s2->rule, s2->nlines + 1, s2->npoints);
	else if (s1->min_addresses != s2->min_addresses || s1->rule != s2->rule)
		elog(ERROR, "snap_centre partial states disagree on their parameters");

	if (s2->srid != -1)
		state_check_srid(s1, s2->srid);
	s1->naddresses += s2->naddresses;
	s1->sumx += s2->sumx;
	s1->sumy += s2->sumy;
	for (int i = 0; i < s2->nlines; i++)
		state_add_line(s1, s2->points + s2->linestart[i],
					   s2->linestart[i + 1] - s2->linestart[i]);
	PG_RETURN_POINTER(s1);
}

/* Serialised layout: the fixed header, then linestart[nlines + 1], then the points. */
typedef struct SnapCentreWire
{
	int64		naddresses;
	int64		sumx;
	int64		sumy;
	int32		srid;
	int32		min_addresses;
	int32		rule;
	int32		nlines;
	int32		npoints;
} SnapCentreWire;

Datum
snap_centre_serialfn(PG_FUNCTION_ARGS)
{
	SnapCentreState *st = (SnapCentreState *) PG_GETARG_POINTER(0);
	Size		linebytes = sizeof(int32) * (st->nlines + 1);
	Size		pointbytes = sizeof(CsPoint) * st->npoints;
	Size		len = VARHDRSZ + sizeof(SnapCentreWire) + linebytes + pointbytes;
	bytea	   *out = palloc(len);
	SnapCentreWire w;
	char	   *p;

	SET_VARSIZE(out, len);
	w.naddresses = st->naddresses;
	w.sumx = st->sumx;
	w.sumy = st->sumy;
	w.srid = st->srid;
	w.min_addresses = st->min_addresses;
	w.rule = st->rule;
	w.nlines = st->nlines;
	w.npoints = st->npoints;
	p = VARDATA(out);
	memcpy(p, &w, sizeof(w));
	p += sizeof(w);
	memcpy(p, st->linestart, linebytes);
	p += linebytes;
	memcpy(p, st->points, pointbytes);
	PG_RETURN_BYTEA_P(out);
}

Datum
snap_centre_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	SnapCentreState *st;
	SnapCentreWire w;
	const char *p = VARDATA_ANY(in);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "snap_centre_deserialfn called in non-aggregate context");
	if (VARSIZE_ANY_EXHDR(in) < sizeof(w))
		elog(ERROR, "snap_centre state is truncated");
	memcpy(&w, p, sizeof(w));
	p += sizeof(w);
	if (VARSIZE_ANY_EXHDR(in) != sizeof(w) + sizeof(int32) * (w.nlines + 1) + sizeof(CsPoint) * w.npoints)
		elog(ERROR, "snap_centre state has the wrong length");

	st = state_new(aggcxt, w.min_addresses, w.rule, w.nlines + 1, w.npoints);
	st->naddresses = w.naddresses;
	st->sumx = w.sumx;
	st->sumy = w.sumy;
	st->srid = w.srid;
	st->nlines = w.nlines;
	st->npoints = w.npoints;
	memcpy(st->linestart, p, sizeof(int32) * (w.nlines + 1));
	p += sizeof(int32) * (w.nlines + 1);
	memcpy(st->points, p, sizeof(CsPoint) * w.npoints);
	PG_RETURN_POINTER(st);
}

/* ---- the final function: choosing the point ---- */

/* A line in canonical form: its own copy of the vertices, and its graph nodes. */
typedef struct Line
{
	CsPoint    *pts;
	int			n;
	double		length;
	int			node[2];		/* start and end node ids */
} Line;

typedef struct Endpoint
{
	int64		qx;
	int64		qy;
	int			line;
	int			end;
} Endpoint;

static int
point_cmp(const CsPoint *a, const CsPoint *b)
{
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	return 0;
}

static int
line_cmp(const void *pa, const void *pb)
{
	const Line *a = pa;
	const Line *b = pb;
	int			n = Min(a->n, b->n);

	for (int i = 0; i < n; i++)
	{
		int			c = point_cmp(&a->pts[i], &b->pts[i]);

		if (c != 0)
			return c;
	}
	return (a->n > b->n) - (a->n < b->n);
}

static int
endpoint_cmp(const void *pa, const void *pb)
{
	const Endpoint *a = pa;
	const Endpoint *b = pb;

	if (a->qx != b->qx)
		return a->qx < b->qx ? -1 : 1;
	if (a->qy != b->qy)
		return a->qy < b->qy ? -1 : 1;
	return 0;
}

static int
uf_find(int *parent, int i)
{
	while (parent[i] != i)
	{
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

/* Nearest point to p on the lines of one component; ties keep the first line found. */
static CsPoint
nearest_on_component(const Line *lines, int nlines, const int *comp, int which, CsPoint p)
{
	CsPoint		best = {0, 0};
	double		bestd = DBL_MAX;

	for (int i = 0; i < nlines; i++)
	{
		if (comp[i] != which)
			continue;
		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j + 1 < lines[i].n; j++)
		{
			CsPoint		a = lines[i].pts[j];
			CsPoint		b = lines[i].pts[j + 1];
			double		dx = b.x - a.x;
			double		dy = b.y - a.y;
			double		len2 = dx * dx + dy * dy;
			double		t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
			CsPoint		q;
			double		d;

			t = Max(0.0, Min(1.0, t));
			q.x = a.x + t * dx;
			q.y = a.y + t * dy;
			d = (q.x - p.x) * (q.x - p.x) + (q.y - p.y) * (q.y - p.y);
			if (d < bestd)
			{
				bestd = d;
				best = q;
			}
		}
	}
	return best;
}

/*
 * Dijkstra over the nodes of one component, O(V^2): a street has few nodes.  Returns the
 * farthest node from src (lowest id on ties) and fills dist and the edge used to reach
 * each node.
 */
static int
farthest_node(const Line *lines, int nlines, const int *comp, int which, int nnodes,
			  int src, double *dist, int *via, bool *done)
{
	int			far = src;

	for (int v = 0; v < nnodes; v++)
	{
		dist[v] = DBL_MAX;
		via[v] = -1;
		done[v] = false;
	}
	dist[src] = 0;
	for (;;)
	{
		int			u = -1;

		CHECK_FOR_INTERRUPTS();

		for (int v = 0; v < nnodes; v++)
			if (!done[v] && dist[v] < DBL_MAX && (u < 0 || dist[v] < dist[u]))
				u = v;
		if (u < 0)
			break;
		done[u] = true;
		if (dist[u] > dist[far])
			far = u;
		for (int i = 0; i < nlines; i++)
		{
			int			other;

			if (comp[i] != which)
				continue;
			if (lines[i].node[0] == u)
				other = lines[i].node[1];
			else if (lines[i].node[1] == u)
				other = lines[i].node[0];
			else
				continue;
			if (!done[other] && dist[u] + lines[i].length < dist[other])
			{
				dist[other] = dist[u] + lines[i].length;
				via[other] = i;
			}
		}
	}
	return far;
}

static double
polyline_length(const CsPoint *pts, int n)
{
	double		len = 0;

	for (int j = 0; j + 1 < n; j++)
		len += hypot(pts[j + 1].x - pts[j].x, pts[j + 1].y - pts[j].y);
	return len;
}

/* The point d metres along a line, walking it backwards when reverse is set. */
static CsPoint
point_along(const Line *l, double d, bool reverse)
{
	for (int k = 0; k + 1 < l->n; k++)
	{
		CsPoint		p0 = l->pts[reverse ? l->n - 1 - k : k];
		CsPoint		p1 = l->pts[reverse ? l->n - 2 - k : k + 1];
		double		seg = hypot(p1.x - p0.x, p1.y - p0.y);

		if (seg > 0 && seg >= d)
		{
			CsPoint		r;

			r.x = p0.x + (p1.x - p0.x) * (d / seg);
			r.y = p0.y + (p1.y - p0.y) * (d / seg);
			return r;
		}
		d -= seg;
	}
	return l->pts[reverse ? 0 : l->n - 1];
}

/*
 * Half-way along the longest through-route of a component: the path between the two ends
 * of an approximate graph diameter (farthest node from the lowest node, then farthest node
 * from that).  A component with no route (a closed ring) uses half-way round its longest line.
 */
static CsPoint
midpoint_of_component(const Line *lines, int nlines, const int *comp, int which, int nnodes)
{
	double	   *dist = palloc(sizeof(double) * nnodes);
	int		   *via = palloc(sizeof(int) * nnodes);
	bool	   *done = palloc(sizeof(bool) * nnodes);
	int			start = -1;
	int			longest = -1;
	int			a;
	int			b;
	double		target;
	double		walked = 0;
	int			v;

	for (int i = 0; i < nlines; i++)
		if (comp[i] == which)
		{
			int			lo = Min(lines[i].node[0], lines[i].node[1]);

			if (start < 0 || lo < start)
				start = lo;
			if (longest < 0 || lines[i].length > lines[longest].length)
				longest = i;
		}

	a = farthest_node(lines, nlines, comp, which, nnodes, start, dist, via, done);
	b = farthest_node(lines, nlines, comp, which, nnodes, a, dist, via, done);
	if (!(dist[b] > 0))
		return point_along(&lines[longest], lines[longest].length / 2.0, false);

	/* Walk back from b towards a: the route is symmetric, so half-way is the same point. */
	target = dist[b] / 2.0;
	v = b;
	while (v != a)
	{
		const Line *l = &lines[via[v]];
		bool		backwards = (l->node[1] == v);	/* leaving v means walking end to start */

		if (walked + l->length >= target)
			return point_along(l, target - walked, backwards);
		walked += l->length;
		v = backwards ? l->node[0] : l->node[1];
	}
	return point_along(&lines[longest], lines[longest].length / 2.0, false);
}

static CsPoint
choose_point(const SnapCentreState *st)
{
	int			nlines = st->nlines;
	Line	   *lines = palloc(sizeof(Line) * nlines);
	Endpoint   *ends = palloc(sizeof(Endpoint) * nlines * 2);
	int		   *parent;
	int		   *comp = palloc(sizeof(int) * nlines);
	double	   *complen;
	int			nnodes = 0;
	int			best = -1;
	CsPoint		result;

	/* Canonical direction (first vertex <= last) and canonical order of the lines. */
	for (int i = 0; i < nlines; i++)
	{
		int			n = st->linestart[i + 1] - st->linestart[i];
		const CsPoint *src = st->points + st->linestart[i];
		bool		reverse = point_cmp(&src[0], &src[n - 1]) > 0;

		lines[i].n = n;
		lines[i].pts = palloc(sizeof(CsPoint) * n);
		for (int j = 0; j < n; j++)
			lines[i].pts[j] = src[reverse ? n - 1 - j : j];
		lines[i].length = polyline_length(lines[i].pts, n);
	}
	qsort(lines, nlines, sizeof(Line), line_cmp);

	/* Nodes: endpoints that coincide to the centimetre are one node. */
	for (int i = 0; i < nlines; i++)
		for (int e = 0; e < 2; e++)
		{
			CsPoint		p = lines[i].pts[e == 0 ? 0 : lines[i].n - 1];
			Endpoint   *ep = &ends[i * 2 + e];

			ep->qx = (int64) llround(p.x * 100.0);
			ep->qy = (int64) llround(p.y * 100.0);
			ep->line = i;
			ep->end = e;
		}
	qsort(ends, nlines * 2, sizeof(Endpoint), endpoint_cmp);
	for (int i = 0; i < nlines * 2; i++)
	{
		if (i > 0 && endpoint_cmp(&ends[i - 1], &ends[i]) != 0)
			nnodes++;
		lines[ends[i].line].node[ends[i].end] = nnodes;
	}
	nnodes++;

	/* Connected pieces by union-find over nodes. */
	parent = palloc(sizeof(int) * nnodes);
	for (int v = 0; v < nnodes; v++)
		parent[v] = v;
	for (int i = 0; i < nlines; i++)
	{
		int			r0 = uf_find(parent, lines[i].node[0]);
		int			r1 = uf_find(parent, lines[i].node[1]);

		if (r0 != r1)
			parent[Max(r0, r1)] = Min(r0, r1);	/* the root is the lowest node id */
	}
	complen = palloc0(sizeof(double) * nnodes);
	for (int i = 0; i < nlines; i++)
	{
		comp[i] = uf_find(parent, lines[i].node[0]);
		complen[comp[i]] += lines[i].length;
	}
	/* The longest piece; on a tie, the one with the lowest node id. */
	for (int v = 0; v < nnodes; v++)
		if (parent[v] == v && (best < 0 || complen[v] > complen[best]))
			best = v;

	switch ((SnapRule) st->rule)
	{
		case RULE_MIDPOINT:
			result = midpoint_of_component(lines, nlines, comp, best, nnodes);
			break;
		case RULE_ADDRESS_CENTROID:
			{
				CsPoint		c;

				c.x = (double) st->sumx / (double) st->naddresses / CENTROID_UNITS_PER_METRE;
				c.y = (double) st->sumy / (double) st->naddresses / CENTROID_UNITS_PER_METRE;
				result = nearest_on_component(lines, nlines, comp, best, c);
				break;
			}
		case RULE_BBOX_CENTRE:
		default:
			{
				CsPoint		lo = {DBL_MAX, DBL_MAX};
				CsPoint		hi = {-DBL_MAX, -DBL_MAX};
				CsPoint		c;

				for (int i = 0; i < nlines; i++)
					if (comp[i] == best)
						for (int j = 0; j < lines[i].n; j++)
						{
							lo.x = Min(lo.x, lines[i].pts[j].x);
							lo.y = Min(lo.y, lines[i].pts[j].y);
							hi.x = Max(hi.x, lines[i].pts[j].x);
							hi.y = Max(hi.y, lines[i].pts[j].y);
						}
				c.x = (lo.x + hi.x) / 2.0;
				c.y = (lo.y + hi.y) / 2.0;
				result = nearest_on_component(lines, nlines, comp, best, c);
				break;
			}
	}
	return result;
}

Datum
snap_centre_finalfn(PG_FUNCTION_ARGS)
{
	SnapCentreState *st;
	SnapCentreCache *cache;
	CsPoint		p;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "snap_centre_finalfn called in non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (SnapCentreState *) PG_GETARG_POINTER(0);

	/* Below the threshold there is no point: the privacy rule, not an error. */
	if (st == NULL || st->nlines == 0 || st->naddresses < st->min_addresses)
		PG_RETURN_NULL();

	cache = (SnapCentreCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(SnapCentreCache));
		cs_geomio_init(&cache->io, get_fn_expr_rettype(fcinfo->flinfo), fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = cache;
	}

	p = choose_point(st);
	PG_RETURN_DATUM(cs_point_datum(&cache->io, p.x, p.y, st->srid));
}
