// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * USIM engine at the APDU level: start-up sequence, SELECT rules, STATUS,
 * binary and record commands, SFI, T=0 GET RESPONSE, logical channels,
 * SUSPEND/RESUME, CAT and REFRESH, file activation, bad input.
 * Status words: TS 102 221 10.2.1; expectations computed by hand from the
 * clauses cited next to each test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test-usim-common.h"

#define SEL_ADF "00a4040410" TC_AID_USIM
#define SEL_ADF_NODATA "00a4040c10" TC_AID_USIM
#define VERIFY_PIN1 "0020000108" TC_PIN1
#define VERIFY_ADM "002000 0a 08" TC_ADM1

/* FCP of EF.ICCID (2FE2) as TS 102 221 11.1.1.3.2 lays it out: descriptor
 * (shareable transparent), FID, life cycle (operational activated), ARR
 * reference 2F06 record 1, size 10, SFI 02. */
#define FCP_ICCID                                                              \
	"6217 82024121 83022fe2 8a0105 8b032f0601 8002000a 880110"

static void atr(void **state)
{
	struct tc *t = *state;
	uint8_t a[USIM_ATR_MAX];
	size_t n = 0;
	uint8_t x = 0;

	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, a, sizeof(a),
					   &n),
			 0);
	assert_int_equal(n, usim_default_atr_len);
	assert_memory_equal(a, usim_default_atr, n);
	assert_int_equal(a[0], 0x3b);
	/* TCK: the XOR of T0..TCK is zero (ISO/IEC 7816-3 8.2.5). */
	for (size_t i = 1; i < n; i++)
		x ^= a[i];
	assert_int_equal(x, 0);
	/* T=0 first offered protocol: TD1 low nibble. */
	assert_int_equal(a[3] & 0x0f, 0);

	memcpy(t->p->atr, "\x3b\x02\x14\x50", 4);
	t->p->atr_len = 4;
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_WARM, a, sizeof(a),
					   &n),
			 0);
	assert_int_equal(n, 4);
	assert_memory_equal(a, "\x3b\x02\x14\x50", 4);
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_WARM, a, 3, &n),
			 -ENOBUFS);
}

/* What srsUE and commercial modems send at start-up. */
static void startup_sequence(void **state)
{
	struct tc *t = *state;
	size_t l;

	/* STATUS, Le = 00: FCP of the MF at once (Annex C.1.2). */
	assert_int_equal(tc_tx(t, "80f2000000"), 0x9000);
	tc_expect_do(t, 0x83, "3f00");
	tc_expect_do(t, 0x82, "7821");
	tc_expect_do(t, 0xa5, "800171");
	/* PIN status template: PIN1, UPIN, ADM1 enabled; qualifier on
	 * PIN1 (TS 102 221 9.5.2). */
	tc_expect_do(t, 0xc6, "9001e0 950108 830101 830111 83010a");
	assert_null(tc_fcp_do(t, 0x8b, &l));

	/* SELECT EF.ICCID as a T=0 case 4 (no Le): 61XX, GET RESPONSE. */
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "00c0000019", FCP_ICCID "9000");
	tc_expect(t, "00b000000a", "98101400000000000031 9000");

	/* EF.DIR: linear fixed 4 x 32, SFI 1E. */
	tc_expect(t, "00a40004022f00", "611c");
	tc_expect(t, "00c000001c",
		  "621a 82054221002004 83022f00 8a0105 8b032f0601 80020080 "
		  "8801f0 9000");
	assert_int_equal(tc_tx(t, "00b2010420"), 0x9000);
	assert_string_equal(tc_data_hex(t),
			    "61184f10" TC_AID_USIM "50045553494d"
			    "ffffffffffff");

	/* The USIM by AID from EF.DIR, FCP with the DF name. */
	tc_expect(t, SEL_ADF, "6138");
	assert_int_equal(tc_tx(t, "00c0000000"), 0x9000);
	tc_expect_do(t, 0x84, TC_AID_USIM);
	tc_expect_do(t, 0x82, "7821");
	tc_expect_do(t, 0x8b, "2f0601");
	/* ADF: PIN1, PIN2 (local), UPIN, ADM1. */
	tc_expect_do(t, 0xc6,
		     "9001f0 950108 830101 830181 830111 83010a");

	/* EF.IMSI needs PIN1 (ARR rule 3). */
	tc_expect(t, "00a4000c026f07", "9000");
	tc_expect(t, "00b0000009", "6982");
	tc_expect(t, VERIFY_PIN1, "9000");
	tc_expect(t, "00b0000009", "080910101032547698 9000");
	tc_expect(t, "00a4000c026fad", "9000");
	tc_expect(t, "00b0000004", "00000002 9000");
	tc_expect(t, "00a4000c026f38", "9000");
	tc_expect(t, "00b0000011",
		  "0000000420000000000000000000001800 9000");
	/* Keep-alive STATUS with "no data" and the application's AID. */
	tc_expect(t, "80f2000c00", "9000");
	tc_expect(t, "80f2000c", "9000");
	tc_expect(t, "80f2010100", "8410" TC_AID_USIM "9000");
}

/* Extended-length whole APDUs as IoT modems send them. */
static void extended_apdus(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "00a40804 000002 2fe2 0168", FCP_ICCID "9000");
	tc_expect(t, "00b00000 000000", "98101400000000000031 9000");
	tc_expect(t, "00b00000 000004", "98101400 9000");
	/* Short case 4 with Le: the data comes at once. */
	tc_expect(t, "00a4000402 2fe2 00", FCP_ICCID "9000");
	/* Le shorter than the data: Le bytes, then 61XX for the rest. */
	tc_expect(t, "00a4000402 2fe2 10",
		  "62178202412183022fe28a01058b032f 6109");
	tc_expect(t, "00c0000009", "06018002000a880110 9000");
	/* Case 3E with nothing to answer. */
	tc_expect(t, "00a4000c 000002 3f00", "9000");
	/* Inconsistent extended lengths. */
	tc_expect(t, "00a40804 000000", "6700");
	tc_expect(t, "00a40804 000003 2fe2", "6700");
	tc_expect(t, "00a40804 0000", "6700");
}

/* SELECT by FID follows 8.4.1. */
static void select_fid_rules(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "00a4000c027f10", "9000"); /* child DF */
	tc_expect(t, "00a4000c026f3a", "9000"); /* its EF */
	tc_expect(t, "00a4000c027f10", "9000"); /* current DF itself */
	tc_expect(t, "00a4000c022f00", "6a82"); /* EF of the parent: no */
	tc_expect(t, "00a4000c023f00", "9000"); /* MF */
	tc_expect(t, "00a4000c022f00", "9000");
	tc_expect(t, "00a4000c027fff", "6a82"); /* no application yet */
	tc_expect(t, "00a4000c026f07", "6a82"); /* not below the MF */
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c025fc0", "9000"); /* DF.5GS in the ADF */
	tc_expect(t, "00a4000c024f0a", "9000");
	tc_expect(t, "00a4000c027f10", "6a82"); /* not a sibling of 5FC0 */
	tc_expect(t, "00a4000c027fff", "9000"); /* back to the ADF */
	tc_expect(t, "00a4000c027f10", "9000"); /* DF sibling of the ADF */
	/* P1 01 child DF, 02 EF, 03 parent. */
	tc_expect(t, "00a4000c023f00", "9000");
	tc_expect(t, "00a4010c027f10", "9000");
	tc_expect(t, "00a4010c026f3a", "6a82"); /* an EF, not a DF */
	tc_expect(t, "00a4020c026f3a", "9000");
	tc_expect(t, "00a4030c", "9000"); /* parent of 7F10 is the MF */
	tc_expect_sw(t, "80f2000000", 0x9000);
	tc_expect_do(t, 0x83, "3f00");
	tc_expect(t, "00a4030c", "6a82"); /* the MF has no parent */
	tc_expect(t, "00a4000c03 3f0000", "6700");
	tc_expect(t, "00a4000c01 3f", "6700");
	tc_expect(t, "00a4000c", "9000"); /* no data: the MF */
	tc_expect(t, "00a4050c023f00", "6a86");
	tc_expect(t, "00a4008c023f00", "6a86");
	/* '00' return as FCP (GSM-era terminals). */
	tc_expect(t, "00a40000023f00", "6127");
}

