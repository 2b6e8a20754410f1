// SPDX-License-Identifier: MIT
/* The known-events table: order (lookup is a binary search), contents, --list-events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "events.h"

static void assert_args(const char *name, enum st_event_source src, unsigned nargs, ...)
{
	const struct st_known_event *e = st_event_lookup(name, strlen(name));
	va_list ap;

	assert_non_null(e);
	assert_string_equal(e->name, name);
	assert_int_equal(e->source, src);
	assert_int_equal(e->nargs, nargs);
	va_start(ap, nargs);
	for (unsigned i = 0; i < nargs; i++)
		assert_string_equal(e->argnames[i], va_arg(ap, const char *));
	va_end(ap);
	for (unsigned i = nargs; i < ST_EVENT_MAX_ARGS; i++)
		assert_null(e->argnames[i]);
}

static void test_table_sorted_and_complete(void **state)
{
	size_t n, i;
	const struct st_known_event *t = st_events_table(&n);

	/* CPython's main table, its raised-internally table, and py-capellambse's six. */
	assert_int_equal(n, 195);
	for (i = 0; i < n; i++) {
		if (i)
			assert_true(strcmp(t[i - 1].name, t[i].name) < 0);
		assert_true(t[i].nargs <= ST_EVENT_MAX_ARGS);
		for (unsigned j = 0; j < t[i].nargs; j++)
			assert_non_null(t[i].argnames[j]);
		/* Every entry is found, and found as itself. */
		assert_ptr_equal(st_event_lookup(t[i].name, strlen(t[i].name)), &t[i]);
	}
}

static void test_source_counts(void **state)
{
	size_t n, i, count[3] = { 0 };
	const struct st_known_event *t = st_events_table(&n);

	for (i = 0; i < n; i++) {
		assert_true(t[i].source <= ST_SRC_CAPELLAMBSE);
		count[t[i].source]++;
	}
	assert_int_equal(count[ST_SRC_CPYTHON], 181);
	assert_int_equal(count[ST_SRC_CPYTHON_INTERNAL], 8);
	assert_int_equal(count[ST_SRC_CAPELLAMBSE], 6);
}

static void test_cpython_events(void **state)
{
	assert_args("open", ST_SRC_CPYTHON, 3, "path", "mode", "flags");
	assert_args("os.fork", ST_SRC_CPYTHON, 0);
	assert_args("exec", ST_SRC_CPYTHON, 1, "code_object");
	assert_args("import", ST_SRC_CPYTHON, 5, "module", "filename", "sys.path", "sys.meta_path",
		    "sys.path_hooks");
	assert_args("code.__new__", ST_SRC_CPYTHON, 9, "code", "filename", "name", "argcount",
		    "posonlyargcount", "kwonlyargcount", "nlocals", "stacksize", "flags");
	assert_args("cpython.run_module", ST_SRC_CPYTHON, 1, "module-name");
	assert_args("_thread.start_new_thread", ST_SRC_CPYTHON, 3, "function", "args", "kwargs");
	assert_args("socket.getaddrinfo", ST_SRC_CPYTHON, 5, "host", "port", "family", "type",
		    "protocol");
	assert_args("glob.glob/2", ST_SRC_CPYTHON, 4, "pathname", "recursive", "root_dir",
		    "dir_fd");
	assert_args("winreg.SetValue", ST_SRC_CPYTHON, 4, "key", "sub_key", "type", "value");
	assert_args("sys.addaudithook", ST_SRC_CPYTHON, 0);
}

static void test_cpython_internal_events(void **state)
{
	assert_args("_winapi.CreateFile", ST_SRC_CPYTHON_INTERNAL, 5, "file_name",
		    "desired_access", "share_mode", "creation_disposition", "flags_and_attributes");
	assert_args("_winapi.CreatePipe", ST_SRC_CPYTHON_INTERNAL, 0);
	assert_args("ctypes.PyObj_FromPtr", ST_SRC_CPYTHON_INTERNAL, 1, "obj");
}

