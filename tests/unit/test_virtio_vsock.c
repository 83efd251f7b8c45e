// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock tests: a fake guest drives the device through virtio-mmio
 * the way Linux's vmw_vsock_virtio_transport does (receive buffers of
 * 4 KiB plus the header, one header and one payload descriptor per
 * transmitted packet), with a real I/O thread and real UNIX sockets on
 * the host side in a temporary directory: the packet state machine,
 * credit both ways, the host handshake, and hostile packets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/vsock_unix.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/evloop.h"
#include "vhost/vhost.h"
#include "virtio/mmio.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"

#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define BASE 0xd0000000ull
#define GSI 5
#define QSIZE 64
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define CID 3
#define HDR 44
#define RXLEN (4096 + HDR)
#define DESC(q) (0x10000ull + (q)*0x4000ull)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
#define RXBUF(i) (0x100000ull + (uint64_t)(i)*0x2000ull)
/* Transmit slot i: the header, its payload 4 KiB on, up to 64 KiB. */
#define TXHDR(i) (0x400000ull + (uint64_t)(i)*0x12000ull)
#define TXDATA(i) (TXHDR(i) + 0x1000)
#define EVBUF 0x3000000ull
#define GUEST_BUF (256u << 10)

struct fix {
	struct vm vm;
	struct evloop *loop;
	struct virtio_mmio *m;
	struct virtio_dev *vdev;
	char dir[64];
	char path[96];
	uint16_t avail_idx[3];
	uint16_t used_seen[3];
	uint16_t tx_slot;
	/* The guest side's credit, sent in every packet. */
	uint32_t fwd_cnt;
};

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
	uint8_t data[4096];
};

/* ---- guest side ---- */

static void desc(struct fix *f, unsigned int q, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	vd_desc(&f->vm, DESC(q), i, addr, len, flags, next);
}

static void avail(struct fix *f, unsigned int q, uint16_t head)
{
	vd_avail(&f->vm, AVAIL(q), QSIZE, &f->avail_idx[q], head);
}

static uint16_t used_idx(struct fix *f, unsigned int q)
{
	return vd_rd16(&f->vm, USED(q) + 2);
}

static void kick(struct fix *f, unsigned int q)
{
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static uint32_t status(struct fix *f)
{
	return vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS);
}

static bool used_moved(struct fix *f, uintptr_t q)
{
	return used_idx(f, q) != f->used_seen[q];
}

static void rx_post(struct fix *f, uint16_t slot, uint32_t len)
{
	desc(f, RXQ, slot, RXBUF(slot), len, VIRTQ_DESC_F_WRITE, 0);
	avail(f, RXQ, slot);
}

static void bring_up(struct fix *f)
{
	vd_mmio_reset(&f->vm, BASE);
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	memset(f->used_seen, 0, sizeof(f->used_seen));
	memset(vd_hva(&f->vm, DESC(0), 0xc000), 0, 0xc000);
	f->tx_slot = 0;
	vd_mmio_ack(&f->vm, BASE);
	assert_true(vd_mmio_features_ok(&f->vm, BASE, F_VERSION_1));
	for (unsigned int q = 0; q < 3; q++)
		vd_mmio_setup_queue(&f->vm, BASE, q, 256, QSIZE, DESC(q),
				    AVAIL(q), USED(q));
	for (uint16_t i = 0; i < QSIZE; i++)
		rx_post(f, i, RXLEN);
	desc(f, EVQ, 0, EVBUF, 4, VIRTQ_DESC_F_WRITE, 0);
	avail(f, EVQ, 0);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);
}

static void hdr_put(uint8_t *h, const struct pkt *p)
{
	memset(h, 0, HDR);
	put_le(h + 0, p->src_cid, 8);
	put_le(h + 8, p->dst_cid, 8);
	put_le(h + 16, p->src_port, 4);
	put_le(h + 20, p->dst_port, 4);
	put_le(h + 24, p->len, 4);
	put_le(h + 28, p->type, 2);
	put_le(h + 30, p->op, 2);
	put_le(h + 32, p->flags, 4);
	put_le(h + 36, p->buf_alloc, 4);
	put_le(h + 40, p->fwd_cnt, 4);
}

