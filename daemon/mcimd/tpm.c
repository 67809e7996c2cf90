// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimd and the TRE (daemon/tre/tre.h, docs/tre.md): opening the TPM, the
 * device-local platform policy of locally installed profiles, the store's
 * sealer (TRE sealed data objects, docs/store.md "Secrets"), the store's
 * anti-rollback counter (a second NV counter, tre-counter.h), wrapping and
 * importing clear keys of the local install path, and attestation.
 *
 * The local policy (docs/tre.md "Local installs"): every MCIM object needs
 * PolicyAuthorize(policy key, policyRef).  For profiles installed from a
 * description file there is no operator yet, so at its first start with a
 * TPM the daemon makes a P-256 key in software, signs with it one policy,
 * PolicyPCR(the configured PCRs, their values now), keeps the public key
 * and the signed policy (device blob "local-policy") and frees the private
 * key: no further policy can ever be approved for these objects, so they
 * only work while the platform's PCRs have these values (a tamper event
 * extending the tamper PCR disables them until the next boot).
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "daemon/tre/tre-counter.h"
#include "hex.h"
#include "tpm2-crypto.h"
#include "tpm2-dup.h"
#include "tpm2-policy.h"
#include "tpm2-quote.h"

#define POLICY_BLOB "local-policy"
#define NV_AUTH_BLOB "nv-auth"
#define NV_AUTH_LEN 32
#define AK_BLOB "ak"
#define POLICY_MAGIC "MCLP"
static const char policy_ref[16] = "mcim-local-pol01";

/* ---- the local policy: marshalled as "MCLP" 1 0 0 0 | TPM2B_PUBLIC |
 * TPM2B_NONCE | TPML_PCR_SELECTION | TPM2B_DIGEST pcr | TPM2B_DIGEST
 * approved | TPMT_SIGNATURE (TPM 2.0 Part 2 marshalling) ---- */

int mcimd_policy_marshal(const struct tre_policy *p, uint8_t *buf, size_t max, size_t *ret)
{
	size_t off = 8;

	if (max < 8)
		return -ENOBUFS;
	memcpy(buf, POLICY_MAGIC "\1\0\0\0", 8);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&p->op_key, buf, max, &off) ||
	    Tss2_MU_TPM2B_NONCE_Marshal(&p->policy_ref, buf, max, &off) ||
	    Tss2_MU_TPML_PCR_SELECTION_Marshal(&p->pcrs, buf, max, &off) ||
	    Tss2_MU_TPM2B_DIGEST_Marshal(&p->pcr_digest, buf, max, &off) ||
	    Tss2_MU_TPM2B_DIGEST_Marshal(&p->approved, buf, max, &off) ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(&p->signature, buf, max, &off))
		return -ENOBUFS;
	*ret = off;
	return 0;
}

int mcimd_policy_unmarshal(const uint8_t *buf, size_t len, struct tre_policy *p)
{
	size_t off = 8;

	memset(p, 0, sizeof(*p));
	if (len < 8 || memcmp(buf, POLICY_MAGIC "\1\0\0\0", 8))
		return -EBADMSG;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &p->op_key) ||
	    Tss2_MU_TPM2B_NONCE_Unmarshal(buf, len, &off, &p->policy_ref) ||
	    Tss2_MU_TPML_PCR_SELECTION_Unmarshal(buf, len, &off, &p->pcrs) ||
	    Tss2_MU_TPM2B_DIGEST_Unmarshal(buf, len, &off, &p->pcr_digest) ||
	    Tss2_MU_TPM2B_DIGEST_Unmarshal(buf, len, &off, &p->approved) ||
	    Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len, &off, &p->signature) || off != len)
		return -EBADMSG;
	return 0;
}

/* PolicyAuthorize(name(op_key), policyRef): the authPolicy of local objects. */
static int auth_digest(const struct tre_policy *p, TPM2B_DIGEST *ret)
{
	struct tpm2_policy pol;
	TPM2B_NAME name;
	int r = tpm2_public_name(&p->op_key.publicArea, &name);

	if (r == 0)
		r = tpm2_policy_init(&pol, TPM2_ALG_SHA256);
	if (r == 0)
		r = tpm2_policy_authorize(&pol, &name, p->policy_ref.buffer, p->policy_ref.size);
	if (r == 0)
		*ret = pol.digest;
	return r;
}

