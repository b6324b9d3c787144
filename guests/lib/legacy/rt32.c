/* The legacy runtime in C (rt32.h): GDT, TSS and IDT for 32-bit protected
 * mode, trap dispatch with the exception table, the test protocol, and
 * rt_start(), which entry32.S calls. */
#include <stdarg.h>
#include <stddef.h>

#include "lib/legacy/rt32.h"
#include "lib/pic.h"
#include "lib/printf.h"
#include "lib/serial.h"
#include "lib/string.h"

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static uint64_t idt[256] __attribute__((aligned(16)));
static trap_handler_t handlers[256];
static uint8_t ring0_stack[16384] __attribute__((aligned(16)));
struct tss32 tss __attribute__((aligned(16)));
volatile struct fault_record last_fault = { .vector = -1 };

extern char isr_stubs[];   /* isr32.S: stub n at isr_stubs + 16 * n */
extern const struct extable_entry __extable_start[], __extable_end[];
_Noreturn void user_return(uint32_t result);   /* isr32.S */

/* ---- descriptors ---- */

uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access_flags)
{
	uint64_t d = 0;
	d |= limit & 0xffff;
	d |= (uint64_t)(base & 0xffffff) << 16;
	d |= (uint64_t)(access_flags & 0xff) << 40;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;
	d |= (uint64_t)((access_flags >> 12) & 0xf) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

void gdt_set(int i, uint64_t desc)
{
	gdt[i] = desc;
}

uint64_t gdt_get(int i)
{
	return gdt[i];
}

uint64_t gate_desc(uint16_t sel, uint32_t offset, unsigned type, unsigned dpl,
		   unsigned params)
{
	return (offset & 0xffff) | (uint64_t)sel << 16 | (uint64_t)(params & 0x1f) << 32 |
	       (uint64_t)(type | dpl << 5 | 0x80) << 40 | (uint64_t)(offset >> 16) << 48;
}

void idt_set_raw(int vector, uint64_t desc)
{
	idt[vector] = desc;
}

void idt_set_gate(int vector, int type, int dpl)
{
	idt[vector] = gate_desc(KERNEL_CS, (uintptr_t)(isr_stubs + 16 * vector),
				(unsigned)type, (unsigned)dpl, 0);
}

void trap_set_handler(int vector, trap_handler_t h)
{
	handlers[vector] = h;
}

static void gdt_init(void)
{
	const uint32_t flat = 0xfffff;
	const unsigned attr = SEG_S | SEG_P | SEG_DB | SEG_G;
	gdt[KERNEL_CS >> 3] = seg_desc(0, flat, SEG_TYPE_CODE_XR | SEG_DPL(0) | attr);
	gdt[KERNEL_DS >> 3] = seg_desc(0, flat, SEG_TYPE_DATA_RW | SEG_DPL(0) | attr);
	gdt[USER_CS >> 3] = seg_desc(0, flat, SEG_TYPE_CODE_XR | SEG_DPL(3) | attr);
	gdt[USER_DS >> 3] = seg_desc(0, flat, SEG_TYPE_DATA_RW | SEG_DPL(3) | attr);

	tss.ss0 = KERNEL_DS;
	tss.esp0 = (uintptr_t)(ring0_stack + sizeof ring0_stack);
	tss.iomap_base = sizeof tss;   /* past the limit: no bitmap */
	/* Type 9: an available 32-bit TSS (SDM vol. 3, 7.2.2). */
	gdt[TSS_SEL >> 3] = seg_desc((uintptr_t)&tss, sizeof tss - 1, 0x9 | SEG_P);

	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) gdtr = { sizeof gdt - 1, (uintptr_t)gdt };
	/* The loader's CS and DS selectors index its own GDT: reload them
	 * all, CS with a far jump. LDTR is made null (see lib/gdt.c). */
	__asm__ volatile("lgdt %0\n\t"
			 "ljmpl %1, $1f\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 "movw %w3, %%fs\n\t"
			 "movw %w3, %%gs\n\t"
			 "lldt %w3\n\t"
			 "ltr %w4"
			 : : "m"(gdtr), "i"(KERNEL_CS), "r"(KERNEL_DS), "r"(0), "r"(TSS_SEL)
			 : "memory");
}

