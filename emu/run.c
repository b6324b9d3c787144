/* The run loop: fetch a decoded block, run its instructions; between
 * blocks, fire due timers, take interrupts, wake from HLT; turn raised
 * exceptions into delivery (or #DF, or shutdown); stop on the budget. */
#include "emu/dcache.h"
#include "emu/event.h"
#include "emu/insn.h"
#include "emu/intr.h"
#include "emu/mem.h"
#include "emu/vtime.h"

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

/* Between blocks, when something asked for a look (BRK_STOP) or a stretch
 * ended: the single-step trap, timers, interrupts, HLT. Returns how many
 * instructions may run before the next look (0: stop the loop). */
static uint64_t look_around(struct cpu *c, uint64_t end)
{
	c->cur = NULL;
	if (c->dbg.stop_asked)
		return 0;
	if (c->single_step) {
		/* The instruction that began with TF set has retired: the
		 * single-step trap (SDM vol. 3A, 17.3.1.4). */
		c->single_step = false;
		c->db_trap |= 1u << 14; /* BS */
	}
	if (c->db_trap && !vmx_mtf_due(c) && !(c->icount < c->shadow_until && c->shadow_movss)) {
		/* A VMX monitor trap flag due at this boundary exits first and
		 * saves the trap as pending (SDM vol. 3C, 25.5.2, 27.3.4);
		 * blocking by MOV SS holds it one instruction (vol. 3A, 6.8.3). */
		c->db_bits = c->db_trap;
		c->db_trap = 0;
		emu_deliver(c, VEC_DB, EV_FAULT, false, 0);
	}
	for (;;) {
		vtimer_run_due(c);
		if (c->exit_requested || c->triple)
			return 0;
		if (emu_take_interrupt(c))
			continue; /* delivered: maybe another is due right away */
		if (c->init_reset)
			return 0;
		if (!c->halted)
			break;
		if (c->mwaiting && c->mwait_ibreak && c->intc && c->intc->pending(c) >= 0) {
			/* MWAIT with ECX[0] = 1: an interrupt ends the wait
			 * even while masked; it stays pending. */
			c->halted = false;
			break;
		}
		/* Halted with nothing to take: sleep until the next timer, in
		 * virtual time; if none is armed, nothing can wake the CPU and
		 * the run stops here. */
		uint64_t next = vtimer_next(c);
		if (next == UINT64_MAX)
			return 0;
		if (next > c->vtime_limit) {
			/* Sleeping would pass the virtual-time limit: a guest
			 * that only ever waits must end too. */
			if (c->vtime_limit > emu_now(c))
				c->idle_ns += c->vtime_limit - emu_now(c);
			c->vtime_out = true;
			return 0;
		}
		if (next > emu_now(c))
			c->idle_ns += next - emu_now(c);
	}
	uint64_t left = end - c->icount, until_timer = vtimer_next(c) - emu_now(c);
	if (until_timer < left)
		left = until_timer ? until_timer : 1;
	/* In an interrupt shadow, under a VMX monitor trap flag, or
	 * single-stepping with TF: one at a time. */
	if (c->icount < c->shadow_until || c->vmx.mtf)
		left = 1;
	if (c->rflags & FL_TF) {
		left = 1;
		c->single_step = true;
	}
	return left;
}

/* Run blocks until icount reaches end or the CPU stops. RIP is kept in a
 * register and only stored; an instruction that changes RIP sets
 * BRK_JUMP, one that needs the loop to look around (timers, interrupts,
 * TF, HLT, exit) sets BRK_STOP. Runs of instructions between two looks are
 * "stretches": they end at the next timer deadline at the latest. */
static inline __attribute__((always_inline)) bool dbg_stop_before(struct cpu *c, uint64_t rip,
								  uint64_t n)
{
	c->last_bytes = 0;
	if (n == c->dbg.from)
		return false;
	for (int k = 0; k < c->dbg.nbp; k++)
		if (c->dbg.bp[k] == rip)
			return c->dbg.hit_bp = true;
	return false;
}

/* After an instruction under a debugger: did its last data access touch
 * a watched range of the right kind? */
static bool dbg_stop_after(struct cpu *c)
{
	if (!c->last_bytes)
		return false;
	for (int k = 0; k < c->dbg.nwp; k++) {
		uint64_t a = c->dbg.wp[k].addr, len = c->dbg.wp[k].len;
		unsigned kind = c->last_write ? WP_WRITE : WP_READ;
		if ((c->dbg.wp[k].kind & kind) && c->last_lin < a + len && a < c->last_lin + c->last_bytes) {
			c->dbg.hit_wp = k;
			c->dbg.hit_addr = c->last_lin;
			return true;
		}
	}
	return false;
}

