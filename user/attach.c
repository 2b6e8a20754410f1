// SPDX-License-Identifier: MIT
/*
 * Attach: plans become uprobe links. Layout slots are per file (device,
 * inode), so processes of one interpreter build share one slot; each link
 * remembers its slot, so a file's links can be released together, which
 * happens when no process maps the file any more (st_attach_reap()).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "attach.h"
#include "ronames.h"
#include "say.h"
#include "seatrace.skel.h"

/* The kernel's PF_EXITING task flag, in /proc/PID/stat's ninth field. */
#define PF_EXITING_FLAG 0x4

static void *closer_main(void *arg)
{
	struct st_attach *a = arg;
	struct st_closer *c = &a->closer;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->n && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->n)
			break;
		c->n--;
		struct bpf_link *link = c->q[c->n].link;
		int slot = c->q[c->n].slot;

		pthread_mutex_unlock(&c->mu);
		bpf_link__destroy(link);
		/* The slot may take another file once all its links are gone (get_slot()). */
		__atomic_sub_fetch(&a->slots[slot].draining, 1, __ATOMIC_RELEASE);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int st_attach_init(struct st_attach *a, unsigned max_files, unsigned max_links)
{
	sigset_t all, old;

	a->max_files = max_files;
	a->max_links = max_links;
	a->slots = calloc(max_files, sizeof(*a->slots));
	if (!a->slots)
		return -ENOMEM;
	pthread_mutex_init(&a->closer.mu, NULL);
	pthread_cond_init(&a->closer.cv, NULL);
	/*
	 * Signals are the main thread's (its signalfd): the closers block them all, or a
	 * Ctrl-C delivered to one would kill the process undrained. Without the threads,
	 * links are destroyed in place (slower, as correct).
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (a->closer.nthreads < ST_CLOSERS &&
	       !pthread_create(&a->closer.thread[a->closer.nthreads], NULL, closer_main, a))
		a->closer.nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	a->closer.started = a->closer.nthreads > 0;
	return 0;
}

/* Hands a released link to the closer thread, or destroys it now. */
static void destroy_later(struct st_attach *a, struct bpf_link *link, int slot)
{
	struct st_closer *c = &a->closer;

	if (c->started) {
		pthread_mutex_lock(&c->mu);
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 16;
			void *more = realloc(c->q, cap * sizeof(c->q[0]));

			if (more) {
				c->q = more;
				c->cap = cap;
			}
		}
		if (c->n < c->cap) {
			__atomic_add_fetch(&a->slots[slot].draining, 1, __ATOMIC_RELAXED);
			c->q[c->n].link = link;
			c->q[c->n].slot = slot;
			c->n++;
			pthread_cond_signal(&c->cv);
			pthread_mutex_unlock(&c->mu);
			return;
		}
		pthread_mutex_unlock(&c->mu);
	}
	bpf_link__destroy(link);
}

/* Waits for the closer to destroy what it was given, and ends it. */
static void closer_stop(struct st_attach *a)
{
	struct st_closer *c = &a->closer;

	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < c->nthreads; i++)
		pthread_join(c->thread[i], NULL);
	c->started = false;
	free(c->q);
	c->q = NULL;
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
}

struct ronames_ctx {
	int fd;
	__u32 slot;
};

static int put_roname(void *arg, uint64_t vaddr, const char *name, size_t len)
{
	const struct ronames_ctx *c = arg;
	__u64 key = (__u64)(c->slot + 1) << 48 | vaddr;
	struct st_ro_name v = { .len = (__u32)len };

	if (vaddr >> 48)
		return 0;
	memcpy(v.name, name, len);
	return bpf_map_update_elem(c->fd, &key, &v, BPF_ANY) ? -errno : 0;
}

/* Every key of a slot's names out of the kernel's table. */
static void drop_ronames(struct st_attach *a, __u32 slot)
{
	int fd = bpf_map__fd(a->skel->maps.ro_names);
	__u64 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		if ((key >> 48) == (__u64)slot + 1 && !bpf_map_delete_elem(fd, &key)) {
			prev = NULL; /* deleted: start over, the walk's place is gone */
			continue;
		}
		prev = &key;
	}
}

