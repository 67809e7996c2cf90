// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * AUTHENTICATE (TS 31.102 7.1) and GET IDENTITY (TS 31.102 7.5) through the
 * engine, with the TS 35.208 MILENAGE test sets (tests/data/milenage.json;
 * set 1 is also written out below) and the TS 33.501 C.4.3.1 home network
 * key, whose SUCI the test decrypts on its own with OpenSSL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "hex.h"
#include "test-usim-common.h"

/* TS 35.208 4.3.1 (test set 1) and its derived AUTN/AUTS (AUTS with
 * SQN_MS = SQN), TS 55.205 set 1 SRES#1 and Kc. */
#define SET1_RAND "23553cbe9637a89d218ae64dae47bf35"
#define SET1_SQN 0xff9bb4d0b607ull
#define SET1_AUTN "55f328b43577b9b94a9ffac354dfafb3"
#define SET1_RES "a54211d5e3ba50bf"
#define SET1_CK "b40ba9a3c58b2a05bbf0d987b21bf8cb"
#define SET1_IK "f769bcd751044604127672711c6d3441"
#define SET1_AUTS "ba853f3c123ccf44e93596e355c6"
#define SET1_SRES "46f8416a"
#define SET1_KC "eae4be823af9a08b"

#define SEL_ADF "00a4040c10" TC_AID_USIM
#define VERIFY_PIN1 "0020000108" TC_PIN1

/* Lets the SQN of a set be fresh: SEQ_MS(IND) = SEQ - 1. */
static void make_fresh(struct tc *t, uint64_t sqn)
{
	unsigned ind_bits = t->p->sqn_cfg.ind_bits;
	unsigned ind = (unsigned)(sqn & ((1u << ind_bits) - 1));
	uint64_t seq = sqn >> ind_bits;

	memset(&t->p->sqn, 0, sizeof(t->p->sqn));
	if (seq)
		t->p->sqn.seq_ms[ind] = seq - 1;
}

static int auth_setup(void **state)
{
	struct tc *t = tc_new();

	tc_expect(t, SEL_ADF, "9000");
	tc_expect(t, VERIFY_PIN1, "9000");
	make_fresh(t, SET1_SQN);
	*state = t;
	return 0;
}

static void authenticate_3g(void **state)
{
	struct tc *t = *state;
	unsigned ind = (unsigned)(SET1_SQN & 31);

	/* T=0 case 4: 61XX, then the 'DB' answer (7.1.2.1) with Kc
	 * (service 27 is available on the test card). */
	tc_expect(t, "0088008122 10" SET1_RAND "10" SET1_AUTN, "6135");
	assert_int_equal(tc_changes(t, USIM_CHANGE_SQN, ind), 1);
	assert_int_equal(t->n_changes, 1);
	assert_true(t->p->sqn.seq_ms[ind] == SET1_SQN >> 5);
	tc_expect(t, "00c0000035",
		  "db08" SET1_RES "10" SET1_CK "10" SET1_IK "08" SET1_KC
		  "9000");
	/* The same challenge again: replay, sync failure with AUTS. */
	tc_expect(t, "0088008122 10" SET1_RAND "10" SET1_AUTN, "6110");
	assert_int_equal(t->n_changes, 0);
	tc_expect(t, "00c0000010", "dc0e" SET1_AUTS "9000");
	/* A flipped MAC bit: '9862', no change. */
	tc_expect(t, "0088008122 10" SET1_RAND
		  "10 55f328b43577b9b94a9ffac354dfafb2", "9862");
	assert_int_equal(t->n_changes, 0);
}

static void authenticate_le_and_no_kc(void **state)
{
	struct tc *t = *state;

	/* Without service 27 there is no Kc; with Le the answer is direct. */
	t->p->files[t->ef_ust].data[3] &= (uint8_t)~0x04;
	tc_expect(t, "0088008122 10" SET1_RAND "10" SET1_AUTN "00",
		  "db08" SET1_RES "10" SET1_CK "10" SET1_IK "9000");
	/* The GSM context needs service 38 (GSM security context). */
	tc_expect(t, "0088008011 10" SET1_RAND "00",
		  "04" SET1_SRES "08" SET1_KC "9000");
	t->p->files[t->ef_ust].data[4] &= (uint8_t)~0x20;
	tc_expect(t, "0088008011 10" SET1_RAND, "9864");
}

