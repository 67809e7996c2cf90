// SPDX-License-Identifier: LGPL-2.1-or-later
/* The device model's reference values (model.h): parser and lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tpm2_types.h>

#include "hex.h"
#include "json-util.h"
#include "model.h"

static const char *const mode_names[] = {
	[PVA_MODE_REMOTE] = "remote",
	[PVA_MODE_AUTONOMOUS] = "autonomous",
	[PVA_MODE_SEMI] = "semi-autonomous",
};

const char *pva_mode_name(enum pva_mode m)
{
	return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

int pva_mode_from_name(const char *s, enum pva_mode *ret)
{
	for (unsigned i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (!strcmp(s, mode_names[i])) {
			*ret = (enum pva_mode)i;
			return 0;
		}
	return -EINVAL;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int cmp_ima(const void *a, const void *b)
{
	const struct model_ima *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->alg != y->alg)
		return x->alg < y->alg ? -1 : 1;
	if (x->digest_len != y->digest_len)
		return x->digest_len < y->digest_len ? -1 : 1;
	return memcmp(x->digest, y->digest, x->digest_len);
}

/* "sha256:<hex>" or bare hex (SHA-256); out holds 64 bytes. */
static int parse_digest(const char *s, uint16_t *ret_alg, uint8_t out[64], uint16_t *ret_len)
{
	static const struct {
		const char *prefix;
		uint16_t alg, len;
	} algs[] = { { "sha1:", TPM2_ALG_SHA1, 20 },
		     { "sha256:", TPM2_ALG_SHA256, 32 },
		     { "sha384:", TPM2_ALG_SHA384, 48 },
		     { "sha512:", TPM2_ALG_SHA512, 64 } };
	uint16_t alg = TPM2_ALG_SHA256, len = 32;
	int n;

	for (unsigned i = 0; i < ARRAY_SIZE(algs); i++)
		if (!strncmp(s, algs[i].prefix, strlen(algs[i].prefix))) {
			s += strlen(algs[i].prefix);
			alg = algs[i].alg;
			len = algs[i].len;
			break;
		}
	if (strspn(s, "0123456789abcdef") != strlen(s))
		return -EINVAL;
	n = hex_decode(s, out, 64);
	if (n != len)
		return -EINVAL;
	*ret_alg = alg;
	*ret_len = len;
	return 0;
}

/* "pcrs" or "key_pcrs" (name) into *mask. */
static int parse_pcrs(struct json_object *a, const char *name, uint32_t *mask, char *why,
		      size_t why_size)
{
	size_t n = json_object_array_length(a);

	if (!n || n > MODEL_PCRS) {
		snprintf(why, why_size, "\"%s\" must list 1 to %d PCRs", name, MODEL_PCRS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		int64_t p;

		if (!json_object_is_type(v, json_type_int) ||
		    (p = json_object_get_int64(v)) < 0 || p >= MODEL_PCRS) {
			snprintf(why, why_size, "\"%s\"[%zu]: not a PCR number 0-%d", name, i,
				 MODEL_PCRS - 1);
			return -EINVAL;
		}
		if (*mask & (1u << p)) {
			snprintf(why, why_size, "\"%s\": PCR %d listed twice", name, (int)p);
			return -EINVAL;
		}
		*mask |= 1u << p;
	}
	return 0;
}

static int parse_reference(struct json_object *o, struct op_model *m, char *why, size_t why_size)
{
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, why_size, "\"reference\" must be an object");
		return -EINVAL;
	}
	json_object_object_foreach(o, key, val) {
		char *end;
		long p = strtol(key, &end, 10);

		if (*end || end == key || p < 0 || p >= MODEL_PCRS || key[0] == '+' ||
		    (key[0] == '0' && key[1])) {
			snprintf(why, why_size, "\"reference\": \"%.16s\" is not a PCR number", key);
			return -EINVAL;
		}
		if (!json_object_is_type(val, json_type_string) ||
		    json_object_get_string_len(val) != 64 ||
		    strspn(json_object_get_string(val), "0123456789abcdef") != 64 ||
		    hex_decode(json_object_get_string(val), m->ref[p], 32) != 32) {
			snprintf(why, why_size,
				 "\"reference\".\"%ld\": must be 64 lowercase hex digits (SHA-256)", p);
			return -EINVAL;
		}
		m->ref_mask |= 1u << p;
	}
	return 0;
}

