// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vusim-stress: a bounded stress test of vusim.ko, run inside the test VM
 * (tests/kernel/run-vusim-stress).  Prints TAP.
 *
 * Shape of the run:
 *
 *   supervisor (this process)
 *     - snapshots /proc/slabinfo, loads the module, adds --slots slots on a
 *       netlink handle and closes it: the slots become orphans;
 *     - forks --modems modem processes, each with one thread per slot, so
 *       every slot has --modems threads competing for it (EBUSY);
 *     - forks one backend process per slot; each CLAIMs its slot, inserts a
 *       card and serves it;
 *     - until the modems have --apdus verified round trips: every 100-900
 *       verified APDUs (100-200 times in a default run) kills a random
 *       backend (SIGKILL, or SIGTERM: clean card removal),
 *       waits a random gap and starts a new backend that CLAIMs the orphan
 *       (a backend that holds back an answer on purpose is spared until the
 *       modem has seen its timeout);
 *     - then stops everything, checks the kernel's per-slot counters against
 *       what the modems and backends counted, deletes the slots, unloads the
 *       module and compares /proc/slabinfo with the first snapshot: active
 *       objects of kmalloc-*, dma-kmalloc-*, skbuff_* and any vusim cache,
 *       each snapshot the minimum of three after dropping caches and
 *       shrinking the slabs; a cache may grow by --slab-tolerance objects
 *       (default 64), all of them together by twice that.  Kernel noise
 *       measured here stays within a few objects per cache (once +42 on
 *       the first run in a fresh VM); a leak of one object per APDU, late
 *       answer (~200 in a default run), abandoned command (~200), reset or
 *       power cycle (~140), or per EIO answer (~140) exceeds it; one per
 *       backend restart (~150) exceeds it in most runs; timeouts (~60)
 *       are too few to show a leak of their own.
 *
 * Each command APDU says in P1 how the backend must treat it (answer, answer
 * after the slot's timeout, never answer, answer VUSIM_ATTR_FAILED) and
 * carries a nonce and the response length it wants; the backend answers
 * with an FNV-1a hash of the whole command, the nonce and filler derived
 * from the nonce, so the modem can tell its own response from any other.
 *
 * Modem threads also abandon commands (close the file mid-command), use
 * O_NONBLOCK + poll, warm-reset and power-cycle the card.  During a backend
 * gap their calls fail with the documented errnos (ENOMEDIUM; ENOTCONN while
 * another thread power-cycles; ENOLINK) and they wait for the card with
 * poll(EPOLLPRI) + VUSIM_IOC_STATUS before going on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "vusim-nl.h"

#define MAX_SLOTS 16
#define MAX_MODEMS 8
/*
 * The slots' answer timeout.  Generous: under TCG on a busy host the whole
 * guest stalls now and then for a few hundred ms, and a timer that expires
 * during a stall fires before the backend gets to run.
 */
#define SLOT_TIMEOUT_MS 1000
#define WAIT_CARD_MAX_MS 15000	/* a card gap longer than this fails */
#define RUN_MAX_S 240		/* the supervisor gives up after this */
#define KILL_EVERY_MIN 100	/* verified APDUs between two backend kills: */
#define KILL_EVERY_SPREAD 800	/* 100 plus up to 800 more */
#define CMD_MAX 4096
#define RSP_MAX 4096

/* P1 of a command: what the backend does with it. */
enum behaviour {
	B_ANSWER = 0,
	B_LATE = 1,	/* answer after the slot's timeout: dropped, counted late */
	B_NONE = 2,	/* never answer: the modem gets ETIMEDOUT */
	B_FAIL = 3,	/* answer VUSIM_ATTR_FAILED: the modem gets EIO */
	B_ABANDON = 4,	/* the modem closes its file before reading */
};

static const uint8_t atr_cold[] = { 0x3b, 0x02, 0x14, 0x50 };
static const uint8_t atr_warm[] = { 0x3b, 0x02, 0x14, 0x51 };

/* Counters per slot, in memory shared by every process of the run. */
struct slot_counts {
	/* modem side */
	atomic_ulong writes;		/* write() accepted */
	atomic_ulong ok;		/* responses verified */
	atomic_ulong mismatch;		/* responses that failed verification */
	atomic_ulong timeouts;		/* ETIMEDOUT from read() */
	atomic_ulong spurious_timeouts;	/* ... for a command that was answered */
	atomic_ulong late_answered;	/* B_LATE answered in time all the same */
	atomic_ulong eio;
	atomic_ulong eio_unexpected;
	atomic_ulong abandoned;		/* commands written, file closed */
	atomic_ulong ebusy;
	atomic_ulong gap_errors;	/* ENOMEDIUM/ENOTCONN/ENOLINK seen */
	atomic_ulong gap_enomedium, gap_enotconn, gap_enolink;
	atomic_ulong recovered;		/* ... each followed by a card again */
	atomic_ulong read_enomedium;	/* backend lost while waiting */
	atomic_ulong resets;		/* warm resets answered with atr_warm */
	atomic_ulong power_cycles;	/* power off + power on with atr_cold */
	atomic_ulong unexpected;	/* any other errno */
	/* backend side */
	atomic_ulong claim_tries;	/* backends that sent a CLAIM */
	atomic_ulong claims;		/* ... and saw it acknowledged */
	atomic_ulong late_sent;		/* B_LATE answers sent */
	atomic_ulong answered;		/* answers sent in time */
	/* supervisor */
	atomic_ulong kills;
	atomic_ulong terms;
	atomic_ulong claim_busy;	/* CLAIM found the old backend still there */
	/* Set by a backend holding back an answer (B_LATE, B_NONE): the
	 * supervisor spares it until then, so that the timeout is seen. */
	atomic_ullong spare_until_ms;
};

#define MAX_NOTES 16

struct shared {
	/* Diagnostics printed at the end (first MAX_NOTES). */
	atomic_uint n_notes;
	char notes[MAX_NOTES][160];
	unsigned long target;
	atomic_ulong total_ok;
	atomic_int stop;
	atomic_int failed;
	unsigned int nslots;
	uint32_t slot_index[MAX_SLOTS];
	struct slot_counts c[MAX_SLOTS];
	char first_error[512];
	atomic_flag error_taken;
};

static struct shared *sh;
static volatile sig_atomic_t backend_term;	/* in a backend: SIGTERM */

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR &&
	       !atomic_load(&sh->stop) && !backend_term)
		;
}

