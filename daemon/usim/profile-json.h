/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The JSON profile description (docs/profile-format.md): parses and
 * validates it and builds the profile model of usim.h.
 *
 * Every rejection names the element at fault, as a JSON path, in the text
 * written to why, e.g. "files[12].contents: 34 bytes, size is 32".
 *
 * K travels in the JSON only on the factory/test path; the operator's
 * package later carries it wrapped for the TPM.  The loader hands K back
 * separately (ret_k), never inside the profile.
 */
#ifndef MCIM_PROFILE_JSON_H
#define MCIM_PROFILE_JSON_H

#include <stddef.h>

#include "daemon/aka/aka.h"
#include "daemon/usim/usim.h"

#define PROFILE_JSON_FORMAT "mcim-profile"
#define PROFILE_JSON_VERSION 1
#define PROFILE_JSON_MAX_TEXT (16u << 20) /* longest JSON text accepted */
#define PROFILE_JSON_MAX_NESTING 8        /* JSON object/array depth */
#define PROFILE_JSON_MAX_RETRIES 15       /* 63Cx holds 4 bits */
#define PROFILE_JSON_MAX_TUAK_ITERATIONS 256
#define PROFILE_JSON_WHY_SIZE 256         /* a why buffer never needs more */

/*
 * Parses text (len bytes, need not be NUL-terminated) and builds a
 * profile.  On success *ret_profile is the new profile (free it with
 * usim_profile_free()) and *ret_k holds K (len 0 when the JSON has none);
 * wipe ret_k after use.  Errors:
 *   -EINVAL   the text is not a valid profile; why says where and why
 *   -EFBIG    the text is longer than PROFILE_JSON_MAX_TEXT
 *   -ENOMEM
 * why (why_size bytes, may be NULL) gets a one-line reason on every error.
 */
int profile_json_load_buf(const char *text, size_t len,
			  struct usim_profile **ret_profile,
			  struct aka_plain_secret *ret_k, char *why,
			  size_t why_size);

/*
 * A profile description without secrets (the operator's package,
 * docs/package-format.md 2): auth.k/op/opc/top/topc and the PINs' value,
 * value_hex and puk must be absent (present: -EINVAL), the PIN and PUK
 * values of the result are 'FF' bytes and OPc/TOPc zeros (the caller
 * brings them sealed); a PIN other than ADM, or one with "puk_retries",
 * has a PUK.
 */
int profile_json_load_public(const char *text, size_t len,
			     struct usim_profile **ret_profile, char *why,
			     size_t why_size);

/*
 * The same from a file; also -errno from opening or reading it (why names
 * the file).
 */
int profile_json_load_file(const char *path, struct usim_profile **ret_profile,
			   struct aka_plain_secret *ret_k, char *why,
			   size_t why_size);

/*
 * Builds the key handle the engine needs from a K in plain memory (the
 * factory/test path): a software AES-128 E_K for MILENAGE and the secret
 * accessor (for TUAK, and as MILENAGE's fallback).  k must outlive the key.
 * Free with profile_json_key_free().  -EINVAL when k->len does not suit
 * the algorithm.
 */
int profile_json_key_new(enum aka_algo algo, struct aka_plain_secret *k,
			 struct aka_key *ret);
void profile_json_key_free(struct aka_key *key);

#endif
