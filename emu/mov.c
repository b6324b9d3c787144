/* Data movement: MOV in all forms, MOVZX/MOVSX/MOVSXD, MOVBE, LEA, XCHG,
 * CMPXCHG, CMPXCHG8B/16B, XADD, CMOVcc, SETcc, CBW/CWD families, LAHF/SAHF,
 * XLAT. */
#include "emu/exec.h"
#include "emu/seg.h"

static int64_t sx(uint64_t v, int sz)
{
	int sh = 64 - sz_bits[sz];
	return (int64_t)(v << sh) >> sh;
}

void op_mov_EbGb(struct cpu *c, const struct insn *i)
{
	rm_write(c, i, SZ8, reg_get(c, i->reg, SZ8));
}

void op_mov_EvGv(struct cpu *c, const struct insn *i)
{
	rm_write(c, i, i->osz, reg_get(c, i->reg, i->osz));
}

/* Register-to-register MOV by size: 89 /r moves reg to rm, 8B /r rm to
 * reg; both are "dst = src" once the decoder has named them. */
#define MOV_R(SZ)                                                           \
	static void mov_89_r##SZ(struct cpu *c, const struct insn *i)       \
	{                                                                   \
		if (i->op & 2)                                              \
			reg_set(c, i->reg, SZ, reg_get(c, i->rm, SZ));      \
		else                                                        \
			reg_set(c, i->rm, SZ, reg_get(c, i->reg, SZ));      \
	}
MOV_R(SZ16)
MOV_R(SZ32)
MOV_R(SZ64)
const op_fn op_mov_EvGv_rsz[4] = { NULL, mov_89_rSZ16, mov_89_rSZ32, mov_89_rSZ64 };

/* Memory forms by size: 89 stores, 8B loads. */
#define MOV_M(SZ)                                                           \
	static void mov_89_m##SZ(struct cpu *c, const struct insn *i)       \
	{                                                                   \
		mem_write(c, i->seg, ea(c, i), SZ, reg_get(c, i->reg, SZ)); \
	}                                                                   \
	static void mov_8b_m##SZ(struct cpu *c, const struct insn *i)       \
	{                                                                   \
		reg_set(c, i->reg, SZ, mem_read(c, i->seg, ea(c, i), SZ));  \
	}
MOV_M(SZ16)
MOV_M(SZ32)
MOV_M(SZ64)
const op_fn op_mov_EvGv_msz[4] = { NULL, mov_89_mSZ16, mov_89_mSZ32, mov_89_mSZ64 };
const op_fn op_mov_GvEv_msz[4] = { NULL, mov_8b_mSZ16, mov_8b_mSZ32, mov_8b_mSZ64 };

void op_mov_GbEb(struct cpu *c, const struct insn *i)
{
	reg_set(c, i->reg, SZ8, rm_read(c, i, SZ8));
}

void op_mov_GvEv(struct cpu *c, const struct insn *i)
{
	reg_set(c, i->reg, i->osz, rm_read(c, i, i->osz));
}

void op_mov_EbIb(struct cpu *c, const struct insn *i)
{
	rm_write(c, i, SZ8, i->imm);
}

void op_mov_EvIz(struct cpu *c, const struct insn *i)
{
	rm_write(c, i, i->osz, i->imm);
}

void op_mov_rIb(struct cpu *c, const struct insn *i)
{
	reg_set(c, i->reg, SZ8, i->imm);
}

void op_mov_rIv(struct cpu *c, const struct insn *i)
{
	reg_set(c, i->reg, i->osz, i->imm);
}

/* A0..A3: the offset is an address-size immediate (moffs). */
void op_mov_AL_moffs(struct cpu *c, const struct insn *i)
{
	reg_set(c, R_AX, SZ8, mem_read(c, i->seg, (uint64_t)i->disp & sz_mask[i->asz], SZ8));
}

void op_mov_AX_moffs(struct cpu *c, const struct insn *i)
{
	reg_set(c, R_AX, i->osz, mem_read(c, i->seg, (uint64_t)i->disp & sz_mask[i->asz], i->osz));
}

void op_mov_moffs_AL(struct cpu *c, const struct insn *i)
{
	mem_write(c, i->seg, (uint64_t)i->disp & sz_mask[i->asz], SZ8, c->gpr[R_AX]);
}

void op_mov_moffs_AX(struct cpu *c, const struct insn *i)
{
	mem_write(c, i->seg, (uint64_t)i->disp & sz_mask[i->asz], i->osz, c->gpr[R_AX]);
}

/* 8C: a register destination gets the selector zero-extended to the operand
 * size; memory always gets 16 bits (SDM vol. 2, MOV). The decoder has
 * already turned reg = 6, 7 into #UD. */
