/* The guest-state checks of VM entry (vmx/entry_guest.c); the rows that
 * order them are in vmx/entry.c. */
#ifndef VMX_ENTRY_GUEST_H
#define VMX_ENTRY_GUEST_H

#include "emu/cpu.h"

bool guest_cr0_ok(struct cpu *c);
bool guest_cr4_ok(struct cpu *c);
bool guest_debug_ok(struct cpu *c);
bool guest_ia32e_ok(struct cpu *c);
bool guest_cr3_ok(struct cpu *c);
bool guest_sysenter_ok(struct cpu *c);
bool guest_pat_ok(struct cpu *c);
bool guest_efer_ok(struct cpu *c);
bool guest_selectors_ok(struct cpu *c);
bool guest_bases_ok(struct cpu *c);
bool guest_cs_ok(struct cpu *c);
bool guest_ss_ok(struct cpu *c);
bool guest_data_segments_ok(struct cpu *c);
bool guest_tr_ok(struct cpu *c);
bool guest_ldtr_ok(struct cpu *c);
bool guest_dtr_ok(struct cpu *c);
bool guest_rip_ok(struct cpu *c);
bool guest_rflags_ok(struct cpu *c);
bool guest_activity_ok(struct cpu *c);
bool guest_interruptibility_ok(struct cpu *c);
bool guest_pending_debug_ok(struct cpu *c);
bool guest_link_ok(struct cpu *c);
bool guest_pdptes_ok(struct cpu *c);

#endif
