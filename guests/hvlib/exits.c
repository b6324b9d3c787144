/* The VM exits both teaching hypervisors handle the same way, one short
 * function each: what the CPU alone decides (CPUID, control registers,
 * MSRs, XSETBV) and what ends a guest (a triple fault, a failed entry).
 * The exit information is in vm->vcpu (read by vmx_run()); the guest's
 * VMCS is current. Where type1 and type2 differ (I/O, HLT, VMCALL, MMIO,
 * the timers), their own exits.c / kvm.c decide. */
#include "hvlib/vm.h"
#include "lib/apic.h"
#include "lib/hv.h"
#include "lib/string.h"
#include "lib/x86.h"

static enum vm_next on_nmi_or_exception(struct vm *vm)
{
	/* No exception exits (the bitmap is 0): this is an NMI, which would
	 * have been the host's. There is nothing to hand it to. */
	(void)vm;
	return VM_RESUME;
}

static enum vm_next on_triple_fault(struct vm *vm)
{
	return vm_fail(vm, "triple fault at RIP 0x%lx: stopped", vmcs_read(GUEST_RIP));
}

static const char *signature(unsigned kind)
{
	switch (kind) {
	case HV_KIND_TYPE2: return HV_SIGNATURE_TYPE2;
	case HV_KIND_NESTED: return HV_SIGNATURE_NESTED;
	default: return HV_SIGNATURE_TYPE1;
	}
}

/* CPUID (25.1.2: always exits). The hardware's answer, except that VMX
 * is hidden (but for nested, which emulates it for its guest), "hypervisor
 * present" is set, and leaves 0x40000000 and 0x40000001 describe this
 * hypervisor (lib/hv.h). */
static enum vm_next on_cpuid(struct vm *vm)
{
	uint32_t leaf = (uint32_t)vm->vcpu.regs.rax, sub = (uint32_t)vm->vcpu.regs.rcx;
	struct cpuid_regs r = cpuid(leaf, sub);
	if (leaf == 1) {
		if (vm->kind != HV_KIND_NESTED)
			r.ecx &= ~(1u << 5);
		r.ecx |= CPUID_1_ECX_HYPERVISOR;
	} else if (leaf == HV_CPUID_BASE) {
		const char *sig = signature(vm->kind);
		r.eax = HV_CPUID_INFO;
		memcpy(&r.ebx, sig, 4);
		memcpy(&r.ecx, sig + 4, 4);
		memcpy(&r.edx, sig + 8, 4);
	} else if (leaf == HV_CPUID_INFO) {
		r = (struct cpuid_regs){ vm->id, vm->count, vm->kind, vm->level };
	} else if (leaf > HV_CPUID_INFO && leaf < 0x40000100u) {
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
	}
	vm->vcpu.regs.rax = r.eax;
	vm->vcpu.regs.rbx = r.ebx;
	vm->vcpu.regs.rcx = r.ecx;
	vm->vcpu.regs.rdx = r.edx;
	vm_skip(vm);
	return VM_RESUME;
}

/* The guest can take interrupts again; vlapic_before_entry() injects the
 * one that was waiting. */
static enum vm_next on_interrupt_window(struct vm *vm)
{
	(void)vm;
	return VM_RESUME;
}

/* MOV to CR0 or CR4 that would change a bit the host owns (25.1.3,
 * exit qualification in table 27-3). Nothing else is intercepted. */
static enum vm_next on_cr_access(struct vm *vm)
{
	uint64_t q = vm->vcpu.exit_qual;
	unsigned cr = q & 15, type = (q >> 4) & 3;
	if (type != 0 || (cr != 0 && cr != 4))
		return vm_fail(vm, "unexpected control-register exit 0x%lx", q);
	vm_cr_write(vm, cr, vm_gpr(vm, (q >> 8) & 15));
	vm_skip(vm);
	return VM_RESUME;
}

/* RDMSR and WRMSR of MSRs the bitmap does not pass through. A guest sees
 * a plain processor: the local APIC where it always is, IA32_FEATURE_
 * CONTROL locked with VMX off; any other MSR is #GP, as on a CPU that
 * does not have it. */
