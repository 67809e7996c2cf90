// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vusim-backend: serves a card to a vusim.ko slot.
 *
 * Adds a slot (or claims an orphaned one), inserts the card, then answers
 * the APDU and power requests the kernel forwards over generic netlink
 * (kernel/uapi/linux/vusim.h) from the card implementation (card.h).
 * SIGTERM or SIGINT removes the card and exits.  See --help and README.md.
 *
 * One thread, one poll() loop over the netlink socket and a signalfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hex.h"
#include "macro.h"
#include "vusim-nl.h"

#include "card.h"
#include "daemon/usim/usim.h"

/* Exit codes, documented in --help and README.md. */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,	/* the driver or the netlink socket failed */
	EXIT_USAGE = 2,
	EXIT_CARD = 3,		/* the profile did not load */
};

struct backend {
	struct vusim_nl *nl;
	struct card *card;
	uint32_t slot;
	bool verbose;
	bool powered;
	unsigned long apdus;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vusim-backend [OPTIONS] --profile PROFILE.json\n"
		"\n"
		"Serves a USIM to a vusim.ko card slot: adds a slot (/dev/vusimN) or\n"
		"claims an orphaned one, inserts the card and answers the APDUs and the\n"
		"power/reset requests of the modem side with the mcim USIM engine on\n"
		"PROFILE.json (docs/profile-format.md).  SIGTERM or SIGINT removes the\n"
		"card and exits; the slot then stays, orphaned, for the next backend\n"
		"(vusim-backend --slot N), unless --delete-on-exit.  Needs CAP_NET_ADMIN.\n"
		"\n"
		"Options:\n"
		"  -p, --profile FILE     the JSON profile of the card (required)\n"
		"  -s, --slot N           claim orphaned slot N instead of adding a slot\n"
		"  -t, --timeout MS       the new slot's answer timeout (10-600000 ms;\n"
		"                         default: the module's)\n"
		"  -d, --delete-on-exit   delete the slot when this backend exits\n"
		"  -w, --slot-file FILE   write the slot number to FILE once the card is in\n"
		"  -T, --transport MODE   apdu (default): answer whole APDUs as a modem\n"
		"                         hands them over, data at once, never 6CXX;\n"
		"                         t0: T=0 TPDUs, 61XX/GET RESPONSE and 6CXX\n"
		"                         (docs/transport.md)\n"
		"  -v, --verbose          print every request and answer\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n"
		"\n"
		"Exit status: 0 stopped by a signal after removing the card; 1 the\n"
		"driver or netlink failed (the message says why); 2 usage error;\n"
		"3 the profile did not load.\n");
}

static void print_hex(const char *what, const uint8_t *p, size_t n)
{
	char buf[2 * 64 + 1];

	hex_encode(p, MIN(n, (size_t)64), buf);
	printf("vusim-backend: %s %s%s (%zu bytes)\n", what, buf,
	       n > 64 ? "..." : "", n);
}

static int on_apdu(void *userdata, uint32_t slot, const uint8_t *cmd,
		   size_t cmd_len, uint8_t *rsp, size_t *rsp_len)
{
	struct backend *b = userdata;
	size_t changes = 0;
	int r;

	(void)slot;
	/* A full extended response fits: the engine chains the rest (61xx). */
	r = b->card->ops->apdu(b->card, cmd, cmd_len, rsp, VUSIM_APDU_MAX,
			       rsp_len, &changes);
	b->apdus++;
	if (r < 0) {
		fprintf(stderr, "vusim-backend: the card failed on a command: %s\n",
			strerror(-r));
		return r;
	}
	if (b->verbose) {
		print_hex("command ", cmd, cmd_len);
		print_hex("response", rsp, *rsp_len);
		if (changes)
			printf("vusim-backend: the command changed %zu item(s) of the card "
			       "(kept in memory only)\n", changes);
	}
	return 0;
}

