/* The hypervisor module of type2's kernel: what /dev/kvm is to Linux.
 * A VMM process creates a VM, gives it its own buffer as RAM, says where
 * the guest starts, and calls kvm_run in a loop. kvm_run enters the guest
 * and handles in the kernel what KVM handles in the kernel: CPUID, the
 * CR0/CR4 bits VMX owns, MSRs, XSETBV (hvlib/exits.c), the guest's local
 * APIC and its timer, interrupt windows, HLT. It returns to the VMM, with
 * struct kvm_run filled, for what KVM returns to user space: I/O, MMIO
 * outside RAM and the APIC, hypercalls, the host's timer (so that the
 * scheduler can run others), and the end of the guest. The next kvm_run
 * completes the instruction with the VMM's answer.
 *
 * Every exit is timed from the VM exit to the next VM entry, on one of
 * two paths: in the kernel (the exit is handled and the guest entered
 * again without leaving the kernel), or through the VMM (to ring 3 and
 * back). Time the VMM's process spent off the CPU (other processes ran,
 * or it slept in HLT) is left out: a path's cost is the work done for
 * the exit. */
#include "lib/apic.h"
#include "lib/hv.h"
#include "lib/printf.h"
#include "lib/x86.h"
#include "type2/type2.h"

/* What the VMM's answer completes at the next kvm_run. */
enum pending { PENDING_NONE, PENDING_IO, PENDING_MMIO, PENDING_HYPERCALL };

struct kvm_vm {
	struct vm vm;              /* the VMX side (hvlib/vm.h) */
	struct proc *owner;        /* the VMM process that created it */
	bool ready, stopped;
	enum pending pending;
	struct mmio_insn mmio;     /* PENDING_MMIO: the decoded access */
	/* The last exit, until the next entry times it. */
	bool timing, via_user;
	uint64_t exit_at, off_at_exit;
	uint64_t kernel_exits, kernel_tsc, user_exits, user_tsc;
};

static struct kvm_vm vms[MAX_VMS];
static unsigned nvms;
unsigned kvm_count;

static struct kvm_vm *lookup(int64_t id)
{
	if (id < 0 || id >= (int64_t)nvms || vms[id].owner != cur)
		return 0;
	return &vms[id];
}

int64_t kvm_ioctl_create_vm(void)
{
	if (cur->vm >= 0 || nvms == MAX_VMS)
		return -1;
	struct kvm_vm *v = &vms[nvms];
	v->owner = cur;
	v->vm.id = nvms;
	v->vm.kind = HV_KIND_TYPE2;
	v->vm.count = kvm_count;
	v->vm.level = vm_find_level();
	cur->vm = (int)nvms;
	return nvms++;
}

/* The VMM's buffer becomes the guest's RAM: memory is identity-mapped, so
 * its address is host-physical, and the EPT (built at kvm_set_boot) maps
 * guest-physical 0 .. size to it. It must be memory SYS_MEMORY gave this
 * process, so that a VMM cannot hand its guest someone else's. */
int64_t kvm_ioctl_set_memory(int64_t id, uint64_t buf, uint64_t size)
{
	struct kvm_vm *v = lookup(id);
	if (!v || v->ready || (buf & 0xfff) || (size & 0xfff) || !size ||
	    buf < cur->mem_base || buf + size > cur->mem_base + cur->mem_size)
		return -1;
	v->vm.mem = (struct guest_ram){ (uint8_t *)(uintptr_t)buf, size };
	return 0;
}

/* The registers a Multiboot loader leaves (KVM_SET_REGS and KVM_SET_SREGS
 * in one): the VMCS and EPT are made here (hvlib/vmcs.c). */
int64_t kvm_ioctl_set_boot(int64_t id, uint32_t entry, uint32_t info)
{
	struct kvm_vm *v = lookup(id);
	if (!v || v->ready || !v->vm.mem.size)
		return -1;
	const char *why = vm_setup(&v->vm, entry, info);
	if (why) {
		printf("type2: VM %lld: %s\n", (long long)id, why);
		return -1;
	}
	v->ready = true;
	return 0;
}

/* ---- the exits kvm.c handles; the others are in hvlib/exits.c ---- */

/* The host's 1 ms tick arrived while the guest ran (acknowledged on exit,
 * 27.2.2). The time slice is over: back to user space, "interrupted", as
 * KVM_RUN returns -EINTR, so that the scheduler can run others. */
static enum vm_next on_host_tick(struct kvm_vm *v, struct kvm_run *run)
{
	(void)v;
	host_ticks++;
	apic_eoi();
	need_resched = true;
	run->exit_reason = KVM_EXIT_INTR;
	return VM_USER;
}

/* HLT: if the guest's APIC timer can wake it, its VMM sleeps in the
 * kernel until then (others run); an interrupt already waiting is taken
 * at once. Nothing that could wake it: the guest is done. */
