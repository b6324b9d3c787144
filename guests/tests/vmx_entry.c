/* The checks of VM entry (SDM vol. 3C, chapter 26), one rule at a time.
 *
 * Every row starts from a VMCS that enters (vmcs_init_guest64()), breaks
 * exactly one rule, and runs VMLAUNCH:
 *   - a VMX control that is wrong (26.2.1): VMfailValid, error 7;
 *   - a host-state field that is wrong (26.2.2-26.2.4): VMfailValid,
 *     error 8;
 *   - a guest-state field that is wrong (26.3.1): the entry fails after
 *     it started loading the guest, and comes back like a VM exit with
 *     exit reason 33 and bit 31 set, exit qualification 0 (4 for the VMCS
 *     link pointer) (26.7).
 * A few rows break nothing, to show that a rule is not stricter than the
 * SDM. The controls are checked before the host state, the host state
 * before the guest state (26.2, 26.3), which the last rows check;
 * guest-state checks are in no particular order, so each row breaks
 * only one. Every row runs, and the test fails at the end if any went
 * wrong, so that one run lists every rule the model gets wrong.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_entry";

enum want {
	ENTERS,         /* no rule broken: the guest runs */
	DELIVERS,       /* no rule broken: the injected event is delivered,
			 * through an IDT of limit 0 (inject()), so a triple
			 * fault: exit 2 */
	BAD_CONTROL,    /* VMfailValid(7) */
	BAD_HOST,       /* VMfailValid(8) */
	BAD_GUEST,      /* exit reason 33 | bit 31, qualification 0 */
	BAD_LINK,       /* exit reason 33 | bit 31, qualification 4 */
};

/* A change to one VMCS field. */
enum op { NONE, WRITE, SET, CLEAR };
struct edit {
	enum op op;
	uint32_t field;
	uint64_t value;     /* the value, or the bits to set or clear */
};
#define W(f, v) { WRITE, f, v }
#define S(f, v) { SET, f, v }
#define C(f, v) { CLEAR, f, v }

/* A row: the SDM section, the rule broken, the outcome; the field edits
 * that break it, after prepare() if there is one. prepare() does what
 * edits cannot (enable a control, compute an address) and returns false
 * when the CPU lacks what the row needs: the row is then skipped. */
struct row {
	const char *sdm;
	const char *what;
	enum want want;
	bool (*prepare)(void);
	struct edit edit[2];
};

static struct vcpu vcpu;
static uint8_t *spare_page;     /* a zeroed page for addresses the rows need */

static uint64_t guest_identity(uint64_t arg)
{
	return arg;
}

/* ---- helpers for prepare() ---- */

/* A control bit the CPU does not allow to be 1, or -1. */
static int forbidden_bit(enum vmx_ctls set)
{
	uint32_t may_be_1 = (uint32_t)(vmx_ctls_msr(set) >> 32);
	for (int b = 31; b >= 0; b--)
		if (!(may_be_1 & 1u << b))
			return b;
	return -1;
}

/* A control bit the CPU requires to be 1, or -1. */
static int required_bit(enum vmx_ctls set)
{
	uint32_t must_be_1 = (uint32_t)vmx_ctls_msr(set);
	for (int b = 0; b < 32; b++)
		if (must_be_1 & 1u << b)
			return b;
	return -1;
}

/* A CR4 bit IA32_VMX_CR4_FIXED1 reports as fixed to 0, or -1. */
static int cr4_fixed0_bit(void)
{
	uint64_t fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	for (int b = 31; b >= 0; b--)
		if (!(fixed1 & 1ull << b))
			return b;
	return -1;
}

static bool allowed1(enum vmx_ctls set, uint32_t bits)
{
	return vmx_ctl_allowed1(set, bits);
}

static bool enable_secondary(uint32_t bits)
{
	if (!allowed1(VMX_CTLS_PROC2, bits))
		return false;
	vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx_adjust_ctls(VMX_CTLS_PROC2, bits));
	return true;
}

static bool enable_proc(uint32_t bits)
{
	if (!allowed1(VMX_CTLS_PROC, bits))
		return false;
	vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, bits);
	return true;
}

static uint64_t beyond_phys(void)
{
	return 1ull << vmx_phys_addr_width();
}

static uint32_t misc_cr3_targets(void)
{
	return VMX_MISC_CR3_TARGETS(rdmsr(MSR_IA32_VMX_MISC));
}

/* Event injection (26.2.1.3). The guest's IDT limit is 0, so that an
 * event a wrong model would inject ends in a triple fault (a VM exit),
 * not in a handler of the runtime with a frame it does not expect. */
