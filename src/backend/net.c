// SPDX-License-Identifier: GPL-2.0
#include "backend/net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/log.h"
#include "util/parse.h"

int net_mac_parse(const char *s, uint8_t mac[NET_MAC_LEN])
{
	for (int i = 0; i < NET_MAC_LEN; i++) {
		const char *p = s + 3 * i;

		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]) ||
		    p[2] != (i == NET_MAC_LEN - 1 ? '\0' : ':'))
			return -EINVAL;
	}
	for (int i = 0; i < NET_MAC_LEN; i++)
		mac[i] = (uint8_t)strtoul(s + 3 * i, NULL, 16);
	return 0;
}

void net_mac_random(uint8_t mac[NET_MAC_LEN])
{
	if (getrandom(mac, NET_MAC_LEN, 0) != NET_MAC_LEN) {
		/* Only a collision risk: the address need not be secret. */
		uint64_t t = monotonic_ns();

		for (int i = 0; i < NET_MAC_LEN; i++)
			mac[i] = (uint8_t)(t >> (8 * i));
	}
	mac[0] = (mac[0] & 0xfc) | 0x02;
}

void net_mac_format(const uint8_t mac[NET_MAC_LEN], char buf[NET_MAC_STRLEN])
{
	snprintf(buf, NET_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
}

__attribute__((format(printf, 3, 4))) static int
parse_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v;
	int ret = parse_uint(s, 1, 65535, &v);

	if (ret == -ERANGE)
		return parse_error(err, errlen, "hostfwd port %s out of range",
				   s);
	if (ret)
		return parse_error(err, errlen,
				   "hostfwd port '%s' is not a number", s);
	*port = (uint16_t)v;
	return 0;
}

static int parse_addr(const char *s, uint32_t def, uint32_t *addr, char *err,
		      size_t errlen)
{
	struct in_addr a;

	if (!*s) {
		*addr = def;
		return 0;
	}
	if (inet_pton(AF_INET, s, &a) != 1)
		return parse_error(
			err, errlen,
			"hostfwd address '%s' is not an IPv4 address", s);
	*addr = a.s_addr;
	return 0;
}

/* "[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT", QEMU's syntax */
static int parse_hostfwd(const char *val, struct net_options *o, char *err,
			 size_t errlen)
{
	char buf[128], *proto, *haddr, *hport, *gaddr, *gport;
	struct net_hostfwd fwd = { 0 };
	uint32_t net = inet_addr(NET_USER_NET);
	int ret;

	if (strlen(val) >= sizeof(buf))
		return parse_error(err, errlen, "hostfwd '%s' is too long",
				   val);
	strcpy(buf, val);
	proto = buf;
	haddr = strchr(proto, ':');
	hport = haddr ? strchr(haddr + 1, ':') : NULL;
	gaddr = hport ? strchr(hport + 1, '-') : NULL;
	gport = gaddr ? strchr(gaddr + 1, ':') : NULL;
	if (!gport)
		return parse_error(
			err, errlen,
			"hostfwd '%s' is not of the form "
			"[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
			val);
	*haddr++ = *hport++ = *gaddr++ = *gport++ = '\0';

	if (!strcmp(proto, "udp"))
		fwd.udp = true;
	else if (*proto && strcmp(proto, "tcp"))
		return parse_error(err, errlen,
				   "hostfwd protocol '%s' is not tcp or udp",
				   proto);
	ret = parse_addr(haddr, htonl(INADDR_LOOPBACK), &fwd.host_addr, err,
			 errlen);
	if (!ret)
		ret = parse_port(hport, &fwd.host_port, err, errlen);
	if (!ret)
		ret = parse_addr(gaddr, inet_addr(NET_USER_GUEST),
				 &fwd.guest_addr, err, errlen);
	if (!ret)
		ret = parse_port(gport, &fwd.guest_port, err, errlen);
	if (ret)
		return ret;
	if ((fwd.guest_addr & htonl(0xffffff00)) != net)
		return parse_error(err, errlen,
				   "hostfwd guest address %s is not in %s/24",
				   gaddr, NET_USER_NET);

	for (unsigned int i = 0; i < o->nr_hostfwd; i++) {
		const struct net_hostfwd *f = &o->hostfwd[i];

		if (f->udp == fwd.udp && f->host_port == fwd.host_port &&
		    f->host_addr == fwd.host_addr)
			return parse_error(err, errlen,
					   "hostfwd %s port %u given twice",
					   fwd.udp ? "udp" : "tcp",
					   fwd.host_port);
	}
	if (o->nr_hostfwd == NET_MAX_HOSTFWD)
		return parse_error(err, errlen, "more than %d hostfwd",
				   NET_MAX_HOSTFWD);
	o->hostfwd[o->nr_hostfwd++] = fwd;
	return 0;
}

