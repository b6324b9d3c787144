/* What type1 does at each VM exit: one handler per exit reason, each a
 * few lines. The exit information is in g->vcpu (read by vmx_run()); the
 * guest's VMCS is current. A reason without a handler stops the guest. */
#include "lib/apic.h"
#include "lib/hv.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "type1/type1.h"

/* One of the hypervisor's own timer interrupts arrived while the guest
 * ran. "Acknowledge interrupt on exit" took it from the local APIC and
 * put its vector in the exit information (27.2.2); the end of the
 * interrupt is ours to signal. */
static enum next on_external_interrupt(struct guest *g)
{
	(void)g;
	host_ticks++;
	apic_eoi();
	return NEXT_RESUME;
}

static enum next on_nmi_or_exception(struct guest *g)
{
	/* No exception exits (the bitmap is 0): this is an NMI, which would
	 * have been the host's. There is nothing to hand it to. */
	(void)g;
	return NEXT_RESUME;
}

static enum next on_triple_fault(struct guest *g)
{
	guest_stop(g, GUEST_FAILED, "triple fault at RIP 0x%lx: stopped", vmcs_read(GUEST_RIP));
	return NEXT_STOP;
}

/* CPUID (25.1.2: always exits). The hardware's answer, except that VMX
 * is hidden, "hypervisor present" is set, and leaves 0x40000000 and
 * 0x40000001 describe this hypervisor (lib/hv.h). */
static enum next on_cpuid(struct guest *g)
{
	uint32_t leaf = (uint32_t)g->vcpu.regs.rax, sub = (uint32_t)g->vcpu.regs.rcx;
	struct cpuid_regs r = cpuid(leaf, sub);
	if (leaf == 1) {
		r.ecx &= ~(1u << 5);
		r.ecx |= CPUID_1_ECX_HYPERVISOR;
	} else if (leaf == HV_CPUID_BASE) {
		r.eax = HV_CPUID_INFO;
		memcpy(&r.ebx, HV_SIGNATURE_TYPE1, 4);
		memcpy(&r.ecx, HV_SIGNATURE_TYPE1 + 4, 4);
		memcpy(&r.edx, HV_SIGNATURE_TYPE1 + 8, 4);
	} else if (leaf == HV_CPUID_INFO) {
		r = (struct cpuid_regs){ g->id, nguests, 1, guest_level };
	} else if (leaf > HV_CPUID_INFO && leaf < 0x40000100u) {
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
	}
	g->vcpu.regs.rax = r.eax;
	g->vcpu.regs.rbx = r.ebx;
	g->vcpu.regs.rcx = r.ecx;
	g->vcpu.regs.rdx = r.edx;
	guest_skip(g);
	return NEXT_RESUME;
}

/* HLT: the guest waits for an interrupt. Its only source is its APIC
 * timer: if that is counting and the guest takes interrupts, it waits off
 * the CPU until the timer fires (the scheduler runs the others); if not,
 * nothing will ever wake it, and it is done. */
static enum next on_hlt(struct guest *g)
{
	guest_skip(g);
	if ((vmcs_read(GUEST_RFLAGS) & RFLAGS_IF) && vlapic_can_wake(g)) {
		g->state = GUEST_WAITING;
		return NEXT_SWITCH;
	}
	guest_stop(g, GUEST_HALTED, "halted (HLT with nothing that could wake it)");
	return NEXT_STOP;
}

/* The guest can take interrupts again; vlapic_before_entry() injects the
 * one that was waiting. */
static enum next on_interrupt_window(struct guest *g)
{
	(void)g;
	return NEXT_RESUME;
}

