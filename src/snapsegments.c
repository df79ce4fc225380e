/*
 * snapsegments.c
 *	  crimesnap.street_segments(): cuts the centrelines that carry points into segments
 *	  between junctions, and long segments into parts, for dense mode.
 *
 * A step of crimesnap.build_snap_points().  The work, each in its own function:
 *	  1. drop repeated vertices, which would count as extra line ends at a node;
 *	  2. count every node's degree (a line's ends once, its inner vertices twice);
 *	  3. cut the lines at every node of degree three or more into edges;
 *	  4. link edges of one street that meet at a node of degree two;
 *	  5. walk the links into chains, one per segment;
 *	  6. cut each chain into equal parts no longer than max_length, and emit them.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_street_segments);

/* Vertices closer than this (in metres, per axis) are one node of the street network. */
#define NODE_QUANTUM 100.0

/* No segment is cut into more parts than this: a smaller max_length is a unit error. */
#define MAX_PARTS_PER_SEGMENT 100000

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
			*out = repalloc_huge(*out, sizeof(CsPoint) * *cap);
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

/* What the steps of one street_segments() call share. */
typedef struct SegWork
{
	CsGeomArray g;
	char	  **area_s;			/* per piece, as given */
	char	  **street_s;
	char	  **areas;			/* interned, sorted */
	int			nareas;
	char	  **streets;
	int			nstreets;
	NodeRef    *nodes;
	int			nnodes;
	SegEdge    *edges;
	int			nedges;
	CsPoint    *verts;			/* the edges' vertices */
	int			nverts;
	Chain	   *chains;
	int			nchains;
	CsPoint    *cverts;			/* the chains' vertices */
	int			ncverts;
} SegWork;

/* Step 1: drop a vertex that falls on the same node as the one before it. */
static void
drop_repeated_vertices(SegWork *w)
{
	for (int i = 0; i < w->g.n; i++)
	{
		CsGeom	   *gi = &w->g.geoms[i];
		int			out = 0;

		if (w->g.nulls[i])
			continue;
		for (int p = 0; p < gi->nparts; p++)
		{
			int			j0 = gi->partstart[p];
			int			j1 = gi->partstart[p + 1];
			int			start = out;

			for (int j = j0; j < j1; j++)
			{
				if (out > start &&
					llround(gi->points[out - 1].x * NODE_QUANTUM) == llround(gi->points[j].x * NODE_QUANTUM) &&
					llround(gi->points[out - 1].y * NODE_QUANTUM) == llround(gi->points[j].y * NODE_QUANTUM))
					continue;
				gi->points[out++] = gi->points[j];
			}
			gi->partstart[p] = start;
		}
		gi->partstart[gi->nparts] = out;
		gi->npoints = out;
	}
}

/* Step 2: every node with its degree: a line's ends count once, its inner vertices twice. */
static void
count_nodes(SegWork *w)
{
	int			nrefs = 0;
	int			d = 0;

	for (int i = 0; i < w->g.n; i++)
		if (!w->g.nulls[i])
			nrefs += w->g.geoms[i].npoints;
	w->nodes = palloc(sizeof(NodeRef) * Max(nrefs, 1));
	w->nnodes = 0;
	for (int i = 0; i < w->g.n; i++)
	{
		CsGeom	   *gi = &w->g.geoms[i];
		int			area = cs_intern_lookup(w->areas, w->nareas, w->area_s[i]);

		if (w->g.nulls[i] || area < 0 || w->street_s[i] == NULL)
			continue;
		if (gi->npoints > 0 && gi->type != CS_WKB_LINESTRING && gi->type != CS_WKB_MULTILINESTRING)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("street piece %d is a %s, not a linestring", i + 1, cs_wkb_type_name(gi->type)),
					 errhint("Pass centrelines as LineStrings or MultiLineStrings.")));
		for (int p = 0; p < gi->nparts; p++)
			for (int j = gi->partstart[p]; j < gi->partstart[p + 1]; j++)
			{
				bool		end = (j == gi->partstart[p] || j == gi->partstart[p + 1] - 1);
				NodeRef    *nr = &w->nodes[w->nnodes++];

				nr->area = area;
				nr->qx = (int64) llround(gi->points[j].x * NODE_QUANTUM);
				nr->qy = (int64) llround(gi->points[j].y * NODE_QUANTUM);
				nr->weight = end ? 1 : 2;
			}
	}
	qsort(w->nodes, w->nnodes, sizeof(NodeRef), noderef_cmp);
	for (int i = 0; i < w->nnodes; i++)
	{
		if (d > 0 && noderef_cmp(&w->nodes[d - 1], &w->nodes[i]) == 0)
			w->nodes[d - 1].weight += w->nodes[i].weight;
		else
			w->nodes[d++] = w->nodes[i];
	}
	w->nnodes = d;
}

