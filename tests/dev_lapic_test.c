/* The local APIC through its xAPIC page and its x2APIC MSRs. */
#include <criterion/criterion.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/vtime.h"

#define APIC 0xfee00000ull

static struct cpu *c;
static struct lapic *l;

static void setup(void)
{
	c = emu_new(1 << 20);
	cr_assert_not_null(c);
	l = lapic_new(c);
	cr_assert_not_null(l);
	cr_assert_eq(c->lapic, l);
}

static void teardown(void)
{
	lapic_free(l);
	emu_free(c);
}

TestSuite(dev_lapic, .init = setup, .fini = teardown);

static uint32_t rd(unsigned off)
{
	return (uint32_t)bus_read(c->bus, APIC + off, 4);
}

static void wr(unsigned off, uint32_t v)
{
	bus_write(c->bus, APIC + off, 4, v);
}

static void at(uint64_t ns)
{
	c->icount = ns;
	vtimer_run_due(c);
}

static uint32_t esr(void)
{
	wr(0x280, 0);
	return rd(0x280);
}

static uint64_t msr(uint32_t index)
{
	uint64_t v = 0;
	cr_assert(lapic_msr_read(l, index, &v), "rdmsr 0x%x", index);
	return v;
}

static void to_x2apic(void)
{
	cr_assert(lapic_set_base(l, 0xfee00000 | (1u << 11) | (1u << 10)));
}

Test(dev_lapic, state_at_creation)
{
	cr_assert_eq(lapic_get_base(l), 0xfee00900, "enabled, BSP, at 0xFEE00000");
	cr_assert_eq(rd(0x20), 0, "APIC ID 0");
	cr_assert_eq(rd(0x30), 0x00050014, "version 0x14, 6 LVT entries");
	cr_assert_eq(rd(0xe0), 0xffffffff, "DFR flat");
	cr_assert_eq(rd(0xf0), 0x1ff, "enabled by the firmware, spurious vector 0xFF");
	cr_assert_eq(rd(0x320), 0x10000, "timer masked");
	cr_assert_eq(rd(0x350), 0x8700, "LINT0: ExtINT, the 8259 as virtual wire");
	cr_assert_eq(rd(0x360), 0x8400, "LINT1: NMI");
	cr_assert_eq(rd(0x370), 0x10000);
	cr_assert_eq(lapic_pending(l), -1);
	cr_assert_eq(rd(0x30 + 4), 0, "bytes 4-15 of a register slot read 0");
}

Test(dev_lapic, software_enable_via_svr)
{
	wr(0xf0, 0xff); /* software-disable */
	cr_assert_eq(rd(0x350), 0x18700, "every LVT entry masked");
	wr(0x320, 0x40);
	cr_assert_eq(rd(0x320), 0x10040, "and kept masked");
	lapic_deliver(l, 0x40, false);
	cr_assert_eq(lapic_pending(l), -1, "fixed interrupts are refused");
	wr(0xf0, 0x1ff);
	lapic_deliver(l, 0x40, false);
	cr_assert_eq(lapic_pending(l), 0x40);
	wr(0x320, 0x40);
	cr_assert_eq(rd(0x320), 0x40, "the mask can be cleared again");
}

Test(dev_lapic, tpr_ppr_masking_and_nesting)
{
	lapic_deliver(l, 0x45, false);
	wr(0x80, 0x50);
	cr_assert_eq(rd(0xa0), 0x50);
	cr_assert_eq(lapic_pending(l), -1, "class 4 <= TPR class 5");
	wr(0x80, 0x4f);
	cr_assert_eq(lapic_pending(l), -1, "class 4 <= TPR class 4");
	wr(0x80, 0x30);
	cr_assert_eq(lapic_pending(l), 0x45);
	cr_assert_eq(lapic_ack(l), 0x45);
	cr_assert_eq(rd(0x200 + 0x20) & (1u << 5), 0, "IRR bit moved...");
	cr_assert_eq(rd(0x100 + 0x20), 1u << 5, "...to ISR");
	cr_assert_eq(rd(0xa0), 0x40, "PPR: the in-service class");
	lapic_deliver(l, 0x48, false);
	cr_assert_eq(lapic_pending(l), -1, "same class as in service");
	lapic_deliver(l, 0x61, false);
	cr_assert_eq(lapic_pending(l), 0x61, "a higher class nests");
	cr_assert_eq(lapic_ack(l), 0x61);
	wr(0xb0, 0);
	cr_assert_eq(lapic_pending(l), -1, "0x45 still in service");
	wr(0xb0, 0);
	cr_assert_eq(lapic_pending(l), 0x48);
	cr_assert_eq(rd(0xa0), 0x30);
}

