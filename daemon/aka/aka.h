/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AKA algorithms of the virtual USIM: MILENAGE (TS 35.206), TUAK (TS 35.231),
 * SQN management (TS 33.102 Annex C), the USIM side of AKA (TS 33.102 6.3,
 * TS 31.102 7.1.2), GSM context and conversion functions (TS 33.102 6.8.1.2),
 * SUCI concealment (TS 33.501 Annex C.3, TS 31.102 7.5) and the network side
 * (AUTN generation, AUTS verification) used by the operator and the tests.
 *
 * Pure code: no I/O, no global state, no hidden mutation.  Every function
 * returns 0 or a negative errno; a rejected authentication is a result
 * (struct aka_auth_result.status), not an error.
 *
 * Keys never pass through this API in clear unless an algorithm needs them:
 *  - MILENAGE only needs the block cipher E_K, reached through struct
 *    aka_cipher, so a TPM key (TPM2_EncryptDecrypt2) can stand behind it and
 *    K never enters host memory.  The USIM side uses exactly 3 cipher calls
 *    per authentication (TEMP; OUT2..OUT4 as one 3-block call; OUT1 once AK
 *    has unmasked SQN) and one more 2-block call for a resynchronisation
 *    (OUT5 and the f1* block with SQN_MS, AMF = 0000).
 *  - TUAK needs K itself: struct aka_secret copies K into a buffer that this
 *    library owns for the duration of one computation and wipes afterwards.
 */
#ifndef MCIM_AKA_H
#define MCIM_AKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AKA_RAND_LEN 16
#define AKA_SQN_LEN 6
#define AKA_AMF_LEN 2
#define AKA_AK_LEN 6
#define AKA_SRES_LEN 4
#define AKA_KC_LEN 8
#define AKA_MILENAGE_K_LEN 16
#define AKA_OPC_LEN 16
#define AKA_TOPC_LEN 32
#define AKA_K_MAX 32   /* TUAK: 128 or 256 bits */
#define AKA_MAC_MAX 32 /* TUAK: MAC up to 256 bits */
#define AKA_RES_MAX 32 /* TUAK: RES up to 256 bits */
#define AKA_CK_MAX 32  /* TUAK: CK/IK up to 256 bits */
#define AKA_AUTN_MAX (AKA_SQN_LEN + AKA_AMF_LEN + AKA_MAC_MAX)
#define AKA_AUTS_MAX (AKA_SQN_LEN + AKA_MAC_MAX)

/* ---- Key access ------------------------------------------------------- */

/*
 * The block cipher E_K of MILENAGE: AES-128 ECB encryption of nblocks
 * consecutive 16-octet blocks from in to out (in == out allowed).
 * Returns 0 or a negative errno.  A TPM implementation does one
 * TPM2_EncryptDecrypt2 per call, so the number of calls is what counts.
 */
struct aka_cipher {
	int (*encrypt)(void *ctx, const uint8_t *in, uint8_t *out,
		       size_t nblocks);
	void *ctx;
};

/*
 * Access to the secret K itself (TUAK; MILENAGE when the key store has no
 * TPM AES key).  get() writes K into buf (size octets, always AKA_K_MAX) and
 * its length (16 or 32) into *ret_len; returns 0 or a negative errno.  This
 * library wipes buf as soon as the computation is done.
 */
struct aka_secret {
	int (*get)(void *ctx, uint8_t *buf, size_t size, size_t *ret_len);
	void *ctx;
};

/*
 * The key of one subscription.  MILENAGE uses cipher when cipher.encrypt is
 * set, otherwise it builds a software AES-128 from secret for the one
 * computation and frees (and so wipes) it right after.  TUAK uses secret.
 */
struct aka_key {
	struct aka_cipher cipher;
	struct aka_secret secret;
};

/*
 * Software E_K: AES-128-ECB through OpenSSL EVP with the key schedule done
 * once (one EVP_CIPHER_CTX kept in ret->ctx).  For the operator side, the
 * tests and TPMs without AES.  aka_soft_cipher_free() accepts a zeroed
 * struct and clears it.
 */
