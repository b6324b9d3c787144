/* What the supervisor may not do with user pages, and what ring 3 may not
 * read (SDM vol. 3, 4.6 and 2.5): SMEP (no supervisor fetches from user
 * pages), SMAP (no supervisor data accesses to user pages unless
 * RFLAGS.AC = 1 for explicit accesses, and never for implicit ones) and
 * UMIP (no SGDT, SIDT, SLDT, STR or SMSW above ring 0).
 *
 * The runtime maps the whole image user-accessible (lib/entry.S), so with
 * SMEP or SMAP on the kernel would fault on its own code and data. While
 * they are on, U is cleared in PML4 entry 0, which makes the first
 * 512 GiB supervisor-only; the test pages live under PML4 entry 1, user
 * pages all the way down.
 *
 * Each feature is tested only where CPUID reports it: nestlab reports all
 * three, QEMU's IvyBridge only SMEP, so SMAP and UMIP print "# " lines.
 * A missing feature's CR4 bit is not tried either: it should be #GP(0),
 * but QEMU 7.2's TCG stops responding when MOV to CR4 sets it. */
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/paging.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "supervisor";

#define TEST_VA 0x0000008000000000ull   /* PML4 slot 1 */

#define CR4_UMIP (1ul << 11)
#define CR4_SMEP (1ul << 20)
#define CR4_SMAP (1ul << 21)
#define CPUID_7_EBX_SMEP (1u << 7)
#define CPUID_7_EBX_SMAP (1u << 20)
#define CPUID_7_ECX_UMIP (1u << 2)

static void expect_pf(const char *what, int vector, uint32_t err, uint64_t va)
{
	if (vector != VEC_PF)
		TEST_FAIL("%s: got %s, want #PF", what,
			  vector < 0 ? "no exception" : vector_name(vector));
	if (last_fault.error_code != err)
		TEST_FAIL("%s: #PF error code 0x%lx, want 0x%x", what, last_fault.error_code, err);
	if (last_fault.cr2 != va)
		TEST_FAIL("%s: CR2 0x%lx, want 0x%lx", what, last_fault.cr2, va);
}

/* U in PML4 entry 0, which maps the runtime and the image. Changing an
 * upper-level entry needs a full flush: MOV to CR3 (the runtime has no
 * global pages). */
static void kernel_user_accessible(bool user)
{
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	if (user)
		pml4[0] |= PTE_U;
	else
		pml4[0] &= ~PTE_U;
	write_cr3(read_cr3());
}

static void cr4_clear(uint64_t bits)
{
	write_cr4(read_cr4() & ~bits);
	write_cr3(read_cr3());
}

/* ---- SMEP ---- */

static void test_smep(void)
{
	if (!(cpuid(7, 0).ebx & CPUID_7_EBX_SMEP)) {
		printf("# no SMEP in CPUID: not tested\n");
		return;
	}
	uint8_t *frame = alloc_page();
	frame[0] = 0xc3;   /* RET */
	uint64_t user_va = TEST_VA, super_va = TEST_VA + 0x1000;
	map_page(user_va, (uintptr_t)frame, PTE_U);
	map_page(super_va, (uintptr_t)frame, 0);

	kernel_user_accessible(false);
	write_cr4(read_cr4() | CR4_SMEP);

	/* A supervisor-mode fetch from a user page: #PF with P (the page is
	 * present) and I (a fetch; reported since SMEP = 1) (4.6.1, 4.7). */
	expect_pf("SMEP", try_exec((void *)user_va), PF_P | PF_I, user_va);
	printf("SMEP: ring-0 fetch from a user page: #PF(P|I), CR2 right\n");
	/* The same frame through a supervisor mapping runs. */
	TEST_ASSERT_EQ(try_exec((void *)super_va), -1);
	/* SMEP is about fetches: data reads of the user page are allowed. */
	uint8_t v;
	TEST_ASSERT_EQ(try_read8((void *)user_va, &v), -1);
	TEST_ASSERT_EQ(v, 0xc3);
	printf("SMEP: supervisor pages run, user pages can still be read\n");

	cr4_clear(CR4_SMEP);
	TEST_ASSERT_EQ(try_exec((void *)user_va), -1);
	kernel_user_accessible(true);
	printf("SMEP off: ring 0 runs the user page\n");
}

