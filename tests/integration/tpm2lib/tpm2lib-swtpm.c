// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/tpm2-* against a real TPM (swtpm, through tests/lib/with-swtpm, TCTI in
 * $MCIM_TEST_TCTI), over ESAPI:
 *   - duplication blobs made by lib/ import (TPM2_Import) and load under an
 *     ECC P-256 and an RSA 2048 storage primary; the AES key encrypts like
 *     OpenSSL's AES-128-ECB and refuses to decrypt; the sealed object
 *     unseals; a tampered blob or one for another parent fails with
 *     TPM_RC_INTEGRITY;
 *   - MakeCredential for the RSA and ECC EK: ActivateCredential returns the
 *     secret, and fails for another AK name;
 *   - every policy digest equals the TPM's (trial sessions, and real ones for
 *     PolicySigned / PolicyAuthorize / PolicyAuthorizeNV, which also check the
 *     aHash we sign); an imported key with a PolicyPCR works until the PCR
 *     changes;
 *   - quotes by ECC and RSA AKs verify with tpm2_quote_verify and with
 *     tpm2_checkquote on the exported files; tampering is rejected.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "hex.h"
#include "tpm2-cred.h"
#include "tpm2-crypto.h"
#include "tpm2-dup.h"
#include "tpm2-policy.h"
#include "tpm2-quote.h"

static ESYS_CONTEXT *ectx;
static TSS2_TCTI_CONTEXT *tcti;

#define NV_EPOCH 0x01c10100
#define NV_POLICY 0x01c10101

static void check_rc(TSS2_RC rc, const char *what, const char *file, int line)
{
	if (rc != TSS2_RC_SUCCESS) {
		print_error("%s: %s (0x%x)\n", what, Tss2_RC_Decode(rc), rc);
		_fail(file, line);
	}
}
#define CHECK_RC(expr) check_rc((expr), #expr, __FILE__, __LINE__)

/* The format-one base error without its handle/parameter/session number. */
static TSS2_RC base_rc(TSS2_RC rc)
{
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & ~TPM2_RC_N_MASK;
}

static void flush(ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		Esys_FlushContext(ectx, *h);
	*h = ESYS_TR_NONE;
}

/* Storage primary under the owner hierarchy (the SRK of the TRE). */
static void create_srk(TPMI_ALG_PUBLIC type, ESYS_TR *ret, TPM2B_PUBLIC **ret_pub,
		       const char *unique)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPMT_PUBLIC *p = &in.publicArea;

	p->type = type;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
			      TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	p->parameters.asymDetail.symmetric = (TPMT_SYM_DEF_OBJECT){
		.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB };
	p->parameters.asymDetail.scheme.scheme = TPM2_ALG_NULL;
	if (type == TPM2_ALG_ECC) {
		p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	} else {
		p->parameters.rsaDetail.keyBits = 2048;
	}
	/* a different unique value makes a different primary from the same seed */
	if (unique) {
		if (type == TPM2_ALG_ECC) {
			p->unique.ecc.x.size = strlen(unique);
			memcpy(p->unique.ecc.x.buffer, unique, strlen(unique));
		} else {
			p->unique.rsa.size = strlen(unique);
			memcpy(p->unique.rsa.buffer, unique, strlen(unique));
		}
	}
	CHECK_RC(Esys_CreatePrimary(ectx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				    ESYS_TR_NONE, &sens, &in, &outside, &none, ret, ret_pub,
				    NULL, NULL, NULL));
}

static const uint8_t aes_key[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				     0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };

static void openssl_ecb(const uint8_t *key, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0;

	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, out, &l, in, len), 1);
	assert_int_equal((size_t)l, len);
	EVP_CIPHER_CTX_free(c);
}

/* TPM2_EncryptDecrypt2 in ECB with the loaded key (authorised by password or session). */
static TSS2_RC tpm_ecb(ESYS_TR key, ESYS_TR session, TPMI_YES_NO decrypt,
		       const uint8_t *in, size_t len, uint8_t *out)
{
	TPM2B_MAX_BUFFER data = { .size = len };
	TPM2B_IV iv = { .size = 0 };
	TPM2B_MAX_BUFFER *o = NULL;
	TPM2B_IV *iv_out = NULL;
	TSS2_RC rc;

	memcpy(data.buffer, in, len);
	rc = Esys_EncryptDecrypt2(ectx, key, session, ESYS_TR_NONE, ESYS_TR_NONE, &data,
				  decrypt, TPM2_ALG_ECB, &iv, &o, &iv_out);
	if (rc == TSS2_RC_SUCCESS) {
		assert_int_equal(o->size, len);
		memcpy(out, o->buffer, len);
	}
	Esys_Free(o);
	Esys_Free(iv_out);
	return rc;
}

