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
#include <pthread.h>
#include <signal.h>
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

struct exec_args;

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
	struct {
		dev_t dev;
		ino_t ino;
	} loaders[MAX_LOADERS]; /* dynamic loaders: never ignored */
	unsigned nloaders;
	unsigned long execs, late;
	/*
	 * A watchdog thread reads the events and answers any the reader has not answered
	 * within HOLD_MAX_MS (the reader busy elsewhere: waiting for a command's first stop,
	 * or writing to a full pipe whose consumer waits for an exec): an exec may be held,
	 * never hung on seatrace.
	 */
	pthread_t thread;
	bool thread_on;
	int wake; /* eventfd: events queued for the reader */
	int quit; /* eventfd: the thread ends */
	pthread_mutex_t lock;
	struct exec_args *tx; /* the thread's */
	__u64 progress_ms; /* when the reader last took an exec or looked for one */
	struct held {
		int fd;
		pid_t pid;
		__u64 since_ms;
		bool answered;
	} q[QUEUE_MAX];
	unsigned nq;
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

static void *watchdog(void *arg);
static struct exec_args *exec_args_new(void);

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
	h->minfo = h->ep = h->wake = h->quit = -1;
	pthread_mutex_init(&h->lock, NULL);
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
	h->quit = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake < 0 || h->quit < 0) {
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
	ret = -pthread_create(&h->thread, NULL, watchdog, h);
	if (ret) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(-ret));
		goto fail;
	}
	h->thread_on = true;
	mark_table(h, "", "/proc/self/mountinfo");
	/* Stopped from a terminal, seatrace would hold every exec on the host: not that way. */
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

void st_exechold_free(struct st_exechold *h)
{
	__u64 one = 1;

	if (!h)
		return;
	if (h->thread_on) {
		if (write(h->quit, &one, sizeof(one)) == sizeof(one))
			pthread_join(h->thread, NULL);
		else
			pthread_detach(h->thread);
	}
	/* Closing the group lets every exec still held go on (the kernel allows them). */
	for (unsigned i = 0; i < h->nq; i++)
		close(h->q[i].fd);
	if (h->fan >= 0)
		close(h->fan);
	if (h->wake >= 0)
		close(h->wake);
	if (h->quit >= 0)
		close(h->quit);
	pthread_mutex_destroy(&h->lock);
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
	for (unsigned i = 0; i < h->nloaders; i++)
		if (h->loaders[i].dev == st->st_dev && h->loaders[i].ino == st->st_ino)
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
		pthread_mutex_lock(&h->lock); /* the thread reads them */
		if (h->nloaders < MAX_LOADERS) {
			h->loaders[h->nloaders].dev = st.st_dev;
			h->loaders[h->nloaders].ino = st.st_ino;
			h->nloaders++;
		}
		pthread_mutex_unlock(&h->lock);
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

static void allow(struct st_exechold *h, int fd)
{
	struct fanotify_response resp = { .fd = fd, .response = FAN_ALLOW };

	if (write(h->fan, &resp, sizeof(resp)) != sizeof(resp) && errno != ENOENT)
		fprintf(stderr, "seatrace: cannot answer an exec: %s\n", strerror(errno));
}

/*
 * The loader opened as the ELF interpreter of a program (judged at its own event), not
 * exec'd itself: every dynamic exec raises this one, so the thread answers it at once,
 * without a round trip through the reader. Called with the lock held.
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

/* Reads events into the queue for the reader; answers those it left waiting too long. */
static void *watchdog(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct st_exechold *h = arg;
	struct pollfd pf[2] = { { .fd = h->fan, .events = POLLIN },
				{ .fd = h->quit, .events = POLLIN } };
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the reader's */
	for (;;) {
		bool queued = false;
		ssize_t len;
		__u64 now;

		if (poll(pf, 2, HOLD_MAX_MS / 4) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		now = now_ms();
		pthread_mutex_lock(&h->lock);
		/* Full: read on all the same, and let those go unjudged (exec notices find them). */
		while ((len = read(h->fan, buf, sizeof(buf))) > 0) {
			struct fanotify_event_metadata *md = (void *)buf;

			for (; FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
				if (md->fd < 0)
					continue; /* a queue overflow: nothing waits for an answer */
				if (md->vers != FANOTIFY_METADATA_VERSION ||
				    !(md->mask & FAN_OPEN_EXEC_PERM) || h->nq >= QUEUE_MAX) {
					allow(h, md->fd);
					close(md->fd);
					continue;
				}
				if (loader_as_interp(h, md->fd, md->pid)) {
					allow(h, md->fd);
					close(md->fd);
					continue;
				}
				h->q[h->nq++] = (struct held){ md->fd, md->pid, now, false };
				queued = true;
			}
		}
		/* A reader working through a long queue is busy, not stuck: it is left alone. */
		for (unsigned i = 0; i < h->nq && now - h->progress_ms >= HOLD_MAX_MS; i++)
			if (!h->q[i].answered && now - h->q[i].since_ms >= HOLD_MAX_MS) {
				allow(h, h->q[i].fd);
				h->q[i].answered = true;
				h->late++;
			}
		pthread_mutex_unlock(&h->lock);
		if (queued) {
			__u64 one = 1;

			if (write(h->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
				break;
		}
	}
	return NULL;
}

void st_exechold_handle(struct st_exechold *h)
{
	struct epoll_event evs[2];
	__u64 n;
	int nev;

	if (!h)
		return;
	/* Level-triggered: polling the mount table again clears its readiness. */
	nev = epoll_wait(h->ep, evs, 2, 0);
	for (int i = 0; i < nev; i++)
		if (evs[i].data.fd == h->minfo && (evs[i].events & EPOLLPRI))
			mark_table(h, "", "/proc/self/mountinfo");
	if (read(h->wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&h->lock);
	h->progress_ms = now_ms();
	pthread_mutex_unlock(&h->lock);
	/* The reader takes from the head; the thread only appends and answers. */
	for (;;) {
		struct held e;

		pthread_mutex_lock(&h->lock);
		if (!h->nq) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		e = h->q[0];
		pthread_mutex_unlock(&h->lock);
		on_exec(h, e.fd, e.pid, e.answered);
		pthread_mutex_lock(&h->lock);
		/* Always allowed, whatever was found: seatrace never denies an exec. */
		if (!h->q[0].answered)
			allow(h, e.fd);
		close(e.fd);
		memmove(&h->q[0], &h->q[1], (h->nq - 1) * sizeof(h->q[0]));
		h->nq--;
		h->progress_ms = now_ms();
		pthread_mutex_unlock(&h->lock);
	}
}
