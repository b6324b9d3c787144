/* What nested offers of VT-x to type1: the capability MSRs (SDM vol. 3C,
 * appendix A), read from the processor (L0) and narrowed to what nested
 * emulates. A control nested cannot carry into VMCS02 reads as "must be
 * 0", so type1 never sets it and has it ignored. And the checks a VM
 * entry makes of VMCS12 that nested must make itself, because VMCS02 is
 * not VMCS12: its controls (26.2.1) and its host state (26.2.2-26.2.4).
 * The guest state is copied into VMCS02 as it is, and L0 checks it. */
#include "lib/printf.h"
#include "lib/x86.h"
#include "nested/nested.h"

/* The controls nested carries from VMCS12 into VMCS02 (24.6-24.8). Most
 * are copied: they make L3 exit, and every L3 exit nested does not need
 * itself goes to type1. Left out: the ones that hold an address nested
 * would have to translate or a page it would have to emulate (TPR
 * shadow, I/O bitmaps, APIC virtualization, posted interrupts, PML, VM
 * functions, VMCS shadowing, #VE) and TSC scaling. */
#define PIN_OFFERED  (PIN_BASED_EXT_INTR_EXITING | PIN_BASED_NMI_EXITING | \
		      PIN_BASED_VIRTUAL_NMIS | PIN_BASED_PREEMPTION_TIMER)
#define PROC_OFFERED (CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_USE_TSC_OFFSETTING |        \
		      CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING |                    \
		      CPU_BASED_MWAIT_EXITING | CPU_BASED_RDPMC_EXITING |                   \
		      CPU_BASED_RDTSC_EXITING | CPU_BASED_CR3_LOAD_EXITING |                \
		      CPU_BASED_CR3_STORE_EXITING | CPU_BASED_CR8_LOAD_EXITING |            \
		      CPU_BASED_CR8_STORE_EXITING | CPU_BASED_NMI_WINDOW_EXITING |          \
		      CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |              \
		      CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_USE_MSR_BITMAPS |             \
		      CPU_BASED_MONITOR_EXITING | CPU_BASED_PAUSE_EXITING |                 \
		      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
#define PROC2_OFFERED (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_DESC_TABLE_EXITING |     \
		       SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_ENABLE_VPID |          \
		       SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_UNRESTRICTED_GUEST |  \
		       SECONDARY_EXEC_PAUSE_LOOP_EXITING | SECONDARY_EXEC_ENABLE_INVPCID)
#define EXIT_OFFERED (VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_HOST_ADDR_SPACE_SIZE |          \
		      VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_SAVE_IA32_PAT |                    \
		      VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_EFER |                      \
		      VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_PREEMPTION_TIMER)
#define ENTRY_OFFERED (VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_IA32E_MODE |               \
		       VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER)

/* IA32_VMX_MISC (A.6) without: Intel PT in VMX (14), RDMSR of SMBASE
 * (15), VMXOFF unblocking SMIs (28), VMWRITE to exit information (29). */
#define MISC_WITHHELD ((1ull << 14) | (1ull << 15) | (1ull << 28) | (1ull << 29))
/* IA32_VMX_EPT_VPID_CAP (A.10): execute-only entries (0), 4-level walks
 * (6), the write-back type (14), 2 MiB and 1 GiB pages (16, 17), INVEPT
 * (20) single-context and all-context (25, 26), INVVPID (32) of the four
 * types (40-43). Not UC, nor the accessed and dirty flags: the shadow
 * EPT would have to set them in EPT12. */
#define EPT_VPID_OFFERED ((1ull << 0) | (1ull << 6) | (1ull << 14) | (1ull << 16) |        \
			  (1ull << 17) | (1ull << 20) | (1ull << 25) | (1ull << 26) |      \
			  (1ull << 32) | (0xfull << 40))
/* IA32_VMX_BASIC (A.1) without the dual-monitor treatment of SMM (49). */
#define BASIC_WITHHELD (VMX_BASIC_REVISION_MASK | (1ull << 49))

#define NMSRS (MSR_IA32_VMX_VMFUNC - MSR_IA32_VMX_BASIC + 1)
static uint64_t offered[NMSRS];   /* by msr - IA32_VMX_BASIC */
static bool exists[NMSRS];

/* Allowed settings of a set of controls (A.3): what must be 1 stays so;
 * what may be 1 is narrowed to what nested offers. */
static uint64_t narrow(uint32_t msr, uint32_t offer)
{
	uint64_t v = rdmsr(msr);
	uint32_t must1 = (uint32_t)v, may1 = (uint32_t)(v >> 32);
	return ((uint64_t)(may1 & (offer | must1)) << 32) | must1;
}

