/* The 8259A pair (pic.h). Initialization words as in the 8259A data
 * sheet: ICW1 starts the sequence, ICW2 sets the vector base, ICW3 the
 * cascade wiring, ICW4 8086 mode. */
#include "lib/pic.h"
#include "lib/x86.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1

#define ICW1_INIT_ICW4 0x11   /* edge-triggered, cascade, ICW4 follows */
#define ICW4_8086      0x01
#define OCW2_EOI       0x20   /* non-specific end of interrupt */
#define OCW3_READ_IRR  0x0a
#define OCW3_READ_ISR  0x0b

void pic_init(uint8_t base)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, base);          /* ICW2: IRQ 0 -> base */
	outb(PIC2_DATA, base + 8);      /* ICW2: IRQ 8 -> base + 8 */
	outb(PIC1_DATA, 1u << 2);       /* ICW3: a slave on IRQ 2 */
	outb(PIC2_DATA, 2);             /* ICW3: my cascade identity is 2 */
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, 0xff);          /* OCW1: mask everything */
	outb(PIC2_DATA, 0xff);
}

void pic_mask(int irq)
{
	uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
	outb(port, inb(port) | (uint8_t)(1u << (irq % 8)));
}

void pic_unmask(int irq)
{
	uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
	outb(port, inb(port) & (uint8_t)~(1u << (irq % 8)));
	if (irq >= 8)
		pic_unmask(2);          /* the cascade line */
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, OCW2_EOI);
	outb(PIC1_CMD, OCW2_EOI);
}

uint16_t pic_get_mask(void)
{
	return (uint16_t)(inb(PIC1_DATA) | inb(PIC2_DATA) << 8);
}

static uint16_t read_reg(uint8_t ocw3)
{
	outb(PIC1_CMD, ocw3);
	outb(PIC2_CMD, ocw3);
	return (uint16_t)(inb(PIC1_CMD) | inb(PIC2_CMD) << 8);
}

uint16_t pic_read_irr(void)
{
	return read_reg(OCW3_READ_IRR);
}

uint16_t pic_read_isr(void)
{
	return read_reg(OCW3_READ_ISR);
}
