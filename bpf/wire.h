/* SPDX-License-Identifier: MIT */
/*
 * Wire records shared by the BPF programs (bpf/) and the userspace reader
 * (user/). Everything here crosses the kernel/user boundary, so only
 * fixed-width types are used and every record starts with a type tag and
 * its total size: the reader checks both before it looks at anything else.
 *
 * An event record is a fixed header followed by a variable-length tail:
 *
 *   struct st_event | name bytes (name_len) | nvalues x (struct st_value | payload)
 *
 * Values are written in pre-order: a container (tuple, list, dict, code)
 * is followed by its `nchild` children, each a complete value. A dict's
 * children alternate key, value. The first value is always the arguments
 * tuple the interpreter passed to the probe.
 */
#ifndef SEATRACE_WIRE_H
#define SEATRACE_WIRE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ST_COMM_LEN 16

/* Bytes of the event name buffer: ST_NAME_MAX - 1 are kept; longer names are cut and flagged. */
#define ST_NAME_MAX 512
/* Upper bound of -s (bytes kept of one str/bytes value). */
#define ST_STR_MAX 4096
#define ST_STR_DEFAULT 256
/* One record never exceeds this; payloads are shortened to fit. */
#define ST_REC_MAX 32768
/* Payload bytes of one value: -s at its maximum for 4-byte (UCS-4) text. */
#define ST_VALUE_MAX (4 * ST_STR_MAX)
/* Values decoded per event, the arguments tuple included. */
#define ST_MAX_VALUES 64
/* Children kept per container; the rest is counted, not decoded. */
#define ST_MAX_ITEMS 16
/* Containers deeper than this are summarised (the args tuple is depth 0). */
#define ST_MAX_DEPTH 4
/* 30-bit PyLong digits kept: 64 digits = 1920 bits, about 578 decimal digits. */
#define ST_MAX_DIGITS 64
/* Bytes kept of a type name (for values of types seatrace does not decode). */
#define ST_TYPE_NAME_MAX 64

#define ST_MAX_LAYOUTS 64
#define ST_MAX_SITES 8

/* Event-name globs, compiled by userspace into token programs. */
#define ST_MAX_GLOBS 32
#define ST_GLOB_TOKENS 64
#define ST_MAX_CLASSES 32
/* Non-ASCII members of a class, as code point ranges (ASCII ones are in its bitmap). */
#define ST_CLASS_RANGES 4

struct st_class {
	__u8 bits[32];			 /* ASCII members */
	__u32 range[ST_CLASS_RANGES][2]; /* inclusive code point ranges; lo > hi: unused */
};

enum st_rec_type {
	ST_REC_EVENT = 1,
	ST_REC_SYSCALL = 2,
	ST_REC_EXEC = 3,
	ST_REC_EXIT = 4, /* struct st_exec with no filename: a process ended */
	ST_REC_FORK = 5, /* struct st_fork: a new process of a --follow target */
	ST_REC_ACTION = 6, /* an event record then struct st_action_tail: a rule acted (notices) */
};

/*
 * A target forked (--follow): the child goes on with the calls open on the forking thread,
 * so the reader opens their spans in the child too. On the events ring, in order with the
 * events: after the parent's before the fork, before any of the child's.
 */
struct st_fork {
	__u16 type; /* ST_REC_FORK */
	__u16 _pad;
	__u32 size;
	__u64 ts_ns;
	__u32 pid;  /* the child */
	__u32 ppid; /* the parent's tgid */
	__u32 ptid; /* the forking thread */
	__u32 _pad2;
};

/*
 * A process exec'd (system-wide and --follow modes): the reader checks
 * whether it runs an interpreter it has not attached to yet. Tail: the
 * filename passed to exec, filename_len bytes.
 */
struct st_exec {
	__u16 type; /* ST_REC_EXEC */
	__u16 filename_len;
	__u32 size;
	__u64 ts_ns;
	__u32 pid;
	__u32 ppid; /* the parent's tgid */
	char comm[ST_COMM_LEN];
	__u8 tail[];
};

/* Whose exec and exit notices the kernel sends (cfg_watch_exec). */
enum st_watch {
	ST_WATCH_NONE = 0,
	ST_WATCH_ALL = 1,     /* every process on the host (system-wide) */
	ST_WATCH_TARGETS = 2, /* processes in the `targets` map (--follow) */
};

