/* Delivering exceptions and interrupts through the IVT (real mode) or the
 * IDT (protected mode, IA-32e mode), as SDM vol. 3A chapter 6 describes. */
#ifndef EMU_INTR_H
#define EMU_INTR_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

/* What is being delivered; it decides the gate-DPL check (software INT n,
 * INT3 and INTO only), the EXT bit of error codes, and which RIP is pushed. */
enum event_kind {
	EV_FAULT,      /* a hardware exception (fault or trap), maybe with an error code */
	EV_EXTERNAL,   /* an external interrupt (from the PIC or the APIC) */
	EV_NMI,        /* a non-maskable interrupt */
	EV_SOFT_INT,   /* INT n */
	EV_SOFT_EXC,   /* INT3, INTO */
	EV_PRIV_SOFT,  /* INT1 (ICEBP) */
};

/* Deliver an event with RIP already set to the address to push (the
 * faulting instruction for faults, the next one for traps and INT n).
 * A fault during delivery is raised as usual; the run loop turns it into
 * #DF or a triple fault by the SDM's rules (table 6-5). */
void emu_deliver(struct cpu *c, unsigned vector, enum event_kind kind,
		 bool has_error, uint32_t error);

/* A #DB is delivered: DR6 gets the bits it reports (cpu->db_bits), and a
 * general-detect one clears DR7.GD. A #DB that causes a VM exit does not
 * come here: DR6 and DR7 stay as they were (27.1). */
void emu_debug_status(struct cpu *c);

/* The run loop's handler for a raised exception (cpu->exc): applies the
 * double-fault rules and delivers, or ends the run (triple fault). Returns
 * false if the CPU shut down. */
bool emu_handle_exception(struct cpu *c);

/* Take a pending NMI or external interrupt if nothing blocks it (RFLAGS.IF,
 * the STI/MOV SS shadow, NMI blocking). Returns true if one was delivered.
 * A halted CPU wakes up when one is taken. */
bool emu_take_interrupt(struct cpu *c);

/* Whether an interrupt is waiting that could wake a halted CPU now or once
 * unblocked (for HLT: if nothing can ever come, the run stops). */
bool emu_interrupt_possible(struct cpu *c);

#endif
