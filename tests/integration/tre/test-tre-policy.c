/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policies and robustness of the TRE on swtpm: a PCR change makes keys
 * unusable and an operator-signed policy makes them usable again; the epoch
 * counter revokes, and an old copy of the store does not bring keys back;
 * tamper response; no DA lockout from policy failures; running out of
 * object slots without a resource manager; a TPM restart (swtpm_ioctl -i).
 */
#include <openssl/evp.h>

#include "daemon/aka/aka.h"
#include "daemon/tre/tre-aka.h"
#include "tre-test.h"

static uint8_t K[16], OPC[16];

/* One MILENAGE AUTHENTICATE with key against the software network side. */
static int authenticate(struct tre_key *key)
{
	struct aka_algo_config cfg = { .algo = AKA_ALGO_MILENAGE };
	struct aka_key tk, sk = { 0 };
	struct aka_sqn_config sc;
	struct aka_sqn_state st = { 0 };
	struct aka_auth_result r;
	struct aka_vector v;
	uint8_t rand[16], sqn[6] = { 0, 0, 0, 0, 1, 0 }, amf[2] = { 0x80, 0 };
	int e;

	aka_milenage_params_default(&cfg.milenage);
	memcpy(cfg.milenage.opc, OPC, 16);
	tt_random(rand, 16);
	aka_sqn_config_default(&sc);
	if (aka_soft_cipher_new(K, &sk.cipher) < 0)
		return -ENOMEM;
	e = aka_network_generate(&cfg, &sk, rand, sqn, amf, &v);
	aka_soft_cipher_free(&sk.cipher);
	if (e < 0)
		return e;
	e = tre_aka_key(key, &tk);
	if (e == 0)
		e = aka_usim_authenticate(&cfg, &tk, &sc, &st, rand, v.autn, v.autn_len, 0, &r);
	if (e == 0 && (r.status != AKA_STATUS_OK || memcmp(r.res, v.xres, 8) != 0))
		e = -EPROTO;
	aka_auth_result_wipe(&r);
	return e;
}

static const char *reported;

static void on_tamper(const char *reason, void *user_data)
{
	*(int *)user_data += 1;
	reported = reason;
}

static void test_pcr_and_reapproval(struct tre *t, const struct tt_operator *op,
				    struct tre_policy *pol, struct tre_key *k)
{
	struct tre_policy newpol;
	int e;

	tap_ok(authenticate(k) == 0, "key usable with the approved platform state");
	/* A firmware update measured into PCR 7 (in the bound set). */
	e = tre_pcr_extend(t, 7, "firmware v2", 11);
	tap_ok(e == 0, "PCR 7 extended (firmware update)");
	tre_stats_reset(t);
	e = authenticate(k);
	tap_ok(e == -EKEYREJECTED, "after the PCR change the TPM refuses the key (%s)",
	       e == -EKEYREJECTED ? tre_errmsg(t) : strerror(-e));
	tap_ok(tre_stats(t)->commands == 1,
	       "it fails at the first policy command (%llu command sent)",
	       (unsigned long long)tre_stats(t)->commands);
	/* The operator approves the new reference values: no new download. */
	e = tt_approve_now(t, op, &newpol);
	if (e == 0)
		e = tre_key_set_policy(k, &newpol);
	tap_ok(e == 0, "operator-signed policy for the new PCR values accepted (VerifySignature)");
	tap_ok(authenticate(k) == 0, "the same key blob works again under the new approved policy");
	/* A policy signed by someone else is refused by the TPM. */
	{
		struct tt_operator other;
		struct tre_policy forged;

		tt_operator_init(&other);
		tt_approve_now(t, &other, &forged);
		forged.op_key = op->pub; /* claims to be the operator */
		e = tre_key_set_policy(k, &forged);
		tap_ok(e < 0, "a policy signed with another key is refused (%s)", strerror(-e));
		tt_operator_free(&other);
	}
	tap_ok(authenticate(k) == 0, "and the approved policy stays in force");
	*pol = newpol;
}

static void test_epoch(struct tre *t, const struct tt_operator *op, const struct tre_policy *pol,
		       struct tre_key **kp)
{
	_cleanup_tre_key_ struct tre_key *k2 = NULL, *old = NULL;
	struct tre_blob b1, b2, forged;
	TPM2B_ENCRYPTED_SECRET old_seed;
	TPM2B_PRIVATE old_dup;
	TPM2B_PUBLIC old_pub;
	uint64_t e0, e1;
	int e;

