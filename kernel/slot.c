// SPDX-License-Identifier: GPL-2.0
/*
 * Slot lifetime and the modem side: the /dev/vusim<N> character device.
 *
 * The lifetime follows drivers/char/tpm/tpm-chip.c: the minor comes from an
 * idr, device_initialize() and the attribute groups come before
 * cdev_device_add(), and once device_initialize() ran only put_device()
 * frees the slot.  Deletion removes the slot from the idr and the device
 * from the system, then marks it dead under its lock so that open files fail
 * cleanly (ENODEV, EPOLLHUP) and waiting calls return at once.
 */

#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kdev_t.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <net/genetlink.h>

#include "compat.h"
#include "vusim.h"

/*
 * vusim_slots_lock serializes slot creation, deletion and backend release;
 * it is taken before a slot's lock.  vusim_idr_lock guards the idr for
 * lookups, so that the answer path never waits behind a device being added
 * or removed; the idr changes only with both held.
 */
DEFINE_MUTEX(vusim_slots_lock);
static DEFINE_SPINLOCK(vusim_idr_lock);
static DEFINE_IDR(vusim_idr);
static dev_t vusim_devt;
static struct class *vusim_class;

/* One open file of a slot. */
struct vusim_file {
	struct vusim_slot *slot;
	u32 seen_changes;	/* slot->changes at the last VUSIM_IOC_STATUS */
};

/*
 * First protocol offered by an ATR: the low nibble of TD1 (ISO/IEC 7816-3
 * 8.2.2, 8.2.3); T=0 when there is no TD1.
 */
int vusim_atr_protocol(const u8 *atr, size_t len)
{
	u8 y1;
	size_t i = 2;

	if (len < VUSIM_ATR_MIN)
		return 0;
	y1 = atr[1] >> 4;
	if (!(y1 & 0x8))
		return 0;
	i += !!(y1 & 0x1) + !!(y1 & 0x2) + !!(y1 & 0x4);
	if (i >= len)
		return 0;
	return atr[i] & 0x0f;
}

static void vusim_rsp_free(struct vusim_slot *slot)
{
	lockdep_assert_held(&slot->lock);
	kvfree_sensitive(slot->rsp, slot->rsp_len);
	slot->rsp = NULL;
	slot->rsp_len = 0;
}

/* Ends the outstanding request with err (0: answered) and wakes waiters. */
void vusim_req_finish(struct vusim_slot *slot, int err)
{
	lockdep_assert_held(&slot->lock);
	if (slot->req_state != VUSIM_REQ_WAITING)
		return;
	vusim_nl_request_free(slot->req_skb);
	slot->req_skb = NULL;
	slot->req_err = err;
	WRITE_ONCE(slot->req_state, VUSIM_REQ_DONE);
	cancel_delayed_work(&slot->timeout_work);
	wake_up_interruptible_all(&slot->wq);
}

/* Frees the slot for the next request (after collection or abandonment). */
static void vusim_req_reset(struct vusim_slot *slot)
{
	lockdep_assert_held(&slot->lock);
	vusim_rsp_free(slot);
	vusim_nl_request_free(slot->req_skb);
	slot->req_skb = NULL;
	slot->req_err = 0;
	slot->req_interrupted = false;
	WRITE_ONCE(slot->req_owner, NULL);
	WRITE_ONCE(slot->req_state, VUSIM_REQ_IDLE);
	cancel_delayed_work(&slot->timeout_work);
	wake_up_interruptible_all(&slot->wq);
}

/*
 * No request holds the slot.  A power request whose ioctl a signal
 * interrupted and that then finished holds it no longer: its answer has
 * updated the card already, only the ioctl's result is left to collect.
 */
static bool vusim_req_idle(struct vusim_slot *slot)
{
	lockdep_assert_held(&slot->lock);
	return slot->req_state == VUSIM_REQ_IDLE ||
	       (slot->req_interrupted && slot->req_state == VUSIM_REQ_DONE);
}

/* True when an answer with this sequence number is the one awaited. */
bool vusim_req_match(struct vusim_slot *slot, u32 seq)
{
	lockdep_assert_held(&slot->lock);
	return slot->req_state == VUSIM_REQ_WAITING && slot->seq == seq;
}

