/* Machine life cycle, reset states, RFLAGS access, exceptions, mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "emu/bus.h"
#include "emu/dcache.h"
#include "emu/event.h"
#include "emu/flags.h"
#include "emu/mem.h"
#include "emu/paging.h"
#include "emu/sysreg.h"
#include "emu/xsave.h"

/* The most RAM a machine may have: 64 GiB, below the 39-bit physical
 * address width CPUID reports, with room for devices above. */
#define RAM_MAX (64ull << 30)

struct cpu *emu_new(uint64_t ram_bytes)
{
	if (ram_bytes == 0 || ram_bytes > RAM_MAX || (ram_bytes & (PAGE_SIZE - 1)))
		return NULL;
	struct cpu *c = calloc(1, sizeof *c);
	struct bus *b = calloc(1, sizeof *b);
	if (!c || !b)
		goto fail;
	c->bus = b;
	c->vmx.available = true; /* the VT-x model (vmx/); tests may switch it off */
	b->ram_size = ram_bytes;
	/* Page-aligned and zero, so that a backend can hand the same RAM to
	 * the kernel (KVM_SET_USER_MEMORY_REGION wants page alignment). */
	void *ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	b->ram = ram == MAP_FAILED ? NULL : ram;
	b->dirty = calloc((ram_bytes >> 18) + 1, sizeof *b->dirty);
	b->console = stdout;
	c->dcache = dcache_new(ram_bytes);
	if (!b->ram || !b->dirty || !c->dcache)
		goto fail;
	dev_debugcon_attach(c);
	dev_debug_exit_attach(c);
	emu_reset_flat(c, SZ16);
	return c;
fail:
	emu_free(c);
	if (!c)
		free(b);
	return NULL;
}

void emu_free(struct cpu *c)
{
	if (!c)
		return;
	if (c->bus) {
		if (c->bus->ram)
			munmap(c->bus->ram, c->bus->ram_size);
		free(c->bus->dirty);
	}
	free(c->bus);
	dcache_free(c->dcache);
	free(c);
}

static void seg_set(struct seg *s, uint16_t sel, uint32_t limit, uint32_t ar)
{
	s->sel = sel;
	s->base = 0;
	s->limit = limit;
	s->ar = ar;
}

/* Access rights: 0x93 = present, DPL 0, read/write data, accessed;
 * 0x9b = present, DPL 0, execute/read code, accessed; G = 4 KiB units,
 * DB = 32-bit, L = 64-bit code. */
void emu_reset_flat(struct cpu *c, int code_sz)
{
	memset(c->gpr, 0, sizeof c->gpr);
	c->rip = 0;
	c->rflags = FL_1;
	c->lf.kind = LF_NONE;
	c->cr2 = c->cr3 = c->cr4 = c->cr8 = 0;
	c->efer = 0;
	memset(c->dr, 0, sizeof c->dr);
	c->dr[6] = 0xffff0ff0;
	c->dr[7] = 0x400;
	c->cpl = 0;
	memset(&c->msr, 0, sizeof c->msr);
	c->msr.pat = 0x0007040600070406ull;  /* the reset value (SDM vol. 3A, 12.12.4) */
	c->msr.misc_enable = 1 | MISC_ENABLE_MONITOR; /* fast strings, MONITOR FSM */
	c->tsc_offset = 0;
	c->tsc_aux = 0;
	xsave_reset(c);
	vmx_reset(c);
	c->halted = c->mwaiting = c->exit_requested = c->triple = false;
	c->monitor_armed = c->init_pending = c->init_reset = c->wait_sipi = false;
	c->in_delivery = c->nmi_pending = c->nmi_blocked = false;
	c->shadow_until = 0;
	c->last_delivered.vector = 0xff;
	c->vtime_limit = UINT64_MAX;
	c->vtime_out = false;
	/* A flat fixture has no IDT: the first exception ends the run. */
	c->exc_stop = true;
	c->gdtr = (struct dtr){ 0, 0xffff };
	c->idtr = (struct dtr){ 0, 0x3ff };
	seg_set(&c->ldtr, 0, 0, AR_UNUSABLE);
	seg_set(&c->tr, 0, 0xffff, 0x8b); /* a busy 32-bit TSS at 0, as after reset */

	/* Real mode: 64 KiB segments at base 0. Otherwise flat 4 GiB segments
	 * (selectors 0x08 code, 0x10 data) in protected mode; SZ64 adds
	 * EFER.LME/LMA and a 64-bit code segment. That last one is a test
	 * fixture: 64-bit mode with linear == physical and CR0.PG clear, a
	 * state only the host can set up (guests come through the loader). */
	uint32_t code_ar = 0x9b, data_ar = 0x93, limit = 0xffff;
	uint16_t cs_sel = 0, ds_sel = 0;
	c->cr0 = 0x10; /* ET */
	if (code_sz != SZ16) {
		c->cr0 |= CR0_PE;
		code_ar |= AR_G | (code_sz == SZ64 ? AR_L : AR_DB);
		data_ar |= AR_G | AR_DB;
		limit = 0xffffffff;
		cs_sel = 0x08;
		ds_sel = 0x10;
	}
	if (code_sz == SZ64)
		c->efer = EFER_LME | EFER_LMA;
	for (int s = 0; s < 6; s++)
		seg_set(&c->seg[s], ds_sel, limit, data_ar);
	seg_set(&c->seg[SEG_CS], cs_sel, limit, code_ar);
	emu_update_mode(c);
	emu_flush_tlb(c);
}

