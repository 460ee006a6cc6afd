/* SPDX-License-Identifier: MIT */
/*
 * Shape-tolerant cJSON lookups for the Bedrock parsers (bedrock_body.c, bedrock_content.c,
 * bedrock_stream.c, bedrock_agent*.c). Bodies come from the wire: every lookup accepts any JSON
 * (or NULL) and answers "absent" for the wrong type, so callers can chain them without checks.
 */
#ifndef BT_BEDROCK_JSON_H
#define BT_BEDROCK_JSON_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define J(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

/* cJSON_ArrayForEach walks an object's members too; most lists here must be arrays. */
static inline const cJSON *only_array(const cJSON *v)
{
	return cJSON_IsArray(v) ? v : NULL;
}

/* Returns member @k of @o when it is a string (owned by @o), else NULL. */
static inline const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *it = J(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Stores member @k of @o in *@out when it is a finite number; returns whether it did. */
static inline bool jnum(const cJSON *o, const char *k, double *out)
{
	const cJSON *it = J(o, k);

	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return false;
	*out = it->valuedouble;
	return true;
}

/* Same for a number that fits an int64_t (truncated toward zero). */
static inline bool jint(const cJSON *o, const char *k, int64_t *out)
{
	double d;

	if (!jnum(o, k, &d) || d < -9.2e18 || d > 9.2e18)
		return false;
	*out = (int64_t)d;
	return true;
}

/* Replaces *@dst with a copy of @s; NULL @s leaves it alone. Returns 0 or -ENOMEM. */
static inline int set_str(char **dst, const char *s)
{
	char *c;

	if (!s)
		return 0;
	c = strdup(s);
	if (!c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

#endif
