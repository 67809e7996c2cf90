/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TRE's TPM session code against a hostile bus (security review, issue
 * 5): what a sniffer sees in CFB-only mode, responses forged by a malicious
 * TPM or interposer, a session flushed behind the TRE's back, and local
 * failures after the policy commands.  A TCTI shim between the counting
 * TCTI and swtpm records or rewrites the bytes.  Runs under
 * tests/lib/with-swtpm.
 *
 * It includes daemon/tre/fast.c to reach the hot path's session key (a
 * malicious TPM knows it: it makes a validly HMAC'd forged response) and its
 * SAPI context, which it re-creates in a larger allocation whose tail is a
 * canary: a decryption or wipe that runs past the SAPI buffer changes it.
 */
#include "daemon/tre/fast.c"

#include "daemon/aka/aka.h"
#include "daemon/tre/tre-aka.h"
#include "tre-test.h"

#define CANARY_LEN 0x20000
#define CANARY 0xa5
#define BUS_MAX (1u << 20)

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- The shim ---- */

enum evil {
	EVIL_NONE,
	EVIL_ED2_SIZE,    /* EncryptDecrypt2: outData.size := 0xffff, HMAC re-made */
	EVIL_UNSEAL_PSIZE, /* Unseal: parameterSize := huge; FlushContext forged */
};

static struct {
	struct tre *t;
	TSS2_TCTI_TRANSMIT_FCN tx;
	TSS2_TCTI_RECEIVE_FCN rx;
	uint8_t *bus; /* every command and response while recording */
	size_t bus_len;
	bool record;
	enum evil evil;
	unsigned forged;
	uint8_t cmd[4096];
} shim;

static void bus_add(const uint8_t *p, size_t n)
{
	if (!shim.record || shim.bus_len + n > BUS_MAX)
		return;
	memcpy(shim.bus + shim.bus_len, p, n);
	shim.bus_len += n;
}

static TSS2_RC shim_tx(TSS2_TCTI_CONTEXT *c, size_t n, const uint8_t *cmd)
{
	memcpy(shim.cmd, cmd, n < sizeof(shim.cmd) ? n : sizeof(shim.cmd));
	bus_add(cmd, n);
	return shim.tx(c, n, cmd);
}

/* A malicious TPM answers EncryptDecrypt2 with outData.size 0xffff. */
static void forge_ed2(uint8_t *rsp)
{
	const uint8_t *nc = shim.cmd + 22; /* hdr 10, handle 4, authSize 4, session 4 */
	uint16_t ncl = g16(nc);
	uint32_t ps = g32(rsp + 10);
	uint8_t *rp = rsp + 14, *a = rp + ps;
	uint16_t ntl = g16(a);
	uint8_t *attrs = a + 2 + ntl, *hm = attrs + 3;
	uint8_t hdr[8] = { 0 }, dig[32], msg[32 + 2 * 64 + 1];
	unsigned int hl = 0;
	size_t m = 0;

	rp[0] = rp[1] = 0xff;
	be32(hdr + 4, TPM2_CC_EncryptDecrypt2);
	{
		struct tpm2_buf parts[] = { { hdr, 8 }, { rp, ps } };

		tpm2_hashv(TPM2_ALG_SHA256, parts, 2, dig);
	}
	memcpy(msg, dig, 32);
	m = 32;
	memcpy(msg + m, a + 2, ntl);
	m += ntl;
	memcpy(msg + m, nc + 2, ncl);
	m += ncl;
	msg[m++] = *attrs;
	HMAC(EVP_sha256(), shim.t->fast->key, 32, msg, m, hm, &hl);
	shim.forged++;
}