	e = tre_epoch(t, &e0);
	tap_ok(e == 0, "epoch counter read: %llu", (unsigned long long)e0);
	e = tt_import(t, op, TRE_KIND_AES, K, 16, &b1);
	tap_ok(e == 0 && b1.epoch == e0, "key imported at epoch %llu (the store's copy kept)",
	       (unsigned long long)e0);
	{
		TPM2B_PUBLIC srk, pub = { 0 };

		e = tre_srk_public(t, &srk);
		if (e == 0)
			e = tt_wrap(&srk, op, TRE_KIND_AES, K, 16, &pub, &old_dup, &old_seed);
		old_pub = pub;
	}
	e = tre_epoch_increment(t, &e1);
	tap_ok(e == 0 && e1 == e0 + 1, "epoch incremented to %llu", (unsigned long long)e1);
	e = tre_import(t, &old_pub, &old_dup, &old_seed, NULL, NULL, &forged);
	tap_ok(e == -EBADMSG,
	       "a duplication blob made for the old epoch's SRK no longer imports (%s)",
	       e < 0 ? tre_errmsg(t) : "imported");
	e = authenticate(*kp);
	tap_ok(e == -EKEYREVOKED, "the loaded key of the old epoch is revoked (%s)",
	       e < 0 ? tre_errmsg(t) : "worked");
	tre_key_free(*kp);
	*kp = NULL;
	e = tre_key_load(t, &b1, &old);
	tap_ok(e == -EKEYREVOKED, "restoring the old store copy does not bring the key back (%s)",
	       e < 0 ? tre_errmsg(t) : "loaded");
	/* The epoch field is only a hint: the TPM enforces it. */
	forged = b1;
	forged.epoch = e1;
	e = tre_key_load(t, &forged, &old);
	tap_ok(e == -EBADMSG, "an old blob relabelled with the new epoch fails the integrity check (%s)",
	       e < 0 ? tre_errmsg(t) : "loaded");
	/* New keys are wrapped to the new epoch's SRK. */
	e = tt_import(t, op, TRE_KIND_AES, K, 16, &b2);
	if (e == 0)
		e = tre_key_load(t, &b2, &k2);
	if (e == 0)
		e = tre_key_set_policy(k2, pol);
	tap_ok(e == 0 && b2.epoch == e1 && authenticate(k2) == 0,
	       "a key provisioned for epoch %llu works", (unsigned long long)e1);
	*kp = TAKE_PTR(k2);
}

static void test_tamper(struct tre *t, struct tre_key *k)
{
	uint32_t lockout = 99;
	int calls = 0, e;

	tre_set_tamper_handler(t, on_tamper, &calls);
	tap_ok(authenticate(k) == 0, "key usable before the tamper event");
	e = tre_tamper(t, "enclosure opened", 0);
	tap_ok(e == 0 && calls == 1 && reported && !strcmp(reported, "enclosure opened"),
	       "tamper event recorded (application PCR extended) and reported upward");
	for (int i = 0; i < 5; i++) {
		e = authenticate(k);
		if (e != -EKEYREJECTED)
			break;
	}
	tap_ok(e == -EKEYREJECTED, "AUTHENTICATE through the TRE fails at the TPM after the tamper call");
	e = tre_lockout_counter(t, &lockout);
	tap_ok(e == 0 && lockout == 0,
	       "policy failures of noDA objects leave the DA lockout counter at %u", lockout);
}

/* TRE_TAMPER_REVOKE: the response survives a reboot (PCRs do not). */
static void test_tamper_revoke(struct tre *t, const struct tt_operator *op)
{
	_cleanup_tre_key_ struct tre_key *k = NULL, *again = NULL;
	struct tre_policy pol;
	struct tre_blob b;
	uint64_t before = 0, after = 0;
	int calls = 0, e;

	tre_set_tamper_handler(t, on_tamper, &calls);
	e = tt_approve_now(t, op, &pol);
	if (e == 0)
		e = tt_import(t, op, TRE_KIND_AES, K, 16, &b);
	if (e == 0)
		e = tre_key_load(t, &b, &k);
	if (e == 0)
		e = tre_key_set_policy(k, &pol);
	tap_ok(e == 0 && authenticate(k) == 0, "a fresh key approved for the current state works");
	tre_epoch(t, &before);
	e = tre_tamper(t, "case opened, revoke", TRE_TAMPER_REVOKE);
	tre_epoch(t, &after);
	tap_ok(e == 0 && calls == 1 && after == before + 1,
	       "tamper with TRE_TAMPER_REVOKE reported and the epoch incremented (%llu -> %llu)",
	       (unsigned long long)before, (unsigned long long)after);
	/* Even a policy approved for the new PCR values does not help. */
	e = tt_approve_now(t, op, &pol);
	if (e == 0)
		e = tre_key_load(t, &b, &again);
	tap_ok(e == -EKEYREVOKED, "the key's blob is revoked for good (%s)",
	       e < 0 ? tre_errmsg(t) : "loaded");
}

