// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mcimd.conf parser on libinih, with strict validation.  The key table
 * below is the single list of what the file may hold; mcimd.conf(5) must
 * match it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/mcimd/config.h"
#include "daemon/store/store.h"
#include "hex.h"
#include "macro.h"

/* TRE defaults (daemon/tre/tre.h): PCRs 0, 2, 4, 7 and the tamper PCR 23. */
#define DEFAULT_PCRS ((1u << 0) | (1u << 2) | (1u << 4) | (1u << 7) | (1u << 23))
#define DEFAULT_TAMPER_PCR 23u
#define DEFAULT_EPOCH_NV 0x01800a00u
#define DEFAULT_GENERATION_NV 0x01800a01u
#define DEFAULT_REVOKE_NV 0x01800a02u
#define DEFAULT_HEADROOM STORE_SQN_HEADROOM_DEFAULT /* docs/store.md "TPM NV write budget" */

void config_defaults(struct mcimd_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->tcti, sizeof(c->tcti), "auto");
	c->pcr_mask = DEFAULT_PCRS;
	c->tamper_pcr = DEFAULT_TAMPER_PCR;
	c->epoch_nv_index = DEFAULT_EPOCH_NV;
	c->generation_nv_index = DEFAULT_GENERATION_NV;
	c->revoke_nv_index = DEFAULT_REVOKE_NV;
	c->sqn_headroom = DEFAULT_HEADROOM;
	snprintf(c->store_path, sizeof(c->store_path), "%s", MCIMD_STORE_PATH);
	c->slot_count = 1;
	c->slot_transport = 1; /* apdu: what a modem on /dev/vusimN expects */
	c->tamper_key = -1;
	snprintf(c->trace_host, sizeof(c->trace_host), "127.0.0.1");
	c->trace_port = MCIMD_GSMTAP_PORT;
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
		 MCIMD_CONTROL_PATH);
	snprintf(c->control_group, sizeof(c->control_group), "mcimd");
	snprintf(c->admin_group, sizeof(c->admin_group), "mcimd-admin");
	c->max_clients = 16;
	c->prov_timeout = 30;
	c->prov_retries = 3;
	c->proof_timeout = 600;
	snprintf(c->tcg_log, sizeof(c->tcg_log), "%s", MCIMD_TCG_LOG_PATH);
	snprintf(c->ima_log, sizeof(c->ima_log), "%s", MCIMD_IMA_LOG_PATH);
	c->max_clients_per_user = 4;
	c->idle_timeout = 60;
	c->lifecycle_per_hour = 60;
	c->log_level = LOG_LEVEL_INFO;
}

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",   [LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice", [LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

int config_log_level_from_name(const char *name, enum log_level *ret)
{
	for (size_t i = LOG_LEVEL_ERROR; i < ARRAY_SIZE(level_names); i++)
		if (level_names[i] && name && !strcmp(name, level_names[i])) {
			*ret = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

const char *config_log_level_name(enum log_level l)
{
	if ((size_t)l < ARRAY_SIZE(level_names) && level_names[l])
		return level_names[l];
	return "?";
}

int config_parse_pcrs(const char *text, uint32_t *ret)
{
	uint32_t mask = 0;
	const char *p = text;

	if (!text || !*text)
		return -EINVAL;
	for (;;) {
		char *end;
		unsigned long v;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = strtoul(p, &end, 10);
		if (v > 23 || (mask & (1u << v)))
			return -EINVAL; /* PC Client: PCRs 0..23; no repeats */
		mask |= 1u << v;
		p = end;
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (*p++ != ',')
			return -EINVAL;
	}
	*ret = mask;
	return 0;
}

static bool numeric_host(const char *h)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h, &a6) == 1;
}

bool config_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

int config_parse_hostport(const char *text, char *host, size_t host_size,
			  uint16_t *ret_port)
{
	char buf[80];
	const char *port = NULL;
	char *h = buf;

	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", text);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close)
			return -EINVAL;
		*close = 0;
		h = buf + 1;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -EINVAL;
	} else {
		char *colon = strchr(buf, ':');

		/* One colon: IPv4:port; more: a bare IPv6 address. */
		if (colon && !strchr(colon + 1, ':')) {
			*colon = 0;
			port = colon + 1;
		}
	}
	if (!numeric_host(h) || strlen(h) >= host_size)
		return -EINVAL;
	if (port) {
		char *end;
		unsigned long v;

		if (*port < '0' || *port > '9')
			return -EINVAL;
		v = strtoul(port, &end, 10);
		if (*end || v == 0 || v > 65535)
			return -EINVAL;
		*ret_port = (uint16_t)v;
	} else {
		*ret_port = MCIMD_GSMTAP_PORT;
	}
	snprintf(host, host_size, "%s", h);
	return 0;
}

