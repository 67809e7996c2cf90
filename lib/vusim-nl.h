/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vusim-nl: user-space client of the vusim kernel driver.
 *
 * Backend side: the generic netlink family "vusim" (kernel/uapi/linux/vusim.h,
 * docs/vusim-abi.md) over libnl-genl-3: slot management, card insertion and
 * removal, and a request loop that receives the APDU and power requests the
 * kernel forwards and sends the answers back.
 *
 * Modem side: small helpers around /dev/vusim<N> (open, transmit, ioctls).
 *
 * Threading: a struct vusim_nl is one netlink socket and must be used by one
 * thread at a time.  A backend that serves while another thread manages slots
 * opens two handles; the slot's backend is the handle that added or claimed
 * it, so that handle is the one that must serve the slot's requests.
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure; after a kernel error, vusim_nl_error() gives the kernel's extack
 * message (or "" without one).  Nothing is logged.
 */
#ifndef MCIM_VUSIM_NL_H
#define MCIM_VUSIM_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vusim.h>

struct nl_msg;
struct vusim_nl;

/* A slot as reported by VUSIM_CMD_SLOT_GET, its dump and VUSIM_CMD_EVENT. */
struct vusim_slot_info {
	uint32_t slot;
	uint32_t flags;		/* VUSIM_SLOT_F_* */
	uint32_t timeout_ms;
	bool backend;		/* a backend serves it; false: orphaned */
	bool card_present;
	bool powered;
	size_t atr_len;		/* 0 without a card */
	uint8_t atr[VUSIM_ATR_MAX];
	uint32_t event;		/* enum vusim_event (events only, else 0) */
	/* VUSIM_STATS_* counters (get/dump only, else 0) */
	uint64_t commands, responses, timeouts, late, failed, resets,
		abandoned, backend_lost;
};

/* A request the kernel forwarded to this backend. */
enum vusim_request_kind {
	VUSIM_REQUEST_APDU,	/* VUSIM_CMD_APDU_REQUEST */
	VUSIM_REQUEST_POWER,	/* VUSIM_CMD_POWER_REQUEST */
};

struct vusim_request {
	enum vusim_request_kind kind;
	uint32_t slot;
	uint32_t seq;
	/* VUSIM_REQUEST_APDU: the command APDU, valid until the next call on
	 * the handle (it lives in the handle's buffer, wiped after use). */
	const uint8_t *apdu;
	size_t apdu_len;
	/* VUSIM_REQUEST_POWER: enum vusim_power_op */
	uint8_t power_op;
};

/* ---- handle ---- */

/* Opens a netlink socket and resolves the family and its event group. */
int vusim_nl_open(struct vusim_nl **ret);
/* Closes the socket (the kernel then orphans or deletes the slots this handle
 * was backend of).  Accepts NULL. */
void vusim_nl_close(struct vusim_nl *nl);
/* The socket's descriptor, for poll() in an event loop (POLLIN: call
 * vusim_nl_serve() or vusim_nl_recv_request() with timeout 0). */
int vusim_nl_fd(const struct vusim_nl *nl);
/* The socket's netlink port id (the kernel publishes no backend's). */
uint32_t vusim_nl_portid(const struct vusim_nl *nl);
/* The kernel's extack message of the last failed call ("" if none). */
const char *vusim_nl_error(const struct vusim_nl *nl);
/* The attribute the kernel reported missing in the last failed call, or 0. */
uint32_t vusim_nl_error_missing_attr(const struct vusim_nl *nl);
/* Joins the event multicast group: vusim_nl_recv_event() then gets events. */
int vusim_nl_subscribe_events(struct vusim_nl *nl);

/* ---- slot management (all wait for the kernel's acknowledgement, at
 * most 10 s: -ETIMEDOUT) ---- */

/* timeout_ms 0: the module's default.  *ret_slot gets the slot index. */
int vusim_nl_slot_add(struct vusim_nl *nl, uint32_t flags, uint32_t timeout_ms,
		      uint32_t *ret_slot);
int vusim_nl_slot_claim(struct vusim_nl *nl, uint32_t slot, uint32_t flags);
int vusim_nl_slot_del(struct vusim_nl *nl, uint32_t slot);
int vusim_nl_slot_set_timeout(struct vusim_nl *nl, uint32_t slot,
			      uint32_t timeout_ms);
int vusim_nl_slot_get(struct vusim_nl *nl, uint32_t slot,
		      struct vusim_slot_info *ret);
/* Calls cb for every slot; a negative return of cb stops the dump and is
 * returned. */
int vusim_nl_slot_dump(struct vusim_nl *nl,
		       int (*cb)(const struct vusim_slot_info *info, void *userdata),
		       void *userdata);
int vusim_nl_card_insert(struct vusim_nl *nl, uint32_t slot, const uint8_t *atr,
			 size_t atr_len);