/*
 * The kernel's table of the file's known event names (bpf/record.bpf.h, ro_names), for a
 * process that cannot be read them from: a forked child that never touched their pages. A
 * file it cannot be made for is traced all the same, with a warning: such events then go
 * nameless, counted as unreadable names.
 */
static void fill_ronames(struct st_attach *a, __u32 slot, const struct st_plan *plan)
{
	struct ronames_ctx c = { .fd = bpf_map__fd(a->skel->maps.ro_names), .slot = slot };
	int n;

	drop_ronames(a, slot);
	if (!plan->layout.ro_hi)
		return;
	n = st_ronames_find(plan->py.path, plan->layout.ro_lo, plan->layout.ro_hi,
			    ST_RO_NAME_MAX, put_roname, &c);
	if (n < 0)
		st_say("warning: %s: %s; an event a forked child raises before it touches its "
		       "name's page may have no name",
		       plan->py.file[0] ? plan->py.file : plan->py.path,
		       n == -E2BIG ? "the kernel's table of event names is full (raise --max-files)"
				   : "cannot list its event names");
}

/* The file's slot, its layout stored on first use. The index, or a negative errno. */
static int get_slot(struct st_attach *a, const struct st_plan *plan, char *err, size_t errlen)
{
	int free_slot = -1;
	__u32 key;

	for (unsigned i = 0; i < a->max_files; i++) {
		if (a->slots[i].used && a->slots[i].dev == plan->py.dev &&
		    a->slots[i].ino == plan->py.ino)
			return (int)i;
		/* A slot whose old links are still being destroyed may be hit with the old cookie. */
		if (!a->slots[i].used && free_slot < 0 &&
		    !__atomic_load_n(&a->slots[i].draining, __ATOMIC_ACQUIRE))
			free_slot = (int)i;
	}
	if (free_slot < 0) {
		snprintf(err, errlen,
			 "%s is not traced: %u interpreter files are attached already, the most "
			 "at once (raise --max-files)",
			 plan->py.file[0] ? plan->py.file : plan->py.path, a->max_files);
		return -E2BIG;
	}
	key = (__u32)free_slot;
	if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.layouts), &key, &plan->layout,
				BPF_ANY)) {
		int ret = -errno;

		snprintf(err, errlen, "cannot store the interpreter layout: %s", strerror(errno));
		return ret;
	}
	/*
	 * A slot another file may have held: what the kernel remembers by (slot, address), the
	 * name cache's verdicts and -c's counting slots (a filter generation 2 on: the same set in
	 * use), and -c's task and site (bpf/probe.bpf.c), must not be taken for this file's.
	 */
	__atomic_fetch_add(&a->skel->bss->cfg_filter_gen, 2, __ATOMIC_RELEASE);
	__atomic_fetch_add(&a->skel->bss->cfg_task_gen, 1, __ATOMIC_RELEASE);
	a->slots[key].named = false;
	a->slots[key].check = false;
	a->slots[key].nprocs = 0;
	a->slots[key].dev = plan->py.dev;
	a->slots[key].ino = plan->py.ino;
	a->slots[key].used = true;
	return (int)key;
}

/* The layout entry of a slot no longer used: the probe finds it invalid (ST_LF_VALID clear). */
static void clear_layout(struct st_attach *a, int slot)
{
	static const struct st_layout zero;
	__u32 key = (__u32)slot;

	bpf_map_update_elem(bpf_map__fd(a->skel->maps.layouts), &key, &zero, BPF_ANY);
	drop_ronames(a, key);
	a->slots[slot].named = false;
}

static bool slot_has_links(const struct st_attach *a, int slot)
{
	for (unsigned i = 0; i < a->nlinks; i++)
		if (a->links[i].slot == slot)
			return true;
	return false;
}

static int add_link(struct st_attach *a, struct bpf_link *link, int slot)
{
	if (a->nlinks == a->caplinks) {
		unsigned cap = a->caplinks ? 2 * a->caplinks : 16;
		void *more = realloc(a->links, cap * sizeof(a->links[0]));

		if (!more)
			return -ENOMEM;
		a->links = more;
		a->caplinks = cap;
	}
	a->links[a->nlinks].link = link;
	a->links[a->nlinks].slot = slot;
	a->nlinks++;
	if (slot != ST_NO_SLOT)
		a->nuprobes++;
	return 0;
}

