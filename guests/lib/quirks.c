/* Recognising the reference machine (quirks.h). */
#include "lib/quirks.h"
#include "lib/string.h"
#include "lib/x86.h"

bool on_qemu_tcg(void)
{
	if (!(cpuid(1, 0).ecx & (1u << 31)))
		return false;
	struct cpuid_regs r = cpuid(0x40000000u, 0);
	char sig[12];
	memcpy(sig + 0, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	return !memcmp(sig, "TCGTCGTCGTCG", 12);
}
