// SPDX-License-Identifier: MIT
/* Known event names in an interpreter file's read-only segments (ronames.h). */
#include "ronames.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "events.h"

/* The known names in one segment's bytes, mapped at `vaddr`. */
static int find_in(const char *buf, size_t size, uint64_t vaddr, uint64_t ro_lo, uint64_t ro_hi,
		   size_t max_len, st_ronames_cb cb, void *arg)
{
	size_t n, found = 0;
	const struct st_known_event *t = st_events_table(&n);

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(t[i].name);
		const char *p = buf, *end = buf + size;

		if (!len || len >= max_len)
			continue;
		/* The name and its NUL: a C string that is exactly this name. */
		while ((size_t)(end - p) > len &&
		       (p = memmem(p, (size_t)(end - p), t[i].name, len + 1))) {
			uint64_t at = vaddr + (uint64_t)(p - buf);
			int r;

			if (at >= ro_lo && at + len < ro_hi) {
				r = cb(arg, at, t[i].name, len);
				if (r < 0)
					return r;
				found++;
			}
			p++;
		}
	}
	return (int)found;
}

int st_ronames_find(const char *path, uint64_t ro_lo, uint64_t ro_hi, size_t max_len,
		    st_ronames_cb cb, void *arg)
{
	int fd, ret = 0, total = 0;
	bool data_only = false;
	size_t nph = 0;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_getphdrnum(elf, &nph)) {
		ret = -ENOEXEC;
		goto out;
	}
	/*
	 * String literals lie in a segment that is not executable when the file has one (the
	 * usual layout): the code is not searched then, a third of the time for python3.11.
	 */
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    !(ph.p_flags & (PF_W | PF_X)) && ph.p_vaddr + ph.p_filesz > ro_lo &&
		    ph.p_vaddr < ro_hi)
			data_only = true;
	}
	for (size_t i = 0; i < nph && ret >= 0; i++) {
		GElf_Phdr ph;
		size_t size;
		char *raw;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || (ph.p_flags & PF_W) ||
		    (data_only && (ph.p_flags & PF_X)) || ph.p_vaddr + ph.p_filesz <= ro_lo ||
		    ph.p_vaddr >= ro_hi)
			continue;
		raw = elf_rawfile(elf, &size);
		if (!raw || ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
			ret = -ENOEXEC;
			break;
		}
		ret = find_in(raw + ph.p_offset, ph.p_filesz, ph.p_vaddr, ro_lo, ro_hi, max_len, cb,
			      arg);
		if (ret > 0)
			total += ret;
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return ret < 0 ? ret : total;
}
