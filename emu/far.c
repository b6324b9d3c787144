/* Far control transfers and privilege changes: JMP/CALL far (direct, to a
 * code segment or through a call gate), RET far, IRET, INT n / INT3 / INTO /
 * INT1, SYSCALL/SYSRET, SYSENTER/SYSEXIT (SDM vol. 2 for each, vol. 3A
 * 5.8 for gates). Task switches (a TSS or task gate as target, IRET with NT)
 * and virtual-8086 mode are not modelled: they raise #GP, and
 * docs/cpu-model.md says so. */
#include "emu/exec.h"
#include "emu/intr.h"
#include "emu/paging.h"
#include "emu/seg.h"
#include "emu/sysreg.h"

static bool long_mode(const struct cpu *c)
{
	return (c->efer & EFER_LMA) != 0;
}

/* Load CS:rIP in real mode: the selector is the base / 16. */
static void real_far(struct cpu *c, uint16_t sel, uint64_t ip, int osz)
{
	if (ip > c->seg[SEG_CS].limit)
		emu_raise(c, VEC_GP, 0);
	c->seg[SEG_CS].sel = sel;
	c->seg[SEG_CS].base = (uint64_t)sel << 4;
	jump(c, ip & sz_mask[osz]);
	emu_update_mode(c);
}

/* Checks on a code segment reached directly by JMP/CALL far (SDM vol. 2,
 * JMP: "IF segment type is code segment"). */
static void direct_code_checks(struct cpu *c, uint16_t sel, const struct desc *d)
{
	unsigned dpl = AR_DPL(d->ar), rpl = sel & 3;
	if (desc_is_conforming(d) ? dpl > c->cpl : (rpl > c->cpl || dpl != c->cpl))
		emu_raise(c, VEC_GP, sel & 0xfffc);
	if (!(d->ar & AR_P))
		emu_raise(c, VEC_NP, sel & 0xfffc);
	if (long_mode(c) && (d->ar & AR_L) && (d->ar & AR_DB))
		emu_raise(c, VEC_GP, sel & 0xfffc);
}

/* The offset must fit the target: canonical for 64-bit code, else within
 * the limit. */
static void target_ok(struct cpu *c, const struct desc *d, uint64_t ip)
{
	bool to64 = long_mode(c) && (d->ar & AR_L);
	if (to64 ? !canonical(ip) : ip > d->limit)
		emu_raise(c, VEC_GP, 0);
}

/* A call gate: its target selector and offset, and (legacy) the number
 * of parameters; in IA-32e mode gates are 16 bytes (SDM 5.8.3.1). */
struct gate {
	uint16_t sel;
	uint64_t off;
	unsigned params;
	bool is32;
};

static void read_gate(struct cpu *c, uint16_t gsel, const struct desc *g, uint64_t addr,
		      struct gate *out)
{
	unsigned type = AR_TYPE(g->ar);
	out->sel = (uint16_t)(g->raw >> 16);
	out->off = (g->raw & 0xffff) | ((g->raw >> 32) & 0xffff0000u);
	out->params = (g->raw >> 32) & 0x1f;
	out->is32 = type == 0xc;
	if (long_mode(c)) {
		uint64_t addr2;
		if (type != 0xc || !desc_locate(c, gsel, 16, &addr2))
			emu_raise(c, VEC_GP, gsel & 0xfffc);
		uint64_t hi = sys_read(c, addr + 8, 8);
		if ((hi >> 40) & 0x1f)
			emu_raise(c, VEC_GP, gsel & 0xfffc);
		out->off |= (hi & 0xffffffffu) << 32;
		out->params = 0;
	} else if (type == 4) {
		out->off &= 0xffff;
	}
}

