/* SPDX-License-Identifier: MIT */
/*
 * The OTLP resource of a traced process: service, host, process and SDK attributes, built from
 * what probe/target.c read from /proc and shared by every span of the process.
 */
#ifndef BT_RESOURCE_H
#define BT_RESOURCE_H

#include "probe/target.h"

/*
 * (Re)builds @t->resource from @t (service.name is @service_name, else the process name),
 * dropping the previous one. Returns 0 or -ENOMEM (resource unchanged).
 */
int resource_refresh(struct target *t, const char *service_name);
/* Drops @t->resource. */
void resource_release(struct target *t);

#endif
