// SPDX-License-Identifier: MIT
/*
 * Discovery (user/discover.c) on the real interpreters of this machine:
 * Debian's python3.11 (the probe), pyenv's shared builds (the uprobe
 * fallback), a CPython too old for audit events, files that are no Python,
 * and a live python3.11 process. A file that is not installed skips its test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "discover.h"

#define DEBIAN_311 "/usr/bin/python3.11"
#define PYENV "/root/.pyenv/versions/"

static struct st_plan *plan_of(const char *path, int *ret, char *err, size_t errlen)
{
	struct st_plan *plan = calloc(1, sizeof(*plan));

	assert_non_null(plan);
	*ret = st_discover_file(path, path, plan, err, errlen);
	return plan;
}

static void need(const char *path)
{
	if (access(path, R_OK))
		skip();
}

static void test_probe_build(void **state)
{
	char err[512] = "";
	int ret;
	struct st_plan *p;

	need(DEBIAN_311);
	p = plan_of(DEBIAN_311, &ret, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_int_equal(p->kind, ST_PLAN_PROBE);
	assert_true(p->npoints >= 1);
	assert_int_equal(p->npoints, p->py.nsites);
	/* The semaphore's counter goes with the probe, and the slot is left to attach.c. */
	assert_true(p->ref_ctr != 0);
	assert_int_equal(p->ref_ctr, p->py.sem_off);
	for (unsigned i = 0; i < p->npoints; i++) {
		assert_int_equal(ST_COOKIE_SLOT(p->cookie[i]), 0);
		assert_int_equal(p->cookie[i], ST_SITE_COOKIE(0, i));
		assert_int_equal(p->off[i], p->py.site_off[i]);
		assert_string_equal(p->what[i], "python:audit");
	}
	assert_int_equal(p->layout.version >> 16, 0x30b);
	assert_int_equal(p->layout.site[0], p->py.sites[0]);
	free(p);
}

/* 3.9+: sys_audit_tstate, the funnel, and sys_audit for Python-level sys.audit(). */
static void test_fallback_tstate(void **state)
{
	static const char *const libs[] = {
		PYENV "3.9.18/lib/libpython3.9.so.1.0",	  PYENV "3.10.13/lib/libpython3.10.so.1.0",
		PYENV "3.11.7/lib/libpython3.11.so.1.0",  PYENV "3.12.1/lib/libpython3.12.so.1.0",
		PYENV "3.13.0/lib/libpython3.13.so.1.0",
	};
	int found = 0;

	for (size_t k = 0; k < sizeof(libs) / sizeof(libs[0]); k++) {
		char err[512] = "";
		struct st_plan *p;
		int ret;

		if (access(libs[k], R_OK))
			continue;
		found++;
		p = plan_of(libs[k], &ret, err, sizeof(err));
		assert_int_equal(ret, 0);
		assert_int_equal(p->kind, ST_PLAN_FALLBACK);
		assert_true(p->py.fallback);
		assert_int_equal(p->npoints, 2);
		assert_int_equal(p->ref_ctr, 0);
		assert_int_equal(ST_FB_KIND(p->cookie[0]), ST_FB_TSTATE);
		assert_int_equal(ST_FB_KIND(p->cookie[1]), ST_FB_SYS_AUDIT);
		assert_int_equal(ST_COOKIE_SLOT(p->cookie[0]), 0);
		assert_int_equal(strncmp(p->what[0], "sys_audit_tstate+", 17), 0);
		assert_int_equal(strncmp(p->what[1], "sys_audit+", 10), 0);
		/* The uprobe addresses stand for the sites: the bias is derived from them. */
		assert_int_equal(p->layout.site[0] - p->py.fn[ST_FN_SYS_AUDIT_TSTATE].addr,
				 p->off[0] - p->py.fn[ST_FN_SYS_AUDIT_TSTATE].off);
		free(p);
	}
	if (!found)
		skip();
}

/* 3.8 has no sys_audit_tstate: PySys_Audit is the funnel, a variadic function. */
static void test_fallback_38(void **state)
{
	const char *lib = PYENV "3.8.18/lib/libpython3.8.so.1.0";
	char err[512] = "";
	struct st_plan *p;
	int ret;

	need(lib);
	p = plan_of(lib, &ret, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_int_equal(p->kind, ST_PLAN_FALLBACK);
	assert_int_equal(ST_FB_KIND(p->cookie[0]), ST_FB_VARIADIC);
	assert_int_equal(strncmp(p->what[0], "PySys_Audit+", 12), 0);
	assert_int_equal(p->layout.version >> 16, 0x308);
	free(p);
}

static void test_refused_and_not_python(void **state)
{
	const char *lib37 = PYENV "3.7.16/lib/libpython3.7m.so.1.0";
	char err[512] = "";
	struct st_plan *p;
	int ret;

	p = plan_of("/bin/sh", &ret, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	free(p);
	p = plan_of("/etc/passwd", &ret, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	free(p);
	if (access(lib37, R_OK))
		return;
	p = plan_of(lib37, &ret, err, sizeof(err));
	assert_int_equal(ret, -ENOTSUP);
	assert_non_null(strstr(err, "3.8"));
	free(p);
}

/* A live process: its executable, judged through /proc. */
static void test_process(void **state)
{
	struct st_plan *p = calloc(1, sizeof(*p));
	char err[512] = "";
	pid_t child;
	int ret;

	need(DEBIAN_311);
	assert_non_null(p);
	ret = st_discover(getpid(), 0, p, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl(DEBIAN_311, "python3.11", "-c", "import time; time.sleep(30)", (char *)NULL);
		_exit(127);
	}
	/* Until it has exec'd, /proc/PID/exe is this test program. */
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		ret = st_discover(child, ST_FIND_NEEDED, p, err, sizeof(err));
		if (ret != -ENOENT)
			break;
		nanosleep(&ts, NULL);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(ret, 0);
	assert_int_equal(p->kind, ST_PLAN_PROBE);
	assert_true(p->npoints >= 1);
	assert_non_null(strstr(p->py.file, "python3.11"));
	ret = st_discover(child, 0, p, err, sizeof(err));
	assert_int_equal(ret, -ESRCH);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_build),	cmocka_unit_test(test_fallback_tstate),
		cmocka_unit_test(test_fallback_38),	cmocka_unit_test(test_refused_and_not_python),
		cmocka_unit_test(test_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
