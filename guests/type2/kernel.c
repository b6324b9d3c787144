/* type2's host kernel: start-up and the end. The machine boots it; each
 * Multiboot module is a guest, and the kernel starts a VMM process for
 * each (vmm.c), and one ordinary process beside them (ticker.c):
 *
 *   nestlab run build/guests/type2/type2.elf \
 *       --module build/guests/l2/hello64.elf --module build/guests/l2/apictimer.elf
 *
 * When every process has exited, it prints how each guest ended, where
 * its VM exits were handled (in the kernel, or through its VMM) and what
 * each path cost, and its exits by reason; then it ends the machine
 * through isa-debug-exit: 0 when the guests ran (whatever they did), 1
 * when one could not be started or none could. */
#include "lib/apic.h"
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/x86.h"
#include "type2/type2.h"
#include "lib/vmx.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "type2";
const struct multiboot_info *boot_mbi;

static _Noreturn void finish(unsigned code)
{
	outb(0xf4, (uint8_t)code);
	halt_forever();
}

/* Every process has exited (proc.c found nothing left to run). */
_Noreturn void kernel_finish(void)
{
	bool started = true;
	apic_timer_stop();
	printf("\ntype2: all processes have exited\n");
	for (struct proc *p = procs; p < procs + MAX_PROCS; p++) {
		if (p->state == PROC_EXITED && p->vm < 0 && p->code == VMM_NO_START) {
			printf("  %-10s could not start its guest: %s\n", p->name, p->why);
			started = false;
		}
	}
	kvm_summary();
	printf("  the kernel's timer ticked %llu times; it waited %llu us with nothing to run\n",
	       (unsigned long long)host_ticks, (unsigned long long)(host_idle / 1000));
	vmx_off();
	finish(started ? 0 : 1);
}

void kmain(struct multiboot_info *mbi)
{
	printf("type2: a host kernel with a hypervisor module; each Multiboot module is a guest, "
	       "run by a VMM process\n");
	if (!vm_modules_ok("type2", mbi, MAX_VMS))
		finish(1);
	if (!vm_caps_ok("type2"))
		finish(1);
	vmx_on();
	boot_mbi = mbi;
	kvm_count = mbi->mods_count;
	syscall_init();
	const struct multiboot_module *mods = mb_ptr(mbi->mods_addr);
	for (unsigned k = 0; k < mbi->mods_count; k++) {
		char name[VM_NAME_SIZE];
		vm_module_name(mods, k, name, sizeof name);
		struct proc *p = proc_spawn(name, vmm_main, k);
		printf("type2: process %u, %s: the VMM of guest %u\n", (unsigned)(p - procs), name, k);
	}
	struct proc *t = proc_spawn("ticker", ticker_main, 0);
	printf("type2: process %u, ticker: an ordinary process\n", (unsigned)(t - procs));
	timer_init();
	proc_start();
}
