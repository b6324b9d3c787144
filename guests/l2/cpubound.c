/* cpubound: a guest that only computes.
 *
 * Each round fills a buffer with pseudo-random bytes and computes its
 * CRC-32, bit by bit (slow on purpose), then prints one line. There is no
 * I/O between the lines, so under a hypervisor this guest causes almost
 * no VM exits: it gives up the CPU only when the hypervisor's timer ends
 * its time slice (the VMX-preemption timer, SDM vol. 3, 25.5.1). Run two
 * of them under one hypervisor and their lines interleave. */
#include "l2/l2.h"

const char test_name[] = "cpubound";

#define ROUNDS 8
#define BUF_SIZE 16384

static uint8_t buf[BUF_SIZE];

/* A linear congruential generator (the one of the C standard's example
 * rand()): the same bytes on every machine. */
static void fill(uint32_t seed)
{
	uint32_t x = seed;
	for (int i = 0; i < BUF_SIZE; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

/* CRC-32 as zip and Ethernet compute it: reflected, polynomial
 * 0xEDB88320, starting from all ones and inverted at the end. */
static uint32_t crc32(const uint8_t *p, int n)
{
	uint32_t crc = 0xffffffffu;
	for (int i = 0; i < n; i++) {
		crc ^= p[i];
		for (int bit = 0; bit < 8; bit++) {
			if (crc & 1)
				crc = (crc >> 1) ^ 0xedb88320u;
			else
				crc >>= 1;
		}
	}
	return ~crc;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	uint32_t checksum = 0;
	for (int round = 1; round <= ROUNDS; round++) {
		fill((uint32_t)round);
		uint32_t crc = crc32(buf, BUF_SIZE);
		checksum = checksum * 31 + crc;
		printf("cpubound: round %d/%d: CRC-32 of %d bytes 0x%08x\n", round, ROUNDS,
		       BUF_SIZE, crc);
	}
	printf("cpubound: checksum 0x%08x\n", checksum);
	l2_done();
}
