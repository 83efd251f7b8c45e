/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_IOV_H
#define DEVISOR_UTIL_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Bytes in @iov[0..@cnt). */
size_t iov_length(const struct iovec *iov, int cnt);

/*
 * Drops the first @skip bytes of *@iov[0..@cnt): *@iov moves to the first
 * segment left, which is trimmed in place. Returns the segments left.
 */
int iov_skip(struct iovec **iov, int cnt, size_t skip);

#endif
