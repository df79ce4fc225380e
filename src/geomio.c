/*
 * geomio.c
 *	  Crossing into PostGIS without liblwgeom.
 *
 * PostGIS 3 no longer installs the liblwgeom headers, so crimesnap never looks inside a
 * geometry's in-memory form.  Instead it calls the geometry type's own binary send and
 * receive functions, which speak EWKB, and parses or writes the few EWKB shapes it needs
 * (points and lines) on plain doubles.  The FmgrInfo lookups are cached by the caller,
 * per call site, in fn_extra.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "port/pg_bswap.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "access/htup_details.h"
#include "utils/builtins.h"
#include "utils/typcache.h"
#include "utils/lsyscache.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "crimesnap.h"

#define EWKB_SRID_FLAG	0x20000000
#define EWKB_Z_FLAG		0x80000000
#define EWKB_M_FLAG		0x40000000

typedef struct WkbReader
{
	const uint8 *p;
	const uint8 *end;
	bool		swap;			/* the buffer's byte order differs from ours */
} WkbReader;

/* The name of a WKB geometry type, for messages. */
const char *
cs_wkb_type_name(int type)
{
	switch (type)
	{
		case CS_WKB_POINT:
			return "point";
		case CS_WKB_LINESTRING:
			return "linestring";
		case CS_WKB_POLYGON:
			return "polygon";
		case CS_WKB_MULTIPOINT:
			return "multipoint";
		case CS_WKB_MULTILINESTRING:
			return "multilinestring";
		case CS_WKB_MULTIPOLYGON:
			return "multipolygon";
		case 7:
			return "geometrycollection";
		case 8:
			return "circularstring";
		case 9:
			return "compoundcurve";
		case 10:
			return "curvepolygon";
		case 11:
			return "multicurve";
		case 12:
			return "multisurface";
		case 15:
			return "polyhedralsurface";
		case 16:
			return "tin";
		case 17:
			return "triangle";
		default:
			return "geometry of an unknown type";
	}
}

void
cs_geomio_init(CsGeomIO *io, Oid geometry_typid, MemoryContext mcxt)
{
	Oid			sendfn;
	Oid			recvfn;
	bool		isvarlena;

	if (!OidIsValid(geometry_typid))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not determine the geometry type of a crimesnap argument")));

	getTypeBinaryOutputInfo(geometry_typid, &sendfn, &isvarlena);
	getTypeBinaryInputInfo(geometry_typid, &recvfn, &io->ioparam);
	fmgr_info_cxt(sendfn, &io->send, mcxt);
	fmgr_info_cxt(recvfn, &io->recv, mcxt);
}

static void
wkb_need(WkbReader *r, size_t n)
{
	if ((size_t) (r->end - r->p) < n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("truncated EWKB from the geometry type's send function")));
}

static uint32
wkb_uint32(WkbReader *r)
{
	uint32		v;

	wkb_need(r, 4);
	memcpy(&v, r->p, 4);
	r->p += 4;
	return r->swap ? pg_bswap32(v) : v;
}

static double
wkb_double(WkbReader *r)
{
	uint64		bits;
	double		v;

	wkb_need(r, 8);
	memcpy(&bits, r->p, 8);
	r->p += 8;
	if (r->swap)
		bits = pg_bswap64(bits);
	memcpy(&v, &bits, 8);
	return v;
}

/*
 * Refuse a coordinate crimesnap cannot compute with: NaN, infinite, or so large that
 * squaring a difference overflows (the grids and distances work on plain doubles).
 */
static void
check_coord(double x, double y)
{
	if (!cs_coord_ok(x, y))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("geometry has a NaN, infinite or out-of-range coordinate"),
				 errhint("crimesnap accepts finite coordinates no further than %g from the origin; "
						 "check the geometry's source and SRID.", CS_MAX_COORD)));
}

