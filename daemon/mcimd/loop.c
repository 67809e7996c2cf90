// SPDX-License-Identifier: LGPL-2.1-or-later
/* The epoll loop of loop.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/mcimd/loop.h"
#include "macro.h"

#define LOOP_BATCH 32
#define LOOP_DEFER_MAX 64

struct deferred {
	void (*fn)(void *data);
	void *data;
};

struct loop {
	int epfd;
	/* The batch being dispatched, so that loop_del() can drop events. */
	struct epoll_event ev[LOOP_BATCH];
	int n_ev;
	struct deferred deferred[LOOP_DEFER_MAX];
	size_t n_deferred;
};

int loop_new(struct loop **ret)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;

		free(l);
		return r;
	}
	*ret = l;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int loop_fd(const struct loop *l)
{
	return l->epfd;
}

int loop_add(struct loop *l, struct loop_source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (!l || !src || src->fd < 0 || !src->dispatch)
		return -EINVAL;
	src->loop = l;
	src->dead = false;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, src->fd, &ev) < 0 ? -errno : 0;
}

int loop_mod(struct loop *l, struct loop_source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *l, struct loop_source *src)
{
	if (!l || !src || src->loop != l)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	src->loop = NULL;
	src->dead = true;
	for (int i = 0; i < l->n_ev; i++)
		if (l->ev[i].data.ptr == src)
			l->ev[i].data.ptr = NULL;
}

int loop_defer(struct loop *l, void (*fn)(void *data), void *data)
{
	if (l->n_deferred == LOOP_DEFER_MAX)
		return -ENOSPC;
	l->deferred[l->n_deferred++] = (struct deferred){ fn, data };
	return 0;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->ev, LOOP_BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->n_ev = n;
	for (int i = 0; i < n; i++) {
		struct loop_source *src = l->ev[i].data.ptr;

		if (src && !src->dead)
			src->dispatch(src, l->ev[i].events);
	}
	l->n_ev = 0;
	for (size_t i = 0; i < l->n_deferred; i++)
		l->deferred[i].fn(l->deferred[i].data);
	l->n_deferred = 0;
	return n;
}
