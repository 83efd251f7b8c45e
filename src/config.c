// SPDX-License-Identifier: GPL-2.0
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/memhp.h"
#include "pci/pci.h"
#include "util/log.h"
#include "util/parse.h"
#include "virtio/mem.h"

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i]))
			return *out = true, 0;
		if (!strcmp(s, no[i]))
			return *out = false, 0;
	}
	return -EINVAL;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                     \
	} while (0)

static int parse_id(const char *val, char *out, char *err, size_t errlen);

unsigned int config_disk_batch_us(const struct disk_config *d)
{
	if (d->batch_us != CONFIG_DISK_BATCH_AUTO)
		return d->batch_us;
	return d->transport == TRANSPORT_MMIO ? CONFIG_DISK_BATCH_US : 0;
}

unsigned int config_disk_queues(const struct disk_config *d,
				unsigned int nr_cpus)
{
	if (d->nr_queues)
		return d->nr_queues;
	/*
	 * A queue per vCPU (QEMU's virtio-blk-pci default): each completes
	 * on the vCPU that submitted, with no IPI between them. One MMIO
	 * interrupt has no affinity to give.
	 */
	if (d->transport == TRANSPORT_MMIO || !nr_cpus)
		return 1;
	return nr_cpus < CONFIG_DISK_MAX_QUEUES ? nr_cpus :
						  CONFIG_DISK_MAX_QUEUES;
}

struct blk_options config_blk_options(const struct disk_config *d)
{
	return (struct blk_options){
		.readonly = d->readonly,
		.direct = d->direct,
		.engine = d->engine,
		.serial = d->serial[0] ? d->serial : NULL,
	};
}

/*
 * The keys --disk and --nvme share (the block back-end's and addr=), for
 * @what ("disk", "nvme"): 1 when @key was one of them, 0 when it is not,
 * -EINVAL with @err for a bad value.
 */
static int blk_key(const char *what, const char *key, char *val,
		   struct disk_config *d, char *err, size_t errlen)
{
	bool b;

	if (!strcmp(key, "path")) {
		if (!*val)
			FAIL("%s path is empty", what);
		d->path = val;
	} else if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
		if (config_parse_bool(val, &b))
			FAIL("%s readonly takes on or off, not '%s'", what,
			     val);
		d->readonly = b;
	} else if (!strcmp(key, "direct")) {
		if (config_parse_bool(val, &b))
			FAIL("%s direct takes on or off, not '%s'", what, val);
		d->direct = b;
	} else if (!strcmp(key, "engine")) {
		if (!strcmp(val, "auto"))
			d->engine = BLK_ENGINE_AUTO;
		else if (!strcmp(val, "io_uring"))
			d->engine = BLK_ENGINE_IO_URING;
		else if (!strcmp(val, "sync"))
			d->engine = BLK_ENGINE_SYNC;
		else
			FAIL("%s engine takes auto, io_uring or sync, not '%s'",
			     what, val);
	} else if (!strcmp(key, "serial")) {
		if (strlen(val) > BLK_SERIAL_LEN)
			FAIL("%s serial '%s' is longer than %d bytes", what,
			     val, BLK_SERIAL_LEN);
		strcpy(d->serial, val);
	} else if (!strcmp(key, "addr")) {
		if (config_parse_pci_addr(val, &d->addr, err, errlen))
			return -EINVAL;
	} else {
		return 0;
	}
	return 1;
}

/*
 * Splits @spec's next "key=value" (or a bare first token, the image):
 * returns the token with *@val its value, or NULL at the end.
 */
static char *next_key(char **save, char *spec, char **val)
{
	char *tok = strtok_r(spec, ",", save), *eq;

	*val = NULL;
	if (tok && (eq = strchr(tok, '='))) {
		*eq = '\0';
		*val = eq + 1;
	}
	return tok;
}

struct disk_config config_disk_defaults(void)
{
	return (struct disk_config){ .engine = BLK_ENGINE_AUTO,
				     .transport = TRANSPORT_PCI,
				     .packed = true,
				     .poll_us = CONFIG_DISK_POLL_US,
				     .batch_us = CONFIG_DISK_BATCH_AUTO,
				     .addr = CONFIG_PCI_AUTO };
}

/*
 * A block device's @spec for @what ("disk", "nvme") into *@d, from
 * config_disk_defaults(): a bare first token is the image, as in -drive;
 * @own_key takes each key first, as blk_key() does, and then blk_key(); a
 * key neither knows fails with @keys, the list of them all.
 */
static int
parse_blk_spec(const char *what, const char *keys,
	       int (*own_key)(const char *key, char *val, struct disk_config *d,
			      char *err, size_t errlen),
	       char *spec, struct disk_config *d, char *err, size_t errlen)
{
	char *save = NULL, *tok, *val;
	bool first = true;
	int ret;

	*d = config_disk_defaults();
	for (tok = next_key(&save, spec, &val); tok;
	     tok = next_key(&save, NULL, &val), first = false) {
		if (!val) {
			if (first) {
				d->path = tok;
				continue;
			}
			FAIL("%s option '%s' needs a value (key=value)", what,
			     tok);
		}
		ret = own_key(tok, val, d, err, errlen);
		if (!ret)
			ret = blk_key(what, tok, val, d, err, errlen);
		if (ret < 0)
			return ret;
		if (!ret)
			FAIL("unknown %s option '%s' (%s)", what, tok, keys);
	}
	if (!d->path && !d->vhost_user)
		FAIL("%s needs path=IMAGE", what);
	return 0;
}

