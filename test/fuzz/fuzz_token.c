/* SPDX-License-Identifier: ISC */
/*
 * fuzz_token.c -- the token endpoint's answer (graph.c graph_parse_tokens,
 * expires_in and the id_token's tenant) and the error path of every
 * answer (graph_error_body, graph_classify, graph_judge, graph_errc), of
 * the identity platform or of Graph.  Input: one byte (bit 0: the
 * identity platform; bit 1: the request creates; the rest picks the HTTP
 * status), then the body.  Oracles: tokens taken can be sent (visible
 * ASCII), expire within [now, now + 2 days] (expires_in never
 * overflows); scope and tenant are clean; an error gets a known class,
 * retry and shared code with a clean message (fuzz_graph_err).
 */
#include <jansson.h>

#include "graph_p.h"
#include "fuzz.h"

static const long statuses[] = { 200, 200, 200, 200, 400, 400, 401, 403,
    404, 409, 410, 412, 429, 500, 502, 503, 504, 201, 302, 418, 0, 599,
    999, -1, 100, 204, 401, 400, 400, 403, 500, 503 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_err err;
	struct graph_tokens t;
	struct greq *r;
	int is_token, is_create;
	long status;

	if (size < 1)
		return 0;
	is_token = data[0] & 1;
	is_create = (data[0] >> 1) & 1;
	status = statuses[(data[0] >> 2) % (sizeof(statuses) /
	    sizeof(statuses[0]))];
	r = fuzz_greq(data + 1, size - 1, status, is_token ?
	    "https://login.microsoftonline.com/common/oauth2/v2.0/token" :
	    "https://graph.microsoft.com/v1.0/me");
	r->is_token = is_token;
	memset(&err, 0, sizeof(err));
	if (status >= 200 && status < 300) {
		json_t *j = greq_json(r, &err);
		tt_time before = tt_now(), after;

		if (j != NULL && graph_parse_tokens(j, &t, &err) == 0) {
			after = tt_now();
			FUZZ_ASSERT(t.access_token != NULL && graph_token_ok(
			    t.access_token, strlen(t.access_token)),
			    "an access token that cannot be sent");
			FUZZ_ASSERT(t.refresh_token == NULL || graph_token_ok(
			    t.refresh_token, strlen(t.refresh_token)),
			    "a refresh token that cannot be sent");
			FUZZ_ASSERT(t.expires_at >= before && t.expires_at <=
			    after + 2 * 86400, "expires at %lld (now %lld)",
			    (long long)t.expires_at, (long long)before);
			FUZZ_CLEAN(t.scope, "the scope");
			FUZZ_CLEAN(t.tenant_id, "the tenant");
			graph_tokens_free(&t);
		} else {
			FUZZ_ASSERT(err.cls == GRAPH_PROTOCOL ||
			    err.cls == GRAPH_LOCAL, "class %d", (int)err.cls);
			FUZZ_CLEAN(err.msg, "the message");
		}
		json_decref(j);
	} else {
		/* As attempt() and greq_run() take an error answer. */
		err.token_endpoint = is_token;
		err.cls = status >= 500 || status == 429 ? GRAPH_SERVICE :
		    GRAPH_PROTOCOL;
		graph_error_body(r, &err);
		graph_classify(&err, is_token);
		graph_judge(&err, is_create);
		fuzz_graph_err(&err);
		FUZZ_ASSERT(err.cls != GRAPH_OK, "an error classed as success");
		FUZZ_ASSERT(graph_errc(&err) != TT_E_NONE, "an error without "
		    "a code");
		FUZZ_ASSERT(!err.ambiguous || is_create, "ambiguous");
	}
	greq_free(r);
	return 0;
}
