// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/net.h"
#include "util/evloop.h"

#include "helpers/net_frames.h"

/* ---- option parsing ---- */

static void test_parse_good(void **state)
{
	struct net_options o;
	char err[128];

	assert_int_equal(net_backend_parse("tap=tap0", &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.type, NET_TAP);
	assert_string_equal(o.ifname, "tap0");
	assert_false(o.has_mac);
	assert_int_equal(o.vhost, NET_VHOST_OFF);
	assert_false(o.mmio);

	assert_int_equal(net_backend_parse("tap=t1,vhost=auto,transport=mmio",
					   &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.vhost, NET_VHOST_AUTO);
	assert_true(o.mmio);
	assert_int_equal(
		net_backend_parse("tap=t1,vhost=on", &o, err, sizeof(err)), 0);
	assert_int_equal(o.vhost, NET_VHOST_ON);
	/* A tap someone else opened, passed down as a descriptor. */
	assert_int_equal(net_backend_parse("fd=7,vhost=auto,mac=52:54:00:00:"
					   "00:07",
					   &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.type, NET_TAP);
	assert_int_equal(o.nr_fds, 1);
	assert_int_equal(o.fds[0], 7);
	assert_int_equal(o.vhost, NET_VHOST_AUTO);
	assert_true(o.has_mac);
	assert_int_equal(net_backend_parse("fd=0", &o, err, sizeof(err)), 0);
	assert_int_equal(o.nr_fds, 1);
	assert_int_equal(o.fds[0], 0);
	assert_int_equal(net_options_pairs(&o), 1);
	/* A multi-queue tap: by name with queues=, or one fd per pair. */
	assert_int_equal(
		net_backend_parse("tap=mq0,queues=4", &o, err, sizeof(err)), 0);
	assert_int_equal(o.queues, 4);
	assert_int_equal(net_options_pairs(&o), 4);
	assert_int_equal(net_backend_parse("fds=7:8:9,mac=52:54:00:00:00:07",
					   &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.nr_fds, 3);
	assert_int_equal(o.fds[2], 9);
	assert_int_equal(net_options_pairs(&o), 3);
	/* Cloud Hypervisor's rate limiter keys. */
	assert_int_equal(net_backend_parse("user,bw_size=1000000,"
					   "bw_refill_time=1000,ops_size=10,"
					   "ops_refill_time=10",
					   &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.rate_limit.bw.size, 1000000);
	assert_int_equal(o.rate_limit.ops.refill_ms, 10);
	assert_int_equal(net_backend_parse("vhost-user=/run/n.sock,mac=52:54:"
					   "00:00:00:01,transport=mmio",
					   &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.type, NET_VHOST_USER);
	assert_string_equal(o.vhost_user, "/run/n.sock");
	assert_true(o.has_mac);
	assert_true(o.mmio);

	assert_int_equal(net_backend_parse("tap=tap%d,mac=52:54:00:12:34:56",
					   &o, err, sizeof(err)),
			 0);
	assert_string_equal(o.ifname, "tap%d");
	assert_true(o.has_mac);
	assert_memory_equal(o.mac, "\x52\x54\x00\x12\x34\x56", 6);

	assert_int_equal(net_backend_parse("user", &o, err, sizeof(err)), 0);
	assert_int_equal(o.type, NET_USER);
	assert_int_equal(o.nr_hostfwd, 0);
	assert_false(o.ipv6);

	assert_int_equal(net_backend_parse("user,hostfwd=tcp::2222-:22", &o,
					   err, sizeof(err)),
			 0);
	assert_int_equal(o.nr_hostfwd, 1);
	assert_false(o.hostfwd[0].udp);
	assert_int_equal(o.hostfwd[0].host_addr, inet_addr("127.0.0.1"));
	assert_int_equal(o.hostfwd[0].host_port, 2222);
	assert_int_equal(o.hostfwd[0].guest_addr, inet_addr("10.0.2.15"));
	assert_int_equal(o.hostfwd[0].guest_port, 22);

	assert_int_equal(
		net_backend_parse("user,hostfwd=udp:0.0.0.0:5353-10.0.2.20:53,"
				  "hostfwd=::65535-:1,mac=52:54:00:AB:cd:EF,"
				  "ipv6=on",
				  &o, err, sizeof(err)),
		0);
	assert_int_equal(o.nr_hostfwd, 2);
	assert_true(o.hostfwd[0].udp);
	assert_int_equal(o.hostfwd[0].host_addr, 0);
	assert_int_equal(o.hostfwd[0].host_port, 5353);
	assert_int_equal(o.hostfwd[0].guest_addr, inet_addr("10.0.2.20"));
	assert_int_equal(o.hostfwd[0].guest_port, 53);
	assert_false(o.hostfwd[1].udp);
	assert_int_equal(o.hostfwd[1].host_port, 65535);
	assert_int_equal(o.hostfwd[1].guest_port, 1);
	assert_memory_equal(o.mac, "\x52\x54\x00\xab\xcd\xef", 6);
	assert_true(o.ipv6);
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *spec;
		const char *err;
	} cases[] = {
		{ "", "empty net spec" },
		{ "tap", "tap needs an interface name: tap=NAME" },
		{ "tap=", "tap needs an interface name: tap=NAME" },
		{ "tap=abcdefghijklmnop",
		  "tap name 'abcdefghijklmnop' is longer than 15 characters" },
		{ "tap=a/b", "tap name 'a/b' is not a valid interface name" },
		{ "tap=..", "tap name '..' is not a valid interface name" },
		{ "bridge=br0",
		  "unknown net backend 'bridge=br0' (expected tap=NAME, fd=N, "
		  "fds=N:M..., user or vhost-user=SOCKET)" },
		{ "fds=3:3", "fds names 3 twice" },
		{ "fds=3::4", "fds takes the numbers of open tap descriptors, "
			      "one per queue pair, as N:M:..., not '3::4'" },
		{ "fds=3:4:", "fds takes the numbers of open tap descriptors, "
			      "one per queue pair, as N:M:..., not '3:4:'" },
		{ "fd=3:4", "fd takes the number of an open tap descriptor, "
			    "not '3:4'" },
		{ "fds=1:2:3:4:5:6:7:8:9",
		  "more than 8 tap descriptors (queue pairs)" },
		{ "tap=t,queues=0",
		  "queues takes the queue pairs, 1 to 8, not '0'" },
		{ "tap=t,queues=9",
		  "queues takes the queue pairs, 1 to 8, not '9'" },
		{ "user,queues=2", "net option 'queues' is for tap=NAME (fds= "
				   "gives one descriptor per queue pair)" },
		{ "fds=3:4,queues=2",
		  "net option 'queues' is for tap=NAME (fds= gives one "
		  "descriptor per queue pair)" },
		{ "user,ops_size=5", "net ops_: a size without a refill time" },
		{ "tap=t,bw_size=x", "bw_size takes a number, not 'x'" },
		{ "tap=t,vhost=on,ops_size=1,ops_refill_time=1",
		  "rate limits need devisor to move the frames: not with "
		  "vhost=on or vhost-user" },
		{ "tap=t,queues=2,vhost=on",
		  "vhost=on serves one queue pair; a multi-queue NIC is "
		  "devisor's own" },
		{ "fd=",
		  "fd takes the number of an open tap descriptor, not ''" },
		{ "fd=-1",
		  "fd takes the number of an open tap descriptor, not '-1'" },
		{ "fd=3x",
		  "fd takes the number of an open tap descriptor, not '3x'" },
		{ "fd=99999999999",
		  "fd takes the number of an open tap descriptor, not "
		  "'99999999999'" },
		{ "fd=3,hostfwd=tcp::1-:2",
		  "net option 'hostfwd' is only for user networking" },
		{ "vhost-user=", "vhost-user needs a socket path of 1 to 107 "
				 "characters" },
		{ "vhost-user=/s,vhost=on",
		  "net option 'vhost' is only for tap" },
		{ "vhost-user=/s,ipv6=on",
		  "net option 'ipv6' is only for user networking" },
		{ "user=1", "user takes no value" },
		{ "user,foo", "unknown net option 'foo'" },
		{ "user,foo=bar", "unknown net option 'foo'" },
		{ "tap=tap0,foo=1", "unknown net option 'foo'" },
		{ "user,", "empty net option" },
		{ "user,,mac=52:54:00:12:34:56", "empty net option" },
		{ "user,mac", "net option 'mac' needs a value" },
		{ "user,mac=", "net option 'mac' needs a value" },
		{ "user,mac=zz",
		  "mac 'zz' is not of the form xx:xx:xx:xx:xx:xx" },
		{ "user,mac=52:54:00:12:34",
		  "mac '52:54:00:12:34' is not of the form xx:xx:xx:xx:xx:xx" },
		{ "user,mac=52:54:00:12:34:5g",
		  "mac '52:54:00:12:34:5g' is not of the form "
		  "xx:xx:xx:xx:xx:xx" },
		{ "user,mac=52:54:00:12:34:567",
		  "mac '52:54:00:12:34:567' is not of the form "
		  "xx:xx:xx:xx:xx:xx" },
		{ "user,mac=01:00:5e:00:00:01",
		  "mac '01:00:5e:00:00:01' is a multicast address" },
		{ "user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57",
		  "mac given twice" },
		{ "user,hostfwd=tcp::70000-:22",
		  "hostfwd port 70000 out of range" },
		{ "user,hostfwd=tcp::2222-:0", "hostfwd port 0 out of range" },
		{ "user,hostfwd=tcp::22x-:22",
		  "hostfwd port '22x' is not a number" },
		{ "user,hostfwd=tcp::-:22", "hostfwd port '' is not a number" },
		{ "user,hostfwd=sctp::1-:2",
		  "hostfwd protocol 'sctp' is not tcp or udp" },
		{ "user,hostfwd=tcp:2222-:22",
		  "hostfwd 'tcp:2222-:22' is not of the form "
		  "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" },
		{ "user,hostfwd=tcp:1.2.3:2222-:22",
		  "hostfwd address '1.2.3' is not an IPv4 address" },
		{ "user,hostfwd=tcp::2222-192.168.1.5:22",
		  "hostfwd guest address 192.168.1.5 is not in 10.0.2.0/24" },
		{ "user,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23",
		  "hostfwd tcp port 2222 given twice" },
		{ "tap=tap0,hostfwd=tcp::2222-:22",
		  "net option 'hostfwd' is only for user networking" },
		{ "user,ipv6=maybe", "ipv6 'maybe' is not on or off" },
	};
	struct net_options o;
	char err[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(err, 'x', sizeof(err));
		assert_int_equal(net_backend_parse(cases[i].spec, &o, err,
						   sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, cases[i].err);
		assert_int_equal(o.type, NET_NONE);
	}
	assert_int_equal(net_backend_parse(NULL, &o, err, sizeof(err)),
			 -EINVAL);
}

static void test_parse_hostfwd_limit(void **state)
{
	char spec[1024] = "user";
	struct net_options o;
	char err[128];

	for (int i = 0; i < NET_MAX_HOSTFWD; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
			 ",hostfwd=tcp::%d-:22", 2000 + i);
	assert_int_equal(net_backend_parse(spec, &o, err, sizeof(err)), 0);
	assert_int_equal(o.nr_hostfwd, NET_MAX_HOSTFWD);
	strcat(spec, ",hostfwd=udp::1-:1");
	assert_int_equal(net_backend_parse(spec, &o, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "more than 16 hostfwd");
}

static void test_mac(void **state)
{
	uint8_t mac[6], again[6];
	char s[NET_MAC_STRLEN];

	assert_int_equal(net_mac_parse("52:54:00:12:34:56", mac), 0);
	net_mac_format(mac, s);
	assert_string_equal(s, "52:54:00:12:34:56");
	assert_int_equal(net_mac_parse("52-54-00-12-34-56", mac), -EINVAL);
	assert_int_equal(net_mac_parse(" 52:54:00:12:34:56", mac), -EINVAL);
	assert_int_equal(net_mac_parse("", mac), -EINVAL);

	for (int i = 0; i < 64; i++) {
		net_mac_random(mac);
		/* unicast, locally administered */
		assert_int_equal(mac[0] & 3, 2);
	}
	net_mac_random(again);
	assert_memory_not_equal(mac, again, 6);
}

/* ---- a fake guest for user networking ---- */

struct frame {
	size_t len;
	uint8_t data[2048];
};

struct guest {
	struct evloop *loop;
	struct net_backend *be;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct frame q[256];
	unsigned int head, tail;
	/* the rx callback answers -EAGAIN while set */
	bool refuse;
	unsigned int rx_calls;
	unsigned int refused;
	bool on_loop_thread;
	pthread_t test_thread;
	uint8_t gw_mac[6];
};

static ssize_t guest_rx(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct guest *g = opaque;
	struct frame *f;
	size_t len = 0;

	pthread_mutex_lock(&g->lock);
	g->rx_calls++;
	/* The API promises the I/O thread, never the sender's. */
	g->on_loop_thread &= !pthread_equal(pthread_self(), g->test_thread);
	if (g->refuse) {
		g->refused++;
		pthread_cond_broadcast(&g->cond);
		pthread_mutex_unlock(&g->lock);
		return -EAGAIN;
	}
	f = &g->q[g->tail % 256];
	for (int i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len <= sizeof(f->data))
			memcpy(f->data + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	f->len = len;
	if (g->tail - g->head < 256)
		g->tail++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return (ssize_t)len;
}

static void guest_send(struct guest *g, const uint8_t *f, size_t len)
{
	/* Split in two to exercise the gather path. */
	struct iovec iov[2] = {
		{ .iov_base = (void *)f, .iov_len = 10 },
		{ .iov_base = (void *)(f + 10), .iov_len = len - 10 },
	};

	assert_int_equal(net_backend_send(g->be, iov, 2), (int)len);
}

static void send_arp(struct guest *g, uint16_t op, const uint8_t *tha,
		     uint32_t tpa)
{
	uint8_t f[ARP_FRAME_LEN];

	guest_send(g, f, build_arp(f, op, tha, tpa));
}

static void send_tcp(struct guest *g, const struct tcp_seg *s)
{
	uint8_t f[TCP_FRAME_MAX];

	guest_send(g, f, build_tcp(f, g->gw_mac, s));
}

static bool decode(const struct frame *fr, struct pkt *p)
{
	/* IPv6 goes no further than its type here. */
	if (fr->len >= 14 && get16(fr->data + 12) == 0x86dd) {
		memset(p, 0, sizeof(*p));
		p->type = 0x86dd;
		p->l3 = fr->data + 14;
		return fr->len >= 14 + 40;
	}
	return pkt_decode(fr->data, fr->len, p);
}

/*
 * Waits for a frame that @match accepts, answering ARP requests for the
 * guest's address on the way, as a guest would. Other frames are dropped.
 */
static bool wait_frame(struct guest *g, pkt_match match, const void *arg,
		       struct frame *out)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		struct pkt p;

		while (g->head == g->tail) {
			if (pthread_cond_timedwait(&g->cond, &g->lock, &dl)) {
				pthread_mutex_unlock(&g->lock);
				return false;
			}
		}
		*out = g->q[g->head++ % 256];
		pthread_mutex_unlock(&g->lock);
		if (decode(out, &p)) {
			if (p.type == 0x0806 && p.arp_op == 1 &&
			    p.tpa == ip4(GUEST_IP))
				send_arp(g, 2, p.sha, p.spa);
			else if (match(&p, arg))
				return true;
		}
		pthread_mutex_lock(&g->lock);
	}
}

#ifdef HAVE_SLIRP
#define NEED_SLIRP() ((void)0)
#else
#define NEED_SLIRP() skip()
#endif

static struct guest *guest_start(const char *spec)
{
	struct guest *g = calloc(1, sizeof(*g));
	struct net_options o;
	char err[128];

	assert_non_null(g);
	assert_int_equal(net_backend_parse(spec, &o, err, sizeof(err)), 0);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->on_loop_thread = true;
	g->test_thread = pthread_self();
	g->loop = evloop_create("net-test");
	assert_non_null(g->loop);
	g->be = net_backend_open(&o, g->loop);
	assert_non_null(g->be);
	assert_false(g->be->has_vnet_hdr);
	assert_int_equal(net_backend_set_offloads(g->be, false, false, false,
						  false, false),
			 0);
	assert_int_equal(net_backend_set_offloads(g->be, true, false, false,
						  false, false),
			 -EOPNOTSUPP);
	assert_int_equal(net_backend_start(g->be, guest_rx, NULL, g), 0);
	return g;
}

static void guest_stop(struct guest *g)
{
	net_backend_close(g->be);
	evloop_destroy(g->loop);
	assert_true(g->on_loop_thread);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	free(g);
}

/* Resolves the gateway as a guest would, for the TCP tests. */
static void guest_arp_gateway(struct guest *g)
{
	struct frame fr;
	struct pkt p;

	send_arp(g, 1, (const uint8_t[6]){ 0 }, ip4(HOST_IP));
	assert_true(wait_frame(g, is_arp_reply_from, HOST_IP, &fr));
	decode(&fr, &p);
	assert_int_equal(p.tpa, ip4(GUEST_IP));
	assert_memory_equal(fr.data, guest_mac, 6);
	memcpy(g->gw_mac, p.sha, 6);
}

/* ---- user networking ---- */

static void test_slirp_dhcp_arp(void **state)
{
	struct guest *g = guest_start("user,mac=52:54:00:12:34:56");
	uint8_t f[DHCP_DISCOVER_LEN];
	const uint8_t *v;
	struct frame fr;
	struct pkt p;
	size_t len;

	NEED_SLIRP();

	assert_memory_equal(g->be->mac, guest_mac, 6);
	guest_send(g, f, build_dhcp_discover(f));

	assert_true(wait_frame(g, is_dhcp_reply, NULL, &fr));
	decode(&fr, &p);
	assert_int_equal(p.src, ip4(HOST_IP));
	assert_int_equal(p.payload[0], 2); /* BOOTREPLY */
	assert_int_equal(get32(p.payload + 4), 0x12345678);
	assert_int_equal(get32(p.payload + 16), ip4(GUEST_IP));
	assert_memory_equal(p.payload + 28, guest_mac, 6);
	v = dhcp_opt(&p, 53, &len);
	assert_non_null(v);
	assert_int_equal(*v, 2); /* DHCPOFFER */
	v = dhcp_opt(&p, 3, &len);
	assert_non_null(v);
	assert_int_equal(get32(v), ip4(HOST_IP));
	v = dhcp_opt(&p, 6, &len);
	assert_non_null(v);
	assert_int_equal(get32(v), ip4(DNS_IP));
	v = dhcp_opt(&p, 1, &len);
	assert_non_null(v);
	assert_int_equal(get32(v), 0xffffff00);

	guest_arp_gateway(g);
	/* and DNS has an address too */
	send_arp(g, 1, (const uint8_t[6]){ 0 }, ip4(DNS_IP));
	assert_true(wait_frame(g, is_arp_reply_from, DNS_IP, &fr));
	guest_stop(g);
}

/* The gateway is the host's loopback: a TCP exchange by hand proves it. */
static void test_slirp_tcp_to_host(void **state)
{
	static const char hello[] = "hello from the guest";
	static const char reply[] = "hello from the host";
	struct guest *g = guest_start("user");
	uint32_t iss = 1000, their;
	struct tcp_seg s;
	struct flow fl;
	struct frame fr;
	struct pkt p;
	uint16_t port;
	char buf[64];
	int ls, cs;

	NEED_SLIRP();

	ls = listen_loopback(&port);
	guest_arp_gateway(g);

	s = (struct tcp_seg){ .src = ip4(GUEST_IP),
			      .dst = ip4(HOST_IP),
			      .sport = 40000,
			      .dport = port,
			      .seq = iss,
			      .flags = TH_SYN };
	send_tcp(g, &s);
	fl = (struct flow){ .src = ip4(HOST_IP),
			    .dst = ip4(GUEST_IP),
			    .sport = port,
			    .dport = 40000,
			    .flags = TH_SYN | TH_ACK };
	assert_true(wait_frame(g, is_tcp, &fl, &fr));
	decode(&fr, &p);
	assert_int_equal(p.ack, iss + 1);
	their = p.seq + 1;

	s.flags = TH_ACK;
	s.seq = iss + 1;
	s.ack = their;
	send_tcp(g, &s);
	s.flags = TH_ACK | TH_PSH;
	s.data = hello;
	s.len = strlen(hello);
	send_tcp(g, &s);

	cs = accept_timeout(ls);
	assert_true(cs >= 0);
	assert_int_equal(recv_timeout(cs, buf, sizeof(buf)), strlen(hello));
	assert_memory_equal(buf, hello, strlen(hello));

	/* and back */
	assert_int_equal(send(cs, reply, strlen(reply), 0), strlen(reply));
	fl.flags = TH_ACK;
	fl.data = true;
	assert_true(wait_frame(g, is_tcp, &fl, &fr));
	decode(&fr, &p);
	assert_int_equal(p.seq, their);
	assert_int_equal(p.ack, iss + 1 + strlen(hello));
	assert_int_equal(p.paylen, strlen(reply));
	assert_memory_equal(p.payload, reply, strlen(reply));

	close(cs);
	close(ls);
	guest_stop(g);
}

static uint16_t free_port(void)
{
	uint16_t port;
	int s = listen_loopback(&port);

	close(s);
	return port;
}

static void test_slirp_hostfwd(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	uint16_t hport = free_port(), gport = 8022;
	char spec[64], buf[16];
	struct guest *g;
	struct tcp_seg s;
	struct flow fl;
	struct frame fr;
	struct pkt p;
	int cs;

	NEED_SLIRP();

	snprintf(spec, sizeof(spec), "user,hostfwd=tcp::%u-:%u", hport, gport);
	g = guest_start(spec);

	cs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(cs >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(hport);
	assert_int_equal(connect(cs, (struct sockaddr *)&a, sizeof(a)), 0);

	/* slirp accepts and opens the guest side: a SYN, after an ARP */
	fl = (struct flow){ .src = ip4(HOST_IP),
			    .dst = ip4(GUEST_IP),
			    .dport = gport,
			    .flags = TH_SYN };
	for (;;) {
		assert_true(wait_frame(g, is_tcp, &fl, &fr));
		decode(&fr, &p);
		if (!(p.flags & TH_ACK))
			break;
	}
	assert_int_equal(p.flags & (TH_SYN | TH_ACK | TH_RST), TH_SYN);
	memcpy(g->gw_mac, fr.data + 6, 6);

	/* The guest accepts; then bytes from the host reach it. */
	s = (struct tcp_seg){ .src = ip4(GUEST_IP),
			      .dst = ip4(HOST_IP),
			      .sport = gport,
			      .dport = p.sport,
			      .seq = 5000,
			      .ack = p.seq + 1,
			      .flags = TH_SYN | TH_ACK };
	send_tcp(g, &s);
	assert_int_equal(send(cs, "ping", 4, 0), 4);
	fl = (struct flow){ .src = ip4(HOST_IP),
			    .dst = ip4(GUEST_IP),
			    .sport = p.sport,
			    .dport = gport,
			    .flags = TH_ACK,
			    .data = true };
	assert_true(wait_frame(g, is_tcp, &fl, &fr));
	decode(&fr, &p);
	assert_int_equal(p.paylen, 4);
	assert_memory_equal(p.payload, "ping", 4);

	/* and the guest's reply reaches the host */
	s.seq = 5001;
	s.ack = p.seq + 4;
	s.flags = TH_ACK | TH_PSH;
	s.data = "pong";
	s.len = 4;
	send_tcp(g, &s);
	assert_int_equal(recv_timeout(cs, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);

	close(cs);
	guest_stop(g);
}

/* Runs @fn with stderr going to @buf. */
static void capture_stderr(char *buf, size_t len, void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

struct try_open {
	const char *spec;
	struct evloop *loop;
	struct net_backend *be;
	int err;
};

static void try_open(void *arg)
{
	struct try_open *t = arg;
	struct net_options o;
	char err[128];

	assert_int_equal(net_backend_parse(t->spec, &o, err, sizeof(err)), 0);
	errno = 0;
	t->be = net_backend_open(&o, t->loop);
	t->err = errno;
}

static void test_slirp_hostfwd_busy_port(void **state)
{
	struct try_open t = { .spec = NULL };
	char spec[64], msg[512], want[128];
	uint16_t port;
	int ls;

	NEED_SLIRP();
	ls = listen_loopback(&port);
	t.loop = evloop_create("net-test");
	snprintf(spec, sizeof(spec), "user,hostfwd=tcp::%u-:22", port);
	t.spec = spec;
	capture_stderr(msg, sizeof(msg), try_open, &t);
	assert_null(t.be);
	assert_int_equal(t.err, EADDRINUSE);
	snprintf(want, sizeof(want),
		 "hostfwd tcp 127.0.0.1:%u -> 10.0.2.15:22: cannot listen on "
		 "the host: Address already in use",
		 port);
	assert_non_null(strstr(msg, want));
	close(ls);
	evloop_destroy(t.loop);
}

static bool is_router_advert(const struct pkt *p, const void *arg)
{
	/* next header ICMPv6, type 134 */
	return p->type == 0x86dd && p->l3[6] == 58 && p->l3[40] == 134;
}

/* ipv6=on: a router solicitation gets fec0::/64 advertised. */
static void test_slirp_ipv6_ra(void **state)
{
	static const uint8_t allrouters[6] = { 0x33, 0x33, 0, 0, 0, 2 };
	uint8_t f[14 + 40 + 8] = { 0 }, ph[40] = { 0 },
			    fec0[16] = { 0xfe, 0xc0 };
	uint8_t *ip6, *icmp;
	const uint8_t *o, *end;
	struct guest *g;
	struct frame fr;
	struct pkt p;

	NEED_SLIRP();
	g = guest_start("user,ipv6=on");
	ip6 = f + put_eth(f, allrouters, 0x86dd);
	icmp = ip6 + 40;
	ip6[0] = 0x60;
	put16(ip6 + 4, 8);
	ip6[6] = 58;
	ip6[7] = 255;
	/* fe80::5054:ff:fe12:3456 -> ff02::2 */
	ip6[8] = 0xfe;
	ip6[9] = 0x80;
	memcpy(ip6 + 16, "\x50\x54\x00\xff\xfe\x12\x34\x56", 8);
	ip6[24] = 0xff;
	ip6[25] = 0x02;
	ip6[39] = 2;
	icmp[0] = 133;
	memcpy(ph, ip6 + 8, 32);
	put32(ph + 32, 8);
	ph[39] = 58;
	put16(icmp + 2, (uint16_t)~csum_add(csum_add(0, ph, 40), icmp, 8));
	guest_send(g, f, sizeof(f));

	assert_true(wait_frame(g, is_router_advert, NULL, &fr));
	decode(&fr, &p);
	o = p.l3 + 40 + 16;
	end = p.l3 + 40 + get16(p.l3 + 4);
	while (o + 8 <= end && o[1] && o[0] != 3)
		o += 8 * o[1];
	assert_true(o + 32 <= end);
	assert_int_equal(o[0], 3);
	assert_int_equal(o[2], 64);
	assert_memory_equal(o + 16, fec0, 16);
	guest_stop(g);
}

static unsigned int guest_refused(struct guest *g)
{
	unsigned int n;

	pthread_mutex_lock(&g->lock);
	n = g->refused;
	pthread_mutex_unlock(&g->lock);
	return n;
}

static void test_slirp_backpressure(void **state)
{
	struct guest *g = guest_start("user");
	struct timespec dl;
	struct frame fr;
	struct pkt p;
	unsigned int refused;

	NEED_SLIRP();

	pthread_mutex_lock(&g->lock);
	g->refuse = true;
	pthread_mutex_unlock(&g->lock);

	send_arp(g, 1, (const uint8_t[6]){ 0 }, ip4(HOST_IP));
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&g->lock);
	while (!g->refused)
		assert_int_equal(
			pthread_cond_timedwait(&g->cond, &g->lock, &dl), 0);
	pthread_mutex_unlock(&g->lock);

	/* Held, not retried in a loop, and what follows queues behind. */
	send_arp(g, 1, (const uint8_t[6]){ 0 }, ip4(DNS_IP));
	usleep(300 * 1000);
	refused = guest_refused(g);
	assert_in_range(refused, 1, 3);
	usleep(200 * 1000);
	assert_int_equal(guest_refused(g), refused);
	assert_int_equal(g->tail, 0);

	pthread_mutex_lock(&g->lock);
	g->refuse = false;
	pthread_mutex_unlock(&g->lock);
	net_backend_rx_ready(g->be);

	/* Both replies, in order. */
	assert_true(wait_frame(g, is_arp_reply_from, HOST_IP, &fr));
	assert_int_equal(g->head, 1);
	assert_true(wait_frame(g, is_arp_reply_from, DNS_IP, &fr));
	assert_int_equal(g->head, 2);
	decode(&fr, &p);
	assert_int_equal(p.tpa, ip4(GUEST_IP));
	guest_stop(g);
}

/* ---- tap ---- */

#define ETH_P_TEST 0x88b5

static bool tap_up(const char *name, int *ifindex)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.15s", name);
	ok = s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ok = ok && !ioctl(s, SIOCSIFFLAGS, &ifr);
	if (s >= 0)
		close(s);
	*ifindex = (int)if_nametoindex(name);
	return ok && *ifindex > 0;
}

/* Next frame of ours (vnet header, then ETH_P_TEST) from the tap. */
static bool wait_tap_frame(struct guest *g, struct frame *out)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		while (g->head == g->tail) {
			if (pthread_cond_timedwait(&g->cond, &g->lock, &dl)) {
				pthread_mutex_unlock(&g->lock);
				return false;
			}
		}
		*out = g->q[g->head++ % 256];
		/* The kernel sends its own (IPv6) frames on link up. */
		if (out->len >= NET_VNET_HDR_LEN + 14 &&
		    get16(out->data + NET_VNET_HDR_LEN + 12) == ETH_P_TEST)
			break;
	}
	pthread_mutex_unlock(&g->lock);
	return true;
}

static void test_frame(uint8_t f[60], const char *tag)
{
	memset(f, 0, 60);
	memcpy(f, guest_mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	put16(f + 12, ETH_P_TEST);
	memcpy(f + 14, tag, strlen(tag));
}

static void assert_tap_frame(struct guest *g, const char *tag)
{
	static const uint8_t zero_hdr[NET_VNET_HDR_LEN];
	struct frame fr;
	uint8_t want[60];

	test_frame(want, tag);
	assert_true(wait_tap_frame(g, &fr));
	assert_int_equal(fr.len, NET_VNET_HDR_LEN + 60);
	/* no offload on a frame from a packet socket, num_buffers 0 */
	assert_memory_equal(fr.data, zero_hdr, NET_VNET_HDR_LEN);
	assert_memory_equal(fr.data + NET_VNET_HDR_LEN, want, 60);
}

/*
 * Frames both ways through the tap, seen from a packet socket on the
 * host side, with the guest refusing the first ones for a while.
 */
static void tap_round_trip(struct guest *g)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_TEST) };
	uint8_t f[60], hdr[NET_VNET_HDR_LEN] = { 0 }, buf[128];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { f, sizeof(f) } };
	struct pollfd pfd = { .events = POLLIN };
	struct timespec dl;
	unsigned int refused;
	int ps;

	if (!tap_up(g->be->name, &sll.sll_ifindex)) {
		print_message("cannot bring %s up: no frame round trip\n",
			      g->be->name);
		return;
	}
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_TEST));
	assert_true(ps >= 0);
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* host -> guest: the guest has no buffers at first */
	test_frame(f, "one");
	assert_int_equal(send(ps, f, sizeof(f), 0), sizeof(f));
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&g->lock);
	while (!g->refused)
		assert_int_equal(
			pthread_cond_timedwait(&g->cond, &g->lock, &dl), 0);
	pthread_mutex_unlock(&g->lock);
	test_frame(f, "two");
	assert_int_equal(send(ps, f, sizeof(f), 0), sizeof(f));
	usleep(200 * 1000);
	refused = guest_refused(g);
	assert_int_equal(refused, 1);

	pthread_mutex_lock(&g->lock);
	g->refuse = false;
	pthread_mutex_unlock(&g->lock);
	net_backend_rx_ready(g->be);
	assert_tap_frame(g, "one");
	assert_tap_frame(g, "two");

	/* guest -> host, header first */
	test_frame(f, "three");
	assert_int_equal(net_backend_send(g->be, iov, 2), sizeof(hdr) + 60);
	pfd.fd = ps;
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	assert_int_equal(recv(ps, buf, sizeof(buf), 0), 60);
	assert_memory_equal(buf, f, 60);
	close(ps);
}

