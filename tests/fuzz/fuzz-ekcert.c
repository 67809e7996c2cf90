// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target of the EK certificate checks (tools/mcim-operator/ekcert):
 * the input is an EK certificate (DER or PEM) for ekcert_verify() against a
 * store holding a root made by pki_init() at start, and, since a mutated
 * certificate never chains, its profile checks alone (ekcert_check_profile())
 * and ekcert_from_public() on the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tools/mcim-operator/ekcert.h"
#include "tools/mcim-operator/pki.h"

static struct ekcert_store *store;
static char dir[] = "/tmp/fuzz-ekcert.XXXXXX";

static void cleanup(void)
{
	char cmd[64];

	ekcert_store_free(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-ekcert: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pki_init_opts o = { .days = 1 };
	char why[256] = "", pki[64], trusted[64], root[64];

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	/* the trusted directory holds only the root of a fresh PKI */
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	snprintf(trusted, sizeof(trusted), "%s/trusted", dir);
	snprintf(root, sizeof(root), "%s/root.pem", trusted);
	if (pki_init(pki, &o, why, sizeof(why)) < 0 || mkdir(trusted, 0700) < 0 ||
	    symlink("../pki/" PKI_ROOT_CERT, root) < 0 ||
	    ekcert_store_load(trusted, &store, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz-ekcert: %s\n", why);
		abort();
	}
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ekcert_info info;
	const unsigned char *p = data;
	char why[256];
	X509 *x;

	if (ekcert_verify(store, data, size, 1800000000, &info, why, sizeof(why)) == 0)
		abort();	/* nothing the fuzzer makes chains to a fresh root */
	if (ekcert_from_public(data, size, &info, why, sizeof(why)) == 0 &&
	    strlen(info.device_id) != 64)
		abort();
	x = size <= EKCERT_MAX_SIZE ? d2i_X509(NULL, &p, (long)size) : NULL;
	if (x) {
		if (ekcert_check_profile(x, &info, why, sizeof(why)) == 0 &&
		    (!info.manufacturer[0] || !info.model[0] || !info.version[0]))
			abort();
		X509_free(x);
	}
	ERR_clear_error();
	return 0;
}
