/*
 * snapindex.c
 *	  Snapping crimes to snap points: the SQL functions over the snap index.
 *
 * The index itself (snapkdtree.c, snapboundary.c) and its per-backend cache
 * (snapcache.c) are described in their own files.
 *
 * The rules are those of docs/snapping.md: the nearest point (by ST_Distance's own
 * arithmetic) inside the crime's own neighbourhood, ties to the lowest point id, none
 * beyond crimesnap.max_snap_distance.  A crime's neighbourhood, when not given, is the
 * lowest id (in byte order) of the neighbourhoods whose boundary intersects it, decided
 * with the same winding-number arithmetic PostGIS's ST_Intersects uses for a point.
 *
 * No raw crime coordinate is ever written into a message: errors name the crime's id.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "snapindex.h"

PG_FUNCTION_INFO_V1(crimesnap_snap);
PG_FUNCTION_INFO_V1(crimesnap_snap_many);
PG_FUNCTION_INFO_V1(crimesnap_snap_detail);
PG_FUNCTION_INFO_V1(crimesnap_neighbourhood_at);
PG_FUNCTION_INFO_V1(crimesnap_check_crime_location);

/* Why a crime cannot be snapped; each has its own message. */
typedef enum LocProblem
{
	LOC_OK = 0,
	LOC_SRID,
	LOC_NOT_POINT,
	LOC_EMPTY,
	LOC_NONFINITE,
	LOC_OUTSIDE,
	LOC_UNKNOWN_NB
} LocProblem;

/* Per call site state of the SQL functions, in fn_extra. */
typedef struct SnapCallState
{
	CsGeomIO	io;
	bool		io_ready;
} SnapCallState;

/*
 * The nearest point of neighbourhood part within crimesnap.max_snap_distance, ties to
 * the lowest id: its index in idx->pts, or -1.
 */
static int
part_nearest(const SnapIndex *idx, int part, CsPoint pt, double *dist)
{
	const NbPart *p = &idx->parts[part];
	int			found = cs_kd_nearest(idx->pts + p->first, idx->nodes + p->nodebase, p->count,
									  pt.x, pt.y, crimesnap_max_snap_distance, dist);

	return found < 0 ? -1 : p->first + found;
}

/* ---------------------------------------------------------------------------
 * Crime locations
 * ---------------------------------------------------------------------------
 */

static LocProblem
check_location(CsGeomIO *io, Datum geom, CsPoint *pt, int32 *srid, int *type)
{
	bool		empty;

	*type = cs_point_decode(io, geom, pt, srid, &empty);
	if (*srid != CRIMESNAP_SRID)
		return LOC_SRID;
	if (*type != CS_WKB_POINT)
		return LOC_NOT_POINT;
	if (empty)
		return LOC_EMPTY;
	if (!isfinite(pt->x) || !isfinite(pt->y))
		return LOC_NONFINITE;
	return LOC_OK;
}

/* The reason text of a problem; never contains a coordinate. */
static char *
problem_text(LocProblem problem, int32 srid, int type, const char *nb)
{
	switch (problem)
	{
		case LOC_SRID:
			return psprintf("crime location has SRID %d, not %d", srid, CRIMESNAP_SRID);
		case LOC_NOT_POINT:
			return psprintf("crime location is a %s, not a point", cs_wkb_type_name(type));
		case LOC_EMPTY:
			return pstrdup("crime location is an empty point");
		case LOC_NONFINITE:
			return pstrdup("crime location has a NaN or infinite coordinate");
		case LOC_OUTSIDE:
			return pstrdup("crime location is outside every neighbourhood");
		case LOC_UNKNOWN_NB:
			return psprintf("neighbourhood \"%s\" does not exist", nb);
		case LOC_OK:
			break;
	}
	return NULL;
}