static void offer(uint32_t msr, uint64_t v)
{
	offered[msr - MSR_IA32_VMX_BASIC] = v;
	exists[msr - MSR_IA32_VMX_BASIC] = true;
}

void caps_init(void)
{
	offer(MSR_IA32_VMX_BASIC,
	      (rdmsr(MSR_IA32_VMX_BASIC) & ~BASIC_WITHHELD) | VMCS12_REVISION);
	offer(MSR_IA32_VMX_PINBASED_CTLS, narrow(MSR_IA32_VMX_PINBASED_CTLS, PIN_OFFERED));
	offer(MSR_IA32_VMX_PROCBASED_CTLS, narrow(MSR_IA32_VMX_PROCBASED_CTLS, PROC_OFFERED));
	offer(MSR_IA32_VMX_EXIT_CTLS, narrow(MSR_IA32_VMX_EXIT_CTLS, EXIT_OFFERED));
	offer(MSR_IA32_VMX_ENTRY_CTLS, narrow(MSR_IA32_VMX_ENTRY_CTLS, ENTRY_OFFERED));
	offer(MSR_IA32_VMX_MISC, rdmsr(MSR_IA32_VMX_MISC) & ~MISC_WITHHELD);
	for (uint32_t m = MSR_IA32_VMX_CR0_FIXED0; m <= MSR_IA32_VMX_VMCS_ENUM; m++)
		offer(m, rdmsr(m));
	offer(MSR_IA32_VMX_PROCBASED_CTLS2, narrow(MSR_IA32_VMX_PROCBASED_CTLS2, PROC2_OFFERED));
	offer(MSR_IA32_VMX_EPT_VPID_CAP, rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & EPT_VPID_OFFERED);
	if (rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS) {
		offer(MSR_IA32_VMX_TRUE_PINBASED_CTLS,
		      narrow(MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_OFFERED));
		offer(MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		      narrow(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_OFFERED));
		offer(MSR_IA32_VMX_TRUE_EXIT_CTLS, narrow(MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_OFFERED));
		offer(MSR_IA32_VMX_TRUE_ENTRY_CTLS,
		      narrow(MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_OFFERED));
	}
	/* No VM functions: IA32_VMX_VMFUNC does not exist (A.11). */
}

/* RDMSR of a capability MSR: false if there is no such MSR (#GP). */
bool caps_rdmsr(uint32_t msr, uint64_t *v)
{
	if (msr < MSR_IA32_VMX_BASIC || msr > MSR_IA32_VMX_VMFUNC ||
	    !exists[msr - MSR_IA32_VMX_BASIC])
		return false;
	*v = offered[msr - MSR_IA32_VMX_BASIC];
	return true;
}

static uint64_t cap(uint32_t msr)
{
	return offered[msr - MSR_IA32_VMX_BASIC];
}

/* The capability MSR that decides a set of controls: the TRUE_ one
 * where it exists (A.2). */
