// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-operator: mcim-operator's benchmarks (issue: registration and
 * platform validation).
 *
 *   bench-operator fleet DIR N
 *       writes DIR/mfr/ca.pem (a TPM maker's CA) and DIR/fleet.csv with N
 *       devices, each with its own ECC P-256 EK certificate of the TCG
 *       profile (what `device import` verifies); not timed.
 *   bench-operator certfloor DIR N
 *       OpenSSL's own cost per EK certificate of that fleet (decode and
 *       chain), the floor of the import.
 *   bench-operator validate (under tests/lib/with-swtpm --ek-cert)
 *       records 8 validations of the device on $MCIM_TEST_TCTI (daemon/tre,
 *       as mcimd), then runs steps 1-5 of the PVA in this process, on one
 *       core, for each of N iterations: start request parsed, device and
 *       model read, AK checked, MakeCredential, session stored; evidence
 *       request parsed, session consumed, every check, ticket signed,
 *       success stored.  The evidence is one of the 8 recorded (the TPM's
 *       signatures cannot be made in advance for a fresh nonce): each
 *       iteration stores a fresh session and verifies a recorded one, so the
 *       operator's own cost is measured, not the TPM's.  Prints
 *       operator.validation_cpu_us, operator.validations_per_s_core and, as
 *       the floor, the raw public-key operations one validation needs.
 *   bench-operator packages [N]
 *       the DPF's cost per package on one core, in this process, no TLS and
 *       no store: the ticket verified (ES256), the AK and SRK checked
 *       against it, the subscription's secrets decrypted with the KEK, the
 *       policy signed, K, OPc and 3 PINs duplicated to a P-256 SRK (ECDH
 *       each), the content built and CMS-signed.  Prints
 *       operator.package_cpu_us, operator.packages_per_s_core and, as the
 *       floor, the raw public-key work of one package
 *       (operator.package_floor_us).
 */
#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <tss2/tss2_mu.h>

#include "daemon/tre/tre.h"
#include "fileio.h"
#include "hex.h"
#include "tpm2-cred.h"
#include "tpm2-crypto.h"
#include "json-util.h"
#include "model.h"
#include "package.h"
#include "tools/mcim-operator/dpf.h"
#include "tools/mcim-operator/evidence.h"
#include "tools/mcim-operator/subscription.h"
#include "tools/mcim-operator/pki.h"
#include "tools/mcim-operator/pva.h"
#include "tools/mcim-operator/store.h"
#include "tools/mcim-operator/ticket.h"

static void die(const char *what)
{
	fprintf(stderr, "bench-operator: %s\n", what);
	exit(1);
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double wall_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- fleet ---- */

static void ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e || !X509_add_ext(x, e, -1))
		die("extension");
	X509_EXTENSION_free(e);
}

static X509 *cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	if (!issuer)
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"bench TPM CA",
					   -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
	X509_set_pubkey(x, key);
	if (!issuer) {
		ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		GENERAL_NAMES *gens = GENERAL_NAMES_new();
		GENERAL_NAME *g = GENERAL_NAME_new();
		X509_NAME *dn = X509_NAME_new();
		static const char *const attrs[][2] = { { "2.23.133.2.1", "id:42454E43" },
							{ "2.23.133.2.2", "BENCH" },
							{ "2.23.133.2.3", "id:00010000" } };

		ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		ext(x, issuer, NID_key_usage, "critical,keyAgreement");
		for (int i = 0; i < 3; i++) {
			ASN1_OBJECT *o = OBJ_txt2obj(attrs[i][0], 1);

			X509_NAME_add_entry_by_OBJ(dn, o, MBSTRING_UTF8,
						   (const unsigned char *)attrs[i][1], -1, -1, 0);
			ASN1_OBJECT_free(o);
		}
		g->type = GEN_DIRNAME;
		g->d.directoryName = dn;
		sk_GENERAL_NAME_push(gens, g);
		X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 1, X509V3_ADD_DEFAULT);
		GENERAL_NAMES_free(gens);
	}
	if (!X509_sign(x, ikey ? ikey : key, EVP_sha256()))
		die("sign");
	return x;
}

