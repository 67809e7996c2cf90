// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SUCI calculation by the USIM (TS 31.102 service 125, GET IDENTITY 7.5):
 * the null scheme (TS 33.501 C.2) and the ECIES profiles A (X25519) and B
 * (P-256) of TS 33.501 C.3, on OpenSSL 3 EVP: ECDH through EVP_PKEY_derive,
 * the ANSI X9.63 KDF (EVP_KDF "X963KDF", SHA-256), AES-128-CTR and
 * HMAC-SHA-256 truncated to 8 octets.  Output coding: TS 24.501 9.11.3.4
 * (IMSI) or the SUCI NAI of TS 23.003 2.2B (network specific identifier).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "daemon/aka/aka.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_KDF *, EVP_KDF_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_KDF_CTX *, EVP_KDF_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM *, OSSL_PARAM_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_clear_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EC_GROUP *, EC_GROUP_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EC_POINT *, EC_POINT_free)

#define ECIES_MAC_LEN 8 /* TS 33.501 C.3.4.1/C.3.4.2: MAC tag 64 bits */
#define P256_PUB_COMPRESSED 33
#define P256_PUB_UNCOMPRESSED 65

/* The scheme input, and the plain pieces of the identity. */
struct supi_parts {
	uint8_t input[AKA_SUCI_NAI_MAX]; /* TBCD MSIN or NAI username */
	size_t input_len;
	const char *username; /* NAI: the part before '@' */
	size_t username_len;
	const char *realm; /* NAI: after '@' */
};

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* TBCD: two digits per octet, the first in the low nibble, an odd count
 * filled with 'F' (TS 24.008 10.5.1.4, TS 33.501 C.4.2.1). */
static size_t tbcd(const char *d, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 2) {
		uint8_t lo = (uint8_t)(d[i] - '0');
		uint8_t hi = i + 1 < n ? (uint8_t)(d[i + 1] - '0') : 0x0f;

		out[o++] = (uint8_t)(hi << 4 | lo);
	}
	return o;
}

static int split_supi(const struct aka_suci_input *in, struct supi_parts *p)
{
	size_t n;

	if (!in->supi)
		return -EINVAL;
	n = strnlen(in->supi, AKA_SUCI_NAI_MAX + 1);
	if (in->supi_type == AKA_SUPI_IMSI) {
		/* TS 23.003 2.2: MCC (3) + MNC (2 or 3) + MSIN, at most 15 */
		if ((in->mnc_digits != 2 && in->mnc_digits != 3) ||
		    n > 15 || n < 3 + in->mnc_digits + 1 ||
		    !all_digits(in->supi, n))
			return -EINVAL;
		p->input_len = tbcd(in->supi + 3 + in->mnc_digits,
				    n - 3 - in->mnc_digits, p->input);
		return 0;
	}
	if (in->supi_type != AKA_SUPI_NAI || n > AKA_SUCI_NAI_MAX)
		return -EINVAL;
	p->realm = strchr(in->supi, '@');
	if (!p->realm || p->realm == in->supi || !p->realm[1] ||
	    strchr(p->realm + 1, '@'))
		return -EINVAL;
	p->username = in->supi;
	p->username_len = (size_t)(p->realm - in->supi);
	p->realm++;
	memcpy(p->input, p->username, p->username_len);
	p->input_len = p->username_len;
	return 0;
}

static int routing_indicator(const struct aka_suci_input *in,
			     const char **ret)
{
	const char *ri = in->routing_indicator ? in->routing_indicator : "0";
	size_t n = strnlen(ri, 5);

	/* TS 23.003 2.2B: 1 to 4 decimal digits, "0" when not provisioned */
	if (n < 1 || n > 4 || !all_digits(ri, n))
		return -EINVAL;
	*ret = ri;
	return 0;
}

/* ECDH of the ephemeral private key with the home network public key. */
static int ecdh(EVP_PKEY *eph, EVP_PKEY *hn, uint8_t *shared, size_t size,
		size_t *ret_len)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
	size_t len = size;

	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, hn) != 1 ||
	    EVP_PKEY_derive(ctx, shared, &len) != 1)
		return -EINVAL; /* e.g. a bad home network key */
	*ret_len = len;
	return 0;
}

