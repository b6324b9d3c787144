#include "lib/work.h"

unsigned primes_below(uint8_t *sieve, unsigned n)
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

uint32_t crc32(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}