static enum vm_next on_hlt(struct kvm_vm *v, struct kvm_run *run)
{
	(void)run;
	vm_skip(&v->vm);
	if (!(vmcs_read(GUEST_RFLAGS) & RFLAGS_IF) || !vlapic_can_wake(&v->vm))
		return vm_fail(&v->vm, "halted (HLT with nothing that could wake it)");
	return vlapic_wake_due(&v->vm) ? VM_RESUME : VM_SWITCH;
}

/* The guest's APIC timer is due (the preemption timer was set to it):
 * vlapic_before_entry() delivers the interrupt. */
static enum vm_next on_guest_timer(struct kvm_vm *v, struct kvm_run *run)
{
	(void)v;
	(void)run;
	return VM_RESUME;
}

/* VMCALL: the hypercalls are the VMM's (lib/hv.h). */
static enum vm_next on_vmcall(struct kvm_vm *v, struct kvm_run *run)
{
	struct vcpu_regs *r = &v->vm.vcpu.regs;
	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = (uint32_t)r->rax;
	run->hypercall.a = (uint32_t)r->rbx;
	run->hypercall.b = (uint32_t)r->rcx;
	run->hypercall.c = (uint32_t)r->rdx;
	run->hypercall.ret = HV_ENOSYS;
	v->pending = PENDING_HYPERCALL;
	return VM_USER;
}

/* IN and OUT (table 27-5): every port is the VMM's. */
static enum vm_next on_io(struct kvm_vm *v, struct kvm_run *run)
{
	uint64_t q = v->vm.vcpu.exit_qual;
	unsigned size = (q & 7) + 1;
	uint16_t port = (uint16_t)(q >> 16);
	if (q & (1u << 4))
		return vm_fail(&v->vm, "string I/O (INS/OUTS) on port 0x%x: not emulated", port);
	run->exit_reason = KVM_EXIT_IO;
	run->io.port = port;
	run->io.size = (uint8_t)size;
	run->io.in = !!(q & (1u << 3));
	run->io.data = (uint32_t)v->vm.vcpu.regs.rax;
	v->pending = PENDING_IO;
	return VM_USER;
}

/* An EPT violation (28.3.3.2): the local APIC is the kernel's; any other
 * address outside RAM is MMIO for the VMM, which has the device (or
 * says the guest touched nothing). The kernel decodes the instruction
 * (hvlib/mmio.c): the VMM sees an address, a size and a value. */
static enum vm_next on_ept_violation(struct kvm_vm *v, struct kvm_run *run)
{
	uint64_t gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	if (vm_mmio_is_lapic(gpa))
		return vm_mmio_lapic(&v->vm, gpa);
	if (v->vm.vcpu.exit_qual & EPT_QUAL_FETCH)
		return vm_fail(&v->vm, "touched guest-physical 0x%lx (fetch), outside its %llu MiB of RAM",
			       gpa, (unsigned long long)(v->vm.mem.size >> 20));
	if (vm_mmio_decode(&v->vm, gpa, &v->mmio) != VM_RESUME)
		return VM_STOP;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.gpa = gpa;
	run->mmio.size = 4;
	run->mmio.is_write = !v->mmio.load;
	run->mmio.data = v->mmio.value;
	v->pending = PENDING_MMIO;
	return VM_USER;
}

typedef enum vm_next (*exit_handler)(struct kvm_vm *v, struct kvm_run *run);
static const exit_handler handlers[EXIT_REASONS] = {
	[EXIT_REASON_EXTERNAL_INTERRUPT] = on_host_tick,
	[EXIT_REASON_HLT] = on_hlt,
	[EXIT_REASON_VMCALL] = on_vmcall,
	[EXIT_REASON_IO_INSTRUCTION] = on_io,
	[EXIT_REASON_EPT_VIOLATION] = on_ept_violation,
	[EXIT_REASON_PREEMPTION_TIMER] = on_guest_timer,
};

static enum vm_next handle_exit(struct kvm_vm *v, struct kvm_run *run)
{
	enum vm_next next = vm_exit_common(&v->vm);
	uint32_t reason = v->vm.vcpu.exit_reason;
	if (next != VM_UNHANDLED)
		return next;
	if (reason < EXIT_REASONS && handlers[reason])
		return handlers[reason](v, run);
	return vm_exit_unknown(&v->vm);
}

/* The guest cannot go on: tell the VMM why. */
static void stopped(struct kvm_vm *v, struct kvm_run *run)
{
	uint32_t reason = v->vm.vcpu.exit_reason;
	v->stopped = true;
	v->timing = false;
	run->exit_reason = reason == EXIT_REASON_TRIPLE_FAULT ? KVM_EXIT_SHUTDOWN :
			   reason == EXIT_REASON_HLT ? KVM_EXIT_HLT :
			   reason == VMX_RUN_VMFAIL || (reason & EXIT_REASON_FAILED_VMENTRY) ?
			   KVM_EXIT_FAIL_ENTRY : KVM_EXIT_INTERNAL_ERROR;
	snprintf(run->why, sizeof run->why, "%s", v->vm.why);
}

