/* Guest memory slow paths: segment limit checks, translation, TLB refill,
 * accesses that cross pages or reach devices, and stores to pages holding
 * decoded code (which must drop that code: self-modifying code stays exact). */
#include "emu/mem.h"
#include "emu/dcache.h"
#include "emu/event.h"
#include "emu/paging.h"

_Noreturn void seg_fault_canonical(struct cpu *c, int seg)
{
	/* SDM vol. 3A, 6.15: a non-canonical stack reference is #SS(0). */
	emu_raise(c, seg == SEG_SS ? VEC_SS : VEC_GP, 0);
}

bool seg_limit_ok(const struct seg *s, uint64_t off, uint64_t bytes)
{
	uint64_t last = off + bytes - 1;
	if ((s->ar & AR_S) && !(s->ar & 8) && (s->ar & 4)) {
		/* expand-down data segment: valid offsets are (limit, top] */
		uint64_t top = (s->ar & AR_DB) ? 0xffffffffu : 0xffffu;
		return off > s->limit && last <= top;
	}
	return last <= s->limit;
}

/* Legacy-mode segment checks (SDM vol. 3A, 5.3 and 5.4): the segment must
 * be usable, the access inside its limit, and in protected mode allowed by
 * its type: no writes to code or read-only data, no reads of execute-only
 * code. Returns the linear address (32 bits). */
uint64_t seg_check_legacy(struct cpu *c, int seg, uint64_t off, int bytes, enum acc acc)
{
	const struct seg *s = &c->seg[seg];
	int vec = seg == SEG_SS ? VEC_SS : VEC_GP;

	if ((s->ar & AR_UNUSABLE) || !seg_limit_ok(s, off, (uint64_t)bytes))
		emu_raise(c, vec, 0);
	if ((c->cr0 & CR0_PE) && (s->ar & AR_S)) {
		bool code = s->ar & 8, rw = s->ar & 2;
		if ((acc & 3) == ACC_WRITE ? code || !rw : code && !rw)
			emu_raise(c, vec, 0);
	}
	return (s->base + off) & 0xffffffffu;
}

/* Linear addresses wrap at 4 GiB outside 64-bit mode. */
static uint64_t lin_add(const struct cpu *c, uint64_t lin, uint64_t k)
{
	return c->code_sz == SZ64 ? lin + k : (uint32_t)(lin + k);
}

/* Linear to physical for one access, raising #PF (with CR2) when the walk
 * faults, and refilling the TLB with every right the walk grants in the
 * current context. */
uint64_t mem_translate(struct cpu *c, uint64_t lin, enum acc acc)
{
	enum walk_kind kind = (enum walk_kind)(acc & 3);
	bool implicit = acc & ACC_IMPLICIT;
	bool user = c->cpl == 3 && !implicit;
	struct walk w;
	bool r = true, wr = true, x = true, global = false;
	uint64_t pa = lin;

	if (paging_on(c)) {
		bool ok = paging_walk(c, lin, kind,
				      (user ? WALK_USER : 0) | (implicit ? WALK_IMPLICIT : 0) | WALK_UPDATE,
				      &w);
		if (c->trace_walks) {
			struct event e = { .type = EVT_WALK };
			e.u.walk.w = &w;
			e.u.walk.kind = (uint8_t)kind;
			e.u.walk.user = user;
			evt_emit(c, &e);
		}
		if (!ok) {
			c->pf_lin = lin;
			c->stats.page_faults++;
			emu_raise(c, VEC_PF, w.error);
		}
		pa = w.pa;
		r = paging_allows(c, &w, WALK_READ, user);
		/* A write through this entry must not skip setting D. */
		wr = paging_allows(c, &w, WALK_WRITE, user) &&
		     (kind == WALK_WRITE || (w.step[w.nsteps - 1].value & (1u << 6)));
		x = paging_allows(c, &w, WALK_FETCH, user);
		global = w.global;
		c->stats.tlb_misses++;
	}
	if (unlikely(c->vmx.ept_active)) {
		/* A VMX guest with EPT: the guest-physical address goes through
		 * the EPT walk too, and the TLB keeps only what both allow. */
		unsigned rights;
		pa = vmx_ept_translate(c, pa, kind, lin, EPT_FINAL, &rights);
		r &= rights & 1;
		wr &= (rights >> 1) & (rights >> 3) & 1;
		x &= (rights >> 2) & 1;
	}
	uint8_t *host = ram_ptr(c, pa & PAGE_MASK);
	if (host && !implicit) {
		struct tlb_entry *e = tlb_slot(c, lin);
		uint64_t tag = tlb_tag(c, lin);
		e->tag_read = r ? tag : ~0ull;
		e->tag_write = wr && !dcache_page_has_code(c, pa) && !page_watched(c, pa) ? tag : ~0ull;
		if (e->tag_write == tag)
			bus_mark_dirty(c->bus, pa); /* fast stores are not seen */
		e->tag_exec = x ? tag : ~0ull;
		e->phys = pa & PAGE_MASK;
		e->host = host;
		e->global = global;
		e->pcid = (uint16_t)(c->tlb_ctx >> TLB_CTX_PCID_SHIFT);
		e->vctx = c->tlb_vctx;
	}
	return pa;
}

