/* Model-specific registers (SDM vol. 4 for the list, vol. 3A for their
 * rules): RDMSR, WRMSR, RDTSCP, SWAPGS. An MSR not listed here does not
 * exist on this CPU: access raises #GP(0). docs/cpu-model.md lists them. */
#include "emu/exec.h"
#include "emu/paging.h"
#include "emu/sysreg.h"
#include "emu/vtime.h"

/* A valid memory type for PAT and MTRRs: UC, WC, WT, WP, WB (and UC-
 * for PAT only). Caching is not modelled; the values are only stored. */
static bool mem_type_ok(unsigned t, bool pat)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

static bool pat_ok(uint64_t v)
{
	for (int k = 0; k < 8; k++)
		if (!mem_type_ok((v >> (8 * k)) & 0xff, true))
			return false;
	return true;
}

static bool mtrr_index(uint32_t msr, unsigned *idx)
{
	if (msr >= 0x200 && msr < 0x210) {
		*idx = msr - 0x200;         /* PHYSBASE0/PHYSMASK0 .. 7 */
		return true;
	}
	static const uint32_t fixed[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b,
					  0x26c, 0x26d, 0x26e, 0x26f };
	for (unsigned k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
		if (fixed[k] == msr) {
			*idx = 16 + k;
			return true;
		}
	}
	return false;
}

bool msr_read(struct cpu *c, uint32_t msr, uint64_t *v)
{
	unsigned idx;
	if ((msr >= 0x800 && msr <= 0x8ff) || msr == MSR_APIC_BASE || msr == MSR_TSC_DEADLINE)
		return c->intc && c->intc->msr_read(c, msr, v);
	if (msr >= 0x480 && msr <= 0x491)
		return vmx_msr_read(c, msr, v); /* the VMX capabilities, read-only */
	switch (msr) {
	case MSR_TSC:             *v = emu_now(c) + c->tsc_offset; return true;
	case MSR_FEATURE_CONTROL: *v = c->msr.feature_control; return true;
	case MSR_BIOS_SIGN_ID:    *v = 0; return true;
	case MSR_MTRRCAP:         *v = 0x508; return true; /* 8 variable, fixed, WC */
	case MSR_SYSENTER_CS:     *v = c->msr.sysenter_cs; return true;
	case MSR_SYSENTER_ESP:    *v = c->msr.sysenter_esp; return true;
	case MSR_SYSENTER_EIP:    *v = c->msr.sysenter_eip; return true;
	case MSR_MISC_ENABLE:     *v = c->msr.misc_enable; return true;
	case MSR_PAT:             *v = c->msr.pat; return true;
	case MSR_MTRR_DEF_TYPE:   *v = c->msr.mtrr_def_type; return true;
	case MSR_EFER:            *v = c->efer; return true;
	case MSR_STAR:            *v = c->msr.star; return true;
	case MSR_LSTAR:           *v = c->msr.lstar; return true;
	case MSR_CSTAR:           *v = c->msr.cstar; return true;
	case MSR_FMASK:           *v = c->msr.fmask; return true;
	case MSR_FS_BASE:         *v = c->seg[SEG_FS].base; return true;
	case MSR_GS_BASE:         *v = c->seg[SEG_GS].base; return true;
	case MSR_KERNEL_GS_BASE:  *v = c->msr.kernel_gs_base; return true;
	case MSR_TSC_AUX:         *v = c->tsc_aux; return true;
	default:
		if (mtrr_index(msr, &idx)) {
			*v = c->msr.mtrr[idx];
			return true;
		}
		return false;
	}
}

/* EFER: SCE, LME, NXE are writable; LMA is read-only (set by CR0.PG with
 * LME); LME cannot change while paging is on (SDM vol. 3A, 10.8.5). */
static bool efer_write(struct cpu *c, uint64_t v)
{
	uint64_t writable = EFER_SCE | EFER_LME | EFER_NXE;
	if (v & ~(writable | EFER_LMA))
		return false;
	if (paging_on(c) && ((v ^ c->efer) & EFER_LME))
		return false;
	uint64_t nv = (v & writable) | (c->efer & EFER_LMA);
	if ((nv ^ c->efer) & EFER_NXE)
		emu_flush_tlb(c);
	c->efer = nv;
	return true;
}