/* Makes the one local policy and forgets its signing key. */
static int policy_create(struct mcimd *d, struct tre_policy *ret)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	TPM2B_DIGEST pcr_digest, trial, ahash;
	struct tpm2_policy pol;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!key)
		return -ENOMEM;
	tre_pcr_selection(d->tre, &ret->pcrs);
	r = tre_policy_pcr_now(d->tre, &ret->pcrs, &pcr_digest, &trial);
	if (r == 0)
		r = tpm2_public_from_evp(key, TPM2_ALG_SHA256,
					 TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH,
					 &ret->op_key.publicArea);
	ret->policy_ref.size = sizeof(policy_ref);
	memcpy(ret->policy_ref.buffer, policy_ref, sizeof(policy_ref));
	if (r == 0)
		r = tpm2_policy_init(&pol, TPM2_ALG_SHA256);
	if (r == 0)
		r = tpm2_policy_pcr(&pol, &ret->pcrs, &pcr_digest);
	/* The TPM's trial digest and ours must agree (Part 3 23.7). */
	if (r == 0 && (pol.digest.size != trial.size ||
		       memcmp(pol.digest.buffer, trial.buffer, trial.size)))
		r = -EPROTO;
	if (r == 0)
		r = tpm2_policy_authorize_ahash(TPM2_ALG_SHA256, &pol.digest,
						ret->policy_ref.buffer, ret->policy_ref.size,
						&ahash);
	if (r == 0)
		r = tpm2_signature_make(key, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, ahash.buffer,
					ahash.size, &ret->signature);
	EVP_PKEY_free(key); /* the private key is never kept */
	if (r < 0)
		return r;
	ret->pcr_digest = pcr_digest;
	ret->approved = pol.digest;
	return 0;
}

static int local_policy(struct mcimd *d)
{
	_cleanup_free_ uint8_t *blob = NULL;
	uint8_t buf[4096];
	size_t len = 0;
	TPM2B_DIGEST now, trial;
	int r;

	r = store_device_blob_get(d->store, POLICY_BLOB, &blob, &len);
	if (r == 0) {
		r = mcimd_policy_unmarshal(blob, len, &d->local_policy);
		if (r < 0) {
			log_error("store: device blob %s is malformed", POLICY_BLOB);
			return r;
		}
	} else if (r == -ENOENT) {
		r = policy_create(d, &d->local_policy);
		if (r == 0)
			r = mcimd_policy_marshal(&d->local_policy, buf, sizeof(buf), &len);
		if (r == 0)
			r = store_device_blob_put(d->store, POLICY_BLOB, buf, len);
		if (r < 0) {
			log_error("creating the local platform policy: %s", strerror(-r));
			return r;
		}
		store_audit(d->store, "local-policy", NULL,
			    "platform policy of locally installed profiles created");
		log_notice("local platform policy created (PCR values of now)");
	} else {
		log_error("store: %s", store_errmsg(d->store));
		return r;
	}
	r = auth_digest(&d->local_policy, &d->local_auth);
	if (r < 0)
		return r;
	d->have_policy = true;
	/* Does the platform still match?  Not after a tamper event (PCR). */
	r = tre_policy_pcr_now(d->tre, &d->local_policy.pcrs, &now, &trial);
	if (r < 0) {
		log_error("TPM: reading the PCRs: %s", tre_errmsg(d->tre));
		return r;
	}
	d->platform_ok = now.size == d->local_policy.pcr_digest.size &&
			 !memcmp(now.buffer, d->local_policy.pcr_digest.buffer, now.size);
	if (!d->platform_ok)
		log_error("the platform state (PCRs) differs from the approved one: a "
			  "tamper event or a platform change; no card is served");
	return 0;
}

/* ---- approved policies: the local one and the operators' ---- */

/*
 * The approved policy for an object with authPolicy pub's: the local
 * policy, or the one registered for operator profiles with that
 * PolicyAuthorize (the last registered when several are: a newer approval
 * for the same key and policyRef).  NULL: none, the object cannot be used.
 */
static const struct tre_policy *policy_for(struct mcimd *d, const TPM2B_PUBLIC *pub)
{
	const TPM2B_DIGEST *a = &pub->publicArea.authPolicy;

	if (a->size == d->local_auth.size && !memcmp(a->buffer, d->local_auth.buffer, a->size))
		return &d->local_policy;
	for (size_t i = d->n_op_policies; i-- > 0;)
		if (a->size == d->op_policies[i].auth.size &&
		    !memcmp(a->buffer, d->op_policies[i].auth.buffer, a->size))
			return &d->op_policies[i].policy;
	return NULL;
}

