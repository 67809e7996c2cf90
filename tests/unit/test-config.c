// SPDX-License-Identifier: LGPL-2.1-or-later
/* Unit tests of daemon/mcimd/config.c: defaults, every key, and the
 * validation messages (file, line, section, key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/mcimd/config.h"
#include "macro.h"

static int parse(struct mcimd_config *c, const char *text, char *why)
{
	return config_parse(c, "t.conf", text, strlen(text), why, CONFIG_WHY_SIZE);
}

static void test_defaults(void **state)
{
	struct mcimd_config c;
	char why[CONFIG_WHY_SIZE];
	(void)state;

	assert_int_equal(parse(&c, "", why), 0);
	assert_string_equal(c.tcti, "auto");
	assert_int_equal(c.pcr_mask, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 7) |
					     (1u << 23));
	assert_int_equal(c.tamper_pcr, 23);
	assert_int_equal(c.epoch_nv_index, 0x01800a00);
	assert_int_equal(c.generation_nv_index, 0x01800a01);
	assert_int_equal(c.revoke_nv_index, 0x01800a02);
	assert_int_equal(c.sqn_headroom, 4096);
	assert_int_equal(c.max_clients_per_user, 4);
	assert_int_equal(c.idle_timeout, 60);
	assert_int_equal(c.lifecycle_per_hour, 60);
	assert_string_equal(c.store_path, "/var/lib/mcimd/store.db");
	assert_int_equal(c.slot_count, 1);
	assert_int_equal(c.atr_len, 0);
	assert_int_equal(c.slot_transport, 1); /* apdu */
	assert_string_equal(c.tamper_input, "");
	assert_int_equal(c.tamper_key, -1);
	assert_false(c.trace_enabled);
	assert_string_equal(c.trace_host, "127.0.0.1");
	assert_int_equal(c.trace_port, 4729);
	assert_string_equal(c.control_socket, "/run/mcimd/control");
	assert_string_equal(c.control_group, "mcimd");
	assert_string_equal(c.admin_group, "mcimd-admin");
	assert_int_equal(c.max_clients, 16);
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
}