/*
 * One uprobe per point, with the semaphore's reference counter (the kernel
 * raises it while a uprobe is attached, so CPython raises the probe) and a
 * cookie naming the slot and the point. Not libbpf's USDT support: its
 * programs fetch each argument through a subprogram, a map lookup and a
 * helper call, about 4% of a traced process's time per event here; the
 * layout tells the program where each site keeps its arguments instead
 * (st_layout.site_arg). All or none.
 */
int st_attach_plan(struct st_attach *a, pid_t pid, const struct st_plan *plan, char *err,
		   size_t errlen)
{
	struct bpf_program *prog;
	unsigned first = a->nlinks;
	bool fresh;
	int slot;

	if (plan->kind == ST_PLAN_FALLBACK)
		prog = a->floor ? a->skel->progs.audit_fallback_floor
				: a->skel->progs.audit_fallback;
	else
		prog = a->floor ? a->skel->progs.audit_floor : a->skel->progs.audit;
	if (a->nuprobes + plan->npoints > a->max_links) {
		snprintf(err, errlen,
			 "%s is not traced: it needs %u uprobes and %u of %u are in use (raise "
			 "--max-links)",
			 plan->py.file[0] ? plan->py.file : plan->py.path, plan->npoints,
			 a->nuprobes, a->max_links);
		return -E2BIG;
	}
	slot = get_slot(a, plan, err, errlen);
	if (slot < 0)
		return slot;
	fresh = !slot_has_links(a, slot);
	for (unsigned i = 0; i < plan->npoints; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts);
		struct bpf_link *link;
		int ret;

		opts.bpf_cookie = plan->cookie[i] | (__u64)slot;
		opts.ref_ctr_offset = (size_t)plan->ref_ctr;
		link = bpf_program__attach_uprobe_opts(prog, pid, plan->py.path,
						       (size_t)plan->off[i], &opts);
		ret = link ? add_link(a, link, slot) : -errno;
		if (ret) {
			if (link)
				bpf_link__destroy(link);
			while (a->nlinks > first) {
				bpf_link__destroy(a->links[--a->nlinks].link);
				a->nuprobes--;
			}
			/* A slot nothing uses any more is free again. */
			if (fresh) {
				a->slots[slot].used = false;
				clear_layout(a, slot);
			}
			if (pid > 0)
				snprintf(err, errlen, "cannot attach to %s in %s for PID %d: %s",
					 plan->what[i], plan->py.path, pid, strerror(-ret));
			else
				snprintf(err, errlen, "cannot attach to %s in %s: %s",
					 plan->what[i], plan->py.path, strerror(-ret));
			return ret;
		}
	}
	/* After the links: the ~0.1 s this takes is not added to a new process's untraced start. */
	if (!a->slots[slot].named) {
		fill_ronames(a, (__u32)slot, plan);
		a->slots[slot].named = true;
	}
	return slot;
}

int st_attach_pid(struct st_attach *a, pid_t pid, const struct st_pyelf *py, char *err,
		  size_t errlen)
{
	struct st_plan *plan = malloc(sizeof(*plan));
	int ret;

	if (!plan) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = st_plan_make(py, plan, err, errlen);
	if (!ret)
		ret = st_attach_plan(a, pid, plan, err, errlen);
	free(plan);
	return ret < 0 ? ret : 0;
}

int st_attach_prog(struct st_attach *a, struct bpf_program *prog)
{
	struct bpf_link *l;
	int ret;

	l = bpf_program__attach(prog);
	if (!l)
		return -errno;
	ret = add_link(a, l, ST_NO_SLOT);
	if (ret)
		bpf_link__destroy(l);
	return ret;
}

static int seen_state(struct st_attach *a, dev_t dev, ino_t ino, int *slot)
{
	for (unsigned i = 0; i < a->nseen; i++)
		if (a->seen[i].dev == dev && a->seen[i].ino == ino) {
			if (slot)
				*slot = a->seen[i].slot;
			return a->seen[i].state;
		}
	return 0;
}

