/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Functional test of vusim.ko, run as root inside the test VM
 * (tests/kernel/run-vusim-tests): loads the module itself, then acts as
 * backend (lib/vusim-nl over generic netlink) and as modem (/dev/vusim<N>)
 * and checks every command, ioctl and error case of docs/vusim-abi.md, the
 * lifetime cases (backend killed mid-command, modem closing mid-command,
 * slot deleted with open files, module unload with open files and live
 * backends, reload) and a bounded race loop.  Prints TAP.
 *
 * Usage: vusim-test PATH/TO/vusim.ko
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include "macro.h"
#include "vusim-nl.h"

static const uint8_t atr1[] = { 0x3b, 0x9f, 0x96, 0x80, 0x1f, 0xc7, 0x80, 0x31,
				0xe0, 0x73, 0xfe, 0x21, 0x1b, 0x63, 0x3a, 0x20,
				0x4e, 0x83, 0x00, 0x90, 0x00, 0x30 };
/* TD1 = 0x01: T=1 first (ISO/IEC 7816-3 8.2.3) */
static const uint8_t atr_t1[] = { 0x3b, 0x80, 0x01, 0x81 };
static const uint8_t atr_warm[] = { 0x3b, 0x02, 0x14, 0x50 };
static const uint8_t select_mf[] = { 0x00, 0xa4, 0x00, 0x04, 0x02, 0x3f, 0x00 };
static const uint8_t sw_ok[] = { 0x90, 0x00 };

static const char *module_path;
static int tests, failures;

static void _printf_(2, 3) ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tests++;
	if (!cond)
		failures++;
	printf("%sok %d - ", cond ? "" : "not ", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* r is a result (>= 0 or -errno); expect the errno want. */
#define is_err(r, want, ...)                                                   \
	do {                                                                   \
		long _r = (r);                                                 \
		ok(_r == -(want), __VA_ARGS__);                                \
		if (_r != -(want))                                             \
			printf("# got %ld (%s), want -%s\n", _r,               \
			       _r < 0 ? strerror((int)-_r) : "success",        \
			       strerrorname_np(want));                         \
	} while (0)

#define is_ok(r, ...)                                                          \
	do {                                                                   \
		long _r = (r);                                                 \
		ok(_r >= 0, __VA_ARGS__);                                      \
		if (_r < 0)                                                    \
			printf("# got %ld (%s)\n", _r, strerror((int)-_r));   \
	} while (0)

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- module loading ---- */

static int load_module(const char *params)
{
	_cleanup_close_ int fd = open(module_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return syscall(SYS_finit_module, fd, params, 0) < 0 ? -errno : 0;
}

static int unload_module(void)
{
	return syscall(SYS_delete_module, "vusim", O_NONBLOCK) < 0 ? -errno : 0;
}

/* ---- small helpers ---- */

static long send_cmd(int fd);

static long sys(long r)
{
	return r < 0 ? -errno : r;
}

static long send_cmd(int fd)
{
	return sys(write(fd, select_mf, sizeof(select_mf)));
}

static short poll_events(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };

	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static int read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

static int write_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write(fd, s, strlen(s)) < 0 ? -errno : 0;
}

static bool sysfs_is(uint32_t slot, const char *attr, const char *want)
{
	char path[128], buf[256];

	snprintf(path, sizeof(path), "/sys/class/vusim/vusim%u/%s", slot, attr);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return false;
	if (strcmp(buf, want)) {
		diag("%s is '%s', want '%s'", path, buf, want);
		return false;
	}
	return true;
}

/*
 * VUSIM_APDU_MAX bytes the kernel cannot read (PROT_NONE): a write from
 * them is refused before the copy or fails with EFAULT.
 */
static const void *unreadable(void)
{
	static void *p;

	if (!p)
		p = mmap(NULL, VUSIM_APDU_MAX, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p;
}

static bool dev_exists(uint32_t slot)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/vusim%u", slot);
	return access(path, F_OK) == 0;
}

/* Waits for one request of the given kind; fails the test point otherwise. */
static bool get_request(struct vusim_nl *nl, struct vusim_request *req,
			enum vusim_request_kind kind)
{
	int r = vusim_nl_recv_request(nl, 2000, req);

	if (r != 1) {
		diag("no request (%d)", r);
		return false;
	}
	if (req->kind != kind) {
		diag("request kind %d, want %d", req->kind, kind);
		return false;
	}
	return true;
}

/* No request within ms. */
static bool no_request(struct vusim_nl *nl, int ms)
{
	struct vusim_request req;

	return vusim_nl_recv_request(nl, ms, &req) == 0;
}

static int get_info(struct vusim_nl *nl, uint32_t slot,
		    struct vusim_slot_info *info)
{
	return vusim_nl_slot_get(nl, slot, info);
}

/* Waits for an event of type ev (skipping others) within 2 s. */
static bool wait_event(struct vusim_nl *ev, uint32_t type, uint32_t slot)
{
	struct vusim_slot_info info;
	int64_t end = now_ms() + 2000;

	while (now_ms() < end) {
		if (vusim_nl_recv_event(ev, 200, &info) == 1 &&
		    info.event == type && info.slot == slot)
			return true;
	}
	diag("event %u for slot %u not seen", type, slot);
	return false;
}

static void drain_events(struct vusim_nl *ev)
{
	struct vusim_slot_info info;

	while (vusim_nl_recv_event(ev, 0, &info) == 1)
		;
}

/* ---- a blocking modem call in a thread ---- */

struct call {
	pthread_t thread;
	int fd;
	unsigned long ioc;	/* 0: read() */
	uint8_t *buf;
	size_t len;
	struct vusim_atr atr;
	long ret;		/* result or -errno */
	int64_t ms;		/* how long it blocked */
};

static void *call_main(void *p)
{
	struct call *c = p;
	int64_t t0 = now_ms();

	if (c->ioc)
		c->ret = sys(ioctl(c->fd, c->ioc, &c->atr));
	else
		c->ret = sys(read(c->fd, c->buf, c->len));
	c->ms = now_ms() - t0;
	return NULL;
}

static void call_start(struct call *c, int fd, unsigned long ioc, uint8_t *buf,
		       size_t len)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->ioc = ioc;
	c->buf = buf;
	c->len = len;
	pthread_create(&c->thread, NULL, call_main, c);
}

