/* The legacy runtime's entry: the Multiboot header, a stack, .bss zeroed,
 * then rt_start() in 32-bit C. Unlike lib/entry.S it builds no page
 * tables and never looks at long mode: the CPU stays in the state the
 * loader left (Multiboot 3.2: protected mode, paging off, flat segments,
 * interrupts off). The image is an ELF32 linked at 1 MiB (legacy.ld). */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003     /* page-aligned modules, memory info */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	/* What the loader handed over (boot.h), before anything changes it. */
	movl	%eax, boot_state + 0
	movl	%ebx, boot_state + 4
	movl	%cr0, %eax
	movl	%eax, boot_state + 8
	movl	$boot_stack_top, %esp
	pushfl
	popl	%eax
	movl	%eax, boot_state + 12

	cld
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	xorl	%ebp, %ebp
	call	rt_start                /* never returns */
1:	cli
	hlt
	jmp	1b

	.data
	.balign 4
	.globl	boot_state
boot_state:
	.long	0, 0, 0, 0

	.bss
	.balign 16
	.space	16384
	.globl	boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
