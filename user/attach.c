// SPDX-License-Identifier: MIT
/*
 * Attach: plans become uprobe links. Layout slots are per file (device,
 * inode), so processes of one interpreter build share one slot; each link
 * remembers its slot, so a file's links can be released together.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "attach.h"
#include "seatrace.skel.h"

/* The file's slot, its layout stored on first use. The index, or a negative errno. */
static int get_slot(struct st_attach *a, const struct st_plan *plan, char *err, size_t errlen)
{
	int free_slot = -1;
	__u32 key;

	for (int i = 0; i < ST_MAX_LAYOUTS; i++) {
		if (a->slots[i].used && a->slots[i].dev == plan->py.dev &&
		    a->slots[i].ino == plan->py.ino)
			return i;
		if (!a->slots[i].used && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) {
		snprintf(err, errlen, "too many distinct interpreter binaries (at most %d)",
			 ST_MAX_LAYOUTS);
		return -E2BIG;
	}
	key = (__u32)free_slot;
	if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.layouts), &key, &plan->layout,
				BPF_ANY)) {
		int ret = -errno;

		snprintf(err, errlen, "cannot store the interpreter layout: %s", strerror(errno));
		return ret;
	}
	a->slots[key].dev = plan->py.dev;
	a->slots[key].ino = plan->py.ino;
	a->slots[key].used = true;
	return (int)key;
}

static bool slot_has_links(const struct st_attach *a, int slot)
{
	for (unsigned i = 0; i < a->nlinks; i++)
		if (a->links[i].slot == slot)
			return true;
	return false;
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
	int slot;

	if (plan->kind == ST_PLAN_FALLBACK)
		prog = a->floor ? a->skel->progs.audit_fallback_floor
				: a->skel->progs.audit_fallback;
	else
		prog = a->floor ? a->skel->progs.audit_floor : a->skel->progs.audit;
	if (a->nlinks + plan->npoints > ST_MAX_LINKS) {
		snprintf(err, errlen, "too many attachments (at most %d)", ST_MAX_LINKS);
		return -E2BIG;
	}
	slot = get_slot(a, plan, err, errlen);
	if (slot < 0)
		return slot;
	for (unsigned i = 0; i < plan->npoints; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts);
		struct bpf_link *link;

		opts.bpf_cookie = plan->cookie[i] | (__u64)slot;
		opts.ref_ctr_offset = (size_t)plan->ref_ctr;
		link = bpf_program__attach_uprobe_opts(prog, pid, plan->py.path,
						       (size_t)plan->off[i], &opts);
		if (!link) {
			int ret = -errno;

			while (a->nlinks > first)
				bpf_link__destroy(a->links[--a->nlinks].link);
			/* A slot nothing uses any more is free again. */
			if (!slot_has_links(a, slot))
				a->slots[slot].used = false;
			if (pid > 0)
				snprintf(err, errlen, "cannot attach to %s in %s for PID %d: %s",
					 plan->what[i], plan->py.path, pid, strerror(-ret));
			else
				snprintf(err, errlen, "cannot attach to %s in %s: %s",
					 plan->what[i], plan->py.path, strerror(-ret));
			return ret;
		}
		a->links[a->nlinks].link = link;
		a->links[a->nlinks].slot = slot;
		a->nlinks++;
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

	if (a->nlinks >= ST_MAX_LINKS)
		return -E2BIG;
	l = bpf_program__attach(prog);
	if (!l)
		return -errno;
	a->links[a->nlinks].link = l;
	a->links[a->nlinks].slot = ST_NO_SLOT;
	a->nlinks++;
	return 0;
}

static int seen_state(struct st_attach *a, dev_t dev, ino_t ino)
{
	for (unsigned i = 0; i < a->nseen; i++)
		if (a->seen[i].dev == dev && a->seen[i].ino == ino)
			return a->seen[i].state;
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

void st_attach_release(struct st_attach *a, int slot)
{
	unsigned j = 0;

	if (slot < 0 || slot >= ST_MAX_LAYOUTS || !a->slots[slot].used)
		return;
	for (unsigned i = 0; i < a->nlinks; i++) {
		if (a->links[i].slot == slot)
			bpf_link__destroy(a->links[i].link);
		else
			a->links[j++] = a->links[i];
	}
	a->nlinks = j;
	a->slots[slot].used = false;
	if (a->nfiles)
		a->nfiles--;
	/* The file and the executables that led to it are judged again when next seen. */
	j = 0;
	for (unsigned i = 0; i < a->nseen; i++)
		if (!(a->seen[i].state == ST_SEEN_ATTACHED && a->seen[i].slot == slot))
			a->seen[j++] = a->seen[i];
	a->nseen = j;
}

int st_attach_system(struct st_attach *a, pid_t pid, bool at_exec, char *err, size_t errlen)
{
	char path[64];
	struct st_plan *plan;
	struct stat exe;
	int ret, state;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &exe))
		return 0; /* gone, or a kernel thread */
	state = seen_state(a, exe.st_dev, exe.st_ino);
	/* Its interpreter is attached already (for every process), or was refused (said once). */
	if (state == ST_SEEN_ATTACHED || state == ST_SEEN_REFUSED)
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
	for (unsigned i = 0; i < a->nseen; i++) {
		if (a->seen[i].dev != plan->py.dev || a->seen[i].ino != plan->py.ino)
			continue;
		if (a->seen[i].state == ST_SEEN_ATTACHED)
			remember(a, exe.st_dev, exe.st_ino, ST_SEEN_ATTACHED, a->seen[i].slot);
		if (a->seen[i].state == ST_SEEN_ATTACHED || a->seen[i].state == ST_SEEN_REFUSED) {
			ret = 0;
			goto out;
		}
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
	if (ret < 0) { /* said once per file */
		remember(a, plan->py.dev, plan->py.ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		goto out;
	}
	a->nfiles++;
	remember(a, plan->py.dev, plan->py.ino, ST_SEEN_ATTACHED, ret);
	remember(a, exe.st_dev, exe.st_ino, ST_SEEN_ATTACHED, ret);
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
	state = seen_state(a, st.st_dev, st.st_ino);
	if (state == ST_SEEN_ATTACHED)
		return 0;
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
		if (ret != -ENOENT)
			remember(a, st.st_dev, st.st_ino, ST_SEEN_REFUSED, ST_NO_SLOT);
		goto out;
	}
	a->nfiles++;
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
	return !stat(path, &exe) && seen_state(a, exe.st_dev, exe.st_ino) == ST_SEEN_ATTACHED;
}

void st_attach_detach_all(struct st_attach *a)
{
	for (unsigned i = 0; i < a->nlinks; i++)
		bpf_link__destroy(a->links[i].link);
	a->nlinks = 0;
	for (int i = 0; i < ST_MAX_LAYOUTS; i++)
		a->slots[i].used = false;
}
