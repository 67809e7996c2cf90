// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The SHO's subscriptions (tools/mcim-operator/subscription.h, kek.h) and
 * the DPF's store rules (store.h "The download"): the Luhn digit against
 * published examples, ICCID and IMSI layout on the card, IMSI range
 * exhaustion, the KEK (round trip, a flipped byte, another ICCID or KEK
 * refused), the template's refusal of secrets, store_package_issue()'s
 * refusals leaving the database unchanged, and a package dpf_build() makes
 * for a subscription verifies and parses back with lib/package.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <cmocka.h>

#include "hex.h"
#include "json-util.h"
#include "package.h"
#include "tpm2-crypto.h"
#include "tools/mcim-operator/dpf.h"
#include "tools/mcim-operator/kek.h"
#include "tools/mcim-operator/store.h"
#include "tools/mcim-operator/subscription.h"

#define DEV "00000000000000000000000000000000000000000000000000000000000000aa"

static void luhn(void **state _unused_)
{
	char iccid[SUB_ICCID_DIGITS + 1];

	/* ISO/IEC 7812-1 Annex B's worked example (also Wikipedia's): 7992739871 -> 3 */
	assert_int_equal(sub_luhn_digit("7992739871"), '3');
	/* published test card numbers: Visa 4111 1111 1111 1111, Amex 3782 822463 10005 */
	assert_int_equal(sub_luhn_digit("411111111111111"), '1');
	assert_int_equal(sub_luhn_digit("37828224631000"), '5');
	assert_int_equal(sub_luhn_digit("0"), '0');
	assert_int_equal(sub_luhn_digit("12a"), -EINVAL);
	assert_int_equal(sub_luhn_digit(""), -EINVAL);
	/* ICCID: prefix, zero-padded serial to 18 digits, Luhn digit (E.118) */
	assert_int_equal(sub_iccid_make("8988211", 17, iccid), 0);
	assert_string_equal(iccid, "898821100000000017" "7");
	assert_int_equal(sub_iccid_make("89882110000000001", 9, iccid), 0);
	assert_int_equal(sub_iccid_make("89882110000000001", 10, iccid), -ERANGE);
	assert_int_equal(sub_iccid_make("1234", 1, iccid), -EINVAL); /* not 89 */
}

static void identities(void **state _unused_)
{
	char imsi[SUB_IMSI_MAX + 1], ef[21];
	uint64_t idx;

	assert_int_equal(sub_imsi_next("001010000000001", "001010000000003", "", imsi, &idx), 0);
	assert_string_equal(imsi, "001010000000001");
	assert_int_equal(idx, 0);
	assert_int_equal(sub_imsi_next("001010000000001", "001010000000003", "001010000000002",
				       imsi, &idx), 0);
	assert_string_equal(imsi, "001010000000003");
	assert_int_equal(idx, 2);
	/* exhausted */
	assert_int_equal(sub_imsi_next("001010000000001", "001010000000003", "001010000000003",
				       imsi, &idx), -ENOSPC);
	assert_int_equal(sub_imsi_next("001010000000003", "001010000000001", "", imsi, &idx), -EINVAL);
	assert_int_equal(sub_imsi_next("00101000000001", "001010000000003", "", imsi, &idx), -EINVAL);

	/* TS 31.102 4.2.2: docs/profile-format.md's example EF.IMSI of 001010123456789 */
	assert_int_equal(sub_ef_imsi("001010123456789", ef), 0);
	assert_string_equal(ef, "080910101032547698");
	/* even number of digits: parity nibble 1, last byte 'F' padded */
	assert_int_equal(sub_ef_imsi("26201123456789", ef), 0);
	assert_string_equal(ef, "0821261021436587f9");
	/* TS 102 221 13.2: BCD, nibbles swapped */
	assert_int_equal(sub_ef_iccid("8988211000000000178", ef), 0);
	assert_string_equal(ef, "988812010000000071f8");
	assert_int_equal(sub_ef_iccid("8988211000000000017", ef), 0);
	assert_string_equal(ef, "988812010000000010f7");
}

