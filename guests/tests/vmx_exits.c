/* VM exits (SDM vol. 3C, chapters 25 and 27): a 64-bit guest makes one
 * kind of exit per step, and the host checks the exit reason, the exit
 * qualification and the other exit-information fields (27.2), emulates
 * or steps over the instruction, and resumes.
 *
 * Guest and host share memory, page tables, GDT and IDT (vmx.h); the
 * guests below read globals the host set, and report values with VMCALL
 * (VMCALL with RAX = a step number, RDI = the value). A control the
 * capability MSRs do not offer is skipped with a "# skipped" line.
 * vmx_exits_more.c has the less common exits.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/paging.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_exits";

static struct vcpu vcpu;

/* ---- unconditional exits: CPUID, VMCALL (25.1.2) ---- */

static uint64_t guest_cpuid(uint64_t unused)
{
	(void)unused;
	struct cpuid_regs r = cpuid(0x4000abcd, 7);
	return (uint64_t)r.eax << 48 | (uint64_t)r.ebx << 32 | r.ecx << 16 | r.edx;
}

static uint64_t guest_vmcall(uint64_t unused)
{
	(void)unused;
	return vmcall(0x1234, 0x77);
}

static void test_unconditional(void)
{
	vmcs_init_guest64(&vcpu, guest_cpuid, 0, 0, 0, 0);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CPUID, 2);
	TEST_ASSERT_EQ(vcpu.regs.rax, 0x4000abcd);
	TEST_ASSERT_EQ(vcpu.regs.rcx, 7);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	vcpu.regs.rax = 0xa;
	vcpu.regs.rbx = 0xb;
	vcpu.regs.rcx = 0xc;
	vcpu.regs.rdx = 0xd;
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x000a000b000c000dull);
	printf("CPUID: exit 10, length 2; the host's answer reaches the guest\n");

	vmcs_init_guest64(&vcpu, guest_vmcall, 0, 0, 0, 0);
	vmx_run_expect_len(&vcpu, EXIT_REASON_VMCALL, 3);
	TEST_ASSERT_EQ(vcpu.regs.rax, 0x1234);
	TEST_ASSERT_EQ(vcpu.regs.rdi, 0x77);
	vcpu.regs.rax = 0x99;
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x99);
	printf("VMCALL: exit 18, length 3, registers both ways\n");
}

/* ---- HLT and INVLPG exiting (25.1.3) ---- */

static uint64_t guest_hlt(uint64_t unused)
{
	(void)unused;
	hlt();
	return 1;
}

static uint64_t guest_invlpg(uint64_t unused)
{
	(void)unused;
	invlpg((void *)0x7654321abcull);
	return 2;
}

static void test_instruction_controls(void)
{
	if (vmx_offered(VMX_CTLS_PROC, CPU_BASED_HLT_EXITING, "HLT exiting")) {
		vmcs_init_guest64(&vcpu, guest_hlt, 0, 0, CPU_BASED_HLT_EXITING, 0);
		vmx_run_expect_len(&vcpu, EXIT_REASON_HLT, 1);
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 1);
		printf("HLT with HLT exiting: exit 12, length 1\n");
	}
	/* The exit qualification of INVLPG is the linear address (27.2.1). */
	if (vmx_offered(VMX_CTLS_PROC, CPU_BASED_INVLPG_EXITING, "INVLPG exiting")) {
		vmcs_init_guest64(&vcpu, guest_invlpg, 0, 0, CPU_BASED_INVLPG_EXITING, 0);
		vmx_run_expect_len(&vcpu, EXIT_REASON_INVLPG, 3);
		TEST_ASSERT_EQ(vcpu.exit_qual, 0x7654321abcull);
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 2);
		printf("INVLPG with INVLPG exiting: exit 14, qualification the address\n");
	}
}

/* ---- I/O instructions (25.1.3, 27.2.1 table 27-5) ---- */

static uint8_t io_buffer[16];

static uint64_t guest_io(uint64_t unused)
{
	(void)unused;
	outb(0x80, 0x11);
	uint16_t w = inw(0x1234);
	outl(0x5658, 0xcafe);
	const uint8_t *src = io_buffer;
	uint64_t n = 5;
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"((uint16_t)0x99) : "memory");
	uint8_t *dst = io_buffer;
	__asm__ volatile("insw" : "+D"(dst) : "d"((uint16_t)0x98) : "memory");
	return w;
}