int aka_soft_cipher_new(const uint8_t k[AKA_MILENAGE_K_LEN],
			struct aka_cipher *ret);
void aka_soft_cipher_free(struct aka_cipher *c);

/* A secret held in plain memory (operator side, tests). */
struct aka_plain_secret {
	uint8_t k[AKA_K_MAX];
	size_t len; /* 16 or 32 */
};
struct aka_secret aka_plain_secret(struct aka_plain_secret *s);

/* ---- Algorithm configuration ----------------------------------------- */

enum aka_algo {
	AKA_ALGO_MILENAGE = 1,
	AKA_ALGO_TUAK = 2,
};

/* TS 35.206 4.1: OPc, rotations r1..r5 (bits, 0..127), constants c1..c5. */
struct aka_milenage_params {
	uint8_t opc[AKA_OPC_LEN];
	uint8_t r[5];
	uint8_t c[5][16];
};

/* TS 35.231: TOPc, output lengths in bits and Keccak iterations (>= 1). */
struct aka_tuak_params {
	uint8_t topc[AKA_TOPC_LEN];
	unsigned mac_bits;  /* 64, 128, 256 */
	unsigned res_bits;  /* 32, 64, 128, 256 */
	unsigned ck_bits;   /* 128, 256 */
	unsigned ik_bits;   /* 128, 256 */
	unsigned iterations;
};

struct aka_algo_config {
	enum aka_algo algo;
	union {
		struct aka_milenage_params milenage;
		struct aka_tuak_params tuak;
	};
};

/* Sets r1..r5 and c1..c5 to the TS 35.206 4.1 defaults (opc untouched). */
void aka_milenage_params_default(struct aka_milenage_params *p);

/* Checks lengths, rotations and iteration count: 0 or -EINVAL. */
int aka_algo_config_validate(const struct aka_algo_config *cfg);

/* ---- MILENAGE (TS 35.206), one function each, for tests/operator ----- */

/* OPc = OP xor E_K(OP) (TS 35.206 4.1). */
int aka_milenage_opc(const struct aka_cipher *ek, const uint8_t op[16],
		     uint8_t ret_opc[AKA_OPC_LEN]);
/* f1 and f1*: MAC-A and MAC-S (64 bits each); either output may be NULL. */
int aka_milenage_f1(const struct aka_cipher *ek,
		    const struct aka_milenage_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    const uint8_t sqn[AKA_SQN_LEN],
		    const uint8_t amf[AKA_AMF_LEN], uint8_t *ret_mac_a,
		    uint8_t *ret_mac_s);
/* f2 (RES, 64 bits), f3 (CK), f4 (IK), f5 (AK); outputs may be NULL. */
int aka_milenage_f2345(const struct aka_cipher *ek,
		       const struct aka_milenage_params *p,
		       const uint8_t rand[AKA_RAND_LEN], uint8_t *ret_res,
		       uint8_t *ret_ck, uint8_t *ret_ik, uint8_t *ret_ak);
/* f5* (AK for resynchronisation). */
int aka_milenage_f5star(const struct aka_cipher *ek,
			const struct aka_milenage_params *p,
			const uint8_t rand[AKA_RAND_LEN],
			uint8_t ret_ak_star[AKA_AK_LEN]);

/* ---- TUAK (TS 35.231) ------------------------------------------------ */

/* One Keccak-f[1600] permutation (24 rounds) of a 200-octet state, octet
 * i of the state being octet i of the FIPS 202 byte mapping. */
void aka_keccak_f1600(uint8_t state[200]);

/* TOPc from TOP (TS 35.231 6.2). */
int aka_tuak_topc(const struct aka_secret *k, const uint8_t top[32],
		  unsigned iterations, uint8_t ret_topc[AKA_TOPC_LEN]);
/* f1 / f1*: MAC of p->mac_bits / 8 octets. */
int aka_tuak_f1(const struct aka_secret *k, const struct aka_tuak_params *p,
		const uint8_t rand[AKA_RAND_LEN],
		const uint8_t sqn[AKA_SQN_LEN],
		const uint8_t amf[AKA_AMF_LEN], uint8_t *ret_mac_a);
