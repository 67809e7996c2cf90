/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device identity and attestation: EK (TCG default templates) and its
 * certificate from NV, the AK under the EK, TPM2_ActivateCredential,
 * TPM2_Certify of the SRK, TPM2_Quote with PCR values and event logs, and
 * their export in tpm2-tools formats.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include <tss2/tss2_mu.h>

#include "lib/tpm2-cred.h"
#include "lib/tpm2-quote.h"
#include "tre-internal.h"

const char *tre_bios_log_path = "/sys/kernel/security/tpm0/binary_bios_measurements";
const char *tre_ima_log_path = "/sys/kernel/security/ima/binary_runtime_measurements";

/* ---- EK ---- */

static void ek_template(enum tre_ek_type type, TPM2B_PUBLIC *ret)
{
	*ret = (TPM2B_PUBLIC){ 0 };
	if (type == TRE_EK_RSA)
		tpm2_ek_template_rsa2048(&ret->publicArea);
	else
		tpm2_ek_template_ecc_p256(&ret->publicArea);
}

static int ek_create_once(struct tre *t, enum tre_ek_type type, ESYS_TR *ret,
			  TPM2B_PUBLIC *ret_pub)
{
	_cleanup_esys_ TPM2B_PUBLIC *out = NULL;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPML_PCR_SELECTION nopcr = { 0 };
	TPM2B_DATA outside = { 0 };
	TPM2B_PUBLIC tmpl;
	TSS2_RC rc;

	ek_template(type, &tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &nopcr, ret, &out, NULL,
				NULL, NULL);
	if (rc) {
		*ret = ESYS_TR_NONE;
		return tre_fail(t, rc, "creating the %s EK", type == TRE_EK_RSA ? "RSA" : "ECC");
	}
	if (ret_pub)
		*ret_pub = *out;
	return 0;
}

static int ek_create(struct tre *t, enum tre_ek_type type, ESYS_TR *ret, TPM2B_PUBLIC *ret_pub)
{
	return TRE_ROOMY(t, false, ek_create_once(t, type, ret, ret_pub));
}

static int ek_public(struct tre *t, enum tre_ek_type type, TPM2B_PUBLIC *ret)
{
	ESYS_TR ek;
	int r = ek_create(t, type, &ek, ret);

	tre_flush(t, &ek);
	return r;
}

int tre_ek_public(struct tre *t, enum tre_ek_type type, TPM2B_PUBLIC *ret)
{
	return TRE_RETRY(t, ek_public(t, type, ret));
}

/* The EK's policy: PolicySecret(TPM_RH_ENDORSEMENT) (EK Credential Profile 2.1.5). */
static int ek_policy(struct tre *t, ESYS_TR *ret_s)
{
	TSS2_RC rc;
	int r;

	r = tre_session(t, ret_s);
	if (r < 0)
		return r;
	rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, *ret_s, ESYS_TR_PASSWORD,
			       ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	if (rc)
		return tre_fail(t, rc, "PolicySecret(endorsement) for the EK");
	return 0;
}

static uint32_t nv_buffer_max(struct tre *t)
{
	_cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;

	if (Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			       TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap) ||
	    cap->data.tpmProperties.count < 1 ||
	    cap->data.tpmProperties.tpmProperty[0].property != TPM2_PT_NV_BUFFER_MAX)
		return 512;
	return MIN(cap->data.tpmProperties.tpmProperty[0].value, (uint32_t)TPM2_MAX_NV_BUFFER_SIZE);
}

