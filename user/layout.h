/* SPDX-License-Identifier: MIT */
/* CPython object layouts per interpreter version, for the BPF decoder. */
#ifndef SEATRACE_LAYOUT_H
#define SEATRACE_LAYOUT_H

#include "pyelf.h"
#include "wire.h"

/*
 * Fills *lo for the binary described by *py. Returns 0, or -ENOTSUP with
 * *why saying why this interpreter cannot be decoded (unknown version,
 * free-threaded build, missing symbols): never a guessed layout. *why is
 * "reason; what to do": the part before the first ';' stands alone where
 * space is short (--list).
 */
int st_layout_fill(const struct st_pyelf *py, struct st_layout *lo, const char **why);

/*
 * The words that open a _Py_DebugOffsets block (3.13+, the start of section .PyRuntime), `len`
 * bytes at `buf`: its PY_VERSION_HEX and whether the build is free-threaded. 0, or -EINVAL
 * when the bytes are not such a block.
 */
int st_layout_debug_head(const void *buf, size_t len, __u32 *version, bool *free_threaded);

#endif
