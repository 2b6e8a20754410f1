// SPDX-License-Identifier: MIT
/* Process context from /proc, cached per pid (proctx.h). */
#include "proctx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Entries per bucket: a bucket's least recently used one makes room. */
#define WAYS 4

struct entry {
	bool used;
	uint32_t pid;
	uint64_t read_ns; /* when it was read (the caller's clock) */
	uint64_t used_tick;
	struct st_proc_info info;
};

struct st_proctx {
	char *root;
	unsigned nbuckets; /* a power of two */
	unsigned count;
	uint64_t tick;
	struct entry *e; /* nbuckets * WAYS */
};

/* ------------------------------------------------------------------ container ids */

static bool hex64(const char *s, size_t n)
{
	if (n != ST_CONTAINER_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);

	return n >= l && !memcmp(s, p, l);
}

/* A component that is a runtime's <prefix><id>.scope: the id's start, or NULL. */
static const char *scope_id(const char *s, size_t n)
{
	static const char *const prefixes[] = {"docker-", "cri-containerd-", "crio-", "libpod-"};
	const size_t sl = strlen(".scope");

	if (n < sl || memcmp(s + n - sl, ".scope", sl))
		return NULL;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (has_prefix(s, n, prefixes[i]) && hex64(s + pl, n - pl - sl))
			return s + pl;
	}
	return NULL;
}

/* A component under which a bare 64-hex component is a container (cgroupfs driver). */
static bool runtime_parent(const char *s, size_t n)
{
	return (n == 6 && !memcmp(s, "docker", 6)) || has_prefix(s, n, "kubepods") ||
	       (n == 6 && !memcmp(s, "libpod", 6)) || (n == 4 && !memcmp(s, "crio", 4));
}

bool st_container_id(const char *cgroup, char *id)
{
	const char *found = NULL, *p = cgroup;
	bool under_runtime = false;

	id[0] = '\0';
	if (!cgroup)
		return false;
	while (*p) {
		const char *s, *q;
		size_t n;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (!n)
			continue;
		q = scope_id(s, n);
		if (q)
			found = q;
		else if (under_runtime && hex64(s, n))
			found = s;
		if (runtime_parent(s, n))
			under_runtime = true;
	}
	if (!found)
		return false;
	memcpy(id, found, ST_CONTAINER_ID_MAX);
	id[ST_CONTAINER_ID_MAX] = '\0';
	return true;
}

/* ------------------------------------------------------------------ reading /proc/PID */

