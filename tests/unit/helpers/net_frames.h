/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frames for the network unit tests, as a guest behind user networking
 * sends and reads them: big-endian field access, the Internet checksum,
 * Ethernet, ARP, IPv4, TCP and DHCP; and the host end of a TCP exchange.
 */
#ifndef TESTS_UNIT_HELPERS_NET_FRAMES_H
#define TESTS_UNIT_HELPERS_NET_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GUEST_IP "10.0.2.15"
#define HOST_IP "10.0.2.2"
#define DNS_IP "10.0.2.3"
#define WAIT_MS 5000

extern const uint8_t guest_mac[6];
extern const uint8_t bcast_mac[6];

/* The one's complement sum of @data added to @sum, folded, not inverted. */
uint16_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum(const void *data, size_t len);
void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);
uint16_t get16(const uint8_t *p);
uint32_t get32(const uint8_t *p);
/* Dotted quad @s in host order. */
uint32_t ip4(const char *s);

/* Ethernet header from the guest to @dst; returns its length. */
size_t put_eth(uint8_t *f, const uint8_t *dst, uint16_t type);
/* IPv4 header at @ip for @l4len bytes of @proto; returns its length. */
size_t put_ip(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto,
	      size_t l4len);
/* The TCP/UDP checksum over the pseudo header and @l4. */
uint16_t l4_csum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4,
		 size_t len);

#define ARP_FRAME_LEN 60
/* ARP @op from the guest's address about @tha/@tpa; returns the length. */
size_t build_arp(uint8_t *f, uint16_t op, const uint8_t *tha, uint32_t tpa);

struct tcp_seg {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const void *data;
	size_t len;
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define TCP_FRAME_MAX 1514
/* Segment @s to @gw_mac in @f (TCP_FRAME_MAX bytes); returns the length. */
size_t build_tcp(uint8_t *f, const uint8_t *gw_mac, const struct tcp_seg *s);

#define DHCP_DISCOVER_LEN (14 + 20 + 8 + 548)
/* A broadcast DHCPDISCOVER, xid 0x12345678; returns the length. */
size_t build_dhcp_discover(uint8_t *f);

/* A received frame, decoded as far as it goes. */
struct pkt {
	uint16_t type;
	const uint8_t *l3;
	/* ARP */
	uint16_t arp_op;
	uint32_t spa, tpa;
	const uint8_t *sha;
	/* IPv4 */
	uint8_t proto;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *payload;
	size_t paylen;
};

/* Decodes ARP and IPv4, checking the IPv4 and TCP checksums. */
bool pkt_decode(const uint8_t *d, size_t len, struct pkt *p);

typedef bool (*pkt_match)(const struct pkt *p, const void *arg);

/* @arg: the dotted quad the reply is from. */
bool is_arp_reply_from(const struct pkt *p, const void *arg);
bool is_dhcp_reply(const struct pkt *p, const void *arg);

/* Returns the option's value in a BOOTP reply, or NULL; @len may be NULL. */
const uint8_t *dhcp_opt(const struct pkt *p, uint8_t code, size_t *len);

struct flow {
	uint32_t src, dst;
	/* sport 0 matches any */
	uint16_t sport, dport;
	uint8_t flags;
	/* the payload must be non-empty */
	bool data;
};

/* @arg: the struct flow a TCP segment must belong to. */
bool is_tcp(const struct pkt *p, const void *arg);

/* The host end: a listening socket on loopback, and waits of WAIT_MS. */
int listen_loopback(uint16_t *port);
int accept_timeout(int ls);
ssize_t recv_timeout(int s, void *buf, size_t len);

#endif