/* Check the qualification and step over the instruction. */
static void expect_io(uint64_t qual, uint32_t len)
{
	vmx_run_expect_len(&vcpu, EXIT_REASON_IO_INSTRUCTION, len);
	if (vcpu.exit_qual != qual)
		TEST_FAIL("I/O exit qualification 0x%lx, want 0x%lx", vcpu.exit_qual, qual);
}

static void test_io_unconditional(void)
{
	if (!vmx_offered(VMX_CTLS_PROC, CPU_BASED_UNCOND_IO_EXITING, "unconditional I/O exiting"))
		return;
	bool info = rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_INOUT;
	vmcs_init_guest64(&vcpu, guest_io, 0, 0, CPU_BASED_UNCOND_IO_EXITING, 0);
	/* OUT 80h, AL: one byte, out, immediate port. */
	expect_io(0 | IO_QUAL_IMM | 0x80u << 16, 2);
	TEST_ASSERT_EQ(vcpu.regs.rax & 0xff, 0x11);
	vmx_skip_instruction(&vcpu);
	/* IN AX, DX: two bytes (size field 1), in, port in DX. */
	expect_io(1 | IO_QUAL_IN | 0x1234u << 16, 2);
	vcpu.regs.rax = (vcpu.regs.rax & ~0xffffull) | 0xbeef;
	vmx_skip_instruction(&vcpu);
	/* OUT DX, EAX: four bytes (size field 3). */
	expect_io(3 | 0x5658u << 16, 1);
	TEST_ASSERT_EQ(vcpu.regs.rax & 0xffffffff, 0xcafe);
	vmx_skip_instruction(&vcpu);
	/* REP OUTSB: string and REP; the guest-linear address is DS:RSI,
	 * and the instruction information gives the address size (2 =
	 * 64-bit, bits 9:7) and the segment (3 = DS, bits 17:15) (27.2.5). */
	expect_io(0 | IO_QUAL_STRING | IO_QUAL_REP | 0x99u << 16, 2);
	TEST_ASSERT_EQ(vmcs_read(GUEST_LINEAR_ADDRESS), (uintptr_t)io_buffer);
	TEST_ASSERT_EQ(vcpu.regs.rcx, 5);
	if (info)
		TEST_ASSERT_EQ(vcpu.exit_insn_info & 0x38380, 2u << 7 | 3u << 15);
	vcpu.regs.rsi += vcpu.regs.rcx;
	vcpu.regs.rcx = 0;
	vmx_skip_instruction(&vcpu);
	/* INSW: string, in, two bytes; the address is ES:RDI. */
	expect_io(1 | IO_QUAL_IN | IO_QUAL_STRING | 0x98u << 16, 2);
	TEST_ASSERT_EQ(vmcs_read(GUEST_LINEAR_ADDRESS), (uintptr_t)io_buffer);
	if (info)
		TEST_ASSERT_EQ(vcpu.exit_insn_info & 0x380, 2u << 7);
	vcpu.regs.rdi += 2;
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0xbeef);
	printf("I/O with unconditional I/O exiting: exit 30; size, direction, string, "
	       "REP, immediate and port in the qualification\n");
	if (!info)
		printf("# no instruction information for INS/OUTS (IA32_VMX_BASIC[54])\n");
}

static uint64_t guest_io_bitmaps(uint64_t unused)
{
	(void)unused;
	outb(0x80, 1);       /* bit set in bitmap A: exit */
	(void)inb(0x81);     /* bit clear: no exit */
	outw(0x7fff, 2);     /* ports 7FFFh and 8000h; 8000h's bit is set: exit */
	(void)inb(0x8001);   /* bit clear in bitmap B: no exit */
	outw(0xffff, 3);     /* wraps around to port 0: exit whatever the bits */
	return 4;
}

/* With "use I/O bitmaps", bitmap A covers ports 0-7FFFh and B 8000h-FFFFh;
 * an access exits if the bit of any port it touches is 1, or if it wraps
 * around the port space; "unconditional I/O exiting" is then ignored
 * (25.1.3). */