void tlb_write_protect(struct cpu *c, uint64_t pa)
{
	for (int k = 0; k < TLB_ENTRIES; k++)
		if (c->tlb[k].phys == (pa & PAGE_MASK))
			c->tlb[k].tag_write = ~0ull;
}

static void tlb_kill(struct tlb_entry *e)
{
	e->tag_read = e->tag_write = e->tag_exec = ~0ull;
	e->phys = ~0ull;
	e->host = NULL;
	e->global = false;
}

void emu_flush_tlb(struct cpu *c)
{
	c->jc_gen++; /* the jump cache holds linear addresses too */
	c->stats.tlb_flushes++;
	for (int k = 0; k < TLB_ENTRIES; k++)
		tlb_kill(&c->tlb[k]);
}

void tlb_flush_page(struct cpu *c, uint64_t lin, int pcid)
{
	struct tlb_entry *e = tlb_slot(c, lin);
	c->jc_gen++;
	c->stats.tlb_flushes++;
	/* The slot is the only place the page can be in this VMX context;
	 * other contexts keep theirs (a guest's INVLPG is its own). */
	if (e->vctx == c->tlb_vctx && (pcid < 0 || e->pcid == pcid || e->global))
		tlb_kill(e);
}

void tlb_flush_pcid(struct cpu *c, int pcid, bool keep_global)
{
	c->jc_gen++;
	c->stats.tlb_flushes++;
	for (int k = 0; k < TLB_ENTRIES; k++) {
		struct tlb_entry *e = &c->tlb[k];
		if (e->vctx != c->tlb_vctx || (keep_global && e->global) ||
		    (pcid >= 0 && e->pcid != pcid && !e->global))
			continue;
		tlb_kill(e);
	}
}

void tlb_flush_vctx(struct cpu *c, unsigned vctx, bool one_page, uint64_t lin, bool keep_global)
{
	c->jc_gen++;
	c->stats.tlb_flushes++;
	for (int k = 0; k < TLB_ENTRIES; k++) {
		struct tlb_entry *e = &c->tlb[k];
		if (e->vctx != vctx || (keep_global && e->global))
			continue;
		if (one_page && e != tlb_slot_in(c, lin, vctx))
			continue;
		tlb_kill(e);
	}
}

void tlb_update_ctx(struct cpu *c)
{
	uint64_t ctx = (uint64_t)c->tlb_vctx << TLB_CTX_VMX_SHIFT;
	if (paging_on(c)) {
		if (c->cpl == 3)
			ctx |= TLB_CTX_USER;
		if (c->cr4 & CR4_PCIDE)
			ctx |= (c->cr3 & 0xfff) << TLB_CTX_PCID_SHIFT;
	}
	if (ctx != c->tlb_ctx)
		c->jc_gen++;
	c->tlb_ctx = ctx;
}

/* Implicit accesses are not cached in the TLB (their rights differ from
 * the CPL's), so each is a walk: one per page touched, not per byte. */
static void sys_translate(struct cpu *c, uint64_t lin, int bytes, enum acc acc, uint64_t *pa)
{
	for (int k = 0; k < bytes; k++) {
		uint64_t l = lin_add(c, lin, (uint64_t)k);
		if (k && (l & (PAGE_SIZE - 1)))
			pa[k] = pa[k - 1] + 1;
		else
			pa[k] = mem_translate(c, l, acc | ACC_IMPLICIT);
	}
}

