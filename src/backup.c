/*
 * backup.c
 *	  Keeping a force's data through pg_dump, restore and DROP EXTENSION.
 *
 * Two triggers (SQL surface: sql/install/95-backup.sql; docs/backups.md):
 *
 * - crimesnap.seed_guard(), a row trigger on each configuration table that crimesnap's
 *   scripts seed.  A row written while crimesnap's own install or upgrade script runs is
 *   marked seeded; every other row is not.  pg_dump keeps only rows that are not seeded
 *   (the pg_extension_config_dump filter), because CREATE EXTENSION writes the seeded ones
 *   again on restore, so the two never collide.  Outside the scripts a seeded row can be
 *   neither changed nor deleted: a restore would bring back the script's version, and the
 *   change would be lost without a word.
 *
 * - crimesnap.drop_guard(), an event trigger at ddl_command_start.  DROP EXTENSION crimesnap
 *   (or a DROP ... CASCADE that would take it: of an extension it requires, or of a schema
 *   it or such an extension lives in) is refused while crimesnap's tables hold data that
 *   pg_dump would keep, unless crimesnap.allow_drop_with_data is on.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_seed_guard);
PG_FUNCTION_INFO_V1(crimesnap_drop_guard);

/* Whether crimesnap's own install or upgrade script is running now. */
static bool
in_crimesnap_script(void)
{
	return creating_extension &&
		CurrentExtensionObject == get_extension_oid("crimesnap", true);
}

static bool
tuple_seeded(HeapTuple tuple, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * seed_guard(): BEFORE INSERT OR UPDATE OR DELETE, FOR EACH ROW, on a table with a boolean
 * column "seeded".
 */
Datum
crimesnap_seed_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			attnum;
	bool		script;
	const char *table;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trig->tg_event) || !TRIGGER_FIRED_FOR_ROW(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crimesnap.seed_guard() must be called as a BEFORE ... FOR EACH ROW trigger")));

	desc = RelationGetDescr(trig->tg_relation);
	attnum = SPI_fnumber(desc, "seeded");
	if (attnum <= 0 || TupleDescAttr(desc, attnum - 1)->atttypid != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("table \"%s\" has no boolean column \"seeded\"",
						RelationGetRelationName(trig->tg_relation))));

	script = in_crimesnap_script();
	table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(trig->tg_relation)),
									   RelationGetRelationName(trig->tg_relation));

	if (!TRIGGER_FIRED_BY_INSERT(trig->tg_event) && !script &&
		tuple_seeded(trig->tg_trigtuple, desc, attnum))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s a row of %s that crimesnap's install script wrote",
						TRIGGER_FIRED_BY_DELETE(trig->tg_event) ? "delete" : "change", table),
				 errdetail("pg_dump leaves seeded rows out and CREATE EXTENSION writes them again on "
						   "restore, so the change would be lost."),
				 errhint("Add a row of your own instead (its seeded column is false), or ask for the "
						 "change in a crimesnap release.")));

	if (TRIGGER_FIRED_BY_DELETE(trig->tg_event))
		return PointerGetDatum(trig->tg_trigtuple);

	{
		HeapTuple	row = TRIGGER_FIRED_BY_INSERT(trig->tg_event) ? trig->tg_trigtuple : trig->tg_newtuple;
		bool		want = script;
		Datum		value;
		bool		isnull = false;

		/* An update inside the script keeps what the row was. */
		if (TRIGGER_FIRED_BY_UPDATE(trig->tg_event) && script)
			want = tuple_seeded(trig->tg_trigtuple, desc, attnum) || tuple_seeded(row, desc, attnum);
		value = BoolGetDatum(want);
		if (tuple_seeded(row, desc, attnum) == want)
			return PointerGetDatum(row);
		return PointerGetDatum(heap_modify_tuple_by_cols(row, desc, 1, &attnum, &value, &isnull));
	}
}

/*
 * Whether a DROP statement would drop the crimesnap extension: it names it, or it cascades
 * from an extension crimesnap requires, or from a schema that holds crimesnap or such an
 * extension.
 */