static int ek_cert(struct tre *t, enum tre_ek_type type, uint8_t **ret_der, size_t *ret_len)
{
	TPM2_HANDLE index = type == TRE_EK_RSA ? TRE_EK_CERT_NV_RSA : TRE_EK_CERT_NV_ECC;
	_cleanup_esys_ TPM2B_NV_PUBLIC *pub = NULL;
	_cleanup_free_ uint8_t *der = NULL;
	ESYS_TR nv = ESYS_TR_NONE, auth;
	uint32_t size, chunk;
	TSS2_RC rc;
	int r = 0;

	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
	if (rc) {
		r = tre_fail(t, rc, "EK certificate NV index 0x%08x", index);
		return r == -ENOENT || tre_rc_base(rc) == TPM2_RC_HANDLE ? -ENOENT : r;
	}
	rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
	if (rc) {
		r = tre_fail(t, rc, "reading NV 0x%08x's public area", index);
		goto out;
	}
	size = pub->nvPublic.dataSize;
	if (size == 0 || size > TRE_EK_CERT_MAX) {
		r = tre_failerr(t, -EMSGSIZE, "EK certificate of %u bytes", size);
		goto out;
	}
	if (pub->nvPublic.attributes & TPMA_NV_AUTHREAD)
		auth = nv;
	else if (pub->nvPublic.attributes & TPMA_NV_OWNERREAD)
		auth = ESYS_TR_RH_OWNER;
	else {
		r = tre_failerr(t, -EACCES, "EK certificate NV 0x%08x is not readable", index);
		goto out;
	}
	der = malloc(size);
	if (!der) {
		r = -ENOMEM;
		goto out;
	}
	chunk = nv_buffer_max(t);
	for (uint32_t off = 0; off < size; off += chunk) {
		_cleanup_esys_ TPM2B_MAX_NV_BUFFER *d = NULL;
		uint16_t n = (uint16_t)MIN(chunk, size - off);

		rc = Esys_NV_Read(t->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				  n, (uint16_t)off, &d);
		if (rc) {
			r = tre_fail(t, rc, "reading the EK certificate");
			goto out;
		}
		if (d->size != n) {
			r = tre_failerr(t, -EIO, "short NV read");
			goto out;
		}
		memcpy(der + off, d->buffer, n);
	}
	*ret_der = TAKE_PTR(der);
	*ret_len = size;
out:
	Esys_TR_Close(t->esys, &nv);
	return r;
}

int tre_ek_cert(struct tre *t, enum tre_ek_type type, uint8_t **ret_der, size_t *ret_len)
{
	return TRE_RETRY(t, ek_cert(t, type, ret_der, ret_len));
}

/* ---- AK ---- */

