/*
 * snapbuild.c
 *	  The C steps of crimesnap.build_snap_points():
 *
 *	  street_segments()     cuts the centrelines that carry points into segments between
 *							junctions, and long segments into parts, for dense mode;
 *	  clear_point()         the point of a centreline nearest a target that keeps clear of
 *							every address by more than crimesnap.min_property_distance;
 *	  select_snap_points()  prunes candidate points until every catchment holds at least k
 *							addresses (or, for public places and force points, none), then
 *							admits force points that take no point below k.
 *
 * A catchment is the set of addresses whose nearest point inside their own neighbourhood is
 * that point, ties going to the lowest rank: the builder passes as rank the point id the
 * candidate will get, so that these catchments are exactly those crimesnap.snap() and
 * crimesnap.audit_snap_points() see once the set is stored.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "lib/binaryheap.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_clear_point);
PG_FUNCTION_INFO_V1(crimesnap_street_segments);
PG_FUNCTION_INFO_V1(crimesnap_select_snap_points);

/*
 * A point is kept this much further from every address than min_property_distance asks, so
 * that rounding on the way through EWKB and PostGIS's own distance code never brings it back
 * to exactly the limit, where the audit (ST_DWithin, which includes the limit) would flag it.
 */
#define CLEARANCE_MARGIN 0.01

/* Vertices closer than this (in metres, per axis) are one node of the street network. */
#define NODE_QUANTUM 100.0

/* ====================================================================================
 * clear_point
 * ==================================================================================== */

typedef struct Stretch
{
	double		lo;
	double		hi;
} Stretch;

static int
stretch_cmp(const void *pa, const void *pb)
{
	const Stretch *a = pa;
	const Stretch *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (a->hi > b->hi) - (a->hi < b->hi);
}

/*
 * The nearest point to target on the edge a-b whose distance to every address exceeds
 * radius.  Returns false when the whole edge is too close.  forbidden is scratch space for
 * naddr intervals.
 */
static bool
clear_on_edge(CsPoint a, CsPoint b, CsPoint target, const CsPoint *addr, int naddr,
			  double radius, Stretch *forbidden, CsPoint *out, double *outd)
{
	double		len = cs_dist_pt_pt(a, b);
	double		ux = len > 0 ? (b.x - a.x) / len : 0;
	double		uy = len > 0 ? (b.y - a.y) / len : 0;
	double		tstar = len > 0 ? (target.x - a.x) * ux + (target.y - a.y) * uy : 0;
	int			nf = 0;
	double		from = 0;
	bool		found = false;

	tstar = Max(0.0, Min(len, tstar));

	/* The stretch of the edge within radius of each address: an open interval of t. */
	for (int i = 0; i < naddr; i++)
	{
		double		wx = addr[i].x - a.x;
		double		wy = addr[i].y - a.y;
		double		along = wx * ux + wy * uy;
		double		disc = along * along - (wx * wx + wy * wy - radius * radius);

		if (len == 0)
		{
			if (wx * wx + wy * wy < radius * radius)
				return false;
			continue;
		}
		if (disc <= 0)
			continue;
		forbidden[nf].lo = along - sqrt(disc);
		forbidden[nf].hi = along + sqrt(disc);
		if (forbidden[nf].hi <= 0 || forbidden[nf].lo >= len)
			continue;
		nf++;
	}
	qsort(forbidden, nf, sizeof(Stretch), stretch_cmp);

	/* Walk the allowed stretches [from, next forbidden lo] and keep the nearest point. */
	for (int i = 0; i <= nf; i++)
	{
		double		to = (i < nf) ? forbidden[i].lo : len;

		if (to >= from)
		{
			double		t = Max(from, Min(to, tstar));
			CsPoint		q;
			double		d;
			bool		ok = true;

			q.x = a.x + t * ux;
			q.y = a.y + t * uy;
			/* Check the endpoints of a stretch against rounding: they sit on a circle. */
			for (int j = 0; j < naddr && ok; j++)
				if (cs_dist_pt_pt(q, addr[j]) < radius - 1e-9)
					ok = false;
			d = cs_dist_pt_pt(q, target);
			if (ok && (!found || d < *outd))
			{
				*out = q;
				*outd = d;
				found = true;
			}
		}
		if (i < nf)
			from = Max(from, forbidden[i].hi);
	}
	return found;
}