/* ---- the parser ---- */

struct parser {
	struct mcimd_config *cfg;
	const char *name;
	unsigned line;
	char *why;
	size_t why_size;
	int error;
	/* Keys seen, to refuse duplicates (index into the key table). */
	bool seen[48];
	/* For the reader. */
	const char *text;
	size_t len, pos;
	unsigned long_line; /* first line longer than inih's buffer */
	unsigned err_line;
};

_printf_(4, 5) static int perr(struct parser *p, const char *section,
			       const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->error)
		return 0; /* keep the first error */
	p->error = -EINVAL;
	p->err_line = p->line;
	if (!p->why || !p->why_size)
		return 0;
	if (p->line)
		n = snprintf(p->why, p->why_size, "%s:%u: ", p->name, p->line);
	else
		n = snprintf(p->why, p->why_size, "%s: ", p->name);
	/* Whole-file messages name no section. */
	if (n >= 0 && (size_t)n < p->why_size && (*section || key))
		n += snprintf(p->why + n, p->why_size - n, "[%s]%s%s: ", section,
			      key ? " " : "", key ? key : "");
	if (n < 0 || (size_t)n >= p->why_size)
		return 0;
	va_start(ap, fmt);
	vsnprintf(p->why + n, p->why_size - n, fmt, ap);
	va_end(ap);
	return 0;
}

typedef int (*setter)(struct parser *p, const char *sec, const char *key,
		      const char *v);

static int set_text(char *dst, size_t size, struct parser *p, const char *sec,
		    const char *key, const char *v)
{
	if (strlen(v) >= size)
		return perr(p, sec, key, "longer than %zu characters", size - 1);
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20)
			return perr(p, sec, key, "control character in value");
	snprintf(dst, size, "%s", v);
	return 1;
}

static int parse_bool(struct parser *p, const char *sec, const char *key,
		      const char *v, bool *ret)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") ||
	    !strcmp(v, "1"))
		*ret = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") ||
		 !strcmp(v, "0"))
		*ret = false;
	else
		return perr(p, sec, key, "'%s' is not a boolean (yes/no)", v);
	return 1;
}

static int parse_uint(struct parser *p, const char *sec, const char *key,
		      const char *v, unsigned long min, unsigned long max,
		      unsigned long *ret)
{
	char *end;
	unsigned long x;

	errno = 0;
	if (*v < '0' || *v > '9')
		return perr(p, sec, key, "'%s' is not a number", v);
	/* Decimal, or hexadecimal with 0x; never octal. */
	x = strtoul(v, &end, (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? 16 : 10);
	if (errno || *end)
		return perr(p, sec, key, "'%s' is not a number", v);
	if (x < min || x > max)
		return perr(p, sec, key, "%lu is out of range %lu..%lu", x, min, max);
	*ret = x;
	return 1;
}

static bool abs_path(const char *v)
{
	return v[0] == '/';
}

static int s_tcti(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (!*v)
		return perr(p, sec, key, "empty (use \"auto\")");
	return set_text(p->cfg->tcti, sizeof(p->cfg->tcti), p, sec, key, v);
}

static int s_pcrs(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (config_parse_pcrs(v, &p->cfg->pcr_mask) < 0)
		return perr(p, sec, key, "'%s' is not a list of distinct PCRs 0..23", v);
	return 1;
}

static int s_tamper_pcr(struct parser *p, const char *sec, const char *key,
			const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 0, 23, &x))
		return 0;
	p->cfg->tamper_pcr = (unsigned)x;
	return 1;
}

static int s_epoch(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	/* TPM 2.0 Part 2 7.5: NV indices are 0x01000000..0x01ffffff. */
	if (!parse_uint(p, sec, key, v, 0x01000000ul, 0x01fffffful, &x))
		return 0;
	p->cfg->epoch_nv_index = (uint32_t)x;
	return 1;
}

static int s_gen_nv(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 0x01000000ul, 0x01fffffful, &x))
		return 0;
	p->cfg->generation_nv_index = (uint32_t)x;
	return 1;
}

static int s_revoke_nv(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 0x01000000ul, 0x01fffffful, &x))
		return 0;
	p->cfg->revoke_nv_index = (uint32_t)x;
	return 1;
}

static int s_headroom(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 1, STORE_SQN_HEADROOM_MAX, &x))
		return 0;
	p->cfg->sqn_headroom = (unsigned)x;
	return 1;
}

