/* The stack: PUSH/POP in all forms, PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE.
 * Operand size decides how much is pushed; the stack size (SS.B, or 64-bit
 * mode) decides how wide rSP is. */
#include "emu/exec.h"
#include "emu/seg.h"

void op_push_r(struct cpu *c, const struct insn *i)
{
	push(c, i->osz, c->gpr[i->reg]);
}

void op_pop_r(struct cpu *c, const struct insn *i)
{
	/* POP rSP: the increment happens first, then the register is loaded. */
	reg_set(c, i->reg, i->osz, pop(c, i->osz));
}

void op_push_Ev(struct cpu *c, const struct insn *i)
{
	push(c, i->osz, rm_read(c, i, i->osz));
}

/* POP r/m: a memory destination addressed through rSP uses the value rSP
 * has after the pop (SDM vol. 2, POP). A faulting store leaves rSP as it was. */
void op_pop_Ev(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t old = c->gpr[R_SP];
	uint64_t v = mem_read(c, SEG_SS, sp_get(c), sz);
	sp_set(c, old + (1u << sz));
	if (i->mod == 3) {
		reg_set(c, i->rm, sz, v);
		return;
	}
	uint64_t a = ea(c, i), newsp = c->gpr[R_SP];
	c->gpr[R_SP] = old;
	mem_write(c, i->seg, a, sz, v);
	c->gpr[R_SP] = newsp;
}

void op_push_imm(struct cpu *c, const struct insn *i)
{
	push(c, i->osz, i->imm);
}

/* Which segment register a PUSH/POP Sreg opcode names. */
static int sreg_of(const struct insn *i)
{
	switch (i->op) {
	case 0x06: case 0x07: return SEG_ES;
	case 0x0e:            return SEG_CS;
	case 0x16: case 0x17: return SEG_SS;
	case 0x1e: case 0x1f: return SEG_DS;
	case 0x1a0: case 0x1a1: return SEG_FS;
	default:              return SEG_GS;
	}
}

/* PUSH Sreg with a 32/64-bit operand size moves 16 bits and leaves the rest
 * of the slot alone, as recent Intel processors do (SDM vol. 2, PUSH). */
void op_push_sreg(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t sp = (c->gpr[R_SP] - (1u << sz)) & sz_mask[c->stack_sz];
	mem_write(c, SEG_SS, sp, SZ16, c->seg[sreg_of(i)].sel);
	sp_set(c, sp);
}

/* POP Sreg: the load's checks come before rSP moves. */
void op_pop_sreg(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint16_t sel = (uint16_t)mem_read(c, SEG_SS, sp_get(c), SZ16);
	mem_read(c, SEG_SS, sp_get(c), sz); /* the whole slot must be readable */
	seg_load(c, sreg_of(i), sel);
	sp_set(c, c->gpr[R_SP] + (1u << sz));
	if (sreg_of(i) == SEG_SS) {
		c->shadow_until = c->icount + 2; /* as MOV SS */
		c->shadow_movss = true;
		c->brk |= BRK_STOP;
	}
}

/* PUSHA/PUSHAD: the rSP pushed is the value before the first push. */
void op_pusha(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t sp = c->gpr[R_SP], tmp = sp;
	/* Real mode: SP = 7, 9, 11, 13 or 15 is #GP (SDM vol. 2, PUSHA,
	 * real-address mode exceptions): a push would straddle the wrap. */
	if (!(c->cr0 & CR0_PE) && c->stack_sz == SZ16 && (sp & 0xffff) >= 7 &&
	    (sp & 0xffff) <= 15 && (sp & 1))
		emu_raise(c, VEC_GP, 0);
	static const uint8_t order[8] = { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };
	for (int k = 0; k < 8; k++) {
		sp = (sp - (1u << sz)) & sz_mask[c->stack_sz];
		mem_write(c, SEG_SS, sp, sz, order[k] == R_SP ? tmp : c->gpr[order[k]]);
	}
	sp_set(c, sp);
}

