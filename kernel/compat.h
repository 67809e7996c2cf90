/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences after 6.1, the version vusim is written against.
 * Tested by feature, not by version number; each entry names the release
 * that changed the API.
 */
#ifndef VUSIM_COMPAT_H
#define VUSIM_COMPAT_H

#include <linux/device.h>

/*
 * 6.4 dropped the struct module argument of class_create(), which until
 * then was a macro around __class_create().
 */
#ifdef class_create
#define vusim_class_create(name) class_create(THIS_MODULE, name)
#else
#define vusim_class_create(name) class_create(name)
#endif

#endif /* VUSIM_COMPAT_H */
