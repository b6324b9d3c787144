/* The common CATCH_ASM() cases (catch.h). */
#include "lib/catch.h"

uint64_t catch_call_target;   /* see try_exec() and idt.c's fixup() */

int try_rdmsr(uint32_t msr, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;
	fault_clear();
	__asm__ volatile(CATCH_ASM("rdmsr") : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	if (last_fault.vector < 0)
		*value = (uint64_t)hi << 32 | lo;
	return last_fault.vector;
}

int try_wrmsr(uint32_t msr, uint64_t value)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("wrmsr")
			 : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
	return last_fault.vector;
}

int try_read8(const volatile void *p, uint8_t *value)
{
	uint8_t v = 0;
	fault_clear();
	__asm__ volatile(CATCH_ASM("movb (%1), %0") : "+q"(v) : "r"(p) : "memory");
	*value = v;
	return last_fault.vector;
}

int try_write8(volatile void *p, uint8_t value)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("movb %0, (%1)") : : "q"(value), "r"(p) : "memory");
	return last_fault.vector;
}

/* Call code. A fault on the very first fetch (a not-present or NX page)
 * has the callee's address as RIP, which no table entry lists; fixup()
 * recognises catch_call_target and returns to after the CALL. Faults
 * further inside the callee are not caught. The callee may clobber the
 * caller-saved registers, as any function. */
int try_exec(const void *code)
{
	fault_clear();
	catch_call_target = (uintptr_t)code;
	__asm__ volatile("call *%0"
			 : : "r"(code)
			 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "memory");
	catch_call_target = 0;
	return last_fault.vector;
}
