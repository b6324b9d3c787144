/* VT-x from the guest's side: a small library for test guests that act as
 * a hypervisor (SDM vol. 3C, chapters 23-31 and appendices A-C).
 *
 * The pieces, in the order a hypervisor uses them:
 *   - the capability MSRs (appendix A) and vmx_adjust_ctls(), which forces
 *     every control to a setting the CPU allows;
 *   - vmx_on(): IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits, CR4.VMXE,
 *     a VMXON region, VMXON (23.7);
 *   - one wrapper per VMX instruction, returning the architectural result
 *     (30.2: VMsucceed, VMfailInvalid, VMfailValid) or VMX_FAULT when the
 *     instruction raised an exception (caught as in catch.h);
 *   - vmcs_init_guest64(): a VMCS for a 64-bit guest that runs a C
 *     function of this image, on the same page tables, GDT and IDT, with a
 *     stack of its own;
 *   - vmx_run(): VMLAUNCH or VMRESUME, and back at the exit trampoline
 *     (HOST_RIP) with the guest's registers and the exit information.
 *
 * Field, control and exit-reason names follow the SDM (appendix B, the
 * control tables of 24.6-24.8, appendix C) so that each can be looked up. */
#ifndef GUESTS_LIB_VMX_H
#define GUESTS_LIB_VMX_H

#include <stdbool.h>
#include <stdint.h>

/* Control-register bits x86.h does not name (SDM vol. 3, 2.5). */
#ifndef CR0_MP
#define CR0_MP   (1ul << 1)
#endif
#ifndef CR0_TS
#define CR0_TS   (1ul << 3)
#endif
#ifndef CR0_NE
#define CR0_NE   (1ul << 5)
#endif
#ifndef CR4_VMXE
#define CR4_VMXE (1ul << 13)
#endif
#ifndef CR4_OSXSAVE
#define CR4_OSXSAVE (1ul << 18)
#endif

/* ---- MSRs (SDM vol. 4, table 2-2; vol. 3C, appendix A) ---- */

#define MSR_IA32_FEATURE_CONTROL        0x0000003au
#define FEATURE_CONTROL_LOCK            (1ull << 0)
#define FEATURE_CONTROL_VMX_INSIDE_SMX  (1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

#define MSR_IA32_SYSENTER_CS   0x00000174u
#define MSR_IA32_SYSENTER_ESP  0x00000175u
#define MSR_IA32_SYSENTER_EIP  0x00000176u
#define MSR_IA32_DEBUGCTL      0x000001d9u
#define MSR_IA32_PAT           0x00000277u

#define MSR_IA32_VMX_BASIC            0x480u
#define MSR_IA32_VMX_PINBASED_CTLS    0x481u
#define MSR_IA32_VMX_PROCBASED_CTLS   0x482u
#define MSR_IA32_VMX_EXIT_CTLS        0x483u
#define MSR_IA32_VMX_ENTRY_CTLS       0x484u
#define MSR_IA32_VMX_MISC             0x485u
#define MSR_IA32_VMX_CR0_FIXED0       0x486u
#define MSR_IA32_VMX_CR0_FIXED1       0x487u
#define MSR_IA32_VMX_CR4_FIXED0       0x488u
#define MSR_IA32_VMX_CR4_FIXED1       0x489u
#define MSR_IA32_VMX_VMCS_ENUM        0x48au
#define MSR_IA32_VMX_PROCBASED_CTLS2  0x48bu
#define MSR_IA32_VMX_EPT_VPID_CAP     0x48cu
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS  0x48du
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48eu
#define MSR_IA32_VMX_TRUE_EXIT_CTLS      0x48fu
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS     0x490u
#define MSR_IA32_VMX_VMFUNC           0x491u

/* IA32_VMX_BASIC (A.1). */
#define VMX_BASIC_REVISION_MASK  0x7fffffffull    /* bits 30:0 */
#define VMX_BASIC_VMCS_SIZE(b)   (((b) >> 32) & 0x1fff)
#define VMX_BASIC_32BIT_ADDRESSES (1ull << 48)    /* VMXON/VMCS below 4 GiB */
#define VMX_BASIC_MEMTYPE(b)     (((b) >> 50) & 0xf)
#define VMX_BASIC_INOUT          (1ull << 54)     /* instruction info for INS/OUTS */
#define VMX_BASIC_TRUE_CTLS      (1ull << 55)     /* the TRUE_ control MSRs exist */
#define VMX_BASIC_NO_HW_ERRCODE_CHECK (1ull << 56)

