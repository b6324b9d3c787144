/* Interrupt lines from devices to the interrupt controllers. */
#include "emu/devices.h"

void irq_line(struct cpu *c, unsigned gsi, bool level)
{
	if (c->irq_out) {
		/* The interrupt controllers live outside (KVM's in-kernel
		 * irqchip): the line goes there. */
		c->irq_out(c->irq_out_opaque, gsi, level);
		return;
	}
	if (c->pic && gsi < 16)
		pic_set_irq(c->pic, gsi, level);
	if (c->ioapic)
		ioapic_set_irq(c->ioapic, gsi == 0 ? 2 : gsi, level);
	c->brk |= BRK_STOP; /* the run loop looks for interrupts between blocks */
}
