// SPDX-License-Identifier: MIT
/*
 * Holding execs until the reader has seen the file. The kernel opens every
 * file it runs with __FMODE_EXEC (open_exec()): the program, its ELF
 * interpreter and a script's interpreter alike, so one FAN_OPEN_EXEC_PERM
 * mark per filesystem sees them all, before the new image runs. A file found
 * not to be Python gets an ignore mark, so its later execs cost no round trip
 * (cleared by the kernel when the file is written: it is judged again then).
 *
 * The dynamic loader is the exception: `ld.so [OPTIONS] PROGRAM` maps the
 * program with mmap(), which no exec event announces. So the loader keeps
 * its events, and when it is the file exec'd (not the ELF interpreter of
 * another program), the program is found in the exec's argv, read from the
 * waiting process's memory through /proc/TID/syscall, and judged first.
 */
#include <errno.h>
#include <linux/types.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include "say.h"
#include "exechold.h"

#ifndef FAN_REPORT_TID
#define FAN_REPORT_TID 0x00000100
#endif

#define MAX_FS 512
#define MAX_NS 256
#define MAX_LOADERS 16
#define ARGV_MAX 64
#define ENV_MAX 1024
#define QUEUE_MAX 256
#define HOLD_MAX_MS 1000
#define STOPPED_LOOK_MS 50 /* an exec waiting this long: is the reader stopped? */

struct exec_args;

/*
 * Shared by the reader and the watchdog process (MAP_SHARED, made before the fork), without a
 * lock: a reader stopped holding one would stop the watchdog too. The watchdog fills slots at
 * `tail` and closes their fds once the reader has moved `head` past them; the reader takes
 * them at `head`. A slot is answered once: whoever moves its state from WAITING does.
 */
enum { WAITING, LET_GO, JUDGED };

struct shared {
	__u64 progress_ms; /* when the reader last took an exec or looked for one */
	unsigned head, tail;
	unsigned long late;
	unsigned nloaders;
	struct {
		dev_t dev;
		ino_t ino;
	} loaders[MAX_LOADERS]; /* dynamic loaders: never ignored */
	struct held {
		int fd; /* in the watchdog's fd table: the fanotify answer names it */
		pid_t pid;
		__u64 since_ms;
		int state;
	} q[QUEUE_MAX];
};

struct st_exechold {
	int fan;     /* the fanotify group */
	int minfo;   /* /proc/self/mountinfo, POLLPRI when the mount table changes */
	int ep;	     /* both, for the caller's poll */
	bool by_tid; /* events name the thread that exec'd (FAN_REPORT_TID) */
	st_exechold_fn fn;
	void *ctx;
	dev_t fs[MAX_FS]; /* filesystems marked */
	unsigned nfs;
	unsigned long mnt_ids[MAX_FS]; /* mounts marked one by one (FAN_MARK_MOUNT) */
	unsigned nmnt;
	unsigned long ns[MAX_NS]; /* mount namespaces whose filesystems are marked */
	unsigned nns;
	unsigned long execs;
	/*
	 * A watchdog process reads the events and answers any the reader has not answered
	 * within HOLD_MAX_MS (the reader busy elsewhere: waiting for a command's first stop,
	 * writing to a full pipe whose consumer waits for an exec, or stopped: a process of its
	 * own, it is not stopped with the reader): an exec may be held, never hung on seatrace.
	 */
	struct shared *sh;
	pid_t wpid;	      /* the watchdog */
	int pidfd;	      /* the watchdog's: readable when it ends */
	int wake;	      /* eventfd: events queued for the reader */
	struct exec_args *tx; /* the watchdog's */
};

/* Filesystems nothing is exec'd from; FUSE: its daemon may exec while we read its file. */
static bool skip_fstype(const char *t)
{
	static const char *const skip[] = { "proc",	 "sysfs",    "cgroup",	   "cgroup2",
					    "devpts",	 "mqueue",   "bpf",	   "tracefs",
					    "debugfs",	 "securityfs", "pstore",   "configfs",
					    "fusectl",	 "binfmt_misc", "autofs",  "efivarfs",
					    "nsfs",	 "rpc_pipefs", "selinuxfs", "hugetlbfs" };

	if (!strcmp(t, "fuse") || !strcmp(t, "fuseblk") || !strncmp(t, "fuse.", 5))
		return true;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(t, skip[i]))
			return true;
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

