/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcim-operator's configuration (INI, libinih): docs/man/mcim-operator.conf.5
 * documents every key.  Strict like mcimd's: an unknown section or key, a key
 * given twice or a bad value is an error "FILE:LINE: [section] key: why".
 */
#ifndef MCIM_OPERATOR_CONFIG_H
#define MCIM_OPERATOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OP_CONFIG_PATH "/etc/mcim-operator/operator.conf"
#define OP_PATH_MAX 256

struct op_config {
	/* [server] */
	char listen_addr[64];  /* numeric IPv4 or IPv6 */
	uint16_t listen_port;
	unsigned workers;      /* HTTP worker threads */
	/* [store] */
	char store_url[OP_PATH_MAX + 1];
	unsigned store_pool;   /* connections (PostgreSQL); 0: one per worker */
	/* [pki] */
	char pki_dir[OP_PATH_MAX + 1];
	/* [drf] */
	char manufacturers[OP_PATH_MAX + 1]; /* trusted TPM manufacturer CAs */
	/* [pva] */
	unsigned session_ttl;  /* seconds */
	unsigned ticket_ttl;
	/* [sho] subscriptions (docs/operator.md "Subscriptions") */
	char kek[OP_PATH_MAX + 1];       /* "" : pki_dir/subscriber.kek */
	char imsi_first[16], imsi_last[16]; /* "" : not configured */
	char iccid_prefix[19];           /* digits before the serial and Luhn digit */
	/* [limits] */
	unsigned device_rate;  /* requests per minute per device */
	unsigned address_rate; /* requests per minute per source address */
	unsigned max_connections;
	unsigned max_per_address; /* open connections per source address, 0: no limit */
	/* [metrics] */
	char metrics_addr[64]; /* "" : no metrics port */
	uint16_t metrics_port;
};

void op_config_defaults(struct op_config *c);
/* The KEK's path: [sho] kek, else PKI_DIR/subscriber.kek (pki.h PKI_KEK). */
void op_config_kek_path(const struct op_config *c, char *out, size_t size);
/* Reads path (NULL: OP_CONFIG_PATH); a missing file at the default path is fine. */
int op_config_load(struct op_config *c, const char *path, char *why, size_t why_size);

#endif
