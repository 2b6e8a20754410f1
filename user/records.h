/* SPDX-License-Identifier: MIT */
/*
 * What the reader does with each record from the ring: validate it, then
 * write the event, pair it into spans, raise tamper alerts, pass exec
 * notices on. No BPF here; the ring buffer's reader calls st_records_handle().
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

struct st_records {
	struct st_output *out;
	struct st_pairer *pairer; /* NULL: no pairing */
	struct st_tamper *tamper;
	struct st_proctx *proctx; /* the output's process context cache, or NULL */
	/* A process exec'd (NULL: execs are not watched). */
	void (*on_exec)(pid_t pid, void *ctx);
	void *ctx;
	uint64_t received;
	uint64_t invalid;
	/*
	 * Records left to handle in this drain: a producer faster than the reader must not
	 * keep it from seeing signals and exits.
	 */
	int budget;
	int out_err; /* the first write error */
};

/* The ring's callback (st_ring_fn); ctx is a struct st_records. */
int st_records_handle(void *ctx, void *data, size_t size);

/* Spans still open in process pid (0: all): they will not close now. */
void st_records_drain_spans(struct st_records *r, uint32_t pid);

#endif