static void authenticate_gsm(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "0088008011 10" SET1_RAND, "610e");
	tc_expect(t, "00c000000e", "04" SET1_SRES "08" SET1_KC "9000");
	assert_int_equal(t->n_changes, 0);
}

static void authenticate_errors(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "0088018122 10" SET1_RAND "10" SET1_AUTN, "6a86");
	tc_expect(t, "0088008222 10" SET1_RAND "10" SET1_AUTN, "6a86");
	tc_expect(t, "0088008121 0f" SET1_RAND "10" SET1_AUTN, "6700");
	tc_expect(t, "0088008121 10" SET1_RAND "10" SET1_AUTN, "6700");
	tc_expect(t, "0088008123 10" SET1_RAND "11" SET1_AUTN "00", "6a80");
	tc_expect(t, "0088008122 10" SET1_RAND "11" SET1_AUTN, "6700");
	tc_expect(t, "0088008110 10" SET1_RAND, "6700");
	tc_expect(t, "00880081", "6700");
	tc_expect(t, "0088008012 10" SET1_RAND "00", "6700");
	tc_expect(t, "8088008122 10" SET1_RAND "10" SET1_AUTN, "6e00");
	assert_int_equal(t->p->sqn.seq_ms[7], (SET1_SQN >> 5) - 1);
	/* No application on the channel. */
	tc_expect(t, "0070000001", "01 9000");
	tc_expect(t, "0188008122 10" SET1_RAND "10" SET1_AUTN, "6985");
	/* PIN1 not verified. */
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, SEL_ADF, "9000");
	tc_expect(t, "0088008122 10" SET1_RAND "10" SET1_AUTN, "6982");
	tc_expect(t, "0088008011 10" SET1_RAND, "6982");
}

/* A fresh card (SEQ_MS all 0) finds set 1's SQN too far ahead (TS 33.102
 * C.2.1): AUTS, which the network side resolves to SQN_MS = 0. */
static void authenticate_resync_check(void **state)
{
	struct tc *t = *state;
	uint8_t rand[16], sqn_ms[6] = { 1 };

	memset(&t->p->sqn, 0, sizeof(t->p->sqn));
	assert_int_equal(tc_tx(t, "0088008122 10" SET1_RAND "10" SET1_AUTN
				  "00"),
			 0x9000);
	assert_int_equal(t->rsp_len, 2 + 16);
	assert_int_equal(t->rsp[0], 0xdc);
	assert_int_equal(t->rsp[1], 14);
	tc_hex(SET1_RAND, rand, sizeof(rand));
	assert_int_equal(aka_network_resync(&t->p->aka, &t->key, rand,
					    t->rsp + 2, 14, sqn_ms),
			 0);
	assert_memory_equal(sqn_ms, "\0\0\0\0\0\0", 6);
	assert_int_equal(t->n_changes, 0);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	const char *r;

	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("test data: no field %s", k);
	r = json_object_get_string(v);
	return r ? r : "";
}

