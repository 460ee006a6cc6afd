/* SPDX-License-Identifier: MIT */
/*
 * The one growth rule for arrays that grow by appending: capacity doubles, starting at 16.
 */
#ifndef BT_GROW_H
#define BT_GROW_H

#include <errno.h>
#include <stdlib.h>

/*
 * Makes room for @need elements of @size bytes in *@arr (capacity *@cap), moving it if needed.
 * Returns 0 or -ENOMEM (*@arr and *@cap unchanged).
 */
static inline int grow(void *arr, size_t *cap, size_t need, size_t size)
{
	void **p = arr, *nv;
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nv = realloc(*p, c * size);
	if (!nv)
		return -ENOMEM;
	*p = nv;
	*cap = c;
	return 0;
}

#endif
