// SPDX-License-Identifier: MIT
/* Command-line parsing: the contract users and scripts rely on. */
#include <argp.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <mntent.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "cli.h"

/* argp prints errors to stderr and, with ARGP_NO_EXIT, returns instead of exiting. */
static int parse(struct st_opts *o, int argc, char **argv)
{
	return st_cli_parse(argc, argv, o, ARGP_NO_EXIT);
}

#define ARGV(...) ((char *[]){ "seatrace", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "seatrace", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, ...) parse(o, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_pids_and_defaults(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-p", "12", "-p", "34"), 0);
	assert_int_equal(o.npids, 2);
	assert_int_equal(o.pids[0], 12);
	assert_int_equal(o.pids[1], 34);
	assert_null(o.cmd);
	assert_false(o.json);
	assert_int_equal(o.str_max, ST_STR_DEFAULT);
	assert_int_equal(o.ring_size, 8UL << 20);
}

/* issue 13, -c / -C: off by default; the later one wins, as strace's -C after -c. */
static void test_summary_modes(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-p", "12"), 0);
	assert_int_equal(o.count, 0);
	assert_int_equal(PARSE(&o, "-c", "-p", "12"), 0);
	assert_int_equal(o.count, 1);
	assert_int_equal(PARSE(&o, "-c", "-C", "-p", "12"), 0);
	assert_int_equal(o.count, 2);
	assert_int_equal(PARSE(&o, "--summary-only", "--", "python3"), 0);
	assert_int_equal(o.count, 1);
	assert_non_null(o.cmd);
}

/* -k (issue 13, stack): off by default, 32 frames with -k, --stack-depth sets and implies it. */
static void test_stack_depth(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-p", "12"), 0);
	assert_int_equal(o.stack_depth, 0);
	assert_int_equal(PARSE(&o, "-k", "-p", "12"), 0);
	assert_int_equal(o.stack_depth, ST_STACK_DEFAULT);
	assert_int_equal(PARSE(&o, "--stack-depth", "64", "-k", "-p", "12"), 0);
	assert_int_equal(o.stack_depth, 64);
	assert_int_equal(PARSE(&o, "--stack-depth=256", "-p", "12"), 0);
	assert_int_equal(o.stack_depth, ST_STACK_MAX);
	assert_int_equal(PARSE(&o, "--stack-depth", "0", "-p", "12"), -EINVAL);
	assert_int_equal(PARSE(&o, "--stack-depth", "257", "-p", "12"), -EINVAL);
}

static void test_pid_given_twice_is_one_target(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-p", "12", "-p", "34", "-p", "12"), 0);
	assert_int_equal(o.npids, 2);
	assert_int_equal(o.pids[0], 12);
	assert_int_equal(o.pids[1], 34);
}

static void test_command_keeps_its_options(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-j", "--", "python3", "-c", "pass", "-p", "1"), 0);
	assert_true(o.json);
	assert_int_equal(o.npids, 0);
	assert_string_equal(o.cmd[0], "python3");
	assert_string_equal(o.cmd[1], "-c");
	assert_string_equal(o.cmd[3], "-p");
	assert_string_equal(o.cmd[4], "1");
	assert_null(o.cmd[5]);
	/* Without "--", the first operand starts the command too. */
	assert_int_equal(PARSE(&o, "-s", "10", "python3", "-x", "y"), 0);
	assert_int_equal(o.str_max, 10);
	assert_string_equal(o.cmd[1], "-x");
	assert_int_equal(o.globs.nglobs, 0);
}

static void test_globs(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-e", "socket.*,open", "-x", "object.__*", "-p", "1"), 0);
	assert_int_equal(o.globs.nglobs, 3);
	assert_true(o.globs.have_include);
	assert_false(o.globs.globs[0].exclude);
	assert_true(o.globs.globs[2].exclude);
	assert_true(st_globset_wants(&o.globs, "open", 4));
	assert_false(st_globset_wants(&o.globs, "object.__getattr__", 18));
	assert_false(st_globset_wants(&o.globs, "exec", 4));
}

static void test_rejects(void **state)
{
	struct st_opts o;

	(void)state;
	assert_true(PARSE(&o, "-e", "foo[", "-p", "1") < 0);
	assert_true(PARSE(&o, "-p", "abc") < 0);
	assert_true(PARSE(&o, "-p", "0") < 0);
	assert_true(PARSE(&o, "-p", "-5") < 0);
	assert_true(PARSE(&o, "-s", "99999", "-p", "1") < 0);
	assert_true(PARSE(&o, "--buffer-size", "1000", "-p", "1") < 0);
	assert_true(PARSE(&o, "--buffer-size", "12288", "-p", "1") < 0);
	assert_true(PARSE(&o, "--no-such-option", "-p", "1") < 0);
	assert_true(PARSE(&o, "-p", "1", "--", "python3") < 0);
	assert_true(PARSE(&o, "-f") < 0); /* follow what? */
	assert_true(PARSE(&o, "--comm", "a-name-longer-than-15") < 0);
	assert_true(PARSE(&o, "-u", "no-such-user-here") < 0);
	assert_true(PARSE(&o, "-e", ",", "-p", "1") < 0);
	assert_true(PARSE(&o, "-x", "", "-p", "1") < 0);
	assert_true(PARSE(&o, "--max-files", "0") < 0);
	assert_true(PARSE(&o, "--max-files", "257") < 0);
	assert_true(PARSE(&o, "--max-files", "2x") < 0);
	assert_true(PARSE(&o, "--max-links", "0") < 0);
	assert_true(PARSE(&o, "--max-links", "65537") < 0);
	assert_true(PARSE(&o, "--max-links", "-1") < 0);
}

