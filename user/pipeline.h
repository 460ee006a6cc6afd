/* SPDX-License-Identifier: MIT */
/*
 * What the event loop does with each finished HTTP exchange the connection tracker hands it:
 * writes its bodies (--dump-bodies), builds its HTTP span, places it in its trace, lets the GenAI
 * annotators enrich it, adds its usage to the trace totals and sinks it with its children. The
 * one place where the stages meet; each stage knows only those below it.
 */
#ifndef BT_PIPELINE_H
#define BT_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "genai/genai.h"
#include "span/stitch.h"
#include "stream/conn.h"

struct pipeline {
	struct stitcher *stitcher; /* NULL: every span starts (or continues a remote) trace */
	struct genai *genai;	   /* NULL: no GenAI annotation */
	const char *dump_dir;	   /* --dump-bodies folder, or NULL */
	span_sink_fn sink;	   /* takes every span */
	resource_fn resource;	   /* NULL: spans get no resource */
	void *ctx;		   /* for sink and resource */
	uint64_t lost;		   /* exchanges whose span could not be built (out of memory) */
};

/* A conn_exchange_fn: @pipeline is a struct pipeline. Sinks the span(s) of @x. */
void pipeline_exchange(void *pipeline, const struct conn_exchange *x);

/*
 * A conn_wants_body_fn: whether any stage reads the bodies of @ex (a dump, a GenAI annotator);
 * HTTP spans need only their sizes.
 */
bool pipeline_wants_body(void *pipeline, const struct http_exchange *ex);

#endif