static void inject(uint32_t info, uint32_t error, uint32_t len)
{
	vmcs_write(GUEST_IDTR_LIMIT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info | INTR_INFO_VALID);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, len);
}

/* ---- prepare(): 26.2.1, VMX controls ---- */

static bool pin_reserved(void)
{
	int b = forbidden_bit(VMX_CTLS_PIN);
	if (b >= 0)
		vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, 1u << b);
	return b >= 0;
}

static bool proc_default1_clear(void)
{
	int b = required_bit(VMX_CTLS_PROC);
	if (b >= 0)
		vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, 1u << b);
	return b >= 0;
}

static bool proc2_reserved(void)
{
	int b = forbidden_bit(VMX_CTLS_PROC2);
	if (b < 0 || !enable_secondary(0))
		return false;
	vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, 1u << b);
	return true;
}

/* With "activate secondary controls" 0 the secondary controls count as 0
 * whatever the field holds (24.6.2). */
static bool proc2_ignored(void)
{
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	if (allowed1(VMX_CTLS_PROC, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		vmcs_write(SECONDARY_VM_EXEC_CONTROL, 0xffffffff);
	return vmx_ctl_allowed0(VMX_CTLS_PROC, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
}

static bool exit_default1_clear(void)
{
	int b = required_bit(VMX_CTLS_EXIT);
	if (b >= 0)
		vmcs_clear_bits(VM_EXIT_CONTROLS, 1u << b);
	return b >= 0;
}

static bool entry_reserved(void)
{
	int b = forbidden_bit(VMX_CTLS_ENTRY);
	if (b >= 0)
		vmcs_set_bits(VM_ENTRY_CONTROLS, 1u << b);
	return b >= 0;
}

static bool cr3_targets_max(void)
{
	vmcs_write(CR3_TARGET_COUNT, misc_cr3_targets());
	return true;
}

static bool cr3_targets_too_many(void)
{
	vmcs_write(CR3_TARGET_COUNT, misc_cr3_targets() + 1);
	return true;
}

static bool io_bitmap_a_misaligned(void)
{
	if (!enable_proc(CPU_BASED_USE_IO_BITMAPS))
		return false;
	vmcs_write(IO_BITMAP_A, (uintptr_t)spare_page + 0x800);
	vmcs_write(IO_BITMAP_B, (uintptr_t)spare_page);
	return true;
}

static bool io_bitmap_b_beyond(void)
{
	if (!enable_proc(CPU_BASED_USE_IO_BITMAPS))
		return false;
	vmcs_write(IO_BITMAP_A, (uintptr_t)spare_page);
	vmcs_write(IO_BITMAP_B, beyond_phys());
	return true;
}

static bool msr_bitmap_beyond(void)
{
	if (!enable_proc(CPU_BASED_USE_MSR_BITMAPS))
		return false;
	vmcs_write(MSR_BITMAP, beyond_phys());
	return true;
}

static bool virtual_nmis_without_nmi_exiting(void)
{
	if (!allowed1(VMX_CTLS_PIN, PIN_BASED_VIRTUAL_NMIS) ||
	    !vmx_ctl_allowed0(VMX_CTLS_PIN, PIN_BASED_NMI_EXITING))
		return false;
	vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VIRTUAL_NMIS);
	vmcs_clear_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_NMI_EXITING);
	return true;
}

static bool nmi_window_exiting(void)
{
	return enable_proc(CPU_BASED_NMI_WINDOW_EXITING);
}

static bool vpid(void)
{
	return enable_secondary(SECONDARY_EXEC_ENABLE_VPID);
}

static bool unrestricted_only(void)
{
	return enable_secondary(SECONDARY_EXEC_UNRESTRICTED_GUEST);
}

/* EPT; the EPT pointer only has to look valid: WB, a 4-level walk. */
static bool ept(void)
{
	if (!enable_secondary(SECONDARY_EXEC_ENABLE_EPT))
		return false;
	vmcs_write(EPT_POINTER, (uintptr_t)spare_page | 3 << 3 | 6);
	return true;
}

static bool save_timer_without_timer(void)
{
	if (!allowed1(VMX_CTLS_EXIT, VM_EXIT_SAVE_PREEMPTION_TIMER))
		return false;
	vmcs_clear_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_PREEMPTION_TIMER);
	vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_PREEMPTION_TIMER);
	return true;
}

static bool exit_msr_store_misaligned(void)
{
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 1);
	vmcs_write(VM_EXIT_MSR_STORE_ADDR, (uintptr_t)spare_page + 8);
	return true;
}

