/* The local APIC (Intel SDM vol. 3A, chapter 10): xAPIC registers in a
 * 4 KiB MMIO page at IA32_APIC_BASE, the same registers as x2APIC MSRs
 * 0x800 + offset/16, the LVT, interrupt acceptance (IRR/ISR/TMR, TPR/PPR),
 * EOI, IPIs to itself, and the timer.
 *
 * Choices (all visible to guests):
 *  - Timer clock: the timer counts a 1 GHz bus clock, one tick per virtual
 *    nanosecond, before the divide configuration register divides it.
 *    TSC-deadline mode compares IA32_TSC_DEADLINE with the TSC, which is
 *    emu_now() + cpu->tsc_offset.
 *  - One CPU: APIC ID 0, the bootstrap processor. IPIs reach only this
 *    APIC (self, broadcast, or a destination that names it); INIT, SIPI
 *    and SMI are accepted and ignored.
 *  - Version 0x14 with six LVT entries (timer, thermal, performance,
 *    LINT0, LINT1, error): no CMCI entry, no EOI-broadcast suppression.
 *    Thermal and performance entries are stored but never fire; nothing
 *    drives LINT1.
 *  - The state at creation is the one a PC BIOS hands to a boot loader
 *    (what SeaBIOS leaves under QEMU): the power-up values of SDM 10.4.7.1,
 *    then the APIC software-enabled (SVR 0x1FF), LINT0 in ExtINT mode so
 *    the 8259 reaches the CPU (virtual wire), LINT1 in NMI mode. A guest
 *    that never touches the APIC therefore still gets the PIC's
 *    interrupts. Hardware-disabling the APIC (IA32_APIC_BASE.EN = 0)
 *    resets its registers to the bare power-up values, and while it is
 *    disabled the PIC's INTR reaches the CPU directly (SDM 10.4.3).
 *  - A software-disabled APIC (SVR bit 8 clear) drops fixed interrupts
 *    sent to it; what is already in IRR can still be taken.
 *  - For an ExtINT interrupt from the PIC, lapic_pending() returns 0,
 *    never a fixed vector (vectors 0-15 are illegal for fixed delivery,
 *    SDM 10.5.2); the vector is the PIC's, returned by lapic_ack().
 *  - Moving the APIC page is allowed only to a page that holds no RAM
 *    and no other device; a write asking otherwise is refused (#GP). */
#include <stdlib.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/snap.h"
#include "emu/vtime.h"

#define APIC_PAGE 0x1000u

/* IA32_APIC_BASE (SDM 10.4.4, figure 10-5). The physical address width
 * is 39 bits, as CPUID 80000008h reports. */
#define BASE_BSP    (1ull << 8)
#define BASE_EXTD   (1ull << 10)
#define BASE_EN     (1ull << 11)
#define BASE_ADDR   0x0000007ffffff000ull
#define BASE_RESET  (0xfee00000ull | BASE_BSP | BASE_EN)

/* Register offsets (SDM table 10-1); x2APIC MSR = 0x800 + offset / 16. */
enum {
	APIC_ID = 0x020, APIC_VER = 0x030, APIC_TPR = 0x080, APIC_APR = 0x090,
	APIC_PPR = 0x0a0, APIC_EOI = 0x0b0, APIC_RRD = 0x0c0, APIC_LDR = 0x0d0,
	APIC_DFR = 0x0e0, APIC_SVR = 0x0f0, APIC_ISR = 0x100, APIC_TMR = 0x180,
	APIC_IRR = 0x200, APIC_ESR = 0x280, APIC_ICR_LO = 0x300,
	APIC_ICR_HI = 0x310, APIC_LVT_TIMER = 0x320, APIC_LVT_ERROR = 0x370,
	APIC_TMICT = 0x380, APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0,
	APIC_SELF_IPI = 0x3f0,
};

/* The six LVT entries, in register order from 0x320. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_N };

#define APIC_VERSION   0x00050014u /* version 0x14, max LVT entry 5 */
#define LVT_MASKED     (1u << 16)
#define LVT_DELMODE(v) (((v) >> 8) & 7)
#define SVR_ENABLE     (1u << 8)

#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST 0x800
#define MSR_X2APIC_ICR   0x830

