// SPDX-License-Identifier: MIT
/*
 * Micro-benchmark of the reader's per-record work: st_decode_event() + st_output_event() of
 * synthetic records, written to /dev/null (or a file). Not a unit test (make unit does not
 * run it); `make bench` builds it as build/bench_output, with the seatrace objects, and runs it.
 *
 *   bench_output          # ns/record for builtins.id(i) and open(path, mode, flags), text/JSON
 *                         # (CPU time, best of -r 5 runs of -n 1000000 records each)
 *   bench_output -n 5000000 -r 1 -o FILE  # more records, output kept
 *   bench_output -s 2 -n N -r 1   # one shape only (0..3 in the order printed), e.g. to count
 *                         # instructions per record under valgrind --tool=callgrind
 *   bench_output -m SEED -n N -o FILE [-j]
 *       N random records of every kind (differential testing: two builds must write the
 *       same bytes for the same seed)
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "output.h"

#include "recbuild.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Offset of the int payload of builtins.id's record: patched per record. */
static size_t id_int_off(void)
{
	return sizeof(struct st_event) + strlen("builtins.id") + 2 * sizeof(struct st_value);
}

/* The header of the timed records. */
static const struct rec_hdr bench_hdr = {
	.ts_ns = 1000000000, .pid = 4242, .tid = 4242, .comm = "python3.11", .comm_len = 10
};

static void build_id(struct rec *r)
{
	static const uint32_t zero = 0; /* one digit, patched per record */

	rec_begin_hdr(r, "builtins.id", strlen("builtins.id"), &bench_hdr);
	v_tuple(r, 1);
	v_digits(r, &zero, 1, false);
	rec_end(r);
}

static void build_open(struct rec *r)
{
	rec_begin_hdr(r, "open", 4, &bench_hdr);
	v_tuple(r, 3);
	v_str(r, "/usr/lib/python3.11/x.py");
	v_str(r, "rb");
	v_int(r, 524288);
	rec_end(r);
}

/*
 * Records live in a ring, as in the real ring buffer, each written (its timestamp and int
 * argument patched) half a ring before it is read: no store is still in flight when the
 * reader loads the record. Timestamps ~1 us apart, as a fast producer makes them.
 */
#define RING 1024

static void patch(uint8_t *rec, int is_id, long k)
{
	uint64_t ts = 5000000000ull + (uint64_t)k * 1003;
	uint32_t d = (uint32_t)k & ((1u << 30) - 1);

	memcpy(rec + offsetof(struct st_event, ts_ns), &ts, sizeof(ts));
	if (is_id)
		memcpy(rec + id_int_off(), &d, 4);
}

static double run(struct rec *r, int is_id, enum st_format fmt, FILE *f, long n)
{
	struct st_output_opts oo = { .fmt = fmt, .out = f,
				     .mono_to_real_ns = 1700000641123456789LL };
	struct st_output *o = st_output_new(&oo);
	size_t stride = (r->len + 63) & ~(size_t)63;
	uint8_t *ring = aligned_alloc(64, RING * stride);
	struct st_view v;
	double t0, t1;
	long i;

	if (!o || !ring) {
		perror("st_output_new");
		exit(1);
	}
	for (i = 0; i < RING; i++) {
		memcpy(ring + i * stride, r->buf, r->len);
		patch(ring + i * stride, is_id, i);
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		uint8_t *rec = ring + (size_t)(i % RING) * stride;

		if (st_decode_event(rec, r->len, &v)) {
			fprintf(stderr, "decode failed\n");
			exit(1);
		}
		if (st_output_event(o, &v)) {
			fprintf(stderr, "output failed\n");
			exit(1);
		}
		patch(ring + (size_t)((i + RING / 2) % RING) * stride, is_id, i + RING / 2);
	}
	st_output_free(o);
	fflush(f);
	t1 = now();
	free(ring);
	return (t1 - t0) / n * 1e9;
}

