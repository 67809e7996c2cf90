// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tpm2lib-wrap: lib/tpm2-dup and lib/tpm2-cred as a command, so that the
 * python3-tpm2-pytss cross-check (pytss-crosscheck.py) can compare our
 * blobs with tpm2_pytss.utils.wrap / make_credential.  Test helper only.
 *
 *   tpm2lib-wrap dup PARENT OBJPUB SENS OUTDUP OUTSEED
 *   tpm2lib-wrap dup-seed PARENT OBJPUB SENS SEEDHEX OUTDUP
 *   tpm2lib-wrap cred EK NAMEHEX SECRETHEX OUTCRED OUTSECRET
 *   tpm2lib-wrap cred-seed EK NAMEHEX SECRETHEX SEEDHEX OUTCRED
 *
 * PARENT, EK, OBJPUB: marshalled TPM2B_PUBLIC; SENS: marshalled
 * TPM2B_SENSITIVE; outputs: marshalled TPM2B_PRIVATE, TPM2B_ENCRYPTED_SECRET,
 * TPM2B_ID_OBJECT.  Exit 0 on success, 1 on error (with a message), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "hex.h"
#include "macro.h"
#include "tpm2-cred.h"
#include "tpm2-crypto.h"
#include "tpm2-dup.h"
#include "tpm2-quote.h"

static int read_all(const char *path, uint8_t *buf, size_t max, size_t *ret_len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "rbe");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, max, f);
	if (ferror(f) || !feof(f))
		return -EFBIG;
	*ret_len = n;
	return 0;
}

static int write_all(const char *path, const uint8_t *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "wbe");

	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len)
		return -EIO;
	return 0;
}

static int read_sensitive(const char *path, TPMT_SENSITIVE *ret)
{
	uint8_t buf[sizeof(TPM2B_SENSITIVE)];
	TPM2B_SENSITIVE s = { 0 };
	size_t len = 0, off = 0;
	int r = read_all(path, buf, sizeof(buf), &len);

	if (r < 0)
		return r;
	if (Tss2_MU_TPM2B_SENSITIVE_Unmarshal(buf, len, &off, &s) || off != len)
		r = -EINVAL;
	else
		*ret = s.sensitiveArea;
	wipe(buf, sizeof(buf));
	wipe(&s, sizeof(s));
	return r;
}

#define MARSHAL_TO_FILE(type, path, val)                                         \
	({                                                                       \
		uint8_t _b[sizeof(type)];                                        \
		size_t _o = 0;                                                   \
		Tss2_MU_##type##_Marshal((val), _b, sizeof(_b), &_o) ?           \
			-EINVAL : write_all((path), _b, _o);                     \
	})

static int do_dup(int argc, char **argv, bool given_seed)
{
	TPM2B_PUBLIC parent, obj;
	TPMT_SENSITIVE sens;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;
	uint8_t seed_bytes[TPM2_SEED_MAX];
	int r, n;

	if (argc != 7)
		return -EINVAL;
	r = tpm2_public_import(argv[2], &parent);
	if (r >= 0)
		r = tpm2_public_import(argv[3], &obj);
	if (r >= 0)
		r = read_sensitive(argv[4], &sens);
	if (r < 0)
		return r;
	if (given_seed) {
		n = hex_decode(argv[5], seed_bytes, sizeof(seed_bytes));
		if (n < 0)
			return n;
		r = tpm2_duplicate_with_seed(&parent.publicArea, &obj.publicArea, &sens,
					     seed_bytes, n, &dup);
		if (r >= 0)
			r = MARSHAL_TO_FILE(TPM2B_PRIVATE, argv[6], &dup);
	} else {
		r = tpm2_duplicate(&parent.publicArea, &obj.publicArea, &sens, &dup, &seed);
		if (r >= 0)
			r = MARSHAL_TO_FILE(TPM2B_PRIVATE, argv[5], &dup);
		if (r >= 0)
			r = MARSHAL_TO_FILE(TPM2B_ENCRYPTED_SECRET, argv[6], &seed);
	}
	wipe(&sens, sizeof(sens));
	wipe(seed_bytes, sizeof(seed_bytes));
	return r;
}

static int do_cred(int argc, char **argv, bool given_seed)
{
	TPM2B_PUBLIC ek;
	TPM2B_NAME name;
	TPM2B_ID_OBJECT cred;
	TPM2B_ENCRYPTED_SECRET secret;
	uint8_t cv[64], seed[TPM2_SEED_MAX];
	int r, n, m;

	if (argc != 7)
		return -EINVAL;
	r = tpm2_public_import(argv[2], &ek);
	if (r < 0)
		return r;
	n = hex_decode(argv[3], name.name, sizeof(name.name));
	m = hex_decode(argv[4], cv, sizeof(cv));
	if (n < 0 || m < 0)
		return -EINVAL;
	name.size = n;
	if (given_seed) {
		int s = hex_decode(argv[5], seed, sizeof(seed));

		if (s < 0)
			return s;
		r = tpm2_make_credential_with_seed(&ek.publicArea, &name, cv, m, seed, s, &cred);
		if (r >= 0)
			r = MARSHAL_TO_FILE(TPM2B_ID_OBJECT, argv[6], &cred);
	} else {
		r = tpm2_make_credential(&ek.publicArea, &name, cv, m, &cred, &secret);
		if (r >= 0)
			r = MARSHAL_TO_FILE(TPM2B_ID_OBJECT, argv[5], &cred);
		if (r >= 0)
			r = MARSHAL_TO_FILE(TPM2B_ENCRYPTED_SECRET, argv[6], &secret);
	}
	return r;
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "dup"))
		r = do_dup(argc, argv, false);
	else if (!strcmp(argv[1], "dup-seed"))
		r = do_dup(argc, argv, true);
	else if (!strcmp(argv[1], "cred"))
		r = do_cred(argc, argv, false);
	else if (!strcmp(argv[1], "cred-seed"))
		r = do_cred(argc, argv, true);
	else
		goto usage;
	if (r == -EINVAL && argc != 7)
		goto usage;
	if (r < 0) {
		fprintf(stderr, "tpm2lib-wrap %s: %s\n", argv[1], tpm2_verify_strerror(r));
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: tpm2lib-wrap dup|dup-seed|cred|cred-seed ... (see source)\n");
	return 2;
}
