/* Family muldiv: MUL, IMUL (one, two and three operands), DIV, IDIV in all
 * sizes. SDM flags: MUL/IMUL set CF and OF, leave SF ZF AF PF undefined;
 * DIV/IDIV leave all six undefined. Dividends and divisors are chosen so
 * that a good share of divisions raise #DE (divisor 0, quotient too big)
 * and a good share do not. */
#include "tests/diff/diff.h"

#define MUL_UNDEF (FL_SF | FL_ZF | FL_AF | FL_PF)

/* Put `val` into the r/m operand before the instruction runs. */
static void preset(struct ginsn *gi, struct loc l, uint64_t val)
{
	if (l.kind == LOC_MEM)
		add_mem(gi, l.addr, l.size, val);
	else if (l.size == 1 && l.reg >= BREG_AH)
		add_set(gi, l.reg - BREG_AH, val << 8, 0xff00);
	else
		add_set(gi, l.reg, val, l.size == 8 ? ~0ull : (1ull << (8 * l.size)) - 1);
}

static void gen_div(struct gen *g, struct ginsn *gi, struct enc *e, int osz, bool sign)
{
	int bits = osz_bits(osz);
	uint64_t m = osz_mask(osz);
	g->taken[R_AX] = g->taken[R_DX] = true;
	/* the divisor is preset: never in RSP (dst = true keeps it out) */
	struct loc d = rm_operand(g, e, gi, osz, true);
	uint64_t divisor;
	switch (rng_below(g->r, 8)) {
	case 0: divisor = 0; break;
	case 1: divisor = 1; break;
	case 2: divisor = m; break; /* -1 */
	case 3: divisor = rng_below(g->r, 16) + 2; break;
	default: divisor = pick_value(g, bits) | 1; break;
	}
	uint64_t lo = pick_value(g, bits), hi;
	switch (rng_below(g->r, 4)) {
	case 0: /* anything: mostly overflows */
		hi = pick_value(g, bits);
		break;
	case 1: /* sign extension of lo: IDIV fits unless MIN / -1 */
		hi = (lo >> (bits - 1)) & 1 ? m : 0;
		break;
	default: /* an unsigned high part below the divisor: DIV fits */
		hi = divisor ? rng_next(g->r) % divisor : 0;
		break;
	}
	/* Unicorn 2.0.1 divides with the host's IDIV in helper_idivw_AX and
	 * helper_idivl_EAX, so a dividend of exactly -2^31 (16-bit) or -2^63
	 * (32-bit) over -1 kills the whole process with SIGFPE instead of
	 * raising #DE as the SDM says. That one pair is avoided; other
	 * overflowing IDIVs still are tested. */
	if (sign && (osz == SZ16 || osz == SZ32) && divisor == m &&
	    hi == 1ull << (bits - 1) && lo == 0)
		lo = 1;
	preset(gi, d, divisor);
	if (osz == SZ8) {
		add_set(gi, R_AX, (hi << 8 | lo) & 0xffff, 0xffff);
	} else {
		add_set(gi, R_AX, lo, m);
		add_set(gi, R_DX, hi, m);
	}
	gi->undef = FL_ARITH;
	set_name(gi, "%sdiv%s", sign ? "i" : "", sz_suffix[osz]);
}

static void gen_muldiv(struct gen *g, struct ginsn *gi)
{
	struct enc e;
	int osz = pick_osz(g, true);
	bool byte = osz == SZ8;
	enc_init(&e, g, osz);
	int kind = (int)rng_below(g->r, 10);

	if (kind < 6) { /* F6/F7 group 3: /4 MUL /5 IMUL /6 DIV /7 IDIV */
		int d = 4 + (kind & 3);
		enc_op(&e, 1, 0xf6 + !byte);
		enc_digit(&e, d);
		if (d >= 6) {
			gen_div(g, gi, &e, osz, d == 7);
		} else {
			rm_operand(g, &e, gi, osz, false);
			gi->undef = MUL_UNDEF;
			set_name(gi, "%smul%s", d == 5 ? "i" : "", sz_suffix[osz]);
		}
	} else {
		/* IMUL Gv,Ev (0F AF), Gv,Ev,Iz (69), Gv,Ev,Ib (6B) */
		e.osz = osz = pick_osz(g, false);
		int form = (int)rng_below(g->r, 3);
		if (form == 0)
			enc_op(&e, 2, 0x0f, 0xaf);
		else
			enc_op(&e, 1, form == 1 ? 0x69 : 0x6b);
		reg_operand(g, &e, osz, true);
		rm_operand(g, &e, gi, osz, false);
		if (form) {
			int isz = form == 2 ? 1 : osz == SZ16 ? 2 : 4;
			enc_imm(&e, isz, pick_value(g, 8 * isz));
		}
		gi->undef = MUL_UNDEF;
		set_name(gi, "imul%s %d-op", sz_suffix[osz], form ? 3 : 2);
	}
	enc_emit(&e, gi);
}

const struct family fam_muldiv = { "muldiv", gen_muldiv, false };
