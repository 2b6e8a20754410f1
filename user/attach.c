// SPDX-License-Identifier: MIT
/*
 * Discovery and attach. A process's interpreter is found through
 * /proc/PID/exe and /proc/PID/map_files, which reach the very file the
 * process runs even when it was deleted or lives in another mount
 * namespace. Layout slots are per file (device, inode), so processes of one
 * interpreter build share one slot.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include "attach.h"
#include "fallback.h"
#include "layout.h"
#include "seatrace.skel.h"

static bool looks_like_python_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "python", 6) || strstr(base, "libpython");
}

/*
 * A file with the probe is taken only if its objects can be decoded: a
 * free-threaded build or a version beyond the table is refused here, at
 * discovery, before anything is loaded or attached (and before a command is
 * let run).
 */
static int decodable(pid_t pid, struct st_pyelf *py, char *err, size_t errlen)
{
	struct st_layout lo;
	const char *why = NULL;

	if (!st_layout_fill(py, &lo, &why))
		return 0;
	py->refusal = why;
	snprintf(err, errlen, "PID %d runs %s (CPython %s), which seatrace cannot decode: %s", pid,
		 py->name, py->version[0] ? py->version : "of unknown version", why);
	return -EPROTONOSUPPORT;
}

int st_find_python(pid_t pid, struct st_pyelf *py, char *err, size_t errlen)
{
	char path[64], exe[PATH_MAX] = "?", line[PATH_MAX + 128];
	struct st_pyelf cand;
	bool python_seen = false;
	char python_path[PATH_MAX] = "";
	ssize_t n;
	FILE *maps;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (!maps) {
		if (errno == ENOENT || errno == ESRCH) {
			snprintf(err, errlen, "no process with PID %d", pid);
			return -ESRCH;
		}
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return ret;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = 0;

	/* The executable first: Debian's python3.X links libpython in. */
	ret = st_pyelf_read(path, &cand);
	if (!ret && n > 0)
		snprintf(cand.name, sizeof(cand.name), "%s", exe);
	if (!ret && cand.nsites) {
		*py = cand;
		fclose(maps);
		return decodable(pid, py, err, errlen);
	}
	if (!ret && cand.is_python) {
		python_seen = true;
		snprintf(python_path, sizeof(python_path), "%s", exe);
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char file[PATH_MAX];

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %4095[^\n]", &start, &end, file) != 3 ||
		    file[0] != '/' || !strstr(file, "python"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, start, end);
		if (st_pyelf_read(path, &cand))
			continue;
		snprintf(cand.name, sizeof(cand.name), "%s", file);
		if (cand.nsites) {
			*py = cand;
			fclose(maps);
			return decodable(pid, py, err, errlen);
		}
		if (cand.is_python && !python_seen) {
			python_seen = true;
			snprintf(python_path, sizeof(python_path), "%s", file);
		}
	}
	fclose(maps);
	if (python_seen || looks_like_python_name(exe)) {
		char why[PATH_MAX + 128];

		/* No probe: uprobes on its audit functions instead, if it has them (user/fallback.c). */
		ret = st_fallback_find(pid, py, why, sizeof(why));
		if (!ret)
			return 0;
		if (ret == -EPROTONOSUPPORT) { /* probe-able, but its objects cannot be decoded */
			snprintf(err, errlen,
				 "PID %d runs %s (CPython %s), which seatrace cannot decode: %s", pid,
				 py->name, py->version[0] ? py->version : "of unknown version", why);
			return ret;
		}
		snprintf(err, errlen,
			 "PID %d runs %s, a Python built without the python:audit probe "
			 "(configure --with-dtrace) whose audit functions cannot be probed "
			 "instead (%s); use an interpreter that has the probe, such as "
			 "Debian's /usr/bin/python3",
			 pid, python_seen ? python_path : exe, why);
		return -ENOTSUP;
	}
	snprintf(err, errlen, "PID %d (%s) is not a Python process", pid, exe);
	return -ENOENT;
}

int st_attach_slot(struct st_attach *a, const struct st_pyelf *py, char *err, size_t errlen)
{
	struct st_layout lo;
	const char *why = NULL;
	__u32 key;
	int ret;

	for (unsigned i = 0; i < a->nslots; i++)
		if (a->slots[i].dev == py->dev && a->slots[i].ino == py->ino)
			return (int)i;
	if (a->nslots >= ST_MAX_LAYOUTS) {
		snprintf(err, errlen, "too many distinct interpreter binaries (at most %d)",
			 ST_MAX_LAYOUTS);
		return -E2BIG;
	}
	ret = st_layout_fill(py, &lo, &why);
	if (ret) {
		snprintf(err, errlen, "cannot decode %s (CPython %s): %s", py->name,
			 py->version[0] ? py->version : "of unknown version", why);
		return ret;
	}
	key = a->nslots;
	if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.layouts), &key, &lo, BPF_ANY)) {
		ret = -errno;
		snprintf(err, errlen, "cannot store the interpreter layout: %s", strerror(errno));
		return ret;
	}
	a->slots[key].dev = py->dev;
	a->slots[key].ino = py->ino;
	a->nslots++;
	return (int)key;
}

