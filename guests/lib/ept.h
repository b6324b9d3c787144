/* Extended page tables for hypervisors written on the runtime (SDM vol.
 * 3C, 28.3). An EPT maps guest-physical addresses (what a guest thinks
 * is physical memory) to host-physical ones, with read, write and execute
 * rights; an access it does not allow is an EPT violation, a VM exit the
 * hypervisor handles (an MMIO device, say). */
#ifndef GUESTS_LIB_EPT_H
#define GUESTS_LIB_EPT_H

#include <stdint.h>

/* EPT entry bits (28.3.2, tables 28-1 to 28-6). */
#define EPT_R     (1ull << 0)
#define EPT_W     (1ull << 1)
#define EPT_X     (1ull << 2)
#define EPT_RWX   (EPT_R | EPT_W | EPT_X)
#define EPT_WB    (6ull << 3)     /* a leaf's memory type: write-back */
#define EPT_LARGE (1ull << 7)     /* a 2 MiB (PDE) or 1 GiB (PDPTE) leaf */
#define EPT_ADDR  0x000ffffffffff000ull

/* EPT-violation exit qualification (table 27-7). */
#define EPT_QUAL_READ   (1u << 0)
#define EPT_QUAL_WRITE  (1u << 1)
#define EPT_QUAL_FETCH  (1u << 2)

struct ept {
	uint64_t *pml4;           /* the top table; its address is in the EPTP */
	/* Where its tables come from: alloc_page() when NULL. A hypervisor
	 * that throws an EPT away and builds it again (a shadow EPT, see
	 * guests/nested/ept02.c) gives its own allocator. */
	void *(*alloc)(struct ept *e);
};

/* An empty EPT: every guest-physical access is a violation. Its tables
 * come from alloc_page(). */
void ept_init(struct ept *e);
/* The same, with tables from alloc(e). */
void ept_init_from(struct ept *e, void *(*alloc)(struct ept *e));

/* Map [gpa, gpa + size) to [hpa, hpa + size) with rights (EPT_R, EPT_W,
 * EPT_X), write-back. Addresses and size must be 4 KiB-aligned; 2 MiB
 * pages are used where both addresses are aligned to them. */
void ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t rights);

/* The EPT pointer for the VMCS (24.6.11): a 4-level walk, write-back. */
uint64_t ept_pointer(const struct ept *e);

/* A software walk: the host-physical address gpa maps to, or -1 if it
 * is not mapped. */
uint64_t ept_lookup(const struct ept *e, uint64_t gpa);

#endif
