// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The test card shared by the USIM engine unit tests.  Every key and PIN in
 * it is a test value: K and OPc are those of TS 35.208 test set 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hex.h"
#include "test-usim-common.h"

size_t tc_hex(const char *hex, uint8_t *out, size_t max)
{
	int n = hex_decode(hex, out, max);

	assert_true(n >= 0);
	return (size_t)n;
}

struct file_def {
	int *slot;             /* where the index goes, may be NULL */
	int parent_slot;       /* index into the parents table */
	enum usim_file_kind kind;
	uint16_t fid;
	uint8_t sfi;
	uint16_t arr_fid;
	uint8_t arr_rec;
	uint32_t size;
	uint16_t rec_len, rec_count;
	const char *aid;
	const char *data;
};

/* EF.ARR records (TS 102 221 9.2.7 expanded format), 48 bytes each:
 *  1 read always; update, deactivate, activate ADM1
 *  2 read and update PIN1
 *  3 read PIN1; update, deactivate, activate ADM1
 *  4 never
 *  5 read always; update PIN2
 *  6 read PIN1; INCREASE ('84' INS 32) PIN1; update never
 *  7 read always; deactivate/activate ADM1; update always
 *  8 read PIN1 OR PIN2 ('A0'); update PIN1 AND ADM1 ('AF') */
static const char *const arr_records[] = {
	"800101 9000 80011a a40683010a950108",
	"800103 a406830101950108",
	"800101 a406830101950108 80011a a40683010a950108",
	"80011b 9700",
	"800101 9000 800102 a406830181950108",
	"800101 a406830101950108 840132 a406830101950108 800102 9700",
	"800101 9000 800118 a40683010a950108 800102 9000",
	"800101 a010 a406830101950108 a406830181950108"
	" 800102 af10 a406830101950108 a40683010a950108",
};

static void set_record(struct usim_profile *p, int idx, unsigned rec,
		       const char *hex)
{
	struct usim_file *f = &p->files[idx];
	uint8_t b[256];
	size_t n = tc_hex(hex, b, sizeof(b));

	assert_true(rec >= 1 && rec <= f->rec_count && n <= f->rec_len);
	memcpy(f->data + (size_t)(rec - 1) * f->rec_len, b, n);
}

static void dir_record(struct usim_profile *p, int idx, unsigned rec,
		       const char *aid, const char *label)
{
	char hex[200];

	snprintf(hex, sizeof(hex), "61%02x 4f10 %s 50%02x", 24, aid, 4);
	for (const char *c = label; *c; c++)
		snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%02x",
			 (unsigned char)*c);
	set_record(p, idx, rec, hex);
}

static void add_pin(struct usim_profile *p, uint8_t ref, const char *value,
		    const char *puk, bool can_disable)
{
	struct usim_pin pin = {
		.key_ref = ref,
		.enabled = true,
		.can_disable = can_disable,
		.max_tries = 3,
		.tries_left = 3,
	};

	tc_hex(value, pin.value, sizeof(pin.value));
	if (puk) {
		pin.has_puk = true;
		tc_hex(puk, pin.puk, sizeof(pin.puk));
		pin.puk_max_tries = 10;
		pin.puk_tries_left = 10;
	}
	assert_int_equal(usim_profile_add_pin(p, &pin), 0);
}

struct tc *tc_new(void)
{
	struct tc *t = calloc(1, sizeof(*t));
	int mf = 0, telecom = -1, usim = -1, usim2 = -1, isim = -1, g5 = -1;
	int *parents[] = { &mf, &telecom, &usim, &usim2, &isim, &g5 };
	uint8_t k[16];

