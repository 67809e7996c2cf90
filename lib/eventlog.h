/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Measured-boot event logs, parsed and replayed: the one parser of each
 * format, shared by the operator's PVA (which replays a device's logs against
 * its quoted PCRs and checks every measured digest against reference values)
 * and mcimd (which checks its own logs in semi-autonomous validation).
 *
 *  - TCG PC Client Platform Firmware Profile 2.0, crypto-agile log
 *    (section 10.2 event structures, 10.4 EV_NO_ACTION events), as in
 *    /sys/kernel/security/tpm0/binary_bios_measurements: evlog_tcg_replay().
 *  - Linux IMA binary_runtime_measurements, templates ima-ng, ima-sig,
 *    ima-buf and ima (Documentation/security/IMA-templates.rst):
 *    evlog_ima_replay().
 *
 * docs/eventlog.md describes the formats and every replay rule.  Both
 * functions parse the whole log strictly (exact lengths, no trailing bytes),
 * call fn (when not NULL) for each event in order, and fill *ret with the PCR
 * values the log extends, starting from the PCRs' reset values.  They
 * allocate nothing that depends on the input and never read outside
 * [log, log + len).
 *
 * Returns 0 or a negative errno:
 *   -EBADMSG  malformed; why says which event, at which byte offset, and what
 *   -E2BIG    over a limit below (why says which)
 *   -ENOTSUP  bank is not in the log (TCG) or cannot be computed from it (IMA)
 *   -EINVAL   bad argument (NULL log with len > 0, NULL ret)
 *   -ENOMEM   OpenSSL could not allocate a digest context
 *   -ENOENT   (evlog_ima_replay_to() only) no prefix replays to the value
 *   or the callback's nonzero return value, which stops the replay.
 * why (when not NULL and why_size > 0) is always NUL-terminated; it is empty
 * on success.  *ret is written only on success.
 */
#ifndef MCIM_EVENTLOG_H
#define MCIM_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#define EVLOG_PCRS 24
#define EVLOG_DIGEST_MAX 64

/* Limits on untrusted logs (both formats). */
#define EVLOG_MAX_LOG (4u << 20)	 /* bytes of one log */
#define EVLOG_TCG_MAX_EVENTS 65536	 /* events of a TCG log, event 0 included */
#define EVLOG_TCG_MAX_EVENT_DATA (1u << 20) /* eventSize of one event */
#define EVLOG_TCG_MAX_ALGS 16		 /* numberOfAlgorithms in Spec ID Event03 */
#define EVLOG_IMA_MAX_TEMPLATE_NAME 255	 /* template name bytes */
#define EVLOG_IMA_MAX_TEMPLATE_DATA (1u << 20) /* template data of one entry */
#define EVLOG_IMA_MAX_PATH 4096		 /* n-ng field, NUL included (PATH_MAX) */

struct evlog_pcrs {
	TPMI_ALG_HASH bank;
	uint16_t size;		/* digest size of bank */
	uint32_t touched;	/* bit n: PCR n extended (or initialized) by the log */
	uint8_t value[EVLOG_PCRS][EVLOG_DIGEST_MAX];
};

/*
 * One TCG event.  Event 0 (the Spec ID Event03 header, in the SHA-1 format
 * TCG_PCClientPCREvent) has digest NULL and digest_len 0; every other event
 * has its digest in the requested bank.  digest and data point into the log.
 */
struct evlog_tcg_event {
	uint32_t index;		/* event number, 0 = the header */
	uint32_t pcr, type;
	const uint8_t *digest;
	uint16_t digest_len;	/* in the requested bank */
	const uint8_t *data;
	uint32_t data_len;
	size_t offset;		/* of the event in the log */
	bool extended;		/* false for EV_NO_ACTION: not extended */
};

typedef int (*evlog_tcg_fn)(const struct evlog_tcg_event *ev, void *user);

int evlog_tcg_replay(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, evlog_tcg_fn fn,
		     void *user, struct evlog_pcrs *ret, char *why, size_t why_size);

/*
 * The banks a TCG log carries (the Spec ID Event03 header's algorithms, in
 * its order).  Returns the number of banks (at most EVLOG_TCG_MAX_ALGS, of
 * which at most max are stored in ret_banks) or an error as above.
 */
int evlog_tcg_banks(const uint8_t *log, size_t len, TPMI_ALG_HASH *ret_banks, size_t max,
		    char *why, size_t why_size);

/* Name of an event type (TCG PC Client PFP 10.4.1), or NULL when unknown. */
const char *evlog_tcg_type_name(uint32_t type);

/*
 * One IMA entry.  template_name and path are NUL-terminated copies that live
 * until the callback returns; template_digest and file_digest point into the
 * log.  file_alg is the file digest's algorithm (TPM2_ALG_SHA1 for the "ima"
 * template); violation is set for an all-zero template digest (an open-writers
 * or ToMToU violation: the file digest is zero too, the PCR gets 0xff...).
 * The path is the n-ng (or n) field as the kernel logged it: an absolute path
 * as seen from the initial root, or a name such as "boot_aggregate".  For a
 * violation the PCR commits to nothing but the violation itself: its path
 * and file digest are unauthenticated.
 */
struct evlog_ima_entry {
	uint32_t index, pcr;
	const char *template_name;
	const uint8_t *template_digest;	/* SHA-1, as logged */
	uint16_t template_digest_len;
	TPMI_ALG_HASH file_alg;
	const uint8_t *file_digest;
	uint16_t file_digest_len;
	const char *path;
	bool violation;
	size_t offset, size;		/* of the entry in the log */
};

typedef int (*evlog_ima_fn)(const struct evlog_ima_entry *e, void *user);

int evlog_ima_replay(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, evlog_ima_fn fn,
		     void *user, struct evlog_pcrs *ret, char *why, size_t why_size);

/*
 * For a list read after the PCR value it must match (the list grows while
 * it is read: the kernel adds an entry before it extends the PCR): replays
 * the shortest prefix of the log after which PCR pcr equals want (bank's
 * size), and sets *ret_entries (when not NULL) to its number of entries.
 * Entries after that prefix are neither parsed nor handed to fn.  Errors as
 * evlog_ima_replay(), and -ENOENT when no prefix matches (0 entries never
 * do: an empty list is no evidence).
 */
int evlog_ima_replay_to(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, uint32_t pcr,
			const uint8_t *want, evlog_ima_fn fn, void *user, struct evlog_pcrs *ret,
			size_t *ret_entries, char *why, size_t why_size);

/* Digest size of a hash algorithm we can compute (sha1, sha256, sha384,
 * sha512, sm3_256, sha3_*), or 0. */
uint16_t evlog_hash_size(TPMI_ALG_HASH alg);

/* "sha1", "sha256", ... (tpm2-tools' names) <-> TPM2_ALG_*; NULL / 0 when unknown. */
const char *evlog_bank_name(TPMI_ALG_HASH alg);
TPMI_ALG_HASH evlog_bank_from_name(const char *name);

#endif
