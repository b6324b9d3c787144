/* The PC machine: devices and interrupt wiring around the CPU. */
#ifndef EMU_PC_H
#define EMU_PC_H

#include <stdbool.h>
#include <stdio.h>

#include "emu/cpu.h"

/* Attach the 8259 pair, the 8254, COM1 (output to serial_out), the I/O
 * APIC, the local APIC and fw_cfg (which reports cmdline), and make the
 * local APIC the CPU's interrupt controller. False if any cannot be made. */
bool pc_attach(struct cpu *c, FILE *serial_out, const char *cmdline);

/* For a machine whose interrupt controllers and timers live elsewhere
 * (KVM's in-kernel PIC, I/O APIC, local APIC and PIT): only the devices
 * that stay in user space, COM1 and fw_cfg. Interrupt lines go through
 * cpu->irq_out, which the caller sets. */
bool pc_attach_outside(struct cpu *c, FILE *serial_out, const char *cmdline);

/* Free them again (before emu_free). */
void pc_detach(struct cpu *c);

#endif
