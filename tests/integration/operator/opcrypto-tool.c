// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Test helper for tests/integration/operator: the opcrypto library from the
 * command line, so that shell scripts can compare it with swtpm, tpm2-tools,
 * openssl and python3-cryptography.
 *
 *   opcrypto-tool ekcert CADIR CERTFILE [NOW]   verify an EK certificate
 *   opcrypto-tool ekpub FILE                    a bare EK public key
 *   opcrypto-tool ticket PKIDIR                 pki init, then sign a ticket
 *
 * ekcert/ekpub print key=value lines (type, device_id, name: the hex
 * TPM2B_NAME of the rebuilt EK public area, manufacturer, model, version,
 * ca_sha256, ca_subject); a refusal prints "refused: REASON: WHY" and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "hex.h"
#include "tools/mcim-operator/ekcert.h"
#include "tools/mcim-operator/pki.h"
#include "tools/mcim-operator/ticket.h"
#include "tpm2-crypto.h"

static int print_info(const struct ekcert_info *info)
{
	char hex[2 * sizeof(TPMU_NAME) + 1];
	TPM2B_NAME name;

	if (tpm2_public_name(&info->ek_public, &name) < 0)
		return 1;
	hex_encode(name.name, name.size, hex);
	printf("type=%s\ndevice_id=%s\nname=%s\n", ekcert_type_name(info->type),
	       info->device_id, hex);
	printf("manufacturer=%s\nmodel=%s\nversion=%s\n", info->manufacturer, info->model,
	       info->version);
	printf("ca_sha256=%s\nca_subject=%s\n", info->ca_sha256, info->ca_subject);
	return 0;
}

static int ekcert(int argc, char **argv)
{
	struct ekcert_store *s = NULL;
	struct ekcert_info info;
	char *data = NULL, why[512] = "";
	size_t len;
	int r;

	if (argc < 4)
		return 2;
	r = ekcert_store_load(argv[2], &s, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "store: %s\n", why);
		return 2;
	}
	r = read_file_max(argv[3], 1 << 20, &data, &len);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[3], strerror(-r));
		return 2;
	}
	r = ekcert_verify(s, (uint8_t *)data, len, argc > 4 ? (time_t)strtoll(argv[4], NULL, 10) : time(NULL),
			  &info, why, sizeof(why));
	free(data);
	ekcert_store_free(s);
	if (r < 0) {
		printf("refused: %s: %s\n", ekcert_strerror(r), why);
		return 1;
	}
	return print_info(&info);
}

static int ekpub(int argc, char **argv)
{
	struct ekcert_info info;
	char *data = NULL, why[512] = "";
	size_t len;
	int r;

	if (argc < 3)
		return 2;
	r = read_file_max(argv[2], 1 << 20, &data, &len);
	if (r < 0)
		return 2;
	r = ekcert_from_public((uint8_t *)data, len, &info, why, sizeof(why));
	free(data);
	if (r < 0) {
		printf("refused: %s: %s\n", ekcert_strerror(r), why);
		return 1;
	}
	return print_info(&info);
}

static int ticket(int argc, char **argv)
{
	struct pki_init_opts o = { .days = 1 };
	struct pki_signer *s = NULL;
	struct ticket t = {
		.sub = "3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a",
		.model = "gw-1000",
		.policy_version = 3,
		.mode = TICKET_MODE_REMOTE,
	};
	char why[512] = "", cert[4096], key[4096], *token = NULL;
	int r;

	if (argc < 3)
		return 2;
	r = pki_init(argv[2], &o, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "pki_init: %s\n", why);
		return 1;
	}
	snprintf(cert, sizeof(cert), "%s/" PKI_TICKET_CERT, argv[2]);
	snprintf(key, sizeof(key), "%s/" PKI_TICKET_KEY, argv[2]);
	r = pki_signer_load(cert, key, &s, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "pki_signer_load: %s\n", why);
		return 1;
	}
	ticket_new_jti(t.jti);
	t.ak_name.size = 34;
	t.srk_name.size = 34;
	t.pcr_digest.size = 32;
	for (int i = 0; i < 34; i++) {
		t.ak_name.name[i] = (uint8_t)i;
		t.srk_name.name[i] = (uint8_t)(0xff - i);
	}
	t.ak_name.name[1] = t.srk_name.name[1] = 0x0b;
	memset(t.pcr_digest.buffer, 0xa5, 32);
	t.kpd.size = 32;
	memset(t.kpd.buffer, 0x5c, 32);
	t.iat = time(NULL);
	t.exp = t.iat + 600;
	r = ticket_sign(s, &t, &token);
	pki_signer_free(s);
	if (r < 0) {
		fprintf(stderr, "ticket_sign: %s\n", strerror(-r));
		return 1;
	}
	printf("%s\n", token);
	free(token);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "ekcert"))
		return ekcert(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ekpub"))
		return ekpub(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ticket"))
		return ticket(argc, argv);
	fprintf(stderr, "usage: opcrypto-tool ekcert CADIR CERT [NOW] | ekpub FILE | ticket PKIDIR\n");
	return 2;
}