int mcimd_policy_register(struct mcimd *d, const struct tre_policy *p)
{
	TPM2B_DIGEST auth;
	size_t i;
	int r = auth_digest(p, &auth);

	if (r < 0)
		return r;
	for (i = 0; i < d->n_op_policies; i++)
		if (auth.size == d->op_policies[i].auth.size &&
		    !memcmp(auth.buffer, d->op_policies[i].auth.buffer, auth.size))
			break;
	if (i == ARRAY_SIZE(d->op_policies))
		return -ENOSPC;
	d->op_policies[i].auth = auth;
	d->op_policies[i].policy = *p;
	if (i == d->n_op_policies)
		d->n_op_policies++;
	return 0;
}

int mcimd_profile_policy(struct mcimd *d, int64_t id, struct tre_policy *ret)
{
	_cleanup_free_ uint8_t *blob = NULL;
	size_t len = 0;
	int r = store_blob_get(d->store, id, STORE_BLOB_POLICY, &blob, &len);

	return r < 0 ? r : mcimd_policy_unmarshal(blob, len, ret);
}

/* At start: the policy of every operator profile (profile blob "policy"). */
static int policies_load(struct mcimd *d)
{
	_cleanup_free_ struct store_profile_info *v = NULL;
	size_t n = 0;
	int r = store_profile_list(d->store, &v, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct tre_policy p;

		r = mcimd_profile_policy(d, v[i].id, &p);
		if (r == -ENOENT)
			continue; /* a locally installed profile */
		if (r == 0)
			r = mcimd_policy_register(d, &p);
		if (r < 0) {
			log_error("store: the approved policy of profile %s: %s", v[i].iccid,
				  strerror(-r));
			return r;
		}
	}
	return 0;
}

/* ---- the store's sealer ---- */

static int seal(void *ctx, const uint8_t *secret, size_t len, uint8_t *blob, size_t max,
		size_t *ret_len)
{
	struct mcimd *d = ctx;
	struct tre_blob b;
	TPM2B_PUBLIC tmpl;
	int r;

	if (!d->tre || !d->have_policy)
		return -ENODEV;
	r = tre_template(TRE_KIND_SEALED, &d->local_auth, &tmpl);
	if (r == 0)
		r = tre_create_known(d->tre, &tmpl, secret, len, &b);
	if (r == 0)
		r = tre_blob_marshal(&b, blob, max, ret_len);
	if (r < 0)
		log_error("sealing: %s", tre_errmsg(d->tre));
	return r;
}

struct copy {
	uint8_t *out;
	size_t max, len;
};

static int copy_secret(const uint8_t *secret, size_t len, void *user_data)
{
	struct copy *c = user_data;

	if (len > c->max)
		return -EMSGSIZE;
	memcpy(c->out, secret, len);
	c->len = len;
	return 0;
}

static int unseal(void *ctx, const uint8_t *blob, size_t len, uint8_t *secret, size_t max,
		  size_t *ret_len)
{
	struct mcimd *d = ctx;
	_cleanup_tre_key_ struct tre_key *k = NULL;
	struct copy c = { .out = secret, .max = max };
	const struct tre_policy *pol = NULL;
	struct tre_blob b;
	int r;

	if (!d->tre || !d->have_policy)
		return -ENODEV;
	r = tre_blob_unmarshal(blob, len, &b);
	if (r == 0 && !(pol = policy_for(d, &b.pub))) {
		log_error("unsealing: no approved policy for this object's authPolicy");
		return -EKEYREJECTED;
	}
	if (r == 0)
		r = tre_key_load(d->tre, &b, &k);
	if (r == 0)
		r = tre_key_set_policy(k, pol);
	if (r == 0)
		r = tre_key_with_secret(k, copy_secret, &c);
	if (r < 0) {
		log_error("unsealing: %s", tre_errmsg(d->tre));
		return r;
	}
	*ret_len = c.len;
	return 0;
}

const struct store_sealer *mcimd_sealer(struct mcimd *d)
{
	static struct store_sealer s = { .seal = seal, .unseal = unseal };

	s.ctx = d;
	return &s;
}

