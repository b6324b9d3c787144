/* The two halves of a VM entry and exit (vmx.h, vmx_run()).
 *
 * vmx_enter() keeps the C callee-saved registers on the host stack, writes
 * HOST_RSP, loads the guest's general registers from struct vcpu_regs and
 * runs VMLAUNCH or VMRESUME. When the instruction fails (VMfailInvalid or
 * VMfailValid, SDM 30.2) it falls through: vmx_enter() returns RFLAGS as
 * the instruction left them, which is never 0 (bit 1 is always set).
 *
 * When the guest exits, the CPU loads RIP from HOST_RIP and RSP from
 * HOST_RSP (SDM 27.5.3): vmx_exit_trampoline finds the vcpu_regs pointer
 * on top of that stack, stores the guest's registers there, and returns
 * 0 from vmx_enter() as if the call had just ended. RFLAGS is 2 after an
 * exit (27.5.3), so DF = 0 as the C ABI wants. */

#define HOST_RSP 0x6c14
#define VMX_HC_DONE 0x454e4f44

/* Offsets in struct vcpu_regs. */
#define R_RAX 0
#define R_RCX 8
#define R_RDX 16
#define R_RBX 24
#define R_RBP 32
#define R_RSI 40
#define R_RDI 48
#define R_R8  56
#define R_R9  64
#define R_R10 72
#define R_R11 80
#define R_R12 88
#define R_R13 96
#define R_R14 104
#define R_R15 112

/* CF, PF, AF, ZF, SF and OF set: every VMX result clears the ones it
 * does not define (SDM 30.2), which vmx.c checks. */
	.macro	set_arith_flags
	pushfq
	orq	$0x8d5, (%rsp)
	popfq
	.endm

/* Load the guest registers from the vcpu_regs at %rdi, %rdi last. MOV
 * leaves the flags alone. */
	.macro	load_guest_regs
	movq	R_RAX(%rdi), %rax
	movq	R_RCX(%rdi), %rcx
	movq	R_RDX(%rdi), %rdx
	movq	R_RBX(%rdi), %rbx
	movq	R_RBP(%rdi), %rbp
	movq	R_RSI(%rdi), %rsi
	movq	R_R8(%rdi), %r8
	movq	R_R9(%rdi), %r9
	movq	R_R10(%rdi), %r10
	movq	R_R11(%rdi), %r11
	movq	R_R12(%rdi), %r12
	movq	R_R13(%rdi), %r13
	movq	R_R14(%rdi), %r14
	movq	R_R15(%rdi), %r15
	movq	R_RDI(%rdi), %rdi
	.endm

	.macro	pop_host_regs
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	.endm

	.text
/* uint64_t vmx_enter(struct vcpu_regs *regs, int launched) */
	.globl	vmx_enter
vmx_enter:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rdi                    /* found at HOST_RSP after the exit */
	movl	$HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jbe	.Lfailed                /* CF or ZF: report it as the entry's */
	testl	%esi, %esi
	jnz	.Lresume
	set_arith_flags
	load_guest_regs
	vmlaunch
	jmp	.Lfailed
.Lresume:
	set_arith_flags
	load_guest_regs
	vmresume
.Lfailed:
	pushfq
	popq	%rax
	addq	$8, %rsp                /* the regs pointer */
	pop_host_regs
	ret

/* HOST_RIP. RSP = HOST_RSP: the regs pointer, then the saved registers. */
	.globl	vmx_exit_trampoline
vmx_exit_trampoline:
	pushfq                          /* as the exit left it, for the tests */
	popq	vmx_exit_rflags(%rip)
	pushq	%rdi
	movq	8(%rsp), %rdi
	movq	%rax, R_RAX(%rdi)
	movq	%rcx, R_RCX(%rdi)
	movq	%rdx, R_RDX(%rdi)
	movq	%rbx, R_RBX(%rdi)
	movq	%rbp, R_RBP(%rdi)
	movq	%rsi, R_RSI(%rdi)
	movq	%r8, R_R8(%rdi)
	movq	%r9, R_R9(%rdi)
	movq	%r10, R_R10(%rdi)
	movq	%r11, R_R11(%rdi)
	movq	%r12, R_R12(%rdi)
	movq	%r13, R_R13(%rdi)
	movq	%r14, R_R14(%rdi)
	movq	%r15, R_R15(%rdi)
	popq	R_RDI(%rdi)             /* the guest's RDI, pushed above */
	addq	$8, %rsp                /* the regs pointer */
	pop_host_regs
	xorl	%eax, %eax
	ret

/* In the guest: where a guest function returns to (the top of its
 * stack). Hand the result to the host with a VMCALL (vmx_guest_done()). */
	.globl	vmx_guest_return
vmx_guest_return:
	movq	%rax, %rdi
	movl	$VMX_HC_DONE, %eax
	vmcall
	ud2                             /* the host does not resume this */

	.bss
	.balign	8
	.globl	vmx_exit_rflags
vmx_exit_rflags:
	.quad	0

	.section .note.GNU-stack, "", @progbits
