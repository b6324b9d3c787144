/* Entering and leaving VMX operation (SDM vol. 3C, 23.6-23.8; vol. 2C,
 * VMXON and VMXOFF): the capability MSRs that describe it (appendix A),
 * the #UD and #GP cases of VMXON, its VMfailInvalid cases, VMXON inside
 * VMX operation, the CR0/CR4 bits fixed in VMX operation, and VMXOFF.
 *
 * IA32_FEATURE_CONTROL, once locked, stays as it is until reset, so the
 * cases with the MSR unlocked come first; every later case needs it
 * locked with VMX enabled.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_on";

/* ---- the capability MSRs (appendix A) ---- */

static void print_ctls(const char *name, enum vmx_ctls set)
{
	uint64_t m = vmx_ctls_msr(set);
	printf("# %s: must be 1 0x%08x, may be 1 0x%08x\n", name, (uint32_t)m,
	       (uint32_t)(m >> 32));
	/* A control that must be 1 may be 1 (A.3). */
	TEST_ASSERT_EQ((uint32_t)m & ~(uint32_t)(m >> 32), 0);
}

/* The default1 controls are 1 in the allowed 0-settings of the plain
 * (not TRUE) MSRs (A.3.1, A.3.2, A.4, A.5). */
static void check_default1(void)
{
	TEST_ASSERT_EQ((uint32_t)rdmsr(MSR_IA32_VMX_PINBASED_CTLS) & 0x16, 0x16);
	TEST_ASSERT_EQ((uint32_t)rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) & 0x0401e172,
		       0x0401e172);
	TEST_ASSERT_EQ((uint32_t)rdmsr(MSR_IA32_VMX_EXIT_CTLS) & 0x00036dff, 0x00036dff);
	TEST_ASSERT_EQ((uint32_t)rdmsr(MSR_IA32_VMX_ENTRY_CTLS) & 0x000011ff, 0x000011ff);
	printf("default1 controls are reported as 1 in the allowed 0-settings\n");
}

/* Each TRUE_ MSR has the allowed 1-settings of its plain MSR and may
 * only relax default1 bits to 0 (A.3.1). */
static void check_true_ctls(void)
{
	static const uint32_t pairs[][2] = {
		{ MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS },
		{ MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS },
		{ MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS },
		{ MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS },
	};
	if (!(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS)) {
		printf("# no TRUE_ control MSRs\n");
		return;
	}
	for (unsigned i = 0; i < 4; i++) {
		uint64_t plain = rdmsr(pairs[i][0]), tru = rdmsr(pairs[i][1]);
		TEST_ASSERT_EQ(tru >> 32, plain >> 32);
		TEST_ASSERT_EQ((uint32_t)tru & ~(uint32_t)plain, 0);
	}
	printf("# TRUE_ control MSRs consistent with the plain ones\n");
}

static void test_capabilities(void)
{
	TEST_ASSERT(vmx_supported());
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	printf("# IA32_VMX_BASIC 0x%016lx: revision 0x%x, VMCS size %lu, "
	       "memory type %lu\n", basic, vmx_revision_id(), VMX_BASIC_VMCS_SIZE(basic),
	       VMX_BASIC_MEMTYPE(basic));
	/* Bit 31 of the revision is 0; the region is at most 4 KiB; the
	 * memory type is UC (0) or WB (6) (A.1). */
	TEST_ASSERT_EQ(basic & (1ull << 31), 0);
	TEST_ASSERT(VMX_BASIC_VMCS_SIZE(basic) > 0 && VMX_BASIC_VMCS_SIZE(basic) <= 4096);
	TEST_ASSERT(VMX_BASIC_MEMTYPE(basic) == 0 || VMX_BASIC_MEMTYPE(basic) == 6);
	printf("IA32_VMX_BASIC: revision bit 31 clear, region at most 4 KiB\n");

	print_ctls("pin-based", VMX_CTLS_PIN);
	print_ctls("primary processor-based", VMX_CTLS_PROC);
	print_ctls("secondary processor-based", VMX_CTLS_PROC2);
	print_ctls("VM-exit", VMX_CTLS_EXIT);
	print_ctls("VM-entry", VMX_CTLS_ENTRY);
	printf("# IA32_VMX_MISC 0x%016lx, EPT/VPID 0x%016lx\n",
	       rdmsr(MSR_IA32_VMX_MISC),
	       vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_EPT |
				SECONDARY_EXEC_ENABLE_VPID) ?
	       rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0);
	check_default1();
	check_true_ctls();

	/* PE, NE and PG are fixed to 1 in CR0, VMXE in CR4 (A.7, A.8); a
	 * bit fixed to 1 is also allowed to be 1. */
	uint64_t f0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0), f1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	uint64_t g0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0), g1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	printf("# CR0 fixed0 0x%lx fixed1 0x%lx, CR4 fixed0 0x%lx fixed1 0x%lx\n",
	       f0, f1, g0, g1);
	TEST_ASSERT_EQ(f0 & (CR0_PE | CR0_NE | CR0_PG), CR0_PE | CR0_NE | CR0_PG);
	TEST_ASSERT_EQ(g0 & CR4_VMXE, CR4_VMXE);
	TEST_ASSERT_EQ(f0 & ~f1, 0);
	TEST_ASSERT_EQ(g0 & ~g1, 0);
	printf("CR0.PE, CR0.NE, CR0.PG and CR4.VMXE are fixed to 1\n");
}

