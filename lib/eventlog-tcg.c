// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The TCG PC Client crypto-agile event log (TCG PC Client Platform Firmware
 * Profile Specification 2.0, section 10.2 "Event Log Structures" and 10.4
 * "Event Types"; docs/eventlog.md):
 *
 *   event 0   TCG_PCClientPCREvent (10.2.1, SHA-1 format): PCRIndex 0,
 *             EventType EV_NO_ACTION, 20 zero bytes, EventSize, Event =
 *             TCG_EfiSpecIDEvent "Spec ID Event03" (10.4.5.1) naming every
 *             algorithm of the log and its digest size
 *   event 1.. TCG_PCR_EVENT2 (10.2.2): PCRIndex, EventType, TPML_DIGEST_VALUES
 *             (count, then TPMI_ALG_HASH + digest for each), EventSize, Event
 *
 * All integers are little endian.  Every event carries one digest per
 * algorithm of the header; EV_NO_ACTION events are not extended (10.4.5);
 * the StartupLocality event (10.4.5.3) sets PCR 0's initial value.
 */
#include <errno.h>
#include <string.h>

#include "eventlog-internal.h"

#define EV_NO_ACTION 0x00000003u
#define SPEC_ID_SIGNATURE "Spec ID Event03"	/* 16 bytes with the NUL */
#define LOCALITY_SIGNATURE "StartupLocality"	/* 16 bytes with the NUL */

struct tcg_header {
	uint32_t nalgs;
	struct {
		TPMI_ALG_HASH alg;
		uint16_t size;
	} algs[EVLOG_TCG_MAX_ALGS];
	size_t end;		/* offset of event 1 */
	uint32_t data_len;
};

#define FAIL(err, idx, off, fmt, ...)                                                  \
	why_fail(why, why_size, err, "event %u at offset %zu: " fmt, (unsigned)(idx), \
		   (size_t)(off), ##__VA_ARGS__)

/* Spec ID Event03 (10.4.5.1), the data of event 0. */
static int parse_spec_id(const uint8_t *d, uint32_t n, size_t base, struct tcg_header *h,
			 char *why, size_t why_size)
{
	uint32_t off = 24;	/* signature[16], platformClass, minor, major, errata, uintnSize */

	if (n < 28 || memcmp(d, SPEC_ID_SIGNATURE, 16) != 0)
		return FAIL(-EBADMSG, 0, base, "not a crypto-agile log (no \"%s\" header)",
			    SPEC_ID_SIGNATURE);
	if (d[21] != 2)
		return FAIL(-EBADMSG, 0, base + 21, "specVersionMajor %u, expected 2", d[21]);
	if (d[23] != 1 && d[23] != 2)
		return FAIL(-EBADMSG, 0, base + 23, "uintnSize %u, expected 1 or 2", d[23]);
	h->nalgs = evlog_le32(d + off);
	if (h->nalgs == 0 || h->nalgs > EVLOG_TCG_MAX_ALGS)
		return FAIL(h->nalgs ? -E2BIG : -EBADMSG, 0, base + off,
			    "numberOfAlgorithms %u (1..%u)", h->nalgs, EVLOG_TCG_MAX_ALGS);
	off += 4;
	if ((uint64_t)n - off < (uint64_t)h->nalgs * 4 + 1)
		return FAIL(-EBADMSG, 0, base + off, "Spec ID event truncated in its algorithms");
	for (uint32_t i = 0; i < h->nalgs; i++, off += 4) {
		TPMI_ALG_HASH alg = evlog_le16(d + off);
		uint16_t size = evlog_le16(d + off + 2), known = evlog_hash_size(alg);

		if (size == 0 || size > EVLOG_DIGEST_MAX || (known && size != known))
			return FAIL(-EBADMSG, 0, base + off + 2,
				    "algorithm 0x%04x with digest size %u", alg, size);
		for (uint32_t j = 0; j < i; j++)
			if (h->algs[j].alg == alg)
				return FAIL(-EBADMSG, 0, base + off,
					    "algorithm 0x%04x listed twice", alg);
		h->algs[i].alg = alg;
		h->algs[i].size = size;
	}
	/* vendorInfoSize, vendorInfo: the rest of the event, exactly */
	if (n - off - 1 != d[off])
		return FAIL(-EBADMSG, 0, base + off,
			    "vendorInfoSize %u but %u bytes left in the Spec ID event", d[off],
			    n - off - 1);
	return 0;
}

static int parse_header(const uint8_t *log, size_t len, struct tcg_header *h, char *why,
			size_t why_size)
{
	static const uint8_t zero[20];
	uint32_t n;

	memset(h, 0, sizeof(*h));
	if (!log && len)
		return -EINVAL;
	if (len > EVLOG_MAX_LOG)
		return why_fail(why, why_size, -E2BIG, "log of %zu bytes, the limit is %u",
				  len, EVLOG_MAX_LOG);
	if (len < 32)
		return FAIL(-EBADMSG, 0, 0, "%zu bytes, too short for the header event", len);
	if (evlog_le32(log) != 0 || evlog_le32(log + 4) != EV_NO_ACTION)
		return FAIL(-EBADMSG, 0, 0, "PCR %u type 0x%x, expected PCR 0 EV_NO_ACTION",
			    evlog_le32(log), evlog_le32(log + 4));
	if (memcmp(log + 8, zero, sizeof(zero)) != 0)
		return FAIL(-EBADMSG, 0, 8, "header digest is not zero");
	n = evlog_le32(log + 28);
	if (n > EVLOG_TCG_MAX_EVENT_DATA)
		return FAIL(-E2BIG, 0, 28, "eventSize %u over the limit %u", n,
			    EVLOG_TCG_MAX_EVENT_DATA);
	if (n > len - 32)
		return FAIL(-EBADMSG, 0, 28, "eventSize %u but %zu bytes left", n, len - 32);
	h->data_len = n;
	h->end = 32 + (size_t)n;
	return parse_spec_id(log + 32, n, 32, h, why, why_size);
}

int evlog_tcg_banks(const uint8_t *log, size_t len, TPMI_ALG_HASH *ret_banks, size_t max,
		    char *why, size_t why_size)
{
	struct tcg_header h;
	int r;

	if (why && why_size)
		why[0] = '\0';
	if (!ret_banks && max)
		return -EINVAL;
	r = parse_header(log, len, &h, why, why_size);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < h.nalgs && i < max; i++)
		ret_banks[i] = h.algs[i].alg;
	return (int)h.nalgs;
}

