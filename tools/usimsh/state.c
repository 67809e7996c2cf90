// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * usimsh --state FILE: the card's persistent state between runs, kept the
 * way the daemon's store keeps it: the engine's change records say what
 * changed (EF bytes, PIN counters and values, the SQN array), and what they
 * name is written out after every command that changed something.
 *
 * File format (JSON):
 *   { "format": "mcim-usimsh-state", "version": 1,
 *     "profile_sha256": "<hex of the profile text's SHA-256>",
 *     "files": { "3F00/ADF:<AID>/6F7E": "<whole EF body, hex>", ... },
 *     "lcs": { "3F00/7F10/6F3C": 4, ... },     (life cycle status byte)
 *     "pins": { "01": { "value": "<8 bytes hex>", "enabled": true,
 *                       "use_upin": false, "tries_left": 3,
 *                       "puk_tries_left": 10 }, ... },
 *     "seq_ms": [ SEQ_MS(0), SEQ_MS(1), ... ] }      (2^ind_bits values)
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "hex.h"
#include "fileio.h"
#include "macro.h"
#include "usimsh.h"

#define STATE_FORMAT "mcim-usimsh-state"
#define STATE_MAX_TEXT (64u << 20)

struct state {
	char *path;
	struct usim_profile *p;
	char sha_hex[65];
	bool *file_kept; /* n_files entries: EF body */
	bool *lcs_kept;  /* n_files entries: life cycle status */
	bool pin_kept[USIM_MAX_PINS];
	bool sqn_kept;
};

static void json_object_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

_printf_(3, 4) static int why_set(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why && size) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * State keys name a file by its path of FIDs from 3F00, except that an ADF
 * (whose FID is always 7FFF) is written "ADF:" and its AID in hex, so that
 * files of several applications stay apart.
 */
#define STATE_KEY_MAX (USIM_MAX_DEPTH * (4 + 2 * USIM_AID_MAX + 1) + 1)

static void state_key(const struct usim_profile *p, int index, char *buf,
		      size_t size)
{
	int chain[USIM_MAX_DEPTH + 1], n = 0;
	size_t off = 0;

	for (int i = index; i >= 0 && n < (int)ARRAY_SIZE(chain);
	     i = p->files[i].parent)
		chain[n++] = i;
	buf[0] = '\0';
	while (n-- > 0) {
		const struct usim_file *f = &p->files[chain[n]];
		char aid[2 * USIM_AID_MAX + 1];

		if (off + 6 + 2 * USIM_AID_MAX >= size)
			break;
		if (f->kind == USIM_FILE_ADF) {
			hex_encode(f->aid, f->aid_len, aid);
			off += (size_t)snprintf(buf + off, size - off, "/ADF:%s", aid);
		} else {
			off += (size_t)snprintf(buf + off, size - off, "%s%04X",
						off ? "/" : "", f->fid);
		}
	}
}

int profile_lookup(const struct usim_profile *p, const char *path)
{
	char key[STATE_KEY_MAX];

	for (size_t i = 0; i < p->n_files; i++) {
		state_key(p, (int)i, key, sizeof(key));
		if (!strcasecmp(key, path))
			return (int)i;
	}
	return -ENOENT;
}

static int apply_files(struct state *s, json_object *files, char *why,
		       size_t why_size)
{
	if (!json_object_is_type(files, json_type_object))
		return why_set(why, why_size, "files: must be an object");
	json_object_object_foreach(files, key, val)
	{
		int idx = profile_lookup(s->p, key);
		struct usim_file *f;
		const char *hex;
		int n;

		if (idx < 0)
			return why_set(why, why_size, "files: no file %s in the profile", key);
		f = &s->p->files[idx];
		if (f->kind == USIM_FILE_MF || f->kind == USIM_FILE_DF ||
		    f->kind == USIM_FILE_ADF)
			return why_set(why, why_size, "files: %s is not an EF", key);
		if (!json_object_is_type(val, json_type_string))
			return why_set(why, why_size, "files.%s: must be a hex string", key);
		hex = json_object_get_string(val);
		if (strlen(hex) != 2 * (size_t)f->size)
			return why_set(why, why_size, "files.%s: %zu hex digits, the EF has %u bytes",
				       key, strlen(hex), f->size);
		n = hex_decode(hex, f->data, f->size);
		if (n != (int)f->size)
			return why_set(why, why_size, "files.%s: not hex", key);
		s->file_kept[idx] = true;
	}
	return 0;
}

static int apply_lcs(struct state *s, json_object *lcs, char *why,
		     size_t why_size)
{
	if (!json_object_is_type(lcs, json_type_object))
		return why_set(why, why_size, "lcs: must be an object");
	json_object_object_foreach(lcs, key, val)
	{
		int idx = profile_lookup(s->p, key);
		int64_t x;

		if (idx < 0)
			return why_set(why, why_size, "lcs: no file %s in the profile", key);
		/* TS 102 221 11.1.1.4.9: the operational states and terminated. */
		if (!json_object_is_type(val, json_type_int) ||
		    ((x = json_object_get_int64(val)) != USIM_LCS_OPERATIONAL_ACTIVATED &&
		     x != USIM_LCS_OPERATIONAL_DEACTIVATED && x != USIM_LCS_TERMINATED))
			return why_set(why, why_size, "lcs.%s: must be 4, 5 or 12", key);
		s->p->files[idx].lcs = (uint8_t)x;
		s->lcs_kept[idx] = true;
	}
	return 0;
}

