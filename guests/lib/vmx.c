/* The guest-side VMX library (vmx.h). */
#include <stddef.h>

#include "lib/alloc.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

_Static_assert(offsetof(struct vcpu, regs) == 0, "vmx_entry.S stores at the vcpu");
_Static_assert(offsetof(struct vcpu_regs, rdi) == 48, "vmx_entry.S: R_RDI");
_Static_assert(offsetof(struct vcpu_regs, r15) == 112, "vmx_entry.S: R_R15");

/* vmx_entry.S */
uint64_t vmx_enter(struct vcpu_regs *regs, int launched);
extern char vmx_exit_trampoline[], vmx_guest_return[];
extern uint64_t vmx_exit_rflags;

/* ---- names ---- */

const char *vmx_result_name(int result)
{
	switch (result) {
	case VMX_SUCCEED: return "VMsucceed";
	case VMX_FAIL_INVALID: return "VMfailInvalid";
	case VMX_FAIL_VALID: return "VMfailValid";
	case VMX_FAULT: return "an exception";
	default: return "RFLAGS matching no VMX result";
	}
}

/* Appendix C, table C-1. */
const char *vmx_exit_reason_name(uint32_t reason)
{
	static const char *const names[] = {
		[0] = "exception or NMI", [1] = "external interrupt",
		[2] = "triple fault", [3] = "INIT signal", [4] = "SIPI",
		[5] = "I/O SMI", [6] = "other SMI", [7] = "interrupt window",
		[8] = "NMI window", [9] = "task switch", [10] = "CPUID",
		[11] = "GETSEC", [12] = "HLT", [13] = "INVD", [14] = "INVLPG",
		[15] = "RDPMC", [16] = "RDTSC", [17] = "RSM", [18] = "VMCALL",
		[19] = "VMCLEAR", [20] = "VMLAUNCH", [21] = "VMPTRLD",
		[22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME",
		[25] = "VMWRITE", [26] = "VMXOFF", [27] = "VMXON",
		[28] = "control-register access", [29] = "MOV DR",
		[30] = "I/O instruction", [31] = "RDMSR", [32] = "WRMSR",
		[33] = "VM-entry failure: invalid guest state",
		[34] = "VM-entry failure: MSR loading", [36] = "MWAIT",
		[37] = "monitor trap flag", [39] = "MONITOR", [40] = "PAUSE",
		[41] = "VM-entry failure: machine-check event",
		[43] = "TPR below threshold", [44] = "APIC access",
		[45] = "virtualized EOI", [46] = "access to GDTR or IDTR",
		[47] = "access to LDTR or TR", [48] = "EPT violation",
		[49] = "EPT misconfiguration", [50] = "INVEPT", [51] = "RDTSCP",
		[52] = "VMX-preemption timer expired", [53] = "INVVPID",
		[54] = "WBINVD", [55] = "XSETBV", [56] = "APIC write",
		[57] = "RDRAND", [58] = "INVPCID", [59] = "VMFUNC", [60] = "ENCLS",
		[61] = "RDSEED", [62] = "page-modification log full",
		[63] = "XSAVES", [64] = "XRSTORS",
	};
	if (reason == VMX_RUN_VMFAIL)
		return "VMLAUNCH/VMRESUME failed";
	uint32_t basic = reason & 0xffff;
	if (basic < sizeof names / sizeof names[0] && names[basic])
		return names[basic];
	return "unknown exit reason";
}

/* Table 30-1. */
const char *vmx_insn_error_name(uint32_t error)
{
	static const char *const names[] = {
		[1] = "VMCALL executed in VMX root operation",
		[2] = "VMCLEAR with invalid physical address",
		[3] = "VMCLEAR with VMXON pointer",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with invalid physical address",
		[10] = "VMPTRLD with VMXON pointer",
		[11] = "VMPTRLD with incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
		[13] = "VMWRITE to read-only VMCS component",
		[15] = "VMXON executed in VMX root operation",
		[16] = "VM entry with invalid executive-VMCS pointer",
		[17] = "VM entry with non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with incorrect MSEG revision identifier",
		[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "invalid operand to INVEPT/INVVPID",
	};
	if (error < sizeof names / sizeof names[0] && names[error])
		return names[error];
	return "unknown VM-instruction error";
}

/* ---- capabilities ---- */

bool vmx_supported(void)
{
	return (cpuid(1, 0).ecx & (1u << 5)) != 0;
}

unsigned vmx_phys_addr_width(void)
{
	if (rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_32BIT_ADDRESSES)
		return 32;
	if (cpuid(0x80000000u, 0).eax < 0x80000008u)
		return 36;
	return cpuid(0x80000008u, 0).eax & 0xff;
}

uint32_t vmx_revision_id(void)
{
	return (uint32_t)(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
}

uint64_t vmx_ctls_msr(enum vmx_ctls set)
{
	static const uint32_t plain[] = {
		[VMX_CTLS_PIN] = MSR_IA32_VMX_PINBASED_CTLS,
		[VMX_CTLS_PROC] = MSR_IA32_VMX_PROCBASED_CTLS,
		[VMX_CTLS_PROC2] = MSR_IA32_VMX_PROCBASED_CTLS2,
		[VMX_CTLS_EXIT] = MSR_IA32_VMX_EXIT_CTLS,
		[VMX_CTLS_ENTRY] = MSR_IA32_VMX_ENTRY_CTLS,
	};
	static const uint32_t true_ctls[] = {
		[VMX_CTLS_PIN] = MSR_IA32_VMX_TRUE_PINBASED_CTLS,
		[VMX_CTLS_PROC] = MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		[VMX_CTLS_PROC2] = MSR_IA32_VMX_PROCBASED_CTLS2,
		[VMX_CTLS_EXIT] = MSR_IA32_VMX_TRUE_EXIT_CTLS,
		[VMX_CTLS_ENTRY] = MSR_IA32_VMX_TRUE_ENTRY_CTLS,
	};
	/* The secondary controls exist only if the primary control that
	 * activates them may be 1 (A.3.3). */
	if (set == VMX_CTLS_PROC2 &&
	    !(vmx_ctls_msr(VMX_CTLS_PROC) >> 32 & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		return 0;
	bool use_true = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS;
	return rdmsr(use_true ? true_ctls[set] : plain[set]);
}

uint32_t vmx_adjust_ctls(enum vmx_ctls set, uint32_t wanted)
{
	uint64_t msr = vmx_ctls_msr(set);
	uint32_t must_be_1 = (uint32_t)msr, may_be_1 = (uint32_t)(msr >> 32);
	return (wanted | must_be_1) & may_be_1;
}

bool vmx_ctl_allowed1(enum vmx_ctls set, uint32_t bits)
{
	return ((vmx_ctls_msr(set) >> 32) & bits) == bits;
}

bool vmx_offered(enum vmx_ctls set, uint32_t bits, const char *what)
{
	if (vmx_ctl_allowed1(set, bits))
		return true;
	printf("# skipped: %s (control not offered)\n", what);
	return false;
}

bool vmx_ctl_allowed0(enum vmx_ctls set, uint32_t bits)
{
	return ((uint32_t)vmx_ctls_msr(set) & bits) == 0;
}

/* A bit that is 1 in FIXED0 must be 1, a bit that is 0 in FIXED1 must be
 * 0, in VMX operation (23.8, A.7, A.8). */
uint64_t vmx_fixed_cr0(uint64_t cr0)
{
	return (cr0 | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1);
}

uint64_t vmx_fixed_cr4(uint64_t cr4)
{
	return (cr4 | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) & rdmsr(MSR_IA32_VMX_CR4_FIXED1);
}

/* ---- the instructions ---- */

/* Set CF, PF, AF, ZF, SF and OF, keeping the rest of RFLAGS. */
#define SET_ARITH_FLAGS "pushfq\n\torq $0x8d5, (%%rsp)\n\tpopfq\n\t"
#define GET_FLAGS(op) "\n\tpushfq\n\tpopq %" op

/* The result an instruction reported in RFLAGS (30.2): VMsucceed clears
 * CF, PF, AF, ZF, SF and OF; VMfailInvalid sets CF and clears the rest;
 * VMfailValid sets ZF and clears the rest. */
static int result_of(uint64_t rflags)
{
	if (last_fault.vector >= 0)
		return VMX_FAULT;
	switch (rflags & 0x8d5) {
	case 0: return VMX_SUCCEED;
	case RFLAGS_CF: return VMX_FAIL_INVALID;
	case RFLAGS_ZF: return VMX_FAIL_VALID;
	default: return VMX_BAD_FLAGS;
	}
}

/* The memory operands are passed by address in a register: the PUSHFQ
 * before the instruction moves RSP, and with it any RSP-relative operand. */
int vmxon(uint64_t pa)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmxon (%1)") GET_FLAGS("0")
			 : "=r"(fl) : "r"(&pa) : "cc", "memory");
	return result_of(fl);
}

int vmxoff(void)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmxoff") GET_FLAGS("0")
			 : "=r"(fl) : : "cc", "memory");
	return result_of(fl);
}

int vmclear(uint64_t pa)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmclear (%1)") GET_FLAGS("0")
			 : "=r"(fl) : "r"(&pa) : "cc", "memory");
	return result_of(fl);
}

