/* Exceptions (SDM vol. 3, chapter 6): faults report the faulting
 * instruction, traps the next one (6.5); #DE, #UD, #BP, #DB by single
 * step, #GP with its error code; interrupt versus trap gates and IF; the
 * 16-byte alignment of the frame; an exception inside a handler; and a
 * fault during delivery escalating to #DF on its IST stack (6.14.5, table
 * 6-5), with IRETQ out of every handler.
 *
 * Not tested: #AC. QEMU's TCG does not implement alignment checking, so
 * the reference machine never raises it. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "exceptions";

/* Check the exception last caught through CATCH_ASM. */
static void expect_fault(const char *what, int vector, int want, uint64_t want_err)
{
	if (vector != want)
		TEST_FAIL("%s: got %s, want %s", what,
			  vector < 0 ? "no exception" : vector_name(vector), vector_name(want));
	TEST_ASSERT_EQ(last_fault.error_code, want_err);
	printf("%s: %s\n", what, vector_name(want));
}

static void test_faults(void)
{
	/* #DE: divide by zero, and a quotient too large (INT64_MIN / -1).
	 * Faults: RIP is the DIV itself, which CATCH_ASM's table names. */
	uint64_t rax = 1, rdx = 0, zero = 0, m1 = (uint64_t)-1;
	fault_clear();
	__asm__ volatile(CATCH_ASM("divq %2") : "+a"(rax), "+d"(rdx) : "r"(zero) : "memory");
	expect_fault("div by zero", last_fault.vector, VEC_DE, 0);
	rax = 1ull << 63;
	rdx = (uint64_t)-1;
	fault_clear();
	__asm__ volatile(CATCH_ASM("idivq %2") : "+a"(rax), "+d"(rdx) : "r"(m1) : "memory");
	expect_fault("idiv overflow", last_fault.vector, VEC_DE, 0);

	/* #UD: UD2, and opcodes that 64-bit mode removed (SDM vol. 2,
	 * appendix A: PUSH ES 06h and INTO CEh are invalid in 64-bit mode). */
	fault_clear();
	__asm__ volatile(CATCH_ASM("ud2") : : : "memory");
	expect_fault("ud2", last_fault.vector, VEC_UD, 0);
	fault_clear();
	__asm__ volatile(CATCH_ASM(".byte 0x06") : : : "memory");
	expect_fault("push es in 64-bit mode", last_fault.vector, VEC_UD, 0);
	fault_clear();
	__asm__ volatile(CATCH_ASM(".byte 0xce") : : : "memory");
	expect_fault("into in 64-bit mode", last_fault.vector, VEC_UD, 0);

	/* #GP(0): a non-canonical address (SDM vol. 3, 6.15, #GP). */
	uint8_t v;
	expect_fault("read at a non-canonical address",
		     try_read8((void *)0x0000800000000000ull, &v), VEC_GP, 0);
	/* #GP(selector): a selector past the GDT limit. */
	uint16_t sel = GDT_SEL(GDT_ENTRIES + 1, 0);
	fault_clear();
	__asm__ volatile(CATCH_ASM("movw %0, %%es") : : "r"(sel) : "memory");
	expect_fault("selector past the GDT limit", last_fault.vector, VEC_GP, sel);
}

/* ---- traps: #BP and #DB ---- */

static volatile uint64_t bp_rip, bp_rsp, bp_count, bp_frame_end;

static void bp_handler(struct trap_frame *f)
{
	bp_rip = f->rip;
	bp_rsp = f->rsp;
	bp_frame_end = (uintptr_t)(&f->ss + 1);
	bp_count++;
}

static volatile uint64_t db_rip, db_dr6;

static void db_handler(struct trap_frame *f)
{
	uint64_t dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	db_dr6 = dr6;
	db_rip = f->rip;
	f->rflags &= ~RFLAGS_TF;   /* one step is enough */
}

static void test_traps(void)
{
	/* INT3 is a trap: the frame holds the address after it, and IRETQ
	 * continues there. RSP is misaligned by 8 on purpose: the CPU aligns
	 * the stack to 16 bytes before pushing the frame (6.14.2), and
	 * pushes the old RSP as it was. */
	trap_set_handler(VEC_BP, bp_handler);
	uint64_t after, rsp;
	__asm__ volatile("subq $8, %%rsp\n\t"
			 "movq %%rsp, %1\n\t"
			 "int3\n"
			 "1:\n\t"
			 "addq $8, %%rsp\n\t"
			 "leaq 1b(%%rip), %0"
			 : "=r"(after), "=r"(rsp) : : "memory");
	TEST_ASSERT_EQ(bp_count, 1);
	TEST_ASSERT_EQ(bp_rip, after);
	TEST_ASSERT_EQ(bp_rsp, rsp);
	TEST_ASSERT_EQ(rsp % 16, 8);
	TEST_ASSERT_EQ(bp_frame_end % 16, 0);
	printf("int3: #BP with RIP after it, frame aligned to 16\n");

	/* The one-byte INT3 (CCh) and INT 3 (CD 03) both reach vector 3. */
	__asm__ volatile("int $3" : : : "memory");
	TEST_ASSERT_EQ(bp_count, 2);
	trap_set_handler(VEC_BP, NULL);

	/* Single step: with TF set at the start of an instruction, #DB
	 * follows it, with DR6.BS (bit 14) set (SDM vol. 3, 17.3.1.4). TF set
	 * by POPF applies from the instruction after POPF. */
	trap_set_handler(VEC_DB, db_handler);
	__asm__ volatile("pushfq\n\t"
			 "orq %1, (%%rsp)\n\t"
			 "popfq\n\t"
			 "nop\n"
			 "1:\n\t"
			 "leaq 1b(%%rip), %0"
			 : "=r"(after) : "i"(RFLAGS_TF) : "memory");
	TEST_ASSERT_EQ(db_rip, after);
	TEST_ASSERT(db_dr6 & (1u << 14));
	TEST_ASSERT_EQ(read_rflags() & RFLAGS_TF, 0);
	trap_set_handler(VEC_DB, NULL);
	printf("single step: #DB after one instruction, DR6.BS set\n");
}