/* IA32_VMX_MISC (A.6). */
#define VMX_MISC_PREEMPTION_SHIFT(m) ((m) & 0x1f)
#define VMX_MISC_ACTIVITY_HLT        (1ull << 6)
#define VMX_MISC_CR3_TARGETS(m)      (((m) >> 16) & 0x1ff)
#define VMX_MISC_VMWRITE_ANY         (1ull << 29)  /* VMWRITE to exit-info fields */
#define VMX_MISC_ZERO_LEN_INJECT     (1ull << 30)  /* instruction length 0 allowed */

/* ---- VMCS field encodings (appendix B) ---- */

/* The encodings come from the table the model itself uses
 * (vmx/vmcs_fields.def, names as in the SDM): one list for both sides. */
enum vmcs_field {
#define FIELD(name, encoding, group, sdm) name = encoding,
#include "../../vmx/vmcs_fields.def"
#undef FIELD
};

/* ---- VM-execution, exit and entry controls (24.6-24.8) ---- */

/* Pin-based VM-execution controls (table 24-5). */
#define PIN_BASED_EXT_INTR_EXITING  (1u << 0)
#define PIN_BASED_NMI_EXITING       (1u << 3)
#define PIN_BASED_VIRTUAL_NMIS      (1u << 5)
#define PIN_BASED_PREEMPTION_TIMER  (1u << 6)
#define PIN_BASED_POSTED_INTR       (1u << 7)

/* Primary processor-based VM-execution controls (table 24-6). */
#define CPU_BASED_INTR_WINDOW_EXITING  (1u << 2)
#define CPU_BASED_USE_TSC_OFFSETTING   (1u << 3)
#define CPU_BASED_HLT_EXITING          (1u << 7)
#define CPU_BASED_INVLPG_EXITING       (1u << 9)
#define CPU_BASED_MWAIT_EXITING        (1u << 10)
#define CPU_BASED_RDPMC_EXITING        (1u << 11)
#define CPU_BASED_RDTSC_EXITING        (1u << 12)
#define CPU_BASED_CR3_LOAD_EXITING     (1u << 15)
#define CPU_BASED_CR3_STORE_EXITING    (1u << 16)
#define CPU_BASED_CR8_LOAD_EXITING     (1u << 19)
#define CPU_BASED_CR8_STORE_EXITING    (1u << 20)
#define CPU_BASED_USE_TPR_SHADOW       (1u << 21)
#define CPU_BASED_NMI_WINDOW_EXITING   (1u << 22)
#define CPU_BASED_MOV_DR_EXITING       (1u << 23)
#define CPU_BASED_UNCOND_IO_EXITING    (1u << 24)
#define CPU_BASED_USE_IO_BITMAPS       (1u << 25)
#define CPU_BASED_MONITOR_TRAP_FLAG    (1u << 27)
#define CPU_BASED_USE_MSR_BITMAPS      (1u << 28)
#define CPU_BASED_MONITOR_EXITING      (1u << 29)
#define CPU_BASED_PAUSE_EXITING        (1u << 30)
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS (1u << 31)

/* Secondary processor-based VM-execution controls (table 24-7). */
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES (1u << 0)
#define SECONDARY_EXEC_ENABLE_EPT           (1u << 1)
#define SECONDARY_EXEC_DESC_TABLE_EXITING   (1u << 2)
#define SECONDARY_EXEC_ENABLE_RDTSCP        (1u << 3)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC    (1u << 4)
#define SECONDARY_EXEC_ENABLE_VPID          (1u << 5)
#define SECONDARY_EXEC_WBINVD_EXITING       (1u << 6)
#define SECONDARY_EXEC_UNRESTRICTED_GUEST   (1u << 7)
#define SECONDARY_EXEC_APIC_REGISTER_VIRT   (1u << 8)
#define SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY (1u << 9)
#define SECONDARY_EXEC_PAUSE_LOOP_EXITING   (1u << 10)
#define SECONDARY_EXEC_RDRAND_EXITING       (1u << 11)
#define SECONDARY_EXEC_ENABLE_INVPCID       (1u << 12)
#define SECONDARY_EXEC_ENABLE_VMFUNC        (1u << 13)
#define SECONDARY_EXEC_VMCS_SHADOWING       (1u << 14)
#define SECONDARY_EXEC_RDSEED_EXITING       (1u << 16)
#define SECONDARY_EXEC_ENABLE_PML           (1u << 17)
#define SECONDARY_EXEC_EPT_VIOLATION_VE     (1u << 18)
#define SECONDARY_EXEC_ENABLE_XSAVES        (1u << 20)
#define SECONDARY_EXEC_TSC_SCALING          (1u << 25)

