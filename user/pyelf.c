// SPDX-License-Identifier: MIT
/*
 * Interpreter binaries, read with libelf: the python:audit probe sites from
 * the stapsdt notes, the addresses of the objects and types the BPF side
 * recognises by address, and the CPython version. Nothing here touches a
 * process, so a binary can be judged before anything is attached.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pyelf.h"

static const char *const sym_names[ST_T_MAX] = {
	[ST_T_NONE_OBJ] = "_Py_NoneStruct", [ST_T_TRUE_OBJ] = "_Py_TrueStruct",
	[ST_T_FALSE_OBJ] = "_Py_FalseStruct", [ST_T_BOOL] = "PyBool_Type",
	[ST_T_LONG] = "PyLong_Type",	     [ST_T_FLOAT] = "PyFloat_Type",
	[ST_T_STR] = "PyUnicode_Type",	     [ST_T_BYTES] = "PyBytes_Type",
	[ST_T_BYTEARRAY] = "PyByteArray_Type", [ST_T_TUPLE] = "PyTuple_Type",
	[ST_T_LIST] = "PyList_Type",	     [ST_T_DICT] = "PyDict_Type",
	[ST_T_CODE] = "PyCode_Type",
};

/* x86_64 register names as they appear in stapsdt argument strings, all widths. */
static const struct {
	const char *name;
	__u8 reg;
} reg_names[] = {
    {"rax", ST_PREG_AX},  {"eax", ST_PREG_AX},	 {"ax", ST_PREG_AX},	{"al", ST_PREG_AX},
    {"rbx", ST_PREG_BX},  {"ebx", ST_PREG_BX},	 {"bx", ST_PREG_BX},	{"bl", ST_PREG_BX},
    {"rcx", ST_PREG_CX},  {"ecx", ST_PREG_CX},	 {"cx", ST_PREG_CX},	{"cl", ST_PREG_CX},
    {"rdx", ST_PREG_DX},  {"edx", ST_PREG_DX},	 {"dx", ST_PREG_DX},	{"dl", ST_PREG_DX},
    {"rsi", ST_PREG_SI},  {"esi", ST_PREG_SI},	 {"si", ST_PREG_SI},	{"sil", ST_PREG_SI},
    {"rdi", ST_PREG_DI},  {"edi", ST_PREG_DI},	 {"di", ST_PREG_DI},	{"dil", ST_PREG_DI},
    {"rbp", ST_PREG_BP},  {"ebp", ST_PREG_BP},	 {"bp", ST_PREG_BP},	{"bpl", ST_PREG_BP},
    {"rsp", ST_PREG_SP},  {"esp", ST_PREG_SP},	 {"sp", ST_PREG_SP},	{"spl", ST_PREG_SP},
    {"r8", ST_PREG_R8},	  {"r8d", ST_PREG_R8},	 {"r8w", ST_PREG_R8},	{"r8b", ST_PREG_R8},
    {"r9", ST_PREG_R9},	  {"r9d", ST_PREG_R9},	 {"r9w", ST_PREG_R9},	{"r9b", ST_PREG_R9},
    {"r10", ST_PREG_R10}, {"r10d", ST_PREG_R10}, {"r10w", ST_PREG_R10}, {"r10b", ST_PREG_R10},
    {"r11", ST_PREG_R11}, {"r11d", ST_PREG_R11}, {"r11w", ST_PREG_R11}, {"r11b", ST_PREG_R11},
    {"r12", ST_PREG_R12}, {"r12d", ST_PREG_R12}, {"r12w", ST_PREG_R12}, {"r12b", ST_PREG_R12},
    {"r13", ST_PREG_R13}, {"r13d", ST_PREG_R13}, {"r13w", ST_PREG_R13}, {"r13b", ST_PREG_R13},
    {"r14", ST_PREG_R14}, {"r14d", ST_PREG_R14}, {"r14w", ST_PREG_R14}, {"r14b", ST_PREG_R14},
    {"r15", ST_PREG_R15}, {"r15d", ST_PREG_R15}, {"r15w", ST_PREG_R15}, {"r15b", ST_PREG_R15},
    {"rip", ST_PREG_IP},
};

static int reg_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(reg_names) / sizeof(reg_names[0]); i++)
		if (strlen(reg_names[i].name) == len && !memcmp(reg_names[i].name, name, len))
			return reg_names[i].reg;
	return -1;
}

