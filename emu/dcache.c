/* The decoded-instruction cache: fetch, decode into blocks, look up, and
 * drop blocks when their page is written. */
#include <stdlib.h>
#include <string.h>

#include "emu/dcache.h"
#include "emu/decode.h"
#include "emu/mem.h"

#define HASH_BITS 14
#define POOL_BLOCKS 4096

struct dcache {
	struct block *hash[1u << HASH_BITS];
	struct block **page;     /* per RAM page: the blocks decoded from it */
	uint64_t npages;
	struct block *pool;      /* blocks are handed out in order ... */
	unsigned used;           /* ... and all recycled at once when full */
	struct block scratch;    /* a block that is not cached (see build) */
};

static unsigned hash_of(uint64_t pa, unsigned code_sz)
{
	uint64_t h = (pa ^ (pa >> HASH_BITS) ^ ((uint64_t)code_sz << 7)) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> (64 - HASH_BITS));
}

struct dcache *dcache_new(uint64_t ram_size)
{
	struct dcache *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->npages = ram_size >> PAGE_SHIFT;
	d->page = calloc(d->npages ? d->npages : 1, sizeof *d->page);
	d->pool = calloc(POOL_BLOCKS, sizeof *d->pool);
	if (!d->page || !d->pool) {
		dcache_free(d);
		return NULL;
	}
	return d;
}

void dcache_free(struct dcache *d)
{
	if (!d)
		return;
	free(d->page);
	free(d->pool);
	free(d);
}

bool dcache_page_has_code(const struct cpu *c, uint64_t pa)
{
	uint64_t p = pa >> PAGE_SHIFT;
	return p < c->dcache->npages && c->dcache->page[p] != NULL;
}

static void unhash(struct dcache *d, struct block *b)
{
	struct block **pp = &d->hash[hash_of(b->pa, b->code_sz)];
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
}

/* Drop every block decoded from the page. The block running now may be one
 * of them: its memory stays valid until the next flush, and brk makes the
 * run loop leave it after the current instruction. */
void dcache_invalidate_page(struct cpu *c, uint64_t pa)
{
	struct dcache *d = c->dcache;
	uint64_t p = pa >> PAGE_SHIFT;
	if (p >= d->npages)
		return;
	for (struct block *b = d->page[p]; b; b = b->pnext)
		unhash(d, b);
	d->page[p] = NULL;
	c->jc_gen++;
	c->brk |= BRK_JUMP;
}

void dcache_invalidate_range(struct cpu *c, uint64_t pa, size_t len)
{
	if (!len)
		return;
	for (uint64_t p = pa & PAGE_MASK; p < pa + len; p += PAGE_SIZE)
		if (dcache_page_has_code(c, p))
			dcache_invalidate_page(c, p);
}

void dcache_flush(struct cpu *c)
{
	struct dcache *d = c->dcache;
	memset(d->hash, 0, sizeof d->hash);
	memset(d->page, 0, d->npages * sizeof *d->page);
	d->used = 0;
	c->jc_gen++;
	c->brk |= BRK_JUMP;
}

/* The linear address of an instruction byte at offset rip + k, with the
 * code-segment checks: the limit outside 64-bit mode (SDM vol. 3A, 5.3). */
static uint64_t fetch_linear(struct cpu *c, uint64_t rip)
{
	if (c->code_sz == SZ64)
		return rip;
	const struct seg *cs = &c->seg[SEG_CS];
	if (rip > cs->limit)
		emu_raise(c, VEC_GP, 0);
	return (uint32_t)(cs->base + rip);
}

/* Fetch up to 15 instruction bytes at rip into buf, stopping at the CS limit
 * and at bytes that cannot be fetched. Returns the count. Only the first
 * byte must be fetchable; a later fault is raised by the caller only if the
 * decoder needs the byte. */
static int fetch_slow(struct cpu *c, uint64_t rip, uint8_t *buf, int *fault_at)
{
	int n = 0;
	*fault_at = -1;
	for (; n < 15; n++) {
		uint64_t r = rip + (uint64_t)n;
		if (c->code_sz != SZ64 && r > c->seg[SEG_CS].limit) {
			*fault_at = n;
			break;
		}
		uint64_t lin = c->code_sz == SZ64 ? r : (uint32_t)(c->seg[SEG_CS].base + r);
		uint64_t pa = mem_translate(c, lin, ACC_FETCH);
		buf[n] = (uint8_t)bus_read(c->bus, pa, 1);
	}
	return n;
}

