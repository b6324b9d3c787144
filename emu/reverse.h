/* Reverse execution. A run under reverse control takes a snapshot every
 * `interval` instructions (emu/snapstore.h). Going back to instruction
 * count N restores the newest snapshot at or before N and runs forward
 * again to N: runs are deterministic (virtual time, input queued before
 * the run), so the machine is then exactly as it was when it first passed
 * N. Replays are silent: serial and console output are dropped, and the
 * machine's observers (the trace) do not see the events again.
 *
 * A point of a run is its instruction count: the state after that many
 * instructions retired, before the next one (and before the interrupts
 * and timers due at that boundary). An instruction that causes a VM exit
 * or an exception does not retire, so going back to such an event lands
 * on the instruction that caused it. This is the API the gdb stub and the
 * debugger window call. */
#ifndef EMU_REVERSE_H
#define EMU_REVERSE_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"
#include "emu/snapstore.h"

/* What rev_back_to looks for, a bit each. */
enum {
	REV_VMEXIT = 1u << 0,
	REV_VMENTRY = 1u << 1,     /* a VM entry, whether it succeeded or failed */
	REV_EXCEPTION = 1u << 2,
	REV_BREAKPOINT = 1u << 3,  /* RIP at one of cpu->dbg.bp */
};

struct reverse {
	struct cpu *c;
	struct snapstore *st;
	uint64_t interval;       /* a snapshot every so many instructions */
	uint64_t start;          /* icount when reverse control began */
	uint64_t replayed;       /* instructions run again, for --stats */
	double snap_seconds;     /* host time spent taking snapshots */
};

/* Take control of a machine (snapshot now). NULL: out of memory. */
struct reverse *rev_new(struct cpu *c, uint64_t interval, uint64_t budget_bytes);
void rev_free(struct reverse *r);

/* Run forward like emu_run, taking the periodic snapshots. */
enum emu_stop rev_run(struct reverse *r, uint64_t budget);

/* Go to instruction count n, at or after where control began and not
 * past where the run has been: false if it cannot. */
bool rev_goto(struct reverse *r, uint64_t n);

/* Back one instruction. */
bool rev_step_back(struct reverse *r);

/* The machine was changed from outside its run (a debugger wrote a
 * register or memory): the snapshots before would replay without the
 * change, those after are of a run that will not happen. History starts
 * again here, with a snapshot of the machine as it now is. */
void rev_rebase(struct reverse *r);

/* Back to the latest point before now where one of `what` happened (for
 * events, the instruction that caused it; for breakpoints, the instruction
 * at the breakpoint). *at gets its instruction count. False, staying
 * put, if there is none since control began. */
bool rev_back_to(struct reverse *r, unsigned what, uint64_t *at);

#endif