static bool entry_msr_load_misaligned(void)
{
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, (uintptr_t)spare_page + 4);
	return true;
}

static bool entry_msr_load_beyond(void)
{
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, beyond_phys());
	return true;
}

static bool inject_type_reserved(void)
{
	inject(1u << 8 | 0x20, 0, 0);
	return true;
}

static bool inject_nmi_vector_3(void)
{
	inject(INTR_TYPE_NMI | 3, 0, 0);
	return true;
}

static bool inject_exception_vector_32(void)
{
	inject(INTR_TYPE_HARD_EXCEPTION | 32, 0, 0);
	return true;
}

/* IA32_VMX_BASIC[56] lifts the error-code rule for hardware exceptions. */
static bool strict_error_codes(void)
{
	return !(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_NO_HW_ERRCODE_CHECK);
}

static bool inject_gp_without_error_code(void)
{
	inject(INTR_TYPE_HARD_EXCEPTION | VEC_GP, 0, 0);
	return strict_error_codes();
}

static bool inject_ud_with_error_code(void)
{
	inject(INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE | VEC_UD, 0, 0);
	return strict_error_codes();
}

static bool inject_reserved_bit_12(void)
{
	inject(INTR_TYPE_HARD_EXCEPTION | VEC_UD | 1u << 12, 0, 0);
	return true;
}

static bool inject_soft_int_length_0(void)
{
	inject(INTR_TYPE_SOFT_INTR | 0x80, 0, 0);
	return !(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ZERO_LEN_INJECT);
}

static bool inject_soft_int_length_16(void)
{
	inject(INTR_TYPE_SOFT_INTR | 0x80, 0, 16);
	return true;
}

/* ---- prepare(): 26.2.2-26.2.4, host state ---- */

static bool host_cr3_beyond(void)
{
	vmcs_set_bits(HOST_CR3, beyond_phys());
	return true;
}

static bool host_cr4_reserved(void)
{
	int b = cr4_fixed0_bit();
	if (b >= 0)
		vmcs_set_bits(HOST_CR4, 1ull << b);
	return b >= 0;
}

static bool exit_loads_efer(void)
{
	return vmcs_read(VM_EXIT_CONTROLS) & VM_EXIT_LOAD_IA32_EFER;
}

static bool exit_loads_pat(void)
{
	return vmcs_read(VM_EXIT_CONTROLS) & VM_EXIT_LOAD_IA32_PAT;
}

static bool host_ds_rpl3(void)
{
	vmcs_set_bits(HOST_DS_SELECTOR, 3);
	return true;
}

static bool host_cs_ti(void)
{
	vmcs_set_bits(HOST_CS_SELECTOR, 4);
	return true;
}

/* ---- prepare(): 26.3.1, guest state ---- */

static bool guest_cr4_reserved(void)
{
	int b = cr4_fixed0_bit();
	if (b >= 0)
		vmcs_set_bits(GUEST_CR4, 1ull << b);
	return b >= 0;
}

static bool entry_loads_efer(void)
{
	return vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_LOAD_IA32_EFER;
}

static bool entry_loads_pat(void)
{
	return vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_LOAD_IA32_PAT;
}

static bool entry_loads_debug_controls(void)
{
	if (!allowed1(VMX_CTLS_ENTRY, VM_ENTRY_LOAD_DEBUG_CONTROLS))
		return false;
	vmcs_set_bits(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_DEBUG_CONTROLS);
	return true;
}

static bool guest_ss_rpl3(void)
{
	vmcs_set_bits(GUEST_SS_SELECTOR, 3);
	return true;
}

static bool guest_cs_data_type(void)
{
	vmcs_write(GUEST_CS_AR_BYTES, (vmcs_read(GUEST_CS_AR_BYTES) & ~0xfull) | 0x3);
	return true;
}

static bool guest_tr_available_type(void)
{
	vmcs_write(GUEST_TR_AR_BYTES, (vmcs_read(GUEST_TR_AR_BYTES) & ~0xfull) | 0x9);
	return true;
}

/* Activity states other than active need their bit in IA32_VMX_MISC
 * (bits 8:6: HLT, shutdown, wait-for-SIPI) (26.3.1.5, A.6). */
static bool shutdown_not_offered(void)
{
	return !(rdmsr(MSR_IA32_VMX_MISC) & (1u << 7));
}

/* In the HLT state only external interrupts, NMIs, #DB, #MC and a
 * pending MTF exit may be injected (26.3.1.5). */
static bool hlt_with_injected_gp(void)
{
	if (!(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT))
		return false;
	inject(INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE | VEC_GP, 0, 0);
	return true;
}