/* JMP/CALL far through sel:ip (SDM vol. 2, CALL and JMP, protected mode). */
static void far_transfer(struct cpu *c, const struct insn *i, uint16_t sel, uint64_t ip,
			 bool call)
{
	int osz = i->osz;
	if (!(c->cr0 & CR0_PE)) {
		if (call) {
			push(c, osz, c->seg[SEG_CS].sel);
			push(c, osz, c->rip);
		}
		real_far(c, sel, ip, osz);
		return;
	}
	if ((sel & ~3u) == 0)
		emu_raise(c, VEC_GP, 0);
	struct desc d;
	uint64_t addr = desc_fetch_or(c, sel, &d, VEC_GP, 0);

	if (d.ar & AR_S) {
		if (!desc_is_code(&d))
			emu_raise(c, VEC_GP, sel & 0xfffc);
		direct_code_checks(c, sel, &d);
		ip &= long_mode(c) && (d.ar & AR_L) ? ~0ull : sz_mask[osz];
		target_ok(c, &d, ip);
		if (call) {
			push(c, osz, c->seg[SEG_CS].sel);
			push(c, osz, c->rip);
		}
		desc_set_accessed(c, &d, addr);
		load_cs(c, sel, &d, c->cpl);
		jump(c, ip);
		return;
	}

	unsigned type = AR_TYPE(d.ar);
	if (type != 4 && type != 0xc) {
		/* A TSS or task gate: a task switch. A VMX guest's exits (its
		 * hypervisor may emulate it); elsewhere it is not modelled. */
		if (c->vmx.nonroot && (type == 5 || type == 1 || type == 9))
			vmexit_on_task_switch(c, sel, call ? 0 : 2);
		emu_raise(c, VEC_GP, sel & 0xfffc);
	}
	if (AR_DPL(d.ar) < c->cpl || AR_DPL(d.ar) < (sel & 3u))
		emu_raise(c, VEC_GP, sel & 0xfffc);
	if (!(d.ar & AR_P))
		emu_raise(c, VEC_NP, sel & 0xfffc);
	struct gate g;
	read_gate(c, sel, &d, addr, &g);
	if ((g.sel & ~3u) == 0)
		emu_raise(c, VEC_GP, 0);
	struct desc cs;
	uint64_t csaddr = desc_fetch_or(c, g.sel, &cs, VEC_GP, 0);
	unsigned dpl = AR_DPL(cs.ar);
	if (!desc_is_code(&cs) || dpl > c->cpl)
		emu_raise(c, VEC_GP, g.sel & 0xfffc);
	if (!(cs.ar & AR_P))
		emu_raise(c, VEC_NP, g.sel & 0xfffc);
	if (long_mode(c) && (!(cs.ar & AR_L) || (cs.ar & AR_DB)))
		emu_raise(c, VEC_GP, g.sel & 0xfffc);
	target_ok(c, &cs, g.off);
	bool more = !desc_is_conforming(&cs) && dpl < c->cpl;
	if (!call && more)
		emu_raise(c, VEC_GP, g.sel & 0xfffc); /* JMP cannot change privilege */

	int gsz = long_mode(c) ? SZ64 : g.is32 ? SZ32 : SZ16;
	if (call && more) {
		/* To an inner ring: the new stack comes from the TSS, and the
		 * old SS:rSP (and any parameters) go onto it. */
		uint16_t oss = c->seg[SEG_SS].sel;
		uint64_t osp = c->gpr[R_SP];
		const struct seg *tr = &c->tr;
		uint64_t nsp;
		uint16_t nss;
		struct desc ssd = { 0 };
		if (long_mode(c)) {
			if (tr->limit < 4 + 8 * dpl + 7)
				emu_raise(c, VEC_TS, tr->sel & 0xfffc);
			nsp = sys_read(c, tr->base + 4 + 8 * dpl, 8);
			nss = (uint16_t)dpl;
			if (!canonical(nsp))
				emu_raise(c, VEC_SS, 0);
		} else {
			bool t16 = AR_TYPE(tr->ar) == 1 || AR_TYPE(tr->ar) == 3;
			uint64_t off = t16 ? 2 + 4 * dpl : 4 + 8 * dpl;
			if (off + (t16 ? 3 : 5) > tr->limit)
				emu_raise(c, VEC_TS, tr->sel & 0xfffc);
			nsp = sys_read(c, tr->base + off, t16 ? 2 : 4);
			nss = (uint16_t)sys_read(c, tr->base + off + (t16 ? 2 : 4), 2);
			if ((nss & ~3u) == 0)
				emu_raise(c, VEC_TS, 0);
			uint64_t a;
			if (!desc_locate(c, nss, 8, &a))
				emu_raise(c, VEC_TS, nss & 0xfffc);
			desc_decode(sys_read(c, a, 8), &ssd);
			if ((nss & 3) != dpl || AR_DPL(ssd.ar) != dpl || !(ssd.ar & AR_S) ||
			    (ssd.ar & 8) || !(ssd.ar & 2))
				emu_raise(c, VEC_TS, nss & 0xfffc);
			if (!(ssd.ar & AR_P))
				emu_raise(c, VEC_SS, nss & 0xfffc);
		}
		/* Read the parameters from the old stack, build the frame on
		 * the new one, and only then switch: a fault leaves the caller's
		 * state as it was. */
		uint64_t params[32];
		for (unsigned k = 0; k < g.params; k++)
			params[k] = mem_read(c, SEG_SS,
					     (osp + (uint64_t)k * (1u << gsz)) & sz_mask[c->stack_sz], gsz);
		struct stk s = long_mode(c)
			? (struct stk){ nss, 0, 0, 0, nsp, SZ64, false, 0 }
			: (struct stk){ nss, ssd.base, ssd.limit, ssd.ar, nsp,
					(ssd.ar & AR_DB) ? SZ32 : SZ16, false, 0 };
		stk_push(c, &s, gsz, oss);
		stk_push(c, &s, gsz, osp);
		for (unsigned k = g.params; k-- > 0;)
			stk_push(c, &s, gsz, params[k]);
		stk_push(c, &s, gsz, c->seg[SEG_CS].sel);
		stk_push(c, &s, gsz, c->rip);
		desc_set_accessed(c, &cs, csaddr);
		seg_set_ss(c, nss, long_mode(c) ? NULL : &ssd, dpl);
		load_cs(c, g.sel, &cs, dpl);
		c->gpr[R_SP] = s.spsz == SZ64 ? s.sp : (c->gpr[R_SP] & ~sz_mask[s.spsz]) | s.sp;
		tlb_update_ctx(c);
		jump(c, g.off);
		return;
	}
	if (call) {
		push(c, gsz, c->seg[SEG_CS].sel);
		push(c, gsz, c->rip);
	}
	desc_set_accessed(c, &cs, csaddr);
	load_cs(c, g.sel, &cs, c->cpl);
	jump(c, g.off);
}

