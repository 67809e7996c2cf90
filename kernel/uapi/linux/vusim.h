/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * vusim: virtual USIM card slots.
 *
 * A slot is one virtual smart-card reader holding at most one card.  Two
 * parties use it:
 *
 *  - the modem side opens the character device /dev/vusim<N> (N is the slot
 *    index), writes one command APDU, reads one response APDU (ISO/IEC 7816-3
 *    is half duplex: one outstanding command per slot), polls, and uses the
 *    ioctls below for status, ATR, power and reset;
 *  - the backend (the software card, e.g. mcimd) talks to the generic netlink
 *    family VUSIM_GENL_NAME: it adds or claims slots, inserts and removes the
 *    card, and answers the requests the kernel forwards to it.  The netlink
 *    socket that added or claimed a slot is the slot's backend; only it may
 *    answer the slot's requests or change the card.
 *
 * The full description, with every errno, is docs/vusim-abi.md.
 *
 * Character device
 * ----------------
 * write(fd, apdu, len)  sends one command APDU, 4 <= len <= VUSIM_APDU_MAX
 *	(ISO/IEC 7816-4 5.1: CLA INS P1 P2 at least; short and extended cases
 *	both pass).  Returns len at once; the response is read with read().
 *	Errors: EINVAL (shorter than 4 bytes), EMSGSIZE (longer than
 *	VUSIM_APDU_MAX; never truncated), EBUSY (a command or a power request
 *	is outstanding on the slot, from any file), ENOMEDIUM (no card),
 *	ENOTCONN (card present but powered off), ENODEV (slot deleted),
 *	ENOLINK (slot has no backend, or its socket is closing: the card is
 *	then removed at once), EAGAIN/ENOBUFS (the backend's socket
 *	buffer is full: nothing was sent), EFAULT.
 * read(fd, buf, len)  returns the response APDU (2 <= n <= VUSIM_APDU_MAX)
 *	of the command this file wrote.  Blocks until it arrives unless
 *	O_NONBLOCK (then EAGAIN).  Errors: EOVERFLOW (len is smaller than the
 *	response: the response is kept, retry with a bigger buffer), ENOMSG
 *	(this file has no command outstanding), ETIMEDOUT (the backend did not
 *	answer within the slot's timeout; a later answer is dropped and
 *	counted), EIO (the backend answered VUSIM_ATTR_FAILED), ENOMEDIUM (the
 *	card was removed or the backend went away while waiting), ENODEV (slot
 *	deleted), EFAULT (the response is lost).  After any of these errors
 *	but EOVERFLOW/EAGAIN/EINTR the command is finished and the slot is
 *	free for the next one.  A signal gives EINTR (or restarts the read with
 *	SA_RESTART); the command stays outstanding.
 * poll()  EPOLLIN | EPOLLRDNORM: this file's command has finished (read()
 *	will not block); EPOLLOUT | EPOLLWRNORM: a command may be written now;
 *	EPOLLPRI: the card state changed (inserted, removed, powered on or off,
 *	reset, backend lost) since this file last called VUSIM_IOC_STATUS;
 *	EPOLLHUP | EPOLLERR: the slot was deleted (every call then fails with
 *	ENODEV, except that a finished command's result is still read: then
 *	EPOLLIN | EPOLLRDNORM come with EPOLLHUP, as on a pipe).
 * close()  with a command outstanding abandons it: the backend's answer
 *	arrives late and is dropped.
 *
 * Several files may open the same slot; the one outstanding command belongs
 * to the file that wrote it.
 */
#ifndef _UAPI_LINUX_VUSIM_H
#define _UAPI_LINUX_VUSIM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Generic netlink family name, version and multicast group. */
#define VUSIM_GENL_NAME		"vusim"
#define VUSIM_GENL_VERSION	1
#define VUSIM_GENL_MCGRP_EVENTS	"events"

/* The device of slot N is /dev/vusim<N>; its sysfs class is "vusim". */
#define VUSIM_DEV_PREFIX	"vusim"

/*
 * Largest APDU (command or response) in bytes.  A netlink attribute's length
 * is a 16-bit field that includes its 4-byte header, so 65535 - 4 bytes of
 * payload is the most one attribute can carry.  This covers every extended
 * command APDU with up to 65524 data bytes and extended responses of up to
 * 65529 data bytes + SW1 SW2 (ISO/IEC 7816-4 5.1).  Nothing larger is
 * accepted anywhere (EMSGSIZE on the device, an extack error on netlink).
 */
