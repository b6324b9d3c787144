/* Model-specific registers (SDM vol. 4, table 2-2; vol. 2, RDMSR/WRMSR):
 * EFER, the SYSCALL MSRs, the FS and GS bases (through the MSRs and
 * through segment loads, never WRFSBASE), IA32_TSC_AUX with RDTSCP, the
 * APIC base, and #GP for MSRs that do not exist, caught through the IDT.
 *
 * QEMU 7.2's TCG raises no #GP for RDMSR/WRMSR of an unknown MSR, nor for
 * reserved bits or a non-canonical base (it reads 0 and drops the write):
 * those checks run everywhere but there (quirks.h). The #GP of RDMSR in
 * ring 3, which TCG does raise, is checked everywhere. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/quirks.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "msrs";

static void test_efer(void)
{
	uint64_t efer = rdmsr(MSR_IA32_EFER);
	/* The runtime turned on long mode (LME), the CPU reports it active
	 * (LMA), and NXE is on for the paging test. */
	TEST_ASSERT(efer & EFER_LME);
	TEST_ASSERT(efer & EFER_LMA);
	TEST_ASSERT(efer & EFER_NXE);
	/* SCE is an ordinary read/write bit. */
	wrmsr(MSR_IA32_EFER, efer | EFER_SCE);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_EFER), efer | EFER_SCE);
	wrmsr(MSR_IA32_EFER, efer & ~EFER_SCE);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_EFER), efer & ~EFER_SCE);
	printf("EFER: LME, LMA and NXE set; SCE reads back\n");

	if (!on_qemu_tcg()) {
		/* Bit 20 is reserved; LME may not change while CR0.PG = 1
		 * (SDM vol. 4, IA32_EFER; vol. 3, 9.8.5). Both #GP(0). */
		TEST_ASSERT_EQ(try_wrmsr(MSR_IA32_EFER, efer | 1ull << 20), VEC_GP);
		TEST_ASSERT_EQ(try_wrmsr(MSR_IA32_EFER, efer & ~EFER_LME), VEC_GP);
		TEST_ASSERT_EQ(rdmsr(MSR_IA32_EFER), efer);
	}
}

static void test_syscall_msrs(void)
{
	/* STAR holds two selector bases and (legacy) a 32-bit target. */
	const uint64_t star = 0x0023001012345678ull;
	wrmsr(MSR_IA32_STAR, star);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_STAR), star);
	/* LSTAR and CSTAR hold canonical addresses. */
	wrmsr(MSR_IA32_LSTAR, 0xffff800012345678ull);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_LSTAR), 0xffff800012345678ull);
	wrmsr(MSR_IA32_CSTAR, 0x00007fffdeadbeefull);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_CSTAR), 0x00007fffdeadbeefull);
	/* FMASK: the low 32 bits are a mask of RFLAGS. */
	wrmsr(MSR_IA32_FMASK, 0x47700);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_FMASK), 0x47700);
	printf("STAR, LSTAR, CSTAR, FMASK read back\n");

	if (!on_qemu_tcg())
		TEST_ASSERT_EQ(try_wrmsr(MSR_IA32_LSTAR, 0x0000800000000000ull), VEC_GP);
	wrmsr(MSR_IA32_STAR, 0);
	wrmsr(MSR_IA32_LSTAR, 0);
	wrmsr(MSR_IA32_CSTAR, 0);
	wrmsr(MSR_IA32_FMASK, 0);
}

static volatile uint64_t fs_target = 0xf5f5f5f5f5f5f5f5ull;
static volatile uint64_t gs_target = 0x6565656565656565ull;