static const char *power_op_name(uint8_t op)
{
	switch (op) {
	case VUSIM_POWER_ON: return "power on (cold reset)";
	case VUSIM_POWER_OFF: return "power off";
	case VUSIM_POWER_WARM_RESET: return "warm reset";
	case VUSIM_POWER_COLD_RESET: return "cold reset";
	default: return "unknown power request";
	}
}

static int on_power(void *userdata, uint32_t slot, uint8_t op, uint8_t *atr,
		    size_t *atr_len)
{
	struct backend *b = userdata;
	int r;

	(void)slot;
	if (b->verbose)
		printf("vusim-backend: %s requested\n", power_op_name(op));
	switch (op) {
	case VUSIM_POWER_OFF:
		b->card->ops->power_off(b->card);
		b->powered = false;
		return 0;
	case VUSIM_POWER_ON:
	case VUSIM_POWER_COLD_RESET:
	case VUSIM_POWER_WARM_RESET:
		r = b->card->ops->reset(b->card, op == VUSIM_POWER_WARM_RESET,
					atr, VUSIM_ATR_MAX, atr_len);
		if (r < 0) {
			fprintf(stderr, "vusim-backend: %s failed: %s\n",
				power_op_name(op), strerror(-r));
			return r;
		}
		b->powered = true;
		if (b->verbose)
			print_hex("answer to reset", atr, *atr_len);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int write_slot_file(const char *path, uint32_t slot)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%u\n", slot);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}

/* Explains the errno of a slot management call, with the kernel's reason. */
static void report(struct backend *b, const char *what, int r)
{
	const char *why = vusim_nl_error(b->nl);
	const char *hint = "";

	if (r == -EPERM)
		hint = " (needs CAP_NET_ADMIN)";
	else if (r == -EBUSY && strstr(what, "claim"))
		hint = " (the slot still has a backend)";
	else if (r == -ENOENT)
		hint = " (no such slot)";
	else if (r == -ENOSPC)
		hint = " (every slot the module allows exists: max_slots)";
	/* The kernel's extack reason when it gave one, else our hint. */
	fprintf(stderr, "vusim-backend: %s: %s%s%s%s\n", what, strerror(-r),
		*why ? " (" : hint, why, *why ? ")" : "");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "slot", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "delete-on-exit", no_argument, NULL, 'd' },
		{ "slot-file", required_argument, NULL, 'w' },
		{ "transport", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	static const struct vusim_backend_ops ops = {
		.apdu = on_apdu,
		.power = on_power,
	};
	struct backend b = { .powered = true };
	const char *profile = NULL, *slot_file = NULL;
	enum usim_transport transport = USIM_TRANSPORT_APDU;
	long claim = -1, timeout_ms = 0;
	uint32_t flags = 0;
	uint8_t atr[VUSIM_ATR_MAX];
	size_t atr_len;
	char why[256] = "";
	_cleanup_close_ int sfd = -1;
	sigset_t mask;
	int c, r, ret = EXIT_RUNTIME;
	char *end;

	while ((c = getopt_long(argc, argv, "p:s:t:dw:T:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			profile = optarg;
			break;
		case 's':
			errno = 0;
			claim = strtol(optarg, &end, 10);
			if (errno || *end || claim < 0 || claim > 255) {
				fprintf(stderr, "vusim-backend: --slot: not a slot number: %s\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			errno = 0;
			timeout_ms = strtol(optarg, &end, 10);
			if (errno || *end || timeout_ms < VUSIM_TIMEOUT_MIN_MS ||
			    timeout_ms > VUSIM_TIMEOUT_MAX_MS) {
				fprintf(stderr, "vusim-backend: --timeout: %s is not %d..%d ms\n",
					optarg, VUSIM_TIMEOUT_MIN_MS, VUSIM_TIMEOUT_MAX_MS);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			flags |= VUSIM_SLOT_F_DELETE_ON_CLOSE;
			break;
		case 'w':
			slot_file = optarg;
			break;
		case 'T':
			if (usim_transport_from_string(optarg, &transport) < 0) {
				fprintf(stderr, "vusim-backend: --transport: %s is neither t0 nor apdu\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			b.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("vusim-backend %s\n", MCIM_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !profile) {
		fprintf(stderr, "vusim-backend: %s\n", optind < argc ?
			"unexpected argument (see --help)" :
			"--profile FILE is required (see --help)");
		return EXIT_USAGE;
	}
	if (claim >= 0 && timeout_ms) {
		fprintf(stderr, "vusim-backend: --timeout applies to a new slot, not with --slot\n");
		return EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = usim_card_new(profile, (int)transport, &b.card, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "vusim-backend: %s\n", why);
		return EXIT_CARD;
	}
	if (b.verbose)
		printf("vusim-backend: card: %s\n", b.card->ops->describe(b.card));

	/* SIGTERM and SIGINT arrive through the event loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		fprintf(stderr, "vusim-backend: signalfd: %s\n", strerror(errno));
		goto out;
	}

	r = vusim_nl_open(&b.nl);
	if (r < 0) {
		fprintf(stderr, "vusim-backend: cannot reach the vusim driver: %s%s\n",
			strerror(-r), r == -ENOENT ?
			" (generic netlink family \"vusim\" not found: is vusim.ko loaded?)" : "");
		goto out;
	}
	if (claim >= 0) {
		b.slot = (uint32_t)claim;
		r = vusim_nl_slot_claim(b.nl, b.slot, flags);
		if (r < 0) {
			report(&b, "claim slot", r);
			goto out;
		}
		if (b.verbose)
			printf("vusim-backend: claimed orphaned slot %u (/dev/vusim%u)\n",
			       b.slot, b.slot);
	} else {
		r = vusim_nl_slot_add(b.nl, flags, (uint32_t)timeout_ms, &b.slot);
		if (r < 0) {
			report(&b, "add a slot", r);
			goto out;
		}
		if (b.verbose)
			printf("vusim-backend: added slot %u (/dev/vusim%u)%s\n", b.slot,
			       b.slot, flags ? ", deleted when this backend exits" : "");
	}

	/* Insertion: the card is powered with its cold ATR (ISO/IEC 7816-3 6.2.2). */
	r = b.card->ops->reset(b.card, false, atr, sizeof(atr), &atr_len);
	if (r < 0) {
		fprintf(stderr, "vusim-backend: the card gave no ATR: %s\n", strerror(-r));
		goto out;
	}
	r = vusim_nl_card_insert(b.nl, b.slot, atr, atr_len);
	if (r < 0) {
		report(&b, "insert the card", r);
		goto out;
	}
	if (b.verbose)
		print_hex("card inserted, ATR", atr, atr_len);
	if (slot_file) {
		r = write_slot_file(slot_file, b.slot);
		if (r < 0) {
			fprintf(stderr, "vusim-backend: %s: %s\n", slot_file, strerror(-r));
			goto out;
		}
	}
	printf("vusim-backend: serving slot %u (/dev/vusim%u)\n", b.slot, b.slot);

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = vusim_nl_fd(b.nl), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vusim-backend: poll: %s\n", strerror(errno));
			goto out;
		}
		if (p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			printf("vusim-backend: %s: removing the card from slot %u\n",
			       strsignal((int)si.ssi_signo), b.slot);
			r = vusim_nl_card_remove(b.nl, b.slot);
			if (r < 0 && r != -ENOMEDIUM) {
				report(&b, "remove the card", r);
				goto out;
			}
			printf("vusim-backend: card removed after %lu APDUs; exiting\n",
			       b.apdus);
			ret = EXIT_OK;
			goto out;
		}
		if (p[0].revents) {
			r = vusim_nl_serve(b.nl, &ops, &b, 0);
			if (r < 0) {
				fprintf(stderr, "vusim-backend: serving requests: %s\n",
					strerror(-r));
				goto out;
			}
		}
	}
out:
	/* Closing the socket orphans (or deletes) the slot. */
	vusim_nl_close(b.nl);
	card_free(b.card);
	return ret;
}
