/* The Walk pane: the two-dimensional walk of a guest-linear address (SDM
 * vol. 3C, 28.2.1): each level of the guest's page tables, and before it
 * the EPT walk of that entry's guest-physical address; then the EPT walk
 * of the final guest-physical address. Each memory reference is a line:
 * its address, the value read, the bits decoded. The step that fails is
 * red. ] and [ step through the references one at a time.
 *
 * In VMX root operation (after an exit) the walk is the guest's: CR0,
 * CR3, CR4, EFER and the PDPTEs come from the VMCS guest-state area, the
 * EPT from EPT_POINTER. The walkers run without side effects
 * (paging_walk without WALK_UPDATE, vmx_ept_walk without update). */
#include "gui/gui.h"
#include "vmx/controls.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"

#define MAX_REFS 32

struct ref {
	int glevel;          /* the guest level 4..1, 0: the final address */
	int elevel;          /* the EPT level 4..1, 0: the guest's own entry */
	uint64_t addr, value;
	bool bad;
};

struct walk2d {
	struct ref ref[MAX_REFS];
	int n;
	bool ept, paging, ok;
	uint64_t gpa, hpa;
};

/* The machine's registers for a walk of the guest's view, and back. */
struct view {
	uint64_t cr0, cr3, cr4, efer, pdpte[4];
	bool ept_active;
};

static void swap_view(struct cpu *c, struct view *v)
{
	struct view now = { c->cr0, c->cr3, c->cr4, c->efer,
			    { c->pdpte[0], c->pdpte[1], c->pdpte[2], c->pdpte[3] },
			    c->vmx.ept_active };
	c->cr0 = v->cr0;
	c->cr3 = v->cr3;
	c->cr4 = v->cr4;
	c->efer = v->efer;
	for (int k = 0; k < 4; k++)
		c->pdpte[k] = v->pdpte[k];
	c->vmx.ept_active = v->ept_active;
	*v = now;
}

/* Whether the walk is the guest's seen from root operation. */
static bool guest_view(const struct cpu *c, struct view *v)
{
	const uint64_t *f = c->vmx.field;
	if (c->vmx.nonroot || !c->vmx.on || c->vmx.vmcs_ptr == VMCS_INVALID_PTR ||
	    c->vmx.launch != VMCS_LAUNCHED)
		return false;
	*v = (struct view){ f[VMCS_GUEST_CR0], f[VMCS_GUEST_CR3], f[VMCS_GUEST_CR4],
			    f[VMCS_GUEST_IA32_EFER],
			    { f[VMCS_GUEST_PDPTE0], f[VMCS_GUEST_PDPTE1], f[VMCS_GUEST_PDPTE2],
			      f[VMCS_GUEST_PDPTE3] },
			    (f[VMCS_CPU_BASED_VM_EXEC_CONTROL] & PROC_SECONDARY_CONTROLS) &&
				    (f[VMCS_SECONDARY_VM_EXEC_CONTROL] & PROC2_ENABLE_EPT) };
	return true;
}

static void add(struct walk2d *w, int glevel, int elevel, uint64_t addr, uint64_t value, bool bad)
{
	if (w->n < MAX_REFS)
		w->ref[w->n++] = (struct ref){ glevel, elevel, addr, value, bad };
}

/* The EPT walk of gpa, a line per entry read; false if it fails. */
static bool ept_refs(struct cpu *c, struct walk2d *w, int glevel, uint64_t gpa, uint64_t *hpa)
{
	struct ept_walk e;
	bool ok = vmx_ept_walk(c, gpa, false, false, &e) && (e.rights & 1);
	for (int k = 0; k < e.nsteps; k++)
		add(w, glevel, e.step[k].level, e.step[k].entry_pa, e.step[k].value,
		    !ok && k == e.nsteps - 1);
	if (!e.nsteps)
		add(w, glevel, 4, gpa, 0, true);
	*hpa = e.hpa;
	return ok;
}

static void walk_2d(struct cpu *c, uint64_t lin, struct walk2d *w)
{
	*w = (struct walk2d){ .ept = c->vmx.ept_active, .paging = paging_on(c), .ok = true };
	w->gpa = lin;
	if (w->paging) {
		struct walk pw;
		bool ok = paging_walk(c, lin, WALK_READ, 0, &pw);
		for (int k = 0; k < pw.nsteps; k++) {
			uint64_t hpa;
			if (w->ept && !ept_refs(c, w, pw.step[k].level, pw.step[k].entry_pa, &hpa)) {
				w->ok = false;
				return;
			}
			add(w, pw.step[k].level, 0, pw.step[k].entry_pa, pw.step[k].value,
			    !ok && k == pw.nsteps - 1);
		}
		if (!ok) {
			w->ok = false;
			return;
		}
		w->gpa = pw.pa;
	}
	w->hpa = w->gpa;
	if (w->ept && !ept_refs(c, w, 0, w->gpa, &w->hpa))
		w->ok = false;
}

