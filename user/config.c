// SPDX-License-Identifier: MIT
/* The configuration file's syntax (see config.h and docs/daemon.md). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A configuration file is a few dozen lines; anything much larger is a mistake. */
#define CONFIG_MAX_BYTES (1 << 20)

static int fail(char *err, size_t errlen, int ret, const char *path, unsigned line, const char *fmt,
		...) __attribute__((format(printf, 6, 7)));

static int fail(char *err, size_t errlen, int ret, const char *path, unsigned line, const char *fmt,
		...)
{
	va_list ap;
	/* No line to name when the file as a whole is wrong. */
	int n = line ? snprintf(err, errlen, "%s:%u: ", path, line)
		     : snprintf(err, errlen, "%s: ", path);

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ret;
}

void st_config_release(struct st_config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->v[i].key);
		free(cfg->v[i].value);
	}
	free(cfg->v);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

/*
 * One value: `"..."` keeps everything between the quotes (a `#` or spaces at either end),
 * with \" and \\ as escapes; otherwise the text up to a `#` that follows a blank (or ends the
 * line) is the value, trimmed. NULL and *why when it is malformed. Edits `s` in place.
 */
static char *value_of(char *s, const char **why)
{
	s = trim(s);
	if (*s == '"') {
		char *r = s + 1, *w = s;

		for (; *r && *r != '"'; r++) {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r;
		}
		if (*r != '"') {
			*why = "unterminated quoted value (a closing \" is missing)";
			return NULL;
		}
		*w = 0;
		r = trim(r + 1);
		if (*r && *r != '#') {
			*why = "text after the quoted value (put a comment after a '#')";
			return NULL;
		}
		return s;
	}
	for (char *p = s; *p; p++) {
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			break;
		}
	}
	return trim(s);
}

static bool key_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '-')
			return false;
	return true;
}

int st_config_parse(const char *path, const char *text, struct st_config *cfg, char *err,
		    size_t errlen)
{
	char *copy = strdup(text), *line;
	unsigned lineno = 0;
	size_t cap = 0;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	if (!copy || !cfg->path) {
		ret = fail(err, errlen, -ENOMEM, path, 0, "out of memory");
		goto out;
	}
	/* strsep, not strtok: empty lines must still count. */
	for (char *rest = copy; (line = strsep(&rest, "\n")) != NULL;) {
		char *key, *eq, *val;
		const char *why = NULL;

		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			ret = fail(err, errlen, -EINVAL, path, lineno,
				   "'%s' is not 'key = value' (a flag is 'key = true' or "
				   "'key = false')",
				   key);
			goto out;
		}
		*eq = 0;
		key = trim(key);
		if (!key_ok(key)) {
			ret = fail(err, errlen, -EINVAL, path, lineno,
				   "invalid key '%s': keys are the long option names, such as "
				   "'output' or 'rotate-size'",
				   key);
			goto out;
		}
		val = value_of(eq + 1, &why);
		if (!val) {
			ret = fail(err, errlen, -EINVAL, path, lineno, "%s", why);
			goto out;
		}
		if (cfg->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct st_config_entry *nv = realloc(cfg->v, ncap * sizeof(*nv));

			if (!nv) {
				ret = fail(err, errlen, -ENOMEM, path, lineno, "out of memory");
				goto out;
			}
			cfg->v = nv;
			cap = ncap;
		}
		cfg->v[cfg->n].line = lineno;
		cfg->v[cfg->n].key = strdup(key);
		cfg->v[cfg->n].value = strdup(val);
		cfg->n++;
		if (!cfg->v[cfg->n - 1].key || !cfg->v[cfg->n - 1].value) {
			ret = fail(err, errlen, -ENOMEM, path, lineno, "out of memory");
			goto out;
		}
	}
out:
	free(copy);
	if (ret)
		st_config_release(cfg);
	return ret;
}

int st_config_read(const char *path, struct st_config *cfg, char *err, size_t errlen)
{
	FILE *f;
	char *text;
	size_t n;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "re");
	if (!f)
		return fail(err, errlen, -errno, path, 0, "cannot read the configuration: %s",
			    strerror(errno));
	text = malloc(CONFIG_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return fail(err, errlen, -ENOMEM, path, 0, "out of memory");
	}
	n = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f)) {
		ret = fail(err, errlen, -EIO, path, 0, "cannot read the configuration: %s",
			   strerror(errno ? errno : EIO));
	} else if (n > CONFIG_MAX_BYTES) {
		ret = fail(err, errlen, -EFBIG, path, 0,
			   "larger than %d bytes: not a configuration file", CONFIG_MAX_BYTES);
	} else if (memchr(text, 0, n)) {
		unsigned line = 1;

		for (const char *p = text; *p; p++)
			line += *p == '\n';
		ret = fail(err, errlen, -EINVAL, path, line,
			   "a NUL byte: not a text configuration file");
	} else {
		text[n] = 0;
		ret = st_config_parse(path, text, cfg, err, errlen);
	}
	free(text);
	fclose(f);
	return ret;
}
