/* A nested hypervisor with VMCS shadowing (SDM vol. 3C, 24.6.15, 24.10,
 * 27.2-27.5, 30.3): the way KVM runs a hypervisor as its guest, made small.
 *
 * Three levels on one CPU:
 *   L1  this test, in VMX root operation: the only real hypervisor.
 *   L2  a hypervisor that L1 runs as its guest with VMCS01. Its VMXON,
 *       VMCLEAR, VMPTRLD, VMLAUNCH and VMRESUME exit to L1, which emulates
 *       them. Its VMREADs and VMWRITEs do not exit: VMCS shadowing sends
 *       them to a shadow VMCS, which L1 keeps as L2's VMCS (VMCS12).
 *   L3  L2's guest. L1 runs it with VMCS02: VMCS12's guest state and
 *       exiting controls, L1's host state. Every exit of L3 comes to L1,
 *       which reflects it to L2: it writes the exit into VMCS12 and
 *       resumes L2 at VMCS12's HOST_RIP, as the CPU would have.
 *
 * L2 and L3 are C functions of this image, on the same page tables and
 * identity-mapped memory (vmx.h). L2 uses the same library as L1
 * (vmcs_init_guest64, vmx_run) and cannot tell that its VMX is emulated.
 * L1 counts the exits it takes and compares them with a table: no
 * VMREAD and no VMWRITE among them.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_nested";

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define L3_CPUID_LEAF    0x4c330000u   /* a leaf that only L2 answers */
#define VMX_RESULT_FLAGS 0x8d5ul       /* CF, PF, AF, ZF, SF, OF (30.2) */
#define NREASONS         65            /* basic exit reasons 0-64 (appendix C) */

/* ---- L3: the guest of the guest ---- */

static uint64_t l3_guest(uint64_t unused)
{
	(void)unused;
	struct cpuid_regs r = cpuid(L3_CPUID_LEAF, 0);
	return (uint64_t)r.eax << 48 | (uint64_t)r.ebx << 32 | (uint64_t)r.ecx << 16 | r.edx;
}

/* ---- L2: a hypervisor in VMX non-root operation ---- */

static struct vcpu vcpu12;           /* L3 as L2 runs it, with L2's VMCS12 */
static void *l2_vmxon_region;
static uint32_t l2_seen[4];          /* the exit reasons L2 saw, in order */
static unsigned l2_nseen;

/* vmx_run() in L2: its VMWRITE of HOST_RSP lands in the shadow VMCS,
 * its VMLAUNCH or VMRESUME exits to L1, which runs L3. L3's next exit
 * comes back here through L1, at VMCS12's HOST_RIP, and vmx_run() VMREADs
 * the exit information: from the shadow VMCS, without an exit. */
static void l2_run_expect(uint32_t want)
{
	uint32_t reason = vmx_run(&vcpu12);
	if (l2_nseen < COUNT(l2_seen))
		l2_seen[l2_nseen++] = reason;
	TEST_ASSERT_EQ(reason, want);
}

static uint64_t l2_hypervisor(uint64_t unused)
{
	(void)unused;
	l2_vmxon_region = vmx_alloc_vmcs();
	vmx_expect("L2: VMXON", vmxon((uintptr_t)l2_vmxon_region), VMX_SUCCEED);
	/* VMCLEAR, VMPTRLD, CPUID (is there a PAT?) exit; the VMWRITEs do not. */
	vmcs_init_guest64(&vcpu12, l3_guest, 0, 0, 0, 0);
	printf("L2: VMCLEAR, VMPTRLD and the VMWRITEs of a VMCS for L3: VMsucceed\n");

	l2_run_expect(EXIT_REASON_CPUID);
	TEST_ASSERT_EQ(vcpu12.regs.rax, L3_CPUID_LEAF);
	TEST_ASSERT_EQ(vcpu12.exit_insn_len, 2);
	/* What a real exit leaves (27.5.2, 27.5.3); here L1 made it so. */
	TEST_ASSERT_EQ(vcpu12.exit_rflags, RFLAGS_FIXED);
	TEST_ASSERT_EQ(vcpu12.exit_gdtr_limit, 0xffff);
	printf("L2: exit 10 (CPUID) from L3, leaf 0x%lx, length %u: L2 answers it\n",
	       vcpu12.regs.rax, vcpu12.exit_insn_len);
	vcpu12.regs.rax = 0xa2;
	vcpu12.regs.rbx = 0xb2;
	vcpu12.regs.rcx = 0xc2;
	vcpu12.regs.rdx = 0xd2;
	vmx_skip_instruction(&vcpu12);

	l2_run_expect(EXIT_REASON_VMCALL);
	TEST_ASSERT(vmx_guest_done(&vcpu12));
	printf("L2: exit 18 (VMCALL) from L3: L3 returned 0x%lx\n", vcpu12.regs.rdi);
	return vcpu12.regs.rdi;
}