void op_mov_Ev_sreg(struct cpu *c, const struct insn *i)
{
	unsigned sr = (i->modrm >> 3) & 7;
	if (i->mod == 3)
		reg_set(c, i->rm, i->osz, c->seg[sr].sel);
	else
		mem_write(c, i->seg, ea(c, i), SZ16, c->seg[sr].sel);
}

/* 8E: the decoder has made CS and reg = 6, 7 #UD. */
void op_mov_sreg_Ev(struct cpu *c, const struct insn *i)
{
	unsigned sr = (i->modrm >> 3) & 7;
	seg_load(c, (int)sr, (uint16_t)rm_read(c, i, SZ16));
	if (sr == SEG_SS) {
		/* MOV SS: no interrupts or debug traps until the next
		 * instruction retires, so SS:rSP can be loaded as a pair. */
		c->shadow_until = c->icount + 2;
		c->shadow_movss = true;
		c->brk |= BRK_STOP;
	}
}

void op_lea(struct cpu *c, const struct insn *i)
{
	reg_set(c, i->reg, i->osz, ea(c, i));
}

/* 0F B6/B7: zero-extend a byte (B6) or word (B7). */
void op_movzx(struct cpu *c, const struct insn *i)
{
	int ssz = (i->op & 1) ? SZ16 : SZ8;
	reg_set(c, i->reg, i->osz, rm_read(c, i, ssz));
}

void op_movsx(struct cpu *c, const struct insn *i)
{
	int ssz = (i->op & 1) ? SZ16 : SZ8;
	reg_set(c, i->reg, i->osz, (uint64_t)sx(rm_read(c, i, ssz), ssz));
}

/* 63 in 64-bit mode: sign-extend a doubleword with REX.W; without it, a
 * plain move of the operand size. */
void op_movsxd(struct cpu *c, const struct insn *i)
{
	int ssz = i->osz == SZ64 ? SZ32 : i->osz;
	reg_set(c, i->reg, i->osz, (uint64_t)sx(rm_read(c, i, ssz), ssz));
}

/* 63: MOVSXD in 64-bit mode, ARPL elsewhere. */
void op_63(struct cpu *c, const struct insn *i)
{
	if (c->code_sz == SZ64)
		op_movsxd(c, i);
	else
		op_arpl(c, i);
}

/* 0F 38 F0/F1: byte-swapping load and store. F2 would select CRC32, which
 * is not implemented. */
void op_movbe(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	if (i->rep == REP_F2)
		emu_raise_noerr(c, VEC_UD);
	uint64_t v = (i->op & 1) ? reg_get(c, i->reg, sz) : rm_read(c, i, sz);
	switch (sz) {
	case SZ16: v = __builtin_bswap16((uint16_t)v); break;
	case SZ32: v = __builtin_bswap32((uint32_t)v); break;
	default:   v = __builtin_bswap64(v); break;
	}
	if (i->op & 1)
		rm_write(c, i, sz, v);
	else
		reg_set(c, i->reg, sz, v);
}

/* XCHG r/m, r: with memory it is locked whatever the prefix says. */
void op_xchg_EG(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t r = reg_get(c, i->reg, sz);
	if (i->mod == 3) {
		reg_set(c, i->reg, sz, reg_get(c, i->rm, sz));
		reg_set(c, i->rm, sz, r);
	} else {
		uint64_t a = ea(c, i);
		uint64_t m = mem_read(c, i->seg, a, sz);
		mem_write(c, i->seg, a, sz, r);
		reg_set(c, i->reg, sz, m);
	}
}

/* 90+r. 90 itself (no REX.B) is NOP, also in 64-bit mode where XCHG EAX,EAX
 * would clear RAX's upper half; F3 90 is PAUSE. */
void op_xchg_rAX(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	if (i->reg == R_AX) {
		if (i->rep == REP_F3 && c->vmx.nonroot)
			vmexit_on_pause(c);
		return;
	}
	uint64_t a = reg_get(c, R_AX, sz);
	reg_set(c, R_AX, sz, reg_get(c, i->reg, sz));
	reg_set(c, i->reg, sz, a);
}

/* CMPXCHG: flags as CMP accumulator, destination. The destination is
 * written in both cases, as the processor does (SDM vol. 2, CMPXCHG). */
