/* The two cascaded 8259A PICs of the PC: IRQ 0-7 on the master (ports
 * 0x20/0x21), IRQ 8-15 on the slave (0xA0/0xA1), which is wired to the
 * master's IRQ 2. */
#ifndef GUESTS_LIB_PIC_H
#define GUESTS_LIB_PIC_H

#include <stdint.h>

#define PIC_VECTOR_BASE 0x20   /* where pic_init() puts IRQ 0 */

/* Reprogram both PICs so that IRQ 0-15 arrive as vectors base..base+15
 * (the BIOS puts IRQ 0-7 on 0x08-0x0F, on top of CPU exceptions), and
 * mask every line. */
void pic_init(uint8_t base);

void pic_unmask(int irq);
void pic_mask(int irq);
void pic_eoi(int irq);

/* The mask registers (OCW1), master in bits 7:0, slave in 15:8. */
uint16_t pic_get_mask(void);
/* IRR and ISR through OCW3 (read register command). */
uint16_t pic_read_irr(void);
uint16_t pic_read_isr(void);

#endif
