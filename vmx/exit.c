/* The VM exit (SDM vol. 3C, chapter 27): record why (27.2), save the
 * guest's state (27.3) and MSRs (27.4), load the host's state (27.5) and
 * MSRs (27.6), or abort (27.7). Every exit, whatever its cause
 * (vmx/exits.c) or a VM entry that failed after its guest-state checks
 * (vmx/launch.c), comes through vmexit(). */
#include <string.h>

#include "emu/event.h"
#include "emu/intr.h"
#include "emu/mem.h"
#include "emu/paging.h"
#include "emu/sysreg.h"
#include "vmx/vmexit.h"

#define F(name) VMF(c, name)

static const char *const reason_names[] = {
#define EXIT(name, num, text) [num] = text,
#include "vmx/exit_reasons.def"
#undef EXIT
};

const char *vmx_exit_reason_name(unsigned reason)
{
	reason &= 0xffff;
	if (reason < sizeof reason_names / sizeof reason_names[0] && reason_names[reason])
		return reason_names[reason];
	return "unknown";
}

/* Segment registers in VMCS field order: ES, CS, SS, DS, FS, GS (the
 * order of cpu->seg), then LDTR and TR. */
static struct seg *seg_reg(struct cpu *c, unsigned k)
{
	return k < 6 ? &c->seg[k] : k == 6 ? &c->ldtr : &c->tr;
}

/* --- 27.2: recording the exit information --- */

/* The IDT-vectoring information: the event whose delivery was under way
 * when the exit came (27.2.4). */
static void record_vectoring(struct cpu *c)
{
	static const uint8_t type_of[] = {
		[EV_FAULT] = INTR_TYPE_HW_EXCEPTION, [EV_EXTERNAL] = INTR_TYPE_EXTERNAL,
		[EV_NMI] = INTR_TYPE_NMI, [EV_SOFT_INT] = INTR_TYPE_SW_INTERRUPT,
		[EV_SOFT_EXC] = INTR_TYPE_SW_EXCEPTION, [EV_PRIV_SOFT] = INTR_TYPE_PRIV_SW_EXCEPTION,
	};
	F(IDT_VECTORING_INFO_FIELD) = 0;
	F(IDT_VECTORING_ERROR_CODE) = 0;
	if (!c->in_delivery && !c->was_delivering)
		return;
	unsigned type = type_of[c->deliver_kind];
	uint32_t info = INTR_INFO_VALID | (type << 8) | c->delivering;
	if (c->deliver_has_err) {
		info |= INTR_INFO_ERROR_VALID;
		F(IDT_VECTORING_ERROR_CODE) = c->deliver_err;
	}
	F(IDT_VECTORING_INFO_FIELD) = info;
	if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_SW_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION)
		F(VM_EXIT_INSTRUCTION_LEN) = c->deliver_len;
}

static void record_info(struct cpu *c, const struct exit_info *x)
{
	F(VM_EXIT_REASON) = x->reason;
	F(EXIT_QUALIFICATION) = x->qual;
	F(VM_EXIT_INTR_INFO) = x->intr_info;
	F(VM_EXIT_INTR_ERROR_CODE) = x->intr_error;
	F(VMX_INSTRUCTION_INFO) = x->insn_info;
	F(GUEST_LINEAR_ADDRESS) = x->guest_linear;
	F(VM_EXIT_INSTRUCTION_LEN) = c->cur ? c->cur->len : 0;
	record_vectoring(c);
	/* Every exit clears the valid bit of the VM-entry
	 * interruption-information field (27.2.? "VM-entry" note in 24.8.3). */
	F(VM_ENTRY_INTR_INFO_FIELD) &= ~(uint64_t)INTR_INFO_VALID;
}

/* --- 27.3: saving the guest state --- */

static void save_segments(struct cpu *c)
{
	for (unsigned k = 0; k < 8; k++) {
		const struct seg *s = seg_reg(c, k);
		c->vmx.field[VMCS_GUEST_ES_SELECTOR + k] = s->sel;
		c->vmx.field[VMCS_GUEST_ES_BASE + k] = s->base;
		c->vmx.field[VMCS_GUEST_ES_LIMIT + k] = s->limit;
		c->vmx.field[VMCS_GUEST_ES_AR_BYTES + k] = s->ar & 0x1f0ff;
	}
	F(GUEST_GDTR_BASE) = c->gdtr.base;
	F(GUEST_GDTR_LIMIT) = c->gdtr.limit;
	F(GUEST_IDTR_BASE) = c->idtr.base;
	F(GUEST_IDTR_LIMIT) = c->idtr.limit;
}