static void remember(struct st_attach *a, dev_t dev, ino_t ino, int state, int slot)
{
	for (unsigned i = 0; i < a->nseen; i++)
		if (a->seen[i].dev == dev && a->seen[i].ino == ino) {
			a->seen[i].state = state;
			a->seen[i].slot = slot;
			return;
		}
	/* Full: forget nothing important, just read the file again next time. */
	if (a->nseen < ST_MAX_SEEN) {
		a->seen[a->nseen].dev = dev;
		a->seen[a->nseen].ino = ino;
		a->seen[a->nseen].state = state;
		a->seen[a->nseen].slot = slot;
		a->nseen++;
	}
}

/* Forgets the seen entries in `state` that lead to `slot` (ST_NO_SLOT: to any). */
static void forget_seen(struct st_attach *a, int state, int slot)
{
	unsigned j = 0;

	for (unsigned i = 0; i < a->nseen; i++)
		if (!(a->seen[i].state == state && (slot == ST_NO_SLOT || a->seen[i].slot == slot)))
			a->seen[j++] = a->seen[i];
	a->nseen = j;
}

/* ---- which processes map which file ---------------------------------------------------- */

/* The index of (pid, slot) in a->procs, or where it would go (*found false). */
static size_t proc_index(const struct st_attach *a, pid_t pid, int slot, bool *found)
{
	size_t lo = 0, hi = a->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct st_attach_proc *p = &a->procs[mid];

		if (p->pid < pid || (p->pid == pid && p->slot < slot))
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < a->nprocs && a->procs[lo].pid == pid && a->procs[lo].slot == slot;
	return lo;
}

/*
 * pid maps the file of `slot` (or, ST_SLOT_LIMIT, was refused for a limit). Whether it is
 * new.
 */
static bool add_proc(struct st_attach *a, pid_t pid, int slot)
{
	bool found;
	size_t i = proc_index(a, pid, slot, &found);

	if (found)
		return false;
	if (a->nprocs == a->capprocs) {
		size_t cap = a->capprocs ? 2 * a->capprocs : 64;
		struct st_attach_proc *more = realloc(a->procs, cap * sizeof(*more));

		/* Without memory the file is only kept longer: st_attach_reap() looks in /proc. */
		if (!more)
			return false;
		a->procs = more;
		a->capprocs = cap;
	}
	memmove(&a->procs[i + 1], &a->procs[i], (a->nprocs - i) * sizeof(a->procs[0]));
	a->procs[i].pid = pid;
	a->procs[i].slot = slot;
	a->nprocs++;
	if (slot == ST_SLOT_LIMIT) {
		a->nlimit++;
		return true;
	}
	if (a->slots[slot].check) {
		a->slots[slot].check = false;
		a->ncheck--;
	}
	a->slots[slot].nprocs++;
	return true;
}

void st_attach_process_gone(struct st_attach *a, pid_t pid)
{
	bool found;
	size_t i = proc_index(a, pid, INT_MIN, &found), j = i;

	while (j < a->nprocs && a->procs[j].pid == pid) {
		int slot = a->procs[j++].slot;

		if (slot == ST_SLOT_LIMIT) {
			a->nlimit--;
			continue;
		}
		if (a->slots[slot].nprocs && !--a->slots[slot].nprocs && !a->slots[slot].check) {
			a->slots[slot].check = true;
			a->ncheck++;
		}
	}
	memmove(&a->procs[i], &a->procs[j], (a->nprocs - j) * sizeof(a->procs[0]));
	a->nprocs -= j - i;
}

