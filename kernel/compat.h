/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences after 6.1, the version vusim is written against.
 * Tested by feature, not by version number; each entry names the release
 * that changed the API.
 */
#ifndef VUSIM_COMPAT_H
#define VUSIM_COMPAT_H

#include <linux/device.h>
#include <linux/fs.h>

/*
 * 6.4 dropped the struct module argument of class_create(), which until
 * then was a macro around __class_create().
 */
#ifdef class_create
#define vusim_class_create(name) class_create(THIS_MODULE, name)
#else
#define vusim_class_create(name) class_create(name)
#endif

/*
 * A reference on a file that is not being released, or none (false).
 * Until 6.7 get_file_rcu(f) was a macro doing exactly that; 6.7 made it a
 * function on a struct file __rcu ** and added get_file_active().
 */
#ifdef get_file_rcu
#define vusim_get_file_live(file) get_file_rcu(file)
#else
static inline bool vusim_get_file_live(struct file *file)
{
	return get_file_active(&file);
}
#endif

#endif /* VUSIM_COMPAT_H */
