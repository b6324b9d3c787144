/* The 8254 programmable interval timer (Intel 8254 datasheet): three
 * 16-bit down counters fed by a 1.193182 MHz clock, here derived from
 * virtual time. Ports 0x40-0x42 are the counters, 0x43 the control word.
 * Counter 0's OUT drives ISA IRQ 0; counter 1 (the old DRAM refresh) has
 * no output; counter 2's GATE and OUT are bits 0 and 5 of port 0x61
 * (which also carries the speaker enable and the refresh toggle, bit 4).
 *
 * A counter is modelled by the time its count was loaded (t0) and the
 * count N: after k input clocks the count and OUT follow from the mode,
 * so nothing runs per clock. Counter 0 arms one virtual-time timer at the
 * next change of OUT, and drives IRQ 0 with OUT's level: the 8259 and the
 * I/O APIC see the rising edges.
 *
 * Modes (datasheet "Mode definitions"), k clocks after the load:
 *  0 interrupt on terminal count: OUT low, high from k = N on;
 *  1 hardware retriggerable one-shot: as 0, started by a GATE rising edge;
 *  2 rate generator: OUT low for one clock when the count is 1, period N;
 *  3 square wave: OUT high for ceil(N/2) clocks, low for floor(N/2);
 *  4 software triggered strobe: OUT low for one clock at k = N;
 *  5 hardware triggered strobe: as 4, started by a GATE rising edge.
 * Only counter 2 has a GATE that software moves; 0 and 1 are tied high,
 * so on them modes 1 and 5 never start and OUT stays high.
 *
 * Simplifications:
 *  - the count is loaded at the write, not at the next clock edge;
 *  - a count written in mode 2 or 3 while counting takes effect at the
 *    end of the current period (the datasheet says half-cycle for mode 3);
 *  - in mode 3 the count read back goes down by 2 from N (rounded down to
 *    even) during each half-cycle;
 *  - the count 1, illegal in modes 2 and 3, counts as 2;
 *  - counters are idle at reset (no count loaded, as before a BIOS
 *    programs them), so an idle machine has no timer armed. OUT, which
 *    the datasheet leaves undefined until programmed, is high: programming
 *    modes 2-5 then makes no edge, and mode 0 takes OUT low.
 * Reads give the live count unless the latch or read-back command froze
 * it; BCD counting is supported. */
#include <stdlib.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/snap.h"
#include "emu/vtime.h"

#define PIT_HZ       1193182u
#define NS_PER_SEC   1000000000u
#define REFRESH_TICKS 18u  /* counter 1's BIOS count: bit 4 of 0x61 toggles every 15 us */

struct pit_counter {
	uint8_t ctrl;        /* RW, mode and BCD bits of the last control word (bits 5:0) */
	uint8_t mode;        /* 0-5 */
	uint8_t rw;          /* 1 LSB only, 2 MSB only, 3 LSB then MSB */
	bool bcd;
	uint16_t cr;         /* the count register, as written */
	uint32_t n;          /* the count in effect, in clocks (1..65536) */
	uint64_t t0;         /* virtual ns at which n was loaded */
	bool counting;       /* a count is loaded and running */
	bool paused;         /* modes 0 and 4: GATE low holds the count */
	uint64_t paused_at;
	uint16_t frozen;     /* the count while not counting */
	bool out_idle;       /* OUT while not counting */
	bool gate;
	bool null_count;     /* CR written but not yet loaded */
	bool has_count;      /* a count was written since the control word */
	bool next_pending;   /* modes 2/3: a new count waits for the period's end */
	uint64_t next_at;    /* ... at this time */
	bool write_msb;      /* rw 3: the next byte written is the MSB */
	uint8_t lsb;
	bool read_msb;       /* rw 3: the next live byte read is the MSB */
	uint8_t latch[2];    /* latched count bytes, in read order */
	uint8_t latch_len, latch_pos;
	bool status_latched;
	uint8_t status;
};

struct pit {
	struct cpu *c;
	struct pit_counter ctr[3];
	bool line;           /* the level IRQ 0 was last driven to */
	struct vtimer timer; /* at counter 0's next OUT change */
	uint8_t port61;      /* bits 0-3 as written */
};

/* --- the clock --- */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / NS_PER_SEC);
}

/* The first virtual ns at which `ticks` clocks have passed. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ);
}

static uint32_t bcd_to_bin(uint16_t v)
{
	return (v & 0xf) + 10 * ((v >> 4) & 0xf) + 100 * ((v >> 8) & 0xf) + 1000 * (v >> 12);
}

static uint16_t bin_to_bcd(uint32_t v)
{
	return (uint16_t)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

/* --- the counter as a function of time --- */

