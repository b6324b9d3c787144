/* The demo (make demo): a small kernel booted like any Multiboot image.
 * The runtime has already switched to 64-bit mode with paging; here the
 * kernel looks at its CPU, does some ordinary integer work, then takes a
 * page fault on purpose, handles it, and calls into ring 3 and back. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/work.h"
#include "lib/x86.h"

const char test_name[] = "demo";

static uint8_t sieve[100000];

static uint64_t in_ring3(uint64_t x)
{
	return x * x + 1;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	char vendor[13], brand[49];
	struct cpuid_regs r = cpuid(0, 0);
	__builtin_memcpy(vendor, &r.ebx, 4);
	__builtin_memcpy(vendor + 4, &r.edx, 4);
	__builtin_memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	for (uint32_t k = 0; k < 3; k++) {
		r = cpuid(0x80000002u + k, 0);
		__builtin_memcpy(brand + 16 * k, &r, 16);
	}
	brand[48] = 0;
	printf("nestlab demo: a small kernel in 64-bit mode, booted with Multiboot\n");
	printf("  cpu: %s, %s\n", vendor, brand);

	uint64_t t0 = rdtsc();
	unsigned p = primes_below(sieve, sizeof sieve);
	uint64_t t1 = rdtsc();
	printf("  primes below 100000: %u (%lu instructions of virtual time)\n", p, t1 - t0);
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	printf("  crc32(\"%s\") = %08x\n", fox, crc32(fox, sizeof fox - 1));

	/* Touch a page that is not mapped: the handler records the fault. */
	uint64_t va = 0x7f0000000000ull;
	uint8_t v;
	int vec = try_read8((const volatile void *)va, &v);
	printf("  read of unmapped 0x%lx: vector %d (page fault), CR2 = 0x%lx, error code 0x%lx\n",
	       va, vec, last_fault.cr2, last_fault.error_code);
	printf("  ring 3 computed 12 * 12 + 1 = %lu\n", user_call(in_ring3, 12));
	printf("  instructions so far: %lu\n", rdtsc());
	TEST_PASS();
}
