/* Multiboot version 1: the header a kernel carries and the information
 * structure the boot loader hands it in EBX. Field names follow the
 * Multiboot Specification 0.6.96, section 3. */
#ifndef GUESTS_LIB_MULTIBOOT_H
#define GUESTS_LIB_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_HEADER_MAGIC     0x1badb002u  /* in the kernel image */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u  /* in EAX at entry */

/* Header flags: what the kernel asks of the loader. */
#define MULTIBOOT_PAGE_ALIGN  (1u << 0)   /* modules on 4 KiB boundaries */
#define MULTIBOOT_MEMORY_INFO (1u << 1)   /* fill mem_* and mmap_* */

/* Info flags: which fields of struct multiboot_info are valid. */
#define MULTIBOOT_INFO_MEMORY      (1u << 0)
#define MULTIBOOT_INFO_BOOTDEV     (1u << 1)
#define MULTIBOOT_INFO_CMDLINE     (1u << 2)
#define MULTIBOOT_INFO_MODS        (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP     (1u << 6)
#define MULTIBOOT_INFO_LOADER_NAME (1u << 9)

/* All addresses are 32-bit physical addresses. */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;          /* KiB of RAM from 0, at most 640 */
	uint32_t mem_upper;          /* KiB of RAM from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;            /* NUL-terminated string */
	uint32_t mods_count;
	uint32_t mods_addr;          /* array of struct multiboot_module */
	uint32_t syms[4];
	uint32_t mmap_length;        /* bytes */
	uint32_t mmap_addr;          /* struct multiboot_mmap_entry, packed */
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
} __attribute__((packed));

struct multiboot_module {
	uint32_t mod_start;          /* first byte */
	uint32_t mod_end;            /* one past the last byte */
	uint32_t cmdline;            /* NUL-terminated string */
	uint32_t reserved;
} __attribute__((packed));

/* One memory-map entry. `size` does not count itself: the next entry is
 * at (char *)entry + size + 4. */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;               /* 1 = available RAM */
} __attribute__((packed));

#define MULTIBOOT_MEMORY_AVAILABLE 1u

/* A 32-bit physical address from the info structure, as a pointer. Valid
 * because the runtime identity-maps the first 4 GiB. */
static inline void *mb_ptr(uint32_t phys)
{
	return (void *)(uintptr_t)phys;
}

#endif
