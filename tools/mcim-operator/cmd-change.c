// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Changes of subscription (docs/change-format.md 4, docs/operator.md
 * "Changes of subscription"): `subscriber add|list|show`, `consent
 * sign|add|list`, `release issue`, `subscription lock` and `device switch`.
 * Every change of the store is audited; every refusal names its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "fileio.h"
#include "hex.h"
#include "json-util.h"
#include "package.h"
#include "tools/mcim-operator/change.h"
#include "tools/mcim-operator/mcim-operator.h"
#include "tools/mcim-operator/pki.h"

#define TOKEN_DAYS_DEFAULT 7

static bool name_ok(const char *s)
{
	return *s && strlen(s) <= OP_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
		       strlen(s);
}

static bool digits_ok(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, "0123456789") == n;
}

static bool device_ok(const char *s)
{
	return strlen(s) == OP_DEVICE_ID_LEN && strspn(s, "0123456789abcdef") == OP_DEVICE_ID_LEN;
}

static int parse_days(const char *s, unsigned *ret)
{
	char *end;
	unsigned long d = strtoul(s, &end, 10);

	if (*end || !*s || *s == '-' || d < 1 || d > PACKAGE_TOKEN_LIFETIME_MAX / 86400)
		return cli_error(EXIT_USAGE, "--days: 1 to %d", PACKAGE_TOKEN_LIFETIME_MAX / 86400);
	*ret = (unsigned)d;
	return 0;
}

/* Writes data to path through a temporary and a rename: all of it or nothing. */
static int write_out(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	int fd;
	bool ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, data, len) == (ssize_t)len && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		int e = errno ? errno : EIO;

		unlink(tmp);
		return -e;
	}
	return 0;
}

static int read_token(const char *path, uint8_t **ret, size_t *ret_len)
{
	char *buf = NULL;
	int r = read_file_max(path, PACKAGE_TOKEN_MAX, &buf, ret_len);

	if (r < 0)
		return cli_error(EXIT_FAILED, "%s: %s", path,
				 r == -EFBIG || r == -EMSGSIZE ? "over 16 KiB" : strerror(-r));
	*ret = (uint8_t *)buf;
	return 0;
}

/* The roots a release may chain to here: the peers' (sho add --root) and this operator's own. */
static int all_roots(struct cli *c, struct store *s, STACK_OF(X509) **ret)
{
	char path[OP_PATH_MAX + 32], why[512];
	X509 *own;

	if (change_peer_roots(s, ret, why, sizeof(why)) < 0)
		return cli_error(EXIT_FAILED, "%s", why);
	snprintf(path, sizeof(path), "%s/%s", c->cfg.pki_dir, PKI_ROOT_CERT);
	if (change_cert_load(path, false, &own, NULL, why, sizeof(why)) == 0 &&
	    !sk_X509_push(*ret, own))
		X509_free(own);
	return 0;
}

/* ---- subscriber add|list|show ---- */

static struct json_object *subscriber_json(const struct op_subscriber *x)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "name", json_object_new_string(x->name));
	json_object_object_add(j, "key_id", json_object_new_string(x->key_id));
	json_object_object_add(j, "created", json_object_new_int64(x->created));
	return j;
}

static int print_subscriber(const struct op_subscriber *x, void *user)
{
	if (user)
		json_object_array_add(user, subscriber_json(x));
	else
		printf("%-24s %s\n", x->name, x->key_id);
	return 0;
}

