/* The opcode table: for every opcode, how to decode it and which handler
 * runs it. Groups (opcodes whose ModRM.reg picks the instruction) point to
 * a sub-table of eight entries whose flags add to the parent's. */
#ifndef EMU_OPTAB_H
#define EMU_OPTAB_H

#include "emu/insn.h"

#define D_MODRM  (1u << 0)  /* has a ModRM byte */
#define D_BYTE   (1u << 1)  /* operand size is 8 bits */
#define D_IB     (1u << 2)  /* 8-bit immediate */
#define D_IW     (1u << 3)  /* 16-bit immediate */
#define D_IZ     (1u << 4)  /* 16/32-bit immediate by operand size (sign-extended to 64) */
#define D_IV     (1u << 5)  /* 16/32/64-bit immediate by operand size */
#define D_SX     (1u << 6)  /* sign-extend the 8-bit immediate */
#define D_D64    (1u << 7)  /* 64-bit mode: operand size defaults to 64 */
#define D_F64    (1u << 8)  /* 64-bit mode: operand size is 64, 66h ignored (Intel) */
#define D_I64    (1u << 9)  /* invalid in 64-bit mode */
#define D_LOCK   (1u << 10) /* LOCK allowed (with a memory destination) */
#define D_MOFFS  (1u << 11) /* address-size offset instead of ModRM (A0..A3) */
#define D_GROUP  (1u << 12) /* ModRM.reg selects an entry of grp */
#define D_MEM    (1u << 13) /* ModRM must name memory, else #UD */
#define D_RMB    (1u << 14) /* the r/m operand is a byte (MOVZX/MOVSX Eb, SETcc) */
#define D_OPREG  (1u << 15) /* register in the low 3 opcode bits (+REX.B) */
#define D_END    (1u << 16) /* ends a decoded block (unconditional transfer, HLT) */
#define D_ENTER  (1u << 17) /* ENTER: 16-bit then 8-bit immediate */
#define D_REGONLY (1u << 18) /* ModRM must name a register, else #UD */
#define D_I64ONLY (1u << 19) /* valid only in 64-bit mode */
#define D_FORCEREG (1u << 20) /* ModRM.mod is ignored: always a register (MOV CR/DR) */
#define D_PTR    (1u << 21) /* far pointer: offset (16/32 by operand size), then selector */
#define D_NOPFX  (1u << 22) /* with 66h, F2h or F3h it is another instruction (not implemented) */

struct opent {
	op_fn fn;                 /* NULL: #UD */
	uint32_t f;               /* D_* */
	const struct opent *grp;  /* D_GROUP: eight entries by ModRM.reg */
	const op_fn *rsz;         /* optional: register-form (ModRM.mod = 3)
	                             handlers by operand size, for speed */
	const op_fn *msz;         /* optional: the same for memory forms */
};

/* One table per map: MAP_1B, MAP_0F, MAP_0F38, MAP_0F3A. */
extern const struct opent optab[4][256];

/* Instructions selected by a mandatory F3 prefix in the 0F map (POPCNT,
 * TZCNT, LZCNT), or NULL. */
const struct opent *optab_f3(unsigned op0f);

/* VEX-encoded instructions of map 0F38 with no implied prefix (the BMI1
 * group), or NULL. */
const struct opent *optab_vex(unsigned op);

#endif
