// SPDX-License-Identifier: LGPL-2.1-or-later
/* vusim-modem reset [warm|cold], vusim-modem power off|on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <json-c/json.h>

#include <linux/vusim.h>

#include "modem.h"

/* Power on or reset: the backend answers with the new ATR. */
static int activate(struct modem *m, unsigned long request, const char *what)
{
	struct vusim_atr atr;

	if (ioctl(m->fd, request, &atr) < 0)
		return modem_fail(m, what, errno);
	if (atr.len > VUSIM_ATR_MAX)
		return modem_fail(m, what, EBADMSG);
	if (m->json)
		return atr_json(m, &atr);
	printf("%s: done, the card answered with a new ATR:\n", what);
	atr_print(atr.atr, atr.len, "  ");
	return EXIT_OK;
}

int cmd_reset(struct modem *m, int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "warm";

	if (argc > 2 || (strcmp(kind, "warm") && strcmp(kind, "cold"))) {
		fprintf(stderr, "vusim-modem: usage: reset [warm|cold]\n");
		return EXIT_USAGE;
	}
	/* ISO/IEC 7816-3 6.2.3 (warm: RST only), 6.2.2 (cold: power cycle). */
	if (!strcmp(kind, "warm"))
		return activate(m, VUSIM_IOC_WARM_RESET, "warm reset");
	return activate(m, VUSIM_IOC_COLD_RESET, "cold reset");
}

int cmd_power(struct modem *m, int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "off") && strcmp(argv[1], "on"))) {
		fprintf(stderr, "vusim-modem: usage: power off|on\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "on"))
		return activate(m, VUSIM_IOC_POWER_ON, "power on");
	/* ISO/IEC 7816-3 6.4: deactivation; the backend is told, no answer. */
	if (ioctl(m->fd, VUSIM_IOC_POWER_OFF) < 0)
		return modem_fail(m, "power off", errno);
	if (m->json)
		return modem_json_print(m, json_object_new_object());
	printf("power off: done, the card is deactivated\n");
	return EXIT_OK;
}
