/* The shadow EPT (EPT02). type1 gives each guest an EPT (EPT12) that maps
 * the guest's physical addresses to type1's; nested's own EPT (EPT01)
 * maps type1's physical addresses to the machine's. The processor walks
 * one EPT, so nested builds a third that maps an L3 address straight to
 * the machine: EPT02 = EPT01 after EPT12.
 *
 * It is built lazily. EPT02 starts empty; an L3 access it does not map is
 * an EPT violation that comes to nested. nested walks EPT12 in type1's
 * memory (SDM 28.3.2): if EPT12 does not allow the access, the violation
 * is type1's, and is reflected to it with the qualification EPT12 gives
 * (27.2.1, table 27-7). Otherwise nested looks the result up in EPT01 and
 * adds the combined translation to EPT02, with the rights both allow,
 * and the guest goes on. A large page is used where both EPTs have one.
 *
 * An EPT02 is kept for each EPT12 (by its EPTP), so type1 can switch
 * guests without losing them; INVEPT throws them away (28.4.3). */
#include "lib/printf.h"
#include "lib/string.h"
#include "nested/nested.h"

#define EPT02_COUNT 8              /* shadows at once */
#define EPT02_TABLES 32            /* tables each: enough for 16 MiB in 2 MiB pages */
#define POOL_PAGES (EPT02_COUNT * EPT02_TABLES)
#define PAGE_2M (2ull << 20)

struct ept02 {
	struct ept ept;            /* first: table_alloc() finds its shadow from it */
	uint64_t eptp12;           /* the EPT12 it shadows; 0: free */
	uint16_t table[EPT02_TABLES];   /* its tables, by number in the pool */
	unsigned ntables;
};

static struct ept02 shadows[EPT02_COUNT];
static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static uint16_t free_table[POOL_PAGES];   /* a stack of free table numbers */
static unsigned nfree;
static bool pool_ready;

static void *table_alloc(struct ept *e)
{
	struct ept02 *s = (struct ept02 *)e;
	if (!nfree || s->ntables == EPT02_TABLES)
		nested_stop("a shadow EPT needs more than %u tables", EPT02_TABLES);
	uint16_t t = free_table[--nfree];
	s->table[s->ntables++] = t;
	memset(pool[t], 0, 4096);
	return pool[t];
}

/* Throw a shadow away: its tables go back to the pool, and what L0 cached
 * of its translations goes too (INVEPT single-context, 28.4.3.1). */
static void release(struct ept02 *s)
{
	if (invept(1, ept_pointer(&s->ept)) != VMX_SUCCEED)
		nested_stop("INVEPT on L0 failed");
	while (s->ntables)
		free_table[nfree++] = s->table[--s->ntables];
	s->eptp12 = 0;
}

static struct ept02 *find(uint64_t eptp12)
{
	for (int k = 0; k < EPT02_COUNT; k++)
		if (shadows[k].eptp12 == eptp12)
			return &shadows[k];
	return 0;
}

/* The shadow of an EPT12, made empty if there is none yet (the oldest
 * made goes when all are taken). */
static struct ept02 *shadow_of(uint64_t eptp12)
{
	static unsigned next_victim;
	if (!pool_ready) {
		for (unsigned k = 0; k < POOL_PAGES; k++)
			free_table[nfree++] = (uint16_t)k;
		pool_ready = true;
	}
	struct ept02 *s = find(eptp12);
	if (s)
		return s;
	s = find(0);
	if (!s) {
		s = &shadows[next_victim++ % EPT02_COUNT];
		release(s);
	}
	s->eptp12 = eptp12;
	ept_init_from(&s->ept, table_alloc);
	return s;
}

uint64_t ept02_pointer(uint64_t eptp12)
{
	return ept_pointer(&shadow_of(eptp12)->ept);
}

void ept02_flush(uint64_t eptp12)
{
	struct ept02 *s = find(eptp12);
	if (s && eptp12)
		release(s);
}

void ept02_flush_all(void)
{
	for (int k = 0; k < EPT02_COUNT; k++)
		if (shadows[k].eptp12)
			release(&shadows[k]);
}

/* ---- the walk of EPT12 ---- */

enum walk { WALK_OK, WALK_NOT_PRESENT, WALK_MISCONFIG };

struct walk12 {
	uint64_t gpa2;     /* type1's physical address */
	uint64_t size;     /* of the page that maps it: 4 KiB, 2 MiB or 1 GiB */
	uint64_t rights;   /* EPT_R/W/X that every level allows */
};