static int s_store(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (!abs_path(v))
		return perr(p, sec, key, "'%s' is not an absolute path", v);
	return set_text(p->cfg->store_path, sizeof(p->cfg->store_path), p, sec, key, v);
}

static int s_slots(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 0, CONFIG_MAX_SLOTS, &x))
		return 0;
	p->cfg->slot_count = (unsigned)x;
	return 1;
}

/* The card's transport (daemon/usim/usim.h enum usim_transport,
 * docs/transport.md): t0 = 0, apdu = 1. */
static int s_transport(struct parser *p, const char *sec, const char *key,
		       const char *v)
{
	if (!strcmp(v, "t0"))
		p->cfg->slot_transport = 0;
	else if (!strcmp(v, "apdu"))
		p->cfg->slot_transport = 1;
	else
		return perr(p, sec, key, "'%s' is neither t0 nor apdu", v);
	return 1;
}

static int s_atr(struct parser *p, const char *sec, const char *key, const char *v)
{
	int n;

	if (!*v) {
		p->cfg->atr_len = 0;
		return 1;
	}
	n = hex_decode(v, p->cfg->atr, sizeof(p->cfg->atr));
	if (n < 2)
		return perr(p, sec, key, "not 2..%d bytes of hex", CONFIG_ATR_MAX);
	/* ISO/IEC 7816-3 8.1: TS is 3B (direct) or 3F (inverse). */
	if (p->cfg->atr[0] != 0x3b && p->cfg->atr[0] != 0x3f)
		return perr(p, sec, key, "TS byte is %02X, must be 3B or 3F",
			    p->cfg->atr[0]);
	p->cfg->atr_len = (size_t)n;
	return 1;
}

static int s_tamper_input(struct parser *p, const char *sec, const char *key,
			  const char *v)
{
	if (*v && !abs_path(v))
		return perr(p, sec, key, "'%s' is not an absolute path", v);
	return set_text(p->cfg->tamper_input, sizeof(p->cfg->tamper_input), p, sec,
			key, v);
}

static int s_tamper_key(struct parser *p, const char *sec, const char *key,
			const char *v)
{
	unsigned long x;

	if (!strcmp(v, "any")) {
		p->cfg->tamper_key = -1;
		return 1;
	}
	/* linux/input-event-codes.h: KEY_MAX 0x2ff. */
	if (!parse_uint(p, sec, key, v, 0, 0x2ff, &x))
		return 0;
	p->cfg->tamper_key = (int)x;
	return 1;
}

static int s_trace(struct parser *p, const char *sec, const char *key, const char *v)
{
	return parse_bool(p, sec, key, v, &p->cfg->trace_enabled);
}

static int s_target(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (config_parse_hostport(v, p->cfg->trace_host, sizeof(p->cfg->trace_host),
				  &p->cfg->trace_port) < 0)
		return perr(p, sec, key, "'%s' is not ADDRESS[:PORT] with a numeric address",
			    v);
	return 1;
}

static int s_allow_remote(struct parser *p, const char *sec, const char *key,
			  const char *v)
{
	return parse_bool(p, sec, key, v, &p->cfg->trace_allow_remote);
}

static int set_url(char *dst, size_t size, struct parser *p, const char *sec,
		   const char *key, const char *v)
{
	if (*v && strncmp(v, "https://", 8))
		return perr(p, sec, key, "'%s' is not an https:// URL", v);
	return set_text(dst, size, p, sec, key, v);
}

static int s_drf(struct parser *p, const char *sec, const char *key, const char *v)
{
	return set_url(p->cfg->drf_url, sizeof(p->cfg->drf_url), p, sec, key, v);
}

static int s_ca(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (*v && !abs_path(v))
		return perr(p, sec, key, "'%s' is not an absolute path", v);
	return set_text(p->cfg->prov_ca, sizeof(p->cfg->prov_ca), p, sec, key, v);
}

/* [switch] proof_timeout: 10 s to a day (docs/change-format.md 5). */
static int s_proof_timeout(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 1, 86400, &x))
		return 0;
	p->cfg->proof_timeout = (unsigned)x;
	return 1;
}

static int s_auto(struct parser *p, const char *sec, const char *key, const char *v)
{
	return parse_bool(p, sec, key, v, &p->cfg->prov_auto);
}

static int s_timeout(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 1, 300, &x))
		return 0;
	p->cfg->prov_timeout = (unsigned)x;
	return 1;
}

static int s_retries(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 0, 10, &x))
		return 0;
	p->cfg->prov_retries = (unsigned)x;
	return 1;
}

static int s_tcg_log(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (*v && !abs_path(v))
		return perr(p, sec, key, "'%s' is not an absolute path", v);
	return set_text(p->cfg->tcg_log, sizeof(p->cfg->tcg_log), p, sec, key, v);
}

