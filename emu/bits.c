/* Bit instructions: BT BTS BTR BTC, BSF BSR, TZCNT LZCNT POPCNT, BSWAP, and
 * the VEX-encoded BMI1 group: ANDN BEXTR BLSI BLSMSK BLSR. */
#include "emu/exec.h"

/* CF = the selected bit; then set (1), clear (2), complement (3) or leave
 * it (0). OF, SF, AF, PF are undefined and left as they were; ZF is kept. */
static uint64_t bt_apply(struct cpu *c, unsigned kind, uint64_t v, unsigned bit)
{
	flags_set(c, FL_CF, (v >> bit) & 1);
	switch (kind) {
	case 1: return v | (1ull << bit);
	case 2: return v & ~(1ull << bit);
	case 3: return v ^ (1ull << bit);
	default: return v;
	}
}

static void bt_common(struct cpu *c, const struct insn *i, unsigned kind,
		      int64_t bitoff, bool reg_offset)
{
	int sz = i->osz;
	unsigned w = sz_bits[sz];
	if (i->mod == 3) {
		uint64_t v = reg_get(c, i->rm, sz);
		uint64_t r = bt_apply(c, kind, v, (unsigned)bitoff & (w - 1));
		if (kind)
			reg_set(c, i->rm, sz, r);
		return;
	}
	/* With a register offset the operand is a bit string: the offset
	 * selects an operand-sized unit at or below/above the address (SDM
	 * vol. 2, BT: "bit base" addressing). */
	uint64_t a = ea(c, i);
	if (reg_offset)
		a = (a + (uint64_t)((bitoff >> (3 + sz)) * (1 << sz))) & sz_mask[i->asz];
	uint64_t v = mem_read(c, i->seg, a, sz);
	uint64_t r = bt_apply(c, kind, v, (unsigned)bitoff & (w - 1));
	if (kind)
		mem_write(c, i->seg, a, sz, r);
}

/* 0F A3 BT, AB BTS, B3 BTR, BB BTC: Ev, Gv. */
void op_bt_reg(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t off = reg_get(c, i->reg, sz);
	int64_t soff = (int64_t)(off << (64 - sz_bits[sz])) >> (64 - sz_bits[sz]);
	bt_common(c, i, ((i->op & 0xff) >> 3) & 3, soff, true); /* A3, AB, B3, BB */
}

/* 0F BA /4../7: Ev, imm8 (the offset is taken modulo the operand size). */
void op_bt_imm(struct cpu *c, const struct insn *i)
{
	bt_common(c, i, ((i->modrm >> 3) & 7) - 4, (int64_t)(i->imm & 0xff), false);
}

/* BSF/BSR: a zero source sets ZF and leaves the destination unchanged (the
 * SDM calls it undefined; hardware leaves it). CF, OF, SF, AF, PF are
 * undefined and left as they were. */
void op_bsf(struct cpu *c, const struct insn *i)
{
	uint64_t v = rm_read(c, i, i->osz);
	if (!v) {
		flags_set(c, FL_ZF, FL_ZF);
		return;
	}
	flags_set(c, FL_ZF, 0);
	reg_set(c, i->reg, i->osz, (uint64_t)__builtin_ctzll(v));
}

void op_bsr(struct cpu *c, const struct insn *i)
{
	uint64_t v = rm_read(c, i, i->osz);
	if (!v) {
		flags_set(c, FL_ZF, FL_ZF);
		return;
	}
	flags_set(c, FL_ZF, 0);
	reg_set(c, i->reg, i->osz, (uint64_t)(63 - __builtin_clzll(v)));
}

/* TZCNT/LZCNT: CF = source was 0, ZF = result is 0 (SDM vol. 2, TZCNT). */
static void cnt_result(struct cpu *c, const struct insn *i, uint64_t v, uint64_t n)
{
	reg_set(c, i->reg, i->osz, n);
	flags_set(c, FL_CF | FL_ZF, (v == 0 ? FL_CF : 0) | (n == 0 ? FL_ZF : 0));
}

