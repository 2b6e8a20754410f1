// SPDX-License-Identifier: MIT
/*
 * The uprobe fallback's userspace side: which file, which functions, where
 * in them, and the attachment. The BPF side is bpf/fallback.bpf.h.
 *
 * Attach points, per binary (the symbols are in .symtab: pyenv builds are
 * unstripped):
 *   3.9+: sys_audit_tstate(ts, event, fmt, va_list), which PySys_Audit and
 *         _PySys_Audit both call: every C-level event passes there;
 *   3.8:  PySys_Audit(event, fmt, ...), the funnel then;
 *   all:  sys_audit(self, args, nargs), behind Python-level sys.audit(),
 *         which returns before the funnel when no hook is installed.
 * Without sys_audit_tstate (a stripped .symtab), PySys_Audit and, if named,
 * _PySys_Audit; stripped builds keep only .dynsym, where PySys_Audit alone
 * is: the events CPython raises through _PySys_Audit (import, exec,
 * compile, sys.addaudithook, ...) and Python-level sys.audit() are missed.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fallback.h"
#include "layout.h"
#include "prologue.h"
#include "seatrace.skel.h"

/* Bytes of a function's start read to place its probe. */
#define PROLOGUE_MAX 64

static const char *const fn_names[ST_FN_MAX] = {
    [ST_FN_SYS_AUDIT_TSTATE] = "sys_audit_tstate",
    [ST_FN_SYS_AUDIT] = "sys_audit",
    [ST_FN_PYSYS_AUDIT] = "PySys_Audit",
    [ST_FN__PYSYS_AUDIT] = "_PySys_Audit",
};

/* Registers each kind of probe reads, which must still hold the arguments where it sits. */
static unsigned kind_regs(unsigned kind)
{
	const unsigned args6 = ST_REGBIT(ST_RDI) | ST_REGBIT(ST_RSI) | ST_REGBIT(ST_RDX) |
			       ST_REGBIT(ST_RCX) | ST_REGBIT(ST_R8) | ST_REGBIT(ST_R9);

	switch (kind) {
	case ST_FB_TSTATE:
		return ST_REGBIT(ST_RDI) | ST_REGBIT(ST_RSI) | ST_REGBIT(ST_RDX) |
		       ST_REGBIT(ST_RCX);
	case ST_FB_SYS_AUDIT:
		return ST_REGBIT(ST_RSI) | ST_REGBIT(ST_RDX);
	default:
		return args6;
	}
}

static int add_point(const struct st_pyelf *py, int fd, unsigned fn, unsigned kind,
		     struct st_fb_point *p)
{
	const struct st_pyelf_fn *f = &py->fn[fn];
	unsigned char code[PROLOGUE_MAX];
	size_t want = f->size && f->size < sizeof(code) ? f->size : sizeof(code);
	ssize_t n = pread(fd, code, want, (off_t)f->off);
	unsigned spadj = 0;
	size_t delta = n > 0 ? st_prologue_probe(code, (size_t)n, kind_regs(kind), &spadj) : 0;

	if (n <= 0)
		return -1;
	p->addr = f->addr + delta;
	p->off = f->off + delta;
	p->fn = fn;
	p->kind = kind;
	p->delta = (unsigned)delta;
	p->spadj = spadj;
	return 0;
}

