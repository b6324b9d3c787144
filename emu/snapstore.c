/* The chain of in-memory snapshots (emu/snapstore.h). */
#include <stdlib.h>
#include <string.h>

#include "emu/mem.h"
#include "emu/snap.h"
#include "emu/snapstore.h"

static uint64_t npages_of(const struct cpu *c)
{
	return c->bus->ram_size >> PAGE_SHIFT;
}

static size_t bitmap_words(const struct cpu *c)
{
	return (npages_of(c) >> 6) + 1;
}

static bool bit(const uint64_t *m, uint64_t p)
{
	return m[p >> 6] >> (p & 63) & 1;
}

static uint64_t snap_bytes(const struct cpu *c, const struct snapshot *s)
{
	return s->state_len + (uint64_t)s->npages * (PAGE_SIZE + sizeof *s->pageno) +
	       bitmap_words(c) * sizeof(uint64_t);
}

static void snap_release(struct snapshot *s)
{
	free(s->state);
	free(s->pageno);
	free(s->data);
	free(s->has);
	*s = (struct snapshot){ 0 };
}

struct snapstore *snapstore_new(struct cpu *c, uint64_t budget_bytes)
{
	struct snapstore *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->c = c;
	st->base = -1;
	st->budget = budget_bytes;
	return st;
}

void snapstore_free(struct snapstore *st)
{
	if (!st)
		return;
	for (int k = 0; k < st->n; k++)
		snap_release(&st->s[k]);
	free(st->s);
	free(st);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t acc = 0;
	for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
		acc |= w[k];
	return acc == 0;
}

/* Which pages the new snapshot must hold: those written since the base;
 * for the first one, every page that is not zero (the bus's bitmap says
 * which, when it was never cleared since RAM was zeroed). */
static bool wanted(const struct snapstore *st, uint64_t p)
{
	const struct bus *b = st->c->bus;
	if (st->n)
		return bus_page_dirty(b, p);
	if (!b->dirty_cleared)
		return bus_page_dirty(b, p) && !page_is_zero(b->ram + (p << PAGE_SHIFT));
	return !page_is_zero(b->ram + (p << PAGE_SHIFT));
}

static bool copy_pages(struct snapstore *st, struct snapshot *s)
{
	struct cpu *c = st->c;
	uint64_t np = npages_of(c);
	s->has = calloc(bitmap_words(c), sizeof *s->has);
	if (!s->has)
		return false;
	uint32_t n = 0;
	for (uint64_t p = 0; p < np; p++) {
		if (!wanted(st, p))
			continue;
		s->has[p >> 6] |= 1ull << (p & 63);
		n++;
	}
	s->pageno = malloc((n ? n : 1) * sizeof *s->pageno);
	s->data = malloc((n ? n : 1) * (size_t)PAGE_SIZE);
	if (!s->pageno || !s->data)
		return false;
	uint32_t k = 0;
	for (uint64_t p = 0; p < np && k < n; p++) {
		if (!bit(s->has, p))
			continue;
		s->pageno[k] = (uint32_t)p;
		memcpy(s->data + (size_t)k * PAGE_SIZE, c->bus->ram + (p << PAGE_SHIFT), PAGE_SIZE);
		k++;
	}
	s->npages = n;
	st->pages_copied += n;
	return true;
}

/* The contents of page p in snapshot s (which has it). */
static const uint8_t *page_in(const struct snapshot *s, uint32_t p)
{
	uint32_t lo = 0, hi = s->npages;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->pageno[mid] < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return s->data + (size_t)lo * PAGE_SIZE;
}

/* Merge snapshot j into j + 1: j + 1 then stands for both intervals, with
 * the newer version of every page either holds. */
