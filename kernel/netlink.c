// SPDX-License-Identifier: GPL-2.0
/*
 * The backend side: generic netlink family "vusim" (uapi/linux/vusim.h has
 * the commands and attributes, docs/vusim-abi.md the full description).
 *
 * The family lives in the initial network namespace only, like the slots'
 * devices, which are global.  Handlers run in parallel (parallel_ops); each
 * finds its slot with a reference and works under the slot's lock.
 */

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netlink.h>

#include "compat.h"
#include "vusim.h"

static struct netlink_range_validation vusim_timeout_range = {
	.min = VUSIM_TIMEOUT_MIN_MS,
	.max = VUSIM_TIMEOUT_MAX_MS,
};

static struct netlink_range_validation vusim_apdu_range = {
	.min = VUSIM_APDU_RSP_MIN,
	.max = VUSIM_APDU_MAX,
};

/* Attributes only the kernel sends are rejected in requests. */
static const struct nla_policy vusim_policy[VUSIM_ATTR_MAX + 1] = {
	[VUSIM_ATTR_SLOT]		= { .type = NLA_U32 },
	[VUSIM_ATTR_FLAGS]		= NLA_POLICY_MASK(NLA_U32, VUSIM_SLOT_F_KNOWN),
	[VUSIM_ATTR_TIMEOUT_MS]		= NLA_POLICY_FULL_RANGE(NLA_U32, &vusim_timeout_range),
	[VUSIM_ATTR_ATR]		= NLA_POLICY_RANGE(NLA_BINARY, VUSIM_ATR_MIN,
						   VUSIM_ATR_MAX),
	[VUSIM_ATTR_SEQ]		= NLA_POLICY_MIN(NLA_U32, 1),
	[VUSIM_ATTR_APDU]		= NLA_POLICY_FULL_RANGE(NLA_BINARY, &vusim_apdu_range),
	[VUSIM_ATTR_POWER_OP]		= { .type = NLA_REJECT },
	[VUSIM_ATTR_FAILED]		= { .type = NLA_FLAG },
	[VUSIM_ATTR_BACKEND]		= { .type = NLA_REJECT },
	[VUSIM_ATTR_CARD_PRESENT]	= { .type = NLA_REJECT },
	[VUSIM_ATTR_POWERED]		= { .type = NLA_REJECT },
	[VUSIM_ATTR_EVENT]		= { .type = NLA_REJECT },
	[VUSIM_ATTR_STATS]		= { .type = NLA_REJECT },
};

enum vusim_mcgrp {
	VUSIM_MCGRP_EVENTS,
};

static const struct genl_multicast_group vusim_mcgrps[] = {
	[VUSIM_MCGRP_EVENTS] = { .name = VUSIM_GENL_MCGRP_EVENTS },
};

static struct genl_family vusim_genl_family;

static int vusim_nl_put_stats(struct sk_buff *skb, const struct vusim_stats *st)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, VUSIM_ATTR_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, VUSIM_STATS_COMMANDS, st->commands, VUSIM_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSIM_STATS_RESPONSES, st->responses, VUSIM_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSIM_STATS_TIMEOUTS, st->timeouts, VUSIM_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSIM_STATS_LATE, st->late, VUSIM_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSIM_STATS_FAILED, st->failed, VUSIM_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSIM_STATS_RESETS, st->resets, VUSIM_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSIM_STATS_ABANDONED, st->abandoned, VUSIM_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSIM_STATS_BACKEND_LOST, st->backend_lost,
			      VUSIM_STATS_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* One message describing the slot; event 0: no VUSIM_ATTR_EVENT. */
