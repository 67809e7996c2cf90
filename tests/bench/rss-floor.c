// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rss-floor TCTI DIR: the resident set of mcimd's libraries alone, for
 * scale next to mcimd.rss_8_profiles_kib (tests/bench/README.md).
 *
 * Linked like mcimd, it uses each library once the way the daemon does and
 * nothing else: OpenSSL initialised without its configuration, one ECDH on
 * P-256 (a session salt), HMAC-SHA256 and AES-128-CFB (session and
 * parameter crypto); ESYS on TCTI with one TPM2_GetRandom; an SQLite
 * database in DIR in WAL mode with synchronous=FULL, one table, one
 * committed row read back; a json-c parse; a generic netlink lookup of the
 * vusim family; an INI text through libinih.  Then it prints
 * `bench mcimd.rss_libraries_kib N KiB` (VmRSS) and a comment line with the
 * anonymous and file-backed parts.  Exits non-zero when a step fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <json-c/json.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "linux/vusim.h"

static int fail(const char *what)
{
	fprintf(stderr, "rss-floor: %s failed\n", what);
	return 1;
}

static int crypto_once(void)
{
	static const unsigned char key[16], iv[16], msg[32];
	unsigned char out[64], secret[32];
	size_t out_len = sizeof(out), secret_len = sizeof(secret);
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY_CTX *dh = a ? EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL) : NULL;
	EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-128-CFB", NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = b && dh && EVP_PKEY_derive_init(dh) > 0 && EVP_PKEY_derive_set_peer(dh, b) > 0 &&
	     EVP_PKEY_derive(dh, secret, &secret_len) > 0 &&
	     EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len, msg,
		       sizeof(msg), out, sizeof(out), &out_len) &&
	     aes && c && EVP_EncryptInit_ex2(c, aes, key, iv, NULL) &&
	     EVP_EncryptUpdate(c, out, &n, msg, sizeof(msg));
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(aes);
	EVP_PKEY_CTX_free(dh);
	EVP_PKEY_free(b);
	EVP_PKEY_free(a);
	return ok ? 0 : -1;
}

static int tpm_once(const char *tcti_conf, ESYS_CONTEXT **esys)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	TPM2B_DIGEST *rnd = NULL;
	TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti_conf, &tcti);

	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Initialize(esys, tcti, NULL);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_GetRandom(*esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 8, &rnd);
	Esys_Free(rnd);
	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "rss-floor: %s: %s\n", tcti_conf, Tss2_RC_Decode(rc));
		return -1;
	}
	return 0;
}

static int store_once(const char *dir, sqlite3 **db)
{
	char path[4096];
	sqlite3_stmt *st = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/rss-floor.db", dir);
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_exec(*db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB);"
			 "BEGIN IMMEDIATE; INSERT INTO t (v) VALUES (randomblob(64)); COMMIT;",
			 NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(*db, "SELECT v FROM t ORDER BY id DESC LIMIT 1", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int ini_key(void *user, const char *section, const char *name, const char *value)
{
	(void)section;
	(void)name;
	(void)value;
	++*(int *)user;
	return 1;
}

static long status_kib(const char *field)
{
	char line[256];
	long v = -1;
	size_t len = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	ESYS_CONTEXT *esys = NULL;
	TSS2_TCTI_CONTEXT *tcti;
	sqlite3 *db = NULL;
	struct nl_sock *sk;
	json_object *j;
	int keys = 0;
	long rss;

	if (argc != 3) {
		fprintf(stderr, "usage: rss-floor TCTI DIR\n");
		return 2;
	}
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
				 NULL) ||
	    crypto_once() < 0)
		return fail("OpenSSL");
	if (tpm_once(argv[1], &esys) < 0)
		return fail("ESYS on the TPM");
	if (store_once(argv[2], &db) < 0)
		return fail("SQLite");
	j = json_tokener_parse("{\"version\": 1, \"method\": \"status\"}");
	if (!j)
		return fail("json-c");
	json_object_put(j);
	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk) < 0 || genl_ctrl_resolve(sk, VUSIM_GENL_NAME) < 0)
		return fail("the vusim generic netlink family lookup");
	if (ini_parse_string("[tpm]\ntcti = device:/dev/tpmrm0\n", ini_key, &keys) != 0 ||
	    keys != 1)
		return fail("libinih");
	rss = status_kib("VmRSS");
	printf("bench mcimd.rss_libraries_kib %ld KiB\n", rss);
	printf("# mcimd's libraries alone (tests/bench/rss-floor.c): VmRSS %ld KiB, anonymous "
	       "%ld, file-backed %ld\n",
	       rss, status_kib("RssAnon"), status_kib("RssFile"));
	nl_socket_free(sk);
	sqlite3_close(db);
	if (Esys_GetTcti(esys, &tcti) != TSS2_RC_SUCCESS)
		tcti = NULL;
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
	return 0;
}
