/* Extended page tables (SDM vol. 3C, 28.2): the walk from guest-physical
 * to host-physical addresses, its misconfigurations (28.2.3.1) and
 * violations (28.2.3.2), the accessed and dirty flags (28.2.4), and the
 * EPT_POINTER checks of VM entry (26.2.1.1). In a guest with EPT every
 * guest-physical address goes through vmx_ept_translate(): the final
 * address of a linear access, each entry of the guest's own page walk,
 * and the PDPTEs a MOV to CR3 loads. */
#include "emu/bus.h"
#include "emu/event.h"
#include "emu/paging.h"
#include "vmx/ept.h"
#include "vmx/vmexit.h"

#define EPT_R  (1ull << 0)
#define EPT_W  (1ull << 1)
#define EPT_X  (1ull << 2)
#define EPT_PS (1ull << 7)
#define EPT_A  (1ull << 8)
#define EPT_D  (1ull << 9)

/* Memory types an EPT leaf (bits 5:3) or the EPTP (bits 2:0) may name:
 * UC 0, WC 1, WT 4, WP 5, WB 6 (28.2.6.1); 2, 3 and 7 are reserved. */
static bool memtype_ok(unsigned t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

bool vmx_eptp_ok(uint64_t eptp)
{
	unsigned type = eptp & 7, levels = ((eptp >> 3) & 7) + 1;
	return (type == 0 || type == 6) && levels == 4 && !(eptp & 0xf80) &&
	       !(eptp & ~PHYS_MASK);
}

/* Whether an entry is misconfigured (28.2.3.1): write without read,
 * reserved bits (above MAXPHYADDR; 7:3 of a PML4E or a non-leaf
 * entry; the address bits below a large page), or a leaf's memory type
 * reserved. Execute-only entries are allowed (EPT_VPID_CAP bit 0). */
static bool misconfigured(uint64_t e, int level, bool leaf)
{
	if ((e & (EPT_R | EPT_W)) == EPT_W)
		return true;
	if (e & ~PHYS_MASK & ~(1ull << 63) & ~(0x7ffull << 52))
		return true;  /* bits 51:MAXPHYADDR; 63 (#VE) and 62:52 are ignored */
	if (level == 4 && (e & 0xf8))
		return true;
	if (!leaf)
		return (e & 0xf8) != 0;
	if (!memtype_ok((e >> 3) & 7))
		return true;
	if (level > 1) {
		uint64_t size = 1ull << (12 + 9 * (level - 1));
		if (e & (size - 1) & ~0xfffull)
			return true;
	}
	return false;
}

/* The walk itself, without side effects beyond A/D (when update is set).
 * Fills w; returns false on a misconfiguration or when the entry a step
 * needs is not present (w->misconfig says which). */
bool vmx_ept_walk(struct cpu *c, uint64_t gpa, bool write, bool update, struct ept_walk *w)
{
	uint64_t eptp = VMF(c, EPT_POINTER);
	uint64_t table = eptp & PHYS_MASK & ~0xfffull;
	bool ad = eptp & (1u << 6);
	*w = (struct ept_walk){ .gpa = gpa, .rights = 7 };
	if (gpa & ~PHYS_MASK) {
		w->rights = 0;
		return false; /* beyond the guest-physical width: a violation */
	}
	for (int level = 4;; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t epa = table + ((gpa >> shift) & 511) * 8;
		uint64_t e = 0;
		if (epa + 8 <= c->bus->ram_size)
			emu_phys_read(c, epa, &e, 8);
		else
			e = bus_read(c->bus, epa, 8);
		w->step[w->nsteps++] = (struct walk_step){ (uint8_t)level, epa, e };
		if (!(e & 7)) {
			w->rights = 0;
			return false;
		}
		bool leaf = level == 1 || ((level == 2 || level == 3) && (e & EPT_PS));
		if (misconfigured(e, level, leaf)) {
			w->misconfig = true;
			return false;
		}
		w->rights &= (unsigned)(e & 7);
		if (leaf) {
			uint64_t size = 1ull << shift;
			w->page_size = size;
			w->hpa = (e & PHYS_MASK & ~(size - 1)) | (gpa & (size - 1));
			if (ad && update) {
				/* A on every entry used, D on the leaf for a write (28.2.4) */
				for (int k = 0; k < w->nsteps; k++) {
					const struct walk_step *s = &w->step[k];
					uint64_t v = s->value | EPT_A |
						     (k == w->nsteps - 1 && write ? EPT_D : 0);
					if (v != s->value && s->entry_pa + 8 <= c->bus->ram_size)
						emu_phys_write(c, s->entry_pa, &v, 8);
				}
			}
			return true;
		}
		table = e & PHYS_MASK & ~0xfffull;
	}
}

static void emit_walk(struct cpu *c, const struct ept_walk *w, enum walk_kind kind)
{
	struct event e = { .type = EVT_EPT_WALK };
	e.u.ept.w = w;
	e.u.ept.kind = (uint8_t)kind;
	evt_emit(c, &e);
}

/* The exit qualification of an EPT violation (28.2.3.2, table 27-7):
 * the access (bits 2:0), what the entries allowed (5:3), whether a linear
 * address is known (7) and whether the access was to the final page
 * rather than an entry of the guest's page walk (8). */
static uint64_t violation_qual(const struct ept_walk *w, enum walk_kind kind, unsigned how,
			       bool ad_walk)
{
	uint64_t q = kind == WALK_WRITE ? 2 : kind == WALK_FETCH ? 4 : 1;
	if (ad_walk)
		q |= 3;  /* a paging-structure access with EPT A/D: read and write (table 27-7) */
	q |= (uint64_t)w->rights << 3;
	if (how != EPT_NO_LINEAR)
		q |= 1u << 7;
	if (how == EPT_FINAL)
		q |= 1u << 8;
	return q;
}

uint64_t vmx_ept_translate(struct cpu *c, uint64_t gpa, int kind_, uint64_t lin,
			   unsigned how, unsigned *rights)
{
	enum walk_kind kind = (enum walk_kind)kind_;
	/* With EPT accessed and dirty flags on, the guest's own page walk
	 * counts as a write to its paging structures (28.2.5). */
	bool ad_walk = how == EPT_WALK_ENTRY && (VMF(c, EPT_POINTER) & (1u << 6));
	if (ad_walk)
		kind = WALK_WRITE;
	struct ept_walk w;
	bool ok = vmx_ept_walk(c, gpa, kind == WALK_WRITE, true, &w);
	if (c->trace_walks)
		emit_walk(c, &w, kind);
	if (!ok && w.misconfig) {
		VMF(c, GUEST_PHYSICAL_ADDRESS) = gpa;
		vmexit_simple(c, EXIT_REASON_EPT_MISCONFIG, 0);
	}
	unsigned need = kind == WALK_WRITE ? 2 : kind == WALK_FETCH ? 4 : 1;
	if (!ok || !(w.rights & need)) {
		VMF(c, GUEST_PHYSICAL_ADDRESS) = gpa;
		struct exit_info x = { .reason = EXIT_REASON_EPT_VIOLATION,
				       .qual = violation_qual(&w, kind, how, ad_walk),
				       .guest_linear = how != EPT_NO_LINEAR ? lin : 0 };
		vmexit(c, &x);
	}
	if (rights) {
		/* bit 3: a later write may skip the walk (no D flag to set) */
		bool d_set = w.step[w.nsteps - 1].value & EPT_D;
		bool ad = VMF(c, EPT_POINTER) & (1u << 6);
		*rights = w.rights | (!ad || kind == WALK_WRITE || d_set ? 8u : 0u);
	}
	return w.hpa;
}

bool vmx_ept_peek(struct cpu *c, uint64_t gpa, uint64_t *hpa)
{
	struct ept_walk w;
	if (!vmx_ept_walk(c, gpa, false, false, &w) || !(w.rights & 1))
		return false;
	*hpa = w.hpa;
	return true;
}
