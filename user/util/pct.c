// SPDX-License-Identifier: MIT
#include "util/pct.h"

int pct_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pct_escape(const char *p, const char *end)
{
	int hi, lo;

	if (end - p < 3 || p[0] != '%' || (hi = pct_hex(p[1])) < 0 || (lo = pct_hex(p[2])) < 0)
		return -1;
	return hi << 4 | lo;
}

bool pct_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

void pct_trim(const char **b, const char **e)
{
	while (*b < *e && pct_is_ows(**b))
		(*b)++;
	while (*e > *b && pct_is_ows((*e)[-1]))
		(*e)--;
}
