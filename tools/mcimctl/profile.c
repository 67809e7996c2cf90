// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimctl profile list | show ICCID | install FILE [...] | enable ICCID |
 * disable ICCID | delete ICCID | update-files ICCID FILE: methods
 * "profile.*"; mcimctl
 * factory-install --expires TIME FILE: profile.install of a provisioning
 * profile (docs/package-format.md 5).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/mcimd/control.h"
#include "fileio.h"
#include "json-util.h"
#include "macro.h"
#include "tools/mcimctl/mcimctl.h"

/* The profile text travels inside a request of at most
 * CONTROL_REQUEST_MAX bytes, with JSON escaping on top. */
#define PROFILE_FILE_MAX (96u << 10)

/* After an enable: EXIT_NOCARD, with the reason, when mcimd says the
 * profile's card is not served ("card": false). */
static int card_state(const struct ctl *c, struct json_object *res, const char *iccid)
{
	struct json_object *x;

	if (!json_object_object_get_ex(res, "card", &x) || json_object_get_boolean(x))
		return EXIT_OK;
	fflush(stdout); /* the result first, then why */
	fprintf(stderr, "%s: profile %s is enabled, but its card is not served: %s\n", c->prog,
		iccid, json_str(res, "card_error"));
	return EXIT_NOCARD;
}

static int simple(const struct ctl *c, int argc, char **argv, const char *method,
		  const char *usage, const char *done)
{
	struct json_object *res = NULL, *params, *how;
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 1, 1, usage) < 0)
		return EXIT_USAGE;
	params = json_object_new_object();
	json_object_object_add(params, "iccid", json_object_new_string(argv[optind]));
	r = ctl_call(c, method, params, &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else if (done && json_object_object_get_ex(res, "revoked", &how))
		printf("%s %s (revoked: %s)\n", done, argv[optind], json_object_get_string(how));
	else if (done)
		printf("%s %s\n", done, argv[optind]);
	else
		print_result(c, res);
	r = card_state(c, res, argv[optind]);
	json_object_put(res);
	return r;
}

static int p_list(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] = "profile list";
	static const char *const cols[] = { "iccid", "state", "class", "imsi", "nickname",
					    "operator", "sho_short", "subscriber", "lock_until",
					    "replaces" };
	static const char *const heads[] = { "ICCID", "STATE", "CLASS", "IMSI", "NICKNAME",
					     "OPERATOR", "SHO", "SUBSCRIBER", "LOCK", "REPLACES" };
	struct json_object *res = NULL, *list;
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 0, 0, usage) < 0)
		return EXIT_USAGE;
	r = ctl_call(c, "profile.list", NULL, &res);
	if (r)
		return r;
	if (c->json || !json_object_object_get_ex(res, "profiles", &list) ||
	    !json_object_is_type(list, json_type_array))
		print_result(c, res);
	else if (json_object_array_length(list) == 0)
		printf("no profiles installed\n");
	else {
		/* The columns of docs/change-format.md 1 when a package recorded
		 * them; the installing operator's sho_id shortened. */
		size_t n = 6;

		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *e = json_object_array_get_idx(list, i), *x;
			char sho[13];

			if (json_object_object_get_ex(e, "sho", &x)) {
				snprintf(sho, sizeof(sho), "%s", json_object_get_string(x));
				json_object_object_add(e, "sho_short", json_object_new_string(sho));
				n = ARRAY_SIZE(cols);
			}
		}
		print_table(list, cols, heads, n);
	}
	json_object_put(res);
	return EXIT_OK;
}

static int p_show(const struct ctl *c, int argc, char **argv)
{
	return simple(c, argc, argv, "profile.show", "profile show ICCID", NULL);
}

static int p_enable(const struct ctl *c, int argc, char **argv)
{
	return simple(c, argc, argv, "profile.enable", "profile enable ICCID", "enabled");
}

static int p_disable(const struct ctl *c, int argc, char **argv)
{
	return simple(c, argc, argv, "profile.disable", "profile disable ICCID", "disabled");
}

static int p_delete(const struct ctl *c, int argc, char **argv)
{
	return simple(c, argc, argv, "profile.delete", "profile delete ICCID", "deleted");
}

static int read_file(const struct ctl *c, const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file_max(path, PROFILE_FILE_MAX, &buf, &len);
	if (r == -EINVAL || r == -EFBIG) {
		fprintf(stderr, "%s: %s: not a regular file of at most %u bytes\n", c->prog,
			path, PROFILE_FILE_MAX);
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, path,
			r == -EIO ? "file shrank while reading" : strerror(-r));
		return EXIT_USAGE;
	}
	if (strlen(buf) != len) {
		fprintf(stderr, "%s: %s: not a text file\n", c->prog, path);
		return EXIT_USAGE;
	}
	*ret = TAKE_PTR(buf);
	return EXIT_OK;
}

/*
 * --expires TIME: Unix seconds, an RFC 3339 UTC time (2027-01-31T00:00:00Z)
 * or +N followed by s, m, h or d from now.
 */