/* Read a byte-order mark and a type word; returns the base type, sets ndims and srid. */
static int
wkb_header(WkbReader *r, int *ndims, int32 *srid)
{
	uint32		type;
	bool		little;

	wkb_need(r, 1);
	little = (*r->p == 1);
	r->p++;
#ifdef WORDS_BIGENDIAN
	r->swap = little;
#else
	r->swap = !little;
#endif
	type = wkb_uint32(r);
	*ndims = 2 + ((type & EWKB_Z_FLAG) ? 1 : 0) + ((type & EWKB_M_FLAG) ? 1 : 0);
	if (type & EWKB_SRID_FLAG)
		*srid = (int32) wkb_uint32(r);
	type &= 0x0fffffff;
	/* ISO WKB codes: 1001 (Z), 2001 (M), 3001 (ZM). */
	if (type >= 1000)
	{
		*ndims = 2 + (type / 1000 == 1 || type / 1000 == 3) + (type / 1000 >= 2);
		type %= 1000;
	}
	return (int) type;
}

static void
geom_add_point(CsGeom *g, int *cap, double x, double y)
{
	if (g->npoints >= *cap)
	{
		*cap *= 2;
		g->points = repalloc(g->points, sizeof(CsPoint) * *cap);
	}
	g->points[g->npoints].x = x;
	g->points[g->npoints].y = y;
	g->npoints++;
}

static void
geom_start_part(CsGeom *g, int *partcap)
{
	if (g->nparts + 1 >= *partcap)
	{
		*partcap *= 2;
		g->partstart = repalloc(g->partstart, sizeof(int) * *partcap);
	}
	g->partstart[g->nparts] = g->npoints;
	g->nparts++;
	g->partstart[g->nparts] = g->npoints;
}

/* Read ndims ordinates; keep X and Y.  POINT EMPTY is written as NaN, NaN. */
static void
wkb_read_coords(WkbReader *r, int ndims, CsGeom *g, int *cap, uint32 n)
{
	for (uint32 i = 0; i < n; i++)
	{
		double		x = wkb_double(r);
		double		y = wkb_double(r);

		for (int d = 2; d < ndims; d++)
			(void) wkb_double(r);
		if (isnan(x) && isnan(y) && n == 1)
			continue;
		check_coord(x, y);
		geom_add_point(g, cap, x, y);
	}
}

/*
 * Fetch a geometry's EWKB through the type's send function, point a reader at it and
 * start an empty CsGeom with room for cap points and partcap parts.  The caller pfrees
 * the returned EWKB when it is done reading.
 */
static bytea *
decode_begin(CsGeomIO *io, Datum geometry, WkbReader *r, CsGeom *g, int cap, int partcap)
{
	bytea	   *ewkb = SendFunctionCall(&io->send, geometry);

	r->p = (const uint8 *) VARDATA_ANY(ewkb);
	r->end = r->p + VARSIZE_ANY_EXHDR(ewkb);
	r->swap = false;

	memset(g, 0, sizeof(*g));
	g->points = palloc(sizeof(CsPoint) * cap);
	g->partstart = palloc(sizeof(int) * partcap);
	g->partstart[0] = 0;
	return ewkb;
}

/*
 * Decode a point, linestring, multipoint or multilinestring.  Anything else (a polygon, a
 * collection) is an error: crimesnap never needs to look inside one in C.
 */
void
cs_geom_decode(CsGeomIO *io, Datum geometry, CsGeom *g)
{
	WkbReader	r;
	int			ndims;
	int			type;
	int			cap = 16;
	int			partcap = 4;
	bytea	   *ewkb = decode_begin(io, geometry, &r, g, cap, partcap);

	type = wkb_header(&r, &ndims, &g->srid);
	g->type = type;

	switch (type)
	{
		case CS_WKB_POINT:
			geom_start_part(g, &partcap);
			wkb_read_coords(&r, ndims, g, &cap, 1);
			g->partstart[g->nparts] = g->npoints;
			if (g->npoints == 0)
				g->nparts = 0;
			break;
		case CS_WKB_LINESTRING:
			geom_start_part(g, &partcap);
			wkb_read_coords(&r, ndims, g, &cap, wkb_uint32(&r));
			g->partstart[g->nparts] = g->npoints;
			break;
		case CS_WKB_MULTIPOINT:
		case CS_WKB_MULTILINESTRING:
			{
				uint32		ngeoms = wkb_uint32(&r);

				for (uint32 i = 0; i < ngeoms; i++)
				{
					int			subdims;
					int32		subsrid = 0;
					int			subtype = wkb_header(&r, &subdims, &subsrid);

					if (subtype != type - 3)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
								 errmsg("unexpected %s in a multi-geometry", cs_wkb_type_name(subtype))));
					geom_start_part(g, &partcap);
					wkb_read_coords(&r, subdims, g, &cap,
									subtype == CS_WKB_POINT ? 1 : wkb_uint32(&r));
					g->partstart[g->nparts] = g->npoints;
					if (g->partstart[g->nparts - 1] == g->npoints)
						g->nparts--;	/* an empty member */
				}
				break;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("crimesnap does not accept a %s here", cs_wkb_type_name(type)),
					 errhint("Pass points for addresses and crimes, and lines for streets.")));
	}
	pfree(ewkb);
}

