/* Entry of a flat 64-bit guest: a stack, main(), then halt. */
	.section .text.start, "ax"
	.globl _start
_start:
	lea	stack_top(%rip), %rsp
	call	main
	cli
1:	hlt
	jmp	1b

	.section .bss
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
