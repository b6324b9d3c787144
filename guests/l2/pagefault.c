/* pagefault: a guest that handles its own page faults, as an operating
 * system does for memory it hands out only when first touched ("demand
 * paging").
 *
 * Nothing is mapped in the window at WINDOW_BASE. The first access to
 * each page there is a #PF (SDM vol. 3, 4.7); the handler finds the
 * address in CR2, maps a fresh zeroed frame there, and returns: the CPU
 * runs the faulting instruction again, which now succeeds.
 *
 * Under a hypervisor with EPT these faults do not leave the guest: its
 * page tables are its own, and with an exception bitmap of 0 its #PFs
 * go straight to its own IDT. The hypervisor sees none of them. */
#include <stdbool.h>

#include "l2/l2.h"
#include "lib/alloc.h"
#include "lib/idt.h"
#include "lib/paging.h"
#include "lib/test.h"

const char test_name[] = "pagefault";

/* 512 GiB: above the 4 GiB the runtime maps, so nothing is there. */
#define WINDOW_BASE  0x0000008000000000ul
#define WINDOW_PAGES 64

static volatile unsigned faults;

static bool in_window(uint64_t va)
{
	return va >= WINDOW_BASE && va < WINDOW_BASE + WINDOW_PAGES * PAGE_SIZE;
}

/* The #PF handler. Error code bit 0 (P) is 0 when the page was not
 * present; 1 would mean a protection violation, which this guest never
 * causes on purpose. */
static void page_fault(struct trap_frame *f)
{
	uint64_t va = read_cr2();
	if (!in_window(va) || (f->error_code & PF_P))
		TEST_FAIL("#PF at 0x%lx, error code 0x%lx: not a demand-paging fault", va,
			  f->error_code);
	map_page(va & ~(PAGE_SIZE - 1), (uintptr_t)alloc_page(), PTE_W);
	faults++;
}

/* What page n holds once written. */
static uint64_t pattern(unsigned n)
{
	return 0x5a5a000000000000ull + n;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	trap_set_handler(VEC_PF, page_fault);
	printf("pagefault: %d pages at 0x%lx, none mapped yet\n", WINDOW_PAGES, WINDOW_BASE);

	/* Touch each page: read its first word (a fault: it is mapped now,
	 * and holds 0, a fresh frame), then write its first and last words. */
	unsigned zeroed = 0;
	for (unsigned n = 0; n < WINDOW_PAGES; n++) {
		volatile uint64_t *page = (volatile uint64_t *)(WINDOW_BASE + n * PAGE_SIZE);
		if (page[0] == 0)
			zeroed++;
		page[0] = pattern(n);
		page[PAGE_SIZE / 8 - 1] = ~pattern(n);
		if ((n + 1) % 16 == 0)
			printf("pagefault: %u pages touched, %u page faults so far\n", n + 1, faults);
	}
	printf("pagefault: every page read 0 when first touched: %s\n",
	       zeroed == WINDOW_PAGES ? "yes" : "no");

	/* Read everything back: the pages are mapped now, no more faults. */
	unsigned before = faults, right = 0;
	for (unsigned n = 0; n < WINDOW_PAGES; n++) {
		volatile uint64_t *page = (volatile uint64_t *)(WINDOW_BASE + n * PAGE_SIZE);
		if (page[0] == pattern(n) && page[PAGE_SIZE / 8 - 1] == ~pattern(n))
			right++;
	}
	printf("pagefault: read back %u of %d pages right, %u new page faults\n", right,
	       WINDOW_PAGES, faults - before);
	printf("pagefault: %u page faults in all\n", faults);
	l2_done();
}