/* Delivery modes (ICR and LVT bits 10:8). */
enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5,
       DM_SIPI = 6, DM_EXTINT = 7 };

/* Timer modes (LVT timer bits 18:17, SDM table 10-2). */
enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

/* ESR bits (SDM figure 10-9). */
#define ESR_SEND_ILLEGAL_VECTOR  (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR  (1u << 6)
#define ESR_ILLEGAL_REGISTER     (1u << 7)

struct lapic {
	struct cpu *c;
	uint64_t base;          /* IA32_APIC_BASE */
	uint8_t xapic_id;       /* ID register bits 31:24 in xAPIC mode; the x2APIC ID is 0 */
	uint8_t tpr;
	uint32_t ldr, dfr, svr;
	uint32_t esr;           /* errors as last latched by an ESR write */
	uint32_t esr_pending;   /* errors seen since that write */
	uint32_t icr_lo, icr_hi;
	uint32_t irr[8], isr[8], tmr[8]; /* 256-bit registers, bit n = vector n */
	uint32_t lvt[LVT_N];
	uint32_t tmict, tdcr;
	bool timer_running;     /* one-shot or periodic count in progress */
	uint64_t timer_expiry;  /* virtual ns at which the count reaches 0 */
	uint64_t tsc_deadline;  /* IA32_TSC_DEADLINE; 0 = disarmed */
	struct vtimer timer;
	bool nmi_pending;
};

/* --- the register table: who may do what, in which mode --- */
#define R   1u   /* readable */
#define W   2u   /* writable */
#define XA  4u   /* exists in xAPIC mode */
#define X2  8u   /* exists in x2APIC mode */
#define X2RO 16u /* read-only in x2APIC mode */

struct apic_reg {
	uint8_t flags;
	uint32_t wmask;  /* bits software may set; in x2APIC others are #GP */
};

/* Indexed by offset / 16 (SDM tables 10-1 and 10-6). */
static const struct apic_reg apic_regs[0x40] = {
	[0x02] = { R | W | XA | X2 | X2RO, 0xff000000 },  /* ID */
	[0x03] = { R | XA | X2, 0 },                      /* version */
	[0x08] = { R | W | XA | X2, 0xff },               /* TPR */
	[0x09] = { R | XA, 0 },                           /* APR */
	[0x0a] = { R | XA | X2, 0 },                      /* PPR */
	[0x0b] = { W | XA | X2, 0 },                      /* EOI: x2APIC writes 0 */
	[0x0c] = { R | XA, 0 },                           /* remote read */
	[0x0d] = { R | W | XA | X2 | X2RO, 0xff000000 },  /* LDR */
	[0x0e] = { R | W | XA, 0xf0000000 },              /* DFR */
	[0x0f] = { R | W | XA | X2, 0x3ff },              /* SVR: vector, enable, focus */
	/* 0x10-0x27: ISR, TMR, IRR, read-only (see reg_info) */
	[0x28] = { R | W | XA | X2, 0 },                  /* ESR: x2APIC writes 0 */
	[0x30] = { R | W | XA | X2, 0x000ccfff },         /* ICR low (x2APIC: all 64 bits) */
	[0x31] = { R | W | XA, 0xff000000 },              /* ICR high */
	[0x32] = { R | W | XA | X2, 0x000700ff },         /* LVT timer */
	[0x33] = { R | W | XA | X2, 0x000107ff },         /* LVT thermal */
	[0x34] = { R | W | XA | X2, 0x000107ff },         /* LVT performance */
	[0x35] = { R | W | XA | X2, 0x0001a7ff },         /* LVT LINT0 */
	[0x36] = { R | W | XA | X2, 0x0001a7ff },         /* LVT LINT1 */
	[0x37] = { R | W | XA | X2, 0x000100ff },         /* LVT error */
	[0x38] = { R | W | XA | X2, 0xffffffff },         /* timer initial count */
	[0x39] = { R | XA | X2, 0 },                      /* timer current count */
	[0x3e] = { R | W | XA | X2, 0x0000000b },         /* divide configuration */
	[0x3f] = { W | X2, 0xff },                        /* SELF IPI */
};

