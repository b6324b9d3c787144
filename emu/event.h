/* The machine's event stream. The CPU and the devices emit events; the
 * trace writer, the debugger, the grader and the statistics observe them.
 * No observer reaches into the interpreter: everything it learns comes in
 * a struct event. Emitting costs one branch when nobody observes. */
#ifndef EMU_EVENT_H
#define EMU_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"
#include "emu/paging.h"

struct ept_walk;

enum evt_type {
	EVT_EXCEPTION,   /* an exception delivered (or ending a flat run) */
	EVT_INTERRUPT,   /* an external interrupt or NMI taken */
	EVT_IO,          /* a port access */
	EVT_MODE,        /* the CPU mode changed (real, protected, long, paging) */
	EVT_WALK,        /* a page walk (only when walk events are asked for) */
	EVT_SERIAL,      /* a byte transmitted on the serial port */
	EVT_VMENTRY,     /* VMLAUNCH/VMRESUME entered the guest, or the check that failed */
	EVT_VMEXIT,      /* a VM exit: reason, qualification, where the guest was */
	EVT_VMX_INSN,    /* a VMX instruction's result (VMLAUNCH/VMRESUME: only failures) */
	EVT_EPT_WALK,    /* an EPT walk (only when walk events are asked for) */
	EVT_END,         /* the run ended */
};

struct event {
	enum evt_type type;
	uint64_t icount;         /* instructions retired when it happened */
	uint64_t vtime;          /* virtual time, ns */
	uint64_t rip;            /* where the CPU was */
	union {
		struct { uint8_t vector; bool has_error; uint32_t error; bool software; uint64_t cr2; } exc;
		struct { uint8_t vector; bool nmi; } irq;
		struct { uint16_t port; uint8_t bytes; bool in; uint32_t value; } io;
		struct { const char *mode; uint8_t cpl; bool paging; } mode;
		struct { const struct walk *w; uint8_t kind; bool user; } walk;
		struct { uint8_t byte; } serial;
		struct { const char *reason; uint32_t status; } end;
		struct {
			bool launch;             /* VMLAUNCH, not VMRESUME */
			bool ok;                 /* the guest runs */
			uint8_t vm_error;        /* VMfailValid: the VM-instruction error */
			const char *check, *sdm, *why; /* the failed check, if one did */
			uint64_t guest_rip;
		} vmentry;
		struct {
			uint32_t reason;         /* the exit reason field (bit 31: entry failed) */
			const char *name;        /* the SDM's name of the basic reason */
			uint64_t qual;
			uint64_t guest_rip;      /* where the guest was */
			uint32_t intr_info;      /* VM-exit interruption information */
			const uint16_t *changed; /* the VMCS fields the exit changed */
			uint16_t nchanged;       /* (indices into vmcs_fields[]) */
		} vmexit;
		struct {
			const char *insn;        /* "VMCLEAR", ... (the SDM's name) */
			uint8_t result;          /* 0 VMsucceed, 1 VMfailInvalid, 2 VMfailValid */
			uint8_t error;           /* VMfailValid: the VM-instruction error */
			bool has_addr;           /* VMXON, VMCLEAR, VMPTRLD, VMPTRST: */
			uint64_t addr;           /* ... the VMCS or VMXON region */
			int field;               /* VMREAD, VMWRITE: the field (-1: none) */
			uint64_t value;          /* ... the value read or written */
		} vmxinsn;
		struct { const struct ept_walk *w; uint8_t kind; } ept;
	} u;
};

typedef void (*evt_observer)(void *opaque, const struct event *e);

#define EVT_MAX_OBSERVERS 4

/* Add an observer; false if there are too many. */
bool evt_observe(struct cpu *c, evt_observer fn, void *opaque);

/* Emit (fills icount, vtime and rip). */
void evt_emit_slow(struct cpu *c, struct event *e);
static inline void evt_emit(struct cpu *c, struct event *e)
{
	if (c->nobs)
		evt_emit_slow(c, e);
}

/* The current mode's name, as events and messages spell it: "real",
 * "protected16", "protected32", "compat16", "compat32", "long64". */
const char *evt_mode_name(const struct cpu *c);

#endif
