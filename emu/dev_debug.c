/* Two debugging devices QEMU also has, so the same guests run on both:
 * the 0xE9 debug console (each byte written is printed) and isa-debug-exit
 * at 0xF4 (a write ends the run with status (value << 1) | 1). */
#include "emu/bus.h"
#include "emu/cpu.h"

static uint32_t debugcon_in(void *opaque, uint16_t port, int bytes)
{
	(void)opaque;
	(void)port;
	(void)bytes;
	return 0xe9; /* reads return the port number, as QEMU's debugcon does */
}

static void debugcon_out(void *opaque, uint16_t port, int bytes, uint32_t v)
{
	struct cpu *c = opaque;
	(void)port;
	(void)bytes;
	if (!c->bus->mute)
		fputc((int)(v & 0xff), c->bus->console);
}

void dev_debugcon_attach(struct cpu *c)
{
	struct pio_dev d = { 0xe9, 1, c, debugcon_in, debugcon_out };
	bus_add_pio(c->bus, &d);
}

static void debug_exit_out(void *opaque, uint16_t port, int bytes, uint32_t v)
{
	struct cpu *c = opaque;
	(void)port;
	if (bytes < 4)
		v &= (1u << (8 * bytes)) - 1;
	c->exit_code = (v << 1) | 1;
	c->exit_requested = true;
}

void dev_debug_exit_attach(struct cpu *c)
{
	struct pio_dev d = { 0xf4, 1, c, NULL, debug_exit_out };
	bus_add_pio(c->bus, &d);
}
