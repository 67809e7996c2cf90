// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The MCIM package codec (package.h, docs/package-format.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "hex.h"
#include "json-util.h"
#include "macro.h"
#include "package.h"
#include "tpm2-crypto.h"
#include "tpm2-dup.h"
#include "tpm2-policy.h"

#define WHY(...) (snprintf(why, why_size, __VA_ARGS__), -EINVAL)

static const char *const form_names[] = { [PACKAGE_FORM_AES] = "aes",
					  [PACKAGE_FORM_SEALED] = "sealed" };
static const char *const class_names[] = { [PACKAGE_CLASS_OPERATIONAL] = "operational",
					   [PACKAGE_CLASS_PROVISIONING] = "provisioning" };

const char *package_form_name(enum package_form f)
{
	return (unsigned)f < ARRAY_SIZE(form_names) ? form_names[f] : "?";
}

int package_form_from_name(const char *s, enum package_form *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(form_names); i++)
		if (s && !strcmp(s, form_names[i])) {
			*ret = (enum package_form)i;
			return 0;
		}
	return -EINVAL;
}

const char *package_class_name(enum package_class c)
{
	return (unsigned)c < ARRAY_SIZE(class_names) ? class_names[c] : "?";
}

static int class_from_name(const char *s, enum package_class *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(class_names); i++)
		if (s && !strcmp(s, class_names[i])) {
			*ret = (enum package_class)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- JSON writing helpers ---- */

static int add(struct json_object *o, const char *name, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, name, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_null(struct json_object *o, const char *name)
{
	return json_object_object_add(o, name, NULL) < 0 ? -ENOMEM : 0;
}

static int add_str(struct json_object *o, const char *name, const char *s)
{
	return add(o, name, json_object_new_string(s));
}

static int add_int(struct json_object *o, const char *name, int64_t v)
{
	return add(o, name, json_object_new_int64(v));
}

static int add_hex(struct json_object *o, const char *name, const uint8_t *p, size_t n)
{
	_cleanup_free_ char *s = malloc(2 * n + 1);

	if (!s)
		return -ENOMEM;
	hex_encode(p, n, s);
	return add_str(o, name, s);
}

static int add_b64(struct json_object *o, const char *name, const uint8_t *p, size_t n)
{
	_cleanup_free_ char *s = b64_encode(p, n);

	return s ? add_str(o, name, s) : -ENOMEM;
}

/* TPM structures travel marshalled (TPM 2.0 Part 2), base64-encoded. */
#define MU_MAX 4096
#define ADD_MU(o, name, type, v)                                                         \
	({                                                                               \
		uint8_t _b[MU_MAX];                                                      \
		size_t _off = 0;                                                         \
		Tss2_MU_##type##_Marshal((v), _b, sizeof(_b), &_off) ? -EINVAL :         \
								       add_b64(o, name, _b, _off); \
	})

static int to_text(struct json_object *o, char **ret, size_t *ret_len)
{
	size_t n;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	if (!s)
		return -ENOMEM;
	*ret = strndup(s, n);
	if (!*ret)
		return -ENOMEM;
	*ret_len = n;
	return 0;
}

/* ---- JSON reading helpers ---- */

static int get_obj(struct json_object *o, const char *name, struct json_object **ret, char *why,
		   size_t why_size)
{
	if (!json_object_object_get_ex(o, name, ret) || !json_object_is_type(*ret, json_type_object))
		return WHY("member \"%s\" must be an object", name);
	return 0;
}

static int get_str(struct json_object *o, const char *name, char *out, size_t size,
		   char *why, size_t why_size)
{
	const char *s;
	int r = ju_string(o, name, false, size - 1, &s, why, why_size);

	if (r < 0)
		return r;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static bool all_of(const char *s, const char *set, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, set) == n;
}

static bool device_id_ok(const char *s)
{
	return all_of(s, "0123456789abcdef", 64, 64);
}

#define GET_MU(o, name, type, v, max)                                                        \
	({                                                                                   \
		_cleanup_free_ uint8_t *_b = NULL;                                           \
		size_t _n = 0, _off = 0;                                                     \
		int _r = ju_base64(o, name, false, max, &_b, &_n, why, why_size);           \
		if (_r == 0 && (Tss2_MU_##type##_Unmarshal(_b, _n, &_off, (v)) || _off != _n)) \
			_r = WHY("member \"%s\" is not one %s", name, #type);                  \
		_r;                                                                          \
	})

static int get_name(struct json_object *o, const char *name, TPM2B_NAME *ret, char *why,
		    size_t why_size)
{
	size_t n = 0;
	int r = ju_hex(o, name, ret->name, sizeof(ret->name), false, &n, why, why_size);

	if (r < 0)
		return r;
	/* Part 1 16: nameAlg (SHA-256) || digest. */
	if (n != 34 || ret->name[0] != 0x00 || ret->name[1] != 0x0b)
		return WHY("member \"%s\" is not a SHA-256 name", name);
	ret->size = (UINT16)n;
	return 0;
}

/* ---- content ---- */

void package_content_free(struct package_content *c)
{
	if (!c)
		return;
	free(c->profile);
	free(c->subscriber_cert);
	free(c->consent);
	free(c->release);
	c->profile = NULL;
	c->subscriber_cert = c->consent = c->release = NULL;
}

/* docs/change-format.md 3: subscriber, lock, replaces. */
static int switch_json(const struct package_content *c, struct json_object *o)
{
	struct json_object *v;
	int r;

	if (!c->subscriber_cert || !c->subscriber[0] || c->lock_until < 0 ||
	    (c->replaces && !c->consent))
		return -EINVAL;
	r = add(o, "subscriber", v = json_object_new_object());
	if (r == 0)
		r = add_str(v, "name", c->subscriber);
	if (r == 0)
		r = add_b64(v, "cert", c->subscriber_cert, c->subscriber_cert_len);
	if (r == 0)
		r = add(o, "lock", v = json_object_new_object());
	if (r == 0)
		r = add_int(v, "until", c->lock_until);
	if (r < 0 || !c->replaces)
		return r < 0 ? r : add_null(o, "replaces");
	r = add(o, "replaces", v = json_object_new_object());
	if (r == 0)
		r = add_str(v, "iccid", c->replaces_iccid);
	if (r == 0)
		r = add_b64(v, "consent", c->consent, c->consent_len);
	if (r == 0)
		r = c->release ? add_b64(v, "release", c->release, c->release_len) :
				 add_null(v, "release");
	return r;
}

static int secret_json(const struct package_secret *s, struct json_object **ret)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	r = add_str(o, "form", package_form_name(s->form));
	if (r == 0)
		r = ADD_MU(o, "public", TPM2B_PUBLIC, &s->pub);
	if (r == 0)
		r = ADD_MU(o, "duplicate", TPM2B_PRIVATE, &s->duplicate);
	if (r == 0)
		r = ADD_MU(o, "seed", TPM2B_ENCRYPTED_SECRET, &s->seed);
	if (r == 0)
		*ret = TAKE_PTR(o);
	return r;
}

static int policy_json(const struct package_policy *p, struct json_object **ret)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *pcrs;
	int r;

	if (!o)
		return -ENOMEM;
	r = ADD_MU(o, "key", TPM2B_PUBLIC, &p->key);
	if (r == 0)
		r = add_hex(o, "ref", p->ref.buffer, p->ref.size);
	if (r == 0)
		r = add(o, "pcrs", pcrs = json_object_new_array());
	for (unsigned i = 0; r == 0 && i < 24; i++)
		if (p->pcr_mask & (1u << i))
			r = json_object_array_add(pcrs, json_object_new_int(i)) < 0 ? -ENOMEM : 0;
	if (r == 0)
		r = add_hex(o, "pcr_digest", p->pcr_digest.buffer, p->pcr_digest.size);
	if (r == 0)
		r = ADD_MU(o, "signature", TPMT_SIGNATURE, &p->signature);
	if (r == 0)
		*ret = TAKE_PTR(o);
	return r;
}

int package_content_build(const struct package_content *c, char **ret, size_t *ret_len)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	_cleanup_json_ struct json_object *profile = NULL;
	struct json_object *sub, *v, *secrets, *pins;
	char why[128];
	int r;

	if (!o || !c->profile)
		return o ? -EINVAL : -ENOMEM;
	if (c->n_pins > PACKAGE_PINS_MAX || c->sequence < 1 || !device_id_ok(c->device))
		return -EINVAL;
	r = ju_parse(c->profile, c->profile_len, PACKAGE_DEPTH, &profile, why, sizeof(why));
	if (r < 0 || !json_object_is_type(profile, json_type_object))
		return r < 0 ? r : -EINVAL;
	if (c->version != 0 && c->version != 1 && c->version != 2)
		return -EINVAL;
	r = add_str(o, "format", "mcim-package");
	if (r == 0)
		r = add_int(o, "version", c->version == 2 ? 2 : 1);
	if (r == 0)
		r = add_str(o, "device", c->device);
	if (r == 0)
		r = add_hex(o, "ek_name", c->ek_name.name, c->ek_name.size);
	if (r == 0)
		r = add_hex(o, "srk_name", c->srk_name.name, c->srk_name.size);
	if (r == 0)
		r = add_hex(o, "nonce", c->nonce, sizeof(c->nonce));
	if (r == 0)
		r = add_int(o, "sequence", c->sequence);
	if (r == 0)
		r = add_int(o, "issued", c->issued);
	if (r == 0)
		r = add_int(o, "expires", c->expires);
	if (r == 0)
		r = add(o, "subscription", sub = json_object_new_object());
	if (r == 0)
		r = add_str(sub, "iccid", c->iccid);
	if (r == 0)
		r = add_str(sub, "imsi", c->imsi);
	if (r == 0)
		r = add_str(sub, "sho", c->sho);
	if (r == 0)
		r = add_str(sub, "operator_name", c->operator_name);
	if (r == 0)
		r = add_str(sub, "class", package_class_name(c->cls));
	if (r == 0) {
		r = add(o, "profile", profile);
		profile = NULL;
	}
	if (r == 0 && (r = policy_json(&c->policy, &v)) == 0)
		r = add(o, "policy", v);
	if (r == 0)
		r = add(o, "secrets", secrets = json_object_new_object());
	if (r == 0 && (r = secret_json(&c->k, &v)) == 0)
		r = add(secrets, "k", v);
	if (r == 0 && (r = secret_json(&c->opc, &v)) == 0)
		r = add(secrets, "opc", v);
	if (r == 0)
		r = add(secrets, "pins", pins = json_object_new_array());
	if (r == 0 && c->version == 2)
		r = switch_json(c, o);
	for (size_t i = 0; r == 0 && i < c->n_pins; i++) {
		char ref[3];

		r = secret_json(&c->pins[i].s, &v);
		snprintf(ref, sizeof(ref), "%02x", c->pins[i].ref);
		if (r == 0)
			r = add_str(v, "ref", ref);
		if (r == 0)
			r = json_object_array_add(pins, v) < 0 ? -ENOMEM : 0;
		if (r < 0 && v)
			json_object_put(v);
	}
	if (r < 0)
		return r;
	r = to_text(o, ret, ret_len);
	if (r == 0 && *ret_len > PACKAGE_CONTENT_MAX) {
		free(*ret);
		*ret = NULL;
		return -EMSGSIZE;
	}
	return r;
}

static int parse_secret(struct json_object *o, const char *what, bool pin,
			struct package_secret *ret, uint8_t *ret_ref, char *why, size_t why_size)
{
	static const char *const members[] = { "form", "public", "duplicate", "seed", NULL };
	static const char *const pin_members[] = { "ref", "form", "public", "duplicate", "seed",
						   NULL };
	const char *s;
	int r;

	r = ju_only(o, what, pin ? pin_members : members, why, why_size);
	if (r < 0)
		return r;
	if (pin) {
		uint8_t ref = 0;
		size_t n = 0;

		r = ju_hex(o, "ref", &ref, 1, true, &n, why, why_size);
		if (r < 0)
			return r;
		if (ref == 0)
			return WHY("%s: key reference 00", what);
		*ret_ref = ref;
	}
	r = ju_string(o, "form", false, 16, &s, why, why_size);
	if (r < 0)
		return r;
	if (package_form_from_name(s, &ret->form) < 0)
		return WHY("%s: form \"%s\" is not aes or sealed", what, s);
	r = GET_MU(o, "public", TPM2B_PUBLIC, &ret->pub, MU_MAX);
	if (r == 0)
		r = GET_MU(o, "duplicate", TPM2B_PRIVATE, &ret->duplicate, MU_MAX);
	if (r == 0)
		r = GET_MU(o, "seed", TPM2B_ENCRYPTED_SECRET, &ret->seed, MU_MAX);
	if (r < 0) {
		size_t l = strlen(why);

		snprintf(why + l, why_size > l ? why_size - l : 0, " (%s)", what);
	}
	return r;
}

static int parse_policy(struct json_object *o, struct package_policy *ret, char *why,
			size_t why_size)
{
	static const char *const members[] = { "key", "ref", "pcrs", "pcr_digest", "signature",
						NULL };
	struct json_object *pcrs;
	size_t n = 0;
	int r;

	r = ju_only(o, "policy", members, why, why_size);
	if (r == 0)
		r = GET_MU(o, "key", TPM2B_PUBLIC, &ret->key, MU_MAX);
	if (r == 0)
		r = ju_hex(o, "ref", ret->ref.buffer, 32, true, &n, why, why_size);
	if (r < 0)
		return r;
	ret->ref.size = 32;
	if (!json_object_object_get_ex(o, "pcrs", &pcrs) ||
	    !json_object_is_type(pcrs, json_type_array) || json_object_array_length(pcrs) == 0 ||
	    json_object_array_length(pcrs) > 24)
		return WHY("policy.pcrs must be an array of 1 to 24 PCR indices");
	ret->pcr_mask = 0;
	for (size_t i = 0; i < json_object_array_length(pcrs); i++) {
		struct json_object *v = json_object_array_get_idx(pcrs, i);
		int64_t x;

		errno = 0;
		x = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || errno || x < 0 || x > 23 ||
		    (ret->pcr_mask & (1u << x)) || (ret->pcr_mask >> x))
			return WHY("policy.pcrs[%zu]: not a PCR index in ascending order", i);
		ret->pcr_mask |= 1u << x;
	}
	r = ju_hex(o, "pcr_digest", ret->pcr_digest.buffer, 32, true, &n, why, why_size);
	if (r < 0)
		return r;
	ret->pcr_digest.size = 32;
	return GET_MU(o, "signature", TPMT_SIGNATURE, &ret->signature, MU_MAX);
}

/* docs/package-format.md 2: secrets never travel in clear inside the profile. */
static int profile_check(struct json_object *p, char *why, size_t why_size)
{
	static const char *const auth_secret[] = { "k", "op", "opc", "topc" };
	static const char *const pin_secret[] = { "value", "value_hex", "puk" };
	struct json_object *auth, *pins, *v;

	if (json_object_object_get_ex(p, "auth", &auth) &&
	    json_object_is_type(auth, json_type_object))
		for (size_t i = 0; i < ARRAY_SIZE(auth_secret); i++)
			if (json_object_object_get_ex(auth, auth_secret[i], &v))
				return WHY("profile.auth.%s: secrets travel only as TPM objects",
					   auth_secret[i]);
	if (json_object_object_get_ex(p, "pins", &pins) &&
	    json_object_is_type(pins, json_type_array))
		for (size_t i = 0; i < json_object_array_length(pins); i++) {
			struct json_object *pin = json_object_array_get_idx(pins, i);

			if (!json_object_is_type(pin, json_type_object))
				continue;
			for (size_t j = 0; j < ARRAY_SIZE(pin_secret); j++)
				if (json_object_object_get_ex(pin, pin_secret[j], &v))
					return WHY("profile.pins[%zu].%s: secrets travel only as "
						   "TPM objects", i, pin_secret[j]);
		}
	return 0;
}

static int parse_subscription(struct json_object *o, struct package_content *c, char *why,
			      size_t why_size)
{
	static const char *const members[] = { "iccid", "imsi", "sho", "operator_name", "class",
						NULL };
	char cls[16];
	int r;

	r = ju_only(o, "subscription", members, why, why_size);
	if (r == 0)
		r = get_str(o, "iccid", c->iccid, sizeof(c->iccid), why, why_size);
	if (r == 0)
		r = get_str(o, "imsi", c->imsi, sizeof(c->imsi), why, why_size);
	if (r == 0)
		r = get_str(o, "sho", c->sho, sizeof(c->sho), why, why_size);
	if (r == 0)
		r = get_str(o, "operator_name", c->operator_name, sizeof(c->operator_name), why,
			    why_size);
	if (r == 0)
		r = get_str(o, "class", cls, sizeof(cls), why, why_size);
	if (r < 0)
		return r;
	/* TS 102 221 13.2 (ICCID: 19-20 digits, E.118), TS 23.003 2.2 (IMSI). */
	if (!all_of(c->iccid, "0123456789", 18, 20))
		return WHY("subscription.iccid: 18 to 20 digits expected");
	if (!all_of(c->imsi, "0123456789", 6, 15))
		return WHY("subscription.imsi: 6 to 15 digits expected");
	if (!all_of(c->sho, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
		    1, 64))
		return WHY("subscription.sho: 1 to 64 of [A-Za-z0-9._-] expected");
	if (class_from_name(cls, &c->cls) < 0)
		return WHY("subscription.class \"%s\" is not operational or provisioning", cls);
	return 0;
}

/* docs/change-format.md 3: the members of a version 2 content. */
static int parse_switch(struct json_object *o, struct package_content *c, char *why,
			size_t why_size)
{
	static const char *const sub_members[] = { "name", "cert", NULL };
	static const char *const lock_members[] = { "until", NULL };
	static const char *const rep_members[] = { "iccid", "consent", "release", NULL };
	struct json_object *v, *rel;
	int r;

	r = get_obj(o, "subscriber", &v, why, why_size);
	if (r == 0)
		r = ju_only(v, "subscriber", sub_members, why, why_size);
	if (r == 0)
		r = get_str(v, "name", c->subscriber, sizeof(c->subscriber), why, why_size);
	if (r == 0 && !c->subscriber[0])
		r = WHY("subscriber.name is empty");
	if (r == 0)
		r = ju_base64(v, "cert", false, PACKAGE_CERT_MAX, &c->subscriber_cert,
			      &c->subscriber_cert_len, why, why_size);
	if (r == 0)
		r = get_obj(o, "lock", &v, why, why_size);
	if (r == 0)
		r = ju_only(v, "lock", lock_members, why, why_size);
	if (r == 0)
		r = ju_int(v, "until", false, 0, INT64_MAX, &c->lock_until, why, why_size);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, "replaces", &v))
		return WHY("member \"replaces\" is missing (null or an object)");
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return WHY("member \"replaces\" must be null or an object");
	c->replaces = true;
	r = ju_only(v, "replaces", rep_members, why, why_size);
	if (r == 0)
		r = get_str(v, "iccid", c->replaces_iccid, sizeof(c->replaces_iccid), why, why_size);
	if (r == 0 && !all_of(c->replaces_iccid, "0123456789", 18, 20))
		r = WHY("replaces.iccid: 18 to 20 digits expected");
	if (r == 0)
		r = ju_base64(v, "consent", false, PACKAGE_TOKEN_MAX, &c->consent, &c->consent_len,
			      why, why_size);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(v, "release", &rel))
		return WHY("member \"replaces.release\" is missing (null or base64)");
	return rel ? ju_base64(v, "release", false, PACKAGE_TOKEN_MAX, &c->release,
			       &c->release_len, why, why_size) : 0;
}

