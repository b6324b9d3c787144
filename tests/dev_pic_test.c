/* The 8259A pair through its ports, as a guest programs it. */
#include <criterion/criterion.h>

#include "emu/bus.h"
#include "emu/devices.h"

static struct cpu *c;
static struct pic *p;

static void setup(void)
{
	c = emu_new(1 << 20);
	cr_assert_not_null(c);
	p = pic_new(c);
	cr_assert_not_null(p);
	cr_assert_eq(c->pic, p);
}

static void teardown(void)
{
	pic_free(p);
	emu_free(c);
}

static void out8(uint16_t port, uint8_t v)
{
	bus_out(c->bus, port, 1, v);
}

static uint8_t in8(uint16_t port)
{
	return (uint8_t)bus_in(c->bus, port, 1);
}

/* The sequence Linux and most kernels use: ICW1 edge + ICW4, vector bases
 * 0x20 and 0x28, cascade on IR2, 8086 mode; then masks. */
static void init_pair(uint8_t master_mask, uint8_t slave_mask)
{
	out8(0x20, 0x11);
	out8(0xa0, 0x11);
	out8(0x21, 0x20);
	out8(0xa1, 0x28);
	out8(0x21, 0x04);
	out8(0xa1, 0x02);
	out8(0x21, 0x01);
	out8(0xa1, 0x01);
	out8(0x21, master_mask);
	out8(0xa1, slave_mask);
}

static void pulse(unsigned irq)
{
	irq_line(c, irq, true);
	irq_line(c, irq, false);
}

TestSuite(dev_pic, .init = setup, .fini = teardown);

Test(dev_pic, masked_at_reset)
{
	cr_assert_eq(in8(0x21), 0xff);
	cr_assert_eq(in8(0xa1), 0xff);
	pulse(1);
	cr_assert_not(pic_intr(p));
	/* the request is in IRR all the same */
	cr_assert_eq(in8(0x20), 0x02);
}

Test(dev_pic, irq_intr_ack_eoi)
{
	init_pair(0xfe, 0xff);
	cr_assert_eq(in8(0x21), 0xfe);
	c->brk = 0;
	pulse(0);
	cr_assert(c->brk & BRK_STOP, "a raised line makes the run loop look");
	cr_assert(pic_intr(p));
	cr_assert_eq(pic_ack(p), 0x20);
	cr_assert_not(pic_intr(p));
	out8(0x20, 0x0b); /* OCW3: read ISR */
	cr_assert_eq(in8(0x20), 0x01);
	out8(0x20, 0x0a); /* OCW3: read IRR */
	cr_assert_eq(in8(0x20), 0x00);
	/* a second edge while in service waits for the EOI */
	pulse(0);
	cr_assert_not(pic_intr(p));
	out8(0x20, 0x20); /* non-specific EOI */
	cr_assert(pic_intr(p));
	cr_assert_eq(pic_ack(p), 0x20);
	out8(0x20, 0x60); /* specific EOI, IR0 */
	out8(0x20, 0x0b);
	cr_assert_eq(in8(0x20), 0x00);
}

Test(dev_pic, masked_line_waits_in_irr_until_unmasked)
{
	init_pair(0xff, 0xff);
	pulse(4);
	cr_assert_not(pic_intr(p));
	out8(0x21, 0xef);
	cr_assert(pic_intr(p));
	cr_assert_eq(pic_ack(p), 0x24);
}

Test(dev_pic, fixed_priority_and_nesting)
{
	init_pair(0x00, 0xff);
	pulse(5);
	pulse(3);
	cr_assert_eq(pic_ack(p), 0x23, "IR3 before IR5");
	/* IR5 is lower than IR3 in service: it waits */
	cr_assert_not(pic_intr(p));
	/* IR1 is higher: it nests */
	pulse(1);
	cr_assert(pic_intr(p));
	cr_assert_eq(pic_ack(p), 0x21);
	out8(0x20, 0x20); /* EOI ends IR1, the highest in service */
	cr_assert_not(pic_intr(p));
	out8(0x20, 0x20); /* then IR3 */
	cr_assert_eq(pic_ack(p), 0x25);
}

Test(dev_pic, cascade_irq_8_to_15)
{
	init_pair(0xfb, 0x00); /* master: only the cascade unmasked */
	pulse(12);
	cr_assert(pic_intr(p));
	cr_assert_eq(pic_ack(p), 0x2c);
	out8(0x20, 0x0b);
	cr_assert_eq(in8(0x20), 0x04, "master: IR2 in service");
	out8(0xa0, 0x0b);
	cr_assert_eq(in8(0xa0), 0x10, "slave: IR4 in service");
	/* another slave request waits for both EOIs */
	pulse(9);
	cr_assert_not(pic_intr(p));
	out8(0xa0, 0x20);
	cr_assert_not(pic_intr(p), "master still has IR2 in service");
	out8(0x20, 0x20);
	cr_assert(pic_intr(p));
	cr_assert_eq(pic_ack(p), 0x29);
}