static int apply_pins(struct state *s, json_object *pins, char *why,
		      size_t why_size)
{
	if (!json_object_is_type(pins, json_type_object))
		return why_set(why, why_size, "pins: must be an object");
	json_object_object_foreach(pins, key, val)
	{
		uint8_t ref, value[USIM_PIN_LEN];
		json_object *v;
		struct usim_pin *pin;
		int64_t tries, puk_tries;

		if (strlen(key) != 2 || hex_decode(key, &ref, 1) != 1)
			return why_set(why, why_size, "pins: bad key reference \"%s\"", key);
		pin = usim_profile_pin(s->p, ref);
		if (!pin)
			return why_set(why, why_size, "pins.%s: no such PIN in the profile", key);
		if (!json_object_is_type(val, json_type_object) ||
		    !json_object_object_get_ex(val, "value", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    hex_decode(json_object_get_string(v), value, sizeof(value)) !=
			    USIM_PIN_LEN)
			return why_set(why, why_size, "pins.%s.value: must be 8 bytes of hex", key);
		if (!json_object_object_get_ex(val, "tries_left", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    (tries = json_object_get_int64(v)) < 0 ||
		    tries > pin->max_tries)
			return why_set(why, why_size, "pins.%s.tries_left: must be 0..%u", key,
				       pin->max_tries);
		if (!json_object_object_get_ex(val, "puk_tries_left", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    (puk_tries = json_object_get_int64(v)) < 0 ||
		    puk_tries > pin->puk_max_tries)
			return why_set(why, why_size, "pins.%s.puk_tries_left: must be 0..%u",
				       key, pin->puk_max_tries);
		memcpy(pin->value, value, USIM_PIN_LEN);
		pin->tries_left = (uint8_t)tries;
		pin->puk_tries_left = (uint8_t)puk_tries;
		if (json_object_object_get_ex(val, "enabled", &v))
			pin->enabled = json_object_get_boolean(v);
		if (json_object_object_get_ex(val, "use_upin", &v))
			pin->use_upin = json_object_get_boolean(v);
		s->pin_kept[pin - s->p->pins] = true;
		wipe(value, sizeof(value));
	}
	return 0;
}

static int apply_sqn(struct state *s, json_object *seq, char *why,
		     size_t why_size)
{
	size_t n = (size_t)1 << s->p->sqn_cfg.ind_bits;
	uint64_t max = UINT64_C(1) << (48 - s->p->sqn_cfg.ind_bits);

	if (!json_object_is_type(seq, json_type_array) ||
	    json_object_array_length(seq) != n)
		return why_set(why, why_size, "seq_ms: must be an array of %zu integers", n);
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(seq, i);
		int64_t x;

		if (!json_object_is_type(v, json_type_int) ||
		    (x = json_object_get_int64(v)) < 0 || (uint64_t)x >= max)
			return why_set(why, why_size, "seq_ms[%zu]: must be 0..2^%u-1", i,
				       48 - s->p->sqn_cfg.ind_bits);
		s->p->sqn.seq_ms[i] = (uint64_t)x;
	}
	s->sqn_kept = true;
	return 0;
}

static int apply(struct state *s, const char *text, size_t len, char *why,
		 size_t why_size)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	struct json_tokener *tok = json_tokener_new_ex(8);
	json_object *v;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success || !root) {
		json_tokener_free(tok);
		return why_set(why, why_size, "not valid JSON");
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "format", &v) ||
	    strcmp(json_object_get_string(v), STATE_FORMAT))
		return why_set(why, why_size, "not a usimsh state file (format is not \"%s\")",
			       STATE_FORMAT);
	if (!json_object_object_get_ex(root, "version", &v) ||
	    json_object_get_int(v) != 1)
		return why_set(why, why_size, "unsupported version");
	if (!json_object_object_get_ex(root, "profile_sha256", &v) ||
	    strcmp(json_object_get_string(v), s->sha_hex))
		return why_set(why, why_size,
			       "saved for another profile text (SHA-256 differs); delete it to start afresh");
	if (json_object_object_get_ex(root, "files", &v)) {
		int r = apply_files(s, v, why, why_size);

		if (r < 0)
			return r;
	}
	if (json_object_object_get_ex(root, "lcs", &v)) {
		int r = apply_lcs(s, v, why, why_size);

		if (r < 0)
			return r;
	}
	if (json_object_object_get_ex(root, "pins", &v)) {
		int r = apply_pins(s, v, why, why_size);

		if (r < 0)
			return r;
	}
	if (json_object_object_get_ex(root, "seq_ms", &v)) {
		int r = apply_sqn(s, v, why, why_size);

		if (r < 0)
			return r;
	}
	return 0;
}

