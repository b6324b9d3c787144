/* Loading guest images: Multiboot v1 (ELF32, ELF64 and the a.out kludge,
 * with a command line, modules and a memory map), plain ELF, and flat
 * binaries. The loader checks everything a file claims before it trusts
 * it; a bad image is an error with a reason, never a crash. */
#ifndef EMU_LOADER_H
#define EMU_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/cpu.h"

enum load_err {
	LOAD_OK,
	LOAD_NOT_BOOTABLE,    /* no Multiboot header, not ELF, and no --bits */
	LOAD_BAD_HEADER,      /* a Multiboot header with a bad checksum or fields */
	LOAD_BAD_ELF,         /* an ELF file whose headers are inconsistent */
	LOAD_TRUNCATED,       /* a segment or header points past the end of the file */
	LOAD_OVERLAP,         /* two segments overlap */
	LOAD_NO_FIT,          /* does not fit in guest RAM (a, b: address, size) */
	LOAD_MODULE_NO_FIT,   /* the modules do not fit in guest RAM */
	LOAD_UNSUPPORTED,     /* a Multiboot feature nestlab does not offer (video mode) */
};

struct module {
	const char *name;     /* the file name (and arguments), as its command line */
	const uint8_t *data;
	size_t len;
};

struct load_opts {
	const char *image_name;   /* becomes the start of the command line, as QEMU does */
	const char *append;       /* --append, or NULL */
	const struct module *modules;
	int nmodules;
};

struct load_result {
	enum load_err err;
	uint64_t a, b;            /* details for the message (addresses, sizes) */
	const char *kind;         /* "multiboot", "elf32", "elf64" */
	uint64_t entry;
};

/* Recognise and load a Multiboot image (header in the first 8 KiB) or a
 * plain ELF image, and put the CPU in the state the Multiboot spec
 * promises (SDM-level: protected mode, flat 32-bit segments, paging off,
 * EAX = 0x2BADB002, EBX = the info structure) or, for plain ELF64, 64-bit
 * mode on identity-mapped page tables. */
struct load_result load_image(struct cpu *c, const uint8_t *img, size_t len,
			      const struct load_opts *o);

/* Whether the image says it is a hypervisor that needs VT-x: an ELF
 * section of type SHT_NOTE holding the note owner "nestlab", type
 * NESTLAB_NOTE_NEEDS, description "vmx" (guests/lib/hv.h writes it with
 * NESTLAB_NEEDS_VMX()). The KVM backend asks before it runs an image, so
 * that a host without nested VMX is said in one line. Never trusts the
 * file: any inconsistency is "no". */
#define NESTLAB_NOTE_NEEDS 1
bool loader_needs_vmx(const uint8_t *img, size_t len);

/* Where the loader puts the Multiboot information structure and what the
 * memory map says: for tests and docs. */
#define MB_INFO_MAGIC 0x2badb002u

#endif
