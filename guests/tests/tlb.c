/* TLB management in 4-level paging (SDM vol. 3, 4.10): global pages
 * (CR4.PGE), process-context identifiers (CR4.PCIDE, the PCID in CR3 and
 * the no-flush bit 63 of MOV to CR3) and INVPCID with its four types.
 *
 * The SDM says which operations must invalidate a translation, never
 * that a translation must survive one (a TLB may drop entries at any
 * time, 4.10.2.2 and 4.10.4.3). So the test changes a PTE, performs an
 * invalidating operation, and asserts only that the new translation is
 * used. Whether an old translation was still cached where it was allowed
 * to be is printed on "# " lines, which are not compared.
 *
 * PCIDs and INVPCID are tested only where CPUID reports them (nestlab
 * does; QEMU's IvyBridge does not: there only INVPCID's #UD is checked),
 * so everything they print is a "# " line. */
#include "lib/alloc.h"
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/idt.h"
#include "lib/paging.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "tlb";

#define TEST_VA 0x0000008000000000ull   /* PML4 slot 1: nothing else there */

#define CR4_PCIDE (1ul << 17)
#define CPUID_1_EDX_PGE     (1u << 13)
#define CPUID_1_ECX_PCID    (1u << 17)
#define CPUID_7_EBX_INVPCID (1u << 10)
#define CR3_NOFLUSH (1ull << 63)

/* Frames whose first byte names them: 'A', 'B', ... */
static uint8_t *frame[8];

static void make_frames(void)
{
	for (int i = 0; i < 8; i++) {
		frame[i] = alloc_page();
		frame[i][0] = (uint8_t)('A' + i);
	}
}

/* Point the PTE of va at frame i (keeping its flags), without any
 * invalidation: what happens next decides which translation is used. */
static void retarget(volatile pte_t *pte, int i)
{
	*pte = (*pte & ~PTE_ADDR) | (uintptr_t)frame[i];
}

static char peek(uint64_t va)
{
	return (char)*(volatile uint8_t *)va;
}

/* For "# " lines: which frame a read found. */
static const char *which(char seen, char old)
{
	return seen == old ? "the old translation (still cached)" : "the new one";
}

/* ---- global pages ---- */

static void test_global_pages(void)
{
	if (!(cpuid(1, 0).edx & CPUID_1_EDX_PGE))
		TEST_FAIL("CPUID.1:EDX.PGE is clear");
	uint64_t va = TEST_VA;
	map_page(va, (uintptr_t)frame[0], PTE_W | PTE_G);
	volatile pte_t *pte = pte_lookup(va, NULL);

	/* Setting CR4.PGE invalidates every TLB entry (SDM vol. 3, 4.10.4.1);
	 * from then on, a translation through a PTE with G = 1 is global. */
	write_cr4(read_cr4() | CR4_PGE);
	TEST_ASSERT_EQ(peek(va), 'A');

	/* MOV to CR3 need not invalidate global translations: either frame
	 * may show (4.10.4.1), so this is only reported. */
	retarget(pte, 1);
	write_cr3(read_cr3());
	printf("# a global page after MOV to CR3: %s\n", which(peek(va), 'A'));
	/* INVLPG invalidates the page's translations, global ones too. */
	invlpg((void *)va);
	TEST_ASSERT_EQ(peek(va), 'B');
	printf("global page: INVLPG makes a changed PTE visible\n");

	/* Changing CR4.PGE invalidates all translations, global ones too
	 * (4.10.4.1); clearing it also makes G ignored (4.10.2.4). */
	retarget(pte, 2);
	write_cr4(read_cr4() & ~CR4_PGE);
	TEST_ASSERT_EQ(peek(va), 'C');
	retarget(pte, 3);
	write_cr4(read_cr4() | CR4_PGE);
	TEST_ASSERT_EQ(peek(va), 'D');
	printf("global page: toggling CR4.PGE makes a changed PTE visible\n");

	/* A non-global page next to it is invalidated by MOV to CR3. */
	uint64_t va2 = TEST_VA + 0x1000;
	map_page(va2, (uintptr_t)frame[4], PTE_W);
	TEST_ASSERT_EQ(peek(va2), 'E');
	retarget(pte_lookup(va2, NULL), 5);
	write_cr3(read_cr3());
	TEST_ASSERT_EQ(peek(va2), 'F');
	printf("non-global page: MOV to CR3 makes a changed PTE visible\n");

	/* Leave PGE on for the PCID part; the global page is dropped. */
	unmap_page(va);
	unmap_page(va2);
}