/* VM-exit controls (table 24-13). */
#define VM_EXIT_SAVE_DEBUG_CONTROLS    (1u << 2)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE   (1u << 9)
#define VM_EXIT_LOAD_PERF_GLOBAL_CTRL  (1u << 12)
#define VM_EXIT_ACK_INTR_ON_EXIT       (1u << 15)
#define VM_EXIT_SAVE_IA32_PAT          (1u << 18)
#define VM_EXIT_LOAD_IA32_PAT          (1u << 19)
#define VM_EXIT_SAVE_IA32_EFER         (1u << 20)
#define VM_EXIT_LOAD_IA32_EFER         (1u << 21)
#define VM_EXIT_SAVE_PREEMPTION_TIMER  (1u << 22)
#define VM_EXIT_CLEAR_BNDCFGS          (1u << 23)

/* VM-entry controls (table 24-15). */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS   (1u << 2)
#define VM_ENTRY_IA32E_MODE            (1u << 9)
#define VM_ENTRY_SMM                   (1u << 10)
#define VM_ENTRY_DEACT_DUAL_MONITOR    (1u << 11)
#define VM_ENTRY_LOAD_PERF_GLOBAL_CTRL (1u << 13)
#define VM_ENTRY_LOAD_IA32_PAT         (1u << 14)
#define VM_ENTRY_LOAD_IA32_EFER        (1u << 15)
#define VM_ENTRY_LOAD_BNDCFGS          (1u << 16)

/* The five sets of controls, for vmx_adjust_ctls() and vmx_ctl_allowed1(). */
enum vmx_ctls {
	VMX_CTLS_PIN,      /* IA32_VMX_(TRUE_)PINBASED_CTLS */
	VMX_CTLS_PROC,     /* IA32_VMX_(TRUE_)PROCBASED_CTLS */
	VMX_CTLS_PROC2,    /* IA32_VMX_PROCBASED_CTLS2 */
	VMX_CTLS_EXIT,     /* IA32_VMX_(TRUE_)EXIT_CTLS */
	VMX_CTLS_ENTRY,    /* IA32_VMX_(TRUE_)ENTRY_CTLS */
};

/* ---- exit reasons (appendix C) ---- */

#define EXIT_REASON_EXCEPTION_NMI        0
#define EXIT_REASON_EXTERNAL_INTERRUPT   1
#define EXIT_REASON_TRIPLE_FAULT         2
#define EXIT_REASON_INIT_SIGNAL          3
#define EXIT_REASON_SIPI                 4
#define EXIT_REASON_IO_SMI               5
#define EXIT_REASON_OTHER_SMI            6
#define EXIT_REASON_INTERRUPT_WINDOW     7
#define EXIT_REASON_NMI_WINDOW           8
#define EXIT_REASON_TASK_SWITCH          9
#define EXIT_REASON_CPUID               10
#define EXIT_REASON_GETSEC              11
#define EXIT_REASON_HLT                 12
#define EXIT_REASON_INVD                13
#define EXIT_REASON_INVLPG              14
#define EXIT_REASON_RDPMC               15
#define EXIT_REASON_RDTSC               16
#define EXIT_REASON_RSM                 17
#define EXIT_REASON_VMCALL              18
#define EXIT_REASON_VMCLEAR             19
#define EXIT_REASON_VMLAUNCH            20
#define EXIT_REASON_VMPTRLD             21
#define EXIT_REASON_VMPTRST             22
#define EXIT_REASON_VMREAD              23
#define EXIT_REASON_VMRESUME            24
#define EXIT_REASON_VMWRITE             25
#define EXIT_REASON_VMXOFF              26
#define EXIT_REASON_VMXON               27
#define EXIT_REASON_CR_ACCESS           28
#define EXIT_REASON_MOV_DR              29
#define EXIT_REASON_IO_INSTRUCTION      30
#define EXIT_REASON_RDMSR               31
#define EXIT_REASON_WRMSR               32
#define EXIT_REASON_INVALID_GUEST_STATE 33
#define EXIT_REASON_MSR_LOADING         34
#define EXIT_REASON_MWAIT               36
#define EXIT_REASON_MONITOR_TRAP_FLAG   37
#define EXIT_REASON_MONITOR             39
#define EXIT_REASON_PAUSE               40
#define EXIT_REASON_MACHINE_CHECK       41
#define EXIT_REASON_TPR_BELOW_THRESHOLD 43
#define EXIT_REASON_APIC_ACCESS         44
#define EXIT_REASON_VIRTUALIZED_EOI     45
#define EXIT_REASON_GDTR_IDTR           46
#define EXIT_REASON_LDTR_TR             47
#define EXIT_REASON_EPT_VIOLATION       48
#define EXIT_REASON_EPT_MISCONFIG       49
#define EXIT_REASON_INVEPT              50
#define EXIT_REASON_RDTSCP              51
#define EXIT_REASON_PREEMPTION_TIMER    52
#define EXIT_REASON_INVVPID             53
#define EXIT_REASON_WBINVD              54
#define EXIT_REASON_XSETBV              55
#define EXIT_REASON_APIC_WRITE          56
#define EXIT_REASON_RDRAND              57
#define EXIT_REASON_INVPCID             58
#define EXIT_REASON_VMFUNC              59
#define EXIT_REASON_RDSEED              61
#define EXIT_REASON_XSAVES              63
#define EXIT_REASON_XRSTORS             64

