// SPDX-License-Identifier: MIT
/* seatrace's own counters, formatted (health.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health.h"
#include "json.h"
#include "strbuf.h"

static const char *const lost_names[ST_LOST_MAX] = {
    [ST_LOST_RING_FULL] = "ring_full",
    [ST_LOST_PROBE_PREEMPTED] = "probe_preempted",
    [ST_LOST_PROBE_MISSED] = "probe_missed",
};

static const char *const notice_names[ST_NOTICE_MAX] = {
    [ST_NOTICE_EXEC] = "exec",
    [ST_NOTICE_EXIT] = "exit",
    [ST_NOTICE_FORK] = "fork",
};

uint64_t st_health_lost_total(const struct st_health *h)
{
	uint64_t n = 0;

	for (int i = 0; i < ST_LOST_MAX; i++)
		n += h->lost[i];
	return n;
}

uint64_t st_health_seen(const struct st_health *h)
{
	return h->delivered + h->filtered_name + h->filtered_process + h->rate_limited +
	       st_health_lost_total(h);
}

int st_health_add_sink(struct st_health *h, const char *name, uint64_t lines_dropped,
		       uint64_t errors)
{
	struct st_health_sink *s;

	if (h->nsinks >= ST_HEALTH_SINKS)
		return -ENOSPC;
	s = &h->sinks[h->nsinks++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->lines_dropped = lines_dropped;
	s->errors = errors;
	return 0;
}

/* Seconds with a fixed number of decimals, from an integer count of 10^-digits seconds. */
static int fmt_secs(char *buf, size_t len, uint64_t v, unsigned digits)
{
	uint64_t scale = 1;

	for (unsigned i = 0; i < digits; i++)
		scale *= 10;
	return snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, v / scale, (int)digits, v % scale);
}

static void json_secs(struct jsonw *w, const char *name, uint64_t v, unsigned digits)
{
	char buf[32];
	int n = fmt_secs(buf, sizeof(buf), v, digits);

	jsonw_name(w, name);
	jsonw_number_raw(w, buf, (size_t)n);
}

