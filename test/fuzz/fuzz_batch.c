/* SPDX-License-Identifier: ISC */
/*
 * fuzz_batch.c -- the answer of a $batch (graph_writes.c
 * graph_batch_answer, with settle_item, graph_classify, graph_judge and
 * Retry-After).  Input: two bytes (the number of writes, 1 to 20, and
 * their kinds: create, update, delete, lookup, two bits each), then the
 * body.  Oracles: every write is settled with a known result (fuzz.h
 * fuzz_graph_err); a create, update that succeeds carries a clean id;
 * only a create may be ambiguous; an answer refused is a clean error and
 * settles none.
 */
#include <jansson.h>

#include "graph_p.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct graph_cal cal = { GRAPH_CAL_USER, "AAMk-cal", 0 };
	struct graph_write *w[GRAPH_BATCH_MAX], ws[GRAPH_BATCH_MAX];
	struct graph_err err = { 0 };
	struct greq *r;
	size_t n, i;

	if (size < 2)
		return 0;
	n = (size_t)data[0] % GRAPH_BATCH_MAX + 1;
	memset(ws, 0, sizeof(ws));
	for (i = 0; i < n; i++) {
		ws[i].op = (enum graph_write_op)((data[1] >> (2 * (i % 4))) & 3);
		ws[i].cal = cal;
		ws[i].event_id = "AAMk-event";
		w[i] = &ws[i];
	}
	r = fuzz_greq(data + 2, size - 2, 200,
	    "https://graph.microsoft.com/v1.0/$batch");
	if (graph_batch_answer(r, w, n, &err) != 0) {
		FUZZ_ASSERT(err.cls == GRAPH_PROTOCOL, "class %d", (int)err.cls);
		FUZZ_CLEAN(err.msg, "the message");
		for (i = 0; i < n; i++)
			FUZZ_ASSERT(ws[i].err.msg[0] == '\0' && ws[i].new_id ==
			    NULL, "a write settled by a refused answer");
	} else {
		for (i = 0; i < n; i++) {
			const struct graph_write *x = &ws[i];

			fuzz_graph_err(&x->err);
			FUZZ_ASSERT(!x->err.ambiguous || x->op == GW_CREATE,
			    "an ambiguous %d", (int)x->op);
			if (x->err.cls == GRAPH_OK && (x->op == GW_CREATE ||
			    x->op == GW_UPDATE))
				FUZZ_ID(x->new_id, "the id written");
			if (x->new_id != NULL)
				FUZZ_ID(x->new_id, "the id");
			if (x->change_key != NULL)
				FUZZ_ID(x->change_key, "the changeKey");
			FUZZ_CLEAN(x->join_url, "the join URL");
			FUZZ_ASSERT(x->found >= 0, "found %d", x->found);
		}
	}
	for (i = 0; i < n; i++)
		graph_write_clear(&ws[i]);
	greq_free(r);
	return 0;
}
