// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * usimsh: runs the USIM card engine on a JSON profile and answers command
 * APDUs given in hex, one per line, from stdin or a script; see --help and
 * tools/usimsh/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/usim/profile-json.h"
#include "hex.h"
#include "fileio.h"
#include "macro.h"
#include "raw.h"
#include "usimsh.h"

#define USIMSH_VERSION "0.1"
#define RSP_SIZE (USIM_CMD_MAX + 2)
#define LINE_MAX_CHARS (4 * USIM_CMD_MAX)
#define RAW_MAX_INPUT (1u << 20)

struct shell {
	struct usim_profile *p;
	struct usim_engine *e;
	struct state *state;
	uint8_t *rsp;
	char *hex;
	unsigned apdus;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: usimsh [OPTIONS] PROFILE.json\n"
		"\n"
		"Runs the mcim USIM engine on PROFILE.json and answers command APDUs\n"
		"written in hex, one per line (spaces allowed, '#' starts a comment),\n"
		"from standard input or a script.  Each command is printed as\n"
		"'> APDU', its response data as '< DATA', its status word as\n"
		"'= SW meaning', and each persistent change the engine reports as\n"
		"'~ ...'.  Besides APDUs a line may say 'reset' (cold reset),\n"
		"'warm-reset', or 'refresh MODE' (queue a proactive REFRESH,\n"
		"TS 102 223 8.6 qualifier 0..6).\n"
		"\n"
		"Options:\n"
		"  -s, --state FILE   keep the card's persistent state (EF contents, PIN\n"
		"                     counters, SQN array) in FILE: read it at start if\n"
		"                     it exists, rewrite it after every command that\n"
		"                     changed something\n"
		"  -f, --script FILE  read the APDU lines from FILE instead of stdin\n"
		"  -r, --raw FILE     replay a fuzz-apdu input (binary: 2-byte big-endian\n"
		"                     length + APDU, repeated; length 0 = cold reset)\n"
		"  -t, --transport MODE  t0 (default): T=0 TPDUs, 61XX/GET RESPONSE\n"
		"                     and 6CXX; apdu: whole APDUs as a modem hands\n"
		"                     them over, data at once, never 6CXX\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Exit status: 0 all input processed; 1 an input line is not an APDU\n"
		"(the message names the line); 2 usage error; 3 the profile did not\n"
		"load; 4 the state file could not be read or written; 5 the engine\n"
		"failed.\n");
}

