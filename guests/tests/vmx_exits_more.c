/* More VM exits (SDM vol. 3C, chapters 25 and 27), after vmx_exits.c:
 * MOV DR, WBINVD, CR8, RDPMC and PAUSE exiting; descriptor-table
 * exiting with its instruction information; OUTS with a segment
 * override and a 32-bit address size; RDTSCP and INVPCID, which need
 * their "enable" controls; ring
 * 3 in the guest, where faults based on privilege come before exits;
 * and debug exceptions in the exception bitmap.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_exits_more";

static struct vcpu vcpu;

/* ---- MOV DR, WBINVD, CR8, RDPMC, PAUSE, descriptor tables (25.1.3) ---- */

static uint64_t guest_mov_dr(uint64_t unused)
{
	(void)unused;
	uint64_t v;
	__asm__ volatile("mov %%dr7, %0" : "=a"(v));
	__asm__ volatile("mov %0, %%dr7" : : "b"(v | 1) : "memory");
	return v;
}

static uint64_t guest_wbinvd(uint64_t unused)
{
	(void)unused;
	__asm__ volatile("wbinvd" : : : "memory");
	return 3;
}

static uint64_t guest_cr8(uint64_t unused)
{
	(void)unused;
	uint64_t v;
	__asm__ volatile("mov %0, %%cr8" : : "a"(5ull) : "memory");
	__asm__ volatile("mov %%cr8, %0" : "=b"(v));
	return v;
}

static uint64_t guest_rdpmc_pause(uint64_t unused)
{
	(void)unused;
	uint32_t lo, hi;
	__asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(0));
	pause();
	return (uint64_t)hi << 32 | lo;
}

static uint8_t dtr_buffer[32];

static uint64_t guest_descriptor_tables(uint64_t unused)
{
	(void)unused;
	uint64_t tr = 0;
	__asm__ volatile("sgdt 16(%0)" : : "b"(dtr_buffer) : "memory");
	__asm__ volatile("str %0" : "+a"(tr));
	return tr;
}

static void test_more_instruction_controls(void)
{
	/* CR8: the register number 8 in the qualification (table 27-3). */
	if (vmx_offered(VMX_CTLS_PROC, CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING,
			"CR8-load and CR8-store exiting")) {
		vmcs_init_guest64(&vcpu, guest_cr8, 0, 0, CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING, 0);
		vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 4);
		TEST_ASSERT_EQ(vcpu.exit_qual, 8 | CR_TYPE_MOV_TO_CR << 4 | GPR_RAX << 8);
		vmx_skip_instruction(&vcpu);
		vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 4);
		TEST_ASSERT_EQ(vcpu.exit_qual, 8 | CR_TYPE_MOV_FROM_CR << 4 | GPR_RBX << 8);
		vcpu.regs.rbx = 0xd;
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0xd);
		printf("MOV to and from CR8 with CR8 exiting: exit 28, control register 8\n");
	}
	if (vmx_offered(VMX_CTLS_PROC, CPU_BASED_RDPMC_EXITING | CPU_BASED_PAUSE_EXITING,
			"RDPMC and PAUSE exiting")) {
		vmcs_init_guest64(&vcpu, guest_rdpmc_pause, 0, 0, CPU_BASED_RDPMC_EXITING | CPU_BASED_PAUSE_EXITING, 0);
		vmx_run_expect_len(&vcpu, EXIT_REASON_RDPMC, 2);
		vcpu.regs.rax = 0x44;
		vcpu.regs.rdx = 0x1;
		vmx_skip_instruction(&vcpu);
		vmx_run_expect_len(&vcpu, EXIT_REASON_PAUSE, 2);
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x100000044ull);
		printf("RDPMC and PAUSE exiting: exits 15 and 40\n");
	}
	/* Descriptor-table exiting: SGDT with its memory operand, STR with a
	 * register (tables 27-10 and 27-11: bits 29:28 name the instruction,
	 * 0 = SGDT, 1 = STR; the qualification is the displacement). */
	if (vmx_offered(VMX_CTLS_PROC2, SECONDARY_EXEC_DESC_TABLE_EXITING,
			"descriptor-table exiting")) {
		vmcs_init_guest64(&vcpu, guest_descriptor_tables, 0, 0, 0, SECONDARY_EXEC_DESC_TABLE_EXITING);
		vmx_run_expect_len(&vcpu, EXIT_REASON_GDTR_IDTR, 4);
		TEST_ASSERT_EQ(vcpu.exit_insn_info & 0x3fc38780u,
			       2u << 7 | 3u << 15 | 1u << 22 | GPR_RBX << 23 | 0u << 28);
		TEST_ASSERT_EQ(vcpu.exit_qual, 16);
		vmx_skip_instruction(&vcpu);
		vmx_run_expect_len(&vcpu, EXIT_REASON_LDTR_TR, 3);
		TEST_ASSERT_EQ(vcpu.exit_insn_info & 0x30000478u,
			       GPR_RAX << 3 | 1u << 10 | 1u << 28);
		vcpu.regs.rax = 0x30;
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x30);
		printf("SGDT and STR with descriptor-table exiting: exits 46 and 47, "
		       "instruction information\n");
	}
}

