/* Reverse execution: periodic snapshots, restore and replay. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu/bus.h"
#include "emu/event.h"
#include "emu/reverse.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void take(struct reverse *r)
{
	double t0 = now();
	snapstore_take(r->st);
	r->snap_seconds += now() - t0;
}

struct reverse *rev_new(struct cpu *c, uint64_t interval, uint64_t budget_bytes)
{
	struct reverse *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->c = c;
	r->interval = interval ? interval : 1;
	r->start = c->icount;
	r->st = snapstore_new(c, budget_bytes);
	if (!r->st) {
		free(r);
		return NULL;
	}
	take(r);
	if (r->st->n == 0) {
		rev_free(r);
		return NULL;
	}
	return r;
}

void rev_rebase(struct reverse *r)
{
	struct snapstore *st = snapstore_new(r->c, r->st->budget);
	if (!st)
		return;   /* out of host memory: the old history stays */
	snapstore_free(r->st);
	r->st = st;
	r->start = r->c->icount;
	take(r);
}

void rev_free(struct reverse *r)
{
	if (!r)
		return;
	snapstore_free(r->st);
	free(r);
}

enum emu_stop rev_run(struct reverse *r, uint64_t budget)
{
	struct cpu *c = r->c;
	uint64_t end = c->icount + budget;
	enum emu_stop stop = EMU_STOP_BUDGET;
	while (c->icount < end) {
		uint64_t next = (c->icount / r->interval + 1) * r->interval;
		if (next > end)
			next = end;
		stop = emu_run(c, next - c->icount);
		if (stop != EMU_STOP_BUDGET || c->vtime_out)
			break;
		if (c->icount % r->interval == 0)
			take(r);
	}
	return stop;
}

/* A replay: silent, and seen only by the observer given (if any). */
struct quiet {
	bool mute;
	int nobs;
	__typeof__(((struct cpu *)0)->obs) obs;
	struct dbg_points dbg;
};

static void hush(struct cpu *c, struct quiet *q, evt_observer fn, void *opaque)
{
	q->mute = c->bus->mute;
	q->nobs = c->nobs;
	memcpy(q->obs, c->obs, sizeof q->obs);
	q->dbg = c->dbg;
	c->bus->mute = true;
	c->nobs = 0;
	c->dbg.nbp = c->dbg.nwp = 0;
	if (fn)
		evt_observe(c, fn, opaque);
}

static void unhush(struct cpu *c, const struct quiet *q)
{
	c->bus->mute = q->mute;
	c->nobs = q->nobs;
	memcpy(c->obs, q->obs, sizeof q->obs);
	c->dbg = q->dbg;
	c->dbg.hit_bp = false;
	c->dbg.hit_wp = -1;
}

/* Run forward to n exactly (the caller hushed the machine); false if the
 * run stops before. Snapshots met on the way become the base again. */
static bool replay_to(struct reverse *r, uint64_t n)
{
	struct cpu *c = r->c;
	while (c->icount < n) {
		uint64_t before = c->icount;
		enum emu_stop stop = emu_run(c, n - c->icount);
		r->replayed += c->icount - before;
		if (stop == EMU_STOP_DEBUG)
			continue;
		if (stop != EMU_STOP_BUDGET || c->icount == before)
			break;
	}
	return c->icount == n;
}

static bool restore_before(struct reverse *r, uint64_t n)
{
	int k = snapstore_find(r->st, n);
	return k >= 0 && snapstore_restore(r->st, k);
}

bool rev_goto(struct reverse *r, uint64_t n)
{
	struct cpu *c = r->c;
	if (n < r->start)
		return false;
	if (n == c->icount)
		return true;
	if (n < c->icount && !restore_before(r, n))
		return false;
	struct quiet q;
	hush(c, &q, NULL, NULL);
	bool ok = replay_to(r, n);
	unhush(c, &q);
	return ok;
}

bool rev_step_back(struct reverse *r)
{
	return r->c->icount > r->start && rev_goto(r, r->c->icount - 1);
}

/* The search: replay one snapshot interval, noting the last matching
 * point before `before`. */
struct search {
	unsigned what;
	uint64_t before;
	bool found;
	uint64_t at;
};

static void search_event(void *opaque, const struct event *e)
{
	struct search *s = opaque;
	bool match = (e->type == EVT_VMEXIT && (s->what & REV_VMEXIT)) ||
		     (e->type == EVT_VMENTRY && (s->what & REV_VMENTRY)) ||
		     (e->type == EVT_EXCEPTION && (s->what & REV_EXCEPTION));
	if (match && e->icount < s->before) {
		s->found = true;
		s->at = e->icount;
	}
}

/* Replay [snapshot k, end) looking for the last match before s->before. */
static void search_interval(struct reverse *r, int k, uint64_t end, struct search *s,
			    const struct dbg_points *bps)
{
	struct cpu *c = r->c;
	struct quiet q;
	if (!snapstore_restore(r->st, k))
		return;
	hush(c, &q, search_event, s);
	if (s->what & REV_BREAKPOINT) {
		c->dbg.nbp = bps->nbp;
		memcpy(c->dbg.bp, bps->bp, sizeof c->dbg.bp);
		/* The start of the interval is a point too. */
		for (int b = 0; b < c->dbg.nbp; b++)
			if (c->rip == c->dbg.bp[b] && c->icount < s->before)
				s->found = true, s->at = c->icount;
	}
	while (c->icount < end) {
		uint64_t before = c->icount;
		enum emu_stop stop = emu_run(c, end - c->icount);
		r->replayed += c->icount - before;
		if (stop == EMU_STOP_DEBUG && c->dbg.hit_bp) {
			if (c->icount < s->before)
				s->found = true, s->at = c->icount;
			continue;
		}
		if (stop != EMU_STOP_BUDGET || c->icount == before)
			break;
	}
	unhush(c, &q);
}

bool rev_back_to(struct reverse *r, unsigned what, uint64_t *at)
{
	struct cpu *c = r->c;
	uint64_t here = c->icount;
	struct dbg_points bps = c->dbg;
	struct search s = { .what = what, .before = here };
	if (here <= r->start)
		return false;
	for (int k = snapstore_find(r->st, here - 1); k >= 0 && !s.found; k--) {
		uint64_t end = k + 1 < r->st->n && r->st->s[k + 1].icount < here
				       ? r->st->s[k + 1].icount : here;
		search_interval(r, k, end, &s, &bps);
	}
	uint64_t to = s.found ? s.at : here;
	bool ok = rev_goto(r, to);
	if (s.found && ok && at)
		*at = s.at;
	return s.found && ok;
}
