// SPDX-License-Identifier: MIT
/*
 * Syscall records: their names and arguments as strace would show them,
 * and the rules saying which audit event accounts for which syscall. A
 * syscall of a recorded kind whose thread raised no such event just before
 * is "unaudited": Python did it without telling its audit hooks, which is
 * what ctypes, C extensions and tampering look like.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "json.h"
#include "strbuf.h"
#include "syscalls.h"

/* What a syscall does, so that one audit event can account for several syscalls. */
enum kind {
	K_OPEN = 1 << 0,
	K_SOCKET = 1 << 1,
	K_CONNECT = 1 << 2,
	K_BIND = 1 << 3,
	K_SEND = 1 << 4,
	K_EXEC = 1 << 5,
	K_SPAWN = 1 << 6,
	K_UNLINK = 1 << 7,
	K_RENAME = 1 << 8,
	K_MKDIR = 1 << 9,
	K_RMDIR = 1 << 10,
	K_CHMOD = 1 << 11,
	K_CHOWN = 1 << 12,
	K_TRUNCATE = 1 << 13,
	K_SYMLINK = 1 << 14,
	K_LINK = 1 << 15,
	K_KILL = 1 << 16,
	K_CHDIR = 1 << 17,
	K_MEMFD = 1 << 18,
	K_PTRACE = 1 << 19,
	K_MODULE = 1 << 20,
};

/* Argument shapes, for display. */
enum arg {
	A_END = 0,
	A_INT,	 /* signed decimal */
	A_HEX,	 /* unsigned hex */
	A_FD,	 /* fd, AT_FDCWD */
	A_STR0,	 /* the first string of the tail */
	A_STR1,	 /* the second */
	A_OFLAGS, /* open flags */
	A_MODE,	 /* octal */
	A_ADDR,	 /* the socket address in the tail */
	A_SIG,	 /* signal number */
	A_PTR,	 /* an address, shown as hex */
};

struct sysdef {
	unsigned nr;
	const char *name;
	unsigned kind;
	enum arg args[6];
};

/* x86_64 numbers; sorted by number for lookup. */
static const struct sysdef sysdefs[] = {
	{ 2, "open", K_OPEN, { A_STR0, A_OFLAGS, A_MODE } },
	{ 41, "socket", K_SOCKET, { A_INT, A_INT, A_INT } },
	{ 42, "connect", K_CONNECT, { A_FD, A_ADDR, A_INT } },
	{ 44, "sendto", K_SEND, { A_FD, A_PTR, A_INT, A_HEX, A_ADDR, A_INT } },
	{ 46, "sendmsg", K_SEND, { A_FD, A_ADDR, A_HEX } },
	{ 49, "bind", K_BIND, { A_FD, A_ADDR, A_INT } },
	{ 56, "clone", K_SPAWN, { A_HEX, A_PTR, A_PTR, A_PTR, A_HEX } },
	{ 57, "fork", K_SPAWN, { A_END } },
	{ 58, "vfork", K_SPAWN, { A_END } },
	{ 59, "execve", K_EXEC, { A_STR0, A_PTR, A_PTR } },
	{ 62, "kill", K_KILL, { A_INT, A_SIG } },
	{ 76, "truncate", K_TRUNCATE, { A_STR0, A_INT } },
	{ 80, "chdir", K_CHDIR, { A_STR0 } },
	{ 82, "rename", K_RENAME, { A_STR0, A_STR1 } },
	{ 83, "mkdir", K_MKDIR, { A_STR0, A_MODE } },
	{ 84, "rmdir", K_RMDIR, { A_STR0 } },
	{ 85, "creat", K_OPEN, { A_STR0, A_MODE } },
	{ 86, "link", K_LINK, { A_STR0, A_STR1 } },
	{ 87, "unlink", K_UNLINK, { A_STR0 } },
	{ 88, "symlink", K_SYMLINK, { A_STR0, A_STR1 } },
	{ 90, "chmod", K_CHMOD, { A_STR0, A_MODE } },
	{ 92, "chown", K_CHOWN, { A_STR0, A_INT, A_INT } },
	{ 101, "ptrace", K_PTRACE, { A_INT, A_INT, A_PTR, A_PTR } },
	{ 200, "tkill", K_KILL, { A_INT, A_SIG } },
	{ 234, "tgkill", K_KILL, { A_INT, A_INT, A_SIG } },
	{ 257, "openat", K_OPEN, { A_FD, A_STR0, A_OFLAGS, A_MODE } },
	{ 258, "mkdirat", K_MKDIR, { A_FD, A_STR0, A_MODE } },
	{ 260, "fchownat", K_CHOWN, { A_FD, A_STR0, A_INT, A_INT, A_HEX } },
	{ 263, "unlinkat", K_UNLINK | K_RMDIR, { A_FD, A_STR0, A_HEX } },
	{ 264, "renameat", K_RENAME, { A_FD, A_STR0, A_FD, A_STR1 } },
	{ 265, "linkat", K_LINK, { A_FD, A_STR0, A_FD, A_STR1, A_HEX } },
	{ 266, "symlinkat", K_SYMLINK, { A_STR0, A_FD, A_STR1 } },
	{ 268, "fchmodat", K_CHMOD, { A_FD, A_STR0, A_MODE } },
	{ 313, "finit_module", K_MODULE, { A_FD, A_PTR, A_HEX } },
	{ 316, "renameat2", K_RENAME, { A_FD, A_STR0, A_FD, A_STR1, A_HEX } },
	{ 319, "memfd_create", K_MEMFD, { A_STR0, A_HEX } },
	{ 322, "execveat", K_EXEC, { A_FD, A_STR0, A_PTR, A_PTR, A_HEX } },
	{ 435, "clone3", K_SPAWN, { A_PTR, A_INT } },
	{ 437, "openat2", K_OPEN, { A_FD, A_STR0, A_PTR, A_INT } },
};