static void vusim_req_start(struct vusim_slot *slot, struct vusim_file *vf,
			    enum vusim_req_kind kind)
{
	unsigned long timeout = msecs_to_jiffies(slot->timeout_ms);

	lockdep_assert_held(&slot->lock);
	slot->req_kind = kind;
	slot->req_err = 0;
	slot->req_interrupted = false;
	slot->req_deadline = jiffies + timeout;
	WRITE_ONCE(slot->req_owner, vf);
	WRITE_ONCE(slot->req_state, VUSIM_REQ_WAITING);
	mod_delayed_work(system_wq, &slot->timeout_work, timeout);
}

static u32 vusim_next_seq(struct vusim_slot *slot)
{
	lockdep_assert_held(&slot->lock);
	if (++slot->seq == 0)
		slot->seq = 1;
	return slot->seq;
}

static void vusim_timeout_work(struct work_struct *work)
{
	struct vusim_slot *slot = container_of(to_delayed_work(work),
					       struct vusim_slot, timeout_work);

	mutex_lock(&slot->lock);
	if (slot->req_state == VUSIM_REQ_WAITING) {
		/* The work may belong to an earlier request: check the time. */
		if (time_after_eq(jiffies, slot->req_deadline)) {
			slot->stats.timeouts++;
			vusim_req_finish(slot, -ETIMEDOUT);
		} else {
			mod_delayed_work(system_wq, &slot->timeout_work,
					 slot->req_deadline - jiffies);
		}
	}
	mutex_unlock(&slot->lock);
}

static void vusim_state_changed(struct vusim_slot *slot, u32 event)
{
	lockdep_assert_held(&slot->lock);
	WRITE_ONCE(slot->changes, slot->changes + 1);
	wake_up_interruptible_all(&slot->wq);
	vusim_nl_event(slot, event);
}

/* The card leaves the slot; a waiting modem call fails with ENOMEDIUM. */
void vusim_card_remove(struct vusim_slot *slot)
{
	lockdep_assert_held(&slot->lock);
	if (!slot->card_present)
		return;
	slot->card_present = false;
	slot->powered = false;
	memset(slot->atr, 0, sizeof(slot->atr));
	slot->atr_len = 0;
	vusim_req_finish(slot, -ENOMEDIUM);
	vusim_state_changed(slot, VUSIM_EVENT_CARD_REMOVED);
}

/* ---- character device ---- */

static int vusim_open(struct inode *inode, struct file *file)
{
	struct vusim_slot *slot = container_of(inode->i_cdev, struct vusim_slot,
					       cdev);
	struct vusim_file *vf;

	vf = kzalloc(sizeof(*vf), GFP_KERNEL);
	if (!vf)
		return -ENOMEM;

	/* The cdev holds the device while open() runs (cdev_device_add). */
	get_device(&slot->dev);
	mutex_lock(&slot->lock);
	if (slot->dead) {
		mutex_unlock(&slot->lock);
		put_device(&slot->dev);
		kfree(vf);
		return -ENODEV;
	}
	vf->slot = slot;
	vf->seen_changes = slot->changes;
	mutex_unlock(&slot->lock);

	file->private_data = vf;
	return stream_open(inode, file);
}

static int vusim_release(struct inode *inode, struct file *file)
{
	struct vusim_file *vf = file->private_data;
	struct vusim_slot *slot = vf->slot;

	mutex_lock(&slot->lock);
	if (slot->req_owner == vf) {
		/* The backend's answer, if any, will be dropped as late. */
		if (slot->req_state == VUSIM_REQ_WAITING)
			slot->stats.abandoned++;
		vusim_req_reset(slot);
	}
	mutex_unlock(&slot->lock);

	put_device(&slot->dev);
	kfree(vf);
	return 0;
}

/*
 * Why the slot cannot take a request now, or 0.  Clears a finished power
 * request that its interrupted ioctl did not come back for.
 */
static int vusim_check_ready(struct vusim_slot *slot, bool need_power)
{
	lockdep_assert_held(&slot->lock);
	if (slot->dead)
		return -ENODEV;
	if (!slot->card_present)
		return -ENOMEDIUM;
	if (!vusim_req_idle(slot))
		return -EBUSY;
	if (slot->req_state != VUSIM_REQ_IDLE)
		vusim_req_reset(slot);
	if (need_power && !slot->powered)
		return -ENOTCONN;
	if (!slot->backend_sk)
		return -ENOLINK;
	return 0;
}

