/* The page walker (SDM vol. 3A, 4.3 32-bit, 4.4 PAE, 4.5 4-level paging;
 * 4.6 access rights; 4.7 page-fault error codes; 4.8 accessed and dirty). */
#include "emu/bus.h"
#include "emu/mem.h"
#include "emu/paging.h"

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_PS  (1ull << 7)
#define PTE_G   (1ull << 8)
#define PTE_XD  (1ull << 63)

/* Paging-structure entries are at guest-physical addresses: in a VMX
 * guest with EPT they are translated too (an EPT violation on one is a
 * VM exit; a walk without side effects just fails). NO_LIN: the access
 * has no linear address (PDPTE loads). */
#define NO_LIN (~0ull)

static uint64_t read_entry(struct cpu *c, uint64_t lin, uint64_t pa, int bytes, bool update)
{
	if (unlikely(c->vmx.ept_active)) {
		if (update)
			pa = vmx_ept_translate(c, pa, WALK_READ, lin,
					       lin == NO_LIN ? EPT_NO_LINEAR : EPT_WALK_ENTRY, NULL);
		else if (!vmx_ept_peek(c, pa, &pa))
			return 0;
	}
	return bus_read(c->bus, pa, bytes);
}

/* Set bits in an entry (A, D). Goes through the guest-memory write path so
 * that decoded code on that page, if any, is dropped. */
static void set_bits(struct cpu *c, uint64_t lin, uint64_t pa, int bytes, uint64_t old,
		     uint64_t bits)
{
	if ((old & bits) == bits)
		return;
	if (unlikely(c->vmx.ept_active))
		pa = vmx_ept_translate(c, pa, WALK_WRITE, lin, EPT_WALK_ENTRY, NULL);
	uint64_t v = old | bits;
	if (pa + bytes <= c->bus->ram_size)
		emu_phys_write(c, pa, &v, (size_t)bytes);
	else
		bus_write(c->bus, pa, bytes, v);
}

bool paging_load_pdptes(struct cpu *c, uint64_t cr3)
{
	uint64_t base = cr3 & 0xffffffe0u;
	for (int k = 0; k < 4; k++) {
		uint64_t e = read_entry(c, NO_LIN, base + 8 * k, 8, true);
		/* Reserved in a present PDPTE: bits 2:1, 8:5, 63:MAXPHYADDR. */
		if ((e & PTE_P) && (e & (0x1e6ull | ~PHYS_MASK)))
			return false;
		c->pdpte[k] = e;
	}
	return true;
}

static bool fault(struct walk *w, uint32_t err)
{
	w->fault = true;
	w->error = err;
	return false;
}

/* The access-rights check on the combined rights of a walk (SDM 4.6). */
bool paging_allows(const struct cpu *c, const struct walk *w, enum walk_kind kind,
		   bool user)
{
	bool wp = c->cr0 & CR0_WP;
	if (user) {
		if (!w->user)
			return false;
		if (kind == WALK_WRITE && !w->writable)
			return false;
		return !(kind == WALK_FETCH && w->nx);
	}
	if (kind == WALK_FETCH)
		return !w->nx && !(w->user && (c->cr4 & CR4_SMEP));
	/* Supervisor data access to a user page under SMAP: allowed only for
	 * explicit accesses with RFLAGS.AC set (SDM vol. 3A, 4.6.1). */
	if (w->user && (c->cr4 & CR4_SMAP) && (w->implicit || !(c->rflags & FL_AC)))
		return false;
	return !(kind == WALK_WRITE && wp && !w->writable);
}