static void test_full_file(void **state)
{
	static const char text[] =
		"# mcimd test configuration\n"
		"[tpm]\n"
		"tcti = swtpm:host=127.0.0.1,port=2321\n"
		"pcrs = 7, 16,23\n"
		"tamper_pcr = 16\n"
		"epoch_nv_index = 0x01800b00\n"
		"generation_nv_index = 0x01800b01\n"
		"\n"
		"[store]\n"
		"path = /tmp/x/store.db\n"
		"sqn_headroom = 1\n"
		"[slots]\n"
		"count = 02\n"
		"atr = 3B 9F 96 80 1F C7 80 31 A0 73 BE 21 13 67 43 20 07 18 00 00 01 A5\n"
		"transport = t0\n"
		"[tamper]\n"
		"input = /dev/input/by-path/platform-gpio-keys-event\n"
		"key = 0x1f0 ; inline comment\n"
		"[trace]\n"
		"enabled = yes\n"
		"target = [::1]:5000\n"
		"[provisioning]\n"
		"drf_url = https://ro.example.net:8443\n"
		"ca = /etc/mcim/operator-ca.pem\n"
		"auto = yes\n"
		"timeout = 5\n"
		"retries = 0\n"
		"tcg_log =\n"
		"ima_log = /tmp/ima.bin\n"
		"reference = /etc/mcim/reference.json\n"
		"[control]\n"
		"socket = /run/mcimd/ctl\n"
		"group = wheel\n"
		"admin_group = root\n"
		"max_clients = 010\n"
		"[log]\n"
		"level = debug\n";
	struct mcimd_config c;
	char why[CONFIG_WHY_SIZE];
	(void)state;

	assert_int_equal(parse(&c, text, why), 0);
	assert_string_equal(c.tcti, "swtpm:host=127.0.0.1,port=2321");
	assert_int_equal(c.pcr_mask, (1u << 7) | (1u << 16) | (1u << 23));
	assert_int_equal(c.tamper_pcr, 16);
	assert_int_equal(c.epoch_nv_index, 0x01800b00);
	assert_int_equal(c.generation_nv_index, 0x01800b01);
	assert_int_equal(c.sqn_headroom, 1);
	assert_string_equal(c.store_path, "/tmp/x/store.db");
	assert_int_equal(c.slot_count, 2);
	assert_int_equal(c.atr_len, 22);
	assert_int_equal(c.atr[21], 0xa5);
	assert_int_equal(c.slot_transport, 0); /* t0 */
	assert_string_equal(c.tamper_input, "/dev/input/by-path/platform-gpio-keys-event");
	assert_int_equal(c.tamper_key, 0x1f0);
	assert_true(c.trace_enabled);
	assert_string_equal(c.trace_host, "::1");
	assert_int_equal(c.trace_port, 5000);
	assert_string_equal(c.drf_url, "https://ro.example.net:8443");
	assert_string_equal(c.prov_ca, "/etc/mcim/operator-ca.pem");
	assert_true(c.prov_auto);
	assert_int_equal(c.prov_timeout, 5);
	assert_int_equal(c.prov_retries, 0);
	assert_string_equal(c.tcg_log, "");
	assert_string_equal(c.ima_log, "/tmp/ima.bin");
	assert_string_equal(c.reference, "/etc/mcim/reference.json");
	assert_string_equal(c.control_socket, "/run/mcimd/ctl");
	assert_string_equal(c.control_group, "wheel");
	assert_string_equal(c.admin_group, "root");
	assert_int_equal(c.max_clients, 10); /* decimal, not octal */
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *why; /* the whole message */
	} cases[] = {
		{ "[tpm]\ntcti = auto\n[bogus]\nx = 1\n", "t.conf:4: [bogus]: unknown section" },
		{ "[tpm]\ntctl = auto\n", "t.conf:2: [tpm] tctl: unknown key" },
		{ "tcti = auto\n", "t.conf:1: [] tcti: key outside of any section" },
		{ "[tpm]\ntcti = a\ntcti = b\n", "t.conf:3: [tpm] tcti: given twice" },
		{ "[tpm]\npcrs = 0,24\n",
		  "t.conf:2: [tpm] pcrs: '0,24' is not a list of distinct PCRs 0..23" },
		{ "[tpm]\npcrs = 1,1\n",
		  "t.conf:2: [tpm] pcrs: '1,1' is not a list of distinct PCRs 0..23" },
		{ "[tpm]\npcrs = 0,7\n", "t.conf: [tpm] tamper_pcr: PCR 23 is not in pcrs" },
		{ "[tpm]\nepoch_nv_index = 0x81000001\n",
		  "t.conf:2: [tpm] epoch_nv_index: 2164260865 is out of range 16777216..33554431" },
		{ "[tpm]\ngeneration_nv_index = 0x01800a00\n",
		  "t.conf: [tpm] generation_nv_index: must differ from epoch_nv_index (an epoch increment revokes keys)" },
		{ "[tpm]\nrevoke_nv_index = 0x01800a01\n",
		  "t.conf: [tpm] revoke_nv_index: must differ from epoch_nv_index and generation_nv_index" },
		{ "[store]\nsqn_headroom = 0\n",
		  "t.conf:2: [store] sqn_headroom: 0 is out of range 1..268435456" },
		{ "[store]\npath = store.db\n",
		  "t.conf:2: [store] path: 'store.db' is not an absolute path" },
		{ "[provisioning]\nreference = ref.json\n",
		  "t.conf:2: [provisioning] reference: 'ref.json' is not an absolute path" },
		{ "[slots]\ncount = 9\n", "t.conf:2: [slots] count: 9 is out of range 0..8" },
		{ "[slots]\ncount = two\n", "t.conf:2: [slots] count: 'two' is not a number" },
		{ "[slots]\natr = 3b9\n", "t.conf:2: [slots] atr: not 2..33 bytes of hex" },
		{ "[slots]\natr = 3a00\n", "t.conf:2: [slots] atr: TS byte is 3A, must be 3B or 3F" },
		{ "[slots]\ntransport = t1\n", "t.conf:2: [slots] transport: 't1' is neither t0 nor apdu" },
		{ "[trace]\nenabled = maybe\n",
		  "t.conf:2: [trace] enabled: 'maybe' is not a boolean (yes/no)" },
		{ "[trace]\ntarget = localhost:4729\n",
		  "t.conf:2: [trace] target: 'localhost:4729' is not ADDRESS[:PORT] with a numeric address" },
		{ "[trace]\ntarget = 127.0.0.1:0\n",
		  "t.conf:2: [trace] target: '127.0.0.1:0' is not ADDRESS[:PORT] with a numeric address" },
		{ "[trace]\ntarget = 192.0.2.1\n",
		  "t.conf: [trace] target: 192.0.2.1 is not a loopback address (set allow_remote = yes)" },
		{ "[provisioning]\ndrf_url = http://dpf.example.net/\n",
		  "t.conf:2: [provisioning] drf_url: 'http://dpf.example.net/' is not an https:// URL" },
		{ "[provisioning]\ndrf_url = https://drf.example.net/\n",
		  "t.conf: [provisioning] ca: is required with drf_url (the operator's root is pinned)" },
		{ "[provisioning]\nauto = yes\n",
		  "t.conf: [provisioning] auto: needs drf_url" },
		{ "[provisioning]\nretries = 11\n",
		  "t.conf:2: [provisioning] retries: 11 is out of range 0..10" },
		{ "[provisioning]\ntimeout = 0\n",
		  "t.conf:2: [provisioning] timeout: 0 is out of range 1..300" },
		{ "[control]\ngroup = -x\n", "t.conf:2: [control] group: '-x' is not a group name" },
		{ "[control]\nsocket = /run/"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  NULL },
		{ "[log]\nlevel = loud\n",
		  "t.conf:2: [log] level: 'loud' is not one of error, warning, notice, info, debug" },
		{ "[tpm\n", "t.conf:1: syntax error (want [section] or key = value)" },
		{ "[tamper]\nkey = 4096\n", "t.conf:2: [tamper] key: 4096 is out of range 0..767" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mcimd_config c;
		char why[CONFIG_WHY_SIZE];

		assert_int_equal(parse(&c, cases[i].text, why), -EINVAL);
		if (cases[i].why)
			assert_string_equal(why, cases[i].why);
		else
			assert_non_null(strstr(why, "not an absolute path of at most 107"));
		/* A failed parse leaves the defaults. */
		assert_string_equal(c.tcti, "auto");
	}
}