static void select_path(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "00a4080c027fff", "6a82"); /* no application */
	tc_expect(t, "00a4080c047f106f3a", "9000");
	tc_expect(t, "00a4080c063f007f106f3a", "9000"); /* MF named */
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4080c047fff6f07", "9000");
	tc_expect(t, "00a4080c067fff5fc04f07", "9000");
	tc_expect(t, "00a4080c062fe26f076f07", "6a82"); /* EF in path */
	tc_expect(t, "00a4080c036f07ff", "6700");
	tc_expect(t, "00a4080c00", "6700");
	/* From the current DF (the ADF here, since 4F07's DF is 5FC0). */
	tc_expect(t, "00a4090c024f0a", "9000");
	tc_expect(t, "00a4090c026f07", "6a82");
	tc_expect(t, "00a4090c047fff6f07", "9000");
	/* Longer than any tree. */
	tc_expect(t, "00a4080c0e7fff7fff7fff7fff7fff7fff7fff", "6a82");
}

static void select_aid(void **state)
{
	struct tc *t = *state;

	/* Partial AID (RID + application code): first occurrence. */
	tc_expect(t, "00a4040c07a0000000871002", "9000");
	tc_expect(t, "80f2000100", "8410" TC_AID_USIM "9000");
	/* Next occurrence: the second USIM, then none. */
	tc_expect(t, "00a4040e07a0000000871002", "9000");
	tc_expect(t, "80f2000100", "8410" TC_AID_USIM2 "9000");
	tc_expect(t, "00a4040e07a0000000871002", "6a82");
	/* Next occurrence when the current application does not match:
	 * the first one. */
	tc_expect(t, "00a4040c10" TC_AID_ISIM, "9000");
	tc_expect(t, "00a4040e07a0000000871002", "9000");
	tc_expect(t, "80f2000100", "8410" TC_AID_USIM "9000");
	tc_expect(t, "00a4040c05a000000087", "9000");
	tc_expect(t, "00a4040c05a000000088", "6a82");
	tc_expect(t, "00a4040c11" TC_AID_USIM "00", "6700");
	tc_expect(t, "00a4040d05a000000087", "6a81"); /* last occurrence */
	tc_expect(t, "00a4000e023f00", "6a86");
	/* Termination of the application session (P2 b7). */
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4044c10" TC_AID_ISIM, "6985");
	tc_expect(t, "00a4044c10" TC_AID_USIM, "9000");
	tc_expect(t, "80f2000100", "6a88");
	tc_expect(t, "00a4000c027fff", "6a82");
}

static void read_update_binary(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "00a4000c022fe2", "9000");
	/* Past the end: on T=0 P3 fixes the length, so '6CXX' with what
	 * there is (ISO/IEC 7816-3 12.2.3); the apdu transport answers the
	 * bytes with '6282' (see transport_apdu). */
	tc_expect(t, "00b0000803", "6c02");
	tc_expect(t, "00b0000802", "0031 9000");
	tc_expect(t, "00b0000800", "0031 9000");  /* Le 00: what there is */
	tc_expect(t, "00b0000a01", "6b00");       /* offset outside */
	tc_expect(t, "00b00100 01", "6b00");
	tc_expect(t, "00b00000", "6700");         /* no Le */
	tc_expect(t, "00b0000001 00", "6700");    /* data in a read */
	/* UPDATE needs ADM1 (rule 1). */
	tc_expect(t, "00d6000002aabb", "6982");
	assert_int_equal(t->n_changes, 0);
	tc_expect(t, VERIFY_ADM, "9000");
	tc_expect(t, "00d6000802aabb", "9000");
	assert_int_equal(t->n_changes, 1);
	assert_int_equal(t->changes[0].kind, USIM_CHANGE_EF);
	assert_int_equal(t->changes[0].index, t->ef_iccid);
	assert_int_equal(t->changes[0].offset, 8);
	assert_int_equal(t->changes[0].len, 2);
	assert_memory_equal(t->p->files[t->ef_iccid].data + 8, "\xaa\xbb", 2);
	tc_expect(t, "00b000000a", "9810140000000000aabb 9000");
	tc_expect(t, "00d6000903aabbcc", "6700"); /* beyond the end */
	tc_expect(t, "00d600000b" "0102030405060708090a0b", "6700");
	tc_expect(t, "00d60000", "6700");
	tc_expect(t, "00d6000b01aa", "6b00");
	assert_int_equal(t->n_changes, 0);
	/* A record EF with a binary command; no EF selected. */
	tc_expect(t, "00a4000c022f00", "9000");
	tc_expect(t, "00b0000001", "6981");
	tc_expect(t, "00a4000c023f00", "9000");
	tc_expect(t, "00b0000001", "6986");
	tc_expect(t, "00d6000001aa", "6986");
}

/* SFI in P1 (READ/UPDATE BINARY) and P2 (records), 11.1.3.2, 11.1.5.2. */
static void sfi(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "00b0820002", "9810 9000"); /* EF.ICCID, SFI 02 */
	tc_expect(t, "00b0820102", "1014 9000");
	tc_expect(t, "00b09e0001", "6981");      /* EF.DIR: records */
	tc_expect(t, "00b0000001", "6981");      /* EF.DIR is current */
	tc_expect(t, "00b0800001", "6a86");      /* SFI 0 */
	tc_expect(t, "00d6820001 ff", "6982");   /* ADM1 needed */
}

static void sfi_records(void **state)
{
	struct tc *t = *state;

	/* EF.DIR by SFI 1E: P2 = 1E << 3 | 4. */
	assert_int_equal(tc_tx(t, "00b201f420"), 0x9000);
	assert_string_equal(tc_data_hex(t), "61184f10" TC_AID_USIM
			    "50045553494dffffffffffff");
	/* SFI + NEXT: record 1 (absolute reads leave the pointer alone),
	 * then NEXT on the current EF, which the SFI made EF.DIR. */
	assert_int_equal(tc_tx(t, "00b200f220"), 0x9000);
	assert_int_equal(t->rsp[4], 0xa0);
	assert_int_equal(tc_tx(t, "00b2000220"), 0x9000);
	assert_string_equal(tc_data_hex(t), "61184f10" TC_AID_USIM2
			    "5004555349" "32ffffffffffff");
	tc_expect(t, "00b0830001", "6a82");  /* SFI 3 not in the MF */
	tc_expect(t, "00b0e00001", "6a86");  /* P1 b7-b6 set */
	tc_expect(t, "00b2 01 fc 20", "6a86"); /* SFI 31 */
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, VERIFY_PIN1, "9000");
	tc_expect(t, "00b0870009", "080910101032547698 9000"); /* 6F07 */
	tc_expect(t, "00b0830104", "6c03");  /* T=0: past the end */
	tc_expect(t, "00b0830103", "000002 9000");
	/* UPDATE BINARY by SFI: LOCI (SFI 0B) with PIN1. */
	tc_expect(t, "00d68b0402 1234", "9000");
	assert_int_equal(tc_changes(t, USIM_CHANGE_EF, t->ef_loci), 1);
	tc_expect(t, "00b08b000b", "ffffffff123410fffe0000 9000");
}