/*
 * Transmit a packet whose header says @hdr_len bytes of payload and whose
 * chain carries @data_len of them (@data or zeros); waits for it to be
 * used unless @nowait.
 */
static void tx_raw(struct fix *f, const struct pkt *p, const void *data,
		   uint32_t data_len)
{
	uint16_t s = f->tx_slot, d = (uint16_t)(2 * (s % (QSIZE / 2)));
	uint8_t *h = vd_hva(&f->vm, TXHDR(s % 32), HDR);

	f->tx_slot++;
	hdr_put(h, p);
	if (data_len) {
		if (data)
			memcpy(vd_hva(&f->vm, TXDATA(s % 32), data_len), data,
			       data_len);
		desc(f, TXQ, d, TXHDR(s % 32), HDR, VIRTQ_DESC_F_NEXT, d + 1);
		desc(f, TXQ, d + 1, TXDATA(s % 32), data_len, 0, 0);
	} else {
		desc(f, TXQ, d, TXHDR(s % 32), HDR, 0, 0);
	}
	avail(f, TXQ, d);
	kick(f, TXQ);
}

static bool tx_used(struct fix *f, uintptr_t n)
{
	return used_idx(f, TXQ) == (uint16_t)n;
}

static void tx(struct fix *f, uint16_t op, uint32_t src_port, uint32_t dst_port,
	       const void *data, uint32_t len)
{
	struct pkt p = { .src_cid = CID,
			 .dst_cid = VSOCK_HOST_CID,
			 .src_port = src_port,
			 .dst_port = dst_port,
			 .len = len,
			 .type = VIRTIO_VSOCK_TYPE_STREAM,
			 .op = op,
			 .buf_alloc = GUEST_BUF,
			 .fwd_cnt = f->fwd_cnt };

	if (op == VIRTIO_VSOCK_OP_SHUTDOWN)
		p.flags = VIRTIO_VSOCK_SHUTDOWN_RCV |
			  VIRTIO_VSOCK_SHUTDOWN_SEND;
	tx_raw(f, &p, data, len);
	assert_true(vd_wait_until(tx_used, f, f->tx_slot));
}

/* The next packet the device gave us, within @ms; its buffer goes back. */
static bool rx_next_ms(struct fix *f, struct pkt *p, unsigned int ms)
{
	uint16_t i = f->used_seen[RXQ];
	uint32_t id, len;
	const uint8_t *h;

	if (!vd_wait_ms(used_moved, f, RXQ, ms))
		return false;
	id = vd_rd32(&f->vm, USED(RXQ) + 4 + 8 * (i % QSIZE));
	len = vd_rd32(&f->vm, USED(RXQ) + 4 + 8 * (i % QSIZE) + 4);
	assert_true(id < QSIZE);
	assert_true(len >= HDR && len <= RXLEN);
	h = vd_hva(&f->vm, RXBUF(id), RXLEN);
	p->src_cid = get_le(h, 8);
	p->dst_cid = get_le(h + 8, 8);
	p->src_port = (uint32_t)get_le(h + 16, 4);
	p->dst_port = (uint32_t)get_le(h + 20, 4);
	p->len = (uint32_t)get_le(h + 24, 4);
	p->type = (uint16_t)get_le(h + 28, 2);
	p->op = (uint16_t)get_le(h + 30, 2);
	p->flags = (uint32_t)get_le(h + 32, 4);
	p->buf_alloc = (uint32_t)get_le(h + 36, 4);
	p->fwd_cnt = (uint32_t)get_le(h + 40, 4);
	assert_int_equal(len, HDR + p->len);
	memcpy(p->data, h + HDR, p->len);
	f->used_seen[RXQ]++;
	rx_post(f, (uint16_t)id, RXLEN);
	kick(f, RXQ);
	return true;
}