/* Whether the process has begun to exit (its exit notice may have come already). */
static bool exiting(const char *pid)
{
	char path[64], buf[512], *p, state = 0;
	unsigned flags = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = 0;
	/* The name may hold anything: the fields resume after its last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
		return true;
	return state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG);
}

/* The slots being checked that process `pid` maps (its /proc/PID/maps): counted as its. */
static void claim(struct st_attach *a, const char *pid)
{
	char path[64], line[PATH_MAX + 128];
	bool hit = false;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	maps = fopen(path, "re");
	if (!maps)
		return;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long ino;
		unsigned maj, min;
		char perms[8];
		size_t len = strlen(line);

		/* A path longer than the buffer: the rest of its line is no new mapping. */
		if (len && line[len - 1] != '\n') {
			int c;

			while ((c = fgetc(maps)) != EOF && c != '\n')
				;
		}
		/*
		 * Only code runs into a uprobe: a file mapped without exec (another tracer, this
		 * one's twin, reading the ELF) does not keep it attached.
		 */
		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %lu", perms, &maj, &min, &ino) != 4 ||
		    !ino || perms[2] != 'x')
			continue;
		for (unsigned s = 0; s < a->max_files; s++) {
			if (!a->slots[s].check || a->slots[s].ino != (ino_t)ino ||
			    a->slots[s].dev != makedev(maj, min))
				continue;
			if (!hit && exiting(pid))
				goto out;
			hit = true;
			add_proc(a, (pid_t)strtol(pid, NULL, 10), (int)s);
		}
	}
out:
	fclose(maps);
}

int st_attach_reap(struct st_attach *a, int (*retry)(pid_t pid, void *ctx), void *ctx)
{
	int released = 0;

	if (a->ncheck) {
		struct dirent *de;
		DIR *d = opendir("/proc");

		/* A fork maps its parent's files with no exec: only /proc knows of it. */
		while (d && a->ncheck && (de = readdir(d))) {
			if (!isdigit((unsigned char)de->d_name[0]) ||
			    strtol(de->d_name, NULL, 10) == getpid())
				continue;
			claim(a, de->d_name);
		}
		if (d)
			closedir(d);
		else
			return 0; /* cannot tell: keep them */
		for (unsigned s = 0; s < a->max_files; s++)
			if (a->slots[s].check) {
				st_attach_release(a, (int)s);
				released++;
			}
	}
	if (a->retry && a->nlimit && retry) {
		/* A copy: retry() may add entries, or find the process gone. */
		size_t n = 0;
		pid_t *pids = malloc(a->nlimit * sizeof(*pids));

		for (size_t i = 0; pids && i < a->nprocs; i++)
			if (a->procs[i].slot == ST_SLOT_LIMIT)
				pids[n++] = a->procs[i].pid;
		for (size_t i = 0; i < n; i++) {
			bool found;
			size_t k = proc_index(a, pids[i], ST_SLOT_LIMIT, &found);

			if (found) {
				memmove(&a->procs[k], &a->procs[k + 1],
					(a->nprocs - k - 1) * sizeof(a->procs[0]));
				a->nprocs--;
				a->nlimit--;
			}
			a->retrying = true;
			retry(pids[i], ctx);
			a->retrying = false;
		}
		free(pids);
	}
	a->retry = false;
	return released;
}

void st_attach_release(struct st_attach *a, int slot)
{
	unsigned j = 0;
	size_t k = 0;

	if (slot < 0 || (unsigned)slot >= a->max_files || !a->slots[slot].used)
		return;
	for (unsigned i = 0; i < a->nlinks; i++) {
		if (a->links[i].slot == slot) {
			destroy_later(a, a->links[i].link, slot);
			a->nuprobes--;
		} else {
			a->links[j++] = a->links[i];
		}
	}
	a->nlinks = j;
	/* Its links are gone, so no probe can fire with this slot any more. */
	clear_layout(a, slot);
	st_pyelf_forget(a->slots[slot].dev, a->slots[slot].ino);
	if (a->on_release)
		a->on_release(a->slots[slot].dev, a->slots[slot].ino, a->on_file_ctx);
	if (a->slots[slot].check)
		a->ncheck--;
	a->slots[slot].used = false;
	a->slots[slot].check = false;
	a->slots[slot].nprocs = 0;
	if (a->nfiles)
		a->nfiles--;
	a->released_total++;
	for (size_t i = 0; i < a->nprocs; i++)
		if (a->procs[i].slot != slot)
			a->procs[k++] = a->procs[i];
	a->nprocs = k;
	/* The file and the executables that led to it are judged again when next seen. */
	forget_seen(a, ST_SEEN_ATTACHED, slot);
	/* Files refused for a limit may fit now. */
	forget_seen(a, ST_SEEN_LIMIT, ST_NO_SLOT);
	a->retry = true;
}