/* Wraps the AES key to parent and imports it; returns the TPM's rc of Import. */
static TSS2_RC import_aes(ESYS_TR parent, const TPM2B_PUBLIC *ppub, const TPM2B_DIGEST *policy,
			  int tamper, TPM2B_PUBLIC *ret_pub, TPM2B_PRIVATE **ret_priv)
{
	TPMT_SENSITIVE s;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_DATA no_key = { 0 };
	TPMT_SYM_DEF_OBJECT no_sym = { .algorithm = TPM2_ALG_NULL };

	memset(ret_pub, 0, sizeof(*ret_pub));
	assert_int_equal(tpm2_sensitive_symcipher(aes_key, 16, NULL, 0, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_aes128_sign(policy, TPM2_ALG_NULL, &s,
						   &ret_pub->publicArea), 0);
	assert_int_equal(tpm2_duplicate(&ppub->publicArea, &ret_pub->publicArea, &s, &dup, &seed), 0);
	explicit_bzero(&s, sizeof(s));
	if (tamper)
		dup.buffer[dup.size - 3] ^= 0x01;
	return Esys_Import(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &no_key,
			   ret_pub, &dup, &seed, &no_sym, ret_priv);
}

static void import_and_use(TPMI_ALG_PUBLIC parent_type)
{
	ESYS_TR parent = ESYS_TR_NONE, key = ESYS_TR_NONE;
	TPM2B_PUBLIC *ppub = NULL, pub;
	TPM2B_PRIVATE *priv = NULL;
	uint8_t in[48], tpm_out[48], ssl_out[48];

	create_srk(parent_type, &parent, &ppub, NULL);
	CHECK_RC(import_aes(parent, ppub, NULL, 0, &pub, &priv));
	CHECK_RC(Esys_Load(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv,
			   &pub, &key));
	/* three blocks at once, as MILENAGE's OUT2..OUT4 */
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = i * 13 + 1;
	CHECK_RC(tpm_ecb(key, ESYS_TR_PASSWORD, TPM2_NO, in, sizeof(in), tpm_out));
	openssl_ecb(aes_key, in, sizeof(in), ssl_out);
	assert_memory_equal(tpm_out, ssl_out, sizeof(in));
	/* sign-only key: the TPM refuses to decrypt with it (Part 3 15.3) */
	assert_int_equal(base_rc(tpm_ecb(key, ESYS_TR_PASSWORD, TPM2_YES, in, 16, tpm_out)),
			 TPM2_RC_ATTRIBUTES);
	flush(&key);
	flush(&parent);
	Esys_Free(priv);
	Esys_Free(ppub);
}

static void test_import_aes_ecc_parent(void **state)
{
	(void)state;
	import_and_use(TPM2_ALG_ECC);
}

static void test_import_aes_rsa_parent(void **state)
{
	(void)state;
	import_and_use(TPM2_ALG_RSA);
}

static void test_import_sealed(void **state)
{
	static const uint8_t secret[] = "K=465b5ce8b199b49faa5f0a2ee238a6bc OPc=cd63cb71954a9f4e48a5994e37a02baf";
	ESYS_TR parent = ESYS_TR_NONE, obj = ESYS_TR_NONE;
	TPM2B_PUBLIC *ppub = NULL, pub = { 0 };
	TPM2B_PRIVATE *priv = NULL, dup;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_DATA no_key = { 0 };
	TPMT_SYM_DEF_OBJECT no_sym = { .algorithm = TPM2_ALG_NULL };
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_AUTH auth = { .size = 6, .buffer = "s3cret" };
	TPMT_SENSITIVE s;

	(void)state;
	create_srk(TPM2_ALG_ECC, &parent, &ppub, NULL);
	assert_int_equal(tpm2_sensitive_keyedhash(secret, sizeof(secret) - 1, auth.buffer,
						  auth.size, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_sealed(NULL, &s, &pub.publicArea), 0);
	assert_int_equal(tpm2_duplicate(&ppub->publicArea, &pub.publicArea, &s, &dup, &seed), 0);
	explicit_bzero(&s, sizeof(s));
	CHECK_RC(Esys_Import(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &no_key,
			     &pub, &dup, &seed, &no_sym, &priv));
	CHECK_RC(Esys_Load(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv,
			   &pub, &obj));
	/* wrong authValue first: the object carries ours */
	assert_int_not_equal(Esys_Unseal(ectx, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, &out), TSS2_RC_SUCCESS);
	CHECK_RC(Esys_TR_SetAuth(ectx, obj, &auth));
	CHECK_RC(Esys_Unseal(ectx, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &out));
	assert_int_equal(out->size, sizeof(secret) - 1);
	assert_memory_equal(out->buffer, secret, out->size);
	Esys_Free(out);
	flush(&obj);
	flush(&parent);
	Esys_Free(priv);
	Esys_Free(ppub);
}

static void test_import_tampered(void **state)
{
	ESYS_TR parent = ESYS_TR_NONE;
	TPM2B_PUBLIC *ppub = NULL, pub;
	TPM2B_PRIVATE *priv = NULL;

	(void)state;
	create_srk(TPM2_ALG_ECC, &parent, &ppub, NULL);
	assert_int_equal(base_rc(import_aes(parent, ppub, NULL, 1, &pub, &priv)),
			 TPM2_RC_INTEGRITY);
	flush(&parent);
	Esys_Free(ppub);
	create_srk(TPM2_ALG_RSA, &parent, &ppub, NULL);
	assert_int_equal(base_rc(import_aes(parent, ppub, NULL, 1, &pub, &priv)),
			 TPM2_RC_INTEGRITY);
	flush(&parent);
	Esys_Free(ppub);
}

/* A blob wrapped for one SRK is useless under another storage key. */
static void test_import_other_parent(void **state)
{
	ESYS_TR a = ESYS_TR_NONE, b = ESYS_TR_NONE;
	TPM2B_PUBLIC *apub = NULL, *bpub = NULL, pub;
	TPMT_SENSITIVE s;
	TPM2B_PRIVATE dup, *priv = NULL;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_DATA no_key = { 0 };
	TPMT_SYM_DEF_OBJECT no_sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC rc;

	(void)state;
	create_srk(TPM2_ALG_ECC, &a, &apub, NULL);
	create_srk(TPM2_ALG_ECC, &b, &bpub, "other");
	memset(&pub, 0, sizeof(pub));
	assert_int_equal(tpm2_sensitive_symcipher(aes_key, 16, NULL, 0, TPM2_ALG_SHA256, &s), 0);
	assert_int_equal(tpm2_template_aes128_sign(NULL, TPM2_ALG_ECB, &s, &pub.publicArea), 0);
	assert_int_equal(tpm2_duplicate(&apub->publicArea, &pub.publicArea, &s, &dup, &seed), 0);
	rc = Esys_Import(ectx, b, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &no_key, &pub,
			 &dup, &seed, &no_sym, &priv);
	/* another private key recovers another seed: the outer HMAC fails */
	assert_int_equal(base_rc(rc), TPM2_RC_INTEGRITY);
	CHECK_RC(Esys_Import(ectx, a, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &no_key,
			     &pub, &dup, &seed, &no_sym, &priv));
	Esys_Free(priv);
	flush(&a);
	flush(&b);
	Esys_Free(apub);
	Esys_Free(bpub);
}

/* A policy session; trial sessions only compute the digest. */
static ESYS_TR start_session(TPM2_SE type)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR s = ESYS_TR_NONE;

	CHECK_RC(Esys_StartAuthSession(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       ESYS_TR_NONE, ESYS_TR_NONE, NULL, type, &sym,
				       TPM2_ALG_SHA256, &s));
	return s;
}

static void check_session_digest(ESYS_TR s, const struct tpm2_policy *p)
{
	TPM2B_DIGEST *d = NULL;

	CHECK_RC(Esys_PolicyGetDigest(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d));
	assert_int_equal(d->size, p->digest.size);
	assert_memory_equal(d->buffer, p->digest.buffer, d->size);
	Esys_Free(d);
}

/* Restricted signing key under the SRK, ECC P-256/ECDSA or RSA 2048/RSASSA. */
static void create_signing_key(ESYS_TR parent, TPMI_ALG_PUBLIC type, bool restricted,
			       ESYS_TR *ret, TPM2B_PUBLIC **ret_pub)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPMT_PUBLIC *p = &in.publicArea;

	p->type = type;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
			      TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT |
			      (restricted ? TPMA_OBJECT_RESTRICTED : 0);
	p->parameters.asymDetail.symmetric.algorithm = TPM2_ALG_NULL;
	if (type == TPM2_ALG_ECC) {
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	} else {
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
		p->parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		p->parameters.rsaDetail.keyBits = 2048;
	}
	CHECK_RC(Esys_Create(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
			     &in, &outside, &none, &priv, ret_pub, NULL, NULL, NULL));
	CHECK_RC(Esys_Load(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv,
			   *ret_pub, ret));
	Esys_Free(priv);
}