/* ---- the generation counter ---- */

static int counter_read(void *ctx, uint64_t *ret)
{
	struct mcimd *d = ctx;

	return d->tre ? tre_nv_counter_read(d->tre, d->cfg.generation_nv_index, ret) : -ENODEV;
}

static int counter_increment(void *ctx)
{
	struct mcimd *d = ctx;

	return d->tre ? tre_nv_counter_increment(d->tre, d->cfg.generation_nv_index, NULL)
		      : -ENODEV;
}

static struct store_counter counter(struct mcimd *d)
{
	return (struct store_counter){ .read = counter_read, .increment = counter_increment,
				       .ctx = d };
}

int mcimd_rollback_sync(struct mcimd *d)
{
	struct store_counter c = counter(d);
	int r;

	/* No TPM: an anchored store is frozen (nothing it covers changes), an
	 * unanchored one has no counter to follow. */
	if (!d->tre)
		return 0;
	r = store_anchor_sync(d->store, &c);
	if (r < 0)
		log_error("generation counter: %s (the store is one step ahead: repaired at "
			  "the next start; nothing answered meanwhile)", store_errmsg(d->store));
	return r;
}

void mcimd_anchor_close(struct mcimd *d)
{
	struct store_counter c = counter(d);

	if (d->tre && d->store && store_anchor_close(d->store, &c) < 0)
		log_warning("store: clean stop not recorded: %s (the next start raises "
			    "SEQ_MS to the ceilings)", store_errmsg(d->store));
}

int mcimd_tamper_persist(struct mcimd *d)
{
	struct store_counter c = counter(d);
	int r = store_tamper_record(d->store);

	if (r == 0)
		r = d->tre ? store_anchor_sync(d->store, &c) : -ENODEV;
	if (r == 0)
		return 0;
	log_error("TAMPER: the store cannot record the event: %s", store_errmsg(d->store));
	/* Fail closed: a counter ahead of the store refuses it at every start. */
	if (d->tre && counter_increment(d) == 0) {
		log_error("TAMPER: the generation counter was incremented instead: this store "
			  "will be refused from the next start on (re-provision)");
		return 0;
	}
	return r;
}

/* A tamper event recorded before this start: no card, the PCR extended again
 * (a reboot cleared it), until the operator decides (docs/security.md). */
static void tamper_restore(struct mcimd *d)
{
	static const char what[] = "mcim: tamper event recorded in the store";
	bool t = false;

	if (store_tampered(d->store, &t) < 0 || !t)
		return;
	d->tampered = d->tamper_recorded = true;
	d->platform_ok = false;
	if (tre_pcr_extend(d->tre, d->cfg.tamper_pcr, what, sizeof(what) - 1) < 0)
		log_error("TAMPER: extending PCR %u: %s", d->cfg.tamper_pcr, tre_errmsg(d->tre));
	log_error("TAMPER: an event is recorded in the store: no card is served "
		  "until the operator decides; PCR %u extended again", d->cfg.tamper_pcr);
}

/*
 * NV writes by design (docs/store.md "TPM NV write budget"): each profile
 * change costs one, so they are admin-only and rate-limited by a token
 * bucket of [control] lifecycle_per_hour tokens refilled at that rate.
 */
int mcimd_nv_budget(struct mcimd *d, char *why, size_t why_size)
{
	unsigned rate = d->cfg.lifecycle_per_hour;
	struct timespec ts;
	double now, wait;

	if (!rate)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (!d->nv_tokens_at) {
		d->nv_tokens = rate;
	} else {
		d->nv_tokens += (now - d->nv_tokens_at) * rate / 3600.0;
		if (d->nv_tokens > rate)
			d->nv_tokens = rate;
	}
	d->nv_tokens_at = now;
	if (d->nv_tokens >= 1.0) {
		d->nv_tokens -= 1.0;
		return 0;
	}
	wait = (1.0 - d->nv_tokens) * 3600.0 / rate;
	snprintf(why, why_size, "too many profile changes (each writes the TPM's NV memory; "
		 "[control] lifecycle_per_hour = %u): try again in %.0f s", rate, wait + 0.5);
	return -EBUSY;
}

/*
 * The store's freshness and MAC (docs/store.md "Rollback"), before anything
 * is served; needs the sealer, i.e. the local policy.
 */
