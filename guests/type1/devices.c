/* The devices a type1 guest has (lib/hv.h): a serial port whose lines the
 * hypervisor prints with the guest's name, isa-debug-exit, which ends the
 * guest, one MMIO device, and its local APIC (vlapic.c). Everything here runs in VMX root operation
 * on behalf of the guest that exited. */
#include "lib/apic.h"
#include "lib/hv.h"
#include "lib/printf.h"
#include "type1/type1.h"

#define COM1 0x3f8
#define COM1_LCR (COM1 + 3)
#define COM1_LSR (COM1 + 5)
#define LCR_DLAB 0x80             /* 0x3F8/0x3F9 are the divisor latch */
#define LSR_THRE_TEMT 0x60        /* transmitter empty: always ready */
#define DEBUG_EXIT 0xf4

static void print_line(struct guest *g)
{
	g->line[g->line_len] = 0;
	printf("[%s] %s\n", g->name, g->line);
	g->line_len = 0;
}

/* What is left of a line when the guest stops. */
void serial_flush(struct guest *g)
{
	if (g->line_len)
		print_line(g);
}

/* A byte to the transmitter: collected into lines, so that the outputs of
 * guests sharing the CPU do not mix inside a line. */
static void serial_byte(struct guest *g, uint8_t c)
{
	if (c == '\n') {
		print_line(g);
		return;
	}
	if (c == '\r')
		return;
	if (g->line_len == sizeof g->line - 1)
		print_line(g);
	g->line[g->line_len++] = (char)c;
}

uint32_t port_in(struct guest *g, uint16_t port, unsigned size)
{
	if (port == COM1_LSR)
		return LSR_THRE_TEMT;
	if (port == COM1_LCR)
		return g->uart_lcr;
	if (port >= COM1 && port < COM1 + 8)
		return 0;                  /* no input, no interrupts, no modem */
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;   /* nothing there */
}

void port_out(struct guest *g, uint16_t port, unsigned size, uint32_t v)
{
	(void)size;
	if (port == COM1 && !(g->uart_lcr & LCR_DLAB)) {   /* THR */
		serial_byte(g, (uint8_t)v);
	} else if (port == COM1_LCR) {
		g->uart_lcr = (uint8_t)v;
	} else if (port == DEBUG_EXIT) {
		g->status = v & 0xff;
		guest_stop(g, GUEST_EXITED, "exited with status %u", g->status);
	}
	/* Other ports, COM1's other registers and the PIC included, ignore
	 * writes. */
}

/* The two MMIO pages: the device of lib/hv.h and the local APIC. */
static bool in_page(uint64_t gpa, uint64_t base)
{
	return gpa >= base && gpa < base + 4096;
}

bool mmio_is_device(uint64_t gpa)
{
	return in_page(gpa, HV_MMIO_BASE) || in_page(gpa, APIC_BASE_DEFAULT);
}

uint32_t mmio_read(struct guest *g, uint64_t gpa)
{
	if (in_page(gpa, APIC_BASE_DEFAULT))
		return vlapic_read(g, (unsigned)(gpa - APIC_BASE_DEFAULT));
	switch (gpa - HV_MMIO_BASE) {
	case HV_MMIO_ID:      return HV_MMIO_MAGIC;
	case HV_MMIO_SCRATCH: return g->mmio_scratch;
	case HV_MMIO_COUNTER: return ++g->mmio_reads;
	}
	return 0;
}

void mmio_write(struct guest *g, uint64_t gpa, uint32_t v)
{
	if (in_page(gpa, APIC_BASE_DEFAULT)) {
		vlapic_write(g, (unsigned)(gpa - APIC_BASE_DEFAULT), v);
		return;
	}
	switch (gpa - HV_MMIO_BASE) {
	case HV_MMIO_SCRATCH:
		g->mmio_scratch = v;
		break;
	case HV_MMIO_DOORBELL:
		serial_flush(g);
		printf("[%s] (mmio doorbell) 0x%x\n", g->name, v);
		break;
	}
}
