/* Inside the VT-x model: the one path every VM exit takes (vmx/exit.c),
 * used by the exit causes (vmx/exits.c) and by VM entry (vmx/launch.c). */
#ifndef VMX_VMEXIT_H
#define VMX_VMEXIT_H

#include "emu/cpu.h"
#include "emu/insn.h"
#include "vmx/controls.h"
#include "vmx/vmx.h"

enum exit_reason {
#define EXIT(name, num, text) EXIT_REASON_##name = num,
#include "vmx/exit_reasons.def"
#undef EXIT
};

#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* Fields as the model reads and writes them. */
#define VMF(c, name) ((c)->vmx.field[VMCS_##name])

/* What one VM exit records (SDM vol. 3C, 27.2). Fields left zero are
 * written as zero (their valid bits clear). */
struct exit_info {
	uint32_t reason;         /* basic reason, maybe | EXIT_REASON_ENTRY_FAILURE */
	uint64_t qual;           /* exit qualification */
	uint32_t intr_info;      /* VM-exit interruption information */
	uint32_t intr_error;     /* and its error code */
	uint32_t insn_info;      /* VM-exit instruction information */
	uint64_t guest_linear;   /* guest-linear address, for exits that have one */
	bool nmi_exit;           /* the exit is an NMI's: NMIs stay blocked */
	const char *check;       /* for an entry failure: the check that failed */
};

/* The VM exit: record the information, save the guest state (unless VM
 * entry failed), load the host state, and go on at HOST_RIP. The guest's
 * RIP is that of the instruction executing (cpu->cur), if any, else
 * cpu->rip. Does not return: it unwinds to the run loop. */
_Noreturn void vmexit(struct cpu *c, const struct exit_info *x);

/* The same for an exit with nothing but a reason and a qualification. */
_Noreturn void vmexit_simple(struct cpu *c, uint32_t reason, uint64_t qual);

/* The results of VMX instructions (30.2), and the checks they all make
 * first (#UD, the VM exit in non-root operation, #GP) (vmx/vmxinsn.c). */
void vm_succeed(struct cpu *c);
void vm_fail_invalid(struct cpu *c);
void vm_fail_valid(struct cpu *c, enum vm_insn_error e);
void vm_fail(struct cpu *c, enum vm_insn_error e);
void vmx_common_checks(struct cpu *c, const struct insn *i, unsigned reason);

/* Run the VMCS's VM-entry checks and enter the guest (vmx/launch.c). */
void vmx_enter(struct cpu *c, bool launch);

/* The VMX-preemption timer (vmx/preempt.c): it counts down once every
 * 2^VMX_PREEMPT_RATE TSC ticks (IA32_VMX_MISC[4:0]). */
#define VMX_PREEMPT_RATE 5
void vmx_preempt_start(struct cpu *c);
void vmx_preempt_stop(struct cpu *c);

/* The TLB's VMX contexts (vmx/tlbctx.c). */
unsigned vmx_tlb_context(struct cpu *c, uint16_t vpid, uint64_t ep4ta);
void vmx_tlb_switch(struct cpu *c, unsigned k, bool flush);

/* Whether a secondary processor-based control is in effect. */
static inline bool vmx_proc2(const struct cpu *c, uint32_t bit)
{
	return (VMF(c, CPU_BASED_VM_EXEC_CONTROL) & PROC_SECONDARY_CONTROLS) &&
	       (VMF(c, SECONDARY_VM_EXEC_CONTROL) & bit);
}

static inline bool vmx_proc(const struct cpu *c, uint32_t bit)
{
	return (VMF(c, CPU_BASED_VM_EXEC_CONTROL) & bit) != 0;
}

/* The VM-exit instruction-information field of a memory operand (table
 * 27-13 and its kin): scaling, address size, segment, index and base. */
uint32_t vmx_mem_insn_info(const struct insn *i);

#endif
