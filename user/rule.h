/* SPDX-License-Identifier: MIT */
/*
 * Policy rules as the user wrote them (issue 14): an event glob, conditions on the event's
 * arguments and on the process, and an action. Filled by the -e/-x/--kill/--stop parser
 * (NAMEGLOB(COND,...), user/rule.c) and by the policy file (user/policy.c), then compiled
 * into the kernel's form (bpf/wire.h) by one function, so both sources mean the same.
 */
#ifndef SEATRACE_RULE_H
#define SEATRACE_RULE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#define ST_RULE_MAX 64	     /* rules loaded at once */
#define ST_RULE_CONDS 8	     /* argument conditions per rule */
#define ST_RULE_NAME_MAX 64  /* a rule's name */
#define ST_RULE_TEXT_MAX 256 /* a glob in a rule (event, string value, exe, comm) */
#define ST_RULE_ARGPOS_MAX 15 /* #N: arguments the kernel can compare (bpf/rules.bpf.h) */

enum st_cond_op {
	ST_OP_EQ = 1, /* = : a glob for str/bytes; exact for int, None, True, False */
	ST_OP_NE,     /* != */
	ST_OP_LT,     /* < (integers, lengths) */
	ST_OP_LE,     /* <= */
	ST_OP_GT,     /* > */
	ST_OP_GE,     /* >= */
	ST_OP_BITS,   /* & : any of these bits set */
	ST_OP_RANGE,  /* =LO..HI : LO <= value <= HI */
};

enum st_cond_kind {
	ST_CK_GLOB = 1, /* value is a glob matched against str or bytes */
	ST_CK_INT,	/* value is an integer (lo, and hi for ST_OP_RANGE) */
	ST_CK_NONE,	/* None */
	ST_CK_TRUE,	/* True */
	ST_CK_FALSE,	/* False */
};

/* ARG OP VALUE: ARG is #N or a name from the events table, maybe [I], maybe inside len(). */
struct st_cond {
	int arg;	       /* argument position, from 0 (a name is resolved here) */
	int index;	       /* element of a tuple or list, or -1 */
	bool len;	       /* len(ARG): the length of a str/bytes/container is compared */
	enum st_cond_op op;
	enum st_cond_kind kind;
	int64_t lo, hi;
	char glob[ST_RULE_TEXT_MAX];
};

enum st_action {
	ST_ACT_LOG = 0, /* shown (the default) */
	ST_ACT_COUNT,	/* counted only (-c and metrics counters), not shown */
	ST_ACT_DROP,	/* neither shown nor counted as shown */
	ST_ACT_KILL,	/* SIGKILL from the BPF program, before the operation runs */
	ST_ACT_STOP,	/* SIGSTOP from the BPF program; the pid is reported */
};

/* Process selectors: each one set must hold. */
struct st_proc_sel {
	bool have_uid;
	uid_t uid;
	char cgroup[ST_RULE_TEXT_MAX]; /* cgroup v2 path, "" for any */
	char exe[ST_RULE_TEXT_MAX];    /* glob on the executable's path, "" for any */
	char comm[ST_RULE_TEXT_MAX];   /* glob on the command name, "" for any */
};

struct st_rule {
	char name[ST_RULE_NAME_MAX]; /* the policy's rule name, or the text typed (cut) */
	char event[ST_RULE_TEXT_MAX]; /* event-name glob */
	bool exclude;		      /* from -x: a matching event is not shown */
	struct st_cond conds[ST_RULE_CONDS];
	int nconds;
	struct st_proc_sel proc;
	enum st_action action;
	uint32_t rate_per_s; /* token bucket per process and rule, 0: none */
	/* Where it came from, for messages: a file and line, or "-e" and the argument. */
	const char *src;
	unsigned line;
};

/* A count rule's events since start (user/rulecount.c reads them from the kernel). */
struct st_rule_count {
	char name[ST_RULE_NAME_MAX];
	uint64_t count;
};

/* A parse error: what is wrong and the byte offset in the text it points at. */
struct st_rule_err {
	char msg[160];
	int col;
};

/*
 * Parses one filter, NAMEGLOB or NAMEGLOB(COND,...) (docs/policy.md), into *r (its exclude,
 * action and src left for the caller). 0, or -EINVAL with *err saying what and where.
 */
int st_rule_parse(const char *text, struct st_rule *r, struct st_rule_err *err);

/* Whether text is a filter with conditions (an unescaped '('), not a plain glob. */
bool st_rule_is_filter(const char *text);

/*
 * Bytes of s up to the comma that ends its first item in a comma list (-e a,b(c,d)): not one
 * escaped, inside [...] or inside parentheses.
 */
size_t st_rule_token_len(const char *s);

/* The message, the text, and a caret under the column, as three lines (no final newline). */
void st_rule_err_format(char *buf, size_t len, const char *text, const struct st_rule_err *e);

#endif /* SEATRACE_RULE_H */
