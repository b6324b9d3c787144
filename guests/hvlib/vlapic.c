/* A virtual local APIC for each guest: enough of one (SDM vol. 3A,
 * chapter 10) for a guest to run its APIC timer and take its interrupts.
 * Its page at 0xFEE00000 is not in the guest's EPT: every access is an
 * EPT violation that mmio.c decodes and hands here. Interrupts reach the
 * guest by event injection at VM entry (26.5); when the guest cannot take
 * one (RFLAGS.IF = 0, or an STI/MOV-SS shadow), "interrupt-window
 * exiting" brings it back as soon as it can (25.2). type1 and type2 both
 * keep it in the hypervisor proper; under type2 it is the kernel's, as
 * KVM's in-kernel LAPIC is: its accesses never reach the VMM.
 *
 * Modelled: ID, version, TPR, PPR, EOI, SVR, ISR, IRR, the LVT entries
 * (timer one-shot and periodic; the others stored), the timer's initial
 * and current count and divide configuration. Not modelled: IPIs, the
 * TSC-deadline mode, the error status register, x2APIC. */
#include "hvlib/vm.h"
#include "lib/apic.h"
#include "lib/x86.h"

#define APIC_VERSION_VALUE 0x50014u  /* version 0x14, 6 LVT entries (max LVT 5) */
#define BUS_HZ_PER_TSC 1             /* the timer's clock runs at the TSC's rate */

static void set_bit(uint32_t *v, unsigned n) { v[n / 32] |= 1u << (n % 32); }
static void clear_bit(uint32_t *v, unsigned n) { v[n / 32] &= ~(1u << (n % 32)); }

/* The highest vector set in a 256-bit register, or -1: the register's
 * eight words from the top, then the highest bit of the first that is not
 * zero. */
static int highest(const uint32_t *v)
{
	for (int w = 7; w >= 0; w--)
		if (v[w])
			return w * 32 + 31 - __builtin_clz(v[w]);
	return -1;
}

/* The divide configuration (figure 10-10): bits 0, 1 and 3 give 2^(n+1),
 * with 111b meaning 1. */
static uint64_t divisor(const struct vlapic *a)
{
	unsigned n = (a->dcr & 3) | ((a->dcr >> 1) & 4);
	return n == 7 ? 1 : 2ull << n;
}

static void timer_arm(struct vlapic *a)
{
	a->deadline = a->icr ? rdtsc() + (uint64_t)a->icr * divisor(a) / BUS_HZ_PER_TSC : 0;
}

/* PPR (10.8.3.1): the TPR, or the class of the highest vector in
 * service if that is higher. */
static uint32_t ppr(const struct vlapic *a)
{
	int isr = highest(a->isr);
	uint32_t isr_class = isr < 0 ? 0 : (uint32_t)isr & 0xf0;
	return (a->tpr & 0xf0) >= isr_class ? a->tpr & 0xff : isr_class;
}

uint32_t vlapic_read(struct vm *vm, unsigned off)
{
	struct vlapic *a = &vm->lapic;
	if (off >= APIC_ISR && off < APIC_ISR + 0x80)
		return a->isr[(off - APIC_ISR) / 16];
	if (off >= APIC_IRR && off < APIC_IRR + 0x80)
		return a->irr[(off - APIC_IRR) / 16];
	if (off >= APIC_LVT_TIMER && off <= APIC_LVT_ERROR)
		return a->lvt[(off - APIC_LVT_TIMER) / 16];
	switch (off) {
	case APIC_ID:        return 0;
	case APIC_VERSION:   return APIC_VERSION_VALUE;
	case APIC_TPR:       return a->tpr;
	case APIC_PPR:       return ppr(a);
	case APIC_SVR:       return a->svr;
	case APIC_TIMER_ICR: return a->icr;
	case APIC_TIMER_DCR: return a->dcr;
	case APIC_TIMER_CCR: {
		uint64_t now = rdtsc();
		if (!a->deadline || now >= a->deadline)
			return 0;
		return (uint32_t)((a->deadline - now) * BUS_HZ_PER_TSC / divisor(a));
	}
	}
	return 0;
}

