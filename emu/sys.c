/* Flag instructions, NOPs, UD2, HLT, CLI/STI, CPUID, RDTSC, the fences,
 * IN/OUT. */
#include "emu/cpuid.h"
#include "emu/exec.h"
#include "emu/io.h"
#include "emu/sysreg.h"
#include "emu/vtime.h"


void op_nop(struct cpu *c, const struct insn *i)
{
	(void)c;
	(void)i;
}

void op_ud2(struct cpu *c, const struct insn *i)
{
	(void)i;
	emu_raise_noerr(c, VEC_UD);
}

/* HLT is privileged; the CPU sleeps until an interrupt (or stops the run if
 * nothing can wake it). */
void op_hlt(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
	if (c->vmx.nonroot)
		vmexit_on_hlt(c);
	c->halted = true;
	c->brk |= BRK_STOP;
}

void op_cmc(struct cpu *c, const struct insn *i)
{
	(void)i;
	flags_set(c, FL_CF, lf_cf(c) ? 0 : FL_CF);
}

void op_clc(struct cpu *c, const struct insn *i)
{
	(void)i;
	flags_set(c, FL_CF, 0);
}

void op_stc(struct cpu *c, const struct insn *i)
{
	(void)i;
	flags_set(c, FL_CF, FL_CF);
}

void op_cld(struct cpu *c, const struct insn *i)
{
	(void)i;
	c->rflags &= ~(uint64_t)FL_DF;
}

void op_std(struct cpu *c, const struct insn *i)
{
	(void)i;
	c->rflags |= FL_DF;
}

/* CLI/STI in protected mode need CPL <= IOPL, else #GP(0) (SDM vol. 2, CLI;
 * the virtual-interrupt extensions VME/PVI are not modelled). */
static void if_check(struct cpu *c)
{
	if ((c->cr0 & CR0_PE) && c->cpl > ((c->rflags >> 12) & 3))
		emu_raise(c, VEC_GP, 0);
}

void op_cli(struct cpu *c, const struct insn *i)
{
	(void)i;
	if_check(c);
	c->rflags &= ~(uint64_t)FL_IF;
}

void op_sti(struct cpu *c, const struct insn *i)
{
	(void)i;
	if_check(c);
	/* STI with IF clear holds interrupts off until the next instruction
	 * has retired (SDM vol. 2, STI). */
	if (!(c->rflags & FL_IF)) {
		c->shadow_until = c->icount + 2;
		c->shadow_movss = false;
	}
	c->rflags |= FL_IF;
	c->brk |= BRK_STOP;
}

void op_cpuid(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (c->vmx.nonroot)
		vmexit_on_cpuid(c);
	struct cpuid_leaf r;
	emu_cpuid((uint32_t)c->gpr[R_AX], (uint32_t)c->gpr[R_CX], &r);
	/* CPUID.1:ECX.OSXSAVE mirrors CR4.OSXSAVE; ECX.VMX says whether the
	 * VT-x model is switched on. */
	if ((uint32_t)c->gpr[R_AX] == 1) {
		if (c->cr4 & CR4_OSXSAVE)
			r.ecx |= 1u << 27;
		if (c->vmx.available)
			r.ecx |= 1u << 5;
	}
	reg_set(c, R_AX, SZ32, r.eax);
	reg_set(c, R_BX, SZ32, r.ebx);
	reg_set(c, R_CX, SZ32, r.ecx);
	reg_set(c, R_DX, SZ32, r.edx);
}

/* The TSC is virtual time in ns, plus IA32_TSC writes (docs/cpu-model.md),
 * plus a VMX guest's TSC offset. RDTSC and RDTSCP (emu/msr.c) share it. */
uint64_t tsc_read(struct cpu *c, bool rdtscp)
{
	if ((c->cr4 & CR4_TSD) && c->cpl != 0 && (c->cr0 & CR0_PE))
		emu_raise(c, VEC_GP, 0);
	uint64_t tsc = emu_now(c) + c->tsc_offset;
	if (c->vmx.nonroot) {
		vmexit_on_rdtsc(c, rdtscp);
		tsc += vmx_tsc_offset(c);
	}
	return tsc;
}

void op_rdtsc(struct cpu *c, const struct insn *i)
{
	(void)i;
	uint64_t tsc = tsc_read(c, false);
	reg_set(c, R_AX, SZ32, tsc);
	reg_set(c, R_DX, SZ32, tsc >> 32);
}

/* 0F 33: RDPMC. The CPU model has no performance counters (CPUID leaf
 * 0Ah reports none), so every counter number is invalid: #GP(0), after
 * the privilege check (CR4.PCE is not offered) and a VMX guest's exit. */
void op_rdpmc(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (c->cpl != 0 && (c->cr0 & CR0_PE))
		emu_raise(c, VEC_GP, 0);
	if (c->vmx.nonroot)
		vmexit_on_rdpmc(c);
	emu_raise(c, VEC_GP, 0);
}

/* LFENCE, MFENCE, SFENCE: one CPU executing in order needs no ordering. */
void op_fence(struct cpu *c, const struct insn *i)
{
	(void)c;
	(void)i;
}

/* E4/E5/EC/ED IN and E6/E7/EE/EF OUT: the port is imm8 or DX. */
static uint16_t port_of(const struct cpu *c, const struct insn *i)
{
	return (i->op & 8) ? (uint16_t)c->gpr[R_DX] : (uint16_t)i->imm;
}

void op_in(struct cpu *c, const struct insn *i)
{
	int sz = i->osz == SZ64 ? SZ32 : i->osz;
	uint16_t port = port_of(c, i);
	io_check(c, port, 1 << sz);
	if (c->vmx.nonroot)
		vmexit_on_io(c, i, port, 1u << sz, true);
	reg_set(c, R_AX, sz, io_in(c, port, 1 << sz));
}

void op_out(struct cpu *c, const struct insn *i)
{
	int sz = i->osz == SZ64 ? SZ32 : i->osz;
	uint16_t port = port_of(c, i);
	io_check(c, port, 1 << sz);
	if (c->vmx.nonroot)
		vmexit_on_io(c, i, port, 1u << sz, false);
	io_out(c, port, 1 << sz, (uint32_t)c->gpr[R_AX]);
}
