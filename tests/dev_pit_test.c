/* The 8254 through its ports, with IRQ 0 watched at the 8259. Virtual time
 * is moved by hand (cpu->icount) and due timers run as the run loop would. */
#include <criterion/criterion.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/vtime.h"

#define HZ 1193182ull

static struct cpu *c;
static struct pic *pic;
static struct pit *pit;

static void setup(void)
{
	c = emu_new(1 << 20);
	cr_assert_not_null(c);
	pic = pic_new(c);
	pit = pit_new(c);
	cr_assert_not_null(pit);
	cr_assert_eq(c->pit, pit);
	/* 8259: vector base 0x20, only IRQ 0 unmasked */
	static const uint8_t seq[][2] = {
		{ 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 }, { 0x21, 0xfe },
	};
	for (unsigned k = 0; k < sizeof seq / sizeof seq[0]; k++)
		bus_out(c->bus, seq[k][0], 1, seq[k][1]);
}

static void teardown(void)
{
	pit_free(pit);
	pic_free(pic);
	emu_free(c);
}

TestSuite(dev_pit, .init = setup, .fini = teardown);

static void out8(uint16_t port, uint8_t v)
{
	bus_out(c->bus, port, 1, v);
}

static uint8_t in8(uint16_t port)
{
	return (uint8_t)bus_in(c->bus, port, 1);
}

/* The virtual ns at which `ticks` input clocks have passed since 0. */
static uint64_t tick_ns(uint64_t ticks)
{
	return (ticks * 1000000000ull + HZ - 1) / HZ;
}

static void at(uint64_t ns)
{
	c->icount = ns;
	vtimer_run_due(c);
}

/* Take IRQ 0 if it is pending: true if it was. */
static bool take_irq0(void)
{
	if (!pic_intr(pic))
		return false;
	cr_assert_eq(pic_ack(pic), 0x20);
	out8(0x20, 0x20);
	return true;
}

static void program(unsigned counter, uint8_t mode_bits, uint16_t count)
{
	out8(0x43, (uint8_t)(counter << 6 | 0x30 | mode_bits));
	out8((uint16_t)(0x40 + counter), (uint8_t)count);
	out8((uint16_t)(0x40 + counter), (uint8_t)(count >> 8));
}

Test(dev_pit, idle_at_reset)
{
	cr_assert_null(c->timers, "no counter runs before it is programmed");
	at(100000000);
	cr_assert_not(pic_intr(pic));
}

Test(dev_pit, mode2_rate_generator_period)
{
	program(0, 0x04, 1193); /* mode 2, about 1 ms */
	for (uint64_t n = 1; n <= 5; n++) {
		at(tick_ns(1193 * n) - 1);
		cr_assert_not(take_irq0(), "period %llu: early", (unsigned long long)n);
		at(tick_ns(1193 * n));
		cr_assert(take_irq0(), "period %llu: on time", (unsigned long long)n);
	}
}

Test(dev_pit, mode3_square_wave_period)
{
	program(0, 0x06, 1000);
	at(tick_ns(500));
	cr_assert_not(take_irq0(), "the falling half-way edge raises nothing");
	at(tick_ns(1000) - 1);
	cr_assert_not(take_irq0());
	at(tick_ns(1000));
	cr_assert(take_irq0());
	at(tick_ns(2000));
	cr_assert(take_irq0());
	/* the output is high for the first half of each period */
	at(tick_ns(2400));
	out8(0x43, 0xe2); /* read-back: status of counter 0 */
	cr_assert_eq(in8(0x40), 0x80 | 0x36);
	at(tick_ns(2600));
	out8(0x43, 0xe2);
	cr_assert_eq(in8(0x40), 0x36);
}

Test(dev_pit, late_run_loop_merges_periods)
{
	program(0, 0x04, 100);
	at(tick_ns(100 * 1000) + 5); /* a thousand periods at once */
	cr_assert(take_irq0());
	cr_assert_not(take_irq0());
	at(tick_ns(100 * 1001));
	cr_assert(take_irq0(), "and the rhythm goes on");
}

Test(dev_pit, mode0_one_shot)
{
	program(0, 0x00, 5000);
	at(tick_ns(5000) - 1);
	cr_assert_not(take_irq0());
	at(tick_ns(5000));
	cr_assert(take_irq0());
	at(tick_ns(50000));
	cr_assert_not(take_irq0(), "once only");
	cr_assert_null(c->timers);
}

