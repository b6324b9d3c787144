/* A bump allocator for 4 KiB page frames, from a pool inside the image's
 * .bss (so it never collides with modules or the Multiboot information,
 * which the loader puts after the image). Frames are never freed. */
#ifndef GUESTS_LIB_ALLOC_H
#define GUESTS_LIB_ALLOC_H

#include <stddef.h>

#define PAGE_SIZE 4096ul
#define ALLOC_POOL_PAGES 256   /* 1 MiB */

/* A zeroed, page-aligned frame; identity-mapped, so the pointer is also
 * the physical address. Fails the test when the pool is empty. */
void *alloc_page(void);
/* n contiguous zeroed frames. */
void *alloc_pages(size_t n);

#endif
