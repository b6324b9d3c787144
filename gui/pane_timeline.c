/* The Timeline pane: VM entries and exits over the run (instructions
 * retired: virtual time), one lane per guest (per VMCS), each exit a tick
 * coloured by its reason; the white line is where the machine is. The
 * mouse over a lane shows the nearest exit; a click goes there through
 * reverse execution (gui/control.c). */
#include <SDL2/SDL.h>
#include <stdlib.h>

#include "gui/gui.h"
#include "vmx/vmx.h"

#define MAX_LANES 6
#define LANE_X 14  /* cells before the lanes: the lane names */

static const uint8_t reason_rgb[11][3] = {
	{ 255, 120, 100 }, { 110, 200, 255 }, { 140, 230, 120 }, { 255, 200, 80 },
	{ 210, 140, 255 }, { 255, 140, 210 }, { 100, 230, 210 }, { 230, 230, 120 },
	{ 170, 170, 255 }, { 255, 170, 120 }, { 180, 255, 160 },
};

static const uint8_t *reason_color(unsigned reason)
{
	return reason_rgb[reason % 11]; /* 11: the common reasons differ */
}

struct lanes {
	uint64_t vmcs[MAX_LANES];
	int n;
	uint64_t start, end; /* the first VM entry and the furthest count seen */
	int x0, w;           /* the lanes' pixels */
};

static int lane_of(struct lanes *l, uint64_t vmcs, bool add)
{
	for (int k = 0; k < l->n; k++)
		if (l->vmcs[k] == vmcs)
			return k;
	if (!add || l->n == MAX_LANES)
		return -1;
	l->vmcs[l->n] = vmcs;
	return l->n++;
}

static void layout(struct gui *g, struct gui_rect r, struct lanes *l)
{
	*l = (struct lanes){ .end = g->c->icount };
	for (size_t k = 0; k < g->nev; k++) {
		lane_of(l, g->ev[k].vmcs, true);
		if (g->ev[k].icount > l->end)
			l->end = g->ev[k].icount;
	}
	/* The time before the first VM entry has nothing to show. */
	l->start = g->nev ? g->ev[0].icount : 0;
	if (l->start > g->c->icount)
		l->start = g->c->icount;
	l->start -= (l->end - l->start) / 50 < l->start ? (l->end - l->start) / 50 : l->start;
	if (l->end <= l->start)
		l->end = l->start + 1;
	l->x0 = (r.x + LANE_X) * g->cw;
	l->w = (r.w - LANE_X - 1) * g->cw;
}

static int x_of(const struct lanes *l, uint64_t icount)
{
	double at = icount < l->start ? 0.0 : (double)(icount - l->start) / (double)(l->end - l->start);
	return l->x0 + (int)(at * (l->w - 1));
}

/* The exit nearest the pixel column px in lane k, or NULL. */
static const struct gui_vmevent *nearest(struct gui *g, struct lanes *l, int lane, int px)
{
	const struct gui_vmevent *best = NULL;
	int bestd = 1 << 30;
	for (size_t k = 0; k < g->nev; k++) {
		const struct gui_vmevent *e = &g->ev[k];
		if (!e->exit || lane_of(l, e->vmcs, false) != lane)
			continue;
		int d = abs(x_of(l, e->icount) - px);
		if (d < bestd) {
			bestd = d;
			best = e;
		}
	}
	return bestd <= 6 * (int)g->scale + 2 ? best : NULL;
}

/* The lane under a cell row of the pane, or -1. */
static int lane_at(const struct gui *g, int row)
{
	int k = row - g->timeline.y;
	return k >= 0 && k < MAX_LANES ? k : -1;
}