static long call_end(struct call *c)
{
	pthread_join(c->thread, NULL);
	return c->ret;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

/* ---- raw netlink messages for the bad-input tests ---- */

static struct nl_msg *raw(struct vusim_nl *nl, uint8_t cmd)
{
	return vusim_nl_msg(nl, cmd, 0);
}


/* ---- test groups ---- */

static void test_params(void)
{
	char buf[64];

	is_err(load_module("max_slots=0"), EINVAL, "max_slots=0 is refused");
	is_err(load_module("timeout_ms=5"), EINVAL, "timeout_ms=5 is refused");
	is_ok(load_module("max_slots=4"), "insmod vusim.ko max_slots=4");
	ok(read_file("/sys/module/vusim/parameters/max_slots", buf,
		     sizeof(buf)) == 0 && !strcmp(buf, "4"),
	   "parameter max_slots reads 4");
	ok(read_file("/sys/module/vusim/parameters/timeout_ms", buf,
		     sizeof(buf)) == 0 && !strcmp(buf, "5000"),
	   "parameter timeout_ms defaults to 5000");
	is_err(write_file("/sys/module/vusim/parameters/timeout_ms", "5"), EINVAL,
	       "writing timeout_ms 5 at run time: EINVAL");
	is_err(write_file("/sys/module/vusim/parameters/max_slots", "257"), EINVAL,
	       "writing max_slots 257 at run time: EINVAL");
	is_ok(write_file("/sys/module/vusim/parameters/timeout_ms", "5000"),
	      "writing timeout_ms 5000 at run time");
}

static void test_basic(struct vusim_nl *nl, struct vusim_nl *ev,
		       uint32_t *ret_slot)
{
	struct vusim_slot_info info;
	struct vusim_status st;
	struct vusim_request req;
	struct vusim_atr atr;
	uint8_t rsp[512], atrbuf[VUSIM_ATR_MAX];
	size_t atr_len;
	uint32_t slot = 99;
	char hex[80];
	int fd, r;

	r = vusim_nl_slot_add(nl, 0, 0, &slot);
	is_ok(r, "SLOT_ADD creates a slot");
	*ret_slot = slot;
	ok(slot == 0, "first slot has index 0 (got %u)", slot);
	ok(wait_event(ev, VUSIM_EVENT_SLOT_ADDED, slot), "event SLOT_ADDED");
	ok(dev_exists(slot), "/dev/vusim0 exists");
	r = get_info(nl, slot, &info);
	ok(r == 0 && info.backend &&
	   info.timeout_ms == 5000 && !info.card_present && !info.powered &&
	   info.atr_len == 0 && info.flags == 0,
	   "SLOT_GET: our backend, default timeout, no card");
	ok(sysfs_is(slot, "card_present", "0") && sysfs_is(slot, "atr", "") &&
	   sysfs_is(slot, "timeout_ms", "5000"),
	   "sysfs: card_present 0, empty atr, timeout_ms 5000");
	ok(sysfs_is(slot, "backend", "1") &&
	   access("/sys/class/vusim/vusim0/backend_portid", F_OK) < 0,
	   "sysfs: backend 1, no backend_portid (the port id is not published)");

	fd = vusim_modem_open(slot, 0);
	is_ok(fd, "open /dev/vusim0");
	is_err(sys(write(fd, select_mf, sizeof(select_mf))), ENOMEDIUM,
	       "write without a card: ENOMEDIUM");
	is_err(sys(read(fd, rsp, sizeof(rsp))), ENOMSG,
	       "read without a command: ENOMSG");
	is_err(vusim_modem_atr(fd, VUSIM_IOC_GET_ATR, atrbuf, &atr_len),
	       ENOMEDIUM, "GET_ATR without a card: ENOMEDIUM");
	is_err(vusim_modem_atr(fd, VUSIM_IOC_POWER_ON, atrbuf, &atr_len),
	       ENOMEDIUM, "POWER_ON without a card: ENOMEDIUM");
	is_err(vusim_modem_power_off(fd), ENOMEDIUM,
	       "POWER_OFF without a card: ENOMEDIUM");
	r = vusim_modem_status(fd, &st);
	ok(r == 0 && st.flags == VUSIM_STATUS_BACKEND && st.atr_len == 0 &&
	   st.slot == slot && st.timeout_ms == 5000,
	   "STATUS: backend, no card");
	is_err(sys(ioctl(fd, _IO(VUSIM_IOC_MAGIC, 0x7f))), ENOTTY,
	       "unknown ioctl: ENOTTY");
	is_err(sys(lseek(fd, 0, SEEK_SET)), ESPIPE, "lseek: ESPIPE (a stream)");
	ok(!(poll_events(fd) & (POLLPRI | POLLIN | POLLOUT)),
	   "poll: nothing pending without a card");

	is_ok(vusim_nl_card_insert(nl, slot, atr1, sizeof(atr1)),
	      "CARD_INSERT with a 22-byte ATR");
	ok(wait_event(ev, VUSIM_EVENT_CARD_INSERTED, slot),
	   "event CARD_INSERTED");
	ok((poll_events(fd) & (POLLPRI | POLLOUT)) == (POLLPRI | POLLOUT),
	   "poll: EPOLLPRI (card inserted) and EPOLLOUT");
	r = vusim_modem_status(fd, &st);
	ok(r == 0 && st.flags == (VUSIM_STATUS_PRESENT | VUSIM_STATUS_POWERED |
				  VUSIM_STATUS_BACKEND) &&
	   st.atr_len == sizeof(atr1) && st.protocol == 0 && st.changes == 1,
	   "STATUS: present, powered, ATR length 22, T=0, 1 change");
	ok(!(poll_events(fd) & POLLPRI), "STATUS clears EPOLLPRI");
	r = sys(ioctl(fd, VUSIM_IOC_GET_ATR, &atr));
	ok(r == 0 && atr.len == sizeof(atr1) &&
	   !memcmp(atr.atr, atr1, sizeof(atr1)), "GET_ATR returns the ATR");
	for (size_t i = 0; i < sizeof(atr1); i++)
		sprintf(hex + 2 * i, "%02x", atr1[i]);
	ok(sysfs_is(slot, "card_present", "1") && sysfs_is(slot, "powered", "1") &&
	   sysfs_is(slot, "atr", hex), "sysfs: card_present 1, powered 1, atr hex");
	is_err(vusim_nl_card_insert(nl, slot, atr1, sizeof(atr1)), EEXIST,
	       "second CARD_INSERT: EEXIST");

	/* One APDU round trip. */
	is_ok(sys(write(fd, select_mf, sizeof(select_mf))),
	      "write SELECT MF returns its length");
	ok(get_request(nl, &req, VUSIM_REQUEST_APDU) && req.slot == slot &&
	   req.apdu_len == sizeof(select_mf) &&
	   !memcmp(req.apdu, select_mf, sizeof(select_mf)) && req.seq != 0,
	   "backend receives the APDU with slot and sequence number");
	ok(!(poll_events(fd) & (POLLIN | POLLOUT)),
	   "poll: no EPOLLIN nor EPOLLOUT while the command is outstanding");
	r = vusim_modem_status(fd, &st);
	ok(r == 0 && (st.flags & VUSIM_STATUS_BUSY), "STATUS: busy");
	is_err(sys(write(fd, select_mf, sizeof(select_mf))), EBUSY,
	       "second write while a command is outstanding: EBUSY");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	is_err(sys(read(fd, rsp, sizeof(rsp))), EAGAIN,
	       "O_NONBLOCK read before the answer: EAGAIN");
	fcntl(fd, F_SETFL, 0);
	is_ok(vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2),
	      "backend answers 90 00");
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ok(poll(&p, 1, 2000) == 1 && (p.revents & POLLIN),
		   "poll: EPOLLIN once the answer is in");
	}
	r = sys(read(fd, rsp, sizeof(rsp)));
	ok(r == 2 && rsp[0] == 0x90 && rsp[1] == 0x00, "read returns 90 00");
	is_err(sys(read(fd, rsp, sizeof(rsp))), ENOMSG,
	       "read after the response was collected: ENOMSG");

	/* A response bigger than the read buffer is kept, not truncated. */
	{
		uint8_t big[258];

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)i;
		send_cmd(fd);
		ok(get_request(nl, &req, VUSIM_REQUEST_APDU),
		   "backend receives the next APDU");
		vusim_nl_apdu_response(nl, slot, req.seq, big, sizeof(big));
		is_err(sys(read(fd, rsp, 10)), EOVERFLOW,
		       "read with a 10-byte buffer of a 258-byte response: EOVERFLOW");
		r = sys(read(fd, rsp, sizeof(rsp)));
		ok(r == (long)sizeof(big) && !memcmp(rsp, big, sizeof(big)),
		   "retry with a big buffer gets all 258 bytes");
	}

	/* The backend cannot serve: EIO. */
	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	vusim_nl_request_failed(nl, VUSIM_REQUEST_APDU, slot, req.seq);
	is_err(sys(read(fd, rsp, sizeof(rsp))), EIO,
	       "backend answers FAILED: read gets EIO");

	/* Size limits. */
	is_err(sys(write(fd, select_mf, 3)), EINVAL,
	       "3-byte command (shorter than CLA INS P1 P2): EINVAL");
	{
		size_t n = VUSIM_APDU_MAX + 1;
		_cleanup_free_ uint8_t *cmd = malloc(n);
		_cleanup_free_ uint8_t *back = malloc(n);

		for (size_t i = 0; i < n; i++)
			cmd[i] = (uint8_t)(i * 7 + 3);
		is_err(sys(write(fd, cmd, n)), EMSGSIZE,
		       "command of VUSIM_APDU_MAX+1 bytes: EMSGSIZE");
		ok(no_request(nl, 50), "nothing reaches the backend");
		n = VUSIM_APDU_MAX;
		r = sys(write(fd, cmd, n));
		ok(r == (long)n, "extended command of %zu bytes is accepted", n);
		ok(get_request(nl, &req, VUSIM_REQUEST_APDU) &&
		   req.apdu_len == n && !memcmp(req.apdu, cmd, n),
		   "backend receives all %zu bytes intact", n);
		for (size_t i = 0; i < n; i++)
			cmd[i] = (uint8_t)(i * 13 + 1);
		is_ok(vusim_nl_apdu_response(nl, slot, req.seq, cmd, n),
		      "backend sends a %zu-byte response", n);
		r = sys(read(fd, back, n));
		ok(r == (long)n && !memcmp(back, cmd, n),
		   "modem reads the %zu-byte response intact", n);

		/*
		 * A large write to a busy slot is refused before the kernel
		 * allocates and fills its 64 KiB request: with an unreadable
		 * buffer, a kernel that copied first would say EFAULT.
		 */
		send_cmd(fd);
		get_request(nl, &req, VUSIM_REQUEST_APDU);
		is_err(sys(write(fd, unreadable(), VUSIM_APDU_MAX)), EBUSY,
		       "65531-byte write to a busy slot: EBUSY before the copy");
		vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
		sys(read(fd, rsp, sizeof(rsp)));
	}
	ok(vusim_nl_async_errors(nl) == 0, "no answer was refused so far");
	close(fd);
}

