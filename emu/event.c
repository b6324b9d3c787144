/* The event stream: observers and emission. */
#include "emu/event.h"
#include "emu/vtime.h"

bool evt_observe(struct cpu *c, evt_observer fn, void *opaque)
{
	if (c->nobs == EVT_MAX_OBSERVERS)
		return false;
	c->obs[c->nobs].fn = fn;
	c->obs[c->nobs].opaque = opaque;
	c->nobs++;
	return true;
}

void evt_emit_slow(struct cpu *c, struct event *e)
{
	e->icount = c->icount;
	e->vtime = emu_now(c);
	e->rip = c->rip;
	for (int k = 0; k < c->nobs; k++)
		c->obs[k].fn(c->obs[k].opaque, e);
}

const char *evt_mode_name(const struct cpu *c)
{
	if (!(c->cr0 & CR0_PE))
		return "real";
	if (c->code_sz == SZ64)
		return "long64";
	if (c->efer & EFER_LMA)
		return c->code_sz == SZ32 ? "compat32" : "compat16";
	return c->code_sz == SZ32 ? "protected32" : "protected16";
}