int package_content_parse(const char *json, size_t len, struct package_content *ret, char *why,
			  size_t why_size)
{
#define MEMBERS_V1                                                                          \
	"format", "version", "device", "ek_name", "srk_name", "nonce", "sequence", "issued", \
		"expires", "subscription", "profile", "policy", "secrets"
	static const char *const members_v1[] = { MEMBERS_V1, NULL };
	static const char *const members_v2[] = { MEMBERS_V1, "subscriber", "lock", "replaces",
						  NULL };
#undef MEMBERS_V1
	static const char *const secret_members[] = { "k", "opc", "pins", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v = NULL, *x, *pins = NULL;
	const char *s;
	int64_t version;
	size_t n = 0, plen;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > PACKAGE_CONTENT_MAX)
		return snprintf(why, why_size, "content over %u bytes", PACKAGE_CONTENT_MAX),
		       -EMSGSIZE;
	r = ju_parse(json, len, PACKAGE_DEPTH, &o, why, why_size);
	if (r == 0)
		r = ju_string(o, "format", false, 32, &s, why, why_size);
	if (r == 0 && strcmp(s, "mcim-package"))
		r = WHY("format \"%s\" is not mcim-package", s);
	if (r == 0)
		r = ju_int(o, "version", false, 1, 2, &version, why, why_size);
	if (r == 0) {
		ret->version = (int)version;
		r = ju_only(o, "package", version == 2 ? members_v2 : members_v1, why, why_size);
	}
	if (r == 0 && version == 2)
		r = parse_switch(o, ret, why, why_size);
	if (r == 0)
		r = get_str(o, "device", ret->device, sizeof(ret->device), why, why_size);
	if (r == 0 && !device_id_ok(ret->device))
		r = WHY("device: 64 lowercase hex digits expected");
	if (r == 0)
		r = get_name(o, "ek_name", &ret->ek_name, why, why_size);
	if (r == 0)
		r = get_name(o, "srk_name", &ret->srk_name, why, why_size);
	if (r == 0)
		r = ju_hex(o, "nonce", ret->nonce, sizeof(ret->nonce), true, &n, why, why_size);
	if (r == 0)
		r = ju_int(o, "sequence", false, 1, INT64_MAX, &ret->sequence, why, why_size);
	if (r == 0)
		r = ju_int(o, "issued", false, 0, INT64_MAX, &ret->issued, why, why_size);
	if (r == 0)
		r = ju_int(o, "expires", false, 0, INT64_MAX, &ret->expires, why, why_size);
	if (r == 0 && ret->expires <= ret->issued)
		r = WHY("expires is not after issued");
	if (r == 0 && (r = get_obj(o, "subscription", &v, why, why_size)) == 0)
		r = parse_subscription(v, ret, why, why_size);
	if (r == 0 && (r = get_obj(o, "profile", &v, why, why_size)) == 0)
		r = profile_check(v, why, why_size);
	if (r == 0) {
		s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE, &plen);
		ret->profile = s ? strndup(s, plen) : NULL;
		ret->profile_len = plen;
		if (!ret->profile)
			r = -ENOMEM;
	}
	if (r == 0 && (r = get_obj(o, "policy", &v, why, why_size)) == 0)
		r = parse_policy(v, &ret->policy, why, why_size);
	if (r == 0 && (r = get_obj(o, "secrets", &v, why, why_size)) == 0)
		r = ju_only(v, "secrets", secret_members, why, why_size);
	if (r == 0 && (r = get_obj(v, "k", &x, why, why_size)) == 0)
		r = parse_secret(x, "secrets.k", false, &ret->k, NULL, why, why_size);
	if (r == 0 && (r = get_obj(v, "opc", &x, why, why_size)) == 0)
		r = parse_secret(x, "secrets.opc", false, &ret->opc, NULL, why, why_size);
	if (r == 0 && (!json_object_object_get_ex(v, "pins", &pins) ||
		       !json_object_is_type(pins, json_type_array) ||
		       json_object_array_length(pins) > PACKAGE_PINS_MAX))
		r = WHY("secrets.pins must be an array of at most %d objects", PACKAGE_PINS_MAX);
	for (size_t i = 0; r == 0 && i < json_object_array_length(pins); i++) {
		struct json_object *p = json_object_array_get_idx(pins, i);
		char what[48];

		snprintf(what, sizeof(what), "secrets.pins[%zu]", i);
		if (!json_object_is_type(p, json_type_object))
			r = WHY("%s: not an object", what);
		else
			r = parse_secret(p, what, true, &ret->pins[i].s, &ret->pins[i].ref, why,
					 why_size);
		for (size_t j = 0; r == 0 && j < i; j++)
			if (ret->pins[j].ref == ret->pins[i].ref)
				r = WHY("%s: key reference %02x given twice", what,
					ret->pins[i].ref);
		ret->n_pins = i + 1;
	}
	if (r < 0)
		package_content_free(ret);
	return r;
}

