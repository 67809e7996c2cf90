// SPDX-License-Identifier: LGPL-2.1-or-later
/* Unit tests of daemon/mcimd/tamper.c with a FIFO standing in for the
 * evdev device: which events count, and that losing the input does. */
#include <fcntl.h>
#include <linux/input.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/mcimd/tamper.h"
#include "macro.h"

struct seen {
	int n;
	char last[320];
};

static void on_tamper(const char *reason, void *user_data)
{
	struct seen *s = user_data;

	s->n++;
	snprintf(s->last, sizeof(s->last), "%s", reason);
}

static void send_ev(int fd, uint16_t type, uint16_t code, int32_t value)
{
	struct input_event ev = { .type = type, .code = code, .value = value };

	assert_int_equal(write(fd, &ev, sizeof(ev)), sizeof(ev));
}

static void run(int code, const int want[3])
{
	char dir[] = "/tmp/test-tamper.XXXXXX", path[64];
	struct tamper_input *t = NULL;
	struct loop *loop = NULL;
	struct seen s = { 0 };
	int w;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/event0", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(tamper_input_open(loop, path, code, on_tamper, &s, &t), 0);
	w = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(w >= 0);

	send_ev(w, EV_KEY, 0x1f0, 1);  /* press of the tamper key */
	send_ev(w, EV_SYN, 0, 0);
	send_ev(w, EV_KEY, 0x1f0, 0);  /* its release: not an event */
	send_ev(w, EV_KEY, 30, 1);     /* another key */
	send_ev(w, EV_SW, 0x1f0, 1);   /* a switch with the same code */
	assert_true(loop_run_once(loop, 1000) >= 1);
	assert_int_equal(s.n, want[0]);
	assert_int_equal(tamper_input_events(t), (unsigned long)want[0]);
	if (want[0])
		assert_non_null(strstr(s.last, "event0: switch 496"));

	send_ev(w, EV_MSC, 4, 1);      /* a scan code: not an event */
	assert_true(loop_run_once(loop, 1000) >= 1);
	assert_int_equal(s.n, want[1]);

	close(w);                      /* the device goes away */
	assert_true(loop_run_once(loop, 1000) >= 1);
	assert_int_equal(s.n, want[2]);
	assert_non_null(strstr(s.last, "event0 hung up"));
	/* Nothing more comes from it. */
	assert_int_equal(loop_run_once(loop, 50), 0);

	tamper_input_free(t);
	loop_free(loop);
	unlink(path);
	rmdir(dir);
}

static void test_code(void **state)
{
	static const int want[3] = { 2, 2, 3 };
	(void)state;
	run(0x1f0, want);
}

static void test_any(void **state)
{
	static const int want[3] = { 3, 3, 4 };
	(void)state;
	run(-1, want);
}

static void test_missing_device(void **state)
{
	struct tamper_input *t = NULL;
	struct loop *loop = NULL;
	struct seen s = { 0 };
	(void)state;

	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(tamper_input_open(loop, "/nonexistent/event9", -1, on_tamper, &s,
					   &t), -ENOENT);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_missing_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
