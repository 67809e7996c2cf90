/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TRE context: TPM connection, errors, capability probe, the epoch NV
 * counter, the epoch-bound SRK, the reused policy session, TPM restart
 * recovery and tamper response.  Design: docs/tre.md.
 */
#include <stdarg.h>
#include <sys/mman.h>

#include <openssl/evp.h>

#include "tre-internal.h"

void tre_config_init(struct tre_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pcr_mask = TRE_DEFAULT_PCRS;
	cfg->app_pcr = TRE_APP_PCR;
	cfg->epoch_index = TRE_EPOCH_NV_INDEX;
	cfg->revoke_index = TRE_REVOKE_NV_INDEX;
}

uint32_t tre_rc_base(uint32_t rc)
{
	if (rc & TSS2_RC_LAYER_MASK)
		return rc; /* a TSS layer's own code */
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f); /* Part 2, 6.6.2 */
	return rc & 0xfff;
}

static int rc_errno(struct tre *t, TSS2_RC rc)
{
	uint32_t b = tre_rc_base(rc);

	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER)
		return -ENODEV;
	switch (b) {
	case TPM2_RC_INITIALIZE:
		t->need_restart = true;
		return -EAGAIN;
	case TPM2_RC_LOCKOUT:
		return -EBUSY;
	case TPM2_RC_OBJECT_MEMORY:
	case TPM2_RC_SESSION_MEMORY:
	case TPM2_RC_MEMORY:
	case TPM2_RC_OBJECT_HANDLES:
	case TPM2_RC_SESSION_HANDLES:
		return -ENOSPC;
	case TPM2_RC_INTEGRITY:
		return -EBADMSG;
	case TPM2_RC_POLICY_FAIL:
	case TPM2_RC_PCR_CHANGED:
		return -EKEYREJECTED;
	case TPM2_RC_POLICY:
		return -EKEYREVOKED; /* PolicyNV comparison: the epoch */
	case TPM2_RC_HANDLE:
		return -ENOENT;
	case TPM2_RC_COMMAND_CODE:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static const char *rc_hint(TSS2_RC rc)
{
	switch (tre_rc_base(rc)) {
	case TPM2_RC_LOCKOUT:
		return " (the TPM is in dictionary-attack lockout: wait for its recovery"
		       " time or reset it with the lockout authorization)";
	case TPM2_RC_OBJECT_MEMORY:
	case TPM2_RC_OBJECT_HANDLES:
		return " (the TPM is out of object slots: use a resource manager,"
		       " tpm2-abrmd or /dev/tpmrm0, or flush transient objects)";
	case TPM2_RC_SESSION_MEMORY:
	case TPM2_RC_SESSION_HANDLES:
		return " (the TPM is out of session slots)";
	case TPM2_RC_INTEGRITY:
		return " (integrity check failed: tampered blob or one made for another TPM)";
	case TPM2_RC_INITIALIZE:
		return " (the TPM was restarted and needs TPM2_Startup)";
	default:
		return "";
	}
}

int tre_fail(struct tre *t, TSS2_RC rc, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	t->last_rc = rc;
	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER)
		snprintf(t->err, sizeof(t->err), "%s: TPM not reachable through TCTI \"%s\": %s",
			 what, t->tcti_conf, Tss2_RC_Decode(rc));
	else
		snprintf(t->err, sizeof(t->err), "%s: %s%s", what, Tss2_RC_Decode(rc), rc_hint(rc));
	return rc_errno(t, rc);
}

int tre_failerr(struct tre *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	t->last_rc = 0;
	return err;
}

const char *tre_errmsg(const struct tre *t)
{
	return t->err;
}

uint32_t tre_last_rc(const struct tre *t)
{
	return t->last_rc;
}

const struct tre_stats *tre_stats(const struct tre *t)
{
	return tre_tcti_stats(t->tcti);
}

uint64_t tre_stats_cc(const struct tre_stats *s, TPM2_CC cc)
{
	if (cc < TPM2_CC_FIRST || cc - TPM2_CC_FIRST >= ARRAY_SIZE(s->by_cc))
		return 0;
	return s->by_cc[cc - TPM2_CC_FIRST];
}

