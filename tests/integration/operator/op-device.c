// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * op-device: a device for the operator's tests and benchmark.  It speaks the
 * operator protocol (docs/operator-protocol.md) with the TRE of daemon/tre
 * on a TPM (swtpm), like mcimd does, and can misbehave on request so that
 * every refusal of the PVA can be shown.
 *
 *   op-device --tcti T --ca ROOT.pem --url URL COMMAND [OPTIONS]
 *   COMMAND: register         POST /v1/register with the EK certificate
 *            validate         register, then the validation (2.1, 2.2)
 *            download         POST /v1/dpf/package with the ticket, AK and SRK
 *                             of --state; the package is verified with the
 *                             root (lib/package) and every blob imported
 *                             with TPM2_Import under the SRK
 *            receipt          POST /v1/dpf/receipt: the AK's quote over the
 *                             key PCRs, qualifyingData = SHA-256(receipt)
 *            tamper           POST /v1/dpf/tamper, the same with a report
 *            released         POST /v1/dpf/released, the same with a release
 *                             report (docs/change-format.md 4)
 *   OPTIONS (validate, download, receipt, tamper):
 *     --state DIR                 validate writes DIR/ticket, ak.blob,
 *                                 device_id; download reads them and writes
 *                                 nonce, iccid, sequence, package.der
 *   OPTIONS (download):
 *     --nonce HEX                 this nonce instead of a fresh one
 *     --no-ticket                 a request without "ticket"
 *     --other-ak | --other-srk    send an AK / SRK the ticket does not name
 *     --key-form aes|sealed       (default aes)
 *     --write-request FILE        write the request to FILE, do not send it
 *     --switch ICCID --consent F [--release F]   the request's switch member
 *                                 (docs/change-format.md 4), DER files
 *   OPTIONS (receipt, tamper, released): --flip-quote, --pcrs LIST (default
 *     0-7,23), --reason TEXT (tamper, fallback), --result switched|fallback
 *     (receipt; released), --iccid ICCID (released: the subscription let go)
 *   OPTIONS (validate):
 *     --tcg-log F / --ima-log F   event logs to send
 *     --summary F                 semi-autonomous summary (JSON file)
 *     --flip-quote | --flip-srk-certify   a bit flipped in what is sent
 *     --stale-nonce               quote over another nonce
 *     --pcrs LIST                 quote these sha256 PCRs (e.g. 0,1,23)
 *     --second-ak                 quote with another AK than the one started
 *     --ak-no-restricted | --ak-decrypt   start with a malformed AK
 *     --foreign-tcti T2           use an AK of another TPM
 *     --wrong-secret              answer the credential wrongly
 *     --replay                    send the evidence a second time
 *     --race URL2                 send the evidence to URL and URL2 at once
 *                                 (two instances): exit 0 when exactly one
 *                                 accepts it, and {"race":[S1,S2]} printed
 *     --wait S                    sleep S seconds before the evidence
 *     --save DIR                  write quote.msg/.sig/.pcrs, ak.pub, nonce
 * Prints the last answer's JSON on stdout; exit 0 when validated (or
 * registered), 1 when refused with 403, 2 on any other HTTP answer, 3 setup.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include "daemon/tre/tre-internal.h"
#include "daemon/tre/tre.h"
#include "fileio.h"
#include "hex.h"
#include "json-util.h"
#include "package.h"
#include "tpm2-crypto.h"
#include "tpm2-quote.h"

static struct {
	const char *tcti, *ca, *url, *tcg_log, *ima_log, *summary, *pcrs, *foreign, *save, *race;
	const char *state, *nonce, *key_form, *reason, *write_request;
	const char *switch_iccid, *consent, *release, *result, *iccid;
	bool flip_quote, flip_srk, stale, second_ak, ak_norestrict, ak_decrypt, wrong_secret,
		replay, no_ticket, other_ak, other_srk;
	unsigned wait;
} opt;

/* A base64 field of the operator's answer into out (lib's strict decoder). */
static int unb64(const char *s, uint8_t *out, size_t max, size_t *ret_len)
{
	uint8_t *b;
	int r = b64_decode(s, strlen(s), max, &b, ret_len);

	if (r < 0)
		return r;
	memcpy(out, b, *ret_len);
	free(b);
	return 0;
}

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *p, size_t sz, size_t nm, void *user)
{
	struct buf *b = user;
	char *q = realloc(b->p, b->n + sz * nm + 1);

	if (!q)
		return 0;
	memcpy(q + b->n, p, sz * nm);
	b->p = q;
	b->n += sz * nm;
	b->p[b->n] = 0;
	return sz * nm;
}

