// runtime: legacy
/* Real-address mode (SDM vol. 3, 20.1 "Real-Address Mode" in the 8086
 * emulation chapter, and 9.9.2), from the legacy runtime: leave protected
 * mode through a 16-bit code segment, install IVT entries, take INT n, a
 * divide error, INT3 and INTO through the IVT and IRET back, use an IVT
 * moved by LIDT, then return to protected mode and check from there what
 * the real-mode code recorded.
 *
 * The real-mode code is a blob copied below 1 MiB, to RM_BASE, and runs
 * with CS = DS = SS = RM_BASE / 16: its labels are used as offsets from
 * its start (OFF()), and it keeps its results in its own copy. */
#include "lib/legacy/rt32.h"
#include "lib/legacy/realmode.h"
#include "lib/printf.h"
#include "lib/string.h"

const char test_name[] = "realmode";

#define RM_BASE   0x8000    /* linear address of the copy */
#define RM_SEG    0x0800    /* RM_BASE >> 4 */
#define RM_ALTIVT 0x1000    /* offset of the moved IVT in the segment */
#define RM_STACK  0x2000    /* initial SP: below it, up to RM_ALTIVT + 0x400 */
#define RM_CS16   0x30      /* 16-bit code, base RM_BASE, limit 64 KiB */
#define RM_DS16   0x38      /* 16-bit data, base RM_BASE, limit 64 KiB */
#define SEG_TEST  0x1234    /* a segment for the address arithmetic check */

#define VEC_RM_INT 0x42


/* What the real-mode code leaves in its copy, in this order at rm_res. */
struct rm_results {
	uint16_t cs;             /* CS after the far jump */
	uint16_t cr0_lo;         /* CR0 bits 15:0 in real mode */
	uint16_t sp_before;      /* SP before INT 42h */
	uint16_t sp_in;          /* SP in the handler */
	uint16_t ip, cs_pushed, flags_pushed, flags_in;
	uint16_t ax;             /* AX after INT 42h: the handler triples it */
	uint16_t de_ip, de_count;
	uint16_t bp_ip, of_ip;
	uint16_t alt;            /* set by the handler in the moved IVT */
} __attribute__((packed));
_Static_assert(sizeof(struct rm_results) == 28, "the offsets the assembly uses");

extern const char rm_blob[], rm_blob_end[], rm_res[];
extern const char rm_after_int[], rm_div[], rm_after_int3[], rm_after_into[];