static int parse_time(const char *t, int64_t *ret)
{
	struct tm tm = { 0 };
	char *end = NULL;
	long long v;

	if (t[0] == '+') {
		static const struct { char c; long long mul; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		};

		errno = 0;
		v = strtoll(t + 1, &end, 10);
		if (errno || end == t + 1 || v <= 0 || v > 100LL * 365 * 86400 || !*end ||
		    end[1])
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (*end == units[i].c) {
				*ret = (int64_t)time(NULL) + v * units[i].mul;
				return 0;
			}
		return -EINVAL;
	}
	end = strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end && !*end) {
		time_t u = timegm(&tm);

		if (u <= 0)
			return -EINVAL;
		*ret = u;
		return 0;
	}
	errno = 0;
	v = strtoll(t, &end, 10);
	if (errno || end == t || *end || v <= 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * profile install --package FILE: the operator's package (DER) through
 * mcimd's verifier.  The base64 text travels inside one request of at most
 * CONTROL_REQUEST_MAX bytes, hence the limit (PACKAGE_MAX is larger).
 */
#define PACKAGE_FILE_MAX ((CONTROL_REQUEST_MAX - 1024) / 4 * 3)

int install_package(const struct ctl *c, const char *path, bool enable)
{
	_cleanup_free_ char *der = NULL, *b64 = NULL;
	struct json_object *res = NULL, *err = NULL, *params;
	size_t len = 0;
	int r;

	r = read_file_max(path, PACKAGE_FILE_MAX, &der, &len);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, path,
			r == -EFBIG || r == -EINVAL ? "not a regular file of at most 95 KiB"
						    : strerror(-r));
		return EXIT_USAGE;
	}
	b64 = b64_encode((const uint8_t *)der, len);
	if (!b64)
		return EXIT_FAILED;
	params = json_object_new_object();
	json_object_object_add(params, "package", json_object_new_string(b64));
	json_object_object_add(params, "enable", json_object_new_boolean(enable));
	r = ctl_call_err(c, "profile.install_package", params, &res, &err, NULL, NULL);
	if (err) {
		const char *msg = json_str(err, "message");

		if (!strncmp(msg, "package refused", 15))
			r = EXIT_PKG_REFUSED;
		if (c->json)
			print_result(c, err);
		fprintf(stderr, "%s: %s\n", c->prog, msg);
		json_object_put(err);
		return r;
	}
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else
		printf("installed %s from the package (sequence %s)%s\n", json_str(res, "iccid"),
		       json_str(res, "sequence"),
		       !strcmp(json_str(res, "state"), "enabled") ? " (enabled)" : "");
	r = card_state(c, res, json_str(res, "iccid"));
	json_object_put(res);
	return r;
}