static void test_io_bitmaps(void)
{
	if (!vmx_offered(VMX_CTLS_PROC, CPU_BASED_USE_IO_BITMAPS, "I/O bitmaps"))
		return;
	uint8_t *a = alloc_page(), *b = alloc_page();
	a[0x80 / 8] |= 1u << (0x80 % 8);
	b[0] |= 1;                                   /* port 8000h */
	vmcs_init_guest64(&vcpu, guest_io_bitmaps, 0, 0, CPU_BASED_USE_IO_BITMAPS | CPU_BASED_UNCOND_IO_EXITING, 0);
	vmcs_write(IO_BITMAP_A, (uintptr_t)a);
	vmcs_write(IO_BITMAP_B, (uintptr_t)b);
	expect_io(0 | IO_QUAL_IMM | 0x80u << 16, 2);
	vmx_skip_instruction(&vcpu);
	expect_io(1 | 0x7fffu << 16, 2);
	vmx_skip_instruction(&vcpu);
	expect_io(1 | 0xffffu << 16, 2);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 4);
	printf("I/O bitmaps: exits for a set bit, an access spanning into a set bit, "
	       "a wrap-around; none for clear bits\n");
}

/* ---- RDMSR and WRMSR (25.1.3, 24.6.9) ---- */

static uint64_t guest_msr(uint64_t unused)
{
	(void)unused;
	uint64_t v = rdmsr(MSR_IA32_STAR);
	wrmsr(MSR_IA32_LSTAR, 0x123456789abcull);
	return v;
}

static void test_msr_no_bitmaps(void)
{
	/* Without MSR bitmaps every RDMSR and WRMSR exits. */
	vmcs_init_guest64(&vcpu, guest_msr, 0, 0, 0, 0);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS);
	vmx_run_expect_len(&vcpu, EXIT_REASON_RDMSR, 2);
	TEST_ASSERT_EQ(vcpu.regs.rcx, MSR_IA32_STAR);
	vcpu.regs.rax = 0x11111111;
	vcpu.regs.rdx = 0x22222222;
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_WRMSR, 2);
	TEST_ASSERT_EQ(vcpu.regs.rcx, MSR_IA32_LSTAR);
	TEST_ASSERT_EQ(vcpu.regs.rax & 0xffffffff, 0x56789abc);
	TEST_ASSERT_EQ(vcpu.regs.rdx & 0xffffffff, 0x1234);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x2222222211111111ull);
	printf("RDMSR and WRMSR without MSR bitmaps: exits 31 and 32, the MSR in RCX\n");
}

static uint64_t guest_msr_bitmaps(uint64_t unused)
{
	(void)unused;
	uint64_t star = rdmsr(MSR_IA32_STAR);            /* read bit set: exit */
	uint64_t fmask = rdmsr(MSR_IA32_FMASK);          /* read bit clear */
	wrmsr(MSR_IA32_SYSENTER_ESP, 0x5555);            /* write bit set: exit */
	wrmsr(MSR_IA32_LSTAR, 0x7777);                   /* write-high bit set: exit */
	wrmsr(MSR_IA32_CSTAR, 0x8888);                   /* write-high bit clear */
	wrmsr(MSR_IA32_SYSENTER_EIP, 0x6666);            /* write bit clear */
	uint64_t eip = rdmsr(MSR_IA32_SYSENTER_EIP);     /* read bit clear */
	uint64_t odd = rdmsr(0x4b564d00);                /* outside both ranges: exit */
	odd += rdmsr(0x00002000);                        /* just past the low range */
	odd += rdmsr(0xc0002000);                        /* just past the high range */
	vmcall(1, fmask);
	return star + eip + odd;
}

/* Bitmap layout (24.6.9): read-low (MSRs 0-1FFFh) at byte 0, read-high
 * (C0000000h-C0001FFFh) at 1024, write-low at 2048, write-high at 3072.
 * MSRs in neither range always exit. */
static void bitmap_set(uint8_t *bm, uint32_t msr, bool write)
{
	unsigned base = (write ? 2048 : 0) + (msr >= 0xc0000000u ? 1024 : 0);
	unsigned i = msr & 0x1fff;
	bm[base + i / 8] |= (uint8_t)(1u << (i % 8));
}

