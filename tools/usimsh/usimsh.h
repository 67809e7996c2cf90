/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* usimsh: shared declarations of its files (main, status words, state). */
#ifndef MCIM_USIMSH_H
#define MCIM_USIMSH_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/usim/usim.h"
#include "sw.h"

/* Exit codes, documented in usimsh --help and tools/usimsh/README.md. */
enum {
	EXIT_OK = 0,
	EXIT_BAD_INPUT = 1,   /* a script/stdin line is not an APDU */
	EXIT_USAGE = 2,
	EXIT_PROFILE = 3,     /* the profile did not load */
	EXIT_STATE = 4,       /* the state file could not be read or written */
	EXIT_ENGINE = 5,      /* the engine returned an error */
};

/*
 * Persistent card state across runs (--state FILE): EF contents, PINs and
 * the SQN array, in a small JSON file tied to one profile text by its
 * SHA-256.
 */
struct state;

/* Reads FILE if it exists and applies it to p; -errno or -EINVAL with a
 * message in why. */
int state_open(const char *path, struct usim_profile *p,
	       const uint8_t profile_sha256[32], struct state **ret, char *why,
	       size_t why_size);
/* Notes one change record (what --state will keep). */
void state_note(struct state *s, const struct usim_change *c);
/* Writes the file (atomically: temporary file, fsync, rename). */
int state_save(struct state *s, char *why, size_t why_size);
void state_free(struct state *s);

/* Index of the node with this state key ("3F00/ADF:<AID>/6F07"), or
 * -ENOENT. */
int profile_lookup(const struct usim_profile *p, const char *path);

#endif
