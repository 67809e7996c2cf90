// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `mcim-operator subscription create|list|show` and `export`: the SHO's
 * subscriptions (docs/operator.md "Subscriptions") and their export for the
 * HLR/HSS (docs/package-format.md section 6).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <openssl/crypto.h>

#include "fileio.h"
#include "hex.h"
#include "json-util.h"
#include "tools/mcim-operator/kek.h"
#include "tools/mcim-operator/mcim-operator.h"
#include "tools/mcim-operator/subscription.h"

#define SUB_COUNT_MAX 100000

static int load_kek(struct cli *c, uint8_t kek[KEK_SIZE])
{
	char path[OP_PATH_MAX + 32], why[512];

	op_config_kek_path(&c->cfg, path, sizeof(path));
	if (kek_load(path, kek, why, sizeof(why)) < 0)
		return cli_error(EXIT_SETUP, "key-encryption key ([sho] kek): %s", why);
	return 0;
}

/* Decrypts x's secrets (the caller wipes *ret). */
static int open_secrets(const uint8_t kek[KEK_SIZE], const struct op_subscription *x,
			struct sub_secrets *ret)
{
	uint8_t plain[SUB_SECRETS_SIZE];
	int r;

	r = kek_open(kek, x->iccid, x->secrets, plain, sizeof(plain));
	if (r == 0)
		r = sub_secrets_parse(plain, ret);
	OPENSSL_cleanse(plain, sizeof(plain));
	if (r < 0)
		return cli_error(EXIT_FAILED,
				 "subscription %s: its secrets do not decrypt with this key-encryption "
				 "key (another KEK, or the stored value was changed)",
				 x->iccid);
	return 0;
}

static void hex_json(struct json_object *o, const char *key, const uint8_t *b, size_t n)
{
	char h[65];

	hex_encode(b, n, h);
	json_object_object_add(o, key, json_object_new_string(h));
	OPENSSL_cleanse(h, sizeof(h));
}

static struct json_object *sub_json(const struct op_subscription *x, const struct sub_secrets *sec)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "iccid", json_object_new_string(x->iccid));
	json_object_object_add(j, "imsi", json_object_new_string(x->imsi));
	json_object_object_add(j, "msisdn", json_object_new_string(x->msisdn));
	json_object_object_add(j, "sho", json_object_new_string(x->sho));
	json_object_object_add(j, "subscriber", json_object_new_string(x->subscriber));
	json_object_object_add(j, "device_id", json_object_new_string(x->device_id));
	json_object_object_add(j, "algorithm", json_object_new_string(x->algorithm));
	json_object_object_add(j, "state", json_object_new_string(x->state));
	json_object_object_add(j, "created", json_object_new_int64(x->created));
	json_object_object_add(j, "updated", json_object_new_int64(x->updated));
	if (sec) {
		struct json_object *p = json_object_new_object();
		char t[SUB_PIN_FIELD + 1];
		const struct {
			const char *name;
			const uint8_t *f;
		} pins[] = { { "pin1", sec->pin1 }, { "puk1", sec->puk1 }, { "pin2", sec->pin2 },
			     { "puk2", sec->puk2 }, { "adm1", sec->adm1 } };

		hex_json(j, "k", sec->k, sec->k_len);
		hex_json(j, !strcmp(x->algorithm, "tuak") ? "topc" : "opc", sec->opc, sec->opc_len);
		for (size_t i = 0; i < ARRAY_SIZE(pins); i++) {
			sub_pin_text(pins[i].f, t);
			json_object_object_add(p, pins[i].name, json_object_new_string(t));
		}
		OPENSSL_cleanse(t, sizeof(t));
		json_object_object_add(j, "pins", p);
	}
	return j;
}

static bool name_ok(const char *s)
{
	return *s && strlen(s) <= OP_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
		       strlen(s);
}

