/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vusim internals shared by main.c (module init/exit, module parameters),
 * slot.c (slot lifetime and the /dev/vusim<N> character device), netlink.c
 * (the generic netlink family) and sysfs.c (per-slot attributes).
 *
 * Locking: vusim_slots_lock (a mutex) serializes slot creation, deletion and
 * backend release and is taken before a slot's lock, never after; lookups
 * use a spinlock of slot.c only.  slot->lock (a mutex) protects every
 * mutable field of the slot.  Neither is held across cdev_device_del() with
 * slot->lock, nor across cancel_delayed_work_sync().  Fields that wait
 * conditions read without the lock are written with WRITE_ONCE().
 *
 * Lifetime: the slot is a struct device; the idr holds the reference from
 * device_initialize() until the slot is deleted, every open file and every
 * netlink handler that found it holds one more.  The last put_device() frees
 * it (vusim_slot_release()).
 */
#ifndef VUSIM_H
#define VUSIM_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/skbuff.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <linux/vusim.h>

#define VUSIM_MINORS 256

/* Largest short command APDU: CLA INS P1 P2 Lc, 255 data bytes, Le. */
#define VUSIM_APDU_SHORT_MAX	261

/* Every slot flag this module knows (VUSIM_ATTR_FLAGS policy). */
#define VUSIM_SLOT_F_KNOWN	VUSIM_SLOT_F_DELETE_ON_CLOSE

enum vusim_req_state {
	VUSIM_REQ_IDLE,		/* nothing outstanding */
	VUSIM_REQ_WAITING,	/* sent to the backend, no answer yet */
	VUSIM_REQ_DONE,		/* answered (or failed), not yet collected */
};

enum vusim_req_kind {
	VUSIM_REQ_APDU,
	VUSIM_REQ_POWER,
};

struct vusim_stats {
	u64 commands;
	u64 responses;
	u64 timeouts;
	u64 late;
	u64 failed;
	u64 resets;
	u64 abandoned;
	u64 backend_lost;
};

struct vusim_file;

struct vusim_slot {
	struct device dev;
	struct cdev cdev;
	u32 index;

	struct mutex lock;		/* protects everything below */
	bool dead;			/* deleted: every call fails, ENODEV */
	u32 flags;			/* VUSIM_SLOT_F_* */
	u32 timeout_ms;
	/*
	 * The backend is a socket, not a port id: backend_sk (held with
	 * sock_hold()) is what handlers compare the sender with, and what a
	 * request is delivered to (vusim_nl_request_send()).  NULL: orphaned.
	 * backend_portid is only the address genlmsg_unicast() needs.
	 */
	struct sock *backend_sk;
	u32 backend_portid;
	bool card_present;
	bool powered;
	u8 atr_len;
	u8 atr[VUSIM_ATR_MAX];
	u32 changes;			/* card state changes, for EPOLLPRI */

	/* The one outstanding request (ISO/IEC 7816-3 is half duplex). */
	enum vusim_req_state req_state;
	enum vusim_req_kind req_kind;
	u8 req_op;			/* VUSIM_POWER_* of a power request */
	/*
	 * A signal interrupted the power ioctl waiting for this request: the
	 * request goes on and the restarted ioctl collects it; if nobody
	 * does, the next caller that needs the slot clears it once done.
	 */
	bool req_interrupted;
	struct vusim_file *req_owner;
	u32 seq;			/* of the current or last request */
	int req_err;
	unsigned long req_deadline;	/* jiffies */
	u8 *rsp;			/* kvmalloc'ed, wiped when freed */
	size_t rsp_len;
	/*
	 * The APDU request as sent: the backend got a clone sharing its data,
	 * so the command (a PIN, say) is wiped when the request ends
	 * (vusim_nl_request_free()), not left in whatever netlink frees.
	 */
	struct sk_buff *req_skb;

	struct vusim_stats stats;
	struct delayed_work timeout_work;
	wait_queue_head_t wq;		/* readers, ioctls, poll */
};

/* main.c */
extern unsigned int vusim_max_slots;
extern unsigned int vusim_default_timeout_ms;

/* slot.c */
extern struct mutex vusim_slots_lock;
int vusim_chrdev_init(void);
void vusim_chrdev_exit(void);
struct vusim_slot *vusim_slot_create(struct sock *backend_sk,
				     u32 backend_portid, u32 flags,
				     u32 timeout_ms);
struct vusim_slot *vusim_slot_lookup(u32 index);
void vusim_slot_put(struct vusim_slot *slot);
void vusim_slot_delete(struct vusim_slot *slot, bool notify);
void vusim_slot_delete_all(void);
void vusim_backend_set(struct vusim_slot *slot, struct sock *sk, u32 portid);
void vusim_backend_released(u32 portid);
void vusim_card_remove(struct vusim_slot *slot);
void vusim_req_finish(struct vusim_slot *slot, int err);
bool vusim_req_match(struct vusim_slot *slot, u32 seq);
int vusim_atr_protocol(const u8 *atr, size_t len);
struct vusim_slot *vusim_slot_next(u32 *index);

/* netlink.c */
int vusim_genl_init(void);
void vusim_genl_exit(void);
struct sk_buff *vusim_nl_request_new(struct vusim_slot *slot, u8 cmd,
				     size_t payload, u32 **seq_field);
int vusim_nl_request_send(struct vusim_slot *slot, struct sk_buff *skb,
			  bool sensitive);
void vusim_nl_request_free(struct sk_buff *skb);
void vusim_nl_event(struct vusim_slot *slot, u32 event);

/* sysfs.c */
extern const struct attribute_group *vusim_slot_groups[];

#endif /* VUSIM_H */