static void ticks(struct gui *g, struct gui_rect r, struct lanes *l)
{
	for (size_t k = 0; k < g->nev; k++) {
		const struct gui_vmevent *e = &g->ev[k];
		int lane = lane_of(l, e->vmcs, false);
		if (lane < 0 || lane >= r.h - 1)
			continue;
		int y = (r.y + lane) * g->ch + g->ch / 6, h = g->ch * 2 / 3;
		const uint8_t *rgb = reason_color(e->reason);
		if (!e->exit)
			SDL_SetRenderDrawColor(g->ren, 90, 100, 115, 255);
		else
			SDL_SetRenderDrawColor(g->ren, rgb[0], rgb[1], rgb[2], 255);
		SDL_RenderFillRect(g->ren, &(SDL_Rect){ x_of(l, e->icount), e->exit ? y : y + h / 3,
							 (int)g->scale + 1, e->exit ? h : h / 3 });
	}
	int x = x_of(l, g->c->icount);
	SDL_SetRenderDrawColor(g->ren, 255, 255, 255, 255);
	SDL_RenderFillRect(g->ren, &(SDL_Rect){ x, r.y * g->ch, (int)g->scale, (r.h - 1) * g->ch });
}

/* The reasons seen, in their colours, on the last line. */
static void legend(struct gui *g, struct gui_rect r)
{
	bool seen[VMX_EXIT_REASONS] = { false };
	for (size_t k = 0; k < g->nev; k++)
		if (g->ev[k].exit && g->ev[k].reason < VMX_EXIT_REASONS)
			seen[g->ev[k].reason] = true;
	int x = LANE_X;
	for (unsigned k = 0; k < VMX_EXIT_REASONS && x < r.w; k++) {
		if (!seen[k])
			continue;
		const uint8_t *rgb = reason_color(k);
		SDL_SetRenderDrawColor(g->ren, rgb[0], rgb[1], rgb[2], 255);
		SDL_RenderFillRect(g->ren, &(SDL_Rect){ (r.x + x) * g->cw, (r.y + r.h - 1) * g->ch +
							 g->ch / 4, g->cw, g->ch / 2 });
		x += 2 + gui_text(g, r, x + 1, r.h - 1, COL_DIM, "%u %s", k, vmx_exit_reason_name(k));
	}
}

static void hover(struct gui *g, struct gui_rect r, struct lanes *l)
{
	int lane = lane_at(g, g->mouse_y);
	const struct gui_vmevent *e = lane >= 0 && g->mouse_x >= r.x + LANE_X ?
		nearest(g, l, lane, g->mouse_x * g->cw + g->cw / 2) : NULL;
	if (!e)
		return;
	gui_text(g, r, LANE_X, -1, COL_HERE, L(g, GUI_TL_HOVER), e->reason,
		 vmx_exit_reason_name(e->reason), (unsigned long long)e->icount,
		 (unsigned long long)e->guest_rip, (unsigned long long)e->qual);
}

void pane_timeline(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_TIMELINE);
	g->timeline = r;
	struct lanes l;
	layout(g, r, &l);
	size_t exits = 0;
	for (size_t k = 0; k < g->nev; k++)
		exits += g->ev[k].exit;
	gui_text(g, r, r.w - 40, -1, COL_DIM, L(g, GUI_TL_COUNTS), g->nev - exits, exits,
		 (unsigned long long)l.end);
	if (!g->nev) {
		gui_text(g, r, 0, 0, COL_DIM, "%s", L(g, GUI_TL_EMPTY));
		return;
	}
	for (int k = 0; k < l.n && k < r.h - 1; k++)
		gui_text(g, r, 0, k, COL_DIM, "%llx", (unsigned long long)l.vmcs[k]);
	ticks(g, r, &l);
	legend(g, r);
	hover(g, r, &l);
}

void gui_click(struct gui *g, int px, int py)
{
	struct gui_rect r = g->timeline;
	int row = py / g->ch;
	int lane = lane_at(g, row);
	if (lane < 0 || px < (r.x + LANE_X) * g->cw || row >= r.y + r.h)
		return;
	struct lanes l;
	layout(g, r, &l);
	const struct gui_vmevent *e = nearest(g, &l, lane, px);
	if (e)
		gui_goto_event(g, e);
}

/* The script's goto-exit N: the N-th VM exit (from 1), as a click would. */
bool gui_goto_exit(struct gui *g, size_t n)
{
	for (size_t k = 0; k < g->nev; k++)
		if (g->ev[k].exit && --n == 0) {
			gui_goto_event(g, &g->ev[k]);
			return true;
		}
	return false;
}
