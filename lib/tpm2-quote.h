/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Quote verification (TPM 2.0 Part 3 18.4 TPM2_Quote, Part 2 10.12
 * TPMS_ATTEST) and the tpm2-tools file formats of a quote, so that
 *	tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f pcrs.bin \
 *		-q NONCE -g sha256
 * verifies what the device exports.  The operator's PVA reuses the verifier.
 *
 * Errors: 0 or a negative value, either -errno (-EINVAL bad argument, -ENOMEM,
 * -EIO, -ENOTSUP, file errors) or -TPM2_VERIFY_E_* below, one per reason a
 * piece of evidence is rejected; tpm2_verify_strerror() names both.
 */
#ifndef MCIM_TPM2_QUOTE_H
#define MCIM_TPM2_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

enum tpm2_verify_error {
	TPM2_VERIFY_E_FORMAT = 1000,	/* truncated, malformed or trailing bytes */
	TPM2_VERIFY_E_MAGIC,		/* magic is not TPM_GENERATED_VALUE */
	TPM2_VERIFY_E_TYPE,		/* not TPM_ST_ATTEST_QUOTE */
	TPM2_VERIFY_E_NONCE,		/* extraData differs from our nonce */
	TPM2_VERIFY_E_PCR_SELECTION,	/* quoted PCR selection != the values' */
	TPM2_VERIFY_E_PCR_DIGEST,	/* pcrDigest != H(given PCR values) */
	TPM2_VERIFY_E_SIGNATURE,	/* signature does not verify */
	TPM2_VERIFY_E_SIG_SCHEME,	/* signature algorithm does not fit the key */
	TPM2_VERIFY_E_KEY_ATTRS,	/* AK is not a restricted, fixedTPM signing key */
	TPM2_VERIFY_E_KEY_TYPE,		/* AK type, curve or size not supported */
};

/* Message for -errno or -TPM2_VERIFY_E_*. */
const char *tpm2_verify_strerror(int err);

/* Most PCR values one piece of evidence carries (e.g. 24 PCRs x 2 banks). */
#define TPM2_PCR_VALUES_MAX 64

/* PCR values that go with a quote. */
struct tpm2_pcr_values {
	TPML_PCR_SELECTION selection;
	uint32_t count;
	/* in selection order: bank by bank as listed, PCR index ascending */
	TPM2B_DIGEST digests[TPM2_PCR_VALUES_MAX];
};

/* Number of PCRs a selection selects (all banks). */
size_t tpm2_pcr_selection_count(const TPML_PCR_SELECTION *sel);

/*
 * Checks that ak may sign quotes: RSA (2048) or ECC (P-256/P-384) key with
 * sign, restricted and fixedTPM set, decrypt clear (Part 3 18.1: only a
 * restricted signing key guarantees that TPMS_ATTEST data came from the TPM).
 * -TPM2_VERIFY_E_KEY_ATTRS / -TPM2_VERIFY_E_KEY_TYPE otherwise.
 */
int tpm2_ak_check(const TPMT_PUBLIC *ak);

/*
 * Unmarshals a TPMS_ATTEST (the bytes of TPM2B_ATTEST.attestationData) and
 * checks its magic; no trailing bytes allowed.  -TPM2_VERIFY_E_FORMAT or
 * -TPM2_VERIFY_E_MAGIC.
 */
int tpm2_attest_parse(const uint8_t *msg, size_t len, TPMS_ATTEST *ret);

/*
 * Verifies the AK's signature over a TPMS_ATTEST as the TPM made it (Quote,
 * Certify): the signature's scheme must fit the key (and the key's fixed
 * scheme, if any), the digest is H_scheme(msg).  ret_hash (may be NULL) gets
 * the scheme's hash.  -TPM2_VERIFY_E_SIG_SCHEME or -TPM2_VERIFY_E_SIGNATURE.
 */
int tpm2_attest_signature_verify(const TPMT_PUBLIC *ak, const uint8_t *msg, size_t len,
				 const TPMT_SIGNATURE *sig, TPMI_ALG_HASH *ret_hash);

/*
 * Verifies a quote, in this order:
 *   tpm2_ak_check(ak); parse msg (magic; type TPM_ST_ATTEST_QUOTE);
 *   sig scheme fits ak and verifies over H_sig(msg); extraData == nonce;
 *   when pcrs is not NULL: quoted selection == pcrs->selection and
 *   pcrDigest == tpm2_pcr_digest(sig hash, pcrs->digests).
 * ret_attest (may be NULL) receives the parsed attestation (clock info,
 * firmware version, ...) when the result is 0.
 */
int tpm2_quote_verify(const TPMT_PUBLIC *ak, const uint8_t *msg, size_t len,
		      const TPMT_SIGNATURE *sig, const uint8_t *nonce,
		      size_t nonce_len, const struct tpm2_pcr_values *pcrs,
		      TPMS_ATTEST *ret_attest);

/*
 * tpm2-tools' "serialized" PCR file (tpm2_quote -o / tpm2_pcrread -o default,
 * what tpm2_checkquote -f reads; tpm2-tools lib/pcr.c): the TPML_PCR_SELECTION
 * C struct in little-endian host layout (132 bytes), a UINT32 count of
 * TPML_DIGEST, then count TPML_DIGEST C structs (532 bytes each, up to 8
 * digests each).  ret_buf is malloc'ed.
 */
int tpm2_pcrs_encode(const struct tpm2_pcr_values *v, uint8_t **ret_buf,
		     size_t *ret_len);
int tpm2_pcrs_decode(const uint8_t *buf, size_t len,
		     struct tpm2_pcr_values *ret);

/*
 * Writes the files tpm2_checkquote reads; any path may be NULL (skipped):
 * msg_path = msg as is (marshalled TPMS_ATTEST), sig_path = marshalled
 * TPMT_SIGNATURE, pcrs_path = tpm2_pcrs_encode(pcrs).  Files are 0644,
 * replaced atomically.
 */
int tpm2_quote_export(const char *msg_path, const char *sig_path,
		      const char *pcrs_path, const uint8_t *msg, size_t len,
		      const TPMT_SIGNATURE *sig,
		      const struct tpm2_pcr_values *pcrs);

/*
 * Reads those files back (at most 64 KiB each); *ret_msg is malloc'ed.
 * Any of sig_path / pcrs_path may be NULL.
 */
int tpm2_quote_import(const char *msg_path, const char *sig_path,
		      const char *pcrs_path, uint8_t **ret_msg,
		      size_t *ret_len, TPMT_SIGNATURE *ret_sig,
		      struct tpm2_pcr_values *ret_pcrs);

/*
 * AK public as tpm2-tools reads it with -u: pem = false writes the marshalled
 * TPM2B_PUBLIC ("tss" format), pem = true a PEM SubjectPublicKeyInfo.
 */
int tpm2_public_export(const char *path, const TPM2B_PUBLIC *pub, bool pem);

/* Reads a marshalled TPM2B_PUBLIC ("tss" format) file. */
int tpm2_public_import(const char *path, TPM2B_PUBLIC *ret);

#endif
