/* SPDX-License-Identifier: ISC */
/*
 * fuzz_devicecode.c -- the device code answer (graph.c
 * graph_parse_devicecode, read as graph_devicecode_start reads it).
 * Oracles: what is shown (user code, address, message) is clean; the
 * interval is 0 to 60 s and the lifetime 1 to 3600 s whatever the
 * service said (no overflow on narrowing); a refusal is a clean
 * protocol error.
 */
#include <jansson.h>

#include "graph_p.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_err err = { 0 };
	struct graph_devicecode d;
	struct greq *r = fuzz_greq(data, size, 200,
	    "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode");
	json_t *j = greq_json(r, &err);

	if (j != NULL && graph_parse_devicecode(j, &d, &err) == 0) {
		FUZZ_ASSERT(d.device_code != NULL, "no device code");
		FUZZ_CLEAN(d.user_code, "the user code");
		FUZZ_CLEAN(d.verification_uri, "the address");
		FUZZ_CLEAN(d.message, "the message");
		FUZZ_ASSERT(d.interval >= 0 && d.interval <= 60, "interval %d",
		    d.interval);
		FUZZ_ASSERT(d.expires_in >= 1 && d.expires_in <= 3600,
		    "expires_in %d", d.expires_in);
		graph_devicecode_free(&d);
	} else {
		FUZZ_ASSERT(err.cls == GRAPH_PROTOCOL || err.cls == GRAPH_LOCAL,
		    "class %d", (int)err.cls);
		FUZZ_CLEAN(err.msg, "the message");
	}
	json_decref(j);
	greq_free(r);
	return 0;
}
