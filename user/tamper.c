// SPDX-License-Identifier: MIT
/* Tamper alerts (tamper.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include "decode.h"
#include "output.h"
#include "tamper.h"

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

int st_tamper_watch(struct st_tamper *tp, pid_t pid, const struct st_pyelf *py)
{
	__u64 addr;
	int ret;

	if (tp->nsems >= ST_TAMPER_MAX_SEMS)
		return -E2BIG;
	ret = st_semaphore_addr(pid, py, &addr);
	if (ret)
		return ret;
	tp->sems[tp->nsems].pid = pid;
	tp->sems[tp->nsems].addr = addr;
	tp->sems[tp->nsems].alerted = false;
	tp->nsems++;
	return 0;
}

/*
 * The kernel raises the semaphore while the probe is attached; a process
 * that writes it back to 0 silences its own audit events. Say so, once.
 */
void st_tamper_check(struct st_tamper *tp, struct st_output *out, __u64 mono_ns)
{
	for (int i = 0; i < tp->nsems; i++) {
		unsigned v;
		char path[64], comm[ST_COMM_LEN] = "";
		FILE *f;

		if (tp->sems[i].alerted || st_semaphore_read(tp->sems[i].pid, tp->sems[i].addr, &v) ||
		    v)
			continue;
		tp->sems[i].alerted = true;
		snprintf(path, sizeof(path), "/proc/%d/comm", tp->sems[i].pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		st_output_alert(out, mono_ns, (__u32)tp->sems[i].pid, (__u32)tp->sems[i].pid, comm,
				"the python:audit probe's semaphore was cleared in the process: its "
				"audit events are no longer reported");
	}
}