int state_open(const char *path, struct usim_profile *p,
	       const uint8_t profile_sha256[32], struct state **ret, char *why,
	       size_t why_size)
{
	_cleanup_free_ char *text = NULL;
	struct state *s;
	size_t len = 0;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->p = p;
	s->path = strdup(path);
	s->file_kept = calloc(p->n_files, sizeof(bool));
	s->lcs_kept = calloc(p->n_files, sizeof(bool));
	if (!s->path || !s->file_kept || !s->lcs_kept) {
		state_free(s);
		return -ENOMEM;
	}
	hex_encode(profile_sha256, 32, s->sha_hex);

	r = read_file_max(path, STATE_MAX_TEXT, &text, &len);
	if (r == -ENOENT) {
		*ret = s;
		return 0;
	}
	if (r < 0) {
		why_set(why, why_size, "%s", strerror(-r));
		state_free(s);
		return r;
	}
	r = apply(s, text, len, why, why_size);
	wipe(text, len);
	if (r < 0) {
		state_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void state_note(struct state *s, const struct usim_change *c)
{
	if (!s)
		return;
	switch (c->kind) {
	case USIM_CHANGE_EF:
		if (c->index < s->p->n_files)
			s->file_kept[c->index] = true;
		break;
	case USIM_CHANGE_PIN:
		if (c->index < USIM_MAX_PINS)
			s->pin_kept[c->index] = true;
		break;
	case USIM_CHANGE_FILE_STATE:
		if (c->index < s->p->n_files)
			s->lcs_kept[c->index] = true;
		break;
	case USIM_CHANGE_SQN:
		s->sqn_kept = true;
		break;
	default:
		break;
	}
}

static json_object *build(const struct state *s)
{
	json_object *root = json_object_new_object();
	json_object *files = json_object_new_object();
	json_object *pins = json_object_new_object();
	json_object *lcs = NULL;
	char path[STATE_KEY_MAX];

	json_object_object_add(root, "format", json_object_new_string(STATE_FORMAT));
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "profile_sha256",
			       json_object_new_string(s->sha_hex));
	for (size_t i = 0; i < s->p->n_files; i++) {
		const struct usim_file *f = &s->p->files[i];
		_cleanup_free_ char *hex = NULL;

		if (!s->file_kept[i])
			continue;
		hex = malloc(2 * (size_t)f->size + 1);
		if (!hex)
			continue;
		hex_encode(f->data, f->size, hex);
		state_key(s->p, (int)i, path, sizeof(path));
		json_object_object_add(files, path, json_object_new_string(hex));
	}
	json_object_object_add(root, "files", files);
	for (size_t i = 0; i < s->p->n_files; i++) {
		if (!s->lcs_kept[i])
			continue;
		if (!lcs) {
			lcs = json_object_new_object();
			json_object_object_add(root, "lcs", lcs);
		}
		state_key(s->p, (int)i, path, sizeof(path));
		json_object_object_add(lcs, path,
				       json_object_new_int(s->p->files[i].lcs));
	}
	for (size_t i = 0; i < s->p->n_pins; i++) {
		const struct usim_pin *pin = &s->p->pins[i];
		json_object *o;
		char ref[3], value[2 * USIM_PIN_LEN + 1];

		if (!s->pin_kept[i])
			continue;
		o = json_object_new_object();
		snprintf(ref, sizeof(ref), "%02X", pin->key_ref);
		hex_encode(pin->value, USIM_PIN_LEN, value);
		json_object_object_add(o, "value", json_object_new_string(value));
		json_object_object_add(o, "enabled", json_object_new_boolean(pin->enabled));
		json_object_object_add(o, "use_upin", json_object_new_boolean(pin->use_upin));
		json_object_object_add(o, "tries_left", json_object_new_int(pin->tries_left));
		json_object_object_add(o, "puk_tries_left",
				       json_object_new_int(pin->puk_tries_left));
		json_object_object_add(pins, ref, o);
	}
	json_object_object_add(root, "pins", pins);
	if (s->sqn_kept) {
		json_object *seq = json_object_new_array();

		for (size_t i = 0; i < ((size_t)1 << s->p->sqn_cfg.ind_bits); i++)
			json_object_array_add(seq, json_object_new_int64(
							   (int64_t)s->p->sqn.seq_ms[i]));
		json_object_object_add(root, "seq_ms", seq);
	}
	return root;
}

int state_save(struct state *s, char *why, size_t why_size)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	const char *text;
	size_t len, off = 0;

	if (!s)
		return 0;
	root = build(s);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE |
							    JSON_C_TO_STRING_SPACED);
	len = strlen(text);
	if (asprintf(&tmp, "%s.tmp", s->path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		goto err;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err_unlink;
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		goto err_unlink;
	if (rename(tmp, s->path) < 0)
		goto err_unlink;
	return 0;

err_unlink:
	{
		int e = errno;

		unlink(tmp);
		errno = e;
	}
err:
	{
		int e = errno;

		why_set(why, why_size, "%s: %s", s->path, strerror(e));
		return -e;
	}
}

void state_free(struct state *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->file_kept);
	free(s->lcs_kept);
	free(s);
}
