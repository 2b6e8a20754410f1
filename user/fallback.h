/* SPDX-License-Identifier: MIT */
/*
 * Interpreters built without the python:audit probe (pyenv, python-build-
 * standalone, the official Docker images): uprobes on CPython's audit
 * functions instead, decoded by bpf/fallback.bpf.c.
 */
#ifndef SEATRACE_FALLBACK_H
#define SEATRACE_FALLBACK_H

#include <stddef.h>
#include <sys/types.h>
#include "pyelf.h"

/* One uprobe: where, and the cookie's kind (enum st_fb_kind) and stack adjustment. */
struct st_fb_point {
	__u64 addr;	/* link-time address of the probed instruction */
	__u64 off;	/* its offset in the file */
	unsigned fn;	/* enum st_audit_fn */
	unsigned kind;	/* enum st_fb_kind */
	unsigned delta; /* bytes past the function's entry */
	unsigned spadj; /* bytes the stack pointer moved down by then */
};

/*
 * Whether `py`, a CPython without the probe, can be traced with uprobes: its
 * audit functions can be probed and its objects decoded. 0 with py->fallback
 * set (and its version guessed when pyelf.c found none), -EPROTONOSUPPORT
 * when its objects cannot be decoded (py->refusal and *why say why), or
 * -ENOTSUP with *why saying what is missing.
 */
int st_fallback_usable(struct st_pyelf *py, const char **why);

/*
 * The uprobes for `py`: sys_audit_tstate (3.9+) or PySys_Audit (3.8, or
 * without sys_audit_tstate in the symbol tables, with _PySys_Audit then),
 * and sys_audit (Python-level sys.audit()). Returns how many, or -ENOTSUP
 * with *why set.
 */
int st_fallback_points(const struct st_pyelf *py, struct st_fb_point *pts, int max,
		       const char **why);

/* The name of enum st_audit_fn `fn`, for messages. */
const char *st_fallback_fn_name(unsigned fn);

#endif