/* Process filters applied first thing in the audit program (cfg_proc_filter). */
enum st_proc_filter {
	ST_PF_TARGETS = 1 << 0, /* tgid in the `targets` map (-p with --follow, command with --follow) */
	ST_PF_UID = 1 << 1,	/* -u */
	ST_PF_COMM = 1 << 2,	/* --comm */
	ST_PF_CGROUP = 1 << 3,	/* --cgroup: the task is in that cgroup or below */
};

/* st_event.flags */
enum st_event_flags {
	ST_EF_NAME_TRUNC = 1 << 0, /* event name longer than ST_NAME_MAX */
	ST_EF_ARGS_FAULT = 1 << 1, /* the arguments tuple could not be read */
	ST_EF_REC_FULL = 1 << 2,   /* record size limit shortened payloads */
	/* Filtered out by -e/-x, but a sign of tampering (sys.addaudithook, ctypes.*): sent
	 * for the alert alone, not shown as an event. */
	ST_EF_ALERT_ONLY = 1 << 3,
	/* -k: the record was full: no room even for the stack's tail (none follows). */
	ST_EF_NO_STACK = 1 << 13,
	/* -k: the Python stack closes the values (struct st_stack_tail); a high bit too. */
	ST_EF_STACK = 1 << 14,
	/* The record ends with the callers of `frame`: see struct st_chain_tail. A high bit,
	 * clear of flags added below it. */
	ST_EF_CHAIN = 1 << 15,
};

/*
 * Frames on the call chain above the raising one, for span depth (user/pair.c): with
 * ST_EF_CHAIN, the last bytes of an event record are `nchain` frame addresses (u64, not
 * aligned), innermost caller first, then this tail. The values end where they begin. A
 * coroutine's chain runs through whatever resumed it, so a suspended task's frames are not
 * on another task's chain.
 */
#define ST_CHAIN_MAX 32

enum st_chain_flags {
	ST_CF_CUT = 1 << 0, /* more callers than ST_CHAIN_MAX: the chain is incomplete */
};

struct st_chain_tail {
	__u16 nchain;
	__u16 flags; /* ST_CF_* */
	__u32 _pad;
};

/*
 * -k, the Python stack that raised the event: with ST_EF_STACK, the values are followed by
 * `nframes` struct st_stack_frame (not aligned), innermost first, then struct st_stack_tail;
 * then, if ST_EF_CHAIN, the chain section, which closes the record. Frames that are not
 * Python's (3.12+ entry shims, C-stack-owned frames) are not counted. The reader turns each
 * (code, offset) into a file, line and function from the code object (user/stack.c).
 */
#define ST_STACK_DEFAULT 32
#define ST_STACK_MAX 256

enum st_stack_flags {
	ST_SKF_CUT = 1 << 0,	 /* more Python frames than kept: depth, or the record's room */
	ST_SKF_UNKNOWN = 1 << 1, /* no current frame could be found: the stack is not known */
};

struct st_stack_frame {
	__u64 code;	  /* the code object's address */
	__s32 offset;	  /* bytes into the bytecode of the instruction running (< 0: none yet) */
	__s32 firstline;  /* co_firstlineno */
};

struct st_stack_tail {
	__u16 nframes;
	__u16 flags; /* ST_SKF_* */
	__u32 _pad;
};

struct st_event {
	__u16 type;  /* ST_REC_EVENT */
	__u16 flags; /* ST_EF_* */
	__u32 size;  /* bytes of the whole record, header included */
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	/*
	 * Address of the Python frame that raised the event, for events that
	 * may open or close a span (prehook:, posthook:, .../result ...), else
	 * 0. It identifies the call across threads and interleaved coroutines.
	 */
	__u64 frame;
	__u32 pid;   /* thread group id */
	__u32 tid;
	__u32 layout;   /* layout slot the probe was attached with */
	__u16 name_len; /* bytes of the event name at the start of the tail */
	__u16 nvalues;  /* value headers after the name, children included */
	char comm[ST_COMM_LEN];
	/* Appended: bpf_get_current_uid_gid() at the event, exact even if it changes later. */
	__u32 uid;
	__u32 gid;
	__u8 tail[];
};
_Static_assert(sizeof(struct st_event) % 8 == 0, "the event header stays 8-byte aligned");

