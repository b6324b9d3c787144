/* The 16550 UART driver: 115200 baud, 8N1, FIFOs on, no interrupts;
 * output only, by polling.
 *
 * Only COM1 carries the output. It is not mirrored to the 0xE9 debug
 * console: nestlab prints both to its standard output, so a mirror would
 * print every line twice, and the outputs of nestlab and QEMU are compared
 * byte for byte. Lines end in a bare "\n" for the same reason. */
#include <stdbool.h>

#include "lib/serial.h"
#include "lib/x86.h"

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);          /* no interrupts */
	outb(COM1 + UART_LCR, 0x80);          /* DLAB = 1 to reach the divisor */
	outb(COM1 + UART_DLL, 1);             /* 115200 / 1 */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, 0x03);          /* DLAB = 0; 8 bits, no parity, 1 stop */
	outb(COM1 + UART_FCR, 0x07);          /* enable and clear both FIFOs */
	outb(COM1 + UART_MCR, 0x03);          /* DTR and RTS; OUT2 off, so no IRQ */
}

void serial_putc(char c)
{
	/* Wait until THR is empty. The bound keeps a broken UART model (LSR
	 * stuck at 0) from hanging the test silently: the text still goes
	 * out, only perhaps too early. */
	for (int spins = 0; spins < 1000000; spins++) {
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
		pause();
	}
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