static void test_mov_dr_wbinvd(void)
{
	/* MOV DR: bits 2:0 the debug register, bit 4 the direction (1 =
	 * from DR), bits 11:8 the general register (table 27-4). */
	if (vmx_offered(VMX_CTLS_PROC, CPU_BASED_MOV_DR_EXITING, "MOV-DR exiting")) {
		vmcs_init_guest64(&vcpu, guest_mov_dr, 0, 0, CPU_BASED_MOV_DR_EXITING, 0);
		vmx_run_expect_len(&vcpu, EXIT_REASON_MOV_DR, 3);
		TEST_ASSERT_EQ(vcpu.exit_qual, 7 | 1u << 4 | GPR_RAX << 8);
		vcpu.regs.rax = 0x400;
		vmx_skip_instruction(&vcpu);
		vmx_run_expect_len(&vcpu, EXIT_REASON_MOV_DR, 3);
		TEST_ASSERT_EQ(vcpu.exit_qual, 7 | GPR_RBX << 8);
		TEST_ASSERT_EQ(vcpu.regs.rbx, 0x401);
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x400);
		printf("MOV from and to DR7 with MOV-DR exiting: exit 29, qualification\n");
	}
	if (vmx_offered(VMX_CTLS_PROC2, SECONDARY_EXEC_WBINVD_EXITING, "WBINVD exiting")) {
		vmcs_init_guest64(&vcpu, guest_wbinvd, 0, 0, 0, SECONDARY_EXEC_WBINVD_EXITING);
		vmx_run_expect_len(&vcpu, EXIT_REASON_WBINVD, 2);
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 3);
		printf("WBINVD with WBINVD exiting: exit 54\n");
	}
}

/* ---- OUTS (27.2.5, table 27-8) ---- */

static uint8_t io_buffer[16];

static void expect_io(uint64_t qual, uint32_t len)
{
	vmx_run_expect_len(&vcpu, EXIT_REASON_IO_INSTRUCTION, len);
	if (vcpu.exit_qual != qual)
		TEST_FAIL("I/O exit qualification 0x%lx, want 0x%lx", vcpu.exit_qual, qual);
}

static uint64_t guest_outs_variants(uint64_t unused)
{
	(void)unused;
	const uint8_t *src = io_buffer;
	uint64_t n = 1;
	__asm__ volatile("rep outsb %%fs:(%%rsi), (%%dx)"
			 : "+S"(src), "+c"(n) : "d"((uint16_t)0x99) : "memory");
	__asm__ volatile(".byte 0x67\n\toutsb"             /* address size 32 */
			 : "+S"(src) : "d"((uint16_t)0x99) : "memory");
	return 0;
}

/* OUTS with a segment override and with a 32-bit address size: the
 * instruction information names them (27.2.5, table 27-8). */
static void test_outs_variants(void)
{
	if (!(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_INOUT) ||
	    !vmx_ctl_allowed1(VMX_CTLS_PROC, CPU_BASED_UNCOND_IO_EXITING))
		return;
	vmcs_init_guest64(&vcpu, guest_outs_variants, 0, 0, CPU_BASED_UNCOND_IO_EXITING, 0);
	expect_io(IO_QUAL_STRING | IO_QUAL_REP | 0x99u << 16, 3);
	TEST_ASSERT_EQ(vcpu.exit_insn_info & 0x38380, 2u << 7 | 4u << 15);
	TEST_ASSERT_EQ(vmcs_read(GUEST_LINEAR_ADDRESS),
		       vmcs_read(GUEST_FS_BASE) + (uintptr_t)io_buffer);
	vmx_skip_instruction(&vcpu);
	expect_io(IO_QUAL_STRING | 0x99u << 16, 2);
	TEST_ASSERT_EQ(vcpu.exit_insn_info & 0x38380, 1u << 7 | 3u << 15);
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	printf("OUTS with FS: and with a 32-bit address: segment and address size in "
	       "the instruction information\n");
}

