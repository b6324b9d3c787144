/* The Memory pane: hex and ASCII at a guest-virtual address (through the
 * current paging and EPT, as gdb reads it: emu/gdbtarget.h) or a
 * guest-physical one. Keys m and M ask for the address. */
#include "emu/bus.h"
#include "emu/gdbtarget.h"
#include "gui/gui.h"

static bool read_byte(struct gui *g, uint64_t a, uint8_t *v)
{
	if (g->mem_phys)
		return emu_phys_read(g->c, a, v, 1);
	return gdb_mem_read(g->c, a, v, 1);
}

void pane_memory(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_MEMORY);
	gui_text(g, r, r.w - 24, -1, COL_DIM, "%s",
		 g->mem_phys ? L(g, GUI_PHYSICAL) : L(g, GUI_VIRTUAL));
	uint64_t a = g->mem_addr & ~15ull;
	for (int row = 0; row < r.h; row++, a += 16) {
		char hex[16 * 3 + 1], asc[17];
		for (int k = 0; k < 16; k++) {
			uint8_t v;
			bool ok = read_byte(g, a + k, &v);
			snprintf(hex + 3 * k, 4, ok ? "%02x " : "?? ", v);
			asc[k] = ok && v >= 32 && v < 127 ? (char)v : '.';
		}
		asc[16] = 0;
		gui_text(g, r, 0, row, COL_DIM, "%016llx", (unsigned long long)a);
		gui_text(g, r, 18, row, COL_TEXT, "%s", hex);
		gui_text(g, r, 18 + 49, row, COL_ACCENT, "%s", asc);
	}
}