static int vusim_nl_put_slot(struct sk_buff *skb, struct vusim_slot *slot,
			     u32 portid, u32 seq, int flags, u8 cmd, u32 event,
			     bool stats)
{
	void *hdr;

	lockdep_assert_held(&slot->lock);
	hdr = genlmsg_put(skb, portid, seq, &vusim_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if ((event && nla_put_u32(skb, VUSIM_ATTR_EVENT, event)) ||
	    nla_put_u32(skb, VUSIM_ATTR_SLOT, slot->index) ||
	    nla_put_u32(skb, VUSIM_ATTR_FLAGS, slot->flags) ||
	    nla_put_u32(skb, VUSIM_ATTR_TIMEOUT_MS, slot->timeout_ms) ||
	    nla_put_u8(skb, VUSIM_ATTR_BACKEND, !!slot->backend_sk) ||
	    nla_put_u8(skb, VUSIM_ATTR_CARD_PRESENT, slot->card_present) ||
	    nla_put_u8(skb, VUSIM_ATTR_POWERED, slot->powered) ||
	    (slot->atr_len &&
	     nla_put(skb, VUSIM_ATTR_ATR, slot->atr_len, slot->atr)) ||
	    (stats && vusim_nl_put_stats(skb, &slot->stats))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Announces a slot or card event on the multicast group. */
void vusim_nl_event(struct vusim_slot *slot, u32 event)
{
	struct sk_buff *skb;

	lockdep_assert_held(&slot->lock);
	if (!genl_has_listeners(&vusim_genl_family, &init_net,
				VUSIM_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	if (vusim_nl_put_slot(skb, slot, 0, 0, 0, VUSIM_CMD_EVENT, event,
			      false)) {
		kfree_skb(skb);
		return;
	}
	genlmsg_multicast(&vusim_genl_family, skb, 0, VUSIM_MCGRP_EVENTS,
			  GFP_KERNEL);
}

/*
 * A request to the slot's backend with VUSIM_ATTR_SLOT and a VUSIM_ATTR_SEQ
 * whose value the caller fills in through *seq_field, and room for payload
 * more bytes of attributes.
 */
struct sk_buff *vusim_nl_request_new(struct vusim_slot *slot, u8 cmd,
				     size_t payload, u32 **seq_field)
{
	struct sk_buff *skb;
	struct nlattr *seq;

	skb = genlmsg_new(2 * nla_total_size(sizeof(u32)) + payload, GFP_KERNEL);
	if (!skb)
		return NULL;
	if (!genlmsg_put(skb, 0, 0, &vusim_genl_family, 0, cmd) ||
	    nla_put_u32(skb, VUSIM_ATTR_SLOT, slot->index))
		goto err_free;
	seq = nla_reserve(skb, VUSIM_ATTR_SEQ, sizeof(u32));
	if (!seq)
		goto err_free;
	*seq_field = nla_data(seq);
	return skb;

err_free:
	kfree_skb(skb);
	return NULL;
}

/*
 * Wipes the APDU of a request built by vusim_nl_request_new() and frees it.
 * A clone of it may still wait in the backend's socket (the request timed
 * out or was abandoned): that copy then reads as zeroes, which is fine for
 * a request whose answer would be dropped as late anyway.
 */
void vusim_nl_request_free(struct sk_buff *skb)
{
	struct nlattr *attrs, *apdu;

	if (!skb)
		return;
	/* By skb->len: nlmsg_end() may not have run yet. */
	attrs = nlmsg_attrdata(nlmsg_hdr(skb), GENL_HDRLEN);
	apdu = nla_find(attrs, skb_tail_pointer(skb) - (u8 *)attrs,
			VUSIM_ATTR_APDU);
	if (apdu)
		memzero_explicit(nla_data(apdu), nla_len(apdu));
	consume_skb(skb);
}

/*
 * Holds the backend's socket open for one unicast: a reference on its file,
 * taken only while the file is live.  While it is held the socket cannot be
 * released, so its port id stays bound to it and genlmsg_unicast() to that
 * port id reaches this socket and no other.  Without it, the port id is
 * freed when the socket closes (netlink_release() unhashes it first) and
 * another socket, unprivileged, may bind it before NETLINK_URELEASE lets
 * vusim_backend_released() forget it.
 *
 * sk is held (sock_hold()).  sock_orphan() clears sk->sk_socket and
 * __sock_release() sock->file in the release, before the socket's inode
 * and the file are freed, both after an RCU grace period: so under
 * rcu_read_lock() the pointers read are valid memory, and a file whose
 * count was already zero is not taken.  The pointers are read again once
 * the reference is held, in case the memory is a new file (kernels that
 * reuse files within a grace period).  NULL: the socket is being released.
 */
static struct file *vusim_backend_pin(struct sock *sk)
{
	struct socket *sock;
	struct file *file = NULL;

	rcu_read_lock();
	sock = READ_ONCE(sk->sk_socket);
	if (sock)
		file = READ_ONCE(sock->file);
	if (file && !vusim_get_file_live(file))
		file = NULL;
	rcu_read_unlock();
	if (file && (READ_ONCE(sk->sk_socket) != sock ||
		     READ_ONCE(sock->file) != file)) {
		fput(file);
		file = NULL;
	}
	return file;
}

/*
 * Sends a request built by vusim_nl_request_new() to the slot's backend
 * socket (vusim_backend_pin()); consumes skb.
 *
 * sensitive: the request carries a command APDU, which may hold a PIN.
 * Netlink frees an skb it cannot deliver (receive buffer full), and the
 * backend's socket one it delivered, without wiping it.  So the backend
 * gets a clone, which shares the data, and the original stays in
 * slot->req_skb until the request ends: the data lives until then and is
 * wiped by vusim_nl_request_free().  netlink_trim() never copies it: a
 * fresh skb's buffer is never less than half used.
 */
int vusim_nl_request_send(struct vusim_slot *slot, struct sk_buff *skb,
			  bool sensitive)
{
	struct sk_buff *clone;
	struct file *pin;
	int ret;

	lockdep_assert_held(&slot->lock);
	nlmsg_end(skb, nlmsg_hdr(skb));
	pin = vusim_backend_pin(slot->backend_sk);
	if (!pin) {
		ret = -ECONNREFUSED;
		goto out_free;
	}
	clone = sensitive ? skb_clone(skb, GFP_KERNEL) : skb;
	if (!clone) {
		ret = -ENOMEM;
	} else {
		ret = genlmsg_unicast(&init_net, clone, slot->backend_portid);
		if (!sensitive)
			skb = NULL;	/* consumed */
	}
	fput(pin);
	if (sensitive && !ret) {
		vusim_nl_request_free(slot->req_skb);
		slot->req_skb = skb;
		skb = NULL;
	}
out_free:
	vusim_nl_request_free(skb);
	/*
	 * The backend socket is closing: its release notifier follows and
	 * orphans (or deletes) the slot.  Take the card out now, so that the
	 * modem sees the card go (EPOLLPRI, then ENOMEDIUM) instead of a
	 * slot that polls writable while every command fails.
	 */
	if (ret == -ECONNREFUSED) {
		vusim_card_remove(slot);
		ret = -ENOLINK;
	}
	return ret;
}

/* The slot named by VUSIM_ATTR_SLOT, with a reference, or an ERR_PTR. */
static struct vusim_slot *vusim_nl_slot(struct genl_info *info)
{
	struct vusim_slot *slot;

	if (GENL_REQ_ATTR_CHECK(info, VUSIM_ATTR_SLOT))
		return ERR_PTR(-EINVAL);
	slot = vusim_slot_lookup(nla_get_u32(info->attrs[VUSIM_ATTR_SLOT]));
	if (!slot) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VUSIM_ATTR_SLOT],
				    "no such slot");
		return ERR_PTR(-ENOENT);
	}
	return slot;
}

/*
 * The socket that sent skb.  The identity of a backend: unlike its port id,
 * no other socket can have it while the slot holds it (sock_hold()).
 */
static struct sock *vusim_nl_sender(struct sk_buff *skb)
{
	return NETLINK_CB(skb).sk;
}

/* Only the slot's backend socket may change the card or answer. */
static int vusim_nl_check_backend(struct vusim_slot *slot, struct sk_buff *skb,
				  struct genl_info *info)
{
	lockdep_assert_held(&slot->lock);
	if (slot->dead) {
		NL_SET_ERR_MSG(info->extack, "slot deleted");
		return -ENOENT;
	}
	if (slot->backend_sk != vusim_nl_sender(skb)) {
		NL_SET_ERR_MSG(info->extack, "not the slot's backend");
		return -EPERM;
	}
	return 0;
}

/* ISO/IEC 7816-3 8.1: TS is 0x3B (direct) or 0x3F (inverse convention). */
static int vusim_nl_check_atr(struct genl_info *info)
{
	struct nlattr *atr = info->attrs[VUSIM_ATTR_ATR];
	u8 ts = *(u8 *)nla_data(atr);

	if (ts != 0x3b && ts != 0x3f) {
		NL_SET_ERR_MSG_ATTR(info->extack, atr,
				    "ATR must start with TS 0x3B or 0x3F");
		return -EINVAL;
	}
	return 0;
}

/* The answer is either a payload attribute or VUSIM_ATTR_FAILED. */
static int vusim_nl_check_answer(struct genl_info *info, int payload)
{
	if (GENL_REQ_ATTR_CHECK(info, VUSIM_ATTR_SEQ))
		return -EINVAL;
	if (info->attrs[VUSIM_ATTR_FAILED]) {
		if (info->attrs[payload]) {
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[payload],
					    "an answer carries data or FAILED, not both");
			return -EINVAL;
		}
		return 0;
	}
	if (GENL_REQ_ATTR_CHECK(info, payload))
		return -EINVAL;
	return 0;
}

static int vusim_nl_reply_slot(struct vusim_slot *slot, struct genl_info *info,
			       u8 cmd)
{
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&slot->lock);
	ret = vusim_nl_put_slot(msg, slot, info->snd_portid, info->snd_seq, 0,
				cmd, 0, true);
	mutex_unlock(&slot->lock);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int vusim_nl_slot_add(struct sk_buff *skb, struct genl_info *info)
{
	struct vusim_slot *slot;
	u32 flags = 0, timeout = READ_ONCE(vusim_default_timeout_ms);
	int ret;

	if (info->attrs[VUSIM_ATTR_FLAGS])
		flags = nla_get_u32(info->attrs[VUSIM_ATTR_FLAGS]);
	if (info->attrs[VUSIM_ATTR_TIMEOUT_MS])
		timeout = nla_get_u32(info->attrs[VUSIM_ATTR_TIMEOUT_MS]);

	slot = vusim_slot_create(vusim_nl_sender(skb), info->snd_portid, flags,
				 timeout);
	if (IS_ERR(slot)) {
		if (PTR_ERR(slot) == -ENOSPC)
			NL_SET_ERR_MSG(info->extack,
				       "no free slot (module parameter max_slots)");
		return PTR_ERR(slot);
	}
	ret = vusim_nl_reply_slot(slot, info, VUSIM_CMD_SLOT_ADD);
	vusim_slot_put(slot);
	return ret;
}

static int vusim_nl_slot_claim(struct sk_buff *skb, struct genl_info *info)
{
	struct vusim_slot *slot = vusim_nl_slot(info);
	int ret = 0;

	if (IS_ERR(slot))
		return PTR_ERR(slot);
	mutex_lock(&slot->lock);
	if (slot->dead) {
		NL_SET_ERR_MSG(info->extack, "slot deleted");
		ret = -ENOENT;
	} else if (slot->backend_sk) {
		NL_SET_ERR_MSG(info->extack, "slot has a backend");
		ret = -EBUSY;
	} else {
		vusim_backend_set(slot, vusim_nl_sender(skb), info->snd_portid);
		if (info->attrs[VUSIM_ATTR_FLAGS])
			slot->flags = nla_get_u32(info->attrs[VUSIM_ATTR_FLAGS]);
		vusim_nl_event(slot, VUSIM_EVENT_SLOT_CLAIMED);
	}
	mutex_unlock(&slot->lock);
	vusim_slot_put(slot);
	return ret;
}

static int vusim_nl_slot_del(struct sk_buff *skb, struct genl_info *info)
{
	struct vusim_slot *slot = vusim_nl_slot(info);
	int ret = 0;

	if (IS_ERR(slot))
		return PTR_ERR(slot);
	mutex_lock(&vusim_slots_lock);
	mutex_lock(&slot->lock);
	if (slot->dead) {
		NL_SET_ERR_MSG(info->extack, "slot deleted");
		ret = -ENOENT;
	} else if (slot->backend_sk &&
		   slot->backend_sk != vusim_nl_sender(skb)) {
		NL_SET_ERR_MSG(info->extack, "slot belongs to another backend");
		ret = -EBUSY;
	}
	mutex_unlock(&slot->lock);
	if (!ret)
		vusim_slot_delete(slot, true);
	mutex_unlock(&vusim_slots_lock);
	vusim_slot_put(slot);
	return ret;
}

static int vusim_nl_slot_set(struct sk_buff *skb, struct genl_info *info)
{
	struct vusim_slot *slot = vusim_nl_slot(info);
	int ret;

	if (IS_ERR(slot))
		return PTR_ERR(slot);
	mutex_lock(&slot->lock);
	ret = vusim_nl_check_backend(slot, skb, info);
	if (!ret && info->attrs[VUSIM_ATTR_TIMEOUT_MS])
		slot->timeout_ms = nla_get_u32(info->attrs[VUSIM_ATTR_TIMEOUT_MS]);
	if (!ret && info->attrs[VUSIM_ATTR_FLAGS])
		slot->flags = nla_get_u32(info->attrs[VUSIM_ATTR_FLAGS]);
	mutex_unlock(&slot->lock);
	vusim_slot_put(slot);
	return ret;
}

static int vusim_nl_slot_get(struct sk_buff *skb, struct genl_info *info)
{
	struct vusim_slot *slot = vusim_nl_slot(info);
	int ret;

	if (IS_ERR(slot))
		return PTR_ERR(slot);
	ret = vusim_nl_reply_slot(slot, info, VUSIM_CMD_SLOT_GET);
	vusim_slot_put(slot);
	return ret;
}

static int vusim_nl_slot_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vusim_slot *slot;
	u32 index = cb->args[0];
	int ret = 0;

	while ((slot = vusim_slot_next(&index))) {
		mutex_lock(&slot->lock);
		ret = vusim_nl_put_slot(skb, slot,
					NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI,
					VUSIM_CMD_SLOT_GET, 0, true);
		mutex_unlock(&slot->lock);
		vusim_slot_put(slot);
		if (ret)
			break;
		index++;
	}
	cb->args[0] = index;
	/* A full message: continue in the next part; else done. */
	return skb->len;
}

