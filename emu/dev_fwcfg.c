/* QEMU's firmware configuration device, the x86 port interface of QEMU's
 * docs/specs/fw_cfg.rst: the guest writes a 16-bit item key to the
 * selector port 0x510, then reads the item's bytes one at a time from the
 * data port 0x511. Selecting a key rewinds to the item's first byte;
 * reading past the end, or reading an item that does not exist, gives 0.
 * A wider read of the data port returns that many successive bytes, the
 * first in the low byte. Writes to the data port are ignored (the spec's
 * write interface is deprecated) and there is no DMA interface, which
 * the ID item says.
 *
 * Items, with the spec's key numbers and encodings:
 *   0x0000 signature   "QEMU"
 *   0x0001 ID          32-bit LE: 1 = traditional interface, no DMA
 *   0x0003 RAM size    64-bit LE, bytes
 *   0x0005 NB_CPUS     16-bit LE: 1
 *   0x000F MAX_CPUS    16-bit LE: 1
 *   0x0014 CMDLINE_SIZE 32-bit LE, the command line's length with its NUL
 *   0x0015 CMDLINE_DATA the command line, NUL-terminated
 *   0x0019 FILE_DIR    32-bit big-endian count of files: 0
 * The two command line items exist only when a command line was given. */
#include <stdlib.h>
#include <string.h>

#include "emu/bus.h"
#include "emu/devices.h"
#include "emu/snap.h"

#define FWCFG_PORT_SEL  0x510
#define FWCFG_PORT_DATA 0x511

enum {
	FW_CFG_SIGNATURE = 0x00, FW_CFG_ID = 0x01, FW_CFG_RAM_SIZE = 0x03,
	FW_CFG_NB_CPUS = 0x05, FW_CFG_MAX_CPUS = 0x0f, FW_CFG_CMDLINE_SIZE = 0x14,
	FW_CFG_CMDLINE_DATA = 0x15, FW_CFG_FILE_DIR = 0x19,
};

#define FWCFG_MAX_ITEMS 8

struct fwcfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;   /* owned */
};

struct fwcfg {
	struct cpu *c;
	struct fwcfg_item items[FWCFG_MAX_ITEMS];
	unsigned nitems;
	const struct fwcfg_item *cur;  /* the selected item, NULL if none */
	uint32_t offset;               /* next byte of it to read */
};

/* Add an item holding a copy of len bytes. */
static bool add_item(struct fwcfg *f, uint16_t key, const void *data, uint32_t len)
{
	if (f->nitems == FWCFG_MAX_ITEMS)
		return false;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return false;
	memcpy(copy, data, len);
	f->items[f->nitems++] = (struct fwcfg_item){ key, len, copy };
	return true;
}

/* An unsigned little-endian integer of `bytes` bytes. */
static bool add_le(struct fwcfg *f, uint16_t key, uint64_t v, unsigned bytes)
{
	uint8_t b[8];
	for (unsigned k = 0; k < bytes; k++)
		b[k] = (uint8_t)(v >> (8 * k));
	return add_item(f, key, b, bytes);
}

static bool add_items(struct fwcfg *f, const char *cmdline)
{
	static const uint8_t no_files[4] = { 0, 0, 0, 0 }; /* big-endian count */
	bool ok = add_item(f, FW_CFG_SIGNATURE, "QEMU", 4) &&
		  add_le(f, FW_CFG_ID, 1, 4) &&
		  add_le(f, FW_CFG_RAM_SIZE, f->c->bus->ram_size, 8) &&
		  add_le(f, FW_CFG_NB_CPUS, 1, 2) &&
		  add_le(f, FW_CFG_MAX_CPUS, 1, 2) &&
		  add_item(f, FW_CFG_FILE_DIR, no_files, sizeof no_files);
	if (ok && cmdline) {
		uint32_t len = (uint32_t)strlen(cmdline) + 1;
		ok = add_le(f, FW_CFG_CMDLINE_SIZE, len, 4) &&
		     add_item(f, FW_CFG_CMDLINE_DATA, cmdline, len);
	}
	return ok;
}

static void select_key(struct fwcfg *f, uint16_t key)
{
	f->cur = NULL;
	f->offset = 0;
	for (unsigned k = 0; k < f->nitems; k++)
		if (f->items[k].key == key)
			f->cur = &f->items[k];
}

static uint8_t read_data(struct fwcfg *f)
{
	if (!f->cur || f->offset >= f->cur->len)
		return 0;
	return f->cur->data[f->offset++];
}

/* The selector is write-only; reading it gives 0. */
static uint32_t fwcfg_in(void *opaque, uint16_t port, int bytes)
{
	struct fwcfg *f = opaque;
	if (port != FWCFG_PORT_DATA)
		return 0;
	uint32_t v = 0;
	for (int k = 0; k < bytes; k++)
		v |= (uint32_t)read_data(f) << (8 * k);
	return v;
}

static void fwcfg_out(void *opaque, uint16_t port, int bytes, uint32_t v)
{
	(void)bytes;
	if (port == FWCFG_PORT_SEL)
		select_key(opaque, (uint16_t)v);
}

static void fwcfg_release(struct fwcfg *f)
{
	for (unsigned k = 0; k < f->nitems; k++)
		free(f->items[k].data);
	free(f);
}

struct fwcfg *fwcfg_new(struct cpu *c, const char *cmdline)
{
	struct fwcfg *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->c = c;
	struct pio_dev d = { FWCFG_PORT_SEL, 2, f, fwcfg_in, fwcfg_out };
	if (!add_items(f, cmdline) || !bus_add_pio(c->bus, &d)) {
		fwcfg_release(f);
		return NULL;
	}
	c->fwcfg = f;
	return f;
}

void fwcfg_free(struct fwcfg *f)
{
	if (!f)
		return;
	bus_remove(f->c->bus, f);
	if (f->c->fwcfg == f)
		f->c->fwcfg = NULL;
	fwcfg_release(f);
}

/* Snapshots (emu/snap.h): the items come from the command line; only the
 * selection and the read offset are state. */
void fwcfg_snap(struct fwcfg *f, struct snap_io *io)
{
	int32_t cur = f->cur ? (int32_t)(f->cur - f->items) : -1;
	snap_io_bytes(io, &cur, sizeof cur);
	snap_io_bytes(io, &f->offset, sizeof f->offset);
	if (io->loading)
		f->cur = cur >= 0 && (unsigned)cur < f->nitems ? &f->items[cur] : NULL;
}