/* The loop below, once as fast as it can be and once (dbg) checking each
 * instruction for the debugger's breakpoints and watchpoints. */
static inline __attribute__((always_inline)) void run_blocks_t(struct cpu *c, uint64_t end,
							       const bool dbg)
{
	uint64_t n = c->icount, stretch = n;
	struct block *prev = NULL;
	bool look = true;
	while (n < end) {
		if (look || n >= stretch) {
			uint64_t max = look_around(c, end);
			if (!max)
				break;
			stretch = n + max;
			look = false;
		}
		struct block *b = next_block(c, prev);
		const uint64_t start = c->rip, gen = c->jc_gen;
		for (;;) {
			const struct insn *i = b->insn, *last = i + b->n;
			if (stretch - n < b->n)
				last = i + (stretch - n);
			uint64_t rip = start;
			c->brk = 0;
			do {
				if (dbg && dbg_stop_before(c, rip, n)) {
					c->rip = rip;
					goto out;
				}
				rip += i->len;
				c->cur = i;
				c->rip = rip;
				i->fn(c, i);
				c->icount = ++n;
				if (dbg && dbg_stop_after(c))
					goto out;
			} while (!c->brk && ++i < last);
			/* A loop that is one block jumps back to its own start:
			 * go round again without looking the block up. */
			if (c->brk != BRK_JUMP || c->rip != start || c->jc_gen != gen || n >= stretch)
				break;
		}
		prev = b;
		look = c->brk & BRK_STOP;
	}
out:
	c->cur = NULL;
}

static __attribute__((noinline)) void run_blocks(struct cpu *c, uint64_t end)
{
	run_blocks_t(c, end, false);
}

static __attribute__((noinline)) void run_blocks_dbg(struct cpu *c, uint64_t end)
{
	run_blocks_t(c, end, true);
}

void emu_ask_stop(struct cpu *c)
{
	c->dbg.stop_asked = true;
	c->brk |= BRK_STOP;
}

enum emu_stop emu_run(struct cpu *c, uint64_t budget)
{
	uint64_t end = c->icount + budget;
	bool dbg = c->dbg.nbp || c->dbg.nwp;

	c->dbg.from = c->icount;
	c->dbg.hit_bp = false;
	c->dbg.hit_wp = -1;
	c->dbg.stop_asked = false;
	c->in_run = true;
	c->cur = NULL;
	/* setjmp is 2 after a VM exit (vmx/exit.c): the host's state is
	 * loaded and the run goes on there. */
	if (setjmp(c->unwind) == 1) {
		/* emu_raise() came back here with RIP on the faulting
		 * instruction: deliver it (a fault during delivery comes back
		 * here too, and becomes #DF or a shutdown). */
		c->cur = NULL;
		if (c->exc_stop) {
			if (c->exc.vector == VEC_PF)
				c->cr2 = c->pf_lin;
			if (c->exc.vector == VEC_DB)
				emu_debug_status(c);
			struct event e = { .type = EVT_EXCEPTION };
			e.u.exc.vector = c->exc.vector;
			e.u.exc.has_error = c->exc.has_error;
			e.u.exc.error = c->exc.error;
			e.u.exc.cr2 = c->cr2;
			evt_emit(c, &e);
		}
		if (c->exc_stop || !emu_handle_exception(c)) {
			c->in_run = false;
			return c->triple ? EMU_STOP_TRIPLE : EMU_STOP_EXCEPTION;
		}
	}
	if (dbg)
		run_blocks_dbg(c, end);
	else
		run_blocks(c, end);
	c->in_run = false;
	if (c->dbg.stop_asked) {
		c->dbg.stop_asked = false;
		return EMU_STOP_DEBUG;
	}
	if (c->dbg.hit_bp || c->dbg.hit_wp >= 0)
		return EMU_STOP_DEBUG;
	if (c->exit_requested)
		return EMU_STOP_EXIT;
	if (c->triple)
		return EMU_STOP_TRIPLE;
	if (c->init_reset)
		return EMU_STOP_INIT;
	if (c->vtime_out)
		return EMU_STOP_BUDGET;
	return c->halted ? EMU_STOP_HLT : EMU_STOP_BUDGET;
}