static void test_timeouts(struct vusim_nl *nl, uint32_t slot)
{
	struct vusim_slot_info info, before;
	struct vusim_request req;
	uint8_t rsp[64];
	int64_t t0;
	long r;
	int fd = vusim_modem_open(slot, 0);

	get_info(nl, slot, &before);
	is_ok(vusim_nl_slot_set_timeout(nl, slot, 100), "SLOT_SET timeout 100 ms");
	ok(sysfs_is(slot, "timeout_ms", "100"), "sysfs shows timeout_ms 100");

	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	t0 = now_ms();
	r = sys(read(fd, rsp, sizeof(rsp)));
	is_err(r, ETIMEDOUT, "unanswered command: read gets ETIMEDOUT");
	ok(now_ms() - t0 >= 80 && now_ms() - t0 < 2000,
	   "after about the timeout (%lld ms)", (long long)(now_ms() - t0));
	is_ok(vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2),
	      "late answer is accepted by the socket");
	get_info(nl, slot, &info);
	ok(info.timeouts == before.timeouts + 1 && info.late == before.late + 1,
	   "late answer dropped and counted (timeouts %llu, late %llu)",
	   (unsigned long long)info.timeouts, (unsigned long long)info.late);
	is_err(sys(read(fd, rsp, sizeof(rsp))), ENOMSG,
	       "the late answer does not reach the modem");
	ok(sysfs_is(slot, "stats/late", "1") && sysfs_is(slot, "stats/timeouts", "1"),
	   "sysfs stats/late and stats/timeouts");

	/*
	 * The command may hold a PIN: the kernel wipes its copy when the
	 * request ends, so a backend reading it only after the timeout sees
	 * zeroes instead of the command.
	 */
	send_cmd(fd);
	is_err(sys(read(fd, rsp, sizeof(rsp))), ETIMEDOUT,
	       "unread request times out");
	{
		static const uint8_t zero[sizeof(select_mf)];

		ok(get_request(nl, &req, VUSIM_REQUEST_APDU) &&
		   req.apdu_len == sizeof(select_mf) &&
		   !memcmp(req.apdu, zero, sizeof(zero)),
		   "a request read after its timeout has its APDU wiped");
	}

	/* Non-blocking: poll reports the timeout as EPOLLIN. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ok(poll(&p, 1, 2000) == 1 && (p.revents & POLLIN),
		   "poll: EPOLLIN when the command times out");
	}
	is_err(sys(read(fd, rsp, sizeof(rsp))), ETIMEDOUT,
	       "O_NONBLOCK read then gets ETIMEDOUT");
	fcntl(fd, F_SETFL, 0);

	/* A wrong sequence number is dropped; the right one still works. */
	vusim_nl_slot_set_timeout(nl, slot, 5000);
	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	vusim_nl_apdu_response(nl, slot, req.seq + 1000, sw_ok, 2);
	vusim_nl_apdu_response(nl, slot, req.seq, select_mf, 4);
	r = sys(read(fd, rsp, sizeof(rsp)));
	ok(r == 4 && !memcmp(rsp, select_mf, 4),
	   "an answer with another sequence number is ignored");

	/* sysfs timeout. */
	is_ok(write_file("/sys/class/vusim/vusim0/timeout_ms", "250"),
	      "write 250 to sysfs timeout_ms");
	get_info(nl, slot, &info);
	ok(info.timeout_ms == 250, "SLOT_GET shows 250");
	is_err(write_file("/sys/class/vusim/vusim0/timeout_ms", "5"), ERANGE,
	       "sysfs timeout_ms 5: ERANGE");
	is_err(write_file("/sys/class/vusim/vusim0/timeout_ms", "abc"), EINVAL,
	       "sysfs timeout_ms abc: EINVAL");
	vusim_nl_slot_set_timeout(nl, slot, 5000);

	/* A signal interrupts a blocking read; the command stays. */
	{
		struct call c;
		struct sigaction sa = { .sa_handler = on_sigusr1 };

		sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
		send_cmd(fd);
		get_request(nl, &req, VUSIM_REQUEST_APDU);
		call_start(&c, fd, 0, rsp, sizeof(rsp));
		sleep_ms(100);
		pthread_kill(c.thread, SIGUSR1);
		is_err(call_end(&c), EINTR, "signal interrupts a blocking read: EINTR");
		vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
		r = sys(read(fd, rsp, sizeof(rsp)));
		ok(r == 2, "the command survived the signal: read gets the answer");
	}

	/* A blocking read is woken by the answer. */
	{
		struct call c;

		send_cmd(fd);
		call_start(&c, fd, 0, rsp, sizeof(rsp));
		get_request(nl, &req, VUSIM_REQUEST_APDU);
		sleep_ms(50);
		vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
		ok(call_end(&c) == 2, "blocking read wakes up with the answer");
	}
	close(fd);
}

static void test_files(struct vusim_nl *nl, uint32_t slot)
{
	struct vusim_slot_info before, info;
	struct vusim_request req;
	uint8_t rsp[64];
	int fd1 = vusim_modem_open(slot, 0), fd2 = vusim_modem_open(slot, 0);
	long r;

	get_info(nl, slot, &before);
	send_cmd(fd1);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	is_err(sys(write(fd2, select_mf, sizeof(select_mf))), EBUSY,
	       "another file's write while a command is outstanding: EBUSY");
	is_err(sys(read(fd2, rsp, sizeof(rsp))), ENOMSG,
	       "another file cannot read the command's response: ENOMSG");
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	ok(!(poll_events(fd2) & POLLIN) && (poll_events(fd1) & POLLIN),
	   "EPOLLIN only on the file that wrote the command");
	ok(sys(read(fd1, rsp, sizeof(rsp))) == 2, "owner reads its response");

	/* The modem closes mid-command. */
	send_cmd(fd2);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	close(fd2);
	r = sys(write(fd1, select_mf, sizeof(select_mf)));
	ok(r == (long)sizeof(select_mf), "closing mid-command frees the slot");
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	get_info(nl, slot, &info);
	ok(info.abandoned == before.abandoned + 1 && info.late == before.late + 1,
	   "the abandoned command's answer is dropped as late");
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	ok(sys(read(fd1, rsp, sizeof(rsp))) == 2, "the next command works");

	/* The modem closes with an uncollected response. */
	fd2 = vusim_modem_open(slot, 0);
	send_cmd(fd2);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	sleep_ms(20);
	close(fd2);
	ok(sys(write(fd1, select_mf, sizeof(select_mf))) == sizeof(select_mf),
	   "closing with an uncollected response frees the slot");
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	sys(read(fd1, rsp, sizeof(rsp)));
	close(fd1);
}