static TSS2_RC shim_rx(TSS2_TCTI_CONTEXT *c, size_t *n, uint8_t *rsp, int32_t to)
{
	TSS2_RC rc = shim.rx(c, n, rsp, to);
	uint32_t cc = g32(shim.cmd + 6);

	if (rc || !rsp || *n < 10)
		return rc;
	if (shim.evil == EVIL_ED2_SIZE && cc == TPM2_CC_EncryptDecrypt2 && g32(rsp + 6) == 0) {
		forge_ed2(rsp);
	} else if (shim.evil == EVIL_UNSEAL_PSIZE && cc == TPM2_CC_Unseal && g32(rsp + 6) == 0) {
		be32(rsp + 10, 0x10000);
		shim.forged++;
	} else if (shim.evil == EVIL_UNSEAL_PSIZE && cc == TPM2_CC_FlushContext) {
		static const uint8_t f[14] = { 0x80, 0x02, 0, 0, 0, 14, 0, 0, 0, 0, 0, 1, 0, 0 };

		memcpy(rsp, f, sizeof(f));
		*n = sizeof(f);
		shim.forged++;
	}
	bus_add(rsp, *n);
	return rc;
}

static void shim_install(struct tre *t)
{
	TSS2_TCTI_CONTEXT_COMMON_V1 *c = (TSS2_TCTI_CONTEXT_COMMON_V1 *)tre_tcti_context(t->tcti);

	shim.t = t;
	shim.tx = c->transmit;
	shim.rx = c->receive;
	c->transmit = shim_tx;
	c->receive = shim_rx;
}

static bool on_bus(const uint8_t *p, size_t n)
{
	return memmem(shim.bus, shim.bus_len, p, n) != NULL;
}

/* ---- The hot path's SAPI context, with a canary after it ---- */

static uint8_t *canary_sys(struct tre *t)
{
	struct tre_fast *f = t->fast;
	TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
	size_t size = Tss2_Sys_GetContextSize(0); /* as tre_fast_open() */
	uint8_t *mem = calloc(1, size + CANARY_LEN);

	if (!mem || Tss2_Sys_Initialize((TSS2_SYS_CONTEXT *)mem, size,
					tre_tcti_context(t->tcti), &abi) != TSS2_RC_SUCCESS) {
		free(mem);
		return NULL;
	}
	memset(mem + size, CANARY, CANARY_LEN);
	fast_flush(t);
	Tss2_Sys_Finalize(f->sys);
	free(f->sys);
	f->sys = (TSS2_SYS_CONTEXT *)mem;
	return mem;
}

static bool canary_intact(struct tre *t)
{
	const uint8_t *tail = (const uint8_t *)t->fast->sys + Tss2_Sys_GetContextSize(0);

	for (size_t i = 0; i < CANARY_LEN; i++)
		if (tail[i] != CANARY)
			return false;
	return true;
}

/* ---- Helpers ---- */

static void soft_ek(const uint8_t k[16], const uint8_t *in, uint8_t *out, size_t nblocks)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, k, NULL);
	EVP_CIPHER_CTX_set_padding(c, 0);
	EVP_EncryptUpdate(c, out, &n, in, (int)(16 * nblocks));
	EVP_CIPHER_CTX_free(c);
}

/* Records every E_K input and output of an authentication. */
struct rec_cipher {
	struct aka_cipher inner;
	uint8_t in[32][16], out[32][16];
	size_t n;
};

static int rec_encrypt(void *ctx, const uint8_t *in, uint8_t *out, size_t nblocks)
{
	struct rec_cipher *rc = ctx;
	int r = rc->inner.encrypt(rc->inner.ctx, in, out, nblocks);

	for (size_t b = 0; r == 0 && b < nblocks && rc->n < ARRAY_SIZE(rc->in); b++, rc->n++) {
		memcpy(rc->in[rc->n], in + 16 * b, 16);
		memcpy(rc->out[rc->n], out + 16 * b, 16);
	}
	return r;
}

static void sqn_fresh(const uint8_t sqn[6], struct aka_sqn_config *sc, struct aka_sqn_state *st)
{
	uint64_t v = 0;

	aka_sqn_config_default(sc);
	sc->ind_bits = 0;
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 6; i++)
		v = v << 8 | sqn[i];
	st->seq_ms[0] = v - 1;
}

/* ---- 1. CFB-only mode: neither X nor E_K(X) in clear on the bus ---- */

