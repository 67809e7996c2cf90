/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM2_Import of duplication blobs made by lib/tpm2-dup (the operator's
 * code): good blobs import and work (E_K equals AES-128 in OpenSSL, the
 * sealed secret comes back), a tampered blob fails with TPM_RC_INTEGRITY, a
 * blob wrapped for another TPM fails, a changed policy in the public area
 * fails, a tampered stored private blob fails to load.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "daemon/tre/tre-aka.h"
#include "lib/tpm2-crypto.h"
#include "tre-test.h"

static bool integrity_error(struct tre *t, int e)
{
	return e == -EBADMSG && tre_rc_base(tre_last_rc(t)) == TPM2_RC_INTEGRITY;
}

static int aes_ecb(const uint8_t k[16], const uint8_t *in, uint8_t *out, size_t n)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	ok = c && EVP_EncryptInit_ex2(c, EVP_aes_128_ecb(), k, NULL, NULL) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) && EVP_EncryptUpdate(c, out, &len, in, (int)n);
	EVP_CIPHER_CTX_free(c);
	return ok && len == (int)n ? 0 : -EIO;
}

struct expect {
	const uint8_t *data;
	size_t len;
};

static int check_secret(const uint8_t *s, size_t len, void *user_data)
{
	const struct expect *x = user_data;

	return len == x->len && !memcmp(s, x->data, len) ? 0 : -EPROTO;
}

int main(void)
{
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *ka = NULL, *kb = NULL, *kx = NULL;
	uint8_t k[16], sealed[32], in[48], out[48], ref[48];
	TPM2B_ENCRYPTED_SECRET seed, seed2;
	TPM2B_PRIVATE dup, bad;
	TPM2B_PUBLIC srk, pub, pub2, other;
	struct tt_operator op;
	struct tre_policy pol;
	struct tre_blob b, bb;
	struct expect x = { sealed, sizeof(sealed) };
	int e;

	tt_random(k, sizeof(k));
	tt_random(sealed, sizeof(sealed));
	tt_random(in, sizeof(in));
	t = tt_open(NULL);
	tt_operator_init(&op);
	e = tt_approve_now(t, &op, &pol);
	if (e == 0)
		e = tre_srk_public(t, &srk);
	if (!tap_ok(e == 0, "SRK public and an approved policy"))
		return tap_end();

	/* Good AES key blob. */
	e = tt_wrap(&srk, &op, TRE_KIND_AES, k, 16, &pub, &dup, &seed);
	tap_ok(e == 0, "lib/ wraps an AES-128 key to the SRK (ECDH + KDFe seed, KDFa, AES-CFB, HMAC)");
	e = tre_import(t, &pub, &dup, &seed, NULL, NULL, &b);
	tap_ok(e == 0, "TPM2_Import accepts it (%s)", e ? tre_errmsg(t) : "ok");
	e = tre_key_load(t, &b, &ka);
	if (e == 0)
		e = tre_key_set_policy(ka, &pol);
	tap_ok(e == 0, "TPM2_Load of the private blob the store keeps");
	e = ka ? tre_key_encrypt(ka, in, out, 3) : -ENOENT;
	aes_ecb(k, in, ref, sizeof(in));
	tap_ok(e == 0 && !memcmp(out, ref, sizeof(out)),
	       "E_K of 3 blocks in the TPM equals AES-128-ECB in OpenSSL");

	/* Good sealed blob. */
	e = tt_import(t, &op, TRE_KIND_SEALED, sealed, sizeof(sealed), &bb);
	if (e == 0)
		e = tre_key_load(t, &bb, &kb);
	if (e == 0)
		e = tre_key_set_policy(kb, &pol);
	if (e == 0)
		e = tre_key_with_secret(kb, check_secret, &x);
	tap_ok(e == 0, "sealed object imported; Unseal returns the secret (%s)",
	       e ? tre_errmsg(t) : "ok");

	/* Tampering with the duplicate: the outer HMAC catches it. */
	bad = dup;
	bad.buffer[bad.size - 1] ^= 0x01;
	e = tre_import(t, &pub, &bad, &seed, NULL, NULL, &b);
	tap_ok(integrity_error(t, e), "a flipped bit in the encrypted sensitive: TPM_RC_INTEGRITY (0x%x)",
	       tre_last_rc(t));
	bad = dup;
	bad.buffer[4] ^= 0x80; /* inside the outer HMAC */
	e = tre_import(t, &pub, &bad, &seed, NULL, NULL, &b);
	tap_ok(integrity_error(t, e), "a flipped bit in the outer HMAC: TPM_RC_INTEGRITY (0x%x)",
	       tre_last_rc(t));
	/* The name (hence the policy) is bound: stripping the policy fails. */
	pub2 = pub;
	pub2.publicArea.authPolicy.buffer[0] ^= 0xff;
	e = tre_import(t, &pub2, &dup, &seed, NULL, NULL, &b);
	tap_ok(integrity_error(t, e), "a changed authPolicy in the public area: TPM_RC_INTEGRITY (0x%x)",
	       tre_last_rc(t));

	/* A blob for another TPM: wrapped to a storage key we do not hold. */
	{
		EVP_PKEY *pk = EVP_EC_gen("P-256");

		other = srk;
		e = pk ? tpm2_public_from_evp(pk, TPM2_ALG_SHA256, srk.publicArea.objectAttributes,
					      &other.publicArea) : -ENOMEM;
		other.publicArea.parameters.eccDetail.symmetric =
			srk.publicArea.parameters.eccDetail.symmetric;
		if (e == 0)
			e = tt_wrap(&other, &op, TRE_KIND_AES, k, 16, &pub2, &dup, &seed2);
		EVP_PKEY_free(pk);
		if (e == 0)
			e = tre_import(t, &pub2, &dup, &seed2, NULL, NULL, &b);
		tap_ok(e < 0, "a blob wrapped to another TPM's storage key is refused (%s)",
		       e < 0 ? tre_errmsg(t) : "imported");
	}

	/* A stored private blob changed on disk does not load. */
	b = (struct tre_blob){ 0 };
	e = tt_import(t, &op, TRE_KIND_AES, k, 16, &b);
	if (e == 0) {
		b.priv.buffer[b.priv.size / 2] ^= 0x04;
		e = tre_key_load(t, &b, &kx);
	}
	tap_ok(integrity_error(t, e), "a tampered stored private blob fails to load: TPM_RC_INTEGRITY");

	/* Objects that would weaken the model are refused before the TPM. */
	pub2 = pub;
	pub2.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	e = tre_import(t, &pub2, &dup, &seed, NULL, NULL, &b);
	tap_ok(e == -EINVAL, "an MCIM object usable by password (userWithAuth) is refused");
	pub2 = pub;
	pub2.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	e = tre_import(t, &pub2, &dup, &seed, NULL, NULL, &b);
	tap_ok(e == -EINVAL, "an AES key with the decrypt attribute is refused");
	tt_operator_free(&op);
	return tap_end();
}