int vmptrld(uint64_t pa)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmptrld (%1)") GET_FLAGS("0")
			 : "=r"(fl) : "r"(&pa) : "cc", "memory");
	return result_of(fl);
}

int vmptrst(uint64_t *pa)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmptrst (%1)") GET_FLAGS("0")
			 : "=r"(fl) : "r"(pa) : "cc", "memory");
	return result_of(fl);
}

/* Register forms: in 64-bit mode both operands are 64 bits (vol. 2C,
 * VMREAD and VMWRITE). A failed VMREAD leaves *value unchanged. */
int vmread(uint64_t field, uint64_t *value)
{
	uint64_t fl, v = *value;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmread %2, %1") GET_FLAGS("0")
			 : "=&r"(fl), "+r"(v) : "r"(field) : "cc", "memory");
	int r = result_of(fl);
	if (r == VMX_SUCCEED)
		*value = v;
	return r;
}

int vmwrite(uint64_t field, uint64_t value)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmwrite %1, %2") GET_FLAGS("0")
			 : "=&r"(fl) : "r"(value), "r"(field) : "cc", "memory");
	return result_of(fl);
}

int vmlaunch(void)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmlaunch") GET_FLAGS("0")
			 : "=r"(fl) : : "cc", "memory");
	return result_of(fl);
}