static void test_capellambse_events(void **state)
{
	assert_args("capellambse.getattr", ST_SRC_CAPELLAMBSE, 3, "obj", "attr", "value");
	assert_args("capellambse.read_attribute", ST_SRC_CAPELLAMBSE, 3, "obj", "attr", "value");
	assert_args("capellambse.setattr", ST_SRC_CAPELLAMBSE, 3, "obj", "attr", "value");
	assert_args("capellambse.delete", ST_SRC_CAPELLAMBSE, 3, "parent", "attr", "index");
	assert_args("capellambse.insert", ST_SRC_CAPELLAMBSE, 4, "parent", "attr", "index",
		    "value");
	/* What capellambse raises, not what it documents (a fourth, "index"). */
	assert_args("capellambse.create", ST_SRC_CAPELLAMBSE, 3, "parent", "attr", "value");
}

static void test_lookup_misses(void **state)
{
	static const char buf[] = "open(path)";

	/* Counted names: a prefix of a longer buffer is found, neighbours are not. */
	assert_non_null(st_event_lookup(buf, 4));
	assert_null(st_event_lookup(buf, 3));
	assert_null(st_event_lookup(buf, 5));
	assert_null(st_event_lookup("openx", 5));
	assert_null(st_event_lookup("Open", 4));
	assert_null(st_event_lookup("", 0));
	assert_null(st_event_lookup("open\0", 5));
	assert_null(st_event_lookup("zzzz", 4));
	assert_null(st_event_lookup("\x01", 1));
	assert_null(st_event_lookup("\xff\xff", 2));
	assert_null(st_event_lookup(NULL, 0));
}

/* The --list-events output, captured. */
static char *list(bool json, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	st_events_list(f, json);
	fclose(f);
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_list_text(void **state)
{
	size_t len;
	char *out = list(false, &len);

	assert_int_equal(count_lines(out), 195);
	assert_memory_equal(out, "_thread.start_new_thread(function, args, kwargs) [cpython]\n",
			    strlen("_thread.start_new_thread(function, args, kwargs) [cpython]\n"));
	assert_non_null(strstr(out, "\nopen(path, mode, flags) [cpython]\n"));
	assert_non_null(strstr(out, "\nos.fork() [cpython]\n"));
	assert_non_null(strstr(out, "\n_winapi.CreatePipe() [cpython-internal]\n"));
	assert_non_null(strstr(out, "\ncapellambse.delete(parent, attr, index) [capellambse]\n"));
	free(out);
}

static void test_list_json(void **state)
{
	size_t len;
	char *out = list(true, &len);
	char path[] = "/tmp/seatrace-test-events-XXXXXX", cmd[256];
	int fd, rc;

	assert_int_equal(count_lines(out), 195);
	assert_non_null(strstr(out, "\n{\"event\":\"open\",\"source\":\"cpython\","
				    "\"argnames\":[\"path\",\"mode\",\"flags\"]}\n"));
	assert_non_null(strstr(out, "\n{\"event\":\"os.fork\",\"source\":\"cpython\","
				    "\"argnames\":[]}\n"));
	assert_non_null(strstr(out, "\n{\"event\":\"capellambse.insert\","
				    "\"source\":\"capellambse\","
				    "\"argnames\":[\"parent\",\"attr\",\"index\",\"value\"]}\n"));

	/* Every line parses as JSON (python3's strict loader) when python3 is there. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, out, len), (ssize_t)len);
	close(fd);
	free(out);
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		unlink(path);
		skip();
	}
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "rows = [json.loads(l) for l in open(sys.argv[1], encoding=\"utf-8\")]\n"
		 "assert len(rows) == 195 and all(set(r) == {\"event\", \"source\", \"argnames\"} "
		 "for r in rows)' %s",
		 path);
	rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
}

static void test_source_names(void **state)
{
	assert_string_equal(st_event_source_name(ST_SRC_CPYTHON), "cpython");
	assert_string_equal(st_event_source_name(ST_SRC_CPYTHON_INTERNAL), "cpython-internal");
	assert_string_equal(st_event_source_name(ST_SRC_CAPELLAMBSE), "capellambse");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sorted_and_complete),
		cmocka_unit_test(test_source_counts),
		cmocka_unit_test(test_cpython_events),
		cmocka_unit_test(test_cpython_internal_events),
		cmocka_unit_test(test_capellambse_events),
		cmocka_unit_test(test_lookup_misses),
		cmocka_unit_test(test_list_text),
		cmocka_unit_test(test_list_json),
		cmocka_unit_test(test_source_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