/* The limit alert once per file: whether it was raised for dev/ino already (remembers it). */
static bool limit_said(struct st_attach *a, dev_t dev, ino_t ino)
{
	for (unsigned i = 0; i < a->nlimited; i++)
		if (a->limited[i].dev == dev && a->limited[i].ino == ino)
			return true;
	if (a->nlimited < ST_MAX_LIMITED) {
		a->limited[a->nlimited].dev = dev;
		a->limited[a->nlimited].ino = ino;
		a->nlimited++;
	}
	a->limit_files++;
	return false;
}

int st_attach_system(struct st_attach *a, pid_t pid, bool at_exec, char *err, size_t errlen)
{
	char path[64];
	struct st_plan *plan;
	struct stat exe;
	int ret, state, slot = ST_NO_SLOT;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &exe))
		return 0; /* gone, or a kernel thread */
	state = seen_state(a, exe.st_dev, exe.st_ino, &slot);
	/* Its interpreter is attached already (for every process), or was refused (said once). */
	if (state == ST_SEEN_ATTACHED) {
		add_proc(a, pid, slot);
		return 0;
	}
	if (state == ST_SEEN_LIMIT) {
		if (add_proc(a, pid, ST_SLOT_LIMIT) && !a->retrying)
			a->limit_procs++;
		return 0;
	}
	if (state == ST_SEEN_REFUSED)
		return 0;
	/*
	 * What the executable maps at start is what it links, the same for every process that
	 * runs it; only a process that has run a while can have loaded a libpython since.
	 */
	if (state == ST_SEEN_NOT_PYTHON && at_exec)
		return 0;
	plan = malloc(sizeof(*plan));
	if (!plan) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = st_find_python(pid, at_exec ? ST_FIND_NEEDED : 0, &plan->py, err, errlen);
	if (ret == -ESRCH) {
		ret = 0;
		goto out;
	}
	if (ret == -ENOENT) {
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_NOT_PYTHON, ST_NO_SLOT);
		ret = 0;
		goto out;
	}
	if (ret) {
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		goto out;
	}
	/* The interpreter file may be a libpython other executables share. */
	state = seen_state(a, plan->py.dev, plan->py.ino, &slot);
	if (state == ST_SEEN_ATTACHED) {
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_ATTACHED, slot);
		add_proc(a, pid, slot);
	}
	if (state == ST_SEEN_ATTACHED || state == ST_SEEN_REFUSED) {
		ret = 0;
		goto out;
	}
	ret = st_plan_make(&plan->py, plan, err, errlen);
	if (ret) {
		remember(a, plan->py.dev, plan->py.ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		goto out;
	}
	ret = st_attach_plan(a, -1, plan, err, errlen);
	if (ret == -ENOENT || ret == -ESRCH) {
		ret = 0; /* exited while we looked (its map_files path is gone) */
		goto out;
	}
	if (ret == -E2BIG) {
		/* Tried again when a file is released; the alert once per file. */
		remember(a, plan->py.dev, plan->py.ino, ST_SEEN_LIMIT, ST_NO_SLOT);
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_LIMIT, ST_NO_SLOT);
		if (add_proc(a, pid, ST_SLOT_LIMIT) && !a->retrying)
			a->limit_procs++;
		snprintf(a->limit_file, sizeof(a->limit_file), "%s",
			 plan->py.file[0] ? plan->py.file : plan->py.path);
		if (limit_said(a, plan->py.dev, plan->py.ino))
			ret = 0;
		goto out;
	}
	if (ret < 0) { /* said once per file */
		remember(a, plan->py.dev, plan->py.ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		goto out;
	}
	slot = ret;
	a->nfiles++;
	a->attached_total++;
	remember(a, plan->py.dev, plan->py.ino, ST_SEEN_ATTACHED, slot);
	remember(a, exe.st_dev, exe.st_ino, ST_SEEN_ATTACHED, slot);
	add_proc(a, pid, slot);
	if (a->on_file)
		a->on_file(plan, a->on_file_ctx);
	ret = 1;
out:
	free(plan);
	return ret;
}

