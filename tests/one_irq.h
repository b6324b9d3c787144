/* A stand-in interrupt controller for unit tests: one interrupt, vector
 * 0x30, pending while irq_up is true, until acknowledged; no NMIs. */
#ifndef TESTS_ONE_IRQ_H
#define TESTS_ONE_IRQ_H

#include <stdbool.h>

#include "emu/cpu.h"

static bool irq_up;
static int one_irq_pending(struct cpu *cpu) { (void)cpu; return irq_up ? 0x30 : -1; }
static uint8_t one_irq_ack(struct cpu *cpu) { (void)cpu; irq_up = false; return 0x30; }
static bool one_irq_no_nmi(struct cpu *cpu) { (void)cpu; return false; }
static void one_irq_nmi_ack(struct cpu *cpu) { (void)cpu; }
static const struct intc_ops one_irq = {
	.pending = one_irq_pending, .ack = one_irq_ack,
	.nmi_pending = one_irq_no_nmi, .nmi_ack = one_irq_nmi_ack,
};

#endif