static int create(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sho", required_argument, NULL, 's' },
		{ "template", required_argument, NULL, 't' },
		{ "device", required_argument, NULL, 'd' },
		{ "subscriber", required_argument, NULL, 'u' },
		{ "algorithm", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' },
		{ "msisdn", required_argument, NULL, 'm' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	_cleanup_free_ char *tmpl = NULL;
	const char *sho = NULL, *tpath = NULL, *device = NULL, *subscriber = NULL, *msisdn = NULL;
	enum sub_algorithm algo = SUB_MILENAGE;
	bool algo_given = false;
	struct json_object *out = c->json ? json_object_new_array() : NULL;
	unsigned long count = 1;
	uint8_t kek[KEK_SIZE];
	struct op_device dev;
	struct op_sho so;
	char why[512], *end;
	size_t tlen;
	int o, r, ret = EXIT_FAILED;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': sho = optarg; break;
		case 't': tpath = optarg; break;
		case 'd': device = optarg; break;
		case 'u': subscriber = optarg; break;
		case 'm': msisdn = optarg; break;
		case 'a':
			if (sub_algorithm_from_name(optarg, &algo) < 0)
				return cli_error(EXIT_USAGE, "--algorithm: milenage or tuak");
			algo_given = true;
			break;
		case 'n':
			count = strtoul(optarg, &end, 10);
			if (*end || !*optarg || *optarg == '-' || count < 1 || count > SUB_COUNT_MAX)
				return cli_error(EXIT_USAGE, "--count: 1 to %d", SUB_COUNT_MAX);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !sho || !tpath)
		return cli_error(EXIT_USAGE, "usage: subscription create --sho ID --template FILE "
					     "[--device ID | --subscriber NAME] [--algorithm milenage|tuak] "
					     "[--count N] [--msisdn DIGITS]");
	if (!device == !subscriber)
		return cli_error(EXIT_USAGE, "give one of --device and --subscriber");
	if (subscriber && !name_ok(subscriber))
		return cli_error(EXIT_USAGE, "--subscriber: 1-%d characters of [A-Za-z0-9._-]",
				 OP_ID_MAX);
	if (device && count != 1)
		return cli_error(EXIT_USAGE, "--device takes one subscription (--count 1)");
	if (msisdn && (count != 1 || !*msisdn || strlen(msisdn) > SUB_MSISDN_MAX ||
		       strspn(msisdn, "0123456789") != strlen(msisdn)))
		return cli_error(EXIT_USAGE, "--msisdn: 1-%d digits, with --count 1", SUB_MSISDN_MAX);
	if (!c->cfg.imsi_first[0] || !c->cfg.iccid_prefix[0])
		return cli_error(EXIT_SETUP, "configure [sho] imsi_first, imsi_last and iccid_prefix "
					     "first (mcim-operator(8))");
	r = read_file_max(tpath, SUB_TEMPLATE_MAX, &tmpl, &tlen);
	if (r < 0)
		return cli_error(EXIT_FAILED, "%s: %s%s", tpath, strerror(-r),
				 r == -EFBIG ? " (a template is at most 192 KiB)" : "");
	r = load_kek(c, kek);
	if (r)
		return r;
	r = cli_store(c, &s);
	if (r) {
		ret = r;
		goto out;
	}
	if (store_sho_get(s, sho, &so) < 0) {
		cli_error(EXIT_FAILED, "no SHO %s (add it with `sho add`)", sho);
		goto out;
	}
	if (device) {
		if (store_device_get(s, device, &dev) < 0) {
			cli_error(EXIT_FAILED, "no device %s", device);
			goto out;
		}
		if (strcmp(dev.sho, sho)) {
			cli_error(EXIT_FAILED, "device %s is assigned to SHO \"%s\", not %s", device,
				  dev.sho, sho);
			goto out;
		}
		subscriber = dev.subscriber;
	}

	for (unsigned long i = 0; i < count; i++) {
		struct op_subscription x = { 0 };
		struct sub_secrets sec;
		uint8_t plain[SUB_SECRETS_SIZE];
		char last[OP_IMSI_MAX + 1];
		uint64_t index;
		unsigned tries = 0;

		mlock(&sec, sizeof(sec));
		mlock(plain, sizeof(plain));
again:
		r = store_subscription_last_imsi(s, c->cfg.imsi_first, c->cfg.imsi_last, last);
		if (r == 0)
			r = sub_imsi_next(c->cfg.imsi_first, c->cfg.imsi_last, last, x.imsi, &index);
		if (r == -ENOSPC) {
			cli_error(EXIT_FAILED, "the IMSI range %s-%s is exhausted (%lu of %lu made)",
				  c->cfg.imsi_first, c->cfg.imsi_last, i, count);
			goto out;
		}
		if (r == 0 && sub_iccid_make(c->cfg.iccid_prefix, index, x.iccid) < 0) {
			cli_error(EXIT_FAILED, "the ICCID serial %" PRIu64 " does not fit after the prefix %s",
				  index, c->cfg.iccid_prefix);
			goto out;
		}
		if (r < 0) {
			cli_error(EXIT_FAILED, "subscription create: %s", store_errmsg(s));
			goto out;
		}
		r = sub_template_fill(tmpl, tlen, &algo, algo_given, x.iccid, x.imsi, &x.profile,
				      x.pin_refs, why, sizeof(why));
		if (r < 0) {
			cli_error(EXIT_FAILED, "%s: %s", tpath, why);
			goto out;
		}
		r = sub_secrets_new(algo, &sec);
		if (r == 0) {
			sub_secrets_serialize(&sec, plain);
			r = kek_seal(kek, x.iccid, plain, sizeof(plain), &x.secrets);
		}
		OPENSSL_cleanse(&sec, sizeof(sec));
		OPENSSL_cleanse(plain, sizeof(plain));
		munlock(&sec, sizeof(sec));
		munlock(plain, sizeof(plain));
		if (r < 0) {
			op_subscription_clear(&x);
			cli_error(EXIT_FAILED, "making the secrets: %s", strerror(-r));
			goto out;
		}
		snprintf(x.msisdn, sizeof(x.msisdn), "%s", msisdn ? msisdn : "");
		snprintf(x.sho, sizeof(x.sho), "%s", sho);
		snprintf(x.subscriber, sizeof(x.subscriber), "%s", subscriber);
		snprintf(x.device_id, sizeof(x.device_id), "%s", device ? device : "");
		snprintf(x.algorithm, sizeof(x.algorithm), "%s", sub_algorithm_name(algo));
		snprintf(x.state, sizeof(x.state), "created");
		x.created = time(NULL);
		r = store_subscription_add(s, &x);
		if (r == -EEXIST && ++tries < 8) {
			/* another creator took this IMSI or ICCID meanwhile */
			op_subscription_clear(&x);
			goto again;
		}
		if (r < 0) {
			op_subscription_clear(&x);
			cli_error(EXIT_FAILED, "subscription create: %s", store_errmsg(s));
			goto out;
		}
		if (out)
			json_object_array_add(out, sub_json(&x, NULL));
		else
			printf("%s %s\n", x.iccid, x.imsi);
		op_subscription_clear(&x);
	}
	ret = EXIT_OK;
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	if (out && ret == EXIT_OK)
		cli_print_json(out);
	else
		json_object_put(out);
	return ret;
}

static int print_sub(const struct op_subscription *x, void *user)
{
	struct json_object *a = user;

	if (a)
		json_object_array_add(a, sub_json(x, NULL));
	else
		printf("%s %s %-9s %-8s %-16s %-12s %s\n", x->iccid, x->imsi, x->algorithm, x->state,
		       x->sho, x->subscriber, x->device_id[0] ? x->device_id : "-");
	return 0;
}

static int list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sho", required_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'd' },
		{ "subscriber", required_argument, NULL, 'u' },
		{ "state", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'l' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	struct store_subscription_filter f = { 0 };
	struct json_object *a;
	char *end;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': f.sho = optarg; break;
		case 'd': f.device = optarg; break;
		case 'u': f.subscriber = optarg; break;
		case 'S': f.state = optarg; break;
		case 'l':
			f.limit = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || *optarg == '-')
				return cli_error(EXIT_USAGE, "--limit: a number");
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_error(EXIT_USAGE, "usage: subscription list [--sho ID] [--device ID] "
					     "[--subscriber NAME] [--state S] [--limit N]");
	r = cli_store(c, &s);
	if (r)
		return r;
	a = c->json ? json_object_new_array() : NULL;
	if (store_subscription_list(s, &f, print_sub, a) < 0) {
		json_object_put(a);
		return cli_error(EXIT_FAILED, "subscription list: %s", store_errmsg(s));
	}
	if (a)
		cli_print_json(a);
	return EXIT_OK;
}

