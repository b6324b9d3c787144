/* The run loop: fetch a decoded block, run its instructions, stop on the
 * budget, HLT, an exception or a device's request. */
#include "emu/dcache.h"
#include "emu/insn.h"
#include "emu/mem.h"

enum emu_stop emu_run(struct cpu *c, uint64_t budget)
{
	const uint64_t end = c->icount + budget;
	enum emu_stop stop = EMU_STOP_BUDGET;

	c->in_run = true;
	if (setjmp(c->unwind)) {
		/* emu_raise() came back here with RIP on the faulting
		 * instruction. Delivery through the IDT is the system side's
		 * work; until then a fault ends the run. */
		c->in_run = false;
		return EMU_STOP_EXCEPTION;
	}
	while (c->icount < end) {
		if (c->halted) {
			stop = EMU_STOP_HLT;
			break;
		}
		if (c->exit_requested) {
			stop = EMU_STOP_EXIT;
			break;
		}
		struct jc_entry *j = &c->jc[(c->rip ^ (c->rip >> 10)) & (JC_ENTRIES - 1)];
		const struct block *b;
		if (likely(j->rip == c->rip && j->gen == c->jc_gen)) {
			b = j->blk;
		} else {
			b = dcache_block(c);
			if (b->cacheable) {
				j->rip = c->rip;
				j->gen = c->jc_gen;
				j->blk = b;
			}
		}
		const struct insn *i = b->insn, *last = i + b->n;
		if ((uint64_t)b->n > end - c->icount)
			last = i + (end - c->icount);
		c->brk = false;
		for (; i < last; i++) {
			uint64_t rip = c->rip;
			c->insn_rip = rip;
			c->rip = rip + i->len;
			i->fn(c, i);
			c->icount++;
			if (unlikely(c->rip != rip + i->len || c->brk))
				break;
		}
	}
	if (stop == EMU_STOP_BUDGET && c->exit_requested)
		stop = EMU_STOP_EXIT;
	else if (stop == EMU_STOP_BUDGET && c->halted)
		stop = EMU_STOP_HLT;
	c->in_run = false;
	return stop;
}
