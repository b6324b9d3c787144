/* The clocks a guest can read: the TSC (SDM vol. 3, 17.17), the local
 * APIC timer's current count (10.5.4) and the PIT's counter. nestlab runs
 * them all from one virtual clock, QEMU from the host's; the checks here
 * hold for both: every clock moves forward, HLT lets time pass, the APIC
 * divider scales the timer's rate, and the clocks agree with each other
 * to within a generous margin. Rates are printed only on "# " lines: they
 * are properties of the machine, not of correctness.
 *
 * IA32_TSC (MSR 10H) reads the TSC and a write sets it; QEMU 7.2's TCG
 * reads it as 0 and drops writes, so that part runs elsewhere only. */
#include "lib/apic.h"
#include "lib/boot.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/quirks.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "time";

#define VEC_TIMER 0x40
#define SPIN_LIMIT 20000000

static volatile int ticks;

static void timer_handler(struct trap_frame *f)
{
	(void)f;
	ticks++;
	apic_eoi();
}

static void test_tsc(void)
{
	uint64_t first = rdtsc(), prev = first;
	for (int i = 0; i < 1000; i++) {
		uint64_t t = rdtsc();
		if (t < prev)
			TEST_FAIL("TSC went back: 0x%lx after 0x%lx", t, prev);
		prev = t;
	}
	TEST_ASSERT(prev > first);
	printf("TSC never goes back\n");

	if (on_qemu_tcg()) {
		printf("# IA32_TSC not checked: QEMU's TCG reads it as 0\n");
		return;
	}
	/* RDMSR of IA32_TSC is the TSC; WRMSR sets it (17.17). Some older
	 * processors write only the low 32 bits and clear the rest, so the
	 * value written fits in 32 bits: both kinds then agree. */
	uint64_t a = rdtsc(), m = rdmsr(MSR_IA32_TSC), b = rdtsc();
	TEST_ASSERT(a <= m && m <= b);
	wrmsr(MSR_IA32_TSC, 0x1000);
	uint64_t t = rdtsc();
	TEST_ASSERT(t >= 0x1000 && t < (1ull << 32));
	printf("# IA32_TSC reads and sets the TSC\n");
}

/* The APIC timer's current count falls from the initial count. */
static void test_apic_countdown(void)
{
	apic_timer_start(VEC_TIMER, 0xffffffffu, false);
	uint32_t prev = apic_read(APIC_TIMER_CCR);
	TEST_ASSERT(prev <= 0xffffffffu);
	for (int i = 0; i < 100; i++) {
		for (int j = 0; j < 1000; j++)
			pause();
		uint32_t c = apic_read(APIC_TIMER_CCR);
		if (c > prev)
			TEST_FAIL("APIC timer count went up: 0x%x after 0x%x", c, prev);
		prev = c;
	}
	TEST_ASSERT(prev < 0xffffffffu);
	apic_timer_stop();
	TEST_ASSERT_EQ(apic_read(APIC_TIMER_CCR), 0);
	printf("APIC timer counts down; writing 0 to ICR stops it\n");
}

/* Time passes while the CPU is halted: the TSC keeps counting. */
static void test_hlt_time(void)
{
	trap_set_handler(VEC_TIMER, timer_handler);
	ticks = 0;
	uint64_t before = rdtsc();
	apic_timer_start(VEC_TIMER, 5000000, false);
	sti_hlt();
	cli();
	uint64_t after = rdtsc();
	TEST_ASSERT_EQ(ticks, 1);
	TEST_ASSERT_EQ(apic_read(APIC_TIMER_CCR), 0);
	TEST_ASSERT(after > before);
	printf("HLT until the timer: the TSC moved on\n");
}

/* APIC timer ticks per `span` TSC cycles, measured over at least span
 * (the loop may overshoot: QEMU can take a while to come back from PAUSE,
 * so the count is scaled to the TSC cycles that really passed). */
