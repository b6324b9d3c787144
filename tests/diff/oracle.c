/* The oracle: Unicorn 2 (QEMU's x86 translator), one engine per mode,
 * reused across cases because opening one is slow.
 *
 * Unicorn facts this relies on, each checked against 2.0.1:
 * - uc_emu_start(..., count = 1) runs one instruction; a REP string
 *   instruction counts once per iteration, so its RIP stays put until the
 *   last one (the harness keeps stepping).
 * - Translated blocks are cached by address and rewriting code with
 *   uc_mem_write does not drop them: each case calls uc_ctl_remove_cache.
 * - A block runs on until something ends it; the HLT filler after each
 *   sequence keeps blocks (and translation time) short.
 * - Faults other than #UD reach UC_HOOK_INTR with the vector and RIP on the
 *   faulting instruction; the hook stops the run. #UD comes back as
 *   UC_ERR_INSN_INVALID instead.
 * - Since the hook takes the place of delivery, QEMU still thinks the fault
 *   is being delivered: the next contributory fault would come out as #DF.
 *   Each case therefore starts from a CPU context saved when the engine was
 *   new.
 * - After some hundred thousand cases of code rewritten in place, 2.0.1
 *   crashes in tb_set_jmp_target (block chaining); a fresh engine every
 *   RENEW cases keeps long runs clear of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "tests/diff/diff.h"
#include "tests/diff/machine.h"

#define RENEW 10000

struct oracle {
	uc_engine *uc;
	uc_hook intr;
	uc_context *clean; /* the CPU as uc_open left it */
	int intno;     /* vector seen by the hook during the last step, or -1 */
	uc_mode mode;
	unsigned loads;
};

static const int regs64[18] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
	UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
};
static const int regs32[10] = {
	UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
	UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
	UC_X86_REG_EIP, UC_X86_REG_EFLAGS,
};

static void on_intr(uc_engine *uc, uint32_t intno, void *user)
{
	struct oracle *o = user;
	o->intno = (int)intno;
	uc_emu_stop(uc);
}

/* Registers go through a batch of 64-bit slots; in 16/32-bit modes Unicorn
 * stores only the low 32 bits, so the slots are zeroed first. */
static void o_get(struct machine *m, struct regs *r)
{
	struct oracle *o = m->impl;
	uint64_t v[18] = { 0 };
	void *p[18];
	int n = m->mode == SZ64 ? 18 : 10;
	for (int k = 0; k < n; k++)
		p[k] = &v[k];
	uc_reg_read_batch(o->uc, (int *)(m->mode == SZ64 ? regs64 : regs32), p, n);
	memset(r, 0, sizeof *r);
	int ng = n - 2;
	for (int k = 0; k < ng; k++)
		r->gpr[k] = m->mode == SZ64 ? v[k] : (uint32_t)v[k];
	r->rip = m->mode == SZ64 ? v[ng] : (uint32_t)v[ng];
	r->rflags = (uint32_t)v[ng + 1];
}

static void o_set(struct machine *m, const struct regs *r)
{
	struct oracle *o = m->impl;
	uint64_t v[18];
	void *p[18];
	int n = m->mode == SZ64 ? 18 : 10, ng = n - 2;
	for (int k = 0; k < ng; k++)
		v[k] = r->gpr[k];
	v[ng] = r->rip;
	v[ng + 1] = r->rflags;
	for (int k = 0; k < n; k++)
		p[k] = &v[k];
	uc_reg_write_batch(o->uc, (int *)(m->mode == SZ64 ? regs64 : regs32), p, n);
}

static void o_write(struct machine *m, uint32_t pa, const void *buf, size_t len)
{
	struct oracle *o = m->impl;
	uc_mem_write(o->uc, pa, buf, len);
}

static void o_read(struct machine *m, uint32_t pa, void *buf, size_t len)
{
	struct oracle *o = m->impl;
	uc_mem_read(o->uc, pa, buf, len);
}

/* A new engine: RAM mapped, the fault hook in place, the clean context
 * saved. */
