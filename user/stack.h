/* SPDX-License-Identifier: MIT */
/*
 * -k: the Python stack of an event (ST_EF_STACK) as files, lines and functions. The kernel
 * sends each frame's code object address and instruction offset; the code object is read
 * from the process (filename, co_qualname or co_name, line table) while it lives, and kept
 * per (process, code object). A code object that can no longer be read gives its first line,
 * marked approximate.
 */
#ifndef SEATRACE_STACK_H
#define SEATRACE_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decode.h"

struct strbuf;
struct st_stacks;

/* The layout of slot `slot` (the record's st_event.layout) into *out: 0, or -errno. */
typedef int (*st_stack_layout_fn)(unsigned slot, struct st_layout *out, void *ctx);
/* Reads len bytes of process pid at addr: bytes read, or -1 (errno). */
typedef ssize_t (*st_stack_read_fn)(pid_t pid, uint64_t addr, void *buf, size_t len);

/* NULL and errno on failure. read NULL: process_vm_readv(2). */
struct st_stacks *st_stacks_new(st_stack_layout_fn layout, st_stack_read_fn read, void *ctx);
void st_stacks_free(struct st_stacks *s);

/*
 * The stack of v, if it has one: text, one line per frame, ` > FILE:LINE FUNCTION`, each
 * with its newline; JSON, `,"stack":[{"file":..,"line":N,"function":..},..]` and
 * `,"stack_truncated":true` when cut (a stack not known: `"stack":null`). 0 or -ENOMEM.
 */
int st_stack_text(struct st_stacks *s, struct strbuf *sb, const struct st_view *v);
int st_stack_json(struct st_stacks *s, struct strbuf *sb, const struct st_view *v);

/*
 * The line of the instruction at byte `offset` of a code object of CPython 3.minor, from its
 * line table (co_lnotab up to 3.9, the PEP 626 table of 3.10, the locations table of 3.11+),
 * as PyCode_Addr2Line() gives it; -1: the instruction has no line.
 */
int st_stack_line(unsigned minor, const uint8_t *tab, size_t n, int firstline, int offset);

#endif