/* The table entry for an offset; offsets past 0x3F0 are reserved. */
static const struct apic_reg *reg_info(unsigned off)
{
	static const struct apic_reg none, bank = { R | XA | X2, 0 };
	unsigned idx = off >> 4;
	if (idx >= 0x10 && idx < 0x28)
		return &bank; /* ISR, TMR, IRR */
	return idx < 0x40 ? &apic_regs[idx] : &none;
}

/* The CPU must look for interrupts again before its next instruction. */
static void kick(struct lapic *l)
{
	l->c->brk |= BRK_STOP;
}

static bool hw_enabled(const struct lapic *l)
{
	return l->base & BASE_EN;
}

static bool x2apic_mode(const struct lapic *l)
{
	return (l->base & (BASE_EN | BASE_EXTD)) == (BASE_EN | BASE_EXTD);
}

static bool sw_enabled(const struct lapic *l)
{
	return l->svr & SVR_ENABLE;
}

/* --- 256-bit registers --- */
static bool vec_test(const uint32_t *r, unsigned v)
{
	return r[v >> 5] & (1u << (v & 31));
}

static void vec_set(uint32_t *r, unsigned v, bool on)
{
	if (on)
		r[v >> 5] |= 1u << (v & 31);
	else
		r[v >> 5] &= ~(1u << (v & 31));
}

/* The highest vector set, or -1. */
static int vec_highest(const uint32_t *r)
{
	for (int k = 7; k >= 0; k--)
		if (r[k])
			return 32 * k + 31 - __builtin_clz(r[k]);
	return -1;
}

/* --- priorities (SDM 10.8.3.1) ---
 * PPR is TPR if TPR's class is at least that of the highest in-service
 * vector, else that class with a zero subclass. */
static uint8_t ppr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr);
	if (isrv < 0 || (l->tpr & 0xf0) >= (isrv & 0xf0))
		return l->tpr;
	return (uint8_t)(isrv & 0xf0);
}

/* APR (SDM 10.8.3.1, "Arbitration Priority"). */
static uint8_t apr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr), irrv = vec_highest(l->irr);
	unsigned tc = l->tpr & 0xf0;
	unsigned ic = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;
	unsigned rc = irrv < 0 ? 0 : (unsigned)irrv & 0xf0;
	if (tc >= rc && tc > ic)
		return l->tpr;
	unsigned m = tc > ic ? tc : ic;
	return (uint8_t)(m > rc ? m : rc);
}

/* --- accepting interrupts --- */
static void accept_fixed(struct lapic *l, unsigned vector, bool level);

/* Record errors in ESR and signal them through LVT error. An illegal
 * vector in LVT error itself is only recorded, never re-signalled. */
static void report_error(struct lapic *l, uint32_t bits)
{
	l->esr_pending |= bits;
	uint32_t e = l->lvt[LVT_ERROR];
	if (e & LVT_MASKED)
		return;
	if ((e & 0xff) < 16)
		l->esr_pending |= ESR_RECV_ILLEGAL_VECTOR;
	else
		accept_fixed(l, e & 0xff, false);
}

/* A fixed interrupt arrives (SDM 10.8.4): IRR is set, and TMR records
 * whether it was level-triggered, for the EOI broadcast. */
static void accept_fixed(struct lapic *l, unsigned vector, bool level)
{
	if (vector < 16) {
		report_error(l, ESR_RECV_ILLEGAL_VECTOR);
		return;
	}
	if (!sw_enabled(l))
		return;
	vec_set(l->irr, vector, true);
	vec_set(l->tmr, vector, level);
	kick(l);
}

/* A local interrupt source (timer, error) fires its LVT entry. */
static void lvt_fire(struct lapic *l, unsigned entry)
{
	uint32_t v = l->lvt[entry];
	if (v & LVT_MASKED)
		return;
	if (entry != LVT_TIMER && entry != LVT_ERROR && LVT_DELMODE(v) == DM_NMI) {
		l->nmi_pending = true;
		kick(l);
		return;
	}
	accept_fixed(l, v & 0xff, false);
}

static bool extint_pending(const struct lapic *l)
{
	const struct cpu *c = l->c;
	if (!c->pic || !pic_intr(c->pic))
		return false;
	if (!hw_enabled(l))
		return true; /* the INTR pin goes straight to the CPU */
	uint32_t v = l->lvt[LVT_LINT0];
	return !(v & LVT_MASKED) && LVT_DELMODE(v) == DM_EXTINT;
}

