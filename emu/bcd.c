/* Decimal arithmetic adjustments, valid outside 64-bit mode: DAA DAS AAA
 * AAS AAM AAD, as the SDM's pseudocode gives them (vol. 2). Flags the SDM
 * leaves undefined are cleared. */
#include "emu/exec.h"

static unsigned al(const struct cpu *c)
{
	return c->gpr[R_AX] & 0xff;
}

void op_daa(struct cpu *c, const struct insn *i)
{
	(void)i;
	unsigned a = al(c), old = a, ocf = lf_cf(c), af = lf_af(c), cf = 0;
	if ((a & 0xf) > 9 || af) {
		cf = ocf || a + 6 > 0xff;
		a = (a + 6) & 0xff;
		af = 1;
	} else {
		af = 0;
	}
	if (old > 0x99 || ocf) {
		a = (a + 0x60) & 0xff;
		cf = 1;
	} else {
		cf = 0;
	}
	reg_set(c, R_AX, SZ8, a);
	flags_set(c, FL_ARITH, flags_szp(a, SZ8) | (cf ? FL_CF : 0) | (af ? FL_AF : 0));
}

void op_das(struct cpu *c, const struct insn *i)
{
	(void)i;
	unsigned a = al(c), old = a, ocf = lf_cf(c), af = lf_af(c), cf = 0;
	if ((a & 0xf) > 9 || af) {
		cf = ocf || a < 6;
		a = (a - 6) & 0xff;
		af = 1;
	} else {
		af = 0;
	}
	if (old > 0x99 || ocf) {
		a = (a - 0x60) & 0xff;
		cf = 1;
	}
	reg_set(c, R_AX, SZ8, a);
	flags_set(c, FL_ARITH, flags_szp(a, SZ8) | (cf ? FL_CF : 0) | (af ? FL_AF : 0));
}

void op_aaa(struct cpu *c, const struct insn *i)
{
	(void)i;
	uint64_t ax = c->gpr[R_AX] & 0xffff;
	bool adj = (ax & 0xf) > 9 || lf_af(c);
	if (adj)
		ax += 0x106;
	reg_set(c, R_AX, SZ16, ax & 0xff0f);
	flags_set(c, FL_ARITH, adj ? FL_AF | FL_CF : 0);
}

void op_aas(struct cpu *c, const struct insn *i)
{
	(void)i;
	uint64_t ax = c->gpr[R_AX] & 0xffff;
	bool adj = (ax & 0xf) > 9 || lf_af(c);
	if (adj) {
		ax = (ax - 6) & 0xffff;
		ax = (ax - 0x100) & 0xffff;
	}
	reg_set(c, R_AX, SZ16, ax & 0xff0f);
	flags_set(c, FL_ARITH, adj ? FL_AF | FL_CF : 0);
}

/* AAM imm8: AH = AL / imm8, AL = AL mod imm8; #DE when imm8 is 0. */
void op_aam(struct cpu *c, const struct insn *i)
{
	unsigned base = i->imm & 0xff, a = al(c);
	if (base == 0)
		emu_raise_noerr(c, VEC_DE);
	reg_set(c, R_AX, SZ16, ((a / base) << 8) | (a % base));
	flags_set(c, FL_ARITH, flags_szp(a % base, SZ8));
}

/* AAD imm8: AL = AL + AH * imm8, AH = 0. */
void op_aad(struct cpu *c, const struct insn *i)
{
	unsigned a = (al(c) + ((c->gpr[R_AX] >> 8) & 0xff) * (i->imm & 0xff)) & 0xff;
	reg_set(c, R_AX, SZ16, a);
	flags_set(c, FL_ARITH, flags_szp(a, SZ8));
}
