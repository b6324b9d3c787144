/* Port I/O as instructions do it: the permission check, then the bus. */
#ifndef EMU_IO_H
#define EMU_IO_H

#include "emu/cpu.h"

/* #GP(0) unless the access to bytes ports at port is allowed: always in
 * real mode and when CPL <= IOPL; otherwise only if the TSS I/O permission
 * bitmap clears every bit of the range (SDM vol. 1, 19.5). */
void io_check(struct cpu *c, uint16_t port, int bytes);
uint32_t io_in(struct cpu *c, uint16_t port, int bytes);
void io_out(struct cpu *c, uint16_t port, int bytes, uint32_t v);

#endif