int vmresume(void)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("vmresume") GET_FLAGS("0")
			 : "=r"(fl) : : "cc", "memory");
	return result_of(fl);
}

/* The 128-bit descriptors of INVEPT and INVVPID (vol. 2C). */
int invept(uint64_t type, uint64_t eptp)
{
	uint64_t fl, desc[2] = { eptp, 0 };
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("invept (%1), %2") GET_FLAGS("0")
			 : "=&r"(fl) : "r"(desc), "r"(type) : "cc", "memory");
	return result_of(fl);
}

int invvpid(uint64_t type, uint16_t vpid, uint64_t linear)
{
	uint64_t fl, desc[2] = { vpid, linear };
	fault_clear();
	__asm__ volatile(SET_ARITH_FLAGS CATCH_ASM("invvpid (%1), %2") GET_FLAGS("0")
			 : "=&r"(fl) : "r"(desc), "r"(type) : "cc", "memory");
	return result_of(fl);
}

uint32_t vmx_insn_error(void)
{
	uint64_t e = 0;
	int r = vmread(VM_INSTRUCTION_ERROR, &e);
	if (r != VMX_SUCCEED)
		TEST_FAIL("VMREAD VM_INSTRUCTION_ERROR: %s", vmx_result_name(r));
	return (uint32_t)e;
}

/* "VMfailValid, error 7 (...)", "#GP" or "VMsucceed", for messages. */
static const char *describe(int r, char *buf, size_t size)
{
	if (r == VMX_FAULT)
		snprintf(buf, size, "%s", vector_name(last_fault.vector));
	else if (r == VMX_FAIL_VALID) {
		uint32_t e = vmx_insn_error();
		snprintf(buf, size, "VMfailValid, error %u (%s)", e, vmx_insn_error_name(e));
	} else
		snprintf(buf, size, "%s", vmx_result_name(r));
	return buf;
}