static int subscriber_add(struct cli *c, const char *name, const char *pem)
{
	_cleanup_(store_closep) struct store *s = NULL;
	struct op_subscriber x = { 0 };
	unsigned char *der = NULL;
	char why[512], *b64;
	X509 *cert;
	EVP_PKEY *pk;
	bool ec256;
	int n, r;

	if (!name_ok(name))
		return cli_error(EXIT_USAGE, "subscriber name \"%s\": 1-%d characters of [A-Za-z0-9._-]",
				 name, OP_ID_MAX);
	if (change_cert_load(pem, false, &cert, x.key_id, why, sizeof(why)) < 0)
		return cli_error(EXIT_FAILED, "%s", why);
	/* docs/change-format.md 1: a P-256 key (consents are ECDSA with SHA-256). */
	pk = X509_get0_pubkey(cert);
	ec256 = pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC && EVP_PKEY_get_bits(pk) == 256;
	n = i2d_X509(cert, &der);
	X509_free(cert);
	if (!ec256) {
		OPENSSL_free(der);
		return cli_error(EXIT_FAILED, "%s: the certificate's key is not EC P-256", pem);
	}
	if (n <= 0 || (size_t)n > PACKAGE_CERT_MAX) {
		OPENSSL_free(der);
		return cli_error(EXIT_FAILED, "%s: over %u bytes of DER", pem, PACKAGE_CERT_MAX);
	}
	b64 = b64_encode(der, (size_t)n);
	OPENSSL_free(der);
	if (!b64)
		return cli_error(EXIT_FAILED, "out of memory");
	snprintf(x.name, sizeof(x.name), "%s", name);
	snprintf(x.cert, sizeof(x.cert), "%s", b64);
	free(b64);
	x.created = time(NULL);
	r = cli_store(c, &s);
	if (r)
		return r;
	if (store_subscriber_add(s, &x) < 0)
		return cli_error(EXIT_FAILED, "subscriber add: %s", store_errmsg(s));
	snprintf(why, sizeof(why), "subscriber %s, key %s", x.name, x.key_id);
	store_audit(s, x.created, "", "subscriber", "added", why);
	printf("subscriber %s added, key %s\n", x.name, x.key_id);
	return EXIT_OK;
}

int cmd_subscriber(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	int r;

	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: mcim-operator subscriber add NAME --cert PEM\n"
		       "       mcim-operator subscriber list\n"
		       "       mcim-operator subscriber show NAME\n"
		       "The M2M subscribers' accounts (docs/change-format.md 1): the certificate\n"
		       "(EC P-256, self-signed or from the subscriber's CA) whose key signs the\n"
		       "subscriber's consents; it is pinned by the SHA-256 of its public key (key\n"
		       "id).  NAME is the `subscriber` of the fleet's devices and subscriptions: the\n"
		       "DPF builds version 2 packages (subscriber, contract lock) for the\n"
		       "subscriptions of a subscriber with an account, version 1 otherwise.\n");
		return EXIT_OK;
	}
	if (argc == 5 && !strcmp(argv[1], "add") && !strcmp(argv[3], "--cert"))
		return subscriber_add(c, argv[2], argv[4]);
	if (argc == 2 && !strcmp(argv[1], "list")) {
		struct json_object *a = c->json ? json_object_new_array() : NULL;

		r = cli_store(c, &s);
		if (r) {
			json_object_put(a);
			return r;
		}
		if (store_subscriber_list(s, print_subscriber, a) < 0) {
			json_object_put(a);
			return cli_error(EXIT_FAILED, "subscriber list: %s", store_errmsg(s));
		}
		if (a)
			cli_print_json(a);
		return EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "show")) {
		struct op_subscriber x;
		struct json_object *j;

		r = cli_store(c, &s);
		if (r)
			return r;
		r = store_subscriber_get(s, argv[2], &x);
		if (r < 0)
			return cli_error(EXIT_FAILED, "subscriber show: %s", store_errmsg(s));
		j = subscriber_json(&x);
		json_object_object_add(j, "cert", json_object_new_string(x.cert));
		cli_print_json(j);
		return EXIT_OK;
	}
	return cli_error(EXIT_USAGE, "usage: subscriber add NAME --cert PEM | subscriber list | "
				     "subscriber show NAME");
}

/* ---- subscription lock ---- */

