// SPDX-License-Identifier: MIT
/*
 * The configuration file: its syntax (config.c), and its settings applied through the
 * command line's own checks, the command line taking precedence (cli.c).
 */
#include <argp.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli.h"
#include "config.h"

static void test_syntax(void **state)
{
	struct st_config c;
	char err[256];

	(void)state;
	assert_int_equal(st_config_parse("f.conf",
					 "# a comment\n"
					 "\n"
					 "  json = true\n"
					 "event=socket.*   # trailing comment\n"
					 "exclude = a#b\n"
					 "output = \"/var/log/x # y.jsonl\"  # quoted\n"
					 "comm = \"a \\\"q\\\" \\\\\"\n"
					 "pair =\n"
					 "\tstring-size\t=\t64\r\n"
					 "event = open",
					 &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.n, 8);
	assert_string_equal(c.path, "f.conf");
	assert_int_equal(c.v[0].line, 3);
	assert_string_equal(c.v[0].key, "json");
	assert_string_equal(c.v[0].value, "true");
	assert_int_equal(c.v[1].line, 4);
	assert_string_equal(c.v[1].value, "socket.*");
	/* '#' starts a comment only after a blank: a glob may hold one. */
	assert_string_equal(c.v[2].value, "a#b");
	assert_string_equal(c.v[3].value, "/var/log/x # y.jsonl");
	assert_string_equal(c.v[4].value, "a \"q\" \\");
	assert_string_equal(c.v[5].value, "");
	assert_string_equal(c.v[6].key, "string-size");
	assert_string_equal(c.v[6].value, "64");
	assert_int_equal(c.v[7].line, 10);
	assert_string_equal(c.v[7].value, "open");
	st_config_release(&c);
}

static void test_syntax_errors_name_the_line(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "json = true\n\njson\n", "f.conf:3: 'json' is not 'key = value'" },
		{ "# x\n = 3\n", "f.conf:2: invalid key ''" },
		{ "Output = x\n", "f.conf:1: invalid key 'Output'" },
		{ "a b = x\n", "f.conf:1: invalid key 'a b'" },
		{ "output = \"x\n", "f.conf:1: unterminated quoted value" },
		{ "output = \"x\" y\n", "f.conf:1: text after the quoted value" },
	};
	struct st_config c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(st_config_parse("f.conf", cases[i].text, &c, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, cases[i].err));
		assert_int_equal(c.n, 0);
		assert_null(c.v);
	}
}

