/* SPDX-License-Identifier: MIT */
/* Compiling event-name globs (fnmatch syntax) into the token programs the BPF filter runs. */
#ifndef SEATRACE_USER_GLOB_H
#define SEATRACE_USER_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "wire.h"

struct st_globset {
	struct st_glob globs[ST_MAX_GLOBS];
	struct st_class classes[ST_MAX_CLASSES];
	unsigned nglobs;
	unsigned nclasses;
	bool have_include;
};

/*
 * Adds one pattern: `*`, `?`, `[abc]`, `[a-z]`, `[!x]` or `[^x]`, and `\`
 * to quote the next character, as fnmatch(3) without flags. Returns 0, or
 * -EINVAL with *why set to a message for the user; -E2BIG when the set or
 * the pattern is too large.
 */
int st_globset_add(struct st_globset *set, const char *pattern, bool exclude, const char **why);

/* Runs the shared matcher (bpf/glob.h) to completion, as the kernel does. */
bool st_glob_match(const struct st_globset *set, unsigned idx, const char *name, size_t len);

/* The kernel's verdict for a name: excludes win, then any include, else no includes given. */
bool st_globset_wants(const struct st_globset *set, const char *name, size_t len);

#endif