/* --disk's keys besides blk_key()'s. */
static int disk_key(const char *key, char *val, struct disk_config *d,
		    char *err, size_t errlen)
{
	unsigned long n;

	if (!strcmp(key, "transport")) {
		if (!strcmp(val, "pci"))
			d->transport = TRANSPORT_PCI;
		else if (!strcmp(val, "mmio"))
			d->transport = TRANSPORT_MMIO;
		else
			FAIL("disk transport takes pci or mmio, not '%s'", val);
	} else if (!strcmp(key, "vhost-user")) {
		if (!*val)
			FAIL("disk vhost-user needs a socket path");
		d->vhost_user = val;
	} else if (!strcmp(key, "packed")) {
		if (config_parse_bool(val, &d->packed))
			FAIL("disk packed takes on or off, not '%s'", val);
	} else if (!strcmp(key, "iothread")) {
		if (config_parse_bool(val, &d->iothread))
			FAIL("disk iothread takes on or off, not '%s'", val);
	} else if (!strcmp(key, "poll")) {
		if (parse_uint(val, 0, CONFIG_DISK_POLL_MAX_US, &n))
			FAIL("disk poll takes microseconds from 0 (off) to %u, "
			     "not '%s'",
			     CONFIG_DISK_POLL_MAX_US, val);
		d->poll_us = n;
	} else if (!strcmp(key, "batch")) {
		if (parse_uint(val, 0, CONFIG_DISK_BATCH_MAX_US, &n))
			FAIL("disk batch takes microseconds from 0 (off) to %u, "
			     "not '%s'",
			     CONFIG_DISK_BATCH_MAX_US, val);
		d->batch_us = n;
	} else if (!strcmp(key, "queues")) {
		if (parse_uint(val, 1, CONFIG_DISK_MAX_QUEUES, &n))
			FAIL("disk queues takes a number from 1 to 16, not "
			     "'%s'",
			     val);
		d->nr_queues = n;
	} else if (!strcmp(key, "id")) {
		if (parse_id(val, d->id, err, errlen))
			return -EINVAL;
	} else {
		return rate_limit_parse_key(key, val, &d->rate_limit, err,
					    errlen);
	}
	return 1;
}

int config_parse_disk(char *spec, struct disk_config *d, char *err,
		      size_t errlen)
{
	int ret = parse_blk_spec(
		"disk",
		"path, readonly, transport, direct, engine, "
		"queues, packed, poll, batch, iothread, serial, "
		"addr, vhost-user, id, bw_size, bw_one_time_burst, "
		"bw_refill_time, ops_size, ops_one_time_burst, "
		"ops_refill_time",
		disk_key, spec, d, err, errlen);

	if (ret)
		return ret;
	if (rate_limit_config_check(&d->rate_limit, "disk", err, errlen))
		return -EINVAL;
	/* The back-end owns the image and how it is read. */
	if (d->vhost_user &&
	    (d->path || d->readonly || d->direct ||
	     d->engine != BLK_ENGINE_AUTO || d->nr_queues || d->serial[0] ||
	     !d->packed || d->poll_us != CONFIG_DISK_POLL_US ||
	     d->batch_us != CONFIG_DISK_BATCH_AUTO || d->iothread ||
	     rate_limit_config_active(&d->rate_limit)))
		FAIL("disk vhost-user=SOCKET takes only transport= and addr= "
		     "(the back-end has the image)");
	if (d->addr != CONFIG_PCI_AUTO && d->transport == TRANSPORT_MMIO)
		FAIL("disk addr= is a PCI address; transport=mmio has none");
	return 0;
}

/* --nvme's keys before blk_key()'s: its own serial=, and vfs=. */
static int nvme_key(const char *key, char *val, struct disk_config *d,
		    char *err, size_t errlen)
{
	size_t len;

	if (!strcmp(key, "iothread")) {
		if (config_parse_bool(val, &d->iothread))
			FAIL("nvme iothread takes on or off, not '%s'", val);
		return 1;
	}
	if (!strcmp(key, "vfs")) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);

		if (!*val || *end || val[0] == '-' || v > CONFIG_NVME_MAX_VFS)
			FAIL("nvme vfs takes 0 to %d (SR-IOV virtual functions "
			     "in the PF's slot), not '%s'",
			     CONFIG_NVME_MAX_VFS, val);
		d->vfs = (unsigned int)v;
		return 1;
	}
	if (strcmp(key, "serial"))
		return 0;
	/* Identify's SN: 20 bytes of printable ASCII. */
	len = strlen(val);
	if (!len || len > BLK_SERIAL_LEN)
		FAIL("nvme serial takes 1 to %d characters, not %zu",
		     BLK_SERIAL_LEN, len);
	for (size_t i = 0; i < len; i++)
		if (val[i] < 0x20 || val[i] > 0x7e)
			FAIL("nvme serial takes printable ASCII only");
	strcpy(d->serial, val);
	return 1;
}

