/* What VM entry loads and VM exit saves and loads (SDM vol. 3C, 26.3.2,
 * 26.4, 27.3, 27.4, 27.5, 27.6): guest state from the VMCS into the CPU
 * at entry; the guest's registers back into the VMCS at exit, including
 * the blocking by STI and MOV SS; the host state the exit puts back, with
 * its fixed values (RFLAGS, DR7, the descriptor-table limits); and the
 * MSR areas: loaded at entry, stored and loaded at exit, and an entry
 * failing on a bad MSR-load entry (exit reason 34).
 *
 * The guests here use an empty MSR bitmap, so that their RDMSR and WRMSR
 * reach the MSRs without exits.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/paging.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_state";

static struct vcpu vcpu;
static void *empty_msr_bitmap;

static void start(guest_fn_t fn, uint64_t arg)
{
	vmcs_init_guest64(&vcpu, fn, arg, 0, CPU_BASED_USE_MSR_BITMAPS, 0);
	if (!(vmcs_read(CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_USE_MSR_BITMAPS))
		TEST_FAIL("MSR bitmaps not offered");
	vmcs_write(MSR_BITMAP, (uintptr_t)empty_msr_bitmap);
}

static uint64_t expect_report(uint64_t nr)
{
	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	TEST_ASSERT_EQ(vcpu.regs.rax, nr);
	vmx_skip_instruction(&vcpu);
	return vcpu.regs.rdi;
}

static uint64_t read_dr7(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

/* ---- VM entry loads the guest state (26.3.2) ---- */

static uint64_t fs_target = 0x66735f7461726765ull;

static uint64_t guest_report_state(uint64_t unused)
{
	(void)unused;
	uint64_t fs_value;
	__asm__ volatile("movq %%fs:8, %0" : "=r"(fs_value));
	vmcall(1, read_rflags());
	vmcall(2, fs_value);
	vmcall(3, rdmsr(MSR_IA32_EFER));
	vmcall(4, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmcall(5, read_dr7());
	vmcall(6, read_cr3());
	__asm__ volatile("cld" : : : "cc");
	return 0;
}

static void test_entry_loads(void)
{
	uint64_t *tables = alloc_page();
	memcpy(tables, (void *)(read_cr3() & PTE_ADDR), PAGE_SIZE);
	uint64_t host_efer = rdmsr(MSR_IA32_EFER), host_cr3 = read_cr3();

	start(guest_report_state, 0);
	bool efer = vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_LOAD_IA32_EFER;
	bool dbg = vmx_ctl_allowed1(VMX_CTLS_ENTRY, VM_ENTRY_LOAD_DEBUG_CONTROLS);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_DF);
	vmcs_write(GUEST_FS_BASE, (uintptr_t)&fs_target - 8);
	if (efer)
		vmcs_write(GUEST_IA32_EFER, host_efer ^ EFER_SCE);
	vmcs_write(GUEST_SYSENTER_ESP, 0xffff800012345678ull);
	if (dbg) {
		vmcs_set_bits(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_DEBUG_CONTROLS);
		vmcs_write(GUEST_DR7, 0x400 | 1u << 1);     /* G0 */
	}
	vmcs_write(GUEST_CR3, (uintptr_t)tables);

	TEST_ASSERT_EQ(expect_report(1) & (RFLAGS_DF | RFLAGS_IF), RFLAGS_DF);
	TEST_ASSERT_EQ(expect_report(2), fs_target);
	uint64_t seen_efer = expect_report(3);
	if (efer)
		TEST_ASSERT_EQ(seen_efer, host_efer ^ EFER_SCE);
	TEST_ASSERT_EQ(expect_report(4), 0xffff800012345678ull);
	uint64_t seen_dr7 = expect_report(5);
	if (dbg)
		TEST_ASSERT_EQ(seen_dr7, 0x402);
	TEST_ASSERT_EQ(expect_report(6), (uintptr_t)tables);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0);
	/* ... and the exit put the host's back. */
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_EFER), host_efer);
	TEST_ASSERT_EQ(read_cr3(), host_cr3);
	printf("VM entry loads RFLAGS, the FS base, SYSENTER_ESP, CR3%s%s from the "
	       "guest-state area\n", efer ? ", IA32_EFER" : "", dbg ? ", DR7" : "");
}

/* ---- VM exit saves the guest state (27.3) and loads the host's (27.5) ---- */