/* ---- random records for differential testing ---------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static uint32_t rand_cp(unsigned kind)
{
	static const uint32_t special[] = { '\'', '"', '\\', '\n', '\r', '\t', 0, 0x7f, 0x80,
					    0xa0, 0xad, 0xe9, 0xff, 0x100, 0x2028, 0xd800,
					    0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xffff, 0x10000,
					    0x1f600, 0x10ffff, 0x110000, 0xe0001, 0x378 };
	uint32_t max = kind == 1 ? 0xff : kind == 2 ? 0xffff : 0x10ffff;
	uint32_t c;

	switch (rn(6)) {
	case 0:
	case 1:
	case 2:
		return 0x20 + rn(0x5f);
	case 3:
		c = special[rn(sizeof(special) / sizeof(special[0]))];
		if (kind == 4 && rn(50) == 0)
			return (uint32_t)rnd(); /* garbage above U+10FFFF */
		return c > max ? 'x' : c;
	case 4:
		return rn(0x100) & max;
	default:
		return (uint32_t)(rnd() % (max + 1));
	}
}

static int gen_value(struct rec *r, unsigned depth, unsigned *budget);

static int gen_children(struct rec *r, unsigned n, unsigned depth, unsigned *budget)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (gen_value(r, depth, budget))
			return -1;
	return 0;
}

static int gen_value(struct rec *r, unsigned depth, unsigned *budget)
{
	uint8_t pay[1024];
	unsigned tag, n, i, kind, max;
	uint8_t flags = 0;
	uint64_t total;

	if (!*budget)
		return -1;
	(*budget)--;
	tag = 1 + rn(ST_V_TAG_MAX - 1);
	if (rn(40) == 0)
		tag = 100 + rn(100); /* unknown tag */
	if (depth >= ST_MAX_DEPTH && (tag == ST_V_TUPLE || tag == ST_V_LIST || tag == ST_V_DICT))
		tag = ST_V_INT;
	switch (tag) {
	case ST_V_NONE:
	case ST_V_TRUE:
	case ST_V_FALSE:
	case ST_V_FAULT:
		return rec_try_val(r, (uint8_t)tag, 0, NULL, 0, 0, 0);
	case ST_V_INT: {
		uint32_t d[ST_MAX_DIGITS];

		n = rn(5) ? rn(3) + (rn(2) ? 0 : 1) : rn(ST_MAX_DIGITS + 1);
		for (i = 0; i < n; i++) {
			switch (rn(4)) {
			case 0:
				d[i] = 0;
				break;
			case 1:
				d[i] = (1u << 30) - 1;
				break;
			default:
				d[i] = (uint32_t)rnd() & ((1u << 30) - 1);
			}
			if (rn(300) == 0)
				d[i] |= 1u << 30; /* invalid digit */
		}
		if (rn(2))
			flags |= ST_VF_NEG;
		total = n;
		if (rn(20) == 0) {
			flags |= ST_VF_TRUNC;
			total = n + rn(1000000);
		}
		return rec_try_val(r, ST_V_INT, flags, d, (uint16_t)(4 * n), 0, total);
	}
	case ST_V_FLOAT: {
		static const double sp[] = { 0.0, -0.0, 1.0, 0.1, 1e16, 1e-5, 1e-4, 123456789.0,
					     1e100, -2.5, 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0,
					     5e-324, 1.7976931348623157e308, 9999999999999998.0 };
		double dv;
		uint64_t bits;

		if (rn(2)) {
			dv = sp[rn(sizeof(sp) / sizeof(sp[0]))];
		} else {
			bits = rnd();
			memcpy(&dv, &bits, 8);
		}
		return rec_try_val(r, ST_V_FLOAT, 0, &dv, 8, 0, 0);
	}
	case ST_V_STR:
		kind = rn(4) ? 1 : rn(2) ? 2 : 4;
		n = rn(4) ? rn(40) : rn(200);
		for (i = 0; i < n; i++) {
			uint32_t c = rand_cp(kind);

			if (kind == 1)
				pay[i] = (uint8_t)c;
			else if (kind == 2) {
				pay[2 * i] = (uint8_t)c;
				pay[2 * i + 1] = (uint8_t)(c >> 8);
			} else {
				memcpy(pay + 4 * i, &c, 4);
			}
		}
		total = n;
		if (rn(10) == 0)
			total = n + rn(100);
		if (rn(30) == 0)
			flags |= ST_VF_TRUNC;
		if (rn(30) == 0)
			flags |= ST_VF_SUBCLASS;
		flags |= (uint8_t)(kind << ST_VF_KIND_SHIFT);
		return rec_try_val(r, ST_V_STR, flags, pay, (uint16_t)(n * kind), 0, total);
	case ST_V_BYTES:
	case ST_V_BYTEARRAY:
	case ST_V_OTHER:
		n = rn(60);
		for (i = 0; i < n; i++)
			pay[i] = rn(3) ? (uint8_t)(0x20 + rn(0x5f)) : (uint8_t)rnd();
		total = n + (rn(8) == 0 ? rn(50) : 0);
		return rec_try_val(r, (uint8_t)tag, 0, pay, (uint16_t)n, 0, total);
	case ST_V_TUPLE:
	case ST_V_LIST:
	case ST_V_DICT:
		if (rn(15) == 0)
			return rec_try_val(r, (uint8_t)tag, ST_VF_DEPTH, NULL, 0, 0, rn(10));
		max = *budget < 6 ? *budget : 6;
		n = max ? rn(max + 1) : 0;
		if (tag == ST_V_DICT)
			n &= ~1u;
		total = tag == ST_V_DICT ? n / 2 : n;
		if (rn(6) == 0)
			total += 1 + rn(20);
		if (total > (tag == ST_V_DICT ? n / 2 : n))
			flags |= ST_VF_TRUNC;
		if (rec_try_val(r, (uint8_t)tag, flags, NULL, 0, n, total))
			return -1;
		return gen_children(r, n, depth + 1, budget);
	case ST_V_CODE: {
		int32_t line = (int32_t)rnd();

		n = *budget >= 2 ? rn(3) : 0;
		if (rec_try_val(r, ST_V_CODE, 0, &line, rn(4) ? 4 : 0, n, 0))
			return -1;
		return gen_children(r, n, depth + 1, budget);
	}
	default:
		n = depth < ST_MAX_DEPTH && *budget >= 2 && rn(3) == 0 ? 1 + rn(2) : 0;
		i = rn(20);
		memset(pay, 'u', i);
		if (rec_try_val(r, (uint8_t)tag, 0, pay, (uint16_t)i, n, rn(100)))
			return -1;
		return gen_children(r, n, depth + 1, budget);
	}
}

