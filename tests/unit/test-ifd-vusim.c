// SPDX-License-Identifier: LGPL-2.1-or-later
/* ifd-vusim's pure helpers: DEVICENAME parsing and errno -> IFD_ codes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tools/ifd-vusim/ifd-vusim.h"

/* pcscd provides log_msg() to the drivers it loads (PCSC/debuglog.h). */
void log_msg(const int priority, const char *fmt, ...);
void log_msg(const int priority, const char *fmt, ...)
{
	(void)priority;
	(void)fmt;
}

static void test_parse_name(void **state)
{
	char p[32];

	(void)state;
	assert_int_equal(ifd_vusim_parse_name("/dev/vusim3", p, sizeof(p)), 0);
	assert_string_equal(p, "/dev/vusim3");
	assert_int_equal(ifd_vusim_parse_name("12", p, sizeof(p)), 0);
	assert_string_equal(p, "/dev/vusim12");
	assert_int_equal(ifd_vusim_parse_name("/dev/ttyS0", p, sizeof(p)), -EINVAL);
	assert_int_equal(ifd_vusim_parse_name("", p, sizeof(p)), -EINVAL);
	assert_int_equal(ifd_vusim_parse_name(NULL, p, sizeof(p)), -EINVAL);
	assert_int_equal(ifd_vusim_parse_name("1x", p, sizeof(p)), -EINVAL);
	assert_int_equal(ifd_vusim_parse_name("70000", p, sizeof(p)), -EINVAL);
	assert_int_equal(ifd_vusim_parse_name("/dev/vusim123456789", p, 12), -ENAMETOOLONG);
}

/* The errnos of kernel/uapi/linux/vusim.h and what pcscd must hear. */
static void test_codes(void **state)
{
	static const struct {
		int err;
		enum ifd_vusim_op op;
		RESPONSECODE want;
	} t[] = {
		{ 0, IFD_VUSIM_OP_APDU, IFD_SUCCESS },
		{ ENODEV, IFD_VUSIM_OP_APDU, IFD_NO_SUCH_DEVICE },
		{ ENODEV, IFD_VUSIM_OP_POWER, IFD_NO_SUCH_DEVICE },
		{ ENOENT, IFD_VUSIM_OP_OTHER, IFD_NO_SUCH_DEVICE },
		{ ENOMEDIUM, IFD_VUSIM_OP_APDU, IFD_ICC_NOT_PRESENT },
		{ ENOMEDIUM, IFD_VUSIM_OP_POWER, IFD_ICC_NOT_PRESENT },
		{ ETIMEDOUT, IFD_VUSIM_OP_APDU, IFD_RESPONSE_TIMEOUT },
		{ EOVERFLOW, IFD_VUSIM_OP_APDU, IFD_ERROR_INSUFFICIENT_BUFFER },
		{ EIO, IFD_VUSIM_OP_APDU, IFD_COMMUNICATION_ERROR },
		{ ENOLINK, IFD_VUSIM_OP_APDU, IFD_COMMUNICATION_ERROR },
		{ ENOTCONN, IFD_VUSIM_OP_APDU, IFD_COMMUNICATION_ERROR },
		{ EMSGSIZE, IFD_VUSIM_OP_APDU, IFD_COMMUNICATION_ERROR },
		{ EIO, IFD_VUSIM_OP_POWER, IFD_ERROR_POWER_ACTION },
		{ EBUSY, IFD_VUSIM_OP_POWER, IFD_ERROR_POWER_ACTION },
		{ EIO, IFD_VUSIM_OP_OTHER, IFD_COMMUNICATION_ERROR },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(ifd_vusim_code(t[i].err, t[i].op), t[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_name),
		cmocka_unit_test(test_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