static void test_msr_bitmaps(void)
{
	if (!vmx_offered(VMX_CTLS_PROC, CPU_BASED_USE_MSR_BITMAPS, "MSR bitmaps"))
		return;
	uint8_t *bm = alloc_page();
	bitmap_set(bm, MSR_IA32_STAR, false);
	bitmap_set(bm, MSR_IA32_SYSENTER_ESP, true);
	bitmap_set(bm, MSR_IA32_LSTAR, true);
	uint64_t old_cstar = rdmsr(MSR_IA32_CSTAR);
	uint64_t old_eip = rdmsr(MSR_IA32_SYSENTER_EIP);
	vmcs_init_guest64(&vcpu, guest_msr_bitmaps, 0, 0, CPU_BASED_USE_MSR_BITMAPS, 0);
	vmcs_write(MSR_BITMAP, (uintptr_t)bm);
	vmx_run_expect_len(&vcpu, EXIT_REASON_RDMSR, 2);
	TEST_ASSERT_EQ(vcpu.regs.rcx, MSR_IA32_STAR);
	vcpu.regs.rax = 0x100;
	vcpu.regs.rdx = 0;
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_WRMSR, 2);
	TEST_ASSERT_EQ(vcpu.regs.rcx, MSR_IA32_SYSENTER_ESP);
	TEST_ASSERT_EQ(vcpu.regs.rax & 0xffffffff, 0x5555);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_WRMSR, 2);
	TEST_ASSERT_EQ(vcpu.regs.rcx, MSR_IA32_LSTAR);
	vmx_skip_instruction(&vcpu);
	static const uint32_t outside[] = { 0x4b564d00, 0x00002000, 0xc0002000 };
	for (unsigned i = 0; i < 3; i++) {
		vmx_run_expect_len(&vcpu, EXIT_REASON_RDMSR, 2);
		TEST_ASSERT_EQ(vcpu.regs.rcx, outside[i]);
		vcpu.regs.rax = i == 0 ? 0x20000 : 0;
		vcpu.regs.rdx = 0;
		vmx_skip_instruction(&vcpu);
	}
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), rdmsr(MSR_IA32_FMASK));
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x100 + 0x6666 + 0x20000);
	/* The write that did not exit reached the MSR, which the VM exit
	 * saved in the guest-state area and replaced with the host's value
	 * (27.3.1, 27.5.1). */
	TEST_ASSERT_EQ(vmcs_read(GUEST_SYSENTER_EIP), 0x6666);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_SYSENTER_EIP), old_eip);
	/* CSTAR is not switched by VM exits: the guest's write stays. */
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_CSTAR), 0x8888);
	wrmsr(MSR_IA32_CSTAR, old_cstar);
	printf("MSR bitmaps: exits only for set bits and for MSRs outside the ranges\n");
}

/* ---- control registers (25.1.3, 25.3, table 27-3) ---- */

static uint64_t cr3_target, cr3_other;

static uint64_t guest_cr3(uint64_t unused)
{
	(void)unused;
	__asm__ volatile("mov %0, %%cr3" : : "a"(cr3_target) : "memory");  /* a target */
	__asm__ volatile("mov %0, %%cr3" : : "b"(cr3_other) : "memory");   /* exits */
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=d"(v));                       /* exits */
	return v;
}

/* MOV to CR3 exits unless the value is one of the first CR3_TARGET_COUNT
 * target values; MOV from CR3 exits with CR3-store exiting. */
static void test_cr3(void)
{
	if (!vmx_offered(VMX_CTLS_PROC, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING,
			 "CR3-load and CR3-store exiting"))
		return;
	uint64_t *copy = alloc_page();
	memcpy(copy, (void *)(read_cr3() & PTE_ADDR), PAGE_SIZE);
	cr3_target = read_cr3();
	cr3_other = (uintptr_t)copy;
	vmcs_init_guest64(&vcpu, guest_cr3, 0, 0, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING, 0);
	vmcs_write(CR3_TARGET_VALUE0, cr3_other ^ 0x1000);
	vmcs_write(CR3_TARGET_VALUE1, cr3_target);
	vmcs_write(CR3_TARGET_COUNT, 2);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 3 | CR_TYPE_MOV_TO_CR << 4 | GPR_RBX << 8);
	TEST_ASSERT_EQ(vcpu.regs.rbx, cr3_other);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 3 | CR_TYPE_MOV_FROM_CR << 4 | GPR_RDX << 8);
	vcpu.regs.rdx = 0xc3c3000;
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0xc3c3000);
	TEST_ASSERT_EQ(vmcs_read(GUEST_CR3), cr3_target);
	printf("MOV to CR3: no exit for a CR3-target value, exit 28 for another; "
	       "MOV from CR3 exits\n");

	/* Only the first CR3_TARGET_COUNT values count (24.6.7). */
	vmcs_init_guest64(&vcpu, guest_cr3, 0, 0, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING, 0);
	vmcs_write(CR3_TARGET_VALUE0, cr3_other ^ 0x1000);
	vmcs_write(CR3_TARGET_VALUE1, cr3_target);
	vmcs_write(CR3_TARGET_COUNT, 1);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 3 | CR_TYPE_MOV_TO_CR << 4 | GPR_RAX << 8);
	printf("a CR3-target value beyond CR3_TARGET_COUNT does not count\n");
}

