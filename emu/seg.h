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

/* Where the descriptor for sel (bytes long: 8, or 16 for system
 * descriptors in long mode) lies; false if outside the GDT/LDT limit or the
 * LDT is unusable. */
bool desc_locate(const struct cpu *c, uint16_t sel, unsigned bytes, uint64_t *addr);

/* Read the descriptor for sel, or raise vec with (sel & ~3) | ext if it
 * lies outside its table. Returns its linear address. */
uint64_t desc_fetch_or(struct cpu *c, uint16_t sel, struct desc *d, int vec, uint32_t ext);

/* Set the accessed bit in the descriptor in memory (a locked write). */
void desc_set_accessed(struct cpu *c, const struct desc *d, uint64_t addr);

/* Fill a segment register's cache from a descriptor, or make it null. */
void seg_set_cache(struct cpu *c, int seg, uint16_t sel, const struct desc *d);
void seg_set_null(struct cpu *c, int seg, uint16_t sel);

/* Load SS after a privilege change: from a checked descriptor, or (d NULL)
 * a null selector, as IA-32e transfers to rings 0-2 may load, whose cache
 * still says the stack's DPL is cpl. */
void seg_set_ss(struct cpu *c, uint16_t sel, const struct desc *d, unsigned cpl);

/* Load CS from a checked code descriptor and make cpl the CPL (the
 * selector's RPL becomes cpl). Updates the derived mode. */
void load_cs(struct cpu *c, uint16_t sel, const struct desc *d, unsigned cpl);

/* A stack being pushed on while changing privilege (interrupt delivery,
 * call gates): its segment, pointer and width, whether the pushes are
 * user-mode accesses, and the EXT bit for #SS error codes. stk_push()
 * checks the limit (or canonical form) and writes; the caller commits
 * s->sp to RSP only after every push has succeeded. */
struct stk {
	uint16_t sel;
	uint64_t base;
	uint32_t limit, ar;
	uint64_t sp;
	int spsz;        /* SZ16, SZ32, SZ64 */
	bool user;
	uint32_t ext;
};

void stk_push(struct cpu *c, struct stk *s, int sz, uint64_t v);

/* Descriptor types (SDM vol. 3A, tables 3-1 and 3-2). */
static inline bool desc_is_code(const struct desc *d)
{
	return (d->ar & AR_S) && (d->ar & 8);
}

static inline bool desc_is_conforming(const struct desc *d)
{
	return desc_is_code(d) && (d->ar & 4);
}

/* Load a data or stack segment register (DS, ES, FS, GS, SS) with sel, as
 * MOV Sreg and POP Sreg do, with the checks of protected mode (SDM vol. 2,
 * MOV: "Loading a segment register while in protected mode"). */
void seg_load(struct cpu *c, int seg, uint16_t sel);

#endif