uint64_t tre_stats_cc_ns(const struct tre_stats *s, TPM2_CC cc)
{
	uint64_t n = tre_stats_cc(s, cc);

	return n ? s->ns_by_cc[cc - TPM2_CC_FIRST] / n : 0;
}

/* TPM 2.0 Part 2 6.5.2: the commands the TRE and mcimd send. */
const char *tre_cc_name(TPM2_CC cc)
{
	static const struct {
		TPM2_CC cc;
		const char *name;
	} names[] = {
		{ TPM2_CC_ActivateCredential, "ActivateCredential" },
		{ TPM2_CC_Certify, "Certify" },
		{ TPM2_CC_ContextLoad, "ContextLoad" },
		{ TPM2_CC_ContextSave, "ContextSave" },
		{ TPM2_CC_Create, "Create" },
		{ TPM2_CC_CreatePrimary, "CreatePrimary" },
		{ TPM2_CC_EncryptDecrypt2, "EncryptDecrypt2" },
		{ TPM2_CC_EvictControl, "EvictControl" },
		{ TPM2_CC_FlushContext, "FlushContext" },
		{ TPM2_CC_GetCapability, "GetCapability" },
		{ TPM2_CC_GetRandom, "GetRandom" },
		{ TPM2_CC_Import, "Import" },
		{ TPM2_CC_Load, "Load" },
		{ TPM2_CC_LoadExternal, "LoadExternal" },
		{ TPM2_CC_NV_DefineSpace, "NV_DefineSpace" },
		{ TPM2_CC_NV_Increment, "NV_Increment" },
		{ TPM2_CC_NV_Read, "NV_Read" },
		{ TPM2_CC_NV_ReadPublic, "NV_ReadPublic" },
		{ TPM2_CC_PCR_Extend, "PCR_Extend" },
		{ TPM2_CC_PCR_Read, "PCR_Read" },
		{ TPM2_CC_PolicyAuthorize, "PolicyAuthorize" },
		{ TPM2_CC_PolicyGetDigest, "PolicyGetDigest" },
		{ TPM2_CC_PolicyNV, "PolicyNV" },
		{ TPM2_CC_PolicyPCR, "PolicyPCR" },
		{ TPM2_CC_PolicyRestart, "PolicyRestart" },
		{ TPM2_CC_PolicySecret, "PolicySecret" },
		{ TPM2_CC_Quote, "Quote" },
		{ TPM2_CC_ReadClock, "ReadClock" },
		{ TPM2_CC_ReadPublic, "ReadPublic" },
		{ TPM2_CC_StartAuthSession, "StartAuthSession" },
		{ TPM2_CC_Startup, "Startup" },
		{ TPM2_CC_TestParms, "TestParms" },
		{ TPM2_CC_Unseal, "Unseal" },
		{ TPM2_CC_VerifySignature, "VerifySignature" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].cc == cc)
			return names[i].name;
	return NULL;
}

void tre_stats_reset(struct tre *t)
{
	memset(tre_tcti_stats(t->tcti), 0, sizeof(struct tre_stats));
}

enum tre_mode tre_mode(const struct tre *t)
{
	return t->mode;
}

const char *tre_mode_name(enum tre_mode m)
{
	switch (m) {
	case TRE_MODE_AES_ECB:
		return "aes-ecb";
	case TRE_MODE_AES_CFB:
		return "aes-cfb";
	default:
		return "sealed";
	}
}

void tre_pcr_selection(const struct tre *t, TPML_PCR_SELECTION *ret)
{
	*ret = t->pcrs;
}

void tre_flush(struct tre *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE && t->esys)
		Esys_FlushContext(t->esys, *h);
	*h = ESYS_TR_NONE;
}

/*
 * Without a resource manager the TPM holds only a few transient objects
 * (swtpm: 3).  First give up what is cheap to recreate (the SRK, the AK);
 * only when neither was loaded flush the MCIM keys (a reload costs
 * CreatePrimary + PolicyNV + Load at their next use).
 */
void tre_make_room(struct tre *t, bool keep_srk)
{
	bool freed = false;

	if (!keep_srk && t->srk != ESYS_TR_NONE) {
		tre_flush(t, &t->srk);
		freed = true;
	}
	if (!t->ak_persistent && t->ak != ESYS_TR_NONE) {
		tre_flush(t, &t->ak);
		freed = true;
	}
	if (freed)
		return;
	for (struct tre_key *k = t->keys; k; k = k->next)
		tre_flush(t, &k->handle);
	for (struct tre_parent *p = t->parents; p; p = p->next)
		tre_flush(t, &p->handle);
}