/* xorshift64*: a per-thread generator, reproducible from the seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static unsigned int rnd_below(uint64_t *s, unsigned int n)
{
	return (unsigned int)(rnd(s) % n);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Filler byte i of a response or command with this nonce. */
static uint8_t filler(const uint8_t *nonce, size_t i, uint8_t salt)
{
	return (uint8_t)(nonce[(i + salt) % 8] * 31 + i * 7 + salt);
}

/* Records the first unexpected event and marks the run failed. */
_printf_(1, 2) static void fail(const char *fmt, ...)
{
	va_list ap;

	atomic_store(&sh->failed, 1);
	if (atomic_flag_test_and_set(&sh->error_taken))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->first_error, sizeof(sh->first_error), fmt, ap);
	va_end(ap);
}

/* Keeps a line for the end of the run (not a failure by itself). */
_printf_(1, 2) static void note(const char *fmt, ...)
{
	unsigned int i = atomic_fetch_add(&sh->n_notes, 1);
	va_list ap;

	if (i >= MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(sh->notes[i], sizeof(sh->notes[i]), fmt, ap);
	va_end(ap);
}

/* ---- the module and /proc/slabinfo ---- */

static int load_module(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return syscall(SYS_finit_module, fd, "", 0) < 0 ? -errno : 0;
}

static int unload_module(void)
{
	/* The last file of a slot may still be closing: retry briefly. */
	for (int i = 0; i < 50; i++) {
		if (syscall(SYS_delete_module, "vusim", O_NONBLOCK) == 0)
			return 0;
		if (errno != EAGAIN && errno != EBUSY && errno != EWOULDBLOCK)
			return -errno;
		usleep(100000);
	}
	return -EBUSY;
}

#define MAX_CACHES 256

struct slab_snap {
	unsigned int n;
	struct {
		char name[64];
		long active;
	} e[MAX_CACHES];
};

/* The caches compared: kmalloc-*, the skb caches netlink uses, ours. */
static bool cache_watched(const char *name)
{
	return strncmp(name, "kmalloc-", 8) == 0 ||
	       strncmp(name, "dma-kmalloc-", 12) == 0 ||
	       strncmp(name, "skbuff_", 7) == 0 || strstr(name, "vusim");
}

static void write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0 && write(fd, text, strlen(text)) < 0)
		return;
}

/*
 * Settles the allocator before a snapshot: drops reclaimable caches, waits
 * for RCU-deferred frees, and shrinks every watched SLUB cache so that the
 * objects sitting in per-CPU slabs are no longer counted as active.
 */
static void slab_settle(void)
{
	glob_t g;

	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	usleep(300000);
	if (glob("/sys/kernel/slab/*/shrink", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *name = g.gl_pathv[i] + strlen("/sys/kernel/slab/");

			if (cache_watched(name))
				write_file(g.gl_pathv[i], "1");
		}
		globfree(&g);
	}
}

static int slab_snapshot(struct slab_snap *s)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/slabinfo", "re");
	char line[512];

	if (!f)
		return -errno;
	s->n = 0;
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		long active;

		if (line[0] == '#' || strncmp(line, "slabinfo", 8) == 0)
			continue;
		if (sscanf(line, "%63s %ld", name, &active) != 2 ||
		    !cache_watched(name) || s->n >= MAX_CACHES)
			continue;
		snprintf(s->e[s->n].name, sizeof(s->e[s->n].name), "%s", name);
		s->e[s->n].active = active;
		s->n++;
	}
	return s->n ? 0 : -ENOENT;
}

/*
 * The least of SLAB_SAMPLES settled snapshots, cache by cache.  Whatever
 * else the kernel allocates for a moment (9p, sysfs files opened to shrink
 * the caches, ...) only ever adds objects, so the minimum is the floor; a
 * leak is in every sample.
 */
#define SLAB_SAMPLES 3

static int slab_snapshot_min(struct slab_snap *s, struct slab_snap *tmp)
{
	int r;

	slab_settle();
	r = slab_snapshot(s);
	for (int k = 1; r == 0 && k < SLAB_SAMPLES; k++) {
		slab_settle();
		r = slab_snapshot(tmp);
		for (unsigned int i = 0; r == 0 && i < s->n; i++)
			for (unsigned int j = 0; j < tmp->n; j++)
				if (!strcmp(s->e[i].name, tmp->e[j].name) &&
				    tmp->e[j].active < s->e[i].active)
					s->e[i].active = tmp->e[j].active;
	}
	return r;
}

static long snap_get(const struct slab_snap *s, const char *name)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (strcmp(s->e[i].name, name) == 0)
			return s->e[i].active;
	return 0;
}

#define SLAB_RETRIES 5