static int parse_backend(const char *item, struct net_options *o, char *err,
			 size_t errlen)
{
	const char *name;

	if (!strcmp(item, "user")) {
		o->type = NET_USER;
		return 0;
	}
	if (!strncmp(item, "user=", 5))
		return parse_error(err, errlen, "user takes no value");
	if (!strncmp(item, "vhost-user=", 11)) {
		if (!item[11] || strlen(item + 11) >= sizeof(o->vhost_user))
			return parse_error(err, errlen,
					   "vhost-user needs a socket path of "
					   "1 to %zu characters",
					   sizeof(o->vhost_user) - 1);
		o->type = NET_VHOST_USER;
		strcpy(o->vhost_user, item + 11);
		return 0;
	}
	if (!strncmp(item, "fd=", 3) || !strncmp(item, "fds=", 4)) {
		bool many = item[2] == 's';
		const char *p = item + (many ? 4 : 3);
		char *end;
		long fd;

		do {
			errno = 0;
			fd = strtol(p, &end, 10);
			if (p == end || (*end && (!many || *end != ':')) ||
			    errno || fd < 0 || fd > INT_MAX || *p == '-' ||
			    *p == '+')
				return parse_error(
					err, errlen,
					many ? "fds takes the numbers of open "
					       "tap descriptors, one per queue "
					       "pair, as N:M:..., not '%s'" :
					       "fd takes the number of an open "
					       "tap descriptor, not '%s'",
					item + (many ? 4 : 3));
			if (o->nr_fds == NET_MAX_QUEUE_PAIRS)
				return parse_error(err, errlen,
						   "more than %d tap "
						   "descriptors (queue pairs)",
						   NET_MAX_QUEUE_PAIRS);
			for (unsigned int i = 0; i < o->nr_fds; i++)
				if (o->fds[i] == (int)fd)
					return parse_error(err, errlen,
							   "fds names %ld "
							   "twice",
							   fd);
			o->fds[o->nr_fds++] = (int)fd;
			p = end + 1;
		} while (*end);
		o->type = NET_TAP;
		return 0;
	}
	if (!strcmp(item, "tap"))
		return parse_error(err, errlen,
				   "tap needs an interface name: tap=NAME");
	if (strncmp(item, "tap=", 4))
		return parse_error(err, errlen,
				   "unknown net backend '%s' (expected "
				   "tap=NAME, fd=N, fds=N:M..., user or "
				   "vhost-user=SOCKET)",
				   item);

	name = item + 4;
	if (!*name)
		return parse_error(err, errlen,
				   "tap needs an interface name: tap=NAME");
	if (strlen(name) > NET_IFNAME_MAX)
		return parse_error(err, errlen,
				   "tap name '%s' is longer than %d characters",
				   name, NET_IFNAME_MAX);
	/* The kernel's dev_valid_name(). */
	if (!strcmp(name, ".") || !strcmp(name, "..") ||
	    strpbrk(name, "/: \t\n"))
		return parse_error(
			err, errlen,
			"tap name '%s' is not a valid interface name", name);
	o->type = NET_TAP;
	strcpy(o->ifname, name);
	return 0;
}

