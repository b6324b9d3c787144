/* Paging: one walker for 32-bit, PAE and 4-level paging (SDM vol. 3A,
 * chapter 4), able to record each step for the debugger and the trace. */
#ifndef EMU_PAGING_H
#define EMU_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

/* Control-register bits the walker and the TLB depend on. */
#define CR0_WP   (1u << 16)
#define CR4_PSE  (1u << 4)
#define CR4_PAE  (1u << 5)
#define CR4_PGE  (1u << 7)
#define CR4_UMIP (1u << 11)
#define CR4_PCIDE (1u << 17)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)
#define EFER_NXE (1u << 11)

/* MAXPHYADDR, as CPUID.80000008h reports it. */
#define PHYS_BITS 39
#define PHYS_MASK ((1ull << PHYS_BITS) - 1)

/* Page-fault error code bits (SDM vol. 3A, 4.7). */
#define PF_P    (1u << 0)  /* 0: not present; 1: protection violation */
#define PF_W    (1u << 1)  /* the access was a write */
#define PF_U    (1u << 2)  /* a user-mode access */
#define PF_RSVD (1u << 3)  /* a reserved bit was set in an entry */
#define PF_I    (1u << 4)  /* an instruction fetch */

/* How an access is made: its kind, and whether it is a user-mode access
 * (CPL 3 and not an implicit supervisor access such as a GDT read). */
enum walk_kind { WALK_READ, WALK_WRITE, WALK_FETCH };

struct walk_step {
	uint8_t level;       /* 4 PML4, 3 PDPT, 2 PD, 1 PT */
	uint64_t entry_pa;   /* guest-physical address of the entry */
	uint64_t value;      /* the entry as read, before A/D updates */
};

struct walk {
	uint64_t lin;        /* the linear address */
	uint64_t pa;         /* the result, if !fault */
	uint64_t page_size;  /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	int nsteps;
	struct walk_step step[4];
	bool writable, user, nx, global; /* the combined rights of the walk */
	bool implicit;       /* an implicit supervisor access (GDT, IDT, TSS) */
	bool fault;          /* a page fault: error code below */
	uint32_t error;
};

/* How a walk is made: a user-mode access (CPL 3, explicit), an implicit
 * supervisor access (descriptor tables, TSS: SMAP applies whatever
 * RFLAGS.AC says), and whether A/D bits are written (the debugger walks
 * without side effects). */
#define WALK_USER     1u
#define WALK_IMPLICIT 2u
#define WALK_UPDATE   4u

/* Translate lin for an access of `kind`. Returns false on a page fault
 * (w->error has the error code). */
bool paging_walk(struct cpu *c, uint64_t lin, enum walk_kind kind, unsigned flags,
		 struct walk *w);

/* Whether a completed walk's combined rights allow an access (SDM 4.6). */
bool paging_allows(const struct cpu *c, const struct walk *w, enum walk_kind kind,
		   bool user);

/* Load the four PAE PDPTEs from CR3 (SDM vol. 3A, 4.4.1). False if one
 * has reserved bits set: the MOV to CR0/CR3/CR4 then raises #GP(0). */
bool paging_load_pdptes(struct cpu *c, uint64_t cr3);

/* Paging is on and which kind. */
static inline bool paging_on(const struct cpu *c)
{
	return (c->cr0 & CR0_PG) != 0;
}

#endif