/* Every TS 35.208 set of tests/data/milenage.json through AUTHENTICATE. */
static void authenticate_all_sets(void **state)
{
	json_object *root = json_object_from_file("tests/data/milenage.json");
	json_object *sets;
	size_t count = 0;

	(void)state;
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "sets", &sets));
	for (size_t i = 0; i < json_object_array_length(sets); i++) {
		json_object *s = json_object_array_get_idx(sets, i), *d, *g;
		struct tc *t = tc_new();
		uint8_t k[16], sqn[6];
		uint64_t sqnv = 0;
		char apdu[256], want[256];

		assert_true(json_object_object_get_ex(s, "derived", &d));
		tc_hex(jstr(s, "K"), k, sizeof(k));
		tc_hex(jstr(s, "OPc"), t->p->aka.milenage.opc, 16);
		aka_soft_cipher_free(&t->cipher);
		assert_int_equal(aka_soft_cipher_new(k, &t->cipher), 0);
		t->key.cipher = t->cipher;
		memcpy(t->secret.k, k, 16);
		tc_hex(jstr(s, "SQN"), sqn, sizeof(sqn));
		for (int b = 0; b < 6; b++)
			sqnv = sqnv << 8 | sqn[b];
		make_fresh(t, sqnv);
		tc_expect(t, SEL_ADF, "9000");
		tc_expect(t, VERIFY_PIN1, "9000");
		bool has_gsm = json_object_object_get_ex(s, "gsm", &g);

		snprintf(apdu, sizeof(apdu), "0088008122 10%s 10%s 00",
			 jstr(s, "RAND"), jstr(d, "AUTN"));
		assert_int_equal(tc_tx(t, apdu), 0x9000);
		snprintf(want, sizeof(want), "db08%s10%s10%s08", jstr(s, "f2"),
			 jstr(s, "f3"), jstr(s, "f4"));
		assert_int_equal(strncmp(tc_data_hex(t), want, strlen(want)),
				 0);
		if (has_gsm)
			assert_string_equal(tc_data_hex(t) + strlen(want),
					    jstr(g, "Kc"));
		assert_int_equal(tc_tx(t, apdu), 0x9000);
		snprintf(want, sizeof(want), "dc0e%s", jstr(d, "AUTS"));
		assert_string_equal(tc_data_hex(t), want);
		if (has_gsm) {
			snprintf(apdu, sizeof(apdu), "0088008011 10%s 00",
				 jstr(s, "RAND"));
			assert_int_equal(tc_tx(t, apdu), 0x9000);
			snprintf(want, sizeof(want), "04%s08%s",
				 jstr(g, "SRES#1"), jstr(g, "Kc"));
			assert_string_equal(tc_data_hex(t), want);
		}
		tc_free(t);
		count++;
	}
	assert_int_equal(count, 20);
	json_object_put(root);
}

/* ---- GET IDENTITY ------------------------------------------------------ */

static void identity_null_scheme(void **state)
{
	struct tc *t = *state;

	/* SUCI (TS 24.501 9.11.3.4 from octet 4): IMSI format, MCC 001 MNC
	 * 01, routing indicator 1234, null scheme, key 0, MSIN in BCD. */
	tc_expect(t, "8078000100", "a10d 01 00f110 2143 00 00 1032547698 9000");
	assert_int_equal(t->n_changes, 0);
	/* T=0: 61XX. */
	tc_expect(t, "80780001", "610f");
	tc_expect(t, "00c000000f", "a10d 0100f110214300001032547698 9000");
	/* 3-digit MNC from EF.AD: 001-010, MSIN 123456789. */
	t->p->files[t->ef_ad].data[3] = 0x03;
	tc_expect(t, "8078000100", "a10d 01 000110 2143 00 00 21436587f9 9000");
}

/* SUPI as a network specific identifier (service 130, EF.SUPI_NAI): the
 * SUCI NAI of TS 23.003 2.2B after '11' (TS 31.102 7.5.2). */
static void identity_nai(void **state)
{
	struct tc *t = *state;
	static const char nai[] = "verylongusername1@3gpp.com";
	static const char want_null[] =
		"type1.rid1234.schid0.useridverylongusername1@3gpp.com";
	static const char want_a[] = "type1.rid1234.schid1.hnkey27.ecckey";
	struct usim_file *f = &t->p->files[t->ef_supi_nai];
	char ef[300];

	/* Service 130 off: the IMSI, even with a NAI in the EF. */
	f->data[0] = 0x80;
	f->data[1] = sizeof(nai) - 1;
	memcpy(f->data + 2, nai, sizeof(nai) - 1);
	assert_int_equal(tc_tx(t, "8078000100"), 0x9000);
	assert_int_equal(t->rsp[2], 0x01);
	t->p->files[t->ef_ust].data[16] |= 0x02;
	assert_int_equal(tc_tx(t, "8078000100"), 0x9000);
	assert_int_equal(t->rsp[0], 0xa1);
	assert_int_equal(t->rsp[1], 1 + strlen(want_null));
	assert_int_equal(t->rsp[2], 0x11);
	assert_memory_equal(t->rsp + 3, want_null, strlen(want_null));
	assert_int_equal(t->rsp_len, 2 + 3 + strlen(want_null));
	/* Profile A: longer than 127 bytes, so a two-byte BER length. */
	snprintf(ef, sizeof(ef), "a002 0101 a125 80011b 8120%s",
		 "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650");
	tc_hex(ef, t->p->files[t->ef_suci_calc].data, 128);
	assert_int_equal(tc_tx(t, "8078000100"), 0x9000);
	assert_int_equal(t->rsp[0], 0xa1);
	assert_int_equal(t->rsp[1], 0x81);
	assert_int_equal(t->rsp[2] + 5, t->rsp_len);
	assert_int_equal(t->rsp[3], 0x11);
	assert_memory_equal(t->rsp + 4, want_a, strlen(want_a));
	assert_memory_equal(t->rsp + t->rsp_len - 2 - 9, "@3gpp.com", 9);
	/* Not a NAI: falls back to the IMSI. */
	f->data[2] = 0x01;
	assert_int_equal(tc_tx(t, "8078000100"), 0x9000);
	assert_int_equal(t->rsp[2], 0x01);
}

