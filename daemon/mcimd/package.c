// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The operator's package on the device (docs/package-format.md): the
 * download request (section 3: a fresh nonce kept pending, the AK and SRK
 * public areas, the last validation ticket, the K form) and the verifier
 * and installer of a package, with the eleven checks of section 1 in their
 * order, the first failure reported by number and name, and checks 9a and
 * 9b of a change of subscription (docs/change-format.md 3) between 9 and
 * 10.
 *
 * Nothing is written before all eleven passed: the TPM work before the
 * transaction (TPM2_VerifySignature of the approved policy, TPM2_Import of
 * every object) leaves no state in the TPM.  Then one store transaction
 * holds the profile with the imported objects (K, OPc/TOPc, PINs: the store
 * never sees their values), the operator's approved policy (profile blob
 * "policy"), what the device records of the package (change-format.md 1:
 * sho_id, subscriber, lock, the ICCID it replaces), the consent and release
 * ids it consumed, the new last sequence and the consumed nonce; the generation
 * moves with it (one NV write, docs/store.md "Rollback").  A kill at any
 * point leaves the old state or the new one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "daemon/mcimd/log.h"
#include "daemon/mcimd/mcimd.h"
#include "daemon/mcimd/operator-json.h"
#include "daemon/usim/profile-json.h"
#include "hex.h"
#include "json-util.h"
#include "package.h"
#include "tpm2-crypto.h"

static void profile_freep(struct usim_profile **p)
{
	usim_profile_free(*p);
}

/* The stored ticket: {"ticket", "expires", ...} (provision-client.c). */
static int stored_ticket(struct mcimd *d, char **ret, int64_t *ret_expires, char *why,
			 size_t why_size)
{
	_cleanup_free_ uint8_t *b = NULL;
	struct json_object *o = NULL, *x;
	size_t len = 0;
	int r = store_device_blob_get(d->store, MCIMD_BLOB_TICKET, &b, &len);

	if (r == -ENOENT) {
		snprintf(why, why_size, "no validation ticket: validate the platform first "
			 "(mcimctl validate)");
		return r;
	}
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		return r;
	}
	r = ju_parse((const char *)b, len, 4, &o, why, why_size);
	if (r == 0 && (!json_object_object_get_ex(o, "ticket", &x) ||
		       !json_object_is_type(x, json_type_string) ||
		       (size_t)json_object_get_string_len(x) > PACKAGE_TICKET_MAX)) {
		snprintf(why, why_size, "the stored ticket is damaged");
		r = -EBADMSG;
	}
	if (r == 0) {
		*ret = strdup(json_object_get_string(x));
		*ret_expires = json_object_object_get_ex(o, "expires", &x)
				       ? json_object_get_int64(x) : 0;
		if (!*ret)
			r = -ENOMEM;
	}
	json_object_put(o);
	return r;
}

static bool k_in_tpm(struct mcimd *d, bool tuak)
{
	/* docs/tre.md 3: K as an AES key when the TPM runs E_K (MILENAGE). */
	return !tuak && tre_mode(d->tre) != TRE_MODE_SEALED;
}

