/* VM entry (SDM vol. 3C, chapter 26): VMLAUNCH and VMRESUME. The checks
 * on the instruction itself (26.1), then the ordered table of checks on
 * controls, host and guest state (vmx/entry.c), then loading the guest's
 * state (26.3.2) and MSRs (26.4), and last event injection (26.5). Also
 * VMCALL, the other instruction that only makes sense with a guest. */
#include "emu/event.h"
#include "emu/exec.h"
#include "emu/intr.h"
#include "emu/paging.h"
#include "emu/sysreg.h"
#include "vmx/entry.h"
#include "vmx/vmexit.h"

#define F(name) VMF(c, name)

uint64_t vmx_cr0_fixed0(const struct cpu *c)
{
	uint64_t fixed0 = VMX_CR0_FIXED0;
	if (c->vmx.nonroot && vmx_proc2(c, PROC2_UNRESTRICTED_GUEST))
		fixed0 &= ~(uint64_t)(CR0_PE | CR0_PG);
	return fixed0;
}

static void emit_entry(struct cpu *c, bool launch, bool ok, unsigned err,
		       const struct entry_check *failed)
{
	struct event e = { .type = EVT_VMENTRY };
	e.u.vmentry.launch = launch;
	e.u.vmentry.ok = ok;
	e.u.vmentry.vm_error = (uint8_t)err;
	e.u.vmentry.guest_rip = F(GUEST_RIP);
	if (failed) {
		e.u.vmentry.check = failed->name;
		e.u.vmentry.sdm = failed->sdm;
		e.u.vmentry.why = failed->why;
	}
	evt_emit(c, &e);
}

/* Remember a failed entry for the end-of-run report (emu/main.c). */
static void note_failure(struct cpu *c, uint64_t rip, unsigned error, uint32_t reason,
			 const struct entry_check *check)
{
	c->vmx.failed.count++;
	c->vmx.failed.rip = rip;
	c->vmx.failed.error = (uint8_t)error;
	c->vmx.failed.reason = reason;
	c->vmx.failed.check = check;
}

/* --- 26.3.2: loading the guest state --- */

static void load_segments(struct cpu *c)
{
	for (unsigned k = 0; k < 8; k++) {
		struct seg *s = k < 6 ? &c->seg[k] : k == 6 ? &c->ldtr : &c->tr;
		s->sel = (uint16_t)c->vmx.field[VMCS_GUEST_ES_SELECTOR + k];
		s->base = c->vmx.field[VMCS_GUEST_ES_BASE + k];
		s->limit = (uint32_t)c->vmx.field[VMCS_GUEST_ES_LIMIT + k];
		s->ar = (uint32_t)c->vmx.field[VMCS_GUEST_ES_AR_BYTES + k] & 0x1f0ff;
		if (s->ar & AR_UNUSABLE)
			s->ar = AR_UNUSABLE | (k == SEG_SS ? s->ar & (3u << 5) : 0);
	}
	c->gdtr = (struct dtr){ F(GUEST_GDTR_BASE), (uint16_t)F(GUEST_GDTR_LIMIT) };
	c->idtr = (struct dtr){ F(GUEST_IDTR_BASE), (uint16_t)F(GUEST_IDTR_LIMIT) };
}