/* Bit 31 of VM_EXIT_REASON: the VM entry failed (26.7). */
#define EXIT_REASON_FAILED_VMENTRY (1u << 31)

/* ---- VM-instruction error numbers (30.4, table 30-1) ---- */

#define VMXERR_VMCALL_IN_ROOT             1
#define VMXERR_VMCLEAR_INVALID_ADDRESS    2
#define VMXERR_VMCLEAR_VMXON_POINTER      3
#define VMXERR_VMLAUNCH_NONCLEAR_VMCS     4
#define VMXERR_VMRESUME_NONLAUNCHED_VMCS  5
#define VMXERR_VMRESUME_AFTER_VMXOFF      6
#define VMXERR_ENTRY_INVALID_CONTROL      7
#define VMXERR_ENTRY_INVALID_HOST_STATE   8
#define VMXERR_VMPTRLD_INVALID_ADDRESS    9
#define VMXERR_VMPTRLD_VMXON_POINTER     10
#define VMXERR_VMPTRLD_BAD_REVISION      11
#define VMXERR_UNSUPPORTED_COMPONENT     12
#define VMXERR_VMWRITE_READ_ONLY         13
#define VMXERR_VMXON_IN_ROOT             15
#define VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS 26
#define VMXERR_INVALID_INVEPT_INVVPID    28

/* ---- event information (24.8.3, 24.9.2, 24.9.3) ---- */

/* VM_ENTRY_INTR_INFO_FIELD, VM_EXIT_INTR_INFO, IDT_VECTORING_INFO_FIELD. */
#define INTR_INFO_VECTOR_MASK      0xffu
#define INTR_INFO_TYPE_MASK        (7u << 8)
#define INTR_TYPE_EXT_INTR         (0u << 8)
#define INTR_TYPE_NMI              (2u << 8)
#define INTR_TYPE_HARD_EXCEPTION   (3u << 8)
#define INTR_TYPE_SOFT_INTR        (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION (5u << 8)
#define INTR_TYPE_SOFT_EXCEPTION   (6u << 8)
#define INTR_TYPE_OTHER_EVENT      (7u << 8)
#define INTR_INFO_DELIVER_CODE     (1u << 11)   /* error code valid */
#define INTR_INFO_NMI_UNBLOCKING   (1u << 12)
#define INTR_INFO_VALID            (1u << 31)

/* GUEST_INTERRUPTIBILITY_INFO (table 24-3). */
#define GUEST_INTR_STATE_STI    (1u << 0)
#define GUEST_INTR_STATE_MOV_SS (1u << 1)
#define GUEST_INTR_STATE_SMI    (1u << 2)
#define GUEST_INTR_STATE_NMI    (1u << 3)