enum st_value_tag {
	ST_V_NONE = 1,
	ST_V_TRUE,
	ST_V_FALSE,
	ST_V_INT,	/* payload: len/4 little-endian u32 digits of 30 bits, least significant first; total = digits of the whole value */
	ST_V_FLOAT,	/* payload: 8-byte IEEE double */
	ST_V_STR,	/* payload: code units of kind ST_VF_KIND(flags) bytes each; total = length in code points */
	ST_V_BYTES,	/* payload: bytes; total = size */
	ST_V_BYTEARRAY, /* as ST_V_BYTES */
	ST_V_TUPLE,	/* nchild children follow; total = length */
	ST_V_LIST,
	ST_V_DICT,  /* nchild = 2 x pairs kept (key, value, ...); total = pairs */
	ST_V_CODE,  /* payload: __s32 first line, or empty when it could not be read; children: filename, qualified name */
	ST_V_OTHER, /* payload: the type's tp_name; total = its length */
	ST_V_FAULT, /* the object could not be read; payload empty */
	ST_V_TAG_MAX,
};

/* st_value.flags */
enum st_value_flags {
	ST_VF_TRUNC = 1 << 0, /* payload or children shorter than total */
	ST_VF_NEG = 1 << 1,   /* ST_V_INT: negative */
	ST_VF_SUBCLASS = 1 << 2, /* instance of a subclass of the tagged type */
	ST_VF_DEPTH = 1 << 3, /* container not expanded: nesting limit */
	/* ST_V_STR: bytes per code unit, 1, 2 or 4, stored in bits 4-6 */
	ST_VF_KIND_SHIFT = 4,
	ST_VF_KIND_MASK = 7 << 4,
};

#define ST_VF_KIND(flags) (((flags) & ST_VF_KIND_MASK) >> ST_VF_KIND_SHIFT)

struct st_value {
	__u8 tag;     /* enum st_value_tag */
	__u8 flags;   /* enum st_value_flags */
	__u16 len;    /* payload bytes following this header */
	__u32 nchild; /* children following (containers and code objects) */
	__u64 total;  /* full length: see the tags */
};

/*
 * Per-interpreter layout, written by userspace into the `layouts` map for
 * each attached binary; the probe's cookie selects the slot. Addresses are
 * link-time virtual addresses; the program adds the load bias it derives
 * from the probe site that fired.
 */
enum st_layout_flags {
	ST_LF_VALID = 1 << 0,
	ST_LF_LONG_TAG = 1 << 1, /* 3.12+: lv_tag sign/size word instead of ob_size */
	ST_LF_DICT_LOG2 = 1 << 2, /* 3.11+: dk_log2_size/dk_kind keys layout */
	ST_LF_HAS_QUALNAME = 1 << 3,
	ST_LF_TSTATE_GLOBAL = 1 << 4, /* <=3.11: *(runtime + rt_tstate) is the current thread state */
	ST_LF_CFRAME = 1 << 5,	      /* 3.11/3.12: the frame hangs off tstate->cframe */
	ST_LF_TSTATE_WALK = 1 << 6,   /* 3.12+: find the thread state by native thread id */
};

/*
 * Where a probe site keeps one of its arguments, from the stapsdt note's
 * argument string ("8@%rbx", "-4@-20(%rbp)", "8@$0"): the program reads
 * it straight from the trap's registers (bpf/probe.bpf.c, usdt_arg()).
 */
enum st_usdt_arg_kind {
	ST_UA_NONE,  /* not described: unusable */
	ST_UA_CONST, /* the value is `off` */
	ST_UA_REG,   /* the value is register `reg` */
	ST_UA_DEREF, /* the value is at user address `reg` + `off` */
};

/* Registers by their pt_regs field, x86_64. */
enum st_preg {
	ST_PREG_AX = 1,
	ST_PREG_BX,
	ST_PREG_CX,
	ST_PREG_DX,
	ST_PREG_SI,
	ST_PREG_DI,
	ST_PREG_BP,
	ST_PREG_SP,
	ST_PREG_R8,
	ST_PREG_R9,
	ST_PREG_R10,
	ST_PREG_R11,
	ST_PREG_R12,
	ST_PREG_R13,
	ST_PREG_R14,
	ST_PREG_R15,
	ST_PREG_IP,
};

