// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target of lib/package (docs/package-format.md), the parsers a
 * device and the DPF run on what the other side sends.  The first byte picks
 * what the rest is:
 *   0: a DER package for package_verify() against a root made here;
 *   1: package or update content JSON (package_content_parse and
 *   package_update_parse, then the object checks);
 *   2: a download request; 3: a receipt or tamper report;
 *   4: an attested receipt; 5: an attested tamper report;
 *   6: a DER consent (docs/change-format.md 2, no chain); 7: consent and
 *   release content JSON; 8: a DER release against the root made here.
 * Whatever parses must stay within the documented limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "lib/package.h"

#define NOW 1800000000

static X509 *root;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_NAME *name = X509_NAME_new();

	(void)argc;
	(void)argv;
	root = X509_new();
	if (!key || !name || !root)
		abort();
	X509_set_version(root, 2);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"root", -1,
				   -1, 0);
	X509_set_subject_name(root, name);
	X509_set_issuer_name(root, name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(root), NOW - 86400);
	ASN1_TIME_set(X509_getm_notAfter(root), NOW + 86400);
	X509_set_pubkey(root, key);
	if (!X509_sign(root, key, EVP_sha256()))
		abort();
	EVP_PKEY_free(key);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	const char *text = (const char *)data + 1;
	size_t n = size - 1;

	if (size < 1)
		return 0;
	switch (data[0] % 9) {
	case 0: {
		uint8_t *out = NULL;
		size_t len = 0;
		X509 *signer = NULL;

		if (package_verify(data + 1, n, root, NOW, &out, &len, &signer, why, sizeof(why)) == 0) {
			if (len > PACKAGE_CONTENT_MAX || !signer)
				abort();
			X509_free(signer);
			free(out);
		}
		break;
	}
	case 1: {
		struct package_content c;

		if (package_content_parse(text, n, &c, why, sizeof(why)) == 0) {
			if (c.n_pins > PACKAGE_PINS_MAX || c.sequence < 1 || c.expires <= c.issued ||
			    !c.profile || strlen(c.profile) != c.profile_len ||
			    c.subscriber_cert_len > PACKAGE_CERT_MAX ||
			    c.consent_len > PACKAGE_TOKEN_MAX || c.release_len > PACKAGE_TOKEN_MAX ||
			    (c.replaces && !c.consent) || (c.version == 2 && !c.subscriber_cert))
				abort();
			(void)package_objects_check(&c, why, sizeof(why));
			(void)package_policy_verify(&c.policy);
			package_content_free(&c);
		}
		{
			struct package_update u;
			bool upd;

			if (package_update_parse(text, n, &u, why, sizeof(why)) == 0) {
				if (u.n_files > PACKAGE_UPDATE_FILES_MAX || u.expires <= u.issued ||
				    package_content_is_update(text, n, &upd, why, sizeof(why)) || !upd)
					abort();
				for (size_t i = 0; i < u.n_files; i++)
					if (!u.files[i].len || u.files[i].len > PACKAGE_UPDATE_FILE_MAX ||
					    u.files[i].path_len < 2 || u.files[i].path[0] != 0x3f00)
						abort();
				(void)package_update_objects_check(&u, why, sizeof(why));
				package_update_free(&u);
			}
		}
		break;
	}
	case 2: {
		struct package_request r;

		if (package_request_parse(text, n, &r, why, sizeof(why)) == 0) {
			if (strlen(r.ticket) > PACKAGE_TICKET_MAX ||
			    (r.has_switch && (!r.consent || r.consent_len > PACKAGE_TOKEN_MAX ||
					      r.release_len > PACKAGE_TOKEN_MAX)))
				abort();
			package_request_free(&r);
		}
		break;
	}
	case 3: {
		struct package_report r;

		if (package_report_parse(text, n, &r, why, sizeof(why)) == 0 &&
		    (strlen(r.reason) > PACKAGE_REASON_MAX || strlen(r.device) != 64))
			abort();
		break;
	}
	case 6:
	case 8: {
		enum package_type t = data[0] % 9 == 6 ? PACKAGE_TYPE_CONSENT : PACKAGE_TYPE_RELEASE;
		STACK_OF(X509) *roots = sk_X509_new_null();
		struct package_token tok;
		char id[65];

		if (roots && sk_X509_push(roots, root) &&
		    package_token_open(t, data + 1, n, roots, NOW, &tok, id, why, sizeof(why)) == 0 &&
		    (tok.type != t || strlen(id) != 64 || tok.expires <= tok.issued))
			abort();
		sk_X509_free(roots);
		break;
	}
	case 7: {
		struct package_token tok;

		for (int t = PACKAGE_TYPE_CONSENT; t <= PACKAGE_TYPE_RELEASE; t++)
			if (package_token_parse((enum package_type)t, text, n, &tok, why,
						sizeof(why)) == 0 &&
			    (strlen(tok.id) != 32 || strlen(tok.to_sho) != 64 ||
			     tok.expires <= tok.issued))
				abort();
		break;
	}
	default: {
		struct package_attested a;
		enum package_report_kind k = data[0] % 9 == 4 ? PACKAGE_RECEIPT : PACKAGE_TAMPER;

		if (package_attested_parse(text, n, k, &a, why, sizeof(why)) == 0) {
			if (a.body_len > PACKAGE_MESSAGE_MAX)
				abort();
			package_attested_free(&a);
		}
		break;
	}
	}
	return 0;
}
