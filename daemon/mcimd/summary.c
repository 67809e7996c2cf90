// SPDX-License-Identifier: LGPL-2.1-or-later
/* The semi-autonomous validation summary (summary.h): the device's own checks. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "hex.h"
#include "macro.h"

#include "daemon/mcimd/summary.h"

#define FW_PCRS 0xffu          /* PCRs 0-7: the firmware log's */
#define IMA_PCR 10u            /* the IMA log's */
#define REASON_MAX 320

struct failures {
	struct json_object *list;
	unsigned n;             /* found, listed or not */
	int err;                /* -ENOMEM */
};

/* Lists one failure; pcr / event < 0: none. */
static void add(struct failures *f, int pcr, long event, const char *reason)
{
	struct json_object *o = json_object_new_object();

	if (!o || (pcr >= 0 && json_object_object_add(o, "pcr", json_object_new_int(pcr))) ||
	    (event >= 0 && json_object_object_add(o, "event", json_object_new_int64(event))) ||
	    json_object_object_add(o, "reason", json_object_new_string(reason)) ||
	    json_object_array_add(f->list, o)) {
		json_object_put(o);
		f->err = -ENOMEM;
	}
}

_printf_(4, 5) static void fail(struct failures *f, int pcr, long event, const char *fmt, ...)
{
	char reason[REASON_MAX];
	va_list ap;

	f->n++;
	if (f->err || json_object_array_length(f->list) >= SUMMARY_FAILURES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	add(f, pcr, event, reason);
}

int summary_pcrs_from(const TPML_PCR_SELECTION *sel, const TPM2B_DIGEST *vals, uint32_t n,
		      struct summary_pcrs *ret)
{
	uint32_t k = 0;

	memset(ret, 0, sizeof(*ret));
	if (sel->count > TPM2_NUM_PCR_BANKS)
		return -EINVAL;
	for (uint32_t b = 0; b < sel->count; b++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];

		if (s->sizeofSelect > sizeof(s->pcrSelect))
			return -EINVAL;
		for (unsigned i = 0; i < 8u * s->sizeofSelect; i++) {
			if (!(s->pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			if (k >= n)
				return -EINVAL;
			if (s->hash == TPM2_ALG_SHA256 && i < MODEL_PCRS) {
				if (vals[k].size != 32)
					return -EINVAL;
				ret->mask |= 1u << i;
				memcpy(ret->value[i], vals[k].buffer, 32);
			}
			k++;
		}
	}
	return k == n ? 0 : -EINVAL;
}

/* ---- the firmware log (PCRs 0-7) ---- */

struct walk {
	const struct op_model *m;
	uint32_t mask;
	struct failures *f;
};

static int fw_event(const struct evlog_tcg_event *e, void *user)
{
	struct walk *w = user;
	char hex[2 * 32 + 1];
	const char *type;

	if (!e->extended || e->pcr >= 32 || !(w->mask & (1u << e->pcr)))
		return 0;
	if (e->digest_len == 32 && model_fw_allowed(w->m, e->digest))
		return 0;
	hex_encode(e->digest, e->digest_len == 32 ? 32 : 0, hex);
	type = evlog_tcg_type_name(e->type);
	if (type)
		fail(w->f, (int)e->pcr, e->index, "firmware event digest %s (%s) is not in firmware_allow",
		     hex, type);
	else
		fail(w->f, (int)e->pcr, e->index,
		     "firmware event digest %s (type 0x%x) is not in firmware_allow", hex, e->type);
	return 0;
}

/* Compares what a log replayed with the quoted PCRs it covers. */
static void replayed(struct failures *f, const char *log, const struct evlog_pcrs *got,
		     const struct summary_pcrs *pcrs, uint32_t covers)
{
	static const uint8_t zero[32];

	for (unsigned p = 0; p < MODEL_PCRS; p++) {
		if (!(covers & pcrs->mask & (1u << p)))
			continue;
		if (!(got->touched & (1u << p))) {
			/* Only a PCR still at its reset value may have no event. */
			if (memcmp(pcrs->value[p], zero, 32))
				fail(f, (int)p, -1, "PCR %u was extended but the %s log has no event for it",
				     p, log);
		} else if (memcmp(got->value[p], pcrs->value[p], 32)) {
			fail(f, (int)p, -1, "the %s log does not replay to the quoted PCR %u", log, p);
		}
	}
}

static void fw_checks(const struct op_model *m, const struct summary_pcrs *pcrs,
		      const uint8_t *tcg, size_t len, struct failures *f)
{
	struct walk w = { .m = m, .mask = pcrs->mask & FW_PCRS, .f = f };
	struct evlog_pcrs got;
	char why[200];
	int r;

	if (!tcg) {
		fail(f, -1, -1, "the firmware event log is absent: PCRs 0-7 cannot be checked");
		return;
	}
	r = evlog_tcg_replay(tcg, len, TPM2_ALG_SHA256, m->has_fw_allow ? fw_event : NULL, &w,
			     &got, why, sizeof(why));
	if (r < 0)
		fail(f, -1, -1, "the firmware event log does not parse: %s", why);
	else
		replayed(f, "firmware", &got, pcrs, FW_PCRS);
}

/* ---- the IMA log (PCR 10) ---- */

static int ima_entry(const struct evlog_ima_entry *e, void *user)
{
	struct walk *w = user;
	char hex[2 * EVLOG_DIGEST_MAX + 1];

	/* A violation commits to nothing but itself: never allowed. */
	if (e->violation) {
		fail(w->f, (int)e->pcr, e->index, "%.200s: a violation entry (never allowed)", e->path);
		return 0;
	}
	if (model_ima_allowed(w->m, e->path, e->file_alg, e->file_digest, e->file_digest_len))
		return 0;
	hex_encode(e->file_digest, e->file_digest_len <= EVLOG_DIGEST_MAX ? e->file_digest_len : 0,
		   hex);
	fail(w->f, (int)e->pcr, e->index, "%.200s: %s:%s is not in ima_allow", e->path,
	     evlog_bank_name(e->file_alg) ?: "?", hex);
	return 0;
}

static void ima_checks(const struct op_model *m, const struct summary_pcrs *pcrs,
		       const uint8_t *ima, size_t len, struct failures *f)
{
	struct walk w = { .m = m, .f = f };
	struct evlog_pcrs got;
	unsigned n0 = f->n;
	size_t listed0 = json_object_array_length(f->list);
	char why[200];
	int r;

	if (!ima) {
		fail(f, IMA_PCR, -1, "the IMA log is absent: PCR 10 cannot be checked");
		return;
	}
	/* The list is read after the PCRs and grows meanwhile: its shortest
	 * prefix that gives the quoted PCR 10 is what was measured. */
	r = evlog_ima_replay_to(ima, len, TPM2_ALG_SHA256, IMA_PCR, pcrs->value[IMA_PCR],
				m->has_ima_allow ? ima_entry : NULL, &w, &got, NULL, why, sizeof(why));
	if (r < 0) {
		/* The entries reported belong to no valid prefix: replace them. */
		if (!f->err && json_object_array_length(f->list) > listed0)
			json_object_array_del_idx(f->list, listed0,
						  json_object_array_length(f->list) - listed0);
		f->n = n0;
		if (r == -ENOENT)
			fail(f, IMA_PCR, -1, "no prefix of the IMA log replays to the quoted PCR 10");
		else
			fail(f, IMA_PCR, -1, "the IMA log does not parse: %s", why);
	}
}

int summary_build(const struct op_model *m, const struct summary_pcrs *pcrs, const uint8_t *tcg,
		  size_t tcg_len, const uint8_t *ima, size_t ima_len, char **ret, size_t *ret_len,
		  unsigned *ret_failures)
{
	struct json_object *o = json_object_new_object();
	struct failures f = { .list = json_object_new_array() };
	uint32_t fw = pcrs->mask & FW_PCRS, covered = 0;
	const char *text;
	int r = 0;

	if (!o || !f.list) {
		r = -ENOMEM;
		goto out;
	}
	/* As the PVA in remote mode: a log is needed for the PCRs it covers
	 * that have no reference value, or to check its allowlist. */
	if (fw && ((fw & ~m->ref_mask) || m->has_fw_allow)) {
		fw_checks(m, pcrs, tcg, tcg_len, &f);
		covered |= fw;
	}
	if ((pcrs->mask & (1u << IMA_PCR)) &&
	    (!(m->ref_mask & (1u << IMA_PCR)) || m->has_ima_allow)) {
		ima_checks(m, pcrs, ima, ima_len, &f);
		covered |= 1u << IMA_PCR;
	}
	for (unsigned p = 0; p < MODEL_PCRS; p++) {
		uint32_t bit = 1u << p;

		if ((m->ref_mask & pcrs->mask & bit) && memcmp(pcrs->value[p], m->ref[p], 32))
			fail(&f, (int)p, -1, "PCR %u differs from its reference value", p);
		if (m->ref_mask & bit)
			covered |= bit;
		if ((pcrs->mask & bit) && !(covered & bit))
			fail(&f, (int)p, -1, "PCR %u has no reference value and no log checks it", p);
		if ((m->pcr_mask & bit) && !(pcrs->mask & bit))
			fail(&f, (int)p, -1,
			     "PCR %u is selected by the reference values but not quoted", p);
	}
	if (f.n > SUMMARY_FAILURES_MAX) {
		char more[64];

		snprintf(more, sizeof(more), "%u more failure(s) not listed",
			 f.n - SUMMARY_FAILURES_MAX);
		add(&f, -1, -1, more);
	}
	if (f.err ||
	    json_object_object_add(o, "version", json_object_new_int(SUMMARY_VERSION)) ||
	    json_object_object_add(o, "model", json_object_new_string(m->name)) ||
	    json_object_object_add(o, "reference_version", json_object_new_int64(m->version)) ||
	    json_object_object_add(o, "failures", f.list)) {
		r = -ENOMEM;
		goto out;
	}
	f.list = NULL; /* o owns it */
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*ret = text ? strdup(text) : NULL;
	if (!*ret) {
		r = -ENOMEM;
		goto out;
	}
	*ret_len = strlen(*ret);
	*ret_failures = f.n;
out:
	json_object_put(f.list);
	json_object_put(o);
	return r;
}