static int fleet(const char *dir, long n)
{
	char path[4096];
	EVP_PKEY *cakey = EVP_EC_gen("P-256");
	X509 *ca = cert(cakey, NULL, NULL, 1);
	FILE *f;

	snprintf(path, sizeof(path), "%s/mfr", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/mfr/ca.pem", dir);
	f = fopen(path, "we");
	if (!f || !PEM_write_X509(f, ca) || fclose(f))
		die("ca.pem");
	snprintf(path, sizeof(path), "%s/fleet.csv", dir);
	f = fopen(path, "we");
	if (!f)
		die("fleet.csv");
	fputs("ek_cert,model,subscriber\n", f);
	for (long i = 0; i < n; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509 *x = cert(k, ca, cakey, 2 + i);
		unsigned char *der = NULL;
		int len = i2d_X509(x, &der);
		char *b = b64_encode(der, (size_t)len);

		fprintf(f, "%s,gw-bench,fleet-owner\n", b);
		free(b);
		OPENSSL_free(der);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	if (fclose(f))
		die("fleet.csv");
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return 0;
}

/*
 * The floor of the import: what OpenSSL alone takes per EK certificate to
 * decode it and verify its chain (no profile checks, no store), one thread.
 */
static int certfloor(const char *dir, long n)
{
	char path[4096], *line = malloc(65536);
	X509_STORE *st = X509_STORE_new();
	X509 *ca;
	FILE *f;
	double t0, used = 0;
	long done = 0;

	snprintf(path, sizeof(path), "%s/mfr/ca.pem", dir);
	f = fopen(path, "re");
	if (!f || !(ca = PEM_read_X509(f, NULL, NULL, NULL)) || !X509_STORE_add_cert(st, ca))
		die("ca.pem");
	fclose(f);
	snprintf(path, sizeof(path), "%s/fleet.csv", dir);
	f = fopen(path, "re");
	if (!f || !fgets(line, 65536, f))
		die("fleet.csv");
	while (done < n && fgets(line, 65536, f)) {
		uint8_t *der;
		size_t len;
		const unsigned char *p;
		X509 *x;
		X509_STORE_CTX *c = X509_STORE_CTX_new();

		*strchr(line, ',') = 0;
		if (b64_decode(line, strlen(line), 16384, &der, &len) < 0)
			die("base64");
		t0 = cpu_s();
		p = der;
		x = d2i_X509(NULL, &p, (long)len);
		if (!x || !X509_STORE_CTX_init(c, st, x, NULL) || X509_verify_cert(c) != 1)
			die("verify");
		used += cpu_s() - t0;
		X509_STORE_CTX_free(c);
		X509_free(x);
		free(der);
		done++;
	}
	fclose(f);
	printf("# floor: OpenSSL's own d2i_X509 + X509_verify_cert of one EK certificate: %.0f us "
	       "of CPU (%ld certificates, one thread)\n", used * 1e6 / (double)done, done);
	X509_free(ca);
	X509_STORE_free(st);
	free(line);
	return 0;
}

/* ---- validations ---- */

#define RECORDED 8

struct recorded {
	TPM2B_PUBLIC ak;
	uint8_t nonce[32], secret[32];
	char *start_body, *evidence_body;
};

static char *b64s(const void *p, size_t n)
{
	char *s = b64_encode(p, n);

	if (!s)
		die("oom");
	return s;
}

/* One real validation's bodies, from the TRE on swtpm. */
static void record(struct tre *t, const TPMT_PUBLIC *ek, const char *device_id,
		   const struct op_model *m, struct recorded *r)
{
	struct pva_challenge ch;
	struct pva_verdict v;
	struct tre_quote q = { 0 };
	TPM2B_ATTEST ca;
	TPMT_SIGNATURE cs;
	TPM2B_PUBLIC srk;
	TPM2B_DIGEST out;
	TPML_PCR_SELECTION sel = { .count = 1 };
	uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPMT_SIGNATURE)];
	size_t n = 0;
	char *parts[8], *pv, *body;
	size_t off = 0;

	if (tre_ak_create(t, TRE_EK_ECC, NULL) < 0 || tre_ak_public(t, &r->ak, NULL) < 0)
		die(tre_errmsg(t));
	if (pva_challenge_make(ek, &r->ak, &ch, &v) < 0)
		die("challenge");
	memcpy(r->nonce, ch.nonce, 32);
	memcpy(r->secret, ch.secret, 32);
	if (tre_activate_credential(t, TRE_EK_RSA, &ch.credential, &ch.encrypted_secret, &out) < 0)
		die(tre_errmsg(t));
	sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel.pcrSelections[0].sizeofSelect = 3;
	for (unsigned p = 0; p < 24; p++)
		if (m->pcr_mask & (1u << p))
			sel.pcrSelections[0].pcrSelect[p / 8] |= (uint8_t)(1u << (p % 8));
	tre_bios_log_path = tre_ima_log_path = "/nonexistent";
	if (tre_quote(t, &sel, ch.nonce, 32, &q) < 0 ||
	    tre_certify_srk(t, ch.nonce, 32, &ca, &cs) < 0 || tre_srk_public(t, &srk) < 0)
		die(tre_errmsg(t));
	Tss2_MU_TPM2B_PUBLIC_Marshal(&r->ak, buf, sizeof(buf), &n);
	parts[0] = b64s(buf, n);
	if (asprintf(&r->start_body, "{\"device_id\":\"%s\",\"ak_public\":\"%s\"}", device_id,
		     parts[0]) < 0)
		die("oom");
	parts[1] = b64s(out.buffer, out.size);
	parts[2] = b64s(q.attest.attestationData, q.attest.size);
	n = 0;
	Tss2_MU_TPMT_SIGNATURE_Marshal(&q.signature, buf, sizeof(buf), &n);
	parts[3] = b64s(buf, n);
	n = 0;
	Tss2_MU_TPM2B_PUBLIC_Marshal(&srk, buf, sizeof(buf), &n);
	parts[4] = b64s(buf, n);
	parts[5] = b64s(ca.attestationData, ca.size);
	n = 0;
	Tss2_MU_TPMT_SIGNATURE_Marshal(&cs, buf, sizeof(buf), &n);
	parts[6] = b64s(buf, n);
	pv = malloc(4096);
	off += (size_t)snprintf(pv, 4096, "[");
	for (unsigned i = 0, p = 0; p < 24; p++) {
		char hex[65];

		if (!(m->pcr_mask & (1u << p)))
			continue;
		hex_encode(q.pcrs[i].buffer, q.pcrs[i].size, hex);
		off += (size_t)snprintf(pv + off, 4096 - off,
					"%s{\"bank\":\"sha256\",\"pcr\":%u,\"digest\":\"%s\"}", i ? "," : "",
					p, hex);
		i++;
	}
	snprintf(pv + off, 4096 - off, "]");
	if (asprintf(&body,
		     "{\"credential_secret\":\"%s\",\"quote\":{\"attest\":\"%s\",\"signature\":\"%s\"},"
		     "\"pcr_values\":%s,\"srk\":{\"public\":\"%s\",\"attest\":\"%s\",\"signature\":\"%s\"}}",
		     parts[1], parts[2], parts[3], pv, parts[4], parts[5], parts[6]) < 0)
		die("oom");
	r->evidence_body = body;
	for (int i = 0; i < 7; i++)
		free(parts[i]);
	free(pv);
	tre_quote_clear(&q);
}

