/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key-encryption key (KEK) of the subscribers' secrets: 32 random bytes
 * in a file of mode 0600 outside the database (`pki init` makes it, `[sho]
 * kek` names it).  The store holds each subscription's secrets only as
 *
 *	hex( 0x01 || IV[12] || AES-256-GCM(KEK, IV, AAD, plain) || tag[16] )
 *
 * (NIST SP 800-38D; IV from the private DRBG, fresh per encryption; AAD the
 * subscription's ICCID, so that a blob copied to another row is refused).
 * Whoever has the database but not the KEK learns nothing of K or OPc.
 */
#ifndef MCIM_OPERATOR_KEK_H
#define MCIM_OPERATOR_KEK_H

#include <stddef.h>
#include <stdint.h>

#define KEK_SIZE 32
#define KEK_IV_SIZE 12
#define KEK_TAG_SIZE 16
#define KEK_VERSION 1
#define KEK_PLAIN_MAX 1024
/* hex length of a sealed blob of n plain bytes, without the NUL */
#define KEK_HEX_LEN(n) (2 * (1 + KEK_IV_SIZE + (n) + KEK_TAG_SIZE))

/*
 * Reads the KEK: exactly KEK_SIZE bytes, a regular file readable by nobody
 * but its owner (-EPERM otherwise, -EINVAL for another size).
 */
int kek_load(const char *path, uint8_t ret[KEK_SIZE], char *why, size_t why_size);

/* Encrypts plain (at most KEK_PLAIN_MAX bytes) into a new hex string. */
int kek_seal(const uint8_t kek[KEK_SIZE], const char *aad, const uint8_t *plain, size_t len,
	     char **ret_hex);

/*
 * Decrypts hex into out (out_size bytes at most): -EBADMSG when it is not
 * a sealed blob, the tag does not verify (another KEK, another AAD, a changed
 * byte) or its length is not out_size.  out is wiped on failure.
 */
int kek_open(const uint8_t kek[KEK_SIZE], const char *aad, const char *hex, uint8_t *out,
	     size_t out_size);

#endif
