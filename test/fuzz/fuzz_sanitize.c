/* SPDX-License-Identifier: ISC */
/*
 * fuzz_sanitize.c -- the terminal sanitiser (util.c tt_sanitize and its
 * whole and UTF-8 copies) and the JSON text of --json (cmd.c
 * tt_json_text).  Input: one byte choosing the buffer's size (1 to 256),
 * then the text.  Oracles: the output is clean (fuzz.h) and fits the
 * buffer; a whole copy is never longer than its source; clean text that
 * fits comes back unchanged; tt_utf8_valid agrees with an independent
 * decoder on what is valid UTF-8.
 */
#include <jansson.h>

#include "cmd.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src, *dst, *dup, *u8;
	size_t len;
	json_t *j;

	if (size < 1)
		return 0;
	len = (size_t)data[0] + 1;
	src = fuzz_str(data + 1, size - 1);
	if ((dst = malloc(len)) == NULL)
		abort();

	tt_sanitize(dst, len, src);
	FUZZ_ASSERT(strlen(dst) < len, "%zu bytes in a buffer of %zu",
	    strlen(dst), len);
	FUZZ_CLEAN(dst, "tt_sanitize's output");
	if (fuzz_dirty(src) == NULL && strlen(src) < len)
		FUZZ_ASSERT(strcmp(dst, src) == 0, "clean text was changed");

	dup = tt_sanitize_dup(src);
	FUZZ_ASSERT(dup != NULL, "tt_sanitize_dup failed");
	FUZZ_CLEAN(dup, "tt_sanitize_dup's output");
	FUZZ_ASSERT(strlen(dup) <= strlen(src), "the whole copy grew");
	FUZZ_ASSERT(strncmp(dup, dst, strlen(dst)) == 0, "the cut copy is "
	    "no prefix of the whole one");

	u8 = tt_sanitize_utf8_dup(src);
	FUZZ_ASSERT(u8 != NULL, "tt_sanitize_utf8_dup failed");
	FUZZ_CLEAN(u8, "tt_sanitize_utf8_dup's output");

	FUZZ_ASSERT(!tt_utf8_valid(src) == !fuzz_utf8_valid(src),
	    "tt_utf8_valid says %d", tt_utf8_valid(src));

	j = tt_json_text(src);
	FUZZ_ASSERT(json_is_string(j), "tt_json_text gave no string");
	FUZZ_CLEAN(json_string_value(j), "tt_json_text's string");
	FUZZ_ASSERT(strlen(json_string_value(j)) == json_string_length(j),
	    "tt_json_text's string holds a NUL");
	json_decref(j);

	free(u8);
	free(dup);
	free(dst);
	free(src);
	return 0;
}
