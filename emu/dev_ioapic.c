/* The I/O APIC (Intel 82093AA datasheet): 24 input pins, each with a
 * 64-bit redirection entry that turns a level or an edge on the pin into a
 * message to a local APIC. Registers are reached indirectly: the guest
 * writes a register index to IOREGSEL (offset 0x00) and reads or writes
 * the register through IOWIN (offset 0x10), 32 bits at a time.
 *
 * Indexes: 0x00 ID (bits 27:24), 0x01 version (RO: 0x11, maximum
 * redirection entry 23 in bits 23:16), 0x02 arbitration ID (RO), and
 * 0x10 + 2n / 0x11 + 2n the low / high half of redirection entry n.
 *
 * A redirection entry: bits 7:0 vector, 10:8 delivery mode, 11
 * destination mode, 12 delivery status (RO), 13 polarity, 14 remote IRR
 * (RO), 15 trigger mode (1 = level), 16 mask, 63:56 destination.
 *
 * Simplifications, all because the machine has one CPU:
 *  - fixed and lowest-priority messages go to the one local APIC whatever
 *    the destination; the other delivery modes (SMI, NMI, INIT, ExtINT)
 *    are not delivered;
 *  - the level a device drives is taken as "asserted" whatever the
 *    polarity bit says (every device here is active high);
 *  - delivery is instantaneous, so delivery status always reads 0 (idle).
 *
 * Edge-triggered pins: a rising edge on an unmasked pin sends one message;
 * an edge on a masked pin is lost (datasheet, "Interrupt Mask").
 * Level-triggered pins: an asserted, unmasked pin sends a message and sets
 * remote IRR; no further message is sent until the local APIC's EOI for
 * that vector clears remote IRR (ioapic_eoi), after which a pin still
 * asserted sends again. Unmasking an asserted level pin sends at once. */
#include <stdlib.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/snap.h"

#define IOAPIC_BASE    0xfec00000u
#define IOAPIC_SIZE    0x1000u
#define IOAPIC_PINS    24
#define IOAPIC_VERSION 0x11u

#define IOREGSEL 0x00
#define IOWIN    0x10

#define RTE_VECTOR(e)  ((uint8_t)(e))
#define RTE_DELMODE(e) (((e) >> 8) & 7)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL      (1ull << 15)
#define RTE_MASKED     (1ull << 16)
/* What software may write: everything but delivery status and remote
 * IRR in the low half, the destination in the high half. */
#define RTE_WRITABLE   (0xff00000000000000ull | 0x1afffull)

enum { DELMODE_FIXED = 0, DELMODE_LOWEST = 1 };

struct ioapic {
	struct cpu *c;
	uint8_t id;        /* ID register bits 27:24 */
	uint8_t sel;       /* IOREGSEL */
	uint32_t lines;    /* pins asserted now, one bit per pin */
	uint64_t rte[IOAPIC_PINS];
};

/* Send pin n's message. A level-triggered one sets remote IRR, which
 * stays set until the EOI broadcast for its vector. */
static void send(struct ioapic *io, unsigned n)
{
	uint64_t e = io->rte[n];
	unsigned mode = RTE_DELMODE(e);
	if (mode != DELMODE_FIXED && mode != DELMODE_LOWEST)
		return;
	bool level = e & RTE_LEVEL;
	if (level)
		io->rte[n] |= RTE_REMOTE_IRR;
	if (io->c->lapic)
		lapic_deliver(io->c->lapic, RTE_VECTOR(e), level);
}

/* A level-triggered pin that is asserted, unmasked and not waiting for
 * an EOI sends its message. */
static void service_level(struct ioapic *io, unsigned n)
{
	uint64_t e = io->rte[n];
	if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) &&
	    (io->lines & (1u << n)))
		send(io, n);
}

static uint32_t reg_read(const struct ioapic *io, uint8_t index)
{
	switch (index) {
	case 0x00:
	case 0x02: /* the arbitration ID is loaded from the ID */
		return (uint32_t)io->id << 24;
	case 0x01:
		return ((IOAPIC_PINS - 1u) << 16) | IOAPIC_VERSION;
	default:
		if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS) {
			uint64_t e = io->rte[(index - 0x10) / 2];
			return (uint32_t)(index & 1 ? e >> 32 : e);
		}
		return 0;
	}
}

