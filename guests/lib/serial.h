/* COM1, a 16550 UART at I/O port 0x3F8: the guests' console. */
#ifndef GUESTS_LIB_SERIAL_H
#define GUESTS_LIB_SERIAL_H

#include <stdint.h>

#define COM1 0x3f8
/* Register offsets from the base port (with LCR.DLAB = 0 unless noted). */
#define UART_THR 0   /* write: transmit holding register */
#define UART_RBR 0   /* read: receive buffer */
#define UART_DLL 0   /* DLAB = 1: divisor latch, low byte */
#define UART_IER 1   /* interrupt enable */
#define UART_DLM 1   /* DLAB = 1: divisor latch, high byte */
#define UART_IIR 2   /* read: interrupt identification */
#define UART_FCR 2   /* write: FIFO control */
#define UART_LCR 3   /* line control; bit 7 is DLAB */
#define UART_MCR 4   /* modem control; bit 4 is loopback */
#define UART_LSR 5   /* line status */
#define UART_MSR 6   /* modem status */
#define UART_SCR 7   /* scratch: a byte of storage and nothing else */

#define LSR_DR   0x01  /* a received byte is waiting */
#define LSR_THRE 0x20  /* the transmit holding register is empty */
#define LSR_TEMT 0x40  /* the transmitter is idle */

void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);

#endif
