/* Snapshot files (emu/snapfile.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/dcache.h"
#include "emu/mem.h"
#include "emu/snap.h"
#include "emu/snapfile.h"

static const char magic[8] = "NLSNAP\r\n";

struct header {
	char magic[8];
	uint32_t format;
	char version[16];
	uint64_t layout;
	uint64_t config;
	uint64_t icount;
	uint64_t blob_len;
	uint32_t pages;
	uint64_t hash;
};

uint64_t snap_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t k = 0; k < n; k++)
		h = (h ^ b[k]) * 0x100000001b3ull;
	return h;
}

/* The sizes of what the blob copies as it is: another build with other
 * structs gets another id. */
static uint64_t layout_id(void)
{
	uint64_t sizes[] = { sizeof(struct cpu), sizeof(struct vmx_state), sizeof(struct header),
			     TLB_ENTRIES, VMCS_NFIELDS };
	return snap_hash(SNAP_HASH_INIT, sizes, sizeof sizes);
}

static void fill_header(struct header *h, const struct cpu *c, const struct snapfile_id *id)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, magic, sizeof magic);
	h->format = SNAPFILE_FORMAT;
	strncpy(h->version, id->version, sizeof h->version - 1);
	h->layout = layout_id();
	h->config = id->config;
	h->icount = c->icount;
}

static bool zero_page(const uint8_t *p)
{
	for (unsigned k = 0; k < PAGE_SIZE; k++)
		if (p[k])
			return false;
	return true;
}

enum snapfile_err snapfile_write(struct cpu *c, const char *path, const struct snapfile_id *id)
{
	struct snap_io io;
	if (!snap_state_save(c, &io)) {
		free(io.buf);
		return SNAPFILE_IO;
	}
	struct header h;
	fill_header(&h, c, id);
	h.blob_len = io.len;
	uint64_t hash = snap_hash(SNAP_HASH_INIT, io.buf, io.len);
	uint64_t np = c->bus->ram_size >> PAGE_SHIFT;
	for (uint64_t p = 0; p < np; p++) {
		const uint8_t *page = c->bus->ram + (p << PAGE_SHIFT);
		if (zero_page(page))
			continue;
		uint32_t n = (uint32_t)p;
		hash = snap_hash(hash, &n, sizeof n);
		hash = snap_hash(hash, page, PAGE_SIZE);
		h.pages++;
	}
	h.hash = hash;
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(&h, sizeof h, 1, f) == 1 && fwrite(io.buf, 1, io.len, f) == io.len;
	for (uint64_t p = 0; ok && p < np; p++) {
		const uint8_t *page = c->bus->ram + (p << PAGE_SHIFT);
		uint32_t n = (uint32_t)p;
		if (!zero_page(page))
			ok = fwrite(&n, sizeof n, 1, f) == 1 && fwrite(page, PAGE_SIZE, 1, f) == 1;
	}
	if (f && fclose(f) != 0)
		ok = false;
	free(io.buf);
	return ok ? SNAPFILE_OK : SNAPFILE_IO;
}

static enum snapfile_err check_header(const struct header *h, const struct cpu *c,
				      const struct snapfile_id *id)
{
	struct header want;
	fill_header(&want, c, id);
	if (memcmp(h->magic, magic, sizeof magic))
		return SNAPFILE_NOT_SNAPSHOT;
	if (h->format != want.format || memcmp(h->version, want.version, sizeof h->version) ||
	    h->layout != want.layout)
		return SNAPFILE_VERSION;
	if (h->config != id->config)
		return SNAPFILE_OTHER_IMAGE;
	return SNAPFILE_OK;
}

/* The payload, read whole: the blob and the pages. */
static enum snapfile_err read_payload(FILE *f, const struct header *h, uint64_t ram_pages,
				      uint8_t **out, size_t *len)
{
	if (h->blob_len > (64u << 20) || h->pages > ram_pages)
		return SNAPFILE_CORRUPT;
	size_t n = (size_t)h->blob_len + (size_t)h->pages * (4 + PAGE_SIZE);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return SNAPFILE_IO;
	if (fread(buf, 1, n, f) != n) {
		free(buf);
		return SNAPFILE_TRUNCATED;
	}
	if (fgetc(f) != EOF || snap_hash(SNAP_HASH_INIT, buf, n) != h->hash) {
		free(buf);
		return SNAPFILE_CORRUPT;
	}
	*out = buf;
	*len = n;
	return SNAPFILE_OK;
}

enum snapfile_err snapfile_read(struct cpu *c, const char *path, const struct snapfile_id *id)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return SNAPFILE_IO;
	struct header h;
	size_t got = fread(&h, 1, sizeof h, f);
	enum snapfile_err err = got < sizeof magic || memcmp(h.magic, magic, sizeof magic)
					? SNAPFILE_NOT_SNAPSHOT
				: got < sizeof h ? SNAPFILE_TRUNCATED : check_header(&h, c, id);
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t np = c->bus->ram_size >> PAGE_SHIFT;
	if (!err)
		err = read_payload(f, &h, np, &buf, &len);
	fclose(f);
	if (err)
		return err;
	/* Check every page number before touching the machine. */
	const uint8_t *pg = buf + h.blob_len;
	for (uint32_t k = 0; k < h.pages; k++) {
		uint32_t n;
		memcpy(&n, pg + (size_t)k * (4 + PAGE_SIZE), 4);
		if (n >= np) {
			free(buf);
			return SNAPFILE_CORRUPT;
		}
	}
	memset(c->bus->ram, 0, c->bus->ram_size);
	for (uint32_t k = 0; k < h.pages; k++) {
		uint32_t n;
		memcpy(&n, pg + (size_t)k * (4 + PAGE_SIZE), 4);
		memcpy(c->bus->ram + ((uint64_t)n << PAGE_SHIFT), pg + (size_t)k * (4 + PAGE_SIZE) + 4,
		       PAGE_SIZE);
	}
	bool ok = snap_state_load(c, buf, (size_t)h.blob_len);
	free(buf);
	if (!ok)
		return SNAPFILE_CORRUPT;
	snap_dirty_reset(c);
	/* RAM changed under the dirty bitmap: every page counts as written. */
	memset(c->bus->dirty, 0xff, ((c->bus->ram_size >> 18) + 1) * sizeof *c->bus->dirty);
	return SNAPFILE_OK;
}