/* ---- Capability probe: which key mode this TPM supports ---- */

static bool has_command(struct tre *t, TPM2_CC want)
{
	TPM2_CC cc = TPM2_CC_FIRST;
	TPMI_YES_NO more = TPM2_YES;

	while (more) {
		_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
		TPMA_CC *list;
		uint32_t n;

		if (Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       TPM2_CAP_COMMANDS, cc, TPM2_MAX_CAP_CC, &more, &cap))
			return false;
		list = cap->data.command.commandAttributes;
		n = cap->data.command.count;
		if (n == 0)
			break;
		for (uint32_t i = 0; i < n; i++)
			if ((list[i] & TPMA_CC_COMMANDINDEX_MASK) == want)
				return true;
		cc = (list[n - 1] & TPMA_CC_COMMANDINDEX_MASK) + 1;
	}
	return false;
}

static bool sym_supported(struct tre *t, TPM2_ALG_ID mode)
{
	TPMT_PUBLIC_PARMS p = {
		.type = TPM2_ALG_SYMCIPHER,
		.parameters.symDetail.sym = {
			.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = mode,
		},
	};

	return Esys_TestParms(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &p) ==
	       TSS2_RC_SUCCESS;
}

static void probe_mode(struct tre *t)
{
	t->mode = TRE_MODE_SEALED;
	if (!has_command(t, TPM2_CC_EncryptDecrypt2))
		return;
	if (!t->cfg.no_probe_ecb && sym_supported(t, TPM2_ALG_ECB))
		t->mode = TRE_MODE_AES_ECB;
	else if (sym_supported(t, TPM2_ALG_CFB))
		t->mode = TRE_MODE_AES_CFB;
}

/* ---- Epoch counter (TPM 2.0 Part 1, 37.2.3 NV counters) ---- */

void tre_nv_auth(struct tre *t, ESYS_TR nv)
{
	if (nv != ESYS_TR_NONE)
		Esys_TR_SetAuth(t->esys, nv, &t->cfg.nv_auth);
}

static int epoch_read(struct tre *t)
{
	_cleanup_esys_ TPM2B_MAX_NV_BUFFER *data = NULL;
	uint64_t v = 0;
	TSS2_RC rc;

	rc = Esys_NV_Read(t->esys, t->epoch_nv, t->epoch_nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			  ESYS_TR_NONE, 8, 0, &data);
	if (rc)
		return tre_fail(t, rc, "reading the epoch counter 0x%08x", t->cfg.epoch_index);
	if (data->size != 8)
		return tre_failerr(t, -EIO, "epoch counter: %u bytes", data->size);
	for (int i = 0; i < 8; i++)
		v = v << 8 | data->buffer[i];
	t->epoch = v;
	return 0;
}

static int epoch_increment_raw(struct tre *t)
{
	TSS2_RC rc = Esys_NV_Increment(t->esys, t->epoch_nv, t->epoch_nv, ESYS_TR_PASSWORD,
				       ESYS_TR_NONE, ESYS_TR_NONE);

	if (rc)
		return tre_fail(t, rc, "incrementing the epoch counter");
	return 0;
}

/*
 * The counter is defined once (owner hierarchy) and only ever incremented:
 * a counter never goes back, and a re-defined one starts at the highest
 * value any counter of this TPM had (Part 1, 37.2.3), so no rollback.
 */
