/*
 * persistid.c
 *	  Keyed HMAC-SHA256 for persistent crime ids.
 *
 * police.uk gives each crime a 64-hex-character persistent id so that users can follow
 * it from month to month.  A plain hash of a force's short crime reference number could
 * be reversed by hashing every plausible reference, so crimesnap keys the hash with a
 * secret that only the extension's owner can read (crimesnap.secret).  These functions
 * are pure: the SQL wrapper crimesnap.persistent_id() fetches the key.
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "crimesnap.h"

PG_FUNCTION_INFO_V1(crimesnap_hmac_sha256_hex);
PG_FUNCTION_INFO_V1(crimesnap_random_key);

#define CRIMESNAP_KEY_BYTES 32

/* hmac_sha256_hex(key bytea, message text) returns text: 64 lower-case hex characters */
Datum
crimesnap_hmac_sha256_hex(PG_FUNCTION_ARGS)
{
	bytea	   *key = PG_GETARG_BYTEA_PP(0);
	text	   *msg = PG_GETARG_TEXT_PP(1);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	pg_hmac_ctx *ctx;

	if (VARSIZE_ANY_EXHDR(key) < 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("persistent id key is %d bytes long, fewer than 16",
						(int) VARSIZE_ANY_EXHDR(key)),
				 errhint("Generate a new key with crimesnap.rotate_persistent_id_key().")));

	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_hmac_init(ctx, (const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg)) < 0 ||
		pg_hmac_final(ctx, digest, sizeof(digest)) < 0)
	{
		const char *why = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute HMAC-SHA256: %s", why)));
	}
	pg_hmac_free(ctx);

	hex_encode((const char *) digest, sizeof(digest), hex);
	hex[sizeof(hex) - 1] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}

/* random_key() returns bytea: 32 bytes from the operating system's strong random source */
Datum
crimesnap_random_key(PG_FUNCTION_ARGS)
{
	bytea	   *key = palloc(VARHDRSZ + CRIMESNAP_KEY_BYTES);

	SET_VARSIZE(key, VARHDRSZ + CRIMESNAP_KEY_BYTES);
	if (!pg_strong_random(VARDATA(key), CRIMESNAP_KEY_BYTES))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random persistent id key")));
	PG_RETURN_BYTEA_P(key);
}
