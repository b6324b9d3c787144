/* A GDB remote stub (the remote serial protocol of the GDB manual,
 * appendix E) on a loopback TCP port: `nestlab run --gdb PORT`. gdb sees
 * one x86-64 thread, the CPU in whatever context runs now (the host, or a
 * VMX guest), with the x86-64 target description plus fs_base/gs_base and
 * the control registers; memory by linear address through the current
 * paging (and EPT) without side effects; breakpoints, watchpoints, steps,
 * and reverse step/continue backed by emu/reverse.h; `monitor level`,
 * `monitor vmcs`, `monitor walk ADDR`, `monitor snapshots`. */
#ifndef EMU_GDBSTUB_H
#define EMU_GDBSTUB_H

#include <stdbool.h>

#include "emu/cpu.h"
#include "emu/reverse.h"

struct gdbstub;

/* Listen on 127.0.0.1:port (0: a free port); *bound gets the port.
 * NULL with errno set if it cannot. */
struct gdbstub *gdb_listen(unsigned port, unsigned *bound);

/* Wait for gdb and serve it until it detaches or kills the run, or the
 * guest ends; the run goes no further than max_insns. Returns why the
 * machine stopped: EMU_STOP_DEBUG when gdb killed the run or went away;
 * *detached says gdb let it go on running. */
enum emu_stop gdb_serve(struct gdbstub *g, struct reverse *r, uint64_t max_insns, bool *detached);

void gdb_close(struct gdbstub *g);

#endif
