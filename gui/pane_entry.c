/* The Entry failure pane: the last VM entry that failed, the check of
 * vmx/entry.c that failed (its name, SDM section and the sentence a
 * student can act on) and the VMCS fields the check is about. */
#include <string.h>

#include "gui/gui.h"
#include "vmx/entry.h"
#include "vmx/vmx.h"

/* Fields whose names the check's name mentions ("GUEST_CR0", ...). */
static void offending(struct gui *g, struct gui_rect r, int row, const char *name)
{
	for (unsigned f = 0; f < VMCS_NFIELDS && row < r.h; f++)
		if (strstr(name, vmcs_fields[f].name))
			gui_text(g, r, 2, row++, COL_CHANGED, "%-32s %llx", vmcs_fields[f].name,
				 (unsigned long long)g->c->vmx.field[f]);
}

/* Words of s wrapped into the rows from row; returns the next row. */
static int wrap(struct gui *g, struct gui_rect r, int row, const char *s)
{
	char line[256];
	while (*s && row < r.h) {
		int n = (int)strlen(s);
		if (n > r.w - 2) {
			n = r.w - 2;
			while (n > 0 && s[n] != ' ')
				n--;
			if (!n)
				n = r.w - 2;
		}
		snprintf(line, sizeof line, "%.*s", n, s);
		gui_text(g, r, 2, row++, COL_TEXT, "%s", line);
		s += n;
		while (*s == ' ')
			s++;
	}
	return row;
}

void pane_entry(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_ENTRY);
	const struct cpu *c = g->c;
	const struct entry_check *k = c->vmx.failed.check;
	if (!c->vmx.failed.count) {
		gui_text(g, r, 0, 0, COL_DIM, "%s", L(g, GUI_NO_FAILED_ENTRY));
		return;
	}
	gui_text(g, r, 0, 0, COL_BAD, L(g, GUI_FAILED_AT), (unsigned long long)c->vmx.failed.count,
		 (unsigned long long)c->vmx.failed.rip);
	if (!k) {
		unsigned err = c->vmx.failed.error;
		gui_text(g, r, 0, 1, COL_TEXT, "VM-instruction error %u: %s", err,
			 vmx_error_text(err) ? vmx_error_text(err) : "");
		return;
	}
	gui_text(g, r, 0, 1, COL_CHANGED, "%s", k->name);
	gui_text(g, r, 0, 2, COL_ACCENT, "SDM %s", k->sdm);
	int row = wrap(g, r, 3, g->lang == LANG_PT_BR ? k->why_pt : k->why);
	offending(g, r, row, k->name);
}
