/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MCIM objects: templates, blobs, creation with a known secret, import of
 * duplication blobs, loading (epoch enforced by the SRK's PolicyNV),
 * operator-approved policies (PolicyAuthorize with a cached
 * VerifySignature ticket) and use: E_K through TPM2_EncryptDecrypt2 (mode
 * a) or the unsealed secret in locked memory (mode b).
 */
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_sys.h>

#include "lib/tpm2-crypto.h"
#include "tre-internal.h"

#define BLOB_MAGIC "MCTB"
#define BLOB_VERSION 1        /* under the SRK */
#define BLOB_VERSION_PARENT 2 /* under a storage parent: its Name follows the epoch */

static void cfb_forget(struct tre_key *k);
static int cfb_mask(struct tre_key *k, const uint8_t **ret_m);

int tre_template(enum tre_kind kind, const TPM2B_DIGEST *auth_policy, TPM2B_PUBLIC *ret)
{
	/* Policy only (userWithAuth clear), no DA counting: a wrong policy
	 * never locks the TPM out (Part 1, 19.7.x and 19.8.x). */
	TPMA_OBJECT attrs = TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_NODA;

	if (!auth_policy || auth_policy->size > sizeof(auth_policy->buffer))
		return -EINVAL;
	*ret = (TPM2B_PUBLIC){ 0 };
	ret->publicArea.nameAlg = TPM2_ALG_SHA256;
	ret->publicArea.authPolicy = *auth_policy;
	switch (kind) {
	case TRE_KIND_AES:
		/* Sign (= encrypt) only: EncryptDecrypt2 with decrypt=YES needs
		 * the decrypt attribute (Part 3, 15.2), so the TPM never
		 * decrypts with K. */
		ret->publicArea.type = TPM2_ALG_SYMCIPHER;
		ret->publicArea.objectAttributes = attrs | TPMA_OBJECT_SIGN_ENCRYPT;
		ret->publicArea.parameters.symDetail.sym = (TPMT_SYM_DEF_OBJECT){
			.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_NULL,
		};
		return 0;
	case TRE_KIND_SEALED:
		ret->publicArea.type = TPM2_ALG_KEYEDHASH;
		ret->publicArea.objectAttributes = attrs;
		ret->publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
		return 0;
	}
	return -EINVAL;
}

/* ---- Blobs: "MCTB" v1 | epoch (8, BE) | TPM2B_PUBLIC | TPM2B_PRIVATE,
 * "MCTB" v2 | epoch | TPM2B_NAME parent | TPM2B_PUBLIC | TPM2B_PRIVATE ---- */

int tre_blob_marshal(const struct tre_blob *b, uint8_t *buf, size_t max, size_t *ret_len)
{
	size_t off = 8;

	if (max < 16)
		return -EMSGSIZE;
	memcpy(buf, BLOB_MAGIC, 4);
	buf[4] = b->parent.size ? BLOB_VERSION_PARENT : BLOB_VERSION;
	buf[5] = buf[6] = buf[7] = 0;
	if (Tss2_MU_UINT64_Marshal(b->epoch, buf, max, &off) ||
	    (b->parent.size && Tss2_MU_TPM2B_NAME_Marshal(&b->parent, buf, max, &off)) ||
	    Tss2_MU_TPM2B_PUBLIC_Marshal(&b->pub, buf, max, &off) ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(&b->priv, buf, max, &off))
		return -EMSGSIZE;
	*ret_len = off;
	return 0;
}

int tre_blob_unmarshal(const uint8_t *buf, size_t len, struct tre_blob *ret)
{
	size_t off = 8;

	if (len < 16 || memcmp(buf, BLOB_MAGIC, 4) != 0 ||
	    (buf[4] != BLOB_VERSION && buf[4] != BLOB_VERSION_PARENT))
		return -EINVAL;
	*ret = (struct tre_blob){ 0 };
	if (Tss2_MU_UINT64_Unmarshal(buf, len, &off, &ret->epoch) ||
	    (buf[4] == BLOB_VERSION_PARENT &&
	     (Tss2_MU_TPM2B_NAME_Unmarshal(buf, len, &off, &ret->parent) ||
	      ret->parent.size == 0)) ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &ret->pub) ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, &ret->priv) || off != len)
		return -EINVAL;
	return 0;
}

static enum tre_kind kind_of(const TPM2B_PUBLIC *pub)
{
	return pub->publicArea.type == TPM2_ALG_SYMCIPHER ? TRE_KIND_AES : TRE_KIND_SEALED;
}