static int show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "show-secrets", no_argument, NULL, 'S' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	struct op_subscription x;
	struct sub_secrets sec;
	bool secrets = false;
	uint8_t kek[KEK_SIZE];
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'S')
			return EXIT_USAGE;
		secrets = true;
	}
	if (optind + 1 != argc)
		return cli_error(EXIT_USAGE, "usage: subscription show ICCID|IMSI [--show-secrets]");
	r = cli_store(c, &s);
	if (r)
		return r;
	r = store_subscription_get(s, argv[optind], &x);
	if (r == -ENOENT)
		return cli_error(EXIT_FAILED, "no subscription with ICCID or IMSI %s", argv[optind]);
	if (r < 0)
		return cli_error(EXIT_FAILED, "subscription show: %s", store_errmsg(s));
	if (secrets) {
		r = load_kek(c, kek);
		if (r == 0)
			r = open_secrets(kek, &x, &sec);
		OPENSSL_cleanse(kek, sizeof(kek));
		if (r) {
			op_subscription_clear(&x);
			return r;
		}
	}
	{
		struct json_object *j = sub_json(&x, secrets ? &sec : NULL);
		_cleanup_json_ struct json_object *p = NULL;
		char why[64];

		if (ju_parse(x.profile, strlen(x.profile), 16, &p, why, sizeof(why)) == 0)
			json_object_object_add(j, "profile", json_object_get(p));
		cli_print_json(j);
	}
	OPENSSL_cleanse(&sec, sizeof(sec));
	op_subscription_clear(&x);
	return EXIT_OK;
}

