/* SPDX-License-Identifier: ISC */
/*
 * fuzz_redirect.c -- the browser's request on the loopback redirect
 * (connection.c conn_redirect, as conn_await_code reads a request head).
 * The state expected is "st4te-Abc_123".  Oracles: a request taken
 * carries that state and a code (new, not empty); one that is not the
 * redirect (no "GET /...?" request line) is left for a 404 with no code;
 * a refusal is a login error with a clean message and no code.
 */
#include "connection.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char state[] = "st4te-Abc_123";
	static char unset[] = "unset";	/* conn_redirect must clear it */
	struct tt_err err = { 0 };
	char *req = fuzz_str(data, size), *code = unset;
	int rc = conn_redirect(req, state, &code, &err);

	FUZZ_ASSERT(rc >= -1 && rc <= 1, "rc %d", rc);
	if (rc == 0) {
		FUZZ_ASSERT(code != NULL && *code != '\0', "no code");
		FUZZ_ASSERT(strncmp(req, "GET /", 5) == 0 &&
		    strstr(req, "state=") != NULL, "taken from %.40s", req);
		tt_wipe_free(code);
	} else {
		FUZZ_ASSERT(code == NULL, "a code left with rc %d", rc);
		if (rc == 1)
			FUZZ_ASSERT(strncmp(req, "GET /", 5) != 0 ||
			    strchr(req, '?') == NULL ||
			    strchr(req, '\n') == NULL ||
			    strchr(req, '?') > strchr(req, '\n'),
			    "the redirect not taken");
		else {
			FUZZ_ASSERT(err.code == TT_E_LOGIN, "code %d", err.code);
			FUZZ_CLEAN(err.msg, "the message");
		}
	}
	free(req);
	return 0;
}
