// SPDX-License-Identifier: MIT
/* sd_notify(3) messages, one datagram each: the state first, then STATUS= saying why. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include "notify.h"

static void send_state(const char *state, const char *fmt, va_list ap)
{
	static int warned;
	char msg[512];
	int n = 0, err;

	if (state)
		n = snprintf(msg, sizeof(msg), "%s\n", state);
	n += snprintf(msg + n, sizeof(msg) - (size_t)n, "STATUS=");
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	/* STATUS= is one line: a newline would start a field of its own. */
	for (char *p = msg + n; (p = strchr(p, '\n'));)
		*p = ' ';
	err = sd_notify(0, msg);
	if (err < 0 && !warned) {
		warned = 1;
		fprintf(stderr, "seatrace: cannot notify the service manager (NOTIFY_SOCKET): %s\n",
			strerror(-err));
	}
}

void st_notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_state(NULL, fmt, ap);
	va_end(ap);
}

void st_notify_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_state("READY=1", fmt, ap);
	va_end(ap);
}

void st_notify_stopping(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_state("STOPPING=1", fmt, ap);
	va_end(ap);
}