/* The VMM has done its part of the last exit: finish the instruction. */
static void complete(struct kvm_vm *v, const struct kvm_run *run)
{
	struct vcpu_regs *r = &v->vm.vcpu.regs;
	switch (v->pending) {
	case PENDING_IO:
		if (run->io.in) {
			uint64_t mask = run->io.size == 4 ? 0xffffffffull : (1ull << (8 * run->io.size)) - 1;
			r->rax = (r->rax & ~mask) | (run->io.data & mask);
		}
		vm_skip(&v->vm);
		break;
	case PENDING_MMIO:
		vm_mmio_complete(&v->vm, &v->mmio, run->mmio.data);
		break;
	case PENDING_HYPERCALL:
		r->rax = run->hypercall.ret;
		vm_skip(&v->vm);
		break;
	case PENDING_NONE:
		break;
	}
	v->pending = PENDING_NONE;
}

/* Just before an entry: the last exit's cost, on its path. */
static void time_last_exit(struct kvm_vm *v)
{
	if (!v->timing)
		return;
	uint64_t cost = rdtsc() - v->exit_at - (cur->off_cpu - v->off_at_exit);
	if (v->via_user) {
		v->user_exits++;
		v->user_tsc += cost;
	} else {
		v->kernel_exits++;
		v->kernel_tsc += cost;
	}
	v->timing = false;
}

/* The preemption timer (25.5.1) ends the guest's run when its APIC timer
 * is due; otherwise only the host's tick does. */
static uint64_t guest_timer_value(struct kvm_vm *v)
{
	uint64_t d = vlapic_next_deadline(&v->vm), now = rdtsc();
	if (!d)
		return 0xffffffffu;
	return vm_preemption_value(d > now ? d - now : 0);
}

/* SYS_KVM_RUN. f is the VMM's trap frame: RAX gets the result; a VMM
 * that has to wait (its guest in HLT) sleeps here and, once woken,
 * issues the call again (RIP back on the INT 0x80, as Linux restarts
 * system calls). */
void kvm_ioctl_run(struct trap_frame *f, int64_t id, struct kvm_run *run)
{
	struct kvm_vm *v = lookup(id);
	if (!v || !v->ready || v->stopped || !run || !vm_make_current(&v->vm)) {
		f->rax = (uint64_t)-1;
		return;
	}
	complete(v, run);
	for (;;) {
		vlapic_before_entry(&v->vm);
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, guest_timer_value(v));
		time_last_exit(v);
		vmx_run(&v->vm.vcpu);
		v->exit_at = rdtsc();
		v->off_at_exit = cur->off_cpu;
		v->timing = true;
		enum vm_next next = handle_exit(v, run);
		v->via_user = next == VM_USER;
		switch (next) {
		case VM_RESUME:
			continue;
		case VM_SWITCH:
			f->rip -= SYSCALL_INSN_LEN;
			proc_sleep_until(f, vlapic_next_deadline(&v->vm));
			return;
		case VM_USER:
			break;
		default:
			stopped(v, run);
			break;
		}
		run->exits = v->vm.exits_total;
		f->rax = 0;
		return;
	}
}

/* A row of the summary, a column per VM: on one path, how many exits,
 * or what each cost on average ("-": none). */
static void row(const char *label, bool kernel, bool average)
{
	printf("\n   %-31s", label);
	for (unsigned k = 0; k < nvms; k++) {
		const struct kvm_vm *v = &vms[k];
		uint64_t n = kernel ? v->kernel_exits : v->user_exits;
		uint64_t tsc = kernel ? v->kernel_tsc : v->user_tsc;
		if (!average)
			printf(" %10llu", (unsigned long long)n);
		else if (n)
			printf(" %10llu", (unsigned long long)(tsc / n));
		else
			printf(" %10s", "-");
	}
}

/* At the end: how each guest ended, its exits by path and reason. */
void kvm_summary(void)
{
	const uint64_t *exits[MAX_VMS];
	const char *names[MAX_VMS];
	for (unsigned k = 0; k < nvms; k++) {
		const struct kvm_vm *v = &vms[k];
		const struct proc *p = v->owner;
		printf("  %-10s ", p->name);
		if (v->stopped)
			printf("%s", v->vm.why);
		else if (p->code < VMM_STOPPED)
			printf("exited with status %d", p->code);
		else
			printf("%s", p->why);
		printf(", after %llu VM exits\n", (unsigned long long)v->vm.exits_total);
		exits[k] = v->vm.exits;
		names[k] = p->name;
	}
	printf("\n ");
	print_column("VM exit to next VM entry", 31, 1);
	for (unsigned k = 0; k < nvms; k++)
		print_column(names[k], 10, 0);
	row("in the kernel: exits", true, false);
	row("  TSC ticks each, average", true, true);
	row("through the VMM: exits", false, false);
	row("  TSC ticks each, average", false, true);
	printf("\n");
	vm_print_exit_table(exits, names, nvms);
}
