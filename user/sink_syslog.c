// SPDX-License-Identifier: MIT
/*
 * --syslog: JSON records as RFC 5424 messages, to /dev/log or to a collector over UDP or TCP
 * (see sink.h). The reader never waits for the collector: messages go into a bounded queue,
 * which a non-blocking socket empties as far as it takes them at each write and flush. A
 * connection that fails is closed and tried again with backoff; meanwhile the queue holds
 * what it can, and what does not fit is dropped and counted. On recovery the count is said on
 * stderr and in a record of type "sink" sent first thing on the new connection.
 */
#include "sink.h"
#include "say.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define QUEUE_MAX	(4u << 20) /* bytes of messages waiting for the collector */
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000
#define DRAIN_MS	2000 /* at exit, how long queued messages may take to go */
#define FACILITY_DAEMON 3
#define SEV_WARNING	4
#define SEV_INFO	6

enum conn { DOWN, CONNECTING, UP };

struct syslog_sink {
	struct st_sink sink; /* first: the ops get this one's address */
	bool tcp, local;
	struct sockaddr_storage addr;
	socklen_t alen;
	char target[300]; /* as given, for messages */
	char host[256];	  /* HOSTNAME */
	char procid[16];
	int fd;
	enum conn state;
	unsigned long long retry_at_ns;
	unsigned backoff_ms;
	/* Messages not sent yet, each a native-endian uint32_t length and the bytes to send. */
	struct strbuf q;
	size_t head;		   /* where the first one starts */
	size_t partial;		   /* bytes of the first one already sent (TCP) */
	size_t queued;		   /* bytes of messages in q from head on */
	bool outage;		   /* said on stderr, to be reported on recovery */
	unsigned long long missed; /* dropped since the outage began */
};

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/*
 * The message for one JSON record (without its newline): "<PRI>1 TIMESTAMP HOSTNAME seatrace
 * PROCID MSGID - JSON", with the octet count in front over TCP (RFC 6587). Alerts, lost and
 * invalid records and the sink's own notices are warnings, the rest informational.
 */
int st_syslog_format(struct strbuf *sb, const char *json, size_t len, const char *host,
		     const char *procid, bool octet_count)
{
	char msgid[33] = "-", ts[40], head[400];
	struct timespec now;
	struct tm tm;
	int sev = SEV_INFO, n;

	/* Our records all start {"type":"NAME" */
	if (len > 9 && !memcmp(json, "{\"type\":\"", 9)) {
		const char *t = json + 9, *e = memchr(t, '"', len - 9);

		/* MSGID is 1*32 printable ASCII: record types are short lowercase words. */
		if (e && e > t && e - t < (ptrdiff_t)sizeof(msgid)) {
			memcpy(msgid, t, (size_t)(e - t));
			msgid[e - t] = 0;
		}
	}
	if (!strcmp(msgid, "alert") || !strcmp(msgid, "lost") || !strcmp(msgid, "invalid") ||
	    !strcmp(msgid, "sink"))
		sev = SEV_WARNING;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(head, sizeof(head), "<%d>1 %s.%06ldZ %s seatrace %s %s - ",
		     FACILITY_DAEMON * 8 + sev, ts, now.tv_nsec / 1000, host, procid, msgid);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if (octet_count) {
		char cnt[24];

		snprintf(cnt, sizeof(cnt), "%zu ", (size_t)n + len);
		strbuf_addstr(sb, cnt);
	}
	strbuf_add(sb, head, (size_t)n);
	strbuf_add(sb, json, len);
	return sb->err;
}

static void say_outage(struct syslog_sink *y, int err)
{
	y->sink.errors++;
	if (y->outage)
		return;
	y->outage = true;
	y->missed = 0;
	st_say(
	    "syslog %s: %s; retrying, with up to %u KiB of records queued (more are dropped and "
	    "counted)",
	    y->target, strerror(-err), QUEUE_MAX >> 10);
}

static void conn_fail(struct syslog_sink *y, int err)
{
	if (y->fd >= 0)
		close(y->fd);
	y->fd = -1;
	y->state = DOWN;
	/* A message cut halfway is sent whole on the next connection: the collector drops the
	 * cut one with the connection. */
	y->partial = 0;
	y->backoff_ms = y->backoff_ms ? y->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (y->backoff_ms > BACKOFF_MAX_MS)
		y->backoff_ms = BACKOFF_MAX_MS;
	y->retry_at_ns = now_ns() + (unsigned long long)y->backoff_ms * 1000000ULL;
	say_outage(y, err);
}

