/* The test protocol: how a test guest reports its result.
 *
 *   TEST_PASS()              prints "PASS <name>\n" on COM1, then writes
 *                            0x10 to the test port 0xF4
 *   TEST_FAIL(fmt, ...)      prints "FAIL <name>: <message> (<file>:<line>)\n",
 *                            then writes 0x11
 *   TEST_ASSERT(cond)        fails with the text of cond
 *   TEST_ASSERT_EQ(a, b)     fails with both expressions and both values
 *
 * Port 0xF4 is QEMU's isa-debug-exit (and nestlab's): a write of v ends the
 * machine with exit status (v << 1) | 1, so 33 means PASS and 35 FAIL.
 * On a machine without the device the guest halts after the line.
 * TEST_FAIL and TEST_ASSERT work in ring 3 as well.
 *
 * <name> is the test_name[] the test defines. Everything a test prints
 * must be the same on every run and on every correct machine: no time
 * stamps, and no addresses that the loader chooses. A line that starts
 * with "# " is informational (a detail of the CPU model, say) and is left
 * out when outputs are compared. */
#ifndef GUESTS_LIB_TEST_H
#define GUESTS_LIB_TEST_H

#include <stdint.h>

#define TEST_PORT 0xf4
#define TEST_PORT_PASS 0x10
#define TEST_PORT_FAIL 0x11

extern const char test_name[];

/* Called by the runtime before kmain(). */
void test_init(void);

_Noreturn void test_pass(void);
_Noreturn void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The file name without its directories, so that the message does not
 * depend on where the build ran. */
#ifdef __FILE_NAME__
#define TEST_FILE __FILE_NAME__
#else
#define TEST_FILE __FILE__
#endif

#define TEST_PASS() test_pass()
#define TEST_FAIL(...) test_fail(TEST_FILE, __LINE__, __VA_ARGS__)

#define TEST_ASSERT(cond)                                               \
	do {                                                            \
		if (!(cond))                                            \
			TEST_FAIL("assertion failed: %s", #cond);       \
	} while (0)

/* Both sides are evaluated once and compared as 64-bit values. */
#define TEST_ASSERT_EQ(a, b)                                            \
	do {                                                            \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);        \
		if (a_ != b_)                                           \
			TEST_FAIL("%s == %s: 0x%lx != 0x%lx", #a, #b,   \
				  a_, b_);                              \
	} while (0)

#endif