static const char *const names[] = { "builtins.id", "open", "os.chdir", "exec", "compile",
				     "socket.connect", "os.listdir", "code.__new__",
				     "import", "subprocess.Popen", "sys._getframe", "x" };

static void gen_record(struct rec *r)
{
	char name[ST_NAME_MAX], comm[ST_COMM_LEN];
	size_t nl, i;
	struct rec_hdr h = { .comm = comm };
	unsigned budget = rn(10) ? 1 + rn(20) : ST_MAX_VALUES;

	if (rn(4)) {
		const char *s = names[rn(sizeof(names) / sizeof(names[0]))];

		nl = strlen(s);
		memcpy(name, s, nl);
	} else {
		nl = rn(ST_NAME_MAX + 1);
		for (i = 0; i < nl; i++)
			name[i] = rn(4) ? (char)(0x20 + rn(0x5f)) : (char)rnd();
	}
	if (rn(20) == 0)
		h.flags |= ST_EF_NAME_TRUNC;
	if (rn(20) == 0)
		h.flags |= ST_EF_REC_FULL;
	if (rn(20) == 0)
		h.flags |= ST_EF_ARGS_FAULT;
	if (rn(5)) {
		memcpy(comm, "python3.11", 10);
		h.comm_len = 10;
	} else {
		h.comm_len = rn(ST_COMM_LEN + 1);
		for (i = 0; i < h.comm_len; i++)
			comm[i] = rn(2) ? (char)(0x20 + rn(0x5f)) : (char)rnd();
	}
	switch (rn(20)) {
	case 0:
		h.ts_ns = rnd();
		break;
	case 1:
		h.ts_ns = rnd() % 100000000000ull;
		break;
	default:
		h.ts_ns = 3000000000000ull + rnd() % 50000000000000000ull;
	}
	h.pid = h.tid = rn(3) ? rn(100000) : (uint32_t)rnd();
	rec_begin_hdr(r, name, nl, &h);
	if (rn(30)) {
		/* The args tuple, or (rarely) something else in its place. */
		if (rn(20)) {
			unsigned n = rn(6), tot = n;

			if (budget - 1 < n)
				n = budget - 1;
			if (rn(10) == 0)
				tot = n + 1 + rn(5);
			if (rn(30) == 0) {
				rec_try_val(r, ST_V_TUPLE, ST_VF_DEPTH, NULL, 0, 0, tot);
			} else {
				rec_try_val(r, ST_V_TUPLE, tot > n ? ST_VF_TRUNC : 0, NULL, 0, n, tot);
				budget--;
				gen_children(r, n, 1, &budget);
			}
		} else {
			gen_value(r, 0, &budget);
		}
		/* Values after the args tuple. */
		if (rn(20) == 0 && budget)
			gen_value(r, 0, &budget);
	}
	rec_end(r);
	/* Sometimes corrupt it. */
	if (rn(100) == 0)
		r->buf[sizeof(struct st_event) + rn((unsigned)(r->len - sizeof(struct st_event)) + 1)] ^=
			(uint8_t)(1 + rn(255));
}

