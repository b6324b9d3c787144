/* The Registers pane: the general registers, RIP, RFLAGS decoded, the
 * segment registers with their hidden parts (base, limit, access rights:
 * what VM entry loads and VM exit saves, SDM vol. 3C 24.4.1), and CR0,
 * CR3, CR4, EFER decoded. A value the last step changed is drawn in
 * yellow. */
#include "gui/gui.h"

static const char *const gpr_names[16] = {
	"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
	"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
};
static const char *const seg_names[6] = { "ES", "CS", "SS", "DS", "FS", "GS" };

/* Set bits of v named by names[bit] (NULL: unnamed), into out. */
static void bits(uint64_t v, const char *const *names, int n, char *out, size_t len)
{
	size_t at = 0;
	out[0] = 0;
	for (int k = 0; k < n && at < len; k++)
		if (names[k] && (v >> k & 1))
			at += (size_t)snprintf(out + at, len - at, "%s ", names[k]);
}

static enum gui_color col(const struct gui *g, bool changed)
{
	return g->have_before && changed ? COL_CHANGED : COL_TEXT;
}

static void reg(struct gui *g, struct gui_rect r, int x, int y, const char *name, uint64_t v,
		uint64_t old)
{
	gui_text(g, r, x, y, COL_DIM, "%s", name);
	gui_text(g, r, x + 4, y, col(g, v != old), "%016llx", (unsigned long long)v);
}

static void decoded(struct gui *g, struct gui_rect r, int y, const char *name, uint64_t v,
		    uint64_t old, const char *const *names, int n)
{
	char d[160];
	bits(v, names, n, d, sizeof d);
	reg(g, r, 0, y, name, v, old);
	gui_text(g, r, 22, y, COL_DIM, "%s", d);
}

void pane_regs(struct gui *g, struct gui_rect outer)
{
	static const char *const fl[22] = { "CF", 0, "PF", 0, "AF", 0, "ZF", "SF", "TF", "IF",
					    "DF", "OF", 0, 0, "NT", 0, "RF", "VM", "AC", "VIF",
					    "VIP", "ID" };
	static const char *const cr0[32] = { [0] = "PE", [1] = "MP", [2] = "EM", [3] = "TS",
					     [4] = "ET", [5] = "NE", [16] = "WP", [18] = "AM",
					     [29] = "NW", [30] = "CD", [31] = "PG" };
	static const char *const cr4[24] = { [0] = "VME", [1] = "PVI", [2] = "TSD", [3] = "DE",
					     [4] = "PSE", [5] = "PAE", [6] = "MCE", [7] = "PGE",
					     [9] = "OSFXSR", [11] = "UMIP", [13] = "VMXE",
					     [17] = "PCIDE", [18] = "OSXSAVE", [20] = "SMEP",
					     [21] = "SMAP" };
	static const char *const efer[12] = { [0] = "SCE", [8] = "LME", [10] = "LMA",
					      [11] = "NXE" };
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_REGS);
	struct cpu *c = g->c;
	const struct gui_regs *b = &g->before;
	for (int k = 0; k < 16; k++)
		reg(g, r, k < 8 ? 0 : 22, k % 8, gpr_names[k], c->gpr[k], b->gpr[k]);
	reg(g, r, 0, 8, "RIP", c->rip, b->rip);
	gui_text(g, r, 22, 8, COL_DIM, "CPL %u  %s", c->cpl, backend_mode_name(c, g->lang));
	uint64_t fl_now = emu_get_rflags(c);
	decoded(g, r, 9, "FL", fl_now, b->rflags, fl, 22);
	gui_text(g, r, 0, 11, COL_DIM, "%s", L(g, GUI_SEG_HEADER));
	for (int k = 0; k < 6; k++) {
		const struct seg *s = &c->seg[k], *o = &b->seg[k];
		bool ch = s->sel != o->sel || s->base != o->base || s->limit != o->limit || s->ar != o->ar;
		gui_text(g, r, 0, 12 + k, COL_DIM, "%s", seg_names[k]);
		gui_text(g, r, 3, 12 + k, col(g, ch), "%04x %016llx %08x %05x", s->sel,
			 (unsigned long long)s->base, s->limit, s->ar);
	}
	gui_text(g, r, 0, 18, COL_DIM, "TR");
	gui_text(g, r, 3, 18, COL_TEXT, "%04x %016llx %08x %05x", c->tr.sel,
		 (unsigned long long)c->tr.base, c->tr.limit, c->tr.ar);
	decoded(g, r, 20, "CR0", c->cr0, b->cr0, cr0, 32);
	reg(g, r, 0, 21, "CR2", c->cr2, b->cr2);
	reg(g, r, 0, 22, "CR3", c->cr3, b->cr3);
	decoded(g, r, 23, "CR4", c->cr4, b->cr4, cr4, 24);
	decoded(g, r, 24, "EFER", c->efer, b->efer, efer, 12);
}
