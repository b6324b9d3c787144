/* What every L2 guest shares: how it ends.
 *
 * An L2 guest is an ordinary Multiboot kernel on the guest runtime
 * (guests/lib, or guests/lib/legacy for `// runtime: legacy`). It prints
 * on COM1 and ends by writing to isa-debug-exit, port 0xF4. Bare, that
 * write ends the whole machine with exit status (value << 1) | 1, so 0
 * gives status 1; under one of nestlab's hypervisors it ends only this
 * guest, with status 0 (lib/hv.h). */
#ifndef GUESTS_L2_L2_H
#define GUESTS_L2_L2_H

#include <stdint.h>

#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/x86.h"

#define L2_EXIT_PORT 0xf4   /* isa-debug-exit */

/* End the guest with code (0: all went well). If nothing is listening on
 * the port, stop the CPU for good instead. */
static inline _Noreturn void l2_exit(uint8_t code)
{
	outb(L2_EXIT_PORT, code);
	halt_forever();
}

/* The last line every guest prints, then the end. */
static inline _Noreturn void l2_done(void)
{
	printf("%s: done\n", test_name);
	l2_exit(0);
}

#endif