static int check_mcim_public(struct tre *t, const TPM2B_PUBLIC *pub)
{
	TPMA_OBJECT a = pub->publicArea.objectAttributes;

	if (pub->publicArea.type != TPM2_ALG_SYMCIPHER && pub->publicArea.type != TPM2_ALG_KEYEDHASH)
		return tre_failerr(t, -EINVAL, "MCIM object of type 0x%x", pub->publicArea.type);
	/* Policy-only and never a decryption oracle (docs/tre.md). */
	if ((a & TPMA_OBJECT_USERWITHAUTH) || (a & TPMA_OBJECT_DECRYPT) || !(a & TPMA_OBJECT_NODA))
		return tre_failerr(t, -EINVAL, "MCIM object attributes 0x%08x refused", a);
	if (pub->publicArea.authPolicy.size == 0)
		return tre_failerr(t, -EINVAL, "MCIM object without a policy refused");
	return 0;
}

/* Is this policy-command failure one a new session may cure (the session
 * was flushed behind our back or evicted), rather than the TPM's verdict on
 * the policy (Part 3, 23: TPM_RC_VALUE for PolicyPCR, TPM_RC_POLICY for
 * PolicyNV) or a restart that TRE_RETRY handles? */
static bool session_maybe_lost(struct tre *t)
{
	uint32_t b = tre_rc_base(t->last_rc);

	return !t->need_restart && b != TPM2_RC_VALUE && b != TPM2_RC_POLICY &&
	       b != TPM2_RC_POLICY_FAIL && (t->last_rc & TSS2_RC_LAYER_MASK) != TSS2_TCTI_RC_LAYER;
}

/* Drops the ESAPI session; when the TPM no longer has it, FlushContext
 * fails and only ESAPI's object for it is released. */
static void session_drop(struct tre *t)
{
	if (t->session != ESYS_TR_NONE && t->esys &&
	    Esys_FlushContext(t->esys, t->session) != TSS2_RC_SUCCESS)
		Esys_TR_Close(t->esys, &t->session);
	t->session = ESYS_TR_NONE;
}

/* The ESAPI session with PolicyNV(epoch == e) run in it: authorizes the SRK
 * of epoch e.  A lost session is replaced once. */
int tre_srk_session(struct tre *t, uint64_t e, ESYS_TR *ret_s)
{
	int r = 0;

	for (int i = 0; i < 2; i++) {
		r = tre_session(t, ret_s);
		if (r < 0)
			return r;
		t->last_rc = 0;
		r = tre_srk_policy(t, *ret_s, e);
		if (r == 0 || !session_maybe_lost(t))
			break;
		session_drop(t);
	}
	return r;
}

/* ---- Creation with a known secret and import ---- */

/* The parent (p, or the SRK when NULL) and the session authorizing it. */
static int parent_auth(struct tre *t, struct tre_parent *p, ESYS_TR *ret_h, ESYS_TR *ret_s,
		       struct tre_blob *ret)
{
	int r;

	*ret = (struct tre_blob){ .epoch = t->epoch };
	if (p) {
		r = tre_parent_session(p, ret_s);
		if (r < 0)
			return r;
		*ret_h = p->handle;
		ret->epoch = p->blob.epoch;
		ret->parent = p->name;
		return 0;
	}
	r = tre_srk_get(t, t->epoch, ret_h);
	return r < 0 ? r : tre_srk_session(t, t->epoch, ret_s);
}

static int create_known(struct tre *t, struct tre_parent *p, const TPM2B_PUBLIC *tmpl,
			const uint8_t *secret, size_t len, struct tre_blob *ret)
{
	_cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPML_PCR_SELECTION nopcr = { 0 };
	TPM2B_DATA outside = { 0 };
	struct tre_blob b;
	ESYS_TR parent, s;
	TSS2_RC rc;
	int r;

	r = parent_auth(t, p, &parent, &s, &b);
	if (r < 0)
		return r;
	sens.sensitive.data.size = (UINT16)len;
	memcpy(sens.sensitive.data.buffer, secret, len);
	/* inSensitive is the first parameter: it goes encrypted. */
	Esys_TRSess_SetAttributes(t->esys, s, TRE_SESS_ATTRS, 0xff);
	rc = Esys_Create(t->esys, parent, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, tmpl, &outside,
			 &nopcr, &priv, &pub, NULL, NULL, NULL);
	wipe(&sens, sizeof(sens));
	if (rc) {
		tre_session_restart(t);
		return tre_fail(t, rc, "TPM2_Create of an MCIM object");
	}
	b.pub = *pub;
	b.priv = *priv;
	*ret = b;
	return 0;
}

