/* VMCS shadowing (SDM vol. 3C, 24.10, 24.6.15, 25.1.3; vol. 2C, VMREAD
 * and VMWRITE): with "VMCS shadowing", a guest's VMREAD and VMWRITE of a
 * field whose bit is clear in the VMREAD or VMWRITE bitmap do not exit:
 * they use the shadow VMCS named by the VMCS link pointer. A set bit
 * exits (reasons 23 and 25); no shadow VMCS makes them VMfailInvalid in
 * the guest. A shadow VMCS carries bit 31 in its revision identifier,
 * and VM entry checks that the link pointer names one (26.3.1.5).
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

const char test_name[] = "vmx_shadow";

static struct vcpu vcpu;
static uint8_t *vmread_bitmap, *vmwrite_bitmap;
static uint32_t *shadow;

/* Bits 14:0 of the field encoding select the bit (24.6.15). */
static void bitmap_set(uint8_t *bm, uint32_t field)
{
	bm[(field & 0x7fff) / 8] |= (uint8_t)(1u << (field % 8));
}

static uint64_t result_flags(uint64_t rflags)
{
	return rflags & 0x8d5;   /* CF, PF, AF, ZF, SF, OF */
}

/* The guest: VMREAD GUEST_RIP and VMWRITE GUEST_RSP (bitmap bits clear),
 * reporting the flags, then VMREAD VM_EXIT_REASON (bit set). */
static uint64_t guest_shadow(uint64_t unused)
{
	(void)unused;
	uint64_t v = 0, fl;
	__asm__ volatile("vmread %2, %0\n\tpushfq\n\tpopq %1"
			 : "+r"(v), "=r"(fl) : "r"((uint64_t)GUEST_RIP) : "cc");
	vmcall(1, v);
	vmcall(2, result_flags(fl));
	__asm__ volatile("vmwrite %1, %2\n\tpushfq\n\tpopq %0"
			 : "=r"(fl) : "r"(0x5678ull), "r"((uint64_t)GUEST_RSP) : "cc");
	vmcall(3, result_flags(fl));
	__asm__ volatile("vmread %1, %0" : "+r"(v) : "r"((uint64_t)VM_EXIT_REASON) : "cc");
	return v;
}

static uint64_t expect_report(uint64_t nr)
{
	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	TEST_ASSERT_EQ(vcpu.regs.rax, nr);
	vmx_skip_instruction(&vcpu);
	return vcpu.regs.rdi;
}

static void start(uint64_t link)
{
	vmcs_init_guest64(&vcpu, guest_shadow, 0, 0, 0, SECONDARY_EXEC_VMCS_SHADOWING);
	vmcs_write(VMREAD_BITMAP, (uintptr_t)vmread_bitmap);
	vmcs_write(VMWRITE_BITMAP, (uintptr_t)vmwrite_bitmap);
	vmcs_write(VMCS_LINK_POINTER, link);
}

static void test_shadow_access(void)
{
	/* Fill the shadow VMCS through VMPTRLD, as software must (24.10). */
	TEST_ASSERT_EQ(vmptrld((uintptr_t)shadow), VMX_SUCCEED);
	vmcs_write(GUEST_RIP, 0x1234);
	vmcs_write(GUEST_RSP, 0);
	TEST_ASSERT_EQ(vmclear((uintptr_t)shadow), VMX_SUCCEED);

	start((uintptr_t)shadow);
	TEST_ASSERT_EQ(expect_report(1), 0x1234);
	TEST_ASSERT_EQ(expect_report(2), 0);
	TEST_ASSERT_EQ(expect_report(3), 0);
	printf("VMREAD and VMWRITE in the guest, bitmap bits clear: no exit, the "
	       "shadow VMCS, VMsucceed\n");
	vmx_run_expect(&vcpu, EXIT_REASON_VMREAD);
	vcpu.regs.rax = 0;
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	printf("VMREAD of a field whose bitmap bit is set: exit 23\n");

	/* The guest's VMWRITE reached the shadow VMCS, not the current one. */
	TEST_ASSERT(vmcs_read(GUEST_RSP) != 0x5678);
	TEST_ASSERT_EQ(vmclear((uintptr_t)vcpu.vmcs), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmptrld((uintptr_t)shadow), VMX_SUCCEED);
	TEST_ASSERT_EQ(vmcs_read(GUEST_RSP), 0x5678);
	TEST_ASSERT_EQ(vmclear((uintptr_t)shadow), VMX_SUCCEED);
	printf("the guest's VMWRITE went to the shadow VMCS\n");
}

/* No shadow VMCS (link pointer ~0): VMfailInvalid, no exit. */
static void test_no_shadow(void)
{
	start(~0ull);
	TEST_ASSERT_EQ(expect_report(1), 0);
	TEST_ASSERT_EQ(expect_report(2), RFLAGS_CF);
	TEST_ASSERT_EQ(expect_report(3), RFLAGS_CF);
	printf("VMREAD and VMWRITE with VMCS shadowing but no shadow VMCS: "
	       "VMfailInvalid in the guest\n");
}

/* With VMCS shadowing the link pointer must name a shadow VMCS: bit 31
 * of its revision set; otherwise the entry fails with qualification 4. */
static void test_link_not_shadow(void)
{
	uint32_t *ordinary = vmx_alloc_vmcs();
	start((uintptr_t)ordinary);
	uint32_t got = vmx_run(&vcpu);
	if (got != (EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_GUEST_STATE) ||
	    vcpu.exit_qual != 4)
		TEST_FAIL("link pointer to an ordinary VMCS: exit reason 0x%x, "
			  "qualification 0x%lx", got, vcpu.exit_qual);
	printf("VMCS shadowing with the link pointer on an ordinary VMCS: exit reason "
	       "33 | 1 << 31, qualification 4\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_VMCS_SHADOWING)) {
		printf("# skipped: VMCS shadowing (not offered)\n");
		vmx_off();
		TEST_PASS();
	}
	vmread_bitmap = alloc_page();
	vmwrite_bitmap = alloc_page();
	bitmap_set(vmread_bitmap, VM_EXIT_REASON);
	shadow = vmx_alloc_vmcs();
	shadow[0] |= 1u << 31;
	test_shadow_access();
	test_no_shadow();
	test_link_not_shadow();
	vmx_off();
	TEST_PASS();
}