static void kek(void **state _unused_)
{
	uint8_t k[KEK_SIZE], k2[KEK_SIZE], plain[SUB_SECRETS_SIZE], out[SUB_SECRETS_SIZE];
	struct sub_secrets s, t;
	char *hex = NULL, *hex2 = NULL;
	char pin[SUB_PIN_FIELD + 1];

	memset(k, 0x42, sizeof(k));
	memset(k2, 0x43, sizeof(k2));
	assert_int_equal(sub_secrets_new(SUB_MILENAGE, &s), 0);
	assert_int_equal(s.k_len, 16);
	assert_int_equal(s.opc_len, 16);
	sub_pin_text(s.pin1, pin);
	assert_int_equal(strlen(pin), 4);
	assert_int_equal(strspn(pin, "0123456789"), 4);
	sub_pin_text(s.puk1, pin);
	assert_int_equal(strlen(pin), 8);
	sub_secrets_serialize(&s, plain);
	assert_int_equal(kek_seal(k, "8988211000000000178", plain, sizeof(plain), &hex), 0);
	assert_int_equal(strlen(hex), KEK_HEX_LEN(SUB_SECRETS_SIZE));
	assert_int_equal(kek_open(k, "8988211000000000178", hex, out, sizeof(out)), 0);
	assert_memory_equal(plain, out, sizeof(out));
	assert_int_equal(sub_secrets_parse(out, &t), 0);
	assert_memory_equal(&s, &t, sizeof(s));
	/* a fresh IV each time: the same plaintext seals differently */
	assert_int_equal(kek_seal(k, "8988211000000000178", plain, sizeof(plain), &hex2), 0);
	assert_string_not_equal(hex, hex2);
	/* another ICCID (AAD), another KEK, any flipped byte: refused, out wiped */
	assert_int_equal(kek_open(k, "8988211000000000186", hex, out, sizeof(out)), -EBADMSG);
	assert_int_equal(kek_open(k2, "8988211000000000178", hex, out, sizeof(out)), -EBADMSG);
	for (size_t i = 2; i < strlen(hex); i += 2) {
		char c = hex[i];

		hex[i] = c == '0' ? '1' : '0';
		assert_int_equal(kek_open(k, "8988211000000000178", hex, out, sizeof(out)), -EBADMSG);
		hex[i] = c;
	}
	memset(plain, 0, sizeof(plain));
	assert_memory_equal(out, plain, sizeof(out));
	/* truncated, or another length */
	hex[strlen(hex) - 2] = 0;
	assert_int_equal(kek_open(k, "8988211000000000178", hex, out, sizeof(out)), -EBADMSG);
	free(hex);
	free(hex2);
	assert_int_equal(sub_secrets_new(SUB_TUAK, &s), 0);
	assert_int_equal(s.k_len, 32);
	assert_int_equal(s.opc_len, 32);
}

static const char tmpl[] =
	"{\"format\":\"mcim-profile\",\"version\":1,\"auth\":{\"algorithm\":\"milenage\"%s},"
	"\"pins\":[{\"ref\":\"PIN1\",\"enabled\":false%s},{\"ref\":\"ADM1\"}],"
	"\"files\":[{\"path\":\"3F00\",\"type\":\"MF\"},"
	"{\"path\":\"3F00/2FE2\",\"type\":\"transparent\",\"size\":10},"
	"{\"path\":\"3F00/7FFF\",\"type\":\"ADF\",\"name\":\"ADF.USIM\",\"aid\":\"a0000000871002ff\"},"
	"{\"path\":\"ADF.USIM/6F07\",\"type\":\"transparent\",\"size\":9}%s]}";

static char pins[SUB_PIN_REFS_MAX];

static int fill(const char *auth_extra, const char *pin_extra, const char *files_extra,
		enum sub_algorithm *a, bool given, char **ret, char *why)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), tmpl, auth_extra, pin_extra, files_extra);
	return sub_template_fill(buf, strlen(buf), a, given, "8988211000000000178",
				 "001010123456789", ret, pins, why, 256);
}

