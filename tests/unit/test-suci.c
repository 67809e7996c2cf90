// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SUCI concealment against the six TS 33.501 Annex C.4 examples of
 * tests/data/suci.json (null scheme, profile A, profile B; IMSI and NAI),
 * with the spec's ephemeral keys injected; the GET IDENTITY coding of
 * TS 31.102 7.5 / TS 24.501 9.11.3.4 / TS 23.003 2.2B; and fresh ephemeral
 * keys, checked by deconcealing with the home network private key.
 */
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "aka-test.h"

#define DATA "tests/data/suci.json"

struct ex {
	struct json_object *o;
	struct aka_suci_input in;
	uint8_t hn_pub[65];
	uint8_t eph_priv[32];
	bool nai;
};

static void load_ex(size_t i, struct ex *e)
{
	struct json_object *o =
		json_object_array_get_idx(load_array(DATA, "sets"), i);

	memset(e, 0, sizeof(*e));
	e->o = o;
	e->nai = !strcmp(jstr(o, "SUPI_type"), "network specific identifier (NAI)");
	e->in.supi_type = e->nai ? AKA_SUPI_NAI : AKA_SUPI_IMSI;
	e->in.supi = jstr(o, "SUPI");
	e->in.mnc_digits = 3; /* "274012": MCC 274, MNC 012 */
	e->in.scheme = (enum aka_suci_scheme)jint(o, "protection_scheme_id");
	e->in.hn_key_id = e->in.scheme == AKA_SUCI_NULL ? 0 : 27;
	if (e->in.scheme == AKA_SUCI_PROFILE_A)
		e->in.hn_pub_len =
			jhex(o, "Home Network Public Key", e->hn_pub, 65);
	else if (e->in.scheme == AKA_SUCI_PROFILE_B)
		e->in.hn_pub_len = jhex(o, "Home Network Public Key (compressed)",
					e->hn_pub, 65);
	e->in.hn_pub = e->in.scheme ? e->hn_pub : NULL;
	if (e->in.scheme)
		assert_int_equal(jhex(o, "Eph. Private Key", e->eph_priv, 32), 32);
}

static void check_imsi_value(const struct ex *e, const struct aka_suci *s,
			     const uint8_t rid[2])
{
	/* TS 31.102 7.5: '01', MCC/MNC 274/012 -> 72 24 10, routing
	 * indicator, scheme id, key id, scheme output (TS 24.501 9.11.3.4) */
	const uint8_t head[8] = { 0x01, 0x72, 0x24, 0x10, rid[0], rid[1],
				  (uint8_t)e->in.scheme, e->in.hn_key_id };

	assert_int_equal(s->value_len, 8 + s->scheme_output_len);
	assert_memory_equal(s->value, head, 8);
	assert_memory_equal(s->value + 8, s->scheme_output, s->scheme_output_len);
}

static void test_example(void **state)
{
	size_t i = *(size_t *)*state;
	struct ex e;
	struct aka_suci s;
	const uint8_t rid0[2] = { 0xf0, 0xff };

	load_ex(i, &e);
	assert_int_equal(aka_suci_conceal_with_ephemeral_key_for_testing(
				 &e.in, e.eph_priv, 32, &s),
			 0);
	if (!e.nai) {
		assert_hex_field(e.o, "Scheme Output", s.scheme_output,
				 s.scheme_output_len);
		check_imsi_value(&e, &s, rid0);
		return;
	}

	/* NAI: binary output = eph. key || cipher text || MAC tag, and the
	 * SUCI NAI (TS 23.003 2.2B) carries the spec's text form. */
	{
		char want[600];
		const char *so = jstr(e.o, "Scheme Output");
		uint8_t bin[128];
		size_t n = 0;

		if (e.in.scheme == AKA_SUCI_NULL) {
			assert_hex_field(e.o, "Scheme Input", s.scheme_output,
					 s.scheme_output_len);
			snprintf(want, sizeof(want), "type1.rid0.schid0.%s@3gpp.com",
				 so);
		} else {
			n = jhex(e.o, e.in.scheme == AKA_SUCI_PROFILE_A ?
					      "Eph. Public Key" :
					      "Eph. Public Key (compressed)",
				 bin, sizeof(bin));
			n += jhex(e.o, "Cipher-text value", bin + n,
				  sizeof(bin) - n);
			n += jhex(e.o, "MAC-tag value", bin + n, sizeof(bin) - n);
			assert_int_equal(s.scheme_output_len, n);
			assert_memory_equal(s.scheme_output, bin, n);
			snprintf(want, sizeof(want),
				 "type1.rid0.schid%u.hnkey27.%s@3gpp.com",
				 (unsigned)e.in.scheme, so);
		}
		assert_int_equal(s.value[0], 0x11);
		assert_int_equal(s.value_len, 1 + strlen(want));
		if (strncasecmp((const char *)s.value + 1, want, strlen(want)))
			fail_msg("SUCI NAI %.*s, want %s", (int)s.value_len - 1,
				 (const char *)s.value + 1, want);
	}
}

