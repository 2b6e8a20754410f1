// SPDX-License-Identifier: MIT
/* The kernel's count maps read into a summary (kcount.h, summary.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kcount.h"
#include "kstats.h"
#include "output.h"
#include "rulecount.h"
#include "summary.h"
#include "tracer.h"
#include "wire.h"
#include "seatrace.skel.h" /* after wire.h: its types */

void st_kcount_setup(struct seatrace_bpf *skel, const struct st_opts *o)
{
	skel->rodata->cfg_count = (__u32)o->count;
	/* After cfg_rules is set: argument rules judge each event, and -S notes each one. */
	skel->rodata->cfg_count_fast = o->count == ST_COUNT_ONLY && !skel->rodata->cfg_rules &&
				       !o->syscalls;
	/* Maps are made whatever the run: those not used cost one entry. */
	if (!o->count) {
		bpf_map__set_max_entries(skel->maps.counts, 1);
		bpf_map__set_max_entries(skel->maps.count_names, 1);
	}
	if (!o->count || !o->syscalls)
		bpf_map__set_max_entries(skel->maps.sys_counts, 1);
	if (o->count != ST_COUNT_ONLY || !o->syscalls)
		bpf_map__set_max_entries(skel->maps.sys_count_nr, 1);
}

struct name_ent {
	__u64 key;
	char *name;
};

static int name_cmp(const void *a, const void *b)
{
	const struct name_ent *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* Every kept name, sorted by key. *n entries, or NULL and errno. */
static struct name_ent *read_names(int fd, size_t *n)
{
	struct name_ent *v = NULL, *grown;
	size_t cap = 0;
	__u64 key, *prev = NULL;
	char buf[ST_NAME_MAX];

	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, buf))
			continue; /* deleted meanwhile: never, but harmless */
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown)
				goto fail;
			v = grown;
		}
		v[*n].key = key;
		v[*n].name = strndup(buf, sizeof(buf) - 1);
		if (!v[*n].name)
			goto fail;
		(*n)++;
	}
	qsort(v, *n, sizeof(*v), name_cmp);
	return v;
fail:
	for (size_t i = 0; i < *n; i++)
		free(v[i].name);
	free(v);
	errno = ENOMEM;
	return NULL;
}

/* A row under the name kept for `key` ("?" when the kernel could not keep it). */
static int add_row(struct st_summary *s, const struct name_ent *names, size_t nnames, __u64 key,
		   __u32 tgid, __u64 count, __u64 first_ns, __u64 last_ns)
{
	struct name_ent want = { .key = key };
	const struct name_ent *ne = bsearch(&want, names, nnames, sizeof(*names), name_cmp);

	return st_summary_add(s, ne ? ne->name : "?", ne ? strlen(ne->name) : 1, tgid, count,
			      first_ns, last_ns);
}

static int read_cache(struct seatrace_bpf *skel, struct st_summary *s, int ncpu,
		      const struct name_ent *names, size_t nnames);

static int read_counts(struct seatrace_bpf *skel, struct st_summary *s, int ncpu)
{
	int fd = bpf_map__fd(skel->maps.counts);
	struct st_count_key key, *prev = NULL;
	struct st_count_val *vals = calloc((size_t)ncpu, sizeof(*vals));
	struct name_ent *names;
	size_t nnames;
	int err = 0;

	names = read_names(bpf_map__fd(skel->maps.count_names), &nnames);
	if (!vals || !names) {
		free(vals);
		return -ENOMEM;
	}
	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		struct st_count_val sum = {};

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++) {
			sum.count += vals[c].count;
			if (vals[c].first_ns && (!sum.first_ns || vals[c].first_ns < sum.first_ns))
				sum.first_ns = vals[c].first_ns;
			if (vals[c].last_ns > sum.last_ns)
				sum.last_ns = vals[c].last_ns;
		}
		if (!sum.count)
			continue;
		err = add_row(s, names, nnames, key.name, key.tgid, sum.count, sum.first_ns,
			      sum.last_ns);
	}
	if (!err)
		err = read_cache(skel, s, ncpu, names, nnames);
	for (size_t i = 0; i < nnames; i++)
		free(names[i].name);
	free(names);
	free(vals);
	return err;
}

/*
 * Each CPU's cache of the keys it counted last, at the start of its scratch (an entry of
 * scratch_map per CPU, bpf/decode.bpf.h): rows of their own, merged with the hash's.
 */
static int read_cache(struct seatrace_bpf *skel, struct st_summary *s, int ncpu,
		      const struct name_ent *names, size_t nnames)
{
	size_t size = bpf_map__value_size(skel->maps.scratch_map);
	const struct st_count_cache *c;
	void *buf;
	int err = 0;

	if (size < sizeof(*c))
		return -EINVAL;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	c = buf;
	for (__u32 cpu = 0; cpu < (__u32)ncpu && !err; cpu++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.scratch_map), &cpu, buf)) {
			err = -errno;
			break;
		}
		for (int i = 0; i < ST_COUNT_CACHE && !err; i++) {
			const struct st_count_slot *sl = &c->s[i];

			if (sl->count)
				err = add_row(s, names, nnames, sl->name, sl->tgid, sl->count,
					      sl->first_ns, sl->last_ns);
		}
	}
	free(buf);
	return err;
}

static int read_syscalls(struct seatrace_bpf *skel, struct st_summary *s, int ncpu)
{
	int fd = bpf_map__fd(skel->maps.sys_counts), err = 0;
	struct st_sys_count_key key, *prev = NULL;
	__u64 *vals = calloc((size_t)ncpu, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		__u64 sum = 0;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		if (sum)
			err = st_summary_add_sys(s, key.nr, key.err, sum);
	}
	free(vals);
	return err;
}

int st_kcount_report(struct tracer *t, __u64 now_mono_ns)
{
	struct seatrace_bpf *skel = t->skel;
	struct st_summary s = { .syscalls = t->opts->syscalls };
	int ncpu = libbpf_num_possible_cpus(), err;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	err = read_counts(skel, &s, ncpu);
	if (!err && s.syscalls)
		err = read_syscalls(skel, &s, ncpu);
	if (!err)
		err = st_summary_finish(&s);
	if (err) {
		st_say("cannot read the counts: %s", strerror(-err));
		st_summary_free(&s);
		return err;
	}
	s.uncounted = st_kstat(skel, ST_STAT_COUNT_FULL);
	s.names_missing = st_kstat(skel, ST_STAT_COUNT_NONAME);
	s.sys_uncounted = st_kstat(skel, ST_STAT_COUNT_SYS_FULL);
	s.lost = st_kstat(skel, ST_STAT_BUSY) + st_kstat_prog_misses(skel);
	s.rules = st_rulecount_read(t, &s.nrules);
	err = st_output_summary(t->rec.out, now_mono_ns, &s);
	if (!err)
		err = st_output_flush(t->rec.out);
	st_summary_free(&s);
	return err == -EINTR ? 0 : err;
}
