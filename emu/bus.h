/* The physical address space and the I/O port space. RAM is one block at
 * guest-physical 0; devices register MMIO ranges and port ranges. A guest
 * access that hits nothing reads as all ones and writes are dropped, as on a
 * PC's open bus. Every guest access is bounds-checked against these ranges,
 * so no guest can reach host memory outside its RAM. */
#ifndef EMU_BUS_H
#define EMU_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cpu;

struct mmio_dev {
	uint64_t base, size;
	void *opaque;
	uint64_t (*read)(void *opaque, uint64_t off, int bytes);
	void (*write)(void *opaque, uint64_t off, int bytes, uint64_t val);
};

struct pio_dev {
	uint16_t base, count;
	void *opaque;
	uint32_t (*in)(void *opaque, uint16_t port, int bytes);
	void (*out)(void *opaque, uint16_t port, int bytes, uint32_t val);
};

#define BUS_MAX_MMIO 16
#define BUS_MAX_PIO  32

struct bus {
	uint8_t *ram;              /* guest RAM, physical 0 .. ram_size */
	uint64_t ram_size;         /* a multiple of 4 KiB */
	struct mmio_dev mmio[BUS_MAX_MMIO];
	int nmmio;
	struct pio_dev pio[BUS_MAX_PIO];
	int npio;
	FILE *console;             /* where the debug console writes (stdout by default) */
	uint64_t pio_accesses;     /* port accesses served (bus_in, bus_out) */
	uint64_t mmio_accesses;    /* physical accesses that were not RAM (bus_read,
	                              bus_write): what a hardware VM would exit for */
	bool mute;                 /* drop serial and console output (a replay) */
	/* RAM pages written since the last snapshot, one bit per 4 KiB page.
	 * Every path that writes RAM marks it: emu_phys_write, the bus, the
	 * slow store path, and the TLB when it hands out a fast write path
	 * (such a page counts as written until the next snapshot, which marks
	 * again the pages the TLB still lets through: see snap_dirty_reset). */
	uint64_t *dirty;
	bool dirty_cleared;        /* ... cleared once: not all writes since reset */
};

static inline void bus_mark_dirty(struct bus *b, uint64_t pa)
{
	uint64_t p = pa >> 12;
	b->dirty[p >> 6] |= 1ull << (p & 63);
}

static inline bool bus_page_dirty(const struct bus *b, uint64_t page)
{
	return b->dirty[page >> 6] >> (page & 63) & 1;
}

/* Register devices. Return false if the table is full or ranges overlap. */
bool bus_add_mmio(struct bus *b, const struct mmio_dev *d);
bool bus_add_pio(struct bus *b, const struct pio_dev *d);

/* Take every port range and MMIO range whose opaque is `opaque` off the
 * bus (a device being freed). */
void bus_remove(struct bus *b, const void *opaque);

/* Move the MMIO range registered with `opaque` to new_base. False if there
 * is none, or the new place overlaps RAM or another device. */
bool bus_move_mmio(struct bus *b, const void *opaque, uint64_t new_base);

/* Physical accesses of 1, 2, 4 or 8 bytes that are not plain RAM (or cross
 * its end): devices, or open bus. */
uint64_t bus_read(struct bus *b, uint64_t pa, int bytes);
void bus_write(struct bus *b, uint64_t pa, int bytes, uint64_t val);

/* Port I/O of 1, 2 or 4 bytes. */
uint32_t bus_in(struct bus *b, uint16_t port, int bytes);
void bus_out(struct bus *b, uint16_t port, int bytes, uint32_t val);

/* The devices every machine has so far: the 0xE9 debug console and
 * isa-debug-exit at 0xF4. */
void dev_debugcon_attach(struct cpu *cpu);
void dev_debug_exit_attach(struct cpu *cpu);

#endif
