/* Virtual time. The clock counts nanoseconds: one per retired instruction,
 * plus the time the CPU spent halted (HLT jumps to the next timer). It is
 * the only clock guests see (TSC, APIC timer, PIT), so two runs of the same
 * image with the same input are identical, event for event. */
#ifndef EMU_VTIME_H
#define EMU_VTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

static inline uint64_t emu_now(const struct cpu *c)
{
	return c->icount + c->idle_ns;
}

/* struct vtimer, a one-shot timer, is in emu/cpu.h. */

void vtimer_arm(struct cpu *c, struct vtimer *t, uint64_t deadline);
void vtimer_cancel(struct cpu *c, struct vtimer *t);

/* Fire every timer that is due. Returns true if any fired. */
bool vtimer_run_due(struct cpu *c);

/* The earliest armed deadline, or UINT64_MAX. */
static inline uint64_t vtimer_next(const struct cpu *c)
{
	return c->timers ? c->timers->deadline : UINT64_MAX;
}

#endif