/* Frames both ways through a tap back-end @be, which it then closes. */
static void tap_round_trip_on(struct net_backend *be)
{
	struct guest g = { .refuse = true, .on_loop_thread = true };

	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	g.test_thread = pthread_self();
	g.be = be;
	assert_int_equal(net_backend_start(be, guest_rx, NULL, &g), 0);
	tap_round_trip(&g);
	net_backend_close(be);
	assert_true(g.on_loop_thread);
	pthread_mutex_destroy(&g.lock);
	pthread_cond_destroy(&g.cond);
}

static void test_tap(void **state)
{
	struct try_open t = { .spec = "tap=dvt%d,mac=52:54:00:12:34:56" };
	char msg[512];

	if (access("/dev/net/tun", F_OK)) {
		print_message("no /dev/net/tun: tap not tested\n");
		skip();
	}
	t.loop = evloop_create("net-test");
	assert_non_null(t.loop);
	capture_stderr(msg, sizeof(msg), try_open, &t);
	if (!t.be) {
		/* Unprivileged: the message must say what to do. */
		assert_int_equal(t.err, EPERM);
		assert_non_null(strstr(msg, "CAP_NET_ADMIN"));
		assert_non_null(strstr(msg, "ip tuntap add"));
		evloop_destroy(t.loop);
		return;
	}
	assert_true(t.be->has_vnet_hdr);
	assert_int_equal(strncmp(t.be->name, "dvt", 3), 0);
	assert_memory_equal(t.be->mac, guest_mac, 6);
	assert_int_equal(net_backend_set_offloads(t.be, true, true, true, true,
						  true),
			 0);
	assert_int_equal(net_backend_set_offloads(t.be, false, true, false,
						  false, false),
			 -EINVAL);
	assert_int_equal(net_backend_set_offloads(t.be, true, false, false,
						  true, false),
			 -EINVAL);
	assert_int_equal(net_backend_set_offloads(t.be, false, false, false,
						  false, false),
			 0);

	tap_round_trip_on(t.be);

	/* An interface that is not a tap: say so. */
	t.spec = "tap=lo";
	capture_stderr(msg, sizeof(msg), try_open, &t);
	assert_null(t.be);
	assert_int_equal(t.err, EINVAL);
	assert_non_null(strstr(msg, "not a single-queue tap"));
	evloop_destroy(t.loop);
}