/* ---- PCIDs and INVPCID ---- */

enum { INVPCID_ADDR = 0, INVPCID_SINGLE = 1, INVPCID_ALL_GLOBAL = 2, INVPCID_ALL = 3 };

struct invpcid_desc {
	uint64_t pcid;    /* bits 11:0; 63:12 must be 0 */
	uint64_t addr;
} __attribute__((aligned(16)));

static void invpcid(uint64_t type, uint64_t pcid, uint64_t addr)
{
	struct invpcid_desc d = { pcid, addr };
	__asm__ volatile("invpcid %0, %1" : : "m"(d), "r"(type) : "memory");
}

static int try_invpcid(uint64_t type, uint64_t pcid, uint64_t addr)
{
	struct invpcid_desc d = { pcid, addr };
	fault_clear();
	__asm__ volatile(CATCH_ASM("invpcid %0, %1") : : "m"(d), "r"(type) : "memory");
	return last_fault.vector;
}

static uint64_t user_invpcid(uint64_t arg)
{
	(void)arg;
	return (uint64_t)(uint32_t)try_invpcid(INVPCID_ALL, 0, 0) << 32 | last_fault.error_code;
}

static int try_write_cr4(uint64_t v)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("mov %0, %%cr4") : : "r"(v) : "memory");
	return last_fault.vector;
}

/* Where CPUID reports no PCID or no INVPCID, that part is skipped.
 * INVPCID is then #UD (vol. 2, INVPCID). CR4.PCIDE is then reserved
 * (#GP(0), vol. 3, 2.5), but that is not tried: QEMU 7.2's TCG accepts
 * PCIDE without PCID, and stops responding when MOV to CR4 sets other
 * bits its CPUID lacks (UMIP and SMAP on this model). */
static bool check_absent(bool has_pcid, bool has_invpcid)
{
	if (!has_pcid)
		printf("# no PCID in CPUID: PCIDs not tested\n");
	if (!has_invpcid) {
		TEST_ASSERT_EQ(try_invpcid(INVPCID_ALL, 0, 0), VEC_UD);
		printf("# no INVPCID in CPUID: it is #UD; not tested\n");
	}
	return has_pcid && has_invpcid;
}