static int epoch_open(struct tre *t)
{
	const TPMA_NV want = TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT | TPMA_NV_AUTHWRITE |
			     TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;
	_cleanup_esys_ TPM2B_NV_PUBLIC *pub = NULL;
	TSS2_RC rc;
	int r;

	rc = Esys_TR_FromTPMPublic(t->esys, t->cfg.epoch_index, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &t->epoch_nv);
	if (!rc)
		tre_nv_auth(t, t->epoch_nv);
	if (rc && tre_rc_base(rc) != TPM2_RC_HANDLE)
		return tre_fail(t, rc, "looking up NV index 0x%08x", t->cfg.epoch_index);
	if (rc) {
		TPM2B_NV_PUBLIC info = {
			.nvPublic = {
				.nvIndex = t->cfg.epoch_index,
				.nameAlg = TPM2_ALG_SHA256,
				.attributes = want,
				.dataSize = 8,
			},
		};
		rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					 ESYS_TR_NONE, ESYS_TR_NONE, &t->cfg.nv_auth, &info,
					 &t->epoch_nv);
		if (rc)
			return tre_fail(t, rc, "defining the epoch counter 0x%08x",
					t->cfg.epoch_index);
	}
	rc = Esys_NV_ReadPublic(t->esys, t->epoch_nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				&pub, NULL);
	if (rc)
		return tre_fail(t, rc, "reading the epoch counter's public area");
	if ((pub->nvPublic.attributes & ~TPMA_NV_WRITTEN) != want || pub->nvPublic.dataSize != 8)
		return tre_failerr(t, -EEXIST,
				   "NV index 0x%08x exists but is not an mcim epoch counter"
				   " (attributes 0x%08x)",
				   t->cfg.epoch_index, pub->nvPublic.attributes);
	if (!(pub->nvPublic.attributes & TPMA_NV_WRITTEN)) {
		/* A counter is readable once written (Part 3, 31.8). */
		r = epoch_increment_raw(t);
		if (r < 0)
			return r;
		/* The ESYS_TR caches the Name, which now has WRITTEN set. */
		Esys_TR_Close(t->esys, &t->epoch_nv);
		rc = Esys_TR_FromTPMPublic(t->esys, t->cfg.epoch_index, ESYS_TR_NONE,
					   ESYS_TR_NONE, ESYS_TR_NONE, &t->epoch_nv);
		if (rc)
			return tre_fail(t, rc, "looking up NV index 0x%08x", t->cfg.epoch_index);
		tre_nv_auth(t, t->epoch_nv);
	}
	return epoch_read(t);
}

int tre_epoch(struct tre *t, uint64_t *ret)
{
	int r = TRE_RETRY(t, epoch_read(t));

	if (r < 0)
		return r;
	*ret = t->epoch;
	return 0;
}

/* ---- SRK: ECC P-256 storage primary bound to the epoch ---- */

void tre_srk_template(uint64_t epoch _unused_, const TPM2B_DIGEST *policy, TPM2B_PUBLIC *ret)
{
	*ret = (TPM2B_PUBLIC){
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			/*
			 * userWithAuth clear: Create, Load and Import under it need
			 * the PolicyNV(epoch) policy; adminWithPolicy clear:
			 * Certify (ADMIN role) works with the empty authValue.
			 */
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
					    TPMA_OBJECT_NODA,
			.authPolicy = *policy,
			.parameters.eccDetail = {
				.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
					       .mode.aes = TPM2_ALG_CFB },
				.scheme = { .scheme = TPM2_ALG_NULL },
				.curveID = TPM2_ECC_NIST_P256,
				.kdf = { .scheme = TPM2_ALG_NULL },
			},
		},
	};
}

/* PolicyNV(epoch counter == e) over a trial session: the SRK's authPolicy. */
static int srk_policy_digest(struct tre *t, uint64_t e, TPM2B_DIGEST *ret)
{
	TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	_cleanup_esys_ TPM2B_DIGEST *d = NULL;
	ESYS_TR s = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none,
				   TPM2_ALG_SHA256, &s);
	if (rc)
		return tre_fail(t, rc, "starting a trial session");
	r = tre_srk_policy(t, s, e);
	if (r == 0) {
		rc = Esys_PolicyGetDigest(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
		if (rc)
			r = tre_fail(t, rc, "PolicyGetDigest");
		else
			*ret = *d;
	}
	tre_flush(t, &s);
	return r;
}

int tre_srk_policy(struct tre *t, ESYS_TR session, uint64_t e)
{
	TPM2B_OPERAND op = { .size = 8 };
	TSS2_RC rc;

	for (int i = 0; i < 8; i++)
		op.buffer[i] = (uint8_t)(e >> (56 - 8 * i));
	rc = Esys_PolicyNV(t->esys, t->epoch_nv, t->epoch_nv, session, ESYS_TR_PASSWORD,
			   ESYS_TR_NONE, ESYS_TR_NONE, &op, 0, TPM2_EO_EQ);
	if (rc) {
		int r = tre_fail(t, rc, "PolicyNV(epoch == %llu)", (unsigned long long)e);

		if (r == -EKEYREVOKED)
			snprintf(t->err, sizeof(t->err),
				 "epoch %llu revoked: the TPM's epoch counter is %llu",
				 (unsigned long long)e, (unsigned long long)t->epoch);
		return r;
	}
	return 0;
}

