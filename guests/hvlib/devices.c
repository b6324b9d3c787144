/* The devices of lib/hv.h (devices.h). */
#include "hvlib/devices.h"
#include "lib/hv.h"
#include "lib/printf.h"

#define COM1 0x3f8
#define COM1_LCR (COM1 + 3)
#define COM1_LSR (COM1 + 5)
#define LCR_DLAB 0x80             /* 0x3F8/0x3F9 are the divisor latch */
#define LSR_THRE_TEMT 0x60        /* transmitter empty: always ready */
#define DEBUG_EXIT 0xf4

static void print_line(struct hv_devices *d)
{
	d->line[d->line_len] = 0;
	d->print(d, d->line);
	d->line_len = 0;
}

/* What is left of a line when the guest stops. */
void dev_serial_flush(struct hv_devices *d)
{
	if (d->line_len)
		print_line(d);
}

/* A byte to the transmitter: collected into lines, so that the outputs of
 * guests sharing the CPU do not mix inside a line. */
static void serial_byte(struct hv_devices *d, uint8_t c)
{
	if (c == '\n') {
		print_line(d);
		return;
	}
	if (c == '\r')
		return;
	if (d->line_len == sizeof d->line - 1)
		print_line(d);
	d->line[d->line_len++] = (char)c;
}

uint32_t dev_port_in(struct hv_devices *d, uint16_t port, unsigned size)
{
	if (port == COM1_LSR)
		return LSR_THRE_TEMT;
	if (port == COM1_LCR)
		return d->uart_lcr;
	if (port >= COM1 && port < COM1 + 8)
		return 0;                  /* no input, no interrupts, no modem */
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;   /* nothing there */
}

void dev_port_out(struct hv_devices *d, uint16_t port, unsigned size, uint32_t v)
{
	(void)size;
	if (port == COM1 && !(d->uart_lcr & LCR_DLAB)) {   /* THR */
		serial_byte(d, (uint8_t)v);
	} else if (port == COM1_LCR) {
		d->uart_lcr = (uint8_t)v;
	} else if (port == DEBUG_EXIT) {
		d->status = v & 0xff;
		d->exited = true;
		dev_serial_flush(d);
	}
	/* Other ports, COM1's other registers and the PIC included, ignore
	 * writes. */
}

/* The MMIO device of lib/hv.h: one page. */
bool dev_mmio_is_device(uint64_t gpa)
{
	return gpa >= HV_MMIO_BASE && gpa < HV_MMIO_BASE + 4096;
}

uint32_t dev_mmio_read(struct hv_devices *d, uint64_t gpa)
{
	switch (gpa - HV_MMIO_BASE) {
	case HV_MMIO_ID:      return HV_MMIO_MAGIC;
	case HV_MMIO_SCRATCH: return d->mmio_scratch;
	case HV_MMIO_COUNTER: return ++d->mmio_reads;
	}
	return 0;
}

void dev_mmio_write(struct hv_devices *d, uint64_t gpa, uint32_t v)
{
	char note[40];
	switch (gpa - HV_MMIO_BASE) {
	case HV_MMIO_SCRATCH:
		d->mmio_scratch = v;
		break;
	case HV_MMIO_DOORBELL:
		dev_serial_flush(d);
		snprintf(note, sizeof note, "(mmio doorbell) 0x%x", v);
		d->print(d, note);
		break;
	}
}