/* ---- SMAP ---- */

/* SMAP looks at RFLAGS.AC for explicit accesses. STAC and CLAC set and
 * clear it, but nestlab does not implement them (they come with SMAP on
 * real CPUs), so POPF does it; POPF may change AC at any CPL. */
static void set_ac(bool on)
{
	uint64_t f = read_rflags();
	f = on ? f | RFLAGS_AC : f & ~RFLAGS_AC;
	__asm__ volatile("pushq %0; popfq" : : "r"(f) : "memory", "cc");
}

#define LDT_GDT_INDEX GDT_FIRST_FREE         /* 16 bytes: entries 9 and 10 */
#define LDT_SEL GDT_SEL(LDT_GDT_INDEX, 0)
#define LDT_DATA_SEL ((uint16_t)(1 << 3 | 4))  /* LDT entry 1, TI = 1, RPL 0 */

static int try_load_es(uint16_t sel)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("movw %0, %%es") : : "r"(sel) : "memory");
	return last_fault.vector;
}

static void test_smap(void)
{
	if (!(cpuid(7, 0).ebx & CPUID_7_EBX_SMAP)) {
		printf("# no SMAP in CPUID: not tested\n");
		return;
	}
	uint8_t *frame = alloc_page();
	frame[0] = 0xc3;
	frame[1] = 0x5e;
	uint64_t va = TEST_VA + 0x2000;
	map_page(va, (uintptr_t)frame, PTE_U | PTE_W);

	/* An LDT in a user page, holding one flat data segment with A
	 * already set, so that loading it only reads the descriptor. */
	uint64_t *ldt = alloc_page();
	uint64_t ldt_va = TEST_VA + 0x3000;
	map_page(ldt_va, (uintptr_t)ldt, PTE_U | PTE_W);
	ldt[1] = seg_desc(0, 0xfffff, SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED | SEG_S |
			  SEG_DPL(0) | SEG_P | SEG_DB | SEG_G);
	/* A 64-bit LDT descriptor is 16 bytes: type 2, then base 63:32
	 * (SDM vol. 3, 3.5.2, "Segment Descriptor Tables in IA-32e Mode"). */
	gdt_set(LDT_GDT_INDEX, seg_desc((uint32_t)ldt_va, 15, 0x2 | SEG_P));
	gdt_set(LDT_GDT_INDEX + 1, ldt_va >> 32);
	__asm__ volatile("lldt %0" : : "r"(LDT_SEL) : "memory");

	kernel_user_accessible(false);
	write_cr4(read_cr4() | CR4_SMAP);

	/* AC = 0: a supervisor read or write of a user page faults, P set,
	 * W for the write (4.6.1). */
	uint8_t v;
	expect_pf("SMAP read", try_read8((void *)(va + 1), &v), PF_P, va + 1);
	expect_pf("SMAP write", try_write8((void *)(va + 2), 1), PF_P | PF_W, va + 2);
	printf("# SMAP, AC=0: ring-0 read and write of a user page: #PF(P), #PF(P|W)\n");

	/* AC = 1: explicit accesses are allowed. */
	set_ac(true);
	int rv = try_read8((void *)(va + 1), &v);
	int wv = try_write8((void *)(va + 2), 0x77);
	set_ac(false);
	TEST_ASSERT_EQ(rv, -1);
	TEST_ASSERT_EQ(v, 0x5e);
	TEST_ASSERT_EQ(wv, -1);
	TEST_ASSERT_EQ(frame[2], 0x77);
	printf("# SMAP, AC=1 (set with POPF): ring-0 read and write allowed\n");

	/* Implicit supervisor accesses, such as reading a descriptor from
	 * the LDT, are checked whatever AC says (4.6). */
	set_ac(true);
	int lv = try_load_es(LDT_DATA_SEL);
	set_ac(false);
	expect_pf("SMAP implicit", lv, PF_P, ldt_va + 8);
	printf("# SMAP, AC=1: loading a segment from an LDT in a user page: #PF(P)\n");

	/* SMAP says nothing about fetches. */
	TEST_ASSERT_EQ(read_cr4() & CR4_SMEP, 0);
	TEST_ASSERT_EQ(try_exec((void *)va), -1);
	printf("# SMAP without SMEP: ring 0 still runs a user page\n");

	cr4_clear(CR4_SMAP);
	kernel_user_accessible(true);
	/* Without SMAP the LDT descriptor loads. */
	TEST_ASSERT_EQ(try_load_es(LDT_DATA_SEL), -1);
	__asm__ volatile("movw %0, %%es\n\t"
			 "lldt %1" : : "r"((uint16_t)KERNEL_DS), "r"((uint16_t)0) : "memory");
	printf("# SMAP off: the same segment load works\n");
}

