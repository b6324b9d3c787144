/* What the gdb stub shows of the machine (emu/gdbtarget.c): the target
 * description, the registers in its order, memory by linear address, and
 * the monitor commands. Protocol-free: the stub does the packets. */
#ifndef EMU_GDBTARGET_H
#define EMU_GDBTARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/cpu.h"

extern const char gdb_target_xml[];

#define GDB_NREGS 65

/* Register n's size in bytes (0: no such register) and value, little-endian. */
unsigned gdb_reg_size(unsigned n);
void gdb_reg_get(struct cpu *c, unsigned n, uint8_t *out);
/* Write register n; false if nestlab does not let gdb write it. */
bool gdb_reg_set(struct cpu *c, unsigned n, const uint8_t *in);

/* Read or write len bytes at a linear address in the current context,
 * without side effects on the machine's caches or A/D bits. False if a
 * byte is not mapped or not RAM. */
bool gdb_mem_read(struct cpu *c, uint64_t lin, uint8_t *buf, size_t len);
bool gdb_mem_write(struct cpu *c, uint64_t lin, const uint8_t *buf, size_t len);

/* A monitor command's output (at most n bytes into out). */
void gdb_monitor(struct cpu *c, const char *cmd, const char *extra, char *out, size_t n);

#endif