struct st_usdt_arg {
	__s32 off;
	__u8 kind;	/* enum st_usdt_arg_kind */
	__u8 reg;	/* enum st_preg */
	__u8 shift;	/* 64 - 8 * size: the value is the low `size` bytes */
	__u8 is_signed; /* sign-extend them */
};

enum st_layout_type {
	ST_T_NONE_OBJ, /* _Py_NoneStruct (an object, not a type) */
	ST_T_TRUE_OBJ,
	ST_T_FALSE_OBJ,
	ST_T_BOOL,
	ST_T_LONG,
	ST_T_FLOAT,
	ST_T_STR,
	ST_T_BYTES,
	ST_T_BYTEARRAY,
	ST_T_TUPLE,
	ST_T_LIST,
	ST_T_DICT,
	ST_T_CODE,
	ST_T_MAX,
};

struct st_layout {
	__u32 flags;   /* ST_LF_* */
	__u32 version; /* PY_VERSION_HEX */
	__u32 nsites;
	__u32 _pad;
	__u64 site[ST_MAX_SITES];	/* probe sites, link-time addresses */
	struct st_usdt_arg site_arg[ST_MAX_SITES][2]; /* the probe's event, args at each site */
	__u64 addr[ST_T_MAX];	/* link-time addresses of the singletons and types */
	/* object header and type object */
	__u16 ob_type, ob_size, tp_name, tp_flags;
	/* str */
	__u16 str_length, str_state, str_ascii_data, str_compact_data;
	__u16 str_legacy_data, str_kind_shift, str_compact_bit, str_ascii_bit;
	/* containers and numbers */
	__u16 tuple_items, list_items, bytes_sval, bytearray_start;
	__u16 float_val, long_size, long_digits, dict_used;
	__u16 dict_keys, dict_values, dk_size, dk_nentries;
	__u16 dk_indices, dk_kind, dict_values_items, _pad2;
	/* code objects */
	__u16 co_firstlineno, co_filename, co_name, _pad3;
	/* the raising frame: runtime -> thread state -> (cframe ->) frame */
	__u64 runtime;	/* link-time address of _PyRuntime */
	__u16 rt_tstate, ts_frame, cf_frame, _pad4;
	/* 3.12+: runtime -> interpreters.head -> threads.head -> next ..., matched by tid */
	__u16 rt_interp_head, interp_threads, ts_next, ts_native_tid;
	/*
	 * The file's read-only segments, link-time addresses: an event name
	 * there is a literal that cannot change, so the name cache may keep
	 * it. ro_lo == ro_hi: nothing is cached for this binary.
	 */
	__u64 ro_lo, ro_hi;
	/* The frame's caller: f_back (<= 3.10), _PyInterpreterFrame.previous (3.11+); 0: none */
	__u16 fr_back, _pad5[3];
	/*
	 * -k: a frame's code object (f_code, f_executable), its instruction (f_lasti, times
	 * fr_lasti_mul bytes, up to 3.10; else a pointer into the code at co_code_adaptive), its
	 * owner byte (0: none) and the first owner value that is no Python frame (0: none),
	 * the tag bits of f_executable (3.14); the code's line table, for the reader.
	 */
	__u16 fr_code, fr_instr, fr_owner, fr_owner_skip;
	__u16 fr_lasti_mul, fr_tag_bits, co_code_adaptive, co_linetable;
};

/*
 * A syscall of a traced process that carries out an audited kind of
 * operation, with its result and the audit event that preceded it on the
 * same thread. Tail: str_len[0] bytes of the first path or socket address
 * argument, then str_len[1] bytes of the second (rename, link, symlink).
 */
#define ST_SYS_STR_MAX 256
#define ST_SYS_AUDIT_NAME 48

enum st_syscall_flags {
	ST_SF_STR0_TRUNC = 1 << 0, /* first string cut at ST_SYS_STR_MAX */
	ST_SF_STR1_TRUNC = 1 << 1,
	ST_SF_INHERITED = 1 << 2, /* the audit event was raised by the parent, before fork */
	ST_SF_NO_AUDIT = 1 << 3,  /* no audit event on this thread yet */
	ST_SF_SOCKADDR = 1 << 4,  /* the first string is a struct sockaddr, not a path */
};

