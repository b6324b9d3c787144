/* The interpreter behind the backend API (emu/backend.h): emu_run() in
 * slices, so that the host-time limit is looked at now and then; virtual
 * time does not depend on the slicing. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "emu/backend.h"
#include "emu/bus.h"
#include "emu/reverse.h"

/* How many instructions run between two looks at the host clock. */
#define SLICE 20000000

double backend_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

const char *backend_mode_name(const struct cpu *c, enum lang lang)
{
	if (!(c->cr0 & CR0_PE))
		return msg(lang, MSG_MODE_REAL);
	if (c->code_sz == SZ64)
		return msg(lang, MSG_MODE_LONG64);
	if (c->efer & EFER_LMA)
		return msg(lang, MSG_MODE_COMPAT);
	return msg(lang, c->code_sz == SZ32 ? MSG_MODE_PROT32 : MSG_MODE_PROT16);
}

static void count(struct backend_stats *s, const char *name, uint64_t n)
{
	if (!n || s->nuser == STAT_MAX)
		return;
	struct stat_count *k = &s->user[s->nuser++];
	snprintf(k->name, sizeof k->name, "%s", name);
	k->n = n;
	s->user_total += n;
}

/* Where a hardware VM would have left the guest: the accesses to ports
 * and to memory that is not RAM, which the interpreter served itself. */
static void interp_stats(struct backend *b)
{
	struct backend_stats *s = &b->stats;
	const struct bus *bus = b->cpu->bus;
	s->has_insns = true;
	s->insns = b->cpu->icount;
	s->nuser = 0;
	s->user_total = 0;
	count(s, "port I/O", bus->pio_accesses);
	count(s, "MMIO", bus->mmio_accesses);
	snprintf(s->kernel_why, sizeof s->kernel_why, "%s",
		 msg(b->lang, MSG_INTERP_NO_KERNEL));
}

enum emu_stop backend_interp_slices(struct backend *b, const struct run_limits *l,
				    struct reverse *rev, uint64_t stop_at, double t0)
{
	struct cpu *c = b->cpu;
	enum emu_stop stop = EMU_STOP_BUDGET;
	uint64_t end = stop_at < l->max_insns ? stop_at : l->max_insns;
	while (c->icount < end && !c->vtime_out) {
		uint64_t slice = end - c->icount;
		if (l->timeout && slice > SLICE)
			slice = SLICE;
		stop = rev ? rev_run(rev, slice) : emu_run(c, slice);
		if (stop != EMU_STOP_BUDGET)
			break;
		if (l->timeout && backend_now() - t0 >= l->timeout) {
			b->timed_out = true;
			break;
		}
	}
	return stop;
}

static enum emu_stop interp_run(struct backend *b, const struct run_limits *l)
{
	double t0 = backend_now();
	/* The budget also bounds virtual time (instructions plus halted
	 * time, in ns), so a guest that only waits for timers ends too. */
	b->cpu->vtime_limit = l->max_insns;
	b->timed_out = false;
	enum emu_stop stop = backend_interp_slices(b, l, NULL, UINT64_MAX, t0);
	b->stats.seconds = backend_now() - t0;
	interp_stats(b);
	return stop;
}

static void interp_free(struct backend *b)
{
	free(b);
}

static const struct backend_ops interp_ops = {
	.name = "interpreter",
	.run = interp_run,
	.free = interp_free,
};

struct backend *backend_interp_new(struct cpu *c, enum lang lang)
{
	struct backend *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->ops = &interp_ops;
	b->cpu = c;
	b->lang = lang;
	return b;
}
