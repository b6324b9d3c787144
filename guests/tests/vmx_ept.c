/* Extended page tables and the TLB instructions (SDM vol. 3C, 28.2, 28.3,
 * 27.2.1 table 27-7; vol. 2C, INVEPT and INVVPID): a guest under an EPT
 * identity map; EPT violations for a read, a write and a fetch, with the
 * exit qualification and the guest-physical and guest-linear addresses;
 * the host granting the access, INVEPT, and the guest going on; an EPT
 * misconfiguration; the accessed and dirty flags; and the VMfailValid(28)
 * cases of INVEPT and INVVPID, which also exit when a guest runs them.
 *
 * Everything here depends on the capability MSRs (A.10); a missing
 * feature is skipped with a "# skipped" line.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_ept";

/* EPT paging-structure entries (28.2.2, tables 28-1 to 28-6). */
#define EPT_R        (1ull << 0)
#define EPT_W        (1ull << 1)
#define EPT_X        (1ull << 2)
#define EPT_RWX      (EPT_R | EPT_W | EPT_X)
#define EPT_WB       (6ull << 3)     /* leaf memory type: write-back */
#define EPT_LARGE    (1ull << 7)
#define EPT_ACCESSED (1ull << 8)
#define EPT_DIRTY    (1ull << 9)
#define EPT_ADDR     0x000ffffffffff000ull

/* The EPT pointer (24.6.11): memory type, walk length - 1, A/D enable. */
#define EPTP_WB       6ull
#define EPTP_WALK4    (3ull << 3)
#define EPTP_AD       (1ull << 6)

/* IA32_VMX_EPT_VPID_CAP (A.10). */
#define CAP_WALK4          (1ull << 6)
#define CAP_WB             (1ull << 14)
#define CAP_2M             (1ull << 16)
#define CAP_INVEPT         (1ull << 20)
#define CAP_AD             (1ull << 21)
#define CAP_INVEPT_SINGLE  (1ull << 25)
#define CAP_INVEPT_ALL     (1ull << 26)
#define CAP_INVVPID        (1ull << 32)
#define CAP_INVVPID_ADDR   (1ull << 40)
#define CAP_INVVPID_SINGLE (1ull << 41)
#define CAP_INVVPID_ALL    (1ull << 42)

/* EPT-violation exit qualification (table 27-7). */
#define EQ_READ        (1u << 0)
#define EQ_WRITE       (1u << 1)
#define EQ_FETCH       (1u << 2)
#define EQ_READABLE    (1u << 3)
#define EQ_WRITABLE    (1u << 4)
#define EQ_EXECUTABLE  (1u << 5)
#define EQ_LINEAR      (1u << 7)      /* the guest-linear address is valid */
#define EQ_TRANSLATION (1u << 8)      /* ... and was being translated */
#define EQ_DEFINED     0x1bfu         /* bits this test relies on */

static struct vcpu vcpu;
static uint64_t caps;
static uint64_t *ept_pml4;
static uint64_t *ept_pt;           /* the 4 KiB entries of the first 4 MiB */
static uint64_t eptp;

/* Test pages, inside the first 4 MiB (the image's .bss). */
static uint8_t *page_np, *page_ro, *page_nx, *page_mc, *page_ad;

/* An identity map of the first 4 GiB: 2 MiB pages, except the first
 * 4 MiB (the image), which two page tables map 4 KiB at a time. */
static void build_ept(bool ad)
{
	uint64_t *pdpt = alloc_page();
	ept_pml4 = alloc_page();
	ept_pml4[0] = (uintptr_t)pdpt | EPT_RWX;
	for (uint64_t g = 0; g < 4; g++) {
		uint64_t *pd = alloc_page();
		pdpt[g] = (uintptr_t)pd | EPT_RWX;
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (g << 30 | i << 21) | EPT_RWX | EPT_WB | EPT_LARGE;
	}
	ept_pt = alloc_pages(2);
	for (uint64_t i = 0; i < 1024; i++)
		ept_pt[i] = i << 12 | EPT_RWX | EPT_WB;
	uint64_t *pd0 = (uint64_t *)(uintptr_t)(pdpt[0] & EPT_ADDR);
	pd0[0] = (uintptr_t)ept_pt | EPT_RWX;
	pd0[1] = (uintptr_t)(ept_pt + 512) | EPT_RWX;
	eptp = (uintptr_t)ept_pml4 | EPTP_WB | EPTP_WALK4 | (ad ? EPTP_AD : 0);
}