static const char *
problem_hint(LocProblem problem)
{
	switch (problem)
	{
		case LOC_SRID:
			return "Transform it first: ST_Transform(geom, 27700).";
		case LOC_NOT_POINT:
			return "Pass one point per crime.";
		case LOC_EMPTY:
		case LOC_NONFINITE:
			return "A crime without a location is published as such: pass NULL, not an empty, NaN or infinite point.";
		case LOC_OUTSIDE:
			return "Check that the coordinates are British National Grid eastings and northings inside a loaded force's area, or pass the crime's neighbourhood.";
		case LOC_UNKNOWN_NB:
			return "See crimesnap.neighbourhood for the loaded neighbourhoods.";
		case LOC_OK:
			break;
	}
	return NULL;
}

static void
report_problem(LocProblem problem, int32 srid, int type, const char *nb,
			   bool has_id, int64 id, int element)
{
	char	   *msg = problem_text(problem, srid, type, nb);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", msg),
			 has_id ? errdetail("Crime %lld, element %d of the batch.", (long long) id, element) :
			 (element > 0 ? errdetail("Element %d of the batch.", element) : 0),
			 errhint("%s", problem_hint(problem))));
}

static void
require_current_set(const SnapIndex *idx)
{
	if (!idx->has_current)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("there is no current snap point set"),
				 errhint("Build one with crimesnap.build_snap_points().")));
}

static SnapCallState *
call_state(FunctionCallInfo fcinfo, int geom_arg)
{
	SnapCallState *st = (SnapCallState *) fcinfo->flinfo->fn_extra;

	if (st == NULL)
	{
		st = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(SnapCallState));
		fcinfo->flinfo->fn_extra = st;
	}
	if (!st->io_ready)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, geom_arg);

		/* an array argument: its element type is geometry */
		if (OidIsValid(t) && OidIsValid(get_element_type(t)))
			t = get_element_type(t);
		cs_geomio_init(&st->io, t, fcinfo->flinfo->fn_mcxt);
		st->io_ready = true;
	}
	return st;
}

/* ---------------------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------------------
 */

/* snap(geom geometry, neighbourhood text DEFAULT NULL) RETURNS bigint */
Datum
crimesnap_snap(PG_FUNCTION_ARGS)
{
	SnapCallState *st;
	SnapIndex  *idx;
	CsPoint		pt;
	int32		srid;
	int			type;
	LocProblem	problem;
	int			part;
	int			found;
	double		dist;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = call_state(fcinfo, 0);
	problem = check_location(&st->io, PG_GETARG_DATUM(0), &pt, &srid, &type);
	if (problem != LOC_OK)
		report_problem(problem, srid, type, NULL, false, 0, 0);

	idx = snapindex_get(PG_ARGISNULL(1));
	require_current_set(idx);
	if (PG_ARGISNULL(1))
	{
		part = snapindex_locate(idx, pt.x, pt.y);
		if (part < 0)
			report_problem(LOC_OUTSIDE, srid, type, NULL, false, 0, 0);
	}
	else
	{
		text	   *nb = PG_GETARG_TEXT_PP(1);

		part = snapindex_find_part(idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
		if (part < 0)
			report_problem(LOC_UNKNOWN_NB, srid, type, text_to_cstring(nb), false, 0, 0);
	}
	found = part_nearest(idx, part, pt, &dist);
	if (found < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(idx->pts[found].id);
}


/* The input of a set-based call: parallel arrays, one element per crime. */
typedef struct SnapBatch
{
	bool		detail;
	bool		reject_bad;
	int			n;
	Datum	   *ids;
	bool	   *idnulls;
	Datum	   *geoms;
	bool	   *geomnulls;
	Datum	   *nbs;			/* NULL when no neighbourhoods were given */
	bool	   *nbnulls;
	SnapIndex  *idx;			/* built at the first crime with a good location */
	bool		need_polygons;
	char	   *beyond;
} SnapBatch;

/* The outcome for one crime. */
typedef struct SnapRow
{
	int			part;
	int			found;			/* index into idx->pts, or -1 */
	double		dist;
	const char *outcome;
	const char *reason;
	char	   *nbname;
} SnapRow;

/* Read the arrays of snap_many() or snap_detail(); an error when their lengths differ. */
static void
batch_arguments(FunctionCallInfo fcinfo, SnapBatch *b)
{
	int			nids = 0;
	int			ngeoms = 0;
	int			nnbs = -1;

	if (!PG_ARGISNULL(0))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &b->ids, &b->idnulls, &nids);
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
		int16		typlen;
		bool		typbyval;
		char		typalign;

		get_typlenbyvalalign(ARR_ELEMTYPE(a), &typlen, &typbyval, &typalign);
		deconstruct_array(a, ARR_ELEMTYPE(a), typlen, typbyval, typalign,
						  &b->geoms, &b->geomnulls, &ngeoms);
	}
	if (!PG_ARGISNULL(2))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
						  &b->nbs, &b->nbnulls, &nnbs);
	if (nids != ngeoms || (nnbs >= 0 && nnbs != nids))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("snapping needs arrays of one length"),
				 errdetail("%d ids, %d geometries, %d neighbourhoods.", nids, ngeoms, Max(nnbs, 0)),
				 errhint("Pass one id, one location and (optionally) one neighbourhood per crime.")));
	b->n = nids;
	for (int i = 0; i < b->n; i++)
		if (!b->geomnulls[i] && (b->nbs == NULL || b->nbnulls[i]))
			b->need_polygons = true;
}