/*
 * Decode a polygon or multipolygon: one part per ring, grouped into polygons by
 * polystart.  Ring vertices are kept exactly as PostGIS stores them, closing vertex
 * included, so that a point-in-polygon test walks the same edges PostGIS walks.
 */
void
cs_geom_decode_polygonal(CsGeomIO *io, Datum geometry, CsGeom *g)
{
	WkbReader	r;
	int			ndims;
	int			type;
	int			cap = 64;
	int			partcap = 8;
	int			polycap = 4;
	uint32		npolys = 1;
	bytea	   *ewkb = decode_begin(io, geometry, &r, g, cap, partcap);
	g->polystart = palloc(sizeof(int) * polycap);
	g->polystart[0] = 0;

	type = wkb_header(&r, &ndims, &g->srid);
	g->type = type;
	if (type != CS_WKB_POLYGON && type != CS_WKB_MULTIPOLYGON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("crimesnap expected a polygon or multipolygon, not a %s", cs_wkb_type_name(type)),
				 errhint("Neighbourhood boundaries are stored as MultiPolygons in EPSG:27700.")));
	if (type == CS_WKB_MULTIPOLYGON)
		npolys = wkb_uint32(&r);

	for (uint32 i = 0; i < npolys; i++)
	{
		int			polydims = ndims;
		uint32		nrings;

		if (type == CS_WKB_MULTIPOLYGON)
		{
			int32		subsrid = 0;

			if (wkb_header(&r, &polydims, &subsrid) != CS_WKB_POLYGON)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("unexpected member type in a multipolygon")));
		}
		nrings = wkb_uint32(&r);
		if (nrings == 0)
			continue;			/* an empty polygon contains nothing */
		for (uint32 k = 0; k < nrings; k++)
		{
			uint32		npts = wkb_uint32(&r);

			geom_start_part(g, &partcap);
			for (uint32 j = 0; j < npts; j++)
			{
				double		x = wkb_double(&r);
				double		y = wkb_double(&r);

				for (int d = 2; d < polydims; d++)
					(void) wkb_double(&r);
				check_coord(x, y);
				geom_add_point(g, &cap, x, y);
			}
			g->partstart[g->nparts] = g->npoints;
		}
		if (g->npolys + 1 >= polycap)
		{
			polycap *= 2;
			g->polystart = repalloc(g->polystart, sizeof(int) * polycap);
		}
		g->npolys++;
		g->polystart[g->npolys] = g->nparts;
	}
	pfree(ewkb);
}

/*
 * Decode a crime location without building a CsGeom: the hot path of snapping reads
 * one point per row.  Returns the WKB type; *pt is set only for a non-empty point.
 */
int
cs_point_decode(CsGeomIO *io, Datum geometry, CsPoint *pt, int32 *srid, bool *empty)
{
	bytea	   *ewkb = SendFunctionCall(&io->send, geometry);
	WkbReader	r;
	int			ndims;
	int			type;

	r.p = (const uint8 *) VARDATA_ANY(ewkb);
	r.end = r.p + VARSIZE_ANY_EXHDR(ewkb);
	r.swap = false;
	*srid = 0;
	*empty = true;

	type = wkb_header(&r, &ndims, srid);
	if (type == CS_WKB_POINT)
	{
		double		x = wkb_double(&r);
		double		y = wkb_double(&r);

		/* PostGIS writes POINT EMPTY as NaN, NaN; a lone NaN is a bad coordinate. */
		*empty = isnan(x) && isnan(y);
		pt->x = x;
		pt->y = y;
	}
	else if (type == CS_WKB_MULTIPOINT || type == CS_WKB_LINESTRING ||
			 type == CS_WKB_POLYGON || type == CS_WKB_MULTILINESTRING ||
			 type == CS_WKB_MULTIPOLYGON)
	{
		/* Only whether it is empty matters to the caller: an error names the type. */
		*empty = (wkb_uint32(&r) == 0);
	}
	pfree(ewkb);
	return type;
}

