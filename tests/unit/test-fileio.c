// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "macro.h"

static char dir[] = "/tmp/test-fileio.XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_reads_whole_file(void **state)
{
	char path[64], *text = NULL;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/a", dir);
	write_file(path, "hello\nworld");
	assert_int_equal(read_file_max(path, 11, &text, &len), 0);
	assert_int_equal(len, 11);
	assert_string_equal(text, "hello\nworld");
	free(text);

	write_file(path, "");
	assert_int_equal(read_file_max(path, 0, &text, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
}

static void test_errors(void **state)
{
	char path[64], *text = NULL;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/big", dir);
	write_file(path, "0123456789");
	assert_int_equal(read_file_max(path, 9, &text, &len), -EFBIG);
	assert_int_equal(read_file_max(dir, 100, &text, &len), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(read_file_max(path, 100, &text, &len), -ENOENT);
	assert_null(text);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_whole_file),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
