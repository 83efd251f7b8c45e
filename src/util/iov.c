// SPDX-License-Identifier: GPL-2.0
#include "util/iov.h"

#include <stdint.h>

size_t iov_length(const struct iovec *iov, int cnt)
{
	size_t len = 0;

	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	return len;
}

int iov_skip(struct iovec **iov, int cnt, size_t skip)
{
	struct iovec *v = *iov;

	while (cnt && skip >= v->iov_len) {
		skip -= v->iov_len;
		v++;
		cnt--;
	}
	if (cnt) {
		v->iov_base = (uint8_t *)v->iov_base + skip;
		v->iov_len -= skip;
	}
	*iov = v;
	return cnt;
}
