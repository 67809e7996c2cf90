// SPDX-License-Identifier: LGPL-2.1-or-later
/* TPM 2.0 cryptographic building blocks in software; see tpm2-crypto.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "macro.h"
#include "tpm2-crypto.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_KDF *, EVP_KDF_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_KDF_CTX *, EVP_KDF_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM *, OSSL_PARAM_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free)

size_t tpm2_hash_size(TPMI_ALG_HASH alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:
		return TPM2_SHA1_DIGEST_SIZE;
	case TPM2_ALG_SHA256:
		return TPM2_SHA256_DIGEST_SIZE;
	case TPM2_ALG_SHA384:
		return TPM2_SHA384_DIGEST_SIZE;
	case TPM2_ALG_SHA512:
		return TPM2_SHA512_DIGEST_SIZE;
	default:
		return 0;
	}
}

const EVP_MD *tpm2_hash_md(TPMI_ALG_HASH alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:
		return EVP_sha1();
	case TPM2_ALG_SHA256:
		return EVP_sha256();
	case TPM2_ALG_SHA384:
		return EVP_sha384();
	case TPM2_ALG_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static const char *hash_name(TPMI_ALG_HASH alg)
{
	const EVP_MD *md = tpm2_hash_md(alg);

	return md ? EVP_MD_get0_name(md) : NULL;
}

int tpm2_hashv(TPMI_ALG_HASH alg, const struct tpm2_buf *parts, size_t n,
	       uint8_t *out)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md = tpm2_hash_md(alg);

	if (!md)
		return -ENOTSUP;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, md, NULL))
		return -EIO;
	for (size_t i = 0; i < n; i++)
		if (parts[i].n && !EVP_DigestUpdate(ctx, parts[i].p, parts[i].n))
			return -EIO;
	if (!EVP_DigestFinal_ex(ctx, out, NULL))
		return -EIO;
	return 0;
}

int tpm2_hash(TPMI_ALG_HASH alg, const void *data, size_t len, uint8_t *out)
{
	struct tpm2_buf b = { data, len };

	return tpm2_hashv(alg, &b, 1, out);
}

/* Runs an OpenSSL KDF by name with the given parameters. */
static int run_kdf(const char *name, const OSSL_PARAM *params, uint8_t *out,
		   size_t out_len)
{
	_cleanup_(EVP_KDF_freep) EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
	_cleanup_(EVP_KDF_CTX_freep) EVP_KDF_CTX *ctx = NULL;

	if (!kdf)
		return -ENOTSUP;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		return -ENOMEM;
	if (EVP_KDF_derive(ctx, out, out_len, params) <= 0)
		return -EIO;
	return 0;
}

/* Concatenates two optional byte strings into a fresh buffer (NULL if empty). */
static int concat2(const uint8_t *a, size_t a_len, const uint8_t *b,
		   size_t b_len, uint8_t **ret)
{
	uint8_t *p;

	*ret = NULL;
	if (a_len + b_len == 0)
		return 0;
	p = malloc(a_len + b_len);
	if (!p)
		return -ENOMEM;
	if (a_len)
		memcpy(p, a, a_len);
	if (b_len)
		memcpy(p + a_len, b, b_len);
	*ret = p;
	return 0;
}

int tpm2_kdfa(TPMI_ALG_HASH alg, const uint8_t *key, size_t key_len,
	      const char *label, const uint8_t *context_u, size_t u_len,
	      const uint8_t *context_v, size_t v_len, uint8_t *out,
	      size_t out_len)
{
	_cleanup_free_ uint8_t *context = NULL;
	const char *md = hash_name(alg);
	OSSL_PARAM params[7], *p = params;
	int r;

	if (!md)
		return -ENOTSUP;
	if (!key || !key_len || !label || !out || !out_len || out_len > 8192)
		return -EINVAL;
	r = concat2(context_u, u_len, context_v, v_len, &context);
	if (r < 0)
		return r;
	/*
	 * SP 800-108 counter mode as Part 1 11.4.10.2 lays it out: 32-bit
	 * counter first, label, a 0x00 separator, context, [L]32 -- OpenSSL's
	 * KBKDF defaults (r = 32, use-separator, use-l).  The NUL that ends
	 * the TPM's label is that separator.
	 */
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, "HMAC", 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)md, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)key, key_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						 (void *)label, strlen(label));
	if (context)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 context, u_len + v_len);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
						"COUNTER", 0);
	*p = OSSL_PARAM_construct_end();
	return run_kdf("KBKDF", params, out, out_len);
}