/* Decode one instruction from n bytes; raise #UD or #GP as the bytes say. */
static void decode_or_raise(struct cpu *c, const uint8_t *bytes, int n,
			    struct insn *out, bool *end)
{
	int len = emu_decode_ex(bytes, n, c->code_sz, out, end);
	if (len == 0)
		emu_raise_noerr(c, VEC_UD);
	if (len < 0)
		emu_raise(c, VEC_GP, 0); /* longer than 15 bytes, or past the limit */
}

/* An instruction that crosses a page, or sits outside RAM, runs from the
 * scratch block: decoded each time, never cached. */
static struct block *build_uncached(struct cpu *c)
{
	struct block *b = &c->dcache->scratch;
	uint8_t buf[15];
	int fault_at;
	bool end;
	int n = fetch_slow(c, c->rip, buf, &fault_at);
	decode_or_raise(c, buf, n, &b->insn[0], &end);
	b->n = 1;
	b->bytes = b->insn[0].len;
	b->code_sz = c->code_sz;
	b->cacheable = false;
	return b;
}

static struct block *alloc_block(struct cpu *c)
{
	struct dcache *d = c->dcache;
	if (d->used == POOL_BLOCKS)
		dcache_flush(c);
	return &d->pool[d->used++];
}

/* Decode straight-line code from pa (inside RAM) until an instruction that
 * ends a block, the end of the page, the CS limit or BLOCK_MAX. A bad
 * instruction after the first one just ends the block: its fault is raised
 * when execution reaches it. */
static struct block *build(struct cpu *c, uint64_t pa, uint64_t rip)
{
	struct dcache *d = c->dcache;
	const uint8_t *page = c->bus->ram + (pa & PAGE_MASK);
	unsigned off = pa & (PAGE_SIZE - 1);
	uint64_t room = PAGE_SIZE - off;
	if (c->code_sz != SZ64 && c->seg[SEG_CS].limit - rip + 1 < room)
		room = c->seg[SEG_CS].limit - rip + 1;

	struct insn first;
	bool end;
	int len = emu_decode_ex(page + off, room > 15 ? 15 : (int)room, c->code_sz, &first, &end);
	if (len < 0 && room < 15)
		return build_uncached(c); /* crosses the page or the limit */
	if (len <= 0)
		decode_or_raise(c, page + off, room > 15 ? 15 : (int)room, &first, &end);

	struct block *b = alloc_block(c);
	b->pa = pa;
	b->code_sz = c->code_sz;
	b->cacheable = true;
	b->succ = NULL;
	b->succ_gen = 0;
	b->insn[0] = first;
	b->n = 1;
	b->bytes = (uint16_t)len;
	while (!end && b->n < BLOCK_MAX && b->bytes < room) {
		uint64_t left = room - b->bytes;
		len = emu_decode_ex(page + off + b->bytes, left > 15 ? 15 : (int)left,
				    c->code_sz, &b->insn[b->n], &end);
		if (len <= 0)
			break;
		b->bytes = (uint16_t)(b->bytes + len);
		b->n++;
	}
	unsigned h = hash_of(pa, c->code_sz);
	b->hnext = d->hash[h];
	d->hash[h] = b;
	uint64_t p = pa >> PAGE_SHIFT;
	if (!d->page[p])
		tlb_write_protect(c, pa); /* first code on this page: no more fast stores */
	b->pnext = d->page[p];
	d->page[p] = b;
	return b;
}

struct block *dcache_block(struct cpu *c)
{
	uint64_t rip = c->rip;
	uint64_t lin = fetch_linear(c, rip);
	struct tlb_entry *e = tlb_slot(c, lin);
	uint64_t pa = e->tag_exec == tlb_tag(c, lin)
			      ? e->phys | (lin & (PAGE_SIZE - 1))
			      : mem_translate(c, lin, ACC_FETCH);
	if (pa >= c->bus->ram_size)
		return build_uncached(c);

	struct dcache *d = c->dcache;
	for (struct block *b = d->hash[hash_of(pa, c->code_sz)]; b; b = b->hnext) {
		if (b->pa != pa || b->code_sz != c->code_sz)
			continue;
		/* A block decoded under a larger CS limit must not run past
		 * this one's. */
		if (c->code_sz != SZ64 && rip + b->bytes - 1 > c->seg[SEG_CS].limit)
			break;
		return b;
	}
	return build(c, pa, rip);
}
