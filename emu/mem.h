/* Guest memory as instructions see it: segment, then linear address, then
 * (through the software TLB) guest RAM or the bus. The fast path is inline;
 * anything unusual (page crossings, MMIO, code pages, TLB misses) goes to
 * mem.c. */
#ifndef EMU_MEM_H
#define EMU_MEM_H

#include <string.h>

#include "emu/bus.h"
#include "emu/cpu.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PAGE_SHIFT 12
#define PAGE_SIZE  4096u
#define PAGE_MASK  (~(uint64_t)(PAGE_SIZE - 1))

/* Access kinds; ACC_IMPLICIT marks an implicit supervisor access (GDT,
 * IDT, TSS) that uses supervisor rights whatever the CPL. */
enum acc { ACC_READ = 0, ACC_WRITE = 1, ACC_FETCH = 2, ACC_IMPLICIT = 4 };

/* A TLB tag: the 36-bit linear page number (48-bit canonical addresses
 * are unique in it) with the context bits of cpu->tlb_ctx above it. */
#define TLB_VPN_MASK ((1ull << 36) - 1)
#define TLB_CTX_USER (1ull << 40)
#define TLB_CTX_PCID_SHIFT 41
#define TLB_CTX_VMX_SHIFT 53   /* 4 bits: 16 VMX contexts (vmx/tlbctx.c) */
#define TLB_VMX_CONTEXTS 16

/* Whether [off, off + bytes) lies within a segment's limit (expand-down
 * data segments count from the limit up). */
bool seg_limit_ok(const struct seg *s, uint64_t off, uint64_t bytes);

/* Slow paths (mem.c). */
uint64_t seg_check_legacy(struct cpu *c, int seg, uint64_t off, int bytes, enum acc acc);
_Noreturn void seg_fault_canonical(struct cpu *c, int seg);
uint64_t mem_read_slow(struct cpu *c, uint64_t lin, int bytes);
void mem_write_slow(struct cpu *c, uint64_t lin, int bytes, uint64_t v);

static inline bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* Segment:offset to linear, with the limit checks of legacy modes and the
 * canonical check of 64-bit mode (SDM vol. 3A, 3.4.2 and 3.3.7.1). */
static inline uint64_t seg_linear(struct cpu *c, int seg, uint64_t off,
				  int bytes, enum acc acc)
{
	if (likely(c->code_sz == SZ64)) {
		uint64_t lin = off;
		if (seg >= SEG_FS)
			lin += c->seg[seg].base;
		/* Both ends canonical: bits 63:47 of each all equal. */
		uint64_t lo = lin + (1ull << 47), hi = lin + bytes - 1 + (1ull << 47);
		if (unlikely((lo | hi) >> 48))
			seg_fault_canonical(c, seg);
		return lin;
	}
	return seg_check_legacy(c, seg, off, bytes, acc);
}