static bool hlt_with_injected_nmi(void)
{
	if (!(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT))
		return false;
	inject(INTR_TYPE_NMI | VEC_NMI, 0, 0);
	return true;
}

static bool inject_ext_intr(void)
{
	inject(INTR_TYPE_EXT_INTR | 0x40, 0, 0);
	return true;
}

static bool inject_nmi(void)
{
	inject(INTR_TYPE_NMI | VEC_NMI, 0, 0);
	return true;
}

static bool link_misaligned(void)
{
	vmcs_write(VMCS_LINK_POINTER, (uintptr_t)spare_page + 0x10);
	return true;
}

static bool link_bad_revision(void)
{
	*(uint32_t *)spare_page = vmx_revision_id() ^ 0x100;
	vmcs_write(VMCS_LINK_POINTER, (uintptr_t)spare_page);
	return true;
}

/* Unrestricted guest (with EPT, which it needs) relaxes the CR0.PE and
 * CR0.PG fixed bits, but not the rules that tie them to each other and
 * to IA-32e mode (26.3.1.1). */
static bool unrestricted(void)
{
	if (!allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_UNRESTRICTED_GUEST))
		return false;
	return ept() && enable_secondary(SECONDARY_EXEC_ENABLE_EPT |
					 SECONDARY_EXEC_UNRESTRICTED_GUEST);
}

/* Real mode under unrestricted guest, but SS.DPL 3: with CR0.PE = 0 it
 * must be 0 (26.3.1.2). CS.DPL is 3 too, as a non-conforming CS must
 * have SS's DPL. */