static int vusim_nl_card_insert(struct sk_buff *skb, struct genl_info *info)
{
	struct vusim_slot *slot;
	struct nlattr *atr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VUSIM_ATTR_ATR))
		return -EINVAL;
	ret = vusim_nl_check_atr(info);
	if (ret)
		return ret;
	slot = vusim_nl_slot(info);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	atr = info->attrs[VUSIM_ATTR_ATR];

	mutex_lock(&slot->lock);
	ret = vusim_nl_check_backend(slot, skb, info);
	if (ret)
		goto out_unlock;
	if (slot->card_present) {
		NL_SET_ERR_MSG(info->extack, "a card is present");
		ret = -EEXIST;
		goto out_unlock;
	}
	slot->atr_len = nla_len(atr);
	memcpy(slot->atr, nla_data(atr), slot->atr_len);
	slot->card_present = true;
	slot->powered = true;
	WRITE_ONCE(slot->changes, slot->changes + 1);
	wake_up_interruptible_all(&slot->wq);
	vusim_nl_event(slot, VUSIM_EVENT_CARD_INSERTED);
out_unlock:
	mutex_unlock(&slot->lock);
	vusim_slot_put(slot);
	return ret;
}

static int vusim_nl_card_remove(struct sk_buff *skb, struct genl_info *info)
{
	struct vusim_slot *slot = vusim_nl_slot(info);
	int ret;

	if (IS_ERR(slot))
		return PTR_ERR(slot);
	mutex_lock(&slot->lock);
	ret = vusim_nl_check_backend(slot, skb, info);
	if (!ret && !slot->card_present) {
		NL_SET_ERR_MSG(info->extack, "no card in the slot");
		ret = -ENOMEDIUM;
	}
	if (!ret)
		vusim_card_remove(slot);
	mutex_unlock(&slot->lock);
	vusim_slot_put(slot);
	return ret;
}