void vmx_expect(const char *what, int got, int want)
{
	char buf[128];
	if (got != want)
		TEST_FAIL("%s: got %s, want %s", what, describe(got, buf, sizeof buf),
			  vmx_result_name(want));
	printf("%s: %s\n", what, vmx_result_name(want));
}

void vmx_expect_error(const char *what, int got, uint32_t err)
{
	char buf[128];
	if (got != VMX_FAIL_VALID || vmx_insn_error() != err)
		TEST_FAIL("%s: got %s, want VMfailValid, error %u (%s)", what,
			  describe(got, buf, sizeof buf), err, vmx_insn_error_name(err));
	printf("%s: VMfailValid, error %u (%s)\n", what, err, vmx_insn_error_name(err));
}

void vmx_expect_fault(const char *what, int got, int vector)
{
	char buf[128];
	if (got != VMX_FAULT || last_fault.vector != vector)
		TEST_FAIL("%s: got %s, want %s", what, describe(got, buf, sizeof buf),
			  vector_name(vector));
	if (last_fault.error_code != 0)
		TEST_FAIL("%s: %s with error code 0x%lx, want 0", what, vector_name(vector),
			  last_fault.error_code);
	printf("%s: %s\n", what, vector_name(vector));
}

static _Noreturn void vmcs_access_failed(const char *insn, uint64_t field, int r)
{
	if (r == VMX_FAIL_VALID) {
		uint32_t e = vmx_insn_error();
		TEST_FAIL("%s field 0x%lx: VMfailValid, error %u (%s)", insn, field, e,
			  vmx_insn_error_name(e));
	}
	TEST_FAIL("%s field 0x%lx: %s", insn, field, vmx_result_name(r));
}

uint64_t vmcs_read(uint64_t field)
{
	uint64_t v = 0;
	int r = vmread(field, &v);
	if (r != VMX_SUCCEED)
		vmcs_access_failed("VMREAD", field, r);
	return v;
}

void vmcs_write(uint64_t field, uint64_t value)
{
	int r = vmwrite(field, value);
	if (r != VMX_SUCCEED)
		vmcs_access_failed("VMWRITE", field, r);
}

void vmcs_set_bits(uint64_t field, uint64_t bits)
{
	vmcs_write(field, vmcs_read(field) | bits);
}

void vmcs_clear_bits(uint64_t field, uint64_t bits)
{
	vmcs_write(field, vmcs_read(field) & ~bits);
}

/* ---- VMX operation ---- */

static void *vmxon_region;

void *vmx_vmxon_region(void)
{
	return vmxon_region;
}

/* The VMXON region and each VMCS region begin with the revision
 * identifier of IA32_VMX_BASIC (24.2, 24.11.5). */
void *vmx_alloc_vmcs(void)
{
	uint32_t *p = alloc_page();
	p[0] = vmx_revision_id();
	return p;
}

void vmx_on(void)
{
	if (!vmx_supported())
		TEST_FAIL("CPUID.1:ECX.VMX is 0");
	/* VMXON needs the lock bit, and outside SMX the "enable VMX outside
	 * SMX" bit; once locked the MSR stays as it is until reset (23.7). */
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
		TEST_FAIL("IA32_FEATURE_CONTROL is locked with VMX disabled");
	write_cr0(vmx_fixed_cr0(read_cr0()));
	write_cr4(vmx_fixed_cr4(read_cr4() | CR4_VMXE));
	if (!vmxon_region)
		vmxon_region = vmx_alloc_vmcs();
	int r = vmxon((uintptr_t)vmxon_region);
	if (r != VMX_SUCCEED)
		TEST_FAIL("VMXON: %s", vmx_result_name(r));
}

void vmx_off(void)
{
	int r = vmxoff();
	if (r != VMX_SUCCEED)
		TEST_FAIL("VMXOFF: %s", vmx_result_name(r));
}

/* ---- a guest ---- */

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static struct dtr read_gdtr(void)
{
	struct dtr d;
	__asm__ volatile("sgdt %0" : "=m"(d));
	return d;
}