/* ---- L1: the hypervisor in VMX root operation ---- */

static struct vcpu vcpu01;           /* L2 as L1 runs it (VMCS01) */
static struct vcpu vcpu02;           /* L3 as L1 runs it (VMCS02) */
static uint32_t *vmcs12;             /* the shadow VMCS that holds VMCS12 */

/* What a CPU would keep about L2's VMX operation (23.7, 24.1), kept by
 * L1. Only one VMCS12: its data live in the shadow VMCS, its launch state
 * here. (KVM keeps any number, copying them on VMPTRLD and VMCLEAR.) */
static struct {
	bool vmxon;              /* L2 executed VMXON */
	uint64_t vmcs12_ptr;     /* L2's current VMCS, ~0 if none */
	bool vmcs12_launched;    /* its launch state: VMLAUNCH done, no VMCLEAR since */
	bool running_l3;         /* L1 enters L3 (VMCS02) next, not L2 (VMCS01) */
	bool done;               /* L2 returned */
} nested;

static unsigned exits_from_l2[NREASONS], exits_from_l3[NREASONS];

/* The exits L1 expects: L2's VMX instructions but VMREAD and VMWRITE;
 * L2's CPUID (vmcs_init_guest64 asks about PAT); L2's return. */
static const unsigned want_from_l2[NREASONS] = {
	[EXIT_REASON_CPUID] = 1, [EXIT_REASON_VMCALL] = 1, [EXIT_REASON_VMCLEAR] = 1,
	[EXIT_REASON_VMLAUNCH] = 1, [EXIT_REASON_VMPTRLD] = 1, [EXIT_REASON_VMRESUME] = 1,
	[EXIT_REASON_VMXON] = 1,
};
static const unsigned want_from_l3[NREASONS] = {
	[EXIT_REASON_CPUID] = 1, [EXIT_REASON_VMCALL] = 1,
};

/* Guest state (24.4) copied from VMCS12 to VMCS02 at each nested VM
 * entry, and back at each exit of L3 (27.3). */
static const uint32_t guest_state_fields[] = {
	GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_DR7, GUEST_RSP, GUEST_RIP, GUEST_RFLAGS,
	GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
	GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
	GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE,
	GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE,
	GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT,
	GUEST_FS_LIMIT, GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT,
	GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
	GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
	GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT,
	GUEST_IA32_DEBUGCTL, GUEST_SYSENTER_CS, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
	GUEST_IA32_EFER, GUEST_IA32_PAT,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_PENDING_DBG_EXCEPTIONS,
};

/* The exit-information fields (24.9, 27.2): read-only for software, but
 * with IA32_VMX_MISC[29] VMWRITE may write them, which is how L1 shows L2
 * an exit of L3. */
static const uint32_t exit_info_fields[] = {
	VM_EXIT_REASON, EXIT_QUALIFICATION, GUEST_LINEAR_ADDRESS,
	VM_EXIT_INTR_INFO, VM_EXIT_INTR_ERROR_CODE,
	IDT_VECTORING_INFO_FIELD, IDT_VECTORING_ERROR_CODE,
	VM_EXIT_INSTRUCTION_LEN, VMX_INSTRUCTION_INFO,
};

/* What an exit loads from the host-state area, here VMCS12's, into L2:
 * VMCS01's guest state (27.5.1-27.5.3). The selectors (27.5.2) and, with
 * the "load" exit controls, EFER and PAT (27.5.1) are left as they are:
 * VMCS12 has the values L2 runs with, since L2 wrote its own. */