int st_usdt_parse_arg(const char *s, size_t len, struct st_usdt_arg *out)
{
	const char *end = s + len, *at = memchr(s, '@', len), *p;
	char num[32];
	long size;
	long long v;
	char *e;

	memset(out, 0, sizeof(*out));
	if (!at || at == s || (size_t)(at - s) >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, (size_t)(at - s));
	num[at - s] = 0;
	size = strtol(num, &e, 10);
	if (*e || (labs(size) != 1 && labs(size) != 2 && labs(size) != 4 && labs(size) != 8))
		return -EINVAL;
	out->shift = (__u8)(64 - 8 * labs(size));
	out->is_signed = size < 0;
	p = at + 1;
	if (p < end && *p == '$') { /* $imm */
		if ((size_t)(end - p - 1) >= sizeof(num) || end - p - 1 == 0)
			return -EINVAL;
		memcpy(num, p + 1, (size_t)(end - p - 1));
		num[end - p - 1] = 0;
		v = strtoll(num, &e, 0);
		if (*e || v < INT32_MIN || v > INT32_MAX)
			return -EINVAL;
		out->kind = ST_UA_CONST;
		out->off = (__s32)v;
		return 0;
	}
	if (p < end && *p == '%') { /* %reg */
		int r = reg_of(p + 1, (size_t)(end - p - 1));

		if (r < 0 || r == ST_PREG_IP)
			return -EINVAL;
		out->kind = ST_UA_REG;
		out->reg = (__u8)r;
		return 0;
	}
	/* [off](%reg): an address */
	const char *open = memchr(p, '(', (size_t)(end - p));
	int r;

	if (!open || end - open < 4 || end[-1] != ')' || open[1] != '%')
		return -EINVAL;
	v = 0;
	if (open > p) {
		if ((size_t)(open - p) >= sizeof(num))
			return -EINVAL;
		memcpy(num, p, (size_t)(open - p));
		num[open - p] = 0;
		v = strtoll(num, &e, 0);
		if (*e || v < INT32_MIN || v > INT32_MAX)
			return -EINVAL;
	}
	r = reg_of(open + 2, (size_t)(end - open - 3));
	/* %rip-relative operands name a symbol's address, which needs the site's length: unused by CPython. */
	if (r < 0 || r == ST_PREG_IP)
		return -EINVAL;
	out->kind = ST_UA_DEREF;
	out->reg = (__u8)r;
	out->off = (__s32)v;
	return 0;
}

/* The probe's two arguments (event, args) at site `i`, from the note's argument string. */
static void read_site_args(const char *args, size_t max, unsigned i, struct st_pyelf *py)
{
	const char *p = args, *end = args + strnlen(args, max);
	unsigned n = 0;

	while (p < end) {
		const char *tok = p;

		while (p < end && *p != ' ')
			p++;
		if (p > tok) {
			if (n >= 2 ||
			    st_usdt_parse_arg(tok, (size_t)(p - tok), &py->site_arg[i][n]))
				goto bad;
			n++;
		}
		while (p < end && *p == ' ')
			p++;
	}
	if (n == 2)
		return;
bad:
	py->site_arg[i][0].kind = ST_UA_NONE;
	if (!py->bad_args[0])
		snprintf(py->bad_args, sizeof(py->bad_args), "%.*s", (int)(end - args), args);
}

/*
 * The file offset of link-time address `addr`, from the PT_LOAD segment
 * holding it (uprobes and the semaphore's reference counter are placed by
 * file offset); (__u64)-1 when no segment holds it.
 */
static __u64 file_offset(Elf *elf, __u64 addr)
{
	size_t n = 0;

	if (elf_getphdrnum(elf, &n))
		return (__u64)-1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz)
			return ph.p_offset + (addr - ph.p_vaddr);
	}
	return (__u64)-1;
}

