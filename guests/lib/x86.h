/* Single x86 instructions as inline functions: port I/O, MSRs, CPUID,
 * control registers, TLB and flags. Nothing here keeps state. */
#ifndef GUESTS_LIB_X86_H
#define GUESTS_LIB_X86_H

#include <stdbool.h>
#include <stdint.h>

/* RFLAGS bits (SDM vol. 1, 3.4.3). */
#define RFLAGS_CF   (1ul << 0)
#define RFLAGS_FIXED (1ul << 1)    /* bit 1 always reads as 1 */
#define RFLAGS_ZF   (1ul << 6)
#define RFLAGS_TF   (1ul << 8)
#define RFLAGS_IF   (1ul << 9)
#define RFLAGS_DF   (1ul << 10)
#define RFLAGS_IOPL(n) ((uint64_t)(n) << 12)
#define RFLAGS_NT   (1ul << 14)
#define RFLAGS_RF   (1ul << 16)
#define RFLAGS_VM   (1ul << 17)
#define RFLAGS_AC   (1ul << 18)

/* Control register bits (SDM vol. 3, 2.5). */
#define CR0_PE (1ul << 0)
#define CR0_WP (1ul << 16)
#define CR0_PG (1ul << 31)
#define CR4_PAE (1ul << 5)
#define CR4_PGE (1ul << 7)
#define CR4_FSGSBASE (1ul << 16)

/* Architectural MSRs (SDM vol. 4, table 2-2). */
#define MSR_IA32_TSC            0x00000010u
#define MSR_IA32_APIC_BASE      0x0000001bu
#define MSR_IA32_EFER           0xc0000080u
#define MSR_IA32_STAR           0xc0000081u
#define MSR_IA32_LSTAR          0xc0000082u
#define MSR_IA32_CSTAR          0xc0000083u
#define MSR_IA32_FMASK          0xc0000084u
#define MSR_IA32_FS_BASE        0xc0000100u
#define MSR_IA32_GS_BASE        0xc0000101u
#define MSR_IA32_KERNEL_GS_BASE 0xc0000102u
#define MSR_IA32_TSC_AUX        0xc0000103u

#define EFER_SCE (1ul << 0)   /* SYSCALL/SYSRET enable */
#define EFER_LME (1ul << 8)   /* long mode enable */
#define EFER_LMA (1ul << 10)  /* long mode active (read-only) */
#define EFER_NXE (1ul << 11)  /* execute-disable bit in page tables */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* Feature bits the runtime and the tests look at (SDM vol. 2, CPUID). */
#define CPUID_1_EDX_TSC    (1u << 4)
#define CPUID_1_EDX_MSR    (1u << 5)
#define CPUID_1_EDX_PAE    (1u << 6)
#define CPUID_1_EDX_APIC   (1u << 9)
#define CPUID_7_EBX_FSGSBASE (1u << 0)
#define CPUID_X1_EDX_SYSCALL (1u << 11)
#define CPUID_X1_EDX_NX      (1u << 20)
#define CPUID_X1_EDX_PAGE1GB (1u << 26)
#define CPUID_X1_EDX_RDTSCP  (1u << 27)
#define CPUID_X1_EDX_LM      (1u << 29)

/* True if extended leaf 0x80000001 reports the EDX bit. */
static inline bool cpu_has_ext(uint32_t edx_bit)
{
	if (cpuid(0x80000000u, 0).eax < 0x80000001u)
		return false;
	return (cpuid(0x80000001u, 0).edx & edx_bit) != 0;
}

#define DEFINE_CR(n)                                                       \
	static inline uint64_t read_cr##n(void)                            \
	{                                                                  \
		uint64_t v;                                                \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));          \
		return v;                                                  \
	}                                                                  \
	static inline void write_cr##n(uint64_t v)                         \
	{                                                                  \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void invlpg(const volatile void *va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
static inline void pause(void) { __asm__ volatile("pause" : : : "memory"); }

/* STI's one-instruction interrupt shadow makes this pair atomic: an
 * interrupt that is already pending is taken after HLT, so it wakes the
 * CPU instead of being lost before it sleeps (SDM vol. 2, STI). */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }

#define DEFINE_SREG(name)                                                  \
	static inline uint16_t read_##name(void)                           \
	{                                                                  \
		uint16_t v;                                                \
		__asm__ volatile("mov %%" #name ", %0" : "=r"(v));         \
		return v;                                                  \
	}
DEFINE_SREG(cs)
DEFINE_SREG(ds)
DEFINE_SREG(es)
DEFINE_SREG(fs)
DEFINE_SREG(gs)
DEFINE_SREG(ss)
#undef DEFINE_SREG

/* Stop for good: what a test does after reporting when nothing outside
 * ends the machine (no isa-debug-exit device). */
static inline _Noreturn void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