static void cfb_bus(const struct tt_operator *op, bool esapi)
{
	const char *path = esapi ? "ESAPI path" : "hot path";
	struct tre_config cfg;
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *k = NULL;
	struct aka_algo_config acfg = { .algo = AKA_ALGO_MILENAGE };
	struct aka_cipher soft = { 0 };
	struct aka_key sk = { 0 }, tk = { 0 };
	struct aka_sqn_config sc;
	struct aka_sqn_state st;
	struct aka_auth_result res = { 0 };
	struct aka_vector v;
	struct rec_cipher rc = { 0 };
	struct tre_policy pol;
	uint8_t kk[16], rand[16], sqn[6] = { 0, 0, 0, 0, 0x10, 0x20 }, amf[2] = { 0x80, 0 };
	unsigned leaks = 0, wrong = 0;
	int e;

	tre_config_init(&cfg);
	cfg.no_probe_ecb = true;
	cfg.no_fast_path = esapi;
	t = tt_open(&cfg);
	shim_install(t);
	if (!tap_ok(tre_mode(t) == TRE_MODE_AES_CFB, "%s: CFB-only mode (%s)", path,
		    tre_mode_name(tre_mode(t))))
		return;
	tt_random(kk, sizeof(kk));
	tt_random(rand, sizeof(rand));
	aka_milenage_params_default(&acfg.milenage);
	tt_random(acfg.milenage.opc, 16);
	e = tt_approve_now(t, op, &pol);
	if (e == 0)
		e = tt_key(t, op, &pol, TRE_KIND_AES, kk, 16, &k);
	if (!tap_ok(e == 0, "%s: CFB key ready", path))
		return;
	e = aka_soft_cipher_new(kk, &soft);
	sk.cipher = soft;
	if (e == 0)
		e = aka_network_generate(&acfg, &sk, rand, sqn, amf, &v);
	aka_soft_cipher_free(&soft);
	tre_aka_key(k, &tk);
	rc.inner = tk.cipher;
	tk.cipher = (struct aka_cipher){ .encrypt = rec_encrypt, .ctx = &rc };
	sqn_fresh(sqn, &sc, &st);

	shim.bus_len = 0;
	shim.record = true;
	if (e == 0)
		e = aka_usim_authenticate(&acfg, &tk, &sc, &st, rand, v.autn, v.autn_len, 0, &res);
	shim.record = false;
	tap_ok(e == 0 && res.status == AKA_STATUS_OK && res.res_len == v.xres_len &&
		       !memcmp(res.res, v.xres, v.xres_len) && !memcmp(res.ck, v.ck, 16) &&
		       !memcmp(res.ik, v.ik, 16),
	       "%s, CFB: RES/CK/IK through the TPM equal software MILENAGE (%zu E_K blocks)", path,
	       rc.n);
	for (size_t i = 0; i < rc.n; i++) {
		uint8_t ref[16];

		soft_ek(kk, rc.in[i], ref, 1);
		wrong += memcmp(ref, rc.out[i], 16) != 0;
		leaks += on_bus(rc.in[i], 16) + on_bus(rc.out[i], 16);
	}
	leaks += on_bus(acfg.milenage.opc, 16) + on_bus(kk, 16);
	tap_ok(rc.n == 5 && wrong == 0, "%s, CFB: each of the %zu E_K outputs equals software AES",
	       path, rc.n);
	tap_ok(rc.n > 0 && shim.bus_len > 0 && leaks == 0,
	       "%s, CFB: no X, E_K(X), OPc or K in clear in %zu bytes of commands and responses"
	       " (%u found)",
	       path, shim.bus_len, leaks);
	aka_auth_result_wipe(&res);
	shim.t = NULL;
}

/* ---- 2. and 3. Forged responses ---- */

static void forged_ed2(struct tre *t, struct tre_key *k, const uint8_t kk[16])
{
	uint8_t x[16], out[16], ref[16];
	int e;

	tt_random(x, sizeof(x));
	soft_ek(kk, x, ref, 1);
	if (!tap_ok(canary_sys(t) != NULL, "SAPI context re-made with a canary after it"))
		return;
	shim.forged = 0;
	shim.evil = EVIL_ED2_SIZE;
	e = tre_key_encrypt(k, x, out, 1);
	shim.evil = EVIL_NONE;
	tap_ok(shim.forged == 1 && e < 0, "EncryptDecrypt2 with outData.size 0xffff (HMAC valid):"
	       " refused (%d: %s)", e, tre_errmsg(t));
	tap_ok(canary_intact(t), "... and nothing written past the SAPI buffer");
	e = tre_key_encrypt(k, x, out, 1);
	tap_ok(e == 0 && !memcmp(out, ref, 16), "the next E_K works and is right (%d)", e);
}

