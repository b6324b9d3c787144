/* Control and debug registers: MOV to/from CR0, CR2, CR3, CR4, CR8 and
 * DR0-DR7, CLTS, LMSW, SMSW, INVLPG, INVPCID, WBINVD, INVD, with the checks
 * of SDM vol. 3A 2.5 and vol. 2 (MOV-Control Registers) and the TLB flushes
 * of vol. 3A 4.10.4. */
#include "emu/exec.h"
#include "emu/paging.h"
#include "emu/sysreg.h"

static void need_cpl0(struct cpu *c)
{
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
}

/* After anything that changes how linear addresses translate or who may
 * use them. */
static void paging_changed(struct cpu *c)
{
	emu_flush_tlb(c);
	tlb_update_ctx(c);
	emu_update_mode(c);
}

void cr0_write(struct cpu *c, uint64_t v)
{
	if (v >> 32)
		emu_raise(c, VEC_GP, 0);
	v = (v & CR0_WRITABLE) | CR0_ET;
	if ((v & CR0_PG) && !(v & CR0_PE))
		emu_raise(c, VEC_GP, 0);
	if ((v & CR0_NW) && !(v & CR0_CD))
		emu_raise(c, VEC_GP, 0);
	/* In VMX operation PE, NE and PG must stay set (23.8). */
	if (c->vmx.on && (v & vmx_cr0_fixed0(c)) != vmx_cr0_fixed0(c))
		emu_raise(c, VEC_GP, 0);
	bool pg_on = (v & CR0_PG) && !(c->cr0 & CR0_PG);
	bool pg_off = !(v & CR0_PG) && (c->cr0 & CR0_PG);
	if (pg_on && (c->efer & EFER_LME)) {
		/* Entering IA-32e mode needs PAE (SDM vol. 3A, 10.8.5). */
		if (!(c->cr4 & CR4_PAE))
			emu_raise(c, VEC_GP, 0);
	} else if (pg_on && (c->cr4 & CR4_PAE)) {
		if (!paging_load_pdptes(c, c->cr3))
			emu_raise(c, VEC_GP, 0);
	}
	/* Leaving paging is not allowed from 64-bit code. */
	if (pg_off && c->code_sz == SZ64)
		emu_raise(c, VEC_GP, 0);
	uint64_t changed = c->cr0 ^ v;
	c->cr0 = v;
	if (pg_on && (c->efer & EFER_LME))
		c->efer |= EFER_LMA;
	if (pg_off)
		c->efer &= ~(uint64_t)EFER_LMA;
	if (changed & (CR0_PG | CR0_WP | CR0_PE))
		paging_changed(c);
	emu_update_mode(c);
}

void cr4_write(struct cpu *c, uint64_t v)
{
	uint64_t ok = CR4_SUPPORTED | (c->vmx.available ? CR4_VMXE : 0);
	if (v & ~ok)
		emu_raise(c, VEC_GP, 0);
	/* In VMX operation the FIXED0 bits (VMXE) must stay set (23.8). */
	if (c->vmx.on && (v & VMX_CR4_FIXED0) != VMX_CR4_FIXED0)
		emu_raise(c, VEC_GP, 0);
	if ((c->efer & EFER_LMA) && !(v & CR4_PAE))
		emu_raise(c, VEC_GP, 0);
	/* PCIDE may be set only in IA-32e mode with CR3[11:0] = 0. */
	if ((v & CR4_PCIDE) && !(c->cr4 & CR4_PCIDE) &&
	    (!(c->efer & EFER_LMA) || (c->cr3 & 0xfff)))
		emu_raise(c, VEC_GP, 0);
	uint64_t changed = c->cr4 ^ v;
	if (paging_on(c) && !(c->efer & EFER_LMA) && (v & CR4_PAE) &&
	    (changed & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)) &&
	    !paging_load_pdptes(c, c->cr3))
		emu_raise(c, VEC_GP, 0);
	c->cr4 = v;
	if (changed & (CR4_PGE | CR4_PAE | CR4_PSE | CR4_PCIDE | CR4_SMEP | CR4_SMAP))
		paging_changed(c);
}

void cr3_write(struct cpu *c, uint64_t v)
{
	bool pcide = c->cr4 & CR4_PCIDE;
	bool noflush = pcide && (v >> 63);
	if (pcide)
		v &= ~(1ull << 63);
	if (c->efer & EFER_LMA) {
		if (v & ~PHYS_MASK)
			emu_raise(c, VEC_GP, 0);
	} else {
		v &= 0xffffffffu;
		if (paging_on(c) && (c->cr4 & CR4_PAE) && !paging_load_pdptes(c, v))
			emu_raise(c, VEC_GP, 0);
	}
	c->cr3 = v;
	tlb_update_ctx(c);
	if (!noflush)
		tlb_flush_pcid(c, pcide ? (int)(v & 0xfff) : -1, true);
	c->jc_gen++;
}

uint64_t cr8_read(struct cpu *c)
{
	return c->intc ? c->intc->get_cr8(c) : c->cr8;
}