int st_attach_file(struct st_attach *a, const char *path, const char *file, char *err,
		   size_t errlen)
{
	struct st_plan *plan;
	struct stat st;
	int ret, state;

	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -errno;
	}
	state = seen_state(a, st.st_dev, st.st_ino, NULL);
	if (state == ST_SEEN_ATTACHED)
		return 0;
	/* Over a limit: the exec notice's attach says so, with the process it leaves out. */
	if (state == ST_SEEN_LIMIT)
		return -E2BIG;
	if (state == ST_SEEN_REFUSED) {
		snprintf(err, errlen, "%s cannot be traced (said before)", file);
		return -EALREADY;
	}
	plan = malloc(sizeof(*plan));
	if (!plan) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Not Python is not remembered: the caller asks again only when the file changed. */
	ret = st_discover_file(path, file, plan, err, errlen);
	if (ret == 0)
		ret = st_attach_plan(a, -1, plan, err, errlen);
	if (ret < 0) {
		if (ret != -ENOENT && ret != -E2BIG)
			remember(a, st.st_dev, st.st_ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		goto out;
	}
	a->nfiles++;
	a->attached_total++;
	/* No process counted yet: the exec notice's attach counts it, once it runs the file. */
	remember(a, st.st_dev, st.st_ino, ST_SEEN_ATTACHED, ret);
	if (a->on_file)
		a->on_file(plan, a->on_file_ctx);
	ret = 1;
out:
	free(plan);
	return ret;
}

bool st_attach_known(struct st_attach *a, pid_t pid)
{
	char path[64];
	struct stat exe;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return !stat(path, &exe) && seen_state(a, exe.st_dev, exe.st_ino, NULL) == ST_SEEN_ATTACHED;
}

unsigned st_attach_layouts_in_use(struct st_attach *a)
{
	struct st_layout *lo = malloc(sizeof(*lo));
	int fd = bpf_map__fd(a->skel->maps.layouts);
	__u32 n = bpf_map__max_entries(a->skel->maps.layouts);
	unsigned used = 0;

	for (__u32 key = 0; lo && key < n; key++)
		if (!bpf_map_lookup_elem(fd, &key, lo) && (lo->flags & ST_LF_VALID))
			used++;
	free(lo);
	return used;
}

void st_attach_print_stats(struct st_attach *a, FILE *f)
{
	const struct {
		const char *name;
		unsigned long long v;
	} rows[] = {
		{ "interpreter files attached", a->attached_total },
		{ "interpreter files released", a->released_total },
		{ "files attached at exit", a->exit_files },
		{ "uprobes attached at exit", a->exit_uprobes },
		{ "layout slots in use (map)", st_attach_layouts_in_use(a) },
		{ "files not traced (limits)", a->limit_files },
		{ "processes not traced (limits)", a->limit_procs },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "seatrace: %-32s %llu\n", rows[i].name, rows[i].v);
}

void st_attach_say_limits(struct st_attach *a, FILE *f)
{
	if (!a->limit_files)
		return;
	fprintf(f,
		"seatrace: %llu interpreter file%s (%llu process%s) not traced: --max-files %u "
		"or --max-links %u was reached; raise them\n",
		(unsigned long long)a->limit_files, a->limit_files == 1 ? "" : "s",
		(unsigned long long)a->limit_procs, a->limit_procs == 1 ? "" : "es", a->max_files,
		a->max_links);
}

void st_attach_detach_all(struct st_attach *a)
{
	if (a->nlinks) { /* the first call: what was in use */
		a->exit_files = 0;
		for (unsigned i = 0; i < a->max_files; i++)
			a->exit_files += a->slots[i].used;
		a->exit_uprobes = a->nuprobes;
	}
	closer_stop(a);
	for (unsigned i = 0; i < a->nlinks; i++)
		bpf_link__destroy(a->links[i].link);
	a->nlinks = 0;
	a->nuprobes = 0;
	for (unsigned i = 0; a->slots && i < a->max_files; i++)
		a->slots[i].used = false;
}

void st_attach_free(struct st_attach *a)
{
	free(a->slots);
	free(a->links);
	free(a->procs);
	a->slots = NULL;
	a->links = NULL;
	a->procs = NULL;
	a->nprocs = a->capprocs = 0;
}