bool paging_walk(struct cpu *c, uint64_t lin, enum walk_kind kind, unsigned flags,
		 struct walk *w)
{
	bool user = flags & WALK_USER, update = flags & WALK_UPDATE;
	bool pae = c->cr4 & CR4_PAE, lm = c->efer & EFER_LMA;
	bool nxe = (c->efer & EFER_NXE) && pae;
	uint64_t rsvd = pae ? (~PHYS_MASK & ~PTE_XD) | (nxe ? 0 : PTE_XD) : 0;
	uint32_t base_err = (kind == WALK_WRITE ? PF_W : 0) | (user ? PF_U : 0) |
			    (kind == WALK_FETCH && (nxe || (c->cr4 & CR4_SMEP)) ? PF_I : 0);
	int level, bytes = pae ? 8 : 4;
	uint64_t table;

	*w = (struct walk){ .lin = lin, .writable = true, .user = true,
			    .implicit = (flags & WALK_IMPLICIT) != 0 };
	if (lm) {
		level = 4;
		table = c->cr3 & PHYS_MASK & ~0xfffull;
	} else if (pae) {
		/* PAE: the PDPTE comes from the registers loaded with CR3. */
		int k = (lin >> 30) & 3;
		uint64_t e = c->pdpte[k];
		w->step[w->nsteps++] = (struct walk_step){ 3, (c->cr3 & 0xffffffe0u) + 8 * k, e };
		if (!(e & PTE_P))
			return fault(w, base_err);
		level = 2;
		table = e & PHYS_MASK & ~0xfffull;
	} else {
		level = 2;
		table = c->cr3 & 0xfffff000u;
		lin &= 0xffffffffu;
	}

	for (;; level--) {
		unsigned shift = pae ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
		unsigned idx = pae ? (lin >> shift) & 511 : (lin >> shift) & 1023;
		uint64_t epa = table + (uint64_t)idx * bytes;
		uint64_t e = read_entry(c, w->lin, epa, bytes, update);
		w->step[w->nsteps++] = (struct walk_step){ (uint8_t)level, epa, e };
		if (!(e & PTE_P))
			return fault(w, base_err);

		bool large = level > 1 && (e & PTE_PS);
		uint64_t r = rsvd;
		if (level == 4 && pae)
			r |= PTE_PS; /* PML4E bit 7 is reserved */
		if (large && pae)
			/* large-page address bits below the page size, above PAT */
			r |= ((1ull << shift) - 1) & ~0x1fffull;
		if (large && !pae) {
			if (!(c->cr4 & CR4_PSE))
				large = false;
			else
				/* PSE-36: PA[39:32] in bits 20:13; bit 21 reserved */
				r |= (1ull << 21) | ((~PHYS_MASK >> 32 << 13) & 0x1fe000ull);
		}
		if (level == 3 && large && !lm)
			r |= PTE_PS; /* no 1 GiB pages under PAE */
		if (e & r)
			return fault(w, base_err | PF_P | PF_RSVD);

		w->writable &= (e & PTE_RW) != 0;
		w->user &= (e & PTE_US) != 0;
		w->nx |= nxe && (e & PTE_XD);

		if (level == 1 || large) {
			uint64_t size = 1ull << shift;
			w->page_size = size;
			w->global = (c->cr4 & CR4_PGE) && (e & PTE_G);
			if (!pae && large)
				w->pa = (e & 0xffc00000u) | ((e >> 13 & 0xff) << 32) | (lin & (size - 1));
			else
				w->pa = (e & PHYS_MASK & ~(size - 1)) | (lin & (size - 1));
			if (!paging_allows(c, w, kind, user))
				return fault(w, base_err | PF_P);
			if (update) {
				/* A on every entry used, D on the last one for a write. */
				for (int k = 0; k < w->nsteps; k++) {
					const struct walk_step *s = &w->step[k];
					if (pae && !lm && s->level == 3)
						continue; /* PDPTEs have no A bit under PAE */
					bool last = k == w->nsteps - 1;
					set_bits(c, w->lin, s->entry_pa, bytes, s->value,
						 PTE_A | (last && kind == WALK_WRITE ? PTE_D : 0));
				}
			}
			return true;
		}
		table = pae ? e & PHYS_MASK & ~0xfffull : e & 0xfffff000u;
	}
}
