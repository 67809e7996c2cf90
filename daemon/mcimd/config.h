/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcimd's configuration file (/etc/mcim/mcimd.conf, INI, parsed with
 * libinih).  docs/man/mcimd.conf.5 documents every key and its default.
 *
 * Validation is strict: an unknown section or key, a key given twice or a
 * value out of range is an error, reported as
 *   FILE:LINE: [section] key: what is wrong
 * so that a typo never silently falls back to a default.
 */
#ifndef MCIM_MCIMD_CONFIG_H
#define MCIM_MCIMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MCIMD_CONFIG_PATH "/etc/mcim/mcimd.conf"
#define MCIMD_STORE_PATH "/var/lib/mcimd/store.db"
#define MCIMD_CONTROL_PATH "/run/mcimd/control"
#define MCIMD_GSMTAP_PORT 4729 /* IANA: gsmtap */
#define MCIMD_TCG_LOG_PATH "/sys/kernel/security/tpm0/binary_bios_measurements"
#define MCIMD_IMA_LOG_PATH "/sys/kernel/security/ima/binary_runtime_measurements"

#define CONFIG_MAX_SLOTS 8
#define CONFIG_ATR_MAX 33      /* ISO/IEC 7816-3 8.2.1 */
#define CONFIG_TEXT_MAX 256    /* paths, TCTI strings */
#define CONFIG_URL_MAX 512
#define CONFIG_NAME_MAX 64     /* group names */
#define CONFIG_WHY_SIZE 512    /* a why buffer never needs more */
#define CONFIG_FILE_MAX (64u << 10) /* longest configuration file read */

enum log_level {
	LOG_LEVEL_ERROR = 3, /* syslog priorities */
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

struct mcimd_config {
	/* [tpm] */
	char tcti[CONFIG_TEXT_MAX + 1];  /* "auto", "device:/dev/tpmrm0", ... */
	uint32_t pcr_mask;               /* sha256 PCRs keys are bound to */
	unsigned tamper_pcr;             /* PCR extended on tamper, in pcr_mask */
	uint32_t epoch_nv_index;         /* TRE epoch counter (key revocation) */
	uint32_t generation_nv_index;    /* store generation counter */
	uint32_t revoke_nv_index;        /* revocation counter R of the storage parents */
	/* [store] */
	char store_path[CONFIG_TEXT_MAX + 1];
	unsigned sqn_headroom;           /* SQN ceiling headroom, SEQ steps */
	/* [slots] */
	unsigned slot_count;
	uint8_t atr[CONFIG_ATR_MAX];     /* override of the profile's ATR */
	size_t atr_len;                  /* 0: the profile's (or default) */
	int slot_transport;              /* enum usim_transport: 0 t0, 1 apdu */
	/* [tamper] */
	char tamper_input[CONFIG_TEXT_MAX + 1]; /* evdev path, "" = none */
	int tamper_key;                  /* EV_KEY/EV_SW code; -1 = any */
	/* [trace] */
	bool trace_enabled;
	char trace_host[64];             /* numeric IPv4/IPv6 address */
	uint16_t trace_port;
	bool trace_allow_remote;         /* else only loopback targets */
	/* [provisioning] (the operator client, docs/operator-protocol.md) */
	char drf_url[CONFIG_URL_MAX + 1];   /* "" = not configured */
	char prov_ca[CONFIG_TEXT_MAX + 1];  /* the operator's root (PEM) */
	bool prov_auto;                     /* register and validate at start */
	unsigned prov_timeout;              /* s, one HTTP attempt */
	unsigned prov_retries;              /* more attempts per step */
	char tcg_log[CONFIG_TEXT_MAX + 1];  /* "" = none */
	char ima_log[CONFIG_TEXT_MAX + 1];  /* "" = none */
	char reference[CONFIG_TEXT_MAX + 1]; /* semi-autonomous: model JSON, "" = none */
	/* [switch] (docs/change-format.md 5) */
	unsigned proof_timeout;             /* s: B's proof after it is enabled */
	/* [control] */
	char control_socket[CONFIG_TEXT_MAX + 1];
	char control_group[CONFIG_NAME_MAX + 1]; /* may connect */
	char admin_group[CONFIG_NAME_MAX + 1];   /* may run admin methods */
	unsigned max_clients;            /* the last one is kept for root */
	unsigned max_clients_per_user;   /* connections of one non-root uid */
	unsigned idle_timeout;           /* s; a silent client is dropped; 0 never */
	unsigned lifecycle_per_hour;     /* profile changes (NV writes); 0 = any */
	/* [log] */
	enum log_level log_level;
};

/* Fills cfg with the defaults of mcimd.conf(5). */
void config_defaults(struct mcimd_config *cfg);

/*
 * Reads and validates the file at path over the defaults.  0, or:
 *   -ENOENT, -EACCES, ... (the file cannot be read; why names it)
 *   -EINVAL  a validation error (why: "FILE:LINE: [section] key: ...")
 *   -EFBIG   the file is longer than CONFIG_FILE_MAX
 * On error cfg holds the defaults.  why: why_size bytes, may be NULL.
 */
int config_load(struct mcimd_config *cfg, const char *path, char *why,
		size_t why_size);

/* The same from text in memory; name is what messages call the file. */
int config_parse(struct mcimd_config *cfg, const char *name, const char *text,
		 size_t len, char *why, size_t why_size);

/* Parses "error", "warning", "notice", "info", "debug". */
int config_log_level_from_name(const char *name, enum log_level *ret);
const char *config_log_level_name(enum log_level l);

/* "0,2,4,7,23" -> bit mask; -EINVAL for anything else. */
int config_parse_pcrs(const char *text, uint32_t *ret);
/* "127.0.0.1:4729", "[::1]:4729", "127.0.0.1" (default port). */
int config_parse_hostport(const char *text, char *host, size_t host_size,
			  uint16_t *ret_port);
/* True for 127.0.0.0/8 and ::1 (numeric addresses only). */
bool config_is_loopback(const char *host);

#endif