/* ---- outside VMX operation ---- */

/* Every VMX instruction but VMXON is #UD outside VMX operation (vol. 2C,
 * the "IF (not in VMX operation) ... THEN #UD" of each). VMXON itself is
 * #UD while CR4.VMXE = 0. */
static void expect_all_ud(const char *when, uint64_t page)
{
	char what[96];
	uint64_t v = 0;
	static const char *const names[] = {
		"VMXOFF", "VMCLEAR", "VMPTRLD", "VMPTRST", "VMREAD", "VMWRITE",
		"VMLAUNCH", "VMRESUME", "VMCALL",
	};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		int r;
		switch (i) {
		case 0: r = vmxoff(); break;
		case 1: r = vmclear(page); break;
		case 2: r = vmptrld(page); break;
		case 3: r = vmptrst(&v); break;
		case 4: r = vmread(GUEST_RIP, &v); break;
		case 5: r = vmwrite(GUEST_RIP, 0); break;
		case 6: r = vmlaunch(); break;
		case 7: r = vmresume(); break;
		default:
			fault_clear();
			__asm__ volatile(CATCH_ASM("vmcall") : : : "memory");
			r = last_fault.vector >= 0 ? VMX_FAULT : VMX_SUCCEED;
			break;
		}
		snprintf(what, sizeof what, "%s %s", names[i], when);
		vmx_expect_fault(what, r, VEC_UD);
	}
}

static void test_ud_outside(void *region)
{
	write_cr4(read_cr4() & ~CR4_VMXE);
	vmx_expect_fault("VMXON with CR4.VMXE = 0", vmxon((uintptr_t)region), VEC_UD);
	expect_all_ud("with CR4.VMXE = 0", (uintptr_t)region);
	write_cr4(read_cr4() | CR4_VMXE);
	expect_all_ud("outside VMX operation", (uintptr_t)region);
}

/* VMXON needs IA32_FEATURE_CONTROL locked, with "VMX outside SMX" set
 * (23.7; vol. 2C, VMXON: #GP(0)). Locking is done last: after that,
 * WRMSR to the MSR is #GP(0) until reset (vol. 4, table 2-2). */
static void test_feature_control(void *region)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	write_cr0(vmx_fixed_cr0(read_cr0()));
	if (fc & FEATURE_CONTROL_LOCK) {
		printf("# IA32_FEATURE_CONTROL was locked at boot (0x%lx)\n", fc);
		TEST_ASSERT(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	} else {
		wrmsr(MSR_IA32_FEATURE_CONTROL, 0);
		vmx_expect_fault("VMXON, IA32_FEATURE_CONTROL unlocked, VMX off",
				 vmxon((uintptr_t)region), VEC_GP);
		wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_VMX_OUTSIDE_SMX);
		vmx_expect_fault("VMXON, IA32_FEATURE_CONTROL unlocked, VMX on",
				 vmxon((uintptr_t)region), VEC_GP);
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	}
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	TEST_ASSERT_EQ(try_wrmsr(MSR_IA32_FEATURE_CONTROL, fc & ~FEATURE_CONTROL_LOCK),
		       VEC_GP);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_FEATURE_CONTROL), fc);
	printf("IA32_FEATURE_CONTROL locked: WRMSR #GP\n");
}

/* VMXON in ring 3 (user.h). */
static uint64_t user_vmxon(uint64_t pa)
{
	return (uint64_t)vmxon(pa);
}

static uint64_t user_vmptrst(uint64_t unused)
{
	(void)unused;
	static uint64_t pa;
	return (uint64_t)vmptrst(&pa);
}

/* #GP(0) before any memory operand is looked at: CPL > 0, or CR0/CR4
 * values not allowed in VMX operation (vol. 2C, VMXON). */
static void test_gp(void *region)
{
	vmx_expect_fault("VMXON at CPL 3", (int)user_call(user_vmxon, (uintptr_t)region),
			 VEC_GP);
	write_cr0(read_cr0() & ~CR0_NE);
	int r = vmxon((uintptr_t)region);
	write_cr0(read_cr0() | CR0_NE);
	vmx_expect_fault("VMXON with CR0.NE = 0", r, VEC_GP);
}

/* VMfailInvalid: the region's address or revision identifier is wrong
 * (vol. 2C, VMXON). Nothing changes: still outside VMX operation. */