static int parse_time(const char *s, int64_t *ret)
{
	struct tm tm = { 0 };
	const char *end;

	if (digits_ok(s, 1, 12)) {
		*ret = strtoll(s, NULL, 10);
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || *end)
		return -EINVAL;
	*ret = (int64_t)timegm(&tm);
	return *ret > 0 ? 0 : -EINVAL;
}

int cmd_subscription_lock(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	int64_t until;
	int r;

	if (argc != 4 || strcmp(argv[2], "--until"))
		return cli_error(EXIT_USAGE, "usage: subscription lock ICCID --until TIME|0");
	if (!digits_ok(argv[1], 18, OP_ICCID_MAX))
		return cli_error(EXIT_USAGE, "ICCID \"%s\": 18 to 20 digits", argv[1]);
	if (parse_time(argv[3], &until) < 0)
		return cli_error(EXIT_USAGE,
				 "--until \"%s\": Unix time, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); "
				 "0 for no lock", argv[3]);
	r = cli_store(c, &s);
	if (r)
		return r;
	if (store_subscription_lock(s, argv[1], until, time(NULL)) < 0)
		return cli_error(EXIT_FAILED, "subscription lock: %s", store_errmsg(s));
	if (until)
		printf("subscription %s locked until %" PRId64 "\n", argv[1], until);
	else
		printf("subscription %s: no contract lock\n", argv[1]);
	return EXIT_OK;
}

/* ---- consent sign|add|list ---- */

static int random_id(char ret[33])
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	hex_encode(b, sizeof(b), ret);
	return 0;
}

/* Builds, signs with key/cert and writes a consent or release. */
static int token_write(const struct package_token *t, EVP_PKEY *key, X509 *cert, const char *out)
{
	_cleanup_free_ char *json = NULL;
	uint8_t *der = NULL;
	size_t jlen, dlen;
	int r;

	r = package_token_build(t, &json, &jlen);
	if (r == 0)
		r = package_sign_type(t->type, (uint8_t *)json, jlen, key, cert, NULL, &der, &dlen);
	if (r < 0)
		return cli_error(EXIT_FAILED, "signing the %s failed: %s",
				 t->type == PACKAGE_TYPE_CONSENT ? "consent" : "release", strerror(-r));
	r = write_out(out, der, dlen);
	free(der);
	if (r < 0)
		return cli_error(EXIT_FAILED, "%s: %s", out, strerror(-r));
	return 0;
}

static int consent_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },   { "cert", required_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'd' }, { "iccid", required_argument, NULL, 'i' },
		{ "to-sho-root", required_argument, NULL, 'r' },
		{ "days", required_argument, NULL, 'D' },  { "out", required_argument, NULL, 'o' },
		{},
	};
	const char *key = NULL, *certp = NULL, *device = NULL, *iccid = NULL, *root = NULL,
		   *out = NULL;
	struct package_token t = { .type = PACKAGE_TYPE_CONSENT };
	unsigned days = TOKEN_DAYS_DEFAULT;
	char why[512];
	EVP_PKEY *pk = NULL;
	X509 *cert = NULL;
	FILE *f;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'k': key = optarg; break;
		case 'c': certp = optarg; break;
		case 'd': device = optarg; break;
		case 'i': iccid = optarg; break;
		case 'r': root = optarg; break;
		case 'o': out = optarg; break;
		case 'D':
			if (parse_days(optarg, &days))
				return EXIT_USAGE;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !key || !certp || !device || !iccid || !root || !out)
		return cli_error(EXIT_USAGE, "usage: consent sign --key KEY --cert CERT --device ID "
					     "--iccid ICCID --to-sho-root PEM [--days N] --out FILE");
	if (!device_ok(device))
		return cli_error(EXIT_USAGE, "--device: 64 lowercase hex digits");
	if (!digits_ok(iccid, 18, OP_ICCID_MAX))
		return cli_error(EXIT_USAGE, "--iccid \"%s\": 18 to 20 digits", iccid);
	if (change_cert_load(root, false, NULL, t.to_sho, why, sizeof(why)) < 0 ||
	    change_cert_load(certp, false, &cert, NULL, why, sizeof(why)) < 0)
		return cli_error(EXIT_FAILED, "%s", why);
	f = fopen(key, "re");
	pk = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!pk || X509_check_private_key(cert, pk) != 1) {
		r = cli_error(EXIT_FAILED, "%s: %s", key,
			      pk ? "not the key of the certificate" : "not a PEM private key");
		goto out;
	}
	snprintf(t.device, sizeof(t.device), "%s", device);
	snprintf(t.iccid, sizeof(t.iccid), "%s", iccid);
	t.issued = time(NULL);
	t.expires = t.issued + (int64_t)days * 86400;
	r = random_id(t.id) < 0 ? cli_error(EXIT_FAILED, "no random numbers")
				: token_write(&t, pk, cert, out);
	if (r == 0)
		printf("consent %s for device %.16s..., ICCID %s, to SHO %s, expires %" PRId64
		       ", written to %s\n", t.id, device, iccid, t.to_sho, t.expires, out);
