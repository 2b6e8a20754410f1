/* SPDX-License-Identifier: MIT */
/*
 * What the reader does with each record from the ring: validate it, then
 * write the event, pair it into spans, raise tamper alerts; and the exec
 * and exit notices of the notice ring. No BPF here; the ring buffer's
 * reader calls st_records_handle().
 */
#ifndef SEATRACE_RECORDS_H
#define SEATRACE_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct st_output;
struct st_pairer;
struct st_proctx;
struct st_tamper;
struct st_rule;

struct st_records {
	struct st_output *out;
	struct st_pairer *pairer; /* NULL: no pairing */
	struct st_tamper *tamper;
	struct st_proctx *proctx; /* the output's process context cache, or NULL */
	/* A process exec'd (NULL: execs are not watched). */
	void (*on_exec)(pid_t pid, void *ctx);
	/* A process ended (NULL: exits are not watched). */
	void (*on_exit)(pid_t pid, void *ctx);
	void *ctx;
	uint64_t received; /* records of the main ring */
	uint64_t events, syscalls; /* of which audit events written (not alert-only), syscalls */
	uint64_t invalid;
	uint64_t execs, exits; /* notices received */
	/* argfilt: the rules, for the action records' "rule"; actions received */
	const struct st_rule *rules;
	unsigned nrules;
	uint64_t actions;
	/*
	 * Records left to handle in this drain: a producer faster than the reader must not
	 * keep it from seeing signals and exits.
	 */
	int budget;
	int out_err;	 /* the first write error */
	int interrupted; /* the output is full and a signal waits: end the drain */
};

/* The ring's callback (st_ring_fn); ctx is a struct st_records. */
int st_records_handle(void *ctx, void *data, size_t size);

/*
 * The notice ring's callbacks (st_ring_fn). An exec is handled at once (its interpreter
 * attached); an exit returns ST_RECORDS_LATER, and st_records_notice_late() closes its spans
 * once the process's last events, read from the main ring, have been handled.
 */
#define ST_RECORDS_LATER 1
int st_records_notice(void *ctx, void *data, size_t size);
int st_records_notice_late(void *ctx, void *data, size_t size);

/* Spans still open in process pid (0: all): they will not close now. */
void st_records_drain_spans(struct st_records *r, uint32_t pid);

#endif