static void rx_next(struct fix *f, struct pkt *p)
{
	assert_true(rx_next_ms(f, p, 5000));
	assert_int_equal(p->dst_cid, CID);
	assert_int_equal(p->type, VIRTIO_VSOCK_TYPE_STREAM);
}

/* The next packet, skipping credit updates. */
static void rx_next_op(struct fix *f, struct pkt *p)
{
	do
		rx_next(f, p);
	while (p->op == VIRTIO_VSOCK_OP_CREDIT_UPDATE);
}

static struct virtio_vsock_stats stats(struct fix *f)
{
	struct virtio_vsock_stats st;

	virtio_vsock_get_stats(f->vdev, &st);
	return st;
}

/* ---- host side ---- */

static int unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Read exactly @len bytes within five seconds; how many came. */
static size_t host_read(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, (uint8_t *)buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* Whether the host end sees EOF (or a reset) within five seconds. */
static bool host_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, 5000) == 1 && read(fd, &c, 1) <= 0;
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/devisor-vsock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/v.sock", f->dir);
	f->loop = vd_vm_init(&f->vm, RAM_SIZE);
	f->vdev = virtio_vsock_create(&f->vm, CID, f->path, f->loop);
	assert_non_null(f->vdev);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char p[128];

	vd_vm_destroy(&f->vm, f->loop);
	/* The device removed its socket. */
	assert_int_equal(access(f->path, F_OK), -1);
	snprintf(p, sizeof(p), "%s/v.sock_5000", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void port_path(struct fix *f, char *buf, size_t len, uint32_t port)
{
	snprintf(buf, len, "%s_%u", f->path, port);
}

/* ---- tests ---- */

static void test_config(void **state)
{
	struct fix *f = *state;

	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_ID), 19);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG, 4), CID);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 4, 4),
			 0);
	/* No SEQPACKET: stream only. */
	assert_int_equal(vd_mmio_offered(&f->vm, BASE) &
				 (1ull << VIRTIO_VSOCK_F_SEQPACKET),
			 0);
}

