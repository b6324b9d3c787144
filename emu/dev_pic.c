/* The 8259A programmable interrupt controller pair of a PC: the master at
 * ports 0x20-0x21 (IRQ 0-7), the slave at 0xA0-0xA1 (IRQ 8-15) with its
 * INT output wired to the master's IR2, and the edge/level control
 * registers (ELCR) of the PIIX south bridge at 0x4D0-0x4D1.
 *
 * What is modelled, following the 8259A datasheet:
 *  - the initialization sequence ICW1..ICW4 (an ICW1 restarts it), the
 *    vector base from ICW2, auto-EOI and special fully nested mode from
 *    ICW4; the 8080 call-address mode is not (vectors are always 8086
 *    style, base + IR);
 *  - OCW1 (IMR), OCW2 (non-specific, specific and rotating EOI, set
 *    priority, rotate in auto-EOI mode), OCW3 (read IRR/ISR, poll,
 *    special mask mode);
 *  - edge triggering (a low-to-high transition latches the request in
 *    IRR until it is acknowledged) and level triggering (IRR follows the
 *    line), chosen per line by the ELCR, or for a whole chip by ICW1.LTIM;
 *  - an INTA with nothing to deliver returns IR7 of the chip concerned
 *    (vector base + 7: IRQ 7, or IRQ 15 through the slave) without
 *    setting an ISR bit, the "spurious interrupt" of the datasheet. A
 *    spurious IRQ 15 still sets the master's ISR bit 2, as on a PC.
 *
 * State at reset (the values a PC BIOS leaves): all lines masked, vector
 * bases 0x08 and 0x70, fixed priority IR0 highest, all lines edge. */
#include <stdlib.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/snap.h"

#define CASCADE_IR 2

struct pic_chip {
	uint8_t irr;        /* interrupt request register */
	uint8_t isr;        /* in-service register */
	uint8_t imr;        /* interrupt mask register (OCW1) */
	uint8_t lines;      /* input levels as last driven */
	uint8_t elcr;       /* ELCR: 1 = that line is level-triggered */
	uint8_t elcr_mask;  /* ELCR bits that exist (IRQ 0, 1, 2, 8, 13 are edge only) */
	uint8_t base;       /* ICW2: vector of IR0 (bits 2:0 are zero) */
	uint8_t icw3;       /* slave mask (master) or slave ID (slave); kept for reads only */
	uint8_t lowest;     /* the IR with the lowest priority: 7 unless rotated */
	uint8_t init;       /* the ICW expected next on the odd port: 2, 3, 4; 0 = none */
	bool need_icw4;     /* ICW1.IC4 */
	bool single;        /* ICW1.SNGL: no ICW3 */
	bool ltim;          /* ICW1.LTIM: every line level-triggered */
	bool aeoi;          /* ICW4.AEOI: ISR is not set on INTA */
	bool rotate_aeoi;   /* OCW2 "rotate in automatic EOI mode" */
	bool sfnm;          /* ICW4.SFNM: special fully nested mode */
	bool read_isr;      /* OCW3: the even port reads ISR, not IRR */
	bool poll;          /* OCW3.P: the next even-port read is a poll */
	bool smm;           /* OCW3: special mask mode */
	bool is_master;
};

struct pic {
	struct cpu *c;
	struct pic_chip chip[2]; /* [0] master, [1] slave */
};

/* Lines whose IRR follows the level rather than latching an edge. */
static uint8_t level_lines(const struct pic_chip *ch)
{
	return ch->ltim ? 0xff : ch->elcr;
}

/* Priority 0 is the highest. The IR after `lowest` has priority 0; with
 * no rotation lowest is 7, so IR0 is highest and IR7 lowest. */
static unsigned priority(const struct pic_chip *ch, unsigned ir)
{
	return (ir - ch->lowest - 1) & 7;
}

/* The IR of highest priority among the bits of mask, or -1. */
static int highest(const struct pic_chip *ch, uint8_t mask)
{
	for (unsigned p = 0; p < 8; p++) {
		unsigned ir = (ch->lowest + 1 + p) & 7;
		if (mask & (1u << ir))
			return (int)ir;
	}
	return -1;
}

/* The IR this chip asks the CPU (or the master) to serve, or -1: the
 * highest unmasked request, if no in-service IR has equal or higher
 * priority (fully nested mode). In special mask mode masked in-service
 * IRs do not block; in special fully nested mode the master lets a
 * second request on the cascade IR through while the first is served. */
static int chip_pending(const struct pic_chip *ch)
{
	int r = highest(ch, ch->irr & ~ch->imr);
	if (r < 0)
		return -1;
	uint8_t in_service = ch->isr;
	if (ch->smm)
		in_service &= ~ch->imr;
	int s = highest(ch, in_service);
	if (s < 0 || priority(ch, (unsigned)r) < priority(ch, (unsigned)s))
		return r;
	if (r == s && ch->is_master && ch->sfnm && r == CASCADE_IR)
		return r;
	return -1;
}