/* StartupLocality (10.4.5.3): an EV_NO_ACTION event in PCR 0 whose data is
 * the signature and one byte, the locality TPM2_Startup ran at; PCR 0 then
 * starts at 0...0L instead of 0.  Returns 1 when ev is one, 0 when not. */
static int startup_locality(const struct evlog_tcg_event *ev, struct evlog_pcrs *p,
			    bool *seen, char *why, size_t why_size)
{
	if (ev->data_len < 16 || memcmp(ev->data, LOCALITY_SIGNATURE, 16) != 0)
		return 0;
	if (ev->pcr != 0 || ev->data_len != 17)
		return FAIL(-EBADMSG, ev->index, ev->offset,
			    "StartupLocality event in PCR %u with %u bytes of data", ev->pcr,
			    ev->data_len);
	if (*seen || (p->touched & 1))
		return FAIL(-EBADMSG, ev->index, ev->offset,
			    "StartupLocality event after PCR 0 was %s",
			    *seen ? "initialized" : "extended");
	/* TPM2_Startup runs at locality 0 or 3; 4 is an H-CRTM's */
	if (ev->data[16] != 0 && ev->data[16] != 3 && ev->data[16] != 4)
		return FAIL(-EBADMSG, ev->index, ev->offset, "StartupLocality %u (0, 3 or 4)",
			    ev->data[16]);
	*seen = true;
	p->value[0][p->size - 1] = ev->data[16];
	p->touched |= 1;
	return 1;
}