/* The raw public-key work of one validation, the floor. */
static double floor_us(const TPMT_PUBLIC *ek, const struct recorded *r, long iters)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	uint8_t dig[32] = { 1 }, sig[80];
	size_t siglen;
	TPM2B_NAME name;
	TPM2B_ID_OBJECT cred;
	TPM2B_ENCRYPTED_SECRET es;
	double t0 = cpu_s();

	tpm2_public_name(&r->ak.publicArea, &name);
	for (long i = 0; i < iters; i++) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);

		/* MakeCredential (RSA-OAEP of the seed to the EK + KDFs) */
		tpm2_make_credential(ek, &name, dig, sizeof(dig), &cred, &es);
		/* the ticket's ECDSA signature, and two ECDSA verifications
		 * (the quote and the SRK certification) */
		siglen = sizeof(sig);
		EVP_PKEY_sign_init(c);
		EVP_PKEY_sign(c, sig, &siglen, dig, sizeof(dig));
		EVP_PKEY_verify_init(c);
		EVP_PKEY_verify(c, sig, siglen, dig, sizeof(dig));
		EVP_PKEY_verify(c, sig, siglen, dig, sizeof(dig));
		EVP_PKEY_CTX_free(c);
	}
	EVP_PKEY_free(k);
	return (cpu_s() - t0) * 1e6 / (double)iters;
}