int config_parse_nvme(char *spec, struct disk_config *d, char *err,
		      size_t errlen)
{
	return parse_blk_spec(
		"nvme",
		"path, readonly, direct, engine, serial, addr, vfs, iothread",
		nvme_key, spec, d, err, errlen);
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

int config_parse_pci_addr(const char *s, int *devfn, char *err, size_t errlen)
{
	unsigned int slot, fn;
	size_t n = 0;

	while (n < 2 && is_hex(s[n]))
		n++;
	if (!n || s[n] != '.' || s[n + 1] < '0' || s[n + 1] > '7' || s[n + 2])
		FAIL("addr takes DD.F (hex slot 01-1f, function 0-7), not "
		     "'%s'",
		     s);
	slot = strtoul(s, NULL, 16);
	fn = s[n + 1] - '0';
	if (slot >= PCI_MAX_SLOTS)
		FAIL("addr %s is out of range: slots run from 01 to 1f", s);
	if (slot == 0)
		FAIL("addr %s is taken: slot 00 is the host bridge's", s);
	*devfn = PCI_DEVFN(slot, fn);
	return 0;
}

int config_parse_net(const char *spec, struct net_options *out, int *addr,
		     char *id, char *err, size_t errlen)
{
	char *rest = malloc(strlen(spec) + 1), *w = rest;
	const char *tok = spec;
	int ret = 0;

	*addr = CONFIG_PCI_AUTO;
	if (id)
		id[0] = '\0';
	if (!rest)
		return -ENOMEM;
	/* addr= and id= are ours; the rest goes to the back-end's parser. */
	for (;;) {
		const char *end = strchrnul(tok, ',');
		size_t len = end - tok;

		if (id && len >= 3 && !strncmp(tok, "id=", 3)) {
			char *v = strndup(tok + 3, len - 3);

			ret = v ? config_check_id(v, err, errlen) : -ENOMEM;
			if (!ret)
				strcpy(id, v);
			free(v);
			if (ret)
				goto out;
		} else if (len >= 5 && !strncmp(tok, "addr=", 5)) {
			char a[8];

			if (len - 5 >= sizeof(a)) {
				snprintf(err, errlen,
					 "addr takes DD.F (hex slot 01-1f, "
					 "function 0-7), not '%.*s'",
					 (int)(len - 5), tok + 5);
				ret = -EINVAL;
				goto out;
			}
			memcpy(a, tok + 5, len - 5);
			a[len - 5] = '\0';
			ret = config_parse_pci_addr(a, addr, err, errlen);
			if (ret)
				goto out;
		} else {
			if (w != rest)
				*w++ = ',';
			memcpy(w, tok, len);
			w += len;
		}
		if (!*end)
			break;
		tok = end + 1;
	}
	*w = '\0';
	ret = net_backend_parse(rest, out, err, errlen);
	if (!ret && out->mmio && *addr != CONFIG_PCI_AUTO) {
		snprintf(err, errlen,
			 "net addr= is a PCI address; transport=mmio has none");
		ret = -EINVAL;
	}
out:
	free(rest);
	return ret;
}

int config_parse_rng(const char *spec, int *addr, char *err, size_t errlen)
{
	*addr = CONFIG_PCI_AUTO;
	if (!spec)
		return 0;
	if (strncmp(spec, "addr=", 5))
		FAIL("rng takes addr=DD.F or nothing, not '%s'", spec);
	return config_parse_pci_addr(spec + 5, addr, err, errlen);
}

int config_parse_console(const char *spec, bool *virtio, int *addr, char *err,
			 size_t errlen)
{
	*addr = CONFIG_PCI_AUTO;
	if (!strcmp(spec, "serial")) {
		*virtio = false;
		return 0;
	}
	if (!strcmp(spec, "virtio")) {
		*virtio = true;
		return 0;
	}
	if (!strncmp(spec, "virtio,addr=", 12)) {
		*virtio = true;
		return config_parse_pci_addr(spec + 12, addr, err, errlen);
	}
	if (!strncmp(spec, "serial,", 7))
		FAIL("console serial takes no options, not '%s'", spec + 7);
	FAIL("console takes serial or virtio[,addr=DD.F], not '%s'", spec);
}

int config_parse_vfio(char *spec, struct vfio_config *out, char *err,
		      size_t errlen)
{
	char *save = NULL, *key, *val;
	bool first = true;

	*out = (struct vfio_config){ .addr = CONFIG_PCI_AUTO };
	for (key = next_key(&save, spec, &val); key;
	     key = next_key(&save, NULL, &val), first = false) {
		if (!val && first) {
			val = key;
			key = "path";
		}
		if (!val)
			FAIL("device: '%s' needs a value (path=, addr=, rom=, id=)",
			     key);
		if (!strcmp(key, "path")) {
			if (!*val)
				FAIL("device path is empty");
			out->path = val;
		} else if (!strcmp(key, "addr")) {
			if (config_parse_pci_addr(val, &out->addr, err, errlen))
				return -EINVAL;
		} else if (!strcmp(key, "rom")) {
			if (!strcmp(val, "on"))
				out->no_rom = false;
			else if (!strcmp(val, "off"))
				out->no_rom = true;
			else
				FAIL("device rom must be on or off, not '%s'",
				     val);
		} else if (!strcmp(key, "id")) {
			if (parse_id(val, out->id, err, errlen))
				return -EINVAL;
		} else {
			FAIL("device has no option '%s' (it takes path, addr, rom, "
			     "id)",
			     key);
		}
	}
	if (!out->path)
		FAIL("device needs path=/sys/bus/pci/devices/DDDD:BB:DD.F");
	return 0;
}

int config_parse_vsock(char *spec, struct vsock_config *out, char *err,
		       size_t errlen)
{
	char *save = NULL, *tok, *val;
	bool have_cid = false;

	*out = (struct vsock_config){ .enabled = true,
				      .transport = TRANSPORT_PCI,
				      .addr = CONFIG_PCI_AUTO };
	for (tok = next_key(&save, spec, &val); tok;
	     tok = next_key(&save, NULL, &val)) {
		if (!val)
			FAIL("vsock option '%s' needs a value (key=value)",
			     tok);
		if (!strcmp(tok, "cid")) {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(val, &end, 10);
			if (!*val || *end || errno || *val == '-' || v < 3 ||
			    v > 0xfffffffeull)
				FAIL("vsock cid takes 3 to 4294967294 (0-2 are "
				     "reserved), not '%s'",
				     val);
			out->cid = v;
			have_cid = true;
		} else if (!strcmp(tok, "socket")) {
			if (!*val)
				FAIL("vsock socket path is empty");
			out->socket = val;
		} else if (!strcmp(tok, "transport")) {
			if (!strcmp(val, "pci"))
				out->transport = TRANSPORT_PCI;
			else if (!strcmp(val, "mmio"))
				out->transport = TRANSPORT_MMIO;
			else
				FAIL("vsock transport takes pci or mmio, not "
				     "'%s'",
				     val);
		} else if (!strcmp(tok, "addr")) {
			if (config_parse_pci_addr(val, &out->addr, err, errlen))
				return -EINVAL;
		} else if (!strcmp(tok, "id")) {
			if (parse_id(val, out->id, err, errlen))
				return -EINVAL;
		} else {
			FAIL("unknown vsock option '%s' (cid, socket, "
			     "transport, addr, id)",
			     tok);
		}
	}
	if (!have_cid)
		FAIL("vsock needs cid=N");
	if (out->transport == TRANSPORT_MMIO && out->addr != CONFIG_PCI_AUTO)
		FAIL("vsock addr= is for transport=pci");
	return 0;
}

static int parse_iommu(const char *s, struct iommu_config *out, char *err,
		       size_t errlen)
{
	const char *opts = strchr(s, ',');
	size_t n = opts ? (size_t)(opts - s) : strlen(s);
	char buf[128], *save = NULL, *tok;

	*out = (struct iommu_config){ 0 };
	if (n == 4 && !strncmp(s, "none", 4) && !opts)
		return 0;
	if (n == 6 && !strncmp(s, "virtio", 6) && !opts) {
		out->kind = IOMMU_VIRTIO;
		return 0;
	}
	if (n != 3 || strncmp(s, "vtd", 3))
		FAIL("iommu takes none, virtio or "
		     "vtd[,intremap=on|off][,caching_mode=on|off], not '%s'",
		     s);
	out->kind = IOMMU_VTD;
	out->intremap = true;
	if (!opts)
		return 0;
	if (strlen(opts + 1) >= sizeof(buf))
		FAIL("iommu vtd: options too long");
	strcpy(buf, opts + 1);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');
		bool *b = NULL;

		if (val)
			*val++ = '\0';
		if (!strcmp(tok, "intremap"))
			b = &out->intremap;
		else if (!strcmp(tok, "caching_mode"))
			b = &out->caching_mode;
		else
			FAIL("iommu vtd takes intremap=on|off and "
			     "caching_mode=on|off, not '%s'",
			     tok);
		if (!val || config_parse_bool(val, b))
			FAIL("iommu vtd: %s takes on or off, not '%s'", tok,
			     val ? val : "");
	}
	return 0;
}

