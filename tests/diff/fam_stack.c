/* Family stack: PUSH/POP of registers, memory, immediates and segment
 * registers, PUSHF/POPF, ENTER/LEAVE, RET and RET imm16, PUSHA/POPA.
 * Operand size: 16 or 32 outside 64-bit mode (66h flips it), 64 or 16 in
 * it. No flag is undefined here; PUSH Sreg with a 32/64-bit operand may
 * write only the low two bytes of its slot (SDM PUSH: "all recent Core and
 * Atom processors perform a 16-bit move"), so the rest of the slot is not
 * compared.
 *
 * Left out, each for a reason:
 * - 66h on RET in 64-bit mode: Intel ignores it (64-bit pop), AMD and
 *   Unicorn honour it (16-bit pop); the SDM describes the Intel behaviour
 *   only in the opcode map's f64 annotation, so no answer is right.
 * - 66h on ENTER: the SDM's pseudo-code pushes (E)BP by stack size, not
 *   operand size, and parts differ; ENTER runs at the default size.
 * - POP Sreg in protected mode: Unicorn's flat modes have no GDT. */
#include "tests/diff/diff.h"

/* A stack pointer value in the middle of the stack area, with room for
 * ENTER's frames below and POPA's eight slots above. */
static uint32_t pick_sp(struct gen *g)
{
	uint32_t s = STACK_MID - 0x100 + rng_below(g->r, 0x200);
	return rng_chance(g->r, 1, 8) ? s : s & ~1u;
}

/* Set RSP before the instruction; real mode keeps ESP[31:16] (SS.B = 0,
 * only SP moves). */
static void set_sp(struct gen *g, struct ginsn *gi, uint32_t s)
{
	add_set(gi, R_SP, s, g->mode == SZ16 ? 0xffff : ~0ull);
}

/* The operand size of a stack operation, with the prefixes that say so. */
static int stack_osz(struct gen *g, struct enc *e, bool allow66)
{
	e->fixed_osz = true;
	bool p66 = allow66 && rng_chance(g->r, 1, 4);
	if (p66)
		enc_prefix(e, 0x66);
	if (g->mode == SZ64) {
		if (!p66 && rng_chance(g->r, 1, 4))
			e->rex |= 8; /* REX.W: 64 as by default */
		return p66 ? SZ16 : SZ64;
	}
	return (g->mode == SZ16) != p66 ? SZ16 : SZ32;
}

/* The next instruction, or any later one, or the end. */
static int pick_target(struct gen *g)
{
	return g->idx + 1 + (int)rng_below(g->r, (uint32_t)(g->n - g->idx));
}

static void gen_sreg(struct gen *g, struct ginsn *gi, struct enc *e)
{
	/* opcode bytes per segment: push, pop (0 = none) */
	static const uint8_t push1[4] = { 0x06, 0x0e, 0x16, 0x1e };
	static const uint8_t pop1[4] = { 0x07, 0, 0x17, 0x1f };
	int s = (int)rng_below(g->r, 6);
	bool pop = g->mode == SZ16 && s != SEG_CS && rng_chance(g->r, 1, 2);
	int osz = stack_osz(g, e, true);
	if (s < 4)
		enc_op(e, 1, pop ? pop1[s] : push1[s]);
	else
		enc_op(e, 2, 0x0f, (s == SEG_FS ? 0xa0 : 0xa8) + pop);
	if (pop) {
		/* a 0 selector keeps the real-mode base at 0 */
		uint32_t sp = pick_sp(g);
		set_sp(g, gi, sp);
		add_mem(gi, sp, 1 << osz, 0);
	} else if (osz != SZ16) {
		gi->dyn = DYN_PUSHSEG;
		gi->width = (uint8_t)osz_bits(osz);
	}
	/* outside 64-bit mode all exist; in it only FS and GS (else #UD) */
	if (g->mode == SZ64 && s < 4)
		set_name(gi, "%s sreg%d (#UD)", pop ? "pop" : "push", s);
	else
		set_name(gi, "%s%s sreg%d", pop ? "pop" : "push", sz_suffix[osz], s);
}

