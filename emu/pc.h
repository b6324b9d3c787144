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

/* Free them again (before emu_free). */
void pc_detach(struct cpu *c);

#endif