static int mark_mount(struct st_exechold *h, const char *root, unsigned long id, dev_t dev,
		      const char *mnt)
{
	char path[PATH_MAX + 64];

	for (unsigned i = 0; i < h->nfs; i++)
		if (h->fs[i] == dev)
			return 0;
	snprintf(path, sizeof(path), "%s%s", root, mnt);
	if (!fanotify_mark(h->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
			   AT_FDCWD, path)) {
		if (h->nfs < MAX_FS)
			h->fs[h->nfs++] = dev;
		return 0;
	}
	/* Some filesystems refuse a filesystem mark: the mount, then (each bind mount apart). */
	if (!root[0]) {
		for (unsigned i = 0; i < h->nmnt; i++)
			if (h->mnt_ids[i] == id)
				return 0;
	}
	if (fanotify_mark(h->fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM, AT_FDCWD,
			  path))
		return -errno;
	if (!root[0] && h->nmnt < MAX_FS)
		h->mnt_ids[h->nmnt++] = id;
	return 0;
}

/* Marks every filesystem in `mountinfo`, its mount points reached under `root` ("": ours). */
static int mark_table(struct st_exechold *h, const char *root, const char *mountinfo)
{
	char line[4 * PATH_MAX];
	int marked = 0, ret = 0;
	FILE *f = fopen(mountinfo, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long id, parent;
		unsigned maj, min;
		char mnt[PATH_MAX], *sep, fstype[64];

		if (sscanf(line, "%lu %lu %u:%u %*s %4095s", &id, &parent, &maj, &min, mnt) != 5)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || skip_fstype(fstype))
			continue;
		unescape(mnt);
		ret = mark_mount(h, root, id, makedev(maj, min), mnt);
		if (!ret)
			marked++;
	}
	fclose(f);
	return marked ? 0 : ret ? ret : -ENOENT;
}

static unsigned long ns_of(const char *pid)
{
	char path[64], link[64];
	unsigned long ino = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/ns/mnt", pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = 0;
	if (sscanf(link, "mnt:[%lu]", &ino) != 1)
		return 0;
	return ino;
}

void st_exechold_add_ns(struct st_exechold *h, pid_t pid)
{
	char p[32], root[64], minfo[64];
	unsigned long ns;

	if (!h)
		return;
	snprintf(p, sizeof(p), "%d", pid);
	ns = ns_of(p);
	if (!ns)
		return;
	for (unsigned i = 0; i < h->nns; i++)
		if (h->ns[i] == ns)
			return;
	if (h->nns < MAX_NS)
		h->ns[h->nns++] = ns;
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	snprintf(minfo, sizeof(minfo), "/proc/%d/mountinfo", pid);
	mark_table(h, root, minfo);
}

static void watchdog(struct st_exechold *h, pid_t reader);
static struct exec_args *exec_args_new(void);

/* Every fd but those in keep[] is closed. */
static void close_others(int *keep, unsigned n)
{
	unsigned from = 0;

	for (unsigned i = 1; i < n; i++) /* in order: stdin may be closed, the group fd 0 */
		for (unsigned j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int k = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = k;
		}
	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < from)
			continue;
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/*
 * The watchdog: forked while nothing else is done in it (seatrace may have threads by then:
 * it takes no lock and allocates nothing), it execs nothing and ends with its reader.
 */
