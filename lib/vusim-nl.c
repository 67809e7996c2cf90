/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vusim-nl: user-space client of the vusim driver (see vusim-nl.h).
 *
 * libnl-genl-3 opens the socket, resolves the family and builds the slot
 * management messages.  The hot path (receiving requests, sending answers)
 * uses the socket directly: one recv() per request into a buffer the size of
 * the largest message, one sendmsg() per answer whose APDU goes out from the
 * caller's buffer without a copy, and no acknowledgement round trip.
 *
 * Netlink errors carry the kernel's extended ack (NETLINK_EXT_ACK); requests
 * are not echoed back in errors (NETLINK_CAP_ACK), which matters with 64 KiB
 * APDUs.
 */
#include "vusim-nl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "macro.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Largest message the kernel sends: an APDU request of VUSIM_APDU_MAX. */
#define RECV_BUF_SIZE (128 * 1024)
/* A management call gives up after this many seconds without its ack. */
#define TRANSACT_TIMEOUT_S 10
/* Bound on messages queued while a management call waits for its ack. */
#define QUEUE_MAX 4096

struct queued {
	struct queued *next;
	size_t len;
	unsigned char data[];
};

struct queue {
	struct queued *head, *tail;
	unsigned int len;
};

struct vusim_nl {
	struct nl_sock *sk;
	int fd;
	int family;
	int mcgrp;
	unsigned char *buf;	/* RECV_BUF_SIZE, requests handed out in place */
	size_t buf_used;	/* bytes of buf that may hold an APDU */
	unsigned char *mbuf;	/* RECV_BUF_SIZE, for acks, replies and events */
	struct queued *cur;	/* popped request/event, freed on next call */
	struct queue requests;
	struct queue events;
	bool subscribed;
	int rcvtimeo_ms;	/* SO_RCVTIMEO in force, -1: none */
	unsigned long async_errors;
	unsigned long dropped;
	uint32_t missing_attr;
	char error[256];
	uint8_t rsp[VUSIM_APDU_MAX];	/* vusim_nl_serve()'s answer buffer */
};

/* What process_buf() looks for in the messages it goes through. */
struct wait_ctx {
	uint32_t seq;		/* management call awaited (0: none) */
	bool done;
	int result;
	int (*reply)(struct nlmsghdr *nlh, void *userdata);
	void *userdata;
	struct vusim_request *req;	/* take the first request into here */
	bool got_req;
	struct vusim_slot_info *event;	/* take the first event into here */
	bool got_event;
};

static void queued_free(struct queued *q)
{
	if (q) {
		wipe(q->data, q->len);
		free(q);
	}
}

static void queue_clear(struct queue *q)
{
	while (q->head) {
		struct queued *next = q->head->next;

		queued_free(q->head);
		q->head = next;
	}
	q->tail = NULL;
	q->len = 0;
}

static int queue_push(struct vusim_nl *nl, struct queue *q,
		      const struct nlmsghdr *nlh)
{
	struct queued *e;

	if (q->len >= QUEUE_MAX) {
		nl->dropped++;
		return -ENOBUFS;
	}
	e = malloc(sizeof(*e) + nlh->nlmsg_len);
	if (!e)
		return -ENOMEM;
	e->next = NULL;
	e->len = nlh->nlmsg_len;
	memcpy(e->data, nlh, nlh->nlmsg_len);
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->len++;
	return 0;
}

static struct queued *queue_pop(struct queue *q)
{
	struct queued *e = q->head;

	if (!e)
		return NULL;
	q->head = e->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	return e;
}

/* Forgets the request or event handed out by the previous call. */
static void release_current(struct vusim_nl *nl)
{
	queued_free(TAKE_PTR(nl->cur));
	if (nl->buf_used) {
		wipe(nl->buf, nl->buf_used);
		nl->buf_used = 0;
	}
}

static void set_error(struct vusim_nl *nl, const char *msg)
{
	snprintf(nl->error, sizeof(nl->error), "%s", msg ? msg : "");
}

/* libnl error codes to errno, for the few libnl calls we make. */
static int nl_to_errno(int err)
{
	switch (-err) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	default:
		return -EIO;
	}
}

