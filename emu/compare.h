/* nestlab compare: the same image on the interpreter and on KVM, side by
 * side. This part only formats: the table for a terminal, the same as
 * JSON, and the diff of the two serial outputs. emu/main.c runs the two
 * sides (emu/session.h). */
#ifndef EMU_COMPARE_H
#define EMU_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "emu/msg.h"
#include "emu/session.h"

struct compare_side {
	const char *name;            /* "interpreter", "KVM" */
	struct run_outcome r;
	const char *serial;          /* its serial output, NUL-terminated */
};

struct comparison {
	const char *image;
	const char *append;          /* or NULL */
	struct compare_side side[2]; /* 0: the interpreter, 1: KVM */
};

/* The serial outputs compared line by line, leaving out the lines that
 * start with "# " (informational: the vendor, a time), as tests/l2.sh
 * does. Returns a diff ("-" only in a, "+" only in b, two lines of context
 * around each change) to free, or NULL when they are the same. */
char *compare_diff(const char *a, const char *b);

/* Lines, and "# " lines, in a serial output. */
void compare_count_lines(const char *s, unsigned *lines, unsigned *info);

/* Both runs ended the same way with the same output. */
bool compare_same(const struct comparison *c);

/* The aligned table, for a terminal. */
void compare_print(FILE *f, const struct comparison *c, enum lang lang);

/* The same as a JSON object (cJSON; docs/kvm.md lists the fields), as
 * text to free. */
char *compare_json(const struct comparison *const *c, int n, const char *note);

#endif