static void activate(TPMI_ALG_PUBLIC ek_type)
{
	static const uint8_t secret[] = "challenge-from-the-PVA-0123456";
	ESYS_TR ek = ESYS_TR_NONE, srk = ESYS_TR_NONE, ak = ESYS_TR_NONE, s;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC in = { 0 }, *ek_pub = NULL, *srk_pub = NULL, *ak_pub = NULL;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_ID_OBJECT cred;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_DIGEST *cert = NULL;
	TPM2B_NAME ak_name, *tpm_name = NULL;
	TSS2_RC rc;

	if (ek_type == TPM2_ALG_RSA)
		tpm2_ek_template_rsa2048(&in.publicArea);
	else
		tpm2_ek_template_ecc_p256(&in.publicArea);
	CHECK_RC(Esys_CreatePrimary(ectx, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				    ESYS_TR_NONE, &sens, &in, &outside, &none, &ek, &ek_pub,
				    NULL, NULL, NULL));
	create_srk(TPM2_ALG_ECC, &srk, &srk_pub, NULL);
	create_signing_key(srk, TPM2_ALG_ECC, true, &ak, &ak_pub);
	/* our name of the AK equals the TPM's */
	assert_int_equal(tpm2_public_name(&ak_pub->publicArea, &ak_name), 0);
	CHECK_RC(Esys_TR_GetName(ectx, ak, &tpm_name));
	assert_int_equal(tpm_name->size, ak_name.size);
	assert_memory_equal(tpm_name->name, ak_name.name, ak_name.size);
	Esys_Free(tpm_name);

	assert_int_equal(tpm2_make_credential(&ek_pub->publicArea, &ak_name, secret,
					      sizeof(secret) - 1, &cred, &enc), 0);
	/* the EK is used through PolicySecret(TPM_RH_ENDORSEMENT) */
	s = start_session(TPM2_SE_POLICY);
	CHECK_RC(Esys_PolicySecret(ectx, ESYS_TR_RH_ENDORSEMENT, s, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL));
	CHECK_RC(Esys_ActivateCredential(ectx, ak, ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE,
					 &cred, &enc, &cert));
	assert_int_equal(cert->size, sizeof(secret) - 1);
	assert_memory_equal(cert->buffer, secret, cert->size);
	Esys_Free(cert);
	flush(&s);

	/* a credential for another AK name does not open with this AK */
	ak_name.name[10] ^= 1;
	assert_int_equal(tpm2_make_credential(&ek_pub->publicArea, &ak_name, secret,
					      sizeof(secret) - 1, &cred, &enc), 0);
	s = start_session(TPM2_SE_POLICY);
	CHECK_RC(Esys_PolicySecret(ectx, ESYS_TR_RH_ENDORSEMENT, s, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL));
	rc = Esys_ActivateCredential(ectx, ak, ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE, &cred,
				     &enc, &cert);
	assert_int_equal(base_rc(rc), TPM2_RC_INTEGRITY);
	flush(&s);
	flush(&ak);
	flush(&srk);
	flush(&ek);
	Esys_Free(ek_pub);
	Esys_Free(srk_pub);
	Esys_Free(ak_pub);
}