/* A pending mode 2/3 reload whose time has come replaces the count. */
static void advance(struct pit_counter *p, uint64_t now)
{
	if (p->next_pending && now >= p->next_at) {
		p->t0 = p->next_at;
		p->n = p->bcd ? bcd_to_bin(p->cr) : p->cr;
		if (p->n == 0)
			p->n = p->bcd ? 10000 : 65536;
		if (p->n == 1 && (p->mode == 2 || p->mode == 3))
			p->n = 2;
		p->next_pending = false;
		p->null_count = false;
	}
}

static uint64_t ticks_at(const struct pit_counter *p, uint64_t now)
{
	uint64_t t = p->paused ? p->paused_at : now;
	return t > p->t0 ? ns_to_ticks(t - p->t0) : 0;
}

static bool out_at(const struct pit_counter *p, uint64_t k)
{
	uint64_t n = p->n;
	switch (p->mode) {
	case 0: case 1: return k >= n;
	case 2:         return k % n != n - 1;
	case 3:         return k % n < (n + 1) / 2;
	default:        return k != n;   /* 4, 5 */
	}
}

/* The clock after k at which OUT changes, or UINT64_MAX. */
static uint64_t next_edge(const struct pit_counter *p, uint64_t k)
{
	uint64_t n = p->n, m = k % n, start = k - m;
	switch (p->mode) {
	case 0: case 1: return k < n ? n : UINT64_MAX;
	case 2:         return m < n - 1 ? start + n - 1 : start + n;
	case 3:         return m < (n + 1) / 2 ? start + (n + 1) / 2 : start + n;
	default:        return k < n ? n : k == n ? n + 1 : UINT64_MAX;
	}
}

static bool counter_out(struct pit_counter *p, uint64_t now)
{
	advance(p, now);
	return p->counting ? out_at(p, ticks_at(p, now)) : p->out_idle;
}

/* The count element's value now, in binary. */
static uint32_t counter_value(struct pit_counter *p, uint64_t now)
{
	advance(p, now);
	if (!p->counting)
		return p->frozen;
	uint64_t k = ticks_at(p, now), n = p->n;
	uint32_t wrap = p->bcd ? 10000 : 65536;
	switch (p->mode) {
	case 2:
		return (uint32_t)(n - k % n) % wrap;
	case 3: {
		uint64_t half = (n + 1) / 2, m = k % n;
		uint64_t into = m < half ? m : m - half;
		return (uint32_t)(((n & ~1ull) - 2 * into) % wrap);
	}
	default: /* 0, 1, 4, 5: past zero the count wraps and goes on */
		return (uint32_t)((n + wrap - k % wrap) % wrap);
	}
}

/* --- counter 0 drives IRQ 0 --- */

static void set_line(struct pit *t, bool level)
{
	if (t->line == level)
		return;
	t->line = level;
	irq_line(t->c, 0, level);
}

/* Arm the timer for counter 0's next OUT change after time `from`. */
static void schedule(struct pit *t, uint64_t from)
{
	struct pit_counter *p = &t->ctr[0];
	vtimer_cancel(t->c, &t->timer);
	advance(p, from);
	if (!p->counting || p->paused)
		return;
	uint64_t e = next_edge(p, ticks_at(p, from));
	uint64_t at = e == UINT64_MAX ? UINT64_MAX : p->t0 + ticks_to_ns(e);
	if (p->next_pending && p->next_at < at)
		at = p->next_at;
	if (at != UINT64_MAX)
		vtimer_arm(t->c, &t->timer, at);
}

/* OUT changes now; drive the line to its new level. If the run loop came
 * late, skip to the last period before now: one rising edge is what the
 * interrupt controllers would have latched anyway. */
static void pit_fire(void *opaque)
{
	struct pit *t = opaque;
	struct pit_counter *p = &t->ctr[0];
	uint64_t at = t->timer.deadline, now = emu_now(t->c);
	set_line(t, counter_out(p, at));
	uint64_t period = ticks_to_ns(p->n) + 1;
	schedule(t, now - at > period ? now - period : at);
}

/* After a change by software: OUT may have moved, the next edge too. */
static void counter0_changed(struct pit *t)
{
	uint64_t now = emu_now(t->c);
	set_line(t, counter_out(&t->ctr[0], now));
	schedule(t, now);
}

/* --- programming --- */

static void start_counting(struct pit_counter *p, uint64_t now)
{
	p->n = p->bcd ? bcd_to_bin(p->cr) : p->cr;
	if (p->n == 0)
		p->n = p->bcd ? 10000 : 65536;
	if (p->n == 1 && (p->mode == 2 || p->mode == 3))
		p->n = 2;
	p->t0 = now;
	p->counting = true;
	p->paused = !p->gate && (p->mode == 0 || p->mode == 4);
	p->paused_at = now;
	p->null_count = false;
	p->next_pending = false;
}

