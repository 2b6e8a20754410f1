// SPDX-License-Identifier: MIT
/*
 * --journal: records as native journald entries through libsystemd (see sink.h). The lines
 * come as the text line then the JSON line of each record: the text is kept until its JSON
 * arrives, then one entry is sent with MESSAGE the text, SEATRACE_JSON the record and a
 * SEATRACE_<KEY> field per top-level key of the record (strings unescaped, other values as
 * their JSON text), so that `journalctl SEATRACE_EVENT=open` matches. Field names are in
 * docs/daemon.md.
 */
#include "sink.h"
#include "say.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
/* seatrace's own code location would be noise in every entry. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define MAX_FIELDS     64
#define FIELD_NAME_MAX 64 /* journald's limit */

struct journal_sink {
	struct st_sink sink;  /* first: the ops get this one's address */
	struct strbuf text;   /* the text line of the record whose JSON comes next */
	struct strbuf fields; /* the entry being built */
	size_t off[MAX_FIELDS + 8], len[MAX_FIELDS + 8];
	bool failing; /* said on stderr, to be said again on recovery */
	bool absent;  /* journald's socket was not there at the last look */
	unsigned long long looked_ns;
	unsigned long long missed;
};

/* The end of the JSON value at p (not past end), or NULL if it is malformed. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;
	bool str = false;

	for (; p < end; p++) {
		if (str) {
			if (*p == '\\')
				p++;
			else if (*p == '"') {
				str = false;
				if (!depth)
					return p + 1;
			}
			continue;
		}
		switch (*p) {
		case '"':
			str = true;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (!depth)
				return p;
			if (!--depth)
				return p + 1;
			break;
		case ',':
			if (!depth)
				return p;
			break;
		}
	}
	return depth || str ? NULL : p;
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		v |= c >= '0' && c <= '9'   ? (unsigned)(c - '0')
		     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
		     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
					    : 0;
	}
	return v;
}

/* The JSON string s..e (without its quotes), unescaped into sb (lone surrogates as WTF-8). */
static void unescape(struct strbuf *sb, const char *s, const char *e)
{
	while (s < e) {
		const char *bs = memchr(s, '\\', (size_t)(e - s));
		unsigned cp;
		char u[4];

		if (!bs) {
			strbuf_add(sb, s, (size_t)(e - s));
			return;
		}
		strbuf_add(sb, s, (size_t)(bs - s));
		if (bs + 1 >= e)
			return;
		s = bs + 2;
		switch (bs[1]) {
		case 'n':
			strbuf_addch(sb, '\n');
			continue;
		case 't':
			strbuf_addch(sb, '\t');
			continue;
		case 'r':
			strbuf_addch(sb, '\r');
			continue;
		case 'b':
			strbuf_addch(sb, '\b');
			continue;
		case 'f':
			strbuf_addch(sb, '\f');
			continue;
		case 'u':
			break;
		default:
			strbuf_addch(sb, bs[1]);
			continue;
		}
		if (e - s < 4)
			return;
		cp = hex4(s);
		s += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && e - s >= 6 && s[0] == '\\' && s[1] == 'u') {
			unsigned lo = hex4(s + 2);

			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			}
		}
		if (cp < 0x80) {
			u[0] = (char)cp;
			strbuf_add(sb, u, 1);
		} else if (cp < 0x800) {
			u[0] = (char)(0xc0 | cp >> 6);
			u[1] = (char)(0x80 | (cp & 0x3f));
			strbuf_add(sb, u, 2);
		} else if (cp < 0x10000) {
			u[0] = (char)(0xe0 | cp >> 12);
			u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (char)(0x80 | (cp & 0x3f));
			strbuf_add(sb, u, 3);
		} else {
			u[0] = (char)(0xf0 | cp >> 18);
			u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[3] = (char)(0x80 | (cp & 0x3f));
			strbuf_add(sb, u, 4);
		}
	}
}

/* Start a field of the entry: its name and '='. Its index, or -1 when there are too many. */
static int field_start(struct journal_sink *j, unsigned *n, const char *name, size_t nlen)
{
	if (*n >= MAX_FIELDS + 8)
		return -1;
	j->off[*n] = j->fields.len;
	strbuf_add(&j->fields, name, nlen);
	strbuf_addch(&j->fields, '=');
	return (int)(*n)++;
}

static void field_end(struct journal_sink *j, int i)
{
	if (i >= 0)
		j->len[i] = j->fields.len - j->off[i];
}

static void field(struct journal_sink *j, unsigned *n, const char *name, const char *v, size_t vlen)
{
	int i = field_start(j, n, name, strlen(name));

	if (i >= 0) {
		strbuf_add(&j->fields, v, vlen);
		field_end(j, i);
	}
}

/*
 * SEATRACE_<KEY>=value for each top-level key of the record json[0..len). The record type
 * into type (for PRIORITY). 0, or -EINVAL if the record is not an object as seatrace writes.
 */
