/* RDTSCP and IA32_TSC_AUX (SDM vol. 2, RDTSCP; vol. 3, 17.17.2): the time
 * stamp counter read together with TSC_AUX in ECX, in ring 0 and ring 3,
 * and refused in ring 3 when CR4.TSD is set. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/quirks.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "rdtscp";

#define CR4_TSD (1ul << 2)
#define TSC_AUX_VALUE 0x12345678u

struct tscp {
	uint64_t tsc;
	uint64_t rcx;    /* all of RCX, to see its upper half cleared */
};

static struct tscp rdtscp(void)
{
	uint32_t lo, hi;
	uint64_t rcx = ~0ull;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "+c"(rcx));
	return (struct tscp){ (uint64_t)hi << 32 | lo, rcx };
}

/* In ring 3: RCX from RDTSCP, or 1 << 63 | vector << 32 if it faulted. */
static uint64_t user_rdtscp(uint64_t arg)
{
	(void)arg;
	uint64_t rcx = ~0ull;
	fault_clear();
	__asm__ volatile(CATCH_ASM("rdtscp") : "+c"(rcx) : : "rax", "rdx", "memory");
	if (last_fault.vector >= 0)
		return 1ull << 63 | (uint64_t)last_fault.vector << 32 | last_fault.error_code;
	return rcx;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	if (!cpu_has_ext(CPUID_X1_EDX_RDTSCP))
		TEST_FAIL("CPUID.80000001H:EDX.RDTSCP is clear");

	/* TSC_AUX is a 32-bit value in a 64-bit MSR: bits 63:32 are
	 * reserved, so WRMSR with one of them set is #GP(0) (SDM vol. 4,
	 * table 2-2; vol. 2, WRMSR). QEMU 7.2's TCG stores any value there
	 * (one of its missing MSR checks, lib/README.md), so the #GP is not
	 * expected under TCG and the value is written again. */
	wrmsr(MSR_IA32_TSC_AUX, TSC_AUX_VALUE);
	TEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_AUX), TSC_AUX_VALUE);
	int vec = try_wrmsr(MSR_IA32_TSC_AUX, 1ull << 32);
	if (!on_qemu_tcg()) {
		TEST_ASSERT_EQ(vec, VEC_GP);
		TEST_ASSERT_EQ(last_fault.error_code, 0);
		TEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_AUX), TSC_AUX_VALUE);
	}
	wrmsr(MSR_IA32_TSC_AUX, TSC_AUX_VALUE);
	printf("IA32_TSC_AUX: 32 bits, a 1 in bits 63:32 is #GP(0)\n");

	/* RDTSCP: EDX:EAX = TSC, ECX = TSC_AUX[31:0]; in 64-bit mode the
	 * upper halves of RAX, RDX and RCX are cleared. It reads the TSC
	 * after all earlier instructions have executed, so it falls between
	 * the two RDTSCs around it. */
	uint64_t t1 = rdtsc();
	struct tscp p = rdtscp();
	uint64_t t2 = rdtsc();
	TEST_ASSERT_EQ(p.rcx, TSC_AUX_VALUE);
	TEST_ASSERT(t1 <= p.tsc && p.tsc <= t2);
	printf("rdtscp: ECX = TSC_AUX, upper half of RCX cleared, TSC in order\n");

	/* Ring 3 may use it unless CR4.TSD = 1, which makes it #GP(0), as it
	 * does RDTSC (SDM vol. 2, RDTSCP). */
	TEST_ASSERT_EQ(user_call(user_rdtscp, 0), TSC_AUX_VALUE);
	write_cr4(read_cr4() | CR4_TSD);
	TEST_ASSERT_EQ(user_call(user_rdtscp, 0), 1ull << 63 | (uint64_t)VEC_GP << 32);
	TEST_ASSERT_EQ(rdtscp().rcx, TSC_AUX_VALUE);   /* ring 0 still may */
	write_cr4(read_cr4() & ~CR4_TSD);
	printf("rdtscp in ring 3: allowed, #GP(0) with CR4.TSD=1\n");
	TEST_PASS();
}
