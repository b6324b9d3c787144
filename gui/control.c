/* The controls: step, step over, continue, pause, run to the next VM exit
 * or entry, step back and back to the previous exit. The machine always
 * runs under reverse control (emu/reverse.h), so going back is restoring
 * a snapshot and replaying; while running, each frame runs a slice of the
 * machine and the window repaints between slices. */
#include <SDL2/SDL.h>
#include <string.h>

#include "gui/gui.h"
#include "gui/code.h"
#include "vmx/vmx.h"

/* Instructions per call while running; a frame runs calls until about
 * 10 ms have passed, so the window keeps 60 frames per second. */
#define SLICE 100000
#define FRAME_MS 10

void gui_remember(struct gui *g)
{
	struct cpu *c = g->c;
	struct gui_regs *b = &g->before;
	memcpy(b->gpr, c->gpr, sizeof b->gpr);
	memcpy(b->seg, c->seg, sizeof b->seg);
	b->rip = c->rip;
	b->rflags = emu_get_rflags(c);
	b->cr0 = c->cr0;
	b->cr2 = c->cr2;
	b->cr3 = c->cr3;
	b->cr4 = c->cr4;
	b->efer = c->efer;
	memcpy(g->before_fields, c->vmx.field, sizeof g->before_fields);
	g->have_before = true;
}

static void say(struct gui *g, enum msg_id id, ...)
{
	va_list ap;
	va_start(ap, id);
	vsnprintf(g->status, sizeof g->status, msg(g->lang, id), ap);
	va_end(ap);
}

static bool at_end(struct gui *g)
{
	if (g->ended || g->c->icount >= g->o->max_insns) {
		say(g, MSG_GUI_ENDED);
		return true;
	}
	return false;
}

/* Say which VM entry or exit the machine has just gone through, if any:
 * an exit leaves the count where it was, an entry's instruction retires. */
static void say_event_here(struct gui *g)
{
	uint64_t now = g->c->icount;
	for (size_t k = g->nev; k-- > 0;) {
		const struct gui_vmevent *e = &g->ev[k];
		if (e->icount > now)
			continue;
		if (e->exit && e->icount == now)
			say(g, MSG_GUI_AT_EXIT, e->reason, vmx_exit_reason_name(e->reason));
		else if (!e->exit && e->icount + 1 == now)
			say(g, e->ok ? MSG_GUI_AT_ENTRY : MSG_GUI_ENTRY_FAILED);
		return;
	}
}

/* Say why a run stopped; the guest's end is kept until a step back. */
static void stopped(struct gui *g, enum emu_stop s)
{
	struct cpu *c = g->c;
	g->stop = s;
	switch (s) {
	case EMU_STOP_BUDGET:
		if (c->icount >= g->o->max_insns || c->vtime_out) {
			g->ended = true;
			say(g, MSG_GUI_END_BUDGET, (unsigned long long)c->icount);
		} else {
			say_event_here(g);
		}
		break;
	case EMU_STOP_DEBUG:
		if (c->dbg.hit_bp)
			say(g, MSG_GUI_AT_BREAKPOINT, (unsigned long long)c->rip);
		else
			say_event_here(g);
		break;
	case EMU_STOP_EXIT:
		g->ended = true;
		say(g, MSG_GUI_END_EXIT, (unsigned)(c->exit_code & 0xff));
		break;
	case EMU_STOP_HLT:
		g->ended = true;
		say(g, MSG_GUI_END_HALT);
		break;
	default:
		g->ended = true;
		say(g, MSG_GUI_END_OTHER, (unsigned)s);
		break;
	}
}

static void drop_temp_breakpoint(struct gui *g)
{
	struct dbg_points *d = &g->c->dbg;
	if (g->target != RUN_TO_RIP)
		return;
	for (int k = 0; k < d->nbp; k++)
		if (d->bp[k] == g->target_rip) {
			d->bp[k] = d->bp[--d->nbp];
			break;
		}
}

static void run_stopped(struct gui *g, enum emu_stop s)
{
	drop_temp_breakpoint(g);
	g->running = false;
	g->target = RUN_FREE;
	stopped(g, s);
}

