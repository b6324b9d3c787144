/* Descriptor-table instructions: LGDT LIDT SGDT SIDT LLDT SLDT LTR STR LAR
 * LSL VERR VERW ARPL (SDM vol. 2 and vol. 3A chapter 3 and 7). */
#include "emu/exec.h"
#include "emu/paging.h"
#include "emu/seg.h"

static void need_cpl0(struct cpu *c)
{
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
}

static void need_protected(struct cpu *c)
{
	if (!(c->cr0 & CR0_PE))
		emu_raise_noerr(c, VEC_UD);
}

/* SGDT/SIDT/SLDT/STR/SMSW above CPL 0 with CR4.UMIP: #GP(0). */
static void umip_check(struct cpu *c)
{
	if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
		emu_raise(c, VEC_GP, 0);
}

/* The pseudo-descriptor: a 16-bit limit and a base of 24 (16-bit operand
 * size), 32 or (64-bit mode) 64 bits. */
static void load_dtr(struct cpu *c, const struct insn *i, struct dtr *d)
{
	need_cpl0(c);
	if (c->vmx.nonroot)
		vmexit_on_desc_table(c, i, false, (i->modrm >> 3) & 3);
	uint64_t a = ea(c, i);
	uint16_t limit = (uint16_t)mem_read(c, i->seg, a, SZ16);
	uint64_t base;
	a = (a + 2) & sz_mask[i->asz];
	if (c->code_sz == SZ64) {
		base = mem_read(c, i->seg, a, SZ64);
		if (!canonical(base))
			emu_raise(c, VEC_GP, 0);
	} else {
		base = mem_read(c, i->seg, a, SZ32);
		if (i->osz == SZ16)
			base &= 0xffffff;
	}
	d->limit = limit;
	d->base = base;
}

static void store_dtr(struct cpu *c, const struct insn *i, const struct dtr *d)
{
	umip_check(c);
	if (c->vmx.nonroot)
		vmexit_on_desc_table(c, i, false, (i->modrm >> 3) & 3);
	uint64_t a = ea(c, i);
	mem_write(c, i->seg, a, SZ16, d->limit);
	a = (a + 2) & sz_mask[i->asz];
	if (c->code_sz == SZ64)
		mem_write(c, i->seg, a, SZ64, d->base);
	else
		mem_write(c, i->seg, a, SZ32, i->osz == SZ16 ? d->base & 0xffffff : d->base);
}

void op_sgdt(struct cpu *c, const struct insn *i) { store_dtr(c, i, &c->gdtr); }
void op_sidt(struct cpu *c, const struct insn *i) { store_dtr(c, i, &c->idtr); }
void op_lgdt(struct cpu *c, const struct insn *i) { load_dtr(c, i, &c->gdtr); }
void op_lidt(struct cpu *c, const struct insn *i) { load_dtr(c, i, &c->idtr); }

/* SLDT/STR: a register gets the selector zero-extended; memory 16 bits. */
static void store_sel(struct cpu *c, const struct insn *i, uint16_t sel)
{
	need_protected(c);
	umip_check(c);
	if (c->vmx.nonroot)
		vmexit_on_desc_table(c, i, true, (i->modrm >> 3) & 3);
	if (i->mod == 3)
		reg_set(c, i->rm, i->osz, sel);
	else
		mem_write(c, i->seg, ea(c, i), SZ16, sel);
}

void op_sldt(struct cpu *c, const struct insn *i) { store_sel(c, i, c->ldtr.sel); }
void op_str(struct cpu *c, const struct insn *i) { store_sel(c, i, c->tr.sel); }

/* A system descriptor: 8 bytes, or 16 in IA-32e mode whose upper half
 * holds base[63:32] and must have a zero type field (SDM 7.2.3). */
static uint64_t sys_desc(struct cpu *c, uint16_t sel, struct desc *d)
{
	uint64_t addr;
	bool lm = c->efer & EFER_LMA;
	if ((sel & 4) || !desc_locate(c, sel, lm ? 16 : 8, &addr))
		emu_raise(c, VEC_GP, sel & 0xfffc);
	desc_decode(sys_read(c, addr, 8), d);
	if (lm) {
		uint64_t hi = sys_read(c, addr + 8, 8);
		if ((hi >> 40) & 0x1f)
			emu_raise(c, VEC_GP, sel & 0xfffc);
		d->base |= (hi & 0xffffffffu) << 32;
	}
	return addr;
}

void op_lldt(struct cpu *c, const struct insn *i)
{
	need_protected(c);
	need_cpl0(c);
	if (c->vmx.nonroot)
		vmexit_on_desc_table(c, i, true, (i->modrm >> 3) & 3);
	uint16_t sel = (uint16_t)rm_read(c, i, SZ16);
	if ((sel & ~3u) == 0) {
		c->ldtr.sel = sel;
		c->ldtr.ar = AR_UNUSABLE;
		return;
	}
	struct desc d;
	sys_desc(c, sel, &d);
	if ((d.ar & AR_S) || AR_TYPE(d.ar) != 2)
		emu_raise(c, VEC_GP, sel & 0xfffc);
	if (!(d.ar & AR_P))
		emu_raise(c, VEC_NP, sel & 0xfffc);
	c->ldtr = (struct seg){ sel, d.base, d.limit, d.ar };
}

