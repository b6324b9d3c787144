/* A chain of in-memory snapshots of one machine, taken every so often
 * during a run, for reverse execution (emu/reverse.h).
 *
 * Each snapshot holds the state blob (emu/snap.h) and the RAM pages
 * written since the one before it, as they were at its time; the first
 * holds every page that is not zero. RAM at snapshot k is therefore, page
 * by page, the version in the latest snapshot at or before k that has the
 * page (zero if none). Restoring k from where the machine is touches only
 * the pages written since its base snapshot and those held by snapshots
 * between the two.
 *
 * Memory is bounded by a budget: past it, snapshots are merged into their
 * successor (the pair keeps the newer version of each page), the pair
 * with the smallest span first, so snapshots thin out evenly. */
#ifndef EMU_SNAPSTORE_H
#define EMU_SNAPSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

struct snapshot {
	uint64_t icount;         /* instructions retired when it was taken */
	uint8_t *state;          /* the state blob */
	size_t state_len;
	uint32_t npages;         /* RAM pages held ... */
	uint32_t *pageno;        /* ... their numbers, ascending ... */
	uint8_t *data;           /* ... and their contents, 4 KiB each */
	uint64_t *has;           /* the same pages as a bitmap */
};

struct snapstore {
	struct cpu *c;
	struct snapshot *s;      /* oldest first */
	int n, cap;
	int base;                /* RAM equals snapshot base's except the pages
	                            dirty on the bus; -1 before the first */
	uint64_t budget;         /* bytes the snapshots may hold */
	uint64_t bytes, peak;    /* held now, and at most */
	uint64_t taken, merged;  /* snapshots taken, and merged away */
	uint64_t pages_copied;   /* pages copied into snapshots */
};

struct snapstore *snapstore_new(struct cpu *c, uint64_t budget_bytes);
void snapstore_free(struct snapstore *st);

/* Snapshot the machine as it is now. Only at the newest end of the
 * chain: icount must be past the newest snapshot, which must be the base
 * (else -1). At the icount of an existing snapshot (a replay reaching it,
 * deterministic) it becomes the base again and its index is returned.
 * -1 also when out of host memory. */
int snapstore_take(struct snapstore *st);

/* Put the machine back to snapshot k. */
bool snapstore_restore(struct snapstore *st, int k);

/* The newest snapshot taken at or before icount, or -1. */
int snapstore_find(const struct snapstore *st, uint64_t icount);

#endif