/* One entry of EPT12: in type1's RAM, or nested cannot follow it. */
static uint64_t entry12(uint64_t table, uint64_t gpa3, int level)
{
	uint64_t e, at = table + ((gpa3 >> (12 + 9 * (level - 1))) & 511) * 8;
	if (!vm_read(&nest.vm, at, &e, 8))
		nested_stop("type1's EPT has a table at 0x%lx, outside its RAM", table);
	return e;
}

/* 28.3.2: four levels from the EPTP; an entry with none of R, W, X is not
 * present; W without R is a misconfiguration (28.3.3.1), as is a large
 * page in the PML4. The rights are ANDed level by level. */
static enum walk walk12(uint64_t eptp12, uint64_t gpa3, struct walk12 *w)
{
	uint64_t table = eptp12 & EPT_ADDR;
	w->rights = EPT_RWX;
	for (int level = 4; level >= 1; level--) {
		uint64_t e = entry12(table, gpa3, level);
		w->rights &= e & EPT_RWX;
		if (!(e & EPT_RWX))
			return WALK_NOT_PRESENT;
		if (((e & EPT_W) && !(e & EPT_R)) || (level == 4 && (e & EPT_LARGE)))
			return WALK_MISCONFIG;
		if (level == 1 || (e & EPT_LARGE)) {
			w->size = 1ull << (12 + 9 * (level - 1));
			w->gpa2 = (e & EPT_ADDR & ~(w->size - 1)) | (gpa3 & (w->size - 1));
			return WALK_OK;
		}
		table = e & EPT_ADDR;
	}
	return WALK_NOT_PRESENT;
}

/* Does the access of an EPT-violation qualification (bits 0-2: read,
 * write, fetch) need a right that is missing? */
static bool denied(uint64_t qual, uint64_t rights)
{
	return ((qual & EPT_QUAL_READ) && !(rights & EPT_R)) ||
	       ((qual & EPT_QUAL_WRITE) && !(rights & EPT_W)) ||
	       ((qual & EPT_QUAL_FETCH) && !(rights & EPT_X));
}

/* Add the translation of gpa3 to EPT02. EPT01 maps type1's RAM with 2 MiB
 * pages and the local APIC's page (passed through) alone. */
static void fill(struct ept02 *s, uint64_t gpa3, const struct walk12 *w)
{
	uint64_t size = 4096, rights = w->rights;
	if (w->size >= PAGE_2M && l2_host_ptr(w->gpa2 & ~(PAGE_2M - 1), PAGE_2M))
		size = PAGE_2M;
	uint64_t gpa2 = w->gpa2 & ~(size - 1);
	uint64_t hpa = ept_lookup(&nest.vm.ept, gpa2);
	if (hpa == ~0ull)
		nested_stop("type1 maps an L3 guest's 0x%lx to 0x%lx, outside type1's RAM: "
			    "nested does not emulate that", gpa3, w->gpa2);
	if (!l2_host_ptr(gpa2, size))
		rights &= EPT_R | EPT_W;     /* the APIC page: no execution */
	ept_map(&s->ept, gpa3 & ~(size - 1), hpa, size, rights);
}

/* An EPT violation of the L3 guest. True if nested filled EPT02 and the
 * guest can go on; false if it is type1's: *reason and *qual are then
 * the exit type1 gets (an EPT violation, or a misconfiguration of EPT12). */
bool ept02_violation(struct cached12 *c, uint32_t *reason, uint64_t *qual)
{
	uint64_t gpa3 = vmcs_read(GUEST_PHYSICAL_ADDRESS), q = c->l3.exit_qual;
	uint64_t proc = V12(c, CPU_BASED_VM_EXEC_CONTROL);
	if (!(proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ||
	    !(V12(c, SECONDARY_VM_EXEC_CONTROL) & SECONDARY_EXEC_ENABLE_EPT))
		nested_stop("type1's guest, which it runs without EPT, touched 0x%lx, "
			    "outside type1's RAM", gpa3);
	struct walk12 w;
	enum walk r = walk12(V12(c, EPT_POINTER), gpa3, &w);
	if (r == WALK_MISCONFIG) {
		*reason = EXIT_REASON_EPT_MISCONFIG;
		*qual = 0;
		return false;
	}
	if (r == WALK_NOT_PRESENT || denied(q, w.rights)) {
		/* Bits 3-5: what EPT12 allows; 7, 8 and 12 as L0 said. */
		*reason = EXIT_REASON_EPT_VIOLATION;
		*qual = (q & (EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_FETCH | 0x1180)) |
			(w.rights << 3);
		return false;
	}
	fill(shadow_of(V12(c, EPT_POINTER)), gpa3, &w);
	return true;
}