static int anchor_check(struct mcimd *d)
{
	struct store_counter c = counter(d);
	int r = store_anchor_check(d->store, &c, d->cfg.sqn_headroom);

	switch (r) {
	case STORE_ANCHOR_FRESH:
		return 0;
	case STORE_ANCHOR_NEW:
		log_notice("store %s anchored to the TPM's generation counter",
			   d->cfg.store_path);
		return 0;
	case STORE_ANCHOR_RAISED:
		log_notice("store: no clean stop recorded: every SEQ_MS raised to its SQN "
			   "ceiling (the network resynchronises once)");
		return 0;
	case -ENOKEY:
		d->store_frozen = true;
		log_error("store %s cannot be verified: %s; no card, no profile changes",
			  d->cfg.store_path, store_errmsg(d->store));
		return 0;
	case -ESTALE:
	case -EBADMSG:
		log_error("store %s refused: %s", d->cfg.store_path, store_errmsg(d->store));
		return r;
	default:
		log_error("store %s: %s", d->cfg.store_path, store_errmsg(d->store));
		return -EIO;
	}
}

/* ---- opening ---- */

static void on_tre_tamper(const char *reason, void *user_data)
{
	struct mcimd *d = user_data;

	mcimd_card_stop(d, "tamper");
	d->platform_ok = false;
	log_error("TAMPER: %s: PCR %u extended, card removed", reason, d->cfg.tamper_pcr);
}

/*
 * Pins the SRK (docs/security.md): the name of the current epoch's SRK is
 * recorded in the store at the first start with that epoch (at the factory
 * for the first one: trust on first use) and pinned at every later start, so
 * that a salt key substituted on the bus, or another TPM, is refused before
 * any session is salted to it.  A different name is treated like a
 * rolled-back store: nothing is served.
 */
static int srk_pin(struct mcimd *d)
{
	_cleanup_free_ uint8_t *blob = NULL;
	char kind[40];
	TPM2B_PUBLIC srk;
	TPM2B_NAME name = { 0 };
	uint64_t epoch;
	size_t len = 0;
	int r;

	r = tre_epoch(d->tre, &epoch);
	if (r < 0)
		return r;
	snprintf(kind, sizeof(kind), "srk-name-epoch-%llu", (unsigned long long)epoch);
	r = store_device_blob_get(d->store, kind, &blob, &len);
	if (r == 0) {
		if (len > sizeof(name.name)) {
			log_error("store: device blob %s is malformed", kind);
			return -EBADMSG;
		}
		name.size = (UINT16)len;
		memcpy(name.name, blob, len);
		r = tre_srk_pin(d->tre, &name);
		if (r < 0)
			log_error("TPM: the storage key is not the one recorded for epoch %llu: "
				  "%s; refusing to use this TPM",
				  (unsigned long long)epoch, tre_errmsg(d->tre));
		return r < 0 ? -EBADMSG : 0;
	}
	if (r != -ENOENT)
		return r;
	r = tre_srk_public(d->tre, &srk);
	if (r == 0)
		r = tpm2_public_name(&srk.publicArea, &name);
	if (r == 0)
		r = store_device_blob_put(d->store, kind, name.name, name.size);
	if (r == 0)
		r = tre_srk_pin(d->tre, &name);
	if (r < 0) {
		log_error("TPM: recording the storage key's name: %s", strerror(-r));
		return r;
	}
	store_audit(d->store, "srk-pinned", NULL, "storage key name recorded and pinned");
	return 0;
}

/*
 * The authValue of the epoch and generation counters (docs/security.md):
 * 32 random bytes drawn at the first start and kept in the store (device
 * blob "nv-auth", the store being readable by mcimd alone), so that a
 * process with TPM access but not mcimd's files cannot increment them.
 * Returns 1 when it was drawn now.
 */
static int nv_auth(struct mcimd *d, TPM2B_AUTH *ret)
{
	_cleanup_free_ uint8_t *blob = NULL;
	size_t len = 0;
	int r = store_device_blob_get(d->store, NV_AUTH_BLOB, &blob, &len);

	if (r == 0 && len == NV_AUTH_LEN) {
		ret->size = NV_AUTH_LEN;
		memcpy(ret->buffer, blob, len);
		wipe(blob, len);
		return 0;
	}
	if (r == 0) {
		log_error("store: device blob " NV_AUTH_BLOB " is malformed");
		return -EBADMSG;
	}
	if (r != -ENOENT)
		return r;
	ret->size = NV_AUTH_LEN;
	if (RAND_priv_bytes(ret->buffer, NV_AUTH_LEN) != 1)
		return -EIO;
	r = store_device_blob_put(d->store, NV_AUTH_BLOB, ret->buffer, NV_AUTH_LEN);
	if (r == 0)
		log_notice("TPM: a new authorization for the NV counters (first start)");
	return r < 0 ? r : 1;
}

