/* Privilege levels (SDM vol. 3, chapter 5): entering ring 3 with IRETQ,
 * coming back through an interrupt gate with DPL 3 on the TSS's RSP0
 * stack, the #GP of a gate whose DPL is too low, the #GP of privileged
 * instructions in ring 3, SYSCALL/SYSRET with SWAPGS, and CR4.TSD. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/quirks.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "privilege";

#define VEC_SYSCALL_GATE 0x80   /* DPL 3: ring 3 may INT to it */
#define VEC_KERNEL_GATE  0x81   /* DPL 0: ring 3 may not */

/* ---- ring 3 and the INT gate ---- */

static uint64_t user_whoami(uint64_t arg)
{
	return (uint64_t)read_cs() << 16 | read_ss() | arg << 32;
}

static volatile uint64_t gate_frame_addr, gate_cs, gate_ss, gate_rsp;

static void gate_handler(struct trap_frame *f)
{
	gate_frame_addr = (uintptr_t)f;
	gate_cs = f->cs;
	gate_ss = f->ss;
	gate_rsp = f->rsp;
	f->rax = f->rdi * 3;   /* the "system call" */
}

static uint64_t user_int_gate(uint64_t arg)
{
	uint64_t r;
	__asm__ volatile("int %1" : "=a"(r) : "i"(VEC_SYSCALL_GATE), "D"(arg) : "memory");
	return r;
}

static uint64_t user_int_kernel_gate(uint64_t arg)
{
	(void)arg;
	fault_clear();
	__asm__ volatile(CATCH_ASM("int %0") : : "i"(VEC_KERNEL_GATE) : "memory");
	return (uint64_t)last_fault.vector << 32 | last_fault.error_code;
}

static uint64_t user_int3(uint64_t arg)
{
	(void)arg;
	fault_clear();
	__asm__ volatile(CATCH_ASM("int3") : : : "memory");
	return (uint64_t)last_fault.vector << 32 | last_fault.error_code;
}

static void test_ring3_and_gates(void)
{
	uint64_t r = user_call(user_whoami, 7);
	TEST_ASSERT_EQ(r >> 32, 7);
	TEST_ASSERT_EQ((r >> 16) & 0xffff, USER_CS | 3);
	TEST_ASSERT_EQ(r & 0xffff, USER_DS | 3);
	printf("ring 3 through IRETQ: CS 0x%lx SS 0x%lx\n", (r >> 16) & 0xffff, r & 0xffff);

	trap_set_handler(VEC_SYSCALL_GATE, gate_handler);
	idt_set_gate(VEC_SYSCALL_GATE, GATE_INTERRUPT, 3, 0, true);
	TEST_ASSERT_EQ(user_call(user_int_gate, 14), 42);
	/* The CPU switched to RSP0 from the TSS and pushed the ring-3 SS:RSP
	 * (SDM vol. 3, 6.14.2 and 6.12.1). */
	TEST_ASSERT_EQ(gate_cs, USER_CS | 3);
	TEST_ASSERT_EQ(gate_ss, USER_DS | 3);
	TEST_ASSERT(gate_frame_addr < tss.rsp[0] && gate_frame_addr > tss.rsp[0] - 4096);
	extern char user_stack_top[];
	TEST_ASSERT(gate_rsp < (uintptr_t)user_stack_top &&
		    gate_rsp > (uintptr_t)user_stack_top - 4096);
	printf("INT to a DPL 3 gate from ring 3, on the RSP0 stack\n");

	/* A software interrupt checks the gate's DPL against CPL: #GP with
	 * the IDT flag set and the vector as the index, (vector << 3) | 2
	 * (SDM vol. 3, 6.12.1 and 6.13). INT3 is checked the same way.
	 * QEMU before 8.0 puts vector * 16 in the index field in 64-bit mode
	 * (QEMU issue 1382): under TCG only the flag bits are compared. */
	uint64_t index_mask = on_qemu_tcg() ? ERR_IDT | ERR_EXT | ERR_TI : 0xffff;
	r = user_call(user_int_kernel_gate, 0);
	TEST_ASSERT_EQ(r >> 32, VEC_GP);
	TEST_ASSERT_EQ(r & index_mask, (VEC_KERNEL_GATE << 3 | ERR_IDT) & index_mask);
	r = user_call(user_int3, 0);
	TEST_ASSERT_EQ(r >> 32, VEC_GP);
	TEST_ASSERT_EQ(r & index_mask, (VEC_BP << 3 | ERR_IDT) & index_mask);
	printf("INT and INT3 to a DPL 0 gate from ring 3: #GP((vector << 3) | IDT)\n");
}

/* ---- privileged instructions in ring 3 ---- */

enum { P_HLT, P_CLI, P_MOV_CR3, P_WRITE_CR0, P_RDMSR, P_WRMSR, P_LGDT, P_INVLPG,
       P_SWAPGS, P_LOAD_KERNEL_DS, P_RDTSC, P_COUNT };