void op_cmpxchg(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t acc = reg_get(c, R_AX, sz), a = 0, d;
	if (i->mod == 3) {
		d = reg_get(c, i->rm, sz);
	} else {
		a = ea(c, i);
		d = mem_read(c, i->seg, a, sz);
	}
	lf_set(c, LF_SUB, sz, (acc - d) & sz_mask[sz], acc, d);
	uint64_t nv = acc == d ? reg_get(c, i->reg, sz) : d;
	if (i->mod == 3)
		reg_set(c, i->rm, sz, nv);
	else
		mem_write(c, i->seg, a, sz, nv);
	if (acc != d)
		reg_set(c, R_AX, sz, d);
}

/* CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W; the operand must be 16-byte
 * aligned or #GP(0)). Only ZF changes. */
void op_cmpxchg8b(struct cpu *c, const struct insn *i)
{
	uint64_t a = ea(c, i);
	if (i->osz == SZ64) {
		uint64_t lin = seg_linear(c, i->seg, a, 16, ACC_WRITE);
		if (lin & 15)
			emu_raise(c, VEC_GP, 0);
		uint64_t lo = mem_read(c, i->seg, a, SZ64);
		uint64_t hi = mem_read(c, i->seg, (a + 8) & sz_mask[i->asz], SZ64);
		bool eq = lo == c->gpr[R_AX] && hi == c->gpr[R_DX];
		mem_write(c, i->seg, a, SZ64, eq ? c->gpr[R_BX] : lo);
		mem_write(c, i->seg, (a + 8) & sz_mask[i->asz], SZ64, eq ? c->gpr[R_CX] : hi);
		flags_set(c, FL_ZF, eq ? FL_ZF : 0);
		if (!eq) {
			c->gpr[R_AX] = lo;
			c->gpr[R_DX] = hi;
		}
		return;
	}
	uint64_t m = mem_read(c, i->seg, a, SZ64);
	uint64_t cmp = (uint32_t)c->gpr[R_AX] | (c->gpr[R_DX] << 32);
	bool eq = m == cmp;
	mem_write(c, i->seg, a, SZ64,
		  eq ? ((uint32_t)c->gpr[R_BX] | (c->gpr[R_CX] << 32)) : m);
	flags_set(c, FL_ZF, eq ? FL_ZF : 0);
	if (!eq) {
		reg_set(c, R_AX, SZ32, m);
		reg_set(c, R_DX, SZ32, m >> 32);
	}
}

/* XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (so with one register
 * as both, the sum wins). */
void op_xadd(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t s = reg_get(c, i->reg, sz), a = 0, d;
	if (i->mod == 3) {
		d = reg_get(c, i->rm, sz);
	} else {
		a = ea(c, i);
		d = mem_read(c, i->seg, a, sz);
	}
	uint64_t t = (s + d) & sz_mask[sz];
	lf_set(c, LF_ADD, sz, t, d, s);
	if (i->mod == 3) {
		reg_set(c, i->reg, sz, d);
		reg_set(c, i->rm, sz, t);
	} else {
		mem_write(c, i->seg, a, sz, t);
		reg_set(c, i->reg, sz, d);
	}
}

/* CMOVcc reads its source in any case; with a 32-bit operand in 64-bit mode
 * the destination's upper half is cleared even when nothing moves. */
void op_cmov(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	uint64_t v = rm_read(c, i, sz);
	reg_set(c, i->reg, sz, cond(c, i->op & 0xf) ? v : reg_get(c, i->reg, sz));
}

void op_setcc(struct cpu *c, const struct insn *i)
{
	rm_write(c, i, SZ8, cond(c, i->op & 0xf));
}

/* 98: CBW / CWDE / CDQE. */
void op_cbw(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	reg_set(c, R_AX, sz, (uint64_t)sx(c->gpr[R_AX], sz - 1));
}

/* 99: CWD / CDQ / CQO: rDX = the sign of rAX. */
void op_cwd(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	reg_set(c, R_DX, sz, sign_of(c->gpr[R_AX], sz) ? ~0ull : 0);
}

/* LAHF: AH = SF:ZF:0:AF:0:PF:1:CF. */
void op_lahf(struct cpu *c, const struct insn *i)
{
	(void)i;
	lf_materialize(c);
	reg_set(c, REG_AH, SZ8, (c->rflags & 0xd5) | FL_1);
}

/* SAHF: SF ZF AF PF CF from AH. */
void op_sahf(struct cpu *c, const struct insn *i)
{
	(void)i;
	flags_set(c, FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF, reg_get(c, REG_AH, SZ8));
}

/* XLAT: AL = [seg:rBX + AL], rBX as wide as the address size. */
void op_xlat(struct cpu *c, const struct insn *i)
{
	uint64_t a = (c->gpr[R_BX] + (c->gpr[R_AX] & 0xff)) & sz_mask[i->asz];
	reg_set(c, R_AX, SZ8, mem_read(c, i->seg, a, SZ8));
}
