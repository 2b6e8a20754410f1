// SPDX-License-Identifier: MIT
/*
 * Pairing engine (see pair.h).
 *
 * Every open span is one `struct open`, a heap block that holds a copy of its pre record, and
 * sits in:
 *   - the age list, oldest first: eviction and draining take from its head;
 *   - its stack, one per (pid, tid, rule, NAME), newest on top: the fallback for posts
 *     without a usable frame (last in, first out);
 *   - the frame table, keyed by (pid, frame, rule, NAME), when its frame is known;
 *   - the count of its thread (pid, tid), which gives the depth of the next span there
 *     when the call chain is not known;
 *   - the count of its frame (pid, frame), when known: the depth of a span whose record
 *     carries its call chain is the sum of these counts over the chain.
 * The four tables are open addressing with linear probing and backward-shift deletion (no
 * tombstones), sized from the number of entries: everything is bounded by the open-span
 * limit. When a span closes, the same block becomes the span's `owned`, with the post record
 * copy hung off it, so closing allocates only that copy.
 */
#include "pair.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- hash tables ------------------------------------------------------------------------- */

struct slot {
	uint64_t h;
	void *item; /* NULL: empty */
};

struct tab {
	struct slot *s;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

/* Room for `extra` more items with the load kept at or below 1/2. 0 or -ENOMEM. */
static int tab_reserve(struct tab *t, size_t extra)
{
	size_t cap = t->cap ? t->cap : 16, need = t->n + extra, i, j, mask;
	struct slot *s;

	while (need > cap / 2)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	s = calloc(cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	mask = cap - 1;
	for (i = 0; i < t->cap; i++) {
		if (!t->s[i].item)
			continue;
		for (j = t->s[i].h & mask; s[j].item; j = (j + 1) & mask)
			;
		s[j] = t->s[i];
	}
	free(t->s);
	t->s = s;
	t->cap = cap;
	return 0;
}

/* The caller reserved room. */
static void tab_put(struct tab *t, uint64_t h, void *item)
{
	size_t mask = t->cap - 1, i;

	for (i = h & mask; t->s[i].item; i = (i + 1) & mask)
		;
	t->s[i].h = h;
	t->s[i].item = item;
	t->n++;
}

/* Removes `item`, which must be in the table under hash h. */
static void tab_del(struct tab *t, uint64_t h, const void *item)
{
	size_t mask = t->cap - 1, i, j, k;

	for (i = h & mask; t->s[i].item != item; i = (i + 1) & mask)
		;
	/* Backward shift: pull later entries of the run back over the hole when allowed. */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!t->s[j].item)
			break;
		k = t->s[j].h & mask; /* where the entry at j would like to be */
		/* It may stay if k lies cyclically in (i, j]: moving it to i would skip k. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->s[i] = t->s[j];
		i = j;
	}
	t->s[i].item = NULL;
	t->s[i].h = 0;
	t->n--;
}

struct key {
	uint32_t pid;
	uint32_t tid;	/* stacks and threads */
	uint64_t frame; /* frames */
	uint32_t rule;
	const char *name;
	size_t name_len;
};

typedef bool (*tab_eq)(const void *item, const struct key *k);

static void *tab_get(const struct tab *t, uint64_t h, tab_eq eq, const struct key *k)
{
	size_t mask, i;

	if (!t->n)
		return NULL;
	mask = t->cap - 1;
	for (i = h & mask; t->s[i].item; i = (i + 1) & mask)
		if (t->s[i].h == h && eq(t->s[i].item, k))
			return t->s[i].item;
	return NULL;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * Seeded so that a traced program cannot choose names that collide in every run (the tables
 * stay bounded anyway; this keeps their probes short).
 */
static uint64_t hash_key(uint64_t seed, uint32_t pid, uint64_t id, uint32_t rule, const char *name,
			 size_t len)
{
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 0x100000001b3ULL;
	}
	h = mix64(h ^ len);
	h = mix64(h ^ ((uint64_t)pid << 32 | rule) ^ seed);
	return mix64(h + id);
}

/* ---- state ------------------------------------------------------------------------------- */

struct side {
	char *pat;
	size_t len;
	size_t star; /* index of the '*' */
	bool has_star;
};

struct rule {
	struct side pre, post;
};

struct thr { /* a (pid, tid) with open spans */
	uint64_t h;
	uint32_t pid, tid;
	unsigned count;
};

struct frc { /* a (pid, frame) that opened spans still open */
	uint64_t h;
	uint64_t frame;
	uint32_t pid;
	unsigned count;
};

struct open;

struct stk { /* the open spans of one (pid, tid, rule, NAME), newest on top */
	uint64_t h;
	struct open *top;
	uint32_t pid, tid, rule;
	unsigned n, n_noframe;
	size_t name_len;
	char name[ST_NAME_MAX];
};

struct open {
	struct open *older, *newer; /* age list */
	struct open *below, *above; /* its stack */
	struct stk *stk;
	struct thr *thr;
	struct frc *frc;
	struct st_view pre, post; /* pre: into rec; post: into post_rec */
	void *post_rec;
	const char *name; /* NAME: into rec (or, NO_PRE, valid only until emitted) */
	size_t name_len;
	uint64_t frame, hframe;
	uint32_t pid, tid, rule;
	unsigned depth, flags;
	size_t size;	  /* bytes of rec */
	uint64_t rec[]; /* the pre record, 8-aligned as st_decode_event() wants */
};

struct st_pairer {
	struct rule *rules;
	unsigned nrules, cap_rules;
	struct tab frames, stacks, threads, fcounts;
	struct open *oldest, *newest;
	size_t nopen, bytes, max_open, max_bytes;
	/* Allocated ahead, so that opening a span cannot fail half-way. */
	struct thr *spare_thr;
	struct stk *spare_stk;
	struct frc *spare_frc;
	/* Spans readied and not collected yet: a FIFO in q[qhead, qhead + qlen). */
	struct st_span *q;
	size_t qhead, qlen, qcap;
	/* st_pairer_drain() resumes at drain_next while nothing else changed. */
	struct open *drain_next;
	uint32_t drain_pid;
	bool drain_valid;
	uint64_t seed;
};

static bool frame_eq(const void *item, const struct key *k)
{
	const struct open *o = item;

	return o->pid == k->pid && o->frame == k->frame && o->rule == k->rule &&
	       o->name_len == k->name_len && !memcmp(o->name, k->name, k->name_len);
}

static bool stk_eq(const void *item, const struct key *k)
{
	const struct stk *s = item;

	return s->pid == k->pid && s->tid == k->tid && s->rule == k->rule &&
	       s->name_len == k->name_len && !memcmp(s->name, k->name, k->name_len);
}

static bool thr_eq(const void *item, const struct key *k)
{
	const struct thr *t = item;

	return t->pid == k->pid && t->tid == k->tid;
}

static bool frc_eq(const void *item, const struct key *k)
{
	const struct frc *f = item;

	return f->pid == k->pid && f->frame == k->frame;
}

static uint64_t frc_hash(const struct st_pairer *p, uint32_t pid, uint64_t frame)
{
	return hash_key(p->seed, pid, frame, UINT32_MAX - 1, NULL, 0);
}

static uint64_t frame_hash(const struct st_pairer *p, const struct key *k)
{
	return hash_key(p->seed, k->pid, k->frame, k->rule, k->name, k->name_len);
}

static uint64_t stk_hash(const struct st_pairer *p, const struct key *k)
{
	return hash_key(p->seed, k->pid, k->tid, k->rule, k->name, k->name_len);
}

static uint64_t thr_hash(const struct st_pairer *p, uint32_t pid, uint32_t tid)
{
	return hash_key(p->seed, pid, tid, UINT32_MAX, NULL, 0);
}

/* ---- rules ------------------------------------------------------------------------------- */

static void side_init(struct side *s, char *pat, size_t len)
{
	const char *star = memchr(pat, '*', len);

	s->pat = pat;
	s->len = len;
	s->has_star = star != NULL;
	s->star = star ? (size_t)(star - pat) : 0;
}

/* Does `name` match the side? For a pattern, *off and *len delimit the part '*' stands for. */
static bool side_match(const struct side *s, const char *name, size_t len, size_t *off,
		       size_t *nlen)
{
	size_t suffix;

	if (!s->has_star) {
		if (len != s->len || memcmp(name, s->pat, len))
			return false;
		*off = 0;
		*nlen = len;
		return true;
	}
	suffix = s->len - s->star - 1;
	if (len < s->len - 1 || memcmp(name, s->pat, s->star) ||
	    memcmp(name + len - suffix, s->pat + s->star + 1, suffix))
		return false;
	*off = s->star;
	*nlen = len - s->star - suffix;
	return true;
}

static unsigned count_char(const char *s, size_t len, char c)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

int st_pair_rule_check(const char *spec, const char **why)
{
	const char *msg = NULL, *eq;
	size_t pre_len, post_len;
	unsigned pre_stars, post_stars;

	eq = spec ? strchr(spec, '=') : NULL;
	if (!eq) {
		msg = "expected PRE=POST";
		goto bad;
	}
	if (strchr(eq + 1, '=')) {
		msg = "more than one '=' (event names with '=' cannot be paired)";
		goto bad;
	}
	pre_len = (size_t)(eq - spec);
	post_len = strlen(eq + 1);
	if (!pre_len || !post_len) {
		msg = pre_len ? "empty POST side" : "empty PRE side";
		goto bad;
	}
	pre_stars = count_char(spec, pre_len, '*');
	post_stars = count_char(eq + 1, post_len, '*');
	if (pre_stars > 1 || post_stars > 1) {
		msg = "more than one '*' on a side";
		goto bad;
	}
	if (pre_stars != post_stars) {
		msg = "'*' on one side only: use it on both sides, or on neither";
		goto bad;
	}
	if (pre_len - pre_stars > ST_NAME_MAX - 1 || post_len - post_stars > ST_NAME_MAX - 1) {
		msg = "a side is longer than event names are kept (511 bytes)";
		goto bad;
	}
	if (pre_len == post_len && !memcmp(spec, eq + 1, pre_len)) {
		msg = "PRE and POST are the same";
		goto bad;
	}
	return 0;
bad:
	if (why)
		*why = msg;
	return -EINVAL;
}

int st_pairer_add_rule(struct st_pairer *p, const char *spec, const char **why)
{
	size_t pre_len, post_len;
	struct rule *r;
	char *copy;
	int err;

	if (!p)
		return -EINVAL;
	err = st_pair_rule_check(spec, why);
	if (err)
		return err;
	pre_len = (size_t)(strchr(spec, '=') - spec);
	post_len = strlen(spec + pre_len + 1);
	if (p->nrules == p->cap_rules) {
		unsigned cap = p->cap_rules ? 2 * p->cap_rules : 8;

		r = realloc(p->rules, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		p->rules = r;
		p->cap_rules = cap;
	}
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	copy[pre_len] = '\0';
	r = &p->rules[p->nrules++];
	side_init(&r->pre, copy, pre_len);
	side_init(&r->post, copy + pre_len + 1, post_len);
	return 0;
}

int st_pairer_add_defaults(struct st_pairer *p)
{
	static const char *const defaults[] = {
		"prehook:*=posthook:*",
		"builtins.input=builtins.input/result",
		"winreg.OpenKey=winreg.OpenKey/result",
		"sqlite3.connect=sqlite3.connect/handle",
	};
	int err;

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		err = st_pairer_add_rule(p, defaults[i], NULL);
		if (err)
			return err;
	}
	return 0;
}

unsigned st_pairer_nrules(const struct st_pairer *p)
{
	return p->nrules;
}

/* ---- the pairer -------------------------------------------------------------------------- */

struct st_pairer *st_pairer_new(void)
{
	struct st_pairer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->max_open = ST_PAIR_MAX_OPEN;
	p->max_bytes = ST_PAIR_MAX_BYTES;
	if (getrandom(&p->seed, sizeof(p->seed), GRND_NONBLOCK) != sizeof(p->seed)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		p->seed = mix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uintptr_t)p);
	}
	return p;
}

