/* VM-entry checks on the guest-state area (SDM vol. 3C, 26.3.1), as rows
 * of the table in vmx/entry.c. A failed guest-state check is not a
 * VMfail: it is a VM exit with reason 33, "VM-entry failure due to
 * invalid guest state", and an exit qualification of 0, 2 (PDPTEs) or 4
 * (VMCS link pointer) (26.7). */
#include "emu/mem.h"
#include "emu/paging.h"
#include "emu/sysreg.h"
#include "vmx/controls.h"
#include "vmx/entry.h"
#include "vmx/entry_guest.h"

#define F(name) (c->vmx.field[VMCS_##name])


static bool secondary(struct cpu *c, uint32_t bit)
{
	return (F(CPU_BASED_VM_EXEC_CONTROL) & PROC_SECONDARY_CONTROLS) &&
	       (F(SECONDARY_VM_EXEC_CONTROL) & bit);
}

static bool ug(struct cpu *c)
{
	return secondary(c, PROC2_UNRESTRICTED_GUEST);
}

static bool ia32e(struct cpu *c)
{
	return F(VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE;
}

/* The event VM entry would inject: its type, or -1 when none (24.8.3). */
static int injected_type(struct cpu *c)
{
	uint64_t info = F(VM_ENTRY_INTR_INFO_FIELD);
	return (info >> 31) ? (int)((info >> 8) & 7) : -1;
}

/* --- 26.3.1.1: control registers, debug registers, MSRs --- */

bool guest_cr0_ok(struct cpu *c)
{
	uint64_t v = F(GUEST_CR0), fixed0 = VMX_CR0_FIXED0;
	if (ug(c))
		fixed0 &= ~(uint64_t)(CR0_PE | CR0_PG); /* unrestricted guests may leave them clear */
	if ((v & fixed0) != fixed0 || (v & ~VMX_CR0_FIXED1))
		return false;
	return !((v & CR0_PG) && !(v & CR0_PE));
}

bool guest_cr4_ok(struct cpu *c)
{
	uint64_t v = F(GUEST_CR4);
	return (v & VMX_CR4_FIXED0) == VMX_CR4_FIXED0 && !(v & ~(uint64_t)(CR4_SUPPORTED | CR4_VMXE));
}

/* IA32_DEBUGCTL does not exist on this CPU: with "load debug controls"
 * (a must-be-1 control) the field must be 0, and DR7's upper half too. */
bool guest_debug_ok(struct cpu *c)
{
	if (!(F(VM_ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CONTROLS))
		return true;
	return F(GUEST_IA32_DEBUGCTL) == 0 && !(F(GUEST_DR7) >> 32);
}

bool guest_ia32e_ok(struct cpu *c)
{
	if (ia32e(c))
		return (F(GUEST_CR0) & CR0_PG) && (F(GUEST_CR4) & CR4_PAE);
	return !(F(GUEST_CR4) & CR4_PCIDE);
}

bool guest_cr3_ok(struct cpu *c)
{
	return !(F(GUEST_CR3) & ~PHYS_MASK);
}

bool guest_sysenter_ok(struct cpu *c)
{
	return canonical(F(GUEST_SYSENTER_ESP)) && canonical(F(GUEST_SYSENTER_EIP));
}

bool guest_pat_ok(struct cpu *c)
{
	if (!(F(VM_ENTRY_CONTROLS) & ENTRY_LOAD_PAT))
		return true;
	for (int k = 0; k < 8; k++) {
		unsigned t = (F(GUEST_IA32_PAT) >> (8 * k)) & 0xff;
		if (!(t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || t == 7))
			return false;
	}
	return true;
}

bool guest_efer_ok(struct cpu *c)
{
	if (!(F(VM_ENTRY_CONTROLS) & ENTRY_LOAD_EFER))
		return true;
	uint64_t e = F(GUEST_IA32_EFER);
	if (e & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
		return false;
	if (!!(e & EFER_LMA) != ia32e(c))
		return false;
	return !(F(GUEST_CR0) & CR0_PG) || !!(e & EFER_LME) == !!(e & EFER_LMA);
}

/* --- 26.3.1.2: segment registers --- */

struct gseg {
	uint16_t sel;
	uint64_t base;
	uint32_t limit, ar;
};

_Static_assert(VMCS_GUEST_TR_SELECTOR - VMCS_GUEST_ES_SELECTOR == 7 &&
	       VMCS_GUEST_TR_BASE - VMCS_GUEST_ES_BASE == 7 &&
	       VMCS_GUEST_TR_LIMIT - VMCS_GUEST_ES_LIMIT == 7 &&
	       VMCS_GUEST_TR_AR_BYTES - VMCS_GUEST_ES_AR_BYTES == 7,
	       "vmcs_fields.def keeps each segment's fields in ES..TR order");

static struct gseg gseg(struct cpu *c, enum vmcs_field sel)
{
	/* The four fields of a segment sit at the same index in their
	 * blocks: selector, base, limit, access rights. */
	int k = sel - VMCS_GUEST_ES_SELECTOR;
	return (struct gseg){ (uint16_t)c->vmx.field[sel],
			      c->vmx.field[VMCS_GUEST_ES_BASE + k],
			      (uint32_t)c->vmx.field[VMCS_GUEST_ES_LIMIT + k],
			      (uint32_t)c->vmx.field[VMCS_GUEST_ES_AR_BYTES + k] };
}

static bool usable(const struct gseg *s)
{
	return !(s->ar & AR_UNUSABLE);
}

/* Reserved access-rights bits 11:8 and 31:17, and G consistent with the
 * limit: G = 0 if any of limit[11:0] is 0, G = 1 if any of limit[31:20]
 * is 1. */
static bool ar_common_ok(const struct gseg *s)
{
	if (s->ar & 0xfffe0f00u)
		return false;
	if ((s->limit & 0xfff) != 0xfff && (s->ar & AR_G))
		return false;
	return !((s->limit >> 20) && !(s->ar & AR_G));
}

bool guest_selectors_ok(struct cpu *c)
{
	struct gseg tr = gseg(c, VMCS_GUEST_TR_SELECTOR), ldtr = gseg(c, VMCS_GUEST_LDTR_SELECTOR);
	struct gseg cs = gseg(c, VMCS_GUEST_CS_SELECTOR), ss = gseg(c, VMCS_GUEST_SS_SELECTOR);
	if (tr.sel & 4)
		return false;
	if (usable(&ldtr) && (ldtr.sel & 4))
		return false;
	return ug(c) || (ss.sel & 3) == (cs.sel & 3);
}

bool guest_bases_ok(struct cpu *c)
{
	struct gseg s;
	if (!canonical(F(GUEST_TR_BASE)) || !canonical(F(GUEST_FS_BASE)) ||
	    !canonical(F(GUEST_GS_BASE)) || (F(GUEST_CS_BASE) >> 32))
		return false;
	s = gseg(c, VMCS_GUEST_LDTR_SELECTOR);
	if (usable(&s) && !canonical(s.base))
		return false;
	static const enum vmcs_field upper0[] = { VMCS_GUEST_SS_SELECTOR, VMCS_GUEST_DS_SELECTOR,
						  VMCS_GUEST_ES_SELECTOR };
	for (unsigned k = 0; k < 3; k++) {
		s = gseg(c, upper0[k]);
		if (usable(&s) && (s.base >> 32))
			return false;
	}
	return true;
}

bool guest_cs_ok(struct cpu *c)
{
	struct gseg cs = gseg(c, VMCS_GUEST_CS_SELECTOR), ss = gseg(c, VMCS_GUEST_SS_SELECTOR);
	unsigned type = AR_TYPE(cs.ar), dpl = AR_DPL(cs.ar);
	if (!usable(&cs) || !(cs.ar & AR_S) || !(cs.ar & AR_P) || !ar_common_ok(&cs))
		return false;
	if (type == 3) {
		if (!ug(c) || dpl != 0)
			return false;
	} else if (type == 9 || type == 11) {
		if (dpl != AR_DPL(ss.ar))
			return false;
	} else if (type == 13 || type == 15) {
		if (dpl > AR_DPL(ss.ar))
			return false;
	} else {
		return false;
	}
	return !(ia32e(c) && (cs.ar & AR_L) && (cs.ar & AR_DB));
}

bool guest_ss_ok(struct cpu *c)
{
	struct gseg ss = gseg(c, VMCS_GUEST_SS_SELECTOR);
	if (!usable(&ss))
		return true;
	unsigned type = AR_TYPE(ss.ar);
	if ((type != 3 && type != 7) || !(ss.ar & AR_S) || !(ss.ar & AR_P) || !ar_common_ok(&ss))
		return false;
	if (!ug(c) && AR_DPL(ss.ar) != (ss.sel & 3u))
		return false;
	return (F(GUEST_CR0) & CR0_PE) || AR_DPL(ss.ar) == 0;
}

bool guest_data_segments_ok(struct cpu *c)
{
	static const enum vmcs_field segs[] = { VMCS_GUEST_DS_SELECTOR, VMCS_GUEST_ES_SELECTOR,
						VMCS_GUEST_FS_SELECTOR, VMCS_GUEST_GS_SELECTOR };
	for (unsigned k = 0; k < 4; k++) {
		struct gseg s = gseg(c, segs[k]);
		if (!usable(&s))
			continue;
		unsigned type = AR_TYPE(s.ar);
		if (!(type & 1) || ((type & 8) && !(type & 2)))
			return false; /* must be accessed; code must be readable */
		if (!(s.ar & AR_S) || !(s.ar & AR_P) || !ar_common_ok(&s))
			return false;
		if (!ug(c) && type <= 11 && AR_DPL(s.ar) < (s.sel & 3u))
			return false;
	}
	return true;
}

bool guest_tr_ok(struct cpu *c)
{
	struct gseg tr = gseg(c, VMCS_GUEST_TR_SELECTOR);
	unsigned type = AR_TYPE(tr.ar);
	if (type != 11 && !(type == 3 && !ia32e(c)))
		return false;
	return !(tr.ar & AR_S) && (tr.ar & AR_P) && usable(&tr) && ar_common_ok(&tr);
}

bool guest_ldtr_ok(struct cpu *c)
{
	struct gseg l = gseg(c, VMCS_GUEST_LDTR_SELECTOR);
	if (!usable(&l))
		return true;
	return AR_TYPE(l.ar) == 2 && !(l.ar & AR_S) && (l.ar & AR_P) && ar_common_ok(&l);
}

/* --- 26.3.1.3 and 26.3.1.4 --- */

bool guest_dtr_ok(struct cpu *c)
{
	return canonical(F(GUEST_GDTR_BASE)) && canonical(F(GUEST_IDTR_BASE)) &&
	       !(F(GUEST_GDTR_LIMIT) >> 16) && !(F(GUEST_IDTR_LIMIT) >> 16);
}

bool guest_rip_ok(struct cpu *c)
{
	bool l64 = ia32e(c) && (F(GUEST_CS_AR_BYTES) & AR_L);
	return l64 ? canonical(F(GUEST_RIP)) : !(F(GUEST_RIP) >> 32);
}

/* RFLAGS: reserved bits clear and bit 1 set; VM clear in IA-32e mode or
 * with CR0.PE clear; IF set when an external interrupt is injected. A
 * virtual-8086 guest (VM = 1) is refused: that mode is not modelled. */
bool guest_rflags_ok(struct cpu *c)
{
	uint64_t f = F(GUEST_RFLAGS);
	if ((f & ~0x3f7fd7ull) || !(f & FL_1) || (f & FL_VM))
		return false;
	return !(injected_type(c) == 0 && !(f & FL_IF));
}

/* --- 26.3.1.5: non-register state --- */

/* Active, or a state IA32_VMX_MISC[8:6] offers (HLT, bit 6, and
 * wait-for-SIPI, bit 8; not shutdown). Wait-for-SIPI takes no injected
 * event; HLT needs SS.DPL = 0 and no STI/MOV SS blocking, and can take
 * only external interrupts, NMIs, #DB, #MC and MTF. */
bool guest_activity_ok(struct cpu *c)
{
	uint64_t state = F(GUEST_ACTIVITY_STATE);
	if (state == ACTIVITY_ACTIVE)
		return true;
	if (state == ACTIVITY_WAIT_SIPI)
		return injected_type(c) < 0;
	if (state != ACTIVITY_HLT || AR_DPL(F(GUEST_SS_AR_BYTES)) != 0 ||
	    (F(GUEST_INTERRUPTIBILITY_INFO) & 3))
		return false;
	uint64_t info = F(VM_ENTRY_INTR_INFO_FIELD);
	int type = injected_type(c);
	unsigned vector = info & 0xff;
	return type < 0 || type == INTR_TYPE_EXTERNAL || type == INTR_TYPE_NMI ||
	       type == INTR_TYPE_OTHER ||
	       (type == INTR_TYPE_HW_EXCEPTION && (vector == VEC_DB || vector == VEC_MC));
}

bool guest_interruptibility_ok(struct cpu *c)
{
	uint64_t v = F(GUEST_INTERRUPTIBILITY_INFO);
	int type = injected_type(c);
	if ((v >> 5) || (v & 3) == 3 || (v & 4))
		return false;          /* reserved, STI and MOV SS both, SMI blocking */
	if ((v & 1) && !(F(GUEST_RFLAGS) & FL_IF))
		return false;
	if (type == 0 && (v & 3))
		return false;          /* external interrupt into a shadow */
	if (type == 2 && (v & 2))
		return false;          /* NMI after MOV SS */
	return !(type == 2 && (v & 8) && (F(PIN_BASED_VM_EXEC_CONTROL) & PIN_VIRTUAL_NMIS));
}

/* Pending debug exceptions: reserved bits clear (bit 16, RTM, too); with
 * STI or MOV SS blocking, BS must be set if and only if TF is (BTF, in
 * the absent IA32_DEBUGCTL, is 0). */
bool guest_pending_debug_ok(struct cpu *c)
{
	uint64_t v = F(GUEST_PENDING_DBG_EXCEPTIONS);
	if (v & ~0x500full)
		return false;
	if (!(F(GUEST_INTERRUPTIBILITY_INFO) & 3))
		return true;
	bool bs = v & (1u << 14), tf = F(GUEST_RFLAGS) & FL_TF;
	return bs == tf;
}

/* --- 26.3.1.6: the VMCS link pointer --- */

bool guest_link_ok(struct cpu *c)
{
	uint64_t p = F(VMCS_LINK_POINTER);
	if (p == ~0ull)
		return true;
	if ((p & 0xfff) || (p & ~PHYS_MASK) || p + 4096 > c->bus->ram_size)
		return false;
	uint32_t rev = 0;
	emu_phys_read(c, p, &rev, 4);
	bool shadow = rev >> 31;
	return (rev & 0x7fffffff) == VMCS_REVISION && shadow == secondary(c, PROC2_VMCS_SHADOWING);
}

/* --- 26.3.1.7: PDPTEs of a PAE guest (without EPT) --- */

bool guest_pdptes_ok(struct cpu *c)
{
	if (!(F(GUEST_CR0) & CR0_PG) || !(F(GUEST_CR4) & CR4_PAE) || ia32e(c))
		return true;
	/* With EPT the PDPTEs are the VMCS's fields (26.3.1.6), else they
	 * are read through GUEST_CR3 (26.3.1.7). */
	uint64_t base = F(GUEST_CR3) & 0xffffffe0u;
	bool ept = secondary(c, PROC2_ENABLE_EPT);
	for (int k = 0; k < 4; k++) {
		uint64_t e = 0;
		if (ept)
			e = c->vmx.field[VMCS_GUEST_PDPTE0 + k];
		else if (!emu_phys_read(c, base + 8 * k, &e, 8))
			return false;
		if ((e & 1) && (e & (0x1e6ull | ~PHYS_MASK)))
			return false;
	}
	return true;
}