#define CR0_OWNED (CR0_TS | CR0_MP)   /* the bits the host owns in this test */

static uint64_t guest_cr0(uint64_t unused)
{
	(void)unused;
	uint64_t seen = read_cr0();
	vmcall(1, seen);
	write_cr0(seen);                      /* owned bits as the shadow: no exit */
	vmcall(2, 0);
	__asm__ volatile("mov %0, %%cr0" : : "c"(seen & ~CR0_TS) : "memory");
	__asm__ volatile("clts" : : : "memory");
	__asm__ volatile("lmsw %w0" : : "a"((uint16_t)(seen | CR0_MP)) : "memory");
	return 0;
}

/* With a guest/host mask, MOV from CR0 reads the owned bits from the read
 * shadow; MOV to CR0 exits if it would give an owned bit a value other
 * than the shadow's; CLTS exits if TS is owned and the shadow's TS is 1;
 * LMSW likewise for PE, MP, EM and TS (25.1.3, 25.3). */
static void test_cr0(void)
{
	vmcs_init_guest64(&vcpu, guest_cr0, 0, 0, 0, 0);
	uint64_t cr0 = vmcs_read(GUEST_CR0);
	vmcs_write(CR0_GUEST_HOST_MASK, CR0_OWNED);
	vmcs_write(CR0_READ_SHADOW, CR0_TS);
	uint64_t want_seen = (cr0 & ~CR0_OWNED) | CR0_TS;
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), want_seen);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 2), 0);
	TEST_ASSERT_EQ(vmcs_read(GUEST_CR0), cr0);
	printf("CR0 guest/host mask: the guest reads the shadow's bits; writing them "
	       "back does not exit\n");

	vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0 | CR_TYPE_MOV_TO_CR << 4 | GPR_RCX << 8);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 2);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0 | CR_TYPE_CLTS << 4);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual,
		       CR_TYPE_LMSW << 4 | (uint64_t)(uint16_t)(want_seen | CR0_MP) << 16);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0);
	TEST_ASSERT_EQ(vmcs_read(GUEST_CR0), cr0);
	printf("MOV to CR0, CLTS and LMSW against the shadow: exit 28 with access "
	       "type, register and LMSW data\n");
}

static uint64_t guest_cr4(uint64_t unused)
{
	(void)unused;
	uint64_t seen = read_cr4();
	vmcall(1, seen);
	write_cr4(seen);                       /* VMXE as the shadow says: no exit */
	__asm__ volatile("mov %0, %%cr4" : : "S"(seen | CR4_VMXE) : "memory");
	return 0;
}

/* The classic use of a CR4 mask: the guest does not see CR4.VMXE, which
 * VMX operation keeps set. */
static void test_cr4(void)
{
	vmcs_init_guest64(&vcpu, guest_cr4, 0, 0, 0, 0);
	uint64_t cr4 = vmcs_read(GUEST_CR4);
	vmcs_write(CR4_GUEST_HOST_MASK, CR4_VMXE);
	vmcs_write(CR4_READ_SHADOW, 0);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), cr4 & ~CR4_VMXE);
	vmx_run_expect_len(&vcpu, EXIT_REASON_CR_ACCESS, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 4 | CR_TYPE_MOV_TO_CR << 4 | GPR_RSI << 8);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0);
	TEST_ASSERT_EQ(vmcs_read(GUEST_CR4), cr4);
	printf("CR4 guest/host mask: CR4.VMXE hidden from the guest; setting it exits\n");
}

/* ---- the TSC (25.1.3, 25.3) ---- */

static uint64_t guest_rdtsc(uint64_t unused)
{
	(void)unused;
	return rdtsc();
}