/* VMCALL: the hypercalls of lib/hv.h. */
static enum next on_vmcall(struct guest *g)
{
	struct vcpu_regs *r = &g->vcpu.regs;
	uint32_t ret = HV_ENOSYS;
	enum next next = NEXT_RESUME;
	switch ((uint32_t)r->rax) {
	case HV_CALL_PUTS: {
		char buf[257];
		uint32_t len = (uint32_t)r->rcx > 256 ? 256 : (uint32_t)r->rcx;
		if (!guest_read(g, (uint32_t)r->rbx, buf, len)) {
			ret = 0;
			break;
		}
		buf[len] = 0;
		printf("[%s] (hypercall) %s\n", g->name, buf);
		ret = len;
		break;
	}
	case HV_CALL_GUEST_ID:
		ret = g->id;
		break;
	case HV_CALL_YIELD:
		ret = 0;
		next = NEXT_SWITCH;
		break;
	case HV_CALL_EXITS:
		ret = (uint32_t)g->exits_total;
		break;
	}
	r->rax = ret;
	guest_skip(g);
	return next;
}

/* MOV to CR0 or CR4 that would change a bit the host owns (25.1.3,
 * exit qualification in table 27-3). Nothing else is intercepted. */
static enum next on_cr_access(struct guest *g)
{
	uint64_t q = g->vcpu.exit_qual;
	unsigned cr = q & 15, type = (q >> 4) & 3;
	if (type != 0 || (cr != 0 && cr != 4)) {
		guest_stop(g, GUEST_FAILED, "unexpected control-register exit 0x%lx", q);
		return NEXT_STOP;
	}
	guest_cr_write(g, cr, guest_gpr(g, (q >> 8) & 15));
	guest_skip(g);
	return NEXT_RESUME;
}

/* IN and OUT (qualification: table 27-5). Every port exits; devices.c
 * decides what each does. */
static enum next on_io(struct guest *g)
{
	uint64_t q = g->vcpu.exit_qual;
	unsigned size = (q & 7) + 1;
	bool in = q & (1u << 3), string = q & (1u << 4);
	uint16_t port = (uint16_t)(q >> 16);
	if (string) {
		guest_stop(g, GUEST_FAILED, "string I/O (INS/OUTS) on port 0x%x: not emulated", port);
		return NEXT_STOP;
	}
	uint64_t mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	if (in) {
		uint32_t v = port_in(g, port, size);
		g->vcpu.regs.rax = (g->vcpu.regs.rax & ~mask) | (v & mask);
	} else {
		port_out(g, port, size, (uint32_t)(g->vcpu.regs.rax & mask));
	}
	if (g->state != GUEST_RUNNABLE)
		return NEXT_STOP;
	guest_skip(g);
	return NEXT_RESUME;
}

/* RDMSR and WRMSR of MSRs the bitmap does not pass through. A guest sees
 * a plain processor: the local APIC where it always is, IA32_FEATURE_
 * CONTROL locked with VMX off; any other MSR is #GP, as on a CPU that
 * does not have it. */
static enum next on_msr(struct guest *g, bool write)
{
	uint32_t msr = (uint32_t)g->vcpu.regs.rcx;
	uint64_t v;
	switch (msr) {
	case MSR_IA32_APIC_BASE: v = APIC_BASE_DEFAULT | APIC_BASE_MSR_BSP | APIC_BASE_MSR_ENABLE; break;
	case MSR_IA32_FEATURE_CONTROL: v = 1; break;   /* locked, VMX disabled */
	case MSR_IA32_TSC: v = rdtsc(); break;
	case 0x1a0: v = 1; break;                      /* IA32_MISC_ENABLE: fast strings */
	default:
		guest_inject_gp(g);
		return NEXT_RESUME;
	}
	if (write) {
		/* Writes to these are accepted and change nothing. */
	} else {
		g->vcpu.regs.rax = (uint32_t)v;
		g->vcpu.regs.rdx = v >> 32;
	}
	guest_skip(g);
	return NEXT_RESUME;
}

/* XSETBV always exits (25.1.2). XCR0 is not switched between host and
 * guest, so a guest may only set what the host uses: x87 alone. */
static enum next on_xsetbv(struct guest *g)
{
	if ((uint32_t)g->vcpu.regs.rcx != 0 || (uint32_t)g->vcpu.regs.rax != 1 ||
	    (uint32_t)g->vcpu.regs.rdx != 0)
		guest_inject_gp(g);
	else
		guest_skip(g);
	return NEXT_RESUME;
}

