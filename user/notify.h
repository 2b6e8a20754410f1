/* SPDX-License-Identifier: MIT */
/*
 * Tells a service manager how the run is going (sd_notify(3): systemd's Type=notify). Each
 * call does nothing unless the manager set NOTIFY_SOCKET, and a failure to tell it is not
 * the run's failure: it is said once on stderr, then ignored.
 */
#ifndef SEATRACE_NOTIFY_H
#define SEATRACE_NOTIFY_H

/* STATUS=: a short state, one line, shown by `systemctl status`. */
void st_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* READY=1 with a STATUS=: every program is attached and events are being recorded. */
void st_notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STOPPING=1 with a STATUS=: the run is ending (what is buffered is still written). */
void st_notify_stopping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