/* Profile B accepts the home network key uncompressed too; routing
 * indicator and MNC length are coded as in TS 24.501 9.11.3.4. */
static void test_profile_b_uncompressed_ri(void **state)
{
	struct ex e;
	struct aka_suci s;
	const uint8_t rid[2] = { 0x21, 0xf3 }; /* "123" */

	(void)state;
	load_ex(4, &e);
	assert_string_equal(jstr(e.o, "clause"), "TS 33.501 C.4.4.1");
	e.in.hn_pub_len = jhex(e.o, "Home Network Public Key (uncompressed)",
			       e.hn_pub, 65);
	e.in.routing_indicator = "123";
	assert_int_equal(aka_suci_conceal_with_ephemeral_key_for_testing(
				 &e.in, e.eph_priv, 32, &s),
			 0);
	assert_hex_field(e.o, "Scheme Output", s.scheme_output,
			 s.scheme_output_len);
	check_imsi_value(&e, &s, rid);

	/* a 2-digit MNC: "27401" + MSIN -> MNC digit 3 is 'F' */
	e.in.supi = "27401001002086";
	e.in.mnc_digits = 2;
	assert_int_equal(aka_suci_conceal_with_ephemeral_key_for_testing(
				 &e.in, e.eph_priv, 32, &s),
			 0);
	assert_int_equal(s.value[1], 0x72);
	assert_int_equal(s.value[2], 0xf4);
	assert_int_equal(s.value[3], 0x10);
}

/* Home network side of TS 33.501 C.3.3 (test-only): recover the scheme
 * input from a scheme output with the home network private key. */
static size_t deconceal(enum aka_suci_scheme scheme, const uint8_t *hn_priv,
			const uint8_t *so, size_t so_len, uint8_t *plain)
{
	size_t pub_len = scheme == AKA_SUCI_PROFILE_A ? 32 : 33;
	size_t ct_len = so_len - pub_len - 8, zlen = 32, outl = 0;
	EVP_PKEY *hn = NULL, *eph = NULL;
	EVP_PKEY_CTX *ctx;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	EVP_CIPHER_CTX *c;
	uint8_t z[32], k[64], mac[32];
	int l1 = 0, l2 = 0;

	assert_true(so_len > pub_len + 8);
	if (scheme == AKA_SUCI_PROFILE_A) {
		hn = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, hn_priv,
						  32);
		eph = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, so, 32);
	} else {
		OSSL_PARAM p[3];
		BIGNUM *d = BN_bin2bn(hn_priv, 32, NULL);
		uint8_t dle[32];

		/* OSSL_PARAM BN values are native-endian */
		BN_bn2nativepad(d, dle, 32);
		BN_free(d);
		p[0] = OSSL_PARAM_construct_utf8_string(
			OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
		p[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, dle, 32);
		p[2] = OSSL_PARAM_construct_end();
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
		assert_int_equal(EVP_PKEY_fromdata(ctx, &hn, EVP_PKEY_KEYPAIR, p), 1);
		EVP_PKEY_CTX_free(ctx);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
							 (void *)so, 33);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
		assert_int_equal(
			EVP_PKEY_fromdata(ctx, &eph, EVP_PKEY_PUBLIC_KEY, p), 1);
		EVP_PKEY_CTX_free(ctx);
	}
	assert_non_null(hn);
	assert_non_null(eph);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, hn, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, eph), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, z, &zlen), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(hn);
	EVP_PKEY_free(eph);

	kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	kctx = EVP_KDF_CTX_new(kdf);
	{
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
			OSSL_PARAM_construct_octet_string("key", z, zlen),
			OSSL_PARAM_construct_octet_string("info", (void *)so,
							  pub_len),
			OSSL_PARAM_construct_end(),
		};
		assert_int_equal(EVP_KDF_derive(kctx, k, 64, p), 1);
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);

	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k + 32, 32,
				  so + pub_len, ct_len, mac, 32, &outl));
	assert_memory_equal(mac, so + pub_len + ct_len, 8);
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex2(c, EVP_aes_128_ctr(), k, k + 16,
					     NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(c, plain, &l1, so + pub_len,
					   (int)ct_len), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, plain + l1, &l2), 1);
	EVP_CIPHER_CTX_free(c);
	return (size_t)(l1 + l2);
}

