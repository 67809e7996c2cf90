/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small test card for the USIM engine unit tests (test-usim-*.c): built in
 * C, with the MILENAGE key of TS 35.208 test set 1, and helpers that send an
 * APDU given in hex and check the answer.
 */
#ifndef MCIM_TEST_USIM_COMMON_H
#define MCIM_TEST_USIM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/usim/usim.h"

/* AIDs of the test card: a USIM, a second USIM and an ISIM. */
#define TC_AID_USIM "a0000000871002ff49ff0589000001ff"
#define TC_AID_USIM2 "a0000000871002aa0000000000000001"
#define TC_AID_ISIM "a0000000871004ff49ff0589000001ff"

/* PINs of the test card (test values, not secrets). */
#define TC_PIN1 "31323334ffffffff"   /* "1234" */
#define TC_PUK1 "3132333435363738"   /* "12345678" */
#define TC_PIN2 "35363738ffffffff"   /* "5678" */
#define TC_PUK2 "3837363534333231"   /* "87654321" */
#define TC_UPIN "30303030ffffffff"   /* "0000" */
#define TC_ADM1 "3838383838383838"   /* "88888888" */

struct tc {
	struct usim_profile *p;
	struct usim_engine *e;
	struct aka_cipher cipher;
	struct aka_plain_secret secret;
	struct aka_key key;
	uint8_t rsp[65538 + 16];
	size_t rsp_len;
	const struct usim_change *changes;
	size_t n_changes;
	/* Indexes of some files of the test card. */
	int adf_usim, adf_usim2, adf_isim, ef_imsi, ef_ust, ef_acm, ef_adn,
		ef_loci, ef_fdn, ef_spn, ef_never, ef_orand, ef_ad, df_telecom,
		df_5gs, ef_suci_calc, ef_iccid, ef_dir, ef_arr, ef_supi_nai;
};

/* Builds the card (profile + engine); the engine is after a cold reset. */
struct tc *tc_new(void);
void tc_free(struct tc *t);

/* Sends hex APDU (spaces allowed); returns SW1SW2.  Data: t->rsp,
 * t->rsp_len - 2 bytes. */
unsigned tc_tx(struct tc *t, const char *apdu_hex);
/* Sends raw bytes. */
unsigned tc_txb(struct tc *t, const uint8_t *apdu, size_t len);
/* Sends and asserts the whole response (data + SW) equals rsp_hex. */
void tc_expect(struct tc *t, const char *apdu_hex, const char *rsp_hex);
/* Sends and asserts the status word. */
void tc_expect_sw(struct tc *t, const char *apdu_hex, unsigned sw);
/* Response data as lowercase hex (static buffer). */
const char *tc_data_hex(const struct tc *t);
/* Decodes hex into a static-sized caller buffer; returns the length. */
size_t tc_hex(const char *hex, uint8_t *out, size_t max);
/* Number of change records of kind (and index, unless index < 0). */
size_t tc_changes(const struct tc *t, enum usim_change_kind kind, long index);

/* A DO of the FCP template in the last response ('62' L ...), or NULL. */
const uint8_t *tc_fcp_do(const struct tc *t, uint8_t tag, size_t *ret_len);
/* Asserts the FCP in the last response holds tag with this value. */
void tc_expect_do(const struct tc *t, uint8_t tag, const char *value_hex);

/* cmocka setup/teardown for a struct tc in *state. */
int tc_setup(void **state);
int tc_teardown(void **state);

#endif
