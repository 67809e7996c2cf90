/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the operator's X.509 and signing modules (ekcert, pki,
 * ticket): certificate fingerprints and cleanups (the "why" text of a
 * refusal is lib/why.h's).
 */
#ifndef MCIM_OPCRYPTO_H
#define MCIM_OPCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "macro.h"
#include "why.h"


/* Lowercase hex SHA-256 of the certificate's DER encoding (65 bytes with NUL). */
int opcrypto_cert_sha256_hex(X509 *cert, char ret[65]);

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)

#endif
