/* Two-operand arithmetic and logic (ADD OR ADC SBB AND SUB XOR CMP TEST) in
 * all their forms, and the unary NOT NEG INC DEC. Flags are left lazy. */
#include "emu/exec.h"

/* Each operation: result of a OP b at size sz (operands masked), flags recorded. */
static inline uint64_t alu_add(struct cpu *c, int sz, uint64_t a, uint64_t b)
{
	uint64_t r = (a + b) & sz_mask[sz];
	lf_set(c, LF_ADD, sz, r, a, b);
	return r;
}

static inline uint64_t alu_adc(struct cpu *c, int sz, uint64_t a, uint64_t b)
{
	unsigned cin = lf_cf(c);
	uint64_t r = (a + b + cin) & sz_mask[sz];
	lf_set(c, LF_ADC, sz, r, a, b);
	c->lf.cf = (uint8_t)cin;
	return r;
}

static inline uint64_t alu_sub(struct cpu *c, int sz, uint64_t a, uint64_t b)
{
	uint64_t r = (a - b) & sz_mask[sz];
	lf_set(c, LF_SUB, sz, r, a, b);
	return r;
}

static inline uint64_t alu_sbb(struct cpu *c, int sz, uint64_t a, uint64_t b)
{
	unsigned cin = lf_cf(c);
	uint64_t r = (a - b - cin) & sz_mask[sz];
	lf_set(c, LF_SBB, sz, r, a, b);
	c->lf.cf = (uint8_t)cin;
	return r;
}

static inline uint64_t alu_and(struct cpu *c, int sz, uint64_t a, uint64_t b)
{
	uint64_t r = a & b;
	lf_set(c, LF_LOGIC, sz, r, a, b);
	return r;
}

static inline uint64_t alu_or(struct cpu *c, int sz, uint64_t a, uint64_t b)
{
	uint64_t r = a | b;
	lf_set(c, LF_LOGIC, sz, r, a, b);
	return r;
}

static inline uint64_t alu_xor(struct cpu *c, int sz, uint64_t a, uint64_t b)
{
	uint64_t r = a ^ b;
	lf_set(c, LF_LOGIC, sz, r, a, b);
	return r;
}

#define alu_cmp  alu_sub
#define alu_test alu_and

/* The eight forms of an operation that writes its destination (WB = 1) or
 * only sets flags (CMP, TEST: WB = 0). Immediates are sign-extended by the
 * decoder and masked here to the operand size. */
