/*
 * crimesnap.h
 *	  Declarations shared by crimesnap's subsystems.
 *
 * One C file per subsystem (docs/architecture.md lists them, one line each):
 *	  crimesnap.c     GUCs and _PG_init
 *	  geomio.c        crossing into PostGIS through the geometry type's binary I/O (EWKB)
 *	  spatialgrid.c   uniform grids for nearest-neighbour searches, PostGIS-exact distances
 *	  associate.c     address-to-street association
 *	  snappoint.c     the snapping aggregate that places a street's snap point
 *	  snapsegments.c  street segments between junctions, for dense mode
 *	  snapclear.c     clearing a point of properties
 *	  snapselect.c    choosing the points: catchments of k or more
 *	  snapkdtree.c, snapboundary.c, snapcache.c, snapindex.c
 *	                  the cached spatial index over snap points, and snap() (snapindex.h)
 *	  sanitise.c      street-name normalisation
 *	  screen.c        context screening: personal data in a force's free text
 *	  persistid.c     keyed HMAC-SHA256 for persistent ids
 *	  postcode.c      nearest-site search for postcode-centroid depersonalisation
 */
#ifndef CRIMESNAP_H
#define CRIMESNAP_H

#include "postgres.h"

#include <math.h>
#include "fmgr.h"

/* GUCs, defined in crimesnap.c */
extern int	crimesnap_min_addresses;
extern double crimesnap_min_property_distance;
extern double crimesnap_max_snap_distance;
extern int	crimesnap_min_age_days;
extern int	crimesnap_street_level_months;
extern int	crimesnap_min_postcode_households;
extern bool crimesnap_allow_drop_with_data;
extern int	crimesnap_progress_rows;

/* The coordinate reference system every stored geometry uses: British National Grid. */
#define CRIMESNAP_SRID 27700

/* ---- geomio.c ---- */

typedef struct CsPoint
{
	double		x;
	double		y;
} CsPoint;

/* Geometry kinds crimesnap reads; values are the OGC WKB type codes. */
#define CS_WKB_POINT			1
#define CS_WKB_LINESTRING		2
#define CS_WKB_POLYGON			3
#define CS_WKB_MULTIPOINT		4
#define CS_WKB_MULTILINESTRING	5
#define CS_WKB_MULTIPOLYGON		6

/*
 * A decoded point, multipoint, linestring or multilinestring: its vertices in one
 * array, split into parts (one part per point or per line).  Only X and Y are kept.
 * A polygon or multipolygon decodes to one part per ring, and polystart groups the
 * rings into polygons (the first ring of each polygon is its shell); polystart is
 * NULL for every other type.
 */
typedef struct CsGeom
{
	int			type;			/* CS_WKB_* of the outer geometry */
	int32		srid;			/* 0 when the EWKB carries none */
	int			nparts;
	int			npoints;
	int		   *partstart;		/* nparts + 1 offsets into points */
	CsPoint    *points;
	int			npolys;			/* polygons, for (multi)polygons only */
	int		   *polystart;		/* npolys + 1 offsets into the parts, or NULL */
} CsGeom;

/* Cached lookups to call PostGIS's own send/receive functions for geometry. */
typedef struct CsGeomIO
{
	Oid			ioparam;
	FmgrInfo	send;
	FmgrInfo	recv;
} CsGeomIO;

/*
 * The largest coordinate (in absolute value) crimesnap computes with.  British National
 * Grid needs under 1.3e6 and Web Mercator 2.1e7; anything beyond 1e9 is a unit or SRID
 * error, and 1e300 would overflow every squared distance.
 */
#define CS_MAX_COORD 1.0e9

static inline bool
cs_coord_ok(double x, double y)
{
	return fabs(x) <= CS_MAX_COORD && fabs(y) <= CS_MAX_COORD;	/* false for NaN */
}

extern const char *cs_wkb_type_name(int type);
extern void cs_geomio_init(CsGeomIO *io, Oid geometry_typid, MemoryContext mcxt);
extern void cs_geom_decode(CsGeomIO *io, Datum geometry, CsGeom *out);
extern void cs_geom_decode_polygonal(CsGeomIO *io, Datum geometry, CsGeom *out);
extern int	cs_point_decode(CsGeomIO *io, Datum geometry, CsPoint *pt, int32 *srid,
							bool *empty);