static int validate(long iters)
{
	static const char model_json[] =
		"{\"model\":\"gw-bench\",\"version\":1,\"mode\":\"remote\",\"pcrs\":[0,1,2,3,4,5,6,7,23],"
		"\"reference\":{\"0\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"1\":\"0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"2\":\"0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"3\":\"0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"4\":\"0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"5\":\"0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"6\":\"0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"7\":\"0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"23\":\"0000000000000000000000000000000000000000000000000000000000000000\"}}";
	char dir[] = "/tmp/bench-operator.XXXXXX", url[128], why[256], pki[160];
	struct recorded rec[RECORDED];
	struct tre_config cfg;
	struct tre *t;
	struct store *s;
	struct pki_signer *signer;
	struct op_model m;
	struct op_device dev = { .ek_type = "rsa", .model = "gw-bench", .subscriber = "b" };
	TPM2B_PUBLIC ekpub;
	uint8_t tp[sizeof(TPMT_PUBLIC)], digest[32];
	size_t tp_len = 0;
	long valid = 0;
	double c0, w0, c1, w1;

	tre_config_init(&cfg);
	cfg.tcti = getenv("MCIM_TEST_TCTI");
	if (!cfg.tcti || tre_open(&cfg, &t) < 0)
		die("TPM (run under tests/lib/with-swtpm)");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(url, sizeof(url), "sqlite:%s/op.db", dir);
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	const struct pki_init_opts po = { 0 };
	if (store_open(url, &s, why, sizeof(why)) < 0 || pki_init(pki, &po, why, sizeof(why)) < 0)
		die(why);
	snprintf(pki, sizeof(pki), "%s/pki/ticket.pem", dir);
	snprintf(url, sizeof(url), "%s/pki/ticket.key", dir);
	if (pki_signer_load(pki, url, &signer, why, sizeof(why)) < 0 ||
	    model_parse(model_json, sizeof(model_json) - 1, &m, why, sizeof(why)) < 0 ||
	    store_model_put(s, m.name, m.version, model_json) < 0)
		die(why);
	if (tre_ek_public(t, TRE_EK_RSA, &ekpub) < 0)
		die(tre_errmsg(t));
	Tss2_MU_TPMT_PUBLIC_Marshal(&ekpub.publicArea, tp, sizeof(tp), &tp_len);
	hex_encode(tp, tp_len, dev.ek_public);
	tpm2_hash(TPM2_ALG_SHA256, tp, tp_len, digest);
	hex_encode(digest, 32, dev.id);
	if (store_import_begin(s) < 0 || store_device_add(s, &dev) < 0 || store_import_commit(s) < 0)
		die(store_errmsg(s));
	for (int i = 0; i < RECORDED; i++)
		record(t, &ekpub.publicArea, dev.id, &m, &rec[i]);
	model_free(&m);

	c0 = cpu_s();
	w0 = wall_s();
	for (long i = 0; i < iters; i++) {
		struct recorded *r = &rec[i % RECORDED];
		struct pva_start_request st;
		struct pva_challenge ch;
		struct pva_verdict v;
		struct pva_evidence ev;
		struct op_session sess = { 0 }, got;
		struct op_device d;
		struct op_model mm;
		struct ticket tk = { 0 };
		char *body = NULL, *token = NULL;
		uint8_t id[16];
		uint8_t akb[sizeof(TPM2B_PUBLIC)];
		size_t akn = 0;

		/* steps 1-2 */
		if (evidence_parse_start(r->start_body, strlen(r->start_body), &st, why, sizeof(why)) < 0 ||
		    store_device_get(s, st.device_id, &d) < 0 ||
		    store_model_get(s, d.model, -1, NULL, &body) < 0 ||
		    model_parse(body, strlen(body), &mm, why, sizeof(why)) < 0 ||
		    pva_challenge_make(&ekpub.publicArea, &st.ak, &ch, &v) < 0)
			die("start");
		free(body);
		RAND_bytes(id, sizeof(id));
		hex_encode(id, sizeof(id), sess.id);
		memcpy(sess.device_id, d.id, 65);
		memcpy(sess.nonce, ch.nonce, 32);
		memcpy(sess.secret, ch.secret, 32);
		Tss2_MU_TPM2B_PUBLIC_Marshal(&st.ak, akb, sizeof(akb), &akn);
		hex_encode(akb, akn, sess.ak_public);
		snprintf(sess.model, sizeof(sess.model), "%s", mm.name);
		sess.model_version = mm.version;
		snprintf(sess.mode, sizeof(sess.mode), "remote");
		sess.expires = time(NULL) + 120;
		if (store_session_create(s, &sess) < 0)
			die(store_errmsg(s));
		model_free(&mm);
		/* steps 3-5, with the recorded evidence of r */
		if (evidence_parse(r->evidence_body, strlen(r->evidence_body), &ev, why, sizeof(why)) < 0 ||
		    store_session_consume(s, sess.id, &got) < 0 ||
		    store_device_get(s, got.device_id, &d) < 0 ||
		    store_model_get(s, d.model, got.model_version, NULL, &body) < 0 ||
		    model_parse(body, strlen(body), &mm, why, sizeof(why)) < 0)
			die("evidence");
		free(body);
		const struct pva_context ctx = { .nonce = r->nonce, .secret = r->secret, .ak = &r->ak,
						 .model = &mm, .mode = mm.mode };
		if (pva_verify(&ctx, &ev, &v) == 0) {
			ticket_new_jti(tk.jti);
			memcpy(tk.sub, d.id, 65);
			tk.ak_name = v.ak_name;
			tk.srk_name = v.srk_name;
			tk.pcr_digest = v.pcr_digest;
			tk.kpd = v.kpd;
			snprintf(tk.model, sizeof(tk.model), "%s", mm.name);
			tk.policy_version = 1;
			tk.mode = TICKET_MODE_REMOTE;
			tk.iat = time(NULL);
			tk.exp = tk.iat + 600;
			if (ticket_sign(signer, &tk, &token) < 0 ||
			    store_validation_success(s, d.id, tk.iat, 0, 0, 0, tk.jti, tk.exp, "bench") < 0)
				die("success");
			valid++;
		} else {
			pva_verdict_summary(&v, why, sizeof(why));
			die(why);
		}
		free(token);
		model_free(&mm);
		pva_evidence_free(&ev);
	}
	c1 = cpu_s();
	w1 = wall_s();
	double per = (c1 - c0) * 1e6 / (double)iters;
	double fl = floor_us(&ekpub.publicArea, &rec[0], iters);

	printf("bench operator.validation_cpu_us %.0f us\n", per);
	printf("bench operator.validations_per_s_core %.0f validations/s\n", 1e6 / per);
	printf("# target >= 1000 validations/s per core: %s\n", 1e6 / per >= 1000 ? "met" : "MISSED");
	printf("# floor: the raw public-key work of one validation (MakeCredential RSA-OAEP + KDFs, "
	       "2 ECDSA P-256 verifications, 1 ECDSA signature) %.0f us on this core (%.0f%% of the "
	       "total)\n", fl, 100.0 * fl / per);
	printf("# wall: %.0f validations/s with SQLite synchronous=FULL (3 fsync'ed commits each), "
	       "%ld of %ld valid\n", (double)iters / (w1 - w0), valid, iters);
	store_close(s);
	pki_signer_free(signer);
	tre_close(t);
	snprintf(why, sizeof(why), "rm -rf %s", dir);
	return system(why) == 0 ? 0 : 1;
}