static int run_mixed(uint64_t seed, long n, enum st_format fmt, FILE *f)
{
	struct st_output_opts oo = { .fmt = fmt, .out = f,
				     .mono_to_real_ns = 1700000641123456789LL };
	struct st_output *o;
	static struct rec r;
	struct st_view v;
	long i;
	int err;

	rng_state = seed;
	oo.mono_to_real_ns = (int64_t)(rnd() % 2000000000000000000ull);
	if (seed % 3 == 0)
		oo.mono_to_real_ns = -oo.mono_to_real_ns;
	o = st_output_new(&oo);
	if (!o)
		return 1;
	for (i = 0; i < n; i++) {
		gen_record(&r);
		err = st_decode_event(r.buf, r.len, &v);
		if (err)
			err = st_output_invalid(o, r.len, err);
		else
			err = st_output_event(o, &v);
		if (err)
			fprintf(f == stdout ? stderr : stdout, "record %ld: error %d\n", i, err);
	}
	st_output_free(o);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = "/dev/null";
	static struct rec id_rec, open_rec;
	long n = 1000000;
	int opt, json = 0, mixed = 0, reps = 5, only = -1;
	uint64_t seed = 0;
	FILE *f;

	while ((opt = getopt(argc, argv, "n:o:m:jr:s:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'o':
			path = optarg;
			break;
		case 'm':
			mixed = 1;
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			only = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	if (mixed) {
		run_mixed(seed, n, json ? ST_FMT_JSON : ST_FMT_TEXT, f);
		return fclose(f) ? 1 : 0;
	}
	build_id(&id_rec);
	build_open(&open_rec);
	/*
	 * Warm up, then the best of `reps` runs: the machine is shared, the minimum is stable.
	 * One shape alone is not warmed up: counted instructions are then n times the shape's.
	 */
	if (only < 0)
		run(&id_rec, 1, ST_FMT_TEXT, f, n / 10);
	for (int shape = 0; shape < 4; shape++) {
		static const char *const what[4] = { "text builtins.id(i)",
						     "text open(path, mode, flags)",
						     "json builtins.id(i)",
						     "json open(path, mode, flags)" };
		double best = 1e30, t;

		if (only >= 0 && shape != only)
			continue;
		for (int k = 0; k < reps; k++) {
			t = run(shape & 1 ? &open_rec : &id_rec, !(shape & 1),
				shape & 2 ? ST_FMT_JSON : ST_FMT_TEXT, f, n);
			if (t < best)
				best = t;
		}
		printf("%-28s %7.1f ns/record (best of %d x %ld)\n", what[shape], best, reps, n);
	}
	return fclose(f) ? 1 : 0;
}