static void test_tsc(void)
{
	if (vmx_offered(VMX_CTLS_PROC, CPU_BASED_RDTSC_EXITING, "RDTSC exiting")) {
		vmcs_init_guest64(&vcpu, guest_rdtsc, 0, 0, CPU_BASED_RDTSC_EXITING, 0);
		vmx_run_expect_len(&vcpu, EXIT_REASON_RDTSC, 2);
		vcpu.regs.rax = 0x1234;
		vcpu.regs.rdx = 0x5678;
		vmx_skip_instruction(&vcpu);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x0000567800001234ull);
		printf("RDTSC with RDTSC exiting: exit 16, the host's value in EDX:EAX\n");
	}
	if (vmx_offered(VMX_CTLS_PROC, CPU_BASED_USE_TSC_OFFSETTING, "TSC offsetting")) {
		const uint64_t offset = 1ull << 50;
		vmcs_init_guest64(&vcpu, guest_rdtsc, 0, 0, CPU_BASED_USE_TSC_OFFSETTING, 0);
		vmcs_write(TSC_OFFSET, offset);
		uint64_t before = rdtsc();
		uint64_t seen = vmx_run_to_done(&vcpu);
		uint64_t after = rdtsc();
		TEST_ASSERT(seen >= before + offset && seen <= after + offset);
		/* A negative offset: the addition wraps like any 64-bit sum. */
		vmcs_init_guest64(&vcpu, guest_rdtsc, 0, 0, CPU_BASED_USE_TSC_OFFSETTING, 0);
		vmcs_write(TSC_OFFSET, -(before / 2));
		before = rdtsc();
		seen = vmx_run_to_done(&vcpu);
		after = rdtsc();
		TEST_ASSERT(seen < before);
		printf("TSC offsetting: the guest reads TSC + TSC_OFFSET, no exit\n");
	}
}

/* ---- exceptions (25.2, 27.2.2) ---- */

static volatile uint64_t bp_count;

static void guest_bp_handler(struct trap_frame *f)
{
	(void)f;
	bp_count++;
}

static uint64_t guest_exceptions(uint64_t bad_selector)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("ud2") : : : "memory");
	vmcall(1, (uint64_t)last_fault.vector);
	fault_clear();
	__asm__ volatile(CATCH_ASM("movw %w0, %%es") : : "r"(bad_selector) : "memory");
	vmcall(2, (uint64_t)last_fault.vector << 32 | last_fault.error_code);
	__asm__ volatile("int3" : : : "memory");
	return bp_count;
}

/* Give an exception that exited back to the guest, as a hypervisor
 * reflects it: same vector, type and error code; the instruction length
 * for a software exception (26.6.1). */
static void reflect_exception(void)
{
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vcpu.exit_intr_info & ~INTR_INFO_NMI_UNBLOCKING);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vcpu.exit_intr_error);
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vcpu.exit_insn_len);
}

static void expect_exception(uint32_t info, uint32_t error)
{
	vmx_run_expect_len(&vcpu, EXIT_REASON_EXCEPTION_NMI, 0);
	if (vcpu.exit_intr_info != info)
		TEST_FAIL("VM_EXIT_INTR_INFO 0x%x, want 0x%x", vcpu.exit_intr_info, info);
	if (info & INTR_INFO_DELIVER_CODE)
		TEST_ASSERT_EQ(vcpu.exit_intr_error, error);
	TEST_ASSERT_EQ(vcpu.idt_vectoring_info & INTR_INFO_VALID, 0);
}