static void records(void **state)
{
	struct tc *t = *state;
	char apdu[128];

	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4080c047f106f3a", "9000");
	tc_expect(t, "00b2010400", "6982"); /* rule 2: PIN1 */
	tc_expect(t, VERIFY_PIN1, "9000");
	/* Write records 1..3 (absolute): first byte = record number. */
	for (unsigned r = 1; r <= 3; r++) {
		snprintf(apdu, sizeof(apdu), "00dc%02x041e%02x%058x", r, r, 0);
		tc_expect(t, apdu, "9000");
		assert_int_equal(t->n_changes, 1);
		assert_int_equal(t->changes[0].kind, USIM_CHANGE_EF);
		assert_int_equal(t->changes[0].index, t->ef_adn);
		assert_int_equal(t->changes[0].record, r);
		assert_int_equal(t->changes[0].offset, (r - 1) * 30);
		assert_int_equal(t->changes[0].len, 30);
	}
	/* Absolute reads do not move the record pointer (11.1.5.1). */
	assert_int_equal(tc_tx(t, "00b203041e"), 0x9000);
	assert_int_equal(t->rsp[0], 3);
	tc_expect(t, "00b200041e", "6a83");  /* no current record yet */
	assert_int_equal(tc_tx(t, "00b200021e"), 0x9000); /* next: 1 */
	assert_int_equal(t->rsp[0], 1);
	assert_int_equal(tc_tx(t, "00b200021e"), 0x9000); /* next: 2 */
	assert_int_equal(t->rsp[0], 2);
	assert_int_equal(tc_tx(t, "00b200041e"), 0x9000); /* current */
	assert_int_equal(t->rsp[0], 2);
	assert_int_equal(tc_tx(t, "00b200031e"), 0x9000); /* previous */
	assert_int_equal(t->rsp[0], 1);
	tc_expect(t, "00b200031e", "6a83"); /* linear: no wrap */
	tc_expect(t, "00b205041e", "ffffffffffffffffffffffffffffffffffffffff"
		  "ffffffffffffffffffff 9000");
	assert_int_equal(tc_tx(t, "00b200021e"), 0x9000); /* still 1 -> 2 */
	assert_int_equal(t->rsp[0], 2);
	/* Wrong Le: the record length comes back in 6CXX (T=0). */
	tc_expect(t, "00b2010410", "6c1e");
	snprintf(apdu, sizeof(apdu), "01%058x 9000", 0);
	tc_expect(t, "00b2010400", apdu);
	tc_expect(t, "00b2060400", "6a83");
	snprintf(apdu, sizeof(apdu), "02%058x 9000", 0);
	tc_expect(t, "00b2000400", apdu);
	tc_expect(t, "00b2010500", "6a86"); /* mode 5 */
	tc_expect(t, "00b2010200", "6a86"); /* NEXT with P1 != 0 */
	snprintf(apdu, sizeof(apdu), "00dc01041d%058x", 0);
	tc_expect(t, apdu, "6700");
	tc_expect(t, "00b2010400 00", "6700");
	/* UPDATE RECORD NEXT moves the pointer: 2 -> 3. */
	snprintf(apdu, sizeof(apdu), "00dc00021eaa%058x", 0);
	tc_expect(t, apdu, "9000");
	assert_int_equal(t->changes[0].record, 3);
	assert_int_equal(tc_tx(t, "00b200041e"), 0x9000);
	assert_int_equal(t->rsp[0], 0xaa);
	/* Binary command on a record EF, record command on a transparent. */
	tc_expect(t, "00b0000001", "6981");
	tc_expect(t, "00a4000c022f00", "6a82");
	tc_expect(t, "00a4080c022fe2", "9000");
	tc_expect(t, "00b2010400", "6981");
}

static void cyclic_and_increase(void **state)
{
	struct tc *t = *state;

	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f39", "9000");
	tc_expect(t, "00b2010403", "6982");
	tc_expect(t, VERIFY_PIN1, "9000");
	tc_expect(t, "00b2010403", "000010 9000");
	/* INCREASE (11.1.8): T=0 case 4, new value then the value added. */
	tc_expect(t, "8032000003000005", "6106");
	assert_int_equal(tc_changes(t, USIM_CHANGE_EF, t->ef_acm), 1);
	assert_int_equal(t->changes[0].offset, 0);
	assert_int_equal(t->changes[0].len, 15);
	tc_expect(t, "00c0000006", "000015000005 9000");
	tc_expect(t, "00b2010403", "000015 9000");
	tc_expect(t, "00b2020403", "000010 9000");
	tc_expect(t, "8032000001ff", "6104");
	tc_expect(t, "00c0000000", "000114ff 9000");
	tc_expect(t, "8032000004 00000001", "6700"); /* longer than record */
	tc_expect(t, "8032010001 01", "6a86");
	/* Cyclic NEXT wraps around; PREVIOUS from none gives the oldest. */
	tc_expect(t, "00b2050403", "ffffff 9000");
	assert_int_equal(tc_tx(t, "00b2000303"), 0x9000); /* prev: 5 */
	assert_string_equal(tc_data_hex(t), "ffffff");
	tc_expect(t, "00b2000203", "000114 9000"); /* next from 5: 1 */
	/* Update on the cyclic file: rule 6 says never for UPDATE. */
	tc_expect(t, "00dc000303 010203", "6982");
	/* Overflow: '9850' and nothing changes. */
	memcpy(t->p->files[t->ef_acm].data, "\xff\xff\xfe", 3);
	tc_expect(t, "8032000001 02", "9850");
	assert_int_equal(t->n_changes, 0);
	tc_expect(t, "00b2010403", "fffffe 9000");
	/* INCREASE on a linear file. */
	tc_expect(t, "00a4000c026f3b", "9000");
	tc_expect(t, "8032000001 01", "6981");
}

static void cyclic_update(void **state)
{
	struct tc *t = *state;

	/* Rule 7 on EF.SPN allows update; make ACM use it to test the
	 * cyclic UPDATE RECORD (PREVIOUS only). */
	t->p->files[t->ef_acm].arr_record = 7;
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f39", "9000");
	tc_expect(t, "00dc010403 010203", "6a86");
	tc_expect(t, "00dc000303 010203", "9000");
	tc_expect(t, "00dc000303 040506", "9000");
	tc_expect(t, "00b2010403", "040506 9000");
	tc_expect(t, "00b2020403", "010203 9000");
	tc_expect(t, "00b2030403", "000010 9000");
}

/* UPDATE RECORD absolute with a 30-byte record starting with prefix. */
static void adn_record(struct tc *t, unsigned r, const char *prefix)
{
	char apdu[160];
	size_t n = strlen(prefix) / 2;

	snprintf(apdu, sizeof(apdu), "00dc%02x041e%s", r, prefix);
	for (size_t i = n; i < 30; i++)
		strcat(apdu, "00");
	tc_expect(t, apdu, "9000");
}

static void search_record(void **state)
{
	struct tc *t = *state;
	char apdu[160];

	tc_expect(t, "00a4080c047f106f3a", "9000");
	tc_expect(t, VERIFY_PIN1, "9000");
	adn_record(t, 1, "414243ff");
	adn_record(t, 3, "414244ff");
	adn_record(t, 4, "414243ff");
	/* Simple search forward from record 1: records 1 and 4. */
	tc_expect(t, "00a2010403414243", "6102");
	tc_expect(t, "00c0000002", "0104 9000");
	tc_expect(t, "00a2010401 41 00", "010304 9000");
	/* Backward from record 5. */
	tc_expect(t, "00a2050502 4142 00", "040301 9000");
	tc_expect(t, "00a2010403 5a5a5a 00", "6a83");
	/* Enhanced search, offset 2: 'C' at byte 3. */
	tc_expect(t, "00a20106 03 0402 43 00", "0104 9000");
	/* Enhanced, value mode: "BD" right after the first 'A'. */
	tc_expect(t, "00a20106 04 0c41 4244 00", "03 9000");
	/* The first match is the current record now: search from next. */
	tc_expect(t, "00a20006 03 0600 41 00", "04 9000");
	tc_expect(t, "00a20107 01 41", "6a86");
	tc_expect(t, "00a2060401 41", "6a83");
	snprintf(apdu, sizeof(apdu), "00a201041f%062x", 0);
	tc_expect(t, apdu, "6700");
}

static void access_conditions(void **state)
{
	struct tc *t = *state;

	tc_expect(t, SEL_ADF_NODATA, "9000");
	/* Rule 4: never, even for ADM. */
	tc_expect(t, VERIFY_ADM, "9000");
	tc_expect(t, "00a4000c026fc4", "9000");
	tc_expect(t, "00b0000001", "6982");
	tc_expect(t, "00d6000001 00", "6982");
	/* The ADF's own EF.ARR 6F06 (nearest first, 9.2.7): always. */
	tc_expect(t, "00a4000c026f05", "9000");
	tc_expect(t, "00d6000002 6465", "9000");
	/* Rule 5: update with PIN2. */
	tc_expect(t, "00a4000c026f3b", "9000");
	tc_expect(t, "00b2010410", "ffffffffffffffffffffffffffffffff 9000");
	tc_expect(t, "00dc010410 00000000000000000000000000000000", "6982");
	tc_expect(t, "0020008108" TC_PIN2, "9000");
	tc_expect(t, "00dc010410 00000000000000000000000000000000", "9000");
}

