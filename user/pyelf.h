/* SPDX-License-Identifier: MIT */
/* What seatrace needs to know about one interpreter binary, read from the file alone. */
#ifndef SEATRACE_PYELF_H
#define SEATRACE_PYELF_H

#include <stdbool.h>
#include <limits.h>
#include <sys/types.h>
#include <linux/types.h>
#include "wire.h"

/* Indexes of st_pyelf.fn. */
enum st_audit_fn {
	ST_FN_SYS_AUDIT_TSTATE, /* static, 3.9+ */
	ST_FN_SYS_AUDIT,	/* static: Python-level sys.audit() */
	ST_FN_PYSYS_AUDIT,	/* exported */
	ST_FN__PYSYS_AUDIT,	/* hidden, 3.9+ */
	ST_FN_MAX,
};

struct st_pyelf {
	char path[PATH_MAX]; /* a path the kernel can resolve to this file */
	/* The file's name for messages: /proc/PID/exe or map_files/ resolved, else path. */
	char name[PATH_MAX];
	dev_t dev;
	ino_t ino;
	bool is_python;	 /* looks like a CPython interpreter or libpython */
	unsigned nsites; /* python:audit probe sites; 0: built without probes */
	__u64 sites[ST_MAX_SITES];
	__u64 semaphore; /* link-time address of the probe's semaphore, 0 if none */
	bool dynamic;	 /* ET_DYN: loaded at a bias (PIE or shared library) */
	__u32 version_hex; /* PY_VERSION_HEX, 0 if unknown */
	char version[32];
	bool free_threaded;
	bool has_debug_offsets;
	/* The start of _Py_DebugOffsets (3.13+), as stored in the file. */
	unsigned char debug[1024];
	size_t debug_len;
	__u64 sym[ST_T_MAX]; /* link-time addresses, 0 if absent */
	__u64 runtime;	     /* _PyRuntime */
	char needed_libpython[64]; /* DT_NEEDED libpython3.X.so..., if any */
	/* For the uprobe fallback (user/fallback.c): the loader's search paths, */
	char rpath[512];   /* DT_RPATH, "" if none */
	char runpath[512]; /* DT_RUNPATH, "" if none */
	/* the audit functions, from .symtab/.dynsym (enum st_audit_fn), */
	struct st_pyelf_fn {
		__u64 addr; /* link-time address, 0 if absent (or named twice: ambiguous) */
		__u64 size;
		__u64 off; /* offset in the file */
	} fn[ST_FN_MAX];
	/* and whether user/fallback.c found them usable: attach uprobes instead of the probe. */
	bool fallback;
	/* Read-only PT_LOAD span, link-time addresses; ro_lo == ro_hi: none. */
	__u64 ro_lo, ro_hi;
	/* Set by st_find_python when it refuses the file: st_layout_fill's why. */
	const char *refusal;
};


/* Reads `path`. Returns 0, or a negative errno (-ENOEXEC: not an ELF file). */
int st_pyelf_read(const char *path, struct st_pyelf *out);

#endif
