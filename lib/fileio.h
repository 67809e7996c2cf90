/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading whole files with a size limit. */
#ifndef MCIM_FILEIO_H
#define MCIM_FILEIO_H

#include <stddef.h>

/*
 * Reads the regular file at path, at most max bytes, into a new buffer with
 * a NUL after the contents; *ret_len gets the length.  Returns 0, -errno of
 * open/fstat/read, -EINVAL when path is not a regular file, -EFBIG when it
 * is larger than max, -EIO when it shrank while being read.  The caller
 * frees *ret (and wipes it first when the file holds secrets).
 */
int read_file_max(const char *path, size_t max, char **ret, size_t *ret_len);

#endif