int vusim_nl_open(struct vusim_nl **ret)
{
	struct vusim_nl *nl;
	int one = 1, r;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->buf = malloc(RECV_BUF_SIZE);
	nl->mbuf = malloc(RECV_BUF_SIZE);
	nl->sk = nl_socket_alloc();
	if (!nl->buf || !nl->mbuf || !nl->sk) {
		r = -ENOMEM;
		goto err;
	}
	r = genl_connect(nl->sk);
	if (r < 0) {
		r = nl_to_errno(r);
		goto err;
	}
	nl->fd = nl_socket_get_fd(nl->sk);
	/* libnl does not set close-on-exec itself. */
	if (fcntl(nl->fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		goto err;
	}
	nl->rcvtimeo_ms = -1;
	nl->family = genl_ctrl_resolve(nl->sk, VUSIM_GENL_NAME);
	if (nl->family < 0) {
		set_error(nl, "generic netlink family vusim not found (module not loaded?)");
		r = -ENOENT;
		goto err;
	}
	nl->mcgrp = genl_ctrl_resolve_grp(nl->sk, VUSIM_GENL_NAME,
					  VUSIM_GENL_MCGRP_EVENTS);
	if (nl->mcgrp < 0) {
		r = -ENOENT;
		goto err;
	}
	/* Answers go out without NLM_F_ACK; management calls ask for it. */
	nl_socket_disable_auto_ack(nl->sk);
	nl_socket_set_buffer_size(nl->sk, 1 << 20, 1 << 20);
	/* Room for more than a few 64 KiB APDUs: beyond rmem_max when allowed
	 * (a backend has CAP_NET_ADMIN). */
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 1 << 20 },
		   sizeof(int));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	*ret = nl;
	return 0;
err:
	vusim_nl_close(nl);
	return r;
}

void vusim_nl_close(struct vusim_nl *nl)
{
	if (!nl)
		return;
	release_current(nl);
	queue_clear(&nl->requests);
	queue_clear(&nl->events);
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl->buf);
	if (nl->mbuf) {
		wipe(nl->mbuf, RECV_BUF_SIZE);
		free(nl->mbuf);
	}
	wipe(nl->rsp, sizeof(nl->rsp));
	free(nl);
}

int vusim_nl_fd(const struct vusim_nl *nl)
{
	return nl->fd;
}

uint32_t vusim_nl_portid(const struct vusim_nl *nl)
{
	return nl_socket_get_local_port(nl->sk);
}

const char *vusim_nl_error(const struct vusim_nl *nl)
{
	return nl->error;
}

uint32_t vusim_nl_error_missing_attr(const struct vusim_nl *nl)
{
	return nl->missing_attr;
}

unsigned long vusim_nl_async_errors(const struct vusim_nl *nl)
{
	return nl->async_errors;
}

int vusim_nl_subscribe_events(struct vusim_nl *nl)
{
	int r = nl_socket_add_membership(nl->sk, nl->mcgrp);

	if (r < 0)
		return nl_to_errno(r);
	nl->subscribed = true;
	return 0;
}

/* ---- parsing ---- */

static struct nlattr *genl_attrs(struct nlmsghdr *nlh, int *ret_len)
{
	*ret_len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	return (struct nlattr *)((unsigned char *)NLMSG_DATA(nlh) + GENL_HDRLEN);
}

static int parse_genl(struct nlmsghdr *nlh, struct nlattr **tb)
{
	int len;
	struct nlattr *head;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EBADMSG;
	head = genl_attrs(nlh, &len);
	if (nla_parse(tb, VUSIM_ATTR_MAX, head, len, NULL) < 0)
		return -EBADMSG;
	return 0;
}

static bool get_u32(struct nlattr *a, uint32_t *v)
{
	if (!a || nla_len(a) != 4)
		return false;
	*v = nla_get_u32(a);
	return true;
}

static uint64_t get_u64(struct nlattr *a)
{
	return a && nla_len(a) == 8 ? nla_get_u64(a) : 0;
}

