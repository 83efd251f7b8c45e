// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "backend/net.h"
#include "config.h"
#include "kvm/vm.h"
#include "pci/pci.h"

static int parse(const char *spec, struct disk_config *d, char *err)
{
	static char buf[256];

	strcpy(buf, spec);
	return config_parse_disk(buf, d, err, 256);
}

static void test_disk_good(void **state)
{
	struct disk_config d;
	char err[256];

	assert_int_equal(
		parse("vhost-user=/run/vu.sock,transport=mmio", &d, err), 0);
	assert_null(d.path);
	assert_string_equal(d.vhost_user, "/run/vu.sock");
	assert_int_equal(d.transport, TRANSPORT_MMIO);

	assert_int_equal(parse("path=/tmp/a.img", &d, err), 0);
	assert_null(d.vhost_user);
	assert_string_equal(d.path, "/tmp/a.img");
	assert_false(d.readonly);
	assert_int_equal(d.transport, TRANSPORT_PCI);
	assert_int_equal(d.nr_queues, 0);
	assert_int_equal(d.engine, BLK_ENGINE_AUTO);
	assert_true(d.packed);
	assert_int_equal(d.poll_us, CONFIG_DISK_POLL_US);
	assert_false(d.iothread); /* the board's io0 */
	/* No batch=: on for virtio-mmio only. */
	assert_int_equal(d.batch_us, CONFIG_DISK_BATCH_AUTO);
	assert_int_equal(config_disk_batch_us(&d), 0);
	d.transport = TRANSPORT_MMIO;
	assert_int_equal(config_disk_batch_us(&d), CONFIG_DISK_BATCH_US);
	d.transport = TRANSPORT_PCI;
	/* No queues=: one per vCPU on PCI, up to 16; one on MMIO. */
	assert_int_equal(config_disk_queues(&d, 1), 1);
	assert_int_equal(config_disk_queues(&d, 4), 4);
	assert_int_equal(config_disk_queues(&d, 64), 16);
	d.transport = TRANSPORT_MMIO;
	assert_int_equal(config_disk_queues(&d, 4), 1);

	assert_int_equal(parse("/tmp/b.img,readonly=on,transport=mmio,"
			       "direct=on,engine=sync,queues=4,serial=ab12,"
			       "packed=off,poll=0,batch=0",
			       &d, err),
			 0);
	assert_string_equal(d.path, "/tmp/b.img");
	assert_true(d.readonly);
	assert_true(d.direct);
	assert_int_equal(d.transport, TRANSPORT_MMIO);
	assert_int_equal(d.engine, BLK_ENGINE_SYNC);
	assert_int_equal(d.nr_queues, 4);
	assert_int_equal(config_disk_queues(&d, 2), 4);
	assert_string_equal(d.serial, "ab12");
	assert_false(d.packed);
	assert_int_equal(d.poll_us, 0);
	assert_int_equal(d.batch_us, 0);
	assert_int_equal(config_disk_batch_us(&d), 0);
	assert_int_equal(
		parse("path=c,poll=1000,batch=10000,iothread=on", &d, err), 0);
	assert_true(d.iothread);
	assert_int_equal(config_disk_batch_us(&d), 10000);
	assert_int_equal(d.poll_us, 1000);
	assert_int_equal(d.batch_us, 10000);
	assert_false(rate_limit_config_active(&d.rate_limit));
	/* Cloud Hypervisor's rate limiter keys. */
	assert_int_equal(parse("path=c,bw_size=1048576,bw_refill_time=1000,"
			       "bw_one_time_burst=4096,ops_size=100,"
			       "ops_refill_time=500",
			       &d, err),
			 0);
	assert_true(rate_limit_config_active(&d.rate_limit));
	assert_int_equal(d.rate_limit.bw.size, 1048576);
	assert_int_equal(d.rate_limit.bw.refill_ms, 1000);
	assert_int_equal(d.rate_limit.bw.one_time_burst, 4096);
	assert_int_equal(d.rate_limit.ops.size, 100);
	assert_int_equal(d.rate_limit.ops.refill_ms, 500);
}