/* GUEST_ACTIVITY_STATE (24.4.2). */
#define GUEST_ACTIVITY_ACTIVE   0
#define GUEST_ACTIVITY_HLT      1
#define GUEST_ACTIVITY_SHUTDOWN 2
#define GUEST_ACTIVITY_WAIT_SIPI 3

/* Segment access rights as the VMCS holds them (24.4.1, table 24-2):
 * the descriptor's type, S, DPL, P in bits 7:0, AVL, L, D/B, G in bits
 * 15:12, and bit 16 "segment unusable". */
#define VMX_AR_UNUSABLE (1u << 16)

/* ---- exit qualifications (27.2.1) ---- */

/* Control-register accesses (table 27-3). */
#define CR_QUAL_CR(q)       ((q) & 0xf)
#define CR_QUAL_TYPE(q)     (((q) >> 4) & 3)
#define CR_TYPE_MOV_TO_CR   0
#define CR_TYPE_MOV_FROM_CR 1
#define CR_TYPE_CLTS        2
#define CR_TYPE_LMSW        3
#define CR_QUAL_LMSW_MEM    (1u << 6)
#define CR_QUAL_GPR(q)      (((q) >> 8) & 0xf)
#define CR_QUAL_LMSW_DATA(q) (((q) >> 16) & 0xffff)

/* I/O instructions (table 27-5). */
#define IO_QUAL_SIZE(q)     (((q) & 7) + 1)     /* 1, 2 or 4 bytes */
#define IO_QUAL_IN          (1u << 3)
#define IO_QUAL_STRING      (1u << 4)
#define IO_QUAL_REP         (1u << 5)
#define IO_QUAL_IMM         (1u << 6)           /* port given as an immediate */
#define IO_QUAL_PORT(q)     (((q) >> 16) & 0xffff)

/* General-purpose register numbers used by exit qualifications and the
 * instruction-information field (tables 27-3, 27-14). */
enum vmx_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
};

/* ---- results of VMX instructions (30.2) ---- */

enum vmx_result {
	VMX_SUCCEED,       /* all arithmetic flags clear */
	VMX_FAIL_INVALID,  /* CF = 1: no current VMCS to hold an error number */
	VMX_FAIL_VALID,    /* ZF = 1: the number is in VM_INSTRUCTION_ERROR */
	VMX_FAULT,         /* an exception; last_fault (catch.h) has it */
	VMX_BAD_FLAGS,     /* a flag pattern none of the three above define */
};

const char *vmx_result_name(int result);
const char *vmx_exit_reason_name(uint32_t reason);
const char *vmx_insn_error_name(uint32_t error);

/* ---- capabilities ---- */

/* CPUID.1:ECX.VMX[bit 5]. */
bool vmx_supported(void);
/* The physical-address width VMX addresses are checked against: 32 when
 * IA32_VMX_BASIC[48] is set, else CPUID.80000008H:EAX[7:0] (A.1). */
unsigned vmx_phys_addr_width(void);
uint32_t vmx_revision_id(void);
/* The capability MSR of a set of controls: the TRUE_ one when
 * IA32_VMX_BASIC[55] says it exists (A.2). */
uint64_t vmx_ctls_msr(enum vmx_ctls set);
/* wanted, with every bit the CPU requires set and every bit it does not
 * allow cleared: bits 31:0 of the MSR are the allowed 0-settings (1 =
 * must be 1), bits 63:32 the allowed 1-settings (0 = must be 0). */
uint32_t vmx_adjust_ctls(enum vmx_ctls set, uint32_t wanted);
/* May every control in bits be 1? (secondary controls also need the
 * primary "activate secondary controls" to be allowed). */
bool vmx_ctl_allowed1(enum vmx_ctls set, uint32_t bits);
/* May every control in bits be 0? */
bool vmx_ctl_allowed0(enum vmx_ctls set, uint32_t bits);

/* For tests: true if every control in bits may be 1; otherwise print
 * "# skipped: what (control not offered)" and return false. */
bool vmx_offered(enum vmx_ctls set, uint32_t bits, const char *what);

/* ---- VMX operation ---- */

/* IA32_FEATURE_CONTROL (lock and "VMX outside SMX" unless already
 * locked), CR0 and CR4 adjusted to the fixed bits, CR4.VMXE, a VMXON
 * region with the revision identifier, VMXON. Fails the test on error. */