/* stapsdt note: pc, base, semaphore (8 bytes each), then provider\0 name\0 args\0. */
static void read_notes(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, __u64 base_addr, bool have_base,
		       struct st_pyelf *py)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	if (!data)
		return;
	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *desc = (const char *)data->d_buf + desc_off;
		const char *owner = (const char *)data->d_buf + name_off;
		__u64 pc, base, sem;
		const char *prov, *name, *args;
		size_t args_len;

		if (nh.n_type != 3 || nh.n_namesz != 8 || memcmp(owner, "stapsdt", 8) ||
		    nh.n_descsz < 3 * 8 + 4)
			continue;
		memcpy(&pc, desc, 8);
		memcpy(&base, desc + 8, 8);
		memcpy(&sem, desc + 16, 8);
		prov = desc + 24;
		if (!memchr(prov, 0, nh.n_descsz - 24))
			continue;
		name = prov + strlen(prov) + 1;
		if ((size_t)(name - desc) >= nh.n_descsz ||
		    !memchr(name, 0, nh.n_descsz - (size_t)(name - desc)))
			continue;
		if (strcmp(prov, "python") || strcmp(name, "audit"))
			continue;
		args = name + strlen(name) + 1;
		if ((size_t)(args - desc) < nh.n_descsz) {
			args_len = nh.n_descsz - (size_t)(args - desc);
		} else {
			args = "";
			args_len = 0;
		}
		/* Prelinked binaries: notes carry the base they were written against. */
		if (have_base) {
			pc += base_addr - base;
			if (sem)
				sem += base_addr - base;
		}
		py->semaphore = sem;
		py->sem_off = sem ? file_offset(elf, sem) : 0;
		if (py->nsites < ST_MAX_SITES) {
			py->site_off[py->nsites] = file_offset(elf, pc);
			read_site_args(args, args_len, py->nsites, py);
			py->sites[py->nsites++] = pc;
		}
	}
	(void)sh;
}

static const char *const audit_fn_names[ST_FN_MAX] = {
	[ST_FN_SYS_AUDIT_TSTATE] = "sys_audit_tstate",
	[ST_FN_SYS_AUDIT] = "sys_audit",
	[ST_FN_PYSYS_AUDIT] = "PySys_Audit",
	[ST_FN__PYSYS_AUDIT] = "_PySys_Audit",
};

/*
 * The audit functions the uprobe fallback attaches to (user/fallback.c).
 * Static names may repeat across objects linked in: a second definition at
 * another address makes the name ambiguous, and it is dropped (addr 0).
 */
static void read_audit_fn(Elf *elf, const GElf_Sym *s, const char *nm, struct st_pyelf *py)
{
	Elf_Scn *scn;
	GElf_Shdr sh;

	for (int f = 0; f < ST_FN_MAX; f++) {
		struct st_pyelf_fn *fn = &py->fn[f];

		if (strcmp(nm, audit_fn_names[f]))
			continue;
		if (fn->off == (__u64)-1 || fn->addr == s->st_value)
			return;
		scn = elf_getscn(elf, s->st_shndx);
		if (fn->addr || !scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    s->st_value < sh.sh_addr || s->st_value - sh.sh_addr >= sh.sh_size) {
			memset(fn, 0, sizeof(*fn));
			fn->off = (__u64)-1; /* ambiguous, or not in the file: unusable */
			return;
		}
		fn->addr = s->st_value;
		fn->size = s->st_size;
		fn->off = sh.sh_offset + (s->st_value - sh.sh_addr);
		return;
	}
}

static void read_symbols(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct st_pyelf *py)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	if (!data)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		const char *nm;

		if (!gelf_getsym(data, (int)i, &s) || !s.st_value || s.st_shndx == SHN_UNDEF)
			continue;
		nm = elf_strptr(elf, sh->sh_link, s.st_name);
		if (nm && nm[0] == 's' && GELF_ST_TYPE(s.st_info) == STT_FUNC)
			read_audit_fn(elf, &s, nm, py);
		if (!nm || (nm[0] != '_' && nm[0] != 'P'))
			continue;
		if (GELF_ST_TYPE(s.st_info) == STT_FUNC)
			read_audit_fn(elf, &s, nm, py);
		for (int t = 0; t < ST_T_MAX; t++)
			if (!py->sym[t] && !strcmp(nm, sym_names[t]))
				py->sym[t] = s.st_value;
		if (!py->runtime && !strcmp(nm, "_PyRuntime"))
			py->runtime = s.st_value;
	}
}

/* "3.11.2" -> 0x030b02f0 (final release); suffixes a/b/rc set the level. */
static __u32 version_hex(const char *v)
{
	unsigned maj = 0, min = 0, mic = 0, serial = 0;
	char lvl[3] = "";
	unsigned level = 0xf;

	if (sscanf(v, "%u.%u.%u%2[abrc]%u", &maj, &min, &mic, lvl, &serial) < 3)
		return 0;
	if (!strcmp(lvl, "a"))
		level = 0xa;
	else if (!strcmp(lvl, "b"))
		level = 0xb;
	else if (!strcmp(lvl, "rc"))
		level = 0xc;
	return maj << 24 | min << 16 | mic << 8 | level << 4 | (serial & 0xf);
}