/* ---- the DPF ---- */

/*
 * The raw public-key work of one package, with OpenSSL alone: 5 ephemeral
 * P-256 keys and ECDH with the SRK (one duplication seed each: K, OPc, 3
 * PINs), 2 ECDSA signatures (policy, CMS), 1 ECDSA verification (ticket).
 */
static double package_floor_us(const TPMT_PUBLIC *srk, EVP_PKEY *key, long iters)
{
	uint8_t dig[32] = { 1 }, sig[80], z[32];
	EVP_PKEY *peer = NULL;
	size_t siglen, zl;
	double t0;

	if (tpm2_public_to_evp(srk, &peer) < 0)
		die("SRK");
	t0 = cpu_s();
	for (long i = 0; i < iters; i++) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);

		for (int j = 0; j < 5; j++) {
			EVP_PKEY *eph = EVP_EC_gen("P-256");
			EVP_PKEY_CTX *d = EVP_PKEY_CTX_new(eph, NULL);

			zl = sizeof(z);
			EVP_PKEY_derive_init(d);
			EVP_PKEY_derive_set_peer(d, peer);
			EVP_PKEY_derive(d, z, &zl);
			EVP_PKEY_CTX_free(d);
			EVP_PKEY_free(eph);
		}
		siglen = sizeof(sig);
		EVP_PKEY_sign_init(c);
		EVP_PKEY_sign(c, sig, &siglen, dig, sizeof(dig));
		siglen = sizeof(sig);
		EVP_PKEY_sign(c, sig, &siglen, dig, sizeof(dig));
		EVP_PKEY_verify_init(c);
		EVP_PKEY_verify(c, sig, siglen, dig, sizeof(dig));
		EVP_PKEY_CTX_free(c);
	}
	EVP_PKEY_free(peer);
	return (cpu_s() - t0) * 1e6 / (double)iters;
}