int tpm2_kdfe(TPMI_ALG_HASH alg, const uint8_t *z, size_t z_len,
	      const char *label, const uint8_t *party_u, size_t u_len,
	      const uint8_t *party_v, size_t v_len, uint8_t *out,
	      size_t out_len)
{
	_cleanup_free_ uint8_t *info = NULL;
	const char *md = hash_name(alg);
	OSSL_PARAM params[4];
	size_t l_len, info_len;
	int r;

	if (!md)
		return -ENOTSUP;
	if (!z || !z_len || !label || !out || !out_len || out_len > 8192)
		return -EINVAL;
	/* OtherInfo = label || 0x00 || PartyUInfo || PartyVInfo (Part 1 11.4.10.3). */
	l_len = strlen(label) + 1;
	info_len = l_len + u_len + v_len;
	info = malloc(info_len);
	if (!info)
		return -ENOMEM;
	memcpy(info, label, l_len);
	if (u_len)
		memcpy(info + l_len, party_u, u_len);
	if (v_len)
		memcpy(info + l_len + u_len, party_v, v_len);
	/* SP 800-56A single-step KDF with a hash: H([i]32 || Z || OtherInfo). */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)md, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)z, z_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						      info, info_len);
	params[3] = OSSL_PARAM_construct_end();
	r = run_kdf("SSKDF", params, out, out_len);
	return r;
}

/* name = nameAlg || H_nameAlg(bytes), Part 1 16. */
static int make_name(TPMI_ALG_HASH name_alg, const uint8_t *bytes, size_t len,
		     TPM2B_NAME *ret_name)
{
	size_t off = 0;
	int r;

	if (!tpm2_hash_size(name_alg))
		return -ENOTSUP;
	if (Tss2_MU_TPMI_ALG_HASH_Marshal(name_alg, ret_name->name,
					  sizeof(ret_name->name), &off))
		return -EIO;
	r = tpm2_hash(name_alg, bytes, len, ret_name->name + off);
	if (r < 0)
		return r;
	ret_name->size = off + tpm2_hash_size(name_alg);
	return 0;
}

int tpm2_public_name(const TPMT_PUBLIC *pub, TPM2B_NAME *ret_name)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;

	if (!pub || !ret_name)
		return -EINVAL;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off))
		return -EINVAL;
	return make_name(pub->nameAlg, buf, off, ret_name);
}

int tpm2_nv_name(const TPMS_NV_PUBLIC *pub, TPM2B_NAME *ret_name)
{
	uint8_t buf[sizeof(TPMS_NV_PUBLIC)];
	size_t off = 0;

	if (!pub || !ret_name)
		return -EINVAL;
	if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(pub, buf, sizeof(buf), &off))
		return -EINVAL;
	return make_name(pub->nameAlg, buf, off, ret_name);
}

void tpm2_handle_name(TPM2_HANDLE handle, TPM2B_NAME *ret_name)
{
	size_t off = 0;

	/* A 4-byte buffer always has room for a handle. */
	(void)Tss2_MU_TPM2_HANDLE_Marshal(handle, ret_name->name,
					  sizeof(ret_name->name), &off);
	ret_name->size = off;
}

static const char *curve_name(TPMI_ECC_CURVE curve, size_t *ret_size)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256:
		*ret_size = 32;
		return SN_X9_62_prime256v1;
	case TPM2_ECC_NIST_P384:
		*ret_size = 48;
		return SN_secp384r1;
	default:
		return NULL;
	}
}