static struct dtr read_idtr(void)
{
	struct dtr d;
	__asm__ volatile("sidt %0" : "=m"(d));
	return d;
}

static uint16_t read_tr(void)
{
	uint16_t sel;
	__asm__ volatile("str %0" : "=r"(sel));
	return sel;
}

/* An MSR, or 0 where the CPU does not have it. */
static uint64_t rdmsr_or_0(uint32_t msr)
{
	uint64_t v = 0;
	return try_rdmsr(msr, &v) < 0 ? v : 0;
}

static bool cpu_has_pat(void)
{
	return (cpuid(1, 0).edx & (1u << 16)) != 0;
}

/* The controls: those asked for, adjusted to what the CPU allows (A.3-A.5),
 * plus what a 64-bit host and guest need: "host address-space size" and
 * "IA-32e mode guest"; IA32_EFER and IA32_PAT are switched on entry and
 * exit where the CPU can. */
static void init_controls(uint32_t pin, uint32_t proc, uint32_t proc2)
{
	uint32_t exit = VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER;
	uint32_t entry = VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER;
	if (cpu_has_pat()) {
		exit |= VM_EXIT_LOAD_IA32_PAT;
		entry |= VM_ENTRY_LOAD_IA32_PAT;
	}
	vmcs_write_controls(pin, proc, proc2, exit, entry);
}

void vmcs_write_controls(uint32_t pin, uint32_t proc, uint32_t proc2, uint32_t exit,
			 uint32_t entry)
{
	if (proc2)
		proc |= CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
	proc = vmx_adjust_ctls(VMX_CTLS_PROC, proc);
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_adjust_ctls(VMX_CTLS_PIN, pin));
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	if (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx_adjust_ctls(VMX_CTLS_PROC2, proc2));
	vmcs_write(VM_EXIT_CONTROLS, vmx_adjust_ctls(VMX_CTLS_EXIT, exit));
	vmcs_write(VM_ENTRY_CONTROLS, vmx_adjust_ctls(VMX_CTLS_ENTRY, entry));

	vmcs_write(EXCEPTION_BITMAP, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(CR0_GUEST_HOST_MASK, 0);
	vmcs_write(CR4_GUEST_HOST_MASK, 0);
	vmcs_write(CR0_READ_SHADOW, 0);
	vmcs_write(CR4_READ_SHADOW, 0);
	vmcs_write(TSC_OFFSET, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, 0);
}

/* The host state is the CPU's own, so that the exit comes back to this
 * code as if VMLAUNCH had been a call (24.5, 27.5). HOST_RSP is written
 * by vmx_enter(). */
void vmcs_init_host_state(void)
{
	struct dtr gdtr = read_gdtr(), idtr = read_idtr();
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());
	vmcs_write(HOST_CS_SELECTOR, KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, read_ds());
	vmcs_write(HOST_ES_SELECTOR, read_es());
	vmcs_write(HOST_FS_SELECTOR, read_fs());
	vmcs_write(HOST_GS_SELECTOR, read_gs());
	vmcs_write(HOST_TR_SELECTOR, read_tr());
	vmcs_write(HOST_FS_BASE, rdmsr(MSR_IA32_FS_BASE));
	vmcs_write(HOST_GS_BASE, rdmsr(MSR_IA32_GS_BASE));
	vmcs_write(HOST_TR_BASE, (uintptr_t)&tss);
	vmcs_write(HOST_GDTR_BASE, gdtr.base);
	vmcs_write(HOST_IDTR_BASE, idtr.base);
	vmcs_write(HOST_IA32_SYSENTER_CS, rdmsr_or_0(MSR_IA32_SYSENTER_CS));
	vmcs_write(HOST_IA32_SYSENTER_ESP, rdmsr_or_0(MSR_IA32_SYSENTER_ESP));
	vmcs_write(HOST_IA32_SYSENTER_EIP, rdmsr_or_0(MSR_IA32_SYSENTER_EIP));
	uint64_t exit = vmcs_read(VM_EXIT_CONTROLS);
	if (exit & VM_EXIT_LOAD_IA32_EFER)
		vmcs_write(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	if (exit & VM_EXIT_LOAD_IA32_PAT)
		vmcs_write(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(HOST_RIP, (uintptr_t)vmx_exit_trampoline);
}

/* One segment of the guest-state area (24.4.1). */
static void guest_segment(unsigned i, uint16_t sel, uint64_t base, uint32_t limit,
			  uint32_t ar)
{
	/* ES, CS, SS, DS, FS, GS, LDTR, TR: consecutive encodings, 2 apart. */
	vmcs_write(GUEST_ES_SELECTOR + 2 * i, sel);
	vmcs_write(GUEST_ES_BASE + 2 * i, base);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, limit);
	vmcs_write(GUEST_ES_AR_BYTES + 2 * i, ar);
}

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

