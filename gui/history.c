/* What the window remembers of the run, from the event stream: the VM
 * entries and exits (the timeline, the Levels pane's last exit) and the
 * serial output (the console). It also stops a run where the controls
 * asked: at the next VM exit or entry, or at an exit of one reason.
 *
 * Runs go back and forth under reverse control (emu/reverse.h). Replays
 * are silent, but running forward again after a step back re-emits what
 * the machine did before; an event is recorded only if it lies beyond
 * everything recorded so far. Its position is its instruction count and,
 * among the events at that count, its order (several can share one: a
 * VM exit and the host's first OUT). */
#include <stdlib.h>

#include "emu/event.h"
#include "gui/gui.h"
#include "vmx/vmx.h"

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 256;
	void *q = realloc(*p, nc * size);
	if (!q)
		return false;
	*p = q;
	*cap = nc;
	return true;
}

/* Whether e is new, and if so make it the furthest seen. */
static bool fresh(struct gui *g, const struct event *e)
{
	int ord = e->icount == g->last_icount ? g->last_ord + 1 : 0;
	g->last_icount = e->icount;
	g->last_ord = ord;
	if (g->nev + g->nserial &&
	    (e->icount < g->seen_icount || (e->icount == g->seen_icount && ord <= g->seen_ord)))
		return false;
	g->seen_icount = e->icount;
	g->seen_ord = ord;
	return true;
}

static void record_vm(struct gui *g, const struct event *e)
{
	struct cpu *c = g->c;
	if (!grow((void **)&g->ev, &g->cap_ev, g->nev, sizeof *g->ev))
		return;
	struct gui_vmevent *v = &g->ev[g->nev++];
	*v = (struct gui_vmevent){ .icount = e->icount, .vtime = e->vtime,
				   .exit = e->type == EVT_VMEXIT, .vmcs = c->vmx.vmcs_ptr,
				   .vpid = (uint16_t)c->vmx.field[VMCS_VIRTUAL_PROCESSOR_ID] };
	if (v->exit) {
		v->reason = (uint16_t)(e->u.vmexit.reason & 0xffff);
		v->qual = e->u.vmexit.qual;
		v->guest_rip = e->u.vmexit.guest_rip;
		v->ok = true;
	} else {
		v->ok = e->u.vmentry.ok;
		v->guest_rip = e->u.vmentry.guest_rip;
	}
}

/* Stop the run here if the controls asked for this event. */
static void maybe_stop(struct gui *g, const struct event *e)
{
	bool exit = e->type == EVT_VMEXIT;
	unsigned reason = exit ? e->u.vmexit.reason & 0xffff : 0;
	if (exit && g->stepping) {
		/* a step that exits ends at the host's first instruction */
		emu_ask_stop(g->c);
		return;
	}
	if (!g->running)
		return;
	if ((exit && g->target == RUN_TO_EXIT) || (!exit && g->target == RUN_TO_ENTRY) ||
	    (exit && g->break_reason >= 0 && reason == (unsigned)g->break_reason))
		emu_ask_stop(g->c);
}

static void on_event(void *opaque, const struct event *e)
{
	struct gui *g = opaque;
	bool vm = e->type == EVT_VMEXIT || (e->type == EVT_VMENTRY);
	if (!vm && e->type != EVT_SERIAL)
		return;
	if (vm)
		maybe_stop(g, e);
	if (!fresh(g, e))
		return;
	if (vm) {
		record_vm(g, e);
	} else if (grow((void **)&g->serial, &g->cap_serial, g->nserial, sizeof *g->serial)) {
		g->serial[g->nserial++] = (struct gui_serial){ e->icount, e->u.serial.byte };
	}
}

bool gui_history_attach(struct gui *g)
{
	g->last_icount = ~0ull;
	return evt_observe(g->c, on_event, g);
}

void gui_history_rewound(struct gui *g)
{
	g->last_icount = ~0ull;
}

const struct gui_vmevent *gui_last_exit(const struct gui *g)
{
	for (size_t k = g->nev; k-- > 0;)
		if (g->ev[k].exit && g->ev[k].icount <= g->c->icount)
			return &g->ev[k];
	return NULL;
}

void gui_history_free(struct gui *g)
{
	free(g->ev);
	free(g->serial);
}
