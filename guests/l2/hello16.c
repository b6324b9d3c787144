// runtime: legacy
/* hello16: an L2 guest in real mode, the mode an x86 CPU starts in.
 *
 * Like every Multiboot kernel it starts in 32-bit protected mode (the
 * legacy runtime keeps it there, paging off). It then leaves protected
 * mode as the SDM says (vol. 3, 9.9.2): far jump to a 16-bit code
 * segment, load 16-bit data segments and the real-mode IVT, clear
 * CR0.PE, far jump to load a real-mode CS. From there it prints on COM1
 * with IN and OUT and ends through port 0xF4 without ever going back.
 *
 * In real mode an address is segment * 16 + offset, and segments are at
 * most 64 KiB, so the real-mode code is a blob copied below 1 MiB, to
 * RM_BASE, and runs with CS = DS = SS = RM_SEG: its labels are used as
 * offsets from its start (OFF()). guests/tests/realmode.c does the same
 * and also takes interrupts through the IVT; here interrupts stay off.
 *
 * VT-x runs real-mode guests only with "unrestricted guest" (or in
 * virtual-8086 mode, as hypervisors did before it): that is the point of
 * this guest. */
#include "l2/l2.h"
#include "lib/legacy/rt32.h"
#include "lib/legacy/realmode.h"
#include "lib/string.h"

const char test_name[] = "hello16";

#define RM_BASE  0x7000   /* linear address of the copy */
#define RM_SEG   0x0700   /* RM_BASE / 16 */
#define RM_STACK 0x1000   /* initial SP: the stack ends at RM_BASE + 0x1000 */
#define RM_CS16  0x30     /* GDT entry 6: 16-bit code, base RM_BASE, 64 KiB */
#define RM_DS16  0x38     /* GDT entry 7: 16-bit data, base RM_BASE, 64 KiB */


extern const char rm_blob[], rm_blob_end[];

__asm__(".pushsection .rodata\n"
	".code16\n"
	/* In 16-bit protected mode (CS = RM_CS16, base RM_BASE), entered by
	 * the far jump in kmain(). Steps 4 to 7 of 9.9.2: data segments with
	 * real-mode limits, the real-mode IDTR, CR0.PE = 0, a far jump. */
	"rm_blob:\n\t"
	RM_ENTER(RM_DS16, RM_SEG, RM_STACK, rm_ivtr)
	/* Real mode: the segment registers are plain numbers again. */
	"movw $" OFF(msg_hello) ", %si\n\t"
	"call rm_puts\n\t"
	/* Show that it is so: CR0.PE is 0, CS is the segment number. */
	"movw $" OFF(msg_pe) ", %si\n\t"
	"call rm_puts\n\t"
	"movl %cr0, %eax\n\t"
	"andb $1, %al\n\t"
	"addb $0x30, %al\n\t"          /* '0' or '1' */
	"call rm_putc\n\t"
	"movw $" OFF(msg_cs) ", %si\n\t"
	"call rm_puts\n\t"
	"movw %cs, %ax\n\t"
	"call rm_puthex16\n\t"
	"movw $" OFF(msg_done) ", %si\n\t"
	"call rm_puts\n\t"
	/* The end, as l2_exit(0) does it. */
	"movb $0, %al\n\t"
	"outb %al, $" XSTR(L2_EXIT_PORT) "\n"
	"1:\n\t"
	"cli\n\t"
	"hlt\n\t"
	"jmp 1b\n"

	/* Print the character in AL on COM1: wait until the line status
	 * register (0x3FD) says the transmitter is empty (bit 5), then
	 * write it to the transmit register (0x3F8), as lib/serial.c does. */
	"rm_putc:\n\t"
	"pushw %dx\n\t"
	"pushw %ax\n\t"
	"movw $0x3fd, %dx\n"
	"2:\n\t"
	"inb %dx, %al\n\t"
	"testb $0x20, %al\n\t"
	"jz 2b\n\t"
	"popw %ax\n\t"
	"movw $0x3f8, %dx\n\t"
	"outb %al, %dx\n\t"
	"popw %dx\n\t"
	"ret\n"

	/* Print the NUL-terminated string at DS:SI. */
	"rm_puts:\n\t"
	"lodsb\n\t"
	"testb %al, %al\n\t"
	"jz 3f\n\t"
	"call rm_putc\n\t"
	"jmp rm_puts\n"
	"3:\n\t"
	"ret\n"

	/* Print AX as four hexadecimal digits, then a newline. */
	"rm_puthex16:\n\t"
	"movw $4, %cx\n"
	"4:\n\t"
	"rolw $4, %ax\n\t"              /* the top digit to the bottom */
	"pushw %ax\n\t"
	"andb $0xf, %al\n\t"
	"addb $0x30, %al\n\t"           /* '0' to '9' ... */
	"cmpb $0x39, %al\n\t"
	"jbe 5f\n\t"
	"addb $0x27, %al\n"             /* ... or 'a' to 'f' */
	"5:\n\t"
	"call rm_putc\n\t"
	"popw %ax\n\t"
	"loop 4b\n\t"
	"movb $0x0a, %al\n\t"
	"call rm_putc\n\t"
	"ret\n"

	/* The real-mode IVT: 256 vectors of 4 bytes at linear 0 (20.1.4). */
	"rm_ivtr: .word 0x3ff\n\t"
	".long 0\n"
	"msg_hello: .asciz \"hello16: hello from real mode\\n\"\n"
	"msg_pe: .asciz \"hello16: CR0.PE=\"\n"
	"msg_cs: .asciz \", CS=0x\"\n"
	"msg_done: .asciz \"hello16: done\\n\"\n"
	"rm_blob_end:\n"
	".code32\n"
	".popsection");

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	printf("hello16: hello from 32-bit protected mode (CR0.PE=%d), going to real mode\n",
	       !!(read_cr0_32() & CR0_PE));

	uint32_t size = (uint32_t)(rm_blob_end - rm_blob);
	TEST_ASSERT(size < RM_STACK - 0x100);   /* room for the stack above it */
	memcpy((void *)RM_BASE, rm_blob, size);
	/* Step 3 of 9.9.2: 16-bit segments with 64 KiB limits, byte
	 * granular, based where the copy is. */
	gdt_set(RM_CS16 >> 3, seg_desc(RM_BASE, 0xffff,
				       SEG_TYPE_CODE_XR | SEG_S | SEG_DPL(0) | SEG_P));
	gdt_set(RM_DS16 >> 3, seg_desc(RM_BASE, 0xffff,
				       SEG_TYPE_DATA_RW | SEG_S | SEG_DPL(0) | SEG_P));
	/* Interrupts are off (the runtime never turned them on) and stay
	 * off: the real-mode IVT holds nothing of ours. */
	__asm__ volatile("ljmp $" XSTR(RM_CS16) ", $0");
	__builtin_unreachable();
}