static void test_sizes(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--buffer-size", "64K", "-s", "4096", "-p", "1"), 0);
	assert_int_equal(o.ring_size, 65536);
	assert_int_equal(o.str_max, 4096);
	assert_int_equal(PARSE(&o, "--buffer-size", "4096", "-p", "1"), 0);
	assert_int_equal(o.ring_size, 4096);
	assert_int_equal(o.max_files, ST_FILES_DEFAULT);
	assert_int_equal(o.max_links, ST_LINKS_DEFAULT);
	assert_int_equal(PARSE(&o, "--max-files", "256", "--max-links", "1"), 0);
	assert_int_equal(o.max_files, 256);
	assert_int_equal(o.max_links, 1);
	assert_int_equal(PARSE(&o, "--list-events"), 0);
	assert_true(o.list_events);
	/* No target: every Python on the host, narrowed by process filters. */
	assert_int_equal(PARSE(&o, "-u", "0", "--comm", "python3.11", "-j"), 0);
	assert_true(o.have_uid);
	assert_int_equal(o.uid, 0);
	assert_string_equal(o.comm, "python3.11");
	assert_int_equal(PARSE(&o, "-u", "root"), 0);
	assert_int_equal(o.uid, 0);
	assert_int_equal(PARSE(&o, "-f", "-p", "5"), 0);
	assert_true(o.follow);
}

static void test_bare_double_dash(void **state)
{
	struct st_opts o;

	(void)state;
	/* "--" and nothing after: a forgotten command, not "every Python on the host". */
	assert_int_equal(PARSE(&o, "--"), -EINVAL);
	assert_int_equal(PARSE(&o, "-j", "-e", "open", "--"), -EINVAL);
	assert_int_equal(PARSE(&o, "--list", "--"), -EINVAL);
	/* A final "--" that is an option's argument is just that. */
	assert_int_equal(PARSE(&o, "-o", "--"), 0);
	assert_string_equal(o.output, "--");
	assert_null(o.cmd);
	/* After "--", a second one is the command's name. */
	assert_int_equal(PARSE(&o, "--", "--"), 0);
	assert_string_equal(o.cmd[0], "--");
	assert_null(o.cmd[1]);
	assert_int_equal(PARSE(&o, "--", "python3"), 0);
	assert_string_equal(o.cmd[0], "python3");
	/* No arguments at all: system-wide, as documented. */
	assert_int_equal(parse(&o, 1, (char *[]){ "seatrace", NULL }), 0);
	assert_null(o.cmd);
	assert_int_equal(o.npids, 0);
}

static void test_pair_rules_checked(void **state)
{
	static const char *const bad[] = { "foo", "a=b*", "*a=b", "=b", "a=", "a==b", "a=b=c",
					   "*.*=x*", "a=a", "x*=x*" };
	struct st_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *spec = (char *)bad[i];

		assert_int_equal(PARSE(&o, "--pair", spec, "-p", "1"), -EINVAL);
		/* Even when pairing is off: the rule is still a mistake. */
		assert_int_equal(PARSE(&o, "--no-pair", "--pair", spec, "-p", "1"), -EINVAL);
	}
	assert_int_equal(
		PARSE(&o, "--pair", "enter:*=exit:*", "--pair", "a.begin=a.end", "-p", "1"), 0);
	assert_int_equal(o.npairs, 2);
	assert_string_equal(o.pairs[0], "enter:*=exit:*");
	assert_string_equal(o.pairs[1], "a.begin=a.end");
}

/* Where a cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or .../unified on hybrid hosts). */
static bool cgroup2_mount(char *dir, size_t size)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	struct mntent *m;
	bool found = false;

	while (f && !found && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2") && strlen(m->mnt_dir) < size) {
			strcpy(dir, m->mnt_dir);
			found = true;
		}
	if (f)
		endmntent(f);
	return found;
}

static void test_cgroup_checked(void **state)
{
	char dir[256];
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--cgroup", "/no/such/cgroup"), -EINVAL);
	assert_int_equal(PARSE(&o, "--cgroup", "/"), -EINVAL); /* a directory, not a cgroup */
	assert_int_equal(PARSE(&o, "--cgroup", "/proc/self/status"), -EINVAL);
	if (!cgroup2_mount(dir, sizeof(dir))) {
		skip();
		return;
	}
	assert_int_equal(PARSE(&o, "--cgroup", dir), 0);
	assert_string_equal(o.cgroup, dir);
}