int mcimd_package_request(struct mcimd *d, bool tuak, const char *sw_iccid,
			  const struct op_switch *sw, struct json_object **ret, char *why,
			  size_t why_size)
{
	struct package_request req = { .key_form = PACKAGE_FORM_SEALED };
	struct tre_parent *parent = NULL;
	_cleanup_free_ char *text = NULL;
	int64_t expires = 0;
	size_t len = 0;
	int r;

	if (!d->tre) {
		snprintf(why, why_size, "no TPM: %s", d->tre_why);
		return -ENODEV;
	}
	r = stored_ticket(d, &req.ticket, &expires, why, why_size);
	if (r < 0)
		return r;
	if (expires && expires <= time(NULL)) {
		snprintf(why, why_size, "the validation ticket expired at %lld: validate the "
			 "platform again (mcimctl validate)", (long long)expires);
		r = -ESTALE;
		goto out;
	}
	r = mcimd_ak_ready(d);
	if (r == 0)
		r = tre_ak_public(d->tre, &req.ak, NULL);
	if (r < 0) {
		snprintf(why, why_size, "TPM: %s", tre_errmsg(d->tre));
		goto out;
	}
	/* The storage key to wrap to: the parent the validation certified
	 * (docs/change-format.md 7), made now when none is pending. */
	r = mcimd_parent_pending(d, true, &parent, why, why_size);
	if (r < 0)
		goto out;
	req.srk = *tre_parent_public(parent);
	req.key_form = k_in_tpm(d, tuak) ? PACKAGE_FORM_AES : PACKAGE_FORM_SEALED;
	if (RAND_bytes(req.nonce, sizeof(req.nonce)) != 1) {
		r = -EIO;
		snprintf(why, why_size, "no random nonce");
		goto out;
	}
	if (sw) {
		req.has_switch = true;
		snprintf(req.switch_iccid, sizeof(req.switch_iccid), "%s", sw_iccid);
		req.consent = malloc(sw->consent_len);
		req.consent_len = sw->consent_len;
		req.release = sw->release_len ? malloc(sw->release_len) : NULL;
		req.release_len = sw->release_len;
		if (!req.consent || (sw->release_len && !req.release)) {
			r = -ENOMEM;
			snprintf(why, why_size, "out of memory");
			goto out;
		}
		memcpy(req.consent, sw->consent, sw->consent_len);
		if (sw->release_len)
			memcpy(req.release, sw->release, sw->release_len);
	}
	r = package_request_build(&req, &text, &len);
	if (r < 0) {
		snprintf(why, why_size, "building the request: %s", strerror(-r));
		goto out;
	}
	/* The one pending nonce: this request's replaces any earlier one. */
	r = store_device_blob_put(d->store, STORE_PACKAGE_NONCE_BLOB, req.nonce,
				  sizeof(req.nonce));
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		goto out;
	}
	r = ju_parse(text, len, 4, ret, why, why_size);
	if (r == 0)
		log_notice("package download request made (K form %s)",
			   package_form_name(req.key_form));
out:
	package_request_free(&req);
	return r;
}

/* ---- the verifier ---- */

static const char *const check_names[] = {
	[1] = "envelope", [2] = "signature", [3] = "signer",  [4] = "content",
	[5] = "identity", [6] = "nonce",     [7] = "sequence", [8] = "validity",
	[9] = "iccid",    [10] = "policy",   [11] = "import",
};

#define MCIMD_ROOTS_MAX 16 /* certificates in [provisioning] ca */

static void roots_freep(STACK_OF(X509) **p)
{
	sk_X509_pop_free(*p, X509_free);
}

/* A consent or release the checks accepted: consumed with the install. */
struct used_token {
	char id[33];
	int64_t expires;
};

struct verify {
	struct mcimd *d;
	int check;  /* the one under way */
	char sub;   /* 'a', 'b': checks 9a, 9b (change-format.md 3) */
	struct tre_parent *parent; /* the pending storage parent (check 5) */
	char *why;
	size_t why_size;
	STACK_OF(X509) *roots;          /* [provisioning] ca */
	char sho_id[65];                /* the package's root (change-format.md 1) */
	char subscriber_key[65];        /* version 2: SHA-256 of its certificate's SPKI */
	struct used_token consent, release; /* release.id "": none consulted */
};