/* ---- objects ---- */

int package_seed_new(const TPMT_PUBLIC *srk, struct package_seed *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->srk = *srk;
	return tpm2_seed_new(srk, "DUPLICATE", ret->seed, &ret->len, &ret->enc);
}

void package_seed_wipe(struct package_seed *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

int package_secret_make(enum package_form form, const uint8_t *data, size_t len,
			const TPM2B_DIGEST *auth_policy, const struct package_seed *seed,
			struct package_secret *ret)
{
	TPMT_SENSITIVE sens;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->form = form;
	if (form == PACKAGE_FORM_AES) {
		if (len != 16)
			return -EINVAL;
		r = tpm2_sensitive_symcipher(data, len, NULL, 0, TPM2_ALG_SHA256, &sens);
		if (r == 0)
			r = tpm2_template_aes128_sign(auth_policy, TPM2_ALG_NULL, &sens,
						      &ret->pub.publicArea);
	} else {
		r = tpm2_sensitive_keyedhash(data, len, NULL, 0, TPM2_ALG_SHA256, &sens);
		if (r == 0)
			r = tpm2_template_sealed(auth_policy, &sens, &ret->pub.publicArea);
	}
	if (r == 0)
		r = tpm2_duplicate_with_seed(&seed->srk, &ret->pub.publicArea, &sens, seed->seed,
					     seed->len, &ret->duplicate);
	if (r == 0)
		ret->seed = seed->enc;
	OPENSSL_cleanse(&sens, sizeof(sens));
	return r;
}

/* docs/package-format.md 2's table: the exact attributes per form. */
static int object_check(const struct package_secret *s, const char *what,
			const TPM2B_DIGEST *auth, size_t min, size_t max, char *why,
			size_t why_size)
{
	const TPMT_PUBLIC *p = &s->pub.publicArea;
	const TPMA_OBJECT base = TPMA_OBJECT_NODA | TPMA_OBJECT_ADMINWITHPOLICY;

	if (p->nameAlg != TPM2_ALG_SHA256)
		return WHY("%s: nameAlg is not SHA-256", what);
	if (p->authPolicy.size != auth->size ||
	    memcmp(p->authPolicy.buffer, auth->buffer, auth->size))
		return WHY("%s: authPolicy is not PolicyAuthorize(policy.key, policy.ref)", what);
	if (s->form == PACKAGE_FORM_AES) {
		if (p->type != TPM2_ALG_SYMCIPHER || p->objectAttributes != (base | TPMA_OBJECT_SIGN_ENCRYPT) ||
		    p->parameters.symDetail.sym.algorithm != TPM2_ALG_AES ||
		    p->parameters.symDetail.sym.keyBits.aes != 128 ||
		    p->parameters.symDetail.sym.mode.aes != TPM2_ALG_NULL)
			return WHY("%s: not an encrypt-only AES-128 key with the TRE's attributes",
				   what);
		if (min > 16 || max < 16)
			return WHY("%s: form aes where a sealed object is expected", what);
	} else {
		if (p->type != TPM2_ALG_KEYEDHASH || p->objectAttributes != base ||
		    p->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL)
			return WHY("%s: not a sealed data object with the TRE's attributes", what);
	}
	if (s->duplicate.size == 0 || s->seed.size == 0)
		return WHY("%s: no duplicate or no seed", what);
	(void)min;
	return 0;
}

int package_objects_check(const struct package_content *c, char *why, size_t why_size)
{
	TPM2B_DIGEST auth;
	int r = package_policy_digests(&c->policy, NULL, &auth);

	if (r < 0)
		return WHY("policy.key is not a usable public key");
	r = object_check(&c->k, "secrets.k", &auth, 16, 32, why, why_size);
	if (r == 0 && c->opc.form != PACKAGE_FORM_SEALED)
		r = WHY("secrets.opc: form must be sealed");
	if (r == 0)
		r = object_check(&c->opc, "secrets.opc", &auth, 16, 32, why, why_size);
	for (size_t i = 0; r == 0 && i < c->n_pins; i++) {
		char what[48];

		snprintf(what, sizeof(what), "secrets.pins[%zu]", i);
		r = c->pins[i].s.form != PACKAGE_FORM_SEALED ?
			    WHY("%s: form must be sealed", what) :
			    object_check(&c->pins[i].s, what, &auth, 16, 16, why, why_size);
	}
	return r;
}

/* ---- updates (docs/change-format.md 6) ---- */

static const char *const update_kinds[] = { [PACKAGE_UPDATE_KEYS] = "keys",
					    [PACKAGE_UPDATE_ACTIVATE] = "activate",
					    [PACKAGE_UPDATE_FILES] = "files",
					    [PACKAGE_UPDATE_POLICY] = "policy",
					    [PACKAGE_UPDATE_LOCK] = "lock",
					    [PACKAGE_UPDATE_REVOKE] = "revoke" };

const char *package_update_kind_name(enum package_update_kind k)
{
	return (unsigned)k < ARRAY_SIZE(update_kinds) ? update_kinds[k] : "?";
}

void package_update_free(struct package_update *u)
{
	if (!u)
		return;
	free(u->auth);
	u->auth = NULL;
	for (size_t i = 0; i < u->n_files && i < PACKAGE_UPDATE_FILES_MAX; i++) {
		free(u->files[i].data);
		u->files[i].data = NULL;
	}
}

static int files_json(const struct package_update *u, struct json_object **ret)
{
	_cleanup_json_ struct json_object *a = json_object_new_array();
	int r = a ? 0 : -ENOMEM;

	if (u->n_files < 1 || u->n_files > PACKAGE_UPDATE_FILES_MAX)
		return -EINVAL;
	for (size_t i = 0; r == 0 && i < u->n_files; i++) {
		const struct package_file *f = &u->files[i];
		struct json_object *o = json_object_new_object();
		char path[4 * PACKAGE_PATH_MAX + 1];

		if (!o)
			return -ENOMEM;
		if (f->path_len < 2 || f->path_len > PACKAGE_PATH_MAX || f->path[0] != 0x3f00 ||
		    !f->data || f->len < 1 || f->len > PACKAGE_UPDATE_FILE_MAX) {
			json_object_put(o);
			return -EINVAL;
		}
		for (size_t j = 0; j < f->path_len; j++)
			snprintf(path + 4 * j, 5, "%04X", f->path[j]);
		r = add_str(o, "path", path);
		if (r == 0)
			r = add_hex(o, "data", f->data, f->len);
		if (r == 0)
			r = json_object_array_add(a, o) < 0 ? -ENOMEM : 0;
		if (r < 0)
			json_object_put(o);
	}
	if (r == 0) {
		*ret = a;
		a = NULL;
	}
	return r;
}

/* The member named after the kind. */
static int update_member_json(const struct package_update *u, struct json_object **ret)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *v;
	int r;

	if (!o)
		return -ENOMEM;
	switch (u->kind) {
	case PACKAGE_UPDATE_KEYS: {
		_cleanup_json_ struct json_object *auth = NULL;
		char why[128];

		if (!u->auth)
			return -EINVAL;
		r = ju_parse(u->auth, u->auth_len, PACKAGE_DEPTH, &auth, why, sizeof(why));
		if (r < 0 || !json_object_is_type(auth, json_type_object))
			return r < 0 ? r : -EINVAL;
		r = add_hex(o, "srk_name", u->srk_name.name, u->srk_name.size);
		if (r == 0) {
			r = add(o, "auth", auth);
			auth = NULL;
		}
		if (r == 0 && (r = policy_json(&u->policy, &v)) == 0)
			r = add(o, "policy", v);
		if (r == 0)
			r = add(o, "secrets", v = json_object_new_object());
		if (r == 0) {
			struct json_object *x;

			if ((r = secret_json(&u->k, &x)) == 0)
				r = add(v, "k", x);
			if (r == 0 && (r = secret_json(&u->opc, &x)) == 0)
				r = add(v, "opc", x);
		}
		if (r == 0)
			r = add_int(o, "activate_at", u->activate_at);
		break;
	}
	case PACKAGE_UPDATE_ACTIVATE:
		r = u->activates < 1 ? -EINVAL : add_int(o, "sequence", u->activates);
		break;
	case PACKAGE_UPDATE_FILES:
		json_object_put(o);
		o = NULL;
		return files_json(u, ret);
	case PACKAGE_UPDATE_POLICY:
		json_object_put(o);
		o = NULL;
		return policy_json(&u->policy, ret);
	case PACKAGE_UPDATE_LOCK:
		r = u->lock_until < 0 ? -EINVAL : add_int(o, "until", u->lock_until);
		break;
	case PACKAGE_UPDATE_REVOKE:
		r = add_str(o, "reason", u->reason);
		break;
	default:
		return -EINVAL;
	}
	if (r == 0) {
		*ret = o;
		o = NULL;
	}
	return r;
}

