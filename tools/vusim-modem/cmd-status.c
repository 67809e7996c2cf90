// SPDX-License-Identifier: LGPL-2.1-or-later
/* vusim-modem status, vusim-modem atr. */
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include <json-c/json.h>

#include <linux/vusim.h>

#include "modem.h"

static const char *yes_no(unsigned int v)
{
	return v ? "yes" : "no";
}

static int status_json(struct modem *m, const struct vusim_status *st)
{
	struct json_object *o = json_object_new_object();
	struct vusim_atr atr;

	if (!o)
		return modem_fail(m, "JSON output for", ENOMEM);
	json_object_object_add(o, "device", json_object_new_string(m->path));
	json_object_object_add(o, "slot", json_object_new_int64(st->slot));
	json_object_object_add(o, "present", json_object_new_boolean(st->flags & VUSIM_STATUS_PRESENT));
	json_object_object_add(o, "powered", json_object_new_boolean(st->flags & VUSIM_STATUS_POWERED));
	json_object_object_add(o, "backend", json_object_new_boolean(st->flags & VUSIM_STATUS_BACKEND));
	json_object_object_add(o, "busy", json_object_new_boolean(st->flags & VUSIM_STATUS_BUSY));
	json_object_object_add(o, "protocol", json_object_new_int64(st->protocol));
	json_object_object_add(o, "timeout_ms", json_object_new_int64(st->timeout_ms));
	json_object_object_add(o, "changes", json_object_new_int64(st->changes));
	if ((st->flags & VUSIM_STATUS_PRESENT) && (st->flags & VUSIM_STATUS_POWERED) &&
	    ioctl(m->fd, VUSIM_IOC_GET_ATR, &atr) == 0 && atr.len <= VUSIM_ATR_MAX)
		json_object_object_add(o, "atr", json_hex(atr.atr, atr.len));
	return modem_json_print(m, o);
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
	if (m->json)
		return status_json(m, &st);
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
	if (m->json)
		return atr_json(m, &atr);
	atr_print(atr.atr, atr.len, "  ");
	return EXIT_OK;
}