static int srk_create(struct tre *t, uint64_t e, ESYS_TR *ret)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPML_PCR_SELECTION nopcr = { 0 };
	TPM2B_DATA outside = { 0 };
	TPM2B_DIGEST policy;
	TPM2B_PUBLIC tmpl;
	TSS2_RC rc;
	int r;

	if (e == t->epoch) {
		policy = t->srk_policy;
	} else {
		r = srk_policy_digest(t, e, &policy);
		if (r < 0)
			return r;
	}
	tre_srk_template(e, &policy, &tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &nopcr, ret, NULL, NULL,
				NULL, NULL);
	if (rc) {
		*ret = ESYS_TR_NONE;
		return tre_fail(t, rc, "creating the SRK (owner hierarchy)");
	}
	if (e == t->epoch && t->srk_pin.size) {
		_cleanup_esys_ TPM2B_NAME *name = NULL;

		/* The salt of our session is encrypted to this key: it must be
		 * the SRK the AK certified, not one substituted on the bus. */
		rc = Esys_TR_GetName(t->esys, *ret, &name);
		if (rc || name->size != t->srk_pin.size ||
		    memcmp(name->name, t->srk_pin.name, name->size) != 0) {
			tre_flush(t, ret);
			return tre_failerr(t, -EBADMSG,
					   "the TPM's SRK does not have the pinned name: substituted"
					   " on the bus, or another TPM or owner seed");
		}
	}
	return 0;
}

int tre_srk_pin(struct tre *t, const TPM2B_NAME *name)
{
	ESYS_TR srk;

	if (name && name->size > sizeof(name->name))
		return -EINVAL;
	t->srk_pin = name ? *name : (TPM2B_NAME){ 0 };
	/* Salt the sessions again, to the verified SRK. */
	tre_flush(t, &t->session);
	if (t->fast) {
		tre_fast_close(t);
		tre_fast_open(t);
	}
	tre_flush(t, &t->srk);
	return name ? TRE_RETRY(t, tre_srk_get(t, t->epoch, &srk)) : 0;
}

int tre_srk_get(struct tre *t, uint64_t e, ESYS_TR *ret)
{
	int r;

	if (e != t->epoch)
		return TRE_ROOMY(t, true, srk_create(t, e, ret)); /* caller flushes it */
	if (t->srk == ESYS_TR_NONE) {
		r = TRE_ROOMY(t, true, srk_create(t, e, &t->srk));
		if (r < 0)
			return r;
	}
	*ret = t->srk;
	return 0;
}

static int srk_public(struct tre *t, TPM2B_PUBLIC *ret)
{
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	r = tre_srk_get(t, t->epoch, &srk);
	if (r < 0)
		return r;
	rc = Esys_ReadPublic(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL,
			     NULL);
	if (rc)
		return tre_fail(t, rc, "reading the SRK public area");
	*ret = *pub;
	return 0;
}

int tre_srk_public(struct tre *t, TPM2B_PUBLIC *ret)
{
	return TRE_RETRY(t, srk_public(t, ret));
}

/* ---- The reused policy session ---- */

/*
 * One policy session, salted with the SRK (its sessionKey is unknown to
 * anyone on the bus) and used for parameter encryption (AES-128-CFB) of
 * the commands it authorizes: EncryptDecrypt2's data, Unseal's output,
 * Create's and Import's secrets (Part 1, 21 "Session-based encryption").
 */
int tre_session(struct tre *t, ESYS_TR *ret)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	if (t->session == ESYS_TR_NONE) {
		r = tre_srk_get(t, t->epoch, &srk);
		if (r < 0)
			return r;
		rc = Esys_StartAuthSession(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym,
					   TPM2_ALG_SHA256, &t->session);
		if (rc) {
			t->session = ESYS_TR_NONE;
			return tre_fail(t, rc, "starting the salted policy session");
		}
	}
	*ret = t->session;
	return 0;
}

