// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vusim-modem wait [--for removed|inserted|powered|change] [--timeout MS]:
 * waits with poll(EPOLLPRI) for card state changes and prints each one.
 * removed/inserted/powered wait until that state holds (at once if it holds
 * already); change waits for the next change of any kind.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/vusim.h>

#include "macro.h"

#include "modem.h"

enum wait_for { FOR_CHANGE, FOR_REMOVED, FOR_INSERTED, FOR_POWERED };

static const char *const for_names[] = { "change", "removed", "inserted", "powered" };
static const char *const for_text[] = {
	"a card state change", "the card to be removed", "a card to be inserted",
	"a powered card",
};

static bool holds(enum wait_for w, uint32_t flags)
{
	switch (w) {
	case FOR_REMOVED: return !(flags & VUSIM_STATUS_PRESENT);
	case FOR_INSERTED: return flags & VUSIM_STATUS_PRESENT;
	case FOR_POWERED:
		return (flags & VUSIM_STATUS_PRESENT) && (flags & VUSIM_STATUS_POWERED);
	default: return false;
	}
}

/* Prints what changed between two statuses. */
static void describe(const struct vusim_status *a, const struct vusim_status *b)
{
	uint32_t gone = a->flags & ~b->flags, came = b->flags & ~a->flags;
	bool said = false;

	printf("event: ");
	if (gone & VUSIM_STATUS_BACKEND) {
		printf("the backend went away; ");
		said = true;
	}
	if (came & VUSIM_STATUS_BACKEND) {
		printf("a backend took the slot; ");
		said = true;
	}
	if (gone & VUSIM_STATUS_PRESENT) {
		printf("card removed; ");
		said = true;
	} else if (gone & VUSIM_STATUS_POWERED) {
		printf("card powered off; ");
		said = true;
	}
	if (came & VUSIM_STATUS_PRESENT) {
		printf("card inserted (ATR %u bytes); ", b->atr_len);
		said = true;
	} else if (came & VUSIM_STATUS_POWERED) {
		printf("card powered on; ");
		said = true;
	}
	if (!said)
		printf("card reset (new ATR); ");
	printf("%u state change(s), %u in all\n", b->changes - a->changes, b->changes);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int cmd_wait(struct modem *m, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{}
	};
	enum wait_for w = FOR_CHANGE;
	long timeout_ms = 30000;
	long long deadline;
	struct vusim_status prev, st;
	char *end;
	int c;

	if (m->json) {
		fprintf(stderr, "vusim-modem: wait has no --json output\n");
		return EXIT_USAGE;
	}
	while ((c = getopt_long(argc, argv, "f:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (w = 0; w < ARRAY_SIZE(for_names); w++)
				if (!strcmp(optarg, for_names[w]))
					break;
			if (w == ARRAY_SIZE(for_names)) {
				fprintf(stderr, "vusim-modem: wait --for: removed, inserted, powered or change\n");
				return EXIT_USAGE;
			}
			break;
		case 't':
			errno = 0;
			timeout_ms = strtol(optarg, &end, 10);
			if (errno || *end || timeout_ms < 0) {
				fprintf(stderr, "vusim-modem: wait --timeout: milliseconds, not %s\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vusim-modem: wait: unexpected argument %s\n", argv[optind]);
		return EXIT_USAGE;
	}

	/* STATUS also clears our pending EPOLLPRI: later ones are news. */
	if (ioctl(m->fd, VUSIM_IOC_STATUS, &prev) < 0)
		return modem_fail(m, "VUSIM_IOC_STATUS on", errno);
	if (holds(w, prev.flags)) {
		printf("%s: already so (%s)\n", m->path, for_text[w]);
		return EXIT_OK;
	}
	printf("%s: waiting up to %ld ms for %s\n", m->path, timeout_ms, for_text[w]);
	fflush(stdout);
	deadline = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = { .fd = m->fd, .events = POLLPRI };
		long long left = deadline - now_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return modem_fail(m, "poll on", errno);
		if (n == 0) {
			printf("%s: timed out: no %s within %ld ms\n", m->path,
			       w == FOR_CHANGE ? "change" : for_names[w], timeout_ms);
			return EXIT_TIMEOUT;
		}
		if (p.revents & (POLLHUP | POLLERR)) {
			printf("event: the slot was deleted\n");
			return w == FOR_REMOVED ? EXIT_OK : modem_fail(m, "poll on", ENODEV);
		}
		if (ioctl(m->fd, VUSIM_IOC_STATUS, &st) < 0)
			return modem_fail(m, "VUSIM_IOC_STATUS on", errno);
		if (st.changes == prev.changes)
			continue;
		describe(&prev, &st);
		fflush(stdout);
		prev = st;
		if (w == FOR_CHANGE || holds(w, st.flags))
			return EXIT_OK;
	}
}
