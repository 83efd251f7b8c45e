// SPDX-License-Identifier: GPL-2.0
/* Frames for the network unit tests; see net_frames.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "helpers/net_frames.h"

const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

uint16_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t csum(const void *data, size_t len)
{
	return (uint16_t)~csum_add(0, data, len);
}

void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

uint32_t ip4(const char *s)
{
	return ntohl(inet_addr(s));
}

size_t put_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, type);
	return 14;
}

size_t put_ip(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto,
	      size_t l4len)
{
	static uint16_t id = 1;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, id++);
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum(ip, 20));
	return 20;
}

uint16_t l4_csum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4,
		 size_t len)
{
	uint8_t ph[12];

	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	return (uint16_t)~csum_add(csum_add(0, ph, 12), l4, len);
}

size_t build_arp(uint8_t *f, uint16_t op, const uint8_t *tha, uint32_t tpa)
{
	uint8_t *a;

	memset(f, 0, ARP_FRAME_LEN);
	a = f + put_eth(f, op == 1 ? bcast_mac : tha, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, guest_mac, 6);
	put32(a + 14, ip4(GUEST_IP));
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return ARP_FRAME_LEN;
}

size_t build_tcp(uint8_t *f, const uint8_t *gw_mac, const struct tcp_seg *s)
{
	size_t hl = (s->flags & TH_SYN) ? 24 : 20;
	uint8_t *ip = f + put_eth(f, gw_mac, 0x0800);
	uint8_t *th = ip + put_ip(ip, s->src, s->dst, 6, hl + s->len);

	memset(th, 0, hl);
	put16(th, s->sport);
	put16(th + 2, s->dport);
	put32(th + 4, s->seq);
	put32(th + 8, s->ack);
	th[12] = (uint8_t)((hl / 4) << 4);
	th[13] = s->flags;
	put16(th + 14, 65535);
	if (hl == 24) {
		/* MSS 1460 */
		th[20] = 2;
		th[21] = 4;
		put16(th + 22, 1460);
	}
	if (s->len)
		memcpy(th + hl, s->data, s->len);
	put16(th + 16, l4_csum(s->src, s->dst, 6, th, hl + s->len));
	return (size_t)(th + hl + s->len - f);
}

size_t build_dhcp_discover(uint8_t *f)
{
	uint8_t *ip, *udp, *bp, *opt;

	memset(f, 0, DHCP_DISCOVER_LEN);
	ip = f + put_eth(f, bcast_mac, 0x0800);
	udp = ip + put_ip(ip, 0, 0xffffffff, 17, 8 + 548);
	bp = udp + 8;
	opt = bp + 236;
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, 8 + 548);
	bp[0] = 1; /* BOOTREQUEST */
	bp[1] = 1;
	bp[2] = 6;
	put32(bp + 4, 0x12345678);
	put16(bp + 10, 0x8000);
	memcpy(bp + 28, guest_mac, 6);
	put32(opt, 0x63825363);
	opt[4] = 53; /* DHCPDISCOVER */
	opt[5] = 1;
	opt[6] = 1;
	opt[7] = 255;
	put16(udp + 6, l4_csum(0, 0xffffffff, 17, udp, 8 + 548));
	return DHCP_DISCOVER_LEN;
}

bool pkt_decode(const uint8_t *d, size_t len, struct pkt *p)
{
	size_t ihl, totlen;

	memset(p, 0, sizeof(*p));
	if (len < 14)
		return false;
	p->type = get16(d + 12);
	p->l3 = d + 14;
	if (p->type == 0x0806 && len >= 42) {
		p->arp_op = get16(p->l3 + 6);
		p->sha = p->l3 + 8;
		p->spa = get32(p->l3 + 14);
		p->tpa = get32(p->l3 + 24);
		return true;
	}
	if (p->type != 0x0800 || len < 34)
		return false;
	ihl = (size_t)(p->l3[0] & 15) * 4;
	totlen = get16(p->l3 + 2);
	if (totlen > len - 14 || ihl < 20 || totlen < ihl + 8)
		return false;
	assert_int_equal(csum(p->l3, ihl), 0);
	p->proto = p->l3[9];
	p->src = get32(p->l3 + 12);
	p->dst = get32(p->l3 + 16);
	p->sport = get16(p->l3 + ihl);
	p->dport = get16(p->l3 + ihl + 2);
	if (p->proto == 6) {
		const uint8_t *th = p->l3 + ihl;
		size_t thl = (size_t)(th[12] >> 4) * 4;

		assert_int_equal(l4_csum(p->src, p->dst, 6, th, totlen - ihl),
				 0);
		p->seq = get32(th + 4);
		p->ack = get32(th + 8);
		p->flags = th[13];
		p->payload = th + thl;
		p->paylen = totlen - ihl - thl;
	} else if (p->proto == 17) {
		p->payload = p->l3 + ihl + 8;
		p->paylen = totlen - ihl - 8;
	}
	return true;
}

bool is_arp_reply_from(const struct pkt *p, const void *arg)
{
	return p->type == 0x0806 && p->arp_op == 2 &&
	       p->spa == ip4((const char *)arg);
}

bool is_dhcp_reply(const struct pkt *p, const void *arg)
{
	return p->proto == 17 && p->sport == 67 && p->dport == 68;
}

const uint8_t *dhcp_opt(const struct pkt *p, uint8_t code, size_t *len)
{
	const uint8_t *o = p->payload + 240, *end = p->payload + p->paylen;

	assert_true(p->paylen > 240);
	assert_int_equal(get32(p->payload + 236), 0x63825363);
	while (o < end && *o != 255) {
		if (*o == 0) {
			o++;
			continue;
		}
		if (o + 2 > end || o + 2 + o[1] > end)
			return NULL;
		if (*o == code) {
			if (len)
				*len = o[1];
			return o + 2;
		}
		o += 2 + o[1];
	}
	return NULL;
}

bool is_tcp(const struct pkt *p, const void *arg)
{
	const struct flow *fl = arg;

	return p->proto == 6 && p->src == fl->src && p->dst == fl->dst &&
	       (!fl->sport || p->sport == fl->sport) && p->dport == fl->dport &&
	       (p->flags & fl->flags) == fl->flags &&
	       (!fl->data || p->paylen > 0);
}

int listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 4), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return s;
}

int accept_timeout(int ls)
{
	struct pollfd pfd = { .fd = ls, .events = POLLIN };

	if (poll(&pfd, 1, WAIT_MS) != 1)
		return -1;
	return accept4(ls, NULL, NULL, SOCK_CLOEXEC);
}

ssize_t recv_timeout(int s, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };

	if (poll(&pfd, 1, WAIT_MS) != 1)
		return -1;
	return recv(s, buf, len, 0);
}
