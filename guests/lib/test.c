/* The test protocol (test.h). */
#include <stdarg.h>

#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/x86.h"

/* Ring 3 may neither CLI nor touch the serial port, so a failure there is
 * formatted in place and handed to ring 0 through VEC_USER_FAIL, a gate
 * with DPL 3; test_init() installs its handler. */
static char user_msg[256];

static void user_fail_handler(struct trap_frame *f)
{
	cli();
	printf("FAIL %s: %s\n", test_name, (const char *)f->rdi);
	outb(TEST_PORT, TEST_PORT_FAIL);
	halt_forever();
}

void test_init(void)
{
	trap_set_handler(VEC_USER_FAIL, user_fail_handler);
	idt_set_gate(VEC_USER_FAIL, GATE_INTERRUPT, 3, 0, true);
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