out:
	EVP_PKEY_free(pk);
	X509_free(cert);
	return r;
}

/* The SHO of this store with root id, or -ENOENT. */
struct sho_find {
	const char *root_id;
	char id[OP_ID_MAX + 1];
};

static int sho_find_row(const struct op_sho *o, void *user)
{
	struct sho_find *f = user;

	if (strcmp(o->root_id, f->root_id))
		return 0;
	snprintf(f->id, sizeof(f->id), "%s", o->id);
	return 1;
}

static int refused(struct store *s, const char *device, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refused(struct store *s, const char *device, const char *event, const char *fmt, ...)
{
	char why[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	store_audit(s, time(NULL), device, event, "refused", why);
	return cli_error(EXIT_FAILED, "%s refused: %s", event, why);
}

static int consent_add(struct cli *c, const char *path)
{
	_cleanup_(store_closep) struct store *s = NULL;
	_cleanup_free_ uint8_t *der = NULL;
	struct op_subscription sub;
	struct op_subscriber acc;
	struct package_token t;
	struct op_token_rec rec = { 0 };
	struct sho_find sf = { 0 };
	char why[512], key_id[65];
	time_t now = time(NULL);
	size_t len;
	int r;

	r = read_token(path, &der, &len);
	if (r)
		return r;
	r = cli_store(c, &s);
	if (r)
		return r;
	r = package_token_open(PACKAGE_TYPE_CONSENT, der, len, NULL, now, &t, key_id, why,
			       sizeof(why));
	if (r < 0)
		return refused(s, "", "consent", "%s: %s", path, why);
	r = store_subscription_get(s, t.iccid, &sub);
	if (r == -ENOENT)
		return refused(s, t.device, "consent", "no subscription %s here", t.iccid);
	if (r < 0)
		return cli_error(EXIT_FAILED, "consent add: %s", store_errmsg(s));
	snprintf(rec.subscriber, sizeof(rec.subscriber), "%s", sub.subscriber);
	r = package_token_check(&t, sub.device_id, t.iccid, NULL, now, why, sizeof(why));
	op_subscription_clear(&sub);
	if (r < 0)
		return refused(s, t.device, "consent", "%s", why);
	if (store_subscriber_get(s, rec.subscriber, &acc) < 0)
		return refused(s, t.device, "consent",
			       "subscriber %s has no account (subscriber add): its consents cannot "
			       "be checked", rec.subscriber);
	if (strcmp(acc.key_id, key_id))
		return refused(s, t.device, "consent",
			       "signed by another key than subscriber %s's registered one",
			       rec.subscriber);
	sf.root_id = t.to_sho;
	r = store_sho_list(s, sho_find_row, &sf);
	if (r < 0)
		return cli_error(EXIT_FAILED, "consent add: %s", store_errmsg(s));
	if (!sf.id[0])
		return refused(s, t.device, "consent",
			       "it names SHO %s, whose root is not known here (sho add ... --root)",
			       t.to_sho);
	snprintf(rec.id, sizeof(rec.id), "%s", t.id);
	snprintf(rec.device_id, sizeof(rec.device_id), "%s", t.device);
	snprintf(rec.iccid, sizeof(rec.iccid), "%s", t.iccid);
	snprintf(rec.to_sho, sizeof(rec.to_sho), "%s", t.to_sho);
	rec.issued = t.issued;
	rec.expires = t.expires;
	r = store_consent_add(s, &rec, now);
	if (r == -EEXIST)
		return refused(s, t.device, "consent", "%s", store_errmsg(s));
	if (r < 0)
		return cli_error(EXIT_FAILED, "consent add: %s", store_errmsg(s));
	printf("consent %s recorded: subscriber %s lets ICCID %s go to SHO %s, until %" PRId64 "\n",
	       rec.id, rec.subscriber, rec.iccid, sf.id, rec.expires);
	return EXIT_OK;
}

static int print_consent(const struct op_token_rec *x, void *user)
{
	if (user) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "id", json_object_new_string(x->id));
		json_object_object_add(j, "device_id", json_object_new_string(x->device_id));
		json_object_object_add(j, "iccid", json_object_new_string(x->iccid));
		json_object_object_add(j, "to_sho", json_object_new_string(x->to_sho));
		json_object_object_add(j, "subscriber", json_object_new_string(x->subscriber));
		json_object_object_add(j, "issued", json_object_new_int64(x->issued));
		json_object_object_add(j, "expires", json_object_new_int64(x->expires));
		json_object_array_add(user, j);
	} else {
		printf("%s %s %-12s %.16s... %.16s... expires %" PRId64 "\n", x->id, x->iccid,
		       x->subscriber, x->device_id, x->to_sho, x->expires);
	}
	return 0;
}

