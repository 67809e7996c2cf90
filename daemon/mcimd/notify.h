/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sd_notify(3) without libsystemd: one datagram with "KEY=VALUE" lines to
 * the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an abstract
 * socket when it starts with '@').  A no-op when the variable is unset.
 */
#ifndef MCIM_MCIMD_NOTIFY_H
#define MCIM_MCIMD_NOTIFY_H

/* Returns 1 when sent, 0 when not under systemd, or a negative errno. */
int notify_send(const char *state);

#endif