/* ---- RDTSCP (25.3) ---- */

static uint64_t guest_rdtscp(uint64_t unused)
{
	(void)unused;
	uint32_t lo, hi, aux;
	fault_clear();
	__asm__ volatile(CATCH_ASM("rdtscp") : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	return last_fault.vector >= 0 ? (uint64_t)last_fault.vector : 0x5c;
}

/* RDTSCP is #UD in a guest unless "enable RDTSCP"; then RDTSC exiting
 * makes it exit with its own reason, 51 (25.3, 25.1.3). */
static void test_rdtscp(void)
{
	if (!cpu_has_ext(CPUID_X1_EDX_RDTSCP) ||
	    !vmx_offered(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_RDTSCP, "enable RDTSCP"))
		return;
	vmcs_init_guest64(&vcpu, guest_rdtscp, 0, 0, 0, 0);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), VEC_UD);
	vmcs_init_guest64(&vcpu, guest_rdtscp, 0, 0, CPU_BASED_RDTSC_EXITING, SECONDARY_EXEC_ENABLE_RDTSCP);
	vmx_run_expect_len(&vcpu, EXIT_REASON_RDTSCP, 3);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x5c);
	printf("RDTSCP: #UD without \"enable RDTSCP\"; with it and RDTSC exiting, "
	       "exit 51\n");
}

static uint64_t guest_rdtscp_value(uint64_t unused)
{
	(void)unused;
	uint32_t lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	vmcall(1, aux);
	return (uint64_t)hi << 32 | lo;
}

/* RDTSCP without RDTSC exiting: TSC offsetting applies, and ECX is the
 * real IA32_TSC_AUX (25.3). */
static void test_rdtscp_offset(void)
{
	if (!cpu_has_ext(CPUID_X1_EDX_RDTSCP) ||
	    !vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_RDTSCP))
		return;
	const uint64_t offset = 1ull << 44;
	uint64_t aux = rdmsr(MSR_IA32_TSC_AUX);
	wrmsr(MSR_IA32_TSC_AUX, 0x77);
	vmcs_init_guest64(&vcpu, guest_rdtscp_value, 0, 0, CPU_BASED_USE_TSC_OFFSETTING, SECONDARY_EXEC_ENABLE_RDTSCP);
	vmcs_write(TSC_OFFSET, offset);
	uint64_t before = rdtsc();
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), 0x77);
	uint64_t seen = vmx_run_to_done(&vcpu);
	TEST_ASSERT(seen >= before + offset && seen <= rdtsc() + offset);
	wrmsr(MSR_IA32_TSC_AUX, aux);
	printf("RDTSCP with TSC offsetting: TSC + TSC_OFFSET, IA32_TSC_AUX in ECX\n");
}

/* ---- INVPCID (25.3, 25.1.3) ---- */

static uint64_t invpcid_descriptor[2] = { 0, 0x1000 };

static uint64_t guest_invpcid(uint64_t unused)
{
	(void)unused;
	fault_clear();
	__asm__ volatile(CATCH_ASM("invpcid (%0), %1")
			 : : "r"(invpcid_descriptor), "r"(0ull) : "memory");
	return last_fault.vector >= 0 ? (uint64_t)last_fault.vector : 0x1c;
}

/* INVPCID is #UD in a guest unless "enable INVPCID"; then INVLPG exiting
 * makes it exit (reason 58). */
static void test_invpcid(void)
{
	if (!(cpuid(7, 0).ebx & (1u << 10)) ||
	    !vmx_offered(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_INVPCID, "enable INVPCID"))
		return;
	vmcs_init_guest64(&vcpu, guest_invpcid, 0, 0, 0, 0);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), VEC_UD);
	vmcs_init_guest64(&vcpu, guest_invpcid, 0, 0, CPU_BASED_INVLPG_EXITING, SECONDARY_EXEC_ENABLE_INVPCID);
	vmx_run_expect_len(&vcpu, EXIT_REASON_INVPCID, 5);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x1c);
	printf("INVPCID: #UD without \"enable INVPCID\"; with it and INVLPG exiting, "
	       "exit 58\n");
}

/* ---- exceptions (25.2, 27.2.2) ---- */

static void expect_exception(uint32_t info)
{
	vmx_run_expect_len(&vcpu, EXIT_REASON_EXCEPTION_NMI, 0);
	if (vcpu.exit_intr_info != info)
		TEST_FAIL("VM_EXIT_INTR_INFO 0x%x, want 0x%x", vcpu.exit_intr_info, info);
}

