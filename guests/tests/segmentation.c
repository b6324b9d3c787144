/* Segmentation in IA-32e mode (SDM vol. 3, chapter 3 and 5.4-5.8):
 * loading data segment registers and the checks made on the way
 * (#GP, #NP and #SS with the selector as error code), the accessed bit,
 * LAR, LSL, VERR and VERW, and segment bases in compatibility mode, where
 * (unlike 64-bit mode) they still apply.
 *
 * Limit violations on data accesses (expand-up and expand-down, in
 * compatibility mode) are checked everywhere but under QEMU's TCG, which
 * does not check segment limits on memory accesses at all (quirks.h). */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/compat.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/quirks.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "segmentation";

/* Test descriptors, from the first free GDT slot. */
enum {
	D_SMALL = GDT_FIRST_FREE, /* data RW, limit 0x1234 bytes, accessed bit clear */
	D_RO,                     /* data, read-only */
	D_XONLY,                  /* code, execute-only */
	D_ABSENT,                 /* data RW, not present */
	D_DOWN,                   /* data RW expand-down, limit 0xfff, B = 1 */
	D_USER,                   /* data RW, DPL 3 */
	D_CODE_R,                 /* code, execute/read */
	D_BASED,                  /* data RW, base = &based_target */
};

#define SEL(d) GDT_SEL(d, 0)

static const unsigned ACC = SEG_TYPE_ACCESSED;   /* keeps LAR results fixed */

/* Load DS with sel; returns the vector raised, or -1. DS is KERNEL_DS
 * again afterwards either way. */
static int try_load_ds(uint16_t sel)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("movw %0, %%ds") : : "r"(sel) : "memory");
	__asm__ volatile("movw %0, %%ds" : : "r"((uint16_t)KERNEL_DS));
	return last_fault.vector;
}

/* The same for SS; SS is put back right away. */
static int try_load_ss(uint16_t sel)
{
	uint16_t old = read_ss();
	fault_clear();
	__asm__ volatile(CATCH_ASM("movw %0, %%ss") : : "r"(sel) : "memory");
	__asm__ volatile("movw %0, %%ss" : : "r"(old));
	return last_fault.vector;
}

static void expect_fault(const char *what, int vector, int want, uint64_t want_err)
{
	if (vector != want)
		TEST_FAIL("%s: got %s, want %s", what,
			  vector < 0 ? "no exception" : vector_name(vector), vector_name(want));
	if (last_fault.error_code != want_err)
		TEST_FAIL("%s: error code 0x%lx, want 0x%lx", what,
			  (uint64_t)last_fault.error_code, want_err);
	printf("%s: %s(0x%lx)\n", what, vector_name(want), want_err);
}

/* LAR: ZF says whether the selector was valid; the result is the
 * descriptor's bytes 5-6 (masked with 0x00F0FF00 for a 32-bit operand,
 * bits 19:16 being undefined). */
static bool lar(uint16_t sel, uint32_t *rights)
{
	uint32_t r = 0;
	bool ok;
	__asm__ volatile("larl %2, %0" : "+r"(r), "=@ccz"(ok) : "r"((uint32_t)sel));
	*rights = r & 0x00f0ff00;
	return ok;
}

static bool lsl(uint16_t sel, uint32_t *limit)
{
	uint32_t l = 0;
	bool ok;
	__asm__ volatile("lsll %2, %0" : "+r"(l), "=@ccz"(ok) : "r"((uint32_t)sel));
	*limit = l;
	return ok;
}

static bool verr(uint16_t sel)
{
	bool ok;
	__asm__ volatile("verr %1" : "=@ccz"(ok) : "r"(sel));
	return ok;
}

static bool verw(uint16_t sel)
{
	bool ok;
	__asm__ volatile("verw %1" : "=@ccz"(ok) : "r"(sel));
	return ok;
}

