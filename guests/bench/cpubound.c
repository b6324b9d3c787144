/* The CPU-bound benchmark guest (make bench): ordinary integer work in
 * 64-bit mode with paging on, between a "start" and an "end" line on the
 * serial port, so that the time between the two lines measures the CPU
 * and not the boot. The same image runs on nestlab and on QEMU TCG. */
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/work.h"

const char test_name[] = "cpubound";

static uint8_t sieve[1 << 20];
static uint32_t table[4096];

/* A table-driven mix of loads, stores, multiplies and branches. */
static uint32_t churn(unsigned rounds)
{
	uint32_t x = 12345;
	for (unsigned r = 0; r < rounds; r++) {
		x = x * 1103515245u + 12345u;
		uint32_t *slot = &table[(x >> 8) & 4095];
		*slot = (*slot ^ x) + (x >> 16);
		if (*slot & 1)
			x ^= *slot;
	}
	return x;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	printf("start\n");
	unsigned p = 0;
	uint32_t c = 0, h = 0;
	for (int k = 0; k < 4; k++) {
		p += primes_below(sieve, sizeof sieve);
		c ^= crc32(table, sizeof table);
		h ^= churn(2000000);
	}
	printf("end %u %08x %08x\n", p, c, h);
	TEST_PASS();
}
