// SPDX-License-Identifier: LGPL-2.1-or-later
/* Helpers shared by ekcert, pki and ticket; see opcrypto.h. */
#include <errno.h>

#include <openssl/evp.h>

#include "hex.h"
#include "opcrypto.h"

int opcrypto_cert_sha256_hex(X509 *cert, char ret[65])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!cert || !X509_digest(cert, EVP_sha256(), md, &len) || len != 32)
		return -EIO;
	hex_encode(md, 32, ret);
	return 0;
}