static int parse_fw(struct json_object *a, struct op_model *m, char *why, size_t why_size)
{
	size_t n = json_object_array_length(a);

	if (n > MODEL_FW_MAX) {
		snprintf(why, why_size, "\"firmware_allow\": more than %u entries", MODEL_FW_MAX);
		return -EINVAL;
	}
	m->has_fw_allow = true;
	m->fw = calloc(n ? n : 1, 32);
	if (!m->fw)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		uint8_t d[64];
		uint16_t alg, len;

		if (!json_object_is_type(v, json_type_string) ||
		    parse_digest(json_object_get_string(v), &alg, d, &len) < 0 ||
		    alg != TPM2_ALG_SHA256) {
			snprintf(why, why_size, "\"firmware_allow\"[%zu]: not a SHA-256 digest in hex",
				 i);
			return -EINVAL;
		}
		memcpy(m->fw[i], d, 32);
	}
	m->nfw = n;
	qsort(m->fw, n, 32, cmp32);
	return 0;
}

static int parse_ima(struct json_object *a, struct op_model *m, char *why, size_t why_size)
{
	static const char *const members[] = { "path", "digest", NULL };
	size_t n = json_object_array_length(a);
	int r;

	if (n > MODEL_IMA_MAX) {
		snprintf(why, why_size, "\"ima_allow\": more than %u entries", MODEL_IMA_MAX);
		return -EINVAL;
	}
	m->has_ima_allow = true;
	m->ima = calloc(n ? n : 1, sizeof(*m->ima));
	if (!m->ima)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		const char *path, *digest;
		char w[160];

		r = ju_only(v, "\"ima_allow\" entry", members, w, sizeof(w));
		if (r == 0)
			r = ju_string(v, "path", false, MODEL_PATH_MAX, &path, w, sizeof(w));
		if (r == 0)
			r = ju_string(v, "digest", false, 8 + 128, &digest, w, sizeof(w));
		if (r == 0 && parse_digest(digest, &m->ima[i].alg, m->ima[i].digest,
					   &m->ima[i].digest_len) < 0) {
			snprintf(w, sizeof(w), "bad digest (\"sha256:<hex>\")");
			r = -EINVAL;
		}
		if (r < 0) {
			snprintf(why, why_size, "\"ima_allow\"[%zu]: %s", i, w);
			m->nima = i;
			return r;
		}
		m->ima[i].path = strdup(path);
		m->nima = i + 1;
		if (!m->ima[i].path)
			return -ENOMEM;
	}
	qsort(m->ima, n, sizeof(*m->ima), cmp_ima);
	return 0;
}

static int check_coverage(const struct op_model *m, char *why, size_t why_size)
{
	for (unsigned p = 0; p < MODEL_PCRS; p++) {
		bool covered;

		if (!(m->pcr_mask & (1u << p)))
			continue;
		if (m->mode == PVA_MODE_AUTONOMOUS)
			covered = m->ref_mask & (1u << p);
		else if (m->mode == PVA_MODE_SEMI)
			covered = true; /* the device's own check, its summary */
		else
			covered = (m->ref_mask & (1u << p)) || (p <= 7 && m->has_fw_allow) ||
				  (p == 10 && m->has_ima_allow);
		if (!covered) {
			snprintf(why, why_size,
				 "PCR %u is selected but nothing checks it: give a reference value%s",
				 p,
				 m->mode == PVA_MODE_AUTONOMOUS ? " (autonomous mode needs one per PCR)"
				 : p <= 7			? " or firmware_allow"
				 : p == 10			? " or ima_allow"
								: "");
			return -EINVAL;
		}
	}
	if (m->ref_mask & ~m->pcr_mask) {
		snprintf(why, why_size, "a reference value is given for a PCR not in \"pcrs\"");
		return -EINVAL;
	}
	return 0;
}