/* The highest IRR vector whose class beats PPR's, or -1 (SDM 10.8.3.1). */
static int fixed_pending(const struct lapic *l)
{
	int v = vec_highest(l->irr);
	if (v < 0 || (v & 0xf0) <= (ppr(l) & 0xf0))
		return -1;
	return v;
}

/* EOI (SDM 10.8.5): the highest in-service vector is done. If it was
 * level-triggered the I/O APIC hears of it, to clear its remote IRR. */
static void eoi(struct lapic *l)
{
	int v = vec_highest(l->isr);
	if (v < 0)
		return;
	vec_set(l->isr, (unsigned)v, false);
	if (vec_test(l->tmr, (unsigned)v) && l->c->ioapic)
		ioapic_eoi(l->c->ioapic, (uint8_t)v);
	kick(l);
}

/* --- the timer (SDM 10.5.4) --- */
static unsigned timer_mode(const struct lapic *l)
{
	return (l->lvt[LVT_TIMER] >> 17) & 3;
}

/* Divide configuration bits 3, 1:0: 000 = 2, 001 = 4, ..., 110 = 128,
 * 111 = 1 (SDM figure 10-10). */
static uint64_t timer_divide(const struct lapic *l)
{
	unsigned code = (l->tdcr & 3) | ((l->tdcr >> 1) & 4);
	return code == 7 ? 1 : 2ull << code;
}

static uint64_t tsc_now(const struct lapic *l)
{
	return emu_now(l->c) + l->c->tsc_offset;
}

static void timer_stop(struct lapic *l)
{
	l->timer_running = false;
	vtimer_cancel(l->c, &l->timer);
}

/* Start counting down from TMICT; a count of 0 stops the timer. */
static void timer_start(struct lapic *l, uint64_t from)
{
	timer_stop(l);
	if (l->tmict == 0)
		return;
	l->timer_running = true;
	l->timer_expiry = from + (uint64_t)l->tmict * timer_divide(l);
	vtimer_arm(l->c, &l->timer, l->timer_expiry);
}

/* The current count: the ticks left until expiry, rounded up (the count
 * drops by one at the end of each divided tick). A periodic timer whose
 * expiry passed but has not fired yet has already reloaded. */
static uint32_t timer_current(const struct lapic *l)
{
	if (!l->timer_running || timer_mode(l) == TIMER_TSC_DEADLINE)
		return 0;
	uint64_t now = emu_now(l->c), div = timer_divide(l), left;
	if (now < l->timer_expiry) {
		left = l->timer_expiry - now;
	} else if (timer_mode(l) == TIMER_PERIODIC) {
		uint64_t period = (uint64_t)l->tmict * div;
		left = period - (now - l->timer_expiry) % period;
	} else {
		return 0;
	}
	return (uint32_t)((left + div - 1) / div);
}

/* Arm the vtimer for IA32_TSC_DEADLINE (or not, if it is 0). */
static void deadline_arm(struct lapic *l)
{
	vtimer_cancel(l->c, &l->timer);
	if (l->tsc_deadline == 0)
		return;
	uint64_t tsc = tsc_now(l), now = emu_now(l->c), at = now;
	if (l->tsc_deadline > tsc) {
		uint64_t wait = l->tsc_deadline - tsc;
		at = wait > UINT64_MAX - now ? UINT64_MAX : now + wait;
	}
	vtimer_arm(l->c, &l->timer, at);
}

static void timer_fire(void *opaque)
{
	struct lapic *l = opaque;
	if (timer_mode(l) == TIMER_TSC_DEADLINE) {
		if (l->tsc_deadline == 0)
			return;
		if (tsc_now(l) < l->tsc_deadline) {
			deadline_arm(l); /* the TSC was moved back since arming */
			return;
		}
		l->tsc_deadline = 0; /* the timer disarms itself */
		lvt_fire(l, LVT_TIMER);
		return;
	}
	if (!l->timer_running)
		return;
	lvt_fire(l, LVT_TIMER);
	if (timer_mode(l) != TIMER_PERIODIC) {
		l->timer_running = false;
		return;
	}
	/* Reload. Periods that passed unseen (the vtimer ran late) merge
	 * into this one interrupt, as they would in IRR. */
	uint64_t now = emu_now(l->c);
	uint64_t period = (uint64_t)l->tmict * timer_divide(l);
	uint64_t late = now - l->timer_expiry;
	l->timer_expiry += (late / period + 1) * period;
	vtimer_arm(l->c, &l->timer, l->timer_expiry);
}

