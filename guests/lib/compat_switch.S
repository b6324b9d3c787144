/* compat_call() (compat.h): 64-bit mode -> compatibility mode -> back. */
#define KERNEL_CS   0x08
#define KERNEL_DS   0x10
#define KERNEL_CS32 0x40

	.text
/* void compat_call(const void *fn32, struct compat_regs *r)
 * rdi = fn32, rsi = r. */
	.globl	compat_call
compat_call:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rsi                    /* r, for the way back */

	/* What fn32's 32-bit LRET pops: EIP, then CS, 4 bytes each. */
	subq	$8, %rsp
	leaq	back(%rip), %rax
	movl	%eax, (%rsp)
	movl	$KERNEL_CS, 4(%rsp)

	/* What our 64-bit LRETQ pops to get there: RIP, then CS, 8 bytes
	 * each. Loading a CS with L = 0 switches to compatibility mode. */
	pushq	$KERNEL_CS32
	pushq	%rdi
	movq	%rsi, %r8
	movl	0(%r8), %eax
	movl	4(%r8), %ebx
	movl	8(%r8), %ecx
	movl	12(%r8), %edx
	movl	16(%r8), %esi
	movl	20(%r8), %edi
	lretq

back:
	/* 64-bit mode again. The upper halves of the registers are
	 * undefined after compatibility mode (SDM vol. 1, 3.4.1.1), so use
	 * only the low 32 bits the code left. */
	movq	(%rsp), %r8
	movl	%eax, 0(%r8)
	movl	%ebx, 4(%r8)
	movl	%ecx, 8(%r8)
	movl	%edx, 12(%r8)
	movl	%esi, 16(%r8)
	movl	%edi, 20(%r8)
	movw	$KERNEL_DS, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret

	.section .note.GNU-stack, "", @progbits
