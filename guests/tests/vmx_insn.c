/* VMCS maintenance (SDM vol. 3C, 24.1, 24.11 and 30.4; vol. 2C, chapter
 * 6): VMCLEAR, VMPTRLD, VMPTRST, VMREAD and VMWRITE, each with its
 * failures and their VM-instruction error numbers (table 30-1), the
 * register and memory forms of VMREAD/VMWRITE, field widths and the high
 * halves of 64-bit fields, and the launch state that VMLAUNCH, VMRESUME
 * and VMCLEAR keep.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_insn";

static uint64_t current_vmcs(void)
{
	uint64_t pa = 0;
	TEST_ASSERT_EQ(vmptrst(&pa), VMX_SUCCEED);
	return pa;
}

/* VMCALL in VMX root operation outside SMM: VMfail (vol. 2C, VMCALL). */
static int vmcall_root(void)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile("pushfq\n\torq $0x8d5, (%%rsp)\n\tpopfq\n\t"
			 CATCH_ASM("vmcall") "\n\tpushfq\n\tpopq %0"
			 : "=r"(fl) : : "cc", "memory");
	if (last_fault.vector >= 0)
		return VMX_FAULT;
	return (fl & 0x8d5) == RFLAGS_CF ? VMX_FAIL_INVALID :
	       (fl & 0x8d5) == RFLAGS_ZF ? VMX_FAIL_VALID : VMX_BAD_FLAGS;
}

/* ---- without a current VMCS: VMfail is VMfailInvalid (30.2) ---- */

static void test_no_current_vmcs(void)
{
	uint64_t v = 0;
	TEST_ASSERT_EQ(current_vmcs(), ~0ull);
	printf("VMPTRST with no current VMCS: 0xffffffffffffffff\n");
	vmx_expect("VMREAD with no current VMCS", vmread(GUEST_RIP, &v), VMX_FAIL_INVALID);
	vmx_expect("VMWRITE with no current VMCS", vmwrite(GUEST_RIP, 0), VMX_FAIL_INVALID);
	vmx_expect("VMLAUNCH with no current VMCS", vmlaunch(), VMX_FAIL_INVALID);
	vmx_expect("VMRESUME with no current VMCS", vmresume(), VMX_FAIL_INVALID);
	vmx_expect("VMCALL in VMX root operation, no current VMCS", vmcall_root(),
		   VMX_FAIL_INVALID);
	vmx_expect("VMCLEAR of a misaligned address, no current VMCS",
		   vmclear(0x1234), VMX_FAIL_INVALID);
}

/* ---- VMCLEAR and VMPTRLD failures (vol. 2C, VMCLEAR and VMPTRLD) ---- */

static void test_vmclear_vmptrld(void *a, void *b)
{
	uint64_t pa = (uintptr_t)a, beyond = 1ull << vmx_phys_addr_width();
	uint64_t vmxon_pa = (uintptr_t)vmx_vmxon_region();

	vmx_expect("VMPTRLD", vmptrld(pa), VMX_SUCCEED);
	TEST_ASSERT_EQ(current_vmcs(), pa);
	printf("VMPTRST: the VMCS just loaded\n");

	vmx_expect_error("VMCLEAR, address not 4 KiB aligned", vmclear(pa + 8),
			 VMXERR_VMCLEAR_INVALID_ADDRESS);
	vmx_expect_error("VMCLEAR, address beyond the physical-address width",
			 vmclear(beyond), VMXERR_VMCLEAR_INVALID_ADDRESS);
	vmx_expect_error("VMCLEAR of the VMXON region", vmclear(vmxon_pa),
			 VMXERR_VMCLEAR_VMXON_POINTER);
	vmx_expect_error("VMPTRLD, address not 4 KiB aligned", vmptrld(pa + 0x100),
			 VMXERR_VMPTRLD_INVALID_ADDRESS);
	vmx_expect_error("VMPTRLD, address beyond the physical-address width",
			 vmptrld(beyond), VMXERR_VMPTRLD_INVALID_ADDRESS);
	vmx_expect_error("VMPTRLD of the VMXON region", vmptrld(vmxon_pa),
			 VMXERR_VMPTRLD_VMXON_POINTER);
	uint32_t *rev = b;
	rev[0] = vmx_revision_id() + 1;
	vmx_expect_error("VMPTRLD, wrong revision identifier", vmptrld((uintptr_t)b),
			 VMXERR_VMPTRLD_BAD_REVISION);
	/* Bit 31 marks a shadow VMCS, which only a CPU with VMCS shadowing
	 * accepts (24.10; vol. 2C, VMPTRLD). */
	rev[0] = vmx_revision_id() | 1u << 31;
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_VMCS_SHADOWING))
		vmx_expect_error("VMPTRLD of a shadow VMCS without VMCS shadowing",
				 vmptrld((uintptr_t)b), VMXERR_VMPTRLD_BAD_REVISION);
	rev[0] = vmx_revision_id();
	/* None of the failures changed the current VMCS. */
	TEST_ASSERT_EQ(current_vmcs(), pa);
	vmx_expect_error("VMCALL in VMX root operation", vmcall_root(),
			 VMXERR_VMCALL_IN_ROOT);
	printf("the failures left the current VMCS alone\n");
}