static ssize_t vusim_write(struct file *file, const char __user *buf,
			   size_t len, loff_t *off)
{
	struct vusim_file *vf = file->private_data;
	struct vusim_slot *slot = vf->slot;
	struct sk_buff *skb;
	struct nlattr *apdu;
	u32 *seq;
	int ret;

	if (len < VUSIM_APDU_CMD_MIN)
		return -EINVAL;
	if (len > VUSIM_APDU_MAX)
		return -EMSGSIZE;

	/*
	 * Before allocating up to 64 KiB for a large command, refuse it now if
	 * the check under the lock below would (a short APDU, ISO/IEC 7816-4
	 * 5.1, needs no more than one page and no extra locking).
	 */
	if (len > VUSIM_APDU_SHORT_MAX) {
		mutex_lock(&slot->lock);
		ret = vusim_check_ready(slot, true);
		mutex_unlock(&slot->lock);
		if (ret)
			return ret;
	}

	/* Build the request before taking the lock: the copy may fault. */
	skb = vusim_nl_request_new(slot, VUSIM_CMD_APDU_REQUEST,
				   nla_total_size(len), &seq);
	if (!skb)
		return -ENOMEM;
	apdu = nla_reserve(skb, VUSIM_ATTR_APDU, len);
	if (!apdu) {
		kfree_skb(skb);
		return -EMSGSIZE;
	}
	if (copy_from_user(nla_data(apdu), buf, len)) {
		vusim_nl_request_free(skb);
		return -EFAULT;
	}

	mutex_lock(&slot->lock);
	ret = vusim_check_ready(slot, true);
	if (ret) {
		vusim_nl_request_free(skb);
		goto out_unlock;
	}
	*seq = vusim_next_seq(slot);
	ret = vusim_nl_request_send(slot, skb, true);
	if (ret)
		goto out_unlock;
	slot->stats.commands++;
	vusim_req_start(slot, vf, VUSIM_REQ_APDU);
	ret = len;
out_unlock:
	mutex_unlock(&slot->lock);
	return ret;
}

/* Wait condition: this file's request is no longer waiting, or slot gone. */
static bool vusim_req_settled(struct vusim_slot *slot, struct vusim_file *vf)
{
	return READ_ONCE(slot->dead) || READ_ONCE(slot->req_owner) != vf ||
	       READ_ONCE(slot->req_state) != VUSIM_REQ_WAITING;
}

static ssize_t vusim_read(struct file *file, char __user *buf, size_t count,
			  loff_t *off)
{
	struct vusim_file *vf = file->private_data;
	struct vusim_slot *slot = vf->slot;
	u8 *rsp = NULL;
	size_t len = 0;
	ssize_t ret;

	mutex_lock(&slot->lock);
	for (;;) {
		bool ours = slot->req_owner == vf &&
			    slot->req_kind == VUSIM_REQ_APDU;

		/* A finished command reports its own result, even if the
		 * slot was deleted since (card removed first, then deleted).
		 */
		if (ours && slot->req_state == VUSIM_REQ_DONE)
			break;
		if (slot->dead) {
			ret = -ENODEV;
			goto out_unlock;
		}
		if (!ours || slot->req_state == VUSIM_REQ_IDLE) {
			ret = -ENOMSG;
			goto out_unlock;
		}
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out_unlock;
		}
		mutex_unlock(&slot->lock);
		ret = wait_event_interruptible(slot->wq,
					       vusim_req_settled(slot, vf));
		if (ret)
			return ret;
		mutex_lock(&slot->lock);
	}

	if (slot->req_err) {
		ret = slot->req_err;
		vusim_req_reset(slot);
	} else if (count < slot->rsp_len) {
		/* Never truncate: keep the response for a bigger buffer. */
		ret = -EOVERFLOW;
	} else {
		/* Copy without the lock: a slow page fault must not stall
		 * the slot's backend.  The response is ours from here on.
		 */
		rsp = slot->rsp;
		len = slot->rsp_len;
		slot->rsp = NULL;
		slot->rsp_len = 0;
		vusim_req_reset(slot);
	}
