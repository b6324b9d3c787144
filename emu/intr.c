/* Exception and interrupt delivery (SDM vol. 3A, chapter 6): the IVT in
 * real mode, 16/32-bit interrupt and trap gates in protected mode, 64-bit
 * gates with the IST in IA-32e mode; the double-fault rules; taking
 * external interrupts and NMIs. Task gates (hardware task switching) are
 * not modelled: delivery through one raises #GP with the IDT error code
 * (docs/cpu-model.md). */
#include "emu/event.h"
#include "emu/flags.h"
#include "emu/intr.h"
#include "emu/mem.h"
#include "emu/seg.h"
#include "emu/vtime.h"

/* An error code naming IDT entry v (SDM vol. 3A, 6.13). */
#define IDT_ERR(v, ext) (((uint32_t)(v) << 3) | 2u | (ext))

static struct stk current_stack(const struct cpu *c, uint32_t ext)
{
	const struct seg *ss = &c->seg[SEG_SS];
	return (struct stk){ ss->sel, ss->base, ss->limit, ss->ar, c->gpr[R_SP],
			     c->stack_sz, c->cpl == 3, ext };
}

static void clear_flags_on_delivery(struct cpu *c, bool int_gate)
{
	uint64_t f = emu_get_rflags(c) & ~(uint64_t)(FL_TF | FL_NT | FL_RF | FL_VM);
	if (int_gate)
		f &= ~(uint64_t)FL_IF;
	emu_set_rflags(c, f);
}

/* Real mode: the IVT holds segment:offset pairs (SDM vol. 3A, 20.1.4). */
static void deliver_real(struct cpu *c, unsigned v)
{
	if (v * 4 + 3 > c->idtr.limit)
		emu_raise(c, VEC_GP, 0);
	uint64_t ent = sys_read(c, c->idtr.base + v * 4, 4);
	struct stk s = current_stack(c, 0);
	uint64_t flags = emu_get_rflags(c);
	stk_push(c, &s, SZ16, flags);
	stk_push(c, &s, SZ16, c->seg[SEG_CS].sel);
	stk_push(c, &s, SZ16, c->rip);
	c->gpr[R_SP] = (c->gpr[R_SP] & ~sz_mask[s.spsz]) | s.sp;
	emu_set_rflags(c, flags & ~(uint64_t)(FL_IF | FL_TF | FL_AC | FL_RF));
	c->seg[SEG_CS].sel = (uint16_t)(ent >> 16);
	c->seg[SEG_CS].base = (ent >> 16) << 4;
	c->rip = ent & 0xffff;
	emu_update_mode(c);
}

/* The target code segment of a gate, with its checks (SDM 6.12.1.1). */
static void gate_target(struct cpu *c, uint16_t sel, uint32_t ext, struct desc *cs)
{
	if ((sel & ~3u) == 0)
		emu_raise(c, VEC_GP, ext);
	desc_fetch_or(c, sel, cs, VEC_GP, ext);
	if (!desc_is_code(cs) || AR_DPL(cs->ar) > c->cpl)
		emu_raise(c, VEC_GP, (sel & 0xfffc) | ext);
	if (!(cs->ar & AR_P))
		emu_raise(c, VEC_NP, (sel & 0xfffc) | ext);
}

/* The ring-n stack from the TSS, for a privilege change. */
static void tss_stack(struct cpu *c, unsigned dpl, uint32_t ext, uint16_t *ss, uint64_t *sp,
		      bool lm, unsigned ist)
{
	const struct seg *tr = &c->tr;
	unsigned type = AR_TYPE(tr->ar);
	uint64_t off;
	int bytes;
	if (lm) {
		off = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * dpl;
		bytes = 8;
	} else if (type == 1 || type == 3) {
		off = 2 + 4 * dpl; /* 16-bit TSS */
		bytes = 2;
	} else {
		off = 4 + 8 * dpl;
		bytes = 4;
	}
	if ((tr->ar & AR_UNUSABLE) || off + bytes + (lm ? 0 : bytes) - 1 > tr->limit)
		emu_raise(c, VEC_TS, (tr->sel & 0xfffc) | ext);
	*sp = sys_read(c, tr->base + off, bytes);
	*ss = lm ? 0 : (uint16_t)sys_read(c, tr->base + off + bytes, 2);
}

