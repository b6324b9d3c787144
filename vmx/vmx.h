/* The VT-x model's state and its interface to the machine (emu/ asks
 * vmx/ its questions only through this header). */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx/vmcs.h"

struct cpu;
struct insn;

enum vm_insn_error {
#define VMERR(name, num, text) VMERR_##name = num,
#include "vmx/vminsn_errors.def"
#undef VMERR
};

/* The SDM's text for a VM-instruction error number, or NULL. */
const char *vmx_error_text(unsigned num);

/* The revision identifier of nestlab's VMCS format (IA32_VMX_BASIC[30:0]). */
#define VMCS_REVISION 0x4e4c0001u
#define VMCS_INVALID_PTR (~0ull)

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
};

#define VMCS_CLEAR    0
#define VMCS_LAUNCHED 1

/* Where nestlab keeps a VMCS's launch state in its region (after the fields). */
#define VMCS_LAUNCH_OFFSET (vmcs_field_offset(VMCS_NFIELDS))

void vmx_reset(struct cpu *c);

/* The capability MSRs (0x480-0x491); false: #GP (model off, or no such MSR). */
bool vmx_msr_read(struct cpu *c, uint32_t msr, uint64_t *v);

/* CR0/CR4 bits that must be 1 (fixed0) and may be 1 (fixed1) in VMX
 * operation (appendix A.7, A.8). */
#define VMX_CR0_FIXED0 0x80000021ull  /* PE, NE, PG */
#define VMX_CR4_FIXED0 0x00002000ull  /* VMXE */

#endif
