/* nestlab behind the differential test's machine interface. Built with
 * -DNO_EMU (no libemu to link yet) only --self runs work. */
#include <stdio.h>
#include <stdlib.h>

#include "emu/cpu.h"
#include "tests/diff/diff.h"
#include "tests/diff/machine.h"

#ifndef NO_EMU
/* RFLAGS as emu_get_rflags() computes them, without folding the pending
 * lazy flags into cpu->rflags: the harness reads the flags after every
 * step, and folding them would cut every chain of a flag producer and a
 * later consumer (INC keeping CF, ADC, Jcc) down to the eager path. */
static uint64_t peek_rflags(struct cpu *c)
{
	struct lazyflags lf = c->lf;
	uint64_t f = c->rflags, v = emu_get_rflags(c);
	c->lf = lf;
	c->rflags = f;
	return v;
}

static void n_get(struct machine *m, struct regs *r)
{
	struct cpu *c = m->impl;
	uint64_t mask = m->mode == SZ64 ? ~0ull : 0xffffffffull;
	for (int k = 0; k < 16; k++)
		r->gpr[k] = k < 8 || m->mode == SZ64 ? c->gpr[k] & mask : 0;
	r->rip = c->rip & mask;
	r->rflags = peek_rflags(c);
}

/* Flags are written only when they change, for the reason above. */
static void n_set(struct machine *m, const struct regs *r)
{
	struct cpu *c = m->impl;
	for (int k = 0; k < 16; k++)
		c->gpr[k] = r->gpr[k];
	c->rip = r->rip;
	if (peek_rflags(c) != ((r->rflags & 0x3f7fd5) | FL_1))
		emu_set_rflags(c, r->rflags);
}

static void n_write(struct machine *m, uint32_t pa, const void *buf, size_t len)
{
	if (!emu_phys_write(m->impl, pa, buf, len))
		fprintf(stderr, "diff: nestlab refused a write at %#x\n", pa);
}

static void n_read(struct machine *m, uint32_t pa, void *buf, size_t len)
{
	if (!emu_phys_read(m->impl, pa, buf, len))
		fprintf(stderr, "diff: nestlab refused a read at %#x\n", pa);
}

static void n_load(struct machine *m, const struct regs *r, const uint8_t *ram)
{
	struct cpu *c = m->impl;
	emu_reset_flat(c, m->mode);
	/* Unicorn's flat 32/64-bit modes leave every selector 0 (bases 0);
	 * nestlab's fixture names real descriptors. Only PUSH Sreg and MOV
	 * r/m,Sreg read selectors, and they must see the same values. */
	if (m->mode != SZ16)
		for (int s = 0; s < 6; s++)
			c->seg[s].sel = 0;
	n_write(m, CODE_BASE, ram + CODE_BASE, CODE_SIZE);
	n_write(m, DATA_BASE, ram + DATA_BASE, DATA_SIZE);
	n_write(m, STACK_BASE, ram + STACK_BASE, STACK_SIZE);
	n_set(m, r);
}

static int n_step(struct machine *m)
{
	struct cpu *c = m->impl;
	switch (emu_run(c, 1)) {
	case EMU_STOP_BUDGET:
		return STEP_OK;
	case EMU_STOP_EXCEPTION:
		return c->exc.vector;
	case EMU_STOP_HLT:
		return STEP_HLT;
	default:
		return STEP_OTHER;
	}
}

static void n_free(struct machine *m)
{
	emu_free(m->impl);
	free(m);
}

struct machine *nestlab_new(int mode)
{
	struct machine *m = calloc(1, sizeof *m);
	struct cpu *c = emu_new(RAM_SIZE);
	if (!m || !c) {
		fprintf(stderr, "diff: cannot create a nestlab machine\n");
		free(m);
		emu_free(c);
		return NULL;
	}
	*m = (struct machine){ "nestlab", mode, c, n_load, n_get, n_set, n_write, n_read,
			       n_step, n_free };
	return m;
}
#else
struct machine *nestlab_new(int mode)
{
	(void)mode;
	fprintf(stderr, "diff: built with NO_EMU: only --self works\n");
	return NULL;
}
#endif
