// SPDX-License-Identifier: MIT
/* Process context from /proc (proctx.c) and the re-derived wall clock (wallclock.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proctx.h"
#include "wallclock.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_container_ids(void **state)
{
	static const struct {
		const char *cgroup, *id;
	} t[] = {
	    {"/system.slice/docker-" ID64 ".scope", ID64},
	    {"/docker/" ID64, ID64},
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1_2.slice/"
	     "cri-containerd-" ID64 ".scope",
	     ID64},
	    {"/kubepods/burstable/pod12-34/" ID64, ID64},
	    {"/machine.slice/libpod-" ID64 ".scope/container", ID64},
	    {"/kubepods.slice/crio-" ID64 ".scope", ID64},
	    {"/", NULL},
	    {"/user.slice/user-0.slice/session-1.scope", NULL},
	    {"/" ID64, NULL},				    /* a bare id under no runtime */
	    {"/system.slice/docker-" ID64 "0.scope", NULL}, /* 65 digits */
	    {"/system.slice/docker-0123.scope", NULL},
	    {"/docker/"
	     "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	     NULL},
	    {"/system.slice/docker.service", NULL},
	};
	char id[ST_CONTAINER_ID_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = st_container_id(t[i].cgroup, id);

		assert_int_equal(got, t[i].id != NULL);
		assert_string_equal(id, t[i].id ? t[i].id : "");
	}
	assert_false(st_container_id(NULL, id));
}

static char root[] = "/tmp/seatrace-test-proctx-XXXXXX";

static void put(const char *pid, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, pid, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_exe(const char *pid, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/exe", root, pid);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

static int setup_tree(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	put("100", "status",
	    "Name:\tpython3\nPid:\t100\nPPid:\t7\nUid:\t65534\t65534\t65534\t65534\n"
	    "Gid:\t65533\t65533\t65533\t65533\nNSpid:\t100\t1\n");
	put("100", "loginuid", "1000");
	put("100", "cgroup", "0::/system.slice/docker-" ID64 ".scope\n");
	link_exe("100", "/usr/bin/python3.11");
	put("200", "status",
	    "Name:\tx\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t200\n");
	put("200", "loginuid", "4294967295");
	put("200", "cgroup", "12:memory:/x\n0::/user.slice\n");
	put("300", "status", "garbage\n");
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

static void test_read_fake_tree(void **state)
{
	struct st_proc_info pi;

	(void)state;
	assert_int_equal(st_proc_info_read(root, 100, &pi), 0);
	assert_true(pi.valid);
	assert_int_equal(pi.ppid, 7);
	assert_int_equal(pi.uid, 65534);
	assert_int_equal(pi.gid, 65533);
	assert_true(pi.has_loginuid);
	assert_int_equal(pi.loginuid, 1000);
	assert_int_equal(pi.nspid, 1);
	assert_string_equal(pi.exe, "/usr/bin/python3.11");
	assert_string_equal(pi.cgroup, "/system.slice/docker-" ID64 ".scope");
	assert_string_equal(pi.container_id, ID64);
	st_proc_info_release(&pi);

	assert_int_equal(st_proc_info_read(root, 200, &pi), 0);
	assert_false(pi.has_loginuid); /* 4294967295: not set */
	assert_int_equal(pi.nspid, 200);
	assert_null(pi.exe);
	assert_string_equal(pi.cgroup, "/user.slice"); /* the v2 line, not a v1 one */
	assert_string_equal(pi.container_id, "");
	st_proc_info_release(&pi);

	assert_int_not_equal(st_proc_info_read(root, 300, &pi), 0); /* no PPid */
	assert_false(pi.valid);
	assert_int_not_equal(st_proc_info_read(root, 999, &pi), 0); /* gone */
	assert_false(pi.valid);
}

/* The test's own process, against what it knows of itself. */
static void test_read_self(void **state)
{
	struct st_proc_info pi;
	char exe[4096];
	ssize_t n;

	(void)state;
	assert_int_equal(st_proc_info_read("/proc", (uint32_t)getpid(), &pi), 0);
	assert_int_equal(pi.ppid, getppid());
	assert_int_equal(pi.uid, getuid());
	assert_int_equal(pi.gid, getgid());
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_string_equal(pi.exe, exe);
	assert_non_null(pi.cgroup);
	st_proc_info_release(&pi);
}

static void test_cache(void **state)
{
	struct st_proctx *c = st_proctx_new(root, 8);
	const struct st_proc_info *pi;

	(void)state;
	assert_non_null(c);
	pi = st_proctx_get(c, 100, 1000);
	assert_int_equal(pi->uid, 65534);
	/* Cached: a change in /proc shows only after forget, or once the entry is old. */
	put("100", "status", "PPid:\t8\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n");
	assert_int_equal(st_proctx_get(c, 100, 2000)->uid, 65534);
	st_proctx_forget(c, 100);
	assert_int_equal(st_proctx_get(c, 100, 3000)->uid, 1);
	put("100", "status", "PPid:\t9\nUid:\t3\t3\t3\t3\nGid:\t2\t2\t2\t2\n");
	assert_int_equal(st_proctx_get(c, 100, 3000 + ST_PROCTX_MAX_AGE_NS)->uid, 3);
	/* A gone process is remembered as such. */
	pi = st_proctx_get(c, 4242, 1);
	assert_false(pi->valid);
	/* Bounded: thousands of pids, never more entries than the buckets hold. */
	for (uint32_t p = 1; p < 5000; p++)
		st_proctx_get(c, p, 10);
	assert_true(st_proctx_count(c) <= 8);
	assert_true(st_proctx_count(c) > 0);
	st_proctx_forget(NULL, 1);
	st_proctx_free(c);
}

/* A fake pair of clocks: the wall clock is stepped, the monotonic one runs on. */
static int64_t fake_mono, fake_real;

static int fake_gettime(clockid_t clk, struct timespec *ts)
{
	int64_t v = clk == CLOCK_MONOTONIC ? fake_mono : fake_real;

	ts->tv_sec = v / 1000000000;
	ts->tv_nsec = v % 1000000000;
	return 0;
}

static void test_wallclock_rederived(void **state)
{
	struct st_wallclock w;

	(void)state;
	fake_mono = 5000000000LL;
	fake_real = 1700000000000000000LL;
	st_wallclock_init(&w, fake_gettime);
	assert_int_equal(w.offset, fake_real - fake_mono);
	/* The wall clock steps 3 s forward: not seen within the period... */
	fake_mono += 500000000;
	fake_real += 500000000 + 3000000000LL;
	assert_int_equal(st_wallclock_update(&w, 0), 1700000000000000000LL - 5000000000LL);
	/* ...but once it has passed. */
	fake_mono += ST_WALLCLOCK_PERIOD_NS;
	fake_real += ST_WALLCLOCK_PERIOD_NS;
	assert_int_equal(st_wallclock_update(&w, 0), fake_real - fake_mono);
	/* A suspend: the monotonic clock stood still for an hour of wall time. */
	fake_real += 3600 * 1000000000LL;
	assert_int_equal(st_wallclock_update(&w, 1), fake_real - fake_mono);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_container_ids),	cmocka_unit_test(test_read_fake_tree),
	    cmocka_unit_test(test_read_self),		cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_wallclock_rederived),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