int st_pairer_set_limits(struct st_pairer *p, size_t max_open, size_t max_bytes)
{
	if (!max_open || max_bytes < ST_REC_MAX)
		return -EINVAL;
	p->max_open = max_open;
	p->max_bytes = max_bytes;
	return 0;
}

size_t st_pairer_open_count(const struct st_pairer *p)
{
	return p->nopen;
}

static int q_reserve(struct st_pairer *p, size_t extra)
{
	struct st_span *q;
	size_t cap;

	if (p->qhead + p->qlen + extra <= p->qcap)
		return 0;
	if (p->qhead) {
		memmove(p->q, p->q + p->qhead, p->qlen * sizeof(*p->q));
		p->qhead = 0;
		if (p->qlen + extra <= p->qcap)
			return 0;
	}
	cap = p->qcap ? p->qcap : 4;
	while (cap < p->qlen + extra)
		cap *= 2;
	q = realloc(p->q, cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	p->q = q;
	p->qcap = cap;
	return 0;
}

/* Fills *s from a closed (unlinked) span, which it then owns. */
static void span_make(struct open *o, unsigned flags, struct st_span *s)
{
	memset(s, 0, sizeof(*s));
	s->flags = o->flags | flags;
	if (!(s->flags & ST_SPAN_NO_PRE)) {
		s->pre = o->pre;
		s->start_ns = o->pre.hdr->ts_ns;
	}
	if (o->post_rec) {
		s->post = o->post;
		s->end_ns = o->post.hdr->ts_ns;
	}
	if (s->start_ns && s->end_ns && s->end_ns >= s->start_ns)
		s->dur_ns = s->end_ns - s->start_ns;
	memcpy(s->name, o->name, o->name_len);
	s->name[o->name_len] = '\0';
	s->name_len = o->name_len;
	s->depth = o->depth;
	s->rule = o->rule;
	s->pid = o->pid;
	s->tid = o->tid;
	s->owned = o;
}

/* Queues the span of a closed entry; the caller reserved room. */
static void emit(struct st_pairer *p, struct open *o, unsigned flags)
{
	span_make(o, flags, &p->q[p->qhead + p->qlen]);
	p->qlen++;
}

/* Takes an open span out of every index. It is then closed, owned by nobody yet. */
static void unlink_open(struct st_pairer *p, struct open *o)
{
	struct stk *s = o->stk;
	struct thr *t = o->thr;

	if (o->older)
		o->older->newer = o->newer;
	else
		p->oldest = o->newer;
	if (o->newer)
		o->newer->older = o->older;
	else
		p->newest = o->older;

	if (o->above)
		o->above->below = o->below;
	else
		s->top = o->below;
	if (o->below)
		o->below->above = o->above;
	s->n--;
	if (!o->frame)
		s->n_noframe--;
	if (!s->n) {
		tab_del(&p->stacks, s->h, s);
		if (!p->spare_stk)
			p->spare_stk = s;
		else
			free(s);
	}

	if (o->frame)
		tab_del(&p->frames, o->hframe, o);
	if (o->frc && !--o->frc->count) {
		tab_del(&p->fcounts, o->frc->h, o->frc);
		if (!p->spare_frc)
			p->spare_frc = o->frc;
		else
			free(o->frc);
	}
	o->frc = NULL;

	if (!--t->count) {
		tab_del(&p->threads, t->h, t);
		if (!p->spare_thr)
			p->spare_thr = t;
		else
			free(t);
	}

	p->nopen--;
	p->bytes -= o->size;
	o->older = o->newer = o->below = o->above = NULL;
	o->stk = NULL;
	o->thr = NULL;
}

/* Open spans of the process opened by `frame`. */
static unsigned frame_count(const struct st_pairer *p, uint32_t pid, uint64_t frame)
{
	struct key k = { .pid = pid, .frame = frame };
	const struct frc *f;

	if (!frame)
		return 0;
	f = tab_get(&p->fcounts, frc_hash(p, pid, frame), frc_eq, &k);
	return f ? f->count : 0;
}

/*
 * The call nesting of a new span: the open spans whose frame is the raising one or one of its
 * callers. Without the whole chain (an older record, a layout with no way up, more callers
 * than the probe follows), every span open on the thread counts, as if all were nested.
 */
static unsigned open_depth(const struct st_pairer *p, const struct open *o, const struct key *k)
{
	const struct st_view *v = &o->pre;
	const struct thr *t;
	unsigned depth;

	if (o->frame && v->has_chain && !v->chain_cut) {
		depth = frame_count(p, o->pid, o->frame);
		for (unsigned i = 0; i < v->nchain; i++)
			depth += frame_count(p, o->pid, st_view_chain(v, i));
		return depth;
	}
	t = tab_get(&p->threads, thr_hash(p, o->pid, o->tid), thr_eq, k);
	return t ? t->count : 0;
}

/* An open span of its own copy of the pre record, linked nowhere yet. NULL and errno. */
static struct open *open_new(const struct st_event *pre, unsigned rule, size_t name_off,
			     size_t name_len)
{
	size_t size = pre->size;
	struct open *o = malloc(sizeof(*o) + size);

	if (!o)
		return NULL;
	memset(o, 0, sizeof(*o));
	memcpy(o->rec, pre, size);
	if (st_decode_event(o->rec, size, &o->pre)) {
		free(o);
		errno = EINVAL;
		return NULL;
	}
	o->size = size;
	o->name = o->pre.name + name_off;
	o->name_len = name_len;
	o->frame = o->pre.hdr->frame;
	o->pid = o->pre.hdr->pid;
	o->tid = o->pre.hdr->tid;
	o->rule = rule;
	return o;
}

/*
 * Links a new open span into every index (frees it on failure). depth_known: o->depth is
 * set already (a copy inherited at fork), else it is computed here.
 */
static int open_link(struct st_pairer *p, struct open *o, bool depth_known)
{
	size_t size = o->size, name_len = o->name_len;
	unsigned rule = o->rule;
	struct open *old;
	struct thr *t;
	struct stk *s;
	struct key k;
	int err;

	/* Everything that may fail comes before the first change. */
	err = tab_reserve(&p->frames, 1);
	if (!err)
		err = tab_reserve(&p->stacks, 1);
	if (!err)
		err = tab_reserve(&p->threads, 1);
	if (!err && !p->spare_thr && !(p->spare_thr = malloc(sizeof(*p->spare_thr))))
		err = -ENOMEM;
	if (!err && !p->spare_stk && !(p->spare_stk = malloc(sizeof(*p->spare_stk))))
		err = -ENOMEM;
	if (!err)
		err = tab_reserve(&p->fcounts, 1);
	if (!err && !p->spare_frc && !(p->spare_frc = malloc(sizeof(*p->spare_frc))))
		err = -ENOMEM;
	if (err)
		goto fail;

	k = (struct key){ .pid = o->pid, .tid = o->tid, .frame = o->frame, .rule = rule,
			  .name = o->name, .name_len = name_len };
	if (o->frame) {
		/* The same frame opened the same NAME again: the old call never closed. */
		o->hframe = frame_hash(p, &k);
		old = tab_get(&p->frames, o->hframe, frame_eq, &k);
		if (old) {
			if ((err = q_reserve(p, 1)))
				goto fail;
			unlink_open(p, old);
			emit(p, old, ST_SPAN_UNFINISHED);
			o->flags |= ST_SPAN_AMBIGUOUS;
		}
	}
	/*
	 * The depth counts the spans that eviction is about to close: those calls may well be
	 * running still (a replaced one is not: its frame was reused).
	 */
	if (!depth_known)
		o->depth = open_depth(p, o, &k);
	while (p->oldest && (p->nopen >= p->max_open || p->bytes + size > p->max_bytes)) {
		if ((err = q_reserve(p, 1)))
			goto fail;
		old = p->oldest;
		unlink_open(p, old);
		emit(p, old, ST_SPAN_UNFINISHED);
	}

	/* Looked up only now: the removals above may have freed what was there. */
	t = tab_get(&p->threads, thr_hash(p, o->pid, o->tid), thr_eq, &k);
	if (!t) {
		t = p->spare_thr;
		p->spare_thr = NULL;
		t->h = thr_hash(p, o->pid, o->tid);
		t->pid = o->pid;
		t->tid = o->tid;
		t->count = 0;
		tab_put(&p->threads, t->h, t);
	}
	t->count++;
	o->thr = t;

	if (o->frame) {
		struct frc *f = tab_get(&p->fcounts, frc_hash(p, o->pid, o->frame), frc_eq, &k);

		if (!f) {
			f = p->spare_frc;
			p->spare_frc = NULL;
			f->h = frc_hash(p, o->pid, o->frame);
			f->pid = o->pid;
			f->frame = o->frame;
			f->count = 0;
			tab_put(&p->fcounts, f->h, f);
		}
		f->count++;
		o->frc = f;
	}

	s = tab_get(&p->stacks, stk_hash(p, &k), stk_eq, &k);
	if (!s) {
		s = p->spare_stk;
		p->spare_stk = NULL;
		s->h = stk_hash(p, &k);
		s->top = NULL;
		s->pid = o->pid;
		s->tid = o->tid;
		s->rule = rule;
		s->n = s->n_noframe = 0;
		s->name_len = name_len;
		memcpy(s->name, o->name, name_len);
		tab_put(&p->stacks, s->h, s);
	}
	o->below = s->top;
	if (s->top)
		s->top->above = o;
	s->top = o;
	s->n++;
	if (!o->frame)
		s->n_noframe++;
	o->stk = s;

	if (o->frame)
		tab_put(&p->frames, o->hframe, o);

	o->older = p->newest;
	if (p->newest)
		p->newest->newer = o;
	else
		p->oldest = o;
	p->newest = o;
	p->nopen++;
	p->bytes += size;
	return 0;
fail:
	free(o);
	return err;
}

static int on_pre(struct st_pairer *p, const struct st_view *v, unsigned rule, size_t name_off,
		  size_t name_len)
{
	struct open *o = open_new(v->hdr, rule, name_off, name_len);

	if (!o)
		return -errno;
	return open_link(p, o, false);
}

int st_pairer_fork(struct st_pairer *p, uint32_t ppid, uint32_t ptid, uint32_t pid,
		   struct st_span *out)
{
	struct open *o, *last, *c;
	int err = 0;

	if (!p || !out || ppid == pid)
		return -EINVAL;
	p->drain_valid = false;
	/* Oldest first, so that the copies keep their order; copies go after `last`. */
	last = p->newest;
	for (o = p->oldest; o && !err; o = o == last ? NULL : o->newer) {
		if (o->pid != ppid || o->tid != ptid)
			continue;
		c = open_new(o->pre.hdr, o->rule, (size_t)(o->name - o->pre.name), o->name_len);
		if (!c) {
			err = -errno;
			break;
		}
		c->pid = c->tid = pid;
		c->depth = o->depth;
		c->flags = o->flags;
		/* Eviction may take `o` itself: stop at the last one copied, never past. */
		if (o == last)
			last = NULL;
		err = open_link(p, c, true);
		if (!last)
			break;
	}
	if (err < 0)
		return err;
	return st_pairer_next(p, out);
}

static int on_post(struct st_pairer *p, const struct st_view *v, unsigned rule, const char *name,
		   size_t name_len)
{
	const struct st_event *h = v->hdr;
	struct key k = { .pid = h->pid, .tid = h->tid, .frame = h->frame, .rule = rule,
			 .name = name, .name_len = name_len };
	struct open *o = NULL;
	unsigned flags = 0;
	struct st_view pv;
	struct stk *s;
	void *rec;

	if (h->frame)
		o = tab_get(&p->frames, frame_hash(p, &k), frame_eq, &k);
	if (!o) {
		/* No frame, or none matching: last in, first out among the thread's pres. */
		s = tab_get(&p->stacks, stk_hash(p, &k), stk_eq, &k);
		if (s && !h->frame) {
			o = s->top;
		} else if (s && s->n_noframe) {
			/* This post knows its frame: only a pre that did not may be it. */
			for (o = s->top; o && o->frame; o = o->below)
				;
		}
		if (o && s->n > 1)
			flags |= ST_SPAN_AMBIGUOUS;
	}

	rec = malloc(h->size);
	if (!rec)
		return -ENOMEM;
	memcpy(rec, h, h->size);
	if (st_decode_event(rec, h->size, &pv)) {
		free(rec);
		return -EINVAL;
	}
	if (q_reserve(p, 1))
		goto nomem;
	if (o) {
		unlink_open(p, o);
	} else {
		o = calloc(1, sizeof(*o));
		if (!o)
			goto nomem;
		o->flags = ST_SPAN_NO_PRE;
		o->name = name; /* the caller's record or a rule: emit() copies it now */
		o->name_len = name_len;
		o->pid = h->pid;
		o->tid = h->tid;
		o->rule = rule;
	}
	o->post_rec = rec;
	o->post = pv;
	emit(p, o, flags);
	return 0;
nomem:
	free(rec);
	return -ENOMEM;
}

int st_pairer_event(struct st_pairer *p, const struct st_view *v, struct st_span *out)
{
	size_t off, len;
	unsigned i;
	int err = 0;

	if (!p || !v || !v->hdr || !out)
		return -EINVAL;
	p->drain_valid = false;
	if (v->hdr->flags & ST_EF_NAME_TRUNC)
		return st_pairer_next(p, out);
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (side_match(&r->post, v->name, v->name_len, &off, &len)) {
			if (!r->post.has_star) /* exact names: NAME is the PRE name */
				err = on_post(p, v, i, r->pre.pat, r->pre.len);
			else
				err = on_post(p, v, i, v->name + off, len);
			goto done;
		}
	}
	for (i = 0; i < p->nrules; i++) {
		if (side_match(&p->rules[i].pre, v->name, v->name_len, &off, &len)) {
			err = on_pre(p, v, i, off, len);
			goto done;
		}
	}
done:
	if (err < 0)
		return err;
	return st_pairer_next(p, out);
}

