// SPDX-License-Identifier: MIT
/*
 * Discovery. A process's interpreter is found through /proc/PID/exe and
 * /proc/PID/map_files, which reach the very file the process runs even when
 * it was deleted or lives in another mount namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "discover.h"
#include "fallback.h"
#include "layout.h"
#include "prologue.h"

static bool looks_like_python_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "python", 6) || strstr(base, "libpython");
}

/* A path in pid's mount namespace, as this process can open it. */
static void in_root(pid_t pid, const char *path, char *out, size_t len)
{
	char root[64];
	struct stat ours, theirs;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	/* The same root as ours: the plain path reads better in messages. */
	if (!stat("/", &ours) && !stat(root, &theirs) && ours.st_dev == theirs.st_dev &&
	    ours.st_ino == theirs.st_ino)
		snprintf(out, len, "%s", path);
	else
		snprintf(out, len, "%s%s", root, path);
}

/*
 * The first CPython among the libraries the executable names in DT_NEEDED,
 * whatever their names, each found as ld.so would: DT_RPATH (without
 * DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, then the usual system
 * directories (ld.so.cache is not read), the first file of that name
 * winning. Right after exec nothing but the executable and the loader is
 * mapped. Libraries those libraries need are not followed. 1 with *py, or 0.
 */