static int vusim_nl_apdu_answer(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *apdu = info->attrs[VUSIM_ATTR_APDU];
	struct vusim_slot *slot;
	size_t len = 0;
	u8 *rsp = NULL;
	u32 seq;
	int ret;

	ret = vusim_nl_check_answer(info, VUSIM_ATTR_APDU);
	if (ret)
		return ret;
	seq = nla_get_u32(info->attrs[VUSIM_ATTR_SEQ]);
	slot = vusim_nl_slot(info);
	if (IS_ERR(slot))
		return PTR_ERR(slot);

	if (apdu) {
		/* Sized to the response; may carry secrets: wiped when freed. */
		len = nla_len(apdu);
		rsp = kvmalloc(len, GFP_KERNEL);
		if (!rsp) {
			ret = -ENOMEM;
			goto out_put;
		}
		memcpy(rsp, nla_data(apdu), len);
	}

	mutex_lock(&slot->lock);
	ret = vusim_nl_check_backend(slot, skb, info);
	if (ret)
		goto out_unlock;
	if (!vusim_req_match(slot, seq)) {
		/* Late (timed out, abandoned) or never asked: dropped. */
		slot->stats.late++;
		goto out_unlock;
	}
	if (slot->req_kind != VUSIM_REQ_APDU) {
		NL_SET_ERR_MSG(info->extack, "the request is not an APDU");
		ret = -EINVAL;
		goto out_unlock;
	}
	if (!rsp) {
		slot->stats.failed++;
		vusim_req_finish(slot, -EIO);
		goto out_unlock;
	}
	slot->rsp = rsp;
	slot->rsp_len = len;
	rsp = NULL;
	slot->stats.responses++;
	vusim_req_finish(slot, 0);
out_unlock:
	mutex_unlock(&slot->lock);
	kvfree_sensitive(rsp, len);
out_put:
	vusim_slot_put(slot);
	return ret;
}