/* Into *@out only when all of @s is good: a bad one loses nothing. */
int config_parse_iommu(const char *s, struct iommu_config *out, char *err,
		       size_t errlen)
{
	struct iommu_config c;
	int ret = parse_iommu(s, &c, err, errlen);

	if (!ret)
		*out = c;
	return ret;
}

int config_check_iommu(const struct vm_config *cfg, char *err, size_t errlen)
{
	const char *k = cfg->iommu.kind == IOMMU_VTD ? "vtd" : "virtio";
	const char *unit = cfg->iommu.kind == IOMMU_VTD ? "the VT-d unit" :
							  "virtio-iommu";

	if (cfg->iommu.kind == IOMMU_NONE)
		return 0;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		if (cfg->disks[i].vhost_user)
			FAIL("--iommu %s: --disk #%u is vhost-user, whose "
			     "back-end would need the unit's translations (no "
			     "IOTLB support yet)",
			     k, i + 1);
		if (cfg->disks[i].transport == TRANSPORT_MMIO)
			FAIL("--iommu %s: --disk #%u has transport=mmio, and "
			     "%s translates PCI functions only; use "
			     "transport=pci",
			     k, i + 1, unit);
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if (cfg->nets[i].mmio)
			FAIL("--iommu %s: --net #%u has transport=mmio, and "
			     "%s translates PCI functions only; use "
			     "transport=pci",
			     k, i + 1, unit);
		if (cfg->nets[i].type == NET_VHOST_USER)
			FAIL("--iommu %s: --net #%u is vhost-user, whose "
			     "back-end would need the unit's translations (no "
			     "IOTLB support yet)",
			     k, i + 1);
		if (cfg->nets[i].vhost != NET_VHOST_OFF)
			FAIL("--iommu %s: --net #%u has vhost=, whose kernel "
			     "worker would need the unit's translations (no "
			     "IOTLB support yet); use vhost=off",
			     k, i + 1);
	}
	if (cfg->vsock.enabled && cfg->vsock.transport == TRANSPORT_MMIO)
		FAIL("--iommu %s: --vsock has transport=mmio, and %s "
		     "translates PCI functions only; use transport=pci",
		     k, unit);
	if (cfg->vsock.enabled && !cfg->vsock.socket)
		FAIL("--iommu %s: --vsock without socket= is vhost-vsock, "
		     "whose kernel worker would need the unit's translations "
		     "(no IOTLB support yet); use socket=PATH",
		     k);
	return 0;
}

