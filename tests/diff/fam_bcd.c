/* Family bcd: DAA DAS AAA AAS AAM AAD. Invalid in 64-bit mode, where both
 * machines must raise #UD. SDM flags:
 *   DAA, DAS: CF AF SF ZF PF defined, OF undefined;
 *   AAA, AAS: AF CF defined, OF SF ZF PF undefined;
 *   AAM, AAD: SF ZF PF defined, OF AF CF undefined; AAM 0 raises #DE. */
#include <stdio.h>

#include "tests/diff/diff.h"

static void gen_bcd(struct gen *g, struct ginsn *gi)
{
	static const uint8_t op[4] = { 0x27, 0x2f, 0x37, 0x3f };
	static const char *const nm[4] = { "daa", "das", "aaa", "aas" };
	static const uint32_t undef[4] = {
		FL_OF, FL_OF, FL_OF | FL_SF | FL_ZF | FL_PF, FL_OF | FL_SF | FL_ZF | FL_PF,
	};
	struct enc e;
	enc_init(&e, g, g->mode);
	e.fixed_osz = true;
	e.no_rex = true;

	/* AX: a packed or unpacked BCD pair most of the time, anything else
	 * now and then; AF and CF come from the random flags. */
	uint64_t ax;
	switch (rng_below(g->r, 3)) {
	case 0: ax = (rng_below(g->r, 10) << 12) | (rng_below(g->r, 10) << 8) |
		     (rng_below(g->r, 10) << 4) | rng_below(g->r, 10); break;
	case 1: ax = (rng_below(g->r, 10) << 8) | rng_below(g->r, 16); break;
	default: ax = rng_next(g->r) & 0xffff; break;
	}
	add_set(gi, R_AX, ax, 0xffff);

	int k = (int)rng_below(g->r, 6);
	if (k < 4) {
		enc_op(&e, 1, op[k]);
		gi->undef = undef[k];
		set_name(gi, "%s", nm[k]);
	} else {
		/* D4 ib (AAM), D5 ib (AAD): base 10 mostly, 0 now and then */
		uint64_t base = rng_chance(g->r, 1, 2) ? 10 : rng_chance(g->r, 1, 6) ? 0
			      : rng_below(g->r, 256);
		enc_op(&e, 1, k == 4 ? 0xd4 : 0xd5);
		enc_imm(&e, 1, base);
		gi->undef = FL_OF | FL_AF | FL_CF;
		set_name(gi, "%s %u", k == 4 ? "aam" : "aad", (unsigned)base);
	}
	if (g->mode == SZ64) {
		char base[sizeof gi->name];
		snprintf(base, sizeof base, "%s", gi->name);
		set_name(gi, "%s (#UD)", base);
	}
	enc_emit(&e, gi);
}

const struct family fam_bcd = { "bcd", gen_bcd, false };