static uint64_t *ept_leaf(const void *page)
{
	uintptr_t pa = (uintptr_t)page;
	if (pa >= 4u << 20)
		TEST_FAIL("page 0x%lx above 4 MiB", pa);
	return &ept_pt[pa >> 12];
}

static void start(guest_fn_t fn)
{
	vmcs_init_guest64(&vcpu, fn, 0, 0, 0, SECONDARY_EXEC_ENABLE_EPT);
	vmcs_write(EPT_POINTER, eptp);
}

static void invept_single(void)
{
	int r = (caps & CAP_INVEPT_SINGLE) ? invept(1, eptp) : invept(2, 0);
	TEST_ASSERT_EQ(r, VMX_SUCCEED);
}

/* ---- a guest under EPT ---- */

static uint64_t guest_plain(uint64_t unused)
{
	(void)unused;
	return 0x6570;
}

static uint64_t guest_violations(uint64_t unused)
{
	(void)unused;
	uint8_t v = *(volatile uint8_t *)page_np;        /* not present */
	*(volatile uint8_t *)(page_ro + 5) = 1;          /* read-only */
	((void (*)(void))page_nx)();                     /* not executable */
	return v + page_ro[5];
}

/* Run to an EPT violation and check it: the access, the permissions the
 * entries gave, the addresses (27.2.1, 27.2.5). */
static void expect_violation(const void *page, uint64_t offset, uint32_t qual)
{
	vmx_run_expect(&vcpu, EXIT_REASON_EPT_VIOLATION);
	if ((vcpu.exit_qual & EQ_DEFINED) != qual)
		TEST_FAIL("EPT violation qualification 0x%lx, want 0x%x in bits 0x%x",
			  vcpu.exit_qual, qual, EQ_DEFINED);
	TEST_ASSERT_EQ(vmcs_read(GUEST_PHYSICAL_ADDRESS), (uintptr_t)page + offset);
	TEST_ASSERT_EQ(vmcs_read(GUEST_LINEAR_ADDRESS), (uintptr_t)page + offset);
}

static void test_violations(void)
{
	start(guest_plain);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x6570);
	printf("a guest under an EPT identity map runs\n");

	page_nx[0] = 0xc3;                                /* RET */
	page_np[0] = 0x11;
	*ept_leaf(page_np) = 0;
	*ept_leaf(page_ro) = (uintptr_t)page_ro | EPT_R | EPT_WB;
	*ept_leaf(page_nx) = (uintptr_t)page_nx | EPT_R | EPT_W | EPT_WB;
	start(guest_violations);

	expect_violation(page_np, 0, EQ_READ | EQ_LINEAR | EQ_TRANSLATION);
	*ept_leaf(page_np) = (uintptr_t)page_np | EPT_RWX | EPT_WB;
	invept_single();
	printf("read of a page EPT does not map: exit 48, read, no permissions\n");

	expect_violation(page_ro, 5, EQ_WRITE | EQ_READABLE | EQ_LINEAR | EQ_TRANSLATION);
	*ept_leaf(page_ro) |= EPT_W;
	invept_single();
	printf("write to a read-only page: exit 48, write, readable\n");

	expect_violation(page_nx, 0, EQ_FETCH | EQ_READABLE | EQ_WRITABLE | EQ_LINEAR |
			 EQ_TRANSLATION);
	*ept_leaf(page_nx) |= EPT_X;
	invept_single();
	printf("fetch from a page that is not executable: exit 48, fetch, readable "
	       "and writable\n");

	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x11 + 1);
	printf("after each fix and INVEPT the guest goes on where it stopped\n");

	/* The guest's own page walk meets the missing page: bit 8 clear, an
	 * access to a paging-structure entry; the guest-physical address is
	 * that of the PML4 entry, the linear address the one being
	 * translated, here the first instruction (27.2.1). */
	uint64_t pml4 = read_cr3() & EPT_ADDR;
	uint64_t *leaf = ept_leaf((void *)pml4), saved = *leaf;
	*leaf = 0;
	invept_single();
	start(guest_plain);
	vmx_run_expect(&vcpu, EXIT_REASON_EPT_VIOLATION);
	TEST_ASSERT_EQ(vcpu.exit_qual & EQ_DEFINED, EQ_READ | EQ_LINEAR);
	TEST_ASSERT_EQ(vmcs_read(GUEST_PHYSICAL_ADDRESS), pml4 + 8 * 0);
	TEST_ASSERT_EQ(vmcs_read(GUEST_LINEAR_ADDRESS), (uintptr_t)guest_plain);
	*leaf = saved;
	invept_single();
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x6570);
	printf("the guest's page walk reaching a page EPT does not map: exit 48, "
	       "bit 8 clear, the address of the PML4 entry\n");
}