int model_parse(const char *json, size_t len, struct op_model *ret, char *why, size_t why_size)
{
	static const char *const members[] = { "model",	    "version",	      "mode",
					       "pcrs",	    "reference",      "firmware_allow",
					       "ima_allow", "description",    "key_pcrs",
					       NULL };
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v;
	struct op_model m = { 0 };
	const char *name, *mode = NULL, *desc;
	int64_t version;
	int r;

	if (len > MODEL_BODY_MAX) {
		snprintf(why, why_size, "model document larger than %u bytes", MODEL_BODY_MAX);
		return -EINVAL;
	}
	r = ju_parse(json, len, 8, &o, why, why_size);
	if (r == 0)
		r = ju_only(o, "model", members, why, why_size);
	if (r == 0)
		r = ju_string(o, "model", false, MODEL_NAME_MAX, &name, why, why_size);
	if (r == 0 && !*name) {
		snprintf(why, why_size, "\"model\" is empty");
		r = -EINVAL;
	}
	if (r == 0)
		r = ju_int(o, "version", false, 1, INT32_MAX, &version, why, why_size);
	if (r == 0)
		r = ju_string(o, "mode", true, 32, &mode, why, why_size);
	if (r == 0)
		r = ju_string(o, "description", true, 1024, &desc, why, why_size);
	if (r < 0)
		return r;
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.version = version;
	if (mode && pva_mode_from_name(mode, &m.mode) < 0) {
		snprintf(why, why_size,
			 "\"mode\": \"%.32s\" is not remote, autonomous or semi-autonomous", mode);
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, "pcrs", &v) || !json_object_is_type(v, json_type_array)) {
		snprintf(why, why_size, "\"pcrs\" must be an array of PCR numbers");
		return -EINVAL;
	}
	r = parse_pcrs(v, "pcrs", &m.pcr_mask, why, why_size);
	if (r == 0 && json_object_object_get_ex(o, "key_pcrs", &v)) {
		if (!json_object_is_type(v, json_type_array)) {
			snprintf(why, why_size, "\"key_pcrs\" must be an array of PCR numbers");
			r = -EINVAL;
		} else {
			r = parse_pcrs(v, "key_pcrs", &m.key_pcr_mask, why, why_size);
		}
		if (r == 0 && (m.key_pcr_mask & ~m.pcr_mask)) {
			snprintf(why, why_size, "\"key_pcrs\" lists a PCR that is not in \"pcrs\"");
			r = -EINVAL;
		}
		/* PCR 10 changes with every measured program: keys bound to it
		 * would stop working at the next program run. */
		if (r == 0 && (m.key_pcr_mask & (1u << 10))) {
			snprintf(why, why_size, "\"key_pcrs\" may not hold PCR 10 (IMA)");
			r = -EINVAL;
		}
	} else if (r == 0) {
		m.key_pcr_mask = m.pcr_mask & ~(1u << 10);
		if (!m.key_pcr_mask) {
			snprintf(why, why_size,
				 "\"pcrs\" holds only PCR 10: give \"key_pcrs\" without it");
			r = -EINVAL;
		}
	}
	if (r == 0 && json_object_object_get_ex(o, "reference", &v))
		r = parse_reference(v, &m, why, why_size);
	if (r == 0 && json_object_object_get_ex(o, "firmware_allow", &v)) {
		if (!json_object_is_type(v, json_type_array)) {
			snprintf(why, why_size, "\"firmware_allow\" must be an array");
			r = -EINVAL;
		} else {
			r = parse_fw(v, &m, why, why_size);
		}
	}
	if (r == 0 && json_object_object_get_ex(o, "ima_allow", &v)) {
		if (!json_object_is_type(v, json_type_array)) {
			snprintf(why, why_size, "\"ima_allow\" must be an array");
			r = -EINVAL;
		} else {
			r = parse_ima(v, &m, why, why_size);
		}
	}
	if (r == 0)
		r = check_coverage(&m, why, why_size);
	if (r < 0) {
		model_free(&m);
		return r;
	}
	*ret = m;
	return 0;
}

void model_free(struct op_model *m)
{
	for (size_t i = 0; i < m->nima; i++)
		free(m->ima[i].path);
	free(m->ima);
	free(m->fw);
	m->ima = NULL;
	m->fw = NULL;
	m->nima = m->nfw = 0;
}

bool model_fw_allowed(const struct op_model *m, const uint8_t digest[32])
{
	return m->nfw && bsearch(digest, m->fw, m->nfw, 32, cmp32);
}

bool model_ima_allowed(const struct op_model *m, const char *path, uint16_t alg,
		       const uint8_t *digest, size_t len)
{
	struct model_ima key = { .path = (char *)path, .alg = alg, .digest_len = (uint16_t)len };

	if (len > sizeof(key.digest) || !m->nima)
		return false;
	memcpy(key.digest, digest, len);
	return bsearch(&key, m->ima, m->nima, sizeof(*m->ima), cmp_ima);
}
