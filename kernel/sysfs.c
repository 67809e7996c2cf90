// SPDX-License-Identifier: GPL-2.0
/*
 * Per-slot sysfs attributes, /sys/class/vusim/vusim<N>/: card_present,
 * powered, atr (hex), backend, timeout_ms (writable) and the counters in
 * stats/ (docs/vusim-abi.md, Documentation/ABI/testing/sysfs-class-vusim).
 */

#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "vusim.h"

static struct vusim_slot *to_vusim_slot(struct device *dev)
{
	return container_of(dev, struct vusim_slot, dev);
}

#define VUSIM_SHOW(name, fmt, expr)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct vusim_slot *slot = to_vusim_slot(dev);			\
	ssize_t ret;							\
									\
	mutex_lock(&slot->lock);					\
	ret = sysfs_emit(buf, fmt "\n", expr);				\
	mutex_unlock(&slot->lock);					\
	return ret;							\
}

VUSIM_SHOW(card_present, "%d", slot->card_present)
static DEVICE_ATTR_RO(card_present);
VUSIM_SHOW(powered, "%d", slot->powered)
static DEVICE_ATTR_RO(powered);
/* Whether a backend serves the slot; its port id is nobody's business. */
VUSIM_SHOW(backend, "%d", !!slot->backend_sk)
static DEVICE_ATTR_RO(backend);
VUSIM_SHOW(timeout_ms, "%u", slot->timeout_ms)

static ssize_t atr_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct vusim_slot *slot = to_vusim_slot(dev);
	ssize_t ret;

	mutex_lock(&slot->lock);
	ret = sysfs_emit(buf, "%*phN\n", slot->atr_len, slot->atr);
	mutex_unlock(&slot->lock);
	return ret;
}
static DEVICE_ATTR_RO(atr);

static ssize_t timeout_ms_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	struct vusim_slot *slot = to_vusim_slot(dev);
	unsigned int val;
	int ret;

	ret = kstrtouint(buf, 0, &val);
	if (ret)
		return ret;
	if (val < VUSIM_TIMEOUT_MIN_MS || val > VUSIM_TIMEOUT_MAX_MS)
		return -ERANGE;
	mutex_lock(&slot->lock);
	slot->timeout_ms = val;
	mutex_unlock(&slot->lock);
	return count;
}
static DEVICE_ATTR_RW(timeout_ms);

static struct attribute *vusim_slot_attrs[] = {
	&dev_attr_card_present.attr,
	&dev_attr_powered.attr,
	&dev_attr_atr.attr,
	&dev_attr_backend.attr,
	&dev_attr_timeout_ms.attr,
	NULL
};

static const struct attribute_group vusim_slot_group = {
	.attrs = vusim_slot_attrs,
};

VUSIM_SHOW(commands, "%llu", slot->stats.commands)
static DEVICE_ATTR_RO(commands);
VUSIM_SHOW(responses, "%llu", slot->stats.responses)
static DEVICE_ATTR_RO(responses);
VUSIM_SHOW(timeouts, "%llu", slot->stats.timeouts)
static DEVICE_ATTR_RO(timeouts);
VUSIM_SHOW(late, "%llu", slot->stats.late)
static DEVICE_ATTR_RO(late);
VUSIM_SHOW(failed, "%llu", slot->stats.failed)
static DEVICE_ATTR_RO(failed);
VUSIM_SHOW(resets, "%llu", slot->stats.resets)
static DEVICE_ATTR_RO(resets);
VUSIM_SHOW(abandoned, "%llu", slot->stats.abandoned)
static DEVICE_ATTR_RO(abandoned);
VUSIM_SHOW(backend_lost, "%llu", slot->stats.backend_lost)
static DEVICE_ATTR_RO(backend_lost);

static struct attribute *vusim_stats_attrs[] = {
	&dev_attr_commands.attr,
	&dev_attr_responses.attr,
	&dev_attr_timeouts.attr,
	&dev_attr_late.attr,
	&dev_attr_failed.attr,
	&dev_attr_resets.attr,
	&dev_attr_abandoned.attr,
	&dev_attr_backend_lost.attr,
	NULL
};

static const struct attribute_group vusim_stats_group = {
	.name = "stats",
	.attrs = vusim_stats_attrs,
};

const struct attribute_group *vusim_slot_groups[] = {
	&vusim_slot_group,
	&vusim_stats_group,
	NULL
};