int package_update_build(const struct package_update *u, char **ret, size_t *ret_len)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *v = NULL;
	int r;

	if (!o)
		return -ENOMEM;
	if ((unsigned)u->kind >= ARRAY_SIZE(update_kinds) || u->sequence < 1 ||
	    !device_id_ok(u->device) || !all_of(u->iccid, "0123456789", 18, 20))
		return -EINVAL;
	r = add_str(o, "format", "mcim-update");
	if (r == 0)
		r = add_int(o, "version", 1);
	if (r == 0)
		r = add_str(o, "device", u->device);
	if (r == 0)
		r = add_hex(o, "ek_name", u->ek_name.name, u->ek_name.size);
	if (r == 0)
		r = add_hex(o, "nonce", u->nonce, sizeof(u->nonce));
	if (r == 0)
		r = add_int(o, "sequence", u->sequence);
	if (r == 0)
		r = add_int(o, "issued", u->issued);
	if (r == 0)
		r = add_int(o, "expires", u->expires);
	if (r == 0)
		r = add_str(o, "iccid", u->iccid);
	if (r == 0)
		r = add_str(o, "kind", update_kinds[u->kind]);
	if (r == 0 && (r = update_member_json(u, &v)) == 0)
		r = add(o, update_kinds[u->kind], v);
	if (r < 0)
		return r;
	r = to_text(o, ret, ret_len);
	if (r == 0 && *ret_len > PACKAGE_CONTENT_MAX) {
		free(*ret);
		*ret = NULL;
		return -EMSGSIZE;
	}
	return r;
}

/* "3F007FFF6F60": 2 to PACKAGE_PATH_MAX file ids from the MF. */
static int parse_path(const char *s, struct package_file *f, const char *what, char *why,
		      size_t why_size)
{
	size_t n = strlen(s);

	if (n % 4 || n < 8 || n > 4 * PACKAGE_PATH_MAX || !all_of(s, "0123456789ABCDEF", n, n))
		return WHY("%s.path: 2 to %d file ids in uppercase hex from 3F00 expected", what,
			   PACKAGE_PATH_MAX);
	f->path_len = n / 4;
	for (size_t i = 0; i < f->path_len; i++) {
		char id[5] = { s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3], 0 };

		f->path[i] = (uint16_t)strtoul(id, NULL, 16);
	}
	if (f->path[0] != 0x3f00)
		return WHY("%s.path does not start at the MF (3F00)", what);
	return 0;
}

static int parse_files(struct json_object *a, struct package_update *u, char *why,
		       size_t why_size)
{
	static const char *const members[] = { "path", "data", NULL };
	size_t n;

	if (!json_object_is_type(a, json_type_array) || (n = json_object_array_length(a)) < 1 ||
	    n > PACKAGE_UPDATE_FILES_MAX)
		return WHY("files must be an array of 1 to %d objects", PACKAGE_UPDATE_FILES_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct package_file *f = &u->files[i];
		uint8_t *buf;
		const char *s;
		char what[24];
		int r;

		snprintf(what, sizeof(what), "files[%zu]", i);
		if (!json_object_is_type(o, json_type_object))
			return WHY("%s: not an object", what);
		r = ju_only(o, what, members, why, why_size);
		if (r == 0)
			r = ju_string(o, "path", false, 4 * PACKAGE_PATH_MAX, &s, why, why_size);
		if (r == 0)
			r = parse_path(s, f, what, why, why_size);
		if (r < 0)
			return r;
		buf = malloc(PACKAGE_UPDATE_FILE_MAX);
		if (!buf)
			return -ENOMEM;
		u->n_files = i + 1;
		f->data = buf;
		r = ju_hex(o, "data", buf, PACKAGE_UPDATE_FILE_MAX, false, &f->len, why, why_size);
		if (r == 0 && f->len == 0)
			r = WHY("%s.data is empty", what);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (u->files[j].path_len == f->path_len &&
			    !memcmp(u->files[j].path, f->path, f->path_len * sizeof(f->path[0])))
				return WHY("%s: the same file twice", what);
	}
	return 0;
}

static int parse_update_keys(struct json_object *o, struct package_update *u, char *why,
			     size_t why_size)
{
	static const char *const members[] = { "srk_name", "auth", "policy", "secrets",
						"activate_at", NULL };
	static const char *const secret_members[] = { "k", "opc", NULL };
	struct json_object *v, *x;
	const char *s;
	size_t n;
	int r;

	r = ju_only(o, "keys", members, why, why_size);
	if (r == 0)
		r = get_name(o, "srk_name", &u->srk_name, why, why_size);
	if (r == 0)
		r = get_obj(o, "auth", &v, why, why_size);
	if (r == 0) {
		/* the profile check of a package: no secret in clear */
		struct json_object *wrap = json_object_new_object();

		if (!wrap)
			return -ENOMEM;
		json_object_object_add(wrap, "auth", json_object_get(v));
		r = profile_check(wrap, why, why_size);
		json_object_put(wrap);
	}
	if (r == 0) {
		s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE, &n);
		u->auth = s ? strndup(s, n) : NULL;
		u->auth_len = n;
		if (!u->auth)
			r = -ENOMEM;
	}
	if (r == 0 && (r = get_obj(o, "policy", &v, why, why_size)) == 0)
		r = parse_policy(v, &u->policy, why, why_size);
	if (r == 0 && (r = get_obj(o, "secrets", &v, why, why_size)) == 0)
		r = ju_only(v, "secrets", secret_members, why, why_size);
	if (r == 0 && (r = get_obj(v, "k", &x, why, why_size)) == 0)
		r = parse_secret(x, "secrets.k", false, &u->k, NULL, why, why_size);
	if (r == 0 && (r = get_obj(v, "opc", &x, why, why_size)) == 0)
		r = parse_secret(x, "secrets.opc", false, &u->opc, NULL, why, why_size);
	if (r == 0)
		r = ju_int(o, "activate_at", false, 0, INT64_MAX, &u->activate_at, why, why_size);
	return r;
}

