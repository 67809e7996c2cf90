// SPDX-License-Identifier: GPL-2.0
/*
 * vusim: virtual USIM card slots.  Module parameters, init and exit.
 *
 * A slot is a character device /dev/vusim<N> for the modem side (slot.c)
 * whose card is served by a user-space backend over the generic netlink
 * family "vusim" (netlink.c); sysfs.c adds per-slot attributes.  The ABI is
 * uapi/linux/vusim.h and docs/vusim-abi.md.
 */

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/genetlink.h>

#include "vusim.h"

unsigned int vusim_max_slots = 16;
unsigned int vusim_default_timeout_ms = VUSIM_TIMEOUT_DEFAULT_MS;

static int vusim_set_max_slots(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, VUSIM_MINORS);
}

static const struct kernel_param_ops vusim_max_slots_ops = {
	.set = vusim_set_max_slots,
	.get = param_get_uint,
};

static int vusim_set_timeout(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, VUSIM_TIMEOUT_MIN_MS,
				     VUSIM_TIMEOUT_MAX_MS);
}

static const struct kernel_param_ops vusim_timeout_ops = {
	.set = vusim_set_timeout,
	.get = param_get_uint,
};

module_param_cb(max_slots, &vusim_max_slots_ops, &vusim_max_slots, 0644);
MODULE_PARM_DESC(max_slots, "Most slots that may exist at once (1-256, default 16)");
module_param_cb(timeout_ms, &vusim_timeout_ops, &vusim_default_timeout_ms, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "Default answer timeout of new slots in ms (10-600000, default 5000)");

static int __init vusim_mod_init(void)
{
	int ret;

	ret = vusim_chrdev_init();
	if (ret)
		return ret;
	ret = vusim_genl_init();
	if (ret)
		goto err_chrdev_exit;
	return 0;

err_chrdev_exit:
	vusim_chrdev_exit();
	return ret;
}

static void __exit vusim_mod_exit(void)
{
	vusim_genl_exit();
	/* No backend can act and no file is open (the module is in use). */
	vusim_slot_delete_all();
	vusim_chrdev_exit();
}

module_init(vusim_mod_init);
module_exit(vusim_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Virtual USIM card slots served from user space");
MODULE_AUTHOR("The mcim authors");
MODULE_ALIAS_GENL_FAMILY(VUSIM_GENL_NAME);