int st_fallback_points(const struct st_pyelf *py, struct st_fb_point *pts, int max,
		       const char **why)
{
	unsigned minor = (py->version_hex >> 16) & 0xff;
	int n = 0, fd;

	if (py->version_hex >> 24 == 3 && minor < 8) {
		*why = "CPython before 3.8 raises no audit events";
		return -ENOTSUP;
	}
	if (!py->fn[ST_FN_SYS_AUDIT_TSTATE].addr && !py->fn[ST_FN_PYSYS_AUDIT].addr) {
		*why = "its symbol tables name neither sys_audit_tstate nor PySys_Audit";
		return -ENOTSUP;
	}
	if (max < 3) {
		*why = "too many attach points";
		return -E2BIG;
	}
	fd = open(py->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = "its file cannot be read";
		return -ENOTSUP;
	}
	if (py->fn[ST_FN_SYS_AUDIT_TSTATE].addr) {
		/* 3.9+: the one funnel of C-level events. */
		if (!add_point(py, fd, ST_FN_SYS_AUDIT_TSTATE, ST_FB_TSTATE, &pts[n]))
			n++;
	} else {
		/* 3.8, or sys_audit_tstate not named: PySys_Audit, and _PySys_Audit when named. */
		if (!add_point(py, fd, ST_FN_PYSYS_AUDIT, ST_FB_VARIADIC, &pts[n]))
			n++;
		if (py->fn[ST_FN__PYSYS_AUDIT].addr &&
		    !add_point(py, fd, ST_FN__PYSYS_AUDIT, ST_FB_VARIADIC_TS, &pts[n]))
			n++;
	}
	if (py->fn[ST_FN_SYS_AUDIT].addr && n &&
	    !add_point(py, fd, ST_FN_SYS_AUDIT, ST_FB_SYS_AUDIT, &pts[n]))
		n++;
	close(fd);
	if (!n) {
		*why = "its audit functions cannot be read from its file";
		return -ENOTSUP;
	}
	return n;
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
 * The version, when pyelf.c found no PY_VERSION literal: shared builds
 * (pyenv) let the linker merge "3.11.7" into the tail of a longer string
 * such as the prefix "/root/.pyenv/versions/3.11.7". The minor version is
 * in the cache tag literal "cpython-311"; a string of .rodata ending in
 * "3.11.N" gives the patch level when only one N appears (else ".0"). Only
 * the minor version matters to the object layouts.
 */
static void guess_version(struct st_pyelf *py)
{
	unsigned minor = 0, patch = 0, npatch = 0;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf;
	int fd = open(py->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			Elf_Data *d;
			const char *nm, *p, *end;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
				continue;
			nm = elf_strptr(elf, shstrndx, sh.sh_name);
			if (!nm || strcmp(nm, ".rodata") || !(d = elf_getdata(scn, NULL)) ||
			    !d->d_buf)
				continue;
			p = d->d_buf;
			end = p + d->d_size;
			for (const char *s = p; s < end;) {
				const char *z = memchr(s, 0, (size_t)(end - s));
				unsigned ma, mi, pa;
				char tail[8];
				int used = 0;

				if (!z)
					break;
				if (pass == 0 && !minor && (size_t)(z - s) <= 11 &&
				    sscanf(s, "cpython-3%u%n", &mi, &used) == 1 && s + used == z &&
				    mi < 100)
					minor = mi;
				/* pass 1: "...3.M.P" at the end, after a character that is not part of it */
				for (const char *t = z - 1;
				     pass == 1 && minor && t > s && z - t < 12; t--) {
					if (t[0] != '3' || t[1] != '.' ||
					    (t > s &&
					     (t[-1] == '.' || (unsigned)(t[-1] - '0') < 10u)))
						continue;
					if (sscanf(t, "%u.%u.%u%7s", &ma, &mi, &pa, tail) == 3 &&
					    mi == minor && !strchr(t, '+')) {
						if (npatch && pa != patch)
							npatch = 100;
						patch = pa;
						npatch++;
					}
				}
				s = z + 1;
			}
		}
	}
	if (minor) {
		if (npatch && npatch < 100) {
			snprintf(py->version, sizeof(py->version), "3.%u.%u", minor, patch);
		} else {
			patch = 0;
			snprintf(py->version, sizeof(py->version), "3.%u", minor);
		}
		py->version_hex = 3u << 24 | minor << 16 | (patch & 0xff) << 8 | 0xf0;
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
}

/* A usable fallback file: a CPython whose audit functions and layout seatrace knows. */
static int usable(struct st_pyelf *py, const char **why)
{
	struct st_fb_point pts[ST_MAX_SITES];
	struct st_layout lo;
	int n;

	if (!py->is_python) {
		*why = "it is not a CPython binary";
		return -ENOTSUP;
	}
	if (!py->version_hex)
		guess_version(py);
	n = st_fallback_points(py, pts, ST_MAX_SITES, why);
	if (n < 0)
		return n;
	/* The layout check wants the sites: the uprobe addresses stand for them. */
	py->nsites = (unsigned)n;
	for (int i = 0; i < n; i++)
		py->sites[i] = pts[i].addr;
	if (st_layout_fill(py, &lo, why)) {
		py->nsites = 0;
		py->refusal = *why;
		return -EPROTONOSUPPORT;
	}
	py->nsites = 0;
	py->fallback = true;
	return 0;
}

/*
 * The libpython `exe` names in DT_NEEDED, looked up as ld.so does: DT_RPATH
 * (without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, then the usual system
 * directories (ld.so.cache is not read).
 */
static int find_needed(pid_t pid, const struct st_pyelf *exe, const char *origin,
		       struct st_pyelf *py)
{
	char env[8192] = "", *ldlp = NULL, path[64];
	const char *lists[4];
	int nl = 0;
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
	if (exe->rpath[0] && !exe->runpath[0])
		lists[nl++] = exe->rpath;
	if (ldlp && *ldlp)
		lists[nl++] = ldlp;
	if (exe->runpath[0])
		lists[nl++] = exe->runpath;
	lists[nl++] = "/usr/local/lib:/usr/local/lib64:/lib/x86_64-linux-gnu:"
		      "/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib";
	for (int l = 0; l < nl; l++) {
		const char *s = lists[l];

		while (*s) {
			size_t len = strcspn(s, ":");
			char dir[PATH_MAX], file[PATH_MAX * 2], full[PATH_MAX * 2 + 64];

			if (len && !st_expand_origin(s, len, origin, dir, sizeof(dir))) {
				snprintf(file, sizeof(file), "%s/%s", dir[0] ? dir : ".",
					 exe->needed_libpython);
				in_root(pid, file, full, sizeof(full));
				if (!access(full, R_OK) && !st_pyelf_read(full, py))
					return 0;
			}
			s += len;
			if (*s == ':')
				s++;
		}
	}
	return -ENOENT;
}

int st_fallback_find(pid_t pid, struct st_pyelf *py, char *why, size_t whylen)
{
	char path[64], line[PATH_MAX + 128], exe_path[PATH_MAX] = "", origin[PATH_MAX];
	const char *reason =
	    "none of its files has PySys_Audit: audit events came with CPython 3.8";
	struct st_pyelf *cand = malloc(sizeof(*cand)), *exe = malloc(sizeof(*exe));
	struct st_pyelf *refused = malloc(sizeof(*refused));
	unsigned long last_ino = 0;
	FILE *maps;
	ssize_t n;
	int ret = -ENOTSUP;

	if (!cand || !exe || !refused) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	refused->refusal = NULL;
	/* A libpython it maps already (-p, system-wide), or a static build's executable. */
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long start, end, ino;
		char file[PATH_MAX];

		/* A file is mapped several times (text, data...): read once. */
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %4095[^\n]", &start, &end, &ino, file) != 4 ||
		    file[0] != '/' || !strstr(file, "python") || ino == last_ino)
			continue;
		last_ino = ino;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, start, end);
		if (st_pyelf_read(path, cand) || !cand->is_python)
			continue;
		snprintf(cand->name, sizeof(cand->name), "%s", file);
		ret = usable(cand, &reason);
		if (!ret)
			break;
		/* Kept to name it: cand is read over by the next file. */
		if (ret == -EPROTONOSUPPORT)
			*refused = *cand;
	}
	if (maps)
		fclose(maps);
	if (ret) {
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		n = readlink(path, exe_path, sizeof(exe_path) - 1);
		exe_path[n > 0 ? n : 0] = 0;
		if (!st_pyelf_read(path, exe)) {
			if (n > 0)
				snprintf(exe->name, sizeof(exe->name), "%s", exe_path);
			if (exe->is_python) {
				*cand = *exe;
				ret = usable(cand, &reason);
				if (ret == -EPROTONOSUPPORT)
					*refused = *cand;
			} else if (exe->needed_libpython[0]) {
				/* Just exec'd: libpython is not mapped yet. Attach to its file all the same. */
				snprintf(origin, sizeof(origin), "%s", exe_path);
				if (strrchr(origin, '/'))
					*strrchr(origin, '/') = 0;
				if (!find_needed(pid, exe, origin, cand)) {
					ret = usable(cand, &reason);
					if (ret == -EPROTONOSUPPORT)
						*refused = *cand;
				} else
					reason = "the libpython it needs cannot be found";
			}
		}
	}
	if (ret && refused->refusal) {
		/* A file it could probe but not decode says more than one without audit functions. */
		*py = *refused;
		reason = refused->refusal;
		ret = -EPROTONOSUPPORT;
	}
	if (!ret)
		*py = *cand;
	else
		snprintf(why, whylen, "%s", reason);
