/* Extended page tables (vmx/ept.c). */
#ifndef VMX_EPT_H
#define VMX_EPT_H

#include "emu/cpu.h"
#include "emu/paging.h"

/* One EPT walk, step by step (for the trace and the debugger). */
struct ept_walk {
	uint64_t gpa, hpa;
	uint64_t page_size;
	int nsteps;
	struct walk_step step[4];
	unsigned rights;     /* R, W, X (bits 0-2) granted by every entry */
	bool misconfig;
};

bool vmx_ept_walk(struct cpu *c, uint64_t gpa, bool write, bool update, struct ept_walk *w);

#endif