/* Whether after - before is within the per-cache and total tolerances. */
static bool slab_within(const struct slab_snap *before, const struct slab_snap *after,
			long tolerance)
{
	long total = 0;

	for (unsigned int i = 0; i < after->n; i++) {
		long d = after->e[i].active - snap_get(before, after->e[i].name);

		if (d > tolerance)
			return false;
		total += d;
	}
	return total <= 2 * tolerance;
}

/* ---- TAP ---- */

static unsigned int tap_n, tap_failed;

_printf_(2, 3) static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %u - ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		tap_failed++;
}

/* ---- backend process ---- */

static void on_term(int sig)
{
	(void)sig;
	backend_term = 1;
}

/* The answer to a B_ANSWER/B_LATE/B_ABANDON command; its length, 0 if bad. */
static size_t build_response(const uint8_t *cmd, size_t len, uint8_t *rsp)
{
	size_t off, lc, want;

	if (len < 5)
		return 0;
	if (cmd[4] != 0) {
		lc = cmd[4];
		off = 5;
	} else {
		if (len < 7)
			return 0;
		lc = (size_t)cmd[5] << 8 | cmd[6];
		off = 7;
	}
	if (lc < 10 || off + lc > len)
		return 0;
	want = (size_t)cmd[off + 8] << 8 | cmd[off + 9];
	if (want < 16 || want > RSP_MAX - 2)
		return 0;
	put_be64(rsp, fnv1a(cmd, len));
	memcpy(rsp + 8, cmd + off, 8);
	for (size_t i = 16; i < want; i++)
		rsp[i] = filler(cmd + off, i, 0x5a);
	rsp[want] = 0x90;
	rsp[want + 1] = 0x00;
	return want + 2;
}

static int backend_main(unsigned int si, uint64_t seed)
{
	struct slot_counts *c = &sh->c[si];
	uint32_t slot = sh->slot_index[si];
	struct sigaction sa = { .sa_handler = on_term };
	struct vusim_nl *nl = NULL;
	uint64_t rs = seed;
	uint8_t rsp[RSP_MAX];
	int r;

	sigaction(SIGTERM, &sa, NULL);
	r = vusim_nl_open(&nl);
	if (r < 0) {
		fail("backend %u: vusim_nl_open: %s", si, strerror(-r));
		return 1;
	}
	/* The old backend's socket is released before it is reaped, so the
	 * slot should be an orphan already; count it if not. */
	/* A kill may fall between the kernel's ack and our count: the
	 * kernel's backend_lost lies between claims and claim_tries. */
	atomic_fetch_add(&c->claim_tries, 1);
	for (int i = 0;; i++) {
		r = vusim_nl_slot_claim(nl, slot, 0);
		if (r != -EBUSY || i == 100 || backend_term)
			break;
		if (i == 0)
			atomic_fetch_add(&c->claim_busy, 1);
		usleep(10000);
	}
	if (r < 0) {
		if (!backend_term)
			fail("backend %u: claim slot %u: %s (%s)", si, slot,
			     strerror(-r), vusim_nl_error(nl));
		vusim_nl_close(nl);
		return backend_term ? 0 : 1;
	}
	atomic_fetch_add(&c->claims, 1);
	r = vusim_nl_card_insert(nl, slot, atr_cold, sizeof(atr_cold));
	if (r < 0) {
		fail("backend %u: card insert: %s (%s)", si, strerror(-r),
		     vusim_nl_error(nl));
		vusim_nl_close(nl);
		return 1;
	}

	while (!backend_term) {
		struct vusim_request req;
		size_t n;

		r = vusim_nl_recv_request(nl, 100, &req);
		if (r < 0 && r != -EINTR) {
			fail("backend %u: recv: %s", si, strerror(-r));
			break;
		}
		if (r <= 0)
			continue;
		if (req.kind == VUSIM_REQUEST_POWER) {
			if (req.power_op == VUSIM_POWER_OFF)
				continue;
			if (req.power_op == VUSIM_POWER_WARM_RESET)
				r = vusim_nl_power_response(nl, req.slot, req.seq,
							    atr_warm, sizeof(atr_warm));
			else
				r = vusim_nl_power_response(nl, req.slot, req.seq,
							    atr_cold, sizeof(atr_cold));
		} else {
			uint8_t how = req.apdu_len >= 3 ? req.apdu[2] : 0xff;

			if (how == B_NONE || how == B_LATE)
				atomic_store(&c->spare_until_ms, now_ms() +
					     SLOT_TIMEOUT_MS + 400);
			switch (how) {
			case B_NONE:
				continue;
			case B_FAIL:
				r = vusim_nl_request_failed(nl, req.kind, req.slot,
							    req.seq);
				break;
			case B_LATE:
			case B_ANSWER:
			case B_ABANDON:
				n = build_response(req.apdu, req.apdu_len, rsp);
				if (!n) {
					rsp[0] = 0x67;
					rsp[1] = 0x00;
					n = 2;
				}
				if (how == B_LATE) {
					/* The request buffer is reused by the
					 * next call: the answer is built now. */
					sleep_ms(SLOT_TIMEOUT_MS + 100 +
						 rnd_below(&rs, 200));
					if (backend_term)
						break;
				} else if (how == B_ABANDON && rnd_below(&rs, 2)) {
					usleep(rnd_below(&rs, 2000));
				}
				r = vusim_nl_apdu_response(nl, req.slot, req.seq,
							   rsp, n);
				if (r == 0)
					atomic_fetch_add(how == B_LATE ?
							 &c->late_sent : &c->answered, 1);
				break;
			default:
				r = vusim_nl_request_failed(nl, req.kind, req.slot,
							    req.seq);
				break;
			}
		}
		if (r < 0) {
			fail("backend %u: answer: %s", si, strerror(-r));
			break;
		}
	}
	if (backend_term) {
		/* SIGTERM: take the card out cleanly (ENOMEDIUM if a modem
		 * call already saw it go); then the socket closes. */
		r = vusim_nl_card_remove(nl, slot);
		if (r < 0 && r != -ENOMEDIUM)
			fail("backend %u: card remove: %s", si, strerror(-r));
	}
	vusim_nl_close(nl);
	return atomic_load(&sh->failed) ? 1 : 0;
}

