/* The runtime's start-up in 64-bit mode, called by entry.S. */
#include "lib/boot.h"
#include "lib/gdt.h"
#include "lib/idt.h"
#include "lib/pic.h"
#include "lib/serial.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/x86.h"

_Noreturn void rt_start(void)
{
	serial_init();
	gdt_init();
	idt_init();
	test_init();
	user_init();
	/* The PICs come out of the BIOS delivering IRQ 0-7 on vectors 8-15,
	 * where the CPU's exceptions are: move them, and mask them all. */
	pic_init(PIC_VECTOR_BASE);
	/* EFER.NXE makes bit 63 of paging entries mean execute-disable; it
	 * may only be set if the CPU has NX (SDM vol. 4, IA32_EFER). */
	if (cpu_has_ext(CPUID_X1_EDX_NX))
		wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_NXE);

	kmain((struct multiboot_info *)mb_ptr(boot_state.ebx));
	TEST_FAIL("kmain returned without TEST_PASS");
}
