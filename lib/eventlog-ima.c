// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Linux IMA measurement list in its binary form
 * (/sys/kernel/security/ima/binary_runtime_measurements; the kernel's
 * security/integrity/ima/ima_fs.c ima_measurements_show(), the templates of
 * Documentation/security/IMA-templates.rst; docs/eventlog.md).  Each entry:
 *
 *   u32 PCR, u8 template_digest[20] (SHA-1), u32 name length, template name,
 *   u32 template data length (not for the "ima" template), template data
 *
 * The template data of ima-ng, ima-sig and ima-buf is a sequence of fields,
 * each u32 length + bytes: d-ng ("<algo>:\0" + file digest), n-ng (path with
 * its NUL), then sig or buf.  The old "ima" template has d (20 bytes, SHA-1)
 * and n (u32 length + name without its NUL) with no data length.  Integers
 * are little endian (x86, or ima_canonical_fmt).
 *
 * Replay, as the kernel extends (ima_calc_field_array_hash(),
 * ima_pcr_extend()): the template hash is H(template data as logged) for the
 * "ng" templates and H(d || n padded with zeros to 256 bytes) for "ima".  The
 * sha1 bank extends with the SHA-1 template hash (which must equal the logged
 * template digest), the sha256 bank with the SHA-256 one; the sha384 and
 * sha512 banks get the SHA-1 template hash zero-padded (Debian's 6.1 kernel
 * has no sha384/sha512 at IMA init); an all-zero logged digest is a
 * violation and extends every bank with 0xff... of its size.
 */
#include <errno.h>
#include <string.h>

#include "eventlog-internal.h"

#define IMA_NAME_LEN_MAX 255		/* IMA_EVENT_NAME_LEN_MAX, "ima" template */
#define IMA_ALGO_NAME_MAX 64		/* "<algo>:" in a d-ng field */