void cr8_write(struct cpu *c, uint64_t v)
{
	if (v & ~0xfull)
		emu_raise(c, VEC_GP, 0);
	c->cr8 = v;
	if (c->intc)
		c->intc->set_cr8(c, v);
	c->brk |= BRK_STOP; /* a lower TPR may unblock an interrupt */
}

/* 0F 20 / 0F 22: MOV r64, CRn and MOV CRn, r64. ModRM.mod is ignored (the
 * operand is always a register); 32-bit outside 64-bit mode. */
void op_mov_cr(struct cpu *c, const struct insn *i)
{
	unsigned n = i->reg, r = (i->modrm & 7) | ((i->rex & 1) << 3);
	bool to_cr = (i->op & 0xff) == 0x22;
	int sz = c->code_sz == SZ64 ? SZ64 : SZ32;
	if (n != 0 && n != 2 && n != 3 && n != 4 && !(n == 8 && c->code_sz == SZ64))
		emu_raise_noerr(c, VEC_UD);
	need_cpl0(c);
	if (!to_cr) {
		uint64_t v = n == 0 ? c->cr0 : n == 2 ? c->cr2 : n == 3 ? c->cr3 :
			     n == 4 ? c->cr4 : cr8_read(c);
		if (c->vmx.nonroot)
			vmexit_on_mov_from_cr(c, n, r, &v);
		reg_set(c, r, sz, v);
		return;
	}
	uint64_t v = reg_get(c, r, sz);
	if (c->vmx.nonroot)
		vmexit_on_mov_to_cr(c, n, r, &v);
	switch (n) {
	case 0: cr0_write(c, v); break;
	case 2: c->cr2 = v; break;
	case 3: cr3_write(c, v); break;
	case 4: cr4_write(c, v); break;
	default:
		if (!c->vmx.nonroot || !vmx_cr8_shadow_write(c, v))
			cr8_write(c, v);
		break;
	}
	c->brk |= BRK_STOP;
}

/* 0F 21 / 0F 23: MOV to/from DR0-DR7. DR4/DR5 alias DR6/DR7 unless CR4.DE
 * is set, which makes them #UD (SDM vol. 3A, 17.2.2). */
void op_mov_dr(struct cpu *c, const struct insn *i)
{
	unsigned n = i->reg, r = (i->modrm & 7) | ((i->rex & 1) << 3);
	bool to_dr = (i->op & 0xff) == 0x23;
	int sz = c->code_sz == SZ64 ? SZ64 : SZ32;
	if (n > 7)
		emu_raise_noerr(c, VEC_UD);
	if (n == 4 || n == 5) {
		if (c->cr4 & CR4_DE)
			emu_raise_noerr(c, VEC_UD);
		n += 2;
	}
	need_cpl0(c);
	if (c->vmx.nonroot)
		vmexit_on_mov_dr(c, n, r, !to_dr); /* before the general-detect #DB */
	if (c->dr[7] & (1u << 13)) {
		/* DR7.GD: general detect, a #DB before the access (17.2.4);
		 * BD in DR6 and GD cleared when it is delivered. */
		c->db_bits = 1u << 13;
		emu_raise_noerr(c, VEC_DB);
	}
	if (!to_dr) {
		reg_set(c, r, sz, c->dr[n]);
		return;
	}
	uint64_t v = reg_get(c, r, sz);
	if ((n == 6 || n == 7) && (v >> 32))
		emu_raise(c, VEC_GP, 0);
	/* DR6: B0-B3, BD, BS, BT are writable, the rest reads as 1 (bit 16,
	 * RTM, too: there is no RTM). DR7: bit 10 reads as 1; bits 11 (RTM),
	 * 12, 14 and 15 are 0. DR0-DR3 take any value: MOV DR does not check
	 * the address (SDM vol. 3A, 17.2). */
	if (n == 6)
		v = (v & 0xe00f) | 0xffff0ff0u;
	else if (n == 7)
		v = (v & 0xffff23ffu) | 0x400;
	else if (c->code_sz != SZ64)
		v = (uint32_t)v;
	c->dr[n] = v;
}

/* 0F 06: CLTS. */
void op_clts(struct cpu *c, const struct insn *i)
{
	(void)i;
	need_cpl0(c);
	if (c->vmx.nonroot && !vmexit_on_clts(c))
		return;
	c->cr0 &= ~(uint64_t)CR0_TS;
}

/* 0F 08 INVD, 0F 09 WBINVD: there are no caches to write back. */
void op_wbinvd(struct cpu *c, const struct insn *i)
{
	need_cpl0(c);
	if (c->vmx.nonroot) {
		if ((i->op & 0xff) == 0x08)
			vmexit_on_invd(c);
		else
			vmexit_on_wbinvd(c);
	}
}

