// SPDX-License-Identifier: MIT
/* -c / -C summaries: merged, sorted, formatted (summary.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "json.h"
#include "strbuf.h"
#include "summary.h"
#include "syscalls.h"

int st_summary_add(struct st_summary *s, const char *name, size_t len, uint32_t tgid,
		   uint64_t count, uint64_t first_ns, uint64_t last_ns)
{
	struct st_summary_row *r;

	if (s->nrows == s->rows_cap) {
		size_t cap = s->rows_cap ? 2 * s->rows_cap : 64;

		r = realloc(s->rows, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		s->rows = r;
		s->rows_cap = cap;
	}
	r = &s->rows[s->nrows];
	r->name = strndup(name, len);
	if (!r->name)
		return -ENOMEM;
	r->tgid = tgid;
	r->count = count;
	r->first_ns = first_ns;
	r->last_ns = last_ns;
	s->nrows++;
	return 0;
}

int st_summary_add_sys(struct st_summary *s, uint32_t nr, uint32_t err, uint64_t count)
{
	if (s->nsys == s->sys_cap) {
		size_t cap = s->sys_cap ? 2 * s->sys_cap : 64;
		struct st_summary_sysrow *r = realloc(s->sys, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->sys = r;
		s->sys_cap = cap;
	}
	s->sys[s->nsys++] = (struct st_summary_sysrow){ nr, err, count };
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct st_summary_row *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

static int sysrow_cmp(const void *a, const void *b)
{
	const struct st_summary_sysrow *x = a, *y = b;

	if (x->nr != y->nr)
		return x->nr < y->nr ? -1 : 1;
	return x->err < y->err ? -1 : x->err > y->err;
}

/* Most first; ties by name (events) or number (syscalls), so the order is the same each run. */
static int event_cmp(const void *a, const void *b)
{
	const struct st_summary_event *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int call_cmp(const void *a, const void *b)
{
	const struct st_summary_syscall *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static int errno_cmp(const void *a, const void *b)
{
	const struct st_summary_errno *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->err < y->err ? -1 : x->err > y->err;
}

static int tgid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void merge_times(uint64_t *first, uint64_t *last, const struct st_summary_row *r)
{
	if (r->first_ns && (!*first || r->first_ns < *first))
		*first = r->first_ns;
	if (r->last_ns > *last)
		*last = r->last_ns;
}

static int finish_events(struct st_summary *s)
{
	uint32_t *tgids;
	size_t n = 0;

	if (s->nrows)
		qsort(s->rows, s->nrows, sizeof(*s->rows), row_cmp);
	s->events = calloc(s->nrows ? s->nrows : 1, sizeof(*s->events));
	tgids = malloc((s->nrows ? s->nrows : 1) * sizeof(*tgids));
	if (!s->events || !tgids) {
		free(tgids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->nrows; i++) {
		const struct st_summary_row *r = &s->rows[i];
		struct st_summary_event *e = n ? &s->events[n - 1] : NULL;

		tgids[i] = r->tgid;
		if (!e || strcmp(e->name, r->name)) {
			e = &s->events[n++];
			e->name = r->name;
			e->processes = 1;
		} else if (s->rows[i - 1].tgid != r->tgid) {
			e->processes++; /* rows of one name are sorted by process */
		}
		e->count += r->count;
		merge_times(&e->first_ns, &e->last_ns, r);
		s->total += r->count;
	}
	s->nevents = n;
	qsort(s->events, n, sizeof(*s->events), event_cmp);
	/* Processes overall: distinct across names. */
	qsort(tgids, s->nrows, sizeof(*tgids), tgid_cmp);
	for (size_t i = 0; i < s->nrows; i++)
		s->processes += !i || tgids[i] != tgids[i - 1];
	free(tgids);
	return 0;
}

static int finish_syscalls(struct st_summary *s)
{
	size_t n = 0;

	if (s->nsys)
		qsort(s->sys, s->nsys, sizeof(*s->sys), sysrow_cmp);
	s->calls = calloc(s->nsys ? s->nsys : 1, sizeof(*s->calls));
	if (!s->calls)
		return -ENOMEM;
	for (size_t i = 0; i < s->nsys; i++) {
		const struct st_summary_sysrow *r = &s->sys[i];
		struct st_summary_syscall *c = n ? &s->calls[n - 1] : NULL;

		if (!c || c->nr != r->nr) {
			c = &s->calls[n++];
			c->nr = r->nr;
		}
		c->count += r->count;
		s->sys_total += r->count;
		if (!r->err)
			continue;
		if (!c->errs) {
			/* At most as many errnos as rows left for this number. */
			c->errs = calloc(s->nsys - i, sizeof(*c->errs));
			if (!c->errs)
				return -ENOMEM;
		}
		c->errors += r->count;
		c->errs[c->nerrs++] = (struct st_summary_errno){ r->err, r->count };
	}
	s->ncalls = n;
	for (size_t i = 0; i < n; i++) {
		struct st_summary_syscall *c = &s->calls[i];

		if (c->nerrs)
			qsort(c->errs, c->nerrs, sizeof(*c->errs), errno_cmp);
	}
	qsort(s->calls, n, sizeof(*s->calls), call_cmp);
	return 0;
}

int st_summary_finish(struct st_summary *s)
{
	int err = finish_events(s);

	return err ? err : finish_syscalls(s);
}

void st_summary_free(struct st_summary *s)
{
	for (size_t i = 0; i < s->nrows; i++)
		free(s->rows[i].name);
	for (size_t i = 0; s->calls && i < s->ncalls; i++)
		free(s->calls[i].errs);
	free(s->rows);
	free(s->sys);
	free(s->events);
	free(s->calls);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ text */

static void text_time(struct strbuf *sb, uint64_t mono_ns, int64_t mono_to_real_ns)
{
	int64_t ns = (int64_t)mono_ns + mono_to_real_ns;
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!mono_ns || ns < 0 || !localtime_r(&sec, &tm)) {
		strbuf_addf(sb, "%-15s", "-");
		return;
	}
	strbuf_addf(sb, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		    (unsigned)(ns % 1000000000 / 1000));
}

/* An event name on a text line: control characters as '?', the line stays one line. */
static void text_name(struct strbuf *sb, const char *name)
{
	for (const char *p = name; *p; p++)
		strbuf_addch(sb, (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
}

static void text_errno(struct strbuf *sb, uint32_t err)
{
	const char *name = strerrorname_np((int)err);

	if (name)
		strbuf_addstr(sb, name);
	else
		strbuf_addf(sb, "E%u", err);
}

void st_summary_text(struct strbuf *sb, const struct st_summary *s, int64_t mono_to_real_ns)
{
	static const char rule[] = "------ ----------- --------- --------------- --------------- "
				   "----------------\n";

	strbuf_addf(sb, "%6s %11s %9s %-15s %-15s %s\n", "% all", "count", "processes", "first",
		    "last", "event");
	strbuf_addstr(sb, rule);
	for (size_t i = 0; i < s->nevents; i++) {
		const struct st_summary_event *e = &s->events[i];

		strbuf_addf(sb, "%6.2f %11llu %9llu ", s->total ? 100.0 * e->count / s->total : 0.0,
			    (unsigned long long)e->count, (unsigned long long)e->processes);
		text_time(sb, e->first_ns, mono_to_real_ns);
		strbuf_addch(sb, ' ');
		text_time(sb, e->last_ns, mono_to_real_ns);
		strbuf_addch(sb, ' ');
		text_name(sb, e->name);
		strbuf_addch(sb, '\n');
	}
	strbuf_addstr(sb, rule);
	strbuf_addf(sb, "%6.2f %11llu %9llu %-15s %-15s total\n", s->total ? 100.0 : 0.0,
		    (unsigned long long)s->total, (unsigned long long)s->processes, "", "");
	if (s->uncounted || s->lost)
		strbuf_addf(sb, "not counted: %llu events (count map full), %llu (probe busy or "
				"preempted)\n",
			    (unsigned long long)s->uncounted, (unsigned long long)s->lost);
	if (s->names_missing)
		strbuf_addf(sb, "names not kept (name map full): %llu, shown as '?'\n",
			    (unsigned long long)s->names_missing);
	if (s->nrules) {
		/* Not in the table above: a count rule's events are counted by rule alone. */
		strbuf_addf(sb, "\n%11s %s\n", "count", "rule (counted, not shown)");
		strbuf_addstr(sb, "----------- ----------------\n");
		for (unsigned i = 0; i < s->nrules; i++) {
			strbuf_addf(sb, "%11llu ", (unsigned long long)s->rules[i].count);
			text_name(sb, s->rules[i].name);
			strbuf_addch(sb, '\n');
		}
	}
	if (!s->syscalls)
		return;
	strbuf_addf(sb, "\n%11s %9s %-16s %s\n", "calls", "errors", "syscall", "errno");
	strbuf_addstr(sb, "----------- --------- ---------------- ----------------\n");
	for (size_t i = 0; i < s->ncalls; i++) {
		const struct st_summary_syscall *c = &s->calls[i];
		const char *name = st_sys_name(c->nr);
		char num[24];

		if (!name) {
			snprintf(num, sizeof(num), "syscall_%u", c->nr);
			name = num;
		}
		/* No errno column, no trailing blanks. */
		strbuf_addf(sb, c->nerrs ? "%11llu %9llu %-16s " : "%11llu %9llu %s",
			    (unsigned long long)c->count, (unsigned long long)c->errors, name);
		for (unsigned k = 0; k < c->nerrs; k++) {
			if (k)
				strbuf_addch(sb, ' ');
			text_errno(sb, c->errs[k].err);
			strbuf_addf(sb, ":%llu", (unsigned long long)c->errs[k].count);
		}
		strbuf_addch(sb, '\n');
	}
	strbuf_addstr(sb, "----------- --------- ---------------- ----------------\n");
	strbuf_addf(sb, "%11llu %9s total\n", (unsigned long long)s->sys_total, "");
	if (s->sys_uncounted)
		strbuf_addf(sb, "syscalls not counted (map full): %llu\n",
			    (unsigned long long)s->sys_uncounted);
}

/* ------------------------------------------------------------------ JSON */

/* A time as the records' "ts" (seconds, nine decimals) and as integer ns beside it. */
static void json_time(struct jsonw *w, const char *name, const char *name_ns, uint64_t mono_ns,
		      int64_t mono_to_real_ns)
{
	int64_t ns = (int64_t)mono_ns + mono_to_real_ns;
	char buf[48];
	int n;

	if (!mono_ns || ns < 0) {
		jsonw_null_field(w, name);
		jsonw_null_field(w, name_ns);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%lld.%09lld", (long long)(ns / 1000000000),
		     (long long)(ns % 1000000000));
	jsonw_name(w, name);
	jsonw_number_raw(w, buf, (size_t)n);
	jsonw_int_field(w, name_ns, ns);
}

void st_summary_json(struct jsonw *w, const struct st_summary *s, int64_t mono_to_real_ns)
{
	jsonw_name(w, "events");
	jsonw_start_array(w);
	for (size_t i = 0; i < s->nevents; i++) {
		const struct st_summary_event *e = &s->events[i];

		jsonw_start_object(w);
		jsonw_name(w, "event");
		jsonw_string_len(w, e->name, strlen(e->name));
		jsonw_uint_field(w, "count", e->count);
		jsonw_uint_field(w, "processes", e->processes);
		json_time(w, "first", "first_ns", e->first_ns, mono_to_real_ns);
		json_time(w, "last", "last_ns", e->last_ns, mono_to_real_ns);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_uint_field(w, "total", s->total);
	jsonw_uint_field(w, "processes", s->processes);
	jsonw_uint_field(w, "uncounted", s->uncounted);
	jsonw_uint_field(w, "lost", s->lost);
	jsonw_uint_field(w, "names_missing", s->names_missing);
	if (s->nrules) {
		jsonw_name(w, "rules");
		jsonw_start_array(w);
		for (unsigned i = 0; i < s->nrules; i++) {
			jsonw_start_object(w);
			jsonw_string_field(w, "rule", s->rules[i].name);
			jsonw_uint_field(w, "count", s->rules[i].count);
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
	}
	if (!s->syscalls)
		return;
	jsonw_name(w, "syscalls");
	jsonw_start_array(w);
	for (size_t i = 0; i < s->ncalls; i++) {
		const struct st_summary_syscall *c = &s->calls[i];
		const char *name = st_sys_name(c->nr);

		jsonw_start_object(w);
		if (name)
			jsonw_string_field(w, "syscall", name);
		else
			jsonw_null_field(w, "syscall");
		jsonw_uint_field(w, "nr", c->nr);
		jsonw_uint_field(w, "count", c->count);
		jsonw_uint_field(w, "errors", c->errors);
		jsonw_name(w, "errnos");
		jsonw_start_object(w);
		for (unsigned k = 0; k < c->nerrs; k++) {
			const char *en = strerrorname_np((int)c->errs[k].err);
			char num[16];

			if (!en) {
				snprintf(num, sizeof(num), "E%u", c->errs[k].err);
				en = num;
			}
			jsonw_uint_field(w, en, c->errs[k].count);
		}
		jsonw_end_object(w);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_uint_field(w, "syscalls_total", s->sys_total);
	jsonw_uint_field(w, "syscalls_uncounted", s->sys_uncounted);
}
