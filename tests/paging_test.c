/* The page walker on tables written here: 32-bit, PAE and 4-level paging,
 * rights, reserved bits, A/D bits and error codes (SDM vol. 3A, chapter 4). */
#include <criterion/criterion.h>

#include "emu/cpu.h"
#include "emu/mem.h"
#include "emu/paging.h"

#define RAM (32u << 20)

static struct cpu *c;

static void setup(void)
{
	c = emu_new(RAM);
	cr_assert_not_null(c);
	emu_reset_flat(c, SZ32);
}

static void teardown(void)
{
	emu_free(c);
}

static void put32(uint64_t pa, uint32_t v) { emu_phys_write(c, pa, &v, 4); }
static void put64(uint64_t pa, uint64_t v) { emu_phys_write(c, pa, &v, 8); }
static uint64_t get64(uint64_t pa)
{
	uint64_t v = 0;
	emu_phys_read(c, pa, &v, 8);
	return v;
}

TestSuite(paging, .init = setup, .fini = teardown);

Test(paging, bits32_4k_and_4m)
{
	/* 32-bit paging: PD at 0x10000, PT at 0x11000.
	 * 0x00400000 -> PT entry 5 -> 0x00123000, user, read-only
	 * 0x00800000 -> 4 MiB page at 0x01c00000 (PSE), supervisor, writable */
	c->cr0 |= CR0_PG;
	c->cr3 = 0x10000;
	c->cr4 = CR4_PSE;
	put32(0x10000 + 1 * 4, 0x11000 | 0x7);         /* PDE 1: P, RW, US */
	put32(0x11000 + 5 * 4, 0x123000 | 0x5);        /* PTE: P, US, read-only */
	put32(0x10000 + 2 * 4, 0x1c00000 | 0x83);      /* PDE 2: P, RW, PS */
	struct walk w;
	cr_assert(paging_walk(c, 0x405abc, WALK_READ, WALK_USER | WALK_UPDATE, &w));
	cr_assert_eq(w.pa, 0x123abc);
	cr_assert_eq(w.nsteps, 2);
	cr_assert_eq(w.page_size, 4096);
	cr_assert(get64(0x11000 + 5 * 4) & 0x20, "accessed bit set");

	/* a user write to a read-only page: protection fault, W and U set */
	cr_assert_not(paging_walk(c, 0x405abc, WALK_WRITE, WALK_USER, &w));
	cr_assert_eq(w.error, PF_P | PF_W | PF_U);
	/* a supervisor write is allowed while CR0.WP = 0, not once it is set */
	cr_assert(paging_walk(c, 0x405abc, WALK_WRITE, 0, &w));
	c->cr0 |= CR0_WP;
	cr_assert_not(paging_walk(c, 0x405abc, WALK_WRITE, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_W);

	cr_assert(paging_walk(c, 0x812345, WALK_WRITE, WALK_UPDATE, &w));
	cr_assert_eq(w.pa, 0x1c12345);
	cr_assert_eq(w.page_size, 4u << 20);
	cr_assert_eq(get64(0x10000 + 2 * 4) & 0x60, 0x60, "A and D set by the write");
	/* a user access to the supervisor page */
	cr_assert_not(paging_walk(c, 0x812345, WALK_READ, WALK_USER, &w));
	cr_assert_eq(w.error, PF_P | PF_U);
	/* not present */
	cr_assert_not(paging_walk(c, 0xc00000, WALK_READ, 0, &w));
	cr_assert_eq(w.error, 0);
	/* PSE-36: bit 21 of a 4 MiB PDE is reserved */
	put32(0x10000 + 3 * 4, 0x1c00000 | (1u << 21) | 0x83);
	cr_assert_not(paging_walk(c, 0xc00000, WALK_READ, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_RSVD);
	/* without CR4.PSE the PS bit is ignored: the PDE points to a table */
	c->cr4 = 0;
	put32(0x1c00000 + 0x12 * 4, 0x456000 | 1);
	cr_assert(paging_walk(c, 0x812345, WALK_READ, 0, &w));
	cr_assert_eq(w.pa, 0x456345);
}

Test(paging, pae_2m_nx_and_pdptes)
{
	/* PAE: PDPT at 0x20000 (32-byte aligned), PD at 0x21000.
	 * 0x40000000 (PDPTE 1) -> PD entry 3 -> 2 MiB page at 0x00600000, NX */
	c->cr4 = CR4_PAE;
	c->efer |= EFER_NXE;
	put64(0x20000 + 8, 0x21000 | 1);
	put64(0x21000 + 3 * 8, 0x600000 | 0x83 | (1ull << 63));
	cr_assert(paging_load_pdptes(c, 0x20000));
	c->cr3 = 0x20000;
	c->cr0 |= CR0_PG;
	struct walk w;
	cr_assert(paging_walk(c, 0x40654321, WALK_READ, 0, &w));
	cr_assert_eq(w.pa, 0x654321);
	cr_assert_eq(w.page_size, 2u << 20);
	cr_assert_eq(w.step[0].level, 3, "the PDPTE is the first step");
	/* fetch from an NX page: protection fault with I/D */
	cr_assert_not(paging_walk(c, 0x40654321, WALK_FETCH, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_I);
	/* reserved bits in a 2 MiB PDE (bits 20:13) */
	put64(0x21000 + 4 * 8, 0x800000 | 0x83 | (1u << 13));
	cr_assert_not(paging_walk(c, 0x40800000, WALK_READ, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_RSVD);
	/* XD without EFER.NXE is a reserved bit */
	c->efer &= ~(uint64_t)EFER_NXE;
	cr_assert_not(paging_walk(c, 0x40654321, WALK_READ, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_RSVD);
	/* a PDPTE with reserved bits (2:1) cannot be loaded: MOV CR3 is #GP */
	put64(0x20000 + 16, 0x22000 | 1 | 2);
	cr_assert_not(paging_load_pdptes(c, 0x20000));
}

Test(paging, four_level_1g_reserved_and_smep)
{
	c->cr4 = CR4_PAE;
	c->efer |= EFER_LME | EFER_LMA | EFER_NXE;
	c->cr0 |= CR0_PG;
	c->cr3 = 0x30000;
	put64(0x30000, 0x31000 | 0x7);                    /* PML4E 0: user */
	put64(0x31000 + 8, 0x40000000 | 0x87);            /* PDPTE 1: 1 GiB, user */
	put64(0x31000 + 2 * 8, 0x32000 | 0x7);            /* PDPTE 2 -> PD */
	put64(0x32000, 0x33000 | 0x3);                    /* PDE 0 -> PT, supervisor */
	put64(0x33000 + 8, 0x777000 | 0x3);               /* PTE 1 */
	struct walk w;
	cr_assert(paging_walk(c, 0x40abcdef, WALK_READ, WALK_USER | WALK_UPDATE, &w));
	cr_assert_eq(w.pa, 0x40abcdef);
	cr_assert_eq(w.page_size, 1u << 30);
	cr_assert(get64(0x30000) & 0x20, "A set in the PML4E too");

	cr_assert(paging_walk(c, 0x80001234, WALK_WRITE, WALK_UPDATE, &w));
	cr_assert_eq(w.pa, 0x777234);
	cr_assert_eq(w.nsteps, 4);
	cr_assert_eq(get64(0x33000 + 8) & 0x60, 0x60);
	cr_assert_eq(get64(0x32000) & 0x40, 0, "D only in the last entry");

	/* SMEP: a supervisor fetch from a user page */
	c->cr4 |= CR4_SMEP;
	cr_assert_not(paging_walk(c, 0x40abcdef, WALK_FETCH, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_I);
	/* SMAP: a supervisor read of a user page faults unless RFLAGS.AC,
	 * and always for implicit accesses */
	c->cr4 |= CR4_SMAP;
	cr_assert_not(paging_walk(c, 0x40abcdef, WALK_READ, 0, &w));
	c->rflags |= FL_AC;
	cr_assert(paging_walk(c, 0x40abcdef, WALK_READ, 0, &w));
	cr_assert_not(paging_walk(c, 0x40abcdef, WALK_READ, WALK_IMPLICIT, &w));
	/* bit 7 of a PML4E is reserved */
	put64(0x30000 + 8, 0x34000 | 0x83);
	cr_assert_not(paging_walk(c, 0x8000000000ull, WALK_READ, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_RSVD);
	/* address bits above MAXPHYADDR (39) are reserved */
	put64(0x30000 + 16, (1ull << 40) | 0x1);
	cr_assert_not(paging_walk(c, 0x10000000000ull, WALK_READ, 0, &w));
	cr_assert_eq(w.error, PF_P | PF_RSVD);
}

/* SMAP through the TLB: once a supervisor read of a user page was allowed
 * with RFLAGS.AC set, clearing AC must make the next read fault again. */
Test(paging, smap_ac_is_not_cached)
{
	c->cr4 = CR4_PAE | CR4_SMAP;
	c->efer |= EFER_LME | EFER_LMA;
	c->cr0 |= CR0_PG;
	c->cr3 = 0x30000;
	put64(0x30000, 0x31000 | 0x7);
	put64(0x31000, 0x0 | 0x87); /* 1 GiB user page at 0 */
	emu_update_mode(c);
	tlb_update_ctx(c);
	emu_flush_tlb(c);
	c->code_sz = SZ64;
	/* mov al, [0x5000] at 0x1000 (supervisor code fetched from... a user
	 * page: SMEP is off, so the fetch is fine) */
	emu_phys_write(c, 0x1000, "\x8a\x04\x25\x00\x50\x00\x00", 7);
	c->exc_stop = true;
	emu_set_rflags(c, FL_1 | FL_AC);
	c->rip = 0x1000;
	cr_assert_eq(emu_run(c, 1), EMU_STOP_BUDGET, "AC set: allowed");
	emu_set_rflags(c, FL_1);
	c->rip = 0x1000;
	cr_assert_eq(emu_run(c, 1), EMU_STOP_EXCEPTION, "AC clear: #PF, not a stale TLB hit");
	cr_assert_eq(c->exc.vector, VEC_PF);
}