/* What the process exits with when argp is left to exit, as in seatrace itself. */
static int exit_status_of(int argc, char **argv)
{
	struct st_opts o;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		st_cli_parse(argc, argv, &o, 0);
		_exit(99); /* argp returned instead of exiting */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define EXIT_STATUS(...) exit_status_of(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_usage_errors_exit_64(void **state)
{
	(void)state;
	assert_int_equal(ST_EXIT_USAGE, 64);
	assert_int_equal(EXIT_STATUS("--"), ST_EXIT_USAGE);
	assert_int_equal(EXIT_STATUS("--pair", "foo"), ST_EXIT_USAGE);
	assert_int_equal(EXIT_STATUS("--cgroup", "/no/such/cgroup"), ST_EXIT_USAGE);
	assert_int_equal(EXIT_STATUS("-s", "ten"), ST_EXIT_USAGE);
	assert_int_equal(EXIT_STATUS("--no-such-option"), ST_EXIT_USAGE);
	assert_int_equal(EXIT_STATUS("--help"), 0);
	assert_int_equal(EXIT_STATUS("--pair", "a=b", "--", "--"), 99); /* parsed, returned */
}

/* Time, files, and other strace flags (issue 13, cli13). */
static void test_strace_time_flags(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-p", "1"), 0);
	assert_true(st_timefmt_is_default(&o.timefmt)); /* -tt's stamp, as always */
	assert_false(o.timefmt.durations);
	assert_int_equal(PARSE(&o, "-t", "-p", "1"), 0);
	assert_int_equal(o.timefmt.kind, ST_TS_TIME);
	assert_int_equal(o.timefmt.digits, 0);
	assert_int_equal(PARSE(&o, "-tt", "-p", "1"), 0);
	assert_true(st_timefmt_is_default(&o.timefmt));
	assert_int_equal(PARSE(&o, "-ttt", "-p", "1"), 0);
	assert_int_equal(o.timefmt.kind, ST_TS_UNIX);
	assert_int_equal(o.timefmt.digits, 6);
	/* -r alone is the delta alone, as strace's; with -t both. */
	assert_int_equal(PARSE(&o, "-r", "-p", "1"), 0);
	assert_int_equal(o.timefmt.kind, ST_TS_NONE);
	assert_true(o.timefmt.relative);
	assert_int_equal(o.timefmt.rel_digits, 6);
	assert_int_equal(PARSE(&o, "-rt", "-p", "1"), 0);
	assert_int_equal(o.timefmt.kind, ST_TS_TIME);
	assert_true(o.timefmt.relative);
	assert_int_equal(PARSE(&o, "-T", "--relative-timestamps=ns", "-p", "1"), 0);
	assert_true(o.timefmt.durations);
	assert_int_equal(o.timefmt.rel_digits, 9);
	assert_int_equal(PARSE(&o, "--syscall-times=ms", "--timestamps=unix,ns", "-p", "1"), 0);
	assert_int_equal(o.timefmt.dur_digits, 3);
	assert_int_equal(o.timefmt.kind, ST_TS_UNIX);
	assert_int_equal(o.timefmt.digits, 9);
	assert_int_equal(PARSE(&o, "--timestamps=iso", "-p", "1"), -EINVAL);
	assert_int_equal(PARSE(&o, "--syscall-times=fs", "-p", "1"), -EINVAL);
	assert_int_equal(PARSE(&o, "--relative-timestamps=x", "-p", "1"), -EINVAL);
}

static void test_output_separately(void **state)
{
	struct st_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-ff", "-o", "tr", "--", "python3"), 0);
	assert_true(o.separate);
	assert_true(o.follow);
	assert_int_equal(PARSE(&o, "-f", "-o", "tr", "--", "python3"), 0);
	assert_false(o.separate);
	/* System-wide: every process is traced anyway; -ff is one file each. */
	assert_int_equal(PARSE(&o, "-ff", "-o", "tr"), 0);
	assert_true(o.separate);
	assert_false(o.follow);
	assert_int_equal(PARSE(&o, "--output-separately", "-o", "tr"), 0);
	assert_true(o.separate);
	assert_int_equal(PARSE(&o, "-f", "-o", "tr"), -EINVAL); /* -f alone still needs a target */
	assert_int_equal(PARSE(&o, "-ff", "--", "python3"), -EINVAL);
	assert_int_equal(PARSE(&o, "-ff", "-o", "tr", "--rotate-size", "1M"), -EINVAL);
	assert_int_equal(PARSE(&o, "-ff", "-o", "tr", "--rotate-age", "60"), -EINVAL);
	assert_int_equal(EXIT_STATUS("-ff", "--", "python3"), ST_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pids_and_defaults),
		cmocka_unit_test(test_summary_modes),
		cmocka_unit_test(test_pid_given_twice_is_one_target),
		cmocka_unit_test(test_stack_depth), cmocka_unit_test(test_command_keeps_its_options),
		cmocka_unit_test(test_globs),		 cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bare_double_dash),
		cmocka_unit_test(test_pair_rules_checked),
		cmocka_unit_test(test_cgroup_checked),
		cmocka_unit_test(test_usage_errors_exit_64),
		cmocka_unit_test(test_strace_time_flags),
		cmocka_unit_test(test_output_separately),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
