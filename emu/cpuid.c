/* The CPUID model (SDM vol. 2, CPUID). Every feature bit set here is a
 * feature the interpreter implements; a bit that is clear is a feature it
 * does not, and its instructions raise #UD. docs/cpu-model.md explains. */
#include <string.h>

#include "emu/cpuid.h"

#define MAX_BASIC    0x7u
#define MAX_EXTENDED 0x80000008u

/* CPUID.1:EDX and ECX. */
#define F1_EDX_TSC    (1u << 4)
#define F1_EDX_CX8    (1u << 8)
#define F1_EDX_CMOV   (1u << 15)
#define F1_ECX_CX16   (1u << 13)
#define F1_ECX_MOVBE  (1u << 22)
#define F1_ECX_POPCNT (1u << 23)
/* CPUID.80000001h:ECX. */
#define FX_ECX_LAHF   (1u << 0)
#define FX_ECX_LZCNT  (1u << 5)

static void put_str(uint32_t *regs, const char *s, int nregs)
{
	char buf[48] = { 0 };
	strncpy(buf, s, sizeof buf);
	memcpy(regs, buf, 4u * (unsigned)nregs);
}

void emu_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_leaf *o)
{
	memset(o, 0, sizeof *o);
	/* Leaves past the maximum answer as the highest basic leaf does. */
	if ((leaf < 0x80000000u && leaf > MAX_BASIC) ||
	    (leaf >= 0x80000000u && leaf > MAX_EXTENDED))
		leaf = MAX_BASIC;

	switch (leaf) {
	case 0: {
		uint32_t v[3];
		o->eax = MAX_BASIC;
		put_str(v, "GenuineIntel", 3);
		o->ebx = v[0];
		o->edx = v[1];
		o->ecx = v[2];
		break;
	}
	case 1:
		/* Family 6, model 0x3A, stepping 9. One logical processor,
		 * 64-byte cache lines, APIC ID 0. */
		o->eax = 0x000306a9;
		o->ebx = (1u << 16) | (8u << 8);
		o->ecx = F1_ECX_CX16 | F1_ECX_MOVBE | F1_ECX_POPCNT;
		o->edx = F1_EDX_TSC | F1_EDX_CX8 | F1_EDX_CMOV;
		break;
	case 7:
		(void)subleaf; /* subleaf 0 is the only one, and it is all zero */
		break;
	case 0x80000000u:
		o->eax = MAX_EXTENDED;
		break;
	case 0x80000001u:
		o->ecx = FX_ECX_LAHF | FX_ECX_LZCNT;
		break;
	case 0x80000002u: case 0x80000003u: case 0x80000004u: {
		uint32_t v[12];
		put_str(v, "nestlab virtual CPU", 12);
		memcpy(o, &v[4 * (leaf - 0x80000002u)], 16);
		break;
	}
	case 0x80000008u:
		o->eax = 0x3027; /* 48-bit linear, 39-bit physical addresses */
		break;
	}
}