static void test_disk_bad(void **state)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "", "disk needs path=IMAGE" },
		{ "readonly=on", "disk needs path=IMAGE" },
		{ "path=", "disk path is empty" },
		{ "path=a,readonly=maybe",
		  "disk readonly takes on or off, not 'maybe'" },
		{ "path=a,transport=isa",
		  "disk transport takes pci or mmio, not 'isa'" },
		{ "path=a,queues=0",
		  "disk queues takes a number from 1 to 16, not '0'" },
		{ "path=a,queues=17",
		  "disk queues takes a number from 1 to 16, not '17'" },
		{ "path=a,engine=aio",
		  "disk engine takes auto, io_uring or sync, not 'aio'" },
		{ "path=a,serial=123456789012345678901",
		  "disk serial '123456789012345678901' is longer than 20 "
		  "bytes" },
		{ "path=a,cache=none",
		  "unknown disk option 'cache' (path, readonly, transport, "
		  "direct, engine, queues, packed, poll, batch, iothread, "
		  "serial, addr, vhost-user, id, bw_size, bw_one_time_burst, "
		  "bw_refill_time, ops_size, ops_one_time_burst, "
		  "ops_refill_time)" },
		{ "path=a,bw_size=100",
		  "disk bw_: a size without a refill time" },
		{ "path=a,ops_refill_time=100",
		  "disk ops_: a refill time or burst without a size" },
		{ "path=a,bw_size=1M,bw_refill_time=1",
		  "bw_size takes a number, not '1M'" },
		{ "path=a,ops_size=1,ops_refill_time=-5",
		  "ops_refill_time takes a number of milliseconds, not '-5'" },
		{ "path=a,bw_rate=5",
		  "unknown disk option 'bw_rate' (path, readonly, transport, "
		  "direct, engine, queues, packed, poll, batch, iothread, "
		  "serial, addr, vhost-user, id, bw_size, bw_one_time_burst, "
		  "bw_refill_time, ops_size, ops_one_time_burst, "
		  "ops_refill_time)" },
		{ "vhost-user=/s,ops_size=5,ops_refill_time=10",
		  "disk vhost-user=SOCKET takes only transport= and addr= "
		  "(the back-end has the image)" },
		{ "path=a,iothread=2",
		  "disk iothread takes on or off, not '2'" },
		{ "path=a,batch=10001",
		  "disk batch takes microseconds from 0 (off) to 10000, not "
		  "'10001'" },
		{ "path=a,poll=1001",
		  "disk poll takes microseconds from 0 (off) to 1000, not "
		  "'1001'" },
		{ "path=a,poll=-1",
		  "disk poll takes microseconds from 0 (off) to 1000, not "
		  "'-1'" },
		{ "vhost-user=/s,poll=0",
		  "disk vhost-user=SOCKET takes only transport= and addr= "
		  "(the back-end has the image)" },
		{ "path=a,packed=split",
		  "disk packed takes on or off, not 'split'" },
		{ "vhost-user=/s,packed=off",
		  "disk vhost-user=SOCKET takes only transport= and addr= "
		  "(the back-end has the image)" },
		{ "vhost-user=/s,readonly=on",
		  "disk vhost-user=SOCKET takes only transport= and addr= "
		  "(the back-end has the image)" },
		{ "path=a,vhost-user=/s",
		  "disk vhost-user=SOCKET takes only transport= and addr= "
		  "(the back-end has the image)" },
		{ "vhost-user=", "disk vhost-user needs a socket path" },
		{ "path=a,addr=3",
		  "addr takes DD.F (hex slot 01-1f, function 0-7), not '3'" },
		{ "path=a,addr=00.0",
		  "addr 00.0 is taken: slot 00 is the host bridge's" },
		{ "path=a,addr=20.0",
		  "addr 20.0 is out of range: slots run from 01 to 1f" },
		{ "path=a,addr=03.0,transport=mmio",
		  "disk addr= is a PCI address; transport=mmio has none" },
		{ "path=a,readonly", "disk option 'readonly' needs a value "
				     "(key=value)" },
	};
	struct disk_config d;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse(cases[i].spec, &d, err), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
}

static int parse_nvme(const char *spec, struct disk_config *d, char *err)
{
	static char buf[256];

	strcpy(buf, spec);
	return config_parse_nvme(buf, d, err, 160);
}

static void test_nvme_good(void **state)
{
	struct disk_config d;
	char err[256];

	assert_int_equal(parse_nvme("path=/tmp/n.img", &d, err), 0);
	assert_string_equal(d.path, "/tmp/n.img");
	assert_false(d.readonly);
	assert_int_equal(d.engine, BLK_ENGINE_AUTO);
	assert_int_equal(d.addr, CONFIG_PCI_AUTO);
	assert_string_equal(d.serial, "");

	assert_int_equal(parse_nvme("/tmp/m.img,serial=DVSNVME01,readonly=on,"
				    "direct=on,engine=io_uring,addr=06.0",
				    &d, err),
			 0);
	assert_string_equal(d.path, "/tmp/m.img");
	assert_string_equal(d.serial, "DVSNVME01");
	assert_true(d.readonly);
	assert_true(d.direct);
	assert_int_equal(d.engine, BLK_ENGINE_IO_URING);
	assert_int_equal(d.addr, PCI_DEVFN(6, 0));
	assert_int_equal(
		parse_nvme("path=a,serial=12345678901234567890", &d, err), 0);
	assert_string_equal(d.serial, "12345678901234567890");
	assert_int_equal(d.vfs, 0);
	assert_int_equal(parse_nvme("path=a,vfs=7,addr=04.0", &d, err), 0);
	assert_int_equal(d.vfs, 7);
	assert_int_equal(parse_nvme("path=a,vfs=0", &d, err), 0);
	assert_int_equal(d.vfs, 0);
}

