// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "span/otel_attrs.h"
#include "util/pct.h"

/*
 * Percent-decodes [b, e) into a malloc'd NUL-terminated string. Returns it, or NULL with errno
 * EINVAL (a bad escape, or a NUL byte raw or decoded: attribute strings cannot hold one) or ENOMEM.
 */
static char *pct_decode(const char *b, const char *e)
{
	char *out = malloc((size_t)(e - b) + 1), *o = out;

	if (!out)
		return NULL;
	while (b < e) {
		int c;

		if (*b != '%') {
			if (*b == '\0')
				goto bad;
			*o++ = *b++;
			continue;
		}
		c = pct_escape(b, e);
		if (c <= 0) /* not an escape, or %00 */
			goto bad;
		*o++ = (char)c;
		b += 3;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

int otel_attrs_parse(const char *s, size_t len, struct bt_attrs *out, size_t *bad_at)
{
	struct bt_attrs tmp = {0};
	const char *p = s, *end = s + len;
	bool last = false;
	int n = 0, err = 0;
	size_t i;

	while (!last && !err) {
		const char *mb = p, *me = memchr(p, ',', (size_t)(end - p)), *eq, *kb, *ke, *vb,
			   *ve;
		char *key = NULL, *val = NULL;

		if (!me) {
			me = end;
			last = true;
		} else {
			p = me + 1;
		}
		pct_trim(&mb, &me);
		if (mb == me)
			continue;
		eq = memchr(mb, '=', (size_t)(me - mb));
		kb = mb;
		ke = eq ? eq : me;
		pct_trim(&kb, &ke);
		if (!eq || kb == ke) {
			err = -EINVAL;
		} else {
			vb = eq + 1;
			ve = me;
			pct_trim(&vb, &ve);
			key = pct_decode(kb, ke);
			val = key ? pct_decode(vb, ve) : NULL;
			if (!val)
				err = -errno;
			else if (bt_attrs_set_str(&tmp, key, val))
				err = -ENOMEM;
			else
				n++;
		}
		if (err && bad_at)
			*bad_at = (size_t)(mb - s);
		free(key);
		free(val);
	}
	for (i = 0; !err && i < tmp.n; i++)
		if (bt_attrs_set_str(out, tmp.v[i].key, tmp.v[i].s))
			err = -ENOMEM;
	bt_attrs_clear(&tmp);
	return err ? err : n;
}
