/* type2: a hosted (type-2) hypervisor. The machine boots a small host
 * kernel with ring-3 processes; the hypervisor is a module of that kernel
 * with a /dev/kvm-like system-call interface, and each VM is driven by a
 * user-space VMM process, as QEMU drives KVM. Processes that have nothing
 * to do with VMs (the ticker) run beside them.
 *
 *   kernel.c   start-up: a VMM process per module, the ticker; the end
 *              and its summary
 *   proc.c     the process table, the scheduler, sleeping, the timer
 *   syscall.c  INT 0x80: write, exit, yield, sleep, module, memory, kvm
 *   kvm.c      the hypervisor module: VMs, kvm_run, the exits the kernel
 *              handles itself, and what it hands to the VMM
 *   vmm.c      ring 3: the VMM, one process per guest: devices, hypercalls
 *   ticker.c   ring 3: an ordinary process that prints now and then
 *   abi.h      what ring 3 sees: system calls, struct kvm_run
 *
 * The VMX work both hypervisors share is in guests/hvlib. */
#ifndef TYPE2_H
#define TYPE2_H

#include <stdbool.h>
#include <stdint.h>

#include "hvlib/module.h"
#include "hvlib/vm.h"
#include "lib/idt.h"
#include "lib/multiboot.h"
#include "type2/abi.h"

#define MAX_VMS 4
#define MAX_PROCS (MAX_VMS + 2)
#define USER_STACK_SIZE 16384
#define TSC_PER_MS 1000000u       /* nestlab's TSC: 1 GHz */

enum proc_state {
	PROC_FREE,
	PROC_RUNNABLE,
	PROC_SLEEPING,             /* until wake_at */
	PROC_EXITED,
};

/* A process: a function of the image run in ring 3 on a stack of its own.
 * While it does not run, its user registers are in tf, as the trap or
 * system call that left ring 3 saved them; the scheduler loads them into
 * the kernel stack's trap frame to run it again (IRETQ). */
struct proc {
	char name[VM_NAME_SIZE];
	enum proc_state state;
	struct trap_frame tf;
	uint64_t wake_at;          /* PROC_SLEEPING: the TSC value that wakes it */
	int code;                  /* PROC_EXITED: its exit code, and why */
	char why[160];
	uint64_t mem_base, mem_size;   /* RAM given by SYS_MEMORY */
	int vm;                    /* the VM it created, or -1 */
	/* Time off the CPU (not running: others ran, or it slept), so that
	 * an exit's cost counts only time spent on its behalf. */
	uint64_t off_cpu, off_since;
	uint8_t stack[USER_STACK_SIZE] __attribute__((aligned(16)));
};

extern struct proc procs[MAX_PROCS];
extern struct proc *cur;           /* the process that entered the kernel */
extern bool need_resched;          /* its time slice is over */
extern uint64_t host_ticks, host_idle;
extern const struct multiboot_info *boot_mbi;

/* kernel.c */
_Noreturn void kernel_finish(void);

/* proc.c */
struct proc *proc_spawn(const char *name, void (*fn)(uint64_t), uint64_t arg);
_Noreturn void proc_start(void);
void proc_switch(struct trap_frame *f);
void proc_sleep_until(struct trap_frame *f, uint64_t tsc);
void proc_exit(struct trap_frame *f, int code, const char *why);
void timer_init(void);

/* syscall.c */
void syscall_init(void);

/* kvm.c */
/* kvm.c: the kernel side of the SYS_KVM_* calls, named after the KVM
 * ioctls they stand for. */
int64_t kvm_ioctl_create_vm(void);
int64_t kvm_ioctl_set_memory(int64_t vm, uint64_t buf, uint64_t size);
int64_t kvm_ioctl_set_boot(int64_t vm, uint32_t entry, uint32_t info);
void kvm_ioctl_run(struct trap_frame *f, int64_t vm, struct kvm_run *run);
void kvm_summary(void);
extern unsigned kvm_count;         /* how many VMs there will be (one per module) */

/* ring 3 */
void vmm_main(uint64_t module);
void ticker_main(uint64_t arg);

#endif