struct st_syscall {
	__u16 type;  /* ST_REC_SYSCALL */
	__u16 flags; /* ST_SF_* */
	__u32 size;
	__u64 ts_ns;	/* entry */
	__u64 dur_ns;	/* entry to exit */
	__u64 audit_ts; /* ts_ns of the thread's last audit event (0: none) */
	__s64 ret;	/* the return value: a negative errno on failure */
	__u64 args[6];
	__u32 pid;
	__u32 tid;
	__u32 nr; /* x86_64 syscall number */
	__u16 str_len[2];
	char comm[ST_COMM_LEN];
	char audit_name[ST_SYS_AUDIT_NAME]; /* that event's name, cut, NUL-padded */
	__u8 tail[];
};

/* Values of the `traced` map (tgid -> mode). */
enum st_trace_mode {
	ST_TRACE_ALL = 1,  /* audit events and syscalls */
	ST_TRACE_EXEC = 2, /* a child of a traced process: only its execs, to name what it ran */
	/* As ALL, marked by the audit programs at the process's first event (any mode); dropped
	 * at exec, until the new program raises an event of its own. */
	ST_TRACE_AUTO = 3,
};

/* A compiled glob: ntok tokens; ops from enum st_glob_op. */
enum st_glob_op {
	ST_G_LIT = 1, /* arg: the byte */
	ST_G_ANY,     /* ? */
	ST_G_STAR,    /* * */
	ST_G_CLASS,   /* arg: index into the class bitmaps */
	ST_G_NCLASS,  /* negated class */
};

enum st_glob_shape {
	ST_GS_GENERAL = 0,
	ST_GS_LITERAL,	   /* no wildcard: ntok literal bytes */
	ST_GS_PREFIX_STAR, /* literal bytes then one final '*' */
};

struct st_glob {
	__u8 ntok;
	__u8 exclude; /* 1: -x, 0: -e */
	__u8 shape;   /* enum st_glob_shape: the common shapes are decided in one step */
	__u8 nlit;    /* literal bytes at the start */
	__u8 op[ST_GLOB_TOKENS];
	__u8 arg[ST_GLOB_TOKENS];
};

/*
 * Counters in the per-CPU `stats` map. Only the exceptional paths count:
 * records sent are counted by the reader, which keeps the common path one
 * map update lighter.
 */
enum st_stat {
	ST_STAT_FILTERED, /* dropped by the event globs */
	ST_STAT_LOST,	 /* records lost: ring buffer full */
	ST_STAT_NAME_FAULT, /* event name unreadable: record still sent */
	ST_STAT_NO_LAYOUT,  /* probe fired with no layout in its slot */
	ST_STAT_SYS_LOST,   /* syscall records lost: ring buffer full */
	ST_STAT_SYS_NOSLOT, /* syscall entries not tracked: too many in flight */
	ST_STAT_PROC_FILTERED, /* events of processes the -p/-u/--comm/--cgroup filters leave out */
	ST_STAT_EXEC_LOST,  /* exec notices lost: notice ring full */
	ST_STAT_BUSY,	    /* events dropped: the probe was preempted mid-record on that CPU */
	ST_STAT_EXIT_LOST,  /* exit notices lost: notice ring full */
	ST_STAT_FORK_LOST,  /* fork notices (-f) lost: events ring full; the child's spans lose their pre */
	ST_STAT_OVERSIZE,   /* events dropped: the record outgrew ST_REC_MAX (a decoder bug) */
	ST_STAT_COUNT_FULL,   /* -c/-C: events not counted, the count map was full */
	ST_STAT_COUNT_NONAME, /* -c/-C: names not kept, the name map was full */
	ST_STAT_COUNT_SYS_FULL, /* -c/-C with -S: syscalls not counted, their map was full */
	ST_STAT_RATE_LIMITED, /* events dropped by a rate limit (bpf/ratelimit.bpf.h) */
	ST_STAT_RATE_NOSLOT,  /* events let through unlimited: no bucket could be made */
	ST_STAT_ACT_KILL,   /* --kill rules that fired (signalled, or would have with --dry-run) */
	ST_STAT_ACT_STOP,   /* --stop rules that fired */
	ST_STAT_ACT_LOST,   /* action records lost: notice ring full (the signal was sent) */
	ST_STAT_NAME_FROM_FILE, /* event names unreadable in the process, known from the file */
	ST_STAT_MAX,
};