/* A complete count was written to CR (datasheet, "Write operations"). */
static void load_count(struct pit_counter *p, uint64_t now)
{
	p->null_count = true;
	p->has_count = true;
	switch (p->mode) {
	case 1: case 5:
		return; /* loaded by the next GATE trigger */
	case 2: case 3:
		if (p->counting) {
			/* at the end of the current period */
			uint64_t k = ticks_at(p, now), end = (k / p->n + 1) * p->n;
			p->next_pending = true;
			p->next_at = p->t0 + ticks_to_ns(end);
			return;
		}
		if (!p->gate)
			return; /* loaded when GATE rises */
		break;
	}
	start_counting(p, now);
}

static void write_count(struct pit_counter *p, uint8_t v, uint64_t now)
{
	switch (p->rw) {
	case 1:
		p->cr = v;
		break;
	case 2:
		p->cr = (uint16_t)(v << 8);
		break;
	default:
		if (!p->write_msb) {
			p->lsb = v;
			p->write_msb = true;
			if (p->mode == 0) {
				/* the first byte stops the count, OUT goes low */
				p->frozen = (uint16_t)counter_value(p, now);
				p->counting = false;
				p->out_idle = false;
			}
			return;
		}
		p->cr = (uint16_t)(p->lsb | v << 8);
		p->write_msb = false;
		break;
	}
	load_count(p, now);
}

/* Counter latch command: the first one holds until the count is read. */
static void latch_count(struct pit_counter *p, uint64_t now)
{
	if (p->latch_len)
		return;
	uint32_t v = counter_value(p, now);
	uint16_t c = p->bcd ? bin_to_bcd(v) : (uint16_t)v;
	p->latch_pos = 0;
	if (p->rw == 2) {
		p->latch[0] = (uint8_t)(c >> 8);
		p->latch_len = 1;
	} else {
		p->latch[0] = (uint8_t)c;
		p->latch[1] = (uint8_t)(c >> 8);
		p->latch_len = p->rw == 1 ? 1 : 2;
	}
}

/* Status byte (datasheet, "Read-Back Command"): OUT, null count, then
 * the RW, mode and BCD bits as programmed. */
static void latch_status(struct pit_counter *p, uint64_t now)
{
	if (p->status_latched)
		return;
	p->status = (uint8_t)(counter_out(p, now) << 7 | p->null_count << 6 | p->ctrl);
	p->status_latched = true;
}

/* A control word resets the counter's logic: OUT goes to its initial
 * level (low in mode 0, high otherwise) and waits for a count. */
static void write_control(struct pit *t, uint8_t v, uint64_t now)
{
	unsigned sc = v >> 6;
	if (sc == 3) { /* read-back: bit 5 /COUNT, bit 4 /STATUS, bits 3:1 counters */
		for (unsigned k = 0; k < 3; k++) {
			if (!(v & (2u << k)))
				continue;
			if (!(v & 0x10))
				latch_status(&t->ctr[k], now);
			if (!(v & 0x20))
				latch_count(&t->ctr[k], now);
		}
		return;
	}
	struct pit_counter *p = &t->ctr[sc];
	unsigned rw = (v >> 4) & 3;
	if (rw == 0) {
		latch_count(p, now);
		return;
	}
	p->frozen = (uint16_t)counter_value(p, now);
	p->ctrl = v & 0x3f;
	p->rw = (uint8_t)rw;
	p->mode = (v >> 1) & 7;
	if (p->mode > 5)
		p->mode -= 4; /* 110 and 111 are modes 2 and 3 */
	p->bcd = v & 1;
	p->counting = p->paused = p->next_pending = p->has_count = false;
	p->out_idle = p->mode != 0;
	p->null_count = true;
	p->write_msb = p->read_msb = false;
	p->latch_len = 0;
	p->status_latched = false;
	if (sc == 0)
		counter0_changed(t);
}

static uint8_t read_counter(struct pit_counter *p, uint64_t now)
{
	if (p->status_latched) {
		p->status_latched = false;
		return p->status;
	}
	if (p->latch_len) {
		uint8_t b = p->latch[p->latch_pos++];
		if (p->latch_pos == p->latch_len)
			p->latch_len = 0;
		return b;
	}
	uint32_t v = counter_value(p, now);
	uint16_t c = p->bcd ? bin_to_bcd(v) : (uint16_t)v;
	bool msb = p->rw == 2 || (p->rw == 3 && p->read_msb);
	if (p->rw == 3)
		p->read_msb = !p->read_msb;
	return (uint8_t)(msb ? c >> 8 : c);
}

