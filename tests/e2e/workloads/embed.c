// SPDX-License-Identifier: MIT
/*
 * An application that embeds CPython, for tests/e2e/test_embed.py. Built by
 * the test in two ways:
 *   linked:  against a copy of libpython renamed libscripting.so (DT_NEEDED);
 *   dlopen:  with -DEMBED_DLOPEN, loading the library named by argv[1] only
 *            once it reads a line on stdin, long after its exec.
 * Neither the program's name nor the library's says "python": seatrace has
 * to recognise the interpreter by its content.
 *
 * Protocol (stdin/stdout, one line each): "loaded" once the interpreter runs;
 * then, for every line read, it raises embed.test("héllo", 42, $EMBED_TAG)
 * and answers "raised"; at end of input it exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#ifdef EMBED_DLOPEN
#include <dlfcn.h>
#include <unistd.h>
#endif

/* The stable ABI: no Python.h needed, so any libpython copy will do. */
#ifdef EMBED_DLOPEN
static void (*Py_InitializeEx)(int);
static int (*PyRun_SimpleString)(const char *);
static int (*Py_FinalizeEx)(void);
#else
void Py_InitializeEx(int initsigs);
int PyRun_SimpleString(const char *code);
int Py_FinalizeEx(void);
#endif

static const char code[] = "import os, sys\n"
			   "print('loaded', flush=True)\n"
			   "tag = os.environ.get('EMBED_TAG', '')\n"
			   "for line in sys.stdin:\n"
			   "    sys.audit('embed.test', 'h\\u00e9llo', 42, tag)\n"
			   "    print('raised', flush=True)\n";

int main(int argc, char **argv)
{
	int ret;

#ifdef EMBED_DLOPEN
	void *lib;
	char c;

	if (argc < 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	printf("waiting\n");
	fflush(stdout);
	/* Byte by byte: stdio would buffer ahead what the interpreter is to read. */
	do
		if (read(0, &c, 1) != 1)
			return 1;
	while (c != '\n');
	/* RTLD_GLOBAL: extension modules find the interpreter's symbols there. */
	lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!lib) {
		fprintf(stderr, "embed: %s\n", dlerror());
		return 1;
	}
	*(void **)&Py_InitializeEx = dlsym(lib, "Py_InitializeEx");
	*(void **)&PyRun_SimpleString = dlsym(lib, "PyRun_SimpleString");
	*(void **)&Py_FinalizeEx = dlsym(lib, "Py_FinalizeEx");
	if (!Py_InitializeEx || !PyRun_SimpleString || !Py_FinalizeEx) {
		fprintf(stderr, "embed: %s is not a libpython\n", argv[1]);
		return 1;
	}
#else
	(void)argc;
	(void)argv;
#endif
	Py_InitializeEx(0);
	ret = PyRun_SimpleString(code);
	if (Py_FinalizeEx() < 0)
		ret = 1;
	return ret ? 1 : 0;
}