static int parse_slot(struct nlmsghdr *nlh, struct vusim_slot_info *info)
{
	struct nlattr *tb[VUSIM_ATTR_MAX + 1];
	int r;

	r = parse_genl(nlh, tb);
	if (r < 0)
		return r;
	memset(info, 0, sizeof(*info));
	if (!get_u32(tb[VUSIM_ATTR_SLOT], &info->slot))
		return -EBADMSG;
	get_u32(tb[VUSIM_ATTR_FLAGS], &info->flags);
	get_u32(tb[VUSIM_ATTR_TIMEOUT_MS], &info->timeout_ms);
	info->backend = tb[VUSIM_ATTR_BACKEND] &&
			nla_get_u8(tb[VUSIM_ATTR_BACKEND]);
	get_u32(tb[VUSIM_ATTR_EVENT], &info->event);
	info->card_present = tb[VUSIM_ATTR_CARD_PRESENT] &&
			     nla_get_u8(tb[VUSIM_ATTR_CARD_PRESENT]);
	info->powered = tb[VUSIM_ATTR_POWERED] &&
			nla_get_u8(tb[VUSIM_ATTR_POWERED]);
	if (tb[VUSIM_ATTR_ATR]) {
		int n = nla_len(tb[VUSIM_ATTR_ATR]);

		if (n < 0 || n > VUSIM_ATR_MAX)
			return -EBADMSG;
		info->atr_len = n;
		memcpy(info->atr, nla_data(tb[VUSIM_ATTR_ATR]), n);
	}
	if (tb[VUSIM_ATTR_STATS]) {
		struct nlattr *st[VUSIM_STATS_MAX + 1];

		if (nla_parse_nested(st, VUSIM_STATS_MAX, tb[VUSIM_ATTR_STATS],
				     NULL) < 0)
			return -EBADMSG;
		info->commands = get_u64(st[VUSIM_STATS_COMMANDS]);
		info->responses = get_u64(st[VUSIM_STATS_RESPONSES]);
		info->timeouts = get_u64(st[VUSIM_STATS_TIMEOUTS]);
		info->late = get_u64(st[VUSIM_STATS_LATE]);
		info->failed = get_u64(st[VUSIM_STATS_FAILED]);
		info->resets = get_u64(st[VUSIM_STATS_RESETS]);
		info->abandoned = get_u64(st[VUSIM_STATS_ABANDONED]);
		info->backend_lost = get_u64(st[VUSIM_STATS_BACKEND_LOST]);
	}
	return 0;
}

static int parse_request(struct nlmsghdr *nlh, struct vusim_request *req)
{
	struct genlmsghdr *g = NLMSG_DATA(nlh);
	struct nlattr *tb[VUSIM_ATTR_MAX + 1];
	int r;

	r = parse_genl(nlh, tb);
	if (r < 0)
		return r;
	memset(req, 0, sizeof(*req));
	if (!get_u32(tb[VUSIM_ATTR_SLOT], &req->slot) ||
	    !get_u32(tb[VUSIM_ATTR_SEQ], &req->seq))
		return -EBADMSG;
	if (g->cmd == VUSIM_CMD_APDU_REQUEST) {
		if (!tb[VUSIM_ATTR_APDU])
			return -EBADMSG;
		req->kind = VUSIM_REQUEST_APDU;
		req->apdu = nla_data(tb[VUSIM_ATTR_APDU]);
		req->apdu_len = nla_len(tb[VUSIM_ATTR_APDU]);
	} else {
		if (!tb[VUSIM_ATTR_POWER_OP] ||
		    nla_len(tb[VUSIM_ATTR_POWER_OP]) != 1)
			return -EBADMSG;
		req->kind = VUSIM_REQUEST_POWER;
		req->power_op = nla_get_u8(tb[VUSIM_ATTR_POWER_OP]);
	}
	return 0;
}

/* NLMSG_ERROR: the errno (<= 0) and the extack message / missing attr. */
static int parse_error(struct vusim_nl *nl, struct nlmsghdr *nlh)
{
	struct nlmsgerr *e = NLMSG_DATA(nlh);
	size_t off;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	if (e->error == 0)
		return 0;
	set_error(nl, NULL);
	nl->missing_attr = 0;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

		off = NLMSG_LENGTH(sizeof(*e));
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
		if (off < nlh->nlmsg_len &&
		    nla_parse(tb, NLMSGERR_ATTR_MAX,
			      (struct nlattr *)((unsigned char *)nlh + off),
			      nlh->nlmsg_len - off, NULL) == 0) {
			if (tb[NLMSGERR_ATTR_MSG])
				snprintf(nl->error, sizeof(nl->error), "%.*s",
					 nla_len(tb[NLMSGERR_ATTR_MSG]),
					 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
			get_u32(tb[NLMSGERR_ATTR_MISS_TYPE], &nl->missing_attr);
		}
	}
	return e->error;
}