/* ---- modem threads ---- */

struct modem {
	unsigned int id;	/* global thread number */
	unsigned int si;	/* slot */
	bool nonblock;
	uint64_t rs;
	uint32_t counter;
	int fd;
};

static int modem_open(struct modem *m)
{
	int fd = vusim_modem_open(sh->slot_index[m->si],
				  m->nonblock ? O_NONBLOCK : 0);

	if (fd < 0) {
		fail("modem %u: open /dev/vusim%u: %s", m->id,
		     sh->slot_index[m->si], strerror(-fd));
		return fd;
	}
	m->fd = fd;
	return 0;
}

/* Waits until the slot has a powered card and a backend again. */
static int wait_card(struct modem *m)
{
	uint64_t deadline = now_ms() + WAIT_CARD_MAX_MS;
	const uint32_t want = VUSIM_STATUS_PRESENT | VUSIM_STATUS_POWERED |
			      VUSIM_STATUS_BACKEND;

	for (;;) {
		struct vusim_status st;
		struct pollfd p = { .fd = m->fd, .events = POLLPRI };
		int r = vusim_modem_status(m->fd, &st);

		if (r < 0) {
			fail("modem %u: VUSIM_IOC_STATUS: %s", m->id, strerror(-r));
			return r;
		}
		if ((st.flags & want) == want)
			return 0;
		if (atomic_load(&sh->stop))
			return 1;
		if (now_ms() > deadline) {
			fail("modem %u: no card in slot %u for %d ms (flags %#x)",
			     m->id, st.slot, WAIT_CARD_MAX_MS, st.flags);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, 200) < 0 && errno != EINTR) {
			fail("modem %u: poll: %s", m->id, strerror(errno));
			return -errno;
		}
	}
}

/* A documented errno of a card gap: wait for the card. */
static int gap(struct modem *m, int err)
{
	struct slot_counts *c = &sh->c[m->si];
	int r;

	atomic_fetch_add(&c->gap_errors, 1);
	atomic_fetch_add(err == ENOMEDIUM ? &c->gap_enomedium :
			 err == ENOTCONN ? &c->gap_enotconn : &c->gap_enolink, 1);
	if (err == ENOLINK) {
		/*
		 * The backend's socket is closing but its release notifier has
		 * not run yet: STATUS still shows the backend and poll()
		 * EPOLLOUT.  Give the notifier a moment instead of spinning.
		 */
		struct pollfd p = { .fd = m->fd, .events = POLLPRI };

		poll(&p, 1, 20);
	}
	r = wait_card(m);
	if (r == 0)
		atomic_fetch_add(&c->recovered, 1);
	return r;
}

static bool gap_errno(int e)
{
	return e == ENOMEDIUM || e == ENOTCONN || e == ENOLINK;
}

/* Builds a command into cmd; returns its length and the wanted response. */
static size_t build_command(struct modem *m, uint8_t how, uint8_t *cmd,
			    size_t *ret_want)
{
	unsigned int roll = rnd_below(&m->rs, 1000);
	size_t lc, want, off;
	uint8_t *data;

	if (roll < 20) {		/* extended case 4 */
		lc = 256 + rnd_below(&m->rs, 2500);
		want = 16 + rnd_below(&m->rs, 3000);
	} else if (roll < 100) {	/* long short APDU */
		lc = 10 + rnd_below(&m->rs, 246);
		want = 16 + rnd_below(&m->rs, 241);
	} else {
		lc = 10 + rnd_below(&m->rs, 40);
		want = 16 + rnd_below(&m->rs, 48);
	}
	cmd[0] = 0x80;
	cmd[1] = 0xe2;
	cmd[2] = how;
	cmd[3] = (uint8_t)m->id;
	if (lc > 255 || want > 256) {
		cmd[4] = 0;
		cmd[5] = lc >> 8;
		cmd[6] = (uint8_t)lc;
		off = 7;
	} else {
		cmd[4] = (uint8_t)lc;
		off = 5;
	}
	data = cmd + off;
	put_be32(data, m->id);
	put_be32(data + 4, ++m->counter);
	data[8] = want >> 8;
	data[9] = (uint8_t)want;
	for (size_t i = 10; i < lc; i++)
		data[i] = filler(data, i, 0xa5);
	off += lc;
	if (off == 5 + lc) {
		cmd[off++] = (uint8_t)want;	/* Le, 00 = 256 */
	} else {
		cmd[off++] = want >> 8;
		cmd[off++] = (uint8_t)want;
	}
	*ret_want = want;
	return off;
}

static bool check_response(const uint8_t *cmd, size_t cmd_len, size_t want,
			   const uint8_t *rsp, size_t n)
{
	const uint8_t *nonce = cmd + (cmd[4] ? 5 : 7);
	uint8_t h[8];

	if (n != want + 2 || rsp[want] != 0x90 || rsp[want + 1] != 0x00)
		return false;
	put_be64(h, fnv1a(cmd, cmd_len));
	if (memcmp(rsp, h, 8) || memcmp(rsp + 8, nonce, 8))
		return false;
	for (size_t i = 16; i < want; i++)
		if (rsp[i] != filler(nonce, i, 0x5a))
			return false;
	return true;
}