/*
 * The response APDU may carry secrets (e.g. RES, CK and IK, TS 31.102
 * 7.1.2.1): wipe it in the request too, once copied, or it would linger in
 * the freed skb and be echoed in an error acknowledgment.
 */
static int vusim_nl_apdu_response(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *apdu = info->attrs[VUSIM_ATTR_APDU];
	int ret;

	ret = vusim_nl_apdu_answer(skb, info);
	if (apdu)
		memzero_explicit(nla_data(apdu), nla_len(apdu));
	return ret;
}

static int vusim_nl_power_response(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *atr = info->attrs[VUSIM_ATTR_ATR];
	struct vusim_slot *slot;
	u32 seq;
	int ret;

	ret = vusim_nl_check_answer(info, VUSIM_ATTR_ATR);
	if (ret)
		return ret;
	if (atr) {
		ret = vusim_nl_check_atr(info);
		if (ret)
			return ret;
	}
	seq = nla_get_u32(info->attrs[VUSIM_ATTR_SEQ]);
	slot = vusim_nl_slot(info);
	if (IS_ERR(slot))
		return PTR_ERR(slot);

	mutex_lock(&slot->lock);
	ret = vusim_nl_check_backend(slot, skb, info);
	if (ret)
		goto out_unlock;
	if (!vusim_req_match(slot, seq)) {
		slot->stats.late++;
		goto out_unlock;
	}
	if (slot->req_kind != VUSIM_REQ_POWER) {
		NL_SET_ERR_MSG(info->extack, "the request is not a power request");
		ret = -EINVAL;
		goto out_unlock;
	}
	if (!atr) {
		slot->stats.failed++;
		vusim_req_finish(slot, -EIO);
		goto out_unlock;
	}
	slot->atr_len = nla_len(atr);
	memcpy(slot->atr, nla_data(atr), slot->atr_len);
	slot->powered = true;
	WRITE_ONCE(slot->changes, slot->changes + 1);
	vusim_nl_event(slot, VUSIM_EVENT_CARD_POWERED_ON);
	vusim_req_finish(slot, 0);
out_unlock:
	mutex_unlock(&slot->lock);
	vusim_slot_put(slot);
	return ret;
}

