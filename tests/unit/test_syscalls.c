// SPDX-License-Identifier: MIT
/* Syscall records: validation, which audit event accounts for what, strace-style text. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "strbuf.h"
#include "syscalls.h"
#include "tamper.h"

struct srec {
	union {
		struct st_syscall h;
		uint8_t buf[sizeof(struct st_syscall) + 2 * ST_SYS_STR_MAX];
	};
	size_t len;
};

static void mk(struct srec *r, unsigned nr, int64_t ret, const char *audit, const void *s0,
	       size_t n0, const void *s1, size_t n1)
{
	memset(r, 0, sizeof(*r));
	r->h.type = ST_REC_SYSCALL;
	r->h.nr = nr;
	r->h.ret = ret;
	r->h.pid = 10;
	r->h.tid = 11;
	if (audit) {
		r->h.audit_ts = 5;
		strncpy(r->h.audit_name, audit, sizeof(r->h.audit_name));
	} else {
		r->h.flags |= ST_SF_NO_AUDIT;
	}
	r->h.str_len[0] = (uint16_t)n0;
	r->h.str_len[1] = (uint16_t)n1;
	memcpy(r->h.tail, s0, n0);
	memcpy(r->h.tail + n0, s1, n1);
	r->len = sizeof(r->h) + n0 + n1;
	r->h.size = (uint32_t)r->len;
}

static const char *text(struct srec *r)
{
	static struct strbuf sb;
	struct st_sys_view v;

	assert_int_equal(st_sys_decode(r->buf, r->len, &v), 0);
	strbuf_reset(&sb);
	st_sys_format_text(&sb, &v);
	return strbuf_str(&sb);
}

static void test_validation(void **state)
{
	struct srec r;
	struct st_sys_view v;

	(void)state;
	mk(&r, 257, 3, "open", "/x", 2, "", 0);
	assert_int_equal(st_sys_decode(r.buf, r.len, &v), 0);
	assert_string_equal(v.name, "openat");
	assert_int_equal(st_sys_decode(r.buf, r.len - 1, &v), -EINVAL); /* size mismatch */
	assert_int_equal(st_sys_decode(r.buf, 10, &v), -EINVAL);	  /* short */
	r.h.str_len[0] = 3;						  /* tail disagrees */
	assert_int_equal(st_sys_decode(r.buf, r.len, &v), -EINVAL);
	r.h.str_len[0] = ST_SYS_STR_MAX + 1;
	assert_int_equal(st_sys_decode(r.buf, r.len, &v), -EINVAL);
	mk(&r, 257, 3, "open", "/x", 2, "", 0);
	r.h.type = ST_REC_EVENT;
	assert_int_equal(st_sys_decode(r.buf, r.len, &v), -EINVAL);
	/* An audit name without NUL inside its field is still a string. */
	mk(&r, 257, 3, NULL, "/x", 2, "", 0);
	memset(r.h.audit_name, 'a', sizeof(r.h.audit_name));
	assert_int_equal(st_sys_decode(r.buf, r.len, &v), 0);
	assert_int_equal(strlen(v.audit_name), ST_SYS_AUDIT_NAME);
}

static void test_verdicts(void **state)
{
	struct srec r;
	struct st_sys_view v;

	(void)state;
	assert_true(st_sys_explains("open", 257));
	assert_true(st_sys_explains("import", 257));
	assert_true(st_sys_explains("socket.connect", 42));
	assert_true(st_sys_explains("subprocess.Popen", 59));
	assert_true(st_sys_explains("subprocess.Popen", 56));
	assert_true(st_sys_explains("os.remove", 263));
	assert_true(st_sys_explains("shutil.rmtree", 84));
	assert_false(st_sys_explains("open", 42));
	assert_false(st_sys_explains("ctypes.call_function", 257));
	assert_false(st_sys_explains("socket.connect", 99999));
	mk(&r, 257, 3, "ctypes.call_function", "/x", 2, "", 0);
	st_sys_decode(r.buf, r.len, &v);
	assert_int_equal(st_sys_verdict(&v), ST_SYS_UNAUDITED);
	mk(&r, 257, 3, "open", "/x", 2, "", 0);
	st_sys_decode(r.buf, r.len, &v);
	assert_int_equal(st_sys_verdict(&v), ST_SYS_AUDITED);
	mk(&r, 257, 3, NULL, "/x", 2, "", 0);
	st_sys_decode(r.buf, r.len, &v);
	assert_int_equal(st_sys_verdict(&v), ST_SYS_STARTUP);
}