static const struct sysdef *sysdef(unsigned nr)
{
	size_t lo = 0, hi = sizeof(sysdefs) / sizeof(sysdefs[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sysdefs[mid].nr == nr)
			return &sysdefs[mid];
		if (sysdefs[mid].nr < nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* -c -S: a syscall's name for the summary (count). */
const char *st_sys_name(unsigned nr)
{
	const struct sysdef *d = sysdef(nr);

	return d ? d->name : NULL;
}

/*
 * Audit events and the kinds of syscall they account for. The prefix form
 * ("os.exec") covers its variants; names are CPython's audit events table.
 */
static const struct {
	const char *event;
	unsigned kinds;
} explains[] = {
	{ "open", K_OPEN },
	{ "import", K_OPEN },		  /* the loader opening an extension module */
	{ "ctypes.dlopen", K_OPEN },
	{ "os.listdir", K_OPEN },
	{ "os.scandir", K_OPEN },
	{ "os.walk", K_OPEN },
	{ "os.fwalk", K_OPEN },
	{ "glob.glob", K_OPEN },
	{ "glob.glob/2", K_OPEN },
	{ "pathlib.Path.glob", K_OPEN },
	{ "pathlib.Path.rglob", K_OPEN },
	{ "tempfile.mkstemp", K_OPEN },
	{ "tempfile.mkdtemp", K_MKDIR },
	{ "shutil.copyfile", K_OPEN },
	{ "shutil.copytree", K_OPEN | K_MKDIR },
	{ "shutil.move", K_RENAME | K_OPEN | K_UNLINK | K_MKDIR | K_RMDIR },
	{ "shutil.rmtree", K_UNLINK | K_RMDIR | K_OPEN },
	{ "shutil.unpack_archive", K_OPEN | K_MKDIR },
	{ "shutil.make_archive", K_OPEN | K_CHDIR },
	{ "shutil.copymode", K_CHMOD },
	{ "shutil.copystat", K_CHMOD },
	{ "shutil.chown", K_CHOWN },
	{ "os.chmod", K_CHMOD },
	{ "os.chown", K_CHOWN },
	{ "os.remove", K_UNLINK },
	{ "os.rename", K_RENAME },
	{ "os.mkdir", K_MKDIR },
	{ "os.rmdir", K_RMDIR },
	{ "os.truncate", K_TRUNCATE | K_OPEN },
	{ "os.symlink", K_SYMLINK },
	{ "os.link", K_LINK },
	{ "os.chdir", K_CHDIR },
	{ "os.kill", K_KILL },
	{ "os.killpg", K_KILL },
	{ "signal.pthread_kill", K_KILL },
	{ "socket.__new__", K_SOCKET },
	{ "socket.connect", K_CONNECT },
	{ "socket.bind", K_BIND },
	{ "socket.sendto", K_SEND },
	{ "socket.sendmsg", K_SEND },
	/* Name resolution opens its files and asks its servers itself. */
	{ "socket.getaddrinfo", K_OPEN | K_SOCKET | K_CONNECT | K_SEND },
	{ "socket.gethostbyname", K_OPEN | K_SOCKET | K_CONNECT | K_SEND },
	{ "socket.gethostbyaddr", K_OPEN | K_SOCKET | K_CONNECT | K_SEND },
	{ "socket.getnameinfo", K_OPEN | K_SOCKET | K_CONNECT | K_SEND },
	{ "subprocess.Popen", K_SPAWN | K_EXEC },
	{ "os.system", K_SPAWN | K_EXEC },
	{ "os.posix_spawn", K_SPAWN | K_EXEC },
	{ "os.spawn", K_SPAWN | K_EXEC },
	{ "os.exec", K_EXEC },
	{ "os.fork", K_SPAWN },
	{ "os.forkpty", K_SPAWN | K_OPEN },
	{ "pty.spawn", K_SPAWN | K_EXEC | K_OPEN },
	{ "_thread.start_new_thread", K_SPAWN },
};

bool st_sys_explains(const char *event, unsigned nr)
{
	const struct sysdef *d = sysdef(nr);

	if (!d || !event)
		return false;
	for (size_t i = 0; i < sizeof(explains) / sizeof(explains[0]); i++)
		if (!strcmp(event, explains[i].event))
			return (explains[i].kinds & d->kind) != 0;
	return false;
}

void st_syscalls_bits(__u64 bits[8])
{
	memset(bits, 0, 8 * sizeof(bits[0]));
	for (size_t i = 0; i < sizeof(sysdefs) / sizeof(sysdefs[0]); i++)
		bits[sysdefs[i].nr / 64] |= 1ULL << (sysdefs[i].nr % 64);
}

int st_sys_decode(const void *data, size_t size, struct st_sys_view *v)
{
	const struct st_syscall *r = data;
	size_t need;

	memset(v, 0, sizeof(*v));
	if (size < sizeof(*r) || r->type != ST_REC_SYSCALL || r->size != size)
		return -EINVAL;
	if (r->str_len[0] > ST_SYS_STR_MAX || r->str_len[1] > ST_SYS_STR_MAX)
		return -EINVAL;
	need = sizeof(*r) + r->str_len[0] + r->str_len[1];
	if (need != size)
		return -EINVAL;
	v->rec = r;
	v->str[0] = r->tail;
	v->str_len[0] = r->str_len[0];
	v->str[1] = r->tail + r->str_len[0];
	v->str_len[1] = r->str_len[1];
	v->name = sysdef(r->nr) ? sysdef(r->nr)->name : NULL;
	memcpy(v->audit_name, r->audit_name, ST_SYS_AUDIT_NAME);
	v->audit_name[ST_SYS_AUDIT_NAME] = 0;
	return 0;
}

enum st_sys_verdict st_sys_verdict(const struct st_sys_view *v)
{
	if (v->rec->flags & ST_SF_NO_AUDIT)
		return ST_SYS_STARTUP;
	return st_sys_explains(v->audit_name, v->rec->nr) ? ST_SYS_AUDITED : ST_SYS_UNAUDITED;
}

static void put_cstr(struct strbuf *sb, const uint8_t *s, size_t n, bool trunc)
{
	strbuf_addch(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)c);
		} else if (c < 0x20 || c >= 0x7f) {
			/* strace shows non-printable bytes in octal-free hex */
			strbuf_addf(sb, "\\x%02x", c);
		} else {
			strbuf_addch(sb, (char)c);
		}
	}
	strbuf_addch(sb, '"');
	if (trunc)
		strbuf_addstr(sb, "...");
}