#define ALU_HANDLERS(name, WB)                                                  \
static __attribute__((noinline)) void name##_mem(struct cpu *c, const struct insn *i, \
						 int sz, uint64_t b)            \
{                                                                               \
	uint64_t a = ea(c, i);                                                  \
	uint64_t r = alu_##name(c, sz, mem_read(c, i->seg, a, sz), b);          \
	if (WB) mem_write(c, i->seg, a, sz, r);                                 \
}                                                                               \
void op_##name##_EbGb(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	if (i->mod == 3) {                                                      \
		uint64_t r = alu_##name(c, SZ8, reg_get(c, i->rm, SZ8), reg_get(c, i->reg, SZ8)); \
		if (WB) reg_set(c, i->rm, SZ8, r);                              \
	} else {                                                                \
		name##_mem(c, i, SZ8, reg_get(c, i->reg, SZ8));                 \
	}                                                                       \
}                                                                               \
void op_##name##_EvGv(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	int sz = i->osz;                                                        \
	if (i->mod == 3) {                                                      \
		uint64_t r = alu_##name(c, sz, reg_get(c, i->rm, sz), reg_get(c, i->reg, sz)); \
		if (WB) reg_set(c, i->rm, sz, r);                               \
	} else {                                                                \
		name##_mem(c, i, sz, reg_get(c, i->reg, sz));                   \
	}                                                                       \
}                                                                               \
void op_##name##_GbEb(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	uint64_t r = alu_##name(c, SZ8, reg_get(c, i->reg, SZ8), rm_read(c, i, SZ8)); \
	if (WB) reg_set(c, i->reg, SZ8, r);                                     \
}                                                                               \
void op_##name##_GvEv(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	int sz = i->osz;                                                        \
	uint64_t r = alu_##name(c, sz, reg_get(c, i->reg, sz), rm_read(c, i, sz)); \
	if (WB) reg_set(c, i->reg, sz, r);                                      \
}                                                                               \
void op_##name##_ALIb(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	uint64_t r = alu_##name(c, SZ8, c->gpr[R_AX] & 0xff, i->imm & 0xff);    \
	if (WB) reg_set(c, R_AX, SZ8, r);                                       \
}                                                                               \
void op_##name##_AXIz(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	int sz = i->osz;                                                        \
	uint64_t r = alu_##name(c, sz, c->gpr[R_AX] & sz_mask[sz], i->imm & sz_mask[sz]); \
	if (WB) reg_set(c, R_AX, sz, r);                                        \
}                                                                               \
void op_##name##_EbIb(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	if (i->mod == 3) {                                                      \
		uint64_t r = alu_##name(c, SZ8, reg_get(c, i->rm, SZ8), i->imm & 0xff); \
		if (WB) reg_set(c, i->rm, SZ8, r);                              \
	} else {                                                                \
		name##_mem(c, i, SZ8, i->imm & 0xff);                           \
	}                                                                       \
}                                                                               \
void op_##name##_EvIz(struct cpu *c, const struct insn *i)                      \
{                                                                               \
	int sz = i->osz;                                                        \
	if (i->mod == 3) {                                                      \
		uint64_t r = alu_##name(c, sz, reg_get(c, i->rm, sz), i->imm & sz_mask[sz]); \
		if (WB) reg_set(c, i->rm, sz, r);                               \
	} else {                                                                \
		name##_mem(c, i, sz, i->imm & sz_mask[sz]);                     \
	}                                                                       \
}

/* Register-only forms with the size fixed at compile time. The r/m
 * operand is i->rm, the other i->reg (for GvEv the destination is i->reg). */
#define ALU_RSZ_HANDLERS(name, WB, SZ)                                          \
static void name##_EvGv_r##SZ(struct cpu *c, const struct insn *i)              \
{                                                                               \
	uint64_t r = alu_##name(c, SZ, reg_get(c, i->rm, SZ), reg_get(c, i->reg, SZ)); \
	if (WB) reg_set(c, i->rm, SZ, r);                                       \
}                                                                               \
static void name##_GvEv_r##SZ(struct cpu *c, const struct insn *i)              \
{                                                                               \
	uint64_t r = alu_##name(c, SZ, reg_get(c, i->reg, SZ), reg_get(c, i->rm, SZ)); \
	if (WB) reg_set(c, i->reg, SZ, r);                                      \
}                                                                               \
static void name##_EvIz_r##SZ(struct cpu *c, const struct insn *i)              \
{                                                                               \
	uint64_t r = alu_##name(c, SZ, reg_get(c, i->rm, SZ), i->imm & sz_mask[SZ]); \
	if (WB) reg_set(c, i->rm, SZ, r);                                       \
}

#define ALU_ALL(name, WB)                                                       \
	ALU_HANDLERS(name, WB)                                                  \
	ALU_RSZ_HANDLERS(name, WB, SZ16)                                        \
	ALU_RSZ_HANDLERS(name, WB, SZ32)                                        \
	ALU_RSZ_HANDLERS(name, WB, SZ64)                                        \
	const op_fn op_##name##_EvGv_rsz[4] = { NULL, name##_EvGv_rSZ16,        \
		name##_EvGv_rSZ32, name##_EvGv_rSZ64 };                         \
	const op_fn op_##name##_GvEv_rsz[4] = { NULL, name##_GvEv_rSZ16,        \
		name##_GvEv_rSZ32, name##_GvEv_rSZ64 };                         \
	const op_fn op_##name##_EvIz_rsz[4] = { NULL, name##_EvIz_rSZ16,        \
		name##_EvIz_rSZ32, name##_EvIz_rSZ64 };