static void chip_set_input(struct pic_chip *ch, unsigned ir, bool level)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (level_lines(ch) & bit) {
		if (level)
			ch->irr |= bit;
		else
			ch->irr &= ~bit;
	} else if (level && !(ch->lines & bit)) {
		ch->irr |= bit; /* rising edge */
	}
	if (level)
		ch->lines |= bit;
	else
		ch->lines &= ~bit;
}

/* Level-triggered lines: IRR is the line, whatever happened before. */
static void chip_resync_levels(struct pic_chip *ch)
{
	uint8_t lv = level_lines(ch);
	ch->irr = (uint8_t)((ch->irr & ~lv) | (ch->lines & lv));
}

/* After any change: the slave's INT output is the master's IR2 input,
 * and the CPU must look at INTR again before its next instruction. */
static void pic_update(struct pic *p)
{
	chip_set_input(&p->chip[0], CASCADE_IR, chip_pending(&p->chip[1]) >= 0);
	p->c->brk |= BRK_STOP;
}

/* INTA (or a poll) on one chip for the IR it chose: the request moves
 * from IRR to ISR. A level-triggered request stays in IRR while its line
 * is high; the ISR bit keeps it from being taken again until the EOI. */
static void chip_ack(struct pic_chip *ch, unsigned ir)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (!(level_lines(ch) & bit))
		ch->irr &= ~bit;
	if (!ch->aeoi)
		ch->isr |= bit;
	else if (ch->rotate_aeoi)
		ch->lowest = (uint8_t)ir;
}

static uint8_t chip_ack_vector(struct pic_chip *ch)
{
	int ir = chip_pending(ch);
	if (ir < 0)
		return ch->base | 7; /* spurious: no ISR bit is set */
	chip_ack(ch, (unsigned)ir);
	return (uint8_t)(ch->base + ir);
}

/* --- ICW1: the start of initialization (datasheet, "Initialization
 * Command Words"): the edge sense is reset (a line already high must go
 * low and high again), IMR and ISR are cleared, IR7 gets the lowest
 * priority, special mask mode is off and the even port reads IRR. */
static void write_icw1(struct pic_chip *ch, uint8_t v)
{
	ch->need_icw4 = v & 0x01;
	ch->single = v & 0x02;
	ch->ltim = v & 0x08;
	ch->irr = 0;
	chip_resync_levels(ch);
	ch->isr = 0;
	ch->imr = 0;
	ch->lowest = 7;
	ch->smm = false;
	ch->read_isr = false;
	ch->poll = false;
	if (!ch->need_icw4)
		ch->aeoi = ch->sfnm = false; /* ICW4 functions are cleared */
	ch->rotate_aeoi = false;
	ch->init = 2;
}

/* ICW2, ICW3, ICW4 on the odd port during initialization. */
static void write_icw(struct pic_chip *ch, uint8_t v)
{
	switch (ch->init) {
	case 2:
		ch->base = v & 0xf8;
		ch->init = ch->single ? (ch->need_icw4 ? 4 : 0) : 3;
		break;
	case 3:
		ch->icw3 = v;
		ch->init = ch->need_icw4 ? 4 : 0;
		break;
	default:
		ch->aeoi = v & 0x02;
		ch->sfnm = v & 0x10;
		ch->init = 0;
		break;
	}
}

/* OCW2: bits 7:5 are R, SL, EOI; bits 2:0 the IR for the specific forms. */
static void write_ocw2(struct pic_chip *ch, uint8_t v)
{
	unsigned ir = v & 7;
	int top = highest(ch, ch->isr);
	switch (v >> 5) {
	case 1: /* non-specific EOI */
		if (top >= 0)
			ch->isr &= ~(1u << top);
		break;
	case 3: /* specific EOI */
		ch->isr &= ~(1u << ir);
		break;
	case 5: /* rotate on non-specific EOI: the IR served becomes lowest */
		if (top >= 0) {
			ch->isr &= ~(1u << top);
			ch->lowest = (uint8_t)top;
		}
		break;
	case 7: /* rotate on specific EOI */
		ch->isr &= ~(1u << ir);
		ch->lowest = (uint8_t)ir;
		break;
	case 6: /* set priority: ir becomes lowest */
		ch->lowest = (uint8_t)ir;
		break;
	case 4:
		ch->rotate_aeoi = true;
		break;
	case 0:
		ch->rotate_aeoi = false;
		break;
	default: /* 2: no operation */
		break;
	}
}

/* OCW3: bit 6 ESMM with bit 5 SMM, bit 2 poll, bit 1 RR with bit 0 RIS. */
static void write_ocw3(struct pic_chip *ch, uint8_t v)
{
	if (v & 0x40)
		ch->smm = v & 0x20;
	if (v & 0x04)
		ch->poll = true;
	if (v & 0x02)
		ch->read_isr = v & 0x01;
}