static const struct {
	uint32_t host12, guest01;
} l2_host_state[] = {
	{ HOST_RIP, GUEST_RIP }, { HOST_RSP, GUEST_RSP },
	{ HOST_CR0, GUEST_CR0 }, { HOST_CR3, GUEST_CR3 }, { HOST_CR4, GUEST_CR4 },
	{ HOST_FS_BASE, GUEST_FS_BASE }, { HOST_GS_BASE, GUEST_GS_BASE },
	{ HOST_TR_BASE, GUEST_TR_BASE },
	{ HOST_GDTR_BASE, GUEST_GDTR_BASE }, { HOST_IDTR_BASE, GUEST_IDTR_BASE },
	{ HOST_IA32_SYSENTER_CS, GUEST_SYSENTER_CS },
	{ HOST_IA32_SYSENTER_ESP, GUEST_SYSENTER_ESP },
	{ HOST_IA32_SYSENTER_EIP, GUEST_SYSENTER_EIP },
};

/* The exiting controls L2 may ask for that need no other VMCS field.
 * VMCS02 has them on top of L1's, which ask for no exit of their own: so
 * L3 exits exactly when L2 wants it to, and L1 reflects every exit. */
#define L2_EXITING_CONTROLS                                                      \
	(CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING | CPU_BASED_MWAIT_EXITING | \
	 CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING | CPU_BASED_MOV_DR_EXITING | \
	 CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_MONITOR_EXITING | CPU_BASED_PAUSE_EXITING)

static void make_current(void *vmcs)
{
	int r = vmptrld((uintptr_t)vmcs);
	if (r != VMX_SUCCEED)
		TEST_FAIL("VMPTRLD: %s", vmx_result_name(r));
}

/* L1 reaches VMCS12 with VMREAD and VMWRITE after making the shadow VMCS
 * current, which root operation allows (24.10). Then VMCLEAR: the data
 * go to memory, where L2's shadowed accesses find them, and the shadow
 * VMCS is not active while VMCS01 names it (24.11.1; KVM does the same). */
static void release_vmcs12(void)
{
	int r = vmclear((uintptr_t)vmcs12);
	if (r != VMX_SUCCEED)
		TEST_FAIL("VMCLEAR of the shadow VMCS: %s", vmx_result_name(r));
}

/* Copy fields from one VMCS to another: VMREAD with the first current,
 * VMWRITE with the second. */
static void copy_fields(void *from, void *to, const uint32_t *fields, unsigned n)
{
	uint64_t value[COUNT(guest_state_fields)];
	TEST_ASSERT(n <= COUNT(value));
	make_current(from);
	for (unsigned i = 0; i < n; i++)
		value[i] = vmcs_read(fields[i]);
	make_current(to);
	for (unsigned i = 0; i < n; i++)
		vmcs_write(fields[i], value[i]);
	if (from == vmcs12 || to == vmcs12)
		release_vmcs12();
}

/* ---- L1 emulates L2's VMX instructions (vol. 2C, chapter 6; 30.3) ----
 * L2 is not expected to fail any of them: where the CPU would VMfail,
 * the test fails instead, with the error the CPU would give in a
 * comment. */

/* The 64-bit memory operand of the instruction L2 exited on. L2's memory
 * is L1's, identity-mapped: its linear address is the physical one. */
static uint64_t l2_operand(void)
{
	return *(const uint64_t *)vmx_exit_operand_addr(&vcpu01);
}

/* VMsucceed (30.2): CF, PF, AF, ZF, SF and OF cleared in L2's RFLAGS,
 * and L2's RIP past the instruction. */
static void l2_succeed(void)
{
	vmcs_clear_bits(GUEST_RFLAGS, VMX_RESULT_FLAGS);
	vmx_skip_instruction(&vcpu01);
}

/* L2's current VMCS, or none (~0). With one, VMCS shadowing is on and the
 * link pointer names the shadow VMCS; without, L2's VMREAD and VMWRITE
 * must exit again, for L1 to fail them as the CPU would (VMfailInvalid,
 * or #UD before VMXON). KVM switches shadowing the same way. */
static void set_current_vmcs12(uint64_t pa)
{
	nested.vmcs12_ptr = pa;
	if (pa == ~0ull) {
		vmcs_clear_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_VMCS_SHADOWING);
		vmcs_write(VMCS_LINK_POINTER, ~0ull);
	} else {
		vmcs_write(VMCS_LINK_POINTER, (uintptr_t)vmcs12);
		vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_VMCS_SHADOWING);
	}
}

