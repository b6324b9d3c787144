/* Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR) and the
 * double shifts SHLD/SHRD, following the SDM's pseudocode (vol. 2, SAL/SAR/
 * SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD). Flags are computed eagerly. */
#include "emu/exec.h"

static uint64_t msb(uint64_t v, int sz)
{
	return (v >> (sz_bits[sz] - 1)) & 1;
}

/* Group 2's count: 1 (D0/D1), CL (D2/D3) or imm8 (C0/C1). */
static unsigned shift_count(const struct cpu *c, const struct insn *i)
{
	switch (i->op & 0xff) {
	case 0xd0: case 0xd1: return 1;
	case 0xd2: case 0xd3: return c->gpr[R_CX] & 0xff;
	default:              return (unsigned)i->imm & 0xff;
	}
}

/* One group-2 operation on v (masked to sz) by the masked count n != 0.
 * Updates *fl (the arithmetic flags) and returns the result. */
static uint64_t shift_op(unsigned op, int sz, uint64_t v, unsigned n, uint64_t *fl)
{
	unsigned w = sz_bits[sz];
	uint64_t m = sz_mask[sz], r, cf = *fl & FL_CF;
	uint64_t f = *fl;

	switch (op) {
	case 0: /* ROL */
		n %= w;
		r = n ? ((v << n) | (v >> (w - n))) & m : v;
		cf = r & 1;
		f = (f & ~(uint64_t)(FL_CF | FL_OF)) | cf |
		    ((msb(r, sz) ^ cf) ? FL_OF : 0);
		return *fl = f, r;
	case 1: /* ROR */
		n %= w;
		r = n ? ((v >> n) | (v << (w - n))) & m : v;
		cf = msb(r, sz);
		f = (f & ~(uint64_t)(FL_CF | FL_OF)) | cf |
		    ((msb(r, sz) ^ ((r >> (w - 2)) & 1)) ? FL_OF : 0);
		return *fl = f, r;
	case 2: /* RCL: a (w+1)-bit rotation through CF */
		if (w < 32)
			n %= w + 1;
		r = v;
		for (unsigned k = 0; k < n; k++) {
			uint64_t out = msb(r, sz);
			r = ((r << 1) | cf) & m;
			cf = out;
		}
		f = (f & ~(uint64_t)(FL_CF | FL_OF)) | cf |
		    ((msb(r, sz) ^ cf) ? FL_OF : 0);
		return *fl = f, r;
	case 3: /* RCR: OF is computed before the rotation */
		if (w < 32)
			n %= w + 1;
		f &= ~(uint64_t)(FL_CF | FL_OF);
		f |= (msb(v, sz) ^ cf) ? FL_OF : 0;
		r = v;
		for (unsigned k = 0; k < n; k++) {
			uint64_t out = r & 1;
			r = (r >> 1) | (cf << (w - 1));
			cf = out;
		}
		return *fl = f | cf, r;
	case 4: case 6: /* SHL/SAL */
		r = n < w ? (v << n) & m : 0;
		cf = n <= w ? (v >> (w - n)) & 1 : 0;
		f = flags_szp(r, sz) | cf | ((msb(r, sz) ^ cf) ? FL_OF : 0);
		return *fl = f, r;
	case 5: /* SHR */
		r = n < w ? v >> n : 0;
		cf = n <= w ? (v >> (n - 1)) & 1 : 0;
		f = flags_szp(r, sz) | cf | (msb(v, sz) ? FL_OF : 0);
		return *fl = f, r;
	default: { /* SAR */
		int64_t s = (int64_t)(v << (64 - w)) >> (64 - w);
		unsigned k = n < w ? n : w - 1;
		r = (uint64_t)(s >> k) & m;
		cf = n < w ? ((uint64_t)(s >> (n - 1))) & 1 : msb(v, sz);
		f = flags_szp(r, sz) | cf;
		return *fl = f, r;
	}
	}
}

void op_shift(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	unsigned op = (i->modrm >> 3) & 7;
	unsigned n = shift_count(c, i) & (sz == SZ64 ? 0x3f : 0x1f);
	uint64_t a = 0, v;

	if (i->mod == 3) {
		v = reg_get(c, i->rm, sz);
	} else {
		a = ea(c, i);
		v = mem_read(c, i->seg, a, sz);
	}
	uint64_t r = v;
	unsigned w = sz_bits[sz];
	if (op >= 4 && n && n < w) {
		/* The common case, a shift within the width: flags stay lazy. */
		if (op == 7) {
			int64_t sv = (int64_t)(v << (64 - w)) >> (64 - w);
			r = (uint64_t)(sv >> n) & sz_mask[sz];
			lf_set(c, LF_SAR, sz, r, v, n);
		} else if (op == 5) {
			r = v >> n;
			lf_set(c, LF_SHR, sz, r, v, n);
		} else {
			r = (v << n) & sz_mask[sz];
			lf_set(c, LF_SHL, sz, r, v, n);
		}
	} else if (n) {
		/* Rotates leave SF/ZF/AF/PF alone; shifts leave AF undefined (we
		 * clear it). OF is defined only for a count of 1. */
		lf_materialize(c);
		uint64_t fl = c->rflags & FL_ARITH;
		r = shift_op(op, sz, v, n, &fl);
		c->rflags = (c->rflags & ~(uint64_t)FL_ARITH) | fl;
	}
	if (i->mod == 3)
		reg_set(c, i->rm, sz, r); /* zero-extends a 32-bit register even for n = 0 */
	else if (n)
		mem_write(c, i->seg, a, sz, r);
}

/* SHLD/SHRD: shift dst, filling from src. A count above the operand size
 * (possible only at 16 bits) leaves result and flags undefined; we shift
 * through a 2w-bit value as the 32-bit form would. */
static void dshift(struct cpu *c, const struct insn *i, bool left)
{
	int sz = i->osz;
	unsigned w = sz_bits[sz];
	unsigned n = ((i->op & 0xff) == 0xa4 || (i->op & 0xff) == 0xac)
			     ? (unsigned)i->imm : (unsigned)c->gpr[R_CX];
	n &= sz == SZ64 ? 0x3f : 0x1f;
	uint64_t a = 0, d, s = reg_get(c, i->reg, sz), r, cf;

	if (i->mod == 3) {
		d = reg_get(c, i->rm, sz);
	} else {
		a = ea(c, i);
		d = mem_read(c, i->seg, a, sz);
	}
	r = d;
	if (n) {
		unsigned __int128 cat;
		if (left) {
			cat = ((unsigned __int128)d << w) | s;
			cf = (uint64_t)(cat >> (2 * w - n)) & 1; /* the last bit out */
			cat <<= n;
			r = (uint64_t)(cat >> w) & sz_mask[sz];
		} else {
			cat = ((unsigned __int128)s << w) | d;
			cf = (uint64_t)(cat >> (n - 1)) & 1;
			cat >>= n;
			r = (uint64_t)cat & sz_mask[sz];
		}
		uint64_t of = msb(r, sz) ^ msb(d, sz);
		flags_set(c, FL_ARITH, flags_szp(r, sz) | cf | (of ? FL_OF : 0));
	}
	if (i->mod == 3)
		reg_set(c, i->rm, sz, r); /* zero-extends a 32-bit register even for n = 0 */
	else if (n)
		mem_write(c, i->seg, a, sz, r);
}

void op_shld(struct cpu *c, const struct insn *i)
{
	dshift(c, i, true);
}

void op_shrd(struct cpu *c, const struct insn *i)
{
	dshift(c, i, false);
}