static void ak_template(TPM2B_PUBLIC *ret)
{
	*ret = (TPM2B_PUBLIC){
		.publicArea = {
			.type = TPM2_ALG_ECC,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
					    TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_NODA,
			.parameters.eccDetail = {
				.symmetric = { .algorithm = TPM2_ALG_NULL },
				.scheme = { .scheme = TPM2_ALG_ECDSA,
					    .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
				.curveID = TPM2_ECC_NIST_P256,
				.kdf = { .scheme = TPM2_ALG_NULL },
			},
		},
	};
}

static int ak_load_under_ek(struct tre *t)
{
	ESYS_TR ek, s;
	TSS2_RC rc;
	int r;

	r = ek_create(t, t->ak_parent, &ek, NULL);
	if (r < 0)
		return r;
	r = ek_policy(t, &s);
	if (r == 0) {
		Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
		rc = Esys_Load(t->esys, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &t->ak_blob.priv,
			       &t->ak_blob.pub, &t->ak);
		if (rc) {
			t->ak = ESYS_TR_NONE;
			r = tre_fail(t, rc, "loading the AK");
		}
	}
	if (r < 0)
		tre_session_restart(t);
	tre_flush(t, &ek);
	return r;
}

static int ak_ensure(struct tre *t)
{
	TSS2_RC rc;

	if (t->ak != ESYS_TR_NONE)
		return 0;
	if (t->ak_persistent) {
		rc = Esys_TR_FromTPMPublic(t->esys, t->ak_handle, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, &t->ak);
		if (rc) {
			t->ak = ESYS_TR_NONE;
			return tre_fail(t, rc, "persistent AK 0x%08x", t->ak_handle);
		}
		return 0;
	}
	if (!t->have_ak_blob)
		return tre_failerr(t, -ENOENT, "no AK: create or load one first");
	return TRE_ROOMY(t, false, ak_load_under_ek(t));
}

/* EK, PolicySecret, TPM2_Create (which needs a free object slot itself). */
static int ak_create_once(struct tre *t, enum tre_ek_type parent, struct tre_blob *ret)
{
	_cleanup_esys_ TPM2B_PRIVATE *priv = NULL;
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPML_PCR_SELECTION nopcr = { 0 };
	TPM2B_DATA outside = { 0 };
	TPM2B_PUBLIC tmpl;
	ESYS_TR ek, s;
	TSS2_RC rc;
	int r;

	r = ek_create(t, parent, &ek, NULL);
	if (r < 0)
		return r;
	ak_template(&tmpl);
	r = ek_policy(t, &s);
	if (r == 0) {
		Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
		rc = Esys_Create(t->esys, ek, s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
				 &outside, &nopcr, &priv, &pub, NULL, NULL, NULL);
		if (rc)
			r = tre_fail(t, rc, "creating the AK under the EK");
	}
	if (r < 0)
		tre_session_restart(t);
	tre_flush(t, &ek);
	if (r == 0)
		*ret = (struct tre_blob){ .epoch = 0, .pub = *pub, .priv = *priv };
	return r;
}

static int ak_create(struct tre *t, enum tre_ek_type parent, struct tre_blob *ret)
{
	int r;

	if (!t->ak_persistent)
		tre_flush(t, &t->ak);
	t->ak = ESYS_TR_NONE;
	t->ak_persistent = false;
	t->have_ak_blob = false;
	r = TRE_ROOMY(t, false, ak_create_once(t, parent, &t->ak_blob));
	if (r < 0)
		return r;
	t->ak_parent = parent;
	t->have_ak_blob = true;
	if (ret)
		*ret = t->ak_blob;
	return ak_ensure(t);
}

int tre_ak_create(struct tre *t, enum tre_ek_type parent, struct tre_blob *ret)
{
	return TRE_RETRY(t, ak_create(t, parent, ret));
}

int tre_ak_load(struct tre *t, enum tre_ek_type parent, const struct tre_blob *b)
{
	if (!t->ak_persistent)
		tre_flush(t, &t->ak);
	t->ak = ESYS_TR_NONE;
	t->ak_persistent = false;
	t->ak_parent = parent;
	t->ak_blob = *b;
	t->have_ak_blob = true;
	return TRE_RETRY(t, ak_ensure(t));
}

static int ak_persist(struct tre *t, TPM2_HANDLE handle)
{
	ESYS_TR p = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	r = ak_ensure(t);
	if (r < 0)
		return r;
	if (t->ak_persistent)
		return t->ak_handle == handle ? 0 : tre_failerr(t, -EEXIST, "AK already persistent");
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, handle, &p);
	if (rc)
		return tre_fail(t, rc, "making the AK persistent at 0x%08x", handle);
	tre_flush(t, &t->ak);
	t->ak = p;
	t->ak_persistent = true;
	t->ak_handle = handle;
	return 0;
}

int tre_ak_persist(struct tre *t, TPM2_HANDLE handle)
{
	return TRE_RETRY(t, ak_persist(t, handle));
}

int tre_ak_use_persistent(struct tre *t, TPM2_HANDLE handle)
{
	if (!t->ak_persistent)
		tre_flush(t, &t->ak);
	t->ak = ESYS_TR_NONE;
	t->ak_persistent = true;
	t->ak_handle = handle;
	return TRE_RETRY(t, ak_ensure(t));
}

static int ak_public(struct tre *t, TPM2B_PUBLIC *ret, TPM2B_NAME *ret_name)
{
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	_cleanup_esys_ TPM2B_NAME *name = NULL;
	TSS2_RC rc;
	int r;

	r = ak_ensure(t);
	if (r < 0)
		return r;
	rc = Esys_ReadPublic(t->esys, t->ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name,
			     NULL);
	if (rc)
		return tre_fail(t, rc, "reading the AK public area");
	if (ret)
		*ret = *pub;
	if (ret_name)
		*ret_name = *name;
	return 0;
}

