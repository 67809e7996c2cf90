/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-tre-store save|reload|clone DIR: the key store across TPM
 * processes, run by clone.sh:
 *   save    (TPM A) import a key, keep its blob, the duplication blob, the
 *           epoch and (test only) K and the approved policy in DIR;
 *   reload  (TPM A again, swtpm restarted on the same state) the epoch
 *           counter survived and was not redefined; the blob loads and works;
 *   clone   (TPM B, fresh) the copied key file and the duplication blob are
 *           useless there.
 */
#include <openssl/evp.h>

#include "tre-test.h"

struct saved {
	uint8_t k[16];
	uint64_t epoch;
	struct tre_policy pol;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed;
};

static int path(char *buf, size_t n, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, n, "%s/%s", dir, name) < n ? 0 : -ENAMETOOLONG;
}

static int rw(const char *dir, struct saved *s, bool write)
{
	char p[4096];
	FILE *f;
	size_t n;

	if (path(p, sizeof(p), dir, "saved.bin") < 0)
		return -ENAMETOOLONG;
	f = fopen(p, write ? "wbe" : "rbe");
	if (!f)
		return -errno;
	n = write ? fwrite(s, sizeof(*s), 1, f) : fread(s, sizeof(*s), 1, f);
	fclose(f);
	return n == 1 ? 0 : -EIO;
}

static bool works(struct tre_key *k, const uint8_t key[16])
{
	uint8_t in[16], out[16], ref[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0;
	bool ok;

	tt_random(in, 16);
	ok = c && EVP_EncryptInit_ex2(c, EVP_aes_128_ecb(), key, NULL, NULL) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) && EVP_EncryptUpdate(c, ref, &len, in, 16);
	EVP_CIPHER_CTX_free(c);
	return ok && tre_key_encrypt(k, in, out, 1) == 0 && !memcmp(out, ref, 16);
}

int main(int argc, char **argv)
{
	_cleanup_tre_ struct tre *t = NULL;
	_cleanup_tre_key_ struct tre_key *k = NULL;
	struct tt_operator op;
	struct tre_blob b;
	struct saved s;
	char p[4096];
	uint64_t epoch = 0;
	int e;

	if (argc != 3 || path(p, sizeof(p), argv[2], "key.blob") < 0) {
		fprintf(stderr, "usage: test-tre-store save|reload|clone DIR\n");
		return 2;
	}
	t = tt_open(NULL);
	tre_epoch(t, &epoch);
	if (!strcmp(argv[1], "save")) {
		TPM2B_PUBLIC srk;

		memset(&s, 0, sizeof(s));
		tt_random(s.k, 16);
		tt_operator_init(&op);
		/* A revocation first, so the epoch is not the counter's first value. */
		e = tre_epoch_increment(t, &epoch);
		if (e == 0)
			e = tt_approve_now(t, &op, &s.pol);
		if (e == 0)
			e = tre_srk_public(t, &srk);
		if (e == 0)
			e = tt_wrap(&srk, &op, TRE_KIND_AES, s.k, 16, &s.pub, &s.dup, &s.seed);
		if (e == 0)
			e = tre_import(t, &s.pub, &s.dup, &s.seed, NULL, NULL, &b);
		if (e == 0)
			e = tre_key_load(t, &b, &k);
		if (e == 0)
			e = tre_key_set_policy(k, &s.pol);
		tap_ok(e == 0 && works(k, s.k), "TPM A: key imported and used (epoch %llu)",
		       (unsigned long long)epoch);
		s.epoch = epoch;
		e = tt_blob_save(p, &b);
		if (e == 0)
			e = rw(argv[2], &s, true);
		tap_ok(e == 0, "key blob written to the store directory");
		tt_operator_free(&op);
	} else if (!strcmp(argv[1], "reload")) {
		e = rw(argv[2], &s, false);
		tap_ok(e == 0 && epoch == s.epoch,
		       "TPM A restarted: the NV epoch counter survived, not redefined (%llu)",
		       (unsigned long long)epoch);
		e = tt_blob_read(p, &b);
		if (e == 0)
			e = tre_key_load(t, &b, &k);
		if (e == 0)
			e = tre_key_set_policy(k, &s.pol);
		tap_ok(e == 0 && works(k, s.k), "TPM A restarted: the stored blob loads and works (%s)",
		       e ? tre_errmsg(t) : "ok");
	} else if (!strcmp(argv[1], "clone")) {
		e = rw(argv[2], &s, false);
		if (e == 0)
			e = tt_blob_read(p, &b);
		tap_ok(e == 0, "copied key file read (epoch %llu; this TPM's epoch %llu)",
		       (unsigned long long)b.epoch, (unsigned long long)epoch);
		e = tre_key_load(t, &b, &k);
		tap_ok(e < 0, "TPM B: the copied key file does not load (%s)",
		       e < 0 ? tre_errmsg(t) : "loaded!");
		b.epoch = epoch; /* as if made for this TPM's epoch */
		e = tre_key_load(t, &b, &k);
		tap_ok(e == -EBADMSG, "TPM B: relabelled with TPM B's epoch it fails the integrity check (%s)",
		       e < 0 ? tre_errmsg(t) : "loaded!");
		e = tre_import(t, &s.pub, &s.dup, &s.seed, NULL, NULL, &b);
		tap_ok(e < 0, "TPM B: the duplication blob made for TPM A does not import (%s)",
		       e < 0 ? tre_errmsg(t) : "imported!");
	} else {
		return 2;
	}
	return tap_end();
}