/* ANSI X9.63 KDF with SHA-256, SharedInfo = the ephemeral public key as
 * sent (TS 33.501 C.3.4.1/C.3.4.2). */
static int x963(const uint8_t *z, size_t zlen, const uint8_t *info,
		size_t info_len, uint8_t out[64])
{
	_cleanup_(EVP_KDF_freep) EVP_KDF *kdf =
		EVP_KDF_fetch(NULL, OSSL_KDF_NAME_X963KDF, NULL);
	_cleanup_(EVP_KDF_CTX_freep) EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)z, zlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						  (void *)info, info_len),
		OSSL_PARAM_construct_end(),
	};

	if (!kdf)
		return -ENOSYS;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		return -ENOMEM;
	if (EVP_KDF_derive(ctx, out, 64, params) != 1)
		return -EIO;
	return 0;
}

static int aes128_ctr(const uint8_t key[16], const uint8_t icb[16],
		      const uint8_t *in, size_t len, uint8_t *out)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx =
		EVP_CIPHER_CTX_new();
	int outl = 0, finl = 0;

	if (!ctx)
		return -ENOMEM;
	if (EVP_EncryptInit_ex2(ctx, EVP_aes_128_ctr(), key, icb, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + outl, &finl) != 1 ||
	    (size_t)(outl + finl) != len)
		return -EIO;
	return 0;
}

static int hmac_sha256_64(const uint8_t key[32], const uint8_t *in,
			  size_t len, uint8_t tag[ECIES_MAC_LEN])
{
	uint8_t full[32];
	size_t outl = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 32, in, len,
		       full, sizeof(full), &outl) ||
	    outl != sizeof(full))
		return -EIO;
	memcpy(tag, full, ECIES_MAC_LEN);
	return 0;
}

/* Profile A: X25519 keys from raw octets (RFC 7748). */
static int x25519_keys(const struct aka_suci_input *in,
		       const uint8_t *eph_priv, size_t eph_priv_len,
		       EVP_PKEY **ret_eph, EVP_PKEY **ret_hn,
		       uint8_t *eph_pub, size_t *eph_pub_len)
{
	size_t len = 32;

	if (in->hn_pub_len != 32)
		return -EINVAL;
	*ret_hn = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
					      in->hn_pub, 32);
	if (!*ret_hn)
		return -EINVAL;
	if (eph_priv) {
		if (eph_priv_len != 32)
			return -EINVAL;
		*ret_eph = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
							eph_priv, 32);
	} else {
		*ret_eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	}
	if (!*ret_eph)
		return -EIO;
	if (EVP_PKEY_get_raw_public_key(*ret_eph, eph_pub, &len) != 1 ||
	    len != 32)
		return -EIO;
	*eph_pub_len = 32;
	return 0;
}

static EVP_PKEY *p256_from(const uint8_t *pub, size_t pub_len,
			   const BIGNUM *priv)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld =
		OSSL_PARAM_BLD_new();
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;

	if (!bld || !ctx ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     SN_X9_62_prime256v1, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					      pub_len) ||
	    (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
					     priv)))
		return NULL;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!params || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey,
			      priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) != 1)
		return NULL;
	return pkey;
}

/* Profile B: P-256 keys; the ephemeral public key is sent compressed
 * (TS 33.501 C.3.4.2, SEC 1 2.3.3). */