static void test_nvme_bad(void **state)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "", "nvme needs path=IMAGE" },
		{ "serial=A", "nvme needs path=IMAGE" },
		{ "path=", "nvme path is empty" },
		{ "path=a,serial=123456789012345678901",
		  "nvme serial takes 1 to 20 characters, not 21" },
		{ "path=a,serial=", "nvme serial takes 1 to 20 characters, "
				    "not 0" },
		{ "path=a,serial=a\tb", "nvme serial takes printable ASCII "
					"only" },
		{ "path=a,vfs=8", "nvme vfs takes 0 to 7 (SR-IOV virtual "
				  "functions in the PF's slot), not '8'" },
		{ "path=a,vfs=-1", "nvme vfs takes 0 to 7 (SR-IOV virtual "
				   "functions in the PF's slot), not '-1'" },
		{ "path=a,vfs=", "nvme vfs takes 0 to 7 (SR-IOV virtual "
				 "functions in the PF's slot), not ''" },
		{ "path=a,vfs=2x", "nvme vfs takes 0 to 7 (SR-IOV virtual "
				   "functions in the PF's slot), not '2x'" },
		{ "path=a,queues=2",
		  "unknown nvme option 'queues' (path, readonly, direct, "
		  "engine, serial, addr, vfs, iothread)" },
		{ "path=a,transport=mmio",
		  "unknown nvme option 'transport' (path, readonly, direct, "
		  "engine, serial, addr, vfs, iothread)" },
		{ "path=a,readonly=maybe",
		  "nvme readonly takes on or off, not 'maybe'" },
		{ "path=a,engine=aio",
		  "nvme engine takes auto, io_uring or sync, not 'aio'" },
		{ "path=a,addr=00.0",
		  "addr 00.0 is taken: slot 00 is the host bridge's" },
		{ "path=a,serial", "nvme option 'serial' needs a value "
				   "(key=value)" },
	};
	struct disk_config d;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse_nvme(cases[i].spec, &d, err), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
}

static void test_pci_addr(void **state)
{
	static const char *const bad[] = { "",	   "3",	    "03",    "03.",
					   "03.8", "003.0", "3.0x",  ".0",
					   "g3.0", "03:0",  "03.0 ", "-1.0" };
	struct disk_config d;
	char err[256];
	int devfn = 0;

	assert_int_equal(config_parse_pci_addr("03.0", &devfn, err, 160), 0);
	assert_int_equal(devfn, PCI_DEVFN(3, 0));
	assert_int_equal(config_parse_pci_addr("1f.7", &devfn, err, 160), 0);
	assert_int_equal(devfn, PCI_DEVFN(0x1f, 7));
	assert_int_equal(config_parse_pci_addr("A.2", &devfn, err, 160), 0);
	assert_int_equal(devfn, PCI_DEVFN(10, 2));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		devfn = 1234;
		assert_int_equal(config_parse_pci_addr(bad[i], &devfn, err,
						       160),
				 -EINVAL);
		assert_int_equal(devfn, 1234);
	}
	assert_int_equal(config_parse_pci_addr("00.3", &devfn, err, 160),
			 -EINVAL);
	assert_string_equal(err,
			    "addr 00.3 is taken: slot 00 is the host bridge's");

	assert_int_equal(parse("a.img,addr=05.0,readonly=on", &d, err), 0);
	assert_int_equal(d.addr, PCI_DEVFN(5, 0));
	assert_true(d.readonly);
	assert_int_equal(parse("a.img", &d, err), 0);
	assert_int_equal(d.addr, CONFIG_PCI_AUTO);
}

static void test_net_rng_console(void **state)
{
	struct net_options n;
	char err[256];
	bool virtio = false;
	char id[CONFIG_ID_LEN];
	int addr = 0;

	assert_int_equal(
		config_parse_net("user,addr=04.0,hostfwd=tcp::2222-:22", &n,
				 &addr, NULL, err, 160),
		0);
	assert_int_equal(addr, PCI_DEVFN(4, 0));
	assert_int_equal(n.type, NET_USER);
	assert_int_equal(n.nr_hostfwd, 1);
	assert_int_equal(config_parse_net("user", &n, &addr, NULL, err, 160),
			 0);
	assert_int_equal(addr, CONFIG_PCI_AUTO);
	assert_int_equal(config_parse_net("user,addr=4", &n, &addr, NULL, err,
					  160),
			 -EINVAL);
	assert_string_equal(
		err, "addr takes DD.F (hex slot 01-1f, function 0-7), not '4'");
	assert_int_equal(config_parse_net("user,addr=0123456789", &n, &addr,
					  NULL, err, 160),
			 -EINVAL);
	assert_string_equal(err, "addr takes DD.F (hex slot 01-1f, function "
				 "0-7), not '0123456789'");
	assert_int_equal(config_parse_net("tap=t0,addr=", &n, &addr, NULL, err,
					  160),
			 -EINVAL);
	/* The back-end's own errors come through. */
	assert_int_equal(config_parse_net("user,addr=04.0,colour=red", &n,
					  &addr, NULL, err, 160),
			 -EINVAL);
	/* id= where the caller takes one, in any place of the spec. */
	assert_int_equal(config_parse_net("id=lan,tap=t0,addr=05.0", &n, &addr,
					  id, err, 160),
			 0);
	assert_string_equal(id, "lan");
	assert_int_equal(n.type, NET_TAP);
	assert_int_equal(addr, PCI_DEVFN(5, 0));
	assert_int_equal(config_parse_net("user", &n, &addr, id, err, 160), 0);
	assert_string_equal(id, "");
	assert_int_equal(config_parse_net("user,id=_net0", &n, &addr, id, err,
					  160),
			 -EINVAL);
	assert_non_null(strstr(err, "devisor's own"));
	assert_int_equal(config_parse_net("user,id=0123456789012345678901234567"
					  "890123",
					  &n, &addr, id, err, 160),
			 -EINVAL);
	assert_non_null(strstr(err, "is not 1 to 31 characters"));

	assert_int_equal(config_parse_rng(NULL, &addr, err, 160), 0);
	assert_int_equal(addr, CONFIG_PCI_AUTO);
	assert_int_equal(config_parse_rng("addr=1e.0", &addr, err, 160), 0);
	assert_int_equal(addr, PCI_DEVFN(0x1e, 0));
	assert_int_equal(config_parse_rng("fast", &addr, err, 160), -EINVAL);
	assert_string_equal(err, "rng takes addr=DD.F or nothing, not 'fast'");

	assert_int_equal(config_parse_console("virtio,addr=06.0", &virtio,
					      &addr, err, 160),
			 0);
	assert_true(virtio);
	assert_int_equal(addr, PCI_DEVFN(6, 0));
	assert_int_equal(
		config_parse_console("serial", &virtio, &addr, err, 160), 0);
	assert_false(virtio);
	assert_int_equal(config_parse_console("serial,addr=06.0", &virtio,
					      &addr, err, 160),
			 -EINVAL);
	assert_int_equal(config_parse_console("virtio,addr=xx", &virtio, &addr,
					      err, 160),
			 -EINVAL);
}