int mcimd_tpm_open(struct mcimd *d)
{
	struct tre_config tc;
	int r, new_auth;

	tre_config_init(&tc);
	tc.tcti = d->cfg.tcti;
	tc.pcr_mask = d->cfg.pcr_mask;
	tc.app_pcr = d->cfg.tamper_pcr;
	tc.epoch_index = d->cfg.epoch_nv_index;
	tc.revoke_index = d->cfg.revoke_nv_index;
	new_auth = nv_auth(d, &tc.nv_auth);
	if (new_auth < 0) {
		log_error("store: the NV counters' authorization: %s", strerror(-new_auth));
		return new_auth;
	}
	r = tre_open(&tc, &d->tre);
	wipe(&tc.nv_auth, sizeof(tc.nv_auth));
	if (r < 0) {
		snprintf(d->tre_why, sizeof(d->tre_why), "%s", tre_open_error());
		log_error("TPM: %s: no card, no install, no attestation", d->tre_why);
		if (new_auth)
			log_error("TPM: a new store, but NV counters defined by an earlier one: "
				  "undefine 0x%08x and 0x%08x with the owner authorization to "
				  "re-provision (mcimd(8))", d->cfg.epoch_nv_index,
				  d->cfg.generation_nv_index);
		d->tre = NULL;
		return r;
	}
	log_info("TPM: %s mode", tre_mode_name(tre_mode(d->tre)));
	tre_set_tamper_handler(d->tre, on_tre_tamper, d);
	r = srk_pin(d);
	if (r < 0)
		return r;
	r = local_policy(d);
	if (r < 0)
		return r;
	r = anchor_check(d);
	if (r == 0)
		r = policies_load(d);
	if (r == 0)
		r = mcimd_parents_load(d);
	if (r == 0)
		tamper_restore(d);
	return r;
}

void mcimd_tpm_close(struct mcimd *d)
{
	tre_close(d->tre);
	d->tre = NULL;
}

/* ---- local install: wrap clear K to our SRK, import ---- */

int mcimd_tpm_import(struct mcimd *d, bool sealed, const uint8_t *k, size_t len,
		     uint8_t *blob, size_t max, size_t *ret_len)
{
	TPMT_SENSITIVE sens;
	TPM2B_PUBLIC srk, pub = { 0 };
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;
	struct tre_blob b;
	int r;

	if (!d->tre || !d->have_policy)
		return -ENODEV;
	r = tre_srk_public(d->tre, &srk);
	if (r < 0)
		return r;
	if (!sealed) {
		r = tpm2_sensitive_symcipher(k, len, NULL, 0, TPM2_ALG_SHA256, &sens);
		if (r == 0)
			r = tpm2_template_aes128_sign(&d->local_auth, TPM2_ALG_NULL, &sens,
						      &pub.publicArea);
	} else {
		r = tpm2_sensitive_keyedhash(k, len, NULL, 0, TPM2_ALG_SHA256, &sens);
		if (r == 0)
			r = tpm2_template_sealed(&d->local_auth, &sens, &pub.publicArea);
	}
	if (r == 0)
		r = tpm2_duplicate(&srk.publicArea, &pub.publicArea, &sens, &dup, &seed);
	explicit_bzero(&sens, sizeof(sens));
	if (r < 0)
		return r;
	r = tre_import(d->tre, &pub, &dup, &seed, NULL, NULL, &b);
	explicit_bzero(&dup, sizeof(dup));
	if (r == 0)
		r = tre_blob_marshal(&b, blob, max, ret_len);
	return r;
}