static int p256_keys(const struct aka_suci_input *in, const uint8_t *eph_priv,
		     size_t eph_priv_len, EVP_PKEY **ret_eph, EVP_PKEY **ret_hn,
		     uint8_t *eph_pub, size_t *eph_pub_len)
{
	uint8_t unc[P256_PUB_UNCOMPRESSED];
	size_t len = 0;

	if (in->hn_pub_len != P256_PUB_COMPRESSED &&
	    in->hn_pub_len != P256_PUB_UNCOMPRESSED)
		return -EINVAL;
	*ret_hn = p256_from(in->hn_pub, in->hn_pub_len, NULL);
	if (!*ret_hn)
		return -EINVAL;
	if (eph_priv) {
		_cleanup_(EC_GROUP_freep) EC_GROUP *g =
			EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
		_cleanup_(EC_POINT_freep) EC_POINT *pt = NULL;
		_cleanup_(BN_clear_freep) BIGNUM *d = NULL;

		if (eph_priv_len != 32 || !g)
			return -EINVAL;
		d = BN_bin2bn(eph_priv, 32, NULL);
		pt = EC_POINT_new(g);
		if (!d || !pt || BN_is_zero(d) ||
		    BN_cmp(d, EC_GROUP_get0_order(g)) >= 0 ||
		    !EC_POINT_mul(g, pt, d, NULL, NULL, NULL) ||
		    EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED,
				       unc, sizeof(unc), NULL) != sizeof(unc))
			return -EINVAL;
		*ret_eph = p256_from(unc, sizeof(unc), d);
	} else {
		*ret_eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (*ret_eph &&
		    (EVP_PKEY_get_octet_string_param(
			     *ret_eph, OSSL_PKEY_PARAM_PUB_KEY, unc,
			     sizeof(unc), &len) != 1 ||
		     len != sizeof(unc)))
			return -EIO;
	}
	if (!*ret_eph)
		return -EIO;
	/* compress: 02/03 by the parity of y, then x */
	eph_pub[0] = (uint8_t)(0x02 | (unc[64] & 1));
	memcpy(eph_pub + 1, unc + 1, 32);
	*eph_pub_len = P256_PUB_COMPRESSED;
	return 0;
}

/* TS 33.501 C.3.2/C.3.3: scheme output = eph. public key || cipher text ||
 * MAC tag. */
static int ecies(const struct aka_suci_input *in, const uint8_t *eph_priv,
		 size_t eph_priv_len, const uint8_t *plain, size_t plain_len,
		 uint8_t *out, size_t *ret_len, size_t *ret_pub_len)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *eph = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *hn = NULL;
	uint8_t pub[P256_PUB_COMPRESSED], z[32], k[64];
	size_t pub_len = 0, zlen = 0;
	int r;

	if (!in->hn_pub)
		return -EINVAL;
	if (in->scheme == AKA_SUCI_PROFILE_A)
		r = x25519_keys(in, eph_priv, eph_priv_len, &eph, &hn, pub,
				&pub_len);
	else
		r = p256_keys(in, eph_priv, eph_priv_len, &eph, &hn, pub,
			      &pub_len);
	if (r < 0)
		return r;
	r = ecdh(eph, hn, z, sizeof(z), &zlen);
	if (r >= 0)
		/* k = Eph. Enc. Key (16) || ICB (16) || Eph. mac key (32) */
		r = x963(z, zlen, pub, pub_len, k);
	if (r >= 0) {
		memcpy(out, pub, pub_len);
		r = aes128_ctr(k, k + 16, plain, plain_len, out + pub_len);
	}
	if (r >= 0)
		r = hmac_sha256_64(k + 32, out + pub_len, plain_len,
				   out + pub_len + plain_len);
	if (r >= 0) {
		*ret_len = pub_len + plain_len + ECIES_MAC_LEN;
		*ret_pub_len = pub_len;
	}
	wipe(z, sizeof(z));
	wipe(k, sizeof(k));
	return r;
}