static uint64_t ctls_cap(uint32_t plain, uint32_t true_msr)
{
	return (cap(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS) ? cap(true_msr) : cap(plain);
}

static bool allowed(uint64_t value, uint64_t capability)
{
	uint32_t must1 = (uint32_t)capability, may1 = (uint32_t)(capability >> 32);
	return (value & must1) == must1 && !(value & ~(uint64_t)may1);
}

/* An address of type1's with len bytes that must lie in its RAM. */
static bool in_l2_ram(uint64_t gpa, uint64_t len)
{
	return l2_host_ptr(gpa, len) != 0;
}

/* The EPTP (24.6.11): write-back, a 4-level walk, no accessed/dirty
 * flags, reserved bits 11:7 clear, the PML4 in type1's RAM. */
static bool eptp_ok(uint64_t eptp)
{
	return (eptp & 7) == 6 && ((eptp >> 3) & 7) == 3 && !(eptp & 0xfc0) &&
	       in_l2_ram(eptp & EPT_ADDR, 4096);
}

/* 26.2.1: the checks of the VM-execution, exit and entry controls that
 * VMCS02 would not repeat for VMCS12. */
bool caps_controls_ok(const struct vmcs12 *v)
{
	const uint64_t *f = v->field;
	uint64_t proc = f[V12_CPU_BASED_VM_EXEC_CONTROL], pin = f[V12_PIN_BASED_VM_EXEC_CONTROL];
	uint64_t proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ?
			 f[V12_SECONDARY_VM_EXEC_CONTROL] : 0;
	if (!allowed(pin, ctls_cap(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS)) ||
	    !allowed(proc, ctls_cap(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)) ||
	    !allowed(proc2, cap(MSR_IA32_VMX_PROCBASED_CTLS2)) ||
	    !allowed(f[V12_VM_EXIT_CONTROLS],
		     ctls_cap(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS)) ||
	    !allowed(f[V12_VM_ENTRY_CONTROLS],
		     ctls_cap(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS)))
		return false;
	if (f[V12_CR3_TARGET_COUNT] > VMX_MISC_CR3_TARGETS(cap(MSR_IA32_VMX_MISC)))
		return false;
	if ((proc & CPU_BASED_USE_MSR_BITMAPS) &&
	    ((f[V12_MSR_BITMAP] & 0xfff) || !in_l2_ram(f[V12_MSR_BITMAP], 4096)))
		return false;
	/* The MSR areas: 16-byte aligned, in type1's RAM (26.2.1.2, 26.2.1.3). */
	static const int areas[3][2] = {
		{ V12_VM_EXIT_MSR_STORE_ADDR, V12_VM_EXIT_MSR_STORE_COUNT },
		{ V12_VM_EXIT_MSR_LOAD_ADDR, V12_VM_EXIT_MSR_LOAD_COUNT },
		{ V12_VM_ENTRY_MSR_LOAD_ADDR, V12_VM_ENTRY_MSR_LOAD_COUNT },
	};
	for (int k = 0; k < 3; k++)
		if (f[areas[k][1]] && ((f[areas[k][0]] & 15) ||
				       !in_l2_ram(f[areas[k][0]], f[areas[k][1]] * 16)))
			return false;
	if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) && !eptp_ok(f[V12_EPT_POINTER]))
		return false;
	/* VPID 0 is the host's; nested gives type1's VPID n the VPID n + 1. */
	if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
	    (f[V12_VIRTUAL_PROCESSOR_ID] == 0 || f[V12_VIRTUAL_PROCESSOR_ID] == 0xffff))
		return false;
	if ((proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && !(proc2 & SECONDARY_EXEC_ENABLE_EPT))
		return false;
	if ((f[V12_VM_EXIT_CONTROLS] & VM_EXIT_SAVE_PREEMPTION_TIMER) &&
	    !(pin & PIN_BASED_PREEMPTION_TIMER))
		return false;
	return true;
}

static bool fixed_ok(uint64_t v, uint32_t fixed0, uint32_t fixed1)
{
	return (v & cap(fixed0)) == cap(fixed0) && !(v & ~cap(fixed1));
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* 26.2.2-26.2.4, the host state type1 will get back at each exit. type1
 * runs in IA-32e mode, so the host must be 64-bit too (26.2.4). */
bool caps_host_state_ok(const struct vmcs12 *v)
{
	const uint64_t *f = v->field;
	uint64_t exit = f[V12_VM_EXIT_CONTROLS];
	if (!fixed_ok(f[V12_HOST_CR0], MSR_IA32_VMX_CR0_FIXED0, MSR_IA32_VMX_CR0_FIXED1) ||
	    !fixed_ok(f[V12_HOST_CR4], MSR_IA32_VMX_CR4_FIXED0, MSR_IA32_VMX_CR4_FIXED1) ||
	    !(exit & VM_EXIT_HOST_ADDR_SPACE_SIZE) || !(f[V12_HOST_CR4] & CR4_PAE) ||
	    !canonical(f[V12_HOST_RIP]))
		return false;
	for (int s = V12_HOST_ES_SELECTOR; s <= V12_HOST_TR_SELECTOR; s++)
		if (f[s] & 7)
			return false;          /* RPL and TI must be 0 */
	if (!f[V12_HOST_CS_SELECTOR] || !f[V12_HOST_TR_SELECTOR])
		return false;
	static const int bases[] = { V12_HOST_FS_BASE, V12_HOST_GS_BASE, V12_HOST_TR_BASE,
				     V12_HOST_GDTR_BASE, V12_HOST_IDTR_BASE };
	for (unsigned k = 0; k < sizeof bases / sizeof bases[0]; k++)
		if (!canonical(f[bases[k]]))
			return false;
	uint64_t efer = f[V12_HOST_IA32_EFER];
	if ((exit & VM_EXIT_LOAD_IA32_EFER) &&
	    (!(efer & EFER_LMA) || !(efer & EFER_LME) || (efer & ~0xd01ull)))
		return false;
	return true;
}

bool caps_invept_type_ok(uint64_t type)
{
	return (type == 1 || type == 2) && (cap(MSR_IA32_VMX_EPT_VPID_CAP) >> (24 + type) & 1);
}

bool caps_invvpid_type_ok(uint64_t type)
{
	return type <= 3 && (cap(MSR_IA32_VMX_EPT_VPID_CAP) >> (40 + type) & 1);
}
