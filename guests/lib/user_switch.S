/* Ring 3 and back: the assembly half of user_call() (user.h). */
#define USER_CS 0x28
#define USER_DS 0x20
#define VEC_USER_EXIT 0xf0

	.text
/* uint64_t user_call_flags(user_fn_t fn, uint64_t arg, uint64_t rflags)
 * rdi = fn, rsi = arg, rdx = rflags. */
	.globl	user_call_flags
user_call_flags:
	/* Save what the C ABI says a callee keeps, and the stack pointer
	 * user_return() comes back to. */
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	movq	%rsp, user_saved_rsp(%rip)

	/* The frame IRETQ pops: RIP, CS, RFLAGS, RSP, SS (SDM vol. 3,
	 * 6.14.2), pushed in reverse. RPL 3 in both selectors. */
	pushq	$(USER_DS | 3)
	leaq	user_stack_top(%rip), %rax
	pushq	%rax
	pushq	%rdx
	pushq	$(USER_CS | 3)
	leaq	user_trampoline(%rip), %rax
	pushq	%rax
	movq	%rdi, %rax              /* fn */
	movq	%rsi, %rdi              /* arg */
	iretq

/* Ring 3: call fn(arg), then ask ring 0 to end the call, rax = result. */
user_trampoline:
	call	*%rax
	int	$VEC_USER_EXIT
	ud2                             /* not reached */

/* Called by the VEC_USER_EXIT handler (user.c) in ring 0 with the result:
 * abandon the interrupt frame on the RSP0 stack and return from
 * user_call_flags() on the stack it was called on. */
	.globl	user_return
user_return:
	movq	user_saved_rsp(%rip), %rsp
	movq	%rdi, %rax
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret

	.bss
	.balign	8
user_saved_rsp:
	.quad	0
	.balign	16
	.space	16384
	.globl	user_stack_top
user_stack_top:

	.section .note.GNU-stack, "", @progbits
