/* SPDX-License-Identifier: MIT */
/*
 * The table of known audit events (events.def): names the arguments of an event in the
 * output, and backs `seatrace --list-events`.
 */
#ifndef SEATRACE_EVENTS_H
#define SEATRACE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The most arguments any known event has (code.__new__). */
#define ST_EVENT_MAX_ARGS 9

enum st_event_source {
	ST_SRC_CPYTHON,		 /* CPython's audit events table */
	ST_SRC_CPYTHON_INTERNAL, /* CPython, raised internally (no public API) */
	ST_SRC_CAPELLAMBSE,	 /* py-capellambse */
};

struct st_known_event {
	const char *name;
	enum st_event_source source;
	unsigned nargs;
	const char *argnames[ST_EVENT_MAX_ARGS];
};

/* The event with exactly this name (not NUL-terminated), or NULL. */
const struct st_known_event *st_event_lookup(const char *name, size_t len);
/* The whole table, sorted by name. */
const struct st_known_event *st_events_table(size_t *count);
/* "cpython", "cpython-internal", "capellambse". */
const char *st_event_source_name(enum st_event_source source);
/*
 * For --list-events. Text: one line per event, `name(arg1, arg2) [source]`. JSON: one object
 * per line, {"event":..., "source":..., "argnames":[...]}.
 */
void st_events_list(FILE *f, bool json);

#endif /* SEATRACE_EVENTS_H */