static void test_segment_bases(void)
{
	uint64_t v;

	/* The MSRs set the full 64-bit base used by FS: and GS: accesses. */
	wrmsr(MSR_IA32_FS_BASE, (uintptr_t)&fs_target - 8);
	wrmsr(MSR_IA32_GS_BASE, (uintptr_t)&gs_target + 16);
	__asm__ volatile("movq %%fs:8, %0" : "=r"(v) : : "memory");
	TEST_ASSERT_EQ(v, fs_target);
	__asm__ volatile("movq %%gs:-16, %0" : "=r"(v) : : "memory");
	TEST_ASSERT_EQ(v, gs_target);
	/* A base above 4 GiB reads back whole (canonical, unmapped: it is
	 * not used for an access here). */
	wrmsr(MSR_IA32_FS_BASE, 0xffff888000001000ull);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_FS_BASE), 0xffff888000001000ull);
	printf("FS and GS bases through the MSRs\n");

	/* Loading FS with a selector loads the base from the descriptor:
	 * 32 bits, zero-extended (SDM vol. 3, 3.4.4). Flat data: base 0. */
	__asm__ volatile("movw %0, %%fs" : : "r"((uint16_t)KERNEL_DS));
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_FS_BASE), 0);
	__asm__ volatile("movw %0, %%fs" : : "r"((uint16_t)0));
	printf("a selector load replaces the FS base\n");

	/* SWAPGS trades GS base for KERNEL_GS_BASE. */
	wrmsr(MSR_IA32_KERNEL_GS_BASE, (uintptr_t)&fs_target);
	__asm__ volatile("swapgs" : : : "memory");
	__asm__ volatile("movq %%gs:0, %0" : "=r"(v) : : "memory");
	TEST_ASSERT_EQ(v, fs_target);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_KERNEL_GS_BASE), (uintptr_t)&gs_target + 16);
	__asm__ volatile("swapgs" : : : "memory");
	printf("swapgs\n");

	if (!on_qemu_tcg()) {
		/* The bases must be canonical. */
		TEST_ASSERT_EQ(try_wrmsr(MSR_IA32_FS_BASE, 0x0000800000000000ull), VEC_GP);
		TEST_ASSERT_EQ(try_wrmsr(MSR_IA32_GS_BASE, 0x8000000000000000ull), VEC_GP);
	}
	wrmsr(MSR_IA32_FS_BASE, 0);
	wrmsr(MSR_IA32_GS_BASE, 0);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, 0);
}

static void test_tsc_aux(void)
{
	/* RDTSCP returns the TSC and IA32_TSC_AUX in ECX (SDM vol. 2, RDTSCP).
	 * Optional: only where CPUID says so. */
	if (!cpu_has_ext(CPUID_X1_EDX_RDTSCP)) {
		printf("# no RDTSCP: TSC_AUX not tested\n");
		return;
	}
	wrmsr(MSR_IA32_TSC_AUX, 0x1234abcd);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_AUX), 0x1234abcd);
	uint64_t before = rdtsc();
	uint32_t lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	TEST_ASSERT_EQ(aux, 0x1234abcd);
	TEST_ASSERT(((uint64_t)hi << 32 | lo) >= before);
	wrmsr(MSR_IA32_TSC_AUX, 0);
	printf("# rdtscp: ECX = TSC_AUX, TSC monotonic\n");
}

static void test_apic_base(void)
{
	/* IA32_APIC_BASE: the base (default 0xFEE00000, SDM vol. 3, 10.4.4),
	 * bit 8 BSP. */
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	TEST_ASSERT_EQ(base & 0xfffff000ull, 0xfee00000ull);
	TEST_ASSERT(base & (1u << 8));
	printf("APIC base 0xfee00000, BSP\n");
}

static uint64_t user_rdmsr(uint64_t msr)
{
	uint64_t v;
	return (uint64_t)(uint32_t)try_rdmsr((uint32_t)msr, &v) << 32 | last_fault.error_code;
}

static void test_gp(void)
{
	/* RDMSR outside ring 0: #GP(0), caught by the IDT. */
	uint64_t r = user_call(user_rdmsr, MSR_IA32_EFER);
	TEST_ASSERT_EQ(r, (uint64_t)VEC_GP << 32);
	printf("rdmsr in ring 3: #GP(0)\n");

	/* An MSR that does not exist: #GP(0) for RDMSR and WRMSR. */
	if (!on_qemu_tcg()) {
		static const uint32_t bogus[] = { 0x12345678, 0xc0001fff, 0x4b564d99 };
		for (unsigned i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
			uint64_t v;
			TEST_ASSERT_EQ(try_rdmsr(bogus[i], &v), VEC_GP);
			TEST_ASSERT_EQ(last_fault.error_code, 0);
			TEST_ASSERT_EQ(try_wrmsr(bogus[i], 0), VEC_GP);
		}
		printf("# unknown MSRs: #GP(0)\n");
	} else {
		printf("# unknown MSRs not checked: QEMU's TCG reads them as 0\n");
	}
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	test_efer();
	test_syscall_msrs();
	test_segment_bases();
	test_tsc_aux();
	test_apic_base();
	test_gp();
	TEST_PASS();
}