out:
	free(cand);
	free(exe);
	free(refused);
	return ret;
}

int st_fallback_attach(struct st_attach *a, pid_t pid, const struct st_pyelf *py, char *err,
		       size_t errlen)
{
	struct bpf_program *prog =
	    a->floor ? a->skel->progs.audit_fallback_floor : a->skel->progs.audit_fallback;
	struct st_fb_point pts[ST_MAX_SITES];
	struct st_pyelf *lay;
	const char *why = NULL;
	unsigned first = a->nlinks;
	int n, slot;

	n = st_fallback_points(py, pts, ST_MAX_SITES, &why);
	if (n < 0) {
		snprintf(err, errlen, "cannot probe %s: %s", py->path, why);
		return n;
	}
	if (a->nlinks + (unsigned)n > ST_MAX_LINKS) {
		snprintf(err, errlen, "too many attachments (at most %d)", ST_MAX_LINKS);
		return -E2BIG;
	}
	lay = malloc(sizeof(*lay));
	if (!lay) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* The slot's sites are the uprobe addresses: the program derives the load bias from them. */
	*lay = *py;
	lay->nsites = (unsigned)n;
	for (int i = 0; i < n; i++)
		lay->sites[i] = pts[i].addr;
	slot = st_attach_slot(a, lay, err, errlen);
	free(lay);
	if (slot < 0)
		return slot;
	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts);
		struct bpf_link *link;

		opts.bpf_cookie = ST_FB_COOKIE(slot, i, pts[i].kind, pts[i].spadj);
		link =
		    bpf_program__attach_uprobe_opts(prog, pid, py->path, (size_t)pts[i].off, &opts);
		if (!link) {
			int ret = -errno;

			snprintf(err, errlen, "cannot attach a uprobe to %s+%u in %s: %s",
				 fn_names[pts[i].fn], pts[i].delta, py->path, strerror(-ret));
			while (a->nlinks > first)
				bpf_link__destroy(a->links[--a->nlinks]);
			return ret;
		}
		a->links[a->nlinks++] = link;
	}
	return 0;
}
