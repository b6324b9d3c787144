/* The TLB's VMX contexts (SDM vol. 3C, 28.3): with "enable VPID" a
 * guest's translations are tagged with its VPID and, with EPT, its EPT
 * PML4 address (EP4TA), so VM entries and exits need not flush them and a
 * hypervisor must invalidate them itself (INVVPID, INVEPT) when it
 * changes what they were derived from. A hypervisor that forgets sees
 * stale translations, as on hardware. nestlab's TLB has 15 such contexts
 * (tag bits TLB_CTX_VMX_SHIFT); context 0 is the host's and that of
 * guests without VPID, flushed at every VM entry and exit (28.3.3.3). */
#include "emu/exec.h"
#include "vmx/ept.h"
#include "vmx/vmexit.h"

#define F(name) VMF(c, name)

/* The context for (vpid, ep4ta), taking the oldest one if it is new. */
unsigned vmx_tlb_context(struct cpu *c, uint16_t vpid, uint64_t ep4ta)
{
	struct vmx_state *v = &c->vmx;
	for (unsigned k = 1; k < TLB_VMX_CONTEXTS; k++)
		if (v->vctx[k].used && v->vctx[k].vpid == vpid && v->vctx[k].ep4ta == ep4ta)
			return k;
	unsigned k = v->vctx_next;
	if (k == 0 || k >= TLB_VMX_CONTEXTS)
		k = 1;
	v->vctx_next = (uint8_t)(k + 1);
	tlb_flush_vctx(c, k, false, 0, false); /* what the old owner cached goes */
	v->vctx[k].used = true;
	v->vctx[k].vpid = vpid;
	v->vctx[k].ep4ta = ep4ta;
	return k;
}

/* Switch the TLB to context k (0: the host's) at a VM entry or exit;
 * without VPID nothing cached survives the switch (28.3.3.3). */
void vmx_tlb_switch(struct cpu *c, unsigned k, bool flush)
{
	c->tlb_vctx = (uint8_t)k;
	if (flush)
		emu_flush_tlb(c);
	tlb_update_ctx(c);
	c->jc_gen++;
}

/* Flush the contexts that match: by VPID (vpid >= 0), by EP4TA (ep4ta
 * != ~0), only the page of lin (one_page), keeping global pages. */
static void flush_matching(struct cpu *c, int vpid, uint64_t ep4ta, bool one_page, uint64_t lin,
			   bool keep_global)
{
	for (unsigned k = 1; k < TLB_VMX_CONTEXTS; k++) {
		const struct vmx_state *v = &c->vmx;
		if (!v->vctx[k].used)
			continue;
		if (vpid >= 0 && v->vctx[k].vpid != vpid)
			continue;
		if (ep4ta != ~0ull && v->vctx[k].ep4ta != ep4ta)
			continue;
		tlb_flush_vctx(c, k, one_page, lin, keep_global);
	}
}

/* The 128-bit descriptor of INVEPT/INVVPID, and the type register. */
static void operands(struct cpu *c, const struct insn *i, uint64_t *type, uint64_t d[2])
{
	*type = reg_get(c, i->reg, c->code_sz == SZ64 ? SZ64 : SZ32);
	uint64_t a = ea(c, i);
	d[0] = mem_read(c, i->seg, a, SZ64);
	d[1] = mem_read(c, i->seg, (a + 8) & sz_mask[i->asz], SZ64);
}

/* 66 0F 38 80: INVEPT r, m128 (30.3, INVEPT). Types 1 (single context:
 * the EPTP in the descriptor) and 2 (all contexts) are supported. */
void op_invept(struct cpu *c, const struct insn *i)
{
	if (!i->p66)
		emu_raise_noerr(c, VEC_UD);
	vmx_common_checks(c, i, EXIT_REASON_INVEPT);
	uint64_t type, d[2];
	operands(c, i, &type, d);
	if (type == 1) {
		if (!vmx_eptp_ok(d[0])) {
			vm_fail(c, VMERR_INVALID_INVEPT_INVVPID);
			return;
		}
		flush_matching(c, -1, d[0] & PHYS_MASK & ~0xfffull, false, 0, false);
	} else if (type == 2) {
		for (unsigned k = 1; k < TLB_VMX_CONTEXTS; k++)
			if (c->vmx.vctx[k].used && c->vmx.vctx[k].ep4ta)
				tlb_flush_vctx(c, k, false, 0, false);
	} else {
		vm_fail(c, VMERR_INVALID_INVEPT_INVVPID);
		return;
	}
	vm_succeed(c);
}

/* 66 0F 38 81: INVVPID r, m128 (30.3, INVVPID): type 0 one address of
 * one VPID, 1 one VPID, 2 all VPIDs but 0, 3 one VPID but its global
 * pages. VPID 0 (the host's) is refused where a VPID is named. */
void op_invvpid(struct cpu *c, const struct insn *i)
{
	if (!i->p66)
		emu_raise_noerr(c, VEC_UD);
	vmx_common_checks(c, i, EXIT_REASON_INVVPID);
	uint64_t type, d[2];
	operands(c, i, &type, d);
	uint16_t vpid = (uint16_t)d[0];
	bool bad = type > 3 || (d[0] >> 16) || (type != 2 && vpid == 0) ||
		   (type == 0 && !canonical(d[1]));
	if (bad) {
		vm_fail(c, VMERR_INVALID_INVEPT_INVVPID);
		return;
	}
	switch (type) {
	case 0: flush_matching(c, vpid, ~0ull, true, d[1], false); break;
	case 1: flush_matching(c, vpid, ~0ull, false, 0, false); break;
	case 2: flush_matching(c, -1, ~0ull, false, 0, false); break;
	default: flush_matching(c, vpid, ~0ull, false, 0, true); break;
	}
	vm_succeed(c);
}
