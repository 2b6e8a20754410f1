// SPDX-License-Identifier: MIT
/*
 * The uprobe fallback's plan: whether a CPython without the probe can be
 * traced, which functions, and where in them the uprobes go (user/attach.c
 * attaches them). The BPF side is bpf/fallback.bpf.c.
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

int st_fallback_usable(struct st_pyelf *py, const char **why)
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
	py->fallback = true;
	if (st_layout_fill(py, &lo, why)) {
		py->nsites = 0;
		py->fallback = false;
		py->refusal = *why;
		return -EPROTONOSUPPORT;
	}
	py->nsites = 0;
	return 0;
}

const char *st_fallback_fn_name(unsigned fn)
{
	return fn < ST_FN_MAX ? fn_names[fn] : "?";
}
