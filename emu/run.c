/* The run loop: fetch a decoded block, run its instructions, stop on the
 * budget, HLT, an exception or a device's request. */
#include "emu/dcache.h"
#include "emu/insn.h"
#include "emu/mem.h"

/* The block at RIP: from the jump cache, else from the decoded-block cache. */
static inline const struct block *next_block(struct cpu *c)
{
	uint64_t rip = c->rip;
	struct jc_entry *j = &c->jc[(rip ^ (rip >> 10)) & (JC_ENTRIES - 1)];
	if (likely(j->rip == rip && j->gen == c->jc_gen))
		return j->blk;
	const struct block *b = dcache_block(c);
	if (b->cacheable) {
		j->rip = rip;
		j->gen = c->jc_gen;
		j->blk = b;
	}
	return b;
}

/* Run blocks until icount reaches end or the CPU halts or is asked to
 * exit. RIP is kept in a register and only stored; an instruction that
 * changes RIP (or wants the loop to look around) sets brk, which ends the
 * block. */
static __attribute__((noinline)) void run_blocks(struct cpu *c, uint64_t end)
{
	uint64_t n = c->icount;
	while (n < end && !c->halted && !c->exit_requested) {
		const struct block *b = next_block(c);
		const struct insn *i = b->insn, *last = i + b->n;
		if (end - n < b->n)
			last = i + (end - n);
		uint64_t rip = c->rip;
		c->brk = false;
		do {
			rip += i->len;
			c->cur = i;
			c->rip = rip;
			i->fn(c, i);
			c->icount = ++n;
		} while (!c->brk && ++i < last);
		c->cur = NULL;
	}
}

enum emu_stop emu_run(struct cpu *c, uint64_t budget)
{
	const uint64_t end = c->icount + budget;

	c->in_run = true;
	c->cur = NULL;
	if (setjmp(c->unwind)) {
		/* emu_raise() came back here with RIP on the faulting
		 * instruction. Delivery through the IDT is the system side's
		 * work; until then a fault ends the run. */
		c->in_run = false;
		return EMU_STOP_EXCEPTION;
	}
	run_blocks(c, end);
	c->in_run = false;
	if (c->exit_requested)
		return EMU_STOP_EXIT;
	return c->halted ? EMU_STOP_HLT : EMU_STOP_BUDGET;
}