static void put_oflags(struct strbuf *sb, uint64_t f)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{ O_CREAT, "O_CREAT" },	    { O_EXCL, "O_EXCL" },	  { O_NOCTTY, "O_NOCTTY" },
		{ O_TRUNC, "O_TRUNC" },	    { O_APPEND, "O_APPEND" },	  { O_NONBLOCK, "O_NONBLOCK" },
		{ O_DSYNC, "O_DSYNC" },	    { O_DIRECT, "O_DIRECT" },	  { O_LARGEFILE, "O_LARGEFILE" },
		{ O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
		{ O_CLOEXEC, "O_CLOEXEC" },   { O_PATH, "O_PATH" },	  { __O_TMPFILE, "O_TMPFILE" },
	};
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };

	strbuf_addstr(sb, acc[f & O_ACCMODE]);
	f &= ~(uint64_t)O_ACCMODE;
	/* O_TMPFILE includes O_DIRECTORY: name it once. */
	if ((f & __O_TMPFILE) == __O_TMPFILE)
		f &= ~(uint64_t)O_DIRECTORY;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit) {
			strbuf_addch(sb, '|');
			strbuf_addstr(sb, names[i].name);
			f &= ~names[i].bit;
		}
	if (f)
		strbuf_addf(sb, "|%#llx", (unsigned long long)f);
}