uint64_t sys_read(struct cpu *c, uint64_t lin, int bytes)
{
	uint64_t v = 0, pa[8];
	sys_translate(c, lin, bytes, ACC_READ, pa);
	for (int k = 0; k < bytes; k++)
		v |= bus_read(c->bus, pa[k], 1) << (8 * k);
	return v;
}

void sys_write(struct cpu *c, uint64_t lin, int bytes, uint64_t v)
{
	/* Translate every byte first: a fault must leave memory untouched. */
	uint64_t pa[8];
	sys_translate(c, lin, bytes, ACC_WRITE, pa);
	for (int k = 0; k < bytes; k++) {
		uint8_t b = (uint8_t)(v >> (8 * k));
		if (pa[k] < c->bus->ram_size)
			emu_phys_write(c, pa[k], &b, 1);
		else
			bus_write(c->bus, pa[k], 1, b);
	}
}

/* An access that is inside one page: translate once, then RAM or bus. */
static uint64_t read_in_page(struct cpu *c, uint64_t lin, int bytes)
{
	uint64_t pa = mem_translate(c, lin, ACC_READ);
	uint8_t *p = ram_ptr(c, pa);
	if (p && pa + bytes <= c->bus->ram_size)
		return load_le(p, bytes);
	return bus_read(c->bus, pa, bytes);
}

static void write_in_page(struct cpu *c, uint64_t lin, int bytes, uint64_t v)
{
	uint64_t pa = mem_translate(c, lin, ACC_WRITE);
	uint8_t *p = ram_ptr(c, pa);
	if (p && pa + bytes <= c->bus->ram_size) {
		if (dcache_page_has_code(c, pa))
			dcache_invalidate_page(c, pa);
		if (unlikely(c->monitor_armed))
			monitor_store(c, pa, (size_t)bytes);
		bus_mark_dirty(c->bus, pa);
		store_le(p, bytes, v);
		return;
	}
	bus_write(c->bus, pa, bytes, v);
}

uint64_t mem_read_slow(struct cpu *c, uint64_t lin, int bytes)
{
	unsigned in_page = PAGE_SIZE - (lin & (PAGE_SIZE - 1));
	if ((unsigned)bytes <= in_page)
		return read_in_page(c, lin, bytes);
	/* Crosses a page: both pages are translated (and may fault) before
	 * the value is assembled, as hardware checks both (SDM vol. 3A, 4.7). */
	mem_translate(c, lin, ACC_READ);
	mem_translate(c, lin_add(c, lin, in_page), ACC_READ);
	uint64_t v = 0;
	for (int k = 0; k < bytes; k++)
		v |= read_in_page(c, lin_add(c, lin, k), 1) << (8 * k);
	return v;
}

void mem_write_slow(struct cpu *c, uint64_t lin, int bytes, uint64_t v)
{
	unsigned in_page = PAGE_SIZE - (lin & (PAGE_SIZE - 1));
	if ((unsigned)bytes <= in_page) {
		write_in_page(c, lin, bytes, v);
		return;
	}
	mem_translate(c, lin, ACC_WRITE);
	mem_translate(c, lin_add(c, lin, in_page), ACC_WRITE);
	for (int k = 0; k < bytes; k++)
		write_in_page(c, lin_add(c, lin, k), 1, (v >> (8 * k)) & 0xff);
}

bool emu_phys_read(struct cpu *c, uint64_t pa, void *buf, size_t len)
{
	if (pa > c->bus->ram_size || len > c->bus->ram_size - pa)
		return false;
	memcpy(buf, c->bus->ram + pa, len);
	return true;
}

bool emu_phys_write(struct cpu *c, uint64_t pa, const void *buf, size_t len)
{
	if (pa > c->bus->ram_size || len > c->bus->ram_size - pa)
		return false;
	dcache_invalidate_range(c, pa, len);
	if (unlikely(c->monitor_armed))
		monitor_store(c, pa, len);
	memcpy(c->bus->ram + pa, buf, len);
	for (uint64_t p = pa & PAGE_MASK; p < pa + len; p += PAGE_SIZE)
		bus_mark_dirty(c->bus, p);
	return true;
}
