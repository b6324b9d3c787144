/* Family mov: data movement. MOV in all forms (88-8B, C6/C7, B0-BF, the
 * A0-A3 moffs forms, Sreg moves), MOVZX MOVSX MOVSXD, LEA, XCHG, CMPXCHG,
 * XADD, BSWAP, CMOVcc, SETcc, CBW/CWD and kin, LAHF/SAHF, XLAT,
 * CMPXCHG8B/16B, MOVBE. No flag the SDM defines is left undefined here:
 * CMPXCHG sets them as CMP, XADD as ADD, CMPXCHG8B/16B only ZF. */
#include "tests/diff/diff.h"

static int iz(int osz)
{
	return osz == SZ16 ? 2 : 4;
}

static int pick_vsz(struct gen *g)
{
	return pick_osz(g, false);
}

/* Put `val` into operand l before the instruction runs. */
static void preset(struct ginsn *gi, struct loc l, uint64_t val)
{
	if (l.kind == LOC_MEM) {
		add_mem(gi, l.addr, l.size, val);
	} else if (l.size == 1 && l.reg >= BREG_AH) {
		add_set(gi, l.reg - BREG_AH, val << 8, 0xff00);
	} else {
		uint64_t m = l.size == 8 ? ~0ull : (1ull << (8 * l.size)) - 1;
		add_set(gi, l.reg, val, m);
	}
}

static void gen_moffs(struct gen *g, struct ginsn *gi, struct enc *e)
{
	bool byte = rng_chance(g->r, 1, 3);
	int osz = byte ? SZ8 : pick_vsz(g);
	bool store = rng_chance(g->r, 1, 2);
	enc_init(e, g, osz);
	enc_op(e, 1, 0xa0 + 2 * store + !byte);
	if (rng_chance(g->r, 1, 5))
		e->asz = g->mode == SZ32 ? SZ16 : SZ32;
	if (rng_chance(g->r, 1, 6))
		enc_prefix(e, g->mode == SZ32 ? 0x3e : 0x26);
	uint32_t a = DATA_LO + rng_below(g->r, DATA_HI - DATA_LO - 8);
	enc_imm(e, 1 << e->asz, a);
	gi->ea = a;
	gi->ea_size = (uint8_t)(1 << osz);
	set_name(gi, "mov%s %s moffs%d", sz_suffix[osz], store ? "to" : "from", 8 << e->asz);
}

static void gen_cmpxchg8b(struct gen *g, struct ginsn *gi, struct enc *e)
{
	bool wide = g->mode == SZ64 && rng_chance(g->r, 1, 2);
	enc_init(e, g, wide ? SZ64 : SZ32);
	e->fixed_osz = !wide; /* 66h would change nothing; keep it simple */
	enc_op(e, 2, 0x0f, 0xc7);
	enc_digit(e, 1);
	if (rng_chance(g->r, 1, 20)) {
		/* a register operand is #UD */
		enc_rm_reg(e, pick_gpr(g, false), false);
		set_name(gi, "cmpxchg%s reg (#UD)", wide ? "16b" : "8b");
		return;
	}
	int n = wide ? 16 : 8;
	g->taken[R_AX] = g->taken[R_DX] = g->taken[R_BX] = g->taken[R_CX] = true;
	/* CMPXCHG16B needs a 16-byte aligned operand, else #GP(0) */
	uint32_t a = pick_data_addr(g, (uint32_t)n, (uint32_t)n);
	if (wide && rng_chance(g->r, 1, 8))
		a += 1 + rng_below(g->r, 15);
	enc_rm_mem_at(e, g, gi, a, false);
	gi->ea = a;
	gi->ea_size = (uint8_t)n;
	uint64_t lo = rng_next(g->r), hi = rng_next(g->r);
	add_mem(gi, a, 8, lo);
	if (wide)
		add_mem(gi, a + 8, 8, hi);
	bool match = rng_chance(g->r, 1, 2);
	uint64_t ax = lo, dx = wide ? hi : lo >> 32;
	if (!match) {
		if (rng_chance(g->r, 1, 2))
			ax ^= 1ull << rng_below(g->r, 32);
		else
			dx ^= 1ull << rng_below(g->r, 32);
	}
	uint64_t m = wide ? ~0ull : 0xffffffffull;
	add_set(gi, R_AX, ax, m);
	add_set(gi, R_DX, dx, m);
	set_name(gi, "cmpxchg%s%s", wide ? "16b" : "8b", match ? " (equal)" : "");
}

