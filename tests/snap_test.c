/* Snapshots and reverse execution on real guests: restoring a snapshot and
 * running again gives the same event stream and the same final state;
 * dirty pages are all a snapshot copies; a step back equals a forward run
 * stopped at the same instruction, across VM entries and exits too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/bus.h"
#include "emu/cpu.h"
#include "emu/event.h"
#include "emu/loader.h"
#include "emu/pc.h"
#include "emu/reverse.h"
#include "emu/snap.h"
#include "emu/snapstore.h"

#ifndef NESTLAB_BUILD
#define NESTLAB_BUILD "build"
#endif
#define GUEST(p) NESTLAB_BUILD "/guests/" p

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing (make builds it)", path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*len);
	cr_assert_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

/* A machine booted from image with up to two modules. */
static struct cpu *boot(const char *image, const char *mod1, const char *mod2)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	struct cpu *c = emu_new(64u << 20);
	cr_assert_not_null(c);
	cr_assert(pc_attach(c, sink, NULL));
	c->bus->console = sink;
	size_t len, l1 = 0, l2 = 0;
	uint8_t *img = slurp(image, &len);
	struct module m[2];
	int n = 0;
	if (mod1)
		m[n++] = (struct module){ mod1, slurp(mod1, &l1), l1 };
	if (mod2)
		m[n++] = (struct module){ mod2, slurp(mod2, &l2), l2 };
	struct load_opts lo = { image, NULL, m, n };
	cr_assert_eq(load_image(c, img, len, &lo).err, LOAD_OK);
	free(img);
	for (int k = 0; k < n; k++)
		free((void *)m[k].data);
	return c;
}

static void destroy(struct cpu *c)
{
	pc_detach(c);
	emu_free(c);
}

/* The event stream, as far as a comparison needs it. */
struct rec {
	uint32_t type;
	uint64_t icount, vtime, rip, a, b;
};
struct log {
	struct rec *r;
	size_t n, cap;
};

static void record(void *opaque, const struct event *e)
{
	struct log *l = opaque;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->r = realloc(l->r, l->cap * sizeof *l->r);
	}
	struct rec x;
	memset(&x, 0, sizeof x); /* padding too: records are compared with memcmp */
	x.type = e->type, x.icount = e->icount, x.vtime = e->vtime, x.rip = e->rip;
	switch (e->type) {
	case EVT_EXCEPTION: x.a = e->u.exc.vector, x.b = e->u.exc.error; break;
	case EVT_INTERRUPT: x.a = e->u.irq.vector; break;
	case EVT_IO: x.a = e->u.io.port, x.b = e->u.io.value; break;
	case EVT_SERIAL: x.a = e->u.serial.byte; break;
	case EVT_VMEXIT: x.a = e->u.vmexit.reason, x.b = e->u.vmexit.qual; break;
	case EVT_VMENTRY: x.a = e->u.vmentry.ok, x.b = e->u.vmentry.guest_rip; break;
	default: break;
	}
	l->r[l->n++] = x;
}

/* The machine's whole state: the blob (minus statistics, which count
 * cache refills, and the run loop's brk) and RAM. */
static void same_state(struct cpu *a, struct cpu *b, const char *what)
{
	struct snap_io x, y;
	cr_assert(snap_state_save(a, &x));
	cr_assert(snap_state_save(b, &y));
	cr_assert_eq(x.len, y.len);
	size_t st = 8 + offsetof(struct cpu, stats);
	memset(x.buf + st, 0, sizeof a->stats);
	memset(y.buf + st, 0, sizeof b->stats);
	/* brk only tells the run loop to look around; each block clears it */
	x.buf[8 + offsetof(struct cpu, brk)] = y.buf[8 + offsetof(struct cpu, brk)] = 0;
	size_t diff = x.len;
	for (size_t k = 0; k < x.len; k++)
		if (x.buf[k] != y.buf[k]) {
			diff = k;
			break;
		}
	cr_assert_eq(diff, x.len, "%s: the states differ at byte %zu (cpu offset %zu of %zu)",
		     what, diff, diff - 8, sizeof(struct cpu));
	cr_assert_eq(a->icount, b->icount, "%s", what);
	cr_assert(!memcmp(a->bus->ram, b->bus->ram, a->bus->ram_size), "%s: RAM differs", what);
	free(x.buf);
	free(y.buf);
}

