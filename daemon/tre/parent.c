// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Storage parents and the revocation counter R (docs/tre.md 4,
 * docs/change-format.md 7): one storage key per operator subscription under
 * the SRK, usable while R <= its bound (PolicyNV, TPM 2.0 Part 3 23.9), so
 * that one subscription's objects can be revoked for good while another's,
 * under a parent of a higher bound, keep working.
 */
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "lib/tpm2-crypto.h"
#include "tre-counter.h"
#include "tre-internal.h"

static int revoke_nv(struct tre *t, ESYS_TR *ret)
{
	int r;

	if (t->revoke_nv == ESYS_TR_NONE) {
		r = tre_nv_counter_open(t, t->cfg.revoke_index, &t->revoke_nv);
		if (r < 0) {
			t->revoke_nv = ESYS_TR_NONE;
			return r;
		}
	}
	*ret = t->revoke_nv;
	return 0;
}

static int revocation_read(struct tre *t, uint64_t *ret)
{
	_cleanup_esys_ TPM2B_MAX_NV_BUFFER *data = NULL;
	ESYS_TR nv;
	uint64_t v = 0;
	TSS2_RC rc;
	int r = revoke_nv(t, &nv);

	if (r < 0)
		return r;
	rc = Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0,
			  &data);
	if (rc)
		return tre_fail(t, rc, "reading the revocation counter 0x%08x",
				t->cfg.revoke_index);
	if (data->size != 8)
		return tre_failerr(t, -EIO, "revocation counter: %u bytes", data->size);
	for (int i = 0; i < 8; i++)
		v = v << 8 | data->buffer[i];
	*ret = v;
	return 0;
}

int tre_revocation(struct tre *t, uint64_t *ret)
{
	return TRE_RETRY(t, revocation_read(t, ret));
}

/*
 * PolicyNV (Part 3 23.9): policyDigest' = H(policyDigest || TPM_CC_PolicyNV
 * || H(operandB || offset || operation) || nvIndex->Name), from the empty
 * digest, with operandB = bound as UINT64 big-endian (the counter's own
 * encoding), offset 0 and TPM_EO_UNSIGNED_LE: R <= bound.
 */
int tre_parent_policy(struct tre *t, uint64_t bound, TPM2B_DIGEST *ret)
{
	uint8_t args[8 + 2 + 2], d[SHA256_DIGEST_LENGTH * 3 + 4 + sizeof(TPMU_NAME)];
	TPM2B_NAME name;
	size_t n = 0;
	int r = tre_nv_counter_name(t->cfg.revoke_index, &name);

	if (r < 0)
		return r;
	for (int i = 0; i < 8; i++)
		args[i] = (uint8_t)(bound >> (56 - 8 * i));
	args[8] = args[9] = 0; /* offset */
	args[10] = TPM2_EO_UNSIGNED_LE >> 8;
	args[11] = TPM2_EO_UNSIGNED_LE & 0xff;
	memset(d, 0, SHA256_DIGEST_LENGTH); /* the initial policy digest */
	n = SHA256_DIGEST_LENGTH;
	d[n++] = (uint8_t)(TPM2_CC_PolicyNV >> 24);
	d[n++] = (uint8_t)(TPM2_CC_PolicyNV >> 16);
	d[n++] = (uint8_t)(TPM2_CC_PolicyNV >> 8);
	d[n++] = (uint8_t)TPM2_CC_PolicyNV;
	SHA256(args, sizeof(args), d + n);
	n += SHA256_DIGEST_LENGTH;
	memcpy(d + n, name.name, name.size);
	n += name.size;
	ret->size = SHA256_DIGEST_LENGTH;
	SHA256(d, n, ret->buffer);
	return 0;
}

void tre_parent_template(const TPM2B_DIGEST *policy, TPM2B_PUBLIC *ret)
{
	/* The SRK's attributes and parameters (tre_srk_template): a storage
	 * key the operator wraps to exactly as to the SRK; userWithAuth
	 * clear (USER role only through the policy), adminWithPolicy clear
	 * (Certify with the empty authValue). */
	tre_srk_template(0, policy, ret);
}