static void test_activate_rsa_ek(void **state)
{
	(void)state;
	activate(TPM2_ALG_RSA);
}

static void test_activate_ecc_ek(void **state)
{
	(void)state;
	activate(TPM2_ALG_ECC);
}

static void read_pcrs(const TPML_PCR_SELECTION *sel, struct tpm2_pcr_values *v)
{
	TPML_PCR_SELECTION want = *sel, *out = NULL;
	TPML_DIGEST *vals = NULL;
	UINT32 counter;

	memset(v, 0, sizeof(*v));
	v->selection = *sel;
	/* PCR_Read returns at most 8 values per call (TPML_DIGEST) */
	while (v->count < tpm2_pcr_selection_count(sel)) {
		CHECK_RC(Esys_PCR_Read(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &want,
				       &counter, &out, &vals));
		assert_true(vals->count > 0);
		for (uint32_t i = 0; i < vals->count; i++)
			v->digests[v->count++] = vals->digests[i];
		for (uint32_t b = 0; b < out->count; b++)
			for (unsigned j = 0; j < TPM2_PCR_SELECT_MAX; j++)
				want.pcrSelections[b].pcrSelect[j] &=
					~out->pcrSelections[b].pcrSelect[j];
		Esys_Free(out);
		Esys_Free(vals);
	}
}

static void extend_pcr16(const char *what)
{
	TPML_DIGEST_VALUES d = { .count = 2 };

	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	assert_int_equal(tpm2_hash(TPM2_ALG_SHA256, what, strlen(what),
				   d.digests[0].digest.sha256), 0);
	d.digests[1].hashAlg = TPM2_ALG_SHA1;
	assert_int_equal(tpm2_hash(TPM2_ALG_SHA1, what, strlen(what),
				   d.digests[1].digest.sha1), 0);
	CHECK_RC(Esys_PCR_Extend(ectx, ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				 ESYS_TR_NONE, &d));
}

static const TPML_PCR_SELECTION sel_0_1_16 = {
	.count = 1,
	.pcrSelections[0] = { .hash = TPM2_ALG_SHA256, .sizeofSelect = 3,
			      .pcrSelect = { 0x03, 0x00, 0x01 } },
};

/* Two banks, 18 PCRs: more than one TPML_DIGEST of PCR_Read and of the pcrs file. */
static const TPML_PCR_SELECTION sel_two_banks = {
	.count = 2,
	.pcrSelections = {
		{ .hash = TPM2_ALG_SHA1, .sizeofSelect = 3, .pcrSelect = { 0, 0, 0x01 } },
		{ .hash = TPM2_ALG_SHA256, .sizeofSelect = 3, .pcrSelect = { 0xff, 0xff, 0x01 } },
	},
};

/* Ordinary NV index with owner and own authorization, written once. */
static ESYS_TR define_nv(TPM2_HANDLE index, const uint8_t *data, size_t len,
			 TPM2B_NAME *ret_name)
{
	TPM2B_NV_PUBLIC pub = { 0 };
	TPM2B_AUTH auth = { 0 };
	TPM2B_MAX_NV_BUFFER buf = { .size = len };
	TPM2B_NV_PUBLIC *tpm_pub = NULL;
	TPM2B_NAME *tpm_name = NULL;
	ESYS_TR nv = ESYS_TR_NONE;

	pub.nvPublic.nvIndex = index;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD |
				  TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;
	pub.nvPublic.dataSize = len;
	CHECK_RC(Esys_NV_DefineSpace(ectx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &auth, &pub, &nv));
	memcpy(buf.buffer, data, len);
	CHECK_RC(Esys_NV_Write(ectx, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       &buf, 0));
	/* our name, with TPMA_NV_WRITTEN now set, equals the TPM's */
	pub.nvPublic.attributes |= TPMA_NV_WRITTEN;
	assert_int_equal(tpm2_nv_name(&pub.nvPublic, ret_name), 0);
	CHECK_RC(Esys_NV_ReadPublic(ectx, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    &tpm_pub, &tpm_name));
	assert_int_equal(tpm_name->size, ret_name->size);
	assert_memory_equal(tpm_name->name, ret_name->name, tpm_name->size);
	Esys_Free(tpm_pub);
	Esys_Free(tpm_name);
	return nv;
}

