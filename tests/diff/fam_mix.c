/* Family mix: each instruction drawn from any other family, so that flags
 * made by one kind of instruction are consumed by another (an ADD before a
 * Jcc, a shift before ADC, a CMP before CMOVcc/SETcc): the paths where a
 * machine with lazily computed flags is most likely to go wrong. */
#include "tests/diff/diff.h"

static void gen_mix(struct gen *g, struct ginsn *gi)
{
	static const struct family *const fams[] = {
		&fam_alu, &fam_alu, &fam_mov, &fam_muldiv, &fam_shift, &fam_bit,
		&fam_stack, &fam_branch, &fam_branch, &fam_string, &fam_flagops, &fam_bcd,
	};
	const struct family *f = fams[rng_below(g->r, sizeof fams / sizeof fams[0])];
	f->gen(g, gi);
}

const struct family fam_mix = { "mix", gen_mix, false };