static void identity_errors(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "8078000200", "6a86");
	tc_expect(t, "8078010100", "6a86");
	tc_expect(t, "0078000100", "6e00");
	tc_expect(t, "8078000101 00", "6700");
	/* Service 125 not available: the ME computes the SUCI (5.3.48). */
	t->p->files[t->ef_ust].data[15] &= (uint8_t)~0x10;
	tc_expect(t, "8078000100", "6985");
	t->p->files[t->ef_ust].data[15] |= 0x10;
	t->p->files[t->ef_ust].data[15] &= (uint8_t)~0x08;
	tc_expect(t, "8078000100", "6985");
	t->p->files[t->ef_ust].data[15] |= 0x08;
	/* No scheme we implement in EF.SUCI_Calc_Info. */
	memcpy(t->p->files[t->ef_suci_calc].data, "\xa0\x02\x05\x01", 4);
	tc_expect(t, "8078000100", "6f00");
	/* No application; PIN not verified. */
	tc_expect(t, "0070000001", "01 9000");
	tc_expect(t, "8178000100", "6985");
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, SEL_ADF, "9000");
	tc_expect(t, "8078000100", "6982");
}

/* Home network side of ECIES (TS 33.501 C.3.3), written here from the spec
 * on OpenSSL, to decrypt what the card produced: ECDH with the home network
 * private key and the ephemeral public key (the first pub_len bytes of the
 * scheme output), X9.63 KDF (SHA-256, SharedInfo = the ephemeral key) to
 * 64 bytes = AES key, ICB, MAC key; HMAC-SHA-256 tag of 8 bytes. */
static void ecies_open(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t *out,
		       size_t pub_len, size_t len, uint8_t *ret_plain,
		       size_t *ret_plain_len)
{
	EVP_PKEY_CTX *ctx;
	uint8_t z[32], keys[64], mac[32];
	size_t zl = sizeof(z), ml = 0, ct_len = len - pub_len - 8;
	int outl = 0, finl = 0;

	assert_non_null(priv);
	assert_non_null(peer);
	ctx = EVP_PKEY_CTX_new(priv, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, z, &zl), 1);
	assert_int_equal(zl, 32);
	EVP_PKEY_CTX_free(ctx);

	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zl),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						  (void *)out, pub_len),
		OSSL_PARAM_construct_end(),
	};

	assert_int_equal(EVP_KDF_derive(kctx, keys, sizeof(keys), params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);

	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, keys + 32,
				  32, out + pub_len, ct_len, mac, sizeof(mac),
				  &ml));
	assert_memory_equal(mac, out + pub_len + ct_len, 8);

	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_128_ctr(), NULL, keys,
					    keys + 16),
			 1);
	assert_int_equal(EVP_DecryptUpdate(c, ret_plain, &outl,
					   out + pub_len, (int)ct_len),
			 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, ret_plain + outl, &finl), 1);
	EVP_CIPHER_CTX_free(c);
	*ret_plain_len = (size_t)(outl + finl);
}

static void profile_a_open(const uint8_t hn_priv[32], const uint8_t *out,
			   size_t len, uint8_t *ret_plain, size_t *ret_plain_len)
{
	EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
						      hn_priv, 32);
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
						     out, 32);

	ecies_open(priv, peer, out, 32, len, ret_plain, ret_plain_len);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(peer);
}