static void gen_cmpxchg(struct gen *g, struct ginsn *gi, struct enc *e)
{
	int osz = pick_osz(g, true);
	bool byte = osz == SZ8;
	enc_init(e, g, osz);
	enc_op(e, 2, 0x0f, 0xb0 + !byte);
	reg_operand(g, e, osz, false);
	g->taken[R_AX] = true;
	struct loc d = rm_operand(g, e, gi, osz, true);
	maybe_lock(g, e, d);
	if (rng_chance(g->r, 1, 2)) {
		/* make the accumulator match the destination */
		uint64_t v = pick_value(g, osz_bits(osz));
		preset(gi, d, v);
		add_set(gi, R_AX, v, osz_mask(osz));
	}
	if (osz == SZ32) {
		gi->dyn = DYN_CMPXCHG32;
		gi->dst = d;
	}
	set_name(gi, "cmpxchg%s", sz_suffix[osz]);
}

static void gen_mov_sreg(struct gen *g, struct ginsn *gi, struct enc *e)
{
	if (g->mode == SZ16 && rng_chance(g->r, 1, 2)) {
		/* MOV Sreg, r/m16 with a 0 selector: in real mode the base
		 * becomes 0 again. CS is not a destination (#UD). */
		static const int sregs[5] = { SEG_ES, SEG_SS, SEG_DS, SEG_FS, SEG_GS };
		enc_init(e, g, SZ16);
		e->fixed_osz = true;
		enc_op(e, 1, 0x8e);
		enc_digit(e, sregs[rng_below(g->r, 5)]);
		struct loc s = rm_operand(g, e, gi, SZ16, true);
		preset(gi, s, 0);
		set_name(gi, "mov sreg%d, E", e->reg);
		return;
	}
	/* MOV r/m, Sreg: a register destination takes the operand size
	 * (zero-extended), memory always 16 bits. */
	int osz = pick_vsz(g);
	enc_init(e, g, osz);
	enc_op(e, 1, 0x8c);
	enc_digit(e, (int)rng_below(g->r, 6));
	if (rng_chance(g->r, 1, 2)) {
		enc_rm_reg(e, pick_gpr(g, true), false);
	} else {
		e->osz = SZ16;
		enc_rm_mem(e, g, gi, 2, 0);
	}
	set_name(gi, "mov E, sreg%d", e->reg);
}