static void undefine_nv(ESYS_TR nv)
{
	CHECK_RC(Esys_NV_UndefineSpace(ectx, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
				       ESYS_TR_NONE, ESYS_TR_NONE));
}

/* Trial sessions: PCR, NV, CommandCode, Secret, AuthValue, OR. */
static void test_policy_trial(void **state)
{
	static const uint8_t epoch[8] = { 0, 0, 0, 0, 0, 0, 0, 3 };
	struct tpm2_policy p, b1, b2;
	struct tpm2_pcr_values v;
	TPM2B_DIGEST empty = { 0 };
	TPM2B_OPERAND operand = { .size = 8 };
	TPML_DIGEST branches = { .count = 2 };
	TPM2B_NAME nv_name;
	ESYS_TR s, nv;

	(void)state;
	extend_pcr16("trial");
	read_pcrs(&sel_0_1_16, &v);
	nv = define_nv(NV_EPOCH, epoch, sizeof(epoch), &nv_name);

	/* PolicyPCR (the TPM reads the PCRs itself) + PolicyNV + PolicyCommandCode */
	s = start_session(TPM2_SE_TRIAL);
	CHECK_RC(Esys_PolicyPCR(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
				&sel_0_1_16));
	memcpy(operand.buffer, epoch, 8);
	CHECK_RC(Esys_PolicyNV(ectx, nv, nv, s, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       &operand, 0, TPM2_EO_UNSIGNED_LE));
	CHECK_RC(Esys_PolicyCommandCode(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					TPM2_CC_EncryptDecrypt2));
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_pcr_values(&p, &sel_0_1_16, v.digests, v.count), 0);
	assert_int_equal(tpm2_policy_nv(&p, &nv_name, epoch, 8, 0, TPM2_EO_UNSIGNED_LE), 0);
	assert_int_equal(tpm2_policy_command_code(&p, TPM2_CC_EncryptDecrypt2), 0);
	check_session_digest(s, &p);
	b1 = p;
	flush(&s);

	/* PolicySecret(endorsement) = the EK policy; PolicyAuthValue */
	s = start_session(TPM2_SE_TRIAL);
	CHECK_RC(Esys_PolicySecret(ectx, ESYS_TR_RH_ENDORSEMENT, s, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL));
	CHECK_RC(Esys_PolicyAuthValue(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE));
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	{
		TPM2B_NAME n;

		tpm2_handle_name(TPM2_RH_ENDORSEMENT, &n);
		assert_int_equal(tpm2_policy_secret(&p, &n, NULL, 0), 0);
	}
	assert_int_equal(tpm2_policy_auth_value(&p), 0);
	check_session_digest(s, &p);
	b2 = p;

	/* PolicyOR of both */
	branches.digests[0] = b1.digest;
	branches.digests[1] = b2.digest;
	CHECK_RC(Esys_PolicyOR(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &branches));
	assert_int_equal(tpm2_policy_or(&p, branches.digests, 2), 0);
	check_session_digest(s, &p);
	flush(&s);

	/* PolicySecret with a policyRef; PolicyPCR over two banks with the digest given */
	read_pcrs(&sel_two_banks, &v);
	assert_int_equal(v.count, 18);
	s = start_session(TPM2_SE_TRIAL);
	{
		TPM2B_NONCE ref = { .size = 5, .buffer = "epoch" };
		TPM2B_NAME n;
		TPM2B_DIGEST pd;

		CHECK_RC(Esys_PolicySecret(ectx, ESYS_TR_RH_OWNER, s, ESYS_TR_PASSWORD,
					   ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, &ref, 0, NULL,
					   NULL));
		assert_int_equal(tpm2_pcr_digest(TPM2_ALG_SHA256, v.digests, v.count, &pd), 0);
		CHECK_RC(Esys_PolicyPCR(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pd,
					&sel_two_banks));
		tpm2_policy_init(&p, TPM2_ALG_SHA256);
		tpm2_handle_name(TPM2_RH_OWNER, &n);
		assert_int_equal(tpm2_policy_secret(&p, &n, ref.buffer, ref.size), 0);
		assert_int_equal(tpm2_policy_pcr(&p, &sel_two_banks, &pd), 0);
		check_session_digest(s, &p);
	}
	flush(&s);
	undefine_nv(nv);
}

