/* A decoded instruction: what the decoder makes of the bytes, once. Handlers
 * read only this and the CPU state. Decoded instructions are cached by
 * physical address (emu/dcache.c), so nothing here may depend on register
 * values, only on the bytes and the code size they were decoded in. */
#ifndef EMU_INSN_H
#define EMU_INSN_H

#include <stdint.h>

struct cpu;
struct insn;
typedef void (*op_fn)(struct cpu *cpu, const struct insn *i);

/* Opcode maps, as the high byte of insn.op. */
enum { MAP_1B = 0, MAP_0F = 1, MAP_0F38 = 2, MAP_0F3A = 3 };

/* Repeat prefixes as decoded. */
enum { REP_NONE = 0, REP_F3 = 1, REP_F2 = 2 };

#define EA_RIP   16      /* insn.base: RIP-relative */
#define EA_NONE  0xff    /* insn.base / insn.index: absent */

/* Byte registers: 0..15 are the low bytes of the GPRs (SPL..DIL need REX);
 * 16..19 are AH, CH, DH, BH (no REX). */
#define REG_AH 16

struct insn {
	op_fn fn;         /* the handler, chosen at decode time */
	uint64_t imm;     /* first immediate (sign-extended when the form says so) */
	int64_t disp;     /* displacement, or the moffs address of A0..A3 */
	uint16_t op;      /* map << 8 | opcode byte */
	uint16_t imm2;    /* second immediate: ENTER's level, a far pointer's selector */
	uint8_t len;      /* length in bytes, prefixes included */
	uint8_t osz;      /* operand size: SZ8..SZ64 */
	uint8_t asz;      /* address size: SZ16..SZ64 */
	uint8_t mod;      /* ModRM.mod (3 = register operand) */
	uint8_t reg;      /* ModRM.reg with REX.R, or the register in the opcode with REX.B */
	uint8_t rm;       /* ModRM.rm with REX.B when mod == 3 */
	uint8_t base;     /* memory operand base register, EA_RIP or EA_NONE */
	uint8_t index;    /* index register or EA_NONE */
	uint8_t scale;    /* index shift: 0..3 */
	uint8_t seg;      /* segment of the memory operand, after overrides */
	uint8_t seg_ovr;  /* the segment override prefix, or SEG_NONE */
	uint8_t rep;      /* REP_NONE, REP_F3, REP_F2 */
	uint8_t lock;     /* LOCK prefix present */
	uint8_t rex;      /* the REX byte, or 0 */
	uint8_t modrm;    /* the raw ModRM byte */
	uint8_t p66;      /* a 66h prefix was present (mandatory-prefix forms) */
	uint8_t vreg;     /* VEX.vvvv: the extra register operand of VEX forms */
};

#endif
