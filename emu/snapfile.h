/* Snapshot files: one machine's whole state, for `nestlab run --save-at N
 * FILE` and `--restore FILE`. The layout (all little-endian):
 *
 *   magic "NLSNAP\r\n", u32 format version, char[16] nestlab version,
 *   u64 layout id (sizes of the saved structs), u64 config hash (the image,
 *   modules and options the machine was made with: a snapshot restores
 *   only into the same machine), u64 icount, u64 blob length, u32 pages,
 *   u64 FNV-1a hash of everything after the header;
 *   the state blob (emu/snap.h); then per non-zero RAM page: u32 page
 *   number, 4096 bytes.
 *
 * The blob holds C structs as they are, so the version and layout id must
 * match exactly: a file from another build is refused, never misread. */
#ifndef EMU_SNAPFILE_H
#define EMU_SNAPFILE_H

#include <stdint.h>

#include "emu/cpu.h"

#define SNAPFILE_FORMAT 1

enum snapfile_err {
	SNAPFILE_OK,
	SNAPFILE_IO,          /* cannot open, read or write (errno says) */
	SNAPFILE_NOT_SNAPSHOT,/* no magic */
	SNAPFILE_VERSION,     /* another format, nestlab version or build */
	SNAPFILE_OTHER_IMAGE, /* made from another image, modules or options */
	SNAPFILE_TRUNCATED,   /* shorter than its header says */
	SNAPFILE_CORRUPT,     /* the hash or the contents do not check */
};

struct snapfile_id {
	const char *version;  /* NESTLAB_VERSION */
	uint64_t config;      /* hash of image, modules and options */
};

/* 64-bit FNV-1a, for the config hash and the payload. */
uint64_t snap_hash(uint64_t h, const void *p, size_t n);
#define SNAP_HASH_INIT 0xcbf29ce484222325ull

enum snapfile_err snapfile_write(struct cpu *c, const char *path, const struct snapfile_id *id);
enum snapfile_err snapfile_read(struct cpu *c, const char *path, const struct snapfile_id *id);

#endif