/*
 * Device ids: id= on --disk and --device, checked; devisor's own
 * (_diskN, _netN, _vfioN) for the rest; a lookup by either that skips
 * removed devices; the same id twice refused by config_finish().
 */
static void test_ids(void **state)
{
	static struct vm_config cfg;
	static char dev[] = "path=/sys/bus/pci/devices/0000:01:00.0,id=nic.1";
	enum config_dev_kind kind;
	char err[256], buf[CONFIG_ID_LEN];
	unsigned int idx;

	config_vm_defaults(&cfg);
	cfg.kernel = "/k";
	assert_int_equal(parse("path=/a.img,id=root", &cfg.disks[0], err), 0);
	assert_string_equal(cfg.disks[0].id, "root");
	assert_int_equal(parse("path=/b.img", &cfg.disks[1], err), 0);
	assert_string_equal(cfg.disks[1].id, "");
	cfg.nr_disks = 2;
	assert_int_equal(config_parse_vfio(dev, &cfg.vfio[0], err, 160), 0);
	assert_string_equal(cfg.vfio[0].id, "nic.1");
	cfg.nr_vfio = 1;
	cfg.nets[0] = (struct net_options){ .type = NET_TAP };
	cfg.net_addrs[0] = CONFIG_PCI_AUTO;
	cfg.nr_nets = 1;
	assert_int_equal(config_finish(&cfg, err, 160), 0);

	assert_string_equal(config_device_id(&cfg, CONFIG_DEV_DISK, 0, buf),
			    "root");
	assert_string_equal(config_device_id(&cfg, CONFIG_DEV_DISK, 1, buf),
			    "_disk1");
	assert_string_equal(config_device_id(&cfg, CONFIG_DEV_NET, 0, buf),
			    "_net0");
	assert_int_equal(config_find_id(&cfg, "nic.1", &kind, &idx), 0);
	assert_int_equal(kind, CONFIG_DEV_VFIO);
	assert_int_equal(idx, 0);
	assert_int_equal(config_find_id(&cfg, "_disk1", &kind, &idx), 0);
	assert_int_equal(kind, CONFIG_DEV_DISK);
	assert_int_equal(idx, 1);
	assert_int_equal(config_find_id(&cfg, "_disk0", &kind, &idx), -ENOENT);
	cfg.disks[0].removed = true;
	assert_int_equal(config_find_id(&cfg, "root", &kind, &idx), -ENOENT);
	cfg.disks[0].removed = false;

	strcpy(cfg.net_ids[0], "root");
	assert_int_equal(config_finish(&cfg, err, 160), -EINVAL);
	assert_string_equal(err, "id 'root' is given to two devices");
	cfg.net_ids[0][0] = '\0';

	/* pmem and vsock devices have ids too (vm.remove-device). */
	{
		char p0[] = "file=/p.img", p1[] = "file=/q.img,id=pm",
		     v[] = "cid=3,socket=/v.sock,id=root";

		assert_int_equal(config_parse_pmem(p0, &cfg.pmems[0], err, 160),
				 0);
		assert_int_equal(config_parse_pmem(p1, &cfg.pmems[1], err, 160),
				 0);
		cfg.nr_pmems = 2;
		assert_int_equal(config_parse_vsock(v, &cfg.vsock, err, 160),
				 0);
	}
	assert_int_equal(config_finish(&cfg, err, 160), -EINVAL);
	assert_string_equal(err, "id 'root' is given to two devices");
	strcpy(cfg.vsock.id, "vs");
	assert_int_equal(config_finish(&cfg, err, 160), 0);
	assert_string_equal(config_device_id(&cfg, CONFIG_DEV_PMEM, 0, buf),
			    "_pmem0");
	assert_int_equal(config_find_id(&cfg, "pm", &kind, &idx), 0);
	assert_int_equal(kind, CONFIG_DEV_PMEM);
	assert_int_equal(idx, 1);
	assert_int_equal(config_find_id(&cfg, "vs", &kind, &idx), 0);
	assert_int_equal(kind, CONFIG_DEV_VSOCK);
	cfg.vsock.removed = true;
	assert_int_equal(config_find_id(&cfg, "vs", &kind, &idx), -ENOENT);
	cfg.vsock = (struct vsock_config){ 0 };
	cfg.nr_pmems = 0;

	assert_int_equal(parse("path=/a.img,id=_disk0", &cfg.disks[0], err),
			 -EINVAL);
	assert_non_null(strstr(err, "devisor's own"));
	assert_int_equal(parse("path=/a.img,id=a/b", &cfg.disks[0], err),
			 -EINVAL);
	assert_string_equal(err, "id 'a/b' has a '/': letters, digits, '-', "
				 "'_' and '.' only");
	assert_int_equal(parse("path=/a.img,id=0123456789012345678901234567890"
			       "1",
			       &cfg.disks[0], err),
			 -EINVAL);
	assert_non_null(strstr(err, "is not 1 to 31 characters"));
	assert_int_equal(config_check_id("a-b_c.9", err, 160), 0);
}