void emu_update_mode(struct cpu *c)
{
	const struct seg *cs = &c->seg[SEG_CS], *ss = &c->seg[SEG_SS];
	if (!(c->cr0 & CR0_PE))
		c->code_sz = SZ16;
	else if ((c->efer & EFER_LMA) && (cs->ar & AR_L))
		c->code_sz = SZ64;
	else
		c->code_sz = (cs->ar & AR_DB) ? SZ32 : SZ16;
	if (c->code_sz == SZ64)
		c->stack_sz = SZ64;
	else
		c->stack_sz = (ss->ar & AR_DB) ? SZ32 : SZ16;
	c->jc_gen++; /* blocks were looked up under the old CS */
	c->brk |= BRK_JUMP;
	/* One event per change of mode, CPL or paging. */
	const char *m = evt_mode_name(c);
	bool pg = (c->cr0 & CR0_PG) != 0;
	if (m != c->mode_seen || c->cpl != c->cpl_seen || pg != c->pg_seen) {
		c->mode_seen = m;
		c->cpl_seen = c->cpl;
		c->pg_seen = pg;
		struct event e = { .type = EVT_MODE };
		e.u.mode.mode = m;
		e.u.mode.cpl = c->cpl;
		e.u.mode.paging = pg;
		evt_emit(c, &e);
	}
}

uint64_t emu_get_rflags(struct cpu *c)
{
	lf_materialize(c);
	return c->rflags;
}

/* Bits 1 is always set; 3, 5, 15 and 22..63 always clear (SDM vol. 1, 3.4.3). */
void emu_set_rflags(struct cpu *c, uint64_t v)
{
	if ((v ^ c->rflags) & (FL_TF | FL_IF))
		c->brk |= BRK_STOP; /* single-stepping, interrupts */
	/* Under SMAP, RFLAGS.AC decides supervisor access to user pages, a
	 * right the TLB caches: it must forget it (SDM vol. 3A, 4.6.1). */
	if (((v ^ c->rflags) & FL_AC) && (c->cr4 & CR4_SMAP))
		emu_flush_tlb(c);
	c->rflags = (v & 0x3f7fd5) | FL_1;
	c->lf.kind = LF_NONE;
}

/* Exceptions that push an error code (SDM vol. 3A, table 6-1). */
static bool has_error_code(int vec)
{
	switch (vec) {
	case VEC_DF: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP:
	case VEC_PF: case VEC_AC: case 21: case 29: case 30:
		return true;
	default:
		return false;
	}
}

_Noreturn void emu_raise(struct cpu *c, int vector, uint32_t error)
{
	c->exc.vector = (uint8_t)vector;
	c->exc.has_error = has_error_code(vector);
	c->exc.error = c->exc.has_error ? error : 0;
	/* Back to the start of the instruction (handlers change RIP only
	 * after their last fault point), or of the fetch that failed. */
	if (c->cur)
		c->rip -= c->cur->len;
	c->cur = NULL;
	c->exc.rip = c->rip;
	if (!c->in_run) {
		/* A fault outside emu_run() is a bug in nestlab, not the guest. */
		fprintf(stderr, "nestlab: internal error: exception %d raised outside the run loop\n",
			vector);
		abort();
	}
	longjmp(c->unwind, 1);
}

_Noreturn void emu_raise_noerr(struct cpu *c, int vector)
{
	emu_raise(c, vector, 0);
}