/* Goes through a datagram: acks, replies, requests and events. */
static int process_buf(struct vusim_nl *nl, unsigned char *buf, size_t len,
		       struct wait_ctx *ctx)
{
	struct nlmsghdr *nlh;
	int rem = (int)len;

	for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, rem);
	     nlh = NLMSG_NEXT(nlh, rem)) {
		bool ours = ctx->seq && nlh->nlmsg_seq == ctx->seq;

		if (nlh->nlmsg_type == NLMSG_ERROR) {
			int err = parse_error(nl, nlh);

			if (ours) {
				ctx->done = true;
				if (!ctx->result)
					ctx->result = err;
			} else if (err) {
				nl->async_errors++;
			}
		} else if (nlh->nlmsg_type == NLMSG_DONE) {
			if (ours) {
				ctx->done = true;
				if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) &&
				    !ctx->result)
					ctx->result = *(int *)NLMSG_DATA(nlh);
			}
		} else if (nlh->nlmsg_type == nl->family &&
			   nlh->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN) {
			struct genlmsghdr *g = NLMSG_DATA(nlh);

			if (g->cmd == VUSIM_CMD_APDU_REQUEST ||
			    g->cmd == VUSIM_CMD_POWER_REQUEST) {
				if (ctx->req && !ctx->got_req &&
				    !nl->requests.head &&
				    parse_request(nlh, ctx->req) == 0)
					ctx->got_req = true;
				else
					queue_push(nl, &nl->requests, nlh);
			} else if (g->cmd == VUSIM_CMD_EVENT) {
				if (ctx->event && !ctx->got_event &&
				    !nl->events.head &&
				    parse_slot(nlh, ctx->event) == 0)
					ctx->got_event = true;
				else if (nl->subscribed)
					queue_push(nl, &nl->events, nlh);
			} else if (ours && ctx->reply && !ctx->result) {
				int r = ctx->reply(nlh, ctx->userdata);

				if (r < 0)
					ctx->result = r;
			}
		}
	}
	return 0;
}

/*
 * Waits up to timeout_ms for a datagram and processes it: 1, 0 on timeout.
 * Only vusim_nl_recv_request() reads into nl->buf, where the request it
 * returns lives: management calls made meanwhile (from a serve callback,
 * say) use nl->mbuf and leave that request intact.
 */
static int recv_once(struct vusim_nl *nl, int timeout_ms, struct wait_ctx *ctx)
{
	unsigned char *buf = ctx->req ? nl->buf : nl->mbuf;
	ssize_t n;

	/*
	 * One blocking recv() per message, the timeout as SO_RCVTIMEO (set
	 * only when it changes): no poll() on the request path.
	 */
	if (timeout_ms != 0 && timeout_ms != nl->rcvtimeo_ms) {
		struct timeval tv = { 0, 0 };

		if (timeout_ms > 0) {
			tv.tv_sec = timeout_ms / 1000;
			tv.tv_usec = (timeout_ms % 1000) * 1000;
		}
		if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			       sizeof(tv)) < 0)
			return -errno;
		nl->rcvtimeo_ms = timeout_ms;
	}
	n = recv(nl->fd, buf, RECV_BUF_SIZE, timeout_ms == 0 ? MSG_DONTWAIT : 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
	if (buf == nl->buf && (size_t)n > nl->buf_used)
		nl->buf_used = n;
	process_buf(nl, buf, n, ctx);
	if (buf == nl->mbuf)
		wipe(buf, n);
	return 1;
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Sends msg with NLM_F_ACK (not for dumps) and waits for the end. */
static int transact(struct vusim_nl *nl, struct nl_msg *msg,
		    int (*reply)(struct nlmsghdr *, void *), void *userdata)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct wait_ctx ctx = { .reply = reply, .userdata = userdata };
	time_t deadline;
	int r;

	set_error(nl, NULL);
	nl->missing_attr = 0;
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	nl_complete_msg(nl->sk, msg);
	ctx.seq = nlh->nlmsg_seq;
	if (send(nl->fd, nlh, nlh->nlmsg_len, 0) < 0) {
		r = -errno;
		nlmsg_free(msg);
		return r;
	}
	nlmsg_free(msg);
	/*
	 * The kernel answers at once; an acknowledgement lost to a receive
	 * buffer overrun (ENOBUFS) must not hang the caller forever.
	 */
	deadline = now_s() + TRANSACT_TIMEOUT_S;
	while (!ctx.done) {
		if (now_s() > deadline)
			return -ETIMEDOUT;
		r = recv_once(nl, 1000, &ctx);
		if (r < 0 && r != -EINTR && r != -ENOBUFS)
			return r;
	}
	return ctx.result;
}

