// SPDX-License-Identifier: LGPL-2.1-or-later
/* Quote verification and tpm2-tools quote files; see tpm2-quote.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "macro.h"
#include "tpm2-crypto.h"
#include "tpm2-policy.h"
#include "tpm2-quote.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)

/* Largest file we read back. */
#define FILE_MAX (64 * 1024)

/* Sizes of the C structs tpm2-tools writes (x86/ARM ABI, tss2 3.x). */
#define TOOLS_PCR_SELECTION_SIZE 132
#define TOOLS_PCR_SELECT_ENTRY 8
#define TOOLS_DIGEST_LIST_SIZE 532
#define TOOLS_DIGEST_ENTRY 66
/* Most TPML_DIGEST groups we accept in a pcrs file. */
#define TOOLS_GROUPS_MAX ((TPM2_PCR_VALUES_MAX + 7) / 8)

_Static_assert(sizeof(TPML_PCR_SELECTION) == TOOLS_PCR_SELECTION_SIZE,
	       "TPML_PCR_SELECTION layout");
_Static_assert(sizeof(TPML_DIGEST) == TOOLS_DIGEST_LIST_SIZE, "TPML_DIGEST layout");

const char *tpm2_verify_strerror(int err)
{
	switch (-err) {
	case 0:
		return "success";
	case TPM2_VERIFY_E_FORMAT:
		return "malformed structure";
	case TPM2_VERIFY_E_MAGIC:
		return "attestation magic is not TPM_GENERATED_VALUE";
	case TPM2_VERIFY_E_TYPE:
		return "attestation is not a quote";
	case TPM2_VERIFY_E_NONCE:
		return "nonce (extraData) mismatch";
	case TPM2_VERIFY_E_PCR_SELECTION:
		return "quoted PCR selection differs from the PCR values";
	case TPM2_VERIFY_E_PCR_DIGEST:
		return "PCR digest mismatch";
	case TPM2_VERIFY_E_SIGNATURE:
		return "bad signature";
	case TPM2_VERIFY_E_SIG_SCHEME:
		return "signature scheme does not fit the key";
	case TPM2_VERIFY_E_KEY_ATTRS:
		return "key is not a restricted fixedTPM signing key";
	case TPM2_VERIFY_E_KEY_TYPE:
		return "unsupported key type";
	default:
		return strerror(-err);
	}
}

size_t tpm2_pcr_selection_count(const TPML_PCR_SELECTION *sel)
{
	size_t n = 0;

	for (uint32_t i = 0; i < MIN(sel->count, (uint32_t)TPM2_NUM_PCR_BANKS); i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		for (unsigned j = 0; j < MIN(s->sizeofSelect, TPM2_PCR_SELECT_MAX); j++)
			n += __builtin_popcount(s->pcrSelect[j]);
	}
	return n;
}

int tpm2_ak_check(const TPMT_PUBLIC *ak)
{
	TPMA_OBJECT a;

	if (!ak)
		return -EINVAL;
	a = ak->objectAttributes;
	switch (ak->type) {
	case TPM2_ALG_RSA:
		if (ak->parameters.rsaDetail.keyBits < 2048 ||
		    ak->parameters.rsaDetail.keyBits > 4096)
			return -TPM2_VERIFY_E_KEY_TYPE;
		break;
	case TPM2_ALG_ECC:
		if (ak->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 &&
		    ak->parameters.eccDetail.curveID != TPM2_ECC_NIST_P384)
			return -TPM2_VERIFY_E_KEY_TYPE;
		break;
	default:
		return -TPM2_VERIFY_E_KEY_TYPE;
	}
	/*
	 * Part 3 18.1: only a restricted signing key guarantees
	 * that a TPM_GENERATED_VALUE structure was made by the TPM; fixedTPM so
	 * that the key cannot live elsewhere.
	 */
	if (!(a & TPMA_OBJECT_SIGN_ENCRYPT) || !(a & TPMA_OBJECT_RESTRICTED) ||
	    !(a & TPMA_OBJECT_FIXEDTPM) || (a & TPMA_OBJECT_DECRYPT))
		return -TPM2_VERIFY_E_KEY_ATTRS;
	return 0;
}

