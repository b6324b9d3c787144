/* Where the panes go: three columns (the machine; its code, memory and
 * console; the VT-x state), the timeline across the bottom, a status line
 * with the keys, and the help overlay above all. */
#include <SDL2/SDL.h>

#include "gui/gui.h"

static void status_line(struct gui *g, struct gui_rect r)
{
	gui_fill(g, r, 0, 0, r.w, 1, COL_HERE_BG);
	g->pane = "status";
	if (g->prompt_kind) {
		gui_text(g, r, 1, 0, COL_HERE, "%s %s_", L(g, GUI_PROMPT_ADDR), g->prompt);
		return;
	}
	int x = 1 + gui_text(g, r, 1, 0, g->running ? COL_GOOD : COL_HERE, "%s",
			     g->running ? L(g, GUI_STATE_RUNNING) : L(g, GUI_STATE_STOPPED));
	x += 2 + gui_text(g, r, x + 1, 0, COL_DIM, "icount %llu",
			  (unsigned long long)g->c->icount);
	if (g->break_reason >= 0)
		x += 2 + gui_text(g, r, x + 1, 0, COL_CHANGED, L(g, GUI_BREAK_ON_REASON),
				  g->break_reason);
	x += 2 + gui_text(g, r, x + 1, 0, COL_CHANGED, "%s", g->status);
	const char *keys = L(g, GUI_KEYS_HINT);
	int w = gui_width(keys);
	if (x + w < r.w)
		gui_text(g, r, r.w - w - 1, 0, COL_DIM, "%s", keys);
}

static void too_small(struct gui *g)
{
	struct gui_rect all = { 0, 0, g->cols, g->rows };
	g->pane = "window";
	gui_text(g, all, 1, 1, COL_BAD, L(g, GUI_WINDOW_SMALL), GUI_MIN_W, GUI_MIN_H);
}

void gui_draw(struct gui *g)
{
	uint8_t r, gr, b;
	gui_color_rgb(COL_BG, &r, &gr, &b);
	SDL_SetRenderDrawColor(g->ren, r, gr, b, 255);
	SDL_RenderClear(g->ren);
	int C = g->cols, R = g->rows;
	if (C < 150 || R < 44) {
		too_small(g);
		return;
	}
	int lw = C * 27 / 100, mw = C * 36 / 100, rw = C - lw - mw;
	int tl = 8, top = R - 1 - tl;
	int vm = top * 52 / 100, wk = top * 30 / 100;
	pane_levels(g, (struct gui_rect){ 0, 0, lw, 11 });
	pane_regs(g, (struct gui_rect){ 0, 11, lw, top - 11 });
	pane_code(g, (struct gui_rect){ lw, 0, mw, top * 40 / 100 });
	pane_memory(g, (struct gui_rect){ lw, top * 40 / 100, mw, top * 25 / 100 });
	pane_console(g, (struct gui_rect){ lw, top * 65 / 100, mw, top - top * 65 / 100 });
	pane_vmcs(g, (struct gui_rect){ lw + mw, 0, rw, vm });
	pane_walk(g, (struct gui_rect){ lw + mw, vm, rw, wk });
	pane_entry(g, (struct gui_rect){ lw + mw, vm + wk, rw, top - vm - wk });
	pane_timeline(g, (struct gui_rect){ 0, top, C, tl });
	status_line(g, (struct gui_rect){ 0, R - 1, C, 1 });
	if (g->help)
		pane_help(g, (struct gui_rect){ C / 2 - 40, 3, 80, R - 8 });
}