static void test_loads(void)
{
	/* A good load, into each data segment register. */
	uint16_t sel = SEL(D_SMALL);
	__asm__ volatile("movw %0, %%es; movw %0, %%fs; movw %0, %%gs" : : "r"(sel));
	TEST_ASSERT_EQ(read_es(), sel);
	TEST_ASSERT_EQ(read_fs(), sel);
	TEST_ASSERT_EQ(read_gs(), sel);
	__asm__ volatile("movw %0, %%es; movw %0, %%fs; movw %0, %%gs" : : "r"((uint16_t)0));
	printf("data segment loads\n");

	/* Loading a descriptor sets its accessed bit (type bit 0, SDM vol. 3,
	 * 3.4.5.1), in the GDT in memory. */
	TEST_ASSERT_EQ(try_load_ds(sel), -1);
	TEST_ASSERT((gdt_get(D_SMALL) >> 40) & SEG_TYPE_ACCESSED);
	printf("accessed bit set by the load\n");

	/* A null selector may go into DS in 64-bit mode (SDM vol. 3, 5.4.1.1). */
	TEST_ASSERT_EQ(try_load_ds(0), -1);
	TEST_ASSERT_EQ(try_load_ds(3), -1);
	printf("null selector into DS\n");

	/* A readable code segment may go into DS; an execute-only one not. */
	TEST_ASSERT_EQ(try_load_ds(SEL(D_CODE_R)), -1);
	expect_fault("execute-only code into DS", try_load_ds(SEL(D_XONLY)),
		     VEC_GP, SEL(D_XONLY));

	/* Past the GDT limit: #GP with the selector (RPL cleared). */
	uint16_t beyond = GDT_SEL(GDT_ENTRIES, 3);
	expect_fault("selector past the GDT limit", try_load_ds(beyond),
		     VEC_GP, beyond & ~3u);

	/* TI = 1 with no LDT loaded: the LDT limit check fails. */
	uint16_t ldt_sel = (uint16_t)(1u << 3 | ERR_TI);
	expect_fault("LDT selector without an LDT", try_load_ds(ldt_sel),
		     VEC_GP, ldt_sel);

	/* A system descriptor (the TSS) is not a data segment. */
	expect_fault("TSS selector into DS", try_load_ds(TSS_SEL), VEC_GP, TSS_SEL);

	/* Privilege: data DPL must be >= max(CPL, RPL) (SDM vol. 3, 5.6). */
	expect_fault("RPL 3 for a DPL 0 segment", try_load_ds(KERNEL_DS | 3),
		     VEC_GP, KERNEL_DS);
	TEST_ASSERT_EQ(try_load_ds(GDT_SEL(D_USER, 3)), -1);

	/* Present is checked last, with its own exception: #NP. */
	expect_fault("not-present data segment into DS", try_load_ds(SEL(D_ABSENT)),
		     VEC_NP, SEL(D_ABSENT));

	/* SS is stricter: writable data with DPL = RPL = CPL, and a
	 * not-present stack segment is #SS, not #NP (SDM vol. 2, MOV). */
	TEST_ASSERT_EQ(try_load_ss(KERNEL_DS), -1);
	expect_fault("read-only data into SS", try_load_ss(SEL(D_RO)), VEC_GP, SEL(D_RO));
	expect_fault("DPL 3 data into SS at CPL 0", try_load_ss(GDT_SEL(D_USER, 0)),
		     VEC_GP, SEL(D_USER));
	expect_fault("not-present data into SS", try_load_ss(SEL(D_ABSENT)),
		     VEC_SS, SEL(D_ABSENT));
}

