/* What the loader handed over, and the runtime's start-up. */
#ifndef GUESTS_LIB_BOOT_H
#define GUESTS_LIB_BOOT_H

#include <stdint.h>

#include "lib/multiboot.h"

/* Saved by entry.S before it changes anything (Multiboot 3.2 says what a
 * loader must leave in these). */
struct boot_state {
	uint32_t eax;       /* 0x2BADB002 from a Multiboot loader */
	uint32_t ebx;       /* physical address of struct multiboot_info */
	uint32_t cr0;       /* PE = 1, PG = 0 */
	uint32_t eflags;    /* VM = 0, IF = 0 */
};
extern struct boot_state boot_state;

/* Bounds of the loaded image (multiboot.ld). */
extern char _image_start[], _image_end[];

/* Each test guest defines these two. */
extern const char test_name[];
void kmain(struct multiboot_info *mbi);

/* Called by entry.S in 64-bit mode: serial, GDT/TSS, IDT, PIC, NX, then
 * kmain(). */
_Noreturn void rt_start(void);

#endif