/* LTR: an available TSS (16-bit only outside IA-32e mode), marked busy. */
void op_ltr(struct cpu *c, const struct insn *i)
{
	need_protected(c);
	need_cpl0(c);
	if (c->vmx.nonroot)
		vmexit_on_desc_table(c, i, true, (i->modrm >> 3) & 3);
	uint16_t sel = (uint16_t)rm_read(c, i, SZ16);
	if ((sel & ~3u) == 0)
		emu_raise(c, VEC_GP, 0);
	struct desc d;
	uint64_t addr = sys_desc(c, sel, &d);
	unsigned type = AR_TYPE(d.ar);
	bool lm = c->efer & EFER_LMA;
	if ((d.ar & AR_S) || !(type == 9 || (type == 1 && !lm)))
		emu_raise(c, VEC_GP, sel & 0xfffc);
	if (!(d.ar & AR_P))
		emu_raise(c, VEC_NP, sel & 0xfffc);
	sys_write(c, addr + 5, 1, ((d.raw >> 40) & 0xff) | 2); /* busy */
	c->tr = (struct seg){ sel, d.base, d.limit, d.ar | 2 };
}

/* Whether a descriptor is visible to LAR/LSL/VERR/VERW at this CPL and the
 * selector's RPL: DPL >= max(CPL, RPL), except conforming code. */
static bool visible(const struct cpu *c, uint16_t sel, const struct desc *d)
{
	if (desc_is_conforming(d))
		return true;
	unsigned dpl = AR_DPL(d->ar);
	return dpl >= c->cpl && dpl >= (sel & 3u);
}

/* Read the descriptor for a LAR/LSL/VERR/VERW selector; false (ZF = 0)
 * when it is null or outside its table. */
static bool probe(struct cpu *c, uint16_t sel, struct desc *d)
{
	uint64_t addr;
	if ((sel & ~3u) == 0 || !desc_locate(c, sel, 8, &addr))
		return false;
	desc_decode(sys_read(c, addr, 8), d);
	return true;
}

/* System types LAR accepts (SDM vol. 2, LAR, table 3-52 and 3-53). */
static bool lar_type_ok(const struct cpu *c, const struct desc *d, bool lsl)
{
	if (d->ar & AR_S)
		return true;
	unsigned t = AR_TYPE(d->ar);
	if (c->efer & EFER_LMA)
		return t == 2 || t == 9 || t == 11 || (!lsl && t == 12);
	if (lsl)
		return t == 1 || t == 2 || t == 3 || t == 9 || t == 11;
	return t == 1 || t == 2 || t == 3 || t == 4 || t == 5 || t == 9 || t == 11 ||
	       t == 12;
}

static void lar_lsl(struct cpu *c, const struct insn *i, bool lsl)
{
	need_protected(c);
	uint16_t sel = (uint16_t)rm_read(c, i, SZ16);
	struct desc d;
	if (!probe(c, sel, &d) || !lar_type_ok(c, &d, lsl) || !visible(c, sel, &d)) {
		flags_set(c, FL_ZF, 0);
		return;
	}
	uint64_t v = lsl ? d.limit : (d.raw >> 32) & 0x00f0ff00u;
	reg_set(c, i->reg, i->osz, v);
	flags_set(c, FL_ZF, FL_ZF);
}

void op_lar(struct cpu *c, const struct insn *i) { lar_lsl(c, i, false); }
void op_lsl(struct cpu *c, const struct insn *i) { lar_lsl(c, i, true); }

/* VERR: a readable code or any data segment; VERW: a writable data one. */
static void verify(struct cpu *c, const struct insn *i, bool write)
{
	need_protected(c);
	uint16_t sel = (uint16_t)rm_read(c, i, SZ16);
	struct desc d;
	bool ok = probe(c, sel, &d) && (d.ar & AR_S) && visible(c, sel, &d);
	if (ok)
		ok = write ? !(d.ar & 8) && (d.ar & 2) : !(d.ar & 8) || (d.ar & 2);
	flags_set(c, FL_ZF, ok ? FL_ZF : 0);
}

void op_verr(struct cpu *c, const struct insn *i) { verify(c, i, false); }
void op_verw(struct cpu *c, const struct insn *i) { verify(c, i, true); }

/* ARPL r/m16, r16 (63 outside 64-bit mode): raise the RPL. */
void op_arpl(struct cpu *c, const struct insn *i)
{
	need_protected(c);
	uint64_t a = 0, d;
	if (i->mod == 3) {
		d = reg_get(c, i->rm, SZ16);
	} else {
		a = ea(c, i);
		d = mem_read(c, i->seg, a, SZ16);
	}
	unsigned src = reg_get(c, i->reg, SZ16) & 3;
	if ((d & 3) < src) {
		d = (d & ~3ull) | src;
		if (i->mod == 3)
			reg_set(c, i->rm, SZ16, d);
		else
			mem_write(c, i->seg, a, SZ16, d);
		flags_set(c, FL_ZF, FL_ZF);
	} else {
		flags_set(c, FL_ZF, 0);
	}
}
