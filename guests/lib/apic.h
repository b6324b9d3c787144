/* The local APIC in xAPIC mode: registers in a 4 KiB MMIO page at
 * 0xFEE00000 (SDM vol. 3, chapter 10, "Advanced Programmable Interrupt
 * Controller"; register map in table 10-1). */
#ifndef GUESTS_LIB_APIC_H
#define GUESTS_LIB_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_BASE_DEFAULT 0xfee00000u

/* Register offsets. */
#define APIC_ID        0x020
#define APIC_VERSION   0x030
#define APIC_TPR       0x080   /* task priority */
#define APIC_PPR       0x0a0   /* processor priority (read-only) */
#define APIC_EOI       0x0b0
#define APIC_SVR       0x0f0   /* spurious vector; bit 8 enables the APIC */
#define APIC_ISR       0x100   /* in service: 8 registers, 0x10 apart */
#define APIC_TMR       0x180
#define APIC_IRR       0x200   /* requested: 8 registers, 0x10 apart */
#define APIC_ESR       0x280
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_ICR 0x380   /* initial count */
#define APIC_TIMER_CCR 0x390   /* current count (read-only) */
#define APIC_TIMER_DCR 0x3e0   /* divide configuration */

/* LVT fields (figure 10-8). */
#define APIC_LVT_MASKED   (1u << 16)
#define APIC_LVT_PERIODIC (1u << 17)   /* timer mode: periodic, else one-shot */
#define APIC_DM_FIXED     (0u << 8)
#define APIC_DM_NMI       (4u << 8)
#define APIC_DM_EXTINT    (7u << 8)

#define APIC_SVR_ENABLE   (1u << 8)
#define APIC_BASE_MSR_ENABLE (1ull << 11)  /* IA32_APIC_BASE[11] */
#define APIC_BASE_MSR_BSP    (1ull << 8)

uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t v);

/* Enable the APIC (IA32_APIC_BASE[11] and SVR[8], spurious vector
 * VEC_SPURIOUS), accept all priorities (TPR 0), LINT0 as ExtINT so that
 * the 8259 PIC still reaches the CPU, LINT1 as NMI, timer and error LVTs
 * masked. Does not rely on what firmware left there. */
void apic_enable(void);

void apic_eoi(void);

/* Start the timer: count ticks of the bus clock divided by 1, then
 * interrupt with vector; periodic reloads the count each time. A count of
 * 0 stops the timer (SDM vol. 3, 10.5.4). */
void apic_timer_start(uint8_t vector, uint32_t count, bool periodic);
void apic_timer_stop(void);

/* Is vector set in the IRR (requested) or ISR (in service)? */
bool apic_irr(uint8_t vector);
bool apic_isr(uint8_t vector);

#endif