int tre_ak_public(struct tre *t, TPM2B_PUBLIC *ret, TPM2B_NAME *ret_name)
{
	return TRE_RETRY(t, ak_public(t, ret, ret_name));
}

/* ---- ActivateCredential (Part 3, 12.5) ---- */

static int activate(struct tre *t, enum tre_ek_type ek_type, const TPM2B_ID_OBJECT *cred,
		    const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST *ret)
{
	_cleanup_esys_ TPM2B_DIGEST *info = NULL;
	ESYS_TR ek, s;
	TSS2_RC rc;
	int r;

	r = ak_ensure(t);
	if (r < 0)
		return r;
	r = ek_create(t, ek_type, &ek, NULL);
	if (r == 0 && t->ak == ESYS_TR_NONE) /* make_room flushed it */
		r = ak_ensure(t);
	if (r < 0)
		goto out;
	r = ek_policy(t, &s);
	if (r == 0) {
		/* certInfo (the recovered secret) comes back encrypted. */
		Esys_TRSess_SetAttributes(t->esys, s, TRE_SESS_ATTRS, 0xff);
		rc = Esys_ActivateCredential(t->esys, t->ak, ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE,
					     cred, secret, &info);
		if (rc)
			r = tre_fail(t, rc, "ActivateCredential");
		else
			*ret = *info;
	}
	if (r < 0)
		tre_session_restart(t);
out:
	tre_flush(t, &ek);
	if (info)
		wipe(info, sizeof(*info));
	return r;
}

int tre_activate_credential(struct tre *t, enum tre_ek_type ek_type, const TPM2B_ID_OBJECT *cred,
			    const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST *ret)
{
	return TRE_RETRY(t, activate(t, ek_type, cred, secret, ret));
}

/* ---- Certify (Part 3, 18.2) ---- */

static int certify_srk(struct tre *t, const uint8_t *nonce, size_t nonce_len,
		       TPM2B_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig)
{
	_cleanup_esys_ TPM2B_ATTEST *att = NULL;
	_cleanup_esys_ TPMT_SIGNATURE *sig = NULL;
	TPMT_SIG_SCHEME null = { .scheme = TPM2_ALG_NULL };
	TPM2B_DATA q = { .size = (UINT16)nonce_len };
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	memcpy(q.buffer, nonce, nonce_len);
	r = ak_ensure(t);
	if (r == 0)
		r = tre_srk_get(t, t->epoch, &srk);
	if (r == 0 && t->ak == ESYS_TR_NONE)
		r = ak_ensure(t);
	if (r < 0)
		return r;
	/* SRK: ADMIN role with its (empty) authValue; AK: USER role. */
	rc = Esys_Certify(t->esys, srk, t->ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE, &q,
			  &null, &att, &sig);
	if (rc)
		return tre_fail(t, rc, "certifying the SRK with the AK");
	*ret_attest = *att;
	*ret_sig = *sig;
	return 0;
}

int tre_certify_srk(struct tre *t, const uint8_t *nonce, size_t nonce_len,
		    TPM2B_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig)
{
	if (nonce_len > sizeof(((TPM2B_DATA *)0)->buffer))
		return -EINVAL;
	return TRE_RETRY(t, certify_srk(t, nonce, nonce_len, ret_attest, ret_sig));
}