/* Access rights in the VMCS layout (table 24-2). */
#define AR_CODE64 (0xb | SEG_S | SEG_P | SEG_L | SEG_G)         /* 0xa09b */
#define AR_DATA   (0x3 | SEG_S | SEG_P | SEG_DB | SEG_G)        /* 0xc093 */
#define AR_TSS64_BUSY (0xb | SEG_P)                            /* 0x008b */

/* A 64-bit guest in the machine the host runs in: same control
 * registers, page tables, GDT, IDT and TSS; its own stack, whose top
 * holds the return address vmx_guest_return. */
static void init_guest_state(guest_fn_t fn, uint8_t *stack)
{
	struct dtr gdtr = read_gdtr(), idtr = read_idtr();
	uint64_t *top = (uint64_t *)(stack + PAGE_SIZE);
	top[-1] = (uintptr_t)vmx_guest_return;

	vmcs_write(GUEST_CR0, read_cr0());
	vmcs_write(GUEST_CR3, read_cr3());
	vmcs_write(GUEST_CR4, read_cr4());
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_RSP, (uintptr_t)&top[-1]);   /* as after a CALL */
	vmcs_write(GUEST_RIP, (uintptr_t)fn);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);

	guest_segment(SEG_ES, KERNEL_DS, 0, 0xffffffff, AR_DATA);
	guest_segment(SEG_CS, KERNEL_CS, 0, 0xffffffff, AR_CODE64);
	guest_segment(SEG_SS, KERNEL_DS, 0, 0xffffffff, AR_DATA);
	guest_segment(SEG_DS, KERNEL_DS, 0, 0xffffffff, AR_DATA);
	guest_segment(SEG_FS, 0, rdmsr(MSR_IA32_FS_BASE), 0, VMX_AR_UNUSABLE);
	guest_segment(SEG_GS, 0, rdmsr(MSR_IA32_GS_BASE), 0, VMX_AR_UNUSABLE);
	guest_segment(SEG_LDTR, 0, 0, 0, VMX_AR_UNUSABLE);
	guest_segment(SEG_TR, TSS_SEL, (uintptr_t)&tss, sizeof tss - 1, AR_TSS64_BUSY);
	vmcs_write(GUEST_GDTR_BASE, gdtr.base);
	vmcs_write(GUEST_GDTR_LIMIT, gdtr.limit);
	vmcs_write(GUEST_IDTR_BASE, idtr.base);
	vmcs_write(GUEST_IDTR_LIMIT, idtr.limit);

	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	uint64_t entry = vmcs_read(VM_ENTRY_CONTROLS);
	if (entry & VM_ENTRY_LOAD_IA32_EFER)
		vmcs_write(GUEST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	if (entry & VM_ENTRY_LOAD_IA32_PAT)
		vmcs_write(GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ull);   /* no shadow VMCS (24.4.2) */
}

void vmcs_init_guest64(struct vcpu *v, guest_fn_t fn, uint64_t arg,
		       uint32_t pin, uint32_t proc, uint32_t proc2)
{
	if (!v->vmcs) {
		v->vmcs = vmx_alloc_vmcs();
		v->stack = alloc_page();
	}
	/* VMCLEAR: launch state "clear", so the next entry is VMLAUNCH. */
	int r = vmclear((uintptr_t)v->vmcs);
	if (r != VMX_SUCCEED)
		TEST_FAIL("VMCLEAR: %s", vmx_result_name(r));
	*(uint32_t *)v->vmcs = vmx_revision_id();
	r = vmptrld((uintptr_t)v->vmcs);
	if (r != VMX_SUCCEED)
		TEST_FAIL("VMPTRLD: %s", vmx_result_name(r));
	v->launched = false;
	memset(&v->regs, 0, sizeof v->regs);
	v->regs.rdi = arg;
	init_controls(pin, proc, proc2);
	vmcs_init_host_state();
	init_guest_state(fn, v->stack);
}

