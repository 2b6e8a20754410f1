// SPDX-License-Identifier: MIT
/* The process scan (procscan.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "discover.h"
#include "procscan.h"

#define RESCAN_MIN_NS 1000000000ULL
#define RESCAN_SPACING 50

/* Start time and size from /proc/PID/stat (fields 22 and 23): much cheaper than its maps. */
static int read_proc_sig(pid_t pid, struct st_proc_sig *sig)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* The command name may hold anything, ')' included: the fields follow the last one. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1,
			 " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
			 " %*s %llu %lu",
			 &sig->start, &sig->vsize) != 2)
		return -EIO;
	sig->pid = pid;
	return 0;
}

int st_procscan_walk(struct st_procscan *s, bool rescan, st_proc_fn fn, void *ctx, int *nproc)
{
	DIR *d = opendir("/proc");
	struct st_proc_sig *fresh = NULL;
	size_t nfresh = 0, cap = 0, j = 0;
	struct dirent *de;
	int sum = 0;

	*nproc = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct st_proc_sig sig;
		bool have;
		int ret;

		if (*end || pid <= 0 || pid == getpid())
			continue;
		(*nproc)++;
		/* Before its maps are read: a library mapped after this is seen next time. */
		have = !read_proc_sig((pid_t)pid, &sig);
		if (have && nfresh == cap) {
			struct st_proc_sig *more = realloc(fresh, (cap ? 2 * cap : 512) * sizeof(*more));

			if (more) {
				fresh = more;
				cap = cap ? 2 * cap : 512;
			}
		}
		if (have && nfresh < cap)
			fresh[nfresh++] = sig;
		/* /proc lists pids in increasing order: the last look's list is walked along. */
		while (j < s->nsigs && s->sigs[j].pid < pid)
			j++;
		if (rescan && have && j < s->nsigs && s->sigs[j].pid == pid &&
		    s->sigs[j].start == sig.start && s->sigs[j].vsize == sig.vsize)
			continue;
		ret = fn((pid_t)pid, ctx);
		if (ret > 0)
			sum += ret;
	}
	closedir(d);
	free(s->sigs);
	s->sigs = fresh;
	s->nsigs = nfresh;
	return sum;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

void st_procscan_started(struct st_procscan *s, __u64 now_ns)
{
	s->next_rescan = now_ns + RESCAN_MIN_NS;
}

int st_procscan_rescan(struct st_procscan *s, __u64 now_ns, st_proc_fn fn, void *ctx)
{
	__u64 took;
	int nproc, ret;

	if (now_ns < s->next_rescan)
		return -EAGAIN;
	ret = st_procscan_walk(s, true, fn, ctx, &nproc);
	took = mono_ns() - now_ns;
	s->next_rescan = mono_ns() + (took * RESCAN_SPACING > RESCAN_MIN_NS ? took * RESCAN_SPACING
									  : RESCAN_MIN_NS);
	return ret;
}

void st_procscan_free(struct st_procscan *s)
{
	free(s->sigs);
	s->sigs = NULL;
	s->nsigs = 0;
}

int st_list_processes(FILE *out)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -errno;
	fprintf(out, "%-8s %-12s %-10s %-40s %s\n", "PID", "USER", "VERSION", "TRACE",
		"EXECUTABLE");
	while ((de = readdir(d))) {
		char *end, line[PATH_MAX + 512];
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (st_list_process((pid_t)pid, line, sizeof(line)) > 0)
			fprintf(out, "%s\n", line);
	}
	closedir(d);
	return 0;
}
