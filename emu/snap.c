/* The machine's state without RAM, saved to and loaded from a blob. */
#include <stdlib.h>
#include <string.h>

#include "emu/dcache.h"
#include "emu/devices.h"
#include "emu/event.h"
#include "emu/mem.h"
#include "emu/snap.h"
#include "vmx/entry.h"

void snap_io_bytes(struct snap_io *io, void *p, size_t n)
{
	if (io->bad || n == 0)
		return; /* n == 0: p may be NULL (an empty input queue) */
	if (io->loading) {
		if (n > io->len - io->pos) {
			io->bad = true;
			return;
		}
		memcpy(p, io->buf + io->pos, n);
		io->pos += n;
		return;
	}
	if (io->len + n > io->cap) {
		size_t cap = io->cap ? io->cap : 1 << 16;
		while (cap < io->len + n)
			cap *= 2;
		uint8_t *nb = realloc(io->buf, cap);
		if (!nb) {
			io->bad = true;
			return;
		}
		io->buf = nb;
		io->cap = cap;
	}
	memcpy(io->buf + io->len, p, n);
	io->len += n;
}

void snap_io_timer(struct snap_io *io, struct vtimer *t, const struct vtimer *keep)
{
	if (io->loading) {
		t->fire = keep->fire;
		t->opaque = keep->opaque;
		t->next = NULL;
	}
	if (io->ntimers < SNAP_MAX_TIMERS)
		io->timer[io->ntimers++] = t;
	else
		io->bad = true;
}

/* The order of the armed timers (equal deadlines fire in arming order):
 * each timer's place in the list, -1 when not armed. */
static void timers_save(struct cpu *c, struct snap_io *io)
{
	for (int k = 0; k < io->ntimers; k++) {
		int32_t rank = -1, r = 0;
		for (struct vtimer *t = c->timers; t; t = t->next, r++)
			if (t == io->timer[k])
				rank = r;
		snap_io_bytes(io, &rank, sizeof rank);
	}
}

static void timers_load(struct cpu *c, struct snap_io *io)
{
	int32_t rank[SNAP_MAX_TIMERS];
	for (int k = 0; k < io->ntimers; k++)
		snap_io_bytes(io, &rank[k], sizeof rank[k]);
	c->timers = NULL;
	struct vtimer **tail = &c->timers;
	for (int32_t r = 0; r < io->ntimers && !io->bad; r++) {
		for (int k = 0; k < io->ntimers; k++) {
			if (rank[k] != r)
				continue;
			io->timer[k]->armed = true;
			*tail = io->timer[k];
			tail = &io->timer[k]->next;
		}
	}
	for (int k = 0; k < io->ntimers; k++)
		if (rank[k] < 0 || rank[k] >= io->ntimers)
			io->timer[k]->armed = false;
}

/* The parts of struct cpu that belong to the host process, not to the
 * machine: they stay the live machine's when a blob is loaded. */
static void cpu_keep_host(struct cpu *dst, const struct cpu *live)
{
	memcpy(dst->unwind, live->unwind, sizeof dst->unwind);
	dst->in_run = live->in_run;
	dst->cur = NULL;
	dst->intc = live->intc;
	dst->pic = live->pic;
	dst->pit = live->pit;
	dst->uart = live->uart;
	dst->ioapic = live->ioapic;
	dst->lapic = live->lapic;
	dst->fwcfg = live->fwcfg;
	dst->bus = live->bus;
	dst->dcache = live->dcache;
	memcpy(dst->jc, live->jc, sizeof dst->jc);
	dst->jc_gen = live->jc_gen + 1;
	memcpy(dst->obs, live->obs, sizeof dst->obs);
	dst->nobs = live->nobs;
	dst->trace_walks = live->trace_walks;
	dst->dbg = live->dbg;
	dst->timers = NULL;
}

/* What in struct cpu points at constant tables, saved as names/indices. */
struct cpu_refs {
	char mode_seen[16];      /* evt_mode_name() when last reported, "" if none */
	int32_t failed_check;    /* index into the entry-check table, -1: none */
};