out_unlock:
	mutex_unlock(&slot->lock);
	if (rsp) {
		ret = copy_to_user(buf, rsp, len) ? -EFAULT : len;
		kvfree_sensitive(rsp, len);
	}
	return ret;
}

static __poll_t vusim_poll(struct file *file, poll_table *wait)
{
	struct vusim_file *vf = file->private_data;
	struct vusim_slot *slot = vf->slot;
	__poll_t mask = 0;

	poll_wait(file, &slot->wq, wait);

	mutex_lock(&slot->lock);
	/* As read(): a finished command is read even after deletion. */
	if (slot->req_owner == vf && slot->req_kind == VUSIM_REQ_APDU &&
	    slot->req_state == VUSIM_REQ_DONE)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (slot->dead) {
		mask |= EPOLLHUP | EPOLLERR;
		goto out_unlock;
	}
	if (vusim_req_idle(slot) && slot->card_present && slot->powered &&
	    slot->backend_sk)
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (vf->seen_changes != slot->changes)
		mask |= EPOLLPRI;
out_unlock:
	mutex_unlock(&slot->lock);
	return mask;
}

static long vusim_ioctl_status(struct vusim_file *vf, void __user *argp)
{
	struct vusim_slot *slot = vf->slot;
	struct vusim_status st = {};

	mutex_lock(&slot->lock);
	if (slot->dead) {
		mutex_unlock(&slot->lock);
		return -ENODEV;
	}
	if (slot->card_present)
		st.flags |= VUSIM_STATUS_PRESENT;
	if (slot->powered)
		st.flags |= VUSIM_STATUS_POWERED;
	if (slot->backend_sk)
		st.flags |= VUSIM_STATUS_BACKEND;
	if (!vusim_req_idle(slot))
		st.flags |= VUSIM_STATUS_BUSY;
	st.protocol = vusim_atr_protocol(slot->atr, slot->atr_len);
	st.atr_len = slot->atr_len;
	st.timeout_ms = slot->timeout_ms;
	st.slot = slot->index;
	st.changes = slot->changes;
	vf->seen_changes = slot->changes;
	mutex_unlock(&slot->lock);

	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

static long vusim_ioctl_get_atr(struct vusim_file *vf, void __user *argp)
{
	struct vusim_slot *slot = vf->slot;
	struct vusim_atr atr = {};
	int ret = 0;

	mutex_lock(&slot->lock);
	if (slot->dead)
		ret = -ENODEV;
	else if (!slot->card_present)
		ret = -ENOMEDIUM;
	else if (!slot->powered)
		ret = -ENOTCONN;
	atr.len = slot->atr_len;
	memcpy(atr.atr, slot->atr, slot->atr_len);
	mutex_unlock(&slot->lock);

	if (ret)
		return ret;
	return copy_to_user(argp, &atr, sizeof(atr)) ? -EFAULT : 0;
}

/* A VUSIM_CMD_POWER_REQUEST for op, built before the slot lock is taken. */
static struct sk_buff *vusim_power_request_new(struct vusim_slot *slot, u8 op,
					       u32 **seq)
{
	struct sk_buff *skb;

	skb = vusim_nl_request_new(slot, VUSIM_CMD_POWER_REQUEST,
				   nla_total_size(sizeof(u8)), seq);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	if (nla_put_u8(skb, VUSIM_ATTR_POWER_OP, op)) {
		kfree_skb(skb);
		return ERR_PTR(-EMSGSIZE);
	}
	return skb;
}

static long vusim_ioctl_power_off(struct vusim_file *vf)
{
	struct vusim_slot *slot = vf->slot;
	struct sk_buff *skb;
	u32 *seq;
	int ret;

	skb = vusim_power_request_new(slot, VUSIM_POWER_OFF, &seq);
	if (IS_ERR(skb))
		return PTR_ERR(skb);

	mutex_lock(&slot->lock);
	ret = vusim_check_ready(slot, false);
	if (ret == -ENOLINK)
		ret = 0;	/* nobody to tell: power off all the same */
	if (ret || !slot->powered) {
		kfree_skb(skb);
		goto out_unlock;
	}
	slot->powered = false;
	*seq = vusim_next_seq(slot);
	/* A notification: a backend that cannot be told is no reason to fail. */
	if (slot->backend_sk)
		vusim_nl_request_send(slot, skb, false);
	else
		kfree_skb(skb);
	/*
	 * The send finds a closing backend socket: it removes the card, and
	 * CARD_REMOVED is then the one event of this power off.
	 */
	if (slot->card_present)
		vusim_state_changed(slot, VUSIM_EVENT_CARD_POWERED_OFF);
out_unlock:
	mutex_unlock(&slot->lock);
	return ret;
}

/*
 * Power on, warm or cold reset: a request answered with the new ATR.
 *
 * A signal does not abandon the request: the backend acts on it and its
 * answer changes the card all the same, so forgetting it would lose the
 * reset (the card's ATR would no longer be the one the modem was given).
 * The request stays this file's and the ioctl returns -ERESTARTSYS; the
 * restarted ioctl (or the same one called again after EINTR) waits for that
 * request instead of sending a new one.
 */
static long vusim_ioctl_power(struct vusim_file *vf, u8 op, void __user *argp)
{
	struct vusim_slot *slot = vf->slot;
	struct vusim_atr atr = {};
	struct sk_buff *skb;
	u32 *seq;
	int ret;

	skb = vusim_power_request_new(slot, op, &seq);
	if (IS_ERR(skb))
		return PTR_ERR(skb);

	mutex_lock(&slot->lock);
	if (!slot->dead && slot->req_owner == vf && slot->req_interrupted &&
	    slot->req_kind == VUSIM_REQ_POWER && slot->req_op == op) {
		slot->req_interrupted = false;
		kfree_skb(skb);
	} else {
		ret = vusim_check_ready(slot, op == VUSIM_POWER_WARM_RESET);
		if (ret) {
			kfree_skb(skb);
			goto out_unlock;
		}
		*seq = vusim_next_seq(slot);
		ret = vusim_nl_request_send(slot, skb, false);
		if (ret)
			goto out_unlock;
		slot->stats.resets++;
		vusim_req_start(slot, vf, VUSIM_REQ_POWER);
		slot->req_op = op;
	}
	mutex_unlock(&slot->lock);

	ret = wait_event_interruptible(slot->wq, vusim_req_settled(slot, vf));

	mutex_lock(&slot->lock);
	if (slot->dead) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (slot->req_owner != vf) {
		/* Another thread of this file collected it. */
		ret = -EIO;
		goto out_unlock;
	}
	if (ret && slot->req_state == VUSIM_REQ_WAITING) {
		slot->req_interrupted = true;
		ret = -ERESTARTSYS;
		goto out_unlock;
	}
	ret = slot->req_err;
	if (!ret) {
		atr.len = slot->atr_len;
		memcpy(atr.atr, slot->atr, slot->atr_len);
	}
	vusim_req_reset(slot);
out_unlock:
	mutex_unlock(&slot->lock);
	if (ret)
		return ret;
	return copy_to_user(argp, &atr, sizeof(atr)) ? -EFAULT : 0;
}

static long vusim_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vusim_file *vf = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case VUSIM_IOC_STATUS:
		return vusim_ioctl_status(vf, argp);
	case VUSIM_IOC_GET_ATR:
		return vusim_ioctl_get_atr(vf, argp);
	case VUSIM_IOC_POWER_ON:
		return vusim_ioctl_power(vf, VUSIM_POWER_ON, argp);
	case VUSIM_IOC_WARM_RESET:
		return vusim_ioctl_power(vf, VUSIM_POWER_WARM_RESET, argp);
	case VUSIM_IOC_COLD_RESET:
		return vusim_ioctl_power(vf, VUSIM_POWER_COLD_RESET, argp);
	case VUSIM_IOC_POWER_OFF:
		return vusim_ioctl_power_off(vf);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vusim_fops = {
	.owner = THIS_MODULE,
	.open = vusim_open,
	.release = vusim_release,
	.read = vusim_read,
	.write = vusim_write,
	.poll = vusim_poll,
	.unlocked_ioctl = vusim_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	/* No .llseek: stream_open() makes lseek() fail with ESPIPE. */
};

/* ---- slot lifetime ---- */

static void vusim_slot_release(struct device *dev)
{
	struct vusim_slot *slot = container_of(dev, struct vusim_slot, dev);

	kvfree_sensitive(slot->rsp, slot->rsp_len);
	vusim_nl_request_free(slot->req_skb);
	if (slot->backend_sk)
		sock_put(slot->backend_sk);
	mutex_destroy(&slot->lock);
	kfree(slot);
}

/*
 * Creates slot whose backend is the socket backend_sk, bound to
 * backend_portid.  Returns it with a reference for the caller
 * (vusim_slot_put()), or an ERR_PTR.
 */
struct vusim_slot *vusim_slot_create(struct sock *backend_sk,
				     u32 backend_portid, u32 flags,
				     u32 timeout_ms)
{
	struct vusim_slot *slot;
	int id, ret;

	slot = kzalloc(sizeof(*slot), GFP_KERNEL);
	if (!slot)
		return ERR_PTR(-ENOMEM);

	mutex_init(&slot->lock);
	init_waitqueue_head(&slot->wq);
	INIT_DELAYED_WORK(&slot->timeout_work, vusim_timeout_work);
	slot->flags = flags;
	slot->timeout_ms = timeout_ms;
	sock_hold(backend_sk);
	slot->backend_sk = backend_sk;
	slot->backend_portid = backend_portid;

	device_initialize(&slot->dev);
	slot->dev.class = vusim_class;
	slot->dev.release = vusim_slot_release;
	slot->dev.groups = vusim_slot_groups;

	mutex_lock(&vusim_slots_lock);
	/* NULL until the device exists, so that lookups cannot find it. */
	idr_preload(GFP_KERNEL);
	spin_lock(&vusim_idr_lock);
	id = idr_alloc(&vusim_idr, NULL, 0,
		       min_t(unsigned int, READ_ONCE(vusim_max_slots),
			     VUSIM_MINORS), GFP_NOWAIT);
	spin_unlock(&vusim_idr_lock);
	idr_preload_end();
	if (id < 0) {
		ret = id;
		goto err_put;
	}
	slot->index = id;
	slot->dev.devt = MKDEV(MAJOR(vusim_devt), id);
	ret = dev_set_name(&slot->dev, VUSIM_DEV_PREFIX "%d", id);
	if (ret)
		goto err_idr_remove;

	cdev_init(&slot->cdev, &vusim_fops);
	slot->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&slot->cdev, &slot->dev);
	if (ret)
		goto err_idr_remove;

	spin_lock(&vusim_idr_lock);
	idr_replace(&vusim_idr, slot, id);
	spin_unlock(&vusim_idr_lock);
	get_device(&slot->dev);		/* the caller's reference */
	mutex_unlock(&vusim_slots_lock);

	mutex_lock(&slot->lock);
	vusim_nl_event(slot, VUSIM_EVENT_SLOT_ADDED);
	mutex_unlock(&slot->lock);
	return slot;

err_idr_remove:
	spin_lock(&vusim_idr_lock);
	idr_remove(&vusim_idr, id);
	spin_unlock(&vusim_idr_lock);
err_put:
	mutex_unlock(&vusim_slots_lock);
	put_device(&slot->dev);
	return ERR_PTR(ret);
}

