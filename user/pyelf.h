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
	char file[PATH_MAX]; /* its name as the process knows it, for messages ("" if unknown) */
	dev_t dev;
	ino_t ino;
	bool is_python;	 /* looks like a CPython interpreter or libpython */
	unsigned nsites; /* python:audit probe sites; 0: built without probes */
	__u64 sites[ST_MAX_SITES];
	__u64 semaphore; /* link-time address of the probe's semaphore, 0 if none */
	/* Where the sites and the semaphore are in the file, (__u64)-1 if nowhere; */
	__u64 site_off[ST_MAX_SITES], sem_off;
	/* where each site keeps the probe's arguments (kind ST_UA_NONE: not understood), */
	struct st_usdt_arg site_arg[ST_MAX_SITES][2];
	char bad_args[64]; /* and the first argument string not understood, "" if none. */
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
	/*
	 * DT_NEEDED names, NUL-separated, in order (as many as fit): a library that embeds CPython
	 * may have any name, and right after exec it is not mapped yet.
	 */
	char needed[1024];
	unsigned nneeded;
	/* The loader's search paths for them, */
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
	/* Set when the file is refused: st_layout_fill's why. */
	const char *refusal;
	/* Read-only PT_LOAD span, link-time addresses; ro_lo == ro_hi: none. */
	__u64 ro_lo, ro_hi;
};

/*
 * One stapsdt argument, `len` bytes of `s` ("8@%rbx", "-4@-20(%rbp)",
 * "8@$1"), as the BPF program reads it. Returns 0, or -EINVAL for what it
 * cannot read (%rip-relative operands, unknown registers, bad sizes).
 */
int st_usdt_parse_arg(const char *s, size_t len, struct st_usdt_arg *out);

/* Reads `path`. Returns 0, or a negative errno (-ENOEXEC: not an ELF file). */
int st_pyelf_read(const char *path, struct st_pyelf *out);

/* Only what the dynamic section says (needed, rpath, runpath, dynamic): cheap. Same returns. */
int st_pyelf_read_needed(const char *path, struct st_pyelf *out);

/*
 * Whether `path` is a CPython binary (the python:audit probe, or CPython's
 * own symbols), judged by content whatever its name, and remembered for the
 * run by device, inode, size and modification time: each file is read once
 * however many processes map it. A file with neither the probe's note nor
 * the name _Py_NoneStruct in its string tables is rejected without reading
 * its symbols. Returns 1 with *py filled (py->path set to `path`, py->file
 * to `file`), 0 when it is not a CPython, or a negative errno.
 */
int st_pyelf_lookup(const char *path, const char *file, struct st_pyelf *py);

/* Forgets the verdicts kept about file dev/ino (it was released): it is read again if seen. */
void st_pyelf_forget(dev_t dev, ino_t ino);

#endif