Test(dev_lapic, cr8_is_tpr_high_nibble)
{
	lapic_set_cr8(l, 5);
	cr_assert_eq(rd(0x80), 0x50);
	wr(0x80, 0x7c);
	cr_assert_eq(lapic_get_cr8(l), 7);
	lapic_deliver(l, 0x75, false);
	cr_assert_eq(lapic_pending(l), -1);
	lapic_set_cr8(l, 0);
	cr_assert_eq(lapic_pending(l), 0x75);
}

Test(dev_lapic, ack_with_nothing_pending_is_spurious)
{
	wr(0xf0, 0x1e7);
	cr_assert_eq(lapic_ack(l), 0xe7);
	cr_assert_eq(rd(0x100 + 0x70), 0, "no ISR bit");
}

Test(dev_lapic, self_ipis)
{
	wr(0x300, 0x00040031); /* shorthand self, fixed */
	cr_assert_eq(lapic_ack(l), 0x31);
	wr(0xb0, 0);
	cr_assert_eq(rd(0x300) & (1u << 12), 0, "delivery status idle");
	wr(0x310, 0x00000000);
	wr(0x300, 0x32); /* physical destination 0: us */
	cr_assert_eq(lapic_ack(l), 0x32);
	wr(0xb0, 0);
	wr(0x310, 0x01000000);
	wr(0x300, 0x33); /* physical destination 1: nobody */
	wr(0x300, 0x000c0034); /* all excluding self */
	cr_assert_eq(lapic_pending(l), -1);
	wr(0x310, 0xff000000);
	wr(0x300, 0x35); /* broadcast */
	cr_assert_eq(lapic_ack(l), 0x35);
	wr(0xb0, 0);
	wr(0xd0, 0x02000000); /* logical ID bit 1, flat model */
	wr(0x310, 0x06000000);
	wr(0x300, 0x836); /* logical destination 0x06 */
	cr_assert_eq(lapic_ack(l), 0x36);
	wr(0x300, 0x00040400); /* NMI to self */
	cr_assert(lapic_nmi_pending(l));
	lapic_nmi_ack(l);
	cr_assert_not(lapic_nmi_pending(l));
	/* INIT: to our ID, or to all including self; not with the "self"
	 * shorthand, and "INIT level de-assert" does nothing */
	wr(0x310, 0x00000000);
	wr(0x300, 0x00008500); /* INIT, level-triggered, de-assert */
	cr_assert_not(c->init_pending);
	wr(0x300, 0x00040500); /* shorthand self: not valid for INIT */
	cr_assert_not(c->init_pending);
	wr(0x300, 0x00004500); /* INIT assert to ID 0 */
	cr_assert(c->init_pending);
	c->init_pending = false;
	wr(0x300, 0x00084500); /* all including self */
	cr_assert(c->init_pending);
	c->init_pending = false;
	wr(0x300, 0x00000600); /* SIPI: nobody waits for one */
	cr_assert_not(c->init_pending);
	cr_assert_eq(lapic_pending(l), -1);
}

Test(dev_lapic, errors_in_esr)
{
	wr(0x370, 0xee); /* LVT error, vector 0xEE */
	wr(0x300, 0x00040005); /* self-IPI with an illegal vector */
	cr_assert_eq(lapic_pending(l), 0xee, "the error interrupt");
	cr_assert_eq(rd(0x280), 0, "not latched before an ESR write");
	cr_assert_eq(esr(), 0x60, "send and receive illegal vector");
	cr_assert_eq(esr(), 0);
	rd(0x2f0); /* no CMCI entry: a reserved register */
	cr_assert_eq(esr(), 0x80, "illegal register address");
}

Test(dev_lapic, one_shot_timer)
{
	wr(0x3e0, 0xb); /* divide by 1 */
	wr(0x320, 0x40);
	at(1000);
	wr(0x380, 5000);
	cr_assert_eq(rd(0x390), 5000);
	at(3500);
	cr_assert_eq(rd(0x390), 2500);
	at(5999);
	cr_assert_eq(lapic_pending(l), -1);
	at(6000);
	cr_assert_eq(lapic_pending(l), 0x40);
	cr_assert_eq(rd(0x390), 0);
	lapic_ack(l);
	wr(0xb0, 0);
	at(20000);
	cr_assert_eq(lapic_pending(l), -1, "once only");
}

