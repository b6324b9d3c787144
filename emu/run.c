/* The run loop: fetch a decoded block, run its instructions, stop on the
 * budget, HLT, an exception or a device's request. */
#include "emu/dcache.h"
#include "emu/insn.h"
#include "emu/mem.h"

/* The block at RIP: the previous block's successor when it is still good,
 * else from the jump cache, else from the decoded-block cache. */
static inline struct block *next_block(struct cpu *c, struct block *prev)
{
	uint64_t rip = c->rip;
	if (prev && prev->succ_rip == rip && prev->succ_gen == c->jc_gen)
		return prev->succ;
	struct jc_entry *j = &c->jc[(rip ^ (rip >> 10)) & (JC_ENTRIES - 1)];
	struct block *b;
	if (likely(j->rip == rip && j->gen == c->jc_gen)) {
		b = j->blk;
	} else {
		c->cur = NULL; /* a fetch fault must not rewind RIP */
		b = dcache_block(c);
		if (!b->cacheable)
			return b;
		j->rip = rip;
		j->gen = c->jc_gen;
		j->blk = b;
	}
	if (prev) {
		prev->succ_rip = rip;
		prev->succ_gen = c->jc_gen;
		prev->succ = b;
	}
	return b;
}

/* Run blocks until icount reaches end or the CPU halts or is asked to
 * exit. RIP is kept in a register and only stored; an instruction that
 * changes RIP sets BRK_JUMP, one that halts or ends the run BRK_STOP. */
static __attribute__((noinline)) void run_blocks(struct cpu *c, uint64_t end)
{
	uint64_t n = c->icount;
	struct block *prev = NULL;
	if (c->halted || c->exit_requested)
		return;
	while (n < end) {
		struct block *b = next_block(c, prev);
		const struct insn *i = b->insn, *last = i + b->n;
		if (end - n < b->n)
			last = i + (end - n);
		uint64_t rip = c->rip;
		c->brk = 0;
		do {
			rip += i->len;
			c->cur = i;
			c->rip = rip;
			i->fn(c, i);
			c->icount = ++n;
		} while (!c->brk && ++i < last);
		prev = b->cacheable ? b : NULL; /* the scratch block has no successor */
		if (c->brk & BRK_STOP)
			break;
	}
	c->cur = NULL;
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