static void test_power(struct vusim_nl *nl, struct vusim_nl *ev, uint32_t slot)
{
	struct vusim_slot_info before, info;
	struct vusim_request req;
	struct vusim_status st;
	struct call c;
	uint8_t atr[VUSIM_ATR_MAX], rsp[16];
	size_t atr_len;
	int fd = vusim_modem_open(slot, 0);

	get_info(nl, slot, &before);
	vusim_modem_status(fd, &st);
	drain_events(ev);
	is_ok(vusim_modem_power_off(fd), "POWER_OFF");
	ok(get_request(nl, &req, VUSIM_REQUEST_POWER) &&
	   req.power_op == VUSIM_POWER_OFF && req.slot == slot,
	   "backend is told VUSIM_POWER_OFF");
	ok(wait_event(ev, VUSIM_EVENT_CARD_POWERED_OFF, slot),
	   "event CARD_POWERED_OFF");
	ok(poll_events(fd) & POLLPRI, "poll: EPOLLPRI after power off");
	ok(vusim_modem_status(fd, &st) == 0 &&
	   st.flags == (VUSIM_STATUS_PRESENT | VUSIM_STATUS_BACKEND),
	   "STATUS: present, not powered");
	ok(sysfs_is(slot, "powered", "0"), "sysfs powered 0");
	is_err(sys(write(fd, select_mf, sizeof(select_mf))), ENOTCONN,
	       "write to a powered-off card: ENOTCONN");
	is_err(vusim_modem_atr(fd, VUSIM_IOC_GET_ATR, atr, &atr_len), ENOTCONN,
	       "GET_ATR of a powered-off card: ENOTCONN");
	is_err(vusim_modem_atr(fd, VUSIM_IOC_WARM_RESET, atr, &atr_len), ENOTCONN,
	       "WARM_RESET of a powered-off card: ENOTCONN");
	is_ok(vusim_modem_power_off(fd), "POWER_OFF again succeeds");
	ok(no_request(nl, 50), "and sends nothing");

	/* Power on: the ioctl returns the ATR the backend answers. */
	call_start(&c, fd, VUSIM_IOC_POWER_ON, NULL, 0);
	ok(get_request(nl, &req, VUSIM_REQUEST_POWER) &&
	   req.power_op == VUSIM_POWER_ON, "POWER_ON reaches the backend");
	is_err(sys(write(fd, select_mf, sizeof(select_mf))), EBUSY,
	       "write while a power request is outstanding: EBUSY");
	is_err(sys(read(fd, rsp, sizeof(rsp))), ENOMSG,
	       "read does not collect a power request: ENOMSG");
	vusim_nl_power_response(nl, slot, req.seq, atr_t1, sizeof(atr_t1));
	ok(call_end(&c) == 0 && c.atr.len == sizeof(atr_t1) &&
	   !memcmp(c.atr.atr, atr_t1, sizeof(atr_t1)),
	   "POWER_ON returns the backend's new ATR");
	ok(wait_event(ev, VUSIM_EVENT_CARD_POWERED_ON, slot),
	   "event CARD_POWERED_ON");
	ok(vusim_modem_status(fd, &st) == 0 && (st.flags & VUSIM_STATUS_POWERED) &&
	   st.protocol == 1 && st.atr_len == sizeof(atr_t1),
	   "STATUS: powered, protocol T=1 from TD1");

	/* Warm reset, cold reset. */
	call_start(&c, fd, VUSIM_IOC_WARM_RESET, NULL, 0);
	ok(get_request(nl, &req, VUSIM_REQUEST_POWER) &&
	   req.power_op == VUSIM_POWER_WARM_RESET, "WARM_RESET reaches the backend");
	vusim_nl_power_response(nl, slot, req.seq, atr_warm, sizeof(atr_warm));
	ok(call_end(&c) == 0 && c.atr.len == sizeof(atr_warm) &&
	   !memcmp(c.atr.atr, atr_warm, sizeof(atr_warm)),
	   "WARM_RESET returns the new ATR");
	ok(vusim_modem_atr(fd, VUSIM_IOC_GET_ATR, atr, &atr_len) == 0 &&
	   atr_len == sizeof(atr_warm), "GET_ATR returns it too");

	call_start(&c, fd, VUSIM_IOC_COLD_RESET, NULL, 0);
	ok(get_request(nl, &req, VUSIM_REQUEST_POWER) &&
	   req.power_op == VUSIM_POWER_COLD_RESET, "COLD_RESET reaches the backend");
	vusim_nl_request_failed(nl, VUSIM_REQUEST_POWER, slot, req.seq);
	is_err(call_end(&c), EIO, "backend fails the reset: EIO");
	ok(vusim_modem_atr(fd, VUSIM_IOC_GET_ATR, atr, &atr_len) == 0 &&
	   atr_len == sizeof(atr_warm), "the card keeps its ATR");

	/* Ordering: a reset and an APDU cannot overlap; answers are typed. */
	call_start(&c, fd, VUSIM_IOC_COLD_RESET, NULL, 0);
	get_request(nl, &req, VUSIM_REQUEST_POWER);
	{
		struct nl_msg *m = raw(nl, VUSIM_CMD_APDU_RESPONSE);

		nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
		nla_put_u32(m, VUSIM_ATTR_SEQ, req.seq);
		nla_put(m, VUSIM_ATTR_APDU, 2, sw_ok);
		is_err(vusim_nl_transact(nl, m), EINVAL,
		       "APDU_RESPONSE to a power request: EINVAL");
	}
	vusim_nl_power_response(nl, slot, req.seq, atr1, sizeof(atr1));
	ok(call_end(&c) == 0 && c.atr.len == sizeof(atr1), "COLD_RESET returns the ATR");

	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	{
		struct nl_msg *m = raw(nl, VUSIM_CMD_POWER_RESPONSE);

		nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
		nla_put_u32(m, VUSIM_ATTR_SEQ, req.seq);
		nla_put(m, VUSIM_ATTR_ATR, sizeof(atr1), atr1);
		is_err(vusim_nl_transact(nl, m), EINVAL,
		       "POWER_RESPONSE to an APDU: EINVAL");
	}
	is_err(vusim_modem_atr(fd, VUSIM_IOC_COLD_RESET, atr, &atr_len), EBUSY,
	       "reset while an APDU is outstanding: EBUSY");
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	sys(read(fd, rsp, sizeof(rsp)));

	/* A power request times out; a signal abandons one. */
	vusim_nl_slot_set_timeout(nl, slot, 100);
	is_err(vusim_modem_atr(fd, VUSIM_IOC_COLD_RESET, atr, &atr_len), ETIMEDOUT,
	       "unanswered reset: ETIMEDOUT");
	get_request(nl, &req, VUSIM_REQUEST_POWER);
	vusim_nl_power_response(nl, slot, req.seq, atr_t1, sizeof(atr_t1));
	vusim_nl_slot_set_timeout(nl, slot, 5000);
	ok(vusim_modem_atr(fd, VUSIM_IOC_GET_ATR, atr, &atr_len) == 0 &&
	   atr_len == sizeof(atr1), "a late reset answer changes nothing");

	/*
	 * A signal does not lose a reset: without SA_RESTART the ioctl says
	 * EINTR, the request goes on, and the same ioctl called again
	 * collects its ATR without a second request.
	 */
	call_start(&c, fd, VUSIM_IOC_WARM_RESET, NULL, 0);
	get_request(nl, &req, VUSIM_REQUEST_POWER);
	sleep_ms(50);
	pthread_kill(c.thread, SIGUSR1);
	is_err(call_end(&c), EINTR, "signal during a reset (no SA_RESTART): EINTR");
	ok(vusim_modem_status(fd, &st) == 0 && (st.flags & VUSIM_STATUS_BUSY),
	   "the reset is still outstanding");
	vusim_nl_power_response(nl, slot, req.seq, atr_warm, sizeof(atr_warm));
	ok(vusim_modem_atr(fd, VUSIM_IOC_WARM_RESET, atr, &atr_len) == 0 &&
	   atr_len == sizeof(atr_warm) && !memcmp(atr, atr_warm, atr_len),
	   "WARM_RESET again returns the interrupted reset's ATR");
	ok(no_request(nl, 50), "without sending a second reset");

	/* With SA_RESTART the ioctl restarts by itself and waits on. */
	{
		struct sigaction sa = { .sa_handler = on_sigusr1,
					.sa_flags = SA_RESTART };

		sigaction(SIGUSR1, &sa, NULL);
		call_start(&c, fd, VUSIM_IOC_COLD_RESET, NULL, 0);
		get_request(nl, &req, VUSIM_REQUEST_POWER);
		sleep_ms(50);
		pthread_kill(c.thread, SIGUSR1);
		sleep_ms(50);
		vusim_nl_power_response(nl, slot, req.seq, atr1, sizeof(atr1));
		ok(call_end(&c) == 0 && c.atr.len == sizeof(atr1) &&
		   !memcmp(c.atr.atr, atr1, sizeof(atr1)),
		   "signal during a reset (SA_RESTART): the ioctl returns the ATR");
		ok(no_request(nl, 50), "one reset request only");
		sa.sa_flags = 0;
		sigaction(SIGUSR1, &sa, NULL);
	}

	/* An interrupted reset that nobody collects does not hold the slot. */
	call_start(&c, fd, VUSIM_IOC_WARM_RESET, NULL, 0);
	get_request(nl, &req, VUSIM_REQUEST_POWER);
	sleep_ms(50);
	pthread_kill(c.thread, SIGUSR1);
	is_err(call_end(&c), EINTR, "another reset interrupted: EINTR");
	is_err(sys(write(fd, select_mf, sizeof(select_mf))), EBUSY,
	       "while it is outstanding a write gets EBUSY");
	vusim_nl_power_response(nl, slot, req.seq, atr1, sizeof(atr1));
	ok(vusim_modem_atr(fd, VUSIM_IOC_GET_ATR, atr, &atr_len) == 0 &&
	   atr_len == sizeof(atr1), "its answer became the card's ATR");
	ok(poll_events(fd) & POLLOUT, "once answered the slot polls writable");
	send_cmd(fd);
	ok(get_request(nl, &req, VUSIM_REQUEST_APDU), "and takes a command");
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	sys(read(fd, rsp, sizeof(rsp)));

	get_info(nl, slot, &info);
	ok(info.resets == before.resets + 8 && info.failed == before.failed + 1 &&
	   info.late == before.late + 1 && info.abandoned == before.abandoned,
	   "counters: 8 resets, 1 failed, 1 late, none abandoned");
	close(fd);
}