static void access_or_and(void **state)
{
	struct tc *t = *state;

	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f60", "9000");
	/* Rule 8: read with PIN1 OR PIN2. */
	tc_expect(t, "00b0000005", "6982");
	tc_expect(t, "0020008108" TC_PIN2, "9000");
	tc_expect(t, "00b0000005", "0102030405 9000");
	/* Update with PIN1 AND ADM1. */
	tc_expect(t, "00d6000001 aa", "6982");
	tc_expect(t, VERIFY_PIN1, "9000");
	tc_expect(t, "00d6000001 aa", "6982");
	tc_expect(t, VERIFY_ADM, "9000");
	tc_expect(t, "00d6000001 aa", "9000");
	/* Verification status ends with a reset. */
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_WARM, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f60", "9000");
	tc_expect(t, "00b0000005", "6982");
}

static void pin_block_unblock(void **state)
{
	struct tc *t = *state;
	struct usim_pin *pin1 = usim_profile_pin(t->p, USIM_KEYREF_PIN1);
	long i1 = pin1 - t->p->pins;

	tc_expect(t, "0020000100", "63c3"); /* counter, no data */
	tc_expect(t, "00200001", "63c3");
	tc_expect(t, "0020000108 3131313131313131", "63c2");
	assert_int_equal(tc_changes(t, USIM_CHANGE_PIN, i1), 1);
	assert_int_equal(pin1->tries_left, 2);
	tc_expect(t, "0020000108 3131313131313131", "63c1");
	tc_expect(t, VERIFY_PIN1, "9000"); /* resets the counter */
	assert_int_equal(tc_changes(t, USIM_CHANGE_PIN, i1), 1);
	assert_int_equal(pin1->tries_left, 3);
	tc_expect(t, VERIFY_PIN1, "9000");
	assert_int_equal(t->n_changes, 0); /* nothing changed */
	tc_expect(t, "0020000100", "9000"); /* verified */
	for (unsigned k = 3; k-- > 0;) {
		char sw[16];

		snprintf(sw, sizeof(sw), "63c%x", k);
		tc_expect(t, "0020000108 3131313131313131", sw);
	}
	tc_expect(t, VERIFY_PIN1, "6983"); /* blocked */
	tc_expect(t, "0020000100", "6983");
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f07", "9000");
	tc_expect(t, "00b0000009", "6982");
	/* UNBLOCK PIN (11.1.13): counter, wrong PUK, right PUK. */
	tc_expect(t, "002c000100", "63ca");
	tc_expect(t, "002c000110 3030303030303030 39393939ffffffff", "63c9");
	assert_int_equal(pin1->puk_tries_left, 9);
	tc_expect(t, "002c000110" TC_PUK1 "3939ffffffffffff", "6a80");
	tc_expect(t, "002c000108" TC_PUK1, "6700");
	tc_expect(t, "002c000110" TC_PUK1 "39393939ffffffff", "9000");
	assert_int_equal(tc_changes(t, USIM_CHANGE_PIN, i1), 1);
	assert_int_equal(pin1->tries_left, 3);
	assert_int_equal(pin1->puk_tries_left, 10);
	assert_memory_equal(pin1->value, "9999\xff\xff\xff\xff", 8);
	tc_expect(t, "00b0000009", "080910101032547698 9000");
	/* UNBLOCK also enables a disabled PIN (11.1.13.1.1). */
	tc_expect(t, "002600010839393939ffffffff", "9000");
	assert_false(pin1->enabled);
	tc_expect(t, "002c000110" TC_PUK1 "38383838ffffffff", "9000");
	assert_true(pin1->enabled);
	/* Unknown key reference; P1; length. */
	tc_expect(t, "0020000208" TC_PIN1, "6a88");
	tc_expect(t, "0020010108" TC_PIN1, "6a86");
	tc_expect(t, "0020000104 31323334", "6700");
	/* No PUK for the ADM key. */
	tc_expect(t, "002c000a00", "6985");
}

static void puk_blocked(void **state)
{
	struct tc *t = *state;
	struct usim_pin *pin2 = usim_profile_pin(t->p, USIM_KEYREF_PIN2);

	for (unsigned k = 10; k-- > 0;) {
		char sw[16];

		snprintf(sw, sizeof(sw), "63c%x", k);
		tc_expect(t, "002c008110 3030303030303030 39393939ffffffff",
			  sw);
	}
	assert_int_equal(pin2->puk_tries_left, 0);
	tc_expect(t, "002c008110" TC_PUK2 "39393939ffffffff", "6983");
	tc_expect(t, "002c008100", "6983");
}

static void pin_change_disable_enable(void **state)
{
	struct tc *t = *state;
	struct usim_pin *pin1 = usim_profile_pin(t->p, USIM_KEYREF_PIN1);

	/* CHANGE PIN (11.1.10). */
	tc_expect(t, "0024000110 3131313131313131 35353535ffffffff", "63c2");
	tc_expect(t, "0024000110" TC_PIN1 "35ffffffffffffff", "6a80");
	tc_expect(t, "0024000110" TC_PIN1 "35353535ffffffff", "9000");
	assert_memory_equal(pin1->value, "5555\xff\xff\xff\xff", 8);
	assert_int_equal(pin1->tries_left, 3);
	tc_expect(t, "0024000108" TC_PIN1, "6700");
	/* DISABLE PIN (11.1.11) with the new value. */
	tc_expect(t, "0026000108" TC_PIN1, "63c2");
	tc_expect(t, "002600010835353535ffffffff", "9000");
	assert_false(pin1->enabled);
	tc_expect(t, "002600010835353535ffffffff", "6985"); /* already */
	tc_expect(t, "002000010835353535ffffffff", "6984");
	/* A disabled PIN satisfies the access condition after reset. */
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect_sw(t, "80f2000000", 0x9000);
	tc_expect_do(t, 0xc6, "900160 950108 830101 830111 83010a");
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f07", "9000");
	tc_expect(t, "00b0000009", "080910101032547698 9000");
	/* ENABLE PIN (11.1.12). */
	tc_expect(t, "0028000108 3131313131313131", "63c2");
	tc_expect(t, "002800010835353535ffffffff", "9000");
	assert_true(pin1->enabled);
	tc_expect(t, "002800010835353535ffffffff", "6985");
	/* ADM cannot be disabled. */
	tc_expect(t, VERIFY_ADM, "9000");
	tc_expect(t, "0026000a08" TC_ADM1, "6985");
}

static void pin_universal(void **state)
{
	struct tc *t = *state;
	struct usim_pin *pin1 = usim_profile_pin(t->p, USIM_KEYREF_PIN1);
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	/* DISABLE PIN1 with P1 '91': replaced by the universal PIN. */
	tc_expect(t, "0026910108" TC_PIN1, "9000");
	assert_true(pin1->use_upin);
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect_sw(t, SEL_ADF, 0x6138);
	tc_expect_sw(t, "00c0000000", 0x9000);
	/* The usage qualifier now stands before the UPIN's key reference. */
	tc_expect_do(t, 0xc6, "900170 830101 830181 950108 830111 83010a");
	tc_expect(t, "00a4000c026f07", "9000");
	tc_expect(t, "00b0000009", "6982");
	tc_expect(t, "0020001108" TC_UPIN, "9000");
	tc_expect(t, "00b0000009", "080910101032547698 9000");
	/* '91' only for application PINs. */
	tc_expect(t, "0026918108" TC_PIN2, "6a86");
	tc_expect(t, "0026920108" TC_PIN1, "6a86");
}