static uint64_t apic_ticks_per(uint64_t span, unsigned divide_code)
{
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_TIMER_DCR, divide_code);
	apic_write(APIC_TIMER_ICR, 0xffffffffu);
	uint64_t t0 = rdtsc();
	uint32_t c0 = apic_read(APIC_TIMER_CCR);
	while (rdtsc() - t0 < span)
		pause();
	uint32_t c1 = apic_read(APIC_TIMER_CCR);
	uint64_t t1 = rdtsc();
	apic_write(APIC_TIMER_ICR, 0);
	return (uint64_t)(c0 - c1) * span / (t1 - t0);
}

/* Divide configuration 0xB is 1, 0x0 is 2, 0x3 is 16 (figure 10-10). A
 * host that preempts QEMU can spoil one measurement, so three tries. */
static void test_divider(void)
{
	const uint64_t span = 4000000;    /* TSC cycles */
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t by1 = apic_ticks_per(span, 0xb);
		uint64_t by2 = apic_ticks_per(span, 0x0);
		uint64_t by16 = apic_ticks_per(span, 0x3);
		TEST_ASSERT(by1 > 0);
		/* by1 / by2 near 2 and by1 / by16 near 16, within 25 %. */
		if (by2 * 2 * 4 >= by1 * 3 && by2 * 2 * 4 <= by1 * 5 &&
		    by16 * 16 * 4 >= by1 * 3 && by16 * 16 * 4 <= by1 * 5) {
			printf("APIC timer divider: 2 and 16 slow it down 2 and 16 times\n");
			return;
		}
		printf("# divider: %lu %lu %lu ticks, retrying\n", by1, by2, by16);
	}
	TEST_FAIL("the APIC timer divider does not scale the rate");
}

/* The PIT counts at 1.193182 MHz, a rate fixed by the PC: use it to
 * measure the others. */
#define PIT_HZ 1193182u

static uint16_t pit_count(void)
{
	outb(0x43, 0x00);
	uint8_t lo = inb(0x40);
	return (uint16_t)(inb(0x40) << 8 | lo);
}

static void test_rates(void)
{
	/* Channel 0, mode 2, divisor 65536: 55 ms per period, no IRQ (the
	 * PIC masks it). */
	outb(0x43, 0x34);
	outb(0x40, 0);
	outb(0x40, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_TIMER_DCR, 0xb);
	apic_write(APIC_TIMER_ICR, 0xffffffffu);

	/* Wait for 20000 PIT ticks (about 17 ms), and see how far the other
	 * two clocks went. */
	uint16_t p0 = pit_count();
	uint32_t c0 = apic_read(APIC_TIMER_CCR);
	uint64_t t0 = rdtsc();
	uint32_t elapsed = 0;
	for (long i = 0; elapsed < 20000; i++) {
		if (i == SPIN_LIMIT)
			TEST_FAIL("the PIT counter does not move");
		elapsed = (uint16_t)(p0 - pit_count());
	}
	uint32_t c1 = apic_read(APIC_TIMER_CCR);
	uint64_t t1 = rdtsc();
	apic_write(APIC_TIMER_ICR, 0);
	outb(0x43, 0x30);

	uint64_t apic_hz = (uint64_t)(c0 - c1) * PIT_HZ / elapsed;
	uint64_t tsc_hz = (t1 - t0) * PIT_HZ / elapsed;
	printf("# APIC timer %lu MHz, TSC %lu MHz, measured with the PIT\n",
	       apic_hz / 1000000, tsc_hz / 1000000);
	/* Sanity only: real and virtual machines alike run these between
	 * 1 MHz and 100 GHz. */
	TEST_ASSERT(apic_hz > 1000000 && apic_hz < 100000000000ull);
	TEST_ASSERT(tsc_hz > 1000000 && tsc_hz < 100000000000ull);
	printf("PIT, APIC timer and TSC agree that time passes\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	apic_enable();
	test_tsc();
	test_apic_countdown();
	test_hlt_time();
	test_divider();
	test_rates();
	TEST_PASS();
}
