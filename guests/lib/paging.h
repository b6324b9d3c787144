/* 4-level paging helpers (SDM vol. 3, 4.5). The runtime starts with the
 * first 4 GiB identity-mapped by 2 MiB pages (entry.S); these functions
 * add, change and remove 4 KiB mappings anywhere in the 48-bit space,
 * splitting a large page into 512 small ones when a mapping falls in it. */
#ifndef GUESTS_LIB_PAGING_H
#define GUESTS_LIB_PAGING_H

#include <stdbool.h>
#include <stdint.h>

/* Paging-structure entry bits (SDM vol. 3, 4.5, tables 4-15 to 4-20). */
#define PTE_P    (1ull << 0)    /* present */
#define PTE_W    (1ull << 1)    /* writable */
#define PTE_U    (1ull << 2)    /* user-accessible */
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_A    (1ull << 5)    /* accessed: set by the CPU */
#define PTE_D    (1ull << 6)    /* dirty: set by the CPU on a write (leaf only) */
#define PTE_PS   (1ull << 7)    /* a 2 MiB (PDE) or 1 GiB (PDPTE) page */
#define PTE_G    (1ull << 8)    /* global (leaf only, with CR4.PGE) */
#define PTE_NX   (1ull << 63)   /* execute-disable, with EFER.NXE */
#define PTE_ADDR 0x000ffffffffff000ull   /* bits 51:12 */

typedef uint64_t pte_t;

/* Map the 4 KiB page at va to the frame at pa with flags (PTE_P is
 * added). The intermediate entries get P, W and U so that flags alone
 * decide the access rights. Invalidates the TLB entry for va. */
void map_page(uint64_t va, uint64_t pa, uint64_t flags);

/* Map a 2 MiB page (PDE with PS) or, where the CPU has 1 GiB pages, a
 * 1 GiB page (PDPTE with PS). va and pa must be aligned. */
void map_large_page(uint64_t va, uint64_t pa, uint64_t flags, int level);
#define LEVEL_2M 2
#define LEVEL_1G 3

/* Make va not present (and invalidate it). */
void unmap_page(uint64_t va);

/* The leaf entry for va (a PTE, or a PDE/PDPTE with PS), or NULL if a
 * table above it is missing; a PTE is returned even when not present. *level is 1 for a PTE, 2 for a PDE, 3 for a
 * PDPTE. Changing the entry needs invlpg() afterwards. */
pte_t *pte_lookup(uint64_t va, int *level);

/* Canonical-address helpers (SDM vol. 1, 3.3.7.1). */
static inline bool is_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

#endif