static int parse_update_member(struct json_object *v, struct package_update *u, char *why,
			       size_t why_size)
{
	static const char *const activate[] = { "sequence", NULL };
	static const char *const lock[] = { "until", NULL };
	static const char *const revoke[] = { "reason", NULL };
	const char *name = update_kinds[u->kind];
	int r;

	if (u->kind == PACKAGE_UPDATE_FILES)
		return parse_files(v, u, why, why_size);
	if (!json_object_is_type(v, json_type_object))
		return WHY("member \"%s\" must be an object", name);
	switch (u->kind) {
	case PACKAGE_UPDATE_KEYS:
		return parse_update_keys(v, u, why, why_size);
	case PACKAGE_UPDATE_POLICY:
		return parse_policy(v, &u->policy, why, why_size);
	case PACKAGE_UPDATE_ACTIVATE:
		r = ju_only(v, name, activate, why, why_size);
		return r < 0 ? r : ju_int(v, "sequence", false, 1, INT64_MAX, &u->activates, why,
					  why_size);
	case PACKAGE_UPDATE_LOCK:
		r = ju_only(v, name, lock, why, why_size);
		return r < 0 ? r : ju_int(v, "until", false, 0, INT64_MAX, &u->lock_until, why,
					  why_size);
	case PACKAGE_UPDATE_REVOKE:
		r = ju_only(v, name, revoke, why, why_size);
		return r < 0 ? r : get_str(v, "reason", u->reason, sizeof(u->reason), why, why_size);
	default:
		return -EINVAL;
	}
}

int package_update_parse(const char *json, size_t len, struct package_update *ret, char *why,
			 size_t why_size)
{
	const char *members[] = { "format", "version", "device", "ek_name", "nonce", "sequence",
				  "issued", "expires", "iccid", "kind", NULL, NULL };
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v;
	const char *s;
	int64_t version;
	size_t n = 0, k;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > PACKAGE_CONTENT_MAX)
		return snprintf(why, why_size, "content over %u bytes", PACKAGE_CONTENT_MAX),
		       -EMSGSIZE;
	r = ju_parse(json, len, PACKAGE_DEPTH, &o, why, why_size);
	if (r == 0)
		r = ju_string(o, "format", false, 32, &s, why, why_size);
	if (r == 0 && strcmp(s, "mcim-update"))
		r = WHY("format \"%s\" is not mcim-update", s);
	if (r == 0)
		r = ju_string(o, "kind", false, 16, &s, why, why_size);
	if (r < 0)
		return r;
	for (k = 0; k < ARRAY_SIZE(update_kinds) && strcmp(s, update_kinds[k]); k++)
		;
	if (k == ARRAY_SIZE(update_kinds))
		return WHY("kind \"%s\" is not keys, activate, files, policy, lock or revoke", s);
	ret->kind = (enum package_update_kind)k;
	members[ARRAY_SIZE(members) - 2] = update_kinds[k];
	r = ju_only(o, "update", members, why, why_size);
	if (r == 0)
		r = ju_int(o, "version", false, 1, 1, &version, why, why_size);
	if (r == 0)
		r = get_str(o, "device", ret->device, sizeof(ret->device), why, why_size);
	if (r == 0 && !device_id_ok(ret->device))
		r = WHY("device: 64 lowercase hex digits expected");
	if (r == 0)
		r = get_name(o, "ek_name", &ret->ek_name, why, why_size);
	if (r == 0)
		r = ju_hex(o, "nonce", ret->nonce, sizeof(ret->nonce), true, &n, why, why_size);
	if (r == 0)
		r = ju_int(o, "sequence", false, 1, INT64_MAX, &ret->sequence, why, why_size);
	if (r == 0)
		r = ju_int(o, "issued", false, 0, INT64_MAX, &ret->issued, why, why_size);
	if (r == 0)
		r = ju_int(o, "expires", false, 0, INT64_MAX, &ret->expires, why, why_size);
	if (r == 0 && ret->expires <= ret->issued)
		r = WHY("expires is not after issued");
	if (r == 0)
		r = get_str(o, "iccid", ret->iccid, sizeof(ret->iccid), why, why_size);
	if (r == 0 && !all_of(ret->iccid, "0123456789", 18, 20))
		r = WHY("iccid: 18 to 20 digits expected");
	if (r == 0 && !json_object_object_get_ex(o, update_kinds[k], &v))
		r = WHY("member \"%s\" is missing", update_kinds[k]);
	if (r == 0)
		r = parse_update_member(v, ret, why, why_size);
	if (r < 0)
		package_update_free(ret);
	return r;
}

int package_update_objects_check(const struct package_update *u, char *why, size_t why_size)
{
	TPM2B_DIGEST auth;
	int r;

	if (u->kind != PACKAGE_UPDATE_KEYS)
		return WHY("a %s update has no objects", update_kinds[u->kind]);
	r = package_policy_digests(&u->policy, NULL, &auth);
	if (r < 0)
		return WHY("keys.policy.key is not a usable public key");
	r = object_check(&u->k, "keys.secrets.k", &auth, 16, 32, why, why_size);
	if (r == 0 && u->opc.form != PACKAGE_FORM_SEALED)
		r = WHY("keys.secrets.opc: form must be sealed");
	return r < 0 ? r : object_check(&u->opc, "keys.secrets.opc", &auth, 16, 32, why, why_size);
}

int package_content_is_update(const char *json, size_t len, bool *ret_update, char *why,
			      size_t why_size)
{
	_cleanup_json_ struct json_object *o = NULL;
	const char *s;
	int r;

	if (len > PACKAGE_CONTENT_MAX)
		return snprintf(why, why_size, "content over %u bytes", PACKAGE_CONTENT_MAX),
		       -EMSGSIZE;
	r = ju_parse(json, len, PACKAGE_DEPTH, &o, why, why_size);
	if (r == 0)
		r = ju_string(o, "format", false, 32, &s, why, why_size);
	if (r < 0)
		return r;
	if (strcmp(s, "mcim-package") && strcmp(s, "mcim-update"))
		return WHY("format \"%s\" is not mcim-package or mcim-update", s);
	*ret_update = !strcmp(s, "mcim-update");
	return 0;
}

/* ---- policy ---- */

int package_policy_ref(const char *device_id, TPM2B_NONCE *ret)
{
	static const char label[] = "mcim-policy-ref/1";
	uint8_t id[32];
	struct tpm2_buf parts[] = { { label, sizeof(label) - 1 }, { id, sizeof(id) } };

	if (!device_id || !device_id_ok(device_id) || hex_decode(device_id, id, sizeof(id)) != 32)
		return -EINVAL;
	ret->size = 32;
	return tpm2_hashv(TPM2_ALG_SHA256, parts, ARRAY_SIZE(parts), ret->buffer);
}

void package_pcr_selection(uint32_t mask, TPML_PCR_SELECTION *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->count = 1;
	ret->pcrSelections[0].hash = TPM2_ALG_SHA256;
	ret->pcrSelections[0].sizeofSelect = 3;
	for (unsigned i = 0; i < 24; i++)
		if (mask & (1u << i))
			ret->pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
}

int package_policy_digests(const struct package_policy *p, TPM2B_DIGEST *ret_approved,
			   TPM2B_DIGEST *ret_auth)
{
	struct tpm2_policy pol;
	int r = 0;

	if (ret_approved) {
		TPML_PCR_SELECTION sel;

		package_pcr_selection(p->pcr_mask, &sel);
		r = tpm2_policy_init(&pol, TPM2_ALG_SHA256);
		if (r == 0)
			r = tpm2_policy_pcr(&pol, &sel, &p->pcr_digest);
		if (r == 0)
			*ret_approved = pol.digest;
	}
	if (r == 0 && ret_auth) {
		TPM2B_NAME name;

		r = tpm2_public_name(&p->key.publicArea, &name);
		if (r == 0)
			r = tpm2_policy_init(&pol, TPM2_ALG_SHA256);
		if (r == 0)
			r = tpm2_policy_authorize(&pol, &name, p->ref.buffer, p->ref.size);
		if (r == 0)
			*ret_auth = pol.digest;
	}
	return r;
}

static int policy_ahash(const struct package_policy *p, TPM2B_DIGEST *ret)
{
	TPM2B_DIGEST approved;
	int r = package_policy_digests(p, &approved, NULL);

	return r < 0 ? r :
		       tpm2_policy_authorize_ahash(TPM2_ALG_SHA256, &approved, p->ref.buffer,
						   p->ref.size, ret);
}

int package_policy_sign(struct package_policy *p, EVP_PKEY *key)
{
	TPM2B_DIGEST ahash;
	int r;

	r = tpm2_public_from_evp(key, TPM2_ALG_SHA256,
				 TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH,
				 &p->key.publicArea);
	if (r < 0)
		return r;
	p->key.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p->key.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	r = policy_ahash(p, &ahash);
	if (r < 0)
		return r;
	return tpm2_signature_make(key, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, ahash.buffer, ahash.size,
				   &p->signature);
}

int package_policy_verify(const struct package_policy *p)
{
	TPM2B_DIGEST ahash;
	int r;

	if (p->key.publicArea.type != TPM2_ALG_ECC ||
	    p->key.publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	    p->signature.sigAlg != TPM2_ALG_ECDSA ||
	    p->signature.signature.ecdsa.hash != TPM2_ALG_SHA256)
		return -EINVAL;
	r = policy_ahash(p, &ahash);
	return r < 0 ? r :
		       tpm2_signature_verify(&p->key.publicArea, ahash.buffer, ahash.size,
					     &p->signature);
}

/* ---- envelope ---- */

static ASN1_OBJECT *oid(const char *txt)
{
	return OBJ_txt2obj(txt, 1);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CMS_ContentInfo *, CMS_ContentInfo_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_OBJECT *, ASN1_OBJECT_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)

static const char *const type_oids[] = { [PACKAGE_TYPE_PACKAGE] = PACKAGE_OID_CONTENT,
					 [PACKAGE_TYPE_CONSENT] = PACKAGE_OID_CONSENT,
					 [PACKAGE_TYPE_RELEASE] = PACKAGE_OID_RELEASE };
static const char *const type_names[] = { [PACKAGE_TYPE_PACKAGE] = "id-mcim-package",
					  [PACKAGE_TYPE_CONSENT] = "id-mcim-consent",
					  [PACKAGE_TYPE_RELEASE] = "id-mcim-release" };

static size_t type_max(enum package_type type)
{
	return type == PACKAGE_TYPE_PACKAGE ? PACKAGE_MAX : PACKAGE_TOKEN_MAX;
}