/* Power ioctls, mixed in now and then. */
static int modem_power(struct modem *m, bool cycle)
{
	struct slot_counts *c = &sh->c[m->si];
	uint8_t atr[VUSIM_ATR_MAX];
	uint64_t t0 = now_ms();
	size_t atr_len;
	int r;

	if (!cycle) {
		r = vusim_modem_atr(m->fd, VUSIM_IOC_WARM_RESET, atr, &atr_len);
		if (r == 0) {
			if (atr_len != sizeof(atr_warm) ||
			    memcmp(atr, atr_warm, atr_len))
				fail("modem %u: warm reset returned a wrong ATR",
				     m->id);
			else
				atomic_fetch_add(&c->resets, 1);
			return 0;
		}
	} else {
		r = vusim_modem_power_off(m->fd);
		if (r == 0) {
			/* Power on again; a backend lost meanwhile leaves the
			 * next one's card, powered, in its place. */
			for (;;) {
				r = vusim_modem_atr(m->fd, VUSIM_IOC_POWER_ON,
						    atr, &atr_len);
				if (r != -EBUSY && r != -EINTR)
					break;
				usleep(1000);
			}
			if (r == 0) {
				if (atr_len != sizeof(atr_cold) ||
				    memcmp(atr, atr_cold, atr_len))
					fail("modem %u: power on returned a wrong ATR",
					     m->id);
				else
					atomic_fetch_add(&c->power_cycles, 1);
				return 0;
			}
		}
	}
	if (r == -EBUSY) {
		atomic_fetch_add(&c->ebusy, 1);
		return 0;
	}
	if (r == -ETIMEDOUT) {
		/* The backend answers every power request at once. */
		atomic_fetch_add(&c->timeouts, 1);
		atomic_fetch_add(&c->spurious_timeouts, 1);
		note("slot %u modem %u: %s timed out (%lu ms after the start)",
		     sh->slot_index[m->si], m->id, cycle ? "power on" : "warm reset",
		     (unsigned long)(now_ms() - t0));
		return 0;
	}
	if (gap_errno(-r))
		return gap(m, -r);
	atomic_fetch_add(&c->unexpected, 1);
	fail("modem %u: power ioctl: %s", m->id, strerror(-r));
	return r;
}

/* One command: write, (poll,) read, verify. */
static int modem_command(struct modem *m)
{
	struct slot_counts *c = &sh->c[m->si];
	uint8_t cmd[CMD_MAX], rsp[RSP_MAX];
	unsigned int roll = rnd_below(&m->rs, 10000);
	uint8_t how = B_ANSWER;
	uint64_t t0;
	size_t len, want;
	ssize_t n;

	if (roll < 3)
		how = B_LATE;
	else if (roll < 6)
		how = B_NONE;
	else if (roll < 20)
		how = B_FAIL;
	else if (roll < 40)
		how = B_ABANDON;
	else if (roll < 50)
		return modem_power(m, false);
	else if (roll < 55)
		return modem_power(m, true);
	len = build_command(m, how, cmd, &want);

	for (;;) {
		t0 = now_ms();
		n = write(m->fd, cmd, len);
		if (n == (ssize_t)len)
			break;
		if (n >= 0) {
			fail("modem %u: short write %zd", m->id, n);
			return -EIO;
		}
		if (errno == EINTR)
			continue;
		if (errno == EBUSY) {
			/* The other modem's command is outstanding. */
			struct pollfd p = { .fd = m->fd, .events = POLLOUT };

			atomic_fetch_add(&c->ebusy, 1);
			poll(&p, 1, 50);
		} else if (gap_errno(errno)) {
			int r = gap(m, errno);

			if (r)
				return r;
		} else {
			atomic_fetch_add(&c->unexpected, 1);
			fail("modem %u: write: %s", m->id, strerror(errno));
			return -errno;
		}
		if (atomic_load(&sh->stop))
			return 1;
	}
	atomic_fetch_add(&c->writes, 1);

	if (how == B_ABANDON) {
		/* Close mid-command: the backend's answer comes late. */
		close(m->fd);
		m->fd = -1;
		atomic_fetch_add(&c->abandoned, 1);
		return modem_open(m);
	}

	for (;;) {
		if (m->nonblock) {
			struct pollfd p = { .fd = m->fd, .events = POLLIN };

			if (poll(&p, 1, 10000) == 0) {
				fail("modem %u: poll(POLLIN) silent for 10 s", m->id);
				return -ETIMEDOUT;
			}
		}
		n = read(m->fd, rsp, sizeof(rsp));
		if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			break;
	}
	if (n >= 0) {
		if (!check_response(cmd, len, want, rsp, n)) {
			atomic_fetch_add(&c->mismatch, 1);
			fail("modem %u: response %zd bytes does not match its command",
			     m->id, n);
			return -EBADMSG;
		}
		if (how == B_LATE)
			atomic_fetch_add(&c->late_answered, 1);
		atomic_fetch_add(&c->ok, 1);
		atomic_fetch_add(&sh->total_ok, 1);
		return 0;
	}
	switch (errno) {
	case ETIMEDOUT:
		atomic_fetch_add(&c->timeouts, 1);
		if (how != B_LATE && how != B_NONE) {
			atomic_fetch_add(&c->spurious_timeouts, 1);
			note("slot %u modem %u: command P1 %u timed out %lu ms after write, "
			     "%lu claims so far", sh->slot_index[m->si], m->id, how,
			     (unsigned long)(now_ms() - t0),
			     atomic_load(&c->claims));
		}
		return 0;
	case EIO:
		atomic_fetch_add(&c->eio, 1);
		if (how != B_FAIL)
			atomic_fetch_add(&c->eio_unexpected, 1);
		return 0;
	case ENOMEDIUM:
		atomic_fetch_add(&c->read_enomedium, 1);
		return gap(m, ENOMEDIUM);
	default:
		atomic_fetch_add(&c->unexpected, 1);
		fail("modem %u: read: %s", m->id, strerror(errno));
		return -errno;
	}
}

