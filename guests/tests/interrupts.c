/* External interrupts through the local APIC (SDM vol. 3, chapter 10 and
 * 6.8): the APIC timer in one-shot and periodic mode, HLT woken by an
 * interrupt, the interrupt shadow of STI (the `sti; hlt` idiom), and the
 * priority rules that make EOI and the TPR matter (10.8.3). */
#include "lib/apic.h"
#include "lib/boot.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "interrupts";

#define VEC_TIMER   0x40    /* priority class 4 */
#define VEC_TIMER_B 0x41    /* same class */

/* Loop bound for "this should already have happened": far longer than
 * any timer here, short enough to fail well inside the runner's timeout. */
#define SPIN_LIMIT 20000000

static volatile int ticks;
static volatile uint64_t tick_rip;      /* where the last tick interrupted */
static volatile int stop_after;         /* periodic: stop at this many */

static void timer_handler(struct trap_frame *f)
{
	ticks++;
	tick_rip = f->rip;
	if (stop_after && ticks == stop_after)
		apic_timer_stop();
	apic_eoi();
}

static void timer_handler_no_eoi(struct trap_frame *f)
{
	ticks++;
	tick_rip = f->rip;
}

/* Wait with interrupts enabled until n ticks have arrived. IF stays set
 * for the whole wait: in QEMU 7.2's TCG a loop of `sti; pause; cli`
 * never takes the interrupt (PAUSE leaves the CPU loop while the STI
 * shadow is still recorded, so the window before CLI is lost). */
static void wait_ticks(int n, const char *what)
{
	sti();
	for (long i = 0; ticks < n; i++) {
		if (i == SPIN_LIMIT)
			TEST_FAIL("%s: %d ticks, expected %d", what, ticks, n);
		pause();
	}
	cli();
}

/* Spin with interrupts enabled for a while, for "nothing more happens". */
static void spin_a_while(void)
{
	sti();
	for (int i = 0; i < 200000; i++)
		pause();
	cli();
}

/* With interrupts disabled, wait for a one-shot timer to run out and its
 * vector to reach the IRR. */
static void wait_pending(uint8_t vector, const char *what)
{
	for (long i = 0; !apic_irr(vector); i++) {
		if (i == SPIN_LIMIT)
			TEST_FAIL("%s: vector 0x%x never became pending", what, vector);
		pause();
	}
}

static void test_registers(void)
{
	apic_enable();
	TEST_ASSERT(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_MSR_ENABLE);
	TEST_ASSERT(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_MSR_BSP);
	/* The APIC ID (bits 31:24) is CPUID.1:EBX[31:24]. */
	TEST_ASSERT_EQ(apic_read(APIC_ID) >> 24, cpuid(1, 0).ebx >> 24);
	/* An integrated APIC has version 1xH (10.4.8). */
	TEST_ASSERT_EQ(apic_read(APIC_VERSION) & 0xf0, 0x10);
	TEST_ASSERT_EQ(apic_read(APIC_SVR) & 0x1ff, APIC_SVR_ENABLE | VEC_SPURIOUS);
	TEST_ASSERT_EQ(apic_read(APIC_TPR), 0);
	printf("local APIC enabled, ID 0\n");
}

static void test_one_shot(void)
{
	trap_set_handler(VEC_TIMER, timer_handler);
	ticks = 0;
	apic_timer_start(VEC_TIMER, 100000, false);
	/* Counting down: never above the initial count. */
	TEST_ASSERT(apic_read(APIC_TIMER_CCR) <= 100000);
	TEST_ASSERT_EQ(apic_read(APIC_TIMER_ICR), 100000);
	wait_ticks(1, "one-shot");
	/* One-shot: the count stays at 0 and nothing more comes. */
	TEST_ASSERT_EQ(apic_read(APIC_TIMER_CCR), 0);
	spin_a_while();
	TEST_ASSERT_EQ(ticks, 1);
	printf("one-shot timer: 1 tick\n");
}

static void test_periodic(void)
{
	ticks = 0;
	stop_after = 10;
	apic_timer_start(VEC_TIMER, 200000, true);
	wait_ticks(10, "periodic");
	stop_after = 0;
	/* The handler stopped the timer at the tenth tick. One more may
	 * still come: if the handler ran late, the next period had already
	 * set the IRR bit, and masking the LVT does not take it back. */
	spin_a_while();
	TEST_ASSERT(ticks == 10 || ticks == 11);
	int late = ticks;
	spin_a_while();
	TEST_ASSERT_EQ(ticks, late);
	printf("periodic timer: 10 ticks, then stopped\n");

	/* Periodic mode reloads the count from ICR each time it reaches 0. */
	ticks = 0;
	apic_timer_start(VEC_TIMER, 200000, true);
	wait_ticks(2, "periodic reload");
	uint32_t ccr = apic_read(APIC_TIMER_CCR);
	apic_timer_stop();
	TEST_ASSERT(ccr > 0 && ccr <= 200000);
	printf("periodic timer reloads its count\n");
}