/* A socket address as Python would write it: ('127.0.0.1', 80), or the path of a unix socket. */
static void put_sockaddr(struct strbuf *sb, const uint8_t *a, size_t n)
{
	uint16_t fam;
	char text[INET6_ADDRSTRLEN];

	if (n < 2) {
		strbuf_addstr(sb, n ? "<short address>" : "NULL");
		return;
	}
	memcpy(&fam, a, 2);
	if (fam == AF_INET && n >= 8) {
		uint16_t port;

		memcpy(&port, a + 2, 2);
		inet_ntop(AF_INET, a + 4, text, sizeof(text));
		strbuf_addf(sb, "('%s', %u)", text, ntohs(port));
	} else if (fam == AF_INET6 && n >= 24) {
		uint16_t port;

		memcpy(&port, a + 2, 2);
		inet_ntop(AF_INET6, a + 8, text, sizeof(text));
		strbuf_addf(sb, "('%s', %u)", text, ntohs(port));
	} else if (fam == AF_UNIX) {
		const uint8_t *p = a + 2;
		size_t len = n - 2;

		/* Abstract names start with a NUL byte; shown with '@' as ss(8) does. */
		if (len && p[0] == 0) {
			strbuf_addch(sb, '@');
			p++;
			len--;
		}
		len = strnlen((const char *)p, len);
		put_cstr(sb, p, len, false);
	} else {
		strbuf_addf(sb, "{family=%u}", fam);
	}
}

static void put_arg(struct strbuf *sb, const struct st_sys_view *v, enum arg a, uint64_t x)
{
	const struct st_syscall *r = v->rec;

	switch (a) {
	case A_INT:
	case A_SIG:
		strbuf_add_i64(sb, (int64_t)x);
		break;
	case A_FD:
		if ((int)x == AT_FDCWD)
			strbuf_addstr(sb, "AT_FDCWD");
		else
			strbuf_add_i64(sb, (int32_t)x);
		break;
	case A_STR0:
	case A_STR1: {
		int i = a == A_STR1;

		if (!x)
			strbuf_addstr(sb, "NULL");
		else
			put_cstr(sb, v->str[i], v->str_len[i],
				 r->flags & (i ? ST_SF_STR1_TRUNC : ST_SF_STR0_TRUNC));
		break;
	}
	case A_OFLAGS:
		put_oflags(sb, x);
		break;
	case A_MODE:
		strbuf_addf(sb, "0%llo", (unsigned long long)x);
		break;
	case A_ADDR:
		if (r->flags & ST_SF_SOCKADDR)
			put_sockaddr(sb, v->str[0], v->str_len[0]);
		else
			strbuf_addf(sb, "%#llx", (unsigned long long)x);
		break;
	case A_HEX:
	case A_PTR:
	default:
		strbuf_addf(sb, "%#llx", (unsigned long long)x);
		break;
	}
}