int cmd_consent(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	int r;

	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: mcim-operator consent sign --key KEY --cert CERT --device ID\n"
		       "           --iccid ICCID --to-sho-root PEM [--days N] --out FILE\n"
		       "       mcim-operator consent add FILE\n"
		       "       mcim-operator consent list\n"
		       "sign: the subscriber's side, offline (local files only, no store): a consent\n"
		       "(docs/change-format.md 2) that lets the device's subscription ICCID go to\n"
		       "the SHO whose root certificate is PEM, signed with the subscriber's KEY and\n"
		       "CERT, a random 128-bit id, issued now, valid N days (default %d, at most\n"
		       "%d).  add: the current operator records a consent it was given, verified\n"
		       "against the registered key of the subscription's subscriber, for the device\n"
		       "the subscription is on and an SHO added with `sho add ... --root`.\n",
		       TOKEN_DAYS_DEFAULT, PACKAGE_TOKEN_LIFETIME_MAX / 86400);
		return EXIT_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "sign"))
		return consent_sign(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "add"))
		return consent_add(c, argv[2]);
	if (argc == 2 && !strcmp(argv[1], "list")) {
		struct json_object *a = c->json ? json_object_new_array() : NULL;

		r = cli_store(c, &s);
		if (r == 0 && store_consent_list(s, print_consent, a) < 0)
			r = cli_error(EXIT_FAILED, "consent list: %s", store_errmsg(s));
		if (r) {
			json_object_put(a);
			return r;
		}
		if (a)
			cli_print_json(a);
		return EXIT_OK;
	}
	return cli_error(EXIT_USAGE, "usage: consent sign|add|list (see consent --help)");
}

/* ---- release issue ---- */