/* POSTs body to base+path; *ret_status and *ret_json (the answer) set. */
static int post_to(const char *base, const char *path, const char *body, long *ret_status,
		   struct json_object **ret_json)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct buf b = { 0 };
	char url[1024];
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, opt.ca);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
		fprintf(stderr, "op-device: %s: HTTP %ld\n", path, *ret_status);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "op-device: %s: %s\n", url, curl_easy_strerror(rc));
		free(b.p);
		return -EIO;
	}
	*ret_json = json_tokener_parse(b.p ? b.p : "");
	if (*ret_json)
		printf("%s\n", json_object_to_json_string_ext(*ret_json, JSON_C_TO_STRING_PLAIN));
	free(b.p);
	return *ret_json ? 0 : -EBADMSG;
}

static int post(const char *path, const char *body, long *ret_status, struct json_object **ret_json)
{
	return post_to(opt.url, path, body, ret_status, ret_json);
}

/* --race: one request of two sent at the same time. */
struct racer {
	const char *base, *path, *body;
	long status;
	int r;
	pthread_t th;
};

static void *race_one(void *arg)
{
	struct racer *x = arg;
	struct json_object *a = NULL;

	x->r = post_to(x->base, x->path, x->body, &x->status, &a);
	json_object_put(a);
	return NULL;
}

static int race(const char *path, const char *body)
{
	struct racer x[2] = { { opt.url, path, body, 0, 0, 0 }, { opt.race, path, body, 0, 0, 0 } };
	int won = 0;

	for (unsigned i = 0; i < 2; i++)
		if (pthread_create(&x[i].th, NULL, race_one, &x[i]))
			return 3;
	for (unsigned i = 0; i < 2; i++) {
		pthread_join(x[i].th, NULL);
		if (x[i].r < 0)
			return 3;
		won += x[i].status / 100 == 2;
	}
	printf("{\"race\":[%ld,%ld]}\n", x[0].status, x[1].status);
	return won == 1 ? 0 : 2;
}

static int exit_for(long status)
{
	return status / 100 == 2 ? 0 : status == 403 ? 1 : 2;
}

static void add_b64(struct json_object *o, const char *k, const void *p, size_t n)
{
	char *s = b64_encode(p, n);

	json_object_object_add(o, k, json_object_new_string(s));
	free(s);
}

static int do_register(struct tre *t, char *ret_device_id)
{
	_cleanup_free_ uint8_t *der = NULL;
	struct json_object *o = json_object_new_object(), *a = NULL, *v;
	size_t len;
	long st = 0;
	int r;

	r = tre_ek_cert(t, TRE_EK_RSA, &der, &len);
	if (r < 0) {
		fprintf(stderr, "op-device: no RSA EK certificate in NV: %s\n", tre_errmsg(t));
		return 3;
	}
	add_b64(o, "ek_cert", der, len);
	r = post("/v1/register", json_object_to_json_string(o), &st, &a);
	json_object_put(o);
	if (r < 0)
		return 3;
	if (st == 200 && json_object_object_get_ex(a, "device_id", &v))
		snprintf(ret_device_id, 65, "%s", json_object_get_string(v));
	json_object_put(a);
	return exit_for(st);
}

/* An AK with chosen attributes under the ECC EK (the malformed-AK cases). */
static int bad_ak(struct tre *t, TPM2B_PUBLIC *ret)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_PUBLIC tmpl = { .publicArea = {
		.type = TPM2_ALG_ECC, .nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_SIGN_ENCRYPT,
		.parameters.eccDetail = { .symmetric.algorithm = TPM2_ALG_NULL,
					  .scheme = { .scheme = TPM2_ALG_ECDSA,
						      .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
					  .curveID = TPM2_ECC_NIST_P256,
					  .kdf.scheme = TPM2_ALG_NULL } } };
	ESYS_TR h;
	TPM2B_PUBLIC *out = NULL;
	TSS2_RC rc;

	if (opt.ak_decrypt) {
		tmpl.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
		tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	}
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &h, &out, NULL, NULL,
				NULL);
	if (rc)
		return -EIO;
	*ret = *out;
	Esys_Free(out);
	Esys_FlushContext(t->esys, h);
	return 0;
}

static int state_write(const char *name, const void *p, size_t n)
{
	char path[1100];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", opt.state, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	ok = fwrite(p, 1, n, f) == n;
	ok &= fclose(f) == 0;
	return ok ? 0 : -EIO;
}

static int save(const char *name, const void *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", opt.save, name);
	f = fopen(path, "we");
	if (!f || fwrite(p, 1, n, f) != n)
		return -EIO;
	return fclose(f) ? -EIO : 0;
}

