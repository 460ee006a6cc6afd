// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/bodies.h"
#include "pipeline.h"
#include "span/httpspan.h"
#include "util/log.h"

bool pipeline_wants_body(void *pipeline, const struct http_exchange *ex)
{
	const struct pipeline *p = pipeline;

	return p->dump_dir || genai_match(p->genai, ex);
}

void pipeline_exchange(void *pipeline, const struct conn_exchange *x)
{
	struct pipeline *p = pipeline;
	struct bt_resource *res = p->resource ? p->resource(p->ctx, x->origin.pid) : NULL;
	struct bt_span **children = NULL, *span;
	size_t n_children = 0, i;
	uint64_t root;
	int err;

	if (p->dump_dir)
		bodies_dump(p->dump_dir, x->origin.pid, x->conn_id, x->seq, x->http);
	span = httpspan_build(x->http, x->peer, x->tls, x->last_ns);
	if (!span) {
		p->lost++;
		pr_debug("http span of connection %#" PRIx64 " lost: %s\n", x->conn_id,
			 strerror(errno));
		return;
	}
	/* before annotation: children are parented under the span's final ids */
	root = httpspan_place(p->stitcher, span, x->http, &x->origin);
	if (genai_annotate(p->genai, x->http, span, &children, &n_children, &err)) {
		/* the model call's usage already sums its children's: only the span's counts */
		if (root)
			stitcher_add_usage(p->stitcher, root, span);
		else if (bt_span_is_root(span))
			stitcher_set_own_totals(span);
	}
	bt_span_set_resource(span, res);
	p->sink(p->ctx, span);
	for (i = 0; i < n_children; i++) {
		bt_span_set_resource(children[i], res);
		p->sink(p->ctx, children[i]);
	}
	free(children);
}