static void run_to(struct cpu *c, uint64_t n)
{
	while (c->icount < n) {
		uint64_t before = c->icount;
		if (emu_run(c, n - c->icount) != EMU_STOP_BUDGET && c->icount == before)
			break;
	}
}

/* Run to `at`, snapshot, run on to `end` recording; restore, run again
 * recording: the two streams and the two end states are the same. */
static void restore_replays(const char *image, const char *m1, const char *m2,
			    uint64_t at, uint64_t end)
{
	struct cpu *c = boot(image, m1, m2);
	struct snapstore *st = snapstore_new(c, 1ull << 30);
	run_to(c, at);
	cr_assert_eq(c->icount, at);
	int k = snapstore_take(st);
	cr_assert_eq(k, 0);
	struct log first = { 0 }, again = { 0 };
	cr_assert(evt_observe(c, record, &first));
	enum emu_stop s1 = emu_run(c, end - c->icount);
	uint8_t *ram1 = malloc(c->bus->ram_size);
	memcpy(ram1, c->bus->ram, c->bus->ram_size);
	uint64_t ic1 = c->icount;
	struct cpu *ref = boot(image, m1, m2); /* the end state, run straight */
	run_to(ref, ic1);
	same_state(c, ref, "straight run");

	cr_assert(snapstore_restore(st, 0));
	cr_assert_eq(c->icount, at);
	c->obs[0].opaque = &again;
	enum emu_stop s2 = emu_run(c, end - c->icount);
	cr_assert_eq(s1, s2);
	cr_assert_gt(first.n, 10, "the run should have events (%zu)", first.n);
	cr_assert_eq(first.n, again.n, "%zu events, then %zu", first.n, again.n);
	for (size_t e = 0; e < first.n; e++)
		cr_assert(!memcmp(&first.r[e], &again.r[e], sizeof first.r[e]),
			  "event %zu differs: type %u icount %lu/%lu", e, first.r[e].type,
			  (unsigned long)first.r[e].icount, (unsigned long)again.r[e].icount);
	cr_assert(!memcmp(ram1, c->bus->ram, c->bus->ram_size));
	c->nobs = 0;
	same_state(c, ref, "after restore");
	free(ram1);
	free(first.r);
	free(again.r);
	snapstore_free(st);
	destroy(ref);
	destroy(c);
}

Test(snap, restore_replays_vmx_guest)
{
	restore_replays(GUEST("tests/vmx_exits.elf"), NULL, NULL, 40000, 200000);
}

Test(snap, restore_replays_type1_with_two_guests)
{
	restore_replays(GUEST("type1/type1.elf"), GUEST("l2/apictimer.elf"),
			GUEST("l2/pagefault.elf"), 500000, 2000000);
}

/* Snapshots copy only pages written since the one before; with a small
 * budget they merge; restoring any of them, in any order, gives the state
 * a straight run has there. */
Test(snap, dirty_pages_and_merging)
{
	const char *img = GUEST("type1/type1.elf"), *m1 = GUEST("l2/apictimer.elf");
	struct cpu *c = boot(img, m1, NULL);
	struct snapstore *st = snapstore_new(c, 600000);
	for (int k = 0; k < 12; k++) {
		run_to(c, 100000 * (uint64_t)(k + 1));
		cr_assert_geq(snapstore_take(st), 0);
	}
	cr_assert_lt(st->pages_copied, 12 * 256, "copied %lu pages",
		     (unsigned long)st->pages_copied);
	cr_assert_gt(st->merged, 0, "a 600 kB budget should merge (%lu bytes held)",
		     (unsigned long)st->bytes);
	cr_assert_geq(st->n, 3);
	int order[] = { 2, 0, st->n - 1, 1, st->n - 2 };
	for (unsigned k = 0; k < sizeof order / sizeof order[0]; k++) {
		int j = order[k] % st->n;
		cr_assert(snapstore_restore(st, j));
		struct cpu *ref = boot(img, m1, NULL);
		run_to(ref, st->s[j].icount);
		same_state(c, ref, "restored snapshot");
		destroy(ref);
	}
	snapstore_free(st);
	destroy(c);
}