/* ---- VMREAD and VMWRITE (24.11.2, vol. 2C) ---- */

static int vmread_to_mem(uint64_t field, uint64_t *dst)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile("pushfq\n\torq $0x8d5, (%%rsp)\n\tpopfq\n\t"
			 CATCH_ASM("vmread %1, (%2)") "\n\tpushfq\n\tpopq %0"
			 : "=&r"(fl) : "r"(field), "r"(dst) : "cc", "memory");
	return last_fault.vector >= 0 ? VMX_FAULT : (fl & 0x8d5) ? VMX_BAD_FLAGS : VMX_SUCCEED;
}

static int vmwrite_from_mem(uint64_t field, const uint64_t *src)
{
	uint64_t fl;
	fault_clear();
	__asm__ volatile("pushfq\n\torq $0x8d5, (%%rsp)\n\tpopfq\n\t"
			 CATCH_ASM("vmwrite (%2), %1") "\n\tpushfq\n\tpopq %0"
			 : "=&r"(fl) : "r"(field), "r"(src) : "cc", "memory");
	return last_fault.vector >= 0 ? VMX_FAULT : (fl & 0x8d5) ? VMX_BAD_FLAGS : VMX_SUCCEED;
}

static void test_operand_forms(void)
{
	/* A memory source for VMWRITE, a register destination for VMREAD,
	 * and the other way round. */
	uint64_t in = 0xffffffff81234567ull, out = 0;
	TEST_ASSERT_EQ(vmwrite_from_mem(GUEST_RIP, &in), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmcs_read(GUEST_RIP), in);
	vmcs_write(GUEST_RSP, 0x7654321ull);
	TEST_ASSERT_EQ(vmread_to_mem(GUEST_RSP, &out), VMX_SUCCEED);
	TEST_ASSERT_EQ(out, 0x7654321ull);
	printf("VMREAD and VMWRITE: register and memory operands\n");
}

static void test_widths(void)
{
	/* A field narrower than the 64-bit operand: VMWRITE drops the high
	 * bits, VMREAD zero-extends (vol. 2C, VMREAD and VMWRITE). */
	uint64_t v = ~0ull;
	vmcs_write(GUEST_ES_SELECTOR, 0xfedcba9876541234ull);
	TEST_ASSERT_EQ(vmread(GUEST_ES_SELECTOR, &v), VMX_SUCCEED);
	TEST_ASSERT_EQ(v, 0x1234);
	v = ~0ull;
	vmcs_write(GUEST_ES_LIMIT, 0xfedcba9812345678ull);
	TEST_ASSERT_EQ(vmread(GUEST_ES_LIMIT, &v), VMX_SUCCEED);
	TEST_ASSERT_EQ(v, 0x12345678);
	vmcs_write(GUEST_ES_BASE, 0xfedcba9812345678ull);
	TEST_ASSERT_EQ(vmcs_read(GUEST_ES_BASE), 0xfedcba9812345678ull);
	printf("16-, 32-bit and natural-width fields: high bits dropped, zero-extended\n");

	/* A 64-bit field through its two access types: encoding + 1 is
	 * bits 63:32 (24.11.2). A write of the high half keeps the low. */
	vmcs_write(TSC_OFFSET, 0x1122334455667788ull);
	TEST_ASSERT_EQ(vmcs_read(TSC_OFFSET + 1), 0x11223344);
	vmcs_write(TSC_OFFSET + 1, 0xffffffffaabbccddull);
	TEST_ASSERT_EQ(vmcs_read(TSC_OFFSET), 0xaabbccdd55667788ull);
	TEST_ASSERT_EQ(vmcs_read(TSC_OFFSET + 1), 0xaabbccdd);
	printf("64-bit field: the high access type reads and writes bits 63:32\n");
}