int tpm2_attest_parse(const uint8_t *msg, size_t len, TPMS_ATTEST *ret)
{
	TPM2_GENERATED magic;
	size_t off = 0;

	if (!msg || !ret)
		return -EINVAL;
	if (len > sizeof(TPMS_ATTEST) + 64)
		return -TPM2_VERIFY_E_FORMAT;
	/* Part 2 10.12 TPMS_ATTEST: magic first, so a non-TPM structure is named as such. */
	if (Tss2_MU_UINT32_Unmarshal(msg, len, &off, &magic))
		return -TPM2_VERIFY_E_FORMAT;
	if (magic != TPM2_GENERATED_VALUE)
		return -TPM2_VERIFY_E_MAGIC;
	off = 0;
	memset(ret, 0, sizeof(*ret));
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(msg, len, &off, ret) || off != len)
		return -TPM2_VERIFY_E_FORMAT;
	return 0;
}

/* The signature algorithm and hash must be what the key allows. */
static int check_scheme(const TPMT_PUBLIC *ak, const TPMT_SIGNATURE *sig,
			TPMI_ALG_HASH *ret_hash)
{
	const TPMT_ASYM_SCHEME *ks = &ak->parameters.asymDetail.scheme;
	TPMI_ALG_HASH hash;

	switch (sig->sigAlg) {
	case TPM2_ALG_ECDSA:
		if (ak->type != TPM2_ALG_ECC)
			return -TPM2_VERIFY_E_SIG_SCHEME;
		hash = sig->signature.ecdsa.hash;
		break;
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
		if (ak->type != TPM2_ALG_RSA)
			return -TPM2_VERIFY_E_SIG_SCHEME;
		hash = sig->signature.rsassa.hash;
		break;
	default:
		return -TPM2_VERIFY_E_SIG_SCHEME;
	}
	if (!tpm2_hash_size(hash))
		return -TPM2_VERIFY_E_SIG_SCHEME;
	/* A key with a fixed scheme signs only with it (Part 2 TPMT_ASYM_SCHEME in the public area). */
	if (ks->scheme != TPM2_ALG_NULL &&
	    (ks->scheme != sig->sigAlg || ks->details.anySig.hashAlg != hash))
		return -TPM2_VERIFY_E_SIG_SCHEME;
	*ret_hash = hash;
	return 0;
}

int tpm2_attest_signature_verify(const TPMT_PUBLIC *ak, const uint8_t *msg, size_t len,
				 const TPMT_SIGNATURE *sig, TPMI_ALG_HASH *ret_hash)
{
	uint8_t digest[TPM2_SHA512_DIGEST_SIZE];
	TPMI_ALG_HASH hash = TPM2_ALG_NULL;
	int r;

	if (!ak || !msg || !sig)
		return -EINVAL;
	r = check_scheme(ak, sig, &hash);
	if (r < 0)
		return r;
	/* Part 3 18.4 (Quote), 18.2 (Certify): the signature covers H_scheme(TPMS_ATTEST). */
	r = tpm2_hash(hash, msg, len, digest);
	if (r < 0)
		return r;
	r = tpm2_signature_verify(ak, digest, tpm2_hash_size(hash), sig);
	if (r == -EBADMSG)
		return -TPM2_VERIFY_E_SIGNATURE;
	if (r == -EINVAL)
		return -TPM2_VERIFY_E_SIG_SCHEME;
	if (r == 0 && ret_hash)
		*ret_hash = hash;
	return r;
}