/* The first event of `type` at or after icount `from` in a run. */
static uint64_t first_event(const char *img, const char *m1, uint32_t type, uint64_t from)
{
	struct cpu *c = boot(img, m1, NULL);
	struct log l = { 0 };
	evt_observe(c, record, &l);
	emu_run(c, from + 2000000);
	uint64_t at = 0;
	for (size_t e = 0; e < l.n && !at; e++)
		if (l.r[e].type == type && l.r[e].icount >= from)
			at = l.r[e].icount;
	cr_assert_gt(at, 0, "no event %u after %lu", type, (unsigned long)from);
	free(l.r);
	destroy(c);
	return at;
}

static void forward_equals(struct reverse *r, const char *img, const char *m1, const char *what)
{
	struct cpu *ref = boot(img, m1, NULL);
	run_to(ref, r->c->icount);
	same_state(r->c, ref, what);
	destroy(ref);
}

Test(reverse, step_back_across_vm_exit_and_entry)
{
	const char *img = GUEST("type1/type1.elf"), *m1 = GUEST("l2/pagefault.elf");
	uint64_t exit_at = first_event(img, m1, EVT_VMEXIT, 300000);
	uint64_t entry_at = first_event(img, m1, EVT_VMENTRY, exit_at + 1);
	struct cpu *c = boot(img, m1, NULL);
	struct reverse *r = rev_new(c, 50000, 64u << 20);
	cr_assert_not_null(r);
	cr_assert_eq(rev_run(r, entry_at + 500), EMU_STOP_BUDGET);

	/* From the host's first instruction after the exit back to the guest
	 * instruction that caused it. */
	cr_assert(rev_goto(r, exit_at + 1));
	forward_equals(r, img, m1, "after the exit");
	cr_assert(rev_step_back(r));
	cr_assert_eq(c->icount, exit_at);
	cr_assert(c->vmx.nonroot, "before the exit the guest runs");
	forward_equals(r, img, m1, "step back over a VM exit");

	/* From the guest's first instruction back to VMRESUME/VMLAUNCH. */
	cr_assert(rev_goto(r, entry_at + 1));
	cr_assert(c->vmx.nonroot);
	cr_assert(rev_step_back(r));
	cr_assert_not(c->vmx.nonroot, "before the entry the host runs");
	forward_equals(r, img, m1, "step back over a VM entry");

	/* Back to the previous VM exit from further on. */
	cr_assert(rev_goto(r, entry_at + 400));
	uint64_t at = 0;
	cr_assert(rev_back_to(r, REV_VMEXIT, &at));
	cr_assert_geq(at, exit_at);
	cr_assert_lt(at, entry_at + 400);
	cr_assert_eq(c->icount, at);
	forward_equals(r, img, m1, "back to the previous VM exit");
	rev_free(r);
	destroy(c);
}

Test(reverse, back_to_breakpoint_and_exception)
{
	const char *img = GUEST("type1/type1.elf"), *m1 = GUEST("l2/pagefault.elf");
	struct cpu *c = boot(img, m1, NULL);
	struct reverse *r = rev_new(c, 100000, 64u << 20);
	rev_run(r, 600000);
	uint64_t a = c->icount;
	cr_assert(rev_step_back(r));
	uint64_t pc = c->rip;
	cr_assert(rev_goto(r, a + 5000));
	c->dbg.bp[0] = pc;
	c->dbg.nbp = 1;
	uint64_t at = 0;
	cr_assert(rev_back_to(r, REV_BREAKPOINT, &at));
	cr_assert_eq(c->rip, pc);
	cr_assert_geq(at, a - 1);
	c->dbg.nbp = 0;
	forward_equals(r, img, m1, "back to a breakpoint");
	rev_free(r);
	destroy(c);
}
