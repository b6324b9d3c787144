/* Compatibility mode (SDM vol. 1, 3.2.1; vol. 3, 5.2.1): 32-bit code
 * inside IA-32e mode, entered by loading a code segment with L = 0 and
 * D = 1 (a far return here) and left by a far return to a 64-bit one.
 * The same bytes decode differently (48h is DEC EAX, not REX.W), stack
 * operations are 4 bytes, PUSHA exists; interrupts and exceptions still
 * go through the 64-bit IDT and IRETQ returns to 32-bit code. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/compat.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "compat";

#define VEC_COMPAT_INT 0x60

/* The 32-bit routines; each ends in LRET (back to compat_call). Memory
 * operands are 32-bit absolute addresses: the image is below 4 GiB. */
extern const char c32_decode[], c32_stack[], c32_int[], c32_ud[], c32_efer[];
__asm__(".pushsection .text\n"
	".code32\n"
	/* 48 89 D8: in 64-bit mode MOV RAX, RBX; here DEC EAX, MOV EAX, EBX.
	 * Then 40h (INC EAX; REX in 64-bit mode) on ECX's copy. */
	"c32_decode:\n\t"
	".byte 0x48, 0x89, 0xd8\n\t"
	"movl %ecx, %edx\n\t"
	".byte 0x42\n\t"                 /* INC EDX */
	"lret\n"
	/* ECX = bytes one PUSH takes; ESI = bytes PUSHA takes; EDI = the
	 * EBX value POPA restored after EBX was clobbered. */
	"c32_stack:\n\t"
	"movl %esp, %ecx\n\t"
	"pushl $0x11223344\n\t"
	"subl %esp, %ecx\n\t"
	"popl %eax\n\t"
	"movl %esp, %ebp\n\t"
	"pushal\n\t"
	"subl %esp, %ebp\n\t"
	"movl %ebp, c32_pusha_size\n\t"
	"movl $0, %ebx\n\t"
	"popal\n\t"                       /* restores EBX, and EBP */
	"movl %ebx, %edi\n\t"
	"movl c32_pusha_size, %esi\n\t"
	"lret\n"
	/* INT to a 64-bit handler and back; the handler doubles EAX. */
	"c32_int:\n\t"
	"int $0x60\n\t"
	"lret\n"
	/* UD2 caught through the exception table, then carry on. */
	"c32_ud:\n\t"
	"movl $1, %eax\n\t"
	CATCH_ASM("ud2")
	"movl $2, %eax\n\t"
	"lret\n"
	/* RDMSR works in compatibility mode at CPL 0. */
	"c32_efer:\n\t"
	"movl $0xc0000080, %ecx\n\t"
	"rdmsr\n\t"
	"lret\n"
	".code64\n"
	".popsection");

uint32_t c32_pusha_size;
static volatile uint64_t int_cs, int_rip, int_ss;

static void compat_int_handler(struct trap_frame *f)
{
	int_cs = f->cs;
	int_rip = f->rip;
	int_ss = f->ss;
	f->rax = (uint32_t)f->rax * 2;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	struct compat_regs r;

	/* The same bytes in 64-bit mode: 48 89 D8 is MOV RAX, RBX. */
	uint64_t rax = 5, rbx = 9;
	__asm__ volatile(".byte 0x48, 0x89, 0xd8" : "+a"(rax) : "b"(rbx));
	TEST_ASSERT_EQ(rax, 9);
	r = (struct compat_regs){ .eax = 5, .ebx = 9, .ecx = 100 };
	compat_call(c32_decode, &r);
	TEST_ASSERT_EQ(r.eax, 9);      /* DEC EAX, then MOV EAX, EBX */
	TEST_ASSERT_EQ(r.edx, 101);    /* 42h is INC EDX */
	printf("48h and 42h decode as DEC and INC in compatibility mode\n");

	r = (struct compat_regs){ .ebx = 0xb0b };
	compat_call(c32_stack, &r);
	TEST_ASSERT_EQ(r.ecx, 4);
	TEST_ASSERT_EQ(r.eax, 0x11223344);
	TEST_ASSERT_EQ(r.esi, 32);
	TEST_ASSERT_EQ(r.edi, 0xb0b);
	printf("32-bit push is 4 bytes, pusha/popa work\n");
	/* PUSHA (60h) does not exist in 64-bit mode. */
	fault_clear();
	__asm__ volatile(CATCH_ASM(".byte 0x60") : : : "memory");
	TEST_ASSERT_EQ(last_fault.vector, VEC_UD);
	printf("pusha in 64-bit mode: #UD\n");

	/* IA-32e mode is still on: EFER.LMA reads 1 from 32-bit code. */
	r = (struct compat_regs){ 0 };
	compat_call(c32_efer, &r);
	TEST_ASSERT(r.eax & EFER_LMA);
	printf("EFER.LMA = 1 in compatibility mode\n");

	/* An interrupt from 32-bit code: the 64-bit IDT and a 64-bit frame
	 * with the 32-bit CS; IRETQ goes back to compatibility mode. */
	trap_set_handler(VEC_COMPAT_INT, compat_int_handler);
	r = (struct compat_regs){ .eax = 21 };
	compat_call(c32_int, &r);
	TEST_ASSERT_EQ(r.eax, 42);
	TEST_ASSERT_EQ(int_cs, KERNEL_CS32);
	TEST_ASSERT_EQ(int_ss, KERNEL_DS);
	TEST_ASSERT(int_rip > (uintptr_t)c32_int && int_rip < (uintptr_t)c32_int + 8);
	printf("INT from compatibility mode: 64-bit handler, IRETQ back\n");

	/* An exception from 32-bit code, resumed in 32-bit code. */
	r = (struct compat_regs){ 0 };
	fault_clear();
	compat_call(c32_ud, &r);
	TEST_ASSERT_EQ(last_fault.vector, VEC_UD);
	TEST_ASSERT_EQ(last_fault.cs, KERNEL_CS32);
	TEST_ASSERT_EQ(r.eax, 2);
	printf("#UD from compatibility mode, resumed there\n");

	/* Back in 64-bit mode for good: a 64-bit operation works. */
	uint64_t big = 1ull << 40;
	__asm__ volatile("shlq $1, %0" : "+r"(big));
	TEST_ASSERT_EQ(big, 1ull << 41);
	TEST_ASSERT_EQ(read_cs(), KERNEL_CS);
	TEST_PASS();
}
