/* Writes to control registers and MSRs with their architectural checks;
 * shared by MOV CRn, WRMSR, VM entry and exit. Each raises #GP(0) on a
 * value the CPU would refuse. */
#ifndef EMU_SYSREG_H
#define EMU_SYSREG_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"
#include "emu/paging.h"

/* Control-register bits (SDM vol. 3A, 2.5) and the ones this CPU lets
 * software set: CR0_WRITABLE | ET, and CR4_SUPPORTED (plus VMXE when the
 * VT-x model is on). The VMX FIXED1 MSRs report the same sets. */
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_WRITABLE (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | \
		      CR0_NW | CR0_CD | CR0_PG)

#define CR4_TSD (1u << 2)
#define CR4_DE  (1u << 3)
#define CR4_OSXSAVE (1u << 18)
#define CR4_VMXE (1u << 13)
/* The CR4 bits this CPU implements; setting any other is #GP(0). */
#define CR4_SUPPORTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_UMIP | \
		       CR4_PCIDE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP)

void cr0_write(struct cpu *c, uint64_t v);
void cr3_write(struct cpu *c, uint64_t v);
void cr4_write(struct cpu *c, uint64_t v);
void cr8_write(struct cpu *c, uint64_t v);
uint64_t cr8_read(struct cpu *c);

/* The TSC as RDTSC/RDTSCP read it: #GP with CR4.TSD above CPL 0; in a
 * VMX guest, a VM exit or the TSC offset (emu/sys.c). */
uint64_t tsc_read(struct cpu *c, bool rdtscp);

/* MSR access as RDMSR/WRMSR do it (CPL checked by the caller). Return
 * false for an MSR that does not exist or a value it refuses (#GP(0)). */
bool msr_read(struct cpu *c, uint32_t msr, uint64_t *v);
bool msr_write(struct cpu *c, uint32_t msr, uint64_t v);

/* MSR numbers. */
#define MSR_TSC              0x10
#define MSR_APIC_BASE        0x1b
#define MSR_FEATURE_CONTROL  0x3a
#define MSR_BIOS_SIGN_ID     0x8b
#define MSR_MTRRCAP          0xfe
#define MSR_SYSENTER_CS      0x174
#define MSR_SYSENTER_ESP     0x175
#define MSR_SYSENTER_EIP     0x176
#define MSR_MISC_ENABLE      0x1a0
#define MISC_ENABLE_MONITOR  (1ull << 18)  /* MONITOR/MWAIT (CPUID.1:ECX[3]) */
#define MSR_PAT              0x277
#define MSR_MTRR_DEF_TYPE    0x2ff
#define MSR_TSC_DEADLINE     0x6e0
#define MSR_EFER             0xc0000080u
#define MSR_STAR             0xc0000081u
#define MSR_LSTAR            0xc0000082u
#define MSR_CSTAR            0xc0000083u
#define MSR_FMASK            0xc0000084u
#define MSR_FS_BASE          0xc0000100u
#define MSR_GS_BASE          0xc0000101u
#define MSR_KERNEL_GS_BASE   0xc0000102u
#define MSR_TSC_AUX          0xc0000103u

#define EFER_SCE (1u << 0)

#endif