/* lib/tpm2-crypto's tpm2_seed_new(), one duplication seed, as dpf_build uses it. */
static double seed_us(const TPMT_PUBLIC *srk, long iters)
{
	uint8_t seed[TPM2_SEED_MAX];
	TPM2B_ENCRYPTED_SECRET es;
	size_t sl;
	double t0 = cpu_s();

	for (long i = 0; i < iters; i++)
		tpm2_seed_new(srk, "DUPLICATE", seed, &sl, &es);
	return (cpu_s() - t0) * 1e6 / (double)iters;
}

static int packages(long iters)
{
	char dir[] = "/tmp/bench-dpf.XXXXXX", why[512], cert[400], key[400];
	struct pki_init_opts po = { .days = 1 };
	struct op_config cfg;
	struct dpf_keys *k = NULL;
	struct pki_signer *signer = NULL;
	struct sub_secrets sec;
	struct op_subscription sub = { .iccid = "8988211000000000178", .imsi = "001010123456789",
				       .sho = "op-a", .algorithm = "milenage", .state = "created" };
	struct package_request rq = { 0 };
	struct ticket tk = { 0 }, got;
	enum sub_algorithm alg = SUB_MILENAGE;
	uint8_t plain[SUB_SECRETS_SIZE], nonce[32] = { 7 };
	char *tmpl = NULL, *token = NULL;
	size_t tlen, bytes = 0;
	const char *code;
	EVP_PKEY *srk_key, *ak_key;
	double c0, per, fl, sd;

	if (!mkdtemp(dir))
		die("mkdtemp");
	op_config_defaults(&cfg);
	snprintf(cfg.pki_dir, sizeof(cfg.pki_dir), "%s/pki", dir);
	snprintf(cert, sizeof(cert), "%s/%s", cfg.pki_dir, PKI_TICKET_CERT);
	snprintf(key, sizeof(key), "%s/%s", cfg.pki_dir, PKI_TICKET_KEY);
	if (pki_init(cfg.pki_dir, &po, why, sizeof(why)) < 0 ||
	    dpf_keys_load(&cfg, &k, why, sizeof(why)) < 0 ||
	    pki_signer_load(cert, key, &signer, why, sizeof(why)) < 0)
		die(why);
	/* The subscription as `subscription create` stores it, with the test profile. */
	if (read_file_max("daemon/usim/profiles/test-usim.json", 1u << 20, &tmpl, &tlen) < 0)
		die("daemon/usim/profiles/test-usim.json (run from the source tree)");
	{
		_cleanup_json_ struct json_object *o = json_tokener_parse(tmpl);
		struct json_object *auth, *pins;

		if (!o || !json_object_object_get_ex(o, "auth", &auth) ||
		    !json_object_object_get_ex(o, "pins", &pins))
			die("test profile");
		json_object_object_del(auth, "k");
		json_object_object_del(auth, "opc");
		for (size_t i = 0; i < json_object_array_length(pins); i++) {
			json_object_object_del(json_object_array_get_idx(pins, i), "value");
			json_object_object_del(json_object_array_get_idx(pins, i), "puk");
		}
		free(tmpl);
		tmpl = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	}
	if (sub_template_fill(tmpl, strlen(tmpl), &alg, false, sub.iccid, sub.imsi, &sub.profile,
			      sub.pin_refs, why, sizeof(why)) < 0 ||
	    sub_secrets_new(SUB_MILENAGE, &sec) < 0)
		die(why);
	sub_secrets_serialize(&sec, plain);
	if (kek_seal(k->kek, sub.iccid, plain, sizeof(plain), &sub.secrets) < 0)
		die("kek_seal");
	/* The device: a P-256 SRK and AK, and its ticket. */
	srk_key = EVP_EC_gen("P-256");
	ak_key = EVP_EC_gen("P-256");
	if (tpm2_public_from_evp(srk_key, TPM2_ALG_SHA256,
				 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
					 TPMA_OBJECT_FIXEDPARENT,
				 &rq.srk.publicArea) < 0 ||
	    tpm2_public_from_evp(ak_key, TPM2_ALG_SHA256,
				 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
					 TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
				 &rq.ak.publicArea) < 0)
		die("keys");
	rq.srk.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	rq.srk.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	rq.srk.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	ticket_new_jti(tk.jti);
	memset(tk.sub, 'a', 64);
	tpm2_public_name(&rq.ak.publicArea, &tk.ak_name);
	tpm2_public_name(&rq.srk.publicArea, &tk.srk_name);
	tk.pcr_digest.size = tk.kpd.size = 32;
	memset(tk.kpd.buffer, 0x11, 32);
	snprintf(tk.model, sizeof(tk.model), "gw-bench");
	tk.policy_version = 1;
	tk.mode = TICKET_MODE_REMOTE;
	tk.iat = time(NULL);
	tk.exp = tk.iat + 3600;
	if (ticket_sign(signer, &tk, &token) < 0)
		die("ticket");

	c0 = cpu_s();
	for (long i = 0; i < iters; i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		struct dpf_input in = { .device_id = tk.sub, .srk = &rq.srk, .nonce = nonce,
					.sequence = i + 1, .issued = tk.iat, .expires = tk.iat + 600,
					.sub = &sub, .operator_name = "Operator A",
					.key_pcr_mask = 0x8000ff, .kpd = tk.kpd,
					.key_form = PACKAGE_FORM_AES };

		in.ek_name = tk.ak_name;
		if (ticket_verify(signer->cert, token, time(NULL), &got, why, sizeof(why)) < 0 ||
		    dpf_request_check(&rq, &got, &code, why, sizeof(why)) < 0 ||
		    dpf_build(k, &in, &der, &len, why, sizeof(why)) < 0)
			die(why);
		bytes = len;
		free(der);
	}
	per = (cpu_s() - c0) * 1e6 / (double)iters;
	fl = package_floor_us(&rq.srk.publicArea, k->policy_key, iters);
	sd = seed_us(&rq.srk.publicArea, iters);
	printf("bench operator.package_cpu_us %.0f us\n", per);
	printf("bench operator.packages_per_s_core %.0f packages/s\n", 1e6 / per);
	printf("bench operator.package_floor_us %.0f us\n", fl);
	printf("# target >= 1000 packages/s per core: %s; a package is %zu bytes (the %zu-byte "
	       "test profile)\n", 1e6 / per >= 1000 ? "met" : "MISSED", bytes, strlen(sub.profile));
	printf("# floor: the raw public-key work of one package with OpenSSL alone (5 P-256 "
	       "ephemeral keys and ECDH, 2 ECDSA signatures, 1 ECDSA verification) is %.0f%% of the "
	       "total; one tpm2_seed_new() (the same ECDH with the SRK converted each time) takes "
	       "%.0f us, 5 of them %.0f%% of the total\n",
	       100.0 * fl / per, sd, 500.0 * sd / per);
	EVP_PKEY_free(srk_key);
	EVP_PKEY_free(ak_key);
	free(token);
	free(tmpl);
	op_subscription_clear(&sub);
	pki_signer_free(signer);
	dpf_keys_free(k);
	snprintf(why, sizeof(why), "rm -rf %s", dir);
	return system(why) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "packages"))
		return packages(argc > 2 ? strtol(argv[2], NULL, 10) : 2000);
	if (argc == 4 && !strcmp(argv[1], "fleet"))
		return fleet(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "certfloor"))
		return certfloor(argv[2], strtol(argv[3], NULL, 10));
	if (argc >= 2 && !strcmp(argv[1], "validate"))
		return validate(argc > 2 ? strtol(argv[2], NULL, 10) : 2000);
	fprintf(stderr, "usage: bench-operator fleet DIR N | certfloor DIR N | validate [ITERATIONS] | "
			"packages [ITERATIONS]\n");
	return 2;
}
