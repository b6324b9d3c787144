/* Snapshots of the whole machine: the CPU with its VMX state and TLB, the
 * devices, virtual time and the timers, and RAM. The state without RAM is
 * a "state blob" (this file); RAM goes page by page, tracked dirty by the
 * bus (emu/bus.h), into a chain of snapshots (emu/snapstore.h) or a file
 * (emu/snapfile.h).
 *
 * A blob is restored into a machine made the same way (same RAM size, the
 * same devices from pc_attach): host-side parts (the bus, the device
 * structs, the decoded-block cache, observers, function pointers) stay the
 * live machine's, and what points into them is saved as an index. The
 * decoded-block cache is not saved: it holds only what RAM says, and is
 * dropped on restore. */
#ifndef EMU_SNAP_H
#define EMU_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/cpu.h"

#define SNAP_MAX_TIMERS 8

/* One routine per device serves both ways: saving appends bytes, loading
 * reads them back in the same order. */
struct snap_io {
	bool loading;
	uint8_t *buf;            /* save: grows (malloc); load: the blob */
	size_t len, cap, pos;
	bool bad;                /* load: the blob ended early; save: no memory */
	struct vtimer *timer[SNAP_MAX_TIMERS]; /* the machine's timers, as met */
	int ntimers;
};

/* Save or load n bytes at p. */
void snap_io_bytes(struct snap_io *io, void *p, size_t n);

/* A device's timer: after its struct was loaded over `t`, put back the
 * live callback (from keep) and take part in rebuilding the armed list. */
void snap_io_timer(struct snap_io *io, struct vtimer *t, const struct vtimer *keep);

/* A timer's host side (callback, list link), cleared in a saved copy. */
static inline void snap_timer_clear(struct vtimer *t)
{
	t->fire = NULL;
	t->opaque = NULL;
	t->next = NULL;
}

/* The machine's state without RAM, into io->buf (false: out of memory). */
bool snap_state_save(struct cpu *c, struct snap_io *io);

/* Load a blob saved by snap_state_save (false: it is short, or made for
 * another machine; the machine is then in an undefined state). Drops the
 * decoded-block cache and the jump cache. */
bool snap_state_load(struct cpu *c, const uint8_t *blob, size_t len);

/* Start a new dirty interval: clear the bus's dirty bitmap, then mark the
 * pages the TLB still lets the fast store path write (emu/bus.h). */
void snap_dirty_reset(struct cpu *c);

#endif