/* The slot with this index, with a reference, or NULL. */
struct vusim_slot *vusim_slot_lookup(u32 index)
{
	struct vusim_slot *slot;

	if (index >= VUSIM_MINORS)
		return NULL;
	spin_lock(&vusim_idr_lock);
	slot = idr_find(&vusim_idr, index);
	if (slot)
		get_device(&slot->dev);
	spin_unlock(&vusim_idr_lock);
	return slot;
}

/* The first slot with index >= *index, with a reference; for dumps. */
struct vusim_slot *vusim_slot_next(u32 *index)
{
	struct vusim_slot *slot;
	int id = *index;

	spin_lock(&vusim_idr_lock);
	slot = idr_get_next(&vusim_idr, &id);
	if (slot) {
		get_device(&slot->dev);
		*index = id;
	}
	spin_unlock(&vusim_idr_lock);
	return slot;
}

void vusim_slot_put(struct vusim_slot *slot)
{
	put_device(&slot->dev);
}

/*
 * Deletes a slot: no new lookups or opens, then dead under its lock so
 * that open files fail with ENODEV and waiters wake up.  Drops the idr's
 * reference.  notify: announce it on the event group.
 */
void vusim_slot_delete(struct vusim_slot *slot, bool notify)
{
	lockdep_assert_held(&vusim_slots_lock);

	spin_lock(&vusim_idr_lock);
	idr_remove(&vusim_idr, slot->index);
	spin_unlock(&vusim_idr_lock);
	cdev_device_del(&slot->cdev, &slot->dev);

	mutex_lock(&slot->lock);
	WRITE_ONCE(slot->dead, true);
	vusim_req_finish(slot, -ENODEV);
	slot->card_present = false;
	slot->powered = false;
	slot->atr_len = 0;
	vusim_backend_set(slot, NULL, 0);
	wake_up_interruptible_all(&slot->wq);
	if (notify)
		vusim_nl_event(slot, VUSIM_EVENT_SLOT_DELETED);
	mutex_unlock(&slot->lock);

	/* Nothing arms the work once the slot is dead. */
	cancel_delayed_work_sync(&slot->timeout_work);
	put_device(&slot->dev);
}