static void chip_write(struct pic_chip *ch, bool odd, uint8_t v)
{
	if (!odd) {
		if (v & 0x10)
			write_icw1(ch, v);
		else if (v & 0x08)
			write_ocw3(ch, v);
		else
			write_ocw2(ch, v);
	} else if (ch->init) {
		write_icw(ch, v);
	} else {
		ch->imr = v; /* OCW1 */
	}
}

/* A poll read is an INTA without the vector: bit 7 says whether an
 * interrupt was pending, bits 2:0 its IR; the ISR bit is set as for INTA. */
static uint8_t chip_read(struct pic_chip *ch, bool odd)
{
	if (odd)
		return ch->imr;
	if (ch->poll) {
		ch->poll = false;
		int ir = chip_pending(ch);
		if (ir < 0)
			return 0;
		chip_ack(ch, (unsigned)ir);
		return (uint8_t)(0x80 | ir);
	}
	return ch->read_isr ? ch->isr : ch->irr;
}

/* --- ports: 0x20/0x21, 0xA0/0xA1 and the ELCR pair 0x4D0/0x4D1. A wider
 * access touches consecutive ports, one byte each. --- */
static uint8_t port_read(struct pic *p, uint16_t port)
{
	switch (port) {
	case 0x20: case 0x21:
		return chip_read(&p->chip[0], port & 1);
	case 0xa0: case 0xa1:
		return chip_read(&p->chip[1], port & 1);
	case 0x4d0: case 0x4d1:
		return p->chip[port & 1].elcr;
	default:
		return 0xff;
	}
}

static void port_write(struct pic *p, uint16_t port, uint8_t v)
{
	struct pic_chip *ch;
	switch (port) {
	case 0x20: case 0x21:
		chip_write(&p->chip[0], port & 1, v);
		break;
	case 0xa0: case 0xa1:
		chip_write(&p->chip[1], port & 1, v);
		break;
	case 0x4d0: case 0x4d1:
		ch = &p->chip[port & 1];
		ch->elcr = v & ch->elcr_mask;
		chip_resync_levels(ch);
		break;
	default:
		return;
	}
	pic_update(p);
}

static uint32_t pic_in(void *opaque, uint16_t port, int bytes)
{
	uint32_t v = 0;
	for (int k = 0; k < bytes; k++)
		v |= (uint32_t)port_read(opaque, (uint16_t)(port + k)) << (8 * k);
	return v;
}

static void pic_out(void *opaque, uint16_t port, int bytes, uint32_t v)
{
	for (int k = 0; k < bytes; k++)
		port_write(opaque, (uint16_t)(port + k), (uint8_t)(v >> (8 * k)));
}

/* --- the interface of emu/devices.h --- */

/* IRQ 2 does not exist on the ISA bus: the master's IR2 is the slave's
 * output (ISA IRQ 9 is the old IRQ 2), so a request on it is ignored. */
void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
	if (irq >= 16 || irq == CASCADE_IR)
		return;
	chip_set_input(&p->chip[irq >> 3], irq & 7, level);
	pic_update(p);
}

bool pic_intr(const struct pic *p)
{
	return chip_pending(&p->chip[0]) >= 0;
}

/* The INTA cycle. When the master chooses the cascade IR, the slave
 * supplies the vector (its IR7 vector if it has nothing: a spurious
 * IRQ 15, for which the master's ISR bit 2 is set all the same). */
uint8_t pic_ack(struct pic *p)
{
	struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
	int ir = chip_pending(m);
	uint8_t vector;
	if (ir == CASCADE_IR) {
		chip_ack(m, CASCADE_IR);
		vector = chip_ack_vector(s);
	} else {
		vector = chip_ack_vector(m);
	}
	pic_update(p);
	return vector;
}

static void chip_reset(struct pic_chip *ch, bool master)
{
	*ch = (struct pic_chip){
		.imr = 0xff,
		.lowest = 7,
		.is_master = master,
		.base = master ? 0x08 : 0x70,
		.icw3 = master ? 1u << CASCADE_IR : CASCADE_IR,
		.elcr_mask = master ? 0xf8 : 0xde,
	};
}

struct pic *pic_new(struct cpu *c)
{
	struct pic *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->c = c;
	chip_reset(&p->chip[0], true);
	chip_reset(&p->chip[1], false);
	static const uint16_t bases[] = { 0x20, 0xa0, 0x4d0 };
	for (unsigned k = 0; k < 3; k++) {
		struct pio_dev d = { bases[k], 2, p, pic_in, pic_out };
		if (!bus_add_pio(c->bus, &d)) {
			bus_remove(c->bus, p);
			free(p);
			return NULL;
		}
	}
	c->pic = p;
	return p;
}

void pic_free(struct pic *p)
{
	if (!p)
		return;
	bus_remove(p->c->bus, p);
	if (p->c->pic == p)
		p->c->pic = NULL;
	free(p);
}

/* Snapshots (emu/snap.h): the two chips as they are. */
void pic_snap(struct pic *p, struct snap_io *io)
{
	snap_io_bytes(io, p->chip, sizeof p->chip);
}
