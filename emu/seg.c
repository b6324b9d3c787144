/* Segment-register loads for data and stack segments. */
#include "emu/flags.h"
#include "emu/mem.h"
#include "emu/seg.h"

void desc_decode(uint64_t raw, struct desc *d)
{
	d->raw = raw;
	d->base = ((raw >> 16) & 0xffffff) | ((raw >> 32) & 0xff000000);
	d->limit = (uint32_t)((raw & 0xffff) | ((raw >> 32) & 0xf0000));
	d->ar = (uint32_t)(raw >> 40) & 0xf0ff;
	if (d->ar & AR_G)
		d->limit = (d->limit << 12) | 0xfff;
}

bool desc_locate(const struct cpu *c, uint16_t sel, unsigned bytes, uint64_t *addr)
{
	const struct seg *ldt = &c->ldtr;
	uint64_t base, limit;
	if (sel & 4) {
		if (ldt->ar & AR_UNUSABLE)
			return false;
		base = ldt->base;
		limit = ldt->limit;
	} else {
		base = c->gdtr.base;
		limit = c->gdtr.limit;
	}
	if ((uint64_t)(sel & ~7u) + bytes - 1 > limit)
		return false;
	*addr = base + (sel & ~7u);
	return true;
}

uint64_t desc_fetch_or(struct cpu *c, uint16_t sel, struct desc *d, int vec, uint32_t ext)
{
	uint64_t addr;
	if (!desc_locate(c, sel, 8, &addr))
		emu_raise(c, vec, (sel & 0xfffc) | ext);
	desc_decode(sys_read(c, addr, 8), d);
	return addr;
}

static uint64_t desc_fetch(struct cpu *c, uint16_t sel, struct desc *d, uint64_t *addr)
{
	return *addr = desc_fetch_or(c, sel, d, VEC_GP, 0);
}

void desc_set_accessed(struct cpu *c, const struct desc *d, uint64_t addr)
{
	if (!(d->ar & 1))
		sys_write(c, addr + 5, 1, ((d->raw >> 40) & 0xff) | 1);
}

void seg_set_cache(struct cpu *c, int seg, uint16_t sel, const struct desc *d)
{
	struct seg *s = &c->seg[seg];
	s->sel = sel;
	s->base = d->base;
	s->limit = d->limit;
	s->ar = d->ar | 1; /* the accessed bit is set by the load */
}

void seg_set_null(struct cpu *c, int seg, uint16_t sel)
{
	c->seg[seg].sel = sel;
	c->seg[seg].base = 0;
	c->seg[seg].limit = 0;
	c->seg[seg].ar = AR_UNUSABLE;
}

void seg_set_ss(struct cpu *c, uint16_t sel, const struct desc *d, unsigned cpl)
{
	if (d) {
		seg_set_cache(c, SEG_SS, sel, d);
	} else {
		seg_set_null(c, SEG_SS, sel);
		c->seg[SEG_SS].ar |= cpl << 5;
	}
}

void load_cs(struct cpu *c, uint16_t sel, const struct desc *d, unsigned cpl)
{
	seg_set_cache(c, SEG_CS, (uint16_t)((sel & ~3u) | cpl), d);
	c->cpl = (uint8_t)cpl;
	emu_update_mode(c);
}

void seg_load(struct cpu *c, int seg, uint16_t sel)
{
	struct seg *s = &c->seg[seg];
	struct desc d;

	uint64_t addr;
	unsigned rpl = sel & 3, dpl, type;

	if (!(c->cr0 & CR0_PE)) {
		/* Real mode: only selector and base change; the cached limit and
		 * attributes stay (SDM vol. 3A, 20.1.1). */
		s->sel = sel;
		s->base = (uint64_t)sel << 4;
		return;
	}
	if ((sel & ~3u) == 0) {
		/* A null selector: allowed except in SS, where 64-bit mode
		 * permits it at CPL < 3 with RPL = CPL (SDM vol. 2, MOV). */
		if (seg == SEG_SS && !(c->code_sz == SZ64 && c->cpl < 3 && rpl == c->cpl))
			emu_raise(c, VEC_GP, 0);
		seg_set_null(c, seg, sel);
		return;
	}
	desc_fetch(c, sel, &d, &addr);
	dpl = AR_DPL(d.ar);
	type = AR_TYPE(d.ar);
	if (seg == SEG_SS) {
		/* A writable data segment with RPL = DPL = CPL. */
		if (rpl != c->cpl || !(d.ar & AR_S) || (type & 8) || !(type & 2) ||
		    dpl != c->cpl)
			emu_raise(c, VEC_GP, sel & 0xfffc);
		if (!(d.ar & AR_P))
			emu_raise(c, VEC_SS, sel & 0xfffc);
	} else {
		/* A data segment or a readable code segment; unless conforming
		 * code, both RPL and CPL must be <= DPL. */
		if (!(d.ar & AR_S) || ((type & 8) && !(type & 2)))
			emu_raise(c, VEC_GP, sel & 0xfffc);
		bool conforming = (type & 0xc) == 0xc;
		if (!conforming && (rpl > dpl || c->cpl > dpl))
			emu_raise(c, VEC_GP, sel & 0xfffc);
		if (!(d.ar & AR_P))
			emu_raise(c, VEC_NP, sel & 0xfffc);
	}
	desc_set_accessed(c, &d, addr);
	seg_set_cache(c, seg, sel, &d);
	if (seg == SEG_SS)
		emu_update_mode(c);
}

void stk_push(struct cpu *c, struct stk *s, int sz, uint64_t v)
{
	unsigned bytes = 1u << sz;
	uint64_t sp = (s->sp - bytes) & sz_mask[s->spsz];
	uint64_t lin;
	if (s->spsz == SZ64) {
		lin = sp;
		if (!canonical(lin) || !canonical(lin + bytes - 1))
			emu_raise(c, VEC_SS, s->ext);
	} else {
		struct seg ss = { s->sel, s->base, s->limit, s->ar };
		if (!seg_limit_ok(&ss, sp, bytes))
			emu_raise(c, VEC_SS, (s->sel & 0xfffc) | s->ext);
		lin = (uint32_t)(s->base + sp);
	}
	if (s->user)
		lin_write(c, lin, (int)bytes, v);
	else
		sys_write(c, lin, (int)bytes, v);
	s->sp = sp;
}