Test(dev_pit, mode4_strobe)
{
	program(0, 0x08, 300);
	at(tick_ns(300));
	cr_assert_not(take_irq0(), "OUT falls at the terminal count");
	at(tick_ns(301));
	cr_assert(take_irq0(), "and rises one clock later");
}

Test(dev_pit, new_count_in_mode2_waits_for_period_end)
{
	program(0, 0x04, 1000);
	at(tick_ns(400));
	out8(0x40, 0xd0);
	out8(0x40, 0x07); /* 2000 */
	at(tick_ns(1000));
	cr_assert(take_irq0(), "the current period ends as programmed");
	at(tick_ns(2000));
	cr_assert_not(take_irq0());
	at(tick_ns(3000) + 1); /* the new count starts on a whole ns */
	cr_assert(take_irq0(), "then the new period");
}

Test(dev_pit, latch_command_freezes_the_count)
{
	program(0, 0x04, 1000);
	at(tick_ns(300));
	out8(0x43, 0x00); /* latch counter 0 */
	at(tick_ns(500));
	uint16_t v = in8(0x40);
	v |= (uint16_t)(in8(0x40) << 8);
	cr_assert_eq(v, 700);
	/* the latch is released: the next reads are live */
	v = in8(0x40);
	v |= (uint16_t)(in8(0x40) << 8);
	cr_assert_eq(v, 500);
}

Test(dev_pit, read_back_status_and_count)
{
	program(0, 0x04, 1000);
	at(tick_ns(250));
	out8(0x43, 0xc2); /* count and status of counter 0 */
	at(tick_ns(900));
	cr_assert_eq(in8(0x40), 0x80 | 0x34, "OUT high, count loaded, rw 3, mode 2");
	uint16_t v = in8(0x40);
	v |= (uint16_t)(in8(0x40) << 8);
	cr_assert_eq(v, 750);
	/* right after a control word, null count is set and OUT is high */
	out8(0x43, 0x34);
	out8(0x43, 0xe2);
	cr_assert_eq(in8(0x40), 0x80 | 0x40 | 0x34);
}

Test(dev_pit, lsb_only_and_bcd)
{
	out8(0x43, 0x51); /* counter 1, LSB only, mode 0, BCD */
	out8(0x41, 0x99); /* 99 */
	at(tick_ns(10));
	cr_assert_eq(in8(0x41), 0x89);
}

Test(dev_pit, port61_gate_and_out2)
{
	out8(0x61, 0x00);
	program(2, 0x00, 100); /* mode 0 with GATE low: held */
	cr_assert_eq(in8(0x61) & 0x20, 0);
	at(tick_ns(1000));
	cr_assert_eq(in8(0x61) & 0x20, 0, "no counting while GATE is low");
	out8(0x61, 0x01); /* GATE high */
	cr_assert_eq(in8(0x61) & 0x01, 0x01);
	at(tick_ns(1000) + tick_ns(100) - 1);
	cr_assert_eq(in8(0x61) & 0x20, 0);
	at(tick_ns(1000) + tick_ns(100) + 1);
	cr_assert_eq(in8(0x61) & 0x20, 0x20, "OUT2 high after 100 clocks of GATE");
	cr_assert_not(pic_intr(pic), "counter 2 has no IRQ");
}

Test(dev_pit, port61_mode1_one_shot_on_gate)
{
	out8(0x61, 0x00);
	program(2, 0x02, 50); /* mode 1 */
	cr_assert_eq(in8(0x61) & 0x20, 0x20, "OUT high until triggered");
	at(1000);
	out8(0x61, 0x01);
	cr_assert_eq(in8(0x61) & 0x20, 0);
	at(1000 + tick_ns(50));
	cr_assert_eq(in8(0x61) & 0x20, 0x20);
}

Test(dev_pit, port61_refresh_toggles)
{
	uint8_t a = in8(0x61) & 0x10;
	at(tick_ns(18));
	uint8_t b = in8(0x61) & 0x10;
	cr_assert_neq(a, b);
}

Test(dev_pit, irq0_reaches_the_ioapic_pin_2)
{
	struct lapic *l = lapic_new(c);
	struct ioapic *io = ioapic_new(c);
	out8(0x21, 0xff); /* the 8259 masked: its INTR would come first */
	/* route GSI 2: vector 0x30, edge, unmasked */
	bus_write(c->bus, 0xfec00000, 4, 0x14);
	bus_write(c->bus, 0xfec00010, 4, 0x30);
	program(0, 0x04, 1193);
	at(tick_ns(1193));
	cr_assert_eq(lapic_pending(l), 0x30);
	ioapic_free(io);
	lapic_free(l);
}
