/* Segment descriptors and segment-register loads. */
#ifndef EMU_SEG_H
#define EMU_SEG_H

#include "emu/cpu.h"

/* A segment descriptor as read from the GDT or LDT (SDM vol. 3A, 3.4.5). */
struct desc {
	uint64_t raw;    /* the 8 bytes */
	uint64_t base;
	uint32_t limit;  /* scaled by G */
	uint32_t ar;     /* VMCS layout, as struct seg.ar */
};

void desc_decode(uint64_t raw, struct desc *d);

/* Load a data or stack segment register (DS, ES, FS, GS, SS) with sel, as
 * MOV Sreg and POP Sreg do, with the checks of protected mode (SDM vol. 2,
 * MOV: "Loading a segment register while in protected mode"). */
void seg_load(struct cpu *c, int seg, uint16_t sel);

#endif
