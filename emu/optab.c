/* The opcode table (SDM vol. 2, appendix A). Entries left out are #UD.
 * Entries list only the fields they use; the rest are zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stddef.h>

#include "emu/ops.h"
#include "emu/optab.h"

#define M   D_MODRM
#define B   D_BYTE
#define L   D_LOCK

/* ALU op n in its six one-byte forms at 8n .. 8n+5 (appendix A, table A-2).
 * lk: LOCK is allowed (every op but CMP, SDM vol. 2, LOCK). */
#define ALU_ROW(n, name, lk)                                        \
	[8 * (n) + 0] = { op_##name##_EbGb, M | B | (lk), 0 },      \
	[8 * (n) + 1] = { op_##name##_EvGv, M | (lk), 0, op_##name##_EvGv_rsz }, \
	[8 * (n) + 2] = { op_##name##_GbEb, M | B, 0 },             \
	[8 * (n) + 3] = { op_##name##_GvEv, M, 0, op_##name##_GvEv_rsz }, \
	[8 * (n) + 4] = { op_##name##_ALIb, B | D_IB, 0 },          \
	[8 * (n) + 5] = { op_##name##_AXIz, D_IZ, 0 }

/* Group 1 (80, 81, 83): the ALU ops with an immediate. CMP takes no LOCK. */
#define GRP1(form, fl, R)                                                     \
	{ { op_add_##form, fl | L, 0, R(add) }, { op_or_##form, fl | L, 0, R(or) },   \
	  { op_adc_##form, fl | L, 0, R(adc) }, { op_sbb_##form, fl | L, 0, R(sbb) }, \
	  { op_and_##form, fl | L, 0, R(and) }, { op_sub_##form, fl | L, 0, R(sub) }, \
	  { op_xor_##form, fl | L, 0, R(xor) }, { op_cmp_##form, fl, 0, R(cmp) } }
#define NO_RSZ(n) NULL
#define EVIZ_RSZ(n) op_##n##_EvIz_rsz
static const struct opent grp1_Eb[8] = GRP1(EbIb, D_IB, NO_RSZ);
static const struct opent grp1_Ev[8] = GRP1(EvIz, D_IZ, EVIZ_RSZ);
static const struct opent grp1_Evb[8] = GRP1(EvIz, D_IB | D_SX, EVIZ_RSZ);

/* Group 2: shifts and rotates; the count comes from the opcode. */
#define GRP2(fn, fl)                                                \
	{ { fn, fl, 0 }, { fn, fl, 0 }, { fn, fl, 0 }, { fn, fl, 0 },    \
	  { fn, fl, 0 }, { fn, fl, 0 }, { fn, fl, 0 }, { fn, fl, 0 } }
static const struct opent grp2_ib[8] = GRP2(op_shift, D_IB);
static const struct opent grp2[8] = GRP2(op_shift, 0);

/* Group 3 (F6, F7). /1 is an alias of TEST (SDM appendix A, table A-6 note). */
static const struct opent grp3_Eb[8] = {
	{ op_test_EbIb, D_IB, 0 }, { op_test_EbIb, D_IB, 0 },
	{ op_not, L, 0 }, { op_neg, L, 0 },
	{ op_mul, 0, 0 }, { op_imul1, 0, 0 }, { op_div, 0, 0 }, { op_idiv, 0, 0 },
};
static const struct opent grp3_Ev[8] = {
	{ op_test_EvIz, D_IZ, 0 }, { op_test_EvIz, D_IZ, 0 },
	{ op_not, L, 0 }, { op_neg, L, 0 },
	{ op_mul, 0, 0 }, { op_imul1, 0, 0 }, { op_div, 0, 0 }, { op_idiv, 0, 0 },
};
/* Group 4 (FE) and 5 (FF). */
static const struct opent grp4[8] = {
	{ op_inc, L, 0 }, { op_dec, L, 0 },
};
static const struct opent grp5[8] = {
	{ op_inc, L, 0, op_inc_rsz }, { op_dec, L, 0, op_dec_rsz },
	{ op_call_Ev, D_F64 | D_END, 0 }, { op_call_far_m, D_MEM | D_END, 0 },
	{ op_jmp_Ev, D_F64 | D_END, 0 }, { op_jmp_far_m, D_MEM | D_END, 0 },
	{ op_push_Ev, D_D64, 0 }, { 0, 0, 0 },
};
/* 8C and 8E name the segment register in ModRM.reg: 6 and 7 do not
 * exist, and CS cannot be loaded with MOV. Group 6 (0F 00): /6 and /7 are
 * reserved. */
#define SREG_ST { op_mov_Ev_sreg, 0, 0 }
#define SREG_LD { op_mov_sreg_Ev, D_END, 0 }
static const struct opent grp_8c[8] = { SREG_ST, SREG_ST, SREG_ST, SREG_ST, SREG_ST, SREG_ST };
static const struct opent grp_8e[8] = { SREG_LD, { 0, 0, 0 }, SREG_LD, SREG_LD, SREG_LD, SREG_LD };
static const struct opent grp6[8] = {
	{ op_sldt, 0, 0 }, { op_str, 0, 0 }, { op_lldt, 0, 0 }, { op_ltr, 0, 0 },
	{ op_verr, 0, 0 }, { op_verw, 0, 0 },
};
/* Group 1A (8F) and 11 (C6, C7). */
static const struct opent grp1a[8] = { { op_pop_Ev, D_D64, 0 } };
static const struct opent grp11_Eb[8] = { { op_mov_EbIb, D_IB, 0 } };
static const struct opent grp11_Ev[8] = { { op_mov_EvIz, D_IZ, 0 } };
/* Group 8 (0F BA): BT/BTS/BTR/BTC with an immediate bit offset. */
static const struct opent grp8[8] = {
	[4] = { op_bt_imm, D_IB, 0 }, [5] = { op_bt_imm, D_IB | L, 0 },
	[6] = { op_bt_imm, D_IB | L, 0 }, [7] = { op_bt_imm, D_IB | L, 0 },
};
/* Group 9 (0F C7): CMPXCHG8B/16B; VMPTRLD/VMCLEAR/VMXON (/6) and VMPTRST
 * (/7) with memory. */
static const struct opent grp9[8] = {
	[1] = { op_cmpxchg8b, D_MEM | L, 0 },
	[6] = { op_vmx_c7_6, D_MEM, 0 }, [7] = { op_vmptrst, D_MEM, 0 },
};
/* Group 15 (0F AE): the fences are its register forms; XSAVE (/4) and
 * XRSTOR (/5) with memory. */
static const struct opent grp15[8] = {
	[4] = { op_xsave, D_MEM, 0 }, [5] = { op_grp15_5, 0, 0 },
	[6] = { op_fence, D_REGONLY, 0 }, [7] = { op_fence, D_REGONLY, 0 },
};
/* 0F 18..1F with ModRM: prefetch hints and the reserved-NOP space (NOP Ev). */
#define HINT_NOP { op_nop, M, 0 }

#define JCC8(n)  { op_jcc_##n, D_IB | D_SX | D_F64, 0 }
#define JCC32(n) { op_jcc_##n, D_IZ | D_F64, 0 }
#define JCCS(J) J(0), J(1), J(2), J(3), J(4), J(5), J(6), J(7), \
	J(8), J(9), J(a), J(b), J(c), J(d), J(e), J(f)
#define SETCC { op_setcc, M | D_RMB, 0 }
#define CMOV  { op_cmov, M, 0 }
#define PUSHR { op_push_r, D_OPREG | D_D64, 0 }
#define POPR  { op_pop_r, D_OPREG | D_D64, 0 }
#define MOVB  { op_mov_rIb, D_OPREG | B | D_IB, 0 }
#define MOVV  { op_mov_rIv, D_OPREG | D_IV, 0 }
#define XCHGR { op_xchg_rAX, D_OPREG, 0 }
#define INCR  { op_inc_r, D_OPREG | D_I64, 0 }
#define DECR  { op_dec_r, D_OPREG | D_I64, 0 }
#define BSWAP { op_bswap, D_OPREG, 0 }

const struct opent optab[4][256] = {
[MAP_1B] = {
	ALU_ROW(0, add, L), ALU_ROW(1, or, L), ALU_ROW(2, adc, L), ALU_ROW(3, sbb, L),
	ALU_ROW(4, and, L), ALU_ROW(5, sub, L), ALU_ROW(6, xor, L), ALU_ROW(7, cmp, 0),
	[0x06] = { op_push_sreg, D_I64, 0 }, [0x07] = { op_pop_sreg, D_I64, 0 },
	[0x0e] = { op_push_sreg, D_I64, 0 },
	[0x16] = { op_push_sreg, D_I64, 0 }, [0x17] = { op_pop_sreg, D_I64, 0 },
	[0x1e] = { op_push_sreg, D_I64, 0 }, [0x1f] = { op_pop_sreg, D_I64, 0 },
	[0x27] = { op_daa, D_I64, 0 }, [0x2f] = { op_das, D_I64, 0 },
	[0x37] = { op_aaa, D_I64, 0 }, [0x3f] = { op_aas, D_I64, 0 },
	[0x40] = INCR, INCR, INCR, INCR, INCR, INCR, INCR, INCR,
	[0x48] = DECR, DECR, DECR, DECR, DECR, DECR, DECR, DECR,
	[0x50] = PUSHR, PUSHR, PUSHR, PUSHR, PUSHR, PUSHR, PUSHR, PUSHR,
	[0x58] = POPR, POPR, POPR, POPR, POPR, POPR, POPR, POPR,
	[0x60] = { op_pusha, D_I64, 0 }, [0x61] = { op_popa, D_I64, 0 },
	[0x63] = { op_63, M, 0 },
	[0x68] = { op_push_imm, D_IZ | D_D64, 0 },
	[0x69] = { op_imul3, M | D_IZ, 0 },
	[0x6a] = { op_push_imm, D_IB | D_SX | D_D64, 0 },
	[0x6b] = { op_imul3, M | D_IB | D_SX, 0 },
	[0x6c] = { op_ins, B, 0 }, [0x6d] = { op_ins, 0, 0 },
	[0x6e] = { op_outs, B, 0 }, [0x6f] = { op_outs, 0, 0 },
	[0x70] = JCCS(JCC8),
	[0x80] = { 0, M | B | D_GROUP, grp1_Eb },
	[0x81] = { 0, M | D_GROUP, grp1_Ev },
	[0x82] = { 0, M | B | D_GROUP | D_I64, grp1_Eb },
	[0x83] = { 0, M | D_GROUP, grp1_Evb },
	[0x84] = { op_test_EbGb, M | B, 0 },
	[0x85] = { op_test_EvGv, M, 0, op_test_EvGv_rsz },
	[0x86] = { op_xchg_EG, M | B | L, 0 }, [0x87] = { op_xchg_EG, M | L, 0 },
	[0x88] = { op_mov_EbGb, M | B, 0 },
	[0x89] = { op_mov_EvGv, M, 0, op_mov_EvGv_rsz, op_mov_EvGv_msz },
	[0x8a] = { op_mov_GbEb, M | B, 0 },
	[0x8b] = { op_mov_GvEv, M, 0, op_mov_EvGv_rsz, op_mov_GvEv_msz },
	[0x8c] = { 0, M | D_GROUP, grp_8c }, [0x8d] = { op_lea, M | D_MEM, 0 },
	[0x8e] = { 0, M | D_GROUP, grp_8e },
	[0x8f] = { 0, M | D_GROUP, grp1a },
	[0x90] = XCHGR, XCHGR, XCHGR, XCHGR, XCHGR, XCHGR, XCHGR, XCHGR,
	[0x98] = { op_cbw, 0, 0 }, [0x99] = { op_cwd, 0, 0 },
	[0x9a] = { op_call_far, D_PTR | D_I64 | D_END, 0 },
	[0x9c] = { op_pushf, D_D64, 0 }, [0x9d] = { op_popf, D_D64 | D_END, 0 },
	[0x9e] = { op_sahf, 0, 0 }, [0x9f] = { op_lahf, 0, 0 },
	[0xa0] = { op_mov_AL_moffs, B | D_MOFFS, 0 },
	[0xa1] = { op_mov_AX_moffs, D_MOFFS, 0 },
	[0xa2] = { op_mov_moffs_AL, B | D_MOFFS, 0 },
	[0xa3] = { op_mov_moffs_AX, D_MOFFS, 0 },
	[0xa4] = { op_movs, B, 0 }, [0xa5] = { op_movs, 0, 0 },
	[0xa6] = { op_cmps, B, 0 }, [0xa7] = { op_cmps, 0, 0 },
	[0xa8] = { op_test_ALIb, B | D_IB, 0 }, [0xa9] = { op_test_AXIz, D_IZ, 0 },
	[0xaa] = { op_stos, B, 0 }, [0xab] = { op_stos, 0, 0 },
	[0xac] = { op_lods, B, 0 }, [0xad] = { op_lods, 0, 0 },
	[0xae] = { op_scas, B, 0 }, [0xaf] = { op_scas, 0, 0 },
	[0xb0] = MOVB, MOVB, MOVB, MOVB, MOVB, MOVB, MOVB, MOVB,
	[0xb8] = MOVV, MOVV, MOVV, MOVV, MOVV, MOVV, MOVV, MOVV,
	[0xc0] = { 0, M | B | D_GROUP, grp2_ib },
	[0xc1] = { 0, M | D_GROUP, grp2_ib },
	[0xc2] = { op_ret, D_IW | D_F64 | D_END, 0 },
	[0xc3] = { op_ret, D_F64 | D_END, 0 },
	[0xc6] = { 0, M | B | D_GROUP, grp11_Eb },
	[0xc7] = { 0, M | D_GROUP, grp11_Ev },
	[0xc8] = { op_enter, D_ENTER | D_D64, 0 },
	[0xc9] = { op_leave, D_D64, 0 },
	[0xca] = { op_retf, D_IW | D_END, 0 }, [0xcb] = { op_retf, D_END, 0 },
	[0xcc] = { op_int3, D_END, 0 }, [0xcd] = { op_int, D_IB | D_END, 0 },
	[0xce] = { op_into, D_I64 | D_END, 0 }, [0xcf] = { op_iret, D_END, 0 },
	[0xd0] = { 0, M | B | D_GROUP, grp2 }, [0xd1] = { 0, M | D_GROUP, grp2 },
	[0xd2] = { 0, M | B | D_GROUP, grp2 }, [0xd3] = { 0, M | D_GROUP, grp2 },
	[0xd4] = { op_aam, D_IB | D_I64, 0 }, [0xd5] = { op_aad, D_IB | D_I64, 0 },
	[0xd7] = { op_xlat, 0, 0 },
	[0xe0] = { op_loop, D_IB | D_SX | D_F64, 0 },
	[0xe1] = { op_loop, D_IB | D_SX | D_F64, 0 },
	[0xe2] = { op_loop, D_IB | D_SX | D_F64, 0 },
	[0xe3] = { op_jcxz, D_IB | D_SX | D_F64, 0 },
	[0xe4] = { op_in, B | D_IB, 0 }, [0xe5] = { op_in, D_IB, 0 },
	[0xe6] = { op_out, B | D_IB, 0 }, [0xe7] = { op_out, D_IB, 0 },
	[0xe8] = { op_call_rel, D_IZ | D_F64 | D_END, 0 },
	[0xe9] = { op_jmp_rel, D_IZ | D_F64 | D_END, 0 },
	[0xea] = { op_jmp_far, D_PTR | D_I64 | D_END, 0 },
	[0xeb] = { op_jmp_rel, D_IB | D_SX | D_F64 | D_END, 0 },
	[0xec] = { op_in, B, 0 }, [0xed] = { op_in, 0, 0 },
	[0xee] = { op_out, B, 0 }, [0xef] = { op_out, 0, 0 },
	[0xf1] = { op_int1, D_END, 0 },
	[0xf4] = { op_hlt, D_END, 0 }, [0xf5] = { op_cmc, 0, 0 },
	[0xf6] = { 0, M | B | D_GROUP, grp3_Eb }, [0xf7] = { 0, M | D_GROUP, grp3_Ev },
	[0xf8] = { op_clc, 0, 0 }, [0xf9] = { op_stc, 0, 0 },
	[0xfa] = { op_cli, 0, 0 }, [0xfb] = { op_sti, D_END, 0 },
	[0xfc] = { op_cld, 0, 0 }, [0xfd] = { op_std, 0, 0 },
	[0xfe] = { 0, M | B | D_GROUP, grp4 }, [0xff] = { 0, M | D_GROUP, grp5 },
},
[MAP_0F] = {
	[0x00] = { 0, M | D_GROUP, grp6 }, [0x01] = { op_grp7, M | D_END, 0 },
	[0x02] = { op_lar, M, 0 }, [0x03] = { op_lsl, M, 0 },
	[0x05] = { op_syscall, D_I64ONLY | D_END, 0 }, [0x06] = { op_clts, 0, 0 },
	[0x07] = { op_sysret, D_I64ONLY | D_END, 0 },
	[0x08] = { op_wbinvd, 0, 0 }, [0x09] = { op_wbinvd, 0, 0 },
	[0x0b] = { op_ud2, D_END, 0 },
	[0x0d] = HINT_NOP,
	[0x18] = HINT_NOP, HINT_NOP, HINT_NOP, HINT_NOP,
	HINT_NOP, HINT_NOP, HINT_NOP, HINT_NOP,
	[0x20] = { op_mov_cr, M | D_FORCEREG, 0 }, [0x21] = { op_mov_dr, M | D_FORCEREG, 0 },
	[0x22] = { op_mov_cr, M | D_FORCEREG | D_END, 0 },
	[0x23] = { op_mov_dr, M | D_FORCEREG, 0 },
	[0x30] = { op_wrmsr, 0, 0 }, [0x31] = { op_rdtsc, 0, 0 }, [0x32] = { op_rdmsr, 0, 0 },
	[0x33] = { op_rdpmc, 0, 0 },
	[0x34] = { op_sysenter, D_END, 0 }, [0x35] = { op_sysexit, D_END, 0 },
	[0x40] = CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV,
	CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV, CMOV,
	/* 66/F2 0F 78/79 are AMD's EXTRQ/INSERTQ */
	[0x78] = { op_vmread, M | D_NOPFX, 0 }, [0x79] = { op_vmwrite, M | D_NOPFX, 0 },
	[0x80] = JCCS(JCC32),
	[0x90] = SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC,
	SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC, SETCC,
	[0xa0] = { op_push_sreg, D_D64, 0 }, [0xa1] = { op_pop_sreg, D_D64, 0 },
	[0xa2] = { op_cpuid, 0, 0 },
	[0xa3] = { op_bt_reg, M, 0 },
	[0xa4] = { op_shld, M | D_IB, 0 }, [0xa5] = { op_shld, M, 0 },
	[0xa8] = { op_push_sreg, D_D64, 0 }, [0xa9] = { op_pop_sreg, D_D64, 0 },
	[0xab] = { op_bt_reg, M | L, 0 },
	[0xac] = { op_shrd, M | D_IB, 0 }, [0xad] = { op_shrd, M, 0 },
	[0xae] = { 0, M | D_GROUP, grp15 },
	[0xaf] = { op_imul2, M, 0 },
	[0xb0] = { op_cmpxchg, M | B | L, 0 }, [0xb1] = { op_cmpxchg, M | L, 0 },
	[0xb3] = { op_bt_reg, M | L, 0 },
	[0xb6] = { op_movzx, M | D_RMB, 0 }, [0xb7] = { op_movzx, M, 0 },
	[0xba] = { 0, M | D_GROUP, grp8 },
	[0xbb] = { op_bt_reg, M | L, 0 },
	[0xbc] = { op_bsf, M, 0 }, [0xbd] = { op_bsr, M, 0 },
	[0xbe] = { op_movsx, M | D_RMB, 0 }, [0xbf] = { op_movsx, M, 0 },
	[0xc0] = { op_xadd, M | B | L, 0 }, [0xc1] = { op_xadd, M | L, 0 },
	[0xc7] = { 0, M | D_GROUP, grp9 },
	[0xc8] = BSWAP, BSWAP, BSWAP, BSWAP, BSWAP, BSWAP, BSWAP, BSWAP,
},
[MAP_0F38] = {
	[0x80] = { op_invept, M | D_MEM, 0 }, [0x81] = { op_invvpid, M | D_MEM, 0 },
	[0x82] = { op_invpcid, M | D_MEM, 0 },
	[0xf0] = { op_movbe, M | D_MEM, 0 }, [0xf1] = { op_movbe, M | D_MEM, 0 },
},
[MAP_0F3A] = { [0] = { 0, 0, 0 } },
};

/* F3 0F B8 POPCNT, F3 0F BC TZCNT, F3 0F BD LZCNT. */
static const struct opent popcnt = { op_popcnt, M, 0 };
static const struct opent tzcnt = { op_tzcnt, M, 0 };
static const struct opent lzcnt = { op_lzcnt, M, 0 };

const struct opent *optab_f3(unsigned op0f)
{
	switch (op0f) {
	case 0xb8: return &popcnt;
	case 0xbc: return &tzcnt;
	case 0xbd: return &lzcnt;
	default:   return NULL;
	}
}

/* VEX.LZ.0F38 (SDM vol. 2, BMI1): ANDN F2, group 17 F3 (BLSR /1, BLSMSK
 * /2, BLSI /3), BEXTR F7. */
static const struct opent grp17[8] = {
	[1] = { op_blsx, 0, 0 }, [2] = { op_blsx, 0, 0 }, [3] = { op_blsx, 0, 0 },
};
static const struct opent andn = { op_andn, M, 0 };
static const struct opent blsx = { 0, M | D_GROUP, grp17 };
static const struct opent bextr = { op_bextr, M, 0 };

const struct opent *optab_vex(unsigned op)
{
	switch (op) {
	case 0xf2: return &andn;
	case 0xf3: return &blsx;
	case 0xf7: return &bextr;
	default:   return NULL;
	}
}
