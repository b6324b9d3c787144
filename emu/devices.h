/* The PC devices a hypervisor course needs, on their usual addresses.
 * One device, one file (emu/dev_*.c); each is created by its *_new()
 * function, which registers its ports or MMIO range on the machine's bus.
 * Devices keep no global state: everything lives in their struct, reached
 * from struct cpu (cpu->pic, cpu->lapic, ...). Time comes from emu/vtime.h. */
#ifndef EMU_DEVICES_H
#define EMU_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu/cpu.h"

/* Snapshots: each device saves and loads its state through one routine
 * (emu/snap.h). */
struct snap_io;
struct pic;
struct pit;
struct uart;
struct ioapic;
struct lapic;
struct fwcfg;
void pic_snap(struct pic *p, struct snap_io *io);
void pit_snap(struct pit *t, struct snap_io *io);
void uart_snap(struct uart *u, struct snap_io *io);
void ioapic_snap(struct ioapic *io_apic, struct snap_io *io);
void lapic_snap(struct lapic *l, struct snap_io *io);
void fwcfg_snap(struct fwcfg *f, struct snap_io *io);

/* --- interrupt lines (emu/irq.c) ---
 * A device raises or lowers an ISA IRQ / GSI line. The line goes to the
 * 8259 pair (IRQ 0..15) and to the I/O APIC (GSI 0..23; ISA IRQ 0 arrives
 * at GSI 2, the override every PC firmware reports). Edge-triggered devices
 * pulse the line: irq_line(c, n, true) then irq_line(c, n, false). */
void irq_line(struct cpu *c, unsigned gsi, bool level);

/* --- 8259A PIC pair: ports 0x20-0x21, 0xA0-0xA1, ELCR 0x4D0-0x4D1 ---
 * Edge and level triggering, ICW1-4, OCW1-3 (IRR/ISR reads, specific and
 * non-specific EOI, special mask mode not required), cascade on IRQ 2,
 * auto-EOI, poll mode. All lines masked at reset. */
struct pic;
struct pic *pic_new(struct cpu *c);
void pic_set_irq(struct pic *p, unsigned irq, bool level);
bool pic_intr(const struct pic *p);     /* the INTR output to the CPU */
uint8_t pic_ack(struct pic *p);         /* INTA cycle: the vector (7 or 15 spurious) */
void pic_free(struct pic *p);

/* --- 8254 PIT: ports 0x40-0x43, and port 0x61 (gate and output of
 * channel 2) --- 1.193182 MHz input clock in virtual time; modes 0, 2, 3,
 * 4 (1 and 5 may be #UD-free no-ops but must be documented), lobyte/
 * hibyte/both access, latch command, read-back command. Channel 0 output
 * drives irq_line(c, 0, ...). */
struct pit;
struct pit *pit_new(struct cpu *c);
void pit_free(struct pit *p);

/* --- 16550A UART: COM1 at 0x3F8, IRQ 4 ---
 * THR/RBR, IER, IIR/FCR (FIFOs), LCR (DLAB and the divisor latch), MCR
 * (loopback), LSR, MSR, SCR. Bytes written go to `out` (stdout usually);
 * bytes to receive come from uart_input(). Interrupts: received data,
 * THR empty, line status, modem status, with IIR priorities. */
struct uart;
struct uart *uart_new(struct cpu *c, uint16_t base, unsigned irq, FILE *out);
void uart_input(struct uart *u, const uint8_t *bytes, size_t n);
void uart_free(struct uart *u);

/* --- I/O APIC at 0xFEC00000: 24 redirection entries, IOREGSEL/IOWIN,
 * ID/version/arbitration registers; fixed and lowest-priority delivery to
 * APIC 0, edge and level with remote IRR cleared by EOI broadcast. */
struct ioapic;
struct ioapic *ioapic_new(struct cpu *c);
void ioapic_set_irq(struct ioapic *io, unsigned gsi, bool level);
void ioapic_eoi(struct ioapic *io, uint8_t vector);  /* EOI broadcast from the LAPIC */
void ioapic_free(struct ioapic *io);

/* --- Local APIC: xAPIC MMIO at IA32_APIC_BASE (0xFEE00000 at reset) and
 * x2APIC MSRs 0x800-0x8FF ---
 * ID, version (0x14, 6 LVT entries), TPR/PPR/APR, EOI, LDR/DFR, SVR
 * (software enable, spurious vector), ISR/TMR/IRR, ESR, ICR (self-IPI and
 * fixed IPIs to itself; INIT/SIPI to others are ignored with one CPU), LVT
 * timer/LINT0/LINT1/error/thermal/perf, timer one-shot, periodic and
 * TSC-deadline (IA32_TSC_DEADLINE), divide configuration. LINT0 in ExtINT
 * mode passes the PIC's INTR through; LINT1 in NMI mode delivers NMI. */
struct lapic;
struct lapic *lapic_new(struct cpu *c);
void lapic_free(struct lapic *l);
/* IA32_APIC_BASE writes (enable, x2APIC enable, base address) with the
 * SDM's rules; false means #GP. */
bool lapic_set_base(struct lapic *l, uint64_t v);
uint64_t lapic_get_base(const struct lapic *l);
/* x2APIC MSR access (0x800..0x8FF, and the TSC deadline 0x6E0); false
 * means #GP (x2APIC off, reserved register, read of a write-only one). */
bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *v);
bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t v);
/* A message from the I/O APIC or an IPI: fixed delivery of vector. */
void lapic_deliver(struct lapic *l, uint8_t vector, bool level);
/* The interrupt the CPU would take now if RFLAGS.IF allows: a vector, or
 * -1. ExtINT (LINT0) returns the PIC's vector only on lapic_ack(). */
int lapic_pending(const struct lapic *l);
/* The CPU takes the pending interrupt: IRR -> ISR (or INTA to the PIC
 * for ExtINT). Returns the vector to deliver. */
uint8_t lapic_ack(struct lapic *l);
/* An NMI is pending (LINT1 in NMI mode, or an NMI IPI); taking it clears it. */
bool lapic_nmi_pending(const struct lapic *l);
void lapic_nmi_ack(struct lapic *l);
/* CR8 is TPR[7:4] (SDM vol. 3A, 10.8.6.1). */
uint64_t lapic_get_cr8(const struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint64_t v);

/* --- QEMU-compatible fw_cfg: selector port 0x510 (16-bit), data port 0x511
 * --- Signature "QEMU" (key 0x0000), ID (0x0001: 1, no DMA), RAM size
 * (0x0003, 64-bit little-endian), NB_CPUS (0x0005: 1), MAX_CPUS (0x000F:
 * 1), the file directory (0x0019: no files), and the kernel command line
 * items (0x0014 size, 0x0015 data) when a command line was given. Reads past
 * an item's end return 0. */
struct fwcfg;
struct fwcfg *fwcfg_new(struct cpu *c, const char *cmdline);
void fwcfg_free(struct fwcfg *f);

#endif
