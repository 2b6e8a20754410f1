// SPDX-License-Identifier: MIT
/* Tamper alerts (tamper.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include "decode.h"
#include "output.h"
#include "tamper.h"
#include "say.h"

/* Looks, 100 ms apart, for the semaphore of a process that has just exec'd. */
#define FIND_TRIES 30

const char *st_tamper_reason(const char *event, size_t len)
{
	if (len == 16 && !memcmp(event, "sys.addaudithook", 16))
		return "an audit hook was added (sys.addaudithook)";
	if (len > 7 && !memcmp(event, "ctypes.", 7))
		return "ctypes used: foreign calls bypass audit events";
	return NULL;
}

const char *st_tamper_event(struct st_tamper *tp, const struct st_view *v)
{
	const char *why = st_tamper_reason(v->name, v->name_len);

	if (!why || v->name_len < 7 || memcmp(v->name, "ctypes.", 7))
		return why;
	for (unsigned i = 0; i < 64 && i < tp->nctypes; i++)
		if (tp->ctypes_alerted[i] == v->hdr->pid)
			return NULL;
	tp->ctypes_alerted[tp->nctypes++ % 64] = v->hdr->pid;
	return why;
}

int st_semaphore_find(pid_t pid, dev_t dev, ino_t ino, __u64 sem, bool dynamic, __u64 *addr)
{
	char path[64], line[PATH_MAX + 128];
	FILE *maps;
	int ret = -ENOENT;

	if (!sem)
		return -ENOENT;
	/* A PIE or shared object: its load bias is where its first page is mapped. */
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (!maps)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end, off, ino_;
		unsigned maj, min;

		if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &start, &end, &off, &maj, &min,
			   &ino_) != 6)
			continue;
		if (off == 0 && ino_ == ino && makedev(maj, min) == dev) {
			*addr = dynamic ? start + sem : sem;
			ret = 0;
			break;
		}
	}
	fclose(maps);
	return ret;
}

int st_semaphore_read(pid_t pid, __u64 addr, unsigned *value)
{
	unsigned short v = 0;
	struct iovec local = { &v, sizeof(v) }, remote = { (void *)addr, sizeof(v) };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(v))
		return -errno;
	*value = v;
	return 0;
}

int st_semaphore_write(pid_t pid, __u64 addr, unsigned value)
{
	unsigned short v = (unsigned short)value;
	struct iovec local = { &v, sizeof(v) }, remote = { (void *)addr, sizeof(v) };

	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != sizeof(v))
		return -errno;
	return 0;
}

/* The index of pid in tp->procs, or where it would go (*found false). */
static size_t proc_index(const struct st_tamper *tp, pid_t pid, bool *found)
{
	size_t lo = 0, hi = tp->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tp->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < tp->nprocs && tp->procs[lo].pid == pid;
	return lo;
}

/* The entry of pid, made if new (zeroed but for the pid), or NULL without memory. */
static struct st_tamper_proc *proc_get(struct st_tamper *tp, pid_t pid, bool *fresh)
{
	bool found;
	size_t i = proc_index(tp, pid, &found);

	*fresh = !found;
	if (found)
		return &tp->procs[i];
	if (tp->nprocs == tp->capprocs) {
		size_t cap = tp->capprocs ? 2 * tp->capprocs : 64;
		struct st_tamper_proc *more = realloc(tp->procs, cap * sizeof(*more));

		if (!more)
			return NULL;
		tp->procs = more;
		tp->capprocs = cap;
	}
	memmove(&tp->procs[i + 1], &tp->procs[i], (tp->nprocs - i) * sizeof(tp->procs[0]));
	tp->nprocs++;
	memset(&tp->procs[i], 0, sizeof(tp->procs[i]));
	tp->procs[i].pid = pid;
	return &tp->procs[i];
}

int st_tamper_add_file(struct st_tamper *tp, const struct st_pyelf *py, unsigned nsites)
{
	struct st_tamper_file *f;

	if (!py->semaphore)
		return 0;
	for (size_t i = 0; i < tp->nfiles; i++)
		if (tp->files[i].dev == py->dev && tp->files[i].ino == py->ino)
			return 0;
	if (tp->nfiles == tp->capfiles) {
		size_t cap = tp->capfiles ? 2 * tp->capfiles : 8;
		struct st_tamper_file *more = realloc(tp->files, cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		tp->files = more;
		tp->capfiles = cap;
	}
	f = &tp->files[tp->nfiles++];
	f->dev = py->dev;
	f->ino = py->ino;
	f->sem = py->semaphore;
	f->dynamic = py->dynamic;
	f->nsites = nsites;
	return 0;
}

void st_tamper_forget_file(struct st_tamper *tp, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < tp->nfiles; i++)
		if (tp->files[i].dev == dev && tp->files[i].ino == ino) {
			tp->files[i] = tp->files[--tp->nfiles];
			return;
		}
}

