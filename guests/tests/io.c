/* Port I/O (SDM vol. 1, chapter 18): IN and OUT in their immediate and DX
 * forms, the string forms INS and OUTS with REP and both directions, and
 * the protection of ports from ring 3: IOPL, then the I/O permission
 * bitmap in the TSS (18.5). The target is the 16550's scratch register
 * (COM1 + 7 = 0x3FF), a byte of storage with no side effects. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/serial.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

const char test_name[] = "io";

#define SCRATCH (COM1 + UART_SCR)   /* 0x3FF */

static void test_in_out(void)
{
	static const uint8_t patterns[] = { 0x00, 0xff, 0x5a, 0xa5, 0x01, 0x80 };
	for (unsigned i = 0; i < sizeof patterns; i++) {
		outb(SCRATCH, patterns[i]);
		TEST_ASSERT_EQ(inb(SCRATCH), patterns[i]);
	}
	/* The immediate-port forms reach only ports 0-255; use DX here, and
	 * an immediate on the PIC's mask register (0x21) below. */
	uint8_t v;
	__asm__ volatile("outb %b0, %w1" : : "a"((uint8_t)0x3c), "d"((uint16_t)SCRATCH));
	__asm__ volatile("inb %w1, %b0" : "=a"(v) : "d"((uint16_t)SCRATCH));
	TEST_ASSERT_EQ(v, 0x3c);
	uint8_t mask;
	__asm__ volatile("inb $0x21, %0" : "=a"(mask));
	__asm__ volatile("outb %0, $0x21" : : "a"((uint8_t)0xfe));
	__asm__ volatile("inb $0x21, %0" : "=a"(v));
	__asm__ volatile("outb %0, $0x21" : : "a"(mask));
	TEST_ASSERT_EQ(v, 0xfe);
	printf("in/out: scratch register and PIC mask read back\n");
}

static void test_string_io(void)
{
	/* REP OUTSB writes each byte in turn: the last one stays. RSI moves
	 * forward, RCX counts down to 0. */
	static const char src[] = "WXYZ";
	const char *rsi = src;
	uint64_t rcx = 4;
	__asm__ volatile("cld; rep outsb"
			 : "+S"(rsi), "+c"(rcx) : "d"((uint16_t)SCRATCH) : "memory");
	TEST_ASSERT_EQ(rcx, 0);
	TEST_ASSERT_EQ(rsi, src + 4);
	TEST_ASSERT_EQ(inb(SCRATCH), 'Z');

	/* REP INSB reads the same port three times. */
	char dst[4] = { 0, 0, 0, 0 };
	char *rdi = dst;
	rcx = 3;
	__asm__ volatile("cld; rep insb"
			 : "+D"(rdi), "+c"(rcx) : "d"((uint16_t)SCRATCH) : "memory");
	TEST_ASSERT_EQ(rcx, 0);
	TEST_ASSERT_EQ(rdi, dst + 3);
	TEST_ASSERT(!memcmp(dst, "ZZZ", 4));

	/* With DF = 1 the pointer moves backwards. */
	outb(SCRATCH, 'q');
	rdi = dst + 2;
	rcx = 2;
	__asm__ volatile("std; rep insb; cld"
			 : "+D"(rdi), "+c"(rcx) : "d"((uint16_t)SCRATCH) : "memory");
	TEST_ASSERT_EQ(rdi, dst);
	TEST_ASSERT(!memcmp(dst, "Zqq", 4));
	printf("rep outsb, rep insb, both directions\n");
}

/* ---- ring 3 ---- */

/* Each returns the vector raised (or -1) in the low 32 bits; user_in also
 * the byte read, in bits 32-39. */
static uint64_t user_out(uint64_t value)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("outb %b0, %w1")
			 : : "a"((uint8_t)value), "d"((uint16_t)SCRATCH) : "memory");
	return (uint64_t)(uint32_t)last_fault.vector;
}

static uint64_t user_in(uint64_t unused)
{
	(void)unused;
	uint8_t v = 0;
	fault_clear();
	__asm__ volatile(CATCH_ASM("inb %w1, %b0")
			 : "+a"(v) : "d"((uint16_t)SCRATCH) : "memory");
	return (uint64_t)v << 32 | (uint32_t)last_fault.vector;
}

/* A 16-bit IN from 0x3FE touches ports 0x3FE and 0x3FF. */
static uint64_t user_inw(uint64_t unused)
{
	(void)unused;
	uint16_t v = 0;
	fault_clear();
	__asm__ volatile(CATCH_ASM("inw %w1, %w0")
			 : "+a"(v) : "d"((uint16_t)(SCRATCH - 1)) : "memory");
	return (uint64_t)(uint32_t)last_fault.vector;
}

static void test_ring3(void)
{
	/* CPL 3 > IOPL 0 and the bitmap denies every port (gdt_init): #GP(0). */
	TEST_ASSERT_EQ(user_call(user_out, 0x11), VEC_GP);
	TEST_ASSERT_EQ(last_fault.error_code, 0);
	TEST_ASSERT_EQ((uint32_t)user_call(user_in, 0), VEC_GP);
	printf("ring 3, IOPL 0, port denied: #GP(0)\n");

	/* Clear the port's bit in the bitmap: allowed. */
	tss_io_allow(SCRATCH, true);
	outb(SCRATCH, 0);
	TEST_ASSERT_EQ(user_call(user_out, 0x22), (uint32_t)-1);
	TEST_ASSERT_EQ(inb(SCRATCH), 0x22);
	TEST_ASSERT_EQ(user_call(user_in, 0), 0x22ull << 32 | 0xffffffffu);
	printf("ring 3, port allowed by the bitmap: in and out work\n");

	/* Every byte of a wider access must be allowed: 0x3FE is denied. */
	TEST_ASSERT_EQ(user_call(user_inw, 0), VEC_GP);
	printf("ring 3, 16-bit in across a denied port: #GP(0)\n");

	/* IOPL 3 allows every port to ring 3; the bitmap is not consulted. */
	tss_io_allow(SCRATCH, false);
	TEST_ASSERT_EQ(user_call_flags(user_out, 0x33, RFLAGS_FIXED | RFLAGS_IOPL(3)),
		       (uint32_t)-1);
	TEST_ASSERT_EQ(inb(SCRATCH), 0x33);
	printf("ring 3, IOPL 3: allowed whatever the bitmap says\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	test_in_out();
	test_string_io();
	test_ring3();
	TEST_PASS();
}