/* ---- an EPT misconfiguration (28.3.3.1) ---- */

static uint64_t guest_misconfig(uint64_t unused)
{
	(void)unused;
	return *(volatile uint8_t *)page_mc;
}

static void test_misconfig(void)
{
	page_mc[0] = 0x4d;
	/* Writable but not readable is a misconfiguration, not a violation. */
	*ept_leaf(page_mc) = (uintptr_t)page_mc | EPT_W | EPT_WB;
	start(guest_misconfig);
	vmx_run_expect(&vcpu, EXIT_REASON_EPT_MISCONFIG);
	TEST_ASSERT_EQ(vmcs_read(GUEST_PHYSICAL_ADDRESS), (uintptr_t)page_mc);
	*ept_leaf(page_mc) = (uintptr_t)page_mc | EPT_RWX | EPT_WB;
	invept_single();
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x4d);
	printf("a write-only EPT entry: exit 49, the guest-physical address\n");
}

/* ---- an unrestricted guest in real mode (26.3.1, 27.2) ---- */

/* 16-bit code: MOV AX, 1234h; VMCALL; MOV EAX, CR0; VMCALL. */
static const uint8_t real_mode_code[] = {
	0xb8, 0x34, 0x12,
	0x0f, 0x01, 0xc1,
	0x0f, 0x20, 0xc0,
	0x0f, 0x01, 0xc1,
};

/* A real-mode segment for the VMCS: the base is free with unrestricted
 * guest; limit 64 KiB; present, accessed, DPL 0 (table 24-2). */
static void real_segment(uint32_t sel_field, uint64_t base, uint32_t ar)
{
	unsigned i = (sel_field - GUEST_ES_SELECTOR) / 2;
	vmcs_write(GUEST_ES_SELECTOR + 2 * i, 0);
	vmcs_write(GUEST_ES_BASE + 2 * i, base);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, 0xffff);
	vmcs_write(GUEST_ES_AR_BYTES + 2 * i, ar);
}

/* "Unrestricted guest" lets CR0.PE and CR0.PG be 0 (26.3.1.1); it needs
 * EPT, and guest-physical = linear while paging is off. */