/* INVD always exits; with nothing cached by the model, skip it. */
static enum next on_skip(struct guest *g)
{
	guest_skip(g);
	return NEXT_RESUME;
}

/* An access the EPT does not allow (28.3.3.2): the MMIO device's page, or
 * a guest-physical address outside the guest's RAM. */
static enum next on_ept_violation(struct guest *g)
{
	uint64_t gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	if (mmio_is_device(gpa))
		return emulate_mmio(g, gpa);
	guest_stop(g, GUEST_FAILED, "touched guest-physical 0x%lx (%s), outside its %u MiB of RAM",
		   gpa, g->vcpu.exit_qual & EPT_QUAL_FETCH ? "fetch" :
			g->vcpu.exit_qual & EPT_QUAL_WRITE ? "write" : "read",
		   GUEST_RAM_SIZE >> 20);
	return NEXT_STOP;
}

/* The time slice is over (25.5.1), or the guest's APIC timer is due:
 * the scheduler decides. */
static enum next on_preemption_timer(struct guest *g)
{
	(void)g;
	return NEXT_SWITCH;
}

enum next handle_exit(struct guest *g)
{
	uint32_t reason = g->vcpu.exit_reason;
	if (reason == VMX_RUN_VMFAIL) {
		guest_stop(g, GUEST_FAILED, "VM entry failed: %s, error %u (%s)",
			   vmx_result_name(g->vcpu.entry_result), g->vcpu.insn_error,
			   vmx_insn_error_name(g->vcpu.insn_error));
		return NEXT_STOP;
	}
	if (reason & EXIT_REASON_FAILED_VMENTRY) {
		guest_stop(g, GUEST_FAILED, "VM entry failed: exit reason %u (%s), qualification %lu",
			   reason & 0xffff, vmx_exit_reason_name(reason & 0xffff), g->vcpu.exit_qual);
		return NEXT_STOP;
	}
	g->exits_total++;
	if (reason < EXIT_REASONS)
		g->exits[reason]++;
	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI:      return on_nmi_or_exception(g);
	case EXIT_REASON_EXTERNAL_INTERRUPT: return on_external_interrupt(g);
	case EXIT_REASON_TRIPLE_FAULT:       return on_triple_fault(g);
	case EXIT_REASON_INTERRUPT_WINDOW:   return on_interrupt_window(g);
	case EXIT_REASON_CPUID:              return on_cpuid(g);
	case EXIT_REASON_HLT:                return on_hlt(g);
	case EXIT_REASON_INVD:               return on_skip(g);
	case EXIT_REASON_VMCALL:             return on_vmcall(g);
	case EXIT_REASON_CR_ACCESS:          return on_cr_access(g);
	case EXIT_REASON_IO_INSTRUCTION:     return on_io(g);
	case EXIT_REASON_RDMSR:              return on_msr(g, false);
	case EXIT_REASON_WRMSR:              return on_msr(g, true);
	case EXIT_REASON_EPT_VIOLATION:      return on_ept_violation(g);
	case EXIT_REASON_PREEMPTION_TIMER:   return on_preemption_timer(g);
	case EXIT_REASON_XSETBV:             return on_xsetbv(g);
	}
	/* The VMX instructions (VMX is hidden: a guest that tries anyway
	 * gets #UD, as on a CPU without it), GETSEC, INVEPT, ... */
	if ((reason >= EXIT_REASON_VMCLEAR && reason <= EXIT_REASON_VMXON) ||
	    reason == EXIT_REASON_INVEPT || reason == EXIT_REASON_INVVPID) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | 6);
		return NEXT_RESUME;
	}
	guest_stop(g, GUEST_FAILED, "exit %u (%s) at RIP 0x%lx, which type1 does not handle",
		   reason, vmx_exit_reason_name(reason), vmcs_read(GUEST_RIP));
	return NEXT_STOP;
}
