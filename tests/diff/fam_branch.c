/* Family branch: Jcc rel8/rel16/rel32, JMP rel and indirect (register and
 * memory), CALL rel and indirect, LOOP/LOOPE/LOOPNE, JCXZ/JECXZ/JRCXZ.
 * Every target is a later instruction of the sequence or its end, so a
 * taken and a not-taken branch both keep the sequence going. Flags are
 * random, so every condition goes both ways.
 *
 * Operand size: 16-bit operands truncate the new IP to 16 bits (harmless:
 * the code lies below 64 KiB) and make CALL push 2 bytes. In 64-bit mode
 * no 66h is used: Intel ignores it on near branches, AMD and Unicorn
 * honour it, and the SDM documents only the Intel behaviour. */
#include "tests/diff/diff.h"

static int pick_target(struct gen *g)
{
	return g->idx + 1 + (int)rng_below(g->r, (uint32_t)(g->n - g->idx));
}

static int branch_osz(struct gen *g, struct enc *e)
{
	e->fixed_osz = true;
	if (g->mode == SZ64)
		return SZ64;
	bool p66 = rng_chance(g->r, 1, 5);
	if (p66)
		enc_prefix(e, 0x66);
	return (g->mode == SZ16) != p66 ? SZ16 : SZ32;
}

/* A rel8, or a rel16/rel32 by operand size, resolved at layout. */
static void rel(struct enc *e, struct ginsn *gi, int size, int target)
{
	enc_imm(e, size, 0);
	gi->rel_size = (uint8_t)size;
	gi->rel_target = (int8_t)target;
}

/* The count register of LOOP and JCXZ is CX, ECX or RCX by address size;
 * the bits above it are noise that must not matter. */
static void set_count(struct gen *g, struct enc *e, struct ginsn *gi, uint64_t v)
{
	if (rng_chance(g->r, 1, 5))
		e->asz = g->mode == SZ32 ? SZ16 : SZ32;
	uint64_t m = e->asz == SZ16 ? 0xffff : e->asz == SZ32 ? 0xffffffffull : ~0ull;
	add_set(gi, R_CX, v, m);
	g->taken[R_CX] = true;
}

static void gen_branch(struct gen *g, struct ginsn *gi)
{
	struct enc e;
	enc_init(&e, g, g->mode);
	int t = pick_target(g);

	switch (rng_below(g->r, 10)) {
	case 0: case 1: case 2: { /* Jcc */
		int cc = (int)rng_below(g->r, 16), osz = branch_osz(g, &e);
		if (rng_chance(g->r, 1, 2)) {
			enc_op(&e, 1, 0x70 + cc);
			rel(&e, gi, 1, t);
		} else {
			enc_op(&e, 2, 0x0f, 0x80 + cc);
			rel(&e, gi, osz == SZ16 ? 2 : 4, t);
		}
		set_name(gi, "j%x rel%d -> %d", cc, 8 * gi->rel_size, t);
		break;
	}
	case 3: { /* JMP rel8 / rel16/32 */
		int osz = branch_osz(g, &e);
		bool short_ = rng_chance(g->r, 1, 2);
		enc_op(&e, 1, short_ ? 0xeb : 0xe9);
		rel(&e, gi, short_ ? 1 : osz == SZ16 ? 2 : 4, t);
		set_name(gi, "jmp rel%d -> %d", 8 * gi->rel_size, t);
		break;
	}
	case 4: { /* CALL rel16/32 */
		int osz = branch_osz(g, &e);
		enc_op(&e, 1, 0xe8);
		rel(&e, gi, osz == SZ16 ? 2 : 4, t);
		set_name(gi, "call%s rel -> %d", sz_suffix[osz], t);
		break;
	}
	case 5: case 6: { /* JMP (FF /4) or CALL (FF /2) through a register or memory */
		int osz = branch_osz(g, &e);
		bool call = rng_chance(g->r, 1, 2);
		enc_op(&e, 1, 0xff);
		enc_digit(&e, call ? 2 : 4);
		if (rng_chance(g->r, 1, 2)) {
			int r = pick_gpr(g, true);
			enc_rm_reg(&e, r, false);
			/* a 16-bit operand reads only the low 16 bits */
			uint64_t noise = osz == SZ16 ? (rng_next(g->r) & 0xffff0000ull) : 0;
			add_set_target(gi, r, t, noise);
		} else {
			uint32_t a = enc_rm_mem(&e, g, gi, 1u << osz, 0);
			add_mem_target(gi, a, 1 << osz, t);
		}
		set_name(gi, "%s%s indirect -> %d", call ? "call" : "jmp", sz_suffix[osz], t);
		break;
	}
	case 7: case 8: { /* LOOP (E2), LOOPE (E1), LOOPNE (E0) */
		int op = (int)rng_below(g->r, 3);
		branch_osz(g, &e);
		enc_op(&e, 1, 0xe0 + op);
		uint64_t c = rng_chance(g->r, 1, 2) ? rng_below(g->r, 3) : pick_value(g, 64);
		set_count(g, &e, gi, c);
		rel(&e, gi, 1, t);
		set_name(gi, "loop%s a%d -> %d", op == 2 ? "" : op ? "e" : "ne", 8 << e.asz, t);
		break;
	}
	case 9: { /* JCXZ/JECXZ/JRCXZ (E3) */
		branch_osz(g, &e);
		enc_op(&e, 1, 0xe3);
		set_count(g, &e, gi, rng_chance(g->r, 1, 2) ? 0 : pick_value(g, 64));
		rel(&e, gi, 1, t);
		set_name(gi, "jcxz a%d -> %d", 8 << e.asz, t);
		break;
	}
	}
	enc_emit(&e, gi);
	gi->rel_at = gi->rel_size ? (int8_t)e.imm_at : -1;
}

const struct family fam_branch = { "branch", gen_branch, false };
