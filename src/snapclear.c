/*
 * snapclear.c
 *	  crimesnap.clear_point(): the point of a centreline nearest a target that keeps clear
 *	  of every address by more than crimesnap.min_property_distance.
 *
 * A step of crimesnap.build_snap_points(): a street's or segment's candidate point is moved
 * along its centreline until no property lies within the distance.  Per edge, the stretch
 * within the distance of each address is an interval of arc length; the allowed stretches
 * are what the sorted intervals leave, and the point nearest the target on them wins.
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

PG_FUNCTION_INFO_V1(crimesnap_clear_point);

/*
 * A point is kept this much further from every address than min_property_distance asks, so
 * that rounding on the way through EWKB and PostGIS's own distance code never brings it back
 * to exactly the limit, where the audit (ST_DWithin, which includes the limit) would flag it.
 */
#define CLEARANCE_MARGIN 0.01

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

			CHECK_FOR_INTERRUPTS();
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