/*
 * The whole profile description with its secrets (docs/profile-format.md:
 * auth.k and auth.opc or auth.topc, each PIN's value and PUK): the file a
 * production line gives `mcimctl factory-install` for a bootstrap
 * subscription (docs/package-format.md 5).  Operational subscriptions
 * travel only as packages; this is the bootstrap's one path, and the second
 * place besides export --with-secrets where K leaves the store.
 */
static int factory_profile(const struct op_subscription *x, const struct sub_secrets *sec,
			   struct json_object **ret)
{
	_cleanup_json_ struct json_object *p = NULL;
	struct json_object *auth, *pins;
	char why[128], t[SUB_PIN_FIELD + 1];

	if (ju_parse(x->profile, strlen(x->profile), 16, &p, why, sizeof(why)) < 0 ||
	    !json_object_object_get_ex(p, "auth", &auth) ||
	    !json_object_is_type(auth, json_type_object))
		return -EBADMSG;
	hex_json(auth, "k", sec->k, sec->k_len);
	hex_json(auth, !strcmp(x->algorithm, "tuak") ? "topc" : "opc", sec->opc, sec->opc_len);
	if (json_object_object_get_ex(p, "pins", &pins) &&
	    json_object_is_type(pins, json_type_array))
		for (size_t i = 0; i < json_object_array_length(pins); i++) {
			struct json_object *pin = json_object_array_get_idx(pins, i), *ref;
			const uint8_t *value, *puk;
			uint8_t r;

			if (!json_object_object_get_ex(pin, "ref", &ref) ||
			    sub_pin_ref(json_object_get_string(ref), &r) < 0 ||
			    sub_pin_values(sec, r, &value, &puk) < 0)
				return -EBADMSG;
			sub_pin_text(value, t);
			json_object_object_add(pin, "value", json_object_new_string(t));
			if (puk) {
				sub_pin_text(puk, t);
				json_object_object_add(pin, "puk", json_object_new_string(t));
			}
		}
	OPENSSL_cleanse(t, sizeof(t));
	*ret = TAKE_PTR(p);
	return 0;
}