static int sha256_file_text(const char *text, size_t len, uint8_t out[32])
{
	unsigned n = 32;

	return EVP_Digest(text, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

static void print_change(struct shell *sh, const struct usim_change *c)
{
	char path[64];

	switch (c->kind) {
	case USIM_CHANGE_EF:
		if (c->index >= sh->p->n_files)
			break;
		usim_profile_path_text(sh->p, (int)c->index, path, sizeof(path));
		if (c->record)
			printf("~ EF %s record %u (bytes %u..%u)\n", path,
			       c->record, c->offset, c->offset + c->len);
		else
			printf("~ EF %s bytes %u..%u\n", path, c->offset,
			       c->offset + c->len);
		return;
	case USIM_CHANGE_PIN:
		if (c->index >= sh->p->n_pins)
			break;
		printf("~ PIN %02X: %s, %u tries left, PUK %u tries left\n",
		       sh->p->pins[c->index].key_ref,
		       sh->p->pins[c->index].enabled ? "enabled" : "disabled",
		       sh->p->pins[c->index].tries_left,
		       sh->p->pins[c->index].puk_tries_left);
		return;
	case USIM_CHANGE_FILE_STATE:
		if (c->index >= sh->p->n_files)
			break;
		usim_profile_path_text(sh->p, (int)c->index, path, sizeof(path));
		printf("~ file %s life cycle status %02X\n", path,
		       sh->p->files[c->index].lcs);
		return;
	case USIM_CHANGE_SQN:
		if (c->index >= AKA_SQN_ARRAY_MAX)
			break;
		printf("~ SQN: SEQ_MS(%u) = %llu\n", c->index,
		       (unsigned long long)sh->p->sqn.seq_ms[c->index]);
		return;
	case USIM_CHANGE_PROACTIVE:
		if (c->record == 0)
			printf("~ proactive command fetched\n");
		else
			printf("~ proactive command answered, general result %02X\n",
			       c->offset);
		return;
	default:
		break;
	}
	printf("~ change kind %d index %u\n", (int)c->kind, c->index);
}

static int run_apdu(struct shell *sh, const uint8_t *cmd, size_t len)
{
	const struct usim_change *changes = NULL;
	size_t rsp_len = 0, n_changes = 0;
	char why[PROFILE_JSON_WHY_SIZE], desc[96];
	uint16_t sw;
	int r;

	hex_encode(cmd, len, sh->hex);
	printf("> %s\n", sh->hex);
	r = usim_engine_process(sh->e, cmd, len, sh->rsp, RSP_SIZE, &rsp_len,
				&changes, &n_changes);
	if (r < 0) {
		fprintf(stderr, "usimsh: engine error: %s\n", strerror(-r));
		return EXIT_ENGINE;
	}
	if (rsp_len < 2 || rsp_len > RSP_SIZE) {
		fprintf(stderr, "usimsh: engine answered %zu bytes\n", rsp_len);
		return EXIT_ENGINE;
	}
	if (rsp_len > 2) {
		hex_encode(sh->rsp, rsp_len - 2, sh->hex);
		printf("< %s\n", sh->hex);
	}
	sw = (uint16_t)(sh->rsp[rsp_len - 2] << 8 | sh->rsp[rsp_len - 1]);
	printf("= %04X %s\n", sw, sw_describe(sw, desc, sizeof(desc)));
	for (size_t i = 0; i < n_changes; i++) {
		print_change(sh, &changes[i]);
		state_note(sh->state, &changes[i]);
	}
	sh->apdus++;
	/* Persist before the next command, as the daemon does before the
	 * response leaves. */
	if (n_changes && sh->state) {
		r = state_save(sh->state, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "usimsh: state: %s\n", why);
			return EXIT_STATE;
		}
	}
	fflush(stdout);
	return EXIT_OK;
}

static int reset(struct shell *sh, enum usim_reset_kind kind)
{
	uint8_t atr[USIM_ATR_MAX];
	char hex[2 * USIM_ATR_MAX + 1];
	size_t n = 0;
	int r;

	r = usim_engine_reset(sh->e, kind, atr, sizeof(atr), &n);
	if (r < 0 || n > sizeof(atr)) {
		fprintf(stderr, "usimsh: reset failed: %s\n", strerror(-r));
		return EXIT_ENGINE;
	}
	hex_encode(atr, n, hex);
	printf("ATR %s\n", hex);
	/* A program driving usimsh waits for the ATR before it sends the
	 * first command: do not keep it in the stdio buffer. */
	fflush(stdout);
	return EXIT_OK;
}

/* One input line: a comment, a directive or an APDU. */
static int run_line(struct shell *sh, char *line, const char *source,
		    unsigned lineno, uint8_t *cmd)
{
	char *hash = strchr(line, '#');
	char *s = line, *end;
	int n;

	line[strcspn(line, "\r\n")] = '\0';
	if (hash == line) {
		printf("%s\n", line);
		return EXIT_OK;
	}
	if (hash)
		*hash = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (!*s)
		return EXIT_OK;

	if (!strcmp(s, "reset"))
		return reset(sh, USIM_RESET_COLD);
	if (!strcmp(s, "warm-reset"))
		return reset(sh, USIM_RESET_WARM);
	if (!strncmp(s, "refresh", 7) && (s[7] == ' ' || s[7] == '\t')) {
		char *rest;
		long mode = strtol(s + 8, &rest, 10);
		int r;

		if (rest == s + 8 || *rest || mode < 0 || mode > 6) {
			fprintf(stderr, "usimsh: %s line %u: refresh takes a mode 0..6\n",
				source, lineno);
			return EXIT_BAD_INPUT;
		}
		r = usim_engine_refresh(sh->e, (enum usim_refresh_mode)mode);
		printf("! refresh %ld: %s\n", mode, r < 0 ? strerror(-r) : "queued");
		return EXIT_OK;
	}

	n = hex_decode(s, cmd, USIM_CMD_MAX);
	if (n == -EMSGSIZE) {
		fprintf(stderr, "usimsh: %s line %u: APDU longer than %d bytes\n",
			source, lineno, USIM_CMD_MAX);
		return EXIT_BAD_INPUT;
	}
	if (n < 0) {
		fprintf(stderr,
			"usimsh: %s line %u: not an APDU in hex (or reset, warm-reset, refresh N): \"%s\"\n",
			source, lineno, s);
		return EXIT_BAD_INPUT;
	}
	return run_apdu(sh, cmd, (size_t)n);
}

static int run_lines(struct shell *sh, FILE *in, const char *source)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_free_ uint8_t *cmd = malloc(USIM_CMD_MAX);
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;

	if (!cmd)
		return EXIT_ENGINE;
	while ((n = getline(&line, &cap, in)) >= 0) {
		int r;

		lineno++;
		if ((size_t)n > LINE_MAX_CHARS) {
			fprintf(stderr, "usimsh: %s line %u: longer than %d characters\n",
				source, lineno, LINE_MAX_CHARS);
			return EXIT_BAD_INPUT;
		}
		if (memchr(line, '\0', (size_t)n)) {
			fprintf(stderr, "usimsh: %s line %u: NUL byte\n", source,
				lineno);
			return EXIT_BAD_INPUT;
		}
		r = run_line(sh, line, source, lineno, cmd);
		if (r != EXIT_OK)
			return r;
	}
	if (ferror(in)) {
		fprintf(stderr, "usimsh: %s: read error\n", source);
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}

static int run_raw(struct shell *sh, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	struct raw_reader rd;
	const uint8_t *apdu;
	size_t len;
	bool is_reset;
	int r;

	r = read_file_max(path, RAW_MAX_INPUT, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "usimsh: %s: %s\n", path, strerror(-r));
		return EXIT_BAD_INPUT;
	}
	rd = (struct raw_reader){ .p = (const uint8_t *)buf, .left = len };
	while (raw_next(&rd, &apdu, &len, &is_reset)) {
		r = is_reset ? reset(sh, USIM_RESET_COLD) : run_apdu(sh, apdu, len);
		if (r != EXIT_OK)
			return r;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "script", required_argument, NULL, 'f' },
		{ "raw", required_argument, NULL, 'r' },
		{ "transport", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *state_path = NULL, *script = NULL, *raw = NULL;
	enum usim_transport transport = USIM_TRANSPORT_T0;
	struct shell sh = { 0 };
	struct aka_plain_secret k = { 0 };
	struct aka_key key = { 0 };
	_cleanup_free_ char *text = NULL;
	char why[PROFILE_JSON_WHY_SIZE] = "";
	uint8_t sha[32];
	size_t len;
	int c, r, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "s:f:r:t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			state_path = optarg;
			break;
		case 'f':
			script = optarg;
			break;
		case 'r':
			raw = optarg;
			break;
		case 't':
			if (usim_transport_from_string(optarg, &transport) < 0) {
				fprintf(stderr, "usimsh: --transport %s: give t0 or apdu\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("usimsh (mcim) %s\n", USIMSH_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (script && raw)) {
		fprintf(stderr, "usimsh: %s\n",
			script && raw ? "--script and --raw exclude each other" :
					"give exactly one PROFILE.json");
		usage(stderr);
		return EXIT_USAGE;
	}

	r = read_file_max(argv[optind], PROFILE_JSON_MAX_TEXT, &text, &len);
	if (r < 0) {
		fprintf(stderr, "usimsh: %s: %s\n", argv[optind], strerror(-r));
		return EXIT_PROFILE;
	}
	if (sha256_file_text(text, len, sha) < 0) {
		fprintf(stderr, "usimsh: SHA-256 failed\n");
		return EXIT_PROFILE;
	}
	r = profile_json_load_buf(text, len, &sh.p, &k, why, sizeof(why));
	wipe(text, len);
	if (r < 0) {
		fprintf(stderr, "usimsh: %s: %s\n", argv[optind],
			*why ? why : strerror(-r));
		return EXIT_PROFILE;
	}
	if (!k.len) {
		fprintf(stderr, "usimsh: %s: auth.k: the profile carries no K, which usimsh needs\n",
			argv[optind]);
		rc = EXIT_PROFILE;
		goto out;
	}
	r = profile_json_key_new(sh.p->aka.algo, &k, &key);
	if (r < 0) {
		fprintf(stderr, "usimsh: key: %s\n", strerror(-r));
		rc = EXIT_PROFILE;
		goto out;
	}
	if (state_path) {
		r = state_open(state_path, sh.p, sha, &sh.state, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "usimsh: state %s: %s\n", state_path, why);
			rc = EXIT_STATE;
			goto out;
		}
	}
	r = usim_engine_new(sh.p, &key, &sh.e);
	if (r < 0) {
		fprintf(stderr, "usimsh: engine: %s\n", strerror(-r));
		rc = EXIT_ENGINE;
		goto out;
	}
	(void)usim_engine_set_transport(sh.e, transport);
	sh.rsp = malloc(RSP_SIZE);
	sh.hex = malloc(2 * RSP_SIZE + 1);
	if (!sh.rsp || !sh.hex) {
		rc = EXIT_ENGINE;
		goto out;
	}
	rc = reset(&sh, USIM_RESET_COLD);
	if (rc != EXIT_OK)
		goto out;

	if (raw) {
		rc = run_raw(&sh, raw);
	} else if (script) {
		_cleanup_fclose_ FILE *f = fopen(script, "re");

		if (!f) {
			fprintf(stderr, "usimsh: %s: %s\n", script, strerror(errno));
			rc = EXIT_BAD_INPUT;
			goto out;
		}
		rc = run_lines(&sh, f, script);
	} else {
		rc = run_lines(&sh, stdin, "stdin");
	}

out:
	fflush(stdout);
	usim_engine_free(sh.e);
	state_free(sh.state);
	profile_json_key_free(&key);
	usim_profile_free(sh.p);
	wipe(&k, sizeof(k));
	free(sh.rsp);
	free(sh.hex);
	return rc;
}
