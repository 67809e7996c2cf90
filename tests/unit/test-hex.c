// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hex.h"

static void test_decode(void **state)
{
	uint8_t b[8];

	(void)state;
	assert_int_equal(hex_decode("00A4 0004:02 2fe2", b, sizeof(b)), 7);
	assert_memory_equal(b, "\x00\xa4\x00\x04\x02\x2f\xe2", 7);
	assert_int_equal(hex_decode("", b, sizeof(b)), 0);
}

static void test_decode_errors(void **state)
{
	uint8_t b[2];

	(void)state;
	assert_int_equal(hex_decode("0g", b, sizeof(b)), -EINVAL);
	assert_int_equal(hex_decode("012", b, sizeof(b)), -EINVAL);
	assert_int_equal(hex_decode("0 12", b, sizeof(b)), -EINVAL);
	assert_int_equal(hex_decode("010203", b, sizeof(b)), -EMSGSIZE);
}

static void test_encode(void **state)
{
	char s[9];

	(void)state;
	hex_encode((const uint8_t *)"\x90\x00\xab\x0f", 4, s);
	assert_string_equal(s, "9000ab0f");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