/* ---- gates and IF; nesting ---- */

#define VEC_TRAP_GATE 0x50
#define VEC_INTR_GATE 0x51
#define VEC_NESTING   0x52

static volatile uint64_t gate_rflags;

static void record_rflags(struct trap_frame *f)
{
	(void)f;
	gate_rflags = read_rflags();
}

static volatile int nested_vector = -2;

static void nesting_handler(struct trap_frame *f)
{
	(void)f;
	/* An exception inside a handler is simply delivered in turn. */
	fault_clear();
	__asm__ volatile(CATCH_ASM("ud2") : : : "memory");
	nested_vector = last_fault.vector;
}

static void test_gates(void)
{
	/* Every interrupt source is masked, so IF = 1 is safe here. */
	trap_set_handler(VEC_TRAP_GATE, record_rflags);
	trap_set_handler(VEC_INTR_GATE, record_rflags);
	idt_set_gate(VEC_TRAP_GATE, GATE_TRAP, 0, 0, true);
	sti();
	__asm__ volatile("int %0" : : "i"(VEC_TRAP_GATE) : "memory");
	TEST_ASSERT(gate_rflags & RFLAGS_IF);
	__asm__ volatile("int %0" : : "i"(VEC_INTR_GATE) : "memory");
	TEST_ASSERT(!(gate_rflags & RFLAGS_IF));
	/* IRETQ restored IF from the frame. */
	TEST_ASSERT(read_rflags() & RFLAGS_IF);
	cli();
	printf("trap gate keeps IF, interrupt gate clears it, IRETQ restores it\n");

	trap_set_handler(VEC_NESTING, nesting_handler);
	__asm__ volatile("int %0" : : "i"(VEC_NESTING) : "memory");
	TEST_ASSERT_EQ(nested_vector, VEC_UD);
	printf("#UD inside a handler\n");
}

/* ---- #DF ---- */

/* Set just before the fault: where and on which stack to resume. */
uint64_t df_resume, df_saved_rsp;
static volatile uint64_t df_count, df_error, df_frame;

static void df_handler(struct trap_frame *f)
{
	df_count++;
	df_error = f->error_code;
	df_frame = (uintptr_t)f;
	/* Repair the cause, then resume. After #DF the saved CS:RIP are
	 * undefined (SDM vol. 3, 6.15, interrupt 8), so build the whole
	 * return frame from what the test saved. */
	idt_set_gate(VEC_GP, GATE_INTERRUPT, 0, 0, true);
	f->rip = df_resume;
	f->cs = KERNEL_CS;
	f->rflags = RFLAGS_FIXED;
	f->rsp = df_saved_rsp;
	f->ss = KERNEL_DS;
}

static void test_double_fault(void)
{
	trap_set_handler(VEC_DF, df_handler);
	/* Make the #GP gate not present. Delivering a #GP then raises #NP
	 * (a not-present gate), and #GP followed by #NP, both contributory,
	 * is a double fault (SDM vol. 3, table 6-5). */
	idt_set_gate(VEC_GP, GATE_INTERRUPT, 0, 0, false);
	uint16_t bad = GDT_SEL(GDT_ENTRIES + 2, 0);
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "movq %%rax, df_resume(%%rip)\n\t"
			 "movq %%rsp, df_saved_rsp(%%rip)\n\t"
			 "movw %0, %%ds\n"
			 "1:"
			 : : "r"(bad) : "rax", "memory");
	TEST_ASSERT_EQ(df_count, 1);
	TEST_ASSERT_EQ(df_error, 0);                 /* #DF pushes 0 */
	/* The #DF gate names IST1, so the frame is on that stack. */
	uint64_t ist = tss.ist[IST_DOUBLE_FAULT];
	TEST_ASSERT(df_frame < ist && df_frame > ist - 1024);
	TEST_ASSERT_EQ(read_ds(), KERNEL_DS);
	printf("#GP through a not-present gate: #DF(0) on the IST stack\n");

	/* The repaired gate works again. */
	fault_clear();
	__asm__ volatile(CATCH_ASM("movw %0, %%ds") : : "r"(bad) : "memory");
	TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
	trap_set_handler(VEC_DF, NULL);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	test_faults();
	test_traps();
	test_gates();
	test_double_fault();
	TEST_PASS();
}
