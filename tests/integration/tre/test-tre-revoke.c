/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storage parents and the revocation counter R (docs/tre.md 4,
 * docs/change-format.md 7) on swtpm: the parent's policy equals the TPM's
 * trial digest; objects wrapped to a parent import and work under it; the
 * AK certifies it; after tre_revoke_upto(b) a parent of bound b is refused
 * (-EKEYREVOKED) and its loaded objects are gone, while a parent of a
 * higher bound and its objects keep working; the revoked parent's blobs
 * kept aside (an old store copy) do not load in a new context, nor with
 * another bound claimed; R never goes back, not even when the counter is
 * undefined and defined again (TPM 2.0 Part 1 37.2.3): that can only revoke
 * more.
 */
#include <tss2/tss2_mu.h>

#include "daemon/tre/tre-internal.h"
#include "lib/tpm2-crypto.h"
#include "tre-test.h"

struct expect {
	const uint8_t *data;
	size_t len;
};

static int check_secret(const uint8_t *s, size_t len, void *user_data)
{
	const struct expect *x = user_data;

	return len == x->len && !memcmp(s, x->data, len) ? 0 : -EPROTO;
}

/* PolicyNV(R <= bound) in a trial session: the TPM's own digest. */
static int trial_digest(struct tre *t, uint64_t bound, TPM2B_DIGEST *ret)
{
	TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	_cleanup_esys_ TPM2B_DIGEST *d = NULL;
	TPM2B_OPERAND op = { .size = 8 };
	ESYS_TR s = ESYS_TR_NONE;
	uint64_t r_now;
	TSS2_RC rc;

	if (tre_revocation(t, &r_now) < 0) /* opens t->revoke_nv */
		return -EIO;
	for (int i = 0; i < 8; i++)
		op.buffer[i] = (uint8_t)(bound >> (56 - 8 * i));
	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256, &s);
	if (!rc)
		rc = Esys_PolicyNV(t->esys, t->revoke_nv, t->revoke_nv, s, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE, &op, 0, TPM2_EO_UNSIGNED_LE);
	if (!rc)
		rc = Esys_PolicyGetDigest(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
	if (s != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, s);
	if (rc)
		return -EIO;
	*ret = *d;
	return 0;
}

/* Wraps a sealed secret to the parent's public key and imports it. */
static int import_sealed(struct tre_parent *p, const struct tt_operator *op,
			 const uint8_t *secret, size_t len, struct tre_blob *ret)
{
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_PRIVATE dup;
	TPM2B_PUBLIC pub;
	int r = tt_wrap(tre_parent_public(p), op, TRE_KIND_SEALED, secret, len, &pub, &dup, &seed);

	return r < 0 ? r : tre_import_to(p, &pub, &dup, &seed, ret);
}

static int use_sealed(struct tre *t, const struct tre_blob *b, const struct tre_policy *pol,
		      const uint8_t *secret, size_t len)
{
	_cleanup_tre_key_ struct tre_key *k = NULL;
	struct expect x = { secret, len };
	int r = tre_key_load(t, b, &k);

	if (r == 0)
		r = tre_key_set_policy(k, pol);
	return r < 0 ? r : tre_key_with_secret(k, check_secret, &x);
}

static bool same_name(const TPM2B_NAME *a, const TPM2B_NAME *b)
{
	return a->size == b->size && !memcmp(a->name, b->name, a->size);
}