static int got_secret(const uint8_t *s, size_t n, void *ud)
{
	return n == 16 && !memcmp(s, ud, 16) ? 0 : -EBADMSG;
}

static void forged_unseal(struct tre *t, struct tre_key *sealed, uint8_t kk[16])
{
	int e;

	if (!tap_ok(canary_sys(t) != NULL, "SAPI context re-made with a canary after it"))
		return;
	shim.forged = 0;
	shim.evil = EVIL_UNSEAL_PSIZE;
	e = tre_key_with_secret(sealed, got_secret, kk);
	shim.evil = EVIL_NONE;
	tap_ok(shim.forged >= 2 && e < 0,
	       "Unseal with parameterSize 0x10000, FlushContext answered with a forged"
	       " parameterSize: refused (%d, %u responses forged)", e, shim.forged);
	tap_ok(canary_intact(t), "... and nothing wiped past the SAPI buffer");
	e = tre_key_with_secret(sealed, got_secret, kk);
	tap_ok(e == 0, "the next Unseal works and gives K (%d)", e);
}

/* ---- 4. A session flushed behind the TRE's back ---- */

static void stale_fast(struct tre *t, struct tre_key *k, const uint8_t kk[16])
{
	uint8_t x[16], out[16], ref[16];
	TSS2_RC rc;
	int e;

	tt_random(x, sizeof(x));
	soft_ek(kk, x, ref, 1);
	e = tre_key_encrypt(k, x, out, 1);
	rc = Tss2_Sys_FlushContext(t->fast->sys, t->fast->handle);
	tap_ok(e == 0 && rc == 0, "hot path: session 0x%x flushed behind the TRE's back",
	       t->fast->handle);
	memset(out, 0, sizeof(out));
	e = tre_key_encrypt(k, x, out, 1);
	tap_ok(e == 0 && !memcmp(out, ref, 16),
	       "hot path: the next use succeeds on a new session and is right (%d %s)", e,
	       e ? tre_errmsg(t) : "");
}

/* Flushes the ESAPI session through a SAPI context of our own. */
static int flush_behind(struct tre *t, TPM2_HANDLE *ret_h)
{
	TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
	size_t size = Tss2_Sys_GetContextSize(0);
	TSS2_SYS_CONTEXT *sys = calloc(1, size);
	TSS2_RC rc;

	if (!sys || t->session == ESYS_TR_NONE ||
	    Esys_TR_GetTpmHandle(t->esys, t->session, ret_h) != TSS2_RC_SUCCESS ||
	    Tss2_Sys_Initialize(sys, size, tre_tcti_context(t->tcti), &abi) != TSS2_RC_SUCCESS) {
		free(sys);
		return -EIO;
	}
	rc = Tss2_Sys_FlushContext(sys, *ret_h);
	Tss2_Sys_Finalize(sys);
	free(sys);
	return rc ? -EIO : 0;
}