static uint32_t interruptibility(const struct cpu *c)
{
	uint32_t v = 0;
	if (c->icount < c->shadow_until)
		v |= c->shadow_movss ? INTERRUPTIBILITY_MOV_SS : INTERRUPTIBILITY_STI;
	if (c->nmi_blocked)
		v |= INTERRUPTIBILITY_NMI;
	return v;
}

static void save_guest(struct cpu *c, uint64_t rip)
{
	uint32_t exit = (uint32_t)F(VM_EXIT_CONTROLS);
	F(GUEST_CR0) = c->cr0;
	F(GUEST_CR3) = c->cr3;
	F(GUEST_CR4) = c->cr4;
	if (exit & EXIT_SAVE_DEBUG_CONTROLS) {
		F(GUEST_DR7) = c->dr[7];
		F(GUEST_IA32_DEBUGCTL) = 0; /* no DEBUGCTL features */
	}
	F(GUEST_SYSENTER_CS) = c->msr.sysenter_cs;
	F(GUEST_SYSENTER_ESP) = c->msr.sysenter_esp;
	F(GUEST_SYSENTER_EIP) = c->msr.sysenter_eip;
	if (exit & EXIT_SAVE_PAT)
		F(GUEST_IA32_PAT) = c->msr.pat;
	if (exit & EXIT_SAVE_EFER)
		F(GUEST_IA32_EFER) = c->efer;
	/* "IA-32e mode guest" follows EFER.LMA (27.3.1). */
	if (c->efer & EFER_LMA)
		F(VM_ENTRY_CONTROLS) |= ENTRY_IA32E_MODE;
	else
		F(VM_ENTRY_CONTROLS) &= ~(uint64_t)ENTRY_IA32E_MODE;
	save_segments(c);
	F(GUEST_RIP) = rip;
	F(GUEST_RSP) = c->gpr[R_SP];
	F(GUEST_RFLAGS) = emu_get_rflags(c);
	F(GUEST_INTERRUPTIBILITY_INFO) = interruptibility(c);
	/* A guest waiting in MWAIT is in the active state (C1 is C0's
	 * neighbour, not HLT's activity state). */
	F(GUEST_ACTIVITY_STATE) = c->wait_sipi ? ACTIVITY_WAIT_SIPI :
				  c->halted && !c->mwaiting ? ACTIVITY_HLT : ACTIVITY_ACTIVE;
	F(GUEST_PENDING_DBG_EXCEPTIONS) = 0;
	/* With EPT, a PAE guest's PDPTEs are saved (27.3.4). */
	if (c->vmx.ept_active && (c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) &&
	    !(c->efer & EFER_LMA))
		for (int k = 0; k < 4; k++)
			c->vmx.field[VMCS_GUEST_PDPTE0 + k] = c->pdpte[k];
}

/* --- 27.7: VMX abort --- */

/* A VM exit that cannot complete: write the abort indicator to the VMCS
 * region and shut the processor down; the run ends as it would on a
 * triple fault, with the indicator in cpu->vmx.abort. Indicators: 1 a
 * guest MSR could not be saved, 2 the host's PDPTEs are invalid, 4 a
 * host MSR could not be loaded. */
static _Noreturn void vmx_abort(struct cpu *c, uint32_t indicator)
{
	emu_phys_write(c, c->vmx.vmcs_ptr + 4, &indicator, 4);
	c->vmx.abort = indicator;
	c->vmx.nonroot = c->vmx.ept_active = false;
	c->triple = true;
	c->cur = NULL;
	longjmp(c->unwind, 2);
}

/* --- 27.4 and 27.6: the MSR areas --- */

static bool msr_storable(uint32_t msr)
{
	return !(msr >> 8 == 8) && msr != 0x9e; /* x2APIC, IA32_SMBASE */
}

