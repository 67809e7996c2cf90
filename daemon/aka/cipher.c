// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Key access: the software AES-128 E_K (OpenSSL EVP, key schedule done once
 * per key) and the plain-memory secret.  The TPM implementations of the
 * same interfaces live in daemon/tre/.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "daemon/aka/aka-internal.h"
#include "macro.h"

static int soft_encrypt(void *ctx, const uint8_t *in, uint8_t *out,
			size_t nblocks)
{
	int outl = 0;

	if (!ctx || (!in && nblocks) || nblocks > INT_MAX / 16)
		return -EINVAL;
	if (!nblocks)
		return 0;
	/* ECB without padding keeps no state between calls (SP 800-38A). */
	if (EVP_EncryptUpdate(ctx, out, &outl, in, (int)(nblocks * 16)) != 1 ||
	    outl != (int)(nblocks * 16))
		return -EIO;
	return 0;
}

int aka_soft_cipher_new(const uint8_t k[AKA_MILENAGE_K_LEN],
			struct aka_cipher *ret)
{
	EVP_CIPHER_CTX *ctx;

	if (!k || !ret)
		return -EINVAL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_EncryptInit_ex2(ctx, EVP_aes_128_ecb(), k, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return -EIO;
	}
	ret->encrypt = soft_encrypt;
	ret->ctx = ctx;
	return 0;
}

void aka_soft_cipher_free(struct aka_cipher *c)
{
	if (!c)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	if (c->encrypt == soft_encrypt)
		EVP_CIPHER_CTX_free(c->ctx);
	c->encrypt = NULL;
	c->ctx = NULL;
}

static int plain_get(void *ctx, uint8_t *buf, size_t size, size_t *ret_len)
{
	const struct aka_plain_secret *s = ctx;

	if (!s || !buf || !ret_len || s->len > size ||
	    (s->len != 16 && s->len != 32))
		return -EINVAL;
	memcpy(buf, s->k, s->len);
	*ret_len = s->len;
	return 0;
}

struct aka_secret aka_plain_secret(struct aka_plain_secret *s)
{
	return (struct aka_secret){ .get = plain_get, .ctx = s };
}

int secret_fetch(const struct aka_secret *s, uint8_t buf[AKA_K_MAX],
		 size_t *ret_len)
{
	size_t len = 0;
	int r;

	if (!s || !s->get)
		return -ENOKEY;
	r = s->get(s->ctx, buf, AKA_K_MAX, &len);
	if (r >= 0 && len != 16 && len != 32)
		r = -EINVAL;
	if (r < 0) {
		wipe(buf, AKA_K_MAX);
		return r;
	}
	*ret_len = len;
	return 0;
}
