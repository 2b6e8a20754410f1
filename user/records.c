// SPDX-License-Identifier: MIT
/* Records from the ring, handled (records.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include "decode.h"
#include "output.h"
#include "pair.h"
#include "proctx.h"
#include "records.h"
#include "rule.h"
#include "syscalls.h"
#include "tamper.h"

/*
 * An output call's result: -EINTR means the line is kept and the output is full, with a
 * signal waiting: not an error, but the drain ends so the reader can act on the signal.
 */
static int out(struct st_records *r, int err)
{
	if (err != -EINTR)
		return err;
	r->interrupted = 1;
	return 0;
}

/* Spans the pairer has ready, written in order; the first comes from st_pairer_event(). */
static int flush_spans(struct st_records *r, int ready, struct st_span *span)
{
	int err = 0;

	while (ready > 0) {
		int e = out(r, st_output_span(r->out, span));

		err = err ? err : e;
		st_span_release(span);
		ready = st_pairer_next(r->pairer, span);
	}
	return err;
}

static int pair_event(struct st_records *r, const struct st_view *v)
{
	struct st_span span;
	int ready;

	if (!r->pairer)
		return 0;
	ready = st_pairer_event(r->pairer, v, &span);
	if (ready < 0) /* the event was not paired; spans queued before still go out */
		ready = st_pairer_next(r->pairer, &span);
	return flush_spans(r, ready, &span);
}

void st_records_drain_spans(struct st_records *r, uint32_t pid)
{
	struct st_span span;

	while (r->pairer && st_pairer_drain(r->pairer, pid, &span) > 0) {
		out(r, st_output_span(r->out, &span));
		st_span_release(&span);
	}
}

static int on_event(struct st_records *r, const void *data, size_t size)
{
	struct st_view v;
	const char *why;
	int err = st_decode_event(data, size, &v);

	if (err)
		return err;
	why = st_tamper_event(r->tamper, &v);
	/* A process seen first by its events (a fork of a watched one): watch its semaphore. */
	if (r->tamper->nfiles && !st_tamper_seen(r->tamper, (pid_t)v.hdr->pid))
		st_tamper_watch_pid(r->tamper, (pid_t)v.hdr->pid);
	if (!(v.hdr->flags & ST_EF_ALERT_ONLY)) {
		r->events++;
		err = out(r, st_output_event(r->out, &v));
		if (!err)
			err = pair_event(r, &v);
	}
	if (!err && why)
		err = out(r, st_output_alert(r->out, v.hdr->ts_ns, v.hdr->pid, v.hdr->tid,
					     v.hdr->comm, why));
	return err;
}

/* An exec or exit notice, whole, or NULL. */
static const struct st_exec *notice(const void *data, size_t size)
{
	const struct st_exec *x = data;

	if (size < sizeof(*x) || (x->type != ST_REC_EXEC && x->type != ST_REC_EXIT) ||
	    x->size != size || x->filename_len > size - sizeof(*x))
		return NULL;
	return x;
}

/*
 * argfilt: a rule acted (bpf/rules.bpf.h): the event's record, typed ST_REC_ACTION, then
 * struct st_action_tail. Validated as an event once typed back.
 */
static int on_action(struct st_records *r, const void *data, size_t size)
{
	static _Alignas(8) unsigned char buf[ST_REC_MAX];
	struct st_action_tail t;
	struct st_event *e = (struct st_event *)buf;
	struct st_view v;
	const char *rule = "?";
	size_t n;
	int err;

	if (size < sizeof(struct st_event) + sizeof(t) || size - sizeof(t) > sizeof(buf))
		return -EPROTO;
	n = size - sizeof(t);
	memcpy(buf, data, n);
	memcpy(&t, (const char *)data + n, sizeof(t));
	if (e->size != n)
		return -EPROTO;
	e->type = ST_REC_EVENT;
	err = st_decode_event(buf, n, &v);
	if (err)
		return err;
	if (t.rule < r->nrules && r->rules)
		rule = r->rules[t.rule].name;
	r->actions++;
	return out(r, st_output_action(r->out, &v, t.action == ST_KR_KILL ? "kill" : "stop", rule,
				       t.flags));
}

