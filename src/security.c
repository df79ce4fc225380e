/*
 * security.c
 *	  Who is calling: the role a force binding is checked against.
 *
 * Inside a SECURITY DEFINER function current_user (and current_role, its synonym) is the
 * function's owner, and session_user is the login, which SET ROLE does not change.  The
 * role that SET ROLE sets, and that a connection pool or a test switches to, is what
 * PostgreSQL calls the outer user: GetOuterUserId().  It is the current user outside every
 * SECURITY DEFINER function, and only SET ROLE and SET SESSION AUTHORIZATION change it,
 * each refusing a role the session user is not a member of, and neither allowed inside a
 * SECURITY DEFINER function.  crimesnap.acting_forces() and crimesnap.assert_acts_for()
 * check force bindings against it; see docs/security.md.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_calling_role);

/* calling_role() returns regrole: the current role as SET ROLE set it */
Datum
crimesnap_calling_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}