int aka_tuak_f1star(const struct aka_secret *k,
		    const struct aka_tuak_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    const uint8_t sqn[AKA_SQN_LEN],
		    const uint8_t amf[AKA_AMF_LEN], uint8_t *ret_mac_s);
/* f2..f5: RES, CK, IK of the configured lengths, AK; outputs may be NULL. */
int aka_tuak_f2345(const struct aka_secret *k, const struct aka_tuak_params *p,
		   const uint8_t rand[AKA_RAND_LEN], uint8_t *ret_res,
		   uint8_t *ret_ck, uint8_t *ret_ik, uint8_t *ret_ak);
int aka_tuak_f5star(const struct aka_secret *k,
		    const struct aka_tuak_params *p,
		    const uint8_t rand[AKA_RAND_LEN],
		    uint8_t ret_ak_star[AKA_AK_LEN]);

/* ---- SQN management (TS 33.102 Annex C) ------------------------------ */

#define AKA_SQN_IND_BITS_MAX 8
#define AKA_SQN_ARRAY_MAX (1u << AKA_SQN_IND_BITS_MAX)

/*
 * SQN = SEQ || IND, IND the ind_bits low bits (C.1.2).  Acceptance (C.2):
 *  1. SEQ - SEQ_MS <= delta, SEQ_MS the highest accepted SEQ (C.2.1:
 *     protection against wrap-around of the counter in the USIM);
 *  2. if limit_l != 0: SEQ_MS - SEQ < limit_l (C.2.2, the optional age
 *     limit L);
 *  3. SEQ > SEQ_MS(IND) (C.2.2, the array).
 * Wrap-around: SEQ never wraps.  Condition 1 is the C.2.1 mechanism that
 * keeps SEQ_MS from reaching SEQmax in the USIM's lifetime; the array is
 * only reset with a new subscription key (a new MCIM or key update), not
 * by an AMF-signalled reset.
 */
struct aka_sqn_config {
	unsigned ind_bits; /* 0..AKA_SQN_IND_BITS_MAX; 5 is usual */
	uint64_t delta;    /* Annex C example: 2^28 */
	uint64_t limit_l;  /* 0: no age limit */
};

/* SEQ_MS(i) for i < 2^ind_bits; all zero initially (C.2.2). */
struct aka_sqn_state {
	uint64_t seq_ms[AKA_SQN_ARRAY_MAX];
};

enum aka_sqn_verdict {
	AKA_SQN_FRESH = 0,
	AKA_SQN_REPLAY,   /* SEQ <= SEQ_MS(IND) */
	AKA_SQN_TOO_FAR,  /* SEQ - SEQ_MS > delta */
	AKA_SQN_TOO_OLD,  /* SEQ_MS - SEQ >= L */
};

/* The state change that accepting an SQN makes: SEQ_MS(ind) = seq.  The
 * caller persists it, then applies it with aka_sqn_commit(). */
struct aka_sqn_change {
	bool accepted;
	enum aka_sqn_verdict verdict;
	unsigned ind;
	uint64_t seq;
};

/* Defaults: IND 5 bits, delta 2^28, no L (TS 33.102 Annex C.3 example
 * values). */
void aka_sqn_config_default(struct aka_sqn_config *cfg);
int aka_sqn_config_validate(const struct aka_sqn_config *cfg);
/* Decides on sqn without changing state. */
int aka_sqn_check(const struct aka_sqn_config *cfg,
		  const struct aka_sqn_state *st, const uint8_t sqn[AKA_SQN_LEN],
		  struct aka_sqn_change *ret);
/* Applies an accepted change (a rejected one is a no-op). */
int aka_sqn_commit(const struct aka_sqn_config *cfg, struct aka_sqn_state *st,
		   const struct aka_sqn_change *change);
/* SQN_MS for AUTS: the highest accepted SQN anywhere in the array. */
void aka_sqn_ms(const struct aka_sqn_config *cfg,
		const struct aka_sqn_state *st, uint8_t ret_sqn_ms[AKA_SQN_LEN]);