/* The new stack segment for a privilege change in legacy protected mode
 * (SDM 6.12.1.2: the #TS and #SS checks). */
static void new_ss(struct cpu *c, uint16_t ss, unsigned dpl, uint32_t ext, struct desc *d)
{
	if ((ss & ~3u) == 0)
		emu_raise(c, VEC_TS, ext);
	uint64_t addr;
	if (!desc_locate(c, ss, 8, &addr))
		emu_raise(c, VEC_TS, (ss & 0xfffc) | ext);
	desc_decode(sys_read(c, addr, 8), d);
	if ((ss & 3) != dpl || AR_DPL(d->ar) != dpl || !(d->ar & AR_S) ||
	    (d->ar & 8) || !(d->ar & 2))
		emu_raise(c, VEC_TS, (ss & 0xfffc) | ext);
	if (!(d->ar & AR_P))
		emu_raise(c, VEC_SS, (ss & 0xfffc) | ext);
	desc_set_accessed(c, d, addr);
}

static void deliver_protected(struct cpu *c, unsigned v, enum event_kind kind,
			      bool has_error, uint32_t error, uint32_t ext)
{
	bool lm = c->efer & EFER_LMA;
	unsigned esz = lm ? 16 : 8;
	if (v * esz + esz - 1 > c->idtr.limit)
		emu_raise(c, VEC_GP, IDT_ERR(v, ext));
	uint64_t lo = sys_read(c, c->idtr.base + v * esz, 8);
	uint64_t hi = lm ? sys_read(c, c->idtr.base + v * esz + 8, 8) : 0;
	unsigned type = (lo >> 40) & 0x1f, gdpl = (lo >> 45) & 3;
	bool ok = lm ? (type == 0xe || type == 0xf) && !((hi >> 40) & 0x1f)
		     : (type == 0x6 || type == 0x7 || type == 0xe || type == 0xf || type == 0x5);
	if (!ok)
		emu_raise(c, VEC_GP, IDT_ERR(v, ext));
	if ((kind == EV_SOFT_INT || kind == EV_SOFT_EXC) && gdpl < c->cpl)
		emu_raise(c, VEC_GP, IDT_ERR(v, 0));
	if (!((lo >> 47) & 1))
		emu_raise(c, VEC_NP, IDT_ERR(v, ext));
	if (type == 0x5) {
		/* A task gate: not modelled (a VMX guest's task switch exits) */
		if (c->vmx.nonroot)
			vmexit_on_task_switch(c, (uint16_t)(lo >> 16), 3);
		emu_raise(c, VEC_GP, IDT_ERR(v, ext));
	}

	bool int_gate = (type & 1) == 0;
	int gsz = lm ? SZ64 : (type & 8) ? SZ32 : SZ16;
	uint16_t sel = (uint16_t)(lo >> 16);
	uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000u);
	if (lm)
		target |= (hi & 0xffffffffu) << 32;
	struct desc cs;
	gate_target(c, sel, ext, &cs);
	unsigned dpl = AR_DPL(cs.ar);
	bool outer = !desc_is_conforming(&cs) && dpl < c->cpl;
	unsigned newcpl = outer ? dpl : c->cpl;

	if (lm && (!(cs.ar & AR_L) || (cs.ar & AR_DB)))
		emu_raise(c, VEC_GP, (sel & 0xfffc) | ext);
	if (lm ? !canonical(target) : target > cs.limit)
		emu_raise(c, VEC_GP, ext);

	uint64_t flags = emu_get_rflags(c);
	struct seg old_ss = c->seg[SEG_SS];
	uint64_t old_sp = c->gpr[R_SP];
	struct stk s = current_stack(c, ext);
	struct desc ssd = { 0 };
	uint16_t nss = 0;
	unsigned ist = lm ? (lo >> 32) & 7 : 0;
	if (lm) {
		/* IA-32e delivery always uses the 64-bit RSP, even from
		 * compatibility mode. */
		s.spsz = SZ64;
		s.base = 0;
	}

	if (outer || (lm && ist)) {
		uint64_t nsp = 0;
		if (outer)
			tss_stack(c, dpl, ext, &nss, &nsp, lm, 0);
		if (lm && ist)
			tss_stack(c, dpl, ext, &nss, &nsp, lm, ist);
		if (lm) {
			s = (struct stk){ outer ? (uint16_t)newcpl : old_ss.sel, 0, 0, 0,
					  nsp, SZ64, false, ext };
		} else {
			new_ss(c, nss, dpl, ext, &ssd);
			s = (struct stk){ nss, ssd.base, ssd.limit, ssd.ar, nsp,
					  (ssd.ar & AR_DB) ? SZ32 : SZ16, false, ext };
		}
	}
	if (lm)
		s.sp &= ~15ull; /* 64-bit delivery aligns the stack (SDM 6.14.2) */

	if (lm || outer) {
		stk_push(c, &s, gsz, old_ss.sel);
		stk_push(c, &s, gsz, old_sp);
	}
	stk_push(c, &s, gsz, flags);
	stk_push(c, &s, gsz, c->seg[SEG_CS].sel);
	stk_push(c, &s, gsz, c->rip);
	if (has_error)
		stk_push(c, &s, gsz, error);

	/* Commit: nothing below can fault. */
	if (outer)
		seg_set_ss(c, lm ? (uint16_t)newcpl : nss, lm ? NULL : &ssd, newcpl);
	load_cs(c, sel, &cs, newcpl);
	if (lm || outer || s.spsz == SZ64)
		c->gpr[R_SP] = s.sp;
	else
		c->gpr[R_SP] = (c->gpr[R_SP] & ~sz_mask[s.spsz]) | s.sp;
	c->rip = gsz == SZ16 ? target & 0xffff : target;
	clear_flags_on_delivery(c, int_gate);
	emu_update_mode(c);
	tlb_update_ctx(c);
}