static const struct genl_small_ops vusim_ops[] = {
	{
		.cmd = VUSIM_CMD_SLOT_ADD,
		.doit = vusim_nl_slot_add,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = VUSIM_CMD_SLOT_CLAIM,
		.doit = vusim_nl_slot_claim,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = VUSIM_CMD_SLOT_DEL,
		.doit = vusim_nl_slot_del,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = VUSIM_CMD_SLOT_SET,
		.doit = vusim_nl_slot_set,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = VUSIM_CMD_SLOT_GET,
		.doit = vusim_nl_slot_get,
		.dumpit = vusim_nl_slot_dump,
	}, {
		.cmd = VUSIM_CMD_CARD_INSERT,
		.doit = vusim_nl_card_insert,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = VUSIM_CMD_CARD_REMOVE,
		.doit = vusim_nl_card_remove,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = VUSIM_CMD_APDU_RESPONSE,
		.doit = vusim_nl_apdu_response,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = VUSIM_CMD_POWER_RESPONSE,
		.doit = vusim_nl_power_response,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family vusim_genl_family __ro_after_init = {
	.name = VUSIM_GENL_NAME,
	.version = VUSIM_GENL_VERSION,
	.maxattr = VUSIM_ATTR_MAX,
	.policy = vusim_policy,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.small_ops = vusim_ops,
	.n_small_ops = ARRAY_SIZE(vusim_ops),
	.mcgrps = vusim_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vusim_mcgrps),
};

/* A backend socket closed: orphan (or delete) the slots it served. */
static int vusim_netlink_notify(struct notifier_block *nb, unsigned long event,
				void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC ||
	    !net_eq(n->net, &init_net) || !n->portid)
		return NOTIFY_DONE;
	vusim_backend_released(n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block vusim_netlink_notifier = {
	.notifier_call = vusim_netlink_notify,
};

/*
 * The notifier first: from the moment the family exists a socket can become
 * a backend, and its release must not be missed.
 */
int vusim_genl_init(void)
{
	int ret;

	ret = netlink_register_notifier(&vusim_netlink_notifier);
	if (ret)
		return ret;
	ret = genl_register_family(&vusim_genl_family);
	if (ret)
		goto err_unregister_notifier;
	return 0;

err_unregister_notifier:
	netlink_unregister_notifier(&vusim_netlink_notifier);
	return ret;
}

/* Mirror of vusim_genl_init(): no new backends, then no release events. */
void vusim_genl_exit(void)
{
	genl_unregister_family(&vusim_genl_family);
	netlink_unregister_notifier(&vusim_netlink_notifier);
}
