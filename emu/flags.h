/* Arithmetic flags, computed lazily from the last ALU operation (struct
 * lazyflags in cpu.h). Each getter returns 0 or 1. The formulas are the SDM's
 * definitions (vol. 1, 3.4.3.1): CF is the unsigned carry/borrow out of the
 * top bit, OF the signed overflow, AF the carry/borrow out of bit 3, PF the
 * even parity of the low byte. */
#ifndef EMU_FLAGS_H
#define EMU_FLAGS_H

#include "emu/cpu.h"

static const uint64_t sz_mask[4] = { 0xff, 0xffff, 0xffffffff, ~0ull };
static const uint8_t sz_bits[4] = { 8, 16, 32, 64 };

static inline unsigned parity8(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

static inline unsigned sign_of(uint64_t v, int sz)
{
	return (v >> (sz_bits[sz] - 1)) & 1;
}

static inline unsigned lf_cf(const struct cpu *c)
{
	const struct lazyflags *f = &c->lf;
	switch (f->kind) {
	case LF_NONE:  return c->rflags & FL_CF;
	case LF_ADD:   return f->res < f->a;
	case LF_ADC:   return f->cf ? f->res <= f->a : f->res < f->a;
	case LF_SUB:   return f->a < f->b;
	case LF_SBB:   return f->cf ? f->a <= f->b : f->a < f->b;
	case LF_LOGIC: return 0;
	case LF_SHL:   return (f->a >> (sz_bits[f->sz] - f->b)) & 1;
	case LF_SHR:   return (f->a >> (f->b - 1)) & 1;
	case LF_SAR:   return (f->a >> (f->b - 1)) & 1; /* a is sign-extended */
	default:       return f->cf; /* INC, DEC keep CF */
	}
}

static inline unsigned lf_zf(const struct cpu *c)
{
	return c->lf.kind == LF_NONE ? !!(c->rflags & FL_ZF) : c->lf.res == 0;
}

static inline unsigned lf_sf(const struct cpu *c)
{
	return c->lf.kind == LF_NONE ? !!(c->rflags & FL_SF)
				     : sign_of(c->lf.res, c->lf.sz);
}

static inline unsigned lf_pf(const struct cpu *c)
{
	return c->lf.kind == LF_NONE ? !!(c->rflags & FL_PF) : parity8(c->lf.res);
}

static inline unsigned lf_of(const struct cpu *c)
{
	const struct lazyflags *f = &c->lf;
	switch (f->kind) {
	case LF_NONE:
		return !!(c->rflags & FL_OF);
	case LF_ADD: case LF_ADC: case LF_INC:
		return sign_of((f->a ^ f->res) & (f->b ^ f->res), f->sz);
	case LF_SUB: case LF_SBB: case LF_DEC:
		return sign_of((f->a ^ f->b) & (f->a ^ f->res), f->sz);
	/* OF is defined for a count of 1 only; these are its formulas. */
	case LF_SHL:
		return sign_of(f->res, f->sz) ^ lf_cf(c);
	case LF_SHR:
		return sign_of(f->a, f->sz);
	default:
		return 0;
	}
}

static inline unsigned lf_af(const struct cpu *c)
{
	const struct lazyflags *f = &c->lf;
	switch (f->kind) {
	case LF_NONE:  return !!(c->rflags & FL_AF);
	case LF_LOGIC: case LF_SHL: case LF_SHR: case LF_SAR: return 0;
	default:       return ((f->a ^ f->b ^ f->res) >> 4) & 1;
	}
}

/* Record an operation whose flags are computed later. */
static inline void lf_set(struct cpu *c, int kind, int sz, uint64_t res,
			  uint64_t a, uint64_t b)
{
	c->lf.kind = kind;
	c->lf.sz = sz;
	c->lf.res = res;
	c->lf.a = a;
	c->lf.b = b;
}

/* Fold the lazy flags into rflags (arithmetic bits only). */
static inline void lf_materialize(struct cpu *c)
{
	if (c->lf.kind == LF_NONE)
		return;
	uint64_t f = c->rflags & ~(uint64_t)FL_ARITH;
	f |= lf_cf(c) ? FL_CF : 0;
	f |= lf_pf(c) ? FL_PF : 0;
	f |= lf_af(c) ? FL_AF : 0;
	f |= lf_zf(c) ? FL_ZF : 0;
	f |= lf_sf(c) ? FL_SF : 0;
	f |= lf_of(c) ? FL_OF : 0;
	c->rflags = f;
	c->lf.kind = LF_NONE;
}

/* Set the arithmetic flags in `mask` to `val` (others in mask cleared);
 * flags outside mask keep their value. For instructions computed eagerly. */
static inline void flags_set(struct cpu *c, uint64_t mask, uint64_t val)
{
	if ((mask & FL_ARITH) == FL_ARITH)
		c->lf.kind = LF_NONE; /* every lazy flag is overwritten anyway */
	else
		lf_materialize(c);
	c->rflags = (c->rflags & ~mask) | (val & mask);
}

/* Flags of a result: ZF, SF, PF (the common tail of many instructions). */
static inline uint64_t flags_szp(uint64_t res, int sz)
{
	res &= sz_mask[sz];
	return (res == 0 ? FL_ZF : 0) | (sign_of(res, sz) ? FL_SF : 0) |
	       (parity8(res) ? FL_PF : 0);
}

/* Condition codes tttn of Jcc/SETcc/CMOVcc (SDM vol. 1, appendix B). */
static inline bool cond(const struct cpu *c, unsigned cc)
{
	bool r;
	switch (cc >> 1) {
	case 0: r = lf_of(c); break;                         /* O */
	case 1: r = lf_cf(c); break;                         /* B */
	case 2: r = lf_zf(c); break;                         /* Z */
	case 3: r = lf_cf(c) || lf_zf(c); break;             /* BE */
	case 4: r = lf_sf(c); break;                         /* S */
	case 5: r = lf_pf(c); break;                         /* P */
	case 6: r = lf_sf(c) != lf_of(c); break;             /* L */
	default: r = lf_zf(c) || lf_sf(c) != lf_of(c); break; /* LE */
	}
	return r ^ (cc & 1);
}

#endif