/* ---- USIM side: AUTHENTICATE (TS 31.102 7.1.2, TS 33.102 6.3.3) ------- */

enum aka_status {
	AKA_STATUS_OK = 0,
	AKA_STATUS_MAC_FAILURE,  /* SW 9862 */
	AKA_STATUS_SYNC_FAILURE, /* 'DC' tag with AUTS */
	AKA_STATUS_AMF_FAILURE,  /* only with AKA_AUTH_CHECK_SEPARATION_BIT */
};

/*
 * The AMF separation bit (TS 33.102 Annex H, bit 0 of AMF) is set by the
 * HSS in EPS and 5G vectors, and checked by the ME, not by the USIM
 * (TS 33.401 6.1.1, TS 33.501 6.1.3): the card engine does not set this
 * flag.  An ME-role caller (tests, usimsh) may, to get AMF_FAILURE for an
 * AUTN whose separation bit is 0; the check comes after MAC and SQN
 * verification and the SQN change is then not accepted.
 */
#define AKA_AUTH_CHECK_SEPARATION_BIT (1u << 0)

struct aka_auth_result {
	enum aka_status status;
	/* status OK: */
	uint8_t res[AKA_RES_MAX];
	size_t res_len;
	uint8_t ck[AKA_CK_MAX];
	size_t ck_len;
	uint8_t ik[AKA_CK_MAX];
	size_t ik_len;
	uint8_t kc[AKA_KC_LEN]; /* c3(CK, IK), for service 27 (GSM access) */
	/* status SYNC_FAILURE: */
	uint8_t auts[AKA_AUTS_MAX];
	size_t auts_len;
	/* status OK: the accepted SQN to persist and commit before answering.
	 * Otherwise accepted = false and verdict says why (SYNC_FAILURE). */
	struct aka_sqn_change sqn_change;
};

/*
 * 3G/EPS/5G security context (P2 '81'): verify MAC-A, unmask SQN, check it
 * against st, compute RES/CK/IK/Kc or AUTS.  autn_len must be 6 + 2 + MAC
 * length (16 for MILENAGE).  Returns 0 with ret->status set, or a negative
 * errno (-EINVAL bad arguments, or the key interface's error).  Wipe the
 * result with aka_auth_result_wipe() when done.
 */
int aka_usim_authenticate(const struct aka_algo_config *cfg,
			  const struct aka_key *key,
			  const struct aka_sqn_config *sqn_cfg,
			  const struct aka_sqn_state *st,
			  const uint8_t rand[AKA_RAND_LEN], const uint8_t *autn,
			  size_t autn_len, unsigned flags,
			  struct aka_auth_result *ret);
void aka_auth_result_wipe(struct aka_auth_result *r);

/*
 * GSM security context (P2 '80') with a USIM: run f2..f4 on RAND only and
 * derive SRES = c2(RES), Kc = c3(CK, IK) (TS 33.102 6.8.1.2, TS 55.205,
 * TS 31.102 7.1.2.1).  MILENAGE: 2 cipher calls.
 */
int aka_usim_gsm(const struct aka_algo_config *cfg, const struct aka_key *key,
		 const uint8_t rand[AKA_RAND_LEN],
		 uint8_t ret_sres[AKA_SRES_LEN], uint8_t ret_kc[AKA_KC_LEN]);

/* Conversion functions, TS 33.102 6.8.1.2.  c2 folds RES (padded with
 * zeros to, or cut to, 128 bits) into 32 bits; c3 takes the first 128 bits
 * of CK and IK. */
void aka_c2(const uint8_t *res, size_t res_len, uint8_t ret_sres[AKA_SRES_LEN]);
void aka_c3(const uint8_t *ck, const uint8_t *ik, uint8_t ret_kc[AKA_KC_LEN]);

/* ---- Network side (AuC / HSS role) ----------------------------------- */

