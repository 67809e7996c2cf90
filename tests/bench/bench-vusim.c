// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-vusim: round-trip latency and throughput of vusim.ko, run in the
 * test VM by tests/bench/run-vusim-bench.
 *
 * vusim round trip: the modem (this process) write()s a 5-byte command APDU
 * to /dev/vusimN and read()s the 18-byte response; the kernel forwards the
 * command over generic netlink to a backend process, which answers with
 * vusim_nl_serve() (lib/vusim-nl.c, the path mcimd uses).
 *
 * Floor: the same message sizes ping-ponged over an AF_UNIX SOCK_SEQPACKET
 * socketpair between two processes: one wakeup each way, i.e. two context
 * switches per round trip, the least any user-space backend can cost.
 *
 * Each is measured unpinned (the official figures), with both processes on
 * one CPU and on two different CPUs; the vusim round trip also with a backend
 * that receives with one blocking recv() instead of vusim_nl_serve(), to show
 * what the library's receive path costs.  Prints `bench <name> <value>
 * <unit>` lines and a table.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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

#include "macro.h"
#include "vusim-nl.h"

static const uint8_t cmd_apdu[] = { 0x00, 0xb0, 0x00, 0x00, 0x10 };
#define RSP_LEN 18	/* 16 data bytes + SW1 SW2 */
static const uint8_t atr[] = { 0x3b, 0x02, 0x14, 0x50 };

enum pin { PIN_NONE, PIN_SAME, PIN_CROSS };
static const char *const pin_name[] = { "unpinned", "same CPU", "two CPUs" };

struct result {
	double p50_us, p99_us, per_s;
	unsigned int n;		/* round trips measured */
};

/* How many round trips to measure, after how many warm-up ones. */
struct plan {
	unsigned int iter, warmup;
	uint64_t max_ns;	/* stop measuring after this (0: never) */
};

static unsigned int n_iter = 10000, n_warmup = 1000;
/*
 * Under TCG on a loaded host a wakeup across vCPUs can take milliseconds
 * (both vCPU threads need a host CPU): the side measurements stop after
 * side_secs seconds or side_iter round trips, whichever comes first.
 */
static unsigned int side_iter = 2000, side_warmup = 200, side_secs = 8;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

/* CPUs of the parent and the child for a pinning mode. */
static void pin_cpus(enum pin p, int *ret_parent, int *ret_child)
{
	*ret_parent = p == PIN_NONE ? -1 : 0;
	*ret_child = p == PIN_NONE ? -1 : p == PIN_SAME ? 0 : 1;
}

static void unpin(void)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentiles, and the rate: round trips per second spent in them. */
static void summarize(uint64_t *ns, unsigned int n, struct result *r)
{
	uint64_t total_ns = 0;

	for (unsigned int i = 0; i < n; i++)
		total_ns += ns[i];
	qsort(ns, n, sizeof(*ns), cmp_u64);
	r->p50_us = ns[n / 2] / 1000.0;
	r->p99_us = ns[(size_t)n * 99 / 100] / 1000.0;
	r->per_s = n / (total_ns / 1e9);
	r->n = n;
}

/* ---- vusim backends (child processes) ---- */

static int backend_apdu(void *userdata, uint32_t slot, const uint8_t *cmd,
			size_t cmd_len, uint8_t *rsp, size_t *rsp_len)
{
	(void)userdata;
	(void)slot;
	(void)cmd_len;
	/* 16 bytes "read" from a file, then 90 00 (ISO/IEC 7816-4 5.1.3). */
	for (int i = 0; i < RSP_LEN - 2; i++)
		rsp[i] = (uint8_t)(cmd[1] + i);
	rsp[RSP_LEN - 2] = 0x90;
	rsp[RSP_LEN - 1] = 0x00;
	*rsp_len = RSP_LEN;
	return 0;
}

static int backend_power(void *userdata, uint32_t slot, uint8_t op,
			 uint8_t *ret_atr, size_t *atr_len)
{
	(void)userdata;
	(void)slot;
	(void)op;
	memcpy(ret_atr, atr, sizeof(atr));
	*atr_len = sizeof(atr);
	return 0;
}

/*
 * The minimal receive path: one blocking recv() per request, the attributes
 * found by hand, the answer sent with vusim_nl_apdu_response().
 */
static int serve_raw(struct vusim_nl *nl)
{
	uint8_t buf[8192], rsp[RSP_LEN];
	size_t rsp_len;

	for (;;) {
		ssize_t n = recv(vusim_nl_fd(nl), buf, sizeof(buf), 0);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		uint32_t slot = 0, seq = 0;
		const uint8_t *apdu = NULL;
		size_t apdu_len = 0;
		int rem;

		/*
		 * EAGAIN: the SO_RCVTIMEO that lib/vusim-nl's management calls
		 * leave on the socket ran out while the other rigs had their
		 * turn (more than a second on a busy host).
		 */
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		rem = (int)n;
		for (; NLMSG_OK(nlh, rem); nlh = NLMSG_NEXT(nlh, rem)) {
			struct genlmsghdr *g = NLMSG_DATA(nlh);
			struct nlattr *a;
			int alen;

			if (nlh->nlmsg_type < NLMSG_MIN_TYPE ||
			    nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN ||
			    g->cmd != VUSIM_CMD_APDU_REQUEST)
				continue;
			a = (struct nlattr *)((uint8_t *)g + GENL_HDRLEN);
			alen = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
			while (alen >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
			       a->nla_len <= alen) {
				const uint8_t *d = (const uint8_t *)a + NLA_HDRLEN;
				size_t dl = a->nla_len - NLA_HDRLEN;

				if (a->nla_type == VUSIM_ATTR_SLOT && dl == 4)
					memcpy(&slot, d, 4);
				else if (a->nla_type == VUSIM_ATTR_SEQ && dl == 4)
					memcpy(&seq, d, 4);
				else if (a->nla_type == VUSIM_ATTR_APDU) {
					apdu = d;
					apdu_len = dl;
				}
				alen -= NLA_ALIGN(a->nla_len);
				a = (struct nlattr *)((uint8_t *)a + NLA_ALIGN(a->nla_len));
			}
			if (!apdu || !seq)
				continue;
			backend_apdu(NULL, slot, apdu, apdu_len, rsp, &rsp_len);
			if (vusim_nl_apdu_response(nl, slot, seq, rsp, rsp_len) < 0)
				return -errno;
		}
	}
}

/* Child: add a slot (deleted when we exit), insert a card, tell the parent
 * the slot index, serve until killed. */
static int backend_main(int cpu, bool raw, int report_fd)
{
	static const struct vusim_backend_ops ops = {
		.apdu = backend_apdu,
		.power = backend_power,
	};
	struct vusim_nl *nl;
	uint32_t slot;
	int r;

	if (pin_to(cpu) < 0)
		return 1;
	r = vusim_nl_open(&nl);
	if (r < 0) {
		fprintf(stderr, "backend: vusim_nl_open: %s %s\n", strerror(-r),
			"(is vusim.ko loaded?)");
		return 1;
	}
	r = vusim_nl_slot_add(nl, VUSIM_SLOT_F_DELETE_ON_CLOSE, 0, &slot);
	if (r == 0)
		r = vusim_nl_card_insert(nl, slot, atr, sizeof(atr));
	if (r < 0) {
		fprintf(stderr, "backend: slot add/card insert: %s (%s)\n",
			strerror(-r), vusim_nl_error(nl));
		return 1;
	}
	if (write(report_fd, &slot, sizeof(slot)) != sizeof(slot))
		return 1;
	close(report_fd);
	if (raw)
		r = serve_raw(nl);
	else
		while ((r = vusim_nl_serve(nl, &ops, NULL, -1)) >= 0)
			;
	fprintf(stderr, "backend: serving: %s\n", strerror(-r));
	return 1;
}

/* ---- rigs: a child process and the descriptor the parent talks on ---- */

enum rig_kind { RIG_VUSIM, RIG_VUSIM_RAW, RIG_FLOOR, RIG_COUNT };

struct rig {
	enum rig_kind kind;
	pid_t pid;
	int fd;		/* /dev/vusimN or our end of the socketpair */
	uint64_t *ns;	/* samples */
	unsigned int n;
};

/* The floor's child: echo an 18-byte answer to every message. */
static int floor_main(int cpu, int sock)
{
	uint8_t buf[64], rsp[RSP_LEN] = { 0 };

	pin_to(cpu);
	for (;;) {
		ssize_t n = read(sock, buf, sizeof(buf));

		if (n <= 0)
			return n == 0 ? 0 : 1;
		rsp[0] = buf[1];
		if (write(sock, rsp, sizeof(rsp)) != sizeof(rsp))
			return 1;
	}
}

static int rig_start(struct rig *g, enum rig_kind kind, int child_cpu,
		     unsigned int max_samples)
{
	int sv[2];
	uint32_t slot;

	g->kind = kind;
	g->n = 0;
	g->fd = -1;
	g->ns = calloc(max_samples, sizeof(*g->ns));
	if (!g->ns)
		return -ENOMEM;
	if (kind == RIG_FLOOR) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
	} else if (pipe2(sv, O_CLOEXEC) < 0) {
		return -errno;
	}
	g->pid = fork();
	if (g->pid == 0) {
		close(sv[0]);
		_exit(kind == RIG_FLOOR ? floor_main(child_cpu, sv[1]) :
		      backend_main(child_cpu, kind == RIG_VUSIM_RAW, sv[1]));
	}
	close(sv[1]);
	if (g->pid < 0) {
		close(sv[0]);
		return -errno;
	}
	if (kind == RIG_FLOOR) {
		g->fd = sv[0];
		return 0;
	}
	if (read(sv[0], &slot, sizeof(slot)) != sizeof(slot)) {
		close(sv[0]);
		return -EIO;
	}
	close(sv[0]);
	g->fd = vusim_modem_open(slot, 0);
	if (g->fd < 0) {
		fprintf(stderr, "open /dev/vusim%u: %s\n", slot, strerror(-g->fd));
		return g->fd;
	}
	return 0;
}

static void rig_stop(struct rig *g)
{
	int status;

	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, &status, 0);
	}
	g->pid = 0;
	free(g->ns);
	g->ns = NULL;
}

/* One round trip: its duration in ns, 0 on error. */
static uint64_t rig_round_trip(struct rig *g)
{
	uint8_t rsp[64];
	uint64_t a = now_ns();
	ssize_t n;

	if (g->kind == RIG_FLOOR) {
		if (write(g->fd, cmd_apdu, sizeof(cmd_apdu)) != sizeof(cmd_apdu))
			return 0;
		n = read(g->fd, rsp, sizeof(rsp));
	} else {
		n = vusim_modem_transmit(g->fd, cmd_apdu, sizeof(cmd_apdu),
					 rsp, sizeof(rsp));
	}
	if (n != RSP_LEN) {
		fprintf(stderr, "round trip: %s\n",
			n < 0 ? strerror((int)-n) : "wrong length");
		return 0;
	}
	return now_ns() - a;
}

/*
 * Measures the three rigs in one pinning mode.  The rigs take turns in
 * blocks of BLOCK round trips, so that a change of the host's load (the VM
 * shares the host's CPUs) hits the round trip and its floor alike.
 */
#define BLOCK 100

static int bench_mode(enum pin p, const struct plan *pl, struct result *res)
{
	struct rig rigs[RIG_COUNT] = { 0 };
	int pcpu, ccpu, ret = 0;
	uint64_t start;

	pin_cpus(p, &pcpu, &ccpu);
	for (int k = 0; k < RIG_COUNT && ret == 0; k++)
		ret = rig_start(&rigs[k], k, ccpu, pl->iter);
	if (ret == 0)
		ret = pin_to(pcpu);
	for (int k = 0; k < RIG_COUNT && ret == 0; k++)
		for (unsigned int i = 0; i < pl->warmup && ret == 0; i++)
			if (!rig_round_trip(&rigs[k]))
				ret = -EIO;
	start = now_ns();
	while (ret == 0 && rigs[0].n < pl->iter &&
	       !(pl->max_ns && now_ns() - start > pl->max_ns)) {
		for (int k = 0; k < RIG_COUNT && ret == 0; k++) {
			struct rig *g = &rigs[k];

			for (unsigned int i = 0; i < BLOCK && g->n < pl->iter; i++) {
				uint64_t t = rig_round_trip(g);

				if (!t) {
					ret = -EIO;
					break;
				}
				g->ns[g->n++] = t;
			}
		}
	}
	for (int k = 0; k < RIG_COUNT; k++) {
		if (ret == 0)
			summarize(rigs[k].ns, rigs[k].n, &res[k]);
		rig_stop(&rigs[k]);
	}
	unpin();
	return ret;
}

/* ---- main ---- */

static int load_module(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *module = NULL;
	static const enum pin order[] = { PIN_SAME, PIN_CROSS, PIN_NONE };
	struct result res[3][RIG_COUNT];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': module = optarg; break;
		case 'n': n_iter = strtoul(optarg, NULL, 0); break;
		case 'w': n_warmup = strtoul(optarg, NULL, 0); break;
		default:
			printf("usage: bench-vusim [--module PATH] [--iterations N] [--warmup N]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (n_iter < 100) {
		fprintf(stderr, "bench-vusim: --iterations must be at least 100\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (module) {
		r = load_module(module);
		if (r < 0) {
			fprintf(stderr, "bench-vusim: insmod %s: %s\n", module,
				strerror(-r));
			return 1;
		}
	}

	/*
	 * The official figures: both processes on one CPU, so that the
	 * round trip and the floor pay the same two context switches and
	 * nothing else (see the comment on side_secs for the other modes).
	 */
	for (size_t o = 0; o < ARRAY_SIZE(order); o++) {
		const struct plan official = { n_iter, n_warmup, 0 };
		const struct plan side = { side_iter, side_warmup,
					   (uint64_t)side_secs * 1000000000u };
		enum pin p = order[o];
		const struct plan *pl = p == PIN_SAME ? &official : &side;

		memset(res[p], 0, sizeof(res[p]));
		if (p == PIN_CROSS && ncpu < 2)
			continue;
		fprintf(stderr, "# measuring: %s\n", pin_name[p]);
		if (bench_mode(p, pl, res[p]) < 0) {
			fprintf(stderr, "bench-vusim: a benchmark failed (%s)\n",
				pin_name[p]);
			return 1;
		}
	}

	printf("# vusim: modem write+read on /dev/vusimN <-> backend process over generic netlink\n"
	       "# floor: the same sizes over an AF_UNIX SOCK_SEQPACKET socketpair between two processes\n"
	       "# command %zu bytes, response %d bytes; %ld CPUs\n",
	       sizeof(cmd_apdu), RSP_LEN, ncpu);
	printf("# %-42s %7s %9s %9s %8s\n", "", "n", "p50 us", "p99 us", "per s");
	for (size_t o = 0; o < ARRAY_SIZE(order); o++) {
		enum pin p = order[o];
		const struct { const char *what; struct result *r; } rows[] = {
			{ "vusim, backend vusim_nl_serve", &res[p][RIG_VUSIM] },
			{ "vusim, backend blocking recv", &res[p][RIG_VUSIM_RAW] },
			{ "floor, socketpair", &res[p][RIG_FLOOR] },
		};

		for (size_t k = 0; k < ARRAY_SIZE(rows); k++) {
			char label[64];

			if (!rows[k].r->n)
				continue;
			snprintf(label, sizeof(label), "%s, %s", rows[k].what,
				 pin_name[p]);
			printf("# %-42s %7u %9.1f %9.1f %8.0f\n", label,
			       rows[k].r->n, rows[k].r->p50_us, rows[k].r->p99_us,
			       rows[k].r->per_s);
		}
	}
	printf("bench vusim.rtt_p50_us %.1f us\n", res[PIN_SAME][RIG_VUSIM].p50_us);
	printf("bench vusim.rtt_p99_us %.1f us\n", res[PIN_SAME][RIG_VUSIM].p99_us);
	printf("bench vusim.apdus_per_s %.0f APDU/s\n", res[PIN_SAME][RIG_VUSIM].per_s);
	printf("bench vusim.floor_p50_us %.1f us\n", res[PIN_SAME][RIG_FLOOR].p50_us);
	printf("vusim round trip p50 / floor p50 = %.2f on one CPU (target within 2x, aim 1.3x); "
	       "%.2f on two CPUs, %.2f unpinned\n",
	       res[PIN_SAME][RIG_VUSIM].p50_us / res[PIN_SAME][RIG_FLOOR].p50_us,
	       res[PIN_CROSS][RIG_FLOOR].p50_us > 0 ? res[PIN_CROSS][RIG_VUSIM].p50_us / res[PIN_CROSS][RIG_FLOOR].p50_us : 0,
	       res[PIN_NONE][RIG_VUSIM].p50_us / res[PIN_NONE][RIG_FLOOR].p50_us);
	return 0;
}