static inline uint64_t load_le(const uint8_t *p, int bytes)
{
	switch (bytes) {
	case 1: return *p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static inline void store_le(uint8_t *p, int bytes, uint64_t v)
{
	switch (bytes) {
	case 1: *p = (uint8_t)v; break;
	case 2: { uint16_t w = (uint16_t)v; memcpy(p, &w, 2); break; }
	case 4: { uint32_t w = (uint32_t)v; memcpy(p, &w, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/* The TLB is direct-mapped; each VMX context (a VMX guest's VPID) has its
 * slots spread differently, so that a host and its guest using the same
 * linear pages do not evict each other at every VM entry and exit. */
static inline struct tlb_entry *tlb_slot_in(struct cpu *c, uint64_t lin, unsigned vctx)
{
	return &c->tlb[((lin >> PAGE_SHIFT) ^ (vctx * 0x5bu)) & (TLB_ENTRIES - 1)];
}

static inline struct tlb_entry *tlb_slot(struct cpu *c, uint64_t lin)
{
	return tlb_slot_in(c, lin, c->tlb_vctx);
}

static inline uint64_t tlb_tag(const struct cpu *c, uint64_t lin)
{
	return ((lin >> PAGE_SHIFT) & TLB_VPN_MASK) | c->tlb_ctx;
}

/* Read/write `bytes` (1, 2, 4, 8) at a linear address. */
static inline uint64_t lin_read(struct cpu *c, uint64_t lin, int bytes)
{
	struct tlb_entry *e = tlb_slot(c, lin);
	c->last_lin = lin;
	c->last_bytes = (uint8_t)bytes;
	c->last_write = false;
	if (likely(e->tag_read == tlb_tag(c, lin) &&
		   (lin & (PAGE_SIZE - 1)) <= PAGE_SIZE - bytes))
		return load_le(e->host + (lin & (PAGE_SIZE - 1)), bytes);
	return mem_read_slow(c, lin, bytes);
}

static inline void lin_write(struct cpu *c, uint64_t lin, int bytes, uint64_t v)
{
	struct tlb_entry *e = tlb_slot(c, lin);
	c->last_lin = lin;
	c->last_bytes = (uint8_t)bytes;
	c->last_write = true;
	if (likely(e->tag_write == tlb_tag(c, lin) &&
		   (lin & (PAGE_SIZE - 1)) <= PAGE_SIZE - bytes)) {
		store_le(e->host + (lin & (PAGE_SIZE - 1)), bytes, v);
		return;
	}
	mem_write_slow(c, lin, bytes, v);
}

/* Segment-relative data accesses; sz is SZ8..SZ64. */
static inline uint64_t mem_read(struct cpu *c, int seg, uint64_t off, int sz)
{
	int bytes = 1 << sz;
	return lin_read(c, seg_linear(c, seg, off, bytes, ACC_READ), bytes);
}

static inline void mem_write(struct cpu *c, int seg, uint64_t off, int sz, uint64_t v)
{
	int bytes = 1 << sz;
	lin_write(c, seg_linear(c, seg, off, bytes, ACC_WRITE), bytes, v);
}

/* Linear to guest-physical, filling the TLB; raises the fault if the access
 * is not allowed. Returns the physical address. */
uint64_t mem_translate(struct cpu *c, uint64_t lin, enum acc acc);

/* The host pointer for the RAM byte at pa, or NULL if pa is not RAM. */
static inline uint8_t *ram_ptr(struct cpu *c, uint64_t pa)
{
	return pa < c->bus->ram_size ? c->bus->ram + pa : NULL;
}

/* Drop write permission from TLB entries that map physical page pa:
 * stores to it take the slow path (decoded code, a MONITOR line). */
void tlb_write_protect(struct cpu *c, uint64_t pa);

/* A store to RAM that the slow path sees while MONITOR is armed: one to
 * the monitored line disarms it (emu/sys.c). */
void monitor_store(struct cpu *c, uint64_t pa, size_t len);

/* Whether stores to physical page pa must take the slow path. */
static inline bool page_watched(const struct cpu *c, uint64_t pa)
{
	return c->monitor_armed && ((pa ^ c->monitor_pa) & PAGE_MASK) == 0;
}

/* TLB invalidation with the architectural rules (SDM vol. 3A, 4.10.4):
 * one page in every context (INVLPG, INVPCID type 0 with pcid < 0), or
 * the non-global entries of one PCID (MOV CR3, INVPCID type 1), or all
 * non-global entries (INVPCID type 3), or everything (emu_flush_tlb). */
void tlb_flush_page(struct cpu *c, uint64_t lin, int pcid);
void tlb_flush_pcid(struct cpu *c, int pcid, bool keep_global);

/* The entries of one VMX context (INVVPID, INVEPT): all of them, or only
 * the page of lin (one_page), keeping global pages if asked. */
void tlb_flush_vctx(struct cpu *c, unsigned vctx, bool one_page, uint64_t lin, bool keep_global);

/* Recompute cpu->tlb_ctx after CPL, CR0.PG, CR3 or CR4.PCIDE changed. */
void tlb_update_ctx(struct cpu *c);

/* Implicit supervisor accesses to system structures (descriptor tables,
 * the TSS, the IDT) by linear address, at any CPL. */
uint64_t sys_read(struct cpu *c, uint64_t lin, int bytes);
void sys_write(struct cpu *c, uint64_t lin, int bytes, uint64_t v);

#endif