static int parse_option(char *item, struct net_options *o, char *err,
			size_t errlen)
{
	struct rate_limit_config probe = { 0 };
	char *val = strchr(item, '=');
	int ret;

	if (val)
		*val++ = '\0';
	if (!*item)
		return parse_error(err, errlen, "empty net option");
	if (strcmp(item, "mac") && strcmp(item, "hostfwd") &&
	    strcmp(item, "ipv6") && strcmp(item, "vhost") &&
	    strcmp(item, "transport") && strcmp(item, "poll") &&
	    strcmp(item, "queues") && strcmp(item, "iothread") &&
	    rate_limit_parse_key(item, "0", &probe, err, errlen) != 1)
		return parse_error(err, errlen, "unknown net option '%s'",
				   item);
	if (!val || !*val)
		return parse_error(err, errlen, "net option '%s' needs a value",
				   item);
	ret = rate_limit_parse_key(item, val, &o->rate_limit, err, errlen);
	if (ret)
		return ret < 0 ? ret : 0;

	if (!strcmp(item, "mac")) {
		if (o->has_mac)
			return parse_error(err, errlen, "mac given twice");
		if (net_mac_parse(val, o->mac))
			return parse_error(err, errlen,
					   "mac '%s' is not of the form "
					   "xx:xx:xx:xx:xx:xx",
					   val);
		if (o->mac[0] & 1)
			return parse_error(err, errlen,
					   "mac '%s' is a multicast address",
					   val);
		o->has_mac = true;
		return 0;
	}
	if (!strcmp(item, "transport")) {
		if (!strcmp(val, "pci") || !strcmp(val, "mmio"))
			o->mmio = !strcmp(val, "mmio");
		else
			return parse_error(err, errlen,
					   "net transport takes pci or mmio, "
					   "not '%s'",
					   val);
		return 0;
	}
	if (!strcmp(item, "iothread")) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return parse_error(err, errlen,
					   "net iothread takes on or off, not "
					   "'%s'",
					   val);
		o->iothread = !strcmp(val, "on");
		return 0;
	}
	if (!strcmp(item, "poll")) {
		unsigned long us;

		if (parse_uint(val, 0, NET_POLL_MAX_US, &us))
			return parse_error(err, errlen,
					   "net poll takes microseconds from 0 "
					   "(off) to %u, not '%s'",
					   NET_POLL_MAX_US, val);
		o->poll_us = us;
		return 0;
	}
	if (!strcmp(item, "queues")) {
		unsigned long q;

		if (o->type != NET_TAP || o->nr_fds)
			return parse_error(err, errlen,
					   "net option 'queues' is for "
					   "tap=NAME (fds= gives one "
					   "descriptor per queue pair)");
		if (parse_uint(val, 1, NET_MAX_QUEUE_PAIRS, &q))
			return parse_error(err, errlen,
					   "queues takes the queue pairs, 1 to "
					   "%d, not '%s'",
					   NET_MAX_QUEUE_PAIRS, val);
		o->queues = q;
		return 0;
	}
	if (!strcmp(item, "vhost")) {
		if (o->type != NET_TAP)
			return parse_error(
				err, errlen,
				"net option 'vhost' is only for tap");
		if (!strcmp(val, "on"))
			o->vhost = NET_VHOST_ON;
		else if (!strcmp(val, "off"))
			o->vhost = NET_VHOST_OFF;
		else if (!strcmp(val, "auto"))
			o->vhost = NET_VHOST_AUTO;
		else
			return parse_error(err, errlen,
					   "vhost takes on, off or auto, not "
					   "'%s'",
					   val);
		return 0;
	}
	if (o->type != NET_USER)
		return parse_error(
			err, errlen,
			"net option '%s' is only for user networking", item);
	if (!strcmp(item, "hostfwd"))
		return parse_hostfwd(val, o, err, errlen);
	if (!strcmp(val, "on")) {
		o->ipv6 = true;
	} else if (!strcmp(val, "off")) {
		o->ipv6 = false;
	} else {
		return parse_error(err, errlen, "ipv6 '%s' is not on or off",
				   val);
	}
	return 0;
}