static void test_plan(void **state)
{
	static struct vm_config cfg;
	char err[256];

	/* Explicit addresses first; the rest in order --net, --disk, ... */
	cfg = (struct vm_config){ .nr_disks = 3,
				  .nr_nets = 2,
				  .rng = true,
				  .rng_addr = PCI_DEVFN(2, 0),
				  .virtio_console = true,
				  .console_addr = CONFIG_PCI_AUTO };
	cfg.disks[0].transport = TRANSPORT_PCI;
	cfg.disks[0].addr = CONFIG_PCI_AUTO;
	cfg.disks[1].transport = TRANSPORT_MMIO;
	cfg.disks[1].addr = CONFIG_PCI_AUTO;
	cfg.disks[2].transport = TRANSPORT_PCI;
	cfg.disks[2].addr = PCI_DEVFN(9, 0);
	cfg.net_addrs[0] = CONFIG_PCI_AUTO;
	cfg.net_addrs[1] = CONFIG_PCI_AUTO;
	assert_int_equal(config_plan_pci(&cfg, err, 160), 0);
	assert_int_equal(cfg.net_addrs[0], PCI_DEVFN(1, 0));
	assert_int_equal(cfg.net_addrs[1], PCI_DEVFN(3, 0));
	assert_int_equal(cfg.disks[0].addr, PCI_DEVFN(4, 0));
	assert_int_equal(cfg.disks[1].addr, CONFIG_PCI_AUTO);
	assert_int_equal(cfg.disks[2].addr, PCI_DEVFN(9, 0));
	assert_int_equal(cfg.rng_addr, PCI_DEVFN(2, 0));
	assert_int_equal(cfg.console_addr, PCI_DEVFN(5, 0));

	/* Adding a disk never moves a NIC. */
	cfg = (struct vm_config){ .nr_disks = 0, .nr_nets = 1 };
	cfg.net_addrs[0] = CONFIG_PCI_AUTO;
	assert_int_equal(config_plan_pci(&cfg, err, 160), 0);
	assert_int_equal(cfg.net_addrs[0], PCI_DEVFN(1, 0));
	cfg = (struct vm_config){ .nr_disks = 2, .nr_nets = 1 };
	cfg.disks[0].addr = cfg.disks[1].addr = CONFIG_PCI_AUTO;
	cfg.net_addrs[0] = CONFIG_PCI_AUTO;
	assert_int_equal(config_plan_pci(&cfg, err, 160), 0);
	assert_int_equal(cfg.net_addrs[0], PCI_DEVFN(1, 0));

	/* Conflicts name both options. */
	cfg = (struct vm_config){ .nr_disks = 1, .nr_nets = 1, .rng = true };
	cfg.disks[0].addr = PCI_DEVFN(4, 0);
	cfg.net_addrs[0] = PCI_DEVFN(4, 0);
	cfg.rng_addr = CONFIG_PCI_AUTO;
	assert_int_equal(config_plan_pci(&cfg, err, 160), -EINVAL);
	assert_string_equal(err,
			    "--disk #1 addr=04.0 is already taken by --net #1");
	cfg.disks[0].addr = PCI_DEVFN(4, 1);
	cfg.net_addrs[0] = CONFIG_PCI_AUTO;
	assert_int_equal(config_plan_pci(&cfg, err, 160), -EINVAL);
	assert_string_equal(err, "--disk #1 addr=04.1: no device has "
				 "addr=04.0, so the guest would never find "
				 "function 1");

	/* NVMe controllers come after the disks, before rng and console. */
	cfg = (struct vm_config){ .nr_disks = 1,
				  .nr_nvmes = 2,
				  .rng = true,
				  .rng_addr = CONFIG_PCI_AUTO };
	cfg.disks[0].addr = CONFIG_PCI_AUTO;
	cfg.nvmes[0].addr = CONFIG_PCI_AUTO;
	cfg.nvmes[1].addr = PCI_DEVFN(2, 0);
	assert_int_equal(config_plan_pci(&cfg, err, 160), 0);
	assert_int_equal(cfg.disks[0].addr, PCI_DEVFN(1, 0));
	assert_int_equal(cfg.nvmes[0].addr, PCI_DEVFN(3, 0));
	assert_int_equal(cfg.nvmes[1].addr, PCI_DEVFN(2, 0));
	assert_int_equal(cfg.rng_addr, PCI_DEVFN(4, 0));
	cfg.nvmes[0].addr = PCI_DEVFN(2, 0);
	assert_int_equal(config_plan_pci(&cfg, err, 160), -EINVAL);
	assert_string_equal(
		err, "--nvme #2 addr=02.0 is already taken by --nvme #1");

	/*
	 * pmem and the balloon are planned too, before rng, console and
	 * vsock: they took a slot only when built, and could take theirs.
	 */
	cfg = (struct vm_config){ .nr_pmems = 2,
				  .balloon = { .enabled = true },
				  .balloon_addr = CONFIG_PCI_AUTO,
				  .rng = true,
				  .rng_addr = CONFIG_PCI_AUTO,
				  .vsock = { .enabled = true,
					     .transport = TRANSPORT_PCI,
					     .addr = CONFIG_PCI_AUTO } };
	cfg.pmems[0].addr = CONFIG_PCI_AUTO;
	cfg.pmems[1].addr = CONFIG_PCI_AUTO;
	assert_int_equal(config_plan_pci(&cfg, err, 160), 0);
	assert_int_equal(cfg.pmems[0].addr, PCI_DEVFN(1, 0));
	assert_int_equal(cfg.pmems[1].addr, PCI_DEVFN(2, 0));
	assert_int_equal(cfg.balloon_addr, PCI_DEVFN(3, 0));
	assert_int_equal(cfg.rng_addr, PCI_DEVFN(4, 0));
	assert_int_equal(cfg.vsock.addr, PCI_DEVFN(5, 0));

	/* An NVMe PF with vfs=N keeps functions 1..N of its slot free. */
	cfg = (struct vm_config){ .nr_disks = 1, .nr_nvmes = 1 };
	cfg.nvmes[0].addr = PCI_DEVFN(3, 0);
	cfg.nvmes[0].vfs = 2;
	cfg.disks[0].transport = TRANSPORT_PCI;
	cfg.disks[0].addr = CONFIG_PCI_AUTO;
	assert_int_equal(config_plan_pci(&cfg, err, 160), 0);
	cfg.disks[0].addr = PCI_DEVFN(3, 3);
	assert_int_equal(config_plan_pci(&cfg, err, 160), 0);
	cfg.disks[0].addr = PCI_DEVFN(3, 2);
	assert_int_equal(config_plan_pci(&cfg, err, 160), -EINVAL);
	assert_string_equal(err, "--disk #1 addr=03.2 is where a VF of --nvme "
				 "#1 (vfs=2) would be");
	cfg.disks[0].addr = PCI_DEVFN(3, 0);
	cfg.nvmes[0].addr = PCI_DEVFN(3, 1);
	assert_int_equal(config_plan_pci(&cfg, err, 160), -EINVAL);
	assert_string_equal(err, "--nvme #1 has vfs=2, so it needs function 0 "
				 "of its slot (its VFs take functions 1-2), "
				 "not addr=03.1");
}

