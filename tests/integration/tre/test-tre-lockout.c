/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TRE on a TPM in dictionary-attack lockout (lockout.sh puts swtpm in
 * lockout with tpm2-tools first): every TRE object and the epoch counter are
 * noDA and MCIM objects are policy-only, so provisioning, authentication,
 * revocation and attestation keep working.
 */
#include "daemon/tre/tre-aka.h"
#include "tre-test.h"

static int same_secret(const uint8_t *s, size_t len, void *user_data)
{
	return len == 16 && !memcmp(s, user_data, 16) ? 0 : -EPROTO;
}

int main(void)
{
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *ka = NULL, *kb = NULL;
	uint8_t k[16], in[16], out[16];
	struct tt_operator op;
	struct tre_policy pol;
	struct tre_quote q;
	TPML_PCR_SELECTION sel;
	uint32_t lockout = 0;
	uint64_t epoch;
	int e;

	tt_random(k, 16);
	tt_random(in, 16);
	t = tt_open(NULL);
	e = tre_lockout_counter(t, &lockout);
	tap_ok(e == 0 && lockout >= 1, "the TPM counted %u authorization failure(s): in lockout",
	       lockout);
	tt_operator_init(&op);
	e = tt_approve_now(t, &op, &pol);
	if (e == 0)
		e = tt_key(t, &op, &pol, TRE_KIND_AES, k, 16, &ka);
	if (e == 0)
		e = tt_key(t, &op, &pol, TRE_KIND_SEALED, k, 16, &kb);
	tap_ok(e == 0, "import and load work in lockout (%s)", e ? tre_errmsg(t) : "ok");
	e = ka ? tre_key_encrypt(ka, in, out, 1) : -ENOENT;
	tap_ok(e == 0, "E_K works in lockout (%s)", e ? tre_errmsg(t) : "ok");
	e = kb ? tre_key_with_secret(kb, same_secret, k) : -ENOENT;
	tap_ok(e == 0, "Unseal works in lockout (%s)", e ? tre_errmsg(t) : "ok");
	e = tre_epoch_increment(t, &epoch);
	tap_ok(e == 0, "the epoch counter increments in lockout (%s)", e ? tre_errmsg(t) : "ok");
	e = tre_ak_create(t, TRE_EK_ECC, NULL);
	tre_pcr_selection(t, &sel);
	if (e == 0)
		e = tre_quote(t, &sel, in, sizeof(in), &q);
	tap_ok(e == 0, "AK creation and quotes work in lockout (%s)", e ? tre_errmsg(t) : "ok");
	if (e == 0)
		tre_quote_clear(&q);
	tt_operator_free(&op);
	return tap_end();
}