/* Add the edge of piece gi from vertex start to vertex j, which ends at node. */
static void
add_edge(SegWork *w, int *edgecap, int *vertcap, int area, int street, const CsGeom *gi,
		 int start, int j, int node)
{
	SegEdge    *e;
	int			cnt = w->nverts;

	if (w->nedges >= *edgecap)
	{
		*edgecap *= 2;
		w->edges = repalloc_huge(w->edges, sizeof(SegEdge) * *edgecap);
	}
	e = &w->edges[w->nedges++];
	e->area = area;
	e->street = street;
	e->node[0] = node_lookup(w->nodes, w->nnodes, area, gi->points[start]);
	e->node[1] = node;
	e->first = w->nverts;
	e->link[0] = e->link[1] = -1;
	e->used = false;
	append_points(&w->verts, &cnt, vertcap, gi->points + start, j - start + 1, false);
	e->npts = cnt - w->nverts;
	w->nverts = cnt;
}

/* Step 3: the lines cut at every node of degree three or more. */
static void
cut_edges(SegWork *w)
{
	int			edgecap = 64;
	int			vertcap = 256;

	w->edges = palloc(sizeof(SegEdge) * edgecap);
	w->verts = palloc(sizeof(CsPoint) * vertcap);
	for (int i = 0; i < w->g.n; i++)
	{
		CsGeom	   *gi = &w->g.geoms[i];
		int			area = cs_intern_lookup(w->areas, w->nareas, w->area_s[i]);
		int			street = cs_intern_lookup(w->streets, w->nstreets, w->street_s[i]);

		CHECK_FOR_INTERRUPTS();
		if (w->g.nulls[i] || area < 0 || street < 0)
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
				int			node = node_lookup(w->nodes, w->nnodes, area, gi->points[j]);

				if (j < j1 - 1 && w->nodes[node].weight < 3)
					continue;
				add_edge(w, &edgecap, &vertcap, area, street, gi, start, j, node);
				start = j;
			}
		}
	}
}

/*
 * Step 4: at a node of degree two where both ends belong to one street, the two edges
 * continue each other.  Edge ends (edge * 2 + end) are grouped by node first.
 */
static void
link_edges(SegWork *w)
{
	int			nends = w->nedges * 2;
	int		   *endnode = palloc(sizeof(int) * Max(nends, 1));
	int		   *start = palloc(sizeof(int) * (w->nnodes + 1));
	int		   *byn = palloc(sizeof(int) * Max(nends, 1));

	for (int i = 0; i < nends; i++)
		endnode[i] = w->edges[i / 2].node[i % 2];
	cs_group_by_key(endnode, nends, w->nnodes, start, byn);
	for (int v = 0; v < w->nnodes; v++)
	{
		int			s = start[v];

		if (w->nodes[v].weight == 2 && start[v + 1] - s == 2)
		{
			int			e0 = byn[s];
			int			e1 = byn[s + 1];

			if (w->edges[e0 / 2].street == w->edges[e1 / 2].street && e0 / 2 != e1 / 2)
			{
				w->edges[e0 / 2].link[e0 % 2] = e1;
				w->edges[e1 / 2].link[e1 % 2] = e0;
			}
		}
	}
	pfree(endnode);
	pfree(start);
	pfree(byn);
}