__asm__(".pushsection .rodata\n"
	".code16\n"
	/* In 16-bit protected mode (CS = RM_CS16), entered by a far JMP.
	 * SDM vol. 3, 9.9.2, steps 4 to 7: data segments with real-mode
	 * limits, the real-mode IDTR, CR0.PE = 0, a far JMP to load CS. */
	"rm_blob:\n\t"
	RM_ENTER(RM_DS16, RM_SEG, RM_STACK, rm_ivtr)
	/* Real mode. */
	"movw %cs, " OFF(rm_res) "+0\n\t"
	"movl %cr0, %eax\n\t"
	"movw %ax, " OFF(rm_res) "+2\n\t"
	/* The IVT at linear 0: four bytes per vector, IP then CS (20.1.4). */
	"xorw %ax, %ax\n\t"
	"movw %ax, %es\n\t"
	"movw $" OFF(rm_int_handler) ", %es:" XSTR(VEC_RM_INT) "*4\n\t"
	"movw $" XSTR(RM_SEG) ", %es:" XSTR(VEC_RM_INT) "*4+2\n\t"
	"movw $" OFF(rm_de_handler) ", %es:0*4\n\t"
	"movw $" XSTR(RM_SEG) ", %es:0*4+2\n\t"
	"movw $" OFF(rm_bp_handler) ", %es:3*4\n\t"
	"movw $" XSTR(RM_SEG) ", %es:3*4+2\n\t"
	"movw $" OFF(rm_of_handler) ", %es:4*4\n\t"
	"movw $" XSTR(RM_SEG) ", %es:4*4+2\n\t"
	/* Address arithmetic: linear = segment * 16 + offset (20.1.1). */
	"movw $" XSTR(SEG_TEST) ", %ax\n\t"
	"movw %ax, %es\n\t"
	"movb $0xa7, %es:0x10\n\t"
	/* INT n with IF = 1 (every PIC line is masked). */
	"sti\n\t"
	"movw $7, %ax\n\t"
	"movw %sp, " OFF(rm_res) "+4\n\t"
	"int $" XSTR(VEC_RM_INT) "\n"
	"rm_after_int:\n\t"
	"cli\n\t"
	"movw %ax, " OFF(rm_res) "+16\n\t"
	/* DIV by zero: #DE, a fault; its handler steps over the 2-byte DIV. */
	"movw $100, %ax\n\t"
	"movb $0, %bl\n"
	"rm_div:\n\t"
	"divb %bl\n\t"
	"int3\n"
	"rm_after_int3:\n\t"
	"movb $0x7f, %al\n\t"
	"addb $1, %al\n\t"      /* OF = 1 */
	"into\n"
	"rm_after_into:\n\t"
	/* The IVT is wherever IDTR says: move it and take INT 42h again. */
	"xorw %ax, %ax\n\t"
	"movw $" OFF(rm_alt_handler) ", " XSTR(RM_ALTIVT) "+" XSTR(VEC_RM_INT) "*4\n\t"
	"movw $" XSTR(RM_SEG) ", " XSTR(RM_ALTIVT) "+" XSTR(VEC_RM_INT) "*4+2\n\t"
	"lidt " OFF(rm_altivtr) "\n\t"
	"int $" XSTR(VEC_RM_INT) "\n\t"
	/* Back to protected mode: CR0.PE = 1, then a far JMP to 32-bit
	 * code, which reloads the segments and the IDTR (9.9.1). */
	"movl %cr0, %eax\n\t"
	"orl $1, %eax\n\t"
	"movl %eax, %cr0\n\t"
	"ljmpl $" XSTR(KERNEL_CS) ", $rm_back32\n"

	/* INT 42h: note SP, the pushed IP, CS and FLAGS, and FLAGS now. */
	"rm_int_handler:\n\t"
	"movw %sp, " OFF(rm_res) "+6\n\t"
	"pushw %bp\n\t"
	"pushw %bx\n\t"
	"movw %sp, %bp\n\t"
	"movw 4(%bp), %bx\n\t"
	"movw %bx, " OFF(rm_res) "+8\n\t"
	"movw 6(%bp), %bx\n\t"
	"movw %bx, " OFF(rm_res) "+10\n\t"
	"movw 8(%bp), %bx\n\t"
	"movw %bx, " OFF(rm_res) "+12\n\t"
	"pushfw\n\t"
	"popw " OFF(rm_res) "+14\n\t"
	"movw %ax, %bx\n\t"
	"addw %bx, %ax\n\t"
	"addw %bx, %ax\n\t"
	"popw %bx\n\t"
	"popw %bp\n\t"
	"iret\n"
	/* #DE: the pushed IP is the DIV itself; resume after it. */
	"rm_de_handler:\n\t"
	"pushw %bp\n\t"
	"pushw %bx\n\t"
	"movw %sp, %bp\n\t"
	"movw 4(%bp), %bx\n\t"
	"movw %bx, " OFF(rm_res) "+18\n\t"
	"addw $2, 4(%bp)\n\t"
	"incw " OFF(rm_res) "+20\n\t"
	"popw %bx\n\t"
	"popw %bp\n\t"
	"iret\n"
	"rm_bp_handler:\n\t"
	"pushw %bp\n\t"
	"pushw %bx\n\t"
	"movw %sp, %bp\n\t"
	"movw 4(%bp), %bx\n\t"
	"movw %bx, " OFF(rm_res) "+22\n\t"
	"popw %bx\n\t"
	"popw %bp\n\t"
	"iret\n"
	"rm_of_handler:\n\t"
	"pushw %bp\n\t"
	"pushw %bx\n\t"
	"movw %sp, %bp\n\t"
	"movw 4(%bp), %bx\n\t"
	"movw %bx, " OFF(rm_res) "+24\n\t"
	"popw %bx\n\t"
	"popw %bp\n\t"
	"iret\n"
	"rm_alt_handler:\n\t"
	"movw $0xa17, " OFF(rm_res) "+26\n\t"
	"iret\n"

	"rm_ivtr: .word 0x3ff\n\t"
	".long 0\n"
	"rm_altivtr: .word 0x3ff\n\t"
	".long " XSTR(RM_BASE) "+" XSTR(RM_ALTIVT) "\n"
	"rm_res: .fill 28, 1, 0\n"
	"rm_blob_end:\n"
	".code32\n"
	".popsection\n"

	/* void realmode_run(void): far JMP into the copy in 16-bit protected
	 * mode; the copy comes back at rm_back32 in 32-bit protected mode. */
	".pushsection .text\n"
	"realmode_run:\n\t"
	"pushal\n\t"
	"movl %esp, rm_saved_esp\n\t"
	"sidt rm_saved_idtr\n\t"
	"ljmp $" XSTR(RM_CS16) ", $0\n"
	"rm_back32:\n\t"
	"movl $" XSTR(KERNEL_DS) ", %eax\n\t"
	"movw %ax, %ds\n\t"
	"movw %ax, %es\n\t"
	"movw %ax, %ss\n\t"
	"xorl %eax, %eax\n\t"
	"movw %ax, %fs\n\t"
	"movw %ax, %gs\n\t"
	"lidt rm_saved_idtr\n\t"
	"movl rm_saved_esp, %esp\n\t"
	"popal\n\t"
	"ret\n"
	".popsection\n"
	".pushsection .bss\n"
	"rm_saved_esp: .space 4\n"
	"rm_saved_idtr: .space 6\n"
	".popsection");