static void *modem_thread(void *arg)
{
	struct modem *m = arg;

	if (modem_open(m) < 0)
		return NULL;
	while (!atomic_load(&sh->stop) && !atomic_load(&sh->failed) &&
	       atomic_load(&sh->total_ok) < sh->target) {
		if (modem_command(m) < 0)
			break;
	}
	if (m->fd >= 0)
		close(m->fd);
	return NULL;
}

static int modem_process(unsigned int p, uint64_t seed)
{
	struct modem m[MAX_SLOTS];
	pthread_t t[MAX_SLOTS];

	for (unsigned int i = 0; i < sh->nslots; i++) {
		m[i] = (struct modem){
			.id = p * MAX_SLOTS + i,
			.si = i,
			.nonblock = (p + i) % 2,
			.rs = seed ^ ((uint64_t)(p * MAX_SLOTS + i + 1) << 32),
			.fd = -1,
		};
		if (pthread_create(&t[i], NULL, modem_thread, &m[i])) {
			fail("modem process %u: pthread_create", p);
			return 1;
		}
	}
	for (unsigned int i = 0; i < sh->nslots; i++)
		pthread_join(t[i], NULL);
	return atomic_load(&sh->failed) ? 1 : 0;
}

/* ---- supervisor ---- */

static pid_t spawn(int (*fn)(unsigned int, uint64_t), unsigned int arg,
		   uint64_t seed)
{
	pid_t pid = fork();

	if (pid == 0) {
		fflush(stdout);
		_exit(fn(arg, seed));
	}
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	return pid;
}

struct kstats {
	uint64_t commands, responses, timeouts, late, failed, resets, abandoned,
		backend_lost;
};

static int sum_stats(const struct vusim_slot_info *info, void *userdata)
{
	struct kstats *k = userdata;

	k->commands += info->commands;
	k->responses += info->responses;
	k->timeouts += info->timeouts;
	k->late += info->late;
	k->failed += info->failed;
	k->resets += info->resets;
	k->abandoned += info->abandoned;
	k->backend_lost += info->backend_lost;
	return 0;
}

#define SUM(field) ({                                                   \
	unsigned long _s = 0;                                           \
	for (unsigned int _i = 0; _i < sh->nslots; _i++)                 \
		_s += atomic_load(&sh->c[_i].field);                    \
	_s;                                                             \
})