/* Module exit: the family is gone, nobody can open a slot any more. */
void vusim_slot_delete_all(void)
{
	struct vusim_slot *slot;
	int id;

	mutex_lock(&vusim_slots_lock);
	idr_for_each_entry(&vusim_idr, slot, id)
		vusim_slot_delete(slot, false);
	mutex_unlock(&vusim_slots_lock);
	idr_destroy(&vusim_idr);
}

/* Makes sk (NULL: none) the slot's backend socket, bound to portid. */
void vusim_backend_set(struct vusim_slot *slot, struct sock *sk, u32 portid)
{
	lockdep_assert_held(&slot->lock);
	if (sk)
		sock_hold(sk);
	if (slot->backend_sk)
		sock_put(slot->backend_sk);
	slot->backend_sk = sk;
	slot->backend_portid = portid;
}

/*
 * A netlink socket of init_net closed (NETLINK_URELEASE): the slots it was
 * backend of lose their card and become orphans, or are deleted when they
 * have VUSIM_SLOT_F_DELETE_ON_CLOSE.  The port id alone does not say which
 * socket closed: another one may have had it before the backend, or may
 * have bound it since the backend's release freed it.  The backend's own
 * release has set SOCK_DEAD on it (sock_orphan() in netlink_release(),
 * before the notifier), a live backend never has it.
 */