int evlog_tcg_replay(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, evlog_tcg_fn fn,
		     void *user, struct evlog_pcrs *ret, char *why, size_t why_size)
{
	struct evlog_hash hash = {};
	struct evlog_pcrs pcrs;
	struct tcg_header h;
	struct evlog_tcg_event ev = {};
	bool locality_seen = false, have_bank = false;
	size_t off;
	uint32_t idx;
	int r;

	if (why && why_size)
		why[0] = '\0';
	if (!ret)
		return -EINVAL;
	r = parse_header(log, len, &h, why, why_size);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < h.nalgs; i++)
		have_bank |= h.algs[i].alg == bank;
	if (!have_bank)
		return why_fail(why, why_size, -ENOTSUP, "bank 0x%04x is not in the log", bank);
	r = evlog_hash_init(&hash, bank);
	if (r < 0)
		return why_fail(why, why_size, r, "bank 0x%04x cannot be computed", bank);
	evlog_pcrs_init(&pcrs, bank, hash.size);

	ev.index = 0;
	ev.type = EV_NO_ACTION;
	ev.data = log + 32;
	ev.data_len = h.data_len;
	if (fn) {
		r = fn(&ev, user);
		if (r)
			goto out;
	}

	for (off = h.end, idx = 1; off < len; idx++) {
		size_t start = off;
		uint32_t count, n;
		bool seen[EVLOG_TCG_MAX_ALGS] = {};

		if (idx >= EVLOG_TCG_MAX_EVENTS) {
			r = FAIL(-E2BIG, idx, off, "more than %u events", EVLOG_TCG_MAX_EVENTS);
			goto out;
		}
		memset(&ev, 0, sizeof(ev));
		ev.index = idx;
		ev.offset = start;
		if (len - off < 12) {
			r = FAIL(-EBADMSG, idx, off, "truncated in its header (%zu bytes left)",
				 len - off);
			goto out;
		}
		ev.pcr = evlog_le32(log + off);
		ev.type = evlog_le32(log + off + 4);
		count = evlog_le32(log + off + 8);
		if (ev.pcr >= EVLOG_PCRS) {
			r = FAIL(-EBADMSG, idx, off, "PCR index %u", ev.pcr);
			goto out;
		}
		if (count != h.nalgs) {
			r = FAIL(-EBADMSG, idx, off + 8, "%u digests, the header declares %u",
				 count, h.nalgs);
			goto out;
		}
		off += 12;
		for (uint32_t i = 0; i < count; i++) {
			TPMI_ALG_HASH alg;
			uint32_t k;

			if (len - off < 2) {
				r = FAIL(-EBADMSG, idx, off, "truncated in digest %u", i);
				goto out;
			}
			alg = evlog_le16(log + off);
			for (k = 0; k < h.nalgs && h.algs[k].alg != alg; k++)
				;
			if (k == h.nalgs) {
				r = FAIL(-EBADMSG, idx, off,
					 "digest algorithm 0x%04x is not in the header", alg);
				goto out;
			}
			if (seen[k]) {
				r = FAIL(-EBADMSG, idx, off, "two digests of algorithm 0x%04x", alg);
				goto out;
			}
			seen[k] = true;
			off += 2;
			if (len - off < h.algs[k].size) {
				r = FAIL(-EBADMSG, idx, off, "truncated in its 0x%04x digest", alg);
				goto out;
			}
			if (alg == bank) {
				ev.digest = log + off;
				ev.digest_len = h.algs[k].size;
			}
			off += h.algs[k].size;
		}
		if (len - off < 4) {
			r = FAIL(-EBADMSG, idx, off, "truncated before eventSize");
			goto out;
		}
		n = evlog_le32(log + off);
		if (n > EVLOG_TCG_MAX_EVENT_DATA) {
			r = FAIL(-E2BIG, idx, off, "eventSize %u over the limit %u", n,
				 EVLOG_TCG_MAX_EVENT_DATA);
			goto out;
		}
		off += 4;
		if (n > len - off) {
			r = FAIL(-EBADMSG, idx, off - 4, "eventSize %u but %zu bytes left", n,
				 len - off);
			goto out;
		}
		ev.data = log + off;
		ev.data_len = n;
		off += n;
		ev.extended = ev.type != EV_NO_ACTION;

		if (!ev.extended) {
			r = startup_locality(&ev, &pcrs, &locality_seen, why, why_size);
			if (r < 0)
				goto out;
		}
		if (fn) {
			r = fn(&ev, user);
			if (r)
				goto out;
		}
		if (ev.extended) {
			r = evlog_extend(&hash, &pcrs, ev.pcr, ev.digest);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
	*ret = pcrs;
out:
	evlog_hash_done(&hash);
	return r;
}

const char *evlog_tcg_type_name(uint32_t type)
{
	/* TCG PC Client PFP 2.0 10.4.1 Table 9 (events) and the UEFI events */
	static const struct {
		uint32_t type;
		const char *name;
	} names[] = {
		{ 0x00000000, "EV_PREBOOT_CERT" },
		{ 0x00000001, "EV_POST_CODE" },
		{ 0x00000002, "EV_UNUSED" },
		{ 0x00000003, "EV_NO_ACTION" },
		{ 0x00000004, "EV_SEPARATOR" },
		{ 0x00000005, "EV_ACTION" },
		{ 0x00000006, "EV_EVENT_TAG" },
		{ 0x00000007, "EV_S_CRTM_CONTENTS" },
		{ 0x00000008, "EV_S_CRTM_VERSION" },
		{ 0x00000009, "EV_CPU_MICROCODE" },
		{ 0x0000000a, "EV_PLATFORM_CONFIG_FLAGS" },
		{ 0x0000000b, "EV_TABLE_OF_DEVICES" },
		{ 0x0000000c, "EV_COMPACT_HASH" },
		{ 0x0000000d, "EV_IPL" },
		{ 0x0000000e, "EV_IPL_PARTITION_DATA" },
		{ 0x0000000f, "EV_NONHOST_CODE" },
		{ 0x00000010, "EV_NONHOST_CONFIG" },
		{ 0x00000011, "EV_NONHOST_INFO" },
		{ 0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS" },
		{ 0x80000000, "EV_EFI_EVENT_BASE" },
		{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
		{ 0x80000002, "EV_EFI_VARIABLE_BOOT" },
		{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" },
		{ 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
		{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
		{ 0x80000006, "EV_EFI_GPT_EVENT" },
		{ 0x80000007, "EV_EFI_ACTION" },
		{ 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
		{ 0x80000009, "EV_EFI_HANDOFF_TABLES" },
		{ 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
		{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2" },
		{ 0x8000000c, "EV_EFI_VARIABLE_BOOT2" },
		{ 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].type == type)
			return names[i].name;
	return NULL;
}
