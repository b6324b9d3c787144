/* Family bit: BT BTS BTR BTC (register and imm8 offsets), BSF BSR, TZCNT
 * LZCNT POPCNT. SDM flags:
 *   BT*:         CF = the bit; ZF unaffected; OF SF AF PF undefined.
 *   BSF/BSR:     ZF = (source == 0); CF OF SF AF PF undefined; with a zero
 *                source the destination is undefined too (Intel leaves it
 *                unchanged, AMD documents that; the SDM does not promise).
 *   TZCNT/LZCNT: CF = (source == 0), ZF = (result == 0); OF SF AF PF
 *                undefined (SDM LZCNT/TZCNT "Flags Affected").
 *   POPCNT:      all six defined: ZF = (source == 0), the others cleared.
 * A register bit offset with a memory operand addresses outside the
 * operand: EA + 2/4/8 * floor(offset / width), offset signed. Offsets are
 * chosen so the bytes touched stay inside the data area. */
#include "tests/diff/diff.h"

#define BT_UNDEF (FL_OF | FL_SF | FL_AF | FL_PF)

static const char *const bt_name[4] = { "bt", "bts", "btr", "btc" };

/* Put `val` into the r/m operand before the instruction runs. */
static void preset(struct ginsn *gi, struct loc l, uint64_t val)
{
	if (l.kind == LOC_MEM)
		add_mem(gi, l.addr, l.size, val);
	else
		add_set(gi, l.reg, val, l.size == 8 ? ~0ull : (1ull << (8 * l.size)) - 1);
}

static void gen_bt(struct gen *g, struct ginsn *gi, struct enc *e)
{
	int op = (int)rng_below(g->r, 4), osz = pick_osz(g, false), w = osz_bits(osz);
	enc_init(e, g, osz);
	gi->undef = BT_UNDEF;
	if (rng_chance(g->r, 1, 3)) { /* 0F BA /4../7 Ev, Ib */
		enc_op(e, 2, 0x0f, 0xba);
		enc_digit(e, 4 + op);
		struct loc d = rm_operand(g, e, gi, osz, op != 0);
		if (op)
			maybe_lock(g, e, d);
		enc_imm(e, 1, rng_next(g->r) & 0xff);
		set_name(gi, "%s%s imm", bt_name[op], sz_suffix[osz]);
		return;
	}
	/* 0F A3/AB/B3/BB Ev, Gv */
	enc_op(e, 2, 0x0f, 0xa3 + 8 * op);
	int r = pick_gpr(g, true);
	enc_reg(e, r, false);
	if (rng_chance(g->r, 1, 2)) {
		enc_rm_reg(e, pick_gpr(g, op != 0), false);
		set_name(gi, "%s%s reg,reg", bt_name[op], sz_suffix[osz]);
		return;
	}
	/* Memory with a register offset: pick the operand address near the
	 * middle of the data area, then an offset whose target stays in. */
	g->taken[r] = true;
	int64_t span = 8 * (int64_t)(DATA_SIZE / 2 - 0x100); /* bits either way */
	if (w == 16 && span > 32767)
		span = 32767;
	int64_t off;
	switch (rng_below(g->r, 4)) {
	case 0: off = (int64_t)rng_below(g->r, (uint32_t)w); break;
	case 1: off = -(int64_t)rng_below(g->r, 64); break;
	default: off = (int64_t)rng_below(g->r, (uint32_t)(2 * span)) - span; break;
	}
	uint32_t a = DATA_BASE + DATA_SIZE / 2 - 0x40 + rng_below(g->r, 0x80);
	enc_rm_mem_at(e, g, gi, a, false);
	gi->ea = (uint32_t)(a + (off >> 3));
	gi->ea_size = 1;
	/* bits above the operand size are not part of the offset */
	uint64_t noise = w == 64 ? 0 : rng_next(g->r) << w;
	if (g->mode != SZ64)
		noise &= 0xffffffffull;
	add_set(gi, r, ((uint64_t)off & osz_mask(osz)) | noise, ~0ull);
	if (op)
		maybe_lock(g, e, loc_mem(a, osz));
	set_name(gi, "%s%s mem,reg off=%lld", bt_name[op], sz_suffix[osz], (long long)off);
}

static uint64_t pick_source(struct gen *g, int bits)
{
	switch (rng_below(g->r, 5)) {
	case 0: return 0;
	case 1: return 1ull << rng_below(g->r, (uint32_t)bits);
	default: return pick_value(g, bits);
	}
}

static void gen_bit(struct gen *g, struct ginsn *gi)
{
	struct enc e;
	int kind = (int)rng_below(g->r, 10);
	if (kind < 4) {
		gen_bt(g, gi, &e);
		enc_emit(&e, gi);
		return;
	}
	/* BSF/BSR (0F BC/BD), TZCNT/LZCNT (F3 0F BC/BD), POPCNT (F3 0F B8) */
	static const char *const nm[5] = { "bsf", "bsr", "tzcnt", "lzcnt", "popcnt" };
	int which = kind < 6 ? kind - 4 : kind < 8 ? kind - 4 : 4;
	int osz = pick_osz(g, false);
	enc_init(&e, g, osz);
	if (which >= 2)
		enc_prefix(&e, 0xf3);
	enc_op(&e, 2, 0x0f, which == 4 ? 0xb8 : 0xbc + (which & 1));
	int r = reg_operand(g, &e, osz, true);
	struct loc s = rm_operand(g, &e, gi, osz, false);
	if (!(s.kind == LOC_REG && s.reg == R_SP))
		preset(gi, s, pick_source(g, osz_bits(osz)));
	gi->dst = loc_reg(r, osz);
	gi->src = s;
	gi->width = (uint8_t)osz_bits(osz);
	if (which < 2) {
		gi->undef = FL_CF | FL_OF | FL_SF | FL_AF | FL_PF;
		gi->dyn = DYN_BSX;
	} else if (which < 4) {
		gi->undef = FL_OF | FL_SF | FL_AF | FL_PF;
	} else {
		gi->ref = REF_POPCNT;
	}
	set_name(gi, "%s%s", nm[which], sz_suffix[osz]);
	enc_emit(&e, gi);
}

const struct family fam_bit = { "bit", gen_bit, false };
