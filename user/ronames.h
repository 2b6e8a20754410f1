/* SPDX-License-Identifier: MIT */
/*
 * Where the names of known audit events lie in an interpreter file's read-only segments, for
 * the kernel's table of them (bpf/record.bpf.h, ro_names): a forked process has the file's
 * pages mapped only once it touches them, and the BPF program cannot read a name on a page
 * the process never touched.
 */
#ifndef SEATRACE_RONAMES_H
#define SEATRACE_RONAMES_H

#include <stddef.h>
#include <stdint.h>

/* One name found: its link-time address, the name (NUL-terminated). A negative errno stops. */
typedef int (*st_ronames_cb)(void *arg, uint64_t vaddr, const char *name, size_t len);

/*
 * Calls `cb` for every place in `path`'s read-only loaded segments, within [ro_lo, ro_hi),
 * where the bytes are a known event's name and a NUL (as the tail of a longer string too: a
 * linker shares tails). Names of `max_len` bytes or more are skipped. Returns the number of
 * places, or a negative errno (the callback's, when it stopped).
 */
int st_ronames_find(const char *path, uint64_t ro_lo, uint64_t ro_hi, size_t max_len,
		    st_ronames_cb cb, void *arg);

#endif /* SEATRACE_RONAMES_H */