static uint64_t guest_change_state(uint64_t fs_base)
{
	wrmsr(MSR_IA32_FS_BASE, fs_base);
	wrmsr(MSR_IA32_SYSENTER_CS, 0x77);
	wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) ^ EFER_SCE);
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400ull | 1u << 3) : "memory");
	__asm__ volatile("movw %w0, %%es\n\t"
			 "movw %w1, %%ds\n\t"
			 "std\n\t"
			 "sti\n\t"
			 "vmcall\n\t"          /* in the shadow of STI */
			 "cli\n\t"
			 "cld"
			 : : "r"(USER_DS | 3), "r"(0), "a"(1) : "memory", "cc");
	__asm__ volatile("movw %w0, %%ds\n\t"
			 "movw %w0, %%es\n\t"
			 "movw %%ss, %%cx\n\t"
			 "movw %%cx, %%ss\n\t"
			 "vmcall"              /* in the shadow of MOV SS */
			 : : "r"(KERNEL_DS), "a"(2) : "rcx", "memory");
	return 0;
}

static void check_saved_guest_state(uint64_t fs_base, uint64_t efer_before)
{
	/* Blocking by STI: VMCALL was the instruction after STI (27.3.4). */
	TEST_ASSERT_EQ(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & 3, GUEST_INTR_STATE_STI);
	TEST_ASSERT_EQ(vmcs_read(GUEST_RFLAGS) & (RFLAGS_DF | RFLAGS_IF),
		       RFLAGS_DF | RFLAGS_IF);
	/* ES holds a DPL-3 data segment, accessed; DS is null, so unusable
	 * (27.3.2, table 24-2). */
	TEST_ASSERT_EQ(vmcs_read(GUEST_ES_SELECTOR), USER_DS | 3);
	TEST_ASSERT_EQ(vmcs_read(GUEST_ES_AR_BYTES), 0xc0f3);
	TEST_ASSERT_EQ(vmcs_read(GUEST_ES_LIMIT), 0xffffffff);
	TEST_ASSERT_EQ(vmcs_read(GUEST_DS_SELECTOR), 0);
	TEST_ASSERT(vmcs_read(GUEST_DS_AR_BYTES) & VMX_AR_UNUSABLE);
	TEST_ASSERT_EQ(vmcs_read(GUEST_FS_BASE), fs_base);
	TEST_ASSERT_EQ(vmcs_read(GUEST_SYSENTER_CS), 0x77);
	TEST_ASSERT_EQ(vmcs_read(GUEST_TR_AR_BYTES), 0x8b);
	if (vmcs_read(VM_EXIT_CONTROLS) & VM_EXIT_SAVE_DEBUG_CONTROLS)
		TEST_ASSERT_EQ(vmcs_read(GUEST_DR7), 0x408);
	if (vmcs_read(VM_EXIT_CONTROLS) & VM_EXIT_SAVE_IA32_EFER)
		TEST_ASSERT_EQ(vmcs_read(GUEST_IA32_EFER), efer_before ^ EFER_SCE);
	/* "IA-32e mode guest" follows IA32_EFER.LMA (27.2, 27.3.1). */
	TEST_ASSERT(vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE);
}

static void check_host_state(uint64_t efer, uint64_t fs_base, uint64_t sysenter_cs)
{
	/* RFLAGS is 2 (27.5.3); GDTR and IDTR limits 0xFFFF (27.5.2); DR7
	 * 0x400 (27.5.1); the host's MSRs and selectors are back. */
	TEST_ASSERT_EQ(vcpu.exit_rflags, RFLAGS_FIXED);
	TEST_ASSERT_EQ(vcpu.exit_gdtr_limit, 0xffff);
	TEST_ASSERT_EQ(vcpu.exit_idtr_limit, 0xffff);
	TEST_ASSERT_EQ(read_dr7(), 0x400);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_EFER), efer);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_FS_BASE), fs_base);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_SYSENTER_CS), sysenter_cs);
	TEST_ASSERT_EQ(read_es(), vmcs_read(HOST_ES_SELECTOR));
	TEST_ASSERT_EQ(read_ds(), vmcs_read(HOST_DS_SELECTOR));
}