/* Start native-endian EWKB for a geometry of the given type, with the SRID when set. */
static void
ewkb_begin(StringInfo buf, uint32 type, int32 srid)
{
	uint8		order;

	if (srid != 0)
		type |= EWKB_SRID_FLAG;
#ifdef WORDS_BIGENDIAN
	order = 0;
#else
	order = 1;
#endif
	initStringInfo(buf);
	appendBinaryStringInfo(buf, (char *) &order, 1);
	appendBinaryStringInfo(buf, (char *) &type, 4);
	if (srid != 0)
		appendBinaryStringInfo(buf, (char *) &srid, 4);
}

/* Build a point geometry with the given SRID through PostGIS's receive function. */
Datum
cs_point_datum(CsGeomIO *io, double x, double y, int32 srid)
{
	StringInfoData buf;

	ewkb_begin(&buf, CS_WKB_POINT, srid);
	appendBinaryStringInfo(&buf, (char *) &x, 8);
	appendBinaryStringInfo(&buf, (char *) &y, 8);
	return ReceiveFunctionCall(&io->recv, &buf, io->ioparam, -1);
}

/* Build a linestring with the given SRID through PostGIS's receive function. */
Datum
cs_line_datum(CsGeomIO *io, const CsPoint *pts, int n, int32 srid)
{
	StringInfoData buf;
	uint32		npts = (uint32) n;

	ewkb_begin(&buf, CS_WKB_LINESTRING, srid);
	appendBinaryStringInfo(&buf, (char *) &npts, 4);
	for (int i = 0; i < n; i++)
	{
		appendBinaryStringInfo(&buf, (char *) &pts[i].x, 8);
		appendBinaryStringInfo(&buf, (char *) &pts[i].y, 8);
	}
	return ReceiveFunctionCall(&io->recv, &buf, io->ioparam, -1);
}

/* Error context of cs_geom_array_decode(): which element was being read. */
static void
geom_array_error_context(void *arg)
{
	errcontext("element %d of a geometry array", *(int *) arg + 1);
}

/*
 * Decode a geometry[] into out, allocating in mcxt (see cs_geom_datums_decode).
 */
void
cs_geom_array_decode(Datum array, CsGeomArray *out, MemoryContext mcxt)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("geometry arrays must have one dimension, not %d", ARR_NDIM(arr)),
				 errhint("Pass a one-dimensional array, one element per row.")));
	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign, &elems, &nulls, &n);
	cs_geom_datums_decode(elems, nulls, n, ARR_ELEMTYPE(arr), out, mcxt);
	pfree(elems);
	MemoryContextSwitchTo(old);
}

/*
 * Decode n geometry Datums of type elemtype (NULL where nulls says so) into out, allocating
 * in mcxt; out->nulls is the nulls array itself.  Every element is decoded in a scratch
 * context (PostGIS's send function leaves garbage behind) and its coordinates appended to
 * two arrays shared by all elements, so that a large array costs its coordinates and a few
 * allocations, not several per element.
 */