static void emulate_vmxon(void)
{
	uint64_t pa = l2_operand();
	TEST_ASSERT(!nested.vmxon);                   /* VMfailValid 15 */
	TEST_ASSERT_EQ(pa & 0xfff, 0);                /* VMfailInvalid */
	TEST_ASSERT_EQ(*(uint32_t *)pa, vmx_revision_id());   /* VMfailInvalid */
	TEST_ASSERT_EQ(pa, (uintptr_t)l2_vmxon_region);       /* L1 decoded it right */
	nested.vmxon = true;
	nested.vmcs12_ptr = ~0ull;
	l2_succeed();
	printf("L2 -> L1: exit 27 (VMXON): L1 finds the operand, L2's VMXON region, "
	       "and records that L2 is in VMX operation; VMsucceed\n");
}

static void emulate_vmclear(void)
{
	uint64_t pa = l2_operand();
	TEST_ASSERT(nested.vmxon);
	TEST_ASSERT_EQ(pa, (uintptr_t)vcpu12.vmcs);   /* the one VMCS12 L1 keeps */
	if (pa == nested.vmcs12_ptr)
		set_current_vmcs12(~0ull);
	nested.vmcs12_launched = false;
	l2_succeed();
	printf("L2 -> L1: exit 19 (VMCLEAR): VMCS12's launch state is clear; VMsucceed\n");
}

static void emulate_vmptrld(void)
{
	uint64_t pa = l2_operand();
	TEST_ASSERT(nested.vmxon);
	TEST_ASSERT_EQ(*(uint32_t *)pa, vmx_revision_id());   /* VMfailValid 11 */
	TEST_ASSERT_EQ(pa, (uintptr_t)vcpu12.vmcs);           /* the one VMCS12 */
	set_current_vmcs12(pa);
	l2_succeed();
	printf("L2 -> L1: exit 21 (VMPTRLD): VMCS12 is current; VMCS shadowing on, "
	       "VMCS01's link pointer on the shadow VMCS; VMsucceed\n");
}

/* L2's own CPUID: L1's business, not reflected anywhere. */
static void emulate_cpuid(void)
{
	struct vcpu_regs *r = &vcpu01.regs;
	uint32_t leaf = (uint32_t)r->rax;
	struct cpuid_regs c = cpuid(leaf, (uint32_t)r->rcx);
	r->rax = c.eax;
	r->rbx = c.ebx;
	r->rcx = c.ecx;
	r->rdx = c.edx;
	vmx_skip_instruction(&vcpu01);
	printf("L2 -> L1: exit 10 (CPUID): L1 answers leaf 0x%x itself\n", leaf);
}

/* L2's VMWRITEs made no exit (L1 counts them all), yet VMCS12 has what
 * L2 wrote: L3's RIP, an RSP on L3's stack, a HOST_RSP for L2's exit
 * handler. */
static void check_l2_vmwrites(void)
{
	make_current(vmcs12);
	TEST_ASSERT_EQ(vmcs_read(GUEST_RIP), (uintptr_t)l3_guest);
	TEST_ASSERT(vmcs_read(GUEST_RSP) - (uintptr_t)vcpu12.stack < PAGE_SIZE);
	TEST_ASSERT(vmcs_read(HOST_RSP) != 0);
	release_vmcs12();
	TEST_ASSERT_EQ(exits_from_l2[EXIT_REASON_VMWRITE], 0);
	printf("L1: no VMWRITE exited, and VMCS12 (the shadow VMCS) holds L2's values\n");
}

/* ---- nested VM entry and exit ---- */

/* L2's VMLAUNCH or VMRESUME: VMCS02 gets VMCS12's guest state and
 * exiting controls, on L1's other controls and L1's host state, so that
 * L3's exits come to L1. A VM entry leaves the general registers alone:
 * L3 starts with the ones L2 had. A full L1 checks VMCS12 as VM entry
 * would (chapter 26) and fails L2's instruction; here an entry to L3
 * that fails fails the test (count_exit). */
