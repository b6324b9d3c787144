/* ioloop: port I/O in a loop.
 *
 * IN and OUT are the classic VM exits: a hypervisor that sets
 * "unconditional I/O exiting" or an I/O bitmap (SDM vol. 3, 25.1.3) sees
 * every one, and has to emulate the device behind the port. This guest
 * does ROUNDS of an OUT to port 0x80 and an IN from a port nothing
 * decodes, so under a hypervisor it causes 2 * ROUNDS exits (plus those
 * of its printing); bare, no exit at all.
 *
 * Port 0x80 is the PC's "POST code" port: firmware writes its progress
 * there, and old drivers wrote to it as a short delay. No device answers
 * EMPTY_PORT, so an IN reads all ones (the bus floats high); nestlab's
 * hypervisors answer every port they do not emulate the same way. */
#include "l2/l2.h"

const char test_name[] = "ioloop";

#define ROUNDS 1000
#define POST_PORT 0x80
#define EMPTY_PORT 0x2e8    /* COM4's place: no COM4 on these machines */

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	uint32_t all_ones = 0, checksum = 0;
	uint64_t start = rdtsc();
	for (uint32_t i = 0; i < ROUNDS; i++) {
		outb(POST_PORT, (uint8_t)i);
		uint8_t v = inb(EMPTY_PORT);
		if (v == 0xff)
			all_ones++;
		checksum = checksum * 31 + v;
	}
	uint64_t cycles = rdtsc() - start;

	printf("ioloop: %d OUTs to port 0x%x and %d INs from port 0x%x\n", ROUNDS, POST_PORT,
	       ROUNDS, EMPTY_PORT);
	printf("ioloop: %u of the INs read 0xff, checksum 0x%08x\n", all_ones, checksum);
	/* A time: different on every machine, and on every run of most. */
	printf("# ioloop: %lu TSC cycles per OUT and IN\n", cycles / ROUNDS);
	l2_done();
}