int cmd_release(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iccid", required_argument, NULL, 'i' },
		{ "to-sho-root", required_argument, NULL, 'r' },
		{ "days", required_argument, NULL, 'D' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	_cleanup_(pki_signer_freep) struct pki_signer *signer = NULL;
	const char *iccid = NULL, *root = NULL, *out = NULL;
	struct package_token t = { .type = PACKAGE_TYPE_RELEASE };
	struct op_token_rec rec = { 0 };
	struct op_subscription sub;
	unsigned days = TOKEN_DAYS_DEFAULT;
	char why[512], cert[OP_PATH_MAX + 32], key[OP_PATH_MAX + 32];
	time_t now = time(NULL);
	int o, r;

	if (argc < 2 || strcmp(argv[1], "issue")) {
		if (argc == 2 && !strcmp(argv[1], "--help"))
			goto help;
		return cli_error(EXIT_USAGE, "usage: release issue --iccid ICCID --to-sho-root PEM "
					     "[--days N] --out FILE");
	}
	argc--;
	argv++;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'i': iccid = optarg; break;
		case 'r': root = optarg; break;
		case 'o': out = optarg; break;
		case 'D':
			if (parse_days(optarg, &days))
				return EXIT_USAGE;
			break;
		case 'h':
			goto help;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !iccid || !root || !out)
		return cli_error(EXIT_USAGE, "usage: release issue --iccid ICCID --to-sho-root PEM "
					     "[--days N] --out FILE");
	if (!digits_ok(iccid, 18, OP_ICCID_MAX))
		return cli_error(EXIT_USAGE, "--iccid \"%s\": 18 to 20 digits", iccid);
	if (change_cert_load(root, false, NULL, t.to_sho, why, sizeof(why)) < 0)
		return cli_error(EXIT_FAILED, "%s", why);
	snprintf(cert, sizeof(cert), "%s/%s", c->cfg.pki_dir, PKI_DPF_CERT);
	snprintf(key, sizeof(key), "%s/%s", c->cfg.pki_dir, PKI_DPF_KEY);
	if (pki_signer_load(cert, key, &signer, why, sizeof(why)) < 0)
		return cli_error(EXIT_SETUP, "the DPF key: %s", why);
	r = cli_store(c, &s);
	if (r)
		return r;
	r = store_subscription_get(s, iccid, &sub);
	if (r == -ENOENT)
		return refused(s, "", "release", "no subscription %s here", iccid);
	if (r < 0)
		return cli_error(EXIT_FAILED, "release issue: %s", store_errmsg(s));
	snprintf(t.device, sizeof(t.device), "%s", sub.device_id);
	op_subscription_clear(&sub);
	snprintf(t.iccid, sizeof(t.iccid), "%s", iccid);
	t.issued = now;
	t.expires = now + (int64_t)days * 86400;
	if (random_id(t.id) < 0)
		return cli_error(EXIT_FAILED, "no random numbers");
	/* The rules in one transaction (store.h), then the signed file. */
	snprintf(rec.id, sizeof(rec.id), "%s", t.id);
	snprintf(rec.iccid, sizeof(rec.iccid), "%s", iccid);
	snprintf(rec.to_sho, sizeof(rec.to_sho), "%s", t.to_sho);
	rec.issued = t.issued;
	rec.expires = t.expires;
	r = store_release_issue(s, &rec, now);
	if (r == -ENOENT || r == -EPERM)
		return refused(s, t.device, "release", "%s", store_errmsg(s));
	if (r < 0)
		return cli_error(EXIT_FAILED, "release issue: %s", store_errmsg(s));
	if (strcmp(rec.device_id, t.device))
		return cli_error(EXIT_FAILED, "release issue: the subscription moved meanwhile");
	r = token_write(&t, signer->key, signer->cert, out);
	if (r)
		return r;
	printf("release %s (consent %s) for ICCID %s to SHO %s, expires %" PRId64
	       ", written to %s; the subscription is releasing\n",
	       t.id, rec.subscriber, iccid, t.to_sho, t.expires, out);
	return EXIT_OK;
help:
	printf("Usage: mcim-operator release issue --iccid ICCID --to-sho-root PEM [--days N]\n"
	       "           --out FILE\n"
	       "The current SHO lets a subscription go to the SHO whose root certificate is PEM\n"
	       "(docs/change-format.md 2): a release signed with this operator's DPF key\n"
	       "([pki] dir dpf.pem), for the device the subscription is on, valid N days\n"
	       "(default %d, at most %d).  Refused (exit 1, audited) without a recorded,\n"
	       "unexpired consent (consent add) for that device, subscription and SHO, or\n"
	       "when the subscription is not active; the subscription becomes `releasing`.\n",
	       TOKEN_DAYS_DEFAULT, PACKAGE_TOKEN_LIFETIME_MAX / 86400);
	return EXIT_OK;
}