static void enter_l3(bool launch)
{
	TEST_ASSERT(nested.vmcs12_ptr != ~0ull);           /* VMfailInvalid */
	TEST_ASSERT_EQ(nested.vmcs12_launched, !launch);   /* VMfailValid 4 or 5 */
	make_current(vmcs12);
	uint32_t proc12 = (uint32_t)vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	release_vmcs12();
	if (launch)
		vmcs_init_guest64(&vcpu02, NULL, 0, 0, 0, 0);   /* guest state below */
	copy_fields(vmcs12, vcpu02.vmcs, guest_state_fields, COUNT(guest_state_fields));
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL,
		   vmx_adjust_ctls(VMX_CTLS_PROC, proc12 & L2_EXITING_CONTROLS));
	vcpu02.regs = vcpu01.regs;
	nested.vmcs12_launched = true;
	nested.running_l3 = true;
	printf("L2 -> L1: exit %u (%s): VMCS02 from VMCS12's guest state and L1's host "
	       "state; L1 runs L3\n", vcpu01.exit_reason, launch ? "VMLAUNCH" : "VMRESUME");
}

/* VMCS12's host state into VMCS01's guest state, and the values an
 * exit gives whatever the host state (27.5.2, 27.5.3). */
static void load_l2_host_state(void)
{
	uint64_t value[COUNT(l2_host_state)];
	make_current(vmcs12);
	for (unsigned i = 0; i < COUNT(l2_host_state); i++)
		value[i] = vmcs_read(l2_host_state[i].host12);
	release_vmcs12();
	make_current(vcpu01.vmcs);
	for (unsigned i = 0; i < COUNT(l2_host_state); i++)
		vmcs_write(l2_host_state[i].guest01, value[i]);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_TR_LIMIT, 0x67);
}

/* An exit of L3, made L2's (27.2-27.5): the exit information and L3's
 * guest state into VMCS12, VMCS12's host state into L2. L2's general
 * registers are L3's: an exit does not change them. */
static void reflect_exit_to_l2(void)
{
	copy_fields(vcpu02.vmcs, vmcs12, exit_info_fields, COUNT(exit_info_fields));
	copy_fields(vcpu02.vmcs, vmcs12, guest_state_fields, COUNT(guest_state_fields));
	load_l2_host_state();
	vcpu01.regs = vcpu02.regs;
	nested.running_l3 = false;
}

/* ---- L1's run loop ---- */

static void count_exit(unsigned *counts, const struct vcpu *v, const char *who)
{
	if (v->exit_reason == VMX_RUN_VMFAIL)
		TEST_FAIL("VM entry to %s: %s, error %u (%s)", who,
			  vmx_result_name(v->entry_result), v->insn_error,
			  vmx_insn_error_name(v->insn_error));
	if (v->exit_reason >= NREASONS)
		TEST_FAIL("VM entry to %s failed: exit reason 0x%x, qualification 0x%lx", who,
			  v->exit_reason, v->exit_qual);
	counts[v->exit_reason]++;
}

static void run_l2(void)
{
	make_current(vcpu01.vmcs);
	vmx_run(&vcpu01);
	count_exit(exits_from_l2, &vcpu01, "L2");
	switch (vcpu01.exit_reason) {
	case EXIT_REASON_VMXON: emulate_vmxon(); break;
	case EXIT_REASON_VMCLEAR: emulate_vmclear(); break;
	case EXIT_REASON_VMPTRLD: emulate_vmptrld(); break;
	case EXIT_REASON_CPUID: emulate_cpuid(); break;
	case EXIT_REASON_VMLAUNCH:
		check_l2_vmwrites();
		enter_l3(true);
		break;
	case EXIT_REASON_VMRESUME: enter_l3(false); break;
	case EXIT_REASON_VMCALL:
		TEST_ASSERT(vmx_guest_done(&vcpu01));
		nested.done = true;
		printf("L2 -> L1: exit 18 (VMCALL): L2 returned 0x%lx\n", vcpu01.regs.rdi);
		break;
	default:
		TEST_FAIL("exit %u (%s) from L2 at RIP 0x%lx", vcpu01.exit_reason,
			  vmx_exit_reason_name(vcpu01.exit_reason), vcpu01.guest_rip);
	}
}

static void run_l3(void)
{
	make_current(vcpu02.vmcs);
	vmx_run(&vcpu02);
	count_exit(exits_from_l3, &vcpu02, "L3");
	printf("L3 -> L1: exit %u (%s): reflected to L2\n", vcpu02.exit_reason,
	       vmx_exit_reason_name(vcpu02.exit_reason));
	reflect_exit_to_l2();
}

