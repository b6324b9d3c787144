/* Virtual-time timers: a list kept sorted by deadline. */
#include "emu/vtime.h"

void vtimer_cancel(struct cpu *c, struct vtimer *t)
{
	if (!t->armed)
		return;
	for (struct vtimer **pp = &c->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->armed = false;
	t->next = NULL;
}

void vtimer_arm(struct cpu *c, struct vtimer *t, uint64_t deadline)
{
	vtimer_cancel(c, t);
	t->deadline = deadline;
	struct vtimer **pp = &c->timers;
	while (*pp && (*pp)->deadline <= deadline)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	t->armed = true;
	c->brk |= BRK_STOP; /* the run loop must re-read the next deadline */
}

bool vtimer_run_due(struct cpu *c)
{
	bool any = false;
	while (c->timers && c->timers->deadline <= emu_now(c)) {
		struct vtimer *t = c->timers;
		c->timers = t->next;
		t->armed = false;
		t->next = NULL;
		t->fire(t->opaque);
		any = true;
	}
	return any;
}