/* A P-256 key from parameters: a private scalar or a public point. */
static EVP_PKEY *p256_key(const uint8_t *priv, const uint8_t *pub,
			  size_t pub_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	BIGNUM *bn = priv ? BN_bin2bn(priv, 32, NULL) : NULL;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;

	OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
					"prime256v1", 0);
	if (bn)
		OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, bn);
	if (pub)
		OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub,
						 pub_len);
	params = OSSL_PARAM_BLD_to_param(b);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k,
					   priv ? EVP_PKEY_KEYPAIR :
						  EVP_PKEY_PUBLIC_KEY,
					   params),
			 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void identity_profile_a(void **state)
{
	struct tc *t = *state;
	uint8_t priv[32], plain[64], first_eph[32];
	size_t pl = 0;
	char ef[200];

	/* TS 33.501 C.4.3.1 home network key pair (a test key). */
	tc_hex("c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d",
	       priv, sizeof(priv));
	/* EF.SUCI_Calc_Info: profile A first (key index 1), then null;
	 * key list: identifier 27, the public key. */
	snprintf(ef, sizeof(ef), "a004 0101 0000 a125 80011b 8120%s",
		 "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650");
	tc_hex(ef, t->p->files[t->ef_suci_calc].data, 64);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(tc_tx(t, "8078000100"), 0x9000);
		/* A1 L, then 01 PLMN(3) RI(2) scheme key, scheme output. */
		assert_int_equal(t->rsp_len, 2 + 2 + 8 + 32 + 5 + 8);
		assert_memory_equal(t->rsp, "\xa1\x35\x01\x00\xf1\x10\x21\x43"
					    "\x01\x1b",
				    10);
		profile_a_open(priv, t->rsp + 10, 32 + 5 + 8, plain, &pl);
		assert_int_equal(pl, 5);
		assert_memory_equal(plain, "\x10\x32\x54\x76\x98", 5);
		/* A fresh ephemeral key every time. */
		if (round == 0)
			memcpy(first_eph, t->rsp + 10, 32);
		else
			assert_memory_not_equal(first_eph, t->rsp + 10, 32);
	}
}

static void identity_profile_b(void **state)
{
	struct tc *t = *state;
	uint8_t priv[32], pub[65], plain[64];
	size_t pl = 0;
	char ef[300];

	/* TS 33.501 C.4.4.1 home network key pair (a test key); the card
	 * holds the compressed public key. */
	tc_hex("f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda",
	       priv, sizeof(priv));
	tc_hex("0472da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd1"
	       "5a7ded52fcbb097a4ed250e036c7b9c8c7004c4eedc4f068cd7bf8d3f900e3b4",
	       pub, sizeof(pub));
	/* Scheme list: B with key index 2 (the second key), keys 7 and 9. */
	snprintf(ef, sizeof(ef), "a002 0202 a14b 800107 8120%s 800109 8121%s",
		 "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650",
		 "0272da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd1");
	memset(t->p->files[t->ef_suci_calc].data, 0xff, 128);
	assert_int_equal(tc_hex(ef, t->p->files[t->ef_suci_calc].data, 128),
			 81);
	assert_int_equal(tc_tx(t, "8078000100"), 0x9000);
	/* 01 PLMN RI scheme 02 key 09, then compressed point, cipher, MAC. */
	assert_int_equal(t->rsp_len, 2 + 2 + 8 + 33 + 5 + 8);
	assert_memory_equal(t->rsp, "\xa1\x36\x01\x00\xf1\x10\x21\x43"
				    "\x02\x09",
			    10);
	assert_true(t->rsp[10] == 0x02 || t->rsp[10] == 0x03);
	EVP_PKEY *hn = p256_key(priv, pub, sizeof(pub));
	EVP_PKEY *eph = p256_key(NULL, t->rsp + 10, 33);

	ecies_open(hn, eph, t->rsp + 10, 33, 33 + 5 + 8, plain, &pl);
	EVP_PKEY_free(hn);
	EVP_PKEY_free(eph);
	assert_int_equal(pl, 5);
	assert_memory_equal(plain, "\x10\x32\x54\x76\x98", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, auth_setup, tc_teardown)
		T(authenticate_3g),
		T(authenticate_le_and_no_kc),
		T(authenticate_gsm),
		T(authenticate_errors),
		T(authenticate_resync_check),
		cmocka_unit_test(authenticate_all_sets),
		T(identity_null_scheme),
		T(identity_nai),
		T(identity_errors),
		T(identity_profile_a),
		T(identity_profile_b),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