static void test_unrestricted_guest(void)
{
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_UNRESTRICTED_GUEST)) {
		printf("# skipped: unrestricted guest (not offered)\n");
		return;
	}
	uint8_t *code = alloc_page(), *stack = alloc_page();
	memcpy(code, real_mode_code, sizeof real_mode_code);
	vmcs_init_guest64(&vcpu, guest_plain, 0, 0, 0,
			  SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
	vmcs_write(EPT_POINTER, eptp);
	vmcs_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
	if (vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_LOAD_IA32_EFER)
		vmcs_clear_bits(GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	vmcs_write(GUEST_CR0, read_cr0() & ~(CR0_PE | CR0_PG));
	vmcs_write(GUEST_CR4, CR4_VMXE);
	real_segment(GUEST_CS_SELECTOR, (uintptr_t)code, 0x9b);
	real_segment(GUEST_SS_SELECTOR, (uintptr_t)stack, 0x93);
	real_segment(GUEST_DS_SELECTOR, 0, 0x93);
	real_segment(GUEST_ES_SELECTOR, 0, 0x93);
	real_segment(GUEST_FS_SELECTOR, 0, 0x93);
	real_segment(GUEST_GS_SELECTOR, 0, 0x93);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0x3ff);
	vmcs_write(GUEST_RIP, 0);
	vmcs_write(GUEST_RSP, 0xff0);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);

	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	TEST_ASSERT_EQ(vcpu.exit_insn_len, 3);
	TEST_ASSERT_EQ(vcpu.regs.rax & 0xffff, 0x1234);
	TEST_ASSERT_EQ(vcpu.guest_rip, 3);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	TEST_ASSERT_EQ(vcpu.regs.rax & (CR0_PE | CR0_PG), 0);
	TEST_ASSERT_EQ(vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE, 0);
	TEST_ASSERT_EQ(vmcs_read(GUEST_CS_BASE), (uintptr_t)code);
	printf("unrestricted guest in real mode: 16-bit code runs, VMCALL exits, "
	       "the guest sees CR0.PE = 0\n");
}

/* ---- accessed and dirty flags (28.2.5) ---- */

static uint64_t guest_touch(uint64_t write)
{
	if (write)
		page_ad[0] = 1;
	return page_ad[1];
}

static void test_accessed_dirty(void)
{
	if (!(caps & CAP_AD)) {
		printf("# skipped: EPT accessed and dirty flags (not offered)\n");
		return;
	}
	uint64_t plain = eptp;
	eptp |= EPTP_AD;
	uint64_t *leaf = ept_leaf(page_ad);

	/* With the flags on, the walk's access to a read-only guest PML4 is
	 * a write: an EPT violation (28.2.3.2) that reports a read and a
	 * write (table 27-7). */
	uint64_t *pml4_ro = ept_leaf((void *)(read_cr3() & EPT_ADDR)), saved = *pml4_ro;
	*pml4_ro &= ~EPT_W;
	invept_single();
	vmcs_init_guest64(&vcpu, guest_touch, 0, 0, 0, SECONDARY_EXEC_ENABLE_EPT);
	vmcs_write(EPT_POINTER, eptp);
	vmx_run_expect(&vcpu, EXIT_REASON_EPT_VIOLATION);
	TEST_ASSERT_EQ(vcpu.exit_qual & EQ_DEFINED, EQ_READ | EQ_WRITE | EQ_READABLE |
		       EQ_EXECUTABLE | EQ_LINEAR);
	*pml4_ro = saved;
	invept_single();
	vmx_run_to_done(&vcpu);
	printf("EPTP bit 6: the guest's page walk writes, so a read-only EPT mapping of "
	       "its PML4 is a violation\n");

	/* The guest's PML4: the walks of the guest's own paging structures
	 * count as writes for the EPT flags (28.2.5). */
	uint64_t *pml4_leaf = ept_leaf((void *)(read_cr3() & EPT_ADDR));
	*leaf &= ~(EPT_ACCESSED | EPT_DIRTY);
	*pml4_leaf &= ~(EPT_ACCESSED | EPT_DIRTY);
	invept_single();
	vmcs_init_guest64(&vcpu, guest_touch, 0, 0, 0, SECONDARY_EXEC_ENABLE_EPT);
	vmcs_write(EPT_POINTER, eptp);
	vmx_run_to_done(&vcpu);
	TEST_ASSERT_EQ(*leaf & (EPT_ACCESSED | EPT_DIRTY), EPT_ACCESSED);
	TEST_ASSERT_EQ(*pml4_leaf & (EPT_ACCESSED | EPT_DIRTY), EPT_ACCESSED | EPT_DIRTY);
	vmcs_init_guest64(&vcpu, guest_touch, 1, 0, 0, SECONDARY_EXEC_ENABLE_EPT);
	vmcs_write(EPT_POINTER, eptp);
	vmx_run_to_done(&vcpu);
	TEST_ASSERT_EQ(*leaf & (EPT_ACCESSED | EPT_DIRTY), EPT_ACCESSED | EPT_DIRTY);
	eptp = plain;
	printf("EPTP bit 6: a read sets the EPT accessed flag, a write the dirty flag; "
	       "the guest's page walks set both\n");
}