void vmx_on(void);
/* The VMXON region vmx_on() used. */
void *vmx_vmxon_region(void);
/* VMXOFF; fails the test on error. */
void vmx_off(void);
/* CR0 and CR4 with the fixed bits of IA32_VMX_CR{0,4}_FIXED{0,1} applied. */
uint64_t vmx_fixed_cr0(uint64_t cr0);
uint64_t vmx_fixed_cr4(uint64_t cr4);

/* ---- the instructions (vol. 2C, chapter 6) ----
 * Each returns an enum vmx_result. Before the instruction every
 * arithmetic flag is set, so that a result that leaves one set shows up
 * as VMX_BAD_FLAGS. Addresses are physical (identity mapping). */
int vmxon(uint64_t pa);
int vmxoff(void);
int vmclear(uint64_t pa);
int vmptrld(uint64_t pa);
int vmptrst(uint64_t *pa);
int vmread(uint64_t field, uint64_t *value);
int vmwrite(uint64_t field, uint64_t value);
int vmlaunch(void);      /* bare: only for tests of its failures */
int vmresume(void);      /* ditto */
int invept(uint64_t type, uint64_t eptp);
int invvpid(uint64_t type, uint16_t vpid, uint64_t linear);

/* VM_INSTRUCTION_ERROR of the current VMCS. */
uint32_t vmx_insn_error(void);

/* For tests: fail unless an instruction's result is the one wanted, then
 * print "what: <result>". vmx_expect_error() wants VMfailValid with error
 * number err in VM_INSTRUCTION_ERROR; vmx_expect_fault() an exception
 * with error code 0 (the only one VMX instructions raise). */
void vmx_expect(const char *what, int got, int want);
void vmx_expect_error(const char *what, int got, uint32_t err);
void vmx_expect_fault(const char *what, int got, int vector);

/* VMREAD/VMWRITE that fail the test unless they succeed. */
uint64_t vmcs_read(uint64_t field);
void vmcs_write(uint64_t field, uint64_t value);
void vmcs_set_bits(uint64_t field, uint64_t bits);
void vmcs_clear_bits(uint64_t field, uint64_t bits);

/* A new VMCS region: zeroed, with the revision identifier. */
void *vmx_alloc_vmcs(void);

/* ---- a guest ---- */

/* Guest general-purpose registers; RSP and RIP are in the VMCS. The
 * order is fixed: vmx_entry.S uses the offsets. */
struct vcpu_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* A guest function: runs in VMX non-root operation with arg in RDI. If it
 * returns, vmx_guest_return() makes a VMCALL with RAX = VMX_HC_DONE and
 * the result in RDI. */
typedef uint64_t (*guest_fn_t)(uint64_t arg);
#define VMX_HC_DONE 0x454e4f44u   /* "DONE" */

struct vcpu {
	struct vcpu_regs regs;   /* first: vmx_entry.S stores here */
	void *vmcs;              /* the VMCS region (4 KiB) */
	uint8_t *stack;          /* the guest's stack page */
	bool launched;           /* VMRESUME next time, not VMLAUNCH */

	/* Filled by vmx_run(): */
	int entry_result;        /* VMX_SUCCEED unless VMLAUNCH/VMRESUME failed */
	uint32_t insn_error;     /* VM_INSTRUCTION_ERROR after VMX_FAIL_VALID */
	uint32_t exit_reason;    /* VM_EXIT_REASON */
	uint64_t exit_qual;      /* EXIT_QUALIFICATION */
	uint32_t exit_insn_len;  /* VM_EXIT_INSTRUCTION_LEN */
	uint32_t exit_insn_info; /* VMX_INSTRUCTION_INFO */
	uint32_t exit_intr_info, exit_intr_error;
	uint32_t idt_vectoring_info, idt_vectoring_error;
	uint64_t guest_rip;      /* GUEST_RIP at the exit */
	/* The host as the exit left it, before vmx_run() repaired it: RFLAGS
	 * and the GDTR and IDTR limits (27.5.2, 27.5.3). */
	uint64_t exit_rflags;
	uint16_t exit_gdtr_limit, exit_idtr_limit;
};

/* What vmx_run() returns when VMLAUNCH/VMRESUME itself failed. */
#define VMX_RUN_VMFAIL 0xffffffffu

/* Make v a guest that runs fn(arg): a VMCS with the host state of the
 * running CPU, a 64-bit guest on the same page tables, GDT and IDT, on a
 * stack page of its own, and the controls given (each passed through
 * vmx_adjust_ctls(); IA-32e mode guest, host address-space size and the
 * EFER/PAT loads are added). The VMCS is made current. v->vmcs and
 * v->stack are allocated on first use and reused (VMCLEAR) after. */