static void test_objects(struct tre *t, const struct tt_operator *op)
{
	struct tre_key *keys[6] = { 0 };
	struct tre_policy pol;
	unsigned good = 0;
	int e;

	/* Six keys, used round robin: more than swtpm's 3 object slots. */
	e = tt_approve_now(t, op, &pol);
	for (unsigned i = 0; e == 0 && i < ARRAY_SIZE(keys); i++)
		e = tt_key(t, op, &pol, TRE_KIND_AES, K, 16, &keys[i]);
	tap_ok(e == 0, "6 keys imported and loaded (%s)", e < 0 ? tre_errmsg(t) : "ok");
	for (unsigned round = 0; e == 0 && round < 2; round++)
		for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
			good += keys[i] && authenticate(keys[i]) == 0;
	tap_ok(good == 2 * ARRAY_SIZE(keys),
	       "%u/12 authentications: transient objects flushed and reloaded on demand", good);
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		tre_key_free(keys[i]);
}

static void test_restart(struct tre *t, struct tre_key *k)
{
	const char *ctrl = getenv("MCIM_TEST_SWTPM_CTRL");
	char cmd[256];
	uint64_t before = 0, after = 0;
	int e;

	if (!ctrl) {
		tap_skip("no swtpm control channel");
		return;
	}
	tre_epoch(t, &before);
	snprintf(cmd, sizeof(cmd), "swtpm_ioctl --tcp %s -i >/dev/null", ctrl);
	e = system(cmd);
	tap_ok(e == 0, "swtpm re-initialised (swtpm_ioctl -i): the TPM needs TPM2_Startup");
	tre_stats_reset(t);
	e = authenticate(k);
	tap_ok(e == -EKEYREJECTED && tre_stats_cc(tre_stats(t), TPM2_CC_Startup) == 1,
	       "the next use sends TPM2_Startup, reloads the key, and the TPM refuses it: the "
	       "reset cleared the measured PCR 7 (%s)", e ? tre_errmsg(t) : "worked");
	/* The boot measures the firmware again. */
	e = tre_pcr_extend(t, 7, "firmware v2", 11);
	if (e == 0)
		e = authenticate(k);
	tap_ok(e == 0, "once the platform is measured again the key works (%s)",
	       e ? tre_errmsg(t) : "ok");
	e = tre_epoch(t, &after);
	tap_ok(e == 0 && after == before, "the epoch counter survived the restart (%llu)",
	       (unsigned long long)after);
}

int main(void)
{
	_cleanup_tre_ struct tre *t = NULL;
	struct tre_key *k = NULL;
	struct tt_operator op;
	struct tre_policy pol;
	int e;

	tt_random(K, 16);
	tt_random(OPC, 16);
	{
		/* No TPM behind the TCTI: a clear error, no hang. */
		struct tre_config cfg;
		struct tre *none = NULL;

		tre_config_init(&cfg);
		cfg.tcti = "swtpm:host=127.0.0.1,port=1";
		e = tre_open(&cfg, &none);
		tap_ok(e == -ENODEV && !none && strstr(tre_open_error(), "no TPM"),
		       "tre_open without a TPM fails with -ENODEV: %s", tre_open_error());
	}
	t = tt_open(NULL);
	tt_operator_init(&op);
	e = tt_approve_now(t, &op, &pol);
	if (e == 0)
		e = tt_key(t, &op, &pol, TRE_KIND_AES, K, 16, &k);
	if (!tap_ok(e == 0, "key provisioned (%s)", e < 0 ? tre_errmsg(t) : "ok"))
		return tap_end();
	test_pcr_and_reapproval(t, &op, &pol, k);
	test_epoch(t, &op, &pol, &k);
	test_restart(t, k);
	test_objects(t, &op);
	test_tamper(t, k);
	tre_key_free(k);
	test_tamper_revoke(t, &op);
	tt_operator_free(&op);
	return tap_end();
}
