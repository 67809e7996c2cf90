/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ifd-vusim: the driver's pure helpers, declared for its unit test. */
#ifndef MCIM_IFD_VUSIM_H
#define MCIM_IFD_VUSIM_H

#include <stddef.h>

#include <PCSC/ifdhandler.h>

enum ifd_vusim_op {
	IFD_VUSIM_OP_APDU,	/* IFDHTransmitToICC */
	IFD_VUSIM_OP_POWER,	/* IFDHPowerICC */
	IFD_VUSIM_OP_OTHER,
};

/* The IFD_ code for a positive errno from /dev/vusimN (0: IFD_SUCCESS). */
RESPONSECODE ifd_vusim_code(int err, enum ifd_vusim_op op);

/*
 * DEVICENAME of reader.conf: "/dev/vusimN" or "N" into ret_path.
 * 0, -EINVAL (anything else) or -ENAMETOOLONG.
 */
int ifd_vusim_parse_name(const char *name, char *ret_path, size_t size);

#endif