void emu_debug_status(struct cpu *c)
{
	c->dr[6] |= c->db_bits;
	if (c->db_bits & (1u << 13))
		c->dr[7] &= ~(1ull << 13); /* general detect clears GD (17.2.4) */
	c->db_bits = 0;
}

void emu_deliver(struct cpu *c, unsigned vector, enum event_kind kind,
		 bool has_error, uint32_t error)
{
	uint32_t ext = (kind == EV_SOFT_INT || kind == EV_SOFT_EXC) ? 0 : 1;
	/* In a VMX guest an exception may exit instead (the exception
	 * bitmap); an event VM entry injects may not. */
	bool injected = c->vmx.injecting;
	c->vmx.injecting = false;
	if (unlikely(c->vmx.nonroot) && !injected &&
	    (kind == EV_FAULT || kind == EV_SOFT_EXC || kind == EV_PRIV_SOFT))
		vmexit_on_exception(c, vector, kind, has_error, error);
	c->was_delivering = false;
	if (vector == VEC_PF && kind == EV_FAULT)
		c->cr2 = c->pf_lin; /* the #PF is delivered: now CR2 changes */
	if (vector == VEC_DB && kind == EV_FAULT)
		emu_debug_status(c);
	struct event e;
	if (kind == EV_EXTERNAL || kind == EV_NMI) {
		e.type = EVT_INTERRUPT;
		e.u.irq.vector = (uint8_t)vector;
		e.u.irq.nmi = kind == EV_NMI;
	} else {
		c->last_delivered = (struct exc){ (uint8_t)vector, has_error && kind == EV_FAULT,
						  error, c->rip };
		c->last_delivered_icount = c->icount;
		e.type = EVT_EXCEPTION;
		e.u.exc.vector = (uint8_t)vector;
		e.u.exc.has_error = has_error && kind == EV_FAULT;
		e.u.exc.error = error;
		e.u.exc.software = kind != EV_FAULT;
		e.u.exc.cr2 = c->cr2;
	}
	evt_emit(c, &e);
	c->in_delivery = true;
	c->delivering = (uint8_t)vector;
	c->deliver_ext = (uint8_t)ext;
	c->deliver_kind = (uint8_t)kind;
	c->deliver_has_err = has_error && kind == EV_FAULT;
	c->deliver_err = error;
	c->stats.events++;
	if (c->cr0 & CR0_PE)
		deliver_protected(c, vector, kind, has_error && kind == EV_FAULT, error, ext);
	else
		deliver_real(c, vector);
	c->in_delivery = false;
	c->halted = false;
	c->jc_gen++; /* CS may have changed */
	c->brk |= BRK_JUMP;
	/* Under a VMX monitor trap flag, an event delivered through the
	 * guest's IDT (a fault, an interrupt, a pending #DB) is followed by
	 * the MTF VM exit, before the handler's first instruction (SDM vol.
	 * 3C, 25.5.2). icount >= 1 here: VMLAUNCH or VMRESUME has retired. */
	if (unlikely(c->vmx.mtf))
		c->vmx.mtf_after = c->icount - 1;
}

