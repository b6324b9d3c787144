/* apictimer: a guest that sleeps on its local APIC timer.
 *
 * The timer (SDM vol. 3, 10.5.4) counts down from an initial count at the
 * bus clock's rate and, at 0, sends an interrupt with the vector in its
 * LVT entry; in periodic mode it then starts again. Between interrupts
 * the guest halts: "STI; HLT" sleeps until the next one.
 *
 * Under a hypervisor this is a good deal of work for it: the APIC's page
 * is emulated (each register access an EPT violation), HLT exits and the
 * guest waits off the CPU, and the timer's interrupt is injected at a VM
 * entry. Bare, none of that. Only the number of interrupts is printed,
 * never a time: times differ from machine to machine. */
#include "l2/l2.h"
#include "lib/apic.h"
#include "lib/idt.h"

const char test_name[] = "apictimer";

#define VEC_TIMER 0x40
#define PERIOD 1000000   /* bus clocks: 1 ms at 1 GHz, the rate of QEMU's and nestlab's */
#define TICKS 10

static volatile unsigned ticks;

static void timer_interrupt(struct trap_frame *f)
{
	(void)f;
	ticks++;
	apic_eoi();   /* the APIC may send the next one */
}

/* Sleep until ticks reaches n. Interrupts are off while ticks is looked
 * at; STI's one-instruction delay makes "STI; HLT" safe: an interrupt
 * that is already due wakes the HLT instead of slipping in before it. */
static void wait_for_tick(unsigned n)
{
	while (ticks < n) {
		sti_hlt();
		cli();
	}
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	apic_enable();
	trap_set_handler(VEC_TIMER, timer_interrupt);

	printf("apictimer: periodic timer, vector 0x%x, every %u bus clocks\n", VEC_TIMER, PERIOD);
	uint64_t start = rdtsc();
	apic_timer_start(VEC_TIMER, PERIOD, true);
	for (unsigned n = 1; n <= TICKS; n++) {
		wait_for_tick(n);
		printf("apictimer: tick %u/%d\n", n, TICKS);
	}
	apic_timer_stop();
	printf("# apictimer: %lu TSC cycles per tick\n", (rdtsc() - start) / TICKS);

	/* A tick that came while interrupts were off may still wait in the
	 * APIC's IRR: stopping the timer does not take it back. Let it in
	 * now, so that it is not counted as the one-shot's. */
	while (apic_irr(VEC_TIMER)) {
		sti();
		pause();
		cli();
	}

	/* One-shot: one interrupt, then the count stays at 0. */
	ticks = 0;
	apic_timer_start(VEC_TIMER, PERIOD, false);
	wait_for_tick(1);
	printf("apictimer: one-shot timer: %u interrupt, current count now %u\n", ticks,
	       apic_read(APIC_TIMER_CCR));
	apic_timer_stop();
	l2_done();
}
