/* The Console pane: what the guest wrote to COM1 up to the machine's
 * position (after a step back, the output not yet written again is not
 * shown), from the serial events (gui/history.c). */
#include "gui/gui.h"

void pane_console(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_CONSOLE);
	size_t end = g->nserial;
	while (end && g->serial[end - 1].icount > g->c->icount)
		end--;
	/* Walk back over the last r.h lines. */
	size_t start = end;
	int lines = 0;
	while (start > 0) {
		if (g->serial[start - 1].byte == '\n' && start != end && ++lines >= r.h)
			break;
		start--;
	}
	char line[256];
	size_t n = 0;
	int row = 0;
	for (size_t k = start; k < end && row < r.h; k++) {
		uint8_t ch = g->serial[k].byte;
		if (ch == '\n' || n == sizeof line - 1) {
			line[n] = 0;
			gui_text(g, r, 0, row++, COL_TEXT, "%s", line);
			n = 0;
			continue;
		}
		if (ch >= 32 && ch < 127)
			line[n++] = (char)ch;
	}
	line[n] = 0;
	if (n && row < r.h)
		gui_text(g, r, 0, row, COL_TEXT, "%s", line);
}