static TPMI_ECC_CURVE curve_id(const char *name, size_t *ret_size)
{
	if (!strcmp(name, SN_X9_62_prime256v1) || !strcmp(name, "P-256")) {
		*ret_size = 32;
		return TPM2_ECC_NIST_P256;
	}
	if (!strcmp(name, SN_secp384r1) || !strcmp(name, "P-384")) {
		*ret_size = 48;
		return TPM2_ECC_NIST_P384;
	}
	return TPM2_ECC_NONE;
}

/* Copies a big-endian integer into out, left-padded with zeros to width. */
static int pad_be(const uint8_t *in, size_t len, uint8_t *out, size_t width)
{
	while (len > width && *in == 0) {
		in++;
		len--;
	}
	if (len > width)
		return -EINVAL;
	memset(out, 0, width - len);
	memcpy(out + width - len, in, len);
	return 0;
}

static int evp_from_params(const char *type, OSSL_PARAM_BLD *bld,
			   EVP_PKEY **ret_pkey)
{
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;

	params = OSSL_PARAM_BLD_to_param(bld);
	if (!params)
		return -ENOMEM;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, ret_pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return -EINVAL;
	return 0;
}

int tpm2_public_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **ret_pkey)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
	_cleanup_(BN_freep) BIGNUM *n = NULL;
	_cleanup_(BN_freep) BIGNUM *e = NULL;

	if (!pub || !ret_pkey)
		return -EINVAL;
	*ret_pkey = NULL;
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return -ENOMEM;
	if (pub->type == TPM2_ALG_RSA) {
		const TPM2B_PUBLIC_KEY_RSA *m = &pub->unique.rsa;
		uint32_t exp = pub->parameters.rsaDetail.exponent;

		/* Part 2 TPMS_RSA_PARMS: exponent 0 means the default 2^16 + 1. */
		if (!exp)
			exp = 65537;
		if (m->size == 0 || m->size > sizeof(m->buffer))
			return -EINVAL;
		n = BN_bin2bn(m->buffer, m->size, NULL);
		e = BN_new();
		if (!n || !e || !BN_set_word(e, exp))
			return -ENOMEM;
		if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			return -ENOMEM;
		return evp_from_params("RSA", bld, ret_pkey);
	}
	if (pub->type == TPM2_ALG_ECC) {
		const TPMS_ECC_POINT *q = &pub->unique.ecc;
		uint8_t point[1 + 2 * 48];
		size_t fs;
		const char *curve = curve_name(pub->parameters.eccDetail.curveID, &fs);

		if (!curve)
			return -ENOTSUP;
		if (q->x.size > sizeof(q->x.buffer) || q->y.size > sizeof(q->y.buffer))
			return -EINVAL;
		point[0] = POINT_CONVERSION_UNCOMPRESSED;
		if (pad_be(q->x.buffer, q->x.size, point + 1, fs) < 0 ||
		    pad_be(q->y.buffer, q->y.size, point + 1 + fs, fs) < 0)
			return -EINVAL;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
						     curve, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
						      point, 1 + 2 * fs))
			return -ENOMEM;
		return evp_from_params("EC", bld, ret_pkey);
	}
	return -ENOTSUP;
}