/* A tap of the test's own, as an orchestrator opens one: fd or -errno. */
static int open_tap(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * fd=N: a tap another process attached (Kata's are multi-queue, with a
 * vnet header) is used through a dup; one without the header carries
 * bare frames; a tun or a pipe is refused, naming why.
 */
static void test_tap_fd(void **state)
{
	struct try_open t = { .spec = NULL };
	char spec[64], msg[512];
	int fd, p[2];

	if (access("/dev/net/tun", F_OK))
		skip();
	fd = open_tap("dvf%d",
		      IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE);
	if (fd == -EPERM) {
		/* test_tap_not_permitted covers an unprivileged host. */
		print_message("no CAP_NET_ADMIN: fd= taps not tested\n");
		skip();
	}
	assert_true(fd >= 0);
	t.loop = evloop_create("net-test");
	snprintf(spec, sizeof(spec), "fd=%d,mac=52:54:00:12:34:56", fd);
	t.spec = spec;
	capture_stderr(msg, sizeof(msg), try_open, &t);
	assert_non_null(t.be);
	assert_true(t.be->has_vnet_hdr);
	assert_int_equal(strncmp(t.be->name, "dvf", 3), 0);
	tap_round_trip_on(t.be);
	/* devisor closed its dup, not the caller's descriptor. */
	assert_true(fcntl(fd, F_GETFD) >= 0);
	close(fd);

	fd = open_tap("dvf%d", IFF_TAP | IFF_NO_PI);
	assert_true(fd >= 0);
	snprintf(spec, sizeof(spec), "fd=%d", fd);
	capture_stderr(msg, sizeof(msg), try_open, &t);
	assert_non_null(t.be);
	assert_false(t.be->has_vnet_hdr);
	assert_non_null(strstr(msg, "no vnet header"));
	net_backend_close(t.be);
	close(fd);

	fd = open_tap("dvf%d", IFF_TUN | IFF_NO_PI);
	assert_true(fd >= 0);
	capture_stderr(msg, sizeof(msg), try_open, &t);
	assert_null(t.be);
	assert_non_null(strstr(msg, "is a tun (IP frames), not a tap"));
	close(fd);

	assert_int_equal(pipe(p), 0);
	snprintf(spec, sizeof(spec), "fd=%d", p[0]);
	capture_stderr(msg, sizeof(msg), try_open, &t);
	assert_null(t.be);
	assert_non_null(strstr(msg, "is not an attached tap"));
	close(p[0]);
	close(p[1]);
	/* Well above anything this test has open. */
	assert_true(fcntl(1000, F_GETFD) < 0);
	snprintf(spec, sizeof(spec), "fd=%d", 1000);
	capture_stderr(msg, sizeof(msg), try_open, &t);
	assert_null(t.be);
	assert_non_null(strstr(msg, "is not open"));
	evloop_destroy(t.loop);
}

/* The queues attached to tap @name: one tx-N in sysfs each. */
static unsigned int queues_attached(const char *name)
{
	char path[96];
	unsigned int n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "tx-", 3);
	closedir(d);
	return n;
}

