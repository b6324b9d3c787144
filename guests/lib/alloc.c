/* The frame allocator (alloc.h). */
#include <stdint.h>

#include "lib/alloc.h"
#include "lib/string.h"
#include "lib/test.h"

static uint8_t pool[ALLOC_POOL_PAGES * PAGE_SIZE] __attribute__((aligned(4096)));
static size_t pool_used;   /* pages handed out */

void *alloc_pages(size_t n)
{
	if (n > ALLOC_POOL_PAGES - pool_used)
		TEST_FAIL("alloc_pages: pool of %d pages exhausted", ALLOC_POOL_PAGES);
	void *p = pool + pool_used * PAGE_SIZE;
	pool_used += n;
	memset(p, 0, n * PAGE_SIZE);
	return p;
}

void *alloc_page(void)
{
	return alloc_pages(1);
}