static bool real_mode_ss_dpl3(void)
{
	if (!unrestricted())
		return false;
	vmcs_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
	if (entry_loads_efer())
		vmcs_clear_bits(GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	vmcs_clear_bits(GUEST_CR0, CR0_PE | CR0_PG);
	vmcs_write(GUEST_CS_SELECTOR, 0);
	vmcs_write(GUEST_CS_AR_BYTES, 0xfb);
	vmcs_write(GUEST_CS_LIMIT, 0xffff);
	vmcs_write(GUEST_SS_SELECTOR, 0);
	vmcs_write(GUEST_SS_AR_BYTES, 0xf3);
	vmcs_write(GUEST_SS_LIMIT, 0xffff);
	vmcs_write(GUEST_RIP, 0);
	return true;
}

/* ---- the rows ---- */

#define NONCANONICAL 0x0000800000000000ull

static const struct row rows[] = {
	{ "26.2", "the VMCS as built", ENTERS, NULL, { } },

	/* 26.2.1.1: VM-execution controls */
	{ "26.2.1.1", "reserved pin-based control set", BAD_CONTROL, pin_reserved, { } },
	{ "26.2.1.1", "default1 processor-based control cleared", BAD_CONTROL,
	  proc_default1_clear, { } },
	{ "26.2.1.1", "reserved secondary control set", BAD_CONTROL, proc2_reserved, { } },
	{ "24.6.2", "secondary controls ignored when not activated", ENTERS, proc2_ignored,
	  { } },
	{ "26.2.1.1", "CR3-target count at the maximum", ENTERS, cr3_targets_max, { } },
	{ "26.2.1.1", "CR3-target count above the maximum", BAD_CONTROL,
	  cr3_targets_too_many, { } },
	{ "26.2.1.1", "I/O bitmap A not 4 KiB aligned", BAD_CONTROL, io_bitmap_a_misaligned,
	  { } },
	{ "26.2.1.1", "I/O bitmap B beyond the physical-address width", BAD_CONTROL,
	  io_bitmap_b_beyond, { } },
	{ "26.2.1.1", "MSR bitmap beyond the physical-address width", BAD_CONTROL,
	  msr_bitmap_beyond, { } },
	{ "26.2.1.1", "virtual NMIs without NMI exiting", BAD_CONTROL,
	  virtual_nmis_without_nmi_exiting, { } },
	{ "26.2.1.1", "NMI-window exiting without virtual NMIs", BAD_CONTROL,
	  nmi_window_exiting, { } },
	{ "26.2.1.1", "enable VPID with VPID 0", BAD_CONTROL, vpid,
	  { W(VIRTUAL_PROCESSOR_ID, 0) } },
	{ "26.2.1.1", "unrestricted guest without EPT", BAD_CONTROL, unrestricted_only, { } },
	{ "26.2.1.1", "EPT pointer with memory type 1", BAD_CONTROL, ept,
	  { C(EPT_POINTER, 7), S(EPT_POINTER, 1) } },
	/* 26.2.1.2: VM-exit controls */
	{ "26.2.1.2", "default1 VM-exit control cleared", BAD_CONTROL, exit_default1_clear,
	  { } },
	{ "26.2.1.2", "save preemption timer without the timer", BAD_CONTROL,
	  save_timer_without_timer, { } },
	{ "26.2.1.2", "VM-exit MSR-store address not 16-byte aligned", BAD_CONTROL,
	  exit_msr_store_misaligned, { } },
	/* 26.2.1.3: VM-entry controls and event injection */
	{ "26.2.1.3", "reserved VM-entry control set", BAD_CONTROL, entry_reserved, { } },
	{ "26.2.1.3", "VM-entry MSR-load address not 16-byte aligned", BAD_CONTROL,
	  entry_msr_load_misaligned, { } },
	{ "26.2.1.3", "VM-entry MSR-load address beyond the physical-address width",
	  BAD_CONTROL, entry_msr_load_beyond, { } },
	{ "26.2.1.3", "injection with interruption type 1", BAD_CONTROL,
	  inject_type_reserved, { } },
	{ "26.2.1.3", "NMI injection with vector 3", BAD_CONTROL, inject_nmi_vector_3, { } },
	{ "26.2.1.3", "exception injection with vector 32", BAD_CONTROL,
	  inject_exception_vector_32, { } },
	{ "26.2.1.3", "#GP injection without its error code", BAD_CONTROL,
	  inject_gp_without_error_code, { } },
	{ "26.2.1.3", "#UD injection with an error code", BAD_CONTROL,
	  inject_ud_with_error_code, { } },
	{ "26.2.1.3", "injection with reserved bit 12 set", BAD_CONTROL,
	  inject_reserved_bit_12, { } },
	{ "26.2.1.3", "software interrupt with instruction length 0", BAD_CONTROL,
	  inject_soft_int_length_0, { } },
	{ "26.2.1.3", "software interrupt with instruction length 16", BAD_CONTROL,
	  inject_soft_int_length_16, { } },

	/* 26.2.2: host control registers and MSRs */
	{ "26.2.2", "host CR0.NE clear", BAD_HOST, NULL, { C(HOST_CR0, CR0_NE) } },
	{ "26.2.2", "host CR4.VMXE clear", BAD_HOST, NULL, { C(HOST_CR4, CR4_VMXE) } },
	{ "26.2.2", "host CR4 bit fixed to 0 set", BAD_HOST, host_cr4_reserved, { } },
	{ "26.2.2", "host CR3 beyond the physical-address width", BAD_HOST, host_cr3_beyond,
	  { } },
	{ "26.2.2", "host IA32_SYSENTER_EIP not canonical", BAD_HOST, NULL,
	  { W(HOST_IA32_SYSENTER_EIP, 0x8000000000000000ull) } },
	{ "26.2.2", "host IA32_EFER.LMA clear", BAD_HOST, exit_loads_efer,
	  { C(HOST_IA32_EFER, EFER_LMA) } },
	{ "26.2.2", "host IA32_EFER reserved bit 1 set", BAD_HOST, exit_loads_efer,
	  { S(HOST_IA32_EFER, 1u << 1) } },
	/* Each byte of IA32_PAT is a memory type; 2 and 3 are reserved. */
	{ "26.2.2", "host IA32_PAT with memory type 2", BAD_HOST, exit_loads_pat,
	  { W(HOST_IA32_PAT, 0x0007040600070402ull) } },
	/* 26.2.3: host segment and descriptor-table registers */
	{ "26.2.3", "host CS selector null", BAD_HOST, NULL, { W(HOST_CS_SELECTOR, 0) } },
	{ "26.2.3", "host TR selector null", BAD_HOST, NULL, { W(HOST_TR_SELECTOR, 0) } },
	{ "26.2.3", "host DS selector with RPL 3", BAD_HOST, host_ds_rpl3, { } },
	{ "26.2.3", "host CS selector with TI set", BAD_HOST, host_cs_ti, { } },
	{ "26.2.3", "host SS selector null in 64-bit mode", ENTERS, NULL,
	  { W(HOST_SS_SELECTOR, 0) } },
	{ "26.2.3", "host FS base not canonical", BAD_HOST, NULL,
	  { W(HOST_FS_BASE, NONCANONICAL) } },
	{ "26.2.3", "host GDTR base not canonical", BAD_HOST, NULL,
	  { W(HOST_GDTR_BASE, 0x8000000000001000ull) } },
	{ "26.2.3", "host TR base not canonical", BAD_HOST, NULL,
	  { W(HOST_TR_BASE, 0x0001000000000000ull) } },
	/* 26.2.4: address-space size */
	{ "26.2.4", "host address-space size 0 in IA-32e mode", BAD_HOST, NULL,
	  { C(VM_EXIT_CONTROLS, VM_EXIT_HOST_ADDR_SPACE_SIZE) } },
	{ "26.2.4", "host CR4.PAE clear with a 64-bit host", BAD_HOST, NULL,
	  { C(HOST_CR4, CR4_PAE) } },
	{ "26.2.4", "host RIP not canonical", BAD_HOST, NULL,
	  { W(HOST_RIP, 0x0000900000000000ull) } },

	/* 26.3.1.1: guest control registers, debug registers and MSRs */
	{ "26.3.1.1", "guest CR0.NE clear", BAD_GUEST, NULL, { C(GUEST_CR0, CR0_NE) } },
	{ "26.3.1.1", "guest CR0.PG set with CR0.PE clear", BAD_GUEST, NULL,
	  { C(GUEST_CR0, CR0_PE) } },
	{ "26.3.1.1", "guest CR4.VMXE clear", BAD_GUEST, NULL, { C(GUEST_CR4, CR4_VMXE) } },
	{ "26.3.1.1", "guest CR4 bit fixed to 0 set", BAD_GUEST, guest_cr4_reserved, { } },
	{ "26.3.1.1", "IA-32e mode guest with CR4.PAE clear", BAD_GUEST, NULL,
	  { C(GUEST_CR4, CR4_PAE) } },
	{ "26.3.1.1", "unrestricted guest: IA-32e mode with CR0.PG clear", BAD_GUEST,
	  unrestricted, { C(GUEST_CR0, CR0_PG) } },
	{ "26.3.1.1", "unrestricted guest: CR0.PG set with CR0.PE clear", BAD_GUEST,
	  unrestricted, { C(GUEST_CR0, CR0_PE) } },
	{ "26.3.1.1", "guest IA32_EFER.LMA clear in an IA-32e mode guest", BAD_GUEST,
	  entry_loads_efer, { C(GUEST_IA32_EFER, EFER_LMA | EFER_LME) } },
	{ "26.3.1.1", "guest IA32_EFER reserved bit 1 set", BAD_GUEST, entry_loads_efer,
	  { S(GUEST_IA32_EFER, 1u << 1) } },
	{ "26.3.1.1", "guest IA32_PAT with memory type 3", BAD_GUEST, entry_loads_pat,
	  { W(GUEST_IA32_PAT, 0x0007040600070403ull) } },
	{ "26.3.1.1", "guest DR7 bits 63:32 set", BAD_GUEST, entry_loads_debug_controls,
	  { W(GUEST_DR7, 0x400 | 1ull << 32) } },
	{ "26.3.1.1", "guest IA32_SYSENTER_EIP not canonical", BAD_GUEST, NULL,
	  { W(GUEST_SYSENTER_EIP, 0x1234000000000000ull) } },
	/* 26.3.1.2: guest segment registers */
	{ "26.3.1.2", "guest CS with L and D/B set", BAD_GUEST, NULL,
	  { S(GUEST_CS_AR_BYTES, 1u << 14) } },
	{ "26.3.1.2", "guest CS of a data type", BAD_GUEST, guest_cs_data_type, { } },
	{ "26.3.1.2", "guest SS RPL not CS RPL", BAD_GUEST, guest_ss_rpl3, { } },
	{ "26.3.1.2", "guest DS usable but not accessed", BAD_GUEST, NULL,
	  { C(GUEST_DS_AR_BYTES, 1) } },
	{ "26.3.1.2", "guest FS base not canonical", BAD_GUEST, NULL,
	  { W(GUEST_FS_BASE, 0xff00000000000000ull) } },
	{ "26.3.1.2", "guest TR unusable", BAD_GUEST, NULL,
	  { S(GUEST_TR_AR_BYTES, VMX_AR_UNUSABLE) } },
	{ "26.3.1.2", "guest TR an available, not busy, TSS", BAD_GUEST,
	  guest_tr_available_type, { } },
	/* G = 1 means the limit counts 4 KiB units: bits 11:0 must be 1. */
	{ "26.3.1.2", "guest TR limit inconsistent with G", BAD_GUEST, NULL,
	  { S(GUEST_TR_AR_BYTES, 1u << 15) } },
	{ "26.3.1.2", "guest TR base not canonical", BAD_GUEST, NULL,
	  { W(GUEST_TR_BASE, NONCANONICAL) } },
	{ "26.3.1.2", "guest LDTR usable with a TSS type", BAD_GUEST, NULL,
	  { W(GUEST_LDTR_AR_BYTES, 0x89) } },
	{ "26.3.1.2", "guest LDTR usable with TI set", BAD_GUEST, NULL,
	  { W(GUEST_LDTR_SELECTOR, 0x4c), W(GUEST_LDTR_AR_BYTES, 0x82) } },
	{ "26.3.1.2", "unrestricted guest in real mode with SS.DPL 3", BAD_GUEST,
	  real_mode_ss_dpl3, { } },
	/* 26.3.1.3: guest descriptor-table registers */
	{ "26.3.1.3", "guest GDTR limit above 0xFFFF", BAD_GUEST, NULL,
	  { W(GUEST_GDTR_LIMIT, 0x10000) } },
	/* 26.3.1.4: guest RIP and RFLAGS */
	{ "26.3.1.4", "guest RFLAGS bit 1 clear", BAD_GUEST, NULL, { W(GUEST_RFLAGS, 0) } },
	{ "26.3.1.4", "guest RFLAGS reserved bit 15 set", BAD_GUEST, NULL,
	  { W(GUEST_RFLAGS, RFLAGS_FIXED | 1u << 15) } },
	{ "26.3.1.4", "guest RFLAGS.VM set in an IA-32e mode guest", BAD_GUEST, NULL,
	  { W(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_VM) } },
	{ "26.3.1.4", "guest RIP not canonical with CS.L set", BAD_GUEST, NULL,
	  { W(GUEST_RIP, NONCANONICAL) } },
	{ "26.3.1.4", "external interrupt injected with RFLAGS.IF clear", BAD_GUEST,
	  inject_ext_intr, { } },
	/* 26.3.1.5: guest non-register state */
	{ "26.3.1.5", "activity state 4", BAD_GUEST, NULL, { W(GUEST_ACTIVITY_STATE, 4) } },
	{ "26.3.1.5", "activity state shutdown, not in IA32_VMX_MISC", BAD_GUEST,
	  shutdown_not_offered, { W(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_SHUTDOWN) } },
	{ "26.3.1.5", "activity state HLT with #GP injected", BAD_GUEST, hlt_with_injected_gp,
	  { W(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT) } },
	{ "26.3.1.5", "activity state HLT with an NMI injected", DELIVERS,
	  hlt_with_injected_nmi, { W(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT) } },
	{ "26.3.1.5", "blocking by STI and by MOV SS", BAD_GUEST, NULL,
	  { W(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF),
	    W(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS) } },
	{ "26.3.1.5", "blocking by STI with RFLAGS.IF clear", BAD_GUEST, NULL,
	  { W(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI) } },
	{ "26.3.1.5", "blocking by SMI outside SMM", BAD_GUEST, NULL,
	  { W(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_SMI) } },
	{ "26.3.1.5", "external interrupt injected with blocking by MOV SS", BAD_GUEST,
	  inject_ext_intr, { W(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF),
			     W(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS) } },
	{ "26.3.1.5", "NMI injected with blocking by MOV SS", BAD_GUEST, inject_nmi,
	  { W(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS) } },
	{ "26.3.1.5", "pending debug exceptions, reserved bit 4", BAD_GUEST, NULL,
	  { W(GUEST_PENDING_DBG_EXCEPTIONS, 1u << 4) } },
	{ "26.3.1.5", "VMCS link pointer not 4 KiB aligned", BAD_LINK, link_misaligned, { } },
	{ "26.3.1.5", "VMCS link pointer to a wrong revision", BAD_LINK, link_bad_revision,
	  { } },

	/* The order of the checks. */
	{ "26.2", "a bad control and a bad host field: the control first", BAD_CONTROL,
	  cr3_targets_too_many, { W(HOST_CS_SELECTOR, 0) } },
	{ "26.3", "a bad host field and a bad guest field: the host first", BAD_HOST, NULL,
	  { W(HOST_TR_SELECTOR, 0), W(GUEST_RFLAGS, 0) } },
};

/* ---- running the rows ---- */

static const char *const outcome[] = {
	[ENTERS] = "enters",
	[DELIVERS] = "enters, the event is delivered (triple fault, exit 2)",
	[BAD_CONTROL] = "VMfailValid, error 7",
	[BAD_HOST] = "VMfailValid, error 8",
	[BAD_GUEST] = "exit reason 33 | 1 << 31, qualification 0",
	[BAD_LINK] = "exit reason 33 | 1 << 31, qualification 4",
};

static void apply_edit(const struct edit *e)
{
	switch (e->op) {
	case WRITE: vmcs_write(e->field, e->value); break;
	case SET: vmcs_set_bits(e->field, e->value); break;
	case CLEAR: vmcs_clear_bits(e->field, e->value); break;
	case NONE: break;
	}
}

/* True if the entry went as the row wants; otherwise print what it did. */
static bool check_outcome(const struct row *r, uint32_t got)
{
	const struct vcpu *v = &vcpu;
	bool ok;
	switch (r->want) {
	case ENTERS:
		ok = vmx_guest_done(v) && v->regs.rdi == 0x5a;
		break;
	case DELIVERS:
		ok = got == EXIT_REASON_TRIPLE_FAULT;
		break;
	case BAD_CONTROL:
	case BAD_HOST:
		ok = got == VMX_RUN_VMFAIL && v->entry_result == VMX_FAIL_VALID &&
		     v->insn_error == (r->want == BAD_CONTROL ? 7u : 8u);
		break;
	default:
		ok = got == (EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_GUEST_STATE) &&
		     v->exit_qual == (r->want == BAD_LINK ? 4u : 0u);
		break;
	}
	if (ok)
		return true;
	if (got == VMX_RUN_VMFAIL)
		printf("WRONG %s: %s: want %s, got %s, error %u (%s)\n", r->sdm, r->what,
		       outcome[r->want], vmx_result_name(v->entry_result), v->insn_error,
		       vmx_insn_error_name(v->insn_error));
	else
		printf("WRONG %s: %s: want %s, got exit reason 0x%x (%s), qualification "
		       "0x%lx\n", r->sdm, r->what, outcome[r->want], got,
		       vmx_exit_reason_name(got), v->exit_qual);
	return false;
}

/* Returns false if the row went wrong. */
static bool run_row(const struct row *r)
{
	vmcs_init_guest64(&vcpu, guest_identity, 0x5a, 0, 0, 0);
	if (r->prepare && !r->prepare()) {
		printf("# skipped: %s (%s): not offered\n", r->what, r->sdm);
		return true;
	}
	for (unsigned i = 0; i < 2; i++)
		apply_edit(&r->edit[i]);
	if (!check_outcome(r, vmx_run(&vcpu)))
		return false;
	printf("%s: %s: %s\n", r->sdm, r->what, outcome[r->want]);
	return true;
}

/* A failure while loading guest state leaves the VMCS clear (vol. 2C,
 * VMLAUNCH: "launched" only once the entry succeeds), so VMLAUNCH may be
 * tried again; the exit reason of the failure is in the VMCS. */
static void test_relaunch_after_guest_failure(void)
{
	vmcs_init_guest64(&vcpu, guest_identity, 0x5a, 0, 0, 0);
	vmcs_write(GUEST_RFLAGS, 0);
	TEST_ASSERT_EQ(vmx_run(&vcpu),
		       EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_GUEST_STATE);
	TEST_ASSERT_EQ(vmcs_read(VM_EXIT_REASON),
		       EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_GUEST_STATE);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);
	TEST_ASSERT(!vcpu.launched);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x5a);
	printf("after a guest-state failure the VMCS is still clear: VMLAUNCH again works\n");
}

