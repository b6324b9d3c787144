/* Operand access for handlers: registers by size, the effective address,
 * r/m operands, the stack. Everything here is inline and on the hot path. */
#ifndef EMU_EXEC_H
#define EMU_EXEC_H

#include "emu/cpu.h"
#include "emu/flags.h"
#include "emu/insn.h"
#include "emu/mem.h"
#include "emu/ops.h"

/* Registers. For SZ8, r is a byte register number (REG_AH.. for AH..BH). */
static inline uint64_t reg_get(const struct cpu *c, unsigned r, int sz)
{
	if (sz == SZ8)
		return r >= REG_AH ? (c->gpr[r - REG_AH] >> 8) & 0xff : c->gpr[r] & 0xff;
	return c->gpr[r] & sz_mask[sz];
}

/* Writes of 32 bits zero the upper half; 8 and 16 bits keep the rest
 * (SDM vol. 1, 3.4.1.1). */
static inline void reg_set(struct cpu *c, unsigned r, int sz, uint64_t v)
{
	switch (sz) {
	case SZ8:
		if (r >= REG_AH)
			c->gpr[r - REG_AH] = (c->gpr[r - REG_AH] & ~0xff00ull) | ((v & 0xff) << 8);
		else
			c->gpr[r] = (c->gpr[r] & ~0xffull) | (v & 0xff);
		break;
	case SZ16: c->gpr[r] = (c->gpr[r] & ~0xffffull) | (v & 0xffff); break;
	case SZ32: c->gpr[r] = (uint32_t)v; break;
	default:   c->gpr[r] = v; break;
	}
}

/* The effective address (offset within the segment), wrapped to the address
 * size. RIP-relative uses the address of the next instruction. */
static inline uint64_t ea(const struct cpu *c, const struct insn *i)
{
	uint64_t a = (uint64_t)i->disp;
	if (i->base != EA_NONE)
		a += i->base == EA_RIP ? c->rip : c->gpr[i->base];
	if (i->index != EA_NONE)
		a += c->gpr[i->index] << i->scale;
	return a & sz_mask[i->asz];
}

/* The r/m operand of size sz. */
static inline uint64_t rm_read(struct cpu *c, const struct insn *i, int sz)
{
	if (i->mod == 3)
		return reg_get(c, i->rm, sz);
	return mem_read(c, i->seg, ea(c, i), sz);
}

static inline void rm_write(struct cpu *c, const struct insn *i, int sz, uint64_t v)
{
	if (i->mod == 3)
		reg_set(c, i->rm, sz, v);
	else
		mem_write(c, i->seg, ea(c, i), sz, v);
}

/* The stack pointer, as wide as the stack (SS.B or 64-bit mode). */
static inline uint64_t sp_get(const struct cpu *c)
{
	return c->gpr[R_SP] & sz_mask[c->stack_sz];
}

static inline void sp_set(struct cpu *c, uint64_t v)
{
	reg_set(c, R_SP, c->stack_sz, v);
}

/* PUSH/POP of sz bytes: the memory access happens before RSP changes, so a
 * fault leaves RSP as it was (SDM vol. 2, PUSH/POP operation). */
static inline void push(struct cpu *c, int sz, uint64_t v)
{
	uint64_t sp = (c->gpr[R_SP] - (1u << sz)) & sz_mask[c->stack_sz];
	mem_write(c, SEG_SS, sp, sz, v);
	sp_set(c, sp);
}

static inline uint64_t pop(struct cpu *c, int sz)
{
	uint64_t v = mem_read(c, SEG_SS, sp_get(c), sz);
	sp_set(c, c->gpr[R_SP] + (1u << sz));
	return v;
}

/* A near branch target: the new IP, truncated to the operand size; in
 * 64-bit mode it must be canonical, elsewhere within the CS limit, or #GP(0)
 * (SDM vol. 2, JMP). Returns the checked target without jumping. */
static inline uint64_t target_check(struct cpu *c, uint64_t t, int osz)
{
	t &= sz_mask[osz];
	if (unlikely(c->code_sz == SZ64 ? !canonical(t) : t > c->seg[SEG_CS].limit))
		emu_raise(c, VEC_GP, 0);
	return t;
}

/* Every change of RIP by an instruction goes through jump(): it tells the
 * run loop to leave the straight-line block. */
static inline void jump(struct cpu *c, uint64_t target)
{
	c->rip = target;
	c->brk |= BRK_JUMP;
}

static inline void branch(struct cpu *c, uint64_t target, int osz)
{
	jump(c, target_check(c, target, osz));
}

#endif