void vlapic_write(struct vm *vm, unsigned off, uint32_t v)
{
	struct vlapic *a = &vm->lapic;
	if (off >= APIC_LVT_TIMER && off <= APIC_LVT_ERROR && !(off & 15)) {
		/* While the APIC is software-disabled the LVTs stay masked. */
		a->lvt[(off - APIC_LVT_TIMER) / 16] = v | (a->svr & APIC_SVR_ENABLE ? 0 : APIC_LVT_MASKED);
		return;
	}
	switch (off) {
	case APIC_TPR:
		a->tpr = v & 0xff;
		break;
	case APIC_EOI: {
		int n = highest(a->isr);
		if (n >= 0)
			clear_bit(a->isr, (unsigned)n);
		break;
	}
	case APIC_SVR:
		a->svr = v & 0x1ff;
		if (!(v & APIC_SVR_ENABLE))
			for (unsigned k = 0; k < 7; k++)
				a->lvt[k] |= APIC_LVT_MASKED;
		break;
	case APIC_TIMER_ICR:
		a->icr = v;
		timer_arm(a);
		break;
	case APIC_TIMER_DCR:
		a->dcr = v & 0xb;
		break;
	}
}

void vlapic_reset(struct vm *vm)
{
	struct vlapic *a = &vm->lapic;
	*a = (struct vlapic){ .svr = 0xff };
	for (unsigned k = 0; k < 7; k++)
		a->lvt[k] = APIC_LVT_MASKED;
}

/* The timer: if its count has run out, request its vector; periodic mode
 * starts the next count (10.5.4). */
static void timer_check(struct vlapic *a, uint64_t now)
{
	if (!a->deadline || now < a->deadline)
		return;
	uint32_t lvt = a->lvt[0];
	if (!(lvt & APIC_LVT_MASKED) && (lvt & 0xff) >= 16)
		set_bit(a->irr, lvt & 0xff);
	if (lvt & APIC_LVT_PERIODIC) {
		uint64_t period = (uint64_t)a->icr * divisor(a) / BUS_HZ_PER_TSC;
		while (a->deadline <= now)
			a->deadline += period;
	} else {
		a->deadline = 0;
	}
}

/* The vector the guest should take next, if any: the highest requested
 * one above the processor priority (10.8.3.1). */
static int deliverable(const struct vlapic *a)
{
	int n = highest(a->irr);
	if (n < 0 || !(a->svr & APIC_SVR_ENABLE) || ((uint32_t)n & 0xf0) <= (ppr(a) & 0xf0))
		return -1;
	return n;
}

uint64_t vlapic_next_deadline(struct vm *vm)
{
	return vm->lapic.deadline;
}

bool vlapic_can_wake(struct vm *vm)
{
	return vm->lapic.deadline || deliverable(&vm->lapic) >= 0;
}

bool vlapic_wake_due(struct vm *vm)
{
	timer_check(&vm->lapic, rdtsc());
	return deliverable(&vm->lapic) >= 0;
}

/* Before a VM entry: fire the timer if due, then inject the interrupt
 * the guest should take, or ask for an exit when it can take it. */
void vlapic_before_entry(struct vm *vm)
{
	struct vlapic *a = &vm->lapic;
	timer_check(a, rdtsc());
	int n = deliverable(a);
	bool window = false;
	if (n >= 0 && !(vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID)) {
		/* Blocking by STI or MOV SS: interruptibility bits 0 and 1. */
		if ((vmcs_read(GUEST_RFLAGS) & RFLAGS_IF) &&
		    !(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & 3)) {
			clear_bit(a->irr, (unsigned)n);
			set_bit(a->isr, (unsigned)n);
			vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (uint32_t)n);
		} else {
			window = true;
		}
	}
	if (window)
		vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
	else
		vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
}