void st_health_json(struct jsonw *w, const struct st_health *h)
{
	json_secs(w, "uptime_s", h->uptime_ns / 1000000, 3);
	jsonw_name(w, "events");
	jsonw_start_object(w);
	jsonw_uint_field(w, "seen", st_health_seen(h));
	jsonw_uint_field(w, "delivered", h->delivered);
	jsonw_uint_field(w, "filtered_name", h->filtered_name);
	jsonw_uint_field(w, "filtered_process", h->filtered_process);
	jsonw_uint_field(w, "rate_limited", h->rate_limited);
	jsonw_uint_field(w, "lost", st_health_lost_total(h));
	jsonw_end_object(w);
	jsonw_name(w, "lost");
	jsonw_start_object(w);
	for (int i = 0; i < ST_LOST_MAX; i++)
		jsonw_uint_field(w, lost_names[i], h->lost[i]);
	jsonw_end_object(w);
	jsonw_name(w, "syscalls");
	jsonw_start_object(w);
	jsonw_uint_field(w, "delivered", h->syscalls);
	jsonw_uint_field(w, "lost", h->syscalls_lost);
	jsonw_uint_field(w, "untracked", h->syscalls_untracked);
	jsonw_end_object(w);
	jsonw_name(w, "notices");
	jsonw_start_object(w);
	for (int i = 0; i < ST_NOTICE_FORK; i++)
		jsonw_uint_field(w, notice_names[i], h->notices[i]);
	jsonw_end_object(w);
	jsonw_name(w, "notices_lost");
	jsonw_start_object(w);
	for (int i = 0; i < ST_NOTICE_MAX; i++)
		jsonw_uint_field(w, notice_names[i], h->notices_lost[i]);
	jsonw_end_object(w);
	jsonw_uint_field(w, "invalid", h->invalid);
	jsonw_uint_field(w, "name_faults", h->name_faults);
	jsonw_uint_field(w, "names_from_file", h->names_from_file);
	jsonw_name(w, "attached");
	jsonw_start_object(w);
	jsonw_uint_field(w, "files", h->files);
	jsonw_uint_field(w, "processes", h->processes);
	jsonw_uint_field(w, "links", h->links);
	jsonw_uint_field(w, "files_total", h->files_attached);
	jsonw_uint_field(w, "released_total", h->files_released);
	jsonw_end_object(w);
	jsonw_name(w, "not_traced");
	jsonw_start_object(w);
	jsonw_uint_field(w, "files", h->limit_files);
	jsonw_uint_field(w, "processes", h->limit_processes);
	jsonw_end_object(w);
	jsonw_name(w, "cpu_s");
	jsonw_start_object(w);
	json_secs(w, "user", h->cpu_user_us, 6);
	json_secs(w, "system", h->cpu_system_us, 6);
	jsonw_end_object(w);
	if (h->nrules) {
		jsonw_name(w, "rules");
		jsonw_start_array(w);
		for (unsigned i = 0; i < h->nrules; i++) {
			jsonw_start_object(w);
			jsonw_string_field(w, "rule", h->rules[i].name);
			jsonw_uint_field(w, "count", h->rules[i].count);
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
	}
	jsonw_name(w, "sinks");
	jsonw_start_array(w);
	for (unsigned i = 0; i < h->nsinks; i++) {
		jsonw_start_object(w);
		jsonw_string_field(w, "name", h->sinks[i].name);
		jsonw_uint_field(w, "lines_dropped", h->sinks[i].lines_dropped);
		jsonw_uint_field(w, "errors", h->sinks[i].errors);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
}

void st_health_text(struct strbuf *sb, const struct st_health *h)
{
	char buf[32];

	fmt_secs(buf, sizeof(buf), h->uptime_ns / 1000000, 3);
	strbuf_addf(sb,
		    "--- stats uptime=%ss seen=%" PRIu64 " delivered=%" PRIu64
		    " filtered_name=%" PRIu64 " filtered_process=%" PRIu64 " rate_limited=%" PRIu64,
		    buf, st_health_seen(h), h->delivered, h->filtered_name, h->filtered_process,
		    h->rate_limited);
	for (int i = 0; i < ST_LOST_MAX; i++)
		strbuf_addf(sb, " lost_%s=%" PRIu64, lost_names[i], h->lost[i]);
	strbuf_addf(sb,
		    " syscalls=%" PRIu64 " syscalls_lost=%" PRIu64 " syscalls_untracked=%" PRIu64,
		    h->syscalls, h->syscalls_lost, h->syscalls_untracked);
	for (int i = 0; i < ST_NOTICE_MAX; i++)
		strbuf_addf(sb, " notices_lost_%s=%" PRIu64, notice_names[i], h->notices_lost[i]);
	strbuf_addf(sb,
		    " invalid=%" PRIu64 " name_faults=%" PRIu64 " names_from_file=%" PRIu64
		    " files=%" PRIu64
		    " processes=%" PRIu64 " links=%" PRIu64 " files_total=%" PRIu64
		    " released_total=%" PRIu64 " not_traced_files=%" PRIu64
		    " not_traced_processes=%" PRIu64,
		    h->invalid, h->name_faults, h->names_from_file, h->files, h->processes, h->links,
		    h->files_attached,
		    h->files_released, h->limit_files, h->limit_processes);
	fmt_secs(buf, sizeof(buf), h->cpu_user_us, 6);
	strbuf_addf(sb, " cpu_user=%ss", buf);
	fmt_secs(buf, sizeof(buf), h->cpu_system_us, 6);
	strbuf_addf(sb, " cpu_system=%ss", buf);
	/* Sink names are ours ("file", "journal"): no spaces to quote. */
	for (unsigned i = 0; i < h->nsinks; i++)
		strbuf_addf(sb, " %s_dropped=%" PRIu64 " %s_errors=%" PRIu64, h->sinks[i].name,
			    h->sinks[i].lines_dropped, h->sinks[i].name, h->sinks[i].errors);
	/* Rule names are letters, digits and . _ : - in a policy; a --count filter's text may
	 * hold anything: quoted then, as JSON would. */
	for (unsigned i = 0; i < h->nrules; i++) {
		const char *n = h->rules[i].name;

		strbuf_addstr(sb, " rule=");
		if (n[strcspn(n, " \"=\\\t\n")] || !*n) {
			strbuf_addch(sb, '"');
			for (; *n; n++) {
				if (*n == '"' || *n == '\\')
					strbuf_addch(sb, '\\');
				strbuf_addch(sb, (unsigned char)*n < 0x20 ? '?' : *n);
			}
			strbuf_addch(sb, '"');
		} else {
			strbuf_addstr(sb, n);
		}
		strbuf_addf(sb, ":%" PRIu64, h->rules[i].count);
	}
	strbuf_addstr(sb, " ---");
}

/* ------------------------------------------------------------------ Prometheus */

static void prom_head(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, with the exposition format's escapes (\\, \", \n). */
static void prom_label_value(struct strbuf *sb, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			strbuf_addch(sb, '\\');
		if (*v == '\n') {
			strbuf_addstr(sb, "\\n");
			continue;
		}
		strbuf_addch(sb, *v);
	}
}

static void prom_sample(struct strbuf *sb, const char *name, const char *label, const char *value,
			uint64_t v)
{
	strbuf_addstr(sb, name);
	if (label) {
		strbuf_addf(sb, "{%s=\"", label);
		prom_label_value(sb, value);
		strbuf_addstr(sb, "\"}");
	}
	strbuf_addf(sb, " %" PRIu64 "\n", v);
}

static void prom_secs(struct strbuf *sb, const char *name, const char *label, const char *value,
		      uint64_t v, unsigned digits)
{
	char buf[32];

	fmt_secs(buf, sizeof(buf), v, digits);
	strbuf_addstr(sb, name);
	if (label)
		strbuf_addf(sb, "{%s=\"%s\"}", label, value);
	strbuf_addf(sb, " %s\n", buf);
}

/* A family with one sample and no label. */
static void prom_one(struct strbuf *sb, const char *name, const char *type, const char *help,
		     uint64_t v)
{
	prom_head(sb, name, type, help);
	prom_sample(sb, name, NULL, NULL, v);
}

int st_health_prom(struct strbuf *sb, const struct st_health *h)
{
	prom_head(sb, "seatrace_uptime_seconds", "gauge", "Seconds since seatrace started.");
	prom_secs(sb, "seatrace_uptime_seconds", NULL, NULL, h->uptime_ns / 1000000, 3);
	prom_one(sb, "seatrace_events_seen_total", "counter",
		 "Audit events the probe saw in traced processes (delivered, filtered or lost).",
		 st_health_seen(h));
	prom_one(sb, "seatrace_events_delivered_total", "counter",
		 "Audit events read by seatrace from the kernel.", h->delivered);
	prom_head(sb, "seatrace_events_filtered_total", "counter",
		  "Audit events left out in the kernel, by filter (name: -e/-x; process: "
		  "-p/-u/--comm/--cgroup; rate: --rate-limit, a policy rule's rate).");
	prom_sample(sb, "seatrace_events_filtered_total", "by", "name", h->filtered_name);
	prom_sample(sb, "seatrace_events_filtered_total", "by", "process", h->filtered_process);
	prom_sample(sb, "seatrace_events_filtered_total", "by", "rate", h->rate_limited);
	prom_head(sb, "seatrace_events_lost_total", "counter",
		  "Audit events not delivered, by cause.");
	for (int i = 0; i < ST_LOST_MAX; i++)
		prom_sample(sb, "seatrace_events_lost_total", "cause", lost_names[i], h->lost[i]);
	prom_one(sb, "seatrace_syscall_records_total", "counter",
		 "Syscall records (--syscalls) read from the kernel.", h->syscalls);
	prom_head(sb, "seatrace_syscall_records_lost_total", "counter",
		  "Syscall records not delivered, by cause.");
	prom_sample(sb, "seatrace_syscall_records_lost_total", "cause", "ring_full",
		    h->syscalls_lost);
	prom_sample(sb, "seatrace_syscall_records_lost_total", "cause", "untracked",
		    h->syscalls_untracked);
	prom_head(sb, "seatrace_notices_total", "counter",
		  "Process exec and exit notices read from the kernel.");
	for (int i = 0; i < ST_NOTICE_FORK; i++)
		prom_sample(sb, "seatrace_notices_total", "kind", notice_names[i], h->notices[i]);
	prom_head(sb, "seatrace_notices_lost_total", "counter",
		  "Process notices not delivered (their ring was full), by kind.");
	for (int i = 0; i < ST_NOTICE_MAX; i++)
		prom_sample(sb, "seatrace_notices_lost_total", "kind", notice_names[i],
			    h->notices_lost[i]);
	prom_one(sb, "seatrace_records_invalid_total", "counter",
		 "Malformed records read from the kernel (each reported as an invalid record).",
		 h->invalid);
	prom_one(sb, "seatrace_event_name_faults_total", "counter",
		 "Audit events whose name could not be read (the record was still sent).",
		 h->name_faults);
	prom_one(sb, "seatrace_event_names_from_file_total", "counter",
		 "Audit event names unreadable in the process (a forked child that never touched "
		 "their page), known from the interpreter file.",
		 h->names_from_file);
	/* argfilt */
	prom_head(sb, "seatrace_actions_total", "counter",
		  "Processes signalled by --kill/--stop rules (or that would be, with --dry-run).");
	prom_sample(sb, "seatrace_actions_total", "action", "kill", h->actions_kill);
	prom_sample(sb, "seatrace_actions_total", "action", "stop", h->actions_stop);
	prom_one(sb, "seatrace_action_records_lost_total", "counter",
		 "Action records not delivered (the notice ring was full); the signal was sent.",
		 h->actions_lost);
	/* countact */
	if (h->nrules) {
		prom_head(sb, "seatrace_rule_matches_total", "counter",
			  "Events matched by count rules (--count, a policy's action: count), "
			  "counted in the kernel and not shown.");
		for (unsigned i = 0; i < h->nrules; i++)
			prom_sample(sb, "seatrace_rule_matches_total", "rule", h->rules[i].name,
				    h->rules[i].count);
	}
	prom_one(sb, "seatrace_attached_files", "gauge",
		 "Python interpreter files with seatrace's probes attached.", h->files);
	prom_one(sb, "seatrace_attached_processes", "gauge",
		 "Processes known to map an interpreter file seatrace is attached to.",
		 h->processes);
	prom_one(sb, "seatrace_attached_links", "gauge",
		 "BPF links seatrace holds (uprobes and tracepoints).", h->links);
	prom_one(sb, "seatrace_files_attached_total", "counter",
		 "Interpreter files attached to since start.", h->files_attached);
	prom_one(sb, "seatrace_files_released_total", "counter",
		 "Interpreter files released since start (their last process ended).",
		 h->files_released);
	prom_head(
	    sb, "seatrace_not_traced_total", "counter",
	    "Interpreter files and processes not traced: --max-files or --max-links reached.");
	prom_sample(sb, "seatrace_not_traced_total", "what", "files", h->limit_files);
	prom_sample(sb, "seatrace_not_traced_total", "what", "processes", h->limit_processes);
	prom_head(sb, "seatrace_cpu_seconds_total", "counter",
		  "CPU time used by seatrace's reader, by mode.");
	prom_secs(sb, "seatrace_cpu_seconds_total", "mode", "user", h->cpu_user_us, 6);
	prom_secs(sb, "seatrace_cpu_seconds_total", "mode", "system", h->cpu_system_us, 6);
	if (h->nsinks) {
		prom_head(sb, "seatrace_output_lines_dropped_total", "counter",
			  "Output lines not written (failed writes, or given up on), by sink.");
		for (unsigned i = 0; i < h->nsinks; i++)
			prom_sample(sb, "seatrace_output_lines_dropped_total", "sink",
				    h->sinks[i].name, h->sinks[i].lines_dropped);
		prom_head(sb, "seatrace_sink_errors_total", "counter",
			  "Failed writes to an output, by sink.");
		for (unsigned i = 0; i < h->nsinks; i++)
			prom_sample(sb, "seatrace_sink_errors_total", "sink", h->sinks[i].name,
				    h->sinks[i].errors);
	}
	return sb->err ? -ENOMEM : 0;
}

int st_health_write_file(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	/* node_exporter runs as another user: readable whatever the umask. */
	if (fchmod(fd, 0644))
		err = -errno;
	while (!err && len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	/* A crash after the rename must not leave an empty file in its place. */
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

void st_health_timer_init(struct st_health_timer *t, uint64_t now_ns, uint64_t interval_ns)
{
	t->start_ns = now_ns;
	t->interval_ns = interval_ns;
	t->next_ns = now_ns + interval_ns;
}

bool st_health_timer_due(struct st_health_timer *t, uint64_t now_ns)
{
	if (!t->interval_ns || now_ns < t->next_ns)
		return false;
	t->next_ns += t->interval_ns;
	/* Far behind (the machine was suspended): one record now, then the usual pace. */
	if (t->next_ns <= now_ns)
		t->next_ns = now_ns + t->interval_ns;
	return true;
}