static const char *const priv_names[P_COUNT] = {
	"hlt", "cli", "mov from cr3", "mov to cr0", "rdmsr", "wrmsr", "lgdt",
	"invlpg", "swapgs", "mov ds, kernel data", "rdtsc",
};

static uint64_t user_privileged(uint64_t which)
{
	uint64_t scratch = 0;
	uint16_t sel = KERNEL_DS;
	fault_clear();
	switch (which) {
	case P_HLT:
		__asm__ volatile(CATCH_ASM("hlt") : : : "memory");
		break;
	case P_CLI:
		__asm__ volatile(CATCH_ASM("cli") : : : "memory");
		break;
	case P_MOV_CR3:
		__asm__ volatile(CATCH_ASM("mov %%cr3, %0") : "+r"(scratch) : : "memory");
		break;
	case P_WRITE_CR0:
		__asm__ volatile(CATCH_ASM("mov %0, %%cr0") : : "r"(scratch) : "memory");
		break;
	case P_RDMSR:
		__asm__ volatile(CATCH_ASM("rdmsr") : : "c"(MSR_IA32_EFER) : "rax", "rdx", "memory");
		break;
	case P_WRMSR:
		__asm__ volatile(CATCH_ASM("wrmsr") : : "c"(MSR_IA32_FS_BASE), "a"(0), "d"(0)
				 : "memory");
		break;
	case P_LGDT:
		__asm__ volatile(CATCH_ASM("lgdt %0") : : "m"(scratch) : "memory");
		break;
	case P_INVLPG:
		__asm__ volatile(CATCH_ASM("invlpg %0") : : "m"(scratch) : "memory");
		break;
	case P_SWAPGS:
		__asm__ volatile(CATCH_ASM("swapgs") : : : "memory");
		break;
	case P_LOAD_KERNEL_DS:
		__asm__ volatile(CATCH_ASM("movw %0, %%ds") : : "r"(sel) : "memory");
		break;
	case P_RDTSC:
		__asm__ volatile(CATCH_ASM("rdtsc") : : : "rax", "rdx", "memory");
		break;
	}
	return (uint64_t)(uint32_t)last_fault.vector << 32 | last_fault.error_code;
}

static void expect_user_gp(int which, uint64_t err)
{
	uint64_t r = user_call(user_privileged, (uint64_t)which);
	if ((int32_t)(r >> 32) != VEC_GP || (r & 0xffffffff) != err)
		TEST_FAIL("%s in ring 3: vector %d error 0x%lx, want #GP(0x%lx)",
			  priv_names[which], (int32_t)(r >> 32), r & 0xffffffff, err);
	printf("%s in ring 3: #GP(0x%lx)\n", priv_names[which], err);
}

static void test_privileged_instructions(void)
{
	expect_user_gp(P_HLT, 0);
	expect_user_gp(P_CLI, 0);          /* CPL > IOPL */
	expect_user_gp(P_MOV_CR3, 0);
	expect_user_gp(P_WRITE_CR0, 0);
	expect_user_gp(P_RDMSR, 0);
	expect_user_gp(P_WRMSR, 0);
	expect_user_gp(P_LGDT, 0);
	expect_user_gp(P_INVLPG, 0);
	expect_user_gp(P_SWAPGS, 0);
	/* DPL 0 data from CPL 3: the error code is the selector. */
	expect_user_gp(P_LOAD_KERNEL_DS, KERNEL_DS);

	/* RDTSC is allowed in ring 3 unless CR4.TSD is set (SDM vol. 2, RDTSC). */
	TEST_ASSERT_EQ(user_call(user_privileged, P_RDTSC) >> 32, 0xffffffff);
	write_cr4(read_cr4() | (1ul << 2));   /* CR4.TSD */
	expect_user_gp(P_RDTSC, 0);
	write_cr4(read_cr4() & ~(1ul << 2));
}

/* ---- SYSCALL, SYSRET and SWAPGS ---- */

/* What SWAPGS makes GS point to in the kernel: the stack to switch to and
 * room to keep the user's RSP. */
struct percpu {
	uint64_t kernel_rsp;      /* %gs:0 */
	uint64_t user_rsp;        /* %gs:8 */
	uint64_t magic;           /* %gs:16 */
};
static struct percpu percpu;
static uint8_t syscall_stack[4096] __attribute__((aligned(16)));
static uint64_t user_gs_word = 0x75736572;   /* what %gs:0 reads in ring 3 */

/* What the entry code saw, for kmain to check. */
uint64_t sc_rcx, sc_r11, sc_rflags, sc_magic, sc_user_rsp;
uint16_t sc_cs, sc_ss;

/* The SYSCALL entry (IA32_LSTAR). SYSCALL saved RIP in RCX and RFLAGS in
 * R11, cleared the RFLAGS bits in IA32_FMASK, and loaded CS and SS from
 * IA32_STAR[47:32]; it did not change RSP (SDM vol. 2, SYSCALL). */