static void test_long_line(void **state)
{
	char text[400], why[CONFIG_WHY_SIZE];
	struct mcimd_config c;
	(void)state;

	snprintf(text, sizeof(text), "[provisioning]\ndrf_url = https://%0300d/\n[log]\n", 0);
	assert_int_equal(parse(&c, text, why), -EINVAL);
	assert_non_null(strstr(why, "t.conf:2: line longer than"));
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test-config.XXXXXX", why[CONFIG_WHY_SIZE];
	struct mcimd_config c;
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[log]\nlevel = warning\n[slots]\ncount = 9\n", 39), 39);
	close(fd);
	assert_int_equal(config_load(&c, path, why, sizeof(why)), -EINVAL);
	{
		char want[CONFIG_WHY_SIZE];

		snprintf(want, sizeof(want), "%s:4: [slots] count: 9 is out of range 0..8",
			 path);
		assert_string_equal(why, want);
	}
	unlink(path);
	assert_int_equal(config_load(&c, path, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "No such file"));
}

static void test_helpers(void **state)
{
	char host[64];
	uint16_t port;
	uint32_t m;
	(void)state;

	assert_true(config_is_loopback("127.0.0.1"));
	assert_true(config_is_loopback("127.1.2.3"));
	assert_true(config_is_loopback("::1"));
	assert_false(config_is_loopback("10.0.0.1"));
	assert_false(config_is_loopback("::2"));
	assert_false(config_is_loopback("localhost"));
	assert_int_equal(config_parse_hostport("127.0.0.1", host, sizeof(host), &port), 0);
	assert_int_equal(port, 4729);
	assert_int_equal(config_parse_hostport("::1", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(config_parse_hostport("127.0.0.1:70000", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(config_parse_pcrs("23", &m), 0);
	assert_int_equal(m, 1u << 23);
	assert_int_equal(config_parse_pcrs("1,", &m), -EINVAL);
	assert_int_equal(config_parse_pcrs("", &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_errors),     cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_load_file),  cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
