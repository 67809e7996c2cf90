// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * evlog-replay: replays an event log with lib/eventlog and prints the PCR
 * values it extends, one "BANK:PCR HEX" line each (the format of
 * tests/lib/evlog-build and of the scripts that compare them with
 * tpm2_pcrread and tpm2_eventlog).
 *
 *   evlog-replay tcg|ima FILE BANK...        every PCR the log touches
 *   evlog-replay ima FILE BANK --match HEX   the prefix of the log whose
 *                                            PCR 10 equals HEX (the IMA log
 *                                            grows while it is read)
 *   evlog-replay -v tcg|ima FILE BANK        also each event
 *
 * FILE may be a securityfs file (its size reads as 0): it is read to its
 * end, at most EVLOG_MAX_LOG + 1 bytes.  Exit 0, 1 on a replay error (the
 * reason on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eventlog.h"
#include "hex.h"
#include "macro.h"

static int read_all(const char *path, uint8_t **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = (size_t)EVLOG_MAX_LOG + 1, len = 0;
	_cleanup_free_ uint8_t *buf = malloc(cap);
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (!buf)
		return -ENOMEM;
	while (len < cap && (n = read(fd, buf + len, cap - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		len += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int print_tcg(const struct evlog_tcg_event *ev, void *user)
{
	const char *name = evlog_tcg_type_name(ev->type);
	char hex[2 * EVLOG_DIGEST_MAX + 1] = "-";

	(void)user;
	if (ev->digest)
		hex_encode(ev->digest, ev->digest_len, hex);
	printf("# event %u pcr %u %s (0x%x) %s %u bytes%s\n", ev->index, ev->pcr,
	       name ? name : "?", ev->type, hex, ev->data_len, ev->extended ? "" : " (not extended)");
	return 0;
}

static int print_ima(const struct evlog_ima_entry *e, void *user)
{
	char hex[2 * EVLOG_DIGEST_MAX + 1];

	(void)user;
	hex_encode(e->file_digest, e->file_digest_len, hex);
	printf("# entry %u pcr %u %s %s:%s %s%s\n", e->index, e->pcr, e->template_name,
	       evlog_bank_name(e->file_alg), hex, e->path, e->violation ? " (violation)" : "");
	return 0;
}

static void print_pcrs(const struct evlog_pcrs *p)
{
	char hex[2 * EVLOG_DIGEST_MAX + 1];

	for (unsigned i = 0; i < EVLOG_PCRS; i++) {
		if (!(p->touched & (UINT32_C(1) << i)))
			continue;
		hex_encode(p->value[i], p->size, hex);
		printf("%s:%u %s\n", evlog_bank_name(p->bank), i, hex);
	}
}

/* The prefix of the IMA log that replays PCR 10 to want. */
static int match_prefix(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, const char *want_hex)
{
	uint8_t want[EVLOG_DIGEST_MAX];
	struct evlog_pcrs p;
	size_t entries;
	char why[256];
	int n, r;

	n = hex_decode(want_hex, want, sizeof(want));
	if (n != (int)evlog_hash_size(bank)) {
		fprintf(stderr, "evlog-replay: --match needs a %s digest\n", evlog_bank_name(bank));
		return 2;
	}
	r = evlog_ima_replay_to(log, len, bank, 10, want, NULL, NULL, &p, &entries, why,
				sizeof(why));
	if (r < 0) {
		fprintf(stderr, "evlog-replay: %s\n", why);
		return 1;
	}
	printf("# the first %zu entries (of a %zu-byte list) replay PCR 10\n", entries, len);
	print_pcrs(&p);
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_free_ uint8_t *log = NULL;
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	const char *match = NULL;
	size_t len = 0;
	bool ima;
	int r, nbanks;

	argv += verbose;
	argc -= verbose;
	if (argc >= 6 && strcmp(argv[argc - 2], "--match") == 0) {
		match = argv[argc - 1];
		argc -= 2;
	}
	if (argc < 4 || (strcmp(argv[1], "tcg") && strcmp(argv[1], "ima")) ||
	    (match && (argc != 4 || strcmp(argv[1], "ima")))) {
		fprintf(stderr, "usage: evlog-replay [-v] tcg|ima FILE BANK... | ima FILE BANK --match HEX\n");
		return 2;
	}
	ima = strcmp(argv[1], "ima") == 0;
	r = read_all(argv[2], &log, &len);
	if (r < 0) {
		fprintf(stderr, "evlog-replay: %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	nbanks = argc - 3;
	for (int i = 0; i < nbanks; i++) {
		TPMI_ALG_HASH bank = evlog_bank_from_name(argv[3 + i]);
		struct evlog_pcrs p;
		char why[256];

		if (!bank) {
			fprintf(stderr, "evlog-replay: unknown bank %s\n", argv[3 + i]);
			return 2;
		}
		if (match)
			return match_prefix(log, len, bank, match);
		if (ima)
			r = evlog_ima_replay(log, len, bank, verbose && i == 0 ? print_ima : NULL,
					     NULL, &p, why, sizeof(why));
		else
			r = evlog_tcg_replay(log, len, bank, verbose && i == 0 ? print_tcg : NULL,
					     NULL, &p, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "evlog-replay: %s: %s (%s)\n", argv[2], why, strerror(-r));
			return 1;
		}
		print_pcrs(&p);
	}
	return 0;
}
