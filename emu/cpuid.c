/* The CPUID model (SDM vol. 2, CPUID). Every feature bit set here is a
 * feature the interpreter implements; a bit that is clear is a feature it
 * does not, and its instructions raise #UD. docs/cpu-model.md explains. */
#include <string.h>

#include "emu/cpuid.h"

#define MAX_BASIC    0x16u
#define MAX_EXTENDED 0x80000008u

/* CPUID.1:EDX and ECX. */
#define F1_EDX_DE     (1u << 2)
#define F1_EDX_PSE    (1u << 3)
#define F1_EDX_TSC    (1u << 4)
#define F1_EDX_MSR    (1u << 5)
#define F1_EDX_PAE    (1u << 6)
#define F1_EDX_CX8    (1u << 8)
#define F1_EDX_APIC   (1u << 9)
#define F1_EDX_SEP    (1u << 11)
#define F1_EDX_MTRR   (1u << 12)
#define F1_EDX_PGE    (1u << 13)
#define F1_EDX_CMOV   (1u << 15)
#define F1_EDX_PAT    (1u << 16)
#define F1_EDX_PSE36  (1u << 17)
#define F1_ECX_MONITOR (1u << 3)
#define F1_ECX_CX16   (1u << 13)
#define F1_ECX_PCID   (1u << 17)
#define F1_ECX_X2APIC (1u << 21)
#define F1_ECX_MOVBE  (1u << 22)
#define F1_ECX_POPCNT (1u << 23)
#define F1_ECX_TSCDL  (1u << 24)
#define F1_ECX_XSAVE  (1u << 26)
/* CPUID.7.0:EBX and ECX. */
#define F7_EBX_BMI1    (1u << 3)
#define F7_EBX_SMEP    (1u << 7)
#define F7_EBX_INVPCID (1u << 10)
#define F7_EBX_SMAP    (1u << 20)
#define F7_ECX_UMIP    (1u << 2)
/* CPUID.80000001h:ECX and EDX. */
#define FX_ECX_LAHF    (1u << 0)
#define FX_ECX_LZCNT   (1u << 5)
#define FX_EDX_SYSCALL (1u << 11)
#define FX_EDX_NX      (1u << 20)
#define FX_EDX_PG1G    (1u << 26)
#define FX_EDX_RDTSCP  (1u << 27)
#define FX_EDX_LM      (1u << 29)

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
		o->ecx = F1_ECX_MONITOR | F1_ECX_CX16 | F1_ECX_PCID | F1_ECX_X2APIC | F1_ECX_MOVBE |
			 F1_ECX_POPCNT | F1_ECX_TSCDL | F1_ECX_XSAVE;
		o->edx = F1_EDX_DE | F1_EDX_PSE | F1_EDX_TSC | F1_EDX_MSR | F1_EDX_PAE |
			 F1_EDX_CX8 | F1_EDX_APIC | F1_EDX_SEP | F1_EDX_MTRR | F1_EDX_PGE |
			 F1_EDX_CMOV | F1_EDX_PAT | F1_EDX_PSE36;
		break;
	case 5:
		/* MONITOR/MWAIT: the monitored line is 64 bytes; ECX[0]: the
		 * extensions are enumerated, ECX[1]: an interrupt ends MWAIT
		 * even when masked (MWAIT ECX[0]). EDX: one C1 sub-state
		 * (hint EAX = 0); the model has one way of waiting. */
		o->eax = 64;
		o->ebx = 64;
		o->ecx = 3;
		o->edx = 1u << 4;
		break;
	case 7:
		if (subleaf == 0) {
			o->ebx = F7_EBX_BMI1 | F7_EBX_SMEP | F7_EBX_INVPCID | F7_EBX_SMAP;
			o->ecx = F7_ECX_UMIP;
		}
		break;
	case 0xd:
		/* XSAVE: the x87 component only, in a 576-byte area (legacy
		 * region and header); no XSAVEOPT/XSAVEC/XGETBV1/XSAVES. */
		if (subleaf == 0) {
			o->eax = 1;
			o->ebx = 576;
			o->ecx = 576;
		}
		break;
	case 0x15:
		/* TSC / crystal ratio 1/1 with a 1 GHz "crystal": the TSC runs
		 * at 1 GHz of virtual time, one tick per nanosecond. */
		o->eax = 1;
		o->ebx = 1;
		o->ecx = 1000000000u;
		break;
	case 0x16:
		o->eax = 1000; /* base frequency, MHz */
		o->ebx = 1000; /* maximum frequency */
		o->ecx = 1000; /* bus (reference) frequency: the APIC timer's clock */
		break;
	case 0x80000000u:
		o->eax = MAX_EXTENDED;
		break;
	case 0x80000001u:
		o->ecx = FX_ECX_LAHF | FX_ECX_LZCNT;
		o->edx = FX_EDX_SYSCALL | FX_EDX_NX | FX_EDX_PG1G | FX_EDX_RDTSCP | FX_EDX_LM;
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