/*
 * PY_VERSION is a string literal of its own in every build ("3.11.2",
 * "3.13.0rc1"), used by Py_GetVersion(). Find the 3.x.y literals in the
 * read-only data (3.6 and later: other libraries linked in carry their own
 * "3.2.0"-like versions); refuse to guess when there is more than one.
 */
static void find_version(Elf *elf, size_t shstrndx, struct st_pyelf *py)
{
	Elf_Scn *scn = NULL;
	regex_t re;
	char found[32] = "";
	int nfound = 0;

	if (regcomp(&re, "^3\\.([6-9]|[1-9][0-9])\\.[0-9]{1,2}((a|b|rc)[0-9]{1,2})?\\+?$",
		    REG_EXTENDED | REG_NOSUB))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *nm;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		nm = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!nm || strcmp(nm, ".rodata") || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
			continue;
		const char *p = d->d_buf, *end = p + d->d_size;

		for (const char *s = p; s < end;) {
			const char *z = memchr(s, 0, (size_t)(end - s));
			size_t len;

			if (!z)
				break;
			len = (size_t)(z - s);
			if (len >= 5 && len < sizeof(found) && s[0] == '3' && (s == p || s[-1] == 0)) {
				char buf[32];

				memcpy(buf, s, len);
				buf[len] = 0;
				if (!regexec(&re, buf, 0, NULL, 0) && strcmp(buf, found)) {
					if (!nfound || !found[0])
						strcpy(found, buf);
					nfound++;
				}
			}
			s = z + 1;
		}
	}
	regfree(&re);
	if (nfound == 1) {
		snprintf(py->version, sizeof(py->version), "%s", found);
		py->version_hex = version_hex(found);
	}
}

/* 3.13+: _Py_DebugOffsets opens .PyRuntime: "xdebugpy", version, free_threaded. */
static void read_debug_offsets(Elf_Scn *scn, struct st_pyelf *py)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	__u64 ver;

	if (!d || !d->d_buf || d->d_size < 24 || memcmp(d->d_buf, "xdebugpy", 8))
		return;
	memcpy(&ver, (const char *)d->d_buf + 8, 8);
	py->has_debug_offsets = true;
	py->debug_len = d->d_size < sizeof(py->debug) ? d->d_size : sizeof(py->debug);
	memcpy(py->debug, d->d_buf, py->debug_len);
	py->version_hex = (__u32)ver;
	py->free_threaded = ((const char *)d->d_buf)[16] != 0;
	snprintf(py->version, sizeof(py->version), "%u.%u.%u", (unsigned)(ver >> 24) & 0xff,
		 (unsigned)(ver >> 16) & 0xff, (unsigned)(ver >> 8) & 0xff);
}

static void read_needed(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct st_pyelf *py)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0, used = 0;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Dyn dyn;
		const char *nm;

		if (!gelf_getdyn(d, (int)i, &dyn))
			continue;
		/* Where the loader looks for it: the uprobe fallback finds libpython before it is mapped. */
		if (dyn.d_tag == DT_RPATH || dyn.d_tag == DT_RUNPATH) {
			nm = elf_strptr(elf, sh->sh_link, dyn.d_un.d_val);
			if (nm)
				snprintf(dyn.d_tag == DT_RPATH ? py->rpath : py->runpath,
					 sizeof(py->rpath), "%s", nm);
			continue;
		}
		if (dyn.d_tag != DT_NEEDED)
			continue;
		nm = elf_strptr(elf, sh->sh_link, dyn.d_un.d_val);
		if (nm && *nm && used + strlen(nm) + 1 < sizeof(py->needed)) {
			memcpy(py->needed + used, nm, strlen(nm) + 1);
			used += strlen(nm) + 1;
			py->nneeded++;
		}
	}
}

/*
 * The span of the file's read-only, non-writable PT_LOAD segments, link-time
 * addresses: the event names CPython's C code raises are literals there.
 * Bytes in it cannot change while the file is mapped, so the BPF program may
 * remember a name by its address (bpf/record.bpf.h, rec_name_cached()). A
 * writable segment inside the span ends it.
 */
static void read_only_span(Elf *elf, struct st_pyelf *py)
{
	size_t n = 0;
	__u64 lo = ~0ULL, hi = 0;

	if (elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || (ph.p_flags & PF_W))
			continue;
		if (ph.p_vaddr < lo)
			lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_filesz > hi)
			hi = ph.p_vaddr + ph.p_filesz;
	}
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_W))
			continue;
		/* A writable segment overlapping the span: keep only what lies before it. */
		if (ph.p_vaddr < hi && ph.p_vaddr + ph.p_memsz > lo)
			hi = ph.p_vaddr > lo ? ph.p_vaddr : lo;
	}
	if (lo < hi) {
		py->ro_lo = lo;
		py->ro_hi = hi;
	}
}