static int parse_pcrs(const char *s, TPML_PCR_SELECTION *sel)
{
	char *copy = strdup(s), *tok, *save_ptr;

	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (tok = strtok_r(copy, ",", &save_ptr); tok; tok = strtok_r(NULL, ",", &save_ptr)) {
		int p = atoi(tok);

		if (p < 0 || p > 23)
			return free(copy), -EINVAL;
		sel->pcrSelections[0].pcrSelect[p / 8] |= (uint8_t)(1u << (p % 8));
	}
	free(copy);
	return 0;
}

static int do_validate(struct tre *t, struct tre *foreign)
{
	struct json_object *o, *a = NULL, *v, *cred, *sel;
	struct tre *akt = foreign ? foreign : t;
	TPM2B_PUBLIC ak, srk;
	TPM2B_NAME ak_name;
	struct tre_blob ak_blob = { 0 };
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET secret = { 0 };
	TPM2B_DIGEST out;
	TPM2B_ATTEST cattest;
	TPMT_SIGNATURE csig;
	TPML_PCR_SELECTION pcrsel;
	struct tre_quote q = { 0 };
	uint8_t nonce[64], buf[sizeof(TPM2B_PUBLIC) + sizeof(TPMT_SIGNATURE)];
	size_t nonce_len = 0, n = 0, len;
	char device_id[65] = "", path[128], session[64];
	long st = 0;
	int r;

	r = do_register(t, device_id);
	if (r)
		return r;
	if (opt.ak_norestrict || opt.ak_decrypt) {
		if (bad_ak(t, &ak) < 0)
			return 3;
	} else {
		/* With --state the AK of an earlier validation is kept, as mcimd
		 * keeps its AK: the DPF checks receipts with the download's AK. */
		_cleanup_free_ char *kept = NULL;
		size_t kl = 0;
		char kp[1100];

		if (opt.state)
			snprintf(kp, sizeof(kp), "%s/ak.blob", opt.state);
		if (opt.state && !foreign && read_file_max(kp, TRE_BLOB_MAX, &kept, &kl) == 0) {
			if (tre_blob_unmarshal((uint8_t *)kept, kl, &ak_blob) < 0 ||
			    tre_ak_load(akt, TRE_EK_ECC, &ak_blob) < 0)
				return 3;
		} else if (tre_ak_create(akt, TRE_EK_ECC, &ak_blob) < 0) {
			fprintf(stderr, "op-device: AK: %s\n", tre_errmsg(akt));
			return 3;
		}
		if (tre_ak_public(akt, &ak, &ak_name) < 0) {
			fprintf(stderr, "op-device: AK: %s\n", tre_errmsg(akt));
			return 3;
		}
	}
	/* 2.1 */
	o = json_object_new_object();
	json_object_object_add(o, "device_id", json_object_new_string(device_id));
	Tss2_MU_TPM2B_PUBLIC_Marshal(&ak, buf, sizeof(buf), &n);
	add_b64(o, "ak_public", buf, n);
	r = post("/v1/validations", json_object_to_json_string(o), &st, &a);
	json_object_put(o);
	if (r < 0)
		return 3;
	if (st != 201) {
		json_object_put(a);
		return exit_for(st);
	}
	if (!json_object_object_get_ex(a, "session", &v) ||
	    snprintf(session, sizeof(session), "%s", json_object_get_string(v)) >= 64 ||
	    !json_object_object_get_ex(a, "nonce", &v) ||
	    unb64(json_object_get_string(v), nonce, sizeof(nonce), &nonce_len) ||
	    !json_object_object_get_ex(a, "credential", &cred) ||
	    !json_object_object_get_ex(cred, "blob", &v) ||
	    unb64(json_object_get_string(v), buf, sizeof(buf), &len) ||
	    Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(buf, len, NULL, &blob) ||
	    !json_object_object_get_ex(cred, "secret", &v) ||
	    unb64(json_object_get_string(v), buf, sizeof(buf), &len) ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(buf, len, NULL, &secret) ||
	    !json_object_object_get_ex(a, "pcr_selection", &sel)) {
		fprintf(stderr, "op-device: malformed 2.1 answer\n");
		json_object_put(a);
		return 3;
	}
	/* The selection asked for, unless told to quote another. */
	{
		struct json_object *s0 = json_object_array_get_idx(sel, 0), *list;
		char pcrs[128] = "";
		size_t off = 0;

		if (!s0 || !json_object_object_get_ex(s0, "pcrs", &list))
			return 3;
		for (size_t i = 0; i < json_object_array_length(list); i++)
			off += (size_t)snprintf(pcrs + off, sizeof(pcrs) - off, "%s%d", i ? "," : "",
						json_object_get_int(json_object_array_get_idx(list, i)));
		if (parse_pcrs(opt.pcrs ? opt.pcrs : pcrs, &pcrsel) < 0)
			return 3;
	}
	json_object_put(a);
	a = NULL;
	/* 2.2 */
	r = tre_activate_credential(akt, TRE_EK_RSA, &blob, &secret, &out);
	if (r < 0) {
		/* Another TPM's AK cannot activate our EK's credential: answer
		 * something, as a forger would. */
		memset(&out, 0, sizeof(out));
		out.size = 32;
	}
	if (opt.wrong_secret)
		out.buffer[0] ^= 1;
	if (opt.second_ak && tre_ak_create(t, TRE_EK_ECC, NULL) < 0)
		return 3;
	{
		uint8_t qual[32];
		_cleanup_free_ char *summary = NULL;
		size_t slen = 0;

		memcpy(qual, nonce, 32);
		if (opt.stale)
			qual[0] ^= 0x80;
		if (opt.summary) {
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			unsigned dl;

			if (read_file_max(opt.summary, 65536, &summary, &slen) < 0)
				return 3;
			EVP_DigestInit_ex(md, EVP_sha256(), NULL);
			EVP_DigestUpdate(md, nonce, 32);
			EVP_DigestUpdate(md, summary, slen);
			EVP_DigestFinal_ex(md, qual, &dl);
			EVP_MD_CTX_free(md);
		}
		tre_bios_log_path = opt.tcg_log ? opt.tcg_log : "/nonexistent";
		tre_ima_log_path = opt.ima_log ? opt.ima_log : "/nonexistent";
		r = tre_quote(akt, &pcrsel, qual, 32, &q);
		if (r < 0) {
			fprintf(stderr, "op-device: quote: %s\n", tre_errmsg(t));
			return 3;
		}
		r = tre_certify_srk(akt, nonce, 32, &cattest, &csig);
		if (r == 0)
			r = tre_srk_public(akt, &srk);
		if (r < 0) {
			fprintf(stderr, "op-device: SRK: %s\n", tre_errmsg(t));
			return 3;
		}
		if (opt.flip_quote)
			q.attest.attestationData[q.attest.size / 2] ^= 1;
		if (opt.flip_srk)
			cattest.attestationData[cattest.size / 2] ^= 1;

		struct json_object *qo = json_object_new_object(), *so = json_object_new_object();
		struct json_object *pv = json_object_new_array(), *logs = json_object_new_object();
		unsigned idx = 0;

		o = json_object_new_object();
		add_b64(o, "credential_secret", out.buffer, out.size);
		add_b64(qo, "attest", q.attest.attestationData, q.attest.size);
		Tss2_MU_TPMT_SIGNATURE_Marshal(&q.signature, buf, sizeof(buf), (n = 0, &n));
		add_b64(qo, "signature", buf, n);
		json_object_object_add(o, "quote", qo);
		for (unsigned p = 0; p < 24; p++) {
			struct json_object *e;
			char hex[65];

			if (!(q.sel.pcrSelections[0].pcrSelect[p / 8] & (1u << (p % 8))))
				continue;
			e = json_object_new_object();
			hex_encode(q.pcrs[idx].buffer, q.pcrs[idx].size, hex);
			idx++;
			json_object_object_add(e, "bank", json_object_new_string("sha256"));
			json_object_object_add(e, "pcr", json_object_new_int((int)p));
			json_object_object_add(e, "digest", json_object_new_string(hex));
			json_object_array_add(pv, e);
		}
		json_object_object_add(o, "pcr_values", pv);
		n = 0;
		Tss2_MU_TPM2B_PUBLIC_Marshal(&srk, buf, sizeof(buf), &n);
		add_b64(so, "public", buf, n);
		add_b64(so, "attest", cattest.attestationData, cattest.size);
		n = 0;
		Tss2_MU_TPMT_SIGNATURE_Marshal(&csig, buf, sizeof(buf), &n);
		add_b64(so, "signature", buf, n);
		json_object_object_add(o, "srk", so);
		if (q.bios_log)
			add_b64(logs, "tcg", q.bios_log, q.bios_log_len);
		if (q.ima_log)
			add_b64(logs, "ima", q.ima_log, q.ima_log_len);
		if (q.bios_log || q.ima_log)
			json_object_object_add(o, "event_logs", logs);
		else
			json_object_put(logs);
		if (summary)
			add_b64(o, "summary", summary, slen);
		if (opt.save) {
			struct tpm2_pcr_values pvs = { .selection = q.sel, .count = q.npcrs };
			char sdir[1100];

			memcpy(pvs.digests, q.pcrs, q.npcrs * sizeof(q.pcrs[0]));
			snprintf(sdir, sizeof(sdir), "%s/quote.msg", opt.save);
			char ssig[1100], spcr[1100], sak[1100];
			snprintf(ssig, sizeof(ssig), "%s/quote.sig", opt.save);
			snprintf(spcr, sizeof(spcr), "%s/quote.pcrs", opt.save);
			snprintf(sak, sizeof(sak), "%s/ak.pub", opt.save);
			if (tpm2_quote_export(sdir, ssig, spcr, q.attest.attestationData, q.attest.size,
					      &q.signature, &pvs) < 0 ||
			    tpm2_public_export(sak, &ak, false) < 0 || save("nonce", nonce, 32) < 0)
				return 3;
		}
		tre_quote_clear(&q);
	}
	if (opt.wait)
		sleep(opt.wait);
	snprintf(path, sizeof(path), "/v1/validations/%s/evidence", session);
	if (opt.race) {
		r = race(path, json_object_to_json_string(o));
		json_object_put(o);
		return r;
	}
	r = post(path, json_object_to_json_string(o), &st, &a);
	if (r == 0 && opt.replay) {
		json_object_put(a);
		a = NULL;
		r = post(path, json_object_to_json_string(o), &st, &a);
	}
	json_object_put(o);
	if (r == 0 && st == 200 && opt.state) {
		uint8_t b[TRE_BLOB_MAX];
		size_t bl = 0;

		if (!json_object_object_get_ex(a, "ticket", &v) ||
		    state_write("ticket", json_object_get_string(v), strlen(json_object_get_string(v))) ||
		    state_write("device_id", device_id, strlen(device_id)) ||
		    tre_blob_marshal(&ak_blob, b, sizeof(b), &bl) < 0 || state_write("ak.blob", b, bl))
			r = -EIO;
	}
	json_object_put(a);
	return r < 0 ? 3 : exit_for(st);
}

