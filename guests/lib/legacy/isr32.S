/* The legacy runtime's assembly: 256 interrupt stubs with the common
 * entry path, and ring 3 and back for user_call() (rt32.h).
 *
 * Stub n starts at isr_stubs + 16 * n. It pushes a 0 where the CPU pushes
 * no error code (the CPU pushes one for #DF, #TS, #NP, #SS, #GP, #PF, #AC,
 * #CP, #VC, #SX: SDM vol. 3, table 6-1), then the vector. */

#define KERNEL_DS 0x10
#define USER_CS 0x18
#define USER_DS 0x20
#define VEC_USER_EXIT 0xf0

	.altmacro
	.macro	isr_stub vec
	.balign	16
	.if !((\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || \
	      (\vec == 21) || (\vec == 29) || (\vec == 30))
	pushl	$0
	.endif
	pushl	$\vec
	jmp	isr_common
	.endm

	.text
	.code32
	.balign	16
	.globl	isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	256
	isr_stub %vec
	.set	vec, vec + 1
	.endr

/* Build struct trap_frame (rt32.h), give C flat DS and ES whatever the
 * interrupted code had in them (a RET or IRET to ring 3 may have nulled
 * them), call trap_dispatch(frame), then undo it all and IRET, which
 * takes EIP, CS, EFLAGS (and ESP, SS for an outer ring) from the frame
 * the handler may have changed. */
isr_common:
	pushal
	pushl	%ds
	pushl	%es
	pushl	%fs
	pushl	%gs
	movl	$KERNEL_DS, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movl	%esp, %eax
	pushl	%eax
	cld
	call	trap_dispatch
	addl	$4, %esp
	popl	%gs
	popl	%fs
	popl	%es
	popl	%ds
	popal
	addl	$8, %esp                /* vector and error code */
	iretl

/* uint32_t user_call_flags(user_fn_t fn, uint32_t arg, uint32_t eflags) */
	.globl	user_call_flags
user_call_flags:
	pushl	%ebx
	pushl	%ebp
	pushl	%esi
	pushl	%edi
	pushfl
	movl	%esp, user_saved_esp
	movl	24(%esp), %eax          /* fn */
	movl	28(%esp), %ecx          /* arg */
	movl	32(%esp), %edx          /* eflags */
	/* Data segments ring 3 may use: IRET to an outer ring would null a
	 * DS or ES with DPL 0 (SDM vol. 2, IRET). */
	movl	$(USER_DS | 3), %ebx
	movw	%bx, %ds
	movw	%bx, %es
	/* The frame IRET pops for a return to an outer ring: EIP, CS,
	 * EFLAGS, ESP, SS (SDM vol. 3, 6.12.1), pushed in reverse. */
	pushl	$(USER_DS | 3)
	pushl	$user_stack_top
	pushl	%edx
	pushl	$(USER_CS | 3)
	pushl	$user_trampoline
	iretl

/* Ring 3: fn(arg), then INT VEC_USER_EXIT with the result in EAX. */
user_trampoline:
	pushl	%ecx
	call	*%eax
	int	$VEC_USER_EXIT
	ud2                             /* not reached */

/* Called by the VEC_USER_EXIT handler (rt32.c) in ring 0: leave the
 * interrupt frame behind and return from user_call_flags(). */
	.globl	user_return
user_return:
	movl	4(%esp), %eax
	movl	user_saved_esp, %esp
	popfl
	popl	%edi
	popl	%esi
	popl	%ebp
	popl	%ebx
	ret

	.bss
	.balign	4
user_saved_esp:
	.long	0
	.balign	16
	.space	16384
	.globl	user_stack_top
user_stack_top:

	.section .note.GNU-stack, "", @progbits