/* dyn_only: the dynamic section alone (DT_NEEDED and the search paths), nothing else. */
static int read_elf(const char *path, struct st_pyelf *py, bool dyn_only)
{
	Elf_Scn *scn = NULL, *notes = NULL, *pyrt = NULL;
	GElf_Shdr notes_sh;
	__u64 base_addr = 0;
	bool have_base = false;
	size_t shstrndx;
	struct stat st;
	Elf *elf = NULL;
	int fd, err = 0;

	memset(py, 0, sizeof(*py));
	snprintf(py->path, sizeof(py->path), "%s", path);
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	py->dev = st.st_dev;
	py->ino = st.st_ino;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto out;
	}
	{
		GElf_Ehdr eh;

		if (gelf_getehdr(elf, &eh))
			py->dynamic = eh.e_type == ET_DYN;
	}
	if (!dyn_only)
		read_only_span(elf, py);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *nm;

		if (!gelf_getshdr(scn, &sh))
			continue;
		nm = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!nm)
			continue;
		if (dyn_only) {
			if (sh.sh_type == SHT_DYNAMIC)
				read_needed(elf, scn, &sh, py);
		} else if (sh.sh_type == SHT_NOTE && !strcmp(nm, ".note.stapsdt")) {
			notes = scn;
			notes_sh = sh;
		} else if (!strcmp(nm, ".stapsdt.base")) {
			base_addr = sh.sh_addr;
			have_base = true;
		} else if (!strcmp(nm, ".PyRuntime")) {
			pyrt = scn;
		} else if (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB) {
			read_symbols(elf, scn, &sh, py);
		} else if (sh.sh_type == SHT_DYNAMIC) {
			read_needed(elf, scn, &sh, py);
		}
	}
	if (dyn_only)
		goto out;
	if (notes)
		read_notes(elf, notes, &notes_sh, base_addr, have_base, py);
	if (pyrt)
		read_debug_offsets(pyrt, py);
	if (!py->version_hex)
		find_version(elf, shstrndx, py);
	/* CPython defines these in every build; their presence is what makes it one. */
	py->is_python = py->sym[ST_T_NONE_OBJ] && py->sym[ST_T_TUPLE] && py->sym[ST_T_STR];
	for (int f = 0; f < ST_FN_MAX; f++)
		if (py->fn[f].off == (__u64)-1) /* ambiguous: as if absent */
			memset(&py->fn[f], 0, sizeof(py->fn[f]));
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

int st_pyelf_read(const char *path, struct st_pyelf *py)
{
	return read_elf(path, py, false);
}

int st_pyelf_read_needed(const char *path, struct st_pyelf *py)
{
	return read_elf(path, py, true);
}

/*
 * The cheap test before reading symbols: the python:audit note ("python\0audit\0" in its
 * description), or _Py_NoneStruct, which every CPython defines, named in a string table
 * (.dynstr of shared builds, .strtab of unstripped static ones). Only the section headers and
 * those sections are touched: most files mapped by most processes stop here.
 */
static bool maybe_cpython(int fd)
{
	static const char note[] = "python\0audit", sym[] = "_Py_NoneStruct";
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	bool yes = false;

	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx))
		goto out;
	while (!yes && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *nm;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_NOTE && sh.sh_type != SHT_STRTAB))
			continue;
		nm = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_NOTE && (!nm || strcmp(nm, ".note.stapsdt")))
			continue;
		d = elf_rawdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		/* Both needles with their terminating NUL: whole names only. */
		if (sh.sh_type == SHT_NOTE)
			yes = memmem(d->d_buf, d->d_size, note, sizeof(note)) != NULL;
		else
			yes = memmem(d->d_buf, d->d_size, sym, sizeof(sym)) != NULL;
	}
out:
	if (elf)
		elf_end(elf);
	return yes;
}

/* Verdicts of this run, by file identity. A Python's entry keeps what st_pyelf_read() found. */
struct verdict {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct st_pyelf *py; /* NULL: not a CPython */
	bool used;
};

/* A host has hundreds of distinct mapped files, rarely many thousands; past this, start over. */
#define VERDICTS_MAX (1u << 16)

static struct verdict *verdicts;
static size_t nverdicts, verdicts_cap;