#define VUSIM_APDU_MAX		65531
#define VUSIM_APDU_CMD_MIN	4	/* CLA INS P1 P2, ISO/IEC 7816-4 5.1 */
#define VUSIM_APDU_RSP_MIN	2	/* SW1 SW2, ISO/IEC 7816-4 5.1.3 */

/* ATR: TS and T0 at least, TS plus at most 32 characters (ISO/IEC 7816-3 8.2.1). */
#define VUSIM_ATR_MIN		2
#define VUSIM_ATR_MAX		33

/* Per-slot answer timeout in milliseconds: range and module default. */
#define VUSIM_TIMEOUT_MIN_MS	10
#define VUSIM_TIMEOUT_MAX_MS	600000
#define VUSIM_TIMEOUT_DEFAULT_MS 5000

/* ------------------------------------------------------------------ */
/* ioctls on /dev/vusim<N> (magic 0xB9, free in ioctl-number.rst)      */
/* ------------------------------------------------------------------ */

#define VUSIM_IOC_MAGIC		0xB9

/* vusim_status.flags */
#define VUSIM_STATUS_PRESENT	0x1U	/* a card is in the slot */
#define VUSIM_STATUS_POWERED	0x2U	/* the card is powered (active) */
#define VUSIM_STATUS_BACKEND	0x4U	/* a backend owns the slot */
#define VUSIM_STATUS_BUSY	0x8U	/* a command/request is outstanding */

/**
 * struct vusim_status - VUSIM_IOC_STATUS result
 * @flags: VUSIM_STATUS_* bits
 * @protocol: first protocol the ATR offers (0 for T=0, 1 for T=1; from
 *	TD1, ISO/IEC 7816-3 8.2.3; 0 when the ATR has no TD1 or no card)
 * @atr_len: length of the current ATR, 0 without a card
 * @timeout_ms: the slot's answer timeout
 * @slot: the slot index N of /dev/vusim<N>
 * @changes: number of card state changes since the slot was created (the
 *	counter behind EPOLLPRI)
 * @reserved: zero
 */
struct vusim_status {
	__u32 flags;
	__u32 protocol;
	__u32 atr_len;
	__u32 timeout_ms;
	__u32 slot;
	__u32 changes;
	__u32 reserved[2];
};

/**
 * struct vusim_atr - an ATR as returned by the ATR, power-on and reset ioctls
 * @len: number of valid bytes in @atr (VUSIM_ATR_MIN..VUSIM_ATR_MAX)
 * @atr: the ATR bytes, starting with TS
 * @reserved: zero
 */
struct vusim_atr {
	__u32 len;
	__u8 atr[VUSIM_ATR_MAX];
	__u8 reserved[3];
};

/*
 * VUSIM_IOC_STATUS: the slot's status; also clears this file's pending
 * EPOLLPRI (card state change) event.  Errors: ENODEV.
 */
#define VUSIM_IOC_STATUS	_IOR(VUSIM_IOC_MAGIC, 0x01, struct vusim_status)
/*
 * VUSIM_IOC_GET_ATR: the current ATR.  Errors: ENOMEDIUM (no card),
 * ENOTCONN (card powered off), ENODEV.
 */
#define VUSIM_IOC_GET_ATR	_IOR(VUSIM_IOC_MAGIC, 0x02, struct vusim_atr)
/*
 * VUSIM_IOC_POWER_ON, VUSIM_IOC_WARM_RESET, VUSIM_IOC_COLD_RESET: ask the
 * backend to power on / reset the card (ISO/IEC 7816-3 6.2.2, 6.2.3) and
 * return the ATR it answers with.  They block until the backend answers (the
 * slot's timeout applies), also with O_NONBLOCK.  A signal does not abandon
 * the request: the ioctl is restarted (SA_RESTART) or fails with EINTR, and
 * the same ioctl on the same file then waits for that request's answer
 * instead of sending a new one.  A cold
 * reset or power on of a powered card is a cold reset; a warm reset of a
 * powered-off card fails with ENOTCONN.  Errors: ENOMEDIUM, ENOTCONN, EBUSY
 * (a command is outstanding), ETIMEDOUT, EIO (backend answered
 * VUSIM_ATTR_FAILED), ENOLINK (no backend), EINTR, ENODEV, EAGAIN/ENOBUFS.
 */
