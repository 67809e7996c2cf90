// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: a sequence of command APDUs (format of
 * tools/usimsh/raw.h: 2-byte big-endian length + APDU, length 0 = cold
 * reset) fed to a USIM engine over the default test profile (USIM and
 * ISIM), once on the t0 and once on the apdu transport.  Every run starts
 * from the profile's pristine state.  Besides the sanitizers, it
 * checks what the API promises: a response of 2..rsp_size bytes and change
 * records that name existing files, PINs and SQN slots.  Reproduce a
 * finding with: usimsh --raw CRASH-FILE daemon/usim/profiles/test-usim.json
 * (and --transport apdu).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/usim/profile-json.h"
#include "tools/usimsh/raw.h"

#define PROFILE "daemon/usim/profiles/test-usim.json"
#define RSP_SIZE (USIM_CMD_MAX + 2)

static struct usim_profile *profile;
static struct aka_plain_secret k;
static struct aka_key key;
static uint8_t **pristine;      /* EF bodies */
static uint8_t *pristine_lcs;
static struct usim_pin pristine_pins[USIM_MAX_PINS];
static struct aka_sqn_state pristine_sqn;
static uint8_t *rsp;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("MCIM_FUZZ_PROFILE");
	char why[PROFILE_JSON_WHY_SIZE];

	(void)argc;
	(void)argv;
	if (!path)
		path = PROFILE;
	if (profile_json_load_file(path, &profile, &k, why, sizeof(why)) < 0 ||
	    profile_json_key_new(profile->aka.algo, &k, &key) < 0) {
		fprintf(stderr, "fuzz-apdu: %s (run from the repository root)\n", why);
		abort();
	}
	pristine = calloc(profile->n_files, sizeof(*pristine));
	pristine_lcs = calloc(profile->n_files, 1);
	rsp = malloc(RSP_SIZE);
	if (!pristine || !pristine_lcs || !rsp)
		abort();
	for (size_t i = 0; i < profile->n_files; i++) {
		const struct usim_file *f = &profile->files[i];

		pristine_lcs[i] = f->lcs;
		if (!f->size)
			continue;
		pristine[i] = malloc(f->size);
		if (!pristine[i])
			abort();
		memcpy(pristine[i], f->data, f->size);
	}
	memcpy(pristine_pins, profile->pins, sizeof(pristine_pins));
	pristine_sqn = profile->sqn;
	return 0;
}

static void restore(void)
{
	for (size_t i = 0; i < profile->n_files; i++) {
		struct usim_file *f = &profile->files[i];

		f->lcs = pristine_lcs[i];
		if (f->size)
			memcpy(f->data, pristine[i], f->size);
	}
	memcpy(profile->pins, pristine_pins, sizeof(pristine_pins));
	profile->sqn = pristine_sqn;
}

static void check_changes(const struct usim_change *c, size_t n)
{
	if (n > USIM_MAX_CHANGES)
		abort();
	for (size_t i = 0; i < n; i++) {
		switch (c[i].kind) {
		case USIM_CHANGE_EF:
			if (c[i].index >= profile->n_files ||
			    (uint64_t)c[i].offset + c[i].len >
				    profile->files[c[i].index].size)
				abort();
			break;
		case USIM_CHANGE_FILE_STATE:
			if (c[i].index >= profile->n_files)
				abort();
			break;
		case USIM_CHANGE_PIN:
			if (c[i].index >= profile->n_pins)
				abort();
			break;
		case USIM_CHANGE_SQN:
			if (c[i].index >= (1u << profile->sqn_cfg.ind_bits))
				abort();
			break;
		default:
			break;
		}
	}
}

/* A REFRESH naming 16 EFs of the MF and one ADF (longer than 127 bytes),
 * their contents unchanged: FETCH and TERMINAL RESPONSE meet it. */
static void queue_update(struct usim_engine *e)
{
	struct usim_file_update u[USIM_REFRESH_MAX_FILES];
	size_t n = 0;
	int adf = -1;

	for (size_t i = 1; i < profile->n_files && n < USIM_REFRESH_MAX_FILES; i++) {
		const struct usim_file *f = &profile->files[i];
		int a = usim_profile_adf_of(profile, (int)i);

		if (f->kind == USIM_FILE_DF || f->kind == USIM_FILE_ADF || !f->size ||
		    (a >= 0 && adf >= 0 && a != adf))
			continue;
		if (a >= 0)
			adf = a;
		u[n++] = (struct usim_file_update){ (int)i, pristine[i], f->size };
	}
	if (n && usim_engine_update_files(e, USIM_REFRESH_INIT_FCN, u, n) < 0)
		abort();
}

static void run(const uint8_t *data, size_t size, enum usim_transport t)
{
	struct raw_reader rd = { .p = data, .left = size };
	struct usim_engine *e = NULL;
	const uint8_t *apdu;
	size_t len;
	bool reset;

	restore();
	if (usim_engine_new(profile, &key, &e) < 0 ||
	    usim_engine_set_transport(e, t) < 0)
		abort();
	if (size & 1)
		queue_update(e);
	while (raw_next(&rd, &apdu, &len, &reset)) {
		const struct usim_change *changes = NULL;
		size_t rsp_len = 0, n_changes = 0;

		if (reset) {
			uint8_t atr[USIM_ATR_MAX];
			size_t atr_len = 0;

			if (usim_engine_reset(e, USIM_RESET_COLD, atr, sizeof(atr),
					      &atr_len) < 0 ||
			    atr_len < 2 || atr_len > sizeof(atr))
				abort();
			continue;
		}
		if (usim_engine_process(e, apdu, len, rsp, RSP_SIZE, &rsp_len,
					&changes, &n_changes) < 0)
			abort();
		if (rsp_len < 2 || rsp_len > RSP_SIZE)
			abort();
		check_changes(changes, n_changes);
	}
	usim_engine_free(e);
}

/* Every input on both transports (docs/transport.md). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, USIM_TRANSPORT_T0);
	run(data, size, USIM_TRANSPORT_APDU);
	return 0;
}