/* ---- device switch (the DRF) ---- */

int cmd_device_switch(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "consent", required_argument, NULL, 'c' },
		{ "release", required_argument, NULL, 'r' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	_cleanup_free_ uint8_t *cder = NULL, *rder = NULL;
	const char *to = NULL, *cpath = NULL, *rpath = NULL, *device;
	struct op_switch_order order = { 0 };
	struct package_token t;
	STACK_OF(X509) *roots = NULL;
	struct op_sho sho;
	char why[512];
	time_t now = time(NULL);
	size_t clen = 0, rlen = 0;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't': to = optarg; break;
		case 'c': cpath = optarg; break;
		case 'r': rpath = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !to || !cpath)
		return cli_error(EXIT_USAGE, "usage: device switch DEVICE_ID --to SHO --consent FILE "
					     "[--release FILE]");
	device = argv[optind];
	if (!device_ok(device))
		return cli_error(EXIT_USAGE, "a device id is 64 lowercase hex digits");
	r = read_token(cpath, &cder, &clen);
	if (r == 0 && rpath)
		r = read_token(rpath, &rder, &rlen);
	if (r)
		return r;
	r = cli_store(c, &s);
	if (r)
		return r;
	if (store_sho_get(s, to, &sho) < 0)
		return cli_error(EXIT_FAILED, "no SHO %s (add it with `sho add`)", to);
	/* What the device will check anyway, checked here so that an order is not a dead end. */
	r = package_token_open(PACKAGE_TYPE_CONSENT, cder, clen, NULL, now, &t, NULL, why,
			       sizeof(why));
	if (r == 0)
		r = package_token_check(&t, device, NULL, sho.root_id[0] ? sho.root_id : NULL, now,
					why, sizeof(why));
	if (r < 0)
		return refused(s, device, "switch", "the consent: %s", why);
	if (rder) {
		r = all_roots(c, s, &roots);
		if (r)
			return r;
		r = package_token_open(PACKAGE_TYPE_RELEASE, rder, rlen, roots, now, &t, NULL, why,
				       sizeof(why));
		sk_X509_pop_free(roots, X509_free);
		if (r == 0)
			r = package_token_check(&t, device, NULL, sho.root_id[0] ? sho.root_id : NULL,
						now, why, sizeof(why));
		if (r < 0)
			return refused(s, device, "switch", "the release: %s", why);
	}
	snprintf(order.device_id, sizeof(order.device_id), "%s", device);
	snprintf(order.sho, sizeof(order.sho), "%s", to);
	order.consent = b64_encode(cder, clen);
	order.release = rder ? b64_encode(rder, rlen) : NULL;
	if (!order.consent || (rder && !order.release))
		r = cli_error(EXIT_FAILED, "out of memory");
	else if (store_switch_order_put(s, &order, now) < 0)
		r = cli_error(EXIT_FAILED, "device switch: %s", store_errmsg(s));
	else
		printf("switch order for device %.16s...: to %s, %s release\n", device, to,
		       rder ? "with a" : "without");
	op_switch_order_clear(&order);
	return r;
}