#define VUSIM_IOC_POWER_ON	_IOR(VUSIM_IOC_MAGIC, 0x03, struct vusim_atr)
#define VUSIM_IOC_WARM_RESET	_IOR(VUSIM_IOC_MAGIC, 0x05, struct vusim_atr)
#define VUSIM_IOC_COLD_RESET	_IOR(VUSIM_IOC_MAGIC, 0x06, struct vusim_atr)
/*
 * VUSIM_IOC_POWER_OFF: deactivate the card (ISO/IEC 7816-3 6.4).  The
 * backend gets a VUSIM_CMD_POWER_REQUEST with VUSIM_POWER_OFF as a
 * notification (no answer expected).  Powering off a powered-off card
 * succeeds and sends nothing.  Errors: ENOMEDIUM, EBUSY, ENODEV.
 */
#define VUSIM_IOC_POWER_OFF	_IO(VUSIM_IOC_MAGIC, 0x04)

/* ------------------------------------------------------------------ */
/* Generic netlink family "vusim"                                      */
/* ------------------------------------------------------------------ */

/*
 * Commands.  "admin" means the command needs CAP_NET_ADMIN (EPERM
 * otherwise); "backend" means only the slot's backend socket may send it
 * (EPERM otherwise, extack "not the slot's backend").  Every request is
 * validated strictly: unknown attributes, wrong lengths, values out of range
 * and unknown flag bits fail with EINVAL/ERANGE and an extack message; a
 * missing required attribute fails with EINVAL and the missing attribute
 * reported in the extack (NLMSGERR_ATTR_MISS_TYPE); an unknown slot index
 * fails with ENOENT.
 *
 * VUSIM_CMD_SLOT_ADD (admin): create a slot whose backend is the sender.
 *	Optional VUSIM_ATTR_TIMEOUT_MS, VUSIM_ATTR_FLAGS (VUSIM_SLOT_F_*).
 *	Reply: a VUSIM_CMD_SLOT_ADD message with the slot's attributes (as
 *	VUSIM_CMD_SLOT_GET), among them VUSIM_ATTR_SLOT, the new index N.
 *	Errors: ENOSPC (max_slots slots exist), ENOMEM.
 * VUSIM_CMD_SLOT_CLAIM (admin): become the backend of an orphaned slot
 *	(one whose backend socket closed).  Requires VUSIM_ATTR_SLOT; optional
 *	VUSIM_ATTR_FLAGS replace the slot's flags.  Errors: EBUSY (the slot
 *	has a backend), ENOENT.
 * VUSIM_CMD_SLOT_DEL (admin): delete a slot.  Requires VUSIM_ATTR_SLOT.
 *	Allowed to the slot's backend, or to anyone admin when the slot is
 *	orphaned (EBUSY otherwise).  Open files of the slot then fail with
 *	ENODEV and poll EPOLLHUP; a waiting modem call returns ENODEV.
 * VUSIM_CMD_SLOT_SET (admin, backend): change settings.  Requires
 *	VUSIM_ATTR_SLOT; optional VUSIM_ATTR_TIMEOUT_MS (applies to the next
 *	command).
 * VUSIM_CMD_SLOT_GET: one slot (with VUSIM_ATTR_SLOT) or, as a dump
 *	(NLM_F_DUMP), every slot.  No privilege needed.  Reply attributes:
 *	VUSIM_ATTR_SLOT, VUSIM_ATTR_FLAGS, VUSIM_ATTR_TIMEOUT_MS,
 *	VUSIM_ATTR_BACKEND (0: orphaned), VUSIM_ATTR_CARD_PRESENT,
 *	VUSIM_ATTR_POWERED, VUSIM_ATTR_ATR (with a card), VUSIM_ATTR_STATS.
 * VUSIM_CMD_CARD_INSERT (admin, backend): insert a card.  Requires
 *	VUSIM_ATTR_SLOT and VUSIM_ATTR_ATR (TS must be 0x3B or 0x3F, ISO/IEC
 *	7816-3 8.1).  The card is then present and powered with that ATR.
 *	Errors: EEXIST (a card is present).
 * VUSIM_CMD_CARD_REMOVE (admin, backend): remove the card.  Requires
 *	VUSIM_ATTR_SLOT.  A waiting modem call fails with ENOMEDIUM.  Errors:
 *	ENOMEDIUM (no card).
 * VUSIM_CMD_APDU_REQUEST (kernel -> backend, unicast to the backend's
 *	socket, not sent by user space: EOPNOTSUPP): a command APDU.  It is
 *	only ever delivered to the socket that is the slot's backend: while
 *	it is sent the kernel holds that socket open, so its port id cannot
 *	be freed and bound by another socket.
 *	Attributes: VUSIM_ATTR_SLOT, VUSIM_ATTR_SEQ, VUSIM_ATTR_APDU.  The
 *	kernel wipes its copy of the command (it may hold a PIN) when the
 *	request ends: a request read only after that (timed out, abandoned,
 *	card removed) carries an all-zero APDU of the same length.
 * VUSIM_CMD_APDU_RESPONSE (admin, backend): the answer to an APDU request.
 *	Requires VUSIM_ATTR_SLOT, VUSIM_ATTR_SEQ and either VUSIM_ATTR_APDU
 *	(the response, VUSIM_APDU_RSP_MIN..VUSIM_APDU_MAX bytes) or
 *	VUSIM_ATTR_FAILED (the modem's read fails with EIO).  An answer whose
 *	sequence number is not the one outstanding (late: the command timed
 *	out or its file closed; or never issued) is dropped, counted in
 *	VUSIM_STATS_LATE and acknowledged with success.  Errors: EINVAL
 *	(the outstanding request is a power request).
 * VUSIM_CMD_POWER_REQUEST (kernel -> backend, unicast): power the card on,
 *	reset it, or power it off.  Attributes: VUSIM_ATTR_SLOT, VUSIM_ATTR_SEQ,
 *	VUSIM_ATTR_POWER_OP (enum vusim_power_op).  VUSIM_POWER_OFF is a
 *	notification: no answer is expected (one is dropped as late).
 * VUSIM_CMD_POWER_RESPONSE (admin, backend): the answer to a power-on or
 *	reset request.  Requires VUSIM_ATTR_SLOT, VUSIM_ATTR_SEQ and either
 *	VUSIM_ATTR_ATR (the card's new ATR; the card is then powered) or
 *	VUSIM_ATTR_FAILED (the ioctl fails with EIO, the card stays as it
 *	was).  Late answers as for VUSIM_CMD_APDU_RESPONSE; EINVAL when the
 *	outstanding request is an APDU.
 * VUSIM_CMD_EVENT (kernel -> multicast group VUSIM_GENL_MCGRP_EVENTS): a
 *	slot or card event.  Attributes: VUSIM_ATTR_EVENT (enum vusim_event)
 *	and the slot's attributes as in VUSIM_CMD_SLOT_GET (without stats).
 */