/* HLT stops until an interrupt; the interrupt returns to after the HLT. */
static void test_hlt(void)
{
	uint64_t after;
	ticks = 0;
	apic_timer_start(VEC_TIMER, 200000, false);
	__asm__ volatile("sti\n\t"
			 "hlt\n"
			 "1:\n\t"
			 "cli\n\t"
			 "leaq 1b(%%rip), %0"
			 : "=r"(after) : : "memory");
	TEST_ASSERT_EQ(ticks, 1);
	TEST_ASSERT_EQ(tick_rip, after);
	printf("hlt woken by the timer, returns after hlt\n");
}

/* STI blocks interrupts for one more instruction (SDM vol. 2, STI; vol. 3,
 * 6.8.1). With an interrupt already pending, `sti; nop; nop` takes it
 * after the first NOP, and `sti; hlt` takes it after HLT: HLT starts,
 * so it cannot sleep through the wake-up. */
static void test_sti_shadow(void)
{
	uint64_t after_first_nop, hlt_addr, after_hlt;

	ticks = 0;
	apic_timer_start(VEC_TIMER, 1000, false);
	wait_pending(VEC_TIMER, "sti; nop");
	__asm__ volatile("sti\n\t"
			 "nop\n"
			 "1:\n\t"
			 "nop\n\t"
			 "cli\n\t"
			 "leaq 1b(%%rip), %0"
			 : "=r"(after_first_nop) : : "memory");
	TEST_ASSERT_EQ(ticks, 1);
	TEST_ASSERT_EQ(tick_rip, after_first_nop);
	printf("sti: the pending interrupt waits one instruction\n");

	/* A CPU without the shadow would interrupt before HLT and then
	 * halt for good; the timer below is the same one-shot, so fail
	 * rather than hang: the handler sees RIP = the HLT. */
	ticks = 0;
	apic_timer_start(VEC_TIMER, 1000, false);
	wait_pending(VEC_TIMER, "sti; hlt");
	__asm__ volatile("leaq 1f(%%rip), %0\n\t"
			 "leaq 2f(%%rip), %1\n\t"
			 "sti\n"
			 "1:\n\t"
			 "hlt\n"
			 "2:\n\t"
			 "cli"
			 : "=&r"(hlt_addr), "=&r"(after_hlt) : : "memory");
	TEST_ASSERT(tick_rip != hlt_addr);
	TEST_ASSERT_EQ(ticks, 1);
	TEST_ASSERT_EQ(tick_rip, after_hlt);
	printf("sti; hlt: the interrupt arrives after hlt\n");
}

/* An interrupt in service (ISR bit set, no EOI yet) holds back others of
 * the same or lower priority class; the TPR does the same by software. */
static void test_priority(void)
{
	/* A handler that does not send EOI. */
	trap_set_handler(VEC_TIMER, timer_handler_no_eoi);
	trap_set_handler(VEC_TIMER_B, timer_handler_no_eoi);
	ticks = 0;
	apic_timer_start(VEC_TIMER, 1000, false);
	wait_ticks(1, "no-EOI handler");
	TEST_ASSERT(apic_isr(VEC_TIMER));

	/* A second interrupt of the same class stays in the IRR. */
	apic_timer_start(VEC_TIMER_B, 1000, false);
	wait_pending(VEC_TIMER_B, "second interrupt");
	spin_a_while();
	TEST_ASSERT_EQ(ticks, 1);
	TEST_ASSERT(apic_irr(VEC_TIMER_B));
	printf("an interrupt in service blocks its priority class\n");

	/* EOI clears the highest ISR bit; the pending one is delivered. */
	apic_eoi();
	TEST_ASSERT(!apic_isr(VEC_TIMER));
	wait_ticks(2, "after EOI");
	TEST_ASSERT(apic_isr(VEC_TIMER_B));
	apic_eoi();
	TEST_ASSERT(!apic_isr(VEC_TIMER_B));
	printf("EOI lets it through\n");

	/* TPR class 4 blocks vectors 0x40-0x4F (PPR = TPR here). */
	trap_set_handler(VEC_TIMER, timer_handler);
	ticks = 0;
	apic_write(APIC_TPR, 0x40);
	apic_timer_start(VEC_TIMER, 1000, false);
	wait_pending(VEC_TIMER, "TPR");
	spin_a_while();
	TEST_ASSERT_EQ(ticks, 0);
	TEST_ASSERT_EQ(apic_read(APIC_PPR) & 0xf0, 0x40);
	apic_write(APIC_TPR, 0);
	wait_ticks(1, "TPR lowered");
	printf("TPR holds back a class until lowered\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	test_registers();
	test_one_shot();
	test_periodic();
	test_hlt();
	test_sti_shadow();
	test_priority();
	TEST_PASS();
}
