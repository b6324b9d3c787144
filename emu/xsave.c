/* XSAVE state management (SDM vol. 1, chapter 13): XCR0, XGETBV, XSETBV,
 * XSAVE, XRSTOR. The one state component is x87 (XCR0 bit 0, which must be
 * set): nestlab implements no x87 instructions (CPUID.FPU is 0), so the x87
 * registers are inert state, in their FNINIT values until an XRSTOR loads
 * others; XSAVE and XRSTOR move them to and from memory in the standard
 * format. Enough for an OS to manage XCR0 and context-switch its state,
 * and for a hypervisor to see XSETBV. docs/cpu-model.md says so too. */
#include <string.h>

#include "emu/exec.h"
#include "emu/sysreg.h"
#include "emu/xsave.h"


/* The x87 part of the legacy region after FNINIT: FCW = 0x037F, the rest
 * zero (the abridged tag word 0 means every register empty). */
void xsave_reset(struct cpu *c)
{
	memset(c->x87, 0, sizeof c->x87);
	c->x87[0] = 0x7f;
	c->x87[1] = 0x03;
	c->xcr0 = XCR0_X87;
}

static void need_osxsave(struct cpu *c)
{
	if (!(c->cr4 & CR4_OSXSAVE))
		emu_raise_noerr(c, VEC_UD);
}

/* 0F 01 D0: XGETBV. Only XCR0 (ECX = 0) exists. */
void op_xgetbv(struct cpu *c, const struct insn *i)
{
	(void)i;
	need_osxsave(c);
	if ((uint32_t)c->gpr[R_CX] != 0)
		emu_raise(c, VEC_GP, 0);
	reg_set(c, R_AX, SZ32, c->xcr0);
	reg_set(c, R_DX, SZ32, c->xcr0 >> 32);
}

/* 0F 01 D1: XSETBV (SDM vol. 2, XSETBV). */
void op_xsetbv(struct cpu *c, const struct insn *i)
{
	(void)i;
	need_osxsave(c);
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
	if (c->vmx.nonroot)
		vmexit_on_xsetbv(c);
	uint64_t v = (uint32_t)c->gpr[R_AX] | (c->gpr[R_DX] << 32);
	if ((uint32_t)c->gpr[R_CX] != 0 || !(v & XCR0_X87) ||
	    (v & ~XCR0_SUPPORTED))
		emu_raise(c, VEC_GP, 0);
	c->xcr0 = v;
}

/* The XSAVE area's first byte: 64-byte aligned, or #GP(0). */
static uint64_t xsave_area(struct cpu *c, const struct insn *i)
{
	need_osxsave(c);
	if (c->cr0 & CR0_TS)
		emu_raise_noerr(c, VEC_NM);
	uint64_t a = ea(c, i);
	if (seg_linear(c, i->seg, a, 1, ACC_READ) & 63)
		emu_raise(c, VEC_GP, 0);
	return a;
}

static uint64_t rfbm(const struct cpu *c)
{
	return ((uint32_t)c->gpr[R_AX] | (c->gpr[R_DX] << 32)) & c->xcr0;
}

static uint64_t off(const struct insn *i, uint64_t a, unsigned k)
{
	return (a + k) & sz_mask[i->asz];
}

/* 0F AE /4: XSAVE m. The x87 registers go to bytes 0-159 of the legacy
 * region when RFBM[0] is set; XSTATE_BV in the header records it. */
void op_xsave(struct cpu *c, const struct insn *i)
{
	uint64_t a = xsave_area(c, i), m = rfbm(c);
	if (m & XCR0_X87) {
		for (unsigned k = 0; k < sizeof c->x87; k += 8) {
			uint64_t v;
			memcpy(&v, c->x87 + k, 8);
			mem_write(c, i->seg, off(i, a, k), SZ64, v);
		}
	}
	uint64_t bv = mem_read(c, i->seg, off(i, a, 512), SZ64);
	mem_write(c, i->seg, off(i, a, 512), SZ64, (bv & ~m) | (m & XCR0_X87));
}

/* 0F AE /5 (memory): XRSTOR m, standard form (SDM vol. 1, 13.8): the header
 * must have XCOMP_BV and the reserved bytes zero and XSTATE_BV within XCR0,
 * else #GP(0); a component in RFBM is loaded if XSTATE_BV has it, else put
 * in its initial state. Every check comes before any state changes. */
void op_xrstor(struct cpu *c, const struct insn *i)
{
	uint64_t a = xsave_area(c, i), m = rfbm(c);
	uint64_t bv = mem_read(c, i->seg, off(i, a, 512), SZ64);
	if (bv & ~c->xcr0)
		emu_raise(c, VEC_GP, 0);
	for (unsigned k = 520; k < 576; k += 8)
		if (mem_read(c, i->seg, off(i, a, k), SZ64))
			emu_raise(c, VEC_GP, 0);
	if (!(m & XCR0_X87))
		return;
	if (!(bv & XCR0_X87)) {
		uint64_t xcr0 = c->xcr0;
		xsave_reset(c);
		c->xcr0 = xcr0;
		return;
	}
	uint8_t buf[sizeof c->x87];
	for (unsigned k = 0; k < sizeof buf; k += 8) {
		uint64_t v = mem_read(c, i->seg, off(i, a, k), SZ64);
		memcpy(buf + k, &v, 8);
	}
	memcpy(c->x87, buf, sizeof buf);
}

/* 0F AE /5: LFENCE with a register, XRSTOR with memory. */
void op_grp15_5(struct cpu *c, const struct insn *i)
{
	if (i->mod == 3)
		op_fence(c, i);
	else
		op_xrstor(c, i);
}