/* A new divide value applies from now on; the count left is kept. */
static void tdcr_write(struct lapic *l, uint32_t v)
{
	uint32_t left = timer_current(l);
	l->tdcr = v;
	if (l->timer_running && timer_mode(l) != TIMER_TSC_DEADLINE && left) {
		l->timer_expiry = emu_now(l->c) + (uint64_t)left * timer_divide(l);
		vtimer_arm(l->c, &l->timer, l->timer_expiry);
	}
}

/* --- LVT and SVR writes --- */

/* While the APIC is software-disabled every LVT entry stays masked
 * (SDM 10.4.7.2). Changing the timer mode disarms the timer (10.5.4.1). */
static void lvt_write(struct lapic *l, unsigned entry, uint32_t v)
{
	if (!sw_enabled(l))
		v |= LVT_MASKED;
	unsigned old_mode = timer_mode(l);
	l->lvt[entry] = v;
	if (entry == LVT_TIMER && timer_mode(l) != old_mode) {
		timer_stop(l);
		l->tmict = 0;
		l->tsc_deadline = 0;
	}
	kick(l); /* LINT0 may now pass the PIC's INTR */
}

static void svr_write(struct lapic *l, uint32_t v)
{
	l->svr = v;
	if (!sw_enabled(l))
		for (unsigned k = 0; k < LVT_N; k++)
			l->lvt[k] |= LVT_MASKED;
	kick(l);
}

/* --- IPIs (SDM 10.6) --- */

/* Does the ICR's destination field name this APIC (10.6.2)? */
static bool ipi_names_us(const struct lapic *l, uint32_t dest, bool logical)
{
	if (x2apic_mode(l)) {
		if (dest == 0xffffffffu)
			return true;
		if (!logical)
			return dest == 0;
		return (dest >> 16) == (l->ldr >> 16) && (dest & l->ldr & 0xffff);
	}
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == l->xapic_id;
	uint8_t ld = (uint8_t)(l->ldr >> 24);
	if ((l->dfr >> 28) == 0xf)
		return dest & ld;                 /* flat model */
	return (dest >> 4) == (ld >> 4) && (dest & ld & 0x0f); /* cluster */
}

/* Sending the IPI described by ICR. Delivery is instantaneous, so the
 * delivery status bit always reads idle. */
static void send_ipi(struct lapic *l)
{
	uint32_t lo = l->icr_lo;
	unsigned vector = lo & 0xff, mode = (lo >> 8) & 7;
	uint32_t dest = x2apic_mode(l) ? l->icr_hi : l->icr_hi >> 24;
	bool to_us;
	switch ((lo >> 18) & 3) {
	case 0: to_us = ipi_names_us(l, dest, lo & (1u << 11)); break;
	case 1: case 2: to_us = true; break;  /* self; all including self */
	default: to_us = false; break;        /* all excluding self */
	}
	if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16)
		report_error(l, ESR_SEND_ILLEGAL_VECTOR);
	if (!to_us)
		return;
	if (mode == DM_FIXED || mode == DM_LOWEST) {
		accept_fixed(l, vector, false);
	} else if (mode == DM_NMI) {
		l->nmi_pending = true;
		kick(l);
	} else if (mode == DM_INIT && (lo & (3u << 14)) != (2u << 14) && ((lo >> 18) & 3) != 1) {
		/* INIT to ourselves, by destination or to all (the "self"
		 * shorthand is for fixed IPIs only); "INIT level de-assert"
		 * (level 0, level-triggered) does nothing (10.6.1). */
		l->c->init_pending = true;
		kick(l);
	}
	/* SMI: no SMM. SIPI: only a CPU in wait-for-SIPI takes it, and the
	 * one CPU is running this write. */
}

/* --- register access, shared by MMIO and MSRs --- */

