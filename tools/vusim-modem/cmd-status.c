// SPDX-License-Identifier: LGPL-2.1-or-later
/* vusim-modem status, vusim-modem atr. */
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include <linux/vusim.h>

#include "modem.h"

static const char *yes_no(unsigned int v)
{
	return v ? "yes" : "no";
}

int cmd_status(struct modem *m, int argc, char **argv)
{
	struct vusim_status st;
	struct vusim_atr atr;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "vusim-modem: status takes no arguments\n");
		return EXIT_USAGE;
	}
	if (ioctl(m->fd, VUSIM_IOC_STATUS, &st) < 0)
		return modem_fail(m, "VUSIM_IOC_STATUS on", errno);
	printf("%s: slot %u\n", m->path, st.slot);
	printf("  card present   %s\n", yes_no(st.flags & VUSIM_STATUS_PRESENT));
	printf("  card powered   %s\n", yes_no(st.flags & VUSIM_STATUS_POWERED));
	printf("  backend        %s\n", st.flags & VUSIM_STATUS_BACKEND ?
	       "connected" : "none (orphaned slot)");
	printf("  busy           %s\n", st.flags & VUSIM_STATUS_BUSY ?
	       "yes (a command is outstanding)" : "no");
	if (st.flags & VUSIM_STATUS_PRESENT)
		printf("  protocol       T=%u\n", st.protocol);
	printf("  ATR length     %u bytes\n", st.atr_len);
	printf("  timeout        %u ms (per command)\n", st.timeout_ms);
	printf("  state changes  %u since the slot was created\n", st.changes);
	if ((st.flags & VUSIM_STATUS_PRESENT) && (st.flags & VUSIM_STATUS_POWERED) &&
	    ioctl(m->fd, VUSIM_IOC_GET_ATR, &atr) == 0 && atr.len <= VUSIM_ATR_MAX) {
		char hex[3 * VUSIM_ATR_MAX + 1];

		hex_spaced(atr.atr, atr.len, hex);
		printf("  ATR            %s\n", hex);
	}
	return EXIT_OK;
}

int cmd_atr(struct modem *m, int argc, char **argv)
{
	struct vusim_atr atr;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "vusim-modem: atr takes no arguments\n");
		return EXIT_USAGE;
	}
	if (ioctl(m->fd, VUSIM_IOC_GET_ATR, &atr) < 0)
		return modem_fail(m, "VUSIM_IOC_GET_ATR on", errno);
	if (atr.len > VUSIM_ATR_MAX)
		return modem_fail(m, "VUSIM_IOC_GET_ATR on", EBADMSG);
	atr_print(atr.atr, atr.len, "  ");
	return EXIT_OK;
}