static bool selections_equal(const TPML_PCR_SELECTION *a,
			     const TPML_PCR_SELECTION *b)
{
	if (a->count != b->count || a->count > TPM2_NUM_PCR_BANKS)
		return false;
	for (uint32_t i = 0; i < a->count; i++) {
		const TPMS_PCR_SELECTION *x = &a->pcrSelections[i];
		const TPMS_PCR_SELECTION *y = &b->pcrSelections[i];

		if (x->hash != y->hash)
			return false;
		/* A shorter bitmap equals a longer one that only adds zeros. */
		for (unsigned j = 0; j < TPM2_PCR_SELECT_MAX; j++) {
			uint8_t bx = j < x->sizeofSelect ? x->pcrSelect[j] : 0;
			uint8_t by = j < y->sizeofSelect ? y->pcrSelect[j] : 0;

			if (bx != by)
				return false;
		}
	}
	return true;
}

int tpm2_quote_verify(const TPMT_PUBLIC *ak, const uint8_t *msg, size_t len,
		      const TPMT_SIGNATURE *sig, const uint8_t *nonce,
		      size_t nonce_len, const struct tpm2_pcr_values *pcrs,
		      TPMS_ATTEST *ret_attest)
{
	TPMS_ATTEST attest;
	TPMI_ALG_HASH hash = TPM2_ALG_NULL;
	TPM2_ST type;
	size_t off = 4;
	int r;

	if (!ak || !msg || !sig || (nonce_len && !nonce))
		return -EINVAL;
	r = tpm2_ak_check(ak);
	if (r < 0)
		return r;
	r = tpm2_attest_parse(msg, len, &attest);
	if (r < 0) {
		/* Name a wrong type even when the body does not parse as one. */
		if (r == -TPM2_VERIFY_E_FORMAT &&
		    !Tss2_MU_TPM2_ST_Unmarshal(msg, len, &off, &type) &&
		    type != TPM2_ST_ATTEST_QUOTE)
			return -TPM2_VERIFY_E_TYPE;
		return r;
	}
	if (attest.type != TPM2_ST_ATTEST_QUOTE)
		return -TPM2_VERIFY_E_TYPE;
	r = tpm2_attest_signature_verify(ak, msg, len, sig, &hash);
	if (r < 0)
		return r;
	if (attest.extraData.size != nonce_len ||
	    (nonce_len && memcmp(attest.extraData.buffer, nonce, nonce_len)))
		return -TPM2_VERIFY_E_NONCE;
	if (pcrs) {
		const TPMS_QUOTE_INFO *q = &attest.attested.quote;
		TPM2B_DIGEST pd;

		if (!selections_equal(&q->pcrSelect, &pcrs->selection) ||
		    pcrs->count > TPM2_PCR_VALUES_MAX ||
		    pcrs->count != tpm2_pcr_selection_count(&pcrs->selection))
			return -TPM2_VERIFY_E_PCR_SELECTION;
		/* Part 3 18.4: pcrDigest is made with the signing scheme's hash. */
		r = tpm2_pcr_digest(hash, pcrs->digests, pcrs->count, &pd);
		if (r < 0)
			return r;
		if (pd.size != q->pcrDigest.size ||
		    memcmp(pd.buffer, q->pcrDigest.buffer, pd.size))
			return -TPM2_VERIFY_E_PCR_DIGEST;
	}
	if (ret_attest)
		*ret_attest = attest;
	return 0;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

static uint16_t get_le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get_le32(const uint8_t *p)
{
	return get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

int tpm2_pcrs_encode(const struct tpm2_pcr_values *v, uint8_t **ret_buf,
		     size_t *ret_len)
{
	const TPML_PCR_SELECTION *sel;
	uint32_t groups;
	size_t len;
	uint8_t *buf, *p;

	if (!v || !ret_buf || !ret_len)
		return -EINVAL;
	sel = &v->selection;
	if (sel->count > TPM2_NUM_PCR_BANKS || v->count > TPM2_PCR_VALUES_MAX ||
	    v->count != tpm2_pcr_selection_count(sel))
		return -EINVAL;
	/* tpm2-tools keeps values as TPML_DIGESTs of up to 8, as PCR_Read returns them. */
	groups = (v->count + 7) / 8;
	len = TOOLS_PCR_SELECTION_SIZE + 4 + groups * TOOLS_DIGEST_LIST_SIZE;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	put_le32(buf, sel->count);
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		p = buf + 4 + i * TOOLS_PCR_SELECT_ENTRY;
		if (s->sizeofSelect > TPM2_PCR_SELECT_MAX) {
			free(buf);
			return -EINVAL;
		}
		put_le16(p, s->hash);
		p[2] = s->sizeofSelect;
		memcpy(p + 3, s->pcrSelect, TPM2_PCR_SELECT_MAX);
	}
	p = buf + TOOLS_PCR_SELECTION_SIZE;
	put_le32(p, groups);
	p += 4;
	for (uint32_t g = 0; g < groups; g++, p += TOOLS_DIGEST_LIST_SIZE) {
		uint32_t n = MIN(8u, v->count - g * 8);

		put_le32(p, n);
		for (uint32_t k = 0; k < n; k++) {
			const TPM2B_DIGEST *d = &v->digests[g * 8 + k];
			uint8_t *e = p + 4 + k * TOOLS_DIGEST_ENTRY;

			if (d->size > sizeof(d->buffer)) {
				free(buf);
				return -EINVAL;
			}
			put_le16(e, d->size);
			memcpy(e + 2, d->buffer, d->size);
		}
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int tpm2_pcrs_decode(const uint8_t *buf, size_t len,
		     struct tpm2_pcr_values *ret)
{
	TPML_PCR_SELECTION *sel;
	const uint8_t *p;
	uint32_t groups;

	if (!buf || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	sel = &ret->selection;
	if (len < TOOLS_PCR_SELECTION_SIZE + 4)
		return -TPM2_VERIFY_E_FORMAT;
	sel->count = get_le32(buf);
	if (sel->count > TPM2_NUM_PCR_BANKS)
		return -TPM2_VERIFY_E_FORMAT;
	for (uint32_t i = 0; i < sel->count; i++) {
		TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];

		p = buf + 4 + i * TOOLS_PCR_SELECT_ENTRY;
		s->hash = get_le16(p);
		s->sizeofSelect = p[2];
		if (s->sizeofSelect > TPM2_PCR_SELECT_MAX || !tpm2_hash_size(s->hash))
			return -TPM2_VERIFY_E_FORMAT;
		memcpy(s->pcrSelect, p + 3, s->sizeofSelect);
	}
	p = buf + TOOLS_PCR_SELECTION_SIZE;
	groups = get_le32(p);
	p += 4;
	if (groups > TOOLS_GROUPS_MAX ||
	    len != TOOLS_PCR_SELECTION_SIZE + 4 + (size_t)groups * TOOLS_DIGEST_LIST_SIZE)
		return -TPM2_VERIFY_E_FORMAT;
	for (uint32_t g = 0; g < groups; g++, p += TOOLS_DIGEST_LIST_SIZE) {
		uint32_t n = get_le32(p);

		if (n > 8 || ret->count + n > TPM2_PCR_VALUES_MAX)
			return -TPM2_VERIFY_E_FORMAT;
		for (uint32_t k = 0; k < n; k++) {
			const uint8_t *e = p + 4 + k * TOOLS_DIGEST_ENTRY;
			TPM2B_DIGEST *d = &ret->digests[ret->count++];

			d->size = get_le16(e);
			if (d->size > sizeof(d->buffer))
				return -TPM2_VERIFY_E_FORMAT;
			memcpy(d->buffer, e + 2, d->size);
		}
	}
	if (ret->count != tpm2_pcr_selection_count(sel))
		return -TPM2_VERIFY_E_FORMAT;
	return 0;
}

/* Writes a whole file atomically (temporary file + rename), mode 0644. */
static int write_file(const char *path, const void *buf, size_t len)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	const uint8_t *p = buf;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;

			unlink(tmp);
			return r;
		}
		p += n;
		len -= n;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

/* Reads a whole file of at most max bytes into a malloc'ed buffer. */
static int read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
		if (len > max)
			return -EFBIG;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int tpm2_quote_export(const char *msg_path, const char *sig_path,
		      const char *pcrs_path, const uint8_t *msg, size_t len,
		      const TPMT_SIGNATURE *sig,
		      const struct tpm2_pcr_values *pcrs)
{
	int r;

	if (msg_path) {
		if (!msg || !len)
			return -EINVAL;
		r = write_file(msg_path, msg, len);
		if (r < 0)
			return r;
	}
	if (sig_path) {
		uint8_t buf[sizeof(TPMT_SIGNATURE)];
		size_t off = 0;

		if (!sig || Tss2_MU_TPMT_SIGNATURE_Marshal(sig, buf, sizeof(buf), &off))
			return -EINVAL;
		r = write_file(sig_path, buf, off);
		if (r < 0)
			return r;
	}
	if (pcrs_path) {
		_cleanup_free_ uint8_t *buf = NULL;
		size_t blen = 0;

		if (!pcrs)
			return -EINVAL;
		r = tpm2_pcrs_encode(pcrs, &buf, &blen);
		if (r < 0)
			return r;
		r = write_file(pcrs_path, buf, blen);
		if (r < 0)
			return r;
	}
	return 0;
}

int tpm2_quote_import(const char *msg_path, const char *sig_path,
		      const char *pcrs_path, uint8_t **ret_msg,
		      size_t *ret_len, TPMT_SIGNATURE *ret_sig,
		      struct tpm2_pcr_values *ret_pcrs)
{
	_cleanup_free_ uint8_t *msg = NULL;
	size_t len = 0;
	int r;

	if (!msg_path || !ret_msg || !ret_len || (sig_path && !ret_sig) ||
	    (pcrs_path && !ret_pcrs))
		return -EINVAL;
	r = read_file(msg_path, FILE_MAX, &msg, &len);
	if (r < 0)
		return r;
	if (sig_path) {
		_cleanup_free_ uint8_t *buf = NULL;
		size_t blen = 0, off = 0;

		r = read_file(sig_path, FILE_MAX, &buf, &blen);
		if (r < 0)
			return r;
		memset(ret_sig, 0, sizeof(*ret_sig));
		if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, blen, &off, ret_sig) ||
		    off != blen)
			return -TPM2_VERIFY_E_FORMAT;
	}
	if (pcrs_path) {
		_cleanup_free_ uint8_t *buf = NULL;
		size_t blen = 0;

		r = read_file(pcrs_path, FILE_MAX, &buf, &blen);
		if (r < 0)
			return r;
		r = tpm2_pcrs_decode(buf, blen, ret_pcrs);
		if (r < 0)
			return r;
	}
	*ret_msg = TAKE_PTR(msg);
	*ret_len = len;
	return 0;
}

int tpm2_public_export(const char *path, const TPM2B_PUBLIC *pub, bool pem)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(BIO_freep) BIO *bio = NULL;
	char *data = NULL;
	long n;
	int r;

	if (!path || !pub)
		return -EINVAL;
	if (!pem) {
		uint8_t buf[sizeof(TPM2B_PUBLIC)];
		size_t off = 0;

		if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off))
			return -EINVAL;
		return write_file(path, buf, off);
	}
	r = tpm2_public_to_evp(&pub->publicArea, &pkey);
	if (r < 0)
		return r;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return -ENOMEM;
	if (!PEM_write_bio_PUBKEY(bio, pkey))
		return -EIO;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		return -EIO;
	return write_file(path, data, n);
}

int tpm2_public_import(const char *path, TPM2B_PUBLIC *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	int r;

	if (!path || !ret)
		return -EINVAL;
	r = read_file(path, sizeof(TPM2B_PUBLIC) + 2, &buf, &len);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, ret) || off != len)
		return -TPM2_VERIFY_E_FORMAT;
	return 0;
}