static void load_guest(struct cpu *c)
{
	uint32_t entry = (uint32_t)F(VM_ENTRY_CONTROLS);
	bool ia32e = entry & ENTRY_IA32E_MODE;
	/* CD, NW, ET and the reserved bits keep their values (26.3.2.1). */
	uint64_t keep = CR0_CD | CR0_NW;
	c->cr0 = (F(GUEST_CR0) & CR0_WRITABLE & ~keep) | (c->cr0 & keep) | CR0_ET;
	c->cr3 = F(GUEST_CR3);
	c->cr4 = F(GUEST_CR4);
	if (entry & ENTRY_LOAD_DEBUG_CONTROLS)
		c->dr[7] = (F(GUEST_DR7) & 0xffff23ffu) | 0x400;
	c->msr.sysenter_cs = F(GUEST_SYSENTER_CS);
	c->msr.sysenter_esp = F(GUEST_SYSENTER_ESP);
	c->msr.sysenter_eip = F(GUEST_SYSENTER_EIP);
	if (entry & ENTRY_LOAD_EFER) {
		c->efer = F(GUEST_IA32_EFER);
	} else {
		/* LMA follows "IA-32e mode guest"; so does LME when paging
		 * is on (26.3.2.1). */
		c->efer = (c->efer & ~(uint64_t)EFER_LMA) | (ia32e ? EFER_LMA : 0);
		if (c->cr0 & CR0_PG)
			c->efer = (c->efer & ~(uint64_t)EFER_LME) | (ia32e ? EFER_LME : 0);
	}
	if (entry & ENTRY_LOAD_PAT)
		c->msr.pat = F(GUEST_IA32_PAT);
	load_segments(c);
	c->gpr[R_SP] = F(GUEST_RSP);
	c->rip = F(GUEST_RIP);
	emu_set_rflags(c, F(GUEST_RFLAGS));
	c->cpl = AR_DPL(c->seg[SEG_SS].ar); /* the CPL is SS.DPL (26.3.2.2) */
	/* A PAE guest without IA-32e mode: the PDPTEs come from the VMCS
	 * with EPT, else from its CR3 (checked in 26.3.1.7, loaded here). */
	if ((c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !ia32e) {
		if (vmx_proc2(c, PROC2_ENABLE_EPT))
			for (int k = 0; k < 4; k++)
				c->pdpte[k] = c->vmx.field[VMCS_GUEST_PDPTE0 + k];
		else
			paging_load_pdptes(c, c->cr3);
	}
	/* Non-register state (26.3.2.5). The VMLAUNCH/VMRESUME itself
	 * retires after this, so a shadow must outlast one more count. */
	uint64_t intr = F(GUEST_INTERRUPTIBILITY_INFO);
	c->shadow_until = (intr & 3) ? c->icount + 2 : 0;
	c->shadow_movss = intr & INTERRUPTIBILITY_MOV_SS;
	c->nmi_blocked = intr & INTERRUPTIBILITY_NMI;
	c->wait_sipi = F(GUEST_ACTIVITY_STATE) == ACTIVITY_WAIT_SIPI;
	c->halted = F(GUEST_ACTIVITY_STATE) == ACTIVITY_HLT || c->wait_sipi;
	c->mwaiting = false;
	emu_update_mode(c);
}

/* The guest's translations: tagged with its VPID and EPTP when "enable
 * VPID" is set, else in the host's context, flushed (28.3.3.3). */
static void enter_tlb_context(struct cpu *c)
{
	bool ept = vmx_proc2(c, PROC2_ENABLE_EPT);
	c->vmx.ept_active = ept;
	if (vmx_proc2(c, PROC2_ENABLE_VPID)) {
		uint64_t ep4ta = ept ? F(EPT_POINTER) & PHYS_MASK & ~0xfffull : 0;
		vmx_tlb_switch(c, vmx_tlb_context(c, (uint16_t)F(VIRTUAL_PROCESSOR_ID), ep4ta), false);
	} else {
		vmx_tlb_switch(c, 0, true);
	}
}

/* --- 26.5: event injection --- */

static void inject(struct cpu *c)
{
	uint32_t info = (uint32_t)F(VM_ENTRY_INTR_INFO_FIELD);
	if (!(info & INTR_INFO_VALID))
		return;
	static const int8_t kind_of[8] = {
		[INTR_TYPE_EXTERNAL] = EV_EXTERNAL, [1] = -1, [INTR_TYPE_NMI] = EV_NMI,
		[INTR_TYPE_HW_EXCEPTION] = EV_FAULT, [INTR_TYPE_SW_INTERRUPT] = EV_SOFT_INT,
		[INTR_TYPE_PRIV_SW_EXCEPTION] = EV_PRIV_SOFT,
		[INTR_TYPE_SW_EXCEPTION] = EV_SOFT_EXC, [INTR_TYPE_OTHER] = -1,
	};
	unsigned type = (info >> 8) & 7, vector = info & 0xff;
	if (type == INTR_TYPE_OTHER) {
		/* "other event", vector 0: an MTF VM exit pending before the
		 * first guest instruction, whatever the "monitor trap flag"
		 * control says (26.5.2) */
		c->vmx.mtf = true;
		c->vmx.mtf_after = c->icount;
		return;
	}
	int kind = kind_of[type];
	if (kind < 0)
		return; /* type 1 is reserved: the entry checks refused it */
	/* Software events push the address after the instruction that
	 * would have raised them (VM_ENTRY_INSTRUCTION_LEN bytes long). */
	c->deliver_len = (uint8_t)F(VM_ENTRY_INSTRUCTION_LEN);
	if (kind == EV_SOFT_INT || kind == EV_SOFT_EXC || kind == EV_PRIV_SOFT)
		c->rip += c->deliver_len;
	if (kind == EV_NMI)
		c->nmi_blocked = true;
	c->pf_lin = c->cr2; /* an injected #PF leaves CR2 as the VMM set it */
	c->vmx.injecting = true; /* not subject to the exception bitmap */
	emu_deliver(c, vector, kind, info & INTR_INFO_ERROR_VALID,
		    (uint32_t)F(VM_ENTRY_EXCEPTION_ERROR_CODE));
}

/* --- 26.6.3: pending debug exceptions --- */

/* The guest's pending debug exceptions become a #DB trap taken before its
 * first instruction (or a VM exit, through the exception bitmap), when
 * they are valid (BS, bit 14, or "enabled breakpoint", bit 12), the entry
 * is not vectoring (it injects no event, or only a pending MTF VM exit,
 * which comes first) and the guest is active or halted. Under blocking by
 * MOV SS the trap waits one instruction, as it would have in the guest.
 * Whatever single step the VMLAUNCH/VMRESUME itself was making is the
 * host's, and ends here. */
static void pending_debug(struct cpu *c)
{
	uint64_t p = F(GUEST_PENDING_DBG_EXCEPTIONS);
	c->single_step = false;
	c->db_trap = 0;
	uint64_t info = F(VM_ENTRY_INTR_INFO_FIELD);
	bool vectoring = (info & INTR_INFO_VALID) && ((info >> 8) & 7) != INTR_TYPE_OTHER;
	if (!(p & (1u << 14 | 1u << 12)) || vectoring || c->wait_sipi)
		return;
	c->db_trap = (uint32_t)(p & 0x400f); /* BS and B3-B0, as DR6 takes them */
}

/* 0F 01 C2 VMLAUNCH, 0F 01 C3 VMRESUME (30.3; 26.1 for the order). */
void vmx_enter(struct cpu *c, bool launch)
{
	const struct insn *i = c->cur;
	uint64_t at = c->rip - i->len; /* the VMLAUNCH/VMRESUME, for reports */
	vmx_common_checks(c, i, launch ? EXIT_REASON_VMLAUNCH : EXIT_REASON_VMRESUME);
	if (c->vmx.vmcs_ptr == VMCS_INVALID_PTR || c->vmx.current_is_shadow) {
		note_failure(c, at, 0, 0, NULL);
		vm_fail_invalid(c); /* a shadow VMCS cannot be entered (24.10) */
		return;
	}
	unsigned err = 0;
	if (c->icount < c->shadow_until && c->shadow_movss)
		err = VMERR_ENTRY_MOV_SS_BLOCKING;
	else if (launch && c->vmx.launch != VMCS_CLEAR)
		err = VMERR_VMLAUNCH_NONCLEAR_VMCS;
	else if (!launch && c->vmx.launch != VMCS_LAUNCHED)
		err = VMERR_VMRESUME_NONLAUNCHED_VMCS;
	if (err) {
		note_failure(c, at, err, 0, NULL);
		vm_fail_valid(c, err);
		return;
	}
	const struct entry_check *bad = vmx_check_entry(c);
	if (bad && bad->kind != CHECK_GUEST) {
		err = bad->kind == CHECK_CONTROL ? VMERR_ENTRY_INVALID_CONTROLS
						 : VMERR_ENTRY_INVALID_HOST_STATE;
		note_failure(c, at, err, 0, bad);
		emit_entry(c, launch, false, err, bad);
		vm_fail_valid(c, err);
		return;
	}
	if (bad) {
		/* Invalid guest state: a VM exit that loads the host state
		 * and saves nothing of the guest's (26.7). */
		note_failure(c, at, 0, EXIT_REASON_INVALID_GUEST_STATE, bad);
		emit_entry(c, launch, false, 0, bad);
		struct exit_info x = { .reason = EXIT_REASON_ENTRY_FAILURE |
						 EXIT_REASON_INVALID_GUEST_STATE,
				       .qual = bad->qual, .check = bad->name };
		vmexit(c, &x);
	}
	c->vmx.insn.name = NULL; /* a VM entry that succeeds is its vmentry event */
	vm_succeed(c); /* RFLAGS of the host: the guest's are loaded next */
	load_guest(c);
	c->vmx.nonroot = true;
	enter_tlb_context(c);
	c->cur = NULL; /* from here on, RIP is the guest's */
	uint64_t bad_msr = vmx_load_msrs(c, F(VM_ENTRY_MSR_LOAD_ADDR), F(VM_ENTRY_MSR_LOAD_COUNT));
	if (bad_msr) {
		note_failure(c, at, 0, EXIT_REASON_MSR_LOADING, NULL);
		emit_entry(c, launch, false, 0, NULL);
		struct exit_info x = { .reason = EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_MSR_LOADING,
				       .qual = bad_msr };
		c->vmx.nonroot = false;
		vmexit(c, &x);
	}
	c->vmx.launch = VMCS_LAUNCHED;
	c->monitor_armed = false;   /* VM entries clear address-range monitoring (26.3.3) */
	c->vmx.entries++;
	emit_entry(c, launch, true, 0, NULL);
	c->brk |= BRK_JUMP | BRK_STOP;
	vmx_preempt_start(c);
	c->vmx.ple_seen = false;
	/* The monitor trap flag: an exit after the first guest instruction
	 * (VMLAUNCH itself retires first), or right after an injected event
	 * is delivered (25.5.2). */
	c->vmx.mtf = vmx_proc(c, PROC_MONITOR_TRAP_FLAG);
	c->vmx.mtf_after = c->icount + ((F(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID) ? 0 : 1);
	pending_debug(c);
	inject(c);
}

/* 0F 01 C1: VMCALL. Outside VMX operation #UD; in a guest, a VM exit
 * whatever the CPL; in VMX root operation (without the dual-monitor
 * treatment of SMM, which nestlab has not) VMfail 1 (30.3, VMCALL). */
void op_vmcall(struct cpu *c, const struct insn *i)
{
	if (!c->vmx.available || !c->vmx.on)
		emu_raise_noerr(c, VEC_UD);
	if (c->vmx.nonroot)
		vmexit_on_vmx_insn(c, i, EXIT_REASON_VMCALL);
	if ((c->rflags & FL_VM) || ((c->efer & EFER_LMA) && c->code_sz != SZ64))
		emu_raise_noerr(c, VEC_UD);
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
	vm_fail(c, VMERR_VMCALL_IN_ROOT);
}

void op_vmlaunch(struct cpu *c, const struct insn *i)
{
	(void)i;
	vmx_enter(c, true);
}

void op_vmresume(struct cpu *c, const struct insn *i)
{
	(void)i;
	vmx_enter(c, false);
}
