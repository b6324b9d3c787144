/* The VMX-preemption timer (SDM vol. 3C, 25.5.1): with the pin-based
 * control set, VM entry loads VMX_PREEMPTION_TIMER_VALUE and the timer
 * counts down while the guest runs, by one every 2^X TSC ticks, X being
 * IA32_VMX_MISC[4:0]; at zero the guest exits (reason 52). The TSC is
 * nestlab's virtual time, so the timer is a virtual-time timer: a guest
 * sliced by it is sliced the same way on every run. */
#include "emu/vtime.h"
#include "vmx/vmexit.h"

#define F(name) VMF(c, name)

static void expired(void *opaque)
{
	struct cpu *c = opaque;
	c->vmx.preempt_expired = true;
	c->brk |= BRK_STOP;
}

void vmx_preempt_bind(struct cpu *c)
{
	c->vmx_preempt.fire = expired;
	c->vmx_preempt.opaque = c;
}

void vmx_preempt_start(struct cpu *c)
{
	c->vmx.preempt_expired = false;
	if (!(F(PIN_BASED_VM_EXEC_CONTROL) & PIN_PREEMPTION_TIMER))
		return;
	uint64_t ticks = (uint64_t)(uint32_t)F(VMX_PREEMPTION_TIMER_VALUE) << VMX_PREEMPT_RATE;
	vmx_preempt_bind(c);
	vtimer_arm(c, &c->vmx_preempt, emu_now(c) + ticks);
}

/* At a VM exit: stop the timer, and save what is left of it if "save
 * VMX-preemption timer value" is set (27.3.4). */
void vmx_preempt_stop(struct cpu *c)
{
	if (!c->vmx_preempt.armed && !c->vmx.preempt_expired)
		return;
	uint64_t left = 0;
	if (c->vmx_preempt.armed && c->vmx_preempt.deadline > emu_now(c))
		left = (c->vmx_preempt.deadline - emu_now(c)) >> VMX_PREEMPT_RATE;
	vtimer_cancel(c, &c->vmx_preempt);
	c->vmx.preempt_expired = false;
	if (F(VM_EXIT_CONTROLS) & EXIT_SAVE_PREEMPT_TIMER)
		F(VMX_PREEMPTION_TIMER_VALUE) = left;
}