/* ---- UMIP ---- */

enum { S_SGDT, S_SIDT, S_SLDT, S_STR, S_SMSW, S_COUNT };
static const char *const store_names[S_COUNT] = { "sgdt", "sidt", "sldt", "str", "smsw" };

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Run one store instruction; return what it stored (the table base for
 * SGDT and SIDT), or 1 << 63 | vector << 32 | error code if it faulted. */
static uint64_t store_system(uint64_t which)
{
	struct dtr d = { 0, 0 };
	uint16_t w = 0xffff;
	fault_clear();
	switch (which) {
	case S_SGDT:
		__asm__ volatile(CATCH_ASM("sgdt %0") : "+m"(d) : : "memory");
		break;
	case S_SIDT:
		__asm__ volatile(CATCH_ASM("sidt %0") : "+m"(d) : : "memory");
		break;
	case S_SLDT:
		__asm__ volatile(CATCH_ASM("sldt %0") : "+m"(w) : : "memory");
		break;
	case S_STR:
		__asm__ volatile(CATCH_ASM("str %0") : "+m"(w) : : "memory");
		break;
	case S_SMSW:
		__asm__ volatile(CATCH_ASM("smsw %0") : "+m"(w) : : "memory");
		break;
	}
	if (last_fault.vector >= 0)
		return 1ull << 63 | (uint64_t)last_fault.vector << 32 | last_fault.error_code;
	return which <= S_SIDT ? d.base : w;
}

static void test_umip(void)
{
	/* Without UMIP ring 3 may read them all, and sees what ring 0 sees. */
	uint64_t want[S_COUNT];
	for (int k = 0; k < S_COUNT; k++) {
		want[k] = store_system((uint64_t)k);
		TEST_ASSERT_EQ(user_call(store_system, (uint64_t)k), want[k]);
	}
	TEST_ASSERT_EQ(want[S_SLDT], 0);
	TEST_ASSERT_EQ(want[S_STR], TSS_SEL);
	TEST_ASSERT_EQ(want[S_SMSW], read_cr0() & 0xffff);
	printf("CR4.UMIP=0: sgdt, sidt, sldt, str, smsw work in ring 3\n");

	if (!(cpuid(7, 0).ecx & CPUID_7_ECX_UMIP)) {
		printf("# no UMIP in CPUID: not tested\n");
		return;
	}
	/* With UMIP each of them is #GP(0) above ring 0, and still works in
	 * ring 0 (SDM vol. 3, 2.5; vol. 2, SGDT and the others). */
	write_cr4(read_cr4() | CR4_UMIP);
	for (int k = 0; k < S_COUNT; k++) {
		uint64_t r = user_call(store_system, (uint64_t)k);
		if (r != (1ull << 63 | (uint64_t)VEC_GP << 32))
			TEST_FAIL("%s in ring 3 with CR4.UMIP: 0x%lx, want #GP(0)",
				  store_names[k], r);
		TEST_ASSERT_EQ(store_system((uint64_t)k), want[k]);
	}
	write_cr4(read_cr4() & ~CR4_UMIP);
	printf("# CR4.UMIP=1: each is #GP(0) in ring 3, allowed in ring 0\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	test_smep();
	test_smap();
	test_umip();
	TEST_PASS();
}
