/* Building EPT paging structures (SDM vol. 3C, 28.3.2). The tables come
 * from alloc_page() and the runtime identity-maps memory, so a table's
 * address is also its pointer. */
#include <stdbool.h>

#include "lib/alloc.h"
#include "lib/ept.h"
#include "lib/test.h"

#define MIB2 (2ull << 20)

/* Bits 47:39, 38:30, 29:21 and 20:12 index the four levels. */
static unsigned index_at(uint64_t gpa, int level)
{
	return (gpa >> (12 + 9 * (level - 1))) & 511;
}

static void *new_table(struct ept *e)
{
	return e->alloc ? e->alloc(e) : alloc_page();
}

/* The table an entry points to, made (with all rights, so that the leaf
 * alone decides) if it is missing. */
static uint64_t *next_table(struct ept *e, uint64_t *entry)
{
	if (!(*entry & EPT_RWX))
		*entry = (uintptr_t)new_table(e) | EPT_RWX;
	if (*entry & EPT_LARGE)
		TEST_FAIL("ept_map: a 4 KiB mapping inside a large page");
	return (uint64_t *)(uintptr_t)(*entry & EPT_ADDR);
}

void ept_init_from(struct ept *e, void *(*alloc)(struct ept *e))
{
	e->alloc = alloc;
	e->pml4 = new_table(e);
}

void ept_init(struct ept *e)
{
	ept_init_from(e, 0);
}

static void map_one(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t rights, int level)
{
	uint64_t *t = e->pml4;
	for (int l = 4; l > level; l--)
		t = next_table(e, &t[index_at(gpa, l)]);
	/* Memory type and "large page" only in leaves (28.3.2). */
	t[index_at(gpa, level)] = hpa | rights | EPT_WB | (level == 2 ? EPT_LARGE : 0);
}

void ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t rights)
{
	uint64_t end = gpa + size;
	while (gpa < end) {
		bool big = !(gpa % MIB2) && !(hpa % MIB2) && end - gpa >= MIB2;
		map_one(e, gpa, hpa, rights, big ? 2 : 1);
		uint64_t step = big ? MIB2 : 4096;
		gpa += step;
		hpa += step;
	}
}

uint64_t ept_pointer(const struct ept *e)
{
	/* Bits 2:0 memory type (6, write-back), bits 5:3 walk length - 1. */
	return (uintptr_t)e->pml4 | 6 | (3 << 3);
}

uint64_t ept_lookup(const struct ept *e, uint64_t gpa)
{
	const uint64_t *t = e->pml4;
	for (int l = 4; l >= 1; l--) {
		uint64_t ent = t[index_at(gpa, l)];
		if (!(ent & EPT_RWX))
			return ~0ull;
		if (l == 1 || (l <= 3 && (ent & EPT_LARGE))) {
			uint64_t page = 1ull << (12 + 9 * (l - 1));
			return (ent & EPT_ADDR & ~(page - 1)) | (gpa & (page - 1));
		}
		t = (const uint64_t *)(uintptr_t)(ent & EPT_ADDR);
	}
	return ~0ull;
}