struct nl_msg *vusim_nl_msg(struct vusim_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc_size(RECV_BUF_SIZE);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, VUSIM_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int vusim_nl_transact(struct vusim_nl *nl, struct nl_msg *msg)
{
	return transact(nl, msg, NULL, NULL);
}

/* A message for cmd with VUSIM_ATTR_SLOT; NULL on allocation failure. */
static struct nl_msg *slot_msg(struct vusim_nl *nl, uint8_t cmd, uint32_t slot)
{
	struct nl_msg *msg = vusim_nl_msg(nl, cmd, 0);

	if (msg && nla_put_u32(msg, VUSIM_ATTR_SLOT, slot) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int reply_slot(struct nlmsghdr *nlh, void *userdata)
{
	return parse_slot(nlh, userdata);
}

int vusim_nl_slot_add(struct vusim_nl *nl, uint32_t flags, uint32_t timeout_ms,
		      uint32_t *ret_slot)
{
	struct vusim_slot_info info = { .slot = UINT32_MAX };
	struct nl_msg *msg = vusim_nl_msg(nl, VUSIM_CMD_SLOT_ADD, 0);
	int r;

	if (!msg)
		return -ENOMEM;
	if ((flags && nla_put_u32(msg, VUSIM_ATTR_FLAGS, flags) < 0) ||
	    (timeout_ms &&
	     nla_put_u32(msg, VUSIM_ATTR_TIMEOUT_MS, timeout_ms) < 0)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = transact(nl, msg, reply_slot, &info);
	if (r < 0)
		return r;
	if (info.slot == UINT32_MAX)
		return -EBADMSG;
	if (ret_slot)
		*ret_slot = info.slot;
	return 0;
}

int vusim_nl_slot_claim(struct vusim_nl *nl, uint32_t slot, uint32_t flags)
{
	struct nl_msg *msg = slot_msg(nl, VUSIM_CMD_SLOT_CLAIM, slot);

	if (!msg)
		return -ENOMEM;
	if (flags && nla_put_u32(msg, VUSIM_ATTR_FLAGS, flags) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return transact(nl, msg, NULL, NULL);
}

int vusim_nl_slot_del(struct vusim_nl *nl, uint32_t slot)
{
	struct nl_msg *msg = slot_msg(nl, VUSIM_CMD_SLOT_DEL, slot);

	return msg ? transact(nl, msg, NULL, NULL) : -ENOMEM;
}

int vusim_nl_slot_set_timeout(struct vusim_nl *nl, uint32_t slot,
			      uint32_t timeout_ms)
{
	struct nl_msg *msg = slot_msg(nl, VUSIM_CMD_SLOT_SET, slot);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, VUSIM_ATTR_TIMEOUT_MS, timeout_ms) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return transact(nl, msg, NULL, NULL);
}

int vusim_nl_slot_get(struct vusim_nl *nl, uint32_t slot,
		      struct vusim_slot_info *ret)
{
	struct nl_msg *msg = slot_msg(nl, VUSIM_CMD_SLOT_GET, slot);
	int r;

	if (!msg)
		return -ENOMEM;
	ret->slot = UINT32_MAX;
	r = transact(nl, msg, reply_slot, ret);
	if (r == 0 && ret->slot != slot)
		r = -EBADMSG;
	return r;
}

struct dump_ctx {
	int (*cb)(const struct vusim_slot_info *info, void *userdata);
	void *userdata;
};

static int reply_dump(struct nlmsghdr *nlh, void *userdata)
{
	struct dump_ctx *d = userdata;
	struct vusim_slot_info info;
	int r = parse_slot(nlh, &info);

	return r < 0 ? r : d->cb(&info, d->userdata);
}

int vusim_nl_slot_dump(struct vusim_nl *nl,
		       int (*cb)(const struct vusim_slot_info *info, void *userdata),
		       void *userdata)
{
	struct dump_ctx d = { .cb = cb, .userdata = userdata };
	struct nl_msg *msg = vusim_nl_msg(nl, VUSIM_CMD_SLOT_GET, NLM_F_DUMP);

	return msg ? transact(nl, msg, reply_dump, &d) : -ENOMEM;
}

int vusim_nl_card_insert(struct vusim_nl *nl, uint32_t slot, const uint8_t *atr,
			 size_t atr_len)
{
	struct nl_msg *msg = slot_msg(nl, VUSIM_CMD_CARD_INSERT, slot);

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, VUSIM_ATTR_ATR, atr_len, atr) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return transact(nl, msg, NULL, NULL);
}

int vusim_nl_card_remove(struct vusim_nl *nl, uint32_t slot)
{
	struct nl_msg *msg = slot_msg(nl, VUSIM_CMD_CARD_REMOVE, slot);

	return msg ? transact(nl, msg, NULL, NULL) : -ENOMEM;
}

/* ---- requests and answers ---- */

int vusim_nl_recv_request(struct vusim_nl *nl, int timeout_ms,
			  struct vusim_request *ret)
{
	struct wait_ctx ctx = { .req = ret };
	int r;

	release_current(nl);
	while ((nl->cur = queue_pop(&nl->requests))) {
		if (parse_request((struct nlmsghdr *)nl->cur->data, ret) == 0)
			return 1;
		queued_free(TAKE_PTR(nl->cur));
	}
	for (;;) {
		r = recv_once(nl, timeout_ms, &ctx);
		if (r <= 0)
			return r;
		if (ctx.got_req)
			return 1;
		if (nl->requests.head)
			return vusim_nl_recv_request(nl, 0, ret);
		/* Only acks or events: wait again (timeout restarts). */
		if (timeout_ms == 0)
			return 0;
	}
}

int vusim_nl_recv_event(struct vusim_nl *nl, int timeout_ms,
			struct vusim_slot_info *ret)
{
	struct wait_ctx ctx = { .event = ret };
	struct queued *e;
	int r;

	while ((e = queue_pop(&nl->events))) {
		r = parse_slot((struct nlmsghdr *)e->data, ret);
		queued_free(e);
		if (r == 0)
			return 1;
	}
	for (;;) {
		r = recv_once(nl, timeout_ms, &ctx);
		if (r <= 0)
			return r;
		if (ctx.got_event)
			return 1;
		if (timeout_ms == 0)
			return 0;
	}
}

/*
 * Sends an answer: header, VUSIM_ATTR_SLOT, VUSIM_ATTR_SEQ and one attribute
 * (type, data, len; len 0 with type VUSIM_ATTR_FAILED for a flag), the data
 * straight from the caller's buffer.
 */
static int send_answer(struct vusim_nl *nl, uint8_t cmd, uint32_t slot,
		       uint32_t seq, uint16_t type, const void *data, size_t len)
{
	struct {
		struct nlmsghdr nlh;
		struct genlmsghdr g;
		struct nlattr slot_hdr;
		uint32_t slot;
		struct nlattr seq_hdr;
		uint32_t seq;
		struct nlattr data_hdr;
	} h;
	static const uint8_t pad[NLA_ALIGNTO];
	size_t padlen = NLA_ALIGN(len) - len;
	struct iovec iov[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)data, .iov_len = len },
		{ .iov_base = (void *)pad, .iov_len = padlen },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };

	if (len > VUSIM_APDU_MAX)
		return -EMSGSIZE;
	memset(&h, 0, sizeof(h));
	h.nlh.nlmsg_len = sizeof(h) + len + padlen;
	h.nlh.nlmsg_type = nl->family;
	h.nlh.nlmsg_flags = NLM_F_REQUEST;
	h.nlh.nlmsg_seq = nl_socket_use_seq(nl->sk);
	h.g.cmd = cmd;
	h.g.version = VUSIM_GENL_VERSION;
	h.slot_hdr.nla_len = NLA_HDRLEN + sizeof(uint32_t);
	h.slot_hdr.nla_type = VUSIM_ATTR_SLOT;
	h.slot = slot;
	h.seq_hdr.nla_len = NLA_HDRLEN + sizeof(uint32_t);
	h.seq_hdr.nla_type = VUSIM_ATTR_SEQ;
	h.seq = seq;
	h.data_hdr.nla_len = NLA_HDRLEN + len;
	h.data_hdr.nla_type = type;
	for (;;) {
		if (sendmsg(nl->fd, &mh, 0) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int vusim_nl_apdu_response(struct vusim_nl *nl, uint32_t slot, uint32_t seq,
			   const uint8_t *rsp, size_t rsp_len)
{
	return send_answer(nl, VUSIM_CMD_APDU_RESPONSE, slot, seq,
			   VUSIM_ATTR_APDU, rsp, rsp_len);
}

int vusim_nl_power_response(struct vusim_nl *nl, uint32_t slot, uint32_t seq,
			    const uint8_t *atr, size_t atr_len)
{
	return send_answer(nl, VUSIM_CMD_POWER_RESPONSE, slot, seq,
			   VUSIM_ATTR_ATR, atr, atr_len);
}

int vusim_nl_request_failed(struct vusim_nl *nl, enum vusim_request_kind kind,
			    uint32_t slot, uint32_t seq)
{
	return send_answer(nl, kind == VUSIM_REQUEST_APDU ?
			   VUSIM_CMD_APDU_RESPONSE : VUSIM_CMD_POWER_RESPONSE,
			   slot, seq, VUSIM_ATTR_FAILED, NULL, 0);
}

static int serve_one(struct vusim_nl *nl, const struct vusim_backend_ops *ops,
		     void *userdata, const struct vusim_request *req)
{
	size_t len = 0;
	int r;

	if (req->kind == VUSIM_REQUEST_APDU) {
		r = ops->apdu ? ops->apdu(userdata, req->slot, req->apdu,
					  req->apdu_len, nl->rsp, &len) : -ENOSYS;
		if (r == 0 && (len < VUSIM_APDU_RSP_MIN || len > VUSIM_APDU_MAX))
			r = -EMSGSIZE;
		if (r < 0)
			r = vusim_nl_request_failed(nl, req->kind, req->slot,
						    req->seq);
		else
			r = vusim_nl_apdu_response(nl, req->slot, req->seq,
						   nl->rsp, len);
		wipe(nl->rsp, len);
		return r;
	}

	uint8_t atr[VUSIM_ATR_MAX];

	r = ops->power ? ops->power(userdata, req->slot, req->power_op, atr,
				    &len) : -ENOSYS;
	if (req->power_op == VUSIM_POWER_OFF)
		return 0;	/* a notification */
	if (r == 0 && (len < VUSIM_ATR_MIN || len > VUSIM_ATR_MAX))
		r = -EMSGSIZE;
	if (r < 0)
		return vusim_nl_request_failed(nl, req->kind, req->slot, req->seq);
	return vusim_nl_power_response(nl, req->slot, req->seq, atr, len);
}

int vusim_nl_serve(struct vusim_nl *nl, const struct vusim_backend_ops *ops,
		   void *userdata, int timeout_ms)
{
	struct vusim_request req;
	int n = 0, r;

	r = vusim_nl_recv_request(nl, timeout_ms, &req);
	while (r == 1) {
		r = serve_one(nl, ops, userdata, &req);
		if (r < 0)
			return r;
		n++;
		/* Drain what is queued without another system call. */
		if (!nl->requests.head)
			break;
		r = vusim_nl_recv_request(nl, 0, &req);
	}
	release_current(nl);
	return r < 0 ? r : n;
}

/* ---- modem side ---- */

int vusim_modem_open(uint32_t slot, int extra_flags)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/" VUSIM_DEV_PREFIX "%u", slot);
	fd = open(path, O_RDWR | O_CLOEXEC | extra_flags);
	return fd < 0 ? -errno : fd;
}

ssize_t vusim_modem_transmit(int fd, const uint8_t *cmd, size_t cmd_len,
			     uint8_t *rsp, size_t rsp_size)
{
	ssize_t n;

	do
		n = write(fd, cmd, cmd_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	do
		n = read(fd, rsp, rsp_size);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int vusim_modem_status(int fd, struct vusim_status *ret)
{
	return ioctl(fd, VUSIM_IOC_STATUS, ret) < 0 ? -errno : 0;
}

int vusim_modem_atr(int fd, unsigned long request, uint8_t *atr,
		    size_t *atr_len)
{
	struct vusim_atr a;

	if (ioctl(fd, request, &a) < 0)
		return -errno;
	if (a.len > VUSIM_ATR_MAX)
		return -EBADMSG;
	memcpy(atr, a.atr, a.len);
	*atr_len = a.len;
	return 0;
}

int vusim_modem_power_off(int fd)
{
	return ioctl(fd, VUSIM_IOC_POWER_OFF) < 0 ? -errno : 0;
}