void vusim_backend_released(u32 portid)
{
	struct vusim_slot *slot;
	bool delete;
	int id;

	mutex_lock(&vusim_slots_lock);
	idr_for_each_entry(&vusim_idr, slot, id) {
		mutex_lock(&slot->lock);
		if (!slot->backend_sk || slot->backend_portid != portid ||
		    !sock_flag(slot->backend_sk, SOCK_DEAD)) {
			mutex_unlock(&slot->lock);
			continue;
		}
		vusim_backend_set(slot, NULL, 0);
		slot->stats.backend_lost++;
		vusim_card_remove(slot);
		/* A request to a card-less slot cannot be left waiting. */
		vusim_req_finish(slot, -ENOMEDIUM);
		delete = slot->flags & VUSIM_SLOT_F_DELETE_ON_CLOSE;
		if (!delete)
			vusim_state_changed(slot, VUSIM_EVENT_SLOT_ORPHANED);
		mutex_unlock(&slot->lock);
		if (delete)
			vusim_slot_delete(slot, true);
	}
	mutex_unlock(&vusim_slots_lock);
}

int vusim_chrdev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&vusim_devt, 0, VUSIM_MINORS,
				  VUSIM_DEV_PREFIX);
	if (ret)
		return ret;

	vusim_class = vusim_class_create(VUSIM_DEV_PREFIX);
	if (IS_ERR(vusim_class)) {
		ret = PTR_ERR(vusim_class);
		goto err_unregister_region;
	}
	return 0;

err_unregister_region:
	unregister_chrdev_region(vusim_devt, VUSIM_MINORS);
	return ret;
}

void vusim_chrdev_exit(void)
{
	class_destroy(vusim_class);
	unregister_chrdev_region(vusim_devt, VUSIM_MINORS);
}