static void usage(void)
{
	printf("usage: vusim-stress [--module PATH] [--apdus N] [--slots N] [--modems N]\n"
	       "                    [--seed N] [--slab-tolerance N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "apdus", required_argument, NULL, 'n' },
		{ "slots", required_argument, NULL, 's' },
		{ "modems", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 'S' },
		{ "slab-tolerance", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *module = "kernel/vusim.ko";
	unsigned long apdus = 100000, nslots = 4, nmodems = 2;
	long tolerance = 64;
	uint64_t seed = (uint64_t)time(NULL) * 2654435761u ^ getpid();
	struct slab_snap *before = NULL, *after = NULL, *tmp = NULL;
	pid_t backends[MAX_SLOTS] = { 0 }, modems[MAX_MODEMS] = { 0 };
	struct vusim_nl *nl = NULL;
	struct kstats k = { 0 };
	uint64_t t0, t1, next_kill;
	unsigned long restarts = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': module = optarg; break;
		case 'n': apdus = strtoul(optarg, NULL, 0); break;
		case 's': nslots = strtoul(optarg, NULL, 0); break;
		case 'p': nmodems = strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 't': tolerance = strtol(optarg, NULL, 0); break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (!nslots || nslots > MAX_SLOTS || !nmodems || nmodems > MAX_MODEMS ||
	    !apdus) {
		usage();
		return 2;
	}
	if (geteuid() != 0 || access("/proc/slabinfo", R_OK) < 0) {
		printf("1..0 # SKIP needs root and /proc/slabinfo (run it in the VM)\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	before = calloc(1, sizeof(*before));
	after = calloc(1, sizeof(*after));
	tmp = calloc(1, sizeof(*tmp));
	if (sh == MAP_FAILED || !before || !after || !tmp) {
		printf("not ok 1 - memory\n");
		return 1;
	}
	sh->target = apdus;
	sh->nslots = nslots;
	atomic_flag_clear(&sh->error_taken);
	printf("# seed %" PRIu64 ", %lu slots, %lu modem processes x %lu threads, "
	       "slot timeout %d ms, target %lu APDUs\n",
	       seed, nslots, nmodems, nslots, SLOT_TIMEOUT_MS, apdus);

	/*
	 * One load/unload cycle before the baseline, so that allocations the
	 * kernel makes once on first use (not ours to free) do not count;
	 * a leak of load/unload itself shows again in the measured cycle.
	 */
	r = load_module(module);
	if (r == 0)
		r = unload_module();
	tap(r == 0, "warm-up insmod/rmmod of %s (%s)", module,
	    r ? strerror(-r) : "ok");
	if (r)
		goto out;
	r = slab_snapshot_min(before, tmp);
	tap(r == 0, "slabinfo before insmod: %u caches watched", before->n);

	r = load_module(module);
	tap(r == 0, "insmod %s", module);
	if (r)
		goto out;

	/* Slots added by a handle that then goes: orphans for the backends. */
	r = vusim_nl_open(&nl);
	for (unsigned int i = 0; r == 0 && i < nslots; i++)
		r = vusim_nl_slot_add(nl, 0, SLOT_TIMEOUT_MS, &sh->slot_index[i]);
	tap(r == 0, "%lu slots added (%s)", nslots, r ? strerror(-r) : "ok");
	vusim_nl_close(TAKE_PTR(nl));
	if (r)
		goto out_rmmod;

	t0 = now_ms();
	for (unsigned int p = 0; p < nmodems; p++)
		modems[p] = spawn(modem_process, p, seed + p);
	for (unsigned int i = 0; i < nslots; i++)
		backends[i] = spawn(backend_main, i, seed ^ (i + 100));

	/* Kills are spaced in APDUs, not time, so that a run has about 100
	 * restarts however fast the machine is. */
	next_kill = KILL_EVERY_MIN + rnd_below(&seed, KILL_EVERY_SPREAD);
	while (atomic_load(&sh->total_ok) < apdus && !atomic_load(&sh->failed)) {
		unsigned int si;
		int st;

		sleep_ms(5);
		if (now_ms() - t0 > RUN_MAX_S * 1000) {
			fail("run did not finish in %d s (%lu APDUs)", RUN_MAX_S,
			     atomic_load(&sh->total_ok));
			break;
		}
		for (unsigned int p = 0; p < nmodems; p++) {
			if (modems[p] && waitpid(modems[p], &st, WNOHANG) == modems[p]) {
				modems[p] = 0;
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					fail("modem process %u died (status %#x)", p, st);
			}
		}
		if (atomic_load(&sh->total_ok) < next_kill)
			continue;

		/* Kill a random backend, wait for it, start a new one. */
		si = rnd_below(&seed, nslots);
		if (atomic_load(&sh->c[si].spare_until_ms) > now_ms())
			continue;
		next_kill = atomic_load(&sh->total_ok) + KILL_EVERY_MIN +
			    rnd_below(&seed, KILL_EVERY_SPREAD);
		if (rnd_below(&seed, 4)) {
			kill(backends[si], SIGKILL);
			atomic_fetch_add(&sh->c[si].kills, 1);
		} else {
			kill(backends[si], SIGTERM);
			atomic_fetch_add(&sh->c[si].terms, 1);
		}
		waitpid(backends[si], &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st))
			fail("backend %u exited with %d", si, WEXITSTATUS(st));
		sleep_ms(rnd_below(&seed, 30));
		backends[si] = spawn(backend_main, si, rnd(&seed));
		restarts++;
	}
	atomic_store(&sh->stop, 1);
	for (unsigned int p = 0; p < nmodems; p++) {
		int st;

		if (modems[p] && waitpid(modems[p], &st, 0) == modems[p] &&
		    (!WIFEXITED(st) || WEXITSTATUS(st)))
			fail("modem process %u failed (status %#x)", p, st);
	}
	t1 = now_ms();
	for (unsigned int i = 0; i < nslots; i++) {
		int st;

		kill(backends[i], SIGTERM);
		waitpid(backends[i], &st, 0);
		atomic_fetch_add(&sh->c[i].terms, 1);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail("backend %u failed at the end (status %#x)", i, st);
	}

	{
		unsigned long total = atomic_load(&sh->total_ok);
		double secs = (t1 - t0) / 1000.0;

		printf("# %lu APDUs verified in %.1f s (%.0f APDUs/s), %lu backend restarts\n",
		       total, secs, total / secs, restarts);
		tap(!atomic_load(&sh->failed),
		    "no unexpected event%s%s", atomic_load(&sh->failed) ? ": " : "",
		    sh->first_error);
		tap(total >= apdus, "%lu APDUs verified over %lu slots and %lu threads (>= %lu)",
		    total, nslots, nslots * nmodems, apdus);
		tap(SUM(mismatch) == 0, "every response matched its command (%lu mismatches)",
		    SUM(mismatch));
	}

	printf("# slot  writes      ok  tmo  late lateok eio aband ebusy  gaps recov resets pcyc claims kills terms\n");
	for (unsigned int i = 0; i < nslots; i++) {
		struct slot_counts *s = &sh->c[i];

		printf("# %4u %7lu %7lu %4lu %5lu %6lu %3lu %5lu %5lu %5lu %5lu %6lu %4lu %6lu %5lu %5lu\n",
		       sh->slot_index[i], atomic_load(&s->writes), atomic_load(&s->ok),
		       atomic_load(&s->timeouts), atomic_load(&s->late_sent),
		       atomic_load(&s->late_answered), atomic_load(&s->eio),
		       atomic_load(&s->abandoned), atomic_load(&s->ebusy),
		       atomic_load(&s->gap_errors), atomic_load(&s->recovered),
		       atomic_load(&s->resets), atomic_load(&s->power_cycles),
		       atomic_load(&s->claims), atomic_load(&s->kills),
		       atomic_load(&s->terms));
	}

	printf("# gap errnos: ENOMEDIUM %lu (%lu of them in read), ENOTCONN %lu, ENOLINK %lu\n",
	       SUM(gap_enomedium), SUM(read_enomedium), SUM(gap_enotconn),
	       SUM(gap_enolink));
	for (unsigned int i = 0; i < MIN(atomic_load(&sh->n_notes), (unsigned int)MAX_NOTES); i++)
		printf("# note: %s\n", sh->notes[i]);

	/* The kernel's counters against ours. */
	r = vusim_nl_open(&nl);
	if (r == 0)
		r = vusim_nl_slot_dump(nl, sum_stats, &k);
	tap(r == 0, "slot dump (%s)", r ? strerror(-r) : "ok");
	printf("# kernel: commands %" PRIu64 " responses %" PRIu64 " timeouts %" PRIu64
	       " late %" PRIu64 " failed %" PRIu64 " resets %" PRIu64
	       " abandoned %" PRIu64 " backend_lost %" PRIu64 "\n",
	       k.commands, k.responses, k.timeouts, k.late, k.failed, k.resets,
	       k.abandoned, k.backend_lost);
	tap(k.commands == SUM(writes), "kernel commands %" PRIu64 " == modem writes %lu",
	    k.commands, SUM(writes));
	tap(k.timeouts == SUM(timeouts) && SUM(timeouts) > 0,
	    "kernel timeouts %" PRIu64 " == modem ETIMEDOUT %lu (> 0)", k.timeouts,
	    SUM(timeouts));
	tap(SUM(spurious_timeouts) == 0,
	    "no timeout of a command the backend answered in time (%lu)",
	    SUM(spurious_timeouts));
	tap(k.failed == SUM(eio) && SUM(eio) > 0 && SUM(eio_unexpected) == 0,
	    "kernel failed %" PRIu64 " == modem EIO %lu (> 0), all asked for",
	    k.failed, SUM(eio));
	tap(k.responses >= SUM(ok) && k.responses <= SUM(ok) + SUM(abandoned),
	    "kernel responses %" PRIu64 " within modem ok %lu + abandoned %lu",
	    k.responses, SUM(ok), SUM(abandoned));
	tap((long)k.late >= (long)SUM(late_sent) - (long)SUM(late_answered) &&
	    SUM(late_sent) > 0,
	    "kernel late %" PRIu64 " >= late answers sent %lu - answered in time %lu",
	    k.late, SUM(late_sent), SUM(late_answered));
	tap(k.backend_lost >= SUM(claims) + nslots &&
	    k.backend_lost <= SUM(claim_tries) + nslots,
	    "kernel backend_lost %" PRIu64 " == %lu initial adders + claims "
	    "(%lu acknowledged, %lu sent)",
	    k.backend_lost, nslots, SUM(claims), SUM(claim_tries));
	tap(restarts >= 50 && SUM(claims) <= restarts + nslots,
	    "%lu backend restarts (>= 50), %lu backends claimed an orphan "
	    "(%lu found the old backend still there)",
	    restarts, SUM(claims), SUM(claim_busy));
	tap(SUM(gap_errors) > 0 && SUM(gap_errors) == SUM(recovered),
	    "modems saw %lu gap errors (ENOMEDIUM/ENOTCONN/ENOLINK) and recovered from each",
	    SUM(gap_errors));
	tap(SUM(resets) > 0 && SUM(power_cycles) > 0,
	    "%lu warm resets and %lu power cycles answered with the right ATR",
	    SUM(resets), SUM(power_cycles));

	/* Delete the slots (orphans now), unload, compare slabs. */
	r = 0;
	for (unsigned int i = 0; nl && i < nslots; i++) {
		int d = vusim_nl_slot_del(nl, sh->slot_index[i]);

		if (d < 0 && !r)
			r = d;
	}
	tap(nl && r == 0, "%lu slots deleted (%s)", nslots, r ? strerror(-r) : "ok");
	vusim_nl_close(TAKE_PTR(nl));

out_rmmod:
	r = unload_module();
	tap(r == 0, "rmmod vusim (%s)", r ? strerror(-r) : "ok");
	if (r)
		goto out;
	r = slab_snapshot_min(after, tmp);
	/*
	 * Objects the kernel frees late (RCU callbacks, deferred work) or
	 * allocates meanwhile for others (9p, sysfs) show as a delta that a
	 * second look a moment later no longer has; a leak stays.  Look again,
	 * up to SLAB_RETRIES times a second apart, while over the tolerance.
	 */
	for (int again = 0; r == 0 && again < SLAB_RETRIES && !slab_within(before, after, tolerance); again++) {
		printf("# slab delta over the tolerance: looking again in 1 s\n");
		sleep(1);
		r = slab_snapshot_min(after, tmp);
	}
	if (r == 0) {
		long total = 0, worst = 0;
		const char *worst_name = "none";

		printf("# slab active objects, before insmod -> after rmmod (changed caches):\n");
		for (unsigned int i = 0; i < after->n; i++) {
			long b = snap_get(before, after->e[i].name);
			long d = after->e[i].active - b;

			total += d;
			if (d > worst) {
				worst = d;
				worst_name = after->e[i].name;
			}
			if (d)
				printf("#   %-24s %8ld -> %8ld  %+ld\n",
				       after->e[i].name, b, after->e[i].active, d);
		}
		printf("# slab delta: total %+ld objects, largest %+ld (%s); tolerance %ld per cache, %ld total\n",
		       total, worst, worst_name, tolerance, 2 * tolerance);
		tap(worst <= tolerance && total <= 2 * tolerance,
		    "no memory left behind: slab delta %+ld total, largest %+ld (%s)",
		    total, worst, worst_name);
	} else {
		tap(false, "slabinfo after rmmod: %s", strerror(-r));
	}
out:
	printf("1..%u\n", tap_n);
	free(before);
	free(after);
	free(tmp);
	return tap_failed ? 1 : 0;
}
