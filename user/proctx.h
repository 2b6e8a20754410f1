/* SPDX-License-Identifier: MIT */
/*
 * The context of a traced process that a fleet needs to attribute its records: parent, ids,
 * executable, cgroup v2 path and container id, pid in its own PID namespace. Read from
 * /proc/PID (status, exe, cgroup, loginuid) the first time a pid is asked for, and kept in a
 * bounded cache: a few entries per bucket, the least recently used one evicted. The reader
 * drops a pid's entry on its exec and exit notices; an entry older than ST_PROCTX_MAX_AGE_NS is
 * read again (a process moved to another cgroup, or pids reused while no notices came).
 */
#ifndef SEATRACE_PROCTX_H
#define SEATRACE_PROCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_PROCTX_MAX_AGE_NS (10 * 1000000000ULL)
/* An entry read without its exe (mid-exec) is read again after this. */
#define ST_PROCTX_RETRY_NS (100 * 1000000ULL)
/* Bytes of a container id: the runtimes' 64 hex digits. */
#define ST_CONTAINER_ID_MAX 64

struct st_proc_info {
	bool valid;	   /* /proc/PID could be read (false: the process was gone) */
	bool has_loginuid; /* a login uid is set (not 4294967295) */
	uint32_t ppid, uid, gid, loginuid;
	uint32_t nspid; /* pid in the process's own PID namespace; 0 when unknown */
	char *exe;	/* NULL when unreadable */
	char *cgroup;	/* the cgroup v2 path ("0::" line); NULL when none */
	char container_id[ST_CONTAINER_ID_MAX + 1]; /* "" when the cgroup is no container's */
};

struct st_proctx;

/*
 * A cache of about `capacity` processes (rounded up), reading `proc_root` ("/proc", or a fake
 * tree in tests). NULL and errno on failure.
 */
struct st_proctx *st_proctx_new(const char *proc_root, unsigned capacity);
void st_proctx_free(struct st_proctx *c);
/*
 * The context of pid at time now_ns (any clock, used only for the entries' age), read if not
 * cached or too old. Never NULL: a process that cannot be read gives valid == false (kept, so
 * that a gone process's records do not each try /proc again). Good until the next call.
 */
const struct st_proc_info *st_proctx_get(struct st_proctx *c, uint32_t pid, uint64_t now_ns);
/* pid exec'd or exited: its entry is dropped. A NULL cache is fine. */
void st_proctx_forget(struct st_proctx *c, uint32_t pid);
/* Entries held now (for tests: the cache stays bounded). */
unsigned st_proctx_count(const struct st_proctx *c);

/* Reads /proc/PID into *pi (whose strings the caller frees with st_proc_info_release()). 0 or -errno. */
int st_proc_info_read(const char *proc_root, uint32_t pid, struct st_proc_info *pi);
void st_proc_info_release(struct st_proc_info *pi);

/*
 * The container id in a cgroup path, written to id (ST_CONTAINER_ID_MAX + 1 bytes): true when
 * a component of the path is a container runtime's (the innermost one wins):
 *   docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope
 *   (systemd cgroup driver), and <id> itself below a "docker", "kubepods*", "libpod" or
 *   "crio" component (cgroupfs driver: /docker/<id>, /kubepods/burstable/pod<uid>/<id>),
 * where <id> is 64 hex digits.
 */
bool st_container_id(const char *cgroup, char *id);

#endif /* SEATRACE_PROCTX_H */