int tpm2_public_from_evp(EVP_PKEY *pkey, TPMI_ALG_HASH name_alg,
			 TPMA_OBJECT attrs, TPMT_PUBLIC *ret_pub)
{
	if (!pkey || !ret_pub)
		return -EINVAL;
	if (!tpm2_hash_size(name_alg))
		return -ENOTSUP;
	memset(ret_pub, 0, sizeof(*ret_pub));
	ret_pub->nameAlg = name_alg;
	ret_pub->objectAttributes = attrs;
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		_cleanup_(BN_freep) BIGNUM *n = NULL;
		_cleanup_(BN_freep) BIGNUM *e = NULL;
		TPMS_RSA_PARMS *rp = &ret_pub->parameters.rsaDetail;
		int bytes;

		if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
			return -EINVAL;
		bytes = BN_num_bytes(n);
		if (bytes <= 0 || bytes > (int)sizeof(ret_pub->unique.rsa.buffer) ||
		    BN_num_bits(e) > 32)
			return -ENOTSUP;
		ret_pub->type = TPM2_ALG_RSA;
		rp->symmetric.algorithm = TPM2_ALG_NULL;
		rp->scheme.scheme = TPM2_ALG_NULL;
		rp->keyBits = BN_num_bits(n);
		rp->exponent = BN_get_word(e) == 65537 ? 0 : BN_get_word(e);
		ret_pub->unique.rsa.size = BN_bn2bin(n, ret_pub->unique.rsa.buffer);
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		TPMS_ECC_PARMS *ep = &ret_pub->parameters.eccDetail;
		char group[64];
		uint8_t point[1 + 2 * 48];
		size_t fs, len = 0;

		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
						    group, sizeof(group), NULL))
			return -EINVAL;
		ep->curveID = curve_id(group, &fs);
		if (ep->curveID == TPM2_ECC_NONE)
			return -ENOTSUP;
		if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
						     point, sizeof(point), &len) ||
		    len != 1 + 2 * fs || point[0] != POINT_CONVERSION_UNCOMPRESSED)
			return -EINVAL;
		ret_pub->type = TPM2_ALG_ECC;
		ep->symmetric.algorithm = TPM2_ALG_NULL;
		ep->scheme.scheme = TPM2_ALG_NULL;
		ep->kdf.scheme = TPM2_ALG_NULL;
		memcpy(ret_pub->unique.ecc.x.buffer, point + 1, fs);
		memcpy(ret_pub->unique.ecc.y.buffer, point + 1 + fs, fs);
		ret_pub->unique.ecc.x.size = fs;
		ret_pub->unique.ecc.y.size = fs;
		return 0;
	}
	return -ENOTSUP;
}

/* Sets the padding of an RSA signature context for scheme. */
static int set_rsa_sig_padding(EVP_PKEY_CTX *ctx, TPMI_ALG_SIG_SCHEME scheme,
			       bool verify)
{
	if (scheme == TPM2_ALG_RSASSA)
		return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 ? 0 : -EIO;
	if (scheme != TPM2_ALG_RSAPSS)
		return -EINVAL;
	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0)
		return -EIO;
	/*
	 * Part 1 Annex B (RSASSA-PSS): a TPM signs with the salt as large as the digest (or the
	 * largest that fits, by FIPS 186 rules); a verifier accepts any size.
	 */
	if (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, verify ? RSA_PSS_SALTLEN_AUTO :
					     RSA_PSS_SALTLEN_DIGEST) <= 0)
		return -EIO;
	return 0;
}