static int start_watchdog(struct st_exechold *h, char *err, size_t errlen)
{
	pid_t reader = getpid();
	pid_t pid = fork();

	int ret;

	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot start the exec hold's watchdog: %s", strerror(-ret));
		return ret;
	}
	if (!pid) {
		/* A terminal's signals are for seatrace; SIGTERM or SIGKILL end it. */
		static const int sigs[] = { SIGTSTP, SIGTTIN, SIGTTOU, SIGINT,
					    SIGHUP,  SIGPIPE, SIGQUIT };
		int keep[3] = { 2, h->fan, h->wake };
		sigset_t none;

		/* Killed with the reader (closing the group then lets every exec go). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != reader)
			_exit(0);
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_NAME, "seatrace-hold");
		close_others(keep, 3);
		watchdog(h, reader);
		_exit(0);
	}
	h->wpid = pid;
	h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (h->pidfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "pidfd_open: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

struct st_exechold *st_exechold_open(st_exechold_fn fn, void *ctx, char *err, size_t errlen)
{
	struct st_exechold *h = calloc(1, sizeof(*h));
	struct epoll_event ev = {};
	int ret;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->fn = fn;
	h->ctx = ctx;
	h->minfo = h->ep = h->wake = h->pidfd = -1;
	h->sh = mmap(NULL, sizeof(*h->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (h->sh == MAP_FAILED) {
		h->sh = NULL;
		ret = -errno;
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		goto fail;
	}
	h->by_tid = true;
	h->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID,
			       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (h->fan < 0 && errno == EINVAL) {
		h->by_tid = false;
		h->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
				       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	}
	if (h->fan < 0) {
		ret = -errno;
		snprintf(err, errlen, "fanotify: %s", strerror(errno));
		goto fail;
	}
	/* The root first: a kernel without permission events says so here (EINVAL). */
	if (fanotify_mark(h->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
			  AT_FDCWD, "/") &&
	    fanotify_mark(h->fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM, AT_FDCWD,
			  "/")) {
		ret = -errno;
		snprintf(err, errlen, "fanotify exec permission events: %s", strerror(errno));
		goto fail;
	}
	h->minfo = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	if (h->minfo < 0 || h->ep < 0) {
		ret = -errno;
		snprintf(err, errlen, "/proc/self/mountinfo: %s", strerror(errno));
		goto fail;
	}
	h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.fd = h->wake;
	epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake, &ev);
	ev.events = EPOLLPRI;
	ev.data.fd = h->minfo;
	epoll_ctl(h->ep, EPOLL_CTL_ADD, h->minfo, &ev);
	h->ns[h->nns++] = ns_of("self");
	h->tx = exec_args_new();
	if (!h->tx) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ret = start_watchdog(h, err, errlen);
	if (ret)
		goto fail;
	ev.events = EPOLLIN;
	ev.data.fd = h->pidfd;
	epoll_ctl(h->ep, EPOLL_CTL_ADD, h->pidfd, &ev);
	mark_table(h, "", "/proc/self/mountinfo");
	/* Stopped from a terminal, seatrace would let new processes go unjudged meanwhile. */
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	return h;
fail:
	st_exechold_free(h);
	errno = -ret;
	return NULL;
}

int st_exechold_fd(const struct st_exechold *h)
{
	return h->ep;
}

void st_exechold_counts(const struct st_exechold *h, unsigned long *execs, unsigned *fs)
{
	*execs = h ? h->execs : 0;
	*fs = h ? h->nfs + h->nmnt : 0;
}

static void stop_watchdog(struct st_exechold *h)
{
	if (h->wpid > 0) {
		kill(h->wpid, SIGKILL);
		waitpid(h->wpid, NULL, 0);
		h->wpid = 0;
	}
	if (h->pidfd >= 0) {
		epoll_ctl(h->ep, EPOLL_CTL_DEL, h->pidfd, NULL);
		close(h->pidfd);
		h->pidfd = -1;
	}
}

void st_exechold_free(struct st_exechold *h)
{
	if (!h)
		return;
	stop_watchdog(h);
	/* Closing the group lets every exec still held go on (the kernel allows them). */
	if (h->fan >= 0)
		close(h->fan);
	if (h->wake >= 0)
		close(h->wake);
	if (h->sh)
		munmap(h->sh, sizeof(*h->sh));
	free(h->tx);
	if (h->minfo >= 0)
		close(h->minfo);
	if (h->ep >= 0)
		close(h->ep);
	free(h);
}

/* ------------------------------------------------------------ the exec's own arguments */

/* What the waiting execve()/execveat() was given, read from the process's memory. */
struct exec_args {
	char filename[PATH_MAX];
	int dirfd;
	bool have; /* filename, dirfd and the pointers were read */
	unsigned long filep, argvp, envp;
	unsigned argc;
	char *argv[ARGV_MAX];
	char strs[ARGV_MAX * 256];
	char ldlp[4096];
	bool have_ldlp;
};