/* A VM exit leaves the host with GDTR and IDTR limits of 0xFFFF and a TR
 * limit of 0x67 (27.5.2): load the real ones again. LTR needs the TSS
 * descriptor marked available (type 9, not busy 11). */
static void restore_host_tables(const struct dtr *gdtr, const struct dtr *idtr)
{
	__asm__ volatile("lgdt %0" : : "m"(*gdtr) : "memory");
	__asm__ volatile("lidt %0" : : "m"(*idtr) : "memory");
	gdt_set(TSS_SEL >> 3, gdt_get(TSS_SEL >> 3) & ~(2ull << 40));
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)TSS_SEL) : "memory");
}

static void read_exit_info(struct vcpu *v)
{
	v->exit_reason = (uint32_t)vmcs_read(VM_EXIT_REASON);
	v->exit_qual = vmcs_read(EXIT_QUALIFICATION);
	v->exit_insn_len = (uint32_t)vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	v->exit_insn_info = (uint32_t)vmcs_read(VMX_INSTRUCTION_INFO);
	v->exit_intr_info = (uint32_t)vmcs_read(VM_EXIT_INTR_INFO);
	v->exit_intr_error = (uint32_t)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	v->idt_vectoring_info = (uint32_t)vmcs_read(IDT_VECTORING_INFO_FIELD);
	v->idt_vectoring_error = (uint32_t)vmcs_read(IDT_VECTORING_ERROR_CODE);
	v->guest_rip = vmcs_read(GUEST_RIP);
}

uint32_t vmx_run(struct vcpu *v)
{
	struct dtr gdtr = read_gdtr(), idtr = read_idtr();
	uint64_t fl = vmx_enter(&v->regs, v->launched);
	if (fl) {
		/* VMLAUNCH or VMRESUME fell through: nothing was loaded. */
		fault_clear();
		v->entry_result = result_of(fl);
		v->insn_error = v->entry_result == VMX_FAIL_VALID ? vmx_insn_error() : 0;
		return v->exit_reason = VMX_RUN_VMFAIL;
	}
	v->exit_rflags = vmx_exit_rflags;
	v->exit_gdtr_limit = read_gdtr().limit;
	v->exit_idtr_limit = read_idtr().limit;
	restore_host_tables(&gdtr, &idtr);
	v->entry_result = VMX_SUCCEED;
	v->insn_error = 0;
	read_exit_info(v);
	/* A VMCS becomes "launched" only when VMLAUNCH gets as far as the
	 * guest: a failure while loading guest state leaves it clear
	 * (vol. 2C, VMLAUNCH/VMRESUME pseudo-code; 26.7). */
	if (!(v->exit_reason & EXIT_REASON_FAILED_VMENTRY))
		v->launched = true;
	return v->exit_reason;
}

static _Noreturn void unexpected_exit(const struct vcpu *v, uint32_t want)
{
	if (v->exit_reason == VMX_RUN_VMFAIL) {
		if (v->entry_result == VMX_FAIL_VALID)
			TEST_FAIL("want exit %u (%s); %s failed: VMfailValid, error %u (%s)",
				  want, vmx_exit_reason_name(want),
				  v->launched ? "VMRESUME" : "VMLAUNCH", v->insn_error,
				  vmx_insn_error_name(v->insn_error));
		TEST_FAIL("want exit %u (%s); %s failed: %s", want, vmx_exit_reason_name(want),
			  v->launched ? "VMRESUME" : "VMLAUNCH",
			  vmx_result_name(v->entry_result));
	}
	TEST_FAIL("want exit 0x%x (%s), got 0x%x (%s), qualification 0x%lx, "
		  "interruption info 0x%x, guest RIP 0x%lx",
		  want, vmx_exit_reason_name(want), v->exit_reason,
		  vmx_exit_reason_name(v->exit_reason), v->exit_qual, v->exit_intr_info,
		  v->guest_rip);
}

