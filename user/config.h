/* SPDX-License-Identifier: MIT */
/*
 * The configuration file (--config FILE), read into entries: one `key = value` per line,
 * `#` comments, blank lines ignored. Only the syntax is checked here; what the keys mean and
 * whether their values are right is the command line's business (cli.c applies each entry as
 * the long option of the same name, so both are checked the same way). See docs/daemon.md.
 */
#ifndef SEATRACE_CONFIG_H
#define SEATRACE_CONFIG_H

#include <stddef.h>

struct st_config_entry {
	unsigned line;
	char *key;
	char *value; /* never NULL; "" for `key =` */
};

struct st_config {
	char *path;
	struct st_config_entry *v;
	size_t n;
};

/*
 * Reads `path` into *cfg. 0, or a negative errno with `err` holding "PATH:LINE: what is
 * wrong" ("PATH: what is wrong" when the file cannot be read at all); *cfg is left empty.
 */
int st_config_read(const char *path, struct st_config *cfg, char *err, size_t errlen);

/* Parses `text` (the file's content, NUL-terminated) as st_config_read() does. */
int st_config_parse(const char *path, const char *text, struct st_config *cfg, char *err,
		    size_t errlen);

void st_config_release(struct st_config *cfg);

#endif