/* EA / 9A: JMP/CALL ptr16:16/32 (not in 64-bit mode). The decoder put
 * the offset in imm and the selector in imm2. */
void op_jmp_far(struct cpu *c, const struct insn *i)
{
	far_transfer(c, i, i->imm2, i->imm, false);
}

void op_call_far(struct cpu *c, const struct insn *i)
{
	far_transfer(c, i, i->imm2, i->imm, true);
}

/* FF /3, FF /5: CALL/JMP m16:16/32/64. */
static void far_indirect(struct cpu *c, const struct insn *i, bool call)
{
	uint64_t a = ea(c, i);
	uint64_t ip = mem_read(c, i->seg, a, i->osz);
	uint16_t sel = (uint16_t)mem_read(c, i->seg, (a + (1u << i->osz)) & sz_mask[i->asz], SZ16);
	far_transfer(c, i, sel, ip, call);
}

void op_call_far_m(struct cpu *c, const struct insn *i) { far_indirect(c, i, true); }
void op_jmp_far_m(struct cpu *c, const struct insn *i) { far_indirect(c, i, false); }

/* After a return to an outer ring, data segment registers the new CPL may
 * not use become null (SDM vol. 2, RET: "FOR each of segment register"). */
static void drop_inaccessible_segments(struct cpu *c)
{
	static const int segs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
	for (unsigned k = 0; k < 4; k++) {
		struct seg *s = &c->seg[segs[k]];
		if (s->ar & AR_UNUSABLE)
			continue;
		bool code_conf = (s->ar & AR_S) && (s->ar & 8) && (s->ar & 4);
		if (!code_conf && AR_DPL(s->ar) < c->cpl)
			seg_set_null(c, segs[k], 0);
	}
}

/* The checks on a return CS (RET far and IRET, SDM vol. 2). */
static void return_cs(struct cpu *c, uint16_t sel, struct desc *d, uint64_t *addr)
{
	if ((sel & ~3u) == 0)
		emu_raise(c, VEC_GP, 0);
	*addr = desc_fetch_or(c, sel, d, VEC_GP, 0);
	unsigned rpl = sel & 3, dpl = AR_DPL(d->ar);
	if (!desc_is_code(d) || rpl < c->cpl ||
	    (desc_is_conforming(d) ? dpl > rpl : dpl != rpl))
		emu_raise(c, VEC_GP, sel & 0xfffc);
	if (!(d->ar & AR_P))
		emu_raise(c, VEC_NP, sel & 0xfffc);
	if (long_mode(c) && (d->ar & AR_L) && (d->ar & AR_DB))
		emu_raise(c, VEC_GP, sel & 0xfffc);
}

