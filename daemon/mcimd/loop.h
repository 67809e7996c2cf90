/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mcimd's event loop: one epoll instance, one thread.  Everything that
 * waits for I/O (netlink socket, control socket and its clients, signalfd,
 * timerfds, the tamper input) is a struct loop_source whose address is the
 * epoll data; loop_run_once() calls its dispatch function.  A dispatch
 * function may add or remove sources, including its own (removal is safe
 * while the loop is inside the same batch: see loop_del()).
 */
#ifndef MCIM_MCIMD_LOOP_H
#define MCIM_MCIMD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

struct loop_source {
	int fd;
	void (*dispatch)(struct loop_source *src, uint32_t events);
	/* Private to loop.c. */
	struct loop *loop;
	bool dead;
};

int loop_new(struct loop **ret);
void loop_free(struct loop *l);
int loop_fd(const struct loop *l);

/* Watches src->fd for events (EPOLLIN, ...).  src must stay valid until
 * loop_del(). */
int loop_add(struct loop *l, struct loop_source *src, uint32_t events);
int loop_mod(struct loop *l, struct loop_source *src, uint32_t events);
/*
 * Stops watching src.  Events of src already fetched in the current batch
 * are dropped, so the caller may free src after the current dispatch
 * returns, but not before: free it from a loop_defer() callback or after
 * loop_run_once() returned.
 */
void loop_del(struct loop *l, struct loop_source *src);

/* Runs fn(data) once the current batch of events has been dispatched. */
int loop_defer(struct loop *l, void (*fn)(void *data), void *data);

/* Waits up to timeout_ms (-1: for ever) and dispatches one batch of
 * events.  Returns the number dispatched or a negative errno. */
int loop_run_once(struct loop *l, int timeout_ms);

#endif