/*
 * Every PCI device the command line can ask for: NICs, disks, NVMe,
 * VFIO, pmem, and balloon, virtio-mem, rng, console, vsock, iommu.
 */
#define CONFIG_MAX_PCI                                           \
	(CONFIG_MAX_NETS + CONFIG_MAX_DISKS + CONFIG_MAX_NVMES + \
	 CONFIG_MAX_VFIO + CONFIG_MAX_PMEMS + 6)

/* One PCI device of the command line, in planning order. */
struct pci_want {
	char name[48];
	int *addr;
};

/*
 * An NVMe PF with vfs=N takes functions PF+1..PF+N of its slot for the
 * VFs (offset 1, stride 1): the PF must be function 0 and no other device
 * may sit there.
 */
static int check_vf_room(const struct vm_config *cfg, const struct pci_want *w,
			 unsigned int n, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < cfg->nr_nvmes; i++) {
		const struct disk_config *d = &cfg->nvmes[i];
		int pf = d->addr;

		if (!d->vfs)
			continue;
		if (PCI_FUNC(pf))
			FAIL("--nvme #%u has vfs=%u, so it needs function 0 "
			     "of its slot (its VFs take functions 1-%u), not "
			     "addr=%02x.%x",
			     i + 1, d->vfs, d->vfs, PCI_SLOT(pf), PCI_FUNC(pf));
		for (unsigned int j = 0; j < n; j++) {
			int a = *w[j].addr;

			if (a > pf && a <= pf + (int)d->vfs)
				FAIL("%s addr=%02x.%x is where a VF of --nvme "
				     "#%u (vfs=%u) would be",
				     w[j].name, PCI_SLOT(a), PCI_FUNC(a), i + 1,
				     d->vfs);
		}
	}
	return 0;
}

int config_plan_pci(struct vm_config *cfg, char *err, size_t errlen)
{
	struct pci_want w[CONFIG_MAX_PCI];
	int want[CONFIG_MAX_PCI];
	int out[CONFIG_MAX_PCI];
	unsigned int n = 0, bad = 0, i;
	int ret;

	/* NICs first: their slots name the guest's interfaces (enp0sN). */
	for (i = 0; i < cfg->nr_nets; i++) {
		if (cfg->nets[i].mmio)
			continue;
		snprintf(w[n].name, sizeof(w[n].name), "--net #%u", i + 1);
		w[n++].addr = &cfg->net_addrs[i];
	}
	for (i = 0; i < cfg->nr_disks; i++) {
		if (cfg->disks[i].transport != TRANSPORT_PCI)
			continue;
		snprintf(w[n].name, sizeof(w[n].name), "--disk #%u", i + 1);
		w[n++].addr = &cfg->disks[i].addr;
	}
	for (i = 0; i < cfg->nr_nvmes; i++) {
		snprintf(w[n].name, sizeof(w[n].name), "--nvme #%u", i + 1);
		w[n++].addr = &cfg->nvmes[i].addr;
	}
	for (i = 0; i < cfg->nr_vfio; i++) {
		snprintf(w[n].name, sizeof(w[n].name), "--device #%u", i + 1);
		w[n++].addr = &cfg->vfio[i].addr;
	}
	for (i = 0; i < cfg->nr_pmems; i++) {
		snprintf(w[n].name, sizeof(w[n].name), "--pmem #%u", i + 1);
		w[n++].addr = &cfg->pmems[i].addr;
	}
	if (cfg->balloon.enabled) {
		snprintf(w[n].name, sizeof(w[n].name), "--balloon");
		w[n++].addr = &cfg->balloon_addr;
	}
	if (cfg->hotplug_virtio_mem) {
		snprintf(w[n].name, sizeof(w[n].name), "virtio-mem");
		w[n++].addr = &cfg->virtio_mem_addr;
	}
	if (cfg->rng) {
		snprintf(w[n].name, sizeof(w[n].name), "--rng");
		w[n++].addr = &cfg->rng_addr;
	}
	if (cfg->virtio_console) {
		snprintf(w[n].name, sizeof(w[n].name), "--console virtio");
		w[n++].addr = &cfg->console_addr;
	}
	if (cfg->vsock.enabled && cfg->vsock.transport == TRANSPORT_PCI) {
		snprintf(w[n].name, sizeof(w[n].name), "--vsock");
		w[n++].addr = &cfg->vsock.addr;
	}
	/* Last: its slot is whatever the others left. */
	if (cfg->iommu.kind == IOMMU_VIRTIO) {
		snprintf(w[n].name, sizeof(w[n].name), "--iommu virtio");
		cfg->iommu_addr = CONFIG_PCI_AUTO;
		w[n++].addr = &cfg->iommu_addr;
	}
	for (i = 0; i < n; i++)
		want[i] = *w[i].addr;
	ret = pci_plan_devfns(want, n, out, &bad);
	switch (ret) {
	case 0:
		for (i = 0; i < n; i++)
			*w[i].addr = out[i];
		return check_vf_room(cfg, w, n, err, errlen);
	case -EEXIST:
		for (i = 0; i < bad && want[i] != want[bad]; i++)
			;
		FAIL("%s addr=%02x.%x is already taken by %s", w[bad].name,
		     PCI_SLOT(want[bad]), PCI_FUNC(want[bad]), w[i].name);
	case -ENODEV:
		FAIL("%s addr=%02x.%x: no device has addr=%02x.0, so the "
		     "guest would never find function %x",
		     w[bad].name, PCI_SLOT(want[bad]), PCI_FUNC(want[bad]),
		     PCI_SLOT(want[bad]), PCI_FUNC(want[bad]));
	case -ENOSPC:
		FAIL("%s: no free PCI slot left (bus 0 has %d)", w[bad].name,
		     PCI_MAX_SLOTS - 1);
	default:
		FAIL("%s addr=%02x.%x is out of range", w[bad].name,
		     PCI_SLOT(want[bad]), PCI_FUNC(want[bad]));
	}
}