static void test_lar_lsl_verr_verw(void)
{
	uint32_t v;

	/* LAR: the access byte (P, DPL, S, type) and G, D/B, L, AVL. */
	TEST_ASSERT(lar(SEL(D_RO), &v));
	TEST_ASSERT_EQ(v, 0x00c09100);      /* G, B; P, DPL 0, S, RO + A */
	TEST_ASSERT(lar(SEL(D_XONLY), &v));
	TEST_ASSERT_EQ(v, 0x00c09900);      /* G, D; P, S, execute-only + A */
	TEST_ASSERT(lar(GDT_SEL(D_USER, 3), &v));
	TEST_ASSERT_EQ(v, 0x00c0f300);      /* DPL 3 */
	TEST_ASSERT(lar(SEL(D_ABSENT), &v)); /* LAR does not care about P */
	TEST_ASSERT_EQ(v, 0x00c01300);
	/* The busy 64-bit TSS: type 0xB, a valid type for LAR in 64-bit mode. */
	TEST_ASSERT(lar(TSS_SEL, &v));
	TEST_ASSERT_EQ(v, 0x00008b00);
	/* Invalid: null, past the limit, RPL above DPL. */
	TEST_ASSERT(!lar(0, &v));
	TEST_ASSERT(!lar(GDT_SEL(GDT_ENTRIES, 0), &v));
	TEST_ASSERT(!lar(SEL(D_RO) | 3, &v));
	printf("lar\n");

	/* LSL: the limit in bytes, scaled by G. */
	TEST_ASSERT(lsl(SEL(D_SMALL), &v));
	TEST_ASSERT_EQ(v, 0x1234);
	TEST_ASSERT(lsl(SEL(D_RO), &v));
	TEST_ASSERT_EQ(v, 0xffffffff);      /* 0xfffff pages of 4 KiB */
	TEST_ASSERT(lsl(SEL(D_DOWN), &v));
	TEST_ASSERT_EQ(v, 0xfff);           /* expand-down: still the raw limit */
	TEST_ASSERT(lsl(TSS_SEL, &v));
	TEST_ASSERT_EQ(v, sizeof(struct tss) - 1);
	TEST_ASSERT(!lsl(0, &v));
	printf("lsl\n");

	/* VERR: readable data or code; VERW: writable data only. */
	TEST_ASSERT(verr(SEL(D_SMALL)) && verw(SEL(D_SMALL)));
	TEST_ASSERT(verr(SEL(D_RO)) && !verw(SEL(D_RO)));
	TEST_ASSERT(verr(SEL(D_CODE_R)) && !verw(SEL(D_CODE_R)));
	TEST_ASSERT(!verr(SEL(D_XONLY)) && !verw(SEL(D_XONLY)));
	TEST_ASSERT(!verr(TSS_SEL) && !verw(TSS_SEL));
	TEST_ASSERT(!verr(0) && !verw(0));
	TEST_ASSERT(!verr(SEL(D_RO) | 3));  /* privilege: RPL 3 > DPL 0 */
	printf("verr verw\n");
}

/* Bases. In 64-bit mode the base of DS is ignored (SDM vol. 3, 3.2.4):
 * ds:[x] is linear x. In compatibility mode it is added. */
static volatile uint32_t based_target[2] = { 0x600df00d, 0x5ca1ab1e };
static volatile uint32_t plain_word = 0x0ddba11;

/* 32-bit code: load DS with EAX, read the dword at ds:[EBX] into ECX,
 * restore DS from EDX, far return to 64-bit mode. A fault on the read is
 * caught (catch.h), and leaves ECX alone. */
extern const char read_via_ds32[];
__asm__(".pushsection .text\n"
	".code32\n"
	"read_via_ds32:\n\t"
	"movw %ax, %ds\n\t"
	CATCH_ASM("movl (%ebx), %ecx")
	"movw %dx, %ds\n\t"
	"lret\n"
	".code64\n"
	".popsection");

/* Read the dword at sel:[offset] in compatibility mode; returns the
 * vector raised, or -1. */
static int read32(uint16_t sel, uint32_t offset, uint32_t *value)
{
	struct compat_regs r = { .eax = sel, .ebx = offset, .ecx = 0xbad, .edx = KERNEL_DS };
	fault_clear();
	compat_call(read_via_ds32, &r);
	*value = r.ecx;
	return last_fault.vector;
}

static void test_bases(void)
{
	uint32_t base = (uint32_t)(uintptr_t)based_target;
	uint16_t sel = SEL(D_BASED);

	/* 64-bit mode: offset 4 through DS = D_BASED is linear 4, not
	 * base + 4. Read plain_word's address through the based DS instead,
	 * which works only if the base is ignored. */
	uint32_t v;
	__asm__ volatile("movw %1, %%ds\n\t"
			 "movl (%2), %0\n\t"
			 "movw %3, %%ds"
			 : "=r"(v) : "r"(sel), "r"(&plain_word), "r"((uint16_t)KERNEL_DS)
			 : "memory");
	TEST_ASSERT_EQ(v, 0x0ddba11);
	printf("64-bit mode ignores the DS base\n");

	/* Compatibility mode: ds:[4] is base + 4. */
	TEST_ASSERT_EQ(read32(sel, 4, &v), -1);
	TEST_ASSERT_EQ(v, 0x5ca1ab1e);
	/* And the flat DS reads the same dword at its linear address. */
	TEST_ASSERT_EQ(read32(KERNEL_DS, base + 4, &v), -1);
	TEST_ASSERT_EQ(v, 0x5ca1ab1e);
	printf("compatibility mode adds the DS base\n");

	/* The same code with FS: in 64-bit mode the FS base still applies
	 * (it is how thread-local storage works), set through the MSR. */
	wrmsr(MSR_IA32_FS_BASE, base);
	__asm__ volatile("movl %%fs:4, %0" : "=r"(v) : : "memory");
	TEST_ASSERT_EQ(v, 0x5ca1ab1e);
	wrmsr(MSR_IA32_FS_BASE, 0);
	printf("64-bit mode applies the FS base\n");
}