/*
 * Append one message to the queue, or drop and count it when the queue is full (unless
 * `force`: the sink's own notice, which says what was dropped, is never dropped itself).
 */
static void enqueue(struct syslog_sink *y, const char *json, size_t len, bool force)
{
	size_t at = y->q.len;
	uint32_t n;
	char *p;

	if (y->head && y->head >= y->q.len / 2) {
		/* Reclaim what was sent, so the buffer stays the queue's size. */
		memmove(y->q.buf, y->q.buf + y->head, y->q.len - y->head);
		strbuf_truncate(&y->q, y->q.len - y->head);
		y->head = 0;
		at = y->q.len;
	}
	if (!force && y->queued + len + 512 > QUEUE_MAX)
		goto drop;
	strbuf_add(&y->q, "\0\0\0\0", 4);
	if (st_syslog_format(&y->q, json, len, y->host, y->procid, y->tcp)) {
		strbuf_truncate(&y->q, at);
		y->q.err = 0;
		goto drop;
	}
	n = (uint32_t)(y->q.len - at - 4);
	p = y->q.buf + at;
	memcpy(p, &n, 4);
	y->queued += y->q.len - at;
	return;
drop:
	y->sink.dropped++;
	y->missed++;
}

static int conn_open(struct syslog_sink *y)
{
	int type = (y->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;

	y->fd = socket(y->addr.ss_family, type, 0);
	if (y->fd < 0)
		return -errno;
	if (!connect(y->fd, (struct sockaddr *)&y->addr, y->alen)) {
		y->state = UP;
		return 0;
	}
	if (errno == EINPROGRESS) {
		y->state = CONNECTING;
		return 0;
	}
	return -errno;
}

/* The queue's first message sent: drop it from the queue. */
static void pop(struct syslog_sink *y, uint32_t n)
{
	y->head += 4 + n;
	y->queued -= 4 + n;
	y->partial = 0;
	if (y->head == y->q.len) {
		strbuf_reset(&y->q);
		y->head = 0;
	}
}

/* Send what the socket takes now, connecting first if due. Never waits. */
static void pump(struct syslog_sink *y)
{
	struct pollfd p;
	int err;

	if (y->state == DOWN) {
		if (now_ns() < y->retry_at_ns)
			return;
		err = conn_open(y);
		if (err) {
			conn_fail(y, err);
			return;
		}
	}
	if (y->state == CONNECTING) {
		socklen_t sl = sizeof(err);

		p = (struct pollfd){.fd = y->fd, .events = POLLOUT};
		if (poll(&p, 1, 0) <= 0)
			return;
		if (getsockopt(y->fd, SOL_SOCKET, SO_ERROR, &err, &sl) || err) {
			conn_fail(y, err ? -err : -errno);
			return;
		}
		y->state = UP;
	}
	if (y->tcp) {
		/* A collector that went away closed its end: seen before writing into the void. */
		p = (struct pollfd){.fd = y->fd, .events = POLLIN | POLLRDHUP};
		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLIN))) {
			char c;

			if (recv(y->fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) <= 0) {
				conn_fail(y, -ECONNRESET);
				return;
			}
		}
	}
	if (y->outage) {
		char note[256];
		int n;

		y->outage = false;
		st_say(
		    "syslog %s: sending again; %llu records dropped while it was unreachable",
		    y->target, y->missed);
		n = snprintf(note, sizeof(note),
			     "{\"type\":\"sink\",\"sink\":\"syslog\",\"state\":\"resumed\","
			     "\"dropped\":%llu,\"dropped_total\":%llu,\"errors\":%llu}",
			     y->missed, y->sink.dropped, y->sink.errors);
		/* Last in the queue, behind what waited: the order of records is kept. */
		enqueue(y, note, (size_t)n, true);
	}
	while (y->head < y->q.len) {
		uint32_t n;
		ssize_t w;

		memcpy(&n, y->q.buf + y->head, 4);
		w = send(y->fd, y->q.buf + y->head + 4 + y->partial, n - y->partial,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			if (!y->tcp && errno == EMSGSIZE) {
				/* Too big for a datagram: that one is lost, the rest go. */
				y->sink.dropped++;
				y->sink.errors++;
				pop(y, n);
				continue;
			}
			conn_fail(y, -errno);
			return;
		}
		y->backoff_ms = 0;
		if (y->tcp && (size_t)w < n - y->partial) {
			y->partial += (size_t)w;
			continue;
		}
		pop(y, n);
	}
}