void config_platform_default(struct platform_config *p)
{
	*p = (struct platform_config){ .serial = "0" };
}

int config_parse_uuid(const char *s, uint8_t out[16])
{
	static const unsigned int group[] = { 8, 4, 4, 4, 12 };
	unsigned int n = 0;

	for (unsigned int g = 0; g < 5; g++) {
		if (g && *s++ != '-')
			return -EINVAL;
		for (unsigned int i = 0; i < group[g]; i += 2, s += 2) {
			if (!isxdigit((unsigned char)s[0]) ||
			    !isxdigit((unsigned char)s[1]))
				return -EINVAL;
			sscanf(s, "%2hhx", &out[n++]);
		}
	}
	return *s ? -EINVAL : 0;
}

int config_parse_platform(char *spec, struct platform_config *p, char *err,
			  size_t errlen)
{
	char *save = NULL, *tok;

	if (!*spec)
		FAIL("platform needs serial=S and/or uuid=U");
	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val)
			FAIL("platform option '%s' needs a value (key=value)",
			     tok);
		*val++ = '\0';
		if (!strcmp(tok, "serial")) {
			size_t len = strlen(val);

			if (!len || len > CONFIG_PLATFORM_SERIAL_MAX)
				FAIL("platform serial takes 1 to %d "
				     "characters, not %zu",
				     CONFIG_PLATFORM_SERIAL_MAX, len);
			for (size_t i = 0; i < len; i++)
				if (val[i] < 0x20 || val[i] > 0x7e)
					FAIL("platform serial takes printable "
					     "ASCII only");
			strcpy(p->serial, val);
		} else if (!strcmp(tok, "uuid")) {
			if (config_parse_uuid(val, p->uuid))
				FAIL("platform uuid takes the form "
				     "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx "
				     "(hexadecimal), not '%s'",
				     val);
		} else {
			FAIL("unknown platform option '%s' (serial, uuid)",
			     tok);
		}
	}
	return 0;
}

int config_parse_pmem(char *spec, struct pmem_config *out, char *err,
		      size_t errlen)
{
	char *save = NULL, *tok, *val;

	*out = (struct pmem_config){ .addr = CONFIG_PCI_AUTO };
	for (tok = next_key(&save, spec, &val); tok;
	     tok = next_key(&save, NULL, &val)) {
		if (!val)
			FAIL("option '%s' needs a value (file=PATH, "
			     "discard_writes=on|off, id=ID)",
			     tok);
		if (!strcmp(tok, "file")) {
			if (!*val)
				FAIL("file needs a path");
			out->path = val;
		} else if (!strcmp(tok, "discard_writes")) {
			if (config_parse_bool(val, &out->discard_writes))
				FAIL("discard_writes takes on or off, not "
				     "'%s'",
				     val);
		} else if (!strcmp(tok, "id")) {
			if (parse_id(val, out->id, err, errlen))
				return -EINVAL;
		} else {
			FAIL("unknown option '%s' (file, discard_writes, id)",
			     tok);
		}
	}
	if (!out->path)
		FAIL("needs file=PATH");
	return 0;
}

int config_parse_balloon(char *spec, struct balloon_config *out, char *err,
			 size_t errlen)
{
	char *save = NULL, *tok, *val;
	bool *flag;

	*out = (struct balloon_config){ .enabled = true };
	for (tok = next_key(&save, spec, &val); tok;
	     tok = next_key(&save, NULL, &val)) {
		if (!val)
			FAIL("option '%s' needs a value (size=SIZE, "
			     "deflate_on_oom=on|off, free_page_reporting=on|off)",
			     tok);
		if (!strcmp(tok, "size")) {
			if (parse_size(val, &out->size))
				FAIL("size takes a size such as 256M, not "
				     "'%s'",
				     val);
			continue;
		}
		if (!strcmp(tok, "deflate_on_oom"))
			flag = &out->deflate_on_oom;
		else if (!strcmp(tok, "free_page_reporting"))
			flag = &out->free_page_reporting;
		else
			FAIL("unknown option '%s' (size, deflate_on_oom, "
			     "free_page_reporting)",
			     tok);
		if (config_parse_bool(val, flag))
			FAIL("%s takes on or off, not '%s'", tok, val);
	}
	return 0;
}