static void test_fresh_ephemeral(void **state)
{
	(void)state;
	for (size_t i = 0; i < 6; i++) {
		struct ex e;
		struct aka_suci s1, s2;
		uint8_t hn_priv[32], plain[64], input[64];
		size_t n, in_len;

		load_ex(i, &e);
		if (e.in.scheme == AKA_SUCI_NULL)
			continue;
		assert_int_equal(aka_suci_conceal(&e.in, &s1), 0);
		assert_int_equal(aka_suci_conceal(&e.in, &s2), 0);
		assert_int_equal(s1.scheme_output_len, s2.scheme_output_len);
		/* fresh keys: different outputs */
		assert_memory_not_equal(s1.scheme_output, s2.scheme_output,
					s1.scheme_output_len);
		jhex(e.o, "Home Network Private Key", hn_priv, 32);
		in_len = jhex(e.o, "Scheme Input", input, sizeof(input));
		n = deconceal(e.in.scheme, hn_priv, s1.scheme_output,
			      s1.scheme_output_len, plain);
		assert_int_equal(n, in_len);
		assert_memory_equal(plain, input, n);
	}
}

static void test_bad_input(void **state)
{
	struct ex e;
	struct aka_suci s;
	struct aka_suci_input in;

	(void)state;
	load_ex(2, &e); /* profile A, IMSI */
	in = e.in;
	in.supi = "27401200100208x";
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	in.supi = "2740120010020861"; /* 16 digits */
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	in = e.in;
	in.mnc_digits = 4;
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	in = e.in;
	in.routing_indicator = "12345";
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	in.routing_indicator = "";
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	in = e.in;
	in.hn_pub_len = 31;
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	in = e.in;
	in.scheme = 3;
	assert_int_equal(aka_suci_conceal(&in, &s), -EOPNOTSUPP);
	in = e.in;
	in.supi_type = AKA_SUPI_NAI;
	in.supi = "no-realm";
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	in.supi = "@realm";
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	/* profile B: a point not on the curve */
	load_ex(4, &e);
	in = e.in;
	in.hn_pub_len = jhex(e.o, "Home Network Public Key (uncompressed)",
			     e.hn_pub, 65);
	e.hn_pub[64] ^= 1; /* y changed: (x, y) is not on the curve */
	in.hn_pub = e.hn_pub;
	assert_int_equal(aka_suci_conceal(&in, &s), -EINVAL);
	/* injected ephemeral key out of range for P-256 */
	{
		uint8_t big[32];

		load_ex(4, &e);
		memset(big, 0xff, 32);
		assert_int_equal(aka_suci_conceal_with_ephemeral_key_for_testing(
					 &e.in, big, 32, &s),
				 -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(test_profile_b_uncompressed_ri),
		cmocka_unit_test(test_fresh_ephemeral),
		cmocka_unit_test(test_bad_input),
	};

	return run_per_set("suci", "TS 33.501 C.4 example",
			   json_object_array_length(load_array(DATA, "sets")),
			   test_example, extra, ARRAY_SIZE(extra));
}
