/* The trace writer: an observer of the event stream that writes JSON Lines
 * (one object per event; docs/trace-format.md has the schema). */
#ifndef EMU_TRACE_H
#define EMU_TRACE_H

#include <stdio.h>

#include "emu/cpu.h"

struct trace;

/* Open path and start observing c. With walks, every page walk is traced
 * too (large traces). NULL if the file cannot be opened (errno set). */
struct trace *trace_open(struct cpu *c, const char *path, const char *image, bool walks);

/* Write the end record and close. */
void trace_close(struct trace *t, const char *reason, unsigned status);

#endif