int main(void)
{
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *k1 = NULL;
	uint8_t s1[32], s2[32], mbuf[TRE_BLOB_MAX];
	struct tre_blob pb1, pb2, ob1, ob2, again;
	struct tre_parent *p1 = NULL, *p2 = NULL, *px = NULL;
	struct expect x1 = { s1, sizeof(s1) };
	TPM2B_DIGEST sw, trial;
	TPM2B_ATTEST attest;
	TPMT_SIGNATURE sig;
	struct tt_operator op;
	struct tre_policy pol;
	uint64_t r0, b1, b2, r_now = 0, r_after;
	size_t mlen = 0;
	int e;

	tt_random(s1, sizeof(s1));
	tt_random(s2, sizeof(s2));
	t = tt_open(NULL);
	tt_operator_init(&op);
	e = tt_approve_now(t, &op, &pol);
	if (e == 0)
		e = tre_revocation(t, &r0);
	if (!tap_ok(e == 0, "R defined and read (%llu), an approved policy",
		    (unsigned long long)r0))
		return tap_end();
	b1 = r0 + 1;
	b2 = b1 + 1;

	/* The policy, computed, against the TPM's trial session. */
	e = tre_parent_policy(t, b1, &sw);
	if (e == 0)
		e = trial_digest(t, b1, &trial);
	tap_ok(e == 0 && sw.size == 32 && trial.size == sw.size &&
		       !memcmp(sw.buffer, trial.buffer, sw.size),
	       "PolicyNV(R <= %llu, UNSIGNED_LE) computed equals the trial session's digest",
	       (unsigned long long)b1);
	e = tre_parent_policy(t, b2, &trial);
	tap_ok(e == 0 && memcmp(sw.buffer, trial.buffer, sw.size),
	       "another bound gives another policy");

	/* Two parents, one object under each. */
	e = tre_parent_create(t, b1, &pb1);
	if (e == 0)
		e = tre_parent_add(t, &pb1, b1, &p1);
	tap_ok(e == 0, "parent P1 (bound %llu) created under the SRK (%s)", (unsigned long long)b1,
	       e ? tre_errmsg(t) : "ok");
	e = tre_parent_create(t, b2, &pb2);
	if (e == 0)
		e = tre_parent_add(t, &pb2, b2, &p2);
	tap_ok(e == 0, "parent P2 (bound %llu) created", (unsigned long long)b2);
	if (!p1 || !p2)
		return tap_end();
	{
		const TPMA_OBJECT a = tre_parent_public(p1)->publicArea.objectAttributes;

		tap_ok(a == (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			     TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
			     TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA) &&
			       tre_parent_public(p1)->publicArea.parameters.eccDetail.symmetric
					       .mode.aes == TPM2_ALG_CFB,
		       "P1: restricted decrypt, fixedTPM|fixedParent, userWithAuth clear, "
		       "AES-128-CFB");
	}
	e = tre_parent_add(t, &pb1, b2, &px);
	tap_ok(e == -EINVAL, "P1's blob claimed with another bound is refused (%d)", e);
	e = tre_parent_add(t, &pb1, b1, &px);
	tap_ok(e == 0 && px == p1, "adding P1 again gives the same parent");

	e = tre_ak_create(t, TRE_EK_ECC, NULL);
	if (e == 0)
		e = tre_certify_parent(p1, (const uint8_t *)"nonce", 5, &attest, &sig);
	{
		TPMS_ATTEST a = { 0 };
		size_t off = 0;

		tap_ok(e == 0 &&
			       !Tss2_MU_TPMS_ATTEST_Unmarshal(attest.attestationData, attest.size,
							      &off, &a) &&
			       a.type == TPM2_ST_ATTEST_CERTIFY &&
			       same_name(&a.attested.certify.name, tre_parent_name(p1)),
		       "the AK certifies P1 (TPM2_Certify names it) (%s)", e ? tre_errmsg(t) : "ok");
	}

	e = import_sealed(p1, &op, s1, sizeof(s1), &ob1);
	tap_ok(e == 0 && same_name(&ob1.parent, tre_parent_name(p1)),
	       "an object wrapped to P1 imports under it (%s)", e ? tre_errmsg(t) : "ok");
	e = tre_blob_marshal(&ob1, mbuf, sizeof(mbuf), &mlen);
	if (e == 0)
		e = tre_blob_unmarshal(mbuf, mlen, &again);
	tap_ok(e == 0 && mbuf[4] == 2 && same_name(&again.parent, &ob1.parent),
	       "its blob (version 2) names the parent and reads back");
	e = import_sealed(p2, &op, s2, sizeof(s2), &ob2);
	tap_ok(e == 0, "an object wrapped to P2 imports under it");
	e = tre_key_load(t, &ob1, &k1);
	if (e == 0)
		e = tre_key_set_policy(k1, &pol);
	if (e == 0)
		e = tre_key_with_secret(k1, check_secret, &x1);
	tap_ok(e == 0, "P1's object loads and unseals its secret (%s)", e ? tre_errmsg(t) : "ok");
	e = use_sealed(t, &ob2, &pol, s2, sizeof(s2));
	tap_ok(e == 0, "P2's object works");
	{
		TPM2B_PUBLIC tmpl;
		struct tre_blob bk;

		e = tre_template(TRE_KIND_SEALED, &op.auth_policy, &tmpl);
		if (e == 0)
			e = tre_create_known_to(p2, &tmpl, s2, 16, &bk);
		if (e == 0)
			e = use_sealed(t, &bk, &pol, s2, 16);
		tap_ok(e == 0 && same_name(&bk.parent, tre_parent_name(p2)),
		       "TPM2_Create of a known secret under P2 works too");
	}
	{
		TPM2B_ENCRYPTED_SECRET seed;
		TPM2B_PRIVATE dup;
		TPM2B_PUBLIC pub;
		struct tre_blob bx;

		e = tt_wrap(tre_parent_public(p1), &op, TRE_KIND_SEALED, s1, 16, &pub, &dup,
			    &seed);
		if (e == 0)
			e = tre_import_to(p2, &pub, &dup, &seed, &bx);
		tap_ok(e == -EBADMSG, "a blob wrapped to P1 does not import under P2 (%d)", e);
	}

	/* Revocation up to P1's bound. */
	e = tre_revoke_upto(t, b1, &r_now);
	tap_ok(e == 0 && r_now == b1 + 1, "tre_revoke_upto(%llu): R = %llu",
	       (unsigned long long)b1, (unsigned long long)r_now);
	e = tre_key_with_secret(k1, check_secret, &x1);
	tap_ok(e == -EKEYREVOKED, "P1's loaded object is gone: its reload is refused (%d: %s)", e,
	       tre_errmsg(t));
	e = tre_parent_load(p1);
	tap_ok(e == -EKEYREVOKED, "P1 is revoked (%d: %s)", e, tre_errmsg(t));
	e = tre_parent_load(p2);
	tap_ok(e == 0, "P2 (bound %llu >= R) still loads", (unsigned long long)b2);
	e = use_sealed(t, &ob2, &pol, s2, sizeof(s2));
	tap_ok(e == 0, "P2's object still works (%s)", e ? tre_errmsg(t) : "ok");
	e = tre_revoke_upto(t, b1, &r_after);
	tap_ok(e == 0 && r_after == r_now, "revoking again up to %llu moves nothing",
	       (unsigned long long)b1);
	e = import_sealed(p1, &op, s1, sizeof(s1), &again);
	tap_ok(e == -EKEYREVOKED, "nothing imports under P1 any more (%d)", e);

	/* An old store copy: P1's blob and its object's, in a new context. */
	tre_key_free(TAKE_PTR(k1));
	tre_close(TAKE_PTR(t));
	t = tt_open(NULL);
	e = tre_parent_add(t, &pb1, b1, &p1);
	tap_ok(e == 0, "P1's kept blob is accepted as a parent description");
	e = use_sealed(t, &ob1, &pol, s1, sizeof(s1));
	tap_ok(e == -EKEYREVOKED, "P1's kept object blob does not load in a new context (%d: %s)",
	       e, tre_errmsg(t));
	e = tre_parent_add(t, &pb2, b2, &p2);
	if (e == 0)
		e = use_sealed(t, &ob2, &pol, s2, sizeof(s2));
	tap_ok(e == 0, "P2's kept blobs still work in the new context");

	/* R never goes back: undefine the counter, define it again. */
	e = tre_revocation(t, &r_now);
	if (e == 0 && Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, t->revoke_nv,
					    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE))
		e = -EIO;
	t->revoke_nv = ESYS_TR_NONE;
	tap_ok(e == 0, "the owner undefines R (at %llu)", (unsigned long long)r_now);
	e = tre_revocation(t, &r_after);
	tap_ok(e == 0 && r_after >= r_now,
	       "R defined again starts at %llu, not below %llu (Part 1 37.2.3)",
	       (unsigned long long)r_after, (unsigned long long)r_now);
	e = use_sealed(t, &ob1, &pol, s1, sizeof(s1));
	tap_ok(e == -EKEYREVOKED, "P1's object stays revoked (%d)", e);
	/* Defining it writes it once (tre-counter.h), one above that value:
	 * a redefinition can only revoke more, never less. */
	e = use_sealed(t, &ob2, &pol, s2, sizeof(s2));
	tap_ok(r_after <= b2 ? e == 0 : e == -EKEYREVOKED,
	       "P2's object (bound %llu) %s under the redefined counter (%d)",
	       (unsigned long long)b2, r_after <= b2 ? "works" : "is refused", e);
	tt_operator_free(&op);
	return tap_end();
}