static void test_unreadable(void **state)
{
	struct st_config c;
	char err[256];

	(void)state;
	assert_int_equal(st_config_read("/no/such/seatrace.conf", &c, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/no/such/seatrace.conf: cannot read the configuration: "
				 "No such file or directory");
	assert_true(st_config_read("/", &c, err, sizeof(err)) < 0); /* a directory */
	assert_non_null(strstr(err, "/: cannot read"));
}

/* ---- applied through the command line's parser ------------------------------------------ */

static char conf[64];

static void write_conf(const char *text)
{
	FILE *f;

	snprintf(conf, sizeof(conf), "/tmp/seatrace-unit-%d.conf", (int)getpid());
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Parses with stderr caught: the message is returned in msg. */
static int parse_caught(struct st_opts *o, char *msg, size_t len, int argc, char **argv)
{
	char path[64];
	int saved = dup(2), fd, ret;
	ssize_t n;

	snprintf(path, sizeof(path), "/tmp/seatrace-unit-%d.err", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	ret = st_cli_parse(argc, argv, o, ARGP_NO_EXIT);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, msg, len - 1, 0);
	msg[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return ret;
}

#define ARGV(...) ((char *[]){ "seatrace", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "seatrace", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, msg, ...) parse_caught(o, msg, sizeof(msg), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_settings_applied(void **state)
{
	struct st_opts o;
	char msg[1024];

	(void)state;
	write_conf("json = true\n"
		   "output = /var/log/seatrace/events.jsonl\n"
		   "rotate-size = 64M\n"
		   "rotate-age = 86400\n"
		   "rotate-keep = 7\n"
		   "no-compress = false\n"
		   "syscalls = false\n"
		   "event = socket.*,open\n"
		   "event = exec\n"
		   "exclude = object.*\n"
		   "string-size = 100\n"
		   "user = 0\n"
		   "pair = a=b\n"
		   "buffer-size = 64K\n");
	assert_int_equal(PARSE(&o, msg, "--config", conf), 0);
	assert_string_equal(msg, "");
	assert_true(o.json);
	assert_string_equal(o.output, "/var/log/seatrace/events.jsonl");
	assert_int_equal(o.rotate_size, 64ULL << 20);
	assert_int_equal(o.rotate_age, 86400);
	assert_int_equal(o.rotate_keep, 7);
	assert_false(o.no_compress);
	assert_false(o.syscalls);
	assert_int_equal(o.globs.nglobs, 4);
	assert_true(st_globset_wants(&o.globs, "exec", 4));
	assert_true(st_globset_wants(&o.globs, "socket.bind", 11));
	assert_false(st_globset_wants(&o.globs, "object.__setattr__", 18));
	assert_false(st_globset_wants(&o.globs, "import", 6));
	assert_int_equal(o.str_max, 100);
	assert_true(o.have_uid);
	assert_int_equal(o.npairs, 1);
	assert_string_equal(o.pairs[0], "a=b");
	assert_int_equal(o.ring_size, 65536);
	assert_string_equal(o.config, conf);
	st_cli_release(&o);
	unlink(conf);
}

static void test_command_line_wins(void **state)
{
	struct st_opts o;
	char msg[1024];

	(void)state;
	write_conf("output = /from/file\n"
		   "string-size = 100\n"
		   "event = from-file.*\n"
		   "exclude = x.*\n"
		   "pid = 1\n");
	assert_int_equal(PARSE(&o, msg, "-s", "7", "--config", conf, "-e", "cli.*", "-p", "2",
			       "-o", "/from/cli"),
			 0);
	assert_string_equal(o.output, "/from/cli");
	assert_int_equal(o.str_max, 7);
	/* A repeatable option given on the command line replaces the file's, not adds to it. */
	assert_true(st_globset_wants(&o.globs, "cli.a", 5));
	assert_false(st_globset_wants(&o.globs, "from-file.a", 11));
	/* The file's excludes stay: the command line gave none. */
	assert_int_equal(o.globs.nglobs, 2);
	assert_int_equal(o.npids, 1);
	assert_int_equal(o.pids[0], 2);
	st_cli_release(&o);

	/* Checks across options see both: the file's pid makes the command line's -f valid. */
	assert_int_equal(PARSE(&o, msg, "--config", conf, "-f"), 0);
	assert_int_equal(o.npids, 1);
	assert_true(o.follow);
	st_cli_release(&o);
	/* The file's rotation without any output is refused like the command line's. */
	write_conf("rotate-size = 1M\n");
	assert_int_equal(PARSE(&o, msg, "--config", conf), -EINVAL);
	assert_non_null(strstr(msg, "--rotate-size and --rotate-age rotate the -o FILE"));
	st_cli_release(&o);
	assert_int_equal(PARSE(&o, msg, "--config", conf, "-o", "/x"), 0);
	st_cli_release(&o);
	unlink(conf);
}

static void test_bad_settings_name_file_and_line(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "json = true\n# two\njsn = true\n", ":3: unknown key 'jsn'" },
		{ "json = yes\n", ":1: 'json' is a flag: give 'json = true' or 'json = false'" },
		{ "\n\nstring-size = 99999\n", ":3: invalid -s '99999'" },
		{ "string-size = ten\n", ":1: invalid -s 'ten'" },
		{ "rotate-size = 12Q\n", ":1: invalid --rotate-size '12Q'" },
		{ "rotate-size = 100\n", ":1: invalid --rotate-size '100'" },
		{ "rotate-age = 0\n", ":1: invalid --rotate-age '0'" },
		{ "rotate-keep = -1\n", ":1: invalid --rotate-keep '-1'" },
		{ "event = foo[\n", ":1: invalid pattern 'foo['" },
		{ "output =\n", ":1: 'output' needs a value" },
		{ "pair = nonsense\n", ":1: invalid --pair 'nonsense'" },
		{ "user = no-such-user-here\n", ":1: unknown user 'no-such-user-here'" },
		{ "config = /etc/other.conf\n", ":1: not a configuration key 'config'" },
		{ "list = true\n", ":1: not a configuration key 'list'" },
		{ "bench-floor = true\n", ":1: not a configuration key 'bench-floor'" },
		{ "outp = x\n", ":1: unknown key 'outp'" }, /* no abbreviations */
		{ "json\n", ":1: 'json' is not 'key = value'" },
	};
	struct st_opts o;
	char msg[1024], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_conf(cases[i].text);
		assert_int_equal(PARSE(&o, msg, "--config", conf, "-p", "1"), -EINVAL);
		snprintf(want, sizeof(want), "%s%s", conf, cases[i].err);
		if (strncmp(msg, want, strlen(want)))
			fail_msg("case %zu: got %s, want %s...", i, msg, want);
		/* One line: what is wrong, and where. */
		assert_non_null(strchr(msg, '\n'));
		assert_string_equal(strchr(msg, '\n'), "\n");
		st_cli_release(&o);
	}
	assert_int_equal(PARSE(&o, msg, "--config", "/no/such.conf"), -EINVAL);
	assert_string_equal(msg, "/no/such.conf: cannot read the configuration: No such file or "
				 "directory\n");
	st_cli_release(&o);
	unlink(conf);
}