static void put_result(struct strbuf *sb, int64_t ret)
{
	if (ret < 0 && ret >= -4095) {
		const char *name = strerrorname_np((int)-ret);

		strbuf_addf(sb, " = -1 %s (%s)", name ? name : "E?", strerror((int)-ret));
	} else {
		strbuf_addstr(sb, " = ");
		strbuf_add_i64(sb, ret);
	}
}

int st_sys_format_text(struct strbuf *sb, const struct st_sys_view *v)
{
	const struct sysdef *d = sysdef(v->rec->nr);

	if (!d) {
		strbuf_addf(sb, "syscall_%u(...)", v->rec->nr);
	} else {
		strbuf_addstr(sb, d->name);
		strbuf_addch(sb, '(');
		for (int i = 0; i < 6 && d->args[i] != A_END; i++) {
			/* As strace: open's mode only means something with O_CREAT or O_TMPFILE. */
			if (d->args[i] == A_MODE && i > 0 && d->args[i - 1] == A_OFLAGS &&
			    !(v->rec->args[i - 1] & (O_CREAT | __O_TMPFILE)))
				break;
			if (i)
				strbuf_addstr(sb, ", ");
			put_arg(sb, v, d->args[i], v->rec->args[i]);
		}
		strbuf_addch(sb, ')');
	}
	put_result(sb, v->rec->ret);
	return 0;
}

void st_sys_format_json(struct jsonw *w, const struct st_sys_view *v)
{
	const struct st_syscall *r = v->rec;
	const struct sysdef *d = sysdef(r->nr);
	enum st_sys_verdict verdict = st_sys_verdict(v);
	struct strbuf sb = STRBUF_INIT;

	if (d)
		jsonw_string_field(w, "syscall", d->name);
	else
		jsonw_null_field(w, "syscall");
	jsonw_uint_field(w, "nr", r->nr);
	/* The call as text, then the parts a program would look at. */
	st_sys_format_text(&sb, v);
	jsonw_name(w, "call");
	jsonw_string_len(w, strbuf_str(&sb), sb.len);
	strbuf_release(&sb);
	jsonw_name(w, "args");
	jsonw_start_array(w);
	for (int i = 0; i < 6 && d && d->args[i] != A_END; i++)
		jsonw_uint(w, r->args[i]);
	jsonw_end_array(w);
	for (int i = 0; i < 2; i++) {
		if (!v->str_len[i] || (i == 0 && (r->flags & ST_SF_SOCKADDR)))
			continue;
		jsonw_name(w, i ? "path2" : "path");
		jsonw_string_len(w, (const char *)v->str[i], v->str_len[i]);
	}
	if (r->flags & ST_SF_SOCKADDR) {
		struct strbuf a = STRBUF_INIT;

		put_sockaddr(&a, v->str[0], v->str_len[0]);
		jsonw_name(w, "address");
		jsonw_string_len(w, strbuf_str(&a), a.len);
		strbuf_release(&a);
	}
	jsonw_int_field(w, "ret", r->ret < 0 && r->ret >= -4095 ? -1 : r->ret);
	if (r->ret < 0 && r->ret >= -4095) {
		const char *name = strerrorname_np((int)-r->ret);

		jsonw_string_field(w, "errno", name ? name : "E?");
	}
	jsonw_uint_field(w, "duration_ns", r->dur_ns);
	jsonw_name(w, "audit");
	if (r->audit_ts) {
		jsonw_start_object(w);
		jsonw_string_field(w, "event", v->audit_name);
		jsonw_uint_field(w, "ts_ns", r->audit_ts);
		jsonw_bool_field(w, "inherited", r->flags & ST_SF_INHERITED);
		jsonw_end_object(w);
	} else {
		jsonw_null(w);
	}
	jsonw_bool_field(w, "unaudited", verdict == ST_SYS_UNAUDITED);
	jsonw_bool_field(w, "startup", verdict == ST_SYS_STARTUP);
}
