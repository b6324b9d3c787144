/* The 16550A at COM1 through its ports; IRQ 4 watched at the 8259. */
#include <criterion/criterion.h>
#include <string.h>

#include "emu/bus.h"
#include "emu/devices.h"

#define COM1 0x3f8

static struct cpu *c;
static struct pic *pic;
static struct uart *u;
static char outbuf[256];
static FILE *out;

static void out8(uint16_t port, uint8_t v)
{
	bus_out(c->bus, port, 1, v);
}

static uint8_t in8(uint16_t port)
{
	return (uint8_t)bus_in(c->bus, port, 1);
}

static void setup(void)
{
	c = emu_new(1 << 20);
	cr_assert_not_null(c);
	pic = pic_new(c);
	memset(outbuf, 0, sizeof outbuf);
	out = fmemopen(outbuf, sizeof outbuf, "w");
	cr_assert_not_null(out);
	u = uart_new(c, COM1, 4, out);
	cr_assert_not_null(u);
	cr_assert_eq(c->uart, u);
	/* 8259: base 0x20, only IRQ 4 unmasked */
	out8(0x20, 0x11);
	out8(0x21, 0x20);
	out8(0x21, 0x04);
	out8(0x21, 0x01);
	out8(0x21, 0xef);
}

static void teardown(void)
{
	uart_free(u);
	fclose(out);
	pic_free(pic);
	emu_free(c);
}

TestSuite(dev_uart, .init = setup, .fini = teardown);

/* IRQ 4 was raised since the last call (taken and EOIed here). */
static bool irq4(void)
{
	if (!pic_intr(pic))
		return false;
	cr_assert_eq(pic_ack(pic), 0x24);
	out8(0x20, 0x20);
	return true;
}

Test(dev_uart, reset_state)
{
	cr_assert_eq(in8(COM1 + 1), 0x00, "IER");
	cr_assert_eq(in8(COM1 + 2), 0x01, "IIR: no interrupt, no FIFO");
	cr_assert_eq(in8(COM1 + 5), 0x60, "LSR: THRE and TEMT");
	cr_assert_eq(in8(COM1 + 6), 0xb0, "MSR: CTS, DSR, DCD");
	out8(COM1 + 7, 0x5a);
	cr_assert_eq(in8(COM1 + 7), 0x5a, "scratch");
}

Test(dev_uart, transmit_to_the_output_file)
{
	out8(COM1 + 3, 0x80); /* DLAB: 115200 baud */
	out8(COM1 + 0, 0x01);
	out8(COM1 + 1, 0x00);
	cr_assert_eq(in8(COM1 + 0), 0x01, "DLL");
	out8(COM1 + 3, 0x03); /* 8N1 */
	const char *msg = "hello, world\n";
	for (const char *s = msg; *s; s++) {
		while (!(in8(COM1 + 5) & 0x20))
			;
		out8(COM1, (uint8_t)*s);
	}
	fflush(out);
	cr_assert_str_eq(outbuf, msg);
}

Test(dev_uart, loopback_receives_what_it_sends)
{
	out8(COM1 + 4, 0x10);
	out8(COM1, 'A');
	cr_assert_eq(in8(COM1 + 5) & 0x01, 0x01, "data ready");
	cr_assert_eq(in8(COM1), 'A');
	cr_assert_eq(in8(COM1 + 5) & 0x01, 0x00);
	fflush(out);
	cr_assert_str_eq(outbuf, "", "nothing leaves in loopback");
	/* the modem inputs follow the outputs */
	out8(COM1 + 4, 0x10 | 0x0f);
	cr_assert_eq(in8(COM1 + 6), 0xf0 | 0x0b, "all four lines, with their deltas");
	out8(COM1 + 4, 0x10);
	cr_assert_eq(in8(COM1 + 6), 0x0f, "RI fell: TERI");
}

Test(dev_uart, input_raises_received_data)
{
	out8(COM1 + 1, 0x01);
	cr_assert_not(irq4());
	uart_input(u, (const uint8_t *)"xy", 2);
	cr_assert(irq4());
	cr_assert_eq(in8(COM1 + 2), 0x04);
	cr_assert_eq(in8(COM1), 'x');
	/* without FIFOs the second byte waits, then arrives */
	cr_assert_eq(in8(COM1 + 2), 0x04);
	cr_assert(irq4(), "the line dropped and rose again");
	cr_assert_eq(in8(COM1), 'y');
	cr_assert_eq(in8(COM1 + 2), 0x01);
	cr_assert_eq(in8(COM1 + 5) & 0x01, 0);
}

Test(dev_uart, thre_interrupt)
{
	out8(COM1 + 1, 0x02);
	cr_assert(irq4(), "enabling THRE with THR empty interrupts");
	cr_assert_eq(in8(COM1 + 2), 0x02);
	cr_assert_eq(in8(COM1 + 2), 0x01, "reading IIR acknowledged it");
	out8(COM1, 'z');
	cr_assert(irq4(), "each byte sent empties THR again");
	cr_assert_eq(in8(COM1 + 2), 0x02);
}

Test(dev_uart, iir_priorities)
{
	out8(COM1 + 4, 0x10); /* loopback, no FIFO */
	out8(COM1 + 1, 0x0f);
	out8(COM1, '1');
	out8(COM1, '2'); /* overrun: the holding register is full */
	out8(COM1 + 4, 0x12); /* RTS: a modem status change */
	cr_assert_eq(in8(COM1 + 2), 0x06, "line status first");
	cr_assert_eq(in8(COM1 + 5) & 0x02, 0x02, "overrun");
	cr_assert_eq(in8(COM1 + 2), 0x04, "then received data");
	cr_assert_eq(in8(COM1), '1');
	cr_assert_eq(in8(COM1 + 2), 0x02, "then THR empty");
	cr_assert_eq(in8(COM1 + 2), 0x00, "then modem status");
	in8(COM1 + 6);
	cr_assert_eq(in8(COM1 + 2), 0x01, "then nothing");
}

Test(dev_uart, fifo_mode_trigger_and_timeout)
{
	out8(COM1 + 2, 0xc7); /* FIFOs on, cleared, trigger level 14 */
	cr_assert_eq(in8(COM1 + 2), 0xc1);
	out8(COM1 + 1, 0x01);
	uart_input(u, (const uint8_t *)"abc", 3);
	cr_assert_eq(in8(COM1 + 2), 0xcc, "below the trigger level: timeout");
	uint8_t many[40];
	for (unsigned k = 0; k < sizeof many; k++)
		many[k] = (uint8_t)('A' + k);
	uart_input(u, many, sizeof many);
	cr_assert_eq(in8(COM1 + 2), 0xc4, "a full FIFO: received data");
	cr_assert_eq(in8(COM1), 'a');
	cr_assert_eq(in8(COM1), 'b');
	cr_assert_eq(in8(COM1), 'c');
	for (unsigned k = 0; k < sizeof many; k++)
		cr_assert_eq(in8(COM1), 'A' + k, "byte %u", k);
	cr_assert_eq(in8(COM1 + 5), 0x60, "nothing lost, nothing left");
}

Test(dev_uart, fifo_clear)
{
	out8(COM1 + 2, 0x01);
	out8(COM1 + 4, 0x10);
	out8(COM1, 'q');
	out8(COM1 + 2, 0x03);
	cr_assert_eq(in8(COM1 + 5) & 0x01, 0);
}

Test(dev_uart, free_unregisters_the_ports)
{
	uart_free(u);
	u = NULL;
	cr_assert_eq(in8(COM1 + 5), 0xff, "open bus");
}
