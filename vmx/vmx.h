/* The VT-x model's state and its interface to the machine (emu/ asks
 * vmx/ its questions only through this header). */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx/vmcs.h"

struct cpu;
struct insn;
struct entry_check;

enum vm_insn_error {
#define VMERR(name, num, text) VMERR_##name = num,
#include "vmx/vminsn_errors.def"
#undef VMERR
};

/* The SDM's text for a VM-instruction error number, or NULL. */
const char *vmx_error_text(unsigned num);

/* Basic exit reasons are below this (appendix C). */
#define VMX_EXIT_REASONS 80

/* The revision identifier of nestlab's VMCS format (IA32_VMX_BASIC[30:0]). */
#define VMCS_REVISION 0x4e4c0001u
#define VMCS_INVALID_PTR (~0ull)

/* IA32_VMX_MISC bit 29: VMWRITE may write the read-only fields. */
#define VMX_WRITE_ANY_FIELD 1

/* The VMX state of one logical processor (SDM vol. 3C, 23.2-23.8). */
struct vmx_state {
	bool available;          /* the model is switched on: CPUID.1:ECX.VMX, the
	                            capability MSRs and the VMX instructions */
	bool on;                 /* in VMX operation: VMXON done, no VMXOFF yet */
	bool nonroot;            /* in VMX non-root operation */
	uint64_t vmxon_ptr;      /* the VMXON region */
	uint64_t vmcs_ptr;       /* the current-VMCS pointer, VMCS_INVALID_PTR if none */
	uint64_t field[VMCS_NFIELDS]; /* the current VMCS, cached (24.11.1):
	                            written back to its region by VMCLEAR or
	                            when another VMCS is made current */
	uint8_t launch;          /* its launch state: VMCS_CLEAR or VMCS_LAUNCHED */
	bool current_is_shadow;  /* its shadow-VMCS indicator (revision bit 31) */
	uint32_t abort;          /* the VMX-abort indicator, if a VM exit aborted (27.7) */
	uint64_t entries, exits; /* VM entries and exits, for --stats */
	struct {                 /* VM entries that failed, and the last one's why */
		uint64_t count;
		uint64_t rip;            /* of its VMLAUNCH/VMRESUME */
		const struct entry_check *check; /* the row that failed, or NULL */
		uint8_t error;           /* its VM-instruction error (0: none) */
		uint32_t reason;         /* its exit reason (33, 34), or 0 */
	} failed;
	uint64_t exits_by_reason[VMX_EXIT_REASONS]; /* by basic exit reason */
	struct {                 /* the TLB's VMX contexts 1-15 (vmx/tlbctx.c) */
		bool used;
		uint16_t vpid;
		uint64_t ep4ta;  /* the EPT PML4 address, 0 without EPT */
	} vctx[16];
	uint8_t vctx_next;       /* the next context to reuse */
	bool preempt_expired;    /* the VMX-preemption timer reached 0 */
	bool mtf;                /* "monitor trap flag" is on in this guest ... */
	uint64_t mtf_after;      /* ... and exits once icount passes this */
	bool ept_active;         /* in a guest with "enable EPT" */
	bool injecting;          /* VM entry is injecting an event (26.5) */
	uint64_t preempt_deadline; /* virtual time the preemption timer expires */
	struct {                 /* the VMX instruction executing, for its event */
		const char *name;
		bool has_addr;
		uint64_t addr;
		int field;               /* -1: none */
		uint64_t value;
	} insn;
	bool ple_seen;           /* PAUSE-loop exiting: a PAUSE at CPL 0 since the
	                            last VM entry, ... */
	uint64_t ple_last;       /* ... the time of the last one ... */
	uint64_t ple_first;      /* ... and of the first of its loop (vmx/exits.c) */
};

#define VMCS_CLEAR    0
#define VMCS_LAUNCHED 1

/* Where nestlab keeps a VMCS's launch state in its region (after the fields). */
#define VMCS_LAUNCH_OFFSET (vmcs_field_offset(VMCS_NFIELDS))

void vmx_reset(struct cpu *c);

/* Give the VMX-preemption timer its callback (a snapshot loaded into a
 * machine that never armed it). */
void vmx_preempt_bind(struct cpu *c);

/* The capability MSRs (0x480-0x491); false: #GP (model off, or no such MSR). */
bool vmx_msr_read(struct cpu *c, uint32_t msr, uint64_t *v);

/* The SDM's name of a basic exit reason (appendix C). */
const char *vmx_exit_reason_name(unsigned reason);