/* ---- the download (docs/package-format.md 3-4) ---- */

static int state_read(const char *name, char **ret, size_t *ret_len)
{
	char path[1100];

	snprintf(path, sizeof(path), "%s/%s", opt.state, name);
	return read_file_max(path, 1u << 20, ret, ret_len);
}

/* The AK validate made (loaded again under the ECC EK) and the device id. */
static int load_state(struct tre *t, char device_id[65])
{
	_cleanup_free_ char *blob = NULL, *id = NULL;
	struct tre_blob b;
	size_t len;

	if (!opt.state || state_read("ak.blob", &blob, &len) < 0 ||
	    tre_blob_unmarshal((uint8_t *)blob, len, &b) < 0 || state_read("device_id", &id, &len) < 0 ||
	    len != 64) {
		fprintf(stderr, "op-device: --state: run validate --state DIR first\n");
		return -EINVAL;
	}
	memcpy(device_id, id, 65);
	if (tre_ak_load(t, TRE_EK_ECC, &b) < 0) {
		fprintf(stderr, "op-device: AK: %s\n", tre_errmsg(t));
		return -EIO;
	}
	return 0;
}

/* An SRK-shaped public key no TPM holds (the --other-srk case). */
static void software_srk(TPM2B_PUBLIC *ret)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	memset(ret, 0, sizeof(*ret));
	tpm2_public_from_evp(k, TPM2_ALG_SHA256,
			     TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
				     TPMA_OBJECT_FIXEDPARENT,
			     &ret->publicArea);
	ret->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	ret->publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	ret->publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	EVP_PKEY_free(k);
}

