/* Catching an exception at one instruction, and carrying on after it.
 *
 * CATCH_ASM(insn) wraps one instruction in inline assembly and records its
 * address and the address just past it in the exception table (section
 * .extable). If that instruction raises an exception, trap_dispatch()
 * records it in last_fault and resumes after the instruction instead of
 * failing the test. Works in ring 3 too: the resume address is in the
 * same code. Outputs the instruction did not write keep their old values.
 *
 *     fault_clear();
 *     __asm__ volatile(CATCH_ASM("movw %0, %%ds") : : "r"(sel) : "memory");
 *     TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
 *     TEST_ASSERT_EQ(last_fault.error_code, sel);
 *
 * The labels 1 and 2 are used by the macro: do not use them in the same
 * asm statement. */
#ifndef GUESTS_LIB_CATCH_H
#define GUESTS_LIB_CATCH_H

#include <stdint.h>

#define CATCH_ASM(insn)                                  \
	"1:\n\t" insn "\n"                               \
	"2:\n\t"                                         \
	".pushsection .extable, \"a\"\n\t"               \
	".balign 8\n\t"                                  \
	".quad 1b, 2b\n\t"                               \
	".popsection\n\t"

struct extable_entry {
	uint64_t insn;      /* address of the instruction that may fault */
	uint64_t fixup;     /* where to resume */
};

/* The last exception caught through the table. vector is -1 when none. */
struct fault_record {
	int vector;
	uint64_t error_code;
	uint64_t rip;       /* the faulting instruction */
	uint64_t cr2;       /* for #PF */
	uint16_t cs;        /* the code segment it ran in (RPL = CPL) */
};
extern volatile struct fault_record last_fault;

static inline void fault_clear(void)
{
	last_fault.vector = -1;
	__asm__ volatile("" : : : "memory");
}

/* Common cases. Each returns the vector raised, or -1. */
int try_rdmsr(uint32_t msr, uint64_t *value);
int try_wrmsr(uint32_t msr, uint64_t value);
int try_read8(const volatile void *p, uint8_t *value);
int try_write8(volatile void *p, uint8_t value);
int try_exec(const void *code);   /* call code; it must end in RET */

#endif