static void cpu_save(struct cpu *c, struct snap_io *io)
{
	struct cpu *k = malloc(sizeof *k);
	if (!k) {
		io->bad = true;
		return;
	}
	*k = *c;
	struct cpu_refs refs = { .failed_check = -1 };
	if (c->mode_seen)
		strncpy(refs.mode_seen, c->mode_seen, sizeof refs.mode_seen - 1);
	const struct entry_check *rows;
	unsigned n = vmx_entry_checks(&rows);
	if (c->vmx.failed.check && c->vmx.failed.check >= rows && c->vmx.failed.check < rows + n)
		refs.failed_check = (int32_t)(c->vmx.failed.check - rows);
	/* Host pointers are cleared, so that a blob is the same bytes in
	 * every process (a file is compared and hashed). */
	memset(k->unwind, 0, sizeof k->unwind);
	memset(k->jc, 0, sizeof k->jc);
	memset(k->obs, 0, sizeof k->obs);
	k->cur = NULL;
	k->intc = NULL;
	k->pic = NULL, k->pit = NULL, k->uart = NULL;
	k->ioapic = NULL, k->lapic = NULL, k->fwcfg = NULL;
	k->bus = NULL;
	k->dcache = NULL;
	k->timers = NULL;
	k->mode_seen = NULL;
	k->vmx.failed.check = NULL;
	k->vmx.insn.name = NULL;
	k->vmx_preempt.fire = NULL, k->vmx_preempt.opaque = NULL, k->vmx_preempt.next = NULL;
	memset(&k->dbg, 0, sizeof k->dbg);
	k->in_run = false, k->nobs = 0, k->trace_walks = false, k->jc_gen = 0;
	for (int e = 0; e < TLB_ENTRIES; e++)
		k->tlb[e].host = NULL;
	snap_io_bytes(io, k, sizeof *k);
	snap_io_bytes(io, &refs, sizeof refs);
	free(k);
	snap_io_timer(io, &c->vmx_preempt, &c->vmx_preempt);
}

/* TLB entries point into RAM: recomputed from their physical page. */
static void tlb_relink(struct cpu *c)
{
	for (int e = 0; e < TLB_ENTRIES; e++) {
		struct tlb_entry *t = &c->tlb[e];
		t->host = ram_ptr(c, t->phys);
		if (!t->host)
			t->tag_read = t->tag_write = t->tag_exec = ~0ull;
	}
}

static void cpu_load(struct cpu *c, struct snap_io *io)
{
	struct cpu *k = malloc(sizeof *k);
	struct cpu_refs refs;
	if (!k) {
		io->bad = true;
		return;
	}
	snap_io_bytes(io, k, sizeof *k);
	snap_io_bytes(io, &refs, sizeof refs);
	if (io->bad) {
		free(k);
		return;
	}
	cpu_keep_host(k, c);
	*c = *k;
	free(k);
	refs.mode_seen[sizeof refs.mode_seen - 1] = 0;
	const char *m = evt_mode_name(c);
	c->mode_seen = strcmp(m, refs.mode_seen) ? NULL : m;
	const struct entry_check *rows;
	unsigned n = vmx_entry_checks(&rows);
	c->vmx.failed.check = refs.failed_check >= 0 && (unsigned)refs.failed_check < n
				      ? rows + refs.failed_check : NULL;
	vmx_preempt_bind(c);
	snap_io_timer(io, &c->vmx_preempt, &c->vmx_preempt);
	tlb_relink(c);
}

/* The devices, in a fixed order; a mask says which the machine has. */
static void devices_io(struct cpu *c, struct snap_io *io)
{
	const void *dev[] = { c->pic, c->pit, c->uart, c->ioapic, c->lapic, c->fwcfg };
	uint8_t have = 0;
	for (unsigned k = 0; k < sizeof dev / sizeof dev[0]; k++)
		have |= (uint8_t)((dev[k] != NULL) << k);
	uint8_t saved = have;
	snap_io_bytes(io, &saved, 1);
	if (saved != have) {
		io->bad = true;
		return;
	}
	if (c->pic)
		pic_snap(c->pic, io);
	if (c->pit)
		pit_snap(c->pit, io);
	if (c->uart)
		uart_snap(c->uart, io);
	if (c->ioapic)
		ioapic_snap(c->ioapic, io);
	if (c->lapic)
		lapic_snap(c->lapic, io);
	if (c->fwcfg)
		fwcfg_snap(c->fwcfg, io);
}

bool snap_state_save(struct cpu *c, struct snap_io *io)
{
	*io = (struct snap_io){ 0 };
	uint64_t ram = c->bus->ram_size;
	snap_io_bytes(io, &ram, sizeof ram);
	cpu_save(c, io);
	devices_io(c, io);
	timers_save(c, io);
	return !io->bad;
}

bool snap_state_load(struct cpu *c, const uint8_t *blob, size_t len)
{
	struct snap_io io = { .loading = true, .buf = (uint8_t *)blob, .len = len };
	uint64_t ram = 0;
	snap_io_bytes(&io, &ram, sizeof ram);
	if (io.bad || ram != c->bus->ram_size)
		return false;
	cpu_load(c, &io);
	devices_io(c, &io);
	timers_load(c, &io);
	dcache_flush(c);
	c->brk = 0;
	return !io.bad && io.pos == io.len;
}

void snap_dirty_reset(struct cpu *c)
{
	struct bus *b = c->bus;
	memset(b->dirty, 0, ((b->ram_size >> 18) + 1) * sizeof *b->dirty);
	b->dirty_cleared = true;
	for (int e = 0; e < TLB_ENTRIES; e++)
		if (c->tlb[e].tag_write != ~0ull && c->tlb[e].phys < b->ram_size)
			bus_mark_dirty(b, c->tlb[e].phys);
}
