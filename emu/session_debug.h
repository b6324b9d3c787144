/* The interpreter's snapshots, reverse execution and gdb stub, for one
 * run (docs/debugging.md): --save-at, --restore, --snap-every,
 * --snap-budget, --gdb. emu/session.c calls these when a run asks for
 * any of them; they only exist on the interpreter, whose machine state is
 * nestlab's own. */
#ifndef EMU_SESSION_DEBUG_H
#define EMU_SESSION_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/backend.h"
#include "emu/loader.h"
#include "emu/session.h"

struct session_debug;

/* Whether o asks for any of them. */
bool session_debugging(const struct run_opts *o);

/* Set up on a loaded machine: restore --restore's snapshot, take reverse
 * control, open the gdb stub. NULL with *status set (and the reason said)
 * when one of them fails. */
struct session_debug *session_debug_new(const struct run_opts *o, struct cpu *c,
					const uint8_t *img, size_t len,
					const struct module *mods, int *status);

/* Run as backend_run() does, with the snapshots taken and gdb in control. */
enum emu_stop session_debug_run(struct session_debug *d, struct backend *b,
				const struct run_limits *l);

/* --stats: what the snapshots cost. */
void session_debug_stats(const struct session_debug *d, const struct run_opts *o, double seconds);

void session_debug_free(struct session_debug *d);

#endif
