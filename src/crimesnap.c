/*
 * crimesnap.c
 *	  _PG_init and every GUC, in one place, under the reserved "crimesnap." prefix.
 *
 * The privacy rules are GUCs so that a DBA can read them with SHOW, but the ones that
 * weaken a safeguard when lowered are PGC_SUSET: only a superuser (in practice, the
 * force's data controller acting through the DBA) can change them, never a publisher
 * or a web role.
 */
#include "postgres.h"

#include <float.h>
#include <limits.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "crimesnap.h"

PG_MODULE_MAGIC;

int			crimesnap_min_addresses = 12;
double		crimesnap_min_property_distance = 10.0;
double		crimesnap_max_snap_distance = 20000.0;
int			crimesnap_min_age_days = 23;
int			crimesnap_street_level_months = 1;
int			crimesnap_min_postcode_households = 4;
bool		crimesnap_allow_drop_with_data = false;
int			crimesnap_progress_rows = 100000;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(crimesnap_setting);

void
_PG_init(void)
{
	DefineCustomIntVariable("crimesnap.min_addresses",
							"Minimum number of postal addresses a snap point must serve.",
							"The CrimeMapper steering group fixed 12 in November 2010. "
							"Public places and commercial premises serve none and are exempt.",
							&crimesnap_min_addresses,
							12, 1, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("crimesnap.min_property_distance",
							 "Minimum distance in metres between a snap point and any postal address.",
							 "A published point must lie on a street centre, never above an "
							 "individual property. An address point usually marks a building's "
							 "centroid or door, so 10 m keeps a point clear of the building "
							 "itself, not just of its centre (docs/snap-points.md).",
							 &crimesnap_min_property_distance,
							 10.0, 0.0, 1000.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("crimesnap.max_snap_distance",
							 "Distance in metres beyond which a crime is not mapped.",
							 "A crime further than this from every eligible snap point in its "
							 "neighbourhood is published without a location instead.",
							 &crimesnap_max_snap_distance,
							 20000.0, 0.0, DBL_MAX,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("crimesnap.min_age_days",
							"Days after the end of a month before it may be published.",
							"police.uk publishes a month no sooner than 23 days after it ends.",
							&crimesnap_min_age_days,
							23, 0, 366,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("crimesnap.street_level_months",
							"Number of most recent months a force keeps at street level.",
							"Older months leave the map and survive only as counts in the trend table.",
							&crimesnap_street_level_months,
							1, 1, 120,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("crimesnap.min_postcode_households",
							"Minimum number of households a postcode must hold before a record may be moved to its centroid.",
							"The CSP information-sharing guidance (Appendix 1) sets four: a record "
							"whose postcode holds fewer goes to the nearest postcode that holds enough.",
							&crimesnap_min_postcode_households,
							4, 1, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("crimesnap.allow_drop_with_data",
							 "Lets DROP EXTENSION crimesnap go ahead while its tables hold data.",
							 "Off by default: the drop is refused while any table holds a row that "
							 "pg_dump would keep. Take a dump first (docs/backups.md).",
							 &crimesnap_allow_drop_with_data,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("crimesnap.progress_rows",
							"Size of work from which build_snap_points() and register_batch() report each stage as a NOTICE.",
							"A build with at least this many address rows, or a batch with at least this many "
							"upload rows, reports each stage with its counts and the time elapsed. 0 reports "
							"always, -1 never; SET client_min_messages = warning silences it too.",
							&crimesnap_progress_rows,
							100000, -1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("crimesnap");
}

/*
 * setting(name) returns text: the current value of crimesnap.<name>.
 *
 * SQL code reads the thresholds through this function rather than current_setting():
 * calling it loads the library, and with it the GUC definitions, so a fresh session that
 * has not yet called any C function still sees the real value and not an error.
 */
Datum
crimesnap_setting(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *full = psprintf("crimesnap.%s", name);
	const char *value = GetConfigOption(full, true, false);

	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("unrecognized crimesnap setting \"%s\"", name),
				 errhint("The settings are min_addresses, min_property_distance, max_snap_distance, "
						 "min_age_days, street_level_months, min_postcode_households, allow_drop_with_data and progress_rows.")));
	PG_RETURN_TEXT_P(cstring_to_text(value));
}