static void channels(void **state)
{
	struct tc *t = *state;
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	/* Open: the card assigns channel 1 (11.1.17). */
	tc_expect(t, "0070000001", "01 9000");
	tc_expect(t, "01a4040c10" TC_AID_USIM, "9000");
	tc_expect(t, "81f2000100", "8410" TC_AID_USIM "9000");
	/* The basic channel still has the MF and no application. */
	tc_expect(t, "80f2000100", "6a88");
	tc_expect_sw(t, "80f2000000", 0x9000);
	tc_expect_do(t, 0x83, "3f00");
	/* 7FFF on channel 1 is its own application. */
	tc_expect(t, "01a4080c047fff6f07", "9000");
	tc_expect(t, "00a4080c047fff6f07", "6a82");
	/* Channel 2 opened from channel 1 inherits the application. */
	tc_expect(t, "0170000001", "02 9000");
	tc_expect(t, "82f2000100", "8410" TC_AID_USIM "9000");
	/* Ask for channel 5, use it with '41' and '61' (further classes). */
	tc_expect(t, "00700005", "9000");
	tc_expect(t, "00700005", "6985");
	tc_expect(t, "41a4040c10" TC_AID_ISIM, "9000");
	tc_expect(t, "c1f2000100", "8410" TC_AID_ISIM "9000");
	tc_expect(t, "61a4000c023f00", "9000");
	tc_expect(t, "e1f2000100", "8410" TC_AID_ISIM "9000");
	/* Channels not open. */
	tc_expect(t, "03a4000c023f00", "6881");
	tc_expect(t, "4fa4000c023f00", "6881"); /* channel 19 */
	tc_expect(t, "00700014", "6881");       /* channel 20 */
	/* Close channel 2 from channel 0, channel 1 itself with P2 00. */
	tc_expect(t, "00708002", "9000");
	tc_expect(t, "82f2000c", "6881");
	tc_expect(t, "01708000", "9000");
	tc_expect(t, "81f2000c", "6881");
	tc_expect(t, "00708000", "6a86"); /* not the basic channel */
	tc_expect(t, "00708003", "6881");
	tc_expect(t, "0070400000", "6a86");
	tc_expect(t, "007000000101", "6700");
	/* Open all: 1..19 except 5, then no more. */
	for (unsigned c = 1; c < USIM_MAX_CHANNELS; c++) {
		if (c == 5)
			continue;
		assert_int_equal(tc_tx(t, "0070000001"), 0x9000);
		assert_int_equal(t->rsp[0], c);
	}
	tc_expect(t, "0070000001", "6a81");
	tc_expect(t, "cff2000c", "9000");
	/* A reset closes them all. */
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_WARM, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, "81f2000c", "6881");
	tc_expect(t, "0070000001", "01 9000");
}

static void get_response_rules(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "00c0000000", "6f00");  /* nothing pending */
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "00c0000020", "6c19");  /* more than there is */
	tc_expect(t, "00c0000010", "62178202412183022fe28a01058b032f 6109");
	tc_expect(t, "00c0000009", "06018002000a880110 9000");
	tc_expect(t, "00c0000009", "6f00");  /* consumed */
	/* Another command in between loses the data (12.1.1). */
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "80f2000c", "9000");
	tc_expect(t, "00c0000019", "6f00");
	/* On another channel it is lost as well. */
	tc_expect(t, "0070000001", "01 9000");
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "01c0000019", "6f00");
	tc_expect(t, "00c0000019", "6f00");
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "00c0010019", "6a86");
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "80c0000019", "6e00");
	tc_expect(t, "00c0000019", "6f00");
}

