/* Port I/O: permission checks and dispatch to the bus. */
#include "emu/io.h"
#include "emu/bus.h"
#include "emu/event.h"
#include "emu/mem.h"

void io_check(struct cpu *c, uint16_t port, int bytes)
{
	unsigned iopl = (c->rflags >> 12) & 3;
	if (!(c->cr0 & CR0_PE) || c->cpl <= iopl)
		return;
	/* The bitmap lives in a 32/64-bit TSS, at the offset stored at 0x66;
	 * bits beyond the TSS limit count as set (SDM vol. 1, 19.5.2). */
	const struct seg *tr = &c->tr;
	unsigned type = AR_TYPE(tr->ar);
	if ((tr->ar & AR_UNUSABLE) || (type != 9 && type != 11) || tr->limit < 0x67)
		emu_raise(c, VEC_GP, 0);
	uint64_t map = sys_read(c, tr->base + 0x66, 2);
	uint64_t at = map + port / 8;
	if (at + 1 > tr->limit)
		emu_raise(c, VEC_GP, 0);
	uint64_t bits = sys_read(c, tr->base + at, 2);
	uint64_t want = ((1u << bytes) - 1) << (port & 7);
	if (bits & want)
		emu_raise(c, VEC_GP, 0);
}

static void emit_io(struct cpu *c, uint16_t port, int bytes, bool in, uint32_t v)
{
	struct event e = { .type = EVT_IO };
	e.u.io.port = port;
	e.u.io.bytes = (uint8_t)bytes;
	e.u.io.in = in;
	e.u.io.value = v;
	evt_emit(c, &e);
}

uint32_t io_in(struct cpu *c, uint16_t port, int bytes)
{
	uint32_t v = bus_in(c->bus, port, bytes);
	emit_io(c, port, bytes, true, v);
	return v;
}

void io_out(struct cpu *c, uint16_t port, int bytes, uint32_t v)
{
	v &= 0xffffffffu >> (32 - 8 * bytes);
	emit_io(c, port, bytes, false, v);
	bus_out(c->bus, port, bytes, v);
	if (c->exit_requested)
		c->brk |= BRK_STOP;
}
