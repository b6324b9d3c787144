/* 4-level paging (SDM vol. 3, chapter 4): 4 KiB, 2 MiB and 1 GiB pages,
 * the #PF error code and CR2 for each kind of violation (4.7), CR0.WP,
 * execute-disable, reserved bits, the accessed and dirty flags (4.8), and
 * INVLPG (4.10.4).
 *
 * The test maps its pages in the second 512 GiB (PML4 slot 1), where the
 * runtime maps nothing, so every table on the way is new. */
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/idt.h"
#include "lib/paging.h"
#include "lib/printf.h"
#include "lib/quirks.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "paging";

#define TEST_VA 0x0000008000000000ull   /* 512 GiB */

/* Check that the last caught fault was #PF with error code err at va;
 * the error-code bits in `ignore` are not compared. */
static void expect_pf_except(const char *what, int vector, uint32_t err, uint64_t va,
			     uint32_t ignore)
{
	if (vector != VEC_PF)
		TEST_FAIL("%s: got %s, want #PF", what,
			  vector < 0 ? "no exception" : vector_name(vector));
	if ((last_fault.error_code & ~ignore) != (err & ~ignore))
		TEST_FAIL("%s: #PF error code 0x%lx, want 0x%x", what,
			  (uint64_t)last_fault.error_code, err);
	if (last_fault.cr2 != va)
		TEST_FAIL("%s: CR2 0x%lx, want 0x%lx", what, (uint64_t)last_fault.cr2, va);
	printf("%s: #PF(0x%x), CR2 right\n", what, err);
}

static void expect_pf(const char *what, int vector, uint32_t err, uint64_t va)
{
	expect_pf_except(what, vector, err, va, 0);
}

/* A reserved bit in a present entry gives P = 1 and RSVD = 1 (SDM vol. 3,
 * 4.7: P is 0 only when a P flag was 0 on the way). QEMU 7.2's TCG reports
 * RSVD with P = 0, so there P is not compared for these faults. */
static uint32_t rsvd_ignore(void)
{
	return on_qemu_tcg() ? PF_P : 0;
}

static void expect_pf_rsvd(const char *what, int vector, uint32_t err, uint64_t va)
{
	expect_pf_except(what, vector, err, va, rsvd_ignore());
}

/* Paging entries are read through volatile pointers: the CPU writes them
 * (A and D) behind the compiler's back. */

static void test_4k_pages(void)
{
	uint8_t *frame = alloc_page();
	uint64_t va = TEST_VA;
	memset(frame, 0x5a, PAGE_SIZE);

	/* Not present: P = 0 in the error code, W says read or write. */
	uint8_t v;
	expect_pf("read of a not-present page", try_read8((void *)(va + 0x123), &v),
		  0, va + 0x123);
	expect_pf("write to a not-present page", try_write8((void *)(va + 0x456), 1),
		  PF_W, va + 0x456);

	/* Present: the frame shows through the new address. A not-present
	 * entry is never cached in a TLB, so making it present needs no
	 * INVLPG (SDM vol. 3, 4.10.4.3); map_page does one anyway, so this
	 * sets the entry by hand. */
	map_page(va, (uintptr_t)frame, PTE_W);
	unmap_page(va);
	TEST_ASSERT_EQ(try_read8((void *)va, &v), VEC_PF);
	*pte_lookup(va, NULL) |= PTE_P;
	TEST_ASSERT_EQ(try_read8((void *)(va + 7), &v), -1);
	TEST_ASSERT_EQ(v, 0x5a);
	*(volatile uint8_t *)(va + 8) = 0xa5;
	TEST_ASSERT_EQ(frame[8], 0xa5);
	printf("4 KiB page maps the frame\n");

	/* Read-only. With CR0.WP = 1 (the runtime's setting) ring 0 may not
	 * write either (SDM vol. 3, 4.6.1); with WP = 0 it may. */
	map_page(va, (uintptr_t)frame, 0);
	expect_pf("ring-0 write to a read-only page, CR0.WP=1",
		  try_write8((void *)(va + 9), 1), PF_P | PF_W, va + 9);
	write_cr0(read_cr0() & ~CR0_WP);
	TEST_ASSERT_EQ(try_write8((void *)(va + 9), 0x99), -1);
	TEST_ASSERT_EQ(frame[9], 0x99);
	write_cr0(read_cr0() | CR0_WP);
	printf("ring-0 write to a read-only page, CR0.WP=0: allowed\n");
}

/* ---- user / supervisor ---- */

static uint64_t user_read(uint64_t va)
{
	uint8_t v;
	int vec = try_read8((void *)va, &v);
	return (uint64_t)(uint32_t)vec << 32 | v;
}

static uint64_t user_write(uint64_t va)
{
	return (uint32_t)try_write8((void *)va, 0x77);
}