int tpm2_signature_verify(const TPMT_PUBLIC *pub, const uint8_t *digest,
			  size_t digest_len, const TPMT_SIGNATURE *sig)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_free_ uint8_t *der = NULL;
	const uint8_t *sigbytes;
	size_t siglen;
	TPMI_ALG_HASH hash;
	const EVP_MD *md;
	int r;

	if (!pub || !digest || !sig)
		return -EINVAL;
	switch (sig->sigAlg) {
	case TPM2_ALG_ECDSA:
		if (pub->type != TPM2_ALG_ECC)
			return -EINVAL;
		hash = sig->signature.ecdsa.hash;
		break;
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
		if (pub->type != TPM2_ALG_RSA)
			return -EINVAL;
		hash = sig->signature.rsassa.hash;
		break;
	default:
		return -EINVAL;
	}
	md = tpm2_hash_md(hash);
	if (!md)
		return -EINVAL;
	if (digest_len != tpm2_hash_size(hash))
		return -EINVAL;
	r = tpm2_public_to_evp(pub, &pkey);
	if (r < 0)
		return r;
	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = ECDSA_SIG_new();
		const TPMS_SIGNATURE_ECC *e = &sig->signature.ecdsa;
		BIGNUM *br, *bs;
		int len;

		if (!es)
			return -ENOMEM;
		if (e->signatureR.size > sizeof(e->signatureR.buffer) ||
		    e->signatureS.size > sizeof(e->signatureS.buffer))
			return -EINVAL;
		br = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL);
		bs = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL);
		if (!br || !bs || !ECDSA_SIG_set0(es, br, bs)) {
			BN_free(br);
			BN_free(bs);
			return -ENOMEM;
		}
		len = i2d_ECDSA_SIG(es, &der);
		if (len <= 0)
			return -ENOMEM;
		sigbytes = der;
		siglen = len;
	} else {
		const TPM2B_PUBLIC_KEY_RSA *s = &sig->signature.rsassa.sig;

		if (s->size > sizeof(s->buffer))
			return -EINVAL;
		sigbytes = s->buffer;
		siglen = s->size;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_verify_init(ctx) <= 0)
		return -EIO;
	if (pub->type == TPM2_ALG_RSA) {
		r = set_rsa_sig_padding(ctx, sig->sigAlg, true);
		if (r < 0)
			return r;
	}
	if (EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
		return -EIO;
	r = EVP_PKEY_verify(ctx, sigbytes, siglen, digest, digest_len);
	return r == 1 ? 0 : -EBADMSG;
}

int tpm2_signature_make(EVP_PKEY *key, TPMI_ALG_SIG_SCHEME scheme,
			TPMI_ALG_HASH hash, const uint8_t *digest,
			size_t digest_len, TPMT_SIGNATURE *ret_sig)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	const EVP_MD *md = tpm2_hash_md(hash);
	size_t len = 0;
	int r;

	if (!key || !digest || !ret_sig || !md || digest_len != tpm2_hash_size(hash))
		return -EINVAL;
	if (!(scheme == TPM2_ALG_ECDSA && EVP_PKEY_is_a(key, "EC")) &&
	    !((scheme == TPM2_ALG_RSASSA || scheme == TPM2_ALG_RSAPSS) &&
	      EVP_PKEY_is_a(key, "RSA")))
		return -EINVAL;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_sign_init(ctx) <= 0)
		return -EIO;
	if (scheme != TPM2_ALG_ECDSA) {
		r = set_rsa_sig_padding(ctx, scheme, false);
		if (r < 0)
			return r;
	}
	if (EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0 ||
	    EVP_PKEY_sign(ctx, NULL, &len, digest, digest_len) <= 0)
		return -EIO;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	if (EVP_PKEY_sign(ctx, buf, &len, digest, digest_len) <= 0)
		return -EIO;
	memset(ret_sig, 0, sizeof(*ret_sig));
	ret_sig->sigAlg = scheme;
	if (scheme == TPM2_ALG_ECDSA) {
		TPMS_SIGNATURE_ECC *e = &ret_sig->signature.ecdsa;
		const uint8_t *p = buf;
		_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, len);
		int bits = EVP_PKEY_get_bits(key);
		size_t fs = (bits + 7) / 8;

		if (!es || fs > sizeof(e->signatureR.buffer))
			return -EIO;
		e->hash = hash;
		if (BN_bn2binpad(ECDSA_SIG_get0_r(es), e->signatureR.buffer, fs) < 0 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), e->signatureS.buffer, fs) < 0)
			return -EIO;
		e->signatureR.size = fs;
		e->signatureS.size = fs;
	} else {
		TPMS_SIGNATURE_RSA *s = &ret_sig->signature.rsassa;

		if (len > sizeof(s->sig.buffer))
			return -EIO;
		s->hash = hash;
		memcpy(s->sig.buffer, buf, len);
		s->sig.size = len;
	}
	return 0;
}

