// SPDX-License-Identifier: LGPL-2.1-or-later
/* The DPF's core: the signed MCIM package of one subscription; see dpf.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "hex.h"
#include "json-util.h"
#include "why.h"
#include "tools/mcim-operator/change.h"
#include "tools/mcim-operator/dpf.h"
#include "tools/mcim-operator/subscription.h"
#include "tpm2-crypto.h"
#include "tpm2-quote.h"

int dpf_keys_load(const struct op_config *cfg, struct dpf_keys **ret, char *why, size_t why_size)
{
	char cert[OP_PATH_MAX + 32], key[OP_PATH_MAX + 32], kek[OP_PATH_MAX + 32];
	struct dpf_keys *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	mlock(k->kek, sizeof(k->kek));
	snprintf(cert, sizeof(cert), "%s/%s", cfg->pki_dir, PKI_DPF_CERT);
	snprintf(key, sizeof(key), "%s/%s", cfg->pki_dir, PKI_DPF_KEY);
	r = pki_signer_load(cert, key, &k->signer, why, why_size);
	if (r == 0) {
		snprintf(key, sizeof(key), "%s/%s", cfg->pki_dir, PKI_POLICY_KEY);
		r = pki_policy_key_load(key, &k->policy_key, &k->policy_public, why, why_size);
	}
	if (r == 0) {
		op_config_kek_path(cfg, kek, sizeof(kek));
		r = kek_load(kek, k->kek, why, why_size);
	}
	if (r == 0) {
		snprintf(cert, sizeof(cert), "%s/%s", cfg->pki_dir, PKI_ROOT_CERT);
		r = change_cert_load(cert, false, NULL, k->sho_id, why, why_size);
	}
	if (r < 0) {
		dpf_keys_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

void dpf_keys_free(struct dpf_keys *k)
{
	if (!k)
		return;
	pki_signer_free(k->signer);
	EVP_PKEY_free(k->policy_key);
	OPENSSL_cleanse(k->kek, sizeof(k->kek));
	munlock(k->kek, sizeof(k->kek));
	free(k);
}

static bool same_name(const TPM2B_NAME *a, const TPM2B_NAME *b)
{
	return a->size == b->size && !memcmp(a->name, b->name, a->size);
}

int dpf_request_check(const struct package_request *req, const struct ticket *t,
		      const char **ret_code, char *why, size_t why_size)
{
	TPM2B_NAME n;

	/* docs/package-format.md 3: the keys the PVA validated, and no others. */
	if (tpm2_public_name(&req->ak.publicArea, &n) < 0 || !same_name(&n, &t->ak_name)) {
		*ret_code = "ak_mismatch";
		return why_fail(why, why_size, -EPERM,
				"the AK is not the one the PVA validated (its name differs from the "
				"ticket's ak_name)");
	}
	if (tpm2_public_name(&req->srk.publicArea, &n) < 0 || !same_name(&n, &t->srk_name)) {
		*ret_code = "srk_mismatch";
		return why_fail(why, why_size, -EPERM,
				"the SRK is not the one the PVA saw certified (its name differs from "
				"the ticket's srk_name)");
	}
	return 0;
}

enum package_form dpf_key_form(enum package_form asked, const char *algorithm)
{
	/* docs/package-format.md 2: the AES form is MILENAGE's 16-byte K only. */
	return asked == PACKAGE_FORM_AES && !strcmp(algorithm, "milenage") ? PACKAGE_FORM_AES
									  : PACKAGE_FORM_SEALED;
}

int dpf_attested_verify(const struct package_attested *a, const TPMT_PUBLIC *ak,
			TPMS_ATTEST *ret, char *why, size_t why_size)
{
	uint8_t q[32];
	int r;

	/* docs/package-format.md 4: a restricted AK signs only what the TPM
	 * made, so the report is bound in as the quote's qualifyingData. */
	r = tpm2_hash(TPM2_ALG_SHA256, a->body, a->body_len, q);
	if (r < 0)
		return r;
	r = tpm2_quote_verify(ak, a->quote, a->quote_len, &a->signature, q, sizeof(q), NULL, ret);
	if (r < 0)
		return why_fail(why, why_size, -EPERM, "the quote: %s", tpm2_verify_strerror(r));
	return 0;
}