static void test_user_supervisor(void)
{
	uint8_t *frame = alloc_page();
	uint64_t va = TEST_VA + 0x1000;
	frame[0x10] = 0x42;

	/* A supervisor page (U = 0) is out of ring 3's reach: P | U, plus W
	 * for a write. */
	map_page(va, (uintptr_t)frame, PTE_W);
	uint64_t r = user_call(user_read, va + 0x10);
	TEST_ASSERT_EQ(r >> 32, VEC_PF);
	expect_pf("ring-3 read of a supervisor page", VEC_PF, PF_P | PF_U, va + 0x10);
	TEST_ASSERT_EQ(user_call(user_write, va + 0x20), VEC_PF);
	expect_pf("ring-3 write to a supervisor page", VEC_PF, PF_P | PF_U | PF_W, va + 0x20);

	/* A user page, read-only: reads work, writes fault. */
	map_page(va, (uintptr_t)frame, PTE_U);
	r = user_call(user_read, va + 0x10);
	TEST_ASSERT_EQ(r, 0xffffffff00000042ull);
	TEST_ASSERT_EQ(user_call(user_write, va + 0x20), VEC_PF);
	expect_pf("ring-3 write to a read-only user page", VEC_PF, PF_P | PF_U | PF_W, va + 0x20);

	/* A user page not present: U set, P clear. */
	unmap_page(va);
	TEST_ASSERT_EQ(user_call(user_read, va + 0x30) >> 32, VEC_PF);
	expect_pf("ring-3 read of a not-present page", VEC_PF, PF_U, va + 0x30);
}

/* ---- execute-disable ---- */

static void test_nx(void)
{
	if (!(rdmsr(MSR_IA32_EFER) & EFER_NXE))
		TEST_FAIL("EFER.NXE is clear: the CPU has no NX (see the cpuid test)");
	uint8_t *frame = alloc_page();
	uint64_t va = TEST_VA + 0x2000;
	frame[0] = 0xc3;    /* RET */

	map_page(va, (uintptr_t)frame, PTE_NX);
	/* A fetch from an NX page: P | I (I is reported because NXE = 1). */
	expect_pf("fetch from an NX page", try_exec((void *)va), PF_P | PF_I, va);
	/* The same page without NX runs. */
	map_page(va, (uintptr_t)frame, 0);
	TEST_ASSERT_EQ(try_exec((void *)va), -1);
	/* A fetch from a not-present page: I without P. */
	unmap_page(va);
	expect_pf("fetch from a not-present page", try_exec((void *)va), PF_I, va);
	/* NX in a higher level applies to everything below it (4.6.1). */
	map_page(va, (uintptr_t)frame, 0);
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	pml4[1] |= PTE_NX;
	invlpg((void *)va);
	expect_pf("fetch under an NX PML4 entry", try_exec((void *)va), PF_P | PF_I, va);
	pml4[1] &= ~PTE_NX;
	invlpg((void *)va);
	TEST_ASSERT_EQ(try_exec((void *)va), -1);
}

/* ---- reserved bits ---- */

static void test_reserved_bits(void)
{
	uint8_t *frame = alloc_page();
	uint64_t va = TEST_VA + 0x3000;
	uint8_t v;

	/* Bit 51 is above MAXPHYADDR on every CPU with fewer than 52
	 * physical address bits (nestlab: 39, QEMU's default: 40), so it is
	 * reserved: #PF with P and RSVD (SDM vol. 3, 4.7). */
	uint32_t maxphys = cpuid(0x80000008u, 0).eax & 0xff;
	TEST_ASSERT(maxphys < 52);
	map_page(va, (uintptr_t)frame | 1ull << 51, PTE_W);
	expect_pf_rsvd("reserved bit 51 in a PTE", try_read8((void *)va, &v),
		  PF_P | PF_RSVD, va);
	/* PS in a PML4 entry is reserved too. */
	map_page(va, (uintptr_t)frame, PTE_W);
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	pml4[1] |= PTE_PS;
	invlpg((void *)va);
	expect_pf_rsvd("PS set in a PML4 entry", try_write8((void *)va, 1),
		  PF_P | PF_RSVD | PF_W, va);
	pml4[1] &= ~PTE_PS;
	invlpg((void *)va);
	TEST_ASSERT_EQ(try_read8((void *)va, &v), -1);
}

/* ---- accessed and dirty ---- */