int package_sign_type(enum package_type type, const uint8_t *content, size_t len, EVP_PKEY *key,
		      X509 *cert, STACK_OF(X509) *chain, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	_cleanup_(BIO_freep) BIO *in = NULL;
	_cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *oid_type = NULL;
	unsigned char *der = NULL;
	int n;

	if ((unsigned)type >= ARRAY_SIZE(type_oids))
		return -EINVAL;
	if (len > PACKAGE_CONTENT_MAX)
		return -EMSGSIZE;
	oid_type = oid(type_oids[type]);
	in = BIO_new_mem_buf(content, (int)len);
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	if (!in || !cms || !oid_type || !CMS_set1_eContentType(cms, oid_type) ||
	    !CMS_add1_signer(cms, cert, key, EVP_sha256(), CMS_BINARY | CMS_NOSMIMECAP))
		return -EIO;
	for (int i = 0; chain && i < sk_X509_num(chain); i++)
		if (!CMS_add1_cert(cms, sk_X509_value(chain, i)))
			return -EIO;
	if (!CMS_final(cms, in, NULL, CMS_BINARY))
		return -EIO;
	n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0)
		return -EIO;
	if ((size_t)n > type_max(type)) {
		OPENSSL_free(der);
		return -EMSGSIZE;
	}
	*ret = malloc((size_t)n);
	if (*ret)
		memcpy(*ret, der, (size_t)n);
	OPENSSL_free(der);
	*ret_len = (size_t)n;
	return *ret ? 0 : -ENOMEM;
}

int package_sign(const uint8_t *content, size_t len, EVP_PKEY *key, X509 *cert,
		 STACK_OF(X509) *chain, uint8_t **ret, size_t *ret_len)
{
	return package_sign_type(PACKAGE_TYPE_PACKAGE, content, len, key, cert, chain, ret,
				 ret_len);
}

/*
 * The key re-encoded (i2d_PUBKEY), not the certificate's bytes: another
 * encoding of the same key (a BIT STRING's unused-bits octet, say) gets
 * the same id.
 */
int package_key_id(X509 *cert, char ret[65])
{
	EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;
	unsigned char *der = NULL, md[32];
	int n = key ? i2d_PUBKEY(key, &der) : -1;
	bool ok = n > 0 && EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL);

	OPENSSL_free(der);
	if (!ok)
		return -EIO;
	hex_encode(md, sizeof(md), ret);
	return 0;
}

/* One DER header at *p (of at most left bytes): its tag and content length. */
static bool der_next(const unsigned char **p, long *left, int want_tag, int want_class, long *ret_len)
{
	const unsigned char *start = *p;
	int tag, cls;

	if (ASN1_get_object(p, ret_len, &tag, &cls, *left) & 0x80 || tag != want_tag ||
	    cls != want_class)
		return false;
	*left -= (long)(*p - start);
	return *ret_len <= *left;
}

/* An INTEGER's value at *p, moving past it. */
static bool der_small_int(const unsigned char **p, long *left, long *ret)
{
	const unsigned char *start = *p;
	ASN1_INTEGER *v = d2i_ASN1_INTEGER(NULL, p, *left);

	if (!v)
		return false;
	*left -= (long)(*p - start);
	*ret = ASN1_INTEGER_get(v);
	ASN1_INTEGER_free(v);
	return true;
}

/*
 * The versions no signature covers (RFC 5652): the SignedData's is 3 for an
 * eContentType other than id-data (5.1), the SignerInfo's 1 for the
 * issuerAndSerialNumber identifier our signer uses (5.3).  Walked with the
 * DER reader: ContentInfo SEQUENCE { OID, [0] { SEQUENCE { version,
 * digestAlgorithms, encapContentInfo, [0] certificates, [1] crls,
 * signerInfos SET { SEQUENCE { version, ... } } } } }.
 */
static bool versions_ok(const uint8_t *der, size_t len)
{
	const unsigned char *p = der, *end;
	long left = (long)len, n, version;

	if (!der_next(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &n) ||
	    !der_next(&p, &left, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, &n))
		return false;
	p += n;
	left -= n;
	if (!der_next(&p, &left, 0, V_ASN1_CONTEXT_SPECIFIC, &n) ||
	    !der_next(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &n))
		return false;
	end = p + n;
	left = n;
	if (!der_small_int(&p, &left, &version) || version != 3)
		return false;
	/* Skip to the last element, signerInfos. */
	while (p < end) {
		const unsigned char *el = p, *q = p;
		long l2 = left;
		int tag, cls;

		if (ASN1_get_object(&q, &n, &tag, &cls, l2) & 0x80 || n > end - q)
			return false;
		if (q + n == end) {
			p = el;
			break;
		}
		left -= (long)(q + n - p);
		p = q + n;
	}
	return der_next(&p, &left, V_ASN1_SET, V_ASN1_UNIVERSAL, &n) &&
	       der_next(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &n) &&
	       der_small_int(&p, &left, &version) && version == 1;
}

static bool has_eku(X509 *cert, const ASN1_OBJECT *want)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	bool found = false;

	for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku) && !found; i++)
		found = !OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want);
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

void package_opened_free(struct package_opened *o)
{
	if (!o)
		return;
	free(o->content);
	X509_free(o->signer);
	o->content = NULL;
	o->signer = NULL;
}

/*
 * The root the signer chains to (the chain CMS_verify built is not handed
 * out: built again here from the same store and the envelope's
 * certificates).
 */
static int chain_root_id(CMS_ContentInfo *cms, X509_STORE *store, X509 *signer, char ret[65])
{
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *certs = CMS_get1_certs(cms), *chain;
	int r = -EKEYREJECTED;

	if (ctx && X509_STORE_CTX_init(ctx, store, signer, certs) && X509_verify_cert(ctx) == 1 &&
	    (chain = X509_STORE_CTX_get0_chain(ctx)) && sk_X509_num(chain) >= 1)
		r = package_key_id(sk_X509_value(chain, sk_X509_num(chain) - 1), ret);
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return r;
}

int package_open(enum package_type type, const uint8_t *der, size_t len, STACK_OF(X509) *roots,
		 time_t now, struct package_opened *ret, char *why, size_t why_size)
{
	_cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
	_cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
	_cleanup_(BIO_freep) BIO *out = NULL;
	_cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *oid_type = NULL;
	_cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *kp = oid(PACKAGE_OID_KP);
	bool consent = type == PACKAGE_TYPE_CONSENT;
	const char *what = type == PACKAGE_TYPE_PACKAGE ? "package" : consent ? "consent" : "release";
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo *si;
	X509_ALGOR *dig, *sig;
	STACK_OF(X509) *signers;
	const unsigned char *p = der;
	X509_VERIFY_PARAM *param;
	X509 *signer;
	char *data;
	long n;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((unsigned)type >= ARRAY_SIZE(type_oids))
		return -EINVAL;
	if (len > type_max(type))
		return snprintf(why, why_size, "%s over %zu bytes", what, type_max(type)), -EMSGSIZE;
	oid_type = oid(type_oids[type]);
	if (!oid_type || !kp)
		return -EIO;
	/* 1: one DER ContentInfo of type signedData, nothing after it. */
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms || p != der + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		return snprintf(why, why_size, "not a DER CMS SignedData"), -EBADMSG;
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1)
		return snprintf(why, why_size, "%d signers, exactly one expected",
				sk_CMS_SignerInfo_num(sis)), -EBADMSG;
	si = sk_CMS_SignerInfo_value(sis, 0);
	if (CMS_signed_get_attr_count(si) <= 0)
		return snprintf(why, why_size, "the signer has no signed attributes"), -EBADMSG;
	/* ECDSA with SHA-256 (RFC 5753 2.1.1), named exactly so, unsigned as they are. */
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	if (OBJ_obj2nid(dig->algorithm) != NID_sha256 ||
	    OBJ_obj2nid(sig->algorithm) != NID_ecdsa_with_SHA256 ||
	    (sig->parameter && ASN1_TYPE_get(sig->parameter) != V_ASN1_UNDEF))
		return snprintf(why, why_size, "the signature is not ECDSA with SHA-256"), -EBADMSG;
	/* 4 (before handing the content out): the content type. */
	if (OBJ_cmp(CMS_get0_eContentType(cms), oid_type))
		return snprintf(why, why_size, "content type is not %s", type_names[type]), -EPROTO;
	if (!versions_ok(der, len))
		return snprintf(why, why_size, "SignedData or SignerInfo version is not 3 / 1"), -EBADMSG;
	/* 2: the signature and (but for a consent) a chain to a pinned root, at now. */
	store = X509_STORE_new();
	out = BIO_new(BIO_s_mem());
	if (!store || !out)
		return -EIO;
	for (int i = 0; !consent && roots && i < sk_X509_num(roots); i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(roots, i)))
			return -EIO;
	param = X509_STORE_get0_param(store);
	X509_VERIFY_PARAM_set_time(param, now);
	/* The purpose is this file's EKU, checked below, not S/MIME's. */
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
	ERR_clear_error();
	if (CMS_verify(cms, NULL, store, NULL, out,
		       CMS_BINARY | (consent ? CMS_NO_SIGNER_CERT_VERIFY : 0)) != 1) {
		unsigned long e = ERR_peek_last_error();
		bool chain = ERR_GET_REASON(e) == CMS_R_CERTIFICATE_VERIFY_ERROR;

		snprintf(why, why_size, "%s: %s",
			 chain ? "the signer does not chain to a trusted operator root" :
				 "the signature does not verify",
			 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "?");
		ERR_clear_error();
		return chain ? -EKEYREJECTED : -EBADMSG;
	}
	/* 3: the signer may sign packages (and releases). */
	signers = CMS_get0_signers(cms);
	signer = signers && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
	if (signer)
		X509_up_ref(signer);
	sk_X509_free(signers);
	ret->signer = signer;
	if (!signer)
		return snprintf(why, why_size, "no signer certificate"), -EBADMSG;
	if (!consent && (!has_eku(signer, kp) || !(X509_get_extension_flags(signer) & EXFLAG_KUSAGE) ||
			 !(X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE))) {
		package_opened_free(ret);
		return snprintf(why, why_size, "the signer certificate lacks the package-signing "
				"extended key usage or digitalSignature"), -EPERM;
	}
	r = package_key_id(signer, ret->signer_key_id);
	if (r == 0 && !consent)
		r = chain_root_id(cms, store, signer, ret->root_id);
	n = BIO_get_mem_data(out, &data);
	if (r == 0 && (n < 0 || (size_t)n > PACKAGE_CONTENT_MAX)) {
		snprintf(why, why_size, "content over %u bytes", PACKAGE_CONTENT_MAX);
		r = -EMSGSIZE;
	}
	if (r == 0 && !(ret->content = malloc((size_t)n + 1)))
		r = -ENOMEM;
	if (r < 0) {
		package_opened_free(ret);
		return r;
	}
	memcpy(ret->content, data, (size_t)n);
	ret->content[n] = 0;
	ret->content_len = (size_t)n;
	return 0;
}

