// SPDX-License-Identifier: LGPL-2.1-or-later
/* The subscribers' key-encryption key, AES-256-GCM; see kek.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hex.h"
#include "opcrypto.h"
#include "tools/mcim-operator/kek.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)

int kek_load(const char *path, uint8_t ret[KEK_SIZE], char *why, size_t why_size)
{
	uint8_t buf[KEK_SIZE + 1];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return why_fail(why, why_size, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		r = why_fail(why, why_size, -errno, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = why_fail(why, why_size, -EINVAL, "%s: not a regular file", path);
	else if (st.st_mode & 077)
		r = why_fail(why, why_size, -EPERM,
			     "%s: the key-encryption key is readable by group or others (mode %04o); "
			     "chmod 0600 it",
			     path, (unsigned)(st.st_mode & 07777));
	if (r == 0) {
		do
			n = read(fd, buf, sizeof(buf));
		while (n < 0 && errno == EINTR);
		if (n < 0)
			r = why_fail(why, why_size, -errno, "%s: %s", path, strerror(errno));
		else if (n != KEK_SIZE)
			r = why_fail(why, why_size, -EINVAL,
				     "%s: a key-encryption key is exactly %d bytes", path, KEK_SIZE);
		else
			memcpy(ret, buf, KEK_SIZE);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

int kek_seal(const uint8_t kek[KEK_SIZE], const char *aad, const uint8_t *plain, size_t len,
	     char **ret_hex)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t blob[1 + KEK_IV_SIZE + KEK_PLAIN_MAX + KEK_TAG_SIZE];
	uint8_t *iv = blob + 1, *ct = iv + KEK_IV_SIZE;
	char *hex;
	int n, fin;

	if (!kek || !aad || (!plain && len) || len > KEK_PLAIN_MAX || !ret_hex)
		return -EINVAL;
	if (!c)
		return -ENOMEM;
	blob[0] = KEK_VERSION;
	if (RAND_bytes(iv, KEK_IV_SIZE) != 1)
		return -EIO;
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, iv) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(c, ct, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, ct + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KEK_TAG_SIZE, ct + len) != 1)
		return -EIO;
	hex = malloc(KEK_HEX_LEN(len) + 1);
	if (!hex)
		return -ENOMEM;
	hex_encode(blob, 1 + KEK_IV_SIZE + len + KEK_TAG_SIZE, hex);
	*ret_hex = hex;
	return 0;
}

int kek_open(const uint8_t kek[KEK_SIZE], const char *aad, const char *hex, uint8_t *out,
	     size_t out_size)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t blob[1 + KEK_IV_SIZE + KEK_PLAIN_MAX + KEK_TAG_SIZE];
	const uint8_t *iv = blob + 1, *ct = iv + KEK_IV_SIZE;
	int n, fin, ok;

	if (!kek || !aad || !hex || !out || out_size > KEK_PLAIN_MAX)
		return -EINVAL;
	if (!c)
		return -ENOMEM;
	if (strlen(hex) != KEK_HEX_LEN(out_size) ||
	    hex_decode(hex, blob, sizeof(blob)) != (int)(KEK_HEX_LEN(out_size) / 2) ||
	    blob[0] != KEK_VERSION)
		return -EBADMSG;
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, iv) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
	     EVP_DecryptUpdate(c, out, &n, ct, (int)out_size) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KEK_TAG_SIZE,
				 (void *)(ct + out_size)) == 1 &&
	     EVP_DecryptFinal_ex(c, out + n, &fin) == 1;
	if (!ok) {
		OPENSSL_cleanse(out, out_size);
		return -EBADMSG;
	}
	return 0;
}
