/* Physical address space and port space dispatch. */
#include "emu/bus.h"

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

bool bus_add_mmio(struct bus *b, const struct mmio_dev *d)
{
	if (b->nmmio == BUS_MAX_MMIO || d->size == 0 ||
	    overlaps(d->base, d->size, 0, b->ram_size))
		return false;
	for (int k = 0; k < b->nmmio; k++)
		if (overlaps(d->base, d->size, b->mmio[k].base, b->mmio[k].size))
			return false;
	b->mmio[b->nmmio++] = *d;
	return true;
}

bool bus_add_pio(struct bus *b, const struct pio_dev *d)
{
	if (b->npio == BUS_MAX_PIO || d->count == 0)
		return false;
	for (int k = 0; k < b->npio; k++)
		if (overlaps(d->base, d->count, b->pio[k].base, b->pio[k].count))
			return false;
	b->pio[b->npio++] = *d;
	return true;
}

void bus_remove(struct bus *b, const void *opaque)
{
	int n = 0;
	for (int k = 0; k < b->npio; k++)
		if (b->pio[k].opaque != opaque)
			b->pio[n++] = b->pio[k];
	b->npio = n;
	n = 0;
	for (int k = 0; k < b->nmmio; k++)
		if (b->mmio[k].opaque != opaque)
			b->mmio[n++] = b->mmio[k];
	b->nmmio = n;
}

bool bus_move_mmio(struct bus *b, const void *opaque, uint64_t new_base)
{
	struct mmio_dev *w = NULL;
	for (int k = 0; k < b->nmmio; k++)
		if (b->mmio[k].opaque == opaque)
			w = &b->mmio[k];
	if (!w)
		return false;
	if (overlaps(new_base, w->size, 0, b->ram_size))
		return false;
	for (int k = 0; k < b->nmmio; k++)
		if (&b->mmio[k] != w && overlaps(new_base, w->size, b->mmio[k].base, b->mmio[k].size))
			return false;
	w->base = new_base;
	return true;
}

static const struct mmio_dev *find_mmio(const struct bus *b, uint64_t pa)
{
	for (int k = 0; k < b->nmmio; k++)
		if (pa - b->mmio[k].base < b->mmio[k].size)
			return &b->mmio[k];
	return NULL;
}

/* One byte at a time when an access is not wholly inside one region. */
static uint8_t read_byte(struct bus *b, uint64_t pa)
{
	if (pa < b->ram_size)
		return b->ram[pa];
	const struct mmio_dev *d = find_mmio(b, pa);
	return d ? (uint8_t)d->read(d->opaque, pa - d->base, 1) : 0xff;
}

static void write_byte(struct bus *b, uint64_t pa, uint8_t v)
{
	if (pa < b->ram_size) {
		bus_mark_dirty(b, pa);
		b->ram[pa] = v;
		return;
	}
	const struct mmio_dev *d = find_mmio(b, pa);
	if (d)
		d->write(d->opaque, pa - d->base, 1, v);
}

uint64_t bus_read(struct bus *b, uint64_t pa, int bytes)
{
	b->mmio_accesses++;
	const struct mmio_dev *d = find_mmio(b, pa);
	if (d && pa - d->base + bytes <= d->size)
		return d->read(d->opaque, pa - d->base, bytes);
	uint64_t v = 0;
	for (int k = 0; k < bytes; k++)
		v |= (uint64_t)read_byte(b, pa + k) << (8 * k);
	return v;
}

void bus_write(struct bus *b, uint64_t pa, int bytes, uint64_t val)
{
	b->mmio_accesses++;
	const struct mmio_dev *d = find_mmio(b, pa);
	if (d && pa - d->base + bytes <= d->size) {
		d->write(d->opaque, pa - d->base, bytes, val);
		return;
	}
	for (int k = 0; k < bytes; k++)
		write_byte(b, pa + k, (uint8_t)(val >> (8 * k)));
}

static const struct pio_dev *find_pio(const struct bus *b, uint16_t port)
{
	for (int k = 0; k < b->npio; k++)
		if ((uint16_t)(port - b->pio[k].base) < b->pio[k].count)
			return &b->pio[k];
	return NULL;
}

uint32_t bus_in(struct bus *b, uint16_t port, int bytes)
{
	b->pio_accesses++;
	const struct pio_dev *d = find_pio(b, port);
	if (!d || !d->in)
		return (uint32_t)(0xffffffffu >> (32 - 8 * bytes));
	return d->in(d->opaque, port, bytes);
}

void bus_out(struct bus *b, uint16_t port, int bytes, uint32_t val)
{
	b->pio_accesses++;
	const struct pio_dev *d = find_pio(b, port);
	if (d && d->out)
		d->out(d->opaque, port, bytes, val);
}