	assert_non_null(t);
	const struct file_def defs[] = {
		{ &t->ef_dir, 0, USIM_FILE_EF_LINEAR, 0x2f00, 0x1e, 0x2f06, 1,
		  0, 32, 4, NULL, NULL },
		{ &t->ef_iccid, 0, USIM_FILE_EF_TRANSPARENT, 0x2fe2, 0x02,
		  0x2f06, 1, 10, 0, 0, NULL, "98101400000000000031" },
		{ NULL, 0, USIM_FILE_EF_TRANSPARENT, 0x2f05, 0x05, 0x2f06, 1,
		  4, 0, 0, NULL, "656e6672" },
		{ &t->ef_arr, 0, USIM_FILE_EF_LINEAR, 0x2f06, 0x06, 0x2f06, 1,
		  0, 48, 8, NULL, NULL },
		{ &telecom, 0, USIM_FILE_DF, 0x7f10, 0, 0x2f06, 1, 0, 0, 0,
		  NULL, NULL },
		{ &t->ef_adn, 1, USIM_FILE_EF_LINEAR, 0x6f3a, 0, 0x2f06, 2, 0,
		  30, 5, NULL, NULL },
		{ &usim, 0, USIM_FILE_ADF, 0x7fff, 0, 0x2f06, 1, 0, 0, 0,
		  TC_AID_USIM, NULL },
		{ NULL, 2, USIM_FILE_EF_LINEAR, 0x6f06, 0x17, 0x2f06, 1, 0, 48,
		  2, NULL, NULL },
		{ NULL, 2, USIM_FILE_EF_TRANSPARENT, 0x6f05, 0x02, 0x6f06, 1, 4,
		  0, 0, NULL, "656e6672" },
		{ &t->ef_imsi, 2, USIM_FILE_EF_TRANSPARENT, 0x6f07, 0x07,
		  0x2f06, 3, 9, 0, 0, NULL, "080910101032547698" },
		{ &t->ef_ad, 2, USIM_FILE_EF_TRANSPARENT, 0x6fad, 0x03, 0x2f06,
		  1, 4, 0, 0, NULL, "00000002" },
		{ &t->ef_ust, 2, USIM_FILE_EF_TRANSPARENT, 0x6f38, 0x04,
		  0x2f06, 3, 17, 0, 0, NULL,
		  "0000000420000000000000000000001800" },
		{ &t->ef_loci, 2, USIM_FILE_EF_TRANSPARENT, 0x6f7e, 0x0b,
		  0x2f06, 2, 11, 0, 0, NULL, "ffffffff00f110fffe0000" },
		{ &t->ef_acm, 2, USIM_FILE_EF_CYCLIC, 0x6f39, 0, 0x2f06, 6, 0,
		  3, 5, NULL, "000010" },
		{ &t->ef_fdn, 2, USIM_FILE_EF_LINEAR, 0x6f3b, 0, 0x2f06, 5, 0,
		  16, 3, NULL, NULL },
		{ &t->ef_spn, 2, USIM_FILE_EF_TRANSPARENT, 0x6f46, 0, 0x2f06, 7,
		  17, 0, 0, NULL, "016d63696d" },
		{ &t->ef_never, 2, USIM_FILE_EF_TRANSPARENT, 0x6fc4, 0, 0x2f06,
		  4, 8, 0, 0, NULL, NULL },
		{ &t->ef_orand, 2, USIM_FILE_EF_TRANSPARENT, 0x6f60, 0, 0x2f06,
		  8, 5, 0, 0, NULL, "0102030405" },
		{ &g5, 2, USIM_FILE_DF, 0x5fc0, 0, 0x2f06, 1, 0, 0, 0, NULL,
		  NULL },
		{ &t->ef_suci_calc, 5, USIM_FILE_EF_TRANSPARENT, 0x4f07, 0,
		  0x2f06, 3, 128, 0, 0, NULL, "a0020000" },
		{ NULL, 5, USIM_FILE_EF_TRANSPARENT, 0x4f0a, 0x0a, 0x2f06, 1, 4,
		  0, 0, NULL, "2143ffff" },
		{ &t->ef_supi_nai, 5, USIM_FILE_EF_TRANSPARENT, 0x4f09, 0x09,
		  0x2f06, 3, 64, 0, 0, NULL, NULL },
		{ &usim2, 0, USIM_FILE_ADF, 0, 0, 0x2f06, 1, 0, 0, 0,
		  TC_AID_USIM2, NULL },
		{ NULL, 3, USIM_FILE_EF_TRANSPARENT, 0x6f07, 0x07, 0x2f06, 1, 9,
		  0, 0, NULL, "082926000000000010" },
		{ &isim, 0, USIM_FILE_ADF, 0x7fff, 0, 0x2f06, 1, 0, 0, 0,
		  TC_AID_ISIM, NULL },
	};

	assert_int_equal(usim_profile_new(&t->p), 0);
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		const struct file_def *d = &defs[i];
		uint8_t aid[16], data[128];
		struct usim_file_spec s = {
			.kind = d->kind,
			.fid = d->fid,
			.sfi = d->sfi,
			.arr_fid = d->arr_fid,
			.arr_record = d->arr_rec,
			.size = d->size,
			.rec_len = d->rec_len,
			.rec_count = d->rec_count,
			.shareable = true,
		};
		int idx;