int net_backend_parse(const char *spec, struct net_options *out, char *err,
		      size_t errlen)
{
	char *copy, *item, *save = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	out->poll_us = NET_POLL_US;
	if (err && errlen)
		err[0] = '\0';
	if (!spec || !*spec)
		return parse_error(err, errlen, "empty net spec");
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;

	/* strtok_r would silently merge ",,": say so instead. */
	item = copy;
	save = strchr(item, ',');
	if (save)
		*save++ = '\0';
	ret = parse_backend(item, out, err, errlen);
	while (!ret && save) {
		item = save;
		save = strchr(item, ',');
		if (save)
			*save++ = '\0';
		ret = parse_option(item, out, err, errlen);
	}
	free(copy);
	if (!ret && net_options_pairs(out) > 1 && out->vhost == NET_VHOST_ON)
		ret = parse_error(err, errlen,
				  "vhost=on serves one queue pair; a "
				  "multi-queue NIC is devisor's own");
	if (!ret)
		ret = rate_limit_config_check(&out->rate_limit, "net", err,
					      errlen);
	/* The kernel or another process moves the frames: none to count. */
	if (!ret && rate_limit_config_active(&out->rate_limit) &&
	    (out->vhost == NET_VHOST_ON || out->type == NET_VHOST_USER))
		ret = parse_error(err, errlen,
				  "rate limits need devisor to move the "
				  "frames: not with vhost=on or vhost-user");
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

unsigned int net_options_pairs(const struct net_options *opts)
{
	if (opts->nr_fds)
		return opts->nr_fds;
	return opts->queues ? opts->queues : 1;
}

/*
 * vhost-user: a back-end in name only, for the device's MAC and messages;
 * the frames are the external process's.
 */
struct vu_net {
	struct net_backend be;
	char path[sizeof(((struct net_options *)0)->vhost_user)];
};

static int vu_start(struct net_backend *be)
{
	return 0;
}

static int vu_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	return -EIO;
}

static void vu_rx_ready(struct net_backend *be)
{
}

static int vu_set_offloads(struct net_backend *be, unsigned int flags)
{
	return 0;
}

static void vu_close(struct net_backend *be)
{
	free(be);
}

static const struct net_backend_ops vu_ops = {
	.start = vu_start,
	.send = vu_send,
	.rx_ready = vu_rx_ready,
	.set_offloads = vu_set_offloads,
	.close = vu_close,
};

static struct net_backend *vhost_user_open(const struct net_options *opts,
					   struct evloop *loop)
{
	struct vu_net *v = calloc(1, sizeof(*v));

	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	v->be.ops = &vu_ops;
	/* Offloads are the back-end's to offer (virtio/net.c). */
	v->be.has_vnet_hdr = true;
	snprintf(v->be.name, sizeof(v->be.name), "vhost-user");
	strcpy(v->path, opts->vhost_user);
	return &v->be;
}

const char *net_backend_vhost_user(struct net_backend *be)
{
	return be->ops == &vu_ops ? ((struct vu_net *)be)->path : NULL;
}

int net_backend_open_queues(const struct net_options *opts, struct evloop *loop,
			    struct net_backend *bes[NET_MAX_QUEUE_PAIRS])
{
	unsigned int pairs = net_options_pairs(opts), q;
	struct net_backend *be = NULL;
	char mac[NET_MAC_STRLEN];
	int err;