/* The stack segment for a return to an outer ring. */
static void return_ss(struct cpu *c, uint16_t ss, unsigned rpl, bool to64, struct desc *d,
		      bool *null)
{
	*null = false;
	if ((ss & ~3u) == 0) {
		/* Only a 64-bit return to ring 0-2 may load a null SS. */
		if (!(to64 && rpl != 3) || (ss & 3) != rpl)
			emu_raise(c, VEC_GP, 0);
		*null = true;
		return;
	}
	uint64_t a;
	if (!desc_locate(c, ss, 8, &a))
		emu_raise(c, VEC_GP, ss & 0xfffc);
	desc_decode(sys_read(c, a, 8), d);
	if ((ss & 3) != rpl || AR_DPL(d->ar) != rpl || !(d->ar & AR_S) || (d->ar & 8) ||
	    !(d->ar & 2))
		emu_raise(c, VEC_GP, ss & 0xfffc);
	if (!(d->ar & AR_P))
		emu_raise(c, VEC_SS, ss & 0xfffc);
	desc_set_accessed(c, d, a);
}

/* CB / CA iw: RET far. */
void op_retf(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	unsigned bytes = 1u << sz;
	uint64_t release = (i->op & 0xff) == 0xca ? i->imm : 0;
	uint64_t sp = sp_get(c);
	uint64_t ip = mem_read(c, SEG_SS, sp, sz);
	uint16_t sel = (uint16_t)mem_read(c, SEG_SS, (sp + bytes) & sz_mask[c->stack_sz], sz);
	if (!(c->cr0 & CR0_PE)) {
		sp_set(c, sp + 2 * bytes + release);
		real_far(c, sel, ip, sz);
		return;
	}
	struct desc d;
	uint64_t addr;
	return_cs(c, sel, &d, &addr);
	unsigned rpl = sel & 3;
	bool to64 = long_mode(c) && (d.ar & AR_L);
	if (!to64)
		ip &= sz_mask[sz];
	target_ok(c, &d, ip);
	if (rpl == c->cpl) {
		desc_set_accessed(c, &d, addr);
		load_cs(c, sel, &d, rpl);
		sp_set(c, sp + 2 * bytes + release);
		jump(c, ip);
		return;
	}
	/* Outer ring: SS:rSP follow the (released) parameters. */
	uint64_t p = (sp + 2 * bytes + release) & sz_mask[c->stack_sz];
	uint64_t nsp = mem_read(c, SEG_SS, p, sz);
	uint16_t nss = (uint16_t)mem_read(c, SEG_SS, (p + bytes) & sz_mask[c->stack_sz], sz);
	struct desc ssd;
	bool null_ss;
	return_ss(c, nss, rpl, to64, &ssd, &null_ss);
	desc_set_accessed(c, &d, addr);
	load_cs(c, sel, &d, rpl);
	seg_set_ss(c, nss, null_ss ? NULL : &ssd, rpl);
	emu_update_mode(c);
	tlb_update_ctx(c);
	sp_set(c, nsp + release);
	drop_inaccessible_segments(c);
	jump(c, ip);
}

/* The RFLAGS an IRET or POPF may load at this CPL (SDM vol. 2, IRET). */
static uint64_t iret_flags(const struct cpu *c, uint64_t cur, uint64_t v, int sz)
{
	uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID;
	if (c->cpl == 0)
		mask |= FL_IOPL | FL_IF | FL_VIF | FL_VIP;
	else if (c->cpl <= ((cur >> 12) & 3))
		mask |= FL_IF;
	if (sz == SZ16)
		mask &= 0xffff;
	return (cur & ~mask) | (v & mask);
}