/*
 * clear_point(line geometry, target geometry, addresses geometry, min_distance float8)
 * RETURNS geometry: the point of line nearest target at more than min_distance from every
 * point of addresses (NULL addresses: no constraint), or NULL when there is none.
 */
Datum
crimesnap_clear_point(PG_FUNCTION_ARGS)
{
	CsGeomIO   *io;
	CsGeom		line;
	CsGeom		target;
	CsGeom		addr = {0};
	double		min_distance;
	double		radius;
	Stretch   *scratch;
	CsPoint		best = {0, 0};
	double		bestd = DBL_MAX;
	bool		found = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	min_distance = PG_GETARG_FLOAT8(3);
	if (!(min_distance >= 0) || isinf(min_distance))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_distance %g is not a distance", min_distance),
				 errhint("Give the clearance in metres, for example crimesnap.min_property_distance.")));
	radius = min_distance + CLEARANCE_MARGIN;

	io = (CsGeomIO *) fcinfo->flinfo->fn_extra;
	if (io == NULL)
	{
		io = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CsGeomIO));
		cs_geomio_init(io, get_fn_expr_argtype(fcinfo->flinfo, 0), fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = io;
	}
	cs_geom_decode(io, PG_GETARG_DATUM(0), &line);
	cs_geom_decode(io, PG_GETARG_DATUM(1), &target);
	if (!PG_ARGISNULL(2))
		cs_geom_decode(io, PG_GETARG_DATUM(2), &addr);
	if (line.type != CS_WKB_LINESTRING && line.type != CS_WKB_MULTILINESTRING)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clear_point needs a centreline, not geometry type %d", line.type),
				 errhint("Pass a LineString or MultiLineString as the first argument.")));
	if (target.type != CS_WKB_POINT || target.npoints != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clear_point needs a target point")));
	if (addr.npoints > 0 && addr.type != CS_WKB_POINT && addr.type != CS_WKB_MULTIPOINT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clear_point needs the addresses as a point or multipoint"),
				 errhint("Collect them with ST_Collect(address.geom).")));
	if (line.srid != target.srid || (addr.npoints > 0 && addr.srid != line.srid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clear_point got geometries with SRIDs %d, %d and %d", line.srid, target.srid, addr.srid)));
	if (line.npoints == 0)
		PG_RETURN_NULL();

	scratch = palloc(sizeof(Stretch) * Max(addr.npoints, 1));
	for (int p = 0; p < line.nparts; p++)
	{
		int			j0 = line.partstart[p];
		int			j1 = line.partstart[p + 1];

		for (int j = j0; j < j1; j++)
		{
			CsPoint		q;
			double		d;

			if (j + 1 == j1 && j1 - j0 > 1)
				break;
			if (clear_on_edge(line.points[j], line.points[j + 1 < j1 ? j + 1 : j], target.points[0],
							  addr.points, addr.npoints, radius, scratch, &q, &d) &&
				(!found || d < bestd))
			{
				best = q;
				bestd = d;
				found = true;
			}
		}
	}
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(cs_point_datum(io, best.x, best.y, line.srid));
}

/* ====================================================================================
 * street_segments
 * ==================================================================================== */

/* One incidence of a vertex on a line, to count the degree of every node. */
typedef struct NodeRef
{
	int			area;
	int64		qx;
	int64		qy;
	int			weight;
} NodeRef;

static int
noderef_cmp(const void *pa, const void *pb)
{
	const NodeRef *a = pa;
	const NodeRef *b = pb;

	if (a->area != b->area)
		return a->area < b->area ? -1 : 1;
	if (a->qx != b->qx)
		return a->qx < b->qx ? -1 : 1;
	if (a->qy != b->qy)
		return a->qy < b->qy ? -1 : 1;
	return 0;
}

/* A piece of a line between two nodes. */
typedef struct SegEdge
{
	int			area;
	int			street;
	int			node[2];		/* index into the node table */
	int			first;			/* range in the shared vertex array */
	int			npts;
	int			link[2];		/* edge * 2 + end continuing the same street, or -1 */
	bool		used;
} SegEdge;

/* A chain of edges: one segment, in the order produced. */
typedef struct Chain
{
	int			area;
	int			street;
	int			order;
	int			first;			/* range in the chain vertex array */
	int			npts;
} Chain;

static int
chain_cmp(const void *pa, const void *pb)
{
	const Chain *a = pa;
	const Chain *b = pb;

	if (a->area != b->area)
		return a->area < b->area ? -1 : 1;
	if (a->street != b->street)
		return a->street < b->street ? -1 : 1;
	return (a->order > b->order) - (a->order < b->order);
}

static int
node_lookup(const NodeRef *nodes, int nnodes, int area, CsPoint p)
{
	NodeRef		key;
	NodeRef    *hit;

	key.area = area;
	key.qx = (int64) llround(p.x * NODE_QUANTUM);
	key.qy = (int64) llround(p.y * NODE_QUANTUM);
	hit = bsearch(&key, nodes, nnodes, sizeof(NodeRef), noderef_cmp);
	Assert(hit != NULL);
	return (int) (hit - nodes);
}

/* Append the vertices of pts (reversed when asked) to out, skipping a repeated joint. */
static void
append_points(CsPoint **out, int *n, int *cap, const CsPoint *pts, int npts, bool reverse)
{
	for (int i = 0; i < npts; i++)
	{
		CsPoint		p = pts[reverse ? npts - 1 - i : i];

		if (*n > 0 && (*out)[*n - 1].x == p.x && (*out)[*n - 1].y == p.y)
			continue;
		if (*n >= *cap)
		{
			*cap *= 2;
			*out = repalloc(*out, sizeof(CsPoint) * *cap);
		}
		(*out)[(*n)++] = p;
	}
}

static double
polyline_len(const CsPoint *pts, int n)
{
	double		len = 0;

	for (int i = 0; i + 1 < n; i++)
		len += cs_dist_pt_pt(pts[i], pts[i + 1]);
	return len;
}

/*
 * The stretch of a polyline between arc lengths from and to, as new vertices in out[]
 * (which must hold n + 2), and the point half-way along it.  Returns the vertex count.
 */
static int
substring(const CsPoint *pts, int n, double from, double to, CsPoint *out, CsPoint *centre)
{
	double		walked = 0;
	double		half = (from + to) / 2.0;
	int			m = 0;
	bool		have_centre = false;

	for (int i = 0; i + 1 < n; i++)
	{
		double		seg = cs_dist_pt_pt(pts[i], pts[i + 1]);
		double		s0 = walked;
		double		s1 = walked + seg;

		walked = s1;
		if (seg == 0)
			continue;
		if (!have_centre && half >= s0 && half <= s1)
		{
			double		f = (half - s0) / seg;

			centre->x = pts[i].x + f * (pts[i + 1].x - pts[i].x);
			centre->y = pts[i].y + f * (pts[i + 1].y - pts[i].y);
			have_centre = true;
		}
		if (s1 <= from || s0 >= to)
			continue;
		if (m == 0)
		{
			double		f = Max(0.0, (from - s0) / seg);

			out[m].x = pts[i].x + f * (pts[i + 1].x - pts[i].x);
			out[m].y = pts[i].y + f * (pts[i + 1].y - pts[i].y);
			m++;
		}
		if (s1 <= to)
			out[m++] = pts[i + 1];
		else
		{
			double		f = (to - s0) / seg;

			out[m].x = pts[i].x + f * (pts[i + 1].x - pts[i].x);
			out[m].y = pts[i].y + f * (pts[i + 1].y - pts[i].y);
			m++;
			break;
		}
	}
	if (!have_centre)
		*centre = out[m > 0 ? m - 1 : 0];
	return m;
}

/*
 * street_segments(areas text[], streets text[], geoms geometry[], max_length float8)
 * RETURNS TABLE (area text, street text, segment integer, part integer, geom geometry,
 *				  centre geometry)
 *
 * A segment is a stretch of one street between junctions: lines of a street in an area are
 * cut where three or more line ends or vertices of any street of that area meet, and joined
 * where exactly two meet and both belong to the street.  A segment longer than max_length is
 * cut into equal parts no longer than that.
 */
Datum
crimesnap_street_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext old;
	MemoryContext rowcxt;
	char	  **area_s;
	char	  **street_s;
	CsGeomArray g;
	int			n,
				n2;
	double		max_length;
	char	  **areas;
	int			nareas;
	char	  **streets;
	int			nstreets;
	NodeRef    *nodes;
	int			nnodes = 0;
	int			nrefs = 0;
	SegEdge    *edges;
	int			nedges = 0;
	int			edgecap = 64;
	CsPoint    *verts;
	int			nverts = 0;
	int			vertcap = 256;
	int		   *ends;
	Chain	   *chains;
	int			nchains = 0;
	CsPoint    *cverts;
	int			ncverts = 0;
	int			cvertcap = 256;
	int			srid;
	CsGeomIO	io;
	int			segno = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("street_segments needs areas, streets and geometries"),
				 errhint("Pass empty arrays, not NULL, when there are no streets.")));
	max_length = PG_ARGISNULL(3) ? 0 : PG_GETARG_FLOAT8(3);
	if (isnan(max_length) || max_length < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_length %g is not a length", max_length),
				 errhint("Give the longest segment part in metres, or 0 for segments uncut.")));

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "crimesnap street segments",
								 ALLOCSET_DEFAULT_SIZES);
	rowcxt = AllocSetContextCreate(work, "crimesnap street segments row", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(work);

	area_s = cs_text_array_decode(PG_GETARG_DATUM(0), &n);
	street_s = cs_text_array_decode(PG_GETARG_DATUM(1), &n2);
	cs_geom_array_decode(PG_GETARG_DATUM(2), &g, work);
	if (n != g.n || n2 != g.n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("street_segments got %d areas, %d streets and %d geometries", n, n2, g.n),
				 errhint("The arrays must have one element per street piece.")));
	srid = cs_geom_array_srid(&g, "geoms");
	cs_geomio_init(&io, g.elemtype, work);
	areas = cs_intern_strings(area_s, n, NULL, 0, &nareas);
	streets = cs_intern_strings(street_s, n, NULL, 0, &nstreets);

	/*
	 * Repeated vertices would count as extra line ends at one node, so drop a vertex that
	 * falls on the same node as the one before it.
	 */
	for (int i = 0; i < g.n; i++)
	{
		CsGeom	   *gi = &g.geoms[i];
		int			w = 0;

		if (g.nulls[i])
			continue;
		for (int p = 0; p < gi->nparts; p++)
		{
			int			j0 = gi->partstart[p];
			int			j1 = gi->partstart[p + 1];
			int			start = w;

			for (int j = j0; j < j1; j++)
			{
				if (w > start &&
					llround(gi->points[w - 1].x * NODE_QUANTUM) == llround(gi->points[j].x * NODE_QUANTUM) &&
					llround(gi->points[w - 1].y * NODE_QUANTUM) == llround(gi->points[j].y * NODE_QUANTUM))
					continue;
				gi->points[w++] = gi->points[j];
			}
			gi->partstart[p] = start;
		}
		gi->partstart[gi->nparts] = w;
		gi->npoints = w;
	}

	/* ---- node degrees: a line's ends count once, its inner vertices twice ---- */
	for (int i = 0; i < g.n; i++)
		if (!g.nulls[i])
			nrefs += g.geoms[i].npoints;
	nodes = palloc(sizeof(NodeRef) * Max(nrefs, 1));
	for (int i = 0; i < g.n; i++)
	{
		CsGeom	   *gi = &g.geoms[i];
		int			area = cs_intern_lookup(areas, nareas, area_s[i]);

		if (g.nulls[i] || area < 0 || street_s[i] == NULL)
			continue;
		if (gi->npoints > 0 && gi->type != CS_WKB_LINESTRING && gi->type != CS_WKB_MULTILINESTRING)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("street piece %d is not a linestring", i + 1),
					 errhint("Pass centrelines as LineStrings or MultiLineStrings.")));
		for (int p = 0; p < gi->nparts; p++)
			for (int j = gi->partstart[p]; j < gi->partstart[p + 1]; j++)
			{
				bool		end = (j == gi->partstart[p] || j == gi->partstart[p + 1] - 1);

				nodes[nnodes].area = area;
				nodes[nnodes].qx = (int64) llround(gi->points[j].x * NODE_QUANTUM);
				nodes[nnodes].qy = (int64) llround(gi->points[j].y * NODE_QUANTUM);
				nodes[nnodes].weight = end ? 1 : 2;
				nnodes++;
			}
	}
	qsort(nodes, nnodes, sizeof(NodeRef), noderef_cmp);
	{
		int			d = 0;

		for (int i = 0; i < nnodes; i++)
		{
			if (d > 0 && noderef_cmp(&nodes[d - 1], &nodes[i]) == 0)
				nodes[d - 1].weight += nodes[i].weight;
			else
				nodes[d++] = nodes[i];
		}
		nnodes = d;
	}

	/* ---- edges: lines cut at every node of degree three or more ---- */
	edges = palloc(sizeof(SegEdge) * edgecap);
	verts = palloc(sizeof(CsPoint) * vertcap);
	for (int i = 0; i < g.n; i++)
	{
		CsGeom	   *gi = &g.geoms[i];
		int			area = cs_intern_lookup(areas, nareas, area_s[i]);
		int			street = cs_intern_lookup(streets, nstreets, street_s[i]);

		if (g.nulls[i] || area < 0 || street < 0)
			continue;
		for (int p = 0; p < gi->nparts; p++)
		{
			int			j0 = gi->partstart[p];
			int			j1 = gi->partstart[p + 1];
			int			start = j0;

			if (j1 - j0 < 2)
				continue;
			for (int j = j0 + 1; j < j1; j++)
			{
				int			node = node_lookup(nodes, nnodes, area, gi->points[j]);

				if (j < j1 - 1 && nodes[node].weight < 3)
					continue;
				if (nedges >= edgecap)
				{
					edgecap *= 2;
					edges = repalloc(edges, sizeof(SegEdge) * edgecap);
				}
				edges[nedges].area = area;
				edges[nedges].street = street;
				edges[nedges].node[0] = node_lookup(nodes, nnodes, area, gi->points[start]);
				edges[nedges].node[1] = node;
				edges[nedges].first = nverts;
				edges[nedges].npts = 0;
				edges[nedges].link[0] = edges[nedges].link[1] = -1;
				edges[nedges].used = false;
				{
					int			cnt = nverts;

					append_points(&verts, &cnt, &vertcap, gi->points + start, j - start + 1, false);
					edges[nedges].npts = cnt - nverts;
					nverts = cnt;
				}
				nedges++;
				start = j;
			}
		}
	}

	/*
	 * ---- links: at a node of degree two where both ends belong to one street, the two
	 * edges continue each other ----
	 */
	ends = palloc(sizeof(int) * Max(nedges * 2, 1));
	for (int i = 0; i < nedges * 2; i++)
		ends[i] = i;
	{
		int			nends = nedges * 2;

		/* Sort edge ends by node with a counting pass: nodes are already numbered. */
		int		   *count = palloc0(sizeof(int) * (nnodes + 1));
		int		   *byn = palloc(sizeof(int) * Max(nends, 1));

		for (int i = 0; i < nends; i++)
			count[edges[i / 2].node[i % 2] + 1]++;
		for (int v = 0; v < nnodes; v++)
			count[v + 1] += count[v];
		for (int i = 0; i < nends; i++)
			byn[count[edges[i / 2].node[i % 2]]++] = i;
		/* count[v] now marks the end of node v's run; rebuild the starts. */
		for (int v = nnodes; v > 0; v--)
			count[v] = count[v - 1];
		count[0] = 0;
		for (int v = 0; v < nnodes; v++)
		{
			int			s = count[v];

			if (nodes[v].weight == 2 && count[v + 1] - s == 2)
			{
				int			e0 = byn[s];
				int			e1 = byn[s + 1];

				if (edges[e0 / 2].street == edges[e1 / 2].street && e0 / 2 != e1 / 2)
				{
					edges[e0 / 2].link[e0 % 2] = e1;
					edges[e1 / 2].link[e1 % 2] = e0;
				}
			}
		}
		pfree(count);
		pfree(byn);
	}

	/* ---- chains: walk back to the start of each, then forwards ---- */
	chains = palloc(sizeof(Chain) * Max(nedges, 1));
	cverts = palloc(sizeof(CsPoint) * cvertcap);
	for (int i = 0; i < nedges; i++)
	{
		int			cur = i;
		int			curend = 0;		/* we enter cur through this end */
		int			first = ncverts;

		if (edges[i].used)
			continue;
		/* Back: follow the link at the start end until the chain starts or loops. */
		for (;;)
		{
			int			l = edges[cur].link[curend];

			if (l < 0 || l / 2 == i)
				break;
			cur = l / 2;
			curend = 1 - l % 2;
		}
		/* Forwards from cur, entered at curend. */
		for (;;)
		{
			SegEdge    *ed = &edges[cur];
			int			l;

			ed->used = true;
			append_points(&cverts, &ncverts, &cvertcap, verts + ed->first, ed->npts, curend == 1);
			l = ed->link[1 - curend];
			if (l < 0 || edges[l / 2].used)
				break;
			cur = l / 2;
			curend = l % 2;
		}
		chains[nchains].area = edges[i].area;
		chains[nchains].street = edges[i].street;
		chains[nchains].order = nchains;
		chains[nchains].first = first;
		chains[nchains].npts = ncverts - first;
		nchains++;
	}
	qsort(chains, nchains, sizeof(Chain), chain_cmp);

	/* ---- parts ---- */
	for (int c = 0; c < nchains; c++)
	{
		Chain	   *ch = &chains[c];
		const CsPoint *pts = cverts + ch->first;
		double		len = polyline_len(pts, ch->npts);
		int			nparts;
		CsPoint    *part = palloc(sizeof(CsPoint) * (ch->npts + 2));

		if (c == 0 || ch->area != chains[c - 1].area || ch->street != chains[c - 1].street)
			segno = 0;
		if (!(len > 0))
			continue;
		segno++;
		nparts = (max_length > 0) ? (int) Max(1.0, ceil(len / max_length - 1e-9)) : 1;
		for (int k = 0; k < nparts; k++)
		{
			CsPoint		centre;
			int			m = substring(pts, ch->npts, len * k / nparts, len * (k + 1) / nparts, part, &centre);
			Datum		values[6];
			bool		nulls[6] = {false, false, false, false, false, false};

			if (m < 2)
				continue;
			MemoryContextSwitchTo(rowcxt);
			values[0] = CStringGetTextDatum(areas[ch->area]);
			values[1] = CStringGetTextDatum(streets[ch->street]);
			values[2] = Int32GetDatum(segno);
			values[3] = Int32GetDatum(k + 1);
			values[4] = cs_line_datum(&io, part, m, srid);
			values[5] = cs_point_datum(&io, centre.x, centre.y, srid);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			MemoryContextSwitchTo(work);
			MemoryContextReset(rowcxt);
		}
		pfree(part);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/* ====================================================================================
 * select_snap_points
 * ==================================================================================== */

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
		give(s, a, s->aarea[a] >= 0 ? nearest_alive(s, a) : -1);
	for (int c = 0; c < s->ncand; c++)
		if (s->alive[c] && violates(s, c))
			push(&heap, s, c);

	while (!binaryheap_empty(heap))
	{
		HeapEntry  *e = (HeapEntry *) DatumGetPointer(binaryheap_remove_first(heap));
		int			c = e->cand;
		int			a;

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
		s->reason[order[i]] = try_admit(s, order[i]);
	pfree(order);
}

/*
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
	CsBox	   *boxes;
	int		   *byarea;
	int		   *area_start;

	for (int i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("select_snap_points needs its first six arguments; argument %d is NULL", i + 1),
					 errhint("Pass empty arrays, not NULL.")));
	memset(&s, 0, sizeof(s));
	s.k = PG_ARGISNULL(6) ? crimesnap_min_addresses : PG_GETARG_INT32(6);
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
				 errmsg("select_snap_points got %d address geometries and %d address areas", ag.n, n3)));
	if (s.ncand > 0 && ag.n > 0 &&
		cs_geom_array_srid(&cg, "geoms") != cs_geom_array_srid(&ag, "address_geoms"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("candidates and addresses have different SRIDs")));

	/* ---- candidates ---- */
	areas = cs_intern_strings(carea_s, s.ncand, NULL, 0, &s.nareas);
	s.cpt = palloc(sizeof(CsPoint) * Max(s.ncand, 1));
	s.carea = palloc(sizeof(int) * Max(s.ncand, 1));
	s.ckind = palloc(sizeof(CandKind) * Max(s.ncand, 1));
	s.alive = palloc0(sizeof(bool) * Max(s.ncand, 1));
	s.valid = palloc0(sizeof(bool) * Max(s.ncand, 1));
	s.count = palloc0(sizeof(int) * Max(s.ncand, 1));
	s.reason = palloc0(sizeof(char *) * Max(s.ncand, 1));
	s.head = palloc(sizeof(int) * Max(s.ncand, 1));
	boxes = palloc(sizeof(CsBox) * Max(s.ncand, 1));
	for (int c = 0; c < s.ncand; c++)
	{
		CsGeom	   *g = &cg.geoms[c];

		s.head[c] = -1;
		if (ckind_s[c] == NULL)
			s.ckind[c] = KIND_STREET;
		else if (strcmp(ckind_s[c], "street") == 0)
			s.ckind[c] = KIND_STREET;
		else if (strcmp(ckind_s[c], "place") == 0)
			s.ckind[c] = KIND_PLACE;
		else if (strcmp(ckind_s[c], "force") == 0)
			s.ckind[c] = KIND_FORCE;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown snap point kind \"%s\"", ckind_s[c]),
					 errhint("Use \"street\", \"place\" or \"force\".")));
		s.carea[c] = cs_intern_lookup(areas, s.nareas, carea_s[c]);
		if (c > 0 && s.crank[c] <= s.crank[c - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("candidate ranks must be unique and increasing; rank " INT64_FORMAT " follows " INT64_FORMAT,
							s.crank[c], s.crank[c - 1]),
					 errhint("Pass the candidates ordered by the point id each would get.")));
		if (cg.nulls[c] || g->npoints == 0)
		{
			s.reason[c] = "no location";
			continue;
		}
		if (g->type != CS_WKB_POINT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("candidate of rank " INT64_FORMAT " is not a point", s.crank[c])));
		if (s.carea[c] < 0)
		{
			s.reason[c] = "outside every neighbourhood";
			continue;
		}
		s.cpt[c] = g->points[0];
		s.valid[c] = true;
		s.alive[c] = (s.ckind[c] != KIND_FORCE);
		boxes[c].xmin = boxes[c].xmax = s.cpt[c].x;
		boxes[c].ymin = boxes[c].ymax = s.cpt[c].y;
	}

	/* One grid per area over its candidates, force points included (they start dead). */
	byarea = palloc(sizeof(int) * Max(s.ncand, 1));
	area_start = palloc0(sizeof(int) * (s.nareas + 1));
	for (int c = 0; c < s.ncand; c++)
		if (s.valid[c])
			area_start[s.carea[c] + 1]++;
	for (int a = 0; a < s.nareas; a++)
		area_start[a + 1] += area_start[a];
	{
		int		   *fill = palloc(sizeof(int) * Max(s.nareas, 1));

		memcpy(fill, area_start, sizeof(int) * s.nareas);
		for (int c = 0; c < s.ncand; c++)
			if (s.valid[c])
				byarea[fill[s.carea[c]]++] = c;
	}
	s.grids = palloc0(sizeof(CsGrid) * Max(s.nareas, 1));
	for (int a = 0; a < s.nareas; a++)
		if (area_start[a + 1] > area_start[a])
			cs_grid_build(&s.grids[a], boxes, byarea + area_start[a], area_start[a + 1] - area_start[a], 0.0);
	s.ringcap = 64;
	s.ring = palloc(sizeof(int) * s.ringcap);

	/* ---- addresses: an address outside the candidates' areas belongs to no catchment ---- */
	s.naddr = ag.n;
	s.apt = palloc(sizeof(CsPoint) * Max(s.naddr, 1));
	s.aarea = palloc(sizeof(int) * Max(s.naddr, 1));
	s.owner = palloc(sizeof(int) * Max(s.naddr, 1));
	s.next = palloc(sizeof(int) * Max(s.naddr, 1));
	for (int a = 0; a < s.naddr; a++)
	{
		CsGeom	   *g = &ag.geoms[a];

		s.owner[a] = -1;
		s.next[a] = -1;
		s.aarea[a] = -1;
		if (ag.nulls[a] || g->npoints == 0)
			continue;
		if (g->type != CS_WKB_POINT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("address %d is not a point", a + 1)));
		s.apt[a] = g->points[0];
		s.aarea[a] = cs_intern_lookup(areas, s.nareas, aarea_s[a]);
	}

	/* Addresses by area, for admissions, which look at one area's addresses only. */
	s.area_addr = palloc(sizeof(int) * Max(s.naddr, 1));
	s.area_addr_start = palloc0(sizeof(int) * (s.nareas + 1));
	for (int a = 0; a < s.naddr; a++)
		if (s.aarea[a] >= 0)
			s.area_addr_start[s.aarea[a] + 1]++;
	for (int a = 0; a < s.nareas; a++)
		s.area_addr_start[a + 1] += s.area_addr_start[a];
	{
		int		   *fill = palloc(sizeof(int) * Max(s.nareas, 1));

		memcpy(fill, s.area_addr_start, sizeof(int) * s.nareas);
		for (int a = 0; a < s.naddr; a++)
			if (s.aarea[a] >= 0)
				s.area_addr[fill[s.aarea[a]]++] = a;
	}
	s.taken = palloc(sizeof(int) * Max(s.naddr, 1));
	s.near = palloc(sizeof(int) * Max(s.naddr, 1));
	s.addr_grids = palloc0(sizeof(CsGrid) * Max(s.nareas, 1));
	s.addr_grid_built = palloc0(sizeof(bool) * Max(s.nareas, 1));
	s.area_reach = palloc0(sizeof(double) * Max(s.nareas, 1));
	s.lost = palloc0(sizeof(int) * Max(s.ncand, 1));

	prune(&s);
	readmit(&s);
	admit_force_points(&s);

	for (int c = 0; c < s.ncand; c++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int64GetDatum(s.crank[c]);
		values[1] = BoolGetDatum(s.alive[c]);
		values[2] = Int32GetDatum(s.count[c]);
		if (s.reason[c] != NULL && !s.alive[c])
			values[3] = CStringGetTextDatum(s.reason[c]);
		else
			nulls[3] = true;
		if (!s.valid[c])
			nulls[2] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
