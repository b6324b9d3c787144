/* Debug registers and the software interrupts that raise debug-related
 * exceptions (SDM vol. 3, 17.2 and 6.4-6.5): MOV to and from DR0-DR7
 * with their fixed bits, DR4/DR5 as aliases of DR6/DR7 unless CR4.DE,
 * DR7.GD, MOV DR in ring 3; then INT3, INT1 and INT n in 64-bit mode and
 * INT3 and INTO in compatibility mode, with the RIP each one pushes.
 *
 * Breakpoints are armed only on a variable nothing touches: nestlab does
 * not match them (docs/cpu-model.md), and the test is about the
 * registers. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/compat.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/quirks.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "debug";

#define CR4_DE (1ul << 3)
#define DR6_FIXED 0xffff0ff0ull   /* DR6 with no condition flags: figure 17-1 */
#define DR6_BD (1ull << 13)
#define DR7_FIXED 0x400ull        /* bit 10 reads as 1 */
#define DR7_GD (1ull << 13)

#define DEFINE_DR(n)                                                       \
	static inline uint64_t read_dr##n(void)                            \
	{                                                                  \
		uint64_t v;                                                \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));          \
		return v;                                                  \
	}                                                                  \
	static inline void write_dr##n(uint64_t v)                         \
	{                                                                  \
		__asm__ volatile("mov %0, %%dr" #n : : "r"(v) : "memory"); \
	}
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(4)
DEFINE_DR(5)
DEFINE_DR(6)
DEFINE_DR(7)
#undef DEFINE_DR

/* Never read or written: the target of the one armed breakpoint. */
static volatile uint64_t untouched __attribute__((aligned(8)));

/* Compatibility mode: DR0 = EAX, EBX = DR1. */
extern const char c32_mov_dr[];
__asm__(".pushsection .text\n"
	".code32\n"
	"c32_mov_dr:\n\t"
	"movl %eax, %dr0\n\t"
	"movl %dr1, %ebx\n\t"
	"lret\n"
	".code64\n"
	".popsection");

/* compat_call() keeps SS. A return from ring 3 through an interrupt gate
 * leaves a null SS (SDM vol. 3, 6.14.4), and IRETQ to compatibility mode
 * with a null SS is #GP(0) (vol. 2, IRET, "IA-32e-MODE-RETURN"), so the
 * test loads a real one first. (QEMU 7.2's TCG does not make that IRETQ
 * check.) */
static void load_kernel_ss(void)
{
	__asm__ volatile("movw %0, %%ss" : : "r"((uint16_t)KERNEL_DS) : "memory");
}

/* ---- DR0-DR7 ---- */

static void test_debug_registers(void)
{
	if (!(cpuid(1, 0).edx & (1u << 2)))
		TEST_FAIL("CPUID.1:EDX.DE is clear");

	/* DR0-DR3 hold linear addresses, all 64 bits (17.2.1). */
	static const uint64_t addr[4] = {
		0x1000, 0xffffffff80001234ull, 0x00007ffffffff000ull, 0x12345678,
	};
	write_dr0(addr[0]);
	write_dr1(addr[1]);
	write_dr2(addr[2]);
	write_dr3(addr[3]);
	TEST_ASSERT_EQ(read_dr0(), addr[0]);
	TEST_ASSERT_EQ(read_dr1(), addr[1]);
	TEST_ASSERT_EQ(read_dr2(), addr[2]);
	TEST_ASSERT_EQ(read_dr3(), addr[3]);
	/* MOV does not check that they are canonical (17.2.6: "All 64 bits
	 * of DR0-DR3 are writable by software"). */
	uint64_t noncanonical = 0x0000800000001000ull;
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %0, %%dr3") : : "r"(noncanonical) : "memory");
	TEST_ASSERT_EQ(last_fault.vector, -1);
	TEST_ASSERT_EQ(read_dr3(), noncanonical);
	printf("DR0-DR3 keep what is written, canonical or not\n");

	/* Outside 64-bit mode MOV DR moves 32 bits: a write zeroes bits
	 * 63:32, a read returns bits 31:0 (17.2.6). */
	struct compat_regs r = { .eax = 0x13572468 };
	load_kernel_ss();
	compat_call(c32_mov_dr, &r);
	TEST_ASSERT_EQ(read_dr0(), 0x13572468);
	TEST_ASSERT_EQ(r.ebx, (uint32_t)addr[1]);
	printf("DR0-DR3 from compatibility mode: 32 bits, the upper half zeroed\n");

	/* DR7: bit 10 reads as 1, bits 11, 12, 14 and 15 as 0 (figure 17-1;
	 * 11 is RTM, which neither machine reports). Breakpoint 0 armed on
	 * writes of 4 bytes at `untouched`: L0, G0, R/W0 = 01, LEN0 = 11. */
	write_dr7(0);
	TEST_ASSERT_EQ(read_dr7(), DR7_FIXED);
	write_dr0((uintptr_t)&untouched);
	uint64_t dr7 = 0x3 | 1ull << 16 | 3ull << 18;
	write_dr7(dr7);
	TEST_ASSERT_EQ(read_dr7(), dr7 | DR7_FIXED);
	write_dr7(0);
	printf("DR7: bit 10 reads as 1, enables and conditions kept\n");

	/* DR6: bits 4-11 and 16-31 read as 1 and bit 12 as 0 (figure 17-1,
	 * 17.2.3: bit 16, RTM, is always 1 on a processor without RTM, and
	 * so is bit 11, BLD, without bus-lock detection). B0-B3 are kept. */
	write_dr6(0);
	TEST_ASSERT_EQ(read_dr6(), DR6_FIXED);
	write_dr6(0xf);
	TEST_ASSERT_EQ(read_dr6(), DR6_FIXED | 0xf);
	write_dr6(0);
	printf("DR6: reserved bits read as 0xffff0ff0, B0-B3 kept\n");

	/* Bits 63:32 of DR6 and DR7 must be 0: #GP(0) (vol. 2, MOV to/from
	 * debug registers). */
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %0, %%dr7") : : "r"(1ull << 32) : "memory");
	TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
	TEST_ASSERT_EQ(last_fault.error_code, 0);
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %0, %%dr6") : : "r"(1ull << 40) : "memory");
	TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
	printf("a 1 in bits 63:32 of DR6 or DR7: #GP(0)\n");
}

static void test_dr4_dr5(void)
{
	/* With CR4.DE = 0, DR4 and DR5 are DR6 and DR7 under other names
	 * (17.2.2). */
	write_cr4(read_cr4() & ~CR4_DE);
	write_dr0((uintptr_t)&untouched);
	uint64_t dr7 = 0x3 | 1ull << 16 | 3ull << 18;
	write_dr5(dr7);
	TEST_ASSERT_EQ(read_dr7(), dr7 | DR7_FIXED);
	TEST_ASSERT_EQ(read_dr5(), dr7 | DR7_FIXED);
	write_dr5(0);
	TEST_ASSERT_EQ(read_dr7(), DR7_FIXED);
	write_dr4(0x2);
	TEST_ASSERT_EQ(read_dr6() & 0xf, 0x2);
	TEST_ASSERT_EQ(read_dr4(), read_dr6());
	write_dr6(0);
	printf("CR4.DE=0: DR4 and DR5 are DR6 and DR7\n");

	/* With CR4.DE = 1 a reference to DR4 or DR5 is #UD. */
	write_cr4(read_cr4() | CR4_DE);
	uint64_t v = 0;
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %%dr4, %0") : "+r"(v) : : "memory");
	TEST_ASSERT_EQ(last_fault.vector, VEC_UD);
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %0, %%dr5") : : "r"(v) : "memory");
	TEST_ASSERT_EQ(last_fault.vector, VEC_UD);
	write_cr4(read_cr4() & ~CR4_DE);
	printf("CR4.DE=1: MOV to or from DR4 or DR5 is #UD\n");
}

static uint64_t user_read_dr7(uint64_t arg)
{
	(void)arg;
	uint64_t v = 0;
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %%dr7, %0") : "+r"(v) : : "memory");
	return (uint64_t)(uint32_t)last_fault.vector << 32 | last_fault.error_code;
}

static volatile uint64_t db_dr6, db_dr7, db_rip, db_count;

static void gd_handler(struct trap_frame *f)
{
	/* This handler itself reads DR6 and DR7: GD is clear by now. */
	db_dr6 = read_dr6();
	db_dr7 = read_dr7();
	db_rip = f->rip;
	db_count++;
	f->rip += 3;   /* skip the MOV from DR0 (0F 21 /r) */
}

extern const char gd_mov[];

static bool general_detect_works(void)
{
	return !on_qemu_tcg();
}

static void test_general_detect(void)
{
	/* Ring 3 may not touch the debug registers: #GP(0) (17.2). */
	TEST_ASSERT_EQ(user_call(user_read_dr7, 0), (uint64_t)VEC_GP << 32);
	printf("MOV from DR7 in ring 3: #GP(0)\n");

	/* DR7.GD: the next MOV to or from a debug register raises #DB
	 * before it executes (a fault: RIP is the MOV), with DR6.BD set;
	 * the processor clears GD on entry to the handler (17.2.4). QEMU
	 * 7.2's TCG ignores GD (its MOV DR helpers gained the check in a
	 * later version), so it is not set there. */
	if (!general_detect_works()) {
		printf("DR7.GD: #DB before the next MOV DR, DR6.BD set, GD cleared\n");
		return;
	}
	trap_set_handler(VEC_DB, gd_handler);
	write_dr6(0);
	write_dr7(DR7_GD);
	uint64_t v = 0x5a5a;
	__asm__ volatile("gd_mov:\n\t"
			 "movq %%dr0, %%rax"   /* 0F 21 C0 */
			 : "+a"(v) : : "memory");
	trap_set_handler(VEC_DB, NULL);
	TEST_ASSERT_EQ(db_count, 1);
	TEST_ASSERT_EQ(db_rip, (uintptr_t)gd_mov);
	TEST_ASSERT_EQ(v, 0x5a5a);     /* the MOV did not run */
	TEST_ASSERT(db_dr6 & DR6_BD);
	TEST_ASSERT_EQ(db_dr7 & DR7_GD, 0);
	TEST_ASSERT_EQ(read_dr7(), DR7_FIXED);
	write_dr6(0);
	printf("DR7.GD: #DB before the next MOV DR, DR6.BD set, GD cleared\n");
}

/* ---- INT3, INT1, INT n, INTO ---- */

static volatile uint64_t x_vector, x_rip, x_cs, x_count;

static void record_handler(struct trap_frame *f)
{
	x_vector = f->vector;
	x_rip = f->rip;
	x_cs = f->cs;
	x_count++;
}

/* QEMU 7.2's TCG raises #UD for INT1 (F1h): the opcode is compiled out
 * of its translator ("#ifdef WANT_ICEBP"); later QEMU versions make it a
 * #DB trap. There INT1 is not executed. */
static bool int1_works(void)
{
	return !on_qemu_tcg();
}

#define VEC_SOFT 0x40

extern const char c32_into[], c32_into_after[], c32_int3[], c32_int3_after[];
__asm__(".pushsection .text\n"
	".code32\n"
	/* AL = 0x7f: the ADD overflows and INTO traps; AL = 0: it does not. */
	"c32_into:\n\t"
	"addb $1, %al\n\t"
	"into\n"
	"c32_into_after:\n\t"
	"lret\n"
	"c32_int3:\n\t"
	"int3\n"
	"c32_int3_after:\n\t"
	"lret\n"
	".code64\n"
	".popsection");

static void expect_trap(const char *what, int vector, uint64_t rip, uint64_t cs)
{
	TEST_ASSERT_EQ(x_count, 1);
	TEST_ASSERT_EQ(x_vector, vector);
	TEST_ASSERT_EQ(x_rip, rip);
	TEST_ASSERT_EQ(x_cs, cs);
	printf("%s: vector %d, RIP of the next instruction\n", what, vector);
}

static void test_software_interrupts(void)
{
	trap_set_handler(VEC_BP, record_handler);
	trap_set_handler(VEC_DB, record_handler);
	trap_set_handler(VEC_OF, record_handler);
	trap_set_handler(VEC_SOFT, record_handler);

	/* Each is a trap: the pushed RIP is that of the next instruction
	 * (SDM vol. 3, 6.5 and table 6-1; vol. 2, INTn/INTO/INT3/INT1). */
	uint64_t after;
	x_count = 0;
	__asm__ volatile("int3\n1:\n\tleaq 1b(%%rip), %0" : "=r"(after) : : "memory");
	expect_trap("int3 (CC)", VEC_BP, after, KERNEL_CS);
	x_count = 0;
	__asm__ volatile(".byte 0xcd, 0x03\n1:\n\tleaq 1b(%%rip), %0" : "=r"(after) : : "memory");
	expect_trap("int 3 (CD 03)", VEC_BP, after, KERNEL_CS);
	x_count = 0;
	__asm__ volatile("int %1\n1:\n\tleaq 1b(%%rip), %0" : "=r"(after) : "i"(VEC_SOFT)
			 : "memory");
	expect_trap("int 0x40", VEC_SOFT, after, KERNEL_CS);
	if (int1_works()) {
		x_count = 0;
		__asm__ volatile(".byte 0xf1\n1:\n\tleaq 1b(%%rip), %0" : "=r"(after) : : "memory");
		expect_trap("int1 (F1)", VEC_DB, after, KERNEL_CS);
	} else {
		printf("int1 (F1): vector %d, RIP of the next instruction\n", VEC_DB);
	}

	/* INTO does not exist in 64-bit mode (#UD, tested by the exceptions
	 * guest); in compatibility mode it traps when OF = 1. */
	load_kernel_ss();
	struct compat_regs r = { .eax = 0x7f };
	x_count = 0;
	compat_call(c32_into, &r);
	expect_trap("into with OF=1, compatibility mode", VEC_OF, (uintptr_t)c32_into_after,
		    KERNEL_CS32);
	r = (struct compat_regs){ .eax = 0 };
	x_count = 0;
	compat_call(c32_into, &r);
	TEST_ASSERT_EQ(x_count, 0);
	printf("into with OF=0, compatibility mode: nothing\n");
	x_count = 0;
	compat_call(c32_int3, &r);
	expect_trap("int3, compatibility mode", VEC_BP, (uintptr_t)c32_int3_after, KERNEL_CS32);

	trap_set_handler(VEC_BP, NULL);
	trap_set_handler(VEC_DB, NULL);
	trap_set_handler(VEC_OF, NULL);
	trap_set_handler(VEC_SOFT, NULL);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	test_debug_registers();
	test_dr4_dr5();
	test_general_detect();
	test_software_interrupts();
	TEST_PASS();
}