void vmcs_init_guest64(struct vcpu *v, guest_fn_t fn, uint64_t arg,
		       uint32_t pin, uint32_t proc, uint32_t proc2);

/* The five sets of controls of the current VMCS, each passed through
 * vmx_adjust_ctls() ("activate secondary controls" is added when proc2
 * is not 0), and everything else that decides exits set to "nothing":
 * no exception bitmap, CR masks, CR3 targets, MSR areas, TSC offset or
 * event to inject. */
void vmcs_write_controls(uint32_t pin, uint32_t proc, uint32_t proc2, uint32_t exit,
			 uint32_t entry);

/* The host-state area of the current VMCS: the running CPU's control
 * registers, selectors, bases and MSRs, with HOST_RIP at the exit
 * trampoline of vmx_run(). The VM-exit controls must already be written
 * (they decide whether HOST_IA32_EFER and HOST_IA32_PAT are needed). */
void vmcs_init_host_state(void);

/* VMLAUNCH (first time) or VMRESUME, back at the exit. Returns
 * v->exit_reason, or VMX_RUN_VMFAIL with v->entry_result and
 * v->insn_error set. */
uint32_t vmx_run(struct vcpu *v);

/* vmx_run(), failing the test unless the exit reason is want. */
void vmx_run_expect(struct vcpu *v, uint32_t want);

/* The same, and the instruction length must be len (unless len is 0). */
void vmx_run_expect_len(struct vcpu *v, uint32_t want, uint32_t len);

/* GUEST_RIP += VM_EXIT_INSTRUCTION_LEN: step over the exiting instruction. */
void vmx_skip_instruction(struct vcpu *v);

/* True after the guest function returned (VMCALL with VMX_HC_DONE);
 * its result is v->regs.rdi. */
bool vmx_guest_done(const struct vcpu *v);

/* Run until the guest function returns (VMCALL with VMX_HC_DONE); fails
 * on any other exit. Returns the function's result. */
uint64_t vmx_run_to_done(struct vcpu *v);

/* Run to the guest's next vmcall(nr, value), which must have that nr;
 * step over it and return value. */
uint64_t vmx_expect_vmcall(struct vcpu *v, uint64_t nr);

/* ---- decoding an exit ---- */

/* The guest's general-purpose register n, numbered as in exit
 * qualifications and the instruction-information field (enum vmx_gpr;
 * tables 27-3, 27-13, 27-14). RSP is GUEST_RSP of the current VMCS. */
uint64_t vmx_guest_gpr(const struct vcpu *v, unsigned n);

/* The linear address of the memory operand of the instruction that made
 * v exit (VMCLEAR, VMPTRLD, VMPTRST, VMXON; the memory forms of VMREAD,
 * VMWRITE, INVEPT and INVVPID): segment base + base register + index
 * register * scale + displacement, from the instruction information
 * (27.2.5, tables 27-13 and 27-14) and the exit qualification, which
 * holds the displacement (27.2.1). v's VMCS must be current. */
uint64_t vmx_exit_operand_addr(const struct vcpu *v);

/* In the guest: VMCALL with RAX = nr and RDI = arg; returns RAX as the
 * host left it. */
static inline uint64_t vmcall(uint64_t nr, uint64_t arg)
{
	__asm__ volatile("vmcall" : "+a"(nr) : "D"(arg) : "memory");
	return nr;
}

/* Marks the image as a hypervisor that needs VT-x: an ELF note (owner
 * "nestlab", type 1, description "vmx") that nestlab's KVM backend looks
 * for (emu/loader.h, loader_needs_vmx), so that on a host whose KVM offers
 * no nested VMX it can say so before running, and `nestlab compare` can
 * compare the modules bare instead. Use once, at file scope, in an image
 * that needs VMX; guests/lib/multiboot.ld keeps the section. */
#define NESTLAB_NEEDS_VMX()                                                     \
	__attribute__((used, section(".note.nestlab"), aligned(4)))             \
	static const struct {                                                   \
		uint32_t namesz, descsz, type;                                  \
		char name[8], desc[4];                                          \
	} nestlab_note_needs_vmx = { 8, 4, 1, "nestlab", "vmx" }

#endif