/* ---- setting up ---- */

static bool nested_supported(void)
{
	if (!vmx_offered(VMX_CTLS_PROC2, SECONDARY_EXEC_VMCS_SHADOWING, "VMCS shadowing") ||
	    !vmx_offered(VMX_CTLS_PROC, CPU_BASED_USE_MSR_BITMAPS, "MSR bitmaps"))
		return false;
	if (!(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_VMWRITE_ANY)) {
		printf("# skipped: VMWRITE to exit-information fields (IA32_VMX_MISC[29] clear)\n");
		return false;
	}
	return true;
}

/* VMCS12 lives in a shadow VMCS: bit 31 of the revision identifier
 * (24.10). VMCLEAR before the first VMPTRLD (24.11.3); then VMWRITE the
 * fields L2 may read before any exit of L3. */
static void setup_vmcs12(void)
{
	vmcs12 = vmx_alloc_vmcs();
	vmcs12[0] |= 1u << 31;
	release_vmcs12();
	make_current(vmcs12);
	for (unsigned i = 0; i < COUNT(exit_info_fields); i++)
		vmcs_write(exit_info_fields[i], 0);
	vmcs_write(VM_INSTRUCTION_ERROR, 0);
	release_vmcs12();
	printf("L1: VMCS12 is a shadow VMCS (revision identifier bit 31), "
	       "set up with VMPTRLD, VMWRITE, VMCLEAR\n");
}

/* VMCS01: L2 on L1's page tables with its own stack. "Activate secondary
 * controls" on, VMCS shadowing off until L2 has a current VMCS. The
 * VMREAD and VMWRITE bitmaps are all zeros: no field makes an exit
 * (24.6.15). The MSR bitmap too: L2 reads the CPU's VMX capability MSRs
 * (a real L1 would show its own). */
static void setup_vmcs01(void)
{
	vmcs_init_guest64(&vcpu01, l2_hypervisor, 0, 0, CPU_BASED_USE_MSR_BITMAPS,
			  SECONDARY_EXEC_VMCS_SHADOWING);
	vmcs_clear_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_VMCS_SHADOWING);
	vmcs_write(MSR_BITMAP, (uintptr_t)alloc_page());
	vmcs_write(VMREAD_BITMAP, (uintptr_t)alloc_page());
	vmcs_write(VMWRITE_BITMAP, (uintptr_t)alloc_page());
}

/* ---- results ---- */

static void check_exit_counts(const char *who, const unsigned *got, const unsigned *want)
{
	printf("exits L1 took from %s:", who);
	for (unsigned r = 0; r < NREASONS; r++)
		if (got[r])
			printf(" %s %u,", vmx_exit_reason_name(r), got[r]);
	printf(" nothing else\n");
	for (unsigned r = 0; r < NREASONS; r++)
		if (got[r] != want[r])
			TEST_FAIL("%u exits %u (%s) from %s, want %u", got[r], r,
				  vmx_exit_reason_name(r), who, want[r]);
}

static void check_results(void)
{
	check_exit_counts("L2 (VMCS01)", exits_from_l2, want_from_l2);
	check_exit_counts("L3 (VMCS02)", exits_from_l3, want_from_l3);
	printf("no VMREAD or VMWRITE exit: L2 used the shadow VMCS\n");
	TEST_ASSERT_EQ(l2_nseen, 2);
	TEST_ASSERT_EQ(l2_seen[0], EXIT_REASON_CPUID);
	TEST_ASSERT_EQ(l2_seen[1], EXIT_REASON_VMCALL);
	printf("L2 saw exits 10 (CPUID) and 18 (VMCALL) from L3, in VMCS12\n");
	TEST_ASSERT_EQ(vcpu01.regs.rdi, 0x00a200b200c200d2ull);
	printf("L3's CPUID, answered by L2, returned 0x%lx through L2 to L1\n",
	       vcpu01.regs.rdi);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	if (!nested_supported()) {
		vmx_off();
		TEST_PASS();
	}
	setup_vmcs12();
	setup_vmcs01();
	while (!nested.done) {
		if (nested.running_l3)
			run_l3();
		else
			run_l2();
	}
	check_results();
	vmx_off();
	TEST_PASS();
}