extern Datum cs_point_datum(CsGeomIO *io, double x, double y, int32 srid);
extern Datum cs_line_datum(CsGeomIO *io, const CsPoint *pts, int n, int32 srid);

/* A geometry[] argument decoded element by element; a NULL element has npoints 0. */
typedef struct CsGeomArray
{
	int			n;
	CsGeom	   *geoms;
	bool	   *nulls;
	Oid			elemtype;		/* the geometry type, to build results with */
} CsGeomArray;

extern void cs_geom_array_decode(Datum array, CsGeomArray *out, MemoryContext mcxt);
extern void cs_geom_datums_decode(const Datum *elems, bool *nulls, int n, Oid elemtype,
								  CsGeomArray *out, MemoryContext mcxt);
extern void cs_row_array_decode(Datum array, const char *argname, int natts, const Oid *expect,
								int *n, Datum **columns, bool **colnulls, Oid *types);
extern char **cs_text_datums(const Datum *d, const bool *nulls, int n);
extern int64 *cs_int8_datums(const Datum *d, const bool *nulls, int n, const char *what);
extern int	cs_geom_array_srid(const CsGeomArray *a, const char *argname);
extern void cs_geom_arrays_same_srid(const CsGeomArray *a, const char *aname,
									 const CsGeomArray *b, const char *bname);
extern void cs_require_args(FunctionCallInfo fcinfo, int n, const char *fname, const char *hint);
extern char **cs_text_array_decode(Datum array, int *n);
extern char **cs_intern_strings(char **a, int na, char **b, int nb, int *ndistinct);
extern int	cs_intern_lookup(char **interned, int n, const char *s);
extern int64 *cs_int8_array_decode(Datum array, int *n, const char *argname);

/* ---- spatialgrid.c ---- */

typedef struct CsBox
{
	double		xmin;
	double		ymin;
	double		xmax;
	double		ymax;
} CsBox;

/* Items (indices into a caller's arrays) by cell, in compressed rows. */
typedef struct CsGrid
{
	double		x0;
	double		y0;
	double		cell;
	int			nx;
	int			ny;
	int		   *cellstart;		/* nx * ny + 1 offsets into items */
	int		   *items;
} CsGrid;

/*
 * The distance ST_Distance computes between two points, to the last bit: the difference
 * of each coordinate, squared, summed, square root, in that order.  Ties are decided on
 * this value everywhere (snapping, catchments, association), so that crimesnap agrees
 * exactly with "ORDER BY ST_Distance(...), id".  The Makefile compiles with
 * -ffp-contract=off so that no fused multiply-add changes it.
 */
static inline double
cs_dist_xy(double ax, double ay, double bx, double by)
{
	double		h = bx - ax;
	double		v = by - ay;

	return sqrt(h * h + v * v);
}

static inline double
cs_dist_pt_pt(CsPoint a, CsPoint b)
{
	return cs_dist_xy(a.x, a.y, b.x, b.y);
}

/*
 * The cell of a regular grid (origin, cell size, n cells) that holds v, clamped to the
 * grid; NaN goes to cell 0.
 */
static inline int
cs_cell_index(double v, double origin, double size, int n)
{
	double		f = floor((v - origin) / size);

	if (!(f >= 0))
		return 0;
	if (f >= n - 1)
		return n - 1;
	return (int) f;
}

extern double cs_dist_pt_seg(CsPoint p, CsPoint a, CsPoint b);
extern void cs_group_by_key(const int *key, int n, int nkeys, int *start, int *order);
extern void cs_grid_build(CsGrid *g, const CsBox *boxes, const int *ids, int n, double min_cell);
extern void cs_grid_locate(const CsGrid *g, double x, double y, int *cx, int *cy);
extern double cs_grid_ring_bound(const CsGrid *g, double x, double y, int cx, int cy, int r);
extern int	cs_grid_ring_cells(const CsGrid *g, int cx, int cy, int r, int *out);
extern int	cs_grid_max_ring(const CsGrid *g);


/* ---- sanitise.c ---- */
extern char *cs_normalise_street_name(const char *name, int len);

/* ---- screen.c ---- */
extern const char *cs_screen_context(const char *text, int len);

#endif							/* CRIMESNAP_H */