extern char syscall_entry[];
__asm__(".pushsection .text\n"
	"syscall_entry:\n\t"
	"swapgs\n\t"                    /* GS base <-> IA32_KERNEL_GS_BASE */
	"movq %rsp, %gs:8\n\t"
	"movq %gs:0, %rsp\n\t"
	"movq %rcx, sc_rcx(%rip)\n\t"
	"movq %r11, sc_r11(%rip)\n\t"
	"movw %cs, sc_cs(%rip)\n\t"
	"movw %ss, sc_ss(%rip)\n\t"
	"pushfq\n\t"
	"popq sc_rflags(%rip)\n\t"
	"movq %gs:16, %rax\n\t"
	"movq %rax, sc_magic(%rip)\n\t"
	"movq %gs:8, %rax\n\t"
	"movq %rax, sc_user_rsp(%rip)\n\t"
	"leaq 1000(%rdi), %rax\n\t"     /* the "system call": rdi + 1000 */
	"movq %gs:8, %rsp\n\t"
	"swapgs\n\t"
	"sysretq\n"                     /* RIP <- RCX, RFLAGS <- R11, ring 3 */
	".popsection");

uint64_t user_syscall_rip, user_syscall_rsp;

static uint64_t user_syscall(uint64_t arg)
{
	uint64_t r, rip, rsp;
	__asm__ volatile("leaq 1f(%%rip), %1\n\t"
			 "movq %%rsp, %2\n\t"
			 "syscall\n"
			 "1:"
			 : "=a"(r), "=&r"(rip), "=&r"(rsp)
			 : "D"(arg)
			 : "rcx", "r11", "memory");
	user_syscall_rip = rip;
	user_syscall_rsp = rsp;
	/* Back in ring 3 with SYSRET's selectors and our own GS base. */
	TEST_ASSERT_EQ(read_cs(), USER_CS | 3);
	TEST_ASSERT_EQ(read_ss(), USER_DS | 3);
	uint64_t gs0;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(gs0));
	TEST_ASSERT_EQ(gs0, 0x75736572);
	return r;
}

static void test_syscall(void)
{
	/* SWAPGS in ring 0 exchanges the two bases (SDM vol. 2, SWAPGS). */
	wrmsr(MSR_IA32_GS_BASE, 0x1111000);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, 0x2222000);
	__asm__ volatile("swapgs" : : : "memory");
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_GS_BASE), 0x2222000);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_KERNEL_GS_BASE), 0x1111000);
	__asm__ volatile("swapgs" : : : "memory");
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_GS_BASE), 0x1111000);
	printf("swapgs exchanges GS base and KERNEL_GS_BASE\n");

	percpu.kernel_rsp = (uintptr_t)(syscall_stack + sizeof syscall_stack);
	percpu.magic = 0x6b65726e656c;
	wrmsr(MSR_IA32_GS_BASE, (uintptr_t)&user_gs_word);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, (uintptr_t)&percpu);
	wrmsr(MSR_IA32_STAR, (uint64_t)USER_CS32 << 48 | (uint64_t)KERNEL_CS << 32);
	wrmsr(MSR_IA32_LSTAR, (uintptr_t)syscall_entry);
	wrmsr(MSR_IA32_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
	wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_SCE);

	/* Ring 3 with IF = 1 (every interrupt source is masked), so that
	 * FMASK's effect shows. */
	uint64_t r = user_call_flags(user_syscall, 234, RFLAGS_FIXED | RFLAGS_IF);
	TEST_ASSERT_EQ(r, 1234);
	TEST_ASSERT_EQ(sc_cs, KERNEL_CS);
	TEST_ASSERT_EQ(sc_ss, KERNEL_DS);
	TEST_ASSERT_EQ(sc_rcx, user_syscall_rip);
	TEST_ASSERT_EQ(sc_user_rsp, user_syscall_rsp);
	TEST_ASSERT_EQ(sc_r11 & (RFLAGS_IF | RFLAGS_FIXED), RFLAGS_IF | RFLAGS_FIXED);
	TEST_ASSERT_EQ(sc_rflags & RFLAGS_IF, 0);
	TEST_ASSERT_EQ(sc_magic, 0x6b65726e656c);
	/* The user GS base is back after the second SWAPGS. */
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_GS_BASE), (uintptr_t)&user_gs_word);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_KERNEL_GS_BASE), (uintptr_t)&percpu);
	printf("syscall: CS 0x%x SS 0x%x, RCX = return RIP, R11 = RFLAGS, IF masked\n",
	       sc_cs, sc_ss);
	printf("sysret: back in ring 3, result %lu\n", r);
	wrmsr(MSR_IA32_GS_BASE, 0);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, 0);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	test_ring3_and_gates();
	test_privileged_instructions();
	test_syscall();
	TEST_PASS();
}