int st_pairer_next(struct st_pairer *p, struct st_span *out)
{
	if (!p->qlen)
		return 0;
	*out = p->q[p->qhead++];
	if (!--p->qlen)
		p->qhead = 0;
	return 1;
}

int st_pairer_drain(struct st_pairer *p, uint32_t pid, struct st_span *out)
{
	struct open *o;

	o = p->drain_valid && p->drain_pid == pid ? p->drain_next : p->oldest;
	while (o && pid && o->pid != pid)
		o = o->newer;
	if (!o) {
		p->drain_valid = false;
		return 0;
	}
	/* Nothing before o is left for pid, and only this function unlinks until the next event. */
	p->drain_next = o->newer;
	p->drain_pid = pid;
	p->drain_valid = true;
	unlink_open(p, o);
	span_make(o, ST_SPAN_UNFINISHED, out);
	return 1;
}

void st_span_release(struct st_span *s)
{
	struct open *o = s->owned;

	if (o) {
		free(o->post_rec);
		free(o);
	}
	memset(s, 0, sizeof(*s));
}

void st_pairer_free(struct st_pairer *p)
{
	struct open *o, *next;
	size_t i;

	if (!p)
		return;
	for (o = p->oldest; o; o = next) {
		next = o->newer;
		free(o);
	}
	for (i = 0; i < p->stacks.cap; i++)
		free(p->stacks.s[i].item);
	for (i = 0; i < p->threads.cap; i++)
		free(p->threads.s[i].item);
	free(p->stacks.s);
	free(p->threads.s);
	free(p->frames.s);
	for (i = 0; i < p->fcounts.cap; i++)
		free(p->fcounts.s[i].item);
	free(p->fcounts.s);
	free(p->spare_frc);
	for (i = 0; i < p->qlen; i++)
		st_span_release(&p->q[p->qhead + i]);
	free(p->q);
	free(p->spare_thr);
	free(p->spare_stk);
	for (i = 0; i < p->nrules; i++)
		free(p->rules[i].pre.pat);
	free(p->rules);
	free(p);
}
