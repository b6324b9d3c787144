/* The local APIC (apic.h). */
#include "lib/apic.h"
#include "lib/idt.h"
#include "lib/x86.h"

static volatile uint32_t *reg_ptr(uint32_t reg)
{
	return (volatile uint32_t *)(uintptr_t)(APIC_BASE_DEFAULT + reg);
}

/* Registers are 32 bits wide on 16-byte boundaries and must be accessed
 * with aligned 32-bit loads and stores (SDM vol. 3, 10.4.1). */
uint32_t apic_read(uint32_t reg)
{
	return *reg_ptr(reg);
}

void apic_write(uint32_t reg, uint32_t v)
{
	*reg_ptr(reg) = v;
}

void apic_enable(void)
{
	/* Hardware enable, at the default base. */
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	base = (base & 0xfffull) | APIC_BASE_DEFAULT | APIC_BASE_MSR_ENABLE;
	wrmsr(MSR_IA32_APIC_BASE, base);

	/* Software enable. While the APIC was software-disabled every LVT
	 * was masked, and stays masked until written (10.4.7.2). */
	apic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT0, APIC_DM_EXTINT);
	apic_write(APIC_LVT_LINT1, APIC_DM_NMI);
	apic_write(APIC_LVT_ERROR, APIC_LVT_MASKED);
	apic_write(APIC_TIMER_ICR, 0);
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

void apic_timer_start(uint8_t vector, uint32_t count, bool periodic)
{
	apic_write(APIC_TIMER_DCR, 0xb);   /* divide by 1 (figure 10-10) */
	apic_write(APIC_LVT_TIMER, vector | (periodic ? APIC_LVT_PERIODIC : 0));
	apic_write(APIC_TIMER_ICR, count);  /* writing ICR starts the count */
}

void apic_timer_stop(void)
{
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_TIMER_ICR, 0);
}

/* The 256 bits of IRR and ISR are spread over 8 registers, 32 bits each. */
static bool vector_bit(uint32_t base, uint8_t vector)
{
	return (apic_read(base + 0x10u * (vector / 32)) >> (vector % 32)) & 1;
}

bool apic_irr(uint8_t vector)
{
	return vector_bit(APIC_IRR, vector);
}

bool apic_isr(uint8_t vector)
{
	return vector_bit(APIC_ISR, vector);
}