static void expect_fail_invalid(const char *what, uint64_t pa)
{
	vmx_expect(what, vmxon(pa), VMX_FAIL_INVALID);
	uint64_t v;
	TEST_ASSERT_EQ(vmptrst(&v), VMX_FAULT);
	TEST_ASSERT_EQ(last_fault.vector, VEC_UD);
}

static void test_fail_invalid(uint32_t *region)
{
	uint32_t rev = vmx_revision_id();
	unsigned width = vmx_phys_addr_width();
	printf("# physical-address width for VMX: %u\n", width);
	expect_fail_invalid("VMXON, region not 4 KiB aligned", (uintptr_t)region + 0x800);
	expect_fail_invalid("VMXON, region beyond the physical-address width",
			    1ull << width);
	region[0] = rev ^ 1;
	expect_fail_invalid("VMXON, wrong revision identifier", (uintptr_t)region);
	/* Bit 31 set is a shadow-VMCS revision, never a VMXON region. */
	region[0] = rev | 1u << 31;
	expect_fail_invalid("VMXON, revision identifier with bit 31 set",
			    (uintptr_t)region);
	region[0] = rev;
}

/* ---- in VMX operation ---- */

static int write_cr0_caught(uint64_t v)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %0, %%cr0") : : "r"(v) : "memory");
	return last_fault.vector >= 0 ? VMX_FAULT : VMX_SUCCEED;
}

static int write_cr4_caught(uint64_t v)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %0, %%cr4") : : "r"(v) : "memory");
	return last_fault.vector >= 0 ? VMX_FAULT : VMX_SUCCEED;
}

static void test_in_vmx_operation(uint32_t *region)
{
	uint64_t pa = (uintptr_t)region, v = 0;
	vmx_expect("VMXON", vmxon(pa), VMX_SUCCEED);

	/* VMXON leaves no current VMCS: VMPTRST stores ~0 (vol. 2C, VMXON). */
	TEST_ASSERT_EQ(vmptrst(&v), VMX_SUCCEED);
	TEST_ASSERT_EQ(v, ~0ull);
	printf("VMPTRST after VMXON: no current VMCS\n");

	/* VMXON in VMX root operation: VMfail, which without a current
	 * VMCS is VMfailInvalid, with one VMfailValid(15) (vol. 2C, VMXON
	 * and 30.2, VMfail). */
	vmx_expect("VMXON in VMX operation, no current VMCS", vmxon(pa), VMX_FAIL_INVALID);
	void *vmcs = vmx_alloc_vmcs();
	vmx_expect("VMPTRLD", vmptrld((uintptr_t)vmcs), VMX_SUCCEED);
	vmx_expect_error("VMXON in VMX operation, with a current VMCS", vmxon(pa),
			 VMXERR_VMXON_IN_ROOT);
	vmx_expect_fault("VMXON at CPL 3 in VMX operation",
			 (int)user_call(user_vmxon, pa), VEC_GP);
	vmx_expect_fault("VMPTRST at CPL 3", (int)user_call(user_vmptrst, 0), VEC_GP);

	/* The fixed bits hold in VMX operation: a MOV to CR0 or CR4 that
	 * would clear one is #GP(0) (23.8). */
	vmx_expect_fault("clear CR4.VMXE in VMX operation",
			 write_cr4_caught(read_cr4() & ~CR4_VMXE), VEC_GP);
	vmx_expect_fault("clear CR0.NE in VMX operation",
			 write_cr0_caught(read_cr0() & ~CR0_NE), VEC_GP);
	TEST_ASSERT(read_cr4() & CR4_VMXE);
	TEST_ASSERT(read_cr0() & CR0_NE);

	vmx_expect("VMXOFF", vmxoff(), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmptrst(&v), VMX_FAULT);
	TEST_ASSERT_EQ(last_fault.vector, VEC_UD);
	printf("after VMXOFF: VMPTRST #UD\n");
	/* Outside VMX operation CR4.VMXE may be cleared again. */
	vmx_expect("clear CR4.VMXE after VMXOFF", write_cr4_caught(read_cr4() & ~CR4_VMXE),
		   VMX_SUCCEED);
	write_cr4(read_cr4() | CR4_VMXE);

	/* VMXON again with the same region; again no current VMCS. */
	vmx_expect("VMXON again", vmxon(pa), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmptrst(&v), VMX_SUCCEED);
	TEST_ASSERT_EQ(v, ~0ull);
	vmx_expect("VMXOFF again", vmxoff(), VMX_SUCCEED);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	if (!vmx_supported())
		TEST_FAIL("CPUID.1:ECX.VMX = 0");
	uint32_t *region = vmx_alloc_vmcs();
	test_capabilities();
	test_ud_outside(region);
	test_feature_control(region);
	test_gp(region);
	test_fail_invalid(region);
	test_in_vmx_operation(region);
	TEST_PASS();
}