int mcimd_tpm_key(struct mcimd *d, const uint8_t *blob, size_t len, struct tre_key **ret)
{
	const struct tre_policy *pol = NULL;
	struct tre_blob b;
	int r;

	if (!d->tre || !d->have_policy)
		return -ENODEV;
	r = tre_blob_unmarshal(blob, len, &b);
	if (r == 0 && !(pol = policy_for(d, &b.pub)))
		return -EKEYREJECTED;
	if (r == 0)
		r = tre_key_load(d->tre, &b, ret);
	if (r == 0) {
		r = tre_key_set_policy(*ret, pol);
		if (r < 0) {
			tre_key_free(*ret);
			*ret = NULL;
		}
	}
	return r;
}

/* ---- attestation ---- */

int mcimd_ak_ready(struct mcimd *d)
{
	_cleanup_free_ uint8_t *blob = NULL;
	uint8_t buf[TRE_BLOB_MAX];
	struct tre_blob b;
	size_t len = 0;
	int r;

	if (d->have_ak)
		return 0;
	r = store_device_blob_get(d->store, AK_BLOB, &blob, &len);
	if (r == 0) {
		r = tre_blob_unmarshal(blob, len, &b);
		if (r == 0)
			r = tre_ak_load(d->tre, TRE_EK_ECC, &b);
	} else if (r == -ENOENT) {
		r = tre_ak_create(d->tre, TRE_EK_ECC, &b);
		if (r == 0)
			r = tre_blob_marshal(&b, buf, sizeof(buf), &len);
		if (r == 0)
			r = store_device_blob_put(d->store, AK_BLOB, buf, len);
		if (r == 0)
			log_notice("attestation key created");
	}
	if (r == 0)
		d->have_ak = true;
	return r;
}

static struct json_object *hex_json(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	struct json_object *o;

	if (!s)
		return NULL;
	hex_encode(p, n, s);
	o = json_object_new_string(s);
	free(s);
	return o;
}

int mcimd_attest(struct mcimd *d, const uint8_t *nonce, size_t nonce_len,
		 struct json_object **ret, char *why, size_t why_size)
{
	struct tre_quote q = { 0 };
	struct tpm2_pcr_values v = { 0 };
	TPML_PCR_SELECTION sel;
	TPM2B_PUBLIC ak;
	_cleanup_free_ uint8_t *pcrs = NULL;
	uint8_t sig[sizeof(TPMT_SIGNATURE)], pub[sizeof(TPM2B_PUBLIC)];
	size_t pcrs_len = 0, sig_len = 0, pub_len = 0;
	struct json_object *o;
	int r;

	if (!d->tre) {
		snprintf(why, why_size, "no TPM: %s", d->tre_why);
		return -ENODEV;
	}
	r = mcimd_ak_ready(d);
	if (r < 0) {
		snprintf(why, why_size, "attestation key: %s", tre_errmsg(d->tre));
		return r;
	}
	tre_pcr_selection(d->tre, &sel);
	r = tre_quote(d->tre, &sel, nonce, nonce_len, &q);
	if (r < 0) {
		snprintf(why, why_size, "quote: %s", tre_errmsg(d->tre));
		return r;
	}
	v.selection = q.sel;
	v.count = q.npcrs;
	if (q.npcrs <= ARRAY_SIZE(v.digests))
		memcpy(v.digests, q.pcrs, q.npcrs * sizeof(q.pcrs[0]));
	else
		r = -E2BIG;
	if (r == 0)
		r = tpm2_pcrs_encode(&v, &pcrs, &pcrs_len);
	if (r == 0)
		r = tre_ak_public(d->tre, &ak, NULL);
	if (r == 0 && (Tss2_MU_TPMT_SIGNATURE_Marshal(&q.signature, sig, sizeof(sig), &sig_len) ||
		       Tss2_MU_TPM2B_PUBLIC_Marshal(&ak, pub, sizeof(pub), &pub_len)))
		r = -EIO;
	if (r < 0) {
		tre_quote_clear(&q);
		snprintf(why, why_size, "quote: %s", strerror(-r));
		return r;
	}
	o = json_object_new_object();
	/* The files of tpm2_checkquote: -m, -s, -f, -u (tss format). */
	json_object_object_add(o, "attest", hex_json(q.attest.attestationData, q.attest.size));
	json_object_object_add(o, "signature", hex_json(sig, sig_len));
	json_object_object_add(o, "pcrs", hex_json(pcrs, pcrs_len));
	json_object_object_add(o, "ak_public", hex_json(pub, pub_len));
	json_object_object_add(o, "pcr_bank", json_object_new_string("sha256"));
	tre_quote_clear(&q);
	*ret = o;
	return 0;
}