#define FAIL(err, idx, off, fmt, ...)                                                  \
	why_fail(why, why_size, err, "entry %u at offset %zu: " fmt, (unsigned)(idx), \
		   (size_t)(off), ##__VA_ARGS__)

/* The kernel's hash_algo_name[] for the algorithms a TPM bank can have. */
static const struct {
	const char *name;
	TPMI_ALG_HASH alg;
} file_algs[] = {
	{ "sha1", TPM2_ALG_SHA1 },	   { "sha256", TPM2_ALG_SHA256 },
	{ "sha384", TPM2_ALG_SHA384 },	   { "sha512", TPM2_ALG_SHA512 },
	{ "sm3", TPM2_ALG_SM3_256 },	   { "sha3-256", TPM2_ALG_SHA3_256 },
	{ "sha3-384", TPM2_ALG_SHA3_384 }, { "sha3-512", TPM2_ALG_SHA3_512 },
};

enum ima_template { T_IMA, T_NG, T_SIG, T_BUF };

struct cursor {
	const uint8_t *log;
	size_t len, off;
	uint32_t idx;
	char *why;
	size_t why_size;
};

/* Takes a u32 length and that many bytes, at most max. */
static int take_field(struct cursor *c, size_t end, uint32_t max, const char *what,
		      const uint8_t **ret, uint32_t *ret_len)
{
	char *why = c->why;
	size_t why_size = c->why_size;
	uint32_t n;

	if (end - c->off < 4)
		return FAIL(-EBADMSG, c->idx, c->off, "truncated before the length of %s", what);
	n = evlog_le32(c->log + c->off);
	if (n > max)
		return FAIL(n > EVLOG_IMA_MAX_TEMPLATE_DATA ? -E2BIG : -EBADMSG, c->idx, c->off,
			    "%s of %u bytes, at most %u", what, n, max);
	if (n > end - c->off - 4)
		return FAIL(-EBADMSG, c->idx, c->off, "%s of %u bytes but %zu left", what, n,
			    end - c->off - 4);
	*ret = c->log + c->off + 4;
	*ret_len = n;
	c->off += 4 + (size_t)n;
	return 0;
}

/* A path or name: printable as a C string, i.e. no NUL inside. */
static int copy_string(struct cursor *c, const uint8_t *s, uint32_t n, char *out,
		       const char *what)
{
	char *why = c->why;
	size_t why_size = c->why_size;

	if (memchr(s, '\0', n))
		return FAIL(-EBADMSG, c->idx, (size_t)(s - c->log), "%s has a NUL inside", what);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* d-ng: "<algo>:\0" + digest of that algorithm's size. */
static int parse_d_ng(struct cursor *c, const uint8_t *d, uint32_t n, struct evlog_ima_entry *e)
{
	char *why = c->why;
	size_t why_size = c->why_size;
	const uint8_t *colon = memchr(d, ':', MIN(n, (uint32_t)IMA_ALGO_NAME_MAX));
	size_t name_len;

	if (!colon || (size_t)(colon - d) + 2 > n || colon[1] != '\0')
		return FAIL(-EBADMSG, c->idx, (size_t)(d - c->log),
			    "d-ng field has no \"<algo>:\\0\" prefix");
	name_len = (size_t)(colon - d);
	e->file_alg = 0;
	for (size_t i = 0; i < ARRAY_SIZE(file_algs); i++)
		if (strlen(file_algs[i].name) == name_len &&
		    memcmp(file_algs[i].name, d, name_len) == 0)
			e->file_alg = file_algs[i].alg;
	if (!e->file_alg)
		return FAIL(-EBADMSG, c->idx, (size_t)(d - c->log),
			    "file digest algorithm \"%.*s\" not supported", (int)name_len, d);
	e->file_digest = colon + 2;
	e->file_digest_len = (uint16_t)(n - name_len - 2);
	if (e->file_digest_len != evlog_hash_size(e->file_alg))
		return FAIL(-EBADMSG, c->idx, (size_t)(d - c->log),
			    "%.*s file digest of %u bytes", (int)name_len, d,
			    e->file_digest_len);
	return 0;
}

/* Template data of ima-ng, ima-sig, ima-buf: exactly their fields. */
static int parse_ng(struct cursor *c, size_t end, enum ima_template t, struct evlog_ima_entry *e,
		    char *path)
{
	char *why = c->why;
	size_t why_size = c->why_size;
	const uint8_t *d, *name, *extra;
	uint32_t d_len, name_len, extra_len;
	int r;

	r = take_field(c, end, 2 + IMA_ALGO_NAME_MAX + EVLOG_DIGEST_MAX, "d-ng", &d, &d_len);
	if (r < 0)
		return r;
	r = parse_d_ng(c, d, d_len, e);
	if (r < 0)
		return r;
	r = take_field(c, end, EVLOG_IMA_MAX_PATH, "n-ng", &name, &name_len);
	if (r < 0)
		return r;
	if (name_len == 0 || name[name_len - 1] != '\0')
		return FAIL(-EBADMSG, c->idx, (size_t)(name - c->log),
			    "n-ng field does not end with a NUL");
	r = copy_string(c, name, name_len - 1, path, "path");
	if (r < 0)
		return r;
	if (t != T_NG) {
		r = take_field(c, end, EVLOG_IMA_MAX_TEMPLATE_DATA, t == T_SIG ? "sig" : "buf",
			       &extra, &extra_len);
		if (r < 0)
			return r;
	}
	if (c->off != end)
		return FAIL(-EBADMSG, c->idx, c->off, "%zu bytes after the template's fields",
			    end - c->off);
	return 0;
}

/* The replay; with want, it stops after the first entry that makes PCR
 * want_pcr equal want and fails with -ENOENT when none does. */
static int replay(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, uint32_t want_pcr,
		  const uint8_t *want, evlog_ima_fn fn, void *user, struct evlog_pcrs *ret,
		  size_t *ret_entries, char *why, size_t why_size)
{
	static const uint8_t zero[20];
	struct evlog_hash sha1 = {}, hb = {};
	struct evlog_pcrs pcrs;
	struct cursor c = { .log = log, .len = len, .why = why, .why_size = why_size };
	char tname[EVLOG_IMA_MAX_TEMPLATE_NAME + 1], path[EVLOG_IMA_MAX_PATH];
	uint16_t size = evlog_hash_size(bank);
	int r;

	if (why && why_size)
		why[0] = '\0';
	if (!ret || (!log && len) || (want && want_pcr >= EVLOG_PCRS))
		return -EINVAL;
	if (len > EVLOG_MAX_LOG)
		return why_fail(why, why_size, -E2BIG, "log of %zu bytes, the limit is %u",
				  len, EVLOG_MAX_LOG);
	if (bank != TPM2_ALG_SHA1 && bank != TPM2_ALG_SHA256 && bank != TPM2_ALG_SHA384 &&
	    bank != TPM2_ALG_SHA512)
		return why_fail(why, why_size, -ENOTSUP,
				  "bank 0x%04x cannot be computed from an IMA log", bank);
	r = evlog_hash_init(&sha1, TPM2_ALG_SHA1);
	if (r == 0)
		r = evlog_hash_init(&hb, bank);
	if (r < 0)
		goto out;
	evlog_pcrs_init(&pcrs, bank, size);

	for (; c.off < len; c.idx++) {
		struct evlog_ima_entry e = { .index = c.idx, .offset = c.off,
					     .template_name = tname, .path = path };
		uint8_t h1[20], ext[EVLOG_DIGEST_MAX] = {}, padded[IMA_NAME_LEN_MAX + 1];
		const uint8_t *name, *data;
		uint32_t name_len, data_len;
		enum ima_template t;
		size_t data_off;

		if (len - c.off < 24) {
			r = FAIL(-EBADMSG, c.idx, c.off, "truncated in its header (%zu bytes left)",
				 len - c.off);
			goto out;
		}
		e.pcr = evlog_le32(log + c.off);
		if (e.pcr >= EVLOG_PCRS) {
			r = FAIL(-EBADMSG, c.idx, c.off, "PCR index %u", e.pcr);
			goto out;
		}
		e.template_digest = log + c.off + 4;
		e.template_digest_len = 20;
		e.violation = memcmp(e.template_digest, zero, 20) == 0;
		c.off += 24;
		r = take_field(&c, len, EVLOG_IMA_MAX_TEMPLATE_NAME, "template name", &name,
			       &name_len);
		if (r < 0)
			goto out;
		r = copy_string(&c, name, name_len, tname, "template name");
		if (r < 0)
			goto out;
		if (strcmp(tname, "ima") == 0)
			t = T_IMA;
		else if (strcmp(tname, "ima-ng") == 0)
			t = T_NG;
		else if (strcmp(tname, "ima-sig") == 0)
			t = T_SIG;
		else if (strcmp(tname, "ima-buf") == 0)
			t = T_BUF;
		else {
			r = FAIL(-EBADMSG, c.idx, (size_t)(name - log),
				 "template \"%s\" not supported", tname);
			goto out;
		}

		if (t == T_IMA) {
			/* d: 20 bytes; n: u32 length + name, at most 255 bytes */
			data_off = c.off;
			if (len - c.off < 20) {
				r = FAIL(-EBADMSG, c.idx, c.off, "truncated in the d field");
				goto out;
			}
			e.file_alg = TPM2_ALG_SHA1;
			e.file_digest = log + c.off;
			e.file_digest_len = 20;
			c.off += 20;
			r = take_field(&c, len, IMA_NAME_LEN_MAX, "n", &data, &data_len);
			if (r < 0)
				goto out;
			r = copy_string(&c, data, data_len, path, "name");
			if (r < 0)
				goto out;
			memset(padded, 0, sizeof(padded));
			memcpy(padded, data, data_len);
			r = evlog_hash2(&sha1, e.file_digest, 20, padded, sizeof(padded), h1);
			if (r == 0 && bank == TPM2_ALG_SHA256)
				r = evlog_hash2(&hb, e.file_digest, 20, padded, sizeof(padded),
						ext);
		} else {
			r = take_field(&c, len, EVLOG_IMA_MAX_TEMPLATE_DATA, "template data",
				       &data, &data_len);
			if (r < 0)
				goto out;
			data_off = (size_t)(data - log);
			c.off = data_off;
			r = parse_ng(&c, data_off + data_len, t, &e, path);
			if (r < 0)
				goto out;
			r = evlog_hash2(&sha1, data, data_len, NULL, 0, h1);
			if (r == 0 && bank == TPM2_ALG_SHA256)
				r = evlog_hash2(&hb, data, data_len, NULL, 0, ext);
		}
		if (r < 0)
			goto out;
		if (!e.violation && memcmp(h1, e.template_digest, 20) != 0) {
			r = FAIL(-EBADMSG, c.idx, e.offset + 4,
				 "template digest does not match the template data at offset %zu",
				 data_off);
			goto out;
		}
		e.size = c.off - e.offset;

		if (fn) {
			r = fn(&e, user);
			if (r)
				goto out;
		}
		if (e.violation)
			memset(ext, 0xff, size);
		else if (bank != TPM2_ALG_SHA256)
			memcpy(ext, h1, 20);	/* sha1; sha384/512 zero-padded */
		r = evlog_extend(&hb, &pcrs, e.pcr, ext);
		if (r < 0)
			goto out;
		if (want && memcmp(pcrs.value[want_pcr], want, size) == 0) {
			c.idx++;
			goto done;
		}
	}
	if (want) {
		r = why_fail(why, why_size, -ENOENT,
			       "no prefix of the %u entries replays PCR %u to the value given",
			       c.idx, want_pcr);
		goto out;
	}
done:
	r = 0;
	*ret = pcrs;
	if (ret_entries)
		*ret_entries = c.idx;
out:
	evlog_hash_done(&hb);
	evlog_hash_done(&sha1);
	return r;
}

int evlog_ima_replay(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, evlog_ima_fn fn,
		     void *user, struct evlog_pcrs *ret, char *why, size_t why_size)
{
	return replay(log, len, bank, 0, NULL, fn, user, ret, NULL, why, why_size);
}

int evlog_ima_replay_to(const uint8_t *log, size_t len, TPMI_ALG_HASH bank, uint32_t pcr,
			const uint8_t *want, evlog_ima_fn fn, void *user, struct evlog_pcrs *ret,
			size_t *ret_entries, char *why, size_t why_size)
{
	if (!want)
		return -EINVAL;
	return replay(log, len, bank, pcr, want, fn, user, ret, ret_entries, why, why_size);
}