enum vusim_cmd {
	VUSIM_CMD_UNSPEC,
	VUSIM_CMD_SLOT_ADD,
	VUSIM_CMD_SLOT_CLAIM,
	VUSIM_CMD_SLOT_DEL,
	VUSIM_CMD_SLOT_SET,
	VUSIM_CMD_SLOT_GET,
	VUSIM_CMD_CARD_INSERT,
	VUSIM_CMD_CARD_REMOVE,
	VUSIM_CMD_APDU_REQUEST,
	VUSIM_CMD_APDU_RESPONSE,
	VUSIM_CMD_POWER_REQUEST,
	VUSIM_CMD_POWER_RESPONSE,
	VUSIM_CMD_EVENT,

	__VUSIM_CMD_MAX
};

#define VUSIM_CMD_MAX (__VUSIM_CMD_MAX - 1)

/*
 * Attributes.
 *
 * VUSIM_ATTR_SLOT: u32, slot index N (/dev/vusim<N>).
 * VUSIM_ATTR_FLAGS: u32, VUSIM_SLOT_F_* bits; unknown bits are rejected.
 * VUSIM_ATTR_TIMEOUT_MS: u32, VUSIM_TIMEOUT_MIN_MS..VUSIM_TIMEOUT_MAX_MS.
 * VUSIM_ATTR_ATR: binary, VUSIM_ATR_MIN..VUSIM_ATR_MAX bytes (ERANGE outside).
 * VUSIM_ATTR_SEQ: u32, sequence number of a request (never 0).
 * VUSIM_ATTR_APDU: binary; in requests VUSIM_APDU_CMD_MIN..VUSIM_APDU_MAX
 *	bytes, in answers VUSIM_APDU_RSP_MIN..VUSIM_APDU_MAX (ERANGE outside).
 * VUSIM_ATTR_POWER_OP: u8, enum vusim_power_op.
 * VUSIM_ATTR_FAILED: flag, the backend could not serve the request.
 * VUSIM_ATTR_BACKEND: u8 (replies/events only), 1 when a backend socket
 *	serves the slot, 0 when it is orphaned.  (The backend's port id is not
 *	published.)
 * VUSIM_ATTR_CARD_PRESENT: u8 (replies/events only), 1 with a card.
 * VUSIM_ATTR_POWERED: u8 (replies/events only), 1 when the card is powered.
 * VUSIM_ATTR_EVENT: u32 (events only), enum vusim_event.
 * VUSIM_ATTR_STATS: nested (replies only), VUSIM_STATS_* u64 counters.
 */