/* Load the MSRs of an MSR-load area; 0, or the 1-based failing entry. */
uint64_t vmx_load_msrs(struct cpu *c, uint64_t area, uint64_t count);

/* --- VMX non-root operation: where guest events meet the VMCS
 * (vmx/exits.c). emu/ calls these only when cpu->vmx.nonroot is set,
 * where the SDM places the exit: after the exceptions that take priority
 * (25.1.1). Each returns when the VMCS asks for no exit; otherwise it
 * performs the VM exit and does not return. --- */
void vmexit_on_cpuid(struct cpu *c);
void vmexit_on_invd(struct cpu *c);
void vmexit_on_xsetbv(struct cpu *c);
void vmexit_on_vmx_insn(struct cpu *c, const struct insn *i, unsigned reason);
void vmexit_on_hlt(struct cpu *c);
void vmexit_on_invlpg(struct cpu *c, uint64_t lin);
void vmexit_on_invpcid(struct cpu *c, const struct insn *i);
void vmexit_on_wbinvd(struct cpu *c);
void vmexit_on_rdtsc(struct cpu *c, bool rdtscp);
uint64_t vmx_tsc_offset(const struct cpu *c);
void vmexit_on_pause(struct cpu *c);
void vmexit_on_monitor(struct cpu *c);
void vmexit_on_mwait(struct cpu *c);
bool vmx_mwait_passes(const struct cpu *c);
bool vmx_mtf_due(const struct cpu *c);
void vmexit_on_mov_to_cr(struct cpu *c, unsigned cr, unsigned gpr, uint64_t *v);
void vmexit_on_mov_from_cr(struct cpu *c, unsigned cr, unsigned gpr, uint64_t *v);
bool vmexit_on_clts(struct cpu *c);
bool vmx_cr8_shadow_write(struct cpu *c, uint64_t v);
void vmexit_on_lmsw(struct cpu *c, const struct insn *i, uint64_t *src);
void vmexit_on_mov_dr(struct cpu *c, unsigned dr, unsigned gpr, bool from);
void vmexit_on_desc_table(struct cpu *c, const struct insn *i, bool ldtr_tr, unsigned which);
void vmexit_on_task_switch(struct cpu *c, uint16_t sel, unsigned source);
void vmexit_on_rdpmc(struct cpu *c);
void vmexit_on_io(struct cpu *c, const struct insn *i, uint16_t port, unsigned bytes, bool in);
void vmexit_on_msr(struct cpu *c, uint32_t msr, bool write);
void vmexit_on_exception(struct cpu *c, unsigned vector, int kind, bool has_err, uint32_t err);
void vmexit_on_triple_fault(struct cpu *c);
bool vmexit_on_interrupt(struct cpu *c);
void vmexit_on_init(struct cpu *c);
bool vmx_wakeup_possible(struct cpu *c);

/* EPT (vmx/ept.c). In a guest with EPT (cpu->vmx.ept_active) every
 * guest-physical address is translated: for the final access of a linear
 * address (EPT_FINAL), for an entry of the guest's page walk
 * (EPT_WALK_ENTRY), or without a linear address (EPT_NO_LINEAR: PDPTEs).
 * A violation or misconfiguration is a VM exit. *rights (if given) gets
 * the R/W/X the EPT entries grant. vmx_ept_peek translates for reading
 * without side effects or exits (the debugger). */
enum { EPT_FINAL, EPT_WALK_ENTRY, EPT_NO_LINEAR };
uint64_t vmx_ept_translate(struct cpu *c, uint64_t gpa, int kind, uint64_t lin,
			   unsigned how, unsigned *rights);
bool vmx_ept_peek(struct cpu *c, uint64_t gpa, uint64_t *hpa);
bool vmx_eptp_ok(uint64_t eptp);

/* CR0 bits that must be 1 in the current VMX operation: PE and PG are
 * free in an unrestricted guest (23.8, 26.3.1.1). */
uint64_t vmx_cr0_fixed0(const struct cpu *c);

/* CR0/CR4 bits that must be 1 (fixed0) and may be 1 (fixed1) in VMX
 * operation (appendix A.7, A.8). */
#define VMX_CR0_FIXED0 0x80000021ull  /* PE, NE, PG */
#define VMX_CR0_FIXED1 0xffffffffull  /* bits 63:32 must be 0 */
#define VMX_CR4_FIXED0 0x00002000ull  /* VMXE */

#endif
