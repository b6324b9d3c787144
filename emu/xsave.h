#ifndef EMU_XSAVE_H
#define EMU_XSAVE_H

#include "emu/cpu.h"

#define XCR0_X87       1ull
#define XCR0_SUPPORTED XCR0_X87
#define XSAVE_AREA_SIZE 576   /* the legacy region and the header */

/* XCR0 and the x87 registers as after reset. */
void xsave_reset(struct cpu *c);

#endif