static void bad_input(void **state)
{
	struct tc *t = *state;
	static const struct {
		const char *apdu;
		unsigned sw;
	} cases[] = {
		{ "", 0x6700 },
		{ "00", 0x6700 },
		{ "00a4", 0x6700 },
		{ "00a400", 0x6700 },
		{ "00a4000402 3f", 0x6700 },        /* short data */
		{ "00a4000402 3f0000 00", 0x6700 }, /* trailing bytes */
		{ "00a4000400 00", 0x6700 },        /* '00' then 1 byte */
		{ "a0a40000023f00", 0x6e00 },       /* GSM class */
		{ "20a4000c023f00", 0x6e00 },
		{ "ffa4000c023f00", 0x6e00 },
		{ "0ca4000c023f00", 0x6882 },       /* secure messaging */
		{ "10a4000c023f00", 0x6884 },       /* chaining */
		{ "50a4000c023f00", 0x6884 },
		{ "00ee000000", 0x6d00 },           /* unknown INS */
		{ "0084000008", 0x6d00 },           /* GET CHALLENGE */
		{ "00f2000000", 0x6e00 },           /* STATUS in class 00 */
		{ "80a4000c023f00", 0x6e00 },       /* SELECT in class 80 */
		{ "0010000001ff", 0x6e00 },         /* TERMINAL PROFILE */
		{ "80f2030000", 0x6a86 },
		{ "80f2000200", 0x6a86 },
		{ "80f2000001 00", 0x6700 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tc_expect_sw(t, cases[i].apdu, cases[i].sw);
	/* A NULL command and API misuse. */
	size_t n;

	assert_int_equal(usim_engine_process(t->e, NULL, 0, t->rsp,
					     sizeof(t->rsp), &n, NULL, NULL),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(usim_engine_process(t->e, (const uint8_t *)"\0\xa4\0\0",
					     4, t->rsp, USIM_RSP_MIN - 1, &n,
					     NULL, NULL),
			 -EINVAL);
	assert_int_equal(usim_engine_process(NULL, (const uint8_t *)"\0\xa4\0\0",
					     4, t->rsp, sizeof(t->rsp), &n,
					     NULL, NULL),
			 -EINVAL);
	/* Longer than any APDU. */
	uint8_t *big = calloc(1, USIM_CMD_MAX + 1);

	assert_non_null(big);
	memcpy(big, "\x00\xd6\x00\x00\x00\xff\xff", 7);
	assert_int_equal(tc_txb(t, big, USIM_CMD_MAX + 1), 0x6700);
	/* The largest extended UPDATE BINARY is well formed. */
	assert_int_equal(tc_txb(t, big, 7 + 65535), 0x6986);
	free(big);
}

/* A copy of everything persistent in the profile, kept up to date only
 * through the change records: any difference is a hidden change. */
struct shadow {
	uint8_t *data[64];
	uint8_t lcs[64];
	struct usim_pin pins[USIM_MAX_PINS];
	struct aka_sqn_state sqn;
};

static void shadow_take(struct shadow *sh, const struct usim_profile *p)
{
	assert_true(p->n_files <= 64);
	for (size_t i = 0; i < p->n_files; i++) {
		free(sh->data[i]);
		sh->data[i] = malloc(p->files[i].size + 1);
		memcpy(sh->data[i], p->files[i].data ? p->files[i].data :
						       (const uint8_t *)"",
		       p->files[i].size);
		sh->lcs[i] = p->files[i].lcs;
	}
	memcpy(sh->pins, p->pins, sizeof(sh->pins));
	sh->sqn = p->sqn;
}

static void shadow_apply(struct shadow *sh, const struct usim_profile *p,
			 const struct usim_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct usim_file *f;

		switch (c[i].kind) {
		case USIM_CHANGE_EF:
			f = &p->files[c[i].index];
			assert_true(c[i].offset + c[i].len <= f->size);
			memcpy(sh->data[c[i].index] + c[i].offset,
			       f->data + c[i].offset, c[i].len);
			break;
		case USIM_CHANGE_FILE_STATE:
			sh->lcs[c[i].index] = p->files[c[i].index].lcs;
			break;
		case USIM_CHANGE_PIN:
			sh->pins[c[i].index] = p->pins[c[i].index];
			break;
		case USIM_CHANGE_SQN:
			sh->sqn.seq_ms[c[i].index] = p->sqn.seq_ms[c[i].index];
			break;
		case USIM_CHANGE_PROACTIVE:
			break;
		}
	}
}

static void shadow_check(const struct shadow *sh, const struct usim_profile *p,
			 const uint8_t *apdu, size_t len)
{
	bool same = !memcmp(sh->pins, p->pins, sizeof(sh->pins)) &&
		    !memcmp(&sh->sqn, &p->sqn, sizeof(sh->sqn));

	for (size_t i = 0; same && i < p->n_files; i++)
		same = sh->lcs[i] == p->files[i].lcs &&
		       !memcmp(sh->data[i], p->files[i].data ?
					       p->files[i].data :
					       (const uint8_t *)"",
			       p->files[i].size);
	if (!same) {
		char h[100] = "";

		for (size_t i = 0; i < len && i < 40; i++)
			sprintf(h + 2 * i, "%02x", apdu[i]);
		fail_msg("hidden state change after %s", h);
	}
}

static void shadow_free(struct shadow *sh)
{
	for (size_t i = 0; i < 64; i++)
		free(sh->data[i]);
}

static unsigned next_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* Random and mutated APDUs: always a status word, never a crash (the
 * ASan/UBSan build runs this too), and every persistent change shows up in
 * the change records. */
static void random_apdus(void **state)
{
	struct tc *t = *state;
	static const uint8_t ins[] = { 0xa4, 0xf2, 0xb0, 0xd6, 0xb2, 0xdc,
				       0xa2, 0x32, 0x20, 0x24, 0x26, 0x28,
				       0x2c, 0x70, 0x76, 0x10, 0xc2, 0x12,
				       0x14, 0x88, 0x78, 0xc0, 0x04, 0x44,
				       0xaa };
	static const uint8_t cla[] = { 0x00, 0x01, 0x80, 0x81, 0x40, 0xc0,
				       0x02, 0x83 };
	/* Valid commands to mutate. */
	static const char *const seeds[] = {
		SEL_ADF, "00a4080c047fff6f07", "00a40004022fe2", "00c0000000",
		"00b0000009", "00d6000002aabb", "00b2010400", "00dc000303010203",
		"8032000003000005", VERIFY_PIN1, VERIFY_ADM, "0070000001",
		"01a4040c10" TC_AID_USIM, "00a2010403414243",
		"80f2000000", "8076000004 0001 010a", "8010000003ffffff",
		"801200000b", "00040000", "00440000026f46",
		"0088008122 10 23553cbe9637a89d218ae64dae47bf35"
		" 10 55f328b43577b9b94a9ffac354dfafb3",
		"0088008011 10 23553cbe9637a89d218ae64dae47bf35",
		"8078000100", "00a40804 000002 2fe2 0168",
		"002c000110" TC_PUK1 "39393939ffffffff",
		"0024000110" TC_PIN1 "35353535ffffffff",
		"0026000108" TC_PIN1, "0028000108" TC_PIN1,
		"801400000c810301010182028281830100",
	};
	static struct shadow sh;
	uint8_t b[300], seedb[64][80];
	size_t seedl[64];
	unsigned seed = 12345, seen[USIM_CHANGE_PROACTIVE + 1] = { 0 };

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		seedl[i] = tc_hex(seeds[i], seedb[i], sizeof(seedb[i]));
	tc_expect(t, VERIFY_ADM, "9000");
	tc_expect(t, VERIFY_PIN1, "9000");
	/* TS 35.208 set 1's SQN is fresh once. */
	t->p->sqn.seq_ms[7] = (0xff9bb4d0b607ull >> 5) - 1;
	memset(&sh, 0, sizeof(sh));
	shadow_take(&sh, t->p);
	for (unsigned i = 0; i < 40000; i++) {
		size_t len;
		unsigned sw, r = next_rand(&seed);

		if (r & 1) {
			/* Random bytes with a plausible header. */
			len = next_rand(&seed) % 40;
			for (size_t k = 0; k < len; k++)
				b[k] = (uint8_t)next_rand(&seed);
			if (len >= 2) {
				b[0] = cla[next_rand(&seed) % sizeof(cla)];
				b[1] = ins[next_rand(&seed) % sizeof(ins)];
			}
			if (len >= 5 && (r & 2))
				b[4] = (uint8_t)(len - 5);
		} else {
			/* A valid command with a few bytes changed, cut or
			 * extended. */
			size_t s = next_rand(&seed) %
				   (sizeof(seeds) / sizeof(seeds[0]));

			len = seedl[s];
			memcpy(b, seedb[s], len);
			for (unsigned m = next_rand(&seed) % 3; m > 0; m--)
				b[next_rand(&seed) % len] =
					(uint8_t)next_rand(&seed);
			if (r & 4)
				len = next_rand(&seed) % (len + 1);
			else if (r & 8)
				b[len++] = (uint8_t)next_rand(&seed);
		}
		sw = tc_txb(t, b, len);
		assert_true(t->rsp_len >= 2 && t->rsp_len <= 258 + 360);
		assert_true((sw >> 8) >= 0x61 && (sw >> 8) <= 0x9f);
		assert_true(t->n_changes <= USIM_MAX_CHANGES);
		shadow_apply(&sh, t->p, t->changes, t->n_changes);
		shadow_check(&sh, t->p, b, len);
		for (size_t k = 0; k < t->n_changes; k++)
			seen[t->changes[k].kind]++;
		if ((i & 255) == 0) {
			int rc = usim_engine_refresh(t->e, USIM_REFRESH_FCN);

			assert_true(rc == 0 || rc == -EBUSY);
		}
		if ((i & 1023) == 0) {
			uint8_t atr[USIM_ATR_MAX];
			size_t n;

			assert_int_equal(usim_engine_reset(t->e,
							   USIM_RESET_COLD, atr,
							   sizeof(atr), &n),
					 0);
			if (i & 2048) {
				tc_txb(t, seedb[10], seedl[10]); /* ADM */
				shadow_apply(&sh, t->p, t->changes,
					     t->n_changes);
			}
		}
	}
	shadow_free(&sh);
	/* The run did reach the state-changing paths. */
	print_message("# changes seen: EF %u, LCS %u, PIN %u, SQN %u, CAT %u\n",
		      seen[USIM_CHANGE_EF], seen[USIM_CHANGE_FILE_STATE],
		      seen[USIM_CHANGE_PIN], seen[USIM_CHANGE_SQN],
		      seen[USIM_CHANGE_PROACTIVE]);
	for (size_t k = 0; k <= USIM_CHANGE_PROACTIVE; k++)
		assert_true(seen[k] > 0);
	/* The card still works (files may have been deactivated). */
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, "00a4000c023f00", "9000");
	tc_expect(t, "80f2000c", "9000");
}

static void refresh_pending(void **state)
{
	struct tc *t = *state;
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_false(usim_engine_proactive_pending(t->e));
	assert_int_equal(usim_engine_refresh(t->e, 7), -EINVAL);
	assert_int_equal(usim_engine_refresh(t->e, USIM_REFRESH_UICC_RESET),
			 0);
	assert_true(usim_engine_proactive_pending(t->e));
	assert_int_equal(usim_engine_refresh(t->e, USIM_REFRESH_INIT), -EBUSY);
	/* No '91XX' before TERMINAL PROFILE. */
	tc_expect(t, "80f2000c", "9000");
	assert_null(usim_engine_terminal_profile(t->e, &n));
	assert_int_equal(n, 0);
	tc_expect(t, "8010000003 ff7f80", "910b");
	assert_memory_equal(usim_engine_terminal_profile(t->e, &n),
			    "\xff\x7f\x80", 3);
	assert_int_equal(n, 3);
	/* Stays pending through other commands (and GET RESPONSE). */
	tc_expect(t, "80f2000c", "910b");
	tc_expect(t, "00a4000c022fe2", "910b");
	tc_expect(t, "00b0000002", "9810 910b");
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "00c0000019", FCP_ICCID "910b");
	tc_expect(t, "00b0000003", "981014 910b");
	tc_expect(t, "00b0000b01", "6b00");       /* errors stay errors */
	/* FETCH: Le must be the length (T=0). */
	tc_expect(t, "8012000005", "6c0b");
	tc_expect(t, "801200000b", "d009 8103010104 82028182 9000");
	assert_int_equal(tc_changes(t, USIM_CHANGE_PROACTIVE, -1), 1);
	assert_int_equal(t->changes[0].record, 0);
	tc_expect(t, "80f2000c", "9000");
	assert_true(usim_engine_proactive_pending(t->e));
	/* The terminal resets the UICC: done. */
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	assert_false(usim_engine_proactive_pending(t->e));
	tc_expect(t, "8012000000", "6985");
}

