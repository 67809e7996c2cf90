// SPDX-License-Identifier: LGPL-2.1-or-later
/* The evdev tamper input of tamper.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/mcimd/tamper.h"
#include "macro.h"

struct tamper_input {
	struct loop_source src; /* first: the loop hands us this pointer */
	struct loop *loop;
	char path[256];
	int code;
	tamper_fn fn;
	void *user_data;
	unsigned long events;
	bool gone;
};

unsigned long tamper_input_events(const struct tamper_input *t)
{
	return t ? t->events : 0;
}

static void lost(struct tamper_input *t, const char *why)
{
	char reason[320];

	if (t->gone)
		return;
	t->gone = true;
	loop_del(t->loop, &t->src);
	snprintf(reason, sizeof(reason), "tamper input %s %s", t->path, why);
	t->fn(reason, t->user_data);
}

static void on_input(struct loop_source *src, uint32_t events)
{
	struct tamper_input *t = (struct tamper_input *)src;
	struct input_event ev[16];
	ssize_t n;

	if (!(events & EPOLLIN)) {
		lost(t, "hung up");
		return;
	}
	n = read(src->fd, ev, sizeof(ev));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		lost(t, n == 0 ? "closed" : "failed");
		return;
	}
	/* evdev hands out whole events only (drivers/input/evdev.c). */
	for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++) {
		char reason[320];

		if ((ev[i].type != EV_KEY && ev[i].type != EV_SW) || ev[i].value != 1 ||
		    (t->code >= 0 && ev[i].code != t->code))
			continue;
		t->events++;
		snprintf(reason, sizeof(reason), "tamper input %s: %s %u", t->path,
			 ev[i].type == EV_KEY ? "key" : "switch", ev[i].code);
		t->fn(reason, t->user_data);
	}
}

int tamper_input_open(struct loop *loop, const char *path, int code, tamper_fn fn,
		      void *user_data, struct tamper_input **ret)
{
	struct tamper_input *t;
	int r;

	if (!loop || !path || !fn || !ret || strlen(path) >= sizeof(t->path))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->src.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (t->src.fd < 0) {
		r = -errno;
		free(t);
		return r;
	}
	t->src.dispatch = on_input;
	t->loop = loop;
	t->code = code;
	t->fn = fn;
	t->user_data = user_data;
	snprintf(t->path, sizeof(t->path), "%s", path);
	r = loop_add(loop, &t->src, EPOLLIN);
	if (r < 0) {
		close(t->src.fd);
		free(t);
		return r;
	}
	*ret = t;
	return 0;
}

void tamper_input_free(struct tamper_input *t)
{
	if (!t)
		return;
	if (!t->gone)
		loop_del(t->loop, &t->src);
	close(t->src.fd);
	free(t);
}