enum vusim_attr {
	VUSIM_ATTR_UNSPEC,
	VUSIM_ATTR_SLOT,
	VUSIM_ATTR_FLAGS,
	VUSIM_ATTR_TIMEOUT_MS,
	VUSIM_ATTR_ATR,
	VUSIM_ATTR_SEQ,
	VUSIM_ATTR_APDU,
	VUSIM_ATTR_POWER_OP,
	VUSIM_ATTR_FAILED,
	VUSIM_ATTR_BACKEND,
	VUSIM_ATTR_CARD_PRESENT,
	VUSIM_ATTR_POWERED,
	VUSIM_ATTR_EVENT,
	VUSIM_ATTR_STATS,

	__VUSIM_ATTR_MAX
};

#define VUSIM_ATTR_MAX (__VUSIM_ATTR_MAX - 1)

/*
 * Slot flags (VUSIM_ATTR_FLAGS).
 * VUSIM_SLOT_F_DELETE_ON_CLOSE: delete the slot when its backend socket
 *	closes, instead of leaving it orphaned for VUSIM_CMD_SLOT_CLAIM.
 */
#define VUSIM_SLOT_F_DELETE_ON_CLOSE	0x1U

/* VUSIM_ATTR_POWER_OP values (ISO/IEC 7816-3 6.2 activation, 6.4 deactivation). */
enum vusim_power_op {
	VUSIM_POWER_ON,		/* activate a powered-off card: cold reset */
	VUSIM_POWER_OFF,	/* deactivate; notification, no answer */
	VUSIM_POWER_WARM_RESET,	/* warm reset of a powered card */
	VUSIM_POWER_COLD_RESET,	/* power cycle */

	__VUSIM_POWER_MAX
};

#define VUSIM_POWER_MAX (__VUSIM_POWER_MAX - 1)

/* VUSIM_ATTR_EVENT values: what a VUSIM_CMD_EVENT announces. */
enum vusim_event {
	VUSIM_EVENT_UNSPEC,
	VUSIM_EVENT_SLOT_ADDED,
	VUSIM_EVENT_SLOT_DELETED,
	VUSIM_EVENT_SLOT_CLAIMED,	/* a new backend claimed an orphan */
	VUSIM_EVENT_SLOT_ORPHANED,	/* the backend socket closed */
	VUSIM_EVENT_CARD_INSERTED,
	VUSIM_EVENT_CARD_REMOVED,
	VUSIM_EVENT_CARD_POWERED_ON,	/* power on or reset answered: new ATR */
	VUSIM_EVENT_CARD_POWERED_OFF,

	__VUSIM_EVENT_MAX
};

#define VUSIM_EVENT_MAX (__VUSIM_EVENT_MAX - 1)

/*
 * Counters in VUSIM_ATTR_STATS (u64 each), also in sysfs
 * /sys/class/vusim/vusim<N>/stats/<name>.
 */
enum vusim_stats_attr {
	VUSIM_STATS_UNSPEC,
	VUSIM_STATS_COMMANDS,		/* command APDUs sent to the backend */
	VUSIM_STATS_RESPONSES,		/* responses delivered in time */
	VUSIM_STATS_TIMEOUTS,		/* requests that timed out */
	VUSIM_STATS_LATE,		/* answers dropped: late or unknown seq */
	VUSIM_STATS_FAILED,		/* answers with VUSIM_ATTR_FAILED */
	VUSIM_STATS_RESETS,		/* power-on and reset requests sent */
	VUSIM_STATS_ABANDONED,		/* requests abandoned by close() */
	VUSIM_STATS_BACKEND_LOST,	/* backend sockets closed on the slot */
	VUSIM_STATS_PAD,

	__VUSIM_STATS_MAX
};

#define VUSIM_STATS_MAX (__VUSIM_STATS_MAX - 1)

#endif /* _UAPI_LINUX_VUSIM_H */