static void test_restart_needed(void **state)
{
	struct st_opts a, b;
	char msg[1024], changed[256];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "-p", "1", "-e", "x", "-o", "/a"), 0);
	assert_int_equal(PARSE(&b, msg, "-p", "1", "-e", "y", "-o", "/a"), 0);
	/* The event filters change while tracing: not a restart. */
	assert_int_equal(st_cli_restart_needed(&a, &b, changed, sizeof(changed)), 0);
	assert_string_equal(changed, "");
	assert_int_equal(PARSE(&b, msg, "-p", "1", "-e", "x", "-o", "/b", "-u", "0", "-S"), 0);
	assert_int_equal(st_cli_restart_needed(&a, &b, changed, sizeof(changed)), 3);
	assert_string_equal(changed, "user, syscalls, output");
}

static void test_new_options(void **state)
{
	struct st_opts o;
	char msg[1024];

	(void)state;
	assert_int_equal(PARSE(&o, msg, "-o", "f", "--rotate-size", "3G", "--rotate-keep", "2",
			       "--no-compress", "--rotate-age", "60"),
			 0);
	assert_int_equal(o.rotate_size, 3ULL << 30);
	assert_int_equal(o.rotate_keep, 2);
	assert_true(o.no_compress);
	assert_int_equal(o.rotate_age, 60);
	assert_int_equal(PARSE(&o, msg, "-o", "f"), 0);
	assert_int_equal(o.rotate_keep, 10);
	assert_int_equal(o.rotate_size, 0);
	assert_false(o.no_compress);
	assert_int_equal(PARSE(&o, msg, "--rotate-age", "60"), -EINVAL);
	assert_int_equal(PARSE(&o, msg, "-o", "f", "--rotate-size", "99999999999999999999G"),
			 -EINVAL);
	assert_int_equal(PARSE(&o, msg, "-o", "f", "--rotate-keep", "1001"), -EINVAL);
}

/* strace's flags (issue 13) in a configuration file: their long names as keys. */
static void test_strace_flags_in_file(void **state)
{
	struct st_opts o;
	char msg[1024];

	(void)state;
	write_conf("output = /tmp/tr\noutput-separately = true\ntimestamps = unix,ms\n"
		   "relative-timestamps = true\nsyscall-times = ns\n");
	assert_int_equal(PARSE(&o, msg, "--config", conf), 0);
	assert_true(o.separate);
	assert_false(o.follow); /* system-wide */
	assert_int_equal(o.timefmt.kind, ST_TS_UNIX);
	assert_int_equal(o.timefmt.digits, 3);
	assert_true(o.timefmt.relative);
	assert_int_equal(o.timefmt.rel_digits, 6);
	assert_true(o.timefmt.durations);
	assert_int_equal(o.timefmt.dur_digits, 9);
	st_cli_release(&o);
	/* follow = true in the file and -f on the command line are not -ff. */
	write_conf("follow = true\n");
	assert_int_equal(PARSE(&o, msg, "--config", conf, "-f", "--", "python3"), 0);
	assert_false(o.separate);
	st_cli_release(&o);
	write_conf("output-separately = true\n");
	assert_int_equal(PARSE(&o, msg, "--config", conf), -EINVAL);
	assert_non_null(strstr(msg, "-o FILE"));
	st_cli_release(&o);
	unlink(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_syntax_errors_name_the_line),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_settings_applied),
		cmocka_unit_test(test_command_line_wins),
		cmocka_unit_test(test_bad_settings_name_file_and_line),
		cmocka_unit_test(test_restart_needed),
		cmocka_unit_test(test_new_options),
		cmocka_unit_test(test_strace_flags_in_file),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
