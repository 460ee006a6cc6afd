/* SPDX-License-Identifier: MIT */
/*
 * The OTLP resource of a traced process: service, host, process, container and SDK attributes,
 * built once per process (at attach, exec and fork follow) from what probe/target.c read from
 * /proc and shared by every span of the process.
 *
 * service.name, first of: --service-name; the process's OTEL_SERVICE_NAME; service.name in the
 * process's OTEL_RESOURCE_ATTRIBUTES; bedtrace's own OTEL_SERVICE_NAME; service.name in bedtrace's
 * OTEL_RESOURCE_ATTRIBUTES (the operator's default); the executable's file name; the process
 * name (comm). An empty value counts as unset. As in the OpenTelemetry SDKs, OTEL_SERVICE_NAME
 * wins over service.name in OTEL_RESOURCE_ATTRIBUTES of the same environment.
 *
 * Other attributes, later sources winning a key: bedtrace's OTEL_RESOURCE_ATTRIBUTES, the
 * process's OTEL_RESOURCE_ATTRIBUTES (an empty value there keeps bedtrace's), then what bedtrace
 * observed itself (host.*, process.*, container.id, k8s.pod.uid, telemetry.sdk.*).
 */
#ifndef BT_RESOURCE_H
#define BT_RESOURCE_H

#include "probe/target.h"

/*
 * (Re)builds @t->resource from @t, dropping the previous one. @service_name: --service-name, or
 * NULL. Returns 0 or -ENOMEM (resource unchanged).
 */
int resource_refresh(struct target *t, const char *service_name);
/* Drops @t->resource. */
void resource_release(struct target *t);
/*
 * Forgets what every resource of the run shares (bedtrace's own OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES, host.name, host.id), read once on the first refresh; the next refresh
 * reads them again, host.id from @machine_id_path (NULL: /etc/machine-id). For tests.
 */
void resource_host_reset(const char *machine_id_path);

#endif
