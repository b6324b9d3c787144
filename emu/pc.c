/* The PC: the devices a Multiboot kernel expects, on their usual addresses,
 * and the wiring of the local APIC (with the 8259 PIC behind its LINT0) as
 * the CPU's interrupt controller. */
#include <stdlib.h>

#include "emu/devices.h"
#include "emu/pc.h"

#define APIC_BASE_ENABLE (1u << 11)

static bool apic_on(struct cpu *c)
{
	return c->lapic && (lapic_get_base(c->lapic) & APIC_BASE_ENABLE);
}

/* With the APIC globally disabled the PIC's INTR goes straight to the CPU
 * (SDM vol. 3A, 10.4.3); otherwise it arrives through LINT0. */
static int pc_pending(struct cpu *c)
{
	if (apic_on(c))
		return lapic_pending(c->lapic);
	return c->pic && pic_intr(c->pic) ? 0 : -1;
}

static uint8_t pc_ack(struct cpu *c)
{
	return apic_on(c) ? lapic_ack(c->lapic) : pic_ack(c->pic);
}

static bool pc_nmi_pending(struct cpu *c)
{
	return apic_on(c) && lapic_nmi_pending(c->lapic);
}

static void pc_nmi_ack(struct cpu *c)
{
	lapic_nmi_ack(c->lapic);
}

static uint64_t pc_get_cr8(struct cpu *c)
{
	return lapic_get_cr8(c->lapic);
}

static void pc_set_cr8(struct cpu *c, uint64_t v)
{
	lapic_set_cr8(c->lapic, v);
}

static bool pc_msr_read(struct cpu *c, uint32_t msr, uint64_t *v)
{
	if (msr == 0x1b) {
		*v = lapic_get_base(c->lapic);
		return true;
	}
	return lapic_msr_read(c->lapic, msr, v);
}

static bool pc_msr_write(struct cpu *c, uint32_t msr, uint64_t v)
{
	if (msr == 0x1b)
		return lapic_set_base(c->lapic, v);
	return lapic_msr_write(c->lapic, msr, v);
}

static const struct intc_ops pc_intc = {
	.pending = pc_pending,
	.ack = pc_ack,
	.nmi_pending = pc_nmi_pending,
	.nmi_ack = pc_nmi_ack,
	.get_cr8 = pc_get_cr8,
	.set_cr8 = pc_set_cr8,
	.msr_read = pc_msr_read,
	.msr_write = pc_msr_write,
};

bool pc_attach(struct cpu *c, FILE *serial_out, const char *cmdline)
{
	if (!pic_new(c) || !pit_new(c) || !uart_new(c, 0x3f8, 4, serial_out) ||
	    !ioapic_new(c) || !lapic_new(c) || !fwcfg_new(c, cmdline))
		return false;
	c->intc = &pc_intc;
	return true;
}

bool pc_attach_outside(struct cpu *c, FILE *serial_out, const char *cmdline)
{
	return uart_new(c, 0x3f8, 4, serial_out) && fwcfg_new(c, cmdline);
}

void pc_detach(struct cpu *c)
{
	c->intc = NULL;
	if (c->fwcfg)
		fwcfg_free(c->fwcfg);
	if (c->lapic)
		lapic_free(c->lapic);
	if (c->ioapic)
		ioapic_free(c->ioapic);
	if (c->uart)
		uart_free(c->uart);
	if (c->pit)
		pit_free(c->pit);
	if (c->pic)
		pic_free(c->pic);
	c->fwcfg = NULL;
	c->lapic = NULL;
	c->ioapic = NULL;
	c->uart = NULL;
	c->pit = NULL;
	c->pic = NULL;
}