Test(dev_pic, irq2_from_outside_is_ignored)
{
	init_pair(0x00, 0x00);
	pulse(2);
	cr_assert_not(pic_intr(p));
}

Test(dev_pic, edge_needs_a_new_rising_edge)
{
	init_pair(0xfd, 0xff);
	irq_line(c, 1, true);
	cr_assert_eq(pic_ack(p), 0x21);
	out8(0x20, 0x20);
	/* the line is still high: no new edge, no new request */
	cr_assert_not(pic_intr(p));
	irq_line(c, 1, false);
	irq_line(c, 1, true);
	cr_assert(pic_intr(p));
}

Test(dev_pic, level_triggered_via_elcr)
{
	init_pair(0xff, 0xf7); /* slave IR3 = IRQ 11 unmasked */
	out8(0x21, 0xfb);
	bus_out(c->bus, 0x4d0, 2, 0x0800); /* ELCR: IRQ 11 level */
	cr_assert_eq(in8(0x4d1), 0x08);
	irq_line(c, 11, true);
	cr_assert_eq(pic_ack(p), 0x2b);
	out8(0xa0, 0x20);
	out8(0x20, 0x20);
	/* still asserted after the EOI: requested again */
	cr_assert(pic_intr(p));
	irq_line(c, 11, false);
	out8(0xa0, 0x0a);
	cr_assert_eq(in8(0xa0), 0x00, "a level request goes away with its line");
	/* the master latched the cascade's edge: INTA finds nothing on the
	 * slave, the spurious IRQ 15 */
	cr_assert_eq(pic_ack(p), 0x2f);
}

Test(dev_pic, level_on_master_drops_intr)
{
	init_pair(0x00, 0xff);
	out8(0x4d0, 0x08); /* IRQ 3 level */
	irq_line(c, 3, true);
	cr_assert(pic_intr(p));
	irq_line(c, 3, false);
	cr_assert_not(pic_intr(p));
}

Test(dev_pic, elcr_edge_only_lines)
{
	bus_out(c->bus, 0x4d0, 2, 0xffff);
	cr_assert_eq(in8(0x4d0), 0xf8, "IRQ 0, 1, 2 are edge only");
	cr_assert_eq(in8(0x4d1), 0xde, "IRQ 8 and 13 are edge only");
}

Test(dev_pic, spurious_irq7_and_irq15)
{
	init_pair(0x00, 0x00);
	/* a level request that goes away before INTA: spurious IR7 */
	out8(0x4d0, 0x20);
	irq_line(c, 5, true);
	cr_assert(pic_intr(p));
	irq_line(c, 5, false);
	cr_assert_eq(pic_ack(p), 0x27);
	out8(0x20, 0x0b);
	cr_assert_eq(in8(0x20), 0x00, "no ISR bit for a spurious IRQ 7");
	/* the same through the slave: IRQ 15, master IR2 in service */
	out8(0x4d1, 0x02);
	irq_line(c, 9, true);
	irq_line(c, 9, false);
	cr_assert_eq(pic_ack(p), 0x2f);
	out8(0xa0, 0x0b);
	cr_assert_eq(in8(0xa0), 0x00);
	cr_assert_eq(in8(0x20), 0x04);
}

Test(dev_pic, auto_eoi)
{
	out8(0x20, 0x11);
	out8(0x21, 0x40);
	out8(0x21, 0x04);
	out8(0x21, 0x03); /* 8086, AEOI */
	out8(0x21, 0x00);
	pulse(6);
	cr_assert_eq(pic_ack(p), 0x46);
	out8(0x20, 0x0b);
	cr_assert_eq(in8(0x20), 0x00);
	pulse(6);
	cr_assert(pic_intr(p), "no EOI needed");
}

Test(dev_pic, poll_mode)
{
	init_pair(0x00, 0xff);
	out8(0x20, 0x0c); /* OCW3: poll */
	cr_assert_eq(in8(0x20), 0x00, "nothing pending");
	pulse(3);
	out8(0x20, 0x0c);
	cr_assert_eq(in8(0x20), 0x83);
	out8(0x20, 0x0b);
	cr_assert_eq(in8(0x20), 0x08, "a poll sets ISR as INTA does");
}

Test(dev_pic, rotation_on_eoi)
{
	init_pair(0x00, 0xff);
	pulse(0);
	cr_assert_eq(pic_ack(p), 0x20);
	out8(0x20, 0xa0); /* rotate on non-specific EOI: IR0 becomes lowest */
	pulse(0);
	pulse(4);
	cr_assert_eq(pic_ack(p), 0x24, "IR0 now has the lowest priority");
}

Test(dev_pic, icw1_clears_state)
{
	init_pair(0x00, 0xff);
	pulse(3);
	pic_ack(p);
	out8(0x20, 0x11);
	out8(0x21, 0x20);
	out8(0x21, 0x04);
	out8(0x21, 0x01);
	out8(0x20, 0x0b);
	cr_assert_eq(in8(0x20), 0x00);
	cr_assert_eq(in8(0x21), 0x00, "ICW1 clears IMR");
}