void tre_session_restart(struct tre *t)
{
	if (t->session == ESYS_TR_NONE)
		return;
	if (Esys_PolicyRestart(t->esys, t->session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE))
		tre_flush(t, &t->session);
}

/* ---- Open, close, restart ---- */

static void pcrs_from_mask(uint32_t mask, TPML_PCR_SELECTION *ret)
{
	*ret = (TPML_PCR_SELECTION){ .count = 1 };
	ret->pcrSelections[0].hash = TPM2_ALG_SHA256;
	ret->pcrSelections[0].sizeofSelect = 3;
	for (unsigned i = 0; i < 24; i++)
		if (mask & (1u << i))
			ret->pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int esys_start(struct tre *t)
{
	TSS2_RC rc;

	rc = Esys_Initialize(&t->esys, tre_tcti_context(t->tcti), NULL);
	if (rc) {
		t->esys = NULL;
		return tre_fail(t, rc, "initializing ESAPI");
	}
	/* A TPM that was (re)started without TPM2_Startup answers INITIALIZE. */
	rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
	if (rc && tre_rc_base(rc) != TPM2_RC_INITIALIZE)
		return tre_fail(t, rc, "TPM2_Startup");
	return 0;
}

/* After a TPM reset every transient handle and session is gone. */
static void forget_handles(struct tre *t)
{
	t->gen++;
	t->srk = t->session = t->epoch_nv = t->revoke_nv = ESYS_TR_NONE;
	t->ak = ESYS_TR_NONE;
	tre_fast_forget(t);
	for (struct tre_key *k = t->keys; k; k = k->next)
		k->handle = ESYS_TR_NONE;
	for (struct tre_parent *p = t->parents; p; p = p->next)
		p->handle = ESYS_TR_NONE;
}

int tre_recover(struct tre *t)
{
	int r;

	t->need_restart = false;
	if (t->esys)
		Esys_Finalize(&t->esys);
	forget_handles(t);
	r = esys_start(t);
	if (r < 0)
		return r;
	return epoch_open(t);
}

static char open_err[512];

const char *tre_open_error(void)
{
	return open_err;
}

int tre_open(const struct tre_config *cfg, struct tre **ret)
{
	_cleanup_tre_ struct tre *t = calloc(1, sizeof(*t));
	char err[256] = "";
	int r;

	if (!t)
		return -ENOMEM;
	/* The TSS logs every TPM error to stderr; we report them through
	 * tre_errmsg() instead.  TSS2_LOG set by the user still wins. */
	setenv("TSS2_LOG", "all+none", 0);
	t->cfg = *cfg;
	t->srk = t->session = t->epoch_nv = t->ak = t->revoke_nv = ESYS_TR_NONE;
	snprintf(t->tcti_conf, sizeof(t->tcti_conf), "%s", cfg->tcti ? cfg->tcti : "auto");
	if (cfg->app_pcr >= 24 || !(cfg->pcr_mask & (1u << cfg->app_pcr)) ||
	    (cfg->pcr_mask >> 24)) {
		snprintf(open_err, sizeof(open_err),
			 "PCR set 0x%06x must include the application PCR %u", cfg->pcr_mask,
			 cfg->app_pcr);
		return -EINVAL;
	}
	pcrs_from_mask(cfg->pcr_mask, &t->pcrs);

	open_err[0] = '\0';
	r = tre_tcti_open(cfg->tcti, &t->tcti, err, sizeof(err));
	if (r < 0) {
		snprintf(open_err, sizeof(open_err), "%s", err);
		return r;
	}
	r = esys_start(t);
	if (r < 0)
		goto fail;
	probe_mode(t);
	r = epoch_open(t);
	if (r < 0)
		goto fail;
	r = srk_policy_digest(t, t->epoch, &t->srk_policy);
	if (r < 0)
		goto fail;
	/* Without it the ESAPI path serves every use, only slower. */
	if (!cfg->no_fast_path)
		tre_fast_open(t);
	*ret = TAKE_PTR(t);
	return 0;
fail:
	snprintf(open_err, sizeof(open_err), "%s", t->err);
	return r;
}

void tre_close(struct tre *t)
{
	if (!t)
		return;
	while (t->keys)
		tre_key_free(t->keys);
	while (t->parents)
		tre_parent_remove(t->parents);
	tre_fast_close(t);
	if (t->esys) {
		tre_flush(t, &t->session);
		tre_flush(t, &t->srk);
		if (!t->ak_persistent)
			tre_flush(t, &t->ak);
		Esys_Finalize(&t->esys);
	}
	if (t->secbuf) {
		wipe(t->secbuf, t->secbuf_len);
		munmap(t->secbuf, t->secbuf_len);
	}
	tre_tcti_close(t->tcti);
	wipe(&t->ak_blob, sizeof(t->ak_blob));
	free(t);
}

int tre_epoch_increment(struct tre *t, uint64_t *ret_new)
{
	int r;

	r = TRE_RETRY(t, epoch_increment_raw(t));
	if (r < 0)
		return r;
	r = epoch_read(t);
	if (r < 0)
		return r;
	/* The new epoch's SRK has a new name: pin it again once certified. */
	t->srk_pin = (TPM2B_NAME){ 0 };
	/* Old keys stay loaded until flushed: flush them now. */
	for (struct tre_key *k = t->keys; k; k = k->next)
		tre_flush(t, &k->handle);
	for (struct tre_parent *p = t->parents; p; p = p->next)
		tre_flush(t, &p->handle);
	tre_flush(t, &t->srk);
	r = srk_policy_digest(t, t->epoch, &t->srk_policy);
	if (r < 0)
		return r;
	if (ret_new)
		*ret_new = t->epoch;
	return 0;
}

/* ---- Tamper response ---- */

void tre_set_tamper_handler(struct tre *t, tre_tamper_fn fn, void *user_data)
{
	t->tamper_fn = fn;
	t->tamper_ud = user_data;
}

static int pcr_extend(struct tre *t, unsigned pcr, const char *prefix, const void *data,
		      size_t len)
{
	TPML_DIGEST_VALUES d = { .count = 1 };
	unsigned int dlen = 0;
	EVP_MD_CTX *md;
	TSS2_RC rc;
	int ok;

	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, prefix, strlen(prefix)) && EVP_DigestUpdate(md, data, len) &&
	     EVP_DigestFinal_ex(md, d.digests[0].digest.sha256, &dlen);
	EVP_MD_CTX_free(md);
	if (!ok)
		return tre_failerr(t, -ENOMEM, "hashing a measurement");
	rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			     ESYS_TR_NONE, &d);
	if (rc)
		return tre_fail(t, rc, "extending PCR %u", pcr);
	return 0;
}