static uint32_t reg_read(const struct lapic *l, unsigned off)
{
	switch (off) {
	case APIC_ID:     return x2apic_mode(l) ? 0 : (uint32_t)l->xapic_id << 24;
	case APIC_VER:    return APIC_VERSION;
	case APIC_TPR:    return l->tpr;
	case APIC_APR:    return apr(l);
	case APIC_PPR:    return ppr(l);
	case APIC_LDR:    return l->ldr;
	case APIC_DFR:    return l->dfr | 0x0fffffff;
	case APIC_SVR:    return l->svr;
	case APIC_ESR:    return l->esr;
	case APIC_ICR_LO: return l->icr_lo;
	case APIC_ICR_HI: return l->icr_hi;
	case APIC_TMICT:  return l->tmict;
	case APIC_TMCCT:  return timer_current(l);
	case APIC_TDCR:   return l->tdcr;
	}
	if (off >= APIC_ISR && off < APIC_ISR + 0x80)
		return l->isr[(off - APIC_ISR) >> 4];
	if (off >= APIC_TMR && off < APIC_TMR + 0x80)
		return l->tmr[(off - APIC_TMR) >> 4];
	if (off >= APIC_IRR && off < APIC_IRR + 0x80)
		return l->irr[(off - APIC_IRR) >> 4];
	if (off >= APIC_LVT_TIMER && off <= APIC_LVT_ERROR)
		return l->lvt[(off - APIC_LVT_TIMER) >> 4];
	return 0; /* EOI, remote read, SELF IPI */
}

/* v is already limited to the register's writable bits. */
static void reg_write(struct lapic *l, unsigned off, uint32_t v)
{
	switch (off) {
	case APIC_ID:   l->xapic_id = (uint8_t)(v >> 24); return;
	case APIC_TPR:  l->tpr = (uint8_t)v; kick(l); return;
	case APIC_EOI:  eoi(l); return;
	case APIC_LDR:  l->ldr = v; return;
	case APIC_DFR:  l->dfr = v | 0x0fffffff; return;
	case APIC_SVR:  svr_write(l, v); return;
	case APIC_ICR_HI: l->icr_hi = v; return;
	case APIC_TDCR: tdcr_write(l, v); return;
	case APIC_SELF_IPI: accept_fixed(l, v & 0xff, false); return;
	case APIC_ESR:
		/* A write latches the errors seen since the last one (10.5.3). */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return;
	case APIC_ICR_LO:
		l->icr_lo = v;
		send_ipi(l);
		return;
	case APIC_TMICT:
		if (timer_mode(l) == TIMER_TSC_DEADLINE)
			return; /* ignored in TSC-deadline mode (10.5.4.1) */
		l->tmict = v;
		timer_start(l, emu_now(l->c));
		return;
	}
	if (off >= APIC_LVT_TIMER && off <= APIC_LVT_ERROR)
		lvt_write(l, (off - APIC_LVT_TIMER) >> 4, v);
}

/* --- xAPIC MMIO ---
 * Registers are 32 bits wide on 16-byte boundaries. A read sees the
 * register's bytes at offsets 0-3 of its slot and zeros at 4-15; only
 * aligned 32-bit (or wider) writes reach a register. Reserved offsets
 * read 0 and set ESR's illegal-register bit. In x2APIC mode, or with the
 * APIC disabled, the page is not decoded: reads give all ones. */
static uint32_t xapic_read(struct lapic *l, unsigned off)
{
	const struct apic_reg *r = reg_info(off);
	if (!(r->flags & XA)) {
		report_error(l, ESR_ILLEGAL_REGISTER);
		return 0;
	}
	return (r->flags & R) ? reg_read(l, off) : 0;
}

static uint64_t lapic_mmio_read(void *opaque, uint64_t off, int bytes)
{
	struct lapic *l = opaque;
	uint64_t ones = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
	if (!hw_enabled(l) || x2apic_mode(l))
		return ones;
	uint64_t v = xapic_read(l, (unsigned)off & 0xff0);
	unsigned at = (unsigned)off & 0xf;
	v = at < 4 ? v >> (8 * at) : 0;
	return v & ones;
}

