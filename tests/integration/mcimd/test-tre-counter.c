// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The TRE's second NV counters (daemon/tre/tre-counter.h) on swtpm: defined
 * on first read, +1 per increment, the value survives closing and
 * reopening the TRE, the epoch's own index and non-NV handles are refused,
 * an index of another kind is refused with -EEXIST, the epoch does not
 * move.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "daemon/tre/tre-counter.h"
#include "tests/integration/tre/tre-test.h"

#define IDX 0x01800a11u
#define IDX_ORDINARY 0x01800a12u

/* An ordinary (non-counter) NV index, defined with ESAPI directly. */
static int define_ordinary(uint32_t index)
{
	const char *tcti = getenv("MCIM_TEST_TCTI");
	TSS2_TCTI_CONTEXT *tc = NULL;
	ESYS_CONTEXT *e = NULL;
	ESYS_TR nv;
	TPM2B_NV_PUBLIC info = {
		.nvPublic = { .nvIndex = index, .nameAlg = TPM2_ALG_SHA256,
			      .attributes = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD,
			      .dataSize = 8 },
	};
	TPM2B_AUTH none = { 0 };
	TSS2_RC rc;

	rc = Tss2_TctiLdr_Initialize(tcti, &tc);
	if (rc)
		return -EIO;
	rc = Esys_Initialize(&e, tc, NULL);
	if (rc == 0)
		rc = Esys_NV_DefineSpace(e, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, &none, &info, &nv);
	Esys_Finalize(&e);
	Tss2_TctiLdr_Finalize(&tc);
	return rc ? -EIO : 0;
}

int main(void)
{
	struct tre *t = tt_open(NULL);
	uint64_t a = 0, b = 0, c = 0, e0 = 0, e1 = 0;
	int r;

	tre_epoch(t, &e0);
	r = tre_nv_counter_read(t, IDX, &a);
	tap_ok(r == 0, "first read defines the counter (%s), value %llu", strerror(-r),
	       (unsigned long long)a);
	r = tre_nv_counter_increment(t, IDX, &b);
	tap_ok(r == 0 && b == a + 1, "increment: %llu -> %llu", (unsigned long long)a,
	       (unsigned long long)b);
	r = tre_nv_counter_read(t, IDX, &c);
	tap_ok(r == 0 && c == b, "read after increment: %llu", (unsigned long long)c);
	for (int i = 0; i < 10 && r == 0; i++)
		r = tre_nv_counter_increment(t, IDX, NULL);
	tre_nv_counter_read(t, IDX, &c);
	tap_ok(r == 0 && c == b + 10, "ten increments: %llu", (unsigned long long)c);
	tre_close(t);
	t = tt_open(NULL);
	r = tre_nv_counter_read(t, IDX, &a);
	tap_ok(r == 0 && a == c, "the value survives closing and reopening the TRE (%llu)",
	       (unsigned long long)a);
	r = tre_nv_counter_read(t, TRE_EPOCH_NV_INDEX, &a);
	tap_ok(r == -EINVAL, "the epoch's own index is refused (%s)", strerror(-r));
	r = tre_nv_counter_increment(t, 0x81000001u, NULL);
	tap_ok(r == -EINVAL, "a persistent-object handle is refused (%s)", strerror(-r));
	r = define_ordinary(IDX_ORDINARY);
	if (r < 0) {
		tap_skip("cannot define an ordinary NV index to test with");
	} else {
		r = tre_nv_counter_read(t, IDX_ORDINARY, &a);
		tap_ok(r == -EEXIST, "an ordinary NV index is not taken for a counter (%s): %s",
		       strerror(-r), tre_errmsg(t));
	}
	tre_epoch(t, &e1);
	tap_ok(e0 == e1, "the epoch did not move (%llu)", (unsigned long long)e1);
	tre_close(t);
	return tap_end();
}