static int syslog_write(struct st_sink *s, const char *buf, size_t len, size_t *done)
{
	struct syslog_sink *y = (struct syslog_sink *)s;
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n)
			enqueue(y, p, n, false);
		p += n + 1;
	}
	*done = len;
	pump(y);
	return 0; /* a collector's trouble is counted here, never the reader's */
}

static int syslog_flush(struct st_sink *s)
{
	pump((struct syslog_sink *)s);
	return 0;
}

static void syslog_free(struct st_sink *s)
{
	struct syslog_sink *y = (struct syslog_sink *)s;
	unsigned long long end = now_ns() + DRAIN_MS * 1000000ULL;

	/* Stopping: what is queued gets a short while to go. */
	while (y->head < y->q.len && now_ns() < end) {
		struct pollfd p = {.fd = y->fd, .events = POLLOUT};

		pump(y);
		if (y->head >= y->q.len)
			break;
		if (y->fd < 0 || poll(&p, 1, 50) < 0)
			usleep(50000);
	}
	if (y->head < y->q.len) {
		unsigned long long left = 0;

		for (size_t at = y->head; at < y->q.len;) {
			uint32_t n;

			memcpy(&n, y->q.buf + at, 4);
			at += 4 + n;
			left++;
		}
		s->dropped += left;
		st_say("syslog %s: %llu records not sent at exit", y->target, left);
	}
	if (y->fd >= 0)
		close(y->fd);
	strbuf_release(&y->q);
	st_sink_release(s);
	free(y);
}

static const struct st_sink_ops syslog_ops = {
    .write = syslog_write,
    .flush = syslog_flush,
    .free = syslog_free,
};

/* HOST:PORT or [V6HOST]:PORT into addr. 0, or -1 with why filled. */
static int resolve(struct syslog_sink *y, const char *target, char *why, size_t whylen)
{
	char host[256];
	const char *port, *h = target;
	size_t hl;
	struct addrinfo hints = {.ai_socktype = y->tcp ? SOCK_STREAM : SOCK_DGRAM}, *ai;
	int err;

	if (*h == '[') {
		const char *e = strchr(h, ']');

		if (!e || e[1] != ':')
			goto form;
		h++;
		hl = (size_t)(e - h);
		port = e + 2;
	} else {
		port = strrchr(h, ':');
		if (!port)
			goto form;
		hl = (size_t)(port - h);
		port++;
	}
	if (!hl || hl >= sizeof(host) || !*port)
		goto form;
	memcpy(host, h, hl);
	host[hl] = 0;
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		snprintf(why, whylen, "cannot resolve the syslog target '%s': %s", target,
			 err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
		return -1;
	}
	memcpy(&y->addr, ai->ai_addr, ai->ai_addrlen);
	y->alen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
form:
	snprintf(why, whylen, "invalid syslog target '%s': give HOST:PORT ([ADDR]:PORT for IPv6)",
		 target);
	return -1;
}

struct st_sink *st_sink_syslog_new(const char *target, bool tcp, size_t line_max, char *why,
				   size_t whylen)
{
	struct syslog_sink *y = calloc(1, sizeof(*y));

	if (!y) {
		snprintf(why, whylen, "syslog: %s", strerror(errno));
		return NULL;
	}
	y->fd = -1;
	y->tcp = tcp && target;
	y->local = !target;
	strbuf_init(&y->q);
	if (st_sink_init(&y->sink, &syslog_ops, line_max))
		goto nomem;
	y->sink.name = "syslog";
	if (target) {
		snprintf(y->target, sizeof(y->target), "%s", target);
		if (resolve(y, target, why, whylen))
			goto fail;
	} else {
		struct sockaddr_un *un = (struct sockaddr_un *)&y->addr;

		snprintf(y->target, sizeof(y->target), "/dev/log");
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, "/dev/log");
		y->alen = sizeof(*un);
	}
	if (gethostname(y->host, sizeof(y->host) - 1) || !y->host[0])
		strcpy(y->host, "-");
	/* HOSTNAME is printable ASCII without spaces. */
	for (char *c = y->host; *c; c++)
		if (*c <= ' ' || *c > '~')
			*c = '_';
	snprintf(y->procid, sizeof(y->procid), "%d", (int)getpid());
	pump(y); /* connect now: a collector that is not there yet is said at once */
	errno = 0;
	return &y->sink;
nomem:
	snprintf(why, whylen, "syslog: %s", strerror(ENOMEM));
fail:
	st_sink_release(&y->sink);
	strbuf_release(&y->q);
	free(y);
	errno = EINVAL;
	return NULL;
}
