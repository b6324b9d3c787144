/* The instruction-core demo: ordinary integer code, the kind a C compiler
 * makes, running on nestlab's interpreter. It prints through the 0xE9 debug
 * console and reads the time stamp counter, which counts instructions. */
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void puts_(const char *s)
{
	while (*s)
		outb(0xe9, (uint8_t)*s++);
}

static void putu(uint64_t v)
{
	char buf[24];
	int n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		outb(0xe9, (uint8_t)buf[--n]);
}

static void puthex(uint64_t v, int digits)
{
	while (digits--)
		outb(0xe9, (uint8_t)"0123456789abcdef"[(v >> (4 * digits)) & 0xf]);
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static uint8_t sieve[100000];

static unsigned primes_below(unsigned n)
{
	unsigned count = 0;
	for (unsigned i = 2; i < n; i++)
		sieve[i] = 1;
	for (unsigned i = 2; i < n; i++) {
		if (!sieve[i])
			continue;
		count++;
		for (unsigned j = 2 * i; j < n; j += i)
			sieve[j] = 0;
	}
	return count;
}

/* CRC-32 (IEEE), bit by bit: shifts, XORs and branches. */
static uint32_t crc32(const char *s)
{
	uint32_t c = 0xffffffffu;
	while (*s) {
		c ^= (uint8_t)*s++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

static uint64_t fib(unsigned n)
{
	uint64_t a = 0, b = 1;
	while (n--) {
		uint64_t t = a + b;
		a = b;
		b = t;
	}
	return a;
}

void main(void)
{
	uint32_t r[4];
	char vendor[13], brand[49];

	cpuid(0, r);
	__builtin_memcpy(vendor, &r[1], 4);
	__builtin_memcpy(vendor + 4, &r[3], 4);
	__builtin_memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	for (uint32_t k = 0; k < 3; k++) {
		cpuid(0x80000002u + k, r);
		__builtin_memcpy(brand + 16 * k, r, 16);
	}
	brand[48] = 0;
	puts_("nestlab demo: a small C program on the x86-64 interpreter\n");
	puts_("  cpu:        ");
	puts_(vendor);
	puts_(", ");
	puts_(brand);
	puts_("\n");

	uint64_t t0 = rdtsc();
	unsigned p = primes_below(100000);
	uint64_t t1 = rdtsc();
	puts_("  primes below 100000: ");
	putu(p);
	puts_("  (");
	putu(t1 - t0);
	puts_(" instructions)\n");

	puts_("  crc32(\"The quick brown fox jumps over the lazy dog\") = ");
	puthex(crc32("The quick brown fox jumps over the lazy dog"), 8);
	puts_("\n  fib(90) = ");
	putu(fib(90));
	puts_("\n  instructions so far: ");
	putu(rdtsc());
	puts_("\n");
}