int vusim_nl_card_remove(struct vusim_nl *nl, uint32_t slot);

/* ---- serving requests ---- */

/*
 * Waits up to timeout_ms (-1: forever, 0: do not wait) for a request and
 * stores it in *ret.  Returns 1 with a request, 0 on timeout, negative errno
 * on failure.  Requests that arrived while a slot management call waited for
 * its acknowledgement are queued and returned first, in order.  -ENOBUFS
 * means the socket's receive buffer overflowed and messages were lost (the
 * modem sees ETIMEDOUT for them); -EINTR that a signal interrupted the wait;
 * the handle stays usable after both.
 */
int vusim_nl_recv_request(struct vusim_nl *nl, int timeout_ms,
			  struct vusim_request *ret);
/*
 * Answers (no acknowledgement is waited for: the kernel reports errors
 * asynchronously; they are counted, see vusim_nl_async_errors()).
 * rsp_len VUSIM_APDU_RSP_MIN..VUSIM_APDU_MAX, atr_len VUSIM_ATR_MIN..MAX.
 */
int vusim_nl_apdu_response(struct vusim_nl *nl, uint32_t slot, uint32_t seq,
			   const uint8_t *rsp, size_t rsp_len);
int vusim_nl_power_response(struct vusim_nl *nl, uint32_t slot, uint32_t seq,
			    const uint8_t *atr, size_t atr_len);
/* Answers VUSIM_ATTR_FAILED to request kind/slot/seq. */
int vusim_nl_request_failed(struct vusim_nl *nl, enum vusim_request_kind kind,
			    uint32_t slot, uint32_t seq);
/* Errors the kernel returned for answers sent without acknowledgement. */
unsigned long vusim_nl_async_errors(const struct vusim_nl *nl);

/*
 * Callbacks of vusim_nl_serve().  They may call the slot management
 * functions on the same handle (cmd stays valid), not the serving ones.
 * apdu: fill rsp (room for VUSIM_APDU_MAX bytes) and *rsp_len; return 0, or
 *	a negative errno to answer VUSIM_ATTR_FAILED.  rsp is wiped after the
 *	answer is sent, and so is the command.
 * power: for VUSIM_POWER_ON / *_RESET fill atr (room for VUSIM_ATR_MAX) and
 *	*atr_len, return 0 or a negative errno (FAILED).  VUSIM_POWER_OFF is a
 *	notification: the return value is ignored and nothing is sent.
 */
struct vusim_backend_ops {
	int (*apdu)(void *userdata, uint32_t slot, const uint8_t *cmd,
		    size_t cmd_len, uint8_t *rsp, size_t *rsp_len);
	int (*power)(void *userdata, uint32_t slot, uint8_t op, uint8_t *atr,
		     size_t *atr_len);
};

/*
 * Waits up to timeout_ms for requests and serves every request available
 * through ops.  Returns the number served (0 on timeout) or a negative errno.
 * A backend's main loop is `while (!stop) vusim_nl_serve(nl, &ops, ud, -1);`.
 */
int vusim_nl_serve(struct vusim_nl *nl, const struct vusim_backend_ops *ops,
		   void *userdata, int timeout_ms);

/*
 * Waits up to timeout_ms for one event of the multicast group (after
 * vusim_nl_subscribe_events(); use a handle that is nobody's backend, or
 * requests are queued meanwhile).  Returns 1 with an event, 0 on timeout.
 */
int vusim_nl_recv_event(struct vusim_nl *nl, int timeout_ms,
			struct vusim_slot_info *ret);

/* ---- raw access, for tests ---- */

/* A new message for command cmd of the family with flags (NLM_F_*). */
struct nl_msg *vusim_nl_msg(struct vusim_nl *nl, uint8_t cmd, int flags);
/* Sends msg (and frees it), waits for the acknowledgement: 0 or -errno. */
int vusim_nl_transact(struct vusim_nl *nl, struct nl_msg *msg);

/* ---- modem side: /dev/vusim<N> ---- */

/* Opens /dev/vusim<slot> with O_RDWR | O_CLOEXEC | extra_flags: fd or -errno. */
int vusim_modem_open(uint32_t slot, int extra_flags);
/* Writes cmd and reads the response into rsp (rsp_size bytes): the response
 * length or -errno (of write or read). */
ssize_t vusim_modem_transmit(int fd, const uint8_t *cmd, size_t cmd_len,
			     uint8_t *rsp, size_t rsp_size);
/* ioctl wrappers: 0 or -errno. */
int vusim_modem_status(int fd, struct vusim_status *ret);
int vusim_modem_atr(int fd, unsigned long request, uint8_t *atr,
		    size_t *atr_len); /* GET_ATR, POWER_ON, *_RESET */
int vusim_modem_power_off(int fd);

#endif