static size_t verdict_hash(const struct stat *st)
{
	uint64_t h = (uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)st->st_dev;

	return (size_t)(h ^ h >> 29);
}

static bool same_file(const struct verdict *v, const struct stat *st)
{
	return v->dev == st->st_dev && v->ino == st->st_ino && v->size == st->st_size &&
	       v->mtime.tv_sec == st->st_mtim.tv_sec && v->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void verdicts_clear(void)
{
	for (size_t i = 0; i < verdicts_cap; i++)
		free(verdicts[i].py);
	free(verdicts);
	verdicts = NULL;
	nverdicts = verdicts_cap = 0;
}

static struct verdict *verdict_find(const struct stat *st)
{
	if (!verdicts_cap)
		return NULL;
	for (size_t i = verdict_hash(st) & (verdicts_cap - 1);; i = (i + 1) & (verdicts_cap - 1)) {
		if (!verdicts[i].used)
			return NULL;
		if (same_file(&verdicts[i], st))
			return &verdicts[i];
	}
}

/* Keeps the verdict; `py` is taken over (freed on failure). Losing one only costs a re-read. */
static void verdict_add(const struct stat *st, struct st_pyelf *py)
{
	size_t i;

	if (nverdicts >= VERDICTS_MAX)
		verdicts_clear();
	if (2 * (nverdicts + 1) > verdicts_cap) {
		size_t cap = verdicts_cap ? 2 * verdicts_cap : 256;
		struct verdict *old = verdicts, *nv = calloc(cap, sizeof(*nv));
		size_t oldcap = verdicts_cap;

		if (!nv) {
			free(py);
			return;
		}
		verdicts = nv;
		verdicts_cap = cap;
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k].used)
				continue;
			struct stat key = { .st_dev = old[k].dev, .st_ino = old[k].ino };

			for (i = verdict_hash(&key) & (cap - 1); nv[i].used; i = (i + 1) & (cap - 1))
				;
			nv[i] = old[k];
		}
		free(old);
	}
	for (i = verdict_hash(st) & (verdicts_cap - 1); verdicts[i].used;
	     i = (i + 1) & (verdicts_cap - 1))
		;
	verdicts[i] = (struct verdict){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
					.mtime = st->st_mtim, .py = py, .used = true };
	nverdicts++;
}

void st_pyelf_forget(dev_t dev, ino_t ino)
{
	struct stat key = { .st_dev = dev, .st_ino = ino };
	size_t mask = verdicts_cap - 1, i, j;

	if (!verdicts_cap)
		return;
	for (i = verdict_hash(&key) & mask; verdicts[i].used; i = (i + 1) & mask) {
		if (verdicts[i].dev != dev || verdicts[i].ino != ino)
			continue;
		free(verdicts[i].py);
		verdicts[i].used = false;
		nverdicts--;
		/* Linear probing: pull back the entries after it that a lookup would miss now. */
		for (j = (i + 1) & mask; verdicts[j].used; j = (j + 1) & mask) {
			struct stat k = { .st_dev = verdicts[j].dev, .st_ino = verdicts[j].ino };
			size_t home = verdict_hash(&k) & mask;

			if (((j - home) & mask) >= ((j - i) & mask)) {
				verdicts[i] = verdicts[j];
				verdicts[j].used = false;
				i = j;
			}
		}
		/* Another verdict of the same file (it changed size or time) may remain: again. */
		i = (verdict_hash(&key) - 1) & mask;
	}
}

int st_pyelf_lookup(const char *path, const char *file, struct st_pyelf *py)
{
	struct st_pyelf *keep;
	struct verdict *v;
	struct stat st;
	bool is_python = false;
	int fd, ret;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	v = verdict_find(&st);
	if (v && !v->py)
		return 0;
	if (v) {
		*py = *v->py;
		goto found;
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = maybe_cpython(fd);
	close(fd);
	if (ret) {
		ret = st_pyelf_read(path, py);
		if (ret && ret != -ENOEXEC)
			return ret; /* unreadable now: judge it again next time */
		is_python = !ret && (py->is_python || py->nsites);
	}
	if (is_python) {
		/* Out of memory: not remembered, read again next time. */
		keep = malloc(sizeof(*keep));
		if (keep) {
			*keep = *py;
			verdict_add(&st, keep);
		}
	} else {
		verdict_add(&st, NULL);
		return 0;
	}
found:
	snprintf(py->path, sizeof(py->path), "%s", path);
	snprintf(py->file, sizeof(py->file), "%s", file ? file : "");
	return 1;
}