/*
 * -c / -C (issue 13): events counted in the kernel (bpf/count.bpf.h), read by user/kcount.c.
 * One per-CPU count per (name, process); a name is known by its address in the interpreter's
 * read-only segments, as the name cache keys it ((slot + 1) << 48 | link-time address), or,
 * for names elsewhere (sys.audit's, on the heap), by a hash of its bytes with
 * ST_COUNT_HASHED set. The name's bytes are kept once per key in a map of their own.
 */
enum st_count_mode {
	ST_COUNT_OFF,
	ST_COUNT_ONLY, /* -c: counted, no record */
	ST_COUNT_ALSO, /* -C: counted, and the record written as usual */
};

#define ST_COUNT_HASHED (1ULL << 63)
#define ST_COUNT_MAX_KEYS 65536	 /* (name, process) pairs */
#define ST_COUNT_MAX_NAMES 16384 /* distinct name keys */

/*
 * A known event's name at its link-time address in an interpreter file's read-only segments,
 * as the reader found it in the file (user/ronames.c), keyed (layout slot + 1) << 48 |
 * address: the kernel's name when reading it from the process fails (bpf/record.bpf.h).
 */
#define ST_RO_NAME_MAX 64     /* bytes, the NUL included */
#define ST_RO_NAMES_PER_FILE 1024 /* entries the table holds per --max-files */
struct st_ro_name {
	__u32 len;
	__u32 _pad;
	__u8 name[ST_RO_NAME_MAX];
};
#define ST_COUNT_MAX_SYS 4096	 /* (syscall, errno) pairs */

struct st_count_key {
	__u64 name; /* see above */
	__u32 tgid;
	__u32 _pad;
};

struct st_count_val {
	__u64 count;
	__u64 first_ns; /* CLOCK_MONOTONIC, on this CPU */
	__u64 last_ns;
};

/*
 * Each CPU's cache of the keys it counted last, in front of the hash: a repeated key costs a
 * compare, not a hash lookup. A slot goes to the hash when another key takes its place; the
 * reader adds both. count 0: empty.
 */
#define ST_COUNT_CACHE 64

struct st_count_slot {
	__u64 name;
	__u32 tgid;
	__u32 gen; /* cfg_filter_gen of the verdict that kept the name (bpf/count.bpf.h) */
	__u64 count, first_ns, last_ns;
	__u64 last_tick; /* jiffies when last_ns was read: the clock is read once a tick */
};

struct st_count_cache {
	struct st_count_slot s[ST_COUNT_CACHE];
};

/* -S: a syscall's exits, by number and result (0, or the errno of a failure). */
struct st_sys_count_key {
	__u32 nr;
	__u32 err;
};

/*
 * Rate limits (--rate-limit N/s, a policy rule's `rate:`): a token bucket per process and
 * event name, or per process and rule, in the `rl_buckets` map (bpf/ratelimit.bpf.h). The
 * key names what was limited, for the reader's `lost` records: the event name, or the rule's
 * name, its first ST_RL_NAME bytes, NUL-padded (ST_RL_CUT: the name was longer).
 */
#define ST_RL_NAME 64
/* Rate slots of the name filter's patterns (one per glob; the kernel rules' after issue 14). */
#define ST_RL_SLOTS 64

enum st_rl_kind {
	ST_RL_EVENT = 1,   /* --rate-limit: per process and event name */
	ST_RL_RULE = 2,	   /* a rule's rate: per process and rule */
	ST_RL_CUT = 0x100, /* or'ed in: the name was longer than ST_RL_NAME */
};

/* cfg_rate_limit: which limits exist (each a code path the verifier drops when off). */
enum st_rl_flags {
	ST_RLF_GLOBAL = 1 << 0, /* --rate-limit */
	ST_RLF_RULES = 1 << 1,	/* rules' rates (--policy): writable while tracing */
};

struct st_rl_key {
	__u32 tgid;
	__u32 kind; /* enum st_rl_kind */
	char name[ST_RL_NAME];
};

struct st_rl_val {
	__u64 tat;     /* the bucket's theoretical arrival time (GCRA), CLOCK_MONOTONIC ns */
	__u64 dropped; /* events dropped, since the bucket was made */
};

/*
 * Uprobe fallback, for interpreters built without the python:audit probe
 * (bpf/fallback.bpf.c, user/fallback.c). Each uprobe's attach cookie says
 * which layout slot, which of the slot's sites (st_layout.site[]: the
 * uprobe addresses), which function it is in, and how far the stack
 * pointer has moved between the function's entry and the probed
 * instruction (probes sit on the first instruction the kernel emulates,
 * not always the first one).
 */
