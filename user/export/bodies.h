/* SPDX-License-Identifier: MIT */
/*
 * The --dump-bodies writer: each HTTP exchange's decoded request and response bodies, one file
 * each, in a folder the user named. Knows files and http.h exchanges, nothing of spans.
 */
#ifndef BT_BODIES_H
#define BT_BODIES_H

#include <stdint.h>

#include "proto/http.h"

/*
 * Writes @ex's decoded bodies to @dir/<pid>-<conn_id hex>-<seq>-<stream id>-{req,resp}.bin,
 * mode 0600, never following or replacing an existing file: when the name is taken (a reused
 * connection id), <conn_id hex>.<k> with the first free k. A message that carried no body gets
 * no file. Returns 0 or the first -errno.
 */
int bodies_dump(const char *dir, uint32_t pid, uint64_t conn_id, uint64_t seq,
		const struct http_exchange *ex);

#endif