/* The subscription's PIN references (kept at create time, sub_template_fill). */
static int profile_pins(const struct op_subscription *sub, uint8_t refs[PACKAGE_PINS_MAX],
			size_t *ret_n, char *why, size_t why_size)
{
	size_t len = strlen(sub->pin_refs);
	int n = hex_decode(sub->pin_refs, refs, PACKAGE_PINS_MAX);

	if (n < 0 || len % 2 || (size_t)n * 2 != len)
		return why_fail(why, why_size, -EINVAL, "subscription %s: bad PIN references \"%s\"",
				sub->iccid, sub->pin_refs);
	for (int i = 0; i < n; i++) {
		const struct sub_secrets none = { 0 };
		const uint8_t *v, *puk;

		if (sub_pin_values(&none, refs[i], &v, &puk) < 0)
			return why_fail(why, why_size, -EINVAL,
					"subscription %s: PIN %02x has no value", sub->iccid, refs[i]);
	}
	*ret_n = (size_t)n;
	return 0;
}

struct clear {
	struct sub_secrets sec;
	uint8_t plain[SUB_SECRETS_SIZE];
	uint8_t pin[2 * SUB_PIN_FIELD];
	struct package_seed seed;
};

static int build_locked(const struct dpf_keys *k, const struct dpf_input *in, struct clear *cl,
			uint8_t **ret_der, size_t *ret_len, char *why, size_t why_size)
{
	struct package_content c = { 0 };
	_cleanup_free_ char *json = NULL;
	TPM2B_DIGEST auth;
	uint8_t refs[PACKAGE_PINS_MAX];
	size_t n_refs = 0, jlen;
	int r;

	r = profile_pins(in->sub, refs, &n_refs, why, why_size);
	if (r < 0)
		return r;
	r = kek_open(k->kek, in->sub->iccid, in->sub->secrets, cl->plain, sizeof(cl->plain));
	if (r == 0)
		r = sub_secrets_parse(cl->plain, &cl->sec);
	if (r < 0)
		return why_fail(why, why_size, r,
				"subscription %s: its secrets do not decrypt with the key-encryption key",
				in->sub->iccid);

	snprintf(c.device, sizeof(c.device), "%s", in->device_id);
	c.ek_name = in->ek_name;
	r = tpm2_public_name(&in->srk->publicArea, &c.srk_name);
	if (r < 0)
		return why_fail(why, why_size, r, "the SRK has no name");
	memcpy(c.nonce, in->nonce, PACKAGE_NONCE_LEN);
	c.sequence = in->sequence;
	c.issued = in->issued;
	c.expires = in->expires;
	snprintf(c.iccid, sizeof(c.iccid), "%s", in->sub->iccid);
	snprintf(c.imsi, sizeof(c.imsi), "%s", in->sub->imsi);
	snprintf(c.sho, sizeof(c.sho), "%s", in->sub->sho);
	snprintf(c.operator_name, sizeof(c.operator_name), "%s", in->operator_name);
	c.cls = PACKAGE_CLASS_OPERATIONAL;
	c.profile = strdup(in->sub->profile);
	if (!c.profile)
		return -ENOMEM;
	c.profile_len = strlen(c.profile);
	if (in->subscriber) {
		/* docs/change-format.md 3 */
		size_t n = 0;

		c.version = 2;
		snprintf(c.subscriber, sizeof(c.subscriber), "%s", in->subscriber->name);
		r = b64_decode(in->subscriber->cert, strlen(in->subscriber->cert), PACKAGE_CERT_MAX,
			       &c.subscriber_cert, &n);
		c.subscriber_cert_len = n;
		if (r < 0) {
			why_fail(why, why_size, r, "subscriber %s: its stored certificate does not decode",
				 in->subscriber->name);
			goto out;
		}
		c.lock_until = in->sub->lock_until;
	}
	if (in->replaces) {
		c.replaces = true;
		snprintf(c.replaces_iccid, sizeof(c.replaces_iccid), "%s", in->replaces->switch_iccid);
		/* borrowed from the request: not freed with c (below) */
		c.consent = in->replaces->consent;
		c.consent_len = in->replaces->consent_len;
		c.release = in->replaces->release;
		c.release_len = in->replaces->release_len;
	}

	/* The policy (docs/package-format.md 2): PolicyPCR over the key PCRs'
	 * values the PVA validated, approved with the policy key for this
	 * device's policyRef; every object's authPolicy is PolicyAuthorize. */
	c.policy.pcr_mask = in->key_pcr_mask;
	c.policy.pcr_digest = in->kpd;
	r = package_policy_ref(in->device_id, &c.policy.ref);
	if (r == 0)
		r = package_policy_sign(&c.policy, k->policy_key);
	if (r == 0)
		r = package_policy_digests(&c.policy, NULL, &auth);
	if (r < 0) {
		why_fail(why, why_size, r, "signing the policy failed");
		goto out;
	}
	/* One seed for every object of the package (lib/package.h). */
	r = package_seed_new(&in->srk->publicArea, &cl->seed);
	if (r == 0)
		r = package_secret_make(dpf_key_form(in->key_form, in->sub->algorithm), cl->sec.k,
					cl->sec.k_len, &auth, &cl->seed, &c.k);
	if (r == 0)
		r = package_secret_make(PACKAGE_FORM_SEALED, cl->sec.opc, cl->sec.opc_len, &auth,
					&cl->seed, &c.opc);
	for (size_t i = 0; r == 0 && i < n_refs; i++) {
		/* value || PUK, 8 bytes each (TS 102 221 9.5.2), as mcimd seals a PIN */
		const uint8_t *v, *puk;

		r = sub_pin_values(&cl->sec, refs[i], &v, &puk);
		if (r < 0)
			break;
		memcpy(cl->pin, v, SUB_PIN_FIELD);
		if (puk)
			memcpy(cl->pin + SUB_PIN_FIELD, puk, SUB_PIN_FIELD);
		else
			memset(cl->pin + SUB_PIN_FIELD, 0xff, SUB_PIN_FIELD);
		c.pins[i].ref = refs[i];
		r = package_secret_make(PACKAGE_FORM_SEALED, cl->pin, sizeof(cl->pin), &auth,
					&cl->seed, &c.pins[i].s);
		c.n_pins = i + 1;
	}
	if (r < 0) {
		why_fail(why, why_size, r, "wrapping the secrets to the SRK failed: %s", strerror(-r));
		goto out;
	}
	r = package_content_build(&c, &json, &jlen);
	if (r < 0) {
		why_fail(why, why_size, r, "the package content does not build: %s", strerror(-r));
		goto out;
	}
	r = package_sign((const uint8_t *)json, jlen, k->signer->key, k->signer->cert, NULL,
			 ret_der, ret_len);
	if (r < 0)
		why_fail(why, why_size, r, "signing the package failed");
out:
	c.consent = c.release = NULL;
	package_content_free(&c);
	return r;
}

int dpf_build(const struct dpf_keys *k, const struct dpf_input *in, uint8_t **ret_der,
	      size_t *ret_len, char *why, size_t why_size)
{
	struct clear *cl;
	int r;

	/* The clear secrets stay in this one locked, wiped allocation. */
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	mlock(cl, sizeof(*cl));
	r = build_locked(k, in, cl, ret_der, ret_len, why, why_size);
	OPENSSL_cleanse(cl, sizeof(*cl));
	munlock(cl, sizeof(*cl));
	free(cl);
	return r;
}