/* Sends a raw message and checks errno and, optionally, the extack text. */
static void bad(struct vusim_nl *nl, struct nl_msg *m, int want,
		const char *msg_part, uint32_t missing, const char *what)
{
	int r = vusim_nl_transact(nl, m);

	ok(r == -want && (!msg_part || strstr(vusim_nl_error(nl), msg_part)) &&
	   (!missing || vusim_nl_error_missing_attr(nl) == missing),
	   "%s: %s%s%s", what, strerrorname_np(want),
	   msg_part ? ", extack: " : "", msg_part ? msg_part : "");
	if (r != -want || (msg_part && !strstr(vusim_nl_error(nl), msg_part)))
		diag("got %d, extack '%s', missing %u", r, vusim_nl_error(nl),
		     vusim_nl_error_missing_attr(nl));
}

/*
 * A response APDU may hold secrets (RES, CK, IK): the kernel wipes it in the
 * backend's message once used.  Shown by the error acknowledgement, which
 * echoes the whole request on a socket without NETLINK_CAP_ACK: an answer
 * from a socket that is not the slot's backend (EPERM) comes back zeroed.
 */
static void answer_wiped(uint32_t slot)
{
	uint8_t secret[16], buf[8192];
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *m = NULL;
	struct nlmsgerr *e;
	bool found = true;
	int family;
	ssize_t n;

	memset(secret, 0xa5, sizeof(secret));
	if (!sk || genl_connect(sk) < 0 ||
	    (family = genl_ctrl_resolve(sk, VUSIM_GENL_NAME)) < 0 ||
	    !(m = nlmsg_alloc())) {
		ok(false, "raw netlink socket for the wipe test");
		goto out;
	}
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_ACK,
		    VUSIM_CMD_APDU_RESPONSE, VUSIM_GENL_VERSION);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, VUSIM_ATTR_SEQ, 1);
	nla_put(m, VUSIM_ATTR_APDU, sizeof(secret), secret);
	n = nl_send_auto(sk, m) < 0 ? -1 :
	    recv(nl_socket_get_fd(sk), buf, sizeof(buf), 0);
	e = NLMSG_DATA((struct nlmsghdr *)buf);
	if (n >= (ssize_t)NLMSG_SPACE(sizeof(*e)) &&
	    ((struct nlmsghdr *)buf)->nlmsg_type == NLMSG_ERROR &&
	    e->error == -EPERM)
		found = memmem(buf, n, secret, sizeof(secret)) != NULL;
	else
		diag("no EPERM acknowledgement (%zd bytes)", n);
	ok(!found, "a response APDU is wiped in the backend's message once used");
out:
	nlmsg_free(m);
	nl_socket_free(sk);
}

static void test_bad_input(struct vusim_nl *nl, uint32_t slot)
{
	struct nl_msg *m;
	uint8_t big[64] = { 0x3b };
	struct vusim_nl *other;

	m = raw(nl, VUSIM_CMD_SLOT_GET);
	bad(nl, m, EINVAL, NULL, VUSIM_ATTR_SLOT, "SLOT_GET without SLOT (missing attr reported)");
	m = raw(nl, VUSIM_CMD_CARD_INSERT);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	bad(nl, m, EINVAL, NULL, VUSIM_ATTR_ATR, "CARD_INSERT without ATR");
	m = raw(nl, VUSIM_CMD_CARD_REMOVE);
	nla_put_u32(m, VUSIM_ATTR_SLOT, 77);
	bad(nl, m, ENOENT, "no such slot", 0, "CARD_REMOVE of slot 77");
	m = raw(nl, VUSIM_CMD_SLOT_GET);
	nla_put_u32(m, VUSIM_ATTR_SLOT, 4000000000u);
	bad(nl, m, ENOENT, "no such slot", 0, "SLOT_GET of slot 4000000000");
	m = raw(nl, VUSIM_CMD_SLOT_GET);
	nla_put_u8(m, VUSIM_ATTR_SLOT, 0);
	bad(nl, m, EINVAL, NULL, 0, "SLOT as a u8 (wrong length)");
	m = raw(nl, VUSIM_CMD_SLOT_GET);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, 100, 1);
	bad(nl, m, EINVAL, NULL, 0, "unknown attribute type 100");
	m = raw(nl, VUSIM_CMD_SLOT_GET);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u8(m, VUSIM_ATTR_BACKEND, 1);
	bad(nl, m, EINVAL, NULL, 0, "reply-only attribute BACKEND in a request");
	m = raw(nl, VUSIM_CMD_SLOT_ADD);
	nla_put_u32(m, VUSIM_ATTR_FLAGS, 0x2);
	bad(nl, m, EINVAL, NULL, 0, "SLOT_ADD with unknown flag bit 0x2");
	m = raw(nl, VUSIM_CMD_SLOT_ADD);
	nla_put_u32(m, VUSIM_ATTR_TIMEOUT_MS, 5);
	bad(nl, m, ERANGE, NULL, 0, "SLOT_ADD with timeout 5 ms");
	m = raw(nl, VUSIM_CMD_SLOT_ADD);
	nla_put_u32(m, VUSIM_ATTR_TIMEOUT_MS, 600001);
	bad(nl, m, ERANGE, NULL, 0, "SLOT_ADD with timeout 600001 ms");
	m = raw(nl, VUSIM_CMD_SLOT_ADD);
	nla_put_string(m, VUSIM_ATTR_TIMEOUT_MS, "1000");
	bad(nl, m, EINVAL, NULL, 0, "TIMEOUT_MS as a string (wrong type)");
	m = raw(nl, VUSIM_CMD_SLOT_SET);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, VUSIM_ATTR_TIMEOUT_MS, 9);
	bad(nl, m, ERANGE, NULL, 0, "SLOT_SET with timeout 9 ms");
	m = raw(nl, VUSIM_CMD_CARD_INSERT);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put(m, VUSIM_ATTR_ATR, VUSIM_ATR_MAX + 1, big);
	bad(nl, m, ERANGE, "size out of range", 0, "34-byte ATR (oversized)");
	m = raw(nl, VUSIM_CMD_CARD_INSERT);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put(m, VUSIM_ATTR_ATR, 1, big);
	bad(nl, m, ERANGE, NULL, 0, "1-byte ATR (too short)");
	m = raw(nl, VUSIM_CMD_CARD_INSERT);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put(m, VUSIM_ATTR_ATR, 4, "\x12\x34\x56\x78");
	bad(nl, m, EINVAL, "TS 0x3B or 0x3F", 0, "ATR with TS 0x12");
	m = raw(nl, VUSIM_CMD_APDU_RESPONSE);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put(m, VUSIM_ATTR_APDU, 2, sw_ok);
	bad(nl, m, EINVAL, NULL, VUSIM_ATTR_SEQ, "APDU_RESPONSE without SEQ");
	m = raw(nl, VUSIM_CMD_APDU_RESPONSE);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, VUSIM_ATTR_SEQ, 5);
	bad(nl, m, EINVAL, NULL, VUSIM_ATTR_APDU, "APDU_RESPONSE without APDU or FAILED");
	m = raw(nl, VUSIM_CMD_APDU_RESPONSE);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, VUSIM_ATTR_SEQ, 5);
	nla_put(m, VUSIM_ATTR_APDU, 2, sw_ok);
	nla_put_flag(m, VUSIM_ATTR_FAILED);
	bad(nl, m, EINVAL, "not both", 0, "APDU_RESPONSE with APDU and FAILED");
	m = raw(nl, VUSIM_CMD_APDU_RESPONSE);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, VUSIM_ATTR_SEQ, 5);
	nla_put(m, VUSIM_ATTR_APDU, 1, sw_ok);
	bad(nl, m, ERANGE, NULL, 0, "1-byte response APDU (shorter than SW1 SW2)");
	m = raw(nl, VUSIM_CMD_APDU_RESPONSE);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, VUSIM_ATTR_SEQ, 0);
	nla_put(m, VUSIM_ATTR_APDU, 2, sw_ok);
	bad(nl, m, ERANGE, NULL, 0, "sequence number 0");
	m = raw(nl, VUSIM_CMD_APDU_REQUEST);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	bad(nl, m, EOPNOTSUPP, NULL, 0, "APDU_REQUEST from user space");
	m = raw(nl, 200);
	bad(nl, m, EOPNOTSUPP, NULL, 0, "unknown command 200");

	/* A socket that is not the slot's backend. */
	if (vusim_nl_open(&other) < 0) {
		ok(false, "second netlink handle");
		return;
	}
	is_err(vusim_nl_card_remove(other, slot), EPERM,
	       "CARD_REMOVE by another socket: EPERM");
	ok(strstr(vusim_nl_error(other), "not the slot's backend") != NULL,
	   "extack says: not the slot's backend");
	is_err(vusim_nl_card_insert(other, slot, atr1, sizeof(atr1)), EPERM,
	       "CARD_INSERT by another socket: EPERM");
	is_err(vusim_nl_slot_set_timeout(other, slot, 1000), EPERM,
	       "SLOT_SET by another socket: EPERM");
	m = raw(other, VUSIM_CMD_APDU_RESPONSE);
	nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
	nla_put_u32(m, VUSIM_ATTR_SEQ, 1);
	nla_put(m, VUSIM_ATTR_APDU, 2, sw_ok);
	bad(other, m, EPERM, "not the slot's backend", 0,
	    "APDU_RESPONSE by another socket");
	answer_wiped(slot);
	is_err(vusim_nl_slot_del(other, slot), EBUSY,
	       "SLOT_DEL by another socket: EBUSY");
	is_err(vusim_nl_slot_claim(other, slot, 0), EBUSY,
	       "SLOT_CLAIM of a slot with a backend: EBUSY");
	{
		struct vusim_slot_info info;

		ok(vusim_nl_slot_get(other, slot, &info) == 0 && info.card_present,
		   "SLOT_GET by another socket works");
	}
	vusim_nl_close(other);
}