/* RSA secret sharing, Part 1 Annex B.10: OAEP(nameAlg, label || 0x00). */
static int seed_rsa(const TPMT_PUBLIC *parent, const char *label,
		    uint8_t *seed, size_t seed_len,
		    TPM2B_ENCRYPTED_SECRET *ret_secret)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	const EVP_MD *md = tpm2_hash_md(parent->nameAlg);
	size_t out_len = sizeof(ret_secret->secret);
	size_t label_len = strlen(label) + 1;
	void *l;
	int r;

	r = tpm2_public_to_evp(parent, &pkey);
	if (r < 0)
		return r;
	if (RAND_bytes(seed, seed_len) != 1)
		return -EIO;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0)
		return -EIO;
	/* OpenSSL takes ownership of the label. */
	l = OPENSSL_memdup(label, label_len);
	if (!l)
		return -ENOMEM;
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, label_len) <= 0) {
		OPENSSL_free(l);
		return -EIO;
	}
	if (EVP_PKEY_encrypt(ctx, ret_secret->secret, &out_len, seed, seed_len) <= 0)
		return -EIO;
	ret_secret->size = out_len;
	return 0;
}

/* ECC secret sharing, Part 1 Annex C.6: one-pass ECDH with an ephemeral key + KDFe. */
static int seed_ecc(const TPMT_PUBLIC *parent, const char *label,
		    uint8_t *seed, size_t seed_len,
		    TPM2B_ENCRYPTED_SECRET *ret_secret)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *peer = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *eph = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	TPMT_PUBLIC eph_pub;
	uint8_t z[48];
	size_t z_len = sizeof(z), fs, off = 0;
	const char *curve = curve_name(parent->parameters.eccDetail.curveID, &fs);
	int r;

	if (!curve)
		return -ENOTSUP;
	r = tpm2_public_to_evp(parent, &peer);
	if (r < 0)
		return r;
	eph = EVP_EC_gen(curve);
	if (!eph)
		return -EIO;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
	    EVP_PKEY_derive(ctx, z, &z_len) <= 0 || z_len != fs) {
		wipe(z, sizeof(z));
		return -EIO;
	}
	r = tpm2_public_from_evp(eph, parent->nameAlg, 0, &eph_pub);
	if (r >= 0)
		r = tpm2_kdfe(parent->nameAlg, z, z_len, label,
			      eph_pub.unique.ecc.x.buffer, eph_pub.unique.ecc.x.size,
			      parent->unique.ecc.x.buffer,
			      MIN(parent->unique.ecc.x.size, sizeof(parent->unique.ecc.x.buffer)),
			      seed, seed_len);
	wipe(z, sizeof(z));
	if (r < 0)
		return r;
	if (Tss2_MU_TPMS_ECC_POINT_Marshal(&eph_pub.unique.ecc, ret_secret->secret,
					   sizeof(ret_secret->secret), &off))
		return -EIO;
	ret_secret->size = off;
	return 0;
}

int tpm2_seed_new(const TPMT_PUBLIC *parent, const char *label,
		  uint8_t *ret_seed, size_t *ret_seed_len,
		  TPM2B_ENCRYPTED_SECRET *ret_secret)
{
	size_t seed_len;
	int r;

	if (!parent || !label || !ret_seed || !ret_seed_len || !ret_secret)
		return -EINVAL;
	seed_len = tpm2_hash_size(parent->nameAlg);
	if (!seed_len)
		return -ENOTSUP;
	if (parent->type == TPM2_ALG_RSA)
		r = seed_rsa(parent, label, ret_seed, seed_len, ret_secret);
	else if (parent->type == TPM2_ALG_ECC)
		r = seed_ecc(parent, label, ret_seed, seed_len, ret_secret);
	else
		r = -ENOTSUP;
	if (r < 0) {
		wipe(ret_seed, seed_len);
		return r;
	}
	*ret_seed_len = seed_len;
	return 0;
}
