/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the pure parts of graph.c and the PKCE helpers:
 * Retry-After parsing, error classification, SHA-256 (FIPS 180-4 vectors)
 * and the PKCE verifier / S256 challenge (RFC 7636).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "cmd.h"
#include "graph_p.h"
#include "sha256.h"
#include "unit.h"

/* ------------------------------------------------------------ helpers */

static int
near(double got, double want)
{
	if (fabs(got - want) < 1e-6)
		return 1;
	printf("# got %.6f want %.6f\n", got, want);
	return 0;
}

static void
hex(const uint8_t d[32], char out[65])
{
	static const char x[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[64] = '\0';
}

static int
sha_is(const void *data, size_t len, const char *want)
{
	uint8_t d[32];
	char h[65];

	sha256(data, len, d);
	hex(d, h);
	if (strcmp(h, want) == 0)
		return 1;
	printf("# sha256 got %s\n#        want %s\n", h, want);
	return 0;
}

/* The test's own base64url (no padding), independent of connection.c's. */
static void
b64url(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t v;
	size_t i, o = 0, k;

	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (uint32_t)in[i] << 16;
		if (k > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (k > 2)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (k > 1)
			out[o++] = tab[(v >> 6) & 63];
		if (k > 2)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

static int
is_b64url(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* An error as graph.c fills it before classifying. */
static struct graph_err
classify(int is_token, int http, const char *code, long aadsts)
{
	struct graph_err e;

	memset(&e, 0, sizeof(e));
	e.cls = GRAPH_PROTOCOL;
	e.http = http;
	e.aadsts = aadsts;
	strlcpy(e.code, code, sizeof(e.code));
	graph_classify(&e, is_token);
	return e;
}

static const char *
cls_name(enum graph_class c)
{
	static const char *n[] = { "OK", "SERVICE", "TOKEN", "LOGIN", "GONE",
	    "NOTFOUND", "CONFLICT", "DENIED", "PROTOCOL", "CONFIG", "LOCAL",
	    "CANCELLED" };

	return (unsigned)c < sizeof(n) / sizeof(n[0]) ? n[c] : "?";
}

#define CLS(tok, http, code, aadsts, want) do {				\
	struct graph_err e_ = classify(tok, http, code, aadsts);	\
	CHECK(e_.cls == (want), "%s %d %s%s%ld -> %s (got %s)",		\
	    tok ? "token" : "graph", http, code, aadsts ? " AADSTS" : "",	\
	    (long)(aadsts), cls_name(want), cls_name(e_.cls));			\
} while (0)

/* A judged failure: class, status, the facts, whether a create. */
static struct graph_err
judged(enum graph_class cls, int http, int network, int exhausted,
    int is_create)
{
	struct graph_err e;

	memset(&e, 0, sizeof(e));
	e.cls = cls;
	e.http = http;
	e.network = network;
	e.exhausted = exhausted;
	graph_judge(&e, is_create);
	return e;
}

/* --------------------------------------------------------------- tests */

/* The two fields, the unknown outcome and the shared code, decided in
 * one place for every way a request ends. */
static void
test_judge(void)
{
	struct graph_err e;

	e = judged(GRAPH_SERVICE, 500, 0, 0, 1);
	CHECK(e.ambiguous && e.retry == GRAPH_RETRY_NEXT_RUN &&
	    graph_errc(&e) == TT_E_LATER, "a 500 on a create: outcome "
	    "unknown, the next run, for now");
	e = judged(GRAPH_SERVICE, 0, 0, 0, 1);
	CHECK(e.ambiguous, "a timeout or cut connection on a create: outcome "
	    "unknown");
	e = judged(GRAPH_SERVICE, 0, 1, 0, 1);
	CHECK(!e.ambiguous && e.retry == GRAPH_RETRY_NEXT_RUN &&
	    graph_errc(&e) == TT_E_LATER, "a create that never reached the "
	    "service (connect, DNS, TLS): known, the next run");
	e = judged(GRAPH_SERVICE, 503, 0, 1, 1);
	CHECK(!e.ambiguous, "503 on a create: refused before any work");
	e = judged(GRAPH_SERVICE, 429, 0, 0, 1);
	CHECK(!e.ambiguous, "429 on a create: refused before any work");
	e = judged(GRAPH_PROTOCOL, 400, 0, 0, 1);
	CHECK(!e.ambiguous && e.retry == GRAPH_RETRY_LATE &&
	    graph_errc(&e) == TT_E_DOWN, "a 400 on a create: known, no retry "
	    "mends it (69)");
	e = judged(GRAPH_PROTOCOL, 200, 0, 0, 1);
	CHECK(e.ambiguous && graph_errc(&e) == TT_E_LATER, "a 2xx answer we "
	    "cannot use on a create: outcome unknown, for now");
	e = judged(GRAPH_SERVICE, 500, 0, 0, 0);
	CHECK(!e.ambiguous && e.retry == GRAPH_RETRY_NEXT_RUN, "a 500 on a "
	    "read: never ambiguous");
	e = judged(GRAPH_SERVICE, 503, 0, 1, 0);
	CHECK(e.retry == GRAPH_RETRY_LATE && graph_errc(&e) == TT_E_DOWN,
	    "503 after every retry with budget left: the service is down "
	    "(69)");
	e = judged(GRAPH_SERVICE, 503, 0, 1, 0);
	e.budget_spent = 1;
	graph_judge(&e, 0);
	CHECK(e.retry == GRAPH_RETRY_NEXT_RUN && graph_errc(&e) ==
	    TT_E_LATER, "the retry budget spent: the next run (75)");
	e = judged(GRAPH_SERVICE, 0, 1, 1, 0);
	CHECK(graph_errc(&e) == TT_E_LATER, "a network outage: for now");
	e = judged(GRAPH_TOKEN, 401, 0, 0, 0);
	CHECK(e.retry == GRAPH_RETRY_NOW && graph_errc(&e) == TT_E_LATER,
	    "401: at once after a new token; for now when that fails too");
	e = judged(GRAPH_GONE, 410, 0, 0, 0);
	CHECK(e.retry == GRAPH_RETRY_NOW, "delta gone: at once, from a full "
	    "read");
	e = judged(GRAPH_LOGIN, 400, 0, 0, 0);
	CHECK(e.retry == GRAPH_RETRY_NEVER && graph_errc(&e) == TT_E_LOGIN,
	    "the grant gone: a person signs in");
	e = judged(GRAPH_DENIED, 403, 0, 0, 1);
	CHECK(!e.ambiguous && graph_errc(&e) == TT_E_LOGIN, "403: a "
	    "permission, known");
	e = judged(GRAPH_CONFIG, 0, 0, 0, 1);
	CHECK(!e.ambiguous && graph_errc(&e) == TT_E_CONFIG, "a refused "
	    "certificate: the configuration, nothing sent");
	e = judged(GRAPH_CANCELLED, 0, 0, 0, 1);
	CHECK(!e.ambiguous && graph_errc(&e) == TT_E_NONE, "cancelled by the "
	    "caller: reported by it");
}

static void
test_retry_after(void)
{
	time_t now = curl_getdate("Sun, 06 Nov 1994 08:49:37 GMT", NULL);
	double d;

	CHECK(now == 784111777, "curl_getdate works as assumed");
	CHECK(near(graph_parse_retry_after("2.128", now), 2.128),
	    "decimal seconds \"2.128\"");
	CHECK(near(graph_parse_retry_after("0.5", now), 0.5),
	    "decimal seconds below one");
	CHECK(near(graph_parse_retry_after("120", now), 120),
	    "integer seconds \"120\"");
	CHECK(near(graph_parse_retry_after("  7 ", now), 7),
	    "surrounding blanks are ignored");
	CHECK(near(graph_parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT",
	    now), 30), "IMF-fixdate 30 s after now");
	CHECK(near(graph_parse_retry_after("Sunday, 06-Nov-94 08:51:37 GMT",
	    now), 120), "RFC 850 date 2 min after now");
	CHECK(near(graph_parse_retry_after("Sun Nov  6 08:49:47 1994", now),
	    10), "asctime date 10 s after now");
	d = graph_parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now);
	CHECK(d > 0 && d < 1, "a date in the past means retry at once (%g)", d);
	d = graph_parse_retry_after("0", now);
	CHECK(d >= 0 && d < 1, "zero seconds is a retry at once (%g)", d);
	CHECK(graph_parse_retry_after("soon", now) == 0, "garbage -> 0");
	CHECK(graph_parse_retry_after("", now) == 0, "empty -> 0");
	CHECK(graph_parse_retry_after("   ", now) == 0, "blanks -> 0");
	CHECK(graph_parse_retry_after("abc123", now) == 0,
	    "letters then digits -> 0");
	d = graph_parse_retry_after("12abc", now);
	CHECK(d == 0, "digits then garbage -> 0 (%g)", d);
	d = graph_parse_retry_after("nan", now);
	CHECK(d == 0, "nan -> 0 (%g)", d);
	d = graph_parse_retry_after("-5", now);
	CHECK(d == 0, "negative -> 0 (%g)", d);
}

static void
test_classify_token(void)
{
	struct graph_err e;

	CLS(1, 400, "invalid_grant", 70008, GRAPH_LOGIN);
	CLS(1, 400, "invalid_grant", 50173, GRAPH_LOGIN);
	CLS(1, 400, "invalid_grant", 65001, GRAPH_LOGIN);
	CLS(1, 400, "invalid_grant", 700082, GRAPH_LOGIN);
	CLS(1, 400, "invalid_grant", 0, GRAPH_LOGIN);
	CLS(1, 400, "INVALID_GRANT", 0, GRAPH_LOGIN);
	CLS(1, 400, "interaction_required", 50076, GRAPH_LOGIN);
	CLS(1, 400, "consent_required", 0, GRAPH_LOGIN);
	CLS(1, 400, "temporarily_unavailable", 0, GRAPH_SERVICE);
	CLS(1, 400, "temporarily_unavailable", 90006, GRAPH_SERVICE);
	CLS(1, 500, "server_error", 0, GRAPH_SERVICE);
	CLS(1, 503, "temporarily_unavailable", 90006, GRAPH_SERVICE);
	CLS(1, 504, "", 0, GRAPH_SERVICE);
	CLS(1, 429, "", 0, GRAPH_SERVICE);
	CLS(1, 400, "invalid_client", 0, GRAPH_CONFIG);
	CLS(1, 401, "invalid_client", 7000218, GRAPH_CONFIG);
	CLS(1, 400, "invalid_request", 7000218, GRAPH_CONFIG);
	CLS(1, 400, "unauthorized_client", 700016, GRAPH_CONFIG);
	CLS(1, 400, "unsupported_grant_type", 70003, GRAPH_PROTOCOL);
	e = classify(1, 400, "invalid_grant", 70008);
	CHECK(e.cls != GRAPH_TOKEN, "a token error is not a rejected access "
	    "token");
}

static void
test_classify_graph(void)
{
	struct graph_err e;

	CLS(0, 400, "syncStateNotFound", 0, GRAPH_GONE);
	CLS(0, 400, "resyncRequired", 0, GRAPH_GONE);
	CLS(0, 400, "InvalidDeltaToken", 0, GRAPH_GONE);
	CLS(0, 400, "SYNCSTATENOTFOUND", 0, GRAPH_GONE);
	CLS(0, 400, "ResyncRequired", 0, GRAPH_GONE);
	CLS(0, 400, "invaliddeltatoken", 0, GRAPH_GONE);
	CLS(0, 404, "syncStateNotFound", 0, GRAPH_GONE);
	CLS(0, 410, "resyncRequired", 0, GRAPH_GONE);
	CLS(0, 410, "", 0, GRAPH_GONE);
	CLS(0, 410, "generalException", 0, GRAPH_GONE);
	CLS(0, 429, "TooManyRequests", 0, GRAPH_SERVICE);
	CLS(0, 429, "ApplicationThrottled", 0, GRAPH_SERVICE);
	CLS(0, 503, "serviceNotAvailable", 0, GRAPH_SERVICE);
	CLS(0, 500, "generalException", 0, GRAPH_SERVICE);
	CLS(0, 504, "UnknownError", 0, GRAPH_SERVICE);
	CLS(0, 401, "InvalidAuthenticationToken", 0, GRAPH_TOKEN);
	e = classify(0, 429, "TooManyRequests", 0);
	CHECK(e.cls != GRAPH_TOKEN, "429 is not a rejected token");
	CLS(0, 403, "ErrorAccessDenied", 0, GRAPH_DENIED);
	CLS(0, 404, "ErrorItemNotFound", 0, GRAPH_NOTFOUND);
	CLS(0, 409, "ErrorIrresolvableConflict", 0, GRAPH_CONFLICT);
	CLS(0, 412, "PreconditionFailed", 0, GRAPH_CONFLICT);
	CLS(0, 400, "BadRequest", 0, GRAPH_PROTOCOL);
	/* An identity-platform code on a Graph response means nothing. */
	CLS(0, 400, "invalid_grant", 0, GRAPH_PROTOCOL);
}

static void
test_sha256(void)
{
	static const char v448[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char v896[] =
	    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	static const struct {
		size_t n;
		const char *want;
	} as[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	char *million;
	size_t i;

	CHECK(sha_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    "sha256 of the empty string");
	CHECK(sha_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	    "sha256(\"abc\")");
	CHECK(sha_is(v448, strlen(v448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	    "sha256 of the 448-bit message");
	CHECK(sha_is(v896, strlen(v896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
	    "sha256 of the 896-bit message");
	if ((million = malloc(1000000)) == NULL) {
		CHECK(0, "out of memory");
		return;
	}
	memset(million, 'a', 1000000);
	CHECK(sha_is(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	    "sha256 of one million 'a'");
	for (i = 0; i < sizeof(as) / sizeof(as[0]); i++)
		CHECK(sha_is(million, as[i].n, as[i].want),
		    "sha256 of %zu 'a' (padding boundary)", as[i].n);
	free(million);
}

static void
test_pkce(void)
{
	/* RFC 7636 appendix B. */
	static const char rfc_verifier[] =
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	static const char rfc_challenge[] =
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	static const uint8_t rfc_octets[32] = { 116, 24, 223, 180, 151, 153,
	    224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
	    105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121 };
	char v[64], c[64], v2[64], c2[64], want[64];
	uint8_t d[32];
	int i, all_ok = 1;

	b64url(rfc_octets, sizeof(rfc_octets), want);
	CHECK(strcmp(want, rfc_verifier) == 0, "the test's base64url gives "
	    "the RFC 7636 verifier from its octets");
	sha256(rfc_verifier, strlen(rfc_verifier), d);
	b64url(d, sizeof(d), want);
	CHECK(strcmp(want, rfc_challenge) == 0, "RFC 7636 appendix B: "
	    "base64url(sha256(verifier)) = %s", want);

	memset(v, 'X', sizeof(v));
	memset(c, 'X', sizeof(c));
	conn_pkce(v, c);
	CHECK(strlen(v) == 43, "verifier has 43 characters (%zu)", strlen(v));
	CHECK(is_b64url(v), "verifier is base64url");
	CHECK(strlen(c) == 43, "challenge has 43 characters (%zu)", strlen(c));
	CHECK(is_b64url(c), "challenge is base64url");
	sha256(v, strlen(v), d);
	b64url(d, sizeof(d), want);
	CHECK(strcmp(c, want) == 0, "challenge = base64url(sha256(verifier))");
	conn_pkce(v2, c2);
	CHECK(strcmp(v, v2) != 0 && strcmp(c, c2) != 0,
	    "two PKCE pairs differ");
	for (i = 0; i < 200; i++) {
		conn_pkce(v2, c2);
		sha256(v2, strlen(v2), d);
		b64url(d, sizeof(d), want);
		if (strlen(v2) != 43 || !is_b64url(v2) || strcmp(c2, want))
			all_ok = 0;
	}
	CHECK(all_ok, "200 more PKCE pairs are all well formed");
}

int
main(void)
{
	test_retry_after();
	test_classify_token();
	test_classify_graph();
	test_judge();
	test_sha256();
	test_pkce();
	{
		char tok[12289];

		memset(tok, 'A', sizeof(tok) - 1);
		tok[sizeof(tok) - 1] = '\0';
		CHECK(graph_token_ok(tok, strlen(tok)), "a 12 KB token is sendable");
		CHECK(!graph_token_ok("abc\r\nX-Evil: 1", 15),
		    "a token with CR LF is refused");
		CHECK(!graph_token_ok("ab\0cd", 5), "a token with NUL is refused");
		CHECK(!graph_token_ok("ab cd", 5), "a token with a space is refused");
		CHECK(!graph_token_ok("", 0), "an empty token is refused");
		CHECK(!graph_token_ok("t\xc3\xa9", 3), "a non-ASCII token is refused");
		CHECK(graph_token_ok("eyJ0.eyJ1-_~+/=", 15), "JWT characters pass");
	}
	{
		static const struct { const char *json; int ok; const char *why; } tk[] = {
			{ "{\"access_token\":\"x\"}", 0, "no expires_in (the path that read freed JSON)" },
			{ "{\"access_token\":\"x\",\"expires_in\":3600}", 1, "minimal answer" },
			{ "{\"access_token\":\"x\",\"expires_in\":\"3600\"}", 1, "expires_in as a string" },
			{ "{\"access_token\":\"x\",\"expires_in\":-5}", 0, "negative expires_in" },
			{ "{\"access_token\":\"x\",\"expires_in\":\"99999999999999999999999\"}", 0, "expires_in overflowing" },
			{ "{\"access_token\":\"x\",\"expires_in\":\"12abc\"}", 0, "expires_in with garbage" },
			{ "{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":60}", 0, "access token with CR LF" },
			{ "{\"access_token\":\"ab\\u0000cd\",\"expires_in\":60}", 0, "access token with NUL" },
			{ "{\"access_token\":\"x\",\"expires_in\":60,\"refresh_token\":\"r\\u0000s\"}", 0, "refresh token with NUL" },
			{ "{\"access_token\":\"\",\"expires_in\":60}", 0, "empty access token" },
			{ "{\"access_token\":5,\"expires_in\":60}", 0, "access token not a string" },
		};
		size_t i;

		for (i = 0; i < sizeof(tk) / sizeof(tk[0]); i++) {
			json_t *j = json_loads(tk[i].json, JSON_ALLOW_NUL, NULL);
			struct graph_tokens t;
			struct graph_err e = { 0 };
			int rc = j ? graph_parse_tokens(j, &t, &e) : -2;

			CHECK(tk[i].ok ? rc == 0 : rc == -1 && e.cls == GRAPH_PROTOCOL,
			    "token answer: %s -> %s (%s)", tk[i].why, tk[i].ok ?
			    "taken" : "refused", e.msg);
			if (rc == 0)
				graph_tokens_free(&t);
			json_decref(j);
		}
	}
	{
		json_t *j = json_loads("{\"access_token\":\"x\",\"expires_in\":"
		    "9223372036854775807}", 0, NULL);
		struct graph_tokens t;
		struct graph_err e = { 0 };
		tt_time now = tt_now();

		CHECK(graph_parse_tokens(j, &t, &e) == 0 &&
		    t.expires_at <= now + 2 * 86400 + 5,
		    "an extreme expires_in is bounded to two days");
		CHECK(t.refresh_token == NULL, "no refresh_token: NULL (the old one is kept)");
		graph_tokens_free(&t);
		json_decref(j);
		/* header {"alg":"none"}, claims {"tid":"9188...","oid":"x"} */
		j = json_pack("{s:s, s:i, s:s, s:s}", "access_token", "y",
		    "expires_in", 60, "refresh_token", "1.AR-x_y.z",
		    "id_token", "eyJhbGciOiJub25lIn0.eyJ0aWQiOiI5MTg4MDQwZC02YzY3"
		    "LTRjNWItYjExMi0zNmEzMDRiNjZkYWQiLCJvaWQiOiJ4In0.c2ln");
		CHECK(graph_parse_tokens(j, &t, &e) == 0 && t.tenant_id != NULL &&
		    strcmp(t.tenant_id, GRAPH_CONSUMER_TENANT) == 0 &&
		    strcmp(t.refresh_token, "1.AR-x_y.z") == 0,
		    "the id_token's tid is read (%s)", t.tenant_id ? t.tenant_id : "NULL");
		graph_tokens_free(&t);
		json_decref(j);
		j = json_pack("{s:s, s:i, s:s}", "access_token", "y", "expires_in",
		    60, "id_token", "not.a-jwt!.x");
		CHECK(graph_parse_tokens(j, &t, &e) == 0 && t.tenant_id == NULL,
		    "a broken id_token gives no tenant, and no failure");
		graph_tokens_free(&t);
		json_decref(j);
	}
	{
		struct graph_settings gs = { 0 };
		struct graph_err e = { 0 };
		struct graph *g = NULL;
		char *big = malloc(GRAPH_LINK_MAX + 64);

		gs.authority_url = "https://login.microsoftonline.com";
		gs.tenant = "organizations";
		gs.graph_url = "https://graph.microsoft.com/v1.0";
		CHECK(graph_new(&gs, &g, &e) == 0, "a graph handle");
		CHECK(graph_link_ok(g, "https://graph.microsoft.com/v1.0/me/"
		    "calendarView/delta?$deltatoken=abc"), "a deltaLink on the root");
		CHECK(!graph_link_ok(g, "https://evil.example/v1.0/me/x"),
		    "a deltaLink on another host is refused");
		CHECK(!graph_link_ok(g, "https://graph.microsoft.com.evil.example/x"),
		    "a host that only starts like the root is refused");
		CHECK(!graph_link_ok(g, ""), "an empty deltaLink is refused");
		CHECK(!graph_link_ok(g, NULL), "no deltaLink is refused");
		CHECK(!graph_link_ok(g, "https://graph.microsoft.com/v1.0/x y"),
		    "a deltaLink with a blank is refused");
		if (big != NULL) {
			memset(big, 'a', GRAPH_LINK_MAX + 63);
			big[GRAPH_LINK_MAX + 63] = '\0';
			memcpy(big, "https://graph.microsoft.com/v1.0/", 33);
			CHECK(!graph_link_ok(g, big), "a deltaLink over %d bytes is "
			    "refused", GRAPH_LINK_MAX);
		}
		free(big);
		graph_free(g);
	}
	{
		/* A page whose text holds escapes of lone UTF-16 surrogates:
		 * jansson refuses the whole page unless they are mended. */
		static const char page[] = "{\"value\":[{\"a\":\"x\\udc80y\","
		    "\"b\":\"\\\\udc80\",\"c\":\"\\ud83d\\ude00\","
		    "\"d\":\"\\ude00\\ud83d\",\"e\":\"\\ud83d\"}]}";
		struct greq r = { 0 };
		struct graph_err e = { 0 };
		json_t *j, *o;

		r.body = strdup(page);
		r.len = strlen(page);
		strlcpy(r.what, "reading a page", sizeof(r.what));
		j = greq_json_page(&r, &e);
		o = json_array_get(json_object_get(j, "value"), 0);
		CHECK(o != NULL, "a page with lone surrogate escapes is read");
		CHECK(o && strcmp(json_string_value(json_object_get(o, "a")),
		    "x\xef\xbf\xbdy") == 0, "a lone low surrogate becomes U+FFFD");
		CHECK(o && strcmp(json_string_value(json_object_get(o, "b")),
		    "\\udc80") == 0, "an escaped backslash before udc80 is text");
		CHECK(o && strcmp(json_string_value(json_object_get(o, "c")),
		    "\xf0\x9f\x98\x80") == 0, "a high and low pair stays (U+1F600)");
		CHECK(o && strcmp(json_string_value(json_object_get(o, "d")),
		    "\xef\xbf\xbd\xef\xbf\xbd") == 0, "a pair in the wrong "
		    "order is two lone halves");
		CHECK(o && strcmp(json_string_value(json_object_get(o, "e")),
		    "\xef\xbf\xbd") == 0, "a high surrogate at the end of a string");
		json_decref(j);
		free(r.body);
	}
	return DONE();
}