void op_tzcnt(struct cpu *c, const struct insn *i)
{
	uint64_t v = rm_read(c, i, i->osz);
	cnt_result(c, i, v, v ? (uint64_t)__builtin_ctzll(v) : sz_bits[i->osz]);
}

void op_lzcnt(struct cpu *c, const struct insn *i)
{
	uint64_t v = rm_read(c, i, i->osz);
	unsigned w = sz_bits[i->osz];
	cnt_result(c, i, v, v ? (uint64_t)(__builtin_clzll(v) - (64 - w)) : w);
}

/* POPCNT: ZF = source was 0; OF SF AF CF PF cleared. */
void op_popcnt(struct cpu *c, const struct insn *i)
{
	uint64_t v = rm_read(c, i, i->osz);
	reg_set(c, i->reg, i->osz, (uint64_t)__builtin_popcountll(v));
	flags_set(c, FL_ARITH, v ? 0 : FL_ZF);
}

/* BSWAP with a 16-bit operand is undefined; hardware clears the low word. */
void op_bswap(struct cpu *c, const struct insn *i)
{
	switch (i->osz) {
	case SZ16: reg_set(c, i->reg, SZ16, 0); break;
	case SZ32: reg_set(c, i->reg, SZ32, __builtin_bswap32((uint32_t)c->gpr[i->reg])); break;
	default:   c->gpr[i->reg] = __builtin_bswap64(c->gpr[i->reg]); break;
	}
}

/* The BMI1 operand size: 64 with VEX.W in 64-bit mode, else 32. */
static int bmi_sz(const struct insn *i)
{
	return i->osz == SZ64 ? SZ64 : SZ32;
}

/* Flags of a BMI1 result: ZF and SF from it, CF as given, OF cleared; AF
 * and PF are undefined (we clear AF and set PF from the result). */
static void bmi_flags(struct cpu *c, int sz, uint64_t r, bool cf)
{
	flags_set(c, FL_ARITH, flags_szp(r, sz) | (cf ? FL_CF : 0));
}

/* ANDN r, vvvv, r/m: r = ~vvvv & r/m. */
void op_andn(struct cpu *c, const struct insn *i)
{
	int sz = bmi_sz(i);
	uint64_t r = ~reg_get(c, i->vreg, sz) & rm_read(c, i, sz) & sz_mask[sz];
	reg_set(c, i->reg, sz, r);
	bmi_flags(c, sz, r, false);
}

/* BEXTR r, r/m, vvvv: the field of r/m starting at bit vvvv[7:0], of
 * vvvv[15:8] bits; bits past the operand read as zero. */
void op_bextr(struct cpu *c, const struct insn *i)
{
	int sz = bmi_sz(i);
	uint64_t ctl = reg_get(c, i->vreg, sz), src = rm_read(c, i, sz);
	unsigned start = ctl & 0xff, len = (ctl >> 8) & 0xff, w = sz_bits[sz];
	uint64_t r = start < w ? src >> start : 0;
	if (len < 64)
		r &= (1ull << len) - 1;
	reg_set(c, i->reg, sz, r);
	bmi_flags(c, sz, r, false);
}

/* Group 17: BLSR (/1) r & (r - 1), BLSMSK (/2) r ^ (r - 1), BLSI (/3)
 * r & -r, written to vvvv. */
void op_blsx(struct cpu *c, const struct insn *i)
{
	int sz = bmi_sz(i);
	uint64_t s = rm_read(c, i, sz), r;
	switch ((i->modrm >> 3) & 7) {
	case 1:
		r = s & (s - 1) & sz_mask[sz];
		bmi_flags(c, sz, r, s == 0);
		break;
	case 2:
		r = (s ^ (s - 1)) & sz_mask[sz];
		bmi_flags(c, sz, r, s == 0);
		flags_set(c, FL_ZF, 0); /* BLSMSK clears ZF */
		break;
	default:
		r = s & -s & sz_mask[sz];
		bmi_flags(c, sz, r, s != 0);
		break;
	}
	reg_set(c, i->vreg, sz, r);
}
