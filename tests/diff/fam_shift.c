/* Family shift: SHL/SAL SHR SAR ROL ROR RCL RCR by 1, CL and imm8, and
 * SHLD/SHRD by CL and imm8. What the SDM leaves undefined depends on the
 * count (masked to 5 bits, 6 with a 64-bit operand) and is worked out at
 * run time (run.c, undef_before):
 *   shifts:  count 0 changes no flag; AF undefined for count != 0; OF for
 *            count > 1; CF for SHL/SHR when count >= the operand width;
 *   rotates: count 0 changes no flag; OF undefined for count > 1;
 *   SHLD/SHRD: as shifts for AF and OF; count > width: result and all
 *            flags undefined.
 * /6 of group 2 is left out: it acts as SHL on real parts, but the SDM
 * does not define it (table A-6). */
#include "tests/diff/diff.h"

static const char *const grp2_name[8] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "?", "sar" };

static int pick_count(struct gen *g, int width)
{
	switch (rng_below(g->r, 12)) {
	case 0: return 0;
	case 1: case 2: return 1;
	case 3: return 2;
	case 4: return width - 1;
	case 5: return width;
	case 6: return width + 1;
	case 7: return 31 + (int)rng_below(g->r, 3);
	case 8: return 63 + (int)rng_below(g->r, 3);
	case 9: return (int)rng_below(g->r, 256);
	default: return (int)rng_below(g->r, (uint32_t)width + 2);
	}
}

static void gen_shift(struct gen *g, struct ginsn *gi)
{
	struct enc e;
	if (rng_chance(g->r, 1, 4)) {
		/* SHLD/SHRD Ev,Gv,Ib (0F A4/AC) or CL (0F A5/AD) */
		int osz = pick_osz(g, false), width = osz_bits(osz);
		bool right = rng_chance(g->r, 1, 2), cl = rng_chance(g->r, 1, 2);
		int cnt = pick_count(g, width);
		enc_init(&e, g, osz);
		enc_op(&e, 2, 0x0f, (right ? 0xac : 0xa4) + cl);
		/* Unicorn 2.0.1 forgets the imm8 of SHLD/SHRD (0F A4/AC) when
		 * it computes a RIP-relative address, so it accesses one byte
		 * lower than the SDM's "next instruction + disp32". */
		e.no_riprel = !cl;
		reg_operand(g, &e, osz, false);
		if (cl) {
			g->taken[R_CX] = true;
			add_set(gi, R_CX, (uint64_t)cnt, 0xff);
		}
		gi->dst = rm_operand(g, &e, gi, osz, true);
		if (!cl)
			enc_imm(&e, 1, (uint64_t)cnt);
		gi->dyn = DYN_SHXD;
		gi->width = (uint8_t)width;
		gi->count = cl ? -1 : (int16_t)cnt;
		set_name(gi, "sh%cd%s %s%d", right ? 'r' : 'l', sz_suffix[osz], cl ? "cl=" : "", cnt);
		enc_emit(&e, gi);
		return;
	}

	int osz = pick_osz(g, true), width = osz_bits(osz);
	bool byte = osz == SZ8;
	int op;
	do
		op = (int)rng_below(g->r, 8);
	while (op == 6);
	int form = (int)rng_below(g->r, 3); /* 0: by 1, 1: by CL, 2: by imm8 */
	int cnt = form == 0 ? 1 : pick_count(g, width);
	enc_init(&e, g, osz);
	enc_op(&e, 1, (form == 0 ? 0xd0 : form == 1 ? 0xd2 : 0xc0) + !byte);
	enc_digit(&e, op);
	if (form == 1) {
		g->taken[R_CX] = true;
		add_set(gi, R_CX, (uint64_t)cnt, 0xff);
	}
	gi->dst = rm_operand(g, &e, gi, osz, true);
	if (form == 2)
		enc_imm(&e, 1, (uint64_t)cnt);
	static const uint8_t dyn[8] = { DYN_ROT, DYN_ROT, DYN_RC, DYN_RC,
					DYN_SHL_SHR, DYN_SHL_SHR, DYN_NONE, DYN_SAR };
	gi->dyn = dyn[op];
	gi->width = (uint8_t)width;
	gi->count = form == 1 ? -1 : (int16_t)cnt;
	set_name(gi, "%s%s %s%d", grp2_name[op], sz_suffix[osz], form == 1 ? "cl=" : "", cnt);
	enc_emit(&e, gi);
}

const struct family fam_shift = { "shift", gen_shift, false };
