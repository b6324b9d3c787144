/* Flag instructions, NOPs, UD2, HLT, CLI/STI, CPUID, RDTSC, the fences,
 * IN/OUT, MONITOR/MWAIT. */
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
	c->mwaiting = false;
	c->brk |= BRK_STOP;
}

/* MONITOR and MWAIT are CPL-0 instructions while IA32_MISC_ENABLE[18]
 * (and so CPUID.1:ECX.MONITOR) is set; otherwise #UD (SDM vol. 2). */
static void need_monitor(struct cpu *c)
{
	if (!(c->msr.misc_enable & MISC_ENABLE_MONITOR) || c->cpl != 0)
		emu_raise_noerr(c, VEC_UD);
}

/* 0F 01 C8: MONITOR arms the address-range monitor on the 64-byte line
 * that contains DS:rAX (segment overrides apply). ECX holds extensions,
 * of which there are none; EDX hints are ignored. The address is
 * translated as a read (it may fault), but nothing is read. */
void op_monitor(struct cpu *c, const struct insn *i)
{
	need_monitor(c);
	if (c->vmx.nonroot)
		vmexit_on_monitor(c);
	if (c->gpr[R_CX] & sz_mask[c->code_sz == SZ64 ? SZ64 : SZ32])   /* RCX in 64-bit mode */
		emu_raise(c, VEC_GP, 0);
	uint64_t off = c->gpr[R_AX] & sz_mask[i->asz];
	uint64_t pa = mem_translate(c, seg_linear(c, i->seg, off, 1, ACC_READ), ACC_READ);
	c->monitor_pa = pa & ~63ull;
	c->monitor_armed = true;
	/* Stores to that page must take the slow path, which sees them. */
	tlb_write_protect(c, pa);
}

/* 0F 01 C9: MWAIT waits like HLT, if the monitor is armed, until an
 * interrupt that would be delivered, an NMI, or (ECX[0] = 1) any
 * interrupt, even masked; a store to the line cannot come while the only
 * CPU waits. If the monitor is not armed (never, or a store to the line
 * since MONITOR, VMXOFF, a VM entry or exit), MWAIT does nothing. Either
 * way it disarms the monitor.
 * EAX (the C-state hint) is accepted and ignored. */
void op_mwait(struct cpu *c, const struct insn *i)
{
	(void)i;
	need_monitor(c);
	if (c->vmx.nonroot)
		vmexit_on_mwait(c);
	uint64_t ext = c->gpr[R_CX] & sz_mask[c->code_sz == SZ64 ? SZ64 : SZ32];
	if (ext & ~1ull)
		emu_raise(c, VEC_GP, 0);
	if (!c->monitor_armed)
		return;
	/* In a VMX guest, a masked interrupt cannot end the wait when an
	 * interrupt window is being waited for: MWAIT does not wait (25.3). */
	if (c->vmx.nonroot && (ext & 1) && !(c->rflags & FL_IF) && vmx_mwait_passes(c)) {
		c->monitor_armed = false;
		return;
	}
	c->monitor_armed = false;
	c->halted = c->mwaiting = true;
	c->mwait_ibreak = ext & 1;
	c->brk |= BRK_STOP;
}

void monitor_store(struct cpu *c, uint64_t pa, size_t len)
{
	if (pa < c->monitor_pa + 64 && pa + len > c->monitor_pa)
		c->monitor_armed = false;
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
		/* IA32_MISC_ENABLE[18] clear hides MONITOR/MWAIT. */
		if (!(c->msr.misc_enable & MISC_ENABLE_MONITOR))
			r.ecx &= ~(1u << 3);
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