static void test_exit_saves(void)
{
	const uint64_t guest_fs = 0xffff888000002000ull;
	uint64_t efer = rdmsr(MSR_IA32_EFER), fs_base = rdmsr(MSR_IA32_FS_BASE);
	uint64_t sysenter_cs = rdmsr(MSR_IA32_SYSENTER_CS);
	start(guest_change_state, guest_fs);
	vmcs_set_bits(VM_EXIT_CONTROLS, vmx_adjust_ctls(VMX_CTLS_EXIT, VM_EXIT_SAVE_IA32_EFER) &
		      VM_EXIT_SAVE_IA32_EFER);

	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	check_saved_guest_state(guest_fs, efer);
	printf("VM exit saves RFLAGS, segments (ES with its access rights, DS "
	       "unusable), FS base, SYSENTER_CS, DR7 and blocking by STI\n");
	check_host_state(efer, fs_base, sysenter_cs);
	printf("VM exit loads the host: RFLAGS 2, GDTR/IDTR limits 0xFFFF, DR7 0x400, "
	       "EFER, FS base, SYSENTER_CS, selectors\n");

	/* Blocking by MOV SS: VMCALL right after MOV SS. */
	vmx_skip_instruction(&vcpu);
	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	TEST_ASSERT_EQ(vcpu.regs.rax, 2);
	TEST_ASSERT_EQ(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & 3, GUEST_INTR_STATE_MOV_SS);
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	printf("VM exit in the shadow of MOV SS saves blocking by MOV SS\n");
}

/* ---- the MSR areas (24.7.2, 24.8.2, 26.4, 27.4, 27.6) ---- */

/* An MSR-area entry: the index in bits 31:0, bits 63:32 reserved, then
 * the value (table 24-12). The area is 16-byte aligned. */
struct msr_entry {
	uint32_t index;
	uint32_t reserved;
	uint64_t value;
};

static uint64_t guest_star(uint64_t unused)
{
	(void)unused;
	uint64_t seen = rdmsr(MSR_IA32_STAR);
	wrmsr(MSR_IA32_STAR, 0x0023001000002222ull);
	return seen;
}

static void test_msr_areas(void)
{
	struct msr_entry *load = alloc_page(), *store = alloc_page(), *host = alloc_page();
	uint64_t star = rdmsr(MSR_IA32_STAR);
	/* Two entries for one MSR: loaded in order, the last wins (26.4). */
	load[0] = (struct msr_entry){ MSR_IA32_STAR, 0, 0x0023001000000001ull };
	load[1] = (struct msr_entry){ MSR_IA32_STAR, 0, 0x0023001000001111ull };
	store[0] = (struct msr_entry){ MSR_IA32_STAR, 0, 0 };
	host[0] = (struct msr_entry){ MSR_IA32_STAR, 0, 0x0023001000003333ull };

	start(guest_star, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, (uintptr_t)load);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 2);
	vmcs_write(VM_EXIT_MSR_STORE_ADDR, (uintptr_t)store);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 1);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR, (uintptr_t)host);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 1);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x0023001000001111ull);
	TEST_ASSERT_EQ(store[0].value, 0x0023001000002222ull);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_STAR), 0x0023001000003333ull);
	wrmsr(MSR_IA32_STAR, star);
	printf("MSR areas: loaded at entry in order, stored and loaded at exit\n");
}

/* A bad entry in the VM-entry MSR-load area fails the entry after the
 * guest state was loaded: exit reason 34 with bit 31, qualification the
 * number of the entry, counting from 1 (26.4, 26.7). */
static void expect_msr_load_failure(const char *what, struct msr_entry bad)
{
	struct msr_entry *load = alloc_page();
	load[0] = (struct msr_entry){ MSR_IA32_STAR, 0, rdmsr(MSR_IA32_STAR) };
	load[1] = bad;
	start(guest_star, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, (uintptr_t)load);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 2);
	uint32_t got = vmx_run(&vcpu);
	if (got != (EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_MSR_LOADING) || vcpu.exit_qual != 2)
		TEST_FAIL("%s: got exit reason 0x%x (%s), qualification 0x%lx; want 0x80000022, "
			  "qualification 2", what, got, vmx_exit_reason_name(got),
			  vcpu.exit_qual);
	TEST_ASSERT(!vcpu.launched);
	printf("VM-entry MSR load, %s in entry 2: exit reason 34 | 1 << 31, "
	       "qualification 2\n", what);
}

static void test_msr_load_failures(void)
{
	expect_msr_load_failure("IA32_FS_BASE",
				(struct msr_entry){ MSR_IA32_FS_BASE, 0, 0 });
	expect_msr_load_failure("reserved bits 63:32 set",
				(struct msr_entry){ MSR_IA32_STAR, 1, 0 });
	expect_msr_load_failure("an MSR that does not exist",
				(struct msr_entry){ 0x2badc0de, 0, 0 });
	expect_msr_load_failure("a value WRMSR would refuse",
				(struct msr_entry){ MSR_IA32_LSTAR, 0, 0x0000800000000000ull });
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	empty_msr_bitmap = alloc_page();
	test_entry_loads();
	test_exit_saves();
	test_msr_areas();
	test_msr_load_failures();
	vmx_off();
	TEST_PASS();
}