int package_verify(const uint8_t *der, size_t len, X509 *root, time_t now, uint8_t **ret,
		   size_t *ret_len, X509 **ret_signer, char *why, size_t why_size)
{
	STACK_OF(X509) *roots = sk_X509_new_null();
	struct package_opened o;
	int r;

	*ret = NULL;
	if (!roots || !sk_X509_push(roots, root)) {
		sk_X509_free(roots);
		return -ENOMEM;
	}
	r = package_open(PACKAGE_TYPE_PACKAGE, der, len, roots, now, &o, why, why_size);
	sk_X509_free(roots);
	if (r < 0)
		return r;
	*ret = o.content;
	*ret_len = o.content_len;
	if (ret_signer)
		*ret_signer = o.signer;
	else
		X509_free(o.signer);
	return 0;
}

/* ---- consent and release (docs/change-format.md 2) ---- */

static const char *token_format(enum package_type type)
{
	return type == PACKAGE_TYPE_CONSENT ? "mcim-consent" : "mcim-release";
}

static bool token_type_ok(enum package_type type)
{
	return type == PACKAGE_TYPE_CONSENT || type == PACKAGE_TYPE_RELEASE;
}

int package_token_build(const struct package_token *t, char **ret, size_t *ret_len)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	if (!token_type_ok(t->type) || !all_of(t->id, "0123456789abcdef", 32, 32) ||
	    !device_id_ok(t->device) || !device_id_ok(t->to_sho) ||
	    !all_of(t->iccid, "0123456789", 18, 20))
		return -EINVAL;
	r = add_str(o, "format", token_format(t->type));
	if (r == 0)
		r = add_int(o, "version", 1);
	if (r == 0)
		r = add_str(o, "id", t->id);
	if (r == 0)
		r = add_str(o, "device", t->device);
	if (r == 0)
		r = add_str(o, "iccid", t->iccid);
	if (r == 0)
		r = add_str(o, "to_sho", t->to_sho);
	if (r == 0)
		r = add_int(o, "issued", t->issued);
	if (r == 0)
		r = add_int(o, "expires", t->expires);
	return r < 0 ? r : to_text(o, ret, ret_len);
}

int package_token_parse(enum package_type type, const char *json, size_t len,
			struct package_token *ret, char *why, size_t why_size)
{
	static const char *const members[] = { "format", "version", "id", "device", "iccid",
					       "to_sho", "issued", "expires", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	const char *s;
	int64_t version;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!token_type_ok(type))
		return -EINVAL;
	ret->type = type;
	if (len > PACKAGE_TOKEN_MAX)
		return snprintf(why, why_size, "content over %u bytes", PACKAGE_TOKEN_MAX), -EMSGSIZE;
	r = ju_parse(json, len, 2, &o, why, why_size);
	if (r == 0)
		r = ju_only(o, token_format(type), members, why, why_size);
	if (r == 0)
		r = ju_string(o, "format", false, 32, &s, why, why_size);
	if (r == 0 && strcmp(s, token_format(type)))
		r = WHY("format \"%s\" is not %s", s, token_format(type));
	if (r == 0)
		r = ju_int(o, "version", false, 1, 1, &version, why, why_size);
	if (r == 0)
		r = get_str(o, "id", ret->id, sizeof(ret->id), why, why_size);
	if (r == 0 && !all_of(ret->id, "0123456789abcdef", 32, 32))
		r = WHY("id: 32 lowercase hex digits expected");
	if (r == 0)
		r = get_str(o, "device", ret->device, sizeof(ret->device), why, why_size);
	if (r == 0 && !device_id_ok(ret->device))
		r = WHY("device: 64 lowercase hex digits expected");
	if (r == 0)
		r = get_str(o, "iccid", ret->iccid, sizeof(ret->iccid), why, why_size);
	if (r == 0 && !all_of(ret->iccid, "0123456789", 18, 20))
		r = WHY("iccid: 18 to 20 digits expected");
	if (r == 0)
		r = get_str(o, "to_sho", ret->to_sho, sizeof(ret->to_sho), why, why_size);
	if (r == 0 && !device_id_ok(ret->to_sho))
		r = WHY("to_sho: 64 lowercase hex digits expected");
	if (r == 0)
		r = ju_int(o, "issued", false, 0, INT64_MAX, &ret->issued, why, why_size);
	if (r == 0)
		r = ju_int(o, "expires", false, 0, INT64_MAX, &ret->expires, why, why_size);
	if (r == 0 && ret->expires <= ret->issued)
		r = WHY("expires is not after issued");
	return r;
}

int package_token_check(const struct package_token *t, const char *device, const char *iccid,
			const char *to_sho, time_t now, char *why, size_t why_size)
{
	const char *what = t->type == PACKAGE_TYPE_CONSENT ? "consent" : "release";

	if (device && strcmp(t->device, device))
		return snprintf(why, why_size, "%s for another device", what), -EPERM;
	if (iccid && strcmp(t->iccid, iccid))
		return snprintf(why, why_size, "%s for another subscription (%s)", what, t->iccid),
		       -EPERM;
	if (to_sho && strcmp(t->to_sho, to_sho))
		return snprintf(why, why_size, "%s for another operator", what), -EPERM;
	if (t->expires - t->issued > PACKAGE_TOKEN_LIFETIME_MAX)
		return snprintf(why, why_size, "%s valid for more than %d days", what,
				PACKAGE_TOKEN_LIFETIME_MAX / 86400), -ETIME;
	if (t->issued > (int64_t)now + PACKAGE_CLOCK_SKEW)
		return snprintf(why, why_size, "%s issued in the future", what), -ETIME;
	if ((int64_t)now >= t->expires)
		return snprintf(why, why_size, "%s expired", what), -ETIME;
	return 0;
}

int package_token_open(enum package_type type, const uint8_t *der, size_t len,
		       STACK_OF(X509) *roots, time_t now, struct package_token *ret,
		       char ret_key_id[65], char *why, size_t why_size)
{
	struct package_opened o;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!token_type_ok(type))
		return -EINVAL;
	r = package_open(type, der, len, roots, now, &o, why, why_size);
	if (r < 0)
		return r;
	r = package_token_parse(type, (const char *)o.content, o.content_len, ret, why, why_size);
	if (r == 0 && ret_key_id)
		memcpy(ret_key_id, type == PACKAGE_TYPE_CONSENT ? o.signer_key_id : o.root_id, 65);
	package_opened_free(&o);
	return r;
}

/* ---- messages ---- */

void package_request_free(struct package_request *r)
{
	if (!r)
		return;
	free(r->ticket);
	free(r->consent);
	free(r->release);
	r->ticket = NULL;
	r->consent = r->release = NULL;
}

int package_request_build(const struct package_request *r, char **ret, size_t *ret_len)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int e;

	if (!o)
		return -ENOMEM;
	e = add_str(o, "ticket", r->ticket ? r->ticket : "");
	if (e == 0)
		e = add_hex(o, "nonce", r->nonce, sizeof(r->nonce));
	if (e == 0)
		e = ADD_MU(o, "ak", TPM2B_PUBLIC, &r->ak);
	if (e == 0)
		e = ADD_MU(o, "srk", TPM2B_PUBLIC, &r->srk);
	if (e == 0)
		e = add_str(o, "key_form", package_form_name(r->key_form));
	if (e == 0 && r->has_switch) {
		struct json_object *v;

		if (!r->consent)
			return -EINVAL;
		e = add(o, "switch", v = json_object_new_object());
		if (e == 0)
			e = add_str(v, "iccid", r->switch_iccid);
		if (e == 0)
			e = add_b64(v, "consent", r->consent, r->consent_len);
		if (e == 0)
			e = r->release ? add_b64(v, "release", r->release, r->release_len) :
					 add_null(v, "release");
	}
	return e < 0 ? e : to_text(o, ret, ret_len);
}

/* change-format.md 4: the download request's optional member "switch". */
static int parse_request_switch(struct json_object *o, struct package_request *ret, char *why,
				size_t why_size)
{
	static const char *const members[] = { "iccid", "consent", "release", NULL };
	struct json_object *v, *rel;
	int r;

	if (!json_object_object_get_ex(o, "switch", &v))
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return WHY("member \"switch\" must be an object");
	ret->has_switch = true;
	r = ju_only(v, "switch", members, why, why_size);
	if (r == 0)
		r = get_str(v, "iccid", ret->switch_iccid, sizeof(ret->switch_iccid), why, why_size);
	if (r == 0 && !all_of(ret->switch_iccid, "0123456789", 18, 20))
		r = WHY("switch.iccid: 18 to 20 digits expected");
	if (r == 0)
		r = ju_base64(v, "consent", false, PACKAGE_TOKEN_MAX, &ret->consent,
			      &ret->consent_len, why, why_size);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(v, "release", &rel))
		return WHY("member \"switch.release\" is missing (null or base64)");
	return rel ? ju_base64(v, "release", false, PACKAGE_TOKEN_MAX, &ret->release,
			       &ret->release_len, why, why_size) : 0;
}