/* PUSH, POP and MOV with an [rSP + disp] operand. POP computes the address
 * with rSP as it is after the pop, PUSH with rSP before the push (SDM POP:
 * "If the ESP register is used as a base register for addressing a
 * destination operand in memory, the POP instruction computes the
 * effective address of the operand after it increments the ESP register";
 * SDM PUSH: the operand address is computed before ESP is decremented).
 * Real mode has no SP-based 16-bit form: 67h gives [ESP + disp] there, with
 * ESP's upper half clear. */
static void gen_rsp_based(struct gen *g, struct ginsn *gi, struct enc *e)
{
	int kind = (int)rng_below(g->r, 3); /* 0 push, 1 pop, 2 mov */
	int osz;
	if (kind < 2) {
		osz = stack_osz(g, e, true);
		enc_op(e, 1, kind ? 0x8f : 0xff);
		enc_digit(e, kind ? 0 : 6);
	} else {
		osz = pick_osz(g, true);
		e->osz = osz;
		bool store = rng_chance(g->r, 1, 2);
		enc_op(e, 1, (store ? 0x88 : 0x8a) + (osz != SZ8));
		int r = osz == SZ8 ? pick_breg(g, e, true) : pick_gpr(g, true);
		enc_reg(e, r, osz == SZ8);
	}
	if (g->mode == SZ16)
		e->asz = SZ32;
	uint32_t sp = pick_sp(g);
	add_set(gi, R_SP, sp, ~0ull);
	int disp = (int)rng_below(g->r, 0x80) - 0x40;
	e->has_modrm = true;
	e->rm = 4;
	e->has_sib = true;
	e->sib = (uint8_t)((rng_below(g->r, 4) << 6) | (4 << 3) | 4); /* no index, base rSP */
	if (rng_chance(g->r, 1, 2)) {
		e->mod = 1;
		e->dispsz = 1;
	} else {
		e->mod = 2;
		e->dispsz = 4;
	}
	e->disp = disp;
	uint32_t ea = sp + (uint32_t)disp + (kind == 1 ? (1u << osz) : 0);
	gi->ea = ea;
	gi->ea_size = (uint8_t)(1 << osz);
	static const char *const nm[3] = { "push", "pop", "mov" };
	set_name(gi, "%s%s [rsp%+d]", nm[kind], sz_suffix[osz], disp);
}