/* An operator P-256 key, loaded as external public, and its TPMT_PUBLIC. */
static ESYS_TR load_operator_key(EVP_PKEY *k, TPM2B_NAME *ret_name)
{
	TPM2B_PUBLIC pub = { 0 };
	TPM2B_NAME *tpm_name = NULL;
	ESYS_TR h = ESYS_TR_NONE;

	assert_int_equal(tpm2_public_from_evp(k, TPM2_ALG_SHA256,
					      TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH,
					      &pub.publicArea), 0);
	CHECK_RC(Esys_LoadExternal(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &pub,
				   ESYS_TR_RH_OWNER, &h));
	assert_int_equal(tpm2_public_name(&pub.publicArea, ret_name), 0);
	CHECK_RC(Esys_TR_GetName(ectx, h, &tpm_name));
	assert_int_equal(tpm_name->size, ret_name->size);
	assert_memory_equal(tpm_name->name, ret_name->name, ret_name->size);
	Esys_Free(tpm_name);
	return h;
}

/* PolicySigned in a real session: the TPM checks our aHash and signature. */
static void test_policy_signed(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	struct tpm2_policy p;
	TPM2B_NAME name;
	TPM2B_NONCE *nonce = NULL, ref = { .size = 4, .buffer = "mcim" };
	TPM2B_DIGEST ahash, empty = { 0 };
	TPMT_SIGNATURE sig;
	ESYS_TR key, s;

	(void)state;
	key = load_operator_key(k, &name);
	s = start_session(TPM2_SE_POLICY);
	CHECK_RC(Esys_TRSess_GetNonceTPM(ectx, s, &nonce));
	assert_int_equal(tpm2_policy_signed_ahash(TPM2_ALG_SHA256, nonce->buffer, nonce->size, 0,
						  NULL, 0, ref.buffer, ref.size, &ahash), 0);
	assert_int_equal(tpm2_signature_make(k, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, ahash.buffer,
					     ahash.size, &sig), 0);
	CHECK_RC(Esys_PolicySigned(ectx, key, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nonce,
				   &empty, &ref, 0, &sig, NULL, NULL));
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_signed(&p, &name, ref.buffer, ref.size), 0);
	check_session_digest(s, &p);
	Esys_Free(nonce);
	flush(&s);
	flush(&key);
	EVP_PKEY_free(k);
}

/*
 * PolicyAuthorize with a ticket from TPM2_VerifySignature over our aHash
 * (Part 3 23.16), for an approved policy PolicyCommandCode(EncryptDecrypt2);
 * then the same approved policy through PolicyAuthorizeNV.
 */
static void test_policy_authorize(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	struct tpm2_policy approved, p;
	TPM2B_NAME key_name, nv_name;
	TPM2B_NONCE ref = { .size = 8, .buffer = "platform" };
	TPM2B_DIGEST ahash;
	TPMT_SIGNATURE sig;
	TPMT_TK_VERIFIED *ticket = NULL;
	uint8_t nvdata[34];
	size_t off = 0;
	ESYS_TR key, s, nv;

	(void)state;
	tpm2_policy_init(&approved, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_command_code(&approved, TPM2_CC_EncryptDecrypt2), 0);
	key = load_operator_key(k, &key_name);
	assert_int_equal(tpm2_policy_authorize_ahash(TPM2_ALG_SHA256, &approved.digest,
						     ref.buffer, ref.size, &ahash), 0);
	assert_int_equal(tpm2_signature_make(k, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, ahash.buffer,
					     ahash.size, &sig), 0);
	CHECK_RC(Esys_VerifySignature(ectx, key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				      &ahash, &sig, &ticket));
	s = start_session(TPM2_SE_POLICY);
	CHECK_RC(Esys_PolicyCommandCode(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					TPM2_CC_EncryptDecrypt2));
	CHECK_RC(Esys_PolicyAuthorize(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				      &approved.digest, &ref, &key_name, ticket));
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_authorize(&p, &key_name, ref.buffer, ref.size), 0);
	check_session_digest(s, &p);
	Esys_Free(ticket);
	flush(&s);
	flush(&key);
	EVP_PKEY_free(k);

	/* PolicyAuthorizeNV: the index holds a TPMT_HA of the approved policy */
	(void)Tss2_MU_UINT16_Marshal(TPM2_ALG_SHA256, nvdata, sizeof(nvdata), &off);
	memcpy(nvdata + off, approved.digest.buffer, 32);
	nv = define_nv(NV_POLICY, nvdata, sizeof(nvdata), &nv_name);
	s = start_session(TPM2_SE_POLICY);
	CHECK_RC(Esys_PolicyCommandCode(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					TPM2_CC_EncryptDecrypt2));
	CHECK_RC(Esys_PolicyAuthorizeNV(ectx, nv, nv, s, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE));
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_authorize_nv(&p, &nv_name), 0);
	check_session_digest(s, &p);
	flush(&s);
	undefine_nv(nv);
}

