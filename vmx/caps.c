/* The VMX capability MSRs (SDM vol. 3C, appendix A). They describe exactly
 * what the model implements: a control it does not implement reads as
 * "must be 0" (or, for a default1 bit, "must be 1"), so a hypervisor that
 * reads them first never asks for a setting nestlab would ignore. The
 * *_MAY1 sets below are the controls nestlab implements; each names the
 * file that does. */
#include "emu/cpu.h"
#include "emu/sysreg.h"
#include "vmx/controls.h"
#include "vmx/vmexit.h"
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
#define MSR_VMX_PROCBASED_CTLS2  0x48b
#define MSR_VMX_EPT_VPID_CAP     0x48c
#define MSR_VMX_TRUE_PINBASED    0x48d
#define MSR_VMX_TRUE_PROCBASED   0x48e
#define MSR_VMX_TRUE_EXIT        0x48f
#define MSR_VMX_TRUE_ENTRY       0x490

/* The default1 classes of each control (appendix A.2-A.5). */
#define PIN_DEFAULT1   0x00000016u
#define PROC_DEFAULT1  0x0401e172u
#define EXIT_DEFAULT1  0x00036dffu
#define ENTRY_DEFAULT1 0x000011ffu

/* The default1 bits that the TRUE_* MSRs let software clear: CR3-load and
 * CR3-store exiting, "save debug controls", "load debug controls" (A.3.2,
 * A.4, A.5). nestlab implements both settings of each. */
#define PROC_TRUE_DEFAULT1  (PROC_DEFAULT1 & ~(PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING))
#define EXIT_TRUE_DEFAULT1  (EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG_CONTROLS)
#define ENTRY_TRUE_DEFAULT1 (ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG_CONTROLS)

/* What may be 1. vmx/exits.c: the exiting controls and TSC offsetting;
 * vmx/exit.c: the exit controls; vmx/launch.c: the entry controls. */
#define PIN_MAY1   (PIN_DEFAULT1 | PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS | \
		    PIN_PREEMPTION_TIMER)
#define PROC_MAY1  (PROC_DEFAULT1 | PROC_INTR_WINDOW_EXITING | PROC_USE_TSC_OFFSETTING | \
		    PROC_HLT_EXITING | PROC_INVLPG_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | \
		    PROC_RDPMC_EXITING | PROC_RDTSC_EXITING | \
		    PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_USE_TPR_SHADOW | \
		    PROC_MOV_DR_EXITING | \
		    PROC_UNCOND_IO_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | \
		    PROC_NMI_WINDOW_EXITING | PROC_MONITOR_TRAP_FLAG | PROC_PAUSE_EXITING | \
		    PROC_SECONDARY_CONTROLS)
#define PROC2_MAY1 (PROC2_ENABLE_EPT | PROC2_DESC_TABLE_EXITING | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_VPID | \
		    PROC2_WBINVD_EXITING | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_INVPCID | \
		    PROC2_VMCS_SHADOWING | PROC2_PAUSE_LOOP_EXITING)

/* IA32_VMX_EPT_VPID_CAP (A.10), vmx/ept.c and vmx/tlbctx.c: execute-only
 * entries (0), 4-level walks (6), UC (8) and WB (14) EPTP memory types,
 * 2 MiB (16) and 1 GiB (17) pages, INVEPT (20), accessed and dirty flags
 * (21), single-context (25) and all-context (26) INVEPT; INVVPID (32) of
 * all four types (40-43). */
#define EPT_VPID_CAP ((1ull << 0) | (1ull << 6) | (1ull << 8) | (1ull << 14) | \
		      (1ull << 16) | (1ull << 17) | (1ull << 20) | (1ull << 21) | \
		      (1ull << 25) | (1ull << 26) | (1ull << 32) | (1ull << 40) | \
		      (1ull << 41) | (1ull << 42) | (1ull << 43))
#define EXIT_MAY1  (EXIT_DEFAULT1 | EXIT_HOST_ADDR_SPACE | EXIT_ACK_INTR_ON_EXIT | \
		    EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER | \
		    EXIT_SAVE_PREEMPT_TIMER)
#define ENTRY_MAY1 (ENTRY_DEFAULT1 | ENTRY_IA32E_MODE | ENTRY_LOAD_PAT | ENTRY_LOAD_EFER)

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
		 * instruction information on INS/OUTS exits (bit 54), and
		 * the TRUE_* MSRs exist (bit 55) */
		*v = VMCS_REVISION | (4096ull << 32) | (6ull << 50) | (1ull << 54) | (1ull << 55);
		return true;
	case MSR_VMX_PINBASED_CTLS: case MSR_VMX_TRUE_PINBASED:
		*v = ctls(PIN_DEFAULT1, PIN_MAY1);
		return true;
	case MSR_VMX_PROCBASED_CTLS: *v = ctls(PROC_DEFAULT1, PROC_MAY1); return true;
	case MSR_VMX_TRUE_PROCBASED: *v = ctls(PROC_TRUE_DEFAULT1, PROC_MAY1); return true;
	case MSR_VMX_PROCBASED_CTLS2: *v = ctls(0, PROC2_MAY1); return true;
	case MSR_VMX_EPT_VPID_CAP:   *v = EPT_VPID_CAP; return true;
	case MSR_VMX_EXIT_CTLS:      *v = ctls(EXIT_DEFAULT1, EXIT_MAY1); return true;
	case MSR_VMX_TRUE_EXIT:      *v = ctls(EXIT_TRUE_DEFAULT1, EXIT_MAY1); return true;
	case MSR_VMX_ENTRY_CTLS:     *v = ctls(ENTRY_DEFAULT1, ENTRY_MAY1); return true;
	case MSR_VMX_TRUE_ENTRY:     *v = ctls(ENTRY_TRUE_DEFAULT1, ENTRY_MAY1); return true;
	case MSR_VMX_MISC:
		/* bits 4:0: the preemption timer's rate; bit 5: exits store
		 * EFER.LMA in "IA-32e mode guest"; bits 6 and 8: the HLT and
		 * wait-for-SIPI activity states (not shutdown); bits 24:16: four CR3-target values; bit 29: VMWRITE
		 * to any field (vmx/vmxinsn.c). */
		*v = VMX_PREEMPT_RATE | (1u << 5) | (1u << 6) | (1u << 8) | (4u << 16) |
		     ((uint64_t)VMX_WRITE_ANY_FIELD << 29);
		return true;
	case MSR_VMX_CR0_FIXED0: *v = VMX_CR0_FIXED0; return true;
	/* As Intel processors report it: every bit of CR0[31:0] may be 1.
	 * The reserved ones are ignored when written (SDM vol. 3A, 2.5), so
	 * allowing them costs nothing, and software that tests VMXON with
	 * each forbidden bit (kvm-unit-tests) sees what hardware shows. */
	case MSR_VMX_CR0_FIXED1: *v = VMX_CR0_FIXED1; return true;
	case MSR_VMX_CR4_FIXED0: *v = VMX_CR4_FIXED0; return true;
	case MSR_VMX_CR4_FIXED1: *v = CR4_SUPPORTED | CR4_VMXE; return true;
	case MSR_VMX_VMCS_ENUM:  *v = highest_index(); return true;
	default:
		/* VMFUNC exists only when "enable VM functions" may be 1. */
		return false;
	}
}