static int create_known_to(struct tre *t, struct tre_parent *p, const TPM2B_PUBLIC *tmpl,
			   const uint8_t *secret, size_t len, struct tre_blob *ret)
{
	int r;

	if (len == 0 || len > sizeof(((TPM2B_SENSITIVE_DATA *)0)->buffer))
		return -EINVAL;
	r = check_mcim_public(t, tmpl);
	if (r < 0)
		return r;
	/* TPM2_Create needs a free object slot of its own. */
	return TRE_RETRY(t, TRE_ROOMY(t, true, create_known(t, p, tmpl, secret, len, ret)));
}

int tre_create_known(struct tre *t, const TPM2B_PUBLIC *tmpl, const uint8_t *secret,
		     size_t len, struct tre_blob *ret)
{
	return create_known_to(t, NULL, tmpl, secret, len, ret);
}

int tre_create_known_to(struct tre_parent *p, const TPM2B_PUBLIC *tmpl, const uint8_t *secret,
			size_t len, struct tre_blob *ret)
{
	return create_known_to(p->tre, p, tmpl, secret, len, ret);
}

static int import(struct tre *t, struct tre_parent *p, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
		  const TPM2B_ENCRYPTED_SECRET *seed, const TPM2B_DATA *enc_key,
		  const TPMT_SYM_DEF_OBJECT *sym, struct tre_blob *ret)
{
	TPMT_SYM_DEF_OBJECT nosym = { .algorithm = TPM2_ALG_NULL };
	_cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
	TPM2B_DATA nokey = { 0 };
	struct tre_blob b;
	ESYS_TR parent, s;
	TSS2_RC rc;
	int r;

	r = parent_auth(t, p, &parent, &s, &b);
	if (r < 0)
		return r;
	/* encryptionKey (the inner wrapper's key) is the first parameter. */
	Esys_TRSess_SetAttributes(t->esys, s, TRE_SESS_ATTRS, 0xff);
	rc = Esys_Import(t->esys, parent, s, ESYS_TR_NONE, ESYS_TR_NONE, enc_key ? enc_key : &nokey,
			 pub, dup, seed, sym ? sym : &nosym, &priv);
	if (rc) {
		tre_session_restart(t);
		return tre_fail(t, rc, "TPM2_Import");
	}
	b.pub = *pub;
	b.priv = *priv;
	*ret = b;
	return 0;
}

int tre_import(struct tre *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
	       const TPM2B_ENCRYPTED_SECRET *seed, const TPM2B_DATA *enc_key,
	       const TPMT_SYM_DEF_OBJECT *sym, struct tre_blob *ret)
{
	int r = check_mcim_public(t, pub);

	if (r < 0)
		return r;
	return TRE_RETRY(t, import(t, NULL, pub, dup, seed, enc_key, sym, ret));
}

int tre_import_to(struct tre_parent *p, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
		  const TPM2B_ENCRYPTED_SECRET *seed, struct tre_blob *ret)
{
	struct tre *t = p->tre;
	int r = check_mcim_public(t, pub);

	if (r < 0)
		return r;
	/* Loading the parent may need an object slot. */
	return TRE_RETRY(t, import(t, p, pub, dup, seed, NULL, NULL, ret));
}

/* ---- Loading ---- */

/* Under a storage parent: its PolicyNV(R <= bound), then Load. */
static int key_load_under(struct tre_key *k)
{
	struct tre *t = k->tre;
	struct tre_parent *p = tre_parent_find(t, &k->blob.parent);
	ESYS_TR s;
	TSS2_RC rc;
	int r;

	if (!p)
		return tre_failerr(t, -ENOKEY, "the object's storage parent is not known");
	r = tre_parent_session(p, &s);
	if (r < 0)
		return r;
	Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
	rc = Esys_Load(t->esys, p->handle, s, ESYS_TR_NONE, ESYS_TR_NONE, &k->blob.priv,
		       &k->blob.pub, &k->handle);
	if (rc) {
		k->handle = ESYS_TR_NONE;
		tre_session_restart(t);
		return tre_fail(t, rc, "loading an MCIM object under its storage parent");
	}
	k->gen = t->gen;
	return 0;
}

static int key_load_once(struct tre_key *k)
{
	struct tre *t = k->tre;
	ESYS_TR srk = ESYS_TR_NONE, s;
	TSS2_RC rc;
	int r;

	if (k->blob.parent.size)
		return key_load_under(k);
	r = tre_srk_get(t, k->blob.epoch, &srk);
	if (r < 0)
		return r;
	/* The SRK's policy: PolicyNV(epoch counter == the blob's epoch). */
	r = tre_srk_session(t, k->blob.epoch, &s);
	if (r == 0) {
		Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
		rc = Esys_Load(t->esys, srk, s, ESYS_TR_NONE, ESYS_TR_NONE, &k->blob.priv,
			       &k->blob.pub, &k->handle);
		if (rc) {
			k->handle = ESYS_TR_NONE;
			tre_session_restart(t);
			r = tre_fail(t, rc, "loading an MCIM object");
		}
	}
	if (srk != t->srk)
		tre_flush(t, &srk); /* an old epoch's SRK */
	if (r == 0)
		k->gen = t->gen;
	return r;
}