enum st_fb_kind {
	ST_FB_TSTATE = 1,  /* sys_audit_tstate(ts, event, fmt, va_list) (3.9+): the funnel of C events */
	ST_FB_VARIADIC,	   /* PySys_Audit(event, fmt, ...) */
	ST_FB_VARIADIC_TS, /* _PySys_Audit(ts, event, fmt, ...) (3.9+) */
	ST_FB_SYS_AUDIT,   /* static sys_audit(self, args, nargs): Python-level sys.audit() */
};

/* The probe's own uprobes, one per site: which layout slot, which site. */
#define ST_SITE_COOKIE(slot, site) ((__u64)(slot) | (__u64)(site) << 8)
/* Both kinds of cookie start so. */
#define ST_COOKIE_SLOT(c) ((__u32)(c)&0xff)
#define ST_COOKIE_SITE(c) ((__u32)((c) >> 8) & 0xff)

#define ST_FB_COOKIE(slot, site, kind, spadj) \
	(ST_SITE_COOKIE(slot, site) | (__u64)(kind) << 16 | (__u64)(spadj) << 32)
#define ST_FB_KIND(c) ((__u32)((c) >> 16) & 0xff)
#define ST_FB_SPADJ(c) ((__u32)((c) >> 32))

/*
 * Argument filters and actions (issue 14; user/rule.c compiles struct st_rule into this).
 * Each rule has an event-name glob and up to ST_KRULE_CONDS conditions, all of which must
 * hold; process selectors are conditions too (ST_KA_UID, ST_KA_COMM, ...). Globs of every rule sit
 * in one table (st_krule.event_glob, st_kcond.glob index it), with one class table.
 */
#define ST_KRULE_MAX 64	    /* a u64 mask of them is kept per cached event name */
#define ST_KRULE_CONDS 12   /* 8 argument conditions, uid, comm, cgroup, exe */
#define ST_KRULE_GLOBS 256
/* Bytes of a str/bytes value a glob condition sees (the matcher indexes ST_NAME_MAX bytes). */
#define ST_KRULE_STR (ST_NAME_MAX - 1)

enum st_krule_flags {
	ST_KR_INCLUDE = 1 << 0, /* -e NAME(...): a matching event is shown */
	ST_KR_EXCLUDE = 1 << 1, /* -x NAME(...): a matching event is not shown */
	ST_KR_KILL = 1 << 2,	/* --kill: SIGKILL */
	ST_KR_STOP = 1 << 3,	/* --stop: SIGSTOP */
	ST_KR_COUNT = 1 << 4,	/* --count, `action: count`: not shown, counted per rule */
};

/*
 * rule_counts (bpf/rules.bpf.h), a per-CPU array of __u64: the events each ST_KR_COUNT rule
 * matched, at ST_KRULE_COUNT_IDX(set, position in cfg_krules[set]). Two sets, as the rules:
 * user space folds a set's counts away before it writes that set again (user/rulecount.c).
 */
#define ST_KRULE_COUNT_IDX(set, r) ((set) * ST_KRULE_MAX + (r))

/* st_kcond.arg beyond argument positions: process selectors. */
enum st_karg {
	ST_KA_UID = 250, /* the thread's real uid (lo) */
	ST_KA_COMM = 251, /* the thread's name, by glob */
	ST_KA_CGROUP = 252, /* the thread is in cgroup `lo` of the rule_cgroups map, or below */
	/*
	 * The executable's path (as the host's /proc/PID/exe shows it), by glob `glob`; `lo` is
	 * its @exe slot (0..63, one per distinct glob of the set), the bit of the per-thread
	 * result cache (bpf/rules.bpf.h, rule_exe).
	 */
	ST_KA_EXE = 253,
};

enum st_kcond_flags {
	ST_KC_INDEX = 1 << 0, /* element `index` of the argument (a tuple or list) */
	ST_KC_LEN = 1 << 1,   /* len() of the value */
	ST_KC_NEG = 1 << 2,   /* != : the result inverted */
};