static void test_iommu(void **state)
{
	static struct vm_config cfg;
	struct iommu_config c = { .kind = IOMMU_VTD, .intremap = true };
	char err[200];

	assert_int_equal(config_parse_iommu("none", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, IOMMU_NONE);
	assert_false(c.intremap);
	assert_int_equal(config_parse_iommu("vtd", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, IOMMU_VTD);
	assert_true(c.intremap);
	assert_false(c.caching_mode);
	assert_int_equal(config_parse_iommu("vtd,intremap=off", &c, err,
					    sizeof(err)),
			 0);
	assert_false(c.intremap);
	assert_int_equal(
		config_parse_iommu("vtd,intremap=on", &c, err, sizeof(err)), 0);
	assert_true(c.intremap);
	assert_int_equal(config_parse_iommu("vtd,caching_mode=on", &c, err,
					    sizeof(err)),
			 0);
	assert_true(c.caching_mode);
	assert_true(c.intremap);
	assert_int_equal(config_parse_iommu("vtd,caching_mode=on,intremap=off",
					    &c, err, sizeof(err)),
			 0);
	assert_true(c.caching_mode);
	assert_false(c.intremap);
	assert_int_equal(config_parse_iommu("vtd,intremap=maybe", &c, err,
					    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "iommu vtd: intremap takes on or off, not "
				 "'maybe'");
	assert_int_equal(config_parse_iommu("vtd,caching_mode", &c, err,
					    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "iommu vtd: caching_mode takes on or off, "
				 "not ''");
	assert_int_equal(config_parse_iommu("vtd,cm=on", &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "iommu vtd takes intremap=on|off and "
				 "caching_mode=on|off, not 'cm'");
	assert_int_equal(config_parse_iommu("none,intremap=on", &c, err,
					    sizeof(err)),
			 -EINVAL);
	assert_int_equal(config_parse_iommu("bogus", &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "iommu takes none, virtio or "
				 "vtd[,intremap=on|off][,caching_mode=on|off], "
				 "not 'bogus'");
	assert_int_equal(config_parse_iommu("", &c, err, sizeof(err)), -EINVAL);
	/* A refused one leaves the last good one. */
	assert_int_equal(c.kind, IOMMU_VTD);
	assert_false(c.intremap);
	assert_true(c.caching_mode);
	assert_int_equal(config_parse_iommu("virtio", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, IOMMU_VIRTIO);
	assert_false(c.intremap);
	assert_int_equal(config_parse_iommu("virtio,intremap=on", &c, err,
					    sizeof(err)),
			 -EINVAL);

	/* PCI devices are behind the unit; a virtio-mmio disk would not be. */
	cfg = (struct vm_config){ .nr_disks = 2, .iommu.kind = IOMMU_VTD };
	cfg.disks[0].transport = TRANSPORT_PCI;
	cfg.disks[1].transport = TRANSPORT_PCI;
	assert_int_equal(config_check_iommu(&cfg, err, 160), 0);
	cfg.disks[1].transport = TRANSPORT_MMIO;
	assert_int_equal(config_check_iommu(&cfg, err, 160), -EINVAL);
	assert_string_equal(err, "--iommu vtd: --disk #2 has transport=mmio, "
				 "and the VT-d unit translates PCI functions "
				 "only; use transport=pci");
	cfg.iommu.kind = IOMMU_VIRTIO;
	assert_int_equal(config_check_iommu(&cfg, err, 160), -EINVAL);
	assert_string_equal(err, "--iommu virtio: --disk #2 has "
				 "transport=mmio, and virtio-iommu translates "
				 "PCI functions only; use transport=pci");
	cfg.iommu.kind = IOMMU_NONE;
	assert_int_equal(config_check_iommu(&cfg, err, 160), 0);
	/* A passed-through function behind either unit. */
	cfg = (struct vm_config){ .nr_vfio = 1, .iommu.kind = IOMMU_VIRTIO };
	assert_int_equal(config_check_iommu(&cfg, err, 160), 0);
	cfg.iommu.kind = IOMMU_VTD;
	assert_int_equal(config_check_iommu(&cfg, err, 160), 0);

	/* SR-IOV VFs sit behind the unit like any function. */
	cfg = (struct vm_config){ .nr_nvmes = 1, .iommu.kind = IOMMU_VTD };
	cfg.nvmes[0].vfs = 1;
	assert_int_equal(config_check_iommu(&cfg, err, 160), 0);
}

static void test_vsock(void **state)
{
	static const char *const bad[] = {
		"socket=/tmp/v",
		"cid=2,socket=/tmp/v",
		"cid=4294967295",
		"cid=-3",
		"cid=3x",
		"cid=",
		"cid=3,socket=",
		"cid=3,transport=usb",
		"cid=3,addr=zz",
		"cid=3,transport=mmio,addr=03.0",
		"cid=3,speed=fast",
		"cid=3,socket",
		"cid=18446744073709551619",
	};
	struct vsock_config v;
	char spec[96], err[160];

	strcpy(spec, "cid=3,socket=/run/v.sock");
	assert_int_equal(config_parse_vsock(spec, &v, err, 160), 0);
	assert_true(v.enabled);
	assert_int_equal(v.cid, 3);
	assert_string_equal(v.socket, "/run/v.sock");
	assert_int_equal(v.transport, TRANSPORT_PCI);
	assert_int_equal(v.addr, CONFIG_PCI_AUTO);
	strcpy(spec, "cid=4294967294,transport=mmio");
	assert_int_equal(config_parse_vsock(spec, &v, err, 160), 0);
	assert_int_equal(v.cid, 4294967294u);
	assert_null(v.socket);
	assert_int_equal(v.transport, TRANSPORT_MMIO);
	strcpy(spec, "socket=/s,addr=05.0,cid=9");
	assert_int_equal(config_parse_vsock(spec, &v, err, 160), 0);
	assert_int_equal(v.addr, PCI_DEVFN(5, 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(spec, bad[i]);
		err[0] = 0;
		assert_int_equal(config_parse_vsock(spec, &v, err, 160),
				 -EINVAL);
		assert_true(err[0]);
	}
}

static void test_bool(void **state)
{
	bool b;

	assert_int_equal(config_parse_bool("on", &b), 0);
	assert_true(b);
	assert_int_equal(config_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(config_parse_bool("On", &b), -EINVAL);
	assert_int_equal(config_parse_bool("", &b), -EINVAL);
}

static int parse_cpus(const char *spec, unsigned int *boot, unsigned int *max,
		      char *err)
{
	static char buf[64];

	strcpy(buf, spec);
	return config_parse_cpus(buf, boot, max, err, 160);
}

static void test_cpus(void **state)
{
	static const struct {
		const char *spec;
		unsigned int boot, max;
	} good[] = {
		{ "1", 1, 1 },
		{ "255", 255, 255 },
		{ "boot=2,max=8", 2, 8 },
		{ "max=8,boot=2", 2, 8 },
		{ "boot=3", 3, 3 },
		{ "max=4", 1, 4 },
		{ "boot=4,max=4", 4, 4 },
	};
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "0",
		  "takes a number from 1 to 255 or boot=N,max=M, not '0'" },
		{ "256", "takes a number from 1 to 255 or boot=N,max=M, not "
			 "'256'" },
		{ "two", "takes a number from 1 to 255 or boot=N,max=M, not "
			 "'two'" },
		{ "boot=4,max=2", "max=2 is below boot=4" },
		{ "boot=0", "boot takes a number from 1 to 255, not '0'" },
		{ "max=300", "max takes a number from 1 to 255, not '300'" },
		{ "boot=2,topology=1",
		  "unknown option 'topology' (boot, max)" },
		{ "boot=2,max", "option 'max' needs a value (boot=N,max=M)" },
	};
	unsigned int b, m;
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b = m = 0;
		assert_int_equal(parse_cpus(good[i].spec, &b, &m, err), 0);
		assert_int_equal(b, good[i].boot);
		assert_int_equal(m, good[i].max);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		b = m = 7;
		assert_int_equal(parse_cpus(bad[i].spec, &b, &m, err), -EINVAL);
		assert_string_equal(err, bad[i].msg);
		/* Nothing taken from a refused spec. */
		assert_int_equal(b, 7);
		assert_int_equal(m, 7);
	}
}

static int parse_platform(const char *spec, struct platform_config *p,
			  char *err)
{
	static char buf[256];

	strcpy(buf, spec);
	return config_parse_platform(buf, p, err, 160);
}

/* --balloon, as Cloud Hypervisor's; its size must leave the guest RAM. */
static void test_balloon(void **state)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "size", "option 'size' needs a value" },
		{ "size=lots", "size takes a size such as 256M, not 'lots'" },
		{ "size=1M,deflate_on_oom=maybe",
		  "deflate_on_oom takes on or off, not 'maybe'" },
		{ "stats=on", "unknown option 'stats' (size, deflate_on_oom, "
			      "free_page_reporting)" },
	};
	struct balloon_config b;
	struct vm_config cfg;
	char buf[128], err[160];

	strcpy(buf, "size=256M,free_page_reporting=on");
	assert_int_equal(config_parse_balloon(buf, &b, err, sizeof(err)), 0);
	assert_true(b.enabled);
	assert_int_equal(b.size, 256ull << 20);
	assert_true(b.free_page_reporting);
	assert_false(b.deflate_on_oom);
	strcpy(buf, "deflate_on_oom=on");
	assert_int_equal(config_parse_balloon(buf, &b, err, sizeof(err)), 0);
	assert_int_equal(b.size, 0);
	assert_true(b.deflate_on_oom);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(buf, bad[i].spec);
		assert_int_equal(config_parse_balloon(buf, &b, err,
						      sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, bad[i].msg));
	}

	config_vm_defaults(&cfg);
	cfg.kernel = "/k";
	cfg.ram_size = 512ull << 20;
	cfg.balloon = (struct balloon_config){ .enabled = true,
					       .size = 512ull << 20 };
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "balloon size 512 MiB is not below the VM's "
				 "512 MiB of RAM");
	cfg.balloon.size = 511ull << 20;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
}

static void test_platform_good(void **state)
{
	static const uint8_t want[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
					  0xcd, 0xef, 0x00, 0x11, 0x22, 0x33,
					  0x44, 0x55, 0x66, 0x77 };
	static const uint8_t nil[16];
	struct platform_config p;
	char err[256] = "";

	config_platform_default(&p);
	assert_string_equal(p.serial, "0");
	assert_memory_equal(p.uuid, nil, 16);

	assert_int_equal(parse_platform("serial=ABC 123-x,uuid=01234567-89AB-"
					"cdef-0011-223344556677",
					&p, err),
			 0);
	assert_string_equal(p.serial, "ABC 123-x");
	assert_memory_equal(p.uuid, want, 16);

	/* One alone leaves the other as it was. */
	config_platform_default(&p);
	assert_int_equal(parse_platform("uuid=01234567-89ab-cdef-0011-"
					"223344556677",
					&p, err),
			 0);
	assert_string_equal(p.serial, "0");
	assert_memory_equal(p.uuid, want, 16);
	assert_int_equal(parse_platform("serial=S", &p, err), 0);
	assert_string_equal(p.serial, "S");
	assert_memory_equal(p.uuid, want, 16);
}

static void test_platform_bad(void **state)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "", "platform needs serial=S and/or uuid=U" },
		{ "serial", "platform option 'serial' needs a value "
			    "(key=value)" },
		{ "serial=",
		  "platform serial takes 1 to 64 characters, not 0" },
		{ "serial=\x01", "platform serial takes printable ASCII only" },
		{ "serial=caf\xc3\xa9",
		  "platform serial takes printable ASCII only" },
		{ "vendor=x",
		  "unknown platform option 'vendor' (serial, uuid)" },
		{ "uuid=0123456789abcdef0011223344556677",
		  "platform uuid takes the form "
		  "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hexadecimal), not "
		  "'0123456789abcdef0011223344556677'" },
	};
	static const char *const bad_uuids[] = {
		"01234567-89ab-cdef-0011-22334455667",
		"01234567-89ab-cdef-0011-2233445566778",
		"01234567-89ab-cdef-0011_223344556677",
		"0123456-789ab-cdef-0011-223344556677",
		"01234567-89ab-cdeg-0011-223344556677",
		"01234567-89ab-cdef-0011-22334455667 ",
		"+1234567-89ab-cdef-0011-223344556677",
		"",
	};
	struct platform_config p;
	uint8_t u[16];
	char err[256];
	char long_serial[80];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_platform_default(&p);
		err[0] = 0;
		assert_int_equal(parse_platform(cases[i].spec, &p, err),
				 -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
	for (size_t i = 0; i < sizeof(bad_uuids) / sizeof(bad_uuids[0]); i++)
		assert_int_equal(config_parse_uuid(bad_uuids[i], u), -EINVAL);

	memset(long_serial, 0, sizeof(long_serial));
	strcpy(long_serial, "serial=");
	memset(long_serial + 7, 'x', 64);
	assert_int_equal(parse_platform(long_serial, &p, err), 0);
	long_serial[7 + 64] = 'x';
	assert_int_equal(parse_platform(long_serial, &p, err), -EINVAL);
	assert_string_equal(err, "platform serial takes 1 to 64 characters, "
				 "not 65");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_good),
		cmocka_unit_test(test_disk_bad),
		cmocka_unit_test(test_nvme_good),
		cmocka_unit_test(test_nvme_bad),
		cmocka_unit_test(test_pci_addr),
		cmocka_unit_test(test_net_rng_console),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_iommu),
		cmocka_unit_test(test_vsock),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_platform_good),
		cmocka_unit_test(test_platform_bad),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_cpus),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
