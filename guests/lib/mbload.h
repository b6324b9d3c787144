/* A Multiboot boot loader for a hypervisor's guests: what nestlab's
 * loader and QEMU's -kernel do for a machine, done by a hypervisor for a
 * guest whose "physical" memory is a buffer of its own (Multiboot
 * Specification 0.6.96, 3.1 and 3.2). */
#ifndef GUESTS_LIB_MBLOAD_H
#define GUESTS_LIB_MBLOAD_H

#include <stddef.h>
#include <stdint.h>

/* A guest's RAM as the hypervisor sees it: guest-physical address 0 is
 * ram[0]. */
struct guest_ram {
	uint8_t *ram;
	uint64_t size;
};

/* Copy the kernel in image (len bytes) into the guest's RAM: the a.out
 * kludge addresses of its Multiboot header, or the PT_LOAD segments of
 * an ELF32 file. Sets *entry to the entry point. Returns NULL, or why the
 * image cannot be loaded (no Multiboot header, bad ELF, a segment outside
 * the guest's RAM, a feature the loader lacks). */
const char *mb_load(const uint8_t *image, size_t len, struct guest_ram *g, uint32_t *entry);
/* The same, and *top is where the kernel ends in the guest's RAM (its
 * bss included): what a loader needs to place modules after it. */
const char *mb_load_top(const uint8_t *image, size_t len, struct guest_ram *g, uint32_t *entry,
			uint64_t *top);

/* Write the Multiboot information for the guest at guest-physical info
 * (one 4 KiB page, below the kernel): memory sizes, the memory map and the
 * command line. Returns info, for EBX. */
uint32_t mb_write_info(struct guest_ram *g, uint32_t info, const char *cmdline);

#endif