static void hex_upper(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* IMSI: TS 24.501 9.11.3.4 octets 4.. (TS 31.102 7.5 GET IDENTITY). */
static int encode_imsi(const struct aka_suci_input *in, const char *ri,
		       struct aka_suci *o)
{
	const char *s = in->supi;
	size_t rn = strlen(ri);
	uint8_t *v = o->value;
	char rid[4] = { 0x0f, 0x0f, 0x0f, 0x0f };

	if (9 + o->scheme_output_len > sizeof(o->value))
		return -EMSGSIZE;
	for (size_t i = 0; i < rn; i++)
		rid[i] = (char)(ri[i] - '0');
	v[0] = 0x01; /* SUPI format IMSI (000), type of identity SUCI (001) */
	v[1] = (uint8_t)((s[1] - '0') << 4 | (s[0] - '0'));
	v[2] = (uint8_t)((in->mnc_digits == 3 ? s[5] - '0' : 0x0f) << 4 |
			 (s[2] - '0'));
	v[3] = (uint8_t)((s[4] - '0') << 4 | (s[3] - '0'));
	/* routing indicator digits 1..4, unused digits '1111' */
	v[4] = (uint8_t)(rid[1] << 4 | rid[0]);
	v[5] = (uint8_t)(rid[3] << 4 | rid[2]);
	v[6] = (uint8_t)in->scheme; /* protection scheme id, bits 4-1 */
	v[7] = in->scheme == AKA_SUCI_NULL ? 0 : in->hn_key_id;
	memcpy(v + 8, o->scheme_output, o->scheme_output_len);
	o->value_len = 8 + o->scheme_output_len;
	return 0;
}

/* Network specific identifier: '11' || SUCI NAI (TS 23.003 2.2B). */
static int encode_nai(const struct aka_suci_input *in, const char *ri,
		      const struct supi_parts *p, size_t pub_len,
		      struct aka_suci *o)
{
	_cleanup_free_ char *hex = NULL;
	const uint8_t *so = o->scheme_output;
	size_t cip_len;
	int n;

	o->value[0] = 0x11; /* SUPI format NSI (001), type SUCI (001) */
	if (in->scheme == AKA_SUCI_NULL) {
		n = snprintf((char *)o->value + 1, sizeof(o->value) - 1,
			     "type1.rid%s.schid0.userid%.*s@%s", ri,
			     (int)p->username_len, p->username, p->realm);
	} else {
		char *pub_hex, *cip_hex, *mac_hex;

		cip_len = o->scheme_output_len - pub_len - ECIES_MAC_LEN;
		hex = malloc(2 * o->scheme_output_len + 3);
		if (!hex)
			return -ENOMEM;
		pub_hex = hex;
		cip_hex = pub_hex + 2 * pub_len + 1;
		mac_hex = cip_hex + 2 * cip_len + 1;
		hex_upper(so, pub_len, pub_hex);
		hex_upper(so + pub_len, cip_len, cip_hex);
		hex_upper(so + pub_len + cip_len, ECIES_MAC_LEN, mac_hex);
		n = snprintf((char *)o->value + 1, sizeof(o->value) - 1,
			     "type1.rid%s.schid%u.hnkey%u.ecckey%s.cip%s.mac%s@%s",
			     ri, (unsigned)in->scheme, (unsigned)in->hn_key_id,
			     pub_hex, cip_hex, mac_hex, p->realm);
	}
	if (n < 0 || (size_t)n >= sizeof(o->value) - 1)
		return -EMSGSIZE;
	o->value_len = 1 + (size_t)n;
	return 0;
}

static int conceal(const struct aka_suci_input *in, const uint8_t *eph_priv,
		   size_t eph_priv_len, struct aka_suci *ret)
{
	struct supi_parts p = { 0 };
	size_t pub_len = 0;
	const char *ri;
	int r;

	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (!in)
		return -EINVAL;
	r = split_supi(in, &p);
	if (r >= 0)
		r = routing_indicator(in, &ri);
	if (r < 0)
		goto out;
	switch (in->scheme) {
	case AKA_SUCI_NULL:
		/* TS 33.501 C.2: the output is the input */
		memcpy(ret->scheme_output, p.input, p.input_len);
		ret->scheme_output_len = p.input_len;
		break;
	case AKA_SUCI_PROFILE_A:
	case AKA_SUCI_PROFILE_B:
		r = ecies(in, eph_priv, eph_priv_len, p.input, p.input_len,
			  ret->scheme_output, &ret->scheme_output_len,
			  &pub_len);
		break;
	default:
		r = -EOPNOTSUPP;
	}
	if (r >= 0)
		r = in->supi_type == AKA_SUPI_IMSI ?
			    encode_imsi(in, ri, ret) :
			    encode_nai(in, ri, &p, pub_len, ret);
out:
	wipe(&p, sizeof(p));
	if (r < 0)
		memset(ret, 0, sizeof(*ret));
	return r;
}

int aka_suci_conceal(const struct aka_suci_input *in, struct aka_suci *ret)
{
	return conceal(in, NULL, 0, ret);
}

int aka_suci_conceal_with_ephemeral_key_for_testing(
	const struct aka_suci_input *in, const uint8_t *eph_priv,
	size_t eph_priv_len, struct aka_suci *ret)
{
	if (!eph_priv)
		return -EINVAL;
	return conceal(in, eph_priv, eph_priv_len, ret);
}
