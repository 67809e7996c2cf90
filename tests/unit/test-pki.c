// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tools/mcim-operator/pki: `pki init` makes a root and three certificates
 * that chain to it with the right extensions, keys of mode 0600, refuses to
 * overwrite a PKI without force; pki_signer_load() pairs a key with its
 * certificate.  An openssl(1) check of the same files:
 * tests/integration/operator/ticket-python.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "tools/mcim-operator/kek.h"
#include "tools/mcim-operator/opcrypto.h"
#include "tools/mcim-operator/pki.h"

static char base[] = "/tmp/test-pki.XXXXXX";
static const char *const pki_files_test[] = {
	PKI_ROOT_CERT, PKI_ROOT_KEY, PKI_SERVER_CERT, PKI_SERVER_KEY, PKI_TICKET_CERT,
	PKI_TICKET_KEY, PKI_DPF_CERT, PKI_DPF_KEY, PKI_POLICY_KEY,
};

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static X509 *load_cert(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	X509 *x;

	path_of(path, sizeof(path), dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	path_of(path, sizeof(path), dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int verify_chain(X509 *root, X509 *leaf, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_add_cert(store, root);
	X509_STORE_CTX_init(ctx, store, leaf, NULL);
	if (purpose)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void serial_check(X509 *x, BIGNUM **seen, size_t n_seen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

	/* RFC 5280 4.1.2.2: positive; 16 octets, 126 random bits, here */
	assert_false(BN_is_negative(bn));
	assert_int_equal(BN_num_bytes(bn), 16);
	for (size_t i = 0; i < n_seen; i++)
		assert_int_not_equal(BN_cmp(bn, seen[i]), 0);
	seen[n_seen] = bn;
}

static void test_init_defaults(void **state)
{
	const char *const certs[] = { PKI_ROOT_CERT, PKI_SERVER_CERT, PKI_TICKET_CERT, PKI_DPF_CERT };
	const char *const keys[] = { PKI_ROOT_KEY, PKI_SERVER_KEY, PKI_TICKET_KEY, PKI_DPF_KEY };
	struct pki_init_opts o = { .days = 30 };
	char dir[300], why[256] = "";
	BIGNUM *serials[4];
	X509 *root, *x;
	int days, secs;
	DIR *d;
	struct dirent *de;

	(void)state;
	path_of(dir, sizeof(dir), base, "pki");
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), 0);
	assert_int_equal(mode_of(base, "pki"), 0700);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(mode_of(dir, keys[i]), 0600);
		assert_int_equal(mode_of(dir, certs[i]), 0644);
	}
	/* no temporaries left behind */
	d = opendir(dir);
	while ((de = readdir(d)))
		assert_false(de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
	closedir(d);

	root = load_cert(dir, PKI_ROOT_CERT);
	assert_int_equal(X509_check_ca(root), 1);
	assert_true(X509_get_extension_flags(root) & EXFLAG_SS);
	assert_int_equal(X509_get_pathlen(root), 0);
	assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(X509_get_version(root) == X509_VERSION_3);
	serial_check(root, serials, 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(root), X509_get0_notAfter(root)), 1);
	assert_int_equal(days, 30);
	assert_int_equal(secs, 0);
	assert_true(EVP_PKEY_is_a(X509_get0_pubkey(root), "EC"));

	for (size_t i = 1; i < 4; i++) {
		x = load_cert(dir, certs[i]);
		assert_int_equal(X509_check_ca(x), 0);
		assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
		assert_int_equal(verify_chain(root, x, 0), 1);
		serial_check(x, serials, i);
		if (!strcmp(certs[i], PKI_DPF_CERT)) {
			/* docs/package-format.md 1: id-mcim-kp-package, and not TLS */
			EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
			char oid[80];

			assert_non_null(eku);
			assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
			OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 0), 1);
			assert_string_equal(oid, PKI_OID_KP_PACKAGE);
			sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
			assert_int_equal(verify_chain(root, x, X509_PURPOSE_SSL_SERVER), 0);
		}
		if (!strcmp(certs[i], PKI_SERVER_CERT)) {
			assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
			assert_int_equal(verify_chain(root, x, X509_PURPOSE_SSL_SERVER), 1);
			assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
			assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
			assert_int_equal(X509_check_host(x, "example.org", 0, 0, NULL), 0);
		}
		X509_free(x);
	}
	for (size_t i = 0; i < 4; i++)
		BN_free(serials[i]);
	X509_free(root);

	/* the policy key: P-256, and its TPM2B_PUBLIC as the package carries it */
	{
		EVP_PKEY *pk = NULL;
		TPM2B_PUBLIC pub;
		uint8_t kek[KEK_SIZE], zero[KEK_SIZE] = { 0 };
		char path[400];

		assert_int_equal(mode_of(dir, PKI_POLICY_KEY), 0600);
		path_of(path, sizeof(path), dir, PKI_POLICY_KEY);
		assert_int_equal(pki_policy_key_load(path, &pk, &pub, why, sizeof(why)), 0);
		assert_int_equal(pub.publicArea.type, TPM2_ALG_ECC);
		assert_int_equal(pub.publicArea.nameAlg, TPM2_ALG_SHA256);
		assert_int_equal(pub.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
		assert_int_equal(pub.publicArea.parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
		assert_int_equal(pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg,
				 TPM2_ALG_SHA256);
		assert_true(pub.publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT);
		assert_int_equal(pub.publicArea.unique.ecc.x.size, 32);
		EVP_PKEY_free(pk);
		/* the KEK: 32 bytes, 0600, not all zero; another size or mode refused */
		assert_int_equal(mode_of(dir, PKI_KEK), 0600);
		path_of(path, sizeof(path), dir, PKI_KEK);
		assert_int_equal(kek_load(path, kek, why, sizeof(why)), 0);
		assert_memory_not_equal(kek, zero, KEK_SIZE);
		assert_int_equal(chmod(path, 0640), 0);
		assert_int_equal(kek_load(path, kek, why, sizeof(why)), -EPERM);
		assert_int_equal(truncate(path, 31), 0);
		assert_int_equal(chmod(path, 0600), 0);
		assert_int_equal(kek_load(path, kek, why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "32 bytes"));
	}
}

static void test_no_overwrite(void **state)
{
	struct pki_init_opts o = { 0 };
	char dir[300], path[400], why[256] = "";
	char *before = NULL, *after = NULL;
	size_t n1, n2;

	(void)state;
	path_of(dir, sizeof(dir), base, "twice");
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), 0);
	path_of(path, sizeof(path), dir, PKI_ROOT_KEY);
	assert_int_equal(read_file_max(path, 65536, &before, &n1), 0);
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EEXIST);
	assert_non_null(strstr(why, "exists"));
	assert_int_equal(read_file_max(path, 65536, &after, &n2), 0);
	assert_true(n1 == n2 && !memcmp(before, after, n1));
	free(after);
	/* one file is enough to refuse */
	path_of(path, sizeof(path), dir, PKI_ROOT_CERT);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EEXIST);
	/* the key-encryption key alone is enough to refuse too */
	{
		char kek[400];

		path_of(kek, sizeof(kek), base, "other.kek");
		o.kek_path = kek;
		assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EEXIST);
		o.force = true;
		assert_int_equal(pki_init(dir, &o, why, sizeof(why)), 0);
		assert_int_equal(mode_of(base, "other.kek"), 0600);
		o.force = false;
		for (size_t i = 0; i < ARRAY_SIZE(pki_files_test); i++) {
			path_of(path, sizeof(path), dir, pki_files_test[i]);
			unlink(path);
		}
		path_of(path, sizeof(path), dir, PKI_KEK);
		unlink(path);
		assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EEXIST);
		assert_non_null(strstr(why, "other.kek"));
		o.kek_path = NULL;
	}
	o.force = true;
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), 0);
	path_of(path, sizeof(path), dir, PKI_ROOT_KEY);
	assert_int_equal(read_file_max(path, 65536, &after, &n2), 0);
	assert_false(n1 == n2 && !memcmp(before, after, n1));
	free(before);
	free(after);
}

