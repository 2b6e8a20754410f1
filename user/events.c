// SPDX-License-Identifier: MIT
#include "events.h"

#include <string.h>

#include "json.h"
#include "strbuf.h"

/* Counts the names given; the leading NULL keeps the list valid when it is empty. */
#define EV_NARGS(...) (sizeof((const char *[]){ NULL, ##__VA_ARGS__ }) / sizeof(const char *) - 1)
#define EV(name, src, ...) { name, ST_SRC_##src, EV_NARGS(__VA_ARGS__), { __VA_ARGS__ } },

static const struct st_known_event table[] = {
#include "events.def"
};

#undef EV

const struct st_known_event *st_events_table(size_t *count)
{
	*count = sizeof(table) / sizeof(table[0]);
	return table;
}

/* strcmp() order for a counted name against a C string. */
static int cmp_name(const char *name, size_t len, const char *s)
{
	size_t slen = strlen(s);
	int r = memcmp(name, s, len < slen ? len : slen);

	if (r)
		return r;
	return len < slen ? -1 : len > slen;
}

const struct st_known_event *st_event_lookup(const char *name, size_t len)
{
	size_t lo = 0, hi = sizeof(table) / sizeof(table[0]);

	if (!name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp_name(name, len, table[mid].name);

		if (!r)
			return &table[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *st_event_source_name(enum st_event_source source)
{
	switch (source) {
	case ST_SRC_CPYTHON:
		return "cpython";
	case ST_SRC_CPYTHON_INTERNAL:
		return "cpython-internal";
	case ST_SRC_CAPELLAMBSE:
		return "capellambse";
	}
	return "unknown";
}

void st_events_list(FILE *f, bool json)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	size_t i;
	unsigned j;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct st_known_event *e = &table[i];

		strbuf_reset(&sb);
		if (json) {
			jsonw_init(&w, &sb);
			jsonw_start_object(&w);
			jsonw_string_field(&w, "event", e->name);
			jsonw_string_field(&w, "source", st_event_source_name(e->source));
			jsonw_name(&w, "argnames");
			jsonw_start_array(&w);
			for (j = 0; j < e->nargs; j++)
				jsonw_string(&w, e->argnames[j]);
			jsonw_end_array(&w);
			jsonw_end_object(&w);
		} else {
			strbuf_addf(&sb, "%s(", e->name);
			for (j = 0; j < e->nargs; j++)
				strbuf_addf(&sb, "%s%s", j ? ", " : "", e->argnames[j]);
			strbuf_addf(&sb, ") [%s]", st_event_source_name(e->source));
		}
		strbuf_addch(&sb, '\n');
		if (sb.err)
			break;
		fwrite(sb.buf, 1, sb.len, f);
	}
	strbuf_release(&sb);
}
