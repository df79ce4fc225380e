/*
 * crimesnap.h
 *	  Declarations shared by crimesnap's subsystems.
 *
 * One C file per subsystem:
 *	  crimesnap.c   GUCs and _PG_init
 *	  geomio.c      crossing into PostGIS through the geometry type's binary I/O (EWKB)
 *	  snappoint.c   the snapping aggregate that places a street's snap point
 *	  snapindex.c   the cached spatial index over snap points, and snap()
 *	  sanitise.c    street-name normalisation
 *	  screen.c      context screening: personal data in a force's free text
 *	  persistid.c   keyed HMAC-SHA256 for persistent ids
 */
#ifndef CRIMESNAP_H
#define CRIMESNAP_H

#include "postgres.h"
#include "fmgr.h"

/* GUCs, defined in crimesnap.c */
extern int	crimesnap_min_addresses;
extern double crimesnap_min_property_distance;
extern double crimesnap_max_snap_distance;
extern int	crimesnap_min_age_days;
extern int	crimesnap_street_level_months;

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
	Oid			typid;
	Oid			ioparam;
	FmgrInfo	send;
	FmgrInfo	recv;
} CsGeomIO;

extern void cs_geomio_init(CsGeomIO *io, Oid geometry_typid, MemoryContext mcxt);
extern void cs_geom_decode(CsGeomIO *io, Datum geometry, CsGeom *out);
extern void cs_geom_decode_polygonal(CsGeomIO *io, Datum geometry, CsGeom *out);
extern int	cs_point_decode(CsGeomIO *io, Datum geometry, CsPoint *pt, int32 *srid,
							bool *empty);
extern Datum cs_point_datum(CsGeomIO *io, double x, double y, int32 srid);

/* ---- sanitise.c ---- */
extern char *cs_normalise_street_name(const char *name, int len);

/* ---- screen.c ---- */
extern const char *cs_screen_context(const char *text, int len);

#endif							/* CRIMESNAP_H */
