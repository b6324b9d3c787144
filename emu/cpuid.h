#ifndef EMU_CPUID_H
#define EMU_CPUID_H

#include <stdint.h>

struct cpuid_leaf {
	uint32_t eax, ebx, ecx, edx;
};

/* The CPUID model: what this CPU reports is exactly what it implements.
 * docs/cpu-model.md lists every leaf and bit. */
void emu_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_leaf *out);

#endif
