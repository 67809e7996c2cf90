/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Subscriptions (the SHO's side, docs/operator.md "Subscriptions"): the pure
 * pieces of `mcim-operator subscription create` and `export`, no I/O but the
 * CSPRNG.
 *
 *  - identities: the ICCID's Luhn check digit (ITU-T E.118 6.1, ISO/IEC
 *    7812-1 Annex B), the next IMSI of a range, the EF.ICCID (TS 102 221
 *    13.2) and EF.IMSI (TS 31.102 4.2.2) contents;
 *  - secrets: K, OPc or TOPc, PIN and PUK values, ADM1, from the private
 *    DRBG (RAND_priv_bytes), and their fixed binary form (the plaintext the
 *    KEK seals, kek.h);
 *  - the profile: a description (docs/profile-format.md) without secrets,
 *    with EF.ICCID and EF.IMSI filled in (what the package carries).
 */
#ifndef MCIM_OPERATOR_SUBSCRIPTION_H
#define MCIM_OPERATOR_SUBSCRIPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUB_ICCID_DIGITS 19  /* 18 digits and the Luhn check digit */
#define SUB_IMSI_MAX 15
#define SUB_MSISDN_MAX 15
#define SUB_TEMPLATE_MAX (192u << 10) /* docs/package-format.md 2: the content's limit */

enum sub_algorithm { SUB_MILENAGE, SUB_TUAK };
const char *sub_algorithm_name(enum sub_algorithm a);
int sub_algorithm_from_name(const char *s, enum sub_algorithm *ret);

/* The Luhn check digit ('0'-'9') of a string of decimal digits; -EINVAL otherwise. */
int sub_luhn_digit(const char *digits);

/*
 * The ICCID of serial number `serial`: prefix, serial zero-padded to fill 18
 * digits, Luhn digit.  -ERANGE when serial does not fit.
 */
int sub_iccid_make(const char *prefix, uint64_t serial, char ret[SUB_ICCID_DIGITS + 1]);

/*
 * The next IMSI after `last` (NULL or "": first) within [first, last_of_range],
 * all of equal length; -ENOSPC when the range is exhausted.  *ret_index is its
 * offset from first (the ICCID serial).
 */
int sub_imsi_next(const char *first, const char *range_last, const char *last,
		  char ret[SUB_IMSI_MAX + 1], uint64_t *ret_index);

/* EF.ICCID (10 bytes) and EF.IMSI (9 bytes) contents as uppercase-free hex. */
int sub_ef_iccid(const char *iccid, char ret_hex[21]);
int sub_ef_imsi(const char *imsi, char ret_hex[19]);

/* The 8-byte PIN field of TS 102 221 9.5.2: ASCII digits padded with 0xFF. */
#define SUB_PIN_FIELD 8

/* A subscription's secrets, in clear only while a package is built. */
struct sub_secrets {
	uint8_t k_len;               /* 16, or 32 (TUAK) */
	uint8_t k[32];
	uint8_t opc_len;             /* 16 OPc (MILENAGE), 32 TOPc (TUAK) */
	uint8_t opc[32];
	uint8_t pin1[SUB_PIN_FIELD], puk1[SUB_PIN_FIELD];
	uint8_t pin2[SUB_PIN_FIELD], puk2[SUB_PIN_FIELD];
	uint8_t adm1[SUB_PIN_FIELD];
};
/* Serialized: version, k_len, k[32], opc_len, opc[32], the five PIN fields. */
#define SUB_SECRETS_SIZE (3 + 32 + 32 + 5 * SUB_PIN_FIELD)

/*
 * New secrets: K of 16 bytes (MILENAGE) or 32 (TUAK), OPc/TOPc, PIN1 and
 * PIN2 of 4 digits, PUKs and ADM1 of 8 digits, all from RAND_priv_bytes.
 */
int sub_secrets_new(enum sub_algorithm a, struct sub_secrets *ret);
void sub_secrets_serialize(const struct sub_secrets *s, uint8_t out[SUB_SECRETS_SIZE]);
int sub_secrets_parse(const uint8_t in[SUB_SECRETS_SIZE], struct sub_secrets *ret);
/* The digits of a PIN field (stops at 0xFF), NUL-terminated. */
void sub_pin_text(const uint8_t field[SUB_PIN_FIELD], char ret[SUB_PIN_FIELD + 1]);

/*
 * Checks a profile template (JSON text) and fills it in: format
 * "mcim-profile" version 1; no secret (auth.k/op/opc/top/topc, a PIN's
 * value/value_hex/puk: secrets never travel in clear); its PINs only PIN1,
 * PIN2 and ADM1 (the ones sub_secrets makes); auth.algorithm, when given,
 * equal to *algo (when *algo_given) or taken into *algo; an EF.ICCID
 * (MF/2FE2) and an EF.IMSI (an ADF's 6F07), whose contents are set.
 * *ret is new plain JSON text; ret_pins (may be NULL) the PINs' key
 * references in order as hex ("01810a": what the package carries a secret
 * for, kept so that the DPF need not parse the profile again).  -EINVAL
 * with why for a bad template.
 */
#define SUB_PIN_REFS_MAX 33
int sub_template_fill(const char *json, size_t len, enum sub_algorithm *algo, bool algo_given,
		      const char *iccid, const char *imsi, char **ret,
		      char ret_pins[SUB_PIN_REFS_MAX], char *why, size_t why_size);

/* TS 102 221 9.5.1 key reference of "PIN1"/"01", "PIN2"/"81", "ADM1"/"0A"; -EINVAL else. */
int sub_pin_ref(const char *s, uint8_t *ret);

/*
 * The values s holds for key reference ref (0x01 PIN1, 0x81 PIN2, 0x0A
 * ADM1): *ret_value and *ret_puk (NULL for ADM1, which has no PUK);
 * -EINVAL for any other reference.
 */
int sub_pin_values(const struct sub_secrets *s, uint8_t ref, const uint8_t **ret_value,
		   const uint8_t **ret_puk);

/* The template's sqn.ind_bits (default 5). */
int sub_template_ind_bits(const char *json);

#endif