int st_records_notice(void *ctx, void *data, size_t size)
{
	struct st_records *r = ctx;
	const struct st_exec *x;
	uint16_t type = 0;

	if (size >= sizeof(type))
		memcpy(&type, data, sizeof(type));
	if (type == ST_REC_ACTION) {
		int err = on_action(r, data, size);

		if (err == -EINVAL || err == -EPROTO) {
			r->invalid++;
			err = out(r, st_output_invalid(r->out, size, err));
		}
		if (err && !r->out_err)
			r->out_err = err;
		return 0;
	}
	x = notice(data, size);
	if (!x) {
		r->invalid++;
		int err = out(r, st_output_invalid(r->out, size, -EPROTO));

		if (err && !r->out_err)
			r->out_err = err;
		return 0;
	}
	if (x->type == ST_REC_EXIT) {
		r->exits++;
		/* The process's last events may still be in the main ring: after them. */
		return ST_RECORDS_LATER;
	}
	r->execs++;
	/* A new image: spans its old one left open will not close. */
	st_records_drain_spans(r, x->pid);
	st_tamper_forget(r->tamper, (pid_t)x->pid);
	/* What /proc said of the old image is stale. */
	st_proctx_forget(r->proctx, x->pid);
	if (r->on_exec)
		r->on_exec((pid_t)x->pid, r->ctx);
	return 0;
}

int st_records_notice_late(void *ctx, void *data, size_t size)
{
	struct st_records *r = ctx;
	const struct st_exec *x = notice(data, size);

	/* Gone: its open spans will not close, and its pid may come back as another process. */
	if (x) {
		st_records_drain_spans(r, x->pid);
		/* -ff: its file is complete now, while seatrace goes on. */
		st_output_process_end(r->out, x->pid);
		st_tamper_forget(r->tamper, (pid_t)x->pid);
		st_proctx_forget(r->proctx, x->pid);
		if (r->on_exit)
			r->on_exit((pid_t)x->pid, r->ctx);
	}
	return 0;
}

int st_records_handle(void *ctx, void *data, size_t size)
{
	struct st_records *r = ctx;
	uint16_t type = 0;
	int err;

	r->received++;
	/* The type tag comes first in every record; each decoder checks the rest. */
	if (size >= sizeof(type))
		memcpy(&type, data, sizeof(type));
	if (size >= sizeof(struct st_fork) && type == ST_REC_FORK) {
		const struct st_fork *f = data;
		struct st_span span;

		/* The child goes on with the forking thread's open calls. */
		if (r->pairer && f->pid != f->ppid) {
			int ready = st_pairer_fork(r->pairer, f->ppid, f->ptid, f->pid, &span);

			if (ready < 0) /* copies not made: the child's posts show as no_pre */
				ready = st_pairer_next(r->pairer, &span);
			err = flush_spans(r, ready, &span);
			if (err && !r->out_err)
				r->out_err = err;
		}
		return 0;
	}
	if (type == ST_REC_SYSCALL) {
		struct st_sys_view sv;

		err = st_sys_decode(data, size, &sv);
		if (!err) {
			r->syscalls++;
			err = out(r, st_output_syscall(r->out, &sv));
		}
	} else {
		err = on_event(r, data, size);
	}
	if (err == -EINVAL || err == -EPROTO) {
		r->invalid++;
		err = out(r, st_output_invalid(r->out, size, err));
	}
	if (err && !r->out_err)
		r->out_err = err;
	/* The ring has consumed this record already; a negative return only ends the drain. */
	if (r->interrupted) {
		r->interrupted = 0;
		return -EAGAIN;
	}
	if (--r->budget <= 0 && !err)
		return -EAGAIN;
	/*
	 * Writing may block (a slow reader of our output): look for a pending signal now and
	 * then, so a Ctrl-C is seen within one batch, not after a whole drain.
	 */
	if (!(r->received & 1023) && !err) {
		sigset_t pend;

		if (!sigpending(&pend) && (sigismember(&pend, SIGINT) ||
					   sigismember(&pend, SIGTERM) || sigismember(&pend, SIGHUP)))
			return -EAGAIN;
	}
	return 0;
}