static void lapic_mmio_write(void *opaque, uint64_t off, int bytes, uint64_t val)
{
	struct lapic *l = opaque;
	if (!hw_enabled(l) || x2apic_mode(l) || (off & 0xf) || bytes < 4)
		return;
	const struct apic_reg *r = reg_info((unsigned)off);
	if (!(r->flags & XA))
		report_error(l, ESR_ILLEGAL_REGISTER);
	else if (r->flags & W)
		reg_write(l, (unsigned)off, (uint32_t)val & r->wmask);
}

/* --- x2APIC MSRs (SDM 10.12.1) --- */

bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *v)
{
	if (msr == MSR_TSC_DEADLINE) {
		/* reads 0 outside TSC-deadline mode (10.5.4.1) */
		*v = timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
		return true;
	}
	if (!x2apic_mode(l) || msr < MSR_X2APIC_FIRST || msr >= MSR_X2APIC_FIRST + 0x40)
		return false;
	if (msr == MSR_X2APIC_ICR) {
		*v = (uint64_t)l->icr_hi << 32 | l->icr_lo;
		return true;
	}
	const struct apic_reg *r = reg_info((msr - MSR_X2APIC_FIRST) << 4);
	if (!(r->flags & X2) || !(r->flags & R))
		return false;
	*v = reg_read(l, (msr - MSR_X2APIC_FIRST) << 4);
	return true;
}

/* WRMSR faults on a read-only register, on any reserved bit set
 * (10.12.1.3), and on a non-zero write to EOI or ESR. ICR is one 64-bit
 * register whose high half is the 32-bit destination. */
bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t v)
{
	if (msr == MSR_TSC_DEADLINE) {
		if (timer_mode(l) == TIMER_TSC_DEADLINE) {
			l->tsc_deadline = v;
			deadline_arm(l);
		}
		return true; /* ignored in the other modes */
	}
	if (!x2apic_mode(l) || msr < MSR_X2APIC_FIRST || msr >= MSR_X2APIC_FIRST + 0x40)
		return false;
	const struct apic_reg *r = reg_info((msr - MSR_X2APIC_FIRST) << 4);
	if (msr == MSR_X2APIC_ICR) {
		if ((uint32_t)v & ~r->wmask)
			return false;
		l->icr_hi = (uint32_t)(v >> 32);
		l->icr_lo = (uint32_t)v;
		send_ipi(l);
		return true;
	}
	if (!(r->flags & X2) || !(r->flags & W) || (r->flags & X2RO) || (v & ~(uint64_t)r->wmask))
		return false;
	reg_write(l, (msr - MSR_X2APIC_FIRST) << 4, (uint32_t)v);
	return true;
}

/* --- reset and IA32_APIC_BASE --- */

/* Power-up values of the registers (SDM 10.4.7.1). */
static void reset_registers(struct lapic *l)
{
	timer_stop(l);
	l->xapic_id = 0;
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffff;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (unsigned k = 0; k < 8; k++)
		l->irr[k] = l->isr[k] = l->tmr[k] = 0;
	for (unsigned k = 0; k < LVT_N; k++)
		l->lvt[k] = LVT_MASKED;
	l->tmict = l->tdcr = 0;
	l->tsc_deadline = 0;
	l->nmi_pending = false;
}

/* What a PC BIOS leaves for the boot loader: the APIC enabled with
 * spurious vector 0xFF, LINT0 ExtINT (the 8259 as a virtual wire), LINT1
 * NMI, both level-triggered. */
static void firmware_handoff(struct lapic *l)
{
	l->svr = SVR_ENABLE | 0xff;
	l->lvt[LVT_LINT0] = (DM_EXTINT << 8) | (1u << 15);
	l->lvt[LVT_LINT1] = (DM_NMI << 8) | (1u << 15);
}

/* Move the register page; refused if the new page is RAM or another
 * device's. */
static bool move_window(struct lapic *l, uint64_t addr)
{
	return bus_move_mmio(l->c->bus, l, addr);
}

/* The rules of SDM 10.12.5: EN=0 with EXTD=1 is invalid; from x2APIC the
 * only way out is to disabled; from disabled the only way on is xAPIC.
 * Reserved bits (0-7, 9, 39-63) must be 0. BSP is read-only here. */
