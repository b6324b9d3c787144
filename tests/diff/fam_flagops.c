/* Family flagops: CLC STC CMC CLD STD and the NOP forms: 90, 66 90, F3 90
 * (PAUSE), REX 90, and the multi-byte NOP 0F 1F /0 with register and
 * memory operands (the memory operand is never accessed, so its address
 * may be anything), also padded with prefixes to exactly 15 bytes and to
 * 16, which is #GP(0) (SDM vol. 2, 2.3.11: an instruction may not exceed
 * 15 bytes). All flags are defined. */
#include "tests/diff/diff.h"

static void gen_flagops(struct gen *g, struct ginsn *gi)
{
	static const uint8_t ops[5] = { 0xf8, 0xf9, 0xf5, 0xfc, 0xfd };
	static const char *const nm[5] = { "clc", "stc", "cmc", "cld", "std" };
	struct enc e;
	enc_init(&e, g, g->mode);
	int k = (int)rng_below(g->r, 10);
	if (k == 9) {
		/* 0F 1F /0 with a displacement, after harmless prefixes: 0F 1F
		 * 84 00 disp32 (8 bytes), or 0F 1F 80 disp16 (5) in real mode */
		static const uint8_t pads[4] = { 0x66, 0x2e, 0x3e, 0x26 };
		static const uint8_t nop32[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x12, 0x34, 0x56, 0x78 };
		static const uint8_t nop16[5] = { 0x0f, 0x1f, 0x80, 0x12, 0x34 };
		const uint8_t *body = g->mode == SZ16 ? nop16 : nop32;
		int nb = g->mode == SZ16 ? 5 : 8;
		int np = 15 - nb + (int)rng_below(g->r, 2), n = 0;
		for (int j = 0; j < np; j++)
			gi->b[n++] = pads[rng_below(g->r, 4)];
		for (int j = 0; j < nb; j++)
			gi->b[n++] = body[j];
		gi->len = (uint8_t)n;
		set_name(gi, "nop, %d bytes%s", n, n > 15 ? " (#GP)" : "");
		return;
	}
	if (k < 5) {
		e.fixed_osz = true;
		enc_op(&e, 1, ops[k]);
		set_name(gi, "%s", nm[k]);
	} else if (k < 7) {
		/* 90 with 66h, F3 (PAUSE) or a REX without B */
		e.fixed_osz = true;
		enc_op(&e, 1, 0x90);
		switch (rng_below(g->r, 4)) {
		case 0: enc_prefix(&e, 0x66); break;
		case 1: enc_prefix(&e, 0xf3); break;
		case 2:
			if (g->mode == SZ64)
				e.rex = 8; /* REX.W 90 is still NOP */
			break;
		default: break;
		}
		set_name(gi, "nop 90");
	} else {
		/* 0F 1F /0 Ev: NOP with an operand; the operand size may be 16,
		 * 32 or 64 and the address anything */
		enc_init(&e, g, pick_osz(g, false));
		enc_op(&e, 2, 0x0f, 0x1f);
		enc_digit(&e, 0);
		if (rng_chance(g->r, 1, 4))
			enc_rm_reg(&e, pick_gpr(g, false), false);
		else
			enc_rm_mem_at(&e, g, gi, 0, true);
		set_name(gi, "nop 0f 1f /0");
	}
	enc_emit(&e, gi);
}

const struct family fam_flagops = { "flagops", gen_flagops, false };