static void guest_bits(uint64_t v, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s%s%s%s%s", v & 1 ? "P " : "-- ", v & 2 ? "RW " : "R ",
		 v & 4 ? "U " : "S ", v & 0x20 ? "A " : "", v & 0x40 ? "D " : "",
		 v & 0x80 ? "PS " : "", v >> 63 ? "NX" : "");
}

static void ept_bits(uint64_t v, char *out, size_t n)
{
	snprintf(out, n, "%c%c%c %s%s%s", v & 1 ? 'R' : '-', v & 2 ? 'W' : '-', v & 4 ? 'X' : '-',
		 v & 0x80 ? "PS " : "", v & 0x100 ? "A " : "", v & 0x200 ? "D" : "");
}

static void ref_line(struct gui *g, struct gui_rect r, int row, const struct ref *f, bool cur)
{
	static const char *const gname[5] = { "final", "PTE", "PDE", "PDPTE", "PML4E" };
	char bits[48];
	if (cur)
		gui_fill(g, r, 0, row, r.w, 1, COL_HERE_BG);
	if (f->elevel)
		ept_bits(f->value, bits, sizeof bits);
	else
		guest_bits(f->value, bits, sizeof bits);
	enum gui_color c = f->bad ? COL_BAD : cur ? COL_HERE : COL_TEXT;
	int x = f->elevel ? 2 : 0;
	if (f->elevel)
		gui_text(g, r, x, row, COL_DIM, "EPT %s", gname[f->elevel]);
	else
		gui_text(g, r, x, row, COL_ACCENT, "%s", gname[f->glevel]);
	gui_text(g, r, 12, row, c, "@%010llx = %016llx %s", (unsigned long long)f->addr,
		 (unsigned long long)f->value, f->bad ? "✗" : "");
	gui_text(g, r, 12 + 32, row, f->bad ? COL_BAD : COL_DIM, "%s", bits);
}

/* The address walked when none was asked for: after an EPT violation
 * the guest-linear address that caused it (valid when bit 7 of the exit
 * qualification says so, SDM 27.2.1, table 27-7), else the guest's RIP. */
static uint64_t default_addr(const struct gui *g)
{
	const struct cpu *c = g->c;
	const uint64_t *f = c->vmx.field;
	if (c->vmx.nonroot || !c->vmx.on || c->vmx.vmcs_ptr == VMCS_INVALID_PTR ||
	    c->vmx.launch != VMCS_LAUNCHED)
		return c->rip;
	if ((f[VMCS_VM_EXIT_REASON] & 0xffff) == 48 && (f[VMCS_EXIT_QUALIFICATION] & (1u << 7)))
		return f[VMCS_GUEST_LINEAR_ADDRESS];
	return f[VMCS_GUEST_RIP];
}

/* The walk of the pane's address, in the guest's view when there is one. */
static bool walk_now(struct gui *g, struct walk2d *w, uint64_t *lin)
{
	struct cpu *c = g->c;
	struct view v;
	*lin = g->walk_set ? g->walk_addr : default_addr(g);
	bool swapped = guest_view(c, &v);
	if (swapped)
		swap_view(c, &v);
	walk_2d(c, *lin, w);
	if (swapped)
		swap_view(c, &v);
	return swapped;
}

void pane_walk(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_WALK);
	uint64_t lin;
	struct walk2d w;
	bool swapped = walk_now(g, &w, &lin);
	gui_text(g, r, 12, -1, COL_DIM, L(g, GUI_WALK_OF), (unsigned long long)lin,
		 swapped ? L(g, GUI_WALK_GUEST) : L(g, GUI_WALK_CURRENT),
		 w.ept ? "+ EPT" : "");
	int shown = g->walk_shown < 0 || g->walk_shown > w.n ? w.n : g->walk_shown;
	int first = shown > r.h - 1 ? shown - (r.h - 1) : 0;
	for (int k = first; k < shown; k++)
		ref_line(g, r, k - first, &w.ref[k], g->walk_shown >= 0 && k == shown - 1);
	int row = shown - first;
	if (shown < w.n) {
		gui_text(g, r, 0, row, COL_DIM, L(g, GUI_WALK_MORE), w.n - shown);
	} else if (!w.paging && !w.ept) {
		gui_text(g, r, 0, row, COL_DIM, "%s", L(g, GUI_WALK_FLAT));
	} else if (w.ok) {
		gui_text(g, r, 0, row, COL_GOOD, L(g, GUI_WALK_RESULT), (unsigned long long)w.gpa,
			 (unsigned long long)w.hpa);
	} else {
		gui_text(g, r, 0, row, COL_BAD, "%s",
			 w.ref[w.n ? w.n - 1 : 0].elevel ? L(g, GUI_WALK_EPT_FAIL) : L(g, GUI_WALK_PF));
	}
}

int gui_walk_refs(struct gui *g)
{
	uint64_t lin;
	struct walk2d w;
	walk_now(g, &w, &lin);
	return w.n;
}