/* Step 5: walk back to the start of each chain, then forwards along it. */
static void
walk_chains(SegWork *w)
{
	int			cvertcap = 256;

	w->chains = palloc(sizeof(Chain) * Max(w->nedges, 1));
	w->cverts = palloc(sizeof(CsPoint) * cvertcap);
	for (int i = 0; i < w->nedges; i++)
	{
		int			cur = i;
		int			curend = 0;		/* we enter cur through this end */
		int			first = w->ncverts;
		Chain	   *ch;

		if (w->edges[i].used)
			continue;
		/* Back: follow the link at the start end until the chain starts or loops. */
		for (;;)
		{
			int			l = w->edges[cur].link[curend];

			if (l < 0 || l / 2 == i)
				break;
			cur = l / 2;
			curend = 1 - l % 2;
		}
		/* Forwards from cur, entered at curend. */
		for (;;)
		{
			SegEdge    *ed = &w->edges[cur];
			int			l;

			ed->used = true;
			append_points(&w->cverts, &w->ncverts, &cvertcap, w->verts + ed->first, ed->npts, curend == 1);
			l = ed->link[1 - curend];
			if (l < 0 || w->edges[l / 2].used)
				break;
			cur = l / 2;
			curend = l % 2;
		}
		ch = &w->chains[w->nchains];
		ch->area = w->edges[i].area;
		ch->street = w->edges[i].street;
		ch->order = w->nchains;
		ch->first = first;
		ch->npts = w->ncverts - first;
		w->nchains++;
	}
	qsort(w->chains, w->nchains, sizeof(Chain), chain_cmp);
}

/*
 * The number of equal parts a segment of length len is cut into; an error when it would be
 * absurdly many (max_length far too small for the data).
 */
static int
part_count(double len, double max_length)
{
	double		n;

	if (!(max_length > 0))
		return 1;
	n = Max(1.0, ceil(len / max_length - 1e-9));
	if (!(n <= MAX_PARTS_PER_SEGMENT))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_length %g would cut a segment of %.0f m into more than %d parts",
						max_length, len, MAX_PARTS_PER_SEGMENT),
				 errhint("Give the longest segment part in metres, for example 100, or 0 for segments uncut.")));
	return (int) n;
}

/* Step 6: each chain cut into equal parts, emitted with the point half-way along each. */
static void
emit_parts(SegWork *w, ReturnSetInfo *rsinfo, double max_length, int srid, MemoryContext rowcxt)
{
	CsGeomIO	io;
	int			segno = 0;

	cs_geomio_init(&io, w->g.elemtype, CurrentMemoryContext);
	for (int c = 0; c < w->nchains; c++)
	{
		Chain	   *ch = &w->chains[c];
		const CsPoint *pts = w->cverts + ch->first;
		double		len = polyline_len(pts, ch->npts);
		int			nparts;
		CsPoint    *part;

		CHECK_FOR_INTERRUPTS();
		if (c == 0 || ch->area != w->chains[c - 1].area || ch->street != w->chains[c - 1].street)
			segno = 0;
		if (!(len > 0))
			continue;
		segno++;
		nparts = part_count(len, max_length);
		part = palloc(sizeof(CsPoint) * (ch->npts + 2));
		for (int k = 0; k < nparts; k++)
		{
			CsPoint		centre;
			int			m = substring(pts, ch->npts, len * k / nparts, len * (k + 1) / nparts, part, &centre);
			Datum		values[6];
			bool		nulls[6] = {false, false, false, false, false, false};
			MemoryContext old;

			if (m < 2)
				continue;
			old = MemoryContextSwitchTo(rowcxt);
			values[0] = CStringGetTextDatum(w->areas[ch->area]);
			values[1] = CStringGetTextDatum(w->streets[ch->street]);
			values[2] = Int32GetDatum(segno);
			values[3] = Int32GetDatum(k + 1);
			values[4] = cs_line_datum(&io, part, m, srid);
			values[5] = cs_point_datum(&io, centre.x, centre.y, srid);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		pfree(part);
	}
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
	SegWork		w;
	int			n,
				n2;
	double		max_length;
	int			srid;

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

	memset(&w, 0, sizeof(w));
	w.area_s = cs_text_array_decode(PG_GETARG_DATUM(0), &n);
	w.street_s = cs_text_array_decode(PG_GETARG_DATUM(1), &n2);
	cs_geom_array_decode(PG_GETARG_DATUM(2), &w.g, work);
	if (n != w.g.n || n2 != w.g.n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("street_segments got %d areas, %d streets and %d geometries", n, n2, w.g.n),
				 errhint("The arrays must have one element per street piece.")));
	srid = Max(cs_geom_array_srid(&w.g, "geoms"), 0);
	w.areas = cs_intern_strings(w.area_s, n, NULL, 0, &w.nareas);
	w.streets = cs_intern_strings(w.street_s, n, NULL, 0, &w.nstreets);

	drop_repeated_vertices(&w);
	count_nodes(&w);
	cut_edges(&w);
	link_edges(&w);
	walk_chains(&w);
	emit_parts(&w, rsinfo, max_length, srid, rowcxt);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