/* Save the MSRs the VM-exit MSR-store area names. */
static void store_msrs(struct cpu *c)
{
	uint64_t area = F(VM_EXIT_MSR_STORE_ADDR);
	for (uint64_t k = 0; k < F(VM_EXIT_MSR_STORE_COUNT); k++) {
		uint64_t e[2], v;
		if (!emu_phys_read(c, area + 16 * k, e, 16) || (e[0] >> 32) ||
		    !msr_storable((uint32_t)e[0]) || !msr_read(c, (uint32_t)e[0], &v))
			vmx_abort(c, 1);
		emu_phys_write(c, area + 16 * k + 8, &v, 8);
	}
}

/* Load the MSRs of a VM-entry or VM-exit MSR-load area (26.4, 27.6).
 * Returns 0, or the 1-based index of the entry that failed. */
uint64_t vmx_load_msrs(struct cpu *c, uint64_t area, uint64_t count)
{
	for (uint64_t k = 0; k < count; k++) {
		uint64_t e[2];
		if (!emu_phys_read(c, area + 16 * k, e, 16))
			return k + 1;
		uint32_t msr = (uint32_t)e[0];
		if ((e[0] >> 32) || msr >> 8 == 8 || msr == 0x9b || msr == 0x9e ||
		    msr == MSR_FS_BASE || msr == MSR_GS_BASE || !msr_write(c, msr, e[1]))
			return k + 1;
	}
	return 0;
}

/* --- 27.5: loading the host state --- */

static void load_host_segments(struct cpu *c, bool as64)
{
	struct seg *cs = &c->seg[SEG_CS];
	cs->sel = (uint16_t)F(HOST_CS_SELECTOR);
	cs->base = 0;
	cs->limit = 0xffffffff;
	cs->ar = 11 | AR_S | AR_P | AR_G | (as64 ? AR_L : AR_DB);
	static const enum vmcs_field data[] = {
		[SEG_ES] = VMCS_HOST_ES_SELECTOR, [SEG_SS] = VMCS_HOST_SS_SELECTOR,
		[SEG_DS] = VMCS_HOST_DS_SELECTOR, [SEG_FS] = VMCS_HOST_FS_SELECTOR,
		[SEG_GS] = VMCS_HOST_GS_SELECTOR,
	};
	for (int k = 0; k < 6; k++) {
		if (k == SEG_CS)
			continue;
		struct seg *s = &c->seg[k];
		s->sel = (uint16_t)c->vmx.field[data[k]];
		s->base = 0;
		s->limit = 0xffffffff;
		s->ar = s->sel ? 3 | AR_S | AR_P | AR_DB | AR_G : AR_UNUSABLE;
	}
	c->seg[SEG_FS].base = F(HOST_FS_BASE);
	c->seg[SEG_GS].base = F(HOST_GS_BASE);
	c->tr = (struct seg){ (uint16_t)F(HOST_TR_SELECTOR), F(HOST_TR_BASE), 0x67, 11 | AR_P };
	c->ldtr = (struct seg){ 0, 0, 0, AR_UNUSABLE };
	c->gdtr = (struct dtr){ F(HOST_GDTR_BASE), 0xffff };
	c->idtr = (struct dtr){ F(HOST_IDTR_BASE), 0xffff };
}

