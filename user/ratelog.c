// SPDX-License-Identifier: MIT
/* What the rate limits dropped, reported once (ratelog.h): an open-addressing table. */
#include "ratelog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ent {
	struct st_rl_key key;
	uint64_t reported;
	uint32_t epoch;
	bool used;
};

struct st_ratelog {
	struct ent *v;
	unsigned cap; /* a power of two, twice the buckets or more */
	unsigned n;
};

struct st_ratelog *st_ratelog_new(unsigned max)
{
	struct st_ratelog *l = calloc(1, sizeof(*l));
	unsigned cap = 16;

	if (!l)
		return NULL;
	while (cap < 2 * max)
		cap *= 2;
	l->v = calloc(cap, sizeof(*l->v));
	if (!l->v) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	l->cap = cap;
	return l;
}

void st_ratelog_free(struct st_ratelog *l)
{
	if (!l)
		return;
	free(l->v);
	free(l);
}

static unsigned hash(const struct st_rl_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

uint64_t st_ratelog_delta(struct st_ratelog *l, const struct st_rl_key *k, uint64_t dropped,
			  uint32_t epoch)
{
	unsigned i = hash(k) & (l->cap - 1);
	uint64_t d;

	if (!dropped)
		return 0;
	for (; l->v[i].used; i = (i + 1) & (l->cap - 1))
		if (!memcmp(&l->v[i].key, k, sizeof(*k)))
			break;
	if (!l->v[i].used) {
		/* Full (more buckets than the map holds): left to the unattributed remainder. */
		if (l->n + 1 >= l->cap / 2)
			return 0;
		l->v[i].used = true;
		l->v[i].key = *k;
		l->v[i].reported = 0;
		l->n++;
	}
	d = dropped >= l->v[i].reported ? dropped - l->v[i].reported : dropped;
	l->v[i].reported = dropped;
	l->v[i].epoch = epoch;
	return d;
}

void st_ratelog_sweep(struct st_ratelog *l, uint32_t epoch)
{
	struct ent *old = l->v;
	unsigned cap = l->cap;

	/* Rebuilt from the entries kept: removal from open addressing without tombstones. */
	l->v = calloc(cap, sizeof(*l->v));
	if (!l->v) {
		l->v = old; /* kept whole: tried again next time */
		return;
	}
	l->n = 0;
	for (unsigned i = 0; i < cap; i++) {
		if (!old[i].used || old[i].epoch != epoch)
			continue;
		unsigned j = hash(&old[i].key) & (cap - 1);

		while (l->v[j].used)
			j = (j + 1) & (cap - 1);
		l->v[j] = old[i];
		l->n++;
	}
	free(old);
}