static int s_ima_log(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (*v && !abs_path(v))
		return perr(p, sec, key, "'%s' is not an absolute path", v);
	return set_text(p->cfg->ima_log, sizeof(p->cfg->ima_log), p, sec, key, v);
}

static int s_reference(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (*v && !abs_path(v))
		return perr(p, sec, key, "'%s' is not an absolute path", v);
	return set_text(p->cfg->reference, sizeof(p->cfg->reference), p, sec, key, v);
}

static int s_socket(struct parser *p, const char *sec, const char *key, const char *v)
{
	/* sockaddr_un.sun_path holds 108 bytes with the NUL. */
	if (!abs_path(v) || strlen(v) > 107)
		return perr(p, sec, key, "'%s' is not an absolute path of at most 107 bytes",
			    v);
	return set_text(p->cfg->control_socket, sizeof(p->cfg->control_socket), p,
			sec, key, v);
}

static int set_group(char *dst, size_t size, struct parser *p, const char *sec,
		     const char *key, const char *v)
{
	/* POSIX portable user/group names (and systemd's rules). */
	if (!*v || v[0] == '-')
		return perr(p, sec, key, "'%s' is not a group name", v);
	for (const char *c = v; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
			return perr(p, sec, key, "'%s' is not a group name", v);
	return set_text(dst, size, p, sec, key, v);
}

static int s_group(struct parser *p, const char *sec, const char *key, const char *v)
{
	return set_group(p->cfg->control_group, sizeof(p->cfg->control_group), p, sec,
			 key, v);
}

static int s_admin(struct parser *p, const char *sec, const char *key, const char *v)
{
	return set_group(p->cfg->admin_group, sizeof(p->cfg->admin_group), p, sec,
			 key, v);
}

static int s_clients(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 1, 256, &x))
		return 0;
	p->cfg->max_clients = (unsigned)x;
	return 1;
}

static int s_per_user(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 1, 256, &x))
		return 0;
	p->cfg->max_clients_per_user = (unsigned)x;
	return 1;
}

static int s_idle(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 0, 86400, &x))
		return 0;
	p->cfg->idle_timeout = (unsigned)x;
	return 1;
}

static int s_lifecycle(struct parser *p, const char *sec, const char *key, const char *v)
{
	unsigned long x;

	if (!parse_uint(p, sec, key, v, 0, 3600, &x))
		return 0;
	p->cfg->lifecycle_per_hour = (unsigned)x;
	return 1;
}

static int s_level(struct parser *p, const char *sec, const char *key, const char *v)
{
	if (config_log_level_from_name(v, &p->cfg->log_level) < 0)
		return perr(p, sec, key,
			    "'%s' is not one of error, warning, notice, info, debug", v);
	return 1;
}

static const struct {
	const char *section, *key;
	setter set;
} keys[] = {
	{ "tpm", "tcti", s_tcti },
	{ "tpm", "pcrs", s_pcrs },
	{ "tpm", "tamper_pcr", s_tamper_pcr },
	{ "tpm", "epoch_nv_index", s_epoch },
	{ "tpm", "generation_nv_index", s_gen_nv },
	{ "tpm", "revoke_nv_index", s_revoke_nv },
	{ "store", "path", s_store },
	{ "store", "sqn_headroom", s_headroom },
	{ "slots", "count", s_slots },
	{ "slots", "atr", s_atr },
	{ "slots", "transport", s_transport },
	{ "tamper", "input", s_tamper_input },
	{ "tamper", "key", s_tamper_key },
	{ "trace", "enabled", s_trace },
	{ "trace", "target", s_target },
	{ "trace", "allow_remote", s_allow_remote },
	{ "provisioning", "drf_url", s_drf },
	{ "provisioning", "ca", s_ca },
	{ "provisioning", "auto", s_auto },
	{ "provisioning", "timeout", s_timeout },
	{ "provisioning", "retries", s_retries },
	{ "provisioning", "tcg_log", s_tcg_log },
	{ "provisioning", "ima_log", s_ima_log },
	{ "provisioning", "reference", s_reference },
	{ "control", "socket", s_socket },
	{ "control", "group", s_group },
	{ "control", "admin_group", s_admin },
	{ "control", "max_clients", s_clients },
	{ "control", "max_clients_per_user", s_per_user },
	{ "control", "idle_timeout", s_idle },
	{ "control", "lifecycle_per_hour", s_lifecycle },
	{ "log", "level", s_level },
	{ "switch", "proof_timeout", s_proof_timeout },
};

