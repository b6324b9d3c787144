/* The I/O APIC through IOREGSEL/IOWIN, delivering to the local APIC. */
#include <criterion/criterion.h>

#include "emu/bus.h"
#include "emu/devices.h"

#define IOAPIC 0xfec00000ull
#define LAPIC  0xfee00000ull

static struct cpu *c;
static struct ioapic *io;
static struct lapic *l;

static void setup(void)
{
	c = emu_new(1 << 20);
	cr_assert_not_null(c);
	io = ioapic_new(c);
	l = lapic_new(c);
	cr_assert_not_null(io);
	cr_assert_not_null(l);
	cr_assert_eq(c->ioapic, io);
}

static void teardown(void)
{
	lapic_free(l);
	ioapic_free(io);
	emu_free(c);
}

TestSuite(dev_ioapic, .init = setup, .fini = teardown);

static uint32_t io_read(uint8_t reg)
{
	bus_write(c->bus, IOAPIC, 4, reg);
	return (uint32_t)bus_read(c->bus, IOAPIC + 0x10, 4);
}

static void io_write(uint8_t reg, uint32_t v)
{
	bus_write(c->bus, IOAPIC, 4, reg);
	bus_write(c->bus, IOAPIC + 0x10, 4, v);
}

static void route(unsigned pin, uint32_t low)
{
	io_write((uint8_t)(0x11 + 2 * pin), 0);
	io_write((uint8_t)(0x10 + 2 * pin), low);
}

static void lapic_eoi(void)
{
	bus_write(c->bus, LAPIC + 0xb0, 4, 0);
}

/* Bit `vector` of one of the LAPIC's 256-bit registers (ISR 0x100,
 * TMR 0x180, IRR 0x200). */
static bool lapic_bit(unsigned reg, unsigned vector)
{
	uint32_t w = (uint32_t)bus_read(c->bus, LAPIC + reg + 0x10 * (vector / 32), 4);
	return w & (1u << (vector % 32));
}

#define EDGE   0u
#define LEVEL  (1u << 15)
#define MASKED (1u << 16)
#define REMOTE_IRR (1u << 14)

Test(dev_ioapic, identification)
{
	cr_assert_eq(io_read(0x01), 0x00170011, "version 0x11, 24 entries");
	io_write(0x00, 0x0a000000);
	cr_assert_eq(io_read(0x00), 0x0a000000);
	cr_assert_eq(io_read(0x02), 0x0a000000, "arbitration ID");
	io_write(0x01, 0);
	cr_assert_eq(io_read(0x01), 0x00170011, "read-only");
	cr_assert_eq(bus_read(c->bus, IOAPIC, 4), 0x01, "IOREGSEL reads back");
	bus_write(c->bus, IOAPIC, 4, 0x01);
	cr_assert_eq(bus_read(c->bus, IOAPIC + 0x12, 1), 0x17, "a byte of IOWIN");
}

Test(dev_ioapic, entries_masked_at_reset)
{
	for (unsigned n = 0; n < 24; n++) {
		cr_assert_eq(io_read((uint8_t)(0x10 + 2 * n)), MASKED);
		cr_assert_eq(io_read((uint8_t)(0x11 + 2 * n)), 0);
	}
	irq_line(c, 5, true);
	cr_assert_eq(lapic_pending(l), -1);
}

Test(dev_ioapic, edge_redirection_to_the_lapic)
{
	route(4, 0x41 | EDGE);
	io_write(0x19, 0xff000000);
	cr_assert_eq(io_read(0x19), 0xff000000, "destination");
	irq_line(c, 4, true);
	irq_line(c, 4, false);
	cr_assert_eq(lapic_pending(l), 0x41);
	cr_assert_eq(lapic_ack(l), 0x41);
	cr_assert_not(lapic_bit(0x180, 0x41), "edge: TMR clear");
	cr_assert(lapic_bit(0x100, 0x41));
	lapic_eoi();
	cr_assert_not(lapic_bit(0x100, 0x41));
	cr_assert_eq(io_read(0x18) & REMOTE_IRR, 0, "no remote IRR for edge");
}

Test(dev_ioapic, isa_irq0_arrives_at_pin_2)
{
	route(2, 0x30);
	irq_line(c, 0, true);
	cr_assert_eq(lapic_pending(l), 0x30);
}

Test(dev_ioapic, masked_edge_is_lost)
{
	route(6, 0x46 | MASKED);
	irq_line(c, 6, true);
	irq_line(c, 6, false);
	route(6, 0x46);
	cr_assert_eq(lapic_pending(l), -1);
	irq_line(c, 6, true);
	cr_assert_eq(lapic_pending(l), 0x46);
}

Test(dev_ioapic, level_remote_irr_cleared_by_eoi)
{
	route(10, 0x50 | LEVEL);
	irq_line(c, 10, true);
	cr_assert(io_read(0x24) & REMOTE_IRR);
	cr_assert_eq(lapic_ack(l), 0x50);
	cr_assert(lapic_bit(0x180, 0x50), "level: TMR set");
	/* still asserted, but remote IRR holds further messages */
	irq_line(c, 10, true);
	cr_assert_eq(lapic_pending(l), -1);
	/* the EOI is broadcast: remote IRR clears and the pin sends again */
	lapic_eoi();
	cr_assert(io_read(0x24) & REMOTE_IRR);
	cr_assert_eq(lapic_pending(l), 0x50);
	/* the device lets go before the handler's EOI */
	cr_assert_eq(lapic_ack(l), 0x50);
	irq_line(c, 10, false);
	lapic_eoi();
	cr_assert_eq(io_read(0x24) & REMOTE_IRR, 0);
	cr_assert_eq(lapic_pending(l), -1);
}

Test(dev_ioapic, remote_irr_is_read_only)
{
	route(3, 0x43 | LEVEL | REMOTE_IRR | (1u << 12));
	cr_assert_eq(io_read(0x16), 0x43 | LEVEL);
}

Test(dev_ioapic, unmasking_an_asserted_level_pin_delivers)
{
	route(11, 0x51 | LEVEL | MASKED);
	irq_line(c, 11, true);
	cr_assert_eq(lapic_pending(l), -1);
	route(11, 0x51 | LEVEL);
	cr_assert_eq(lapic_pending(l), 0x51);
}

Test(dev_ioapic, only_fixed_and_lowest_priority_are_delivered)
{
	route(7, 0x47 | (4u << 8)); /* NMI */
	irq_line(c, 7, true);
	cr_assert_eq(lapic_pending(l), -1);
	cr_assert_not(lapic_nmi_pending(l));
	route(8, 0x48 | (1u << 8)); /* lowest priority */
	irq_line(c, 8, true);
	cr_assert_eq(lapic_pending(l), 0x48);
}