/* POPA/POPAD: the saved rSP is skipped. All reads happen before any
 * register changes, so a fault leaves the state untouched. */
void op_popa(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t sp = sp_get(c), v[8];
	for (int k = 0; k < 8; k++) {
		v[k] = mem_read(c, SEG_SS, sp, sz);
		sp = (sp + (1u << sz)) & sz_mask[c->stack_sz];
	}
	static const uint8_t order[8] = { R_DI, R_SI, R_BP, R_SP, R_BX, R_DX, R_CX, R_AX };
	for (int k = 0; k < 8; k++)
		if (order[k] != R_SP)
			reg_set(c, order[k], sz, v[k]);
	sp_set(c, sp);
}

/* PUSHF: the image has VM and RF clear (SDM vol. 2, PUSHF). */
void op_pushf(struct cpu *c, const struct insn *i)
{
	push(c, i->osz, emu_get_rflags(c) & ~(uint64_t)(FL_VM | FL_RF));
}

/* POPF (SDM vol. 2, POPF): which bits may change depends on CPL and IOPL.
 * VM, VIP, VIF and the reserved bits never change here; RF is cleared;
 * IOPL changes only at CPL 0; IF only when CPL <= IOPL. A 16-bit operand
 * touches only the low word. */
void op_popf(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t v = pop(c, sz);
	uint64_t mask = FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_TF | FL_DF |
			FL_OF | FL_NT | FL_AC | FL_ID | FL_IF | FL_IOPL;
	bool real = !(c->cr0 & CR0_PE);
	unsigned iopl = (c->rflags >> 12) & 3;
	if (!real && c->cpl > 0)
		mask &= ~(uint64_t)FL_IOPL;
	if (!real && c->cpl > iopl)
		mask &= ~(uint64_t)FL_IF;
	if (sz == SZ16)
		mask &= 0xffff;
	uint64_t f = emu_get_rflags(c);
	f = (f & ~mask) | (v & mask);
	emu_set_rflags(c, f & ~(uint64_t)FL_RF);
	c->brk |= BRK_STOP; /* IF or TF may have changed: the loop must look */
}

/* ENTER size, level (SDM vol. 2, ENTER). */
void op_enter(struct cpu *c, const struct insn *i)
{
	int sz = i->osz, ssz = c->stack_sz;
	unsigned level = i->imm2 & 31, bytes = 1u << sz;
	uint64_t smask = sz_mask[ssz];
	uint64_t sp = c->gpr[R_SP] & smask, bp = c->gpr[R_BP];

	/* Build the frame in locals first; a fault leaves rSP and rBP alone. */
	sp = (sp - bytes) & smask;
	mem_write(c, SEG_SS, sp, sz, bp);
	uint64_t frame = sp;
	if (level > 0) {
		for (unsigned k = 1; k < level; k++) {
			bp = (bp - bytes) & smask;
			uint64_t v = mem_read(c, SEG_SS, bp & smask, sz);
			sp = (sp - bytes) & smask;
			mem_write(c, SEG_SS, sp, sz, v);
		}
		sp = (sp - bytes) & smask;
		mem_write(c, SEG_SS, sp, sz, frame);
	}
	sp = (sp - i->imm) & smask;
	/* The new stack top must lie within the stack segment (#SS(0)). */
	seg_linear(c, SEG_SS, sp, 1, ACC_WRITE);
	reg_set(c, R_BP, sz, frame);
	sp_set(c, sp);
}

/* LEAVE: rSP = rBP, then pop rBP. */
void op_leave(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t sp = c->gpr[R_BP] & sz_mask[c->stack_sz];
	uint64_t v = mem_read(c, SEG_SS, sp, sz);
	sp_set(c, sp + (1u << sz));
	reg_set(c, R_BP, sz, v);
}