static void template(void **state _unused_)
{
	enum sub_algorithm a = SUB_MILENAGE;
	char why[256], *out = NULL;

	assert_int_equal(fill("", "", "", &a, false, &out, why), 0);
	assert_non_null(strstr(out, "\"path\":\"3F00/2FE2\",\"type\":\"transparent\",\"size\":10,"
				    "\"contents\":\"988812010000000071f8\""));
	assert_non_null(strstr(out, "\"contents\":\"080910101032547698\""));
	assert_string_equal(pins, "010a"); /* PIN1, ADM1 */
	free(out);
	/* secrets are refused wherever they are */
	assert_int_equal(fill(",\"k\":\"00\"", "", "", &a, false, &out, why), -EINVAL);
	assert_non_null(strstr(why, "auth.k"));
	assert_int_equal(fill(",\"opc\":\"00\"", "", "", &a, false, &out, why), -EINVAL);
	assert_int_equal(fill("", ",\"value\":\"1234\"", "", &a, false, &out, why), -EINVAL);
	assert_non_null(strstr(why, "has a value"));
	assert_int_equal(fill("", ",\"puk\":\"12345678\"", "", &a, false, &out, why), -EINVAL);
	/* the asked algorithm must be the template's */
	a = SUB_TUAK;
	assert_int_equal(fill("", "", "", &a, true, &out, why), -EINVAL);
	assert_non_null(strstr(why, "milenage"));
	/* one EF.IMSI of the USIM */
	a = SUB_MILENAGE;
	assert_int_equal(fill("", "", ",{\"path\":\"3F00/7FFF/6F07\",\"type\":\"transparent\",\"size\":9}",
			      &a, false, &out, why), -EINVAL);
	assert_non_null(strstr(why, "more than one EF.IMSI"));
	assert_int_equal(sub_template_fill("{\"format\":\"x\"}", 14, &a, false, "1", "001010123456789",
					   &out, NULL, why, sizeof(why)), -EINVAL);
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/mcim-subtest.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void add_sub(struct store *s, const char *iccid, const char *imsi, const char *device)
{
	struct op_subscription x = { .msisdn = "", .sho = "op-a", .subscriber = "acme",
				     .algorithm = "milenage", .state = "created",
				     .secrets = (char *)"00", .profile = (char *)"{}", .created = 1 };

	snprintf(x.iccid, sizeof(x.iccid), "%s", iccid);
	snprintf(x.imsi, sizeof(x.imsi), "%s", imsi);
	snprintf(x.device_id, sizeof(x.device_id), "%s", device);
	assert_int_equal(store_subscription_add(s, &x), 0);
}

static void store_dpf(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	char url[256], why[256], cmd[512], last[16];
	struct store *s;
	struct op_device dev = { .id = DEV, .ek_type = "rsa", .ek_public = "00", .model = "gw",
				 .subscriber = "acme", .sho = "op-a" };
	struct op_package p = { .device_id = DEV, .nonce = "n1", .jti = "j1", .ak_public = "00",
				.kpd = "aa", .issued = 10, .expires = 20 }, got;
	struct op_subscription sub;
	int64_t n;

	snprintf(url, sizeof(url), "sqlite:%s/op.db", d);
	assert_int_equal(store_open(url, &s, why, sizeof(why)), 0);
	assert_int_equal(store_import_begin(s), 0);
	assert_int_equal(store_device_add(s, &dev), 0);
	assert_int_equal(store_import_commit(s), 0);
	assert_int_equal(store_validation_success(s, DEV, 5, 0, 0, 0, "j1", 100, "ok"), 0);
	assert_int_equal(store_validation_success(s, DEV, 6, 0, 0, 0, "j2", 100, "ok"), 0);

	/* no subscription: refused, the ticket not consumed */
	assert_int_equal(store_package_issue(s, "op-a", "acme", &p, &sub), -ENXIO);
	add_sub(s, "8988211000000000178", "001010000000017", "");
	add_sub(s, "8988211000000000186", "001010000000018", "");
	assert_int_equal(store_subscription_add(s, &(struct op_subscription){
		.iccid = "8988211000000000194", .imsi = "001010000000017", .sho = "op-a",
		.algorithm = "milenage", .state = "created", .secrets = (char *)"00",
		.profile = (char *)"{}" }), -EEXIST);
	assert_int_equal(store_subscription_last_imsi(s, "001010000000001", "001010000000099", last), 0);
	assert_string_equal(last, "001010000000018");
	/* a tamper report outstanding: refused */
	assert_int_equal(store_tamper_add(s, DEV, 7, 8, "pcr 23"), 0);
	assert_int_equal(store_package_issue(s, "op-a", "acme", &p, &sub), -EPERM);
	assert_int_equal(store_tamper_clear(s, DEV, 9, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_tamper_outstanding(s, DEV, &n), 0);
	assert_int_equal(n, 0);
	/* an unknown ticket */
	snprintf(p.jti, sizeof(p.jti), "nope");
	assert_int_equal(store_package_issue(s, "op-a", "acme", &p, &sub), -ENOENT);
	/* nothing changed by the refusals: the pool is untouched */
	assert_int_equal(store_subscription_get(s, "001010000000017", &sub), 0);
	assert_string_equal(sub.device_id, "");
	assert_string_equal(sub.state, "created");
	op_subscription_clear(&sub);
	/* success: the pool's first subscription, sequence 1 */
	snprintf(p.jti, sizeof(p.jti), "j1");
	assert_int_equal(store_package_issue(s, "op-a", "acme", &p, &sub), 0);
	assert_int_equal(p.sequence, 1);
	assert_string_equal(p.iccid, "8988211000000000178");
	assert_string_equal(sub.device_id, DEV);
	assert_string_equal(sub.state, "packaged");
	op_subscription_clear(&sub);
	/* the same ticket again, the same nonce again */
	snprintf(p.nonce, sizeof(p.nonce), "n2");
	assert_int_equal(store_package_issue(s, "op-a", "acme", &p, &sub), -EALREADY);
	snprintf(p.nonce, sizeof(p.nonce), "n1");
	snprintf(p.jti, sizeof(p.jti), "j2");
	assert_int_equal(store_package_issue(s, "op-a", "acme", &p, &sub), -EEXIST);
	/* a new nonce: the device's own subscription again, sequence 2 */
	snprintf(p.nonce, sizeof(p.nonce), "n2");
	assert_int_equal(store_package_issue(s, "op-a", "acme", &p, &sub), 0);
	assert_int_equal(p.sequence, 2);
	assert_string_equal(p.iccid, "8988211000000000178");
	op_subscription_clear(&sub);
	/* the receipt: confirmed once, the subscription active */
	assert_int_equal(store_package_get(s, DEV, 2, &got), 0);
	assert_string_equal(got.nonce, "n2");
	assert_string_equal(got.kpd, "aa");
	assert_int_equal(got.confirmed, 0);
	assert_int_equal(store_package_get(s, DEV, 3, &got), -ENOENT);
	assert_int_equal(store_package_confirm(s, DEV, 2, 50, "installed", "", "ok"), 0);
	assert_int_equal(store_package_confirm(s, DEV, 2, 51, "installed", "", "ok"), -EALREADY);
	assert_int_equal(store_subscription_get(s, "8988211000000000178", &sub), 0);
	assert_string_equal(sub.state, "active");
	op_subscription_clear(&sub);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void package_round_trip(void **state _unused_)
{
	_cleanup_free_ char *d = tmpdir();
	struct pki_init_opts po = { .days = 1 };
	struct op_config cfg;
	struct dpf_keys *k = NULL;
	struct sub_secrets sec;
	struct op_subscription x = { .iccid = "8988211000000000178", .imsi = "001010123456789",
				     .sho = "op-a", .algorithm = "milenage", .state = "created" };
	struct package_content c;
	TPM2B_PUBLIC srk = { 0 };
	uint8_t plain[SUB_SECRETS_SIZE], nonce[32], *der = NULL, *content = NULL;
	size_t der_len, clen;
	char why[512], path[300], cmd[400];
	enum sub_algorithm a = SUB_MILENAGE;
	EVP_PKEY *srk_key;
	X509 *root;
	FILE *f;

	op_config_defaults(&cfg);
	snprintf(cfg.pki_dir, sizeof(cfg.pki_dir), "%s/pki", d);
	assert_int_equal(pki_init(cfg.pki_dir, &po, why, sizeof(why)), 0);
	assert_int_equal(dpf_keys_load(&cfg, &k, why, sizeof(why)), 0);
	/* a subscription as `subscription create` stores it */
	assert_int_equal(fill("", "", "", &a, false, &x.profile, why), 0);
	memcpy(x.pin_refs, pins, sizeof(pins));
	assert_int_equal(sub_secrets_new(SUB_MILENAGE, &sec), 0);
	sub_secrets_serialize(&sec, plain);
	assert_int_equal(kek_seal(k->kek, x.iccid, plain, sizeof(plain), &x.secrets), 0);
	/* an SRK as the TRE makes it: ECC P-256 restricted decrypt, AES-128-CFB */
	srk_key = EVP_EC_gen("P-256");
	assert_int_equal(tpm2_public_from_evp(srk_key, TPM2_ALG_SHA256,
					      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
						      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
					      &srk.publicArea), 0);
	srk.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	srk.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	srk.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	memset(nonce, 0x5a, sizeof(nonce));
	struct dpf_input in = { .device_id = DEV, .srk = &srk, .nonce = nonce, .sequence = 3,
				.issued = time(NULL), .expires = time(NULL) + 600, .sub = &x,
				.operator_name = "Operator A",
				.key_pcr_mask = (1u << 0) | (1u << 7) | (1u << 23),
				.key_form = PACKAGE_FORM_AES };
	in.ek_name.size = 34;
	in.ek_name.name[1] = 0x0b;
	in.kpd.size = 32;
	memset(in.kpd.buffer, 0x77, 32);
	assert_int_equal(dpf_build(k, &in, &der, &der_len, why, sizeof(why)), 0);

	/* what the device does with it: verify against the pinned root, parse, check */
	snprintf(path, sizeof(path), "%s/root-ca.pem", cfg.pki_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	root = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(root);
	assert_int_equal(package_verify(der, der_len, root, time(NULL), &content, &clen, NULL, why,
					sizeof(why)), 0);
	assert_int_equal(package_content_parse((char *)content, clen, &c, why, sizeof(why)), 0);
	assert_int_equal(package_objects_check(&c, why, sizeof(why)), 0);
	assert_int_equal(package_policy_verify(&c.policy), 0);
	assert_string_equal(c.device, DEV);
	assert_string_equal(c.iccid, x.iccid);
	assert_string_equal(c.imsi, x.imsi);
	assert_string_equal(c.operator_name, "Operator A");
	assert_int_equal(c.sequence, 3);
	assert_memory_equal(c.nonce, nonce, 32);
	assert_int_equal(c.policy.pcr_mask, in.key_pcr_mask);
	assert_memory_equal(&c.policy.pcr_digest, &in.kpd, sizeof(in.kpd));
	{
		/* the package's policy key is pki's TPM2B_PUBLIC of policy.key, by name */
		TPM2B_NAME n1, n2;

		assert_int_equal(tpm2_public_name(&c.policy.key.publicArea, &n1), 0);
		assert_int_equal(tpm2_public_name(&k->policy_public.publicArea, &n2), 0);
		assert_memory_equal(&n1, &n2, sizeof(n1));
	}
	assert_int_equal(c.k.form, PACKAGE_FORM_AES);
	assert_int_equal(c.opc.form, PACKAGE_FORM_SEALED);
	/* one object per PIN of the template (PIN1, ADM1) */
	assert_int_equal(c.n_pins, 2);
	assert_int_equal(c.pins[0].ref, 0x01);
	assert_int_equal(c.pins[1].ref, 0x0a);
	assert_non_null(strstr(c.profile, "\"contents\":\"080910101032547698\""));
	/* no secret in clear anywhere in the content */
	{
		char hk[33];

		hex_encode(sec.k, 16, hk);
		assert_null(strstr((char *)content, hk));
	}
	package_content_free(&c);
	free(content);
	free(der);
	/* a TUAK subscription asked as AES gets its K sealed */
	assert_int_equal(dpf_key_form(PACKAGE_FORM_AES, "tuak"), PACKAGE_FORM_SEALED);
	/* a subscription whose sealed secrets were changed is refused */
	x.secrets[10] = x.secrets[10] == '0' ? '1' : '0';
	assert_int_not_equal(dpf_build(k, &in, &der, &der_len, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "do not decrypt"));
	X509_free(root);
	EVP_PKEY_free(srk_key);
	op_subscription_clear(&x);
	dpf_keys_free(k);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(luhn),	    cmocka_unit_test(identities), cmocka_unit_test(kek),
		cmocka_unit_test(template), cmocka_unit_test(store_dpf),
		cmocka_unit_test(package_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
