// SPDX-License-Identifier: GPL-2.0
#include "hw/uart_line.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "util/log.h"

int uart_line_init(struct uart_line *l, struct vm *vm, int out_fd,
		   const char *name)
{
	l->vm = vm;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->out_fd = out_fd;
	l->rx_waiting = false;
	l->rx_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->rx_efd < 0) {
		int err = errno;

		pr_err("%s: eventfd: %s", l->name, strerror(err));
		return -err;
	}
	pthread_mutex_init(&l->tx_lock, NULL);
	return 0;
}

void uart_line_destroy(struct uart_line *l)
{
	close(l->rx_efd);
	l->rx_efd = -1;
	pthread_mutex_destroy(&l->tx_lock);
}

void uart_line_write(struct uart_line *l, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&l->tx_lock);
	while (len && l->out_fd >= 0) {
		ssize_t n = write(l->out_fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= n;
			continue;
		}
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd p = { .fd = l->out_fd,
					    .events = POLLOUT };

			/* A stopping VM must not wait on a stalled reader. */
			if (vm_stopping(l->vm))
				break;
			poll(&p, 1, 100);
			continue;
		}
		/* A kicked vCPU of a stopping VM stops waiting for readers. */
		if (errno == EINTR) {
			if (vm_stopping(l->vm))
				break;
			continue;
		}
		pr_warn("%s: output failed: %s; discarding from now on",
			l->name, strerror(errno));
		l->out_fd = -1;
	}
	pthread_mutex_unlock(&l->tx_lock);
}

void uart_line_rx_space(struct uart_line *l)
{
	uint64_t one = 1;
	ssize_t r;

	if (!l->rx_waiting)
		return;
	l->rx_waiting = false;
	/* EAGAIN means the counter is already non-zero: still readable. */
	r = write(l->rx_efd, &one, sizeof(one));
	(void)r;
}