int st_tamper_watch(struct st_tamper *tp, pid_t pid, const struct st_pyelf *py)
{
	struct st_tamper_proc *p;
	__u64 addr;
	bool fresh;
	int ret;

	ret = st_semaphore_find(pid, py->dev, py->ino, py->semaphore, py->dynamic, &addr);
	if (ret)
		return ret;
	p = proc_get(tp, pid, &fresh);
	if (!p)
		return -ENOMEM;
	p->addr = addr;
	p->nsites = py->nsites;
	p->done = false;
	return 0;
}

int st_tamper_watch_pid(struct st_tamper *tp, pid_t pid)
{
	bool fresh;
	struct st_tamper_proc *p = proc_get(tp, pid, &fresh);

	if (!p)
		return -ENOMEM;
	return 0;
}

bool st_tamper_seen(struct st_tamper *tp, pid_t pid)
{
	bool found;

	if (pid == tp->last_pid)
		return true;
	proc_index(tp, pid, &found);
	if (found)
		tp->last_pid = pid;
	return found;
}

void st_tamper_forget(struct st_tamper *tp, pid_t pid)
{
	bool found;
	size_t i = proc_index(tp, pid, &found);

	if (!found)
		return;
	memmove(&tp->procs[i], &tp->procs[i + 1], (tp->nprocs - i - 1) * sizeof(tp->procs[0]));
	tp->nprocs--;
	if (tp->last_pid == pid)
		tp->last_pid = 0;
}

/* The semaphore of a process watched by pid alone, in one of the files attached. */
static int find(struct st_tamper *tp, struct st_tamper_proc *p)
{
	int ret = -ENOENT;

	for (size_t i = 0; i < tp->nfiles && ret == -ENOENT; i++) {
		const struct st_tamper_file *f = &tp->files[i];

		ret = st_semaphore_find(p->pid, f->dev, f->ino, f->sem, f->dynamic, &p->addr);
		if (!ret)
			p->nsites = f->nsites;
	}
	return ret;
}

static void alert(struct st_output *out, __u64 mono_ns, pid_t pid, int werr)
{
	char comm[ST_COMM_LEN], why[256];

	st_proc_comm(pid, comm, sizeof(comm));
	if (werr)
		snprintf(why, sizeof(why),
			 "the python:audit probe's semaphore was cleared in the process, which "
			 "silences its audit events; it could not be set again (%s)",
			 strerror(-werr));
	else
		snprintf(why, sizeof(why),
			 "the python:audit probe's semaphore was cleared in the process, which "
			 "silences its audit events; set again (events it raised meanwhile, up to "
			 "0.1 s, are missing)");
	st_output_alert(out, mono_ns, (__u32)pid, (__u32)pid, comm, why);
}

void st_tamper_check(struct st_tamper *tp, struct st_output *out, __u64 mono_ns)
{
	size_t i = 0;

	while (i < tp->nprocs) {
		struct st_tamper_proc *p = &tp->procs[i];
		unsigned v, restore;
		int ret, werr;

		if (p->done) {
			i++;
			continue;
		}
		ret = 0;
		if (!p->addr && !(ret = find(tp, p)))
			p->tries = 0;
		if (!ret)
			ret = st_semaphore_read(p->pid, p->addr, &v);
		if (ret == -ESRCH) { /* ended: its exit notice may come later, or not at all */
			st_tamper_forget(tp, p->pid);
			continue;
		}
		i++;
		if (ret) {
			/* Not mapped yet after an exec, or not a process of an attached file. */
			p->addr = 0;
			if (++p->tries >= FIND_TRIES)
				p->done = true;
			continue;
		}
		if (v) {
			p->armed = v;
			p->tries = 0;
			continue;
		}
		/* 0 at the first look: maybe not set yet (the loader maps data after text). */
		if (!p->armed && p->tries++ < 1)
			continue;
		restore = p->armed ? p->armed : p->nsites ? p->nsites : 1;
		werr = st_semaphore_write(p->pid, p->addr, restore);
		tp->clears++;
		alert(out, mono_ns, p->pid, werr);
		if (werr)
			p->done = true; /* said once: it cannot be set from here */
		else
			p->armed = restore;
	}
}

void st_tamper_free(struct st_tamper *tp)
{
	free(tp->files);
	free(tp->procs);
	memset(tp, 0, sizeof(*tp));
}