int tre_key_ensure_loaded(struct tre_key *k)
{
	int r;

	if (k->handle != ESYS_TR_NONE && k->gen == k->tre->gen)
		return 0;
	k->handle = ESYS_TR_NONE;
	/* No resource manager: flush what we can reload and retry. */
	r = TRE_ROOMY(k->tre, true, key_load_once(k));
	return r;
}

int tre_key_load(struct tre *t, const struct tre_blob *b, struct tre_key **ret)
{
	struct tre_key *k;
	int r;

	r = check_mcim_public(t, &b->pub);
	if (r < 0)
		return r;
	if (b->parent.size && !tre_parent_find(t, &b->parent))
		return tre_failerr(t, -ENOKEY, "the object's storage parent is not known "
				   "(tre_parent_add)");
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->tre = t;
	k->blob = *b;
	k->kind = kind_of(&b->pub);
	k->handle = ESYS_TR_NONE;
	r = TRE_RETRY(t, tre_key_ensure_loaded(k));
	if (r < 0) {
		free(k);
		return r;
	}
	k->next = t->keys;
	t->keys = k;
	*ret = k;
	return 0;
}

void tre_key_free(struct tre_key *k)
{
	struct tre *t;

	if (!k)
		return;
	t = k->tre;
	for (struct tre_key **p = &t->keys; *p; p = &(*p)->next)
		if (*p == k) {
			*p = k->next;
			break;
		}
	if (k->gen == t->gen)
		tre_flush(t, &k->handle);
	cfb_forget(k);
	wipe(k, sizeof(*k));
	free(k);
}

enum tre_kind tre_key_kind(const struct tre_key *k)
{
	return k->kind;
}

/* ---- Policies ---- */

static int load_op_key(struct tre *t, const TPM2B_PUBLIC *op_key, ESYS_TR *ret, TPM2B_NAME *name)
{
	_cleanup_esys_ TPM2B_NAME *n = NULL;
	TSS2_RC rc;

	/* Public part only, owner hierarchy: its tickets survive TPM resets. */
	rc = Esys_LoadExternal(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, op_key,
			       ESYS_TR_RH_OWNER, ret);
	if (rc)
		return tre_fail(t, rc, "loading the operator's policy key");
	rc = Esys_TR_GetName(t->esys, *ret, &n);
	if (rc) {
		tre_flush(t, ret);
		return tre_fail(t, rc, "the operator key's Name");
	}
	*name = *n;
	return 0;
}

/* The TPM checks the operator's signature over p: its ticket and key name. */
static int verify_policy(struct tre *t, const struct tre_policy *p, TPM2B_NAME *ret_name,
			 TPMT_TK_VERIFIED *ret_ticket)
{
	_cleanup_esys_ TPMT_TK_VERIFIED *ticket = NULL;
	TPM2B_DIGEST ahash = { 0 };
	/* The operator key's name algorithm hashes what it signs (aHash):
	 * SHA-1 is refused. */
	const EVP_MD *md = p->op_key.publicArea.nameAlg == TPM2_ALG_SHA1 ?
				   NULL : tpm2_hash_md(p->op_key.publicArea.nameAlg);
	unsigned int len = 0;
	TPM2B_NAME name;
	EVP_MD_CTX *ctx;
	ESYS_TR h;
	TSS2_RC rc;
	int r, ok;

	if (!md)
		return tre_failerr(t, -EINVAL, "operator key nameAlg 0x%x", p->op_key.publicArea.nameAlg);
	/* aHash = H(approvedPolicy || policyRef) (Part 3, 23.16). */
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) &&
	     EVP_DigestUpdate(ctx, p->approved.buffer, p->approved.size) &&
	     EVP_DigestUpdate(ctx, p->policy_ref.buffer, p->policy_ref.size) &&
	     EVP_DigestFinal_ex(ctx, ahash.buffer, &len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return tre_failerr(t, -ENOMEM, "hashing the approved policy");
	ahash.size = (UINT16)len;

	r = TRE_ROOMY(t, false, load_op_key(t, &p->op_key, &h, &name));
	if (r < 0)
		return r;
	rc = Esys_VerifySignature(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ahash,
				  &p->signature, &ticket);
	tre_flush(t, &h);
	if (rc) {
		r = tre_fail(t, rc, "the operator's signature over the policy");
		return r == -EIO ? -EKEYREJECTED : r;
	}
	*ret_name = name;
	*ret_ticket = *ticket;
	return 0;
}