static int certify_parent(struct tre_parent *p, const uint8_t *nonce, size_t nonce_len,
			  TPM2B_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig)
{
	struct tre *t = p->tre;
	_cleanup_esys_ TPM2B_ATTEST *att = NULL;
	_cleanup_esys_ TPMT_SIGNATURE *sig = NULL;
	TPMT_SIG_SCHEME null = { .scheme = TPM2_ALG_NULL };
	TPM2B_DATA q = { .size = (UINT16)nonce_len };
	TSS2_RC rc;
	int r = 0;

	memcpy(q.buffer, nonce, nonce_len);
	/* Both loaded at once: loading one may have made room by flushing
	 * the other (a TPM without a resource manager holds 3 objects). */
	for (int i = 0; i < 3 && r == 0; i++) {
		r = ak_ensure(t);
		if (r == 0)
			r = tre_parent_ensure_loaded(p);
		if (r == 0 && t->ak != ESYS_TR_NONE)
			break;
	}
	if (r == 0 && t->ak == ESYS_TR_NONE)
		r = tre_failerr(t, -ENOSPC, "no room for the AK and the storage parent");
	if (r < 0)
		return r;
	/* The parent: ADMIN role with its (empty) authValue; AK: USER role. */
	rc = Esys_Certify(t->esys, p->handle, t->ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD,
			  ESYS_TR_NONE, &q, &null, &att, &sig);
	if (rc)
		return tre_fail(t, rc, "certifying the storage parent with the AK");
	*ret_attest = *att;
	*ret_sig = *sig;
	return 0;
}

int tre_certify_parent(struct tre_parent *p, const uint8_t *nonce, size_t nonce_len,
		       TPM2B_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig)
{
	if (nonce_len > sizeof(((TPM2B_DATA *)0)->buffer))
		return -EINVAL;
	return TRE_RETRY(p->tre, certify_parent(p, nonce, nonce_len, ret_attest, ret_sig));
}

/* ---- PCRs and quotes ---- */

static bool sel_empty(const TPML_PCR_SELECTION *s)
{
	for (uint32_t i = 0; i < s->count; i++)
		for (uint32_t j = 0; j < s->pcrSelections[i].sizeofSelect; j++)
			if (s->pcrSelections[i].pcrSelect[j])
				return false;
	return true;
}

static void sel_remove(TPML_PCR_SELECTION *s, const TPML_PCR_SELECTION *done)
{
	for (uint32_t i = 0; i < done->count; i++)
		for (uint32_t k = 0; k < s->count; k++)
			if (s->pcrSelections[k].hash == done->pcrSelections[i].hash)
				for (uint32_t j = 0; j < done->pcrSelections[i].sizeofSelect &&
						     j < TPM2_PCR_SELECT_MAX; j++)
					s->pcrSelections[k].pcrSelect[j] &=
						(uint8_t)~done->pcrSelections[i].pcrSelect[j];
}

int tre_pcr_read(struct tre *t, const TPML_PCR_SELECTION *sel, TPM2B_DIGEST *vals, uint32_t max,
		 uint32_t *ret_n)
{
	TPML_PCR_SELECTION left = *sel;
	uint32_t n = 0;

	if (sel->count > TPM2_NUM_PCR_BANKS)
		return -EINVAL;
	/* PCR_Read returns at most 8 digests; values come in selection order. */
	while (!sel_empty(&left)) {
		_cleanup_esys_ TPML_PCR_SELECTION *got = NULL;
		_cleanup_esys_ TPML_DIGEST *d = NULL;
		uint32_t counter;
		TSS2_RC rc;

		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &left,
				   &counter, &got, &d);
		if (rc)
			return tre_fail(t, rc, "PCR_Read");
		if (d->count == 0)
			return tre_failerr(t, -EINVAL, "PCR selection names PCRs the TPM lacks");
		if (n + d->count > max)
			return tre_failerr(t, -EMSGSIZE, "too many PCRs selected");
		for (uint32_t i = 0; i < d->count; i++)
			vals[n++] = d->digests[i];
		sel_remove(&left, got);
	}
	*ret_n = n;
	return 0;
}

