/* The paging helpers (paging.h). Page tables are identity-mapped, so a
 * physical address taken from an entry is also a usable pointer. */
#include "lib/alloc.h"
#include "lib/paging.h"
#include "lib/test.h"
#include "lib/x86.h"

/* The index of va into the table at level (4 = PML4 ... 1 = PT). */
static unsigned idx(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

static pte_t *table_of(pte_t e)
{
	return (pte_t *)(uintptr_t)(e & PTE_ADDR);
}

/* Replace a large-page entry by a table of 512 entries mapping the same
 * memory with the same rights: the next level down. A 2 MiB page becomes
 * 512 PTEs, a 1 GiB page 512 2 MiB PDEs. */
static void split(pte_t *e, int level)
{
	pte_t *t = alloc_page();
	uint64_t step = 1ull << (12 + 9 * (level - 2));
	/* A PTE has no PS bit: bit 7 there is PAT, so drop PS for level 1. */
	pte_t keep = *e & ~PTE_ADDR & (level == 2 ? ~PTE_PS : ~0ull);
	uint64_t base = *e & PTE_ADDR & ~(step * 512 - 1);
	for (int i = 0; i < 512; i++)
		t[i] = (base + i * step) | keep;
	*e = (uintptr_t)t | PTE_P | PTE_W | PTE_U;
}

/* The entry for va at level `want`, creating or splitting tables above. */
static pte_t *walk_create(uint64_t va, int want)
{
	pte_t *t = (pte_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	for (int level = 4; level > want; level--) {
		pte_t *e = &t[idx(va, level)];
		if (!(*e & PTE_P))
			*e = (uintptr_t)alloc_page() | PTE_P | PTE_W | PTE_U;
		else if (*e & PTE_PS)
			split(e, level);
		t = table_of(*e);
	}
	return &t[idx(va, want)];
}

void map_page(uint64_t va, uint64_t pa, uint64_t flags)
{
	if (!is_canonical(va) || (va | pa) & 0xfff)
		TEST_FAIL("map_page: bad address 0x%lx -> 0x%lx", va, pa);
	*walk_create(va, 1) = pa | flags | PTE_P;
	invlpg((void *)va);
}

void map_large_page(uint64_t va, uint64_t pa, uint64_t flags, int level)
{
	uint64_t size = level == LEVEL_1G ? 1ull << 30 : 1ull << 21;
	if (!is_canonical(va) || (va | pa) & (size - 1))
		TEST_FAIL("map_large_page: bad address 0x%lx -> 0x%lx", va, pa);
	pte_t *e = walk_create(va, level);
	*e = pa | flags | PTE_P | PTE_PS;
	invlpg((void *)va);
}

pte_t *pte_lookup(uint64_t va, int *level)
{
	pte_t *t = (pte_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	for (int l = 4;; l--) {
		pte_t *e = &t[idx(va, l)];
		bool large = l <= 3 && (*e & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS);
		if (l == 1 || large) {
			if (level)
				*level = l;
			return e;
		}
		if (!(*e & PTE_P))
			return NULL;
		t = table_of(*e);
	}
}

void unmap_page(uint64_t va)
{
	int level;
	pte_t *e = pte_lookup(va, &level);
	if (!e)
		return;
	if (level != 1) {
		/* Unmap 4 KiB out of a large page: split it first. */
		e = walk_create(va, 1);
	}
	*e &= ~PTE_P;
	invlpg((void *)va);
}