int config_parse_cpus(char *spec, unsigned int *boot, unsigned int *max,
		      char *err, size_t errlen)
{
	unsigned long b = 1, m = 0, n;
	char *save = NULL, *tok;

	if (!strchr(spec, '=')) {
		if (parse_uint(spec, 1, CONFIG_MAX_CPUS, &n))
			FAIL("takes a number from 1 to %d or boot=N,max=M, "
			     "not '%s'",
			     CONFIG_MAX_CPUS, spec);
		*boot = *max = n;
		return 0;
	}
	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val)
			FAIL("option '%s' needs a value (boot=N,max=M)", tok);
		*val++ = '\0';
		if (strcmp(tok, "boot") && strcmp(tok, "max"))
			FAIL("unknown option '%s' (boot, max)", tok);
		if (parse_uint(val, 1, CONFIG_MAX_CPUS, &n))
			FAIL("%s takes a number from 1 to %d, not '%s'", tok,
			     CONFIG_MAX_CPUS, val);
		if (!strcmp(tok, "boot"))
			b = n;
		else
			m = n;
	}
	if (!m)
		m = b;
	if (m < b)
		FAIL("max=%lu is below boot=%lu", m, b);
	*boot = b;
	*max = m;
	return 0;
}

void config_vm_defaults(struct vm_config *cfg)
{
	*cfg = (struct vm_config){ .nr_cpus = 1,
				   .ram_size = CONFIG_RAM_DEFAULT,
				   .rng_addr = CONFIG_PCI_AUTO,
				   .console_addr = CONFIG_PCI_AUTO,
				   .balloon_addr = CONFIG_PCI_AUTO,
				   .virtio_mem_addr = CONFIG_PCI_AUTO,
				   .io_sched = EVLOOP_SCHED_BATCH };
	config_platform_default(&cfg->platform);
}

int config_parse_memory(char *spec, struct vm_config *cfg, char *err,
			size_t errlen)
{
	char *save = NULL, *tok, *val, why[64];
	uint64_t size;
	bool first = true;

	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		val = strchr(tok, '=');
		if (first && !val) {
			val = tok;
			tok = "size";
		} else if (!val) {
			FAIL("takes SIZE[,shared=on|off][,hotplug_size=SIZE]"
			     "[,hotplug_method=acpi|virtio-mem], not '%s'",
			     tok);
		} else {
			*val++ = '\0';
		}
		if (!strcmp(tok, "shared")) {
			if (config_parse_bool(val, &cfg->ram_shared))
				FAIL("shared takes on or off, not '%s'", val);
			continue;
		}
		if (!strcmp(tok, "hotplug_method")) {
			if (strcmp(val, "acpi") && strcmp(val, "virtio-mem"))
				FAIL("hotplug_method takes acpi or virtio-mem, "
				     "not '%s'",
				     val);
			cfg->hotplug_virtio_mem = !strcmp(val, "virtio-mem");
			continue;
		}
		if (strcmp(tok, "size") && strcmp(tok, "hotplug_size"))
			FAIL("unknown option '%s' (size, shared, "
			     "hotplug_size, hotplug_method)",
			     tok);
		if (parse_size(val, &size))
			FAIL("%s takes a size such as 512M or 2G, not '%s'",
			     tok, val);
		if (!strcmp(tok, "size") &&
		    config_check_ram(size, why, sizeof(why)))
			FAIL("%s %s is %s", tok, val, why);
		if (!strcmp(tok, "size"))
			cfg->ram_size = size;
		else
			cfg->hotplug_size = size;
	}
	return 0;
}

int config_check_ram(uint64_t size, char *err, size_t errlen)
{
	if (size < CONFIG_RAM_MIN)
		FAIL("too small: the minimum is 16M");
	if (size & 0xfff)
		FAIL("not a multiple of 4K");
	return 0;
}

/* id=ID of a device option, into @out (CONFIG_ID_LEN bytes). */
static int parse_id(const char *val, char *out, char *err, size_t errlen)
{
	if (config_check_id(val, err, errlen))
		return -EINVAL;
	strcpy(out, val);
	return 0;
}

int config_check_id(const char *id, char *err, size_t errlen)
{
	size_t n = strlen(id);

	if (!n || n >= CONFIG_ID_LEN)
		FAIL("id '%s' is not 1 to %d characters", id,
		     CONFIG_ID_LEN - 1);
	if (id[0] == '_')
		FAIL("id '%s': ids starting with '_' are devisor's own (_diskN, "
		     "_netN, _vfioN, _pmemN, _vsock0)",
		     id);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("-_.", id[i]))
			FAIL("id '%s' has a '%c': letters, digits, '-', '_' and "
			     "'.' only",
			     id, id[i]);
	return 0;
}