/*
 * A multi-queue tap, by name (queues=) or as an orchestrator's queues
 * (fds=): one back-end per queue, all on one interface; a queue turned
 * off is detached, so every frame from the host comes to the others;
 * an adopted queue goes back attached, as it came.
 */
static void test_tap_multiqueue(void **state)
{
	struct net_backend *bes[NET_MAX_QUEUE_PAIRS];
	const short mq = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	struct evloop *loop;
	struct net_options o;
	char err[200], spec[64], name[IFNAMSIZ];
	int a, b, c;

	if (access("/dev/net/tun", F_OK))
		skip();
	a = open_tap("dvq%d", mq);
	if (a == -EPERM) {
		print_message(
			"no CAP_NET_ADMIN: multi-queue taps not tested\n");
		skip();
	}
	assert_true(a >= 0);
	close(a);
	loop = evloop_create("net-test");
	assert_int_equal(net_backend_parse("tap=dvq%d,queues=2,mac=52:54:00:"
					   "12:34:56",
					   &o, err, sizeof(err)),
			 0);
	assert_int_equal(net_backend_open_queues(&o, loop, bes), 2);
	assert_int_equal(strncmp(bes[0]->name, "dvq", 3), 0);
	assert_string_equal(bes[1]->name, bes[0]->name);
	assert_memory_equal(bes[1]->mac, bes[0]->mac, 6);
	assert_true(bes[1]->has_vnet_hdr);
	assert_int_equal(queues_attached(bes[0]->name), 2);
	net_backend_set_active(bes[1], false);
	assert_int_equal(queues_attached(bes[0]->name), 1);
	/* Queue 0 alone gets every frame the host sends. */
	tap_round_trip_on(bes[0]);
	net_backend_close(bes[1]);

	/* An orchestrator's queues: a dup each, left attached at close. */
	a = open_tap("dvr%d", mq);
	assert_true(a >= 0);
	{
		struct ifreq ifr = { 0 };

		assert_int_equal(ioctl(a, TUNGETIFF, &ifr), 0);
		memcpy(name, ifr.ifr_name, IFNAMSIZ);
	}
	b = open_tap(name, mq);
	assert_true(b >= 0);
	snprintf(spec, sizeof(spec), "fds=%d:%d", a, b);
	assert_int_equal(net_backend_parse(spec, &o, err, sizeof(err)), 0);
	assert_int_equal(net_backend_preload(&o), 0);
	assert_string_equal(o.ifname, name);
	assert_int_equal(net_backend_open_queues(&o, loop, bes), 2);
	net_backend_set_active(bes[1], false);
	assert_int_equal(queues_attached(name), 1);
	net_backend_close(bes[1]);
	assert_int_equal(queues_attached(name), 2);
	/* Its last descriptor closed, the queue is gone. */
	close(b);
	tap_round_trip_on(bes[0]);

	/* Queues of two taps, or single-queue taps: not one NIC's. */
	c = open_tap("dvr%d", mq);
	assert_true(c >= 0);
	assert_int_equal(net_tap_fds_check((int[]){ a, c }, 2, true, o.ifname,
					   NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "the second descriptor sent with the "
				    "request is a queue of tap dvr"));
	close(c);
	c = open_tap("dvr%d", IFF_TAP | IFF_NO_PI);
	assert_true(c >= 0);
	snprintf(spec, sizeof(spec), "fd %d is a single-queue tap", c);
	assert_int_equal(net_tap_fds_check((int[]){ c, a }, 2, false, o.ifname,
					   NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, spec));
	close(c);
	close(a);
	evloop_destroy(loop);
}

