// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * NV counters besides the epoch (tre-counter.h), TPM 2.0 Part 1 37.2.3,
 * Part 3 31.8 (NV_Increment) and 31.13 (NV_Read).
 */
#include <errno.h>

#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "tre-counter.h"
#include "tre-internal.h"

#define COUNTER_ATTRS                                                          \
	(TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT | TPMA_NV_AUTHWRITE |        \
	 TPMA_NV_AUTHREAD | TPMA_NV_NO_DA)

static int lookup(struct tre *t, uint32_t index, ESYS_TR *ret)
{
	TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, ret);

	if (rc)
		return tre_fail(t, rc, "looking up NV index 0x%08x", index);
	tre_nv_auth(t, *ret);
	return 0;
}

static void close_tr(struct tre *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, h);
	*h = ESYS_TR_NONE;
}

static int increment_raw(struct tre *t, ESYS_TR nv, uint32_t index)
{
	TSS2_RC rc = Esys_NV_Increment(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE);

	if (rc)
		return tre_fail(t, rc, "incrementing the NV counter 0x%08x", index);
	return 0;
}

int tre_nv_counter_name(uint32_t index, TPM2B_NAME *ret)
{
	TPMS_NV_PUBLIC pub = { .nvIndex = index, .nameAlg = TPM2_ALG_SHA256,
			       .attributes = COUNTER_ATTRS | TPMA_NV_WRITTEN, .dataSize = 8 };
	uint8_t buf[sizeof(pub)];
	size_t off = 0;

	/* Name = nameAlg || H(TPMS_NV_PUBLIC) (Part 1 16, Part 2 13.5). */
	if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(&pub, buf, sizeof(buf), &off))
		return -EIO;
	ret->size = 2 + SHA256_DIGEST_LENGTH;
	ret->name[0] = TPM2_ALG_SHA256 >> 8;
	ret->name[1] = TPM2_ALG_SHA256 & 0xff;
	SHA256(buf, off, ret->name + 2);
	return 0;
}

/* Looks the counter up, defining and initialising it when absent. */
int tre_nv_counter_open(struct tre *t, uint32_t index, ESYS_TR *ret)
{
	_cleanup_esys_ TPM2B_NV_PUBLIC *pub = NULL;
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	if (index == t->cfg.epoch_index || (index >> 24) != TPM2_HT_NV_INDEX)
		return tre_failerr(t, -EINVAL, "NV index 0x%08x cannot be a second counter",
				   index);
	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &nv);
	if (rc && tre_rc_base(rc) != TPM2_RC_HANDLE)
		return tre_fail(t, rc, "looking up NV index 0x%08x", index);
	if (!rc)
		tre_nv_auth(t, nv);
	if (rc) {
		TPM2B_NV_PUBLIC info = {
			.nvPublic = { .nvIndex = index, .nameAlg = TPM2_ALG_SHA256,
				      .attributes = COUNTER_ATTRS, .dataSize = 8 },
		};
		rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					 ESYS_TR_NONE, ESYS_TR_NONE, &t->cfg.nv_auth, &info, &nv);
		if (rc)
			return tre_fail(t, rc, "defining the NV counter 0x%08x", index);
	}
	rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
				NULL);
	if (rc) {
		close_tr(t, &nv);
		return tre_fail(t, rc, "reading the public area of NV index 0x%08x", index);
	}
	if ((pub->nvPublic.attributes & ~TPMA_NV_WRITTEN) != COUNTER_ATTRS ||
	    pub->nvPublic.dataSize != 8) {
		close_tr(t, &nv);
		return tre_failerr(t, -EEXIST,
				   "NV index 0x%08x exists but is not an mcim counter"
				   " (attributes 0x%08x)", index, pub->nvPublic.attributes);
	}
	if (!(pub->nvPublic.attributes & TPMA_NV_WRITTEN)) {
		/* Readable once written (Part 3 31.8); the Name changes with it. */
		r = increment_raw(t, nv, index);
		close_tr(t, &nv);
		if (r < 0)
			return r;
		r = lookup(t, index, &nv);
		if (r < 0)
			return r;
	}
	*ret = nv;
	return 0;
}

static int counter_read(struct tre *t, uint32_t index, uint64_t *ret)
{
	_cleanup_esys_ TPM2B_MAX_NV_BUFFER *data = NULL;
	ESYS_TR nv;
	uint64_t v = 0;
	TSS2_RC rc;
	int r = tre_nv_counter_open(t, index, &nv);

	if (r < 0)
		return r;
	rc = Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0,
			  &data);
	close_tr(t, &nv);
	if (rc)
		return tre_fail(t, rc, "reading the NV counter 0x%08x", index);
	if (data->size != 8)
		return tre_failerr(t, -EIO, "NV counter 0x%08x: %u bytes", index, data->size);
	for (int i = 0; i < 8; i++)
		v = v << 8 | data->buffer[i];
	*ret = v;
	return 0;
}

static int counter_increment(struct tre *t, uint32_t index)
{
	ESYS_TR nv;
	int r = tre_nv_counter_open(t, index, &nv);

	if (r < 0)
		return r;
	r = increment_raw(t, nv, index);
	close_tr(t, &nv);
	return r;
}

int tre_nv_counter_read(struct tre *t, uint32_t index, uint64_t *ret)
{
	return TRE_RETRY(t, counter_read(t, index, ret));
}

int tre_nv_counter_increment(struct tre *t, uint32_t index, uint64_t *ret_new)
{
	int r = TRE_RETRY(t, counter_increment(t, index));

	if (r == 0 && ret_new)
		r = tre_nv_counter_read(t, index, ret_new);
	return r;
}