/* st_kcond.op: how the value is compared. */
enum st_kop {
	ST_KO_GLOB = 1, /* str or bytes against glob `glob` */
	ST_KO_EQ,	/* integer == lo (bool counts as 0/1) */
	ST_KO_LT,
	ST_KO_LE,
	ST_KO_GT,
	ST_KO_GE,
	ST_KO_BITS,  /* integer & lo != 0 */
	ST_KO_RANGE, /* lo <= integer <= hi */
	ST_KO_NONE,  /* is None */
	ST_KO_TRUE,  /* is True */
	ST_KO_FALSE, /* is False */
};

struct st_kcond {
	__u8 arg;   /* argument position, or enum st_karg */
	__u8 op;    /* enum st_kop */
	__u8 flags; /* ST_KC_* */
	__u8 _pad;
	__u16 index; /* with ST_KC_INDEX */
	__u16 glob;  /* with ST_KO_GLOB: index in the rule glob table */
	__s64 lo, hi;
};

/*
 * Rules are laid out kills first, then stops, then filters, each kind in the order given: the
 * evaluation (bounded) decides the actions first. `id` is the rule's place as given, which
 * action records name.
 */
struct st_krule {
	__u32 flags; /* ST_KR_* */
	__u16 event_glob;
	__u8 nconds;
	__u8 id;
	struct st_kcond conds[ST_KRULE_CONDS];
};

/*
 * The rules' prefilter (user/rulepre.c computes it, bpf/rulepre.bpf.h tests it): each rule may
 * have a key condition, one of its conditions on a whole argument (#N, no [I], no len(), not
 * !=). Per argument, what could satisfy the key condition of any rule keyed on it; an event
 * whose arguments satisfy none of them skips those rules. Only ever too wide, never too narrow.
 */
#define ST_KPRE_ARGS 16 /* argument positions a key condition may name (#0 to #15) */
#define ST_KPRE_IVS 8	/* integer intervals per argument, widened to fit */
#define ST_KPRE_PFX 8	/* literal prefixes per argument, shortened to fit */

enum st_kpre_flags {
	ST_KP_NONE = 1 << 0,	 /* some key condition is `= None` */
	ST_KP_TRUE = 1 << 1,	 /* `= True` */
	ST_KP_FALSE = 1 << 2,	 /* `= False` */
	ST_KP_OVF_NEG = 1 << 3,	 /* an integer below -2**63 may satisfy one (<, <=) */
	ST_KP_OVF_POS = 1 << 4,	 /* one above 2**63 - 1 (>, >=) */
	ST_KP_GLOB = 1 << 5,	 /* some key condition is a glob: str and bytes values tested */
	ST_KP_GLOB_ANY = 1 << 6, /* ...one with no literal prefix: any str or bytes may match */
};

struct st_kpre_arg {
	__u64 kmask; /* rules keyed on this argument */
	__u64 bits;  /* integer & bits != 0 may satisfy one (the & conditions, or'ed) */
	__u32 flags; /* ST_KP_* */
	__u8 niv, npfx, _pad[2];
	__s64 iv[ST_KPRE_IVS][2]; /* lo <= x <= hi, sorted, disjoint */
	/* A value whose first bytes w (little-endian, zero-padded) have (w & mask) == val and
	 * whose length is at least len: str narrowed as the glob conditions see it (bytes
	 * over 0x7f of a non-ASCII str are 0x80), bytes as they are. */
	__u64 pval[ST_KPRE_PFX], pmask[ST_KPRE_PFX];
	__u8 plen[ST_KPRE_PFX];
};

struct st_kpre {
	__u64 keyed; /* rules with a key condition; the others are always evaluated (all, if 0) */
	__u32 amask; /* arguments some rule is keyed on */
	__u32 _pad;
	struct st_kpre_arg arg[ST_KPRE_ARGS];
};

enum st_action_flags {
	ST_AF_DRY_RUN = 1 << 0, /* --dry-run: decided, no signal sent */
	ST_AF_NO_ARGS = 1 << 1, /* the notice ring had no room for the values: name only */
	ST_AF_SIG_FAIL = 1 << 2, /* bpf_send_signal() refused */
};

/*
 * An ST_REC_ACTION record is the event's own record (struct st_event and its tail, `size`
 * covering those alone, type ST_REC_ACTION) followed by this.
 */
struct st_action_tail {
	__u32 rule;   /* index of the rule, in the order given */
	__u16 action; /* ST_KR_KILL or ST_KR_STOP */
	__u16 flags;  /* ST_AF_* */
};

#endif /* SEATRACE_WIRE_H */