/* CF: IRET / IRETD / IRETQ. */
void op_iret(struct cpu *c, const struct insn *i)
{
	int sz = i->osz;
	unsigned bytes = 1u << sz;
	uint64_t sp = sp_get(c), m = sz_mask[c->stack_sz];
	uint64_t ip = mem_read(c, SEG_SS, sp, sz);
	uint16_t sel = (uint16_t)mem_read(c, SEG_SS, (sp + bytes) & m, sz);
	uint64_t fl = mem_read(c, SEG_SS, (sp + 2 * bytes) & m, sz);
	uint64_t cur = emu_get_rflags(c);

	if (c->nmi_blocked) {
		/* IRET ends NMI blocking (SDM 6.7.1): a waiting NMI (or an
		 * open NMI window) is due at the next boundary */
		c->nmi_blocked = false;
		c->brk |= BRK_STOP;
	}
	if (!(c->cr0 & CR0_PE)) {
		uint64_t mask = sz == SZ16 ? 0xffff : 0x3f7fd5 & ~(uint64_t)(FL_VM | FL_VIP | FL_VIF);
		sp_set(c, sp + 3 * bytes);
		emu_set_rflags(c, (cur & ~mask) | (fl & mask));
		real_far(c, sel, ip, sz);
		c->brk |= BRK_STOP;
		return;
	}
	if (cur & FL_NT) {
		/* A task return, to the TSS's back link: not modelled (a VMX
		 * guest's exits). */
		if (c->vmx.nonroot)
			vmexit_on_task_switch(c, (uint16_t)sys_read(c, c->tr.base, 2), 1);
		emu_raise(c, VEC_GP, 0);
	}
	if ((fl & FL_VM) && c->cpl == 0 && !long_mode(c) && sz == SZ32)
		emu_raise(c, VEC_GP, 0); /* virtual-8086 mode is not modelled */

	struct desc d;
	uint64_t addr;
	return_cs(c, sel, &d, &addr);
	unsigned rpl = sel & 3;
	bool to64 = long_mode(c) && (d.ar & AR_L);
	if (!to64)
		ip &= sz_mask[sz];
	target_ok(c, &d, ip);
	uint64_t nfl = iret_flags(c, cur, fl, sz);

	/* IRETQ always pops SS:RSP; otherwise only on a return to an outer ring. */
	if (rpl == c->cpl && !(c->code_sz == SZ64)) {
		desc_set_accessed(c, &d, addr);
		load_cs(c, sel, &d, rpl);
		sp_set(c, sp + 3 * bytes);
		emu_set_rflags(c, nfl);
	} else {
		uint64_t nsp = mem_read(c, SEG_SS, (sp + 3 * bytes) & m, sz);
		uint16_t nss = (uint16_t)mem_read(c, SEG_SS, (sp + 4 * bytes) & m, sz);
		struct desc ssd;
		bool null_ss;
		return_ss(c, nss, rpl, to64, &ssd, &null_ss);
		desc_set_accessed(c, &d, addr);
		emu_set_rflags(c, nfl);
		bool outer = rpl > c->cpl;
		load_cs(c, sel, &d, rpl);
		seg_set_ss(c, nss, null_ss ? NULL : &ssd, rpl);
		emu_update_mode(c);
		sp_set(c, nsp);
		if (c->code_sz == SZ64)
			c->gpr[R_SP] = nsp;
		if (outer)
			drop_inaccessible_segments(c);
	}
	tlb_update_ctx(c);
	jump(c, ip);
	c->brk |= BRK_STOP; /* IF may be set now */
}

/* CD ib: INT n. RIP is already the next instruction (a trap). */
void op_int(struct cpu *c, const struct insn *i)
{
	if ((c->rflags & FL_VM))
		emu_raise(c, VEC_GP, 0);
	emu_deliver(c, (unsigned)(i->imm & 0xff), EV_SOFT_INT, false, 0);
}

void op_int3(struct cpu *c, const struct insn *i)
{
	(void)i;
	emu_deliver(c, VEC_BP, EV_SOFT_EXC, false, 0);
}

void op_into(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (lf_of(c))
		emu_deliver(c, VEC_OF, EV_SOFT_EXC, false, 0);
}

void op_int1(struct cpu *c, const struct insn *i)
{
	(void)i;
	emu_deliver(c, VEC_DB, EV_PRIV_SOFT, false, 0);
}

/* Flat segments as SYSCALL/SYSENTER and their returns load them, without
 * reading the GDT (SDM vol. 2, SYSCALL: "fixed values"). */
static void flat_cs(struct cpu *c, uint16_t sel, unsigned dpl, bool l64)
{
	struct seg *s = &c->seg[SEG_CS];
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->ar = 0xb | AR_S | (dpl << 5) | AR_P | AR_G | (l64 ? AR_L : AR_DB);
	c->cpl = (uint8_t)dpl;
}

