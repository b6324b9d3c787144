/* The first code that runs: the Multiboot header, the 32-bit entry, the
 * identity-mapped page tables and the switch to long mode (SDM vol. 3,
 * 9.8.5 "Initializing IA-32e Mode"), then rt_start() in 64-bit C.
 *
 * The image is linked as an x86-64 ELF and converted to ELF32 with
 * `objcopy -O elf32-i386` (guests/guests.mk). A Multiboot loader reads
 * only the program headers of an ELF image, so the conversion changes no
 * byte of code; QEMU's -kernel, though, refuses an ELF64 Multiboot image
 * outright ("Cannot load x86-64 image, give a 32bit one"). The a.out
 * kludge (header flag 16) would also work, but it ties the header to file
 * offsets; the ELF32 route needs nothing but the three-word header. */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003     /* page-aligned modules, memory info */

#define PTE_P  0x001            /* present */
#define PTE_W  0x002            /* writable */
#define PTE_U  0x004            /* user-accessible */
#define PTE_PWT 0x008
#define PTE_PCD 0x010           /* with PWT: uncacheable (SDM vol. 3, 11.12.3) */
#define PTE_PS 0x080            /* a 2 MiB page in a PDE */

#define BOOT_CS 0x08            /* as in gdt.h: KERNEL_CS, KERNEL_DS */
#define BOOT_DS 0x10

/* The Multiboot header must lie, 4-byte aligned, in the first 8 KiB of
 * the file; the linker script puts this section first. */
	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	/* The loader leaves us in flat 32-bit protected mode, paging off,
	 * interrupts off, with EAX = 0x2BADB002 and EBX = the info structure
	 * (Multiboot 3.2). Keep what it handed over for the multiboot test
	 * before touching anything. boot_state lives in .data, not .bss. */
	movl	%eax, boot_state + 0
	movl	%ebx, boot_state + 4
	movl	%cr0, %eax
	movl	%eax, boot_state + 8
	/* ESP is undefined at entry (Multiboot 3.2): use our own stack even
	 * for the PUSHF that reads EFLAGS. */
	movl	$boot_stack_top, %esp
	pushfl
	popl	%eax
	movl	%eax, boot_state + 12

	/* Zero .bss ourselves: the page tables and stacks live there, and a
	 * loader that forgot would otherwise give us garbage page tables.
	 * Nothing on the stack is needed any more. */
	cld
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	/* Long mode needs CPUID.80000001H:EDX.LM[bit 29]. Without it, say so
	 * on the serial port and end the test instead of triple-faulting. */
	movl	$0x80000000, %eax
	cpuid
	cmpl	$0x80000001, %eax
	jb	no_long_mode
	movl	$0x80000001, %eax
	cpuid
	btl	$29, %edx
	jnc	no_long_mode

	/* Page tables mapping the first 4 GiB to themselves with 2 MiB pages:
	 * PML4[0] -> PDPT, PDPT[0..3] -> PD[0..3], 2048 PDEs. Every level is
	 * user-accessible so that tests can run ring-3 code straight out of
	 * the image; a real kernel would never do this. */
	movl	$boot_pdpt + (PTE_P | PTE_W | PTE_U), boot_pml4
	movl	$boot_pd + (PTE_P | PTE_W | PTE_U), %eax
	movl	$boot_pdpt, %edi
	movl	$4, %ecx
1:	movl	%eax, (%edi)
	addl	$0x1000, %eax
	addl	$8, %edi
	loop	1b

	movl	$(PTE_P | PTE_W | PTE_U | PTE_PS), %eax
	movl	$boot_pd, %edi
	movl	$2048, %ecx
2:	movl	%eax, (%edi)           /* the high half stays 0 */
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	2b

	/* The last GiB holds the local APIC, the I/O APIC and the BIOS: make
	 * it uncacheable, as device memory must be. */
	movl	$boot_pd + 3 * 0x1000, %edi
	movl	$512, %ecx
3:	orl	$(PTE_PCD | PTE_PWT), (%edi)
	addl	$8, %edi
	loop	3b

	/* The switch (SDM vol. 3, 9.8.5): CR4.PAE, CR3, EFER.LME, then
	 * CR0.PG. With paging on and LME set the CPU is in IA-32e mode
	 * (EFER.LMA = 1) but still runs this 32-bit code segment
	 * (compatibility mode) until a far jump loads a 64-bit CS. CR0.WP
	 * makes read-only pages read-only for ring 0 as well. */
	lgdt	boot_gdt_ptr
	movl	%cr4, %eax
	orl	$0x20, %eax             /* CR4.PAE */
	movl	%eax, %cr4
	movl	$boot_pml4, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx      /* IA32_EFER */
	rdmsr
	orl	$0x100, %eax            /* EFER.LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80010001, %eax       /* CR0.PG | CR0.WP | CR0.PE */
	movl	%eax, %cr0
	ljmp	$BOOT_CS, $long_mode

no_long_mode:
	movl	$no_lm_msg, %esi
4:	movb	(%esi), %bl
	testb	%bl, %bl
	jz	6f
	movw	$0x3fd, %dx             /* COM1 LSR: wait for THRE */
5:	inb	%dx, %al
	testb	$0x20, %al
	jz	5b
	movw	$0x3f8, %dx
	movb	%bl, %al
	outb	%al, %dx
	incl	%esi
	jmp	4b
6:	movb	$0x11, %al              /* the test port: FAIL */
	outb	%al, $0xf4
7:	cli
	hlt
	jmp	7b

	.code64
long_mode:
	movw	$BOOT_DS, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$boot_stack_top, %rsp
	xorl	%ebp, %ebp
	call	rt_start                /* never returns */
8:	cli
	hlt
	jmp	8b

	.section .rodata
no_lm_msg:
	.asciz	"FAIL boot: CPUID reports no long mode (entry.S)\n"

	.data
	.balign 8
/* Three descriptors are enough to get to 64-bit C; gdt.c then loads the
 * full GDT, with the same two selectors at the same places. */
boot_gdt:
	.quad	0
	.quad	0x00af9a000000ffff      /* 0x08: code, DPL 0, L=1 (64-bit) */
	.quad	0x00cf92000000ffff      /* 0x10: data, DPL 0, writable */
boot_gdt_ptr:
	.word	boot_gdt_ptr - boot_gdt - 1
	.long	boot_gdt

/* What the loader handed over; see boot.h. */
	.globl	boot_state
boot_state:
	.long	0, 0, 0, 0

	.bss
	.balign 4096
	.globl	boot_pml4
boot_pml4:
	.space	4096
boot_pdpt:
	.space	4096
boot_pd:
	.space	4 * 4096
	.balign 16
	.space	16384
	.globl	boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