static void gen_stack(struct gen *g, struct ginsn *gi)
{
	struct enc e;
	enc_init(&e, g, g->mode);
	g->taken[R_SP] = true;

	switch (rng_below(g->r, 16)) {
	case 0: case 1: { /* PUSH r (50+r) */
		int osz = stack_osz(g, &e, true);
		enc_op(&e, 1, 0x50);
		enc_opreg(&e, pick_gpr(g, false), false);
		set_name(gi, "push%s r", sz_suffix[osz]);
		break;
	}
	case 2: { /* POP r (58+r); POP rSP loads the popped value */
		int osz = stack_osz(g, &e, true);
		enc_op(&e, 1, 0x58);
		int r = pick_gpr(g, false);
		enc_opreg(&e, r, false);
		if (r == R_SP) {
			uint32_t sp = pick_sp(g);
			set_sp(g, gi, sp);
			add_mem(gi, sp, 1 << osz, pick_sp(g));
		}
		set_name(gi, "pop%s r%d", sz_suffix[osz], r);
		break;
	}
	case 3: { /* PUSH Iz (68) / Ib sign-extended (6A) */
		int osz = stack_osz(g, &e, true);
		bool ib = rng_chance(g->r, 1, 2);
		enc_op(&e, 1, ib ? 0x6a : 0x68);
		int isz = ib ? 1 : osz == SZ16 ? 2 : 4;
		enc_imm(&e, isz, pick_value(g, 8 * isz));
		set_name(gi, "push%s imm%d", sz_suffix[osz], 8 * isz);
		break;
	}
	case 4: { /* PUSH r/m (FF /6), POP r/m (8F /0) */
		int osz = stack_osz(g, &e, true);
		bool pop = rng_chance(g->r, 1, 2);
		enc_op(&e, 1, pop ? 0x8f : 0xff);
		enc_digit(&e, pop ? 0 : 6);
		if (rng_chance(g->r, 1, 3))
			enc_rm_reg(&e, pick_gpr(g, pop), false);
		else
			enc_rm_mem(&e, g, gi, 1u << osz, 0);
		set_name(gi, "%s%s E", pop ? "pop" : "push", sz_suffix[osz]);
		break;
	}
	case 5: { /* PUSHF / POPF; the popped image never sets TF (that
		   * would trap after the next instruction) */
		int osz = stack_osz(g, &e, true);
		bool pop = rng_chance(g->r, 1, 2);
		enc_op(&e, 1, pop ? 0x9d : 0x9c);
		if (pop) {
			uint32_t sp = pick_sp(g);
			set_sp(g, gi, sp);
			uint64_t f = rng_next(g->r) & 0x3fffff & ~(uint64_t)FL_TF;
			add_mem(gi, sp, 1 << osz, f);
		}
		set_name(gi, "%s%s", pop ? "popf" : "pushf", sz_suffix[osz]);
		break;
	}
	case 6:
		gen_sreg(g, gi, &e);
		break;
	case 7: case 8: { /* ENTER iw, ib: nesting level masked to 5 bits */
		int osz = stack_osz(g, &e, false);
		enc_op(&e, 1, 0xc8);
		uint32_t sp = pick_sp(g), bp = sp + rng_below(g->r, 0x100);
		set_sp(g, gi, sp);
		add_set(gi, R_BP, bp, g->mode == SZ16 ? 0xffff : ~0ull);
		uint32_t lvl;
		switch (rng_below(g->r, 6)) {
		case 0: case 1: lvl = 0; break;
		case 2: lvl = 1; break;
		case 3: lvl = 2 + rng_below(g->r, 4); break;
		case 4: lvl = 31 + rng_below(g->r, 3); break;
		default: lvl = rng_below(g->r, 256); break;
		}
		enc_imm(&e, 2, rng_below(g->r, 0x90));
		e.imm2sz = 1;
		e.imm2 = lvl;
		set_name(gi, "enter%s level %u", sz_suffix[osz], lvl);
		break;
	}
	case 9: { /* LEAVE: rSP <- rBP, pop rBP */
		int osz = stack_osz(g, &e, true);
		enc_op(&e, 1, 0xc9);
		add_set(gi, R_BP, pick_sp(g), g->mode == SZ16 ? 0xffff : ~0ull);
		set_name(gi, "leave%s", sz_suffix[osz]);
		break;
	}
	case 10: case 11: { /* RET / RET imm16 to a later instruction */
		int osz = stack_osz(g, &e, g->mode != SZ64);
		bool imm = rng_chance(g->r, 1, 2);
		enc_op(&e, 1, imm ? 0xc2 : 0xc3);
		if (imm)
			enc_imm(&e, 2, rng_below(g->r, 0x40) & ~1u);
		uint32_t sp = pick_sp(g);
		set_sp(g, gi, sp);
		add_mem_target(gi, sp, 1 << osz, pick_target(g));
		set_name(gi, "ret%s%s", sz_suffix[osz], imm ? " imm" : "");
		break;
	}
	case 12: { /* PUSHA / POPA: not in 64-bit mode (#UD) */
		int osz = stack_osz(g, &e, g->mode != SZ64);
		bool pop = rng_chance(g->r, 1, 2);
		enc_op(&e, 1, pop ? 0x61 : 0x60);
		if (pop)
			set_sp(g, gi, pick_sp(g));
		set_name(gi, "%s%s", pop ? "popa" : "pusha", g->mode == SZ64 ? " (#UD)" : sz_suffix[osz]);
		break;
	}
	case 14: case 15:
		gen_rsp_based(g, gi, &e);
		break;
	case 13: { /* PUSH rSP via FF /6: pushes the value before the push */
		int osz = stack_osz(g, &e, true);
		enc_op(&e, 1, 0xff);
		enc_digit(&e, 6);
		enc_rm_reg(&e, R_SP, false);
		set_name(gi, "push%s rsp (ff)", sz_suffix[osz]);
		break;
	}
	}
	enc_emit(&e, gi);
}

const struct family fam_stack = { "stack", gen_stack, false };