void vmx_run_expect(struct vcpu *v, uint32_t want)
{
	if (vmx_run(v) != want)
		unexpected_exit(v, want);
}

void vmx_run_expect_len(struct vcpu *v, uint32_t want, uint32_t len)
{
	vmx_run_expect(v, want);
	if (len)
		TEST_ASSERT_EQ(v->exit_insn_len, len);
}

void vmx_skip_instruction(struct vcpu *v)
{
	vmcs_write(GUEST_RIP, v->guest_rip + v->exit_insn_len);
}

bool vmx_guest_done(const struct vcpu *v)
{
	return v->exit_reason == EXIT_REASON_VMCALL && v->regs.rax == VMX_HC_DONE;
}

uint64_t vmx_run_to_done(struct vcpu *v)
{
	vmx_run_expect(v, EXIT_REASON_VMCALL);
	if (!vmx_guest_done(v))
		TEST_FAIL("VMCALL 0x%lx from the guest before it returned", v->regs.rax);
	return v->regs.rdi;
}

uint64_t vmx_expect_vmcall(struct vcpu *v, uint64_t nr)
{
	vmx_run_expect(v, EXIT_REASON_VMCALL);
	if (v->regs.rax != nr)
		TEST_FAIL("VMCALL 0x%lx from the guest, want 0x%lx", v->regs.rax, nr);
	vmx_skip_instruction(v);
	return v->regs.rdi;
}

/* ---- decoding an exit ---- */

uint64_t vmx_guest_gpr(const struct vcpu *v, unsigned n)
{
	/* struct vcpu_regs has its own order, without RSP. */
	switch (n) {
	case GPR_RAX: return v->regs.rax;
	case GPR_RCX: return v->regs.rcx;
	case GPR_RDX: return v->regs.rdx;
	case GPR_RBX: return v->regs.rbx;
	case GPR_RSP: return vmcs_read(GUEST_RSP);
	case GPR_RBP: return v->regs.rbp;
	case GPR_RSI: return v->regs.rsi;
	case GPR_RDI: return v->regs.rdi;
	case GPR_R8: return v->regs.r8;
	case GPR_R9: return v->regs.r9;
	case GPR_R10: return v->regs.r10;
	case GPR_R11: return v->regs.r11;
	case GPR_R12: return v->regs.r12;
	case GPR_R13: return v->regs.r13;
	case GPR_R14: return v->regs.r14;
	case GPR_R15: return v->regs.r15;
	default: TEST_FAIL("register number %u", n);
	}
}

/* Instruction information for a memory operand (tables 27-13, 27-14):
 * scaling in bits 1:0, address size in 9:7 (0 = 16, 1 = 32, 2 = 64 bits),
 * segment in 17:15 (ES, CS, SS, DS, FS, GS: the order of the VMCS's
 * guest segment fields), index register in 21:18 unless bit 22, base
 * register in 26:23 unless bit 27. */
uint64_t vmx_exit_operand_addr(const struct vcpu *v)
{
	uint32_t info = v->exit_insn_info;
	unsigned scale = info & 3, asize = (info >> 7) & 7, seg = (info >> 15) & 7;
	uint64_t offset = v->exit_qual;   /* the displacement, sign-extended */
	if (!(info & (1u << 27)))
		offset += vmx_guest_gpr(v, (info >> 23) & 0xf);
	if (!(info & (1u << 22)))
		offset += vmx_guest_gpr(v, (info >> 18) & 0xf) << scale;
	if (asize == 2) {
		/* 64-bit mode: only FS and GS have a base (vol. 3A, 3.4.4). */
		if (seg == 4 || seg == 5)
			offset += vmcs_read(GUEST_ES_BASE + 2 * seg);
		return offset;
	}
	offset &= asize == 0 ? 0xffff : 0xffffffff;
	return (vmcs_read(GUEST_ES_BASE + 2 * seg) + offset) & 0xffffffff;
}