static uint64_t guest_single_step(uint64_t unused)
{
	(void)unused;
	__asm__ volatile("pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "nop\n\t"                  /* #DB after this one */
			 "nop" : : : "memory", "cc");
	__asm__ volatile(".byte 0xf1" : : : "memory");   /* INT1 (ICEBP) */
	return 0;
}

/* ---- ring 3 in the guest (25.1.1) ---- */

/* In ring 3 of the guest (user.h): each returns the vector it raised
 * (caught in the guest), or 0x100 when the instruction completed. */
static uint64_t user_privileged(uint64_t which)
{
	fault_clear();
	switch (which) {
	case 0: __asm__ volatile(CATCH_ASM("hlt") : : : "memory"); break;
	case 1: __asm__ volatile(CATCH_ASM("inb $0x80, %%al") : : : "rax", "memory"); break;
	case 2: __asm__ volatile(CATCH_ASM("rdmsr") : : "c"(MSR_IA32_STAR) : "rax", "rdx"); break;
	default: break;
	}
	return last_fault.vector >= 0 ? (uint64_t)last_fault.vector : 0x100;
}

static uint64_t user_exiting(uint64_t unused)
{
	(void)unused;
	uint64_t v = 0;
	outb(0x81, 1);                                   /* allowed in the TSS */
	(void)cpuid(0, 0);
	__asm__ volatile("vmread %1, %0" : "+r"(v) : "r"((uint64_t)GUEST_RIP) : "cc");
	return v;
}

static uint64_t guest_ring3(uint64_t unused)
{
	(void)unused;
	vmcall(1, user_call(user_privileged, 0));
	vmcall(2, user_call(user_privileged, 1));
	vmcall(3, user_call(user_privileged, 2));
	return user_call(user_exiting, 0);
}

/* Faults based on privilege come before VM exits: HLT, RDMSR and an I/O
 * port the TSS denies are #GP in ring 3 even with HLT exiting,
 * unconditional I/O exiting and no MSR bitmaps. Instructions that exit
 * unconditionally (CPUID, VMREAD) exit from ring 3 too, and so does I/O
 * the TSS allows. */
static void test_ring3(void)
{
	uint32_t proc = CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING;
	if (!vmx_offered(VMX_CTLS_PROC, proc, "HLT and unconditional I/O exiting"))
		return;
	tss_io_allow(0x81, true);
	vmcs_init_guest64(&vcpu, guest_ring3, 0, 0, proc, 0);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), VEC_GP);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 2), VEC_GP);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 3), VEC_GP);
	printf("ring 3 in the guest: HLT, IN from a denied port and RDMSR are #GP, "
	       "not exits\n");
	vmx_run_expect_len(&vcpu, EXIT_REASON_IO_INSTRUCTION, 2);
	TEST_ASSERT_EQ(vmcs_read(GUEST_CS_SELECTOR) & 3, 3);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CPUID, 2);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_VMREAD, 3);
	vcpu.regs.rax = 0;
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	tss_io_allow(0x81, false);
	printf("ring 3 in the guest: allowed I/O, CPUID and VMREAD exit\n");
}

static uint64_t read_dr6(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

/* A #DB that exits leaves DR6 alone and reports its DR6 bits in the exit
 * qualification: bit 14 BS for a single step (27.1, 27.2.1 table 27-1).
 * INT1 is a privileged software exception, type 5, with a length. */
static void test_debug_exceptions(void)
{
	__asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ull));
	vmcs_init_guest64(&vcpu, guest_single_step, 0, 0, 0, 0);
	vmcs_write(EXCEPTION_BITMAP, 1u << VEC_DB);
	expect_exception(INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | VEC_DB);
	TEST_ASSERT_EQ(vcpu.exit_qual & 0x600f, 1u << 14);
	uint64_t dr6 = read_dr6();
	vmcs_clear_bits(GUEST_RFLAGS, RFLAGS_TF);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	expect_exception(INTR_INFO_VALID | INTR_TYPE_PRIV_SW_EXCEPTION | VEC_DB);
	TEST_ASSERT_EQ(vcpu.exit_insn_len, 1);
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	TEST_ASSERT_EQ(dr6, 0xffff0ff0ull);
	printf("single step with #DB in the bitmap: exit 0, BS in the qualification, "
	       "DR6 untouched; INT1: type 5, length 1\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	test_mov_dr_wbinvd();
	test_more_instruction_controls();
	test_outs_variants();
	test_rdtscp();
	test_rdtscp_offset();
	test_invpcid();
	test_ring3();
	test_debug_exceptions();
	vmx_off();
	TEST_PASS();
}