/* An imported key bound by our PolicyPCR digest works, then fails after an extend. */
static void test_policy_pcr_key(void **state)
{
	static const TPML_PCR_SELECTION sel16 = {
		.count = 1,
		.pcrSelections[0] = { .hash = TPM2_ALG_SHA256, .sizeofSelect = 3,
				      .pcrSelect = { 0, 0, 0x01 } },
	};
	ESYS_TR parent = ESYS_TR_NONE, key = ESYS_TR_NONE, s;
	TPM2B_PUBLIC *ppub = NULL, pub;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_DIGEST empty = { 0 };
	struct tpm2_pcr_values v;
	struct tpm2_policy p;
	uint8_t in[16] = { 1 }, out[16], want[16];

	(void)state;
	extend_pcr16("policy-pcr-key");
	read_pcrs(&sel16, &v);
	tpm2_policy_init(&p, TPM2_ALG_SHA256);
	assert_int_equal(tpm2_policy_pcr_values(&p, &sel16, v.digests, v.count), 0);
	create_srk(TPM2_ALG_ECC, &parent, &ppub, NULL);
	CHECK_RC(import_aes(parent, ppub, &p.digest, 0, &pub, &priv));
	CHECK_RC(Esys_Load(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv,
			   &pub, &key));
	/* password use is refused: the key is policy-only */
	assert_int_not_equal(tpm_ecb(key, ESYS_TR_PASSWORD, TPM2_NO, in, 16, out), TSS2_RC_SUCCESS);
	s = start_session(TPM2_SE_POLICY);
	CHECK_RC(Esys_PolicyPCR(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &sel16));
	CHECK_RC(tpm_ecb(key, s, TPM2_NO, in, 16, out));
	openssl_ecb(aes_key, in, 16, want);
	assert_memory_equal(out, want, 16);
	/* a tamper event extends the PCR: the next use fails at the TPM */
	extend_pcr16("tamper");
	CHECK_RC(Esys_PolicyPCR(ectx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &sel16));
	assert_int_equal(base_rc(tpm_ecb(key, s, TPM2_NO, in, 16, out)), TPM2_RC_POLICY_FAIL);
	flush(&s);
	flush(&key);
	flush(&parent);
	Esys_Free(priv);
	Esys_Free(ppub);
}

