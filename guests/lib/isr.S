/* The 256 interrupt stubs and the common entry path.
 *
 * Stub n starts at isr_stubs + 16 * n (idt.c relies on it; a stub is at
 * most 2 + 5 + 5 = 12 bytes, so 16 always holds one). It pushes a 0
 * in place of an error code for the vectors where the CPU pushes none, so
 * that every frame has the same layout (struct trap_frame, idt.h); then
 * the vector number. The CPU pushes an error code for #DF, #TS, #NP, #SS,
 * #GP, #PF, #AC, #CP, #VC and #SX (SDM vol. 3, table 6-1 and 6.13). */

	.altmacro
	.macro	isr_stub vec
	.balign	16
	.if !((\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || \
	      (\vec == 21) || (\vec == 29) || (\vec == 30))
	pushq	$0
	.endif
	pushq	$\vec
	jmp	isr_common
	.endm

	.text
	.balign	16
	.globl	isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	256
	isr_stub %vec
	.set	vec, vec + 1
	.endr

/* Save the general registers in the order of struct trap_frame, call the
 * C dispatcher with a pointer to the frame, restore, drop the vector and
 * error code, and return with IRETQ (which restores RIP, CS, RFLAGS, RSP
 * and SS from the frame, as the handler may have changed them).
 *
 * The CPU aligned RSP to 16 bytes before pushing SS (SDM vol. 3, 6.14.2);
 * 5 + 2 + 15 eight-byte slots keep the call below 16-byte aligned. */
isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	cld                     /* the C ABI wants DF = 0 */
	call	trap_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