static void test_exception_bitmap(void)
{
	uint16_t bad = GDT_SEL(63, 0);        /* past the GDT limit: #GP(selector) */
	trap_set_handler(VEC_BP, guest_bp_handler);
	vmcs_init_guest64(&vcpu, guest_exceptions, bad, 0, 0, 0);
	vmcs_write(EXCEPTION_BITMAP, 1u << VEC_UD | 1u << VEC_GP | 1u << VEC_BP);

	expect_exception(INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | VEC_UD, 0);
	reflect_exception();
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), VEC_UD);
	printf("#UD in the exception bitmap: exit 0, interruption info 0x80000306\n");

	expect_exception(INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE |
			 VEC_GP, bad);
	reflect_exception();
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 2), (uint64_t)VEC_GP << 32 | bad);
	printf("#GP in the exception bitmap: exit 0, error code in "
	       "VM_EXIT_INTR_ERROR_CODE\n");

	/* INT3 is a software exception (type 6) with an instruction length. */
	expect_exception(INTR_INFO_VALID | INTR_TYPE_SOFT_EXCEPTION | VEC_BP, 0);
	TEST_ASSERT_EQ(vcpu.exit_insn_len, 1);
	reflect_exception();
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 1);
	printf("INT3 in the exception bitmap: exit 0, type 6, length 1; reflected\n");

	/* Not in the bitmap: delivered through the guest's IDT. */
	bp_count = 0;
	vmcs_init_guest64(&vcpu, guest_exceptions, bad, 0, 0, 0);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), VEC_UD);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 2), (uint64_t)VEC_GP << 32 | bad);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 1);
	trap_set_handler(VEC_BP, NULL);
	printf("exceptions not in the bitmap go to the guest's IDT\n");
}

/* #PF: with bit 14 set it exits iff (error code & PFEC_MASK) == PFEC_MATCH,
 * with bit 14 clear iff they differ (25.2). The exit qualification is the
 * linear address; CR2 is not written (27.1). */
#define NP_VA 0x0000123400000000ull   /* not present */
#define RO_VA 0x0000123400001000ull   /* read-only */

static uint64_t guest_page_faults(uint64_t unused)
{
	(void)unused;
	uint8_t v;
	int read = try_read8((void *)NP_VA, &v);
	vmcall(1, (uint64_t)read << 32 | last_fault.error_code);
	int write = try_write8((void *)RO_VA, 1);
	vmcall(2, (uint64_t)write << 32 | last_fault.error_code);
	return last_fault.cr2;
}

static void test_page_faults(void)
{
	map_page(NP_VA, (uintptr_t)alloc_page(), 0);
	unmap_page(NP_VA);
	map_page(RO_VA, (uintptr_t)alloc_page(), 0);

	/* Bit 14 set, mask W, match W: write faults exit. */
	vmcs_init_guest64(&vcpu, guest_page_faults, 0, 0, 0, 0);
	vmcs_write(EXCEPTION_BITMAP, 1u << VEC_PF);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, PF_W);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, PF_W);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), (uint64_t)VEC_PF << 32 | 0);
	write_cr2(0);
	expect_exception(INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE |
			 VEC_PF, PF_P | PF_W);
	TEST_ASSERT_EQ(vcpu.exit_qual, RO_VA);
	TEST_ASSERT_EQ(read_cr2(), 0);
	write_cr2(vcpu.exit_qual);             /* as the CPU would have */
	reflect_exception();
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 2), (uint64_t)VEC_PF << 32 | (PF_P | PF_W));
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), RO_VA);
	printf("#PF, bit 14 set: only faults whose error code matches exit; "
	       "qualification the address, CR2 untouched\n");

	/* Bit 14 clear, same mask and match: the read fault exits. */
	vmcs_init_guest64(&vcpu, guest_page_faults, 0, 0, 0, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, PF_W);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, PF_W);
	expect_exception(INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE |
			 VEC_PF, 0);
	TEST_ASSERT_EQ(vcpu.exit_qual, NP_VA);
	write_cr2(vcpu.exit_qual);
	reflect_exception();
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), (uint64_t)VEC_PF << 32 | 0);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 2), (uint64_t)VEC_PF << 32 | (PF_P | PF_W));
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), RO_VA);
	printf("#PF, bit 14 clear: only faults whose error code does not match exit\n");
}

/* ---- VMX instructions in the guest (25.1.2, 27.2.5 table 27-14) ---- */

static uint64_t vmwrite_source[2] = { 0, 0x1234 };

static uint64_t guest_vmx_insns(uint64_t unused)
{
	(void)unused;
	uint64_t v;
	__asm__ volatile("vmread %%rax, %%rbx" : "=b"(v) : "a"((uint64_t)GUEST_RIP));
	__asm__ volatile("vmwrite 8(%%rsi), %%rdx"
			 : : "S"(vmwrite_source), "d"((uint64_t)GUEST_RSP) : "cc", "memory");
	__asm__ volatile("vmptrld (%%rax)" : : "a"(vmwrite_source) : "cc", "memory");
	__asm__ volatile("vmlaunch" : : : "cc", "memory");
	__asm__ volatile("vmxoff" : : : "cc", "memory");
	return v;
}