int st_attach_pid(struct st_attach *a, pid_t pid, const struct st_pyelf *py, char *err,
		  size_t errlen)
{
	LIBBPF_OPTS(bpf_usdt_opts, opts);
	struct bpf_program *prog = a->floor ? a->skel->progs.audit_floor : a->skel->progs.audit;
	struct bpf_link *link;
	int slot;

	if (py->fallback) /* built without the probe: uprobes (user/fallback.c) */
		return st_fallback_attach(a, pid, py, err, errlen);
	if (a->nlinks >= ST_MAX_LINKS) {
		snprintf(err, errlen, "too many attachments (at most %d)", ST_MAX_LINKS);
		return -E2BIG;
	}
	slot = st_attach_slot(a, py, err, errlen);
	if (slot < 0)
		return slot;
	opts.usdt_cookie = (__u64)slot;
	link = bpf_program__attach_usdt(prog, pid, py->path, "python", "audit", &opts);
	if (!link) {
		int ret = -errno;

		snprintf(err, errlen, "cannot attach to python:audit in %s for PID %d: %s", py->path,
			 pid, strerror(-ret));
		return ret;
	}
	a->links[a->nlinks++] = link;
	return 0;
}

void st_attach_detach_all(struct st_attach *a)
{
	for (unsigned i = 0; i < a->nlinks; i++)
		bpf_link__destroy(a->links[i]);
	a->nlinks = 0;
}