static int record_fields(struct journal_sink *j, unsigned *n, const char *json, size_t len,
			 char *type, size_t typelen)
{
	const char *p = json, *end = json + len;

	if (p >= end || *p++ != '{')
		return -EINVAL;
	while (p < end && *p != '}') {
		const char *k, *ke, *v, *ve;
		char name[FIELD_NAME_MAX + 1] = "SEATRACE_";
		size_t nl = 9;
		int i;

		if (*p == ',')
			p++;
		if (p >= end || *p != '"')
			return -EINVAL;
		k = ++p;
		ke = memchr(k, '"', (size_t)(end - k));
		if (!ke || ke + 1 >= end || ke[1] != ':')
			return -EINVAL;
		v = ke + 2;
		ve = skip_value(v, end);
		if (!ve || ve == v)
			return -EINVAL;
		/* Journal field names: A-Z, 0-9 and _, at most 64. */
		for (const char *c = k; c < ke && nl < FIELD_NAME_MAX; c++) {
			char u = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;

			name[nl++] = (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ? u : '_';
		}
		i = field_start(j, n, name, nl);
		if (*v == '"') {
			if (ke - k == 4 && !memcmp(k, "type", 4) &&
			    (size_t)(ve - v - 2) < typelen) {
				memcpy(type, v + 1, (size_t)(ve - v - 2));
				type[ve - v - 2] = 0;
			}
			if (i >= 0)
				unescape(&j->fields, v + 1, ve - 1);
		} else if (i >= 0) {
			strbuf_add(&j->fields, v, (size_t)(ve - v));
		}
		field_end(j, i);
		p = ve;
	}
	return 0;
}

/* One entry: the pending text line (if any) and the JSON record. 0 or -errno. */
static int send_entry(struct journal_sink *j, const char *json, size_t len)
{
	struct iovec iov[MAX_FIELDS + 8];
	char type[32] = "";
	unsigned n = 0;
	int err;

	strbuf_reset(&j->fields);
	if (j->text.len)
		field(j, &n, "MESSAGE", j->text.buf, j->text.len);
	else
		field(j, &n, "MESSAGE", json, len);
	field(j, &n, "SYSLOG_IDENTIFIER", "seatrace", 8);
	field(j, &n, "SEATRACE_JSON", json, len);
	err = record_fields(j, &n, json, len, type, sizeof(type));
	if (err)
		return err;
	/* Warnings: what says something was missed or tampered with. */
	if (!strcmp(type, "alert") || !strcmp(type, "lost") || !strcmp(type, "invalid") ||
	    !strcmp(type, "sink"))
		field(j, &n, "PRIORITY", "4", 1);
	else
		field(j, &n, "PRIORITY", "6", 1);
	if (j->fields.err)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		iov[i] = (struct iovec){j->fields.buf + j->off[i], j->len[i]};
	return sd_journal_sendv(iov, (int)n);
}

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/*
 * libsystemd drops entries silently (and says 0) when journald's socket does not exist: look
 * for it ourselves, at most once a second, so that those entries are counted too.
 */
static bool journald_absent(struct journal_sink *j)
{
	unsigned long long now = mono_ns();

	if (!j->looked_ns || now - j->looked_ns >= 1000000000ULL) {
		j->looked_ns = now;
		j->absent = access(JOURNAL_SOCKET, F_OK) != 0;
	}
	return j->absent;
}

static void deliver(struct journal_sink *j, const char *json, size_t len)
{
	int err = journald_absent(j) ? -ENOENT : send_entry(j, json, len);

	strbuf_reset(&j->text);
	if (err) {
		j->sink.dropped++;
		j->sink.errors++;
		j->missed++;
		if (!j->failing)
			st_say(
			    "journal: an entry was not delivered (%s%s); entries are counted "
			    "as dropped until journald takes them again",
			    strerror(-err),
			    err == -ENOENT ? ": is journald running? " JOURNAL_SOCKET
					     " does not exist"
					   : "");
		j->failing = true;
		return;
	}
	if (j->failing) {
		char note[160];
		int n = snprintf(note, sizeof(note),
				 "{\"type\":\"sink\",\"sink\":\"journal\",\"state\":\"resumed\","
				 "\"dropped\":%llu,\"dropped_total\":%llu}",
				 j->missed, j->sink.dropped);

		j->failing = false;
		st_say("journal: entries taken again; %llu were dropped", j->missed);
		j->missed = 0;
		send_entry(j, note, (size_t)n);
	}
}

static int journal_write(struct st_sink *s, const char *buf, size_t len, size_t *done)
{
	struct journal_sink *j = (struct journal_sink *)s;
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		/* JSON records start with '{', text lines never do (time, or "---"). */
		if (n && *p == '{') {
			deliver(j, p, n);
		} else {
			strbuf_reset(&j->text);
			strbuf_add(&j->text, p, n);
		}
		p += n + 1;
	}
	*done = len;
	return 0;
}

static int journal_flush(struct st_sink *s)
{
	return 0;
}

static void journal_free(struct st_sink *s)
{
	struct journal_sink *j = (struct journal_sink *)s;

	if (j->missed)
		st_say("journal: %llu entries not delivered", j->missed);
	strbuf_release(&j->text);
	strbuf_release(&j->fields);
	st_sink_release(s);
	free(j);
}

static const struct st_sink_ops journal_ops = {
    .write = journal_write,
    .flush = journal_flush,
    .free = journal_free,
};

struct st_sink *st_sink_journal_new(size_t line_max)
{
	struct journal_sink *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	strbuf_init(&j->text);
	strbuf_init(&j->fields);
	if (st_sink_init(&j->sink, &journal_ops, line_max)) {
		journal_free(&j->sink);
		errno = ENOMEM;
		return NULL;
	}
	j->sink.name = "journal";
	return &j->sink;
}