/* PolicyNV(R <= p's bound) in session s (Part 3 23.9). */
static int parent_policy_nv(struct tre_parent *p, ESYS_TR s)
{
	struct tre *t = p->tre;
	TPM2B_OPERAND op = { .size = 8 };
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = revoke_nv(t, &nv);

	if (r < 0)
		return r;
	for (int i = 0; i < 8; i++)
		op.buffer[i] = (uint8_t)(p->bound >> (56 - 8 * i));
	rc = Esys_PolicyNV(t->esys, nv, nv, s, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &op,
			   0, TPM2_EO_UNSIGNED_LE);
	if (rc) {
		r = tre_fail(t, rc, "PolicyNV(revocation counter <= %llu)",
			     (unsigned long long)p->bound);
		if (r == -EKEYREVOKED)
			snprintf(t->err, sizeof(t->err),
				 "storage parent of bound %llu revoked: the revocation counter "
				 "is above it", (unsigned long long)p->bound);
		return r;
	}
	return 0;
}

int tre_parent_session(struct tre_parent *p, ESYS_TR *ret_s)
{
	int r = tre_parent_ensure_loaded(p);

	if (r == 0)
		r = tre_session(p->tre, ret_s);
	if (r == 0) {
		r = parent_policy_nv(p, *ret_s);
		if (r < 0)
			tre_session_restart(p->tre);
	}
	return r;
}

static int parent_load_once(struct tre_parent *p)
{
	struct tre *t = p->tre;
	ESYS_TR srk = ESYS_TR_NONE, s;
	TSS2_RC rc;
	int r;

	r = tre_srk_get(t, p->blob.epoch, &srk);
	if (r < 0)
		return r;
	r = tre_srk_session(t, p->blob.epoch, &s);
	if (r == 0) {
		Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
		rc = Esys_Load(t->esys, srk, s, ESYS_TR_NONE, ESYS_TR_NONE, &p->blob.priv,
			       &p->blob.pub, &p->handle);
		if (rc) {
			p->handle = ESYS_TR_NONE;
			tre_session_restart(t);
			r = tre_fail(t, rc, "loading a storage parent");
		}
	}
	if (srk != t->srk)
		tre_flush(t, &srk); /* an old epoch's SRK */
	if (r == 0)
		p->gen = t->gen;
	return r;
}

/*
 * A parent is loaded under the SRK without its own policy (its PolicyNV
 * authorizes the objects' Load and Import under it, not its own Load): a
 * revoked parent still loads, nothing under it does.
 */
int tre_parent_ensure_loaded(struct tre_parent *p)
{
	struct tre *t = p->tre;

	if (p->handle != ESYS_TR_NONE && p->gen == t->gen)
		return 0;
	p->handle = ESYS_TR_NONE;
	return TRE_ROOMY(t, true, parent_load_once(p));
}

/* R <= bound, in the TPM: PolicyNV in a policy session of its own. */
static int parent_check(struct tre_parent *p)
{
	struct tre *t = p->tre;
	TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR s = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &none,
				   TPM2_ALG_SHA256, &s);
	if (rc)
		return tre_fail(t, rc, "starting a policy session");
	r = parent_policy_nv(p, s);
	tre_flush(t, &s);
	return r;
}

/* Loads p and checks R <= its bound, so that a revoked parent is reported
 * as such at once (its own Load does not check it). */
int tre_parent_load(struct tre_parent *p)
{
	int r = TRE_RETRY(p->tre, tre_parent_ensure_loaded(p));

	return r < 0 ? r : TRE_RETRY(p->tre, parent_check(p));
}

static int parent_create(struct tre *t, uint64_t bound, struct tre_blob *ret)
{
	_cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPML_PCR_SELECTION nopcr = { 0 };
	TPM2B_DATA outside = { 0 };
	TPM2B_DIGEST policy;
	TPM2B_PUBLIC tmpl;
	ESYS_TR srk = ESYS_TR_NONE, s = ESYS_TR_NONE, nv = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	r = tre_parent_policy(t, bound, &policy);
	if (r == 0)
		r = revoke_nv(t, &nv); /* R exists before anything is bound to it */
	if (r == 0)
		r = tre_srk_get(t, t->epoch, &srk);
	if (r == 0)
		r = tre_srk_session(t, t->epoch, &s);
	if (r < 0)
		return r;
	tre_parent_template(&policy, &tmpl);
	Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
	rc = Esys_Create(t->esys, srk, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
			 &nopcr, &priv, &pub, NULL, NULL, NULL);
	if (rc) {
		tre_session_restart(t);
		return tre_fail(t, rc, "TPM2_Create of a storage parent");
	}
	*ret = (struct tre_blob){ .epoch = t->epoch, .pub = *pub, .priv = *priv };
	return 0;
}