/* Without CAP_NET_ADMIN creating a tap fails with advice. */
static void test_tap_not_permitted(void **state)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	char msg[512];
	int status;
	pid_t pid;

	if (access("/dev/net/tun", F_OK))
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct try_open t = { .spec = "tap=dvt%d" };

		if (syscall(SYS_capget, &hdr, data))
			_exit(10);
		data[CAP_NET_ADMIN / 32].effective &=
			~(1u << (CAP_NET_ADMIN % 32));
		if (syscall(SYS_capset, &hdr, data))
			_exit(11);
		t.loop = evloop_create("net-test");
		capture_stderr(msg, sizeof(msg), try_open, &t);
		if (t.be)
			_exit(12);
		if (t.err != EPERM)
			_exit(13);
		if (!strstr(msg, "needs CAP_NET_ADMIN") ||
		    !strstr(msg, "ip tuntap add dev dvt%d mode tap user"))
			_exit(14);
		evloop_destroy(t.loop);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_hostfwd_limit),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_slirp_dhcp_arp),
		cmocka_unit_test(test_slirp_tcp_to_host),
		cmocka_unit_test(test_slirp_hostfwd),
		cmocka_unit_test(test_slirp_hostfwd_busy_port),
		cmocka_unit_test(test_slirp_ipv6_ra),
		cmocka_unit_test(test_slirp_backpressure),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_tap_fd),
		cmocka_unit_test(test_tap_multiqueue),
		cmocka_unit_test(test_tap_not_permitted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