void realmode_run(void);

static uint16_t off(const char *label)
{
	return (uint16_t)(label - rm_blob);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	uint32_t size = (uint32_t)(rm_blob_end - rm_blob);
	TEST_ASSERT(size < RM_ALTIVT);
	memcpy((void *)RM_BASE, rm_blob, size);
	*(volatile uint8_t *)(SEG_TEST * 16 + 0x10) = 0;

	/* SDM vol. 3, 9.9.2, step 3: a code segment with a 64 KiB limit,
	 * byte granular, 16-bit; step 4: data segments likewise. */
	gdt_set(RM_CS16 >> 3, seg_desc(RM_BASE, 0xffff,
				       SEG_TYPE_CODE_XR | SEG_S | SEG_DPL(0) | SEG_P));
	gdt_set(RM_DS16 >> 3, seg_desc(RM_BASE, 0xffff,
				       SEG_TYPE_DATA_RW | SEG_S | SEG_DPL(0) | SEG_P));
	realmode_run();

	/* Back in protected mode, with its IDT: an exception is caught. */
	TEST_ASSERT(read_cr0_32() & CR0_PE);
	fault_clear();
	__asm__ volatile(CATCH_ASM("ud2") : : : "memory");
	TEST_ASSERT_EQ(last_fault.vector, VEC_UD);

	const volatile struct rm_results *r =
		(const volatile struct rm_results *)(RM_BASE + off(rm_res));
	TEST_ASSERT_EQ(r->cs, RM_SEG);
	TEST_ASSERT_EQ(r->cr0_lo & CR0_PE, 0);
	TEST_ASSERT_EQ(*(volatile uint8_t *)(SEG_TEST * 16 + 0x10), 0xa7);
	printf("real mode: CR0.PE=0, CS 0x%x, linear = segment * 16 + offset\n", r->cs);

	/* INT n in real mode pushes FLAGS, CS and IP (6 bytes), clears IF,
	 * TF and AC, and jumps through the IVT (SDM vol. 2, INT n,
	 * "REAL-ADDRESS-MODE"); IRET pops them back. */
	TEST_ASSERT_EQ(r->ax, 21);
	TEST_ASSERT_EQ((uint16_t)(r->sp_before - r->sp_in), 6);
	TEST_ASSERT_EQ(r->ip, off(rm_after_int));
	TEST_ASSERT_EQ(r->cs_pushed, RM_SEG);
	TEST_ASSERT(r->flags_pushed & RFLAGS_IF);
	TEST_ASSERT_EQ(r->flags_in & (RFLAGS_IF | RFLAGS_TF), 0);
	printf("int 0x%x through the IVT: FLAGS, CS, IP pushed, IF cleared, IRET back\n",
	       VEC_RM_INT);

	/* Exceptions use the IVT too; a fault pushes the address of the
	 * faulting instruction, a trap that of the next one (20.1.4, 6.5). */
	TEST_ASSERT_EQ(r->de_count, 1);
	TEST_ASSERT_EQ(r->de_ip, off(rm_div));
	printf("divide error: vector 0, IP of the DIV\n");
	TEST_ASSERT_EQ(r->bp_ip, off(rm_after_int3));
	TEST_ASSERT_EQ(r->of_ip, off(rm_after_into));
	printf("int3 and into: vectors 3 and 4, IP after them\n");

	/* LIDT moves the real-mode IVT (20.1.4). */
	TEST_ASSERT_EQ(r->alt, 0xa17);
	printf("an IVT moved with LIDT is used\n");
	printf("back in protected mode, its IDT in force\n");
	TEST_PASS();
}