/* Encodings that name no field: high access type on a field that is not
 * 64 bits wide, reserved bits 31:15 or 63:32 set, an index that does not
 * exist (24.11.2, appendix B). */
static void test_unsupported(void)
{
	static const struct {
		uint64_t field;
		const char *what;
	} bad[] = {
		{ GUEST_ES_LIMIT + 1, "high access type on a 32-bit field" },
		{ GUEST_RIP + 1, "high access type on a natural-width field" },
		{ GUEST_RIP | 0x8000, "reserved bit 15" },
		{ GUEST_RIP | 1ull << 32, "bits 63:32 not 0" },
		{ 0x4c7e, "a 32-bit host-state index that does not exist" },
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char what[96];
		uint64_t v = 0x5555;
		snprintf(what, sizeof what, "VMREAD, %s", bad[i].what);
		vmx_expect_error(what, vmread(bad[i].field, &v), VMXERR_UNSUPPORTED_COMPONENT);
		TEST_ASSERT_EQ(v, 0x5555);
		snprintf(what, sizeof what, "VMWRITE, %s", bad[i].what);
		vmx_expect_error(what, vmwrite(bad[i].field, 0), VMXERR_UNSUPPORTED_COMPONENT);
	}
}

/* The VM-exit information fields are read-only unless IA32_VMX_MISC[29]
 * says VMWRITE may write any field (24.11.2, A.6). */
static void test_read_only(void)
{
	static const uint64_t ro[] = {
		VM_EXIT_REASON, EXIT_QUALIFICATION, VM_EXIT_INTR_INFO,
		GUEST_PHYSICAL_ADDRESS, VM_INSTRUCTION_ERROR,
	};
	bool any = rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_VMWRITE_ANY;
	for (unsigned i = 0; i < sizeof ro / sizeof ro[0]; i++) {
		int r = vmwrite(ro[i], 0x21);
		if (any) {
			TEST_ASSERT_EQ(r, VMX_SUCCEED);
			TEST_ASSERT_EQ(vmcs_read(ro[i]), 0x21);
		} else {
			TEST_ASSERT_EQ(r, VMX_FAIL_VALID);
			TEST_ASSERT_EQ(vmx_insn_error(), VMXERR_VMWRITE_READ_ONLY);
		}
	}
	if (any)
		printf("# IA32_VMX_MISC[29]: VMWRITE to exit-information fields works\n");
	else
		printf("# VMWRITE to exit-information fields: VMfailValid, error 13\n");
	/* Reading them is always allowed. */
	uint64_t v;
	TEST_ASSERT_EQ(vmread(VM_EXIT_REASON, &v), VMX_SUCCEED);
	printf("VM-exit information fields can be read\n");
}

/* ---- VMCLEAR: data written back, launch state "clear" (24.11.3) ---- */

static void test_vmclear_writes_back(void *a, void *b)
{
	uint64_t pa = (uintptr_t)a;
	TEST_ASSERT_EQ(current_vmcs(), pa);
	vmcs_write(GUEST_SYSENTER_ESP, 0xabcdef01ull);
	/* VMCLEAR of a VMCS that is not current leaves the current one. */
	vmx_expect("VMCLEAR of another VMCS", vmclear((uintptr_t)b), VMX_SUCCEED);
	TEST_ASSERT_EQ(current_vmcs(), pa);
	vmx_expect("VMCLEAR of the current VMCS", vmclear(pa), VMX_SUCCEED);
	TEST_ASSERT_EQ(current_vmcs(), ~0ull);
	printf("VMCLEAR of the current VMCS: no current VMCS after it\n");
	/* The revision identifier stays in the region (24.2). */
	TEST_ASSERT_EQ(*(uint32_t *)a, vmx_revision_id());
	TEST_ASSERT_EQ(vmptrld((uintptr_t)b), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmptrld(pa), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmcs_read(GUEST_SYSENTER_ESP), 0xabcdef01ull);
	printf("VMCLEAR, VMPTRLD: the fields written before are back\n");
}