static struct exec_args *exec_args_new(void)
{
	return malloc(sizeof(struct exec_args));
}

/* A NUL-terminated string at addr in pid, page by page (a fault ends it). Its length or -1. */
static ssize_t read_str(pid_t pid, unsigned long addr, char *buf, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		struct iovec l, r;
		ssize_t n;
		char *nul;

		if (chunk > len - 1 - got)
			chunk = len - 1 - got;
		l.iov_base = buf + got;
		l.iov_len = chunk;
		r.iov_base = (void *)(addr + got);
		r.iov_len = chunk;
		n = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (n <= 0)
			return -1;
		nul = memchr(buf + got, 0, (size_t)n);
		if (nul)
			return nul - buf;
		got += (size_t)n;
	}
	buf[got] = 0;
	return -1; /* longer than buf: not used */
}

static int read_ptrs(pid_t pid, unsigned long addr, unsigned long *out, unsigned max)
{
	struct iovec l = { out, max * sizeof(*out) }, r = { (void *)addr, max * sizeof(*out) };
	ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
	unsigned k;

	if (n <= 0)
		return 0;
	/* A read that stopped at a page end holds fewer pointers; the array ends at a NULL. */
	for (k = 0; k < (unsigned)n / sizeof(*out); k++)
		if (!out[k])
			return (int)k;
	return (int)k;
}

/* The waiting execve()/execveat()'s filename, and where its argv and envp are. */
static void read_exec(pid_t pid, struct exec_args *x)
{
	char path[64], line[512];
	unsigned long a[6];
	long nr;
	ssize_t n;
	int fd;

	x->have = false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return;
	line[n] = 0;
	if (sscanf(line, "%ld %lx %lx %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4],
		   &a[5]) != 7)
		return;
	if (nr == 59) { /* execve(filename, argv, envp) */
		x->dirfd = AT_FDCWD;
		x->filep = a[0];
		x->argvp = a[1];
		x->envp = a[2];
	} else if (nr == 322) { /* execveat(dirfd, filename, argv, envp, flags) */
		x->dirfd = (int)a[0];
		x->filep = a[1];
		x->argvp = a[2];
		x->envp = a[3];
	} else {
		return;
	}
	if (read_str(pid, x->filep, x->filename, sizeof(x->filename)) < 0)
		return;
	x->have = true;
}

/* The exec's arguments, as many as fit. */
static void read_argv(pid_t pid, struct exec_args *x)
{
	unsigned long av[ARGV_MAX];
	int na = read_ptrs(pid, x->argvp, av, ARGV_MAX);
	size_t used = 0;

	x->argc = 0;
	for (int i = 0; i < na; i++) {
		ssize_t l = read_str(pid, av[i], x->strs + used, sizeof(x->strs) - used);

		if (l < 0)
			break;
		x->argv[x->argc++] = x->strs + used;
		used += (size_t)l + 1;
	}
}

/* LD_LIBRARY_PATH from the exec's environment: every entry's head in one read. */
static void read_ldlp(pid_t pid, struct exec_args *x)
{
	static unsigned long env[ENV_MAX];
	static struct iovec l[ENV_MAX], r[ENV_MAX];
	static char heads[ENV_MAX][16];
	int ne = read_ptrs(pid, x->envp, env, ENV_MAX);
	ssize_t n;

	x->have_ldlp = false;
	for (int i = 0; i < ne; i++) {
		l[i] = (struct iovec){ heads[i], 16 };
		r[i] = (struct iovec){ (void *)env[i], 16 };
	}
	/* A head cut by a fault ends the read there: what was read is used. */
	n = ne ? process_vm_readv(pid, l, (unsigned long)ne, r, (unsigned long)ne, 0) : 0;
	for (int i = 0; i < ne && (i + 1) * 16 <= n; i++) {
		if (memcmp(heads[i], "LD_LIBRARY_PATH=", 16))
			continue;
		if (read_str(pid, env[i], x->ldlp, sizeof(x->ldlp)) > 0) {
			memmove(x->ldlp, x->ldlp + 16, strlen(x->ldlp + 16) + 1);
			x->have_ldlp = true;
		}
		break;
	}
}