static int set_policy(struct tre_key *k, const struct tre_policy *p)
{
	TPMT_TK_VERIFIED ticket;
	TPM2B_NAME name;
	int r = verify_policy(k->tre, p, &name, &ticket);

	if (r < 0)
		return r;
	k->policy = *p;
	k->op_name = name;
	k->ticket = ticket;
	k->has_policy = true;
	return 0;
}

static int policy_check(struct tre *t, const struct tre_policy *p)
{
	TPMT_TK_VERIFIED ticket;
	TPM2B_NAME name;

	return verify_policy(t, p, &name, &ticket);
}

int tre_policy_verify(struct tre *t, const struct tre_policy *p)
{
	return TRE_RETRY(t, policy_check(t, p));
}

int tre_key_set_policy(struct tre_key *k, const struct tre_policy *p)
{
	int r = TRE_RETRY(k->tre, set_policy(k, p));

	/* The key is about to be used: have the session ready, and in CFB
	 * mode its mask M (an error here is reported again by the use). */
	if (r == 0)
		tre_fast_ready(k->tre);
	if (r == 0 && k->kind == TRE_KIND_AES && k->tre->mode == TRE_MODE_AES_CFB) {
		const uint8_t *m;

		TRE_RETRY(k->tre, cfb_mask(k, &m));
	}
	return r;
}

/*
 * The per-use policy: PolicyPCR (platform state, checked against the
 * approved reference) and PolicyAuthorize (operator's approval, cached
 * ticket).  Two commands; the session is then consumed by the use.
 */
static int run_use_policy(struct tre_key *k, ESYS_TR s, bool *lost)
{
	struct tre *t = k->tre;
	TSS2_RC rc;

	*lost = false;
	rc = Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			    &k->policy.pcr_digest, &k->policy.pcrs);
	if (rc) {
		int r = tre_fail(t, rc, "PolicyPCR");

		if (tre_rc_base(rc) == TPM2_RC_VALUE) {
			snprintf(t->err, sizeof(t->err),
				 "platform state differs from the approved PCR reference"
				 " (tamper event or unapproved change): key refused by the TPM");
			r = -EKEYREJECTED;
		} else if (session_maybe_lost(t)) {
			/* Replace the session (flushed behind our back?). */
			session_drop(t);
			*lost = true;
		}
		return r;
	}
	rc = Esys_PolicyAuthorize(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  &k->policy.approved, &k->policy.policy_ref, &k->op_name,
				  &k->ticket);
	if (rc) {
		int r = tre_fail(t, rc, "PolicyAuthorize");

		tre_session_restart(t);
		return r == -EIO || r == -EINVAL ? -EKEYREJECTED : r;
	}
	return 0;
}

static int prepare_use(struct tre_key *k, ESYS_TR *ret_s)
{
	struct tre *t = k->tre;
	int r;

	if (!k->has_policy)
		return tre_failerr(t, -EPERM, "no operator-approved policy set for this key");
	/* Twice at most: once more on a new session when the first was lost. */
	for (int i = 0; i < 2; i++) {
		bool lost = false;

		/* Session first: starting it may need the SRK and so make room,
		 * which must not flush the key once it is loaded for this use. */
		r = tre_session(t, ret_s);
		if (r == 0)
			r = tre_key_ensure_loaded(k);
		if (r == 0)
			r = run_use_policy(k, *ret_s, &lost);
		if (!lost)
			break;
	}
	return r;
}

static int ed2(struct tre_key *k, ESYS_TR s, const uint8_t *in, size_t len, TPMI_ALG_CIPHER_MODE mode,
	       const TPM2B_IV *iv, uint8_t *out)
{
	struct tre *t = k->tre;
	_cleanup_esys_ TPM2B_MAX_BUFFER *o = NULL;
	_cleanup_esys_ TPM2B_IV *ivo = NULL;
	TPM2B_MAX_BUFFER i = { .size = (UINT16)len };
	TSS2_RC rc;

	memcpy(i.buffer, in, len);
	/* inData and outData are the first parameters: both go encrypted. */
	Esys_TRSess_SetAttributes(t->esys, s, TRE_SESS_ATTRS, 0xff);
	rc = Esys_EncryptDecrypt2(t->esys, k->handle, s, ESYS_TR_NONE, ESYS_TR_NONE, &i, TPM2_NO,
				  mode, iv, &o, &ivo);
	wipe(&i, sizeof(i));
	if (rc) {
		tre_session_restart(t);
		return tre_fail(t, rc, "EncryptDecrypt2");
	}
	if (o->size != len) {
		wipe(o->buffer, o->size);
		return tre_failerr(t, -EIO, "EncryptDecrypt2 returned %u bytes", o->size);
	}
	memcpy(out, o->buffer, len);
	wipe(o->buffer, o->size);
	return 0;
}

