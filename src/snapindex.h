/*
 * snapindex.h
 *	  The per-backend snap index, shared by its four files:
 *
 *	  snapkdtree.c   a static KD-tree per neighbourhood over its snap points
 *	  snapboundary.c neighbourhood boundaries: loading, band index, point in polygon
 *	  snapcache.c    the per-backend cache: building, validating, invalidating
 *	  snapindex.c    the SQL functions: snap(), snap_many(), snap_detail(), locations
 */
#ifndef SNAPINDEX_H
#define SNAPINDEX_H

#include "access/transam.h"
#include "utils/memutils.h"

#include "crimesnap.h"

/* The relations the index is built from, in this order. */
#define REL_SNAP_POINT		0
#define REL_SNAP_POINT_SET	1
#define REL_NEIGHBOURHOOD	2
#define REL_GENERATION		3
#define NRELS				4

typedef struct SnapPt
{
	double		x;
	double		y;
	int64		id;
} SnapPt;

/* One edge of a neighbourhood boundary, as listed in a horizontal band. */
typedef struct BandEdge
{
	int32		v;				/* index of its first vertex in NbPart.verts */
	int32		ring;			/* ring it belongs to, within the part */
} BandEdge;

/* One neighbourhood: its points' KD-tree and, once loaded, its boundary. */
typedef struct NbPart
{
	char	   *id;
	int			idlen;
	int			first;			/* first point in SnapIndex.pts */
	int			count;
	int			nodebase;		/* its heap-ordered nodes start at SnapIndex.nodes[nodebase] */

	/* boundary, loaded lazily; has_poly false when the neighbourhood has none */
	bool		has_poly;
	CsBox		bbox;
	int			nrings;
	int			npolys;
	int		   *ringstart;		/* nrings + 1 offsets into verts */
	int		   *polystart;		/* npolys + 1 offsets into rings */
	CsPoint    *verts;
	int			nbands;
	double		band_y0;
	double		band_h;
	int		   *bandstart;		/* nbands + 1 offsets into bandedges */
	BandEdge   *bandedges;
} NbPart;

/* What a snapshot sees, compared to reuse a validation of the index. */
typedef struct SnapFingerprint
{
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	bool		suboverflowed;
	CommandId	curcid;
	Oid			userid;
} SnapFingerprint;

typedef struct SnapIndex
{
	MemoryContext cxt;			/* "crimesnap snap index": everything below */
	MemoryContext polycxt;		/* "crimesnap neighbourhood boundaries", child of cxt */
	Oid			dbid;
	Oid			relids[NRELS];
	int64		generation;
	bool		valid;			/* cleared by the relcache callback */
	bool		has_current;
	int32		version;

	int			npoints;
	SnapPt	   *pts;
	int			nnodes;
	CsBox	   *nodes;
	int			nparts;
	NbPart	   *parts;			/* sorted by id in byte order */

	bool		polys_loaded;
	int64		nverts;
	CsGrid		nbgrid;			/* over the boundaries' boxes; items are parts, in order */
	int			maxrings;
	int32	   *ring_wn;		/* scratch for the point-in-polygon test */
	bool	   *ring_onb;
	uint32	   *ring_stamp;
	uint32		stamp;

	double		build_ms;
	double		poly_build_ms;

	bool		validated;
	SnapFingerprint fp;
} SnapIndex;

/* ---- snapkdtree.c ---- */
extern int	cs_kd_slots(int n);
extern void cs_kd_build(SnapPt *pts, CsBox *nodes, int n);
extern int	cs_kd_nearest(const SnapPt *pts, const CsBox *nodes, int n, double qx, double qy,
						  double maxdist, double *dist);

/* ---- snapboundary.c ---- */
extern void snapindex_load_polygons(SnapIndex *idx);
extern int	snapindex_locate(SnapIndex *idx, double px, double py);

/* ---- snapcache.c ---- */
extern SnapIndex *snapindex_get(bool need_polygons);
extern void snapindex_drop(void);
extern int	snapindex_find_part(const SnapIndex *idx, const char *id, int len);
extern int	cs_cmp_id(const char *a, int alen, const char *b, int blen);
extern void *cs_alloc_huge(MemoryContext cxt, Size size);

#endif							/* SNAPINDEX_H */