const char *config_device_id(const struct vm_config *cfg,
			     enum config_dev_kind kind, unsigned int i,
			     char buf[CONFIG_ID_LEN])
{
	static const char *const prefix[] = { "_disk", "_net", "_vfio", "_pmem",
					      "_vsock" };
	const char *own = kind == CONFIG_DEV_DISK ? cfg->disks[i].id :
			  kind == CONFIG_DEV_NET  ? cfg->net_ids[i] :
			  kind == CONFIG_DEV_VFIO ? cfg->vfio[i].id :
			  kind == CONFIG_DEV_PMEM ? cfg->pmems[i].id :
						    cfg->vsock.id;

	if (own[0])
		return own;
	snprintf(buf, CONFIG_ID_LEN, "%s%u", prefix[kind], i);
	return buf;
}

static bool dev_removed(const struct vm_config *cfg, enum config_dev_kind kind,
			unsigned int i)
{
	return kind == CONFIG_DEV_DISK ? cfg->disks[i].removed :
	       kind == CONFIG_DEV_NET  ? cfg->net_removed[i] :
	       kind == CONFIG_DEV_VFIO ? cfg->vfio[i].removed :
	       kind == CONFIG_DEV_PMEM ? cfg->pmems[i].removed :
					 cfg->vsock.removed;
}

/* How many devices of each kind the config holds, removed ones too. */
static void dev_counts(const struct vm_config *cfg,
		       unsigned int nr[CONFIG_DEV_KINDS])
{
	nr[CONFIG_DEV_DISK] = cfg->nr_disks;
	nr[CONFIG_DEV_NET] = cfg->nr_nets;
	nr[CONFIG_DEV_VFIO] = cfg->nr_vfio;
	nr[CONFIG_DEV_PMEM] = cfg->nr_pmems;
	nr[CONFIG_DEV_VSOCK] = cfg->vsock.enabled;
}

int config_find_id(const struct vm_config *cfg, const char *id,
		   enum config_dev_kind *kind, unsigned int *idx)
{
	unsigned int nr[CONFIG_DEV_KINDS];
	char buf[CONFIG_ID_LEN];

	dev_counts(cfg, nr);
	for (int k = 0; k < CONFIG_DEV_KINDS; k++)
		for (unsigned int i = 0; i < nr[k]; i++)
			if (!dev_removed(cfg, k, i) &&
			    !strcmp(config_device_id(cfg, k, i, buf), id)) {
				*kind = k;
				*idx = i;
				return 0;
			}
	return -ENOENT;
}

/* No id given twice (a generated one cannot clash: '_' is reserved). */
static int check_ids(const struct vm_config *cfg, char *err, size_t errlen)
{
	unsigned int nr[CONFIG_DEV_KINDS];
	enum config_dev_kind k2;
	unsigned int i2;
	char buf[CONFIG_ID_LEN];

	dev_counts(cfg, nr);
	for (int k = 0; k < CONFIG_DEV_KINDS; k++)
		for (unsigned int i = 0; i < nr[k]; i++) {
			const char *id = config_device_id(cfg, k, i, buf);

			if (!config_find_id(cfg, id, &k2, &i2) &&
			    ((int)k2 != k || i2 != i))
				FAIL("id '%s' is given to two devices", id);
		}
	return 0;
}

int config_finish(struct vm_config *cfg, char *err, size_t errlen)
{
	bool vhost_user = false;

	/* A vhost-user back-end maps guest RAM: it must be a memfd. */
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		vhost_user |= cfg->disks[i].vhost_user != NULL;
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		vhost_user |= cfg->nets[i].type == NET_VHOST_USER;
	if (vhost_user && !cfg->ram_shared) {
		pr_info("vhost-user: guest RAM is shared (a memfd)");
		cfg->ram_shared = true;
	}
	if (cfg->max_cpus < cfg->nr_cpus)
		cfg->max_cpus = cfg->nr_cpus;
	if (cfg->hotplug_virtio_mem &&
	    (!cfg->hotplug_size || cfg->hotplug_size % VIRTIO_MEM_REGION_ALIGN))
		FAIL("memory hotplug_method=virtio-mem needs a hotplug_size of "
		     "whole 128 MiB (its region), not %llu MiB",
		     (unsigned long long)(cfg->hotplug_size >> 20));
	/* Whole hotplug slots, as Cloud Hypervisor takes any size. */
	if (cfg->hotplug_size && !cfg->hotplug_virtio_mem &&
	    cfg->hotplug_size != memhp_area_size(cfg->hotplug_size)) {
		uint64_t a = memhp_area_size(cfg->hotplug_size);

		pr_info("memory hotplug_size %llu MiB taken as %llu MiB (%s)",
			(unsigned long long)(cfg->hotplug_size >> 20),
			(unsigned long long)(a >> 20),
			cfg->hotplug_size > MEMHP_MAX_AREA ?
				"at most 256 GiB" :
				"whole slots of 128 MiB or more");
		cfg->hotplug_size = a;
	}
	if (cfg->balloon.enabled && cfg->balloon.size >= cfg->ram_size)
		FAIL("balloon size %llu MiB is not below the VM's %llu MiB of "
		     "RAM",
		     (unsigned long long)(cfg->balloon.size >> 20),
		     (unsigned long long)(cfg->ram_size >> 20));
	if (check_ids(cfg, err, errlen) || config_plan_pci(cfg, err, errlen) ||
	    config_check_iommu(cfg, err, errlen))
		return -EINVAL;
	if (!cfg->cmdline)
		cfg->cmdline = cfg->virtio_console ? "console=hvc0" :
						     "console=ttyS0";
	return 0;
}