	if (pairs > 1 && opts->type != NET_TAP) {
		pr_err("net: only a tap has several queue pairs");
		return -EINVAL;
	}
	for (q = 0; q < pairs; q++) {
		switch (opts->type) {
		case NET_TAP:
			be = net_tap_open(opts, loop, q, q ? bes[0]->name : "");
			break;
		case NET_USER:
			be = net_slirp_open(opts, loop);
			break;
		case NET_VHOST_USER:
			be = vhost_user_open(opts, loop);
			break;
		default:
			errno = EINVAL;
			be = NULL;
			break;
		}
		if (!be)
			goto fail;
		be->loop = loop;
		if (q)
			memcpy(be->mac, bes[0]->mac, NET_MAC_LEN);
		else if (opts->has_mac)
			memcpy(be->mac, opts->mac, NET_MAC_LEN);
		else
			net_mac_random(be->mac);
		bes[q] = be;
	}
	net_mac_format(bes[0]->mac, mac);
	if (pairs > 1)
		pr_info("net %s: guest mac %s, %u queue pairs%s", bes[0]->name,
			mac, pairs,
			bes[0]->has_vnet_hdr ? ", vnet header" : "");
	else
		pr_info("net %s: guest mac %s%s", bes[0]->name, mac,
			bes[0]->has_vnet_hdr ? ", vnet header" : "");
	return (int)pairs;

fail:
	err = errno;
	while (q--)
		net_backend_close(bes[q]);
	return -err;
}

struct net_backend *net_backend_open(const struct net_options *opts,
				     struct evloop *loop)
{
	struct net_backend *bes[NET_MAX_QUEUE_PAIRS];
	int n;

	if (net_options_pairs(opts) > 1) {
		errno = EINVAL;
		return NULL;
	}
	n = net_backend_open_queues(opts, loop, bes);
	if (n < 0) {
		errno = -n;
		return NULL;
	}
	return bes[0];
}

int net_backend_start(struct net_backend *be, net_rx_fn rx,
		      net_tx_ready_fn tx_ready, void *opaque)
{
	if (!rx)
		return -EINVAL;
	be->rx = rx;
	be->tx_ready = tx_ready;
	be->opaque = opaque;
	return be->ops->start(be);
}

int net_backend_send(struct net_backend *be, const struct iovec *iov,
		     int iovcnt)
{
	if (iovcnt <= 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	return be->ops->send(be, iov, iovcnt);
}

void net_backend_rx_ready(struct net_backend *be)
{
	be->ops->rx_ready(be);
}

void net_backend_set_active(struct net_backend *be, bool active)
{
	if (be->ops->set_active)
		be->ops->set_active(be, active);
}

int net_backend_set_offloads(struct net_backend *be, bool csum, bool tso4,
			     bool tso6, bool ecn, bool ufo)
{
	unsigned int flags = 0;

	if ((tso4 || tso6 || ecn || ufo) && !csum)
		return -EINVAL;
	if (ecn && !tso4 && !tso6)
		return -EINVAL;
	if (csum)
		flags |= TUN_F_CSUM;
	if (tso4)
		flags |= TUN_F_TSO4;
	if (tso6)
		flags |= TUN_F_TSO6;
	if (ecn)
		flags |= TUN_F_TSO_ECN;
	if (ufo)
		flags |= TUN_F_UFO;
	if (!be->has_vnet_hdr)
		return flags ? -EOPNOTSUPP : 0;
	return be->ops->set_offloads(be, flags);
}

void net_backend_close(struct net_backend *be)
{
	if (be)
		be->ops->close(be);
}

int net_backend_preload(struct net_options *opts)
{
	char err[200];
	int ret;

	if (opts->type == NET_TAP && opts->nr_fds) {
		ret = net_tap_fds_check(opts->fds, opts->nr_fds, false,
					opts->ifname, NULL, err, sizeof(err));
		if (ret)
			pr_err("--net: %s", err);
		return ret;
	}
	return opts->type == NET_USER ? net_slirp_load() : 0;
}

#ifndef HAVE_SLIRP
int net_slirp_load(void)
{
	return 0; /* net_slirp_open() says why not */
}

struct net_backend *net_slirp_open(const struct net_options *opts,
				   struct evloop *loop)
{
	pr_err("net user: devisor was built without libslirp (pkg-config "
	       "found no slirp: install libslirp-dev, libglib2.0-dev)");
	errno = ENOTSUP;
	return NULL;
}
#endif