/* A path as process pid sees it, relative to directory fd `dirfd` (AT_FDCWD: its cwd). */
static void their_path(pid_t pid, int dirfd, const char *p, char *out, size_t len)
{
	if (p[0] == '/')
		snprintf(out, len, "/proc/%d/root%s", pid, p);
	else if (dirfd == AT_FDCWD)
		snprintf(out, len, "/proc/%d/cwd/%s", pid, p);
	else if (!p[0])
		snprintf(out, len, "/proc/%d/fd/%d", pid, dirfd);
	else
		snprintf(out, len, "/proc/%d/fd/%d/%s", pid, dirfd, p);
}

/* ------------------------------------------------------------ the dynamic loader */

/*
 * A dynamic loader: a shared object with an entry point and no interpreter of its own,
 * named as one (a static-pie program has the first three too).
 */
static bool is_loader(int fd, const char *name)
{
	const char *base = strrchr(name, '/');
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	base = base ? base + 1 : name;
	if (strncmp(base, "ld-", 3) && strncmp(base, "ld.so", 5) && strncmp(base, "ld64", 4))
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_DYN || !eh.e_entry ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum > 64)
		return false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			return false;
		if (ph.p_type == PT_INTERP)
			return false;
	}
	return true;
}

static bool known_loader(const struct st_exechold *h, const struct stat *st)
{
	unsigned n = __atomic_load_n(&h->sh->nloaders, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n && i < MAX_LOADERS; i++)
		if (h->sh->loaders[i].dev == st->st_dev && h->sh->loaders[i].ino == st->st_ino)
			return true;
	return false;
}

/* glibc ld.so's options that take a value (`ld.so --help`). */
static bool takes_value(const char *opt)
{
	static const char *const with[] = { "--library-path", "--inhibit-rpath", "--audit",
					    "--preload", "--argv0", "--glibc-hwcaps-prepend",
					    "--glibc-hwcaps-mask" };

	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		if (!strcmp(opt, with[i]))
			return true;
	return false;
}

/*
 * The loader itself was exec'd: the program it will map is the first argument after its
 * options. It is judged (and attached) now, before the loader runs.
 */
static void loader_run(struct st_exechold *h, pid_t pid, const struct stat *ld,
		       struct exec_args *x, bool late)
{
	char path[PATH_MAX + 64];
	const char *libpath = NULL, *prog = NULL;
	struct stat st;
	unsigned i;

	if (!x->have)
		return;
	their_path(pid, x->dirfd, x->filename, path, sizeof(path));
	/* The interpreter of another program: that program was judged at its own event. */
	if (stat(path, &st) || st.st_dev != ld->st_dev || st.st_ino != ld->st_ino)
		return;
	read_argv(pid, x);
	read_ldlp(pid, x);
	for (i = 1; i < x->argc; i++) {
		const char *a = x->argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (strncmp(a, "--", 2))
			break;
		if (takes_value(a) && i + 1 < x->argc) {
			if (!strcmp(a, "--library-path"))
				libpath = x->argv[i + 1];
			i++;
		}
	}
	if (i >= x->argc)
		return; /* --list, --help, or nothing to run */
	prog = x->argv[i];
	if (strchr(prog, '/')) {
		their_path(pid, AT_FDCWD, prog, path, sizeof(path));
	} else {
		/* Without a slash ld.so looks the program up as a library: --library-path first. */
		const char *dirs = libpath ? libpath : x->have_ldlp ? x->ldlp : "";
		bool found = false;

		while (*dirs && !found) {
			size_t len = strcspn(dirs, ":");
			char rel[PATH_MAX];

			snprintf(rel, sizeof(rel), "%.*s/%s", (int)len, len ? dirs : ".", prog);
			their_path(pid, AT_FDCWD, rel, path, sizeof(path));
			found = !access(path, R_OK);
			dirs += len + (dirs[len] == ':');
		}
		if (!found)
			their_path(pid, AT_FDCWD, prog, path, sizeof(path));
	}
	h->fn(path, prog, pid, libpath ? libpath : x->have_ldlp ? x->ldlp : NULL, late, h->ctx);
}

/* ------------------------------------------------------------ events */

