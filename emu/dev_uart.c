/* A 16550A UART (National Semiconductor PC16550D datasheet), COM1 at
 * 0x3F8 with IRQ 4 on a PC. Eight registers:
 *   +0 RBR (read) / THR (write); DLL when LCR.DLAB = 1
 *   +1 IER; DLM when LCR.DLAB = 1
 *   +2 IIR (read) / FCR (write)
 *   +3 LCR   +4 MCR   +5 LSR   +6 MSR   +7 SCR
 *
 * Transmission takes no time: a byte written to THR leaves at once (to
 * the output FILE, which may be NULL to discard it, or back to the
 * receiver in loopback mode; the FILE is not flushed), so THRE and
 * TEMT are always set. Bytes from the host (uart_input) wait in a queue
 * and enter the receiver as it has room, as if the sender obeyed flow
 * control, so none is lost to an overrun; only loopback can overrun.
 * Divisor, word length, parity and stop bits are stored and have no
 * effect.
 *
 * Interrupts (datasheet table "Interrupt Control Functions"), in priority
 * order, each enabled by an IER bit:
 *   IIR 0x06 receiver line status (IER bit 2): overrun; cleared by LSR read
 *   IIR 0x04 received data available (bit 0): RX level >= trigger level
 *   IIR 0x0C character timeout (bit 0, FIFO mode): data below the trigger
 *            level; reported as soon as no more input is queued, since
 *            there is no character time to wait for
 *   IIR 0x02 THR empty (bit 1): set when THR empties or when the enable
 *            bit is turned on with THR empty; cleared by reading IIR
 *            while it is the one shown, or by writing THR
 *   IIR 0x00 modem status (bit 3): a delta bit in MSR; cleared by MSR read
 * IIR bits 7:6 are 11 when the FIFOs are enabled. The interrupt output
 * drives the IRQ line directly: MCR.OUT2 does not gate it (as in QEMU,
 * unlike a PC's serial card), so guests written for QEMU work unchanged.
 *
 * Modem lines: with no loopback, CTS, DSR and DCD read as asserted and RI
 * as not; in loopback (MCR bit 4) CTS, DSR, RI and DCD follow RTS, DTR,
 * OUT1 and OUT2. */
#include <stdlib.h>
#include <string.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/snap.h"
#include "emu/event.h"

#define FIFO_SIZE 16

/* Register offsets and bits. */
enum { UART_RBR, UART_IER, UART_IIR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };

#define IER_RDA   0x01
#define IER_THRE  0x02
#define IER_RLS   0x04
#define IER_MS    0x08

#define IIR_NONE    0x01
#define IIR_MS      0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO    0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB  0x80

#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10

#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_THRE  0x20
#define LSR_TEMT  0x40

#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80
#define MSR_TERI  0x04

struct uart {
	struct cpu *c;
	uint16_t base;
	unsigned irq;
	FILE *out;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_errors;      /* OE (and any other error bits), until LSR is read */
	uint8_t msr_lines;       /* CTS, DSR, RI, DCD as now */
	uint8_t msr_delta;       /* bits 3:0, until MSR is read */
	bool fifo_on;            /* FCR bit 0 */
	uint8_t trigger;         /* RX trigger level: 1, 4, 8 or 14 */
	bool thre_pending;       /* the THR empty interrupt condition */
	bool line;               /* the level the IRQ was last driven to */
	uint8_t rx[FIFO_SIZE];   /* the receiver FIFO (one byte used without FIFOs) */
	unsigned rx_head, rx_len;
	uint8_t *inq;            /* bytes from the host not yet received */
	size_t inq_head, inq_len, inq_cap;
};

static unsigned rx_capacity(const struct uart *u)
{
	return u->fifo_on ? FIFO_SIZE : 1;
}

/* The highest-priority pending interrupt, as IIR bits 3:0. */
static uint8_t interrupt_id(const struct uart *u)
{
	if ((u->ier & IER_RLS) && u->lsr_errors)
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx_len) {
		if (!u->fifo_on || u->rx_len >= u->trigger)
			return IIR_RDA;
		if (u->inq_len == 0)
			return IIR_TIMEOUT;
	}
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_MS) && u->msr_delta)
		return IIR_MS;
	return IIR_NONE;
}