/* GATE of counter 2 (port 0x61 bit 0). A rising edge starts modes 1 and
 * 5 and restarts 2 and 3; low holds the count in 0 and 4, and stops 2
 * and 3 with OUT high. */
static void set_gate(struct pit_counter *p, bool gate, uint64_t now)
{
	if (gate == p->gate)
		return;
	p->gate = gate;
	switch (p->mode) {
	case 0: case 4:
		if (!p->counting)
			break;
		if (!gate) {
			p->paused = true;
			p->paused_at = now;
		} else if (p->paused) {
			p->paused = false;
			p->t0 += now - p->paused_at;
		}
		break;
	case 1: case 5:
		if (gate && p->has_count)
			start_counting(p, now);
		break;
	default: /* 2, 3 */
		if (gate && p->has_count) {
			start_counting(p, now);
		} else if (!gate) {
			p->frozen = (uint16_t)counter_value(p, now);
			p->counting = false;
			p->next_pending = false;
			p->out_idle = true;
		}
		break;
	}
}

/* --- ports --- */

/* Port 0x61: bit 0 GATE2, bit 1 speaker data, bits 2-3 parity and
 * channel check enables (stored only), bit 4 refresh toggle, bit 5 OUT2. */
static uint8_t read_61(struct pit *t, uint64_t now)
{
	bool refresh = (ns_to_ticks(now) / REFRESH_TICKS) & 1;
	return (uint8_t)((t->port61 & 0x0f) | refresh << 4 | counter_out(&t->ctr[2], now) << 5);
}

static void write_61(struct pit *t, uint8_t v, uint64_t now)
{
	t->port61 = v & 0x0f;
	set_gate(&t->ctr[2], v & 1, now);
}

static uint32_t pit_in(void *opaque, uint16_t port, int bytes)
{
	struct pit *t = opaque;
	uint64_t now = emu_now(t->c);
	uint32_t v = 0;
	for (int k = 0; k < bytes; k++) {
		uint16_t pt = (uint16_t)(port + k);
		uint8_t b = 0xff;
		if (pt >= 0x40 && pt <= 0x42)
			b = read_counter(&t->ctr[pt - 0x40], now);
		else if (pt == 0x61)
			b = read_61(t, now);
		v |= (uint32_t)b << (8 * k);
	}
	return v;
}

static void pit_out(void *opaque, uint16_t port, int bytes, uint32_t v)
{
	struct pit *t = opaque;
	uint64_t now = emu_now(t->c);
	for (int k = 0; k < bytes; k++) {
		uint16_t pt = (uint16_t)(port + k);
		uint8_t b = (uint8_t)(v >> (8 * k));
		if (pt == 0x43) {
			write_control(t, b, now);
		} else if (pt >= 0x40 && pt <= 0x42) {
			write_count(&t->ctr[pt - 0x40], b, now);
			if (pt == 0x40)
				counter0_changed(t);
		} else if (pt == 0x61) {
			write_61(t, b, now);
		}
	}
}

/* --- the interface of emu/devices.h --- */


struct pit *pit_new(struct cpu *c)
{
	struct pit *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->c = c;
	t->timer.fire = pit_fire;
	t->timer.opaque = t;
	for (unsigned k = 0; k < 3; k++) {
		struct pit_counter *p = &t->ctr[k];
		p->rw = 3;
		p->ctrl = 0x30; /* LSB then MSB, mode 0, binary */
		p->gate = k != 2;
		p->out_idle = true;
	}
	t->line = true; /* OUT0 high; the controllers see the first fall */
	struct pio_dev d40 = { 0x40, 4, t, pit_in, pit_out };
	struct pio_dev d61 = { 0x61, 1, t, pit_in, pit_out };
	if (!bus_add_pio(c->bus, &d40) || !bus_add_pio(c->bus, &d61)) {
		bus_remove(c->bus, t);
		free(t);
		return NULL;
	}
	c->pit = t;
	return t;
}

void pit_free(struct pit *t)
{
	if (!t)
		return;
	vtimer_cancel(t->c, &t->timer);
	bus_remove(t->c->bus, t);
	if (t->c->pit == t)
		t->c->pit = NULL;
	free(t);
}

/* Snapshots (emu/snap.h): the counters and the timer of counter 0. */
void pit_snap(struct pit *t, struct snap_io *io)
{
	struct pit keep = *t, k = *t;
	k.c = NULL; /* host pointers are not saved */
	snap_timer_clear(&k.timer);
	snap_io_bytes(io, &k, sizeof k);
	if (io->loading && !io->bad) {
		k.c = keep.c;
		*t = k;
	}
	snap_io_timer(io, &t->timer, &keep.timer);
}