static void test_vmx_in_guest(void)
{
	vmcs_init_guest64(&vcpu, guest_vmx_insns, 0, 0, 0, 0);
	/* Register form: bit 10 set, reg1 (6:3) the destination RBX, reg2
	 * (31:28) the field register RAX. */
	vmx_run_expect_len(&vcpu, EXIT_REASON_VMREAD, 3);
	TEST_ASSERT_EQ(vcpu.exit_insn_info & 0xf0000478u, 1u << 10 | GPR_RBX << 3 | GPR_RAX << 28);
	vcpu.regs.rbx = 0x5a5a;
	vmx_skip_instruction(&vcpu);
	/* Memory form: address size 64 (2), segment DS (3), no index (bit
	 * 22), base RSI, reg2 the field register RDX; the qualification is
	 * the displacement. */
	vmx_run_expect_len(&vcpu, EXIT_REASON_VMWRITE, 4);
	TEST_ASSERT_EQ(vcpu.exit_insn_info & 0xffc38780u,
		       2u << 7 | 3u << 15 | 1u << 22 | GPR_RSI << 23 | (uint32_t)GPR_RDX << 28);
	TEST_ASSERT_EQ(vcpu.exit_qual, 8);
	vmx_skip_instruction(&vcpu);
	printf("VMREAD and VMWRITE in the guest: exits 23 and 25 with the instruction "
	       "information\n");
	/* VMPTRLD: the format of table 27-13, no register operand. */
	vmx_run_expect_len(&vcpu, EXIT_REASON_VMPTRLD, 3);
	TEST_ASSERT_EQ(vcpu.exit_insn_info & 0x0fc38780u,
		       2u << 7 | 3u << 15 | 1u << 22 | GPR_RAX << 23);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_VMLAUNCH, 3);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_VMXOFF, 3);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x5a5a);
	printf("VMPTRLD, VMLAUNCH and VMXOFF in the guest: exits 21, 20 and 26\n");
}

/* ---- XSETBV (25.1.2) and a triple fault (25.2) ---- */

static uint64_t guest_xsetbv(uint64_t unused)
{
	(void)unused;
	__asm__ volatile("xsetbv" : : "c"(0), "a"(3), "d"(0) : "memory");
	return 5;
}

static void test_xsetbv(void)
{
	bool xsave = cpuid(1, 0).ecx & (1u << 26);
	bool allowed = rdmsr(MSR_IA32_VMX_CR4_FIXED1) & CR4_OSXSAVE;
	if (!xsave || !allowed) {
		printf("# skipped: XSETBV (no XSAVE)\n");
		return;
	}
	/* XSETBV is #UD unless CR4.OSXSAVE = 1, which comes before the exit. */
	vmcs_init_guest64(&vcpu, guest_xsetbv, 0, 0, 0, 0);
	vmcs_set_bits(GUEST_CR4, CR4_OSXSAVE);
	vmx_run_expect_len(&vcpu, EXIT_REASON_XSETBV, 3);
	TEST_ASSERT_EQ(vcpu.regs.rcx & 0xffffffff, 0);
	TEST_ASSERT_EQ(vcpu.regs.rax & 0xffffffff, 3);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 5);
	printf("XSETBV: exit 55, length 3\n");
}

static uint64_t guest_triple_fault(uint64_t unused)
{
	(void)unused;
	__asm__ volatile("ud2");
	return 0;
}

static void test_triple_fault(void)
{
	/* An IDT with limit 0: #UD cannot be delivered, nor the #GP that
	 * causes, nor the #DF after it. */
	vmcs_init_guest64(&vcpu, guest_triple_fault, 0, 0, 0, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0);
	vmx_run_expect_len(&vcpu, EXIT_REASON_TRIPLE_FAULT, 0);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	printf("triple fault in the guest: exit 2\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	test_unconditional();
	test_instruction_controls();
	test_io_unconditional();
	test_io_bitmaps();
	test_msr_no_bitmaps();
	test_msr_bitmaps();
	test_cr3();
	test_cr0();
	test_cr4();
	test_tsc();
	test_exception_bitmap();
	test_page_faults();
	test_vmx_in_guest();
	test_xsetbv();
	test_triple_fault();
	vmx_off();
	TEST_PASS();
}