static void load_host(struct cpu *c, bool nmi_exit)
{
	uint32_t exit = (uint32_t)F(VM_EXIT_CONTROLS);
	bool as64 = exit & EXIT_HOST_ADDR_SPACE;
	/* CR0: ET, CD, NW keep their values (27.5.1). */
	uint64_t keep = CR0_CD | CR0_NW;
	c->cr0 = (F(HOST_CR0) & CR0_WRITABLE & ~keep) | (c->cr0 & keep) | CR0_ET;
	c->cr3 = F(HOST_CR3);
	c->cr4 = F(HOST_CR4);
	c->dr[7] = 0x400;
	c->msr.sysenter_cs = F(HOST_IA32_SYSENTER_CS);
	c->msr.sysenter_esp = F(HOST_IA32_SYSENTER_ESP);
	c->msr.sysenter_eip = F(HOST_IA32_SYSENTER_EIP);
	if (exit & EXIT_LOAD_EFER)
		c->efer = F(HOST_IA32_EFER);
	else if (as64)
		c->efer |= EFER_LMA | EFER_LME;
	else
		c->efer &= ~(uint64_t)(EFER_LMA | EFER_LME);
	if (exit & EXIT_LOAD_PAT)
		c->msr.pat = F(HOST_IA32_PAT);
	load_host_segments(c, as64);
	c->gpr[R_SP] = F(HOST_RSP);
	c->rip = F(HOST_RIP);
	emu_set_rflags(c, FL_1);
	c->cpl = 0;
	c->shadow_until = 0;
	c->halted = c->wait_sipi = false;
	/* An NMI's exit leaves NMIs blocked; with "virtual NMIs" the guest's
	 * blocking was virtual and the host has none (27.5.5). */
	if (nmi_exit)
		c->nmi_blocked = true;
	else if (F(PIN_BASED_VM_EXEC_CONTROL) & PIN_VIRTUAL_NMIS)
		c->nmi_blocked = false;
	/* A 32-bit PAE host's PDPTEs come from its CR3 (27.5.4). */
	if ((c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !as64 &&
	    !paging_load_pdptes(c, c->cr3))
		vmx_abort(c, 2);
	/* Without VPID, nothing translated for the guest may survive. */
	vmx_tlb_switch(c, 0, !vmx_proc2(c, PROC2_ENABLE_VPID));
	emu_update_mode(c);
}

/* The exit's event, with the VMCS fields it changed (the exit information
 * and the guest state it saved): before holds the fields as they were. */
static void emit_exit(struct cpu *c, const struct exit_info *x, uint64_t rip,
		      const uint64_t *before)
{
	uint16_t changed[VMCS_NFIELDS];
	struct event e = { .type = EVT_VMEXIT };
	e.u.vmexit.reason = x->reason;
	e.u.vmexit.name = vmx_exit_reason_name(x->reason);
	e.u.vmexit.qual = x->qual;
	e.u.vmexit.guest_rip = rip;
	e.u.vmexit.intr_info = x->intr_info;
	for (unsigned f = 0; f < VMCS_NFIELDS; f++)
		if (c->vmx.field[f] != before[f])
			changed[e.u.vmexit.nchanged++] = (uint16_t)f;
	e.u.vmexit.changed = changed;
	evt_emit(c, &e);
}

_Noreturn void vmexit(struct cpu *c, const struct exit_info *x)
{
	uint64_t rip = c->cur ? c->rip - c->cur->len : c->rip;
	uint64_t before[VMCS_NFIELDS];
	if (c->nobs)
		memcpy(before, c->vmx.field, sizeof before);
	record_info(c, x);
	vmx_preempt_stop(c);
	c->vmx.mtf = false;
	if (!(x->reason & EXIT_REASON_ENTRY_FAILURE)) {
		save_guest(c, rip);
		/* A debug trap pending at an MTF VM exit is saved; the other
		 * exits nestlab makes save none (27.3.4). */
		if (x->reason == EXIT_REASON_MONITOR_TRAP_FLAG)
			F(GUEST_PENDING_DBG_EXCEPTIONS) = c->db_trap;
		store_msrs(c);
	}
	/* The guest's instruction did not complete, or its trap was saved:
	 * nothing is left for the host to take (a TF single step is lost with
	 * an instruction that exits, and its VMM handles it). */
	c->single_step = false;
	c->db_trap = 0;
	c->vmx.nonroot = false;
	c->vmx.ept_active = false;
	c->monitor_armed = false;   /* VM exits clear address-range monitoring (27.5.6) */
	c->vmx.exits++;
	c->vmx.exits_by_reason[(x->reason & 0xffff) % VMX_EXIT_REASONS]++;
	c->in_delivery = c->was_delivering = false;
	if (c->nobs)
		emit_exit(c, x, rip, before);
	load_host(c, x->nmi_exit);
	if (vmx_load_msrs(c, F(VM_EXIT_MSR_LOAD_ADDR), F(VM_EXIT_MSR_LOAD_COUNT)))
		vmx_abort(c, 4);
	c->cur = NULL;
	c->brk |= BRK_JUMP | BRK_STOP;
	longjmp(c->unwind, 2);
}

_Noreturn void vmexit_simple(struct cpu *c, uint32_t reason, uint64_t qual)
{
	struct exit_info x = { .reason = reason, .qual = qual };
	vmexit(c, &x);
}