static void refresh_terminal_response(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "8010000002 ffff", "9000");
	assert_int_equal(usim_engine_refresh(t->e, USIM_REFRESH_FCN), 0);
	tc_expect(t, "80f2000c", "9112");
	tc_expect(t, "801400000c 810301010182028281830100", "6985");
	tc_expect(t, "8012000000",
		  "d010 8103010101 82028182 9205013f007fff 9000");
	/* Command details must match the fetched command. */
	tc_expect(t, "801400000c 810301010282028281830100", "6a80");
	tc_expect(t, "8014000009 8103010101820282 81", "6a80");
	tc_expect(t, "8014000005 8103010101", "6a80"); /* no result */
	tc_expect(t, "801400000c 810301010182028281830103", "9000");
	assert_int_equal(tc_changes(t, USIM_CHANGE_PROACTIVE, -1), 1);
	assert_int_equal(t->changes[0].record, 1);
	assert_int_equal(t->changes[0].offset, 3);
	assert_false(usim_engine_proactive_pending(t->e));
	tc_expect(t, "801400000c 810301010182028281830100", "6985");
	/* A REFRESH not yet fetched survives a reset (other modes). */
	assert_int_equal(usim_engine_refresh(t->e, USIM_REFRESH_INIT), 0);
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, "80f2000c", "9000");
	tc_expect(t, "8010000001 ff", "910b");
}

/*
 * Files updated over the air: REFRESH (TS 102 223 6.6.13) with command
 * details '81 03 01 01 01' (number 1, REFRESH, file change notification,
 * 8.6), device identities UICC -> terminal '82 02 81 82', the file list
 * '92' (8.18: number of files, then each full path from the MF with 7FFF
 * for the ADF) and the AID '2F' (8.60) of that ADF.
 */
static void refresh_update_files(void **state)
{
	struct tc *t = *state;
	uint8_t plmn[5] = { 0x00, 0xf1, 0x10, 0x40, 0x00 }, spn[17];
	uint8_t big[USIM_REFRESH_MAX_FILES][128];
	struct usim_file_update u[USIM_REFRESH_MAX_FILES + 1] = {
		{ t->ef_orand, plmn, sizeof(plmn) },
		{ t->ef_spn, spn, sizeof(spn) },
	};
	int idx16[USIM_REFRESH_MAX_FILES];
	size_t n16 = 0;

	memset(spn, 0xff, sizeof(spn));
	memcpy(spn, "\x01new", 4);
	tc_expect(t, "8010000002 ffff", "9000");
	/* Refusals change nothing. */
	u[2] = (struct usim_file_update){ t->ef_orand, plmn, sizeof(plmn) };
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u, 3), -EINVAL);
	u[2] = (struct usim_file_update){ t->adf_usim, plmn, sizeof(plmn) };
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u, 3), -EINVAL);
	u[2] = (struct usim_file_update){ t->ef_imsi, plmn, sizeof(plmn) };
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u, 3), -EINVAL);
	/* EF.IMSI of the second USIM: another application. */
	u[2] = (struct usim_file_update){
		usim_profile_find_child(t->p, t->adf_usim2, 0x6f07), big[0], 9 };
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u, 3), -EINVAL);
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_UICC_RESET, u, 2),
			 -EINVAL);
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u, 0), -EINVAL);
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u,
						  USIM_REFRESH_MAX_FILES + 1), -EINVAL);
	assert_memory_equal(t->p->files[t->ef_orand].data, "\x01\x02\x03\x04\x05", 5);
	assert_false(usim_engine_proactive_pending(t->e));

	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u, 2), 0);
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_FCN, u, 2), -EBUSY);
	assert_int_equal(usim_engine_refresh(t->e, USIM_REFRESH_FCN), -EBUSY);
	/* 44 bytes: D0 2A, details 5, identities 4, list 2 + 13, AID 2 + 16. */
	tc_expect(t, "80f2000c", "912c");
	tc_expect(t, "8012000000",
		  "d02a 8103010101 82028182 920d02 3f007fff6f60 3f007fff6f46"
		  " 2f10" TC_AID_USIM " 9000");
	/* The card reads the new contents at once. */
	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f46", "9000");
	tc_expect(t, "00b0000004", "016e6577 9000");
	tc_expect(t, VERIFY_PIN1, "9000");
	tc_expect(t, "00a4000c026f60", "9000");
	tc_expect(t, "00b0000005", "00f1104000 9000");
	/* TERMINAL RESPONSE as today: details repeated, result to the daemon. */
	tc_expect(t, "801400000c 810301010282028281830100", "6a80");
	tc_expect(t, "801400000c 810301010182028281830100", "9000");
	assert_int_equal(tc_changes(t, USIM_CHANGE_PROACTIVE, -1), 1);
	assert_int_equal(t->changes[0].record, 1);
	assert_int_equal(t->changes[0].offset, 0);
	assert_false(usim_engine_proactive_pending(t->e));

	/* Sixteen files (MF and one ADF), mode 2: the lengths take two bytes
	 * ('81' xx), and TERMINAL RESPONSE finds the details after them. */
	for (size_t i = 1; i < 2 * t->p->n_files && n16 < USIM_REFRESH_MAX_FILES; i++) {
		size_t x = i % t->p->n_files; /* the USIM's files first, then the MF's */
		const struct usim_file *f = &t->p->files[x];
		int a = usim_profile_adf_of(t->p, (int)x);

		if (f->kind == USIM_FILE_MF || f->kind == USIM_FILE_DF ||
		    f->kind == USIM_FILE_ADF || (a >= 0 && a != t->adf_usim) ||
		    (a < 0) == (i < t->p->n_files) || f->size > sizeof(big[0]))
			continue;
		memset(big[n16], (int)n16, f->size);
		idx16[n16] = (int)x;
		u[n16] = (struct usim_file_update){ (int)x, big[n16], f->size };
		n16++;
	}
	assert_int_equal(n16, USIM_REFRESH_MAX_FILES);
	assert_int_equal(usim_engine_update_files(t->e, USIM_REFRESH_INIT_FCN, u, n16), 0);
	assert_int_equal(tc_tx(t, "8012000000"), 0x9000);
	{
		const uint8_t *c = t->rsp;
		size_t len = t->rsp_len - 2, list_len, off;

		/* 14 USIM files (3F00 7FFF ...) and 2 of the MF: 128 bytes. */
		assert_memory_equal(c, "\xd0\x81\x80", 3);
		assert_int_equal(len, 3 + 128);
		assert_memory_equal(c + 3, "\x81\x03\x01\x01\x02\x82\x02\x81\x82\x92", 10);
		list_len = c[13];
		assert_int_equal(c[14], USIM_REFRESH_MAX_FILES);
		off = 15;
		/* Each path: 3F00, then (7FFF ...) and the file's own FID. */
		for (size_t k = 0; k < n16; k++) {
			uint16_t fids[USIM_MAX_DEPTH + 1];
			int m = usim_profile_path(t->p, idx16[k], fids, USIM_MAX_DEPTH + 1);

			assert_true(m >= 2);
			for (int j = 0; j < m; j++, off += 2)
				assert_int_equal(c[off] << 8 | c[off + 1], fids[j]);
		}
		assert_int_equal(off, 14 + list_len);
		assert_int_equal(c[off], 0x2f);
		assert_int_equal(c[off + 1], 16);
		assert_int_equal(off + 2 + 16, len);
	}
	for (size_t k = 0; k < n16; k++)
		assert_memory_equal(t->p->files[idx16[k]].data, big[k], u[k].len);
	tc_expect(t, "801400000c 810301010282028281830100", "9000");
	assert_false(usim_engine_proactive_pending(t->e));
}

static void envelope_and_terminal(void **state)
{
	struct tc *t = *state;

	tc_expect(t, "80aa000003 a90183", "9000");  /* TERMINAL CAPABILITY */
	tc_expect(t, "80aa0000", "6700");
	tc_expect(t, "8010000000", "6700");
	tc_expect(t, "8010010001 ff", "6a86");
	/* Event download: location status. */
	tc_expect(t, "80c2000009 d607 990103 82028281", "9000");
	tc_expect(t, "80c2000009 d608 990103 82028281", "6a80");
	tc_expect(t, "80c2000002 0100", "6a80");
	tc_expect(t, "80c20000", "6700");
}

