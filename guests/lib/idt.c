/* The IDT and the C side of every interrupt and exception. */
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/x86.h"

/* A 64-bit IDT gate descriptor (SDM vol. 3, 6.14.1). */
struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;           /* bits 2:0 */
	uint8_t type_attr;     /* type, DPL, P */
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler_t handlers[256];

extern char isr_stubs[];   /* isr.S: stub n at isr_stubs + 16 * n */
extern const struct extable_entry __extable_start[], __extable_end[];

volatile struct fault_record last_fault = { .vector = -1 };

void idt_set_gate(int vector, int type, int dpl, int ist, bool present)
{
	uintptr_t stub = (uintptr_t)(isr_stubs + 16 * vector);
	struct idt_gate *g = &idt[vector];
	g->offset_lo = (uint16_t)stub;
	g->selector = KERNEL_CS;
	g->ist = (uint8_t)ist;
	g->type_attr = (uint8_t)(type | dpl << 5 | (present ? 0x80 : 0));
	g->offset_mid = (uint16_t)(stub >> 16);
	g->offset_hi = (uint32_t)(stub >> 32);
	g->reserved = 0;
}

void trap_set_handler(int vector, trap_handler_t h)
{
	handlers[vector] = h;
}

void idt_init(void)
{
	for (int v = 0; v < 256; v++)
		idt_set_gate(v, GATE_INTERRUPT, 0, 0, true);
	/* #DF and NMI get stacks of their own, so that they are delivered
	 * even when the current stack is the problem (SDM vol. 3, 6.14.5). */
	idt_set_gate(VEC_DF, GATE_INTERRUPT, 0, IST_DOUBLE_FAULT, true);
	idt_set_gate(VEC_NMI, GATE_INTERRUPT, 0, IST_NMI, true);

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof idt - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

const char *vector_name(int vector)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "vector 9", "#TS", "#NP", "#SS", "#GP", "#PF", "vector 15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};
	if (vector >= 0 && vector < 32 && names[vector])
		return names[vector];
	return "interrupt";
}

/* An instruction listed in the exception table faulted: record it and
 * resume after it. try_exec()'s callee faulting on its first fetch is the
 * one case whose RIP is not in the table: it resumes as if the callee had
 * returned. */
extern uint64_t catch_call_target;   /* catch.c */

static bool fixup(struct trap_frame *f)
{
	if (f->vector >= 32)
		return false;
	uint64_t resume = 0;
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->insn == f->rip) {
			resume = e->fixup;
			break;
		}
	}
	if (!resume && catch_call_target && f->rip == catch_call_target) {
		/* Pop the return address CALL pushed, as RET would. */
		resume = *(uint64_t *)f->rsp;
		f->rsp += 8;
	}
	if (!resume)
		return false;
	last_fault.vector = (int)f->vector;
	last_fault.error_code = f->error_code;
	last_fault.rip = f->rip;
	last_fault.cr2 = f->vector == VEC_PF ? read_cr2() : 0;
	last_fault.cs = (uint16_t)f->cs;
	f->rip = resume;
	return true;
}

void trap_dispatch(struct trap_frame *f)
{
	if (fixup(f))
		return;
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (f->vector == VEC_PF)
		TEST_FAIL("unexpected #PF, error code 0x%lx, CR2 0x%lx, at RIP 0x%lx",
			  f->error_code, read_cr2(), f->rip);
	if (f->vector < 32)
		TEST_FAIL("unexpected %s, error code 0x%lx, at RIP 0x%lx",
			  vector_name((int)f->vector), f->error_code, f->rip);
	TEST_FAIL("unexpected interrupt, vector 0x%lx, at RIP 0x%lx", f->vector, f->rip);
}