_Static_assert(ARRAY_SIZE(keys) <= 48, "seen[] is too small");

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parser *p = user;
	bool known_section = false;

	if (p->error)
		return 0;
	if (!name) /* a section line (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(section, keys[i].section))
			continue;
		known_section = true;
		if (strcmp(name, keys[i].key))
			continue;
		if (p->seen[i])
			return perr(p, section, name, "given twice");
		p->seen[i] = true;
		return keys[i].set(p, section, name, value);
	}
	if (!*section)
		return perr(p, "", name, "key outside of any section");
	if (!known_section)
		return perr(p, section, NULL, "unknown section");
	return perr(p, section, name, "unknown key");
}

/* inih reader over memory that counts lines, so messages can name one. */
static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	size_t n = 0;

	if (p->pos >= p->len || num < 2)
		return NULL;
	while (p->pos < p->len && n < (size_t)num - 1) {
		char c = p->text[p->pos++];

		str[n++] = c;
		if (c == '\n')
			break;
	}
	str[n] = 0;
	p->line++;
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && p->pos < p->len) {
		/* inih would read the rest as a line of its own: refuse. */
		if (!p->long_line)
			p->long_line = p->line;
		while (p->pos < p->len && p->text[p->pos++] != '\n')
			;
		str[0] = 0;
	}
	return str;
}

static int cross_checks(struct parser *p)
{
	struct mcimd_config *c = p->cfg;

	p->line = 0; /* not about one line */
	if (c->generation_nv_index == c->epoch_nv_index)
		return perr(p, "tpm", "generation_nv_index",
			    "must differ from epoch_nv_index (an epoch increment revokes keys)");
	if (c->revoke_nv_index == c->epoch_nv_index || c->revoke_nv_index == c->generation_nv_index)
		return perr(p, "tpm", "revoke_nv_index",
			    "must differ from epoch_nv_index and generation_nv_index");
	if (!(c->pcr_mask & (1u << c->tamper_pcr)))
		return perr(p, "tpm", "tamper_pcr", "PCR %u is not in pcrs", c->tamper_pcr);
	if (!c->trace_allow_remote && !config_is_loopback(c->trace_host))
		return perr(p, "trace", "target",
			    "%s is not a loopback address (set allow_remote = yes)",
			    c->trace_host);
	if (c->drf_url[0] && !c->prov_ca[0])
		return perr(p, "provisioning", "ca",
			    "is required with drf_url (the operator's root is pinned)");
	if (c->prov_auto && !c->drf_url[0])
		return perr(p, "provisioning", "auto", "needs drf_url");
	return 1;
}

int config_parse(struct mcimd_config *cfg, const char *name, const char *text,
		 size_t len, char *why, size_t why_size)
{
	struct parser p = {
		.cfg = cfg, .name = name ? name : "(config)", .why = why,
		.why_size = why_size, .text = text, .len = len,
	};
	int r;

	if (!cfg || (!text && len))
		return -EINVAL;
	if (why && why_size)
		why[0] = 0;
	config_defaults(cfg);
	if (memchr(text, 0, len))
		perr(&p, "", NULL, "NUL byte in the file");
	else {
		r = ini_parse_stream(reader, &p, handler, &p);
		if (r > 0 && !p.error) {
			p.line = (unsigned)r;
			perr(&p, "", NULL, "syntax error (want [section] or key = value)");
		} else if (r < 0 && !p.error) {
			return -ENOMEM;
		}
	}
	if (p.long_line && (!p.error || p.long_line < p.err_line)) {
		p.error = 0;
		p.line = p.long_line;
		perr(&p, "", NULL, "line longer than inih's limit of %d characters",
		     INI_MAX_LINE - 2);
	}
	if (!p.error)
		cross_checks(&p);
	if (p.error) {
		config_defaults(cfg);
		return p.error;
	}
	return 0;
}

int config_load(struct mcimd_config *cfg, const char *path, char *why,
		size_t why_size)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len = 0;

	if (!cfg || !path)
		return -EINVAL;
	config_defaults(cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = -errno;

		if (why && why_size)
			snprintf(why, why_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if (st.st_size > (off_t)CONFIG_FILE_MAX) {
		if (why && why_size)
			snprintf(why, why_size, "%s: longer than %u bytes", path,
				 CONFIG_FILE_MAX);
		return -EFBIG;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			if (why && why_size)
				snprintf(why, why_size, "%s: %s", path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			if (why && why_size)
				snprintf(why, why_size, "%s: longer than %u bytes", path,
					 CONFIG_FILE_MAX);
			return -EFBIG;
		}
	}
	return config_parse(cfg, path, buf, len, why, why_size);
}