static void idt_init(void)
{
	for (int v = 0; v < 256; v++)
		idt_set_gate(v, GATE_INTERRUPT, 0);
	struct {
		uint16_t limit;
		uint32_t base;
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

/* ---- dispatch (as lib/idt.c) ---- */

/* try_exec(): the callee, and where to resume if its first fetch faults. */
static uint32_t catch_call_target, catch_call_resume;

static bool fixup(struct trap_frame *f)
{
	if (f->vector >= 32)
		return false;
	uint32_t resume = 0;
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->insn == f->eip) {
			resume = e->fixup;
			break;
		}
	}
	if (!resume && catch_call_target && f->eip == catch_call_target)
		resume = catch_call_resume;
	if (!resume)
		return false;
	last_fault.vector = (int)f->vector;
	last_fault.error_code = f->error_code;
	last_fault.eip = f->eip;
	last_fault.cr2 = f->vector == VEC_PF ? read_cr2_32() : 0;
	last_fault.cs = (uint16_t)f->cs;
	f->eip = resume;
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
		TEST_FAIL("unexpected #PF, error code 0x%x, CR2 0x%x, at EIP 0x%x",
			  f->error_code, read_cr2_32(), f->eip);
	if (f->vector < 32)
		TEST_FAIL("unexpected %s, error code 0x%x, at EIP 0x%x",
			  vector_name((int)f->vector), f->error_code, f->eip);
	TEST_FAIL("unexpected interrupt, vector 0x%x, at EIP 0x%x", f->vector, f->eip);
}

/* ---- the common CATCH_ASM() cases ---- */

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

/* A fault on the callee's first fetch resumes after the CALL with the
 * return address still on the stack; ESI, which the callee and the
 * exception path both preserve, puts ESP back. */
int try_exec(const void *code)
{
	fault_clear();
	catch_call_target = (uintptr_t)code;
	__asm__ volatile("movl $1f, %0\n\t"
			 "movl %%esp, %%esi\n\t"
			 "call *%1\n"
			 "1:\n\t"
			 "movl %%esi, %%esp"
			 : "=m"(catch_call_resume)
			 : "r"(code)
			 : "eax", "ecx", "edx", "esi", "memory");
	catch_call_target = 0;
	return last_fault.vector;
}

/* ---- the test protocol (test.h; as lib/test.c) ---- */

static char user_msg[256];

static void user_fail_handler(struct trap_frame *f)
{
	cli();
	printf("FAIL %s: %s\n", test_name, (const char *)f->edi);
	outb(TEST_PORT, TEST_PORT_FAIL);
	halt_forever();
}

_Noreturn void test_pass(void)
{
	cli();
	printf("PASS %s\n", test_name);
	outb(TEST_PORT, TEST_PORT_PASS);
	halt_forever();
}

_Noreturn void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	if (read_cs() & 3) {
		/* Ring 3 has no ports: format here, print in ring 0. */
		int n;
		va_start(ap, fmt);
		n = vsnprintf(user_msg, sizeof user_msg, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof user_msg)
			snprintf(user_msg + n, sizeof user_msg - (size_t)n, " (%s:%d)", file, line);
		__asm__ volatile("int %0" : : "i"(VEC_USER_FAIL), "D"(user_msg) : "memory");
		for (;;)
			;
	}
	cli();
	printf("FAIL %s: ", test_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (%s:%d)\n", file, line);
	outb(TEST_PORT, TEST_PORT_FAIL);
	halt_forever();
}

/* ---- ring 3 ---- */

static void user_exit_handler(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		return;   /* INT from ring 0: not ours */
	user_return(f->eax);
}

uint32_t user_call(user_fn_t fn, uint32_t arg)
{
	return user_call_flags(fn, arg, RFLAGS_FIXED);
}

/* ---- start ---- */

_Noreturn void rt_start(void)
{
	serial_init();
	gdt_init();
	idt_init();
	trap_set_handler(VEC_USER_FAIL, user_fail_handler);
	idt_set_gate(VEC_USER_FAIL, GATE_INTERRUPT, 3);
	trap_set_handler(VEC_USER_EXIT, user_exit_handler);
	idt_set_gate(VEC_USER_EXIT, GATE_INTERRUPT, 3);
	/* The BIOS left IRQ 0-7 on vectors 8-15, over the exceptions. */
	pic_init(PIC_VECTOR_BASE);

	kmain((struct multiboot_info *)mb_ptr(boot_state.ebx));
	TEST_FAIL("kmain returned without TEST_PASS");
}