/* One EncryptDecrypt2 (decrypt = NO) through the hot path or ESAPI. */
static int ek_call(struct tre_key *k, const uint8_t *in, size_t len, TPMI_ALG_CIPHER_MODE mode,
		   const TPM2B_IV *iv, uint8_t *out)
{
	ESYS_TR s;
	int r;

	if (k->tre->fast)
		return tre_fast_ed2(k, in, len, mode, iv, out);
	r = prepare_use(k, &s);
	return r < 0 ? r : ed2(k, s, in, len, mode, iv, out);
}

/*
 * CFB-only mode.  Parameter encryption covers only the first command and
 * response parameters (Part 1, 21.1): the IV goes in clear and ivOut, the
 * last ciphertext block (Part 3, 15.2), comes back in clear.  So neither the
 * input X of E_K nor E_K(X) may sit in either.  CFB: C_i = P_i xor
 * E_K(C_{i-1}), C_0 = IV.  With the fixed public R and M = E_K(R):
 *   once per key: IV = R, P_1 = Z1 (random, secret): C_1 = M xor Z1, so
 *     M = C_1 xor Z1; ivOut = C_1 is masked by Z1;
 *   per block: IV = R, P = (X xor M) || Z (Z random): C_1 = X and
 *     C_2 = E_K(X) xor Z; ivOut = C_2 is masked by Z; E_K(X) = C_2 xor Z.
 * M, as good as a key for this (it unmasks X), lives in locked memory, one
 * slot per key (below), wiped with the key.
 */
static const uint8_t cfb_r[16] = { 'm', 'c', 'i', 'm', ' ', 'C', 'F', 'B', ' ', 'R', 0, 0, 0, 0, 0, 1 };

struct cfb_slot {
	const struct tre_key *key; /* NULL: free */
	uint8_t m[16];
};
/* One locked page of slots for every TRE of the process (struct tre_key is
 * shared with the other sources: its layout stays as it is). */
static struct cfb_slot *cfb_slots;
static size_t cfb_nslots;

static struct cfb_slot *cfb_slot(struct tre_key *k, bool create)
{
	struct cfb_slot *free_slot = NULL;

	if (!cfb_slots && create) {
		long page = sysconf(_SC_PAGESIZE);
		void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		if (mlock(p, (size_t)page) < 0) {
			munmap(p, (size_t)page);
			return NULL;
		}
		madvise(p, (size_t)page, MADV_DONTDUMP);
		madvise(p, (size_t)page, MADV_DONTFORK);
		cfb_slots = p;
		cfb_nslots = (size_t)page / sizeof(*cfb_slots);
	}
	for (size_t i = 0; i < cfb_nslots; i++) {
		if (cfb_slots[i].key == k)
			return &cfb_slots[i];
		if (!cfb_slots[i].key && !free_slot)
			free_slot = &cfb_slots[i];
	}
	if (!create || !free_slot)
		return NULL;
	free_slot->key = k;
	return free_slot;
}

static void cfb_forget(struct tre_key *k)
{
	struct cfb_slot *sl = cfb_slot(k, false);

	if (sl)
		explicit_bzero(sl, sizeof(*sl));
}

/* M = E_K(R), once per key. */
static int cfb_mask(struct tre_key *k, const uint8_t **ret_m)
{
	struct tre *t = k->tre;
	struct cfb_slot *sl = cfb_slot(k, false);
	TPM2B_IV iv = { .size = 16 };
	uint8_t z[16], c[16];
	int r;

	if (sl) {
		*ret_m = sl->m;
		return 0;
	}
	if (RAND_bytes(z, sizeof(z)) != 1)
		return tre_failerr(t, -EIO, "no random mask");
	memcpy(iv.buffer, cfb_r, 16);
	r = ek_call(k, z, 16, TPM2_ALG_CFB, &iv, c);
	if (r == 0) {
		sl = cfb_slot(k, true);
		if (!sl) {
			r = tre_failerr(t, -ENOMEM, "no locked memory for the CFB mask");
		} else {
			for (int i = 0; i < 16; i++)
				sl->m[i] = c[i] ^ z[i];
			*ret_m = sl->m;
		}
	}
	wipe(z, sizeof(z));
	wipe(c, sizeof(c));
	return r;
}