/* Limits, in compatibility mode (64-bit mode does not check them for
 * DS). Every byte of an access must be within the limit, else #GP(0) (#SS
 * for SS). Expand-up: offsets 0..limit. Expand-down with B = 1: offsets
 * limit+1..0xFFFFFFFF (SDM vol. 3, 3.4.5.1 and 5.3). */
static void test_limits(void)
{
	uint32_t v;
	/* Accesses inside the limits, which every machine allows. */
	TEST_ASSERT_EQ(read32(SEL(D_SMALL), 0x1230, &v), -1);
	TEST_ASSERT_EQ(read32(SEL(D_DOWN), 0x2000, &v), -1);
	TEST_ASSERT_EQ(read32(SEL(D_DOWN), 0xfffffffc, &v), -1);
	printf("accesses within expand-up and expand-down limits\n");

	if (on_qemu_tcg()) {
		printf("# limit violations not checked: QEMU's TCG ignores segment limits\n");
		return;
	}
	TEST_ASSERT_EQ(read32(SEL(D_SMALL), 0x1232, &v), VEC_GP);   /* last byte 0x1235 */
	TEST_ASSERT_EQ(last_fault.error_code, 0);
	TEST_ASSERT_EQ(read32(SEL(D_SMALL), 0x2000, &v), VEC_GP);
	TEST_ASSERT_EQ(read32(SEL(D_DOWN), 0x800, &v), VEC_GP);
	TEST_ASSERT_EQ(read32(SEL(D_DOWN), 0xffe, &v), VEC_GP);     /* first byte 0xffe */
	TEST_ASSERT_EQ(last_fault.error_code, 0);
	printf("# limit violations: #GP(0)\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	const uint32_t page_limit = 0xfffff;
	gdt_set(D_SMALL, seg_desc(0, 0x1234, SEG_TYPE_DATA_RW | SEG_S | SEG_P | SEG_DB));
	gdt_set(D_RO, seg_desc(0, page_limit, SEG_TYPE_DATA_RO | ACC | SEG_S | SEG_P |
			       SEG_DB | SEG_G));
	gdt_set(D_XONLY, seg_desc(0, page_limit, SEG_TYPE_CODE_X | ACC | SEG_S | SEG_P |
				  SEG_DB | SEG_G));
	gdt_set(D_ABSENT, seg_desc(0, page_limit, SEG_TYPE_DATA_RW | ACC | SEG_S |
				   SEG_DB | SEG_G));
	gdt_set(D_DOWN, seg_desc(0, 0xfff, SEG_TYPE_DATA_RW_DOWN | ACC | SEG_S | SEG_P |
				 SEG_DB));
	gdt_set(D_USER, seg_desc(0, page_limit, SEG_TYPE_DATA_RW | ACC | SEG_S | SEG_DPL(3) |
				 SEG_P | SEG_DB | SEG_G));
	gdt_set(D_CODE_R, seg_desc(0, page_limit, SEG_TYPE_CODE_XR | ACC | SEG_S | SEG_P |
				   SEG_DB | SEG_G));
	gdt_set(D_BASED, seg_desc((uint32_t)(uintptr_t)based_target, page_limit,
				  SEG_TYPE_DATA_RW | ACC | SEG_S | SEG_P | SEG_DB | SEG_G));

	test_loads();
	test_lar_lsl_verr_verw();
	test_bases();
	test_limits();
	TEST_PASS();
}