/* profile install, and factory-install (class provisioning, --expires). */
static int install(const struct ctl *c, int argc, char **argv, bool factory)
{
	static const char usage_install[] =
		"profile install [--class provisioning|operational] [--expires TIME]\n"
		"               [--nickname NAME] [--operator NAME] [--enable] FILE\n"
		"       mcimctl profile install --package [--enable] FILE";
	static const char usage_factory[] =
		"factory-install --expires TIME [--nickname NAME] [--operator NAME] FILE";
	static const struct option opts[] = {
		{ "class", required_argument, NULL, 'c' },
		{ "expires", required_argument, NULL, 'x' },
		{ "nickname", required_argument, NULL, 'n' },
		{ "operator", required_argument, NULL, 'o' },
		{ "enable", no_argument, NULL, 'e' },
		{ "package", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *usage = factory ? usage_factory : usage_install;
	const char *cls = factory ? "provisioning" : "operational", *nick = NULL, *op = NULL;
	struct json_object *res = NULL, *params;
	_cleanup_free_ char *text = NULL;
	int64_t expires = 0;
	bool enable = false, package = false;
	int o, r;

	optind = 0;
	while ((o = getopt_long(argc, argv, factory ? "+x:n:o:h" : "+c:x:n:o:eph", opts,
				NULL)) != -1) {
		switch (o) {
		case 'c':
			cls = optarg;
			if (strcmp(cls, "provisioning") && strcmp(cls, "operational")) {
				fprintf(stderr, "%s: --class is provisioning or operational\n",
					c->prog);
				return EXIT_USAGE;
			}
			break;
		case 'x':
			if (parse_time(optarg, &expires) < 0) {
				fprintf(stderr, "%s: --expires: '%s' is not a time (Unix seconds, "
					"YYYY-MM-DDTHH:MM:SSZ or +N[smhd])\n", c->prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			nick = optarg;
			break;
		case 'o':
			op = optarg;
			break;
		case 'e':
			enable = true;
			break;
		case 'p':
			package = true;
			break;
		case 'h':
			printf("Usage: mcimctl %s\n", usage);
			return EXIT_OK;
		default:
			fprintf(stderr, "Usage: mcimctl %s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (operands(argc, argv, 1, 1, usage) < 0)
		return EXIT_USAGE;
	if (package && (nick || op || expires || strcmp(cls, "operational"))) {
		fprintf(stderr, "%s: --package takes only --enable: the package says the rest\n",
			c->prog);
		return EXIT_USAGE;
	}
	if (package)
		return install_package(c, argv[optind], enable);
	if (factory && !expires) {
		fprintf(stderr, "%s: factory-install needs --expires TIME (the provisional "
			"identity is time-limited)\n", c->prog);
		return EXIT_USAGE;
	}
	r = read_file(c, argv[optind], &text);
	if (r)
		return r;
	params = json_object_new_object();
	json_object_object_add(params, "profile", json_object_new_string(text));
	json_object_object_add(params, "class", json_object_new_string(cls));
	if (expires)
		json_object_object_add(params, "expires", json_object_new_int64(expires));
	if (nick)
		json_object_object_add(params, "nickname", json_object_new_string(nick));
	if (op)
		json_object_object_add(params, "operator", json_object_new_string(op));
	json_object_object_add(params, "enable", json_object_new_boolean(enable));
	explicit_bzero(text, strlen(text)); /* K in clear */
	r = ctl_call(c, "profile.install", params, &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else
		printf("installed %s%s\n", json_str(res, "iccid"),
		       !strcmp(json_str(res, "state"), "enabled") ? " (enabled)" : "");
	r = card_state(c, res, json_str(res, "iccid"));
	json_object_put(res);
	return r;
}

static int p_install(const struct ctl *c, int argc, char **argv)
{
	return install(c, argc, argv, false);
}

int cmd_factory_install(const struct ctl *c, int argc, char **argv)
{
	return install(c, argc, argv, true);
}

/*
 * profile update-files ICCID FILE: FILE is {"files": [{"path": "3F007FFF6F60",
 * "data": HEX}, ...], "mode": "fcn"|"init-fcn"} (mode optional), sent as
 * the params of profile.update_files with the ICCID.
 */
static int p_update_files(const struct ctl *c, int argc, char **argv)
{
	static const char usage[] =
		"profile update-files ICCID FILE.json\n"
		"  FILE.json: {\"files\": [{\"path\": \"3F007FFF6F60\", \"data\": \"HEX\"}, ...],\n"
		"              \"mode\": \"fcn\" | \"init-fcn\"}   (mode optional, default fcn)\n"
		"  New contents for files of the profile (admin): one store transaction; the\n"
		"  modem is told by a REFRESH naming the files, or the card is reset.";
	static const char *const members[] = { "files", "mode", NULL };
	struct json_object *res = NULL, *x;
	_cleanup_json_ struct json_object *doc = NULL;
	_cleanup_free_ char *text = NULL;
	char why[256];
	int r = sub_options(argc, argv, usage);

	if (r >= 0)
		return r;
	if (operands(argc, argv, 2, 2, usage) < 0)
		return EXIT_USAGE;
	r = read_file(c, argv[optind + 1], &text);
	if (r)
		return r;
	if (ju_parse(text, strlen(text), 6, &doc, why, sizeof(why)) < 0 ||
	    !json_object_is_type(doc, json_type_object) ||
	    ju_only(doc, "the update", members, why, sizeof(why)) < 0 ||
	    !json_object_object_get_ex(doc, "files", &x)) {
		if (doc && !json_object_is_type(doc, json_type_object))
			snprintf(why, sizeof(why), "not a JSON object");
		else if (doc && !json_object_object_get_ex(doc, "files", &x))
			snprintf(why, sizeof(why), "no member \"files\"");
		fprintf(stderr, "%s: %s: %s\n", c->prog, argv[optind + 1], why);
		return EXIT_USAGE;
	}
	json_object_object_add(doc, "iccid", json_object_new_string(argv[optind]));
	r = ctl_call(c, "profile.update_files", json_object_get(doc), &res);
	if (r)
		return r;
	if (c->json)
		print_result(c, res);
	else
		printf("updated %zu file(s) of %s; the card: %s\n",
		       json_object_object_get_ex(res, "files", &x) ? json_object_array_length(x) : 0,
		       argv[optind], json_str(res, "card"));
	json_object_put(res);
	return EXIT_OK;
}

static const struct subcommand profile_cmds[] = {
	{ "list", p_list, "list installed profiles" },
	{ "show", p_show, "show one profile" },
	{ "install", p_install, "install a profile description file or a package (admin)" },
	{ "enable", p_enable, "enable a profile (the enabled one is disabled)" },
	{ "disable", p_disable, "disable the enabled profile" },
	{ "delete", p_delete, "delete a profile and its keys (admin)" },
	{ "update-files", p_update_files, "new contents for files of a profile (admin)" },
};

int cmd_profile(const struct ctl *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;

		fprintf(f, "Usage: mcimctl profile COMMAND [ARGS...]\n\nCommands:\n");
		for (size_t i = 0; i < ARRAY_SIZE(profile_cmds); i++)
			fprintf(f, "  %-12s %s\n", profile_cmds[i].name, profile_cmds[i].summary);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(profile_cmds); i++)
		if (!strcmp(argv[1], profile_cmds[i].name))
			return profile_cmds[i].run(c, argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown profile command '%s'\n", c->prog, argv[1]);
	return EXIT_USAGE;
}