		if (d->aid) {
			s.aid = aid;
			s.aid_len = tc_hex(d->aid, aid, sizeof(aid));
		}
		if (d->data) {
			s.data = data;
			s.data_len = tc_hex(d->data, data, sizeof(data));
		}
		assert_int_equal(usim_profile_add_file(
					 t->p, *parents[d->parent_slot], &s,
					 &idx),
				 0);
		if (d->slot)
			*d->slot = idx;
	}
	t->df_telecom = telecom;
	t->adf_usim = usim;
	t->adf_usim2 = usim2;
	t->adf_isim = isim;
	t->df_5gs = g5;
	for (unsigned r = 0; r < sizeof(arr_records) / sizeof(arr_records[0]);
	     r++)
		set_record(t->p, t->ef_arr, r + 1, arr_records[r]);
	set_record(t->p, usim_profile_find_child(t->p, usim, 0x6f06), 1,
		   "800103 9000");
	dir_record(t->p, t->ef_dir, 1, TC_AID_USIM, "USIM");
	dir_record(t->p, t->ef_dir, 2, TC_AID_USIM2, "USI2");
	dir_record(t->p, t->ef_dir, 3, TC_AID_ISIM, "ISIM");

	add_pin(t->p, USIM_KEYREF_PIN1, TC_PIN1, TC_PUK1, true);
	add_pin(t->p, USIM_KEYREF_PIN2, TC_PIN2, TC_PUK2, true);
	add_pin(t->p, USIM_KEYREF_UPIN, TC_UPIN, NULL, false);
	add_pin(t->p, USIM_KEYREF_ADM1, TC_ADM1, NULL, false);

	/* TS 35.208 4.3.1 (test set 1). */
	tc_hex("465b5ce8b199b49faa5f0a2ee238a6bc", k, sizeof(k));
	tc_hex("cd63cb71954a9f4e48a5994e37a02baf", t->p->aka.milenage.opc,
	       sizeof(t->p->aka.milenage.opc));
	assert_int_equal(aka_soft_cipher_new(k, &t->cipher), 0);
	memcpy(t->secret.k, k, sizeof(k));
	t->secret.len = sizeof(k);
	t->key.cipher = t->cipher;
	t->key.secret = aka_plain_secret(&t->secret);

	char why[200] = "";
	int rc = usim_profile_validate(t->p, why, sizeof(why));

	if (rc)
		fprintf(stderr, "validate: %s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(usim_engine_new(t->p, &t->key, &t->e), 0);
	return t;
}

void tc_free(struct tc *t)
{
	if (!t)
		return;
	usim_engine_free(t->e);
	usim_profile_free(t->p);
	aka_soft_cipher_free(&t->cipher);
	free(t);
}

unsigned tc_txb(struct tc *t, const uint8_t *apdu, size_t len)
{
	assert_int_equal(usim_engine_process(t->e, apdu, len, t->rsp,
					     sizeof(t->rsp), &t->rsp_len,
					     &t->changes, &t->n_changes),
			 0);
	assert_true(t->rsp_len >= 2);
	return (unsigned)t->rsp[t->rsp_len - 2] << 8 | t->rsp[t->rsp_len - 1];
}

unsigned tc_tx(struct tc *t, const char *apdu_hex)
{
	static uint8_t b[65600];
	size_t n = tc_hex(apdu_hex, b, sizeof(b));

	return tc_txb(t, b, n);
}

const char *tc_data_hex(const struct tc *t)
{
	static char s[2 * 65538 + 1];

	hex_encode(t->rsp, t->rsp_len - 2, s);
	return s;
}

void tc_expect(struct tc *t, const char *apdu_hex, const char *rsp_hex)
{
	static uint8_t want[65600];
	size_t n = tc_hex(rsp_hex, want, sizeof(want));
	static char got[2 * 65538 + 1];

	tc_tx(t, apdu_hex);
	hex_encode(t->rsp, t->rsp_len, got);
	if (t->rsp_len != n || memcmp(t->rsp, want, n))
		fail_msg("%s: got %s, want %s", apdu_hex, got, rsp_hex);
}

void tc_expect_sw(struct tc *t, const char *apdu_hex, unsigned sw)
{
	unsigned got = tc_tx(t, apdu_hex);

	if (got != sw)
		fail_msg("%s: SW %04x, want %04x", apdu_hex, got, sw);
}

size_t tc_changes(const struct tc *t, enum usim_change_kind kind, long index)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_changes; i++)
		if (t->changes[i].kind == kind &&
		    (index < 0 || t->changes[i].index == (uint32_t)index))
			n++;
	return n;
}

int tc_setup(void **state)
{
	*state = tc_new();
	return 0;
}

int tc_teardown(void **state)
{
	tc_free(*state);
	return 0;
}

const uint8_t *tc_fcp_do(const struct tc *t, uint8_t tag, size_t *ret_len)
{
	const uint8_t *d = t->rsp;
	size_t n = t->rsp_len - 2, i = 2;

	assert_true(n >= 2 && d[0] == 0x62 && (size_t)d[1] + 2 == n);
	while (i + 2 <= n) {
		size_t l = d[i + 1];

		assert_true(i + 2 + l <= n);
		if (d[i] == tag) {
			*ret_len = l;
			return d + i + 2;
		}
		i += 2 + l;
	}
	return NULL;
}

void tc_expect_do(const struct tc *t, uint8_t tag, const char *value_hex)
{
	uint8_t want[256];
	size_t n = tc_hex(value_hex, want, sizeof(want)), l = 0;
	const uint8_t *v = tc_fcp_do(t, tag, &l);

	if (!v)
		fail_msg("FCP %s has no tag %02x", tc_data_hex(t), tag);
	if (l != n || memcmp(v, want, n))
		fail_msg("FCP %s: tag %02x is not %s", tc_data_hex(t), tag,
			 value_hex);
}