static bool merge_into_next(struct snapstore *st, int j)
{
	struct snapshot *a = &st->s[j], *b = &st->s[j + 1];
	uint32_t n = 0, x = 0, y = 0;
	while (x < a->npages || y < b->npages) {
		if (y < b->npages && (x == a->npages || b->pageno[y] <= a->pageno[x])) {
			if (x < a->npages && a->pageno[x] == b->pageno[y])
				x++;
			y++;
		} else {
			x++;
		}
		n++;
	}
	uint32_t *pageno = malloc((n ? n : 1) * sizeof *pageno);
	uint8_t *data = malloc((n ? n : 1) * (size_t)PAGE_SIZE);
	if (!pageno || !data) {
		free(pageno);
		free(data);
		return false;
	}
	uint64_t before = snap_bytes(st->c, a) + snap_bytes(st->c, b);
	uint32_t k = 0;
	x = y = 0;
	while (x < a->npages || y < b->npages) {
		const uint8_t *src;
		if (y < b->npages && (x == a->npages || b->pageno[y] <= a->pageno[x])) {
			if (x < a->npages && a->pageno[x] == b->pageno[y])
				x++;
			pageno[k] = b->pageno[y];
			src = b->data + (size_t)y++ * PAGE_SIZE;
		} else {
			pageno[k] = a->pageno[x];
			src = a->data + (size_t)x++ * PAGE_SIZE;
		}
		b->has[pageno[k] >> 6] |= 1ull << (pageno[k] & 63);
		memcpy(data + (size_t)k++ * PAGE_SIZE, src, PAGE_SIZE);
	}
	free(b->pageno);
	free(b->data);
	b->pageno = pageno;
	b->data = data;
	b->npages = n;
	snap_release(a);
	memmove(&st->s[j], &st->s[j + 1], (size_t)(st->n - j - 1) * sizeof *st->s);
	st->n--;
	if (st->base > j)
		st->base--;
	st->bytes = st->bytes - before + snap_bytes(st->c, &st->s[j]);
	st->merged++;
	return true;
}

/* Past the budget: merge away the snapshot whose neighbours are closest,
 * never the newest nor the base. */
static void keep_budget(struct snapstore *st)
{
	while (st->bytes > st->budget && st->n > 2) {
		int best = -1;
		uint64_t span = UINT64_MAX;
		for (int j = 0; j < st->n - 1; j++) {
			if (j == st->base)
				continue;
			uint64_t prev = j ? st->s[j - 1].icount : 0;
			if (st->s[j + 1].icount - prev < span) {
				span = st->s[j + 1].icount - prev;
				best = j;
			}
		}
		if (best < 0 || !merge_into_next(st, best))
			break;
	}
}

int snapstore_find(const struct snapstore *st, uint64_t icount)
{
	int k = -1;
	for (int j = 0; j < st->n && st->s[j].icount <= icount; j++)
		k = j;
	return k;
}

int snapstore_take(struct snapstore *st)
{
	struct cpu *c = st->c;
	int at = snapstore_find(st, c->icount);
	if (at >= 0 && st->s[at].icount == c->icount) {
		/* A replay reached it: the machine is as it was then. */
		snap_dirty_reset(c);
		st->base = at;
		return at;
	}
	if (st->n && (st->base != st->n - 1 || at != st->n - 1))
		return -1;
	if (st->n == st->cap) {
		int cap = st->cap ? st->cap * 2 : 64;
		struct snapshot *ns = realloc(st->s, (size_t)cap * sizeof *ns);
		if (!ns)
			return -1;
		st->s = ns;
		st->cap = cap;
	}
	struct snapshot s = { .icount = c->icount };
	struct snap_io io;
	if (!snap_state_save(c, &io)) {
		free(io.buf);
		return -1;
	}
	s.state = io.buf;
	s.state_len = io.len;
	if (!copy_pages(st, &s)) {
		snap_release(&s);
		return -1;
	}
	st->s[st->n++] = s;
	st->base = st->n - 1;
	st->bytes += snap_bytes(c, &s);
	st->taken++;
	snap_dirty_reset(c);
	keep_budget(st);
	if (st->bytes > st->peak)
		st->peak = st->bytes;
	return st->base;
}

/* Page p as it was at snapshot k: the newest version at or before k. */
static void put_page(struct snapstore *st, int k, uint64_t p)
{
	uint8_t *dst = st->c->bus->ram + (p << PAGE_SHIFT);
	for (int j = k; j >= 0; j--) {
		if (bit(st->s[j].has, p)) {
			memcpy(dst, page_in(&st->s[j], (uint32_t)p), PAGE_SIZE);
			return;
		}
	}
	memset(dst, 0, PAGE_SIZE);
}

bool snapstore_restore(struct snapstore *st, int k)
{
	struct cpu *c = st->c;
	if (k < 0 || k >= st->n || st->base < 0)
		return false;
	/* Pages that may differ: dirty since the base, and held by any
	 * snapshot between the base and k. */
	int lo = st->base < k ? st->base : k, hi = st->base < k ? k : st->base;
	uint64_t words = bitmap_words(c);
	for (uint64_t w = 0; w < words; w++) {
		uint64_t m = c->bus->dirty[w];
		for (int j = lo + 1; j <= hi; j++)
			m |= st->s[j].has[w];
		while (m) {
			uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(m);
			m &= m - 1;
			if (p < npages_of(c))
				put_page(st, k, p);
		}
	}
	if (!snap_state_load(c, st->s[k].state, st->s[k].state_len))
		return false;
	snap_dirty_reset(c);
	st->base = k;
	return true;
}