int tre_pcr_extend(struct tre *t, unsigned pcr, const void *data, size_t len)
{
	if (pcr >= 24)
		return -EINVAL;
	return TRE_RETRY(t, pcr_extend(t, pcr, "", data, len));
}

static int lockout_counter(struct tre *t, uint32_t *ret)
{
	_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, TPM2_PT_LOCKOUT_COUNTER, 1, &more, &cap);
	if (rc)
		return tre_fail(t, rc, "reading TPM_PT_LOCKOUT_COUNTER");
	if (cap->data.tpmProperties.count < 1 ||
	    cap->data.tpmProperties.tpmProperty[0].property != TPM2_PT_LOCKOUT_COUNTER)
		return tre_failerr(t, -EIO, "TPM_PT_LOCKOUT_COUNTER missing");
	*ret = cap->data.tpmProperties.tpmProperty[0].value;
	return 0;
}

int tre_lockout_counter(struct tre *t, uint32_t *ret)
{
	return TRE_RETRY(t, lockout_counter(t, ret));
}

int tre_tamper(struct tre *t, const char *reason, unsigned flags)
{
	int r, r2 = 0;

	if (!reason)
		reason = "";
	/* The event: SHA-256("mcim-tamper:" || reason) into the application PCR. */
	r = TRE_RETRY(t, pcr_extend(t, t->cfg.app_pcr, "mcim-tamper:", reason, strlen(reason)));
	if (flags & TRE_TAMPER_REVOKE)
		r2 = tre_epoch_increment(t, NULL);
	/* Reported even when the TPM failed: the daemon must act either way. */
	if (t->tamper_fn)
		t->tamper_fn(reason, t->tamper_ud);
	return r < 0 ? r : r2;
}
