/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key interfaces of daemon/aka/aka.h backed by TRE keys: struct
 * aka_cipher over TPM2_EncryptDecrypt2 (mode a: one TPM call per cipher
 * call, so MILENAGE costs 3 per authentication) and struct aka_secret over
 * Unseal (mode b: K in the TPM's locked buffer only while it is copied).
 */
#include "daemon/aka/aka.h"
#include "tre-aka.h"
#include "tre-internal.h"

static int cipher_encrypt(void *ctx, const uint8_t *in, uint8_t *out, size_t nblocks)
{
	return tre_key_encrypt(ctx, in, out, nblocks);
}

struct copy_ctx {
	uint8_t *buf;
	size_t size;
	size_t len;
};

static int copy_out(const uint8_t *secret, size_t len, void *user_data)
{
	struct copy_ctx *c = user_data;

	if (len > c->size)
		return -EMSGSIZE;
	memcpy(c->buf, secret, len);
	c->len = len;
	return 0;
}

static int secret_get(void *ctx, uint8_t *buf, size_t size, size_t *ret_len)
{
	struct copy_ctx c = { .buf = buf, .size = size };
	int r = tre_key_with_secret(ctx, copy_out, &c);

	if (r < 0)
		return r;
	*ret_len = c.len;
	return 0;
}

int tre_aka_key(struct tre_key *k, struct aka_key *ret)
{
	*ret = (struct aka_key){ 0 };
	if (k->kind == TRE_KIND_AES) {
		if (k->tre->mode == TRE_MODE_SEALED)
			return -EOPNOTSUPP;
		ret->cipher = (struct aka_cipher){ .encrypt = cipher_encrypt, .ctx = k };
	} else {
		ret->secret = (struct aka_secret){ .get = secret_get, .ctx = k };
	}
	return 0;
}