static int factory(struct cli *c, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	struct json_object *p = NULL;
	struct op_subscription x;
	struct sub_secrets sec;
	uint8_t kek[KEK_SIZE];
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return cli_error(EXIT_USAGE, "usage: subscription factory ICCID|IMSI");
	r = cli_store(c, &s);
	if (r)
		return r;
	r = store_subscription_get(s, argv[1], &x);
	if (r == -ENOENT)
		return cli_error(EXIT_FAILED, "no subscription with ICCID or IMSI %s", argv[1]);
	if (r < 0)
		return cli_error(EXIT_FAILED, "subscription factory: %s", store_errmsg(s));
	r = load_kek(c, kek);
	if (r == 0)
		r = open_secrets(kek, &x, &sec);
	OPENSSL_cleanse(kek, sizeof(kek));
	if (r == 0 && factory_profile(&x, &sec, &p) < 0)
		r = cli_error(EXIT_FAILED, "subscription %s: its stored profile is not a profile "
					   "description with PIN1, PIN2 and ADM1", x.iccid);
	OPENSSL_cleanse(&sec, sizeof(sec));
	op_subscription_clear(&x);
	if (r)
		return r;
	puts(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(p);
	return EXIT_OK;
}

int cmd_subscription(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: mcim-operator subscription create --sho ID --template FILE\n"
		       "           (--device ID | --subscriber NAME) [--algorithm milenage|tuak]\n"
		       "           [--count N] [--msisdn DIGITS]\n"
		       "       mcim-operator subscription list [--sho ID] [--device ID]\n"
		       "           [--subscriber NAME] [--state S] [--limit N]\n"
		       "       mcim-operator subscription show ICCID|IMSI [--show-secrets]\n"
		       "       mcim-operator subscription factory ICCID|IMSI\n"
		       "       mcim-operator subscription lock ICCID --until TIME|0\n"
		       "create: IMSIs from [sho] imsi_first..imsi_last, ICCIDs from [sho]\n"
		       "iccid_prefix with the Luhn digit, K and OPc (TOPc) and PIN, PUK and ADM1\n"
		       "values random, sealed with the key-encryption key ([sho] kek).  The\n"
		       "template is a profile description (docs/profile-format.md) without\n"
		       "secrets; its EF.ICCID and EF.IMSI are filled in.  K, OPc and the PINs are\n"
		       "printed only with show --show-secrets (and by export --with-secrets).\n"
		       "factory: the profile description with its secrets, for `mcimctl\n"
		       "factory-install` of a bootstrap (provisioning) subscription.\n"
		       "lock: the contract lock's end (Unix time, YYYY-MM-DD or\n"
		       "YYYY-MM-DDTHH:MM:SSZ, UTC; 0 none), member `lock` of the version 2 packages\n"
		       "that install it (docs/change-format.md 3).  States: created, packaged,\n"
		       "active, releasing, ended, failed (docs/operator.md).\n");
		return EXIT_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "create"))
		return create(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return list(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return show(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "factory"))
		return factory(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "lock"))
		return cmd_subscription_lock(c, argc - 1, argv + 1);
	return cli_error(EXIT_USAGE, "usage: subscription create|list|show|factory|lock (see subscription --help)");
}

/* ---- export (docs/package-format.md section 6) ---- */

struct exporter {
	FILE *f;
	bool osmo, secrets;
	bool ended; /* --state ended asked: otherwise ended subscriptions are left out */
	const uint8_t *kek;
	int err;
	unsigned long n;
};

