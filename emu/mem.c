/* Guest memory slow paths: segment limit checks, translation, TLB refill,
 * accesses that cross pages or reach devices, and stores to pages holding
 * decoded code (which must drop that code: self-modifying code stays exact). */
#include "emu/mem.h"
#include "emu/dcache.h"

_Noreturn void seg_fault_canonical(struct cpu *c, int seg)
{
	/* SDM vol. 3A, 6.15: a non-canonical stack reference is #SS(0). */
	emu_raise(c, seg == SEG_SS ? VEC_SS : VEC_GP, 0);
}

/* Legacy-mode segment checks (SDM vol. 3A, 5.3): the segment must be usable,
 * and [off, off + bytes) must lie inside the limit, which for expand-down
 * data segments means above it. Returns the linear address (32 bits). */
uint64_t seg_check_legacy(struct cpu *c, int seg, uint64_t off, int bytes, enum acc acc)
{
	const struct seg *s = &c->seg[seg];
	int vec = seg == SEG_SS ? VEC_SS : VEC_GP;
	uint64_t last = off + bytes - 1;

	if (s->ar & AR_UNUSABLE)
		emu_raise(c, vec, 0);
	if ((s->ar & AR_S) && !(s->ar & 8) && (s->ar & 4)) {
		/* expand-down data segment: valid offsets are (limit, top] */
		uint64_t top = (s->ar & AR_DB) ? 0xffffffffu : 0xffffu;
		if (off <= s->limit || last > top)
			emu_raise(c, vec, 0);
	} else if (last > s->limit) {
		emu_raise(c, vec, 0);
	}
	(void)acc;
	return (s->base + off) & 0xffffffffu;
}

/* Paging is the system-side work (issue 3); until then the machine runs with
 * CR0.PG clear and linear addresses are physical. */
uint64_t mem_translate(struct cpu *c, uint64_t lin, enum acc acc)
{
	uint64_t pa = lin;
	struct tlb_entry *e = tlb_slot(c, lin);
	uint8_t *host = ram_ptr(c, pa & PAGE_MASK);

	(void)acc;
	if (host) {
		uint64_t vpn = lin >> PAGE_SHIFT;
		e->tag_read = vpn;
		e->tag_write = dcache_page_has_code(c, pa) ? ~0ull : vpn;
		e->phys = pa & PAGE_MASK;
		e->host = host;
	}
	return pa;
}

void tlb_protect_code(struct cpu *c, uint64_t pa)
{
	for (int k = 0; k < TLB_ENTRIES; k++)
		if (c->tlb[k].phys == (pa & PAGE_MASK))
			c->tlb[k].tag_write = ~0ull;
}

void emu_flush_tlb(struct cpu *c)
{
	c->jc_gen++; /* the jump cache holds linear addresses too */
	for (int k = 0; k < TLB_ENTRIES; k++) {
		c->tlb[k].tag_read = c->tlb[k].tag_write = ~0ull;
		c->tlb[k].phys = ~0ull;
		c->tlb[k].host = NULL;
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
		store_le(p, bytes, v);
		return;
	}
	bus_write(c->bus, pa, bytes, v);
}

/* Linear addresses wrap at 4 GiB outside 64-bit mode. */
static uint64_t lin_add(const struct cpu *c, uint64_t lin, uint64_t k)
{
	return c->code_sz == SZ64 ? lin + k : (uint32_t)(lin + k);
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
	memcpy(c->bus->ram + pa, buf, len);
	return true;
}