static int cfb_block(struct tre_key *k, const uint8_t x[16], uint8_t out[16])
{
	struct tre *t = k->tre;
	TPM2B_IV iv = { .size = 16 };
	uint8_t in[32], c[32];
	const uint8_t *m;
	int r;

	r = cfb_mask(k, &m);
	if (r < 0)
		return r;
	for (int i = 0; i < 16; i++)
		in[i] = x[i] ^ m[i];
	if (RAND_bytes(in + 16, 16) != 1) {
		wipe(in, sizeof(in));
		return tre_failerr(t, -EIO, "no random mask");
	}
	memcpy(iv.buffer, cfb_r, 16);
	r = ek_call(k, in, 32, TPM2_ALG_CFB, &iv, c);
	/* C_1 must be X again: otherwise M is not this key's E_K(R). */
	if (r == 0 && CRYPTO_memcmp(c, x, 16) != 0) {
		cfb_forget(k);
		r = tre_failerr(t, -EIO, "CFB: the first block does not unmask (stale mask)");
	}
	if (r == 0)
		for (int i = 0; i < 16; i++)
			out[i] = c[16 + i] ^ in[16 + i];
	wipe(in, sizeof(in));
	wipe(c, sizeof(c));
	return r;
}

static int key_encrypt(struct tre_key *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
	struct tre *t = k->tre;

	if (t->mode == TRE_MODE_AES_ECB) {
		TPM2B_IV noiv = { 0 };

		return ek_call(k, in, 16 * nblocks, TPM2_ALG_ECB, &noiv, out);
	}
	/* CFB only: one masked two-block call per E_K block (above). */
	for (size_t b = 0; b < nblocks; b++) {
		int r = cfb_block(k, in + 16 * b, out + 16 * b);

		if (r < 0)
			return r;
	}
	return 0;
}

int tre_key_encrypt(struct tre_key *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
	struct tre *t = k->tre;

	if (k->kind != TRE_KIND_AES || t->mode == TRE_MODE_SEALED)
		return tre_failerr(t, -EOPNOTSUPP, "E_K in the TPM needs an AES key and AES support");
	if (nblocks == 0 || nblocks > sizeof(((TPM2B_MAX_BUFFER *)0)->buffer) / 16)
		return -EINVAL;
	return TRE_RETRY(t, key_encrypt(k, in, out, nblocks));
}

/* ---- Sealed mode ---- */

static int secbuf_get(struct tre *t)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (t->secbuf)
		return 0;
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return tre_failerr(t, -errno, "mmap for the secret buffer: %m");
	if (mlock(p, (size_t)page) < 0) {
		int e = -errno;

		munmap(p, (size_t)page);
		return tre_failerr(t, e, "mlock of the secret buffer: %s", strerror(-e));
	}
	madvise(p, (size_t)page, MADV_DONTDUMP);
	madvise(p, (size_t)page, MADV_DONTFORK);
	t->secbuf = p;
	t->secbuf_len = (size_t)page;
	return 0;
}

/* Overwrites the stack below the caller, where the TSS decrypted Unseal's
 * response (tpm2-tss decrypts parameters through a stack copy). */
static __attribute__((noinline)) void scrub_stack(void)
{
	volatile uint8_t pad[32768];

	explicit_bzero((void *)pad, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");
}

static void wipe_sys_response(struct tre *t)
{
	TSS2_SYS_CONTEXT *sys = NULL;
	const uint8_t *rp = NULL;
	size_t n = 0;

	/* The plaintext response parameters stay in the SAPI response buffer
	 * until the next response overwrites them: wipe them now. */
	if (Esys_GetSysContext(t->esys, &sys) == TSS2_RC_SUCCESS && sys &&
	    Tss2_Sys_GetRpBuffer(sys, &n, &rp) == TSS2_RC_SUCCESS && rp)
		explicit_bzero((uint8_t *)rp, n);
}

static int unseal(struct tre_key *k, size_t *ret_len)
{
	struct tre *t = k->tre;
	TPM2B_SENSITIVE_DATA *o = NULL;
	ESYS_TR s;
	TSS2_RC rc;
	int r;

	r = secbuf_get(t);
	if (r == 0 && t->fast)
		return tre_fast_unseal(k, t->secbuf, t->secbuf_len, ret_len);
	if (r == 0)
		r = prepare_use(k, &s);
	if (r < 0)
		return r;
	/* Unseal has no command parameter; its outData goes encrypted. */
	Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_ENCRYPT,
				  0xff);
	rc = Esys_Unseal(t->esys, k->handle, s, ESYS_TR_NONE, ESYS_TR_NONE, &o);
	if (rc) {
		tre_session_restart(t);
		return tre_fail(t, rc, "Unseal");
	}
	if (o->size > t->secbuf_len) {
		r = tre_failerr(t, -EIO, "unsealed %u bytes", o->size);
	} else {
		memcpy(t->secbuf, o->buffer, o->size);
		*ret_len = o->size;
	}
	wipe(o, sizeof(*o));
	Esys_Free(o);
	wipe_sys_response(t);
	return r;
}