static void test_text(void **state)
{
	struct srec r;

	(void)state;
	mk(&r, 257, 3, "open", "/etc/x", 6, "", 0);
	r.h.args[0] = (uint64_t)(int64_t)AT_FDCWD;
	r.h.args[1] = 1;
	r.h.args[2] = O_RDONLY | O_CLOEXEC;
	assert_string_equal(text(&r), "openat(AT_FDCWD, \"/etc/x\", O_RDONLY|O_CLOEXEC) = 3");
	r.h.args[2] = O_WRONLY | O_CREAT | O_TRUNC;
	r.h.args[3] = 0644;
	r.h.ret = -ENOENT;
	assert_string_equal(text(&r), "openat(AT_FDCWD, \"/etc/x\", O_WRONLY|O_CREAT|O_TRUNC, 0644)"
				      " = -1 ENOENT (No such file or directory)");
	mk(&r, 82, 0, "os.rename", "a\"b", 3, "c\n", 2);
	r.h.args[0] = r.h.args[1] = 1;
	r.h.flags |= ST_SF_STR1_TRUNC;
	assert_string_equal(text(&r), "rename(\"a\\\"b\", \"c\\x0a\"...) = 0");

	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(8080) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	mk(&r, 42, 0, "socket.connect", &in, sizeof(in), "", 0);
	r.h.flags |= ST_SF_SOCKADDR;
	r.h.args[0] = 5;
	r.h.args[2] = sizeof(in);
	assert_string_equal(text(&r), "connect(5, ('127.0.0.1', 8080), 16) = 0");

	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	mk(&r, 42, -ECONNREFUSED, "socket.connect", &in6, sizeof(in6), "", 0);
	r.h.flags |= ST_SF_SOCKADDR;
	r.h.args[0] = 5;
	r.h.args[2] = sizeof(in6);
	assert_string_equal(text(&r), "connect(5, ('::1', 443), 28) = -1 ECONNREFUSED "
				      "(Connection refused)");
	/* An abstract unix socket name starts with a NUL byte. */
	uint8_t un[] = { AF_UNIX, 0, 0, 'x', 'y' };
	mk(&r, 42, 0, "socket.connect", un, sizeof(un), "", 0);
	r.h.flags |= ST_SF_SOCKADDR;
	r.h.args[0] = 3;
	r.h.args[2] = sizeof(un);
	assert_string_equal(text(&r), "connect(3, @\"xy\", 5) = 0");
	/* An unknown number is still shown, not dropped. */
	mk(&r, 9999, 0, "open", "", 0, "", 0);
	assert_string_equal(text(&r), "syscall_9999(...) = 0");
}

static void test_bits_and_tamper(void **state)
{
	__u64 bits[8];

	(void)state;
	st_syscalls_bits(bits);
	assert_true(bits[257 / 64] & (1ULL << (257 % 64)));
	assert_true(bits[59 / 64] & (1ULL << (59 % 64)));
	assert_false(bits[0] & 1); /* read(2) is not recorded */
	assert_non_null(st_tamper_reason("sys.addaudithook", 16));
	assert_non_null(st_tamper_reason("ctypes.dlopen", 13));
	assert_null(st_tamper_reason("ctypes", 6));
	assert_null(st_tamper_reason("open", 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_bits_and_tamper),
	};

	return cmocka_run_group_tests_name("syscalls", tests, NULL, NULL);
}
