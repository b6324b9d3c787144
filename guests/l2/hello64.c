/* hello64: the smallest L2 guest, in 64-bit mode.
 *
 * The runtime (guests/lib/entry.S) took it from the 32-bit protected mode
 * a Multiboot loader leaves to 64-bit long mode: paging with 4-level page
 * tables (CR4.PAE, CR0.PG), long mode enabled (EFER.LME) and active
 * (EFER.LMA), a 64-bit code segment. Here it says hello and reads back
 * those bits to show where it runs. Under a hypervisor every line it
 * prints is a few dozen VM exits: one OUT per character, and the IN that
 * polls the serial port's line status before each. */
#include "l2/l2.h"

const char test_name[] = "hello64";

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	printf("hello64: hello, world\n");

	uint64_t cr0 = read_cr0(), cr4 = read_cr4(), efer = rdmsr(MSR_IA32_EFER);
	printf("hello64: CR0.PE=%d CR0.PG=%d CR4.PAE=%d EFER.LME=%d EFER.LMA=%d\n",
	       !!(cr0 & CR0_PE), !!(cr0 & CR0_PG), !!(cr4 & CR4_PAE),
	       !!(efer & EFER_LME), !!(efer & EFER_LMA));
	/* The low two bits of CS are the current privilege level. */
	printf("hello64: 64-bit long mode, ring %d\n", read_cs() & 3);
	l2_done();
}
