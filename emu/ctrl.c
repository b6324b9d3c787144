/* Near control transfers: Jcc, JMP, CALL, RET, LOOP/LOOPE/LOOPNE, JrCXZ.
 * Every target is checked (CS limit, or canonical in 64-bit mode) before
 * anything else changes, so a #GP leaves the state as it was. */
#include "emu/exec.h"

/* Jcc: one handler per condition, so the test compiles to a few
 * instructions on the hottest path there is. */
#define JCC(n)                                                          \
	void op_jcc_##n(struct cpu *c, const struct insn *i)            \
	{                                                               \
		if (cond(c, 0x##n))                                     \
			branch(c, c->rip + i->imm, i->osz);             \
	}
JCC(0) JCC(1) JCC(2) JCC(3) JCC(4) JCC(5) JCC(6) JCC(7)
JCC(8) JCC(9) JCC(a) JCC(b) JCC(c) JCC(d) JCC(e) JCC(f)

void op_jmp_rel(struct cpu *c, const struct insn *i)
{
	branch(c, c->rip + i->imm, i->osz);
}

void op_jmp_Ev(struct cpu *c, const struct insn *i)
{
	branch(c, rm_read(c, i, i->osz), i->osz);
}

void op_call_rel(struct cpu *c, const struct insn *i)
{
	uint64_t t = target_check(c, c->rip + i->imm, i->osz);
	push(c, i->osz, c->rip);
	jump(c, t);
}

void op_call_Ev(struct cpu *c, const struct insn *i)
{
	uint64_t t = target_check(c, rm_read(c, i, i->osz), i->osz);
	push(c, i->osz, c->rip);
	jump(c, t);
}

/* RET and RET imm16: the immediate is released after the pop. */
void op_ret(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t t = target_check(c, mem_read(c, SEG_SS, sp_get(c), sz), sz);
	sp_set(c, c->gpr[R_SP] + (1u << sz) + ((i->op & 0xff) == 0xc2 ? i->imm : 0));
	jump(c, t);
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP: the counter is rCX at the address size. */
void op_loop(struct cpu *c, const struct insn *i)
{
	int asz = i->asz;
	uint64_t n = (c->gpr[R_CX] - 1) & sz_mask[asz];
	bool take = n != 0;
	switch (i->op & 0xff) {
	case 0xe0: take = take && !lf_zf(c); break;
	case 0xe1: take = take && lf_zf(c); break;
	}
	uint64_t t = take ? target_check(c, c->rip + i->imm, i->osz) : 0;
	reg_set(c, R_CX, asz, n);
	if (take)
		jump(c, t);
}

/* E3: JCXZ / JECXZ / JRCXZ by address size. */
void op_jcxz(struct cpu *c, const struct insn *i)
{
	if ((c->gpr[R_CX] & sz_mask[i->asz]) == 0)
		branch(c, c->rip + i->imm, i->osz);
}