static void suspend_resume(void **state)
{
	struct tc *t = *state;
	uint8_t atr[USIM_ATR_MAX], token[8];
	char apdu[64];
	size_t n;

	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, VERIFY_PIN1, "9000");
	tc_expect(t, "8076000004 0001 010a", "610a");
	tc_expect_sw(t, "00c000000a", 0x9000);
	assert_int_equal(t->rsp_len, 12);
	assert_memory_equal(t->rsp, "\x01\x0a", 2);
	memcpy(token, t->rsp + 2, 8);
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	snprintf(apdu, sizeof(apdu), "8076010008%02x%02x%02x%02x%02x%02x%02x%02x",
		 token[0], token[1], token[2], token[3], token[4], token[5],
		 token[6], token[7]);
	tc_expect(t, apdu, "9000");
	/* Application, PIN status restored. */
	tc_expect(t, "80f2000100", "8410" TC_AID_USIM "9000");
	tc_expect(t, "00a4000c026f07", "9000");
	tc_expect(t, "00b0000009", "080910101032547698 9000");
	/* Wrong token. */
	tc_expect(t, "8076000004 0001 010a", "610a");
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, "80760100080000000000000000", "6982");
	tc_expect(t, apdu, "6985");
	/* Any other first command discards the state. */
	tc_expect(t, "8076000004 0001 010a", "610a");
	tc_expect_sw(t, "00c000000a", 0x9000);
	memcpy(token, t->rsp + 2, 8);
	snprintf(apdu, sizeof(apdu), "8076010008%02x%02x%02x%02x%02x%02x%02x%02x",
		 token[0], token[1], token[2], token[3], token[4], token[5],
		 token[6], token[7]);
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	tc_expect(t, "80f2000c", "9000");
	tc_expect(t, apdu, "6985");
	tc_expect(t, "80760000020001", "6700");
	tc_expect(t, "8076000004 0501 010a", "6a80");
	tc_expect(t, "8076020000", "6a86");
}

static void deactivate_activate(void **state)
{
	struct tc *t = *state;

	tc_expect(t, SEL_ADF_NODATA, "9000");
	tc_expect(t, "00a4000c026f46", "9000");
	tc_expect(t, "00040000", "6982");        /* rule 7: ADM1 */
	tc_expect(t, VERIFY_ADM, "9000");
	tc_expect(t, "00040000", "9000");
	assert_int_equal(tc_changes(t, USIM_CHANGE_FILE_STATE, t->ef_spn), 1);
	assert_int_equal(t->p->files[t->ef_spn].lcs,
			 USIM_LCS_OPERATIONAL_DEACTIVATED);
	/* SELECT warns, the FCP shows LCS 04; reading is refused. */
	tc_expect(t, "00a4000c026f46", "6283");
	tc_expect(t, "00a40004026f46", "6118");
	assert_int_equal(tc_tx(t, "00c0000018"), 0x6283);
	tc_expect_do(t, 0x8a, "04");
	tc_expect(t, "00b0000001", "6283");
	/* ACTIVATE FILE by FID from the ADF. */
	tc_expect(t, "00a4000c027fff", "9000");
	tc_expect(t, "00440000026f46", "9000");
	tc_expect(t, "00b0000001", "01 9000");
}

/* STATUS with P3 = 00 and every P2 (TS 102 221 11.1.2): never '6700', on
 * either transport; P2 '01' outside an application has no DF name. */
static void status_p3_zero(void **state)
{
	struct tc *t = *state;
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	for (int tr = USIM_TRANSPORT_T0; tr <= USIM_TRANSPORT_APDU; tr++) {
		assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
						   sizeof(atr), &n), 0);
		assert_int_equal(usim_engine_set_transport(t->e, tr), 0);
		for (unsigned p1 = 0; p1 <= 2; p1++) {
			char apdu[16];

			snprintf(apdu, sizeof(apdu), "80f2%02x0000", p1);
			assert_int_equal(tc_tx(t, apdu), 0x9000);
			tc_expect_do(t, 0x83, "3f00");
			snprintf(apdu, sizeof(apdu), "80f2%02x0c00", p1);
			tc_expect(t, apdu, "9000");
			snprintf(apdu, sizeof(apdu), "80f2%02x0100", p1);
			tc_expect(t, apdu, "6a88");
		}
		tc_expect(t, SEL_ADF_NODATA, "9000");
		assert_int_equal(tc_tx(t, "80f2000100"), 0x9000);
		assert_string_equal(tc_data_hex(t), "8410" TC_AID_USIM);
		tc_expect(t, "80f2000c", "9000");
	}
}

/*
 * The apdu transport (usim.h, docs/transport.md): a case 4 command without
 * Le gets its data at once, a 4-byte case 1 form is "all there is", a Le
 * that does not fit gets the data cut to Le or shorter with '6282', never
 * '6CXX' (ISO/IEC 7816-4 5.1, 5.6; TS 102 221 10.2.1.2).
 */
static void transport_apdu(void **state)
{
	struct tc *t = *state;
	uint8_t atr[USIM_ATR_MAX];
	size_t n;

	assert_int_equal(usim_engine_set_transport(t->e, 7), -EINVAL);
	assert_int_equal(usim_engine_set_transport(t->e, USIM_TRANSPORT_APDU),
			 0);
	/* SELECT with the FCP, no Le: the FCP at once instead of '6119'. */
	tc_expect(t, "00a40004022fe2", FCP_ICCID "9000");
	tc_expect(t, "00a4000402 2fe2 00", FCP_ICCID "9000");
	/* READ BINARY: case 1 form, past the end, Le 00, extended. */
	tc_expect(t, "00b00008", "0031 9000");
	tc_expect(t, "00b0000803", "0031 6282");
	tc_expect(t, "00b0000800", "0031 9000");
	tc_expect(t, "00b00008 000003", "0031 6282");
	tc_expect(t, "00b0000a01", "6b00");
	/* READ RECORD with a short and a long Le: the record cut to Le, or
	 * the record and '6282'. */
	tc_expect(t, "00a4000c022f00", "9000");
	assert_int_equal(tc_tx(t, "00b2010410"), 0x9000);
	assert_int_equal(t->rsp_len, 16 + 2);
	assert_int_equal(tc_tx(t, "00b2010440"), 0x6282);
	assert_int_equal(t->rsp_len, 32 + 2);
	assert_int_equal(tc_tx(t, "00b20104"), 0x9000);
	assert_int_equal(t->rsp_len, 32 + 2);
	/* GET RESPONSE after a '61XX' (a reply beyond Le) asking for more
	 * than there is: the rest, no '6CXX'. */
	assert_int_equal(tc_tx(t, "00a40004022fe2 05"), 0x6114);
	tc_expect(t, "00c0000040", "2183022fe28a01058b032f06018002000a880110 9000");
	/* FETCH with a short Le: the first bytes and '61XX' for the rest. */
	assert_int_equal(usim_engine_refresh(t->e, USIM_REFRESH_UICC_RESET),
			 0);
	tc_expect(t, "8010000003 ff7f80", "910b");
	tc_expect(t, "8012000005", "d009810301 6106");
	tc_expect(t, "00c0000000", "0104 82028182 9000");
	assert_int_equal(usim_engine_reset(t->e, USIM_RESET_COLD, atr,
					   sizeof(atr), &n), 0);
	/* The T=0 transport again: '61XX' and '6CXX' are back. */
	assert_int_equal(usim_engine_set_transport(t->e, USIM_TRANSPORT_T0), 0);
	tc_expect(t, "00a40004022fe2", "6119");
	tc_expect(t, "00a4000c022f00", "9000");
	tc_expect(t, "00b2010410", "6c20");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tc_setup, tc_teardown)
		T(atr),
		T(startup_sequence),
		T(extended_apdus),
		T(select_fid_rules),
		T(select_path),
		T(select_aid),
		T(read_update_binary),
		T(sfi),
		T(sfi_records),
		T(records),
		T(cyclic_and_increase),
		T(cyclic_update),
		T(search_record),
		T(access_conditions),
		T(access_or_and),
		T(pin_block_unblock),
		T(puk_blocked),
		T(pin_change_disable_enable),
		T(pin_universal),
		T(channels),
		T(get_response_rules),
		T(bad_input),
		T(random_apdus),
		T(refresh_pending),
		T(refresh_terminal_response),
		T(refresh_update_files),
		T(envelope_and_terminal),
		T(suspend_resume),
		T(deactivate_activate),
		T(status_p3_zero),
		T(transport_apdu),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