static int find_needed(pid_t pid, const char *exe_file, struct st_pyelf *py)
{
	char env[8192] = "", *ldlp = NULL, path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	f = fopen(path, "re");
	if (f) {
		size_t n = fread(env, 1, sizeof(env) - 1, f);

		env[n] = 0;
		for (size_t i = 0; i < n; i += strlen(env + i) + 1)
			if (!strncmp(env + i, "LD_LIBRARY_PATH=", 16))
				ldlp = env + i + 16;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return st_needed_python(pid, path, exe_file, ldlp, py);
}

int st_needed_python(pid_t pid, const char *exe_path, const char *exe_file, const char *ldlp,
		     struct st_pyelf *py)
{
	char origin[PATH_MAX];
	struct st_pyelf *exe = malloc(sizeof(*exe));
	const char *lists[4];
	int nl = 0, ret = 0;

	if (!exe || st_pyelf_read_needed(exe_path, exe) || !exe->nneeded)
		goto out;
	snprintf(origin, sizeof(origin), "%s", exe_file);
	if (strrchr(origin, '/'))
		*strrchr(origin, '/') = 0;
	if (exe->rpath[0] && !exe->runpath[0])
		lists[nl++] = exe->rpath;
	if (ldlp && *ldlp)
		lists[nl++] = ldlp;
	if (exe->runpath[0])
		lists[nl++] = exe->runpath;
	lists[nl++] = "/usr/local/lib:/usr/local/lib64:/lib/x86_64-linux-gnu:"
		      "/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib";
	for (const char *name = exe->needed; !ret && *name; name += strlen(name) + 1) {
		bool found = false;

		for (int l = 0; l < nl && !found; l++) {
			for (const char *s = lists[l]; *s && !found;) {
				size_t len = strcspn(s, ":");
				char dir[PATH_MAX], file[PATH_MAX * 2], full[PATH_MAX * 2 + 64];

				if (len && !st_expand_origin(s, len, origin, dir, sizeof(dir))) {
					snprintf(file, sizeof(file), "%s/%s", dir[0] ? dir : ".",
						 name);
					in_root(pid, file, full, sizeof(full));
					/* As open() judges it: capabilities count. */
					if (!faccessat(AT_FDCWD, full, R_OK, AT_EACCESS)) {
						found = true;
						ret = st_pyelf_lookup(full, file, py) > 0;
					}
				}
				s += len;
				if (*s == ':')
					s++;
			}
		}
	}
out:
	free(exe);
	return ret;
}

/*
 * A CPython is taken only if its objects can be decoded: a free-threaded
 * build or a version beyond the table is refused at discovery, before
 * anything is loaded or attached (and before a command is let run).
 */
static int refuse(pid_t pid, const char *exe, struct st_pyelf *py, const char *why, char *err,
		  size_t errlen)
{
	py->refusal = why;
	snprintf(err, errlen, "PID %d runs %s (CPython %s), which seatrace cannot decode: %s", pid,
		 py->file[0] ? py->file : exe, py->version[0] ? py->version : "of unknown version",
		 why);
	return -EPROTONOSUPPORT;
}

/* Files of one process already judged: a file is mapped several times (text, data...). */
struct mapped {
	dev_t dev;
	ino_t ino;
};

static bool mapped_before(struct mapped *m, unsigned *n, unsigned max, dev_t dev, ino_t ino)
{
	for (unsigned i = 0; i < *n; i++)
		if (m[i].dev == dev && m[i].ino == ino)
			return true;
	if (*n < max) {
		m[*n].dev = dev;
		m[*n].ino = ino;
		(*n)++;
	}
	return false;
}

/* Whether a file that is a CPython can be decoded: its layout, or the fallback's checks. */
static int judge(struct st_pyelf *py, const char **reason)
{
	struct st_layout lo;

	if (!py->nsites) /* no probe: uprobes on its audit functions, if it has them */
		return st_fallback_usable(py, reason);
	return st_layout_fill(py, &lo, reason) ? -EPROTONOSUPPORT : 0;
}

int st_find_python(pid_t pid, unsigned flags, struct st_pyelf *py, char *err, size_t errlen)
{
	char path[64], exe[PATH_MAX] = "?", line[PATH_MAX + 128], why[PATH_MAX + 128] = "";
	struct st_pyelf *cand = malloc(sizeof(*cand)), *nop = malloc(sizeof(*nop));
	struct mapped seen[128];
	unsigned nseen = 0;
	bool have_nop = false;
	const char *reason = NULL;
	struct stat est;
	FILE *maps = NULL;
	ssize_t n;
	int ret;

	if (!cand || !nop) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (!maps) {
		ret = -errno;
		if (errno == ENOENT || errno == ESRCH) {
			snprintf(err, errlen, "no process with PID %d", pid);
			ret = -ESRCH;
		} else {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		}
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = 0;
	/*
	 * Any file may hold the interpreter: Debian's python3.X has it linked in,
	 * shared builds and embedders map a libpython, perhaps renamed or vendored
	 * (libscripting.so). Judged by content, each file once per run. The
	 * executable first, then every executable mapping; one with the probe wins.
	 */
	if (!stat(path, &est)) {
		mapped_before(seen, &nseen, 128, est.st_dev, est.st_ino);
		if (st_pyelf_lookup(path, exe, cand) > 0) {
			if (cand->nsites)
				goto found;
			*nop = *cand;
			have_nop = true;
		}
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end, ino;
		unsigned maj, min;
		char perms[8], file[PATH_MAX];

		/* Executable mappings of files only: not data, [vdso], [stack], anonymous. */
		if (sscanf(line, "%lx-%lx %7s %*s %x:%x %lu %4095[^\n]", &start, &end, perms, &maj,
			   &min, &ino, file) != 7 ||
		    perms[2] != 'x' || file[0] != '/' ||
		    mapped_before(seen, &nseen, 128, makedev(maj, min), (ino_t)ino))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, start, end);
		if (st_pyelf_lookup(path, file, cand) <= 0)
			continue;
		if (cand->nsites)
			goto found;
		if (!have_nop) {
			*nop = *cand;
			have_nop = true;
		}
	}
	/* Just exec'd: the libraries are not mapped yet. What the executable links, then. */
	if (!have_nop && (flags & ST_FIND_NEEDED) && find_needed(pid, exe, cand)) {
		if (cand->nsites)
			goto found;
		*nop = *cand;
		have_nop = true;
	}
	if (have_nop) {
		/* No probe: uprobes on its audit functions instead, if it has them (user/fallback.c). */
		*cand = *nop;
		ret = judge(cand, &reason);
		if (!ret)
			goto accepted;
		if (ret == -EPROTONOSUPPORT) { /* probe-able, but its objects cannot be decoded */
			*py = *cand;
			ret = refuse(pid, exe, py, reason, err, errlen);
			goto out;
		}
		*py = *nop; /* the caller may still show its version */
		snprintf(why, sizeof(why), "%s", reason);
	} else if (looks_like_python_name(exe)) {
		memset(py, 0, sizeof(*py));
		snprintf(why, sizeof(why), "%s",
			 "none of its files has PySys_Audit: audit events came with CPython 3.8");
	} else {
		snprintf(err, errlen, "PID %d (%s) is not a Python process", pid, exe);
		ret = -ENOENT;
		goto out;
	}
	/* The executable is what the user knows the process by; the library, what was judged. */
	bool other = have_nop && nop->file[0] && strcmp(nop->file, exe);

	snprintf(err, errlen,
		 "PID %d runs %s%s%s%s, a Python built without the python:audit probe "
		 "(configure --with-dtrace) whose audit functions cannot be probed "
		 "instead (%s); use an interpreter that has the probe, such as "
		 "Debian's /usr/bin/python3",
		 pid, exe, other ? " (CPython in " : "", other ? nop->file : "", other ? ")" : "",
		 why);
	ret = -ENOTSUP;
	goto out;
found:
	/* A probe: taken only if its objects can be decoded. */
	if (judge(cand, &reason)) {
		*py = *cand;
		ret = refuse(pid, exe, py, reason, err, errlen);
		goto out;
	}
accepted:
	*py = *cand;
	ret = 0;
out:
	if (maps)
		fclose(maps);
	free(cand);
	free(nop);
	return ret;
}

int st_discover_file(const char *path, const char *file, struct st_plan *plan, char *err,
		     size_t errlen)
{
	const char *reason = NULL;
	int ret = st_pyelf_lookup(path, file, &plan->py);

	if (ret <= 0) {
		snprintf(err, errlen, "%s is not a CPython interpreter", file);
		return -ENOENT;
	}
	ret = judge(&plan->py, &reason);
	if (ret == -EPROTONOSUPPORT)
		plan->py.refusal = reason;
	if (ret) {
		snprintf(err, errlen, "%s (CPython %s) cannot be traced: %s", file,
			 plan->py.version[0] ? plan->py.version : "of unknown version", reason);
		return ret;
	}
	return st_plan_make(&plan->py, plan, err, errlen);
}

int st_plan_make(const struct st_pyelf *py, struct st_plan *plan, char *err, size_t errlen)
{
	struct st_pyelf *lay = malloc(sizeof(*lay));
	const char *why = NULL;
	int ret = 0;

	if (!lay) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (&plan->py != py)
		plan->py = *py;
	*lay = *py;
	if (py->fallback) {
		struct st_fb_point pts[ST_MAX_SITES];
		int n = st_fallback_points(py, pts, ST_MAX_SITES, &why);

		if (n < 0) {
			snprintf(err, errlen, "cannot probe %s: %s", py->path, why);
			ret = n;
			goto out;
		}
		plan->kind = ST_PLAN_FALLBACK;
		plan->npoints = (unsigned)n;
		plan->ref_ctr = 0;
		/* The slot's sites are the uprobe addresses: the program derives the bias from them. */
		lay->nsites = (unsigned)n;
		for (int i = 0; i < n; i++) {
			lay->sites[i] = pts[i].addr;
			plan->off[i] = pts[i].off;
			plan->cookie[i] = ST_FB_COOKIE(0, i, pts[i].kind, pts[i].spadj);
			snprintf(plan->what[i], sizeof(plan->what[i]), "%s+%u",
				 st_fallback_fn_name(pts[i].fn), pts[i].delta);
		}
	} else {
		plan->kind = ST_PLAN_PROBE;
		plan->npoints = py->nsites < ST_MAX_SITES ? py->nsites : ST_MAX_SITES;
		plan->ref_ctr = py->semaphore ? py->sem_off : 0;
		for (unsigned i = 0; i < plan->npoints; i++) {
			plan->off[i] = py->site_off[i];
			plan->cookie[i] = ST_SITE_COOKIE(0, i);
			snprintf(plan->what[i], sizeof(plan->what[i]), "python:audit");
		}
	}
	if (!plan->npoints) {
		snprintf(err, errlen, "%s has nowhere to attach", py->path);
		ret = -ENOTSUP;
		goto out;
	}
	if (st_layout_fill(lay, &plan->layout, &why)) {
		snprintf(err, errlen, "cannot decode %s (CPython %s): %s",
			 py->file[0] ? py->file : py->path,
			 py->version[0] ? py->version : "of unknown version", why);
		ret = -ENOTSUP;
	}
out:
	free(lay);
	return ret;
}

int st_discover(pid_t pid, unsigned flags, struct st_plan *plan, char *err, size_t errlen)
{
	int ret = st_find_python(pid, flags, &plan->py, err, errlen);

	return ret ? ret : st_plan_make(&plan->py, plan, err, errlen);
}

int st_list_process(pid_t pid, char *line, size_t len)
{
	char path[64], exe[PATH_MAX] = "?", err[PATH_MAX + 256], user[32], reason[256];
	struct st_pyelf py;
	const char *how;
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
	ret = st_find_python(pid, 0, &py, err, sizeof(err));
	if (ret == -ENOENT || ret == -ESRCH)
		return 0;
	if (ret == -EPROTONOSUPPORT) {
		/* The reason alone: what to do follows the ';' (layout.h). */
		snprintf(reason, sizeof(reason), "no: %.*s", (int)strcspn(py.refusal, ";"),
			 py.refusal);
		how = reason;
	} else if (ret == -ENOTSUP) {
		how = "no: built without the python:audit probe";
	} else if (ret) {
		memset(&py, 0, sizeof(py));
		how = "no: cannot be read";
	} else if (py.fallback) {
		how = "uprobes: built without the python:audit probe";
	} else {
		how = "probe"; /* st_find_python() refused any layout it could not fill */
	}
	/* An embedder, or a shared build: say which of its files is the interpreter. */
	snprintf(line, len, "%-8d %-12s %-10s %-40s %s%s%s%s", pid, user,
		 py.version[0] ? py.version : "?", how, exe,
		 py.file[0] && strcmp(py.file, exe) ? " (CPython in " : "",
		 py.file[0] && strcmp(py.file, exe) ? py.file : "",
		 py.file[0] && strcmp(py.file, exe) ? ")" : "");
	return 1;
}