/* The whole (small) file root/pid/name into buf, NUL-terminated; its length or -errno. */
static ssize_t read_small(const char *root, uint32_t pid, const char *name, char *buf, size_t cap)
{
	char path[PATH_MAX];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/%s", root, pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)got < cap - 1) {
		n = read(fd, buf + got, cap - 1 - (size_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			got = -errno;
			break;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	if (got >= 0)
		buf[got] = '\0';
	return got;
}

/* The first number after "Key:" at the start of a line of status text; false when absent. */
static bool status_field(const char *text, const char *key, unsigned long *v)
{
	size_t kl = strlen(key);
	const char *p = text;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char *end;

		if (strncmp(p, key, kl) || p[kl] != ':')
			continue;
		*v = strtoul(p + kl + 1, &end, 10);
		return end != p + kl + 1;
	}
	return false;
}

/* The last number of the "NSpid:" line: the pid in the innermost namespace. */
static bool status_nspid(const char *text, unsigned long *v)
{
	const char *p = strstr(text, "\nNSpid:");
	bool any = false;

	if (!p)
		return false;
	p += strlen("\nNSpid:");
	for (;;) {
		char *end;
		unsigned long x;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		x = strtoul(p, &end, 10);
		*v = x;
		any = true;
		p = end;
	}
	return any;
}

void st_proc_info_release(struct st_proc_info *pi)
{
	free(pi->exe);
	free(pi->cgroup);
	memset(pi, 0, sizeof(*pi));
}

int st_proc_info_read(const char *root, uint32_t pid, struct st_proc_info *pi)
{
	char buf[4096], path[PATH_MAX];
	unsigned long v;
	ssize_t n;

	memset(pi, 0, sizeof(*pi));
	n = read_small(root, pid, "status", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* Real ids, as bpf_get_current_uid_gid() gives them to events. */
	if (!status_field(buf, "PPid", &v))
		return -EPROTO;
	pi->ppid = (uint32_t)v;
	if (status_field(buf, "Uid", &v))
		pi->uid = (uint32_t)v;
	if (status_field(buf, "Gid", &v))
		pi->gid = (uint32_t)v;
	if (status_nspid(buf, &v))
		pi->nspid = (uint32_t)v;
	pi->valid = true;

	if (read_small(root, pid, "loginuid", buf, sizeof(buf)) > 0) {
		char *end;

		v = strtoul(buf, &end, 10);
		if (end != buf && v != 4294967295UL) {
			pi->loginuid = (uint32_t)v;
			pi->has_loginuid = true;
		}
	}

	snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		pi->exe = strdup(buf);
	}

	n = read_small(root, pid, "cgroup", buf, sizeof(buf));
	if (n > 0) {
		/* The unified hierarchy's line, "0::/path". */
		char *p = buf;

		while (p && *p) {
			char *nl = strchr(p, '\n');

			if (nl)
				*nl = '\0';
			if (!strncmp(p, "0::", 3)) {
				pi->cgroup = strdup(p + 3);
				break;
			}
			p = nl ? nl + 1 : NULL;
		}
		st_container_id(pi->cgroup, pi->container_id);
	}
	return 0;
}

/* ------------------------------------------------------------------ the cache */

struct st_proctx *st_proctx_new(const char *proc_root, unsigned capacity)
{
	struct st_proctx *c = calloc(1, sizeof(*c));
	unsigned nb = 1;

	if (!c)
		return NULL;
	while (nb * WAYS < capacity && nb < (1u << 20))
		nb <<= 1;
	c->nbuckets = nb;
	c->root = strdup(proc_root ? proc_root : "/proc");
	c->e = calloc((size_t)nb * WAYS, sizeof(*c->e));
	if (!c->root || !c->e) {
		st_proctx_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void st_proctx_free(struct st_proctx *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->e && i < (size_t)c->nbuckets * WAYS; i++)
		st_proc_info_release(&c->e[i].info);
	free(c->e);
	free(c->root);
	free(c);
}

static struct entry *bucket(const struct st_proctx *c, uint32_t pid)
{
	return &c->e[(size_t)((pid * 0x9e3779b9u) & (c->nbuckets - 1)) * WAYS];
}

static void drop(struct st_proctx *c, struct entry *e)
{
	st_proc_info_release(&e->info);
	e->used = false;
	c->count--;
}

const struct st_proc_info *st_proctx_get(struct st_proctx *c, uint32_t pid, uint64_t now_ns)
{
	struct entry *b = bucket(c, pid), *victim = NULL;

	c->tick++;
	for (int i = 0; i < WAYS; i++) {
		struct entry *e = &b[i];

		if (e->used && e->pid == pid) {
			/* Read mid-exec, the exe link can be missing: try again soon. */
			uint64_t age = e->info.valid && !e->info.exe ? ST_PROCTX_RETRY_NS
								     : ST_PROCTX_MAX_AGE_NS;

			if (now_ns - e->read_ns < age || now_ns < e->read_ns) {
				e->used_tick = c->tick;
				return &e->info;
			}
			victim = e;
			break;
		}
		if (!victim || (victim->used && (!e->used || e->used_tick < victim->used_tick)))
			victim = e;
	}
	if (victim->used)
		drop(c, victim);
	victim->used = true;
	victim->pid = pid;
	victim->read_ns = now_ns;
	victim->used_tick = c->tick;
	c->count++;
	st_proc_info_read(c->root, pid, &victim->info);
	return &victim->info;
}

void st_proctx_forget(struct st_proctx *c, uint32_t pid)
{
	struct entry *b;

	if (!c)
		return;
	b = bucket(c, pid);
	for (int i = 0; i < WAYS; i++)
		if (b[i].used && b[i].pid == pid)
			drop(c, &b[i]);
}

unsigned st_proctx_count(const struct st_proctx *c)
{
	return c->count;
}