/* ---- lib/vusim-nl's serving loop and its queue ---- */

struct echo {
	struct vusim_nl *nl;
	volatile bool stop;
	unsigned long apdus, powers;
};

/* Response = the command's data back + 90 00. */
static int echo_apdu(void *userdata, uint32_t slot, const uint8_t *cmd,
		     size_t cmd_len, uint8_t *rsp, size_t *rsp_len)
{
	struct echo *e = userdata;

	(void)slot;
	e->apdus++;
	if (cmd[1] == 0xff)
		return -EIO;	/* INS FF: the card fails */
	memcpy(rsp, cmd, cmd_len);
	rsp[cmd_len] = 0x90;
	rsp[cmd_len + 1] = 0x00;
	*rsp_len = cmd_len + 2;
	return 0;
}

static int echo_power(void *userdata, uint32_t slot, uint8_t op, uint8_t *atr,
		      size_t *atr_len)
{
	struct echo *e = userdata;

	(void)slot;
	(void)op;
	e->powers++;
	memcpy(atr, atr_t1, sizeof(atr_t1));
	*atr_len = sizeof(atr_t1);
	return 0;
}

static void *echo_main(void *p)
{
	static const struct vusim_backend_ops ops = {
		.apdu = echo_apdu,
		.power = echo_power,
	};
	struct echo *e = p;

	while (!e->stop)
		if (vusim_nl_serve(e->nl, &ops, e, 50) < 0)
			break;
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_lib(struct vusim_nl *nl, uint32_t slot)
{
	struct vusim_slot_info info;
	struct vusim_request req;
	struct echo e = { .nl = nl };
	uint8_t cmd[300], rsp[400], atr[VUSIM_ATR_MAX];
	enum { N = 1000 };
	static int64_t us[N];
	size_t atr_len;
	pthread_t th;
	int bad = 0, fd = vusim_modem_open(slot, 0);
	long r;

	/* A request that arrives while a management call waits is queued. */
	send_cmd(fd);
	sleep_ms(20);
	is_ok(vusim_nl_slot_get(nl, slot, &info),
	      "SLOT_GET while a request waits in the socket");
	ok(vusim_nl_recv_request(nl, 0, &req) == 1 &&
	   req.kind == VUSIM_REQUEST_APDU && req.apdu_len == sizeof(select_mf),
	   "the request was queued and is returned next");
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	sys(read(fd, rsp, sizeof(rsp)));

	/* vusim_nl_serve() in a backend thread, modem in this one. */
	pthread_create(&th, NULL, echo_main, &e);
	for (int i = 0; i < N; i++) {
		size_t n = 5 + i % 256;
		struct timespec a, b;

		cmd[0] = 0x00;
		cmd[1] = 0xb0;
		cmd[2] = (uint8_t)i;
		cmd[3] = 0;
		cmd[4] = (uint8_t)(n - 5);
		for (size_t k = 5; k < n; k++)
			cmd[k] = (uint8_t)(i + k);
		clock_gettime(CLOCK_MONOTONIC, &a);
		r = vusim_modem_transmit(fd, cmd, n, rsp, sizeof(rsp));
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
		if (r != (long)n + 2 || memcmp(rsp, cmd, n) || rsp[n] != 0x90)
			bad++;
	}
	ok(bad == 0, "%d APDUs served by vusim_nl_serve() come back intact (%d bad)",
	   N, bad);
	qsort(us, N, sizeof(us[0]), cmp_i64);
	diag("round trip through vusim_nl_serve: p50 %lld us, p99 %lld us (VM, TCG)",
	     (long long)us[N / 2], (long long)us[N * 99 / 100]);
	cmd[1] = 0xff;
	is_err(vusim_modem_transmit(fd, cmd, 5, rsp, sizeof(rsp)), EIO,
	       "a callback error becomes FAILED: EIO");
	ok(vusim_modem_atr(fd, VUSIM_IOC_WARM_RESET, atr, &atr_len) == 0 &&
	   atr_len == sizeof(atr_t1), "a reset is served by the power callback");
	is_ok(vusim_modem_power_off(fd), "power off is passed to the callback");
	ok(vusim_modem_atr(fd, VUSIM_IOC_POWER_ON, atr, &atr_len) == 0,
	   "power on is served");
	e.stop = true;
	pthread_join(th, NULL);
	ok(e.apdus == N + 1 && e.powers == 3,
	   "callbacks ran %lu + %lu times", e.apdus, e.powers);
	ok(vusim_nl_async_errors(nl) == 0, "no answer was refused");
	close(fd);
}

/* In a child that became nobody: every mutating command is refused. */
static void test_unprivileged(uint32_t slot)
{
	int pipefd[2];
	int results[6];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct vusim_nl *nl;
		struct vusim_slot_info info;
		uint32_t s;

		close(pipefd[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		results[0] = vusim_nl_open(&nl);
		results[1] = results[0] ? 1 : vusim_nl_slot_add(nl, 0, 0, &s);
		results[2] = results[0] ? 1 : vusim_nl_card_remove(nl, slot);
		results[3] = results[0] ? 1 : vusim_nl_slot_del(nl, slot);
		results[4] = results[0] ? 1 : vusim_nl_slot_get(nl, slot, &info);
		results[5] = vusim_modem_open(slot, 0);
		if (write(pipefd[1], results, sizeof(results)) < 0)
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	memset(results, 0x7f, sizeof(results));
	if (read(pipefd[0], results, sizeof(results)) < 0)
		diag("no results from the child");
	close(pipefd[0]);
	waitpid(pid, NULL, 0);
	is_ok(results[0], "unprivileged: the family resolves");
	is_err(results[1], EPERM, "unprivileged SLOT_ADD: EPERM");
	is_err(results[2], EPERM, "unprivileged CARD_REMOVE: EPERM");
	is_err(results[3], EPERM, "unprivileged SLOT_DEL: EPERM");
	is_ok(results[4], "unprivileged SLOT_GET is allowed");
	is_err(results[5], EACCES, "unprivileged open of /dev/vusim0: EACCES");
}

/* In a child that stays root but drops CAP_NET_ADMIN. */
static void test_no_net_admin(uint32_t slot)
{
	int pipefd[2], results[3];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct d[2];
		struct vusim_nl *nl;
		uint32_t s;

		close(pipefd[0]);
		if (syscall(SYS_capget, &h, d) < 0)
			_exit(2);
		d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
		d[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
		results[0] = syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
		results[1] = vusim_nl_open(&nl);
		if (results[1] == 0)
			results[1] = vusim_nl_slot_add(nl, 0, 0, &s);
		results[2] = vusim_modem_open(slot, 0);
		if (write(pipefd[1], results, sizeof(results)) < 0)
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	memset(results, 0x7f, sizeof(results));
	if (read(pipefd[0], results, sizeof(results)) < 0)
		diag("no results from the child");
	close(pipefd[0]);
	waitpid(pid, NULL, 0);
	is_ok(results[0], "root child drops CAP_NET_ADMIN");
	is_err(results[1], EPERM, "root without CAP_NET_ADMIN: SLOT_ADD EPERM");
	is_ok(results[2], "root without CAP_NET_ADMIN may still open /dev/vusim0");
}

static int count_slot(const struct vusim_slot_info *info, void *userdata)
{
	uint32_t *mask = userdata;

	*mask |= 1u << info->slot;
	return 0;
}

static void test_slots(struct vusim_nl *nl, struct vusim_nl *ev)
{
	uint32_t s1, s2, s3, s4, mask = 0;
	struct vusim_slot_info info;
	int r;

	is_ok(vusim_nl_slot_add(nl, 0, 300, &s1), "SLOT_ADD with timeout 300");
	ok(get_info(nl, s1, &info) == 0 && info.timeout_ms == 300,
	   "the new slot has timeout 300");
	is_ok(vusim_nl_slot_add(nl, VUSIM_SLOT_F_DELETE_ON_CLOSE, 0, &s2),
	      "SLOT_ADD with DELETE_ON_CLOSE");
	ok(get_info(nl, s2, &info) == 0 &&
	   info.flags == VUSIM_SLOT_F_DELETE_ON_CLOSE, "flags reported");
	is_ok(vusim_nl_slot_add(nl, 0, 0, &s3), "fourth SLOT_ADD");
	r = vusim_nl_slot_add(nl, 0, 0, &s4);
	is_err(r, ENOSPC, "fifth SLOT_ADD with max_slots=4: ENOSPC");
	ok(strstr(vusim_nl_error(nl), "max_slots") != NULL,
	   "extack names max_slots");
	r = vusim_nl_slot_dump(nl, count_slot, &mask);
	ok(r == 0 && mask == 0xf, "dump lists slots 0-3 (mask %#x)", mask);
	drain_events(ev);
	is_ok(vusim_nl_slot_del(nl, s3), "SLOT_DEL");
	ok(wait_event(ev, VUSIM_EVENT_SLOT_DELETED, s3), "event SLOT_DELETED");
	ok(!dev_exists(s3), "its device node is gone");
	is_err(get_info(nl, s3, &info), ENOENT, "SLOT_GET of the deleted slot: ENOENT");
	is_err(vusim_nl_slot_del(nl, s3), ENOENT, "SLOT_DEL again: ENOENT");
	vusim_nl_slot_del(nl, s1);
	vusim_nl_slot_del(nl, s2);
	mask = 0;
	vusim_nl_slot_dump(nl, count_slot, &mask);
	ok(mask == 0x1, "dump lists slot 0 only");
}

/*
 * A backend process: adds a slot (flags), inserts a card, reports the slot
 * index on report, then serves mode: 0 answers nothing (waits to be killed),
 * 1 exits after its first request.
 */
static pid_t spawn_backend(uint32_t flags, int mode, uint32_t *ret_slot)
{
	int pipefd[2];
	uint32_t slot = UINT32_MAX;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct vusim_nl *nl;
		struct vusim_request req;

		close(pipefd[0]);
		if (vusim_nl_open(&nl) < 0 ||
		    vusim_nl_slot_add(nl, flags, 0, &slot) < 0 ||
		    vusim_nl_card_insert(nl, slot, atr1, sizeof(atr1)) < 0)
			_exit(1);
		if (write(pipefd[1], &slot, sizeof(slot)) < 0)
			_exit(3);
		vusim_nl_recv_request(nl, -1, &req);
		if (write(pipefd[1], &slot, sizeof(slot)) < 0)
			_exit(3);
		if (mode == 1)
			_exit(0);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	if (read(pipefd[0], &slot, sizeof(slot)) != sizeof(slot)) {
		close(pipefd[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	*ret_slot = slot;
	/* The second report (request received) is read by wait_backend(). */
	fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
	dup2(pipefd[0], 100);
	close(pipefd[0]);
	return pid;
}

static bool wait_backend_got_request(void)
{
	uint32_t s;
	bool r = read(100, &s, sizeof(s)) == sizeof(s);

	close(100);
	return r;
}

static void test_backend_loss(struct vusim_nl *nl, struct vusim_nl *ev)
{
	struct vusim_slot_info info;
	struct vusim_request req;
	struct vusim_status st;
	uint8_t rsp[64];
	uint32_t slot;
	struct call c;
	pid_t pid;
	int fd;

	drain_events(ev);
	pid = spawn_backend(0, 0, &slot);
	ok(pid > 0, "a backend process adds slot %u and inserts a card", slot);
	if (pid <= 0)
		return;
	fd = vusim_modem_open(slot, 0);
	vusim_modem_status(fd, &st);
	send_cmd(fd);
	call_start(&c, fd, 0, rsp, sizeof(rsp));
	ok(wait_backend_got_request(), "the backend got the command");
	sleep_ms(50);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	is_err(call_end(&c), ENOMEDIUM, "backend killed mid-command: read gets ENOMEDIUM");
	ok(c.ms < 1000, "at once (%lld ms)", (long long)c.ms);
	ok(wait_event(ev, VUSIM_EVENT_SLOT_ORPHANED, slot), "event SLOT_ORPHANED");
	ok(poll_events(fd) & POLLPRI, "poll: EPOLLPRI after the card left");
	ok(get_info(nl, slot, &info) == 0 && !info.backend &&
	   !info.card_present && info.backend_lost == 1,
	   "the slot stays as an orphan without card, backend_lost 1");
	ok(vusim_modem_status(fd, &st) == 0 && st.flags == 0,
	   "STATUS: no card, no backend");
	is_err(sys(write(fd, select_mf, sizeof(select_mf))), ENOMEDIUM,
	       "write to the orphan: ENOMEDIUM");
	is_err(sys(write(fd, unreadable(), VUSIM_APDU_MAX)), ENOMEDIUM,
	       "65531-byte write to the card-less slot: ENOMEDIUM before the copy");

	is_ok(vusim_nl_slot_claim(nl, slot, 0), "SLOT_CLAIM of the orphan");
	ok(wait_event(ev, VUSIM_EVENT_SLOT_CLAIMED, slot), "event SLOT_CLAIMED");
	ok(get_info(nl, slot, &info) == 0 && info.backend &&
	   vusim_nl_slot_set_timeout(nl, slot, 5000) == 0,
	   "we are its backend now");
	vusim_nl_card_insert(nl, slot, atr1, sizeof(atr1));
	send_cmd(fd);
	ok(get_request(nl, &req, VUSIM_REQUEST_APDU) && req.slot == slot,
	   "the new backend gets the commands");
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	ok(sys(read(fd, rsp, sizeof(rsp))) == 2, "and answers them");

	/* Card removed by the backend mid-command. */
	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	call_start(&c, fd, 0, rsp, sizeof(rsp));
	sleep_ms(50);
	drain_events(ev);
	is_ok(vusim_nl_card_remove(nl, slot), "CARD_REMOVE mid-command");
	is_err(call_end(&c), ENOMEDIUM, "the waiting read gets ENOMEDIUM");
	ok(wait_event(ev, VUSIM_EVENT_CARD_REMOVED, slot), "event CARD_REMOVED");
	is_err(vusim_nl_card_remove(nl, slot), ENOMEDIUM,
	       "CARD_REMOVE without a card: ENOMEDIUM");

	/* Deletion with open files. */
	vusim_nl_card_insert(nl, slot, atr1, sizeof(atr1));
	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	call_start(&c, fd, 0, rsp, sizeof(rsp));
	sleep_ms(50);
	is_ok(vusim_nl_slot_del(nl, slot), "SLOT_DEL with an open file and a waiting read");
	is_err(call_end(&c), ENODEV, "the waiting read gets ENODEV");
	ok(c.ms < 1000, "at once (%lld ms)", (long long)c.ms);
	ok((poll_events(fd) & (POLLHUP | POLLERR)) == (POLLHUP | POLLERR),
	   "poll: EPOLLHUP | EPOLLERR");
	is_err(sys(write(fd, select_mf, sizeof(select_mf))), ENODEV, "write: ENODEV");
	is_err(sys(read(fd, rsp, sizeof(rsp))), ENODEV, "read: ENODEV");
	is_err(vusim_modem_status(fd, &st), ENODEV, "STATUS: ENODEV");
	is_err(vusim_modem_power_off(fd), ENODEV, "POWER_OFF: ENODEV");
	is_err(vusim_modem_open(slot, 0), ENOENT, "the device node is gone");
	{
		struct nl_msg *m = raw(nl, VUSIM_CMD_APDU_RESPONSE);

		nla_put_u32(m, VUSIM_ATTR_SLOT, slot);
		nla_put_u32(m, VUSIM_ATTR_SEQ, req.seq);
		nla_put(m, VUSIM_ATTR_APDU, 2, sw_ok);
		is_err(vusim_nl_transact(nl, m), ENOENT,
		       "an answer for the deleted slot: ENOENT");
	}
	is_ok(sys(close(fd)), "close after deletion");

	/*
	 * A command answered before the deletion is still read after it, and
	 * poll says so (as a pipe: EPOLLIN with EPOLLHUP).
	 */
	is_ok(vusim_nl_slot_add(nl, 0, 0, &slot), "a new slot");
	vusim_nl_card_insert(nl, slot, atr1, sizeof(atr1));
	fd = vusim_modem_open(slot, 0);
	send_cmd(fd);
	get_request(nl, &req, VUSIM_REQUEST_APDU);
	vusim_nl_apdu_response(nl, slot, req.seq, sw_ok, 2);
	is_ok(vusim_nl_slot_del(nl, slot), "SLOT_DEL with an answered command");
	ok((poll_events(fd) & (POLLIN | POLLHUP)) == (POLLIN | POLLHUP),
	   "poll after deletion: EPOLLIN | EPOLLHUP");
	ok(sys(read(fd, rsp, sizeof(rsp))) == 2 && !memcmp(rsp, sw_ok, 2),
	   "read after deletion gets the response");
	ok((poll_events(fd) & (POLLIN | POLLHUP)) == POLLHUP,
	   "then poll: EPOLLHUP only");
	is_err(sys(read(fd, rsp, sizeof(rsp))), ENODEV, "and read: ENODEV");
	close(fd);

	/* DELETE_ON_CLOSE: the slot goes with its backend. */
	pid = spawn_backend(VUSIM_SLOT_F_DELETE_ON_CLOSE, 1, &slot);
	fd = vusim_modem_open(slot, 0);
	send_cmd(fd);
	call_start(&c, fd, 0, rsp, sizeof(rsp));
	wait_backend_got_request();
	waitpid(pid, NULL, 0);
	is_err(call_end(&c), ENOMEDIUM,
	       "DELETE_ON_CLOSE backend exits mid-command: ENOMEDIUM");
	is_err(get_info(nl, slot, &info), ENOENT,
	       "the slot was deleted with its backend");
	ok(poll_events(fd) & POLLHUP, "poll: EPOLLHUP");
	close(fd);

	/* An orphan can be deleted by anyone (admin). */
	pid = spawn_backend(0, 1, &slot);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(100);
	is_ok(vusim_nl_slot_del(nl, slot), "SLOT_DEL of an orphan by another socket");
}

/* Modem, backend and netlink racing; the kernel log must stay clean. */
static void test_races(struct vusim_nl *nl)
{
	int rounds = 200, hung = 0, odd = 0, setup = 0;
	int64_t t0 = now_ms();

	for (int i = 0; i < rounds; i++) {
		bool reset = i % 3 == 2;
		struct vusim_nl *b = NULL;
		uint8_t rsp[64];
		uint32_t slot;
		struct call c;
		int fd;

		if (vusim_nl_open(&b) < 0 || vusim_nl_slot_add(b, 0, 0, &slot) < 0 ||
		    vusim_nl_card_insert(b, slot, atr1, sizeof(atr1)) < 0) {
			setup++;
			vusim_nl_close(b);
			continue;
		}
		fd = vusim_modem_open(slot, 0);
		/* A read of a written command, or a reset ioctl. */
		if (!reset)
			send_cmd(fd);
		call_start(&c, fd, reset ? VUSIM_IOC_COLD_RESET : 0, rsp,
			   sizeof(rsp));
		if (i & 4)
			sleep_ms(i % 7);
		switch (i % 4) {
		case 0:		/* the backend socket closes */
			vusim_nl_close(TAKE_PTR(b));
			break;
		case 1:		/* the slot is deleted */
			vusim_nl_slot_del(b, slot);
			break;
		case 2:		/* the card is removed */
			vusim_nl_card_remove(b, slot);
			break;
		case 3: {	/* an answer races with the deletion */
			struct vusim_request req;

			if (vusim_nl_recv_request(b, 100, &req) == 1)
				vusim_nl_apdu_response(b, slot, req.seq, sw_ok, 2);
			vusim_nl_slot_del(b, slot);
			break;
		}
		}
		if (call_end(&c) >= 0 && i % 4 != 3)
			odd++;
		/*
		 * Woken by the event, not by the slot's answer timeout (5000 ms
		 * by default): a missed wakeup shows as a call that ran into the
		 * timeout.  4000 ms leaves room for a slow TCG guest on a busy
		 * host (2000 ms was crossed once so); a call that never returns
		 * is the runner's timeout.
		 */
		if (c.ms > 4000)
			hung++;
		close(fd);
		/* Orphans are deleted by another socket. */
		vusim_nl_slot_del(b ? b : nl, slot);
		vusim_nl_close(b);
	}
	ok(setup == 0, "race rounds set up (%d failed)", setup);
	ok(hung == 0, "%d rounds of backend close / delete / card removal vs a waiting modem: no call hung",
	   rounds);
	ok(odd == 0, "every racing modem call failed cleanly (%d unexpected successes)", odd);
	diag("races: %lld ms", (long long)(now_ms() - t0));
}

static void test_unload(struct vusim_nl **nlp, struct vusim_nl **evp)
{
	struct vusim_slot_info info;
	struct vusim_nl *nl = *nlp;
	uint32_t slot;
	int fd, r;

	/* Slot 0 still exists with its card. */
	fd = vusim_modem_open(0, 0);
	is_ok(fd, "open /dev/vusim0");
	r = unload_module();
	ok(r == -EWOULDBLOCK || r == -EBUSY,
	   "rmmod with an open file is refused (%s)", strerror(-r));
	ok(get_info(nl, 0, &info) == 0, "the module still works");
	close(fd);

	/* Backends are alive with slots (one orphan too) when it goes. */
	vusim_nl_slot_add(nl, 0, 0, &slot);
	is_ok(unload_module(), "rmmod with live backends and slots");
	ok(access("/sys/class/vusim", F_OK) < 0 && !dev_exists(0),
	   "class and device nodes are gone");
	r = get_info(nl, 0, &info);
	ok(r < 0, "the old backend socket gets errors (%d)", r);
	r = vusim_nl_card_remove(nl, 0);
	ok(r < 0, "and keeps getting errors (%d)", r);
	vusim_nl_close(nl);
	vusim_nl_close(*evp);
	*nlp = NULL;
	*evp = NULL;

	is_ok(load_module("max_slots=2 timeout_ms=1000"), "reload with max_slots=2 timeout_ms=1000");
	r = vusim_nl_open(&nl);
	is_ok(r, "the family is back");
	if (r < 0)
		return;
	is_ok(vusim_nl_slot_add(nl, 0, 0, &slot), "SLOT_ADD after reload");
	ok(slot == 0 && get_info(nl, slot, &info) == 0 && info.timeout_ms == 1000,
	   "slot 0 with the new default timeout");
	vusim_nl_slot_add(nl, 0, 0, &slot);
	is_err(vusim_nl_slot_add(nl, 0, 0, &slot), ENOSPC, "third SLOT_ADD: ENOSPC");
	{
		struct vusim_request req;
		uint8_t rsp[16];

		vusim_nl_card_insert(nl, 0, atr1, sizeof(atr1));
		fd = vusim_modem_open(0, 0);
		send_cmd(fd);
		get_request(nl, &req, VUSIM_REQUEST_APDU);
		vusim_nl_apdu_response(nl, 0, req.seq, sw_ok, 2);
		ok(sys(read(fd, rsp, sizeof(rsp))) == 2, "APDUs work after reload");
		close(fd);
	}
	is_ok(unload_module(), "final rmmod with a live backend");
	vusim_nl_close(nl);
}

int main(int argc, char **argv)
{
	struct vusim_nl *nl = NULL, *ev = NULL;
	uint32_t slot = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: vusim-test PATH/TO/vusim.ko\n");
		return 2;
	}
	module_path = argv[1];
	if (!getenv("VM") || geteuid() != 0) {
		printf("vusim-test loads and unloads vusim.ko: it runs in the test VM only\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);

	test_params();
	if (vusim_nl_open(&nl) < 0 || vusim_nl_open(&ev) < 0 ||
	    vusim_nl_subscribe_events(ev) < 0) {
		ok(false, "netlink handles open");
		printf("1..%d\n", tests);
		return 1;
	}
	ok(true, "netlink handles open, event group joined");

	test_basic(nl, ev, &slot);
	test_timeouts(nl, slot);
	test_files(nl, slot);
	test_power(nl, ev, slot);
	test_bad_input(nl, slot);
	test_lib(nl, slot);
	test_unprivileged(slot);
	test_no_net_admin(slot);
	test_slots(nl, ev);
	test_backend_loss(nl, ev);
	test_races(nl);
	test_unload(&nl, &ev);

	vusim_nl_close(nl);
	vusim_nl_close(ev);
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