/* VMLAUNCH right after MOV SS: VMfailValid(26), checked before the
 * launch state and the controls (vol. 2C, VMLAUNCH/VMRESUME). The VMCS
 * also has a bad control, so a model that skips the check says 7. */
static void test_mov_ss_blocking(void)
{
	vmcs_init_guest64(&vcpu, guest_identity, 0x5a, 0, 0, 0);
	cr3_targets_too_many();
	uint64_t fl;
	fault_clear();
	__asm__ volatile("pushfq\n\torq $0x8d5, (%%rsp)\n\tpopfq\n\t"
			 "movw %%ss, %%ax\n\t"
			 "movw %%ax, %%ss\n\t"
			 CATCH_ASM("vmlaunch") "\n\t"
			 "pushfq\n\tpopq %0"
			 : "=r"(fl) : : "rax", "cc", "memory");
	TEST_ASSERT_EQ(last_fault.vector, -1);
	TEST_ASSERT_EQ(fl & 0x8d5, RFLAGS_ZF);
	vmx_expect_error("VMLAUNCH in the shadow of MOV SS", VMX_FAIL_VALID,
			 VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	spare_page = alloc_page();
	/* Every row runs, so that one report lists every rule broken. */
	unsigned wrong = 0;
	for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++)
		wrong += !run_row(&rows[i]);
	test_relaunch_after_guest_failure();
	test_mov_ss_blocking();
	vmx_off();
	if (wrong)
		TEST_FAIL("%u rows went wrong (the WRONG lines above)", wrong);
	TEST_PASS();
}