static void stale_esapi(const struct tt_operator *op)
{
	struct tre_config cfg;
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *k = NULL, *k2 = NULL;
	struct tre_policy pol;
	struct tre_blob blob;
	uint8_t kk[16], x[16], out[16], ref[16];
	TPM2_HANDLE h = 0;
	int e;

	tre_config_init(&cfg);
	cfg.no_fast_path = true;
	t = tt_open(&cfg);
	tt_random(kk, sizeof(kk));
	tt_random(x, sizeof(x));
	soft_ek(kk, x, ref, 1);
	e = tt_approve_now(t, op, &pol);
	if (e == 0)
		e = tt_key(t, op, &pol, TRE_KIND_AES, kk, 16, &k);
	if (e == 0)
		e = tt_import(t, op, TRE_KIND_AES, kk, 16, &blob);
	if (e == 0)
		e = tre_key_encrypt(k, x, out, 1);
	if (e == 0)
		e = flush_behind(t, &h);
	if (!tap_ok(e == 0, "ESAPI path: session 0x%x flushed behind the TRE's back", h))
		return;
	/* Loading runs PolicyNV (tre_srk_policy) in the session. */
	e = tre_key_load(t, &blob, &k2);
	tap_ok(e == 0, "ESAPI path: a load (PolicyNV) succeeds on a new session (%d %s)", e,
	       e ? tre_errmsg(t) : "");
	e = flush_behind(t, &h);
	if (!tap_ok(e == 0, "ESAPI path: session 0x%x flushed behind the TRE's back again", h))
		return;
	memset(out, 0, sizeof(out));
	e = tre_key_encrypt(k, x, out, 1);
	tap_ok(e == 0 && !memcmp(out, ref, 16),
	       "ESAPI path: the next use (PolicyPCR) succeeds on a new session (%d %s)", e,
	       e ? tre_errmsg(t) : "");
}

/* ---- 5. Local failures after the policy commands ---- */

static void local_failure(struct tre *t, struct tre_key *sealed, uint8_t kk[16])
{
	TPM2B_NAME name;
	TPM2_HANDLE h;
	uint64_t unseals, flushes;
	int e;

	e = fast_prepare(sealed, &h, &name);
	if (e == 0 && Tss2_Sys_Unseal_Prepare(t->fast->sys, h) != TSS2_RC_SUCCESS)
		e = -EIO;
	if (!tap_ok(e == 0, "PolicyPCR + PolicyAuthorize run, Unseal prepared"))
		return;
	unseals = tre_stats_cc(tre_stats(t), TPM2_CC_Unseal);
	flushes = tre_stats_cc(tre_stats(t), TPM2_CC_FlushContext);
	/* Unseal has no command parameter: nothing to encrypt. */
	e = fast_exec(t, TPM2_CC_Unseal, &name, true, 128, "Unseal");
	tap_ok(e < 0 && tre_stats_cc(tre_stats(t), TPM2_CC_Unseal) == unseals,
	       "no parameter to encrypt: fails closed, nothing sent (%d: %s)", e, tre_errmsg(t));
	tap_ok(t->fast->handle == 0 &&
		       tre_stats_cc(tre_stats(t), TPM2_CC_FlushContext) == flushes + 1,
	       "... and the spent session is flushed");
	e = tre_key_with_secret(sealed, got_secret, kk);
	tap_ok(e == 0, "the next Unseal works (%d)", e);
}

int main(void)
{
	struct tt_operator op;
	struct tre_policy pol;
	struct tre_config cfg;
	struct tre *t;
	struct tre_key *k = NULL, *sealed = NULL;
	uint8_t kk[16], ks[16];
	int e;

	shim.bus = malloc(BUS_MAX);
	if (!shim.bus)
		return 1;
	tt_operator_init(&op);

	/* 1 */
	cfb_bus(&op, false);
	cfb_bus(&op, true);

	/* 2, 3, 4 (hot path), 5: ECB, fast path */
	tre_config_init(&cfg);
	t = tt_open(&cfg);
	shim_install(t);
	tt_random(kk, sizeof(kk));
	tt_random(ks, sizeof(ks));
	e = tt_approve_now(t, &op, &pol);
	if (e == 0)
		e = tt_key(t, &op, &pol, TRE_KIND_AES, kk, 16, &k);
	if (e == 0)
		e = tt_key(t, &op, &pol, TRE_KIND_SEALED, ks, 16, &sealed);
	if (tap_ok(e == 0 && t->fast, "hot path: AES and sealed keys ready")) {
		forged_ed2(t, k, kk);
		forged_unseal(t, sealed, ks);
		local_failure(t, sealed, ks);
		stale_fast(t, k, kk);
	}
	tre_key_free(k);
	tre_key_free(sealed);
	tre_close(t);

	stale_esapi(&op);
	tt_operator_free(&op);
	free(shim.bus);
	return tap_end();
}
