/* Family string: MOVS CMPS SCAS LODS STOS in byte/word/dword/qword, alone
 * and with REP (MOVS, LODS, STOS) or REPE/REPNE (CMPS, SCAS), with DF clear
 * and set, in the default address size and the other one. rSI, rDI and rCX
 * are set just before: pointers into the data area with room both ways,
 * small counts, and noise above the address size that must not matter.
 * Flags: CMPS and SCAS set them as CMP (none undefined); the others leave
 * them alone. F2 with MOVS/LODS/STOS is not used: the SDM does not define
 * it. */
#include "tests/diff/diff.h"

#define ROOM 0x100u

static uint64_t noise_above(struct gen *g, int asz)
{
	if (asz == SZ64)
		return 0;
	uint64_t n = rng_next(g->r) & (asz == SZ16 ? ~0xffffull : ~0xffffffffull);
	return g->mode == SZ64 ? n : n & 0xffffffffull;
}

static void set_ptr(struct gen *g, struct ginsn *gi, int reg, uint32_t v, int asz)
{
	add_set(gi, reg, v | noise_above(g, asz), ~0ull);
}

static void gen_string(struct gen *g, struct ginsn *gi)
{
	static const uint8_t opc[5] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae };
	static const char *const nm[5] = { "movs", "cmps", "stos", "lods", "scas" };
	struct enc e;
	int op = (int)rng_below(g->r, 5), osz = pick_osz(g, true);
	bool compares = op == 1 || op == 4;
	enc_init(&e, g, osz);
	enc_op(&e, 1, opc[op] + (osz != SZ8));

	int rep = (int)rng_below(g->r, compares ? 3 : 2); /* 0 none, 1 F3, 2 F2 */
	if (rep)
		enc_prefix(&e, rep == 1 ? 0xf3 : 0xf2);
	if (rng_chance(g->r, 1, 5))
		e.asz = g->mode == SZ32 ? SZ16 : SZ32;
	/* A segment override applies to the DS:rSI source only; all bases
	 * are 0 here anyway. */
	if ((op <= 1 || op == 3) && rng_chance(g->r, 1, 5))
		enc_prefix(&e, g->mode == SZ32 ? 0x26 : 0x2e);

	uint32_t span = DATA_HI - DATA_LO - 2 * ROOM;
	uint32_t si = DATA_LO + ROOM + rng_below(g->r, span);
	uint32_t di = DATA_LO + ROOM + rng_below(g->r, span);
	if (op == 1 && rng_chance(g->r, 1, 3))
		di = si; /* all equal: REPE runs to the end */
	if (rng_chance(g->r, 1, 2)) {
		si &= ~((1u << osz) - 1);
		di &= ~((1u << osz) - 1);
	}
	if (op == 4 && rng_chance(g->r, 1, 3)) {
		/* make the first elements equal the accumulator */
		uint64_t v = rng_next(g->r) & osz_mask(osz), pat = 0;
		for (int k = 0; k < 8; k += 1 << osz)
			pat |= v << (8 * k);
		add_mem(gi, di, 8, pat);
		add_set(gi, R_AX, v, osz_mask(osz));
	}
	if (op != 2)
		set_ptr(g, gi, R_SI, si, e.asz);
	if (op != 3)
		set_ptr(g, gi, R_DI, di, e.asz);
	uint64_t count = rng_chance(g->r, 1, 8) ? 0 : rng_below(g->r, 20);
	if (rep || rng_chance(g->r, 1, 2))
		set_ptr(g, gi, R_CX, (uint32_t)count, e.asz);
	gi->repeats = rep != 0;
	gi->ea = op == 2 || op == 4 ? di : si;
	gi->ea_size = 8;
	set_name(gi, "%s%s%s a%d", rep == 1 ? (compares ? "repe " : "rep ") : rep ? "repne " : "",
		 nm[op], sz_suffix[osz], 8 << e.asz);
	enc_emit(&e, gi);
}

const struct family fam_string = { "string", gen_string, true };
