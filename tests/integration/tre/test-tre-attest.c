/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Identity and attestation on swtpm with EK certificates (with-swtpm
 * --ek-cert): EK (RSA, ECC) from the TCG templates and its certificate from
 * NV, the AK under the EK, ActivateCredential of lib/'s MakeCredential,
 * Certify of the SRK, the AK persisted and reloaded, quotes verified by
 * lib/tpm2-quote (the operator's verifier) and by tpm2_checkquote, and
 * forged evidence rejected.
 */
#include <openssl/ec.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "hex.h"
#include "lib/tpm2-cred.h"
#include "lib/tpm2-crypto.h"
#include "lib/tpm2-quote.h"
#include "tre-test.h"

#define AK_PERSISTENT 0x81010a01u

static void test_ek(struct tre *t, enum tre_ek_type type, const char *name)
{
	_cleanup_free_ uint8_t *der = NULL;
	const uint8_t *p;
	TPM2B_PUBLIC ek;
	TPMT_PUBLIC tmpl;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	size_t len = 0;
	int e;

	if (type == TRE_EK_RSA)
		tpm2_ek_template_rsa2048(&tmpl);
	else
		tpm2_ek_template_ecc_p256(&tmpl);
	e = tre_ek_public(t, type, &ek);
	tap_ok(e == 0 && ek.publicArea.objectAttributes == tmpl.objectAttributes &&
		       ek.publicArea.authPolicy.size == 32 &&
		       !memcmp(ek.publicArea.authPolicy.buffer, tmpl.authPolicy.buffer, 32),
	       "%s EK from the TCG default template (attributes, PolicySecret(endorsement))", name);
	e = tre_ek_cert(t, type, &der, &len);
	if (e == -ENOENT) {
		tap_skip("%s EK certificate: NV index absent (swtpm_setup 0.7 certifies its ECC EK on NIST P-384, NV 0x01c00016, not P-256)", name);
		return;
	}
	p = der;
	x = e == 0 ? d2i_X509(NULL, &p, (long)len) : NULL;
	if (x && tpm2_public_to_evp(&ek.publicArea, &pk) == 0)
		e = EVP_PKEY_eq(X509_get0_pubkey(x), pk) == 1 ? 0 : -EPROTO;
	else
		e = -EBADMSG;
	tap_ok(e == 0, "%s EK certificate read from NV (%zu bytes) certifies this EK", name, len);
	EVP_PKEY_free(pk);
	X509_free(x);
}

static void test_activate(struct tre *t, enum tre_ek_type type, const TPM2B_NAME *ak_name,
			  const char *name)
{
	TPM2B_ENCRYPTED_SECRET secret;
	TPM2B_ID_OBJECT cred;
	TPM2B_DIGEST got;
	TPM2B_PUBLIC ek;
	TPM2B_NAME other;
	uint8_t challenge[32];
	int e;

	tt_random(challenge, sizeof(challenge));
	e = tre_ek_public(t, type, &ek);
	if (e == 0)
		e = tpm2_make_credential(&ek.publicArea, ak_name, challenge, sizeof(challenge), &cred,
					 &secret);
	if (e == 0)
		e = tre_activate_credential(t, type, &cred, &secret, &got);
	tap_ok(e == 0 && got.size == 32 && !memcmp(got.buffer, challenge, 32),
	       "ActivateCredential (%s EK) returns the PVA's challenge (%s)", name,
	       e ? tre_errmsg(t) : "ok");
	other = *ak_name;
	other.name[other.size - 1] ^= 1;
	e = tpm2_make_credential(&ek.publicArea, &other, challenge, sizeof(challenge), &cred,
				 &secret);
	if (e == 0)
		e = tre_activate_credential(t, type, &cred, &secret, &got);
	tap_ok(e < 0, "a credential for another AK name is refused (%s EK)", name);
}

static void test_certify(struct tre *t, const TPM2B_PUBLIC *ak)
{
	uint8_t nonce[20], digest[32];
	TPMT_SIGNATURE sig;
	TPM2B_PUBLIC srk;
	TPM2B_ATTEST att;
	TPM2B_NAME srk_name;
	TPMS_ATTEST a;
	int e;

	tt_random(nonce, sizeof(nonce));
	e = tre_certify_srk(t, nonce, sizeof(nonce), &att, &sig);
	if (e == 0)
		e = tre_srk_public(t, &srk);
	if (e == 0)
		e = tpm2_public_name(&srk.publicArea, &srk_name);
	if (e == 0)
		e = tpm2_attest_parse(att.attestationData, att.size, &a);
	if (e == 0)
		e = tpm2_hash(TPM2_ALG_SHA256, att.attestationData, att.size, digest);
	if (e == 0)
		e = tpm2_signature_verify(&ak->publicArea, digest, 32, &sig);
	tap_ok(e == 0 && a.type == TPM2_ST_ATTEST_CERTIFY && a.extraData.size == sizeof(nonce) &&
		       !memcmp(a.extraData.buffer, nonce, sizeof(nonce)) &&
		       a.attested.certify.name.size == srk_name.size &&
		       !memcmp(a.attested.certify.name.name, srk_name.name, srk_name.size),
	       "TPM2_Certify: the AK signs the SRK's name (its policy binds the epoch), nonce included");
}

/* The store pins the certified SRK name; a substituted SRK is refused. */
static void test_pin(struct tre *t)
{
	TPM2B_PUBLIC srk;
	TPM2B_NAME name = { 0 }, wrong;
	int e;

	e = tre_srk_public(t, &srk);
	if (e == 0)
		e = tpm2_public_name(&srk.publicArea, &name);
	wrong = name;
	wrong.name[5] ^= 1;
	if (e == 0)
		e = tre_srk_pin(t, &wrong);
	tap_ok(e == -EBADMSG, "an SRK whose name is not the pinned one is refused (%s)",
	       e < 0 ? tre_errmsg(t) : "accepted");
	e = tre_srk_pin(t, &name);
	if (e == 0)
		e = tre_srk_public(t, &srk);
	tap_ok(e == 0, "with the certified name pinned the SRK is used");
}

static int checkquote(const char *dir, const uint8_t *nonce, size_t len)
{
	char hex[2 * 64 + 1], cmd[8192];
	int st;

	hex_encode(nonce, len, hex);
	snprintf(cmd, sizeof(cmd),
		 "tpm2_checkquote -u %s/ak.pub -m %s/quote.msg -s %s/quote.sig -f %s/quote.pcrs "
		 "-g sha256 -q %s >/dev/null 2>&1",
		 dir, dir, dir, dir, hex);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_quote(struct tre *t, const TPM2B_PUBLIC *ak)
{
	char dir[] = "/tmp/mcim-quote.XXXXXX", logpath[300];
	struct tpm2_pcr_values v;
	struct tre_quote q;
	TPML_PCR_SELECTION sel;
	uint8_t nonce[32], wrong[32];
	static const uint8_t fake_log[] = "fake TCG event log for the export test";
	FILE *f;
	int e;

	tt_random(nonce, sizeof(nonce));
	memcpy(wrong, nonce, 32);
	wrong[0] ^= 1;
	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp");
		return;
	}
	/* An event log where the kernel would have one. */
	snprintf(logpath, sizeof(logpath), "%s/bios.log", dir);
	f = fopen(logpath, "we");
	if (f) {
		fwrite(fake_log, 1, sizeof(fake_log), f);
		fclose(f);
	}
	tre_bios_log_path = logpath;
	tre_ima_log_path = "/nonexistent/ima";
	tre_pcr_selection(t, &sel);
	tre_pcr_extend(t, 16, "debug", 5); /* not all zero */
	sel.pcrSelections[0].pcrSelect[2] |= 1; /* PCR 16 too */
	e = tre_quote(t, &sel, nonce, sizeof(nonce), &q);
	tap_ok(e == 0 && q.npcrs == 6, "TPM2_Quote over 6 PCRs with a 32-byte nonce (%s)",
	       e ? tre_errmsg(t) : "ok");
	tap_ok(q.bios_log && q.bios_log_len == sizeof(fake_log) && !q.ima_log,
	       "the event logs present are collected");
	v = (struct tpm2_pcr_values){ .selection = q.sel, .count = q.npcrs };
	memcpy(v.digests, q.pcrs, q.npcrs * sizeof(q.pcrs[0]));
	e = tpm2_quote_verify(&ak->publicArea, q.attest.attestationData, q.attest.size, &q.signature,
			      nonce, sizeof(nonce), &v, NULL);
	tap_ok(e == 0, "lib/ verifier accepts the quote (%s)", tpm2_verify_strerror(e));
	e = tre_quote_export(t, &q, dir);
	tap_ok(e == 0, "exported in tpm2-tools formats to %s", dir);
	e = checkquote(dir, nonce, sizeof(nonce));
	tap_ok(e == 0, "tpm2_checkquote verifies it (exit %d)", e);
	e = checkquote(dir, wrong, sizeof(wrong));
	tap_ok(e != 0, "tpm2_checkquote rejects a wrong nonce (exit %d)", e);

	e = tpm2_quote_verify(&ak->publicArea, q.attest.attestationData, q.attest.size, &q.signature,
			      wrong, sizeof(wrong), &v, NULL);
	tap_ok(e == -TPM2_VERIFY_E_NONCE, "ours rejects a wrong nonce (%s)", tpm2_verify_strerror(e));
	v.digests[1].buffer[0] ^= 1;
	e = tpm2_quote_verify(&ak->publicArea, q.attest.attestationData, q.attest.size, &q.signature,
			      nonce, sizeof(nonce), &v, NULL);
	tap_ok(e == -TPM2_VERIFY_E_PCR_DIGEST, "ours rejects PCR values that do not match the digest (%s)",
	       tpm2_verify_strerror(e));
	v.digests[1].buffer[0] ^= 1;
	{
		TPMT_SIGNATURE bad = q.signature;

		bad.signature.ecdsa.signatureS.buffer[5] ^= 0x10;
		e = tpm2_quote_verify(&ak->publicArea, q.attest.attestationData, q.attest.size, &bad,
				      nonce, sizeof(nonce), &v, NULL);
		tap_ok(e == -TPM2_VERIFY_E_SIGNATURE, "ours rejects a bad signature (%s)",
		       tpm2_verify_strerror(e));
	}
	{
		/* A "quote" signed by an ordinary (non-restricted) key proves
		 * nothing: anyone can sign a made-up TPMS_ATTEST with it. */
		EVP_PKEY *pk = EVP_EC_gen("P-256");
		TPMT_PUBLIC soft;
		TPMT_SIGNATURE sig;
		uint8_t digest[32];

		e = pk ? tpm2_public_from_evp(pk, TPM2_ALG_SHA256,
					      TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM, &soft) : -ENOMEM;
		if (e == 0)
			e = tpm2_hash(TPM2_ALG_SHA256, q.attest.attestationData, q.attest.size, digest);
		if (e == 0)
			e = tpm2_signature_make(pk, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, digest, 32, &sig);
		if (e == 0)
			e = tpm2_quote_verify(&soft, q.attest.attestationData, q.attest.size, &sig, nonce,
					      sizeof(nonce), &v, NULL);
		tap_ok(e == -TPM2_VERIFY_E_KEY_ATTRS, "ours rejects a quote signed by a non-restricted key (%s)",
		       tpm2_verify_strerror(e));
		EVP_PKEY_free(pk);
	}
	tre_quote_clear(&q);
	snprintf(logpath, sizeof(logpath), "rm -rf %s", dir);
	if (system(logpath) != 0)
		tap_diag("could not remove %s", dir);
}

int main(void)
{
	_cleanup_tre_ struct tre *t = NULL;
	struct tre_config cfg;
	struct tre_blob akb;
	TPM2B_PUBLIC ak, ak2;
	TPM2B_NAME name, name2;
	int e;

	t = tt_open(NULL);
	test_ek(t, TRE_EK_RSA, "RSA 2048");
	test_ek(t, TRE_EK_ECC, "ECC P-256");

	e = tre_ak_create(t, TRE_EK_ECC, &akb);
	if (e == 0)
		e = tre_ak_public(t, &ak, &name);
	tap_ok(e == 0 && tpm2_ak_check(&ak.publicArea) == 0 &&
		       (ak.publicArea.objectAttributes &
			(TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_NODA)) ==
			       (TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_NODA),
	       "AK under the ECC EK: restricted ECC P-256 signing, fixedTPM/fixedParent, noDA (%s)",
	       e ? tre_errmsg(t) : "ok");
	if (e < 0)
		return tap_end();
	test_activate(t, TRE_EK_ECC, &name, "ECC");
	test_activate(t, TRE_EK_RSA, &name, "RSA");
	test_certify(t, &ak);
	test_pin(t);
	test_quote(t, &ak);

	/* Reloadable from the saved blob, and persistent. */
	tre_close(TAKE_PTR(t));
	tre_config_init(&cfg);
	t = tt_open(&cfg);
	e = tre_ak_load(t, TRE_EK_ECC, &akb);
	if (e == 0)
		e = tre_ak_public(t, &ak2, &name2);
	tap_ok(e == 0 && name2.size == name.size && !memcmp(name2.name, name.name, name.size),
	       "AK reloaded under the EK from its saved blob in a new session");
	e = tre_ak_persist(t, AK_PERSISTENT);
	tre_close(TAKE_PTR(t));
	t = tt_open(NULL);
	if (e == 0)
		e = tre_ak_use_persistent(t, AK_PERSISTENT);
	if (e == 0)
		e = tre_ak_public(t, &ak2, &name2);
	tap_ok(e == 0 && name2.size == name.size && !memcmp(name2.name, name.name, name.size),
	       "AK persisted at 0x%08x and found again", AK_PERSISTENT);
	test_certify(t, &ak2);
	return tap_end();
}