int tre_event_log_read(const char *path, uint8_t **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	*ret = NULL;
	*ret_len = 0;
	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	/* securityfs files report size 0: read until EOF, bounded. */
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *nb;

			if (cap >= TRE_EVENTLOG_MAX)
				return -EFBIG;
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

void tre_quote_clear(struct tre_quote *q)
{
	free(q->bios_log);
	free(q->ima_log);
	memset(q, 0, sizeof(*q));
}

static int quote(struct tre *t, const TPML_PCR_SELECTION *sel, const uint8_t *nonce,
		 size_t nonce_len, struct tre_quote *ret)
{
	_cleanup_esys_ TPM2B_ATTEST *att = NULL;
	_cleanup_esys_ TPMT_SIGNATURE *sig = NULL;
	TPMT_SIG_SCHEME null = { .scheme = TPM2_ALG_NULL };
	TPM2B_DATA q = { .size = (UINT16)nonce_len };
	TSS2_RC rc;
	int r;

	memcpy(q.buffer, nonce, nonce_len);
	r = ak_ensure(t);
	if (r < 0)
		return r;
	rc = Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &q, &null,
			sel, &att, &sig);
	if (rc)
		return tre_fail(t, rc, "TPM2_Quote");
	ret->attest = *att;
	ret->signature = *sig;
	ret->sel = *sel;
	return tre_pcr_read(t, sel, ret->pcrs, ARRAY_SIZE(ret->pcrs), &ret->npcrs);
}

int tre_quote(struct tre *t, const TPML_PCR_SELECTION *sel, const uint8_t *nonce,
	      size_t nonce_len, struct tre_quote *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if (nonce_len > sizeof(((TPM2B_DATA *)0)->buffer) || sel->count > TPM2_NUM_PCR_BANKS)
		return -EINVAL;
	r = TRE_RETRY(t, quote(t, sel, nonce, nonce_len, ret));
	if (r < 0)
		return r;
	r = tre_event_log_read(tre_bios_log_path, &ret->bios_log, &ret->bios_log_len);
	if (r == 0)
		r = tre_event_log_read(tre_ima_log_path, &ret->ima_log, &ret->ima_log_len);
	if (r < 0) {
		tre_quote_clear(ret);
		return tre_failerr(t, r, "reading the event logs: %s", strerror(-r));
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	_cleanup_close_ int fd = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tre_quote_export(struct tre *t, const struct tre_quote *q, const char *dir)
{
	struct tpm2_pcr_values v = { .selection = q->sel, .count = q->npcrs };
	char msg[4096], sig[4096], pcrs[4096], pub[4096], pem[4096];
	TPM2B_PUBLIC ak;
	int r;

	if (q->npcrs > ARRAY_SIZE(v.digests))
		return -EINVAL;
	memcpy(v.digests, q->pcrs, q->npcrs * sizeof(q->pcrs[0]));
	snprintf(msg, sizeof(msg), "%s/quote.msg", dir);
	snprintf(sig, sizeof(sig), "%s/quote.sig", dir);
	snprintf(pcrs, sizeof(pcrs), "%s/quote.pcrs", dir);
	snprintf(pub, sizeof(pub), "%s/ak.pub", dir);
	snprintf(pem, sizeof(pem), "%s/ak.pem", dir);
	r = tre_ak_public(t, &ak, NULL);
	if (r < 0)
		return r;
	r = tpm2_quote_export(msg, sig, pcrs, q->attest.attestationData, q->attest.size,
			      &q->signature, &v);
	if (r == 0)
		r = tpm2_public_export(pub, &ak, false);
	if (r == 0)
		r = tpm2_public_export(pem, &ak, true);
	if (r == 0 && q->bios_log)
		r = write_file(dir, "binary_bios_measurements", q->bios_log, q->bios_log_len);
	if (r == 0 && q->ima_log)
		r = write_file(dir, "ima_runtime_measurements", q->ima_log, q->ima_log_len);
	if (r < 0)
		return tre_failerr(t, r, "exporting the quote to %s: %s", dir, tpm2_verify_strerror(r));
	return 0;
}