struct aka_vector {
	uint8_t rand[AKA_RAND_LEN];
	uint8_t autn[AKA_AUTN_MAX];
	size_t autn_len;
	uint8_t xres[AKA_RES_MAX];
	size_t xres_len;
	uint8_t ck[AKA_CK_MAX];
	size_t ck_len;
	uint8_t ik[AKA_CK_MAX];
	size_t ik_len;
	uint8_t ak[AKA_AK_LEN];
	uint8_t sres[AKA_SRES_LEN];
	uint8_t kc[AKA_KC_LEN];
};

/* AUTN = (SQN xor AK) || AMF || MAC-A, XRES, CK, IK, AK, SRES, Kc. */
int aka_network_generate(const struct aka_algo_config *cfg,
			 const struct aka_key *key,
			 const uint8_t rand[AKA_RAND_LEN],
			 const uint8_t sqn[AKA_SQN_LEN],
			 const uint8_t amf[AKA_AMF_LEN], struct aka_vector *ret);

/* Verifies AUTS (TS 33.102 6.3.5) and recovers SQN_MS; -EBADMSG when
 * MAC-S does not match. */
int aka_network_resync(const struct aka_algo_config *cfg,
		       const struct aka_key *key,
		       const uint8_t rand[AKA_RAND_LEN], const uint8_t *auts,
		       size_t auts_len, uint8_t ret_sqn_ms[AKA_SQN_LEN]);

/* ---- SUCI (TS 33.501 Annex C, TS 31.102 7.5, TS 24.501 9.11.3.4) ------ */

enum aka_suci_scheme {
	AKA_SUCI_NULL = 0,      /* TS 33.501 C.2 */
	AKA_SUCI_PROFILE_A = 1, /* X25519, C.3.4.1 */
	AKA_SUCI_PROFILE_B = 2, /* P-256, C.3.4.2 */
};

enum aka_supi_type {
	AKA_SUPI_IMSI = 0,
	AKA_SUPI_NAI = 1, /* network specific identifier, TS 23.003 2.2B */
};

struct aka_suci_input {
	enum aka_supi_type supi_type;
	/* IMSI: MCC || MNC || MSIN digits (6..15); NAI: "username@realm". */
	const char *supi;
	unsigned mnc_digits;           /* IMSI: 2 or 3 */
	const char *routing_indicator; /* 1..4 digits; NULL means "0" */
	enum aka_suci_scheme scheme;
	uint8_t hn_key_id; /* home network public key identifier (0 for null) */
	/* Profile A: 32 octets; B: 33 (compressed) or 65 (uncompressed). */
	const uint8_t *hn_pub;
	size_t hn_pub_len;
};

#define AKA_SUCI_NAI_MAX 253 /* longest SUPI NAI accepted (RFC 7542) */
#define AKA_SUCI_SCHEME_OUTPUT_MAX (65 + AKA_SUCI_NAI_MAX + 8)
#define AKA_SUCI_MAX 1024

struct aka_suci {
	/*
	 * The SUCI value of the GET IDENTITY response (TS 31.102 7.5, inside
	 * the 'A1' TLV which the caller adds): octets 4.. of the 5GS mobile
	 * identity IE (TS 24.501 9.11.3.4).  IMSI: '01', MCC/MNC (3 octets),
	 * routing indicator (2), scheme id, key id, scheme output.  NAI: '11'
	 * and the SUCI NAI (TS 23.003 2.2B) as text.
	 */
	uint8_t value[AKA_SUCI_MAX];
	size_t value_len;
	/* Scheme output as octets: null scheme: the scheme input; ECIES:
	 * ephemeral public key || cipher text || MAC tag (TS 33.501 C.3.2). */
	uint8_t scheme_output[AKA_SUCI_SCHEME_OUTPUT_MAX];
	size_t scheme_output_len;
};

/* Conceals the SUPI with a fresh ephemeral key pair (OpenSSL DRBG). */
int aka_suci_conceal(const struct aka_suci_input *in, struct aka_suci *ret);

/* TEST ONLY: the same with a given ephemeral private key (32 octets), for
 * the TS 33.501 C.4 vectors.  Never called by the daemon. */
int aka_suci_conceal_with_ephemeral_key_for_testing(
	const struct aka_suci_input *in, const uint8_t *eph_priv,
	size_t eph_priv_len, struct aka_suci *ret);

#endif