/* Exception classes for the double-fault rules (SDM vol. 3A, table 6-4). */
static bool contributory(unsigned v)
{
	return v == VEC_DE || v == VEC_TS || v == VEC_NP || v == VEC_SS || v == VEC_GP;
}

bool emu_handle_exception(struct cpu *c)
{
	unsigned v = c->exc.vector;
	bool has_err = c->exc.has_error;
	uint32_t err = c->exc.error;

	c->was_delivering = c->in_delivery;
	/* In a VMX guest, the exception bitmap sees the second exception
	 * before any #DF combination: it exits with the first event in the
	 * IDT-vectoring information (27.2.4). */
	if (c->in_delivery && c->vmx.nonroot)
		vmexit_on_exception(c, v, EV_FAULT, has_err, err);
	if (c->in_delivery) {
		unsigned first = c->delivering;
		c->in_delivery = false;
		if (first == VEC_DF) {
			if (c->vmx.nonroot)
				vmexit_on_triple_fault(c);
			c->triple = true; /* shutdown (SDM 6.15, interrupt 8) */
			return false;
		}
		if ((contributory(first) && contributory(v)) ||
		    (first == VEC_PF && (contributory(v) || v == VEC_PF))) {
			v = VEC_DF;
			has_err = true;
			err = 0;
		}
		/* Otherwise the second exception is handled serially. */
	} else {
		c->first_exc = c->exc;
	}
	emu_deliver(c, v, EV_FAULT, has_err, err);
	return true;
}

bool emu_take_interrupt(struct cpu *c)
{
	const struct intc_ops *ic = c->intc;
	/* Wait-for-SIPI blocks INIT, NMIs, external interrupts and their
	 * VM exits, and the preemption timer does not exit (25.2, 25.5.1). */
	if (unlikely(c->wait_sipi))
		return false;
	if (unlikely(c->init_pending)) {
		/* INIT: a VM exit in VMX non-root operation, blocked in VMX
		 * root operation (until VMXOFF); otherwise the processor
		 * resets to its INIT state (SDM vol. 3A, 9.1), and with no
		 * firmware at the reset vector the run ends there. */
		if (c->vmx.nonroot)
			vmexit_on_init(c);
		else if (!c->vmx.on)
			c->init_reset = true;
	}
	if (unlikely(c->vmx.nonroot))
		vmexit_on_interrupt(c); /* interrupt window, NMI and interrupt exiting */
	bool shadow = c->icount < c->shadow_until;
	bool nmi = c->nmi_pending || (ic && ic->nmi_pending(c));
	if (nmi && !c->nmi_blocked && !shadow) {
		if (c->nmi_pending)
			c->nmi_pending = false;
		else
			ic->nmi_ack(c);
		c->nmi_blocked = true; /* until the next IRET */
		emu_deliver(c, VEC_NMI, EV_NMI, false, 0);
		return true;
	}
	if (!(c->rflags & FL_IF) || shadow || !ic || ic->pending(c) < 0)
		return false;
	emu_deliver(c, ic->ack(c), EV_EXTERNAL, false, 0);
	return true;
}

bool emu_interrupt_possible(struct cpu *c)
{
	const struct intc_ops *ic = c->intc;
	if (c->nmi_pending || (ic && ic->nmi_pending(c)))
		return true;
	if (c->vmx.nonroot && vmx_wakeup_possible(c))
		return true;
	return (c->rflags & FL_IF) && ic && ic->pending(c) >= 0;
}
