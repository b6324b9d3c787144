/* MUL, IMUL (one, two and three operands), DIV, IDIV. Products and dividends
 * of 64-bit operands use 128-bit host arithmetic. */
#include "emu/exec.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

static int64_t sx(uint64_t v, int sz)
{
	int sh = 64 - sz_bits[sz];
	return (int64_t)(v << sh) >> sh;
}

/* After a multiply, CF = OF = overflow; SF, ZF, AF, PF are undefined (SDM
 * vol. 2, MUL/IMUL). We set SF/ZF/PF from the low half and clear AF. */
static void mul_flags(struct cpu *c, int sz, uint64_t lo, bool overflow)
{
	uint64_t f = flags_szp(lo, sz) | (overflow ? FL_CF | FL_OF : 0);
	flags_set(c, FL_ARITH, f);
}

/* Store a double-width result: AX for bytes, else rDX:rAX. */
static void put_wide(struct cpu *c, int sz, uint64_t lo, uint64_t hi)
{
	if (sz == SZ8) {
		reg_set(c, R_AX, SZ16, (lo & 0xff) | (hi & 0xff) << 8);
	} else {
		reg_set(c, R_AX, sz, lo);
		reg_set(c, R_DX, sz, hi);
	}
}

void op_mul(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t a = reg_get(c, R_AX, sz), b = rm_read(c, i, sz), lo, hi;
	if (sz == SZ64) {
		u128 p = (u128)a * b;
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = a * b;
		lo = p & sz_mask[sz];
		hi = p >> sz_bits[sz];
	}
	put_wide(c, sz, lo, hi);
	mul_flags(c, sz, lo, hi != 0);
}

/* Signed product of two sz-wide values: low half and whether the full
 * product differs from the sign extension of the low half. */
static uint64_t smul(int sz, uint64_t a, uint64_t b, uint64_t *hi, bool *ovf)
{
	if (sz == SZ64) {
		s128 p = (s128)(int64_t)a * (int64_t)b;
		*hi = (uint64_t)((u128)p >> 64);
		*ovf = p != (s128)(int64_t)p;
		return (uint64_t)p;
	}
	int64_t p = sx(a, sz) * sx(b, sz);
	uint64_t lo = (uint64_t)p & sz_mask[sz];
	*hi = ((uint64_t)p >> sz_bits[sz]) & sz_mask[sz];
	*ovf = p != sx(lo, sz);
	return lo;
}

void op_imul1(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t hi;
	bool ovf;
	uint64_t lo = smul(sz, reg_get(c, R_AX, sz), rm_read(c, i, sz), &hi, &ovf);
	put_wide(c, sz, lo, hi);
	mul_flags(c, sz, lo, ovf);
}

/* IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69, 6B): truncated product. */
void op_imul2(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t hi;
	bool ovf;
	uint64_t lo = smul(sz, reg_get(c, i->reg, sz), rm_read(c, i, sz), &hi, &ovf);
	reg_set(c, i->reg, sz, lo);
	mul_flags(c, sz, lo, ovf);
}

void op_imul3(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t hi;
	bool ovf;
	uint64_t lo = smul(sz, rm_read(c, i, sz), i->imm & sz_mask[sz], &hi, &ovf);
	reg_set(c, i->reg, sz, lo);
	mul_flags(c, sz, lo, ovf);
}

/* The dividend: AX for bytes, else rDX:rAX. */
static u128 dividend(const struct cpu *c, int sz)
{
	if (sz == SZ8)
		return c->gpr[R_AX] & 0xffff;
	return ((u128)reg_get(c, R_DX, sz) << sz_bits[sz]) | reg_get(c, R_AX, sz);
}

static void put_divres(struct cpu *c, int sz, uint64_t q, uint64_t r)
{
	if (sz == SZ8) {
		reg_set(c, R_AX, SZ16, (q & 0xff) | (r & 0xff) << 8);
	} else {
		reg_set(c, R_AX, sz, q);
		reg_set(c, R_DX, sz, r);
	}
}

/* DIV: #DE on a zero divisor or a quotient that does not fit (SDM vol. 2,
 * DIV). All six arithmetic flags are undefined; they are left as they were. */
void op_div(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t d = rm_read(c, i, sz);
	if (d == 0)
		emu_raise_noerr(c, VEC_DE);
	u128 n = dividend(c, sz);
	u128 q = n / d;
	if (q > sz_mask[sz])
		emu_raise_noerr(c, VEC_DE);
	put_divres(c, sz, (uint64_t)q, (uint64_t)(n % d));
}

/* IDIV: quotient truncated toward zero, remainder with the dividend's sign. */
void op_idiv(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	int64_t d = sx(rm_read(c, i, sz), sz);
	if (d == 0)
		emu_raise_noerr(c, VEC_DE);
	/* Sign-extend the double-width dividend to 128 bits. */
	int w = 2 * sz_bits[sz];
	u128 un = dividend(c, sz);
	s128 n = w == 128 ? (s128)un : (s128)(un << (128 - w)) >> (128 - w);
	s128 min128 = (s128)((u128)1 << 127);
	if (n == min128 && d == -1)
		emu_raise_noerr(c, VEC_DE); /* the one quotient 128 bits cannot hold */
	s128 q = n / d, r = n % d;
	s128 lim = (s128)1 << (sz_bits[sz] - 1);
	if (q >= lim || q < -lim)
		emu_raise_noerr(c, VEC_DE);
	put_divres(c, sz, (uint64_t)q & sz_mask[sz], (uint64_t)r & sz_mask[sz]);
}