Test(dev_lapic, divide_values)
{
	static const struct { uint32_t tdcr; uint64_t div; } t[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	wr(0x320, 0x40);
	for (unsigned k = 0; k < sizeof t / sizeof t[0]; k++) {
		at(0);
		wr(0x3e0, t[k].tdcr);
		wr(0x380, 10);
		at(10 * t[k].div - 1);
		cr_assert_eq(lapic_pending(l), -1, "tdcr %#x early", t[k].tdcr);
		cr_assert_eq(rd(0x390), 1);
		at(10 * t[k].div);
		cr_assert_eq(lapic_ack(l), 0x40, "tdcr %#x on time", t[k].tdcr);
		wr(0xb0, 0);
	}
}

Test(dev_lapic, periodic_timer)
{
	wr(0x3e0, 0x0); /* divide by 2 */
	wr(0x320, (1u << 17) | 0x41);
	wr(0x380, 1000); /* 2000 ns */
	for (uint64_t n = 1; n <= 4; n++) {
		at(2000 * n - 1);
		cr_assert_eq(lapic_pending(l), -1);
		at(2000 * n);
		cr_assert_eq(lapic_ack(l), 0x41, "period %llu", (unsigned long long)n);
		wr(0xb0, 0);
	}
	at(9000);
	cr_assert_eq(rd(0x390), 500);
	wr(0x380, 0); /* stop */
	at(100000);
	cr_assert_eq(lapic_pending(l), -1);
	cr_assert_eq(rd(0x390), 0);
}

Test(dev_lapic, masked_timer_counts_silently)
{
	wr(0x3e0, 0xb);
	wr(0x320, 0x10040);
	wr(0x380, 100);
	at(50);
	cr_assert_eq(rd(0x390), 50);
	at(200);
	cr_assert_eq(lapic_pending(l), -1);
}

Test(dev_lapic, tsc_deadline_timer)
{
	c->tsc_offset = 1000000;
	cr_assert(lapic_msr_write(l, 0x6e0, 1));
	cr_assert_eq(msr(0x6e0), 0, "ignored outside TSC-deadline mode");
	wr(0x320, (2u << 17) | 0x42);
	cr_assert(lapic_msr_write(l, 0x6e0, 1005000));
	cr_assert_eq(msr(0x6e0), 1005000);
	wr(0x380, 10); /* ignored in TSC-deadline mode */
	cr_assert_eq(rd(0x380), 0);
	at(4999);
	cr_assert_eq(lapic_pending(l), -1);
	at(5000);
	cr_assert_eq(lapic_pending(l), 0x42);
	cr_assert_eq(msr(0x6e0), 0, "the timer disarms itself");
	cr_assert_eq(rd(0x390), 0);
	/* a deadline already passed fires at once */
	lapic_ack(l);
	wr(0xb0, 0);
	cr_assert(lapic_msr_write(l, 0x6e0, 10));
	at(5001);
	cr_assert_eq(lapic_pending(l), 0x42);
}

Test(dev_lapic, changing_timer_mode_disarms)
{
	wr(0x3e0, 0xb);
	wr(0x320, 0x40);
	wr(0x380, 100);
	wr(0x320, (1u << 17) | 0x40);
	cr_assert_eq(rd(0x380), 0);
	at(1000);
	cr_assert_eq(lapic_pending(l), -1);
	wr(0x320, (2u << 17) | 0x40);
	cr_assert(lapic_msr_write(l, 0x6e0, 2000));
	wr(0x320, 0x40);
	cr_assert_eq(msr(0x6e0), 0);
	at(5000);
	cr_assert_eq(lapic_pending(l), -1);
}

Test(dev_lapic, x2apic_msrs_need_x2apic_mode)
{
	uint64_t v;
	cr_assert_not(lapic_msr_read(l, 0x802, &v), "#GP in xAPIC mode");
	cr_assert_not(lapic_msr_write(l, 0x808, 0));
	to_x2apic();
	cr_assert_eq(msr(0x802), 0, "32-bit x2APIC ID");
	cr_assert_eq(msr(0x803), 0x00050014);
	cr_assert_eq(msr(0x80d), 1, "LDR: cluster 0, bit 0");
	cr_assert_eq(msr(0x80f), 0x1ff, "state kept across the switch");
	cr_assert_eq(bus_read(c->bus, APIC + 0x30, 4), 0xffffffff, "the page is gone");
}

Test(dev_lapic, x2apic_access_rules)
{
	uint64_t v;
	to_x2apic();
	cr_assert_not(lapic_msr_write(l, 0x802, 0), "ID is read-only");
	cr_assert_not(lapic_msr_write(l, 0x80d, 0), "LDR is read-only");
	cr_assert_not(lapic_msr_write(l, 0x803, 0), "version is read-only");
	cr_assert_not(lapic_msr_read(l, 0x80b, &v), "EOI is write-only");
	cr_assert_not(lapic_msr_read(l, 0x83f, &v), "SELF IPI is write-only");
	cr_assert_not(lapic_msr_read(l, 0x80e, &v), "no DFR");
	cr_assert_not(lapic_msr_read(l, 0x809, &v), "no APR");
	cr_assert_not(lapic_msr_read(l, 0x831, &v), "no ICR high half");
	cr_assert_not(lapic_msr_read(l, 0x82f, &v), "no CMCI");
	cr_assert_not(lapic_msr_read(l, 0x840, &v), "reserved");
	cr_assert_not(lapic_msr_write(l, 0x80b, 1), "EOI takes only 0");
	cr_assert_not(lapic_msr_write(l, 0x828, 1), "ESR takes only 0");
	cr_assert_not(lapic_msr_write(l, 0x808, 0x100), "TPR reserved bits");
	cr_assert_not(lapic_msr_write(l, 0x808, 1ull << 32), "upper half reserved");
	cr_assert_not(lapic_msr_write(l, 0x83e, 0x4), "divide bit 2 reserved");
	cr_assert(lapic_msr_write(l, 0x808, 0x20));
	cr_assert_eq(msr(0x808), 0x20);
	cr_assert_eq(msr(0x80a), 0x20, "PPR");
}

Test(dev_lapic, x2apic_ipis)
{
	to_x2apic();
	cr_assert(lapic_msr_write(l, 0x83f, 0x55));
	cr_assert_eq(lapic_ack(l), 0x55);
	cr_assert(lapic_msr_write(l, 0x830, 0x0000000000000066ull)); /* to APIC 0 */
	cr_assert_eq(lapic_ack(l), 0x66);
	cr_assert_eq(msr(0x830), 0x66);
	cr_assert(lapic_msr_write(l, 0x830, 0x0000000100000057ull)); /* APIC 1 */
	cr_assert_eq(lapic_pending(l), -1);
	cr_assert_not(lapic_msr_write(l, 0x830, 1u << 12), "delivery status is reserved");
	cr_assert(lapic_msr_write(l, 0x80b, 0));
	cr_assert(lapic_msr_write(l, 0x80b, 0));
	cr_assert_eq(msr(0x810 + 2) | msr(0x810 + 3), 0, "ISR empty after two EOIs");
}

Test(dev_lapic, apic_base_rules)
{
	cr_assert_not(lapic_set_base(l, 0xfee00900 | 1), "reserved bit 0");
	cr_assert_not(lapic_set_base(l, 0xfee00900 | (1u << 9)), "reserved bit 9");
	cr_assert_not(lapic_set_base(l, 0xfee00900 | (1ull << 39)), "beyond MAXPHYADDR");
	cr_assert_not(lapic_set_base(l, 0xfee00000 | (1u << 10)), "EXTD without EN");
	to_x2apic();
	cr_assert_not(lapic_set_base(l, 0xfee00900), "x2APIC to xAPIC");
	cr_assert(lapic_set_base(l, 0xfee00000), "x2APIC to disabled");
	cr_assert_eq(lapic_get_base(l), 0xfee00100, "BSP stays");
	cr_assert_not(lapic_set_base(l, 0xfee00c00), "disabled to x2APIC");
	cr_assert(lapic_set_base(l, 0xfee00800), "disabled to xAPIC");
	cr_assert_eq(rd(0xf0), 0xff, "registers at their power-up values");
	cr_assert_eq(rd(0x350), 0x10000);
}

Test(dev_lapic, disabled_apic_ignores_its_page_and_messages)
{
	cr_assert(lapic_set_base(l, 0xfee00000));
	cr_assert_eq(rd(0x30), 0xffffffff);
	lapic_deliver(l, 0x40, false);
	cr_assert_eq(lapic_pending(l), -1);
}

Test(dev_lapic, base_relocation)
{
	cr_assert(lapic_set_base(l, 0xfed00800));
	cr_assert_eq(bus_read(c->bus, 0xfed00030, 4), 0x00050014);
	cr_assert_eq(rd(0x30), 0xffffffff, "nothing at the old page");
	cr_assert_not(lapic_set_base(l, 0x00001800), "not over RAM");
}

Test(dev_lapic, extint_from_the_pic)
{
	struct pic *p = pic_new(c);
	bus_out(c->bus, 0x20, 1, 0x11);
	bus_out(c->bus, 0x21, 1, 0x20);
	bus_out(c->bus, 0x21, 1, 0x04);
	bus_out(c->bus, 0x21, 1, 0x01);
	bus_out(c->bus, 0x21, 1, 0xfe);
	irq_line(c, 0, true);
	cr_assert_eq(lapic_pending(l), 0, "ExtINT: pending, vector from the PIC");
	cr_assert_eq(lapic_ack(l), 0x20);
	bus_out(c->bus, 0x20, 1, 0x20);
	irq_line(c, 0, false);
	/* LINT0 masked: the PIC is cut off */
	wr(0x350, 0x18700);
	irq_line(c, 0, true);
	cr_assert_eq(lapic_pending(l), -1);
	/* a hardware-disabled APIC lets INTR straight through */
	cr_assert(lapic_set_base(l, 0xfee00000));
	cr_assert_eq(lapic_pending(l), 0);
	cr_assert_eq(lapic_ack(l), 0x20);
	pic_free(p);
}