static void update_irq(struct uart *u)
{
	bool level = interrupt_id(u) != IIR_NONE;
	if (level != u->line) {
		u->line = level;
		irq_line(u->c, u->irq, level);
	}
}

/* --- receiving --- */

/* A byte reaches the receiver; with no room it is lost (overrun). */
static void rx_push(struct uart *u, uint8_t b)
{
	if (u->rx_len == rx_capacity(u)) {
		u->lsr_errors |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_len++) % FIFO_SIZE] = b;
}

/* Move queued host bytes into the receiver while it has room. Loopback
 * disconnects the receiver from the line, so they wait. */
static void rx_refill(struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return;
	while (u->inq_len && u->rx_len < rx_capacity(u)) {
		rx_push(u, u->inq[u->inq_head++]);
		u->inq_len--;
	}
	if (u->inq_len == 0)
		u->inq_head = 0;
}

static void update_irq(struct uart *u);

/* Reading the receiver. When it runs empty the interrupt line drops
 * before queued bytes move in, so the next byte is a fresh edge, as if
 * it had arrived a character time later. */
static uint8_t rx_pop(struct uart *u)
{
	if (u->rx_len == 0)
		return 0;
	uint8_t b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
	u->rx_len--;
	if (u->rx_len == 0 && u->inq_len)
		update_irq(u);
	rx_refill(u);
	return b;
}

static void rx_clear(struct uart *u)
{
	u->rx_head = u->rx_len = 0;
}

/* --- modem lines --- */

