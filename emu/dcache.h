/* Decoded-instruction cache. Code is decoded once into blocks of straight-
 * line instructions, keyed by the physical address of the first one and the
 * code size; a block never crosses a page. Stores to a page that holds
 * blocks drop them (the TLB never gives such a page a fast write path), so
 * self-modifying code stays exact. */
#ifndef EMU_DCACHE_H
#define EMU_DCACHE_H

#include <stddef.h>

#include "emu/cpu.h"
#include "emu/insn.h"

#define BLOCK_MAX 32

struct block {
	uint64_t pa;           /* physical address of the first instruction */
	struct block *hnext;   /* hash chain */
	struct block *pnext;   /* blocks on the same page */
	uint16_t bytes;        /* total length of the instructions */
	uint8_t code_sz;       /* the code size they were decoded in */
	uint8_t n;             /* number of instructions */
	bool cacheable;        /* false for the scratch block (decoded each time) */
	/* The block that ran after this one last time, if the jump cache
	 * generation has not moved since: saves a lookup in loops. */
	uint64_t succ_rip, succ_gen;
	struct block *succ;
	struct insn insn[BLOCK_MAX];
};

struct dcache *dcache_new(uint64_t ram_size);
void dcache_free(struct dcache *d);

/* The block starting at the current RIP, decoding it if needed. Raises the
 * fault a fetch or decode would (#GP, #UD, #PF). */
struct block *dcache_block(struct cpu *c);

bool dcache_page_has_code(const struct cpu *c, uint64_t pa);
void dcache_invalidate_page(struct cpu *c, uint64_t pa);
void dcache_invalidate_range(struct cpu *c, uint64_t pa, size_t len);
void dcache_flush(struct cpu *c);

#endif