/*
 * Snap crime i of the batch into *row, in the current memory context (reset per row); the
 * index is built on the first good location, in ctx (the call's context).  A bad location
 * raises its error, or with reject_bad comes back as a "rejected" outcome.
 */
static void
snap_batch_row(SnapBatch *b, SnapCallState *st, int i, MemoryContext ctx, SnapRow *row)
{
	CsPoint		pt;
	int32		srid = 0;
	int			type = 0;
	LocProblem	problem;

	memset(row, 0, sizeof(*row));
	row->part = row->found = -1;
	if (b->geomnulls[i])
	{
		row->outcome = "not mapped";
		row->reason = "no location supplied";
		if (b->nbs != NULL && !b->nbnulls[i])
			row->nbname = TextDatumGetCString(b->nbs[i]);
		return;
	}
	problem = check_location(&st->io, b->geoms[i], &pt, &srid, &type);
	if (problem == LOC_OK)
	{
		if (b->idx == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(ctx);

			b->idx = snapindex_get(b->need_polygons);
			require_current_set(b->idx);
			MemoryContextSwitchTo(old);
		}
		if (b->nbs == NULL || b->nbnulls[i])
		{
			row->part = snapindex_locate(b->idx, pt.x, pt.y);
			if (row->part < 0)
				problem = LOC_OUTSIDE;
		}
		else
		{
			text	   *nb = DatumGetTextPP(b->nbs[i]);

			row->part = snapindex_find_part(b->idx, VARDATA_ANY(nb), VARSIZE_ANY_EXHDR(nb));
			if (row->part < 0)
			{
				problem = LOC_UNKNOWN_NB;
				row->nbname = text_to_cstring(nb);
			}
		}
	}
	if (problem != LOC_OK)
	{
		if (!b->reject_bad)
			report_problem(problem, srid, type, row->nbname, !b->idnulls[i],
						   b->idnulls[i] ? 0 : DatumGetInt64(b->ids[i]), i + 1);
		row->outcome = "rejected";
		row->reason = problem_text(problem, srid, type, row->nbname);
		return;
	}
	row->found = part_nearest(b->idx, row->part, pt, &row->dist);
	row->nbname = b->idx->parts[row->part].id;
	if (row->found >= 0)
		row->outcome = "mapped";
	else
	{
		row->outcome = "not mapped";
		row->reason = b->idx->parts[row->part].count == 0 ?
			"no snap point in its neighbourhood" : b->beyond;
	}
}