static uint8_t modem_inputs(const struct uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	uint8_t m = u->mcr;
	return (uint8_t)((m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
			 (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0));
}

/* MSR bits 3:0 record changes: CTS, DSR and DCD on any change (bits 0, 1,
 * 3), RI on its trailing edge only (TERI, bit 2). */
static void update_modem(struct uart *u)
{
	uint8_t now = modem_inputs(u), was = u->msr_lines, diff = now ^ was;
	u->msr_delta |= (diff & (MSR_CTS | MSR_DSR | MSR_DCD)) >> 4;
	if ((was & MSR_RI) && !(now & MSR_RI))
		u->msr_delta |= MSR_TERI;
	u->msr_lines = now;
}

/* --- register access --- */

/* Writing THR clears the THRE interrupt and the byte's departure sets it
 * again; the line drops in between, so each byte gives the interrupt
 * controllers a fresh edge, as on hardware. */
static void transmit(struct uart *u, uint8_t b)
{
	u->thre_pending = false;
	update_irq(u);
	if (u->mcr & MCR_LOOP) {
		rx_push(u, b);
	} else {
		if (u->out && !u->c->bus->mute)
			fputc(b, u->out);
		struct event e = { .type = EVT_SERIAL };
		e.u.serial.byte = b;
		evt_emit(u->c, &e);
	}
	u->thre_pending = true; /* THR is empty again at once */
}

static void write_fcr(struct uart *u, uint8_t v)
{
	bool on = v & FCR_ENABLE;
	if (on != u->fifo_on) {
		rx_clear(u); /* changing FIFO mode empties both FIFOs */
		u->fifo_on = on;
	}
	if (!on)
		return; /* the other bits need bit 0 set */
	if (v & FCR_CLEAR_RX)
		rx_clear(u);
	static const uint8_t levels[4] = { 1, 4, 8, 14 };
	u->trigger = levels[v >> 6];
	rx_refill(u);
}

static void reg_write(struct uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case UART_RBR:
		if (dlab)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
		} else {
			/* enabling THRE with THR empty interrupts at once */
			if ((v & IER_THRE) && !(u->ier & IER_THRE))
				u->thre_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case UART_IIR:
		write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		update_modem(u);
		rx_refill(u);
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t read_iir(struct uart *u)
{
	uint8_t id = interrupt_id(u);
	if (id == IIR_THRE)
		u->thre_pending = false; /* reading IIR acknowledges THRE */
	return (uint8_t)(id | (u->fifo_on ? IIR_FIFO : 0));
}

static uint8_t reg_read(struct uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t v;
	switch (reg) {
	case UART_RBR:
		return dlab ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = (uint8_t)(LSR_THRE | LSR_TEMT | u->lsr_errors | (u->rx_len ? LSR_DR : 0));
		u->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = (uint8_t)(u->msr_lines | u->msr_delta);
		u->msr_delta = 0;
		return v;
	default:
		return u->scr;
	}
}

static uint32_t uart_in(void *opaque, uint16_t port, int bytes)
{
	struct uart *u = opaque;
	uint32_t v = 0;
	for (int k = 0; k < bytes; k++) {
		unsigned reg = (unsigned)(uint16_t)(port + k - u->base);
		uint8_t b = reg < 8 ? reg_read(u, reg) : 0xff;
		v |= (uint32_t)b << (8 * k);
	}
	update_irq(u);
	return v;
}

static void uart_out(void *opaque, uint16_t port, int bytes, uint32_t v)
{
	struct uart *u = opaque;
	for (int k = 0; k < bytes; k++) {
		unsigned reg = (unsigned)(uint16_t)(port + k - u->base);
		if (reg < 8)
			reg_write(u, reg, (uint8_t)(v >> (8 * k)));
	}
	update_irq(u);
}

/* --- the interface of emu/devices.h --- */

void uart_input(struct uart *u, const uint8_t *bytes, size_t n)
{
	if (n == 0)
		return;
	if (u->inq_len + n > u->inq_cap) {
		size_t cap = u->inq_cap ? u->inq_cap : 64;
		while (cap < u->inq_len + n)
			cap *= 2;
		uint8_t *q = malloc(cap);
		if (!q)
			return; /* out of host memory: the bytes are dropped */
		if (u->inq_len)
			memcpy(q, u->inq + u->inq_head, u->inq_len);
		free(u->inq);
		u->inq = q;
		u->inq_cap = cap;
		u->inq_head = 0;
	} else if (u->inq_head + u->inq_len + n > u->inq_cap) {
		memmove(u->inq, u->inq + u->inq_head, u->inq_len);
		u->inq_head = 0;
	}
	memcpy(u->inq + u->inq_head + u->inq_len, bytes, n);
	u->inq_len += n;
	rx_refill(u);
	update_irq(u);
}


/* At reset (datasheet, "Reset"): IER, IIR (no interrupt), FCR, LCR and
 * MCR are zero; LSR has THRE and TEMT set. */
struct uart *uart_new(struct cpu *c, uint16_t base, unsigned irq, FILE *out)
{
	struct uart *u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->c = c;
	u->base = base;
	u->irq = irq;
	u->out = out;
	u->trigger = 1;
	u->msr_lines = modem_inputs(u);
	struct pio_dev d = { base, 8, u, uart_in, uart_out };
	if (!bus_add_pio(c->bus, &d)) {
		free(u);
		return NULL;
	}
	c->uart = u;
	return u;
}

void uart_free(struct uart *u)
{
	if (!u)
		return;
	bus_remove(u->c->bus, u);
	if (u->c->uart == u)
		u->c->uart = NULL;
	free(u->inq);
	free(u);
}

/* Snapshots (emu/snap.h): the registers, the receiver FIFO and the host
 * bytes not yet received (the rest of --input). */
void uart_snap(struct uart *u, struct snap_io *io)
{
	struct uart keep = *u, k = *u;
	k.c = NULL, k.out = NULL, k.inq = NULL, k.inq_cap = 0; /* host side */
	snap_io_bytes(io, &k, sizeof k);
	if (io->loading && !io->bad) {
		k.c = keep.c;
		k.out = keep.out;
		k.inq = keep.inq;
		k.inq_cap = keep.inq_cap;
		*u = k;
	}
	if (!io->loading) {
		snap_io_bytes(io, keep.inq + keep.inq_head, keep.inq_len);
		return;
	}
	size_t n = u->inq_len;
	u->inq_head = u->inq_len = 0;
	if (io->bad || n > io->len - io->pos) {
		io->bad = true;
		return;
	}
	if (n > u->inq_cap) {
		uint8_t *q = realloc(u->inq, n);
		if (!q) {
			io->bad = true;
			return;
		}
		u->inq = q;
		u->inq_cap = n;
	}
	snap_io_bytes(io, u->inq, n);
	u->inq_len = n;
}