int package_request_parse(const char *json, size_t len, struct package_request *ret, char *why,
			  size_t why_size)
{
	static const char *const members[] = { "ticket", "nonce", "ak", "srk", "key_form",
					       "switch", NULL };
	_cleanup_json_ struct json_object *o = NULL;
	const char *s;
	size_t n = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > PACKAGE_MESSAGE_MAX)
		return snprintf(why, why_size, "request over %u bytes", PACKAGE_MESSAGE_MAX),
		       -EMSGSIZE;
	r = ju_parse(json, len, 4, &o, why, why_size);
	if (r == 0)
		r = ju_only(o, "request", members, why, why_size);
	if (r == 0)
		r = parse_request_switch(o, ret, why, why_size);
	if (r == 0)
		r = ju_string(o, "ticket", false, PACKAGE_TICKET_MAX, &s, why, why_size);
	if (r == 0 && !(ret->ticket = strdup(s)))
		r = -ENOMEM;
	if (r == 0)
		r = ju_hex(o, "nonce", ret->nonce, sizeof(ret->nonce), true, &n, why, why_size);
	if (r == 0)
		r = GET_MU(o, "ak", TPM2B_PUBLIC, &ret->ak, MU_MAX);
	if (r == 0)
		r = GET_MU(o, "srk", TPM2B_PUBLIC, &ret->srk, MU_MAX);
	if (r == 0)
		r = ju_string(o, "key_form", false, 16, &s, why, why_size);
	if (r == 0 && package_form_from_name(s, &ret->key_form) < 0)
		r = WHY("key_form \"%s\" is not aes or sealed", s);
	if (r < 0)
		package_request_free(ret);
	return r;
}

static const char *const result_names[] = { [PACKAGE_RESULT_INSTALLED] = "installed",
					    [PACKAGE_RESULT_SWITCHED] = "switched",
					    [PACKAGE_RESULT_FALLBACK] = "fallback",
					    [PACKAGE_RESULT_UPDATED] = "updated",
					    [PACKAGE_RESULT_REVOKED] = "revoked" };
static const char *const report_formats[] = { [PACKAGE_RECEIPT] = "mcim-receipt",
					      [PACKAGE_TAMPER] = "mcim-tamper",
					      [PACKAGE_RELEASE_REPORT] = "mcim-release-report" };

const char *package_result_name(enum package_result r)
{
	return (unsigned)r < ARRAY_SIZE(result_names) ? result_names[r] : "?";
}

/*
 * The members of each report (section 4, change-format.md 4): a receipt has
 * iccid, sequence, result (and reason with result fallback); a tamper
 * report reason and at; a release report iccid, result (switched or
 * fallback), reason and at.
 */
int package_report_build(const struct package_report *r, char **ret, size_t *ret_len)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	bool receipt = r->kind == PACKAGE_RECEIPT, tamper = r->kind == PACKAGE_TAMPER;
	int e;

	if (!o)
		return -ENOMEM;
	if ((unsigned)r->kind >= ARRAY_SIZE(report_formats) ||
	    (unsigned)r->result >= ARRAY_SIZE(result_names) ||
	    (r->kind == PACKAGE_RELEASE_REPORT && r->result != PACKAGE_RESULT_SWITCHED &&
	     r->result != PACKAGE_RESULT_FALLBACK))
		return -EINVAL;
	e = add_str(o, "format", report_formats[r->kind]);
	if (e == 0)
		e = add_int(o, "version", 1);
	if (e == 0)
		e = add_str(o, "device", r->device);
	if (e == 0 && !tamper)
		e = add_str(o, "iccid", r->iccid);
	if (e == 0 && receipt)
		e = add_int(o, "sequence", r->sequence);
	if (e == 0 && !tamper)
		e = add_str(o, "result", result_names[r->result]);
	if (e == 0 && (!receipt || r->result == PACKAGE_RESULT_FALLBACK))
		e = add_str(o, "reason", r->reason);
	if (e == 0 && !receipt)
		e = add_int(o, "at", r->at);
	return e < 0 ? e : to_text(o, ret, ret_len);
}

int package_report_parse(const char *json, size_t len, struct package_report *ret, char *why,
			 size_t why_size)
{
	static const char *const receipt[] = { "format", "version", "device", "iccid",
					       "sequence", "result", "reason", NULL };
	static const char *const tamper[] = { "format", "version", "device", "reason", "at",
					      NULL };
	static const char *const release[] = { "format", "version", "device", "iccid", "result",
					       "reason", "at", NULL };
	static const char *const *const members[] = { [PACKAGE_RECEIPT] = receipt,
						      [PACKAGE_TAMPER] = tamper,
						      [PACKAGE_RELEASE_REPORT] = release };
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v;
	const char *s;
	int64_t version;
	size_t k;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > PACKAGE_MESSAGE_MAX)
		return snprintf(why, why_size, "report over %u bytes", PACKAGE_MESSAGE_MAX),
		       -EMSGSIZE;
	r = ju_parse(json, len, 2, &o, why, why_size);
	if (r == 0)
		r = ju_string(o, "format", false, 32, &s, why, why_size);
	if (r < 0)
		return r;
	for (k = 0; k < ARRAY_SIZE(report_formats) && strcmp(s, report_formats[k]); k++)
		;
	if (k == ARRAY_SIZE(report_formats))
		return WHY("format \"%s\" is not mcim-receipt, mcim-tamper or mcim-release-report",
			   s);
	ret->kind = (enum package_report_kind)k;
	r = ju_only(o, s, members[k], why, why_size);
	if (r == 0)
		r = ju_int(o, "version", false, 1, 1, &version, why, why_size);
	if (r == 0)
		r = get_str(o, "device", ret->device, sizeof(ret->device), why, why_size);
	if (r == 0 && !device_id_ok(ret->device))
		r = WHY("device: 64 lowercase hex digits expected");
	if (r == 0 && ret->kind != PACKAGE_TAMPER) {
		r = get_str(o, "iccid", ret->iccid, sizeof(ret->iccid), why, why_size);
		if (r == 0 && !all_of(ret->iccid, "0123456789", 18, 20))
			r = WHY("iccid: 18 to 20 digits expected");
		if (r == 0)
			r = ju_string(o, "result", false, 16, &s, why, why_size);
		for (k = 0; r == 0 && k < ARRAY_SIZE(result_names) && strcmp(s, result_names[k]); k++)
			;
		if (r == 0 && (k == ARRAY_SIZE(result_names) ||
			       (ret->kind == PACKAGE_RELEASE_REPORT && k != PACKAGE_RESULT_SWITCHED &&
				k != PACKAGE_RESULT_FALLBACK)))
			r = WHY("result \"%s\" is not %s", s,
				ret->kind == PACKAGE_RECEIPT ?
					"installed, switched, fallback, updated or revoked" :
					"switched or fallback");
		ret->result = (enum package_result)k;
	}
	if (r == 0 && ret->kind == PACKAGE_RECEIPT)
		r = ju_int(o, "sequence", false, 1, INT64_MAX, &ret->sequence, why, why_size);
	/* reason: always but in a receipt, there exactly with result fallback */
	if (r == 0 && ret->kind == PACKAGE_RECEIPT &&
	    json_object_object_get_ex(o, "reason", &v) != (ret->result == PACKAGE_RESULT_FALLBACK))
		r = WHY("a receipt has a reason exactly when its result is fallback");
	if (r == 0 && (ret->kind != PACKAGE_RECEIPT || ret->result == PACKAGE_RESULT_FALLBACK))
		r = get_str(o, "reason", ret->reason, sizeof(ret->reason), why, why_size);
	if (r == 0 && ret->kind != PACKAGE_RECEIPT)
		r = ju_int(o, "at", false, 0, INT64_MAX, &ret->at, why, why_size);
	return r;
}

void package_attested_free(struct package_attested *a)
{
	if (!a)
		return;
	free(a->body);
	free(a->quote);
	a->body = a->quote = NULL;
}

static const char *attested_member(enum package_report_kind kind)
{
	return kind == PACKAGE_RECEIPT ? "receipt" : "report"; /* tamper and release reports */
}

int package_attested_build(const struct package_attested *a, enum package_report_kind kind,
			   char **ret, size_t *ret_len)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int e;

	if (!o)
		return -ENOMEM;
	e = add_str(o, "device", a->device);
	if (e == 0)
		e = add_b64(o, attested_member(kind), a->body, a->body_len);
	if (e == 0)
		e = add_b64(o, "quote", a->quote, a->quote_len);
	if (e == 0)
		e = ADD_MU(o, "signature", TPMT_SIGNATURE, &a->signature);
	return e < 0 ? e : to_text(o, ret, ret_len);
}

int package_attested_parse(const char *json, size_t len, enum package_report_kind kind,
			   struct package_attested *ret, char *why, size_t why_size)
{
	const char *const members[] = { "device", attested_member(kind), "quote", "signature",
					NULL };
	_cleanup_json_ struct json_object *o = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > PACKAGE_MESSAGE_MAX)
		return snprintf(why, why_size, "message over %u bytes", PACKAGE_MESSAGE_MAX),
		       -EMSGSIZE;
	r = ju_parse(json, len, 2, &o, why, why_size);
	if (r == 0)
		r = ju_only(o, attested_member(kind), members, why, why_size);
	if (r == 0)
		r = get_str(o, "device", ret->device, sizeof(ret->device), why, why_size);
	if (r == 0 && !device_id_ok(ret->device))
		r = WHY("device: 64 lowercase hex digits expected");
	if (r == 0)
		r = ju_base64(o, attested_member(kind), false, PACKAGE_MESSAGE_MAX / 2, &ret->body,
			      &ret->body_len, why, why_size);
	if (r == 0)
		r = ju_base64(o, "quote", false, MU_MAX, &ret->quote, &ret->quote_len, why,
			      why_size);
	if (r == 0)
		r = GET_MU(o, "signature", TPMT_SIGNATURE, &ret->signature, MU_MAX);
	if (r < 0)
		package_attested_free(ret);
	return r;
}
