/* The VMX capability MSRs (SDM vol. 3C, appendix A). They describe exactly
 * what the model implements: a control it does not implement reads as
 * "must be 0" (or, for a default1 bit, "must be 1"), so a hypervisor that
 * reads them first never asks for a setting nestlab would ignore. So far
 * no optional control exists: only the default1 bits are allowed. */
#include "emu/cpu.h"
#include "emu/sysreg.h"
#include "vmx/vmx.h"

#define MSR_VMX_BASIC            0x480
#define MSR_VMX_PINBASED_CTLS    0x481
#define MSR_VMX_PROCBASED_CTLS   0x482
#define MSR_VMX_EXIT_CTLS        0x483
#define MSR_VMX_ENTRY_CTLS       0x484
#define MSR_VMX_MISC             0x485
#define MSR_VMX_CR0_FIXED0       0x486
#define MSR_VMX_CR0_FIXED1       0x487
#define MSR_VMX_CR4_FIXED0       0x488
#define MSR_VMX_CR4_FIXED1       0x489
#define MSR_VMX_VMCS_ENUM        0x48a
#define MSR_VMX_TRUE_PINBASED    0x48d
#define MSR_VMX_TRUE_PROCBASED   0x48e
#define MSR_VMX_TRUE_EXIT        0x48f
#define MSR_VMX_TRUE_ENTRY       0x490

/* The default1 classes of each control (appendix A.2-A.5). */
#define PIN_DEFAULT1   0x00000016u
#define PROC_DEFAULT1  0x0401e172u
#define EXIT_DEFAULT1  0x00036dffu
#define ENTRY_DEFAULT1 0x000011ffu

/* allowed-0 settings in bits 31:0 (a 1 there must be 1), allowed-1
 * settings in bits 63:32 (a 0 there must be 0). */
static uint64_t ctls(uint32_t must1, uint32_t may1)
{
	return ((uint64_t)may1 << 32) | must1;
}


/* The highest index in any field encoding (bits 9:1), for VMCS_ENUM. */
static uint64_t highest_index(void)
{
	unsigned max = 0;
	for (int k = 0; k < VMCS_NFIELDS; k++) {
		unsigned idx = (vmcs_fields[k].encoding >> 1) & 0x1ff;
		if (idx > max)
			max = idx;
	}
	return (uint64_t)max << 1;
}

bool vmx_msr_read(struct cpu *c, uint32_t msr, uint64_t *v)
{
	if (!c->vmx.available)
		return false;
	switch (msr) {
	case MSR_VMX_BASIC:
		/* revision, 4 KiB regions, write-back (6) VMCS memory type,
		 * and the TRUE_* MSRs exist (bit 55) */
		*v = VMCS_REVISION | (4096ull << 32) | (6ull << 50) | (1ull << 55);
		return true;
	case MSR_VMX_PINBASED_CTLS: case MSR_VMX_TRUE_PINBASED:
		*v = ctls(PIN_DEFAULT1, PIN_DEFAULT1);
		return true;
	case MSR_VMX_PROCBASED_CTLS: case MSR_VMX_TRUE_PROCBASED:
		*v = ctls(PROC_DEFAULT1, PROC_DEFAULT1);
		return true;
	case MSR_VMX_EXIT_CTLS: case MSR_VMX_TRUE_EXIT:
		*v = ctls(EXIT_DEFAULT1, EXIT_DEFAULT1);
		return true;
	case MSR_VMX_ENTRY_CTLS: case MSR_VMX_TRUE_ENTRY:
		*v = ctls(ENTRY_DEFAULT1, ENTRY_DEFAULT1);
		return true;
	case MSR_VMX_MISC:
		*v = 0; /* no preemption timer, no activity states, no CR3 targets yet */
		return true;
	case MSR_VMX_CR0_FIXED0: *v = VMX_CR0_FIXED0; return true;
	case MSR_VMX_CR0_FIXED1: *v = CR0_WRITABLE | CR0_ET; return true;
	case MSR_VMX_CR4_FIXED0: *v = VMX_CR4_FIXED0; return true;
	case MSR_VMX_CR4_FIXED1: *v = CR4_SUPPORTED | CR4_VMXE; return true;
	case MSR_VMX_VMCS_ENUM:  *v = highest_index(); return true;
	default:
		/* PROCBASED_CTLS2, EPT_VPID_CAP and VMFUNC exist only when the
		 * controls that need them may be 1; none may yet. */
		return false;
	}
}
