/* The devices of lib/hv.h: COM1 (a transmitter that is always ready),
 * isa-debug-exit, and the MMIO device. The same model serves both
 * hypervisors: type1 runs it in its own code, in VMX root operation;
 * type2 runs it in the VMM, in ring 3, as QEMU does for KVM. Only the
 * way a line of output leaves differs: the print callback. Pure memory
 * work, no privileged instruction. */
#ifndef GUESTS_HVLIB_DEVICES_H
#define GUESTS_HVLIB_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

struct hv_devices {
	/* A line the guest wrote (serial, or a note on the MMIO device). */
	void (*print)(struct hv_devices *d, const char *line);
	char line[128];        /* serial output not yet printed */
	unsigned line_len;
	uint8_t uart_lcr;      /* COM1's line control register (DLAB) */
	uint32_t mmio_scratch, mmio_reads;
	bool exited;           /* isa-debug-exit was written: status */
	unsigned status;
};

uint32_t dev_port_in(struct hv_devices *d, uint16_t port, unsigned size);
void dev_port_out(struct hv_devices *d, uint16_t port, unsigned size, uint32_t v);
bool dev_mmio_is_device(uint64_t gpa);
uint32_t dev_mmio_read(struct hv_devices *d, uint64_t gpa);
void dev_mmio_write(struct hv_devices *d, uint64_t gpa, uint32_t v);
void dev_serial_flush(struct hv_devices *d);

#endif