bool msr_write(struct cpu *c, uint32_t msr, uint64_t v)
{
	unsigned idx;
	if ((msr >= 0x800 && msr <= 0x8ff) || msr == MSR_APIC_BASE || msr == MSR_TSC_DEADLINE)
		return c->intc && c->intc->msr_write(c, msr, v);
	switch (msr) {
	case MSR_TSC:
		c->tsc_offset = v - emu_now(c);
		return true;
	case MSR_FEATURE_CONTROL:
		/* Bit 0 locks the register until reset (SDM vol. 3C, 23.7). */
		if ((c->msr.feature_control & 1) || (v & ~0x7ull))
			return false;
		c->msr.feature_control = v;
		return true;
	case MSR_BIOS_SIGN_ID:
		return true;
	case MSR_SYSENTER_CS:
		c->msr.sysenter_cs = v & 0xffff;
		return true;
	case MSR_SYSENTER_ESP: case MSR_SYSENTER_EIP:
		if (!canonical(v))
			return false;
		*(msr == MSR_SYSENTER_ESP ? &c->msr.sysenter_esp : &c->msr.sysenter_eip) = v;
		return true;
	case MSR_MISC_ENABLE:
		/* fast strings (0) and the rest are kept as written */
		c->msr.misc_enable = v;
		return true;
	case MSR_PAT:
		if (!pat_ok(v))
			return false;
		c->msr.pat = v;
		return true;
	case MSR_MTRR_DEF_TYPE:
		if ((v & ~0xcffull) || !mem_type_ok(v & 0xff, false))
			return false;
		c->msr.mtrr_def_type = v;
		return true;
	case MSR_EFER:
		return efer_write(c, v);
	case MSR_STAR: c->msr.star = v; return true;
	case MSR_LSTAR: case MSR_CSTAR: case MSR_FS_BASE: case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!canonical(v))
			return false;
		if (msr == MSR_LSTAR) c->msr.lstar = v;
		else if (msr == MSR_CSTAR) c->msr.cstar = v;
		else if (msr == MSR_FS_BASE) c->seg[SEG_FS].base = v;
		else if (msr == MSR_GS_BASE) c->seg[SEG_GS].base = v;
		else c->msr.kernel_gs_base = v;
		return true;
	case MSR_FMASK: c->msr.fmask = v & 0xffffffffu; return true;
	case MSR_TSC_AUX:
		if (v >> 32)
			return false;
		c->tsc_aux = (uint32_t)v;
		return true;
	default:
		if (mtrr_index(msr, &idx)) {
			c->msr.mtrr[idx] = v;
			return true;
		}
		return false;
	}
}

void op_rdmsr(struct cpu *c, const struct insn *i)
{
	(void)i;
	uint64_t v;
	uint32_t msr = (uint32_t)c->gpr[R_CX];
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
	if (c->vmx.nonroot)
		vmexit_on_msr(c, msr, false);
	if (!msr_read(c, msr, &v))
		emu_raise(c, VEC_GP, 0);
	if (c->vmx.nonroot && msr == MSR_TSC)
		v += vmx_tsc_offset(c);
	reg_set(c, R_AX, SZ32, v);
	reg_set(c, R_DX, SZ32, v >> 32);
}

void op_wrmsr(struct cpu *c, const struct insn *i)
{
	(void)i;
	uint64_t v = (uint32_t)c->gpr[R_AX] | (c->gpr[R_DX] << 32);
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
	if (c->vmx.nonroot)
		vmexit_on_msr(c, (uint32_t)c->gpr[R_CX], true);
	if (!msr_write(c, (uint32_t)c->gpr[R_CX], v))
		emu_raise(c, VEC_GP, 0);
	c->brk |= BRK_STOP; /* an APIC write may unblock an interrupt */
}

/* RDTSCP: the TSC and IA32_TSC_AUX in ECX. */
void op_rdtscp(struct cpu *c, const struct insn *i)
{
	(void)i;
	uint64_t tsc = tsc_read(c, true);
	reg_set(c, R_AX, SZ32, tsc);
	reg_set(c, R_DX, SZ32, tsc >> 32);
	reg_set(c, R_CX, SZ32, c->tsc_aux);
}

/* SWAPGS (64-bit mode, CPL 0): exchange GS.base and IA32_KERNEL_GS_BASE. */
void op_swapgs(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (c->code_sz != SZ64)
		emu_raise_noerr(c, VEC_UD);
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
	uint64_t t = c->seg[SEG_GS].base;
	c->seg[SEG_GS].base = c->msr.kernel_gs_base;
	c->msr.kernel_gs_base = t;
}