static int export_one(const struct op_subscription *x, void *user)
{
	struct exporter *e = user;
	struct sub_secrets sec;
	char k[65] = "", opc[65] = "";
	int ind = sub_template_ind_bits(x->profile);

	/* docs/change-format.md 4: a subscription that went to another SHO leaves the HLR. */
	if (!e->ended && !strcmp(x->state, "ended"))
		return 0;
	if (e->secrets) {
		int r = open_secrets(e->kek, x, &sec);

		if (r) {
			e->err = r;
			return -EBADMSG;
		}
		hex_encode(sec.k, sec.k_len, k);
		hex_encode(sec.opc, sec.opc_len, opc);
		OPENSSL_cleanse(&sec, sizeof(sec));
	}
	if (!e->osmo) {
		fprintf(e->f, "%s,%s,%s,%s,%s,%s,8000,0,%d,%s\n", x->imsi, x->iccid, x->msisdn,
			x->algorithm, k, opc, ind, x->state);
	} else {
		/* osmo-hlr's VTY (osmo-hlr user manual, "subscriber" commands) */
		fprintf(e->f, "subscriber imsi %s create\n", x->imsi);
		if (x->msisdn[0])
			fprintf(e->f, "subscriber imsi %s update msisdn %s\n", x->imsi, x->msisdn);
		if (e->secrets)
			fprintf(e->f, "subscriber imsi %s update aud3g %s k %s %s %s ind-bitlen %d\n",
				x->imsi, x->algorithm, k, !strcmp(x->algorithm, "tuak") ? "topc" : "opc",
				opc, ind);
	}
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(opc, sizeof(opc));
	e->n++;
	return ferror(e->f) ? -EIO : 0;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sho", required_argument, NULL, 's' },
		{ "state", required_argument, NULL, 'S' },
		{ "device", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "with-secrets", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(store_closep) struct store *s = NULL;
	struct store_subscription_filter f = { 0 };
	struct exporter e = { .f = stdout };
	uint8_t kek[KEK_SIZE];
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': f.sho = optarg; break;
		case 'S': f.state = optarg; break;
		case 'd': f.device = optarg; break;
		case 'w': e.secrets = true; break;
		case 'f':
			if (!strcmp(optarg, "osmo-hlr"))
				e.osmo = true;
			else if (strcmp(optarg, "csv"))
				return cli_error(EXIT_USAGE, "--format: csv or osmo-hlr");
			break;
		case 'h':
			printf("Usage: mcim-operator export [--sho ID] [--state S] [--device ID]\n"
			       "           [--format csv|osmo-hlr] [--with-secrets]\n"
			       "The subscriptions for the HLR/HSS (docs/package-format.md section 6): a\n"
			       "CSV imsi,iccid,msisdn,algorithm,k,opc,amf,sqn,ind_bitlen,state or\n"
			       "osmo-hlr VTY commands, on standard output.  K and OPc (TOPc) only with\n"
			       "--with-secrets (the one place the operator prints K).  Ended\n"
			       "subscriptions (gone to another SHO) are left out unless --state ended.\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_error(EXIT_USAGE, "usage: export [OPTIONS] (see export --help)");
	e.ended = f.state && !strcmp(f.state, "ended");
	if (e.secrets) {
		r = load_kek(c, kek);
		if (r)
			return r;
		e.kek = kek;
	}
	r = cli_store(c, &s);
	if (r == 0) {
		if (!e.osmo)
			printf("imsi,iccid,msisdn,algorithm,k,opc,amf,sqn,ind_bitlen,state\n");
		r = store_subscription_list(s, &f, export_one, &e);
		if (r < 0)
			r = e.err ? e.err : cli_error(EXIT_FAILED, "export: %s", store_errmsg(s));
		if (r == 0 && fflush(stdout) != 0)
			r = cli_error(EXIT_FAILED, "export: writing: %s", strerror(errno));
		if (r == 0)
			fprintf(stderr, "%lu subscription%s exported%s\n", e.n, e.n == 1 ? "" : "s",
				e.secrets ? " with their secrets" : "");
	}
	OPENSSL_cleanse(kek, sizeof(kek));
	return r;
}
