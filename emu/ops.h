/* Every instruction handler, by family. Each takes the CPU and the decoded
 * instruction; a fault is raised with emu_raise() and never returns. */
#ifndef EMU_OPS_H
#define EMU_OPS_H

#include "emu/insn.h"

#define OP(name) void name(struct cpu *cpu, const struct insn *i)

/* alu.c: two-operand arithmetic and logic, unary ops */
#define ALU_FORMS(n) OP(op_##n##_EbGb); OP(op_##n##_EvGv); OP(op_##n##_GbEb); \
	OP(op_##n##_GvEv); OP(op_##n##_ALIb); OP(op_##n##_AXIz);             \
	OP(op_##n##_EbIb); OP(op_##n##_EvIz)
ALU_FORMS(add); ALU_FORMS(or); ALU_FORMS(adc); ALU_FORMS(sbb);
ALU_FORMS(and); ALU_FORMS(sub); ALU_FORMS(xor); ALU_FORMS(cmp);
ALU_FORMS(test);
OP(op_not); OP(op_neg); OP(op_inc); OP(op_dec); OP(op_inc_r); OP(op_dec_r);

/* Register forms specialized by operand size (index SZ16..SZ64), which the
 * decoder picks when ModRM names a register. */
#define RSZ(n) extern const op_fn n##_rsz[4]
#define ALU_RSZ(n) RSZ(op_##n##_EvGv); RSZ(op_##n##_GvEv); RSZ(op_##n##_EvIz)
ALU_RSZ(add); ALU_RSZ(or); ALU_RSZ(adc); ALU_RSZ(sbb);
ALU_RSZ(and); ALU_RSZ(sub); ALU_RSZ(xor); ALU_RSZ(cmp);
RSZ(op_test_EvGv); RSZ(op_inc); RSZ(op_dec); RSZ(op_mov_EvGv);
extern const op_fn op_mov_EvGv_msz[4], op_mov_GvEv_msz[4]; /* memory forms */

/* muldiv.c */
OP(op_mul); OP(op_imul1); OP(op_imul2); OP(op_imul3); OP(op_div); OP(op_idiv);

/* shift.c */
OP(op_shift); OP(op_shld); OP(op_shrd);

/* bits.c */
OP(op_bt_reg); OP(op_bt_imm); OP(op_bsf); OP(op_bsr); OP(op_tzcnt);
OP(op_lzcnt); OP(op_popcnt); OP(op_bswap); OP(op_andn); OP(op_bextr); OP(op_blsx);

/* mov.c: data movement */
OP(op_mov_EbGb); OP(op_mov_EvGv); OP(op_mov_GbEb); OP(op_mov_GvEv);
OP(op_mov_EbIb); OP(op_mov_EvIz); OP(op_mov_rIb); OP(op_mov_rIv);
OP(op_mov_AL_moffs); OP(op_mov_AX_moffs); OP(op_mov_moffs_AL); OP(op_mov_moffs_AX);
OP(op_mov_Ev_sreg); OP(op_mov_sreg_Ev); OP(op_lea); OP(op_movzx); OP(op_movsx);
OP(op_movsxd); OP(op_63); OP(op_movbe); OP(op_xchg_EG); OP(op_xchg_rAX); OP(op_cmpxchg);
OP(op_cmpxchg8b); OP(op_xadd); OP(op_cmov); OP(op_setcc); OP(op_cbw); OP(op_cwd);
OP(op_lahf); OP(op_sahf); OP(op_xlat);

/* stack.c */
OP(op_push_r); OP(op_pop_r); OP(op_push_Ev); OP(op_pop_Ev); OP(op_push_imm);
OP(op_push_sreg); OP(op_pop_sreg); OP(op_pusha); OP(op_popa); OP(op_pushf);
OP(op_popf); OP(op_enter); OP(op_leave);

/* string.c */
OP(op_movs); OP(op_cmps); OP(op_stos); OP(op_lods); OP(op_scas); OP(op_ins); OP(op_outs);

/* ctrl.c: near control transfers */
OP(op_jcc_0); OP(op_jcc_1); OP(op_jcc_2); OP(op_jcc_3); OP(op_jcc_4);
OP(op_jcc_5); OP(op_jcc_6); OP(op_jcc_7); OP(op_jcc_8); OP(op_jcc_9); OP(op_jcc_a);
OP(op_jcc_b); OP(op_jcc_c); OP(op_jcc_d); OP(op_jcc_e); OP(op_jcc_f);
OP(op_jmp_rel); OP(op_jmp_Ev); OP(op_call_rel); OP(op_call_Ev);
OP(op_ret); OP(op_loop); OP(op_jcxz);

/* sys.c: flags, CPU identification, time, I/O, halting */
OP(op_nop); OP(op_ud2); OP(op_hlt); OP(op_monitor); OP(op_mwait); OP(op_cmc); OP(op_clc); OP(op_stc);
OP(op_cld); OP(op_std); OP(op_cli); OP(op_sti); OP(op_cpuid); OP(op_rdtsc); OP(op_rdpmc);
OP(op_fence); OP(op_in); OP(op_out);

/* sysreg.c: control and debug registers, TLB and cache control */
OP(op_mov_cr); OP(op_mov_dr); OP(op_clts); OP(op_wbinvd); OP(op_invpcid);
OP(op_invlpg); OP(op_smsw); OP(op_lmsw); OP(op_grp7);

/* msr.c */
OP(op_rdmsr); OP(op_wrmsr); OP(op_rdtscp); OP(op_swapgs);

/* desc.c: descriptor tables */
OP(op_sgdt); OP(op_sidt); OP(op_lgdt); OP(op_lidt); OP(op_sldt); OP(op_str);
OP(op_lldt); OP(op_ltr); OP(op_lar); OP(op_lsl); OP(op_verr); OP(op_verw);
OP(op_arpl);

/* far.c: far transfers, interrupts, fast system calls */
OP(op_jmp_far); OP(op_call_far); OP(op_jmp_far_m); OP(op_call_far_m); OP(op_retf);
OP(op_iret); OP(op_int); OP(op_int3); OP(op_into); OP(op_int1); OP(op_syscall);
OP(op_sysret); OP(op_sysenter); OP(op_sysexit);

/* xsave.c */
OP(op_xgetbv); OP(op_xsetbv); OP(op_xsave); OP(op_xrstor); OP(op_grp15_5);

/* vmx/vmxinsn.c */
OP(op_vmxoff); OP(op_invept); OP(op_invvpid); OP(op_vmcall); OP(op_vmlaunch); OP(op_vmresume); OP(op_vmx_c7_6); OP(op_vmptrst); OP(op_vmread); OP(op_vmwrite);

/* bcd.c */
OP(op_daa); OP(op_das); OP(op_aaa); OP(op_aas); OP(op_aam); OP(op_aad);

#endif