int tre_key_with_secret(struct tre_key *k, tre_secret_fn use, void *user_data)
{
	struct tre *t = k->tre;
	size_t len = 0;
	int r;

	if (k->kind != TRE_KIND_SEALED)
		return tre_failerr(t, -EOPNOTSUPP, "not a sealed object");
	r = TRE_RETRY(t, unseal(k, &len));
	scrub_stack();
	if (r < 0)
		return r;
	r = use(t->secbuf, len, user_data);
	wipe(t->secbuf, t->secbuf_len);
	return r;
}

/* ---- Policy digests the device computes in the TPM (trial sessions) ---- */

static int trial_start(struct tre *t, ESYS_TR *s)
{
	TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256, s);
	if (rc) {
		*s = ESYS_TR_NONE;
		return tre_fail(t, rc, "starting a trial session");
	}
	return 0;
}

static int trial_digest(struct tre *t, ESYS_TR *s, TPM2B_DIGEST *ret)
{
	_cleanup_esys_ TPM2B_DIGEST *d = NULL;
	TSS2_RC rc;

	rc = Esys_PolicyGetDigest(t->esys, *s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
	tre_flush(t, s);
	if (rc)
		return tre_fail(t, rc, "PolicyGetDigest");
	*ret = *d;
	return 0;
}

static int policy_pcr_now(struct tre *t, const TPML_PCR_SELECTION *pcrs, TPM2B_DIGEST *ret_pcr,
			  TPM2B_DIGEST *ret_policy)
{
	TPM2B_DIGEST vals[24 * 2];
	unsigned int len = 0;
	uint32_t n = 0;
	EVP_MD_CTX *ctx;
	ESYS_TR s;
	TSS2_RC rc;
	int r, ok;

	r = tre_pcr_read(t, pcrs, vals, ARRAY_SIZE(vals), &n);
	if (r < 0)
		return r;
	/* Composite digest: H(PCR values in selection order) (Part 3, 23.7). */
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (uint32_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, vals[i].buffer, vals[i].size);
	ok = ok && EVP_DigestFinal_ex(ctx, ret_pcr->buffer, &len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return tre_failerr(t, -ENOMEM, "hashing PCR values");
	ret_pcr->size = (UINT16)len;
	r = trial_start(t, &s);
	if (r < 0)
		return r;
	rc = Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ret_pcr, pcrs);
	if (rc) {
		tre_flush(t, &s);
		return tre_fail(t, rc, "PolicyPCR (trial)");
	}
	return trial_digest(t, &s, ret_policy);
}

int tre_policy_pcr_now(struct tre *t, const TPML_PCR_SELECTION *pcrs, TPM2B_DIGEST *ret_pcr_digest,
		       TPM2B_DIGEST *ret_policy)
{
	return TRE_RETRY(t, policy_pcr_now(t, pcrs, ret_pcr_digest, ret_policy));
}

static int policy_authorize_digest(struct tre *t, const TPM2B_PUBLIC *op_key,
				   const TPM2B_NONCE *ref, TPM2B_DIGEST *ret)
{
	TPMT_TK_VERIFIED noticket = { .tag = TPM2_ST_VERIFIED, .hierarchy = TPM2_RH_NULL };
	TPM2B_NONCE noref = { 0 };
	TPM2B_DIGEST none = { 0 };
	TPM2B_NAME name;
	ESYS_TR h, s;
	TSS2_RC rc;
	int r;

	r = TRE_ROOMY(t, false, load_op_key(t, op_key, &h, &name));
	if (r < 0)
		return r;
	tre_flush(t, &h);
	r = trial_start(t, &s);
	if (r < 0)
		return r;
	/* A trial session does not check approvedPolicy nor the ticket. */
	rc = Esys_PolicyAuthorize(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &none,
				  ref ? ref : &noref, &name, &noticket);
	if (rc) {
		tre_flush(t, &s);
		return tre_fail(t, rc, "PolicyAuthorize (trial)");
	}
	return trial_digest(t, &s, ret);
}

int tre_policy_authorize_digest(struct tre *t, const TPM2B_PUBLIC *op_key,
				const TPM2B_NONCE *policy_ref, TPM2B_DIGEST *ret)
{
	return TRE_RETRY(t, policy_authorize_digest(t, op_key, policy_ref, ret));
}