static uint64_t guest_return_7(uint64_t arg)
{
	return arg + 7;
}

/* VMLAUNCH needs a clear VMCS and VMRESUME a launched one (24.1; vol.
 * 2C, VMLAUNCH/VMRESUME); VMCLEAR makes it clear again. */
static void test_launch_state(void)
{
	static struct vcpu v;
	vmcs_init_guest64(&v, guest_return_7, 35, 0, 0, 0);

	v.launched = true;          /* VMRESUME on a clear VMCS */
	TEST_ASSERT_EQ(vmx_run(&v), VMX_RUN_VMFAIL);
	vmx_expect_error("VMRESUME of a clear VMCS", v.entry_result,
			 VMXERR_VMRESUME_NONLAUNCHED_VMCS);

	v.launched = false;
	TEST_ASSERT_EQ(vmx_run_to_done(&v), 42);
	printf("VMLAUNCH: the guest ran and returned 42\n");

	v.launched = false;         /* VMLAUNCH on a launched VMCS */
	TEST_ASSERT_EQ(vmx_run(&v), VMX_RUN_VMFAIL);
	vmx_expect_error("VMLAUNCH of a launched VMCS", v.entry_result,
			 VMXERR_VMLAUNCH_NONCLEAR_VMCS);

	/* VMRESUME works; the guest is still at its VMCALL and exits again. */
	v.launched = true;
	vmx_run_expect(&v, EXIT_REASON_VMCALL);
	printf("VMRESUME of the launched VMCS: VM exit\n");

	uint64_t pa = (uintptr_t)v.vmcs;
	TEST_ASSERT_EQ(vmclear(pa), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmptrld(pa), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmx_run(&v), VMX_RUN_VMFAIL);
	vmx_expect_error("VMRESUME after VMCLEAR", v.entry_result,
			 VMXERR_VMRESUME_NONLAUNCHED_VMCS);
	v.launched = false;
	vmx_run_expect(&v, EXIT_REASON_VMCALL);
	TEST_ASSERT(vmx_guest_done(&v));
	printf("VMLAUNCH after VMCLEAR: VM exit\n");
}

/* A shadow VMCS (bit 31 of its revision) can be made current where VMCS
 * shadowing exists, but VM entry refuses it: VMfailInvalid (26.1). */
static void test_shadow_current(void *b)
{
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_VMCS_SHADOWING)) {
		printf("# skipped: no VMCS shadowing\n");
		return;
	}
	uint32_t *rev = b;
	TEST_ASSERT_EQ(vmclear((uintptr_t)b), VMX_SUCCEED);
	rev[0] = vmx_revision_id() | 1u << 31;
	vmx_expect("# VMPTRLD of a shadow VMCS", vmptrld((uintptr_t)b), VMX_SUCCEED);
	uint64_t v;
	vmx_expect("# VMREAD of the current shadow VMCS", vmread(GUEST_RIP, &v),
		   VMX_SUCCEED);
	vmx_expect("# VMLAUNCH of a shadow VMCS", vmlaunch(), VMX_FAIL_INVALID);
	vmx_expect("# VMRESUME of a shadow VMCS", vmresume(), VMX_FAIL_INVALID);
	TEST_ASSERT_EQ(vmclear((uintptr_t)b), VMX_SUCCEED);
	rev[0] = vmx_revision_id();
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	void *a = vmx_alloc_vmcs(), *b = vmx_alloc_vmcs();
	test_no_current_vmcs();
	test_vmclear_vmptrld(a, b);
	test_operand_forms();
	test_widths();
	test_unsupported();
	test_read_only();
	test_vmclear_writes_back(a, b);
	test_launch_state();
	test_shadow_current(b);
	vmx_off();
	TEST_PASS();
}