/* 66 0F 38 82: INVPCID r64, m128 (SDM vol. 2, INVPCID). */
void op_invpcid(struct cpu *c, const struct insn *i)
{
	if (!i->p66) /* the encoding is 66 0F 38 82 /r */
		emu_raise_noerr(c, VEC_UD);
	if (c->vmx.nonroot)
		vmexit_on_invpcid(c, i); /* #UD unless enabled; #GP above CPL 0 */
	need_cpl0(c);
	uint64_t type = reg_get(c, i->reg, c->code_sz == SZ64 ? SZ64 : SZ32);
	uint64_t a = ea(c, i);
	uint64_t pcid = mem_read(c, i->seg, a, SZ64);
	uint64_t lin = mem_read(c, i->seg, (a + 8) & sz_mask[i->asz], SZ64);
	if (type > 3 || (pcid >> 12))
		emu_raise(c, VEC_GP, 0);
	bool pcide = c->cr4 & CR4_PCIDE;
	switch (type) {
	case 0:
		if (!canonical(lin) || (!pcide && pcid))
			emu_raise(c, VEC_GP, 0);
		tlb_flush_page(c, lin, (int)pcid);
		break;
	case 1:
		if (!pcide && pcid)
			emu_raise(c, VEC_GP, 0);
		tlb_flush_pcid(c, (int)pcid, true);
		break;
	case 2:
		emu_flush_tlb(c);
		break;
	default:
		tlb_flush_pcid(c, -1, true);
		break;
	}
}

/* 0F 01 /7 (memory): INVLPG m. */
void op_invlpg(struct cpu *c, const struct insn *i)
{
	need_cpl0(c);
	uint64_t off = ea(c, i);
	uint64_t lin = c->code_sz == SZ64 ? off + (i->seg >= SEG_FS ? c->seg[i->seg].base : 0)
					  : (uint32_t)(c->seg[i->seg].base + off);
	if (c->vmx.nonroot)
		vmexit_on_invlpg(c, lin);
	/* A non-canonical address is a no-op, not a fault. */
	if (c->code_sz != SZ64 || canonical(lin))
		tlb_flush_page(c, lin, -1);
}

/* SMSW: with a register, the whole CR0 at the operand size; to memory,
 * 16 bits. CR4.UMIP makes it #GP above CPL 0. */
void op_smsw(struct cpu *c, const struct insn *i)
{
	if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
		emu_raise(c, VEC_GP, 0);
	uint64_t cr0 = c->cr0;
	if (c->vmx.nonroot)
		vmexit_on_mov_from_cr(c, 0, 0, &cr0); /* the read shadow */
	if (i->mod == 3)
		reg_set(c, i->rm, i->osz, cr0);
	else
		mem_write(c, i->seg, ea(c, i), SZ16, cr0 & 0xffff);
}

/* LMSW: loads PE, MP, EM, TS; it can set PE but never clear it. */
void op_lmsw(struct cpu *c, const struct insn *i)
{
	need_cpl0(c);
	uint64_t src = rm_read(c, i, SZ16);
	if (c->vmx.nonroot)
		vmexit_on_lmsw(c, i, &src);
	uint64_t v = src & 0xf;
	uint64_t cr0 = (c->cr0 & ~0xeull) | v | (c->cr0 & CR0_PE);
	cr0_write(c, cr0);
	c->brk |= BRK_STOP;
}

/* 0F 01: group 7. Memory forms are the descriptor-table loads and stores,
 * SMSW, LMSW and INVLPG; register forms are individual instructions chosen
 * by reg and rm (SDM vol. 2, table A-6): VMCALL, VMLAUNCH, VMRESUME and
 * VMXOFF (0F 01 C1-C4) and MONITOR/MWAIT (C8, C9) are here; CLAC/STAC
 * are not implemented and are #UD, as CPUID says. */
void op_grp7(struct cpu *c, const struct insn *i)
{
	unsigned reg = (i->modrm >> 3) & 7, rm = i->modrm & 7;
	if (i->mod != 3) {
		switch (reg) {
		case 0: op_sgdt(c, i); return;
		case 1: op_sidt(c, i); return;
		case 2: op_lgdt(c, i); return;
		case 3: op_lidt(c, i); return;
		case 4: op_smsw(c, i); return;
		case 6: op_lmsw(c, i); return;
		case 7: op_invlpg(c, i); return;
		default: emu_raise_noerr(c, VEC_UD);
		}
	}
	switch (reg) {
	case 0:
		switch (rm) {
		case 1: op_vmcall(c, i); return;
		case 2: op_vmlaunch(c, i); return;
		case 3: op_vmresume(c, i); return;
		case 4: op_vmxoff(c, i); return;
		}
		break;
	case 1:
		if (rm == 0) {
			op_monitor(c, i);
			return;
		}
		if (rm == 1) {
			op_mwait(c, i);
			return;
		}
		break;
	case 2:
		if (rm == 0) {
			op_xgetbv(c, i);
			return;
		}
		if (rm == 1) {
			op_xsetbv(c, i);
			return;
		}
		break;
	case 4: op_smsw(c, i); return;
	case 6: op_lmsw(c, i); return;
	case 7:
		if (rm == 0) {
			op_swapgs(c, i);
			return;
		}
		if (rm == 1) {
			op_rdtscp(c, i);
			return;
		}
		break;
	}
	emu_raise_noerr(c, VEC_UD);
}
