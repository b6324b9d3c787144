/* CPUID: the vendor, the signature and the features the other tests rely
 * on (SDM vol. 2, CPUID).
 *
 * Required (the runtime or a test cannot work without them): leaf 1 TSC,
 * MSR, PAE, APIC; leaf 0x80000001 SYSCALL, NX, LM. Printed with "# " (not
 * compared, they depend on the CPU model): the brand string and the
 * optional features a test uses when present (1 GiB pages, RDTSCP,
 * FSGSBASE). The signature is compared: nestlab reports the Ivy Bridge
 * signature 0x306A9, and QEMU runs with -cpu IvyBridge-v1. */
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "cpuid";

static void check_feature(const char *name, uint32_t reg, uint32_t bit)
{
	if (!(reg & bit))
		TEST_FAIL("CPUID does not report %s", name);
	printf("feature %s\n", name);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;

	/* Leaf 0: the highest basic leaf in EAX, the vendor in EBX, EDX, ECX
	 * (in that order). */
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13];
	memcpy(vendor + 0, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = '\0';
	printf("vendor %s\n", vendor);
	TEST_ASSERT(!strcmp(vendor, "GenuineIntel"));
	uint32_t max_basic = r.eax;
	TEST_ASSERT(max_basic >= 1);

	/* Leaf 1 EAX: stepping 3:0, model 7:4, family 11:8, extended model
	 * 19:16, extended family 27:20. For family 6 the displayed model is
	 * extended model << 4 | model (SDM vol. 2, figure 3-6). */
	struct cpuid_regs l1 = cpuid(1, 0);
	uint32_t family = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf;
	if (family == 6 || family == 15)
		model |= ((l1.eax >> 16) & 0xf) << 4;
	if (family == 15)
		family += (l1.eax >> 20) & 0xff;
	printf("family %u model 0x%x stepping %u\n", family, model, l1.eax & 0xf);
	TEST_ASSERT_EQ(family, 6);

	check_feature("tsc", l1.edx, CPUID_1_EDX_TSC);
	check_feature("msr", l1.edx, CPUID_1_EDX_MSR);
	check_feature("pae", l1.edx, CPUID_1_EDX_PAE);
	check_feature("apic", l1.edx, CPUID_1_EDX_APIC);

	/* The extended leaves: the maximum, then the long-mode features. */
	uint32_t max_ext = cpuid(0x80000000u, 0).eax;
	TEST_ASSERT(max_ext >= 0x80000001u);
	struct cpuid_regs x1 = cpuid(0x80000001u, 0);
	check_feature("syscall", x1.edx, CPUID_X1_EDX_SYSCALL);
	check_feature("nx", x1.edx, CPUID_X1_EDX_NX);
	check_feature("lm", x1.edx, CPUID_X1_EDX_LM);

	/* The runtime already runs in long mode, so the LM bit had better
	 * agree with EFER.LMA. */
	TEST_ASSERT(rdmsr(MSR_IA32_EFER) & EFER_LMA);

	/* CPUID.1:EBX[31:24] is the initial APIC ID; this is the only CPU. */
	TEST_ASSERT_EQ(l1.ebx >> 24, 0);

	/* A basic leaf above the maximum returns what the highest basic leaf
	 * returns, on Intel processors (SDM vol. 2, CPUID, "If a value
	 * entered for CPUID.EAX is higher than the maximum input value for
	 * basic or extended function..."). So does an extended leaf above
	 * the extended maximum. */
	struct cpuid_regs top = cpuid(max_basic, 0);
	struct cpuid_regs above = cpuid(max_basic + 1, 0);
	TEST_ASSERT(!memcmp(&top, &above, sizeof top));
	struct cpuid_regs ext_above = cpuid(max_ext + 1, 0);
	TEST_ASSERT(!memcmp(&top, &ext_above, sizeof top));
	printf("leaves above the maximum behave\n");

	/* Optional features, for information. */
	printf("# brand: ");
	if (max_ext >= 0x80000004u) {
		char brand[49];
		for (uint32_t i = 0; i < 3; i++) {
			struct cpuid_regs b = cpuid(0x80000002u + i, 0);
			memcpy(brand + 16 * i, &b, 16);
		}
		brand[48] = '\0';
		const char *p = brand;
		while (*p == ' ')
			p++;
		printf("%s", p);
	}
	printf("\n");
	printf("# 1 GiB pages: %s\n", x1.edx & CPUID_X1_EDX_PAGE1GB ? "yes" : "no");
	printf("# rdtscp: %s\n", x1.edx & CPUID_X1_EDX_RDTSCP ? "yes" : "no");
	printf("# fsgsbase: %s\n",
	       max_basic >= 7 && cpuid(7, 0).ebx & CPUID_7_EBX_FSGSBASE ? "yes" : "no");

	TEST_PASS();
}