int tre_parent_create(struct tre *t, uint64_t bound, struct tre_blob *ret)
{
	/* TPM2_Create needs a free object slot of its own. */
	return TRE_RETRY(t, TRE_ROOMY(t, true, parent_create(t, bound, ret)));
}

struct tre_parent *tre_parent_find(struct tre *t, const TPM2B_NAME *name)
{
	for (struct tre_parent *p = t->parents; p; p = p->next)
		if (p->name.size == name->size && !memcmp(p->name.name, name->name, name->size))
			return p;
	return NULL;
}

int tre_parent_add(struct tre *t, const struct tre_blob *b, uint64_t bound,
		   struct tre_parent **ret)
{
	TPMA_OBJECT want = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			   TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
			   TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA;
	struct tre_parent *p;
	TPM2B_DIGEST policy;
	TPM2B_NAME name;
	int r;

	if (b->parent.size || b->pub.publicArea.type != TPM2_ALG_ECC ||
	    b->pub.publicArea.objectAttributes != want)
		return tre_failerr(t, -EINVAL, "not a storage parent blob");
	r = tre_parent_policy(t, bound, &policy);
	if (r < 0)
		return tre_failerr(t, r, "computing a parent's policy");
	if (b->pub.publicArea.authPolicy.size != policy.size ||
	    memcmp(b->pub.publicArea.authPolicy.buffer, policy.buffer, policy.size))
		return tre_failerr(t, -EINVAL, "the storage parent's policy is not that of "
				   "bound %llu", (unsigned long long)bound);
	r = tpm2_public_name(&b->pub.publicArea, &name);
	if (r < 0)
		return tre_failerr(t, r, "the storage parent's Name");
	p = tre_parent_find(t, &name);
	if (p) {
		*ret = p;
		return 0;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct tre_parent){ .tre = t, .blob = *b, .bound = bound, .name = name,
				  .handle = ESYS_TR_NONE, .next = t->parents };
	t->parents = p;
	*ret = p;
	return 0;
}

/* Flushes the loaded objects under p, and p. */
static void parent_flush(struct tre_parent *p)
{
	struct tre *t = p->tre;

	for (struct tre_key *k = t->keys; k; k = k->next)
		if (k->blob.parent.size == p->name.size &&
		    !memcmp(k->blob.parent.name, p->name.name, p->name.size) && k->gen == t->gen)
			tre_flush(t, &k->handle);
	if (p->gen == t->gen)
		tre_flush(t, &p->handle);
	p->handle = ESYS_TR_NONE;
}

void tre_parent_remove(struct tre_parent *p)
{
	struct tre *t;

	if (!p)
		return;
	t = p->tre;
	parent_flush(p);
	for (struct tre_parent **q = &t->parents; *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	free(p);
}

uint64_t tre_parent_bound(const struct tre_parent *p)
{
	return p->bound;
}

const TPM2B_PUBLIC *tre_parent_public(const struct tre_parent *p)
{
	return &p->blob.pub;
}

const TPM2B_NAME *tre_parent_name(const struct tre_parent *p)
{
	return &p->name;
}

static int revoke_upto(struct tre *t, uint64_t bound, uint64_t *ret_r)
{
	ESYS_TR nv = ESYS_TR_NONE;
	uint64_t r_now;
	TSS2_RC rc;
	int r = revocation_read(t, &r_now);

	/* A counter only grows (Part 1 37.2.3): one NV_Increment per step. */
	while (r == 0 && r_now <= bound) {
		r = revoke_nv(t, &nv);
		if (r < 0)
			break;
		rc = Esys_NV_Increment(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE);
		if (rc) {
			r = tre_fail(t, rc, "incrementing the revocation counter");
			break;
		}
		r = revocation_read(t, &r_now);
	}
	if (r == 0 && ret_r)
		*ret_r = r_now;
	return r;
}

int tre_revoke_upto(struct tre *t, uint64_t bound, uint64_t *ret_r)
{
	uint64_t now = 0;
	int r;

	if (bound == UINT64_MAX)
		return tre_failerr(t, -EINVAL, "the revocation counter cannot pass 2^64 - 1");
	r = TRE_RETRY(t, revoke_upto(t, bound, &now));
	if (r < 0)
		return r;
	/* Loaded objects of the revoked parents go at once. */
	for (struct tre_parent *p = t->parents; p; p = p->next)
		if (p->bound < now)
			parent_flush(p);
	if (ret_r)
		*ret_r = now;
	return 0;
}