static bool engine_open(struct oracle *o)
{
	uc_err e = uc_open(UC_ARCH_X86, o->mode, &o->uc);
	if (e != UC_ERR_OK) {
		fprintf(stderr, "diff: uc_open: %s\n", uc_strerror(e));
		return false;
	}
	e = uc_mem_map(o->uc, 0, RAM_SIZE, UC_PROT_ALL);
	if (e == UC_ERR_OK)
		e = uc_hook_add(o->uc, &o->intr, UC_HOOK_INTR, (void *)on_intr, o, 1, 0);
	if (e == UC_ERR_OK)
		e = uc_context_alloc(o->uc, &o->clean);
	if (e == UC_ERR_OK)
		e = uc_context_save(o->uc, o->clean);
	if (e != UC_ERR_OK) {
		fprintf(stderr, "diff: Unicorn setup: %s\n", uc_strerror(e));
		uc_close(o->uc);
		return false;
	}
	return true;
}

static void engine_close(struct oracle *o)
{
	uc_context_free(o->clean);
	uc_close(o->uc);
}

static void o_load(struct machine *m, const struct regs *r, const uint8_t *ram)
{
	struct oracle *o = m->impl;
	if (++o->loads % RENEW == 0) {
		engine_close(o);
		if (!engine_open(o))
			exit(2);
	}
	uc_context_restore(o->uc, o->clean);
	uc_mem_write(o->uc, CODE_BASE, ram + CODE_BASE, CODE_SIZE);
	uc_mem_write(o->uc, DATA_BASE, ram + DATA_BASE, DATA_SIZE);
	uc_mem_write(o->uc, STACK_BASE, ram + STACK_BASE, STACK_SIZE);
	uc_ctl_remove_cache(o->uc, (uint64_t)CODE_BASE, (uint64_t)(CODE_BASE + CODE_SIZE));
	if (m->mode == SZ16) {
		/* Real mode: selectors 0, so every base is 0 (a test may have
		 * popped into one). */
		static const int segs[6] = { UC_X86_REG_CS, UC_X86_REG_DS, UC_X86_REG_ES,
					     UC_X86_REG_SS, UC_X86_REG_FS, UC_X86_REG_GS };
		for (int k = 0; k < 6; k++) {
			uint64_t z = 0;
			uc_reg_write(o->uc, segs[k], &z);
		}
	}
	o_set(m, r);
}

static int o_step(struct machine *m)
{
	struct oracle *o = m->impl;
	uint64_t rip;
	uc_reg_read(o->uc, m->mode == SZ64 ? UC_X86_REG_RIP : UC_X86_REG_EIP, &rip);
	if (m->mode != SZ64)
		rip = (uint32_t)rip;
	o->intno = -1;
	uc_err e = uc_emu_start(o->uc, rip, 0, 0, 1);
	switch (e) {
	case UC_ERR_OK:
		return o->intno >= 0 ? o->intno : STEP_OK;
	case UC_ERR_INSN_INVALID:
		return VEC_UD;
	case UC_ERR_READ_UNMAPPED: case UC_ERR_WRITE_UNMAPPED: case UC_ERR_FETCH_UNMAPPED:
	case UC_ERR_READ_PROT: case UC_ERR_WRITE_PROT: case UC_ERR_FETCH_PROT:
		return STEP_MEMERR;
	default:
		return STEP_OTHER;
	}
}

static void o_free(struct machine *m)
{
	engine_close(m->impl);
	free(m->impl);
	free(m);
}

struct machine *oracle_new(int mode)
{
	static const uc_mode modes[] = { [SZ16] = UC_MODE_16, [SZ32] = UC_MODE_32, [SZ64] = UC_MODE_64 };
	struct machine *m = calloc(1, sizeof *m);
	struct oracle *o = calloc(1, sizeof *o);
	if (!m || !o)
		goto fail;
	o->mode = modes[mode];
	if (!engine_open(o))
		goto fail;
	*m = (struct machine){ "unicorn", mode, o, o_load, o_get, o_set, o_write, o_read,
			       o_step, o_free };
	return m;
fail:
	free(o);
	free(m);
	return NULL;
}