static void test_server_names(void **state)
{
	const char *dns[] = { "op.example.org", "*.pva.example.org" };
	const char *ips[] = { "10.1.2.3", "::1" };
	struct pki_init_opts o = { .dns_names = dns, .n_dns_names = 2, .ip_addresses = ips, .n_ip_addresses = 2 };
	const char *bad_dns[] = { "a.example,DNS:evil.example" };
	const char *bad_ip[] = { "300.1.1.1" };
	char dir[300], why[256] = "";
	X509 *x;

	(void)state;
	path_of(dir, sizeof(dir), base, "names");
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), 0);
	x = load_cert(dir, PKI_SERVER_CERT);
	assert_int_equal(X509_check_host(x, "op.example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "a.pva.example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 0);
	X509_free(x);

	path_of(dir, sizeof(dir), base, "bad");
	o = (struct pki_init_opts){ .dns_names = bad_dns, .n_dns_names = 1 };
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "DNS name"));
	o = (struct pki_init_opts){ .ip_addresses = bad_ip, .n_ip_addresses = 1 };
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "IP address"));
	o = (struct pki_init_opts){ .days = PKI_MAX_DAYS + 1 };
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EINVAL);
	o = (struct pki_init_opts){ .organization = "evil\nO=x" };
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), -EINVAL);
	/* nothing was made */
	assert_int_equal(access(dir, F_OK), -1);
}

static void test_signer_load(void **state)
{
	struct pki_init_opts o = { 0 };
	struct pki_signer *s = NULL;
	char dir[300], cert[400], key[400], dpf_key[400], why[256] = "", fp[65];

	(void)state;
	path_of(dir, sizeof(dir), base, "signer");
	assert_int_equal(pki_init(dir, &o, why, sizeof(why)), 0);
	path_of(cert, sizeof(cert), dir, PKI_TICKET_CERT);
	path_of(key, sizeof(key), dir, PKI_TICKET_KEY);
	path_of(dpf_key, sizeof(dpf_key), dir, PKI_DPF_KEY);
	assert_int_equal(pki_signer_load(cert, key, &s, why, sizeof(why)), 0);
	assert_int_equal(opcrypto_cert_sha256_hex(s->cert, fp), 0);
	assert_string_equal(s->cert_sha256, fp);
	pki_signer_free(s);
	s = NULL;
	/* the DPF's key is not the ticket certificate's */
	assert_int_equal(pki_signer_load(cert, dpf_key, &s, why, sizeof(why)), -EINVAL);
	assert_null(s);
	/* a key others can read is refused */
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(pki_signer_load(cert, key, &s, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "0644"));
	assert_int_equal(pki_signer_load(cert, "/nonexistent", &s, why, sizeof(why)), -ENOENT);
	/* a certificate file that is a key */
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(pki_signer_load(key, key, &s, why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_no_overwrite),
		cmocka_unit_test(test_server_names),
		cmocka_unit_test(test_signer_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
