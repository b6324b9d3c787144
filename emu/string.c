/* String instructions: MOVS CMPS SCAS LODS STOS INS OUTS, with REP, REPE
 * and REPNE. The source is seg:rSI (DS unless overridden), the destination
 * ES:rDI (never overridden); rSI, rDI, rCX are as wide as the address size.
 *
 * A repeated instruction runs at most REP_CHUNK iterations per step and
 * then restarts itself (RIP back on the instruction) until rCX is 0, so a
 * huge count cannot hold the run loop past its budget, and a fault in the
 * middle leaves registers describing the iterations done, as on hardware
 * (SDM vol. 2, REP: the instruction is restartable). */
#include "emu/exec.h"
#include "emu/io.h"

#define REP_CHUNK 4096

static inline int64_t step_of(const struct cpu *c, int sz)
{
	return (c->rflags & FL_DF) ? -(1 << sz) : (1 << sz);
}

static inline void adv(struct cpu *c, int r, int asz, int64_t d)
{
	reg_set(c, r, asz, c->gpr[r] + (uint64_t)d);
}

/* The string loop. body() does one iteration and returns false when a
 * REPE/REPNE condition ends the loop. */
#define STRING_LOOP(c, i, cond_rep, body)                                     \
	do {                                                                  \
		int asz_ = (i)->asz;                                          \
		if (!(i)->rep) {                                              \
			body;                                                 \
			break;                                                \
		}                                                             \
		for (unsigned n_ = 0;; n_++) {                                \
			if ((c->gpr[R_CX] & sz_mask[asz_]) == 0)              \
				break;                                        \
			if (n_ == REP_CHUNK) {                                \
				jump(c, c->rip - (i)->len); /* go on later */\
				break;                                        \
			}                                                     \
			body;                                                 \
			adv(c, R_CX, asz_, -1);                               \
			if ((cond_rep) && !rep_continues(c, i))               \
				break;                                        \
		}                                                             \
	} while (0)

/* REPE (F3) stops when ZF = 0, REPNE (F2) when ZF = 1. */
static inline bool rep_continues(const struct cpu *c, const struct insn *i)
{
	return i->rep == REP_F3 ? lf_zf(c) : !lf_zf(c);
}

void op_movs(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	int64_t d = step_of(c, sz);
	STRING_LOOP(c, i, 0, ({
		uint64_t v = mem_read(c, i->seg, c->gpr[R_SI] & sz_mask[asz_], sz);
		mem_write(c, SEG_ES, c->gpr[R_DI] & sz_mask[asz_], sz, v);
		adv(c, R_SI, asz_, d);
		adv(c, R_DI, asz_, d);
	}));
}

void op_stos(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	int64_t d = step_of(c, sz);
	STRING_LOOP(c, i, 0, ({
		mem_write(c, SEG_ES, c->gpr[R_DI] & sz_mask[asz_], sz, c->gpr[R_AX]);
		adv(c, R_DI, asz_, d);
	}));
}

void op_lods(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	int64_t d = step_of(c, sz);
	STRING_LOOP(c, i, 0, ({
		reg_set(c, R_AX, sz, mem_read(c, i->seg, c->gpr[R_SI] & sz_mask[asz_], sz));
		adv(c, R_SI, asz_, d);
	}));
}

/* CMPS compares [rSI] - [rDI]; SCAS compares rAX - [rDI]. */
void op_cmps(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	int64_t d = step_of(c, sz);
	STRING_LOOP(c, i, 1, ({
		uint64_t a = mem_read(c, i->seg, c->gpr[R_SI] & sz_mask[asz_], sz);
		uint64_t b = mem_read(c, SEG_ES, c->gpr[R_DI] & sz_mask[asz_], sz);
		lf_set(c, LF_SUB, sz, (a - b) & sz_mask[sz], a, b);
		adv(c, R_SI, asz_, d);
		adv(c, R_DI, asz_, d);
	}));
}

void op_scas(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	int64_t d = step_of(c, sz);
	STRING_LOOP(c, i, 1, ({
		uint64_t a = reg_get(c, R_AX, sz);
		uint64_t b = mem_read(c, SEG_ES, c->gpr[R_DI] & sz_mask[asz_], sz);
		lf_set(c, LF_SUB, sz, (a - b) & sz_mask[sz], a, b);
		adv(c, R_DI, asz_, d);
	}));
}

/* INS: port DX to ES:rDI; OUTS: seg:rSI to port DX. The I/O permission
 * check happens once, before the first iteration (SDM vol. 2, INS). */
void op_ins(struct cpu *c, const struct insn *i)
{
	int sz = i->osz == SZ64 ? SZ32 : i->osz;
	int64_t d = step_of(c, sz);
	uint16_t port = (uint16_t)c->gpr[R_DX];
	io_check(c, port, 1 << sz);
	if (c->vmx.nonroot)
		vmexit_on_io(c, i, port, 1u << sz, true);
	STRING_LOOP(c, i, 0, ({
		uint64_t off = c->gpr[R_DI] & sz_mask[asz_];
		/* The destination is checked before the port is read. */
		seg_linear(c, SEG_ES, off, 1 << sz, ACC_WRITE);
		mem_write(c, SEG_ES, off, sz, io_in(c, port, 1 << sz));
		adv(c, R_DI, asz_, d);
	}));
}

void op_outs(struct cpu *c, const struct insn *i)
{
	int sz = i->osz == SZ64 ? SZ32 : i->osz;
	int64_t d = step_of(c, sz);
	uint16_t port = (uint16_t)c->gpr[R_DX];
	io_check(c, port, 1 << sz);
	if (c->vmx.nonroot)
		vmexit_on_io(c, i, port, 1u << sz, false);
	STRING_LOOP(c, i, 0, ({
		uint64_t v = mem_read(c, i->seg, c->gpr[R_SI] & sz_mask[asz_], sz);
		io_out(c, port, 1 << sz, (uint32_t)v);
		adv(c, R_SI, asz_, d);
	}));
}