void
cs_geom_datums_decode(const Datum *elems, bool *nulls, int n, Oid elemtype, CsGeomArray *out,
					  MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	CsGeomIO	io;
	MemoryContext scratch;
	CsPoint    *pts;
	int		   *parts;
	int			npts = 0;
	int			nparts = 0;
	int			ptscap;
	int			partscap;
	int		   *firstpt;
	int		   *firstpart;
	int			elem = 0;
	ErrorContextCallback errcb;

	out->elemtype = elemtype;
	out->n = n;
	out->nulls = nulls;
	cs_geomio_init(&io, out->elemtype, mcxt);
	out->geoms = palloc0(sizeof(CsGeom) * Max(out->n, 1));
	firstpt = palloc(sizeof(int) * Max(out->n, 1));
	firstpart = palloc(sizeof(int) * Max(out->n, 1));
	ptscap = Max(out->n, 16);
	partscap = Max(out->n * 2, 16);
	pts = palloc(sizeof(CsPoint) * ptscap);
	parts = palloc(sizeof(int) * partscap);

	scratch = AllocSetContextCreate(CurrentMemoryContext, "crimesnap geometry array element",
									ALLOCSET_SMALL_SIZES);
	errcb.callback = geom_array_error_context;
	errcb.arg = &elem;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (int i = 0; i < out->n; i++)
	{
		CsGeom		g;

		elem = i;
		CHECK_FOR_INTERRUPTS();
		firstpt[i] = npts;
		firstpart[i] = nparts;
		if (out->nulls[i])
			continue;
		MemoryContextSwitchTo(scratch);
		cs_geom_decode(&io, elems[i], &g);
		MemoryContextSwitchTo(mcxt);
		if (npts + g.npoints > ptscap)
		{
			while (npts + g.npoints > ptscap)
				ptscap *= 2;
			pts = repalloc_huge(pts, sizeof(CsPoint) * ptscap);
		}
		if (nparts + g.nparts + 1 > partscap)
		{
			while (nparts + g.nparts + 1 > partscap)
				partscap *= 2;
			parts = repalloc_huge(parts, sizeof(int) * partscap);
		}
		memcpy(pts + npts, g.points, sizeof(CsPoint) * g.npoints);
		/* Part offsets relative to the element's own first point, as CsGeom has them. */
		memcpy(parts + nparts, g.partstart, sizeof(int) * (g.nparts + 1));
		out->geoms[i] = g;
		npts += g.npoints;
		nparts += g.nparts + 1;
		MemoryContextReset(scratch);
	}
	error_context_stack = errcb.previous;
	MemoryContextDelete(scratch);

	/* Point every element into the shared arrays, now that they have stopped moving. */
	for (int i = 0; i < out->n; i++)
	{
		out->geoms[i].points = pts + firstpt[i];
		out->geoms[i].partstart = parts + firstpart[i];
	}
	pfree(firstpt);
	pfree(firstpart);
	MemoryContextSwitchTo(old);
}

/*
 * Decode an array of a composite type (one element per row) into its columns: columns[a]
 * and colnulls[a] hold attribute a + 1 of every row; a NULL row is NULL in every column.
 * expect gives each attribute's type (InvalidOid: not checked), so that a changed type is
 * an error rather than a misread; types receives the attributes' types.
 */
void
cs_row_array_decode(Datum array, const char *argname, int natts, const Oid *expect,
					int *n, Datum **columns, bool **colnulls, Oid *types)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Oid			rowtype = ARR_ELEMTYPE(arr);
	TupleDesc	desc;
	Datum	   *rows;
	bool	   *rownulls;
	Datum	   *values = palloc(sizeof(Datum) * natts);
	bool	   *isnull = palloc(sizeof(bool) * natts);

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must have one dimension, not %d", argname, ARR_NDIM(arr)),
				 errhint("Pass a one-dimensional array, one element per row.")));
	desc = lookup_rowtype_tupdesc_copy(rowtype, -1);
	if (desc->natts != natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s has rows of %d columns, not %d", argname, desc->natts, natts),
				 errhint("Reinstall crimesnap: its input types were changed.")));
	for (int a = 0; a < natts; a++)
		types[a] = TupleDescAttr(desc, a)->atttypid;
	for (int a = 0; a < natts; a++)
		if (OidIsValid(expect[a]) && TupleDescAttr(desc, a)->atttypid != expect[a])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of %s has type %s, not %s", a + 1, argname,
							format_type_be(TupleDescAttr(desc, a)->atttypid), format_type_be(expect[a])),
					 errhint("Reinstall crimesnap: its input types were changed.")));
	deconstruct_array(arr, rowtype, -1, false, TYPALIGN_DOUBLE, &rows, &rownulls, n);
	for (int a = 0; a < natts; a++)
	{
		columns[a] = palloc(sizeof(Datum) * Max(*n, 1));
		colnulls[a] = palloc(sizeof(bool) * Max(*n, 1));
	}
	for (int i = 0; i < *n; i++)
	{
		if (rownulls[i])
		{
			for (int a = 0; a < natts; a++)
			{
				columns[a][i] = (Datum) 0;
				colnulls[a][i] = true;
			}
			continue;
		}
		else
		{
			HeapTupleHeader th = DatumGetHeapTupleHeader(rows[i]);
			HeapTupleData tup;

			tup.t_len = HeapTupleHeaderGetDatumLength(th);
			ItemPointerSetInvalid(&tup.t_self);
			tup.t_tableOid = InvalidOid;
			tup.t_data = th;
			heap_deform_tuple(&tup, desc, values, isnull);
			for (int a = 0; a < natts; a++)
			{
				columns[a][i] = values[a];
				colnulls[a][i] = isnull[a];
			}
		}
	}
	pfree(values);
	pfree(isnull);
}

