/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-use hot path over SAPI: PolicyPCR, PolicyAuthorize and the use
 * (EncryptDecrypt2 or Unseal) on a salted policy session whose session
 * crypto we do ourselves.
 *
 * Why: tpm2-tss 3.2 runs each hash and HMAC of ESAPI's session code in a
 * fresh OpenSSL library context (tpm2-software/tpm2-tss#2152), and OpenSSL
 * 3.0 rebuilds its algorithm name map for every such context: about 26
 * million instructions per session-authorized command, 7-8 ms of CPU per
 * MILENAGE authentication on our test VM (docs/tre.md section 6).  The same
 * session protocol with the default library context costs a small fraction.
 *
 * The protocol (TPM 2.0 Part 1):
 *   19.6.8  sessionKey = KDFa(SHA256, salt, "ATH", nonceTPM, nonceCaller)
 *   19.6.5  command HMAC = HMAC(sessionKey || authValue, cpHash ||
 *           nonceCaller || nonceTPM || sessionAttributes), cpHash =
 *           H(commandCode || names || parameters); the response HMAC over
 *           rpHash = H(responseCode || commandCode || parameters) with
 *           the nonces swapped
 *   21.3    parameter encryption: AES-CFB with key || IV = KDFa(SHA256,
 *           sessionKey || authValue, "CFB", nonceNewer, nonceOlder)
 * Every MCIM object has an empty authValue and is policy-only, so the HMAC
 * and CFB keys are the session key alone.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_sys.h>

#include "lib/tpm2-crypto.h"
#include "tre-internal.h"

#define NONCE_LEN 16
#define UNSEAL_MAX 128

struct tre_fast {
	TSS2_SYS_CONTEXT *sys;
	size_t sys_size;             /* bytes at sys: its command/response buffer ends there */
	TPMI_SH_AUTH_SESSION handle; /* 0: none */
	uint8_t key[32];             /* sessionKey */
	TPM2B_NONCE nonce_tpm;
	EVP_CIPHER *cfb;             /* pre-fetched AES-128-CFB */
};

int tre_fast_open(struct tre *t)
{
	TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
	struct tre_fast *f = calloc(1, sizeof(*f));
	size_t size = Tss2_Sys_GetContextSize(0);

	if (!f)
		return -ENOMEM;
	f->sys = calloc(1, size);
	f->cfb = EVP_CIPHER_fetch(NULL, "AES-128-CFB", NULL);
	if (!f->sys || !f->cfb ||
	    Tss2_Sys_Initialize(f->sys, size, tre_tcti_context(t->tcti), &abi) != TSS2_RC_SUCCESS) {
		EVP_CIPHER_free(f->cfb);
		free(f->sys);
		free(f);
		return -ENOMEM;
	}
	f->sys_size = size;
	t->fast = f;
	return 0;
}

/* The session is gone (TPM reset) or must not be used any more. */
void tre_fast_forget(struct tre *t)
{
	if (!t->fast)
		return;
	t->fast->handle = 0;
	wipe(t->fast->key, sizeof(t->fast->key));
}

static void fast_flush(struct tre *t)
{
	struct tre_fast *f = t->fast;

	if (f && f->handle)
		Tss2_Sys_FlushContext(f->sys, f->handle);
	tre_fast_forget(t);
}

void tre_fast_close(struct tre *t)
{
	struct tre_fast *f = t->fast;

	if (!f)
		return;
	fast_flush(t);
	Tss2_Sys_Finalize(f->sys);
	free(f->sys);
	EVP_CIPHER_free(f->cfb);
	wipe(f, sizeof(*f));
	free(f);
	t->fast = NULL;
}

/* A salted policy session: the salt goes to the SRK (pinned if set). */
static int fast_start(struct tre *t)
{
	struct tre_fast *f = t->fast;
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	_cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
	TPM2B_NONCE caller = { .size = NONCE_LEN };
	TPM2B_ENCRYPTED_SECRET enc = { 0 };
	uint8_t salt[TPM2_SEED_MAX];
	size_t salt_len = 0;
	TPM2_HANDLE srk_h;
	ESYS_TR srk;
	TSS2_RC rc;
	int r;

	r = tre_srk_get(t, t->epoch, &srk);
	if (r < 0)
		return r;
	rc = Esys_TR_GetTpmHandle(t->esys, srk, &srk_h);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_ReadPublic(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
				     NULL, NULL);
	if (rc)
		return tre_fail(t, rc, "reading the SRK for the session salt");
	{
		/* The public key the salt goes to must be the SRK whose name was
		 * checked (and pinned) when it was created, not a substitute. */
		_cleanup_esys_ TPM2B_NAME *want = NULL;
		TPM2B_NAME got;

		rc = Esys_TR_GetName(t->esys, srk, &want);
		if (rc || tpm2_public_name(&pub->publicArea, &got) < 0 || got.size != want->size ||
		    memcmp(got.name, want->name, got.size) != 0)
			return tre_failerr(t, -EBADMSG, "the SRK public read back does not match its name");
	}
	if (RAND_bytes(caller.buffer, NONCE_LEN) != 1)
		return tre_failerr(t, -EIO, "no random nonce");
	r = tpm2_seed_new(&pub->publicArea, "SECRET", salt, &salt_len, &enc);
	if (r < 0)
		return tre_failerr(t, r, "making the session salt");
	f->nonce_tpm = (TPM2B_NONCE){ .size = sizeof(f->nonce_tpm.buffer) };
	rc = Tss2_Sys_StartAuthSession(f->sys, srk_h, TPM2_RH_NULL, NULL, &caller, &enc,
				       TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &f->handle,
				       &f->nonce_tpm, NULL);
	if (rc) {
		wipe(salt, sizeof(salt));
		f->handle = 0;
		return tre_fail(t, rc, "starting the salted policy session");
	}
	r = tpm2_kdfa(TPM2_ALG_SHA256, salt, salt_len, "ATH", f->nonce_tpm.buffer,
		      f->nonce_tpm.size, caller.buffer, caller.size, f->key, sizeof(f->key));
	wipe(salt, sizeof(salt));
	if (r < 0) {
		fast_flush(t);
		return tre_failerr(t, r, "deriving the session key");
	}
	return 0;
}

/* Starts the session ahead of the first use, so that no use pays for it. */
int tre_fast_ready(struct tre *t)
{
	if (!t->fast || t->fast->handle)
		return 0;
	return fast_start(t);
}

static int cfb(struct tre_fast *f, bool encrypt, const uint8_t *newer, size_t newer_len,
	       const uint8_t *older, size_t older_len, uint8_t *buf, size_t len)
{
	uint8_t kiv[32];
	EVP_CIPHER_CTX *c;
	int n = 0, ok;

	if (tpm2_kdfa(TPM2_ALG_SHA256, f->key, sizeof(f->key), "CFB", newer, newer_len, older,
		      older_len, kiv, sizeof(kiv)) < 0)
		return -EIO;
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_CipherInit_ex2(c, f->cfb, kiv, kiv + 16, encrypt, NULL) &&
	     EVP_CipherUpdate(c, buf, &n, buf, (int)len) && n == (int)len;
	EVP_CIPHER_CTX_free(c);
	wipe(kiv, sizeof(kiv));
	return ok ? 0 : -EIO;
}

/* HMAC(sessionKey, digest || nonceNewer || nonceOlder || attrs). */
static void session_hmac(struct tre_fast *f, const uint8_t digest[32], const TPM2B_NONCE *newer,
			 const TPM2B_NONCE *older, uint8_t attrs, TPM2B_AUTH *out)
{
	uint8_t msg[32 + 2 * sizeof(newer->buffer) + 1];
	unsigned int len = 0;
	size_t n = 0;

	memcpy(msg, digest, 32);
	n = 32;
	memcpy(msg + n, newer->buffer, newer->size);
	n += newer->size;
	memcpy(msg + n, older->buffer, older->size);
	n += older->size;
	msg[n++] = attrs;
	HMAC(EVP_sha256(), f->key, sizeof(f->key), msg, n, out->buffer, &len);
	out->size = (UINT16)len;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Is [p, p + n) inside the SAPI context, whose buffer holds the response? */
static bool in_sys(const struct tre_fast *f, const uint8_t *p, size_t n)
{
	const uint8_t *base = (const uint8_t *)f->sys;

	return p && p >= base && (size_t)(p - base) <= f->sys_size &&
	       n <= f->sys_size - (size_t)(p - base);
}

/*
 * Runs the prepared command (one handle, name) authorized by the session,
 * encrypting the first command parameter when dec and decrypting the first
 * response parameter, at most enc_max bytes, when enc_max > 0.  Any failure
 * flushes the session: after the policy commands its digest is spent, and
 * a command that failed before it was sent leaves it half-used.
 */
static int fast_exec(struct tre *t, TPM2_CC cc, const TPM2B_NAME *name, bool dec, size_t enc_max,
		     const char *what)
{
	struct tre_fast *f = t->fast;
	TPMA_SESSION attrs = TPMA_SESSION_CONTINUESESSION | (dec ? TPMA_SESSION_DECRYPT : 0) |
			     (enc_max ? TPMA_SESSION_ENCRYPT : 0);
	TSS2L_SYS_AUTH_COMMAND cmd = { .count = 1 };
	TSS2L_SYS_AUTH_RESPONSE rsp = { 0 };
	TPM2B_NONCE caller = { .size = NONCE_LEN };
	const uint8_t *p, *rp;
	uint8_t digest[32], hdr[8];
	TPM2B_AUTH check;
	size_t n, rp_n;
	TSS2_RC rc;
	int r;

	if (RAND_bytes(caller.buffer, NONCE_LEN) != 1) {
		r = tre_failerr(t, -EIO, "no random nonce");
		goto flush;
	}
	if (dec) {
		uint8_t buf[sizeof(TPM2B_MAX_BUFFER)];

		/* Fail closed: a parameter tpm2-tss cannot find would go out in
		 * clear with the decrypt attribute set (Part 1, 21.1). */
		if (Tss2_Sys_GetDecryptParam(f->sys, &n, &p) != TSS2_RC_SUCCESS || !n ||
		    !in_sys(f, p, n)) {
			r = tre_failerr(t, -EIO, "%s: no parameter to encrypt", what);
			goto flush;
		}
		if (n > sizeof(buf)) {
			r = tre_failerr(t, -EMSGSIZE, "%s: parameter too large", what);
			goto flush;
		}
		memcpy(buf, p, n);
		if (cfb(f, true, caller.buffer, caller.size, f->nonce_tpm.buffer,
			f->nonce_tpm.size, buf, n) < 0 ||
		    Tss2_Sys_SetDecryptParam(f->sys, n, buf) != TSS2_RC_SUCCESS) {
			wipe(buf, sizeof(buf));
			r = tre_failerr(t, -EIO, "%s: parameter encryption", what);
			goto flush;
		}
		wipe(buf, sizeof(buf));
	}
	/* cpHash = H(commandCode || name || parameters) */
	if (Tss2_Sys_GetCpBuffer(f->sys, &n, &p) != TSS2_RC_SUCCESS) {
		r = tre_failerr(t, -EIO, "%s: no command buffer", what);
		goto flush;
	}
	be32(hdr, cc);
	{
		struct tpm2_buf parts[] = { { hdr, 4 }, { name->name, name->size }, { p, n } };

		if (tpm2_hashv(TPM2_ALG_SHA256, parts, ARRAY_SIZE(parts), digest) < 0) {
			r = tre_failerr(t, -EIO, "%s: cpHash", what);
			goto flush;
		}
	}
	cmd.auths[0] = (TPMS_AUTH_COMMAND){ .sessionHandle = f->handle, .nonce = caller,
					    .sessionAttributes = attrs };
	session_hmac(f, digest, &caller, &f->nonce_tpm, attrs, &cmd.auths[0].hmac);
	if (Tss2_Sys_SetCmdAuths(f->sys, &cmd) != TSS2_RC_SUCCESS) {
		r = tre_failerr(t, -EIO, "%s: setting the authorization", what);
		goto flush;
	}
	rc = Tss2_Sys_Execute(f->sys);
	if (rc) {
		/* The session's state is unknown now: start a fresh one next time. */
		r = tre_fail(t, rc, "%s", what);
		goto flush;
	}
	if (Tss2_Sys_GetRspAuths(f->sys, &rsp) != TSS2_RC_SUCCESS || rsp.count != 1 ||
	    Tss2_Sys_GetRpBuffer(f->sys, &rp_n, &rp) != TSS2_RC_SUCCESS || !in_sys(f, rp, rp_n)) {
		r = tre_failerr(t, -EIO, "%s: malformed response", what);
		goto flush;
	}
	/* rpHash = H(responseCode (0) || commandCode || parameters) */
	memset(hdr, 0, 4);
	be32(hdr + 4, cc);
	{
		struct tpm2_buf parts[] = { { hdr, 8 }, { rp, rp_n } };

		if (tpm2_hashv(TPM2_ALG_SHA256, parts, ARRAY_SIZE(parts), digest) < 0) {
			r = tre_failerr(t, -EIO, "%s: rpHash", what);
			goto flush;
		}
	}
	session_hmac(f, digest, &rsp.auths[0].nonce, &caller, rsp.auths[0].sessionAttributes,
		     &check);
	if (check.size != rsp.auths[0].hmac.size ||
	    CRYPTO_memcmp(check.buffer, rsp.auths[0].hmac.buffer, check.size) != 0) {
		r = tre_failerr(t, -EBADMSG, "%s: the response HMAC does not verify", what);
		goto flush;
	}
	f->nonce_tpm = rsp.auths[0].nonce;
	if (enc_max) {
		/* The first response parameter is a TPM2B at the start of the
		 * parameter area (Part 1, 21.1): its size field comes from the
		 * TPM, unchecked by tpm2-tss.  It must lie inside the parameter
		 * area and not exceed what the command can return, or the
		 * in-place decryption below would run past the buffer. */
		if (Tss2_Sys_GetEncryptParam(f->sys, &n, &p) != TSS2_RC_SUCCESS || p != rp + 2 ||
		    n + 2 > rp_n || n > enc_max) {
			r = tre_failerr(t, -EBADMSG, "%s: response parameter out of bounds", what);
			goto flush;
		}
		/* Decrypted in place in the SAPI response buffer, which the
		 * caller wipes after _Complete. */
		if (n && cfb(f, false, f->nonce_tpm.buffer, f->nonce_tpm.size, caller.buffer,
			     caller.size, (uint8_t *)p, n) < 0) {
			r = tre_failerr(t, -EIO, "%s: parameter decryption", what);
			goto flush;
		}
	}
	return 0;
flush:
	if (!t->need_restart)
		fast_flush(t);
	return r;
}

/*
 * Runs the per-use policy.  *lost is set when PolicyPCR failed for another
 * reason than the PCR check (TPM_RC_VALUE, Part 3 23.7): the session may be
 * gone (flushed by someone else, evicted by a resource manager), and the
 * session was flushed so that the caller can retry once on a new one.
 */
static int fast_policy(struct tre_key *k, bool *lost)
{
	struct tre *t = k->tre;
	struct tre_fast *f = t->fast;
	TSS2_RC rc;

	*lost = false;
	rc = Tss2_Sys_PolicyPCR(f->sys, f->handle, NULL, &k->policy.pcr_digest, &k->policy.pcrs,
				NULL);
	if (rc) {
		int r = tre_fail(t, rc, "PolicyPCR");

		if (tre_rc_base(rc) == TPM2_RC_VALUE) {
			snprintf(t->err, sizeof(t->err),
				 "platform state differs from the approved PCR reference"
				 " (tamper event or unapproved change): key refused by the TPM");
			r = -EKEYREJECTED;
		} else if (!t->need_restart) {
			fast_flush(t);
			*lost = true;
		}
		return r;
	}
	rc = Tss2_Sys_PolicyAuthorize(f->sys, f->handle, NULL, &k->policy.approved,
				      &k->policy.policy_ref, &k->op_name, &k->ticket, NULL);
	if (rc) {
		int r = tre_fail(t, rc, "PolicyAuthorize");

		if (!t->need_restart)
			fast_flush(t); /* its digest now holds PolicyPCR */
		return r == -EIO || r == -EINVAL ? -EKEYREJECTED : r;
	}
	return 0;
}

/* Wipes the response parameters, clamped to the SAPI buffer: the size
 * tpm2-tss reports comes from the response's parameterSize field, which a
 * forged response (e.g. to the FlushContext of an error path) sets at will. */
static void wipe_rp(struct tre_fast *f)
{
	const uint8_t *base = (const uint8_t *)f->sys, *p;
	size_t n;

	if (Tss2_Sys_GetRpBuffer(f->sys, &n, &p) != TSS2_RC_SUCCESS || !p || p < base ||
	    (size_t)(p - base) >= f->sys_size)
		return;
	if (n > f->sys_size - (size_t)(p - base))
		n = f->sys_size - (size_t)(p - base);
	explicit_bzero((uint8_t *)p, n);
}

/* Handle and Name of a loaded key, for the command and its cpHash. */
static int key_target(struct tre_key *k, TPM2_HANDLE *h, TPM2B_NAME *name)
{
	struct tre *t = k->tre;
	_cleanup_esys_ TPM2B_NAME *n = NULL;
	TSS2_RC rc;

	rc = Esys_TR_GetTpmHandle(t->esys, k->handle, h);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_TR_GetName(t->esys, k->handle, &n);
	if (rc)
		return tre_fail(t, rc, "the key's handle");
	*name = *n;
	return 0;
}

static int fast_prepare(struct tre_key *k, TPM2_HANDLE *h, TPM2B_NAME *name)
{
	struct tre *t = k->tre;
	int r;

	if (!k->has_policy)
		return tre_failerr(t, -EPERM, "no operator-approved policy set for this key");
	/* Twice at most: once more on a new session when the first was lost. */
	for (int i = 0; i < 2; i++) {
		bool lost = false;

		if (!t->fast->handle) {
			r = fast_start(t);
			if (r < 0)
				return r;
		}
		r = tre_key_ensure_loaded(k);
		if (r == 0)
			r = key_target(k, h, name);
		if (r == 0)
			r = fast_policy(k, &lost);
		if (!lost)
			break;
	}
	return r;
}

int tre_fast_ed2(struct tre_key *k, const uint8_t *in, size_t len, TPMI_ALG_CIPHER_MODE mode,
		 const TPM2B_IV *iv, uint8_t *out)
{
	struct tre *t = k->tre;
	struct tre_fast *f = t->fast;
	TPM2B_MAX_BUFFER i = { .size = (UINT16)len }, o = { 0 };
	TPM2B_IV ivo = { 0 };
	TPM2B_NAME name;
	TPM2_HANDLE h;
	TSS2_RC rc;
	int r;

	r = fast_prepare(k, &h, &name);
	if (r < 0)
		return r;
	memcpy(i.buffer, in, len);
	rc = Tss2_Sys_EncryptDecrypt2_Prepare(f->sys, h, &i, TPM2_NO, mode, iv);
	wipe(&i, sizeof(i));
	if (rc) {
		r = tre_fail(t, rc, "EncryptDecrypt2");
		fast_flush(t); /* its policy digest is spent */
		return r;
	}
	r = fast_exec(t, TPM2_CC_EncryptDecrypt2, &name, true, len, "EncryptDecrypt2");
	if (r < 0) {
		wipe_rp(f);
		return r;
	}
	rc = Tss2_Sys_EncryptDecrypt2_Complete(f->sys, &o, &ivo);
	wipe_rp(f);
	if (rc || o.size != len) {
		wipe(&o, sizeof(o));
		return rc ? tre_fail(t, rc, "EncryptDecrypt2")
			  : tre_failerr(t, -EIO, "EncryptDecrypt2 returned %u bytes", o.size);
	}
	memcpy(out, o.buffer, len);
	wipe(&o, sizeof(o));
	return 0;
}

int tre_fast_unseal(struct tre_key *k, uint8_t *buf, size_t max, size_t *ret_len)
{
	struct tre *t = k->tre;
	struct tre_fast *f = t->fast;
	TPM2B_SENSITIVE_DATA o = { 0 };
	TPM2B_NAME name;
	TPM2_HANDLE h;
	TSS2_RC rc;
	int r;

	r = fast_prepare(k, &h, &name);
	if (r < 0)
		return r;
	rc = Tss2_Sys_Unseal_Prepare(f->sys, h);
	if (rc) {
		r = tre_fail(t, rc, "Unseal");
		fast_flush(t); /* its policy digest is spent */
		return r;
	}
	/* outData: TPM2B_SENSITIVE_DATA, at most MAX_SYM_DATA = 128 bytes
	 * (Part 2, 11.1.14 and the reference implementation's Annex). */
	r = fast_exec(t, TPM2_CC_Unseal, &name, false, UNSEAL_MAX, "Unseal");
	if (r < 0) {
		wipe_rp(f);
		return r;
	}
	rc = Tss2_Sys_Unseal_Complete(f->sys, &o);
	wipe_rp(f);
	if (rc == 0 && o.size <= max) {
		memcpy(buf, o.buffer, o.size);
		*ret_len = o.size;
	}
	r = rc ? tre_fail(t, rc, "Unseal") : o.size > max ? tre_failerr(t, -EIO, "unsealed %u bytes", o.size) : 0;
	wipe(&o, sizeof(o));
	return r;
}