static X509 *load_root(void)
{
	FILE *f = fopen(opt.ca, "re");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

/* What mcimd does with a package, short of installing it: verify, parse, import. */
static int check_and_import(struct tre *t, const uint8_t *der, size_t len, const char *device_id,
			    const uint8_t *nonce, const TPM2B_NAME *srk_name)
{
	struct package_content c;
	uint8_t *content = NULL;
	size_t clen, n = 0;
	struct tre_blob b;
	X509 *root = load_root();
	char why[512];
	int r;

	r = root ? package_verify(der, len, root, time(NULL), &content, &clen, NULL, why,
				  sizeof(why)) : -EINVAL;
	X509_free(root);
	if (r == 0)
		r = package_content_parse((char *)content, clen, &c, why, sizeof(why));
	free(content);
	if (r < 0) {
		fprintf(stderr, "op-device: package: %s\n", why);
		return 3;
	}
	r = package_objects_check(&c, why, sizeof(why));
	if (r == 0 && (strcmp(c.device, device_id) || memcmp(c.nonce, nonce, 32) ||
		       c.srk_name.size != srk_name->size ||
		       memcmp(c.srk_name.name, srk_name->name, srk_name->size))) {
		snprintf(why, sizeof(why), "the package is not for this device, nonce and SRK");
		r = -EINVAL;
	}
	if (r == 0)
		r = package_policy_verify(&c.policy);
	/* TPM2_Import: the TPM checks each blob's outer HMAC and that it was
	 * wrapped to this SRK (Part 1 23.3). */
	if (r == 0 && (r = tre_import(t, &c.k.pub, &c.k.duplicate, &c.k.seed, NULL, NULL, &b)) == 0)
		n++;
	if (r == 0 &&
	    (r = tre_import(t, &c.opc.pub, &c.opc.duplicate, &c.opc.seed, NULL, NULL, &b)) == 0)
		n++;
	for (size_t i = 0; r == 0 && i < c.n_pins; i++)
		if ((r = tre_import(t, &c.pins[i].s.pub, &c.pins[i].s.duplicate, &c.pins[i].s.seed,
				    NULL, NULL, &b)) == 0)
			n++;
	if (r < 0) {
		fprintf(stderr, "op-device: package: %s\n", why[0] ? why : tre_errmsg(t));
		package_content_free(&c);
		return 3;
	}
	printf("package %" PRId64 " for %s: %zu objects imported (K form %s), policy for PCRs %#x",
	       c.sequence, c.iccid, n, package_form_name(c.k.form), c.policy.pcr_mask);
	if (c.version == 2)
		printf(", version 2: subscriber %s, lock until %" PRId64 ", replaces %s", c.subscriber,
		       c.lock_until, c.replaces ? c.replaces_iccid : "nothing");
	printf("\n");
	package_content_free(&c);
	return 0;
}

static int do_download(struct tre *t)
{
	struct package_request rq = { 0 };
	struct json_object *a = NULL, *v;
	_cleanup_free_ char *ticket = NULL, *body = NULL;
	TPM2B_NAME ak_name, srk_name;
	char device_id[65], hex[65];
	size_t len;
	long st = 0;
	int r;

	if (load_state(t, device_id) < 0 || state_read("ticket", &ticket, &len) < 0)
		return 3;
	rq.ticket = ticket;
	if (opt.nonce) {
		if (hex_decode(opt.nonce, rq.nonce, sizeof(rq.nonce)) != sizeof(rq.nonce))
			return 3;
	} else if (RAND_bytes(rq.nonce, sizeof(rq.nonce)) != 1) {
		return 3;
	}
	if (opt.other_ak) {
		if (tre_ak_create(t, TRE_EK_ECC, NULL) < 0)
			return 3;
	}
	if (tre_ak_public(t, &rq.ak, &ak_name) < 0 || tre_srk_public(t, &rq.srk) < 0) {
		fprintf(stderr, "op-device: %s\n", tre_errmsg(t));
		return 3;
	}
	tpm2_public_name(&rq.srk.publicArea, &srk_name);
	if (opt.other_srk)
		software_srk(&rq.srk);
	if (package_form_from_name(opt.key_form ? opt.key_form : "aes", &rq.key_form) < 0)
		return 3;
	if (opt.switch_iccid) {
		/* docs/change-format.md 4: the subscription let go, the consent, the release */
		char *cb = NULL, *rb = NULL;

		rq.has_switch = true;
		snprintf(rq.switch_iccid, sizeof(rq.switch_iccid), "%s", opt.switch_iccid);
		if (!opt.consent || read_file_max(opt.consent, PACKAGE_TOKEN_MAX, &cb, &rq.consent_len) < 0 ||
		    (opt.release &&
		     read_file_max(opt.release, PACKAGE_TOKEN_MAX, &rb, &rq.release_len) < 0)) {
			fprintf(stderr, "op-device: --switch needs --consent FILE (and --release FILE)\n");
			free(cb);
			return 3;
		}
		rq.consent = (uint8_t *)cb;
		rq.release = (uint8_t *)rb;
	}
	r = package_request_build(&rq, &body, &len);
	rq.ticket = NULL;
	package_request_free(&rq);
	if (r < 0)
		return 3;
	if (opt.no_ticket) {
		struct json_object *o = json_tokener_parse(body);

		json_object_object_del(o, "ticket");
		free(body);
		body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	hex_encode(rq.nonce, sizeof(rq.nonce), hex);
	if (state_write("nonce", hex, 64))
		return 3;
	if (opt.write_request) {
		/* docs/package-format.md 5: the offline request (mcimctl provision --request) */
		FILE *f = fopen(opt.write_request, "we");

		if (!f || fputs(body, f) < 0 || fclose(f) != 0)
			return 3;
		return 0;
	}
	r = post("/v1/dpf/package", body, &st, &a);
	if (r < 0)
		return 3;
	if (st == 200) {
		uint8_t *der = NULL;
		size_t dlen = 0;
		char seq[32];

		if (!json_object_object_get_ex(a, "package", &v) ||
		    b64_decode(json_object_get_string(v), strlen(json_object_get_string(v)),
			       PACKAGE_MAX, &der, &dlen) < 0) {
			json_object_put(a);
			return 3;
		}
		r = check_and_import(t, der, dlen, device_id, rq.nonce, &srk_name);
		json_object_object_get_ex(a, "sequence", &v);
		snprintf(seq, sizeof(seq), "%" PRId64, json_object_get_int64(v));
		if (r == 0 && (state_write("package.der", der, dlen) || state_write("sequence", seq, strlen(seq)) ||
			       !json_object_object_get_ex(a, "iccid", &v) ||
			       state_write("iccid", json_object_get_string(v),
					   strlen(json_object_get_string(v)))))
			r = 3;
		free(der);
		json_object_put(a);
		return r;
	}
	json_object_put(a);
	return exit_for(st);
}

/* receipt (kind PACKAGE_RECEIPT) or tamper report: the AK's quote over it. */
static int do_report(struct tre *t, enum package_report_kind kind)
{
	struct package_report rep = { .kind = kind };
	struct package_attested at = { 0 };
	_cleanup_free_ char *iccid = NULL, *seq = NULL, *body = NULL, *msg = NULL;
	struct json_object *a = NULL;
	struct tre_quote q = { 0 };
	TPML_PCR_SELECTION sel;
	uint8_t qual[32];
	size_t len, blen;
	long st = 0;
	int r;

	if (load_state(t, rep.device) < 0)
		return 3;
	if (opt.result && !strcmp(opt.result, "switched"))
		rep.result = PACKAGE_RESULT_SWITCHED;
	else if (opt.result && !strcmp(opt.result, "fallback"))
		rep.result = PACKAGE_RESULT_FALLBACK;
	else if (opt.result && strcmp(opt.result, "installed"))
		return 3;
	if (rep.result == PACKAGE_RESULT_FALLBACK)
		snprintf(rep.reason, sizeof(rep.reason), "%s", opt.reason ? opt.reason : "test");
	if (kind == PACKAGE_RECEIPT) {
		if (state_read("iccid", &iccid, &len) < 0 || state_read("sequence", &seq, &len) < 0)
			return 3;
		snprintf(rep.iccid, sizeof(rep.iccid), "%s", iccid);
		rep.sequence = strtoll(seq, NULL, 10);
	} else if (kind == PACKAGE_RELEASE_REPORT) {
		if (!opt.iccid || !opt.result) {
			fprintf(stderr, "op-device: released needs --iccid and --result\n");
			return 3;
		}
		snprintf(rep.iccid, sizeof(rep.iccid), "%s", opt.iccid);
		rep.at = time(NULL);
	} else {
		snprintf(rep.reason, sizeof(rep.reason), "%s", opt.reason ? opt.reason : "test");
		rep.at = time(NULL);
	}
	if (package_report_build(&rep, &body, &blen) < 0 ||
	    parse_pcrs(opt.pcrs ? opt.pcrs : "0,1,2,3,4,5,6,7,23", &sel) < 0)
		return 3;
	tpm2_hash(TPM2_ALG_SHA256, body, blen, qual);
	r = tre_quote(t, &sel, qual, sizeof(qual), &q);
	if (r < 0) {
		fprintf(stderr, "op-device: quote: %s\n", tre_errmsg(t));
		return 3;
	}
	if (opt.flip_quote)
		q.attest.attestationData[q.attest.size / 2] ^= 1;
	snprintf(at.device, sizeof(at.device), "%s", rep.device);
	at.body = (uint8_t *)body;
	at.body_len = blen;
	at.quote = q.attest.attestationData;
	at.quote_len = q.attest.size;
	at.signature = q.signature;
	r = package_attested_build(&at, kind, &msg, &len);
	tre_quote_clear(&q);
	if (r < 0)
		return 3;
	r = post(kind == PACKAGE_RECEIPT ? "/v1/dpf/receipt" :
		 kind == PACKAGE_TAMPER  ? "/v1/dpf/tamper" : "/v1/dpf/released", msg, &st, &a);
	json_object_put(a);
	return r < 0 ? 3 : exit_for(st);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tcti", required_argument, NULL, 't' },
		{ "ca", required_argument, NULL, 'c' },
		{ "url", required_argument, NULL, 'u' },
		{ "tcg-log", required_argument, NULL, 'T' },
		{ "ima-log", required_argument, NULL, 'I' },
		{ "summary", required_argument, NULL, 'S' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "foreign-tcti", required_argument, NULL, 'F' },
		{ "save", required_argument, NULL, 's' },
		{ "wait", required_argument, NULL, 'w' },
		{ "flip-quote", no_argument, NULL, 1 },
		{ "flip-srk-certify", no_argument, NULL, 2 },
		{ "stale-nonce", no_argument, NULL, 3 },
		{ "second-ak", no_argument, NULL, 4 },
		{ "ak-no-restricted", no_argument, NULL, 5 },
		{ "ak-decrypt", no_argument, NULL, 6 },
		{ "wrong-secret", no_argument, NULL, 7 },
		{ "replay", no_argument, NULL, 8 },
		{ "state", required_argument, NULL, 'D' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "key-form", required_argument, NULL, 'k' },
		{ "reason", required_argument, NULL, 'R' },
		{ "no-ticket", no_argument, NULL, 9 },
		{ "write-request", required_argument, NULL, 'W' },
		{ "other-ak", no_argument, NULL, 10 },
		{ "other-srk", no_argument, NULL, 11 },
		{ "race", required_argument, NULL, 12 },
		{ "switch", required_argument, NULL, 13 },
		{ "consent", required_argument, NULL, 14 },
		{ "release", required_argument, NULL, 15 },
		{ "result", required_argument, NULL, 16 },
		{ "iccid", required_argument, NULL, 17 },
		{},
	};
	_cleanup_tre_ struct tre *t = NULL, *f = NULL;
	struct tre_config cfg;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't': opt.tcti = optarg; break;
		case 'c': opt.ca = optarg; break;
		case 'u': opt.url = optarg; break;
		case 'T': opt.tcg_log = optarg; break;
		case 'I': opt.ima_log = optarg; break;
		case 'S': opt.summary = optarg; break;
		case 'p': opt.pcrs = optarg; break;
		case 'F': opt.foreign = optarg; break;
		case 's': opt.save = optarg; break;
		case 'w': opt.wait = (unsigned)atoi(optarg); break;
		case 1: opt.flip_quote = true; break;
		case 2: opt.flip_srk = true; break;
		case 3: opt.stale = true; break;
		case 4: opt.second_ak = true; break;
		case 5: opt.ak_norestrict = true; break;
		case 6: opt.ak_decrypt = true; break;
		case 7: opt.wrong_secret = true; break;
		case 8: opt.replay = true; break;
		case 'D': opt.state = optarg; break;
		case 'n': opt.nonce = optarg; break;
		case 'k': opt.key_form = optarg; break;
		case 'R': opt.reason = optarg; break;
		case 9: opt.no_ticket = true; break;
		case 'W': opt.write_request = optarg; break;
		case 10: opt.other_ak = true; break;
		case 11: opt.other_srk = true; break;
		case 12: opt.race = optarg; break;
		case 13: opt.switch_iccid = optarg; break;
		case 14: opt.consent = optarg; break;
		case 15: opt.release = optarg; break;
		case 16: opt.result = optarg; break;
		case 17: opt.iccid = optarg; break;
		default: return 3;
		}
	}
	if (optind + 1 != argc || !opt.tcti) {
		fprintf(stderr, "usage: op-device --tcti T --ca F --url U register|validate [OPTIONS]\n");
		return 3;
	}
	tre_config_init(&cfg);
	/* Its own epoch counter: on a TPM that mcimd uses too (the demo's VM),
	 * mcimd's counters keep the authorization mcimd gives them. */
	cfg.epoch_index = TRE_EPOCH_NV_INDEX + 0x10;
	cfg.tcti = opt.tcti;
	if (tre_open(&cfg, &t) < 0) {
		fprintf(stderr, "op-device: TPM: %s\n", tre_open_error());
		return 3;
	}
	if (opt.foreign) {
		cfg.tcti = opt.foreign;
		if (tre_open(&cfg, &f) < 0) {
			fprintf(stderr, "op-device: foreign TPM: %s\n", tre_open_error());
			return 3;
		}
	}
	if (!strcmp(argv[optind], "register")) {
		char id[65];

		r = do_register(t, id);
	} else if (!strcmp(argv[optind], "validate")) {
		r = do_validate(t, f);
	} else if (!strcmp(argv[optind], "download")) {
		r = do_download(t);
	} else if (!strcmp(argv[optind], "receipt")) {
		r = do_report(t, PACKAGE_RECEIPT);
	} else if (!strcmp(argv[optind], "tamper")) {
		r = do_report(t, PACKAGE_TAMPER);
	} else if (!strcmp(argv[optind], "released")) {
		r = do_report(t, PACKAGE_RELEASE_REPORT);
	} else {
		fprintf(stderr, "op-device: unknown command %s\n", argv[optind]);
		r = 3;
	}
	return r;
}