/* Guest connects to host port 5000: PATH_5000, data both ways, close. */
static void test_guest_connect(void **state)
{
	struct fix *f = *state;
	char p5000[128], buf[64];
	struct pkt p;
	int lfd, hfd;

	bring_up(f);
	port_path(f, p5000, sizeof(p5000), 5000);
	lfd = unix_listen(p5000);
	tx(f, VIRTIO_VSOCK_OP_REQUEST, 1234, 5000, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(p.src_cid, VSOCK_HOST_CID);
	assert_int_equal(p.src_port, 5000);
	assert_int_equal(p.dst_port, 1234);
	assert_true(p.buf_alloc >= 4096);
	hfd = accept(lfd, NULL, NULL);
	assert_true(hfd >= 0);

	tx(f, VIRTIO_VSOCK_OP_RW, 1234, 5000, "hello", 5);
	assert_int_equal(host_read(hfd, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);

	assert_int_equal(write(hfd, "world!", 6), 6);
	rx_next_op(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(p.len, 6);
	assert_memory_equal(p.data, "world!", 6);
	assert_int_equal(p.fwd_cnt, 5);

	/* The guest closes: the host sees EOF, the guest gets its RST. */
	tx(f, VIRTIO_VSOCK_OP_SHUTDOWN, 1234, 5000, NULL, 0);
	assert_true(host_eof(hfd));
	rx_next_op(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(p.dst_port, 1234);
	assert_int_equal(stats(f).conns, 0);
	close(hfd);
	close(lfd);
	unlink(p5000);
}

/* The host closes its end: the guest hears SHUTDOWN(SEND), answers RST. */
static void test_host_close(void **state)
{
	struct fix *f = *state;
	char p5000[128];
	struct pkt p;
	int lfd, hfd;

	bring_up(f);
	port_path(f, p5000, sizeof(p5000), 5000);
	lfd = unix_listen(p5000);
	tx(f, VIRTIO_VSOCK_OP_REQUEST, 1235, 5000, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RESPONSE);
	hfd = accept(lfd, NULL, NULL);
	assert_int_equal(write(hfd, "bye", 3), 3);
	close(hfd);
	rx_next_op(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(p.len, 3);
	rx_next_op(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_true(p.flags & VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx(f, VIRTIO_VSOCK_OP_RST, 1235, 5000, NULL, 0);
	assert_int_equal(stats(f).conns, 0);
	close(lfd);
	unlink(p5000);
}

/* Nobody listens on PATH_5001: RST. */
static void test_guest_connect_refused(void **state)
{
	struct fix *f = *state;
	struct pkt p;

	bring_up(f);
	tx(f, VIRTIO_VSOCK_OP_REQUEST, 1234, 5001, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(p.src_port, 5001);
	assert_int_equal(p.dst_port, 1234);
	assert_int_equal(stats(f).conns, 0);
}

/* Host connects through PATH with CONNECT; the guest accepts. */
static void test_host_connect(void **state)
{
	struct fix *f = *state;
	char line[64], want[64];
	struct pkt p;
	uint32_t local;
	int hfd;

	bring_up(f);
	hfd = unix_connect(f->path);
	/* The rest of the stream may follow the line at once. */
	assert_int_equal(write(hfd, "CONNECT 7000\nearly", 18), 18);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(p.src_cid, VSOCK_HOST_CID);
	assert_int_equal(p.dst_port, 7000);
	assert_true(p.src_port >= (1u << 30));
	local = p.src_port;
	tx(f, VIRTIO_VSOCK_OP_RESPONSE, 7000, local, NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", local);
	assert_int_equal(host_read(hfd, line, strlen(want)), strlen(want));
	assert_memory_equal(line, want, strlen(want));
	rx_next_op(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(p.len, 5);
	assert_memory_equal(p.data, "early", 5);
	tx(f, VIRTIO_VSOCK_OP_RW, 7000, local, "ping", 4);
	assert_int_equal(host_read(hfd, line, 4), 4);
	assert_memory_equal(line, "ping", 4);
	/* The guest resets: the host's connection ends. */
	tx(f, VIRTIO_VSOCK_OP_RST, 7000, local, NULL, 0);
	assert_true(host_eof(hfd));
	close(hfd);
}

/* The guest refuses (RST): the host's connection closes without OK. */
static void test_host_connect_refused(void **state)
{
	struct fix *f = *state;
	struct pkt p;
	int hfd;

	bring_up(f);
	hfd = unix_connect(f->path);
	assert_int_equal(write(hfd, "CONNECT 7001\n", 13), 13);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_REQUEST);
	tx(f, VIRTIO_VSOCK_OP_RST, 7001, p.src_port, NULL, 0);
	assert_true(host_eof(hfd));
	close(hfd);
	assert_int_equal(stats(f).conns, 0);
}

/* The guest never answers: after 2 s an RST, and the host's end closes. */
static void test_host_connect_timeout(void **state)
{
	struct fix *f = *state;
	struct pkt p;
	uint32_t local;
	int hfd;

	bring_up(f);
	hfd = unix_connect(f->path);
	assert_int_equal(write(hfd, "CONNECT 7002\n", 13), 13);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_REQUEST);
	local = p.src_port;
	assert_false(rx_next_ms(f, &p, 1000));
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(p.src_port, local);
	assert_int_equal(p.dst_port, 7002);
	assert_true(host_eof(hfd));
	close(hfd);
	assert_int_equal(stats(f).conns, 0);
}

static void test_bad_handshake(void **state)
{
	struct fix *f = *state;
	static const char *const bad[] = {
		"HELLO\n",	"CONNECT\n",
		"CONNECT x1\n", "CONNECT 99999999999\n",
		"CONNECT -1\n", "CONNECT 123456789012345678901234567890\n",
	};
	struct pkt p;

	bring_up(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int hfd = unix_connect(f->path);

		assert_int_equal(write(hfd, bad[i], strlen(bad[i])),
				 (ssize_t)strlen(bad[i]));
		assert_true(host_eof(hfd));
		close(hfd);
	}
	/* Nothing reached the guest. */
	assert_false(rx_next_ms(f, &p, 100));
}

static void test_parse_connect(void **state)
{
	uint32_t port;
	size_t used;

	(void)state;
	assert_int_equal(vsock_unix_parse_connect("CONNECT 52\nxx", 13, &port,
						  &used),
			 0);
	assert_int_equal(port, 52);
	assert_int_equal(used, 11);
	assert_int_equal(vsock_unix_parse_connect("CONNECT 4294967295\n", 19,
						  &port, &used),
			 0);
	assert_int_equal(port, 4294967295u);
	assert_int_equal(vsock_unix_parse_connect("CONNECT 5", 9, &port, &used),
			 -EAGAIN);
	assert_int_equal(vsock_unix_parse_connect("CONNECT 4294967296\n", 19,
						  &port, &used),
			 -EINVAL);
	assert_int_equal(vsock_unix_parse_connect("CONNECT \n", 9, &port,
						  &used),
			 -EINVAL);
	assert_int_equal(
		vsock_unix_parse_connect("CONNECT 11111111111111111111111111",
					 34, &port, &used),
		-EINVAL);
}

/* Host to guest, within the guest's credit only. */
static void test_credit_to_guest(void **state)
{
	struct fix *f = *state;
	static uint8_t big[10000];
	char p5000[128];
	struct pkt p = { 0 };
	struct pkt req = { .src_cid = CID,
			   .dst_cid = VSOCK_HOST_CID,
			   .src_port = 1300,
			   .dst_port = 5000,
			   .type = VIRTIO_VSOCK_TYPE_STREAM,
			   .op = VIRTIO_VSOCK_OP_REQUEST,
			   .buf_alloc = 3000 };
	uint32_t got = 0;
	int lfd, hfd;

	bring_up(f);
	port_path(f, p5000, sizeof(p5000), 5000);
	lfd = unix_listen(p5000);
	tx_raw(f, &req, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RESPONSE);
	hfd = accept(lfd, NULL, NULL);
	memset(big, 0xab, sizeof(big));
	assert_int_equal(write(hfd, big, sizeof(big)), sizeof(big));
	/* 3000 bytes, then the device asks for credit. */
	while (got < 3000) {
		rx_next(f, &p);
		assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
		got += p.len;
	}
	assert_int_equal(got, 3000);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	assert_false(rx_next_ms(f, &p, 100));
	/* The guest read it all: room for the rest. */
	req.op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
	req.buf_alloc = GUEST_BUF;
	req.fwd_cnt = 3000;
	tx_raw(f, &req, NULL, 0);
	while (got < sizeof(big)) {
		rx_next(f, &p);
		assert_int_equal(p.op, VIRTIO_VSOCK_OP_RW);
		got += p.len;
	}
	assert_int_equal(got, sizeof(big));
	close(hfd);
	close(lfd);
	unlink(p5000);
}

/*
 * Guest to host past the credit the device gave, with the host not
 * reading: the device takes its buffer's worth and resets the stream.
 */
static void test_credit_overrun(void **state)
{
	struct fix *f = *state;
	char p5000[128];
	struct pkt p;
	int lfd, hfd, sent = 0;
	bool rst = false;

	bring_up(f);
	port_path(f, p5000, sizeof(p5000), 5000);
	lfd = unix_listen(p5000);
	tx(f, VIRTIO_VSOCK_OP_REQUEST, 1400, 5000, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(p.buf_alloc, 256u << 10);
	hfd = accept(lfd, NULL, NULL);
	for (int i = 0; i < 64 && !rst; i++) {
		tx(f, VIRTIO_VSOCK_OP_RW, 1400, 5000, NULL, 64u << 10);
		sent++;
		/* Credit updates come as the socket takes bytes. */
		while (!rst && rx_next_ms(f, &p, 20)) {
			assert_int_equal(p.dst_port, 1400);
			rst = p.op == VIRTIO_VSOCK_OP_RST;
		}
	}
	assert_true(rst);
	/* Not before the buffer the device promised was full. */
	assert_true(sent > 4);
	assert_int_equal(stats(f).conns, 0);
	close(hfd);
	close(lfd);
	unlink(p5000);
}

/* Packets that name no connection, or cannot be served: RST, or dropped. */
static void test_rst_cases(void **state)
{
	struct fix *f = *state;
	struct pkt p;
	struct pkt q = { .src_cid = CID,
			 .dst_cid = VSOCK_HOST_CID,
			 .src_port = 1500,
			 .dst_port = 6000,
			 .type = VIRTIO_VSOCK_TYPE_STREAM,
			 .op = VIRTIO_VSOCK_OP_RW };

	bring_up(f);
	/* RW, SHUTDOWN, RESPONSE on no connection. */
	tx(f, VIRTIO_VSOCK_OP_RW, 1500, 6000, "x", 1);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(p.src_port, 6000);
	assert_int_equal(p.dst_port, 1500);
	tx(f, VIRTIO_VSOCK_OP_SHUTDOWN, 1500, 6000, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	/* An RST gets none. */
	tx(f, VIRTIO_VSOCK_OP_RST, 1500, 6000, NULL, 0);
	assert_false(rx_next_ms(f, &p, 100));
	/* Unknown op. */
	tx(f, 99, 1500, 6000, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	/* SEQPACKET was not offered. */
	q.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	q.op = VIRTIO_VSOCK_OP_REQUEST;
	tx_raw(f, &q, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	/* Another CID than the host's: the RST comes from that CID. */
	q.type = VIRTIO_VSOCK_TYPE_STREAM;
	q.dst_cid = 42;
	tx_raw(f, &q, NULL, 0);
	rx_next(f, &p);
	assert_int_equal(p.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(p.src_cid, 42);
	/* Not the guest's own CID: dropped, nobody to answer. */
	q.dst_cid = VSOCK_HOST_CID;
	q.src_cid = 7;
	tx_raw(f, &q, NULL, 0);
	assert_true(vd_wait_until(tx_used, f, f->tx_slot));
	assert_false(rx_next_ms(f, &p, 100));
	assert_int_equal(stats(f).dropped, 1);
	assert_int_equal(status(f), S_ALL);
}

static bool needs_reset(struct fix *f, uintptr_t unused)
{
	return status(f) & S_NEEDS_RESET;
}

/* Chains that cannot be packets: DEVICE_NEEDS_RESET, then a reset heals. */
static void test_hostile_tx(void **state)
{
	struct fix *f = *state;
	struct pkt p = { .src_cid = CID,
			 .dst_cid = VSOCK_HOST_CID,
			 .src_port = 1,
			 .dst_port = 2,
			 .type = VIRTIO_VSOCK_TYPE_STREAM,
			 .op = VIRTIO_VSOCK_OP_RW };
	struct pkt r;

	for (int c = 0; c < 5; c++) {
		bring_up(f);
		switch (c) {
		case 0: /* shorter than a header */
			desc(f, TXQ, 0, TXHDR(0), HDR - 1, 0, 0);
			avail(f, TXQ, 0);
			kick(f, TXQ);
			break;
		case 1: /* len past the chain's end */
			p.len = 100;
			tx_raw(f, &p, NULL, 50);
			break;
		case 2: /* len over 64 KiB, all there */
			p.len = (64u << 10) + 1;
			tx_raw(f, &p, NULL, p.len);
			break;
		case 3: /* a device-writable descriptor */
			p.len = 0;
			hdr_put(vd_hva(&f->vm, TXHDR(0), HDR), &p);
			desc(f, TXQ, 0, TXHDR(0), HDR, VIRTQ_DESC_F_WRITE, 0);
			avail(f, TXQ, 0);
			kick(f, TXQ);
			break;
		case 4: /* buffer outside RAM */
			desc(f, TXQ, 0, RAM_SIZE + 0x1000, HDR, 0, 0);
			avail(f, TXQ, 0);
			kick(f, TXQ);
			break;
		}
		assert_true(vd_wait_until(needs_reset, f, 0));
		/* Nothing more from the device until the reset. */
		assert_false(rx_next_ms(f, &r, 50));
	}
	bring_up(f);
	tx(f, VIRTIO_VSOCK_OP_RW, 1, 2, "x", 1);
	rx_next(f, &r);
	assert_int_equal(r.op, VIRTIO_VSOCK_OP_RST);
}

/* A receive buffer that cannot hold a header. */
static void test_hostile_rx(void **state)
{
	struct fix *f = *state;

	vd_mmio_reset(&f->vm, BASE);
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	memset(f->used_seen, 0, sizeof(f->used_seen));
	f->tx_slot = 0;
	vd_mmio_ack(&f->vm, BASE);
	assert_true(vd_mmio_features_ok(&f->vm, BASE, F_VERSION_1));
	for (unsigned int q = 0; q < 3; q++)
		vd_mmio_setup_queue(&f->vm, BASE, q, 256, QSIZE, DESC(q),
				    AVAIL(q), USED(q));
	rx_post(f, 0, HDR - 4);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	tx(f, VIRTIO_VSOCK_OP_RW, 1, 2, "x", 1); /* an RST is owed */
	assert_true(vd_wait_until(needs_reset, f, 0));
}

static bool event_used(struct fix *f, uintptr_t unused)
{
	return used_idx(f, EVQ) != 0;
}

/*
 * A reset ends every connection; the driver that comes back hears
 * TRANSPORT_RESET.
 */
static void test_transport_reset(void **state)
{
	struct fix *f = *state;
	char p5000[128];
	struct pkt p;
	int lfd, hfd;

	bring_up(f);
	/* None on the first bring-up. */
	assert_false(vd_wait_ms(event_used, f, 0, 100));
	port_path(f, p5000, sizeof(p5000), 5000);
	lfd = unix_listen(p5000);
	tx(f, VIRTIO_VSOCK_OP_REQUEST, 1600, 5000, NULL, 0);
	rx_next(f, &p);
	hfd = accept(lfd, NULL, NULL);
	assert_int_equal(stats(f).conns, 1);
	bring_up(f);
	assert_true(host_eof(hfd));
	assert_int_equal(stats(f).conns, 0);
	assert_true(vd_wait_until(event_used, f, 0));
	assert_int_equal(vd_rd32(&f->vm, USED(EVQ) + 8), 4);
	assert_int_equal(vd_rd32(&f->vm, EVBUF),
			 VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	close(hfd);
	close(lfd);
	unlink(p5000);
}

/* A stale socket file is replaced; one in use is refused. */
static void test_socket_in_use(void **state)
{
	struct fix *f = *state;

	assert_null(virtio_vsock_create(&f->vm, CID, f->path, f->loop));
	assert_null(virtio_vsock_create(&f->vm, 2, "/tmp/x", f->loop));
}

/* vhost-vsock without its module: a clear error, no device. */
static void test_vhost_missing(void **state)
{
	struct fix *f = *state;
	struct vhost v;

	assert_int_equal(vhost_open(&v, "/nonexistent/vhost-vsock",
				    "vhost_vsock", "test"),
			 -ENOENT);
	assert_int_equal(v.fd, -1);
	assert_null(virtio_vhost_vsock_create(
		&f->vm, CID, "/nonexistent/vhost-vsock", f->loop));
	assert_null(virtio_vhost_vsock_create(&f->vm, 1, NULL, f->loop));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_config),
		T(test_guest_connect),
		T(test_host_close),
		T(test_guest_connect_refused),
		T(test_host_connect),
		T(test_host_connect_refused),
		T(test_host_connect_timeout),
		T(test_bad_handshake),
		cmocka_unit_test(test_parse_connect),
		T(test_credit_to_guest),
		T(test_credit_overrun),
		T(test_rst_cases),
		T(test_hostile_tx),
		T(test_hostile_rx),
		T(test_transport_reset),
		T(test_socket_in_use),
		T(test_vhost_missing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
