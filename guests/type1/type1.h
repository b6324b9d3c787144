/* type1: a bare-metal (type-1) hypervisor. The machine boots it directly,
 * as its kernel; it owns VMX root operation and runs the guests it was
 * given as Multiboot modules, each in a VM of its own: its own RAM behind
 * an EPT, its own VMCS, a virtual serial port and an MMIO device. There
 * is no host operating system: every VM exit comes straight here.
 *
 *   type1.c    start-up, the guests' creation, the scheduler, the summary
 *   guest.c    creating a guest from its module; stopping it
 *   exits.c    what type1 does at each exit (the common ones: hvlib)
 *
 * What type1 shares with the hosted hypervisor type2 is in guests/hvlib:
 * the VMCS and EPT of a Multiboot guest, the guest's registers and
 * memory, the exits both handle alike, the MMIO decoder, the local APIC,
 * and the devices (which type2 runs in user space). */
#ifndef TYPE1_H
#define TYPE1_H

#include <stdbool.h>
#include <stdint.h>

#include "hvlib/devices.h"
#include "hvlib/module.h"
#include "hvlib/vm.h"
#include "lib/multiboot.h"

#define MAX_GUESTS 4

enum guest_state {
	GUEST_RUNNABLE,
	GUEST_WAITING,         /* in HLT until its APIC timer fires */
	GUEST_EXITED,          /* wrote to isa-debug-exit: status holds the value */
	GUEST_HALTED,          /* HLT with nothing that could wake it */
	GUEST_FAILED,          /* stopped by the hypervisor: vm.why says why */
};

struct guest {
	struct vm vm;          /* first: the VMX side (hvlib/vm.h) */
	char name[VM_NAME_SIZE];  /* from its module's file name */
	enum guest_state state;
	struct hv_devices dev; /* COM1, isa-debug-exit, the MMIO device */
	uint64_t handling, handled;  /* TSC from exits to entries, and how many */
};

extern struct guest guests[MAX_GUESTS];
extern unsigned nguests;
extern uint64_t host_ticks;    /* the hypervisor's own timer interrupts */

/* guest.c */
const char *guest_create(struct guest *g, unsigned id, uint8_t *ram,
			 const struct multiboot_module *mods, unsigned count, unsigned level);
void guest_stop(struct guest *g, enum guest_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* exits.c */
enum vm_next handle_exit(struct guest *g);

#endif