static bool
drop_reaches_crimesnap(DropStmt *stmt, Oid ext)
{
	ListCell   *lc;
	Datum	   *names;
	int			n = 0;
	Oid			argtypes[3] = {TEXTARRAYOID, OIDOID, TEXTOID};
	Datum		values[3];
	bool		isnull;
	bool		reaches;
	const char *kind;

	if (stmt->removeType == OBJECT_EXTENSION)
		kind = "extension";
	else if (stmt->removeType == OBJECT_SCHEMA && stmt->behavior == DROP_CASCADE)
		kind = "schema";
	else
		return false;

	names = palloc(sizeof(Datum) * Max(list_length(stmt->objects), 1));
	foreach(lc, stmt->objects)
	{
		Node	   *obj = (Node *) lfirst(lc);

		if (!IsA(obj, String))
			continue;
		if (stmt->removeType == OBJECT_EXTENSION && strcmp(strVal(obj), "crimesnap") == 0)
			return true;
		names[n++] = CStringGetTextDatum(strVal(obj));
	}
	if (n == 0 || stmt->behavior != DROP_CASCADE)
		return false;

	values[0] = PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = ObjectIdGetDatum(ext);
	values[2] = CStringGetTextDatum(kind);
	if (SPI_execute_with_args(
			"WITH req AS ("
			"  SELECT r.extname, r.extnamespace FROM pg_catalog.pg_depend d"
			"    JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid"
			"   WHERE d.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.objid = $2"
			"     AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass)"
			" SELECT CASE $3 WHEN 'extension' THEN"
			"   EXISTS (SELECT FROM req WHERE req.extname OPERATOR(pg_catalog.=) ANY ($1))"
			" ELSE EXISTS (SELECT FROM pg_catalog.pg_namespace n"
			"   WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1) AND ("
			"     n.oid = (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.oid = $2)"
			"     OR n.oid IN (SELECT req.extnamespace FROM req)"
			"     OR EXISTS (SELECT FROM pg_catalog.pg_depend d"
			"                 WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"
			"                   AND d.objid = n.oid AND d.refobjid = $2 AND d.deptype = 'e'))) END",
			3, argtypes, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "crimesnap.drop_guard: could not look up what the drop reaches");
	reaches = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return !isnull && reaches;
}

/*
 * drop_guard(): the event trigger.  The data check is crimesnap.dumped_rows(), the rows
 * pg_dump keeps, less the id key (a fresh install has one too).
 */
Datum
crimesnap_drop_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	Oid			ext;
	bool		reaches;
	char	   *summary = NULL;
	int64		total = 0;
	MemoryContext outer = CurrentMemoryContext;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crimesnap.drop_guard() must be called as an event trigger")));
	trig = (EventTriggerData *) fcinfo->context;
	if (crimesnap_allow_drop_with_data || trig->parsetree == NULL || !IsA(trig->parsetree, DropStmt))
		PG_RETURN_VOID();
	ext = get_extension_oid("crimesnap", true);
	if (!OidIsValid(ext))
		PG_RETURN_VOID();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "crimesnap.drop_guard: SPI_connect failed");
	reaches = drop_reaches_crimesnap((DropStmt *) trig->parsetree, ext);
	if (reaches)
	{
		bool		isnull;

		if (SPI_execute("SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s', d.table_name, d.rows),"
						"                             ', ' ORDER BY d.rows DESC, d.table_name::text),"
						"       pg_catalog.sum(d.rows)::bigint"
						"  FROM crimesnap.dumped_rows() d"
						" WHERE d.rows > 0 AND d.table_name <> 'crimesnap.secret'::pg_catalog.regclass",
						true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "crimesnap.drop_guard: could not count crimesnap's data");
		summary = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		if (isnull)
			total = 0;
		if (summary != NULL)
			summary = MemoryContextStrdup(outer, summary);
	}
	SPI_finish();

	if (reaches && total > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop extension crimesnap while its tables hold data"),
				 errdetail("Dropping it would delete " INT64_FORMAT " rows with it (by table: %s).",
						   total, summary),
				 errhint("Take a pg_dump of the database first (docs/backups.md), then "
						 "SET crimesnap.allow_drop_with_data = on and drop it again.")));
	PG_RETURN_VOID();
}