bool lapic_set_base(struct lapic *l, uint64_t v)
{
	if (v & ~(BASE_ADDR | BASE_EN | BASE_EXTD | BASE_BSP))
		return false;
	bool en = v & BASE_EN, extd = v & BASE_EXTD;
	if (extd && !en)
		return false;
	if (x2apic_mode(l) && en && !extd)
		return false;
	if (!hw_enabled(l) && extd)
		return false;
	if (!move_window(l, v & BASE_ADDR))
		return false;
	bool was_enabled = hw_enabled(l), was_x2 = x2apic_mode(l);
	l->base = (v & (BASE_ADDR | BASE_EN | BASE_EXTD)) | BASE_BSP;
	if (was_enabled && !en)
		reset_registers(l); /* state is not kept across disable */
	if (!was_x2 && x2apic_mode(l))
		l->ldr = 1; /* logical x2APIC ID of APIC 0: cluster 0, bit 0 (10.12.10.2) */
	kick(l);
	return true;
}

uint64_t lapic_get_base(const struct lapic *l)
{
	return l->base;
}

/* --- the rest of the interface of emu/devices.h --- */

void lapic_deliver(struct lapic *l, uint8_t vector, bool level)
{
	if (hw_enabled(l))
		accept_fixed(l, vector, level);
}

int lapic_pending(const struct lapic *l)
{
	if (extint_pending(l))
		return 0;
	if (!hw_enabled(l))
		return -1;
	return fixed_pending(l);
}

/* If the priority that let the interrupt through has changed since
 * lapic_pending(), there is nothing left: the spurious vector is
 * returned and ISR is not touched (SDM 10.9). */
uint8_t lapic_ack(struct lapic *l)
{
	if (extint_pending(l))
		return pic_ack(l->c->pic);
	int v = hw_enabled(l) ? fixed_pending(l) : -1;
	if (v < 0)
		return (uint8_t)l->svr;
	vec_set(l->irr, (unsigned)v, false);
	vec_set(l->isr, (unsigned)v, true);
	return (uint8_t)v;
}

bool lapic_nmi_pending(const struct lapic *l)
{
	return l->nmi_pending;
}

void lapic_nmi_ack(struct lapic *l)
{
	l->nmi_pending = false;
}

/* CR8[3:0] is TPR[7:4]; writing CR8 clears TPR[3:0] (SDM 10.8.6.1). */
uint64_t lapic_get_cr8(const struct lapic *l)
{
	return l->tpr >> 4;
}

void lapic_set_cr8(struct lapic *l, uint64_t v)
{
	l->tpr = (uint8_t)((v & 0xf) << 4);
	kick(l);
}

struct lapic *lapic_new(struct cpu *c)
{
	struct lapic *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->c = c;
	l->base = BASE_RESET;
	l->timer.fire = timer_fire;
	l->timer.opaque = l;
	reset_registers(l);
	firmware_handoff(l);
	struct mmio_dev d = { l->base & BASE_ADDR, APIC_PAGE, l, lapic_mmio_read, lapic_mmio_write };
	if (!bus_add_mmio(c->bus, &d)) {
		free(l);
		return NULL;
	}
	c->lapic = l;
	return l;
}

void lapic_free(struct lapic *l)
{
	if (!l)
		return;
	vtimer_cancel(l->c, &l->timer);
	bus_remove(l->c->bus, l);
	if (l->c->lapic == l)
		l->c->lapic = NULL;
	free(l);
}

/* Snapshots (emu/snap.h): the registers and the timer; the MMIO window
 * follows IA32_APIC_BASE. */
void lapic_snap(struct lapic *l, struct snap_io *io)
{
	struct lapic keep = *l, k = *l;
	k.c = NULL; /* host pointers are not saved */
	snap_timer_clear(&k.timer);
	snap_io_bytes(io, &k, sizeof k);
	if (io->loading && !io->bad) {
		k.c = keep.c;
		*l = k;
	}
	snap_io_timer(io, &l->timer, &keep.timer);
	if (io->loading && !io->bad && (l->base & BASE_ADDR) != (keep.base & BASE_ADDR) &&
	    !bus_move_mmio(l->c->bus, l, l->base & BASE_ADDR))
		io->bad = true;
}