static int run(char *const argv[])
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void quote_with(TPMI_ALG_PUBLIC type, const TPML_PCR_SELECTION *sel)
{
	static const uint8_t nonce[] = "pva-nonce-5f3a";
	ESYS_TR srk = ESYS_TR_NONE, ak = ESYS_TR_NONE, plain = ESYS_TR_NONE;
	TPM2B_PUBLIC *srk_pub = NULL, *ak_pub = NULL, *plain_pub = NULL;
	TPM2B_DATA qd = { .size = sizeof(nonce) - 1 };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL, bad;
	struct tpm2_pcr_values v;
	TPMS_ATTEST attest;
	char dir[] = "/tmp/tpm2lib-quote.XXXXXX", m[64], sg[64], pc[64], pk[64], pem[64];
	char nonce_hex[2 * sizeof(nonce) + 1];

	memcpy(qd.buffer, nonce, qd.size);
	extend_pcr16("quote");
	create_srk(TPM2_ALG_ECC, &srk, &srk_pub, NULL);
	create_signing_key(srk, type, true, &ak, &ak_pub);
	read_pcrs(sel, &v);
	CHECK_RC(Esys_Quote(ectx, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd, &scheme,
			    sel, &quoted, &sig));
	assert_int_equal(tpm2_quote_verify(&ak_pub->publicArea, quoted->attestationData,
					   quoted->size, sig, nonce, qd.size, &v, &attest), 0);
	assert_int_equal(attest.type, TPM2_ST_ATTEST_QUOTE);

	/* tampered evidence */
	assert_int_equal(tpm2_quote_verify(&ak_pub->publicArea, quoted->attestationData,
					   quoted->size, sig, (const uint8_t *)"old-nonce", 9,
					   &v, NULL), -TPM2_VERIFY_E_NONCE);
	v.digests[2].buffer[0] ^= 0x80;
	assert_int_equal(tpm2_quote_verify(&ak_pub->publicArea, quoted->attestationData,
					   quoted->size, sig, nonce, qd.size, &v, NULL),
			 -TPM2_VERIFY_E_PCR_DIGEST);
	v.digests[2].buffer[0] ^= 0x80;
	bad = *sig;
	if (type == TPM2_ALG_ECC)
		bad.signature.ecdsa.signatureR.buffer[3] ^= 1;
	else
		bad.signature.rsassa.sig.buffer[3] ^= 1;
	assert_int_equal(tpm2_quote_verify(&ak_pub->publicArea, quoted->attestationData,
					   quoted->size, &bad, nonce, qd.size, &v, NULL),
			 -TPM2_VERIFY_E_SIGNATURE);
	quoted->attestationData[quoted->size - 40] ^= 1;
	assert_int_equal(tpm2_quote_verify(&ak_pub->publicArea, quoted->attestationData,
					   quoted->size, sig, nonce, qd.size, &v, NULL),
			 -TPM2_VERIFY_E_SIGNATURE);
	quoted->attestationData[quoted->size - 40] ^= 1;

	/* tpm2_checkquote verifies our export, and rejects a wrong nonce */
	assert_non_null(mkdtemp(dir));
	snprintf(m, sizeof(m), "%s/quote.msg", dir);
	snprintf(sg, sizeof(sg), "%s/quote.sig", dir);
	snprintf(pc, sizeof(pc), "%s/pcrs.bin", dir);
	snprintf(pk, sizeof(pk), "%s/ak.pub", dir);
	snprintf(pem, sizeof(pem), "%s/ak.pem", dir);
	assert_int_equal(tpm2_quote_export(m, sg, pc, quoted->attestationData, quoted->size,
					   sig, &v), 0);
	assert_int_equal(tpm2_public_export(pk, ak_pub, false), 0);
	assert_int_equal(tpm2_public_export(pem, ak_pub, true), 0);
	hex_encode(nonce, qd.size, nonce_hex);
	{
		char *ok_tss[] = { "tpm2_checkquote", "-u", pk, "-m", m, "-s", sg, "-f", pc,
				   "-q", nonce_hex, "-g", "sha256", NULL };
		char *ok_pem[] = { "tpm2_checkquote", "-u", pem, "-m", m, "-s", sg, "-f", pc,
				   "-q", nonce_hex, "-g", "sha256", NULL };
		char *bad_nonce[] = { "tpm2_checkquote", "-u", pk, "-m", m, "-s", sg, "-f", pc,
				      "-q", "00112233", "-g", "sha256", NULL };

		assert_int_equal(run(ok_tss), 0);
		assert_int_equal(run(ok_pem), 0);
		assert_int_not_equal(run(bad_nonce), 0);
		/* tpm2_checkquote really reads our PCR file: a changed value fails */
		v.digests[v.count - 1].buffer[7] ^= 1;
		assert_int_equal(tpm2_quote_export(NULL, NULL, pc, NULL, 0, NULL, &v), 0);
		assert_int_not_equal(run(ok_tss), 0);
		v.digests[v.count - 1].buffer[7] ^= 1;
		assert_int_equal(tpm2_quote_export(NULL, NULL, pc, NULL, 0, NULL, &v), 0);
		assert_int_equal(run(ok_tss), 0);
	}
	/* and our import of those files verifies too */
	{
		uint8_t *msg = NULL;
		size_t len = 0;
		TPMT_SIGNATURE s2;
		struct tpm2_pcr_values v2;
		TPM2B_PUBLIC ak2;

		assert_int_equal(tpm2_quote_import(m, sg, pc, &msg, &len, &s2, &v2), 0);
		assert_int_equal(tpm2_public_import(pk, &ak2), 0);
		assert_int_equal(tpm2_quote_verify(&ak2.publicArea, msg, len, &s2, nonce, qd.size,
						   &v2, NULL), 0);
		free(msg);
	}
	unlink(m), unlink(sg), unlink(pc), unlink(pk), unlink(pem);
	rmdir(dir);
	Esys_Free(quoted);
	Esys_Free(sig);

	/* a quote by a non-restricted signing key is refused */
	create_signing_key(srk, type, false, &plain, &plain_pub);
	CHECK_RC(Esys_Quote(ectx, plain, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd,
			    &scheme, sel, &quoted, &sig));
	assert_int_equal(tpm2_quote_verify(&plain_pub->publicArea, quoted->attestationData,
					   quoted->size, sig, nonce, qd.size, &v, NULL),
			 -TPM2_VERIFY_E_KEY_ATTRS);
	Esys_Free(quoted);
	Esys_Free(sig);
	flush(&plain);
	flush(&ak);
	flush(&srk);
	Esys_Free(srk_pub);
	Esys_Free(ak_pub);
	Esys_Free(plain_pub);
}

static void test_quote_ecc_ak(void **state)
{
	(void)state;
	quote_with(TPM2_ALG_ECC, &sel_0_1_16);
	quote_with(TPM2_ALG_ECC, &sel_two_banks);
}

static void test_quote_rsa_ak(void **state)
{
	(void)state;
	quote_with(TPM2_ALG_RSA, &sel_0_1_16);
}

static int group_setup(void **state)
{
	const char *conf = getenv("MCIM_TEST_TCTI");

	(void)state;
	if (!conf || Tss2_TctiLdr_Initialize(conf, &tcti) != TSS2_RC_SUCCESS ||
	    Esys_Initialize(&ectx, tcti, NULL) != TSS2_RC_SUCCESS)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	Esys_Finalize(&ectx);
	Tss2_TctiLdr_Finalize(&tcti);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_aes_ecc_parent),
		cmocka_unit_test(test_import_aes_rsa_parent),
		cmocka_unit_test(test_import_sealed),
		cmocka_unit_test(test_import_tampered),
		cmocka_unit_test(test_import_other_parent),
		cmocka_unit_test(test_activate_rsa_ek),
		cmocka_unit_test(test_activate_ecc_ek),
		cmocka_unit_test(test_policy_trial),
		cmocka_unit_test(test_policy_signed),
		cmocka_unit_test(test_policy_authorize),
		cmocka_unit_test(test_policy_pcr_key),
		cmocka_unit_test(test_quote_ecc_ak),
		cmocka_unit_test(test_quote_rsa_ak),
	};

	if (!getenv("MCIM_TEST_TCTI")) {
		printf("MCIM_TEST_TCTI not set: run under tests/lib/with-swtpm\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