static void gen_mov(struct gen *g, struct ginsn *gi)
{
	struct enc e;
	int osz = pick_osz(g, true);
	bool byte = osz == SZ8;
	const char *sx = sz_suffix[osz];
	enc_init(&e, g, osz);

	switch (rng_below(g->r, 19)) {
	case 0: /* 88/89 E,G  8A/8B G,E */
		if (rng_chance(g->r, 1, 2)) {
			enc_op(&e, 1, 0x88 + !byte);
			reg_operand(g, &e, osz, false);
			rm_operand(g, &e, gi, osz, true);
		} else {
			enc_op(&e, 1, 0x8a + !byte);
			reg_operand(g, &e, osz, true);
			rm_operand(g, &e, gi, osz, false);
		}
		set_name(gi, "mov%s", sx);
		break;
	case 1: /* C6/C7 /0 */
		enc_op(&e, 1, 0xc6 + !byte);
		enc_digit(&e, 0);
		rm_operand(g, &e, gi, osz, true);
		enc_imm(&e, byte ? 1 : iz(osz), pick_value(g, byte ? 8 : 8 * iz(osz)));
		set_name(gi, "mov%s E,imm", sx);
		break;
	case 2: /* B0+r Ib, B8+r Iv (imm64 with REX.W) */
		enc_op(&e, 1, byte ? 0xb0 : 0xb8);
		enc_opreg(&e, byte ? pick_breg(g, &e, true) : pick_gpr(g, true), byte);
		enc_imm(&e, 1 << osz, pick_value(g, osz_bits(osz)));
		set_name(gi, "mov%s r,imm", sx);
		break;
	case 3:
		gen_moffs(g, gi, &e);
		break;
	case 4: { /* MOVZX/MOVSX Gv, Eb/Ew */
		bool sx16 = rng_chance(g->r, 1, 2), sign = rng_chance(g->r, 1, 2);
		int dsz = sx16 ? (g->mode == SZ64 ? SZ32 + (int)rng_below(g->r, 2) : SZ32)
			       : pick_vsz(g);
		enc_init(&e, g, dsz);
		enc_op(&e, 2, 0x0f, (sign ? 0xbe : 0xb6) + sx16);
		reg_operand(g, &e, dsz, true);
		rm_operand(g, &e, gi, sx16 ? SZ16 : SZ8, false);
		set_name(gi, "mov%cx %s<-%s", sign ? 's' : 'z', sz_suffix[dsz], sx16 ? "w" : "b");
		break;
	}
	case 5: { /* MOVSXD (63) in 64-bit mode; elsewhere ARPL, not tested */
		if (g->mode != SZ64) {
			enc_op(&e, 1, 0x8b);
			e.osz = osz = pick_vsz(g);
			reg_operand(g, &e, osz, true);
			rm_operand(g, &e, gi, osz, false);
			set_name(gi, "mov%s G,E", sz_suffix[osz]);
			break;
		}
		e.osz = osz = pick_vsz(g);
		enc_op(&e, 1, 0x63);
		reg_operand(g, &e, osz, true);
		rm_operand(g, &e, gi, osz == SZ64 ? SZ32 : osz, false);
		set_name(gi, "movsxd %s", sz_suffix[osz]);
		break;
	}
	case 6: { /* LEA: any address, nothing accessed; mod 3 is #UD */
		e.osz = osz = pick_vsz(g);
		enc_op(&e, 1, 0x8d);
		reg_operand(g, &e, osz, true);
		if (rng_chance(g->r, 1, 32)) {
			enc_rm_reg(&e, pick_gpr(g, false), false);
			set_name(gi, "lea reg (#UD)");
		} else {
			enc_rm_mem_at(&e, g, gi, 0, true);
			set_name(gi, "lea%s", sz_suffix[osz]);
		}
		break;
	}
	case 7: /* XCHG E,G */
		enc_op(&e, 1, 0x86 + !byte);
		reg_operand(g, &e, osz, true);
		{
			struct loc d = rm_operand(g, &e, gi, osz, true);
			maybe_lock(g, &e, d);
		}
		set_name(gi, "xchg%s", sx);
		break;
	case 8: /* XCHG eAX, r (90+r); 90 alone is NOP, F3 90 is PAUSE */
		e.osz = osz = pick_vsz(g);
		enc_op(&e, 1, 0x90);
		enc_opreg(&e, pick_gpr(g, true), false);
		if (e.opc[0] == 0x90 && !e.rex && rng_chance(g->r, 1, 4))
			enc_prefix(&e, 0xf3);
		set_name(gi, "xchg%s eax,r", sz_suffix[osz]);
		break;
	case 9:
		gen_cmpxchg(g, gi, &e);
		break;
	case 10: { /* XADD */
		enc_op(&e, 2, 0x0f, 0xc0 + !byte);
		reg_operand(g, &e, osz, true);
		struct loc d = rm_operand(g, &e, gi, osz, true);
		maybe_lock(g, &e, d);
		set_name(gi, "xadd%s", sx);
		break;
	}
	case 11: /* BSWAP r32/r64 (16-bit operand: undefined, not tested) */
		e.osz = osz = g->mode == SZ64 && rng_chance(g->r, 1, 2) ? SZ64 : SZ32;
		enc_op(&e, 2, 0x0f, 0xc8);
		enc_opreg(&e, pick_gpr(g, true), false);
		set_name(gi, "bswap%s", sz_suffix[osz]);
		break;
	case 12: { /* CMOVcc: a 32-bit destination is zero-extended even if
		    * the condition is false */
		int cc = (int)rng_below(g->r, 16);
		e.osz = osz = pick_vsz(g);
		enc_op(&e, 2, 0x0f, 0x40 + cc);
		reg_operand(g, &e, osz, true);
		rm_operand(g, &e, gi, osz, false);
		set_name(gi, "cmov%x%s", cc, sz_suffix[osz]);
		break;
	}
	case 13: { /* SETcc Eb: ModRM.reg is ignored (SDM SETcc) */
		int cc = (int)rng_below(g->r, 16);
		enc_init(&e, g, SZ8);
		enc_op(&e, 2, 0x0f, 0x90 + cc);
		enc_digit(&e, (int)rng_below(g->r, 8));
		rm_operand(g, &e, gi, SZ8, true);
		set_name(gi, "set%x", cc);
		break;
	}
	case 14: /* CBW/CWDE/CDQE, CWD/CDQ/CQO */
		e.osz = osz = pick_vsz(g);
		enc_op(&e, 1, rng_chance(g->r, 1, 2) ? 0x98 : 0x99);
		set_name(gi, "%s%s", e.opc[0] == 0x98 ? "cbw" : "cwd", sz_suffix[osz]);
		break;
	case 15: /* LAHF / SAHF */
		e.fixed_osz = true;
		/* No REX: Unicorn 2.0.1 treats AH as a ModRM-style byte
		 * register, so with any REX (even 40h) LAHF writes SPL and
		 * SAHF reads SPL. The SDM's LAHF/SAHF always use AH. */
		e.no_rex = true;
		enc_op(&e, 1, rng_chance(g->r, 1, 2) ? 0x9e : 0x9f);
		set_name(gi, "%s", e.opc[0] == 0x9e ? "sahf" : "lahf");
		break;
	case 16: { /* XLAT: AL <- [rBX + AL], rBX by address size */
		e.fixed_osz = true;
		enc_op(&e, 1, 0xd7);
		if (rng_chance(g->r, 1, 5))
			e.asz = g->mode == SZ32 ? SZ16 : SZ32;
		uint32_t t = DATA_LO + rng_below(g->r, DATA_HI - DATA_LO - 256);
		/* register bits above the address size are ignored */
		uint64_t noise = e.asz == SZ16 ? 0xffff0000ull
			       : e.asz == SZ32 && g->mode == SZ64 ? 0xffffffff00000000ull : 0;
		add_set(gi, R_BX, t | (rng_next(g->r) & noise), ~0ull);
		gi->ea = t;
		gi->ea_size = 16;
		set_name(gi, "xlat a%d", 8 << e.asz);
		break;
	}
	case 17:
		gen_cmpxchg8b(g, gi, &e);
		break;
	case 18:
		if (rng_chance(g->r, 1, 2)) {
			gen_mov_sreg(g, gi, &e);
		} else { /* MOVBE (memory operand only) */
			bool store = rng_chance(g->r, 1, 2);
			e.osz = osz = pick_vsz(g);
			enc_op(&e, 3, 0x0f, 0x38, 0xf0 + store);
			int r = reg_operand(g, &e, osz, !store);
			uint32_t a = enc_rm_mem(&e, g, gi, 1u << osz, 0);
			gi->ref = REF_MOVBE;
			gi->width = (uint8_t)osz_bits(osz);
			gi->dst = store ? loc_mem(a, osz) : loc_reg(r, osz);
			gi->src = store ? loc_reg(r, osz) : loc_mem(a, osz);
			set_name(gi, "movbe%s %s", sz_suffix[osz], store ? "store" : "load");
		}
		break;
	}
	enc_emit(&e, gi);
}

const struct family fam_mov = { "mov", gen_mov, false };