int st_semaphore_addr(pid_t pid, const struct st_pyelf *py, __u64 *addr)
{
	char path[64], line[PATH_MAX + 128];
	FILE *maps;
	int ret = -ENOENT;

	if (!py->semaphore)
		return -ENOENT;
	if (!py->dynamic) {
		*addr = py->semaphore;
		return 0;
	}
	/* A PIE or shared object: its load bias is where its first page is mapped. */
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (!maps)
		return -errno;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end, off, ino;
		unsigned maj, min;

		if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &start, &end, &off, &maj, &min, &ino) != 6)
			continue;
		if (off == 0 && ino == py->ino && makedev(maj, min) == py->dev) {
			*addr = start + py->semaphore;
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

static int seen_state(struct st_attach *a, dev_t dev, ino_t ino)
{
	for (unsigned i = 0; i < a->nseen; i++)
		if (a->seen[i].dev == dev && a->seen[i].ino == ino)
			return a->seen[i].state;
	return 0;
}

static void remember(struct st_attach *a, dev_t dev, ino_t ino, int state)
{
	for (unsigned i = 0; i < a->nseen; i++)
		if (a->seen[i].dev == dev && a->seen[i].ino == ino) {
			a->seen[i].state = state;
			return;
		}
	/* Full: forget nothing important, just read the file again next time. */
	if (a->nseen < ST_MAX_SEEN) {
		a->seen[a->nseen].dev = dev;
		a->seen[a->nseen].ino = ino;
		a->seen[a->nseen].state = state;
		a->nseen++;
	}
}

int st_attach_system(struct st_attach *a, pid_t pid, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_usdt_opts, opts);
	struct bpf_program *prog = a->floor ? a->skel->progs.audit_floor : a->skel->progs.audit;
	char path[64];
	struct st_pyelf py;
	struct bpf_link *link;
	struct stat exe;
	int ret, slot, state;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &exe))
		return 0; /* gone, or a kernel thread */
	state = seen_state(a, exe.st_dev, exe.st_ino);
	if (state == ST_SEEN_NOT_PYTHON || state == ST_SEEN_REFUSED)
		return 0;
	ret = st_find_python(pid, &py, err, errlen);
	if (ret == -ESRCH)
		return 0;
	if (ret == -ENOENT) {
		/* A shared-library build not mapped yet looks the same: only exes named python are retried. */
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_NOT_PYTHON);
		return 0;
	}
	if (ret) {
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_REFUSED);
		return ret;
	}
	/* The probe file may be a libpython other executables share. */
	state = seen_state(a, py.dev, py.ino);
	if (state == ST_SEEN_ATTACHED) {
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_ATTACHED);
		return 0;
	}
	if (state == ST_SEEN_REFUSED)
		return 0;
	if (a->nlinks >= ST_MAX_LINKS) {
		snprintf(err, errlen, "too many attachments (at most %d)", ST_MAX_LINKS);
		return -E2BIG;
	}
	if (py.fallback) { /* built without the probe: uprobes (user/fallback.c) */
		ret = st_fallback_attach(a, -1, &py, err, errlen);
		if (ret == -ENOENT || ret == -ESRCH)
			return 0; /* exited while we looked (its map_files path is gone) */
		if (ret) {
			remember(a, py.dev, py.ino, ST_SEEN_REFUSED);
			return ret;
		}
		goto attached;
	}
	slot = st_attach_slot(a, &py, err, errlen);
	if (slot < 0) {
		remember(a, py.dev, py.ino, ST_SEEN_REFUSED);
		remember(a, exe.st_dev, exe.st_ino, ST_SEEN_REFUSED);
		return slot;
	}
	opts.usdt_cookie = (__u64)slot;
	link = bpf_program__attach_usdt(prog, -1, py.path, "python", "audit", &opts);
	if (!link) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ESRCH)
			return 0; /* exited while we looked */
		snprintf(err, errlen, "cannot attach to python:audit in %s (PID %d): %s", py.path, pid,
			 strerror(-ret));
		remember(a, py.dev, py.ino, ST_SEEN_REFUSED);
		return ret;
	}
	a->links[a->nlinks++] = link;
attached:
	a->nfiles++;
	remember(a, py.dev, py.ino, ST_SEEN_ATTACHED);
	remember(a, exe.st_dev, exe.st_ino, ST_SEEN_ATTACHED);
	return 1;
}

int st_list_process(pid_t pid, char *line, size_t len)
{
	char path[64], exe[PATH_MAX] = "?", err[PATH_MAX + 256], user[32], reason[256];
	struct st_pyelf py;
	struct st_layout lo;
	const char *why = NULL, *how;
	struct stat st;
	struct passwd *pw;
	ssize_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = 0;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st))
		return 0;
	pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	else
		snprintf(user, sizeof(user), "%u", st.st_uid);
	ret = st_find_python(pid, &py, err, sizeof(err));
	if (ret == -ENOENT || ret == -ESRCH)
		return 0;
	if (ret == -EPROTONOSUPPORT) {
		/* The reason alone: what to do follows the ';' (layout.h). */
		snprintf(reason, sizeof(reason), "no: %.*s", (int)strcspn(py.refusal, ";"),
			 py.refusal);
		how = reason;
	} else if (ret == -ENOTSUP) {
		/* Read the executable or libpython again for its version. */
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if (st_pyelf_read(path, &py) || !py.is_python)
			memset(&py, 0, sizeof(py));
		how = "no: built without the python:audit probe";
	} else if (ret) {
		how = "no: cannot be read";
	} else if (py.fallback) {
		how = "uprobes: built without the python:audit probe";
	} else if (st_layout_fill(&py, &lo, &why)) {
		how = why;
	} else {
		how = "probe";
	}
	snprintf(line, len, "%-8d %-12s %-10s %-40s %s", pid, user,
		 py.version[0] ? py.version : "?", how, exe);
	return 1;
}