static void test_accessed_dirty(void)
{
	uint8_t *frame = alloc_page();
	uint64_t va = TEST_VA + 0x4000;
	map_page(va, (uintptr_t)frame, PTE_W);
	volatile pte_t *pte = pte_lookup(va, NULL);
	TEST_ASSERT(pte);

	/* The CPU sets A on the first access through an entry and D on the
	 * first write through a leaf entry (SDM vol. 3, 4.8). */
	TEST_ASSERT_EQ(*pte & (PTE_A | PTE_D), 0);
	(void)*(volatile uint8_t *)va;
	TEST_ASSERT_EQ(*pte & (PTE_A | PTE_D), PTE_A);
	*(volatile uint8_t *)(va + 1) = 1;
	TEST_ASSERT_EQ(*pte & (PTE_A | PTE_D), PTE_A | PTE_D);
	printf("accessed set by a read, dirty by a write\n");

	/* The upper levels have A too. */
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	TEST_ASSERT(pml4[1] & PTE_A);

	/* Software clears them and invalidates; the next write sets both. */
	*pte &= ~(PTE_A | PTE_D);
	invlpg((void *)va);
	*(volatile uint8_t *)(va + 2) = 2;
	TEST_ASSERT_EQ(*pte & (PTE_A | PTE_D), PTE_A | PTE_D);
	printf("accessed and dirty set again after INVLPG\n");
}

/* ---- INVLPG ---- */

static void test_invlpg(void)
{
	uint8_t *a = alloc_page(), *b = alloc_page();
	uint64_t va = TEST_VA + 0x5000;
	a[0] = 0xaa;
	b[0] = 0xbb;
	map_page(va, (uintptr_t)a, PTE_W);
	TEST_ASSERT_EQ(*(volatile uint8_t *)va, 0xaa);

	/* Point the PTE at another frame. Until INVLPG the CPU may use
	 * either translation (4.10.4.4), so nothing is checked in between;
	 * after it, only the new one. */
	volatile pte_t *pte = pte_lookup(va, NULL);
	*pte = (*pte & ~PTE_ADDR) | (uintptr_t)b;
	invlpg((void *)va);
	TEST_ASSERT_EQ(*(volatile uint8_t *)va, 0xbb);
	/* And back, flushed by reloading CR3 this time. */
	*pte = (*pte & ~PTE_ADDR) | (uintptr_t)a;
	write_cr3(read_cr3());
	TEST_ASSERT_EQ(*(volatile uint8_t *)va, 0xaa);
	printf("INVLPG and a CR3 write make a changed PTE visible\n");
}

/* ---- large pages ---- */

static volatile uint64_t marker = 0x1a2b3c4d5e6f7788ull;

static void test_large_pages(void)
{
	/* 2 MiB: alias the 2 MiB around `marker` at a new address. */
	uint64_t pa = (uintptr_t)&marker & ~((1ull << 21) - 1);
	uint64_t va = TEST_VA + (1ull << 30);
	map_large_page(va, pa, PTE_W, LEVEL_2M);
	volatile uint64_t *alias = (volatile uint64_t *)(va + ((uintptr_t)&marker - pa));
	TEST_ASSERT_EQ(*alias, 0x1a2b3c4d5e6f7788ull);
	*alias = 0x99;
	TEST_ASSERT_EQ(marker, 0x99);
	int level;
	TEST_ASSERT(pte_lookup(va, &level) && level == LEVEL_2M);
	printf("2 MiB page\n");

	/* 1 GiB: only where CPUID says so (80000001H:EDX[26]). */
	if (!cpu_has_ext(CPUID_X1_EDX_PAGE1GB)) {
		printf("# 1 GiB pages not supported: not tested\n");
		return;
	}
	va = TEST_VA + (4ull << 30);
	map_large_page(va, 0, PTE_W, LEVEL_1G);
	alias = (volatile uint64_t *)(va + (uintptr_t)&marker);
	TEST_ASSERT_EQ(*alias, 0x99);
	*alias = 0x1a2b3c4d5e6f7788ull;
	TEST_ASSERT_EQ(marker, 0x1a2b3c4d5e6f7788ull);
	/* Bits 29:13 of a 1 GiB PDPTE are reserved (table 4-16). */
	volatile pte_t *e = pte_lookup(va, &level);
	TEST_ASSERT(e && level == LEVEL_1G);
	*e |= 1ull << 21;
	invlpg((void *)va);
	uint8_t v;
	TEST_ASSERT_EQ(try_read8((void *)va, &v), VEC_PF);
	TEST_ASSERT_EQ(last_fault.error_code & ~rsvd_ignore(), (PF_P | PF_RSVD) & ~rsvd_ignore());
	TEST_ASSERT_EQ(last_fault.cr2, va);
	*e &= ~(1ull << 21);
	invlpg((void *)va);
	TEST_ASSERT_EQ(try_read8((void *)va, &v), -1);
	/* Informational: a CPU without 1 GiB pages prints the other line. */
	printf("# 1 GiB page, and a reserved bit in its PDPTE\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	TEST_ASSERT(read_cr0() & CR0_PG);
	TEST_ASSERT(read_cr4() & CR4_PAE);
	test_4k_pages();
	test_user_supervisor();
	test_nx();
	test_reserved_bits();
	test_accessed_dirty();
	test_invlpg();
	test_large_pages();
	TEST_PASS();
}