static enum vm_next on_msr(struct vm *vm, bool write)
{
	uint32_t msr = (uint32_t)vm->vcpu.regs.rcx;
	uint64_t v;
	switch (msr) {
	case MSR_IA32_APIC_BASE: v = APIC_BASE_DEFAULT | APIC_BASE_MSR_BSP | APIC_BASE_MSR_ENABLE; break;
	case MSR_IA32_FEATURE_CONTROL: v = 1; break;   /* locked, VMX disabled */
	case MSR_IA32_TSC: v = rdtsc(); break;
	case 0x1a0: v = 1; break;                      /* IA32_MISC_ENABLE: fast strings */
	default:
		vm_inject_gp(vm);
		return VM_RESUME;
	}
	if (write) {
		/* Writes to these are accepted and change nothing. */
	} else {
		vm->vcpu.regs.rax = (uint32_t)v;
		vm->vcpu.regs.rdx = v >> 32;
	}
	vm_skip(vm);
	return VM_RESUME;
}

/* XSETBV always exits (25.1.2). XCR0 is not switched between host and
 * guest, so a guest may only set what the host uses: x87 alone. */
static enum vm_next on_xsetbv(struct vm *vm)
{
	if ((uint32_t)vm->vcpu.regs.rcx != 0 || (uint32_t)vm->vcpu.regs.rax != 1 ||
	    (uint32_t)vm->vcpu.regs.rdx != 0)
		vm_inject_gp(vm);
	else
		vm_skip(vm);
	return VM_RESUME;
}

/* INVD always exits; with nothing cached by the model, skip it. */
static enum vm_next on_skip(struct vm *vm)
{
	vm_skip(vm);
	return VM_RESUME;
}

/* The first thing after every exit: a failed entry stops the guest;
 * otherwise the exit is counted, and handled here if it is one of the
 * common ones. VM_UNHANDLED: the hypervisor's own handlers decide. */
enum vm_next vm_exit_common(struct vm *vm)
{
	uint32_t reason = vm->vcpu.exit_reason;
	if (reason == VMX_RUN_VMFAIL)
		return vm_fail(vm, "VM entry failed: %s, error %u (%s)",
			       vmx_result_name(vm->vcpu.entry_result), vm->vcpu.insn_error,
			       vmx_insn_error_name(vm->vcpu.insn_error));
	if (reason & EXIT_REASON_FAILED_VMENTRY)
		return vm_fail(vm, "VM entry failed: exit reason %u (%s), qualification %lu",
			       reason & 0xffff, vmx_exit_reason_name(reason & 0xffff),
			       vm->vcpu.exit_qual);
	vm->exits_total++;
	if (reason < EXIT_REASONS)
		vm->exits[reason]++;
	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI:      return on_nmi_or_exception(vm);
	case EXIT_REASON_TRIPLE_FAULT:       return on_triple_fault(vm);
	case EXIT_REASON_INTERRUPT_WINDOW:   return on_interrupt_window(vm);
	case EXIT_REASON_CPUID:              return on_cpuid(vm);
	case EXIT_REASON_INVD:               return on_skip(vm);
	case EXIT_REASON_CR_ACCESS:          return on_cr_access(vm);
	case EXIT_REASON_RDMSR:              return on_msr(vm, false);
	case EXIT_REASON_WRMSR:              return on_msr(vm, true);
	case EXIT_REASON_XSETBV:             return on_xsetbv(vm);
	}
	/* The VMX instructions (VMX is hidden: a guest that tries anyway
	 * gets #UD, as on a CPU without it), INVEPT, INVVPID. */
	if ((reason >= EXIT_REASON_VMCLEAR && reason <= EXIT_REASON_VMXON) ||
	    reason == EXIT_REASON_INVEPT || reason == EXIT_REASON_INVVPID) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | 6);
		return VM_RESUME;
	}
	return VM_UNHANDLED;
}

/* An exit neither the common handlers nor the hypervisor's handle. */
enum vm_next vm_exit_unknown(struct vm *vm)
{
	uint32_t reason = vm->vcpu.exit_reason;
	return vm_fail(vm, "exit %u (%s) at RIP 0x%lx, which type%u does not handle",
		       reason, vmx_exit_reason_name(reason), vmcs_read(GUEST_RIP), vm->kind);
}