static void test_pcid(void)
{
	bool has_pcid = cpuid(1, 0).ecx & CPUID_1_ECX_PCID;
	bool has_invpcid = cpuid(7, 0).ebx & CPUID_7_EBX_INVPCID;
	if (!check_absent(has_pcid, has_invpcid))
		return;

	uint64_t base = read_cr3();
	TEST_ASSERT_EQ(base & 0xfff, 0);

	/* CR4.PCIDE may go from 0 to 1 only with CR3[11:0] = 0: #GP(0)
	 * otherwise (vol. 2, MOV to/from control registers). PWT (bit 3) set
	 * in CR3 is such a case. */
	write_cr3(base | PTE_PWT);
	TEST_ASSERT_EQ(try_write_cr4(read_cr4() | CR4_PCIDE), VEC_GP);
	TEST_ASSERT_EQ(last_fault.error_code, 0);
	write_cr3(base);
	write_cr4(read_cr4() | CR4_PCIDE);
	printf("# CR4.PCIDE: #GP(0) with CR3[11:0] != 0, set with CR3[11:0] = 0\n");

	/* With PCIDE = 1, CR3[11:0] is the current PCID, and MOV to CR3 with
	 * bit 63 clear invalidates the new PCID's non-global translations
	 * (4.10.4.1). Bit 63 itself is not stored: CR3 reads it as 0 (vol. 2,
	 * MOV to/from control registers). */
	uint64_t va = TEST_VA + 0x2000;
	map_page(va, (uintptr_t)frame[0], PTE_W);
	volatile pte_t *pte = pte_lookup(va, NULL);
	write_cr3(base | 1);
	TEST_ASSERT_EQ(read_cr3(), base | 1);
	TEST_ASSERT_EQ(peek(va), 'A');          /* cached for PCID 1 */
	retarget(pte, 1);
	write_cr3(base | 2);                     /* PCID 2, invalidated */
	TEST_ASSERT_EQ(peek(va), 'B');
	printf("# PCID 2 after MOV to CR3 without bit 63: the changed PTE is used\n");

	/* Back to PCID 1 with bit 63 set: nothing is invalidated, and PCID
	 * 1 may still hold 'A' (only reported). A logical processor uses
	 * only the translations of the current PCID (4.10.1). */
	write_cr3(base | 1 | CR3_NOFLUSH);
	TEST_ASSERT_EQ(read_cr3(), base | 1);
	printf("# PCID 1 after MOV to CR3 with bit 63 (no flush): %s\n", which(peek(va), 'A'));

	/* INVPCID type 0: one address in one PCID (vol. 2, INVPCID). */
	invpcid(INVPCID_ADDR, 1, va);
	TEST_ASSERT_EQ(peek(va), 'B');
	printf("# INVPCID type 0 (address, PCID 1): the changed PTE is used\n");

	/* Type 1: every non-global translation of one PCID. */
	retarget(pte, 2);
	invpcid(INVPCID_SINGLE, 1, 0);
	TEST_ASSERT_EQ(peek(va), 'C');
	printf("# INVPCID type 1 (PCID 1): the changed PTE is used\n");

	/* Type 3: every non-global translation of every PCID. PCID 2 holds
	 * 'B' from before; after type 3 it must see the current PTE. */
	retarget(pte, 3);
	invpcid(INVPCID_ALL, 0, 0);
	TEST_ASSERT_EQ(peek(va), 'D');
	write_cr3(base | 2 | CR3_NOFLUSH);
	TEST_ASSERT_EQ(peek(va), 'D');
	write_cr3(base | 1 | CR3_NOFLUSH);
	printf("# INVPCID type 3 (all non-global): the changed PTE is used in PCIDs 1 and 2\n");

	/* A global translation (CR4.PGE = 1 from the part above) is shared
	 * by all PCIDs. Types 0, 1 and 3 need not invalidate it; type 2
	 * invalidates everything. */
	*pte |= PTE_G;
	retarget(pte, 4);
	invpcid(INVPCID_ALL_GLOBAL, 0, 0);
	TEST_ASSERT_EQ(peek(va), 'E');
	retarget(pte, 5);
	invpcid(INVPCID_ALL, 0, 0);
	printf("# a global page after INVPCID type 3: %s\n", which(peek(va), 'E'));
	invpcid(INVPCID_ALL_GLOBAL, 0, 0);
	TEST_ASSERT_EQ(peek(va), 'F');
	retarget(pte, 6);
	write_cr3(base | 2);
	printf("# a global page in PCID 2 after MOV to CR3: %s\n", which(peek(va), 'F'));
	invlpg((void *)va);
	TEST_ASSERT_EQ(peek(va), 'G');
	printf("# INVPCID type 2 and INVLPG invalidate a global page\n");

	/* INVPCID's checks (vol. 2, INVPCID): type above 3, PCID bits 63:12
	 * not zero, a non-canonical address with type 0, CPL > 0: #GP(0). */
	TEST_ASSERT_EQ(try_invpcid(4, 0, 0), VEC_GP);
	TEST_ASSERT_EQ(try_invpcid(INVPCID_SINGLE, 0x1000, 0), VEC_GP);
	TEST_ASSERT_EQ(try_invpcid(INVPCID_ADDR, 1, 0x0000800000000000ull), VEC_GP);
	TEST_ASSERT_EQ(user_call(user_invpcid, 0), (uint64_t)VEC_GP << 32);
	printf("# INVPCID: bad type, bad PCID, non-canonical address, ring 3: #GP(0)\n");

	/* PCID 0 again, then PCIDE off, which invalidates everything. With
	 * PCIDE = 0, types 0 and 1 accept only PCID 0. */
	write_cr3(base);
	write_cr4(read_cr4() & ~CR4_PCIDE);
	TEST_ASSERT_EQ(try_invpcid(INVPCID_SINGLE, 1, 0), VEC_GP);
	TEST_ASSERT_EQ(try_invpcid(INVPCID_SINGLE, 0, 0), -1);
	printf("# CR4.PCIDE=0: INVPCID of PCID 1 is #GP(0), of PCID 0 allowed\n");
	unmap_page(va);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	make_frames();
	test_global_pages();
	test_pcid();
	TEST_PASS();
}