static void on_exec(struct st_exechold *h, int fd, pid_t pid, bool late)
{
	char path[64], name[PATH_MAX];
	struct exec_args *x;
	struct stat st;
	ssize_t n;
	int ret;

	h->execs++;
	if (fstat(fd, &st))
		return;
	x = malloc(sizeof(*x));
	if (!x)
		return;
	x->have = x->have_ldlp = false;
	x->argc = 0;
	if (known_loader(h, &st)) {
		read_exec(pid, x);
		loader_run(h, pid, &st, x, late);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, name, sizeof(name) - 1);
	if (n <= 0)
		n = snprintf(name, sizeof(name), "?");
	name[n] = 0;
	read_exec(pid, x);
	if (x->have)
		read_ldlp(pid, x);
	ret = h->fn(path, name, pid, x->have && x->have_ldlp ? x->ldlp : NULL, late, h->ctx);
	if (ret != 0)
		goto out; /* a Python: asked each time (it may be released); an error: again */
	if (is_loader(fd, name)) {
		unsigned n = h->sh->nloaders; /* the watchdog reads them: the entry first */

		if (n < MAX_LOADERS) {
			h->sh->loaders[n].dev = st.st_dev;
			h->sh->loaders[n].ino = st.st_ino;
			__atomic_store_n(&h->sh->nloaders, n + 1, __ATOMIC_RELEASE);
		}
		loader_run(h, pid, &st, x, late);
		goto out;
	}
	/* Not Python: its next execs go by without a round trip, until it is written to. */
	fanotify_mark(h->fan, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, fd, NULL);
out:
	free(x);
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* fd: the number the watchdog read the event with; the kernel finds the exec by it. */
static void allow(struct st_exechold *h, int fd)
{
	struct fanotify_response resp = { .fd = fd, .response = FAN_ALLOW };
	char msg[128];
	int n;

	if (write(h->fan, &resp, sizeof(resp)) == sizeof(resp) || errno == ENOENT)
		return;
	/* No stdio: the watchdog, forked from threads, takes no lock. */
	n = snprintf(msg, sizeof(msg), "seatrace: cannot answer an exec: %s\n", strerror(errno));
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		return;
}

/* Moves slot e from WAITING to `to`: true when this caller is the one to answer it. */
static bool take_answer(struct held *e, int to)
{
	int waiting = WAITING;

	return __atomic_compare_exchange_n(&e->state, &waiting, to, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/*
 * The loader opened as the ELF interpreter of a program (judged at its own event), not
 * exec'd itself: every dynamic exec raises this one, so the watchdog answers it at once,
 * without a round trip through the reader. The watchdog's.
 */
static bool loader_as_interp(struct st_exechold *h, int fd, pid_t pid)
{
	char path[PATH_MAX + 64];
	struct stat ld, st;

	if (fstat(fd, &ld) || !known_loader(h, &ld))
		return false;
	read_exec(pid, h->tx);
	if (!h->tx->have)
		return false;
	their_path(pid, h->tx->dirfd, h->tx->filename, path, sizeof(path));
	return !stat(path, &st) && (st.st_dev != ld.st_dev || st.st_ino != ld.st_ino);
}

/*
 * Reads events into the queue for the reader; answers those it left waiting too long. A
 * stopped reader is not waited for at all: while it is stopped, every exec is let go at
 * once (each would otherwise wait a second, one after the other), and queued all the same:
 * the reader judges them when it continues, late.
 */
static void watchdog(struct st_exechold *h, pid_t reader)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct pollfd pf = { .fd = h->fan, .events = POLLIN };
	struct shared *sh = h->sh;
	unsigned freed = 0; /* slots before it are closed */
	bool frozen = false; /* the reader was stopped when last looked at */

	for (;;) {
		unsigned head, tail = sh->tail;
		bool queued = false;
		ssize_t len;
		__u64 now, progress;

		if (poll(&pf, 1, frozen ? STOPPED_LOOK_MS : HOLD_MAX_MS / 4) < 0 && errno != EINTR)
			break;
		if (getppid() != reader)
			break;
		head = __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE);
		for (; freed != head; freed++)
			close(sh->q[freed % QUEUE_MAX].fd);
		now = now_ms();
		progress = __atomic_load_n(&sh->progress_ms, __ATOMIC_ACQUIRE);
		if (frozen)
			frozen = st_proc_stopped(reader);
		/* Full: read on all the same, and let those go unjudged (exec notices find them). */
		while ((len = read(h->fan, buf, sizeof(buf))) > 0) {
			struct fanotify_event_metadata *md = (void *)buf;

			for (; FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
				struct held *e;

				if (md->fd < 0)
					continue; /* a queue overflow: nothing waits for an answer */
				if (md->vers != FANOTIFY_METADATA_VERSION ||
				    !(md->mask & FAN_OPEN_EXEC_PERM) || tail - freed >= QUEUE_MAX ||
				    loader_as_interp(h, md->fd, md->pid)) {
					allow(h, md->fd);
					close(md->fd);
					continue;
				}
				e = &sh->q[tail % QUEUE_MAX];
				*e = (struct held){ md->fd, md->pid, now, WAITING };
				if (frozen) {
					e->state = LET_GO;
					allow(h, md->fd);
					sh->late++;
				}
				__atomic_store_n(&sh->tail, ++tail, __ATOMIC_RELEASE);
				queued = true;
			}
		}
		/* A reader working through a long queue is busy, not stuck: it is left alone. */
		head = __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE);
		if (!frozen && head != tail &&
		    now - sh->q[head % QUEUE_MAX].since_ms >= STOPPED_LOOK_MS)
			frozen = st_proc_stopped(reader);
		for (unsigned i = head; i != tail; i++) {
			struct held *e = &sh->q[i % QUEUE_MAX];
			bool due = frozen || (now - progress >= HOLD_MAX_MS &&
					      now - e->since_ms >= HOLD_MAX_MS);

			if (due && take_answer(e, LET_GO)) {
				allow(h, e->fd);
				sh->late++;
			}
		}
		if (queued) {
			__u64 one = 1;

			if (write(h->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
				break;
		}
	}
}

/*
 * The watchdog ended (killed by hand, say): the group is closed, which lets every exec it
 * held go on, and new processes are found at their exec notice as without fanotify.
 */
static void watchdog_gone(struct st_exechold *h)
{
	fprintf(stderr,
		"seatrace: the exec hold's watchdog (PID %d) ended: new processes are no longer "
		"held at exec; an interpreter not seen before may miss its first events (reported "
		"as coverage records)\n",
		h->wpid);
	stop_watchdog(h);
	close(h->fan);
	h->fan = -1;
	h->sh->head = h->sh->tail;
}

/* The event's file, from the watchdog's fd table: the same open file, not a new open. */
static int their_fd(struct st_exechold *h, int fd)
{
	char path[64];
	int got = (int)syscall(SYS_pidfd_getfd, h->pidfd, fd, 0);

	if (got >= 0)
		return got;
	/* An older kernel, or a ptrace policy refusing it: the magic link opens it anew. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", h->wpid, fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

void st_exechold_handle(struct st_exechold *h)
{
	struct epoll_event evs[3];
	struct shared *sh;
	__u64 n;
	int nev;

	if (!h || h->fan < 0)
		return;
	sh = h->sh;
	/* Level-triggered: polling the mount table again clears its readiness. */
	nev = epoll_wait(h->ep, evs, 3, 0);
	for (int i = 0; i < nev; i++) {
		if (evs[i].data.fd == h->minfo && (evs[i].events & EPOLLPRI))
			mark_table(h, "", "/proc/self/mountinfo");
		if (evs[i].data.fd == h->pidfd && h->pidfd >= 0) {
			watchdog_gone(h);
			return;
		}
	}
	if (read(h->wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	__atomic_store_n(&sh->progress_ms, now_ms(), __ATOMIC_RELEASE);
	/* The reader takes from the head; the watchdog only appends and answers. */
	while (sh->head != __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE)) {
		struct held *e = &sh->q[sh->head % QUEUE_MAX];
		int fd = their_fd(h, e->fd);

		if (fd >= 0) {
			bool late = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != WAITING;

			on_exec(h, fd, e->pid, late);
			close(fd);
		}
		/* Always allowed, whatever was found: seatrace never denies an exec. */
		if (take_answer(e, JUDGED))
			allow(h, e->fd);
		__atomic_store_n(&sh->head, sh->head + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&sh->progress_ms, now_ms(), __ATOMIC_RELEASE);
	}
}