/* The output row of crime i: (id, point_id, distance), or with detail six columns. */
static void
snap_batch_emit(ReturnSetInfo *rsinfo, const SnapBatch *b, int i, const SnapRow *row)
{
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	int			c = 2;

	values[0] = b->ids[i];
	nulls[0] = b->idnulls[i];
	values[1] = row->found >= 0 ? Int64GetDatum(b->idx->pts[row->found].id) : (Datum) 0;
	nulls[1] = row->found < 0;
	if (b->detail)
	{
		values[c] = row->nbname != NULL ? CStringGetTextDatum(row->nbname) : (Datum) 0;
		nulls[c++] = row->nbname == NULL;
	}
	values[c] = row->found >= 0 ? Float8GetDatum(row->dist) : (Datum) 0;
	nulls[c++] = row->found < 0;
	if (b->detail)
	{
		values[c++] = CStringGetTextDatum(row->outcome);
		values[c] = row->reason != NULL ? CStringGetTextDatum(row->reason) : (Datum) 0;
		nulls[c] = row->reason == NULL;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * The set-based forms.  snap_many returns (id, point_id, distance); snap_detail adds
 * the neighbourhood, an outcome and a reason, and with reject_bad = true reports a bad
 * location as a 'rejected' row instead of failing the whole batch.
 */
static Datum
snap_batch(FunctionCallInfo fcinfo, bool detail)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SnapCallState *st;
	SnapBatch	b;
	MemoryContext ctx = CurrentMemoryContext;
	MemoryContext rowcxt;

	InitMaterializedSRF(fcinfo, 0);
	st = call_state(fcinfo, 1);
	memset(&b, 0, sizeof(b));
	b.detail = detail;
	b.reject_bad = detail && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	batch_arguments(fcinfo, &b);
	if (b.n == 0)
		return (Datum) 0;
	b.beyond = psprintf("no snap point within %g m in its neighbourhood", crimesnap_max_snap_distance);

	rowcxt = AllocSetContextCreate(ctx, "crimesnap snap row", ALLOCSET_SMALL_SIZES);
	for (int i = 0; i < b.n; i++)
	{
		SnapRow		row;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(rowcxt);
		snap_batch_row(&b, st, i, ctx, &row);
		snap_batch_emit(rsinfo, &b, i, &row);
		MemoryContextSwitchTo(ctx);
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	return (Datum) 0;
}

Datum
crimesnap_snap_many(PG_FUNCTION_ARGS)
{
	return snap_batch(fcinfo, false);
}

Datum
crimesnap_snap_detail(PG_FUNCTION_ARGS)
{
	return snap_batch(fcinfo, true);
}

/* The crime location in argument 0, or a clear error saying what is wrong with it. */
static CsPoint
checked_location(FunctionCallInfo fcinfo)
{
	SnapCallState *st = call_state(fcinfo, 0);
	CsPoint		pt;
	int32		srid;
	int			type;
	LocProblem	problem;

	problem = check_location(&st->io, PG_GETARG_DATUM(0), &pt, &srid, &type);
	if (problem != LOC_OK)
		report_problem(problem, srid, type, NULL, false, 0, 0);
	return pt;
}

/* neighbourhood_at(geom geometry) RETURNS text */
Datum
crimesnap_neighbourhood_at(PG_FUNCTION_ARGS)
{
	CsPoint		pt = checked_location(fcinfo);
	SnapIndex  *idx;
	int			part;

	idx = snapindex_get(true);
	part = snapindex_locate(idx, pt.x, pt.y);
	if (part < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(idx->parts[part].id, idx->parts[part].idlen));
}

/* check_crime_location(geom geometry) RETURNS void */
Datum
crimesnap_check_crime_location(PG_FUNCTION_ARGS)
{
	(void) checked_location(fcinfo);
	PG_RETURN_VOID();
}
