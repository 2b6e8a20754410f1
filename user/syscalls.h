/* SPDX-License-Identifier: MIT */
/*
 * Syscall correlation: which syscalls are recorded, how their records are
 * validated and shown, and which audit events account for them.
 */
#ifndef SEATRACE_SYSCALLS_H
#define SEATRACE_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "wire.h"

struct strbuf;
struct jsonw;

/* A validated syscall record and the strings in its tail. */
struct st_sys_view {
	const struct st_syscall *rec;
	const uint8_t *str[2];
	size_t str_len[2];
	const char *name;	/* "openat", or NULL for a number seatrace does not name */
	char audit_name[ST_SYS_AUDIT_NAME + 1];
};

/* How a syscall relates to the audit events before it on its thread. */
enum st_sys_verdict {
	ST_SYS_AUDITED,	  /* the thread's last audit event accounts for it */
	ST_SYS_UNAUDITED, /* no audit event that would account for it: ctypes, C code, tampering */
	ST_SYS_STARTUP,	  /* before the process's first audit event (loader, interpreter start) */
};

/* The syscalls recorded, as a bitmap over x86_64 numbers (for the BPF program). */
void st_syscalls_bits(__u64 bits[8]);

/* Validates a ST_REC_SYSCALL record. 0 or -EINVAL; never reads outside [data, data+size). */
int st_sys_decode(const void *data, size_t size, struct st_sys_view *v);

enum st_sys_verdict st_sys_verdict(const struct st_sys_view *v);

/* "openat" for its number, or NULL for one seatrace does not record (the -c -S summary). */
const char *st_sys_name(unsigned nr);

/* Whether the audit event `event` can account for syscall `nr` (exposed for tests). */
bool st_sys_explains(const char *event, unsigned nr);

/* The call and its result as strace shows them: `openat(AT_FDCWD, "/x", O_RDONLY) = 3`. */
int st_sys_format_text(struct strbuf *sb, const struct st_sys_view *v);

/* The call's fields, into an open JSON object (after the common fields). */
void st_sys_format_json(struct jsonw *w, const struct st_sys_view *v);

#endif