static void flat_ss(struct cpu *c, uint16_t sel, unsigned dpl)
{
	struct seg *s = &c->seg[SEG_SS];
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->ar = 0x3 | AR_S | (dpl << 5) | AR_P | AR_G | AR_DB;
}

static void after_mode_change(struct cpu *c)
{
	emu_update_mode(c);
	tlb_update_ctx(c);
	c->brk |= BRK_STOP;
}

/* 0F 05: SYSCALL, in 64-bit mode with EFER.SCE (Intel: #UD elsewhere). */
void op_syscall(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (c->code_sz != SZ64 || !(c->efer & EFER_SCE))
		emu_raise_noerr(c, VEC_UD);
	uint16_t sel = (uint16_t)(c->msr.star >> 32);
	c->gpr[R_CX] = c->rip;
	c->gpr[R_R11] = emu_get_rflags(c) & ~(uint64_t)FL_RF;
	emu_set_rflags(c, c->gpr[R_R11] & ~c->msr.fmask & ~(uint64_t)FL_RF);
	flat_cs(c, sel & 0xfffc, 0, true);
	flat_ss(c, (uint16_t)(sel + 8), 0);
	jump(c, c->msr.lstar);
	after_mode_change(c);
}

/* 0F 07: SYSRET to 64-bit code (REX.W) or compatibility mode. */
void op_sysret(struct cpu *c, const struct insn *i)
{
	if (c->code_sz != SZ64 || !(c->efer & EFER_SCE))
		emu_raise_noerr(c, VEC_UD);
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
	bool to64 = i->osz == SZ64;
	uint64_t ip = to64 ? c->gpr[R_CX] : (uint32_t)c->gpr[R_CX];
	if (!canonical(ip))
		emu_raise(c, VEC_GP, 0);
	uint16_t sel = (uint16_t)(c->msr.star >> 48);
	emu_set_rflags(c, (c->gpr[R_R11] & 0x3c7fd7) | FL_1);
	flat_cs(c, (uint16_t)((to64 ? sel + 16 : sel) | 3), 3, to64);
	/* SS gets only its selector changed... and DPL 3 (SDM, SYSRET). */
	flat_ss(c, (uint16_t)((sel + 8) | 3), 3);
	jump(c, ip);
	after_mode_change(c);
}

/* 0F 34: SYSENTER (protected mode, IA32_SYSENTER_CS not null). */
void op_sysenter(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (!(c->cr0 & CR0_PE) || (c->msr.sysenter_cs & 0xfffc) == 0)
		emu_raise(c, VEC_GP, 0);
	uint16_t sel = (uint16_t)c->msr.sysenter_cs & 0xfffc;
	bool lm = long_mode(c);
	emu_set_rflags(c, emu_get_rflags(c) & ~(uint64_t)(FL_VM | FL_IF | FL_RF));
	flat_cs(c, sel, 0, lm);
	flat_ss(c, (uint16_t)(sel + 8), 0);
	c->gpr[R_SP] = lm ? c->msr.sysenter_esp : (uint32_t)c->msr.sysenter_esp;
	jump(c, lm ? c->msr.sysenter_eip : (uint32_t)c->msr.sysenter_eip);
	after_mode_change(c);
}

/* 0F 35: SYSEXIT to 32-bit (no REX.W) or 64-bit (REX.W) code at ring 3. */
void op_sysexit(struct cpu *c, const struct insn *i)
{
	if (!(c->cr0 & CR0_PE) || c->cpl != 0 || (c->msr.sysenter_cs & 0xfffc) == 0)
		emu_raise(c, VEC_GP, 0);
	bool to64 = i->osz == SZ64;
	uint16_t base = (uint16_t)c->msr.sysenter_cs;
	uint64_t ip = to64 ? c->gpr[R_DX] : (uint32_t)c->gpr[R_DX];
	uint64_t sp = to64 ? c->gpr[R_CX] : (uint32_t)c->gpr[R_CX];
	if (to64 && (!canonical(ip) || !canonical(sp)))
		emu_raise(c, VEC_GP, 0);
	flat_cs(c, (uint16_t)((base + (to64 ? 32 : 16)) | 3), 3, to64);
	flat_ss(c, (uint16_t)((base + (to64 ? 40 : 24)) | 3), 3);
	c->gpr[R_SP] = sp;
	jump(c, ip);
	after_mode_change(c);
}