/* ---- INVEPT and INVVPID (vol. 2C) ---- */

static void expect_28(const char *what, int r)
{
	vmx_expect_error(what, r, VMXERR_INVALID_INVEPT_INVVPID);
}

static void test_inv_instructions(void)
{
	/* A VMCS must be current for VMfailValid. */
	start(guest_plain);
	if (caps & CAP_INVEPT) {
		expect_28("INVEPT type 0 (not defined)", invept(0, eptp));
		expect_28("INVEPT type 3 (not defined)", invept(3, eptp));
		if (caps & CAP_INVEPT_SINGLE)
			expect_28("INVEPT single-context, EPTP with memory type 2",
				  invept(1, (eptp & ~7ull) | 2));
		if (caps & CAP_INVEPT_ALL)
			vmx_expect("INVEPT all-context", invept(2, 0), VMX_SUCCEED);
	} else {
		printf("# skipped: INVEPT (not offered)\n");
	}
	if (caps & CAP_INVVPID) {
		expect_28("INVVPID type 4 (not defined)", invvpid(4, 1, 0));
		if (caps & CAP_INVVPID_ADDR) {
			expect_28("INVVPID individual address, VPID 0", invvpid(0, 0, 0x1000));
			expect_28("INVVPID individual address, not canonical",
				  invvpid(0, 1, 0x0000800000000000ull));
			vmx_expect("INVVPID individual address", invvpid(0, 1, 0x1000),
				   VMX_SUCCEED);
		}
		if (caps & CAP_INVVPID_SINGLE)
			expect_28("INVVPID single-context, VPID 0", invvpid(1, 0, 0));
		if (caps & CAP_INVVPID_ALL)
			vmx_expect("INVVPID all-context", invvpid(2, 0, 0), VMX_SUCCEED);
	} else {
		printf("# skipped: INVVPID (not offered)\n");
	}
}

static uint64_t inv_descriptor[2];

static uint64_t guest_inv(uint64_t unused)
{
	(void)unused;
	__asm__ volatile("invept (%0), %1" : : "r"(inv_descriptor), "r"(2ull) : "memory");
	__asm__ volatile("invvpid (%0), %1" : : "r"(inv_descriptor), "r"(2ull) : "memory");
	return 0;
}

/* In VMX non-root operation both exit unconditionally (25.1.2). */
static void test_inv_in_guest(void)
{
	if (!(caps & CAP_INVEPT) || !(caps & CAP_INVVPID)) {
		printf("# skipped: INVEPT/INVVPID in a guest (not offered)\n");
		return;
	}
	start(guest_inv);
	vmx_run_expect(&vcpu, EXIT_REASON_INVEPT);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect(&vcpu, EXIT_REASON_INVVPID);
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	printf("INVEPT and INVVPID in the guest: exits 50 and 53\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_EPT)) {
		printf("# skipped: EPT (not offered)\n");
		vmx_off();
		TEST_PASS();
	}
	caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(caps & CAP_WALK4) || !(caps & CAP_WB) || !(caps & CAP_2M))
		TEST_FAIL("EPT without 4-level walks, WB or 2 MiB pages: 0x%lx", caps);
	page_np = alloc_page();
	page_ro = alloc_page();
	page_nx = alloc_page();
	page_mc = alloc_page();
	page_ad = alloc_page();
	build_ept(false);
	test_violations();
	test_misconfig();
	test_unrestricted_guest();
	test_inv_instructions();
	test_inv_in_guest();
	test_accessed_dirty();
	vmx_off();
	TEST_PASS();
}