_printf_(3, 4) static int refuse(struct verify *v, int r, const char *fmt, ...)
{
	char msg[CONTROL_WHY_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (v->sub)
		snprintf(v->why, v->why_size, "package refused, check %d%c (%s): %s", v->check,
			 v->sub, v->sub == 'a' ? "operator" : "replaces", msg);
	else
		snprintf(v->why, v->why_size, "package refused, check %d (%s): %s", v->check,
			 check_names[v->check], msg);
	return r;
}

/*
 * [provisioning] ca: the operator roots the device trusts, one or several
 * PEM certificates (docs/change-format.md 1: a device trusts several
 * operators).  -ENOENT when the file has none.
 */
static int operator_roots(const char *path, STACK_OF(X509) **ret)
{
	_cleanup_(roots_freep) STACK_OF(X509) *roots = sk_X509_new_null();
	FILE *f;
	X509 *x;
	int r = 0;

	if (!roots)
		return -ENOMEM;
	f = path[0] ? fopen(path, "re") : NULL;
	if (!f)
		return path[0] ? -errno : -ENOENT;
	while (r == 0 && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
		if (sk_X509_num(roots) >= MCIMD_ROOTS_MAX || !sk_X509_push(roots, x)) {
			X509_free(x);
			r = sk_X509_num(roots) >= MCIMD_ROOTS_MAX ? -E2BIG : -ENOMEM;
		}
	}
	fclose(f);
	ERR_clear_error(); /* the end of the file reads as "no start line" */
	if (r == 0 && sk_X509_num(roots) == 0)
		r = -ENOENT;
	if (r == 0)
		*ret = TAKE_PTR(roots);
	return r;
}

/* Checks 1-4: the envelope and its content; the objects as the table says. */
static int check_envelope(struct verify *v, const uint8_t *der, size_t len,
			  struct package_content *c)
{
	struct mcimd *d = v->d;
	struct package_opened o;
	char w[CONTROL_WHY_SIZE] = "";
	int r;

	v->check = 1;
	if (len > PACKAGE_MAX)
		return refuse(v, -EMSGSIZE, "%zu bytes, at most %u", len, PACKAGE_MAX);
	r = operator_roots(d->cfg.prov_ca, &v->roots);
	if (r == -E2BIG)
		return refuse(v, -ENOKEY, "[provisioning] ca = %s holds more than %d "
			      "certificates", d->cfg.prov_ca, MCIMD_ROOTS_MAX);
	if (r < 0)
		return refuse(v, -ENOKEY, "the pinned operator roots ([provisioning] ca = %s) "
			      "cannot be read: %s", d->cfg.prov_ca[0] ? d->cfg.prov_ca : "unset",
			      r == -ENOENT ? "no certificate" : strerror(-r));
	r = package_open(PACKAGE_TYPE_PACKAGE, der, len, v->roots, time(NULL), &o, w, sizeof(w));
	switch (r) {
	case 0:
		break;
	case -EKEYREJECTED:
		v->check = 2;
		return refuse(v, r, "%s", w);
	case -EPERM:
		v->check = 3;
		return refuse(v, r, "%s", w);
	case -EPROTO:
		v->check = 4;
		return refuse(v, r, "%s", w);
	default:
		/* The library tells a decoding failure from a bad signature in w. */
		if (strstr(w, "signature"))
			v->check = 2;
		return refuse(v, r == -ENOMEM ? r : -EBADMSG, "%s", w);
	}
	v->check = 4;
	snprintf(v->sho_id, sizeof(v->sho_id), "%s", o.root_id);
	r = package_content_parse((const char *)o.content, o.content_len, c, w, sizeof(w));
	package_opened_free(&o);
	if (r == 0)
		r = package_objects_check(c, w, sizeof(w));
	if (r == 0 && c->version >= 2) {
		const unsigned char *p = c->subscriber_cert;
		X509 *x = d2i_X509(NULL, &p, (long)c->subscriber_cert_len);

		r = x ? package_key_id(x, v->subscriber_key) : -EBADMSG;
		X509_free(x);
		if (r < 0)
			snprintf(w, sizeof(w), "subscriber.cert is not a certificate");
		/* Shown by mcimctl and kept by the store: printable text. */
		for (const char *s = c->subscriber; r == 0 && *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f) {
				r = -EBADMSG;
				snprintf(w, sizeof(w), "subscriber.name holds a control character");
			}
	}
	if (r < 0)
		return refuse(v, -EBADMSG, "%s", w);
	return 0;
}

/* Check 5: the device id, EK name and SRK name are this device's. */
static int check_identity(struct verify *v, const struct package_content *c)
{
	struct mcimd *d = v->d;
	struct op_registration reg;
	TPM2B_PUBLIC pub;
	TPM2B_NAME name;
	char w[CONTROL_WHY_SIZE];
	int r;

	v->check = 5;
	r = mcimd_registration(d, &reg, w, sizeof(w));
	if (r < 0)
		return refuse(v, r == -ENOENT ? -EBADMSG : r, "%s", w);
	if (strcmp(c->device, reg.device_id))
		return refuse(v, -EBADMSG, "made for device %.16s..., this is %.16s...",
			      c->device, reg.device_id);
	r = tre_ek_public(d->tre, reg.ek == OP_EK_RSA ? TRE_EK_RSA : TRE_EK_ECC, &pub);
	if (r == 0)
		r = tpm2_public_name(&pub.publicArea, &name);
	if (r < 0)
		return refuse(v, r, "the EK: %s", tre_errmsg(d->tre));
	if (name.size != c->ek_name.size || memcmp(name.name, c->ek_name.name, name.size))
		return refuse(v, -EBADMSG, "ek_name is not this TPM's EK");
	/* srk_name: the storage parent the validation certified (revoke.c);
	 * an installed profile's is this device's too: a replay, check 6. */
	r = mcimd_parent_pending(d, false, &v->parent, w, sizeof(w));
	if (r < 0 && r != -ENOENT)
		return refuse(v, r, "%s", w);
	if (r == 0)
		name = *tre_parent_name(v->parent);
	if (r == 0 && name.size == c->srk_name.size &&
	    !memcmp(name.name, c->srk_name.name, name.size))
		return 0;
	v->parent = NULL;
	if (mcimd_parent_installed(d, &c->srk_name))
		return 0;
	return refuse(v, -EBADMSG, "srk_name is not this device's pending storage parent "
		      "(another TPM, or a validation since)");
}

/* Checks 6-9: nonce, sequence, validity, ICCID. */
static int check_freshness(struct verify *v, const struct package_content *c)
{
	struct mcimd *d = v->d;
	_cleanup_free_ uint8_t *nonce = NULL;
	struct store_profile_info info;
	time_t now = time(NULL);
	uint64_t last = 0;
	size_t len = 0;
	int r;

	v->check = 6;
	r = store_device_blob_get(d->store, STORE_PACKAGE_NONCE_BLOB, &nonce, &len);
	if (r == -ENOENT)
		return refuse(v, -EBADMSG, "no download request is pending (its nonce was used "
			      "or never made: mcimctl provision --request)");
	if (r < 0)
		return refuse(v, -EIO, "store: %s", store_errmsg(d->store));
	if (len != PACKAGE_NONCE_LEN || CRYPTO_memcmp(nonce, c->nonce, len))
		return refuse(v, -EBADMSG, "not the nonce of the pending download request "
			      "(a replayed or stale package)");
	if (!v->parent) /* srk_name: an installed profile's parent (check 5) */
		return refuse(v, -EBADMSG, "made for an installed profile's storage parent "
			      "(a replayed package)");
	v->check = 7;
	r = store_package_seq(d->store, v->sho_id, &last);
	if (r < 0)
		return refuse(v, -EIO, "store: %s", store_errmsg(d->store));
	if (c->sequence < 1 || (uint64_t)c->sequence <= last)
		return refuse(v, -EBADMSG, "sequence %lld is not above the last accepted (%llu)",
			      (long long)c->sequence, (unsigned long long)last);
	v->check = 8;
	if (c->expires <= now)
		return refuse(v, -EBADMSG, "expired at %lld (now %lld)", (long long)c->expires,
			      (long long)now);
	if (c->issued > now + PACKAGE_CLOCK_SKEW)
		return refuse(v, -EBADMSG, "issued at %lld, more than %d s ahead of the device "
			      "clock (%lld)", (long long)c->issued, PACKAGE_CLOCK_SKEW,
			      (long long)now);
	v->check = 9;
	r = store_profile_find_iccid(d->store, c->iccid, &info);
	if (r == 0)
		return refuse(v, -EEXIST, "ICCID %s is installed already", c->iccid);
	if (r != -ENOENT)
		return refuse(v, -EIO, "store: %s", store_errmsg(d->store));
	return 0;
}

/* One consent or release of a switch package (change-format.md 2). */
static int check_token(struct verify *v, enum package_type type, const uint8_t *der,
		       size_t len, const struct package_content *c,
		       const struct store_profile_info *old, struct used_token *ret)
{
	const char *what = type == PACKAGE_TYPE_CONSENT ? "consent" : "release";
	struct package_token t;
	char key[65], w[CONTROL_WHY_SIZE];
	time_t now = time(NULL);
	bool used = true;
	int r;

	r = package_token_open(type, der, len, v->roots, now, &t, key, w, sizeof(w));
	if (r < 0)
		return refuse(v, -EPERM, "%s: %s", what, w);
	/* The consent's key is pinned by the hash recorded at install; the
	 * release's root must be the one that installed the subscription. */
	if (type == PACKAGE_TYPE_CONSENT && strcmp(key, old->subscriber_key))
		return refuse(v, -EPERM, "consent signed by another key than the subscriber's "
			      "(%s recorded with %s)", old->subscriber, old->iccid);
	if (type == PACKAGE_TYPE_RELEASE && strcmp(key, old->sho_id))
		return refuse(v, -EPERM, "release from another operator (root %.16s..., %s was "
			      "installed under %.16s...)", key, old->iccid, old->sho_id);
	r = package_token_check(&t, c->device, old->iccid, v->sho_id, now, w, sizeof(w));
	if (r < 0)
		return refuse(v, -EPERM, "%s", w);
	r = store_token_used(v->d->store, what, t.id, &used);
	if (r < 0)
		return refuse(v, -EIO, "store: %s", store_errmsg(v->d->store));
	if (used)
		return refuse(v, -EPERM, "%s replayed (id %s was used before)", what, t.id);
	snprintf(ret->id, sizeof(ret->id), "%s", t.id);
	ret->expires = t.expires;
	return 0;
}

/*
 * Checks 9a and 9b (change-format.md 3), after check 9 and before anything
 * reaches the TPM: who may install next to, or in place of, the
 * subscriptions of other operators.
 */
static int check_change(struct verify *v, const struct package_content *c)
{
	struct mcimd *d = v->d;
	_cleanup_free_ struct store_profile_info *list = NULL;
	struct store_profile_info old;
	time_t now = time(NULL);
	size_t n = 0;
	int r;

	v->check = 9;
	if (!c->replaces) {
		/* 9a: no other operator's operational subscription is installed. */
		v->sub = 'a';
		r = store_profile_list(d->store, &list, &n);
		if (r < 0)
			return refuse(v, -EIO, "store: %s", store_errmsg(d->store));
		for (size_t i = 0; i < n; i++)
			if (list[i].cls == STORE_CLASS_OPERATIONAL && list[i].sho_id[0] &&
			    strcmp(list[i].sho_id, v->sho_id))
				return refuse(v, -EPERM, "%s is another operator's subscription "
					      "(sho_id %.16s..., this package's %.16s...): only a "
					      "package that replaces it, with the subscriber's "
					      "consent, may be installed", list[i].iccid,
					      list[i].sho_id, v->sho_id);
		v->sub = 0;
		return 0;
	}
	/* 9b: the subscription replaced, the consent, the release while locked. */
	v->sub = 'b';
	r = store_profile_find_iccid(d->store, c->replaces_iccid, &old);
	if (r == -ENOENT)
		return refuse(v, -ENOENT, "replaces %s, which is not installed",
			      c->replaces_iccid);
	if (r < 0)
		return refuse(v, -EIO, "store: %s", store_errmsg(d->store));
	if (old.cls != STORE_CLASS_OPERATIONAL)
		return refuse(v, -EPERM, "replaces %s, a provisioning profile", old.iccid);
	if (!old.sho_id[0])
		return refuse(v, -EPERM, "replaces %s, installed locally (no operator "
			      "recorded): no package can replace it", old.iccid);
	if (!old.subscriber_key[0])
		return refuse(v, -EPERM, "replaces %s, installed from a version 1 package: no "
			      "subscriber key is recorded, so no consent can ever replace it",
			      old.iccid);
	if (!c->consent)
		return refuse(v, -EPERM, "consent missing");
	r = check_token(v, PACKAGE_TYPE_CONSENT, c->consent, c->consent_len, c, &old,
			&v->consent);
	if (r < 0)
		return r;
	if (now < old.lock_until) {
		if (!c->release)
			return refuse(v, -EPERM, "release missing: contract lock until %lld",
				      (long long)old.lock_until);
		r = check_token(v, PACKAGE_TYPE_RELEASE, c->release, c->release_len, c, &old,
				&v->release);
		if (r < 0)
			return r;
	}
	v->sub = 0;
	return 0;
}

/* Check 10: the TPM verifies the approval; the platform is in that state. */
static int check_policy(struct verify *v, const struct package_content *c,
			struct tre_policy *pol)
{
	struct mcimd *d = v->d;
	TPM2B_DIGEST now, trial;
	int r;

	v->check = 10;
	memset(pol, 0, sizeof(*pol));
	pol->op_key = c->policy.key;
	pol->policy_ref = c->policy.ref;
	package_pcr_selection(c->policy.pcr_mask, &pol->pcrs);
	pol->pcr_digest = c->policy.pcr_digest;
	pol->signature = c->policy.signature;
	r = package_policy_digests(&c->policy, &pol->approved, NULL);
	if (r < 0)
		return refuse(v, -EBADMSG, "the approved policy cannot be computed");
	r = tre_policy_verify(d->tre, pol);
	if (r < 0)
		return refuse(v, r == -EKEYREJECTED ? -EBADMSG : r,
			      "the operator's approval does not verify in the TPM: %s",
			      tre_errmsg(d->tre));
	r = tre_policy_pcr_now(d->tre, &pol->pcrs, &now, &trial);
	if (r < 0)
		return refuse(v, r, "reading the PCRs: %s", tre_errmsg(d->tre));
	if (trial.size != pol->approved.size ||
	    memcmp(trial.buffer, pol->approved.buffer, trial.size))
		return refuse(v, -EBADMSG, "the TPM's PolicyPCR digest differs from ours");
	if (now.size != c->policy.pcr_digest.size ||
	    memcmp(now.buffer, c->policy.pcr_digest.buffer, now.size))
		return refuse(v, -EKEYREJECTED, "the platform's PCRs are not the approved ones "
			      "(a change since the validation, or a tamper event)");
	return 0;
}

/* One object: TPM2_Import under the SRK, marshalled as the store keeps it. */
static int import_one(struct verify *v, const char *what, const struct package_secret *s,
		      uint8_t *buf, size_t max, size_t *ret_len)
{
	struct tre_blob b;
	int r = tre_import_to(v->parent, &s->pub, &s->duplicate, &s->seed, &b);

	if (r == 0)
		r = tre_blob_marshal(&b, buf, max, ret_len);
	if (r < 0)
		return refuse(v, r == -EBADMSG || r == -EIO ? -EBADMSG : r, "%s: %s", what,
			      tre_errmsg(v->d->tre));
	return 0;
}

struct imported {
	size_t n;
	char kinds[2 + PACKAGE_PINS_MAX][STORE_KIND_MAX + 1];
	uint8_t data[2 + PACKAGE_PINS_MAX][TRE_BLOB_MAX];
	size_t len[2 + PACKAGE_PINS_MAX];
};

/* Check 11: every object imports; K loads and takes the approved policy. */
static int check_import(struct verify *v, const struct package_content *c,
			const struct tre_policy *pol, struct imported *im)
{
	_cleanup_tre_key_ struct tre_key *k = NULL;
	struct tre_blob b;
	char what[32];
	int r;

	v->check = 11;
	snprintf(im->kinds[0], sizeof(im->kinds[0]), STORE_BLOB_KEY);
	snprintf(im->kinds[1], sizeof(im->kinds[1]), STORE_BLOB_OPC);
	r = import_one(v, "k", &c->k, im->data[0], sizeof(im->data[0]), &im->len[0]);
	if (r == 0)
		r = import_one(v, "opc", &c->opc, im->data[1], sizeof(im->data[1]), &im->len[1]);
	im->n = 2;
	for (size_t i = 0; r == 0 && i < c->n_pins; i++, im->n++) {
		snprintf(what, sizeof(what), "pins[%zu]", i);
		snprintf(im->kinds[im->n], sizeof(im->kinds[0]), STORE_BLOB_PIN_PREFIX "%02x",
			 c->pins[i].ref);
		r = import_one(v, what, &c->pins[i].s, im->data[im->n], sizeof(im->data[0]),
			       &im->len[im->n]);
	}
	if (r < 0)
		return r;
	/* K is usable under the approval (the TPM checks it once more). */
	r = tre_blob_unmarshal(im->data[0], im->len[0], &b);
	if (r == 0)
		r = tre_key_load(v->d->tre, &b, &k);
	if (r == 0)
		r = tre_key_set_policy(k, pol);
	if (r < 0)
		return refuse(v, r, "k does not load under the approved policy: %s",
			      tre_errmsg(v->d->tre));
	return 0;
}

/* Section 2: the profile has the subscription's identity and its PINs. */
static int check_profile(struct verify *v, const struct package_content *c,
			 struct usim_profile **ret)
{
	_cleanup_(profile_freep) struct usim_profile *p = NULL;
	char w[PROFILE_JSON_WHY_SIZE], iccid[STORE_ICCID_MAX + 1], imsi[STORE_IMSI_MAX + 1];
	int r;

	v->check = 4;
	r = profile_json_load_public(c->profile, c->profile_len, &p, w, sizeof(w));
	if (r < 0)
		return refuse(v, -EBADMSG, "the profile: %s", w);
	if (store_profile_identity(p, iccid, imsi) < 0 || strcmp(iccid, c->iccid) ||
	    strcmp(imsi, c->imsi))
		return refuse(v, -EBADMSG, "the profile's EF.ICCID/EF.IMSI are not the "
			      "subscription's (%s, %s)", c->iccid, c->imsi);
	if (c->k.form == PACKAGE_FORM_AES && (p->aka.algo != AKA_ALGO_MILENAGE ||
					      !k_in_tpm(v->d, false)))
		return refuse(v, -EBADMSG, "k is an AES key, but %s",
			      p->aka.algo != AKA_ALGO_MILENAGE ? "the algorithm is not MILENAGE"
							       : "this TPM runs no AES (sealed mode)");
	if (p->n_pins != c->n_pins)
		return refuse(v, -EBADMSG, "%zu PINs in the profile, %zu PIN objects", p->n_pins,
			      c->n_pins);
	for (size_t i = 0; i < c->n_pins; i++)
		if (!usim_profile_pin(p, c->pins[i].ref))
			return refuse(v, -EBADMSG, "a PIN object for key reference %02X, which "
				      "the profile does not have", c->pins[i].ref);
	*ret = TAKE_PTR(p);
	return 0;
}

/* One transaction: the profile, its objects, the policy, the sequence, the nonce. */
static int install_tx(const struct verify *v, const struct package_content *c,
		      const struct usim_profile *p, const struct imported *im,
		      const uint8_t *pol, size_t pol_len, unsigned flags, int64_t *ret_id)
{
	struct mcimd *d = v->d;
	char pending[96];
	struct store_blob blobs[3 + PACKAGE_PINS_MAX];
	/* change-format.md 1: who installed it, its subscriber, its lock. */
	const struct store_profile_meta meta = {
		.iccid = c->iccid, .imsi = c->imsi,
		.cls = c->cls == PACKAGE_CLASS_PROVISIONING ? STORE_CLASS_PROVISIONING
							     : STORE_CLASS_OPERATIONAL,
		.operator_name = c->operator_name, .presealed = true,
		.sho_id = v->sho_id, .subscriber = c->subscriber,
		.subscriber_key = v->subscriber_key, .lock_until = c->lock_until,
		.replaces = c->replaces ? c->replaces_iccid : NULL,
	};
	time_t now = time(NULL);
	size_t n = 0;
	int r;

	for (size_t i = 0; i < im->n; i++)
		blobs[n++] = (struct store_blob){ im->kinds[i], im->data[i], im->len[i] };
	blobs[n++] = (struct store_blob){ STORE_BLOB_POLICY, pol, pol_len };
	r = store_begin(d->store);
	if (r < 0)
		return r;
	r = store_profile_install(d->store, &meta, p, blobs, n, ret_id);
	if (r == 0 && v->consent.id[0])
		r = store_token_use(d->store, "consent", v->consent.id, v->consent.expires, now);
	if (r == 0 && v->release.id[0])
		r = store_token_use(d->store, "release", v->release.id, v->release.expires, now);
	if (r == 0)
		r = mcimd_parent_adopt(d, *ret_id);
	if (r == 0)
		r = store_package_seq_set(d->store, v->sho_id, (uint64_t)c->sequence);
	if (r == 0)
		r = store_device_blob_delete(d->store, STORE_PACKAGE_NONCE_BLOB);
	if (r == 0 && (flags & MCIMD_PKG_RECEIPT)) {
		snprintf(pending, sizeof(pending), "{\"iccid\":\"%s\",\"sequence\":%lld}",
			 c->iccid, (long long)c->sequence);
		r = store_device_blob_put(d->store, MCIMD_BLOB_RECEIPT_PENDING,
					  (const uint8_t *)pending, strlen(pending));
	}
	if (r == 0 && (flags & MCIMD_PKG_ENABLE))
		r = store_profile_enable(d->store, *ret_id);
	if (r == 0)
		r = store_commit(d->store);
	if (r < 0 && store_in_transaction(d->store))
		store_rollback(d->store);
	if (r == 0)
		r = mcimd_rollback_sync(d);
	return r;
}

int mcimd_package_install(struct mcimd *d, const uint8_t *der, size_t len, unsigned flags,
			  struct store_profile_info *ret, struct json_object **ret_info,
			  char *why, size_t why_size)
{
	bool enable;
	struct verify v = { .d = d, .why = why, .why_size = why_size };
	struct package_content c;
	_cleanup_(profile_freep) struct usim_profile *p = NULL;
	_cleanup_free_ struct imported *im = NULL;
	struct tre_policy pol;
	uint8_t pol_buf[4096];
	size_t pol_len = 0;
	int64_t id = 0;
	int r;

	memset(&c, 0, sizeof(c));
	if (!d->tre || !d->have_policy) {
		snprintf(why, why_size, "no TPM: %s", d->tre ? "no local policy" : d->tre_why);
		return -ENODEV;
	}
	if (d->store_frozen || d->tampered) {
		snprintf(why, why_size, "%s: no profile can be installed",
			 d->tampered ? "a tamper event is recorded" : "the store is frozen");
		return -EACCES;
	}
	im = calloc(1, sizeof(*im));
	if (!im)
		return -ENOMEM;
	r = check_envelope(&v, der, len, &c);
	if (r == 0)
		r = check_profile(&v, &c, &p);
	if (r == 0)
		r = check_identity(&v, &c);
	if (r == 0)
		r = check_freshness(&v, &c);
	if (r == 0)
		r = check_change(&v, &c);
	if (r == 0)
		r = mcimd_nv_budget(d, why, why_size);
	if (r == 0)
		r = check_policy(&v, &c, &pol);
	if (r == 0)
		r = check_import(&v, &c, &pol, im);
	if (r == 0 && mcimd_policy_marshal(&pol, pol_buf, sizeof(pol_buf), &pol_len) < 0)
		r = -ENOBUFS;
	if (r < 0) {
		log_error("%s", why);
		store_audit(d->store, "package-refused", c.iccid, why);
		goto out;
	}
	/* A switch package's profile stays disabled; the switch enables it
	 * (change-format.md 5), the replaced one is left as it is. */
	if (c.replaces)
		flags &= ~MCIMD_PKG_ENABLE;
	enable = flags & MCIMD_PKG_ENABLE;
	r = install_tx(&v, &c, p, im, pol_buf, pol_len, flags, &id);
	if (r < 0) {
		snprintf(why, why_size, "store: %s", store_errmsg(d->store));
		goto out;
	}
	r = mcimd_policy_register(d, &pol);
	if (r < 0)
		log_error("the approved policy of %s is not registered: %s (restart mcimd)",
			  c.iccid, strerror(-r));
	log_notice("package installed: profile %s (sequence %lld, K %s, %zu PINs)%s", c.iccid,
		   (long long)c.sequence, package_form_name(c.k.form), c.n_pins,
		   enable ? ", enabled" : "");
	if (c.replaces)
		log_notice("profile %s replaces %s (consent %s%s%s): installed disabled, %s is "
			   "left as it is", c.iccid, c.replaces_iccid, v.consent.id,
			   v.release.id[0] ? ", release " : "", v.release.id, c.replaces_iccid);
	if (enable && mcimd_card_switch(d) < 0)
		log_error("profile %s enabled but its card did not start", c.iccid);
	r = store_profile_get(d->store, id, ret);
	if (r == 0 && ret_info) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "sequence", json_object_new_int64(c.sequence));
		json_object_object_add(o, "device", json_object_new_string(c.device));
		json_object_object_add(o, "key_form",
				       json_object_new_string(package_form_name(c.k.form)));
		*ret_info = o;
	}
out:
	if (im)
		OPENSSL_cleanse(im, sizeof(*im));
	roots_freep(&v.roots);
	package_content_free(&c);
	return r;
}