static void rte_write(struct ioapic *io, unsigned n, bool high, uint32_t v)
{
	uint64_t e = io->rte[n];
	uint64_t half = high ? 0xffffffff00000000ull : 0xffffffffull;
	uint64_t nv = high ? (uint64_t)v << 32 : v;
	e = (e & ~(half & RTE_WRITABLE)) | (nv & half & RTE_WRITABLE);
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR; /* meaningless for edge pins */
	io->rte[n] = e;
	service_level(io, n);
}

static void reg_write(struct ioapic *io, uint8_t index, uint32_t v)
{
	if (index == 0x00)
		io->id = (v >> 24) & 0x0f;
	else if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS)
		rte_write(io, (index - 0x10) / 2, index & 1, v);
	/* version, arbitration and unknown indexes are read-only */
}

/* IOREGSEL and IOWIN are 32-bit registers 16 bytes apart; a narrower read
 * sees part of one, other offsets read 0. Writes to IOWIN must be 32-bit. */
static uint64_t ioapic_mmio_read(void *opaque, uint64_t off, int bytes)
{
	struct ioapic *io = opaque;
	uint32_t v;
	if ((off & ~3ull) == IOREGSEL)
		v = io->sel;
	else if ((off & ~3ull) == IOWIN)
		v = reg_read(io, io->sel);
	else
		return 0;
	v >>= 8 * (off & 3);
	return bytes >= 4 ? v : v & ((1u << (8 * bytes)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint64_t off, int bytes, uint64_t val)
{
	struct ioapic *io = opaque;
	if (off == IOREGSEL)
		io->sel = (uint8_t)val;
	else if (off == IOWIN && bytes == 4)
		reg_write(io, io->sel, (uint32_t)val);
}

/* --- the interface of emu/devices.h --- */

void ioapic_set_irq(struct ioapic *io, unsigned gsi, bool level)
{
	if (gsi >= IOAPIC_PINS)
		return;
	uint32_t bit = 1u << gsi;
	bool was = io->lines & bit;
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	uint64_t e = io->rte[gsi];
	if (e & RTE_LEVEL)
		service_level(io, gsi);
	else if (level && !was && !(e & RTE_MASKED))
		send(io, gsi);
}

/* The local APIC's EOI for a level-triggered vector reaches every pin
 * programmed with that vector (82093AA: "EOI message"). */
void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned n = 0; n < IOAPIC_PINS; n++) {
		uint64_t e = io->rte[n];
		if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR) && RTE_VECTOR(e) == vector) {
			io->rte[n] = e & ~RTE_REMOTE_IRR;
			service_level(io, n);
		}
	}
}


/* At reset every entry is masked, edge, fixed, vector 0 (datasheet). */
struct ioapic *ioapic_new(struct cpu *c)
{
	struct ioapic *io = calloc(1, sizeof *io);
	if (!io)
		return NULL;
	io->c = c;
	for (unsigned n = 0; n < IOAPIC_PINS; n++)
		io->rte[n] = RTE_MASKED;
	struct mmio_dev d = { IOAPIC_BASE, IOAPIC_SIZE, io, ioapic_mmio_read, ioapic_mmio_write };
	if (!bus_add_mmio(c->bus, &d)) {
		free(io);
		return NULL;
	}
	c->ioapic = io;
	return io;
}

void ioapic_free(struct ioapic *io)
{
	if (!io)
		return;
	bus_remove(io->c->bus, io);
	if (io->c->ioapic == io)
		io->c->ioapic = NULL;
	free(io);
}

/* Snapshots (emu/snap.h): everything but the machine pointer. */
void ioapic_snap(struct ioapic *io_apic, struct snap_io *io)
{
	struct ioapic k = *io_apic;
	k.c = NULL; /* host pointers are not saved */
	snap_io_bytes(io, &k, sizeof k);
	if (io->loading && !io->bad) {
		k.c = io_apic->c;
		*io_apic = k;
	}
}
