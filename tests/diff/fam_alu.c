/* Family alu: ADD OR ADC SBB AND SUB XOR CMP, TEST, INC DEC NEG NOT in all
 * their forms. Flags (SDM vol. 2): all six defined, except AF after AND,
 * OR, XOR and TEST, which the SDM leaves undefined.
 *
 * LOCK goes only on forms the SDM lets it (a memory destination of ADD
 * ... XOR, INC, DEC, NEG, NOT). LOCK CMP should be #UD, but Unicorn 2.0.1
 * aborts the whole process on it ("tcg fatal error"), so it cannot be
 * compared here. */
#include "tests/diff/diff.h"

static const char *const alu_name[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };

static uint32_t alu_undef(int op)
{
	return (op == 1 || op == 4 || op == 6) ? FL_AF : 0;
}

/* Iz: 16 bits with a 16-bit operand, else 32 (sign-extended to 64). */
static int iz(int osz)
{
	return osz == SZ16 ? 2 : 4;
}

static void gen_alu(struct gen *g, struct ginsn *gi)
{
	struct enc e;
	int op = (int)rng_below(g->r, 8);
	int osz = pick_osz(g, true);
	bool byte = osz == SZ8;
	const char *sx = sz_suffix[osz];
	enc_init(&e, g, osz);
	gi->undef = alu_undef(op);

	switch (rng_below(g->r, 9)) {
	case 0: case 1: { /* op Eb,Gb / Ev,Gv: r/m is the destination */
		enc_op(&e, 1, 8 * op + !byte);
		int r = reg_operand(g, &e, osz, false);
		struct loc d = rm_operand(g, &e, gi, osz, true);
		if (op != 7)
			maybe_lock(g, &e, d);
		set_name(gi, "%s%s E,G(r%d)", alu_name[op], sx, r);
		break;
	}
	case 2: case 3: /* op Gb,Eb / Gv,Ev */
		enc_op(&e, 1, 8 * op + 2 + !byte);
		reg_operand(g, &e, osz, true);
		rm_operand(g, &e, gi, osz, false);
		set_name(gi, "%s%s G,E", alu_name[op], sx);
		break;
	case 4: /* op AL,Ib / eAX,Iz */
		enc_op(&e, 1, 8 * op + 4 + !byte);
		enc_imm(&e, byte ? 1 : iz(osz), pick_value(g, byte ? 8 : 8 * iz(osz)));
		set_name(gi, "%s%s acc,imm", alu_name[op], sx);
		break;
	case 5: case 6: { /* 80 /n Ib, 81 /n Iz, 83 /n Ib (sign-extended), 82 alias */
		int opc = byte ? (g->mode != SZ64 && rng_chance(g->r, 1, 4) ? 0x82 : 0x80)
			       : (rng_chance(g->r, 1, 2) ? 0x81 : 0x83);
		if (g->mode == SZ64 && byte && rng_chance(g->r, 1, 16))
			opc = 0x82; /* #UD in 64-bit mode */
		enc_op(&e, 1, opc);
		enc_digit(&e, op);
		struct loc d = rm_operand(g, &e, gi, osz, true);
		if (op != 7)
			maybe_lock(g, &e, d);
		int isz = opc == 0x81 ? iz(osz) : 1;
		enc_imm(&e, isz, pick_value(g, 8 * isz));
		set_name(gi, "%s%s E,imm (%02x)", alu_name[op], sx, opc);
		break;
	}
	case 7: { /* TEST in its forms: 84/85, A8/A9, F6/F7 /0 */
		gi->undef = FL_AF;
		int form = (int)rng_below(g->r, 3);
		if (form == 0) {
			enc_op(&e, 1, 0x84 + !byte);
			reg_operand(g, &e, osz, false);
			rm_operand(g, &e, gi, osz, false);
		} else if (form == 1) {
			enc_op(&e, 1, 0xa8 + !byte);
			enc_imm(&e, byte ? 1 : iz(osz), pick_value(g, byte ? 8 : 8 * iz(osz)));
		} else {
			enc_op(&e, 1, 0xf6 + !byte);
			/* /0 only: /1 acts as TEST on real parts but the SDM
			 * leaves it blank (table A-6), so no answer is right */
			enc_digit(&e, 0);
			rm_operand(g, &e, gi, osz, false);
			enc_imm(&e, byte ? 1 : iz(osz), pick_value(g, byte ? 8 : 8 * iz(osz)));
		}
		set_name(gi, "test%s form %d", sx, form);
		break;
	}
	case 8: { /* INC DEC (FE/FF, 40+r outside 64-bit mode) NEG NOT */
		int which = (int)rng_below(g->r, 4);
		if (which < 2 && !byte && g->mode != SZ64 && rng_chance(g->r, 1, 3)) {
			enc_op(&e, 1, 0x40 + 8 * which);
			enc_opreg(&e, pick_gpr(g, true), false);
			set_name(gi, "%s%s r (4x)", which ? "dec" : "inc", sx);
			break;
		}
		static const int digit[4] = { 0, 1, 3, 2 };
		static const char *const nm[4] = { "inc", "dec", "neg", "not" };
		enc_op(&e, 1, which < 2 ? 0xfe + !byte : 0xf6 + !byte);
		enc_digit(&e, digit[which]);
		struct loc d = rm_operand(g, &e, gi, osz, true);
		maybe_lock(g, &e, d);
		if (which == 2 && enc_has_prefix(&e, 0xf0))
			/* Unicorn 2.0.1 computes the flags of LOCK NEG m from the
			 * old value instead of the result (e.g. neg byte 52h
			 * gives SF=0); SDM NEG: OF SF ZF AF PF follow the
			 * result. The result and CF are still compared. */
			gi->undef = FL_OF | FL_SF | FL_ZF | FL_AF | FL_PF;
		set_name(gi, "%s%s E", nm[which], sx);
		break;
	}
	}
	enc_emit(&e, gi);
}

const struct family fam_alu = { "alu", gen_alu, false };
