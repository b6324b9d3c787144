/* What type1 does at each VM exit: one handler per exit reason, each a
 * few lines. The exit information is in g->vm.vcpu (read by vmx_run());
 * the guest's VMCS is current. The exits type1 handles as type2 does
 * (CPUID, CR, MSR, XSETBV, triple fault, ...) are in hvlib/exits.c; a
 * reason nobody handles stops the guest. */
#include "lib/apic.h"
#include "lib/hv.h"
#include "lib/printf.h"
#include "lib/x86.h"
#include "type1/type1.h"

/* One of the hypervisor's own timer interrupts arrived while the guest
 * ran. "Acknowledge interrupt on exit" took it from the local APIC and
 * put its vector in the exit information (27.2.2); the end of the
 * interrupt is ours to signal. */
static enum vm_next on_external_interrupt(struct guest *g)
{
	(void)g;
	host_ticks++;
	apic_eoi();
	return VM_RESUME;
}

/* HLT: the guest waits for an interrupt. Its only source is its APIC
 * timer: if that is counting and the guest takes interrupts, it waits off
 * the CPU until the timer fires (the scheduler runs the others); if not,
 * nothing will ever wake it, and it is done. */
static enum vm_next on_hlt(struct guest *g)
{
	vm_skip(&g->vm);
	if ((vmcs_read(GUEST_RFLAGS) & RFLAGS_IF) && vlapic_can_wake(&g->vm)) {
		g->state = GUEST_WAITING;
		return VM_SWITCH;
	}
	guest_stop(g, GUEST_HALTED, "halted (HLT with nothing that could wake it)");
	return VM_STOP;
}

/* VMCALL: the hypercalls of lib/hv.h. */
static enum vm_next on_vmcall(struct guest *g)
{
	struct vcpu_regs *r = &g->vm.vcpu.regs;
	uint32_t ret = HV_ENOSYS;
	enum vm_next next = VM_RESUME;
	switch ((uint32_t)r->rax) {
	case HV_CALL_PUTS: {
		char buf[257];
		uint32_t len = (uint32_t)r->rcx > 256 ? 256 : (uint32_t)r->rcx;
		if (!vm_read(&g->vm, (uint32_t)r->rbx, buf, len)) {
			ret = 0;
			break;
		}
		buf[len] = 0;
		printf("[%s] (hypercall) %s\n", g->name, buf);
		ret = len;
		break;
	}
	case HV_CALL_GUEST_ID:
		ret = g->vm.id;
		break;
	case HV_CALL_YIELD:
		ret = 0;
		next = VM_SWITCH;
		break;
	case HV_CALL_EXITS:
		ret = (uint32_t)g->vm.exits_total;
		break;
	}
	r->rax = ret;
	vm_skip(&g->vm);
	return next;
}

/* IN and OUT (qualification: table 27-5). Every port exits; the devices
 * (hvlib/devices.c) decide what each does. */
static enum vm_next on_io(struct guest *g)
{
	uint64_t q = g->vm.vcpu.exit_qual;
	unsigned size = (q & 7) + 1;
	bool in = q & (1u << 3), string = q & (1u << 4);
	uint16_t port = (uint16_t)(q >> 16);
	if (string) {
		guest_stop(g, GUEST_FAILED, "string I/O (INS/OUTS) on port 0x%x: not emulated", port);
		return VM_STOP;
	}
	uint64_t mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	struct vcpu_regs *r = &g->vm.vcpu.regs;
	if (in)
		r->rax = (r->rax & ~mask) | (dev_port_in(&g->dev, port, size) & mask);
	else
		dev_port_out(&g->dev, port, size, (uint32_t)(r->rax & mask));
	if (g->dev.exited) {
		guest_stop(g, GUEST_EXITED, "exited with status %u", g->dev.status);
		return VM_STOP;
	}
	vm_skip(&g->vm);
	return VM_RESUME;
}

/* An access the EPT does not allow (28.3.3.2): the MMIO device's page, the
 * local APIC's, or a guest-physical address outside the guest's RAM. The
 * instruction is decoded (hvlib/mmio.c) to know the value and register. */
static enum vm_next on_ept_violation(struct guest *g)
{
	uint64_t gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	if (vm_mmio_is_lapic(gpa))
		return vm_mmio_lapic(&g->vm, gpa);
	if (dev_mmio_is_device(gpa)) {
		struct mmio_insn m;
		if (vm_mmio_decode(&g->vm, gpa, &m) != VM_RESUME)
			return VM_STOP;
		uint32_t v = m.load ? dev_mmio_read(&g->dev, gpa) : 0;
		if (!m.load)
			dev_mmio_write(&g->dev, gpa, m.value);
		vm_mmio_complete(&g->vm, &m, v);
		return VM_RESUME;
	}
	guest_stop(g, GUEST_FAILED, "touched guest-physical 0x%lx (%s), outside its %u MiB of RAM",
		   gpa, g->vm.vcpu.exit_qual & EPT_QUAL_FETCH ? "fetch" :
			g->vm.vcpu.exit_qual & EPT_QUAL_WRITE ? "write" : "read",
		   VM_RAM_SIZE >> 20);
	return VM_STOP;
}

/* The time slice is over (25.5.1), or the guest's APIC timer is due:
 * the scheduler decides. */
static enum vm_next on_preemption_timer(struct guest *g)
{
	(void)g;
	return VM_SWITCH;
}

static enum vm_next dispatch(struct guest *g)
{
	enum vm_next next = vm_exit_common(&g->vm);
	if (next != VM_UNHANDLED)
		return next;
	switch (g->vm.vcpu.exit_reason) {
	case EXIT_REASON_EXTERNAL_INTERRUPT: return on_external_interrupt(g);
	case EXIT_REASON_HLT:                return on_hlt(g);
	case EXIT_REASON_VMCALL:             return on_vmcall(g);
	case EXIT_REASON_IO_INSTRUCTION:     return on_io(g);
	case EXIT_REASON_EPT_VIOLATION:      return on_ept_violation(g);
	case EXIT_REASON_PREEMPTION_TIMER:   return on_preemption_timer(g);
	}
	return vm_exit_unknown(&g->vm);
}

/* A guest that hvlib stopped (vm.why is set) has failed. */
enum vm_next handle_exit(struct guest *g)
{
	enum vm_next next = dispatch(g);
	if (next == VM_STOP && g->state == GUEST_RUNNABLE) {
		g->state = GUEST_FAILED;
		dev_serial_flush(&g->dev);
	}
	return next;
}
