/* The Levels pane: the running setup as a stack. L0 is nestlab, the
 * machine; L1 the image it booted (a type-1 hypervisor; or a type-2 host
 * kernel, whose hypervisor module runs in ring 0 and whose VMM processes
 * in ring 3; or the nested hypervisor); above it the guests, one per VMCS
 * the image has launched (its VPID beside it). The level running now is
 * highlighted; the last VM exit is drawn as an arrow from the guest that
 * exited down to L1, with its reason. Only what the machine shows is
 * drawn: the guests' own names are not known to it.
 *
 * Under nested (guests/nested) the VMCSs the machine sees are nested's:
 * VPID 1 runs its guest hypervisor, the first module (L2), and VPID n + 1
 * runs that hypervisor's guest of VPID n (L3), as nested numbers them
 * (guests/nested/merge.c). */
#include <string.h>

#include "gui/gui.h"
#include "vmx/vmx.h"

#define MAX_GUESTS 6

/* The VMCSs launched so far, in order of their first VM entry (whose
 * instruction has retired: its count is below the machine's). */
static int guests(const struct gui *g, uint64_t *vmcs, uint16_t *vpid)
{
	int n = 0;
	for (size_t k = 0; k < g->nev && n < MAX_GUESTS; k++) {
		if (g->ev[k].exit || !g->ev[k].ok || g->ev[k].icount >= g->c->icount)
			continue;
		bool seen = false;
		for (int j = 0; j < n; j++)
			seen |= vmcs[j] == g->ev[k].vmcs;
		if (!seen) {
			vmcs[n] = g->ev[k].vmcs;
			vpid[n++] = g->ev[k].vpid;
		}
	}
	return n;
}

/* What a guest row says: under nested, the guest hypervisor (named after
 * the first module) or one of its guests. */
static void guest_text(const struct gui *g, char *text, size_t size, bool nested, uint64_t vmcs,
		       uint16_t vpid)
{
	const char *hv = g->o->nmodules ? g->o->modules[0] : "?";
	const char *base = strrchr(hv, '/');
	char name[48];
	snprintf(name, sizeof name, "%s", base ? base + 1 : hv);
	name[strcspn(name, ". ")] = 0;
	if (!nested)
		snprintf(text, size, L(g, GUI_LEVEL_GUEST), (unsigned)vpid, (unsigned long long)vmcs);
	else if (vpid == 1)
		snprintf(text, size, L(g, GUI_LEVEL_GUEST_HV), name, (unsigned)vpid,
			 (unsigned long long)vmcs);
	else
		snprintf(text, size, L(g, GUI_LEVEL_L3_GUEST), name, (unsigned)vpid - 1,
			 (unsigned long long)vmcs);
}

static void level(struct gui *g, struct gui_rect r, int row, bool here, const char *tag,
		  const char *text)
{
	if (here)
		gui_fill(g, r, 0, row, r.w, 1, COL_HERE_BG);
	gui_text(g, r, 0, row, here ? COL_HERE : COL_DIM, "%s %s", here ? "▶" : " ", tag);
	gui_text(g, r, 6, row, here ? COL_HERE : COL_TEXT, "%s", text);
}

void pane_levels(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_LEVELS);
	const struct cpu *c = g->c;
	uint64_t vmcs[MAX_GUESTS];
	uint16_t vpid[MAX_GUESTS];
	int n = guests(g, vmcs, vpid);
	bool nested = g->image_kind && !strcmp(g->image_kind, "nested");
	char text[160];
	int row = 0, row_of[MAX_GUESTS];
	/* the guests, the newest on top; under nested, its L3 guests above L2 */
	for (int pass = nested ? 0 : 1; pass < 2; pass++)
		for (int k = n - 1; k >= 0; k--) {
			bool l2 = !nested || vpid[k] == 1;
			if (l2 != (pass == 1))
				continue;
			guest_text(g, text, sizeof text, nested, vmcs[k], vpid[k]);
			row_of[k] = row;
			level(g, r, row++, c->vmx.nonroot && c->vmx.vmcs_ptr == vmcs[k],
			      l2 ? "L2" : "L3", text);
		}
	if (!n)
		gui_text(g, r, 6, row++, COL_DIM, "%s", L(g, GUI_LEVEL_NO_GUEST));
	int l1 = row;
	bool root = !c->vmx.nonroot;
	if (g->image_kind && !strcmp(g->image_kind, "type2")) {
		level(g, r, row++, root && c->cpl == 3, "L1", L(g, GUI_LEVEL_VMM));
		level(g, r, row++, root && c->cpl != 3, "L1", L(g, GUI_LEVEL_HOST_KERNEL));
	} else {
		snprintf(text, sizeof text, L(g, GUI_LEVEL_IMAGE),
			 g->image_kind ? g->image_kind : g->o->image,
			 c->vmx.on ? L(g, GUI_LEVEL_VMX_ROOT) : L(g, GUI_LEVEL_NO_VMX));
		level(g, r, row++, root, "L1", text);
	}
	level(g, r, row++, false, "L0", L(g, GUI_LEVEL_NESTLAB));
	const struct gui_vmevent *e = gui_last_exit(g);
	if (e && row < r.h) {
		int from = 0;
		for (int k = 0; k < n; k++)
			if (vmcs[k] == e->vmcs)
				from = row_of[k];
		for (int y = from + 1; y < l1; y++)
			gui_text(g, r, r.w - 3, y, COL_CHANGED, "│");
		gui_text(g, r, r.w - 3, l1, COL_CHANGED, "↓");
		gui_text(g, r, 0, row + 1, COL_CHANGED, L(g, GUI_LEVEL_LAST_EXIT),
			 vmx_exit_reason_name(e->reason), (unsigned long long)e->guest_rip);
	}
}