/* One instruction; a VM exit ends it at the host's first instruction. */
static enum emu_stop step_once(struct gui *g)
{
	g->stepping = true;
	enum emu_stop s = rev_run(g->rev, 1);
	g->stepping = false;
	return s;
}

void gui_step(struct gui *g)
{
	if (g->running || at_end(g))
		return;
	gui_remember(g);
	g->status[0] = 0;
	stopped(g, step_once(g));
}

void gui_step_over(struct gui *g)
{
	uint64_t next;
	if (g->running || at_end(g))
		return;
	if (!gui_call_at(g, g->c->rip, &next)) {
		gui_step(g);
		return;
	}
	struct dbg_points *d = &g->c->dbg;
	if (d->nbp < DBG_MAX_POINTS)
		d->bp[d->nbp++] = next;
	g->target_rip = next;
	gui_continue(g, RUN_TO_RIP);
	if (g->target != RUN_TO_RIP)
		drop_temp_breakpoint(g);
}

void gui_continue(struct gui *g, enum gui_target t)
{
	if (g->running || at_end(g))
		return;
	gui_remember(g);
	g->running = true;
	g->target = t;
	say(g, MSG_GUI_RUNNING);
}

void gui_pause(struct gui *g)
{
	if (!g->running)
		return;
	run_stopped(g, EMU_STOP_BUDGET);
	say(g, MSG_GUI_PAUSED, (unsigned long long)g->c->icount);
}

void gui_frame_run(struct gui *g)
{
	if (!g->running)
		return;
	uint32_t t0 = SDL_GetTicks();
	do {
		uint64_t left = g->o->max_insns - g->c->icount;
		enum emu_stop s = rev_run(g->rev, left < SLICE ? left : SLICE);
		if (s != EMU_STOP_BUDGET || g->c->icount >= g->o->max_insns || g->c->vtime_out) {
			run_stopped(g, s);
			return;
		}
	} while (SDL_GetTicks() - t0 < FRAME_MS);
}

static void went_back(struct gui *g)
{
	gui_history_rewound(g);
	g->ended = false;
	g->status[0] = 0;
}

void gui_step_back(struct gui *g)
{
	if (g->running)
		return;
	gui_remember(g);
	if (!rev_step_back(g->rev)) {
		say(g, MSG_GUI_NO_HISTORY);
		return;
	}
	went_back(g);
	say(g, MSG_GUI_STEPPED_BACK, (unsigned long long)g->c->icount);
}

void gui_back_to_exit(struct gui *g)
{
	uint64_t at;
	if (g->running)
		return;
	gui_remember(g);
	if (!rev_back_to(g->rev, REV_VMEXIT, &at)) {
		say(g, MSG_GUI_NO_EARLIER_EXIT);
		return;
	}
	went_back(g);
	/* rev_back_to lands on the instruction that caused the exit: one
	 * step more shows the exit itself, as the host receives it. */
	stopped(g, step_once(g));
}

void gui_goto_event(struct gui *g, const struct gui_vmevent *e)
{
	if (g->running)
		return;
	struct gui_vmevent ev = *e; /* the history may move while replaying */
	gui_remember(g);
	/* A VM entry's instruction retires: after it, the guest's first. */
	if (!rev_goto(g->rev, ev.exit ? ev.icount : ev.icount + 1)) {
		say(g, MSG_GUI_NO_HISTORY);
		return;
	}
	went_back(g);
	if (ev.exit)
		stopped(g, step_once(g));
	else
		say(g, MSG_GUI_AT_ENTRY);
}

void gui_toggle_breakpoint(struct gui *g, uint64_t rip)
{
	struct dbg_points *d = &g->c->dbg;
	for (int k = 0; k < d->nbp; k++)
		if (d->bp[k] == rip) {
			d->bp[k] = d->bp[--d->nbp];
			say(g, MSG_GUI_BP_CLEARED, (unsigned long long)rip);
			return;
		}
	if (d->nbp == DBG_MAX_POINTS) {
		say(g, MSG_GUI_BP_FULL, DBG_MAX_POINTS);
		return;
	}
	d->bp[d->nbp++] = rip;
	say(g, MSG_GUI_BP_SET, (unsigned long long)rip);
}
