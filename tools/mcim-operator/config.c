// SPDX-License-Identifier: LGPL-2.1-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "tools/mcim-operator/config.h"

void op_config_defaults(struct op_config *c)
{
	*c = (struct op_config){
		.listen_addr = "127.0.0.1",
		.listen_port = 8443,
		.workers = 2,
		.store_url = "sqlite:/var/lib/mcim-operator/operator.db",
		.pki_dir = "/etc/mcim-operator/pki",
		.manufacturers = "/etc/mcim-operator/manufacturers",
		.session_ttl = 120,
		.ticket_ttl = 600,
		.device_rate = 30,
		.address_rate = 6000,
		.max_connections = 1024,
		.max_per_address = 32,
	};
}

void op_config_kek_path(const struct op_config *c, char *out, size_t size)
{
	if (c->kek[0])
		snprintf(out, size, "%s", c->kek);
	else
		snprintf(out, size, "%s/subscriber.kek", c->pki_dir);
}

struct parser {
	struct op_config *c;
	char why[256];
	unsigned seen;
};

static int set_uint(const char *v, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long x;

	if (!*v || *v == '-' || *v == '+')
		return -EINVAL;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return -EINVAL;
	*ret = (unsigned)x;
	return 0;
}

static int set_path(const char *v, char *out, size_t size)
{
	if (!*v || strlen(v) >= size)
		return -EINVAL;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static int set_digits(const char *v, size_t min, size_t max, char *out, size_t size)
{
	size_t n = strlen(v);

	if (n < min || n > max || n >= size || strspn(v, "0123456789") != n)
		return -EINVAL;
	memcpy(out, v, n + 1);
	return 0;
}

static int set_listen(const char *v, char *addr, size_t addr_size, uint16_t *ret_port)
{
	char host[64];
	const char *colon = strrchr(v, ':');
	unsigned port;
	uint8_t buf[16];
	size_t n;

	if (!colon || (size_t)(colon - v) >= sizeof(host) || set_uint(colon + 1, 0, 65535, &port))
		return -EINVAL;
	n = (size_t)(colon - v);
	memcpy(host, v, n);
	host[n] = 0;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
		return -EINVAL;
	snprintf(addr, addr_size, "%s", host);
	*ret_port = (uint16_t)port;
	return 0;
}

static const struct {
	const char *section, *key, *hint;
} keys[] = {
	{ "server", "listen", "ADDRESS:PORT with a numeric address (port 0: any free port)" },
	{ "server", "workers", "1 to 64" },
	{ "server", "max_connections", "16 to 65536" },
	{ "store", "url", "sqlite:PATH, PATH or postgresql://..." },
	{ "pki", "dir", "a directory path" },
	{ "drf", "manufacturers", "a directory path" },
	{ "pva", "session_ttl", "1 to 3600 seconds" },
	{ "pva", "ticket_ttl", "10 to 86400 seconds" },
	{ "limits", "device_rate", "1 to 100000 requests per minute" },
	{ "limits", "address_rate", "1 to 10000000 requests per minute" },
	{ "limits", "connections_per_address", "0 (no limit) to 65536" },
	{ "store", "pool", "1 to 64 connections" },
	{ "metrics", "listen", "ADDRESS:PORT with a numeric address" },
	{ "sho", "kek", "a file path" },
	{ "sho", "imsi_first", "an IMSI of 6 to 15 digits" },
	{ "sho", "imsi_last", "an IMSI of 6 to 15 digits" },
	{ "sho", "iccid_prefix", "2 to 17 digits starting with 89 (ITU-T E.118)" },
};

static int set(struct op_config *c, unsigned k, const char *v)
{
	switch (k) {
	case 0: return set_listen(v, c->listen_addr, sizeof(c->listen_addr), &c->listen_port);
	case 1: return set_uint(v, 1, 64, &c->workers);
	case 2: return set_uint(v, 16, 65536, &c->max_connections);
	case 3: return set_path(v, c->store_url, sizeof(c->store_url));
	case 4: return set_path(v, c->pki_dir, sizeof(c->pki_dir));
	case 5: return set_path(v, c->manufacturers, sizeof(c->manufacturers));
	case 6: return set_uint(v, 1, 3600, &c->session_ttl);
	case 7: return set_uint(v, 10, 86400, &c->ticket_ttl);
	case 8: return set_uint(v, 1, 100000, &c->device_rate);
	case 9: return set_uint(v, 1, 10000000, &c->address_rate);
	case 10: return set_uint(v, 0, 65536, &c->max_per_address);
	case 11: return set_uint(v, 1, 64, &c->store_pool);
	case 12: return set_listen(v, c->metrics_addr, sizeof(c->metrics_addr), &c->metrics_port);
	case 13: return set_path(v, c->kek, sizeof(c->kek));
	case 14: return set_digits(v, 6, 15, c->imsi_first, sizeof(c->imsi_first));
	case 15: return set_digits(v, 6, 15, c->imsi_last, sizeof(c->imsi_last));
	case 16:
		if (strncmp(v, "89", 2))
			return -EINVAL;
		return set_digits(v, 2, 17, c->iccid_prefix, sizeof(c->iccid_prefix));
	}
	return -EINVAL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	bool known_section = false;

	if (!name)
		return 1;
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(section, keys[i].section))
			continue;
		known_section = true;
		if (strcmp(name, keys[i].key))
			continue;
		if (p->seen & (1u << i))
			snprintf(p->why, sizeof(p->why), "[%s] %s: given twice", section, name);
		else if (set(p->c, i, value) < 0)
			snprintf(p->why, sizeof(p->why), "[%s] %s: \"%.64s\" is not %s", section,
				 name, value, keys[i].hint);
		else {
			p->seen |= 1u << i;
			return 1;
		}
		return 0;
	}
	if (!*section)
		snprintf(p->why, sizeof(p->why), "%s: key outside of any section", name);
	else if (!known_section)
		snprintf(p->why, sizeof(p->why), "[%.32s]: unknown section", section);
	else
		snprintf(p->why, sizeof(p->why), "[%s] %.32s: unknown key", section, name);
	return 0;
}

int op_config_load(struct op_config *c, const char *path, char *why, size_t why_size)
{
	struct parser p = { .c = c };
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	op_config_defaults(c);
	r = read_file_max(path ? path : OP_CONFIG_PATH, 64u << 10, &text, &len);
	if (r == -ENOENT && !path)
		return 0;
	if (r < 0) {
		snprintf(why, why_size, "%s: %s", path ? path : OP_CONFIG_PATH, strerror(-r));
		return r;
	}
	if (memchr(text, 0, len)) {
		snprintf(why, why_size, "%s: NUL byte in the file", path ? path : OP_CONFIG_PATH);
		return -EINVAL;
	}
	r = ini_parse_string(text, handler, &p);
	if (r == 0 && (strlen(c->imsi_first) != strlen(c->imsi_last) ||
		       strcmp(c->imsi_first, c->imsi_last) > 0)) {
		op_config_defaults(c);
		snprintf(why, why_size,
			 "%s: [sho] imsi_first and imsi_last must both be given, with as many "
			 "digits, the first not above the last",
			 path ? path : OP_CONFIG_PATH);
		return -EINVAL;
	}
	if (r != 0) {
		op_config_defaults(c);
		snprintf(why, why_size, "%s:%d: %s", path ? path : OP_CONFIG_PATH, r,
			 p.why[0] ? p.why : "syntax error (want [section] or key = value)");
		return -EINVAL;
	}
	return 0;
}
