// runtime: legacy
/* hello32: the smallest L2 guest in 32-bit protected mode.
 *
 * It stays in the mode a Multiboot loader leaves (Multiboot 3.2):
 * protected mode (CR0.PE = 1), paging off (CR0.PG = 0), flat 32-bit
 * segments. The legacy runtime (guests/lib/legacy) only loads its own GDT
 * and IDT. With paging off, addresses are physical; under a hypervisor
 * with EPT they are guest-physical, translated once more by the EPT.
 * Running a guest with paging off needs VT-x's "unrestricted guest". */
#include "l2/l2.h"
#include "lib/legacy/rt32.h"

const char test_name[] = "hello32";

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	printf("hello32: hello, world\n");

	uint32_t cr0 = read_cr0_32();
	printf("hello32: CR0.PE=%d CR0.PG=%d\n", !!(cr0 & CR0_PE), !!(cr0 & CR0_PG));
	printf("hello32: 32-bit protected mode, paging off, ring %d\n", read_cs() & 3);
	l2_done();
}