/* A text column as C strings, NULL for NULL. */
char	  **
cs_text_datums(const Datum *d, const bool *nulls, int n)
{
	char	  **out = palloc(sizeof(char *) * Max(n, 1));

	for (int i = 0; i < n; i++)
		out[i] = nulls[i] ? NULL : TextDatumGetCString(d[i]);
	return out;
}

/* A bigint column as int64s; a NULL is an error naming the column and the row. */
int64 *
cs_int8_datums(const Datum *d, const bool *nulls, int n, const char *what)
{
	int64	   *out = palloc(sizeof(int64) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s is NULL in row %d", what, i + 1),
					 errhint("Every row needs an id.")));
		out[i] = DatumGetInt64(d[i]);
	}
	return out;
}

/*
 * The one SRID of a decoded array's non-empty elements, or -1 when every element is NULL or
 * empty; an error when they differ.
 */
int
cs_geom_array_srid(const CsGeomArray *a, const char *argname)
{
	int			srid = -1;

	for (int i = 0; i < a->n; i++)
	{
		if (a->nulls[i] || a->geoms[i].npoints == 0)
			continue;
		if (srid == -1)
			srid = a->geoms[i].srid;
		else if (a->geoms[i].srid != srid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s holds geometries with SRIDs %d and %d", argname, srid, a->geoms[i].srid),
					 errhint("Transform every geometry to one SRID (crimesnap stores %d).",
							 CRIMESNAP_SRID)));
	}
	return srid;
}

/* An error when two decoded arrays' non-empty elements have different SRIDs. */
void
cs_geom_arrays_same_srid(const CsGeomArray *a, const char *aname, const CsGeomArray *b,
						 const char *bname)
{
	int			sa = cs_geom_array_srid(a, aname);
	int			sb = cs_geom_array_srid(b, bname);

	if (sa != -1 && sb != -1 && sa != sb)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s and %s have different SRIDs (%d and %d)", aname, bname, sa, sb),
				 errhint("Transform both to one SRID (crimesnap stores %d).", CRIMESNAP_SRID)));
}

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

/* A text[] as C strings, NULL for a NULL element; *n gets the length. */
char	  **
cs_text_array_decode(Datum array, int *n)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	return out;
}

/* A bigint[] as int64s; a NULL element is an error naming the argument. */
int64 *
cs_int8_array_decode(Datum array, int *n, const char *argname)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Datum	   *elems;
	bool	   *nulls;
	int64	   *out;

	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	out = palloc(sizeof(int64) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s has a NULL at position %d", argname, i + 1),
					 errhint("Every row needs an id.")));
		out[i] = DatumGetInt64(elems[i]);
	}
	return out;
}

/*
 * cs_require_args: the first n arguments of a C entry point must not be NULL.  Serves the
 * functions that take both 0.1.0's parallel arrays and 0.2.0's arrays of rows.
 */
void
cs_require_args(FunctionCallInfo fcinfo, int n, const char *fname, const char *hint)
{
	for (int i = 0; i < n; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s needs its first %d arguments; argument %d is NULL", fname, n, i + 1),
					 errhint("%s", hint)));
}