ALU_ALL(add, 1)
ALU_ALL(or, 1)
ALU_ALL(adc, 1)
ALU_ALL(sbb, 1)
ALU_ALL(and, 1)
ALU_ALL(sub, 1)
ALU_ALL(xor, 1)
ALU_ALL(cmp, 0)
ALU_ALL(test, 0)

/* A read-modify-write of the r/m operand. The memory form lives in its
 * own function so that the register form, by far the commonest, compiles
 * to a handler that needs no stack frame. */
#define RMW_HANDLER(name, expr_of_v)                                    \
	static __attribute__((noinline)) void name##_mem(struct cpu *c, \
			const struct insn *i, int sz)                   \
	{                                                               \
		uint64_t a_ = ea(c, i);                                 \
		uint64_t v = mem_read(c, i->seg, a_, sz);               \
		mem_write(c, i->seg, a_, sz, (expr_of_v));              \
	}                                                               \
	void name(struct cpu *c, const struct insn *i)                  \
	{                                                               \
		int sz = i->osz;                                        \
		if (unlikely(i->mod != 3)) {                            \
			name##_mem(c, i, sz);                           \
			return;                                         \
		}                                                       \
		uint64_t v = reg_get(c, i->rm, sz);                     \
		reg_set(c, i->rm, sz, (expr_of_v));                     \
	}

/* NOT: no flags. NEG: flags as for 0 - v; CF = (v != 0) is the borrow. */
RMW_HANDLER(op_not, ~v)
RMW_HANDLER(op_neg, alu_sub(c, sz, 0, v))

/* INC/DEC keep CF (SDM vol. 2, INC): it is captured before the new op. */
static inline uint64_t do_inc(struct cpu *c, int sz, uint64_t v)
{
	unsigned cf = lf_cf(c);
	uint64_t r = (v + 1) & sz_mask[sz];
	lf_set(c, LF_INC, sz, r, v, 1);
	c->lf.cf = (uint8_t)cf;
	return r;
}

static inline uint64_t do_dec(struct cpu *c, int sz, uint64_t v)
{
	unsigned cf = lf_cf(c);
	uint64_t r = (v - 1) & sz_mask[sz];
	lf_set(c, LF_DEC, sz, r, v, 1);
	c->lf.cf = (uint8_t)cf;
	return r;
}

RMW_HANDLER(op_inc, do_inc(c, sz, v))
RMW_HANDLER(op_dec, do_dec(c, sz, v))

#define INCDEC_R(SZ)                                                    \
	static void inc_r##SZ(struct cpu *c, const struct insn *i)      \
	{                                                               \
		reg_set(c, i->rm, SZ, do_inc(c, SZ, reg_get(c, i->rm, SZ))); \
	}                                                               \
	static void dec_r##SZ(struct cpu *c, const struct insn *i)      \
	{                                                               \
		reg_set(c, i->rm, SZ, do_dec(c, SZ, reg_get(c, i->rm, SZ))); \
	}
INCDEC_R(SZ16)
INCDEC_R(SZ32)
INCDEC_R(SZ64)
const op_fn op_inc_rsz[4] = { NULL, inc_rSZ16, inc_rSZ32, inc_rSZ64 };
const op_fn op_dec_rsz[4] = { NULL, dec_rSZ16, dec_rSZ32, dec_rSZ64 };

/* 40+r / 48+r outside 64-bit mode. */
void op_inc_r(struct cpu *c, const struct insn *i)
{
	reg_set(c, i->reg, i->osz, do_inc(c, i->osz, reg_get(c, i->reg, i->osz)));
}

void op_dec_r(struct cpu *c, const struct insn *i)
{
	reg_set(c, i->reg, i->osz, do_dec(c, i->osz, reg_get(c, i->reg, i->osz)));
}
