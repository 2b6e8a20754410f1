// SPDX-License-Identifier: MIT
/* Small helpers every layer shares (say.h). */
#include "say.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void st_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("seatrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t st_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void st_proc_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	if (!len)
		return;
	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}
